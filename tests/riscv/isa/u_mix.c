/* u_mix.c — mixed differential-test program: SHA-256, double matrix multiply (compiled to fused
 * multiply-adds), recursion, a switch jump table, struct copies, 32-bit wrap-around arithmetic, float
 * formatting done by hand and a small bytecode interpreter. Output must match qemu-riscv64. */
#include "u_lib.h"

static const uint32_t K[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};
#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha256(const uint8_t *msg, size_t len, uint32_t h[8])
{
    static const uint32_t h0[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                   0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    for (int i = 0; i < 8; i++) h[i] = h0[i];
    uint8_t blk[64];
    size_t total = ((len + 9 + 63) / 64) * 64;
    for (size_t off = 0; off < total; off += 64) {
        for (int i = 0; i < 64; i++) {
            size_t p = off + (size_t)i;
            uint8_t b = 0;
            if (p < len) b = msg[p];
            else if (p == len) b = 0x80;
            else if (p >= total - 8) b = (uint8_t)(((uint64_t)len * 8) >> (8 * (total - 1 - p)));
            blk[i] = b;
        }
        uint32_t w[64];
        for (int i = 0; i < 16; i++)
            w[i] = (uint32_t)blk[4 * i] << 24 | (uint32_t)blk[4 * i + 1] << 16 | (uint32_t)blk[4 * i + 2] << 8 | blk[4 * i + 3];
        for (int i = 16; i < 64; i++) {
            uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
            uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
            w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
        uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
        for (int i = 0; i < 64; i++) {
            uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
            uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
            hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
        h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
    }
}

static long fib(long n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

struct rec { uint64_t a; uint32_t b; uint16_t c; uint8_t d[13]; double x; };

static int64_t interp(const uint8_t *code, size_t n, int64_t arg)
{
    int64_t st[64];
    int sp = 0;
    st[sp++] = arg;
    for (size_t pc = 0; pc < n; pc++) {
        switch (code[pc]) {
        case 0: st[sp] = st[sp - 1]; sp++; break;                       /* dup */
        case 1: sp--; st[sp - 1] += st[sp]; break;                      /* add */
        case 2: sp--; st[sp - 1] *= st[sp]; break;                      /* mul */
        case 3: st[sp - 1] = -st[sp - 1]; break;                        /* neg */
        case 4: st[sp++] = (int8_t)code[++pc]; break;                   /* push imm */
        case 5: sp--; st[sp - 1] ^= st[sp]; break;                      /* xor */
        case 6: st[sp - 1] = (int64_t)((uint64_t)st[sp - 1] >> 3); break;
        case 7: sp--; if (st[sp] != 0) st[sp - 1] /= st[sp]; break;    /* div */
        case 8: { int64_t t = st[sp - 1]; st[sp - 1] = st[sp - 2]; st[sp - 2] = t; break; }
        default: break;
        }
        if (sp < 2) st[sp++] = 7;
        if (sp > 60) sp = 2;
    }
    return st[sp - 1];
}

/* decimal rendering of a double with 17 significant digits, integer arithmetic only */
static void put_double(double v)
{
    uint64_t b = u_dbits(v);
    if (b >> 63) { u_putc('-'); v = -v; }
    if (v != v) { u_puts("nan"); return; }
    if (v > 1e300) { u_puts("big"); return; }
    int e10 = 0;
    while (v >= 1e17) { v /= 10; e10++; }
    while (v < 1e16 && v != 0) { v *= 10; e10--; }
    uint64_t m = (uint64_t)v;
    char buf[24];
    int i = 0;
    do { buf[i++] = (char)('0' + m % 10); m /= 10; } while (m);
    while (i--) u_putc(buf[i]);
    u_putc('e');
    if (e10 < 0) { u_putc('-'); e10 = -e10; }
    char eb[8];
    int j = 0;
    do { eb[j++] = (char)('0' + e10 % 10); e10 /= 10; } while (e10);
    while (j--) u_putc(eb[j]);
    u_putc('\n');
}

static double A[24][24], B[24][24], C[24][24];

int main(void)
{
    static uint8_t msg[1000];
    for (int i = 0; i < 1000; i++) msg[i] = (uint8_t)(i * 7 + (i >> 3));
    uint32_t h[8];
    sha256((const uint8_t *)"abc", 3, h);
    for (int i = 0; i < 8; i++) u_kv("sha_abc", h[i]);
    sha256(msg, sizeof msg, h);
    for (int i = 0; i < 8; i++) u_kv("sha_msg", h[i]);

    for (int i = 0; i < 24; i++)
        for (int j = 0; j < 24; j++) { A[i][j] = (i + 1) * 0.37 - j * 1.13; B[i][j] = 1.0 / (i + j + 1); }
    for (int i = 0; i < 24; i++)
        for (int j = 0; j < 24; j++) {
            double s = 0;
            for (int k = 0; k < 24; k++) s += A[i][k] * B[k][j];
            C[i][j] = s;
        }
    uint64_t mh = 0;
    for (int i = 0; i < 24; i++) for (int j = 0; j < 24; j++) mh = mh * 31 + u_dbits(C[i][j]);
    u_kv("matmul", mh);
    put_double(C[3][7]);
    put_double(C[23][0] * 1e100);
    put_double(-C[11][19] / 3.0);

    u_kv("fib", (uint64_t)fib(24));

    struct rec r1 = {1, 2, 3, {4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, 2.5}, r2;
    r2 = r1;
    r2.d[12] ^= 0xff;
    r1 = r2;
    u_kv("struct", r1.a + r1.b + r1.c + r1.d[12] + (uint64_t)(r1.x * 4));

    uint32_t w = 0xfffffff0u;
    int32_t sw = 0x7ffffff0;
    for (int i = 0; i < 40; i++) { w += 3; sw += 5; sw ^= (int32_t)w; w *= 0x9e3779b9u; }
    u_kv("wrap32", (uint64_t)w << 32 | (uint32_t)sw);

    static const uint8_t prog[] = {0, 2, 4, 17, 1, 0, 6, 5, 4, 0xfd, 7, 8, 3, 0, 2, 1, 4, 9, 2, 5, 0, 0, 1, 8, 7};
    int64_t acc = 0;
    for (int64_t x = -50; x < 50; x++) acc = acc * 3 + interp(prog, sizeof prog, x * 12345);
    u_kv("interp", (uint64_t)acc);
    u_flush();
    return 3;
}
