/* fpu.c — RISC-V F/D arithmetic (contract: fpu.h). Owns IEEE 754 rounding, fflags, RISC-V NaN rules
 * and conversion saturation. Three paths with identical results (the unit tests cross-check them):
 *  1. x86-64 fast path for + - * / sqrt and fused multiply-add in all five modes, no MXCSR access:
 *     the host computes the RNE result, an error-free transform gives the exact error, and the
 *     other modes and NX are derived from its sign (see FAST_OPS). Used when the result is normal
 *     and away from the overflow/underflow thresholds, i.e. almost always;
 *  2. x86-64 SSE/FMA under an explicit MXCSR for RNE/RTZ/RDN/RUP (SSE is IEEE exact and detects
 *     tininess after rounding, as RISC-V does): every other case of those modes;
 *  3. a pure-integer soft-float (any host, every mode; the fallback for RMM, which no host has):
 *     operands are unpacked to 64-bit significands, the exact result is formed in 128-bit integers
 *     with a sticky bit, then rounded once by round_pack().
 * Comparisons, min/max, classify and every conversion are integer code on all paths. NaN results are
 * canonical. -DRV_FPU_NO_HOST builds path 3 only. rv_fpu_force_soft (not in fpu.h; tests set it):
 * 1 = path 3 only, 2 = paths 2 and 3 only. */
#include "fpu.h"
#include <stdbool.h>
#include <string.h>

typedef unsigned __int128 u128;
int rv_fpu_force_soft;

/* ---------------- formats ---------------- */
#define F32_M 23
#define F32_E 8
#define F64_M 52
#define F64_E 11

enum { C_ZERO, C_FIN, C_INF, C_QNAN, C_SNAN };
/* Unpacked operand: finite nonzero value = sig * 2^(exp-63) with bit 63 of sig set, i.e. exp is the
 * exponent of the leading bit. */
typedef struct { int cls, sign, exp; uint64_t sig; } unp;

static inline int clz64(uint64_t x) { return __builtin_clzll(x); }
static inline int msb128(u128 x)
{
    uint64_t hi = (uint64_t)(x >> 64);
    return hi ? 127 - clz64(hi) : 63 - clz64((uint64_t)x);
}

static unp unpack(uint64_t bits, int M, int E)
{
    unp u = {0};
    u.sign = (int)((bits >> (M + E)) & 1);
    uint64_t frac = bits & ((1ull << M) - 1);
    int be = (int)((bits >> M) & ((1u << E) - 1));
    int bias = (1 << (E - 1)) - 1;
    if (be == (1 << E) - 1) {
        u.cls = frac == 0 ? C_INF : ((frac >> (M - 1)) & 1) ? C_QNAN : C_SNAN;
        return u;
    }
    if (be == 0) {
        if (frac == 0) { u.cls = C_ZERO; return u; }
        be = 1;
    } else {
        frac |= 1ull << M;
    }
    int lz = clz64(frac);
    u.cls = C_FIN;
    u.sig = frac << lz;
    u.exp = be - bias - M + 63 - lz;
    return u;
}

static inline uint64_t canon(int M, int E) { return ((1ull << E) - 1) << M | 1ull << (M - 1); }
static inline uint64_t inf_bits(int sign, int M, int E)
{
    return (uint64_t)sign << (M + E) | ((1ull << E) - 1) << M;
}
static inline uint64_t zero_bits(int sign, int M, int E) { return (uint64_t)sign << (M + E); }

/* Rounds sig (value sig / 2^shift, bit 0 may be a sticky bit when shift >= 2) to an integer in mode
 * rm for a value of sign `sign`. Sets *inexact. shift >= 1; any shift > 64 means "all below half". */
static inline uint64_t rnd(uint64_t sig, int shift, int sign, int rm, bool *inexact)
{
    uint64_t kept, rem, half;
    if (shift > 64) { sig = sig != 0; shift = 64; }
    if (shift == 64) { kept = 0; rem = sig; half = 1ull << 63; }
    else { kept = sig >> shift; rem = sig & ((1ull << shift) - 1); half = 1ull << (shift - 1); }
    *inexact = rem != 0;
    if (!rem) return kept;
    bool inc;
    switch (rm) {
    case RV_RM_RNE: inc = rem > half || (rem == half && (kept & 1)); break;
    case RV_RM_RMM: inc = rem >= half; break;
    case RV_RM_RDN: inc = sign; break;
    case RV_RM_RUP: inc = !sign; break;
    default:        inc = false; break;   /* RTZ */
    }
    return kept + inc;
}

static uint64_t overflow(int sign, int M, int E, int rm, uint32_t *fl)
{
    *fl |= RV_FF_OF | RV_FF_NX;
    bool to_inf = rm == RV_RM_RNE || rm == RV_RM_RMM || (rm == RV_RM_RDN && sign) || (rm == RV_RM_RUP && !sign);
    uint64_t inf = inf_bits(sign, M, E);
    return to_inf ? inf : inf - 1;
}

/* Rounds the value sig * 2^(exp-63) (bit 63 of sig set, bit 0 sticky) to the format, once. */
static uint64_t round_pack(int sign, int exp, uint64_t sig, int M, int E, int rm, uint32_t *fl)
{
    const int p = M + 1, bias = (1 << (E - 1)) - 1, emax = (1 << E) - 1;
    int be = exp + bias;
    bool ix;
    if (be >= 1) {
        uint64_t k = rnd(sig, 64 - p, sign, rm, &ix);
        if (k >> p) { k >>= 1; be++; }
        if (be >= emax) return overflow(sign, M, E, rm, fl);
        if (ix) *fl |= RV_FF_NX;
        return (uint64_t)sign << (M + E) | (uint64_t)be << M | (k & ((1ull << M) - 1));
    }
    /* Tiny after rounding (RISC-V, like x86): the result rounded to p bits with an unbounded exponent
     * is below the smallest normal. Only be == 0 can round up to it. */
    bool tiny = true;
    if (be == 0) {
        uint64_t k0 = rnd(sig, 64 - p, sign, rm, &ix);
        tiny = !(k0 >> p);
    }
    int shift = 64 - p + 1 - be;
    if (shift > 70) shift = 70;
    uint64_t k = rnd(sig, shift, sign, rm, &ix);
    if (ix) *fl |= RV_FF_NX | (tiny ? RV_FF_UF : 0);
    return (uint64_t)sign << (M + E) | k;   /* k == 2^M carries into the exponent field: min normal */
}

/* Normalizes a nonzero 128-bit magnitude to 64 bits with sticky; returns its leading-bit index. */
static inline int norm128(u128 x, uint64_t *sig)
{
    int m = msb128(x);
    if (m >= 63) {
        int sh = m - 63;
        uint64_t s = (uint64_t)(x >> sh);
        if (sh && (x & (((u128)1 << sh) - 1))) s |= 1;
        *sig = s;
    } else {
        *sig = (uint64_t)x << (63 - m);
    }
    return m;
}

/* NaN handling shared by the arithmetic ops: returns true (and the canonical NaN) if any input is NaN. */
static inline bool nan_in(const unp *a, const unp *b, const unp *c, int M, int E, uint64_t *r, uint32_t *fl)
{
    bool nan = false, snan = false;
    const unp *ops[3] = {a, b, c};
    for (int i = 0; i < 3; i++) {
        if (!ops[i]) continue;
        if (ops[i]->cls == C_QNAN) nan = true;
        if (ops[i]->cls == C_SNAN) nan = snan = true;
    }
    if (snan) *fl |= RV_FF_NV;
    if (nan) *r = canon(M, E);
    return nan;
}

/* Exact sum of x = sx*X*2^(ex-125) and y = sy*Y*2^(ey-125) where X, Y have their leading bit at 125,
 * rounded once. Used by add/sub (X = significand) and fma (X = exact product). */
static uint64_t sum_core(int sx, int ex, u128 X, int sy, int ey, u128 Y, int M, int E, int rm, uint32_t *fl)
{
    if (ex < ey || (ex == ey && X < Y)) {
        int ts = sx; sx = sy; sy = ts;
        int te = ex; ex = ey; ey = te;
        u128 tx = X; X = Y; Y = tx;
    }
    int d = ex - ey;
    if (d >= 127) Y = 1;
    else if (d > 0) {
        u128 lost = Y & (((u128)1 << d) - 1);
        Y = (Y >> d) | (lost != 0);
    }
    u128 S;
    if (sx == sy) S = X + Y;
    else S = X - Y;   /* X >= Y after the swap */
    if (S == 0) return zero_bits(rm == RV_RM_RDN, M, E);
    uint64_t sig;
    int m = norm128(S, &sig);
    return round_pack(sx, ex + m - 125, sig, M, E, rm, fl);
}

/* ---------------- soft-float operations (raw bits, format M/E) ---------------- */
static uint64_t sw_add(uint64_t a, uint64_t b, int M, int E, int rm, uint32_t *fl)
{
    unp x = unpack(a, M, E), y = unpack(b, M, E);
    uint64_t r;
    if (nan_in(&x, &y, NULL, M, E, &r, fl)) return r;
    if (x.cls == C_INF || y.cls == C_INF) {
        if (x.cls == C_INF && y.cls == C_INF && x.sign != y.sign) { *fl |= RV_FF_NV; return canon(M, E); }
        return inf_bits(x.cls == C_INF ? x.sign : y.sign, M, E);
    }
    if (x.cls == C_ZERO && y.cls == C_ZERO)
        return zero_bits(x.sign == y.sign ? x.sign : rm == RV_RM_RDN, M, E);
    if (x.cls == C_ZERO) return b;
    if (y.cls == C_ZERO) return a;
    return sum_core(x.sign, x.exp, (u128)x.sig << 62, y.sign, y.exp, (u128)y.sig << 62, M, E, rm, fl);
}

static uint64_t sw_mul(uint64_t a, uint64_t b, int M, int E, int rm, uint32_t *fl)
{
    unp x = unpack(a, M, E), y = unpack(b, M, E);
    uint64_t r;
    if (nan_in(&x, &y, NULL, M, E, &r, fl)) return r;
    int s = x.sign ^ y.sign;
    if (x.cls == C_INF || y.cls == C_INF) {
        if (x.cls == C_ZERO || y.cls == C_ZERO) { *fl |= RV_FF_NV; return canon(M, E); }
        return inf_bits(s, M, E);
    }
    if (x.cls == C_ZERO || y.cls == C_ZERO) return zero_bits(s, M, E);
    u128 P = (u128)x.sig * y.sig;   /* in [2^126, 2^128) */
    uint64_t sig;
    int m = norm128(P, &sig);
    return round_pack(s, x.exp + y.exp + m - 126, sig, M, E, rm, fl);
}

static uint64_t sw_div(uint64_t a, uint64_t b, int M, int E, int rm, uint32_t *fl)
{
    unp x = unpack(a, M, E), y = unpack(b, M, E);
    uint64_t r;
    if (nan_in(&x, &y, NULL, M, E, &r, fl)) return r;
    int s = x.sign ^ y.sign;
    if (x.cls == C_INF) {
        if (y.cls == C_INF) { *fl |= RV_FF_NV; return canon(M, E); }
        return inf_bits(s, M, E);
    }
    if (y.cls == C_INF) return zero_bits(s, M, E);
    if (y.cls == C_ZERO) {
        if (x.cls == C_ZERO) { *fl |= RV_FF_NV; return canon(M, E); }
        *fl |= RV_FF_DZ;
        return inf_bits(s, M, E);
    }
    if (x.cls == C_ZERO) return zero_bits(s, M, E);
    u128 N = (u128)x.sig << 64;
    u128 q = N / y.sig, rem = N % y.sig;
    q |= rem != 0;
    uint64_t sig;
    int m = norm128(q, &sig);
    return round_pack(s, x.exp - y.exp + m - 64, sig, M, E, rm, fl);
}

static uint64_t sw_sqrt(uint64_t a, int M, int E, int rm, uint32_t *fl)
{
    unp x = unpack(a, M, E);
    uint64_t r;
    if (nan_in(&x, NULL, NULL, M, E, &r, fl)) return r;
    if (x.cls == C_ZERO) return a;
    if (x.sign) { *fl |= RV_FF_NV; return canon(M, E); }
    if (x.cls == C_INF) return a;
    /* value = sig * 2^(exp-63) = R * 2^t with t even */
    int t = x.exp - 63 - 64;
    u128 R = (u128)x.sig << 64;
    if (t & 1) { R = (u128)x.sig << 63; t += 1; }
    /* floor(sqrt(R)) by integer Newton from above, started from the exact root of the top word */
    uint64_t top = (uint64_t)(R >> 64), op = top, s = 0, one = 1ull << 62;
    while (one) {
        if (op >= s + one) { op -= s + one; s = (s >> 1) + one; }
        else s >>= 1;
        one >>= 2;
    }
    u128 root = (u128)(s + 1) << 32;   /* >= sqrt(R), within a factor 1 + 2^-31 */
    for (;;) {
        u128 n = (root + R / root) >> 1;
        if (n >= root) break;
        root = n;
    }
    root |= R != root * root;   /* root has 64 bits: the sticky bit is far below the rounding point */
    uint64_t sig;
    int m = norm128(root, &sig);
    return round_pack(0, m + t / 2, sig, M, E, rm, fl);
}

/* a*b + c with one rounding; na negates the product, nc negates c. */
static uint64_t sw_fma(uint64_t a, uint64_t b, uint64_t c, int na, int nc, int M, int E, int rm, uint32_t *fl)
{
    unp x = unpack(a, M, E), y = unpack(b, M, E), z = unpack(c, M, E);
    uint64_t r;
    bool inf_zero = (x.cls == C_INF && y.cls == C_ZERO) || (x.cls == C_ZERO && y.cls == C_INF);
    if (nan_in(&x, &y, &z, M, E, &r, fl)) {
        if (inf_zero) *fl |= RV_FF_NV;   /* RISC-V: invalid even when the addend is a quiet NaN */
        return r;
    }
    if (inf_zero) { *fl |= RV_FF_NV; return canon(M, E); }
    int sp = x.sign ^ y.sign ^ na, sc = z.sign ^ nc;
    if (x.cls == C_INF || y.cls == C_INF) {
        if (z.cls == C_INF && sc != sp) { *fl |= RV_FF_NV; return canon(M, E); }
        return inf_bits(sp, M, E);
    }
    if (z.cls == C_INF) return inf_bits(sc, M, E);
    if (x.cls == C_ZERO || y.cls == C_ZERO) {
        if (z.cls == C_ZERO) return zero_bits(sp == sc ? sp : rm == RV_RM_RDN, M, E);
        return c ^ ((uint64_t)nc << (M + E));
    }
    u128 P = (u128)x.sig * y.sig;   /* [2^126, 2^128): low 22+ bits are zero, so >> 2 is exact */
    int pe = x.exp + y.exp;         /* P * 2^(pe-126) */
    if (P >> 127) pe += 1;
    else P <<= 1;                   /* now leading bit at 127 */
    P >>= 2;                        /* leading bit at 125, value P * 2^(pe-125) */
    if (z.cls == C_ZERO) {
        uint64_t sig;
        int m = norm128(P, &sig);
        return round_pack(sp, pe + m - 125, sig, M, E, rm, fl);
    }
    return sum_core(sp, pe, P, sc, z.exp, (u128)z.sig << 62, M, E, rm, fl);
}

static uint64_t sw_from_u64(int sign, uint64_t v, int M, int E, int rm, uint32_t *fl)
{
    if (v == 0) return 0;
    int lz = clz64(v);
    return round_pack(sign, 63 - lz, v << lz, M, E, rm, fl);
}

/* Float to integer: lo/hi are the representable range as (sign, magnitude) bounds. */
static uint64_t sw_to_int(uint64_t a, int M, int E, int rm, bool is_signed, int bits, uint32_t *fl)
{
    unp x = unpack(a, M, E);
    uint64_t umax = bits == 64 ? ~0ull : (1ull << bits) - 1;
    uint64_t smax = umax >> 1, smin_mag = smax + 1;
    uint64_t sat_hi = is_signed ? smax : umax;
    uint64_t sat_lo = is_signed ? (uint64_t)(-(int64_t)(smin_mag - 1) - 1) : 0;   /* as two's complement */
    if (x.cls == C_QNAN || x.cls == C_SNAN) { *fl |= RV_FF_NV; return sat_hi; }
    if (x.cls == C_INF) { *fl |= RV_FF_NV; return x.sign ? sat_lo : sat_hi; }
    if (x.cls == C_ZERO) return 0;
    uint64_t mag;
    bool ix = false;
    if (x.exp >= 64) { *fl |= RV_FF_NV; return x.sign ? sat_lo : sat_hi; }
    if (x.exp == 63) mag = x.sig;
    else mag = rnd(x.sig, 63 - x.exp, x.sign, rm, &ix);
    bool ok;
    if (is_signed) ok = x.sign ? mag <= smin_mag : mag <= smax;
    else ok = x.sign ? mag == 0 : mag <= umax;
    if (!ok) { *fl |= RV_FF_NV; return x.sign ? sat_lo : sat_hi; }
    if (ix) *fl |= RV_FF_NX;
    return x.sign ? -mag : mag;
}

/* ---------------- x86-64 host fast path ---------------- */
#if defined(__x86_64__) && !defined(RV_FPU_NO_HOST)   /* -DRV_FPU_NO_HOST: soft-float only */
#define HAVE_HOST 1
static int host_fma = -1;   /* -1 unknown, 0 no, 1 yes */
static const unsigned rc_of[4] = {0, 3, 1, 2};   /* RNE, RTZ, RDN, RUP -> MXCSR.RC */

static inline uint32_t mx_flags(uint32_t o)
{
    return ((o & 1) << 4) | (((o >> 2) & 1) << 3) | (((o >> 3) & 1) << 2) | (((o >> 4) & 1) << 1) | ((o >> 5) & 1);
}

#define HOST_BIN(name, T, insn) \
    static inline T name(T a, T b, int rm, uint32_t *fl) \
    { \
        uint32_t save, out, csr = 0x1f80u | rc_of[rm] << 13; \
        __asm__ volatile("stmxcsr %[s]\n\tldmxcsr %[c]\n\t" insn " %[b], %[a]\n\tstmxcsr %[o]\n\tldmxcsr %[s]" \
                         : [a] "+x"(a), [s] "=m"(save), [o] "=m"(out) : [b] "x"(b), [c] "m"(csr)); \
        *fl |= mx_flags(out); \
        return a; \
    }
HOST_BIN(h_adds, float, "addss")
HOST_BIN(h_subs, float, "subss")
HOST_BIN(h_muls, float, "mulss")
HOST_BIN(h_divs, float, "divss")
HOST_BIN(h_sqrts, float, "sqrtss")
HOST_BIN(h_addd, double, "addsd")
HOST_BIN(h_subd, double, "subsd")
HOST_BIN(h_muld, double, "mulsd")
HOST_BIN(h_divd, double, "divsd")
HOST_BIN(h_sqrtd, double, "sqrtsd")

#define HOST_FMA(name, T, insn) \
    static inline T name(T a, T b, T c, int rm, uint32_t *fl) \
    { \
        uint32_t save, out, csr = 0x1f80u | rc_of[rm] << 13; \
        __asm__ volatile("stmxcsr %[s]\n\tldmxcsr %[cs]\n\t" insn " %[b], %[a], %[c]\n\tstmxcsr %[o]\n\tldmxcsr %[s]" \
                         : [c] "+x"(c), [s] "=m"(save), [o] "=m"(out) : [a] "x"(a), [b] "x"(b), [cs] "m"(csr)); \
        *fl |= mx_flags(out); \
        return c; \
    }
HOST_FMA(h_fmas, float, "vfmadd231ss")
HOST_FMA(h_fmad, double, "vfmadd231sd")

static inline bool use_host(int rm) { return rm <= RV_RM_RUP && rv_fpu_force_soft != 1; }
static inline bool use_host_fma(int rm)
{
    if (host_fma < 0) {
        __builtin_cpu_init();
        host_fma = __builtin_cpu_supports("fma") ? 1 : 0;
    }
    return host_fma == 1 && use_host(rm);
}
#else
#define HAVE_HOST 0
#endif

__attribute__((unused)) static inline uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
__attribute__((unused)) static inline float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
__attribute__((unused)) static inline uint64_t d2u(double d) { uint64_t u; memcpy(&u, &d, 8); return u; }
__attribute__((unused)) static inline double u2d(uint64_t u) { double d; memcpy(&d, &u, 8); return d; }
static inline bool isnan32(uint32_t a) { return (a & 0x7fffffffu) > 0x7f800000u; }
static inline bool isnan64(uint64_t a) { return (a & 0x7fffffffffffffffull) > 0x7ff0000000000000ull; }
static inline bool issnan32(uint32_t a) { return isnan32(a) && !(a & 0x00400000u); }
static inline bool issnan64(uint64_t a) { return isnan64(a) && !(a & 0x0008000000000000ull); }

/* ---------------- x86-64 fast path: no MXCSR access ----------------
 * Reading MXCSR (stmxcsr) costs tens of ns on some hosts, so the common case avoids it: the op runs
 * in the host's default mode (RNE, exceptions masked), an error-free transform gives the exact
 * error e = exact - r (add: TwoSum; mul: fma(a,b,-r); div: remainder fma(-q,b,a); sqrt:
 * fma(-r,r,a)), and every mode is derived from r and e: NX iff e != 0; RUP/RDN/RTZ step r by one
 * ulp toward the exact value when needed; RMM steps away from zero on an exact tie. It is used only
 * when r is normal and far enough from the underflow and overflow thresholds that the transform is
 * exact, no other flag can arise and the stepped result stays normal; all else falls back.
 * Assumes the thread's MXCSR is the x86 default (RNE, no FTZ/DAZ): nothing in vmkit changes it and
 * the MXCSR path restores it after each op. */
#if HAVE_HOST
/* Steps the RNE result r (bits, sign-magnitude) per rm; e_pos: exact > r; tie: exact is halfway. */
#define FIX_RNE(r, sign, e_pos, tie, rm) ({ \
        bool away_ = (e_pos) != (sign);   /* |exact| > |r| */ \
        __typeof__(r) o_ = (r); \
        switch (rm) { \
        case RV_RM_RMM: if ((tie) && away_) o_ = (r) + 1; break; \
        case RV_RM_RTZ: if (!away_) o_ = (r) - 1; break; \
        case RV_RM_RUP: if (e_pos) o_ = (sign) ? (r) - 1 : (r) + 1; break; \
        case RV_RM_RDN: if (!(e_pos)) o_ = (sign) ? (r) + 1 : (r) - 1; break; \
        default: break; \
        } \
        o_; })

#define FAST_OPS(p, T, U, M, E, TOU, FROMU, FMS, FNMA) \
    static inline bool p##_exp_ok(U r, unsigned lo) \
    { unsigned ex = (unsigned)(r >> M) & ((1u << E) - 1); return ex >= lo && ex <= (1u << E) - 3; } \
    /* r is the RNE result, e the exact error (finite); may_tie: ties are possible for this op */ \
    static inline U p##_finish(U r, T rv, T e, bool may_tie, int rm, uint32_t *fl) \
    { \
        if (e == 0) return r; \
        *fl |= RV_FF_NX; \
        if (rm == RV_RM_RNE) return r; \
        int sign = (int)(r >> (M + E)); \
        bool e_pos = e > 0, tie = false; \
        if (may_tie && rm == RV_RM_RMM) { \
            T n = FROMU(e_pos != sign ? r + 1 : r - 1), d = n - rv, e2 = e + e; \
            tie = e2 == d;   /* d has the sign of e */ \
        } \
        return FIX_RNE(r, sign, e_pos, tie, rm); \
    } \
    static inline bool p##_fast_add(T a, T b, int rm, U *out, uint32_t *fl) \
    { \
        T s = a + b; \
        U r = TOU(s); \
        if (!p##_exp_ok(r, 2)) return false; \
        T bb = s - a; \
        T e = (a - (s - bb)) + (b - bb); \
        *out = p##_finish(r, s, e, true, rm, fl); \
        return true; \
    } \
    static inline bool p##_fast_mul(T a, T b, int rm, U *out, uint32_t *fl) \
    { \
        T m = a * b; \
        U r = TOU(m); \
        if (!p##_exp_ok(r, M + 3)) return false; \
        *out = p##_finish(r, m, FMS(a, b, m), true, rm, fl); \
        return true; \
    } \
    static inline bool p##_fast_div(T a, T b, int rm, U *out, uint32_t *fl) \
    { \
        T q = a / b; \
        U r = TOU(q); \
        if (!p##_exp_ok(r, 2) || !p##_exp_ok(TOU(a), 2 * M + 8)) return false; \
        T rem = FNMA(q, b, a);   /* a - q*b, exact; e = rem / b */ \
        if (b < 0) rem = -rem; \
        *out = p##_finish(r, q, rem, false, rm, fl); \
        return true; \
    } \
    /* a*b + c: r1 = fma; ErrFma (Boldo-Muller) gives a*b + c = r1 + g + z exactly, then TwoSum(g, z) \
     * = (e1, e2) with e1 = RN(e): e != 0 iff e1 != 0, sign(e) = sign(e1), tie iff e2 == 0 && 2e1 == d */ \
    static inline bool p##_fast_fma(T a, T b, T c, int rm, U *out, uint32_t *fl) \
    { \
        T r1 = FMA_##p(a, b, c), u1 = a * b; \
        U r = TOU(r1); \
        if (!p##_exp_ok(r, 2 * M + 8) || !p##_exp_ok(TOU(u1), 2 * M + 8)) return false; \
        T u2 = FMS(a, b, u1); \
        T a1 = c + u2, v1 = a1 - c, z = (c - (a1 - v1)) + (u2 - v1); \
        T b1 = u1 + a1, v2 = b1 - u1, b2 = (u1 - (b1 - v2)) + (a1 - v2); \
        T g = (b1 - r1) + b2; \
        T e1 = g + z, v3 = e1 - g, e2 = (g - (e1 - v3)) + (z - v3); \
        if (e1 == 0) { *out = r; return true; } \
        *fl |= RV_FF_NX; \
        int sign = (int)(r >> (M + E)); \
        bool e_pos = e1 > 0, tie = false; \
        if (rm == RV_RM_RMM && e2 == 0) { \
            T n = FROMU(e_pos != sign ? r + 1 : r - 1), d = n - r1; \
            tie = e1 + e1 == d; \
        } \
        *out = FIX_RNE(r, sign, e_pos, tie, rm); \
        return true; \
    } \
    static inline bool p##_fast_sqrt(T a, int rm, U *out, uint32_t *fl) \
    { \
        if (a < 0) return false; \
        T q = FSQRT_##p(a); \
        U r = TOU(q); \
        if (!p##_exp_ok(r, ((1u << (E - 1)) + M + 4) / 2 + 2)) return false; \
        *out = p##_finish(r, q, FNMA(q, q, a), false, rm, fl); \
        return true; \
    }

static inline double fms_d(double a, double b, double c)   /* a*b - c, one rounding */
{ __asm__("vfmsub231sd %[b], %[a], %[c]" : [c] "+x"(c) : [a] "x"(a), [b] "x"(b)); return c; }
static inline double fnma_d(double a, double b, double c)  /* c - a*b, one rounding */
{ __asm__("vfnmadd231sd %[b], %[a], %[c]" : [c] "+x"(c) : [a] "x"(a), [b] "x"(b)); return c; }
static inline float fms_s(float a, float b, float c)
{ __asm__("vfmsub231ss %[b], %[a], %[c]" : [c] "+x"(c) : [a] "x"(a), [b] "x"(b)); return c; }
static inline float fnma_s(float a, float b, float c)
{ __asm__("vfnmadd231ss %[b], %[a], %[c]" : [c] "+x"(c) : [a] "x"(a), [b] "x"(b)); return c; }
static inline double FMA_fd(double a, double b, double c)
{ __asm__("vfmadd231sd %[b], %[a], %[c]" : [c] "+x"(c) : [a] "x"(a), [b] "x"(b)); return c; }
static inline float FMA_fs(float a, float b, float c)
{ __asm__("vfmadd231ss %[b], %[a], %[c]" : [c] "+x"(c) : [a] "x"(a), [b] "x"(b)); return c; }
static inline double FSQRT_fd(double a) { __asm__("sqrtsd %[a], %[a]" : [a] "+x"(a)); return a; }
static inline float FSQRT_fs(float a) { __asm__("sqrtss %[a], %[a]" : [a] "+x"(a)); return a; }
FAST_OPS(fd, double, uint64_t, F64_M, F64_E, d2u, u2d, fms_d, fnma_d)
FAST_OPS(fs, float, uint32_t, F32_M, F32_E, f2u, u2f, fms_s, fnma_s)

/* rv_fpu_force_soft: 0 normal, 1 soft-float only, 2 no fast path (MXCSR path, soft for RMM) */
static inline bool use_fast(void) { return rv_fpu_force_soft == 0; }
static inline bool use_fast_fma(void)
{
    return use_fast() && use_host_fma(RV_RM_RNE);
}
#define FAST(fn, ...) do { if (use_fast()) { __typeof__(a) o_; if (fn(__VA_ARGS__, rm, &o_, fl)) return o_; } } while (0)
#define FASTF(fn, ...) do { if (use_fast_fma()) { __typeof__(a) o_; if (fn(__VA_ARGS__, rm, &o_, fl)) return o_; } } while (0)
#define H32(expr) do { if (use_host(rm)) { uint32_t r_ = f2u(expr); return isnan32(r_) ? RV_F32_CANON_NAN : r_; } } while (0)
#define H64(expr) do { if (use_host(rm)) { uint64_t r_ = d2u(expr); return isnan64(r_) ? RV_F64_CANON_NAN : r_; } } while (0)
#else
#define FAST(fn, ...) do { } while (0)
#define FASTF(fn, ...) do { } while (0)
#define H32(expr) do { } while (0)
#define H64(expr) do { } while (0)
#endif

/* ---------------- public: arithmetic ---------------- */

uint32_t rv_f32_add(uint32_t a, uint32_t b, int rm, uint32_t *fl)
{ FAST(fs_fast_add, u2f(a), u2f(b)); H32(h_adds(u2f(a), u2f(b), rm, fl)); return (uint32_t)sw_add(a, b, F32_M, F32_E, rm, fl); }
uint32_t rv_f32_sub(uint32_t a, uint32_t b, int rm, uint32_t *fl)
{ FAST(fs_fast_add, u2f(a), u2f(b ^ 0x80000000u)); H32(h_subs(u2f(a), u2f(b), rm, fl)); return (uint32_t)sw_add(a, b ^ 0x80000000u, F32_M, F32_E, rm, fl); }
uint32_t rv_f32_mul(uint32_t a, uint32_t b, int rm, uint32_t *fl)
{ FASTF(fs_fast_mul, u2f(a), u2f(b)); H32(h_muls(u2f(a), u2f(b), rm, fl)); return (uint32_t)sw_mul(a, b, F32_M, F32_E, rm, fl); }
uint32_t rv_f32_div(uint32_t a, uint32_t b, int rm, uint32_t *fl)
{ FASTF(fs_fast_div, u2f(a), u2f(b)); H32(h_divs(u2f(a), u2f(b), rm, fl)); return (uint32_t)sw_div(a, b, F32_M, F32_E, rm, fl); }
/* A square root is never exactly halfway between two floats (the square of a (p+1)-bit odd
 * significand needs more than p bits) and never over/underflows, so RMM gives the RNE result. */
uint32_t rv_f32_sqrt(uint32_t a, int rm, uint32_t *fl)
{
    if (rm == RV_RM_RMM && rv_fpu_force_soft != 1) rm = RV_RM_RNE;
    FASTF(fs_fast_sqrt, u2f(a));
    H32(h_sqrts(u2f(a), u2f(a), rm, fl));
    return (uint32_t)sw_sqrt(a, F32_M, F32_E, rm, fl);
}

uint64_t rv_f64_add(uint64_t a, uint64_t b, int rm, uint32_t *fl)
{ FAST(fd_fast_add, u2d(a), u2d(b)); H64(h_addd(u2d(a), u2d(b), rm, fl)); return sw_add(a, b, F64_M, F64_E, rm, fl); }
uint64_t rv_f64_sub(uint64_t a, uint64_t b, int rm, uint32_t *fl)
{ FAST(fd_fast_add, u2d(a), u2d(b ^ (1ull << 63))); H64(h_subd(u2d(a), u2d(b), rm, fl)); return sw_add(a, b ^ (1ull << 63), F64_M, F64_E, rm, fl); }
uint64_t rv_f64_mul(uint64_t a, uint64_t b, int rm, uint32_t *fl)
{ FASTF(fd_fast_mul, u2d(a), u2d(b)); H64(h_muld(u2d(a), u2d(b), rm, fl)); return sw_mul(a, b, F64_M, F64_E, rm, fl); }
uint64_t rv_f64_div(uint64_t a, uint64_t b, int rm, uint32_t *fl)
{ FASTF(fd_fast_div, u2d(a), u2d(b)); H64(h_divd(u2d(a), u2d(b), rm, fl)); return sw_div(a, b, F64_M, F64_E, rm, fl); }
uint64_t rv_f64_sqrt(uint64_t a, int rm, uint32_t *fl)
{
    if (rm == RV_RM_RMM && rv_fpu_force_soft != 1) rm = RV_RM_RNE;
    FASTF(fd_fast_sqrt, u2d(a));
    H64(h_sqrtd(u2d(a), u2d(a), rm, fl));
    return sw_sqrt(a, F64_M, F64_E, rm, fl);
}

/* Fused ops. The host path is skipped when the addend is a NaN (RISC-V wants NV for inf*0 + qNaN). */
static uint32_t fma32(uint32_t a, uint32_t b, uint32_t c, int na, int nc, int rm, uint32_t *fl)
{
#if HAVE_HOST
    if (use_fast_fma()) {
        uint32_t o;
        if (fs_fast_fma(u2f(a ^ (uint32_t)na << 31), u2f(b), u2f(c ^ (uint32_t)nc << 31), rm, &o, fl)) return o;
    }
    if (use_host_fma(rm) && !isnan32(c)) {
        uint32_t r = f2u(h_fmas(u2f(a ^ (uint32_t)na << 31), u2f(b), u2f(c ^ (uint32_t)nc << 31), rm, fl));
        return isnan32(r) ? RV_F32_CANON_NAN : r;
    }
#endif
    return (uint32_t)sw_fma(a, b, c, na, nc, F32_M, F32_E, rm, fl);
}
static uint64_t fma64(uint64_t a, uint64_t b, uint64_t c, int na, int nc, int rm, uint32_t *fl)
{
#if HAVE_HOST
    if (use_fast_fma()) {
        uint64_t o;
        if (fd_fast_fma(u2d(a ^ (uint64_t)na << 63), u2d(b), u2d(c ^ (uint64_t)nc << 63), rm, &o, fl)) return o;
    }
    if (use_host_fma(rm) && !isnan64(c)) {
        uint64_t r = d2u(h_fmad(u2d(a ^ (uint64_t)na << 63), u2d(b), u2d(c ^ (uint64_t)nc << 63), rm, fl));
        return isnan64(r) ? RV_F64_CANON_NAN : r;
    }
#endif
    return sw_fma(a, b, c, na, nc, F64_M, F64_E, rm, fl);
}
uint32_t rv_f32_madd(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *fl) { return fma32(a, b, c, 0, 0, rm, fl); }
uint32_t rv_f32_msub(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *fl) { return fma32(a, b, c, 0, 1, rm, fl); }
uint32_t rv_f32_nmsub(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *fl) { return fma32(a, b, c, 1, 0, rm, fl); }
uint32_t rv_f32_nmadd(uint32_t a, uint32_t b, uint32_t c, int rm, uint32_t *fl) { return fma32(a, b, c, 1, 1, rm, fl); }
uint64_t rv_f64_madd(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *fl) { return fma64(a, b, c, 0, 0, rm, fl); }
uint64_t rv_f64_msub(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *fl) { return fma64(a, b, c, 0, 1, rm, fl); }
uint64_t rv_f64_nmsub(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *fl) { return fma64(a, b, c, 1, 0, rm, fl); }
uint64_t rv_f64_nmadd(uint64_t a, uint64_t b, uint64_t c, int rm, uint32_t *fl) { return fma64(a, b, c, 1, 1, rm, fl); }

/* ---------------- public: min/max, compare, classify ---------------- */
/* Total order key for non-NaN values with -0 < +0. */
static inline uint64_t key32(uint32_t a) { return (a & 0x80000000u) ? (uint32_t)~a : a | 0x80000000u; }
static inline uint64_t key64(uint64_t a) { return (a >> 63) ? ~a : a | (1ull << 63); }

#define MINMAX(p, T, ISNAN, ISSNAN, KEY, CANON) \
    static T p##_minmax(T a, T b, int want_max, uint32_t *fl) \
    { \
        bool na = ISNAN(a), nb = ISNAN(b); \
        if (ISSNAN(a) || ISSNAN(b)) *fl |= RV_FF_NV; \
        if (na && nb) return CANON; \
        if (na) return b; \
        if (nb) return a; \
        bool a_less = KEY(a) < KEY(b); \
        return want_max ? (a_less ? b : a) : (a_less ? a : b); \
    } \
    T p##_min(T a, T b, uint32_t *fl) { return p##_minmax(a, b, 0, fl); } \
    T p##_max(T a, T b, uint32_t *fl) { return p##_minmax(a, b, 1, fl); } \
    int p##_eq(T a, T b, uint32_t *fl) \
    { \
        if (ISNAN(a) || ISNAN(b)) { if (ISSNAN(a) || ISSNAN(b)) *fl |= RV_FF_NV; return 0; } \
        return a == b || ((a | b) << 1) == 0; \
    } \
    int p##_lt(T a, T b, uint32_t *fl) \
    { \
        if (ISNAN(a) || ISNAN(b)) { *fl |= RV_FF_NV; return 0; } \
        if (((a | b) << 1) == 0) return 0; \
        return KEY(a) < KEY(b); \
    } \
    int p##_le(T a, T b, uint32_t *fl) \
    { \
        if (ISNAN(a) || ISNAN(b)) { *fl |= RV_FF_NV; return 0; } \
        if (((a | b) << 1) == 0) return 1; \
        return KEY(a) <= KEY(b); \
    }
MINMAX(rv_f32, uint32_t, isnan32, issnan32, key32, RV_F32_CANON_NAN)
MINMAX(rv_f64, uint64_t, isnan64, issnan64, key64, RV_F64_CANON_NAN)

static uint32_t classify(uint64_t a, int M, int E)
{
    unp u = unpack(a, M, E);
    uint64_t be = (a >> M) & ((1ull << E) - 1);
    switch (u.cls) {
    case C_INF:  return u.sign ? 1u << 0 : 1u << 7;
    case C_ZERO: return u.sign ? 1u << 3 : 1u << 4;
    case C_SNAN: return 1u << 8;
    case C_QNAN: return 1u << 9;
    default:     return be == 0 ? (u.sign ? 1u << 2 : 1u << 5) : (u.sign ? 1u << 1 : 1u << 6);
    }
}
uint32_t rv_f32_classify(uint32_t a) { return classify(a, F32_M, F32_E); }
uint32_t rv_f64_classify(uint64_t a) { return classify(a, F64_M, F64_E); }

/* ---------------- public: conversions ---------------- */
#if HAVE_HOST
/* Float to integer for |x| < 2^52, where a double holds the input and every candidate exactly:
 * truncate, then round per rm from the exact fraction in int64 arithmetic. Returns false (the caller
 * takes the soft path, which also raises NV) when the result is outside [lo, hi] or x is not such a
 * number (NaN, infinity, huge). */
static inline bool fast_cvt(double x, int rm, int64_t lo, int64_t hi, uint64_t *out, uint32_t *fl)
{
    if (!use_fast() || !(x > -0x1p52 && x < 0x1p52)) return false;
    int64_t r = (int64_t)x;
    double f = x - (double)r;   /* exact, in (-1, 1) */
    if (f != 0) {
        switch (rm) {
        case RV_RM_RNE:
            if (f > 0.5 || (f == 0.5 && (r & 1))) r++;
            else if (f < -0.5 || (f == -0.5 && (r & 1))) r--;
            break;
        case RV_RM_RMM: if (f >= 0.5) r++; else if (f <= -0.5) r--; break;
        case RV_RM_RDN: if (f < 0) r--; break;
        case RV_RM_RUP: if (f > 0) r++; break;
        default: break;
        }
    }
    if (r < lo || r > hi) return false;
    if (f != 0) *fl |= RV_FF_NX;
    *out = (uint64_t)r;
    return true;
}
#define FCVT(x, lo, hi) do { uint64_t o_; if (fast_cvt(x, rm, lo, hi, &o_, fl)) return o_; } while (0)
#else
#define FCVT(x, lo, hi) do { } while (0)
#endif
__attribute__((unused)) static inline double f32_val(uint32_t a) { return (double)u2f(a); }
__attribute__((unused)) static inline double f64_val(uint64_t a) { return u2d(a); }

#define CONV(p, T, M, E) \
    int32_t  rv_##p##_to_i32(T a, int rm, uint32_t *fl) \
    { FCVT(p##_val(a), INT32_MIN, INT32_MAX); return (int32_t)(uint32_t)sw_to_int(a, M, E, rm, true, 32, fl); } \
    uint32_t rv_##p##_to_u32(T a, int rm, uint32_t *fl) \
    { FCVT(p##_val(a), 0, UINT32_MAX); return (uint32_t)sw_to_int(a, M, E, rm, false, 32, fl); } \
    int64_t  rv_##p##_to_i64(T a, int rm, uint32_t *fl) \
    { FCVT(p##_val(a), INT64_MIN, INT64_MAX); return (int64_t)sw_to_int(a, M, E, rm, true, 64, fl); } \
    uint64_t rv_##p##_to_u64(T a, int rm, uint32_t *fl) \
    { FCVT(p##_val(a), 0, INT64_MAX); return sw_to_int(a, M, E, rm, false, 64, fl); } \
    T rv_##p##_from_i32(int32_t v, int rm, uint32_t *fl) \
    { return (T)sw_from_u64(v < 0, v < 0 ? -(uint64_t)(int64_t)v : (uint64_t)v, M, E, rm, fl); } \
    T rv_##p##_from_u32(uint32_t v, int rm, uint32_t *fl) { return (T)sw_from_u64(0, v, M, E, rm, fl); } \
    T rv_##p##_from_i64(int64_t v, int rm, uint32_t *fl) \
    { return (T)sw_from_u64(v < 0, v < 0 ? -(uint64_t)v : (uint64_t)v, M, E, rm, fl); } \
    T rv_##p##_from_u64(uint64_t v, int rm, uint32_t *fl) { return (T)sw_from_u64(0, v, M, E, rm, fl); }
CONV(f32, uint32_t, F32_M, F32_E)
CONV(f64, uint64_t, F64_M, F64_E)

uint64_t rv_f32_to_f64(uint32_t a, uint32_t *fl)
{
    unp u = unpack(a, F32_M, F32_E);
    switch (u.cls) {
    case C_SNAN: *fl |= RV_FF_NV; return RV_F64_CANON_NAN;
    case C_QNAN: return RV_F64_CANON_NAN;
    case C_INF:  return inf_bits(u.sign, F64_M, F64_E);
    case C_ZERO: return zero_bits(u.sign, F64_M, F64_E);
    default:     return round_pack(u.sign, u.exp, u.sig, F64_M, F64_E, RV_RM_RNE, fl);   /* exact */
    }
}

uint32_t rv_f64_to_f32(uint64_t a, int rm, uint32_t *fl)
{
    unp u = unpack(a, F64_M, F64_E);
    switch (u.cls) {
    case C_SNAN: *fl |= RV_FF_NV; return RV_F32_CANON_NAN;
    case C_QNAN: return RV_F32_CANON_NAN;
    case C_INF:  return (uint32_t)inf_bits(u.sign, F32_M, F32_E);
    case C_ZERO: return (uint32_t)zero_bits(u.sign, F32_M, F32_E);
    default:     return (uint32_t)round_pack(u.sign, u.exp, u.sig, F32_M, F32_E, rm, fl);
    }
}
