/* engine_riscv.c — the software RV64GC engine (src/riscv) behind the VM layer's engine seam
 * (vm_impl.h): thin wrappers over riscv.h. The vCPUs run round-robin on the caller of run(). */
#include "vm_impl.h"
#include "../riscv/riscv.h"

static void *rve_create(vmk_mem *mem, const vmk_vm_config *cfg, vmk_chardev *console, vmk_loop *loop,
                        char *err, size_t errlen)
{
    (void)loop;
    return rv_machine_new(mem, cfg->ncpus, console, err, errlen);
}

static int rve_reserve_virtio(void *e, vmk_irq *irq, char *err, size_t errlen)
{
    return rv_machine_reserve_virtio(e, irq, err, errlen);
}

static void rve_attach_virtio(void *e, int slot, const vmk_mmio_ops *ops, void *opaque)
{
    rv_machine_attach_virtio(e, slot, ops, opaque);
}

static int rve_boot(void *e, const vmk_vm_config *cfg, char *err, size_t errlen)
{
    return rv_machine_boot(e, cfg->bios, cfg->kernel, cfg->initrd, cfg->cmdline, err, errlen);
}

static int  rve_run(void *e) { return rv_machine_run(e); }
static void rve_request_stop(void *e, int status) { rv_machine_request_stop(e, status); }
static bool rve_reboot_requested(void *e) { return rv_machine_reboot_requested(e); }
static void rve_invalidate_code(void *e, uint64_t pa, uint64_t len) { rv_machine_invalidate_code(e, pa, len); }
static void rve_free(void *e) { rv_machine_free(e); }
static void rve_pause(void *e) { rv_machine_pause(e); }
static void rve_resume(void *e) { rv_machine_resume(e); }
static void rve_dirty_sync(void *e) { rv_machine_dirty_sync(e); }
static void rve_request_shutdown(void *e) { rv_machine_request_shutdown(e); }
static int  rve_save(void *e, vmk_sbuf *b) { return rv_machine_save(e, b); }
static int  rve_load(void *e, vmk_sread *r, char *err, size_t errlen) { return rv_machine_load(e, r, err, errlen); }

static uint64_t rve_instret(void *e)
{
    rv_machine_stats st;
    rv_machine_get_stats(e, &st);
    return st.instret;
}

const vm_engine_ops vm_engine_riscv = {
    .name = "riscv64",
    .ram_base = RV_RAM_BASE_ADDR,
    .max_cpus = RV_MAX_CPUS,
    .max_virtio = RV_VIRTIO_MAX,
    .check_kernel = rv_check_kernel,
    .create = rve_create,
    .reserve_virtio = rve_reserve_virtio,
    .attach_virtio = rve_attach_virtio,
    .boot = rve_boot,
    .run = rve_run,
    .request_stop = rve_request_stop,
    .reboot_requested = rve_reboot_requested,
    .invalidate_code = rve_invalidate_code,
    .request_shutdown = rve_request_shutdown,
    .pause = rve_pause,
    .resume = rve_resume,
    .dirty_sync = rve_dirty_sync,
    .save = rve_save,
    .load = rve_load,
    .instret = rve_instret,
    .free = rve_free,
};
