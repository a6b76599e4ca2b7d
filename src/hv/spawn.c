/* spawn.c — process plumbing for the daemon: starting a VMM detached from the daemon (own session,
 * its cgroup joined before exec, output to vmm.log, fds closed) behind a small waiter process that
 * records how it ended in <vmdir>/exit, pid start times (so a recycled pid is never adopted),
 * pidfds, and exit-status formatting. */
#include "spawn.h"
#include "../base/base.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

uint64_t hv_proc_start(int pid)
{
    if (pid <= 0) return 0;
    char p[64], buf[1024];
    snprintf(p, sizeof(p), "/proc/%d/stat", pid);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) return 0;
    buf[n] = 0;
    char *s = strrchr(buf, ')');
    if (!s) return 0;
    s++;
    /* fields from 3 (state) on; starttime is field 22 */
    for (int field = 3; field < 22; field++) {
        s = strchr(s + 1, ' ');
        if (!s) return 0;
    }
    if (s[1] == 'Z') return 0;
    return strtoull(s + 1, NULL, 10);
}

bool hv_proc_is(int pid, uint64_t start)
{
    return pid > 0 && start && hv_proc_start(pid) == start;
}

int hv_pidfd_open(int pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

/* async-signal-safe decimal */
static char *utoa(unsigned v, char *end)
{
    *--end = 0;
    do { *--end = (char)('0' + v % 10); v /= 10; } while (v);
    return end;
}

static size_t put(char *dst, size_t off, size_t cap, const char *s)
{
    while (*s && off + 1 < cap) dst[off++] = *s++;
    dst[off] = 0;
    return off;
}

void hv_format_status(int st, char *out, size_t n)
{
    char num[16];
    size_t o = 0;
    out[0] = 0;
    if (WIFEXITED(st)) {
        o = put(out, o, n, "exited ");
        put(out, o, n, utoa((unsigned)WEXITSTATUS(st), num + sizeof(num)));
    } else if (WIFSIGNALED(st)) {
        int sig = WTERMSIG(st);
        o = put(out, o, n, "signal ");
        o = put(out, o, n, utoa((unsigned)sig, num + sizeof(num)));
        o = put(out, o, n, " (SIG");
        const char *abbr = sigabbrev_np(sig);
        o = put(out, o, n, abbr ? abbr : "?");
        put(out, o, n, ")");
    } else {
        put(out, o, n, "ended");
    }
}

static void write_all(int fd, const char *s, size_t n)
{
    while (n) {
        ssize_t w = write(fd, s, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;
        s += w;
        n -= (size_t)w;
    }
}

/* The waiter: forwards nothing, waits for the VMM, writes exit_path atomically, exits alike. */
static _Noreturn void waiter(int vmm, const char *exit_path, const char *exit_tmp)
{
    int st = 0;
    while (waitpid(vmm, &st, 0) < 0 && errno == EINTR) {}
    char line[96];
    hv_format_status(st, line, sizeof(line) - 1);
    size_t len = strlen(line);
    line[len++] = '\n';
    int fd = open(exit_tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        write_all(fd, line, len);
        fsync(fd);
        close(fd);
        rename(exit_tmp, exit_path);
    }
    _exit(WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0));
}

int hv_spawn(const hv_spawn_req *r, int *pid_out, int *vmm_pid_out, char *err, size_t errlen)
{
    int pfd[2] = { -1, -1 };
    if (r->waiter && pipe2(pfd, O_CLOEXEC) != 0) {
        vmk_seterr(err, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    int logfd = open(r->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    int nullfd = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (logfd < 0 || nullfd < 0) {
        vmk_seterr(err, errlen, "cannot open %s: %s", r->log_path, strerror(errno));
        goto fail;
    }
    pid_t pid = fork();
    if (pid < 0) {
        vmk_seterr(err, errlen, "fork: %s", strerror(errno));
        goto fail;
    }
    if (pid == 0) {
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < NSIG; s++) if (s != SIGKILL && s != SIGSTOP) signal(s, SIG_DFL);
        setsid();
        for (unsigned i = 0; i < r->ncg; i++) {
            int fd = open(r->cg_procs[i], O_WRONLY | O_CLOEXEC);
            if (fd >= 0) { write_all(fd, "0", 1); close(fd); }
        }
        if (chdir(r->cwd) != 0) _exit(126);
        dup2(nullfd, 0);
        dup2(logfd, 1);
        dup2(logfd, 2);
        /* fd 3: the passed fd (if any); fd 4: the pid pipe to the daemon (waiter only) */
        int hp = r->waiter ? fcntl(pfd[1], F_DUPFD, 100) : -1;
        int hs = r->pass_fd >= 0 ? fcntl(r->pass_fd, F_DUPFD, 100) : -1;
        if (hs >= 0) dup2(hs, 3); else close(3);
        if (hp >= 0) dup2(hp, 4); else close(4);
        close_range(5, ~0u, 0);
        if (r->waiter) {
            pid_t vmm = fork();
            if (vmm < 0) _exit(125);
            if (vmm == 0) {
                close(4);
                execve(r->exe, r->argv, r->envp);
                write_all(2, "vmkit: cannot execute the VMM\n", 30);
                _exit(127);
            }
            close(3);
            int v = vmm;
            write_all(4, (const char *)&v, sizeof(v));
            close(4);
            if (r->title && r->title_len > 1) {     /* so that `pgrep -f "vmkit serve"` finds only the daemon */
                memset(r->title, 0, r->title_len);
                size_t o = put(r->title, 0, r->title_len, "vmkit-waiter ");
                put(r->title, o, r->title_len, r->name ? r->name : "");
            }
            signal(SIGHUP, SIG_IGN);
            signal(SIGINT, SIG_IGN);
            signal(SIGTERM, SIG_IGN);
            waiter(vmm, r->exit_path, r->exit_tmp);
        }
        execve(r->exe, r->argv, r->envp);
        write_all(2, "vmkit: cannot execute the VMM\n", 30);
        _exit(127);
    }
    close(logfd);
    close(nullfd);
    logfd = nullfd = -1;
    *pid_out = pid;
    *vmm_pid_out = pid;
    if (r->waiter) {
        close(pfd[1]);
        pfd[1] = -1;
        int v = 0;
        struct pollfd p = { .fd = pfd[0], .events = POLLIN };
        if (poll(&p, 1, 5000) == 1 && read(pfd[0], &v, sizeof(v)) == (ssize_t)sizeof(v) && v > 0) *vmm_pid_out = v;
        close(pfd[0]);
    }
    return 0;
fail:
    if (pfd[0] >= 0) close(pfd[0]);
    if (pfd[1] >= 0) close(pfd[1]);
    if (logfd >= 0) close(logfd);
    if (nullfd >= 0) close(nullfd);
    return -1;
}
