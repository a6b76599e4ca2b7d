# smp.S — four harts (the runner interleaves them with varying slices; QEMU runs -smp 4) each add
# 1000 to a shared counter with LR/SC retry loops, 1000 with amoadd.d and 1000 with amoadd.w on a
# shared word; hart 0 waits for all and checks the exact totals (no lost update, no double SC).
#include "isa.inc"
        .equ NHARTS, 4
        TEST_BEGIN
        li gp, 1
        csrr s0, mhartid
        lla s1, counter
        lla s2, done
        lla s3, counter32
        li t1, 1000
1:      lr.d t0, (s1)
        addi t0, t0, 1
        sc.d t2, t0, (s1)
        bnez t2, 1b
        addi t1, t1, -1
        bnez t1, 1b
        li t1, 1000
        li t3, 1
2:      amoadd.d x0, t3, (s1)
        amoadd.w x0, t3, (s3)
        addi t1, t1, -1
        bnez t1, 2b
        fence rw, rw
        amoadd.d x0, t3, (s2)
        bnez s0, park
        li t4, NHARTS
3:      ld t5, 0(s2)
        bne t5, t4, 3b
        fence rw, rw
        ld t5, 0(s1)
        CHECK 2, t5, NHARTS * 2000
        lw t5, 0(s3)
        CHECK 3, t5, NHARTS * 1000
        TEST_END
        .text
park:   wfi
        j park
        .data
        .align 3
counter:   .dword 0
done:      .dword 0
counter32: .word 0
