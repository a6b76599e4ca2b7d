/* kzg.c — the EIP-4844 point evaluation precompile (0x0a): input versioned_hash(32) || z(32) || y(32) ||
 * commitment(48) || proof(48); checks versioned_hash == 0x01 || sha256(commitment)[1:] and the KZG
 * proof with c-kzg (over blst), both built from the npm package `c-kzg` by src/evm/module.mk; the
 * mainnet trusted setup is embedded in that object (vmk_kzg_setup_txt) and loaded once, lazily.
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

extern const char vmk_kzg_setup_txt[];       /* trusted_setup.txt, embedded by module.mk */
extern const char vmk_kzg_setup_txt_end[];

static KZGSettings g_settings;
static bool g_loaded;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void load_setup(void)
{
    size_t n = (size_t)(vmk_kzg_setup_txt_end - vmk_kzg_setup_txt);
    FILE *f = fmemopen((void *)vmk_kzg_setup_txt, n, "r");
    if (!f) return;
    g_loaded = load_trusted_setup_file(&g_settings, f, 0) == C_KZG_OK;
    fclose(f);
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
