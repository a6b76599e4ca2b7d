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

/* ---- control and state (snapshots, migration; see src/vm) ----
 * pause (any thread except the vCPU thread): the vCPU thread parks at the next block boundary (or
 * wakes from its idle sleep and parks); returns once it is parked, or at once when rv_machine_run
 * is not running. mtime does not advance while paused: guest time continues from where it stopped.
 * Nested pauses count. resume lets it continue. */
void rv_machine_pause(rv_machine *m);
void rv_machine_resume(rv_machine *m);
/* While paused: forget every cached writable translation (software TLB entries, store fast paths)
 * so that the next guest store to any page marks it in mem->log again. */
void rv_machine_dirty_sync(rv_machine *m);
/* Graceful power-off request (any thread): sends the guest a Magic SysRq sequence over the UART
 * (break + 's' sync, break + 'u' remount read-only, break + 'o' power off), 100 ms apart, from the
 * vCPU thread while rv_machine_run runs (the guest kernel needs CONFIG_MAGIC_SYSRQ_SERIAL and its
 * console on the UART; guest/kernel.config has both). The run ends when the guest powers off. */
void rv_machine_request_shutdown(rv_machine *m);
/* Whole engine state: every hart (x/f registers, pc, privilege, all CSRs incl. FP state, pending
 * interrupts, LR reservation cleared), CLINT (mtime as a value, msip, mtimecmp), PLIC (priorities,
 * pending, enables, thresholds, claimed), UART, RTC offset, test device. Independent of the host's
 * byte order. save: while paused or before run. load: into a machine built with the same ncpus and
 * the same virtio slots but not booted; every value is validated (bad privilege, misaligned pc,
 * unknown field) and a failure leaves err set (and the machine half-loaded: free it). Decoded-code
 * caches and TLBs start empty; guest time continues from the saved mtime when the machine runs. */
int  rv_machine_save(rv_machine *m, vmk_sbuf *b);
int  rv_machine_load(rv_machine *m, vmk_sread *r, char *err, size_t errlen);

typedef struct rv_machine_stats {
    uint64_t instret, sleeps, run_slices;
} rv_machine_stats;
void rv_machine_get_stats(rv_machine *m, rv_machine_stats *st);

#endif
