/* test_snapshot.c — unit tests of the snapshot state-file framing (src/vm/snapshot.c, vm_impl.h):
 * round trip, truncation at every byte, every single-bit flip, wrong version/engine/magic, and the
 * restore entry point's messages for directories that are not (valid) snapshots. With the default
 * guest images (build/images or $VMKIT_IMAGES): an exact round trip in process — a busy guest is
 * snapshotted (full, then diff) and each restore holds byte-identical RAM, engine state and device
 * state; a restore started paused retires no instruction until resumed. */
#include "../test.h"
#include "vm/vm_impl.h"
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void *run_thread(void *vm) { vmk_vm_run(vm); return NULL; }
static uint64_t instret(vmk_vm *vm) { vmk_vm_stats st; vmk_vm_get_stats(vm, &st); return st.instret; }

/* Same RAM, engine state and device state (both VMs paused or not yet run). */
static int same_machine(vmk_vm *a, vmk_vm *b, char *why, size_t n)
{
    if (a->mem.size != b->mem.size || memcmp(a->mem.host, b->mem.host, a->mem.size)) {
        uint64_t off = 0;
        while (off < a->mem.size && a->mem.host[off] == b->mem.host[off]) off++;
        snprintf(why, n, "RAM differs at offset 0x%llx", (unsigned long long)off);
        return -1;
    }
    vmk_sbuf x = { 0 }, y = { 0 };
    a->eng->save(a->e, &x);
    b->eng->save(b->e, &y);
    /* KVM's state holds host times (kvmclock, PIT load times): only its length is comparable */
    bool exact = a->cfg.engine != VMK_ENGINE_KVM_X86;
    int r = x.len == y.len && (!exact || !memcmp(x.data, y.data, x.len)) ? 0 : -1;
    if (r) {
        size_t off = 0;
        while (off < x.len && off < y.len && x.data[off] == y.data[off]) off++;
        snprintf(why, n, "engine state differs (%zu vs %zu bytes, first at %zu)", x.len, y.len, off);
    }
    for (unsigned i = 0; !r && i < a->ndevs && i < b->ndevs; i++) {
        x.len = y.len = 0;
        virtio_dev_save(a->devs[i], &x);
        virtio_dev_save(b->devs[i], &y);
        if (x.len != y.len || memcmp(x.data, y.data, x.len)) {
            snprintf(why, n, "device %u (%s) state differs", i, virtio_dev_name(a->devs[i]));
            r = -1;
        }
    }
    vmk_sb_free(&x);
    vmk_sb_free(&y);
    return r;
}

static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

/* Hostile but well-framed states: random bytes of a real snapshot's section payloads changed and
 * every CRC recomputed, so each mutation reaches the section parsers and the engine/device loads.
 * Each restore must fail with a message or build a VM; never crash (run it under ASan). */
static void fuzz_sections(const char *snap)
{
    char path[700], err[VMK_ERRLEN];
    snprintf(path, sizeof path, "%s/state", snap);
    size_t len;
    uint8_t *orig = vmk_read_file(path, 1 << 24, &len, err, sizeof(err));
    TEST_BEGIN("snapshot_fuzzed_sections_never_crash");
    CHECK(orig != NULL);
    if (!orig) { TEST_END(); return; }
    vm_sf f;
    vm_sf_sec sec[32];
    size_t hdr[32];
    unsigned n = 0;
    CHECK(vm_sf_open(&f, orig, len, err, sizeof(err)) == 0);
    while (n < 32 && vm_sf_next(&f, &sec[n], err, sizeof(err)) == 1) {
        hdr[n] = (size_t)(sec[n].p - orig);
        n++;
    }
    uint8_t *m = malloc(len);
    unsigned rejected = 0, built = 0;
    srand(12345);
    for (int it = 0; it < 400 && n; it++) {
        memcpy(m, orig, len);
        unsigned k = (unsigned)rand() % n;
        if (!sec[k].len) continue;
        for (int j = 0, nb = 1 + rand() % 4; j < nb; j++)
            m[hdr[k] + (size_t)rand() % sec[k].len] ^= (uint8_t)(1 + rand() % 255);
        put32(m + hdr[k] - 4, vmk_crc32c(0, m + hdr[k], sec[k].len));
        put32(m + len - 4, vmk_crc32c(0, m, len - 4));
        FILE *fp = fopen(path, "wb");
        if (!fp) break;
        fwrite(m, 1, len, fp);
        fclose(fp);
        vmk_restore_opts o = { .console = "null", .force_disks = true };
        err[0] = 0;
        vmk_vm *vm = vmk_vm_restore(snap, &o, err, sizeof(err));
        if (vm) { built++; vmk_vm_free(vm); }
        else { rejected++; CHECK(err[0] != 0); }
    }
    printf("  %u mutated states rejected with a message, %u accepted (a changed value still in range)\n", rejected, built);
    FILE *fp = fopen(path, "wb");
    if (fp) { fwrite(orig, 1, len, fp); fclose(fp); }
    free(m);
    free(orig);
    TEST_END();
}

static void round_trip_guest(void)
{
    const char *img = getenv("VMKIT_IMAGES") ? getenv("VMKIT_IMAGES") : "build/images";
    char k[512], i[512], b[512], d[512], why[200], err[VMK_ERRLEN];
    snprintf(k, sizeof k, "%s/Image", img);
    snprintf(i, sizeof i, "%s/initramfs.cpio.gz", img);
    snprintf(b, sizeof b, "%s/fw_dynamic.bin", img);
    snprintf(d, sizeof d, "%s/disk.ext4", img);
    if (access(k, R_OK) || access(i, R_OK) || access(b, R_OK) || access(d, R_OK)) {
        SKIP("snapshot_guest_round_trip_exact", "no guest images (make images)");
        return;
    }
    char dir[] = "/tmp/vmk-snapguest.XXXXXX", s1[600], s2[600], disk[600], cmd[1200];
    if (!mkdtemp(dir)) return;
    snprintf(s1, sizeof s1, "%s/full", dir);
    snprintf(s2, sizeof s2, "%s/diff", dir);
    snprintf(disk, sizeof disk, "%s/disk.ext4", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", d, disk);
    if (system(cmd) != 0) return;
    vmk_vm_config c;
    memset(&c, 0, sizeof(c));
    c.engine = VMK_ENGINE_RISCV;
    c.mem_size = 64ull << 20;
    c.ncpus = 1;
    c.bios = b; c.kernel = k; c.initrd = i; c.console = "null";
    /* "while :; do i=$((i+1)); done": always running */
    c.cmdline = "console=ttyS0 vmkit.net=0 vmkit.run=b64:d2hpbGUgOjsgZG8gaT0kKChpKzEpKTsgZG9uZQ==";
    c.disks[0].path = disk; c.disks[0].readonly = true; c.ndisks = 1;   /* shared by the restores */
    c.nets[0] = "user"; c.nnets = 1;

    TEST_BEGIN("snapshot_guest_round_trip_exact");
    vmk_vm *vm = vmk_vm_new(&c, err, sizeof(err)), *r1 = NULL, *r2 = NULL;
    CHECK(vm != NULL);
    if (!vm) { printf("  %s\n", err); TEST_END(); return; }
    vmk_snapshot_opts full = { .leave_paused = true }, diff = { .diff = true, .leave_paused = true };
    CHECK(vmk_vm_snapshot(vm, s1, &full, err, sizeof(err)) < 0 && strstr(err, "not running"));
    pthread_t t;
    pthread_create(&t, NULL, run_thread, vm);
    usleep(1500000);
    CHECK(vmk_vm_snapshot(vm, s1, &diff, err, sizeof(err)) < 0 && strstr(err, "take a full snapshot first"));
    CHECK(vmk_vm_snapshot(vm, s1, &full, err, sizeof(err)) == 0);
    CHECK(vmk_vm_is_paused(vm));
    vmk_restore_opts ro = { .console = "null" };
    r1 = vmk_vm_restore(s1, &ro, err, sizeof(err));
    CHECK(r1 != NULL);
    if (!r1) printf("  %s\n", err);
    if (r1) {
        CHECK(same_machine(vm, r1, why, sizeof why) == 0);
        if (why[0]) printf("  full: %s\n", why);
    }
    /* a diff after the guest ran on */
    vmk_vm_resume(vm);
    usleep(300000);
    why[0] = 0;
    CHECK(vmk_vm_snapshot(vm, s1, &diff, err, sizeof(err)) < 0 && strstr(err, "other than its parent"));
    CHECK(vmk_vm_snapshot(vm, s2, &diff, err, sizeof(err)) == 0);
    ro.start_paused = true;
    r2 = vmk_vm_restore(s2, &ro, err, sizeof(err));
    CHECK(r2 != NULL);
    if (r2) {
        CHECK(same_machine(vm, r2, why, sizeof why) == 0);
        if (why[0]) printf("  diff: %s\n", why);
        /* started paused: no instruction until resumed */
        pthread_t t2;
        uint64_t i0 = instret(r2);
        pthread_create(&t2, NULL, run_thread, r2);
        usleep(200000);
        CHECK_EQ_U64(instret(r2), i0);
        CHECK(vmk_vm_is_paused(r2));
        vmk_vm_resume(r2);
        usleep(200000);
        CHECK(instret(r2) > i0);
        /* a full snapshot of a VM whose RAM is mapped from a snapshot, restored in turn */
        char s3[700];
        snprintf(s3, sizeof s3, "%s/full2", dir);
        CHECK(vmk_vm_snapshot(r2, s3, &full, err, sizeof(err)) == 0);
        vmk_restore_opts ro3 = { .console = "null" };
        vmk_vm *r3 = vmk_vm_restore(s3, &ro3, err, sizeof(err));
        CHECK(r3 != NULL);
        why[0] = 0;
        if (r3) CHECK(same_machine(r2, r3, why, sizeof why) == 0);
        if (why[0]) printf("  full of a restored VM: %s\n", why);
        vmk_vm_free(r3);
        vmk_vm_resume(r2);
        vmk_vm_request_stop(r2, 0);
        pthread_join(t2, NULL);
    }
    vmk_vm_resume(vm);
    vmk_vm_request_stop(vm, 0);
    pthread_join(t, NULL);
    vmk_vm_free(vm);
    vmk_vm_free(r1);
    vmk_vm_free(r2);
    TEST_END();
    fuzz_sections(s1);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("  cannot remove %s\n", dir);
}

static void build(vmk_sbuf *b, const char *engine, uint32_t *crc)
{
    vm_sf_begin(b, engine, 0);
    size_t h = vm_sf_sec_begin(b, "config", 1);
    vmk_sb_u64(b, 64ull << 20);
    vmk_sb_str(b, "hello");
    vm_sf_sec_end(b, h);
    h = vm_sf_sec_begin(b, "empty", 7);
    vm_sf_sec_end(b, h);
    h = vm_sf_sec_begin(b, "dev0:virtio-blk", 1);
    for (int i = 0; i < 40; i++) vmk_sb_u8(b, (uint8_t)i);
    vm_sf_sec_end(b, h);
    *crc = vm_sf_end(b);
}

/* Opens and walks every section: 0 when all is well, -1 with err otherwise. */
static int walk(const uint8_t *p, size_t len, char *err, size_t errlen, unsigned *nsec)
{
    vm_sf f;
    if (vm_sf_open(&f, p, len, err, errlen) < 0) return -1;
    vm_sf_sec s;
    int k;
    *nsec = 0;
    while ((k = vm_sf_next(&f, &s, err, errlen)) == 1) (*nsec)++;
    return k;
}

static void write_file(const char *path, const void *p, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(p, 1, n, f);
    fclose(f);
}

typedef struct run_arg { vmk_vm *vm; int status; } run_arg;
static void *run_status(void *p) { run_arg *a = p; a->status = vmk_vm_run(a->vm); return NULL; }

/* KVM engine: a VM paused before its first instruction is snapshotted and restored (identical RAM
 * and device state, engine state of the same size: it holds host times); both the original and the
 * restore then run the test guest to its successful exit. */
static void round_trip_kvm(void)
{
    const char *g = "build/kvm-guests/hello.bzimage";
    char err[VMK_ERRLEN] = "", why[200] = "";
    if (access("/dev/kvm", R_OK | W_OK) || access(g, R_OK)) {
        SKIP("snapshot_kvm_round_trip", "no /dev/kvm or no build/kvm-guests/hello.bzimage");
        return;
    }
    vmk_vm_config c;
    memset(&c, 0, sizeof(c));
    c.engine = VMK_ENGINE_KVM_X86;
    c.mem_size = 64ull << 20;
    c.ncpus = 1;
    c.kernel = g;
    c.console = "null";
    vmk_vm *vm = vmk_vm_new(&c, err, sizeof(err));
    if (!vm) {
        printf("  %s\n", err);
        SKIP("snapshot_kvm_round_trip", "cannot build a KVM VM here");
        return;
    }
    TEST_BEGIN("snapshot_kvm_round_trip");
    char dir[] = "/tmp/vmk-snapkvm.XXXXXX", cmd[100];
    CHECK(mkdtemp(dir) != NULL);
    vmk_vm_pause(vm);
    run_arg a = { vm, -1 }, b = { NULL, -1 };
    pthread_t t, t2;
    pthread_create(&t, NULL, run_status, &a);
    usleep(100000);
    vmk_snapshot_opts o = { .leave_paused = true };
    int k = vmk_vm_snapshot(vm, dir, &o, err, sizeof(err));
    CHECK(k == 0);
    if (k) printf("  %s\n", err);
    vmk_restore_opts ro = { .console = "null" };
    b.vm = vmk_vm_restore(dir, &ro, err, sizeof(err));
    CHECK(b.vm != NULL);
    if (!b.vm) printf("  %s\n", err);
    if (b.vm) {
        CHECK(same_machine(vm, b.vm, why, sizeof why) == 0);
        if (why[0]) printf("  %s\n", why);
        pthread_create(&t2, NULL, run_status, &b);
        pthread_join(t2, NULL);
        CHECK_EQ_U64(b.status, 0);
    }
    vmk_vm_resume(vm);
    pthread_join(t, NULL);
    CHECK_EQ_U64(a.status, 0);
    vmk_vm_free(vm);
    vmk_vm_free(b.vm);
    TEST_END();
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("  cannot remove %s\n", dir);
}

int main(void)
{
    char err[VMK_ERRLEN];
    vmk_sbuf b = { 0 };
    uint32_t crc;
    build(&b, "riscv64", &crc);

    TEST_BEGIN("snapshot_frame_round_trip");
    {
        vm_sf f;
        CHECK(vm_sf_open(&f, b.data, b.len, err, sizeof(err)) == 0);
        CHECK(!strcmp(f.engine, "riscv64"));
        CHECK_EQ_U64(f.version, VM_SNAP_VERSION);
        CHECK_EQ_U64(f.crc, crc);
        vm_sf_sec s;
        CHECK(vm_sf_next(&f, &s, err, sizeof(err)) == 1 && !strcmp(s.name, "config") && s.version == 1);
        vmk_sread r;
        vmk_sr_init(&r, s.p, s.len);
        char str[16];
        CHECK_EQ_U64(vmk_sr_u64(&r), 64ull << 20);
        CHECK(vmk_sr_str(&r, str, sizeof(str)) && !strcmp(str, "hello") && vmk_sr_done(&r));
        CHECK(vm_sf_next(&f, &s, err, sizeof(err)) == 1 && !strcmp(s.name, "empty") && s.version == 7 && s.len == 0);
        CHECK(vm_sf_next(&f, &s, err, sizeof(err)) == 1 && !strcmp(s.name, "dev0:virtio-blk") && s.len == 40);
        CHECK(vm_sf_next(&f, &s, err, sizeof(err)) == 0);
        CHECK(vm_sf_find(&f, "dev0:virtio-blk", &s, err, sizeof(err)) == 1 && s.p[39] == 39);
        CHECK(vm_sf_find(&f, "nothere", &s, err, sizeof(err)) == 0);
    }
    TEST_END();

    TEST_BEGIN("snapshot_frame_truncated_every_length");
    {
        unsigned bad = 0, nsec;
        for (size_t n = 0; n < b.len; n++) {
            err[0] = 0;
            if (walk(b.data, n, err, sizeof(err), &nsec) == 0 || !err[0]) bad++;
            if (n >= 12 && !strstr(err, "truncated")) bad++;
        }
        CHECK_EQ_U64(bad, 0);
        CHECK(walk(b.data, b.len, err, sizeof(err), &nsec) == 0 && nsec == 3);
    }
    TEST_END();

    TEST_BEGIN("snapshot_frame_every_bit_flip_rejected");
    {
        unsigned accepted = 0, crcmsg = 0, nsec;
        for (size_t i = 0; i < b.len; i++)
            for (int bit = 0; bit < 8; bit++) {
                b.data[i] ^= (uint8_t)(1u << bit);
                err[0] = 0;
                if (walk(b.data, b.len, err, sizeof(err), &nsec) == 0) accepted++;
                if (i >= VM_SNAP_HDR_LEN && strstr(err, "checksum")) crcmsg++;
                b.data[i] ^= (uint8_t)(1u << bit);
            }
        CHECK_EQ_U64(accepted, 0);
        CHECK_EQ_U64(crcmsg, (b.len - VM_SNAP_HDR_LEN) * 8);   /* past the header: always the CRC message */
    }
    TEST_END();

    TEST_BEGIN("snapshot_frame_wrong_version_magic_engine");
    {
        vm_sf f;
        uint8_t *c = malloc(b.len);
        memcpy(c, b.data, b.len);
        c[8] = 2;                             /* format version 2 */
        CHECK(vm_sf_open(&f, c, b.len, err, sizeof(err)) < 0 && strstr(err, "format version 2 is not supported"));
        memcpy(c, b.data, b.len);
        memcpy(c, "QFI\xfb", 4);
        CHECK(vm_sf_open(&f, c, b.len, err, sizeof(err)) < 0 && strstr(err, "no vmkit snapshot magic"));
        free(c);
        vmk_sbuf x = { 0 };
        uint32_t xc;
        build(&x, "x86_64", &xc);
        CHECK(vm_sf_open(&f, x.data, x.len, err, sizeof(err)) == 0 && !strcmp(f.engine, "x86_64"));
        vmk_sb_free(&x);
        /* trailing garbage is not silently ignored */
        vmk_sbuf y = { 0 };
        vmk_sb_bytes(&y, b.data, b.len);
        vmk_sb_u8(&y, 0);
        CHECK(vm_sf_open(&f, y.data, y.len, err, sizeof(err)) < 0 && strstr(err, "corrupt"));
        vmk_sb_free(&y);
    }
    TEST_END();

    TEST_BEGIN("snapshot_restore_rejects_bad_directories");
    {
        char dir[] = "/tmp/vmk-snaptest.XXXXXX", path[256];
        CHECK(mkdtemp(dir) != NULL);
        vmk_restore_opts o = { 0 };
        /* no state file */
        CHECK(vmk_vm_restore(dir, &o, err, sizeof(err)) == NULL && strstr(err, "is not a snapshot"));
        /* not a directory */
        snprintf(path, sizeof(path), "%s/nope", dir);
        CHECK(vmk_vm_restore(path, &o, err, sizeof(err)) == NULL && strstr(err, "No such file"));
        /* a state for the other engine (x86_64 has no snapshot support in this build or a bad state) */
        vmk_sbuf x = { 0 };
        uint32_t xc;
        build(&x, "x86_64", &xc);
        snprintf(path, sizeof(path), "%s/state", dir);
        write_file(path, x.data, x.len);
        /* (names the engine when this build's x86_64 engine cannot restore; else the missing section) */
        CHECK(vmk_vm_restore(dir, &o, err, sizeof(err)) == NULL &&
              (strstr(err, "x86_64 engine") || strstr(err, "no memory section")));
        /* an engine this vmkit does not know */
        vmk_sbuf z = { 0 };
        build(&z, "sparc", &xc);
        write_file(path, z.data, z.len);
        CHECK(vmk_vm_restore(dir, &o, err, sizeof(err)) == NULL && strstr(err, "engine 'sparc'"));
        vmk_sb_free(&z);
        /* wrong version */
        x.data[8] = 9;
        write_file(path, x.data, x.len);
        CHECK(vmk_vm_restore(dir, &o, err, sizeof(err)) == NULL && strstr(err, "format version 9"));
        /* truncated */
        write_file(path, b.data, b.len / 2);
        CHECK(vmk_vm_restore(dir, &o, err, sizeof(err)) == NULL && strstr(err, "truncated"));
        /* a valid frame without the required sections */
        write_file(path, b.data, b.len);
        CHECK(vmk_vm_restore(dir, &o, err, sizeof(err)) == NULL && strstr(err, "no memory section"));
        vmk_sb_free(&x);
        unlink(path);
        rmdir(dir);
    }
    TEST_END();

    vmk_sb_free(&b);
    round_trip_guest();
    round_trip_kvm();
    TEST_EXIT();
}
