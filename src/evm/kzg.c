/* kzg.c — EIP-4844 point evaluation precompile (0x0a). Placeholder until the c-kzg/blst build lands:
 * every call fails (all gas consumed). */
#include <stddef.h>
#include <stdint.h>

int evm_kzg_point_evaluation(const uint8_t *in, size_t len, uint8_t out[64]);

int evm_kzg_point_evaluation(const uint8_t *in, size_t len, uint8_t out[64])
{
    (void)in; (void)len; (void)out;
    return -1;
}
