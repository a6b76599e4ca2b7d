# rv64f.S — RV64F: arithmetic in each static rounding mode with fflags, dynamic rounding through frm,
# fused multiply-add single rounding, min/max and compares (NaN and signed-zero rules), classify,
# sign injection, conversions with saturation, fmv sign extension, NaN-boxing of loads/results/inputs.
#include "isa.inc"
# unary op on a single: result bits and flags
.macro FP_R_S n, inst, rm, exp, flags, a
        li gp, \n
        li t0, \a
        fmv.w.x fa1, t0
        csrwi fflags, 0
        \inst fa4, fa1, \rm
        fmv.x.w a4, fa4
        csrr a5, fflags
        li t2, \exp
        sext.w t2, t2
        bne a4, t2, fail
        li t2, \flags
        bne a5, t2, fail
.endm
# float -> integer register
.macro FP_CVT_XS n, inst, rm, exp, flags, a
        li gp, \n
        li t0, \a
        fmv.w.x fa1, t0
        csrwi fflags, 0
        .ifb \rm
        \inst a4, fa1
        .else
        \inst a4, fa1, \rm
        .endif
        csrr a5, fflags
        li t2, \exp
        bne a4, t2, fail
        li t2, \flags
        bne a5, t2, fail
.endm
# integer -> float
.macro FP_CVT_SX n, inst, rm, exp, flags, a
        li gp, \n
        li t0, \a
        csrwi fflags, 0
        \inst fa4, t0, \rm
        fmv.x.w a4, fa4
        csrr a5, fflags
        li t2, \exp
        sext.w t2, t2
        bne a4, t2, fail
        li t2, \flags
        bne a5, t2, fail
.endm
# compare: integer result and flags
.macro FP_CMP_S n, inst, exp, flags, a, b
        li gp, \n
        li t0, \a
        fmv.w.x fa1, t0
        li t0, \b
        fmv.w.x fa2, t0
        csrwi fflags, 0
        \inst a4, fa1, fa2
        csrr a5, fflags
        li t2, \exp
        bne a4, t2, fail
        li t2, \flags
        bne a5, t2, fail
.endm
.macro FP_RRR_S n, inst, rm, exp, flags, a, b, c
        li gp, \n
        li t0, \a
        fmv.w.x fa1, t0
        li t0, \b
        fmv.w.x fa2, t0
        li t0, \c
        fmv.w.x fa3, t0
        csrwi fflags, 0
        \inst fa4, fa1, fa2, fa3, \rm
        fmv.x.w a4, fa4
        csrr a5, fflags
        li t2, \exp
        sext.w t2, t2
        bne a4, t2, fail
        li t2, \flags
        bne a5, t2, fail
.endm
        .equ NX, 1
        .equ UF, 2
        .equ OF, 4
        .equ DZ, 8
        .equ NV, 16
        TEST_BEGIN
        FP_RR_S 1, fadd.s, rne, 0x40400000, 0, 0x3f800000, 0x40000000
        FP_RR_S 2, fadd.s, rne, 0x3f800000, NX, 0x3f800000, 0x33800000
        FP_RR_S 3, fadd.s, rmm, 0x3f800001, NX, 0x3f800000, 0x33800000
        FP_RR_S 4, fadd.s, rup, 0x3f800001, NX, 0x3f800000, 0x33800000
        FP_RR_S 5, fadd.s, rdn, 0x3f800000, NX, 0x3f800000, 0x33800000
        FP_RR_S 6, fsub.s, rmm, 0xbf800001, NX, 0xbf800000, 0x33800000
        FP_RR_S 7, fsub.s, rne, 0x7fc00000, NV, 0x7f800000, 0x7f800000
        FP_RR_S 8, fsub.s, rne, 0x00000000, 0, 0x3f800000, 0x3f800000
        FP_RR_S 9, fsub.s, rdn, 0x80000000, 0, 0x3f800000, 0x3f800000
        FP_RR_S 10, fmul.s, rne, 0x7f800000, OF|NX, 0x7f7fffff, 0x40000000
        FP_RR_S 11, fmul.s, rtz, 0x7f7fffff, OF|NX, 0x7f7fffff, 0x40000000
        FP_RR_S 12, fmul.s, rup, 0xff7fffff, OF|NX, 0x7f7fffff, 0xc0000000
        FP_RR_S 13, fmul.s, rne, 0x00000000, UF|NX, 0x00000001, 0x3f000000
        FP_RR_S 14, fmul.s, rmm, 0x00000001, UF|NX, 0x00000001, 0x3f000000
        FP_RR_S 15, fmul.s, rne, 0x7fc00000, NV, 0x7f800000, 0x00000000
        FP_RR_S 16, fdiv.s, rne, 0x7f800000, DZ, 0x3f800000, 0x00000000
        FP_RR_S 17, fdiv.s, rne, 0x7fc00000, NV, 0x00000000, 0x00000000
        FP_RR_S 18, fdiv.s, rne, 0x3eaaaaab, NX, 0x3f800000, 0x40400000
        FP_RR_S 19, fdiv.s, rtz, 0x3eaaaaaa, NX, 0x3f800000, 0x40400000
        FP_RR_S 20, fadd.s, rne, 0x7fc00000, NV, 0x7f800001, 0x3f800000     # sNaN input
        FP_RR_S 21, fadd.s, rne, 0x7fc00000, 0, 0x7fc12345, 0x3f800000      # NaN payload dropped
        FP_R_S 22, fsqrt.s, rne, 0x3fb504f3, NX, 0x40000000
        FP_R_S 23, fsqrt.s, rup, 0x3fb504f4, NX, 0x40000000
        FP_R_S 24, fsqrt.s, rne, 0x7fc00000, NV, 0xbf800000
        FP_R_S 25, fsqrt.s, rne, 0x80000000, 0, 0x80000000
        FP_R_S 26, fsqrt.s, rne, 0x40400000, 0, 0x41100000
        # fused: (1+2^-12)^2 - (1+2^-11) = 2^-24 exactly with one rounding
        FP_RRR_S 27, fmadd.s, rne, 0x33800000, 0, 0x3f800800, 0x3f800800, 0xbf801000
        FP_RRR_S 28, fmsub.s, rne, 0x40a00000, 0, 0x40000000, 0x40400000, 0x3f800000
        FP_RRR_S 29, fnmsub.s, rne, 0xc0a00000, 0, 0x40000000, 0x40400000, 0x3f800000
        FP_RRR_S 30, fnmadd.s, rne, 0xc0e00000, 0, 0x40000000, 0x40400000, 0x3f800000
        FP_RRR_S 31, fmadd.s, rne, 0x7fc00000, NV, 0x7f800000, 0x00000000, 0x7fc00000  # inf*0+qNaN: NV
        FP_RRR_S 32, fmadd.s, rdn, 0x80000000, 0, 0x3f800000, 0x3f800000, 0xbf800000
        # min/max
        FP_RR_S 33, fmin.s, , 0x80000000, 0, 0x00000000, 0x80000000
        FP_RR_S 34, fmax.s, , 0x00000000, 0, 0x80000000, 0x00000000
        FP_RR_S 35, fmin.s, , 0x3f800000, 0, 0x7fc00000, 0x3f800000
        FP_RR_S 36, fmax.s, , 0x3f800000, NV, 0x3f800000, 0x7f800001
        FP_RR_S 37, fmin.s, , 0x7fc00000, 0, 0x7fc00001, 0xffc00000
        FP_RR_S 38, fmax.s, , 0x40000000, 0, 0xc0400000, 0x40000000
        # compares
        FP_CMP_S 39, feq.s, 1, 0, 0x80000000, 0x00000000
        FP_CMP_S 40, feq.s, 0, 0, 0x7fc00000, 0x3f800000
        FP_CMP_S 41, feq.s, 0, NV, 0x7f800001, 0x3f800000
        FP_CMP_S 42, flt.s, 0, NV, 0x7fc00000, 0x3f800000
        FP_CMP_S 43, fle.s, 0, NV, 0x3f800000, 0x7fc00000
        FP_CMP_S 44, flt.s, 1, 0, 0xbf800000, 0x3f800000
        FP_CMP_S 45, fle.s, 1, 0, 0x80000000, 0x00000000
        FP_CMP_S 46, flt.s, 0, 0, 0x80000000, 0x00000000
        # classify
        FP_CVT_XS 47, fclass.s, , 1 << 0, 0, 0xff800000
        FP_CVT_XS 48, fclass.s, , 1 << 1, 0, 0xbf800000
        FP_CVT_XS 49, fclass.s, , 1 << 2, 0, 0x80000001
        FP_CVT_XS 50, fclass.s, , 1 << 3, 0, 0x80000000
        FP_CVT_XS 51, fclass.s, , 1 << 4, 0, 0x00000000
        FP_CVT_XS 52, fclass.s, , 1 << 5, 0, 0x00000001
        FP_CVT_XS 53, fclass.s, , 1 << 6, 0, 0x3f800000
        FP_CVT_XS 54, fclass.s, , 1 << 7, 0, 0x7f800000
        FP_CVT_XS 55, fclass.s, , 1 << 8, 0, 0x7f800001
        FP_CVT_XS 56, fclass.s, , 1 << 9, 0, 0x7fc00000
        # sign injection (no flags, NaN bits kept)
        FP_RR_S 57, fsgnj.s, , 0xbf800000, 0, 0x3f800000, 0x80000000
        FP_RR_S 58, fsgnjn.s, , 0x3f800000, 0, 0x3f800000, 0x80000000
        FP_RR_S 59, fsgnjx.s, , 0x3f800000, 0, 0xbf800000, 0x80000000
        FP_RR_S 60, fsgnj.s, , 0x7f800001, 0, 0xff800001, 0x00000000
        # conversions
        FP_CVT_XS 61, fcvt.w.s, rtz, 0x7fffffff, NV, 0x7fc00000
        FP_CVT_XS 62, fcvt.w.s, rtz, 0xffffffff80000000, NV, 0xff800000
        FP_CVT_XS 63, fcvt.w.s, rtz, 0x7fffffff, NV, 0x4f000000                   # 2^31
        FP_CVT_XS 64, fcvt.w.s, rtz, 0xffffffff80000000, 0, 0xcf000000            # -2^31
        FP_CVT_XS 65, fcvt.w.s, rne, 2, NX, 0x40200000                            # 2.5
        FP_CVT_XS 66, fcvt.w.s, rmm, 3, NX, 0x40200000
        FP_CVT_XS 67, fcvt.w.s, rdn, -3, NX, 0xc0200000
        FP_CVT_XS 68, fcvt.w.s, rup, -2, NX, 0xc0200000
        FP_CVT_XS 69, fcvt.wu.s, rtz, 0, NV, 0xbf800000
        FP_CVT_XS 70, fcvt.wu.s, rtz, 0, NX, 0xbf000000                           # -0.5 -> 0
        FP_CVT_XS 71, fcvt.wu.s, rtz, 0xffffffffffffffff, NV, 0x7fc00000         # sign-extended 2^32-1
        FP_CVT_XS 72, fcvt.wu.s, rtz, 0xffffffff80000000, 0, 0x4f000000           # 2^31 as u32, sign-extended
        FP_CVT_XS 73, fcvt.l.s, rtz, 0x7fffffffffffffff, NV, 0x5f000000           # 2^63
        FP_CVT_XS 74, fcvt.l.s, rtz, 0x8000000000000000, 0, 0xdf000000
        FP_CVT_XS 75, fcvt.lu.s, rtz, 0x8000000000000000, 0, 0x5f000000
        FP_CVT_XS 76, fcvt.lu.s, rtz, 0xffffffffffffffff, NV, 0x5f800000          # 2^64
        FP_CVT_XS 77, fcvt.lu.s, rtz, 0, NV, 0xff800000
        FP_CVT_SX 78, fcvt.s.w, rne, 0x4b800000, NX, 16777217
        FP_CVT_SX 79, fcvt.s.w, rmm, 0x4b800001, NX, 16777217
        FP_CVT_SX 80, fcvt.s.w, rne, 0xcf000000, 0, 0xffffffff80000000
        FP_CVT_SX 81, fcvt.s.w, rne, 0xbf800000, 0, 0x00000000ffffffff          # only the low word
        FP_CVT_SX 82, fcvt.s.wu, rne, 0x4f800000, NX, 0xffffffff
        FP_CVT_SX 83, fcvt.s.l, rne, 0xdf000000, 0, 0x8000000000000000
        FP_CVT_SX 84, fcvt.s.lu, rtz, 0x5f7fffff, NX, 0xffffffffffffffff
        FP_CVT_SX 85, fcvt.s.lu, rne, 0x5f800000, NX, 0xffffffffffffffff
        # fmv.x.w sign-extends; fmv.w.x NaN-boxes
        li gp, 86
        li t0, 0x80000000
        fmv.w.x fa1, t0
        fmv.x.w a4, fa1
        CHECK 86, a4, 0xffffffff80000000
        fmv.x.d a4, fa1
        CHECK 87, a4, 0xffffffff80000000
        # results of single ops are NaN-boxed
        FP_RR_S 88, fadd.s, rne, 0x40400000, 0, 0x3f800000, 0x40000000
        fmv.x.d a4, fa4
        CHECK 88, a4, 0xffffffff40400000
        # a non-boxed input is the canonical NaN
        li gp, 89
        li t0, 0x000000003f800000
        fmv.d.x fa1, t0
        fadd.s fa4, fa1, fa1
        fmv.x.w a4, fa4
        CHECK 89, a4, 0x7fc00000
        fclass.s a4, fa1
        CHECK 90, a4, 1 << 9
        li t0, 0xfffffffe3f800000                  # upper bits not all ones: still not boxed
        fmv.d.x fa1, t0
        fsgnj.s fa4, fa1, fa1
        fmv.x.w a4, fa4
        CHECK 91, a4, 0x7fc00000
        # flw NaN-boxes, fsw stores the low word
        li gp, 92
        lla s0, fbuf
        li t0, 0x40490fdb
        sw t0, 0(s0)
        flw fa1, 0(s0)
        fmv.x.d a4, fa1
        CHECK 92, a4, 0xffffffff40490fdb
        fsw fa1, 4(s0)
        lw a4, 4(s0)
        CHECK 93, a4, 0x40490fdb
        # dynamic rounding through frm, and fflags accumulate
        li gp, 94
        csrwi fcsr, 0
        fsrmi 3                                     # RUP
        li t0, 0x3f800000
        fmv.w.x fa1, t0
        li t0, 0x33800000
        fmv.w.x fa2, t0
        fadd.s fa4, fa1, fa2                         # dyn
        fmv.x.w a4, fa4
        CHECK 94, a4, 0x3f800001
        fsrmi 4                                     # RMM
        fadd.s fa4, fa1, fa2, dyn
        fmv.x.w a4, fa4
        CHECK 95, a4, 0x3f800001
        fsrmi 1                                     # RTZ
        fadd.s fa4, fa1, fa2
        fmv.x.w a4, fa4
        CHECK 96, a4, 0x3f800000
        fdiv.s fa4, fa1, fa0                         # fa0 = ? make it zero first
        li gp, 97
        fmv.w.x fa0, x0
        fdiv.s fa4, fa1, fa0
        frflags a4
        CHECK 97, a4, NX|DZ
        frcsr a4
        CHECK 98, a4, (1 << 5) | NX | DZ
        fsflags a5, x0
        CHECK 99, a5, NX|DZ
        frcsr a4
        CHECK 100, a4, (1 << 5)
        csrwi fcsr, 0
        TEST_END
fbuf:   .zero 16
