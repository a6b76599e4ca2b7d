/* vm.h — a virtual machine: guest memory, an event loop (I/O thread), a console chardev, virtio
 * devices and an execution engine, built from an engine-neutral configuration. Today the engine is
 * the software RV64GC machine (src/riscv); the x86 KVM engine plugs in at the same seam (vm.c's
 * engine switch), reusing memory, devices and the loop. */
#ifndef VMK_VM_H
#define VMK_VM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum vmk_engine_kind {
    VMK_ENGINE_RISCV = 0,     /* software RV64GC, virt-like board (default) */
    VMK_ENGINE_KVM_X86 = 1,   /* reserved for the KVM engine */
} vmk_engine_kind;

#define VMK_VM_MAX_DISKS 6
#define VMK_VM_MAX_NETS  4

typedef struct vmk_disk_cfg {
    const char *path;
    bool readonly;
} vmk_disk_cfg;

typedef struct vmk_vm_config {
    vmk_engine_kind engine;
    uint64_t mem_size;                 /* bytes */
    unsigned ncpus;
    const char *bios;                  /* firmware (RISC-V: OpenSBI fw_dynamic.bin) */
    const char *kernel;
    const char *initrd;                /* may be NULL */
    const char *cmdline;               /* may be NULL */
    vmk_disk_cfg disks[VMK_VM_MAX_DISKS];
    unsigned ndisks;
    const char *nets[VMK_VM_MAX_NETS]; /* virtio_net specs ("user[,hostfwd=...]", "tap=NAME") */
    unsigned nnets;
    const char *console;               /* chardev spec: "stdio", "socket=PATH", "null" */
    bool no_rng;                       /* a virtio-rng is added unless this is set */
} vmk_vm_config;

typedef struct vmk_vm vmk_vm;

/* Builds the whole machine (nothing runs yet). NULL with a one-line err on any bad input. */
vmk_vm *vmk_vm_new(const vmk_vm_config *cfg, char *err, size_t errlen);
/* Starts the I/O thread and runs the engine on the calling thread until the guest powers off, the
 * user quits (Ctrl-A x) or vmk_vm_request_stop. Returns the exit status (see riscv.h). */
int     vmk_vm_run(vmk_vm *vm);
/* Async-signal-safe, thread-safe. */
void    vmk_vm_request_stop(vmk_vm *vm, int status);
/* After vmk_vm_run: the guest rebooted (the caller may build a fresh VM from the same config). */
bool    vmk_vm_reboot_requested(vmk_vm *vm);
/* Frees devices (flushing disks), restores the console and frees memory. */
void    vmk_vm_free(vmk_vm *vm);

#endif
