/* vm.h — a virtual machine: guest memory, an event loop (I/O thread), a console chardev, virtio
 * devices and an execution engine, built from an engine-neutral configuration. Engines: the software
 * RV64GC machine (src/riscv, engine_riscv.c) and x86-64 on KVM (src/kvm, engine_kvm.c), both behind
 * the engine seam in vm_impl.h, reusing memory, devices and the loop. Control, snapshots, restore,
 * clones and live migration work the same for every engine that implements the seam's state ops. */
#ifndef VMK_VM_H
#define VMK_VM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum vmk_engine_kind {
    VMK_ENGINE_RISCV = 0,     /* software RV64GC, virt-like board (default) */
    VMK_ENGINE_KVM_X86 = 1,   /* x86-64 on /dev/kvm (src/kvm) */
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

/* Engine names as the CLI and the APIs spell them: "riscv64" (software) and "x86_64" (KVM). */
const char *vmk_engine_name(vmk_engine_kind k);
int         vmk_engine_parse(const char *s, vmk_engine_kind *out);   /* 0 or -1 */

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

/* ---------------- control (any thread while vmk_vm_run runs on another) ---------------- */
/* Parks every vCPU and the I/O loop (devices quiesced); guest time stops. Nested calls count.
 * Before vmk_vm_run: marks the VM to start paused. */
void    vmk_vm_pause(vmk_vm *vm);
void    vmk_vm_resume(vmk_vm *vm);
bool    vmk_vm_is_paused(vmk_vm *vm);
/* Graceful power-off request: Magic SysRq over the serial console (RISC-V: s,u,o; x86: s,u,b — the
 * guest's reset then ends the VM with status 0). */
void    vmk_vm_request_shutdown(vmk_vm *vm);
const vmk_vm_config *vmk_vm_config_of(vmk_vm *vm);

typedef struct vmk_vm_stats {
    uint64_t uptime_ns;            /* since vmk_vm_run started (paused time included) */
    uint64_t cpu_ns;               /* host CPU time of this process (user + system) */
    uint64_t instret;              /* guest instructions (software engine; 0 on KVM) */
    uint64_t mem_size;             /* guest RAM */
    uint64_t rss_bytes;            /* host resident set of this process */
    uint64_t disk_rd_bytes, disk_wr_bytes, disk_flushes;
    uint64_t net_rx_bytes, net_tx_bytes;
    unsigned ncpus;
    bool paused, broken_device;
} vmk_vm_stats;
void    vmk_vm_get_stats(vmk_vm *vm, vmk_vm_stats *st);

/* ---------------- snapshots (snapshot.c) ----------------
 * A snapshot is a directory of two files:
 *  - "state": magic "VMKSNAP\0", format version, flags, length, engine name, then framed sections
 *    (name, version, length, CRC-32C each): config, disks (absolute path, size, mtime, inode of each),
 *    memory (RAM base/size, page size, the memory file's random id), for a diff the parent (its
 *    absolute directory and state CRC) and the dirty-page bitmap, the engine, one per virtio device;
 *    then a CRC-32C of the whole file. Little-endian throughout: a software-engine snapshot does not
 *    depend on the host. Format: vm_impl.h.
 *  - "memory": a 4 KiB header (magic "VMKMEM1\0", page size, RAM size, the id, RAM base), then guest
 *    RAM at offset 4096, sparse (all-zero pages are holes); a diff holds only the pages dirtied since
 *    its parent. Restore maps the full snapshot's file MAP_PRIVATE at offset 4096 (pages load on
 *    first touch, clones share them through the page cache) and copies each diff's pages over it.
 * Both are written to NAME.tmp, fsynced and renamed ("memory" first, "state" last, then the
 * directory fsynced). A failed write (ENOSPC, EIO) removes the temp files: an earlier snapshot in the
 * directory stays valid. Its memory is hard-linked as "memory-<id>" until the new state is in, so a
 * crash between the two renames leaves the earlier snapshot restorable (restore looks for its id's
 * file); a state whose memory file has another id is refused. Not checksummed: guest RAM itself (restore would have to read
 * all of it; the state records its size and id). A diff snapshot must go to another directory than
 * its parent; a restored VM's diffs are relative to the snapshot it was restored from. */
typedef struct vmk_snapshot_opts {
    bool diff;                     /* only pages dirtied since the last snapshot of this VM */
    bool leave_paused;             /* default: resume after writing (a VM paused before stays paused) */
} vmk_snapshot_opts;
/* While vmk_vm_run runs (pauses internally; nests with vmk_vm_pause) or paused. Disks are fdatasynced.
 * 0 or -1 with err; the VM keeps running either way. One snapshot at a time per VM. */
int     vmk_vm_snapshot(vmk_vm *vm, const char *dir, const vmk_snapshot_opts *o, char *err, size_t errlen);

typedef struct vmk_restore_opts {
    const char *console;           /* chardev spec for the restored VM (default "null") */
    bool force_disks;              /* accept disks whose size/mtime changed since the snapshot */
    /* clone: memory is shared copy-on-write with every other restore of the same snapshot (it
     * always is); in addition each writable disk is replaced by a new copy-on-write overlay
     * clone_dir/diskN.cow over it (refused if it exists; read-only disks are shared), and each net
     * device gets a fresh MAC 52:54:RR:RR:II:II (R random, I = clone_index) in its config space with
     * a config-change interrupt; Linux (6.1) reads the MAC only when the driver probes, so a running
     * Linux guest keeps sending with its old address (harmless with user networking; on a shared
     * TAP bridge the clones' guests would need to set it themselves). Entropy: the restored virtio-rng serves fresh host randomness (getrandom) to every
     * clone, but the guest's own state (its crng, the hwrng core's buffer of up to 64 bytes) is
     * restored as it was, identical in every clone, until the guest reseeds: measured on the default
     * guest (Linux 6.1, no VM generation ID on RISC-V before 6.10), two clones' first /dev/urandom
     * read after the restore was identical and the next one, 0.5 s later, differed. */
    const char *clone_dir;         /* NULL = not a clone */
    unsigned clone_index;          /* feeds the fresh MAC */
    const char *nets[VMK_VM_MAX_NETS]; unsigned nnets; bool nets_set;   /* override net back-ends */
    bool start_paused;
    /* Disk paths to use instead of the recorded ones (NULL entries keep the recorded path): the
     * files the VMM opens, whose size/mtime are checked against the snapshot (the inode survives a
     * bind mount), and the bases of clone overlays. A jailed VMM passes the disks' paths inside its
     * jail; an overlay then names its base by that in-jail path, so it is only opened again by
     * jailed VMMs of the same VM, which bind the same disk at the same place (`vmkit run` binds a
     * disk at /<basename>). Migration (recv): the same override of the stream's disk paths. */
    const char *disk_paths[VMK_VM_MAX_DISKS];
    /* Restore of a diff: where the chain's parents are (parent_dirs[0] = the parent of dir, [1] its
     * parent...), instead of the absolute directories the diffs recorded (each parent's state CRC
     * is still checked). NULL / past nparent_dirs: the recorded path. */
    const char *parent_dirs[16];
    unsigned nparent_dirs;
    /* Migration (recv): every path the stream names (disks not overridden above, kernel, initrd,
     * bios, copy_disks targets) must resolve (realpath, so '..' and symlinks cannot escape) inside
     * this directory, else the stream is refused. NULL: no check (a jailed VMM sees only its jail). */
    const char *allowed_root;
    /* Restore: the directory this VM's later diff snapshots record as their parent (default: dir,
     * canonicalised). A jailed VMM passes the snapshot's host path, so that its diffs, written in
     * the jail, name a parent the host (and the next jailed restore, which binds it) can find. */
    const char *record_dir;
} vmk_restore_opts;
/* A snapshot's recorded disks (paths as the VMM that took it saw them) and, for a diff, the
 * recorded parent directories (parents[0] = dir's parent, ...; the chain is followed through the
 * recorded paths). 0 or -1 with err. paths/parents have room for VMK_VM_MAX_DISKS / max entries. */
int     vmk_snapshot_disks(const char *dir, char (*paths)[4096], bool *ro, unsigned *n, char *err, size_t errlen);
int     vmk_snapshot_parents(const char *dir, char (*parents)[4096], unsigned max, unsigned *n, char *err, size_t errlen);
/* Builds a VM from a snapshot directory (memory mapped MAP_PRIVATE from the file, pages loaded on
 * first touch); vmk_vm_run then continues the guest where it was. NULL with a one-line err for a
 * missing/truncated/corrupt/wrong-version/other-engine snapshot or a changed disk. */
vmk_vm *vmk_vm_restore(const char *dir, const vmk_restore_opts *o, char *err, size_t errlen);

/* ---------------- live migration (migrate.c) ----------------
 * Pre-copy over a connected stream socket: config, all memory, rounds of dirty pages until the
 * remainder is small or max_rounds is reached, then pause, last pages + device state, and wait for
 * the destination's "running" acknowledgement. */
typedef struct vmk_migrate_progress {
    unsigned round;
    uint64_t bytes_sent, pages_remaining, dirty_rate_pps;   /* pages per second */
    uint64_t total_ns, downtime_ns;                         /* set at the end */
    const char *phase;             /* "connect", "full", "dirty", "final", "confirm", "done", "failed" */
} vmk_migrate_progress;
typedef void (*vmk_migrate_cb)(void *opaque, const vmk_migrate_progress *p);
typedef struct vmk_migrate_opts {
    unsigned max_rounds;           /* default 30 */
    uint64_t max_downtime_pages;   /* stop iterating when at most this many are dirty (default 256) */
    bool copy_disks;               /* stream disk contents too (no shared storage) */
    vmk_migrate_cb cb; void *cb_opaque;
} vmk_migrate_opts;
/* Source side, with the VM running (vmk_vm_run on another thread). 0: the destination confirmed it
 * runs; the caller then stops this VM (vmk_vm_request_stop). -1 with err: the VM keeps running here. */
int     vmk_vm_migrate_send(vmk_vm *vm, int fd, const vmk_migrate_opts *o, vmk_migrate_progress *out,
                            char *err, size_t errlen);
/* Destination side: receives a VM from fd and returns it ready to run (the acknowledgement is sent by
 * vmk_vm_run once the guest runs). NULL with err on any stream error (nothing is left behind). */
vmk_vm *vmk_vm_migrate_recv(int fd, const vmk_restore_opts *o, char *err, size_t errlen);

/* ---------------- per-VM API (api.c; owned by the API's author) ----------------
 * The VMM's Firecracker-compatible HTTP API on a unix socket (docs/firecracker-api.md). Thread
 * model: the API's threads never run the guest. InstanceStart and PUT /snapshot/load hand the work
 * to the thread blocked in vmk_api_wait_vm (the VMM's main thread), which builds or restores the VM,
 * answers the request and returns the VM for vmk_vm_run. Everything else (pause, resume, stats,
 * snapshots, migration) runs on the API threads against the attached VM. */
typedef struct vmk_api vmk_api;
typedef struct vmk_api_opts {
    const char *sock_path;               /* created with mode 0600 */
    const char *vm_id;                   /* GET / "id" (default "vmkit") */
    const vmk_vm_config *initial;        /* initial configuration (deep-copied): the command line */
    /* used when machine-config switches to x86_64 while the boot source is still the default guest
     * (NULL: no default x86 guest) */
    const char *x86_kernel, *x86_initrd, *x86_cmdline;
    const char *restore_console;         /* console spec for PUT /snapshot/load (default: initial's) */
    void (*test_forbidden_syscall)(void);   /* PUT /vmkit/test/forbidden-syscall (VMKIT_TEST_HOOKS=1) */
    bool external_start;                 /* the caller builds the VM (--start, --restore, --incoming):
                                          * configuration, InstanceStart and loads are refused */
} vmk_api_opts;
/* Listens; NULL with a one-line err (bad socket path, ...). */
vmk_api *vmk_api_new(const vmk_api_opts *o, char *err, size_t errlen);
/* Blocks until a client starts the VM (InstanceStart) or loads a snapshot; builds/restores it on the
 * calling thread, attaches it, answers the client and returns it ready for vmk_vm_run. A failed
 * attempt is answered 400 and waiting goes on. NULL after vmk_api_interrupt. */
vmk_vm *vmk_api_wait_vm(vmk_api *a);
void    vmk_api_interrupt(vmk_api *a);            /* async-signal-safe */
/* A VM built by the caller (--start, --restore, --incoming, a reboot) becomes the API's VM. */
void    vmk_api_attach(vmk_api *a, vmk_vm *vm);
/* After vmk_vm_run returned, before vmk_vm_free: waits for requests using the VM to finish and
 * detaches it. True when the VM stopped because it migrated away (PUT /vmkit/migrate). */
bool    vmk_api_detach(vmk_api *a);
/* The configuration as the API last set it (for a reboot of a VM started by InstanceStart). Valid
 * until the next configuration request or vmk_api_free. */
const vmk_vm_config *vmk_api_config(vmk_api *a);
void    vmk_api_free(vmk_api *a);

#endif
