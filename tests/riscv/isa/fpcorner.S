# fpcorner.S — floating-point corner cases: conversion saturation at the exact edges in every
# rounding mode, tininess after rounding, exact vs inexact subnormal results, fused ops without
# intermediate overflow, signed zeros of fused ops, NaN handling in min/max/sign injection/compare,
# non-NaN-boxed single inputs, format conversions of NaN/inf/overflow, integer conversion ties.
#include "isa.inc"
.macro FP_R_D n, inst, rm, exp, flags, a
        li gp, \n
        li t0, \a
        fmv.d.x fa1, t0
        csrwi fflags, 0
        .ifb \rm
        \inst fa4, fa1
        .else
        \inst fa4, fa1, \rm
        .endif
        fmv.x.d a4, fa4
        csrr a5, fflags
        li t2, \exp
        bne a4, t2, fail
        li t2, \flags
        bne a5, t2, fail
.endm
.macro FP_CVT_XD n, inst, rm, exp, flags, a
        li gp, \n
        li t0, \a
        fmv.d.x fa1, t0
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
.macro FP_CVT_DX n, inst, rm, exp, flags, a
        li gp, \n
        li t0, \a
        csrwi fflags, 0
        .ifb \rm
        \inst fa4, t0
        .else
        \inst fa4, t0, \rm
        .endif
        fmv.x.d a4, fa4
        csrr a5, fflags
        li t2, \exp
        bne a4, t2, fail
        li t2, \flags
        bne a5, t2, fail
.endm
.macro FP_CMP_D n, inst, exp, flags, a, b
        li gp, \n
        li t0, \a
        fmv.d.x fa1, t0
        li t0, \b
        fmv.d.x fa2, t0
        csrwi fflags, 0
        \inst a4, fa1, fa2
        csrr a5, fflags
        li t2, \exp
        bne a4, t2, fail
        li t2, \flags
        bne a5, t2, fail
.endm
.macro FP_RRR_D n, inst, rm, exp, flags, a, b, c
        li gp, \n
        li t0, \a
        fmv.d.x fa1, t0
        li t0, \b
        fmv.d.x fa2, t0
        li t0, \c
        fmv.d.x fa3, t0
        csrwi fflags, 0
        \inst fa4, fa1, fa2, fa3, \rm
        fmv.x.d a4, fa4
        csrr a5, fflags
        li t2, \exp
        bne a4, t2, fail
        li t2, \flags
        bne a5, t2, fail
.endm
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
        .equ CNAN, 0x7ff8000000000000
        TEST_BEGIN
        # double -> int32 at the saturation edges, every mode
        FP_CVT_XD 1, fcvt.w.d, rne, 0x7fffffff, NV, 0x41dfffffffe00000            # 2147483647.5
        FP_CVT_XD 2, fcvt.w.d, rtz, 0x7fffffff, NX, 0x41dfffffffe00000
        FP_CVT_XD 3, fcvt.w.d, rdn, 0x7fffffff, NX, 0x41dfffffffe00000
        FP_CVT_XD 4, fcvt.w.d, rup, 0x7fffffff, NV, 0x41dfffffffe00000
        FP_CVT_XD 5, fcvt.w.d, rmm, 0x7fffffff, NV, 0x41dfffffffe00000
        FP_CVT_XD 6, fcvt.w.d, rne, 0xffffffff80000000, NX, 0xc1e0000000100000   # -2147483648.5
        FP_CVT_XD 7, fcvt.w.d, rup, 0xffffffff80000000, NX, 0xc1e0000000100000
        FP_CVT_XD 8, fcvt.w.d, rdn, 0xffffffff80000000, NV, 0xc1e0000000100000
        FP_CVT_XD 9, fcvt.wu.d, rne, 0, NX, 0xbfe0000000000000                    # -0.5
        FP_CVT_XD 10, fcvt.wu.d, rmm, 0, NV, 0xbfe0000000000000
        FP_CVT_XD 11, fcvt.wu.d, rup, 0, NX, 0xbfe0000000000000
        FP_CVT_XD 12, fcvt.wu.d, rdn, 0, NV, 0xbfe0000000000000
        FP_CVT_XD 13, fcvt.wu.d, rne, 0xffffffffffffffff, NV, 0x41effffffff00000 # 4294967295.5
        FP_CVT_XD 14, fcvt.wu.d, rtz, 0xffffffffffffffff, NX, 0x41effffffff00000
        FP_CVT_XD 15, fcvt.lu.d, rtz, 0, 0, 0x8000000000000000                   # -0.0
        FP_CVT_XD 16, fcvt.l.d, rtz, 0x7fffffffffffffff, NV, 0x7ff0000000000000
        FP_CVT_XD 17, fcvt.l.d, rtz, 0x7fffffffffffffff, NV, 0xfff8000000000000  # any NaN: max
        FP_CVT_XD 18, fcvt.lu.d, rne, 0xffffffffffffffff, NV, 0x7ff0000000000001
        # tininess is detected after rounding (f64 -> f32)
        li gp, 19
        li t0, 0x380fffffe0000000        # 2^-126 * (1 - 2^-24): rounds to min normal, tiny
        fmv.d.x fa1, t0
        csrwi fflags, 0
        fcvt.s.d fa4, fa1, rne
        fmv.x.w a4, fa4
        frflags a5
        CHECK 19, a4, 0x00800000
        CHECK 20, a5, UF|NX
        csrwi fflags, 0
        fcvt.s.d fa4, fa1, rmm
        fmv.x.w a4, fa4
        frflags a5
        CHECK 21, a4, 0x00800000
        CHECK 22, a5, UF|NX
        li t0, 0x380ffffff0000000        # 2^-126 * (1 - 2^-25): not tiny after rounding
        fmv.d.x fa1, t0
        csrwi fflags, 0
        fcvt.s.d fa4, fa1, rne
        fmv.x.w a4, fa4
        frflags a5
        CHECK 23, a4, 0x00800000
        CHECK 24, a5, NX
        csrwi fflags, 0
        fcvt.s.d fa4, fa1, rtz
        fmv.x.w a4, fa4
        frflags a5
        CHECK 25, a4, 0x007fffff
        CHECK 26, a5, UF|NX
        # exact subnormal results raise nothing; inexact ones raise UF|NX
        FP_RR_D 27, fdiv.d, rne, 0x0008000000000000, 0, 0x0010000000000000, 0x4000000000000000
        FP_RR_D 28, fadd.d, rne, 2, 0, 1, 1
        FP_R_D 29, fsqrt.d, rne, 0x1e60000000000000, 0, 1                      # sqrt(2^-1074) = 2^-537
        FP_RR_D 30, fmul.d, rup, 1, UF|NX, 1, 0x3fe0000000000001
        FP_RR_D 31, fmul.d, rne, 1, UF|NX, 1, 0x3fe0000000000001
        FP_RR_S 32, fmul.s, rup, 0x80000000, UF|NX, 0x00000001, 0xbf000000
        FP_RR_S 33, fmul.s, rmm, 0x80000001, UF|NX, 0x00000001, 0xbf000000
        # fused ops: no intermediate overflow or rounding; signed zeros
        FP_RRR_D 34, fmadd.d, rne, 0x7fefffffffffffff, 0, 0x7fefffffffffffff, 0x4000000000000000, 0xffefffffffffffff
        FP_RRR_D 35, fnmadd.d, rne, 0x8000000000000000, 0, 0, 0x3ff0000000000000, 0
        FP_RRR_D 36, fmsub.d, rne, 0, 0, 0, 0x3ff0000000000000, 0
        FP_RRR_D 37, fmsub.d, rdn, 0x8000000000000000, 0, 0, 0x3ff0000000000000, 0
        FP_RRR_D 38, fmadd.d, rne, 0x3ff0000000000000, 0, 0x8000000000000000, 0x7fefffffffffffff, 0x3ff0000000000000
        FP_RRR_S 39, fmadd.s, rne, 0x7fc00000, NV, 0x00000000, 0xff800000, 0x7f800001   # inf*0 + sNaN
        # min/max/sign-injection/compare NaN details
        FP_RR_D 40, fmin.d, , CNAN, NV, 0x7ff0000000000001, 0xfff0000000000001
        FP_RR_D 41, fmax.d, , 0x8000000000000000, 0, 0x8000000000000000, 0x8000000000000000
        FP_RR_D 42, fmin.d, , 0x7ff0000000000000, 0, 0x7ff0000000000000, 0x7ff8000000000000
        FP_RR_D 43, fsgnjn.d, , 0xfff0000000000001, 0, 0x7ff0000000000001, 0x7ff0000000000001  # payload kept, no NV
        FP_RR_S 44, fsgnjx.s, , 0xff800001, 0, 0x7f800001, 0xbf800000
        li gp, 45
        li t0, 0x000000003f800000        # not NaN-boxed: the canonical NaN for single ops
        fmv.d.x fa1, t0
        fmv.d.x fa2, t0
        csrwi fflags, 0
        feq.s a4, fa1, fa2
        frflags a5
        CHECK 45, a4, 0
        CHECK 46, a5, 0
        flt.s a4, fa1, fa2
        frflags a5
        CHECK 47, a4, 0
        CHECK 48, a5, NV
        fcvt.w.s a4, fa1, rtz
        CHECK 49, a4, 0x7fffffff
        fmv.x.w a4, fa1                  # fmv.x.w moves the low bits, no NaN-box check
        CHECK 50, a4, 0x3f800000
        # conversions of NaNs and infinities between formats
        FP_R_D 51, fcvt.d.s, , CNAN, NV, 0xffffffff7f800001
        FP_R_D 52, fcvt.d.s, , 0xfff0000000000000, 0, 0xffffffffff800000
        li gp, 53
        li t0, 0x7fefffffffffffff
        fmv.d.x fa1, t0
        csrwi fflags, 0
        fcvt.s.d fa4, fa1, rne
        fmv.x.w a4, fa4
        frflags a5
        CHECK 53, a4, 0x7f800000
        CHECK 54, a5, OF|NX
        fcvt.s.d fa4, fa1, rdn
        fmv.x.w a4, fa4
        CHECK 55, a4, 0x7f7fffff
        # fcvt.s.lu / fcvt.d.l ties in every mode
        FP_CVT_DX 56, fcvt.d.lu, rne, 0x43e0000000000000, NX, 0x8000000000000400    # 2^63 + 2^10: tie
        FP_CVT_DX 57, fcvt.d.lu, rmm, 0x43e0000000000001, NX, 0x8000000000000400
        FP_CVT_DX 58, fcvt.d.lu, rup, 0x43e0000000000001, NX, 0x8000000000000400
        FP_CVT_DX 59, fcvt.d.l, rmm, 0xc3d0000000000001, NX, 0xbffffffffffffe00   # -(2^62 + 512): tie
        FP_CVT_DX 60, fcvt.d.l, rne, 0xc3d0000000000000, NX, 0xbffffffffffffe00
        TEST_END
