/* test_queue.c — unit tests for the event loop (timers, fd callbacks, cross-thread vmk_loop_call, poll
 * hooks) and the virtio devices driven exactly as a guest driver would: MMIO register writes, rings in
 * guest memory, notify, then the loop thread processes the queue and we check the used ring and data.
 * Covers blk (read/write/flush/get-id/discard, RO refusal, out-of-range), rng, console, and every
 * malformed-ring case (device goes NEEDS_RESET, no crash, reset recovers). */
#include "../test.h"
#include "virtio/virtio.h"
#include "virtio/virtio_impl.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "vdriver.h"

/* ---------------- mock chardev for virtio-console ---------------- */
static vmk_chr_rx chr_rx_cb;
static void *chr_rx_opaque;
static uint8_t chr_out[4096];
static _Atomic size_t chr_out_len;
static _Atomic int chr_accepting = 1;
void vmk_chr_set_rx(vmk_chardev *c, vmk_chr_rx rx, void *opaque) { (void)c; chr_rx_cb = rx; chr_rx_opaque = opaque; }
void vmk_chr_accept(vmk_chardev *c, bool can) { (void)c; atomic_store(&chr_accepting, can); }
void vmk_chr_write(vmk_chardev *c, const uint8_t *buf, size_t len)
{
    (void)c;
    size_t o = atomic_load(&chr_out_len);
    if (len > sizeof chr_out - o) len = sizeof chr_out - o;
    memcpy(chr_out + o, buf, len);
    atomic_store(&chr_out_len, o + len);
}

/* ---------------- loop tests ---------------- */
static _Atomic int fired[4], calls_done, hook_pre, hook_post, fd_hits;
static void tcb(void *o) { atomic_fetch_add(&fired[(intptr_t)o], 1); }
static void call_cb(void *o) { (void)o; atomic_fetch_add(&calls_done, 1); }
static void pre_cb(void *o, int *t) { (void)o; (void)t; atomic_fetch_add(&hook_pre, 1); }
static void post_cb(void *o) { (void)o; atomic_fetch_add(&hook_post, 1); }
static void fd_cb(void *o, uint32_t ev)
{
    int fd = (int)(intptr_t)o;
    char c;
    if ((ev & EPOLLIN) && read(fd, &c, 1) == 1) atomic_fetch_add(&fd_hits, 1);
}
static void *caller_thread(void *arg)
{
    for (int i = 0; i < 1000; i++) vmk_loop_call(arg, call_cb, NULL);
    return NULL;
}

static _Atomic int slow_in, slow_done;
static void slow_cb(void *o, uint32_t ev)
{
    char c;
    (void)ev;
    if (read((int)(intptr_t)o, &c, 1) != 1) return;
    atomic_store(&slow_in, 1);
    msleep(50);
    atomic_store(&slow_done, 1);
}

static void test_loop_del_waits(void)
{
    TEST_BEGIN("loop_del_fd_waits_for_running_callback");
    vmk_loop *l = vmk_loop_new();
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(vmk_loop_add_fd(l, p[0], EPOLLIN, slow_cb, (void *)(intptr_t)p[0]) == 0);
    vmk_loop_start(l);
    CHECK(write(p[1], "x", 1) == 1);
    for (int i = 0; i < 1000 && !atomic_load(&slow_in); i++) msleep(1);
    vmk_loop_del_fd(l, p[0]);
    CHECK(atomic_load(&slow_in) && atomic_load(&slow_done));   /* after del returns, the callback is over */
    CHECK(write(p[1], "y", 1) == 1);
    msleep(20);
    vmk_loop_stop(l);
    vmk_loop_free(l);
    close(p[0]); close(p[1]);
    TEST_END();
}

static void test_loop(void)
{
    TEST_BEGIN("loop_timers_fds_calls");
    vmk_loop *l = vmk_loop_new();
    CHECK(l != NULL);
    uint64_t t0 = vmk_now_ns();
    vmk_loop_add_timer(l, t0 + 20000000, tcb, (void *)0);
    int id = vmk_loop_add_timer(l, t0 + 10000000, tcb, (void *)1);
    vmk_loop_add_timer(l, t0, tcb, (void *)2);
    vmk_loop_del_timer(l, id);
    vmk_loop_add_poll_hook(l, pre_cb, post_cb, NULL);
    int p[2];
    CHECK(pipe(p) == 0);
    CHECK(vmk_loop_add_fd(l, p[0], EPOLLIN, fd_cb, (void *)(intptr_t)p[0]) == 0);
    CHECK(vmk_loop_start(l) == 0);
    pthread_t th[2];
    pthread_create(&th[0], NULL, caller_thread, l);
    pthread_create(&th[1], NULL, caller_thread, l);
    CHECK(write(p[1], "abc", 3) == 3);
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
    for (int i = 0; i < 500 && (atomic_load(&fired[0]) == 0 || atomic_load(&calls_done) < 2000 || atomic_load(&fd_hits) < 3); i++) msleep(1);
    CHECK_EQ_U64(atomic_load(&fired[0]), 1);
    CHECK_EQ_U64(atomic_load(&fired[1]), 0);    /* deleted */
    CHECK_EQ_U64(atomic_load(&fired[2]), 1);
    CHECK(vmk_now_ns() - t0 >= 20000000);
    CHECK_EQ_U64(atomic_load(&calls_done), 2000);
    CHECK_EQ_U64(atomic_load(&fd_hits), 3);
    CHECK(atomic_load(&hook_pre) > 0 && atomic_load(&hook_post) > 0);
    /* mod_fd to 0 stops delivery */
    CHECK(vmk_loop_mod_fd(l, p[0], 0) == 0);
    CHECK(write(p[1], "d", 1) == 1);
    msleep(30);
    CHECK_EQ_U64(atomic_load(&fd_hits), 3);
    vmk_loop_del_fd(l, p[0]);
    CHECK(!vmk_loop_on_thread(l));
    vmk_loop_stop(l);
    vmk_loop_free(l);
    close(p[0]); close(p[1]);
    TEST_END();
}

/* ---------------- blk ---------------- */
static char disk_path[64];

static int make_disk(void)
{
    strcpy(disk_path, "/tmp/vmkit-test-blkXXXXXX");
    int fd = mkstemp(disk_path);
    if (fd < 0) return -1;
    uint8_t buf[512];
    for (int s = 0; s < 64; s++) {                 /* 32 KiB, sector s filled with byte s */
        memset(buf, s, sizeof buf);
        if (write(fd, buf, sizeof buf) != 512) return -1;
    }
    close(fd);
    return 0;
}

#define HDR  (RAM_BASE + 0x10000)
#define DATA (RAM_BASE + 0x11000)
#define STAT (RAM_BASE + 0x18000)

static void blk_hdr(uint32_t type, uint64_t sector)
{
    uint8_t *h = g(HDR);
    uint32_t z = 0;
    memcpy(h, &type, 4); memcpy(h + 4, &z, 4); memcpy(h + 8, &sector, 8);
    *(uint8_t *)g(STAT) = 0xee;
}

static int64_t blk_do(virtio_dev *d, uint32_t type, uint64_t sector, uint32_t dlen, bool dwrite)
{
    blk_hdr(type, sector);
    seg s[3] = { { HDR, 16, false }, { DATA, dlen, dwrite }, { STAT, 1, true } };
    if (dlen) post(d, 0, s, 3);
    else { s[1] = s[2]; post(d, 0, s, 2); }
    return wait_used(0, NULL);
}

static void test_blk(void)
{
    char err[VMK_ERRLEN];
    TEST_BEGIN("blk_read_write_flush_id");
    CHECK(make_disk() == 0);
    virtio_dev *d = virtio_blk_new(env(), disk_path, false, err, sizeof err);
    CHECK(d != NULL);
    if (!d) { TEST_END(); return; }
    CHECK(!strcmp(virtio_dev_name(d), "virtio-blk"));
    CHECK_EQ_U64(rd(d, 0x0), 0x74726976);
    CHECK_EQ_U64(rd(d, 0x4), 2);
    CHECK_EQ_U64(rd(d, 0x8), 2);
    CHECK_EQ_U64(virtio_mmio_ops.read(d, 0x100, 8), 64);      /* capacity */
    CHECK(driver_init(d, 1, (1ull << 32) | (1ull << 9) | (1ull << 28) | (1ull << 13)) == 0);
    /* read sectors 3..4 */
    memset(g(DATA), 0, 1024);
    CHECK_EQ_U64(blk_do(d, 0, 3, 1024, true), 1025);
    CHECK_EQ_U64(*(uint8_t *)g(STAT), 0);
    CHECK(((uint8_t *)g(DATA))[0] == 3 && ((uint8_t *)g(DATA))[1023] == 4);
    CHECK(atomic_load(&irq_level) == 1);
    CHECK(rd(d, 0x60) & 1);
    wr(d, 0x64, 1);
    CHECK(atomic_load(&irq_level) == 0);
    /* write sector 5 */
    memset(g(DATA), 0xab, 512);
    CHECK_EQ_U64(blk_do(d, 1, 5, 512, false), 1);
    CHECK_EQ_U64(*(uint8_t *)g(STAT), 0);
    int fd = open(disk_path, O_RDONLY);
    uint8_t b[512];
    CHECK(pread(fd, b, 512, 5 * 512) == 512 && b[0] == 0xab && b[511] == 0xab);
    CHECK(pread(fd, b, 512, 6 * 512) == 512 && b[0] == 6);
    /* flush */
    CHECK_EQ_U64(blk_do(d, 4, 0, 0, false), 1);
    CHECK_EQ_U64(*(uint8_t *)g(STAT), 0);
    /* get id */
    memset(g(DATA), 0, 20);
    CHECK(blk_do(d, 8, 0, 20, true) > 1);
    CHECK(!memcmp(g(DATA), "vmkit-test-blk", 14));
    /* out of range: last sector ok, one past -> IOERR, huge sector -> IOERR */
    CHECK_EQ_U64(blk_do(d, 0, 63, 512, true), 513);
    CHECK_EQ_U64(*(uint8_t *)g(STAT), 0);
    blk_do(d, 0, 63, 1024, true);
    CHECK_EQ_U64(*(uint8_t *)g(STAT), 1);
    blk_do(d, 1, 0xffffffffffffffffull, 512, false);
    CHECK_EQ_U64(*(uint8_t *)g(STAT), 1);
    blk_do(d, 0, 0, 100, true);                               /* not a sector multiple */
    CHECK_EQ_U64(*(uint8_t *)g(STAT), 1);
    blk_do(d, 99, 0, 0, false);                               /* unknown type */
    CHECK_EQ_U64(*(uint8_t *)g(STAT), 2);
    /* discard sectors 8..9 reads back zero */
    struct { uint64_t sector; uint32_t num, flags; } dz = { 8, 2, 0 };
    memcpy(g(DATA), &dz, 16);
    CHECK_EQ_U64(blk_do(d, 11, 0, 16, false), 1);
    CHECK_EQ_U64(*(uint8_t *)g(STAT), 0);
    CHECK(pread(fd, b, 512, 9 * 512) == 512 && b[0] == 0 && b[511] == 0);
    CHECK(pread(fd, b, 512, 10 * 512) == 512 && b[0] == 10);
    /* indirect read of sector 7 */
    blk_hdr(0, 7);
    uint64_t itab = RAM_BASE + 0x19000;
    gq tmp = { .desc = itab, .num = 3 };
    put_desc(&tmp, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(&tmp, 1, DATA, 512, VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 2);
    put_desc(&tmp, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
    uint16_t h = gqs[0].next_desc;
    put_desc(&gqs[0], h, itab, 48, VIRTQ_DESC_F_INDIRECT, 0);
    gqs[0].next_desc = (uint16_t)((h + 1) % QNUM);
    publish(d, 0, h);
    CHECK_EQ_U64(wait_used(0, NULL), 513);
    CHECK(*(uint8_t *)g(STAT) == 0 && ((uint8_t *)g(DATA))[0] == 7);
    virtio_stats st;
    virtio_dev_get_stats(d, &st);
    CHECK(st.rd_reqs >= 2 && st.wr_reqs == 1 && st.flushes == 1 && st.wr_bytes == 512);
    CHECK(!virtio_dev_is_broken(d));
    close(fd);
    virtio_dev_free(d);
    TEST_END();

    TEST_BEGIN("blk_readonly");
    d = virtio_blk_new(env(), disk_path, true, err, sizeof err);
    CHECK(d != NULL);
    if (d) {
        wr(d, 0x14, 0);
        CHECK(rd(d, 0x10) & (1u << 5));                       /* F_RO */
        CHECK(driver_init(d, 1, (1ull << 32) | (1ull << 5)) == 0);
        memset(g(DATA), 0x77, 512);
        blk_do(d, 1, 1, 512, false);
        CHECK_EQ_U64(*(uint8_t *)g(STAT), 1);
        fd = open(disk_path, O_RDONLY);
        CHECK(pread(fd, b, 512, 512) == 512 && b[0] == 1);
        close(fd);
        CHECK_EQ_U64(blk_do(d, 0, 2, 512, true), 513);
        CHECK(*(uint8_t *)g(STAT) == 0 && ((uint8_t *)g(DATA))[0] == 2);
        virtio_dev_free(d);
    }
    TEST_END();

    TEST_BEGIN("blk_throughput");
    d = virtio_blk_new(env(), disk_path, false, err, sizeof err);
    CHECK(d != NULL);
    if (d) {
        /* batches of 5 x 4 KiB reads per notify (3 descriptors each in a 16-entry queue) */
        CHECK(driver_init(d, 1, (1ull << 32)) == 0);
        const int batches = 4000;
        uint64_t t0 = vmk_now_ns();
        int bad = 0;
        for (int b = 0; b < batches && !bad; b++) {
            for (int k = 0; k < 5; k++) {
                uint64_t h = HDR + 32ull * (unsigned)k;
                uint32_t type = 0;
                uint64_t sector = (uint64_t)((b * 5 + k) % 56);
                memcpy(g(h), &type, 4); memcpy((uint8_t *)g(h) + 8, &sector, 8);
                seg s3[3] = { { h, 16, false }, { DATA + 4096ull * (unsigned)k, 4096, true }, { STAT + (unsigned)k, 1, true } };
                gqs[0].next_desc = (uint16_t)(3 * k);
                post(d, 0, s3, 3);
            }
            for (int k = 0; k < 5; k++) if (wait_used(0, NULL) != 4097) bad = 1;
        }
        double secs = (double)(vmk_now_ns() - t0) / 1e9;
        CHECK(!bad);
        printf("  blk: %d x 4 KiB reads in %.3f s: %.0f req/s, %.1f MB/s (loop thread + preadv, page cache)\n",
               batches * 5, secs, batches * 5 / secs, batches * 5 * 4096.0 / secs / 1e6);
        virtio_dev_free(d);
    }
    TEST_END();

    TEST_BEGIN("blk_bad_path");
    d = virtio_blk_new(env(), "/nonexistent/disk.img", false, err, sizeof err);
    CHECK(d == NULL && strstr(err, "/nonexistent/disk.img"));
    TEST_END();

    TEST_BEGIN("transport_feature_negotiation");
    d = virtio_blk_new(env(), disk_path, false, err, sizeof err);
    CHECK(d != NULL);
    if (d) {
        wr(d, 0x70, 0); wr(d, 0x70, 3);
        wr(d, 0x24, 0); wr(d, 0x20, 1u << 9);
        wr(d, 0x24, 1); wr(d, 0x20, 0);                       /* no VERSION_1: refused */
        wr(d, 0x70, 3 | 8);
        CHECK(!(rd(d, 0x70) & 8));
        wr(d, 0x70, 0);
        CHECK_EQ_U64(rd(d, 0x70), 0);
        wr(d, 0x70, 3);
        wr(d, 0x24, 1); wr(d, 0x20, 1 | (1u << 20));          /* unknown feature bit: refused */
        wr(d, 0x70, 3 | 8);
        CHECK(!(rd(d, 0x70) & 8));
        CHECK(driver_init(d, 1, 1ull << 32) == 0);
        wr(d, 0x30, 5);
        CHECK_EQ_U64(rd(d, 0x34), 0);                         /* nonexistent queue */
        CHECK(!virtio_dev_is_broken(d));
        virtio_dev_free(d);
    }
    TEST_END();
}

/* ---------------- malformed rings ---------------- */
typedef void (*bad_fn)(virtio_dev *d);
static void bad_addr(virtio_dev *d) { seg s[2] = { { RAM_BASE + RAM_SIZE - 8, 16, false }, { STAT, 1, true } }; post(d, 0, s, 2); }
static void bad_overflow(virtio_dev *d) { seg s[2] = { { 0xfffffffffffffff0ull, 32, false }, { STAT, 1, true } }; post(d, 0, s, 2); }
static void bad_len(virtio_dev *d) { seg s[2] = { { HDR, 0xffffffffu, false }, { STAT, 1, true } }; post(d, 0, s, 2); }
static void bad_below(virtio_dev *d) { seg s[2] = { { 0x1000, 16, false }, { STAT, 1, true } }; post(d, 0, s, 2); }
static void bad_loop(virtio_dev *d)
{
    put_desc(&gqs[0], 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(&gqs[0], 1, HDR, 16, VIRTQ_DESC_F_NEXT, 0);
    publish(d, 0, 0);
}
static void bad_next(virtio_dev *d) { put_desc(&gqs[0], 0, HDR, 16, VIRTQ_DESC_F_NEXT, 200); publish(d, 0, 0); }
static void bad_head(virtio_dev *d) { publish(d, 0, 40); }
static void bad_jump(virtio_dev *d)
{
    seg s[2] = { { HDR, 16, false }, { STAT, 1, true } };
    gqs[0].avail_idx = 100;
    post(d, 0, s, 2);
}
static void bad_nested(virtio_dev *d)
{
    uint64_t itab = RAM_BASE + 0x19000;
    gq tmp = { .desc = itab, .num = 2 };
    put_desc(&tmp, 0, itab, 32, VIRTQ_DESC_F_INDIRECT, 0);
    put_desc(&gqs[0], 0, itab, 32, VIRTQ_DESC_F_INDIRECT, 0);
    publish(d, 0, 0);
}
static void bad_indirect_len(virtio_dev *d)
{
    put_desc(&gqs[0], 0, RAM_BASE + 0x19000, 24, VIRTQ_DESC_F_INDIRECT, 0);
    publish(d, 0, 0);
}
static void bad_indirect_loop(virtio_dev *d)
{
    uint64_t itab = RAM_BASE + 0x19000;
    gq tmp = { .desc = itab, .num = 2 };
    put_desc(&tmp, 0, HDR, 16, VIRTQ_DESC_F_NEXT, 1);
    put_desc(&tmp, 1, HDR, 16, VIRTQ_DESC_F_NEXT, 0);
    put_desc(&gqs[0], 0, itab, 32, VIRTQ_DESC_F_INDIRECT, 0);
    publish(d, 0, 0);
}
static void bad_indirect_next(virtio_dev *d)
{
    put_desc(&gqs[0], 0, RAM_BASE + 0x19000, 32, VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
    publish(d, 0, 0);
}
static void bad_write_then_read(virtio_dev *d)
{
    seg s[3] = { { STAT, 1, true }, { HDR, 16, false }, { STAT, 1, true } };
    post(d, 0, s, 3);
}
static void bad_no_status(virtio_dev *d) { seg s[1] = { { HDR, 16, false } }; post(d, 0, s, 1); }
static void bad_qsize(virtio_dev *d) { wr(d, 0x30, 0); wr(d, 0x44, 0); wr(d, 0x38, 3); }
static void bad_ring_addr(virtio_dev *d)
{
    wr(d, 0x30, 0); wr(d, 0x44, 0);
    wr(d, 0x80, 0xfffff000u); wr(d, 0x84, 0xffffffffu);
    wr(d, 0x44, 1);
}

/* Random rings: random descriptors (addresses in, near and outside RAM, random lengths, flags and
 * next indexes), random request headers and avail indexes, processed synchronously. The host must
 * never crash (run under ASan/UBSan), the disk file never grows, and a reset always recovers. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void) { rng_state ^= rng_state << 13; rng_state ^= rng_state >> 7; rng_state ^= rng_state << 17; return rng_state; }
static uint64_t rnd_addr(void)
{
    switch (rnd() % 6) {
    case 0: return RAM_BASE + 0x10000 + rnd() % 0x10000;                 /* data area */
    case 1: return RAM_BASE + RAM_SIZE - rnd() % 64;                     /* straddling the end */
    case 2: return rnd();                                                /* anywhere */
    case 3: return RAM_BASE - 1 - rnd() % 4096;                          /* just below */
    case 4: return RAM_BASE + 0x19000;                                   /* indirect table area */
    default: return HDR;
    }
}

static void test_fuzz(void)
{
    char err[VMK_ERRLEN];
    TEST_BEGIN("malformed_random_rings");
    virtio_dev *d = virtio_blk_new(env(), disk_path, false, err, sizeof err);
    CHECK(d != NULL);
    if (!d) { TEST_END(); return; }
    struct stat st0, st1;
    stat(disk_path, &st0);
    int broken = 0, iters = 3000, lvl = vmk_log_level;
    vmk_log_level = VMK_LOG_ERROR;                             /* one warning per broken ring is expected */
    for (int it = 0; it < iters; it++) {
        if (driver_init(d, 1, (1ull << 32) | (1ull << 28) | (1ull << 13) | (1ull << 14) | ((uint64_t)(it & 1) << 29)) != 0) { CHECK(0); break; }
        gq *Q = &gqs[0];
        for (unsigned i = 0; i < QNUM; i++) {
            uint32_t lens[] = { 0, 1, 16, 512, 4096, (uint32_t)rnd(), (uint32_t)(rnd() % 8192) };
            put_desc(Q, (uint16_t)i, rnd_addr(), lens[rnd() % 7], (uint16_t)(rnd() % 8), (uint16_t)(rnd() % (QNUM + 2)));
        }
        if (rnd() % 2) {                                       /* a plausible chain with random contents */
            uint32_t dl[] = { 0, 16, 100, 512, 1024, 4096, (uint32_t)(rnd() % 65536) };
            put_desc(Q, 0, HDR, (uint32_t)(rnd() % 4 ? 16 : rnd() % 32), VIRTQ_DESC_F_NEXT, 1);
            put_desc(Q, 1, DATA, dl[rnd() % 7], (uint16_t)(VIRTQ_DESC_F_NEXT | (rnd() % 2 ? VIRTQ_DESC_F_WRITE : 0)), 2);
            put_desc(Q, 2, STAT, 1, VIRTQ_DESC_F_WRITE, 0);
        }
        uint8_t *itab = g(RAM_BASE + 0x19000);
        for (unsigned i = 0; i < 256; i++) itab[i] = (uint8_t)rnd();
        uint32_t types[] = { 0, 1, 4, 8, 11, 13, (uint32_t)rnd() };
        uint32_t ty = types[rnd() % 7];
        uint64_t sec = rnd() % 4 ? rnd() % 80 : rnd();
        memcpy(g(HDR), &ty, 4); memcpy((uint8_t *)g(HDR) + 8, &sec, 8);
        for (unsigned i = 0; i < 64; i++) ((uint8_t *)g(DATA))[i] = (uint8_t)rnd();   /* discard segments */
        uint16_t *ring = g(Q->avail + 4);
        for (unsigned i = 0; i < QNUM; i++) ring[i] = (uint16_t)(rnd() % 4 ? (rnd() % 2 ? 0 : rnd() % QNUM) : rnd());
        uint16_t aidx = (uint16_t)(rnd() % 4 ? rnd() % (QNUM + 1) : rnd());
        atomic_store_explicit((_Atomic uint16_t *)g(Q->avail + 2), aidx, memory_order_release);
        atomic_fetch_or(&d->pending, 1u);
        virtio_dev_process(d);
        broken += virtio_dev_is_broken(d);
        if (!virtio_dev_is_broken(d)) CHECK(used_idx(0) <= aidx);
        wr(d, 0x64, 3);
    }
    vmk_log_level = lvl;
    stat(disk_path, &st1);
    CHECK_EQ_U64(st1.st_size, st0.st_size);
    CHECK(broken > 0 && broken < iters);
    /* still healthy after a reset */
    CHECK(driver_init(d, 1, 1ull << 32) == 0);
    CHECK_EQ_U64(blk_do(d, 0, 1, 512, true), 513);
    CHECK(!virtio_dev_is_broken(d));
    printf("  %d random rings, %d made the device NEEDS_RESET\n", iters, broken);
    virtio_dev_free(d);
    TEST_END();
}

static void test_malformed(void)
{
    static const struct { const char *name; bad_fn fn; } cases[] = {
        { "desc_outside_ram", bad_addr }, { "desc_addr_overflow", bad_overflow }, { "desc_len_huge", bad_len },
        { "desc_below_ram", bad_below }, { "desc_loop", bad_loop }, { "next_out_of_range", bad_next },
        { "head_out_of_range", bad_head }, { "avail_idx_jump", bad_jump }, { "indirect_in_indirect", bad_nested },
        { "indirect_len_odd", bad_indirect_len }, { "indirect_loop", bad_indirect_loop },
        { "indirect_with_next", bad_indirect_next }, { "readable_after_writable", bad_write_then_read },
        { "blk_no_status_byte", bad_no_status }, { "queue_size_not_pow2", bad_qsize }, { "ring_outside_ram", bad_ring_addr },
    };
    char err[VMK_ERRLEN], name[80];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        snprintf(name, sizeof name, "malformed_%s", cases[i].name);
        TEST_BEGIN(name);
        virtio_dev *d = virtio_blk_new(env(), disk_path, false, err, sizeof err);
        CHECK(d != NULL);
        if (!d) { TEST_END(); continue; }
        CHECK(driver_init(d, 1, (1ull << 32) | (1ull << 28)) == 0);
        int raises = atomic_load(&irq_raises);
        cases[i].fn(d);
        CHECK(wait_broken(d));
        CHECK(rd(d, 0x70) & 64);                               /* DEVICE_NEEDS_RESET */
        CHECK(rd(d, 0x60) & 2);                                /* config-change interrupt */
        CHECK(atomic_load(&irq_raises) > raises || atomic_load(&irq_level));
        /* further notifies are ignored, then a reset brings the device back */
        seg s[3] = { { HDR, 16, false }, { DATA, 512, true }, { STAT, 1, true } };
        blk_hdr(0, 1);
        post(d, 0, s, 3);
        msleep(5);
        wr(d, 0x64, 3);
        CHECK(driver_init(d, 1, 1ull << 32) == 0);
        CHECK(!virtio_dev_is_broken(d));
        CHECK(!(rd(d, 0x70) & 64));
        CHECK_EQ_U64(blk_do(d, 0, 1, 512, true), 513);
        CHECK(*(uint8_t *)g(STAT) == 0 && ((uint8_t *)g(DATA))[0] == 1);
        virtio_dev_free(d);
        TEST_END();
    }
    TEST_BEGIN("malformed_indirect_unnegotiated");
    virtio_dev *d = virtio_blk_new(env(), disk_path, false, err, sizeof err);
    CHECK(d && driver_init(d, 1, 1ull << 32) == 0);
    if (d) {
        put_desc(&gqs[0], 0, RAM_BASE + 0x19000, 32, VIRTQ_DESC_F_INDIRECT, 0);
        publish(d, 0, 0);
        CHECK(wait_broken(d));
        virtio_dev_free(d);
    }
    TEST_END();
}

/* ---------------- rng and console ---------------- */
static void test_rng(void)
{
    char err[VMK_ERRLEN];
    TEST_BEGIN("rng_fills_buffers");
    virtio_dev *d = virtio_rng_new(env(), err, sizeof err);
    CHECK(d != NULL);
    if (d) {
        CHECK_EQ_U64(rd(d, 0x8), 4);
        CHECK(driver_init(d, 1, 1ull << 32) == 0);
        memset(g(DATA), 0, 256);
        seg s[2] = { { DATA, 64, true }, { DATA + 64, 192, true } };
        post(d, 0, s, 2);
        CHECK_EQ_U64(wait_used(0, NULL), 256);
        int nz = 0;
        for (int i = 0; i < 256; i++) nz += ((uint8_t *)g(DATA))[i] != 0;
        CHECK(nz > 200);
        virtio_dev_free(d);
    }
    TEST_END();
}

static void test_event_idx(void)
{
    char err[VMK_ERRLEN];
    TEST_BEGIN("event_idx_suppression");
    virtio_dev *d = virtio_rng_new(env(), err, sizeof err);
    CHECK(d != NULL);
    if (!d) { TEST_END(); return; }
    wr(d, 0x14, 0);
    CHECK(rd(d, 0x10) & (1u << 29));
    CHECK(driver_init(d, 1, (1ull << 32) | (1ull << 29)) == 0);
    gq *Q = &gqs[0];
    _Atomic uint16_t *used_event = g(Q->avail + 4 + 2 * QNUM), *avail_event = g(Q->used + 4 + 8 * QNUM);
    seg s = { DATA, 16, true };
    atomic_store(used_event, 0);                       /* interrupt after the first buffer */
    wr(d, 0x64, 3);
    post(d, 0, &s, 1);
    CHECK_EQ_U64(wait_used(0, NULL), 16);
    msleep(5);
    CHECK(rd(d, 0x60) & 1);
    CHECK_EQ_U64(atomic_load(avail_event), 1);         /* device found the ring empty at index 1 */
    wr(d, 0x64, 3);
    atomic_store(used_event, 5);                       /* not before the 6th used buffer */
    for (int i = 0; i < 4; i++) { post(d, 0, &s, 1); CHECK_EQ_U64(wait_used(0, NULL), 16); }
    msleep(5);
    CHECK_EQ_U64(rd(d, 0x60) & 1, 0);                  /* used idx 5: suppressed */
    CHECK_EQ_U64(atomic_load(avail_event), 5);
    post(d, 0, &s, 1);                                 /* used idx 6 passes used_event 5 */
    CHECK_EQ_U64(wait_used(0, NULL), 16);
    msleep(5);
    CHECK(rd(d, 0x60) & 1);
    wr(d, 0x64, 3);
    virtio_dev_free(d);
    TEST_END();
}

static void test_console(void)
{
    char err[VMK_ERRLEN];
    TEST_BEGIN("console_tx_rx");
    virtio_dev *d = virtio_console_new(env(), (vmk_chardev *)&chr_out, err, sizeof err);
    CHECK(d != NULL && chr_rx_cb != NULL);
    if (!d) { TEST_END(); return; }
    CHECK_EQ_U64(rd(d, 0x8), 3);
    CHECK(driver_init(d, 2, 1ull << 32) == 0);
    chr_rx_cb(chr_rx_opaque, (const uint8_t *)"hi", 2);          /* no RX buffer yet: kept, input paused */
    CHECK(!atomic_load(&chr_accepting));
    seg rx = { DATA, 64, true };
    memset(g(DATA), 0, 64);
    post(d, 0, &rx, 1);
    CHECK_EQ_U64(wait_used(0, NULL), 2);
    CHECK(!memcmp(g(DATA), "hi", 2));
    /* the loop thread re-enables input just after publishing the used entry: allow it a moment */
    for (int i = 0; i < 1000 && !atomic_load(&chr_accepting); i++) msleep(1);
    CHECK(atomic_load(&chr_accepting));
    memcpy(g(DATA + 0x100), "hello", 5);
    seg tx = { DATA + 0x100, 5, false };
    post(d, 1, &tx, 1);
    CHECK_EQ_U64(wait_used(1, NULL), 0);
    CHECK(atomic_load(&chr_out_len) == 5 && !memcmp(chr_out, "hello", 5));
    chr_rx_cb(chr_rx_opaque, (const uint8_t *)"xyz", 3);         /* no buffer posted: waits */
    msleep(5);
    CHECK(!atomic_load(&chr_accepting));
    post(d, 0, &rx, 1);
    CHECK_EQ_U64(wait_used(0, NULL), 3);
    CHECK(!memcmp(g(DATA), "xyz", 3));
    virtio_stats st;
    virtio_dev_get_stats(d, &st);
    CHECK(st.tx_bytes == 5 && st.rx_bytes == 5);
    virtio_dev_free(d);
    CHECK(chr_rx_cb == NULL);
    TEST_END();
}

int main(void)
{
    vmk_log_init();
    char err[VMK_ERRLEN];
    if (vmk_mem_init(&mem, RAM_BASE, RAM_SIZE, err, sizeof err) < 0) { printf("FAIL mem: %s\n", err); return 1; }
    test_loop();
    test_loop_del_waits();
    loop = vmk_loop_new();
    vmk_loop_start(loop);
    test_blk();
    test_malformed();
    test_fuzz();
    test_rng();
    test_console();
    test_event_idx();
    vmk_loop_stop(loop);
    vmk_loop_free(loop);
    unlink(disk_path);
    vmk_mem_free(&mem);
    TEST_EXIT();
}
