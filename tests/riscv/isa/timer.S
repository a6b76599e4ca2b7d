# timer.S — Sstc supervisor timer: menvcfg.STCE enables stimecmp; STIP follows time >= stimecmp
# (read-only in sip), the interrupt is taken in S-mode when delegated and enabled (scause = 1<<63|5),
# moving stimecmp into the future clears STIP, WFI in S-mode wakes up on the timer, and SSI has
# priority over STI.
#include "isa.inc"
        TEST_BEGIN
        li t0, 1 << 63
        csrs menvcfg, t0                 # STCE
        csrwi mcounteren, 2              # S may read time
        li t0, (1 << 5) | (1 << 1)
        csrw mideleg, t0                 # STI and SSI -> S
        li gp, 1
        csrr a4, menvcfg
        srli a4, a4, 63
        CHECK 1, a4, 1
        GOTO_S s_main
s_main:
        li gp, 2
        li t0, -1
        csrw stimecmp, t0
        csrr a4, sip
        andi a4, a4, (1 << 5)
        CHECK 2, a4, 0
        # STIP becomes pending once time passes stimecmp (interrupts still disabled)
        rdtime t0
        addi t0, t0, 20
        csrw stimecmp, t0
        li t1, 200000
1:      csrr a4, sip
        andi a4, a4, (1 << 5)
        bnez a4, 2f
        addi t1, t1, -1
        bnez t1, 1b
        j fail                          # time did not reach stimecmp
2:      li gp, 3
        li t0, (1 << 5)
        csrc sip, t0                     # STIP is read-only: stays pending
        csrr a4, sip
        andi a4, a4, (1 << 5)
        CHECK 3, a4, (1 << 5)
        # enabling takes the interrupt in S
        li gp, 4
        lla s11, 3f
        li s10, 0
        li t0, (1 << 5)
        csrs sie, t0
        csrsi sstatus, 2
        li t1, 10000
4:      addi t1, t1, -1
        bnez t1, 4b
        j fail
3:      li t2, 0x8000000000000005
        bne s10, t2, fail
        # a future stimecmp clears STIP
        li gp, 5
        li t0, -1
        csrw stimecmp, t0
        csrr a4, sip
        andi a4, a4, (1 << 5)
        CHECK 5, a4, 0
        # WFI wakes up on the timer (interrupts globally enabled, so it is taken after wfi)
        li gp, 6
        rdtime t0
        li t1, 2000
        add t0, t0, t1
        csrw stimecmp, t0
        lla s11, 5f
        li s10, 0
        csrsi sstatus, 2
6:      wfi
        j 6b                            # spurious wake-ups are allowed: wait again
5:      li t2, 0x8000000000000005
        bne s10, t2, fail
        rdtime a4
        csrr t0, stimecmp
        bltu a4, t0, fail                # not before the deadline
        li t0, -1
        csrw stimecmp, t0
        # priority: with SSIP and STIP both pending and enabled, SSI is taken first, then STI
        li gp, 8
        li t0, (1 << 1) | (1 << 5)
        csrs sie, t0
        csrw stimecmp, x0                # time >= 0: STIP
        li t0, (1 << 1)
        csrs sip, t0
        lla s11, 8f
        li s10, 0
        csrsi sstatus, 2
        li t1, 10000
9:      addi t1, t1, -1
        bnez t1, 9b
        j fail
8:      CHECK 8, s10, 0x8000000000000001
        li t0, (1 << 1)
        csrc sip, t0
        lla s11, 10f
        li s10, 0
        csrsi sstatus, 2
        li t1, 10000
11:     addi t1, t1, -1
        bnez t1, 11b
        j fail
10:     CHECK 9, s10, 0x8000000000000005
        li t0, -1
        csrw stimecmp, t0
        # an asynchronous interrupt in the middle of a loop resumes exactly where it hit: a handler
        # that returns with sret must leave the loop's count intact
        li gp, 10
        lla t0, tick_handler
        csrw stvec, t0
        li s6, 0                         # interrupts taken
        li s5, 0                         # loop counter
        li t0, (1 << 5)
        csrw sie, t0
        rdtime t0
        addi t0, t0, 30
        csrw stimecmp, t0
        csrsi sstatus, 2
        li t1, 3000
12:     addi s5, s5, 1
        addi t1, t1, -1
        bnez t1, 12b
        csrci sstatus, 2
        CHECK 10, s5, 3000
        CHECK 11, s6, 1
        lla t0, s_trap_vector
        csrw stvec, t0
        # back to M
        lla s11, 7f
        ecall
7:      CHECK 7, s10, 9
        csrw mideleg, x0
        TEST_END
        .text
        .align 2
tick_handler:                            # S-mode: count, disarm the timer, resume
        csrr t5, scause
        li t6, 0x8000000000000005
        bne t5, t6, fail
        addi s6, s6, 1
        li t6, -1
        csrw stimecmp, t6
        sret
