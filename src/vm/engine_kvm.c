/* engine_kvm.c — the x86-64 KVM engine (src/kvm) behind the VM layer's engine seam (vm_impl.h):
 * thin wrappers over kvm.h, plus the kernel command line the engine adds (serial console, reset
 * through the i8042, no PCI/ACPI probing, and one virtio_mmio.device= entry per reserved window). */
#include "vm_impl.h"
#include "../kvm/kvm.h"
#include "../kvm/x86.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void *kve_create(vmk_mem *mem, const vmk_vm_config *cfg, vmk_chardev *console, vmk_loop *loop,
                        char *err, size_t errlen)
{
    return kvm_machine_new(mem, cfg->ncpus, console, loop, err, errlen);
}

static int kve_reserve_virtio(void *e, vmk_irq *irq, char *err, size_t errlen)
{
    return kvm_machine_reserve_virtio(e, irq, err, errlen);
}

static void kve_attach_virtio(void *e, int slot, const vmk_mmio_ops *ops, void *opaque)
{
    kvm_machine_attach_virtio(e, slot, ops, opaque);
}

#define KVE_CMDLINE_BASE "reboot=k panic=1 pci=off i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

static int kve_boot(void *e, const vmk_vm_config *cfg, char *err, size_t errlen)
{
    const char *user = cfg->cmdline ? cfg->cmdline : "";
    size_t n = strlen(user) + 1024;
    if (n > X86_CMDLINE_MAX) {
        vmk_seterr(err, errlen, "kernel command line too long (%zu bytes)", strlen(user));
        return -1;
    }
    char *cl = vmk_xmalloc(n);
    const char *quirks = kvm_machine_cmdline_quirks(e);
    snprintf(cl, n, "%s%s%s%s%s%s", strstr(user, "console=") ? "" : "console=ttyS0 ", KVE_CMDLINE_BASE,
             *quirks ? " " : "", quirks, *user ? " " : "", user);
    kvm_machine_virtio_cmdline(e, cl, n);
    vmk_debug("kvm: kernel command line: %s", cl);
    int rc = kvm_machine_boot(e, cfg->kernel, cfg->initrd, cl, err, errlen);
    free(cl);
    return rc;
}

static int  kve_run(void *e) { return kvm_machine_run(e); }
static void kve_request_stop(void *e, int status) { kvm_machine_request_stop(e, status); }
static void kve_request_shutdown(void *e) { kvm_machine_request_shutdown(e); }
static bool kve_reboot_requested(void *e) { return kvm_machine_reboot_requested(e); }
static void kve_pause(void *e) { kvm_machine_pause(e); }
static void kve_resume(void *e) { kvm_machine_resume(e); }
static void kve_dirty_sync(void *e) { kvm_machine_dirty_sync(e); }
static int  kve_save(void *e, vmk_sbuf *b) { return kvm_machine_save(e, b); }
static int  kve_load(void *e, vmk_sread *r, char *err, size_t errlen) { return kvm_machine_load(e, r, err, errlen); }
static void kve_free(void *e) { kvm_machine_free(e); }

const vm_engine_ops vm_engine_kvm = {
    .name = "x86_64",
    .ram_base = 0,
    .max_cpus = X86_MAX_CPUS,
    .max_virtio = KVM_X86_MAX_VIRTIO,
    .check_kernel = x86_check_kernel,
    .create = kve_create,
    .reserve_virtio = kve_reserve_virtio,
    .attach_virtio = kve_attach_virtio,
    .boot = kve_boot,
    .run = kve_run,
    .request_stop = kve_request_stop,
    .request_shutdown = kve_request_shutdown,
    .reboot_requested = kve_reboot_requested,
    .invalidate_code = NULL,           /* KVM runs guest code from RAM directly: nothing to invalidate */
    .pause = kve_pause,
    .resume = kve_resume,
    .dirty_sync = kve_dirty_sync,
    .save = kve_save,
    .load = kve_load,
    .instret = NULL,
    .free = kve_free,
};
