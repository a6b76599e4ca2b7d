/* vm.c — assembles a VM from a vmk_vm_config through the engine seam (vm_impl.h): guest RAM, the
 * I/O event loop, the console chardev, virtio devices (disks, networks, rng) and the engine; runs it,
 * controls it (pause/resume/stats/shutdown) and tears it down in order (engine stops, loop stops,
 * devices flush, console restores the terminal). Snapshots live in snapshot.c. */
#include "vm_impl.h"
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

const char *vmk_engine_name(vmk_engine_kind k)
{
    switch (k) {
    case VMK_ENGINE_RISCV: return "riscv64";
    case VMK_ENGINE_KVM_X86: return "x86_64";
    }
    return "unknown";
}

int vmk_engine_parse(const char *s, vmk_engine_kind *out)
{
    if (!s) return -1;
    if (!strcmp(s, "riscv64") || !strcmp(s, "riscv")) { *out = VMK_ENGINE_RISCV; return 0; }
    if (!strcmp(s, "x86_64") || !strcmp(s, "kvm")) { *out = VMK_ENGINE_KVM_X86; return 0; }
    return -1;
}

const vm_engine_ops *vm_engine_for(vmk_engine_kind k)
{
    switch (k) {
    case VMK_ENGINE_RISCV: return &vm_engine_riscv;
    case VMK_ENGINE_KVM_X86: return &vm_engine_kvm;
    }
    return NULL;
}

/* ---------------- configuration ---------------- */

static char *dup_or_null(const char *s) { return s ? vmk_xstrdup(s) : NULL; }

void vm_cfg_copy(vmk_vm_config *dst, const vmk_vm_config *src)
{
    *dst = *src;
    dst->bios = dup_or_null(src->bios);
    dst->kernel = dup_or_null(src->kernel);
    dst->initrd = dup_or_null(src->initrd);
    dst->cmdline = dup_or_null(src->cmdline);
    dst->console = dup_or_null(src->console);
    for (unsigned i = 0; i < src->ndisks && i < VMK_VM_MAX_DISKS; i++) dst->disks[i].path = dup_or_null(src->disks[i].path);
    for (unsigned i = 0; i < src->nnets && i < VMK_VM_MAX_NETS; i++) dst->nets[i] = dup_or_null(src->nets[i]);
}

void vm_cfg_free(vmk_vm_config *c)
{
    free((char *)c->bios);
    free((char *)c->kernel);
    free((char *)c->initrd);
    free((char *)c->cmdline);
    free((char *)c->console);
    for (unsigned i = 0; i < c->ndisks && i < VMK_VM_MAX_DISKS; i++) free((char *)c->disks[i].path);
    for (unsigned i = 0; i < c->nnets && i < VMK_VM_MAX_NETS; i++) free((char *)c->nets[i]);
    memset(c, 0, sizeof(*c));
}

vmk_vm *vm_alloc(const vmk_vm_config *cfg, char *err, size_t errlen)
{
    const vm_engine_ops *eng = vm_engine_for(cfg->engine);
    if (!eng) {
        vmk_seterr(err, errlen, "unknown engine %d", (int)cfg->engine);
        return NULL;
    }
    if (cfg->ndisks > VMK_VM_MAX_DISKS || cfg->nnets > VMK_VM_MAX_NETS) {
        vmk_seterr(err, errlen, "too many devices (at most %d disks and %d networks)", VMK_VM_MAX_DISKS, VMK_VM_MAX_NETS);
        return NULL;
    }
    if (cfg->ndisks + cfg->nnets + (cfg->no_rng ? 0 : 1) > eng->max_virtio) {
        vmk_seterr(err, errlen, "too many devices: disks + networks + rng must be at most %u", eng->max_virtio);
        return NULL;
    }
    if (cfg->ncpus < 1 || cfg->ncpus > eng->max_cpus) {
        vmk_seterr(err, errlen, "%u CPUs: the %s engine supports 1 to %u", cfg->ncpus, eng->name, eng->max_cpus);
        return NULL;
    }
    vmk_vm *vm = vmk_xcalloc(1, sizeof(*vm));
    vm_cfg_copy(&vm->cfg, cfg);
    /* disks by absolute path: snapshots record them and restores may run from another directory */
    for (unsigned i = 0; i < vm->cfg.ndisks; i++) {
        char abs[PATH_MAX];
        if (vm->cfg.disks[i].path && realpath(vm->cfg.disks[i].path, abs)) {
            free((char *)vm->cfg.disks[i].path);
            vm->cfg.disks[i].path = vmk_xstrdup(abs);
        }
    }
    vm->eng = eng;
    vm->mem.fd = -1;
    vm->migrate_ack_fd = -1;
    pthread_mutex_init(&vm->ctl_mtx, NULL);
    pthread_mutex_init(&vm->snap_mtx, NULL);
    return vm;
}

/* ---------------- assembly ---------------- */

/* Device DMA and decoded-instruction caches: devices write guest RAM through vmk_mem_ptr_w, which
 * marks the pages in the dirty bitmap (mem.track_dirty is on). Before a device interrupt reaches
 * the guest, every page dirtied since the last interrupt is reported to the engine, which drops
 * decoded code for it (cheap when the page holds no code). This way a program read from disk into
 * a page that once held other code never runs stale instructions. Runs on the I/O thread. */
static void dma_sync(vmk_vm *vm)
{
    uint64_t words = ((vm->mem.size >> VMK_PAGE_SHIFT) + 63) / 64;
    for (uint64_t w = 0; w < words; w++) {
        _Atomic uint64_t *p = (_Atomic uint64_t *)&vm->mem.dirty[w];
        if (!atomic_load_explicit(p, memory_order_relaxed)) continue;
        uint64_t bits = atomic_exchange_explicit(p, 0, memory_order_acq_rel);
        while (bits) {
            unsigned b = (unsigned)__builtin_ctzll(bits);
            bits &= bits - 1;
            vm->eng->invalidate_code(vm->e, vm->mem.base + ((w * 64 + b) << VMK_PAGE_SHIFT), VMK_PAGE_SIZE);
        }
    }
}

static void vm_irq_set(void *ctx, unsigned line, int level)
{
    vm_irq *q = ctx;
    (void)line;
    if (level && q->vm->eng->invalidate_code) dma_sync(q->vm);
    vmk_irq_set(&q->real, level);
}

static void quit_cb(void *opaque) { vmk_vm_request_stop(opaque, 0); }

static int add_device(vmk_vm *vm, vm_dev_kind kind, const void *arg, bool ro, char *err, size_t errlen)
{
    vmk_irq irq;
    int slot = vm->eng->reserve_virtio(vm->e, &irq, err, errlen);
    if (slot < 0) return -1;
    vm_irq *q = &vm->irqs[vm->ndevs];
    q->vm = vm;
    q->real = irq;
    virtio_env env = { .mem = &vm->mem, .loop = vm->loop,
                       .irq = { .set = vm_irq_set, .ctx = q, .line = irq.line } };
    virtio_dev *d = NULL;
    switch (kind) {
    case VM_DEV_BLK: d = virtio_blk_new(&env, arg, ro, err, errlen); break;
    case VM_DEV_NET: d = virtio_net_new(&env, arg, NULL, err, errlen); break;
    case VM_DEV_RNG: d = virtio_rng_new(&env, err, errlen); break;
    }
    if (!d) return -1;
    vm->dev_kind[vm->ndevs] = kind;
    vm->devs[vm->ndevs++] = d;
    vm->eng->attach_virtio(vm->e, slot, &virtio_mmio_ops, d);
    return 0;
}

int vm_build(vmk_vm *vm, char *err, size_t errlen)
{
    const vmk_vm_config *cfg = &vm->cfg;
    if (!vm->mem_ok) {
        if (vmk_mem_init(&vm->mem, vm->eng->ram_base, cfg->mem_size, err, errlen) < 0) return -1;
        vm->mem_ok = true;
    }
    vm->mem.track_dirty = true;       /* see dma_sync; also feeds the dirty log */
    if (!(vm->loop = vmk_loop_new())) {
        vmk_seterr(err, errlen, "cannot create the event loop");
        return -1;
    }
    if (!(vm->console = vmk_chr_open(cfg->console ? cfg->console : "stdio", vm->loop, quit_cb, vm, err, errlen)))
        return -1;
    if (!(vm->e = vm->eng->create(&vm->mem, cfg, vm->console, vm->loop, err, errlen))) return -1;
    for (unsigned i = 0; i < cfg->ndisks; i++)
        if (add_device(vm, VM_DEV_BLK, cfg->disks[i].path, cfg->disks[i].readonly, err, errlen) < 0) return -1;
    for (unsigned i = 0; i < cfg->nnets; i++)
        if (add_device(vm, VM_DEV_NET, cfg->nets[i], false, err, errlen) < 0) return -1;
    if (!cfg->no_rng && add_device(vm, VM_DEV_RNG, NULL, false, err, errlen) < 0) return -1;
    return 0;
}

vmk_vm *vmk_vm_new(const vmk_vm_config *cfg, char *err, size_t errlen)
{
    vmk_vm *vm = vm_alloc(cfg, err, errlen);
    if (!vm) return NULL;
    if (vm_build(vm, err, errlen) < 0 || vm->eng->boot(vm->e, &vm->cfg, err, errlen) < 0) {
        vmk_vm_free(vm);
        return NULL;
    }
    return vm;
}

/* ---------------- running ---------------- */

int vmk_vm_run(vmk_vm *vm)
{
    if (vmk_loop_start(vm->loop) != 0) {
        vmk_error("cannot start the I/O thread");
        return 1;
    }
    vm->loop_running = true;
    vm->run_start_ns = vmk_now_ns();
    atomic_store(&vm->running, true);
    if (vm->migrate_ack_fd >= 0) vm_migrate_ack(vm);
    int status = vm->eng->run(vm->e);
    atomic_store(&vm->running, false);
    vmk_loop_stop(vm->loop);
    vm->loop_running = false;
    if (vmk_log_level >= VMK_LOG_INFO && vm->eng->instret)
        vmk_info("vm: %llu instructions retired", (unsigned long long)vm->eng->instret(vm->e));
    return status;
}

void vmk_vm_request_stop(vmk_vm *vm, int status)
{
    if (vm && vm->e) vm->eng->request_stop(vm->e, status);
}

bool vmk_vm_reboot_requested(vmk_vm *vm) { return vm && vm->e && vm->eng->reboot_requested(vm->e); }

void vmk_vm_free(vmk_vm *vm)
{
    if (!vm) return;
    if (vm->loop_running) vmk_loop_stop(vm->loop);
    for (unsigned i = 0; i < vm->ndevs; i++) virtio_dev_free(vm->devs[i]);
    if (vm->e) vm->eng->free(vm->e);     /* RISC-V: frees the UART, which detaches from the console */
    vmk_chr_close(vm->console);
    if (vm->loop) vmk_loop_free(vm->loop);
    if (vm->mem_ok) vmk_mem_free(&vm->mem);
    if (vm->migrate_ack_fd >= 0) close(vm->migrate_ack_fd);
    vm_cfg_free(&vm->cfg);
    free(vm->last_snap_dir);
    pthread_mutex_destroy(&vm->ctl_mtx);
    pthread_mutex_destroy(&vm->snap_mtx);
    free(vm);
}

/* ---------------- control ---------------- */

/* Engine first (no new guest work), then the loop (devices finish what they hold and park). Before
 * vmk_vm_run both remember the count: the engine parks at once and the loop at its first iteration. */
void vmk_vm_pause(vmk_vm *vm)
{
    pthread_mutex_lock(&vm->ctl_mtx);
    if (vm->pause_depth++ == 0) {
        if (!atomic_load(&vm->running)) vm->start_paused = true;
        if (vm->eng->pause) vm->eng->pause(vm->e);
        vmk_loop_pause(vm->loop);
    }
    pthread_mutex_unlock(&vm->ctl_mtx);
}

void vmk_vm_resume(vmk_vm *vm)
{
    pthread_mutex_lock(&vm->ctl_mtx);
    if (vm->pause_depth > 0 && --vm->pause_depth == 0) {
        vm->start_paused = false;
        vmk_loop_resume(vm->loop);
        if (vm->eng->resume) vm->eng->resume(vm->e);
    }
    pthread_mutex_unlock(&vm->ctl_mtx);
}

bool vmk_vm_is_paused(vmk_vm *vm)
{
    pthread_mutex_lock(&vm->ctl_mtx);
    bool p = vm->pause_depth > 0;
    pthread_mutex_unlock(&vm->ctl_mtx);
    return p;
}

void vmk_vm_request_shutdown(vmk_vm *vm)
{
    if (vm->e && vm->eng->request_shutdown) vm->eng->request_shutdown(vm->e);
    else vmk_vm_request_stop(vm, 0);
}

const vmk_vm_config *vmk_vm_config_of(vmk_vm *vm) { return &vm->cfg; }

void vmk_vm_get_stats(vmk_vm *vm, vmk_vm_stats *st)
{
    memset(st, 0, sizeof(*st));
    bool running = atomic_load(&vm->running);
    if (running && vm->run_start_ns) st->uptime_ns = vmk_now_ns() - vm->run_start_ns;
    struct timespec ts;
    if (clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts) == 0)
        st->cpu_ns = (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
    if (vm->e && vm->eng->instret) st->instret = vm->eng->instret(vm->e);
    st->mem_size = vm->cfg.mem_size;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        unsigned long long size, res;
        if (fscanf(f, "%llu %llu", &size, &res) == 2) st->rss_bytes = res * (uint64_t)sysconf(_SC_PAGESIZE);
        fclose(f);
    } else {
        /* no /proc (inside the jail): the peak resident set is the best figure available */
        struct rusage ru;
        if (getrusage(RUSAGE_SELF, &ru) == 0) st->rss_bytes = (uint64_t)ru.ru_maxrss * 1024;
    }
    for (unsigned i = 0; i < vm->ndevs; i++) {
        virtio_stats ds;
        memset(&ds, 0, sizeof(ds));
        virtio_dev_get_stats(vm->devs[i], &ds);
        if (vm->dev_kind[i] == VM_DEV_BLK) {
            st->disk_rd_bytes += ds.rd_bytes;
            st->disk_wr_bytes += ds.wr_bytes;
            st->disk_flushes += ds.flushes;
        } else if (vm->dev_kind[i] == VM_DEV_NET) {
            st->net_rx_bytes += ds.rx_bytes;
            st->net_tx_bytes += ds.tx_bytes;
        }
        if (virtio_dev_is_broken(vm->devs[i])) st->broken_device = true;
    }
    st->ncpus = vm->cfg.ncpus;
    st->paused = vmk_vm_is_paused(vm);
}
