/* test_snapshot.c — unit tests of the snapshot state-file framing (src/vm/snapshot.c, vm_impl.h):
 * round trip, truncation at every byte, every single-bit flip, wrong version/engine/magic, and the
 * restore entry point's messages for directories that are not (valid) snapshots. */
#include "../test.h"
#include "vm/vm_impl.h"
#include <stdint.h>
#include <sys/stat.h>
#include <unistd.h>

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
    TEST_EXIT();
}
