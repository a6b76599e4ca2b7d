/* host.c — the EVM host: the evm_host_interface callbacks over the journaled state, and message calls:
 * value transfer, precompile dispatch, CREATE/CREATE2 address derivation, collision checks, nonce rules,
 * code deposit (EIP-170 size, EIP-3541 0xEF, 200 gas/byte), EIP-161 touches (with the RIPEMD-160
 * touch quirk), EIP-6780 SELFDESTRUCT, EIP-7702 delegated code (Prague: a call to an account whose code is
 * 0xef0100 || delegate executes the delegate's code in the account's context). Gas/depth/balance checks of the caller are the interpreter's
 * (see /tmp/vmkit-evm-contract.md); the host re-checks depth and balance defensively. */
#include "internal.h"
#include "precompiles.h"
#include <stdio.h>
#include <stdlib.h>

static const evm_bytes32 Z32;
static const evm_address RIPEMD_ADDR = {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3}};

static bool h_account_exists(void *ctx, const evm_address *addr)
{
    hhost *h = ctx;
    hacct *a = hs_get(h->st, addr);
    if (!a) return false;
    return h->rev < EVM_SPURIOUS_DRAGON || !hacct_is_empty(a);
}

static evm_bytes32 h_get_storage(void *ctx, const evm_address *addr, const evm_bytes32 *key)
{
    hhost *h = ctx;
    hacct *a = hs_get(h->st, addr);
    return a ? hs_get_storage(a, key) : Z32;
}

static enum evm_storage_status h_set_storage(void *ctx, const evm_address *addr, const evm_bytes32 *key,
                                             const evm_bytes32 *value)
{
    hhost *h = ctx;
    return hs_set_storage(h->st, hs_get_or_create(h->st, addr), key, value);
}

static evm_uint256be h_get_balance(void *ctx, const evm_address *addr)
{
    hhost *h = ctx;
    hacct *a = hs_get(h->st, addr);
    return a ? hu_to_be(a->balance) : Z32;
}

static size_t h_get_code_size(void *ctx, const evm_address *addr)
{
    hhost *h = ctx;
    hacct *a = hs_get(h->st, addr);
    return a ? a->code_size : 0;
}

static evm_bytes32 h_get_code_hash(void *ctx, const evm_address *addr)
{
    hhost *h = ctx;
    hacct *a = hs_get(h->st, addr);
    if (!a || hacct_is_empty(a)) return Z32;
    return a->code_hash;
}

static size_t h_copy_code(void *ctx, const evm_address *addr, size_t off, uint8_t *buf, size_t size)
{
    hhost *h = ctx;
    hacct *a = hs_get(h->st, addr);
    if (!a || off >= a->code_size) return 0;
    size_t n = a->code_size - off < size ? a->code_size - off : size;
    memcpy(buf, a->code + off, n);
    return n;
}

static bool h_selfdestruct(void *ctx, const evm_address *addr, const evm_address *beneficiary)
{
    hhost *h = ctx;
    hstate *s = h->st;
    hacct *ben = hs_get_or_create(s, beneficiary);
    hacct *a = hs_get_or_create(s, addr);
    hs_touch(s, ben);
    hu256 bal = a->balance;
    if (ben != a) {
        hu256 nb;
        hu_add(&nb, ben->balance, bal);
        hs_set_balance(s, ben, nb);
        hs_set_balance(s, a, hu_from_u64(0));
    }
    if (h->rev < EVM_CANCUN || a->created) {
        if (!hu_is_zero(a->balance)) hs_set_balance(s, a, hu_from_u64(0));
        if (!a->destructed) {
            hs_set_flag_destructed(s, a);
            return true;
        }
    }
    return false;
}

static evm_result h_call(void *ctx, const evm_message *msg) { return hhost_call(ctx, msg); }

static evm_tx_context h_get_tx_context(void *ctx) { return ((hhost *)ctx)->txc; }

static evm_bytes32 h_get_block_hash(void *ctx, int64_t number)
{
    hhost *h = ctx;
    evm_bytes32 r = Z32;
    if (number < 0 || number >= h->env->number || number < h->env->number - 256) return r;
    char s[32];
    int n = snprintf(s, sizeof s, "%lld", (long long)number);
    evm_keccak256((const uint8_t *)s, (size_t)n, r.bytes);
    return r;
}

static void h_emit_log(void *ctx, const evm_address *addr, const uint8_t *data, size_t data_size,
                       const evm_bytes32 topics[], size_t topics_count)
{
    hhost *h = ctx;
    hs_add_log(h->st, addr, data, data_size, topics, topics_count);
}

static enum evm_access_status h_access_account(void *ctx, const evm_address *addr)
{
    hhost *h = ctx;
    return hs_warm_account(h->st, hs_record(h->st, addr)) ? EVM_ACCESS_WARM : EVM_ACCESS_COLD;
}

static enum evm_access_status h_access_storage(void *ctx, const evm_address *addr, const evm_bytes32 *key)
{
    hhost *h = ctx;
    return hs_warm_slot(h->st, hs_record(h->st, addr), key) ? EVM_ACCESS_WARM : EVM_ACCESS_COLD;
}

static evm_bytes32 h_get_tstorage(void *ctx, const evm_address *addr, const evm_bytes32 *key)
{
    hhost *h = ctx;
    hacct *a = hs_find(h->st, addr);
    return a ? hs_get_tstorage(a, key) : Z32;
}

static void h_set_tstorage(void *ctx, const evm_address *addr, const evm_bytes32 *key, const evm_bytes32 *value)
{
    hhost *h = ctx;
    hs_set_tstorage(h->st, hs_record(h->st, addr), key, value);
}

const evm_host_interface hhost_iface = {
    .account_exists = h_account_exists, .get_storage = h_get_storage, .set_storage = h_set_storage,
    .get_balance = h_get_balance, .get_code_size = h_get_code_size, .get_code_hash = h_get_code_hash,
    .copy_code = h_copy_code, .selfdestruct = h_selfdestruct, .call = h_call,
    .get_tx_context = h_get_tx_context, .get_block_hash = h_get_block_hash, .emit_log = h_emit_log,
    .access_account = h_access_account, .access_storage = h_access_storage,
    .get_transient_storage = h_get_tstorage, .set_transient_storage = h_set_tstorage,
};

static evm_result res(enum evm_status st, int64_t gas_left)
{
    evm_result r;
    memset(&r, 0, sizeof r);
    r.status = st;
    r.gas_left = gas_left;
    return r;
}

static void transfer(hstate *s, hacct *from, hacct *to, hu256 v)
{
    hu256 nb;
    hs_touch(s, from);
    hs_touch(s, to);
    hu_sub(&nb, from->balance, v);
    hs_set_balance(s, from, nb);
    hu_add(&nb, to->balance, v);
    hs_set_balance(s, to, nb);
}

static void create_address(const evm_message *msg, uint64_t nonce, evm_address *out)
{
    uint8_t h[32];
    if (msg->kind == EVM_CREATE2) {
        uint8_t buf[1 + 20 + 32 + 32];
        buf[0] = 0xff;
        memcpy(buf + 1, msg->sender.bytes, 20);
        memcpy(buf + 21, msg->create2_salt.bytes, 32);
        evm_keccak256(msg->input_data, msg->input_size, buf + 53);
        evm_keccak256(buf, sizeof buf, h);
    } else {
        hbuf pl = {0}, l = {0};
        rlp_put_bytes(&pl, msg->sender.bytes, 20);
        rlp_put_u64(&pl, nonce);
        rlp_put_list(&l, pl.p, pl.len);
        evm_keccak256(l.p, l.len, h);
        hbuf_free(&pl);
        hbuf_free(&l);
    }
    memcpy(out->bytes, h + 12, 20);
}

static evm_result do_create(hhost *h, const evm_message *msg)
{
    hstate *s = h->st;
    hacct *na = hs_record(s, &msg->recipient);
    if (na->exists && (na->nonce != 0 || na->code_size != 0 || hacct_has_storage(na))) {
        evm_result r = res(EVM_FAILURE, 0);
        return r;
    }
    na = hs_get_or_create(s, &msg->recipient);
    if (h->rev >= EVM_SPURIOUS_DRAGON) hs_set_nonce(s, na, 1);
    hs_set_flag_created(s, na);
    hacct *sender = hs_get_or_create(s, &msg->sender);
    transfer(s, sender, na, hu_from_be(&msg->value));

    evm_message cm = *msg;
    cm.input_data = NULL;
    cm.input_size = 0;
    cm.code_address = msg->recipient;
    evm_result r = evm_execute(&hhost_iface, h, h->rev, &cm, msg->input_data, msg->input_size);
    if (r.status != EVM_SUCCESS) {
        r.create_address = msg->recipient;
        return r;
    }
    const uint8_t *code = r.output_data;
    size_t n = r.output_size;
    int64_t gas_left = r.gas_left, refund = r.gas_refund;
    evm_result out = res(EVM_SUCCESS, gas_left);
    out.gas_refund = refund;
    out.create_address = msg->recipient;
    if (h->rev >= EVM_SPURIOUS_DRAGON && n > 24576) {
        out = res(EVM_FAILURE, 0);
    } else if ((int64_t)n * 200 > gas_left) {
        if (h->rev != EVM_FRONTIER) out = res(EVM_FAILURE, 0);
        /* Frontier: success without code */
    } else if (h->rev >= EVM_LONDON && n > 0 && code[0] == 0xEF) {
        out = res(EVM_CONTRACT_VALIDATION_FAILURE, 0);
    } else {
        out.gas_left = gas_left - (int64_t)n * 200;
        hs_set_code(s, na, code, n);
    }
    evm_release_result(&r);
    return out;
}

static evm_result execute_message(hhost *h, const evm_message *msg)
{
    hstate *s = h->st;
    if (msg->kind == EVM_CREATE || msg->kind == EVM_CREATE2) return do_create(h, msg);
    if (msg->kind == EVM_CALL) {
        hu256 v = hu_from_be(&msg->value);
        if (hu_is_zero(v)) {
            hs_touch(s, hs_get_or_create(s, &msg->recipient));
        } else {
            hacct *to = hs_get_or_create(s, &msg->recipient);
            transfer(s, hs_get_or_create(s, &msg->sender), to, v);
        }
    }
    if (evm_is_precompile(&msg->code_address, h->rev)) return evm_run_precompile(msg, h->rev);
    hacct *c = hs_get(s, &msg->code_address);
    if (c && h->rev >= EVM_PRAGUE && hs_is_delegation(c->code, c->code_size)) {
        /* EIP-7702: run the delegate's code (one hop only; a precompile delegate runs empty code) */
        evm_address del;
        memcpy(del.bytes, c->code + 3, 20);
        if (evm_is_precompile(&del, h->rev)) return res(EVM_SUCCESS, msg->gas);
        c = hs_get(s, &del);
    }
    if (!c || c->code_size == 0) return res(EVM_SUCCESS, msg->gas);
    /* the code buffer lives in the state's arena, stable across set_code */
    return evm_execute(&hhost_iface, h, h->rev, msg, c->code, c->code_size);
}

evm_result hhost_call(hhost *h, const evm_message *orig)
{
    hstate *s = h->st;
    evm_message m = *orig;
    if (m.depth > 1024) return res(EVM_FAILURE, m.gas);
    hu256 v = hu_from_be(&m.value);
    if ((m.kind == EVM_CALL || m.kind == EVM_CREATE || m.kind == EVM_CREATE2) && !hu_is_zero(v) && m.depth > 0) {
        hacct *snd = hs_get(s, &m.sender);
        if (!snd || hu_cmp(snd->balance, v) < 0) return res(EVM_FAILURE, m.gas);
    }
    if (m.kind == EVM_CREATE || m.kind == EVM_CREATE2) {
        hacct *snd = hs_get_or_create(s, &m.sender);
        uint64_t nonce = snd->nonce;
        if (m.depth > 0) {
            if (nonce == UINT64_MAX) return res(EVM_FAILURE, m.gas);
            hs_set_nonce(s, snd, nonce + 1);
        } else {
            nonce--;   /* the transaction bumped it already */
        }
        create_address(&m, nonce, &m.recipient);
        m.code_address = m.recipient;
        if (h->rev >= EVM_BERLIN) hs_warm_account(s, hs_record(s, &m.recipient));
    }
    size_t snap = hs_snapshot(s), logsnap = s->nlogs;
    evm_result r = execute_message(h, &m);
    if (r.status != EVM_SUCCESS) {
        hacct *r3 = hs_find(s, &RIPEMD_ADDR);
        bool r3_touched = r3 && r3->exists && r3->touched;
        hs_revert(s, snap);
        hs_truncate_logs(s, logsnap);
        if (r3_touched && h->rev >= EVM_SPURIOUS_DRAGON) hs_touch(s, hs_get_or_create(s, &RIPEMD_ADDR));
        r.gas_refund = 0;
    }
    if (m.kind == EVM_CREATE || m.kind == EVM_CREATE2) r.create_address = m.recipient;
    return r;
}
