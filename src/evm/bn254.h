/* bn254.h — internal: alt_bn128 (BN254) arithmetic for the precompiles 0x06 (add), 0x07 (mul) and
 * 0x08 (pairing check), EIP-196/197 encodings (big-endian 32-byte coordinates, Fp2 as imaginary||real,
 * all-zero = point at infinity). */
#ifndef VMK_EVM_BN254_H
#define VMK_EVM_BN254_H
#include <stddef.h>
#include <stdint.h>

/* out = a + b. Returns 0, or -1 if a point is invalid (coordinate >= p or not on the curve). */
int bn254_g1_add(const uint8_t a[64], const uint8_t b[64], uint8_t out[64]);
/* out = s * a (s: 256-bit big-endian scalar). Returns 0, or -1 if a is invalid. */
int bn254_g1_mul(const uint8_t a[64], const uint8_t s[32], uint8_t out[64]);
/* in: k pairs of (G1 64 bytes, G2 128 bytes). Returns 1 if the product of the pairings is 1, 0 if not,
 * -1 if any point is invalid (coordinate >= p, not on its curve, G2 not in the r-torsion subgroup). */
int bn254_pairing_check(const uint8_t *in, size_t k);

#endif
