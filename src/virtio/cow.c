/* cow.c — vmkit's copy-on-write disk overlay ("VMKCOW1"): creation (virtio_cow_create) and the
 * back-end virtio-blk uses when an image starts with the magic. Layout (little-endian):
 *   0    magic "VMKCOW1\0"          8   u32 version (1)       12  u32 header size (4096)
 *   16   u32 cluster bits (16)      20  u32 flags (0)         24  u64 virtual size (bytes)
 *   32   u64 base size              40  u64 base mtime (ns)   48  u64 bitmap offset (4096)
 *   56   u64 bitmap length (bytes, whole u64 words)           64  u64 data offset (cluster-aligned)
 *   72   u32 base path length       76  u32 CRC-32C of the 4096-byte header with this field 0
 *   80   base path (absolute, NUL-terminated)
 * Cluster i (64 KiB) lives at data offset + i * 64 KiB when bit i of the bitmap is set; the file is
 * sparse. Reads of clear clusters come from the base (opened read-only; its size and mtime must
 * match the header, so a changed base is refused). The first write to a clear cluster copies the
 * whole cluster from the base. Flush: fdatasync the data, then write the changed bitmap words and
 * fdatasync again, so a bit is never durable before its cluster's data. Every header field of an
 * opened overlay is checked (it is as untrusted as a snapshot file). */
#include "virtio_impl.h"
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define COW_MAGIC       "VMKCOW1"          /* + NUL: 8 bytes */
#define COW_VERSION     1u
#define COW_HDR         4096u
#define COW_CBITS       16u
#define COW_CLUSTER     (1ull << COW_CBITS)
#define COW_PATH_OFF    80u
#define COW_MAX_SIZE    (1ull << 46)       /* 64 TiB of virtual disk: a bitmap of at most 128 MiB */

struct vcow {
    int fd, base_fd;
    bool ro, dir_synced;
    uint64_t size, nclusters, bitmap_off, bitmap_len, data_off;
    uint64_t *bitmap;                      /* in memory, authoritative */
    uint64_t *dirty;                       /* one bit per bitmap word changed since the last flush */
    uint8_t *buf;                          /* one cluster, for copy-on-write */
    char path[PATH_MAX];
};

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void put64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static uint32_t get32(const uint8_t *p) { uint32_t v = 0; for (int i = 3; i >= 0; i--) v = v << 8 | p[i]; return v; }
static uint64_t get64(const uint8_t *p) { uint64_t v = 0; for (int i = 7; i >= 0; i--) v = v << 8 | p[i]; return v; }

static uint64_t mtime_ns(const struct stat *st)
{
    return (uint64_t)st->st_mtim.tv_sec * 1000000000ull + (uint64_t)st->st_mtim.tv_nsec;
}

/* Geometry derived from the virtual size: the only layout an overlay may have. */
static void geometry(uint64_t size, uint64_t *ncl, uint64_t *bm_len, uint64_t *data_off)
{
    *ncl = (size + COW_CLUSTER - 1) / COW_CLUSTER;
    *bm_len = (*ncl + 63) / 64 * 8;
    *data_off = (COW_HDR + *bm_len + COW_CLUSTER - 1) / COW_CLUSTER * COW_CLUSTER;
}

static void cow_free(vcow *c)
{
    if (c->base_fd >= 0) close(c->base_fd);
    free(c->bitmap);
    free(c->dirty);
    free(c->buf);
    free(c);
}

bool vcow_probe(int fd)
{
    char m[8];
    return pread(fd, m, 8, 0) == 8 && memcmp(m, COW_MAGIC, 8) == 0;
}

static int write_full(int fd, const void *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t r = pwrite(fd, p, n, (off_t)off);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        p = (const uint8_t *)p + r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

static int read_full(int fd, void *p, size_t n, uint64_t off)
{
    while (n) {
        ssize_t r = pread(fd, p, n, (off_t)off);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        if (r == 0) return -1;
        p = (uint8_t *)p + r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int virtio_cow_create(const char *path, const char *base, char *err, size_t errlen)
{
    char abs[PATH_MAX];
    if (!realpath(base, abs)) {
        vmk_seterr(err, errlen, "overlay base '%s': %s", base, strerror(errno));
        return -1;
    }
    size_t plen = strlen(abs);
    if (plen >= COW_HDR - COW_PATH_OFF) {
        vmk_seterr(err, errlen, "overlay base '%s': path too long", base);
        return -1;
    }
    int bfd = open(abs, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (bfd < 0 || fstat(bfd, &st) < 0) {
        vmk_seterr(err, errlen, "overlay base '%s': %s", base, strerror(errno));
        if (bfd >= 0) close(bfd);
        return -1;
    }
    off_t bsize = lseek(bfd, 0, SEEK_END);
    close(bfd);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        vmk_seterr(err, errlen, "overlay base '%s': not a regular file or block device", base);
        return -1;
    }
    if (bsize <= 0 || (uint64_t)bsize > COW_MAX_SIZE) {
        vmk_seterr(err, errlen, "overlay base '%s': size %lld not supported", base, (long long)bsize);
        return -1;
    }
    uint64_t size = (uint64_t)bsize, ncl, bm_len, data_off;
    geometry(size, &ncl, &bm_len, &data_off);
    uint8_t h[COW_HDR];
    memset(h, 0, sizeof h);
    memcpy(h, COW_MAGIC, 8);
    put32(h + 8, COW_VERSION);
    put32(h + 12, COW_HDR);
    put32(h + 16, COW_CBITS);
    put32(h + 20, 0);
    put64(h + 24, size);
    put64(h + 32, size);
    put64(h + 40, mtime_ns(&st));
    put64(h + 48, COW_HDR);
    put64(h + 56, bm_len);
    put64(h + 64, data_off);
    put32(h + 72, (uint32_t)plen);
    memcpy(h + COW_PATH_OFF, abs, plen);
    put32(h + 76, vmk_crc32c(0, h, sizeof h));
    /* temp name + rename: a crash never leaves a half-written overlay under the final name. The
     * data is made durable by the first guest flush (which also syncs the directory), so creating
     * a clone's overlay costs no fsync. */
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid()) >= (int)sizeof tmp) {
        vmk_seterr(err, errlen, "overlay '%s': path too long", path);
        return -1;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) {
        vmk_seterr(err, errlen, "overlay '%s': %s", path, strerror(errno));
        return -1;
    }
    if (write_full(fd, h, sizeof h, 0) < 0 || ftruncate(fd, (off_t)(data_off + size)) < 0) {
        vmk_seterr(err, errlen, "overlay '%s': %s", path, strerror(errno));
        close(fd);
        unlink(tmp);
        return -1;
    }
    close(fd);
    if (rename(tmp, path) < 0) {
        vmk_seterr(err, errlen, "overlay '%s': %s", path, strerror(errno));
        unlink(tmp);
        return -1;
    }
    return 0;
}

vcow *vcow_open(int fd, const char *path, bool ro, uint64_t *size, char *err, size_t errlen)
{
    uint8_t h[COW_HDR];
    struct stat st;
    if (read_full(fd, h, sizeof h, 0) < 0 || fstat(fd, &st) < 0) {
        vmk_seterr(err, errlen, "overlay '%s': header truncated", path);
        return NULL;
    }
    uint32_t crc = get32(h + 76);
    put32(h + 76, 0);
    uint64_t vsize = get64(h + 24), bsize = get64(h + 32), bmtime = get64(h + 40);
    uint64_t bm_off = get64(h + 48), bm_len = get64(h + 56), data_off = get64(h + 64);
    uint32_t plen = get32(h + 72);
    uint64_t ncl = 0, want_bm = 0, want_data = 0;
    if (vsize > 0 && vsize <= COW_MAX_SIZE) geometry(vsize, &ncl, &want_bm, &want_data);
    const char *bad = NULL;
    if (memcmp(h, COW_MAGIC, 8)) bad = "not a vmkit overlay";
    else if (get32(h + 8) != COW_VERSION) bad = "unsupported overlay version";
    else if (vmk_crc32c(0, h, sizeof h) != crc) bad = "header checksum mismatch (corrupted)";
    else if (get32(h + 12) != COW_HDR || get32(h + 16) != COW_CBITS || get32(h + 20) != 0) bad = "unsupported header layout";
    else if (vsize == 0 || vsize > COW_MAX_SIZE || bsize != vsize) bad = "bad virtual size";
    else if (bm_off != COW_HDR || bm_len != want_bm || data_off != want_data) bad = "bad bitmap or data offset";
    else if (plen == 0 || plen >= COW_HDR - COW_PATH_OFF || h[COW_PATH_OFF] != '/' || h[COW_PATH_OFF + plen] != 0 ||
             memchr(h + COW_PATH_OFF, 0, plen)) bad = "bad base path";
    else if ((uint64_t)st.st_size < data_off) bad = "file shorter than its bitmap";
    if (bad) {
        vmk_seterr(err, errlen, "overlay '%s': %s", path, bad);
        return NULL;
    }
    const char *bpath = (const char *)h + COW_PATH_OFF;
    int bfd = open(bpath, O_RDONLY | O_CLOEXEC);
    struct stat bst;
    if (bfd < 0 || fstat(bfd, &bst) < 0) {
        vmk_seterr(err, errlen, "overlay '%s': base '%s': %s", path, bpath, strerror(errno));
        if (bfd >= 0) close(bfd);
        return NULL;
    }
    off_t bs = lseek(bfd, 0, SEEK_END);
    if (bs < 0 || (uint64_t)bs != bsize || mtime_ns(&bst) != bmtime) {
        vmk_seterr(err, errlen, "overlay '%s': base '%s' changed since the overlay was made (size or mtime)", path, bpath);
        close(bfd);
        return NULL;
    }
    if (flock(bfd, LOCK_SH | LOCK_NB) < 0) {
        vmk_seterr(err, errlen, "overlay '%s': base '%s' is in use read-write by another process", path, bpath);
        close(bfd);
        return NULL;
    }
    vcow *c = vmk_xcalloc(1, sizeof *c);
    c->fd = fd;
    c->base_fd = bfd;
    c->ro = ro;
    c->size = vsize;
    c->nclusters = ncl;
    c->bitmap_off = bm_off;
    c->bitmap_len = bm_len;
    c->data_off = data_off;
    snprintf(c->path, sizeof c->path, "%s", path);
    c->bitmap = malloc(bm_len);
    c->dirty = calloc((bm_len / 8 + 63) / 64, 8);
    c->buf = malloc(COW_CLUSTER);
    if (!c->bitmap || !c->dirty || !c->buf || read_full(fd, c->bitmap, bm_len, bm_off) < 0) {
        vmk_seterr(err, errlen, "overlay '%s': cannot read its bitmap", path);
        cow_free(c);
        return NULL;
    }
    for (uint64_t w = 0; w < bm_len / 8; w++) c->bitmap[w] = le64toh(c->bitmap[w]);
    if (ncl % 64 && (c->bitmap[bm_len / 8 - 1] >> (ncl % 64))) {
        vmk_seterr(err, errlen, "overlay '%s': bitmap has bits beyond the disk (corrupted)", path);
        cow_free(c);
        return NULL;
    }
    *size = vsize;
    return c;
}

static bool allocated(const vcow *c, uint64_t cl) { return (c->bitmap[cl / 64] >> (cl % 64)) & 1; }

/* Shared with blk.c (declared there): dst = bytes [skip, skip+len) of src; returns the count, -1 when
 * src is shorter or the slice needs more than max segments. */
int vcow_iov_slice(const struct iovec *src, int n, uint64_t skip, uint64_t len, struct iovec *dst, int max)
{
    int k = 0;
    for (int i = 0; i < n && len; i++) {
        uint64_t l = src[i].iov_len;
        if (skip >= l) { skip -= l; continue; }
        if (k == max) return -1;
        uint64_t take = l - skip < len ? l - skip : len;
        dst[k].iov_base = (uint8_t *)src[i].iov_base + skip;
        dst[k].iov_len = take;
        k++;
        len -= take;
        skip = 0;
    }
    return len ? -1 : k;
}

/* Shared with blk.c: preadv/pwritev until done (iov is consumed); -1 on error or unexpected end of file. */
int vcow_iov_rw(int fd, struct iovec *iov, int n, uint64_t off, bool wr)
{
    while (n > 0) {
        ssize_t r = wr ? pwritev(fd, iov, n, (off_t)off) : preadv(fd, iov, n, (off_t)off);
        if (r < 0) { if (errno == EINTR) continue; return -1; }
        if (r == 0) return -1;
        off += (uint64_t)r;
        while (n > 0 && (size_t)r >= iov->iov_len) { r -= (ssize_t)iov->iov_len; iov++; n--; }
        if (n > 0) { iov->iov_base = (uint8_t *)iov->iov_base + r; iov->iov_len -= (size_t)r; }
    }
    return 0;
}

/* First write to cluster cl: base contents + the new bytes [pos, pos+len) from iov[skip..]. */
static int cow_cluster(vcow *c, uint64_t cl, const struct iovec *iov, int n, uint64_t skip, uint64_t pos, uint64_t len)
{
    uint64_t start = cl * COW_CLUSTER, clen = c->size - start < COW_CLUSTER ? c->size - start : COW_CLUSTER;
    if (read_full(c->base_fd, c->buf, (size_t)clen, start) < 0) return -1;
    uint64_t at = pos - start, done = 0;
    for (int i = 0; i < n && done < len; i++) {
        uint64_t l = iov[i].iov_len;
        if (skip >= l) { skip -= l; continue; }
        uint64_t take = l - skip < len - done ? l - skip : len - done;
        memcpy(c->buf + at + done, (uint8_t *)iov[i].iov_base + skip, (size_t)take);
        done += take;
        skip = 0;
    }
    if (done != len || write_full(c->fd, c->buf, (size_t)clen, c->data_off + start) < 0) return -1;
    c->bitmap[cl / 64] |= 1ull << (cl % 64);
    c->dirty[cl / 64 / 64] |= 1ull << ((cl / 64) % 64);
    return 0;
}

int vcow_rw(vcow *c, const struct iovec *iov, int n, uint64_t off, uint64_t len, bool wr)
{
    if (off > c->size || len > c->size - off || (wr && c->ro)) return -1;
    struct iovec part[VIRTIO_QUEUE_MAX];
    uint64_t done = 0;
    while (done < len) {
        uint64_t pos = off + done, cl = pos / COW_CLUSTER;
        bool alloc = allocated(c, cl);
        if (wr && !alloc) {                /* copy-on-write, one cluster at a time */
            uint64_t end = (cl + 1) * COW_CLUSTER, take = end - pos < len - done ? end - pos : len - done;
            if (cow_cluster(c, cl, iov, n, done, pos, take) < 0) return -1;
            done += take;
            continue;
        }
        /* a run of clusters in the same state: one I/O */
        uint64_t end = (cl + 1) * COW_CLUSTER;
        while (end < off + len && allocated(c, end / COW_CLUSTER) == alloc) end += COW_CLUSTER;
        uint64_t take = end - pos < len - done ? end - pos : len - done;
        int k = vcow_iov_slice(iov, n, done, take, part, VIRTIO_QUEUE_MAX);
        if (k < 0) return -1;
        if (vcow_iov_rw(alloc ? c->fd : c->base_fd, part, k, alloc ? c->data_off + pos : pos, wr) < 0) return -1;
        done += take;
    }
    return 0;
}

int vcow_flush(vcow *c)
{
    if (c->ro) return 0;
    if (fdatasync(c->fd) < 0) return -1;
    bool any = false;
    uint64_t words = c->bitmap_len / 8;
    for (uint64_t g = 0; g < (words + 63) / 64; g++) {
        while (c->dirty[g]) {
            unsigned b = (unsigned)__builtin_ctzll(c->dirty[g]);
            uint64_t w = g * 64 + b;
            uint64_t le = htole64(c->bitmap[w]);
            if (write_full(c->fd, &le, 8, c->bitmap_off + 8 * w) < 0) return -1;
            c->dirty[g] &= c->dirty[g] - 1;
            any = true;
        }
    }
    if (any && fdatasync(c->fd) < 0) return -1;
    if (!c->dir_synced) {                  /* the overlay's directory entry (created without fsync) */
        char d[PATH_MAX];
        snprintf(d, sizeof d, "%s", c->path);
        int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dfd >= 0) { fsync(dfd); close(dfd); }
        c->dir_synced = true;
    }
    return 0;
}

void vcow_close(vcow *c)
{
    if (!c) return;
    vcow_flush(c);
    cow_free(c);
}
