/* mem.c — guest RAM mapping, bounds-checked copies and the dirty-page bitmap. */
#define _GNU_SOURCE
#include "mem.h"
#include "../base/base.h"
#include <stdatomic.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sysinfo.h>

int vmk_mem_init(vmk_mem *m, uint64_t base, uint64_t size, char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
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
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
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
    return 0;
}

void vmk_mem_free(vmk_mem *m)
{
    if (m->host) munmap(m->host, m->size);
    free(m->dirty);
    memset(m, 0, sizeof(*m));
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
