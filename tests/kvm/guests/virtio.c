/* virtio.c — drives virtio-mmio devices by polling, with no interrupts: finds them from the command line
 * (virtio_mmio.device=<size>@<base>:<irq>, as Linux does), checks each window (magic, version 2, device
 * id), then for virtio-blk reads sector 0, writes sector 1 (text below, plus the first 16 bytes of sector
 * 0), flushes and reads sector 1 back; for virtio-rng reads 64 random bytes. With virtio.hostile=1 it then
 * programs the blk device with garbage (descriptor outside RAM, descriptor loop, avail index jump, bad
 * queue size, random register writes) and checks each time that the device failed (NEEDS_RESET) or
 * refused the request, and that a reset brings it back. Prints one line per result ("ok ..."/"FAIL ..."),
 * then "virtio: N failures"; exit status = failures. */
#include "lib.h"

#define VIRTIO_MAGIC 0x74726976u
enum { R_MAGIC = 0x000, R_VERSION = 0x004, R_DEVICE = 0x008, R_DEVFEAT = 0x010, R_DEVFEATSEL = 0x014,
       R_DRVFEAT = 0x020, R_DRVFEATSEL = 0x024, R_QSEL = 0x030, R_QNUMMAX = 0x034, R_QNUM = 0x038,
       R_QREADY = 0x044, R_QNOTIFY = 0x050, R_ISR = 0x060, R_IACK = 0x064, R_STATUS = 0x070,
       R_QDESC = 0x080, R_QAVAIL = 0x090, R_QUSED = 0x0a0, R_CONFIG = 0x100 };
enum { ST_ACK = 1, ST_DRIVER = 2, ST_DRIVER_OK = 4, ST_FEATURES_OK = 8, ST_FAILED = 128 };
#define QSZ 8
#define BLK_F_FLUSH 9
#define SPIN_MAX 20000000u

struct desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vq {
    struct desc d[QSZ] __attribute__((aligned(16)));
    struct { uint16_t flags, idx, ring[QSZ], event; } avail __attribute__((aligned(2)));
    struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[QSZ]; uint16_t event; } used __attribute__((aligned(4)));
    uint16_t last_used;
} __attribute__((aligned(4096)));

static struct vq queues[12];
static unsigned nq;
static int fails;
static uint8_t buf[512] __attribute__((aligned(512)));
static struct __attribute__((packed)) { uint32_t type, reserved; uint64_t sector; } req;
static volatile uint8_t req_status;

#define OK(what, ...) do { printf_serial("ok " what "\n", ##__VA_ARGS__); } while (0)
#define BAD(what, ...) do { printf_serial("FAIL " what "\n", ##__VA_ARGS__); fails++; } while (0)

/* Device init up to FEATURES_OK with the wanted feature bits (VERSION_1 always); 0 or -1. */
static int dev_init(uint64_t b, uint64_t want, uint64_t *got)
{
    mmio_w32(b + R_STATUS, 0);
    mmio_w32(b + R_STATUS, ST_ACK);
    mmio_w32(b + R_STATUS, ST_ACK | ST_DRIVER);
    mmio_w32(b + R_DEVFEATSEL, 0);
    uint64_t f = mmio_r32(b + R_DEVFEAT);
    mmio_w32(b + R_DEVFEATSEL, 1);
    f |= (uint64_t)mmio_r32(b + R_DEVFEAT) << 32;
    uint64_t use = f & (want | 1ull << 32);
    if (!(use >> 32 & 1)) return -1;
    mmio_w32(b + R_DRVFEATSEL, 0);
    mmio_w32(b + R_DRVFEAT, (uint32_t)use);
    mmio_w32(b + R_DRVFEATSEL, 1);
    mmio_w32(b + R_DRVFEAT, (uint32_t)(use >> 32));
    mmio_w32(b + R_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK);
    if (!(mmio_r32(b + R_STATUS) & ST_FEATURES_OK)) return -1;
    *got = use;
    return 0;
}

static struct vq *queue_setup(uint64_t b, unsigned qi)
{
    if (nq >= sizeof queues / sizeof queues[0]) return NULL;
    struct vq *q = &queues[nq++];
    mmio_w32(b + R_QSEL, qi);
    uint32_t max = mmio_r32(b + R_QNUMMAX);
    if (max < QSZ) return NULL;
    mmio_w32(b + R_QNUM, QSZ);
    uint64_t d = (uint64_t)q->d, a = (uint64_t)&q->avail, u = (uint64_t)&q->used;
    mmio_w32(b + R_QDESC, (uint32_t)d); mmio_w32(b + R_QDESC + 4, (uint32_t)(d >> 32));
    mmio_w32(b + R_QAVAIL, (uint32_t)a); mmio_w32(b + R_QAVAIL + 4, (uint32_t)(a >> 32));
    mmio_w32(b + R_QUSED, (uint32_t)u); mmio_w32(b + R_QUSED + 4, (uint32_t)(u >> 32));
    mmio_w32(b + R_QREADY, 1);
    return q;
}

/* Makes chain 0..n-1 available, notifies and polls for its completion; returns used length or -1. */
static int64_t submit(uint64_t b, struct vq *q, unsigned qi, unsigned n)
{
    for (unsigned i = 0; i + 1 < n; i++) { q->d[i].flags |= 1; q->d[i].next = (uint16_t)(i + 1); }
    q->avail.ring[q->avail.idx % QSZ] = 0;
    barrier();
    q->avail.idx++;
    barrier();
    mmio_w32(b + R_QNOTIFY, qi);
    for (uint32_t spin = 0; spin < SPIN_MAX; spin++) {
        barrier();
        if (*(volatile uint16_t *)&q->used.idx != q->last_used) {
            uint32_t len = q->used.ring[q->last_used % QSZ].len;
            q->last_used++;
            uint32_t isr = mmio_r32(b + R_ISR);
            mmio_w32(b + R_IACK, isr);
            return len;
        }
        __asm__ volatile("pause");
    }
    return -1;
}

static int blk_rw(uint64_t b, struct vq *q, uint32_t type, uint64_t sector)
{
    req.type = type; req.reserved = 0; req.sector = sector;
    req_status = 0xff;
    unsigned n = 0;
    q->d[n++] = (struct desc){ (uint64_t)&req, sizeof req, 0, 0 };
    if (type != 4) q->d[n++] = (struct desc){ (uint64_t)buf, 512, type == 0 ? 2 : 0, 0 };   /* in: WRITE flag */
    q->d[n++] = (struct desc){ (uint64_t)&req_status, 1, 2, 0 };
    if (submit(b, q, 0, n) < 0) return -2;
    return req_status;
}

static void do_blk(uint64_t b)
{
    uint64_t feat;
    if (dev_init(b, 1ull << BLK_F_FLUSH, &feat) < 0) { BAD("blk 0x%lx: feature negotiation", b); return; }
    struct vq *q = queue_setup(b, 0);
    if (!q) { BAD("blk 0x%lx: queue setup", b); return; }
    mmio_w32(b + R_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    uint64_t cap = mmio_r32(b + R_CONFIG) | (uint64_t)mmio_r32(b + R_CONFIG + 4) << 32;
    OK("blk 0x%lx: capacity %lu sectors, features 0x%lx", b, cap, feat);
    int st = blk_rw(b, q, 0, 0);
    if (st != 0) { BAD("blk read sector 0: status %d", st); return; }
    char text[33];
    for (int i = 0; i < 32; i++) text[i] = buf[i] >= 0x20 && buf[i] < 0x7f ? (char)buf[i] : '.';
    text[32] = 0;
    OK("blk read sector 0: \"%s\"", text);
    uint8_t first16[16];
    memcpy(first16, buf, 16);
    memset(buf, 0, 512);
    const char *msg = "vmkit-x86 virtio guest wrote sector 1; sector 0 began: ";
    size_t ml = strlen(msg);
    memcpy(buf, msg, ml);
    memcpy(buf + ml, first16, 16);
    if ((st = blk_rw(b, q, 1, 1)) != 0) { BAD("blk write sector 1: status %d", st); return; }
    OK("blk write sector 1");
    if (feat >> BLK_F_FLUSH & 1) {
        if ((st = blk_rw(b, q, 4, 0)) != 0) { BAD("blk flush: status %d", st); return; }
        OK("blk flush");
    } else {
        printf_serial("info blk: no flush feature\n");
    }
    memset(buf, 0, 512);
    if ((st = blk_rw(b, q, 0, 1)) != 0 || memcmp(buf, msg, ml) != 0) { BAD("blk read back sector 1: status %d", st); return; }
    OK("blk read back sector 1");
    /* out-of-range read: the device must fail the request (IOERR), not the VMM */
    st = blk_rw(b, q, 0, cap + 8);
    if (st == 1) OK("blk read past the end: IOERR");
    else BAD("blk read past the end: status %d", st);
}

/* Sets the blk device up again after a reset; returns its queue or NULL. */
static struct vq *blk_reinit(uint64_t b)
{
    uint64_t feat;
    if (dev_init(b, 1ull << BLK_F_FLUSH, &feat) < 0) return NULL;
    struct vq *q = queue_setup(b, 0);
    if (q) mmio_w32(b + R_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    return q;
}

/* Polls briefly for a completion that a failed device will never give. */
static int64_t submit_short(uint64_t b, struct vq *q, unsigned n)
{
    for (unsigned i = 0; i + 1 < n; i++) q->d[i].flags |= 1;
    q->avail.ring[q->avail.idx % QSZ] = 0;
    barrier();
    q->avail.idx++;
    barrier();
    mmio_w32(b + R_QNOTIFY, 0);
    for (uint32_t spin = 0; spin < 200000; spin++) {
        barrier();
        if (*(volatile uint16_t *)&q->used.idx != q->last_used) { q->last_used++; return q->used.ring[(q->last_used - 1) % QSZ].len; }
        if (mmio_r32(b + R_STATUS) & 0x40) return -2;            /* NEEDS_RESET */
    }
    return -1;
}

static void hostile_case(uint64_t b, const char *what, struct vq *q, unsigned n, int expect_fail)
{
    int64_t r = submit_short(b, q, n);
    uint32_t st = mmio_r32(b + R_STATUS);
    int failed = (st & 0x40) != 0;
    int refused = r >= 0 && req_status != 0;
    if (failed || refused || !expect_fail) OK("hostile %s: device %s (status 0x%x)", what, failed ? "failed (NEEDS_RESET)" : refused ? "refused the request" : "survived", st);
    else BAD("hostile %s: request completed? r=%ld status 0x%x req_status %u", what, r, st, req_status);
    struct vq *nq2 = blk_reinit(b);
    int rs = nq2 ? blk_rw(b, nq2, 0, 0) : -3;
    if (rs == 0 && !memcmp(buf, "VMKIT", 5)) OK("hostile %s: reset brings the device back (sector 0 read)", what);
    else BAD("hostile %s: after reset: read status %d", what, rs);
}

static void do_hostile(uint64_t b)
{
    struct vq *q = blk_reinit(b);
    if (!q) { BAD("hostile: blk reinit"); return; }
    req = (typeof(req)){ 0, 0, 0 };
    req_status = 0xff;
    q->d[0] = (struct desc){ 0xfff00000000ull, sizeof req, 0, 1 };               /* header outside RAM */
    q->d[1] = (struct desc){ (uint64_t)buf, 512, 2, 2 };
    q->d[2] = (struct desc){ (uint64_t)&req_status, 1, 2, 0 };
    hostile_case(b, "descriptor outside RAM", q, 3, 1);
    q = &queues[nq - 1];
    q->d[0] = (struct desc){ (uint64_t)&req, sizeof req, 1, 0 };                  /* next = itself */
    req_status = 0xff;
    hostile_case(b, "descriptor loop", q, 1, 1);
    q = &queues[nq - 1];
    q->d[0] = (struct desc){ (uint64_t)&req, sizeof req, 0, 0 };
    q->avail.idx += 1000;                                                           /* index jump */
    req_status = 0xff;
    hostile_case(b, "avail index jump", q, 1, 1);
    q = &queues[nq - 1];
    q->d[0] = (struct desc){ (uint64_t)&req, 0xffffffffu, 1, 1 };                  /* 4 GiB header */
    q->d[1] = (struct desc){ (uint64_t)&req_status, 1, 2, 0 };
    req_status = 0xff;
    hostile_case(b, "4 GiB descriptor", q, 2, 1);
    /* bad queue size, then garbage everywhere in the register window */
    mmio_w32(b + R_STATUS, 0);
    mmio_w32(b + R_QSEL, 0);
    mmio_w32(b + R_QNUM, 3);
    mmio_w32(b + R_QREADY, 1);
    uint32_t x = 0x12345678;
    for (unsigned off = 0; off < 0x200; off += 4) {
        x = x * 1103515245u + 12345u;
        if (off != R_QNOTIFY) mmio_w32(b + off, x);
        (void)mmio_r32(b + off);
    }
    mmio_w32(b + R_QNOTIFY, 0);
    OK("hostile garbage register writes: VMM still running (status 0x%x)", mmio_r32(b + R_STATUS));
    struct vq *q2 = blk_reinit(b);
    int rs = q2 ? blk_rw(b, q2, 0, 0) : -3;
    if (rs == 0 && !memcmp(buf, "VMKIT", 5)) OK("hostile garbage: reset brings the device back");
    else BAD("hostile garbage: after reset: read status %d", rs);
}

static void do_rng(uint64_t b)
{
    uint64_t feat;
    if (dev_init(b, 0, &feat) < 0) { BAD("rng 0x%lx: feature negotiation", b); return; }
    struct vq *q = queue_setup(b, 0);
    if (!q) { BAD("rng 0x%lx: queue setup", b); return; }
    mmio_w32(b + R_STATUS, ST_ACK | ST_DRIVER | ST_FEATURES_OK | ST_DRIVER_OK);
    memset(buf, 0, 64);
    q->d[0] = (struct desc){ (uint64_t)buf, 64, 2, 0 };
    int64_t len = submit(b, q, 0, 1);
    unsigned nz = 0;
    for (int i = 0; i < 64; i++) nz += buf[i] != 0;
    if (len > 0 && len <= 64 && nz > 0) OK("rng 0x%lx: %ld random bytes (%u non-zero)", b, len, nz);
    else BAD("rng 0x%lx: got %ld bytes (%u non-zero)", b, len, nz);
}

int guest_main(const uint8_t *zp)
{
    unsigned found = 0;
    const char *v;
    for (unsigned i = 0; (v = cmdline_arg(zp, "virtio_mmio.device", i)) != NULL; i++) {
        const char *e;
        uint64_t size = parse_num(v, &e);
        if (*e != '@') { BAD("cannot parse virtio_mmio.device=%s", v); continue; }
        uint64_t base = parse_num(e + 1, &e);
        uint64_t irq = *e == ':' ? parse_num(e + 1, NULL) : 0;
        found++;
        uint32_t magic = mmio_r32(base + R_MAGIC), ver = mmio_r32(base + R_VERSION), id = mmio_r32(base + R_DEVICE);
        printf_serial("virtio: window 0x%lx size 0x%lx irq %lu: magic 0x%x version %u device %u\n", base, size, irq,
                      magic, ver, id);
        if (magic != VIRTIO_MAGIC || ver != 2) { BAD("virtio 0x%lx: not a virtio-mmio v2 window", base); continue; }
        if (id == 2) do_blk(base);
        else if (id == 4) do_rng(base);
        else if (id == 0) printf_serial("info virtio 0x%lx: no device\n", base);
        else printf_serial("info virtio 0x%lx: device %u not driven here\n", base, id);
    }
    if (!found) BAD("no virtio_mmio.device= on the command line");
    if ((v = cmdline_arg(zp, "virtio.hostile", 0)) && *v == '1') {
        for (unsigned i = 0; (v = cmdline_arg(zp, "virtio_mmio.device", i)) != NULL; i++) {
            const char *e;
            (void)parse_num(v, &e);
            uint64_t base = parse_num(e + 1, &e);
            if (mmio_r32(base + R_MAGIC) == VIRTIO_MAGIC && mmio_r32(base + R_DEVICE) == 2) { do_hostile(base); break; }
        }
    }
    printf_serial("virtio: %d failures\n", fails);
    return fails;
}
