/* migbench.c — the vmkit side of bench/migrate/run.sh: boots the default guest (software engine) in
 * this process, lets it run a workload, then live-migrates it over TCP on loopback to a second VM in
 * the same process (vmk_vm_migrate_send / vmk_vm_migrate_recv, the code the daemons use) and prints
 * one line of figures. The destination is checked to run the guest afterwards.
 *   migbench MEM_MIB idle|dirty IMAGES_DIR [WARMUP_S]
 * Output: "vmkit mem=256M workload=idle rounds=N bytes=B total_ms=T downtime_ms=D dest_runs=1". */
#include "vm/vm_impl.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct runner { vmk_vm *vm; int status; } runner;
static void *run_vm(void *arg) { runner *r = arg; r->status = vmk_vm_run(r->vm); return NULL; }

typedef struct dest { int lfd; vmk_vm *vm; runner r; pthread_t t; char err[VMK_ERRLEN]; } dest;
static void *dest_main(void *arg)
{
    dest *d = arg;
    int fd = accept(d->lfd, NULL, NULL);
    if (fd < 0) { snprintf(d->err, sizeof d->err, "accept failed"); return NULL; }
    vmk_restore_opts o = { .console = "null" };
    d->vm = vmk_vm_migrate_recv(fd, &o, d->err, sizeof d->err);
    if (!d->vm) { close(fd); return NULL; }
    d->r.vm = d->vm;
    pthread_create(&d->t, NULL, run_vm, &d->r);    /* vmk_vm_run acknowledges */
    return NULL;
}

static void progress(void *opaque, const vmk_migrate_progress *p)
{
    (void)opaque;
    if (getenv("MIGBENCH_VERBOSE"))
        fprintf(stderr, "  %-7s round %2u  sent %8.1f MiB  remaining %7llu pages  dirty %7llu pages/s\n", p->phase,
                p->round, p->bytes_sent / 1048576.0, (unsigned long long)p->pages_remaining,
                (unsigned long long)p->dirty_rate_pps);
}

int main(int argc, char **argv)
{
    if (argc < 4) { fprintf(stderr, "usage: migbench MEM_MIB idle|dirty IMAGES_DIR [WARMUP_S]\n"); return 2; }
    vmk_log_init();
    unsigned mib = (unsigned)atoi(argv[1]);
    bool dirty = !strcmp(argv[2], "dirty");
    double warm = argc > 4 ? atof(argv[4]) : (dirty ? 10 : 4);
    char k[1024], i[1024], b[1024];
    snprintf(k, sizeof k, "%s/Image", argv[3]);
    snprintf(i, sizeof i, "%s/initramfs.cpio.gz", argv[3]);
    snprintf(b, sizeof b, "%s/fw_dynamic.bin", argv[3]);
    /* dirty: a 16 MiB random file copied over and over inside the guest (page cache pages rewritten) */
    const char *cmd = dirty ? "console=ttyS0 vmkit.net=0 vmkit.run=dd%20if=/dev/urandom%20of=/tmp/a%20bs=1M%20count=16;"
                              "while%20:;%20do%20cp%20/tmp/a%20/tmp/b;%20done"
                            : "console=ttyS0 vmkit.net=0";
    vmk_vm_config cfg = { .engine = VMK_ENGINE_RISCV, .mem_size = (uint64_t)mib << 20, .ncpus = 1, .bios = b,
                          .kernel = k, .initrd = i, .cmdline = cmd, .console = "null" };
    char err[VMK_ERRLEN];
    vmk_vm *a = vmk_vm_new(&cfg, err, sizeof err);
    if (!a) { fprintf(stderr, "migbench: %s\n", err); return 1; }
    runner ra = { .vm = a };
    pthread_t ta;
    pthread_create(&ta, NULL, run_vm, &ra);
    usleep((useconds_t)(warm * 1e6));

    int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t sl = sizeof sa;
    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 1) || getsockname(lfd, (struct sockaddr *)&sa, &sl)) {
        perror("migbench: listen");
        return 1;
    }
    dest d = { .lfd = lfd };
    pthread_t td;
    pthread_create(&td, NULL, dest_main, &d);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) { perror("migbench: connect"); return 1; }
    vmk_migrate_opts o = { .cb = progress };
    vmk_migrate_progress p;
    int rc = vmk_vm_migrate_send(a, fd, &o, &p, err, sizeof err);
    pthread_join(td, NULL);
    vmk_vm_request_stop(a, 0);
    pthread_join(ta, NULL);
    if (rc != 0) {
        fprintf(stderr, "migbench: migration failed: %s (destination: %s)\n", err, d.err);
        return 1;
    }
    /* the destination runs the guest: it retires instructions (an idle guest wakes for its timers) */
    uint64_t i0 = d.vm->eng->instret(d.vm->e), i1 = i0;
    for (int t = 0; t < 40 && i1 == i0; t++) {
        usleep(50 * 1000);
        i1 = d.vm->eng->instret(d.vm->e);
    }
    printf("vmkit mem=%uM workload=%s rounds=%u bytes=%llu total_ms=%.1f downtime_ms=%.2f dest_runs=%d\n", mib,
           argv[2], p.round, (unsigned long long)p.bytes_sent, p.total_ns / 1e6, p.downtime_ns / 1e6, i1 > i0);
    vmk_vm_request_stop(d.vm, 0);
    pthread_join(d.t, NULL);
    vmk_vm_free(d.vm);
    vmk_vm_free(a);
    close(fd);
    close(lfd);
    return 0;
}
