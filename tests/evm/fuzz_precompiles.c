/* fuzz_precompiles.c — libFuzzer target for the EVM precompiled contracts (src/evm/precompiles.c,
 * bn254.c, kzg.c). Input: [0] precompile selector (1..10), [1] revision, [2..4] gas (24 bits), rest the
 * call data. Checks the result invariants: failures leave no gas, successes never create gas, output
 * sizes are the fixed ones of each contract, identity echoes its input. */
#include "evm/precompiles.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5) return 0;
    evm_message m;
    memset(&m, 0, sizeof m);
    m.code_address.bytes[19] = (uint8_t)(1 + data[0] % 10);
    enum evm_revision rev = (enum evm_revision)(data[1] % (EVM_MAX_REVISION + 1));
    m.gas = (int64_t)data[2] << 16 | (int64_t)data[3] << 8 | data[4];
    m.input_data = data + 5;
    m.input_size = size - 5;
    evm_result r = evm_run_precompile(&m, rev);
    int id = m.code_address.bytes[19];
    if (r.status == EVM_SUCCESS) {
        if (r.gas_left < 0 || r.gas_left > m.gas) abort();
        if (r.output_size && !r.output_data) abort();
        size_t want = (size_t)-1;
        if (id == 2 || id == 3) want = 32;
        if (id == 4) want = m.input_size;
        if (id == 6 || id == 7 || id == 9 || id == 10) want = 64;
        if (id == 8) want = 32;
        if (id == 1 && r.output_size != 0 && r.output_size != 32) abort();
        if (want != (size_t)-1 && r.output_size != want) abort();
        if (id == 4 && m.input_size && memcmp(r.output_data, m.input_data, m.input_size) != 0) abort();
        if (id == 8 && (r.output_data[31] > 1)) abort();
    } else if (r.gas_left != 0) {
        abort();
    }
    evm_release_result(&r);
    return 0;
}
