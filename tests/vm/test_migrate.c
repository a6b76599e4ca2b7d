/* test_migrate.c — unit tests for the live-migration stream (src/vm/migrate.c): the destination
 * parser fed hand-made streams through a socketpair (empty, garbage, absurd length, bad checksum,
 * records out of order, bad CONFIG, page index out of range, truncated records, missing pages,
 * the source's ERROR, DISK records out of range): each fails with a clear one-line error, answers the
 * source with an ERROR record and leaves nothing behind. The source against destinations that close,
 * refuse or never acknowledge a round: a clear error, and the VM keeps running with the log off.
 * Then a loopback migration of a counting guest between two VMs in this process (skipped without the
 * guest images or when the engine cannot save its state): the destination's RAM equals the paused
 * source's, and its console continues the count exactly where the source's stopped. */
#include "../test.h"
#include "vm/vm_impl.h"
#include <dirent.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- stream building ---- */
static void rec(vmk_sbuf *s, unsigned type, const void *p, size_t n)
{
    uint8_t h[5] = { (uint8_t)type, (uint8_t)n, (uint8_t)(n >> 8), (uint8_t)(n >> 16), (uint8_t)(n >> 24) };
    uint32_t c = vmk_crc32c(vmk_crc32c(0, h, 5), p, n);
    vmk_sb_bytes(s, h, 5);
    vmk_sb_bytes(s, p, n);
    vmk_sb_u32(s, c);
}

static void config(vmk_sbuf *b, uint32_t version, uint64_t mem, unsigned ncpus)
{
    vmk_sb_bytes(b, "VMKMIGS\0", 8);
    vmk_sb_u32(b, version);
    vmk_sb_u32(b, 4096);
    vmk_sb_u8(b, 0);                  /* riscv */
    vmk_sb_u64(b, mem);
    vmk_sb_u32(b, ncpus);
    vmk_sb_str(b, NULL); vmk_sb_str(b, NULL); vmk_sb_str(b, NULL); vmk_sb_str(b, "console=ttyS0");
    vmk_sb_u32(b, 0);                 /* disks */
    vmk_sb_u32(b, 0);                 /* nets */
    vmk_sb_u8(b, 1);                  /* no rng */
    vmk_sb_u8(b, 0);                  /* flags: disks not copied */
}

static void config_rec(vmk_sbuf *s, uint64_t mem)
{
    vmk_sbuf b = { 0 };
    config(&b, 1, mem, 1);
    rec(s, 1, b.data, b.len);
    vmk_sb_free(&b);
}

/* A PAGES record: n entries starting at page first; data pages filled with their index. */
static void pages_rec(vmk_sbuf *s, uint64_t first, unsigned n, bool zero)
{
    vmk_sbuf b = { 0 };
    vmk_sb_u32(&b, n);
    uint8_t pg[4096];
    for (unsigned i = 0; i < n; i++) {
        vmk_sb_u64(&b, (first + i) | (zero ? 1ull << 63 : 0));
        if (!zero) { memset(pg, (int)(first + i), sizeof pg); vmk_sb_bytes(&b, pg, sizeof pg); }
    }
    rec(s, 2, b.data, b.len);
    vmk_sb_free(&b);
}

typedef struct feeder { int fd; vmk_sbuf data; } feeder;
static void *feed(void *arg)
{
    feeder *f = arg;
    size_t off = 0;
    while (off < f->data.len) {
        ssize_t w = send(f->fd, f->data.data + off, f->data.len - off, MSG_NOSIGNAL);
        if (w <= 0) break;
        off += (size_t)w;
    }
    shutdown(f->fd, SHUT_WR);
    return NULL;
}

/* Runs the destination on stream; returns whether it failed with an error containing `want`, and
 * checks the source side got an ERROR record back. */
static bool recv_fails(const char *name, vmk_sbuf *stream, const char *want)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return false;
    feeder f = { .fd = sv[0], .data = *stream };
    pthread_t t;
    pthread_create(&t, NULL, feed, &f);
    char err[VMK_ERRLEN] = "";
    uint64_t t0 = vmk_now_ns();
    vmk_vm *vm = vmk_vm_migrate_recv(sv[1], NULL, err, sizeof err);
    uint64_t ms = (vmk_now_ns() - t0) / 1000000;
    pthread_join(t, NULL);
    /* the source side: after what it sent, an ERROR record (type 7) from the destination */
    uint8_t back[5] = { 0 };
    ssize_t n = recv(sv[0], back, 5, MSG_DONTWAIT);
    bool got_error = stream->len == 0 || (n == 5 && back[0] == 7);
    bool ok = !vm && strstr(err, want) && !strchr(err, '\n') && got_error && ms < 5000;
    if (!ok) printf("  %s: vm=%p err='%s' (wanted '%s') error-record=%d %llums\n", name, (void *)vm, err, want,
                    got_error, (unsigned long long)ms);
    if (vm) vmk_vm_free(vm);
    close(sv[0]);
    close(sv[1]);
    vmk_sb_free(stream);
    return ok;
}

static void test_bad_streams(void)
{
    vmk_sbuf s = { 0 };
    TEST_BEGIN("migrate_recv_empty");
    CHECK(recv_fails("empty", &s, "before sending anything"));
    TEST_END();

    TEST_BEGIN("migrate_recv_garbage");
    vmk_sb_bytes(&s, "HTTP/1.1 200 OK\r\n\r\nhello", 24);
    CHECK(recv_fails("garbage", &s, "unknown record type"));
    TEST_END();

    TEST_BEGIN("migrate_recv_absurd_length");
    vmk_sb_bytes(&s, "\x02\xff\xff\xff\xff", 5);
    CHECK(recv_fails("absurd length", &s, "exceeds its limit"));
    vmk_sb_bytes(&s, "\x01\x00\x00\x00\x10", 5);     /* CONFIG of 256 MiB */
    CHECK(recv_fails("absurd config", &s, "exceeds its limit"));
    TEST_END();

    TEST_BEGIN("migrate_recv_bad_checksum");
    config_rec(&s, 16 << 20);
    s.data[20] ^= 1;
    CHECK(recv_fails("bad crc", &s, "checksum"));
    TEST_END();

    TEST_BEGIN("migrate_recv_truncated");
    config_rec(&s, 16 << 20);
    s.len -= 7;
    CHECK(recv_fails("truncated config", &s, "middle of a record"));
    config_rec(&s, 16 << 20);
    pages_rec(&s, 0, 3, false);
    s.len -= 5000;
    CHECK(recv_fails("truncated pages", &s, "middle of a record"));
    config_rec(&s, 16 << 20);
    pages_rec(&s, 0, 3, true);
    CHECK(recv_fails("eof between records", &s, "before the end (3 of 4096 pages"));
    TEST_END();

    TEST_BEGIN("migrate_recv_out_of_order");
    pages_rec(&s, 0, 1, true);
    CHECK(recv_fails("pages first", &s, "expected CONFIG first, got PAGES"));
    config_rec(&s, 16 << 20);
    config_rec(&s, 16 << 20);
    CHECK(recv_fails("config twice", &s, "unexpected CONFIG"));
    config_rec(&s, 16 << 20);
    rec(&s, 5, NULL, 0);
    CHECK(recv_fails("end without state", &s, "unexpected END"));
    config_rec(&s, 16 << 20);
    pages_rec(&s, 0, 100, true);
    rec(&s, 4, "\0\0\0\0\0\0\0\0", 8);
    CHECK(recv_fails("state before all pages", &s, "4096 pages never sent"));
    config_rec(&s, 16 << 20);
    rec(&s, 6, NULL, 0);
    CHECK(recv_fails("ack from the source", &s, "unexpected ACK"));
    TEST_END();

    TEST_BEGIN("migrate_recv_bad_config");
    vmk_sbuf b = { 0 };
    config(&b, 2, 16 << 20, 1);
    rec(&s, 1, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("version", &s, "version 2, this vmkit speaks version 1"));
    config(&b, 1, 16 << 20, 1);
    memcpy(b.data, "QEMU", 4);
    rec(&s, 1, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("magic", &s, "magic"));
    config(&b, 1, 16 << 20, 1);
    rec(&s, 1, b.data, b.len - 3); vmk_sb_free(&b);
    CHECK(recv_fails("short config", &s, "truncated"));
    config(&b, 1, 12345, 1);
    rec(&s, 1, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("mem size", &s, "bad memory size"));
    config(&b, 1, 1ull << 50, 1);
    rec(&s, 1, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("huge mem", &s, "bad memory size"));
    config(&b, 1, 16 << 20, 0);
    rec(&s, 1, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("0 cpus", &s, "bad cpu count"));
    config(&b, 1, 16 << 20, 1);
    b.data[16] = 9;                   /* engine */
    rec(&s, 1, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("engine", &s, "unknown engine 9"));
    /* a string whose length runs past the record */
    config(&b, 1, 16 << 20, 1);
    b.data[8 + 4 + 4 + 1 + 8 + 4] = 0xff;
    rec(&s, 1, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("long string", &s, "too long or truncated"));
    /* a disk that is not on this host */
    vmk_sb_bytes(&b, "VMKMIGS\0", 8); vmk_sb_u32(&b, 1); vmk_sb_u32(&b, 4096); vmk_sb_u8(&b, 0);
    vmk_sb_u64(&b, 16 << 20); vmk_sb_u32(&b, 1);
    vmk_sb_str(&b, NULL); vmk_sb_str(&b, NULL); vmk_sb_str(&b, NULL); vmk_sb_str(&b, NULL);
    vmk_sb_u32(&b, 1); vmk_sb_str(&b, "/nonexistent/vmkit-disk.img"); vmk_sb_u8(&b, 0); vmk_sb_u64(&b, 1 << 20);
    vmk_sb_u32(&b, 0); vmk_sb_u8(&b, 1); vmk_sb_u8(&b, 0);
    rec(&s, 1, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("missing disk", &s, "/nonexistent/vmkit-disk.img is not here"));
    config(&b, 1, 16 << 20, 1);
    b.data[b.len - 1] = 6;            /* flags */
    rec(&s, 1, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("flags", &s, "unknown flags 0x6"));
    TEST_END();

    TEST_BEGIN("migrate_recv_bad_pages");
    config_rec(&s, 16 << 20);
    pages_rec(&s, 4096, 1, true);
    CHECK(recv_fails("index", &s, "page index 4096 out of range (the guest has 4096 pages)"));
    config_rec(&s, 16 << 20);
    pages_rec(&s, (1ull << 62) + 5, 1, false);
    CHECK(recv_fails("huge index", &s, "out of range"));
    config_rec(&s, 16 << 20);
    vmk_sb_u32(&b, 2); vmk_sb_u64(&b, 1);     /* says 2 entries, holds 1 zero-less index and no data */
    rec(&s, 2, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("short pages", &s, "does not hold its 2 entries"));
    config_rec(&s, 16 << 20);
    vmk_sb_u32(&b, 1); vmk_sb_u64(&b, 1ull << 63); vmk_sb_u32(&b, 0);
    rec(&s, 2, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("trailing", &s, "beyond its 1 entries"));
    config_rec(&s, 16 << 20);
    vmk_sb_u32(&b, 5000);
    rec(&s, 2, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("too many entries", &s, "5000 entries"));
    TEST_END();

    TEST_BEGIN("migrate_recv_bad_disk_records");
    config_rec(&s, 16 << 20);
    vmk_sb_u32(&b, 0); vmk_sb_u64(&b, 0); vmk_sb_bytes(&b, "data", 4);
    rec(&s, 9, b.data, b.len); vmk_sb_free(&b);
    CHECK(recv_fails("disk without copy", &s, "unexpected DISK"));
    {   /* a copied disk: records out of its range; the temporary copy is removed */
        char dir[] = "/tmp/vmkit-test-migdisk.XXXXXX", path[200];
        if (mkdtemp(dir)) {
            snprintf(path, sizeof path, "%s/d.img", dir);
            for (int mode = 0; mode < 3; mode++) {
                vmk_sb_bytes(&b, "VMKMIGS\0", 8); vmk_sb_u32(&b, 1); vmk_sb_u32(&b, 4096); vmk_sb_u8(&b, 0);
                vmk_sb_u64(&b, 16 << 20); vmk_sb_u32(&b, 1);
                vmk_sb_str(&b, NULL); vmk_sb_str(&b, NULL); vmk_sb_str(&b, NULL); vmk_sb_str(&b, NULL);
                vmk_sb_u32(&b, 1); vmk_sb_str(&b, path); vmk_sb_u8(&b, 0); vmk_sb_u64(&b, 1 << 20);
                vmk_sb_u32(&b, 0); vmk_sb_u8(&b, 1); vmk_sb_u8(&b, 1);
                rec(&s, 1, b.data, b.len); vmk_sb_free(&b);
                vmk_sb_u32(&b, mode == 0 ? 1 : 0); vmk_sb_u64(&b, mode == 1 ? (1 << 20) - 2 : 0); vmk_sb_bytes(&b, "data", 4);
                rec(&s, 9, b.data, mode == 2 ? 10 : b.len); vmk_sb_free(&b);
                CHECK(recv_fails(mode == 0 ? "disk index" : mode == 1 ? "disk offset" : "short disk", &s,
                                 mode == 2 ? "too short" : "out of range"));
                DIR *d = opendir(dir);
                int left = 0;
                for (struct dirent *de; d && (de = readdir(d));) left += de->d_name[0] != '.';
                if (d) closedir(d);
                CHECK(left == 0);             /* the partial copy is gone; no disk was created */
            }
            rmdir(dir);
        }
    }
    TEST_END();

    TEST_BEGIN("migrate_recv_source_error");
    config_rec(&s, 16 << 20);
    vmk_sb_str(&b, "guest exploded");
    rec(&s, 7, b.data, b.len); vmk_sb_free(&b);
    {   /* the source's own ERROR is not answered with another */
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        feeder f = { .fd = sv[0], .data = s };
        pthread_t t;
        pthread_create(&t, NULL, feed, &f);
        char err[VMK_ERRLEN] = "";
        vmk_vm *vm = vmk_vm_migrate_recv(sv[1], NULL, err, sizeof err);
        pthread_join(t, NULL);
        CHECK(!vm && strstr(err, "the source gave up: guest exploded"));
        if (vm) vmk_vm_free(vm);
        close(sv[0]); close(sv[1]);
        vmk_sb_free(&s);
    }
    TEST_END();
}

/* ---- loopback migration of a real guest ---- */
typedef struct runner { vmk_vm *vm; int status; } runner;
static void *run_vm(void *arg) { runner *r = arg; r->status = vmk_vm_run(r->vm); return NULL; }
typedef struct sender { vmk_vm *vm; int fd, rc; vmk_migrate_progress p; char err[VMK_ERRLEN]; } sender;
static unsigned ncb;
static void cb(void *opaque, const vmk_migrate_progress *p)
{
    (void)opaque;
    ncb++;
    if (!strcmp(p->phase, "done"))
        printf("  migrated: %u rounds, %llu bytes, downtime %.2f ms, total %.1f ms\n", p->round,
               (unsigned long long)p->bytes_sent, p->downtime_ns / 1e6, p->total_ns / 1e6);
}
static void *send_vm(void *arg)
{
    sender *s = arg;
    vmk_migrate_opts o = { .cb = cb };
    s->rc = vmk_vm_migrate_send(s->vm, s->fd, &o, &s->p, s->err, sizeof s->err);
    return NULL;
}

static char *read_text(const char *path)
{
    size_t len = 0;
    char e[VMK_ERRLEN];
    char *t = (char *)vmk_read_file(path, 4 << 20, &len, e, sizeof e);
    if (!t) return NULL;
    t = realloc(t, len + 1);
    t[len] = 0;
    return t;
}

/* Last "CNTn" on a console log (and the first in *first). -1 when none. */
static long last_count(const char *path, long *first)
{
    char *t = read_text(path);
    long last = -1;
    if (!t) return -1;
    for (char *p = t; (p = strstr(p, "CNT")); p += 3) {
        char *end;
        long v = strtol(p + 3, &end, 10);
        if (end == p + 3 || (*end != '\r' && *end != '\n')) continue;
        if (first && *first < 0) *first = v;
        last = v;
    }
    free(t);
    return last;
}

static void test_loopback(void)
{
    const char *img = getenv("VMKIT_IMAGES");
    char k[512], i[512], b[512];
    snprintf(k, sizeof k, "%s/Image", img ? img : "build/images");
    snprintf(i, sizeof i, "%s/initramfs.cpio.gz", img ? img : "build/images");
    snprintf(b, sizeof b, "%s/fw_dynamic.bin", img ? img : "build/images");
    struct stat st;
    if (stat(k, &st) || stat(i, &st) || stat(b, &st)) { SKIP("migrate_loopback", "no guest images (make images)"); return; }
    char dir[] = "/tmp/vmkit-test-migrate.XXXXXX", acon[300], bcon[300], alog[100], blog[100];
    if (!mkdtemp(dir)) { SKIP("migrate_loopback", "cannot create a temporary directory"); return; }
    snprintf(alog, sizeof alog, "%s/a.log", dir);
    snprintf(blog, sizeof blog, "%s/b.log", dir);
    snprintf(acon, sizeof acon, "socket=%s/a.sock,log=%s", dir, alog);
    snprintf(bcon, sizeof bcon, "socket=%s/b.sock,log=%s", dir, blog);
    /* the guest counts on its console every 50 ms */
    vmk_vm_config cfg = { .engine = VMK_ENGINE_RISCV, .mem_size = 64 << 20, .ncpus = 1, .bios = b, .kernel = k,
                          .initrd = i, .console = acon,
                          .cmdline = "console=ttyS0 vmkit.net=0 vmkit.run=i=0;while%20:;do%20i=$((i+1));echo%20CNT$i;usleep%2050000;done" };
    char err[VMK_ERRLEN] = "";
    vmk_vm *a = vmk_vm_new(&cfg, err, sizeof err);
    if (!a) { printf("FAIL migrate_loopback: %s\n", err); t_failed_total++; return; }
    vmk_sbuf probe = { 0 };
    bool can_save = a->eng->save && a->eng->load && a->eng->dirty_sync && a->eng->save(a->e, &probe) == 0;
    vmk_sb_free(&probe);
    if (!can_save) {
        SKIP("migrate_loopback", "the riscv64 engine cannot save/load its state yet");
        vmk_vm_free(a);
        return;
    }
    TEST_BEGIN("migrate_loopback");
    runner ra = { .vm = a }, rb = { 0 };
    pthread_t ta, ts, tb;
    pthread_create(&ta, NULL, run_vm, &ra);
    for (int t = 0; t < 600 && last_count(alog, NULL) < 8; t++) usleep(50 * 1000);   /* booted, counting */
    uint64_t ia = a->eng->instret(a->e);
    int sv[2];
    socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
    sender sd = { .vm = a, .fd = sv[0] };
    pthread_create(&ts, NULL, send_vm, &sd);
    vmk_restore_opts ro = { .console = bcon };
    vmk_vm *bvm = vmk_vm_migrate_recv(sv[1], &ro, err, sizeof err);
    if (!bvm) printf("  receive failed: %s\n", err);
    CHECK(bvm != NULL);
    if (bvm) {
        /* the source is paused waiting for the acknowledgement: both RAMs must be identical */
        CHECK(vmk_vm_is_paused(a));
        CHECK(a->mem.size == bvm->mem.size && memcmp(a->mem.host, bvm->mem.host, a->mem.size) == 0);
        rb.vm = bvm;
        pthread_create(&tb, NULL, run_vm, &rb);   /* vmk_vm_run acknowledges */
    }
    pthread_join(ts, NULL);
    if (sd.rc != 0) printf("  send failed: %s\n", sd.err);
    CHECK(bvm ? sd.rc == 0 : sd.rc != 0);
    CHECK(ncb >= 3 && sd.p.total_ns > 0 && sd.p.bytes_sent > 0);
    CHECK(ia > 0);
    vmk_vm_request_stop(a, 0);
    pthread_join(ta, NULL);
    if (bvm) {
        usleep(1000 * 1000);
        CHECK(atomic_load(&bvm->running));
        /* the destination's console continues the count where the source's stopped */
        long alast = last_count(alog, NULL), bfirst = -1, blast = last_count(blog, &bfirst);
        char *bl = read_text(blog);
        bool restarted = bl && strstr(bl, "guest ready");
        free(bl);
        printf("  source counted to %ld, destination from %ld to %ld\n", alast, bfirst, blast);
        CHECK(alast > 5 && bfirst > alast - 2 && bfirst <= alast + 2 && blast > bfirst + 5 && !restarted);
        vmk_vm_request_stop(bvm, 0);
        pthread_join(tb, NULL);
        vmk_vm_free(bvm);
    }
    close(sv[0]);
    close(sv[1]);
    vmk_vm_free(a);
    unlink(alog); unlink(blog);
    snprintf(alog, sizeof alog, "%s/a.sock", dir); unlink(alog);
    snprintf(blog, sizeof blog, "%s/b.sock", dir); unlink(blog);
    rmdir(dir);
    TEST_END();
}

/* ---- the source against failing destinations: the VM keeps running, the log is off ---- */
typedef struct bad_dest { int fd, mode; } bad_dest;
static void *bad_dest_main(void *arg)
{
    bad_dest *d = arg;
    uint8_t buf[65536];
    if (d->mode == 0) {                      /* reads the CONFIG record's header, then closes */
        ssize_t r = recv(d->fd, buf, 5, MSG_WAITALL);
        (void)r;
    } else if (d->mode == 1) {               /* refuses at once with an ERROR record */
        vmk_sbuf b = { 0 }, m = { 0 };
        vmk_sb_str(&m, "no room for you");
        rec(&b, 7, m.data, m.len);
        ssize_t w = send(d->fd, b.data, b.len, MSG_NOSIGNAL);
        (void)w;
        vmk_sb_free(&b); vmk_sb_free(&m);
        while (recv(d->fd, buf, sizeof buf, 0) > 0) {}
    } else {                                 /* reads everything, never acknowledges a round: EOF after 1 s */
        uint64_t end = vmk_now_ns() + 1000000000ull;
        while (vmk_now_ns() < end && recv(d->fd, buf, sizeof buf, MSG_DONTWAIT) != 0) usleep(1000);
    }
    shutdown(d->fd, SHUT_RDWR);
    return NULL;
}

static void test_send_failures(void)
{
    const char *img = getenv("VMKIT_IMAGES");
    char k[512], i[512], b[512];
    snprintf(k, sizeof k, "%s/Image", img ? img : "build/images");
    snprintf(i, sizeof i, "%s/initramfs.cpio.gz", img ? img : "build/images");
    snprintf(b, sizeof b, "%s/fw_dynamic.bin", img ? img : "build/images");
    struct stat st;
    if (stat(k, &st) || stat(i, &st) || stat(b, &st)) { SKIP("migrate_send_failures", "no guest images (make images)"); return; }
    vmk_vm_config cfg = { .engine = VMK_ENGINE_RISCV, .mem_size = 32 << 20, .ncpus = 1, .bios = b, .kernel = k,
                          .initrd = i, .console = "null", .no_rng = true,
                          .cmdline = "console=ttyS0 vmkit.net=0 vmkit.run=while%20:;do%20:;done" };   /* always busy */
    char err[VMK_ERRLEN] = "";
    vmk_vm *a = vmk_vm_new(&cfg, err, sizeof err);
    if (!a) { printf("FAIL migrate_send_failures: %s\n", err); t_failed_total++; return; }
    TEST_BEGIN("migrate_send_failures");
    runner ra = { .vm = a };
    pthread_t ta;
    pthread_create(&ta, NULL, run_vm, &ra);
    /* the guest runs before the first attempt (each mode then checks it keeps running) */
    for (int t = 0; t < 500 && a->eng->instret(a->e) < 1000000; t++) usleep(10 * 1000);
    /* mode 0: the stream may fit in the socket buffers, then the loss shows while waiting for round 1 */
    static const char *const want[] = { "destination", "destination refused the migration: no room for you",
                                        "destination closed the connection (round 1)" };
    for (int mode = 0; mode < 3; mode++) {
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
        bad_dest d = { .fd = sv[1], .mode = mode };
        pthread_t td;
        pthread_create(&td, NULL, bad_dest_main, &d);
        vmk_migrate_progress p;
        err[0] = 0;
        int rc = vmk_vm_migrate_send(a, sv[0], NULL, &p, err, sizeof err);
        pthread_join(td, NULL);
        uint64_t i0 = a->eng->instret(a->e);
        for (int t = 0; t < 100 && a->eng->instret(a->e) == i0; t++) usleep(20 * 1000);   /* it runs on */
        bool ok = rc < 0 && strstr(err, want[mode]) && (mode || strstr(err, "lost") || strstr(err, "closed")) && !strchr(err, '\n') && !vmk_vm_is_paused(a) && !a->mem.log_on &&
                  !strcmp(p.phase, "failed") && a->eng->instret(a->e) > i0;
        if (!ok) printf("  mode %d: instret %llu -> %llu running=%d: rc=%d err='%s' paused=%d log_on=%d phase=%s\n", mode, (unsigned long long)i0, (unsigned long long)a->eng->instret(a->e), (int)atomic_load(&a->running), rc, err, vmk_vm_is_paused(a),
                        a->mem.log_on, p.phase ? p.phase : "-");
        CHECK(ok);
        close(sv[0]);
        close(sv[1]);
    }
    vmk_vm_request_stop(a, 0);
    pthread_join(ta, NULL);
    vmk_vm_free(a);
    TEST_END();
}

int main(void)
{
    vmk_log_init();
    test_bad_streams();
    test_send_failures();
    test_loopback();
    TEST_EXIT();
}
