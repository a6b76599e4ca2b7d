/* vm.c — assembles a VM from a vmk_vm_config: guest RAM, the I/O event loop, the console chardev,
 * virtio devices (disks, networks, rng) and the engine; runs it and tears it down in order
 * (engine stops, loop stops, devices flush, console restores the terminal). */
#include "vm.h"
#include "../base/base.h"
#include "../mem/mem.h"
#include "../riscv/riscv.h"
#include "../virtio/virtio.h"
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define VM_MAX_DEVS (VMK_VM_MAX_DISKS + VMK_VM_MAX_NETS + 1)

/* A device's interrupt line as the VM hands it out: raising it first publishes the device's writes
 * to guest RAM to the engine (see dma_sync), then forwards to the engine's interrupt controller. */
typedef struct vm_irq {
    vmk_vm *vm;
    vmk_irq real;
} vm_irq;

struct vmk_vm {
    vmk_engine_kind engine;
    vmk_mem mem;
    bool mem_ok;
    vmk_loop *loop;
    bool loop_running;
    vmk_chardev *console;
    virtio_dev *devs[VM_MAX_DEVS];
    unsigned ndevs;
    rv_machine *rv;
    vm_irq irqs[VM_MAX_DEVS];
};

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
            rv_machine_invalidate_code(vm->rv, vm->mem.base + ((w * 64 + b) << VMK_PAGE_SHIFT), VMK_PAGE_SIZE);
        }
    }
}

static void vm_irq_set(void *ctx, unsigned line, int level)
{
    vm_irq *q = ctx;
    (void)line;
    if (level) dma_sync(q->vm);
    vmk_irq_set(&q->real, level);
}

static void quit_cb(void *opaque) { vmk_vm_request_stop(opaque, 0); }

/* Engine seam: the RISC-V engine. An x86 engine gets its own add_device/boot/run trio. */
static int rv_add_device(vmk_vm *vm, int kind, const void *arg, bool ro, char *err, size_t errlen)
{
    vmk_irq irq;
    int slot = rv_machine_reserve_virtio(vm->rv, &irq, err, errlen);
    if (slot < 0) return -1;
    vm_irq *q = &vm->irqs[vm->ndevs];
    q->vm = vm;
    q->real = irq;
    virtio_env env = { .mem = &vm->mem, .loop = vm->loop,
                       .irq = { .set = vm_irq_set, .ctx = q, .line = irq.line } };
    virtio_dev *d = NULL;
    switch (kind) {
    case 0: d = virtio_blk_new(&env, arg, ro, err, errlen); break;
    case 1: d = virtio_net_new(&env, arg, NULL, err, errlen); break;
    default: d = virtio_rng_new(&env, err, errlen); break;
    }
    if (!d) return -1;
    vm->devs[vm->ndevs++] = d;
    rv_machine_attach_virtio(vm->rv, slot, &virtio_mmio_ops, d);
    return 0;
}

vmk_vm *vmk_vm_new(const vmk_vm_config *cfg, char *err, size_t errlen)
{
    if (cfg->engine != VMK_ENGINE_RISCV) {
        vmk_seterr(err, errlen, "this vmkit has no KVM engine yet; only the RISC-V engine is available");
        return NULL;
    }
    if (cfg->ndisks > VMK_VM_MAX_DISKS || cfg->nnets > VMK_VM_MAX_NETS) {
        vmk_seterr(err, errlen, "too many devices (at most %d disks and %d networks)", VMK_VM_MAX_DISKS, VMK_VM_MAX_NETS);
        return NULL;
    }
    if (cfg->ndisks + cfg->nnets + (cfg->no_rng ? 0 : 1) > RV_VIRTIO_MAX) {
        vmk_seterr(err, errlen, "too many devices: disks + networks + rng must be at most %u", RV_VIRTIO_MAX);
        return NULL;
    }
    vmk_vm *vm = vmk_xcalloc(1, sizeof(*vm));
    vm->engine = cfg->engine;
    if (vmk_mem_init(&vm->mem, RV_RAM_BASE_ADDR, cfg->mem_size, err, errlen) < 0) goto fail;
    vm->mem_ok = true;
    vm->mem.track_dirty = true;       /* see dma_sync */
    if (!(vm->loop = vmk_loop_new())) {
        vmk_seterr(err, errlen, "cannot create the event loop");
        goto fail;
    }
    if (!(vm->console = vmk_chr_open(cfg->console ? cfg->console : "stdio", vm->loop, quit_cb, vm, err, errlen)))
        goto fail;
    if (!(vm->rv = rv_machine_new(&vm->mem, cfg->ncpus, vm->console, err, errlen))) goto fail;
    for (unsigned i = 0; i < cfg->ndisks; i++)
        if (rv_add_device(vm, 0, cfg->disks[i].path, cfg->disks[i].readonly, err, errlen) < 0) goto fail;
    for (unsigned i = 0; i < cfg->nnets; i++)
        if (rv_add_device(vm, 1, cfg->nets[i], false, err, errlen) < 0) goto fail;
    if (!cfg->no_rng && rv_add_device(vm, 2, NULL, false, err, errlen) < 0) goto fail;
    if (rv_machine_boot(vm->rv, cfg->bios, cfg->kernel, cfg->initrd, cfg->cmdline, err, errlen) < 0) goto fail;
    return vm;
fail:
    vmk_vm_free(vm);
    return NULL;
}

int vmk_vm_run(vmk_vm *vm)
{
    if (vmk_loop_start(vm->loop) != 0) {
        vmk_error("cannot start the I/O thread");
        return 1;
    }
    vm->loop_running = true;
    int status = rv_machine_run(vm->rv);
    vmk_loop_stop(vm->loop);
    vm->loop_running = false;
    if (vmk_log_level >= VMK_LOG_INFO) {
        rv_machine_stats st;
        rv_machine_get_stats(vm->rv, &st);
        vmk_info("vm: %llu instructions retired, %llu idle sleeps", (unsigned long long)st.instret,
                 (unsigned long long)st.sleeps);
    }
    return status;
}

void vmk_vm_request_stop(vmk_vm *vm, int status)
{
    if (vm && vm->rv) rv_machine_request_stop(vm->rv, status);
}

bool vmk_vm_reboot_requested(vmk_vm *vm) { return vm && vm->rv && rv_machine_reboot_requested(vm->rv); }

void vmk_vm_free(vmk_vm *vm)
{
    if (!vm) return;
    if (vm->loop_running) vmk_loop_stop(vm->loop);
    for (unsigned i = 0; i < vm->ndevs; i++) virtio_dev_free(vm->devs[i]);
    rv_machine_free(vm->rv);             /* frees the UART, which detaches from the console */
    vmk_chr_close(vm->console);
    if (vm->loop) vmk_loop_free(vm->loop);
    if (vm->mem_ok) vmk_mem_free(&vm->mem);
    free(vm);
}
