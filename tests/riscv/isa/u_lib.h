/* u_lib.h — the tiny freestanding library of the C differential-test programs (u_*.c): Linux
 * write/exit system calls, hex output, fcsr access, and the memset/memcpy gcc may call. */
#ifndef U_LIB_H
#define U_LIB_H
#include <stddef.h>
#include <stdint.h>

static long u_syscall3(long n, long a, long b, long c)
{
    register long a0 __asm__("a0") = a, a1 __asm__("a1") = b, a2 __asm__("a2") = c, a7 __asm__("a7") = n;
    __asm__ volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}
static char u_out[8192];
static size_t u_outn;
static void u_flush(void) { if (u_outn) u_syscall3(64, 1, (long)u_out, (long)u_outn); u_outn = 0; }
static void u_putc(char c) { if (u_outn == sizeof u_out) u_flush(); u_out[u_outn++] = c; }
static void u_puts(const char *s) { while (*s) u_putc(*s++); }
static void u_hex(uint64_t v)
{
    for (int i = 60; i >= 0; i -= 4) u_putc("0123456789abcdef"[(v >> i) & 15]);
}
/* one "label value" line */
static void u_kv(const char *k, uint64_t v) { u_puts(k); u_putc(' '); u_hex(v); u_putc('\n'); }

static inline void u_set_frm(unsigned rm) { __asm__ volatile("fsrm %0" : : "r"(rm)); }
static inline unsigned u_get_fflags(void) { unsigned v; __asm__ volatile("frflags %0" : "=r"(v)); return v; }
static inline void u_clear_fflags(void) { __asm__ volatile("fsflags x0"); }
static inline uint64_t u_dbits(double d) { uint64_t u; __builtin_memcpy(&u, &d, 8); return u; }
static inline uint32_t u_fbits(float f) { uint32_t u; __builtin_memcpy(&u, &f, 4); return u; }

void *memset(void *d, int c, size_t n)
{
    unsigned char *p = d;
    while (n--) *p++ = (unsigned char)c;
    return d;
}
void *memcpy(void *d, const void *s, size_t n)
{
    unsigned char *p = d;
    const unsigned char *q = s;
    while (n--) *p++ = *q++;
    return d;
}
#endif
