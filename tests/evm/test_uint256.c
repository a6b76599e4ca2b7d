/* test_uint256.c — src/evm/uint256.h against GMP as the oracle: random and edge-case operands for every
 * operation (arithmetic, signed ops, modular ops, exp, shifts, byte, signextend, comparisons, encoding). */
#include <gmp.h>
#include "../test.h"
#include "evm/uint256.h"

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }

static void to_mpz(mpz_t z, u256 a) { mpz_import(z, 4, -1, 8, 0, 0, a.w); }
static u256 from_mpz(const mpz_t z) {   /* z mod 2^256, z >= 0 */
    mpz_t t; mpz_init(t); mpz_fdiv_r_2exp(t, z, 256);
    u256 r = u256_zero(); size_t cnt = 0;
    mpz_export(r.w, &cnt, -1, 8, 0, 0, t);
    mpz_clear(t); return r;
}
/* signed interpretation */
static void to_mpz_s(mpz_t z, u256 a) {
    to_mpz(z, a);
    if (u256_is_neg(a)) { mpz_t m; mpz_init(m); mpz_ui_pow_ui(m, 2, 256); mpz_sub(z, z, m); mpz_clear(m); }
}

static u256 edge[16];
static int nedge;
static u256 gen(void) {
    uint64_t k = rnd() % 8;
    u256 r;
    if (k < 2) return edge[rnd() % nedge];
    for (int i = 0; i < 4; i++) r.w[i] = rnd();
    if (k == 2) { r.w[3] = 0; r.w[2] = 0; r.w[1] = 0; }               /* one limb */
    else if (k == 3) { r.w[3] = 0; r.w[2] = 0; }                     /* two limbs */
    else if (k == 4) { r.w[3] = 0; }
    else if (k == 5) { unsigned s = (unsigned)(rnd() % 256); r = u256_shr_n(r, s); }
    else if (k == 6) { r.w[rnd() % 4] = ~0ull; r.w[rnd() % 4] = 0; }
    return r;
}

static int fails;
static void report(const char *op, u256 a, u256 b, u256 c, u256 got, u256 want) {
    if (fails++ > 10) return;
    printf("  %s mismatch: a=%016llx%016llx%016llx%016llx b=%016llx%016llx%016llx%016llx c=%016llx.. got=%016llx%016llx%016llx%016llx want=%016llx%016llx%016llx%016llx\n", op,
           (unsigned long long)a.w[3], (unsigned long long)a.w[2], (unsigned long long)a.w[1], (unsigned long long)a.w[0],
           (unsigned long long)b.w[3], (unsigned long long)b.w[2], (unsigned long long)b.w[1], (unsigned long long)b.w[0],
           (unsigned long long)c.w[0],
           (unsigned long long)got.w[3], (unsigned long long)got.w[2], (unsigned long long)got.w[1], (unsigned long long)got.w[0],
           (unsigned long long)want.w[3], (unsigned long long)want.w[2], (unsigned long long)want.w[1], (unsigned long long)want.w[0]);
}
#define EXPECT(op, a, b, c, got, want) do { u256 _g = (got), _w = (want); if (!u256_eq(_g, _w)) { report(#op, a, b, c, _g, _w); CHECK(!#op); } } while (0)

int main(void) {
    edge[nedge++] = u256_zero();
    edge[nedge++] = u256_from_u64(1);
    edge[nedge++] = u256_from_u64(2);
    edge[nedge++] = u256_max();
    edge[nedge++] = u256_sub(u256_max(), u256_from_u64(1));
    u256 minv = {{0, 0, 0, 1ull << 63}}; edge[nedge++] = minv;                    /* -2^255 */
    u256 maxp = {{~0ull, ~0ull, ~0ull, ~0ull >> 1}}; edge[nedge++] = maxp;         /* 2^255-1 */
    edge[nedge++] = u256_from_u64(~0ull);
    u256 two64 = {{0, 1, 0, 0}}; edge[nedge++] = two64;
    edge[nedge++] = u256_from_u64(255);
    edge[nedge++] = u256_from_u64(256);
    edge[nedge++] = u256_from_u64(31);
    edge[nedge++] = u256_from_u64(32);
    u256 hi = {{0, 0, 0, 1}}; edge[nedge++] = hi;

    mpz_t A, B, C, R, M, T;
    mpz_inits(A, B, C, R, M, T, NULL);
    mpz_ui_pow_ui(M, 2, 256);

    TEST_BEGIN("uint256_encoding");
    {
        uint8_t be[32]; for (int i = 0; i < 32; i++) be[i] = (uint8_t)(i + 1);
        u256 x = u256_from_be(be);
        CHECK_EQ_U64(x.w[0], 0x191a1b1c1d1e1f20ull);
        CHECK_EQ_U64(x.w[3], 0x0102030405060708ull);
        uint8_t out[32]; u256_to_be(x, out); CHECK(memcmp(be, out, 32) == 0);
        evm_bytes32 b32 = u256_to_bytes32(x); CHECK(u256_eq(u256_from_bytes32(b32), x));
        CHECK(u256_eq(u256_from_be_n(be, 2), u256_from_u64(0x0102)));
        CHECK(u256_eq(u256_from_be_n(be, 0), u256_zero()));
        evm_address ad = u256_to_address(x); CHECK(ad.bytes[0] == 13 && ad.bytes[19] == 32);
        u256 y = u256_from_address(&ad); CHECK(y.w[3] == 0 && (y.w[2] >> 32) == 0 && y.w[0] == x.w[0]);
        CHECK(u256_fits_u64(u256_from_u64(7)) && !u256_fits_u64(two64));
        CHECK(u256_clz(u256_zero()) == 256 && u256_clz(u256_from_u64(1)) == 255 && u256_clz(minv) == 0);
        CHECK(u256_bit_length(two64) == 65 && u256_byte_length(two64) == 9);
    }
    TEST_END();

    const int N = 200000;
    TEST_BEGIN("uint256_arith_vs_gmp");
    for (int it = 0; it < N && fails < 10; it++) {
        u256 a = gen(), b = gen(), c = gen();
        to_mpz(A, a); to_mpz(B, b); to_mpz(C, c);
        mpz_add(R, A, B); EXPECT(add, a, b, c, u256_add(a, b), from_mpz(R));
        mpz_sub(R, A, B); mpz_mod(R, R, M); EXPECT(sub, a, b, c, u256_sub(a, b), from_mpz(R));
        mpz_mul(R, A, B); EXPECT(mul, a, b, c, u256_mul(a, b), from_mpz(R));
        if (mpz_sgn(B)) {
            mpz_fdiv_q(R, A, B); EXPECT(div, a, b, c, u256_div(a, b), from_mpz(R));
            mpz_fdiv_r(R, A, B); EXPECT(mod, a, b, c, u256_mod(a, b), from_mpz(R));
        } else {
            EXPECT(div0, a, b, c, u256_div(a, b), u256_zero());
            EXPECT(mod0, a, b, c, u256_mod(a, b), u256_zero());
        }
        if (mpz_sgn(C)) {
            mpz_add(R, A, B); mpz_mod(R, R, C); EXPECT(addmod, a, b, c, u256_addmod(a, b, c), from_mpz(R));
            mpz_mul(R, A, B); mpz_mod(R, R, C); EXPECT(mulmod, a, b, c, u256_mulmod(a, b, c), from_mpz(R));
        } else {
            EXPECT(addmod0, a, b, c, u256_addmod(a, b, c), u256_zero());
            EXPECT(mulmod0, a, b, c, u256_mulmod(a, b, c), u256_zero());
        }
        /* signed */
        to_mpz_s(A, a); to_mpz_s(B, b);
        if (mpz_sgn(B)) {
            mpz_tdiv_q(R, A, B); mpz_mod(R, R, M); EXPECT(sdiv, a, b, c, u256_sdiv(a, b), from_mpz(R));
            mpz_tdiv_r(R, A, B); mpz_mod(R, R, M); EXPECT(smod, a, b, c, u256_smod(a, b), from_mpz(R));
        } else {
            EXPECT(sdiv0, a, b, c, u256_sdiv(a, b), u256_zero());
            EXPECT(smod0, a, b, c, u256_smod(a, b), u256_zero());
        }
        CHECK(u256_slt(a, b) == (mpz_cmp(A, B) < 0));
        CHECK(u256_sgt(a, b) == (mpz_cmp(A, B) > 0));
        to_mpz(A, a); to_mpz(B, b);
        CHECK(u256_lt(a, b) == (mpz_cmp(A, B) < 0));
        CHECK(u256_gt(a, b) == (mpz_cmp(A, B) > 0));
        CHECK(u256_eq(a, b) == (mpz_cmp(A, B) == 0));
        CHECK(u256_is_zero(a) == (mpz_sgn(A) == 0));
        /* bitwise */
        mpz_and(R, A, B); EXPECT(and, a, b, c, u256_and(a, b), from_mpz(R));
        mpz_ior(R, A, B); EXPECT(or, a, b, c, u256_or(a, b), from_mpz(R));
        mpz_xor(R, A, B); EXPECT(xor, a, b, c, u256_xor(a, b), from_mpz(R));
        mpz_sub_ui(R, M, 1); mpz_sub(R, R, A); EXPECT(not, a, b, c, u256_not(a), from_mpz(R));
        /* shifts with a small shift amount most of the time */
        u256 sh = (rnd() & 3) ? u256_from_u64(rnd() % 300) : b;
        unsigned long s = u256_fits_u64(sh) ? (unsigned long)(sh.w[0] > 1000 ? 1000 : sh.w[0]) : 1000;
        mpz_mul_2exp(R, A, s); EXPECT(shl, sh, a, c, u256_shl(sh, a), from_mpz(R));
        mpz_fdiv_q_2exp(R, A, s); EXPECT(shr, sh, a, c, u256_shr(sh, a), from_mpz(R));
        to_mpz_s(T, a); mpz_fdiv_q_2exp(R, T, s); mpz_mod(R, R, M); EXPECT(sar, sh, a, c, u256_sar(sh, a), from_mpz(R));
        /* byte */
        u256 bi = (rnd() & 3) ? u256_from_u64(rnd() % 40) : b;
        u256 want = u256_zero();
        if (u256_fits_u64(bi) && bi.w[0] < 32) { mpz_fdiv_q_2exp(R, A, 8 * (31 - bi.w[0])); want = u256_from_u64(mpz_fdiv_ui(R, 256)); }
        EXPECT(byte, bi, a, c, u256_byte(bi, a), want);
        /* signextend */
        u256 se = (rnd() & 3) ? u256_from_u64(rnd() % 40) : b;
        if (u256_fits_u64(se) && se.w[0] < 31) {
            unsigned long bits = 8 * (se.w[0] + 1);
            mpz_fdiv_r_2exp(R, A, bits);
            if (mpz_tstbit(R, bits - 1)) { mpz_ui_pow_ui(T, 2, bits); mpz_sub(R, R, T); mpz_mod(R, R, M); }
            EXPECT(signextend, se, a, c, u256_signextend(se, a), from_mpz(R));
        } else EXPECT(signextend_big, se, a, c, u256_signextend(se, a), a);
        /* exp: exponent mostly small */
        u256 e = (rnd() & 1) ? u256_from_u64(rnd() % 70) : b;
        to_mpz(T, e); mpz_powm(R, A, T, M); EXPECT(exp, a, e, c, u256_exp(a, e), from_mpz(R));
    }
    TEST_END();

    TEST_BEGIN("uint256_edges");
    {
        u256 m1 = u256_max();
        CHECK(u256_eq(u256_sdiv(minv, m1), minv));             /* -2^255 / -1 overflows to itself */
        CHECK(u256_is_zero(u256_smod(minv, m1)));
        CHECK(u256_eq(u256_add(m1, u256_from_u64(1)), u256_zero()));
        CHECK(u256_eq(u256_sub(u256_zero(), u256_from_u64(1)), m1));
        CHECK(u256_eq(u256_sar(u256_from_u64(256), minv), m1));
        CHECK(u256_eq(u256_sar(m1, u256_from_u64(5)), u256_zero()));
        CHECK(u256_eq(u256_sar(u256_from_u64(255), minv), m1));
        CHECK(u256_eq(u256_shl(u256_from_u64(255), u256_from_u64(1)), minv));
        CHECK(u256_is_zero(u256_shl(u256_from_u64(256), u256_from_u64(1))));
        CHECK(u256_eq(u256_exp(u256_from_u64(2), u256_from_u64(255)), minv));
        CHECK(u256_is_zero(u256_exp(u256_from_u64(2), u256_from_u64(256))));
        CHECK(u256_eq(u256_exp(u256_zero(), u256_zero()), u256_from_u64(1)));
        CHECK(u256_eq(u256_mulmod(m1, m1, m1), u256_zero()));
        CHECK(u256_eq(u256_addmod(m1, m1, u256_from_u64(7)), u256_from_u64(2)));   /* 2^257-2 = 2 mod 7 */
        CHECK(u256_eq(u256_byte(u256_from_u64(31), u256_from_u64(0xab)), u256_from_u64(0xab)));
        CHECK(u256_eq(u256_byte(u256_zero(), minv), u256_from_u64(0x80)));
        CHECK(u256_eq(u256_signextend(u256_zero(), u256_from_u64(0xff)), m1));
        CHECK(u256_eq(u256_signextend(u256_zero(), u256_from_u64(0x7f)), u256_from_u64(0x7f)));
        CHECK(u256_slt(minv, u256_zero()) && u256_sgt(u256_from_u64(1), m1));
    }
    TEST_END();
    mpz_clears(A, B, C, R, M, T, NULL);
    TEST_EXIT();
}
