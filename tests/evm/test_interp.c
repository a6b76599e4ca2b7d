/* test_interp.c — bytecode-level tests of the EVM interpreter (src/evm/interp.c) over a small mock host:
 * arithmetic and exact gas, jumps and bad jumps, stack limits, memory expansion cost and huge offsets,
 * truncated PUSH, static-mode violations, RETURNDATACOPY bounds, per-revision opcode availability,
 * SSTORE/EXP/cold-access gas per revision, nested CALL/CREATE through the host, tracing. */
#include <pthread.h>
#include <stdint.h>
#include "../test.h"
#include "evm/evm.h"
#include "evm/uint256.h"

/* ------------------------------------------------------------------ mock host */
typedef struct { evm_address a; evm_bytes32 k, orig, cur; bool warm; } slot;
typedef struct { evm_address a; const uint8_t *code; size_t code_size; u256 balance; } acct;
typedef struct {
    enum evm_revision rev;
    acct accts[8]; int nacct;
    slot slots[64]; int nslot;
    slot tslots[16]; int ntslot;
    int calls, logs, selfdestructs;
    evm_address warm[16]; int nwarm;
    evm_message last_msg;
    evm_tx_context tx;
    const uint8_t *child_ret; size_t child_ret_size;   /* CREATE/unknown-account call returns this */
} mock;

static acct *find_acct(mock *m, const evm_address *a) {
    for (int i = 0; i < m->nacct; i++) if (memcmp(m->accts[i].a.bytes, a->bytes, 20) == 0) return &m->accts[i];
    return NULL;
}
static slot *find_slot(slot *s, int n, const evm_address *a, const evm_bytes32 *k) {
    for (int i = 0; i < n; i++) if (!memcmp(s[i].a.bytes, a->bytes, 20) && !memcmp(s[i].k.bytes, k->bytes, 32)) return &s[i];
    return NULL;
}
static bool h_exists(void *c, const evm_address *a) { return find_acct(c, a) != NULL; }
static evm_bytes32 h_get_storage(void *c, const evm_address *a, const evm_bytes32 *k) {
    mock *m = c; slot *s = find_slot(m->slots, m->nslot, a, k);
    evm_bytes32 z = {{0}}; return s ? s->cur : z;
}
static slot *get_or_add(mock *m, const evm_address *a, const evm_bytes32 *k) {
    slot *s = find_slot(m->slots, m->nslot, a, k);
    if (!s && m->nslot < 64) { s = &m->slots[m->nslot++]; memset(s, 0, sizeof *s); s->a = *a; s->k = *k; }
    return s;
}
static enum evm_storage_status h_set_storage(void *c, const evm_address *a, const evm_bytes32 *k, const evm_bytes32 *v) {
    mock *m = c; slot *s = get_or_add(m, a, k);
    u256 o = u256_from_bytes32(s->orig), cur = u256_from_bytes32(s->cur), n = u256_from_bytes32(*v);
    enum evm_storage_status st;
    if (u256_eq(cur, n)) st = EVM_STORAGE_ASSIGNED;
    else if (u256_eq(o, cur)) st = u256_is_zero(o) ? EVM_STORAGE_ADDED : u256_is_zero(n) ? EVM_STORAGE_DELETED : EVM_STORAGE_MODIFIED;
    else if (!u256_is_zero(o)) {
        if (u256_is_zero(cur)) st = u256_eq(n, o) ? EVM_STORAGE_DELETED_RESTORED : EVM_STORAGE_DELETED_ADDED;
        else if (u256_is_zero(n)) st = EVM_STORAGE_MODIFIED_DELETED;
        else if (u256_eq(n, o)) st = EVM_STORAGE_MODIFIED_RESTORED;
        else st = EVM_STORAGE_ASSIGNED;
    } else st = u256_is_zero(n) ? EVM_STORAGE_ADDED_DELETED : EVM_STORAGE_ASSIGNED;
    s->cur = *v;
    return st;
}
static evm_uint256be h_balance(void *c, const evm_address *a) {
    acct *x = find_acct(c, a); return u256_to_bytes32(x ? x->balance : u256_zero());
}
static size_t h_code_size(void *c, const evm_address *a) { acct *x = find_acct(c, a); return x ? x->code_size : 0; }
static evm_bytes32 h_code_hash(void *c, const evm_address *a) {
    acct *x = find_acct(c, a); evm_bytes32 h = {{0}};
    if (x) evm_keccak256(x->code, x->code_size, h.bytes);
    return h;
}
static size_t h_copy_code(void *c, const evm_address *a, size_t off, uint8_t *buf, size_t n) {
    acct *x = find_acct(c, a);
    if (!x || off >= x->code_size) return 0;
    size_t k = x->code_size - off < n ? x->code_size - off : n;
    memcpy(buf, x->code + off, k); return k;
}
static bool h_selfdestruct(void *c, const evm_address *a, const evm_address *b) {
    (void)a; (void)b; mock *m = c; return m->selfdestructs++ == 0;
}
static const evm_host_interface *mock_iface(void);
static evm_result h_call(void *c, const evm_message *msg) {
    mock *m = c; m->calls++; m->last_msg = *msg;
    evm_result r; memset(&r, 0, sizeof r);
    if (msg->kind == EVM_CREATE || msg->kind == EVM_CREATE2) {
        r.status = EVM_SUCCESS; r.gas_left = msg->gas / 2; memset(r.create_address.bytes, 0xcc, 20); return r;
    }
    acct *x = find_acct(m, &msg->code_address);
    if (x && x->code_size) return evm_execute(mock_iface(), c, m->rev, msg, x->code, x->code_size);
    r.status = EVM_SUCCESS; r.gas_left = msg->gas;
    r.output_data = m->child_ret; r.output_size = m->child_ret_size;
    return r;
}
static evm_tx_context h_tx(void *c) { return ((mock *)c)->tx; }
static evm_bytes32 h_block_hash(void *c, int64_t n) {
    (void)c; evm_bytes32 h = {{0}}; h.bytes[31] = (uint8_t)n; h.bytes[0] = 0xbb; return h;
}
static void h_log(void *c, const evm_address *a, const uint8_t *d, size_t n, const evm_bytes32 t[], size_t nt) {
    (void)a; (void)d; (void)n; (void)t; (void)nt; ((mock *)c)->logs++;
}
static enum evm_access_status h_access_account(void *c, const evm_address *a) {
    mock *m = c;
    for (int i = 0; i < m->nwarm; i++) if (!memcmp(m->warm[i].bytes, a->bytes, 20)) return EVM_ACCESS_WARM;
    if (m->nwarm < 16) m->warm[m->nwarm++] = *a;
    return EVM_ACCESS_COLD;
}
static enum evm_access_status h_access_storage(void *c, const evm_address *a, const evm_bytes32 *k) {
    slot *s = get_or_add(c, a, k); if (!s) return EVM_ACCESS_WARM;
    bool w = s->warm; s->warm = true; return w ? EVM_ACCESS_WARM : EVM_ACCESS_COLD;
}
static evm_bytes32 h_tget(void *c, const evm_address *a, const evm_bytes32 *k) {
    mock *m = c; slot *s = find_slot(m->tslots, m->ntslot, a, k); evm_bytes32 z = {{0}}; return s ? s->cur : z;
}
static void h_tset(void *c, const evm_address *a, const evm_bytes32 *k, const evm_bytes32 *v) {
    mock *m = c; slot *s = find_slot(m->tslots, m->ntslot, a, k);
    if (!s && m->ntslot < 16) { s = &m->tslots[m->ntslot++]; s->a = *a; s->k = *k; }
    if (s) s->cur = *v;
}
static const evm_host_interface iface = {
    h_exists, h_get_storage, h_set_storage, h_balance, h_code_size, h_code_hash, h_copy_code, h_selfdestruct,
    h_call, h_tx, h_block_hash, h_log, h_access_account, h_access_storage, h_tget, h_tset};
static const evm_host_interface *mock_iface(void) { return &iface; }

/* ------------------------------------------------------------------ helpers */
static mock M;
static uint8_t codebuf[8192];
static size_t hex2bin(const char *h, uint8_t *out, size_t max) {
    size_t n = 0;
    while (h[0] && h[1] && n < max) {
        if (h[0] == ' ') { h++; continue; }
        unsigned v; sscanf(h, "%2x", &v); out[n++] = (uint8_t)v; h += 2;
    }
    return n;
}
static evm_address addr_of(uint8_t b) { evm_address a; memset(a.bytes, 0, 20); a.bytes[19] = b; return a; }
static void mock_reset(enum evm_revision rev) {
    memset(&M, 0, sizeof M); M.rev = rev;
    M.tx.block_number = 1000; M.tx.block_gas_limit = 30000000; M.tx.chain_id.bytes[31] = 1;
    M.accts[0].a = addr_of(0xaa); M.accts[0].balance = u256_from_u64(1000); M.nacct = 1;
    M.warm[0] = addr_of(0xaa); M.nwarm = 1;
}
static evm_result run_ex(enum evm_revision rev, const uint8_t *code, size_t n, int64_t gas, uint32_t flags,
                         const uint8_t *input, size_t input_size) {
    evm_message msg; memset(&msg, 0, sizeof msg);
    msg.kind = EVM_CALL; msg.flags = flags; msg.gas = gas; msg.recipient = addr_of(0xaa);
    msg.code_address = addr_of(0xaa); msg.sender = addr_of(0x11);
    msg.input_data = input; msg.input_size = input_size;
    M.rev = rev;
    return evm_execute(&iface, &M, rev, &msg, code, n);
}
static evm_result runh(enum evm_revision rev, const char *hex, int64_t gas) {
    size_t n = hex2bin(hex, codebuf, sizeof codebuf);
    return run_ex(rev, codebuf, n, gas, 0, NULL, 0);
}
static evm_result runh_static(enum evm_revision rev, const char *hex, int64_t gas) {
    size_t n = hex2bin(hex, codebuf, sizeof codebuf);
    return run_ex(rev, codebuf, n, gas, EVM_STATIC, NULL, 0);
}
static uint64_t out_u64(const evm_result *r) {
    if (r->output_size != 32) return ~0ull;
    u256 v = u256_from_be(r->output_data); return v.w[0];
}
/* code suffix: store top of stack at 0 and return it */
#define RET_TOP "60005260206000f3"
#define RET_COST (3 + 6 + 3 + 3)

/* ------------------------------------------------------------------ tracer */
static int trace_n; static uint8_t trace_last_op; static size_t trace_last_stack; static u256 trace_last_top;
static uint64_t trace_last_pc;
static void tracer(void *t, const evm_trace_step *s) {
    (void)t; trace_n++; trace_last_op = s->op; trace_last_stack = s->stack_size; trace_last_pc = s->pc;
    if (s->stack_size) trace_last_top = u256_from_bytes32(s->stack[s->stack_size - 1]);
}

/* Every test runs twice: with the fast loop, and with a no-op tracer installed so the traced loop
 * (per-instruction gas and stack checks) must give identical statuses and gas. */
static int g_traced;
#define TNAME(n) (g_traced ? "traced_" n : n)
static void noop_tracer(void *t, const evm_trace_step *s) { (void)t; (void)s; }
static void set_tracer(evm_trace_fn fn) {
    evm_set_tracer(fn ? fn : (g_traced ? noop_tracer : NULL), NULL);
}

static void all_tests(void) {
    evm_result r;
    mock_reset(EVM_CANCUN);

    TEST_BEGIN(TNAME("interp_arith_exact_gas"));
    r = runh(EVM_CANCUN, "6002600301" RET_TOP, 100000);
    CHECK(r.status == EVM_SUCCESS); CHECK_EQ_U64(out_u64(&r), 5);
    CHECK_EQ_U64(100000 - r.gas_left, 9 + RET_COST);
    evm_release_result(&r);
    /* 10 - 3 = 7 (SUB a=top), 2**10, sdiv -8/2 = -4, signextend */
    r = runh(EVM_CANCUN, "6003600a03" RET_TOP, 100000); CHECK_EQ_U64(out_u64(&r), 7); evm_release_result(&r);
    r = runh(EVM_CANCUN, "600a60020a" RET_TOP, 100000); CHECK_EQ_U64(out_u64(&r), 1024);
    CHECK_EQ_U64(100000 - r.gas_left, 6 + 10 + 50 + RET_COST); evm_release_result(&r);
    r = runh(EVM_FRONTIER, "600a60020a" RET_TOP, 100000);
    CHECK_EQ_U64(100000 - r.gas_left, 6 + 10 + 10 + RET_COST); evm_release_result(&r);
    r = runh(EVM_CANCUN, "60ff60000b" RET_TOP, 100000); CHECK_EQ_U64(out_u64(&r), ~0ull); evm_release_result(&r);
    r = runh(EVM_CANCUN, "60076003600509" RET_TOP, 100000); CHECK_EQ_U64(out_u64(&r), 1); evm_release_result(&r); /* 5*3%7 */
    r = runh(EVM_CANCUN, "6000600a04" RET_TOP, 100000); CHECK_EQ_U64(out_u64(&r), 0); evm_release_result(&r);  /* 10/0 */
    r = runh(EVM_CANCUN, "600160ff1b60ff1d" RET_TOP, 100000); CHECK_EQ_U64(out_u64(&r), ~0ull); evm_release_result(&r); /* sar(1<<255, 255) */
    r = runh(EVM_CANCUN, "60006000fd", 1000); CHECK(r.status == EVM_REVERT); CHECK_EQ_U64(r.gas_left, 1000 - 6);
    CHECK(r.output_size == 0); evm_release_result(&r);
    r = runh(EVM_CANCUN, "fe", 1000); CHECK(r.status == EVM_INVALID_INSTRUCTION); CHECK_EQ_U64(r.gas_left, 0);
    r = runh(EVM_CANCUN, "0c", 1000); CHECK(r.status == EVM_UNDEFINED_INSTRUCTION); CHECK_EQ_U64(r.gas_left, 0);
    r = runh(EVM_CANCUN, "", 1000); CHECK(r.status == EVM_SUCCESS); CHECK_EQ_U64(r.gas_left, 1000);
    r = runh(EVM_CANCUN, "600160020160005260206000f3", 20); CHECK(r.status == EVM_OUT_OF_GAS); CHECK_EQ_U64(r.gas_left, 0);
    /* keccak256 of nothing */
    r = runh(EVM_CANCUN, "6000600020" RET_TOP, 1000);
    CHECK(r.output_size == 32 && r.output_data[0] == 0xc5 && r.output_data[31] == 0x70);
    CHECK_EQ_U64(1000 - r.gas_left, 6 + 30 + RET_COST); evm_release_result(&r);
    TEST_END();

    TEST_BEGIN(TNAME("interp_jumps"));
    /* loop: i=5; do { i-- } while(i) ; return i-count via GAS? simply count iterations into memory */
    r = runh(EVM_CANCUN, "6005" "5b" "600190" "03" "80" "6002" "57" RET_TOP, 100000);
    CHECK(r.status == EVM_SUCCESS); CHECK_EQ_U64(out_u64(&r), 0); evm_release_result(&r);
    r = runh(EVM_CANCUN, "600356", 1000); CHECK(r.status == EVM_BAD_JUMP_DESTINATION); CHECK_EQ_U64(r.gas_left, 0);
    r = runh(EVM_CANCUN, "6004565b", 1000); CHECK(r.status == EVM_BAD_JUMP_DESTINATION);     /* past end */
    r = runh(EVM_CANCUN, "60055660005b", 1000); CHECK(r.status == EVM_SUCCESS);           /* 0x5b at 5 is code */
    r = runh(EVM_CANCUN, "600356605b00", 1000); CHECK(r.status == EVM_BAD_JUMP_DESTINATION); /* 0x5b is push data */
    r = runh(EVM_CANCUN, "7f0000000000000000000000000000000000000000000000000000000000000001" "56", 1000);
    CHECK(r.status == EVM_BAD_JUMP_DESTINATION);
    r = runh(EVM_CANCUN, "7f0100000000000000000000000000000000000000000000000000000000000005" "56", 1000);
    CHECK(r.status == EVM_BAD_JUMP_DESTINATION);                                            /* huge dest */
    r = runh(EVM_CANCUN, "6000600657005b00", 1000); CHECK(r.status == EVM_SUCCESS);        /* JUMPI not taken */
    CHECK_EQ_U64(1000 - r.gas_left, 3 + 3 + 10);
    r = runh(EVM_CANCUN, "6001600657fe5b00", 1000); CHECK(r.status == EVM_SUCCESS);        /* taken */
    CHECK_EQ_U64(1000 - r.gas_left, 3 + 3 + 10 + 1);
    /* runs of JUMPDESTs (entered once in the fast loop): exact gas, jumping into the middle, traced == fast */
    for (int traced = 0; traced < 2; traced++) {
        if (traced) set_tracer(tracer);
        r = runh(EVM_CANCUN, "600456005b5b5b600100", 1000); CHECK(r.status == EVM_SUCCESS);
        CHECK_EQ_U64(1000 - r.gas_left, 3 + 8 + 3 + 3);
        r = runh(EVM_CANCUN, "600556005b5b5b600100", 1000); CHECK_EQ_U64(1000 - r.gas_left, 3 + 8 + 2 + 3);
        r = runh(EVM_CANCUN, "600656005b5b5b600100", 1000); CHECK_EQ_U64(1000 - r.gas_left, 3 + 8 + 1 + 3);
        r = runh(EVM_CANCUN, "5b5b5b600100", 1000); CHECK_EQ_U64(1000 - r.gas_left, 3 + 3);
        r = runh(EVM_CANCUN, "5b5b5b01", 1000); CHECK(r.status == EVM_STACK_UNDERFLOW);
        r = runh(EVM_CANCUN, "5b5b5b600100", 5); CHECK(r.status == EVM_OUT_OF_GAS);
        r = runh(EVM_CANCUN, "600160075760005b5b5b00", 1000); CHECK_EQ_U64(1000 - r.gas_left, 3 + 3 + 10 + 3);
        set_tracer(NULL);
    }
    TEST_END();

    TEST_BEGIN(TNAME("interp_stack_limits"));
    r = runh(EVM_CANCUN, "01", 1000); CHECK(r.status == EVM_STACK_UNDERFLOW); CHECK_EQ_U64(r.gas_left, 0);
    r = runh(EVM_CANCUN, "600101", 1000); CHECK(r.status == EVM_STACK_UNDERFLOW);
    r = runh(EVM_CANCUN, "6001600290", 1000); CHECK(r.status == EVM_SUCCESS);
    r = runh(EVM_CANCUN, "600191", 1000); CHECK(r.status == EVM_STACK_UNDERFLOW);
    r = runh(EVM_CANCUN, "8f", 1000); CHECK(r.status == EVM_STACK_UNDERFLOW);
    {
        size_t n = 0;
        for (int i = 0; i < 1024; i++) codebuf[n++] = 0x58;            /* PC x1024: fine */
        r = run_ex(EVM_CANCUN, codebuf, n, 100000, 0, NULL, 0); CHECK(r.status == EVM_SUCCESS);
        CHECK_EQ_U64(100000 - r.gas_left, 2048);
        codebuf[n++] = 0x58;                                           /* 1025th: overflow */
        r = run_ex(EVM_CANCUN, codebuf, n, 100000, 0, NULL, 0); CHECK(r.status == EVM_STACK_OVERFLOW);
        CHECK_EQ_U64(r.gas_left, 0);
        codebuf[n - 1] = 0x80;                                         /* DUP1 at 1024 */
        r = run_ex(EVM_CANCUN, codebuf, n, 100000, 0, NULL, 0); CHECK(r.status == EVM_STACK_OVERFLOW);
        codebuf[n - 1] = 0x90;                                         /* SWAP1 at 1024 is fine */
        r = run_ex(EVM_CANCUN, codebuf, n, 100000, 0, NULL, 0); CHECK(r.status == EVM_SUCCESS);
    }
    TEST_END();

    TEST_BEGIN(TNAME("interp_memory_cost"));
    r = runh(EVM_CANCUN, "600162010000" "52", 100000);          /* MSTORE at 0x10000 */
    CHECK(r.status == EVM_SUCCESS);
    CHECK_EQ_U64(100000 - r.gas_left, 3 + 3 + 3 + (3 * 2049 + 2049 * 2049 / 512));
    r = runh(EVM_CANCUN, "6001602153" "59" RET_TOP, 100000);   /* MSTORE8 at 33 -> MSIZE 64 */
    CHECK_EQ_U64(out_u64(&r), 64); evm_release_result(&r);
    r = runh(EVM_CANCUN, "6000" "51" "50" "602051" "50" "59" RET_TOP, 100000);  /* MLOAD 0, MLOAD 32 -> 64 */
    CHECK_EQ_U64(out_u64(&r), 64); evm_release_result(&r);
    r = runh(EVM_CANCUN, "60016000600037" "59" RET_TOP, 100000);   /* CALLDATACOPY 1 byte */
    CHECK_EQ_U64(out_u64(&r), 32); evm_release_result(&r);
    r = runh(EVM_CANCUN, "6000" "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" "37" "59" RET_TOP, 100000);
    CHECK(r.status == EVM_STACK_UNDERFLOW);
    /* zero-size copy at a huge offset costs nothing */
    r = runh(EVM_CANCUN, "60006000" "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" "37" "59" RET_TOP, 100000);
    CHECK(r.status == EVM_SUCCESS); CHECK_EQ_U64(out_u64(&r), 0); evm_release_result(&r);
    TEST_END();

    TEST_BEGIN(TNAME("interp_huge_offsets_oog"));
    {
        const char *cases[] = {
            "6001" "68010000000000000000" "52",                        /* MSTORE at 2^64 */
            "6001" "63ffffffe0" "52",                                  /* MSTORE at 4G-32 */
            "6001" "7f8000000000000000000000000000000000000000000000000000000000000000" "52",
            "7f0000000000000000000000000000000000000000000000000000000100000000" "6000" "20", /* SHA3 huge size */
            "7f0000000000000000000000000000000000000000000000000000000100000000" "60006000" "37",
            "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" "60006000" "39",
            "64ffffffffff" "6000" "f3",                                /* RETURN huge size */
            "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" "6000" "a0",
            "7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff" "60006000" "5e", /* MCOPY */
        };
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            r = runh(EVM_CANCUN, cases[i], 10000000);
            if (r.status != EVM_OUT_OF_GAS) printf("  case %zu: status %d\n", i, r.status);
            CHECK(r.status == EVM_OUT_OF_GAS); CHECK_EQ_U64(r.gas_left, 0);
        }
        /* huge gas does not let memory grow past the hard limit */
        r = runh(EVM_CANCUN, "6001" "640100000000" "52", INT64_MAX);
        CHECK(r.status == EVM_OUT_OF_GAS);
        r = runh(EVM_CANCUN, "6001" "63fffffff0" "52", INT64_MAX);
        CHECK(r.status == EVM_OUT_OF_GAS);
    }
    TEST_END();

    TEST_BEGIN(TNAME("interp_truncated_push"));
    set_tracer(tracer);
    trace_n = 0;
    r = runh(EVM_CANCUN, "6101", 1000);                         /* PUSH2 with one byte: 0x0100 */
    CHECK(r.status == EVM_SUCCESS); CHECK_EQ_U64(1000 - r.gas_left, 3);
    CHECK(trace_n == 2); CHECK(trace_last_op == 0 && trace_last_stack == 1);
    CHECK_EQ_U64(trace_last_top.w[0], 0x0100); CHECK_EQ_U64(trace_last_pc, 3);
    r = runh(EVM_CANCUN, "7f", 1000); CHECK(r.status == EVM_SUCCESS);
    CHECK_EQ_U64(trace_last_top.w[0], 0);
    set_tracer(NULL);
    TEST_END();

    TEST_BEGIN(TNAME("interp_static_violations"));
    {
        const char *cases[] = {"600160005500", "60006000a0", "600160015d", "600060006000f0",
                               "6000600060006000600160bb6103e8f1", "60bbff"};
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            r = runh_static(EVM_CANCUN, cases[i], 100000);
            if (r.status != EVM_STATIC_MODE_VIOLATION) printf("  case %zu: status %d\n", i, r.status);
            CHECK(r.status == EVM_STATIC_MODE_VIOLATION); CHECK_EQ_U64(r.gas_left, 0);
        }
        /* CALL without value, SLOAD, TLOAD are fine in static mode */
        r = runh_static(EVM_CANCUN, "6000600060006000600060bb6103e8f1" "60005450" "60005c", 100000);
        CHECK(r.status == EVM_SUCCESS);
        CHECK(M.last_msg.flags & EVM_STATIC);
    }
    TEST_END();

    TEST_BEGIN(TNAME("interp_returndata"));
    {
        static const uint8_t four[4] = {1, 2, 3, 4};
        mock_reset(EVM_CANCUN); M.child_ret = four; M.child_ret_size = 4;
        /* STATICCALL to 0xbb (no code: mock returns 4 bytes), then RETURNDATASIZE */
        const char *call = "60006000600060006000" "60bb" "61ffff" "fa" "50";
        char buf[512];
        snprintf(buf, sizeof buf, "%s3d" RET_TOP, call);
        r = runh(EVM_CANCUN, buf, 100000); CHECK(r.status == EVM_SUCCESS); CHECK_EQ_U64(out_u64(&r), 4); evm_release_result(&r);
        snprintf(buf, sizeof buf, "%s" "600460006000" "3e" "6000" "51" RET_TOP, call);   /* copy 4 bytes: ok */
        r = runh(EVM_CANCUN, buf, 100000); CHECK(r.status == EVM_SUCCESS);
        CHECK(r.output_size == 32 && r.output_data[0] == 1 && r.output_data[3] == 4); evm_release_result(&r);
        snprintf(buf, sizeof buf, "%s" "600560006000" "3e" "00", call);                  /* 5 bytes: OOB */
        r = runh(EVM_CANCUN, buf, 100000); CHECK(r.status == EVM_INVALID_MEMORY_ACCESS); CHECK_EQ_U64(r.gas_left, 0);
        snprintf(buf, sizeof buf, "%s" "600060056000" "3e" "00", call);                  /* offset 5, size 0: OOB */
        r = runh(EVM_CANCUN, buf, 100000); CHECK(r.status == EVM_INVALID_MEMORY_ACCESS);
        snprintf(buf, sizeof buf, "%s" "600060046000" "3e" "00", call);                  /* offset 4, size 0: ok */
        r = runh(EVM_CANCUN, buf, 100000); CHECK(r.status == EVM_SUCCESS);
        r = runh(EVM_CANCUN, "600160006000" "3e", 100000); CHECK(r.status == EVM_INVALID_MEMORY_ACCESS);
        r = runh(EVM_SPURIOUS_DRAGON, "3d", 100000); CHECK(r.status == EVM_UNDEFINED_INSTRUCTION);
    }
    TEST_END();

    TEST_BEGIN(TNAME("interp_revision_availability"));
    {
        struct { const char *code; enum evm_revision first; } c[] = {
            {"5f", EVM_SHANGHAI}, {"60005c", EVM_CANCUN}, {"600060005d", EVM_CANCUN}, {"6000600060005e", EVM_CANCUN},
            {"600049", EVM_CANCUN}, {"4a", EVM_CANCUN}, {"48", EVM_LONDON}, {"46", EVM_ISTANBUL}, {"47", EVM_ISTANBUL},
            {"600160011b", EVM_CONSTANTINOPLE}, {"600160011c", EVM_CONSTANTINOPLE}, {"600160011d", EVM_CONSTANTINOPLE},
            {"60003f", EVM_CONSTANTINOPLE}, {"6000600060006000f5", EVM_CONSTANTINOPLE}, {"60006000fd", EVM_BYZANTIUM},
            {"3d", EVM_BYZANTIUM}, {"600060006000600060bb6000fa", EVM_BYZANTIUM},
            {"600060006000600060bb6000f4", EVM_HOMESTEAD}};
        for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
            for (int rev = 0; rev <= EVM_CANCUN; rev++) {
                mock_reset((enum evm_revision)rev);
                r = runh((enum evm_revision)rev, c[i].code, 1000000);
                bool undef = r.status == EVM_UNDEFINED_INSTRUCTION;
                if (undef != (rev < (int)c[i].first)) printf("  %s rev %d status %d\n", c[i].code, rev, r.status);
                CHECK(undef == (rev < (int)c[i].first));
                evm_release_result(&r);
            }
        }
        /* BLOBHASH / BLOBBASEFEE values, PUSH0 pushes 0, TSTORE/TLOAD round trip */
        mock_reset(EVM_CANCUN);
        evm_bytes32 bh[2]; memset(bh, 0, sizeof bh); bh[1].bytes[31] = 0x77;
        M.tx.blob_hashes = bh; M.tx.blob_hashes_count = 2; M.tx.blob_base_fee.bytes[31] = 9;
        r = runh(EVM_CANCUN, "600149" RET_TOP, 10000); CHECK_EQ_U64(out_u64(&r), 0x77); evm_release_result(&r);
        r = runh(EVM_CANCUN, "600249" RET_TOP, 10000); CHECK_EQ_U64(out_u64(&r), 0); evm_release_result(&r);
        r = runh(EVM_CANCUN, "4a" RET_TOP, 10000); CHECK_EQ_U64(out_u64(&r), 9); evm_release_result(&r);
        r = runh(EVM_CANCUN, "5f" RET_TOP, 10000); CHECK_EQ_U64(out_u64(&r), 0);
        CHECK_EQ_U64(10000 - r.gas_left, 2 + RET_COST); evm_release_result(&r);
        r = runh(EVM_CANCUN, "602a60075d60075c" RET_TOP, 10000); CHECK_EQ_U64(out_u64(&r), 42);
        CHECK_EQ_U64(10000 - r.gas_left, 3 + 3 + 100 + 3 + 100 + RET_COST); evm_release_result(&r);
        /* MCOPY: copy word 0 to 32, overlapping semantics; cost 3 + 3*words + expansion */
        r = runh(EVM_CANCUN, "602a600052" "6020600060205e" "602051" RET_TOP, 10000); CHECK_EQ_U64(out_u64(&r), 42);
        evm_release_result(&r);
        r = runh(EVM_CANCUN, "46" RET_TOP, 10000); CHECK_EQ_U64(out_u64(&r), 1); evm_release_result(&r);
    }
    TEST_END();

    TEST_BEGIN(TNAME("interp_sstore_gas"));
    {
        /* 0 -> 1 (set) then 1 -> 0 in the same frame; per revision */
        struct { enum evm_revision rev; int64_t gas; int64_t refund; } c[] = {
            {EVM_FRONTIER, 20000 + 5000, 15000}, {EVM_BYZANTIUM, 20000 + 5000, 15000},
            {EVM_CONSTANTINOPLE, 20000 + 200, 19800}, {EVM_PETERSBURG, 20000 + 5000, 15000},
            {EVM_ISTANBUL, 20000 + 800, 19200}, {EVM_BERLIN, 2100 + 20000 + 100, 19900},
            {EVM_LONDON, 2100 + 20000 + 100, 19900}, {EVM_CANCUN, 2100 + 20000 + 100, 19900}};
        for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
            mock_reset(c[i].rev);
            r = runh(c[i].rev, "6001600055" "6000600055", 100000);
            CHECK(r.status == EVM_SUCCESS);
            if (100000 - r.gas_left != 12 + c[i].gas || r.gas_refund != c[i].refund)
                printf("  rev %d: used %lld refund %lld\n", c[i].rev, (long long)(100000 - r.gas_left), (long long)r.gas_refund);
            CHECK_EQ_U64(100000 - r.gas_left, 12 + c[i].gas);
            CHECK_EQ_U64(r.gas_refund, c[i].refund);
        }
        /* EIP-2200 sentry: with gas_left <= 2300, SSTORE fails from Istanbul */
        mock_reset(EVM_ISTANBUL);
        r = runh(EVM_ISTANBUL, "6001600055", 2306); CHECK(r.status == EVM_OUT_OF_GAS);
        mock_reset(EVM_PETERSBURG);
        r = runh(EVM_PETERSBURG, "6001600155" "6001600155", 5000 + 6 + 6 + 20000); CHECK(r.status == EVM_SUCCESS);
        /* failure: refund is dropped */
        mock_reset(EVM_LONDON);
        r = runh(EVM_LONDON, "6001600055" "6000600055" "fe", 100000); CHECK(r.status == EVM_INVALID_INSTRUCTION);
        CHECK_EQ_U64(r.gas_refund, 0);
    }
    TEST_END();

    TEST_BEGIN(TNAME("interp_access_costs"));
    {
        mock_reset(EVM_BERLIN);
        r = runh(EVM_BERLIN, "60bb31" "60bb31", 100000);      /* cold then warm BALANCE */
        CHECK_EQ_U64(100000 - r.gas_left, 6 + 2600 + 100);
        mock_reset(EVM_ISTANBUL);
        r = runh(EVM_ISTANBUL, "60bb31" "60bb3b" "60005450", 100000);
        CHECK_EQ_U64(100000 - r.gas_left, 6 + 700 + 700 + 3 + 800 + 2);
        mock_reset(EVM_FRONTIER);
        r = runh(EVM_FRONTIER, "60bb31" "60bb3b" "60005450", 100000);
        CHECK_EQ_U64(100000 - r.gas_left, 6 + 20 + 20 + 3 + 50 + 2);
        mock_reset(EVM_BERLIN);
        r = runh(EVM_BERLIN, "60005450" "60005450", 100000);
        CHECK_EQ_U64(100000 - r.gas_left, 6 + 2100 + 100 + 4);
        /* BLOCKHASH window */
        mock_reset(EVM_CANCUN);
        r = runh(EVM_CANCUN, "6103e740" RET_TOP, 10000); CHECK_EQ_U64(out_u64(&r), 0xe7); evm_release_result(&r);
        r = runh(EVM_CANCUN, "6103e840" RET_TOP, 10000); CHECK_EQ_U64(out_u64(&r), 0); evm_release_result(&r);
        r = runh(EVM_CANCUN, "6102e740" RET_TOP, 10000); CHECK_EQ_U64(out_u64(&r), 0); evm_release_result(&r);
        r = runh(EVM_CANCUN, "6102e840" RET_TOP, 10000); CHECK_EQ_U64(out_u64(&r), 0xe8); evm_release_result(&r);
    }
    TEST_END();

    TEST_BEGIN(TNAME("interp_calls"));
    {
        /* callee 0xbb returns 0x2a; caller CALLs it with 0xffff gas and returns the output word */
        static uint8_t callee[64]; size_t cn = hex2bin("602a" RET_TOP, callee, sizeof callee);
        mock_reset(EVM_CANCUN);
        M.accts[1].a = addr_of(0xbb); M.accts[1].code = callee; M.accts[1].code_size = cn; M.nacct = 2;
        r = runh(EVM_CANCUN, "60206000600060006000" "60bb" "61ffff" "f1" "50" "6000" "51" RET_TOP, 100000);
        CHECK(r.status == EVM_SUCCESS); CHECK_EQ_U64(out_u64(&r), 0x2a); CHECK(M.calls == 1);
        /* 7 pushes (21) + CALL 100 + cold 2500 + mem 3 + child (3+RET_COST=18) + POP 2 + PUSH 3 + MLOAD 3 + RET_COST */
        CHECK_EQ_U64(100000 - r.gas_left, 21 + 100 + 2500 + 3 + 18 + 2 + 3 + 3 + RET_COST - 3);
        CHECK(M.last_msg.depth == 1 && M.last_msg.gas == 0xffff && M.last_msg.kind == EVM_CALL);
        evm_release_result(&r);
        /* 63/64: requesting all gas passes gas - gas/64 */
        mock_reset(EVM_CANCUN); M.accts[0].balance = u256_zero();
        r = runh(EVM_CANCUN, "6000600060006000600060cc5a" "f1", 100000);
        {
            int64_t before = 100000 - 18 - 2 - 100 - 2500;
            CHECK_EQ_U64(M.last_msg.gas, before - before / 64);
        }
        /* value transfer with insufficient balance: no host call, pushes 0, stipend refunded */
        mock_reset(EVM_CANCUN); M.accts[0].balance = u256_from_u64(5);
        r = runh(EVM_CANCUN, "60006000600060006006" "60aa" "6000" "f1" RET_TOP, 100000);
        CHECK(r.status == EVM_SUCCESS); CHECK(M.calls == 0); CHECK_EQ_U64(out_u64(&r), 0);
        CHECK_EQ_U64(100000 - r.gas_left, 21 + 100 + 9000 - 2300 + RET_COST);   /* stipend comes back */
        evm_release_result(&r);
        /* value transfer to a non-existent account: +25000, stipend added to child gas */
        mock_reset(EVM_CANCUN);
        r = runh(EVM_CANCUN, "60006000600060006001" "60dd" "6000" "f1" RET_TOP, 100000);
        CHECK(M.calls == 1); CHECK_EQ_U64(M.last_msg.gas, 2300); CHECK_EQ_U64(out_u64(&r), 1);
        CHECK_EQ_U64(100000 - r.gas_left, 21 + 100 + 2500 + 9000 + 25000 - 2300 + RET_COST);
        evm_release_result(&r);
        /* depth 1024: light failure */
        mock_reset(EVM_CANCUN);
        {
            evm_message msg; memset(&msg, 0, sizeof msg);
            msg.gas = 100000; msg.depth = 1024; msg.recipient = addr_of(0xaa);
            size_t n = hex2bin("6000600060006000600060cc6000f1" RET_TOP, codebuf, sizeof codebuf);
            r = evm_execute(&iface, &M, EVM_CANCUN, &msg, codebuf, n);
            CHECK(r.status == EVM_SUCCESS); CHECK(M.calls == 0); CHECK_EQ_U64(out_u64(&r), 0);
            evm_release_result(&r);
        }
        /* DELEGATECALL keeps sender and value; CALLCODE recipient is self */
        mock_reset(EVM_CANCUN);
        r = runh(EVM_CANCUN, "600060006000600060cc6000f4", 100000);
        CHECK(M.last_msg.kind == EVM_DELEGATECALL && M.last_msg.sender.bytes[19] == 0x11 &&
              M.last_msg.recipient.bytes[19] == 0xaa && M.last_msg.code_address.bytes[19] == 0xcc);
        /* CREATE / CREATE2: address pushed, initcode word cost, 63/64 */
        mock_reset(EVM_CANCUN);
        r = runh(EVM_CANCUN, "6000600060006000f5" RET_TOP, 100000);
        CHECK(r.status == EVM_SUCCESS); CHECK(r.output_size == 32 && r.output_data[31] == 0xcc && r.output_data[11] == 0);
        CHECK(M.last_msg.kind == EVM_CREATE2 && M.last_msg.depth == 1);
        evm_release_result(&r);
        mock_reset(EVM_SHANGHAI);
        r = runh(EVM_SHANGHAI, "61c001" "6000" "6000" "f0", 10000000); CHECK(r.status == EVM_OUT_OF_GAS);
        mock_reset(EVM_PARIS);
        r = runh(EVM_PARIS, "61c001" "6000" "6000" "f0", 10000000); CHECK(r.status == EVM_SUCCESS);
        /* SELFDESTRUCT: refund before London, cost to a new account */
        mock_reset(EVM_BERLIN);
        r = runh(EVM_BERLIN, "60ddff", 100000); CHECK(r.status == EVM_SUCCESS);
        CHECK_EQ_U64(100000 - r.gas_left, 3 + 5000 + 2600 + 25000); CHECK_EQ_U64(r.gas_refund, 24000);
        mock_reset(EVM_LONDON);
        r = runh(EVM_LONDON, "60aaff", 100000); CHECK_EQ_U64(r.gas_refund, 0);
        CHECK_EQ_U64(100000 - r.gas_left, 3 + 5000);
        /* LOG */
        mock_reset(EVM_CANCUN);
        r = runh(EVM_CANCUN, "600160026003" "60206000" "a2", 100000); CHECK(M.logs == 1);
        CHECK_EQ_U64(100000 - r.gas_left, 15 + 375 * 3 + 8 * 32 + 3);
    }
    TEST_END();

    TEST_BEGIN(TNAME("interp_bad_inputs"));
    {
        evm_message msg; memset(&msg, 0, sizeof msg); msg.gas = 100;
        r = evm_execute(&iface, &M, (enum evm_revision)99, &msg, codebuf, 1); CHECK(r.status == EVM_REJECTED);
        msg.gas = -5;
        r = evm_execute(&iface, &M, EVM_CANCUN, &msg, codebuf, 0); CHECK(r.status == EVM_OUT_OF_GAS);
        CHECK(evm_revision_from_name("ConstantinopleFix") == EVM_PETERSBURG);
        CHECK(evm_revision_from_name("Merge") == EVM_PARIS);
        CHECK(evm_revision_from_name("EIP150") == EVM_TANGERINE_WHISTLE);
        CHECK(evm_revision_from_name("Nope") == -1);
        CHECK(strcmp(evm_revision_name(EVM_CANCUN), "Cancun") == 0);
        CHECK(strcmp(evm_status_name(EVM_OUT_OF_GAS), "out of gas") == 0);
    }
    TEST_END();
}

/* A worker thread's frame pool and analysis cache are freed when it exits (ASan's leak check). */
static void *thread_body(void *arg) {
    (void)arg;
    mock_reset(EVM_CANCUN);
    evm_result r = runh(EVM_CANCUN, "6000600060006000600060aa6103e8f1" RET_TOP, 100000);
    int ok = r.status == EVM_SUCCESS && out_u64(&r) == 1;
    evm_release_result(&r);
    return ok ? (void *)1 : NULL;
}

int main(void) {
    TEST_BEGIN("interp_worker_threads");
    for (int i = 0; i < 4; i++) {
        pthread_t t; void *ret = NULL;
        CHECK(pthread_create(&t, NULL, thread_body, NULL) == 0);
        CHECK(pthread_join(t, &ret) == 0);
        CHECK(ret == (void *)1);
    }
    TEST_END();
    all_tests();
    g_traced = 1;
    set_tracer(NULL);
    all_tests();
    TEST_EXIT();
}
