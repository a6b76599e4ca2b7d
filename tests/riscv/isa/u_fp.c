/* u_fp.c — floating-point differential-test program: for every rounding mode (set through frm),
 * sums, products, quotients, square roots, fused multiply-adds, float<->double and float<->integer
 * conversions over values that reach overflow, underflow/subnormals, ties and NaNs; prints result
 * bits and the accrued fflags per block. qemu-riscv64 and vmkit must agree bit for bit. */
#include "u_lib.h"

static uint64_t rs = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { rs ^= rs << 13; rs ^= rs >> 7; rs ^= rs << 17; return rs; }

static double dv(uint64_t b) { double d; __builtin_memcpy(&d, &b, 8); return d; }
static float fv(uint32_t b) { float f; __builtin_memcpy(&f, &b, 4); return f; }

/* interesting doubles: specials, subnormals, near-ties, random exponents */
static double pick_d(void)
{
    static const uint64_t sp[] = {0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0x7ff0000000000000ull,
                                  0xfff0000000000000ull, 0x7ff8000000000000ull, 0x7ff4000000000000ull, 1,
                                  0x000fffffffffffffull, 0x7fefffffffffffffull, 0x0010000000000000ull,
                                  0x3ca0000000000000ull, 0x43e0000000000000ull, 0xc1e0000000000000ull};
    uint64_t r = rnd();
    switch (r & 7) {
    case 0: return dv(sp[(r >> 8) % (sizeof sp / sizeof sp[0])]);
    case 1: return dv((r >> 12) & 0x800fffffffffffffull);                        /* subnormal */
    case 2: return dv((r & 0x800fffffffffffffull) | (uint64_t)(1022 + (r >> 60) % 3) << 52);
    case 3: return (double)(int64_t)(rnd() >> (r >> 58));                        /* integers */
    default: return dv((r & 0x800fffffffffffffull) | (uint64_t)(1023 - 80 + (r >> 53) % 160) << 52);
    }
}

static double asm_sqrt(double a) { double r; __asm__ volatile("fsqrt.d %0, %1" : "=f"(r) : "f"(a)); return r; }
static float asm_sqrtf(float a) { float r; __asm__ volatile("fsqrt.s %0, %1" : "=f"(r) : "f"(a)); return r; }
static double asm_min(double a, double b) { double r; __asm__ volatile("fmin.d %0, %1, %2" : "=f"(r) : "f"(a), "f"(b)); return r; }
static double asm_max(double a, double b) { double r; __asm__ volatile("fmax.d %0, %1, %2" : "=f"(r) : "f"(a), "f"(b)); return r; }

static volatile double vd[4];
static volatile float vf[4];

int main(void)
{
    for (unsigned rm = 0; rm < 5; rm++) {
        u_set_frm(rm);
        u_clear_fflags();
        uint64_t h = 0;
        uint32_t hf = 0;
        for (int i = 0; i < 400; i++) {
            vd[0] = pick_d(); vd[1] = pick_d(); vd[2] = pick_d();
            double a = vd[0], b = vd[1], c = vd[2];
            h = h * 0x100000001b3ull ^ u_dbits(a + b);
            h = h * 0x100000001b3ull ^ u_dbits(a - c);
            h = h * 0x100000001b3ull ^ u_dbits(a * b);
            h = h * 0x100000001b3ull ^ u_dbits(a / b);
            h = h * 0x100000001b3ull ^ u_dbits(asm_sqrt(a));
            h = h * 0x100000001b3ull ^ u_dbits(__builtin_fma(a, b, c));
            h = h * 0x100000001b3ull ^ u_dbits(-__builtin_fma(a, b, -c));
            h = h * 0x100000001b3ull ^ u_dbits(asm_min(a, b)) ^ u_dbits(asm_max(b, c));
            h = h * 0x100000001b3ull ^ (uint64_t)((a < b) | (a <= c) << 1 | (a == b) << 2);
            float fa = (float)a, fb = (float)b, fc = (float)c;
            hf = hf * 16777619u ^ u_fbits(fa + fb) ^ u_fbits(fa * fc) ^ u_fbits(fb / fc);
            hf = hf * 16777619u ^ u_fbits(asm_sqrtf(fa)) ^ u_fbits(__builtin_fmaf(fa, fb, fc));
            h = h * 0x100000001b3ull ^ u_dbits((double)fa);
            /* conversions use the dynamic mode through inline asm (C casts truncate) */
            long l; unsigned long lu; int w; unsigned wu;
            __asm__ volatile("fcvt.l.d %0, %1" : "=r"(l) : "f"(a));
            __asm__ volatile("fcvt.lu.d %0, %1" : "=r"(lu) : "f"(b));
            __asm__ volatile("fcvt.w.d %0, %1" : "=r"(w) : "f"(c));
            __asm__ volatile("fcvt.wu.s %0, %1" : "=r"(wu) : "f"(fa));
            h = h * 0x100000001b3ull ^ (uint64_t)l ^ lu ^ (uint64_t)(int64_t)w ^ (uint64_t)wu;
            int64_t iv = (int64_t)rnd() >> (rnd() & 63);
            double di; float fi;
            __asm__ volatile("fcvt.d.l %0, %1" : "=f"(di) : "r"(iv));
            __asm__ volatile("fcvt.s.lu %0, %1" : "=f"(fi) : "r"((uint64_t)iv));
            h = h * 0x100000001b3ull ^ u_dbits(di) ^ u_fbits(fi);
        }
        u_kv("rm", rm);
        u_kv("  dhash", h);
        u_kv("  fhash", hf);
        u_kv("  fflags", u_get_fflags());
        /* a few iterative computations */
        u_clear_fflags();
        double s = 0, p = 1, x = 2;
        float sf = 0;
        for (int k = 1; k <= 2000; k++) {
            s += 1.0 / k;
            sf += 1.0f / (float)k;
            p *= 1.0001;
        }
        for (int k = 0; k < 8; k++) x = 0.5 * (x + 2.0 / x);   /* Newton sqrt(2) */
        vd[3] = 1e-300;
        double tiny = vd[3] * 1e-20;                          /* subnormal, UF */
        vf[3] = 3.0e38f;
        float big = vf[3] * 10.0f;                            /* overflow */
        u_kv("  harmonic", u_dbits(s));
        u_kv("  harmonicf", u_fbits(sf));
        u_kv("  power", u_dbits(p));
        u_kv("  newton", u_dbits(x));
        u_kv("  tiny", u_dbits(tiny));
        u_kv("  big", u_fbits(big));
        u_kv("  fflags", u_get_fflags());
    }
    u_set_frm(0);
    u_flush();
    return 0;
}
