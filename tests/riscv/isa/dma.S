# dma.S — code rewritten behind the hart's back, as a device's DMA does (the runner's fake DMA engine;
# on QEMU plain stores stand in): executed code must change (1) when the device reports the write
# with rv_hart_invalidate_code, and (2) when it does not but software executes FENCE.I before
# running the new code (what Linux does after reading an executable page from disk).
#include "isa.inc"
        .equ DMA, 0x10003000
# copy len bytes src -> dst; mode 1 = with invalidation, 2 = without
.macro DMA_COPY src, dst, len, mode
        lla a1, \src
        lla a2, \dst
        li a3, \len
#ifdef QEMU_VIRT
        mv t0, a1
        mv t1, a2
99:     lbu t2, 0(t0)
        sb t2, 0(t1)
        addi t0, t0, 1
        addi t1, t1, 1
        addi a3, a3, -1
        bnez a3, 99b
#else
        li t0, DMA
        sd a1, 0(t0)
        sd a2, 8(t0)
        sd a3, 16(t0)
        li t1, \mode
        sd t1, 24(t0)
#endif
.endm
        TEST_BEGIN
        li gp, 1
        call target
        CHECK 1, a0, 1
        call target                     # now certainly decoded and cached
        CHECK 2, a0, 1
        DMA_COPY code2, target, 8, 1
        li gp, 3
        call target
        CHECK 3, a0, 2
        DMA_COPY code1, target, 8, 1
        call target
        CHECK 4, a0, 1
        DMA_COPY code3, target, 8, 2
        fence.i
        li gp, 5
        call target
        CHECK 5, a0, 3
        TEST_END
        .text
        .option push
        .option norvc
        .balign 8
target: addi a0, x0, 1
        ret
code1:  addi a0, x0, 1
        ret
code2:  addi a0, x0, 2
        ret
code3:  addi a0, x0, 3
        ret
        .option pop
