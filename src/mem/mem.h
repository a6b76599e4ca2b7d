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
    /* Dirty log for diff snapshots and live migration, separate from `dirty` (which the VM layer
     * consumes for code invalidation): vmk_mem_mark_dirty also sets these bits while log_on. */
    uint64_t *log;         /* one bit per page, (pages+63)/64 words; allocated by vmk_mem_log_start */
    bool      log_on;
    int       fd;          /* backing file (>= 3) when mapped by vmk_mem_init_file, else -1 or 0 */
} vmk_mem;

/* Maps size bytes of zeroed anonymous memory (MAP_NORESERVE). -1 with err on failure, including
 * a size larger than the host can give (checked against physical RAM + swap). */
int  vmk_mem_init(vmk_mem *m, uint64_t base, uint64_t size, char *err, size_t errlen);
void vmk_mem_free(vmk_mem *m);

/* Maps guest RAM from fd at offset (page-aligned) copy-on-write (MAP_PRIVATE): pages load on first
 * touch, guest writes never reach the file, and clones mapping the same file share unmodified pages
 * through the page cache. The file must hold at least size bytes from offset. -1 with err. */
int  vmk_mem_init_file(vmk_mem *m, uint64_t base, uint64_t size, int fd, uint64_t offset,
                       char *err, size_t errlen);

/* Dirty logging. Engines that cache writable translations (the software TLB, KVM's dirty log) must
 * be synchronised by the VM layer at the points it harvests: it pauses the engine, asks it to
 * publish/forget writable mappings, then harvests. start: allocates/clears the log and sets log_on. */
void     vmk_mem_log_start(vmk_mem *m);
void     vmk_mem_log_stop(vmk_mem *m);
/* Atomically moves the log into out ((pages+63)/64 words, OR-ed in when accumulate is true, else
 * overwritten) and clears it. Returns the number of pages that were set. */
uint64_t vmk_mem_log_harvest(vmk_mem *m, uint64_t *out, bool accumulate);
static inline uint64_t vmk_mem_pages(const vmk_mem *m) { return m->size >> VMK_PAGE_SHIFT; }

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
