/* tx.c — transaction-level state transition: validation (type per revision, fee caps, EIP-1559 base fee,
 * EIP-4844 blobs, nonce, EIP-3607 sender, intrinsic gas, EIP-3860 initcode limit, balance), gas purchase,
 * access-list warming (EIP-2929/2930/3651), execution through the host, refund cap (EIP-3529), fee
 * payment to sender and coinbase, and end-of-transaction deletions (selfdestructs, EIP-161); Prague:
 * EIP-7623 calldata floor, EIP-7702 set-code transactions (authorizations), EIP-7691 blob schedule. */
#include "internal.h"
#include "precompiles.h"
#include <secp256k1.h>
#include <secp256k1_recovery.h>

/* Revision table of the transaction-level Prague features:
 *  - EIP-7623 calldata floor, EIP-7702 set-code transactions, EIP-7691 blob schedule (6/9, 5007716):
 *    applied here for rev >= EVM_PRAGUE.
 *  - EIP-2935 (block hashes in a system contract) is a block-level system call made before the block's
 *    transactions; state tests run single transactions without it, so it is not implemented (BLOCKHASH
 *    keeps answering from the host's 256-block window). */
int htx_max_blobs(enum evm_revision rev) { return rev >= EVM_PRAGUE ? 9 : 6; }
uint64_t htx_blob_fee_fraction(enum evm_revision rev) { return rev >= EVM_PRAGUE ? 5007716 : 3338477; }

int64_t htx_floor_gas(enum evm_revision rev, const htx *tx)
{
    if (rev < EVM_PRAGUE) return 0;
    int64_t tokens = 0;
    for (size_t i = 0; i < tx->data_size; i++) tokens += tx->data[i] ? 4 : 1;
    return 21000 + 10 * tokens;
}

int64_t htx_intrinsic_gas(enum evm_revision rev, const htx *tx)
{
    int64_t g = 21000;
    if (tx->is_create && rev >= EVM_HOMESTEAD) g += 32000;
    int64_t nz_cost = rev >= EVM_ISTANBUL ? 16 : 68;
    for (size_t i = 0; i < tx->data_size; i++) g += tx->data[i] ? nz_cost : 4;
    if (rev >= EVM_BERLIN)
        for (size_t i = 0; i < tx->naccess; i++) g += 2400 + 1900 * (int64_t)tx->access[i].nkeys;
    if (tx->is_create && rev >= EVM_SHANGHAI) g += 2 * (int64_t)((tx->data_size + 31) / 32);
    if (rev >= EVM_PRAGUE) g += 25000 * (int64_t)tx->nauth;
    return g;
}

static htx_result reject(const char *why)
{
    htx_result r = {why, EVM_REJECTED, 0};
    return r;
}

/* EIP-7702: the authority (signer) of an authorization, or false if the signature is invalid */
static bool recover_authority(const hauth *au, evm_address *out)
{
    static const hu256 N = {{0xBFD25E8CD0364141ULL, 0xBAAEDCE6AF48A03BULL, 0xFFFFFFFFFFFFFFFEULL, 0xFFFFFFFFFFFFFFFFULL}};
    static const hu256 HALF_N = {{0xDFE92F46681B20A0ULL, 0x5D576E7357A4501DULL, 0xFFFFFFFFFFFFFFFFULL, 0x7FFFFFFFFFFFFFFFULL}};
    if (!hu_fits64(au->y_parity) || au->y_parity.w[0] > 1) return false;
    if (hu_is_zero(au->r) || hu_cmp(au->r, N) >= 0 || hu_is_zero(au->s) || hu_cmp(au->s, HALF_N) > 0) return false;
    hbuf pl = {0}, l = {0};
    rlp_put_u256(&pl, au->chain_id);
    rlp_put_bytes(&pl, au->addr.bytes, 20);
    rlp_put_u64(&pl, au->nonce);
    uint8_t magic = 0x05;
    hbuf_put(&l, &magic, 1);
    rlp_put_list(&l, pl.p, pl.len);
    uint8_t hash[32];
    evm_keccak256(l.p, l.len, hash);
    hbuf_free(&pl);
    hbuf_free(&l);
    uint8_t sig[64];
    evm_uint256be rb = hu_to_be(au->r), sb = hu_to_be(au->s);
    memcpy(sig, rb.bytes, 32);
    memcpy(sig + 32, sb.bytes, 32);
    const secp256k1_context *ctx = secp256k1_context_static;
    secp256k1_ecdsa_recoverable_signature rs;
    secp256k1_pubkey pk;
    uint8_t ser[65];
    size_t n = sizeof ser;
    if (!secp256k1_ecdsa_recoverable_signature_parse_compact(ctx, &rs, sig, (int)au->y_parity.w[0]) ||
        !secp256k1_ecdsa_recover(ctx, &pk, &rs, hash) ||
        !secp256k1_ec_pubkey_serialize(ctx, ser, &n, &pk, SECP256K1_EC_UNCOMPRESSED) || n != 65)
        return false;
    uint8_t h[32];
    evm_keccak256(ser + 1, 64, h);
    memcpy(out->bytes, h + 12, 20);
    return true;
}

/* EIP-7702: applies the authorization list (invalid entries are skipped); returns the refund earned */
static int64_t apply_authorizations(hstate *st, const hblockenv *env, const htx *tx)
{
    int64_t refund = 0;
    hu256 chain = hu_from_be(&env->chain_id);
    for (size_t i = 0; i < tx->nauth; i++) {
        const hauth *au = &tx->auth[i];
        if (!hu_is_zero(au->chain_id) && hu_cmp(au->chain_id, chain) != 0) continue;
        if (au->nonce == UINT64_MAX) continue;
        evm_address who;
        if (!recover_authority(au, &who)) continue;
        hacct *a = hs_record(st, &who);
        hs_warm_account(st, a);
        if (a->exists && a->code_size && !hs_is_delegation(a->code, a->code_size)) continue;
        if ((a->exists ? a->nonce : 0) != au->nonce) continue;
        if (a->exists) refund += 25000 - 12500;
        a = hs_get_or_create(st, &who);
        static const evm_address ZERO;
        if (!memcmp(au->addr.bytes, ZERO.bytes, 20)) {
            hs_set_code(st, a, NULL, 0);
        } else {
            uint8_t d[23] = {0xef, 0x01, 0x00};
            memcpy(d + 3, au->addr.bytes, 20);
            hs_set_code(st, a, d, 23);
        }
        hs_set_nonce(st, a, a->nonce + 1);
    }
    return refund;
}

htx_result htx_apply(hstate *st, enum evm_revision rev, const hblockenv *env, const htx *tx)
{
    if (tx->invalid_encoding) return reject("TR_RLP_WRONGVALUE");
    if ((tx->type == 1 && rev < EVM_BERLIN) || (tx->type == 2 && rev < EVM_LONDON) ||
        (tx->type == 3 && rev < EVM_CANCUN) || (tx->type == 4 && rev < EVM_PRAGUE))
        return reject("TR_TypeNotSupported");
    if (tx->type == 4) {
        if (tx->is_create) return reject("TR_SetCodeCreate");
        if (tx->nauth == 0) return reject("TR_EmptyAuthorizationList");
    }
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
        if (tx->nblob > (size_t)htx_max_blobs(rev)) return reject("TR_BLOBLIST_OVERSIZE");
        for (size_t i = 0; i < tx->nblob; i++)
            if (tx->blob_hashes[i].bytes[0] != 0x01) return reject("TR_BLOBVERSION_INVALID");
        if (hu_cmp(tx->max_fee_per_blob_gas, env->blob_base_fee) < 0) return reject("TR_FeeCapLessThanBlobs");
        hu256 bg = hu_from_u64(131072ULL * tx->nblob);
        if (hu_mul(&blob_fee_max, bg, tx->max_fee_per_blob_gas)) return reject("TR_NoFunds");
        hu_mul(&blob_fee, bg, env->blob_base_fee);
    }
    hacct *sender = hs_get(st, &tx->sender);
    if (sender && sender->code_size && !(rev >= EVM_PRAGUE && hs_is_delegation(sender->code, sender->code_size)))
        return reject("SenderNotEOA");
    uint64_t snonce = sender ? sender->nonce : 0;
    if (snonce == UINT64_MAX) return reject("TR_NonceHasMaxValue");
    if (tx->nonce != snonce) return reject(tx->nonce > snonce ? "TR_NonceTooHigh" : "TR_NonceTooLow");
    int64_t intrinsic = htx_intrinsic_gas(rev, tx);
    if (intrinsic > tx->gas_limit) return reject("TR_IntrinsicGas");
    int64_t floor = htx_floor_gas(rev, tx);
    if (floor > tx->gas_limit) return reject("INTRINSIC_GAS_BELOW_FLOOR_GAS_COST");
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

    int64_t auth_refund = tx->type == 4 ? apply_authorizations(st, env, tx) : 0;
    if (rev >= EVM_PRAGUE && !tx->is_create) {
        /* a delegated destination (EIP-7702): its delegate is warm too */
        hacct *to = hs_get(st, &tx->to);
        if (to && hs_is_delegation(to->code, to->code_size)) {
            evm_address del;
            memcpy(del.bytes, to->code + 3, 20);
            hs_warm_account(st, hs_record(st, &del));
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
    int64_t refund = (r.status == EVM_SUCCESS ? r.gas_refund : 0) + auth_refund;
    if (refund < 0) refund = 0;
    int64_t cap = gas_used / (rev >= EVM_LONDON ? 5 : 2);
    if (refund > cap) refund = cap;
    gas_used -= refund;
    if (gas_used < floor) gas_used = floor;   /* EIP-7623 */
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
