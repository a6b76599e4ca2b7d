/* lib.c — the freestanding test guests' runtime (see lib.h). COM1 output polls LSR.THRE like a driver
 * without interrupts; vm_exit writes the status to vmkit's exit port 0x501 and halts if that returns. */
#include "lib.h"

#define COM1 0x3f8

void *memset(void *d, int c, size_t n) { uint8_t *p = d; while (n--) *p++ = (uint8_t)c; return d; }
void *memcpy(void *d, const void *s, size_t n) { uint8_t *p = d; const uint8_t *q = s; while (n--) *p++ = *q++; return d; }
int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *p = a, *q = b;
    for (; n; n--, p++, q++) if (*p != *q) return *p < *q ? -1 : 1;
    return 0;
}
size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }

void putc_serial(char c)
{
    if (c == '\n') putc_serial('\r');
    for (unsigned i = 0; i < 100000 && !(inb(COM1 + 5) & 0x20); i++) __asm__ volatile("pause");
    outb(COM1, (uint8_t)c);
}

void puts_serial(const char *s) { while (*s) putc_serial(*s++); }

static void put_num(uint64_t v, unsigned base, int width, char pad)
{
    char buf[24];
    int n = 0;
    do { buf[n++] = "0123456789abcdef"[v % base]; v /= base; } while (v);
    while (n < width) buf[n++] = pad;
    while (n) putc_serial(buf[--n]);
}

void printf_serial(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    for (; *fmt; fmt++) {
        if (*fmt != '%') { putc_serial(*fmt); continue; }
        fmt++;
        char pad = ' ';
        int width = 0, lng = 0;
        if (*fmt == '0') { pad = '0'; fmt++; }
        while (*fmt >= '0' && *fmt <= '9') width = width * 10 + (*fmt++ - '0');
        while (*fmt == 'l') { lng = 1; fmt++; }
        switch (*fmt) {
        case 'd': {
            int64_t v = lng ? va_arg(ap, int64_t) : va_arg(ap, int);
            if (v < 0) { putc_serial('-'); v = -v; }
            put_num((uint64_t)v, 10, width, pad);
            break;
        }
        case 'u': put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 10, width, pad); break;
        case 'x': put_num(lng ? va_arg(ap, uint64_t) : va_arg(ap, unsigned), 16, width, pad); break;
        case 's': { const char *s = va_arg(ap, const char *); puts_serial(s ? s : "(null)"); break; }
        case 'c': putc_serial((char)va_arg(ap, int)); break;
        case '%': putc_serial('%'); break;
        default: putc_serial('?'); break;
        }
    }
    va_end(ap);
}

_Noreturn void vm_exit(int status)
{
    outb(0x501, (uint8_t)status);
    for (;;) __asm__ volatile("cli; hlt");
}

const char *cmdline(const uint8_t *zp)
{
    uint32_t p = rd32(zp + 0x228);
    return p ? (const char *)(uint64_t)p : "";
}

const char *cmdline_arg(const uint8_t *zp, const char *key, unsigned nth)
{
    const char *c = cmdline(zp);
    size_t kl = strlen(key);
    for (const char *p = c; *p; ) {
        while (*p == ' ') p++;
        if (!memcmp(p, key, kl) && p[kl] == '=') {
            if (nth-- == 0) return p + kl + 1;
        }
        while (*p && *p != ' ') p++;
    }
    return NULL;
}

uint64_t parse_num(const char *s, const char **end)
{
    uint64_t v = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        for (;; s++) {
            unsigned d;
            if (*s >= '0' && *s <= '9') d = (unsigned)(*s - '0');
            else if (*s >= 'a' && *s <= 'f') d = (unsigned)(*s - 'a' + 10);
            else if (*s >= 'A' && *s <= 'F') d = (unsigned)(*s - 'A' + 10);
            else break;
            v = v * 16 + d;
        }
    } else {
        while (*s >= '0' && *s <= '9') v = v * 10 + (uint64_t)(*s++ - '0');
    }
    if (*s == 'K' || *s == 'k') { v <<= 10; s++; }
    else if (*s == 'M' || *s == 'm') { v <<= 20; s++; }
    else if (*s == 'G' || *s == 'g') { v <<= 30; s++; }
    if (end) *end = s;
    return v;
}
