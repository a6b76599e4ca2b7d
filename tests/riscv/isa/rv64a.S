# rv64a.S — RV64A: LR/SC success and failure, every AMO in .w and .d forms (old value returned,
# memory updated, .w results sign-extended), signed vs unsigned min/max, misaligned AMO traps.
#include "isa.inc"
.macro AMO n, inst, init, opnd, old, new, ld
        li gp, \n
        lla s0, amobuf
        li t0, \init
        sd t0, 0(s0)
        li a2, \opnd
        \inst a4, a2, (s0)
        li t2, \old
        bne a4, t2, fail
        \ld a5, 0(s0)
        li t2, \new
        bne a5, t2, fail
.endm
        TEST_BEGIN
        AMO 1, amoswap.d, 0x1111, 0x2222, 0x1111, 0x2222, ld
        AMO 2, amoadd.d, -1, 1, -1, 0, ld
        AMO 3, amoand.d, 0xff0f, 0x0ff0, 0xff0f, 0x0f00, ld
        AMO 4, amoor.d, 0xf000, 0x000f, 0xf000, 0xf00f, ld
        AMO 5, amoxor.d, 0xff, 0x0f, 0xff, 0xf0, ld
        AMO 6, amomin.d, -5, 3, -5, -5, ld
        AMO 7, amomax.d, -5, 3, -5, 3, ld
        AMO 8, amominu.d, -5, 3, -5, 3, ld
        AMO 9, amomaxu.d, -5, 3, -5, -5, ld
        AMO 10, amoswap.w, 0xaaaaaaaa80000000, 0x12345678, 0xffffffff80000000, 0xaaaaaaaa12345678, ld
        AMO 11, amoadd.w, 0x7fffffff, 1, 0x7fffffff, 0x80000000, lwu
        AMO 12, amoand.w, 0xf0f0f0f0, 0xff00ff00, 0xfffffffff0f0f0f0, 0xf000f000, lwu
        AMO 13, amoor.w, 0x1, 0x80000000, 1, 0x80000001, lwu
        AMO 14, amoxor.w, 0xffffffff, 0x0000ffff, -1, 0xffff0000, lwu
        AMO 15, amomin.w, 0x80000000, 1, 0xffffffff80000000, 0x80000000, lwu
        AMO 16, amomax.w, 0x80000000, 1, 0xffffffff80000000, 1, lwu
        AMO 17, amominu.w, 0x80000000, 1, 0xffffffff80000000, 1, lwu
        AMO 18, amomaxu.w, 0x80000000, 1, 0xffffffff80000000, 0x80000000, lwu
        AMO 19, amomin.w, 0x100000005, 3, 5, 0x100000003, ld    # upper word untouched
        AMO 20, amoadd.d.aqrl, 40, 2, 40, 42, ld
        # LR/SC
        li gp, 21
        lla s0, amobuf
        li t0, 100
        sd t0, 0(s0)
        lr.d a4, (s0)
        addi a4, a4, 1
        sc.d a5, a4, (s0)
        bnez a5, fail                   # success writes 0
        ld a6, 0(s0)
        CHECK 21, a6, 101
        li gp, 22
        sc.d a5, a4, (s0)               # no reservation: fails, memory unchanged
        beqz a5, fail
        li gp, 23
        lr.w a4, (s0)
        addi t1, s0, 4
        sc.w a5, x0, (t1)               # different address: must fail
        beqz a5, fail
        li gp, 24
        lr.w a4, (s0)
        sc.w a5, x0, (s0)
        bnez a5, fail
        sc.w a5, x0, (s0)               # reservation consumed by the first sc
        beqz a5, fail
        li gp, 25
        li t0, 0xffffffff
        sw t0, 8(s0)
        addi t1, s0, 8
        lr.w a4, (t1)                   # lr.w sign-extends
        CHECK 25, a4, -1
        sc.w a5, x0, (t1)
        bnez a5, fail
        # a store by the same hart between lr and sc: spec allows either result, just run it
        li gp, 26
        lr.d a4, (s0)
        sd a4, 16(s0)
        sc.d a5, a4, (s0)
        # misaligned AMO / LR: store/AMO address-misaligned (6) or access fault (7); load for lr (4 or 5)
        li gp, 27
        lla s11, 1f
        li s10, -1
        addi t0, s0, 4
        amoadd.d a4, a2, (t0)
        j fail
1:      li t2, 6
        beq s10, t2, 2f
#ifdef QEMU_VIRT
        li t2, 4                        # QEMU 7.2 reports a misaligned AMO as a load fault
        beq s10, t2, 2f
#endif
        li t2, 7
        bne s10, t2, fail
2:      li gp, 28
        lla s11, 3f
        li s10, -1
        addi t0, s0, 2
        lr.w a4, (t0)
        j fail
3:      li t2, 4
        beq s10, t2, 4f
        li t2, 5
        bne s10, t2, fail
4:
        TEST_END
        .align 3
amobuf: .zero 64
