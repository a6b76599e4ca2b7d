/* restore_harness.c — end-to-end check of the engine and device state below the VM layer (run by
 * tests/riscv/restore.t.sh): boots Linux on machine A (2 harts, virtio-blk on DISK, virtio-rng),
 * after AFTER_MS pauses the vCPU thread and the event loop, saves the machine and both devices,
 * stops A, waits PAUSE_MS (guest time must not jump), builds machine B with fresh devices on the
 * same disk, copies RAM, loads the state and runs B to the guest's poweroff. Prints "[harness]" lines.
 * RH_NET=<--net spec> adds a virtio-net device (a restored slirp starts fresh: connections are lost).
 * RH_PRECOPY=N moves RAM like live migration: a full copy while running, N rounds of dirty pages
 * (dirty sync + log harvest), a final round while paused; B starts from that copy only.
 * usage: restore_harness IMAGES_DIR DISK CMDLINE AFTER_MS PAUSE_MS */
#include "base/base.h"
#include "riscv/riscv.h"
#include "virtio/virtio.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define MEM (64u << 20)
typedef struct vmx { vmk_loop *l; vmk_chardev *c; vmk_mem mem; rv_machine *m; virtio_dev *blk, *rng, *net; } vmx;
static void msleep(unsigned ms) { struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L }; nanosleep(&ts, NULL); }
static vmx a;
static vmk_sbuf st;
static unsigned after_ms;
static uint8_t *copy;                    /* RH_PRECOPY: RAM as moved by rounds of dirty pages */

static uint64_t copy_dirty(uint64_t *bm)
{
    uint64_t pages = MEM >> 12, n = 0;
    for (uint64_t pg = 0; pg < pages; pg++)
        if ((bm[pg / 64] >> (pg % 64)) & 1) { memcpy(copy + (pg << 12), a.mem.host + (pg << 12), 4096); n++; }
    return n;
}

/* live-migration-style pre-copy: log on, copy all RAM while running, then rounds of (pause, dirty
 * sync, harvest, resume, copy those pages); the final round runs with everything paused. */
static void precopy(unsigned rounds)
{
    uint64_t *bm = calloc((MEM >> 12) / 64, 8);
    copy = malloc(MEM);
    /* log on, then forget cached writable translations (stores through them would not be logged),
     * both while paused; then the full copy runs while the guest does */
    rv_machine_pause(a.m);
    vmk_mem_log_start(&a.mem);
    rv_machine_dirty_sync(a.m);
    rv_machine_resume(a.m);
    memcpy(copy, a.mem.host, MEM);
    for (unsigned r = 0; r < rounds; r++) {
        msleep(100);
        rv_machine_pause(a.m);
        rv_machine_dirty_sync(a.m);
        vmk_mem_log_harvest(&a.mem, bm, false);
        rv_machine_resume(a.m);
        uint64_t n = copy_dirty(bm);
        fprintf(stderr, "\n[harness] pre-copy round %u: %llu dirty pages\n", r + 1, (unsigned long long)n);
    }
    free(bm);
}


static int build(vmx *v, const char *disk)
{
    char err[VMK_ERRLEN];
    v->l = vmk_loop_new();
    v->c = vmk_chr_open("stdio", v->l, NULL, NULL, err, sizeof err);
    if (!v->c || vmk_mem_init(&v->mem, RV_RAM_BASE_ADDR, MEM, err, sizeof err) < 0) { fprintf(stderr, "[harness] %s\n", err); return -1; }
    v->mem.track_dirty = true;
    if (!(v->m = rv_machine_new(&v->mem, 2, v->c, err, sizeof err))) { fprintf(stderr, "[harness] %s\n", err); return -1; }
    vmk_irq irq;
    int s = rv_machine_reserve_virtio(v->m, &irq, err, sizeof err);
    virtio_env e = { &v->mem, v->l, irq };
    if (s < 0 || !(v->blk = virtio_blk_new(&e, disk, false, err, sizeof err))) { fprintf(stderr, "[harness] %s\n", err); return -1; }
    rv_machine_attach_virtio(v->m, s, &virtio_mmio_ops, v->blk);
    s = rv_machine_reserve_virtio(v->m, &e.irq, err, sizeof err);
    if (s < 0 || !(v->rng = virtio_rng_new(&e, err, sizeof err))) { fprintf(stderr, "[harness] %s\n", err); return -1; }
    rv_machine_attach_virtio(v->m, s, &virtio_mmio_ops, v->rng);
    const char *net = getenv("RH_NET");          /* e.g. "user": a virtio-net device as the third slot */
    if (net && *net) {
        s = rv_machine_reserve_virtio(v->m, &e.irq, err, sizeof err);
        if (s < 0 || !(v->net = virtio_net_new(&e, net, NULL, err, sizeof err))) { fprintf(stderr, "[harness] %s\n", err); return -1; }
        rv_machine_attach_virtio(v->m, s, &virtio_mmio_ops, v->net);
    }
    return vmk_loop_start(v->l);
}

static void *controller(void *o)
{
    (void)o;
    msleep(after_ms);
    const char *pc = getenv("RH_PRECOPY");
    if (pc && atoi(pc) > 0) precopy((unsigned)atoi(pc));
    uint64_t t0 = vmk_now_ns();
    rv_machine_pause(a.m);
    vmk_loop_pause(a.l);
    if (copy) {
        uint64_t *bm = calloc((MEM >> 12) / 64, 8);
        rv_machine_dirty_sync(a.m);
        vmk_mem_log_harvest(&a.mem, bm, false);
        uint64_t n = copy_dirty(bm);
        free(bm);
        bool same = memcmp(copy, a.mem.host, MEM) == 0;
        fprintf(stderr, "\n[harness] final round: %llu dirty pages; copied RAM %s\n", (unsigned long long)n,
                same ? "identical" : "DIFFERS (a write was not logged)");
    }
    uint64_t t1 = vmk_now_ns();
    rv_machine_save(a.m, &st);
    virtio_dev_save(a.blk, &st);
    virtio_dev_save(a.rng, &st);
    if (a.net) virtio_dev_save(a.net, &st);
    fprintf(stderr, "\n[harness] paused in %llu us, state saved in %llu us (%zu bytes)\n",
            (unsigned long long)(t1 - t0) / 1000, (unsigned long long)(vmk_now_ns() - t1) / 1000, st.len);
    rv_machine_request_stop(a.m, 42);
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 6) { fprintf(stderr, "usage: restore_harness IMAGES DISK CMDLINE AFTER_MS PAUSE_MS\n"); return 2; }
    char err[VMK_ERRLEN], b[512], k[512], i[512];
    snprintf(b, sizeof b, "%s/fw_dynamic.bin", argv[1]);
    snprintf(k, sizeof k, "%s/Image", argv[1]);
    snprintf(i, sizeof i, "%s/initramfs.cpio.gz", argv[1]);
    after_ms = (unsigned)atoi(argv[4]);
    if (build(&a, argv[2]) < 0) return 1;
    if (rv_machine_boot(a.m, b, k, i, argv[3], err, sizeof err) < 0) { fprintf(stderr, "[harness] %s\n", err); return 1; }
    pthread_t t;
    pthread_create(&t, NULL, controller, NULL);
    int rc = rv_machine_run(a.m);
    pthread_join(t, NULL);
    fprintf(stderr, "[harness] A stopped rc=%d\n", rc);
    if (rc != 42) return 1;
    vmk_loop_resume(a.l);
    vmk_loop_stop(a.l);
    virtio_dev_free(a.blk);
    virtio_dev_free(a.rng);
    if (a.net) virtio_dev_free(a.net);
    msleep((unsigned)atoi(argv[5]));
    vmx v = { 0 };
    if (build(&v, argv[2]) < 0) return 1;
    memcpy(v.mem.host, copy ? copy : a.mem.host, MEM);   /* pre-copy: only what the dirty log moved */
    free(copy);
    rv_machine_free(a.m);
    vmk_chr_close(a.c);
    vmk_loop_free(a.l);
    vmk_mem_free(&a.mem);
    vmk_sread r;
    vmk_sr_init(&r, st.data, st.len);
    uint64_t t0 = vmk_now_ns();
    if (rv_machine_load(v.m, &r, err, sizeof err) < 0 || virtio_dev_load(v.blk, &r, err, sizeof err) < 0 ||
        virtio_dev_load(v.rng, &r, err, sizeof err) < 0 || (v.net && virtio_dev_load(v.net, &r, err, sizeof err) < 0) ||
        !vmk_sr_done(&r)) {
        fprintf(stderr, "[harness] load failed: %s\n", err);
        return 1;
    }
    fprintf(stderr, "[harness] B loaded in %llu us\n", (unsigned long long)(vmk_now_ns() - t0) / 1000);
    rc = rv_machine_run(v.m);
    fprintf(stderr, "[harness] B returned %d\n", rc);
    vmk_loop_stop(v.l);
    virtio_dev_free(v.blk);
    virtio_dev_free(v.rng);
    if (v.net) virtio_dev_free(v.net);
    rv_machine_free(v.m);
    vmk_chr_close(v.c);
    vmk_loop_free(v.l);
    vmk_mem_free(&v.mem);
    vmk_sb_free(&st);
    return rc;
}
