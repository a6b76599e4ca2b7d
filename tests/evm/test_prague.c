/* test_prague.c — the Prague transaction-level features of the EVM host, driven through htx_apply:
 * EIP-7623 calldata floor, EIP-7702 set-code transactions (authorizations signed here with
 * libsecp256k1, delegated execution through CALL, EXTCODE* on designators, refunds, skipped invalid
 * entries, EIP-3607 relaxation) and EIP-7691 blob limits. Expected gas figures are computed by hand
 * from the EIPs in the comments next to each check. */
#include "../test.h"
#include "evm/internal.h"
#include <secp256k1.h>
#include <secp256k1_recovery.h>

static evm_address addr(uint8_t v) { evm_address a; memset(&a, 0, sizeof a); a.bytes[19] = v; return a; }
static evm_bytes32 b32(uint8_t v) { evm_bytes32 b; memset(&b, 0, sizeof b); b.bytes[31] = v; return b; }
static bool eq32(evm_bytes32 a, evm_bytes32 b) { return !memcmp(a.bytes, b.bytes, 32); }

static const evm_address SENDER = {{0x5e, 0x5e}};
static const uint64_t BAL0 = 1000000000000ULL;
static hblockenv env;

static void setup(hstate *s)
{
    hs_init(s);
    hs_load(s, &SENDER, 0, hu_from_u64(BAL0), NULL, 0);
    memset(&env, 0, sizeof env);
    env.coinbase = addr(0xc0);
    env.number = 1;
    env.timestamp = 1;
    env.gas_limit = 30000000;
    env.base_fee = hu_from_u64(7);
    env.blob_base_fee = hu_from_u64(1);
    env.chain_id = hu_to_be(hu_from_u64(1));
}

static htx basic_tx(const evm_address *to, int64_t gas)
{
    htx t;
    memset(&t, 0, sizeof t);
    t.sender = SENDER;
    t.to = *to;
    t.gas_limit = gas;
    t.gas_price = hu_from_u64(10);
    return t;
}

/* ---- EIP-7702 signing (independent of tx.c: RLP written by hand for small values) ---- */
static secp256k1_context *sctx;
static void key_of(uint8_t id, uint8_t sk[32]) { memset(sk, 0, 32); sk[31] = id; sk[0] = 0x11; }
static evm_address key_addr(uint8_t id)
{
    uint8_t sk[32], ser[65], h[32];
    size_t n = 65;
    secp256k1_pubkey pk;
    key_of(id, sk);
    evm_address a;
    memset(&a, 0, sizeof a);
    if (!secp256k1_ec_pubkey_create(sctx, &pk, sk)) return a;
    secp256k1_ec_pubkey_serialize(sctx, ser, &n, &pk, SECP256K1_EC_UNCOMPRESSED);
    evm_keccak256(ser + 1, 64, h);
    memcpy(a.bytes, h + 12, 20);
    return a;
}
static uint8_t small_rlp(uint8_t v) { return v == 0 ? 0x80 : v; }   /* v < 0x80 */
static hauth sign_auth(uint8_t key, uint8_t chain, const evm_address *delegate, uint8_t nonce)
{
    uint8_t m[1 + 1 + 1 + 21 + 1];
    m[0] = 0x05;
    m[1] = 0xc0 + 23;
    m[2] = small_rlp(chain);
    m[3] = 0x94;
    memcpy(m + 4, delegate->bytes, 20);
    m[24] = small_rlp(nonce);
    uint8_t h[32], sk[32], sig[64];
    evm_keccak256(m, sizeof m, h);
    key_of(key, sk);
    secp256k1_ecdsa_recoverable_signature rs;
    int recid = 0;
    secp256k1_ecdsa_sign_recoverable(sctx, &rs, h, sk, NULL, NULL);
    secp256k1_ecdsa_recoverable_signature_serialize_compact(sctx, sig, &recid, &rs);
    hauth a;
    memset(&a, 0, sizeof a);
    a.chain_id = hu_from_u64(chain);
    a.addr = *delegate;
    a.nonce = nonce;
    a.y_parity = hu_from_u64((uint64_t)recid);
    a.r = hu_from_be((const evm_uint256be *)sig);
    a.s = hu_from_be((const evm_uint256be *)(sig + 32));
    return a;
}

static htx setcode_tx(const evm_address *to, int64_t gas, const hauth *au, size_t n)
{
    htx t = basic_tx(to, gas);
    t.type = 4;
    t.max_fee = hu_from_u64(10);
    t.max_priority_fee = hu_from_u64(3);
    t.auth = au;
    t.nauth = n;
    return t;
}

static uint64_t bal(hstate *s, const evm_address *a)
{
    hacct *x = hs_get(s, a);
    return x ? x->balance.w[0] : 0;
}

/* delegate code: SSTORE(0, 42); STOP — costs 3 + 3 + (2100 cold + 20000 set) = 22106 */
static const uint8_t DCODE[] = {0x60, 0x2a, 0x60, 0x00, 0x55, 0x00};

int main(void)
{
    hstate s;
    htx_result r;
    sctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
    evm_address B = addr(0xb0), C = addr(0xc1), D = addr(0xd0);
    uint8_t data100[100];
    memset(data100, 0xab, sizeof data100);

    TEST_BEGIN("prague_floor_data_heavy");
    /* 100 nonzero bytes: intrinsic 21000 + 1600 = 22600; tokens 400, floor 21000 + 4000 = 25000 */
    setup(&s);
    htx t = basic_tx(&B, 30000);
    t.data = data100;
    t.data_size = 100;
    CHECK(htx_intrinsic_gas(EVM_PRAGUE, &t) == 22600 && htx_floor_gas(EVM_PRAGUE, &t) == 25000);
    CHECK(htx_floor_gas(EVM_CANCUN, &t) == 0);
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.status == EVM_SUCCESS && r.gas_used == 25000);
    CHECK(bal(&s, &SENDER) == BAL0 - 25000 * 10);
    CHECK(bal(&s, &env.coinbase) == 25000 * 3);
    hs_free(&s);
    /* the same tx in Cancun pays only intrinsic + execution */
    setup(&s);
    r = htx_apply(&s, EVM_CANCUN, &env, &t);
    CHECK(!r.error && r.gas_used == 22600);
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("prague_floor_gas_limit_below_floor_invalid");
    setup(&s);
    t = basic_tx(&B, 24999);   /* >= intrinsic 22600, < floor 25000 */
    t.data = data100;
    t.data_size = 100;
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(r.error && !strcmp(r.error, "INTRINSIC_GAS_BELOW_FLOOR_GAS_COST"));
    CHECK(bal(&s, &SENDER) == BAL0 && hs_get(&s, &SENDER)->nonce == 0);
    r = htx_apply(&s, EVM_CANCUN, &env, &t);    /* valid before Prague */
    CHECK(!r.error && r.gas_used == 22600);
    hs_free(&s);
    /* zero bytes count one token: 10 zero bytes -> floor 21100, intrinsic 21040 */
    setup(&s);
    uint8_t zeros[10] = {0};
    t = basic_tx(&B, 21099);
    t.data = zeros;
    t.data_size = 10;
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(r.error != NULL);
    t.gas_limit = 21100;
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.gas_used == 21100);
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("prague_floor_compute_heavy_pays_execution");
    /* C: SSTORE(0,42) = 22106 gas; 1 nonzero data byte: intrinsic 21016, floor 21040; used 43122 */
    setup(&s);
    hs_load(&s, &C, 1, hu_from_u64(0), DCODE, sizeof DCODE);
    uint8_t one = 1;
    t = basic_tx(&C, 100000);
    t.data = &one;
    t.data_size = 1;
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.status == EVM_SUCCESS && r.gas_used == 21016 + 22106);
    hs_free(&s);
    /* refund below the floor: SSTORE(0,0) on slot 0 = 42 -> 5000 (2100 cold + 2900), refund 4800
     * capped at used/5; data 100 nonzero bytes -> intrinsic 22600, floor 25000. Execution 3+3+5000:
     * used 27606, refund min(4800, 5521) = 4800 -> 22806 < floor -> 25000 */
    setup(&s);
    static const uint8_t CLR[] = {0x60, 0x00, 0x60, 0x00, 0x55, 0x00};
    hacct *ca = hs_load(&s, &C, 1, hu_from_u64(0), CLR, sizeof CLR);
    evm_bytes32 k0 = b32(0), v42 = b32(42);
    hs_load_storage(&s, ca, &k0, &v42);
    t = basic_tx(&C, 100000);
    t.data = data100;
    t.data_size = 100;
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.gas_used == 25000);
    hs_free(&s);
    setup(&s);
    ca = hs_load(&s, &C, 1, hu_from_u64(0), CLR, sizeof CLR);
    hs_load_storage(&s, ca, &k0, &v42);
    r = htx_apply(&s, EVM_CANCUN, &env, &t);
    CHECK(!r.error && r.gas_used == 22806);
    hs_free(&s);
    TEST_END();

    evm_address A = key_addr(1);
    TEST_BEGIN("prague_7702_set_code_and_run_delegate");
    /* tx to the (non-existing) authority A with one authorization A -> D: intrinsic 21000 + 25000;
     * A is warm (to), D is warmed by the tx; D's code runs in A's context: 22106. used 68106 */
    setup(&s);
    hs_load(&s, &D, 1, hu_from_u64(0), DCODE, sizeof DCODE);
    hauth au = sign_auth(1, 1, &D, 0);
    t = setcode_tx(&A, 200000, &au, 1);
    CHECK(htx_intrinsic_gas(EVM_PRAGUE, &t) == 46000);
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.status == EVM_SUCCESS && r.gas_used == 68106);
    hacct *aa = hs_get(&s, &A);
    CHECK(aa && aa->nonce == 1 && aa->code_size == 23 && aa->code[0] == 0xef && aa->code[1] == 0x01 &&
          aa->code[2] == 0x00 && !memcmp(aa->code + 3, D.bytes, 20));
    CHECK(aa && eq32(hs_get_storage(aa, &k0), v42));
    CHECK(eq32(hs_get_storage(hs_get(&s, &D), &k0), b32(0)));
    CHECK(bal(&s, &SENDER) == BAL0 - 68106 * 10);   /* effective price min(10, 7 + 3) = 10 */
    CHECK(hs_get(&s, &SENDER)->nonce == 1);
    htx_finalize(&s, EVM_PRAGUE, &env);

    /* second tx (same state): C reads EXTCODESIZE(A) and EXTCODEHASH(A) -> the 23-byte designator:
     * PUSH20 A; EXTCODESIZE; PUSH1 0; SSTORE; PUSH20 A; EXTCODEHASH; PUSH1 1; SSTORE; STOP */
    uint8_t code2[64];
    size_t n2 = 0;
    code2[n2++] = 0x73; memcpy(code2 + n2, A.bytes, 20); n2 += 20;
    code2[n2++] = 0x3b; code2[n2++] = 0x60; code2[n2++] = 0x00; code2[n2++] = 0x55;
    code2[n2++] = 0x73; memcpy(code2 + n2, A.bytes, 20); n2 += 20;
    code2[n2++] = 0x3f; code2[n2++] = 0x60; code2[n2++] = 0x01; code2[n2++] = 0x55; code2[n2++] = 0x00;
    hacct *cc = hs_get_or_create(&s, &C);
    hs_set_code(&s, cc, code2, n2);
    t = basic_tx(&C, 200000);
    t.nonce = 1;
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.status == EVM_SUCCESS);
    CHECK(eq32(hs_get_storage(cc, &k0), b32(23)));
    evm_bytes32 one32 = b32(1), dh;
    evm_keccak256(aa->code, 23, dh.bytes);
    CHECK(eq32(hs_get_storage(cc, &one32), dh));
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("prague_7702_call_delegated_charges_delegate_access");
    /* A already delegated to D (pre-state). C: PUSH1 0 x5; PUSH20 A; GAS; CALL; STOP
     * = 5*3 + 3 + 2 + CALL(100 + 2500 cold A + 2600 cold D) + child 22106 = 27326; used 48326 */
    setup(&s);
    uint8_t des[23] = {0xef, 0x01, 0x00};
    memcpy(des + 3, D.bytes, 20);
    hs_load(&s, &D, 1, hu_from_u64(0), DCODE, sizeof DCODE);
    aa = hs_load(&s, &A, 0, hu_from_u64(0), des, 23);
    uint8_t code3[40];
    size_t n3 = 0;
    for (int i = 0; i < 5; i++) { code3[n3++] = 0x60; code3[n3++] = 0x00; }
    code3[n3++] = 0x73; memcpy(code3 + n3, A.bytes, 20); n3 += 20;
    code3[n3++] = 0x5a; code3[n3++] = 0xf1; code3[n3++] = 0x00;
    hs_load(&s, &C, 1, hu_from_u64(0), code3, n3);
    t = basic_tx(&C, 200000);
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.status == EVM_SUCCESS && r.gas_used == 48326);
    CHECK(eq32(hs_get_storage(aa, &k0), v42));                 /* ran in A's context */
    CHECK(eq32(hs_get_storage(hs_get(&s, &D), &k0), b32(0)));
    hs_free(&s);
    /* Cancun: the designator is just code (0xef: invalid instruction): call fails, no delegate cost:
     * 20 + 2600 + all 63/64 of the remainder lost */
    setup(&s);
    hs_load(&s, &D, 1, hu_from_u64(0), DCODE, sizeof DCODE);
    aa = hs_load(&s, &A, 0, hu_from_u64(0), des, 23);
    hs_load(&s, &C, 1, hu_from_u64(0), code3, n3);
    r = htx_apply(&s, EVM_CANCUN, &env, &t);
    CHECK(!r.error && r.status == EVM_SUCCESS && eq32(hs_get_storage(aa, &k0), b32(0)));
    {
        int64_t avail = 200000 - 21000 - 20 - 2600;
        CHECK(r.gas_used == 200000 - (avail / 64));
    }
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("prague_7702_existing_authority_refund");
    /* A exists (balance 1): refund 12500 (cap 68106/5 = 13621): used 68106 - 12500 = 55606 */
    setup(&s);
    hs_load(&s, &D, 1, hu_from_u64(0), DCODE, sizeof DCODE);
    hs_load(&s, &A, 0, hu_from_u64(1), NULL, 0);
    au = sign_auth(1, 0, &D, 0);      /* chain id 0: valid on any chain */
    t = setcode_tx(&A, 200000, &au, 1);
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.gas_used == 55606);
    CHECK(hs_get(&s, &A)->nonce == 1 && hs_get(&s, &A)->code_size == 23);
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("prague_7702_invalid_authorizations_skipped");
    /* to B (no code); 4 bad entries: wrong chain, wrong nonce, y parity 2, s = 0; A untouched.
     * used 21000 + 4 * 25000 = 121000 */
    setup(&s);
    hs_load(&s, &D, 1, hu_from_u64(0), DCODE, sizeof DCODE);
    hauth bad[5];
    bad[0] = sign_auth(1, 2, &D, 0);
    bad[1] = sign_auth(1, 1, &D, 1);
    bad[2] = sign_auth(1, 1, &D, 0);
    bad[2].y_parity = hu_from_u64(2);
    bad[3] = sign_auth(1, 1, &D, 0);
    bad[3].s = hu_from_u64(0);
    t = setcode_tx(&B, 200000, bad, 4);
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.status == EVM_SUCCESS && r.gas_used == 121000);
    CHECK(hs_get(&s, &A) == NULL);
    hs_free(&s);
    /* high s (n - s) is rejected too; then a valid one after the bad ones still applies */
    setup(&s);
    bad[4] = sign_auth(1, 1, &D, 0);
    static const hu256 N = {{0xBFD25E8CD0364141ULL, 0xBAAEDCE6AF48A03BULL, 0xFFFFFFFFFFFFFFFEULL, 0xFFFFFFFFFFFFFFFFULL}};
    bad[3] = bad[4];
    hu_sub(&bad[3].s, N, bad[4].s);
    bad[3].y_parity = hu_from_u64(bad[4].y_parity.w[0] ^ 1);
    t = setcode_tx(&B, 200000, bad + 3, 2);
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.gas_used == 71000);
    CHECK(hs_get(&s, &A) && hs_get(&s, &A)->nonce == 1 && hs_get(&s, &A)->code_size == 23);
    hs_free(&s);
    /* authority with real code is skipped; the same authority twice: second needs nonce 1 */
    setup(&s);
    hs_load(&s, &A, 0, hu_from_u64(0), DCODE, sizeof DCODE);
    au = sign_auth(1, 1, &D, 0);
    t = setcode_tx(&B, 200000, &au, 1);
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && hs_get(&s, &A)->nonce == 0 && hs_get(&s, &A)->code_size == sizeof DCODE);
    hs_free(&s);
    setup(&s);
    hauth two[2] = {sign_auth(1, 1, &D, 0), sign_auth(1, 1, &B, 1)};
    t = setcode_tx(&C, 200000, two, 2);
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && hs_get(&s, &A)->nonce == 2 && !memcmp(hs_get(&s, &A)->code + 3, B.bytes, 20));
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("prague_7702_clear_and_sender_delegated");
    /* authorization to address 0 clears an existing delegation (and refunds: A exists) */
    setup(&s);
    aa = hs_load(&s, &A, 0, hu_from_u64(0), des, 23);
    evm_address Z;
    memset(&Z, 0, sizeof Z);
    au = sign_auth(1, 1, &Z, 0);
    t = setcode_tx(&B, 200000, &au, 1);
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    /* used 46000 - min(12500, 46000/5 = 9200) = 36800 */
    CHECK(!r.error && r.gas_used == 36800 && aa->code_size == 0 && aa->nonce == 1 &&
          eq32(aa->code_hash, HS_EMPTY_CODE_HASH));
    hs_free(&s);
    /* a sender whose code is a designator may send (EIP-3607 relaxed) in Prague only */
    setup(&s);
    hacct *sa = hs_get(&s, &SENDER);
    hs_set_code(&s, sa, des, 23);
    t = basic_tx(&B, 21000);
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.gas_used == 21000);
    t.nonce = 1;
    r = htx_apply(&s, EVM_CANCUN, &env, &t);
    CHECK(r.error && !strcmp(r.error, "SenderNotEOA"));
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("prague_7702_tx_validity");
    setup(&s);
    au = sign_auth(1, 1, &D, 0);
    t = setcode_tx(&A, 200000, &au, 0);       /* empty list */
    CHECK(htx_apply(&s, EVM_PRAGUE, &env, &t).error != NULL);
    t = setcode_tx(&A, 200000, &au, 1);
    t.is_create = true;                        /* no destination */
    CHECK(htx_apply(&s, EVM_PRAGUE, &env, &t).error != NULL);
    t = setcode_tx(&A, 200000, &au, 1);
    CHECK(htx_apply(&s, EVM_CANCUN, &env, &t).error != NULL);   /* type 4 before Prague */
    t = setcode_tx(&A, 45999, &au, 1);        /* below intrinsic 46000 */
    CHECK(htx_apply(&s, EVM_PRAGUE, &env, &t).error != NULL);
    CHECK(hs_get(&s, &SENDER)->nonce == 0 && hs_get(&s, &A) == NULL);
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("prague_7691_blobs");
    CHECK(htx_max_blobs(EVM_CANCUN) == 6 && htx_max_blobs(EVM_PRAGUE) == 9);
    CHECK(htx_blob_fee_fraction(EVM_CANCUN) == 3338477 && htx_blob_fee_fraction(EVM_PRAGUE) == 5007716);
    evm_bytes32 hashes[10];
    for (int i = 0; i < 10; i++) { hashes[i] = b32((uint8_t)i); hashes[i].bytes[0] = 0x01; }
    setup(&s);
    t = basic_tx(&B, 21000);
    t.type = 3;
    t.max_fee = hu_from_u64(10);
    t.max_priority_fee = hu_from_u64(0);
    t.max_fee_per_blob_gas = hu_from_u64(1);
    t.blob_hashes = hashes;
    t.nblob = 7;
    CHECK(htx_apply(&s, EVM_CANCUN, &env, &t).error != NULL);
    r = htx_apply(&s, EVM_PRAGUE, &env, &t);
    CHECK(!r.error && r.gas_used == 21000);
    /* blob gas 7 * 131072 at blob base fee 1, plus 21000 * 7 */
    CHECK(bal(&s, &SENDER) == BAL0 - 7 * 131072 - 21000 * 7);
    t.nonce = 1;
    t.nblob = 10;
    CHECK(htx_apply(&s, EVM_PRAGUE, &env, &t).error != NULL);
    t.nblob = 9;
    CHECK(!htx_apply(&s, EVM_PRAGUE, &env, &t).error);
    hs_free(&s);
    TEST_END();

    secp256k1_context_destroy(sctx);
    TEST_EXIT();
}
