/* fuzz_bls12.c — libFuzzer target for the EIP-2537 precompiles (src/evm/bls12.c through
 * evm_run_precompile at Prague). Input: [0] selector (0x0b + b % 7), rest the call data. Invariants:
 * never crash; failure consumes all gas; success charges exactly evm_bls12_gas and returns a well-formed
 * result: a point (128/256 bytes) that decodes as a valid point (on the curve; in the subgroup for
 * MSM and map outputs) or the 32-byte 0/1 pairing word. Built by tests/evm/bls12.mk. */
#include "evm/precompiles.h"
#include "evm/bls12.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__has_include)
#if __has_include("blst.h")
#include "blst.h"
#define VMK_HAVE_BLST 1
#endif
#endif

#ifdef VMK_HAVE_BLST
static void fp_dec(blst_fp *f, const uint8_t *in)
{
    for (int i = 0; i < 16; i++)
        if (in[i]) abort();
    blst_fp_from_bendian(f, in + 16);
}
static bool zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i]) return false;
    return true;
}
static void check_g1(const uint8_t *o, bool sub)
{
    if (zero(o, 128)) return;
    blst_p1_affine a;
    fp_dec(&a.x, o);
    fp_dec(&a.y, o + 64);
    if (!blst_p1_affine_on_curve(&a)) abort();
    if (sub && !blst_p1_affine_in_g1(&a)) abort();
}
static void check_g2(const uint8_t *o, bool sub)
{
    if (zero(o, 256)) return;
    blst_p2_affine a;
    fp_dec(&a.x.fp[0], o);
    fp_dec(&a.x.fp[1], o + 64);
    fp_dec(&a.y.fp[0], o + 128);
    fp_dec(&a.y.fp[1], o + 192);
    if (!blst_p2_affine_on_curve(&a)) abort();
    if (sub && !blst_p2_affine_in_g2(&a)) abort();
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1) return 0;
    int id = 0x0b + data[0] % 7;
    evm_message m;
    memset(&m, 0, sizeof m);
    m.code_address.bytes[19] = (uint8_t)id;
    m.input_data = size > 1 ? data + 1 : NULL;
    m.input_size = size - 1;
    m.gas = 50000000;
    evm_result r = evm_run_precompile(&m, EVM_PRAGUE);
    if (r.status != EVM_SUCCESS) {
        if (r.gas_left != 0) abort();
    } else {
        if (m.gas - r.gas_left != evm_bls12_gas(id, m.input_size)) abort();
        size_t want = id == BLS12_PAIRING ? 32 : (id == 0x0b || id == 0x0c || id == 0x10) ? 128 : 256;
        if (r.output_size != want) abort();
#ifdef VMK_HAVE_BLST
        if (want == 128) check_g1(r.output_data, id != BLS12_G1ADD);
        if (want == 256) check_g2(r.output_data, id != BLS12_G2ADD);
#endif
        if (id == BLS12_PAIRING && (!zero(r.output_data, 31) || r.output_data[31] > 1)) abort();
    }
    evm_release_result(&r);
    return 0;
}
