/* blk.c — virtio-blk over a raw image file or a vmkit copy-on-write overlay (cow.c, detected by its
 * magic): read, write, flush (fdatasync), get-id, discard (PUNCH_HOLE) and write-zeroes, read-only
 * disks (O_RDONLY + VIRTIO_BLK_F_RO). A guest may not write the overlay magic to sector 0 (a raw
 * image would be probed as an overlay naming a host file as its base the next time). Requests run on the loop
 * thread with preadv/pwritev; every sector range is checked against the capacity fixed at open time,
 * so the file is never touched beyond its end. */
#include "virtio_impl.h"
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/falloc.h>

#define VIRTIO_ID_BLOCK 2
#define BLK_F_SEG_MAX      2
#define BLK_F_RO           5
#define BLK_F_BLK_SIZE     6
#define BLK_F_FLUSH        9
#define BLK_F_DISCARD      13
#define BLK_F_WRITE_ZEROES 14

#define BLK_T_IN           0
#define BLK_T_OUT          1
#define BLK_T_FLUSH        4
#define BLK_T_GET_ID       8
#define BLK_T_DISCARD      11
#define BLK_T_WRITE_ZEROES 13

#define BLK_S_OK     0
#define BLK_S_IOERR  1
#define BLK_S_UNSUPP 2

#define SECTOR 512ull
#define MAX_DZ_SEGS 32u
#define MAX_DZ_SECTORS 0x3fffffu

typedef struct blk {
    int fd;
    vcow *cow;               /* overlay back-end, or NULL for a raw image */
    bool ro;
    uint64_t capacity;       /* sectors */
    char id[20];
    struct iovec data[VIRTIO_QUEUE_MAX];
} blk;

static bool range_ok(const blk *b, uint64_t sector, uint64_t nsec)
{
    return sector <= b->capacity && nsec <= b->capacity - sector;
}

static int zero_range(blk *b, uint64_t off, uint64_t len, bool discard)
{
    if (b->cow) {                          /* overlay: discard is a no-op, zeroes are written */
        static const uint8_t z[65536];
        while (!discard && len) {
            uint64_t n = len < sizeof z ? len : sizeof z;
            struct iovec v = { .iov_base = (void *)z, .iov_len = (size_t)n };
            if (vcow_rw(b->cow, &v, 1, off, n, true) < 0) return -1;
            off += n;
            len -= n;
        }
        return 0;
    }
    if (discard) return fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0 || errno == EOPNOTSUPP ? 0 : -1;
    if (fallocate(b->fd, FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0) return 0;
    if (fallocate(b->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len) == 0) return 0;
    static const uint8_t zeros[65536];
    while (len) {
        size_t n = len < sizeof zeros ? (size_t)len : sizeof zeros;
        ssize_t r = pwrite(b->fd, zeros, n, (off_t)off);
        if (r <= 0) { if (r < 0 && errno == EINTR) continue; return -1; }
        off += (uint64_t)r;
        len -= (uint64_t)r;
    }
    return 0;
}

static uint8_t do_discard_zeroes(virtio_dev *d, blk *b, vq_elem *e, bool discard)
{
    if (b->ro) return BLK_S_IOERR;
    uint64_t dlen = e->out_len - 16;
    if (dlen == 0 || dlen % 16 || dlen / 16 > MAX_DZ_SEGS) return BLK_S_IOERR;
    for (uint64_t i = 0; i < dlen / 16; i++) {
        struct { uint64_t sector; uint32_t num, flags; } seg;
        vq_elem_read(e, 16 + 16 * i, &seg, 16);
        if (seg.num > MAX_DZ_SECTORS || !range_ok(b, seg.sector, seg.num)) return BLK_S_IOERR;
        if ((discard && seg.flags) || (seg.flags & ~1u)) return BLK_S_UNSUPP;
        if (zero_range(b, seg.sector * SECTOR, (uint64_t)seg.num * SECTOR, discard) < 0) return BLK_S_IOERR;
        if (!discard) d->stats.wr_bytes += (uint64_t)seg.num * SECTOR;
    }
    return BLK_S_OK;
}

static void blk_request(virtio_dev *d, blk *b, vq_elem *e, uint32_t *used)
{
    struct { uint32_t type, reserved; uint64_t sector; } hdr;
    uint8_t st = BLK_S_IOERR;
    uint64_t din = e->in_len - 1;               /* device-writable bytes before the status byte */
    *used = 1;
    if (e->out_len < 16) goto done;
    vq_elem_read(e, 0, &hdr, 16);
    switch (hdr.type) {
    case BLK_T_IN: {
        if (e->out_len != 16 || din % SECTOR || !range_ok(b, hdr.sector, din / SECTOR)) break;
        int n = vcow_iov_slice(e->iov + e->n_out, (int)e->n_in, 0, din, b->data, VIRTIO_QUEUE_MAX);
        if (n < 0 || (b->cow ? vcow_rw(b->cow, b->data, n, hdr.sector * SECTOR, din, false)
                             : vcow_iov_rw(b->fd, b->data, n, hdr.sector * SECTOR, false)) < 0) break;
        d->stats.rd_reqs++;
        d->stats.rd_bytes += din;
        *used = (uint32_t)din + 1;
        st = BLK_S_OK;
        break;
    }
    case BLK_T_OUT: {
        uint64_t dout = e->out_len - 16;
        if (b->ro || din != 0 || dout % SECTOR || !range_ok(b, hdr.sector, dout / SECTOR)) break;
        int n = vcow_iov_slice(e->iov, (int)e->n_out, 16, dout, b->data, VIRTIO_QUEUE_MAX);
        if (n < 0) break;
        if (hdr.sector == 0 && dout >= 8) {
            char m[8];
            if (vq_elem_read(e, 16, m, 8) == 8 && memcmp(m, "VMKCOW1", 8) == 0) {
                vmk_warn("virtio-blk: guest write of the overlay magic to sector 0 refused");
                break;
            }
        }
        if ((b->cow ? vcow_rw(b->cow, b->data, n, hdr.sector * SECTOR, dout, true)
                    : vcow_iov_rw(b->fd, b->data, n, hdr.sector * SECTOR, true)) < 0) break;
        d->stats.wr_reqs++;
        d->stats.wr_bytes += dout;
        st = BLK_S_OK;
        break;
    }
    case BLK_T_FLUSH:
        d->stats.flushes++;
        st = (b->ro || (b->cow ? vcow_flush(b->cow) : fdatasync(b->fd)) == 0) ? BLK_S_OK : BLK_S_IOERR;
        break;
    case BLK_T_GET_ID: {
        size_t n = din < sizeof b->id ? (size_t)din : sizeof b->id;
        vq_elem_write(e, 0, b->id, n);
        *used = (uint32_t)n + 1;
        st = BLK_S_OK;
        break;
    }
    case BLK_T_DISCARD: st = do_discard_zeroes(d, b, e, true); break;
    case BLK_T_WRITE_ZEROES: st = do_discard_zeroes(d, b, e, false); break;
    default: st = BLK_S_UNSUPP;
    }
done:
    vq_elem_write(e, din, &st, 1);
}

static void blk_kick(virtio_dev *d, unsigned qi)
{
    blk *b = d->priv;
    virtq *q = &d->vq[qi];
    bool any = false;
    int r, budget = VIRTIO_KICK_BUDGET;
    while ((r = vq_pop(d, q)) == 1) {
        vq_elem *e = &q->elem;
        if (e->in_len < 1) {
            virtio_dev_fail(d, "request without a status byte");
            return;
        }
        uint32_t used;
        blk_request(d, b, e, &used);
        vq_push(d, q, used);
        any = true;
        if (--budget == 0) { virtio_dev_requeue(d, qi); break; }
    }
    if (any) vq_notify(d, q);
}

static void blk_free(virtio_dev *d)
{
    blk *b = d->priv;
    if (!b) return;
    if (b->cow) vcow_close(b->cow);
    else if (!b->ro) fdatasync(b->fd);
    close(b->fd);
    free(b);
}

/* State: the capacity, so a restore onto a disk of another size is refused (the guest's file
 * system would be cut off or see garbage). */
static int blk_sync(blk *b)
{
    if (b->ro) return 0;
    return b->cow ? vcow_flush(b->cow) : fdatasync(b->fd);
}

/* Also flushes (best effort here; snapshots and migrations call virtio_blk_flush first, which
 * reports a failure): the state must never refer to an overlay whose on-disk bitmap is stale. */
static void blk_save(virtio_dev *d, vmk_sbuf *sb)
{
    blk *b = d->priv;
    if (blk_sync(b) != 0) vmk_warn("virtio-blk: flush before saving the state failed: %s", strerror(errno));
    vmk_sb_u64(sb, b->capacity);
    vmk_sb_u8(sb, b->ro);
}

static int blk_load(virtio_dev *d, vmk_sread *r)
{
    blk *b = d->priv;
    uint64_t cap = vmk_sr_u64(r);
    uint8_t ro = vmk_sr_u8(r);
    if (!vmk_sr_ok(r)) return -1;
    if (cap != b->capacity) {
        vmk_sr_fail(r, "the disk has %llu sectors, the snapshot expects %llu (disk changed?)",
                    (unsigned long long)b->capacity, (unsigned long long)cap);
        return -1;
    }
    if (ro > 1 || (!ro && b->ro)) {
        vmk_sr_fail(r, "the disk was writable when saved and is read-only now");
        return -1;
    }
    return 0;
}

static const virtio_devops blk_ops = {
    .device_id = VIRTIO_ID_BLOCK, .name = "virtio-blk", .nqueues = 1, .kick = blk_kick, .free = blk_free,
    .save = blk_save, .load = blk_load,
};

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }

virtio_dev *virtio_blk_new(const virtio_env *env, const char *path, bool readonly, char *err, size_t errlen)
{
    int fd = open(path, (readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC);
    if (fd < 0) {
        vmk_seterr(err, errlen, "disk '%s': %s", path, strerror(errno));
        return NULL;
    }
    struct stat sb;
    if (fstat(fd, &sb) < 0 || !(S_ISREG(sb.st_mode) || S_ISBLK(sb.st_mode))) {
        vmk_seterr(err, errlen, "disk '%s': not a regular file or block device", path);
        close(fd);
        return NULL;
    }
    if (flock(fd, (readonly ? LOCK_SH : LOCK_EX) | LOCK_NB) < 0) {
        vmk_seterr(err, errlen, "disk '%s': in use by another process (%s)", path, strerror(errno));
        close(fd);
        return NULL;
    }
    off_t size = lseek(fd, 0, SEEK_END);
    if (size < 0) {
        vmk_seterr(err, errlen, "disk '%s': cannot get size: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    vcow *cow = NULL;
    if (vcow_probe(fd)) {
        uint64_t vsize;
        if (!(cow = vcow_open(fd, path, readonly, &vsize, err, errlen))) {
            close(fd);
            return NULL;
        }
        size = (off_t)vsize;
        /* a first flush now, on the thread building the VM: it also fsyncs the overlay's directory,
         * which a jailed vCPU thread tearing the VM down may not open (seccomp) */
        if (!readonly && vcow_flush(cow) != 0) {
            vmk_seterr(err, errlen, "disk '%s': cannot sync the overlay: %s", path, strerror(errno));
            vcow_close(cow);
            close(fd);
            return NULL;
        }
    }
    virtio_dev *d = vmk_xcalloc(1, sizeof *d);
    blk *b = vmk_xcalloc(1, sizeof *b);
    b->fd = fd;
    b->cow = cow;
    b->ro = readonly;
    b->capacity = (uint64_t)size / SECTOR;
    const char *base = strrchr(path, '/');
    base = base ? base + 1 : path;
    size_t idl = strlen(base);
    memcpy(b->id, base, idl < sizeof b->id ? idl : sizeof b->id);   /* NUL-padded, unterminated at 20 */
    uint64_t feat = (1ull << BLK_F_SEG_MAX) | (1ull << BLK_F_BLK_SIZE) | (1ull << BLK_F_FLUSH);
    feat |= readonly ? (1ull << BLK_F_RO) : (1ull << BLK_F_DISCARD) | (1ull << BLK_F_WRITE_ZEROES);
    if (virtio_dev_init(d, &blk_ops, env, feat, 60, err, errlen) < 0) {
        vcow_close(cow);
        close(fd);
        free(b);
        free(d);
        return NULL;
    }
    d->priv = b;
    memcpy(d->config + 0, &b->capacity, 8);
    put32(d->config + 12, VIRTIO_QUEUE_MAX - 2);     /* seg_max */
    put32(d->config + 20, SECTOR);                   /* blk_size */
    put32(d->config + 36, MAX_DZ_SECTORS);           /* max_discard_sectors */
    put32(d->config + 40, MAX_DZ_SEGS);              /* max_discard_seg */
    put32(d->config + 44, 8);                        /* discard_sector_alignment */
    put32(d->config + 48, MAX_DZ_SECTORS);           /* max_write_zeroes_sectors */
    put32(d->config + 52, MAX_DZ_SEGS);              /* max_write_zeroes_seg */
    d->config[56] = 1;                               /* write_zeroes_may_unmap */
    return d;
}

static blk *blk_of(virtio_dev *d, const char *what, char *err, size_t errlen)
{
    if (!d || d->ops != &blk_ops || !d->priv) {
        vmk_seterr(err, errlen, "%s: not a virtio-blk device", what);
        return NULL;
    }
    return d->priv;
}

int virtio_blk_flush(virtio_dev *d, char *err, size_t errlen)
{
    blk *b = blk_of(d, "flush", err, errlen);
    if (!b) return -1;
    pthread_mutex_lock(&d->mtx);
    int rc = blk_sync(b);
    int e = errno;
    pthread_mutex_unlock(&d->mtx);
    if (rc != 0) {
        vmk_seterr(err, errlen, "disk %.20s: flush failed: %s", b->id, strerror(e));
        return -1;
    }
    return 0;
}

int virtio_blk_lock(virtio_dev *d, bool lock, char *err, size_t errlen)
{
    blk *b = blk_of(d, lock ? "lock" : "unlock", err, errlen);
    if (!b) return -1;
    if (!lock && virtio_blk_flush(d, err, errlen) < 0) return -1;
    if (flock(b->fd, lock ? (b->ro ? LOCK_SH : LOCK_EX) | LOCK_NB : LOCK_UN) < 0) {
        vmk_seterr(err, errlen, "disk %.20s: cannot %s it: %s", b->id, lock ? "lock" : "unlock", strerror(errno));
        return -1;
    }
    return 0;
}
