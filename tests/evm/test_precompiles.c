/* test_precompiles.c — unit tests of the EVM precompiled contracts (src/evm/precompiles.c, bn254.c,
 * kzg.c): known vectors, gas figures per revision, invalid inputs and hostile lengths. */
#include "evm/precompiles.h"
#include "../test.h"

#include <gmp.h>
#include <stdint.h>
#include <time.h>

bool evm_kzg_available(void);   /* kzg.c */

#include "precompile_test_util.h"

static uint8_t g_in[4096];
static char g_hex[8192];

/* Runs id on hex input; checks status, gas used and (if want_hex) the output hex. */
static void expect(int id, const char *in_hex, int64_t gas, enum evm_revision rev, enum evm_status st,
                   int64_t used, const char *want_hex)
{
    size_t n = unhex(in_hex, g_in, sizeof g_in);
    evm_result r = call(id, g_in, n, gas, rev);
    CHECK_EQ_U64(r.status, st);
    if (st == EVM_SUCCESS) CHECK_EQ_U64(gas - r.gas_left, used);
    else CHECK_EQ_U64(r.gas_left, 0);
    if (want_hex) {
        tohex(r.output_data, r.output_size, g_hex);
        if (strcmp(g_hex, want_hex) != 0) {
            printf("  output %s\n  wanted %s\n", g_hex, want_hex);
            CHECK(0);
        }
    }
    evm_release_result(&r);
}

#define G1GEN "0000000000000000000000000000000000000000000000000000000000000001" \
              "0000000000000000000000000000000000000000000000000000000000000002"
#define G1NEG "0000000000000000000000000000000000000000000000000000000000000001" \
              "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd45"
#define G1DBL "030644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd3" \
              "15ed738c0e0a7c92e7845f96b2ae9c0a68a6a449e3538fc7ff3ebf7a5a18a2c4"
#define G2GEN "198e9393920d483a7260bfb731fb5d25f1aa493335a9e71297e485b7aef312c2" \
              "1800deef121f1e76426a00665e5c4479674322d4f75edadd46debd5cd992f6ed" \
              "090689d0585ff075ec9e99ad690c3395bc4b313370b38ef355acdadcd122975b" \
              "12c85ea5db8c6deb4aab71808dcb408fe3d1e7690c43d37b4ce6cc0166fa7daa"
#define Z32 "0000000000000000000000000000000000000000000000000000000000000000"
#define BN_R "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000001"
#define BN_P "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd47"

int main(void)
{
    TEST_BEGIN("precompiles availability per revision");
    {
        evm_address a;
        memset(&a, 0, sizeof a);
        a.bytes[19] = 1; CHECK(evm_is_precompile(&a, EVM_FRONTIER));
        a.bytes[19] = 4; CHECK(evm_is_precompile(&a, EVM_FRONTIER));
        a.bytes[19] = 5; CHECK(!evm_is_precompile(&a, EVM_SPURIOUS_DRAGON)); CHECK(evm_is_precompile(&a, EVM_BYZANTIUM));
        a.bytes[19] = 8; CHECK(evm_is_precompile(&a, EVM_BYZANTIUM));
        a.bytes[19] = 9; CHECK(!evm_is_precompile(&a, EVM_PETERSBURG)); CHECK(evm_is_precompile(&a, EVM_ISTANBUL));
        a.bytes[19] = 10; CHECK(!evm_is_precompile(&a, EVM_SHANGHAI)); CHECK(evm_is_precompile(&a, EVM_CANCUN));
        a.bytes[19] = 11; CHECK(!evm_is_precompile(&a, EVM_CANCUN));
        a.bytes[19] = 0; CHECK(!evm_is_precompile(&a, EVM_CANCUN));
        a.bytes[0] = 1; a.bytes[19] = 1; CHECK(!evm_is_precompile(&a, EVM_CANCUN));
    }
    TEST_END();

    TEST_BEGIN("ecrecover");
    {
        const char *sig = "18c547e4f7b0f325ad1e56f57e26c745b09a3e503d86e00e5255ff7f715d3d1c"
                          "000000000000000000000000000000000000000000000000000000000000001c"
                          "73b1693892219d736caba55bdb67216e485557ea6b6af75f37096c9aa6a5a75f"
                          "eeb940b1d03b21e36b0e47e79769f095fe2ab855bd91e3a38756b7d75a9c4549";
        expect(1, sig, 5000, EVM_CANCUN, EVM_SUCCESS, 3000,
               "000000000000000000000000a94f5374fce5edbc8e2a8697c15331677e6ebf0b");
        expect(1, sig, 2999, EVM_CANCUN, EVM_OUT_OF_GAS, 0, NULL);
        /* v = 29: invalid -> success, empty output */
        char bad[260];
        memcpy(bad, sig, 257);
        bad[127] = 'd';
        expect(1, bad, 5000, EVM_CANCUN, EVM_SUCCESS, 3000, "");
        /* v with a high byte set */
        memcpy(bad, sig, 257);
        bad[64] = '1';
        expect(1, bad, 5000, EVM_CANCUN, EVM_SUCCESS, 3000, "");
        /* s = 0 */
        memcpy(bad, sig, 257);
        memset(bad + 192, '0', 64);
        expect(1, bad, 5000, EVM_CANCUN, EVM_SUCCESS, 3000, "");
        /* r = n (out of range) */
        memcpy(bad, sig, 257);
        memcpy(bad + 128, "fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141", 64);
        expect(1, bad, 5000, EVM_CANCUN, EVM_SUCCESS, 3000, "");
        expect(1, "", 5000, EVM_CANCUN, EVM_SUCCESS, 3000, "");
        /* truncated input is zero-padded: hash+v only -> r = 0 -> empty */
        expect(1, "18c547e4f7b0f325ad1e56f57e26c745b09a3e503d86e00e5255ff7f715d3d1c"
                  "000000000000000000000000000000000000000000000000000000000000001c", 3000, EVM_CANCUN,
               EVM_SUCCESS, 3000, "");
    }
    TEST_END();

    TEST_BEGIN("sha256 ripemd160 identity");
    {
        expect(2, "", 100, EVM_FRONTIER, EVM_SUCCESS, 60,
               "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        expect(2, "616263", 100, EVM_FRONTIER, EVM_SUCCESS, 72,
               "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        expect(2, "616263", 71, EVM_FRONTIER, EVM_OUT_OF_GAS, 0, NULL);
        expect(3, "", 1000, EVM_FRONTIER, EVM_SUCCESS, 600,
               "0000000000000000000000009c1185a5c5e9fc54612808977ee8f548b2258d31");
        expect(3, "616263", 1000, EVM_FRONTIER, EVM_SUCCESS, 720,
               "0000000000000000000000008eb208f7e05d987a9b044a8e98c6b087f15a0bfc");
        expect(4, "", 100, EVM_FRONTIER, EVM_SUCCESS, 15, "");
        expect(4, "0102030405", 100, EVM_FRONTIER, EVM_SUCCESS, 18, "0102030405");
        /* 33 bytes = 2 words */
        expect(4, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", 21, EVM_FRONTIER,
               EVM_SUCCESS, 21, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20");
        expect(4, "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20", 20, EVM_FRONTIER,
               EVM_OUT_OF_GAS, 0, NULL);
        /* large input: 1 MiB sha256 */
        size_t n = 1 << 20;
        uint8_t *big = calloc(n, 1);
        evm_result r = call(2, big, n, 1000000, EVM_CANCUN);
        CHECK_EQ_U64(r.status, EVM_SUCCESS);
        CHECK_EQ_U64(1000000 - r.gas_left, 60 + 12 * 32768);
        evm_release_result(&r);
        free(big);
    }
    TEST_END();

    TEST_BEGIN("modexp EIP-198 vectors and gas");
    {
        const char *fermat = "0000000000000000000000000000000000000000000000000000000000000001"
                             "0000000000000000000000000000000000000000000000000000000000000020"
                             "0000000000000000000000000000000000000000000000000000000000000020"
                             "03"
                             "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2e"
                             "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f";
        expect(5, fermat, 100000, EVM_BYZANTIUM, EVM_SUCCESS, 13056,
               "0000000000000000000000000000000000000000000000000000000000000001");
        expect(5, fermat, 100000, EVM_BERLIN, EVM_SUCCESS, 1360,
               "0000000000000000000000000000000000000000000000000000000000000001");
        expect(5, fermat, 13055, EVM_BYZANTIUM, EVM_OUT_OF_GAS, 0, NULL);
        /* base length 0 -> 0^e mod m = 0 */
        const char *zero = "0000000000000000000000000000000000000000000000000000000000000000"
                           "0000000000000000000000000000000000000000000000000000000000000020"
                           "0000000000000000000000000000000000000000000000000000000000000020"
                           "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2e"
                           "fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f";
        expect(5, zero, 100000, EVM_BYZANTIUM, EVM_SUCCESS, 13056, Z32);
        /* modulus 0 -> zeros of modulus length */
        expect(5, "0000000000000000000000000000000000000000000000000000000000000001"
                  "0000000000000000000000000000000000000000000000000000000000000001"
                  "0000000000000000000000000000000000000000000000000000000000000002"
                  "0302" "0000",
               100000, EVM_BERLIN, EVM_SUCCESS, 200, "0000");
        /* 3^2 mod 5 = 4 with padded (missing) modulus bytes: modulus 0x05?? -> input ends: m = 0x0500 */
        expect(5, "0000000000000000000000000000000000000000000000000000000000000001"
                  "0000000000000000000000000000000000000000000000000000000000000001"
                  "0000000000000000000000000000000000000000000000000000000000000002"
                  "0302" "05",
               100000, EVM_BERLIN, EVM_SUCCESS, 200, "0009");
        /* empty input: all lengths 0 -> empty output; Byzantium gas 0, Berlin 200 */
        expect(5, "", 100000, EVM_BYZANTIUM, EVM_SUCCESS, 0, "");
        expect(5, "", 100000, EVM_BERLIN, EVM_SUCCESS, 200, "");
        /* hostile: claimed base length 2^256-1 -> enormous gas, OOG without allocating */
        expect(5, "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                  "0000000000000000000000000000000000000000000000000000000000000001"
                  "0000000000000000000000000000000000000000000000000000000000000001",
               INT64_MAX, EVM_BERLIN, EVM_OUT_OF_GAS, 0, NULL);
        expect(5, "0000000000000000000000000000000000000000000000000000000000000001"
                  "0000000000000000000000000000000000000000000000000000000000000001"
                  "0000000000000000000000010000000000000000000000000000000000000000",
               INT64_MAX, EVM_BYZANTIUM, EVM_OUT_OF_GAS, 0, NULL);
        /* hostile exponent length with zero base and modulus lengths: cheap, empty output */
        expect(5, "0000000000000000000000000000000000000000000000000000000000000000"
                  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                  "0000000000000000000000000000000000000000000000000000000000000000",
               100000, EVM_BERLIN, EVM_SUCCESS, 200, "");
        /* huge exponent length with a 1-byte modulus: enormous gas */
        expect(5, "0000000000000000000000000000000000000000000000000000000000000001"
                  "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
                  "0000000000000000000000000000000000000000000000000000000000000001",
               INT64_MAX, EVM_BERLIN, EVM_OUT_OF_GAS, 0, NULL);
        /* exponent longer than 32 bytes: adjusted length = 8*(40-32) + bitlen(head)-1 = 64 + 0 */
        expect(5, "0000000000000000000000000000000000000000000000000000000000000001"
                  "0000000000000000000000000000000000000000000000000000000000000028"
                  "0000000000000000000000000000000000000000000000000000000000000001"
                  "02" "0000000000000000000000000000000000000000000000000000000000000001"
                  "0000000000000000" "07",
               100000, EVM_BYZANTIUM, EVM_SUCCESS, 1 * 64 / 20, NULL);
        /* exponent running past the input: the modulus is then all padding -> zeros; nothing allocated
         * for the claimed exponent */
        {
            uint8_t in[96 + 1 + 1];
            memset(in, 0, sizeof in);
            in[31] = 1;                                   /* base length 1 */
            in[62] = 0x0f; in[63] = 0xa1;                 /* exponent length 4001 */
            in[95] = 3;                                   /* modulus length 3 */
            in[96] = 3;                                   /* base */
            in[97] = 2;                                   /* first exponent byte; the rest (and m) padded */
            evm_result r = call(5, in, sizeof in, 10000000, EVM_BERLIN);
            CHECK_EQ_U64(r.status, EVM_SUCCESS);
            CHECK_EQ_U64(r.output_size, 3);               /* modulus 0 (padded) -> zeros */
            if (r.output_size == 3) CHECK(r.output_data[0] == 0 && r.output_data[1] == 0 && r.output_data[2] == 0);
            evm_release_result(&r);
        }
    }
    TEST_END();

    TEST_BEGIN("modexp differential against GMP (random small operands)");
    {
        uint64_t st = 0x9e3779b97f4a7c15ULL;
        for (int it = 0; it < 3000; it++) {
            uint8_t in[96 + 120];
            memset(in, 0, 96);
            st ^= st << 13; st ^= st >> 7; st ^= st << 17;
            unsigned bl = st % 40, el = (st >> 8) % 40, ml = (st >> 16) % 40;
            in[31] = (uint8_t)bl; in[63] = (uint8_t)el; in[95] = (uint8_t)ml;
            size_t len = 96 + bl + el + ml;
            if ((st >> 24) % 4 == 0) len -= (st >> 32) % (bl + el + ml + 1);   /* truncated: zero padding */
            for (size_t i = 96; i < len; i++) { st ^= st << 13; st ^= st >> 7; st ^= st << 17; in[i] = (uint8_t)st; }
            uint8_t full[120] = {0};
            memcpy(full, in + 96, len - 96);
            mpz_t b, e, m, r;
            mpz_inits(b, e, m, r, NULL);
            mpz_import(b, bl, 1, 1, 0, 0, full);
            mpz_import(e, el, 1, 1, 0, 0, full + bl);
            mpz_import(m, ml, 1, 1, 0, 0, full + bl + el);
            uint8_t want[64] = {0};
            if (mpz_sgn(m)) {
                mpz_powm(r, b, e, m);
                size_t c, sz = mpz_sizeinbase(r, 256);
                if (mpz_sgn(r)) mpz_export(want + ml - sz, &c, 1, 1, 0, 0, r);
            }
            mpz_clears(b, e, m, r, NULL);
            evm_result res = call(5, in, len, 10000000, it % 2 ? EVM_BERLIN : EVM_BYZANTIUM);
            CHECK_EQ_U64(res.status, EVM_SUCCESS);
            CHECK_EQ_U64(res.output_size, ml);
            if (res.output_size == ml && ml) CHECK(memcmp(res.output_data, want, ml) == 0);
            evm_release_result(&res);
        }
    }
    TEST_END();

    TEST_BEGIN("bn254 add/mul");
    {
        char in[1024];
        snprintf(in, sizeof in, "%s%s", G1GEN, G1GEN);
        expect(6, in, 150, EVM_ISTANBUL, EVM_SUCCESS, 150, G1DBL);
        expect(6, in, 500, EVM_BYZANTIUM, EVM_SUCCESS, 500, G1DBL);
        expect(6, in, 499, EVM_BYZANTIUM, EVM_OUT_OF_GAS, 0, NULL);
        snprintf(in, sizeof in, "%s%s", G1GEN, G1NEG);
        expect(6, in, 150, EVM_ISTANBUL, EVM_SUCCESS, 150, Z32 Z32);
        /* infinity + G = G; empty input = inf + inf */
        snprintf(in, sizeof in, "%s%s%s", Z32, Z32, G1GEN);
        expect(6, in, 150, EVM_ISTANBUL, EVM_SUCCESS, 150, G1GEN);
        expect(6, "", 150, EVM_ISTANBUL, EVM_SUCCESS, 150, Z32 Z32);
        /* truncated second point: G + (x=1, y zero-padded) is invalid */
        snprintf(in, sizeof in, "%s%s", G1GEN, "0000000000000000000000000000000000000000000000000000000000000001");
        expect(6, in, 150, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
        /* not on curve (1,3) */
        expect(6, "0000000000000000000000000000000000000000000000000000000000000001"
                  "0000000000000000000000000000000000000000000000000000000000000003", 150, EVM_ISTANBUL,
               EVM_PRECOMPILE_FAILURE, 0, NULL);
        /* coordinate >= p: (p+1, 2) is (1,2) mod p but must be rejected */
        expect(6, "30644e72e131a029b85045b68181585d97816a916871ca8d3c208c16d87cfd48"
                  "0000000000000000000000000000000000000000000000000000000000000002", 150, EVM_ISTANBUL,
               EVM_PRECOMPILE_FAILURE, 0, NULL);
        snprintf(in, sizeof in, "%s%s", G1GEN, "0000000000000000000000000000000000000000000000000000000000000002");
        expect(7, in, 6000, EVM_ISTANBUL, EVM_SUCCESS, 6000, G1DBL);
        expect(7, in, 40000, EVM_BYZANTIUM, EVM_SUCCESS, 40000, G1DBL);
        snprintf(in, sizeof in, "%s%s", G1GEN, BN_R);
        expect(7, in, 6000, EVM_ISTANBUL, EVM_SUCCESS, 6000, Z32 Z32);
        /* (r+2) G = 2G; scalar 2^256-1 allowed */
        snprintf(in, sizeof in, "%s%s", G1GEN, "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000003");
        expect(7, in, 6000, EVM_ISTANBUL, EVM_SUCCESS, 6000, G1DBL);
        snprintf(in, sizeof in, "%s%s", G1GEN, Z32);
        expect(7, in, 6000, EVM_ISTANBUL, EVM_SUCCESS, 6000, Z32 Z32);
        snprintf(in, sizeof in, "%s%s", G1GEN, "0000000000000000000000000000000000000000000000000000000000000001");
        expect(7, in, 6000, EVM_ISTANBUL, EVM_SUCCESS, 6000, G1GEN);
        /* (r-1) G = -G */
        snprintf(in, sizeof in, "%s%s", G1GEN, "30644e72e131a029b85045b68181585d2833e84879b9709143e1f593f0000000");
        expect(7, in, 6000, EVM_ISTANBUL, EVM_SUCCESS, 6000, G1NEG);
        expect(7, "0000000000000000000000000000000000000000000000000000000000000001"
                  "0000000000000000000000000000000000000000000000000000000000000003"
                  "0000000000000000000000000000000000000000000000000000000000000001", 6000, EVM_ISTANBUL,
               EVM_PRECOMPILE_FAILURE, 0, NULL);
        /* 2G + G == 3G */
        snprintf(in, sizeof in, "%s%s", G1DBL, G1GEN);
        size_t n = unhex(in, g_in, sizeof g_in);
        evm_result a = call(6, g_in, n, 150, EVM_ISTANBUL);
        snprintf(in, sizeof in, "%s%s", G1GEN, "0000000000000000000000000000000000000000000000000000000000000003");
        n = unhex(in, g_in, sizeof g_in);
        evm_result b = call(7, g_in, n, 6000, EVM_ISTANBUL);
        CHECK(a.status == EVM_SUCCESS && b.status == EVM_SUCCESS && a.output_size == 64 && b.output_size == 64 &&
              memcmp(a.output_data, b.output_data, 64) == 0);
        evm_release_result(&a);
        evm_release_result(&b);
    }
    TEST_END();

    TEST_BEGIN("bn254 pairing");
    {
        static char in[4096];
        const char *ONE = "0000000000000000000000000000000000000000000000000000000000000001";
        expect(8, "", 45000, EVM_ISTANBUL, EVM_SUCCESS, 45000, ONE);
        expect(8, "", 100000, EVM_BYZANTIUM, EVM_SUCCESS, 100000, ONE);
        expect(8, "00", 100000, EVM_BYZANTIUM, EVM_PRECOMPILE_FAILURE, 0, NULL);
        /* e(G1, G2) * e(-G1, G2) == 1 */
        snprintf(in, sizeof in, "%s%s%s%s", G1GEN, G2GEN, G1NEG, G2GEN);
        expect(8, in, 113000, EVM_ISTANBUL, EVM_SUCCESS, 113000, ONE);
        expect(8, in, 260000, EVM_BYZANTIUM, EVM_SUCCESS, 260000, ONE);
        expect(8, in, 112999, EVM_ISTANBUL, EVM_OUT_OF_GAS, 0, NULL);
        /* e(G1, G2) != 1 */
        snprintf(in, sizeof in, "%s%s", G1GEN, G2GEN);
        expect(8, in, 79000, EVM_ISTANBUL, EVM_SUCCESS, 79000, Z32);
        /* e(2G1, G2) * e(-G1, G2)^2 == 1 (bilinearity) and e(2G1,G2) e(-G1,G2) != 1 */
        snprintf(in, sizeof in, "%s%s%s%s%s%s", G1DBL, G2GEN, G1NEG, G2GEN, G1NEG, G2GEN);
        expect(8, in, 147000, EVM_ISTANBUL, EVM_SUCCESS, 147000, ONE);
        snprintf(in, sizeof in, "%s%s%s%s", G1DBL, G2GEN, G1NEG, G2GEN);
        expect(8, in, 113000, EVM_ISTANBUL, EVM_SUCCESS, 113000, Z32);
        /* bilinearity in both arguments: e(7 G1, G2) * e(-G1, 7 G2) == 1, with 7 G2 computed independently
         * (affine formulas in Python) and 7 G1 by the 0x07 precompile */
        {
            const char *G2x7 = "2903ba015a9abde26a5d081e84551e63be0fd4516e46ee6d593edeba46362455"
                               "224bdc5d4327fcf8ed702e01de1c2f1657a253ba75e32a89c390142aaa28b308"
                               "03c8b7cda6b2dedb7aeeaf5fda464ad17036bea1c4e6f7adbaed1ebe0335e0d8"
                               "1d92fff52a265017eeccb372e37d7a7bd431800eca28dfd82e21e8054114233f";
            for (int k = 6; k <= 7; k++) {
                char mulin[300];
                snprintf(mulin, sizeof mulin, "%s%064x", G1GEN, k);
                size_t mn = unhex(mulin, g_in, sizeof g_in);
                evm_result m7 = call(7, g_in, mn, 6000, EVM_ISTANBUL);
                CHECK(m7.status == EVM_SUCCESS && m7.output_size == 64);
                char p7[140];
                tohex(m7.output_data, 64, p7);
                evm_release_result(&m7);
                snprintf(in, sizeof in, "%s%s%s%s", p7, G2GEN, G1NEG, G2x7);
                expect(8, in, 113000, EVM_ISTANBUL, EVM_SUCCESS, 113000, k == 7 ? ONE : Z32);
            }
        }
        /* infinity pairs contribute 1 */
        snprintf(in, sizeof in, "%s%s%s%s%s%s", Z32, Z32, G2GEN, G1GEN, Z32 Z32, Z32 Z32);
        expect(8, in, 113000, EVM_ISTANBUL, EVM_SUCCESS, 113000, ONE);
        /* invalid G2: not on the twist (y_re + 1) */
        snprintf(in, sizeof in, "%s%s", G1GEN, G2GEN);
        in[383] = 'b';
        expect(8, in, 79000, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
        /* G2 on the twist but outside the order-r subgroup (x = 2 + u), with a finite and an infinite G1 */
        const char *g2bad = "0000000000000000000000000000000000000000000000000000000000000001"
                            "0000000000000000000000000000000000000000000000000000000000000002"
                            "2b76c179599bb92a963dac85546a005a777f7c13f6a7b75d5918b6b5808f5fde"
                            "101f7278419308b95099eca02dcee0c5381f4d26d1d62313f057167f064101ce";
        snprintf(in, sizeof in, "%s%s", G1GEN, g2bad);
        expect(8, in, 79000, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
        snprintf(in, sizeof in, "%s%s%s", Z32, Z32, g2bad);
        expect(8, in, 79000, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
        /* [r] of that point (order dividing the cofactor) and its sum with G2 (mixed order) */
        const char *g2cof = "0df07790e16e5e7aa7001ab738c21f9084bf5c693085e47f942fa0aad2a83207"
                            "26ef37aea86e322b6c5d69c5e85fa82af327f489db750f2b017bf7592324f244"
                            "1ce612c9d3ff4338c62b348c64d533e732615683faea8e6e9ce648f03b04ffc2"
                            "1e573608f009c378624806e5ce79142df1652823838b3ffd58fb15f9444d8157";
        const char *g2mix = "1ad48d656d9fb2788490858352444c8708914f8422bd815516d73d7b18ba3243"
                            "2c374b3d173e8ed0543c2f4dcfd3082c85e34a1cbee99cc29d14b27d6e3dff95"
                            "09e62a3670cd38d4cd99d32892eda989cd66510864631a42b4e5f160a0c460ca"
                            "0a00e21ec3ea5e341e454370d9ee21811dc81d90cb630c41a9ab63cd4f4a9bb6";
        snprintf(in, sizeof in, "%s%s", G1GEN, g2cof);
        expect(8, in, 79000, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
        snprintf(in, sizeof in, "%s%s", G1GEN, g2mix);
        expect(8, in, 79000, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
        /* invalid G2 coordinate >= p */
        snprintf(in, sizeof in, "%s%s%s%s%s", G1GEN, BN_P, Z32, Z32, Z32);
        expect(8, in, 79000, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
        /* invalid G1 with an infinite G2 still fails */
        snprintf(in, sizeof in, "%s%s%s%s%s", ONE, ONE, Z32 Z32, Z32, Z32);
        expect(8, in, 79000, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
        /* speed: 2-pair check */
        snprintf(in, sizeof in, "%s%s%s%s", G1GEN, G2GEN, G1NEG, G2GEN);
        size_t n = unhex(in, g_in, sizeof g_in);
        struct timespec t0, t1;
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
        for (int i = 0; i < 10; i++) {
            evm_result r = call(8, g_in, n, 113000, EVM_ISTANBUL);
            CHECK(r.status == EVM_SUCCESS);
            evm_release_result(&r);
        }
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
        printf("  bn254 2-pair check: %.2f ms CPU\n",
               ((t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6) / 10);
    }
    TEST_END();

    TEST_BEGIN("blake2f EIP-152");
    {
        const char *body = "48c9bdf267e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5d182e6ad7f520e511f6c3e2b8c68059b6bbd41fbabd9831f79217e1319cde05b"
                           "6162630000000000000000000000000000000000000000000000000000000000"
                           "0000000000000000000000000000000000000000000000000000000000000000"
                           "0000000000000000000000000000000000000000000000000000000000000000"
                           "0000000000000000000000000000000000000000000000000000000000000000"
                           "0300000000000000" "0000000000000000";
        static char in[600];
        snprintf(in, sizeof in, "00000000%s01", body);   /* vector 4: 0 rounds */
        expect(9, in, 10, EVM_ISTANBUL, EVM_SUCCESS, 0,
               "08c9bcf367e6096a3ba7ca8485ae67bb2bf894fe72f36e3cf1361d5f3af54fa5d282e6ad7f520e511f6c3e2b8c68059b9442be0454267ce079217e1319cde05b");
        snprintf(in, sizeof in, "0000000c%s01", body);   /* vector 5: 12 rounds */
        expect(9, in, 12, EVM_ISTANBUL, EVM_SUCCESS, 12,
               "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923");
        expect(9, in, 11, EVM_ISTANBUL, EVM_OUT_OF_GAS, 0, NULL);
        snprintf(in, sizeof in, "0000000c%s00", body);   /* vector 6: not final */
        expect(9, in, 12, EVM_ISTANBUL, EVM_SUCCESS, 12,
               "75ab69d3190a562c51aef8d88f1c2775876944407270c42c9844252c26d2875298743e7f6d5ea2f2d3e8d226039cd31b4e426ac4f2d3d666a610c2116fde4735");
        snprintf(in, sizeof in, "00000001%s01", body);   /* vector 7: 1 round */
        expect(9, in, 12, EVM_ISTANBUL, EVM_SUCCESS, 1,
               "b63a380cb2897d521994a85234ee2c181b5f844d2c624c002677e9703449d2fba551b3a8333bcdf5f2f7e08993d53923de3d64fcc68c034e717b9293fed7a421");
        snprintf(in, sizeof in, "0000000c%s02", body);   /* vector 3: bad final flag */
        expect(9, in, 12, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
        snprintf(in, sizeof in, "0000000c%s", body);     /* vector 1: 212 bytes */
        expect(9, in, 12, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
        snprintf(in, sizeof in, "0000000c%s0100", body); /* 214 bytes */
        expect(9, in, 12, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
        snprintf(in, sizeof in, "ffffffff%s01", body);   /* 2^32-1 rounds: OOG */
        expect(9, in, 100000000, EVM_ISTANBUL, EVM_OUT_OF_GAS, 0, NULL);
        expect(9, "", 100, EVM_ISTANBUL, EVM_PRECOMPILE_FAILURE, 0, NULL);
    }
    TEST_END();

    if (!evm_kzg_available()) {
        SKIP("kzg point evaluation", "c-kzg was not fetched/built (see src/evm/module.mk)");
    } else {
        TEST_BEGIN("kzg point evaluation");
        /* the zero polynomial: commitment = proof = point at infinity, p(z) = 0 for every z */
        uint8_t in[192], h[32];
        memset(in, 0, sizeof in);
        in[96] = 0xc0;
        in[144] = 0xc0;
        evm_result r = call(2, in + 96, 48, 1000, EVM_CANCUN);
        CHECK(r.status == EVM_SUCCESS && r.output_size == 32);
        memcpy(h, r.output_data, 32);
        evm_release_result(&r);
        h[0] = 0x01;
        memcpy(in, h, 32);
        in[63] = 0x2a;   /* z = 42 */
        tohex(in, 192, g_hex);
        const char *want = "0000000000000000000000000000000000000000000000000000000000001000"
                           "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001";
        char hx[400];
        strcpy(hx, g_hex);
        expect(10, hx, 60000, EVM_CANCUN, EVM_SUCCESS, 50000, want);
        expect(10, hx, 49999, EVM_CANCUN, EVM_OUT_OF_GAS, 0, NULL);
        in[95] = 1;      /* y = 1: wrong evaluation */
        tohex(in, 192, hx);
        expect(10, hx, 60000, EVM_CANCUN, EVM_PRECOMPILE_FAILURE, 0, NULL);
        in[95] = 0;
        in[1] ^= 1;      /* wrong versioned hash */
        tohex(in, 192, hx);
        expect(10, hx, 60000, EVM_CANCUN, EVM_PRECOMPILE_FAILURE, 0, NULL);
        in[1] ^= 1;
        in[0] = 0x02;    /* wrong version byte */
        tohex(in, 192, hx);
        expect(10, hx, 60000, EVM_CANCUN, EVM_PRECOMPILE_FAILURE, 0, NULL);
        in[0] = 0x01;
        memset(in + 32, 0xff, 32);   /* z >= BLS modulus */
        tohex(in, 192, hx);
        expect(10, hx, 60000, EVM_CANCUN, EVM_PRECOMPILE_FAILURE, 0, NULL);
        tohex(in, 191, hx);          /* short input */
        expect(10, hx, 60000, EVM_CANCUN, EVM_PRECOMPILE_FAILURE, 0, NULL);
        /* a non-trivial proof (c-kzg reference vector verify_kzg_proof_case_correct_proof_c5e1490d672d026d,
         * as in the execution-spec point-evaluation tests) */
        static char good[] =
            "01e798154708fe7789429634053cbf9f99b619f9f084048927333fce637f549b"
            "564c0a11a0f704f4fc3e8acfe0f8245f0ad1347b378fbf96e206da11a5d36306"
            "24d25032e67a7e6a4910df5834b8fe70e6bcfeeac0352434196bdf4b2485d5a1"
            "8f59a8d2a1a625a17f3fea0fe5eb8c896db3764f3185481bc22f91b4aaffcca25f26936857bc3a7c2539ea8ec3a952b7"
            "873033e038326e87ed3e1276fd140253fa08e9fc25fb2d9a98527fc22a2c9612fbeafdad446cbc7bcdbdcd780af2c16a";
        expect(10, good, 50000, EVM_CANCUN, EVM_SUCCESS, 50000, want);
        good[383] = good[383] == '0' ? '1' : '0';   /* corrupt the proof */
        expect(10, good, 50000, EVM_CANCUN, EVM_PRECOMPILE_FAILURE, 0, NULL);
        good[383] = 'a';
        good[127] ^= 1;                              /* y + 1 */
        expect(10, good, 50000, EVM_CANCUN, EVM_PRECOMPILE_FAILURE, 0, NULL);
        TEST_END();
    }

    TEST_BEGIN("precompiles hostile lengths");
    {
        /* every precompile on inputs of many lengths, random-ish bytes; never crashes */
        size_t n = 70000;
        uint8_t *buf = malloc(n);
        uint32_t s = 12345;
        for (size_t i = 0; i < n; i++) { s = s * 1103515245u + 12345u; buf[i] = (uint8_t)(s >> 16); }
        static const size_t lens[] = {0, 1, 31, 32, 63, 64, 95, 96, 127, 128, 129, 191, 192, 193, 212, 213, 214, 384, 1000, 70000};
        for (int id = 1; id <= 10; id++)
            for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
                evm_result r = call(id, buf, lens[li], 10000000, EVM_CANCUN);
                CHECK(r.status == EVM_SUCCESS || r.gas_left == 0);
                CHECK(r.output_size == 0 || r.output_data != NULL);
                evm_release_result(&r);
                r = call(id, buf, lens[li], 0, EVM_CANCUN);
                CHECK(r.gas_left == 0);
                evm_release_result(&r);
            }
        free(buf);
        /* not a precompile at this revision */
        evm_result r = call(9, NULL, 0, 100, EVM_BYZANTIUM);
        CHECK(r.status != EVM_SUCCESS);
        evm_release_result(&r);
    }
    TEST_END();

    TEST_EXIT();
}
