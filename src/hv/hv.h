/* hv.h — the hypervisor module's interface: the per-VM jail (jail.c, seccomp.c) used by the VMM
 * process (`vmkit run --jail ...`), and the daemon (`vmkit serve`, daemon.c and friends) with its
 * client used by the CLI verbs. */
#ifndef VMK_HV_H
#define VMK_HV_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ================= jail (jail.c, seccomp.c) =================
 * Like Firecracker's jailer, applied by the VMM process to itself before it opens anything:
 *  - new PID, IPC and UTS namespaces (and network namespace when new_netns), hostname "vmkit";
 *  - a private mount namespace whose root is <dir>/root (created, owned by uid:gid, mode 0700): each
 *    file in files[] is bind-mounted onto an empty placeholder inside it (read-only where ro[i];
 *    nosuid, nodev except block devices); /dev is a read-only tmpfs holding null and urandom, plus
 *    kvm (need_kvm) and net/tun (need_tun) as fresh nodes owned by uid:gid (so a root-only host
 *    /dev/kvm is usable); /etc/resolv.conf read-only when the network namespace is the host's
 *    (libslirp's DNS forwarding); then pivot_root into it, the old root detached, no /proc. Sockets
 *    the VMM creates afterwards at /NAME are visible on the host at <dir>/root/NAME. Nothing is
 *    left mounted on the host: the mounts die with the VMM's mount namespace;
 *  - every fd except 0, 1, 2 and keep_fds[] closed; no_new_privs; groups dropped, uid/gid switched;
 *    every capability dropped (bounding, permitted, effective, inheritable, ambient) and checked;
 *  - a PID namespace applies to children: vmk_jail_enter forks; the child (PID 1 inside) returns 0
 *    and carries on as the VMM (it dies with SIGKILL if the waiter dies: PR_SET_PDEATHSIG); the
 *    parent stays outside as a small waiter that forwards SIGTERM/SIGINT/SIGHUP, writes
 *    "<dir>/exit" atomically (one line: "exited N" or "signal N (SIGNAME)") when the child ends, and
 *    exits with the same status (128+N for a signal). It never returns.
 *    As PID 1, the VMM ignores every signal it has no handler for (SIGKILL aside): install the
 *    SIGTERM/SIGINT/SIGHUP handlers right after entering (the waiter repeats a forwarded stop
 *    signal every second until the VMM ends, so one sent during start-up is not lost).
 * files[i] paths are rewritten in place to their path inside the jail ("/<basename>", made unique
 * with "-1", "-2"...; static storage). Refused before anything irreversible (-1 with err): not root,
 * dir not absolute / not a directory, uid or gid 0, a missing file, a file outside allowed_root
 * (both canonicalised: "drive path X is outside the VM's directory Y"), a file the uid:gid cannot
 * read (or write, when !ro) judging by its mode bits — the caller (daemon) chowns disks to uid. */
#define VMK_JAIL_MAX_FILES 16
typedef struct vmk_jail_cfg {
    const char *dir;                        /* per-VM directory (absolute) */
    uid_t uid;
    gid_t gid;
    bool new_netns;
    bool need_kvm, need_tun;
    const char *allowed_root;               /* NULL = any path */
    const char **files[VMK_JAIL_MAX_FILES]; /* pointers to the config's path strings (rewritten) */
    bool ro[VMK_JAIL_MAX_FILES];
    unsigned nfiles;
    int keep_fds[8];
    unsigned nkeep;
} vmk_jail_cfg;
/* 0 in the jailed child, which then runs under the "main" seccomp allowlist (KVM ioctls when
 * need_kvm; vmk_jail_set_engine(need_kvm) is done too); -1 with err before anything irreversible
 * (see above). Errors after the fork end the child with status 1 and a one-line "vmkit: jail: ..."
 * message. Costs 1-5 ms (median 2.8 ms on the loaded 2-core CI machine). */
int  vmk_jail_enter(vmk_jail_cfg *cfg, char *err, size_t errlen);
/* Installs the libseccomp allowlist for a thread kind (default action: kill the process, SIGSYS):
 *  "main"  installed by vmk_jail_enter (building the VM, the API server, migration): a superset
 *          of the others, since a thread inherits its creator's filters and can only add stricter
 *          ones (filters stack: a syscall must pass all of them);
 *  "io"    the event loop thread (disks, libslirp sockets, console server);
 *  "api"   API server threads (snapshot files and directories, migration sockets, threads);
 *  "vcpu"  a thread running the guest: no socket/connect, openat only for appending (console log
 *          rotation); it may create threads (KVM vCPUs) and tear the VM down (close, fdatasync,
 *          unlink) but not build a new one — a jailed VMM exits on guest reboot. Installed on a
 *          thread that will still create the I/O thread, it would give that thread vcpu's list
 *          too: see vmk_jail_thread_hook.
 * engine_kvm adds the KVM ioctls (type 0xAE) to every list. Never allowed anywhere: ptrace, mount,
 * umount2, pivot_root, unshare, setns, kexec_*, *_module, bpf, perf_event_open, process_vm_*,
 * keyctl, add_key, execve(at), fork (clone without CLONE_THREAD), reboot, swapon, mmap/mprotect with
 * PROT_EXEC, sockets other than AF_UNIX/AF_INET/AF_INET6; clone3 fails with ENOSYS (glibc then
 * uses clone, whose flags a filter can check). ~0.3-0.6 ms per install. */
int  vmk_seccomp_install(const char *kind, bool engine_kvm, char *err, size_t errlen);
/* vmk_thread_hook for a jailed VMM: installs the filter of the thread's kind (exits the process
 * with a message if that fails). "vcpu" asked on the main thread before the I/O thread runs (as
 * vmkit run does, right before vmk_vm_run) is deferred: when the I/O thread starts, its hook
 * signals the main thread (SIGRTMIN+7), whose handler installs the precompiled vcpu program. On
 * another thread it waits up to 5 ms for the I/O thread, else keeps "main". */
void vmk_jail_thread_hook(const char *kind);      /* uses the engine set by vmk_jail_set_engine */
void vmk_jail_set_engine(bool kvm);
/* Test-only: performs a syscall that no allowlist permits (ptrace(PTRACE_TRACEME)). */
void vmk_jail_test_forbidden_syscall(void);

/* ================= live migration hello (daemon <-> VMM, both hosts) =================
 * The source VMM connects to the destination daemon's migration listener and writes:
 *   "VMKITMIG" (8 bytes), u32 LE version = 1, u32 LE length (<= 65536), JSON
 *   {"name": "...", "definition": { the daemon's VM definition, as in GET /vms/NAME "config" }}
 * The destination daemon answers 1 byte 'A' (accepted: it now passes the connection to a new VMM
 * started with --incoming-fd, which runs vmk_vm_migrate_recv) or 'R' + u32 LE length + message.
 * `vmkit run --incoming tcp:ADDR:PORT` plays the destination daemon's part for a single VMM. */
#define VMK_MIG_MAGIC "VMKITMIG"
#define VMK_MIG_VERSION 1u
#define VMK_MIG_HELLO_MAX 65536u

/* ================= daemon (owned by the daemon's files; add below) ================= */
#define VMK_DEFAULT_SOCK "/run/vmkit/vmkit.sock"
#define VMK_DEFAULT_STATE_DIR "/var/lib/vmkit"
int hv_serve_main(int argc, char **argv);         /* `vmkit serve` */
int hv_client_main(int argc, char **argv);        /* the daemon verbs: argv[0] = verb */

/* A VM definition as the daemon stores it (registry.c) and as POST /vms takes it (JSON, same names):
 * {"name", "engine": "riscv64"|"x86_64", "vcpus", "mem_mib", "kernel", "initrd", "bios", "cmdline",
 *  "append", "disks": [{"path", "ro"}], "nets": ["user", "tap=NAME", ...] ([] = none),
 *  "cpu_limit" (CPUs, e.g. 0.5), "cpu_weight" (1..10000), "pids_max"}. Paths absolute; NULL = the
 * VMM's default guest. */
#define HV_NAME_MAX 63
#define HV_MAX_VCPUS 32
#define HV_MIN_MEM_MIB 32
#define HV_MAX_MEM_MIB 65536
#define HV_MAX_DISKS 6
#define HV_MAX_NETS 4
typedef struct hv_def {
    char name[HV_NAME_MAX + 1];
    char engine[16];
    unsigned vcpus;
    uint64_t mem_mib;
    char *kernel, *initrd, *bios, *cmdline, *append;
    char *disks[HV_MAX_DISKS];
    bool disk_ro[HV_MAX_DISKS];
    unsigned ndisks;
    char *nets[HV_MAX_NETS];
    unsigned nnets;
    double cpu_limit;              /* 0 = no quota */
    unsigned cpu_weight;           /* 0 = default (100) */
    unsigned pids_max;             /* 0 = default */
    int64_t created_at;            /* unix seconds */
} hv_def;
/* Runtime row: what the daemon knows about the VM's VMM. */
typedef struct hv_rt {
    char state[16];                /* created starting running paused stopping stopped crashed migrating incoming */
    int pid;                       /* supervised process (waiter or jailed VMM), 0 = none */
    uint64_t pid_start;            /* its start time (/proc/PID/stat field 22), guards against pid reuse */
    int vmm_pid;                   /* the VMM process itself (== pid when jailed) */
    uint64_t vmm_start;
    int64_t started_at;            /* unix seconds */
    char reason[256];              /* last exit reason ("" if none) */
    bool jailed;
} hv_rt;
bool hv_name_ok(const char *name);
void hv_def_free(hv_def *d);
/* JSON object -> def, validating everything (types, ranges, unknown fields, path syntax). -1 with a
 * one-line err. images_root (may be NULL): every path must resolve inside it. */
struct cJSON;
int  hv_def_from_json(const struct cJSON *j, hv_def *d, const char *images_root, char *err, size_t errlen);
struct cJSON *hv_def_to_json(const hv_def *d);

/* registry.c: SQLite <state-dir>/vmkit.db (WAL, synchronous=FULL). Every call is durable on return. */
typedef struct hv_db hv_db;
hv_db *hv_db_open(const char *path, char *err, size_t errlen);
void   hv_db_close(hv_db *db);
int    hv_db_insert(hv_db *db, const hv_def *d, const hv_rt *rt, char *err, size_t errlen);  /* -1 on dup */
int    hv_db_set_rt(hv_db *db, const char *name, const hv_rt *rt, char *err, size_t errlen);
int    hv_db_delete(hv_db *db, const char *name, char *err, size_t errlen);
/* Calls cb for every VM (def and rt are the callee's to keep; free def with hv_def_free). */
int    hv_db_load(hv_db *db, void (*cb)(void *opaque, hv_def *d, hv_rt *rt), void *opaque,
                  char *err, size_t errlen);

/* cgroup.c: one cgroup per VM, v2 when /sys/fs/cgroup is cgroup2, else v1 (cpu, cpuacct, memory,
 * pids hierarchies) under vmkit/<name>. */
typedef struct hv_cg_limits {
    double cpu_limit;              /* CPUs; 0 = none */
    unsigned cpu_weight;           /* 1..10000 (v1: shares = weight * 1024 / 100) */
    uint64_t mem_max;              /* bytes; 0 = none */
    unsigned pids_max;             /* 0 = none */
} hv_cg_limits;
bool hv_cg_available(void);
void hv_cg_set_base(const char *base);      /* default "vmkit" */
int  hv_cg_create(const char *name, const hv_cg_limits *l, char *err, size_t errlen);
/* Paths of the cgroup.procs files the VMM must join (before exec); returns count (<= 4). */
unsigned hv_cg_procs_paths(const char *name, char paths[][256], unsigned max);
int  hv_cg_remove(const char *name);         /* 0 when gone (must be empty) */
void hv_cg_remove_base(void);                /* the daemon's own subtree, if empty (at exit) */
/* Writes the limits and usage read back from the cgroup files into obj (a cJSON object). */
void hv_cg_report(const char *name, struct cJSON *obj);
/* pids currently in the cgroup; returns count. */
unsigned hv_cg_pids(const char *name, int *pids, unsigned max);

#endif
