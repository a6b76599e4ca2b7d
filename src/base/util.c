/* util.c — small host-side helpers: size parsing, clocks, checked allocation, whole-file reads. */
#include "base.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int vmk_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s) return -1;
    uint64_t v = 0;
    const char *p = s;
    if (*p < '0' || *p > '9') return -1;
    while (*p >= '0' && *p <= '9') {
        uint64_t d = (uint64_t)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) return -1;
        v = v * 10 + d;
        p++;
    }
    unsigned shift = 0;
    switch (*p) {
    case 0: break;
    case 'k': case 'K': shift = 10; p++; break;
    case 'm': case 'M': shift = 20; p++; break;
    case 'g': case 'G': shift = 30; p++; break;
    case 't': case 'T': shift = 40; p++; break;
    default: return -1;
    }
    if (shift && (*p == 'i' || *p == 'I')) p++;          /* accept MiB, GiB */
    if (shift && (*p == 'b' || *p == 'B')) p++;
    if (*p) return -1;
    if (shift && v > (UINT64_MAX >> shift)) return -1;
    *out = v << shift;
    return 0;
}

uint64_t vmk_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static _Noreturn void oom(size_t n)
{
    fprintf(stderr, "vmkit: out of memory allocating %zu bytes\n", n);
    abort();
}

void *vmk_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) oom(n);
    return p;
}

void *vmk_xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n ? n : 1, sz ? sz : 1);
    if (!p) oom(n * sz);
    return p;
}

char *vmk_xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p) oom(strlen(s) + 1);
    return p;
}

uint8_t *vmk_read_file(const char *path, size_t maxlen, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vmk_seterr(err, errlen, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        vmk_seterr(err, errlen, "'%s' is not a regular file", path);
        close(fd);
        return NULL;
    }
    if ((uint64_t)st.st_size > maxlen) {
        vmk_seterr(err, errlen, "'%s' is too large (%lld bytes, at most %zu)", path, (long long)st.st_size, maxlen);
        close(fd);
        return NULL;
    }
    size_t n = (size_t)st.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        vmk_seterr(err, errlen, "out of memory reading '%s'", path);
        close(fd);
        return NULL;
    }
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            vmk_seterr(err, errlen, "cannot read '%s': %s", path, r < 0 ? strerror(errno) : "unexpected end of file");
            free(buf);
            close(fd);
            return NULL;
        }
        got += (size_t)r;
    }
    close(fd);
    *len = n;
    return buf;
}
