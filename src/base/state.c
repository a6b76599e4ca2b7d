/* state.c — the state-serialisation primitives from base.h: a growable little-endian writer, a
 * bounded reader with a sticky error, CRC-32C, and durable whole-file writes (temp, fsync, rename). */
#include "base.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void sb_put(vmk_sbuf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t c = b->cap ? b->cap : 256;
        while (c < b->len + n) c *= 2;
        uint8_t *d = realloc(b->data, c);
        if (!d) abort();
        b->data = d;
        b->cap = c;
    }
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
}

static void sb_le(vmk_sbuf *b, uint64_t v, unsigned n)
{
    uint8_t t[8];
    for (unsigned i = 0; i < n; i++) t[i] = (uint8_t)(v >> (8 * i));
    sb_put(b, t, n);
}

void vmk_sb_u8(vmk_sbuf *b, uint8_t v) { sb_le(b, v, 1); }
void vmk_sb_u16(vmk_sbuf *b, uint16_t v) { sb_le(b, v, 2); }
void vmk_sb_u32(vmk_sbuf *b, uint32_t v) { sb_le(b, v, 4); }
void vmk_sb_u64(vmk_sbuf *b, uint64_t v) { sb_le(b, v, 8); }
void vmk_sb_bytes(vmk_sbuf *b, const void *p, size_t n) { sb_put(b, p, n); }
void vmk_sb_str(vmk_sbuf *b, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    vmk_sb_u32(b, (uint32_t)n);
    sb_put(b, s, n);
}
void vmk_sb_free(vmk_sbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

void vmk_sr_init(vmk_sread *r, const void *p, size_t len)
{
    memset(r, 0, sizeof(*r));
    r->p = p;
    r->len = len;
}

void vmk_sr_fail(vmk_sread *r, const char *fmt, ...)
{
    if (r->failed) return;
    r->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof(r->err), fmt, ap);
    va_end(ap);
}

static uint64_t sr_le(vmk_sread *r, unsigned n)
{
    if (r->failed) return 0;
    if (r->len - r->off < n) {
        vmk_sr_fail(r, "state is truncated (%zu bytes short at offset %zu)", n - (r->len - r->off), r->off);
        return 0;
    }
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)r->p[r->off + i] << (8 * i);
    r->off += n;
    return v;
}

uint8_t  vmk_sr_u8(vmk_sread *r) { return (uint8_t)sr_le(r, 1); }
uint16_t vmk_sr_u16(vmk_sread *r) { return (uint16_t)sr_le(r, 2); }
uint32_t vmk_sr_u32(vmk_sread *r) { return (uint32_t)sr_le(r, 4); }
uint64_t vmk_sr_u64(vmk_sread *r) { return sr_le(r, 8); }

bool vmk_sr_bytes(vmk_sread *r, void *dst, size_t n)
{
    if (r->failed) return false;
    if (r->len - r->off < n) {
        vmk_sr_fail(r, "state is truncated (%zu bytes short at offset %zu)", n - (r->len - r->off), r->off);
        return false;
    }
    if (n) memcpy(dst, r->p + r->off, n);
    r->off += n;
    return true;
}

bool vmk_sr_str(vmk_sread *r, char *dst, size_t dstlen)
{
    uint32_t n = vmk_sr_u32(r);
    if (r->failed) return false;
    if (dstlen == 0 || n > dstlen - 1) {
        vmk_sr_fail(r, "string of %u bytes is too long (limit %zu)", n, dstlen ? dstlen - 1 : 0);
        return false;
    }
    if (!vmk_sr_bytes(r, dst, n)) return false;
    dst[n] = 0;
    if (memchr(dst, 0, n)) {
        vmk_sr_fail(r, "string contains a NUL byte");
        return false;
    }
    return true;
}

/* CRC-32C (Castagnoli), reflected, table-driven (one table built on first use). */
static uint32_t crc_table[256];
static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (0x82F63B78u & (0u - (c & 1)));
        crc_table[i] = c;
    }
}

uint32_t vmk_crc32c(uint32_t crc, const void *p, size_t n)
{
    static int once;
    if (!__atomic_load_n(&once, __ATOMIC_ACQUIRE)) {
        crc_init();
        __atomic_store_n(&once, 1, __ATOMIC_RELEASE);
    }
    const uint8_t *s = p;
    crc = ~crc;
    while (n--) crc = crc_table[(crc ^ *s++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

int vmk_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen)
{
    size_t pl = strlen(path);
    char *tmp = vmk_xmalloc(pl + 16);
    snprintf(tmp, pl + 16, "%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        vmk_seterr(err, errlen, "cannot create %s: %s", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    const uint8_t *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            vmk_seterr(err, errlen, "cannot write %s: %s", tmp, w < 0 ? strerror(errno) : "short write");
            goto fail;
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0) {
        vmk_seterr(err, errlen, "cannot sync %s: %s", tmp, strerror(errno));
        goto fail;
    }
    close(fd);
    fd = -1;
    if (rename(tmp, path) != 0) {
        vmk_seterr(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        goto fail;
    }
    /* the rename itself must survive a crash: sync the directory */
    char *dir = vmk_xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash) { if (slash == dir) slash[1] = 0; else *slash = 0; } else strcpy(dir, ".");
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
    free(dir);
    free(tmp);
    return 0;
fail:
    if (fd >= 0) close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
}
