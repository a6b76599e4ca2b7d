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

/* Keccak-f[1600], fully unrolled round body (lanes in locals; ~25x fewer instructions than a
 * table-driven loop). */
#define KROL(x, n) (((x) << (n)) | ((x) >> (64 - (n))))
static void keccakf(uint64_t s[25])
{
    uint64_t a0 = s[0], a1 = s[1], a2 = s[2], a3 = s[3], a4 = s[4], a5 = s[5], a6 = s[6], a7 = s[7], a8 = s[8], a9 = s[9], a10 = s[10], a11 = s[11], a12 = s[12], a13 = s[13], a14 = s[14], a15 = s[15], a16 = s[16], a17 = s[17], a18 = s[18], a19 = s[19], a20 = s[20], a21 = s[21], a22 = s[22], a23 = s[23], a24 = s[24];
    for (int r = 0; r < 24; r++) {
        uint64_t c0 = a0 ^ a5 ^ a10 ^ a15 ^ a20, c1 = a1 ^ a6 ^ a11 ^ a16 ^ a21, c2 = a2 ^ a7 ^ a12 ^ a17 ^ a22;
        uint64_t c3 = a3 ^ a8 ^ a13 ^ a18 ^ a23, c4 = a4 ^ a9 ^ a14 ^ a19 ^ a24;
        uint64_t d0 = c4 ^ KROL(c1, 1), d1 = c0 ^ KROL(c2, 1), d2 = c1 ^ KROL(c3, 1), d3 = c2 ^ KROL(c4, 1), d4 = c3 ^ KROL(c0, 1);
        uint64_t b0 = (a0 ^ d0), b1 = KROL((a6 ^ d1), 44), b2 = KROL((a12 ^ d2), 43), b3 = KROL((a18 ^ d3), 21), b4 = KROL((a24 ^ d4), 14), b5 = KROL((a3 ^ d3), 28), b6 = KROL((a9 ^ d4), 20), b7 = KROL((a10 ^ d0), 3), b8 = KROL((a16 ^ d1), 45), b9 = KROL((a22 ^ d2), 61), b10 = KROL((a1 ^ d1), 1), b11 = KROL((a7 ^ d2), 6), b12 = KROL((a13 ^ d3), 25);
        uint64_t b13 = KROL((a19 ^ d4), 8), b14 = KROL((a20 ^ d0), 18), b15 = KROL((a4 ^ d4), 27), b16 = KROL((a5 ^ d0), 36), b17 = KROL((a11 ^ d1), 10), b18 = KROL((a17 ^ d2), 15), b19 = KROL((a23 ^ d3), 56), b20 = KROL((a2 ^ d2), 62), b21 = KROL((a8 ^ d3), 55), b22 = KROL((a14 ^ d4), 39), b23 = KROL((a15 ^ d0), 41), b24 = KROL((a21 ^ d1), 2);
        a0 = b0 ^ (~b1 & b2); a1 = b1 ^ (~b2 & b3); a2 = b2 ^ (~b3 & b4); a3 = b3 ^ (~b4 & b0); a4 = b4 ^ (~b0 & b1);
        a5 = b5 ^ (~b6 & b7); a6 = b6 ^ (~b7 & b8); a7 = b7 ^ (~b8 & b9); a8 = b8 ^ (~b9 & b5); a9 = b9 ^ (~b5 & b6);
        a10 = b10 ^ (~b11 & b12); a11 = b11 ^ (~b12 & b13); a12 = b12 ^ (~b13 & b14); a13 = b13 ^ (~b14 & b10); a14 = b14 ^ (~b10 & b11);
        a15 = b15 ^ (~b16 & b17); a16 = b16 ^ (~b17 & b18); a17 = b17 ^ (~b18 & b19); a18 = b18 ^ (~b19 & b15); a19 = b19 ^ (~b15 & b16);
        a20 = b20 ^ (~b21 & b22); a21 = b21 ^ (~b22 & b23); a22 = b22 ^ (~b23 & b24); a23 = b23 ^ (~b24 & b20); a24 = b24 ^ (~b20 & b21);
        a0 ^= RC[r];
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
