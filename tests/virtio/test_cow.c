/* test_cow.c — the copy-on-write overlay (cow.c): create, random writes/reads against a reference
 * buffer, the base never written, reopen after close, a flushed write survives a process killed
 * without cleanup, two overlays of one base diverge, hostile headers (every field) and a changed base
 * are refused, the overlay behind a virtio-blk device. Prints create time and throughput vs raw. */
#define _GNU_SOURCE
#include "../test.h"
#include "vdriver.h"
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define BASE_SIZE ((4u << 20) + 12345u)    /* not a multiple of the cluster (or of a sector) */
static char dir[64], base[128], ov1[128], ov2[128];
static uint8_t *ref;

static void rnd(uint8_t *p, size_t n, unsigned *seed) { for (size_t i = 0; i < n; i++) p[i] = (uint8_t)rand_r(seed); }

static uint64_t file_hash(const char *path)
{
    int fd = open(path, O_RDONLY);
    uint8_t b[65536];
    uint64_t h = 1469598103934665603ull;
    ssize_t n;
    while ((n = read(fd, b, sizeof b)) > 0)
        for (ssize_t i = 0; i < n; i++) h = (h ^ b[i]) * 1099511628211ull;
    close(fd);
    return h;
}

static vcow *open_ov(const char *path, bool ro, int *fdp, char *err)
{
    int fd = open(path, ro ? O_RDONLY : O_RDWR);
    uint64_t size = 0;
    vcow *c = fd >= 0 ? vcow_open(fd, path, ro, &size, err, VMK_ERRLEN) : NULL;
    if (!c && fd >= 0) close(fd);
    if (c && size != BASE_SIZE) { printf("  size %llu\n", (unsigned long long)size); }
    *fdp = c ? fd : -1;
    return c;
}
static void close_ov(vcow *c, int fd) { vcow_close(c); close(fd); }

static int io(vcow *c, void *p, uint64_t off, uint64_t len, bool wr)
{
    struct iovec v[3];     /* split in three segments to exercise the iovec walk */
    uint64_t a = len / 3, b = len / 3;
    v[0] = (struct iovec){ p, a };
    v[1] = (struct iovec){ (uint8_t *)p + a, b };
    v[2] = (struct iovec){ (uint8_t *)p + a + b, len - a - b };
    return vcow_rw(c, v, 3, off, len, wr);
}

static bool matches(vcow *c, const uint8_t *want)
{
    uint8_t *got = malloc(BASE_SIZE);
    bool ok = io(c, got, 0, BASE_SIZE, false) == 0 && memcmp(got, want, BASE_SIZE) == 0;
    free(got);
    return ok;
}

/* rewrites the header field at off (size 4 or 8) and fixes the CRC so that only the field check can refuse */
static void patch(const char *path, unsigned off, uint64_t v, unsigned size, bool fix_crc)
{
    int fd = open(path, O_RDWR);
    uint8_t h[4096];
    if (pread(fd, h, sizeof h, 0) != (ssize_t)sizeof h) { close(fd); return; }
    for (unsigned i = 0; i < size; i++) h[off + i] = (uint8_t)(v >> (8 * i));
    if (fix_crc) {
        memset(h + 76, 0, 4);
        uint32_t crc = vmk_crc32c(0, h, sizeof h);
        memcpy(h + 76, &crc, 4);
    }
    if (pwrite(fd, h, sizeof h, 0) != (ssize_t)sizeof h) printf("  patch failed\n");
    close(fd);
}

int main(void)
{
    char err[VMK_ERRLEN];
    strcpy(dir, "/tmp/vmkit-test-cowXXXXXX");
    if (!mkdtemp(dir)) { SKIP("cow", "cannot create a temp dir"); return 0; }
    snprintf(base, sizeof base, "%s/base.img", dir);
    snprintf(ov1, sizeof ov1, "%s/a.cow", dir);
    snprintf(ov2, sizeof ov2, "%s/b.cow", dir);
    unsigned seed = 42;
    ref = malloc(BASE_SIZE);
    rnd(ref, BASE_SIZE, &seed);
    int bfd = open(base, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    CHECK(write(bfd, ref, BASE_SIZE) == (ssize_t)BASE_SIZE);
    close(bfd);
    uint64_t base_hash = file_hash(base);

    TEST_BEGIN("cow_create_rw_reopen");
    {
        uint64_t t0 = vmk_now_ns();
        CHECK(virtio_cow_create(ov1, base, err, sizeof err) == 0);
        printf("  overlay create: %llu us\n", (unsigned long long)(vmk_now_ns() - t0) / 1000);
        int fd;
        vcow *c = open_ov(ov1, false, &fd, err);
        CHECK(c != NULL);
        if (c) {
            CHECK(matches(c, ref));                               /* all from the base */
            uint8_t *buf = malloc(200000);
            for (int i = 0; i < 300; i++) {                       /* random writes, some across clusters */
                uint64_t len = 1 + (unsigned)rand_r(&seed) % 150000, off = (unsigned)rand_r(&seed) % BASE_SIZE;
                if (off + len > BASE_SIZE) len = BASE_SIZE - off;
                rnd(buf, len, &seed);
                CHECK(io(c, buf, off, len, true) == 0);
                memcpy(ref + off, buf, len);
                if (i % 50 == 0) CHECK(vcow_flush(c) == 0);
                uint64_t roff = (unsigned)rand_r(&seed) % BASE_SIZE, rlen = 1 + (unsigned)rand_r(&seed) % 100000;
                if (roff + rlen > BASE_SIZE) rlen = BASE_SIZE - roff;
                CHECK(io(c, buf, roff, rlen, false) == 0 && memcmp(buf, ref + roff, rlen) == 0);
            }
            /* the last partial cluster and out-of-range requests */
            memset(buf, 0xab, 100);
            CHECK(io(c, buf, BASE_SIZE - 100, 100, true) == 0);
            memcpy(ref + BASE_SIZE - 100, buf, 100);
            CHECK(io(c, buf, BASE_SIZE - 50, 100, false) < 0);
            CHECK(io(c, buf, BASE_SIZE + 1, 1, true) < 0);
            CHECK(matches(c, ref));
            free(buf);
            close_ov(c, fd);
        }
        CHECK_EQ_U64(file_hash(base), base_hash);                /* base untouched */
        c = open_ov(ov1, false, &fd, err);
        CHECK(c != NULL);
        if (c) { CHECK(matches(c, ref)); close_ov(c, fd); }
        c = open_ov(ov1, true, &fd, err);                          /* read-only overlay */
        CHECK(c != NULL);
        if (c) {
            uint8_t x = 1;
            CHECK(io(c, &x, 0, 1, true) < 0);
            CHECK(matches(c, ref));
            close_ov(c, fd);
        }
        struct stat st;
        stat(ov1, &st);
        printf("  overlay: %lld bytes apparent, %lld KiB allocated after %d writes\n", (long long)st.st_size,
               (long long)st.st_blocks / 2, 301);
    }
    TEST_END();

    TEST_BEGIN("cow_flushed_write_survives_kill");
    {
        pid_t pid = fork();
        if (pid == 0) {                                           /* write, flush, die without cleanup */
            int fd;
            vcow *c = open_ov(ov1, false, &fd, err);
            if (!c) _exit(1);
            uint8_t b[70000];
            memset(b, 0x5c, sizeof b);
            if (io(c, b, 3 << 20, sizeof b, true) < 0 || vcow_flush(c) < 0) _exit(2);
            memset(b, 0x77, sizeof b);
            if (io(c, b, 1 << 20, sizeof b, true) < 0) _exit(3);     /* not flushed: may be lost */
            kill(getpid(), SIGKILL);
            _exit(4);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status));
        memset(ref + (3 << 20), 0x5c, 70000);
        int fd;
        vcow *c = open_ov(ov1, false, &fd, err);
        CHECK(c != NULL);
        if (c) {
            uint8_t *got = malloc(BASE_SIZE);
            CHECK(io(c, got, 0, BASE_SIZE, false) == 0);
            CHECK(memcmp(got + (3 << 20), ref + (3 << 20), 70000) == 0);
            /* the unflushed range holds either the old or the new bytes, never anything else */
            bool old = memcmp(got + (1 << 20), ref + (1 << 20), 70000) == 0, nw = true;
            for (int i = 0; i < 70000; i++) if (got[(1 << 20) + i] != 0x77) { nw = false; break; }
            CHECK(old || nw);
            if (nw) memset(ref + (1 << 20), 0x77, 70000);
            free(got);
            close_ov(c, fd);
        }
    }
    TEST_END();

    TEST_BEGIN("cow_two_overlays_diverge");
    {
        CHECK(virtio_cow_create(ov2, base, err, sizeof err) == 0);
        int fa, fb;
        vcow *a = open_ov(ov1, false, &fa, err), *b = open_ov(ov2, false, &fb, err);
        CHECK(a && b);
        if (a && b) {
            uint8_t x[4096], y[4096];
            memset(x, 1, sizeof x);
            memset(y, 2, sizeof y);
            CHECK(io(a, x, 8192, 4096, true) == 0);
            CHECK(io(b, y, 8192, 4096, true) == 0);
            uint8_t r[4096];
            CHECK(io(a, r, 8192, 4096, false) == 0 && r[0] == 1 && r[4095] == 1);
            CHECK(io(b, r, 8192, 4096, false) == 0 && r[0] == 2 && r[4095] == 2);
            CHECK(io(b, r, 65536, 4096, false) == 0);
            uint8_t basebuf[4096];
            int f = open(base, O_RDONLY);
            CHECK(pread(f, basebuf, 4096, 65536) == 4096);
            close(f);
            CHECK(memcmp(r, basebuf, 4096) == 0);                 /* b still reads the base there */
        }
        if (a) close_ov(a, fa);
        if (b) close_ov(b, fb);
        CHECK_EQ_U64(file_hash(base), base_hash);
    }
    TEST_END();

    TEST_BEGIN("cow_hostile_headers");
    {
        char bad[160];
        snprintf(bad, sizeof bad, "%s/bad.cow", dir);
        struct { unsigned off, size; uint64_t v; bool fix; const char *what; } cases[] = {
            { 0, 4, 0x41414141, true, "not a vmkit overlay" },
            { 8, 4, 2, true, "version" },
            { 30, 1, 0x55, false, "checksum" },
            { 12, 4, 512, true, "layout" },
            { 16, 4, 12, true, "layout" },
            { 20, 4, 1, true, "layout" },
            { 24, 8, 0, true, "virtual size" },
            { 24, 8, ~0ull, true, "virtual size" },
            { 24, 8, BASE_SIZE + 65536, true, "virtual size" },
            { 32, 8, BASE_SIZE - 1, true, "virtual size" },
            { 48, 8, 0, true, "offset" },
            { 56, 8, 1ull << 62, true, "offset" },
            { 64, 8, 4096, true, "offset" },
            { 72, 4, 5000, true, "base path" },
            { 72, 4, 0, true, "base path" },
            { 80, 1, 'x', true, "base path" },
            { 40, 8, 12345, true, "changed" },
        };
        for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            unlink(bad);
            CHECK(virtio_cow_create(bad, base, err, sizeof err) == 0);
            patch(bad, cases[i].off, cases[i].v, cases[i].size, cases[i].fix);
            int fd;
            vcow *c = open_ov(bad, false, &fd, err);
            CHECK(c == NULL);
            if (c) { printf("  case %u accepted\n", i); close_ov(c, fd); }
            else if (!strstr(err, cases[i].what)) { printf("  case %u: '%s' (wanted '%s')\n", i, err, cases[i].what); CHECK(0); }
        }
        /* truncated files */
        unlink(bad);
        CHECK(virtio_cow_create(bad, base, err, sizeof err) == 0);
        CHECK(truncate(bad, 4096 + 8) == 0);
        int fd;
        CHECK(open_ov(bad, false, &fd, err) == NULL);
        CHECK(truncate(bad, 100) == 0);
        CHECK(open_ov(bad, false, &fd, err) == NULL && strstr(err, "truncated"));
        /* a bitmap bit beyond the disk */
        unlink(bad);
        CHECK(virtio_cow_create(bad, base, err, sizeof err) == 0);
        int f = open(bad, O_RDWR);
        uint64_t ncl = (BASE_SIZE + 65535) / 65536, w = ~0ull;
        CHECK(pwrite(f, &w, 8, 4096 + (ncl / 64) * 8) == 8);
        close(f);
        CHECK(open_ov(bad, false, &fd, err) == NULL && strstr(err, "beyond"));
        /* a base that changed after the overlay was made */
        unlink(bad);
        CHECK(virtio_cow_create(bad, base, err, sizeof err) == 0);
        struct timespec ts[2] = { { 0, UTIME_OMIT }, { 1000000, 0 } };
        struct stat st0;
        stat(base, &st0);
        CHECK(utimensat(AT_FDCWD, base, ts, 0) == 0);
        CHECK(open_ov(bad, false, &fd, err) == NULL && strstr(err, "changed"));
        struct timespec back[2] = { { 0, UTIME_OMIT }, st0.st_mtim };
        utimensat(AT_FDCWD, base, back, 0);
        /* a missing base, a directory as base */
        CHECK(virtio_cow_create(bad, "/nonexistent/base", err, sizeof err) < 0);
        CHECK(virtio_cow_create(bad, dir, err, sizeof err) < 0 && strstr(err, "regular"));
        unlink(bad);
    }
    TEST_END();

    TEST_BEGIN("cow_behind_virtio_blk");
    {
        char o3[160];
        snprintf(o3, sizeof o3, "%s/c.cow", dir);
        CHECK(virtio_cow_create(o3, base, err, sizeof err) == 0);
        if (vmk_mem_init(&mem, RAM_BASE, RAM_SIZE, err, sizeof err) < 0) { CHECK(0); }
        loop = vmk_loop_new();
        vmk_loop_start(loop);
        virtio_dev *d = virtio_blk_new(env(), o3, false, err, sizeof err);
        CHECK(d != NULL);
        if (d) {
            uint64_t cap;
            memcpy(&cap, d->config, 8);
            CHECK_EQ_U64(cap, BASE_SIZE / 512);
            CHECK(driver_init(d, 1, 1ull << 32 | 1ull << 9) == 0);
            uint64_t HDRA = RAM_BASE + 0x10000, DATA = RAM_BASE + 0x11000, STAT = RAM_BASE + 0x30000;
            uint32_t t;
            uint64_t sector = 17;
            /* write 8 KiB at sector 17, read it back */
            t = 1; memcpy(g(HDRA), &t, 4); memset(g(HDRA) + 4, 0, 4); memcpy(g(HDRA) + 8, &sector, 8);
            memset(g(DATA), 0x3c, 8192);
            seg s[3] = { { HDRA, 16, false }, { DATA, 8192, false }, { STAT, 1, true } };
            post(d, 0, s, 3);
            CHECK(wait_used(0, NULL) == 1 && *(uint8_t *)g(STAT) == 0);
            t = 0; memcpy(g(HDRA), &t, 4);
            memset(g(DATA), 0, 8192);
            s[1].write = true;
            post(d, 0, s, 3);
            CHECK(wait_used(0, NULL) == 8193 && *(uint8_t *)g(STAT) == 0);
            CHECK(((uint8_t *)g(DATA))[0] == 0x3c && ((uint8_t *)g(DATA))[8191] == 0x3c);
            /* a guest write of the overlay magic to sector 0 is refused */
            t = 1; sector = 0; memcpy(g(HDRA), &t, 4); memcpy(g(HDRA) + 8, &sector, 8);
            memcpy(g(DATA), "VMKCOW1\0", 8);
            s[1].write = false;
            s[1].len = 512;
            post(d, 0, s, 3);
            CHECK(wait_used(0, NULL) == 1 && *(uint8_t *)g(STAT) == 1);
        }
        vmk_loop_stop(loop);
        if (d) virtio_dev_free(d);
        vmk_loop_free(loop);
        vmk_mem_free(&mem);
        CHECK_EQ_U64(file_hash(base), base_hash);
        unlink(o3);
    }
    TEST_END();

    TEST_BEGIN("cow_speed");
    {
        /* create time (mean of 100) and sequential throughput vs the raw base */
        char p[160];
        uint64_t t0 = vmk_now_ns();
        for (int i = 0; i < 100; i++) {
            snprintf(p, sizeof p, "%s/clone%d.cow", dir, i);
            if (virtio_cow_create(p, base, err, sizeof err) < 0) { CHECK(0); break; }
        }
        uint64_t create_ns = (vmk_now_ns() - t0) / 100;
        for (int i = 0; i < 100; i++) { snprintf(p, sizeof p, "%s/clone%d.cow", dir, i); unlink(p); }
        printf("  create: %.1f us per overlay (100 in a row)\n", create_ns / 1000.0);
        CHECK(create_ns < 1000000);
        char big[160], bo[160];
        snprintf(big, sizeof big, "%s/big.img", dir);
        snprintf(bo, sizeof bo, "%s/big.cow", dir);
        const uint64_t SZ = 64ull << 20, CH = 1 << 20;
        uint8_t *buf = malloc(CH);
        memset(buf, 0x11, CH);
        int f = open(big, O_RDWR | O_CREAT | O_TRUNC, 0644);
        for (uint64_t o = 0; o < SZ; o += CH) CHECK(pwrite(f, buf, CH, (off_t)o) == (ssize_t)CH);
        fsync(f);
        t0 = vmk_now_ns();
        for (uint64_t o = 0; o < SZ; o += CH) CHECK(pwrite(f, buf, CH, (off_t)o) == (ssize_t)CH);
        fdatasync(f);
        double raw_w = SZ / 1e6 / ((vmk_now_ns() - t0) / 1e9);
        t0 = vmk_now_ns();
        for (uint64_t o = 0; o < SZ; o += CH) CHECK(pread(f, buf, CH, (off_t)o) == (ssize_t)CH);
        double raw_r = SZ / 1e6 / ((vmk_now_ns() - t0) / 1e9);
        close(f);
        CHECK(virtio_cow_create(bo, big, err, sizeof err) == 0);
        int fd;
        int ofd = open(bo, O_RDWR);
        uint64_t sz;
        vcow *c = vcow_open(ofd, bo, false, &sz, err, sizeof err);
        CHECK(c != NULL);
        if (c) {
            t0 = vmk_now_ns();
            for (uint64_t o = 0; o < SZ; o += CH) CHECK(io(c, buf, o, CH, false) == 0);
            double ov_r_base = SZ / 1e6 / ((vmk_now_ns() - t0) / 1e9);
            t0 = vmk_now_ns();
            for (uint64_t o = 0; o < SZ; o += CH) CHECK(io(c, buf, o, CH, true) == 0);
            vcow_flush(c);
            double ov_w_first = SZ / 1e6 / ((vmk_now_ns() - t0) / 1e9);
            t0 = vmk_now_ns();
            for (uint64_t o = 0; o < SZ; o += CH) CHECK(io(c, buf, o, CH, true) == 0);
            vcow_flush(c);
            double ov_w = SZ / 1e6 / ((vmk_now_ns() - t0) / 1e9);
            t0 = vmk_now_ns();
            for (uint64_t o = 0; o < SZ; o += CH) CHECK(io(c, buf, o, CH, false) == 0);
            double ov_r = SZ / 1e6 / ((vmk_now_ns() - t0) / 1e9);
            printf("  sequential MB/s (64 MiB, 1 MiB requests, page cache warm): raw read %.0f write %.0f | "
                   "overlay read-from-base %.0f, first write (copy) %.0f, rewrite %.0f, read %.0f\n",
                   raw_r, raw_w, ov_r_base, ov_w_first, ov_w, ov_r);
            close_ov(c, ofd);
        }
        (void)fd;
        free(buf);
        unlink(big);
        unlink(bo);
    }
    TEST_END();

    unlink(ov1);
    unlink(ov2);
    unlink(base);
    rmdir(dir);
    free(ref);
    TEST_EXIT();
}
