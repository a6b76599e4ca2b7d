/* keccak.c — Keccak-256 (original Keccak padding 0x01, as Ethereum uses): evm_keccak256.
 * A straightforward Keccak-f[1600] with 24 rounds; absorb XORs whole 64-bit lanes (little-endian). */
#include "evm.h"
#include <string.h>

static const uint64_t RC[24] = {
    0x0000000000000001ULL, 0x0000000000008082ULL, 0x800000000000808aULL, 0x8000000080008000ULL,
    0x000000000000808bULL, 0x0000000080000001ULL, 0x8000000080008081ULL, 0x8000000000008009ULL,
    0x000000000000008aULL, 0x0000000000000088ULL, 0x0000000080008009ULL, 0x000000008000000aULL,
    0x000000008000808bULL, 0x800000000000008bULL, 0x8000000000008089ULL, 0x8000000000008003ULL,
    0x8000000000008002ULL, 0x8000000000000080ULL, 0x000000000000800aULL, 0x800000008000000aULL,
    0x8000000080008081ULL, 0x8000000000008080ULL, 0x0000000080000001ULL, 0x8000000080008008ULL,
};

/* Keccak-f[1600]: lanes in locals, theta/rho/pi/chi computed one output row at a time (short live
 * ranges), two rounds per iteration ping-ponging between the a* and e* lane sets. */
#define KROL(x, n) (((x) << (n)) | ((x) >> (64 - (n))))
static void keccakf(uint64_t s[25])
{
    uint64_t a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3], a4 = s[4], a5 = s[5], a6 = s[6], a7 = s[7], a8 = s[8], a9 = s[9], a10 = s[10], a11 = s[11], a12 = s[12], a13 = s[13], a14 = s[14], a15 = s[15], a16 = s[16], a17 = s[17], a18 = s[18], a19 = s[19], a20 = s[20], a21 = s[21], a22 = s[22], a23 = s[23], a24 = s[24];
    uint64_t e0, e1, e2, e3, e4, e5, e6, e7, e8, e9, e10, e11, e12, e13, e14, e15, e16, e17, e18, e19, e20, e21, e22, e23, e24;
    uint64_t c0, c1, c2, c3, c4, d0, d1, d2, d3, d4, b0, b1, b2, b3, b4;
    for (int r = 0; r < 24; r += 2) {
        c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20; c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21; c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
        c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23; c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
        d0 = c4 ^ KROL(c1, 1); d1 = c0 ^ KROL(c2, 1); d2 = c1 ^ KROL(c3, 1); d3 = c2 ^ KROL(c4, 1); d4 = c3 ^ KROL(c0, 1);
        b0 = (a0 ^ d0); b1 = KROL(a6 ^ d1, 44); b2 = KROL(a12 ^ d2, 43); b3 = KROL(a18 ^ d3, 21); b4 = KROL(a24 ^ d4, 14);
        e0 = b0 ^ (~b1 & b2) ^ RC[r]; e1 = b1 ^ (~b2 & b3); e2 = b2 ^ (~b3 & b4); e3 = b3 ^ (~b4 & b0); e4 = b4 ^ (~b0 & b1);
        b0 = KROL(a3 ^ d3, 28); b1 = KROL(a9 ^ d4, 20); b2 = KROL(a10 ^ d0, 3); b3 = KROL(a16 ^ d1, 45); b4 = KROL(a22 ^ d2, 61);
        e5 = b0 ^ (~b1 & b2); e6 = b1 ^ (~b2 & b3); e7 = b2 ^ (~b3 & b4); e8 = b3 ^ (~b4 & b0); e9 = b4 ^ (~b0 & b1);
        b0 = KROL(a1 ^ d1, 1); b1 = KROL(a7 ^ d2, 6); b2 = KROL(a13 ^ d3, 25); b3 = KROL(a19 ^ d4, 8); b4 = KROL(a20 ^ d0, 18);
        e10 = b0 ^ (~b1 & b2); e11 = b1 ^ (~b2 & b3); e12 = b2 ^ (~b3 & b4); e13 = b3 ^ (~b4 & b0); e14 = b4 ^ (~b0 & b1);
        b0 = KROL(a4 ^ d4, 27); b1 = KROL(a5 ^ d0, 36); b2 = KROL(a11 ^ d1, 10); b3 = KROL(a17 ^ d2, 15); b4 = KROL(a23 ^ d3, 56);
        e15 = b0 ^ (~b1 & b2); e16 = b1 ^ (~b2 & b3); e17 = b2 ^ (~b3 & b4); e18 = b3 ^ (~b4 & b0); e19 = b4 ^ (~b0 & b1);
        b0 = KROL(a2 ^ d2, 62); b1 = KROL(a8 ^ d3, 55); b2 = KROL(a14 ^ d4, 39); b3 = KROL(a15 ^ d0, 41); b4 = KROL(a21 ^ d1, 2);
        e20 = b0 ^ (~b1 & b2); e21 = b1 ^ (~b2 & b3); e22 = b2 ^ (~b3 & b4); e23 = b3 ^ (~b4 & b0); e24 = b4 ^ (~b0 & b1);
        c0 = e0 ^ e5 ^ e10 ^ e15 ^ e20; c1 = e1 ^ e6 ^ e11 ^ e16 ^ e21; c2 = e2 ^ e7 ^ e12 ^ e17 ^ e22;
        c3 = e3 ^ e8 ^ e13 ^ e18 ^ e23; c4 = e4 ^ e9 ^ e14 ^ e19 ^ e24;
        d0 = c4 ^ KROL(c1, 1); d1 = c0 ^ KROL(c2, 1); d2 = c1 ^ KROL(c3, 1); d3 = c2 ^ KROL(c4, 1); d4 = c3 ^ KROL(c0, 1);
        b0 = (e0 ^ d0); b1 = KROL(e6 ^ d1, 44); b2 = KROL(e12 ^ d2, 43); b3 = KROL(e18 ^ d3, 21); b4 = KROL(e24 ^ d4, 14);
        a0 = b0 ^ (~b1 & b2) ^ RC[r + 1]; a1 = b1 ^ (~b2 & b3); a2 = b2 ^ (~b3 & b4); a3 = b3 ^ (~b4 & b0); a4 = b4 ^ (~b0 & b1);
        b0 = KROL(e3 ^ d3, 28); b1 = KROL(e9 ^ d4, 20); b2 = KROL(e10 ^ d0, 3); b3 = KROL(e16 ^ d1, 45); b4 = KROL(e22 ^ d2, 61);
        a5 = b0 ^ (~b1 & b2); a6 = b1 ^ (~b2 & b3); a7 = b2 ^ (~b3 & b4); a8 = b3 ^ (~b4 & b0); a9 = b4 ^ (~b0 & b1);
        b0 = KROL(e1 ^ d1, 1); b1 = KROL(e7 ^ d2, 6); b2 = KROL(e13 ^ d3, 25); b3 = KROL(e19 ^ d4, 8); b4 = KROL(e20 ^ d0, 18);
        a10 = b0 ^ (~b1 & b2); a11 = b1 ^ (~b2 & b3); a12 = b2 ^ (~b3 & b4); a13 = b3 ^ (~b4 & b0); a14 = b4 ^ (~b0 & b1);
        b0 = KROL(e4 ^ d4, 27); b1 = KROL(e5 ^ d0, 36); b2 = KROL(e11 ^ d1, 10); b3 = KROL(e17 ^ d2, 15); b4 = KROL(e23 ^ d3, 56);
        a15 = b0 ^ (~b1 & b2); a16 = b1 ^ (~b2 & b3); a17 = b2 ^ (~b3 & b4); a18 = b3 ^ (~b4 & b0); a19 = b4 ^ (~b0 & b1);
        b0 = KROL(e2 ^ d2, 62); b1 = KROL(e8 ^ d3, 55); b2 = KROL(e14 ^ d4, 39); b3 = KROL(e15 ^ d0, 41); b4 = KROL(e21 ^ d1, 2);
        a20 = b0 ^ (~b1 & b2); a21 = b1 ^ (~b2 & b3); a22 = b2 ^ (~b3 & b4); a23 = b3 ^ (~b4 & b0); a24 = b4 ^ (~b0 & b1);
    }
    s[0] = a0; s[1] = a1; s[2] = a2; s[3] = a3; s[4] = a4; s[5] = a5; s[6] = a6; s[7] = a7; s[8] = a8; s[9] = a9; s[10] = a10; s[11] = a11; s[12] = a12; s[13] = a13; s[14] = a14; s[15] = a15; s[16] = a16; s[17] = a17; s[18] = a18; s[19] = a19; s[20] = a20; s[21] = a21; s[22] = a22; s[23] = a23; s[24] = a24;
}
#undef KROL

static inline uint64_t load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

void evm_keccak256(const uint8_t *data, size_t len, uint8_t out[32])
{
    enum { RATE = 136 };
    uint64_t s[25] = {0};
    while (len >= RATE) {
        for (int i = 0; i < RATE / 8; i++) s[i] ^= load64(data + 8 * i);
        keccakf(s);
        data += RATE;
        len -= RATE;
    }
    uint8_t last[RATE];
    memset(last, 0, sizeof last);
    if (len) memcpy(last, data, len);
    last[len] ^= 0x01;
    last[RATE - 1] ^= 0x80;
    for (int i = 0; i < RATE / 8; i++) s[i] ^= load64(last + 8 * i);
    keccakf(s);
    for (int i = 0; i < 4; i++) {
        uint64_t v = s[i];
        for (int b = 0; b < 8; b++) out[8 * i + b] = (uint8_t)(v >> (8 * b));
    }
}
