/* engine_kvm.c — the KVM x86-64 engine behind the VM layer's engine seam (vm_impl.h).
 * Placeholder until src/kvm lands: every VM creation fails with a clear message. */
#include "vm_impl.h"

static void *kvm_create(vmk_mem *mem, const vmk_vm_config *cfg, vmk_chardev *console, vmk_loop *loop,
                        char *err, size_t errlen)
{
    (void)mem; (void)cfg; (void)console; (void)loop;
    vmk_seterr(err, errlen, "this vmkit has no KVM engine yet; only the RISC-V engine is available");
    return NULL;
}

const vm_engine_ops vm_engine_kvm = { .name = "x86_64", .ram_base = 0, .max_cpus = 1, .max_virtio = 8,
                                      .create = kvm_create };
