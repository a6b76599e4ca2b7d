# ustub.S — the M-mode stub under which test_isa --user runs a static Linux user program: entered
# at 0x80000000 with a0 = the program's entry, a1 = its stack; drops to U-mode (FP on, fcsr = 0,
# registers cleared). Built with -DUSTUB_VM (ustub_vm.S), U-mode runs under Sv39 instead: RAM is
# mapped 1:1 with 4 KiB U pages (so every access of the program goes through the MMU and TLB).
# With -DUSTUB_S as well (ustub_s.S), the program runs in S-mode on S pages (ecall cause 9). An ecall (cause 8) is forwarded to the runner's SYSPORT (a7, a0..a2 in,
# result back into a0) and resumes after the ecall; any other trap is reported through DIAG and a
# failing TOHOST write. Only t0/t1 are used, saved in mscratch's area, so user registers survive.
        .equ TOHOST, 0x10001000
        .equ DIAG, 0x10001010
        .equ SYSPORT, 0x10002000
        .section .text.init, "ax"
        .globl _start
_start:
        lla t0, mtrap
        csrw mtvec, t0
        csrw mepc, a0
        mv sp, a1
        lla t0, save
        csrw mscratch, t0
        li t0, -1                        # PMP: allow U-mode everything (a trap here is skipped)
        csrw pmpaddr0, t0
        li t0, 0x1f
        csrw pmpcfg0, t0
#ifdef USTUB_VM
        # Sv39: root[2] -> l1; l1[0..31] -> 32 level-0 tables; 64 MiB of RAM from 0x80000000 as
        # 4 KiB pages with V|R|W|X|U|A|D (0xdf)
        lla t0, pt_root
        lla t1, pt_l1
        srli t2, t1, 12
        slli t2, t2, 10
        ori t2, t2, 1
        sd t2, 16(t0)                    # root[2]
        lla t2, pt_l0
        li t3, 32                        # 32 level-1 entries = 64 MiB
        li t4, 0x80000000
1:      srli t5, t2, 12
        slli t5, t5, 10
        ori t5, t5, 1
        sd t5, 0(t1)
        li t6, 512
2:      srli t5, t4, 12
        slli t5, t5, 10
#ifdef USTUB_S
        ori t5, t5, 0xcf                 # S pages (no U bit)
#else
        ori t5, t5, 0xdf
#endif
        sd t5, 0(t2)
        addi t2, t2, 8
        li t5, 4096
        add t4, t4, t5
        addi t6, t6, -1
        bnez t6, 2b
        addi t1, t1, 8
        addi t3, t3, -1
        bnez t3, 1b
        srli t0, t0, 12
        li t1, 8 << 60
        or t0, t0, t1
        csrw satp, t0
        sfence.vma
#endif
        li t0, (3 << 11)
        csrc mstatus, t0                 # MPP = U
#ifdef USTUB_S
        li t0, (1 << 11)
        csrs mstatus, t0                 # MPP = S
#endif
        li t0, (1 << 13)
        csrs mstatus, t0                 # FS = Initial
        csrwi fcsr, 0
        .irp r, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        li x\r, 0
        .endr
        mret
        .align 2
mtrap:
        csrrw t0, mscratch, t0           # t0 = save area, mscratch = user t0
        sd t1, 0(t0)
        csrr t1, mstatus
        srli t1, t1, 11
        andi t1, t1, 3
        addi t1, t1, -3
        beqz t1, pmp_trap                # MPP == M: a trap in the stub's own start-up
        csrr t1, mcause
        addi t1, t1, -8
#ifdef USTUB_S
        addi t1, t1, -1                  # ecall from S (9)
#endif
        bnez t1, bad
        li t1, SYSPORT
        sd a0, 8(t1)
        sd a1, 16(t1)
        sd a2, 24(t1)
        sd a7, 0(t1)                     # performs the call
        ld a0, 32(t1)
        csrr t1, mepc
        addi t1, t1, 4
        csrw mepc, t1
        ld t1, 0(t0)
        csrrw t0, mscratch, t0
        mret
pmp_trap:                                # a trap while writing PMP during start-up: skip it
        csrr t1, mepc
        addi t1, t1, 4
        csrw mepc, t1
        ld t1, 0(t0)
        csrrw t0, mscratch, t0
        mret
bad:
        li t0, DIAG
        csrr t1, mcause
        sd t1, 0(t0)
        csrr t1, mepc
        sd t1, 0(t0)
        csrr t1, mtval
        sd t1, 0(t0)
        li t0, TOHOST
        li t1, 3
        sw t1, 0(t0)
2:      j 2b
        .data
        .align 3
save:   .zero 16
#ifdef USTUB_VM
        .bss
        .balign 4096
pt_root: .zero 4096
pt_l1:  .zero 4096
pt_l0:  .zero 4096 * 32
#endif
