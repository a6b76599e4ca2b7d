/* jail.c — the per-VM jail (hv.h): validates the configuration, then new PID/IPC/UTS(/net)
 * namespaces, a waiter process outside that reports how the VMM ended, and in the VMM (PID 1 of the
 * new PID namespace) a private mount namespace whose root is <dir>/root holding only bind mounts of
 * the VM's files and a few /dev nodes, closed fds, no_new_privs, an unprivileged uid/gid and no
 * capabilities. The seccomp allowlists are in seccomp.c. */
#define _GNU_SOURCE
#include "hv.h"
#include "../base/base.h"
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Paths inside the jail handed back to the caller ("/<name>"): static, they live as long as the VMM. */
static char g_inside[VMK_JAIL_MAX_FILES][NAME_MAX + 2];

/* Names the jail itself uses at its root; a file with one of these names gets a suffix. */
static const char *const reserved[] = { "dev", "etc", "proc", "api.sock", "console.sock" };

static bool name_taken(const char *name, unsigned upto)
{
    for (size_t i = 0; i < sizeof(reserved) / sizeof(reserved[0]); i++)
        if (!strcmp(name, reserved[i])) return true;
    for (unsigned i = 0; i < upto; i++)
        if (!strcmp(name, g_inside[i] + 1)) return true;
    return false;
}

/* true when path (canonical) is root itself or below it (canonical). */
static bool path_within(const char *path, const char *root)
{
    size_t n = strlen(root);
    if (n == 1 && root[0] == '/') return true;
    return !strncmp(path, root, n) && (path[n] == 0 || path[n] == '/');
}

/* Can uid:gid (no supplementary groups) read / write this file, judging by its mode bits? */
static bool mode_allows(const struct stat *st, uid_t uid, gid_t gid, bool write)
{
    mode_t m = st->st_mode;
    mode_t want = write ? 2 : 4;
    if (S_ISDIR(st->st_mode)) want |= 1;
    if (st->st_uid == uid) return ((m >> 6) & want) == want;
    if (st->st_gid == gid) return ((m >> 3) & want) == want;
    return (m & want) == want;
}

/* ---------------- waiter (the parent, outside the PID namespace) ---------------- */

static volatile pid_t g_child;
static volatile sig_atomic_t g_stop_sig;

/* The VMM is PID 1 of its namespace: a signal it has no handler for yet (it is still starting) is
 * dropped, so a stop request is repeated every second until the VMM ends. */
static void forward_signal(int sig)
{
    if (sig != SIGALRM) g_stop_sig = sig;
    if (g_child > 0 && g_stop_sig) {
        kill(g_child, g_stop_sig);
        alarm(1);
    }
}

static void close_from(int lowest)
{
    if (syscall(SYS_close_range, (unsigned)lowest, ~0u, 0) != 0)
        for (int fd = lowest; fd < 1024; fd++) close(fd);
}

static void waiter(const char *dir, pid_t child, const sigset_t *mask)
{
    g_child = child;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    sigaction(SIGALRM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigprocmask(SIG_SETMASK, mask, NULL);
    close_from(3);                 /* the VMM's fds (an accepted API or migration socket) are its own */
    int status = 0;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR) { status = 1 << 8; break; }
    char line[96], path[PATH_MAX + 8], err[VMK_ERRLEN];
    int code;
    if (WIFSIGNALED(status)) {
        int sig = WTERMSIG(status);
        const char *abbrev = sigabbrev_np(sig);
        snprintf(line, sizeof(line), "signal %d (SIG%s)\n", sig, abbrev ? abbrev : "?");
        code = 128 + sig;
    } else {
        code = WEXITSTATUS(status);
        snprintf(line, sizeof(line), "exited %d\n", code);
    }
    snprintf(path, sizeof(path), "%s/exit", dir);
    if (vmk_write_file_atomic(path, line, strlen(line), err, sizeof(err)) < 0)
        fprintf(stderr, "vmkit: jail: cannot write %s: %s\n", path, err);
    _exit(code);
}

/* ---------------- the jailed child ---------------- */

static int cfail(char *err, size_t errlen, const char *what, const char *arg)
{
    vmk_seterr(err, errlen, "jail: %s%s%s: %s", what, arg ? " " : "", arg ? arg : "", strerror(errno));
    return -1;
}

/* An empty file or directory to mount over. One left by an earlier run is reused if it has the
 * right type; anything else there (a symlink or a file the VM's uid planted in its root, which it
 * owns) is removed first, so that no mount ever follows a link out of the jail directory. */
static int placeholder(const char *path, bool dir)
{
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode)) return 0;
        if (S_ISDIR(st.st_mode) ? rmdir(path) < 0 : unlink(path) < 0) return -1;
    }
    if (dir) return mkdir(path, 0755);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

/* Bind src onto dst (a placeholder), then apply flags (read-only, nosuid, nodev) to that mount. */
static int bind_one(const char *src, const char *dst, bool dir, unsigned long flags, char *err, size_t errlen)
{
    if (placeholder(dst, dir) < 0) return cfail(err, errlen, "cannot create", dst);
    if (mount(src, dst, NULL, MS_BIND, NULL) < 0) return cfail(err, errlen, "cannot bind-mount", src);
    if (mount(NULL, dst, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | flags, NULL) < 0)
        return cfail(err, errlen, "cannot remount", dst);
    return 0;
}

/* The files were opened (O_PATH) and checked when validating. A bind mount's source must be in the
 * caller's mount namespace, so the child opens each canonical path again in its new namespace,
 * makes sure it is the same inode that was checked, and binds that fd ("/proc/self/fd/N"): the
 * object mounted is the object checked, whatever happened to its path in between. */
static int g_pin[VMK_JAIL_MAX_FILES];

static int setup_mounts(const vmk_jail_cfg *cfg, const char *root, char real[][PATH_MAX], char *err, size_t errlen)
{
    char p[2 * PATH_MAX];
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) return cfail(err, errlen, "cannot make / private", NULL);
    if (mount(root, root, NULL, MS_BIND, NULL) < 0) return cfail(err, errlen, "cannot bind-mount", root);
    for (unsigned i = 0; i < cfg->nfiles; i++) {
        struct stat st, now;
        char src[64];
        int fd = open(real[i], O_PATH | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0 || fstat(fd, &now) < 0 || fstat(g_pin[i], &st) < 0) return cfail(err, errlen, "cannot open", real[i]);
        if (now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
            vmk_seterr(err, errlen, "jail: %s was replaced while the jail was being set up", real[i]);
            return -1;
        }
        snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
        snprintf(p, sizeof(p), "%s%.*s", root, NAME_MAX + 1, g_inside[i]);
        unsigned long fl = (cfg->ro[i] ? MS_RDONLY : 0) | (S_ISBLK(st.st_mode) ? 0 : MS_NODEV);
        if (bind_one(src, p, S_ISDIR(st.st_mode), fl, err, errlen) < 0) return -1;
        close(fd);
        close(g_pin[i]);
    }
    /* /dev: a small tmpfs with fresh nodes (the VM's own ones owned by it, so that a host node's
     * root-only mode does not matter); a bind of the host's node where mknod is not permitted */
    snprintf(p, sizeof(p), "%s/dev", root);
    if (placeholder(p, true) < 0) return cfail(err, errlen, "cannot create", p);
    if (mount("tmpfs", p, "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=32") < 0)
        return cfail(err, errlen, "cannot mount a tmpfs on", p);
    static const struct { const char *path; bool own; } devs[] = {
        { "/dev/null", false }, { "/dev/urandom", false }, { "/dev/kvm", true }, { "/dev/net/tun", true } };
    for (size_t i = 0; i < sizeof(devs) / sizeof(devs[0]); i++) {
        if ((i == 2 && !cfg->need_kvm) || (i == 3 && !cfg->need_tun)) continue;
        struct stat st;
        if (stat(devs[i].path, &st) < 0 || !S_ISCHR(st.st_mode)) return cfail(err, errlen, "no device", devs[i].path);
        if (i == 3) {
            snprintf(p, sizeof(p), "%s/dev/net", root);
            if (placeholder(p, true) < 0) return cfail(err, errlen, "cannot create", p);
        }
        snprintf(p, sizeof(p), "%s%s", root, devs[i].path);
        mode_t mode = devs[i].own ? 0600 : 0666;
        if (mknod(p, S_IFCHR | mode, st.st_rdev) == 0) {
            if (chmod(p, mode) < 0 || (devs[i].own && chown(p, cfg->uid, cfg->gid) < 0))
                return cfail(err, errlen, "cannot set up", p);
        } else if (bind_one(devs[i].path, p, false, 0, err, errlen) < 0) {
            return -1;
        }
    }
    snprintf(p, sizeof(p), "%s/dev", root);
    if (mount(NULL, p, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k,nr_inodes=32") < 0)
        return cfail(err, errlen, "cannot make read-only", p);
    /* libslirp forwards the guest's DNS queries to the host's resolvers (host network only) */
    if (!cfg->new_netns && access("/etc/resolv.conf", R_OK) == 0) {
        char real_rc[PATH_MAX];
        if (realpath("/etc/resolv.conf", real_rc)) {
            snprintf(p, sizeof(p), "%s/etc", root);
            if (placeholder(p, true) < 0) return cfail(err, errlen, "cannot create", p);
            snprintf(p, sizeof(p), "%s/etc/resolv.conf", root);
            if (bind_one(real_rc, p, false, MS_RDONLY | MS_NODEV | MS_NOEXEC, err, errlen) < 0) return -1;
        }
    }
    if (mount(NULL, root, NULL, MS_BIND | MS_REMOUNT | MS_NOSUID | MS_NODEV, NULL) < 0)
        return cfail(err, errlen, "cannot remount", root);
    if (chdir(root) < 0) return cfail(err, errlen, "cannot enter", root);
    if (syscall(SYS_pivot_root, ".", ".") < 0) return cfail(err, errlen, "pivot_root into", root);
    if (umount2(".", MNT_DETACH) < 0) return cfail(err, errlen, "cannot detach the old root", NULL);
    if (chdir("/") < 0) return cfail(err, errlen, "chdir /", NULL);
    return 0;
}

static void close_fds(const vmk_jail_cfg *cfg)
{
    int keep[10];
    unsigned n = 0;
    for (unsigned i = 0; i < cfg->nkeep && i < 8; i++)
        if (cfg->keep_fds[i] > 2) keep[n++] = cfg->keep_fds[i];
    for (unsigned i = 1; i < n; i++)           /* insertion sort: at most 8 */
        for (unsigned j = i; j > 0 && keep[j - 1] > keep[j]; j--) { int t = keep[j]; keep[j] = keep[j - 1]; keep[j - 1] = t; }
    int from = 3;
    for (unsigned i = 0; i < n; i++) {
        if (keep[i] > from) syscall(SYS_close_range, (unsigned)from, (unsigned)keep[i] - 1, 0);
        if (keep[i] + 1 > from) from = keep[i] + 1;
    }
    close_from(from);
}

static int drop_privileges(uid_t uid, gid_t gid, char *err, size_t errlen)
{
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return cfail(err, errlen, "no_new_privs", NULL);
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return cfail(err, errlen, "cannot drop a capability from the bounding set", NULL);
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) return cfail(err, errlen, "clear ambient caps", NULL);
    if (setgroups(0, NULL) < 0) return cfail(err, errlen, "setgroups", NULL);
    if (setresgid(gid, gid, gid) < 0) return cfail(err, errlen, "setresgid", NULL);
    if (setresuid(uid, uid, uid) < 0) return cfail(err, errlen, "setresuid", NULL);
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof(d));
    if (syscall(SYS_capset, &h, d) < 0) return cfail(err, errlen, "capset", NULL);
    /* verify: nothing to regain */
    uid_t r, e, s;
    gid_t gr, ge, gs;
    if (getresuid(&r, &e, &s) < 0 || r != uid || e != uid || s != uid ||
        getresgid(&gr, &ge, &gs) < 0 || gr != gid || ge != gid || gs != gid) {
        vmk_seterr(err, errlen, "jail: the uid/gid switch did not take");
        return -1;
    }
    memset(d, 0xff, sizeof(d));
    if (syscall(SYS_capget, &h, d) < 0 || d[0].effective || d[0].permitted || d[0].inheritable ||
        d[1].effective || d[1].permitted || d[1].inheritable || prctl(PR_CAPBSET_READ, 0, 0, 0, 0) != 0) {
        vmk_seterr(err, errlen, "jail: capabilities are still held after dropping them");
        return -1;
    }
    /* the VMM dies with its waiter (after the credential change, which clears this setting); other
     * processes of the same uid (other VMs' VMMs) may not ptrace it or read its /proc files */
    prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
    prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
    return 0;
}

static int unpin(unsigned n)
{
    for (unsigned i = 0; i < n; i++) close(g_pin[i]);
    return -1;
}

int vmk_jail_enter(vmk_jail_cfg *cfg, char *err, size_t errlen)
{
    static char real[VMK_JAIL_MAX_FILES][PATH_MAX];
    char dir[PATH_MAX], root[PATH_MAX + 8], aroot[PATH_MAX];
    struct stat st;

    if (geteuid() != 0) {
        vmk_seterr(err, errlen, "the jail needs root (it creates namespaces and switches to --uid/--gid)");
        return -1;
    }
    if (!cfg->dir || cfg->dir[0] != '/') {
        vmk_seterr(err, errlen, "jail directory '%s' is not an absolute path", cfg->dir ? cfg->dir : "");
        return -1;
    }
    if (!realpath(cfg->dir, dir) || stat(dir, &st) < 0) {
        vmk_seterr(err, errlen, "jail directory %s: %s", cfg->dir, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        vmk_seterr(err, errlen, "jail directory %s is not a directory", cfg->dir);
        return -1;
    }
    if (cfg->uid == 0 || cfg->gid == 0 || cfg->uid == (uid_t)-1 || cfg->gid == (gid_t)-1) {
        vmk_seterr(err, errlen, "the jail needs an unprivileged uid and gid (not 0): got %u:%u",
                   (unsigned)cfg->uid, (unsigned)cfg->gid);
        return -1;
    }
    if (cfg->nfiles > VMK_JAIL_MAX_FILES) {
        vmk_seterr(err, errlen, "jail: too many files (%u, at most %d)", cfg->nfiles, VMK_JAIL_MAX_FILES);
        return -1;
    }
    if (cfg->allowed_root && !realpath(cfg->allowed_root, aroot)) {
        vmk_seterr(err, errlen, "jail root %s: %s", cfg->allowed_root, strerror(errno));
        return -1;
    }
    for (unsigned i = 0; i < cfg->nfiles; i++) {
        const char *f = *cfg->files[i];
        if (!f || !*f) { vmk_seterr(err, errlen, "jail: file %u has an empty path", i); return unpin(i); }
        char link[64];
        ssize_t n;
        if ((g_pin[i] = open(f, O_PATH | O_CLOEXEC)) < 0) {
            vmk_seterr(err, errlen, "%s: %s", f, strerror(errno));
            return unpin(i);
        }
        snprintf(link, sizeof(link), "/proc/self/fd/%d", g_pin[i]);
        if ((n = readlink(link, real[i], PATH_MAX - 1)) <= 0 || real[i][0] != '/') {
            vmk_seterr(err, errlen, "%s: cannot resolve its path (is /proc mounted?)", f);
            return unpin(i + 1);
        }
        real[i][n] = 0;
        if (cfg->allowed_root && !path_within(real[i], aroot)) {
            vmk_seterr(err, errlen, "drive path %s is outside the VM's directory %s", f, cfg->allowed_root);
            return unpin(i + 1);
        }
        if (fstat(g_pin[i], &st) < 0) { vmk_seterr(err, errlen, "%s: %s", f, strerror(errno)); return unpin(i + 1); }
        if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode) && !S_ISBLK(st.st_mode)) {
            vmk_seterr(err, errlen, "%s is not a file, directory or block device", f);
            return unpin(i + 1);
        }
        if (!mode_allows(&st, cfg->uid, cfg->gid, !cfg->ro[i])) {
            vmk_seterr(err, errlen, "%s is not %s by uid %u gid %u (the VMM runs as them: chown or chmod it)",
                       f, cfg->ro[i] ? "readable" : "readable and writable", (unsigned)cfg->uid, (unsigned)cfg->gid);
            return unpin(i + 1);
        }
        /* "/<basename>", unique */
        const char *base = strrchr(real[i], '/');
        base = base && base[1] ? base + 1 : "file";
        snprintf(g_inside[i], sizeof(g_inside[i]), "/%s", base);
        for (unsigned k = 1; name_taken(g_inside[i] + 1, i); k++) {
            char b[NAME_MAX + 1];
            snprintf(b, sizeof(b), "%.*s-%u", NAME_MAX - 12, base, k);
            snprintf(g_inside[i], sizeof(g_inside[i]), "/%s", b);
        }
    }
    for (unsigned i = 0; i < cfg->nkeep && i < 8; i++)
        if (fcntl(cfg->keep_fds[i], F_GETFD) < 0) {
            vmk_seterr(err, errlen, "jail: fd %d to keep is not open", cfg->keep_fds[i]);
            return unpin(cfg->nfiles);
        }
    if (cfg->need_kvm && access("/dev/kvm", R_OK | W_OK) != 0) {
        vmk_seterr(err, errlen, "/dev/kvm: %s", strerror(errno));
        return unpin(cfg->nfiles);
    }
    if (cfg->need_tun && access("/dev/net/tun", R_OK | W_OK) != 0) {
        vmk_seterr(err, errlen, "/dev/net/tun: %s", strerror(errno));
        return unpin(cfg->nfiles);
    }
    /* <dir>/root: a real directory (not a symlink), owned by uid:gid, mode 0700 */
    snprintf(root, sizeof(root), "%s/root", dir);
    if (mkdir(root, 0700) < 0 && errno != EEXIST) { vmk_seterr(err, errlen, "cannot create %s: %s", root, strerror(errno)); return unpin(cfg->nfiles); }
    int rfd = open(root, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (rfd < 0) {
        vmk_seterr(err, errlen, "%s exists and is not a directory", root);
        return unpin(cfg->nfiles);
    }
    if (fchown(rfd, cfg->uid, cfg->gid) < 0 || fchmod(rfd, 0700) < 0) {
        vmk_seterr(err, errlen, "cannot give %s to %u:%u: %s", root, (unsigned)cfg->uid, (unsigned)cfg->gid, strerror(errno));
        close(rfd);
        return unpin(cfg->nfiles);
    }
    close(rfd);
    char exitpath[PATH_MAX + 8];
    snprintf(exitpath, sizeof(exitpath), "%s/exit", dir);
    unlink(exitpath);                 /* a stale one from a previous run would be misleading */

    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    fflush(NULL);
    int flags = CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | (cfg->new_netns ? CLONE_NEWNET : 0);
    if (unshare(flags) < 0) {
        vmk_seterr(err, errlen, "cannot create the jail's namespaces: %s", strerror(errno));
        return unpin(cfg->nfiles);
    }
    /* a stop signal arriving around the fork must find the waiter's handlers, not kill it */
    sigset_t stop, old;
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGHUP);
    sigprocmask(SIG_BLOCK, &stop, &old);
    pid_t pid = fork();
    if (pid < 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        vmk_seterr(err, errlen, "jail: fork: %s", strerror(errno));
        return unpin(cfg->nfiles);
    }
    if (pid > 0) waiter(dir, pid, &old);    /* never returns */
    sigprocmask(SIG_SETMASK, &old, NULL);

    /* the VMM: PID 1 of the new PID namespace. From here on a failure ends it with status 1. */
    char e[VMK_ERRLEN];
    if (unshare(CLONE_NEWNS) < 0) { cfail(e, sizeof(e), "cannot create the mount namespace", NULL); goto die; }
    if (sethostname("vmkit", 5) < 0) { cfail(e, sizeof(e), "sethostname", NULL); goto die; }
    if (setup_mounts(cfg, root, real, e, sizeof(e)) < 0) goto die;
    close_fds(cfg);
    if (drop_privileges(cfg->uid, cfg->gid, e, sizeof(e)) < 0) goto die;
    for (unsigned i = 0; i < cfg->nfiles; i++) *cfg->files[i] = g_inside[i];
    /* every thread the VMM creates from now on inherits the "main" allowlist */
    vmk_jail_set_engine(cfg->need_kvm);
    if (vmk_seccomp_install("main", cfg->need_kvm, e, sizeof(e)) < 0) goto die;
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    vmk_info("jail: entered %s as %u:%u in %.2f ms (namespaces, fork, mounts, privileges, seccomp)", root,
             (unsigned)cfg->uid, (unsigned)cfg->gid, (t1.tv_sec - t0.tv_sec) * 1e3 + (t1.tv_nsec - t0.tv_nsec) / 1e6);
    return 0;
die:
    fprintf(stderr, "vmkit: %s\n", e);
    _exit(1);
}

void vmk_jail_test_forbidden_syscall(void)
{
    syscall(SYS_ptrace, PTRACE_TRACEME, 0, 0, 0);
}
