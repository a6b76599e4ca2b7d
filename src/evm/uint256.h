/* uint256.h — header-only 256-bit unsigned/two's-complement arithmetic for the EVM (interpreter, host,
 * precompiles). Four uint64_t limbs, little-endian (w[0] is the least significant). No allocation.
 * Division is Knuth's algorithm D on 64-bit limbs (with unsigned __int128 for the 128/64 steps) and a
 * fast path for single-limb divisors. All EVM corner cases follow the Yellow Paper: x/0 = 0, x%0 = 0,
 * SDIV(-2^255, -1) = -2^255, shifts >= 256 give 0 (SAR: 0 or all ones). */
#ifndef VMK_UINT256_H
#define VMK_UINT256_H
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "evm.h"

typedef struct { uint64_t w[4]; } u256;
typedef unsigned __int128 u256__u128;

#define U256_INLINE static inline __attribute__((always_inline, unused))

U256_INLINE u256 u256_zero(void) { u256 r = {{0, 0, 0, 0}}; return r; }
U256_INLINE u256 u256_from_u64(uint64_t x) { u256 r = {{x, 0, 0, 0}}; return r; }
U256_INLINE u256 u256_max(void) { u256 r = {{~0ull, ~0ull, ~0ull, ~0ull}}; return r; }

static inline uint64_t u256__load_be64(const uint8_t *p) {
    uint64_t x; memcpy(&x, p, 8); return __builtin_bswap64(x);
}
static inline void u256__store_be64(uint8_t *p, uint64_t x) {
    x = __builtin_bswap64(x); memcpy(p, &x, 8);
}
U256_INLINE u256 u256_from_be(const uint8_t b[32]) {
    u256 r;
    r.w[3] = u256__load_be64(b); r.w[2] = u256__load_be64(b + 8);
    r.w[1] = u256__load_be64(b + 16); r.w[0] = u256__load_be64(b + 24);
    return r;
}
U256_INLINE void u256_to_be(u256 a, uint8_t b[32]) {
    u256__store_be64(b, a.w[3]); u256__store_be64(b + 8, a.w[2]);
    u256__store_be64(b + 16, a.w[1]); u256__store_be64(b + 24, a.w[0]);
}
/* Loads n (0..32) big-endian bytes as a number (PUSHn, short inputs). */
U256_INLINE u256 u256_from_be_n(const uint8_t *b, unsigned n) {
    uint8_t buf[32] = {0};
    if (n > 32) n = 32;
    memcpy(buf + 32 - n, b, n);
    return u256_from_be(buf);
}
/* Loads n (1..32) big-endian bytes from p; reads up to 8 bytes past p+n-1 rounded (caller pads):
 * used by PUSHn on zero-padded code. */
U256_INLINE u256 u256_load_push(const uint8_t *p, unsigned n) {
    u256 r = {{0, 0, 0, 0}};
    unsigned m = n % 8, full = n / 8;
    if (m) { r.w[full] = u256__load_be64(p) >> (64 - 8 * m); p += m; }
    for (int i = (int)full - 1; i >= 0; i--) { r.w[i] = u256__load_be64(p); p += 8; }
    return r;
}
U256_INLINE u256 u256_from_bytes32(evm_bytes32 b) { return u256_from_be(b.bytes); }
U256_INLINE evm_bytes32 u256_to_bytes32(u256 a) { evm_bytes32 b; u256_to_be(a, b.bytes); return b; }
/* Address <-> number: the address is the low 160 bits. */
U256_INLINE evm_address u256_to_address(u256 a) {
    uint8_t b[32]; evm_address r; u256_to_be(a, b); memcpy(r.bytes, b + 12, 20); return r;
}
U256_INLINE u256 u256_from_address(const evm_address *a) {
    uint8_t b[32] = {0}; memcpy(b + 12, a->bytes, 20); return u256_from_be(b);
}

U256_INLINE bool u256_is_zero(u256 a) { return (a.w[0] | a.w[1] | a.w[2] | a.w[3]) == 0; }
U256_INLINE bool u256_eq(u256 a, u256 b) {
    return ((a.w[0] ^ b.w[0]) | (a.w[1] ^ b.w[1]) | (a.w[2] ^ b.w[2]) | (a.w[3] ^ b.w[3])) == 0;
}
U256_INLINE bool u256_lt(u256 a, u256 b) {
    /* borrow out of a - b */
#if defined(__x86_64__)
    uint64_t a0 = a.w[0], a1 = a.w[1], a2 = a.w[2], a3 = a.w[3];
    uint8_t c;
    __asm__("subq %[b0], %[a0]\n\tsbbq %[b1], %[a1]\n\tsbbq %[b2], %[a2]\n\tsbbq %[b3], %[a3]\n\tsetc %[c]"
            : [a0] "+&r"(a0), [a1] "+&r"(a1), [a2] "+&r"(a2), [a3] "+&r"(a3), [c] "=r"(c)
            : [b0] "rm"(b.w[0]), [b1] "rm"(b.w[1]), [b2] "rm"(b.w[2]), [b3] "rm"(b.w[3]) : "cc");
    return c;
#else
    u256__u128 t = (u256__u128)a.w[0] - b.w[0];
    t = (u256__u128)a.w[1] - b.w[1] - (uint64_t)((t >> 64) & 1);
    t = (u256__u128)a.w[2] - b.w[2] - (uint64_t)((t >> 64) & 1);
    t = (u256__u128)a.w[3] - b.w[3] - (uint64_t)((t >> 64) & 1);
    return (t >> 64) & 1;
#endif
}
U256_INLINE bool u256_gt(u256 a, u256 b) { return u256_lt(b, a); }
U256_INLINE bool u256_le(u256 a, u256 b) { return !u256_lt(b, a); }
U256_INLINE bool u256_ge(u256 a, u256 b) { return !u256_lt(a, b); }
U256_INLINE bool u256_is_neg(u256 a) { return (a.w[3] >> 63) != 0; }
U256_INLINE bool u256_slt(u256 a, u256 b) {
    bool an = u256_is_neg(a), bn = u256_is_neg(b);
    if (an != bn) return an;
    return u256_lt(a, b);
}
U256_INLINE bool u256_sgt(u256 a, u256 b) { return u256_slt(b, a); }
U256_INLINE bool u256_fits_u64(u256 a) { return (a.w[1] | a.w[2] | a.w[3]) == 0; }
U256_INLINE uint64_t u256_to_u64(u256 a) { return a.w[0]; }   /* truncating */

U256_INLINE u256 u256_add(u256 a, u256 b) {
    u256 r;
#if defined(__x86_64__)
    uint64_t a0 = a.w[0], a1 = a.w[1], a2 = a.w[2], a3 = a.w[3];
    __asm__("addq %[b0], %[a0]\n\tadcq %[b1], %[a1]\n\tadcq %[b2], %[a2]\n\tadcq %[b3], %[a3]"
            : [a0] "+&r"(a0), [a1] "+&r"(a1), [a2] "+&r"(a2), [a3] "+&r"(a3)
            : [b0] "rm"(b.w[0]), [b1] "rm"(b.w[1]), [b2] "rm"(b.w[2]), [b3] "rm"(b.w[3]) : "cc");
    r.w[0] = a0; r.w[1] = a1; r.w[2] = a2; r.w[3] = a3;
#else
    u256__u128 t;
    t = (u256__u128)a.w[0] + b.w[0]; r.w[0] = (uint64_t)t;
    t = (u256__u128)a.w[1] + b.w[1] + (uint64_t)(t >> 64); r.w[1] = (uint64_t)t;
    t = (u256__u128)a.w[2] + b.w[2] + (uint64_t)(t >> 64); r.w[2] = (uint64_t)t;
    r.w[3] = a.w[3] + b.w[3] + (uint64_t)(t >> 64);
#endif
    return r;
}
U256_INLINE u256 u256_sub(u256 a, u256 b) {
    u256 r;
#if defined(__x86_64__)
    uint64_t a0 = a.w[0], a1 = a.w[1], a2 = a.w[2], a3 = a.w[3];
    __asm__("subq %[b0], %[a0]\n\tsbbq %[b1], %[a1]\n\tsbbq %[b2], %[a2]\n\tsbbq %[b3], %[a3]"
            : [a0] "+&r"(a0), [a1] "+&r"(a1), [a2] "+&r"(a2), [a3] "+&r"(a3)
            : [b0] "rm"(b.w[0]), [b1] "rm"(b.w[1]), [b2] "rm"(b.w[2]), [b3] "rm"(b.w[3]) : "cc");
    r.w[0] = a0; r.w[1] = a1; r.w[2] = a2; r.w[3] = a3;
#else
    u256__u128 t;
    t = (u256__u128)a.w[0] - b.w[0]; r.w[0] = (uint64_t)t;
    t = (u256__u128)a.w[1] - b.w[1] - (uint64_t)((t >> 64) & 1); r.w[1] = (uint64_t)t;
    t = (u256__u128)a.w[2] - b.w[2] - (uint64_t)((t >> 64) & 1); r.w[2] = (uint64_t)t;
    r.w[3] = a.w[3] - b.w[3] - (uint64_t)((t >> 64) & 1);
#endif
    return r;
}
U256_INLINE u256 u256_neg(u256 a) { return u256_sub(u256_zero(), a); }
U256_INLINE u256 u256_and(u256 a, u256 b) { u256 r; for (int i = 0; i < 4; i++) r.w[i] = a.w[i] & b.w[i]; return r; }
U256_INLINE u256 u256_or(u256 a, u256 b)  { u256 r; for (int i = 0; i < 4; i++) r.w[i] = a.w[i] | b.w[i]; return r; }
U256_INLINE u256 u256_xor(u256 a, u256 b) { u256 r; for (int i = 0; i < 4; i++) r.w[i] = a.w[i] ^ b.w[i]; return r; }
U256_INLINE u256 u256_not(u256 a) { u256 r; for (int i = 0; i < 4; i++) r.w[i] = ~a.w[i]; return r; }

/* low 256 bits of a*b (the 10 partial products that reach below 2^256, unrolled) */
U256_INLINE u256 u256_mul(u256 a, u256 b) {
    u256 r; u256__u128 t; uint64_t c;
    t = (u256__u128)a.w[0] * b.w[0]; r.w[0] = (uint64_t)t; c = (uint64_t)(t >> 64);
    t = (u256__u128)a.w[0] * b.w[1] + c; r.w[1] = (uint64_t)t; c = (uint64_t)(t >> 64);
    t = (u256__u128)a.w[0] * b.w[2] + c; r.w[2] = (uint64_t)t; c = (uint64_t)(t >> 64);
    r.w[3] = a.w[0] * b.w[3] + c;
    t = (u256__u128)a.w[1] * b.w[0] + r.w[1]; r.w[1] = (uint64_t)t; c = (uint64_t)(t >> 64);
    t = (u256__u128)a.w[1] * b.w[1] + r.w[2] + c; r.w[2] = (uint64_t)t; c = (uint64_t)(t >> 64);
    r.w[3] += a.w[1] * b.w[2] + c;
    t = (u256__u128)a.w[2] * b.w[0] + r.w[2]; r.w[2] = (uint64_t)t; c = (uint64_t)(t >> 64);
    r.w[3] += a.w[2] * b.w[1] + c;
    r.w[3] += a.w[3] * b.w[0];
    return r;
}
/* full 512-bit product into p[8] */
static inline void u256_mul_full(u256 a, u256 b, uint64_t p[8]) {
    for (int i = 0; i < 8; i++) p[i] = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t carry = 0;
        for (int j = 0; j < 4; j++) {
            u256__u128 t = (u256__u128)a.w[i] * b.w[j] + p[i + j] + carry;
            p[i + j] = (uint64_t)t; carry = (uint64_t)(t >> 64);
        }
        p[i + 4] = carry;
    }
}

U256_INLINE unsigned u256_clz(u256 a) {
    if (a.w[3]) return (unsigned)__builtin_clzll(a.w[3]);
    if (a.w[2]) return 64 + (unsigned)__builtin_clzll(a.w[2]);
    if (a.w[1]) return 128 + (unsigned)__builtin_clzll(a.w[1]);
    if (a.w[0]) return 192 + (unsigned)__builtin_clzll(a.w[0]);
    return 256;
}
U256_INLINE unsigned u256_bit_length(u256 a) { return 256 - u256_clz(a); }
U256_INLINE unsigned u256_byte_length(u256 a) { return (u256_bit_length(a) + 7) / 8; }

/* (hi:lo) / d with hi < d (so the quotient fits 64 bits) */
static inline uint64_t u256__div128(uint64_t hi, uint64_t lo, uint64_t d, uint64_t *rem) {
#if defined(__x86_64__)
    uint64_t q, r;
    __asm__("divq %4" : "=a"(q), "=d"(r) : "a"(lo), "d"(hi), "rm"(d));
    *rem = r;
    return q;
#else
    u256__u128 n = ((u256__u128)hi << 64) | lo;
    *rem = (uint64_t)(n % d);
    return (uint64_t)(n / d);
#endif
}
/* Division by an invariant normalized divisor d (top bit set) with its reciprocal
 * v = floor((2^128 - 1) / d) - 2^64 (Moller & Granlund 2011): multiplications instead of divq. */
static inline uint64_t u256__reciprocal(uint64_t d) {
    uint64_t r;
    return u256__div128(~d, ~0ull, d, &r);
}
static inline uint64_t u256__div2by1(uint64_t u1, uint64_t u0, uint64_t d, uint64_t v, uint64_t *rem) {
    u256__u128 q = (u256__u128)v * u1;
    q += ((u256__u128)u1 << 64) | u0;
    uint64_t q1 = (uint64_t)(q >> 64) + 1, q0 = (uint64_t)q;
    uint64_t r = u0 - q1 * d;
    if (r > q0) { q1--; r += d; }
    if (r >= d) { q1++; r -= d; }
    *rem = r;
    return q1;
}
/* Knuth D: u[0..m) / v[0..n) with v[n-1] != 0, m >= n, m <= 8. q gets m-n+1 limbs, r gets n limbs. */
static inline void u256__divrem(const uint64_t *u, int m, const uint64_t *v, int n, uint64_t *q, uint64_t *r) {
    if (n == 1) {
        unsigned sh = (unsigned)__builtin_clzll(v[0]);
        uint64_t d = v[0] << sh, rv = u256__reciprocal(d);
        uint64_t rem = sh ? u[m - 1] >> (64 - sh) : 0;
        for (int i = m - 1; i >= 0; i--) {
            uint64_t limb = u[i] << sh;
            if (sh && i > 0) limb |= u[i - 1] >> (64 - sh);
            q[i] = u256__div2by1(rem, limb, d, rv, &rem);
        }
        r[0] = rem >> sh;
        return;
    }
    uint64_t un[9], vn[4];
    unsigned s = (unsigned)__builtin_clzll(v[n - 1]);
    for (int i = n - 1; i > 0; i--) vn[i] = s ? (v[i] << s) | (v[i - 1] >> (64 - s)) : v[i];
    vn[0] = v[0] << s;
    un[m] = s ? u[m - 1] >> (64 - s) : 0;
    for (int i = m - 1; i > 0; i--) un[i] = s ? (u[i] << s) | (u[i - 1] >> (64 - s)) : u[i];
    un[0] = u[0] << s;
    const uint64_t rv = u256__reciprocal(vn[n - 1]);
    for (int j = m - n; j >= 0; j--) {
        /* estimate the quotient digit from the top two limbs, then correct with the third */
        uint64_t qhat, rhat;
        bool rhat_big = false;                  /* rhat >= 2^64: the correction test cannot hold */
        if (un[j + n] >= vn[n - 1]) {           /* digit would overflow: start from b - 1 */
            qhat = ~0ull;
            u256__u128 t = (u256__u128)un[j + n - 1] + vn[n - 1];
            rhat = (uint64_t)t; rhat_big = (t >> 64) != 0;
        } else {
            qhat = u256__div2by1(un[j + n], un[j + n - 1], vn[n - 1], rv, &rhat);
        }
        while (!rhat_big && (u256__u128)qhat * vn[n - 2] > (((u256__u128)rhat << 64) | un[j + n - 2])) {
            qhat--;
            u256__u128 t = (u256__u128)rhat + vn[n - 1];
            rhat = (uint64_t)t; rhat_big = (t >> 64) != 0;
        }
        uint64_t borrow = 0, carry = 0;
        for (int i = 0; i < n; i++) {
            u256__u128 p = (u256__u128)qhat * vn[i] + carry;
            carry = (uint64_t)(p >> 64);
            uint64_t plo = (uint64_t)p;
            uint64_t t = un[i + j] - plo;
            uint64_t b1 = un[i + j] < plo;
            un[i + j] = t - borrow;
            borrow = b1 + (t < borrow);
        }
        uint64_t t = un[j + n] - carry;
        uint64_t b1 = un[j + n] < carry;
        un[j + n] = t - borrow;
        uint64_t neg = b1 | (t < borrow);
        if (neg) {                               /* qhat was one too large: add back */
            qhat--;
            uint64_t c = 0;
            for (int i = 0; i < n; i++) {
                u256__u128 sm = (u256__u128)un[i + j] + vn[i] + c;
                un[i + j] = (uint64_t)sm; c = (uint64_t)(sm >> 64);
            }
            un[j + n] += c;
        }
        q[j] = qhat;
    }
    for (int i = 0; i < n; i++) r[i] = s ? (un[i] >> s) | (un[i + 1] << (64 - s)) : un[i];
}
static inline int u256__nlimbs(const uint64_t *x, int n) { while (n > 0 && x[n - 1] == 0) n--; return n; }

static __attribute__((noinline, unused)) void u256__divmod_slow(u256 a, u256 b, u256 *q, u256 *r) {
    u256 qq = u256_zero(), rr = u256_zero();
    int n = u256__nlimbs(b.w, 4), m = u256__nlimbs(a.w, 4);
    if (n == 0) { *q = qq; *r = rr; return; }
    if (m < n || u256_lt(a, b)) { *q = qq; *r = a; return; }
    if (m == 1) { qq.w[0] = a.w[0] / b.w[0]; rr.w[0] = a.w[0] % b.w[0]; }
    else if (m == 2 && n == 1 && a.w[1] < b.w[0]) qq.w[0] = u256__div128(a.w[1], a.w[0], b.w[0], &rr.w[0]);
    else u256__divrem(a.w, m, b.w, n, qq.w, rr.w);
    *q = qq; *r = rr;
}
/* quotient and remainder; division by zero gives 0, 0 (fast path for 64-bit operands inline) */
U256_INLINE void u256_divmod(u256 a, u256 b, u256 *q, u256 *r) {
    u256 qq, rr;
    if ((a.w[1] | a.w[2] | a.w[3] | b.w[1] | b.w[2] | b.w[3]) == 0) {
        qq = u256_zero(); rr = u256_zero();
        if (b.w[0]) { qq.w[0] = a.w[0] / b.w[0]; rr.w[0] = a.w[0] % b.w[0]; }
    } else u256__divmod_slow(a, b, &qq, &rr);
    if (q) *q = qq;
    if (r) *r = rr;
}
U256_INLINE u256 u256_div(u256 a, u256 b) { u256 q; u256_divmod(a, b, &q, NULL); return q; }
U256_INLINE u256 u256_mod(u256 a, u256 b) { u256 r; u256_divmod(a, b, NULL, &r); return r; }
U256_INLINE u256 u256_sdiv(u256 a, u256 b) {
    bool an = u256_is_neg(a), bn = u256_is_neg(b);
    u256 q = u256_div(an ? u256_neg(a) : a, bn ? u256_neg(b) : b);
    return an != bn ? u256_neg(q) : q;
}
U256_INLINE u256 u256_smod(u256 a, u256 b) {
    bool an = u256_is_neg(a), bn = u256_is_neg(b);
    u256 r = u256_mod(an ? u256_neg(a) : a, bn ? u256_neg(b) : b);
    return an ? u256_neg(r) : r;
}
/* (a + b) % m with the full 257-bit sum; m == 0 gives 0 */
static inline u256 u256_addmod(u256 a, u256 b, u256 m) {
    int n = u256__nlimbs(m.w, 4);
    if (n == 0) return u256_zero();
    uint64_t s[5]; unsigned long long c = 0;
    for (int i = 0; i < 4; i++) {
        u256__u128 t = (u256__u128)a.w[i] + b.w[i] + c;
        s[i] = (uint64_t)t; c = (unsigned long long)(t >> 64);
    }
    s[4] = c;
    int k = u256__nlimbs(s, 5);
    u256 r = u256_zero();
    if (k < n) { for (int i = 0; i < 4; i++) r.w[i] = s[i]; return r; }
    uint64_t q[5];
    u256__divrem(s, k, m.w, n, q, r.w);
    return r;
}
/* (a * b) % m with the full 512-bit product; m == 0 gives 0 */
static inline u256 u256_mulmod(u256 a, u256 b, u256 m) {
    int n = u256__nlimbs(m.w, 4);
    if (n == 0) return u256_zero();
    uint64_t p[8];
    u256_mul_full(a, b, p);
    int k = u256__nlimbs(p, 8);
    u256 r = u256_zero();
    if (k < n) { for (int i = 0; i < 4; i++) r.w[i] = p[i]; return r; }
    uint64_t q[8];
    u256__divrem(p, k, m.w, n, q, r.w);
    return r;
}
/* a ** e mod 2^256 */
static inline u256 u256_exp(u256 a, u256 e) {
    u256 r = u256_from_u64(1);
    unsigned bits = u256_bit_length(e);
    for (unsigned i = 0; i < bits; i++) {
        if ((e.w[i / 64] >> (i % 64)) & 1) r = u256_mul(r, a);
        if (i + 1 < bits) a = u256_mul(a, a);
    }
    return r;
}
/* value << s and value >> s for s < 256: branch-free (limb move by table index, then a bit shift;
 * (x >> 1) >> (63 - bits) is 0 for bits == 0 without an undefined 64-bit shift). */
U256_INLINE u256 u256_shl_n(u256 v, unsigned s) {
    uint64_t t[8] = {0, 0, 0, 0, v.w[0], v.w[1], v.w[2], v.w[3]};
    unsigned limbs = s / 64, bits = s % 64;
    const uint64_t *x = t + 4 - limbs;           /* x[i] = v.w[i - limbs] or 0 */
    u256 r;
    r.w[0] = x[0] << bits;
    r.w[1] = (x[1] << bits) | ((x[0] >> 1) >> (63 - bits));
    r.w[2] = (x[2] << bits) | ((x[1] >> 1) >> (63 - bits));
    r.w[3] = (x[3] << bits) | ((x[2] >> 1) >> (63 - bits));
    return r;
}
U256_INLINE u256 u256_shr_n(u256 v, unsigned s) {
    uint64_t t[8] = {v.w[0], v.w[1], v.w[2], v.w[3], 0, 0, 0, 0};
    unsigned limbs = s / 64, bits = s % 64;
    const uint64_t *x = t + limbs;               /* x[i] = v.w[i + limbs] or 0 */
    u256 r;
    r.w[0] = (x[0] >> bits) | ((x[1] << 1) << (63 - bits));
    r.w[1] = (x[1] >> bits) | ((x[2] << 1) << (63 - bits));
    r.w[2] = (x[2] >> bits) | ((x[3] << 1) << (63 - bits));
    r.w[3] = x[3] >> bits;
    return r;
}
U256_INLINE u256 u256_shl(u256 shift, u256 v) {
    if (!u256_fits_u64(shift) || shift.w[0] >= 256) return u256_zero();
    return u256_shl_n(v, (unsigned)shift.w[0]);
}
U256_INLINE u256 u256_shr(u256 shift, u256 v) {
    if (!u256_fits_u64(shift) || shift.w[0] >= 256) return u256_zero();
    return u256_shr_n(v, (unsigned)shift.w[0]);
}
U256_INLINE u256 u256_sar(u256 shift, u256 v) {
    bool neg = u256_is_neg(v);
    if (!u256_fits_u64(shift) || shift.w[0] >= 256) return neg ? u256_max() : u256_zero();
    if (!neg) return u256_shr_n(v, (unsigned)shift.w[0]);
    return u256_not(u256_shr_n(u256_not(v), (unsigned)shift.w[0]));
}
/* BYTE(i, x): the i-th byte counting from the most significant; i >= 32 gives 0 */
U256_INLINE u256 u256_byte(u256 i, u256 x) {
    if (!u256_fits_u64(i) || i.w[0] >= 32) return u256_zero();
    unsigned k = 31 - (unsigned)i.w[0];           /* byte index from the least significant */
    return u256_from_u64((x.w[k / 8] >> (8 * (k % 8))) & 0xff);
}
/* SIGNEXTEND(b, x): extend the sign of byte b (0 = least significant); b >= 31 leaves x */
U256_INLINE u256 u256_signextend(u256 b, u256 x) {
    if (!u256_fits_u64(b) || b.w[0] >= 31) return x;
    unsigned bit = (unsigned)b.w[0] * 8 + 7;
    unsigned limb = bit / 64, off = bit % 64;
    bool neg = (x.w[limb] >> off) & 1;
    uint64_t mask = off == 63 ? ~0ull : ((1ull << (off + 1)) - 1);
    u256 r = x;
    r.w[limb] = neg ? (x.w[limb] | ~mask) : (x.w[limb] & mask);
    for (unsigned i = limb + 1; i < 4; i++) r.w[i] = neg ? ~0ull : 0;
    return r;
}

#endif
