/* tx.c — transaction-level state transition: validation (type per revision, fee caps, EIP-1559 base fee,
 * EIP-4844 blobs, nonce, EIP-3607 sender, intrinsic gas, EIP-3860 initcode limit, balance), gas purchase,
 * access-list warming (EIP-2929/2930/3651), execution through the host, refund cap (EIP-3529), fee
 * payment to sender and coinbase, and end-of-transaction deletions (selfdestructs, EIP-161). */
#include "internal.h"
#include "precompiles.h"

int64_t htx_intrinsic_gas(enum evm_revision rev, const htx *tx)
{
    int64_t g = 21000;
    if (tx->is_create && rev >= EVM_HOMESTEAD) g += 32000;
    int64_t nz_cost = rev >= EVM_ISTANBUL ? 16 : 68;
    for (size_t i = 0; i < tx->data_size; i++) g += tx->data[i] ? nz_cost : 4;
    if (rev >= EVM_BERLIN)
        for (size_t i = 0; i < tx->naccess; i++) g += 2400 + 1900 * (int64_t)tx->access[i].nkeys;
    if (tx->is_create && rev >= EVM_SHANGHAI) g += 2 * (int64_t)((tx->data_size + 31) / 32);
    return g;
}

static htx_result reject(const char *why)
{
    htx_result r = {why, EVM_REJECTED, 0};
    return r;
}

htx_result htx_apply(hstate *st, enum evm_revision rev, const hblockenv *env, const htx *tx)
{
    if (tx->invalid_encoding) return reject("TR_RLP_WRONGVALUE");
    if ((tx->type == 1 && rev < EVM_BERLIN) || (tx->type == 2 && rev < EVM_LONDON) ||
        (tx->type == 3 && rev < EVM_CANCUN))
        return reject("TR_TypeNotSupported");
    hu256 price;   /* the most the sender may pay per gas */
    hu256 eff;     /* effective gas price */
    if (tx->type >= 2) {
        if (hu_cmp(tx->max_priority_fee, tx->max_fee) > 0) return reject("TR_TipGtFeeCap");
        if (hu_cmp(tx->max_fee, env->base_fee) < 0) return reject("TR_FeeCapLessThanBlocks");
        price = tx->max_fee;
        hu256 t;
        hu_sub(&t, tx->max_fee, env->base_fee);
        t = hu_min(t, tx->max_priority_fee);
        hu_add(&eff, env->base_fee, t);
    } else {
        if (rev >= EVM_LONDON && hu_cmp(tx->gas_price, env->base_fee) < 0) return reject("TR_FeeCapLessThanBlocks");
        price = eff = tx->gas_price;
    }
    if (tx->gas_limit > env->gas_limit) return reject("TR_GasLimitReached");
    hu256 blob_fee_max = hu_from_u64(0), blob_fee = hu_from_u64(0);
    if (tx->type == 3) {
        if (tx->is_create) return reject("TR_BLOBCREATE");
        if (tx->nblob == 0) return reject("TR_EMPTYBLOB");
        if (tx->nblob > 6) return reject("TR_BLOBLIST_OVERSIZE");
        for (size_t i = 0; i < tx->nblob; i++)
            if (tx->blob_hashes[i].bytes[0] != 0x01) return reject("TR_BLOBVERSION_INVALID");
        if (hu_cmp(tx->max_fee_per_blob_gas, env->blob_base_fee) < 0) return reject("TR_FeeCapLessThanBlobs");
        hu256 bg = hu_from_u64(131072ULL * tx->nblob);
        if (hu_mul(&blob_fee_max, bg, tx->max_fee_per_blob_gas)) return reject("TR_NoFunds");
        hu_mul(&blob_fee, bg, env->blob_base_fee);
    }
    hacct *sender = hs_get(st, &tx->sender);
    if (sender && sender->code_size) return reject("SenderNotEOA");
    uint64_t snonce = sender ? sender->nonce : 0;
    if (snonce == UINT64_MAX) return reject("TR_NonceHasMaxValue");
    if (tx->nonce != snonce) return reject(tx->nonce > snonce ? "TR_NonceTooHigh" : "TR_NonceTooLow");
    int64_t intrinsic = htx_intrinsic_gas(rev, tx);
    if (intrinsic > tx->gas_limit) return reject("TR_IntrinsicGas");
    if (rev >= EVM_SHANGHAI && tx->is_create && tx->data_size > 49152) return reject("TR_InitCodeLimitExceeded");
    hu256 maxcost, t;
    if (hu_mul(&maxcost, hu_from_u64((uint64_t)tx->gas_limit), price) || hu_add(&maxcost, maxcost, tx->value) ||
        hu_add(&maxcost, maxcost, blob_fee_max))
        return reject("TR_NoFunds");
    hu256 bal = sender ? sender->balance : hu_from_u64(0);
    if (hu_cmp(bal, maxcost) < 0) return reject("TR_NoFunds");

    /* valid: buy gas, bump nonce */
    sender = hs_get_or_create(st, &tx->sender);
    hu256 gascost;
    hu_mul(&gascost, hu_from_u64((uint64_t)tx->gas_limit), eff);
    hu_add(&gascost, gascost, blob_fee);
    hu_sub(&t, sender->balance, gascost);
    hs_set_balance(st, sender, t);
    hs_set_nonce(st, sender, sender->nonce + 1);

    if (rev >= EVM_BERLIN) {
        hs_warm_account(st, hs_record(st, &tx->sender));
        if (!tx->is_create) hs_warm_account(st, hs_record(st, &tx->to));
        for (int p = 1; p <= 0x11; p++) {
            evm_address a;
            memset(&a, 0, sizeof a);
            a.bytes[19] = (uint8_t)p;
            if (evm_is_precompile(&a, rev)) hs_warm_account(st, hs_record(st, &a));
        }
        if (rev >= EVM_SHANGHAI) hs_warm_account(st, hs_record(st, &env->coinbase));
        for (size_t i = 0; i < tx->naccess; i++) {
            hacct *a = hs_record(st, &tx->access[i].addr);
            hs_warm_account(st, a);
            for (size_t k = 0; k < tx->access[i].nkeys; k++) hs_warm_slot(st, a, &tx->access[i].keys[k]);
        }
    }

    hhost h;
    memset(&h, 0, sizeof h);
    h.st = st;
    h.rev = rev;
    h.env = env;
    h.txc.tx_gas_price = hu_to_be(eff);
    h.txc.tx_origin = tx->sender;
    h.txc.block_coinbase = env->coinbase;
    h.txc.block_number = env->number;
    h.txc.block_timestamp = env->timestamp;
    h.txc.block_gas_limit = env->gas_limit;
    h.txc.block_prev_randao = env->prev_randao;
    h.txc.chain_id = env->chain_id;
    h.txc.block_base_fee = hu_to_be(env->base_fee);
    h.txc.blob_base_fee = hu_to_be(env->blob_base_fee);
    h.txc.blob_hashes = tx->blob_hashes;
    h.txc.blob_hashes_count = tx->nblob;

    evm_message m;
    memset(&m, 0, sizeof m);
    m.kind = tx->is_create ? EVM_CREATE : EVM_CALL;
    m.depth = 0;
    m.gas = tx->gas_limit - intrinsic;
    m.sender = tx->sender;
    if (!tx->is_create) m.recipient = m.code_address = tx->to;
    m.input_data = tx->data;
    m.input_size = tx->data_size;
    m.value = hu_to_be(tx->value);
    evm_result r = hhost_call(&h, &m);

    int64_t gas_left = r.gas_left < 0 ? 0 : r.gas_left;
    if (gas_left > m.gas) gas_left = m.gas;
    int64_t gas_used = tx->gas_limit - gas_left;
    int64_t refund = r.status == EVM_SUCCESS ? r.gas_refund : 0;
    if (refund < 0) refund = 0;
    int64_t cap = gas_used / (rev >= EVM_LONDON ? 5 : 2);
    if (refund > cap) refund = cap;
    gas_used -= refund;
    evm_release_result(&r);

    hu256 back, fee, prio;
    hu_mul(&back, hu_from_u64((uint64_t)(tx->gas_limit - gas_used)), eff);
    sender = hs_get_or_create(st, &tx->sender);
    hu_add(&t, sender->balance, back);
    hs_set_balance(st, sender, t);
    if (rev >= EVM_LONDON) hu_sub(&prio, eff, env->base_fee);
    else prio = eff;
    hu_mul(&fee, hu_from_u64((uint64_t)gas_used), prio);
    hacct *cb = hs_get_or_create(st, &env->coinbase);
    hs_touch(st, cb);
    hu_add(&t, cb->balance, fee);
    hs_set_balance(st, cb, t);

    htx_result res = {NULL, r.status, gas_used};
    return res;
}

void htx_finalize(hstate *st, enum evm_revision rev, const hblockenv *env)
{
    /* the block's (zero) reward touches the coinbase, as in the reference state-test runner: pre-EIP-161
     * this creates an empty coinbase account even when the transaction was rejected */
    hs_touch(st, hs_get_or_create(st, &env->coinbase));
    /* then: selfdestructed accounts, then touched empty ones (EIP-161) */
    for (size_t i = 0; i < st->acct_cap; i++) {
        hacct *a = st->accts[i];
        if (!a || !a->exists) continue;
        if (a->destructed || (rev >= EVM_SPURIOUS_DRAGON && a->touched && hacct_is_empty(a))) {
            a->exists = false;
            a->nonce = 0;
            a->balance = hu_from_u64(0);
            a->code = NULL;
            a->code_size = 0;
            a->code_hash = HS_EMPTY_CODE_HASH;
            hacct_clear_storage(a);
        }
    }
}
