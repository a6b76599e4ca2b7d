/* bench/riscv/cpubench.c — a freestanding CPU benchmark for riscv64 Linux guests (owned by the
 * guest-images/benchmark part). No libc: raw ecalls for write, clock_gettime and exit, so the binary is a
 * few KiB and goes into the initramfs as /bin/cpubench. Timed by the guest's own CLOCK_MONOTONIC.
 * Usage: cpubench [scale]   (scale 1..1000, default 10). Prints one line:
 *   CPUBENCH scale=S sieve_ms=A crc_ms=B matmul_ms=C total_ms=T check=HEX
 * check depends only on scale, so a wrong result from an emulator shows up as a different check value. */
typedef unsigned long u64;
typedef unsigned int u32;
typedef unsigned char u8;

#define SYS_write 64
#define SYS_exit 93
#define SYS_clock_gettime 113

static long sys3(long n, long a, long b, long c) {
  register long a0 __asm__("a0") = a;
  register long a1 __asm__("a1") = b;
  register long a2 __asm__("a2") = c;
  register long a7 __asm__("a7") = n;
  __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
  return a0;
}

struct ts { long sec, nsec; };
static u64 now_ns(void) {
  struct ts t = {0, 0};
  sys3(SYS_clock_gettime, 1 /* CLOCK_MONOTONIC */, (long)&t, 0);
  return (u64)t.sec * 1000000000ul + (u64)t.nsec;
}

static char obuf[256];
static int olen;
static void put_s(const char *s) { while (*s && olen < (int)sizeof obuf - 1) obuf[olen++] = *s++; }
static void put_u(u64 v, int base) {
  char t[24]; int n = 0;
  do { t[n++] = "0123456789abcdef"[v % (u64)base]; v /= (u64)base; } while (v && n < 24);
  while (n && olen < (int)sizeof obuf - 1) obuf[olen++] = t[--n];
}

#define SIEVE_N (1u << 20)
static u8 sieve[SIEVE_N];
static u64 run_sieve(void) {
  u64 count = 0;
  for (u32 i = 0; i < SIEVE_N; i++) sieve[i] = 1;
  sieve[0] = sieve[1] = 0;
  for (u32 i = 2; (u64)i * i < SIEVE_N; i++)
    if (sieve[i]) for (u32 j = i * i; j < SIEVE_N; j += i) sieve[j] = 0;
  for (u32 i = 0; i < SIEVE_N; i++) count += sieve[i];
  return count;
}

#define CRC_LEN 65536
static u8 crcbuf[CRC_LEN];
static u64 run_crc(u32 seed) {
  u32 x = seed | 1, crc = 0xffffffffu;
  for (u32 i = 0; i < CRC_LEN; i++) { x ^= x << 13; x ^= x >> 17; x ^= x << 5; crcbuf[i] = (u8)x; }
  for (u32 i = 0; i < CRC_LEN; i++) {
    crc ^= crcbuf[i];
    for (int k = 0; k < 8; k++) crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

#define MN 48
static long ma[MN][MN], mb[MN][MN], mc[MN][MN];
static u64 run_matmul(u32 seed) {
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) { ma[i][j] = (long)((i * 31 + j * 17 + seed) % 97) - 48; mb[i][j] = (long)((i * 7 + j * 13 + seed) % 89) - 44; }
  for (int i = 0; i < MN; i++)
    for (int j = 0; j < MN; j++) {
      long s = 0;
      for (int k = 0; k < MN; k++) s += ma[i][k] * mb[k][j];
      mc[i][j] = s;
    }
  u64 h = 0;
  for (int i = 0; i < MN; i++) for (int j = 0; j < MN; j++) h = h * 1000003u + (u64)mc[i][j];
  return h;
}

static u64 parse_u(const char *s) {
  u64 v = 0;
  if (!s) return 0;
  for (; *s; s++) { if (*s < '0' || *s > '9' || v > 100000) return 0; v = v * 10 + (u64)(*s - '0'); }
  return v;
}

void cmain(long *sp);
void cmain(long *sp) {
  long argc = sp[0];
  char **argv = (char **)(sp + 1);
  u64 scale = argc > 1 ? parse_u(argv[1]) : 10;
  if (scale < 1 || scale > 1000) {
    static const char msg[] = "cpubench: scale must be an integer 1..1000\n";
    sys3(SYS_write, 2, (long)msg, sizeof msg - 1);
    sys3(SYS_exit, 2, 0, 0);
  }
  u64 check = 0, t0 = now_ns();
  for (u64 r = 0; r < scale; r++) check += run_sieve();
  u64 t1 = now_ns();
  for (u64 r = 0; r < scale * 4; r++) check ^= run_crc((u32)r + 1) << (r % 32);
  u64 t2 = now_ns();
  for (u64 r = 0; r < scale * 4; r++) check += run_matmul((u32)r);
  u64 t3 = now_ns();
  put_s("CPUBENCH scale="); put_u(scale, 10);
  put_s(" sieve_ms="); put_u((t1 - t0) / 1000000, 10);
  put_s(" crc_ms="); put_u((t2 - t1) / 1000000, 10);
  put_s(" matmul_ms="); put_u((t3 - t2) / 1000000, 10);
  put_s(" total_ms="); put_u((t3 - t0) / 1000000, 10);
  put_s(" check="); put_u(check, 16);
  put_s("\n");
  sys3(SYS_write, 1, (long)obuf, olen);
  sys3(SYS_exit, 0, 0, 0);
}

__asm__(".globl _start\n"
        "_start:\n"
        "  mv a0, sp\n"
        "  andi sp, sp, -16\n"
        "  call cmain\n"
        "1: j 1b\n");
