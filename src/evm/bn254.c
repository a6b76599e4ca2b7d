/* bn254.c — alt_bn128 (BN254) for the EVM precompiles: 4x64-bit Montgomery arithmetic in Fp, the
 * tower Fp2 = Fp[u]/(u^2+1), Fp6 = Fp2[v]/(v^3-xi) with xi = 9+u, Fp12 = Fp6[w]/(w^2-v); G1 and the
 * G2 twist (y^2 = x^3 + 3/xi) in Jacobian coordinates; the optimal ate pairing (Miller loop
 * over 6x+2 with the two Frobenius steps, Jacobian T, sparse line products) and the final
 * exponentiation (easy part, then the addition chain in x of Scott et al. with Granger-Scott
 * cyclotomic squarings). Written for this project. */
#include "bn254.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

typedef unsigned __int128 u128;
typedef struct { uint64_t v[4]; } fp;            /* little-endian limbs, Montgomery form, < p */
typedef struct { fp a, b; } fp2;                 /* a + b*u */
typedef struct { fp2 c0, c1, c2; } fp6;          /* c0 + c1*v + c2*v^2 */
typedef struct { fp6 a, b; } fp12;               /* a + b*w */

static const fp P = {{0x3c208c16d87cfd47ULL, 0x97816a916871ca8dULL, 0xb85045b68181585dULL, 0x30644e72e131a029ULL}};
/* r = 0x30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001, the order of G1 and G2 */
static const uint64_t BN_X = 4965661367192848881ULL;    /* the BN parameter x */

static uint64_t INV;          /* -p^-1 mod 2^64 */
static fp R2, ONE, FP_B;       /* R^2 mod p; 1 and 3 in Montgomery form */
static fp2 FP2_ONE, XI, B2;    /* xi = 9+u, B2 = 3/xi */
static fp2 GAMMA[6];           /* xi^(i(p-1)/6) */
static uint64_t PM2[4];        /* p - 2 */
static u128 ATE;               /* 6x + 2 */
static uint64_t SIX_X2[4];     /* 6x^2 (129 bits) */

/* ------------------------------------------------------------------ Fp */

static bool fp_geq_p(const uint64_t v[4])
{
    for (int i = 3; i >= 0; i--) {
        if (v[i] != P.v[i]) return v[i] > P.v[i];
    }
    return true;
}
/* r = t - p if t >= p else t (t < 2p), branch-free */
static inline void fp_reduce_once(fp *r, const uint64_t t[4])
{
    uint64_t d0, d1, d2, d3;
    unsigned char bw = __builtin_sub_overflow(t[0], P.v[0], &d0);
    unsigned char b1 = __builtin_sub_overflow(t[1], P.v[1], &d1);
    b1 |= __builtin_sub_overflow(d1, bw, &d1);
    unsigned char b2 = __builtin_sub_overflow(t[2], P.v[2], &d2);
    b2 |= __builtin_sub_overflow(d2, b1, &d2);
    unsigned char b3 = __builtin_sub_overflow(t[3], P.v[3], &d3);
    b3 |= __builtin_sub_overflow(d3, b2, &d3);
    uint64_t keep = (uint64_t)0 - b3;   /* all ones if t < p */
    r->v[0] = (t[0] & keep) | (d0 & ~keep);
    r->v[1] = (t[1] & keep) | (d1 & ~keep);
    r->v[2] = (t[2] & keep) | (d2 & ~keep);
    r->v[3] = (t[3] & keep) | (d3 & ~keep);
}

static inline void fp_add(fp *r, const fp *a, const fp *b)
{
    /* p < 2^254: a + b < 2^255 never carries out of 4 limbs */
    uint64_t t[4];
    unsigned char c = __builtin_add_overflow(a->v[0], b->v[0], &t[0]);
    unsigned char c1 = __builtin_add_overflow(a->v[1], b->v[1], &t[1]);
    c1 |= __builtin_add_overflow(t[1], c, &t[1]);
    unsigned char c2 = __builtin_add_overflow(a->v[2], b->v[2], &t[2]);
    c2 |= __builtin_add_overflow(t[2], c1, &t[2]);
    t[3] = a->v[3] + b->v[3] + c2;
    fp_reduce_once(r, t);
}
static inline void fp_sub(fp *r, const fp *a, const fp *b)
{
    uint64_t t0, t1, t2, t3;
    unsigned char bw = __builtin_sub_overflow(a->v[0], b->v[0], &t0);
    unsigned char b1 = __builtin_sub_overflow(a->v[1], b->v[1], &t1);
    b1 |= __builtin_sub_overflow(t1, bw, &t1);
    unsigned char b2 = __builtin_sub_overflow(a->v[2], b->v[2], &t2);
    b2 |= __builtin_sub_overflow(t2, b1, &t2);
    unsigned char b3 = __builtin_sub_overflow(a->v[3], b->v[3], &t3);
    b3 |= __builtin_sub_overflow(t3, b2, &t3);
    uint64_t mask = (uint64_t)0 - b3;    /* add p back on borrow */
    unsigned char c = __builtin_add_overflow(t0, P.v[0] & mask, &r->v[0]);
    unsigned char c1 = __builtin_add_overflow(t1, P.v[1] & mask, &t1);
    c1 |= __builtin_add_overflow(t1, c, &r->v[1]);
    unsigned char c2 = __builtin_add_overflow(t2, P.v[2] & mask, &t2);
    c2 |= __builtin_add_overflow(t2, c1, &r->v[2]);
    r->v[3] = t3 + (P.v[3] & mask) + c2;
}
static inline bool fp_is_zero(const fp *a) { return !(a->v[0] | a->v[1] | a->v[2] | a->v[3]); }
static inline bool fp_eq(const fp *a, const fp *b) { return memcmp(a, b, sizeof *a) == 0; }
static inline void fp_neg(fp *r, const fp *a)
{
    fp z = {{0, 0, 0, 0}};
    fp_sub(r, &z, a);
}
/* Montgomery product (CIOS). The top limb of p is below 2^62, so the running value never needs a
 * fifth limb (the "no-carry" variant): a, b < p implies the result before the final subtraction < 2p. */
static void fp_mul_c(fp *r, const fp *a, const fp *b)
{
    uint64_t t0 = 0, t1 = 0, t2 = 0, t3 = 0;
#define FP_MUL_ROUND(bi)                                                               \
    do {                                                                               \
        u128 s = (u128)a->v[0] * (bi) + t0;                                            \
        uint64_t A = (uint64_t)(s >> 64);                                              \
        t0 = (uint64_t)s;                                                              \
        uint64_t m = t0 * INV;                                                         \
        u128 c = (u128)m * P.v[0] + t0;                                                \
        uint64_t C = (uint64_t)(c >> 64);                                              \
        s = (u128)a->v[1] * (bi) + t1 + A; A = (uint64_t)(s >> 64);                    \
        c = (u128)m * P.v[1] + (uint64_t)s + C; t0 = (uint64_t)c; C = (uint64_t)(c >> 64); \
        s = (u128)a->v[2] * (bi) + t2 + A; A = (uint64_t)(s >> 64);                    \
        c = (u128)m * P.v[2] + (uint64_t)s + C; t1 = (uint64_t)c; C = (uint64_t)(c >> 64); \
        s = (u128)a->v[3] * (bi) + t3 + A; A = (uint64_t)(s >> 64);                    \
        c = (u128)m * P.v[3] + (uint64_t)s + C; t2 = (uint64_t)c; C = (uint64_t)(c >> 64); \
        t3 = C + A;                                                                    \
    } while (0)
    FP_MUL_ROUND(b->v[0]);
    FP_MUL_ROUND(b->v[1]);
    FP_MUL_ROUND(b->v[2]);
    FP_MUL_ROUND(b->v[3]);
#undef FP_MUL_ROUND
    uint64_t t[4] = {t0, t1, t2, t3};
    fp_reduce_once(r, t);
}
#if defined(__x86_64__)
#include <cpuid.h>
#define BN_HAVE_ADX_PATH 1
/* The same CIOS product with BMI2/ADX (mulx, two carry chains adcx/adox), used when the CPU has them. */
static void fp_mul_adx(fp *r, const fp *a, const fp *b)
{
    uint64_t t[4];
    __asm__ volatile(
        "xorq %%r8, %%r8\n\t"
        "xorq %%r9, %%r9\n\t"
        "xorq %%r10, %%r10\n\t"
        "xorq %%r11, %%r11\n\t"
        "xorq %%r12, %%r12\n\t"
        "movq 0(%[b]), %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r8\n\t"
        "adcxq %%r14, %%r9\n\t"
        "mulxq 8(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r9\n\t"
        "adcxq %%r14, %%r10\n\t"
        "mulxq 16(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r10\n\t"
        "adcxq %%r14, %%r11\n\t"
        "mulxq 24(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r11\n\t"
        "adcxq %%r14, %%r12\n\t"
        "adoxq %%rax, %%r12\n\t"
        "movq %%r8, %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r8, %%r13\n\t"
        "adcxq %%r14, %%r9\n\t"
        "mulxq 8(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r9\n\t"
        "adcxq %%r14, %%r10\n\t"
        "mulxq 16(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r10\n\t"
        "adcxq %%r14, %%r11\n\t"
        "mulxq 24(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r11\n\t"
        "adcxq %%r14, %%r12\n\t"
        "adoxq %%rax, %%r12\n\t"
        "xorq %%r8, %%r8\n\t"
        "movq 8(%[b]), %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r9\n\t"
        "adcxq %%r14, %%r10\n\t"
        "mulxq 8(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r10\n\t"
        "adcxq %%r14, %%r11\n\t"
        "mulxq 16(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r11\n\t"
        "adcxq %%r14, %%r12\n\t"
        "mulxq 24(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r12\n\t"
        "adcxq %%r14, %%r8\n\t"
        "adoxq %%rax, %%r8\n\t"
        "movq %%r9, %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r9, %%r13\n\t"
        "adcxq %%r14, %%r10\n\t"
        "mulxq 8(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r10\n\t"
        "adcxq %%r14, %%r11\n\t"
        "mulxq 16(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r11\n\t"
        "adcxq %%r14, %%r12\n\t"
        "mulxq 24(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r12\n\t"
        "adcxq %%r14, %%r8\n\t"
        "adoxq %%rax, %%r8\n\t"
        "xorq %%r9, %%r9\n\t"
        "movq 16(%[b]), %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r10\n\t"
        "adcxq %%r14, %%r11\n\t"
        "mulxq 8(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r11\n\t"
        "adcxq %%r14, %%r12\n\t"
        "mulxq 16(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r12\n\t"
        "adcxq %%r14, %%r8\n\t"
        "mulxq 24(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r8\n\t"
        "adcxq %%r14, %%r9\n\t"
        "adoxq %%rax, %%r9\n\t"
        "movq %%r10, %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r10, %%r13\n\t"
        "adcxq %%r14, %%r11\n\t"
        "mulxq 8(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r11\n\t"
        "adcxq %%r14, %%r12\n\t"
        "mulxq 16(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r12\n\t"
        "adcxq %%r14, %%r8\n\t"
        "mulxq 24(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r8\n\t"
        "adcxq %%r14, %%r9\n\t"
        "adoxq %%rax, %%r9\n\t"
        "xorq %%r10, %%r10\n\t"
        "movq 24(%[b]), %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r11\n\t"
        "adcxq %%r14, %%r12\n\t"
        "mulxq 8(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r12\n\t"
        "adcxq %%r14, %%r8\n\t"
        "mulxq 16(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r8\n\t"
        "adcxq %%r14, %%r9\n\t"
        "mulxq 24(%[a]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r9\n\t"
        "adcxq %%r14, %%r10\n\t"
        "adoxq %%rax, %%r10\n\t"
        "movq %%r11, %%rdx\n\t"
        "imulq %[inv], %%rdx\n\t"
        "xorl %%eax, %%eax\n\t"
        "mulxq 0(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r11, %%r13\n\t"
        "adcxq %%r14, %%r12\n\t"
        "mulxq 8(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r12\n\t"
        "adcxq %%r14, %%r8\n\t"
        "mulxq 16(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r8\n\t"
        "adcxq %%r14, %%r9\n\t"
        "mulxq 24(%[p]), %%r13, %%r14\n\t"
        "adoxq %%r13, %%r9\n\t"
        "adcxq %%r14, %%r10\n\t"
        "adoxq %%rax, %%r10\n\t"
        "movq %%r12, 0(%[res])\n\t"
        "movq %%r8, 8(%[res])\n\t"
        "movq %%r9, 16(%[res])\n\t"
        "movq %%r10, 24(%[res])\n\t"
        :
        : [a] "r"(a->v), [b] "r"(b->v), [p] "r"(P.v), [res] "r"(t), [inv] "m"(INV)
        : "rax", "rdx", "r8", "r9", "r10", "r11", "r12", "r13", "r14", "cc", "memory");
    fp_reduce_once(r, t);
}
#endif

static bool g_use_adx;

static inline void fp_mul(fp *r, const fp *a, const fp *b)
{
#ifdef BN_HAVE_ADX_PATH
    if (g_use_adx) { fp_mul_adx(r, a, b); return; }
#endif
    fp_mul_c(r, a, b);
}
static inline void fp_sqr(fp *r, const fp *a) { fp_mul(r, a, a); }
static void fp_pow(fp *r, const fp *a, const uint64_t e[4])
{
    fp acc = ONE;
    for (int i = 255; i >= 0; i--) {
        fp_sqr(&acc, &acc);
        if (e[i / 64] >> (i % 64) & 1) fp_mul(&acc, &acc, a);
    }
    *r = acc;
}
static void fp_inv(fp *r, const fp *a) { fp_pow(r, a, PM2); }

/* plain 4-limb value (< p) -> Montgomery */
static void fp_from_limbs(fp *r, const uint64_t v[4])
{
    fp t;
    memcpy(t.v, v, 32);
    fp_mul(r, &t, &R2);
}
static void fp_from_u64(fp *r, uint64_t x)
{
    uint64_t v[4] = {x, 0, 0, 0};
    fp_from_limbs(r, v);
}
/* 32 big-endian bytes -> Montgomery; false if >= p */
static bool fp_from_bytes(fp *r, const uint8_t b[32])
{
    uint64_t v[4];
    for (int i = 0; i < 4; i++) {
        uint64_t x = 0;
        for (int j = 0; j < 8; j++) x = x << 8 | b[(3 - i) * 8 + j];
        v[i] = x;
    }
    if (fp_geq_p(v)) return false;
    fp_from_limbs(r, v);
    return true;
}
static void fp_to_bytes(uint8_t b[32], const fp *a)
{
    fp one = {{1, 0, 0, 0}}, t;
    fp_mul(&t, a, &one);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 8; j++) b[(3 - i) * 8 + j] = (uint8_t)(t.v[i] >> (56 - 8 * j));
}

/* ------------------------------------------------------------------ Fp2 */

static inline void fp2_add(fp2 *r, const fp2 *x, const fp2 *y) { fp_add(&r->a, &x->a, &y->a); fp_add(&r->b, &x->b, &y->b); }
static inline void fp2_sub(fp2 *r, const fp2 *x, const fp2 *y) { fp_sub(&r->a, &x->a, &y->a); fp_sub(&r->b, &x->b, &y->b); }
static inline void fp2_neg(fp2 *r, const fp2 *x) { fp_neg(&r->a, &x->a); fp_neg(&r->b, &x->b); }
static inline void fp2_conj(fp2 *r, const fp2 *x) { r->a = x->a; fp_neg(&r->b, &x->b); }
static inline bool fp2_is_zero(const fp2 *x) { return fp_is_zero(&x->a) && fp_is_zero(&x->b); }
static inline bool fp2_eq(const fp2 *x, const fp2 *y) { return fp_eq(&x->a, &y->a) && fp_eq(&x->b, &y->b); }
static void fp2_mul(fp2 *r, const fp2 *x, const fp2 *y)
{
    fp t0, t1, s0, s1, c1;
    fp_mul(&t0, &x->a, &y->a);
    fp_mul(&t1, &x->b, &y->b);
    fp_add(&s0, &x->a, &x->b);
    fp_add(&s1, &y->a, &y->b);
    fp_mul(&c1, &s0, &s1);
    fp_sub(&c1, &c1, &t0);
    fp_sub(&c1, &c1, &t1);
    fp_sub(&r->a, &t0, &t1);
    r->b = c1;
}
static void fp2_sqr(fp2 *r, const fp2 *x)
{
    fp s, d, m;
    fp_add(&s, &x->a, &x->b);
    fp_sub(&d, &x->a, &x->b);
    fp_mul(&m, &x->a, &x->b);
    fp_mul(&r->a, &s, &d);
    fp_add(&r->b, &m, &m);
}
static void fp2_inv(fp2 *r, const fp2 *x)
{
    fp n, t;
    fp_sqr(&n, &x->a);
    fp_sqr(&t, &x->b);
    fp_add(&n, &n, &t);
    fp_inv(&n, &n);
    fp_mul(&r->a, &x->a, &n);
    fp_mul(&t, &x->b, &n);
    fp_neg(&r->b, &t);
}
static void fp2_mul_fp(fp2 *r, const fp2 *x, const fp *y) { fp_mul(&r->a, &x->a, y); fp_mul(&r->b, &x->b, y); }
/* r = x * (9 + u) */
static void fp2_mul_xi(fp2 *r, const fp2 *x)
{
    fp a9, b9, t;
    fp_add(&t, &x->a, &x->a); fp_add(&t, &t, &t); fp_add(&t, &t, &t); fp_add(&a9, &t, &x->a);
    fp_add(&t, &x->b, &x->b); fp_add(&t, &t, &t); fp_add(&t, &t, &t); fp_add(&b9, &t, &x->b);
    fp na;
    fp_sub(&na, &a9, &x->b);
    fp_add(&r->b, &x->a, &b9);
    r->a = na;
}
static void fp2_pow(fp2 *r, const fp2 *x, const uint64_t e[4])
{
    fp2 acc = FP2_ONE;
    for (int i = 255; i >= 0; i--) {
        fp2_sqr(&acc, &acc);
        if (e[i / 64] >> (i % 64) & 1) fp2_mul(&acc, &acc, x);
    }
    *r = acc;
}

/* ------------------------------------------------------------------ Fp6 */

static void fp6_add(fp6 *r, const fp6 *x, const fp6 *y)
{
    fp2_add(&r->c0, &x->c0, &y->c0); fp2_add(&r->c1, &x->c1, &y->c1); fp2_add(&r->c2, &x->c2, &y->c2);
}
static void fp6_sub(fp6 *r, const fp6 *x, const fp6 *y)
{
    fp2_sub(&r->c0, &x->c0, &y->c0); fp2_sub(&r->c1, &x->c1, &y->c1); fp2_sub(&r->c2, &x->c2, &y->c2);
}
static void fp6_neg(fp6 *r, const fp6 *x) { fp2_neg(&r->c0, &x->c0); fp2_neg(&r->c1, &x->c1); fp2_neg(&r->c2, &x->c2); }
static void fp6_mul(fp6 *r, const fp6 *x, const fp6 *y)
{
    fp2 t0, t1, t2, s, u, c0, c1, c2;
    fp2_mul(&t0, &x->c0, &y->c0);
    fp2_mul(&t1, &x->c1, &y->c1);
    fp2_mul(&t2, &x->c2, &y->c2);
    fp2_add(&s, &x->c1, &x->c2); fp2_add(&u, &y->c1, &y->c2); fp2_mul(&c0, &s, &u);
    fp2_sub(&c0, &c0, &t1); fp2_sub(&c0, &c0, &t2); fp2_mul_xi(&c0, &c0); fp2_add(&c0, &c0, &t0);
    fp2_add(&s, &x->c0, &x->c1); fp2_add(&u, &y->c0, &y->c1); fp2_mul(&c1, &s, &u);
    fp2_sub(&c1, &c1, &t0); fp2_sub(&c1, &c1, &t1); fp2_mul_xi(&s, &t2); fp2_add(&c1, &c1, &s);
    fp2_add(&s, &x->c0, &x->c2); fp2_add(&u, &y->c0, &y->c2); fp2_mul(&c2, &s, &u);
    fp2_sub(&c2, &c2, &t0); fp2_sub(&c2, &c2, &t2); fp2_add(&c2, &c2, &t1);
    r->c0 = c0; r->c1 = c1; r->c2 = c2;
}
/* r = x * v */
static void fp6_mul_v(fp6 *r, const fp6 *x)
{
    fp2 t;
    fp2_mul_xi(&t, &x->c2);
    r->c2 = x->c1;
    r->c1 = x->c0;
    r->c0 = t;
}
static void fp6_inv(fp6 *r, const fp6 *x)
{
    fp2 A, B, C, t, F;
    fp2_sqr(&A, &x->c0); fp2_mul(&t, &x->c1, &x->c2); fp2_mul_xi(&t, &t); fp2_sub(&A, &A, &t);
    fp2_sqr(&B, &x->c2); fp2_mul_xi(&B, &B); fp2_mul(&t, &x->c0, &x->c1); fp2_sub(&B, &B, &t);
    fp2_sqr(&C, &x->c1); fp2_mul(&t, &x->c0, &x->c2); fp2_sub(&C, &C, &t);
    fp2_mul(&F, &x->c2, &B);
    fp2_mul(&t, &x->c1, &C);
    fp2_add(&F, &F, &t);
    fp2_mul_xi(&F, &F);
    fp2_mul(&t, &x->c0, &A);
    fp2_add(&F, &F, &t);
    fp2_inv(&F, &F);
    fp2_mul(&r->c0, &A, &F);
    fp2_mul(&r->c1, &B, &F);
    fp2_mul(&r->c2, &C, &F);
}

/* ------------------------------------------------------------------ Fp12 */

static void fp12_one(fp12 *r)
{
    memset(r, 0, sizeof *r);
    r->a.c0 = FP2_ONE;
}
static bool fp12_is_one(const fp12 *x)
{
    fp12 one;
    fp12_one(&one);
    return memcmp(x, &one, sizeof one) == 0;
}
static void fp12_mul(fp12 *r, const fp12 *x, const fp12 *y)
{
    fp6 t0, t1, s, u, c1;
    fp6_mul(&t0, &x->a, &y->a);
    fp6_mul(&t1, &x->b, &y->b);
    fp6_add(&s, &x->a, &x->b);
    fp6_add(&u, &y->a, &y->b);
    fp6_mul(&c1, &s, &u);
    fp6_sub(&c1, &c1, &t0);
    fp6_sub(&c1, &c1, &t1);
    fp6_mul_v(&t1, &t1);
    fp6_add(&r->a, &t0, &t1);
    r->b = c1;
}
static void fp12_sqr(fp12 *r, const fp12 *x)
{
    /* (a + bw)^2 = (a+b)(a+vb) - ab - v ab + 2ab w */
    fp6 ab, s, u, vb, vab;
    fp6_mul(&ab, &x->a, &x->b);
    fp6_add(&s, &x->a, &x->b);
    fp6_mul_v(&vb, &x->b);
    fp6_add(&u, &x->a, &vb);
    fp6_mul(&s, &s, &u);
    fp6_sub(&s, &s, &ab);
    fp6_mul_v(&vab, &ab);
    fp6_sub(&r->a, &s, &vab);
    fp6_add(&r->b, &ab, &ab);
}
static void fp12_conj(fp12 *r, const fp12 *x) { r->a = x->a; fp6_neg(&r->b, &x->b); }
static void fp12_inv(fp12 *r, const fp12 *x)
{
    fp6 t0, t1;
    fp6_mul(&t0, &x->a, &x->a);
    fp6_mul(&t1, &x->b, &x->b);
    fp6_mul_v(&t1, &t1);
    fp6_sub(&t0, &t0, &t1);
    fp6_inv(&t0, &t0);
    fp6_mul(&r->a, &x->a, &t0);
    fp6_mul(&t1, &x->b, &t0);
    fp6_neg(&r->b, &t1);
}
/* r = x^p: in the w-basis sum c_i w^i (c_i in Fp2), x^p = sum conj(c_i) * xi^(i(p-1)/6) w^i */
static void fp12_frob(fp12 *r, const fp12 *x)
{
    fp2 c[6] = {x->a.c0, x->b.c0, x->a.c1, x->b.c1, x->a.c2, x->b.c2};
    for (int i = 0; i < 6; i++) {
        fp2_conj(&c[i], &c[i]);
        if (i) fp2_mul(&c[i], &c[i], &GAMMA[i]);
    }
    r->a.c0 = c[0]; r->b.c0 = c[1]; r->a.c1 = c[2]; r->b.c1 = c[3]; r->a.c2 = c[4]; r->b.c2 = c[5];
}

/* ------------------------------------------------------------------ constants */

static pthread_once_t init_once = PTHREAD_ONCE_INIT;

static void limbs_div_small(uint64_t q[4], const uint64_t a[4], uint64_t d)
{
    u128 rem = 0;
    for (int i = 3; i >= 0; i--) {
        u128 cur = rem << 64 | a[i];
        q[i] = (uint64_t)(cur / d);
        rem = cur % d;
    }
}

static void init_consts(void)
{
    uint64_t x = 1;
    for (int i = 0; i < 7; i++) x *= 2 - P.v[0] * x;
    INV = (uint64_t)0 - x;
#ifdef BN_HAVE_ADX_PATH
    {
        unsigned ea, eb, ec, ed;   /* CPUID leaf 7: EBX bit 8 = BMI2, bit 19 = ADX */
        g_use_adx = __get_cpuid_count(7, 0, &ea, &eb, &ec, &ed) && (eb >> 8 & 1) && (eb >> 19 & 1) &&
                    !getenv("VMKIT_BN254_NO_ADX");
    }
#endif
    /* R^2 mod p by doubling 1 512 times (plain arithmetic, fp_add needs no Montgomery) */
    fp t = {{1, 0, 0, 0}};
    for (int i = 0; i < 512; i++) fp_add(&t, &t, &t);
    R2 = t;
    fp_from_u64(&ONE, 1);
    fp_from_u64(&FP_B, 3);
    memcpy(PM2, P.v, 32);
    PM2[0] -= 2;
    memset(&FP2_ONE, 0, sizeof FP2_ONE);
    FP2_ONE.a = ONE;
    fp_from_u64(&XI.a, 9);
    XI.b = ONE;
    fp2 xinv, three = {FP_B, {{0, 0, 0, 0}}};
    fp2_inv(&xinv, &XI);
    fp2_mul(&B2, &three, &xinv);
    uint64_t pm1[4], e[4];
    memcpy(pm1, P.v, 32);
    pm1[0] -= 1;
    limbs_div_small(e, pm1, 6);
    GAMMA[0] = FP2_ONE;
    fp2_pow(&GAMMA[1], &XI, e);
    for (int i = 2; i < 6; i++) fp2_mul(&GAMMA[i], &GAMMA[i - 1], &GAMMA[1]);
    ATE = (u128)BN_X * 6 + 2;
    {
        u128 x2 = (u128)BN_X * BN_X;            /* < 2^126 */
        u128 lo = (u128)(uint64_t)x2 * 6, hi = (x2 >> 64) * 6 + (lo >> 64);
        SIX_X2[0] = (uint64_t)lo;
        SIX_X2[1] = (uint64_t)hi;
        SIX_X2[2] = (uint64_t)(hi >> 64);
        SIX_X2[3] = 0;
    }
}
static void ensure_init(void) { pthread_once(&init_once, init_consts); }

/* ------------------------------------------------------------------ curve points (Jacobian) */

typedef struct { fp x, y, z; } g1;      /* z == 0: infinity */
typedef struct { fp2 x, y, z; } g2;

/* The same Jacobian formulas (a = 0) over Fp and Fp2. */
#define DEFINE_JAC(G, F)                                                                             \
    static void G##_dbl(G *r, const G *p)                                                            \
    {                                                                                                \
        if (F##_is_zero(&p->z)) { *r = *p; return; }                                                 \
        F A, B, C, D, E, Fq, t, x3, y3, z3;                                                          \
        F##_sqr(&A, &p->x);                                                                          \
        F##_sqr(&B, &p->y);                                                                          \
        F##_sqr(&C, &B);                                                                             \
        F##_add(&t, &p->x, &B); F##_sqr(&t, &t); F##_sub(&t, &t, &A); F##_sub(&t, &t, &C);           \
        F##_add(&D, &t, &t);                                                                         \
        F##_add(&E, &A, &A); F##_add(&E, &E, &A);                                                    \
        F##_sqr(&Fq, &E);                                                                            \
        F##_add(&t, &D, &D); F##_sub(&x3, &Fq, &t);                                                  \
        F##_sub(&t, &D, &x3); F##_mul(&y3, &E, &t);                                                  \
        F##_add(&C, &C, &C); F##_add(&C, &C, &C); F##_add(&C, &C, &C); F##_sub(&y3, &y3, &C);        \
        F##_mul(&z3, &p->y, &p->z); F##_add(&z3, &z3, &z3);                                          \
        r->x = x3; r->y = y3; r->z = z3;                                                             \
    }                                                                                                \
    static void G##_add(G *r, const G *p, const G *q)                                                \
    {                                                                                                \
        if (F##_is_zero(&p->z)) { *r = *q; return; }                                                 \
        if (F##_is_zero(&q->z)) { *r = *p; return; }                                                 \
        F z1z1, z2z2, u1, u2, s1, s2, h, i, j, rr, v, t, x3, y3, z3;                                 \
        F##_sqr(&z1z1, &p->z);                                                                       \
        F##_sqr(&z2z2, &q->z);                                                                       \
        F##_mul(&u1, &p->x, &z2z2);                                                                  \
        F##_mul(&u2, &q->x, &z1z1);                                                                  \
        F##_mul(&s1, &p->y, &q->z); F##_mul(&s1, &s1, &z2z2);                                        \
        F##_mul(&s2, &q->y, &p->z); F##_mul(&s2, &s2, &z1z1);                                        \
        if (F##_eq(&u1, &u2)) {                                                                      \
            if (F##_eq(&s1, &s2)) { G##_dbl(r, p); return; }                                         \
            memset(r, 0, sizeof *r); return;                                                         \
        }                                                                                            \
        F##_sub(&h, &u2, &u1);                                                                       \
        F##_add(&i, &h, &h); F##_sqr(&i, &i);                                                        \
        F##_mul(&j, &h, &i);                                                                         \
        F##_sub(&rr, &s2, &s1); F##_add(&rr, &rr, &rr);                                              \
        F##_mul(&v, &u1, &i);                                                                        \
        F##_sqr(&x3, &rr); F##_sub(&x3, &x3, &j); F##_sub(&x3, &x3, &v); F##_sub(&x3, &x3, &v);      \
        F##_sub(&t, &v, &x3); F##_mul(&y3, &rr, &t);                                                 \
        F##_mul(&t, &s1, &j); F##_add(&t, &t, &t); F##_sub(&y3, &y3, &t);                            \
        F##_add(&z3, &p->z, &q->z); F##_sqr(&z3, &z3); F##_sub(&z3, &z3, &z1z1);                     \
        F##_sub(&z3, &z3, &z2z2); F##_mul(&z3, &z3, &h);                                             \
        r->x = x3; r->y = y3; r->z = z3;                                                             \
    }                                                                                                \
    /* r = s * p, s given as 4 little-endian limbs: fixed 4-bit windows over a table of 0..15 p */ \
    static void G##_mul(G *r, const G *p, const uint64_t s[4])                                       \
    {                                                                                                \
        G tab[16], acc;                                                                              \
        memset(&tab[0], 0, sizeof tab[0]);                                                           \
        tab[1] = *p;                                                                                 \
        for (int k = 2; k < 16; k++) {                                                               \
            if (k & 1) G##_add(&tab[k], &tab[k - 1], p);                                             \
            else G##_dbl(&tab[k], &tab[k / 2]);                                                      \
        }                                                                                            \
        memset(&acc, 0, sizeof acc);                                                                 \
        for (int k = 63; k >= 0; k--) {                                                              \
            G##_dbl(&acc, &acc); G##_dbl(&acc, &acc); G##_dbl(&acc, &acc); G##_dbl(&acc, &acc);      \
            unsigned nib = (unsigned)(s[k / 16] >> (4 * (k % 16)) & 15);                             \
            if (nib) G##_add(&acc, &acc, &tab[nib]);                                                 \
        }                                                                                            \
        *r = acc;                                                                                    \
    }

DEFINE_JAC(g1, fp)
DEFINE_JAC(g2, fp2)

/* Decodes a G1 point (x||y); (0,0) is infinity. Validates range and curve. */
static bool g1_decode(g1 *r, const uint8_t in[64])
{
    fp x, y;
    if (!fp_from_bytes(&x, in) || !fp_from_bytes(&y, in + 32)) return false;
    if (fp_is_zero(&x) && fp_is_zero(&y)) { memset(r, 0, sizeof *r); return true; }
    fp l, rh;
    fp_sqr(&l, &y);
    fp_sqr(&rh, &x);
    fp_mul(&rh, &rh, &x);
    fp_add(&rh, &rh, &FP_B);
    if (!fp_eq(&l, &rh)) return false;
    r->x = x; r->y = y; r->z = ONE;
    return true;
}
static void g1_encode(uint8_t out[64], const g1 *p)
{
    if (fp_is_zero(&p->z)) { memset(out, 0, 64); return; }
    fp zi, zi2, t;
    fp_inv(&zi, &p->z);
    fp_sqr(&zi2, &zi);
    fp_mul(&t, &p->x, &zi2);
    fp_to_bytes(out, &t);
    fp_mul(&zi2, &zi2, &zi);
    fp_mul(&t, &p->y, &zi2);
    fp_to_bytes(out + 32, &t);
}
/* psi(Q) = (conj(x) xi^((p-1)/3), conj(y) xi^((p-1)/2)): the p-power Frobenius seen on the twist */
static void g2_psi(g2 *r, const g2 *q)
{
    /* on Jacobian coordinates: x = X/Z^2, y = Y/Z^3, and conj is a field automorphism */
    fp2_conj(&r->x, &q->x); fp2_mul(&r->x, &r->x, &GAMMA[2]);
    fp2_conj(&r->y, &q->y); fp2_mul(&r->y, &r->y, &GAMMA[3]);
    fp2_conj(&r->z, &q->z);
}

/* Q (affine, on the twist) is in the order-r subgroup G2 iff psi(Q) == [6x^2]Q. Proof sketch: psi
 * satisfies psi^2 - t psi + p = 0 with t = 6x^2 + 1; if psi(Q) = [l]Q with l = 6x^2 then
 * [l^2 - t l + p]Q = [p - 6x^2]Q = [r]Q = 0, so Q has order r (E'(Fp2)[r] is cyclic: r^2 does not
 * divide the twist order); conversely psi acts as [p] = [6x^2 mod r] on G2. Half the work of [r]Q. */
static bool g2_in_subgroup(const g2 *q)
{
    g2 a, b;
    g2_mul(&a, q, SIX_X2);
    g2_psi(&b, q);
    /* compare Jacobian points: X1 Z2^2 == X2 Z1^2 and Y1 Z2^3 == Y2 Z1^3 (both finite here unless a = O) */
    if (fp2_is_zero(&a.z) || fp2_is_zero(&b.z)) return fp2_is_zero(&a.z) && fp2_is_zero(&b.z);
    fp2 za2, zb2, t1, t2;
    fp2_sqr(&za2, &a.z);
    fp2_sqr(&zb2, &b.z);
    fp2_mul(&t1, &a.x, &zb2);
    fp2_mul(&t2, &b.x, &za2);
    if (!fp2_eq(&t1, &t2)) return false;
    fp2_mul(&zb2, &zb2, &b.z);
    fp2_mul(&za2, &za2, &a.z);
    fp2_mul(&t1, &a.y, &zb2);
    fp2_mul(&t2, &b.y, &za2);
    return fp2_eq(&t1, &t2);
}

/* Decodes a G2 point (x_im||x_re||y_im||y_re); all-zero is infinity. Validates range, twist curve and
 * membership in the order-r subgroup. Affine result (z = 1, or z = 0 for infinity). */
static bool g2_decode(g2 *r, const uint8_t in[128])
{
    fp2 x, y;
    if (!fp_from_bytes(&x.b, in) || !fp_from_bytes(&x.a, in + 32) || !fp_from_bytes(&y.b, in + 64) ||
        !fp_from_bytes(&y.a, in + 96))
        return false;
    if (fp2_is_zero(&x) && fp2_is_zero(&y)) { memset(r, 0, sizeof *r); return true; }
    fp2 l, rh;
    fp2_sqr(&l, &y);
    fp2_sqr(&rh, &x);
    fp2_mul(&rh, &rh, &x);
    fp2_add(&rh, &rh, &B2);
    if (!fp2_eq(&l, &rh)) return false;
    r->x = x; r->y = y; r->z = FP2_ONE;
    return g2_in_subgroup(r);
}

int bn254_g1_add(const uint8_t a[64], const uint8_t b[64], uint8_t out[64])
{
    ensure_init();
    g1 p, q, r;
    if (!g1_decode(&p, a) || !g1_decode(&q, b)) return -1;
    g1_add(&r, &p, &q);
    g1_encode(out, &r);
    return 0;
}

int bn254_g1_mul(const uint8_t a[64], const uint8_t s[32], uint8_t out[64])
{
    ensure_init();
    g1 p, r;
    if (!g1_decode(&p, a)) return -1;
    uint64_t k[4];
    for (int i = 0; i < 4; i++) {
        uint64_t x = 0;
        for (int j = 0; j < 8; j++) x = x << 8 | s[(3 - i) * 8 + j];
        k[i] = x;
    }
    g1_mul(&r, &p, k);
    g1_encode(out, &r);
    return 0;
}

/* ------------------------------------------------------------------ pairing */

typedef struct {
    fp xp, yp;          /* G1 point (affine) */
    fp2 qx, qy;         /* G2 point (affine) */
    g2 t;               /* running T (Jacobian) */
    bool tinf;
} pair_state;

/* (x0 + x1 v + x2 v^2) * (b0 + b1 v) */
static void fp6_mul_01(fp6 *r, const fp6 *x, const fp2 *b0, const fp2 *b1)
{
    fp2 t, c0, c1, c2;
    fp2_mul(&c0, &x->c0, b0);
    fp2_mul(&t, &x->c2, b1);
    fp2_mul_xi(&t, &t);
    fp2_add(&c0, &c0, &t);
    fp2_mul(&c1, &x->c0, b1);
    fp2_mul(&t, &x->c1, b0);
    fp2_add(&c1, &c1, &t);
    fp2_mul(&c2, &x->c1, b1);
    fp2_mul(&t, &x->c2, b0);
    fp2_add(&c2, &c2, &t);
    r->c0 = c0; r->c1 = c1; r->c2 = c2;
}

/* f *= l0 + l1*w + l3*w^3 (a line; in the tower: a = (l0,0,0), b = (l1,l3,0)) */
static void mul_line(fp12 *f, const fp2 *l0, const fp2 *l1, const fp2 *l3)
{
    fp6 t0, t1, s;
    fp2_mul(&t0.c0, &f->a.c0, l0);
    fp2_mul(&t0.c1, &f->a.c1, l0);
    fp2_mul(&t0.c2, &f->a.c2, l0);
    fp6_mul_01(&t1, &f->b, l1, l3);
    fp2 m0;
    fp2_add(&m0, l0, l1);
    fp6_add(&s, &f->a, &f->b);
    fp6_mul_01(&s, &s, &m0, l3);
    fp6_sub(&s, &s, &t0);
    fp6_sub(&f->b, &s, &t1);
    fp6_mul_v(&t1, &t1);
    fp6_add(&f->a, &t0, &t1);
}

/* T = 2T; f *= tangent at T evaluated at P. With T = (X/Z^2, Y/Z^3) and slope 3X^2/(2YZ), the line
 * yP - lambda*xP*w + (lambda*xT - yT)*w^3 scaled by 2YZ^3 (an Fp2 factor, removed by the final
 * exponentiation) is 2YZ^3*yP - 3X^2 Z^2 xP w + (3X^3 - 2Y^2) w^3. */
static void step_double(fp12 *f, pair_state *s)
{
    if (s->tinf) return;
    g2 *t = &s->t;
    if (fp2_is_zero(&t->y)) { s->tinf = true; return; }   /* vertical tangent: factor in a subfield */
    fp2 a3, z2, l0, l1, l3, u;
    fp2_sqr(&a3, &t->x);
    fp2_add(&u, &a3, &a3);
    fp2_add(&a3, &a3, &u);              /* 3X^2 */
    fp2_sqr(&z2, &t->z);
    fp2_mul(&l0, &t->y, &t->z);
    fp2_mul(&l0, &l0, &z2);
    fp2_add(&l0, &l0, &l0);
    fp2_mul_fp(&l0, &l0, &s->yp);
    fp2_mul(&l1, &a3, &z2);
    fp2_mul_fp(&l1, &l1, &s->xp);
    fp2_neg(&l1, &l1);
    fp2_mul(&l3, &a3, &t->x);
    fp2_sqr(&u, &t->y);
    fp2_add(&u, &u, &u);
    fp2_sub(&l3, &l3, &u);
    mul_line(f, &l0, &l1, &l3);
    g2_dbl(t, t);
}

/* T = T + Q (Q affine); f *= line through T and Q at P. With H = xQ Z^2 - X, R = yQ Z^3 - Y the
 * slope is R/(ZH); the line through Q scaled by ZH is ZH*yP - R*xP w + (R xQ - yQ ZH) w^3. */
static void step_add(fp12 *f, pair_state *s, const fp2 *qx, const fp2 *qy)
{
    g2 q = {*qx, *qy, FP2_ONE};
    if (s->tinf) { s->t = q; s->tinf = false; return; }
    g2 *t = &s->t;
    fp2 z2, z3, h, r, zh, l0, l1, l3, u;
    fp2_sqr(&z2, &t->z);
    fp2_mul(&z3, &z2, &t->z);
    fp2_mul(&h, qx, &z2);
    fp2_sub(&h, &h, &t->x);
    fp2_mul(&r, qy, &z3);
    fp2_sub(&r, &r, &t->y);
    if (fp2_is_zero(&h)) {
        if (fp2_is_zero(&r)) { step_double(f, s); return; }
        s->tinf = true;     /* T = -Q: vertical line, removed by the final exponentiation */
        return;
    }
    fp2_mul(&zh, &t->z, &h);
    fp2_mul_fp(&l0, &zh, &s->yp);
    fp2_mul_fp(&l1, &r, &s->xp);
    fp2_neg(&l1, &l1);
    fp2_mul(&l3, &r, qx);
    fp2_mul(&u, qy, &zh);
    fp2_sub(&l3, &l3, &u);
    mul_line(f, &l0, &l1, &l3);
    g2_add(t, t, &q);
}

/* Squaring of an element of the cyclotomic subgroup (after the easy part of the final exponentiation),
 * Granger-Scott: 6 Fp2 squarings instead of a full Fp12 squaring. */
static void fp12_cyclo_sqr(fp12 *z, const fp12 *x)
{
    fp2 t0, t1, t2, t3, t4, t5, t6, t7, t8, u;
    fp2_sqr(&t0, &x->b.c1);
    fp2_sqr(&t1, &x->a.c0);
    fp2_add(&t6, &x->b.c1, &x->a.c0); fp2_sqr(&t6, &t6); fp2_sub(&t6, &t6, &t0); fp2_sub(&t6, &t6, &t1);
    fp2_sqr(&t2, &x->a.c2);
    fp2_sqr(&t3, &x->b.c0);
    fp2_add(&t7, &x->a.c2, &x->b.c0); fp2_sqr(&t7, &t7); fp2_sub(&t7, &t7, &t2); fp2_sub(&t7, &t7, &t3);
    fp2_sqr(&t4, &x->b.c2);
    fp2_sqr(&t5, &x->a.c1);
    fp2_add(&t8, &x->b.c2, &x->a.c1); fp2_sqr(&t8, &t8); fp2_sub(&t8, &t8, &t4); fp2_sub(&t8, &t8, &t5);
    fp2_mul_xi(&t8, &t8);
    fp2_mul_xi(&t0, &t0); fp2_add(&t0, &t0, &t1);
    fp2_mul_xi(&t2, &t2); fp2_add(&t2, &t2, &t3);
    fp2_mul_xi(&t4, &t4); fp2_add(&t4, &t4, &t5);
    fp12 r;
    fp2_sub(&u, &t0, &x->a.c0); fp2_add(&u, &u, &u); fp2_add(&r.a.c0, &u, &t0);
    fp2_sub(&u, &t2, &x->a.c1); fp2_add(&u, &u, &u); fp2_add(&r.a.c1, &u, &t2);
    fp2_sub(&u, &t4, &x->a.c2); fp2_add(&u, &u, &u); fp2_add(&r.a.c2, &u, &t4);
    fp2_add(&u, &t8, &x->b.c0); fp2_add(&u, &u, &u); fp2_add(&r.b.c0, &u, &t8);
    fp2_add(&u, &t6, &x->b.c1); fp2_add(&u, &u, &u); fp2_add(&r.b.c1, &u, &t6);
    fp2_add(&u, &t7, &x->b.c2); fp2_add(&u, &u, &u); fp2_add(&r.b.c2, &u, &t7);
    *z = r;
}

/* r = x^BN_X for x in the cyclotomic subgroup */
static void fp12_pow_x(fp12 *r, const fp12 *x)
{
    fp12 acc = *x;
    for (int i = 61; i >= 0; i--) {      /* BN_X has 63 bits; the top one is acc = x */
        fp12_cyclo_sqr(&acc, &acc);
        if (BN_X >> i & 1) fp12_mul(&acc, &acc, x);
    }
    *r = acc;
}

/* Hard part f^((p^4-p^2+1)/r) with the addition chain of Scott et al. (2009) in x, f^p, f^p^2, f^p^3. */
static void hard_part_chain(fp12 *r, const fp12 *f)
{
    fp12 fp1, fp2_, fp3, fx, fx2, fx3, fxp, fx2p, fx3p, fx2p2, y0, y1, y2, y3, y4, y5, y6, t0, t1;
    fp12_frob(&fp1, f);
    fp12_frob(&fp2_, &fp1);
    fp12_frob(&fp3, &fp2_);
    fp12_pow_x(&fx, f);
    fp12_pow_x(&fx2, &fx);
    fp12_pow_x(&fx3, &fx2);
    fp12_frob(&fxp, &fx);
    fp12_frob(&fx2p, &fx2);
    fp12_frob(&fx3p, &fx3);
    fp12_frob(&fx2p2, &fx2p);
    fp12_mul(&y0, &fp1, &fp2_);
    fp12_mul(&y0, &y0, &fp3);
    fp12_conj(&y1, f);
    y2 = fx2p2;
    fp12_conj(&y3, &fxp);
    fp12_mul(&y4, &fx, &fx2p);
    fp12_conj(&y4, &y4);
    fp12_conj(&y5, &fx2);
    fp12_mul(&y6, &fx3, &fx3p);
    fp12_conj(&y6, &y6);
    fp12_cyclo_sqr(&t0, &y6);
    fp12_mul(&t0, &t0, &y4);
    fp12_mul(&t0, &t0, &y5);
    fp12_mul(&t1, &y3, &y5);
    fp12_mul(&t1, &t1, &t0);
    fp12_mul(&t0, &t0, &y2);
    fp12_cyclo_sqr(&t1, &t1);
    fp12_mul(&t1, &t1, &t0);
    fp12_cyclo_sqr(&t1, &t1);
    fp12_mul(&t0, &t1, &y1);
    fp12_mul(&t1, &t1, &y0);
    fp12_cyclo_sqr(&t0, &t0);
    fp12_mul(r, &t1, &t0);
}

/* f^((p^12-1)/r): easy part f^((p^6-1)(p^2+1)), then the hard part by the addition chain. */
static void final_exp(fp12 *r, const fp12 *f)
{
    fp12 t, inv, t2;
    fp12_conj(&t, f);
    fp12_inv(&inv, f);
    fp12_mul(&t, &t, &inv);              /* f^(p^6 - 1) */
    fp12_frob(&t2, &t);
    fp12_frob(&t2, &t2);
    fp12_mul(&t, &t2, &t);               /* ^(p^2 + 1) */
    hard_part_chain(r, &t);
}

int bn254_pairing_check(const uint8_t *in, size_t k)
{
    ensure_init();
    if (k == 0) return 1;
    /* decode and validate every pair first; pairs with an infinity contribute 1 */
    size_t n = 0;
    pair_state stack_buf[8];
    pair_state *st = stack_buf;
    if (k > 8) {
        st = calloc(k, sizeof *st);
        if (!st) return -1;
    }
    int ret = -1;
    for (size_t i = 0; i < k; i++) {
        g1 p;
        g2 q;
        if (!g1_decode(&p, in + 192 * i) || !g2_decode(&q, in + 192 * i + 64)) goto out;
        if (fp_is_zero(&p.z) || fp2_is_zero(&q.z)) continue;
        pair_state *s = &st[n++];
        s->xp = p.x; s->yp = p.y;
        s->qx = q.x; s->qy = q.y;
        s->t = q;
        s->tinf = false;
    }
    fp12 f;
    fp12_one(&f);
    if (n) {
        int top = 127;
        while (!(ATE >> top & 1)) top--;
        for (int b = top - 1; b >= 0; b--) {
            fp12_sqr(&f, &f);
            for (size_t i = 0; i < n; i++) {
                step_double(&f, &st[i]);
                if (ATE >> b & 1) step_add(&f, &st[i], &st[i].qx, &st[i].qy);
            }
        }
        for (size_t i = 0; i < n; i++) {
            pair_state *s = &st[i];
            /* Q1 = pi(Q), Q2 = pi^2(Q); add Q1 then -Q2 */
            fp2 q1x, q1y, q2x, q2y;
            fp2_conj(&q1x, &s->qx); fp2_mul(&q1x, &q1x, &GAMMA[2]);
            fp2_conj(&q1y, &s->qy); fp2_mul(&q1y, &q1y, &GAMMA[3]);
            fp2_conj(&q2x, &q1x); fp2_mul(&q2x, &q2x, &GAMMA[2]);
            fp2_conj(&q2y, &q1y); fp2_mul(&q2y, &q2y, &GAMMA[3]);
            fp2_neg(&q2y, &q2y);
            step_add(&f, s, &q1x, &q1y);
            step_add(&f, s, &q2x, &q2y);
        }
        final_exp(&f, &f);
    }
    ret = fp12_is_one(&f) ? 1 : 0;
out:
    if (st != stack_buf) free(st);
    return ret;
}
