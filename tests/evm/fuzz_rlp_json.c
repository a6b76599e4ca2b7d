/* fuzz_rlp_json.c — libFuzzer target for the EVM host's parsers: the strict RLP decoder/validator and
 * the state-test JSON runner (parse, build state, execute, roots). Build: `make evm-fuzz` (clang);
 * run: build-fuzz/evm/fuzz_rlp_json [corpus dir] -max_total_time=60. */
#include "evm/internal.h"
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* RLP: validate; if valid, walk the top-level items once more through rlp_decode */
    long n = rlp_validate(data, size);
    if (n > 0) {
        rlp_item it;
        if (rlp_decode(data, size, &it) || it.total_len != size) abort();   /* validate and decode disagree */
    }
    /* JSON: only inputs that look like JSON objects, to keep the RLP half fast */
    if (size > 0 && data[0] == '{' && size < (1u << 20)) {
        static FILE *devnull;
        if (!devnull) devnull = fopen("/dev/null", "w");
        st_opts o = {.fork = -1, .trace = false, .bench = 0};
        st_counts c;
        memset(&c, 0, sizeof c);
        st_run_json("fuzz", (const char *)data, size, &o, &c, devnull ? devnull : stdout);
    }
    return 0;
}
