/* mem.c — guest RAM mapping (anonymous or copy-on-write from a snapshot file), bounds-checked copies,
 * the dirty-page bitmap and the dirty log used by diff snapshots and live migration. */
#define _GNU_SOURCE
#include "mem.h"
#include "../base/base.h"
#include <stdatomic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <fcntl.h>
#include <unistd.h>

static int mem_map(vmk_mem *m, uint64_t base, uint64_t size, int fd, uint64_t offset, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    m->fd = -1;
    if (size == 0 || size % VMK_PAGE_SIZE) {
        vmk_seterr(err, errlen, "memory size %llu is not a positive multiple of 4 KiB", (unsigned long long)size);
        return -1;
    }
    struct sysinfo si;
    if (sysinfo(&si) == 0) {
        uint64_t avail = ((uint64_t)si.totalram + (uint64_t)si.totalswap) * si.mem_unit;
        if (size > avail) {
            vmk_seterr(err, errlen, "memory size %llu MiB is more than this host has (%llu MiB RAM+swap)",
                       (unsigned long long)(size >> 20), (unsigned long long)(avail >> 20));
            return -1;
        }
    }
    void *p = fd < 0 ? mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0)
                     : mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_NORESERVE, fd, (off_t)offset);
    if (p == MAP_FAILED) {
        vmk_seterr(err, errlen, "cannot map %llu MiB of guest memory: %s", (unsigned long long)(size >> 20),
                   strerror(errno));
        return -1;
    }
    uint64_t pages = size >> VMK_PAGE_SHIFT;
    m->dirty = calloc((pages + 63) / 64, sizeof(uint64_t));
    if (!m->dirty) {
        munmap(p, size);
        vmk_seterr(err, errlen, "out of memory for the dirty bitmap");
        return -1;
    }
    m->host = p;
    m->base = base;
    m->size = size;
    m->fd = fd;
    return 0;
}

int vmk_mem_init(vmk_mem *m, uint64_t base, uint64_t size, char *err, size_t errlen)
{
    return mem_map(m, base, size, -1, 0, err, errlen);
}

int vmk_mem_init_file(vmk_mem *m, uint64_t base, uint64_t size, int fd, uint64_t offset, char *err, size_t errlen)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        vmk_seterr(err, errlen, "memory file: %s", fd < 0 ? "no file" : strerror(errno));
        return -1;
    }
    if (offset % VMK_PAGE_SIZE || !S_ISREG(st.st_mode) || (uint64_t)st.st_size < offset ||
        (uint64_t)st.st_size - offset < size) {
        vmk_seterr(err, errlen, "memory file holds %llu bytes, the guest needs %llu (truncated snapshot?)",
                   (unsigned long long)st.st_size, (unsigned long long)(offset + size));
        return -1;
    }
    int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (dfd < 0) {
        vmk_seterr(err, errlen, "memory file: %s", strerror(errno));
        return -1;
    }
    if (mem_map(m, base, size, dfd, offset, err, errlen) < 0) {
        close(dfd);
        return -1;
    }
    return 0;
}

void vmk_mem_free(vmk_mem *m)
{
    if (m->host) munmap(m->host, m->size);
    if (m->fd >= 3) close(m->fd);     /* dup'ed to >= 3; a hand-built vmk_mem has 0 */
    free(m->dirty);
    free(m->log);
    memset(m, 0, sizeof(*m));
    m->fd = -1;
}

void vmk_mem_log_start(vmk_mem *m)
{
    uint64_t words = (vmk_mem_pages(m) + 63) / 64;
    if (!m->log) m->log = vmk_xcalloc(words, sizeof(uint64_t));
    else memset(m->log, 0, words * sizeof(uint64_t));
    atomic_thread_fence(memory_order_seq_cst);
    m->log_on = true;
}

void vmk_mem_log_stop(vmk_mem *m) { m->log_on = false; }

uint64_t vmk_mem_log_harvest(vmk_mem *m, uint64_t *out, bool accumulate)
{
    uint64_t words = (vmk_mem_pages(m) + 63) / 64, n = 0;
    for (uint64_t w = 0; w < words; w++) {
        uint64_t bits = m->log ? atomic_exchange_explicit((_Atomic uint64_t *)&m->log[w], 0, memory_order_acq_rel) : 0;
        n += (uint64_t)__builtin_popcountll(bits);
        out[w] = accumulate ? out[w] | bits : bits;
    }
    return n;
}

void vmk_mem_mark_dirty(vmk_mem *m, uint64_t gpa, uint64_t len)
{
    if (!len || gpa < m->base) return;
    uint64_t first = (gpa - m->base) >> VMK_PAGE_SHIFT;
    uint64_t last = (gpa - m->base + len - 1) >> VMK_PAGE_SHIFT;
    uint64_t pages = m->size >> VMK_PAGE_SHIFT;
    if (last >= pages) last = pages - 1;
    for (uint64_t pg = first; pg <= last; pg++)
        atomic_fetch_or_explicit((_Atomic uint64_t *)&m->dirty[pg / 64], 1ull << (pg % 64), memory_order_relaxed);
    if (m->log_on && m->log)
        for (uint64_t pg = first; pg <= last; pg++)
            atomic_fetch_or_explicit((_Atomic uint64_t *)&m->log[pg / 64], 1ull << (pg % 64), memory_order_relaxed);
}

int vmk_mem_read(const vmk_mem *m, uint64_t gpa, void *dst, uint64_t len)
{
    const void *p = vmk_mem_ptr(m, gpa, len);
    if (!p) return -1;
    memcpy(dst, p, len);
    return 0;
}

int vmk_mem_write(vmk_mem *m, uint64_t gpa, const void *src, uint64_t len)
{
    void *p = vmk_mem_ptr_w(m, gpa, len);
    if (!p) return -1;
    memcpy(p, src, len);
    return 0;
}
