/* mem.h — guest physical memory: one RAM region mapped in the host, bounds-checked access for
 * devices, and a dirty-page bitmap (4 KiB pages) for snapshots and migration. */
#ifndef VMK_MEM_H
#define VMK_MEM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define VMK_PAGE_SHIFT 12
#define VMK_PAGE_SIZE  (1u << VMK_PAGE_SHIFT)

typedef struct vmk_mem {
    uint8_t  *host;        /* host mapping of guest RAM */
    uint64_t  base;        /* guest-physical base (0x80000000 on RISC-V, 0 on x86) */
    uint64_t  size;        /* bytes, multiple of VMK_PAGE_SIZE */
    uint64_t *dirty;       /* one bit per page; set by vmk_mem_ptr_w and by engines on guest stores */
    bool      track_dirty; /* when false, engines may skip marking dirty */
} vmk_mem;

/* Maps size bytes of zeroed anonymous memory (MAP_NORESERVE). -1 with err on failure, including
 * a size larger than the host can give (checked against physical RAM + swap). */
int  vmk_mem_init(vmk_mem *m, uint64_t base, uint64_t size, char *err, size_t errlen);
void vmk_mem_free(vmk_mem *m);

/* Guest-physical range [gpa, gpa+len) to a host pointer, or NULL when any byte lies outside RAM
 * (including overflow of gpa+len). Every address a guest hands a device goes through these. */
static inline void *vmk_mem_ptr(const vmk_mem *m, uint64_t gpa, uint64_t len)
{
    if (gpa < m->base) return NULL;
    uint64_t off = gpa - m->base;
    if (off > m->size || len > m->size - off) return NULL;
    return m->host + off;
}
void vmk_mem_mark_dirty(vmk_mem *m, uint64_t gpa, uint64_t len);
/* As vmk_mem_ptr, for a range the caller is about to write: marks it dirty. */
static inline void *vmk_mem_ptr_w(vmk_mem *m, uint64_t gpa, uint64_t len)
{
    void *p = vmk_mem_ptr(m, gpa, len);
    if (p && m->track_dirty) vmk_mem_mark_dirty(m, gpa, len);
    return p;
}
/* Copy helpers: return 0, or -1 if the range is not entirely in RAM (nothing copied). */
int vmk_mem_read(const vmk_mem *m, uint64_t gpa, void *dst, uint64_t len);
int vmk_mem_write(vmk_mem *m, uint64_t gpa, const void *src, uint64_t len);

#endif
