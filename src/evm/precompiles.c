/* precompiles.c — Ethereum precompiled contracts: dispatch by address and revision, gas schedules,
 * and 0x01 ecrecover (libsecp256k1), 0x02 sha256 / 0x03 ripemd160 (OpenSSL EVP), 0x04 identity,
 * 0x05 modexp (GMP; EIP-198 / EIP-2565 gas), 0x09 blake2f (EIP-152). bn254 (0x06-0x08) lives in
 * bn254.c, the KZG point evaluation (0x0a) in kzg.c, the EIP-2537 BLS12-381 ones (0x0b-0x11, Prague)
 * in bls12.c. Every input is untrusted: any length, any claimed size; gas is always charged before any work or allocation proportional to the input. */
#include "precompiles.h"
#include "bn254.h"
#include "bls12.h"

#include <gmp.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <secp256k1.h>
#include <secp256k1_recovery.h>
#include <stdlib.h>
#include <string.h>

/* implemented in kzg.c */
int evm_kzg_point_evaluation(const uint8_t *in, size_t len, uint8_t out[64]);

/* Largest base/modulus length (bytes) we accept once its (quadratic) gas has been paid: only a gas limit
 * far beyond any real block (~10^12) reaches it. Beyond it the call fails like out-of-gas. */
#define MODEXP_MAX_LEN (16u << 20)

static void release_output(const evm_result *r) { free((void *)r->output_data); }

static evm_result res_fail(enum evm_status st)
{
    evm_result r;
    memset(&r, 0, sizeof r);
    r.status = st;
    r.gas_left = 0;
    return r;
}

/* Success with a copy of out[0..n) (n may be 0). */
static evm_result res_ok(int64_t gas_left, const uint8_t *out, size_t n)
{
    evm_result r;
    memset(&r, 0, sizeof r);
    r.status = EVM_SUCCESS;
    r.gas_left = gas_left;
    if (n) {
        uint8_t *p = malloc(n);
        if (!p) return res_fail(EVM_OUT_OF_MEMORY);
        memcpy(p, out, n);
        r.output_data = p;
        r.output_size = n;
        r.release = release_output;
    }
    return r;
}

/* Success taking ownership of a malloc'd buffer. */
static evm_result res_own(int64_t gas_left, uint8_t *out, size_t n)
{
    evm_result r;
    memset(&r, 0, sizeof r);
    r.status = EVM_SUCCESS;
    r.gas_left = gas_left;
    if (n) {
        r.output_data = out;
        r.output_size = n;
        r.release = release_output;
    } else {
        free(out);
    }
    return r;
}

/* Copies in[off .. off+n) into dst, zero-filling whatever lies beyond the input. off may be huge. */
static void read_padded(const uint8_t *in, size_t len, uint64_t off, uint8_t *dst, size_t n)
{
    memset(dst, 0, n);
    if (off >= len) return;
    size_t avail = len - (size_t)off;
    memcpy(dst, in + off, avail < n ? avail : n);
}

static uint64_t words(size_t len) { return (uint64_t)(len / 32) + (len % 32 != 0); }

/* base + per_word * words(len), saturating at INT64_MAX. */
static int64_t linear_gas(size_t len, int64_t base, int64_t per_word)
{
    uint64_t w = words(len);
    if (w > (uint64_t)(INT64_MAX - base) / (uint64_t)per_word) return INT64_MAX;
    return base + (int64_t)(w * (uint64_t)per_word);
}

/* ------------------------------------------------------------------ address & availability */

static int precompile_id(const evm_address *addr)
{
    for (int i = 0; i < 19; i++)
        if (addr->bytes[i]) return 0;
    return addr->bytes[19];
}

bool evm_is_precompile(const evm_address *addr, enum evm_revision rev)
{
    int id = precompile_id(addr);
    if (id >= 1 && id <= 4) return true;
    if (id >= 5 && id <= 8) return rev >= EVM_BYZANTIUM;
    if (id == 9) return rev >= EVM_ISTANBUL;
    if (id == 10) return rev >= EVM_CANCUN;
    if (id >= BLS12_G1ADD && id <= BLS12_MAP_FP2_TO_G2) return rev >= EVM_PRAGUE;   /* EIP-2537 */
    return false;
}

/* ------------------------------------------------------------------ 0x01 ecrecover */

static const uint8_t SECP256K1_N[32] = {
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41};

static bool is_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}

/* Fills out[32] with the recovered address word; returns false for any invalid signature. */
static bool ecrecover(const uint8_t in[128], uint8_t out[32])
{
    const uint8_t *hash = in, *v = in + 32, *r = in + 64, *s = in + 96;
    if (!is_zero(v, 31) || (v[31] != 27 && v[31] != 28)) return false;
    if (is_zero(r, 32) || is_zero(s, 32)) return false;
    if (memcmp(r, SECP256K1_N, 32) >= 0 || memcmp(s, SECP256K1_N, 32) >= 0) return false;
    const secp256k1_context *ctx = secp256k1_context_static;
    secp256k1_ecdsa_recoverable_signature sig;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &sig, in + 64, v[31] - 27)) return false;
    secp256k1_pubkey pk;
    if (!secp256k1_ecdsa_recover(ctx, &pk, &sig, hash)) return false;
    uint8_t ser[65];
    size_t n = sizeof ser;
    if (!secp256k1_ec_pubkey_serialize(ctx, ser, &n, &pk, SECP256K1_EC_UNCOMPRESSED) || n != 65) return false;
    uint8_t h[32];
    evm_keccak256(ser + 1, 64, h);
    memset(out, 0, 12);
    memcpy(out + 12, h + 12, 20);
    return true;
}

/* ------------------------------------------------------------------ 0x02 / 0x03 hashes */

static EVP_MD *g_sha256, *g_ripemd160;
static pthread_once_t g_md_once = PTHREAD_ONCE_INIT;
static void fetch_mds(void)
{
    g_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
    g_ripemd160 = EVP_MD_fetch(NULL, "RIPEMD160", NULL);   /* in OpenSSL 3.0's default provider */
}

/* sha256 (id 2) or ripemd160 (id 3) through OpenSSL; the digests are fetched once. */
static bool evp_hash(int id, const uint8_t *in, size_t len, uint8_t *out, unsigned *outlen)
{
    pthread_once(&g_md_once, fetch_mds);
    EVP_MD *md = id == 2 ? g_sha256 : g_ripemd160;
    if (!md) return false;
    return EVP_Digest(len ? in : (const uint8_t *)"", len, out, outlen, md, NULL) == 1;
}

/* ------------------------------------------------------------------ 0x05 modexp */

/* A 32-byte big-endian length, saturated to UINT64_MAX. */
static uint64_t len_word(const uint8_t w[32])
{
    if (!is_zero(w, 24)) return UINT64_MAX;
    uint64_t v = 0;
    for (int i = 24; i < 32; i++) v = v << 8 | w[i];
    return v;
}

typedef unsigned __int128 u128;

static u128 sat_mul(u128 a, u128 b)
{
    if (a && b > ~(u128)0 / a) return ~(u128)0;
    return a * b;
}

/* Gas of a modexp call per EIP-198 (before Berlin) or EIP-2565; saturated (never below the true cost,
 * and any value above INT64_MAX is unaffordable). */
static u128 modexp_gas(const uint8_t *in, size_t len, enum evm_revision rev,
                          uint64_t blen, uint64_t elen, uint64_t mlen)
{
    /* adjusted exponent length: uses the first (up to) 32 bytes of the exponent */
    uint8_t head[32];
    size_t hn = elen < 32 ? (size_t)elen : 32;
    uint64_t eoff = blen > UINT64_MAX - 96 ? UINT64_MAX : 96 + blen;
    read_padded(in, len, eoff, head, hn);
    int hbits = 0;
    for (size_t i = 0; i < hn; i++)
        if (head[i]) { hbits = (int)(hn - 1 - i) * 8 + (32 - __builtin_clz(head[i])); break; }
    /* hbits = bit length of the head value (0 if zero) */
    u128 adj;
    if (elen <= 32) adj = hbits ? (u128)(hbits - 1) : 0;
    else adj = (u128)8 * (elen - 32) + (hbits ? (u128)(hbits - 1) : 0);
    if (adj < 1) adj = 1;

    uint64_t x = blen > mlen ? blen : mlen;
    const uint64_t XCAP = (uint64_t)1 << 40;   /* beyond it, any formula exceeds INT64_MAX gas */
    u128 gas;
    if (x > XCAP) return ~(u128)0;
    if (rev >= EVM_BERLIN) {
        u128 w = ((u128)x + 7) / 8;
        u128 mc = w * w;
        gas = sat_mul(mc, adj) / 3;
        if (gas < 200) gas = 200;
    } else {
        u128 xx = (u128)x * x, mc;
        if (x <= 64) mc = xx;
        else if (x <= 1024) mc = xx / 4 + 96 * (u128)x - 3072;
        else mc = xx / 16 + 480 * (u128)x - 199680;
        gas = sat_mul(mc, adj) / 20;
    }
    return gas;
}

static evm_result run_modexp(const uint8_t *in, size_t len, int64_t gas, enum evm_revision rev)
{
    uint8_t w[32];
    read_padded(in, len, 0, w, 32);
    uint64_t blen = len_word(w);
    read_padded(in, len, 32, w, 32);
    uint64_t elen = len_word(w);
    read_padded(in, len, 64, w, 32);
    uint64_t mlen = len_word(w);

    u128 cost = modexp_gas(in, len, rev, blen, elen, mlen);
    if (cost > (u128)gas) return res_fail(EVM_OUT_OF_GAS);
    gas -= (int64_t)cost;
    if (mlen == 0) return res_ok(gas, NULL, 0);
    if (blen > MODEXP_MAX_LEN || mlen > MODEXP_MAX_LEN) return res_fail(EVM_OUT_OF_GAS);

    /* The exponent is never materialised beyond the input (its claimed length may be huge): if it runs
     * past the end, the modulus after it is all zero padding and the result is zeros. */
    uint64_t eoff = 96 + blen;
    uint64_t eavail = eoff >= len ? 0 : (len - eoff < elen ? len - eoff : elen);
    if (eavail < elen) {
        uint8_t *z = calloc((size_t)mlen, 1);
        return z ? res_own(gas, z, (size_t)mlen) : res_fail(EVM_OUT_OF_MEMORY);
    }

    uint8_t *bbuf = calloc(blen ? (size_t)blen : 1, 1);
    uint8_t *mbuf = calloc((size_t)mlen, 1);
    uint8_t *out = calloc((size_t)mlen, 1);
    if (!bbuf || !mbuf || !out) { free(bbuf); free(mbuf); free(out); return res_fail(EVM_OUT_OF_MEMORY); }
    read_padded(in, len, 96, bbuf, (size_t)blen);
    read_padded(in, len, elen > UINT64_MAX - eoff ? UINT64_MAX : eoff + elen, mbuf, (size_t)mlen);
    mpz_t b, e, m, r;
    mpz_inits(b, e, m, r, NULL);
    mpz_import(b, (size_t)blen, 1, 1, 0, 0, bbuf);
    if (eavail) mpz_import(e, (size_t)eavail, 1, 1, 0, 0, in + eoff);
    mpz_import(m, (size_t)mlen, 1, 1, 0, 0, mbuf);
    free(bbuf);
    free(mbuf);
    if (mpz_sgn(m) != 0) {
        mpz_powm(r, b, e, m);   /* r in [0, m) */
        size_t cnt = 0;
        size_t sz = (mpz_sizeinbase(r, 2) + 7) / 8;
        if (mpz_sgn(r) != 0 && sz <= mlen) mpz_export(out + (mlen - sz), &cnt, 1, 1, 0, 0, r);
    }
    mpz_clears(b, e, m, r, NULL);
    return res_own(gas, out, (size_t)mlen);
}

/* ------------------------------------------------------------------ 0x09 blake2f */

static const uint64_t BLAKE2B_IV[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL, 0xa54ff53a5f1d36f1ULL,
    0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL, 0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

static uint64_t rd64le(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = v << 8 | p[i];
    return v;
}
static void wr64le(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint64_t rotr64(uint64_t x, int n) { return x >> n | x << (64 - n); }

#define B2_G(a, b, c, d, x, y) do { \
        a = a + b + (x); d = rotr64(d ^ a, 32); \
        c = c + d;       b = rotr64(b ^ c, 24); \
        a = a + b + (y); d = rotr64(d ^ a, 16); \
        c = c + d;       b = rotr64(b ^ c, 63); } while (0)
/* the ten message schedules with constant indices, so the state stays in registers */
#define B2_ROUND0() do { B2_G(v0, v4, v8, v12, m[0], m[1]); B2_G(v1, v5, v9, v13, m[2], m[3]); \
        B2_G(v2, v6, v10, v14, m[4], m[5]); B2_G(v3, v7, v11, v15, m[6], m[7]); \
        B2_G(v0, v5, v10, v15, m[8], m[9]); B2_G(v1, v6, v11, v12, m[10], m[11]); \
        B2_G(v2, v7, v8, v13, m[12], m[13]); B2_G(v3, v4, v9, v14, m[14], m[15]); } while (0)
#define B2_ROUND1() do { B2_G(v0, v4, v8, v12, m[14], m[10]); B2_G(v1, v5, v9, v13, m[4], m[8]); \
        B2_G(v2, v6, v10, v14, m[9], m[15]); B2_G(v3, v7, v11, v15, m[13], m[6]); \
        B2_G(v0, v5, v10, v15, m[1], m[12]); B2_G(v1, v6, v11, v12, m[0], m[2]); \
        B2_G(v2, v7, v8, v13, m[11], m[7]); B2_G(v3, v4, v9, v14, m[5], m[3]); } while (0)
#define B2_ROUND2() do { B2_G(v0, v4, v8, v12, m[11], m[8]); B2_G(v1, v5, v9, v13, m[12], m[0]); \
        B2_G(v2, v6, v10, v14, m[5], m[2]); B2_G(v3, v7, v11, v15, m[15], m[13]); \
        B2_G(v0, v5, v10, v15, m[10], m[14]); B2_G(v1, v6, v11, v12, m[3], m[6]); \
        B2_G(v2, v7, v8, v13, m[7], m[1]); B2_G(v3, v4, v9, v14, m[9], m[4]); } while (0)
#define B2_ROUND3() do { B2_G(v0, v4, v8, v12, m[7], m[9]); B2_G(v1, v5, v9, v13, m[3], m[1]); \
        B2_G(v2, v6, v10, v14, m[13], m[12]); B2_G(v3, v7, v11, v15, m[11], m[14]); \
        B2_G(v0, v5, v10, v15, m[2], m[6]); B2_G(v1, v6, v11, v12, m[5], m[10]); \
        B2_G(v2, v7, v8, v13, m[4], m[0]); B2_G(v3, v4, v9, v14, m[15], m[8]); } while (0)
#define B2_ROUND4() do { B2_G(v0, v4, v8, v12, m[9], m[0]); B2_G(v1, v5, v9, v13, m[5], m[7]); \
        B2_G(v2, v6, v10, v14, m[2], m[4]); B2_G(v3, v7, v11, v15, m[10], m[15]); \
        B2_G(v0, v5, v10, v15, m[14], m[1]); B2_G(v1, v6, v11, v12, m[11], m[12]); \
        B2_G(v2, v7, v8, v13, m[6], m[8]); B2_G(v3, v4, v9, v14, m[3], m[13]); } while (0)
#define B2_ROUND5() do { B2_G(v0, v4, v8, v12, m[2], m[12]); B2_G(v1, v5, v9, v13, m[6], m[10]); \
        B2_G(v2, v6, v10, v14, m[0], m[11]); B2_G(v3, v7, v11, v15, m[8], m[3]); \
        B2_G(v0, v5, v10, v15, m[4], m[13]); B2_G(v1, v6, v11, v12, m[7], m[5]); \
        B2_G(v2, v7, v8, v13, m[15], m[14]); B2_G(v3, v4, v9, v14, m[1], m[9]); } while (0)
#define B2_ROUND6() do { B2_G(v0, v4, v8, v12, m[12], m[5]); B2_G(v1, v5, v9, v13, m[1], m[15]); \
        B2_G(v2, v6, v10, v14, m[14], m[13]); B2_G(v3, v7, v11, v15, m[4], m[10]); \
        B2_G(v0, v5, v10, v15, m[0], m[7]); B2_G(v1, v6, v11, v12, m[6], m[3]); \
        B2_G(v2, v7, v8, v13, m[9], m[2]); B2_G(v3, v4, v9, v14, m[8], m[11]); } while (0)
#define B2_ROUND7() do { B2_G(v0, v4, v8, v12, m[13], m[11]); B2_G(v1, v5, v9, v13, m[7], m[14]); \
        B2_G(v2, v6, v10, v14, m[12], m[1]); B2_G(v3, v7, v11, v15, m[3], m[9]); \
        B2_G(v0, v5, v10, v15, m[5], m[0]); B2_G(v1, v6, v11, v12, m[15], m[4]); \
        B2_G(v2, v7, v8, v13, m[8], m[6]); B2_G(v3, v4, v9, v14, m[2], m[10]); } while (0)
#define B2_ROUND8() do { B2_G(v0, v4, v8, v12, m[6], m[15]); B2_G(v1, v5, v9, v13, m[14], m[9]); \
        B2_G(v2, v6, v10, v14, m[11], m[3]); B2_G(v3, v7, v11, v15, m[0], m[8]); \
        B2_G(v0, v5, v10, v15, m[12], m[2]); B2_G(v1, v6, v11, v12, m[13], m[7]); \
        B2_G(v2, v7, v8, v13, m[1], m[4]); B2_G(v3, v4, v9, v14, m[10], m[5]); } while (0)
#define B2_ROUND9() do { B2_G(v0, v4, v8, v12, m[10], m[2]); B2_G(v1, v5, v9, v13, m[8], m[4]); \
        B2_G(v2, v6, v10, v14, m[7], m[6]); B2_G(v3, v7, v11, v15, m[1], m[5]); \
        B2_G(v0, v5, v10, v15, m[15], m[11]); B2_G(v1, v6, v11, v12, m[9], m[14]); \
        B2_G(v2, v7, v8, v13, m[3], m[12]); B2_G(v3, v4, v9, v14, m[13], m[0]); } while (0)

/* The BLAKE2b compression function F with a caller-chosen number of rounds (EIP-152). */
static void blake2b_f(uint32_t rounds, uint64_t h[8], const uint64_t m[16], const uint64_t t[2], bool last)
{
    uint64_t v0 = h[0], v1 = h[1], v2 = h[2], v3 = h[3], v4 = h[4], v5 = h[5], v6 = h[6], v7 = h[7];
    uint64_t v8 = BLAKE2B_IV[0], v9 = BLAKE2B_IV[1], v10 = BLAKE2B_IV[2], v11 = BLAKE2B_IV[3];
    uint64_t v12 = BLAKE2B_IV[4] ^ t[0], v13 = BLAKE2B_IV[5] ^ t[1];
    uint64_t v14 = last ? ~BLAKE2B_IV[6] : BLAKE2B_IV[6], v15 = BLAKE2B_IV[7];
    uint32_t r = rounds;
    for (; r >= 10; r -= 10) {
        B2_ROUND0(); B2_ROUND1(); B2_ROUND2(); B2_ROUND3(); B2_ROUND4();
        B2_ROUND5(); B2_ROUND6(); B2_ROUND7(); B2_ROUND8(); B2_ROUND9();
    }
    /* the remaining r < 10 rounds continue the schedule at index 0 (rounds is a multiple of 10 so far) */
    switch (r) {
    case 9: B2_ROUND0(); B2_ROUND1(); B2_ROUND2(); B2_ROUND3(); B2_ROUND4(); B2_ROUND5(); B2_ROUND6(); B2_ROUND7(); B2_ROUND8(); break;
    case 8: B2_ROUND0(); B2_ROUND1(); B2_ROUND2(); B2_ROUND3(); B2_ROUND4(); B2_ROUND5(); B2_ROUND6(); B2_ROUND7(); break;
    case 7: B2_ROUND0(); B2_ROUND1(); B2_ROUND2(); B2_ROUND3(); B2_ROUND4(); B2_ROUND5(); B2_ROUND6(); break;
    case 6: B2_ROUND0(); B2_ROUND1(); B2_ROUND2(); B2_ROUND3(); B2_ROUND4(); B2_ROUND5(); break;
    case 5: B2_ROUND0(); B2_ROUND1(); B2_ROUND2(); B2_ROUND3(); B2_ROUND4(); break;
    case 4: B2_ROUND0(); B2_ROUND1(); B2_ROUND2(); B2_ROUND3(); break;
    case 3: B2_ROUND0(); B2_ROUND1(); B2_ROUND2(); break;
    case 2: B2_ROUND0(); B2_ROUND1(); break;
    case 1: B2_ROUND0(); break;
    default: break;
    }
    h[0] ^= v0 ^ v8; h[1] ^= v1 ^ v9; h[2] ^= v2 ^ v10; h[3] ^= v3 ^ v11;
    h[4] ^= v4 ^ v12; h[5] ^= v5 ^ v13; h[6] ^= v6 ^ v14; h[7] ^= v7 ^ v15;
}

static evm_result run_blake2f(const uint8_t *in, size_t len, int64_t gas)
{
    if (len != 213) return res_fail(EVM_PRECOMPILE_FAILURE);
    uint32_t rounds = (uint32_t)in[0] << 24 | (uint32_t)in[1] << 16 | (uint32_t)in[2] << 8 | in[3];
    if ((int64_t)rounds > gas) return res_fail(EVM_OUT_OF_GAS);
    if (in[212] > 1) return res_fail(EVM_PRECOMPILE_FAILURE);
    uint64_t h[8], m[16], t[2];
    for (int i = 0; i < 8; i++) h[i] = rd64le(in + 4 + 8 * i);
    for (int i = 0; i < 16; i++) m[i] = rd64le(in + 68 + 8 * i);
    t[0] = rd64le(in + 196);
    t[1] = rd64le(in + 204);
    blake2b_f(rounds, h, m, t, in[212] == 1);
    uint8_t out[64];
    for (int i = 0; i < 8; i++) wr64le(out + 8 * i, h[i]);
    return res_ok(gas - rounds, out, 64);
}

/* ------------------------------------------------------------------ dispatch */

evm_result evm_run_precompile(const evm_message *msg, enum evm_revision rev)
{
    if (!evm_is_precompile(&msg->code_address, rev)) return res_fail(EVM_REJECTED);
    int id = precompile_id(&msg->code_address);
    const uint8_t *in = msg->input_size ? msg->input_data : (const uint8_t *)"";
    size_t len = msg->input_data ? msg->input_size : 0;
    int64_t gas = msg->gas < 0 ? 0 : msg->gas;
    int64_t cost;

    switch (id) {
    case 1: {
        cost = 3000;
        if (cost > gas) return res_fail(EVM_OUT_OF_GAS);
        uint8_t buf[128], out[32];
        read_padded(in, len, 0, buf, sizeof buf);
        if (!ecrecover(buf, out)) return res_ok(gas - cost, NULL, 0);
        return res_ok(gas - cost, out, 32);
    }
    case 2:
    case 3: {
        cost = id == 2 ? linear_gas(len, 60, 12) : linear_gas(len, 600, 120);
        if (cost > gas) return res_fail(EVM_OUT_OF_GAS);
        uint8_t d[64], out[32];
        unsigned n = 0;
        if (!evp_hash(id, in, len, d, &n)) return res_fail(EVM_INTERNAL_ERROR);
        if (id == 2) return res_ok(gas - cost, d, 32);
        memset(out, 0, 12);
        memcpy(out + 12, d, 20);
        return res_ok(gas - cost, out, 32);
    }
    case 4:
        cost = linear_gas(len, 15, 3);
        if (cost > gas) return res_fail(EVM_OUT_OF_GAS);
        return res_ok(gas - cost, in, len);
    case 5:
        return run_modexp(in, len, gas, rev);
    case 6:
    case 7: {
        bool ist = rev >= EVM_ISTANBUL;
        cost = id == 6 ? (ist ? 150 : 500) : (ist ? 6000 : 40000);
        if (cost > gas) return res_fail(EVM_OUT_OF_GAS);
        uint8_t buf[128], out[64];
        read_padded(in, len, 0, buf, sizeof buf);
        int rc = id == 6 ? bn254_g1_add(buf, buf + 64, out) : bn254_g1_mul(buf, buf + 64, out);
        if (rc != 0) return res_fail(EVM_PRECOMPILE_FAILURE);
        return res_ok(gas - cost, out, 64);
    }
    case 8: {
        bool ist = rev >= EVM_ISTANBUL;
        if (len % 192 != 0) return res_fail(EVM_PRECOMPILE_FAILURE);
        uint64_t k = len / 192;
        uint64_t base = ist ? 45000 : 100000, per = ist ? 34000 : 80000;
        if (k > (uint64_t)(INT64_MAX - base) / per) return res_fail(EVM_OUT_OF_GAS);
        cost = (int64_t)(base + per * k);
        if (cost > gas) return res_fail(EVM_OUT_OF_GAS);
        int rc = bn254_pairing_check(in, (size_t)k);
        if (rc < 0) return res_fail(EVM_PRECOMPILE_FAILURE);
        uint8_t out[32] = {0};
        out[31] = (uint8_t)(rc == 1);
        return res_ok(gas - cost, out, 32);
    }
    case 9:
        return run_blake2f(in, len, gas);
    case 10: {
        cost = 50000;
        if (cost > gas) return res_fail(EVM_OUT_OF_GAS);
        uint8_t out[64];
        if (evm_kzg_point_evaluation(in, len, out) != 0) return res_fail(EVM_PRECOMPILE_FAILURE);
        return res_ok(gas - cost, out, 64);
    }
    case BLS12_G1ADD: case BLS12_G1MSM: case BLS12_G2ADD: case BLS12_G2MSM:
    case BLS12_PAIRING: case BLS12_MAP_FP_TO_G1: case BLS12_MAP_FP2_TO_G2: {   /* bls12.c */
        cost = evm_bls12_gas(id, len);
        if (cost > gas) return res_fail(EVM_OUT_OF_GAS);
        uint8_t out[BLS12_OUT_MAX];
        size_t n = 0;
        if (evm_bls12_run(id, in, len, out, &n) != 0) return res_fail(EVM_PRECOMPILE_FAILURE);
        return res_ok(gas - cost, out, n);
    }
    default:
        return res_fail(EVM_REJECTED);
    }
}
