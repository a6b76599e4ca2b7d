/* kzg.c — the EIP-4844 point evaluation precompile (0x0a): input versioned_hash(32) || z(32) || y(32) ||
 * commitment(48) || proof(48); checks versioned_hash == 0x01 || sha256(commitment)[1:] and the KZG
 * proof with c-kzg's verify_kzg_proof (over blst), both built from the npm package `c-kzg` (pinned
 * 4.1.0) by src/evm/module.mk; the mainnet trusted setup is embedded in that object (vmk_kzg_setup_txt).
 * verify_kzg_proof reads only [tau]G2 (g2_values_monomial[1]) from its settings, while
 * load_trusted_setup also builds the EIP-7594 FK20 tables (seconds of work), so we parse the setup text
 * once, lazily, and fill just that point (decompressed and subgroup-checked with blst).
 * If the package could not be fetched at build time, the precompile always fails (all gas consumed)
 * and evm_kzg_available() says so. */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

int evm_kzg_point_evaluation(const uint8_t *in, size_t len, uint8_t out[64]);
bool evm_kzg_available(void);

#if defined(__has_include)
#if __has_include("eip4844/eip4844.h") && __has_include("setup/setup.h")
#define VMK_HAVE_CKZG 1
#endif
#endif

#ifdef VMK_HAVE_CKZG
#include "eip4844/eip4844.h"
#include "setup/setup.h"
#include "blst.h"

enum { KZG_G2_BYTES = 96 };                 /* compressed G2 point */
extern const char vmk_kzg_setup_txt[];       /* trusted_setup.txt, embedded by module.mk */
extern const char vmk_kzg_setup_txt_end[];

static KZGSettings g_settings;
static g2_t g_g2[2];
static bool g_loaded;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Returns the idx-th whitespace-separated token of [p, end) (0-based), its length in *len. */
static const char *token(const char *p, const char *end, size_t idx, size_t *len)
{
    for (size_t i = 0;; i++) {
        while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
        if (p >= end) return NULL;
        const char *t = p;
        while (p < end && !(*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t')) p++;
        if (i == idx) { *len = (size_t)(p - t); return t; }
    }
}

/* Setup text: "4096 65", 4096 G1 points (Lagrange), 65 G2 points (monomial), 4096 G1 (monomial). */
static void load_setup(void)
{
    const char *p = vmk_kzg_setup_txt, *end = vmk_kzg_setup_txt_end;
    size_t n1, n2, ng2;
    const char *a = token(p, end, 0, &n1), *b = token(p, end, 1, &n2);
    if (!a || !b || n1 != 4 || memcmp(a, "4096", 4) != 0 || n2 != 2 || memcmp(b, "65", 2) != 0) return;
    const char *g2hex = token(p, end, 2 + 4096 + 1, &ng2);
    if (!g2hex || ng2 != 2 * KZG_G2_BYTES) return;
    uint8_t raw[KZG_G2_BYTES];
    for (size_t i = 0; i < KZG_G2_BYTES; i++) {
        int hi = hexval(g2hex[2 * i]), lo = hexval(g2hex[2 * i + 1]);
        if (hi < 0 || lo < 0) return;
        raw[i] = (uint8_t)(hi << 4 | lo);
    }
    blst_p2_affine aff;
    if (blst_p2_uncompress(&aff, raw) != BLST_SUCCESS || !blst_p2_affine_in_g2(&aff)) return;
    blst_p2_from_affine(&g_g2[1], &aff);
    memset(&g_settings, 0, sizeof g_settings);
    g_settings.g2_values_monomial = g_g2;
    g_loaded = true;
}

bool evm_kzg_available(void)
{
    pthread_once(&g_once, load_setup);
    return g_loaded;
}

/* FIELD_ELEMENTS_PER_BLOB = 4096 and the BLS12-381 scalar field modulus, as two 32-byte words. */
static const uint8_t KZG_RETURN[64] = {
    [30] = 0x10, [31] = 0x00,
    0x73, 0xed, 0xa7, 0x53, 0x29, 0x9d, 0x7d, 0x48, 0x33, 0x39, 0xd8, 0x08, 0x09, 0xa1, 0xd8, 0x05,
    0x53, 0xbd, 0xa4, 0x02, 0xff, 0xfe, 0x5b, 0xfe, 0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x01};

int evm_kzg_point_evaluation(const uint8_t *in, size_t len, uint8_t out[64])
{
    if (len != 192) return -1;
    uint8_t h[32];
    unsigned hn = 0;
    if (EVP_Digest(in + 96, 48, h, &hn, EVP_sha256(), NULL) != 1 || hn != 32) return -1;
    h[0] = 0x01;
    if (memcmp(h, in, 32) != 0) return -1;
    if (!evm_kzg_available()) return -1;
    Bytes32 z, y;
    Bytes48 c, p;
    memcpy(z.bytes, in + 32, 32);
    memcpy(y.bytes, in + 64, 32);
    memcpy(c.bytes, in + 96, 48);
    memcpy(p.bytes, in + 144, 48);
    bool ok = false;
    if (verify_kzg_proof(&ok, &c, &z, &y, &p, &g_settings) != C_KZG_OK || !ok) return -1;
    memcpy(out, KZG_RETURN, 64);
    return 0;
}

#else /* c-kzg not available at build time */

bool evm_kzg_available(void) { return false; }

int evm_kzg_point_evaluation(const uint8_t *in, size_t len, uint8_t out[64])
{
    (void)in; (void)len; (void)out;
    return -1;
}
#endif
