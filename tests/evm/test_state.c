/* test_state.c — the journaled world state: snapshots/revert of every kind of change, EIP-2200 storage
 * status for every (original, current, new) class, warm sets, logs, and the empty-state root. */
#include "../test.h"
#include "evm/internal.h"

static evm_bytes32 b32(uint8_t v) { evm_bytes32 b; memset(&b, 0, sizeof b); b.bytes[31] = v; return b; }
static evm_address addr(uint8_t v) { evm_address a; memset(&a, 0, sizeof a); a.bytes[19] = v; return a; }

int main(void)
{
    hstate s;
    TEST_BEGIN("state_empty_root");
    hs_init(&s);
    uint8_t r[32];
    hs_state_root(&s, r);
    CHECK(r[0] == 0x56 && r[1] == 0xe8 && r[31] == 0x21);
    hs_logs_hash(&s, r);   /* keccak(rlp([])) = 1dcc4de8... */
    CHECK(r[0] == 0x1d && r[1] == 0xcc && r[31] == 0x47);
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("state_journal_revert");
    hs_init(&s);
    evm_address A = addr(1), B = addr(2);
    hacct *a = hs_load(&s, &A, 5, hu_from_u64(100), (const uint8_t *)"\x60\x00", 2);
    evm_bytes32 k = b32(1), v7 = b32(7), v9 = b32(9);
    hs_load_storage(&s, a, &k, &v7);
    size_t snap = hs_snapshot(&s);
    hs_set_balance(&s, a, hu_from_u64(1));
    hs_set_nonce(&s, a, 6);
    hs_set_storage(&s, a, &k, &v9);
    hs_set_tstorage(&s, a, &k, &v9);
    hacct *b = hs_get_or_create(&s, &B);
    hs_set_code(&s, b, (const uint8_t *)"\x00", 1);
    hs_touch(&s, b);
    hs_set_flag_destructed(&s, a);
    hs_warm_account(&s, a);
    hs_warm_slot(&s, a, &k);
    CHECK(hs_get(&s, &B) != NULL && b->code_size == 1);
    hs_revert(&s, snap);
    CHECK(a->nonce == 5 && hu_cmp(a->balance, hu_from_u64(100)) == 0);
    CHECK(!memcmp(hs_get_storage(a, &k).bytes, v7.bytes, 32));
    CHECK(!memcmp(hs_get_tstorage(a, &k).bytes, b32(0).bytes, 32));
    CHECK(hs_get(&s, &B) == NULL && b->code_size == 0 && !b->touched);
    CHECK(!a->destructed && !a->warm && !hs_slot(a, &k, false)->warm);
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("state_storage_status");
    hs_init(&s);
    a = hs_load(&s, &A, 1, hu_from_u64(0), NULL, 0);
    evm_bytes32 kx = b32(1), k0 = b32(2), X = b32(10), Y = b32(11), Z = b32(0);
    hs_load_storage(&s, a, &kx, &X);            /* original X at kx, 0 at k0 */
    CHECK(hs_set_storage(&s, a, &kx, &X) == EVM_STORAGE_ASSIGNED);
    CHECK(hs_set_storage(&s, a, &k0, &Y) == EVM_STORAGE_ADDED);          /* 0 -> 0 -> Y */
    CHECK(hs_set_storage(&s, a, &k0, &Z) == EVM_STORAGE_ADDED_DELETED);  /* 0 -> Y -> 0 */
    CHECK(hs_set_storage(&s, a, &kx, &Y) == EVM_STORAGE_MODIFIED);       /* X -> X -> Y */
    CHECK(hs_set_storage(&s, a, &kx, &X) == EVM_STORAGE_MODIFIED_RESTORED);
    CHECK(hs_set_storage(&s, a, &kx, &Z) == EVM_STORAGE_DELETED);        /* X -> X -> 0 */
    CHECK(hs_set_storage(&s, a, &kx, &X) == EVM_STORAGE_DELETED_RESTORED);
    CHECK(hs_set_storage(&s, a, &kx, &Z) == EVM_STORAGE_DELETED);
    CHECK(hs_set_storage(&s, a, &kx, &Y) == EVM_STORAGE_DELETED_ADDED);  /* X -> 0 -> Y */
    CHECK(hs_set_storage(&s, a, &kx, &Z) == EVM_STORAGE_MODIFIED_DELETED);/* X -> Y -> 0 */
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("state_logs_truncate");
    hs_init(&s);
    evm_bytes32 t = b32(3);
    hs_add_log(&s, &A, (const uint8_t *)"ab", 2, &t, 1);
    hs_add_log(&s, &A, NULL, 0, NULL, 0);
    CHECK(s.nlogs == 2);
    hs_truncate_logs(&s, 1);
    CHECK(s.nlogs == 1 && s.logs[0].size == 2 && s.logs[0].ntopics == 1);
    hs_free(&s);
    TEST_END();

    TEST_BEGIN("state_many_accounts_and_slots");
    hs_init(&s);
    for (int i = 0; i < 3000; i++) {
        evm_address x;
        memset(&x, 0, sizeof x);
        x.bytes[0] = (uint8_t)i; x.bytes[1] = (uint8_t)(i >> 8);
        hacct *c = hs_get_or_create(&s, &x);
        evm_bytes32 key = b32((uint8_t)i), val = b32(1);
        key.bytes[0] = (uint8_t)(i >> 8);
        hs_set_storage(&s, c, &key, &val);
    }
    int found = 0;
    for (int i = 0; i < 3000; i++) {
        evm_address x;
        memset(&x, 0, sizeof x);
        x.bytes[0] = (uint8_t)i; x.bytes[1] = (uint8_t)(i >> 8);
        found += hs_get(&s, &x) != NULL;
    }
    CHECK(found == 3000);
    hs_revert(&s, 0);
    CHECK(hs_get(&s, &A) == NULL);
    hs_state_root(&s, r);
    CHECK(r[0] == 0x56 && r[1] == 0xe8);   /* everything reverted: empty again */
    hs_free(&s);
    TEST_END();
    TEST_EXIT();
}
