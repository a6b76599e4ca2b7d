/* lib.h — the freestanding test guests' runtime: port I/O, COM1 output, a small printf, MMIO access,
 * CPUID/MSR/control registers, the zero page and command-line helpers, and vm_exit (port 0x501). */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

static inline void outb(uint16_t port, uint8_t v) { __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port)); }
static inline uint8_t inb(uint16_t port) { uint8_t v; __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port)); return v; }
static inline uint32_t mmio_r32(uint64_t a) { return *(volatile uint32_t *)a; }
static inline void mmio_w32(uint64_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
static inline void barrier(void) { __asm__ volatile("mfence" ::: "memory"); }
static inline void cpuid(uint32_t leaf, uint32_t sub, uint32_t r[4])
{
    __asm__ volatile("cpuid" : "=a"(r[0]), "=b"(r[1]), "=c"(r[2]), "=d"(r[3]) : "a"(leaf), "c"(sub));
}
static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return (uint64_t)hi << 32 | lo;
}
#define READ_CR(n) ({ uint64_t _v; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(_v)); _v; })
/* A pointer to physical (= virtual, identity-mapped) address a, hidden from gcc's bounds analysis
 * (it warns about fixed low addresses such as the BIOS data area). */
static inline void *phys(uint64_t a) { __asm__("" : "+r"(a)); return (void *)a; }
static inline uint64_t rd64(const void *p) { uint64_t v; __builtin_memcpy(&v, p, 8); return v; }
static inline uint32_t rd32(const void *p) { uint32_t v; __builtin_memcpy(&v, p, 4); return v; }
static inline uint16_t rd16(const void *p) { uint16_t v; __builtin_memcpy(&v, p, 2); return v; }

void *memset(void *d, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);

void putc_serial(char c);
void puts_serial(const char *s);
void printf_serial(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
_Noreturn void vm_exit(int status);

/* Command line (from the zero page's cmd_line_ptr): value of key=... as a pointer to the value's first
 * byte (ends at a space or NUL), or NULL; the n-th occurrence (0-based). */
const char *cmdline(const uint8_t *zp);
const char *cmdline_arg(const uint8_t *zp, const char *key, unsigned nth);
/* Parses a number (decimal, 0x hex, optional K/M/G suffix) at s; *end gets the first byte after it. */
uint64_t parse_num(const char *s, const char **end);

#endif
