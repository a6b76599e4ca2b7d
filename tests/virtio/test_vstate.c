/* test_vstate.c — virtio device state: a blk device set up and used by the test driver is saved
 * (with the loop paused), loaded into a new device on the same disk, and the driver continues I/O on
 * it (indices, features, interrupt status carried over); a net device keeps its MAC, takes a new one
 * with virtio_net_set_mac (config generation + config interrupt); loads of bad state are refused:
 * truncation, another device kind, unoffered features, bad queue size, rings outside RAM, requests in
 * flight, a disk of another size. */
#include "../test.h"
#include "vdriver.h"
#include <fcntl.h>
#include <unistd.h>

#define HDR  (RAM_BASE + 0x10000)
#define DATA (RAM_BASE + 0x11000)
#define STAT (RAM_BASE + 0x18000)

static int64_t blk_io(virtio_dev *d, uint32_t type, uint64_t sector, uint32_t len, bool dev_writes)
{
    uint8_t *h = g(HDR);
    uint32_t z = 0;
    memcpy(h, &type, 4); memcpy(h + 4, &z, 4); memcpy(h + 8, &sector, 8);
    *(uint8_t *)g(STAT) = 0xee;
    seg s[3] = { { HDR, 16, false }, { DATA, len, dev_writes }, { STAT, 1, true } };
    post(d, 0, s, 3);
    return wait_used(0, NULL);
}

static int load(virtio_dev *d, const vmk_sbuf *b, char *err)
{
    vmk_sread r;
    vmk_sr_init(&r, b->data, b->len);
    int rc = virtio_dev_load(d, &r, err, VMK_ERRLEN);
    if (rc == 0 && !vmk_sr_done(&r)) return -2;
    return rc;
}

/* offsets in a saved blob: version, id, nqueues, host f, driver f, 3 selectors, status, isr, gen,
 * broken, config_len, config, then per queue: num u16, ready u8, desc, avail, used u64, 3 x u16, u8 */
#define OFF_DRVF 20
#define OFF_STATUS (4 + 4 + 4 + 8 + 8 + 12)
static size_t q0_off(unsigned config_len) { return OFF_STATUS + 4 + 4 + 4 + 1 + 4 + config_len; }

int main(void)
{
    char err[VMK_ERRLEN], path[64];
    if (vmk_mem_init(&mem, RAM_BASE, RAM_SIZE, err, sizeof err) < 0) { printf("%s\n", err); return 1; }
    loop = vmk_loop_new();
    vmk_loop_start(loop);
    strcpy(path, "/tmp/vmkit-test-vstateXXXXXX");
    int fd = mkstemp(path);
    CHECK(fd >= 0 && ftruncate(fd, 1 << 20) == 0);
    close(fd);
    vmk_sbuf st = { 0 };

    TEST_BEGIN("blk_save_load_continue");
    {
        virtio_dev *a = virtio_blk_new(env(), path, false, err, sizeof err);
        CHECK(a && driver_init(a, 1, 1ull << 32 | 1ull << 29 | 1ull << 9) == 0);
        memset(g(DATA), 0x42, 4096);
        CHECK_EQ_U64(blk_io(a, 1, 8, 4096, false), 1);
        CHECK_EQ_U64(blk_io(a, 0, 8, 4096, true), 4097);
        CHECK(((uint8_t *)g(DATA))[4095] == 0x42);
        vmk_loop_pause(loop);
        CHECK(virtio_dev_save(a, &st) == 0);
        vmk_loop_resume(loop);
        printf("  blk state: %zu bytes\n", st.len);
        uint32_t isr = rd(a, 0x60);
        vmk_loop_stop(loop);                      /* the old device goes away, as after a snapshot */
        virtio_dev_free(a);
        vmk_loop_start(loop);
        atomic_store(&irq_level, 0);
        virtio_dev *b = virtio_blk_new(env(), path, false, err, sizeof err);
        CHECK(b != NULL);
        int rc = load(b, &st, err);
        if (rc) printf("  load: %s\n", err);
        CHECK(rc == 0);
        CHECK_EQ_U64(rd(b, 0x70), 15);            /* ACK | DRIVER | FEATURES_OK | DRIVER_OK */
        CHECK_EQ_U64(rd(b, 0x60), isr);
        CHECK(atomic_load(&irq_level) == (isr != 0));
        wr(b, 0x30, 0);
        CHECK_EQ_U64(rd(b, 0x44), 1);
        CHECK_EQ_U64(rd(b, 0x80), (uint32_t)gqs[0].desc);
        wr(b, 0x64, isr);
        /* the driver goes on where it was: the next request is taken from the next ring slot */
        memset(g(DATA), 0, 4096);
        CHECK_EQ_U64(blk_io(b, 0, 8, 4096, true), 4097);
        CHECK(((uint8_t *)g(DATA))[0] == 0x42 && *(uint8_t *)g(STAT) == 0);
        memset(g(DATA), 0x17, 512);
        CHECK_EQ_U64(blk_io(b, 1, 100, 512, false), 1);
        CHECK_EQ_U64(blk_io(b, 4, 0, 0, true), 1);   /* flush (a 0-length data segment is skipped by post) */
        CHECK_EQ_U64(used_idx(0), 5);
        CHECK(!virtio_dev_is_broken(b));
        vmk_loop_stop(loop);
        virtio_dev_free(b);
        vmk_loop_start(loop);
    }
    TEST_END();

    TEST_BEGIN("blk_load_rejects_bad_state");
    {
        virtio_dev *b = virtio_blk_new(env(), path, false, err, sizeof err);
        uint8_t *c = malloc(st.len);
        vmk_sbuf cb = { c, st.len, st.len };
        unsigned bad = 0, n = 0;
        for (size_t len = 0; len < st.len; len++, n++) {
            vmk_sbuf t = { st.data, len, len };
            if (load(b, &t, err) != 0) bad++;
        }
        CHECK_EQ_U64(bad, n);
        size_t q0 = q0_off(60);
        struct { size_t off; uint8_t val; const char *what; } cases[] = {
            { 0, 9, "version" },
            { 4, 3, "different device" },
            { OFF_DRVF + 3, 0x80, "not offered" },            /* driver feature bit 31 */
            { OFF_STATUS, 0x30, "status" },
            { OFF_STATUS, 0x07, "FEATURES_OK" },              /* DRIVER_OK without FEATURES_OK */
            { q0, 3, "queue size" },
            { q0 + 3 + 7, 0x40, "outside guest RAM" },        /* desc address way beyond RAM */
            { q0 + 3, 0x08, "misaligned" },                   /* desc + 8 */
            { q0 + 3 + 24, 0x07, "in flight" },               /* last_avail != used_idx */
            { q0 + 2, 2, "queue flags" },
        };
        for (unsigned i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            memcpy(c, st.data, st.len);
            c[cases[i].off] = cases[i].off == q0 + 3 ? (uint8_t)(c[q0 + 3] | 8) : cases[i].val;
            int rc = load(b, &cb, err);
            if (rc == 0 || !(strstr(err, cases[i].what) || (i == 7 && strstr(err, "misaligned"))))
                printf("  case %u: rc=%d err='%s'\n", i, rc, err);
            CHECK(rc != 0);
        }
        /* the device still loads the good state, and random corruption never crashes */
        CHECK(load(b, &st, err) == 0);
        srand(3);
        for (int i = 0; i < 3000; i++) {
            memcpy(c, st.data, st.len);
            for (int k = 0; k < 2; k++) c[(size_t)rand() % st.len] ^= (uint8_t)(1u << (rand() % 8));
            (void)load(b, &cb, err);
        }
        vmk_loop_stop(loop);
        virtio_dev_free(b);
        vmk_loop_start(loop);
        /* a disk of another size */
        fd = open(path, O_RDWR);
        CHECK(ftruncate(fd, 2 << 20) == 0);
        close(fd);
        b = virtio_blk_new(env(), path, false, err, sizeof err);
        CHECK(load(b, &st, err) != 0 && strstr(err, "sectors"));
        vmk_loop_stop(loop);
        virtio_dev_free(b);
        vmk_loop_start(loop);
        /* a snapshot of one device kind into another */
        virtio_dev *r = virtio_rng_new(env(), err, sizeof err);
        CHECK(load(r, &st, err) != 0 && strstr(err, "different device"));
        vmk_loop_stop(loop);
        virtio_dev_free(r);
        vmk_loop_start(loop);
        free(c);
    }
    TEST_END();

    TEST_BEGIN("net_mac_save_load_set_mac");
    {
        static const uint8_t mac1[6] = { 0x52, 0x54, 0x00, 0x01, 0x02, 0x03 }, mac2[6] = { 0x52, 0x54, 0x00, 0x0a, 0x0b, 0x0c };
        virtio_dev *a = virtio_net_new(env(), "user", mac1, err, sizeof err);
        CHECK(a && driver_init(a, 2, 1ull << 32 | 1ull << 5 | 1ull << 16) == 0);
        vmk_sbuf ns = { 0 };
        vmk_loop_pause(loop);
        virtio_dev_save(a, &ns);
        vmk_loop_resume(loop);
        vmk_loop_stop(loop);
        virtio_dev_free(a);
        vmk_loop_start(loop);
        virtio_dev *b = virtio_net_new(env(), "user", NULL, err, sizeof err);   /* default MAC ... */
        CHECK(b && load(b, &ns, err) == 0);
        uint8_t got[6];
        for (int i = 0; i < 6; i++) got[i] = (uint8_t)virtio_mmio_ops.read(b, 0x100 + (unsigned)i, 1);
        CHECK(memcmp(got, mac1, 6) == 0);                                    /* ... replaced by the saved one */
        uint32_t gen = rd(b, 0xfc);
        wr(b, 0x64, rd(b, 0x60));
        virtio_net_set_mac(b, mac2);
        for (int i = 0; i < 6; i++) got[i] = (uint8_t)virtio_mmio_ops.read(b, 0x100 + (unsigned)i, 1);
        CHECK(memcmp(got, mac2, 6) == 0);
        CHECK(rd(b, 0xfc) != gen);
        CHECK(rd(b, 0x60) & 2);                                              /* config-change interrupt */
        CHECK(atomic_load(&irq_level) == 1);
        vmk_sb_free(&ns);
        vmk_loop_stop(loop);
        virtio_dev_free(b);
        vmk_loop_start(loop);
    }
    TEST_END();

    TEST_BEGIN("console_net_rng_state_fuzz");
    {
        /* every device kind: its saved state loads back, and corrupted copies never crash */
        vmk_chardev *chr = vmk_chr_open("null", loop, NULL, NULL, err, sizeof err);
        virtio_dev *devs[3] = { virtio_console_new(env(), chr, err, sizeof err), virtio_net_new(env(), "user", NULL, err, sizeof err),
                                virtio_rng_new(env(), err, sizeof err) };
        for (int k = 0; k < 3; k++) {
            virtio_dev *d = devs[k];
            CHECK(d && driver_init(d, k == 2 ? 1 : 2, 1ull << 32 | 1ull << 29 | 1ull << 28 | 1ull << 5) == 0);
            vmk_sbuf s = { 0 };
            vmk_loop_pause(loop);
            virtio_dev_save(d, &s);
            vmk_loop_resume(loop);
            CHECK(load(d, &s, err) == 0);
            uint8_t *c = malloc(s.len);
            vmk_sbuf cb = { c, s.len, s.len };
            srand(11 + k);
            int accepted = 0;
            for (int i = 0; i < 2000; i++) {
                memcpy(c, s.data, s.len);
                for (int j = 0; j < 2; j++) c[(size_t)rand() % s.len] ^= (uint8_t)(1u << (rand() % 8));
                if (load(d, &cb, err) == 0) accepted++;
            }
            for (size_t len = 0; len < s.len; len++) { vmk_sbuf t = { s.data, len, len }; CHECK(load(d, &t, err) != 0); }
            CHECK(load(d, &s, err) == 0);
            printf("  %s: %zu bytes of state, %d/2000 corrupted copies plausible enough to load\n", virtio_dev_name(d), s.len, accepted);
            free(c);
            vmk_sb_free(&s);
        }
        vmk_loop_stop(loop);
        for (int k = 0; k < 3; k++) virtio_dev_free(devs[k]);
        vmk_chr_close(chr);
        vmk_loop_start(loop);
    }
    TEST_END();

    vmk_loop_stop(loop);
    vmk_loop_free(loop);
    vmk_mem_free(&mem);
    vmk_sb_free(&st);
    unlink(path);
    TEST_EXIT();
}
