/* snapshot.c — snapshots, restores and clones of a VM: the state file format (framing in vm_impl.h),
 * the memory file, diff snapshots over the dirty log, the restore of a snapshot chain with memory
 * mapped copy-on-write, and clone set-up (disk overlays, fresh MACs).
 *
 * A snapshot directory holds:
 *   memory  a 4 KiB header ("VMKMEM1\0", u32 version, u32 page size, u64 RAM size, u64 snapshot id,
 *           u64 RAM base) then guest RAM at offset 4096 (sparse: all-zero pages are holes; a diff
 *           snapshot writes only the pages dirtied since its parent). Restore maps it MAP_PRIVATE.
 *   state   the framed state image: sections "config", "disks", "memory" (base, size, id matching
 *           the memory file's header, diff flag), for a diff "parent" (absolute directory + the
 *           parent's state CRC) and "dirtymap" (page bitmap), then "engine" and one "devN:<name>"
 *           per virtio device.
 * Both are written to NAME.tmp, fsynced and renamed, "memory" first and "state" last. The id ties
 * them. An earlier snapshot's memory is first hard-linked as memory-<its id> and unlinked once the
 * new state is in: a crash between the two renames leaves the old state, whose memory restore finds
 * under that name, so the earlier snapshot survives. A directory without a valid state is not a
 * snapshot; a state whose memory file is missing or has another id is refused.
 * The memory itself has no checksum: restore-to-running would have to read all of it (the file
 * records its size and id; the state has both CRCs). */
#include "vm_impl.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#define MEM_HDR_LEN   4096u
#define MEM_MAGIC     "VMKMEM1"          /* + NUL */
#define STATE_MAX     (64u << 20)
#define CHAIN_MAX     32
#define RUN_MAX_PAGES 4096u              /* 16 MiB per pwrite/pread */
#define STR_MAX       4096u

/* ---------------- framing ---------------- */

static void put_le(uint8_t *p, uint64_t v, unsigned n) { for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint64_t get_le(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}

void vm_sf_begin(vmk_sbuf *b, const char *engine, uint32_t flags)
{
    char e[16] = { 0 };
    snprintf(e, sizeof(e), "%s", engine);
    b->len = 0;
    vmk_sb_bytes(b, VM_SNAP_MAGIC, 8);
    vmk_sb_u32(b, VM_SNAP_VERSION);
    vmk_sb_u32(b, flags);
    vmk_sb_u64(b, 0);                    /* total length, patched by vm_sf_end */
    vmk_sb_bytes(b, e, 16);
}

size_t vm_sf_sec_begin(vmk_sbuf *b, const char *name, uint16_t version)
{
    size_t n = strlen(name);
    if (n < 1 || n > 31) abort();        /* names are compile-time constants */
    vmk_sb_u8(b, (uint8_t)n);
    vmk_sb_bytes(b, name, n);
    vmk_sb_u16(b, version);
    vmk_sb_u64(b, 0);
    vmk_sb_u32(b, 0);
    return b->len;
}

void vm_sf_sec_end(vmk_sbuf *b, size_t h)
{
    put_le(b->data + h - 12, b->len - h, 8);
    put_le(b->data + h - 4, vmk_crc32c(0, b->data + h, b->len - h), 4);
}

uint32_t vm_sf_end(vmk_sbuf *b)
{
    put_le(b->data + 16, b->len + 4, 8);
    uint32_t crc = vmk_crc32c(0, b->data, b->len);
    vmk_sb_u32(b, crc);
    return crc;
}

int vm_sf_open(vm_sf *f, const void *p, size_t len, char *err, size_t errlen)
{
    memset(f, 0, sizeof(*f));
    const uint8_t *d = p;
    if (len < 8 || memcmp(d, VM_SNAP_MAGIC, 8)) {
        vmk_seterr(err, errlen, "has no vmkit snapshot magic (not a snapshot state file)");
        return -1;
    }
    if (len < 12) {
        vmk_seterr(err, errlen, "is truncated (%zu bytes)", len);
        return -1;
    }
    f->version = (uint32_t)get_le(d + 8, 4);
    if (f->version != VM_SNAP_VERSION) {
        vmk_seterr(err, errlen, "format version %u is not supported (this vmkit reads version %u)", f->version,
                   VM_SNAP_VERSION);
        return -1;
    }
    if (len < VM_SNAP_HDR_LEN + 4) {
        vmk_seterr(err, errlen, "is truncated (%zu bytes)", len);
        return -1;
    }
    f->flags = (uint32_t)get_le(d + 12, 4);
    uint64_t total = get_le(d + 16, 8);
    memcpy(f->engine, d + 24, 16);
    f->engine[16] = 0;
    size_t el = strnlen(f->engine, 16);
    for (size_t i = 0; i < 16; i++)
        if ((i < el && (d[24 + i] < 0x21 || d[24 + i] > 0x7e)) || (i >= el && d[24 + i])) {
            vmk_seterr(err, errlen, "is corrupt (bad engine name)");
            return -1;
        }
    if (total != len) {
        if (len < total) vmk_seterr(err, errlen, "is truncated (%zu of %llu bytes)", len, (unsigned long long)total);
        else vmk_seterr(err, errlen, "is corrupt (%zu bytes, the header says %llu)", len, (unsigned long long)total);
        return -1;
    }
    f->crc = (uint32_t)get_le(d + len - 4, 4);
    if (vmk_crc32c(0, d, len - 4) != f->crc) {
        vmk_seterr(err, errlen, "is corrupt (checksum mismatch)");
        return -1;
    }
    if (f->flags & ~VM_SNAP_F_DIFF) {
        vmk_seterr(err, errlen, "uses features this vmkit does not know (flags 0x%x)", f->flags);
        return -1;
    }
    if (!el) {
        vmk_seterr(err, errlen, "is corrupt (no engine name)");
        return -1;
    }
    f->p = d;
    f->len = len;
    f->off = VM_SNAP_HDR_LEN;
    return 0;
}

int vm_sf_next(vm_sf *f, vm_sf_sec *s, char *err, size_t errlen)
{
    size_t end = f->len - 4, o = f->off;
    if (o == end) return 0;
    const uint8_t *d = f->p;
    unsigned nl = d[o];
    if (nl < 1 || nl > 31 || end - o < 1 + (size_t)nl + 14) {
        vmk_seterr(err, errlen, "is corrupt (bad section header at offset %zu)", o);
        return -1;
    }
    memcpy(s->name, d + o + 1, nl);
    s->name[nl] = 0;
    for (unsigned i = 0; i < nl; i++)
        if (s->name[i] < 0x21 || s->name[i] > 0x7e) {
            vmk_seterr(err, errlen, "is corrupt (bad section name at offset %zu)", o);
            return -1;
        }
    o += 1 + nl;
    s->version = (uint16_t)get_le(d + o, 2);
    uint64_t sl = get_le(d + o + 2, 8);
    uint32_t crc = (uint32_t)get_le(d + o + 10, 4);
    o += 14;
    if (sl > end - o) {
        vmk_seterr(err, errlen, "is corrupt (section %s runs past the end)", s->name);
        return -1;
    }
    s->p = d + o;
    s->len = (size_t)sl;
    if (vmk_crc32c(0, s->p, s->len) != crc) {
        vmk_seterr(err, errlen, "is corrupt (section %s checksum mismatch)", s->name);
        return -1;
    }
    f->off = o + s->len;
    return 1;
}

int vm_sf_find(const vm_sf *f, const char *name, vm_sf_sec *s, char *err, size_t errlen)
{
    vm_sf it = *f;
    it.off = VM_SNAP_HDR_LEN;
    int k;
    while ((k = vm_sf_next(&it, s, err, errlen)) == 1)
        if (!strcmp(s->name, name)) return 1;
    return k;
}

/* ---------------- sections ---------------- */

static void put_config(vmk_sbuf *b, const vmk_vm_config *c)
{
    size_t h = vm_sf_sec_begin(b, "config", 1);
    vmk_sb_u64(b, c->mem_size);
    vmk_sb_u32(b, c->ncpus);
    vmk_sb_u8(b, c->no_rng);
    vmk_sb_str(b, c->bios);
    vmk_sb_str(b, c->kernel);
    vmk_sb_str(b, c->initrd);
    vmk_sb_str(b, c->cmdline);
    vmk_sb_u32(b, c->ndisks);
    for (unsigned i = 0; i < c->ndisks; i++) {
        vmk_sb_str(b, c->disks[i].path);
        vmk_sb_u8(b, c->disks[i].readonly);
    }
    vmk_sb_u32(b, c->nnets);
    for (unsigned i = 0; i < c->nnets; i++) vmk_sb_str(b, c->nets[i]);
    vm_sf_sec_end(b, h);
}

static char *rd_str(vmk_sread *r, bool empty_is_null)
{
    char buf[STR_MAX];
    if (!vmk_sr_str(r, buf, sizeof(buf))) return NULL;
    return empty_is_null && !buf[0] ? NULL : vmk_xstrdup(buf);
}

/* Fills c (strings malloc'd: vm_cfg_free) from the config section; c->engine is set by the caller. */
static int get_config(const vm_sf *f, vmk_vm_config *c, char *err, size_t errlen)
{
    vm_sf_sec s;
    memset(c, 0, sizeof(*c));
    int k = vm_sf_find(f, "config", &s, err, errlen);
    if (k <= 0) {
        if (!k) vmk_seterr(err, errlen, "is corrupt (no config section)");
        return -1;
    }
    if (s.version != 1) {
        vmk_seterr(err, errlen, "config section version %u is not supported", s.version);
        return -1;
    }
    vmk_sread r;
    vmk_sr_init(&r, s.p, s.len);
    c->mem_size = vmk_sr_u64(&r);
    c->ncpus = vmk_sr_u32(&r);
    c->no_rng = vmk_sr_u8(&r) != 0;
    c->bios = rd_str(&r, true);
    c->kernel = rd_str(&r, true);
    c->initrd = rd_str(&r, true);
    c->cmdline = rd_str(&r, true);
    uint32_t nd = vmk_sr_u32(&r);
    if (vmk_sr_ok(&r) && nd > VMK_VM_MAX_DISKS) vmk_sr_fail(&r, "%u disks (at most %d)", nd, VMK_VM_MAX_DISKS);
    for (uint32_t i = 0; vmk_sr_ok(&r) && i < nd; i++) {
        c->disks[i].path = rd_str(&r, false);
        c->disks[i].readonly = vmk_sr_u8(&r) != 0;
        c->ndisks = i + 1;
    }
    uint32_t nn = vmk_sr_u32(&r);
    if (vmk_sr_ok(&r) && nn > VMK_VM_MAX_NETS) vmk_sr_fail(&r, "%u networks (at most %d)", nn, VMK_VM_MAX_NETS);
    for (uint32_t i = 0; vmk_sr_ok(&r) && i < nn; i++) {
        c->nets[i] = rd_str(&r, false);
        c->nnets = i + 1;
    }
    if (vmk_sr_ok(&r) && (c->mem_size == 0 || c->mem_size % VMK_PAGE_SIZE || c->mem_size > (1ull << 40)))
        vmk_sr_fail(&r, "bad memory size %llu", (unsigned long long)c->mem_size);
    if (vmk_sr_ok(&r) && (c->ncpus < 1 || c->ncpus > 1024)) vmk_sr_fail(&r, "bad CPU count %u", c->ncpus);
    if (vmk_sr_ok(&r) && !vmk_sr_done(&r)) vmk_sr_fail(&r, "%zu unexpected bytes", r.len - r.off);
    if (!vmk_sr_ok(&r)) {
        vmk_seterr(err, errlen, "has a corrupt config section: %s", r.err);
        vm_cfg_free(c);
        return -1;
    }
    return 0;
}

static uint64_t mtime_ns(const struct stat *st) { return (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec; }

/* Each disk flushed to stable storage (the snapshot relies on what the guest wrote) and recorded.
 * fdatasync from here covers raw images; a copy-on-write overlay also keeps its cluster bitmap in
 * the device until the guest's next flush, which only the device can write (virtio blk_save). */
static int put_disks(vmk_sbuf *b, const vmk_vm_config *c, char *err, size_t errlen)
{
    size_t h = vm_sf_sec_begin(b, "disks", 1);
    vmk_sb_u32(b, c->ndisks);
    for (unsigned i = 0; i < c->ndisks; i++) {
        struct stat st;
        int fd = open(c->disks[i].path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fdatasync(fd) != 0 || fstat(fd, &st) != 0) {
            vmk_seterr(err, errlen, "disk %s: %s", c->disks[i].path, strerror(errno));
            if (fd >= 0) close(fd);
            return -1;
        }
        close(fd);
        vmk_sb_str(b, c->disks[i].path);
        vmk_sb_u64(b, (uint64_t)st.st_size);
        vmk_sb_u64(b, mtime_ns(&st));
        vmk_sb_u64(b, (uint64_t)st.st_ino);
    }
    vm_sf_sec_end(b, h);
    return 0;
}

static int check_disks(const vm_sf *f, const char *const *over, char *err, size_t errlen)
{
    vm_sf_sec s;
    int k = vm_sf_find(f, "disks", &s, err, errlen);
    if (k <= 0) {
        if (!k) vmk_seterr(err, errlen, "state file is corrupt (no disks section)");
        return -1;
    }
    vmk_sread r;
    vmk_sr_init(&r, s.p, s.len);
    uint32_t n = vmk_sr_u32(&r);
    if (n > VMK_VM_MAX_DISKS) vmk_sr_fail(&r, "%u disks", n);
    for (uint32_t i = 0; vmk_sr_ok(&r) && i < n; i++) {
        char path[STR_MAX];
        vmk_sr_str(&r, path, sizeof(path));
        uint64_t size = vmk_sr_u64(&r), mt = vmk_sr_u64(&r);
        (void)vmk_sr_u64(&r);            /* inode: informational (a copied disk keeps size and mtime) */
        if (!vmk_sr_ok(&r)) break;
        if (over[i]) snprintf(path, sizeof(path), "%s", over[i]);
        struct stat st;
        if (stat(path, &st) != 0) {
            vmk_seterr(err, errlen, "disk %s of the snapshot: %s", path, strerror(errno));
            return -1;
        }
        if ((uint64_t)st.st_size != size || mtime_ns(&st) != mt) {
            vmk_seterr(err, errlen, "disk %s changed since the snapshot (size/mtime); pass --force-disks to use it anyway", path);
            return -1;
        }
    }
    if (!vmk_sr_done(&r)) {
        vmk_seterr(err, errlen, "state file has a corrupt disks section: %s", r.failed ? r.err : "unexpected bytes");
        return -1;
    }
    return 0;
}

static int save_machine(vmk_vm *vm, vmk_sbuf *b, char *err, size_t errlen)
{
    size_t h = vm_sf_sec_begin(b, "engine", 1);
    if (vm->eng->save(vm->e, b) < 0) {
        vmk_seterr(err, errlen, "the %s engine could not save its state", vm->eng->name);
        return -1;
    }
    vm_sf_sec_end(b, h);
    for (unsigned i = 0; i < vm->ndevs; i++) {
        char name[32];
        snprintf(name, sizeof(name), "dev%u:%s", i, virtio_dev_name(vm->devs[i]));
        h = vm_sf_sec_begin(b, name, 1);
        if (virtio_dev_save(vm->devs[i], b) < 0) {
            vmk_seterr(err, errlen, "device %s could not save its state", name);
            return -1;
        }
        vm_sf_sec_end(b, h);
    }
    return 0;
}

static int load_machine(vmk_vm *vm, const vm_sf *f, char *err, size_t errlen)
{
    char e2[VMK_ERRLEN];
    vm_sf_sec s;
    int k = vm_sf_find(f, "engine", &s, err, errlen);
    if (k <= 0) {
        if (!k) vmk_seterr(err, errlen, "state file is corrupt (no engine section)");
        return -1;
    }
    vmk_sread r;
    vmk_sr_init(&r, s.p, s.len);
    e2[0] = 0;
    if (s.version != 1 || vm->eng->load(vm->e, &r, e2, sizeof(e2)) < 0 || !vmk_sr_done(&r)) {
        vmk_seterr(err, errlen, "engine state rejected: %s", s.version != 1 ? "unknown section version"
                   : e2[0] ? e2 : r.failed ? r.err : "unexpected bytes at the end");
        return -1;
    }
    unsigned ndev = 0;
    vm_sf it = *f;
    it.off = VM_SNAP_HDR_LEN;
    while ((k = vm_sf_next(&it, &s, err, errlen)) == 1)
        if (!strncmp(s.name, "dev", 3)) ndev++;
    if (k < 0) return -1;
    if (ndev != vm->ndevs) {
        vmk_seterr(err, errlen, "state file is corrupt (state for %u devices, the config has %u)", ndev, vm->ndevs);
        return -1;
    }
    for (unsigned i = 0; i < vm->ndevs; i++) {
        char name[32];
        snprintf(name, sizeof(name), "dev%u:%s", i, virtio_dev_name(vm->devs[i]));
        k = vm_sf_find(f, name, &s, err, errlen);
        if (k <= 0) {
            if (!k) vmk_seterr(err, errlen, "state file is corrupt (no state for device %s)", name);
            return -1;
        }
        vmk_sr_init(&r, s.p, s.len);
        e2[0] = 0;
        if (s.version != 1 || virtio_dev_load(vm->devs[i], &r, e2, sizeof(e2)) < 0 || !vmk_sr_done(&r)) {
            vmk_seterr(err, errlen, "device %s state rejected: %s", name, s.version != 1 ? "unknown section version"
                       : e2[0] ? e2 : r.failed ? r.err : "unexpected bytes at the end");
            return -1;
        }
    }
    return 0;
}

/* ---------------- memory file ---------------- */

static bool page_is_zero(const uint8_t *p)
{
    const uint64_t *q = (const uint64_t *)(const void *)p;
    uint64_t acc = 0;
    for (unsigned i = 0; i < VMK_PAGE_SIZE / 8; i += 8)
        acc |= q[i] | q[i + 1] | q[i + 2] | q[i + 3] | q[i + 4] | q[i + 5] | q[i + 6] | q[i + 7];
    return acc == 0;
}

static int pwrite_all(int fd, const uint8_t *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t w = pwrite(fd, p, n, (off_t)off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return w < 0 ? errno : EIO;
        p += w;
        n -= (size_t)w;
        off += (uint64_t)w;
    }
    return 0;
}

static int pread_all(int fd, uint8_t *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return errno;
        if (r == 0) { memset(p, 0, n); return 0; }   /* past EOF of a sparse file: zeros */
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static bool map_bit(const uint64_t *map, uint64_t pg) { return !map || (map[pg / 64] >> (pg % 64) & 1); }

/* Guest pages known to be zero without reading them: not backed by the host (neither present nor
 * swapped in /proc/self/pagemap) and, for RAM mapped from a snapshot's memory file (restore), in a
 * hole of that file (SEEK_DATA/SEEK_HOLE). One bit each in the result (malloc'd), so the writer
 * neither scans them nor faults them in. NULL when unknown. */
static uint64_t *file_data_pages(const vmk_mem *m)
{
    uint8_t mg[8];
    if (pread(m->fd, mg, 8, 0) != 8 || memcmp(mg, MEM_MAGIC, 8)) return NULL;   /* mapped at MEM_HDR_LEN */
    uint64_t *data = vmk_xcalloc((vmk_mem_pages(m) + 63) / 64, sizeof(uint64_t));
    off_t pos = MEM_HDR_LEN, end = (off_t)(MEM_HDR_LEN + m->size);
    while (pos < end) {
        off_t d = lseek(m->fd, pos, SEEK_DATA);
        if (d < 0 && errno == ENXIO) break;
        off_t h = d < 0 ? -1 : lseek(m->fd, d, SEEK_HOLE);
        if (h < 0) { free(data); return NULL; }
        if (d >= end) break;
        if (h > end) h = end;
        for (uint64_t pg = (uint64_t)(d - MEM_HDR_LEN) / VMK_PAGE_SIZE;
             pg < ((uint64_t)(h - MEM_HDR_LEN) + VMK_PAGE_SIZE - 1) / VMK_PAGE_SIZE; pg++)
            data[pg / 64] |= 1ull << (pg % 64);
        pos = h;
    }
    return data;
}

static uint64_t *untouched_pages(const vmk_mem *m, bool file_holes_ok)
{
    uint64_t *data = NULL;
    if (m->fd >= 0 && (!file_holes_ok || !(data = file_data_pages(m)))) return NULL;
    int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    if (fd < 0) { free(data); return NULL; }
    uint64_t pages = vmk_mem_pages(m), chunk = 8192;
    uint64_t *out = vmk_xcalloc((pages + 63) / 64, sizeof(uint64_t)), *ent = vmk_xmalloc(chunk * 8);
    uint64_t first = (uint64_t)(uintptr_t)m->host / VMK_PAGE_SIZE;
    bool ok = sysconf(_SC_PAGESIZE) == VMK_PAGE_SIZE;
    for (uint64_t pg = 0; ok && pg < pages; pg += chunk) {
        uint64_t n = pages - pg < chunk ? pages - pg : chunk;
        if (pread_all(fd, (uint8_t *)ent, n * 8, (first + pg) * 8) != 0) ok = false;
        for (uint64_t i = 0; ok && i < n; i++) {
            uint64_t p = pg + i;
            if (!(ent[i] >> 62) && !(data && (data[p / 64] >> (p % 64) & 1)))   /* 63 present, 62 swapped */
                out[p / 64] |= 1ull << (p % 64);
        }
    }
    close(fd);
    free(ent);
    free(data);
    if (!ok) { free(out); return NULL; }
    return out;
}

/* Writes the memory file to path: header, then the selected (map, or all when NULL) non-zero pages. */
static int write_memory(const vmk_mem *m, bool file_holes_ok, const char *path, uint64_t id, const uint64_t *map,
                        uint64_t *written, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        vmk_seterr(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    uint8_t hdr[MEM_HDR_LEN];
    memset(hdr, 0, sizeof(hdr));
    memcpy(hdr, MEM_MAGIC, 8);
    put_le(hdr + 8, 1, 4);
    put_le(hdr + 12, VMK_PAGE_SIZE, 4);
    put_le(hdr + 16, m->size, 8);
    put_le(hdr + 24, id, 8);
    put_le(hdr + 32, m->base, 8);
    int e = ftruncate(fd, (off_t)(MEM_HDR_LEN + m->size)) ? errno : 0;
    if (!e) e = pwrite_all(fd, hdr, sizeof(hdr), 0);
    uint64_t pages = vmk_mem_pages(m), n = 0;
    uint64_t *none = map ? NULL : untouched_pages(m, file_holes_ok);
#define SKIP_PAGE(p) (!map_bit(map, p) || (none && (none[(p) / 64] >> ((p) % 64) & 1)) || \
                      page_is_zero(m->host + ((p) << VMK_PAGE_SHIFT)))
    for (uint64_t pg = 0; !e && pg < pages;) {
        if (pg % 64 == 0 && ((map && !map[pg / 64]) || (none && none[pg / 64] == ~0ull))) { pg += 64; continue; }
        if (SKIP_PAGE(pg)) { pg++; continue; }
        uint64_t end = pg + 1;
        while (end < pages && end - pg < RUN_MAX_PAGES && !SKIP_PAGE(end)) end++;
#undef SKIP_PAGE
        e = pwrite_all(fd, m->host + (pg << VMK_PAGE_SHIFT), (end - pg) << VMK_PAGE_SHIFT,
                       MEM_HDR_LEN + (pg << VMK_PAGE_SHIFT));
        n += end - pg;
        pg = end;
    }
    free(none);
    if (!e && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    if (e) {
        vmk_seterr(err, errlen, "cannot write %s: %s", path, strerror(e));
        return -1;
    }
    *written = n;
    return 0;
}

static int write_state(const char *path, const vmk_sbuf *b, char *err, size_t errlen)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        vmk_seterr(err, errlen, "cannot create %s: %s", path, strerror(errno));
        return -1;
    }
    int e = pwrite_all(fd, b->data, b->len, 0);
    if (!e && fsync(fd) != 0) e = errno;
    if (close(fd) != 0 && !e) e = errno;
    if (e) {
        vmk_seterr(err, errlen, "cannot write %s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

static uint64_t random_u64(void)
{
    uint64_t v = 0;
    if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) v = vmk_now_ns() ^ ((uint64_t)getpid() << 32);
    return v;
}

static void sync_dir(const char *dir)
{
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) { fsync(dfd); close(dfd); }
}

/* The id in a memory file's header; -1 when it is not one. */
static int mem_file_id(const char *path, uint64_t *id)
{
    uint8_t hdr[32];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    int e = pread_all(fd, hdr, sizeof(hdr), 0);
    close(fd);
    if (e || memcmp(hdr, MEM_MAGIC, 8)) return -1;
    *id = get_le(hdr + 24, 8);
    return 0;
}

/* ---------------- snapshot ---------------- */

int vmk_vm_snapshot(vmk_vm *vm, const char *dir, const vmk_snapshot_opts *o, char *err, size_t errlen)
{
    static const vmk_snapshot_opts dflt;
    if (!o) o = &dflt;
    if (!vm->eng->save || !vm->eng->pause || !vm->eng->dirty_sync) {
        vmk_seterr(err, errlen, "the %s engine cannot take snapshots in this vmkit", vm->eng->name);
        return -1;
    }
    pthread_mutex_lock(&vm->snap_mtx);
    int rc = -1;
    bool paused = false, was_paused = false;
    uint64_t *map = NULL;
    vmk_sbuf b = { 0 };
    char adir[PATH_MAX], mem_tmp[PATH_MAX + 16], mem_path[PATH_MAX + 16], st_tmp[PATH_MAX + 16], st_path[PATH_MAX + 16];
    mem_tmp[0] = st_tmp[0] = 0;
    if (!atomic_load(&vm->running)) {
        vmk_seterr(err, errlen, "the VM is not running");
        goto out;
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
        vmk_seterr(err, errlen, "cannot create snapshot directory %s: %s", dir, strerror(errno));
        goto out;
    }
    struct stat dst;
    if (!realpath(dir, adir) || stat(adir, &dst) != 0) {
        vmk_seterr(err, errlen, "snapshot directory %s: %s", dir, strerror(errno));
        goto out;
    }
    if (!S_ISDIR(dst.st_mode)) {
        vmk_seterr(err, errlen, "snapshot directory %s: not a directory", dir);
        goto out;
    }
    if (o->diff && !vm->has_snapshot_base) {
        vmk_seterr(err, errlen, "no earlier snapshot of this VM to diff against (take a full snapshot first)");
        goto out;
    }
    if (o->diff && !strcmp(adir, vm->last_snap_dir)) {
        vmk_seterr(err, errlen, "a diff snapshot needs a directory other than its parent's (%s)", adir);
        goto out;
    }
    snprintf(mem_path, sizeof(mem_path), "%s/memory", adir);
    snprintf(st_path, sizeof(st_path), "%s/state", adir);

    was_paused = vmk_vm_is_paused(vm);
    vmk_vm_pause(vm);
    paused = true;
    if (!atomic_load(&vm->running)) {
        vmk_seterr(err, errlen, "the VM stopped");
        goto out;
    }
    uint64_t t0 = vmk_now_ns();
    vm->eng->dirty_sync(vm->e);
    uint64_t words = (vmk_mem_pages(&vm->mem) + 63) / 64;
    if (o->diff) {
        map = vmk_xcalloc(words, sizeof(uint64_t));
        vmk_mem_log_harvest(&vm->mem, map, false);
    }
    uint64_t id = random_u64();
    vm_sf_begin(&b, vm->eng->name, o->diff ? VM_SNAP_F_DIFF : 0);
    put_config(&b, &vm->cfg);
    /* each writable disk's data and overlay bitmap durable before its size/mtime are recorded */
    for (unsigned i = 0; i < vm->ndevs; i++)
        if (vm->dev_kind[i] == VM_DEV_BLK && virtio_blk_flush(vm->devs[i], err, errlen) < 0) goto out;
    if (put_disks(&b, &vm->cfg, err, errlen) < 0) goto out;
    size_t h = vm_sf_sec_begin(&b, "memory", 1);
    vmk_sb_u64(&b, vm->mem.base);
    vmk_sb_u64(&b, vm->mem.size);
    vmk_sb_u32(&b, VMK_PAGE_SIZE);
    vmk_sb_u64(&b, id);
    vmk_sb_u8(&b, o->diff);
    vm_sf_sec_end(&b, h);
    if (o->diff) {
        h = vm_sf_sec_begin(&b, "parent", 1);
        vmk_sb_str(&b, vm->last_snap_dir);
        vmk_sb_u32(&b, vm->last_snap_crc);
        vm_sf_sec_end(&b, h);
        h = vm_sf_sec_begin(&b, "dirtymap", 1);
        vmk_sb_u64(&b, words);
        for (uint64_t w = 0; w < words; w++) vmk_sb_u64(&b, map[w]);
        vm_sf_sec_end(&b, h);
    }
    if (save_machine(vm, &b, err, errlen) < 0) goto out;
    uint32_t crc = vm_sf_end(&b);

    snprintf(mem_tmp, sizeof(mem_tmp), "%s/memory.tmp", adir);
    snprintf(st_tmp, sizeof(st_tmp), "%s/state.tmp", adir);
    uint64_t written = 0;
    if (write_memory(&vm->mem, !vm->mem_overlaid, mem_tmp, id, map, &written, err, errlen) < 0) goto out;
    if (write_state(st_tmp, &b, err, errlen) < 0) goto out;
    /* an earlier snapshot here keeps its memory reachable as memory-<id> until the new state is in */
    char keep[PATH_MAX + 40];
    keep[0] = 0;
    uint64_t old_id;
    if (mem_file_id(mem_path, &old_id) == 0) {
        snprintf(keep, sizeof(keep), "%s/memory-%016llx", adir, (unsigned long long)old_id);
        unlink(keep);
        if (link(mem_path, keep) != 0) keep[0] = 0;
        else sync_dir(adir);
    }
    if (rename(mem_tmp, mem_path) != 0 || rename(st_tmp, st_path) != 0) {
        vmk_seterr(err, errlen, "cannot rename the snapshot files in %s: %s", adir, strerror(errno));
        goto out;
    }
    mem_tmp[0] = st_tmp[0] = 0;
    sync_dir(adir);
    if (keep[0]) unlink(keep);
    if (!o->diff) vmk_mem_log_start(&vm->mem);    /* diffs are relative to this snapshot from now on */
    vm->has_snapshot_base = true;
    free(vm->last_snap_dir);
    vm->last_snap_dir = vmk_xstrdup(adir);
    vm->last_snap_crc = crc;
    vmk_info("snapshot %s: %s, %llu pages written, %.1f ms paused", adir, o->diff ? "diff" : "full",
             (unsigned long long)written, (double)(vmk_now_ns() - t0) / 1e6);
    rc = 0;
out:
    if (mem_tmp[0]) unlink(mem_tmp);
    if (st_tmp[0]) unlink(st_tmp);
    if (rc < 0 && map)                 /* the harvested pages still differ from the parent: log them again */
        for (uint64_t w = 0; w < (vmk_mem_pages(&vm->mem) + 63) / 64; w++)
            if (map[w] && vm->mem.log)
                atomic_fetch_or_explicit((_Atomic uint64_t *)&vm->mem.log[w], map[w], memory_order_relaxed);
    if (paused && !(rc == 0 && o->leave_paused && !was_paused)) vmk_vm_resume(vm);
    free(map);
    vmk_sb_free(&b);
    pthread_mutex_unlock(&vm->snap_mtx);
    return rc;
}

/* ---------------- restore ---------------- */

typedef struct snap_img {
    char dir[PATH_MAX];
    uint8_t *data;
    vm_sf f;
    uint64_t mem_base, mem_size, mem_id;
    bool diff;
    uint64_t *map;                 /* diff: page bitmap */
    char parent[PATH_MAX];
    uint32_t parent_crc;
} snap_img;

static void img_free(snap_img *im)
{
    free(im->data);
    free(im->map);
    im->data = NULL;
    im->map = NULL;
}

static int img_load(snap_img *im, const char *dir, char *err, size_t errlen)
{
    char e2[VMK_ERRLEN], path[PATH_MAX + 16];
    memset(im, 0, sizeof(*im));
    struct stat st;
    if (!realpath(dir, im->dir) || stat(im->dir, &st) != 0) {
        vmk_seterr(err, errlen, "snapshot %s: %s", dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        vmk_seterr(err, errlen, "snapshot %s: not a directory", dir);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/state", im->dir);
    if (stat(path, &st) != 0) {
        vmk_seterr(err, errlen, "%s is not a snapshot (no state file)", dir);
        return -1;
    }
    size_t len;
    if (!(im->data = vmk_read_file(path, STATE_MAX, &len, e2, sizeof(e2)))) {
        vmk_seterr(err, errlen, "snapshot %s: %s", dir, e2);
        return -1;
    }
    if (vm_sf_open(&im->f, im->data, len, e2, sizeof(e2)) < 0) {
        vmk_seterr(err, errlen, "snapshot %s: state file %s", dir, e2);
        return -1;
    }
    vmk_engine_kind kind;
    if (vmk_engine_parse(im->f.engine, &kind) < 0) {
        vmk_seterr(err, errlen, "snapshot %s is for engine '%s', which this vmkit does not have", dir, im->f.engine);
        return -1;
    }
    if (!vm_engine_for(kind)->load) {
        vmk_seterr(err, errlen, "snapshot %s is for the %s engine, which cannot restore snapshots in this vmkit", dir,
                   im->f.engine);
        return -1;
    }
    vm_sf_sec s;
    int k = vm_sf_find(&im->f, "memory", &s, e2, sizeof(e2));
    if (k <= 0) {
        vmk_seterr(err, errlen, "snapshot %s: state file %s", dir, k ? e2 : "is corrupt (no memory section)");
        return -1;
    }
    vmk_sread r;
    vmk_sr_init(&r, s.p, s.len);
    im->mem_base = vmk_sr_u64(&r);
    im->mem_size = vmk_sr_u64(&r);
    uint32_t ps = vmk_sr_u32(&r);
    im->mem_id = vmk_sr_u64(&r);
    im->diff = vmk_sr_u8(&r) != 0;
    if (!vmk_sr_done(&r) || ps != VMK_PAGE_SIZE || !im->mem_size || im->mem_size % VMK_PAGE_SIZE ||
        im->mem_size > (1ull << 40) || im->diff != !!(im->f.flags & VM_SNAP_F_DIFF)) {
        vmk_seterr(err, errlen, "snapshot %s: state file is corrupt (bad memory section)", dir);
        return -1;
    }
    if (!im->diff) return 0;
    k = vm_sf_find(&im->f, "parent", &s, e2, sizeof(e2));
    if (k <= 0) {
        vmk_seterr(err, errlen, "snapshot %s: state file %s", dir, k ? e2 : "is corrupt (diff without parent)");
        return -1;
    }
    vmk_sr_init(&r, s.p, s.len);
    vmk_sr_str(&r, im->parent, sizeof(im->parent));
    im->parent_crc = vmk_sr_u32(&r);
    if (!vmk_sr_done(&r) || im->parent[0] != '/') {
        vmk_seterr(err, errlen, "snapshot %s: state file is corrupt (bad parent section)", dir);
        return -1;
    }
    uint64_t words = (im->mem_size / VMK_PAGE_SIZE + 63) / 64;
    k = vm_sf_find(&im->f, "dirtymap", &s, e2, sizeof(e2));
    if (k <= 0 || s.len != 8 + words * 8 || get_le(s.p, 8) != words) {
        vmk_seterr(err, errlen, "snapshot %s: state file %s", dir, k < 0 ? e2 : "is corrupt (bad dirtymap section)");
        return -1;
    }
    im->map = vmk_xmalloc(words * 8);
    for (uint64_t w = 0; w < words; w++) im->map[w] = get_le(s.p + 8 + w * 8, 8);
    uint64_t pages = im->mem_size / VMK_PAGE_SIZE;
    if (pages % 64 && im->map[words - 1] >> (pages % 64)) {
        vmk_seterr(err, errlen, "snapshot %s: state file is corrupt (dirtymap beyond RAM)", dir);
        return -1;
    }
    return 0;
}

/* Opens the image's memory file and checks its header against the state. fd or -1 with err. */
static int mem_open(const snap_img *im, char *err, size_t errlen)
{
    char path[PATH_MAX + 40];
    uint64_t id;
    /* a snapshot interrupted between its two renames left this state's memory as memory-<id> */
    snprintf(path, sizeof(path), "%s/memory", im->dir);
    if (mem_file_id(path, &id) == 0 && id != im->mem_id) {
        snprintf(path, sizeof(path), "%s/memory-%016llx", im->dir, (unsigned long long)im->mem_id);
        if (access(path, F_OK) != 0) snprintf(path, sizeof(path), "%s/memory", im->dir);
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        vmk_seterr(err, errlen, "snapshot %s: memory file: %s", im->dir, strerror(errno));
        return -1;
    }
    uint8_t hdr[64];
    struct stat st;
    if (fstat(fd, &st) != 0 || pread_all(fd, hdr, sizeof(hdr), 0) != 0 || (uint64_t)st.st_size < sizeof(hdr) ||
        memcmp(hdr, MEM_MAGIC, 8) || get_le(hdr + 8, 4) != 1 || get_le(hdr + 12, 4) != VMK_PAGE_SIZE) {
        vmk_seterr(err, errlen, "snapshot %s: the memory file is not a vmkit memory file", im->dir);
        close(fd);
        return -1;
    }
    if (get_le(hdr + 24, 8) != im->mem_id || get_le(hdr + 16, 8) != im->mem_size || get_le(hdr + 32, 8) != im->mem_base) {
        vmk_seterr(err, errlen, "snapshot %s: the memory file does not belong to its state (an interrupted snapshot?)", im->dir);
        close(fd);
        return -1;
    }
    if ((uint64_t)st.st_size < MEM_HDR_LEN + im->mem_size) {
        vmk_seterr(err, errlen, "snapshot %s: the memory file is truncated (%llu of %llu bytes)", im->dir,
                   (unsigned long long)st.st_size, (unsigned long long)(MEM_HDR_LEN + im->mem_size));
        close(fd);
        return -1;
    }
    return fd;
}

/* Lays a diff image's pages over RAM already holding its parent's: each run of pages is mapped
 * MAP_PRIVATE|MAP_FIXED from the diff's memory file (lazy like the base; a hole reads as zeros),
 * falling back to copying when mmap fails or after MAX_DIFF_MAPS mappings (the kernel's map count). */
#define MAX_DIFF_MAPS 16384u
static int apply_diff(vmk_mem *m, const snap_img *im, unsigned *nmaps, char *err, size_t errlen)
{
    int fd = mem_open(im, err, errlen);
    if (fd < 0) return -1;
    uint64_t pages = vmk_mem_pages(m);
    for (uint64_t pg = 0; pg < pages;) {
        if (pg % 64 == 0 && !im->map[pg / 64]) { pg += 64; continue; }
        if (!map_bit(im->map, pg)) { pg++; continue; }
        uint64_t end = pg + 1;
        while (end < pages && map_bit(im->map, end)) end++;
        uint8_t *at = m->host + (pg << VMK_PAGE_SHIFT);
        size_t len = (size_t)((end - pg) << VMK_PAGE_SHIFT);
        off_t off = (off_t)(MEM_HDR_LEN + (pg << VMK_PAGE_SHIFT));
        if (*nmaps < MAX_DIFF_MAPS &&
            mmap(at, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED | MAP_NORESERVE, fd, off) == at) {
            (*nmaps)++;
        } else {
            int e = pread_all(fd, at, len, (uint64_t)off);
            if (e) {
                vmk_seterr(err, errlen, "snapshot %s: cannot read the memory file: %s", im->dir, strerror(e));
                close(fd);
                return -1;
            }
        }
        pg = end;
    }
    close(fd);
    return 0;
}

static void fresh_mac(uint8_t mac[6], unsigned index)
{
    uint64_t r = random_u64();
    mac[0] = 0x52;                       /* locally administered, unicast */
    mac[1] = 0x54;
    mac[2] = (uint8_t)(r >> 8);
    mac[3] = (uint8_t)r;
    mac[4] = (uint8_t)(index >> 8);
    mac[5] = (uint8_t)index;
}

vmk_vm *vmk_vm_restore(const char *dir, const vmk_restore_opts *o, char *err, size_t errlen)
{
    static const vmk_restore_opts dflt;
    if (!o) o = &dflt;
    snap_img *chain = vmk_xcalloc(CHAIN_MAX, sizeof(*chain));
    unsigned n = 0;
    vmk_vm_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    vmk_mem mem;
    memset(&mem, 0, sizeof(mem));
    bool mem_ok = false;
    vmk_vm *vm = NULL;
    char e2[VMK_ERRLEN];
    char *made[VMK_VM_MAX_DISKS] = { 0 };     /* overlays created here: removed if the restore fails */

    if (img_load(&chain[n++], dir, err, errlen) < 0) goto fail;
    while (chain[n - 1].diff) {
        snap_img *c = &chain[n - 1];
        if (n == CHAIN_MAX) {
            vmk_seterr(err, errlen, "snapshot %s: diff chain longer than %d", dir, CHAIN_MAX);
            goto fail;
        }
        const char *pd = n - 1 < o->nparent_dirs && n - 1 < 16 && o->parent_dirs[n - 1] ? o->parent_dirs[n - 1] : c->parent;
        if (img_load(&chain[n++], pd, err, errlen) < 0) goto fail;
        snap_img *p = &chain[n - 1];
        if (p->f.crc != c->parent_crc) {
            vmk_seterr(err, errlen, "snapshot %s: its parent %s was replaced since the diff was taken", c->dir, p->dir);
            goto fail;
        }
        if (strcmp(p->f.engine, c->f.engine) || p->mem_size != c->mem_size || p->mem_base != c->mem_base) {
            vmk_seterr(err, errlen, "snapshot %s: its parent %s is for another machine", c->dir, p->dir);
            goto fail;
        }
    }
    const snap_img *top = &chain[0], *base = &chain[n - 1];
    vmk_engine_kind kind;
    vmk_engine_parse(top->f.engine, &kind);           /* checked by img_load */
    const vm_engine_ops *eng = vm_engine_for(kind);
    if (top->mem_base != eng->ram_base) {
        vmk_seterr(err, errlen, "snapshot %s: state file is corrupt (RAM base 0x%llx)", dir, (unsigned long long)top->mem_base);
        goto fail;
    }
    if (get_config(&top->f, &cfg, e2, sizeof(e2)) < 0) {
        vmk_seterr(err, errlen, "snapshot %s: state file %s", dir, e2);
        goto fail;
    }
    cfg.engine = kind;
    if (cfg.mem_size != top->mem_size) {
        vmk_seterr(err, errlen, "snapshot %s: state file is corrupt (config and memory sizes differ)", dir);
        goto fail;
    }
    free((char *)cfg.console);
    cfg.console = vmk_xstrdup(o->console ? o->console : "null");
    if (o->nets_set) {
        if (o->nnets != cfg.nnets) {
            vmk_seterr(err, errlen, "the snapshot has %u network device(s); %u network back-end(s) given", cfg.nnets, o->nnets);
            goto fail;
        }
        for (unsigned i = 0; i < cfg.nnets; i++) {
            free((char *)cfg.nets[i]);
            cfg.nets[i] = vmk_xstrdup(o->nets[i]);
        }
    }
    for (unsigned i = 0; i < cfg.ndisks; i++)
        if (o->disk_paths[i]) {
            free((char *)cfg.disks[i].path);
            cfg.disks[i].path = vmk_xstrdup(o->disk_paths[i]);
        }
    if (!o->force_disks && check_disks(&top->f, o->disk_paths, e2, sizeof(e2)) < 0) {
        vmk_seterr(err, errlen, "snapshot %s: %s", dir, e2);
        goto fail;
    }
    if (o->clone_dir) {
        if (mkdir(o->clone_dir, 0700) != 0 && errno != EEXIST) {
            vmk_seterr(err, errlen, "cannot create clone directory %s: %s", o->clone_dir, strerror(errno));
            goto fail;
        }
        for (unsigned i = 0; i < cfg.ndisks; i++) {
            if (cfg.disks[i].readonly) continue;       /* shared as it is */
            char path[PATH_MAX + 32];
            snprintf(path, sizeof(path), "%s/disk%u.cow", o->clone_dir, i);
            if (access(path, F_OK) == 0) {
                vmk_seterr(err, errlen, "clone disk overlay %s already exists", path);
                goto fail;
            }
            if (virtio_cow_create(path, cfg.disks[i].path, e2, sizeof(e2)) < 0) {
                vmk_seterr(err, errlen, "clone disk overlay %s: %s", path, e2);
                goto fail;
            }
            made[i] = vmk_xstrdup(path);
            free((char *)cfg.disks[i].path);
            cfg.disks[i].path = vmk_xstrdup(path);
        }
    }

    int fd = mem_open(base, err, errlen);
    if (fd < 0) goto fail;
    int k = vmk_mem_init_file(&mem, eng->ram_base, base->mem_size, fd, MEM_HDR_LEN, e2, sizeof(e2));
    close(fd);
    if (k < 0) {
        vmk_seterr(err, errlen, "snapshot %s: %s", base->dir, e2);
        goto fail;
    }
    mem_ok = true;
    unsigned nmaps = 0;
    for (unsigned i = n - 1; i-- > 0;)
        if (apply_diff(&mem, &chain[i], &nmaps, err, errlen) < 0) goto fail;

    if (!(vm = vm_alloc(&cfg, err, errlen))) goto fail;
    vm->mem = mem;
    vm->mem_ok = true;
    vm->mem_overlaid = n > 1;
    mem_ok = false;
    if (vm_build(vm, err, errlen) < 0) goto fail;
    if (load_machine(vm, &top->f, e2, sizeof(e2)) < 0) {
        vmk_seterr(err, errlen, "snapshot %s: %s", dir, e2);
        goto fail;
    }
    if (o->clone_dir)
        for (unsigned i = 0; i < vm->ndevs; i++)
            if (vm->dev_kind[i] == VM_DEV_NET) {
                fresh_mac(vm->mac[i], o->clone_index);
                vm->set_mac[i] = true;
                virtio_net_set_mac(vm->devs[i], vm->mac[i]);
            }
    vm->has_snapshot_base = true;
    vm->last_snap_dir = vmk_xstrdup(o->record_dir ? o->record_dir : top->dir);
    vm->last_snap_crc = top->f.crc;
    vmk_mem_log_start(&vm->mem);          /* a diff snapshot of this VM is relative to dir */
    if (o->start_paused) vmk_vm_pause(vm);
    for (unsigned i = 0; i < n; i++) img_free(&chain[i]);
    for (unsigned i = 0; i < VMK_VM_MAX_DISKS; i++) free(made[i]);
    free(chain);
    vm_cfg_free(&cfg);
    return vm;
fail:
    if (vm) vmk_vm_free(vm);
    if (mem_ok) vmk_mem_free(&mem);
    for (unsigned i = 0; i < VMK_VM_MAX_DISKS; i++) {
        if (made[i]) unlink(made[i]);
        free(made[i]);
    }
    for (unsigned i = 0; i < n; i++) img_free(&chain[i]);
    free(chain);
    vm_cfg_free(&cfg);
    return NULL;
}

/* ---------------- what a snapshot needs (a jailed VMM binds it) ---------------- */

int vmk_snapshot_disks(const char *dir, char (*paths)[4096], bool *ro, unsigned *n, char *err, size_t errlen)
{
    snap_img im;
    vmk_vm_config c;
    char e2[VMK_ERRLEN];
    *n = 0;
    if (img_load(&im, dir, err, errlen) < 0) { img_free(&im); return -1; }
    if (get_config(&im.f, &c, e2, sizeof(e2)) < 0) {
        vmk_seterr(err, errlen, "snapshot %s: state file %s", dir, e2);
        img_free(&im);
        return -1;
    }
    for (unsigned i = 0; i < c.ndisks; i++) {
        snprintf(paths[i], 4096, "%s", c.disks[i].path);
        ro[i] = c.disks[i].readonly;
    }
    *n = c.ndisks;
    vm_cfg_free(&c);
    img_free(&im);
    return 0;
}

int vmk_snapshot_parents(const char *dir, char (*parents)[4096], unsigned max, unsigned *n, char *err, size_t errlen)
{
    snap_img im;
    *n = 0;
    if (img_load(&im, dir, err, errlen) < 0) { img_free(&im); return -1; }
    while (im.diff) {
        if (*n == max || *n == CHAIN_MAX) {
            vmk_seterr(err, errlen, "snapshot %s: diff chain longer than %u", dir, max < CHAIN_MAX ? max : CHAIN_MAX);
            img_free(&im);
            return -1;
        }
        snprintf(parents[(*n)++], 4096, "%s", im.parent);
        char p[PATH_MAX];
        snprintf(p, sizeof(p), "%s", im.parent);
        img_free(&im);
        if (img_load(&im, p, err, errlen) < 0) { img_free(&im); return -1; }
    }
    img_free(&im);
    return 0;
}
