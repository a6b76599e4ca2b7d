/* test_seccomp.c — the jail's seccomp allowlists (each kind allows what its threads do, kills on
 * ptrace/mount/unshare/execve/...; stacking main -> io/api threads), and vmk_jail_enter (refusals;
 * as root: the jailed process's root, uid, capabilities, hostname, PID 1, the waiter's exit file,
 * and the time it takes). Every probe runs in a forked child, so a filter never reaches the runner.
 * `test_seccomp --boot DIR` is a test-only driver: it jails itself in DIR and boots the default
 * guest (build/images or $VMKIT_IMAGES) with the filters installed, as `vmkit run --jail` does, but
 * with "vcpu" installed on the main thread once the I/O thread runs (jail.t.sh checks that list). */
#define _GNU_SOURCE
#include "../test.h"
#include "hv/hv.h"
#include "vm/vm_impl.h"
#include "base/base.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Runs fn in a forked child; returns the raw wait status. */
static int in_child(int (*fn)(void *), void *arg)
{
    fflush(stdout);
    pid_t p = fork();
    if (p == 0) _exit(fn(arg));
    int st = 0;
    waitpid(p, &st, 0);
    return st;
}
static bool exited0(int st) { return WIFEXITED(st) && WEXITSTATUS(st) == 0; }
static bool sigsys(int st) { return WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS; }

static void *thread_fn(void *arg)
{
    const char *kind = arg;
    if (kind) vmk_jail_thread_hook(kind);
    void *p = malloc(1 << 20);            /* a fresh arena */
    free(p);
    if (kind && !strcmp(kind, "io")) {
        int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (s < 0) return (void *)1;
        close(s);
    }
    return NULL;
}

/* What every thread kind must be able to do. */
static int common_ok(void)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) < 0) return 10;    /* before the filter in the callers */
    (void)pfd;
    return 0;
}

typedef struct { const char *kind; int pfd[2]; } probe;

static int allowed_probe(void *arg)
{
    probe *pr = arg;
    char err[256];
    if (vmk_seccomp_install(pr->kind, false, err, sizeof(err)) < 0) { printf("  %s\n", err); return 2; }
    char b = 'x';
    if (write(pr->pfd[1], &b, 1) != 1 || read(pr->pfd[0], &b, 1) != 1) return 3;
    void *m = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED) return 4;
    if (mprotect(m, 4096, PROT_READ) < 0 || munmap(m, 1 << 16) < 0) return 5;
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) < 0) return 6;
    pthread_t t;
    void *rv = (void *)9;
    if (pthread_create(&t, NULL, thread_fn, NULL) != 0 || pthread_join(t, &rv) != 0 || rv) return 7;
    if (strcmp(pr->kind, "vcpu")) {
        int ep = epoll_create1(EPOLL_CLOEXEC);
        int s = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
        int u = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (ep < 0 || s < 0 || u < 0) return 8;
        close(ep); close(s); close(u);
    }
    if (!strcmp(pr->kind, "api") || !strcmp(pr->kind, "main")) {
        char d[] = "/tmp/vmk-sc-XXXXXX";
        if (!mkdtemp(d)) return 11;
        char a[64], b2[64];
        snprintf(a, sizeof(a), "%s/a.tmp", d);
        snprintf(b2, sizeof(b2), "%s/a", d);
        int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || ftruncate(fd, 8192) < 0 || fsync(fd) < 0) return 12;
        close(fd);
        if (rename(a, b2) < 0 || unlink(b2) < 0 || rmdir(d) < 0) return 13;
    }
    raise(SIGCHLD);                        /* tgkill to ourselves (default action: ignored) */
    return 0;
}

typedef struct { const char *kind; int what; unsigned raw; } bad_probe;
enum { B_PTRACE, B_MOUNT, B_UNSHARE, B_EXECVE, B_FORK, B_EXECMEM, B_NETLINK, B_BPF, B_SOCKET, B_OPEN, B_KILL,
       B_RAW, B_THREADNS, B_N };
static const char *const bad_names[B_N] = { "ptrace", "mount", "unshare", "execve", "fork (clone without CLONE_THREAD)",
                                            "mmap PROT_EXEC", "socket(AF_NETLINK)", "bpf", "socket (vcpu)",
                                            "openat (vcpu)", "kill(other pid)", "raw syscall list",
                                            "clone(CLONE_THREAD | CLONE_NEWUTS)" };
/* the rest of the never-allowed list, by number (arguments do not matter: the filter runs first) */
static const long never[] = { SYS_umount2, SYS_pivot_root, SYS_setns, SYS_kexec_load, SYS_kexec_file_load,
                              SYS_init_module, SYS_finit_module, SYS_delete_module, SYS_perf_event_open,
                              SYS_process_vm_readv, SYS_process_vm_writev, SYS_keyctl, SYS_add_key,
                              SYS_request_key, SYS_execveat, SYS_reboot, SYS_swapon, SYS_swapoff, SYS_fork,
                              SYS_vfork, SYS_chroot, SYS_mknod, SYS_mknodat, SYS_setuid, SYS_setgid,
                              SYS_capset, SYS_ioperm, SYS_iopl, SYS_userfaultfd, SYS_io_uring_setup,
                              SYS_open_by_handle_at, SYS_name_to_handle_at, SYS_fsopen, SYS_move_mount,
                              SYS_mprotect /* with PROT_EXEC, below */ };

static int forbidden_probe(void *arg)
{
    bad_probe *bp = arg;
    char err[256];
    if (vmk_seccomp_install(bp->kind, false, err, sizeof(err)) < 0) return 2;
    switch (bp->what) {
    case B_PTRACE: vmk_jail_test_forbidden_syscall(); break;
    case B_MOUNT: mount("none", "/mnt", "tmpfs", 0, NULL); break;
    case B_UNSHARE: unshare(CLONE_NEWNS); break;
    case B_EXECVE: { char *av[] = { "/bin/true", NULL }; execve(av[0], av, environ); break; }
    case B_FORK:
        syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
        break;
    case B_THREADNS: {         /* a "thread" asking for a new namespace: refused by the flag mask */
        syscall(SYS_clone, CLONE_THREAD | CLONE_SIGHAND | CLONE_VM | CLONE_NEWUTS, 0, 0, 0, 0);
        break;
    }
    case B_EXECMEM: mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0); break;
    case B_NETLINK: socket(AF_NETLINK, SOCK_RAW, 0); break;
    case B_BPF: syscall(SYS_bpf, 0, NULL, 0); break;
    case B_SOCKET: socket(AF_INET, SOCK_STREAM, 0); break;
    case B_OPEN: open("/etc/hostname", O_RDONLY); break;
    case B_KILL: kill(getppid(), 0); break;
    case B_RAW: {
        long nr = never[bp->raw];
        if (nr == SYS_mprotect) syscall(nr, (void *)bp, 4096, PROT_READ | PROT_EXEC);
        else syscall(nr, 0, 0, 0, 0, 0, 0);
        break;
    }
    }
    return 0;     /* survived: the filter let it through */
}

/* Writes its progress (one byte per stage reached) to the pipe: the test checks it got to the end
 * and only then died of SIGSYS. */
static int stacking_probe(void *arg)
{
    int fd = *(int *)arg;
    char err[256];
    vmk_jail_set_engine(false);
    if (vmk_seccomp_install("main", false, err, sizeof(err)) < 0) return 2;
    if (write(fd, "1", 1) != 1) return 7;
    pthread_t t;
    void *rv = (void *)9;
    if (pthread_create(&t, NULL, thread_fn, "io") != 0 || pthread_join(t, &rv) != 0 || rv) return 3;
    if (write(fd, "2", 1) != 1) return 7;
    if (pthread_create(&t, NULL, thread_fn, "api") != 0 || pthread_join(t, &rv) != 0 || rv) return 4;
    if (write(fd, "3", 1) != 1) return 7;
    /* the I/O thread exists now: "vcpu" is the real vcpu list, and threads it creates still work */
    vmk_jail_thread_hook("vcpu");
    if (pthread_create(&t, NULL, thread_fn, "vcpu") != 0 || pthread_join(t, &rv) != 0 || rv) return 5;
    if (write(fd, "4", 1) != 1) return 7;
    socket(AF_INET, SOCK_STREAM, 0);      /* not in vcpu: must die here */
    return 6;
}

/* vmkit run asks for "vcpu" on the main thread before vmk_vm_run starts the I/O thread: the hook
 * defers it until that thread runs, then the main thread gets it (socket() kills) while the I/O
 * thread keeps its own list (socket() works). */
static int early_vcpu_probe(void *arg)
{
    int fd = *(int *)arg;
    char err[256];
    if (vmk_seccomp_install("main", false, err, sizeof(err)) < 0) return 2;
    vmk_jail_set_engine(false);
    vmk_jail_thread_hook("vcpu");
    int s = socket(AF_UNIX, SOCK_STREAM, 0);        /* still "main" here */
    if (s < 0 || write(fd, "1", 1) != 1) return 3;
    close(s);
    pthread_t t;
    void *rv = (void *)9;
    if (pthread_create(&t, NULL, thread_fn, "io") != 0 || pthread_join(t, &rv) != 0 || rv) return 4;
    for (int i = 0; i < 100; i++) usleep(1000);    /* the signal is delivered by now */
    if (write(fd, "2", 1) != 1) return 5;
    socket(AF_INET, SOCK_STREAM, 0);                /* vcpu now: must die here */
    return 6;
}

static void test_seccomp_lists(void)
{
    static const char *const kinds[] = { "vcpu", "io", "api", "main" };
    for (int k = 0; k < 4; k++) {
        char name[64];
        snprintf(name, sizeof(name), "seccomp '%s' allows its thread's syscalls", kinds[k]);
        TEST_BEGIN(name);
        probe pr = { .kind = kinds[k] };
        CHECK(pipe2(pr.pfd, O_CLOEXEC) == 0);
        int st = in_child(allowed_probe, &pr);
        if (!exited0(st)) printf("  status %#x (exit %d, signal %d)\n", st, WIFEXITED(st) ? WEXITSTATUS(st) : -1,
                                 WIFSIGNALED(st) ? WTERMSIG(st) : 0);
        CHECK(exited0(st));
        close(pr.pfd[0]); close(pr.pfd[1]);
        TEST_END();

        snprintf(name, sizeof(name), "seccomp '%s' kills forbidden syscalls with SIGSYS", kinds[k]);
        TEST_BEGIN(name);
        for (int w = 0; w < B_N; w++) {
            if ((w == B_SOCKET || w == B_OPEN) && k != 0) continue;   /* vcpu-only restrictions */
            for (unsigned r = 0; r < (w == B_RAW ? sizeof(never) / sizeof(never[0]) : 1); r++) {
                bad_probe bp = { kinds[k], w, r };
                int s = in_child(forbidden_probe, &bp);
                if (!sigsys(s)) printf("  %s%s%ld under '%s': status %#x, not SIGSYS\n", bad_names[w],
                                       w == B_RAW ? " #" : "", w == B_RAW ? never[r] : 0L, kinds[k], s);
                CHECK(sigsys(s));
            }
        }
        TEST_END();
    }
    TEST_BEGIN("seccomp: threads of a 'main' process add io/api/vcpu filters and still work");
    int pfd[2];
    CHECK(pipe2(pfd, O_CLOEXEC) == 0);
    int st = in_child(stacking_probe, &pfd[1]);
    close(pfd[1]);
    char prog[8] = "";
    ssize_t got = read(pfd[0], prog, sizeof(prog) - 1);
    close(pfd[0]);
    if (!sigsys(st) || got != 4) printf("  status %#x (exit %d), stages reached '%s'\n", st, WIFEXITED(st) ? WEXITSTATUS(st) : -1, prog);
    CHECK(sigsys(st) && got == 4 && !strcmp(prog, "1234"));
    TEST_END();
    TEST_BEGIN("seccomp: 'vcpu' asked before the I/O thread exists is installed once it runs");
    CHECK(pipe2(pfd, O_CLOEXEC) == 0);
    st = in_child(early_vcpu_probe, &pfd[1]);
    close(pfd[1]);
    memset(prog, 0, sizeof(prog));
    got = read(pfd[0], prog, sizeof(prog) - 1);
    close(pfd[0]);
    if (!sigsys(st) || got != 2) printf("  status %#x (exit %d), stages reached '%s'\n", st, WIFEXITED(st) ? WEXITSTATUS(st) : -1, prog);
    CHECK(sigsys(st) && got == 2 && !strcmp(prog, "12"));
    TEST_END();
    TEST_BEGIN("seccomp: an unknown kind is an error");
    char err[256] = "";
    CHECK(vmk_seccomp_install("gpu", false, err, sizeof(err)) < 0 && strstr(err, "gpu"));
    TEST_END();
    (void)common_ok;
}

/* ---------------- the jail ---------------- */

static char g_dir[64], g_vmroot[80], g_file[128], g_file2[128];
static struct timespec g_t0;

static double ms_since(const struct timespec *t0)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (t.tv_sec - t0->tv_sec) * 1e3 + (t.tv_nsec - t0->tv_nsec) / 1e6;
}

/* Runs in the forked test child: enters the jail; the jailed process checks its world. */
static int jail_probe(void *arg)
{
    (void)arg;
    const char *f1 = g_file, *f2 = g_file2;
    vmk_jail_cfg c;
    memset(&c, 0, sizeof(c));
    c.dir = g_dir;
    c.uid = 65534;
    c.gid = 65534;
    c.allowed_root = g_vmroot;
    c.files[0] = &f1; c.ro[0] = true;
    c.files[1] = &f2; c.ro[1] = false;
    static char subdir[160];
    snprintf(subdir, sizeof(subdir), "%s/sub", g_vmroot);
    const char *f3 = subdir;                  /* a directory (a snapshot, say), read-only */
    c.files[2] = &f3; c.ro[2] = true;
    c.nfiles = 3;
    c.need_kvm = access("/dev/kvm", R_OK | W_OK) == 0;
    char err[256];
    clock_gettime(CLOCK_MONOTONIC, &g_t0);
    if (vmk_jail_enter(&c, err, sizeof(err)) < 0) { printf("  %s\n", err); return 2; }
    double ms = ms_since(&g_t0);
    int bad = 0;
#define EXPECT(cond) do { if (!(cond)) { printf("  jailed: %s failed\n", #cond); fflush(stdout); bad++; } } while (0)
    EXPECT(getpid() == 1);
    EXPECT(getuid() == 65534 && geteuid() == 65534 && getgid() == 65534 && getegid() == 65534);
    EXPECT(!strcmp(f1, "/data.img") && !strcmp(f2, "/data.img-1") && !strcmp(f3, "/sub"));
    EXPECT(access("/sub/data.img", R_OK) == 0 && mkdir("/sub/new", 0700) < 0 && errno == EROFS);
    char h[64] = "";
    gethostname(h, sizeof(h));
    EXPECT(!strcmp(h, "vmkit"));
    struct __user_cap_header_struct hd = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct d[2];
    EXPECT(syscall(SYS_capget, &hd, d) == 0 && !d[0].effective && !d[0].permitted && !d[1].permitted);
    EXPECT(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1);
    EXPECT(access("/etc/passwd", F_OK) != 0 && access("/proc/self", F_OK) != 0 && access("/work", F_OK) != 0);
    int fd = open(f1, O_RDONLY);
    char buf[16] = "";
    EXPECT(fd >= 0 && read(fd, buf, sizeof(buf)) == 5 && !memcmp(buf, "hello", 5));
    EXPECT(open(f1, O_WRONLY) < 0 && errno == EROFS);          /* read-only bind */
    int w = open(f2, O_RDWR);
    EXPECT(w >= 0 && write(w, "jailed", 6) == 6);
    EXPECT(open("/dev/null", O_WRONLY) >= 0 && open("/dev/urandom", O_RDONLY) >= 0);
    int s = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un { sa_family_t f; char p[108]; } sa = { AF_UNIX, "/api.sock" };
    EXPECT(s >= 0 && bind(s, (struct sockaddr *)&sa, sizeof(sa)) == 0);   /* root is ours */
    EXPECT(fcntl(3 + 40, F_GETFD) < 0);                         /* inherited fds closed */
    EXPECT(mkdir("/dev/x", 0700) < 0);                          /* /dev belongs to root */
    DIR *dir = opendir("/");
    char names[256] = "";
    struct dirent *de;
    while (dir && (de = readdir(dir)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            if (strlen(names) + strlen(de->d_name) + 2 < sizeof(names)) { strcat(names, de->d_name); strcat(names, " "); }
    if (dir) closedir(dir);
    /* tell the test what the root holds and how long entering took (through a file in our dir) */
    FILE *o = fopen("/data.img-1", "w");
    if (o) { fprintf(o, "%s\n%.3f\n", names, ms); fclose(o); }
    if (c.need_kvm) {           /* our own /dev/kvm node, usable by the VM's uid; KVM ioctls pass the filter */
        int kfd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
        EXPECT(kfd >= 0);
        EXPECT(vmk_seccomp_install("vcpu", true, err, sizeof(err)) == 0);
        EXPECT(kfd < 0 || ioctl(kfd, 0xAE00 /* KVM_GET_API_VERSION */, 0) == 12);
    }
    return bad ? 3 : 0;
}

static vmk_jail_cfg small_cfg(const char **f1)
{
    vmk_jail_cfg c;
    memset(&c, 0, sizeof(c));
    c.dir = g_dir;
    c.uid = 65534;
    c.gid = 65534;
    c.files[0] = f1; c.ro[0] = true;
    c.nfiles = 1;
    return c;
}

static int jail_kill_probe(void *arg)
{
    (void)arg;
    const char *f1 = g_file;
    vmk_jail_cfg c = small_cfg(&f1);
    char err[256];
    if (vmk_jail_enter(&c, err, sizeof(err)) < 0) { printf("  %s\n", err); return 2; }
    vmk_jail_test_forbidden_syscall();      /* the jail returns under the "main" allowlist */
    return 4;
}

static volatile sig_atomic_t g_term;
static void on_term(int sig) { g_term = sig; }

static int jail_term_probe(void *arg)
{
    (void)arg;
    const char *f1 = g_file;
    vmk_jail_cfg c = small_cfg(&f1);
    char err[256];
    /* handler before entering: the waiter may forward as soon as it exists */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    pid_t self = getpid();
    pid_t killer = fork();
    if (killer == 0) {              /* SIGTERM the waiter (our pid) a little later */
        usleep(200000);
        kill(self, SIGTERM);
        _exit(0);
    }
    if (vmk_jail_enter(&c, err, sizeof(err)) < 0) { printf("  %s\n", err); return 2; }
    for (int i = 0; i < 500 && !g_term; i++) usleep(10000);
    return g_term == SIGTERM ? 0 : 5;
}

/* The stop request arrives while the jailed process has no handler yet (PID 1 drops it): the waiter
 * repeats it until it is handled. */
static int jail_late_handler_probe(void *arg)
{
    (void)arg;
    const char *f1 = g_file;
    vmk_jail_cfg c = small_cfg(&f1);
    char err[256];
    pid_t self = getpid();
    pid_t killer = fork();
    if (killer == 0) {
        usleep(200000);
        kill(self, SIGTERM);
        _exit(0);
    }
    if (vmk_jail_enter(&c, err, sizeof(err)) < 0) { printf("  %s\n", err); return 2; }
    usleep(1300000);                     /* SIGTERM forwarded meanwhile: dropped */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    for (int i = 0; i < 300 && !g_term; i++) usleep(10000);
    return g_term == SIGTERM ? 0 : 5;
}

static int jail_time_probe(void *arg)
{
    (void)arg;
    const char *f1 = g_file, *f2 = g_file2;
    vmk_jail_cfg c = small_cfg(&f1);
    c.files[1] = &f2; c.nfiles = 2;
    char err[256];
    clock_gettime(CLOCK_MONOTONIC, &g_t0);
    if (vmk_jail_enter(&c, err, sizeof(err)) < 0) return 255;
    double ms = ms_since(&g_t0);
    return ms * 10 > 250 ? 250 : (int)(ms * 10);
}

static bool root_ok(void) { return geteuid() == 0; }

static void test_jail(void)
{
    char err[256];
    vmk_jail_cfg c;
    const char *outside = "/etc/hostname";
    TEST_BEGIN("jail refuses: relative dir, uid 0, a file outside its root, a missing file");
    memset(&c, 0, sizeof(c));
    strcpy(g_dir, "/tmp/vmk-jail-XXXXXX");
    CHECK(mkdtemp(g_dir) != NULL);
    c.dir = "relative/dir"; c.uid = 1000; c.gid = 1000;
    err[0] = 0;
    CHECK(vmk_jail_enter(&c, err, sizeof(err)) < 0 && (strstr(err, "absolute") || strstr(err, "root")));
    if (root_ok()) {
        c.dir = g_dir; c.uid = 0;
        CHECK(vmk_jail_enter(&c, err, sizeof(err)) < 0 && strstr(err, "unprivileged"));
        c.uid = 1000; c.allowed_root = g_dir;
        c.files[0] = &outside; c.nfiles = 1; c.ro[0] = true;
        CHECK(vmk_jail_enter(&c, err, sizeof(err)) < 0 && strstr(err, "is outside the VM's directory"));
        const char *traversal = "/tmp/../etc/hostname";
        char trav[128];
        snprintf(trav, sizeof(trav), "%s/../../etc/hostname", g_dir);
        traversal = trav;
        c.files[0] = &traversal;
        CHECK(vmk_jail_enter(&c, err, sizeof(err)) < 0 && strstr(err, "is outside the VM's directory"));
        const char *missing = "/tmp/vmk-no-such-file";
        c.files[0] = &missing; c.allowed_root = NULL;
        CHECK(vmk_jail_enter(&c, err, sizeof(err)) < 0 && strstr(err, "No such file"));
        c.dir = "/etc/hostname"; c.nfiles = 0;
        CHECK(vmk_jail_enter(&c, err, sizeof(err)) < 0 && strstr(err, "not a directory"));
    } else {
        CHECK(vmk_jail_enter(&c, err, sizeof(err)) < 0);
    }
    TEST_END();
    if (!root_ok()) { SKIP("jail: enter and inspect", "needs root"); return; }

    TEST_BEGIN("jail: PID 1, unprivileged, no capabilities, only its files, exit file written");
    char p0[160];
    snprintf(g_vmroot, sizeof(g_vmroot), "%s/files", g_dir);
    mkdir(g_vmroot, 0755);
    snprintf(g_file, sizeof(g_file), "%s/data.img", g_vmroot);
    mkdir(strcat(strcpy(g_file2, g_vmroot), "/sub"), 0755);
    strcat(g_file2, "/data.img");
    FILE *f = fopen(g_file, "w");
    if (f) { fputs("hello", f); fclose(f); }
    f = fopen(g_file2, "w");
    if (f) fclose(f);
    chown(g_file2, 65534, 65534);
    chmod(g_file, 0666);                                  /* only the read-only bind stops writes */
    /* links a previous (compromised) VMM could have planted in its root: the jail must not follow them */
    snprintf(p0, sizeof(p0), "%s/root", g_dir);
    mkdir(p0, 0700);
    snprintf(p0, sizeof(p0), "%s/root/dev", g_dir);
    CHECK(symlink("/etc", p0) == 0);
    snprintf(p0, sizeof(p0), "%s/root/data.img", g_dir);
    CHECK(symlink("/etc/hostname", p0) == 0);
    for (int i = 0; i < 40; i++) dup2(1, 3 + i);          /* inherited fds the jail must close */
    int st = in_child(jail_probe, NULL);
    for (int i = 0; i < 40; i++) close(3 + i);
    CHECK(exited0(st));
    char ex[64] = "", p[160];
    snprintf(p, sizeof(p), "%s/exit", g_dir);
    f = fopen(p, "r");
    if (f) { if (!fgets(ex, sizeof(ex), f)) ex[0] = 0; fclose(f); }
    CHECK(!strcmp(ex, "exited 0\n"));
    f = fopen(g_file2, "r");
    char names[256] = "", ms[32] = "";
    if (f) { if (!fgets(names, sizeof(names), f) || !fgets(ms, sizeof(ms), f)) names[0] = 0; fclose(f); }
    printf("  jailed root holds: %s", names);
    printf("  vmk_jail_enter took %.3f ms (to the jailed child's return)\n", atof(ms));
    for (const char *w = "data.img data.img-1 sub dev etc api.sock "; *w; ) {   /* same set, any order */
        char one[32];
        size_t n = strcspn(w, " ");
        snprintf(one, sizeof(one), " %.*s ", (int)n, w);
        char padded[260];
        snprintf(padded, sizeof(padded), " %s", names);
        if (!strstr(padded, one) && strcmp(one, " etc ")) { printf("  missing %s\n", one); CHECK(0); }
        w += n + 1;
    }
    struct stat sb;
    snprintf(p0, sizeof(p0), "%s/root/dev", g_dir);
    CHECK(lstat(p0, &sb) == 0 && S_ISDIR(sb.st_mode));       /* the planted link was replaced */
    snprintf(p, sizeof(p), "%s/root", g_dir);
    CHECK(stat(p, &sb) == 0 && sb.st_uid == 65534 && (sb.st_mode & 0777) == 0700);
    snprintf(p, sizeof(p), "%s/root/api.sock", g_dir);      /* the socket is visible from the host */
    CHECK(stat(p, &sb) == 0 && S_ISSOCK(sb.st_mode));
    TEST_END();

    TEST_BEGIN("jail: a forbidden syscall in the jail -> waiter's exit file says SIGSYS");
    st = in_child(jail_kill_probe, NULL);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGSYS);
    snprintf(p, sizeof(p), "%s/exit", g_dir);
    ex[0] = 0;
    f = fopen(p, "r");
    if (f) { if (!fgets(ex, sizeof(ex), f)) ex[0] = 0; fclose(f); }
    if (strcmp(ex, "signal 31 (SIGSYS)\n")) printf("  exit file: '%s'\n", ex);
    CHECK(!strcmp(ex, "signal 31 (SIGSYS)\n"));
    TEST_END();

    TEST_BEGIN("jail: SIGTERM to the waiter reaches the jailed process");
    st = in_child(jail_term_probe, NULL);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    TEST_END();

    TEST_BEGIN("jail: a stop request sent before the jailed process has its handler is repeated");
    st = in_child(jail_late_handler_probe, NULL);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    TEST_END();

    /* the cost of entering: N runs, the jailed child reports its time through the exit status */
    double tot = 0, mx = 0;
    int n = 0;
    for (int i = 0; i < 20; i++) {
        st = in_child(jail_time_probe, NULL);
        if (!WIFEXITED(st)) continue;
        double ms = WEXITSTATUS(st) / 10.0;
        tot += ms; n++;
        if (ms > mx) mx = ms;
    }
    if (n) printf("INFO vmk_jail_enter: mean %.1f ms, max %.1f ms over %d runs (2 files, to the jailed child's return)\n",
                  tot / n, mx, n);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) printf("  cannot remove %s\n", g_dir);
}

/* Test-only driver: `test_seccomp --boot DIR UID early|late [DISK] [APPEND]`: jails itself in DIR
 * (files: the default guest's kernel, initrd, firmware and DISK), installs "main", builds the VM
 * (console on stdio, user networking), installs "vcpu" (late: after the I/O thread started, as
 * vm.c should; early: before vmk_vm_run, where the hook falls back to "main") and runs it. */
static int boot_driver(int argc, char **argv)
{
    if (argc < 5) { fprintf(stderr, "usage: test_seccomp --boot DIR UID early|late [DISK] [APPEND]\n"); return 1; }
    const char *img = getenv("VMKIT_IMAGES") ? getenv("VMKIT_IMAGES") : "build/images";
    static char k[512], i[512], b[512], cmd[2048];
    snprintf(k, sizeof(k), "%s/Image", img);
    snprintf(i, sizeof(i), "%s/initramfs.cpio.gz", img);
    snprintf(b, sizeof(b), "%s/fw_dynamic.bin", img);
    snprintf(cmd, sizeof(cmd), "console=ttyS0 earlycon=sbi %s", argc > 6 ? argv[6] : "");
    vmk_vm_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.mem_size = 64ull << 20;
    cfg.ncpus = 1;
    cfg.kernel = k; cfg.initrd = i; cfg.bios = b; cfg.cmdline = cmd;
    cfg.console = getenv("VMKIT_DRIVER_CONSOLE") ? getenv("VMKIT_DRIVER_CONSOLE") : "stdio";
    cfg.nets[cfg.nnets++] = "user";
    if (argc > 5 && argv[5][0]) { cfg.disks[0].path = argv[5]; cfg.ndisks = 1; }
    vmk_jail_cfg j;
    memset(&j, 0, sizeof(j));
    j.dir = argv[2];
    j.uid = j.gid = (unsigned)atoi(argv[3]);
    j.files[0] = &cfg.kernel; j.files[1] = &cfg.initrd; j.files[2] = &cfg.bios;
    j.ro[0] = j.ro[1] = j.ro[2] = true;
    j.nfiles = 3;
    if (cfg.ndisks) { j.files[3] = &cfg.disks[0].path; j.nfiles = 4; }
    char err[256];
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (vmk_jail_enter(&j, err, sizeof(err)) < 0) { fprintf(stderr, "vmkit: %s\n", err); return 1; }
    fprintf(stderr, "driver: jail entered in %.3f ms\n", ms_since(&t0));
    vmk_thread_hook = vmk_jail_thread_hook;       /* the jail already installed "main" */
    vmk_vm *vm = vmk_vm_new(&cfg, err, sizeof(err));
    if (!vm) { fprintf(stderr, "vmkit: %s\n", err); return 1; }
    if (!strcmp(argv[4], "late")) vmk_loop_start(vm->loop);    /* what vm.c's vmk_vm_run does first */
    vmk_jail_thread_hook("vcpu");
    int st = vmk_vm_run(vm);
    vmk_vm_free(vm);
    return st;
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--boot")) return boot_driver(argc, argv);
    test_seccomp_lists();
    test_jail();
    TEST_EXIT();
}
