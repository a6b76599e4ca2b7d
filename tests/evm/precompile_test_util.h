/* precompile_test_util.h — helpers shared by the precompile unit tests: hex conversion and a call of
 * one precompile by its address number. */
#ifndef VMK_TEST_PRECOMPILE_UTIL_H
#define VMK_TEST_PRECOMPILE_UTIL_H
#include <stdio.h>
#include <string.h>
#include "evm/evm.h"
#include "evm/precompiles.h"

static inline size_t unhex(const char *h, uint8_t *out, size_t max)
{
    size_t n = 0;
    while (h[0] && h[1] && n < max) {
        unsigned v;
        if (sscanf(h, "%2x", &v) != 1) break;
        out[n++] = (uint8_t)v;
        h += 2;
    }
    return n;
}

static inline void tohex(const uint8_t *p, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", p[i]);
    out[2 * n] = 0;
}

static inline evm_result call(int id, const uint8_t *in, size_t len, int64_t gas, enum evm_revision rev)
{
    evm_message m;
    memset(&m, 0, sizeof m);
    m.code_address.bytes[19] = (uint8_t)id;
    m.input_data = in;
    m.input_size = len;
    m.gas = gas;
    return evm_run_precompile(&m, rev);
}

#endif
