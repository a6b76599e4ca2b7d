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
 *  - new mount, PID, IPC and UTS namespaces (and network namespace when new_netns);
 *  - the jail root is <dir>/root (created, owned by uid:gid, mode 0700): each file in files[] is
 *    bind-mounted onto an empty placeholder inside it (read-only where ro[i]), /dev/null, /dev/urandom,
 *    /dev/net/tun (TAP only) and /dev/kvm (KVM engine only) likewise; then pivot_root into it, the old
 *    root detached; sockets the VMM creates afterwards at /NAME are visible on the host at
 *    <dir>/root/NAME;
 *  - every fd except 0, 1, 2 and keep_fds[] closed; no_new_privs; uid/gid switched; every capability
 *    dropped (bounding, permitted, effective, inheritable, ambient);
 *  - a PID namespace applies to children: vmk_jail_enter forks; the child (PID 1 inside) returns 0
 *    and carries on as the VMM; the parent stays outside as a small waiter that forwards SIGTERM/
 *    SIGINT/SIGHUP/SIGKILL-able, writes "<dir>/exit" (one line: "exited N" or "signal N (NAME)")
 *    when the child ends, and exits with the same status (128+N for a signal). It never returns.
 * files[i] paths are rewritten in place to their path inside the jail ("/<basename>", made unique).
 * A file outside allowed_root (when set) is refused: "drive path ... is outside the VM's directory". */
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
/* 0 in the jailed child; -1 with err before anything irreversible (bad dir, file outside root,
 * not root). Errors after the fork end the child with status 1 and a one-line message. */
int  vmk_jail_enter(vmk_jail_cfg *cfg, char *err, size_t errlen);
/* Installs the libseccomp allowlist for a thread kind ("vcpu", "io", "api"; default action: kill
 * the process, SIGSYS). Meant as vmk_thread_hook once the jail is entered (vmk_jail_thread_hook),
 * and called by the VMM's main thread for the kind "vcpu" (or "main" before the VM starts).
 * engine_kvm selects the KVM ioctls. */
int  vmk_seccomp_install(const char *kind, bool engine_kvm, char *err, size_t errlen);
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

#endif
