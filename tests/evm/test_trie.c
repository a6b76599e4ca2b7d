/* test_trie.c — Merkle Patricia Trie roots against the classic ethereum/tests trie vectors. */
#include "../test.h"
#include "evm/internal.h"

static int root_is(const char *const pairs[][2], size_t n, const char *want)
{
    trie_kv kv[16];
    uint8_t keys[16][64], vals[16][64];
    size_t kl[16], vl[16];
    for (size_t i = 0; i < n; i++) {
        const char *k = pairs[i][0], *v = pairs[i][1];
        if (!strncmp(k, "0x", 2)) {
            kl[i] = strlen(k + 2) / 2;
            for (size_t j = 0; j < kl[i]; j++) sscanf(k + 2 + 2 * j, "%2hhx", &keys[i][j]);
        } else { kl[i] = strlen(k); memcpy(keys[i], k, kl[i]); }
        if (!strncmp(v, "0x", 2)) {
            vl[i] = strlen(v + 2) / 2;
            for (size_t j = 0; j < vl[i]; j++) sscanf(v + 2 + 2 * j, "%2hhx", &vals[i][j]);
        } else { vl[i] = strlen(v); memcpy(vals[i], v, vl[i]); }
        kv[i] = (trie_kv){keys[i], kl[i], vals[i], vl[i]};
    }
    uint8_t r[32];
    char s[65];
    trie_root(kv, n, r);
    for (int i = 0; i < 32; i++) sprintf(s + 2 * i, "%02x", r[i]);
    if (strcmp(s, want)) { printf("  root %s want %s\n", s, want); return 0; }
    return 1;
}

int main(void)
{
    TEST_BEGIN("trie_empty");
    CHECK(root_is(NULL, 0, "56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421"));
    TEST_END();
    TEST_BEGIN("trie_dogs");
    static const char *const dogs[][2] = {{"doe", "reindeer"}, {"dog", "puppy"}, {"dogglesworth", "cat"}};
    CHECK(root_is(dogs, 3, "8aad789dff2f538bca5d8ea56e8abe10f4c7ba3a5dea95fea4cd6e7c3a1168d3"));
    TEST_END();
    TEST_BEGIN("trie_puppy");
    static const char *const puppy[][2] = {{"do", "verb"}, {"horse", "stallion"}, {"doge", "coin"}, {"dog", "puppy"}};
    CHECK(root_is(puppy, 4, "5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84"));
    TEST_END();
    TEST_BEGIN("trie_foo");
    static const char *const foo[][2] = {{"foo", "bar"}, {"food", "bass"}};
    CHECK(root_is(foo, 2, "17beaa1648bafa633cda809c90c04af50fc8aed3cb40d16efbddee6fdf63c4c3"));
    TEST_END();
    TEST_BEGIN("trie_small_values");
    static const char *const sv[][2] = {{"be", "e"}, {"dog", "puppy"}, {"bed", "d"}};
    CHECK(root_is(sv, 3, "3f67c7a47520f79faa29255d2d3c084a7a6df0453116ed7232ff10277a8be68b"));
    TEST_END();
    TEST_BEGIN("trie_testy");
    static const char *const ty[][2] = {{"test", "test"}, {"te", "testy"}};
    CHECK(root_is(ty, 2, "8452568af70d8d140f58d941338542f645fcca50094b20f3c3d8c3df49337928"));
    TEST_END();
    TEST_BEGIN("trie_hex");
    static const char *const hx[][2] = {{"0x0045", "0x0123456789"}, {"0x4500", "0x9876543210"}};
    CHECK(root_is(hx, 2, "285505fcabe84badc8aa310e2aae17eddc7d120aabec8a476902c8184b3a3503"));
    TEST_END();
    TEST_EXIT();
}
