/* test_rlp.c — RLP encoder known vectors and the strict decoder/validator. */
#include "../test.h"
#include "evm/internal.h"

static int same_hex(const hbuf *b, const char *want)
{
    char s[512];
    if (b->len * 2 + 1 > sizeof s) return 0;
    for (size_t i = 0; i < b->len; i++) sprintf(s + 2 * i, "%02x", b->p[i]);
    s[b->len * 2] = 0;
    if (strcmp(s, want)) { printf("  got %s want %s\n", s, want); return 0; }
    return 1;
}

int main(void)
{
    hbuf b = {0};
    TEST_BEGIN("rlp_strings");
    rlp_put_bytes(&b, (const uint8_t *)"dog", 3); CHECK(same_hex(&b, "83646f67")); b.len = 0;
    rlp_put_bytes(&b, NULL, 0); CHECK(same_hex(&b, "80")); b.len = 0;
    rlp_put_bytes(&b, (const uint8_t *)"\x00", 1); CHECK(same_hex(&b, "00")); b.len = 0;
    rlp_put_bytes(&b, (const uint8_t *)"\x80", 1); CHECK(same_hex(&b, "8180")); b.len = 0;
    const char *lorem = "Lorem ipsum dolor sit amet, consectetur adipisicing elit";
    rlp_put_bytes(&b, (const uint8_t *)lorem, strlen(lorem));
    CHECK(b.len == 58 && b.p[0] == 0xb8 && b.p[1] == 56); b.len = 0;
    TEST_END();

    TEST_BEGIN("rlp_integers");
    rlp_put_u64(&b, 0); CHECK(same_hex(&b, "80")); b.len = 0;
    rlp_put_u64(&b, 15); CHECK(same_hex(&b, "0f")); b.len = 0;
    rlp_put_u64(&b, 1024); CHECK(same_hex(&b, "820400")); b.len = 0;
    hu256 big = {{0, 0, 0, 1ULL << 63}};
    rlp_put_u256(&b, big); CHECK(b.len == 33 && b.p[0] == 0xa0 && b.p[1] == 0x80); b.len = 0;
    TEST_END();

    TEST_BEGIN("rlp_lists");
    hbuf pl = {0};
    rlp_put_bytes(&pl, (const uint8_t *)"cat", 3);
    rlp_put_bytes(&pl, (const uint8_t *)"dog", 3);
    rlp_put_list(&b, pl.p, pl.len); CHECK(same_hex(&b, "c88363617483646f67")); b.len = 0;
    rlp_put_list(&b, NULL, 0); CHECK(same_hex(&b, "c0")); b.len = 0;
    /* set-theoretic representation of three: [ [], [[]], [ [], [[]] ] ] */
    static const uint8_t three[] = {0xc7, 0xc0, 0xc1, 0xc0, 0xc3, 0xc0, 0xc1, 0xc0};
    CHECK(rlp_validate(three, sizeof three) == 8);
    hbuf_free(&pl);
    TEST_END();

    TEST_BEGIN("rlp_decoder_rejects");
    static const uint8_t trunc[] = {0x83, 0x64, 0x6f};
    static const uint8_t noncanon1[] = {0x81, 0x05};          /* single byte < 0x80 must be itself */
    static const uint8_t noncanon2[] = {0xb8, 0x02, 0x61, 0x62};/* long form for a short string */
    static const uint8_t lz[] = {0xb9, 0x00, 0x38};           /* leading zero in length */
    static const uint8_t trailing[] = {0x80, 0x80};
    static const uint8_t badlist[] = {0xc2, 0x83, 0x61};
    static const uint8_t huge[] = {0xbf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    CHECK(rlp_validate(trunc, sizeof trunc) < 0);
    CHECK(rlp_validate(noncanon1, sizeof noncanon1) < 0);
    CHECK(rlp_validate(noncanon2, sizeof noncanon2) < 0);
    CHECK(rlp_validate(lz, sizeof lz) < 0);
    CHECK(rlp_validate(trailing, sizeof trailing) < 0);
    CHECK(rlp_validate(badlist, sizeof badlist) < 0);
    CHECK(rlp_validate(huge, sizeof huge) < 0);
    CHECK(rlp_validate(NULL, 0) < 0);
    /* deep nesting is bounded, not a stack overflow */
    static uint8_t deep[200];
    for (int i = 0; i < 200; i++) deep[i] = (uint8_t)(0xc0 + (i < 55 ? 0 : 0));
    for (int i = 0; i < 55; i++) deep[i] = (uint8_t)(0xc0 + (54 - i));
    CHECK(rlp_validate(deep, 55) == 55);
    memset(deep, 0, sizeof deep);
    for (int i = 0; i < 100; i++) deep[i] = 0xc0;   /* truncated chain of empties */
    CHECK(rlp_validate(deep, 100) < 0);
    TEST_END();
    hbuf_free(&b);
    TEST_EXIT();
}
