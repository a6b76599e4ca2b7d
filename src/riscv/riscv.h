/* riscv.h — the RV64GC engine's public API, used by the VM layer (src/vm): a virt-like machine
 * (harts, CLINT, PLIC, ns16550a UART console, sifive test/syscon poweroff device, virtio-mmio slots)
 * that boots OpenSBI + Linux and runs every hart round-robin on the calling thread. */
#ifndef VMK_RISCV_H
#define VMK_RISCV_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/base.h"
#include "../mem/mem.h"

#define RV_RAM_BASE_ADDR   0x80000000ull
#define RV_MAX_CPUS        32u
#define RV_VIRTIO_MAX      8u

typedef struct rv_machine rv_machine;

/* mem must be based at RV_RAM_BASE_ADDR. console may be NULL (UART output discarded). */
rv_machine *rv_machine_new(vmk_mem *mem, unsigned ncpus, vmk_chardev *console, char *err, size_t errlen);
void        rv_machine_free(rv_machine *m);

/* Virtio devices take their interrupt line at creation, so attaching is two steps: reserve the next
 * slot (base 0x10001000 + i*0x1000, irq 1 + i) to learn its line, then attach the device's handlers.
 * Returns the slot index or -1 with err when all slots are used. */
int  rv_machine_reserve_virtio(rv_machine *m, vmk_irq *irq, char *err, size_t errlen);
void rv_machine_attach_virtio(rv_machine *m, int slot, const vmk_mmio_ops *ops, void *opaque);

/* Loads firmware/kernel/initrd, builds the device tree and resets every hart to the firmware entry
 * with a0 = hartid, a1 = dtb, a2 = fw_dynamic info. initrd/cmdline may be NULL. 0 or -1 with err. */
int  rv_machine_boot(rv_machine *m, const char *bios, const char *kernel, const char *initrd,
                     const char *cmdline, char *err, size_t errlen);
/* Checks a kernel file without loading it (for early CLI errors). */
int  rv_check_kernel(const char *path, char *err, size_t errlen);

/* Runs the harts on the calling thread until the guest powers off/reboots/fails through the test
 * device or rv_machine_request_stop. Returns the exit status: 0 for poweroff and reset, the guest's
 * code for a test-device failure, the requested status for a stop. */
int  rv_machine_run(rv_machine *m);
/* Async-signal-safe and thread-safe: makes rv_machine_run return status soon. */
void rv_machine_request_stop(rv_machine *m, int status);
/* After rv_machine_run: true when it ended because the guest asked for a reset. */
bool rv_machine_reboot_requested(rv_machine *m);

/* Thread-safe: devices wrote guest RAM in [pa, pa+len): drop decoded instructions cached for it. */
void rv_machine_invalidate_code(rv_machine *m, uint64_t pa, uint64_t len);

typedef struct rv_machine_stats {
    uint64_t instret, sleeps, run_slices;
} rv_machine_stats;
void rv_machine_get_stats(rv_machine *m, rv_machine_stats *st);

#endif
