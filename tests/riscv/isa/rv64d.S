# rv64d.S — RV64D: double arithmetic per rounding mode with fflags, fused ops, min/max/compare,
# classify, sign injection, conversions (int <-> double with saturation, double <-> single with
# rounding, NaN canonicalisation and NaN-boxing), fmv.x.d/fmv.d.x, fld/fsd.
#include "isa.inc"
.macro FP_R_D n, inst, rm, exp, flags, a
        li gp, \n
        li t0, \a
        fmv.d.x fa1, t0
        csrwi fflags, 0
        \inst fa4, fa1, \rm
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
        .equ NX, 1
        .equ UF, 2
        .equ OF, 4
        .equ DZ, 8
        .equ NV, 16
        .equ ONE, 0x3ff0000000000000
        .equ TWO, 0x4000000000000000
        .equ THREE, 0x4008000000000000
        .equ EPS53, 0x3ca0000000000000          # 2^-53
        .equ DMAX, 0x7fefffffffffffff
        .equ DINF, 0x7ff0000000000000
        .equ CNAN, 0x7ff8000000000000
        TEST_BEGIN
        FP_RR_D 1, fadd.d, rne, THREE, 0, ONE, TWO
        FP_RR_D 2, fadd.d, rne, ONE, NX, ONE, EPS53
        FP_RR_D 3, fadd.d, rmm, ONE + 1, NX, ONE, EPS53
        FP_RR_D 4, fadd.d, rup, ONE + 1, NX, ONE, EPS53
        FP_RR_D 5, fadd.d, rtz, ONE, NX, ONE, EPS53
        FP_RR_D 6, fsub.d, rdn, 0x8000000000000000, 0, ONE, ONE
        FP_RR_D 7, fsub.d, rne, CNAN, NV, DINF, DINF
        FP_RR_D 8, fmul.d, rne, DINF, OF|NX, DMAX, TWO
        FP_RR_D 9, fmul.d, rdn, DMAX, OF|NX, DMAX, TWO
        FP_RR_D 10, fmul.d, rdn, 0xfff0000000000000, OF|NX, DMAX, 0xc000000000000000
        FP_RR_D 11, fmul.d, rne, 0, UF|NX, 1, 0x3fe0000000000000
        FP_RR_D 12, fmul.d, rup, 1, UF|NX, 1, 0x3fe0000000000000
        FP_RR_D 13, fmul.d, rne, 0x0008000000000000, 0, 0x0010000000000000, 0x3fe0000000000000  # exact subnormal
        FP_RR_D 14, fdiv.d, rne, 0x3fd5555555555555, NX, ONE, THREE
        FP_RR_D 15, fdiv.d, rup, 0x3fd5555555555556, NX, ONE, THREE
        FP_RR_D 16, fdiv.d, rne, 0xfff0000000000000, DZ, 0xbff0000000000000, 0
        FP_RR_D 17, fdiv.d, rne, CNAN, NV, 0, 0
        FP_RR_D 18, fadd.d, rne, CNAN, NV, 0x7ff0000000000001, ONE
        FP_RR_D 19, fadd.d, rne, CNAN, 0, 0xfff8000000001234, ONE
        FP_R_D 20, fsqrt.d, rne, 0x3ff6a09e667f3bcd, NX, TWO
        FP_R_D 21, fsqrt.d, rtz, 0x3ff6a09e667f3bcc, NX, TWO   # RNE rounded up
        FP_R_D 22, fsqrt.d, rne, CNAN, NV, 0xbff0000000000000
        FP_R_D 23, fsqrt.d, rne, 0x4010000000000000, 0, 0x4030000000000000
        # fused: (1+2^-25)^2 - (1+2^-24) = 2^-50 only with a single rounding
        FP_RRR_D 24, fmadd.d, rne, 0x3cd0000000000000, 0, 0x3ff0000008000000, 0x3ff0000008000000, 0xbff0000010000000
        FP_RRR_D 25, fnmadd.d, rne, 0xc01c000000000000, 0, TWO, THREE, ONE
        FP_RRR_D 26, fmsub.d, rne, 0x4014000000000000, 0, TWO, THREE, ONE
        FP_RRR_D 27, fnmsub.d, rne, 0xc014000000000000, 0, TWO, THREE, ONE
        FP_RRR_D 28, fmadd.d, rne, CNAN, NV, 0, DINF, 0x7ff8000000000000
        FP_RRR_D 29, fmadd.d, rne, CNAN, NV, DINF, ONE, 0xfff0000000000000
        # min/max, compare
        FP_RR_D 30, fmin.d, , 0x8000000000000000, 0, 0, 0x8000000000000000
        FP_RR_D 31, fmax.d, , 0, 0, 0x8000000000000000, 0
        FP_RR_D 32, fmin.d, , ONE, NV, 0x7ff0000000000001, ONE
        FP_RR_D 33, fmax.d, , CNAN, 0, CNAN, 0xfff8000000000000
        FP_CMP_D 34, feq.d, 1, 0, 0, 0x8000000000000000
        FP_CMP_D 35, feq.d, 0, NV, 0x7ff0000000000001, 0x7ff0000000000001
        FP_CMP_D 36, flt.d, 0, NV, CNAN, ONE
        FP_CMP_D 37, fle.d, 1, 0, ONE, ONE
        FP_CMP_D 38, flt.d, 1, 0, 0xfff0000000000000, DMAX
        # classify
        FP_CVT_XD 39, fclass.d, , 1 << 0, 0, 0xfff0000000000000
        FP_CVT_XD 40, fclass.d, , 1 << 2, 0, 0x800fffffffffffff
        FP_CVT_XD 41, fclass.d, , 1 << 3, 0, 0x8000000000000000
        FP_CVT_XD 42, fclass.d, , 1 << 5, 0, 1
        FP_CVT_XD 43, fclass.d, , 1 << 6, 0, 0x0010000000000000
        FP_CVT_XD 44, fclass.d, , 1 << 8, 0, 0x7ff4000000000000
        FP_CVT_XD 45, fclass.d, , 1 << 9, 0, 0x7ff8000000000000
        # sign injection
        FP_RR_D 46, fsgnj.d, , 0xbff0000000000000, 0, ONE, 0x8000000000000000
        FP_RR_D 47, fsgnjn.d, , 0xbff0000000000000, 0, ONE, 0
        FP_RR_D 48, fsgnjx.d, , ONE, 0, 0xbff0000000000000, 0x8000000000000000
        # double -> integer
        FP_CVT_XD 49, fcvt.w.d, rtz, 0x7fffffff, NV, 0x41e0000000000000         # 2^31
        FP_CVT_XD 50, fcvt.w.d, rtz, 0xffffffff80000000, NX, 0xc1e0000000100000 # -2^31 - 0.5
        FP_CVT_XD 51, fcvt.w.d, rdn, 0xffffffff80000000, NV, 0xc1e0000000100000
        FP_CVT_XD 52, fcvt.w.d, rmm, 0xffffffff80000000, NV, 0xc1e0000000100000
        FP_CVT_XD 53, fcvt.wu.d, rtz, 0xffffffffffffffff, 0, 0x41efffffffe00000 # 2^32-1
        FP_CVT_XD 54, fcvt.wu.d, rtz, 0xffffffffffffffff, NV, 0x41f0000000000000 # 2^32
        FP_CVT_XD 55, fcvt.l.d, rtz, 0x7fffffffffffffff, NV, CNAN
        FP_CVT_XD 56, fcvt.l.d, rne, -2, NX, 0xbff8000000000000                  # -1.5
        FP_CVT_XD 57, fcvt.l.d, rmm, -2, NX, 0xbff8000000000000
        FP_CVT_XD 58, fcvt.l.d, rtz, -1, NX, 0xbff8000000000000
        FP_CVT_XD 59, fcvt.lu.d, rtz, 0, NV, 0xbff0000000000000
        FP_CVT_XD 60, fcvt.lu.d, rup, 1, NX, 1                                   # min subnormal -> 1
        FP_CVT_XD 61, fcvt.lu.d, rtz, 0xfffffffffffff800, 0, 0x43efffffffffffff
        # integer -> double
        FP_CVT_DX 62, fcvt.d.l, rne, 0x4340000000000000, NX, 0x20000000000001      # 2^53 + 1
        FP_CVT_DX 63, fcvt.d.l, rmm, 0x4340000000000001, NX, 0x20000000000001
        FP_CVT_DX 64, fcvt.d.lu, rne, 0x43f0000000000000, NX, -1
        FP_CVT_DX 65, fcvt.d.lu, rtz, 0x43efffffffffffff, NX, -1
        FP_CVT_DX 66, fcvt.d.w, , 0xc1e0000000000000, 0, 0x80000000               # low word, signed
        FP_CVT_DX 67, fcvt.d.wu, , 0x41e0000000000000, 0, 0xffffffff80000000      # low word, unsigned
        FP_CVT_DX 68, fcvt.d.l, rdn, 0xc3e0000000000000, 0, 0x8000000000000000
        # double <-> single
        li gp, 69
        li t0, 0x7ff0000000000001        # sNaN
        fmv.d.x fa1, t0
        csrwi fflags, 0
        fcvt.s.d fa4, fa1
        fmv.x.d a4, fa4
        CHECK 69, a4, 0xffffffff7fc00000
        frflags a5
        CHECK 70, a5, NV
        li t0, 0x3ff0000010000000        # 1 + 2^-24: a tie in single
        fmv.d.x fa1, t0
        csrwi fflags, 0
        fcvt.s.d fa4, fa1, rmm
        fmv.x.w a4, fa4
        CHECK 71, a4, 0x3f800001
        fcvt.s.d fa4, fa1, rne
        fmv.x.w a4, fa4
        CHECK 72, a4, 0x3f800000
        li t0, 0x47f0000000000000        # 2^128: overflows single
        fmv.d.x fa1, t0
        csrwi fflags, 0
        fcvt.s.d fa4, fa1, rtz
        fmv.x.w a4, fa4
        CHECK 73, a4, 0x7f7fffff
        frflags a5
        CHECK 74, a5, OF|NX
        li t0, 0xffffffff00000001        # single min subnormal, boxed
        fmv.d.x fa1, t0
        csrwi fflags, 0
        fcvt.d.s fa4, fa1
        fmv.x.d a4, fa4
        CHECK 75, a4, 0x36a0000000000000
        frflags a5
        CHECK 76, a5, 0
        li t0, 0x3f80000000000000        # not NaN-boxed: canonical NaN in, canonical NaN out
        fmv.d.x fa1, t0
        fcvt.d.s fa4, fa1
        fmv.x.d a4, fa4
        CHECK 77, a4, CNAN
        # fld / fsd / fmv
        li gp, 78
        lla s0, dbuf
        li t0, 0x0123456789abcdef
        sd t0, 0(s0)
        fld fa1, 0(s0)
        fsd fa1, 8(s0)
        ld a4, 8(s0)
        CHECK 78, a4, 0x0123456789abcdef
        fmv.x.d a4, fa1
        CHECK 79, a4, 0x0123456789abcdef
        # fsd of a single's register stores the boxed 64 bits
        li t0, 0x3f800000
        fmv.w.x fa2, t0
        fsd fa2, 16(s0)
        ld a4, 16(s0)
        CHECK 80, a4, 0xffffffff3f800000
        TEST_END
dbuf:   .zero 32
