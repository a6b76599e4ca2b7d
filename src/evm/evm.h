/* evm.h — the vmkit Ethereum Virtual Machine: public C API.
 *
 * In the spirit of EVMC: the interpreter (evm_execute) runs one message frame over a host interface;
 * the host owns all state (accounts, storage, transient storage, logs, access lists) and performs nested
 * calls and creations through the `call` callback, which in turn calls evm_execute for the child frame.
 * All byte arrays are big-endian, as on the wire. Semantics of every callback and status follow EVMC
 * (evmc.h, ABI 10+) exactly unless noted here.
 *
 * Layers in src/evm/:
 *   interpreter  — evm_execute (analysis, dispatch, gas, memory, stack), uint256 arithmetic
 *   host/state   — evm_state (accounts, journal), message calls & creation, transaction processing
 *   precompiles  — evm_precompile_* (ecrecover, sha256, ripemd160, identity, modexp, bn254, blake2f, kzg)
 *   encoding     — keccak-256, RLP, Merkle Patricia Trie
 *   statetest    — the JSON state-test runner behind `vmkit evm statetest`
 */
#ifndef VMK_EVM_H
#define VMK_EVM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct evm_bytes32 { uint8_t bytes[32]; } evm_bytes32;
typedef evm_bytes32 evm_uint256be;                 /* 256-bit big-endian number */
typedef struct evm_address { uint8_t bytes[20]; } evm_address;

enum evm_revision {
    EVM_FRONTIER = 0, EVM_HOMESTEAD = 1, EVM_TANGERINE_WHISTLE = 2 /* EIP150 */, EVM_SPURIOUS_DRAGON = 3 /* EIP158 */,
    EVM_BYZANTIUM = 4, EVM_CONSTANTINOPLE = 5, EVM_PETERSBURG = 6 /* ConstantinopleFix */, EVM_ISTANBUL = 7,
    EVM_BERLIN = 8, EVM_LONDON = 9, EVM_PARIS = 10 /* Merge */, EVM_SHANGHAI = 11, EVM_CANCUN = 12,
    EVM_PRAGUE = 13,
    EVM_MAX_REVISION = EVM_PRAGUE
};
/* Fork names as the state tests spell them ("Frontier", "EIP150", "ConstantinopleFix", "Merge", ...).
 * Returns -1 for an unknown name. */
int         evm_revision_from_name(const char *name);
const char *evm_revision_name(enum evm_revision rev);

enum evm_status {
    EVM_SUCCESS = 0, EVM_FAILURE = 1, EVM_REVERT = 2, EVM_OUT_OF_GAS = 3, EVM_INVALID_INSTRUCTION = 4,
    EVM_UNDEFINED_INSTRUCTION = 5, EVM_STACK_OVERFLOW = 6, EVM_STACK_UNDERFLOW = 7,
    EVM_BAD_JUMP_DESTINATION = 8, EVM_INVALID_MEMORY_ACCESS = 9, EVM_CALL_DEPTH_EXCEEDED = 10,
    EVM_STATIC_MODE_VIOLATION = 11, EVM_PRECOMPILE_FAILURE = 12, EVM_CONTRACT_VALIDATION_FAILURE = 13,
    EVM_ARGUMENT_OUT_OF_RANGE = 14, EVM_INSUFFICIENT_BALANCE = 17, EVM_INTERNAL_ERROR = -1,
    EVM_REJECTED = -2, EVM_OUT_OF_MEMORY = -3
};
const char *evm_status_name(enum evm_status s);

enum evm_call_kind { EVM_CALL = 0, EVM_DELEGATECALL = 1, EVM_CALLCODE = 2, EVM_CREATE = 3, EVM_CREATE2 = 4 };
enum { EVM_STATIC = 1 };                           /* evm_message.flags */

typedef struct evm_message {
    enum evm_call_kind kind;
    uint32_t       flags;
    int32_t        depth;
    int64_t        gas;
    evm_address    recipient;                       /* the account whose code/storage runs (CREATE: new address) */
    evm_address    sender;
    const uint8_t *input_data;
    size_t         input_size;
    evm_uint256be  value;
    evm_bytes32    create2_salt;
    evm_address    code_address;                    /* whose code is executed (CALLCODE/DELEGATECALL differ) */
} evm_message;

typedef struct evm_result evm_result;
typedef void (*evm_release_fn)(const evm_result *r);
struct evm_result {
    enum evm_status status;
    int64_t         gas_left;
    int64_t         gas_refund;                     /* refund counter of this frame (may be negative) */
    const uint8_t  *output_data;
    size_t          output_size;
    evm_release_fn  release;                        /* frees output_data; may be NULL */
    evm_address     create_address;                 /* for CREATE/CREATE2 results */
};
static inline void evm_release_result(const evm_result *r) { if (r->release) r->release(r); }

typedef struct evm_tx_context {
    evm_uint256be      tx_gas_price;                /* effective gas price */
    evm_address        tx_origin;
    evm_address        block_coinbase;
    int64_t            block_number;
    int64_t            block_timestamp;
    int64_t            block_gas_limit;
    evm_uint256be      block_prev_randao;           /* DIFFICULTY before Paris */
    evm_uint256be      chain_id;
    evm_uint256be      block_base_fee;
    evm_uint256be      blob_base_fee;
    const evm_bytes32 *blob_hashes;
    size_t             blob_hashes_count;
} evm_tx_context;

/* EVMC storage status, as computed by the host from (original, current, new) values (EIP-2200). */
enum evm_storage_status {
    EVM_STORAGE_ASSIGNED = 0, EVM_STORAGE_ADDED = 1, EVM_STORAGE_DELETED = 2, EVM_STORAGE_MODIFIED = 3,
    EVM_STORAGE_DELETED_ADDED = 4, EVM_STORAGE_MODIFIED_DELETED = 5, EVM_STORAGE_DELETED_RESTORED = 6,
    EVM_STORAGE_ADDED_DELETED = 7, EVM_STORAGE_MODIFIED_RESTORED = 8
};
enum evm_access_status { EVM_ACCESS_COLD = 0, EVM_ACCESS_WARM = 1 };

typedef struct evm_host_interface {
    bool          (*account_exists)(void *ctx, const evm_address *addr);
    evm_bytes32   (*get_storage)(void *ctx, const evm_address *addr, const evm_bytes32 *key);
    enum evm_storage_status (*set_storage)(void *ctx, const evm_address *addr, const evm_bytes32 *key,
                                           const evm_bytes32 *value);
    evm_uint256be (*get_balance)(void *ctx, const evm_address *addr);
    size_t        (*get_code_size)(void *ctx, const evm_address *addr);
    evm_bytes32   (*get_code_hash)(void *ctx, const evm_address *addr);
    size_t        (*copy_code)(void *ctx, const evm_address *addr, size_t code_offset, uint8_t *buf, size_t size);
    /* returns true if this is the first selfdestruct of addr in the tx (for the pre-London refund) */
    bool          (*selfdestruct)(void *ctx, const evm_address *addr, const evm_address *beneficiary);
    evm_result    (*call)(void *ctx, const evm_message *msg);
    evm_tx_context (*get_tx_context)(void *ctx);
    evm_bytes32   (*get_block_hash)(void *ctx, int64_t number);
    void          (*emit_log)(void *ctx, const evm_address *addr, const uint8_t *data, size_t data_size,
                              const evm_bytes32 topics[], size_t topics_count);
    enum evm_access_status (*access_account)(void *ctx, const evm_address *addr);
    enum evm_access_status (*access_storage)(void *ctx, const evm_address *addr, const evm_bytes32 *key);
    evm_bytes32   (*get_transient_storage)(void *ctx, const evm_address *addr, const evm_bytes32 *key);
    void          (*set_transient_storage)(void *ctx, const evm_address *addr, const evm_bytes32 *key,
                                           const evm_bytes32 *value);
} evm_host_interface;

/* EIP-3155 tracing: when set, evm_execute calls fn before each instruction (a slower dispatch loop is
 * used only while a tracer is installed). Thread-local. */
typedef struct evm_trace_step {
    uint64_t pc; uint8_t op; int64_t gas; int64_t gas_cost; int32_t depth; int64_t refund;
    const evm_uint256be *stack; size_t stack_size;  /* stack[0] is the bottom */
    size_t mem_size; const char *op_name;
} evm_trace_step;
typedef void (*evm_trace_fn)(void *tctx, const evm_trace_step *step);
void evm_set_tracer(evm_trace_fn fn, void *tctx);

/* Executes code as the frame described by msg. Never crashes or allocates without bound on any input:
 * bad code ends in the right exceptional status with gas_left 0 (REVERT keeps gas_left). */
evm_result evm_execute(const evm_host_interface *host, void *ctx, enum evm_revision rev,
                       const evm_message *msg, const uint8_t *code, size_t code_size);

/* keccak-256 (original Keccak padding, as Ethereum uses). */
void evm_keccak256(const uint8_t *data, size_t len, uint8_t out[32]);

#endif
