/* precompiles.h — internal: Ethereum precompiled contracts 0x01..0x0a (and 0x0b..0x11 for Prague).
 * Used by the host's message-call code; independent of the interpreter. */
#ifndef VMK_EVM_PRECOMPILES_H
#define VMK_EVM_PRECOMPILES_H
#include "evm.h"

/* True if addr is a precompile active in rev (0x01-0x04 Frontier, 0x05-0x08 Byzantium, 0x09 Istanbul,
 * 0x0a Cancun, 0x0b-0x11 Prague). */
bool evm_is_precompile(const evm_address *addr, enum evm_revision rev);
/* Runs the precompile msg->code_address on msg->input_data with msg->gas: charges its gas; on success
 * status EVM_SUCCESS with gas_left and malloc'd output (release set); out of gas or bad input:
 * EVM_OUT_OF_GAS / EVM_PRECOMPILE_FAILURE with gas_left 0. Never crashes on any input. */
evm_result evm_run_precompile(const evm_message *msg, enum evm_revision rev);

#endif
