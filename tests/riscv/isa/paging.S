# paging.S — virtual memory: Sv39 with gigapage, 4 KiB and pointer PTEs built at run time; loads,
# stores and fetches through them; load/store/instruction page faults with stval; read-only pages;
# SUM (S access to U pages) and MXR (loads from execute-only pages); A/D bits (set by the hart or a
# fault, either is allowed); sfence.vma after a PTE change; U-mode code on a U gigapage; 2 MiB and
# (Sv48) 512 GiB pages; Sv48 with a VA above 2^39 that is not canonical under Sv39; malformed PTEs;
# MPRV; code written through an alias; a fetch fault on the second half of an instruction. Page faults and U ecalls are delegated to S.
#include "isa.inc"
        .equ V, 1
        .equ R, 2
        .equ W, 4
        .equ X, 8
        .equ U, 16
        .equ A, 64
        .equ D, 128
        .equ VA_BASE, 0x40000000
        .equ U_OFF, 0x40000000          # U alias of the code gigapage: VA = PA + U_OFF
# table[idx] = pte(pa_reg, flags)
.macro SETPTE table, idx, pa_reg, flags
        srli t0, \pa_reg, 12
        slli t0, t0, 10
        ori t0, t0, \flags
        lla t1, \table
        sd t0, (\idx * 8)(t1)
.endm
# expects a delegated fault with scause `cause` and stval `va` while running `insns` (in S-mode)
.macro S_FAULT n, cause, va, insns:vararg
        li gp, \n
        lla s11, 77f
        li s10, -1
        \insns
        j fail
77:     li t2, \cause
        bne s10, t2, fail
        li t2, \va
        bne s9, t2, fail
.endm
        TEST_BEGIN
        # data pages
        lla s0, page0
        li t0, 0x1111
        sd t0, 0(s0)
        lla s1, page1
        li t0, 0x2222
        sd t0, 0(s1)
        # Sv39 root: MMIO gigapage (S only), code gigapage (S), its U alias, pointer for 0x40000000
        li t2, 0
        SETPTE pt_l2, 0, t2, V|R|W|A|D
        li t2, 0x80000000
        SETPTE pt_l2, 2, t2, V|R|W|X|A|D
        SETPTE pt_l2, 3, t2, V|R|W|X|U|A|D
        li t2, 0x80200000
        SETPTE pt_l1, 2, t2, V|R|W|A|D                # megapage at VA 0x40400000
        li t0, 0x4343
        li t1, 0x80201238
        sd t0, 0(t1)
        li t2, 0
        SETPTE pt_l3, 2, t2, V|R|W|A|D                # Sv48 512 GiB page: VA 2^40 -> PA 0
        lla t2, pt_l1
        SETPTE pt_l2, 1, t2, V
        lla t2, pt_l0
        SETPTE pt_l1, 0, t2, V
        SETPTE pt_l0, 0, s0, V|R|W|A|D
        SETPTE pt_l0, 1, s0, V|R|A                    # read-only
        SETPTE pt_l0, 2, s1, V|R|W|U|A|D              # user page
        SETPTE pt_l0, 3, s0, V|X|A                    # execute-only
        SETPTE pt_l0, 5, s1, V|R|W                    # A = D = 0
        SETPTE pt_l0, 6, s0, V|R|W|A                  # D = 0
        # Sv48 root: [0] -> the Sv39 root, [1] -> a second level-2 table whose [1] -> pt_l1
        lla t2, pt_l2
        SETPTE pt_l3, 0, t2, V
        lla t2, pt_l2b
        SETPTE pt_l3, 1, t2, V
        lla t2, pt_l1
        SETPTE pt_l2b, 1, t2, V
        li t0, (1 << 8) | (1 << 12) | (1 << 13) | (1 << 15)
        csrw medeleg, t0
        lla t0, pt_l2
        srli t0, t0, 12
        li t1, 8 << 60
        or t0, t0, t1
        csrw satp, t0
        sfence.vma
        csrr a4, satp
        srli a4, a4, 60
        CHECK 1, a4, 8
        GOTO_S s_main
s_main:
        li s2, VA_BASE
        ld a4, 0(s2)
        CHECK 2, a4, 0x1111
        li t0, 0x5151
        sd t0, 8(s2)
        ld a4, 8(s0)                                  # visible through the physical address
        CHECK 3, a4, 0x5151
        li s3, VA_BASE + 0x1000
        ld a4, 0(s3)
        CHECK 4, a4, 0x1111
        S_FAULT 5, 15, VA_BASE + 0x1008, sd a4, 8(s3)
        li s3, VA_BASE + 0x4000
        S_FAULT 6, 13, VA_BASE + 0x4010, ld a4, 16(s3)
#ifdef QEMU_VIRT
        S_FAULT 7, 13, VA_BASE + 0x4000, amoadd.d a4, a4, (s3)   # QEMU 7.2 reports AMO faults as loads
#else
        S_FAULT 7, 15, VA_BASE + 0x4000, amoadd.d a4, a4, (s3)
#endif
        S_FAULT 8, 12, VA_BASE + 0x4000, jalr ra, 0(s3)
        csrr a4, sepc
        CHECK 8, a4, VA_BASE + 0x4000
        # SUM
        li s3, VA_BASE + 0x2000
        S_FAULT 9, 13, VA_BASE + 0x2000, ld a4, 0(s3)
        li t0, (1 << 18)
        csrs sstatus, t0
        ld a4, 0(s3)
        CHECK 10, a4, 0x2222
        csrc sstatus, t0
        # S may never execute from a U page (even with SUM)
        li t0, (1 << 18)
        csrs sstatus, t0
        lla t1, 90f
        li t2, U_OFF
        add t1, t1, t2
        li gp, 11
        lla s11, 91f
        li s10, -1
        jalr ra, 0(t1)
        j fail
90:     j fail
91:     CHECK 11, s10, 12
        bne s9, t1, fail                            # stval = the target
        li t0, (1 << 18)
        csrc sstatus, t0
        # MXR
        li s3, VA_BASE + 0x3000
        S_FAULT 12, 13, VA_BASE + 0x3000, ld a4, 0(s3)
        li t0, (1 << 19)
        csrs sstatus, t0
        ld a4, 0(s3)
        CHECK 13, a4, 0x1111
        csrc sstatus, t0
        # A bit: hart sets it, or raises a page fault
        li gp, 14
        li s3, VA_BASE + 0x5000
        lla s11, 92f
        li s10, -1
        ld a4, 0(s3)
        li s11, 0
        CHECK 14, a4, 0x2222
        lla t0, pt_l0
        ld t1, 5*8(t0)
        andi t1, t1, A
        CHECK 15, t1, A
        j 93f
92:     CHECK 16, s10, 13
93:     # D bit
        li gp, 17
        li s3, VA_BASE + 0x6000
        lla s11, 94f
        li s10, -1
        li t0, 0x6666
        sd t0, 16(s3)
        li s11, 0
        ld a4, 16(s0)
        CHECK 17, a4, 0x6666
        lla t0, pt_l0
        ld t1, 6*8(t0)
        andi t1, t1, D
        CHECK 18, t1, D
        j 95f
94:     CHECK 19, s10, 15
95:     # sfence.vma makes a changed PTE visible
        lla t2, page1
        SETPTE pt_l0, 0, t2, V|R|W|A|D
        sfence.vma
        li s2, VA_BASE
        ld a4, 0(s2)
        CHECK 20, a4, 0x2222
        lla t2, page0
        SETPTE pt_l0, 0, t2, V|R|W|A|D
        sfence.vma s2, x0
        ld a4, 0(s2)
        CHECK 21, a4, 0x1111
        # a 2 MiB megapage: VA 0x40400000 -> PA 0x80200000 (a value written there in M-mode)
        li gp, 43
        li s3, VA_BASE + 0x400000 + 0x1238
        ld a4, 0(s3)
        CHECK 43, a4, 0x4343
        # U-mode on the U alias of the code: its own page works, S pages fault, ecall goes to S
        li gp, 22
        lla t0, u_code
        li t1, U_OFF
        add t0, t0, t1
        csrw sepc, t0
        li t0, (1 << 8)
        csrc sstatus, t0                             # SPP = U
        lla s11, 96f
        li s10, -1
        li a4, 0
        sret
u_code:
        li t3, VA_BASE + 0x2000
        ld a4, 0(t3)
        li t3, VA_BASE
        ld a5, 0(t3)                                  # S page: load page fault
        j fail
96:     CHECK 22, s10, 13
        CHECK 23, a4, 0x2222
        li gp, 24
        lla t0, u_code2
        li t1, U_OFF
        add t0, t0, t1
        csrw sepc, t0
        lla s11, 97f
        sret
u_code2:
        ecall
        j fail
97:     CHECK 24, s10, 8
        # back to M for Sv48
        li gp, 25
        lla s11, 98f
        ecall                                         # from S: not delegated
98:     CHECK 25, s10, 9
        lla t0, pt_l3
        srli t0, t0, 12
        li t1, 9 << 60
        or t0, t0, t1
        csrw satp, t0
        sfence.vma
        csrr a4, satp
        srli a4, a4, 60
        CHECK 26, a4, 9                               # Sv48 is supported
        GOTO_S s48
s48:    li s2, VA_BASE
        ld a4, 0(s2)
        CHECK 27, a4, 0x1111
        li s3, (1 << 39) | VA_BASE
        ld a4, 0(s3)
        CHECK 28, a4, 0x1111
        li s3, (1 << 39) | (VA_BASE + 0x4000)
        S_FAULT 29, 13, (1 << 39) | (VA_BASE + 0x4000), ld a4, 0(s3)
        li gp, 44
        li s3, (1 << 40) + 0x80201238                 # through the 512 GiB page
        ld a4, 0(s3)
        CHECK 44, a4, 0x4343
        lla s11, 99f
        ecall
99:     CHECK 30, s10, 9
        # the same VA under Sv39 is not canonical: page fault
        lla t0, pt_l2
        srli t0, t0, 12
        li t1, 8 << 60
        or t0, t0, t1
        csrw satp, t0
        sfence.vma
        GOTO_S s39
s39:    li s3, (1 << 39) | VA_BASE
        S_FAULT 31, 13, (1 << 39) | VA_BASE, ld a4, 0(s3)
        lla s11, 100f
        ecall
100:    CHECK 32, s10, 9
        # malformed PTEs fault: W without R, a misaligned megapage, a leaf-less level 0 pointer
        li gp, 33
        lla t2, page0
        SETPTE pt_l0, 7, t2, V|W|A|D                  # W=1 R=0: reserved
        li t2, 0x80201000                             # megapage with ppn[0] != 0
        SETPTE pt_l1, 1, t2, V|R|W|A|D
        lla t2, pt_l0
        SETPTE pt_l0, 8, t2, V                        # pointer at level 0
        lla t0, pt_l2
        srli t0, t0, 12
        li t1, 8 << 60
        or t0, t0, t1
        csrw satp, t0
        sfence.vma
        GOTO_S s_bad
s_bad:  li s3, VA_BASE + 0x7000
        S_FAULT 33, 13, VA_BASE + 0x7000, ld a4, 0(s3)
        li s3, VA_BASE + 0x200000
        S_FAULT 34, 13, VA_BASE + 0x200000, ld a4, 0(s3)
        li s3, VA_BASE + 0x8000
        S_FAULT 35, 13, VA_BASE + 0x8000, ld a4, 0(s3)
        lla s11, 101f
        ecall
101:    CHECK 36, s10, 9
        # M-mode with MPRV=1 and MPP=S translates loads and stores (not fetches)
        li gp, 37
        csrw medeleg, x0
        li t0, (3 << 11)
        csrc mstatus, t0
        li t0, (1 << 11) | (1 << 17)                  # MPP = S, MPRV
        csrs mstatus, t0
        li s2, VA_BASE
        ld a4, 0(s2)
        li t0, (1 << 17)
        csrc mstatus, t0
        CHECK 37, a4, 0x1111
        # MPRV faults are taken in M (not delegated here) with the virtual address in mtval
        li t0, (1 << 17)
        csrs mstatus, t0
        li s3, VA_BASE + 0x4000
        lla s11, 102f
        li s10, -1
        ld a4, 0(s3)
        j fail
102:    li t0, (1 << 17)
        csrc mstatus, t0
        CHECK 38, s10, 13
        li t2, VA_BASE + 0x4000
        bne s9, t2, fail
        # code written through a data alias (VA 0x40009000 -> the page of smc_fn) runs after FENCE.I
        li gp, 39
        csrw satp, x0
        lla t2, smc_fn
        SETPTE pt_l0, 9, t2, V|R|W|A|D
        # a 32-bit instruction straddling into an unmapped page: fetch fault on the second half
        lla t2, xpage
        SETPTE pt_l0, 10, t2, V|R|X|A                  # VA 0x4000a000; 0x4000b000 stays unmapped
        li t0, 0x0513                                 # low half of "addi a0, a0, 0" ...
        li t1, 0x0001                                 # c.nop
        li t3, 0xffc
        add t3, t3, t2
        sh t1, 0(t3)
        sh t0, 2(t3)
        li t0, (1 << 12) | (1 << 13) | (1 << 15)
        csrw medeleg, t0
        lla t0, pt_l2
        srli t0, t0, 12
        li t1, 8 << 60
        or t0, t0, t1
        csrw satp, t0
        sfence.vma
        GOTO_S s_smc
s_smc:  call smc_fn
        CHECK 39, a0, 1
        li t0, VA_BASE + 0x9000
        lla t1, smc_fn
        li t2, 0xfff
        and t1, t1, t2
        add t0, t0, t1                                # alias of smc_fn
        li t1, 0x00200513                             # addi a0, x0, 2
        sw t1, 0(t0)
        fence.i
        call smc_fn
        CHECK 40, a0, 2
        li gp, 41
        lla s11, 103f
        li s10, -1
        li t0, VA_BASE + 0xaffc
        jr t0
        j fail
103:    CHECK 41, s10, 12
        li t2, VA_BASE + 0xaffe
        bne s8, t2, fail                              # sepc: the instruction
        li t2, VA_BASE + 0xb000
        bne s9, t2, fail                              # stval: the part that faulted
        lla s11, 104f
        ecall
104:    CHECK 42, s10, 9
        csrw satp, x0
        csrw medeleg, x0
        TEST_END
        .text
        .balign 4096
        .option push
        .option norvc
smc_fn: addi a0, x0, 1
        ret
        .option pop
        .data
        .balign 4096
xpage:  .zero 4096
        .balign 4096
pt_l3:  .zero 4096
pt_l2:  .zero 4096
pt_l2b: .zero 4096
pt_l1:  .zero 4096
pt_l0:  .zero 4096
page0:  .zero 4096
page1:  .zero 4096
