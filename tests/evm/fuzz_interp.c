/* fuzz_interp.c — libFuzzer target for the EVM interpreter (`make fuzz-evm-interp`, tests/evm/module.mk).
 * Input: [rev][flags][gas hi][gas lo] then bytecode (also used as calldata). A deterministic mock host
 * answers every callback; CALL/CREATE recurse into the same code up to depth 3. Checks the result
 * invariants (status known, 0 <= gas_left <= gas, exceptional halts keep no gas, output only on
 * SUCCESS/REVERT) and aborts on a violation; ASan/UBSan catch memory errors. Differential check (when
 * flags bit 2 is set): the same input runs again through the traced loop (no-op tracer, per-instruction
 * checks) and must end the same way (success/revert/exceptional) with the same gas left and output. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "evm/evm.h"

typedef struct { enum evm_revision rev; const uint8_t *code; size_t code_size; int calls; } fz;

static bool f_exists(void *c, const evm_address *a) { (void)c; return a->bytes[19] & 1; }
static evm_bytes32 f_get_storage(void *c, const evm_address *a, const evm_bytes32 *k) {
    (void)c; (void)a; evm_bytes32 r = *k; r.bytes[0] ^= 0x5a; return r;
}
static enum evm_storage_status f_set_storage(void *c, const evm_address *a, const evm_bytes32 *k, const evm_bytes32 *v) {
    (void)c; (void)a; return (enum evm_storage_status)((k->bytes[31] ^ v->bytes[31]) % 9);
}
static evm_uint256be f_balance(void *c, const evm_address *a) {
    (void)c; evm_uint256be b; memset(&b, 0, sizeof b); b.bytes[31] = a->bytes[19]; return b;
}
static size_t f_code_size(void *c, const evm_address *a) { (void)a; return ((fz *)c)->code_size; }
static evm_bytes32 f_code_hash(void *c, const evm_address *a) { (void)c; evm_bytes32 h; memset(&h, a->bytes[0], 32); return h; }
static size_t f_copy_code(void *c, const evm_address *a, size_t off, uint8_t *buf, size_t n) {
    (void)a; fz *z = c;
    if (off >= z->code_size) return 0;
    size_t k = z->code_size - off < n ? z->code_size - off : n;
    memcpy(buf, z->code + off, k); return k;
}
static bool f_selfdestruct(void *c, const evm_address *a, const evm_address *b) { (void)c; (void)a; (void)b; return true; }
static const evm_host_interface *iface(void);
static void f_release(const evm_result *r) { free((void *)r->output_data); }
static evm_result f_call(void *c, const evm_message *m) {
    fz *z = c;
    evm_result r; memset(&r, 0, sizeof r);
    if (m->gas < 0) abort();
    if (m->depth <= 3 && z->calls++ < 16) {
        r = evm_execute(iface(), c, z->rev, m, m->kind >= EVM_CREATE ? m->input_data : z->code,
                        m->kind >= EVM_CREATE ? m->input_size : z->code_size);
        if (r.gas_left < 0 || r.gas_left > m->gas) abort();
        if (m->kind >= EVM_CREATE && r.status == EVM_SUCCESS) {   /* a CREATE result carries no output */
            evm_release_result(&r); r.output_data = NULL; r.output_size = 0; r.release = NULL;
            memset(r.create_address.bytes, 0x42, 20);
        }
        return r;
    }
    r.status = (m->gas & 1) ? EVM_SUCCESS : EVM_REVERT;
    r.gas_left = m->gas / 2;
    uint8_t *o = malloc(7);
    if (o) { memset(o, 0xab, 7); r.output_data = o; r.output_size = 7; r.release = f_release; }
    return r;
}
static evm_tx_context f_tx(void *c) {
    (void)c; evm_tx_context t; memset(&t, 0, sizeof t);
    t.block_number = 300; t.block_gas_limit = 30000000; t.chain_id.bytes[31] = 1;
    static const evm_bytes32 bh[2] = {{{1}}, {{2}}};
    t.blob_hashes = bh; t.blob_hashes_count = 2;
    return t;
}
static evm_bytes32 f_block_hash(void *c, int64_t n) { (void)c; evm_bytes32 h; memset(&h, (int)(n & 0xff), 32); return h; }
static void f_log(void *c, const evm_address *a, const uint8_t *d, size_t n, const evm_bytes32 t[], size_t nt) {
    (void)c; (void)a; volatile uint8_t x = 0;
    for (size_t i = 0; i < n; i++) x ^= d[i];                 /* touch every byte (ASan checks bounds) */
    for (size_t i = 0; i < nt; i++) x ^= t[i].bytes[0];
    (void)x;
}
static enum evm_access_status f_access_account(void *c, const evm_address *a) { (void)c; return a->bytes[19] & 2 ? EVM_ACCESS_WARM : EVM_ACCESS_COLD; }
static enum evm_access_status f_access_storage(void *c, const evm_address *a, const evm_bytes32 *k) { (void)c; (void)a; return k->bytes[31] & 1 ? EVM_ACCESS_WARM : EVM_ACCESS_COLD; }
static evm_bytes32 f_tget(void *c, const evm_address *a, const evm_bytes32 *k) { (void)c; (void)a; return *k; }
static void f_tset(void *c, const evm_address *a, const evm_bytes32 *k, const evm_bytes32 *v) { (void)c; (void)a; (void)k; (void)v; }
static const evm_host_interface host = {
    f_exists, f_get_storage, f_set_storage, f_balance, f_code_size, f_code_hash, f_copy_code, f_selfdestruct,
    f_call, f_tx, f_block_hash, f_log, f_access_account, f_access_storage, f_tget, f_tset};
static const evm_host_interface *iface(void) { return &host; }

static void noop_tracer(void *t, const evm_trace_step *s) { (void)t; (void)s; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 4) return 0;
    fz z;
    z.rev = (enum evm_revision)(data[0] % (EVM_CANCUN + 1));
    z.code = data + 4; z.code_size = size - 4; z.calls = 0;
    evm_message m; memset(&m, 0, sizeof m);
    m.kind = EVM_CALL;
    m.flags = data[1] & 1 ? EVM_STATIC : 0;
    m.depth = data[1] >> 1 & 1 ? 1023 : 0;
    m.gas = (int64_t)((data[2] << 8) | data[3]) * 16;
    m.recipient.bytes[19] = 0xaa; m.sender.bytes[19] = 0x11;
    m.input_data = z.code; m.input_size = z.code_size;
    evm_result r = evm_execute(&host, &z, z.rev, &m, z.code, z.code_size);
    if (r.gas_left < 0 || r.gas_left > m.gas) abort();
    if (data[1] & 4) {
        /* differential: the traced loop must agree */
        z.calls = 0;
        evm_set_tracer(noop_tracer, NULL);
        evm_result t = evm_execute(&host, &z, z.rev, &m, z.code, z.code_size);
        evm_set_tracer(NULL, NULL);
        int cr = r.status == EVM_SUCCESS ? 0 : r.status == EVM_REVERT ? 1 : 2;
        int ct = t.status == EVM_SUCCESS ? 0 : t.status == EVM_REVERT ? 1 : 2;
        if (cr != ct || r.gas_left != t.gas_left || r.gas_refund != t.gas_refund || r.output_size != t.output_size ||
            (r.output_size && memcmp(r.output_data, t.output_data, r.output_size) != 0))
            abort();
        evm_release_result(&t);
    }
    if (r.status != EVM_SUCCESS && r.status != EVM_REVERT && (r.gas_left != 0 || r.output_size != 0 || r.gas_refund != 0)) abort();
    if (r.status < EVM_INTERNAL_ERROR - 2 || r.status > EVM_INSUFFICIENT_BALANCE) abort();
    if (r.output_size && !r.output_data) abort();
    volatile uint8_t x = 0;
    for (size_t i = 0; i < r.output_size; i++) x ^= r.output_data[i];
    (void)x;
    evm_release_result(&r);
    return 0;
}
