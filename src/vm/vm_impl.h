/* vm_impl.h — internals of the VM layer shared by its files: vm.c (assembly, run, control),
 * engine_riscv.c / engine_kvm.c (the engine seam), snapshot.c (snapshot/restore/clone) and
 * migrate.c (live migration). Not a public header: everything else uses vm.h.
 *
 * The engine seam: vm.c knows engines only through vm_engine_ops; an engine knows devices only as
 * MMIO windows + interrupt lines (base.h bus contract). */
#ifndef VMK_VM_IMPL_H
#define VMK_VM_IMPL_H
#include "vm.h"
#include "../base/base.h"
#include "../mem/mem.h"
#include "../virtio/virtio.h"
#include <pthread.h>
#include <stdatomic.h>

typedef struct vm_engine_ops {
    const char *name;              /* "riscv64", "x86_64" */
    uint64_t ram_base;             /* guest-physical base of RAM */
    unsigned max_cpus, max_virtio;
    /* Checks the kernel file without loading it (for early errors). */
    int   (*check_kernel)(const char *path, char *err, size_t errlen);
    /* Builds the machine over mem; console may be NULL. */
    void *(*create)(vmk_mem *mem, const vmk_vm_config *cfg, vmk_chardev *console, vmk_loop *loop,
                    char *err, size_t errlen);
    int   (*reserve_virtio)(void *e, vmk_irq *irq, char *err, size_t errlen);
    void  (*attach_virtio)(void *e, int slot, const vmk_mmio_ops *ops, void *opaque);
    int   (*boot)(void *e, const vmk_vm_config *cfg, char *err, size_t errlen);
    int   (*run)(void *e);                       /* vCPU(s); returns the exit status */
    void  (*request_stop)(void *e, int status);  /* async-signal-safe */
    void  (*request_shutdown)(void *e);          /* graceful */
    bool  (*reboot_requested)(void *e);
    void  (*invalidate_code)(void *e, uint64_t pa, uint64_t len);   /* NULL when not needed */
    void  (*pause)(void *e);                     /* returns once every vCPU is parked */
    void  (*resume)(void *e);
    void  (*dirty_sync)(void *e);                /* while paused: publish guest writes to mem->log */
    int   (*save)(void *e, vmk_sbuf *b);         /* while paused */
    int   (*load)(void *e, vmk_sread *r, char *err, size_t errlen);   /* before run, not booted */
    uint64_t (*instret)(void *e);                /* may be NULL */
    void  (*free)(void *e);
} vm_engine_ops;

extern const vm_engine_ops vm_engine_riscv;      /* engine_riscv.c */
extern const vm_engine_ops vm_engine_kvm;        /* engine_kvm.c */
const vm_engine_ops *vm_engine_for(vmk_engine_kind k);

#define VM_MAX_DEVS (VMK_VM_MAX_DISKS + VMK_VM_MAX_NETS + 1)

typedef enum vm_dev_kind { VM_DEV_BLK = 0, VM_DEV_NET = 1, VM_DEV_RNG = 2 } vm_dev_kind;

/* A device's interrupt line as the VM hands it out: raising it first publishes the device's writes
 * to guest RAM to the engine (code invalidation), then forwards to the engine's controller. */
typedef struct vm_irq {
    struct vmk_vm *vm;
    vmk_irq real;
} vm_irq;

struct vmk_vm {
    vmk_vm_config cfg;             /* deep copy (strings owned by the VM: see vm.c) */
    const vm_engine_ops *eng;
    void *e;                       /* the engine's machine */
    vmk_mem mem;
    bool mem_ok;
    vmk_loop *loop;
    bool loop_running;
    vmk_chardev *console;
    virtio_dev *devs[VM_MAX_DEVS];
    vm_dev_kind dev_kind[VM_MAX_DEVS];
    unsigned ndevs;
    vm_irq irqs[VM_MAX_DEVS];
    /* control */
    pthread_mutex_t ctl_mtx;
    int pause_depth;
    bool start_paused;
    atomic_bool running;
    uint64_t run_start_ns;
    bool has_snapshot_base;        /* a snapshot was taken: the dirty log is on (diff snapshots) */
    char *last_snap_dir;           /* absolute path of this VM's last snapshot (parent of a diff) */
    uint32_t last_snap_crc;        /* its state file's CRC */
    bool mem_overlaid;             /* restored from a diff chain: RAM is not just its memory file */
    pthread_mutex_t snap_mtx;      /* one snapshot/migration at a time */
    int migrate_ack_fd;            /* destination of a migration: -1, or the stream to acknowledge on */
    /* set by restore: net devices whose MAC must change (clones), applied after device load */
    bool set_mac[VM_MAX_DEVS];
    uint8_t mac[VM_MAX_DEVS][6];
};

/* vm.c: a VM with a validated deep copy of cfg (strings owned, disk paths made absolute) and its
 * engine picked; nothing built. NULL with err on a bad config. Free with vmk_vm_free. */
vmk_vm *vm_alloc(const vmk_vm_config *cfg, char *err, size_t errlen);
/* vm.c: builds memory (unless vm->mem_ok: restore maps it from a file first), the loop, the console,
 * the engine and the devices from vm->cfg without booting (restore and migration load state next). */
int  vm_build(vmk_vm *vm, char *err, size_t errlen);
/* Deep copy / free of a config's strings (vm.c). */
void vm_cfg_copy(vmk_vm_config *dst, const vmk_vm_config *src);
void vm_cfg_free(vmk_vm_config *c);
/* ---------------- state file framing (snapshot.c) ----------------
 * A state image (the snapshot's "state" file) is, all integers little-endian:
 *   header   "VMKSNAP\0" | u32 format version (VM_SNAP_VERSION) | u32 flags (VM_SNAP_F_*) |
 *            u64 total length of the image | char engine[16] (NUL-padded engine name)
 *   sections u8 name length (1..31) | name | u16 section version | u64 payload length |
 *            u32 CRC-32C(payload) | payload
 *   trailer  u32 CRC-32C of every byte before it
 * Readers check, in order: magic, format version, engine name, length, whole-image CRC, then each
 * section's bounds and CRC, so each kind of damage gets its own message. */
#define VM_SNAP_MAGIC    "VMKSNAP"          /* + NUL: 8 bytes */
#define VM_SNAP_VERSION  1u
#define VM_SNAP_HDR_LEN  40u
#define VM_SNAP_F_DIFF   1u
typedef struct vm_sf_sec {
    char name[32];
    uint16_t version;
    const uint8_t *p;
    size_t len;
} vm_sf_sec;
typedef struct vm_sf {
    const uint8_t *p;
    size_t len, off;               /* off: next section */
    uint32_t version, flags, crc;  /* crc: the trailer (identifies this image) */
    char engine[17];
} vm_sf;
void   vm_sf_begin(vmk_sbuf *b, const char *engine, uint32_t flags);
size_t vm_sf_sec_begin(vmk_sbuf *b, const char *name, uint16_t version);   /* returns a handle */
void   vm_sf_sec_end(vmk_sbuf *b, size_t handle);                          /* patches length + CRC */
uint32_t vm_sf_end(vmk_sbuf *b);                                           /* returns the image CRC */
/* 0, or -1 with a one-line err ("not a vmkit snapshot state file", "format version N ...",
 * "truncated", "corrupt (checksum mismatch)", ...). */
int    vm_sf_open(vm_sf *f, const void *p, size_t len, char *err, size_t errlen);
/* 1 with *s = the next section, 0 at the end, -1 with err (bad bounds or section CRC). */
int    vm_sf_next(vm_sf *f, vm_sf_sec *s, char *err, size_t errlen);
/* Finds a section by name from the start (validating each one passed); 1, 0 when absent, -1. */
int    vm_sf_find(const vm_sf *f, const char *name, vm_sf_sec *s, char *err, size_t errlen);

/* migrate.c: called by vmk_vm_run on the destination once the guest runs; closes the fd. */
void vm_migrate_ack(vmk_vm *vm);

#endif
