/* seccomp.c — the jailed VMM's libseccomp allowlists, one per thread kind (hv.h): "vcpu" (runs the
 * guest), "io" (the event loop: disks, networking, console), "api" (API server threads: snapshots,
 * migration) and "main" (the main thread between the jail and the guest's start; a superset of the
 * others, because a thread inherits its creator's filter and can only add stricter ones). Anything
 * else kills the whole process (SIGSYS). The lists come from `strace -f` of real workloads, then
 * checked by running them jailed: boot with a disk, user networking (TCP, DNS), TAP, the console on
 * a socket and on a terminal, the API (logger, metrics, pause/resume, snapshots), live migration
 * (source and destination), SMP, Ctrl-Alt-Del (tests/hv/jail.t.sh runs most of them). */
#define _GNU_SOURCE
#include "hv.h"
#include "../base/base.h"
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/fs.h>
#include <linux/if_tun.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

enum { K_VCPU = 1, K_IO = 2, K_API = 4, K_MAIN = 8, K_ALL = 15, K_NET = K_IO | K_API | K_MAIN };
enum { A_ANY, A_NOEXEC, A_THREAD, A_FAMILY, A_SELF, A_PRNAME, A_APPEND };

typedef struct { int nr; unsigned char kinds, arg; } sc_rule;
#define R(name, kinds, arg) { SCMP_SYS(name), kinds, arg }

/* ioctl is handled apart (per-kind request lists, below). clone3 answers ENOSYS so that glibc falls
 * back to clone, whose flags a filter can see (clone3 passes them in memory). */
static const sc_rule rules[] = {
    /* memory, threads, time, signals: every thread */
    R(read, K_ALL, A_ANY), R(write, K_ALL, A_ANY), R(readv, K_ALL, A_ANY), R(writev, K_ALL, A_ANY),
    R(pread64, K_ALL, A_ANY), R(pwrite64, K_ALL, A_ANY), R(close, K_ALL, A_ANY), R(lseek, K_ALL, A_ANY),
    R(fcntl, K_ALL, A_ANY), R(fstat, K_ALL, A_ANY), R(newfstatat, K_ALL, A_ANY), R(statx, K_ALL, A_ANY),
    R(mmap, K_ALL, A_NOEXEC), R(mprotect, K_ALL, A_NOEXEC), R(munmap, K_ALL, A_ANY), R(mremap, K_ALL, A_ANY),
    R(madvise, K_ALL, A_ANY), R(brk, K_ALL, A_ANY), R(msync, K_ALL, A_ANY),
    R(futex, K_ALL, A_ANY), R(set_robust_list, K_ALL, A_ANY), R(rseq, K_ALL, A_ANY),
    R(clone, K_ALL, A_THREAD), R(sched_yield, K_ALL, A_ANY), R(sched_getaffinity, K_ALL, A_ANY),
    R(membarrier, K_ALL, A_ANY), R(getcpu, K_ALL, A_ANY),
    R(clock_gettime, K_ALL, A_ANY), R(clock_getres, K_ALL, A_ANY), R(gettimeofday, K_ALL, A_ANY),
    R(clock_nanosleep, K_ALL, A_ANY), R(nanosleep, K_ALL, A_ANY), R(getrusage, K_ALL, A_ANY),
    R(times, K_ALL, A_ANY), R(getrandom, K_ALL, A_ANY),
    R(ppoll, K_ALL, A_ANY), R(poll, K_ALL, A_ANY), R(epoll_ctl, K_ALL, A_ANY),
    R(rt_sigreturn, K_ALL, A_ANY), R(rt_sigprocmask, K_ALL, A_ANY), R(rt_sigaction, K_ALL, A_ANY),
    R(sigaltstack, K_ALL, A_ANY), R(restart_syscall, K_ALL, A_ANY), R(tgkill, K_ALL, A_SELF),
    R(getpid, K_ALL, A_ANY), R(gettid, K_ALL, A_ANY), R(getuid, K_ALL, A_ANY), R(geteuid, K_ALL, A_ANY),
    R(getgid, K_ALL, A_ANY), R(getegid, K_ALL, A_ANY), R(prctl, K_ALL, A_PRNAME), R(capget, K_ALL, A_ANY),
    /* a thread adds its own (stricter) filter: libseccomp sets no_new_privs again, then seccomp() */
    R(seccomp, K_ALL, A_ANY),
    R(exit, K_ALL, A_ANY), R(exit_group, K_ALL, A_ANY),
    /* the vCPU thread also writes to the console socket, and tears the VM down at the end */
    R(sendto, K_ALL, A_ANY), R(sendmsg, K_ALL, A_ANY), R(shutdown, K_ALL, A_ANY),
    R(fsync, K_ALL, A_ANY), R(fdatasync, K_ALL, A_ANY), R(unlink, K_ALL, A_ANY), R(unlinkat, K_ALL, A_ANY),
    /* ... and rotates the console log (socket=PATH,log=FILE): rename, then reopen for appending only */
    R(rename, K_ALL, A_ANY), R(openat, K_VCPU, A_APPEND),
    /* event loop, disks, networking (libslirp: TCP/UDP sockets to the host), console server */
    R(epoll_wait, K_NET, A_ANY), R(epoll_pwait, K_NET, A_ANY), R(epoll_create1, K_NET, A_ANY),
    R(eventfd2, K_NET, A_ANY), R(timerfd_create, K_NET, A_ANY), R(timerfd_settime, K_NET, A_ANY),
    R(timerfd_gettime, K_NET, A_ANY), R(preadv, K_NET, A_ANY), R(pwritev, K_NET, A_ANY),
    R(preadv2, K_NET, A_ANY), R(pwritev2, K_NET, A_ANY), R(fallocate, K_NET, A_ANY),
    R(socket, K_NET, A_FAMILY), R(connect, K_NET, A_ANY), R(bind, K_NET, A_ANY), R(listen, K_NET, A_ANY),
    R(accept, K_NET, A_ANY), R(accept4, K_NET, A_ANY), R(recvfrom, K_NET, A_ANY), R(recvmsg, K_NET, A_ANY),
    R(sendmmsg, K_NET, A_ANY), R(recvmmsg, K_NET, A_ANY), R(setsockopt, K_NET, A_ANY),
    R(getsockopt, K_NET, A_ANY), R(getsockname, K_NET, A_ANY), R(getpeername, K_NET, A_ANY),
    R(openat, K_NET, A_ANY), R(dup, K_NET, A_ANY), R(dup2, K_NET, A_ANY), R(dup3, K_NET, A_ANY), R(pipe2, K_NET, A_ANY),
    R(uname, K_NET, A_ANY), R(sysinfo, K_NET, A_ANY), R(select, K_NET, A_ANY), R(pselect6, K_NET, A_ANY),
    /* API threads: snapshots (files and directories), migration, per-connection threads */
    R(ftruncate, K_API | K_MAIN, A_ANY), R(renameat, K_API | K_MAIN, A_ANY),
    R(renameat2, K_API | K_MAIN, A_ANY), R(mkdir, K_API | K_MAIN, A_ANY), R(mkdirat, K_API | K_MAIN, A_ANY),
    R(rmdir, K_API | K_MAIN, A_ANY), R(getdents64, K_API | K_MAIN, A_ANY), R(fchmod, K_API | K_MAIN, A_ANY),
    R(chmod, K_API | K_MAIN, A_ANY), R(fchmodat, K_API | K_MAIN, A_ANY), R(umask, K_API | K_MAIN, A_ANY),
    R(copy_file_range, K_API | K_MAIN, A_ANY), R(sendfile, K_API | K_MAIN, A_ANY),
    R(fstatfs, K_API | K_MAIN, A_ANY), R(statfs, K_API | K_MAIN, A_ANY), R(flock, K_API | K_MAIN, A_ANY),
    R(access, K_API | K_MAIN, A_ANY), R(faccessat, K_API | K_MAIN, A_ANY), R(faccessat2, K_API | K_MAIN, A_ANY),
    R(readlink, K_API | K_MAIN, A_ANY), R(readlinkat, K_API | K_MAIN, A_ANY), R(fadvise64, K_API | K_MAIN, A_ANY),
    /* main thread only: building the VM */
    R(set_tid_address, K_MAIN, A_ANY), R(prlimit64, K_MAIN, A_ANY), R(memfd_create, K_MAIN, A_ANY),
    R(mlock, K_MAIN, A_ANY), R(munlock, K_MAIN, A_ANY), R(getppid, K_MAIN, A_ANY),
};

/* libseccomp's SCMP_An macros leave datum_b out, which clang's -Wextra rejects */
static struct scmp_arg_cmp eq(unsigned arg, scmp_datum_t v)
{
    return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_EQ, .datum_a = v, .datum_b = 0 };
}
static struct scmp_arg_cmp masked(unsigned arg, scmp_datum_t mask, scmp_datum_t v)
{
    return (struct scmp_arg_cmp){ .arg = arg, .op = SCMP_CMP_MASKED_EQ, .datum_a = mask, .datum_b = v };
}

static int add(scmp_filter_ctx c, int nr, unsigned n, const struct scmp_arg_cmp *a)
{
    return seccomp_rule_add_array(c, SCMP_ACT_ALLOW, nr, n, a);
}

static int add_rule(scmp_filter_ctx c, const sc_rule *r)
{
    struct scmp_arg_cmp a[1];
    switch (r->arg) {
    case A_NOEXEC:
        a[0] = masked(2, PROT_EXEC, 0);
        return add(c, r->nr, 1, a);
    case A_THREAD:              /* a thread of this process: no new process, no namespace flags */
        a[0] = masked(0, CLONE_THREAD | CLONE_NEWNS | CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET | CLONE_NEWIPC |
                      CLONE_NEWUTS | CLONE_NEWCGROUP, CLONE_THREAD);
        return add(c, r->nr, 1, a);
    case A_APPEND:
        a[0] = masked(2, O_APPEND, O_APPEND);
        return add(c, r->nr, 1, a);
    case A_SELF:
        a[0] = eq(0, (scmp_datum_t)getpid());
        return add(c, r->nr, 1, a);
    case A_FAMILY: {
        static const int fam[] = { AF_UNIX, AF_INET, AF_INET6 };
        for (size_t i = 0; i < 3; i++) {
            a[0] = eq(0, (scmp_datum_t)fam[i]);
            int e = add(c, r->nr, 1, a);
            if (e) return e;
        }
        return 0;
    }
    case A_PRNAME: {
        static const int ops[] = { PR_SET_NAME, PR_GET_NAME, PR_GET_DUMPABLE, PR_SET_NO_NEW_PRIVS,
                                   PR_GET_NO_NEW_PRIVS };
        for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
            a[0] = eq(0, (scmp_datum_t)ops[i]);
            int e = add(c, r->nr, 1, a);
            if (e) return e;
        }
        return 0;
    }
    default:
        return add(c, r->nr, 0, NULL);
    }
}

#define KVMIO_TYPE 0xAE
static int add_ioctls(scmp_filter_ctx c, unsigned kind, bool kvm)
{
    static const unsigned long all[] = { TCGETS, TCSETS, TCSETSW, TCSETSF, TIOCGWINSZ, FIONREAD, FIONBIO,
                                         FIOCLEX, FIONCLEX };
    static const unsigned long tun[] = { TUNSETIFF, TUNGETIFF, TUNSETVNETHDRSZ, TUNSETOFFLOAD };
    static const unsigned long files[] = { FICLONE, FICLONERANGE, BLKGETSIZE64, BLKSSZGET, BLKDISCARD };
    struct scmp_arg_cmp a[1];
    int e = 0;
#define ALLOW_LIST(list) \
    for (size_t i = 0; !e && i < sizeof(list) / sizeof(list[0]); i++) { \
        a[0] = eq(1, (scmp_datum_t)(list)[i]); \
        e = add(c, SCMP_SYS(ioctl), 1, a); }
    ALLOW_LIST(all);
    if (kind & (K_IO | K_MAIN)) ALLOW_LIST(tun);
    if (kind & (K_IO | K_API | K_MAIN)) ALLOW_LIST(files);
#undef ALLOW_LIST
    if (!e && kvm) {                    /* the KVM ioctls (type 0xAE): vCPU, VM and device requests */
        a[0] = masked(1, 0xff00, KVMIO_TYPE << 8);
        e = add(c, SCMP_SYS(ioctl), 1, a);
    }
    return e;
}

static int kind_bit(const char *kind)
{
    if (!kind) return -1;
    if (!strcmp(kind, "vcpu")) return K_VCPU;
    if (!strcmp(kind, "io")) return K_IO;
    if (!strcmp(kind, "api")) return K_API;
    if (!strcmp(kind, "main")) return K_MAIN;
    return -1;
}

static scmp_filter_ctx build(int k, bool kvm, char *err, size_t errlen)
{
    scmp_filter_ctx c = seccomp_init(SCMP_ACT_KILL_PROCESS);
    if (!c) {
        vmk_seterr(err, errlen, "seccomp: cannot create a filter");
        return NULL;
    }
    int e = seccomp_rule_add(c, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    for (size_t i = 0; !e && i < sizeof(rules) / sizeof(rules[0]); i++)
        if (rules[i].kinds & k) e = add_rule(c, &rules[i]);
    if (!e) e = add_ioctls(c, (unsigned)k, kvm);
    if (e) {
        vmk_seterr(err, errlen, "seccomp: building a filter: %s", strerror(-e));
        seccomp_release(c);
        return NULL;
    }
    return c;
}

/* Compiled programs per [kvm][kind], made on a kind's first install and kept: installing it on
 * later threads (an API thread per connection) is then two syscalls, no libseccomp work. */
static struct sock_filter *g_prog[2][4];
static unsigned short g_prog_len[2][4];

static int kind_index(int k) { return k == K_VCPU ? 0 : k == K_IO ? 1 : k == K_API ? 2 : 3; }

static void precompile(int k, bool kvm)
{
    int i = kind_index(k), pfd[2];
    if (g_prog[kvm][i]) return;
    scmp_filter_ctx c = build(k, kvm, NULL, 0);
    if (!c) return;
    if (pipe2(pfd, O_CLOEXEC) == 0) {
        static uint8_t buf[65536];           /* a pipe's default capacity; our programs are ~2 KiB */
        fcntl(pfd[1], F_SETFL, O_NONBLOCK);
        ssize_t n = seccomp_export_bpf(c, pfd[1]) == 0 ? read(pfd[0], buf, sizeof(buf)) : -1;
        if (n > 0 && n % sizeof(struct sock_filter) == 0 && n / sizeof(struct sock_filter) <= BPF_MAXINSNS) {
            g_prog[kvm][i] = vmk_xmalloc((size_t)n);
            memcpy(g_prog[kvm][i], buf, (size_t)n);
            g_prog_len[kvm][i] = (unsigned short)(n / sizeof(struct sock_filter));
        }
        close(pfd[0]);
        close(pfd[1]);
    }
    seccomp_release(c);
}

static __thread bool t_has_main;   /* this thread installed "main" itself */

int vmk_seccomp_install(const char *kind, bool engine_kvm, char *err, size_t errlen)
{
    int k = kind_bit(kind);
    if (k == K_MAIN) t_has_main = true;
    if (k < 0) {
        vmk_seterr(err, errlen, "seccomp: unknown thread kind '%s'", kind ? kind : "(null)");
        return -1;
    }
    int i = kind_index(k);
    static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mtx);
    precompile(k, engine_kvm);
    pthread_mutex_unlock(&mtx);
    if (g_prog[engine_kvm][i]) {
        struct sock_fprog prog = { .len = g_prog_len[engine_kvm][i], .filter = g_prog[engine_kvm][i] };
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0)
            return 0;
        vmk_seterr(err, errlen, "seccomp: loading the '%s' filter: %s", kind, strerror(errno));
        return -1;
    }
    scmp_filter_ctx c = build(k, engine_kvm, err, errlen);
    if (!c) return -1;
    int e = seccomp_load(c);
    seccomp_release(c);
    if (e) {
        vmk_seterr(err, errlen, "seccomp: loading the '%s' filter: %s", kind, strerror(-e));
        return -1;
    }
    return 0;
}

/* ---------------- the thread hook ---------------- */
static bool g_kvm;
static int g_io_started;

void vmk_jail_set_engine(bool kvm) { g_kvm = kvm; }

/* "vcpu" on the main thread before the I/O thread runs would give that thread vcpu's list too
 * (filters stack), and vmkit run asks for it just before vmk_vm_run starts the loop. So it is
 * deferred: the I/O thread, once running, signals the main thread, whose handler installs the
 * precompiled program (one syscall: async-signal-safe). Whichever side sees the other first
 * installs it; the compare-and-swap makes sure it happens once. */
#define VCPU_SIG (SIGRTMIN + 7)
enum { V_NONE, V_PENDING, V_DONE };
static int g_vcpu_state;
static pid_t g_vcpu_tid;

static void install_deferred_vcpu(void)
{
    int expect = V_PENDING;
    if (!__atomic_compare_exchange_n(&g_vcpu_state, &expect, V_DONE, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
        return;
    struct sock_fprog prog = { .len = g_prog_len[g_kvm][0], .filter = g_prog[g_kvm][0] };
    if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0) {
        static const char msg[] = "vmkit: seccomp: cannot install the 'vcpu' filter\n";
        if (write(2, msg, sizeof(msg) - 1) < 0) {}
        _exit(1);
    }
}

static void on_vcpu_sig(int sig)
{
    (void)sig;
    int e = errno;
    install_deferred_vcpu();
    errno = e;
}

static bool defer_vcpu(void)
{
    static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&mtx);
    precompile(K_VCPU, g_kvm);
    pthread_mutex_unlock(&mtx);
    if (!g_prog[g_kvm][0]) return false;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_vcpu_sig;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(VCPU_SIG, &sa, NULL) < 0) return false;
    g_vcpu_tid = gettid();
    __atomic_store_n(&g_vcpu_state, V_PENDING, __ATOMIC_SEQ_CST);
    if (__atomic_load_n(&g_io_started, __ATOMIC_SEQ_CST)) install_deferred_vcpu();
    vmk_info("seccomp: 'vcpu' on the main thread %s", __atomic_load_n(&g_vcpu_state, __ATOMIC_SEQ_CST) == V_DONE
             ? "installed" : "deferred until the I/O thread runs");
    return true;
}

void vmk_jail_thread_hook(const char *kind)
{
    char err[VMK_ERRLEN];
    const char *k = kind ? kind : "";
    if (!strcmp(k, "io")) {
        __atomic_store_n(&g_io_started, 1, __ATOMIC_SEQ_CST);
        if (__atomic_load_n(&g_vcpu_state, __ATOMIC_SEQ_CST) == V_PENDING)
            syscall(SYS_tgkill, getpid(), g_vcpu_tid, VCPU_SIG);
    }
    if (!strcmp(k, "vcpu") && gettid() == getpid() && __atomic_load_n(&g_vcpu_state, __ATOMIC_SEQ_CST) != V_NONE) {
        install_deferred_vcpu();   /* asked again (e.g. once before vmk_vm_run, once in it) */
        return;
    }
    if (!strcmp(k, "vcpu") && !__atomic_load_n(&g_io_started, __ATOMIC_SEQ_CST)) {
        if (gettid() == getpid() && defer_vcpu()) return;
        /* another thread (or no compiled program): the I/O thread may exist but not run yet */
        for (int i = 0; i < 20 && !__atomic_load_n(&g_io_started, __ATOMIC_SEQ_CST); i++)
            nanosleep(&(struct timespec){ 0, 250000 }, NULL);
        if (!__atomic_load_n(&g_io_started, __ATOMIC_SEQ_CST)) {
            vmk_info("seccomp: 'vcpu' requested before the I/O thread started: keeping 'main'");
            k = "main";
        }
    }
    if (!strcmp(k, "main") && t_has_main) return;   /* already under it (vmk_jail_enter installs it) */
    if (vmk_seccomp_install(k, g_kvm, err, sizeof(err)) < 0) {
        fprintf(stderr, "vmkit: %s\n", err);
        _exit(1);                  /* a thread without its filter must not run */
    }
}
