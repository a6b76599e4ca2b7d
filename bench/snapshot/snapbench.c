/* snapbench.c — in-process snapshot figures for bench/snapshot/run.sh, through the VM library
 * (vm.h): boots the default guest running a busy shell loop, takes full and diff snapshots
 * (vmk_vm_snapshot), then measures vmk_vm_restore alone and restore-to-running (until the restored
 * guest's first console byte, the console on a pipe), and clones per second (N clones of one
 * snapshot, each with a copy-on-write disk overlay and a fresh MAC, restored and its vCPU thread
 * started, paused, in this process; then all resumed and the time until every one has retired
 * instructions, all of them busy on the host's cores).
 * Usage: snapbench IMAGES WORKDIR MEM_MIB NCLONES REPS. Prints "key value" lines. */
#include "vm/vm.h"
#include "base/base.h"
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct runner { vmk_vm *vm; pthread_t t; uint64_t instret0; } runner;
static void *run_thread(void *a) { runner *r = a; vmk_vm_run(r->vm); return NULL; }

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}
static double median_ms(uint64_t *v, int n) { qsort(v, (size_t)n, sizeof(*v), cmp_u64); return (double)v[n / 2] / 1e6; }
static uint64_t instret(vmk_vm *vm) { vmk_vm_stats st; vmk_vm_get_stats(vm, &st); return st.instret; }
static void stop(runner *r) { vmk_vm_request_stop(r->vm, 0); pthread_join(r->t, NULL); vmk_vm_free(r->vm); }
static uint64_t du_kib(const char *path) { struct stat st; return stat(path, &st) ? 0 : (uint64_t)st.st_blocks / 2; }

int main(int argc, char **argv)
{
    if (argc != 6) { fprintf(stderr, "usage: snapbench IMAGES WORKDIR MEM_MIB NCLONES REPS\n"); return 1; }
    const char *img = argv[1], *work = argv[2];
    unsigned mem = (unsigned)atoi(argv[3]), nclones = (unsigned)atoi(argv[4]);
    int reps = atoi(argv[5]);
    if (reps < 1 || reps > 100 || nclones > 1000) return 1;
    char err[VMK_ERRLEN], bios[4096], kernel[4096], initrd[4096], disk[4096], cmd[4096], path[4200], cpy[8400];
    snprintf(bios, sizeof(bios), "%s/fw_dynamic.bin", img);
    snprintf(kernel, sizeof(kernel), "%s/Image", img);
    snprintf(initrd, sizeof(initrd), "%s/initramfs.cpio.gz", img);
    snprintf(disk, sizeof(disk), "%s/disk.ext4", work);
    snprintf(cpy, sizeof(cpy), "cp %s/disk.ext4 %s", img, disk);
    if (system(cpy) != 0) return 1;
    /* "while :; do echo tick; done" */
    snprintf(cmd, sizeof(cmd), "console=ttyS0 vmkit.net=0 vmkit.run=b64:d2hpbGUgOjsgZG8gZWNobyB0aWNrOyBkb25l");
    vmk_vm_config c;
    memset(&c, 0, sizeof(c));
    c.engine = VMK_ENGINE_RISCV;
    c.mem_size = (uint64_t)mem << 20;
    c.ncpus = 1;
    c.bios = bios; c.kernel = kernel; c.initrd = initrd; c.cmdline = cmd; c.console = "null";
    c.disks[0].path = disk; c.ndisks = 1;
    runner r = { 0 };
    if (!(r.vm = vmk_vm_new(&c, err, sizeof(err)))) { fprintf(stderr, "snapbench: %s\n", err); return 1; }
    pthread_create(&r.t, NULL, run_thread, &r);
    sleep(5);                                        /* boot to the busy loop */

    uint64_t *t = calloc((size_t)reps + nclones + 1, sizeof(uint64_t)), *t2 = calloc((size_t)reps + 1, sizeof(uint64_t));
    vmk_snapshot_opts full = { 0 }, diff = { .diff = true };
    for (int i = 0; i < reps; i++) {
        snprintf(path, sizeof(path), "%s/full%d", work, i);
        uint64_t a = vmk_now_ns();
        if (vmk_vm_snapshot(r.vm, path, &full, err, sizeof(err)) < 0) { fprintf(stderr, "snapbench: %s\n", err); return 1; }
        t[i] = vmk_now_ns() - a;
        usleep(200000);
        snprintf(path, sizeof(path), "%s/diff%d", work, i);
        a = vmk_now_ns();
        if (vmk_vm_snapshot(r.vm, path, &diff, err, sizeof(err)) < 0) { fprintf(stderr, "snapbench: %s\n", err); return 1; }
        t2[i] = vmk_now_ns() - a;
    }
    printf("snapshot_full_ms %.2f\n", median_ms(t, reps));
    printf("snapshot_diff_ms %.2f\n", median_ms(t2, reps));
    snprintf(path, sizeof(path), "%s/full0/memory", work);
    printf("snapshot_full_kib %llu\n", (unsigned long long)du_kib(path));
    snprintf(path, sizeof(path), "%s/diff0/memory", work);
    printf("snapshot_diff_kib %llu\n", (unsigned long long)du_kib(path));
    stop(&r);

    char snap[4200];
    snprintf(snap, sizeof(snap), "%s/full%d", work, reps - 1);
    /* the restored console writes to a pipe on fd 1: running = the guest's first output byte */
    int saved_out = dup(1);
    vmk_restore_opts ro = { .console = "stdio" };
    for (int i = 0; i < reps; i++) {
        int pfd[2];
        if (pipe(pfd) != 0) return 1;
        dup2(pfd[1], 1);
        close(pfd[1]);
        uint64_t a = vmk_now_ns();
        runner q = { 0 };
        if (!(q.vm = vmk_vm_restore(snap, &ro, err, sizeof(err)))) { fprintf(stderr, "snapbench: %s\n", err); return 1; }
        t[i] = vmk_now_ns() - a;
        pthread_create(&q.t, NULL, run_thread, &q);
        char ch;
        if (read(pfd[0], &ch, 1) != 1) return 1;
        t2[i] = vmk_now_ns() - a;
        dup2(saved_out, 1);
        stop(&q);
        close(pfd[0]);
    }
    printf("restore_ms %.3f\n", median_ms(t, reps));
    printf("restore_to_running_ms %.3f\n", median_ms(t2, reps));
    /* a diff over its full parent: the parent mapped, the diff's pages mapped over it */
    char dsnap[4200];
    snprintf(dsnap, sizeof(dsnap), "%s/diff%d", work, reps - 1);
    vmk_restore_opts dro = { .console = "null" };
    for (int i = 0; i < reps; i++) {
        uint64_t a = vmk_now_ns();
        vmk_vm *d = vmk_vm_restore(dsnap, &dro, err, sizeof(err));
        if (!d) { fprintf(stderr, "snapbench: %s\n", err); return 1; }
        t[i] = vmk_now_ns() - a;
        vmk_vm_free(d);
    }
    printf("restore_diff_ms %.3f\n", median_ms(t, reps));
    fflush(stdout);

    runner *cl = calloc(nclones, sizeof(runner));
    uint64_t a = vmk_now_ns();
    for (unsigned i = 0; i < nclones; i++) {
        vmk_restore_opts co = { .console = "null", .clone_index = i, .start_paused = true };
        char cd[4300];
        snprintf(cd, sizeof(cd), "%s/clone%u", work, i);
        co.clone_dir = cd;
        if (!(cl[i].vm = vmk_vm_restore(snap, &co, err, sizeof(err)))) { fprintf(stderr, "snapbench: clone %u: %s\n", i, err); return 1; }
        cl[i].instret0 = instret(cl[i].vm);
        pthread_create(&cl[i].t, NULL, run_thread, &cl[i]);
    }
    uint64_t made = vmk_now_ns() - a;
    for (unsigned i = 0; i < nclones; i++) vmk_vm_resume(cl[i].vm);
    for (unsigned i = 0; i < nclones; i++)
        while (instret(cl[i].vm) == cl[i].instret0) usleep(100);
    uint64_t el = vmk_now_ns() - a;
    printf("clones %u\n", nclones);
    printf("clones_started_ms %.1f\n", (double)made / 1e6);
    printf("clones_per_s %.0f\n", nclones * 1e9 / (double)made);
    printf("clones_all_running_ms %.1f\n", (double)el / 1e6);
    for (unsigned i = 0; i < nclones; i++) stop(&cl[i]);
    free(cl);
    free(t);
    free(t2);
    return 0;
}
