# traps.S — exceptions and privilege changes: ecall from M/S/U (causes 11/9/8), ebreak, illegal
# instructions, access faults (fetch/load/store), misaligned accesses (trap or done right),
# mret/sret state (MPP/MPIE/SPP/SPIE), privilege checks on CSRs and xRET, medeleg delegation to S,
# mstatus.TVM, and software interrupts taken in M and, when delegated, in S.
#include "isa.inc"
        TEST_BEGIN
        EXPECT_TRAP 1, 11, ecall
        li gp, 2
        lla s11, 1f
2:      ecall
1:      lla t0, 2b
        bne s8, t0, fail                 # mepc = the ecall
        EXPECT_TRAP 3, 3, ebreak
        EXPECT_TRAP 4, 2, .word 0x7ff00073    # SYSTEM with an undefined funct12
        EXPECT_TRAP 5, 2, .word 0x0000000b    # custom-0 opcode
        # access faults: nothing is at address 0
        EXPECT_TRAP 6, 5, ld a0, 0(x0)
        CHECK 6, s9, 0                       # mtval = address
        li s7, 0x100
        EXPECT_TRAP 7, 7, sd a0, 0(s7)
        CHECK 7, s9, 0x100
        EXPECT_TRAP 8, 1, jalr x0, 0(s7)
        CHECK 8, s8, 0x100                   # mepc = target
        # misaligned load/store: either a trap with the address, or the right bytes
        li gp, 9
        lla s0, tbuf
        li t0, 0x0807060504030201
        sd t0, 0(s0)
        sd t0, 8(s0)
        lla s11, 3f
        li s10, -1
        ld a4, 3(s0)
        li s11, 0
        li t2, 0x0302010807060504
        bne a4, t2, fail
        j 4f
3:      CHECK 9, s10, 4
        addi t0, s0, 3
        bne s9, t0, fail
4:      li gp, 10
        lla s11, 5f
        li s10, -1
        li t1, 0xaabbccdd
        sw t1, 5(s0)
        li s11, 0
        ld a4, 0(s0)
        li t2, 0xbbccdd0504030201
        bne a4, t2, fail
        lbu a4, 8(s0)
        li t2, 0xaa
        bne a4, t2, fail
        j 6f
5:      CHECK 10, s10, 6
6:
        # mret to S-mode: MPP becomes U, MIE = MPIE, MPIE = 1
        li gp, 11
        li t0, (1 << 7)                  # MPIE = 1
        csrs mstatus, t0
        lla s11, 7f
        GOTO_S 8f
8:      ecall                           # from S: cause 9
        j fail
7:      CHECK 11, s10, 9
        csrr a4, mstatus
        srli t0, a4, 11
        andi t0, t0, 3
        CHECK 12, t0, 1                 # MPP = S (the trap's previous privilege)
        # S-mode touching an M CSR is illegal
        lla s11, 9f
        GOTO_S 10f
10:     csrr a0, mscratch
        j fail
9:      CHECK 13, s10, 2
        # S-mode mret is illegal
        lla s11, 11f
        GOTO_S 12f
12:     mret
        j fail
11:     CHECK 14, s10, 2
        # U-mode: ecall = 8, sret illegal, S CSRs illegal
        lla s11, 13f
        GOTO_U 14f
14:     ecall
        j fail
13:     CHECK 15, s10, 8
        csrr a4, mstatus
        srli t0, a4, 11
        andi t0, t0, 3
        CHECK 16, t0, 0
        lla s11, 15f
        GOTO_U 16f
16:     sret
        j fail
15:     CHECK 17, s10, 2
        lla s11, 17f
        GOTO_U 18f
18:     csrr a0, sstatus
        j fail
17:     CHECK 18, s10, 2
        # after mret, MPP is the least privileged mode (U)
        li gp, 19
        lla s11, 19f
        GOTO_S 20f
20:     li s10, 0
        ebreak
19:     li t0, (3 << 11)
        csrc mstatus, t0
        lla t0, 21f
        csrw mepc, t0
        li t0, (1 << 11)
        csrs mstatus, t0
        mret                            # to S, then read back from M after an ecall
21:     lla s11, 22f
        ecall
22:     CHECK 19, s10, 9
        # delegation: ecall from U handled in S (scause 8), sret back to U, ecall from U again
        li gp, 20
        li t0, (1 << 8)
        csrw medeleg, t0
        lla s11, 23f
        GOTO_U 24f
24:     ecall                           # -> S handler, continues at 23 in S-mode
        j fail
23:     CHECK 20, s10, 8
        csrr a4, scause
        CHECK 21, a4, 8
        lla t0, 24b
        bne s8, t0, fail                # sepc
        csrr a4, sstatus
        andi t0, a4, (1 << 8)
        CHECK 22, t0, 0                 # SPP = U
        # in S now: sret to U, then an undelegated trap from U goes to M
        li gp, 23
        lla t0, 25f
        csrw sepc, t0
        li t0, (1 << 8)
        csrc sstatus, t0
        lla s11, 26f
        sret
25:     ebreak                          # not delegated -> M (cause 3)
        j fail
26:     CHECK 23, s10, 3
        csrr a4, mstatus
        srli t0, a4, 11
        andi t0, t0, 3
        CHECK 24, t0, 0                 # came from U
        csrw medeleg, x0
        # mstatus.TVM: satp and sfence.vma are illegal in S-mode
        li gp, 25
        li t0, (1 << 20)
        csrs mstatus, t0
        lla s11, 27f
        GOTO_S 28f
28:     csrr a0, satp
        j fail
27:     CHECK 25, s10, 2
        lla s11, 29f
        GOTO_S 30f
30:     sfence.vma
        j fail
29:     CHECK 26, s10, 2
        li t0, (1 << 20)
        csrc mstatus, t0
        # software interrupt taken in M-mode: mcause = interrupt | 1
        li gp, 27
        csrw mideleg, x0
        li t0, (1 << 1)
        csrs mie, t0
        lla s11, 31f
        li s10, 0
        csrsi mstatus, 8                # MIE
        csrs mip, t0                    # SSIP pending -> taken soon (at a block boundary)
        li t1, 1000
32:     addi t1, t1, -1
        bnez t1, 32b
        j fail
31:     li t2, 0x8000000000000001
        bne s10, t2, fail
        csrr a4, mstatus
        andi a4, a4, 8
        CHECK 28, a4, 0                 # MIE cleared by the trap
        li t0, (1 << 1)
        csrc mip, t0
        # delegated: the same interrupt taken in S-mode with SIE set
        li gp, 29
        csrw mideleg, t0
        lla s11, 33f
        li s10, 0
        GOTO_S 34f
34:     csrsi sstatus, 2                # SIE
        li t0, (1 << 1)
        csrs sip, t0
        li t1, 1000
35:     addi t1, t1, -1
        bnez t1, 35b
        j fail
33:     li t2, 0x8000000000000001
        bne s10, t2, fail
        csrr a4, sstatus
        andi t0, a4, 2
        CHECK 30, t0, 0                 # SIE cleared
        andi t0, a4, (1 << 5)
        CHECK 31, t0, (1 << 5)          # SPIE = old SIE
        li t0, (1 << 1)
        csrc sip, t0
        # back to M through an ecall from S
        lla s11, 36f
        ecall
36:     CHECK 32, s10, 9
        csrw mideleg, x0
        csrw mie, x0
        # vectored mtvec: interrupts go to base + 4 * cause, exceptions to base
        li gp, 33
        lla t0, vec_table
        ori t0, t0, 1
        csrw mtvec, t0
        li s10, 0
        li t0, (1 << 1)
        csrs mie, t0
        csrsi mstatus, 8
        csrs mip, t0
        li t1, 1000
37:     addi t1, t1, -1
        bnez t1, 37b
        j fail
vec_ssi:
        csrci mstatus, 8
        li t0, (1 << 1)
        csrc mip, t0
        csrc mie, t0
        csrr a4, mcause
        li t2, 0x8000000000000001
        bne a4, t2, fail
        li gp, 34
        lla s11, 38f                    # an exception with vectored mtvec uses the base
        li s10, -1
        ecall
        j fail
38:     CHECK 34, s10, 11
        lla t0, trap_vector
        csrw mtvec, t0
        # WFI with an enabled interrupt pending but globally disabled (MIE = 0) just continues
        li gp, 35
        li t0, (1 << 1)
        csrs mie, t0
        csrs mip, t0
        csrci mstatus, 8
        wfi
        csrc mip, t0
        csrc mie, t0
        # ecall/ebreak leave mtval 0 or the pc; an illegal instruction leaves 0 or its bits
        li gp, 36
        lla s11, 39f
        ecall
39:     CHECK 36, s9, 0
        li gp, 37
        lla s11, 40f
        li s9, -1
41:     .word 0x0000000b
40:     beqz s9, 42f
        li t2, 0x0000000b
        bne s9, t2, fail
42:
        TEST_END
        .align 6
        .option push
        .option norvc                   # 4 bytes per vector
vec_table:
        j trap_vector                   # 0: every exception
        j vec_ssi                       # 1: supervisor software interrupt
        .rept 14
        j fail
        .endr
        .option pop
        .align 3
tbuf:   .zero 32
