/* bls12.c — the EIP-2537 BLS12-381 precompiles (Prague): 0x0b G1ADD, 0x0c G1MSM, 0x0d G2ADD,
 * 0x0e G2MSM, 0x0f PAIRING_CHECK, 0x10 MAP_FP_TO_G1, 0x11 MAP_FP2_TO_G2 — input decoding (64-byte
 * field elements with 16 zero top bytes, value < p; G1 128 bytes, G2 256 bytes with Fp2 as c0||c1,
 * infinity all zeros), curve/subgroup checks, the gas schedule with the MSM discount tables, and the
 * arithmetic through blst (compiled into libvmk_evm.a by src/evm/module.mk from the npm package
 * c-kzg; headers found through src/evm/bls12.mk). Only MSM allocates, O(k) for k paid-for pairs.
 * If blst is not available at build time every call fails cleanly. */
#include "bls12.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ gas (independent of blst) */

/* EIP-2537 MSM discounts (per mille) for k = 1..128; k > 128 uses the last entry. */
static const uint16_t G1_DISCOUNT[128] = {
    1000, 949, 848, 797, 764, 750, 738, 728, 719, 712, 705, 698, 692, 687, 682, 677,
    673, 669, 665, 661, 658, 654, 651, 648, 645, 642, 640, 637, 635, 632, 630, 627,
    625, 623, 621, 619, 617, 615, 613, 611, 609, 608, 606, 604, 603, 601, 599, 598,
    596, 595, 593, 592, 591, 589, 588, 586, 585, 584, 582, 581, 580, 579, 577, 576,
    575, 574, 573, 572, 570, 569, 568, 567, 566, 565, 564, 563, 562, 561, 560, 559,
    558, 557, 556, 555, 554, 553, 552, 551, 550, 549, 548, 547, 547, 546, 545, 544,
    543, 542, 541, 540, 540, 539, 538, 537, 536, 536, 535, 534, 533, 532, 532, 531,
    530, 529, 528, 528, 527, 526, 525, 525, 524, 523, 522, 522, 521, 520, 520, 519};
static const uint16_t G2_DISCOUNT[128] = {
    1000, 1000, 923, 884, 855, 832, 812, 796, 782, 770, 759, 749, 740, 732, 724, 717,
    711, 704, 699, 693, 688, 683, 679, 674, 670, 666, 663, 659, 655, 652, 649, 646,
    643, 640, 637, 634, 632, 629, 627, 624, 622, 620, 618, 615, 613, 611, 609, 607,
    606, 604, 602, 600, 598, 597, 595, 593, 592, 590, 589, 587, 586, 584, 583, 582,
    580, 579, 578, 576, 575, 574, 573, 571, 570, 569, 568, 567, 566, 565, 563, 562,
    561, 560, 559, 558, 557, 556, 555, 554, 553, 552, 552, 551, 550, 549, 548, 547,
    546, 545, 545, 544, 543, 542, 541, 541, 540, 539, 538, 537, 537, 536, 535, 535,
    534, 533, 532, 532, 531, 530, 530, 529, 528, 528, 527, 526, 526, 525, 524, 524};

enum { FP_LEN = 64, G1_LEN = 128, G2_LEN = 256, SCALAR_LEN = 32,
       G1MSM_PAIR = G1_LEN + SCALAR_LEN, G2MSM_PAIR = G2_LEN + SCALAR_LEN, PAIRING_PAIR = G1_LEN + G2_LEN };

static int64_t sat(unsigned __int128 v) { return v > (unsigned __int128)INT64_MAX ? INT64_MAX : (int64_t)v; }

static int64_t msm_gas(size_t k, uint64_t mul_cost, const uint16_t *table)
{
    if (k == 0) return 0;
    uint64_t disc = k > 128 ? table[127] : table[k - 1];
    return sat((unsigned __int128)k * mul_cost * disc / 1000);
}

int64_t evm_bls12_gas(int id, size_t len)
{
    switch (id) {
    case BLS12_G1ADD: return 375;
    case BLS12_G2ADD: return 600;
    case BLS12_G1MSM: return msm_gas(len / G1MSM_PAIR, 12000, G1_DISCOUNT);
    case BLS12_G2MSM: return msm_gas(len / G2MSM_PAIR, 22500, G2_DISCOUNT);
    case BLS12_PAIRING: return sat((unsigned __int128)(len / PAIRING_PAIR) * 32600 + 37700);
    case BLS12_MAP_FP_TO_G1: return 5500;
    case BLS12_MAP_FP2_TO_G2: return 23800;
    default: return INT64_MAX;
    }
}

#if defined(__has_include)
#if __has_include("blst.h")
#define VMK_HAVE_BLST 1
#endif
#endif

#ifdef VMK_HAVE_BLST
#include "blst.h"

bool evm_bls12_available(void) { return true; }

/* the base field modulus p, big-endian */
static const uint8_t P_BE[48] = {
    0x1a, 0x01, 0x11, 0xea, 0x39, 0x7f, 0xe6, 0x9a, 0x4b, 0x1b, 0xa7, 0xb6, 0x43, 0x4b, 0xac, 0xd7,
    0x64, 0x77, 0x4b, 0x84, 0xf3, 0x85, 0x12, 0xbf, 0x67, 0x30, 0xd2, 0xa0, 0xf6, 0xb0, 0xf6, 0x24,
    0x1e, 0xab, 0xff, 0xfe, 0xb1, 0x53, 0xff, 0xff, 0xb9, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xab};

static bool all_zero(const uint8_t *p, size_t n)
{
    uint8_t acc = 0;
    for (size_t i = 0; i < n; i++) acc |= p[i];
    return acc == 0;
}

/* 64-byte field element: 16 zero bytes, then a 48-byte big-endian value < p. */
static bool fp_decode(blst_fp *out, const uint8_t in[FP_LEN])
{
    if (!all_zero(in, 16)) return false;
    if (memcmp(in + 16, P_BE, 48) >= 0) return false;
    blst_fp_from_bendian(out, in + 16);
    return true;
}

static void fp_encode(uint8_t out[FP_LEN], const blst_fp *a)
{
    memset(out, 0, 16);
    blst_bendian_from_fp(out + 16, a);
}

static bool fp2_decode(blst_fp2 *out, const uint8_t in[2 * FP_LEN])
{
    return fp_decode(&out->fp[0], in) && fp_decode(&out->fp[1], in + FP_LEN);
}

/* G1 point (128 bytes) -> affine, *inf set for the all-zero encoding (then a is not meaningful). */
static bool g1_decode_affine(blst_p1_affine *a, bool *inf, const uint8_t in[G1_LEN], bool subgroup)
{
    *inf = all_zero(in, G1_LEN);
    if (*inf) return true;
    if (!fp_decode(&a->x, in) || !fp_decode(&a->y, in + FP_LEN)) return false;
    if (!blst_p1_affine_on_curve(a)) return false;
    return !subgroup || blst_p1_affine_in_g1(a);
}

static bool g2_decode_affine(blst_p2_affine *a, bool *inf, const uint8_t in[G2_LEN], bool subgroup)
{
    *inf = all_zero(in, G2_LEN);
    if (*inf) return true;
    if (!fp2_decode(&a->x, in) || !fp2_decode(&a->y, in + 2 * FP_LEN)) return false;
    if (!blst_p2_affine_on_curve(a)) return false;
    return !subgroup || blst_p2_affine_in_g2(a);
}

/* G1 point (128 bytes) -> Jacobian; checks the encoding, that it is on the curve and (if subgroup)
 * in G1. All zeros is the point at infinity. */
static bool g1_decode(blst_p1 *out, const uint8_t in[G1_LEN], bool subgroup)
{
    if (all_zero(in, G1_LEN)) { memset(out, 0, sizeof *out); return true; }
    blst_p1_affine a;
    if (!fp_decode(&a.x, in) || !fp_decode(&a.y, in + FP_LEN)) return false;
    if (!blst_p1_affine_on_curve(&a)) return false;
    if (subgroup && !blst_p1_affine_in_g1(&a)) return false;
    blst_p1_from_affine(out, &a);
    return true;
}

static bool g2_decode(blst_p2 *out, const uint8_t in[G2_LEN], bool subgroup)
{
    if (all_zero(in, G2_LEN)) { memset(out, 0, sizeof *out); return true; }
    blst_p2_affine a;
    if (!fp2_decode(&a.x, in) || !fp2_decode(&a.y, in + 2 * FP_LEN)) return false;
    if (!blst_p2_affine_on_curve(&a)) return false;
    if (subgroup && !blst_p2_affine_in_g2(&a)) return false;
    blst_p2_from_affine(out, &a);
    return true;
}

static void g1_encode(uint8_t out[G1_LEN], const blst_p1 *p)
{
    if (blst_p1_is_inf(p)) { memset(out, 0, G1_LEN); return; }
    blst_p1_affine a;
    blst_p1_to_affine(&a, p);
    fp_encode(out, &a.x);
    fp_encode(out + FP_LEN, &a.y);
}

static void g2_encode(uint8_t out[G2_LEN], const blst_p2 *p)
{
    if (blst_p2_is_inf(p)) { memset(out, 0, G2_LEN); return; }
    blst_p2_affine a;
    blst_p2_to_affine(&a, p);
    fp_encode(out, &a.x.fp[0]);
    fp_encode(out + FP_LEN, &a.x.fp[1]);
    fp_encode(out + 2 * FP_LEN, &a.y.fp[0]);
    fp_encode(out + 3 * FP_LEN, &a.y.fp[1]);
}

/* 32-byte big-endian scalar -> little-endian bytes for blst (used as is, not reduced mod r). */
static void scalar_le(uint8_t le[SCALAR_LEN], const uint8_t be[SCALAR_LEN])
{
    for (int i = 0; i < SCALAR_LEN; i++) le[i] = be[SCALAR_LEN - 1 - i];
}

/* MSM: every pair is decoded and checked first; pairs with the point at infinity or scalar 0 add
 * nothing and are dropped; the rest go to blst's Pippenger / windowed multi-point multiplication
 * (points and little-endian scalars copied into one allocation of O(k), k being paid for in gas). */
#define DEFINE_MSM(name, P, PAIR, PLEN, decode_aff)                                                   \
static int name(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)                        \
{                                                                                                    \
    if (len == 0 || len % PAIR) return -1;                                                           \
    size_t k = len / PAIR, m = 0;                                                                    \
    P##_affine *pts = malloc(k * (sizeof(P##_affine) + SCALAR_LEN));                                 \
    if (!pts) return -1;                                                                             \
    uint8_t *sc = (uint8_t *)(pts + k);                                                              \
    for (size_t off = 0; off < len; off += PAIR) {                                                   \
        bool inf;                                                                                    \
        if (!decode_aff(&pts[m], &inf, in + off, true)) { free(pts); return -1; }                    \
        const uint8_t *s = in + off + PLEN;                                                          \
        if (inf || all_zero(s, SCALAR_LEN)) continue;                                                \
        scalar_le(sc + m * SCALAR_LEN, s);                                                           \
        m++;                                                                                         \
    }                                                                                                \
    P acc;                                                                                           \
    memset(&acc, 0, sizeof acc);                                                                     \
    if (m == 1) {                                                                                    \
        P t;                                                                                         \
        P##_from_affine(&t, &pts[0]);                                                                \
        P##_mult(&acc, &t, sc, 256);                                                                 \
    } else if (m > 1) {                                                                              \
        limb_t *scratch = malloc(P##s_mult_pippenger_scratch_sizeof(m));                             \
        if (!scratch) { free(pts); return -1; }                                                      \
        const P##_affine *pp[2] = {pts, NULL};                                                       \
        const uint8_t *ss[2] = {sc, NULL};                                                           \
        P##s_mult_pippenger(&acc, pp, m, ss, 256, scratch);                                          \
        free(scratch);                                                                               \
    }                                                                                                \
    free(pts);                                                                                       \
    P##_encode(out, &acc);                                                                           \
    *out_len = PLEN;                                                                                 \
    return 0;                                                                                        \
}

#define blst_p1_encode g1_encode
#define blst_p2_encode g2_encode
DEFINE_MSM(g1_msm, blst_p1, G1MSM_PAIR, G1_LEN, g1_decode_affine)
DEFINE_MSM(g2_msm, blst_p2, G2MSM_PAIR, G2_LEN, g2_decode_affine)

static int pairing_check(const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    if (len == 0 || len % PAIRING_PAIR) return -1;
    blst_fp12 acc, f;
    bool have = false;
    for (size_t off = 0; off < len; off += PAIRING_PAIR) {
        blst_p1 p;
        blst_p2 q;
        if (!g1_decode(&p, in + off, true) || !g2_decode(&q, in + off + G1_LEN, true)) return -1;
        if (blst_p1_is_inf(&p) || blst_p2_is_inf(&q)) continue;   /* e(O, Q) = e(P, O) = 1 */
        blst_p1_affine pa;
        blst_p2_affine qa;
        blst_p1_to_affine(&pa, &p);
        blst_p2_to_affine(&qa, &q);
        blst_miller_loop(&f, &qa, &pa);
        if (have) blst_fp12_mul(&acc, &acc, &f);
        else { acc = f; have = true; }
    }
    bool one = true;
    if (have) {
        blst_final_exp(&f, &acc);
        one = blst_fp12_is_one(&f);
    }
    memset(out, 0, 32);
    out[31] = one ? 1 : 0;
    *out_len = 32;
    return 0;
}

int evm_bls12_run(int id, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    *out_len = 0;
    switch (id) {
    case BLS12_G1ADD: {
        if (len != 2 * G1_LEN) return -1;
        blst_p1 a, b;
        if (!g1_decode(&a, in, false) || !g1_decode(&b, in + G1_LEN, false)) return -1;
        blst_p1_add_or_double(&a, &a, &b);
        g1_encode(out, &a);
        *out_len = G1_LEN;
        return 0;
    }
    case BLS12_G2ADD: {
        if (len != 2 * G2_LEN) return -1;
        blst_p2 a, b;
        if (!g2_decode(&a, in, false) || !g2_decode(&b, in + G2_LEN, false)) return -1;
        blst_p2_add_or_double(&a, &a, &b);
        g2_encode(out, &a);
        *out_len = G2_LEN;
        return 0;
    }
    case BLS12_G1MSM: return g1_msm(in, len, out, out_len);
    case BLS12_G2MSM: return g2_msm(in, len, out, out_len);
    case BLS12_PAIRING: return pairing_check(in, len, out, out_len);
    case BLS12_MAP_FP_TO_G1: {
        if (len != FP_LEN) return -1;
        blst_fp u;
        if (!fp_decode(&u, in)) return -1;
        blst_p1 p;
        blst_map_to_g1(&p, &u, NULL);   /* SSWU + 11-isogeny + cofactor clearing */
        g1_encode(out, &p);
        *out_len = G1_LEN;
        return 0;
    }
    case BLS12_MAP_FP2_TO_G2: {
        if (len != 2 * FP_LEN) return -1;
        blst_fp2 u;
        if (!fp2_decode(&u, in)) return -1;
        blst_p2 p;
        blst_map_to_g2(&p, &u, NULL);   /* SSWU + 3-isogeny + cofactor clearing */
        g2_encode(out, &p);
        *out_len = G2_LEN;
        return 0;
    }
    default:
        return -1;
    }
}

#else /* !VMK_HAVE_BLST */

bool evm_bls12_available(void) { return false; }

int evm_bls12_run(int id, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len)
{
    (void)id; (void)in; (void)len; (void)out;
    *out_len = 0;
    return -1;
}

#endif
