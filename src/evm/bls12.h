/* bls12.h — internal: the EIP-2537 BLS12-381 precompiles (0x0b..0x11, Prague), implemented in bls12.c
 * over blst (built into libvmk_evm.a from the npm package c-kzg by src/evm/module.mk). */
#ifndef VMK_EVM_BLS12_H
#define VMK_EVM_BLS12_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum {
    BLS12_G1ADD = 0x0b, BLS12_G1MSM = 0x0c, BLS12_G2ADD = 0x0d, BLS12_G2MSM = 0x0e,
    BLS12_PAIRING = 0x0f, BLS12_MAP_FP_TO_G1 = 0x10, BLS12_MAP_FP2_TO_G2 = 0x11,
    BLS12_OUT_MAX = 256   /* largest output: one G2 point */
};

/* Gas of precompile id (0x0b..0x11) on an input of len bytes, saturated at INT64_MAX (any length). */
int64_t evm_bls12_gas(int id, size_t len);
/* Runs precompile id on in[0..len): 0 and the output in out[0..*out_len) (out holds BLS12_OUT_MAX
 * bytes), or -1 for any invalid input (wrong length, bad field element, point off the curve or, for
 * MSM/pairing, outside the subgroup) or when blst is not built in. */
int evm_bls12_run(int id, const uint8_t *in, size_t len, uint8_t *out, size_t *out_len);
/* True if blst was built in (else every call fails). */
bool evm_bls12_available(void);

#endif
