/* kvm.h — the x86-64 KVM engine's API, used by the VM layer's engine seam (src/vm/engine_kvm.c) and
 * by tests: a microVM on /dev/kvm (in-kernel LAPIC/IOAPIC/PIC and PIT, COM1 16550 on port 0x3f8 IRQ 4,
 * i8042 reset, a "vmkit exit" port, minimal CMOS, up to 8 virtio-mmio windows at X86_VIRTIO_BASE with
 * ioeventfd for QueueNotify), one host thread per vCPU. Guest RAM is vmk_mem based at 0, at most
 * KVM_X86_MAX_RAM bytes (one memory slot below the MMIO gap). */
#ifndef VMK_KVM_H
#define VMK_KVM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/base.h"
#include "../mem/mem.h"

#define KVM_X86_MAX_RAM     0xc0000000ull   /* = X86_RAM_MAX, 3 GiB: RAM never reaches the MMIO gap */
#define KVM_X86_MAX_VIRTIO  8u
#define KVM_X86_COM1_PORT   0x3f8u
#define KVM_X86_COM1_IRQ    4u
#define KVM_X86_EXIT_PORT   0x501u          /* a write ends vmkit with exit status = value & 0xff */

typedef struct kvm_machine kvm_machine;

/* Opens /dev/kvm and checks the API version: returns the fd or -1 with a one-line err naming the
 * problem (absent, not permitted, not a KVM device, wrong API version). */
int  kvm_open_dev(char *err, size_t errlen);

/* Creates the VM over mem (base 0, size <= KVM_X86_MAX_RAM) with ncpus vCPUs (1..X86_MAX_CPUS and
 * what KVM allows). console may be NULL (COM1 output discarded); loop runs ioeventfd callbacks and
 * may be NULL (then QueueNotify goes through MMIO exits). NULL with err. */
kvm_machine *kvm_machine_new(vmk_mem *mem, unsigned ncpus, vmk_chardev *console, vmk_loop *loop,
                             char *err, size_t errlen);
void kvm_machine_free(kvm_machine *m);

/* Virtio windows: reserve slot i (base X86_VIRTIO_BASE + i*0x1000, GSI X86_VIRTIO_IRQ0 + i) to get
 * its interrupt line, then attach the device's register handlers. -1 with err when full. */
int  kvm_machine_reserve_virtio(kvm_machine *m, vmk_irq *irq, char *err, size_t errlen);
void kvm_machine_attach_virtio(kvm_machine *m, int slot, const vmk_mmio_ops *ops, void *opaque);
/* The " virtio_mmio.device=4K@0x...:GSI" entries for the reserved slots (appended to out). */
void kvm_machine_virtio_cmdline(kvm_machine *m, char *out, size_t outlen);

/* Kernel parameters this host needs (added by the caller; "" when none): on kvm_pvm, whose emulator
 * cannot run xrstor, popcnt, rdrand, ... in guest kernel mode and which reports those CPUID features
 * regardless of the vCPU's table, Linux is told not to use them (kvm.c). */
const char *kvm_machine_cmdline_quirks(kvm_machine *m);

/* Loads a bzImage (+ initrd, command line) through the x86 builders and sets the boot vCPU up for
 * the 64-bit boot protocol; the others wait for INIT/SIPI. 0 or -1 with err. */
int  kvm_machine_boot(kvm_machine *m, const char *kernel, const char *initrd, const char *cmdline,
                      char *err, size_t errlen);

/* Lower-level entry for tests and custom loaders (vCPU 0; the caller wrote code/tables to RAM):
 * 64-bit long mode with paging (cr3 = identity page tables, GDT with code 0x10 / data 0x18 at gdt),
 * rip = entry, rsi = rsi; or 16-bit real mode at cs:ip (cs base = cs << 4). 0 or -1 with err. */
int  kvm_machine_set_entry64(kvm_machine *m, uint64_t entry, uint64_t rsi, uint64_t cr3, uint64_t gdt,
                             uint16_t gdt_limit, char *err, size_t errlen);
int  kvm_machine_set_entry_real(kvm_machine *m, uint16_t cs, uint16_t ip, char *err, size_t errlen);

/* Runs every vCPU (vCPU 0 on the calling thread, the others on threads it starts) until the guest
 * powers off (exit port), resets (i8042 0xfe, KVM system event), fails (triple fault, entry failure,
 * internal error: one line on stderr, status 1) or kvm_machine_request_stop. Returns the status. */
int  kvm_machine_run(kvm_machine *m);
void kvm_machine_request_stop(kvm_machine *m, int status);     /* async-signal-safe, thread-safe */
bool kvm_machine_reboot_requested(kvm_machine *m);
/* Graceful power-off: Magic SysRq s, u over COM1, then b (reboot=k); the guest's reset then ends
 * the VM with status 0 instead of rebooting. Needs CONFIG_MAGIC_SYSRQ and the 8250 console. */
void kvm_machine_request_shutdown(kvm_machine *m);

/* pause: any thread but a vCPU's; returns once every vCPU thread is parked outside KVM_RUN (at once
 * when not running). Nested calls count. */
void kvm_machine_pause(kvm_machine *m);
void kvm_machine_resume(kvm_machine *m);
/* While paused: turns KVM dirty logging on/off to follow mem->log_on and ORs KVM's dirty bitmap into
 * mem->log (KVM_GET_DIRTY_LOG clears it). */
void kvm_machine_dirty_sync(kvm_machine *m);
/* Whole engine state: per vCPU regs, sregs, XSAVE, XCRs, MSRs, LAPIC, events, MP state; VM-wide
 * PIC/IOAPIC, PIT, KVM clock, UART, CMOS index. save: paused or before run. load: into a machine
 * built with the same ncpus, before run, not booted; sizes and counts are validated. */
int  kvm_machine_save(kvm_machine *m, vmk_sbuf *b);
int  kvm_machine_load(kvm_machine *m, vmk_sread *r, char *err, size_t errlen);

typedef struct kvm_machine_stats {
    uint64_t exits_io, exits_mmio, exits_other, ioeventfd_kicks;
    uint64_t t_create_ns;          /* monotonic: kvm_machine_new started */
    uint64_t t_first_run_ns;       /* first KVM_RUN entered (0 = not yet) */
    uint64_t t_first_serial_ns;    /* first byte written to COM1's THR */
    uint64_t t_exit_ns;            /* the guest asked to stop (exit port, reset, failure) */
} kvm_machine_stats;
void kvm_machine_get_stats(kvm_machine *m, kvm_machine_stats *st);

#endif
