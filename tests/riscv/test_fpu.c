/* test_fpu.c — unit tests of the RISC-V FPU (src/riscv/fpu.c): directed vectors for every function and
 * rounding mode (overflow, tininess after rounding, RNE vs RMM ties, signed zeros, NaN rules,
 * saturating conversions), then random cross-checks: the soft-float path against the x86 SSE/FMA
 * path for RNE/RTZ/RDN/RUP, RMM against an oracle built from __float128 exact values, conversions
 * against host C conversions under fesetround. */
#include <fenv.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include "../test.h"
#include "riscv/fpu.h"

extern int rv_fpu_force_soft;

static const char *rmname[5] = {"rne", "rtz", "rdn", "rup", "rmm"};

/* ---------------- directed vectors ---------------- */
typedef struct { uint64_t r; uint32_t fl; } res;

static uint32_t fb(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static uint64_t db(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
static float bf(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static double bd(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }

static int vec_fail;
static void expect(const char *what, int rm, uint64_t got, uint32_t gfl, uint64_t want, uint32_t wfl)
{
    if (got != want || gfl != wfl) {
        vec_fail = 1;
        printf("  %s [%s]: got 0x%llx fl=%02x, want 0x%llx fl=%02x\n", what, rm >= 0 ? rmname[rm] : "-",
               (unsigned long long)got, gfl, (unsigned long long)want, wfl);
    }
}

/* Runs a check in the fast, soft and MXCSR paths. */
#define BOTH(stmt) do { for (int soft_ = 0; soft_ < 3; soft_++) { rv_fpu_force_soft = soft_; stmt; } \
                        rv_fpu_force_soft = 0; } while (0)

#define E2_32(fn, a, b, rm, want, wfl) BOTH({ uint32_t f_ = 0; uint32_t r_ = fn(a, b, rm, &f_); \
        expect(#fn "(" #a "," #b ")", rm, r_, f_, want, wfl); })
#define E2_64(fn, a, b, rm, want, wfl) BOTH({ uint32_t f_ = 0; uint64_t r_ = fn(a, b, rm, &f_); \
        expect(#fn "(" #a "," #b ")", rm, r_, f_, want, wfl); })
#define E3_32(fn, a, b, c, rm, want, wfl) BOTH({ uint32_t f_ = 0; uint32_t r_ = fn(a, b, c, rm, &f_); \
        expect(#fn "(" #a "," #b "," #c ")", rm, r_, f_, want, wfl); })
#define E3_64(fn, a, b, c, rm, want, wfl) BOTH({ uint32_t f_ = 0; uint64_t r_ = fn(a, b, c, rm, &f_); \
        expect(#fn "(" #a "," #b "," #c ")", rm, r_, f_, want, wfl); })
#define E1(fn, a, rm, want, wfl) BOTH({ uint32_t f_ = 0; uint64_t r_ = (uint64_t)fn(a, rm, &f_); \
        expect(#fn "(" #a ")", rm, r_, f_, want, wfl); })

enum { NX = RV_FF_NX, UF = RV_FF_UF, OF = RV_FF_OF, DZ = RV_FF_DZ, NV = RV_FF_NV };
#define S_ONE 0x3f800000u
#define S_MAX 0x7f7fffffu
#define S_INF 0x7f800000u
#define S_NINF 0xff800000u
#define S_SNAN 0x7f800001u
#define S_QNAN 0x7fc12345u
#define S_MINSUB 0x00000001u
#define S_MINNORM 0x00800000u
#define D_ONE 0x3ff0000000000000ull
#define D_MAX 0x7fefffffffffffffull
#define D_INF 0x7ff0000000000000ull
#define D_SNAN 0x7ff0000000000001ull
#define D_QNAN 0x7ff8000000abcdefull
#define D_MINSUB 1ull
#define D_MINNORM 0x0010000000000000ull
#define CN32 RV_F32_CANON_NAN
#define CN64 RV_F64_CANON_NAN

static void test_directed_arith(void)
{
    TEST_BEGIN("fpu_directed_arith");
    vec_fail = 0;
    /* ties: 1 + 2^-24 (f32) is halfway between 1 and 1+2^-23 */
    uint32_t t24 = fb(0x1p-24f);
    E2_32(rv_f32_add, S_ONE, t24, RV_RM_RNE, S_ONE, NX);
    E2_32(rv_f32_add, S_ONE, t24, RV_RM_RMM, S_ONE + 1, NX);
    E2_32(rv_f32_add, S_ONE, t24, RV_RM_RTZ, S_ONE, NX);
    E2_32(rv_f32_add, S_ONE, t24, RV_RM_RDN, S_ONE, NX);
    E2_32(rv_f32_add, S_ONE, t24, RV_RM_RUP, S_ONE + 1, NX);
    E2_32(rv_f32_sub, S_ONE | 0x80000000u, t24, RV_RM_RMM, (S_ONE + 1) | 0x80000000u, NX);
    E2_32(rv_f32_sub, S_ONE | 0x80000000u, t24, RV_RM_RDN, (S_ONE + 1) | 0x80000000u, NX);
    E2_32(rv_f32_sub, S_ONE | 0x80000000u, t24, RV_RM_RUP, S_ONE | 0x80000000u, NX);
    /* tie with odd kept bit: RNE and RMM both round up */
    E2_32(rv_f32_add, S_ONE + 1, t24, RV_RM_RNE, S_ONE + 2, NX);
    E2_32(rv_f32_add, S_ONE + 1, t24, RV_RM_RMM, S_ONE + 2, NX);
    uint64_t t53 = db(0x1p-53);
    E2_64(rv_f64_add, D_ONE, t53, RV_RM_RNE, D_ONE, NX);
    E2_64(rv_f64_add, D_ONE, t53, RV_RM_RMM, D_ONE + 1, NX);
    E2_64(rv_f64_add, D_ONE, t53, RV_RM_RTZ, D_ONE, NX);
    /* overflow: inf vs max finite per mode and sign */
    for (int rm = 0; rm < 5; rm++) {
        int inf_pos = rm == RV_RM_RNE || rm == RV_RM_RMM || rm == RV_RM_RUP;
        int inf_neg = rm == RV_RM_RNE || rm == RV_RM_RMM || rm == RV_RM_RDN;
        E2_32(rv_f32_add, S_MAX, S_MAX, rm, inf_pos ? S_INF : S_MAX, OF | NX);
        E2_32(rv_f32_add, S_MAX | 0x80000000u, S_MAX | 0x80000000u, rm, (inf_neg ? S_INF : S_MAX) | 0x80000000u, OF | NX);
        E2_64(rv_f64_mul, D_MAX, db(2.0), rm, inf_pos ? D_INF : D_MAX, OF | NX);
        E2_64(rv_f64_mul, D_MAX, db(-2.0), rm, (inf_neg ? D_INF : D_MAX) | 1ull << 63, OF | NX);
        /* exact cancellation: +0, except -0 in RDN */
        E2_32(rv_f32_sub, S_ONE, S_ONE, rm, rm == RV_RM_RDN ? 0x80000000u : 0, 0);
        E2_64(rv_f64_add, D_ONE, D_ONE | 1ull << 63, rm, rm == RV_RM_RDN ? 1ull << 63 : 0, 0);
        E2_32(rv_f32_add, 0x80000000u, 0x80000000u, rm, 0x80000000u, 0);
        E2_32(rv_f32_add, 0x80000000u, 0, rm, rm == RV_RM_RDN ? 0x80000000u : 0, 0);
        /* min subnormal * 0.5: a tie between 0 and min subnormal, tiny and inexact */
        uint32_t w = (rm == RV_RM_RMM || rm == RV_RM_RUP) ? S_MINSUB : 0;
        E2_32(rv_f32_mul, S_MINSUB, fb(0.5f), rm, w, UF | NX);
        E2_64(rv_f64_div, D_MINSUB, db(2.0), rm, (rm == RV_RM_RMM || rm == RV_RM_RUP) ? D_MINSUB : 0, UF | NX);
        E2_64(rv_f64_div, D_MINSUB | 1ull << 63, db(2.0), rm,
              ((rm == RV_RM_RMM || rm == RV_RM_RDN) ? D_MINSUB : 0) | 1ull << 63, UF | NX);
        /* exact subnormal results raise nothing */
        E2_32(rv_f32_mul, S_MINNORM, fb(0.5f), rm, 0x00400000u, 0);
        E2_32(rv_f32_sub, S_MINNORM + 1, S_MINNORM, rm, 1, 0);
        /* NaN rules */
        E2_32(rv_f32_add, S_QNAN, S_ONE, rm, CN32, 0);
        E2_32(rv_f32_add, S_SNAN, S_ONE, rm, CN32, NV);
        E2_32(rv_f32_mul, S_ONE, S_SNAN | 0x80000000u, rm, CN32, NV);
        E2_64(rv_f64_sub, D_INF, D_INF, rm, CN64, NV);
        E2_64(rv_f64_mul, D_INF, 0, rm, CN64, NV);
        E2_64(rv_f64_add, D_QNAN, D_SNAN, rm, CN64, NV);
        E2_32(rv_f32_div, 0, 0, rm, CN32, NV);
        E2_32(rv_f32_div, S_INF, S_NINF, rm, CN32, NV);
        E2_32(rv_f32_div, S_ONE, 0, rm, S_INF, DZ);
        E2_32(rv_f32_div, S_ONE, 0x80000000u, rm, S_NINF, DZ);
        E2_64(rv_f64_div, D_INF, 0, rm, D_INF, 0);
        E2_64(rv_f64_div, D_ONE, D_INF | 1ull << 63, rm, 1ull << 63, 0);
        E1(rv_f32_sqrt, fb(-1.0f), rm, CN32, NV);
        E1(rv_f32_sqrt, 0x80000000u, rm, 0x80000000u, 0);
        E1(rv_f32_sqrt, S_NINF, rm, CN32, NV);
        E1(rv_f32_sqrt, S_INF, rm, S_INF, 0);
        E1(rv_f64_sqrt, db(4.0), rm, db(2.0), 0);
        E1(rv_f64_sqrt, D_SNAN, rm, CN64, NV);
        E1(rv_f64_sqrt, D_QNAN, rm, CN64, 0);
        /* fused: inf*0 + qNaN is invalid on RISC-V */
        E3_32(rv_f32_madd, S_INF, 0, S_QNAN, rm, CN32, NV);
        E3_64(rv_f64_madd, 0, D_INF, D_QNAN, rm, CN64, NV);
        E3_64(rv_f64_madd, D_ONE, D_ONE, D_QNAN, rm, CN64, 0);
        E3_64(rv_f64_madd, D_INF, D_ONE, D_INF | 1ull << 63, rm, CN64, NV);
        E3_32(rv_f32_madd, S_ONE, S_ONE, fb(-1.0f), rm, rm == RV_RM_RDN ? 0x80000000u : 0, 0);
        E3_32(rv_f32_madd, 0, S_ONE, 0x80000000u, rm, rm == RV_RM_RDN ? 0x80000000u : 0, 0);
        E3_32(rv_f32_nmsub, 0, S_ONE, 0, rm, rm == RV_RM_RDN ? 0x80000000u : 0, 0);
        E3_32(rv_f32_nmadd, 0, S_ONE, 0, rm, 0x80000000u, 0);
        E3_32(rv_f32_msub, 0x80000000u, S_ONE, 0, rm, 0x80000000u, 0);
        E3_64(rv_f64_madd, D_MINSUB, db(0.5), 0, rm, (rm == RV_RM_RMM || rm == RV_RM_RUP) ? D_MINSUB : 0, UF | NX);
    }
    /* tininess after rounding: 2^-126*(1-2^-24) rounds to min normal but is tiny (UF);
     * 2^-126*(1-2^-25) rounds to min normal with an unbounded exponent too: not tiny (no UF) */
    {
        uint32_t f = 0;
        uint32_t r = rv_f64_to_f32(db(0x1p-126 * (1 - 0x1p-24)), RV_RM_RNE, &f);
        expect("f64_to_f32 tiny", 0, r, f, S_MINNORM, UF | NX);
        f = 0; r = rv_f64_to_f32(db(0x1p-126 * (1 - 0x1p-25)), RV_RM_RNE, &f);
        expect("f64_to_f32 not tiny", 0, r, f, S_MINNORM, NX);
        f = 0; r = rv_f64_to_f32(db(0x1p-126 * (1 - 0x1p-25)), RV_RM_RTZ, &f);
        expect("f64_to_f32 rtz tiny", 1, r, f, S_MINNORM - 1, UF | NX);
    }
    /* 2^-1022 * (1 - 2^-53) is not a double: make it inside a fused op */
    E3_64(rv_f64_madd, D_MINNORM, db(1 - 0x1p-53), 0, RV_RM_RNE, D_MINNORM, UF | NX);
    E3_64(rv_f64_madd, D_MINNORM, db(1 - 0x1p-53), 0, RV_RM_RUP, D_MINNORM, UF | NX);
    E3_64(rv_f64_madd, D_MINNORM, db(1 - 0x1p-53), 0, RV_RM_RDN, D_MINNORM - 1, UF | NX);
    /* single rounding: (1+2^-12)^2 - (1+2^-11) = 2^-24 exactly */
    E3_32(rv_f32_madd, fb(1 + 0x1p-12f), fb(1 + 0x1p-12f), fb(-(1 + 0x1p-11f)), RV_RM_RNE, fb(0x1p-24f), 0);
    E3_64(rv_f64_msub, db(1 + 0x1p-27), db(1 + 0x1p-27), db(1 + 0x1p-26), RV_RM_RNE, db(0x1p-54), 0);
    E3_64(rv_f64_madd, db(2), db(3), db(1), RV_RM_RNE, db(7), 0);
    E3_64(rv_f64_msub, db(2), db(3), db(1), RV_RM_RNE, db(5), 0);
    E3_64(rv_f64_nmsub, db(2), db(3), db(1), RV_RM_RNE, db(-5), 0);
    E3_64(rv_f64_nmadd, db(2), db(3), db(1), RV_RM_RNE, db(-7), 0);
    E3_32(rv_f32_nmadd, fb(2), fb(3), fb(1), RV_RM_RNE, fb(-7), 0);
    /* RMM fma tie: 1 * 1 + 2^-24 */
    E3_32(rv_f32_madd, S_ONE, S_ONE, t24, RV_RM_RMM, S_ONE + 1, NX);
    E3_32(rv_f32_madd, S_ONE, S_ONE, t24, RV_RM_RNE, S_ONE, NX);
    E1(rv_f32_sqrt, fb(2.0f), RV_RM_RNE, 0x3fb504f3u, NX);
    E1(rv_f32_sqrt, fb(2.0f), RV_RM_RUP, 0x3fb504f4u, NX);
    E1(rv_f32_sqrt, fb(2.0f), RV_RM_RMM, 0x3fb504f3u, NX);
    E1(rv_f64_sqrt, D_MINSUB, RV_RM_RNE, db(0x1p-537), 0);
    E1(rv_f64_sqrt, db(2.0), RV_RM_RMM, 0x3ff6a09e667f3bcdull, NX);
    E2_64(rv_f64_div, db(1.0), db(3.0), RV_RM_RNE, 0x3fd5555555555555ull, NX);
    E2_64(rv_f64_div, db(1.0), db(3.0), RV_RM_RUP, 0x3fd5555555555556ull, NX);
    E2_64(rv_f64_div, db(1.0), db(3.0), RV_RM_RMM, 0x3fd5555555555555ull, NX);
    E2_64(rv_f64_div, db(-2.0), db(3.0), RV_RM_RMM, 0xbfe5555555555555ull, NX);
    if (vec_fail) t_cur_failed = 1;
    TEST_END();
}

static void test_directed_cmp(void)
{
    TEST_BEGIN("fpu_directed_minmax_cmp_class");
    vec_fail = 0;
    uint32_t f;
#define CK(expr, want, wfl) do { f = 0; uint64_t r_ = (uint64_t)(expr); expect(#expr, -1, r_, f, want, wfl); } while (0)
    CK(rv_f32_min(0x80000000u, 0, &f), 0x80000000u, 0);
    CK(rv_f32_min(0, 0x80000000u, &f), 0x80000000u, 0);
    CK(rv_f32_max(0x80000000u, 0, &f), 0, 0);
    CK(rv_f64_max(0, 1ull << 63, &f), 0, 0);
    CK(rv_f32_min(S_QNAN, S_ONE, &f), S_ONE, 0);
    CK(rv_f32_max(S_ONE, S_QNAN, &f), S_ONE, 0);
    CK(rv_f32_min(S_SNAN, S_ONE, &f), S_ONE, NV);
    CK(rv_f32_min(S_QNAN, S_QNAN, &f), CN32, 0);
    CK(rv_f64_max(D_SNAN, D_QNAN, &f), CN64, NV);
    CK(rv_f64_min(db(-3), db(2), &f), db(-3), 0);
    CK(rv_f64_max(db(-3), db(-2), &f), db(-2), 0);
    CK(rv_f64_max(D_INF | 1ull << 63, D_QNAN, &f), D_INF | 1ull << 63, 0);
    CK(rv_f32_eq(S_QNAN, S_ONE, &f), 0, 0);
    CK(rv_f32_eq(S_SNAN, S_ONE, &f), 0, NV);
    CK(rv_f32_eq(0x80000000u, 0, &f), 1, 0);
    CK(rv_f32_eq(S_ONE, S_ONE, &f), 1, 0);
    CK(rv_f32_lt(S_QNAN, S_ONE, &f), 0, NV);
    CK(rv_f32_le(S_ONE, S_QNAN, &f), 0, NV);
    CK(rv_f32_lt(0x80000000u, 0, &f), 0, 0);
    CK(rv_f32_le(0x80000000u, 0, &f), 1, 0);
    CK(rv_f32_le(0, 0x80000000u, &f), 1, 0);
    CK(rv_f64_lt(db(-1), db(-0.5), &f), 1, 0);
    CK(rv_f64_lt(db(-0.5), db(-1), &f), 0, 0);
    CK(rv_f64_le(db(2), db(2), &f), 1, 0);
    CK(rv_f64_lt(D_INF | 1ull << 63, db(-1e300), &f), 1, 0);
    CK(rv_f64_eq(D_QNAN, D_QNAN, &f), 0, 0);
    CK(rv_f64_eq(D_SNAN, D_QNAN, &f), 0, NV);
    CK(rv_f64_lt(0x8000000000000001ull, 0, &f), 1, 0);
    const uint32_t c32[10] = {S_NINF, 0xbf800000u, 0x80000001u, 0x80000000u, 0, 1, S_ONE, S_INF, S_SNAN, S_QNAN};
    const uint64_t c64[10] = {D_INF | 1ull << 63, db(-1), 0x800fffffffffffffull, 1ull << 63, 0, D_MINSUB, D_ONE,
                              D_INF, D_SNAN, D_QNAN};
    for (int i = 0; i < 10; i++) {
        CHECK_EQ_U64(rv_f32_classify(c32[i]), 1u << i);
        CHECK_EQ_U64(rv_f64_classify(c64[i]), 1u << i);
    }
    CHECK_EQ_U64(rv_f32_classify(0xffc00000u), 1u << 9);
    CHECK_EQ_U64(rv_f32_classify(0xff800001u), 1u << 8);
    CHECK_EQ_U64(rv_f64_classify(D_MINNORM), 1u << 6);
    if (vec_fail) t_cur_failed = 1;
    TEST_END();
}

static void directed_conv_body(void);
static void test_directed_conv(void)
{
    TEST_BEGIN("fpu_directed_conversions");
    vec_fail = 0;
    for (int mode = 0; mode < 3; mode++) {   /* fast, soft-only, no-fast-path */
        rv_fpu_force_soft = mode;
        directed_conv_body();
    }
    rv_fpu_force_soft = 0;
    if (vec_fail) t_cur_failed = 1;
    TEST_END();
}

static void directed_conv_body(void)
{
    uint32_t f;
    /* to i32 */
    CK(rv_f64_to_i32(db(2147483648.0), RV_RM_RNE, &f), 0x7fffffffu, NV);
    CK((uint32_t)rv_f64_to_i32(db(-2147483648.0), RV_RM_RNE, &f), 0x80000000u, 0);
    CK((uint32_t)rv_f64_to_i32(db(-2147483648.5), RV_RM_RTZ, &f), 0x80000000u, NX);
    CK((uint32_t)rv_f64_to_i32(db(-2147483648.5), RV_RM_RNE, &f), 0x80000000u, NX);
    CK((uint32_t)rv_f64_to_i32(db(-2147483648.5), RV_RM_RMM, &f), 0x80000000u, NV);
    CK((uint32_t)rv_f64_to_i32(db(-2147483648.5), RV_RM_RDN, &f), 0x80000000u, NV);
    CK((uint32_t)rv_f64_to_i32(db(2147483647.5), RV_RM_RTZ, &f), 0x7fffffffu, NX);
    CK((uint32_t)rv_f64_to_i32(db(2147483647.5), RV_RM_RNE, &f), 0x7fffffffu, NV);
    CK(rv_f32_to_i32(S_QNAN, RV_RM_RNE, &f), 0x7fffffffu, NV);
    CK(rv_f32_to_i32(S_QNAN | 0x80000000u, RV_RM_RNE, &f), 0x7fffffffu, NV);
    CK(rv_f32_to_i32(S_INF, RV_RM_RNE, &f), 0x7fffffffu, NV);
    CK((uint32_t)rv_f32_to_i32(S_NINF, RV_RM_RNE, &f), 0x80000000u, NV);
    CK(rv_f32_to_i32(fb(2.5f), RV_RM_RNE, &f), 2, NX);
    CK(rv_f32_to_i32(fb(2.5f), RV_RM_RMM, &f), 3, NX);
    CK(rv_f32_to_i32(fb(3.5f), RV_RM_RNE, &f), 4, NX);
    CK((uint32_t)rv_f32_to_i32(fb(-2.5f), RV_RM_RMM, &f), (uint32_t)-3, NX);
    CK((uint32_t)rv_f32_to_i32(fb(-2.5f), RV_RM_RUP, &f), (uint32_t)-2, NX);
    CK((uint32_t)rv_f32_to_i32(fb(-2.5f), RV_RM_RDN, &f), (uint32_t)-3, NX);
    CK(rv_f32_to_i32(fb(0.5f), RV_RM_RUP, &f), 1, NX);
    CK(rv_f32_to_i32(fb(-0.5f), RV_RM_RUP, &f), 0, NX);
    CK(rv_f32_to_i32(S_MINSUB, RV_RM_RUP, &f), 1, NX);
    CK(rv_f32_to_i32(0x80000000u, RV_RM_RUP, &f), 0, 0);
    CK((uint32_t)rv_f32_to_i32(fb(-7.0f), RV_RM_RNE, &f), (uint32_t)-7, 0);
    /* to u32 */
    CK(rv_f64_to_u32(db(-1.0), RV_RM_RNE, &f), 0, NV);
    CK(rv_f64_to_u32(db(-0.5), RV_RM_RTZ, &f), 0, NX);
    CK(rv_f64_to_u32(db(-0.5), RV_RM_RNE, &f), 0, NX);
    CK(rv_f64_to_u32(db(-0.5), RV_RM_RMM, &f), 0, NV);
    CK(rv_f64_to_u32(db(4294967295.0), RV_RM_RNE, &f), 0xffffffffu, 0);
    CK(rv_f64_to_u32(db(4294967295.5), RV_RM_RDN, &f), 0xffffffffu, NX);
    CK(rv_f64_to_u32(db(4294967296.0), RV_RM_RNE, &f), 0xffffffffu, NV);
    CK(rv_f64_to_u32(D_QNAN, RV_RM_RNE, &f), 0xffffffffu, NV);
    CK(rv_f64_to_u32(D_INF | 1ull << 63, RV_RM_RNE, &f), 0, NV);
    /* 64-bit */
    CK(rv_f64_to_i64(db(0x1p63), RV_RM_RNE, &f), 0x7fffffffffffffffull, NV);
    CK(rv_f64_to_i64(db(-0x1p63), RV_RM_RNE, &f), 0x8000000000000000ull, 0);
    CK(rv_f64_to_u64(db(0x1p63), RV_RM_RNE, &f), 0x8000000000000000ull, 0);
    CK(rv_f64_to_u64(db(0x1p64), RV_RM_RNE, &f), ~0ull, NV);
    CK(rv_f64_to_u64(D_SNAN, RV_RM_RNE, &f), ~0ull, NV);
    CK(rv_f32_to_i64(fb(-0x1p63f), RV_RM_RNE, &f), 0x8000000000000000ull, 0);
    CK(rv_f32_to_i64(fb(-0x1p64f), RV_RM_RNE, &f), 0x8000000000000000ull, NV);
    CK(rv_f32_to_u64(fb(0x1p64f), RV_RM_RNE, &f), ~0ull, NV);
    CK(rv_f32_to_u64(fb(0x1.fffffep63f), RV_RM_RNE, &f), 0xffffff0000000000ull, 0);
    CK(rv_f64_to_i64(db(-1.5), RV_RM_RNE, &f), (uint64_t)-2, NX);
    CK(rv_f64_to_i64(db(1e-300), RV_RM_RUP, &f), 1, NX);
    CK(rv_f64_to_i64(db(0.5), RV_RM_RMM, &f), 1, NX);
    CK(rv_f64_to_i64(db(0.5), RV_RM_RNE, &f), 0, NX);
    CK(rv_f64_to_i64(db(0.5000000001), RV_RM_RNE, &f), 1, NX);
    /* from int */
    CK(rv_f64_from_i64((1ll << 53) + 1, RV_RM_RNE, &f), db(0x1p53), NX);
    CK(rv_f64_from_i64((1ll << 53) + 1, RV_RM_RMM, &f), db(0x1p53 + 2), NX);
    CK(rv_f64_from_i64((1ll << 53) + 1, RV_RM_RUP, &f), db(0x1p53 + 2), NX);
    CK(rv_f64_from_i64(-(1ll << 53) - 1, RV_RM_RUP, &f), db(-0x1p53), NX);
    CK(rv_f64_from_i64(INT64_MIN, RV_RM_RNE, &f), db(-0x1p63), 0);
    CK(rv_f64_from_u64(~0ull, RV_RM_RNE, &f), db(0x1p64), NX);
    CK(rv_f64_from_u64(~0ull, RV_RM_RTZ, &f), 0x43efffffffffffffull, NX);
    CK(rv_f64_from_i32(-5, RV_RM_RNE, &f), db(-5), 0);
    CK(rv_f64_from_i32(INT32_MIN, RV_RM_RNE, &f), db(-0x1p31), 0);
    CK(rv_f64_from_u32(0xffffffffu, RV_RM_RNE, &f), db(4294967295.0), 0);
    CK(rv_f64_from_i64(0, RV_RM_RDN, &f), 0, 0);
    CK(rv_f32_from_i32(16777217, RV_RM_RNE, &f), fb(16777216.0f), NX);
    CK(rv_f32_from_i32(16777217, RV_RM_RMM, &f), fb(16777218.0f), NX);
    CK(rv_f32_from_i32(-16777217, RV_RM_RMM, &f), fb(-16777218.0f), NX);
    CK(rv_f32_from_i32(16777219, RV_RM_RNE, &f), fb(16777220.0f), NX);
    CK(rv_f32_from_u32(0xffffffffu, RV_RM_RTZ, &f), 0x4f7fffffu, NX);
    CK(rv_f32_from_u64(~0ull, RV_RM_RNE, &f), fb(0x1p64f), NX);
    CK(rv_f32_from_i64(INT64_MIN, RV_RM_RNE, &f), fb(-0x1p63f), 0);
    /* f32 <-> f64 */
    CK(rv_f32_to_f64(S_SNAN, &f), CN64, NV);
    CK(rv_f32_to_f64(S_QNAN | 0x80000000u, &f), CN64, 0);
    CK(rv_f32_to_f64(S_MINSUB, &f), db(0x1p-149), 0);
    CK(rv_f32_to_f64(0x80000000u, &f), 1ull << 63, 0);
    CK(rv_f32_to_f64(S_NINF, &f), D_INF | 1ull << 63, 0);
    CK(rv_f32_to_f64(fb(1.1f), &f), db((double)1.1f), 0);
    CK(rv_f64_to_f32(db(1e300), RV_RM_RNE, &f), S_INF, OF | NX);
    CK(rv_f64_to_f32(db(1e300), RV_RM_RTZ, &f), S_MAX, OF | NX);
    CK(rv_f64_to_f32(db(-1e300), RV_RM_RUP, &f), S_MAX | 0x80000000u, OF | NX);
    CK(rv_f64_to_f32(db(1e-300), RV_RM_RNE, &f), 0, UF | NX);
    CK(rv_f64_to_f32(db(1e-300), RV_RM_RUP, &f), 1, UF | NX);
    CK(rv_f64_to_f32(db(-1e-300), RV_RM_RDN, &f), 0x80000001u, UF | NX);
    CK(rv_f64_to_f32(db(0x1p-150), RV_RM_RMM, &f), 1, UF | NX);
    CK(rv_f64_to_f32(db(0x1p-150), RV_RM_RNE, &f), 0, UF | NX);
    CK(rv_f64_to_f32(D_SNAN, RV_RM_RNE, &f), CN32, NV);
    CK(rv_f64_to_f32(D_QNAN, RV_RM_RNE, &f), CN32, 0);
    CK(rv_f64_to_f32(db(1 + 0x1p-24), RV_RM_RMM, &f), S_ONE + 1, NX);
    CK(rv_f64_to_f32(db(1 + 0x1p-24), RV_RM_RNE, &f), S_ONE, NX);
    CK(rv_f64_to_f32(db(0x1p-149), RV_RM_RNE, &f), 1, 0);
}

/* ---------------- random operands ---------------- */
static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint64_t rnd64(void)
{
    rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17;
    return rs;
}

/* A random operand of format (M, E) biased towards interesting values; near (if not ~0) is another
 * operand whose exponent it may copy (cancellation, ties). */
static uint64_t gen(int M, int E, uint64_t near)
{
    uint64_t r = rnd64(), sign = (r & 1) << (M + E);
    uint64_t emask = (1ull << E) - 1, mmask = (1ull << M) - 1;
    uint64_t frac = rnd64() & mmask, ex;
    switch ((r >> 1) % 16) {
    case 0: { /* specials */
        switch ((r >> 8) % 9) {
        case 0: return sign;                                          /* zero */
        case 1: return sign | emask << M;                             /* inf */
        case 2: return sign | emask << M | 1ull << (M - 1) | (frac >> 3); /* qNaN */
        case 3: return sign | emask << M | 1;                         /* sNaN */
        case 4: return sign | 1;                                      /* min subnormal */
        case 5: return sign | 1ull << M;                              /* min normal */
        case 6: return sign | (emask - 1) << M | mmask;               /* max finite */
        case 7: return sign | mmask;                                  /* max subnormal */
        default: return sign | (emask >> 1) << M;                    /* 1.0 */
        }
    }
    case 1: case 2: /* subnormal or tiny */
        ex = (r >> 8) % 3;
        return sign | ex << M | (frac >> ((r >> 12) % (unsigned)M));
    case 3: /* huge */
        ex = emask - 1 - (r >> 8) % 4;
        return sign | ex << M | frac;
    case 4: case 5: case 6: /* few significant bits (exact results, ties) */
        frac &= ~((1ull << ((r >> 8) % (unsigned)M)) - 1);
        ex = (emask >> 1) - 8 + (r >> 16) % 16;
        return sign | ex << M | frac;
    case 7: case 8: case 9: /* same exponent as near (cancellation), or close to it */
        if (near != ~0ull) {
            ex = (near >> M) & emask;
            int d = (int)((r >> 8) % 5) - 2;
            if ((int64_t)ex + d > 0 && ex + (uint64_t)d < emask) ex += (uint64_t)d;
            if (ex == emask) ex--;
            if ((r >> 20) & 1) frac = (near & mmask) ^ (rnd64() & 7);
            return sign | ex << M | frac;
        }
        __attribute__((fallthrough));
    default: { /* any finite bit pattern */
        uint64_t bits = rnd64() & ((1ull << (M + E)) - 1);
        if (((bits >> M) & emask) == emask) bits &= ~(1ull << M);
        return sign | bits;
    }
    case 11: case 12: { /* mid-range */
        ex = (emask >> 1) - 30 + (r >> 8) % 70;
        return sign | ex << M | frac;
    }
    }
}

/* ---------------- soft vs host (RNE/RTZ/RDN/RUP) ---------------- */
enum { OP_ADD, OP_SUB, OP_MUL, OP_DIV, OP_SQRT, OP_MADD, OP_MSUB, OP_NMSUB, OP_NMADD, OP_CVT, OP_N };
static const char *opname[OP_N] = {"add", "sub", "mul", "div", "sqrt", "madd", "msub", "nmsub", "nmadd", "cvt"};

static uint64_t run32(int op, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *fl)
{
    uint32_t x = (uint32_t)a, y = (uint32_t)b, z = (uint32_t)c;
    switch (op) {
    case OP_ADD: return rv_f32_add(x, y, rm, fl);
    case OP_SUB: return rv_f32_sub(x, y, rm, fl);
    case OP_MUL: return rv_f32_mul(x, y, rm, fl);
    case OP_DIV: return rv_f32_div(x, y, rm, fl);
    case OP_SQRT: return rv_f32_sqrt(x, rm, fl);
    case OP_MADD: return rv_f32_madd(x, y, z, rm, fl);
    case OP_MSUB: return rv_f32_msub(x, y, z, rm, fl);
    case OP_NMSUB: return rv_f32_nmsub(x, y, z, rm, fl);
    case OP_NMADD: return rv_f32_nmadd(x, y, z, rm, fl);
    default: return rv_f32_to_f64(x, fl);
    }
}
static uint64_t run64(int op, uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *fl)
{
    switch (op) {
    case OP_ADD: return rv_f64_add(a, b, rm, fl);
    case OP_SUB: return rv_f64_sub(a, b, rm, fl);
    case OP_MUL: return rv_f64_mul(a, b, rm, fl);
    case OP_DIV: return rv_f64_div(a, b, rm, fl);
    case OP_SQRT: return rv_f64_sqrt(a, rm, fl);
    case OP_MADD: return rv_f64_madd(a, b, c, rm, fl);
    case OP_MSUB: return rv_f64_msub(a, b, c, rm, fl);
    case OP_NMSUB: return rv_f64_nmsub(a, b, c, rm, fl);
    case OP_NMADD: return rv_f64_nmadd(a, b, c, rm, fl);
    default: return rv_f64_to_f32(a, rm, fl);
    }
}

static int iters(void)
{
    const char *e = getenv("VMKIT_FPU_ITERS");
    int n = e ? atoi(e) : 0;
    return n > 0 ? n : 20000;
}

static void test_soft_vs_host(void)
{
    TEST_BEGIN("fpu_random_soft_vs_sse");
    int n = iters(), shown = 0;
    long total = 0;
    for (int w = 0; w < 2; w++) {
        int M = w ? 52 : 23, E = w ? 11 : 8;
        for (int op = 0; op < OP_N; op++)
            for (int rm = 0; rm < 4; rm++)
                for (int i = 0; i < n; i++) {
                    uint64_t a = gen(M, E, ~0ull), b = gen(M, E, a), c = gen(M, E, (rnd64() & 1) ? a : b);
                    if (op >= OP_MADD && op <= OP_NMADD && (rnd64() & 1)) {
                        /* make c close to a*b so the fused cancellation paths get exercised */
                        uint32_t f0 = 0;
                        uint64_t p = w ? rv_f64_mul(a, b, RV_RM_RTZ, &f0) : rv_f32_mul((uint32_t)a, (uint32_t)b, RV_RM_RTZ, &f0);
                        c = (p ^ (rnd64() & 3)) ^ ((rnd64() & 1) << (M + E));
                    }
                    uint32_t fh = 0, fs = 0, fm = 0;
                    rv_fpu_force_soft = 0;   /* MXCSR-free fast path where it applies */
                    uint64_t rh = w ? run64(op, a, b, c, rm, &fh) : run32(op, a, b, c, rm, &fh);
                    rv_fpu_force_soft = 2;   /* SSE under MXCSR */
                    uint64_t rmx = w ? run64(op, a, b, c, rm, &fm) : run32(op, a, b, c, rm, &fm);
                    rv_fpu_force_soft = 1;
                    uint64_t rsft = w ? run64(op, a, b, c, rm, &fs) : run32(op, a, b, c, rm, &fs);
                    rv_fpu_force_soft = 0;
                    total++;
                    if (rmx != rsft || fm != fs) { rh = rmx; fh = fm | 0x100; }
                    if (rh != rsft || fh != fs) {
                        t_cur_failed = 1;
                        if (shown++ < 20)
                            printf("  f%d %s [%s] a=%llx b=%llx c=%llx: host %llx/%02x (0x100: mxcsr path) soft %llx/%02x\n", w ? 64 : 32,
                                   opname[op], rmname[rm], (unsigned long long)a, (unsigned long long)b,
                                   (unsigned long long)c, (unsigned long long)rh, fh, (unsigned long long)rsft, fs);
                    }
                }
    }
    printf("  %ld soft/sse comparisons, %d mismatches\n", total, shown);
    TEST_END();
}

/* ---------------- RMM oracle (exact values in __float128) ---------------- */
typedef __float128 f128;
static f128 to128(uint64_t v, int w) { return w ? (f128)bd(v) : (f128)bf((uint32_t)v); }

/* Exact result of op in f128, or 0 if it is not exact there (then it cannot be a tie). */
static int exact128(int op, uint64_t a, uint64_t b, uint64_t c, int w, f128 *out)
{
    volatile f128 x = to128(a, w), y = to128(b, w), z = to128(c, w), r;
    feclearexcept(FE_ALL_EXCEPT);
    switch (op) {
    case OP_ADD: r = x + y; break;
    case OP_SUB: r = x - y; break;
    case OP_MUL: r = x * y; break;
    case OP_DIV: r = x / y; break;
    case OP_MADD: r = x * y + z; break;
    case OP_MSUB: r = x * y - z; break;
    case OP_NMSUB: r = -(x * y) + z; break;
    case OP_NMADD: r = -(x * y) - z; break;
    default: return 0;
    }
    *out = r;
    return !fetestexcept(FE_INEXACT | FE_INVALID | FE_OVERFLOW | FE_UNDERFLOW);
}

/* The flags of the directed mode that gave the same result, except UF: tininess depends on the mode.
 * RMM with an unbounded exponent reaches 2^emin from below iff |x| >= 2^emin - 2^(emin-p-1). */
static uint32_t rmm_flags(uint32_t fl, f128 x, int w)
{
    f128 ax = x < 0 ? -x : x;
    f128 lim = w ? (f128)0x1p-1022 - (f128)0x1p-1022 * (f128)0x1p-54 : (f128)0x1p-126 - (f128)0x1p-151;
    int tiny = ax != 0 && ax < lim;
    fl &= ~(uint32_t)UF;
    if (tiny && (fl & NX)) fl |= UF;
    return fl;
}

static void test_rmm_oracle(void)
{
    TEST_BEGIN("fpu_random_rmm_oracle");
    int n = iters() * 2, shown = 0;
    long ties = 0, total = 0;
    for (int w = 0; w < 2; w++) {
        int M = w ? 52 : 23, E = w ? 11 : 8;
        for (int op = 0; op < OP_N; op++)
            for (int i = 0; i < n; i++) {
                uint64_t a = gen(M, E, ~0ull), b = gen(M, E, a), c = gen(M, E, b);
                uint32_t fm = 0, fz = 0, fa = 0, fe = 0;
                uint64_t rm_ = w ? run64(op, a, b, c, RV_RM_RMM, &fm) : run32(op, a, b, c, RV_RM_RMM, &fm);
                uint64_t rne = w ? run64(op, a, b, c, RV_RM_RNE, &fe) : run32(op, a, b, c, RV_RM_RNE, &fe);
                uint64_t rtz = w ? run64(op, a, b, c, RV_RM_RTZ, &fz) : run32(op, a, b, c, RV_RM_RTZ, &fz);
                int outw = (op == OP_CVT) ? !w : w;
                int neg = (int)((rtz >> (outw ? 63 : 31)) & 1);
                uint64_t raw = w ? run64(op, a, b, c, neg ? RV_RM_RDN : RV_RM_RUP, &fa)
                                 : run32(op, a, b, c, neg ? RV_RM_RDN : RV_RM_RUP, &fa);
                uint64_t want = rne;
                uint32_t wfl = fe;
                f128 ex;
                if (op != OP_CVT && op != OP_SQRT && rtz != raw && !(fe & RV_FF_OF) && exact128(op, a, b, c, w, &ex)) {
                    /* exact value known: ties away from zero between rtz and raw */
                    f128 mid = (to128(rtz, w) + to128(raw, w)) / 2;
                    int away = neg ? ex <= mid : ex >= mid;
                    want = away ? raw : rtz;
                    wfl = rmm_flags(away ? fa : fz, ex, w);
                    if (ex == mid) ties++;
                }
                if (op == OP_CVT && w && rtz != raw && !(fe & RV_FF_OF)) {
                    /* f64 -> f32: the f64 input is the exact value */
                    f128 x = to128(a, 1), mid = ((f128)bf((uint32_t)rtz) + (f128)bf((uint32_t)raw)) / 2;
                    int away = neg ? x <= mid : x >= mid;
                    want = away ? raw : rtz;
                    wfl = rmm_flags(away ? fa : fz, x, 0);
                    if (x == mid) ties++;
                }
                /* the soft path must agree too (the host path may shortcut RMM, e.g. for sqrt) */
                uint32_t fs = 0;
                rv_fpu_force_soft = 1;
                uint64_t rsoft = w ? run64(op, a, b, c, RV_RM_RMM, &fs) : run32(op, a, b, c, RV_RM_RMM, &fs);
                rv_fpu_force_soft = 0;
                if (rsoft != rm_ || fs != fm) { rm_ = rsoft; fm = fs | 0x100; }
                total++;
                if (rm_ != want || fm != wfl) {
                    t_cur_failed = 1;
                    if (shown++ < 20)
                        printf("  f%d %s [rmm] a=%llx b=%llx c=%llx: got %llx/%02x want %llx/%02x\n", w ? 64 : 32,
                               opname[op], (unsigned long long)a, (unsigned long long)b, (unsigned long long)c,
                               (unsigned long long)rm_, fm, (unsigned long long)want, wfl);
                }
            }
    }
    printf("  %ld rmm checks, %ld exact ties, %d mismatches\n", total, ties, shown);
    CHECK(ties > 100);
    TEST_END();
}

/* ---------------- conversions vs host C ---------------- */
static const int fe_of[4] = {FE_TONEAREST, FE_TOWARDZERO, FE_DOWNWARD, FE_UPWARD};
static uint32_t host_flags(void)
{
    int e = fetestexcept(FE_ALL_EXCEPT);
    return (e & FE_INVALID ? NV : 0) | (e & FE_DIVBYZERO ? DZ : 0) | (e & FE_OVERFLOW ? OF : 0) |
           (e & FE_UNDERFLOW ? UF : 0) | (e & FE_INEXACT ? NX : 0);
}

/* Oracle for float -> integer: round to an integral double (rint under the mode, round() for RMM),
 * then range-check per the RISC-V saturation table. */
static uint64_t oracle_to_int(double x, int rm, int is_signed, int bits, uint32_t *fl)
{
    uint64_t umax = bits == 64 ? ~0ull : (1ull << bits) - 1;
    double lo = is_signed ? -ldexp(1, bits - 1) : 0, hi_excl = is_signed ? ldexp(1, bits - 1) : ldexp(1, bits);
    uint64_t sat_hi = is_signed ? umax >> 1 : umax;
    uint64_t sat_lo = is_signed ? (uint64_t)1 << (bits - 1) : 0;
    if (bits == 32 && is_signed) sat_lo = 0xffffffff80000000ull;
    if (bits == 64 && is_signed) sat_lo = 1ull << 63;
    if (isnan(x)) { *fl |= NV; return sat_hi; }
    volatile double vx = x, r;
    if (rm == RV_RM_RMM) r = round(vx);
    else { fesetround(fe_of[rm]); r = nearbyint(vx); fesetround(FE_TONEAREST); }
    if (r < lo) { *fl |= NV; return sat_lo; }
    if (r >= hi_excl) { *fl |= NV; return sat_hi; }
    if (r != x) *fl |= NX;
    if (r < 0) return (uint64_t)(int64_t)r;
    return (uint64_t)r;
}

/* Unsigned 64-bit to float through the signed instruction (clang's inline unsigned sequence is not
 * exact in directed modes: it can give -0.0 for 0 under RDN). Halving with a sticky bit is exact. */
static double u64_to_d(uint64_t v)
{
    if ((int64_t)v >= 0) return (double)(int64_t)v;
    volatile double h = (double)(int64_t)((v >> 1) | (v & 1));
    return h + h;
}
static float u64_to_s(uint64_t v)
{
    if ((int64_t)v >= 0) return (float)(int64_t)v;
    volatile float h = (float)(int64_t)((v >> 1) | (v & 1));
    return h + h;
}

static void test_conv_vs_host(void)
{
    TEST_BEGIN("fpu_random_conversions_vs_host");
    int n = iters() * 4, shown = 0;
    long total = 0;
    for (int i = 0; i < n; i++) {
        int rm = (int)(rnd64() % 5);
        rv_fpu_force_soft = i & 1;   /* alternate the fast and the soft conversions */
        /* float -> int */
        uint64_t a = gen(52, 11, ~0ull);
        if (rnd64() & 1) { /* near integer bounds */
            static const double edges[] = {0x1p31, 0x1p32, 0x1p63, 0x1p64, 1, 0.5, 0};
            double e = edges[rnd64() % 7] * ((rnd64() & 1) ? -1 : 1);
            a = db(e) + (uint64_t)((int64_t)(rnd64() % 5) - 2);
        }
        uint32_t a32 = (uint32_t)gen(23, 8, ~0ull);
        for (int k = 0; k < 8; k++) {
            int bits = (k & 2) ? 64 : 32, sg = !(k & 1), use32 = k >= 4;
            double x = use32 ? (double)bf(a32) : bd(a);
            uint32_t fo = 0, fg = 0;
            uint64_t want = oracle_to_int(x, rm, sg, bits, &fo), got;
            if (use32) got = bits == 32 ? (sg ? (uint64_t)(int64_t)rv_f32_to_i32(a32, rm, &fg) : (uint64_t)(int32_t)rv_f32_to_u32(a32, rm, &fg))
                                        : (sg ? (uint64_t)rv_f32_to_i64(a32, rm, &fg) : rv_f32_to_u64(a32, rm, &fg));
            else got = bits == 32 ? (sg ? (uint64_t)(int64_t)rv_f64_to_i32(a, rm, &fg) : (uint64_t)(int32_t)rv_f64_to_u32(a, rm, &fg))
                                  : (sg ? (uint64_t)rv_f64_to_i64(a, rm, &fg) : rv_f64_to_u64(a, rm, &fg));
            if (bits == 32) want = (uint64_t)(int64_t)(int32_t)(uint32_t)want;
            total++;
            if (got != want || fg != fo) {
                t_cur_failed = 1;
                if (shown++ < 20)
                    printf("  to_%s%d [%s] %a (f%d): got %llx/%02x want %llx/%02x\n", sg ? "i" : "u", bits, rmname[rm], x,
                           use32 ? 32 : 64, (unsigned long long)got, fg, (unsigned long long)want, fo);
            }
        }
        /* int -> float, directed modes against the host's conversion */
        if (rm == RV_RM_RMM) continue;
        uint64_t v = rnd64() >> (rnd64() % 64);
        if (rnd64() & 1) v = (uint64_t)-(int64_t)v;
        fesetround(fe_of[rm]);
        feclearexcept(FE_ALL_EXCEPT);
        volatile int64_t vi = (int64_t)v; volatile uint64_t vu = v;
        volatile int32_t vi32 = (int32_t)v; volatile uint32_t vu32 = (uint32_t)v;
        volatile double d1 = (double)vi; uint32_t f1 = host_flags(); feclearexcept(FE_ALL_EXCEPT);
        volatile double d2 = u64_to_d(vu); uint32_t f2 = host_flags(); feclearexcept(FE_ALL_EXCEPT);
        volatile float s1 = (float)vi; uint32_t f3 = host_flags(); feclearexcept(FE_ALL_EXCEPT);
        volatile float s2 = u64_to_s(vu); uint32_t f4 = host_flags(); feclearexcept(FE_ALL_EXCEPT);
        volatile float s3 = (float)vi32; uint32_t f5 = host_flags(); feclearexcept(FE_ALL_EXCEPT);
        volatile float s4 = (float)(int64_t)vu32; uint32_t f6 = host_flags(); feclearexcept(FE_ALL_EXCEPT);
        volatile float s5 = (float)bd(a); uint32_t f7 = host_flags(); feclearexcept(FE_ALL_EXCEPT);
        fesetround(FE_TONEAREST);
        uint32_t g1 = 0, g2 = 0, g3 = 0, g4 = 0, g5 = 0, g6 = 0, g7 = 0;
        uint64_t r1 = rv_f64_from_i64((int64_t)v, rm, &g1), r2 = rv_f64_from_u64(v, rm, &g2);
        uint64_t r3 = rv_f32_from_i64((int64_t)v, rm, &g3), r4 = rv_f32_from_u64(v, rm, &g4);
        uint64_t r5 = rv_f32_from_i32((int32_t)v, rm, &g5), r6 = rv_f32_from_u32((uint32_t)v, rm, &g6);
        uint64_t r7 = rv_f64_to_f32(a, rm, &g7);
        uint64_t h7 = isnan(s5) ? CN32 : fb(s5);
        if (isnan(bd(a)) && !((a >> 51) & 1)) f7 |= NV;   /* host float conversion may not flag sNaN */
        total += 7;
        if (r1 != db(d1) || g1 != f1 || r2 != db(d2) || g2 != f2 || r3 != fb(s1) || g3 != f3 || r4 != fb(s2) ||
            g4 != f4 || r5 != fb(s3) || g5 != f5 || r6 != fb(s4) || g6 != f6 || r7 != h7 || g7 != f7) {
            t_cur_failed = 1;
            if (shown++ < 20)
                printf("  from_int [%s] v=%llx a=%llx: %llx/%x %llx/%x %llx/%x %llx/%x %llx/%x %llx/%x %llx/%x\n",
                       rmname[rm], (unsigned long long)v, (unsigned long long)a, (unsigned long long)r1, g1,
                       (unsigned long long)r2, g2, (unsigned long long)r3, g3, (unsigned long long)r4, g4,
                       (unsigned long long)r5, g5, (unsigned long long)r6, g6, (unsigned long long)r7, g7);
        }
    }
    rv_fpu_force_soft = 0;
    printf("  %ld conversion checks, %d mismatches\n", total, shown);
    TEST_END();
}

/* min/max/compare against a straightforward host-double oracle */
static void test_cmp_vs_host(void)
{
    TEST_BEGIN("fpu_random_minmax_cmp_vs_host");
    int n = iters() * 4, bad = 0;
    for (int i = 0; i < n; i++) {
        uint64_t a = gen(52, 11, ~0ull), b = (rnd64() % 4 == 0) ? a ^ (rnd64() & 1) << 63 : gen(52, 11, a);
        double x = bd(a), y = bd(b);
        int an = isnan(x), bn = isnan(y), sn = (an && !((a >> 51) & 1)) || (bn && !((b >> 51) & 1));
        uint32_t f = 0;
        int eq = rv_f64_eq(a, b, &f);
        if (eq != (x == y) || f != (uint32_t)(sn ? NV : 0)) bad++;
        f = 0;
        int lt = rv_f64_lt(a, b, &f);
        if (lt != (x < y) || f != (uint32_t)(an || bn ? NV : 0)) bad++;
        f = 0;
        int le = rv_f64_le(a, b, &f);
        if (le != (x <= y) || f != (uint32_t)(an || bn ? NV : 0)) bad++;
        f = 0;
        uint64_t mn = rv_f64_min(a, b, &f), mx = rv_f64_max(a, b, &f);
        uint64_t wmn, wmx;
        if (an && bn) wmn = wmx = CN64;
        else if (an) wmn = wmx = b;
        else if (bn) wmn = wmx = a;
        else if (x == y && x == 0) { wmn = (a | b); wmx = (a & b); }
        else { wmn = x < y ? a : b; wmx = x < y ? b : a; }
        if (mn != wmn || mx != wmx || f != (uint32_t)(sn ? NV : 0)) bad++;
        uint32_t cls = rv_f64_classify(a), want;
        int neg = (int)(a >> 63);
        if (an) want = ((a >> 51) & 1) ? 1u << 9 : 1u << 8;
        else if (isinf(x)) want = neg ? 1u : 1u << 7;
        else if (x == 0) want = neg ? 1u << 3 : 1u << 4;
        else if (fpclassify(x) == FP_SUBNORMAL) want = neg ? 1u << 2 : 1u << 5;
        else want = neg ? 1u << 1 : 1u << 6;
        if (cls != want) bad++;
        if (bad && !t_cur_failed) {
            t_cur_failed = 1;
            printf("  first mismatch a=%llx b=%llx\n", (unsigned long long)a, (unsigned long long)b);
        }
    }
    TEST_END();
}

/* Fused multiply-add with the addend near -(a*b) (deep cancellation) or near a*b, mid-range exponents:
 * the region of the MXCSR-free ErrFma path; every mode, fast path against soft-float. */
static void test_fma_cancellation(void)
{
    TEST_BEGIN("fpu_random_fma_cancellation");
    int n = iters() * 10, shown = 0;
    for (int i = 0; i < n; i++) {
        int w = i & 1, rm = (int)(rnd64() % 5), op = (int)(rnd64() % 4);
        uint64_t a, b, c, p;
        uint32_t f = 0;
        int k = (int)(rnd64() % 4);
        if (w) {
            a = (rnd64() & 0x800fffffffffffffull) | (uint64_t)(1023 - 200 + rnd64() % 400) << 52;
            b = (rnd64() & 0x800fffffffffffffull) | (uint64_t)(1023 - 200 + rnd64() % 400) << 52;
            p = rv_f64_mul(a, b, (int)(rnd64() % 4), &f);
            c = k == 0 ? p ^ 1ull << 63 : k == 1 ? (p ^ 1ull << 63) + rnd64() % 64 - 32
              : k == 2 ? (p + ((rnd64() % 2000) << 20)) ^ (rnd64() & 1) << 63
              : (rnd64() & 0x800fffffffffffffull) | (uint64_t)(1023 - 250 + rnd64() % 500) << 52;
        } else {
            a = (rnd64() & 0x807fffffu) | (uint64_t)(127 - 30 + rnd64() % 60) << 23;
            b = (rnd64() & 0x807fffffu) | (uint64_t)(127 - 30 + rnd64() % 60) << 23;
            p = rv_f32_mul((uint32_t)a, (uint32_t)b, (int)(rnd64() % 4), &f);
            c = (uint32_t)(k == 0 ? p ^ 0x80000000u : k == 1 ? (p ^ 0x80000000u) + rnd64() % 64 - 32
              : k == 2 ? (p + ((rnd64() % 200) << 8)) ^ (rnd64() & 1) << 31
              : (rnd64() & 0x807fffffu) | (uint64_t)(127 - 40 + rnd64() % 80) << 23);
        }
        uint32_t f0 = 0, f1 = 0;
        rv_fpu_force_soft = 0;
        uint64_t x0 = w ? run64(OP_MADD + op, a, b, c, rm, &f0) : run32(OP_MADD + op, a, b, c, rm, &f0);
        rv_fpu_force_soft = 1;
        uint64_t x1 = w ? run64(OP_MADD + op, a, b, c, rm, &f1) : run32(OP_MADD + op, a, b, c, rm, &f1);
        rv_fpu_force_soft = 0;
        if (x0 != x1 || f0 != f1) {
            t_cur_failed = 1;
            if (shown++ < 10)
                printf("  f%d %s [%s] a=%llx b=%llx c=%llx: host %llx/%02x soft %llx/%02x\n", w ? 64 : 32,
                       opname[OP_MADD + op], rmname[rm], (unsigned long long)a, (unsigned long long)b,
                       (unsigned long long)c, (unsigned long long)x0, f0, (unsigned long long)x1, f1);
        }
    }
    TEST_END();
}

int main(void)
{
    test_directed_arith();
    test_directed_cmp();
    test_directed_conv();
    test_soft_vs_host();
    test_rmm_oracle();
    test_fma_cancellation();
    test_conv_vs_host();
    test_cmp_vs_host();
    TEST_EXIT();
}
