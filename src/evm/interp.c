/* interp.c — the vmkit EVM interpreter: evm_execute (code analysis with basic-block gas/stack tables,
 * per-thread analysis cache and frame pool, memory, gas schedules per revision, nested CALL/CREATE
 * message construction), evm_set_tracer and the revision/status name tables. The dispatch loop lives
 * in interp_loop.h, included twice: once plain (the fast path) and once with EIP-3155 tracing hooks.
 *
 * Interpreter/host split (follows evmone; also written to /tmp/vmkit-evm-contract.md):
 *  - The interpreter charges all gas of CALL, CALLCODE, DELEGATECALL, STATICCALL, CREATE and CREATE2 (base, EIP-2929 cold surcharge via access_account,
 *    memory, value transfer 9000, new account 25000, EIP-150 63/64 rule, stipend 2300, EIP-3860 initcode
 *    words and the 0xC000 limit), checks depth >= 1024 and the caller's balance for value transfers
 *    (both push 0 without calling the host: a "light" failure that keeps the gas), and static-mode
 *    violations. It builds the evm_message and calls host->call.
 *  - The host's call does everything else (address derivation, nonce, collision, transfer, snapshots,
 *    precompiles, code deposit, EIP-6780) and returns an EVMC-style result.
 *  - SSTORE gas and refunds are derived from the host's evm_storage_status with evmone's tables.
 *  - Results: gas_left is kept only for SUCCESS and REVERT; gas_refund only for SUCCESS.
 *  - Prague (EIP-7702): a CALL-family target whose code is a delegation designator costs the delegate's
 *    access too (cold 2600 / warm 100); code_address stays the target and the host runs the delegate's
 *    code. EXTCODE* see the 23-byte designator itself.
 */
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include "evm.h"
#include "uint256.h"

/* ------------------------------------------------------------------ names */
static const char *const rev_names[EVM_MAX_REVISION + 1] = {
    "Frontier", "Homestead", "EIP150", "EIP158", "Byzantium", "Constantinople", "ConstantinopleFix",
    "Istanbul", "Berlin", "London", "Merge", "Shanghai", "Cancun", "Prague"};

int evm_revision_from_name(const char *name) {
    if (!name) return -1;
    for (int i = 0; i <= EVM_MAX_REVISION; i++)
        if (strcmp(name, rev_names[i]) == 0) return i;
    static const struct { const char *n; int r; } alias[] = {
        {"TangerineWhistle", EVM_TANGERINE_WHISTLE}, {"SpuriousDragon", EVM_SPURIOUS_DRAGON},
        {"Petersburg", EVM_PETERSBURG}, {"Paris", EVM_PARIS}, {"EIP155", EVM_SPURIOUS_DRAGON}};
    for (size_t i = 0; i < sizeof alias / sizeof alias[0]; i++)
        if (strcmp(name, alias[i].n) == 0) return alias[i].r;
    return -1;
}
const char *evm_revision_name(enum evm_revision rev) {
    return ((unsigned)rev <= EVM_MAX_REVISION) ? rev_names[rev] : "unknown";
}
const char *evm_status_name(enum evm_status s) {
    switch (s) {
    case EVM_SUCCESS: return "success";
    case EVM_FAILURE: return "failure";
    case EVM_REVERT: return "revert";
    case EVM_OUT_OF_GAS: return "out of gas";
    case EVM_INVALID_INSTRUCTION: return "invalid instruction";
    case EVM_UNDEFINED_INSTRUCTION: return "undefined instruction";
    case EVM_STACK_OVERFLOW: return "stack overflow";
    case EVM_STACK_UNDERFLOW: return "stack underflow";
    case EVM_BAD_JUMP_DESTINATION: return "bad jump destination";
    case EVM_INVALID_MEMORY_ACCESS: return "invalid memory access";
    case EVM_CALL_DEPTH_EXCEEDED: return "call depth exceeded";
    case EVM_STATIC_MODE_VIOLATION: return "static mode violation";
    case EVM_PRECOMPILE_FAILURE: return "precompile failure";
    case EVM_CONTRACT_VALIDATION_FAILURE: return "contract validation failure";
    case EVM_ARGUMENT_OUT_OF_RANGE: return "argument out of range";
    case EVM_INSUFFICIENT_BALANCE: return "insufficient balance";
    case EVM_INTERNAL_ERROR: return "internal error";
    case EVM_REJECTED: return "rejected";
    case EVM_OUT_OF_MEMORY: return "out of memory";
    }
    return "unknown";
}

static const char *const op_names[256] = {
    [0x00] = "STOP", [0x01] = "ADD", [0x02] = "MUL", [0x03] = "SUB", [0x04] = "DIV", [0x05] = "SDIV",
    [0x06] = "MOD", [0x07] = "SMOD", [0x08] = "ADDMOD", [0x09] = "MULMOD", [0x0a] = "EXP",
    [0x0b] = "SIGNEXTEND", [0x10] = "LT", [0x11] = "GT", [0x12] = "SLT", [0x13] = "SGT", [0x14] = "EQ",
    [0x15] = "ISZERO", [0x16] = "AND", [0x17] = "OR", [0x18] = "XOR", [0x19] = "NOT", [0x1a] = "BYTE",
    [0x1b] = "SHL", [0x1c] = "SHR", [0x1d] = "SAR", [0x20] = "KECCAK256", [0x30] = "ADDRESS",
    [0x31] = "BALANCE", [0x32] = "ORIGIN", [0x33] = "CALLER", [0x34] = "CALLVALUE",
    [0x35] = "CALLDATALOAD", [0x36] = "CALLDATASIZE", [0x37] = "CALLDATACOPY", [0x38] = "CODESIZE",
    [0x39] = "CODECOPY", [0x3a] = "GASPRICE", [0x3b] = "EXTCODESIZE", [0x3c] = "EXTCODECOPY",
    [0x3d] = "RETURNDATASIZE", [0x3e] = "RETURNDATACOPY", [0x3f] = "EXTCODEHASH", [0x40] = "BLOCKHASH",
    [0x41] = "COINBASE", [0x42] = "TIMESTAMP", [0x43] = "NUMBER", [0x44] = "PREVRANDAO",
    [0x45] = "GASLIMIT", [0x46] = "CHAINID", [0x47] = "SELFBALANCE", [0x48] = "BASEFEE",
    [0x49] = "BLOBHASH", [0x4a] = "BLOBBASEFEE", [0x50] = "POP", [0x51] = "MLOAD", [0x52] = "MSTORE",
    [0x53] = "MSTORE8", [0x54] = "SLOAD", [0x55] = "SSTORE", [0x56] = "JUMP", [0x57] = "JUMPI",
    [0x58] = "PC", [0x59] = "MSIZE", [0x5a] = "GAS", [0x5b] = "JUMPDEST", [0x5c] = "TLOAD",
    [0x5d] = "TSTORE", [0x5e] = "MCOPY", [0x5f] = "PUSH0",
    [0x60] = "PUSH1", [0x61] = "PUSH2", [0x62] = "PUSH3", [0x63] = "PUSH4", [0x64] = "PUSH5",
    [0x65] = "PUSH6", [0x66] = "PUSH7", [0x67] = "PUSH8", [0x68] = "PUSH9", [0x69] = "PUSH10",
    [0x6a] = "PUSH11", [0x6b] = "PUSH12", [0x6c] = "PUSH13", [0x6d] = "PUSH14", [0x6e] = "PUSH15",
    [0x6f] = "PUSH16", [0x70] = "PUSH17", [0x71] = "PUSH18", [0x72] = "PUSH19", [0x73] = "PUSH20",
    [0x74] = "PUSH21", [0x75] = "PUSH22", [0x76] = "PUSH23", [0x77] = "PUSH24", [0x78] = "PUSH25",
    [0x79] = "PUSH26", [0x7a] = "PUSH27", [0x7b] = "PUSH28", [0x7c] = "PUSH29", [0x7d] = "PUSH30",
    [0x7e] = "PUSH31", [0x7f] = "PUSH32",
    [0x80] = "DUP1", [0x81] = "DUP2", [0x82] = "DUP3", [0x83] = "DUP4", [0x84] = "DUP5", [0x85] = "DUP6",
    [0x86] = "DUP7", [0x87] = "DUP8", [0x88] = "DUP9", [0x89] = "DUP10", [0x8a] = "DUP11",
    [0x8b] = "DUP12", [0x8c] = "DUP13", [0x8d] = "DUP14", [0x8e] = "DUP15", [0x8f] = "DUP16",
    [0x90] = "SWAP1", [0x91] = "SWAP2", [0x92] = "SWAP3", [0x93] = "SWAP4", [0x94] = "SWAP5",
    [0x95] = "SWAP6", [0x96] = "SWAP7", [0x97] = "SWAP8", [0x98] = "SWAP9", [0x99] = "SWAP10",
    [0x9a] = "SWAP11", [0x9b] = "SWAP12", [0x9c] = "SWAP13", [0x9d] = "SWAP14", [0x9e] = "SWAP15",
    [0x9f] = "SWAP16", [0xa0] = "LOG0", [0xa1] = "LOG1", [0xa2] = "LOG2", [0xa3] = "LOG3", [0xa4] = "LOG4",
    [0xf0] = "CREATE", [0xf1] = "CALL", [0xf2] = "CALLCODE", [0xf3] = "RETURN", [0xf4] = "DELEGATECALL",
    [0xf5] = "CREATE2", [0xfa] = "STATICCALL", [0xfd] = "REVERT", [0xfe] = "INVALID",
    [0xff] = "SELFDESTRUCT"};

/* ------------------------------------------------------------------ gas schedules */
/* Revision a defined opcode first appears in (0xff: never / undefined). */
static uint8_t op_since[256];
static int8_t op_req[256], op_change[256];   /* stack items needed / net change per opcode */
/* Static (base) gas per revision and opcode. Dynamic parts are charged by the handlers. */
static int32_t base_gas[EVM_MAX_REVISION + 1][256];

typedef struct { int16_t cost, refund; } sstore_cost;
static sstore_cost sstore_tbl[EVM_MAX_REVISION + 1][9];

static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

static void init_tables(void) {
    memset(op_since, 0xff, sizeof op_since);
    static const uint8_t frontier_ops[] = {
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x10, 0x11, 0x12, 0x13,
        0x14, 0x15, 0x16, 0x17, 0x18, 0x19, 0x1a, 0x20, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37,
        0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x40, 0x41, 0x42, 0x43, 0x44, 0x45, 0x50, 0x51, 0x52, 0x53, 0x54,
        0x55, 0x56, 0x57, 0x58, 0x59, 0x5a, 0x5b, 0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xf0, 0xf1, 0xf2, 0xf3,
        0xfe, 0xff};
    for (size_t i = 0; i < sizeof frontier_ops; i++) op_since[frontier_ops[i]] = EVM_FRONTIER;
    for (int op = 0x60; op <= 0x9f; op++) op_since[op] = EVM_FRONTIER;
    op_since[0xf4] = EVM_HOMESTEAD;
    op_since[0x3d] = op_since[0x3e] = op_since[0xfa] = op_since[0xfd] = EVM_BYZANTIUM;
    op_since[0x1b] = op_since[0x1c] = op_since[0x1d] = op_since[0xf5] = op_since[0x3f] = EVM_CONSTANTINOPLE;
    op_since[0x46] = op_since[0x47] = EVM_ISTANBUL;
    op_since[0x48] = EVM_LONDON;
    op_since[0x5f] = EVM_SHANGHAI;
    op_since[0x5c] = op_since[0x5d] = op_since[0x5e] = op_since[0x49] = op_since[0x4a] = EVM_CANCUN;

    static const struct { uint8_t op; int8_t req, change; } st[] = {
        {0x01, 2, -1}, {0x02, 2, -1}, {0x03, 2, -1}, {0x04, 2, -1}, {0x05, 2, -1}, {0x06, 2, -1}, {0x07, 2, -1},
        {0x08, 3, -2}, {0x09, 3, -2}, {0x0a, 2, -1}, {0x0b, 2, -1}, {0x10, 2, -1}, {0x11, 2, -1}, {0x12, 2, -1},
        {0x13, 2, -1}, {0x14, 2, -1}, {0x15, 1, 0}, {0x16, 2, -1}, {0x17, 2, -1}, {0x18, 2, -1}, {0x19, 1, 0},
        {0x1a, 2, -1}, {0x1b, 2, -1}, {0x1c, 2, -1}, {0x1d, 2, -1}, {0x20, 2, -1}, {0x30, 0, 1}, {0x31, 1, 0},
        {0x32, 0, 1}, {0x33, 0, 1}, {0x34, 0, 1}, {0x35, 1, 0}, {0x36, 0, 1}, {0x37, 3, -3}, {0x38, 0, 1},
        {0x39, 3, -3}, {0x3a, 0, 1}, {0x3b, 1, 0}, {0x3c, 4, -4}, {0x3d, 0, 1}, {0x3e, 3, -3}, {0x3f, 1, 0},
        {0x40, 1, 0}, {0x41, 0, 1}, {0x42, 0, 1}, {0x43, 0, 1}, {0x44, 0, 1}, {0x45, 0, 1}, {0x46, 0, 1},
        {0x47, 0, 1}, {0x48, 0, 1}, {0x49, 1, 0}, {0x4a, 0, 1}, {0x50, 1, -1}, {0x51, 1, 0}, {0x52, 2, -2},
        {0x53, 2, -2}, {0x54, 1, 0}, {0x55, 2, -2}, {0x56, 1, -1}, {0x57, 2, -2}, {0x58, 0, 1}, {0x59, 0, 1},
        {0x5a, 0, 1}, {0x5b, 0, 0}, {0x5c, 1, 0}, {0x5d, 2, -2}, {0x5e, 3, -3}, {0x5f, 0, 1},
        {0xa0, 2, -2}, {0xa1, 3, -3}, {0xa2, 4, -4}, {0xa3, 5, -5}, {0xa4, 6, -6},
        {0xf0, 3, -2}, {0xf1, 7, -6}, {0xf2, 7, -6}, {0xf3, 2, -2}, {0xf4, 6, -5}, {0xf5, 4, -3},
        {0xfa, 6, -5}, {0xfd, 2, -2}, {0xff, 1, -1}};
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++) { op_req[st[i].op] = st[i].req; op_change[st[i].op] = st[i].change; }
    for (int op = 0x60; op <= 0x7f; op++) { op_req[op] = 0; op_change[op] = 1; }
    for (int n = 1; n <= 16; n++) {
        op_req[0x7f + n] = (int8_t)n; op_change[0x7f + n] = 1;
        op_req[0x8f + n] = (int8_t)(n + 1); op_change[0x8f + n] = 0;
    }

    for (int r = 0; r <= EVM_MAX_REVISION; r++) {
        int32_t *g = base_gas[r];
        for (int op = 0; op < 256; op++) g[op] = 0;
        g[0x01] = g[0x03] = 3;
        g[0x02] = g[0x04] = g[0x05] = g[0x06] = g[0x07] = g[0x0b] = 5;
        g[0x08] = g[0x09] = 8;
        g[0x0a] = 10;
        for (int op = 0x10; op <= 0x1d; op++) g[op] = 3;
        g[0x20] = 30;
        g[0x30] = g[0x32] = g[0x33] = g[0x34] = g[0x36] = g[0x38] = g[0x3a] = g[0x3d] = 2;
        g[0x35] = g[0x37] = g[0x39] = g[0x3e] = 3;
        g[0x40] = 20;
        g[0x41] = g[0x42] = g[0x43] = g[0x44] = g[0x45] = g[0x46] = g[0x48] = g[0x4a] = 2;
        g[0x47] = 5; g[0x49] = 3;
        g[0x50] = 2; g[0x51] = g[0x52] = g[0x53] = 3;
        g[0x56] = 8; g[0x57] = 10; g[0x58] = g[0x59] = g[0x5a] = 2; g[0x5b] = 1;
        g[0x5c] = g[0x5d] = 100; g[0x5e] = 3; g[0x5f] = 2;
        for (int op = 0x60; op <= 0x9f; op++) g[op] = 3;
        for (int n = 0; n <= 4; n++) g[0xa0 + n] = 375 * (n + 1);
        g[0xf0] = g[0xf5] = 32000;
        /* revision-dependent accesses */
        int acct, sload, call, sd = 0;
        if (r >= EVM_BERLIN) { acct = 100; sload = 100; call = 100; }
        else if (r >= EVM_ISTANBUL) { acct = 700; sload = 800; call = 700; }
        else if (r >= EVM_TANGERINE_WHISTLE) { acct = 700; sload = 200; call = 700; }
        else { acct = 20; sload = 50; call = 40; }
        if (r >= EVM_TANGERINE_WHISTLE) sd = 5000;
        g[0x31] = acct;                                     /* BALANCE: 20, 400 (TW), 700 (Istanbul) */
        if (r >= EVM_TANGERINE_WHISTLE && r < EVM_ISTANBUL) g[0x31] = 400;
        g[0x3b] = g[0x3c] = acct;                           /* EXTCODESIZE/COPY: 20, 700 */
        g[0x3f] = r >= EVM_BERLIN ? 100 : r >= EVM_ISTANBUL ? 700 : 400;
        g[0x54] = sload;
        g[0xf1] = g[0xf2] = g[0xf4] = g[0xfa] = call;
        g[0xff] = sd;
        for (int op = 0; op < 256; op++) if (op_since[op] > r) g[op] = 0;
    }

    /* SSTORE costs from the storage status (as evmone) */
    for (int r = 0; r <= EVM_MAX_REVISION; r++) {
        bool net = r == EVM_CONSTANTINOPLE || r >= EVM_ISTANBUL;
        int warm = r >= EVM_BERLIN ? 100 : r >= EVM_ISTANBUL ? 800 : 200;
        int set = 20000, reset = r >= EVM_BERLIN ? 5000 - 2100 : 5000, clear = r >= EVM_LONDON ? 4800 : 15000;
        sstore_cost *e = sstore_tbl[r];
        if (!net) {
            e[EVM_STORAGE_ADDED] = (sstore_cost){(int16_t)set, 0};
            e[EVM_STORAGE_DELETED] = (sstore_cost){(int16_t)reset, (int16_t)clear};
            e[EVM_STORAGE_MODIFIED] = (sstore_cost){(int16_t)reset, 0};
            e[EVM_STORAGE_ASSIGNED] = e[EVM_STORAGE_MODIFIED];
            e[EVM_STORAGE_DELETED_ADDED] = e[EVM_STORAGE_ADDED];
            e[EVM_STORAGE_MODIFIED_DELETED] = e[EVM_STORAGE_DELETED];
            e[EVM_STORAGE_DELETED_RESTORED] = e[EVM_STORAGE_ADDED];
            e[EVM_STORAGE_ADDED_DELETED] = e[EVM_STORAGE_DELETED];
            e[EVM_STORAGE_MODIFIED_RESTORED] = e[EVM_STORAGE_MODIFIED];
        } else {
            e[EVM_STORAGE_ASSIGNED] = (sstore_cost){(int16_t)warm, 0};
            e[EVM_STORAGE_ADDED] = (sstore_cost){(int16_t)set, 0};
            e[EVM_STORAGE_DELETED] = (sstore_cost){(int16_t)reset, (int16_t)clear};
            e[EVM_STORAGE_MODIFIED] = (sstore_cost){(int16_t)reset, 0};
            e[EVM_STORAGE_DELETED_ADDED] = (sstore_cost){(int16_t)warm, (int16_t)-clear};
            e[EVM_STORAGE_MODIFIED_DELETED] = (sstore_cost){(int16_t)warm, (int16_t)clear};
            e[EVM_STORAGE_DELETED_RESTORED] = (sstore_cost){(int16_t)warm, (int16_t)(reset - warm - clear)};
            e[EVM_STORAGE_ADDED_DELETED] = (sstore_cost){(int16_t)warm, (int16_t)(set - warm)};
            e[EVM_STORAGE_MODIFIED_RESTORED] = (sstore_cost){(int16_t)warm, (int16_t)(reset - warm)};
        }
    }
}

/* ------------------------------------------------------------------ code analysis (cached) */
/* Besides the padded code and the JUMPDEST bitmap, the analysis splits the code into basic blocks for
 * one revision and records each block's total static gas and stack window, so the fast loop checks gas
 * and stack once per block instead of once per instruction (evmone "advanced" style). A block ends at
 * a control-flow or terminating instruction and after every instruction that observes the exact gas
 * left (GAS, SSTORE's EIP-2200 sentry, CALL*, CREATE*); a JUMPDEST always starts one. Charging a
 * block up front is equivalent: every instruction of a block runs unless the frame halts
 * exceptionally, which consumes all gas anyway. */
#define CODE_PAD 33
/* gas: static gas of the block; req/grow: stack items needed at entry / maximal growth;
 * skip: bytes to advance after entering at a JUMPDEST (a run of JUMPDESTs is entered once) */
typedef struct { int64_t gas; int32_t req, grow; uint32_t skip; } blockinfo;
typedef struct analysis {
    uint8_t  *code;          /* code_size + CODE_PAD bytes, zero padded (implicit STOP) */
    size_t    code_size;
    uint64_t *jumpdest;      /* bit i: offset i is a JUMPDEST opcode (not push data) */
    uint32_t *bidx;          /* [code_size + 1]: block index at each block start */
    blockinfo *blocks;
    int       rev;
    int       refs;          /* frames using it + 1 while cached */
} analysis;


static bool ends_block(uint8_t op) {
    switch (op) {
    case 0x00: case 0x56: case 0x57: case 0x5a: case 0x55: case 0xf0: case 0xf1: case 0xf2: case 0xf3:
    case 0xf4: case 0xf5: case 0xfa: case 0xfd: case 0xfe: case 0xff:
        return true;
    default:
        return false;
    }
}

static void analysis_free(analysis *a) {
    if (!a) return;
    free(a->code); free(a->jumpdest); free(a->bidx); free(a->blocks); free(a);
}

static analysis *analyze(const uint8_t *code, size_t size, int rev) {
    analysis *a = calloc(1, sizeof *a);
    if (!a) return NULL;
    size_t words = size / 64 + 1;
    a->code = malloc(size + CODE_PAD);
    a->jumpdest = calloc(words, sizeof(uint64_t));
    a->bidx = calloc(size + 1, sizeof(uint32_t));
    /* blocks: at most one per instruction plus the trailing one */
    a->blocks = malloc((size + 2) * sizeof(blockinfo));
    if (!a->code || !a->jumpdest || !a->bidx || !a->blocks) { analysis_free(a); return NULL; }
    if (size) memcpy(a->code, code, size);
    memset(a->code + size, 0, CODE_PAD);
    a->code_size = size;
    a->rev = rev;
    a->refs = 1;
    const int32_t *g = base_gas[rev];
    uint32_t nb = 0;
    blockinfo cur = {0, 0, 0, 1};
    int32_t h = 0;
    bool open = false;
    size_t start = 0;
    for (size_t i = 0; i <= size; ) {
        uint8_t op = i < size ? code[i] : 0x00;
        bool defined = op_since[op] <= rev;
        if (op == 0x5b && i < size) {
            a->jumpdest[i / 64] |= 1ull << (i % 64);
            if (open) { a->blocks[nb] = cur; a->bidx[start] = nb++; open = false; }
        }
        if (!open) { open = true; start = i; cur.gas = 0; cur.req = 0; cur.grow = 0; h = 0; }
        if (defined) {
            cur.gas += g[op];
            int32_t need = op_req[op] - h;
            if (need > cur.req) cur.req = need;
            h += op_change[op];
            if (h > cur.grow) cur.grow = h;
        }
        size_t next = i + 1;
        if (op >= 0x60 && op <= 0x7f) next += (size_t)(op - 0x5f);
        if (!defined || ends_block(op) || i == size) { a->blocks[nb] = cur; a->bidx[start] = nb++; open = false; }
        i = next;
    }
    if (open) { a->blocks[nb] = cur; a->bidx[start] = nb++; }
    /* a JUMPDEST directly followed by another JUMPDEST is a one-instruction block: fold the rest of
     * the run and the block after it into it, so the loop enters once and skips the run */
    for (size_t i = size; i-- > 1; ) {
        if (!((a->jumpdest[(i - 1) / 64] >> ((i - 1) % 64)) & 1) || !((a->jumpdest[i / 64] >> (i % 64)) & 1)) continue;
        blockinfo *b = &a->blocks[a->bidx[i - 1]];
        const blockinfo *nx = &a->blocks[a->bidx[i]];
        b->gas += nx->gas; b->req = nx->req; b->grow = nx->grow; b->skip = 1 + nx->skip;
    }
    blockinfo *shrunk = realloc(a->blocks, (nb ? nb : 1) * sizeof(blockinfo));
    if (shrunk) a->blocks = shrunk;
    return a;
}
static void analysis_put(analysis *a) {
    if (a && --a->refs == 0) analysis_free(a);
}
#define CACHE_N 16
#define CACHE_MAX_CODE (1u << 20)
static __thread analysis *cache[CACHE_N];
static __thread unsigned cache_next;

static analysis *analysis_get(const uint8_t *code, size_t size, int rev) {
    for (int i = 0; i < CACHE_N; i++) {
        analysis *a = cache[i];
        if (a && a->code_size == size && a->rev == rev && (size == 0 || memcmp(a->code, code, size) == 0)) {
            a->refs++;
            return a;
        }
    }
    analysis *a = analyze(code, size, rev);
    if (!a) return NULL;
    if (size <= CACHE_MAX_CODE) {
        unsigned slot = cache_next++ % CACHE_N;
        analysis_put(cache[slot]);
        cache[slot] = a;
        a->refs++;
    }
    return a;
}

/* ------------------------------------------------------------------ frames */
#define STACK_LIMIT 1024
#define MEM_LIMIT  (1ull << 32)       /* offsets beyond what any gas could pay: OOG (as evmone) */

typedef struct frame {
    u256 stack[STACK_LIMIT];
    const evm_host_interface *host;
    void *ctx;
    const evm_message *msg;
    enum evm_revision rev;
    const analysis *an;
    uint8_t *mem;
    size_t   mem_size, mem_cap;      /* mem_size: bytes, multiple of 32 */
    evm_result last;                 /* child result holding the return data buffer */
    const uint8_t *ret; size_t ret_size;
    evm_tx_context tx; bool tx_loaded;
    bool oom, busy;
    int64_t refund;
    size_t out_off, out_size;
} frame;

#define POOL_N (1024 + 2)
static __thread frame *pool[POOL_N];

/* The frame pool and the analysis cache are per thread; a thread-specific key frees them when a
 * thread that ran evm_execute exits (the state-test runner uses worker threads). */
static pthread_key_t tls_key;
static pthread_once_t tls_once = PTHREAD_ONCE_INIT;
static __thread bool tls_registered;
static void tls_cleanup(void *unused) {
    (void)unused;
    for (int i = 0; i < POOL_N; i++) {
        if (pool[i]) { free(pool[i]->mem); free(pool[i]); pool[i] = NULL; }
    }
    for (int i = 0; i < CACHE_N; i++) { analysis_put(cache[i]); cache[i] = NULL; }
}
static void tls_key_init(void) { (void)pthread_key_create(&tls_key, tls_cleanup); }
static void tls_register(void) {
    if (tls_registered) return;
    tls_registered = true;
    pthread_once(&tls_once, tls_key_init);
    (void)pthread_setspecific(tls_key, (void *)1);
}

static frame *frame_get(int32_t depth) {
    frame *f = NULL;
    if (depth >= 0 && depth < POOL_N) {
        f = pool[depth];
        if (!f) { f = calloc(1, sizeof *f); pool[depth] = f; }
        if (f && f->busy) f = NULL;
    }
    if (!f) { f = calloc(1, sizeof *f); if (!f) return NULL; f->busy = false; f->mem = NULL; f->mem_cap = 0; }
    else f->busy = true;
    return f;
}
static void frame_done(frame *f, int32_t depth) {
    evm_release_result(&f->last);
    memset(&f->last, 0, sizeof f->last);
    bool pooled = depth >= 0 && depth < POOL_N && pool[depth] == f;
    if (!pooled) { free(f->mem); free(f); return; }
    if (f->mem_cap > (1u << 20)) { free(f->mem); f->mem = NULL; f->mem_cap = 0; }
    else if (f->mem_size) memset(f->mem, 0, f->mem_size);   /* keep the reused buffer all zero */
    f->mem_size = 0;
    f->busy = false;
}

static inline const evm_tx_context *tx_ctx(frame *f) {
    if (!f->tx_loaded) { f->tx = f->host->get_tx_context(f->ctx); f->tx_loaded = true; }
    return &f->tx;
}

static inline int64_t mem_cost_words(uint64_t w) { return (int64_t)(3 * w + w * w / 512); }

/* Grows memory to cover [0, end) (end <= 2*MEM_LIMIT). Returns the gas cost, or -1 if it exceeds gas
 * (or the hard limit), -2 on allocation failure. Allocates only after the cost is known payable. */
static __attribute__((noinline)) int64_t mem_grow(frame *f, uint64_t end, int64_t gas) {
    if (end > MEM_LIMIT) return -1;
    uint64_t nw = (end + 31) / 32, ow = f->mem_size / 32;
    int64_t cost = mem_cost_words(nw) - mem_cost_words(ow);
    if (cost > gas) return -1;
    size_t nbytes = (size_t)nw * 32;
    if (nbytes > f->mem_cap) {
        size_t cap = f->mem_cap ? f->mem_cap : 4096;
        while (cap < nbytes) cap *= 2;
        uint8_t *m = realloc(f->mem, cap);
        if (!m) { f->oom = true; return -2; }
        memset(m + f->mem_cap, 0, cap - f->mem_cap);
        f->mem = m; f->mem_cap = cap;
    }
    f->mem_size = nbytes;             /* bytes past mem_size are kept zero (see frame_done) */
    return cost;
}
/* true if (off, size) is a memory range gas could pay for; size 0 is always fine (offset ignored) */
static inline bool mem_range_ok(const u256 *off, const u256 *size) {
    return ((off->w[1] | off->w[2] | off->w[3] | size->w[1] | size->w[2] | size->w[3]) == 0) &&
           ((off->w[0] | size->w[0]) < MEM_LIMIT);
}
/* Charges and grows memory for (off, size); returns false on OOG/OOM. */
static inline bool mem_check(frame *f, int64_t *gas, const u256 *off, const u256 *size) {
    if (u256_is_zero(*size)) return true;
    if (!mem_range_ok(off, size)) return false;
    uint64_t end = off->w[0] + size->w[0];
    if (end <= f->mem_size) return true;
    int64_t c = mem_grow(f, end, *gas);
    if (c < 0) return false;
    *gas -= c;
    return true;
}
static inline int64_t words(uint64_t n) { return (int64_t)((n + 31) / 32); }

/* copies src[off..off+n) into dst, zero-filling past src_size */
static inline void copy_padded(uint8_t *dst, const uint8_t *src, size_t src_size, const u256 *off, size_t n) {
    if (n == 0) return;
    size_t o = (u256_fits_u64(*off) && off->w[0] < src_size) ? (size_t)off->w[0] : src_size;
    size_t avail = src_size - o;
    size_t c = avail < n ? avail : n;
    if (c) memcpy(dst, src + o, c);
    if (c < n) memset(dst + c, 0, n - c);
}

static void set_return_data(frame *f, evm_result *r) {
    evm_release_result(&f->last);
    f->last = *r;
    f->ret = r->output_data; f->ret_size = r->output_data ? r->output_size : 0;
}
static void clear_return_data(frame *f) {
    evm_release_result(&f->last);
    memset(&f->last, 0, sizeof f->last);
    f->ret = NULL; f->ret_size = 0;
}

/* ------------------------------------------------------------------ complex instructions */
/* Each returns an evm_status (EVM_SUCCESS to continue) and updates *gas. sp points past the top. */

static int op_call(frame *f, u256 *sp, uint8_t op, int64_t *gasp) {
    int64_t gas = *gasp;
    bool has_value_arg = op == 0xf1 || op == 0xf2;
    u256 gas_arg = sp[-1];
    evm_address dst = u256_to_address(sp[-2]);
    u256 value = has_value_arg ? sp[-3] : u256_zero();
    int a = has_value_arg ? 4 : 3;
    u256 in_off = sp[-a], in_size = sp[-a - 1], out_off = sp[-a - 2], out_size = sp[-a - 3];
    u256 *res = &sp[-a - 3];
    *res = u256_zero();
    clear_return_data(f);
    bool has_value = !u256_is_zero(value);

    if (f->rev >= EVM_BERLIN && f->host->access_account(f->ctx, &dst) == EVM_ACCESS_COLD)
        if ((gas -= 2500) < 0) return EVM_OUT_OF_GAS;
    if (f->rev >= EVM_PRAGUE && f->host->get_code_size(f->ctx, &dst) == 23) {
        /* EIP-7702: dst's code is a delegation designator 0xef0100 || delegate; the host runs the
         * delegate's code; the caller pays the delegate's access (cold 2600 / warm 100) as well */
        uint8_t dc[23];
        if (f->host->copy_code(f->ctx, &dst, 0, dc, 23) == 23 && dc[0] == 0xef && dc[1] == 0x01 && dc[2] == 0x00) {
            evm_address del;
            memcpy(del.bytes, dc + 3, 20);
            int64_t c = f->host->access_account(f->ctx, &del) == EVM_ACCESS_COLD ? 2600 : 100;
            if ((gas -= c) < 0) return EVM_OUT_OF_GAS;
        }
    }
    if (!mem_check(f, &gas, &in_off, &in_size) || gas < 0) return f->oom ? EVM_OUT_OF_MEMORY : EVM_OUT_OF_GAS;
    if (!mem_check(f, &gas, &out_off, &out_size) || gas < 0) return f->oom ? EVM_OUT_OF_MEMORY : EVM_OUT_OF_GAS;

    evm_message m;
    memset(&m, 0, sizeof m);
    m.kind = op == 0xf4 ? EVM_DELEGATECALL : op == 0xf2 ? EVM_CALLCODE : EVM_CALL;
    m.flags = op == 0xfa ? EVM_STATIC : f->msg->flags;
    m.depth = f->msg->depth + 1;
    m.recipient = (op == 0xf1 || op == 0xfa) ? dst : f->msg->recipient;
    m.code_address = dst;
    m.sender = op == 0xf4 ? f->msg->sender : f->msg->recipient;
    m.value = op == 0xf4 ? f->msg->value : u256_to_bytes32(value);
    if (!u256_is_zero(in_size)) { m.input_data = f->mem + in_off.w[0]; m.input_size = (size_t)in_size.w[0]; }

    int64_t cost = has_value ? 9000 : 0;
    if (op == 0xf1) {
        if (has_value && (f->msg->flags & EVM_STATIC)) return EVM_STATIC_MODE_VIOLATION;
        if ((has_value || f->rev < EVM_SPURIOUS_DRAGON) && !f->host->account_exists(f->ctx, &dst)) cost += 25000;
    }
    if ((gas -= cost) < 0) return EVM_OUT_OF_GAS;

    m.gas = INT64_MAX;
    if (u256_fits_u64(gas_arg) && gas_arg.w[0] < (uint64_t)INT64_MAX) m.gas = (int64_t)gas_arg.w[0];
    if (f->rev >= EVM_TANGERINE_WHISTLE) {
        int64_t cap = gas - gas / 64;
        if (m.gas > cap) m.gas = cap;
    } else if (m.gas > gas) return EVM_OUT_OF_GAS;
    if (has_value) { m.gas += 2300; gas += 2300; }

    if (f->msg->depth >= 1024) { *gasp = gas; return EVM_SUCCESS; }
    if (has_value) {
        u256 bal = u256_from_bytes32(f->host->get_balance(f->ctx, &f->msg->recipient));
        if (u256_lt(bal, value)) { *gasp = gas; return EVM_SUCCESS; }
    }
    evm_result r = f->host->call(f->ctx, &m);
    set_return_data(f, &r);
    *res = u256_from_u64(r.status == EVM_SUCCESS);
    size_t osz = u256_is_zero(out_size) ? 0 : (size_t)out_size.w[0];
    size_t c = osz < f->ret_size ? osz : f->ret_size;
    if (c) memcpy(f->mem + out_off.w[0], f->ret, c);
    gas -= m.gas - r.gas_left;
    f->refund += r.gas_refund;
    *gasp = gas;
    return EVM_SUCCESS;
}

static int op_create(frame *f, u256 *sp, bool create2, int64_t *gasp) {
    int64_t gas = *gasp;
    if (f->msg->flags & EVM_STATIC) return EVM_STATIC_MODE_VIOLATION;
    u256 endowment = sp[-1], off = sp[-2], size = sp[-3];
    u256 salt = create2 ? sp[-4] : u256_zero();
    u256 *res = create2 ? &sp[-4] : &sp[-3];
    *res = u256_zero();
    clear_return_data(f);
    if (!mem_check(f, &gas, &off, &size) || gas < 0) return f->oom ? EVM_OUT_OF_MEMORY : EVM_OUT_OF_GAS;
    size_t isz = u256_is_zero(size) ? 0 : (size_t)size.w[0];
    if (f->rev >= EVM_SHANGHAI && isz > 0xC000) return EVM_OUT_OF_GAS;
    int64_t wc = 6 * create2 + 2 * (f->rev >= EVM_SHANGHAI);
    if ((gas -= words(isz) * wc) < 0) return EVM_OUT_OF_GAS;
    if (f->msg->depth >= 1024) { *gasp = gas; return EVM_SUCCESS; }
    if (!u256_is_zero(endowment)) {
        u256 bal = u256_from_bytes32(f->host->get_balance(f->ctx, &f->msg->recipient));
        if (u256_lt(bal, endowment)) { *gasp = gas; return EVM_SUCCESS; }
    }
    evm_message m;
    memset(&m, 0, sizeof m);
    m.gas = gas;
    if (f->rev >= EVM_TANGERINE_WHISTLE) m.gas = gas - gas / 64;
    m.kind = create2 ? EVM_CREATE2 : EVM_CREATE;
    if (isz) { m.input_data = f->mem + off.w[0]; m.input_size = isz; }
    m.sender = f->msg->recipient;
    m.depth = f->msg->depth + 1;
    m.create2_salt = u256_to_bytes32(salt);
    m.value = u256_to_bytes32(endowment);
    evm_result r = f->host->call(f->ctx, &m);
    gas -= m.gas - r.gas_left;
    f->refund += r.gas_refund;
    evm_address ca = r.create_address;
    bool ok = r.status == EVM_SUCCESS;
    set_return_data(f, &r);
    if (ok) *res = u256_from_address(&ca);
    *gasp = gas;
    return EVM_SUCCESS;
}

static int op_sstore(frame *f, u256 *sp, int64_t *gasp) {
    int64_t gas = *gasp;
    if (f->msg->flags & EVM_STATIC) return EVM_STATIC_MODE_VIOLATION;
    if (f->rev >= EVM_ISTANBUL && gas <= 2300) return EVM_OUT_OF_GAS;
    evm_bytes32 key = u256_to_bytes32(sp[-1]), val = u256_to_bytes32(sp[-2]);
    int64_t cold = 0;
    if (f->rev >= EVM_BERLIN && f->host->access_storage(f->ctx, &f->msg->recipient, &key) == EVM_ACCESS_COLD)
        cold = 2100;
    enum evm_storage_status st = f->host->set_storage(f->ctx, &f->msg->recipient, &key, &val);
    if ((unsigned)st > EVM_STORAGE_MODIFIED_RESTORED) return EVM_INTERNAL_ERROR;
    sstore_cost c = sstore_tbl[f->rev][st];
    if ((gas -= c.cost + cold) < 0) return EVM_OUT_OF_GAS;
    f->refund += c.refund;
    *gasp = gas;
    return EVM_SUCCESS;
}

static int op_selfdestruct(frame *f, u256 *sp, int64_t *gasp) {
    int64_t gas = *gasp;
    if (f->msg->flags & EVM_STATIC) return EVM_STATIC_MODE_VIOLATION;
    evm_address ben = u256_to_address(sp[-1]);
    if (f->rev >= EVM_BERLIN && f->host->access_account(f->ctx, &ben) == EVM_ACCESS_COLD)
        if ((gas -= 2600) < 0) return EVM_OUT_OF_GAS;
    if (f->rev >= EVM_TANGERINE_WHISTLE) {
        if (f->rev == EVM_TANGERINE_WHISTLE ||
            !u256_is_zero(u256_from_bytes32(f->host->get_balance(f->ctx, &f->msg->recipient)))) {
            if (!f->host->account_exists(f->ctx, &ben))
                if ((gas -= 25000) < 0) return EVM_OUT_OF_GAS;
        }
    }
    if (f->host->selfdestruct(f->ctx, &f->msg->recipient, &ben) && f->rev < EVM_LONDON) f->refund += 24000;
    *gasp = gas;
    return EVM_SUCCESS;
}

static int op_log(frame *f, u256 *sp, unsigned n, int64_t *gasp) {
    int64_t gas = *gasp;
    if (f->msg->flags & EVM_STATIC) return EVM_STATIC_MODE_VIOLATION;
    u256 off = sp[-1], size = sp[-2];
    if (!mem_check(f, &gas, &off, &size) || gas < 0) return f->oom ? EVM_OUT_OF_MEMORY : EVM_OUT_OF_GAS;
    size_t sz = u256_is_zero(size) ? 0 : (size_t)size.w[0];
    if ((gas -= (int64_t)sz * 8) < 0) return EVM_OUT_OF_GAS;
    evm_bytes32 topics[4];
    for (unsigned i = 0; i < n; i++) topics[i] = u256_to_bytes32(sp[-3 - (int)i]);
    f->host->emit_log(f->ctx, &f->msg->recipient, sz ? f->mem + off.w[0] : NULL, sz, topics, n);
    *gasp = gas;
    return EVM_SUCCESS;
}

/* ------------------------------------------------------------------ tracing */
static __thread evm_trace_fn tracer_fn;
static __thread void *tracer_ctx;
void evm_set_tracer(evm_trace_fn fn, void *tctx) { tracer_fn = fn; tracer_ctx = tctx; }

static __attribute__((noinline)) void trace_step(frame *f, const uint8_t *ip, const u256 *sp, int64_t gas) {
    evm_trace_fn fn = tracer_fn;
    if (!fn) return;
    size_t n = (size_t)(sp - f->stack);
    evm_uint256be st[STACK_LIMIT];
    for (size_t i = 0; i < n; i++) st[i] = u256_to_bytes32(f->stack[i]);
    evm_trace_step s;
    s.pc = (uint64_t)(ip - f->an->code);
    s.op = *ip;
    s.gas = gas;
    s.gas_cost = base_gas[f->rev][s.op];
    s.depth = f->msg->depth;
    s.refund = f->refund;
    s.stack = st; s.stack_size = n;
    s.mem_size = f->mem_size;
    s.op_name = op_names[s.op] ? op_names[s.op] : "opcode";
    fn(tracer_ctx, &s);
}

/* ------------------------------------------------------------------ the loop (two instances) */
#define INTERP_FN run_fast
#define INTERP_TRACED 0
#include "interp_loop.h"
#undef INTERP_FN
#undef INTERP_TRACED
#define INTERP_FN run_traced
#define INTERP_TRACED 1
#include "interp_loop.h"
#undef INTERP_FN
#undef INTERP_TRACED

static void release_output(const evm_result *r) { free((void *)r->output_data); }

evm_result evm_execute(const evm_host_interface *host, void *ctx, enum evm_revision rev,
                       const evm_message *msg, const uint8_t *code, size_t code_size) {
    evm_result res;
    memset(&res, 0, sizeof res);
    pthread_once(&tables_once, init_tables);
    if (!host || !msg || (unsigned)rev > EVM_MAX_REVISION || (!code && code_size)) {
        res.status = EVM_REJECTED;
        return res;
    }
    tls_register();
    frame *f = frame_get(msg->depth);
    analysis *an = f ? analysis_get(code, code_size, rev) : NULL;
    if (!f || !an) {
        if (f) frame_done(f, msg->depth);
        res.status = EVM_OUT_OF_MEMORY;
        return res;
    }
    f->host = host; f->ctx = ctx; f->msg = msg; f->rev = rev; f->an = an;
    f->mem_size = 0; f->ret = NULL; f->ret_size = 0; memset(&f->last, 0, sizeof f->last);
    f->tx_loaded = false; f->oom = false; f->refund = 0; f->out_off = 0; f->out_size = 0;

    int64_t gas = msg->gas;
    int st = tracer_fn ? run_traced(f, &gas) : run_fast(f, &gas);
    res.status = (enum evm_status)st;
    if (st == EVM_SUCCESS || st == EVM_REVERT) {
        res.gas_left = gas;
        if (st == EVM_SUCCESS) res.gas_refund = f->refund;
        if (f->out_size) {
            uint8_t *o = malloc(f->out_size);
            if (!o) {
                res.status = EVM_OUT_OF_MEMORY; res.gas_left = 0; res.gas_refund = 0;
            } else {
                memcpy(o, f->mem + f->out_off, f->out_size);
                res.output_data = o; res.output_size = f->out_size; res.release = release_output;
            }
        }
    }
    analysis_put(an);
    frame_done(f, msg->depth);
    return res;
}
