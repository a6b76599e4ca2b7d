/* u_int.c — integer differential-test program: PRNG, quicksort, CRC-32, sieve, 128-bit products,
 * division edge cases, bit tricks and atomics (AMO and LR/SC loops), compiled with -O2 for rv64gc
 * (so compressed code). Prints labelled hex results; qemu-riscv64 and vmkit must agree. */
#include "u_lib.h"

static uint64_t rs = 0x243f6a8885a308d3ull;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }

static uint64_t arr[3000];
static void qsort_u64(uint64_t *a, long lo, long hi)
{
    while (lo < hi) {
        uint64_t p = a[(lo + hi) / 2];
        long i = lo, j = hi;
        while (i <= j) {
            while (a[i] < p) i++;
            while (a[j] > p) j--;
            if (i <= j) { uint64_t t = a[i]; a[i] = a[j]; a[j] = t; i++; j--; }
        }
        if (j - lo < hi - i) { qsort_u64(a, lo, j); lo = i; }
        else { qsort_u64(a, i, hi); hi = j; }
    }
}

static uint32_t crc32(const uint8_t *p, size_t n)
{
    uint32_t c = 0xffffffffu;
    while (n--) {
        c ^= *p++;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0xedb88320u & -(c & 1));
    }
    return ~c;
}

static uint8_t sieve[200001];
static volatile int64_t vs[8];
static volatile uint64_t vu[8];

int main(void)
{
    for (int i = 0; i < 3000; i++) arr[i] = rnd() >> (rnd() & 31);
    qsort_u64(arr, 0, 2999);
    uint64_t h = 0;
    int sorted = 1;
    for (int i = 0; i < 3000; i++) { h = h * 1000003 ^ arr[i]; if (i && arr[i - 1] > arr[i]) sorted = 0; }
    u_kv("sort_hash", h);
    u_kv("sorted", (uint64_t)sorted);
    u_kv("crc32", crc32((const uint8_t *)arr, sizeof arr));

    long primes = 0;
    for (long i = 2; i <= 200000; i++) {
        if (sieve[i]) continue;
        primes++;
        for (long j = i * i; j <= 200000; j += i) sieve[j] = 1;
    }
    u_kv("primes", (uint64_t)primes);

    /* 128-bit arithmetic: mulhu / mulh / mulhsu and 128-bit division through libgcc */
    unsigned __int128 acc = 1;
    __int128 sacc = -1;
    for (int i = 0; i < 200; i++) {
        uint64_t a = rnd(), b = rnd();
        acc = acc * a + b;
        sacc = sacc * (int64_t)a - (int64_t)b;
        u_kv("mulhu", (uint64_t)(((unsigned __int128)a * b) >> 64) ^ (uint64_t)(((__int128)(int64_t)a * (int64_t)b) >> 64));
        if (i > 190) u_kv("mulhsu", (uint64_t)(((__int128)(int64_t)a * (unsigned __int128)b) >> 64));
    }
    u_kv("acc_hi", (uint64_t)(acc >> 64));
    u_kv("acc_lo", (uint64_t)acc);
    u_kv("sacc_hi", (uint64_t)((unsigned __int128)sacc >> 64));

    /* division edge cases through volatile so the compiler emits div/rem */
    vs[0] = INT64_MIN; vs[1] = -1; vs[2] = 0; vs[3] = 7; vs[4] = -7; vs[5] = 2;
    vu[0] = ~0ull; vu[1] = 0; vu[2] = 3;
    u_kv("div_ovf", (uint64_t)(vs[0] / vs[1]));
    u_kv("rem_ovf", (uint64_t)(vs[0] % vs[1]));
    u_kv("div0", (uint64_t)(vs[3] / vs[2]));
    u_kv("rem0", (uint64_t)(vs[4] % vs[2]));
    u_kv("divu0", vu[0] / vu[1]);
    u_kv("remu0", vu[2] % vu[1]);
    u_kv("divw", (uint64_t)(int64_t)((int32_t)vs[4] / (int32_t)vs[5]));
    u_kv("remw", (uint64_t)(int64_t)((int32_t)vs[4] % (int32_t)vs[5]));
    u_kv("divuw", (uint64_t)((uint32_t)vu[0] / (uint32_t)vu[2]));
    uint64_t mix = 0;
    for (int i = 0; i < 500; i++) {
        int64_t a = (int64_t)rnd() >> (rnd() & 63), b = (int64_t)rnd() >> (rnd() & 63);
        if (b == 0) b = 3;
        mix = mix * 31 + (uint64_t)(a / b) + (uint64_t)(a % b) + ((uint64_t)a / (uint64_t)b) +
              (uint64_t)(int32_t)((int32_t)a / ((int32_t)b | 1)) + (uint32_t)((uint32_t)a % ((uint32_t)b | 1));
    }
    u_kv("divmix", mix);

    /* bit tricks */
    uint64_t bits = 0;
    for (int i = 0; i < 300; i++) {
        uint64_t v = rnd();
        bits += (uint64_t)__builtin_popcountll(v) + (uint64_t)__builtin_clzll(v | 1) * 3 +
                (uint64_t)__builtin_ctzll(v | (1ull << 63)) * 5 + ((v << 17) | (v >> 47)) + __builtin_bswap64(v);
    }
    u_kv("bits", bits);

    /* atomics */
    static uint64_t a64;
    static uint32_t a32;
    a64 = 5; a32 = 0xfffffff0u;
    uint64_t ret = 0;
    ret += __atomic_fetch_add(&a64, 10, __ATOMIC_SEQ_CST);
    ret += __atomic_fetch_xor(&a64, 0xff, __ATOMIC_ACQUIRE);
    ret += __atomic_fetch_and(&a64, 0xf0f, __ATOMIC_RELEASE);
    ret += __atomic_fetch_or(&a64, 0x1000, __ATOMIC_RELAXED);
    ret += __atomic_exchange_n(&a64, 77, __ATOMIC_SEQ_CST);
    ret += __atomic_fetch_add(&a32, 0x20, __ATOMIC_SEQ_CST);
    ret += (uint64_t)__atomic_fetch_sub(&a32, 1, __ATOMIC_SEQ_CST);
    uint64_t expect = 77;
    int ok1 = __atomic_compare_exchange_n(&a64, &expect, 99, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    expect = 1;
    int ok2 = __atomic_compare_exchange_n(&a64, &expect, 5, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    uint32_t e32 = a32;
    int ok3 = __atomic_compare_exchange_n(&a32, &e32, 0x12345678u, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    u_kv("atomic_ret", ret);
    u_kv("atomic_state", a64 ^ ((uint64_t)a32 << 32));
    u_kv("cas", (uint64_t)(ok1 | ok2 << 1 | ok3 << 2) ^ (expect << 8));
    u_flush();
    return 0;
}
