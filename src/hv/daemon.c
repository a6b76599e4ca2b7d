/* daemon.c — `vmkit serve`: the hypervisor daemon. REST/JSON API on a unix socket (mode 0600), VM
 * definitions and runtime state in SQLite (registry.c), one VMM process per VM started detached
 * (spawn.c) in its own cgroup (cgroup.c), supervised through pidfds by one thread, re-adopted after
 * a daemon restart, admission control against the host's CPUs and memory. The daemon never kills
 * VMMs when it exits.
 *
 * API (JSON; errors are 4xx/5xx with {"error": "<one line>"}):
 *   GET    /host                      capacity, reservations, overcommit ratios, cgroup base
 *   GET    /vms                       [{name, engine, state, vcpus, mem_mib, uptime_s, reason?}]
 *   POST   /vms                       create (definition: hv.h hv_def) -> 201 + the VM
 *   GET    /vms/NAME                  the VM: state, reason, config, pids, sockets, logs, cgroup figures
 *   DELETE /vms/NAME[?force=1]        remove (force: kill it first)
 *   POST   /vms/NAME/start            admission, spawn, wait for the VMM's API -> running
 *   POST   /vms/NAME/stop {"timeout"} SendCtrlAltDel (guest powers off), SIGKILL after timeout (10 s)
 *   POST   /vms/NAME/kill             SIGKILL now
 *   POST   /vms/NAME/pause|resume     PATCH /vm on the VMM
 *   GET    /vms/NAME/stats            VMM stats (GET /vmkit/stats) + cgroup limits/usage + host RSS
 *   GET    /vms/NAME/logs?offset=N[&vmm=1]  console output (or the VMM's log) from byte N, text
 *   POST   /vms/NAME/snapshot {"dir", "diff", "leave_paused"}
 *   POST   /vms/restore {"dir", "name"}, POST /vms/clone {"dir", "count", "prefix"}
 *   POST   /vms/NAME/migrate {"destination": "HOST:PORT", "max_rounds", "copy_disks"}
 *   GET    /vms/NAME/migration        the VMM's migration progress
 * States: created starting running paused stopping stopped crashed migrating migrated incoming.
 * Files: <state-dir>/vmkit.db, daemon.pid, daemon.log (detached), daemon.lock, vms/NAME/{vmm.log,
 * exit, root/{api.sock, console.sock, console.log}}. */
#include "hv.h"
#include "spawn.h"
#include "../base/base.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <ftw.h>
#include <netdb.h>
#include <sys/socket.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define OVERHEAD_MIB 32u               /* reserved per VM on top of guest RAM: measured VMM RSS outside
                                          guest RAM ~25 MiB (booted 64 MiB busybox guest, bench/hv/README.md) */
#define STOP_TIMEOUT_S 10
#define START_TIMEOUT_MS 20000

typedef struct vm {
    hv_def def;
    hv_rt rt;
    char dir[PATH_MAX / 2];            /* <state-dir>/vms/<name> */
    int pidfd;                         /* -1 when no VMM */
    bool stop_req, kill_req, cg_pending;
    uint64_t kill_at;                  /* monotonic ns: SIGKILL when reached (stop timeout) */
    unsigned busy;                     /* snapshot/migrate in progress */
    struct vm *next;
} vm;

static struct {
    const char *sock, *state_dir, *images_root;
    char exe[PATH_MAX];
    double oc_cpu, oc_mem;
    bool jail;
    unsigned uid, gid;
    hv_db *db;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    vm *vms;
    int evfd;
    unsigned host_cpus;
    uint64_t host_mem;
    bool quit;
    bool vmm_api;                      /* the VMM has --api-sock (else: console socket, SIGTERM to stop) */
    char **envp;
    char cg_base[32];                  /* cgroup subtree of this daemon's VMs */
    char *title;                       /* the process's argv area (reused as the waiters' titles) */
    size_t title_len;
} D = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .evfd = -1 };

static const char *const active_states[] = { "starting", "running", "paused", "stopping", "migrating", "incoming", NULL };
static bool is_active(const vm *v)
{
    for (int i = 0; active_states[i]; i++) if (!strcmp(v->rt.state, active_states[i])) return true;
    return false;
}

static vm *find(const char *name)
{
    for (vm *v = D.vms; v; v = v->next) if (!strcmp(v->def.name, name)) return v;
    return NULL;
}

static void path_in(const vm *v, const char *rel, char *out, size_t n) { snprintf(out, n, "%s/%s", v->dir, rel); }

static void wake_supervisor(void)
{
    uint64_t one = 1;
    if (write(D.evfd, &one, sizeof(one)) < 0) {}
}

static void persist(vm *v)        /* lock held */
{
    char err[VMK_ERRLEN];
    if (hv_db_set_rt(D.db, v->def.name, &v->rt, err, sizeof(err)) < 0) vmk_error("%s: %s", v->def.name, err);
}

static void set_state(vm *v, const char *st)
{
    snprintf(v->rt.state, sizeof(v->rt.state), "%s", st);
    persist(v);
    pthread_cond_broadcast(&D.cond);
}

/* ---------------- JSON responses ---------------- */
static void reply_json(vmk_http_resp *resp, int status, cJSON *j)
{
    resp->status = status;
    resp->body = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
}

static void reply_err(vmk_http_resp *resp, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void reply_err(vmk_http_resp *resp, int status, const char *fmt, ...)
{
    char msg[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "error", msg);
    reply_json(resp, status, j);
}

static cJSON *vm_json(const vm *v, bool full)   /* lock held */
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", v->def.name);
    cJSON_AddStringToObject(j, "engine", v->def.engine);
    cJSON_AddStringToObject(j, "state", v->rt.state);
    cJSON_AddNumberToObject(j, "vcpus", v->def.vcpus);
    cJSON_AddNumberToObject(j, "mem_mib", (double)v->def.mem_mib);
    int64_t up = v->rt.pid && v->rt.started_at ? (int64_t)time(NULL) - v->rt.started_at : 0;
    cJSON_AddNumberToObject(j, "uptime_s", (double)(up > 0 ? up : 0));
    if (v->rt.reason[0]) cJSON_AddStringToObject(j, "reason", v->rt.reason);
    if (!full) return j;
    cJSON_AddItemToObject(j, "config", hv_def_to_json(&v->def));
    cJSON_AddNumberToObject(j, "pid", v->rt.pid);
    cJSON_AddNumberToObject(j, "vmm_pid", v->rt.vmm_pid);
    cJSON_AddNumberToObject(j, "started_at", (double)v->rt.started_at);
    cJSON_AddBoolToObject(j, "jailed", v->rt.jailed);
    char p[PATH_MAX];
    cJSON_AddStringToObject(j, "dir", v->dir);
    path_in(v, "root/api.sock", p, sizeof(p));
    cJSON_AddStringToObject(j, "api_sock", p);
    path_in(v, "root/console.sock", p, sizeof(p));
    cJSON_AddStringToObject(j, "console_sock", p);
    path_in(v, "root/console.log", p, sizeof(p));
    cJSON_AddStringToObject(j, "console_log", p);
    path_in(v, "vmm.log", p, sizeof(p));
    cJSON_AddStringToObject(j, "vmm_log", p);
    if (v->rt.pid) hv_cg_report(v->def.name, j);
    return j;
}

/* ---------------- admission ---------------- */
static void fmt_mib(uint64_t mib, char *out, size_t n)
{
    if (mib >= 10240) snprintf(out, n, "%.1f GiB", (double)mib / 1024.0);
    else snprintf(out, n, "%llu MiB", (unsigned long long)mib);
}

static void capacity(double *cpus, uint64_t *mem_mib, double *used_cpus, uint64_t *used_mib)   /* lock held */
{
    *cpus = D.host_cpus * D.oc_cpu;
    *mem_mib = (uint64_t)((double)(D.host_mem >> 20) * D.oc_mem);
    *used_cpus = 0;
    *used_mib = 0;
    for (vm *v = D.vms; v; v = v->next)
        if (is_active(v)) {
            *used_cpus += v->def.vcpus;
            *used_mib += v->def.mem_mib + OVERHEAD_MIB;
        }
}

/* 0 when def fits; else -1 with the message. lock held. */
static int admit(const hv_def *d, char *err, size_t errlen)
{
    double cpus, used_cpus;
    uint64_t mem, used;
    capacity(&cpus, &mem, &used_cpus, &used);
    uint64_t need = d->mem_mib + OVERHEAD_MIB;
    double free_cpus = cpus - used_cpus;
    uint64_t free_mib = mem > used ? mem - used : 0;
    if (d->vcpus <= free_cpus + 1e-9 && need <= free_mib) return 0;
    char a[32], b[32];
    fmt_mib(need, a, sizeof(a));
    fmt_mib(free_mib, b, sizeof(b));
    double fc = free_cpus < 0 ? 0 : free_cpus;
    char oc[24], om[24];
    snprintf(oc, sizeof(oc), D.oc_cpu == (int)D.oc_cpu ? "%.1f" : "%g", D.oc_cpu);
    snprintf(om, sizeof(om), D.oc_mem == (int)D.oc_mem ? "%.1f" : "%g", D.oc_mem);
    vmk_seterr(err, errlen, "cannot start %s: needs %u vCPU%s and %s; free: %g vCPU%s and %s (overcommit cpu %s, mem %s)",
               d->name, d->vcpus, d->vcpus == 1 ? "" : "s", a, fc, fc == 1 ? "" : "s", b, oc, om);
    return -1;
}

/* ---------------- VMM processes ---------------- */
static void read_exit_file(const vm *v, char *out, size_t n)
{
    char p[PATH_MAX];
    path_in(v, "exit", p, sizeof(p));
    out[0] = 0;
    FILE *f = fopen(p, "re");
    if (!f) return;
    if (fgets(out, (int)n, f)) out[strcspn(out, "\n")] = 0;
    fclose(f);
}

static void last_log_line(const vm *v, char *out, size_t n)
{
    char p[PATH_MAX];
    path_in(v, "vmm.log", p, sizeof(p));
    out[0] = 0;
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    char buf[1024];
    off_t end = lseek(fd, 0, SEEK_END);
    off_t start = end > (off_t)sizeof(buf) - 1 ? end - (off_t)sizeof(buf) + 1 : 0;
    ssize_t r = pread(fd, buf, sizeof(buf) - 1, start);
    close(fd);
    if (r <= 0) return;
    buf[r] = 0;
    while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == '\r')) buf[--r] = 0;
    char *line = strrchr(buf, '\n');
    line = line ? line + 1 : buf;
    size_t l = strlen(line);
    if (l >= n) l = n - 1;
    memcpy(out, line, l);
    out[l] = 0;
}

static void kill_all(vm *v, int sig)   /* lock held */
{
    if (v->rt.vmm_pid && hv_proc_is(v->rt.vmm_pid, v->rt.vmm_start)) kill(v->rt.vmm_pid, sig);
    if (sig == SIGKILL) {
        int pids[256];
        unsigned n = hv_cg_pids(v->def.name, pids, 256);
        for (unsigned i = 0; i < n; i++)
            if (pids[i] != v->rt.pid || v->rt.jailed) kill(pids[i], SIGKILL);
    }
}

static void cleanup_files(vm *v)
{
    char p[PATH_MAX];
    path_in(v, "root/api.sock", p, sizeof(p));
    unlink(p);
    path_in(v, "root/console.sock", p, sizeof(p));
    unlink(p);
}

static void try_remove_cgroup(vm *v)
{
    int pids[64];
    unsigned n = hv_cg_pids(v->def.name, pids, 64);
    for (unsigned i = 0; i < n; i++) kill(pids[i], SIGKILL);
    v->cg_pending = hv_cg_remove(v->def.name) != 0;
}

/* The supervised process ended: decide stopped / crashed and why. lock held. */
static void on_exit_vm(vm *v)
{
    int st = 0;
    char status[96] = "", reason[256];
    bool got = v->rt.pid > 0 && waitpid(v->rt.pid, &st, WNOHANG) == v->rt.pid;
    read_exit_file(v, status, sizeof(status));
    if (!status[0] && got) hv_format_status(st, status, sizeof(status));
    if (!status[0]) snprintf(status, sizeof(status), "ended (status unknown)");
    bool clean = !strcmp(status, "exited 0");
    const char *next;
    if (v->kill_req) {
        next = "stopped";
        snprintf(reason, sizeof(reason), "killed (%s)", status);
    } else if (v->stop_req) {
        next = "stopped";
        snprintf(reason, sizeof(reason), clean ? "stopped: guest powered off" : "stopped: forced (%s)", status);
    } else if (!strcmp(v->rt.state, "migrating") && clean) {
        next = "migrated";
        snprintf(reason, sizeof(reason), "migrated to another host");
    } else if (clean) {
        next = "stopped";
        snprintf(reason, sizeof(reason), "guest powered off");
    } else {
        char last[200];
        last_log_line(v, last, sizeof(last));
        next = "crashed";
        if (last[0] && strncmp(status, "signal", 6)) snprintf(reason, sizeof(reason), "VMM %.60s: %.180s", status, last);
        else snprintf(reason, sizeof(reason), "VMM %s", status);
    }
    vmk_log(!strcmp(next, "crashed") ? VMK_LOG_WARN : VMK_LOG_INFO, "%s: %s (%s)", v->def.name, next, reason);
    if (v->pidfd >= 0) close(v->pidfd);
    v->pidfd = -1;
    v->rt.pid = v->rt.vmm_pid = 0;
    v->rt.pid_start = v->rt.vmm_start = 0;
    snprintf(v->rt.reason, sizeof(v->rt.reason), "%s", reason);
    v->stop_req = v->kill_req = false;
    v->kill_at = 0;
    cleanup_files(v);
    try_remove_cgroup(v);
    set_state(v, next);
}

static void *supervisor_main(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        pthread_mutex_lock(&D.lock);
        if (D.quit) { pthread_mutex_unlock(&D.lock); break; }
        unsigned n = 1;
        for (vm *v = D.vms; v; v = v->next) if (v->pidfd >= 0) n++;
        struct pollfd *pf = vmk_xcalloc(n, sizeof(*pf));
        pf[0].fd = D.evfd;
        pf[0].events = POLLIN;
        n = 1;
        int timeout = -1;
        uint64_t now = vmk_now_ns();
        for (vm *v = D.vms; v; v = v->next) {
            if (v->pidfd >= 0) { pf[n].fd = v->pidfd; pf[n++].events = POLLIN; }
            if (v->kill_at) {
                int ms = v->kill_at > now ? (int)((v->kill_at - now) / 1000000) + 1 : 0;
                if (timeout < 0 || ms < timeout) timeout = ms;
            }
            if (v->cg_pending && (timeout < 0 || timeout > 200)) timeout = 200;
        }
        pthread_mutex_unlock(&D.lock);
        poll(pf, n, timeout);
        if (pf[0].revents & POLLIN) {
            uint64_t x;
            if (read(D.evfd, &x, sizeof(x)) < 0) {}
        }
        free(pf);
        pthread_mutex_lock(&D.lock);
        now = vmk_now_ns();
        for (vm *v = D.vms; v; v = v->next) {
            if (v->pidfd >= 0) {
                struct pollfd p = { .fd = v->pidfd, .events = POLLIN };
                if (poll(&p, 1, 0) == 1) { on_exit_vm(v); continue; }
            }
            if (v->kill_at && now >= v->kill_at) {
                vmk_info("%s: stop timeout: killing the VMM", v->def.name);
                v->kill_at = 0;
                kill_all(v, SIGKILL);
            }
            if (v->cg_pending && !v->rt.pid) try_remove_cgroup(v);
        }
        pthread_mutex_unlock(&D.lock);
    }
    return NULL;
}

static void push_arg(char ***argv, unsigned *n, const char *s)
{
    *argv = realloc(*argv, (*n + 2) * sizeof(char *));
    if (!*argv) abort();
    (*argv)[(*n)++] = vmk_xstrdup(s);
    (*argv)[*n] = NULL;
}

static void free_argv(char **argv)
{
    if (!argv) return;
    for (char **a = argv; *a; a++) free(*a);
    free(argv);
}

/* extra: "--restore DIR" etc. (NULL-terminated pairs or singles). Starts the VMM; lock held. */
static int spawn_vmm(vm *v, const char *const *extra, bool boot_opts, const char *initial, int pass_fd,
                     char *err, size_t errlen)
{
    char root[PATH_MAX], p[PATH_MAX], buf[64];
    path_in(v, "root", root, sizeof(root));
    mkdir(v->dir, 0700);
    mkdir(root, 0711);
    hv_cg_limits lim = { .cpu_limit = v->def.cpu_limit, .cpu_weight = v->def.cpu_weight,
                         .mem_max = (v->def.mem_mib + OVERHEAD_MIB) << 20,
                         .pids_max = v->def.pids_max ? v->def.pids_max : 256 };
    hv_spawn_req r = { .exe = D.exe, .cwd = root, .envp = D.envp, .pass_fd = pass_fd };
    if (hv_cg_available()) {
        if (hv_cg_create(v->def.name, &lim, err, errlen) < 0) return -1;
        r.ncg = hv_cg_procs_paths(v->def.name, r.cg_procs, 4);
    }
    if (D.jail && D.images_root) {     /* writable disks inside the images root become the VMM's */
        char rr[PATH_MAX], rp[PATH_MAX];
        if (realpath(D.images_root, rr))
            for (unsigned i = 0; i < v->def.ndisks; i++) {
                size_t l = strlen(rr);
                if (v->def.disk_ro[i] || !realpath(v->def.disks[i], rp) || strncmp(rp, rr, l) || (l > 1 && rp[l] != '/')) continue;
                if (chown(rp, D.uid, D.gid) < 0) vmk_warn("%s: cannot chown disk %s to %u:%u: %s", v->def.name, rp, D.uid, D.gid, strerror(errno));
            }
    }
    char **argv = NULL;
    unsigned n = 0;
    push_arg(&argv, &n, "vmkit");
    push_arg(&argv, &n, "run");
    if (D.vmm_api) {
        push_arg(&argv, &n, "--name");
        push_arg(&argv, &n, v->def.name);
        path_in(v, "root/api.sock", p, sizeof(p));
        push_arg(&argv, &n, "--api-sock");
        push_arg(&argv, &n, p);
    }
    char con[PATH_MAX + 64];
    snprintf(con, sizeof(con), "socket=%s/root/console.sock,log=console.log", v->dir);
    push_arg(&argv, &n, "--console");
    push_arg(&argv, &n, con);
    if (boot_opts) {
        if (D.vmm_api) push_arg(&argv, &n, "--start");
        if (strcmp(v->def.engine, "riscv64")) { push_arg(&argv, &n, "--arch"); push_arg(&argv, &n, v->def.engine); }
        snprintf(buf, sizeof(buf), "%lluM", (unsigned long long)v->def.mem_mib);
        push_arg(&argv, &n, "--mem");
        push_arg(&argv, &n, buf);
        snprintf(buf, sizeof(buf), "%u", v->def.vcpus);
        push_arg(&argv, &n, "--cpus");
        push_arg(&argv, &n, buf);
        const char *opt[] = { "--kernel", "--initrd", "--bios", "--cmdline", "--append" };
        const char *val[] = { v->def.kernel, v->def.initrd, v->def.bios, v->def.cmdline, v->def.append };
        for (int i = 0; i < 5; i++) if (val[i]) { push_arg(&argv, &n, opt[i]); push_arg(&argv, &n, val[i]); }
        for (unsigned i = 0; i < v->def.ndisks; i++) {
            snprintf(p, sizeof(p), "%s%s", v->def.disks[i], v->def.disk_ro[i] ? ",ro" : "");
            push_arg(&argv, &n, "--disk");
            push_arg(&argv, &n, p);
        }
        if (!v->def.nnets) { push_arg(&argv, &n, "--net"); push_arg(&argv, &n, "none"); }
        for (unsigned i = 0; i < v->def.nnets; i++) { push_arg(&argv, &n, "--net"); push_arg(&argv, &n, v->def.nets[i]); }
    }
    for (unsigned i = 0; extra && extra[i]; i++) push_arg(&argv, &n, extra[i]);
    if (!boot_opts) {        /* restore / incoming: the definition's disks replace the recorded paths */
        for (unsigned i = 0; i < v->def.ndisks; i++) {
            snprintf(p, sizeof(p), "%s%s", v->def.disks[i], v->def.disk_ro[i] ? ",ro" : "");
            push_arg(&argv, &n, "--disk");
            push_arg(&argv, &n, p);
        }
        if (!D.jail && D.images_root && pass_fd >= 0) { push_arg(&argv, &n, "--allowed-root"); push_arg(&argv, &n, D.images_root); }
    }
    if (D.jail) {
        push_arg(&argv, &n, "--jail");
        push_arg(&argv, &n, v->dir);
        snprintf(buf, sizeof(buf), "%u", D.uid);
        push_arg(&argv, &n, "--uid");
        push_arg(&argv, &n, buf);
        snprintf(buf, sizeof(buf), "%u", D.gid);
        push_arg(&argv, &n, "--gid");
        push_arg(&argv, &n, buf);
        if (D.images_root) { push_arg(&argv, &n, "--jail-root"); push_arg(&argv, &n, D.images_root); }
    }
    r.argv = argv;
    char logp[PATH_MAX], exitp[PATH_MAX], exitt[PATH_MAX];
    path_in(v, "vmm.log", logp, sizeof(logp));
    path_in(v, "exit", exitp, sizeof(exitp));
    path_in(v, "exit.tmp", exitt, sizeof(exitt));
    unlink(exitp);
    path_in(v, "root/console.log", p, sizeof(p));
    unlink(p);
    cleanup_files(v);
    r.log_path = logp;
    r.exit_path = exitp;
    r.exit_tmp = exitt;
    r.waiter = !D.jail;
    r.title = D.title;
    r.title_len = D.title_len;
    r.name = v->def.name;          /* the jail has its own waiter writing <dir>/exit */
    int pid, vmm;
    int rc = hv_spawn(&r, &pid, &vmm, err, errlen);
    free_argv(argv);
    if (rc < 0) { hv_cg_remove(v->def.name); return -1; }
    v->pidfd = hv_pidfd_open(pid);
    v->rt.pid = pid;
    v->rt.pid_start = hv_proc_start(pid);
    v->rt.vmm_pid = vmm;
    v->rt.vmm_start = hv_proc_start(vmm);
    v->rt.started_at = time(NULL);
    v->rt.jailed = D.jail;
    v->rt.reason[0] = 0;
    v->stop_req = v->kill_req = false;
    v->kill_at = 0;
    if (v->pidfd < 0) vmk_error("%s: pidfd_open: %s", v->def.name, strerror(errno));
    set_state(v, initial);
    wake_supervisor();
    return 0;
}

/* After spawn_vmm: waits (lock released) for the VMM's API, then marks it running. lock held on
 * entry and exit. Returns 0, or -1 with err (the VM crashed or did not answer). */
static int wait_api_ready(vm *v, const char *want_state, char *err, size_t errlen)
{
    bool need_running = !strcmp(v->rt.state, "incoming");
    char name[HV_NAME_MAX + 1], api[PATH_MAX];
    snprintf(name, sizeof(name), "%s", v->def.name);
    path_in(v, D.vmm_api ? "root/api.sock" : "root/console.sock", api, sizeof(api));
    uint64_t deadline = vmk_now_ns() + (uint64_t)(need_running ? 1800000 : START_TIMEOUT_MS) * 1000000u;
    for (;;) {
        pthread_mutex_unlock(&D.lock);
        char e[VMK_ERRLEN];
        char *body = NULL;
        int st = access(api, F_OK) != 0 ? -1 : !D.vmm_api ? 200
               : vmk_http_call_unix(api, "GET", "/", NULL, &body, 2000, e, sizeof(e));
        if (st == 200 && need_running && (!body || !strstr(body, "\"Running\""))) st = -1;
        free(body);
        if (st != 200) usleep(need_running ? 20000 : 2000);
        pthread_mutex_lock(&D.lock);
        v = find(name);
        if (!v) { vmk_seterr(err, errlen, "%s was removed while starting", name); return -1; }
        if (strcmp(v->rt.state, "starting") && strcmp(v->rt.state, "incoming")) {
            vmk_seterr(err, errlen, "%s %s while starting: %s", name, v->rt.state, v->rt.reason);
            return -1;
        }
        if (st == 200) { set_state(v, want_state); return 0; }
        if (vmk_now_ns() > deadline) {
            vmk_seterr(err, errlen, "%s: the VMM did not answer on %s within %d s", name, api, START_TIMEOUT_MS / 1000);
            v->kill_req = true;
            kill_all(v, SIGKILL);
            return -1;
        }
    }
}

/* Waits until name's state is none of the given (lock held), up to ms. */
static void wait_not_state(const char *name, const char *s1, const char *s2, unsigned ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) { ts.tv_sec++; ts.tv_nsec -= 1000000000L; }
    for (;;) {
        vm *v = find(name);
        if (!v || (strcmp(v->rt.state, s1) && (!s2 || strcmp(v->rt.state, s2)))) return;
        if (pthread_cond_timedwait(&D.cond, &D.lock, &ts) == ETIMEDOUT) return;
    }
}

/* ---------------- handlers (lock held) ---------------- */
static cJSON *parse_body(const vmk_http_req *req, vmk_http_resp *resp, bool required)
{
    if (!req->body_len) {
        if (required) reply_err(resp, 400, "missing JSON body");
        return required ? NULL : cJSON_CreateObject();
    }
    cJSON *j = cJSON_ParseWithLength(req->body, req->body_len);
    if (!j) {
        const char *at = cJSON_GetErrorPtr();
        long off = at && at >= req->body && at <= req->body + req->body_len ? (long)(at - req->body) : -1;
        reply_err(resp, 400, "malformed JSON body (near byte %ld)", off);
        return NULL;
    }
    if (!cJSON_IsObject(j)) {
        cJSON_Delete(j);
        reply_err(resp, 400, "the JSON body must be an object");
        return NULL;
    }
    return j;
}

/* Checks that every key of j is in allowed (NULL-terminated). */
static bool only_fields(cJSON *j, const char *const *allowed, vmk_http_resp *resp)
{
    for (cJSON *it = j->child; it; it = it->next) {
        bool ok = false;
        for (int i = 0; allowed[i]; i++) if (!strcmp(it->string, allowed[i])) ok = true;
        if (!ok) { reply_err(resp, 400, "unknown field '%s'", it->string); return false; }
    }
    return true;
}

static void add_vm(const hv_def *d, const hv_rt *rt)    /* lock held; takes d */
{
    vm *v = vmk_xcalloc(1, sizeof(*v));
    v->def = *d;
    v->rt = *rt;
    v->pidfd = -1;
    snprintf(v->dir, sizeof(v->dir), "%s/vms/%s", D.state_dir, d->name);
    vm **pp = &D.vms;
    while (*pp) pp = &(*pp)->next;
    *pp = v;
}

/* The VM's sockets (<state>/vms/NAME/root/console.sock) must fit a unix socket path. */
static bool name_fits(const char *name)
{
    return strlen(D.state_dir) + strlen(name) + sizeof("/vms//root/console.sock") <= 108;
}

static void h_create(const vmk_http_req *req, vmk_http_resp *resp)
{
    cJSON *j = parse_body(req, resp, true);
    if (!j) return;
    hv_def d;
    char err[VMK_ERRLEN];
    int rc = hv_def_from_json(j, &d, D.images_root, err, sizeof(err));
    cJSON_Delete(j);
    if (rc < 0) { reply_err(resp, 400, "%s", err); return; }
    if (!name_fits(d.name)) {
        reply_err(resp, 400, "VM name '%s' is too long for socket paths under %s", d.name, D.state_dir);
        hv_def_free(&d);
        return;
    }
    if (find(d.name)) {
        reply_err(resp, 409, "a VM named '%s' already exists", d.name);
        hv_def_free(&d);
        return;
    }
    hv_rt rt = { .state = "created" };
    if (hv_db_insert(D.db, &d, &rt, err, sizeof(err)) < 0) {
        reply_err(resp, strstr(err, "already exists") ? 409 : 500, "%s", err);
        hv_def_free(&d);
        return;
    }
    add_vm(&d, &rt);
    vm *v = find(d.name);
    char root[PATH_MAX];
    mkdir(v->dir, 0700);
    path_in(v, "root", root, sizeof(root));
    mkdir(root, 0711);
    reply_json(resp, 201, vm_json(v, true));
}

static void h_start(vm *v, vmk_http_resp *resp)
{
    if (is_active(v)) { reply_err(resp, 409, "%s is already %s", v->def.name, v->rt.state); return; }
    if (!strcmp(v->rt.state, "migrated")) { reply_err(resp, 409, "%s was migrated away", v->def.name); return; }
    char err[VMK_ERRLEN];
    if (admit(&v->def, err, sizeof(err)) < 0) { reply_err(resp, 409, "%s", err); return; }
    if (spawn_vmm(v, NULL, true, "starting", -1, err, sizeof(err)) < 0) {
        reply_err(resp, 500, "cannot start %s: %s", v->def.name, err);
        return;
    }
    char name[HV_NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", v->def.name);
    if (wait_api_ready(v, "running", err, sizeof(err)) < 0) { reply_err(resp, 500, "%s", err); return; }
    v = find(name);
    reply_json(resp, 200, vm_json(v, true));
}

static int vmm_call(vm **vp, const char *method, const char *path, const char *body, char **out, int tmo_ms,
                    char *err, size_t errlen)   /* lock held; released during the call */
{
    char name[HV_NAME_MAX + 1], api[PATH_MAX];
    snprintf(name, sizeof(name), "%s", (*vp)->def.name);
    path_in(*vp, "root/api.sock", api, sizeof(api));
    (*vp)->busy++;
    pthread_mutex_unlock(&D.lock);
    int st = vmk_http_call_unix(api, method, path, body, out, tmo_ms, err, errlen);
    pthread_mutex_lock(&D.lock);
    *vp = find(name);
    if (*vp) (*vp)->busy--;
    return st;
}

static const char *fault_of(const char *body)    /* the message of a VMM error body (static buffer) */
{
    static __thread char msg[300];
    cJSON *j = body ? cJSON_Parse(body) : NULL;
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "fault_message");
    snprintf(msg, sizeof(msg), "%s", cJSON_IsString(m) ? m->valuestring : body ? body : "no answer");
    cJSON_Delete(j);
    return msg;
}

static void h_stop(vm *v, const vmk_http_req *req, vmk_http_resp *resp)
{
    static const char *const allowed[] = { "timeout", NULL };
    cJSON *j = parse_body(req, resp, false);
    if (!j) return;
    if (!only_fields(j, allowed, resp)) { cJSON_Delete(j); return; }
    double tmo = STOP_TIMEOUT_S;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "timeout");
    if (t && (!cJSON_IsNumber(t) || t->valuedouble < 0 || t->valuedouble > 3600)) {
        cJSON_Delete(j);
        reply_err(resp, 400, "field 'timeout' must be a number of seconds between 0 and 3600");
        return;
    }
    if (t) tmo = t->valuedouble;
    cJSON_Delete(j);
    if (strcmp(v->rt.state, "running") && strcmp(v->rt.state, "paused") && strcmp(v->rt.state, "starting") &&
        strcmp(v->rt.state, "migrating")) {
        reply_err(resp, 409, "%s is %s, not running", v->def.name, v->rt.state);
        return;
    }
    char name[HV_NAME_MAX + 1], err[VMK_ERRLEN];
    snprintf(name, sizeof(name), "%s", v->def.name);
    bool was_paused = !strcmp(v->rt.state, "paused");
    v->stop_req = true;
    v->kill_at = vmk_now_ns() + (uint64_t)(tmo * 1e9);
    set_state(v, "stopping");
    wake_supervisor();
    if (was_paused) vmm_call(&v, "PATCH", "/vm", "{\"state\":\"Resumed\"}", NULL, 2000, err, sizeof(err));
    if (v) {
        int st = vmm_call(&v, "PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}", NULL, 2000, err, sizeof(err));
        if (v && st != 204 && v->rt.vmm_pid && hv_proc_is(v->rt.vmm_pid, v->rt.vmm_start)) {
            vmk_info("%s: SendCtrlAltDel failed (%s): SIGTERM", name, st < 0 ? err : "refused");
            kill(v->rt.vmm_pid, SIGTERM);
        }
    }
    wait_not_state(name, "stopping", NULL, (unsigned)(tmo * 1000) + 10000);
    v = find(name);
    if (!v) { reply_err(resp, 404, "%s was removed", name); return; }
    reply_json(resp, 200, vm_json(v, true));
}

static void h_kill(vm *v, vmk_http_resp *resp)
{
    if (!v->rt.pid) { reply_err(resp, 409, "%s is %s, not running", v->def.name, v->rt.state); return; }
    char name[HV_NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", v->def.name);
    v->kill_req = true;
    if (strcmp(v->rt.state, "stopping")) set_state(v, "stopping");
    kill_all(v, SIGKILL);
    wait_not_state(name, "stopping", NULL, 10000);
    v = find(name);
    if (!v) { reply_err(resp, 404, "%s was removed", name); return; }
    reply_json(resp, 200, vm_json(v, true));
}

static void h_pause(vm *v, vmk_http_resp *resp, bool pause)
{
    const char *need = pause ? "running" : "paused";
    if (strcmp(v->rt.state, need)) {
        reply_err(resp, 409, "cannot %s %s: it is %s", pause ? "pause" : "resume", v->def.name, v->rt.state);
        return;
    }
    char err[VMK_ERRLEN], *body = NULL;
    int st = vmm_call(&v, "PATCH", "/vm", pause ? "{\"state\":\"Paused\"}" : "{\"state\":\"Resumed\"}", &body, 5000,
                      err, sizeof(err));
    if (!v) { free(body); reply_err(resp, 404, "the VM was removed"); return; }
    if (st != 204 && st != 200) {
        reply_err(resp, st < 0 ? 502 : 409, "the VMM of %s refused: %s", v->def.name, st < 0 ? err : fault_of(body));
        free(body);
        return;
    }
    free(body);
    if (!strcmp(v->rt.state, need)) set_state(v, pause ? "paused" : "running");
    reply_json(resp, 200, vm_json(v, true));
}

static uint64_t proc_field_u64(int pid, const char *file, const char *key)
{
    char p[64], line[256];
    snprintf(p, sizeof(p), "/proc/%d/%s", pid, file);
    FILE *f = fopen(p, "re");
    if (!f) return 0;
    uint64_t v = 0;
    size_t kl = strlen(key);
    while (fgets(line, sizeof(line), f))
        if (!strncmp(line, key, kl)) { v = strtoull(line + kl, NULL, 10); break; }
    fclose(f);
    return v;
}

static void h_stats(vm *v, vmk_http_resp *resp)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", v->def.name);
    cJSON_AddStringToObject(j, "state", v->rt.state);
    if (!v->rt.pid) { reply_json(resp, 200, j); return; }
    int vmm = v->rt.vmm_pid;
    if (v->rt.jailed) {           /* the VMM proper is the jail waiter's child (PID 1 of its namespace) */
        char p[96];
        snprintf(p, sizeof(p), "/proc/%d/task/%d/children", vmm, vmm);
        FILE *f = fopen(p, "re");
        int c;
        if (f && fscanf(f, "%d", &c) == 1) vmm = c;
        if (f) fclose(f);
    }
    hv_cg_report(v->def.name, j);
    cJSON_AddNumberToObject(j, "vmm_process_pid", vmm);     /* jailed: the waiter's child, not the waiter */
    cJSON_AddNumberToObject(j, "vmm_rss_bytes", (double)proc_field_u64(vmm, "status", "VmRSS:") * 1024.0);
    char err[VMK_ERRLEN], *body = NULL;
    int st = vmm_call(&v, "GET", "/vmkit/stats", NULL, &body, 3000, err, sizeof(err));
    cJSON *vs = st == 200 && body ? cJSON_Parse(body) : NULL;
    free(body);
    cJSON *rss = cJSON_GetObjectItemCaseSensitive(vs, "rss_bytes");
    if (cJSON_IsNumber(rss) && rss->valuedouble == 0)       /* a jailed VMM cannot read its own /proc */
        cJSON_SetNumberValue(rss, cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(j, "vmm_rss_bytes")));
    if (vs) cJSON_AddItemToObject(j, "vmm", vs);
    else cJSON_AddStringToObject(j, "vmm_error", st < 0 ? err : "the VMM did not report stats");
    reply_json(resp, 200, j);
}

static void h_logs(vm *v, const vmk_http_req *req, vmk_http_resp *resp)
{
    unsigned long long off = 0;
    bool vmmlog = false;
    char q[128];
    snprintf(q, sizeof(q), "%s", req->query);
    for (char *tok = strtok(q, "&"); tok; tok = strtok(NULL, "&")) {
        char *end;
        if (!strncmp(tok, "offset=", 7)) {
            off = strtoull(tok + 7, &end, 10);
            if (end == tok + 7 || *end) { reply_err(resp, 400, "offset must be a number"); return; }
        } else if (!strcmp(tok, "vmm=1")) vmmlog = true;
        else { reply_err(resp, 400, "unknown query parameter '%s' (offset=N, vmm=1)", tok); return; }
    }
    char p[PATH_MAX];
    path_in(v, vmmlog ? "vmm.log" : "root/console.log", p, sizeof(p));
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    size_t cap = 1u << 20;
    char *buf = vmk_xmalloc(cap + 1);
    ssize_t n = fd >= 0 ? pread(fd, buf, cap, (off_t)off) : 0;
    if (fd >= 0) close(fd);
    if (n < 0) n = 0;
    for (ssize_t i = 0; i < n; i++) if (!buf[i]) buf[i] = '?';
    buf[n] = 0;
    resp->status = 200;
    resp->body = buf;
    resp->content_type = "text/plain; charset=utf-8";
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st; (void)ftw;
    if (flag == FTW_DP || flag == FTW_D) rmdir(path);
    else unlink(path);
    return 0;
}

static void h_delete(vm *v, const vmk_http_req *req, vmk_http_resp *resp)
{
    bool force = strstr(req->query, "force=1") != NULL;
    char name[HV_NAME_MAX + 1], err[VMK_ERRLEN];
    snprintf(name, sizeof(name), "%s", v->def.name);
    if (v->rt.pid || is_active(v)) {
        if (!force) { reply_err(resp, 409, "%s is %s: stop it first (or force)", name, v->rt.state); return; }
        v->kill_req = true;
        kill_all(v, SIGKILL);
        for (int i = 0; i < 100 && (v = find(name)) && v->rt.pid; i++) {
            char st[16];
            snprintf(st, sizeof(st), "%s", v->rt.state);
            wait_not_state(name, st, NULL, 100);
        }
        v = find(name);
        if (!v) { reply_err(resp, 404, "no VM named '%s'", name); return; }
        if (v->rt.pid) { reply_err(resp, 500, "%s: the VMM did not die", name); return; }
    }
    if (v->busy) { reply_err(resp, 409, "%s is busy", name); return; }
    if (hv_db_delete(D.db, name, err, sizeof(err)) < 0) { reply_err(resp, 500, "%s", err); return; }
    for (vm **pp = &D.vms; *pp; pp = &(*pp)->next)
        if (*pp == v) { *pp = v->next; break; }
    try_remove_cgroup(v);
    for (int i = 0; i < 50 && v->cg_pending; i++) {     /* processes still dying: the VM record goes now */
        usleep(20000);
        try_remove_cgroup(v);
    }
    if (v->cg_pending) vmk_warn("%s: its cgroup could not be removed yet", name);
    /* remove the VM's directory (jail placeholders included; a mount point, were one visible here,
     * cannot be unlinked, so nothing outside is touched) */
    if (nftw(v->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT) != 0 && errno != ENOENT)
        vmk_warn("%s: %s not fully removed (%s)", name, v->dir, strerror(errno));
    hv_def_free(&v->def);
    free(v);
    pthread_cond_broadcast(&D.cond);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "deleted", name);
    reply_json(resp, 200, j);
}

static void h_host(vmk_http_resp *resp)
{
    double cpus, used_cpus;
    uint64_t mem, used;
    capacity(&cpus, &mem, &used_cpus, &used);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "host_cpus", D.host_cpus);
    cJSON_AddNumberToObject(j, "host_mem_mib", (double)(D.host_mem >> 20));
    cJSON_AddNumberToObject(j, "overcommit_cpu", D.oc_cpu);
    cJSON_AddNumberToObject(j, "overcommit_mem", D.oc_mem);
    cJSON_AddNumberToObject(j, "capacity_vcpus", cpus);
    cJSON_AddNumberToObject(j, "capacity_mem_mib", (double)mem);
    cJSON_AddNumberToObject(j, "reserved_vcpus", used_cpus);
    cJSON_AddNumberToObject(j, "reserved_mem_mib", (double)used);
    cJSON_AddNumberToObject(j, "overhead_mib_per_vm", OVERHEAD_MIB);
    unsigned n = 0, act = 0;
    for (vm *v = D.vms; v; v = v->next) { n++; act += is_active(v); }
    cJSON_AddNumberToObject(j, "vms", n);
    cJSON_AddNumberToObject(j, "vms_active", act);
    cJSON_AddBoolToObject(j, "jail", D.jail);
    cJSON_AddBoolToObject(j, "cgroups", hv_cg_available());
    cJSON_AddStringToObject(j, "cgroup_base", D.cg_base);
    reply_json(resp, 200, j);
}

/* Moves a flat directory of regular files (a snapshot) to dst: rename, or copy + fsync across
 * filesystems. dst must not exist. */
static int move_dir(const char *src, const char *dst, char *err, size_t errlen)
{
    if (rename(src, dst) == 0) return 0;
    if (errno != EXDEV) { vmk_seterr(err, errlen, "rename: %s", strerror(errno)); return -1; }
    if (mkdir(dst, 0700) != 0) { vmk_seterr(err, errlen, "mkdir %s: %s", dst, strerror(errno)); return -1; }
    DIR *d = opendir(src);
    if (!d) { vmk_seterr(err, errlen, "%s: %s", src, strerror(errno)); return -1; }
    struct dirent *e;
    int rc = 0;
    while (rc == 0 && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char a[PATH_MAX], b[PATH_MAX];
        snprintf(a, sizeof(a), "%.3000s/%.255s", src, e->d_name);
        snprintf(b, sizeof(b), "%.3000s/%.255s", dst, e->d_name);
        int in = open(a, O_RDONLY | O_CLOEXEC), out = open(b, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        struct stat st;
        if (in < 0 || out < 0 || fstat(in, &st) != 0 || !S_ISREG(st.st_mode)) rc = -1;
        bool plain = false;                 /* copy_file_range refuses some filesystem pairs */
        static char buf[1 << 16];
        for (off_t left = rc == 0 ? st.st_size : 0; rc == 0 && left > 0; ) {
            ssize_t n = plain ? -1 : copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
            if (n < 0 && !plain && (errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP)) {
                plain = true;
                continue;
            }
            if (plain) {
                n = read(in, buf, left < (off_t)sizeof(buf) ? (size_t)left : sizeof(buf));
                if (n > 0 && write(out, buf, (size_t)n) != n) n = -1;
            }
            if (n <= 0) rc = -1;
            else left -= n;
        }
        if (rc == 0 && fsync(out) != 0) rc = -1;
        if (rc < 0) vmk_seterr(err, errlen, "copying %s: %s", a, strerror(errno));
        if (in >= 0) close(in);
        if (out >= 0) close(out);
    }
    closedir(d);
    if (rc == 0) nftw(src, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    return rc;
}

/* POST /vms/NAME/snapshot {"dir", "diff", "leave_paused"}: pause, PUT /snapshot/create, resume.
 * The definition is saved next to the snapshot (definition.json) for restore/clone. */
static void h_snapshot(vm *v, const vmk_http_req *req, vmk_http_resp *resp)
{
    static const char *const allowed[] = { "dir", "diff", "leave_paused", NULL };
    cJSON *j = parse_body(req, resp, true);
    if (!j) return;
    if (!only_fields(j, allowed, resp)) { cJSON_Delete(j); return; }
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(j, "dir"), *diff = cJSON_GetObjectItemCaseSensitive(j, "diff"),
                *lp = cJSON_GetObjectItemCaseSensitive(j, "leave_paused");
    if (!cJSON_IsString(dir) || dir->valuestring[0] != '/' || strstr(dir->valuestring, "/..") ||
        (diff && !cJSON_IsBool(diff)) || (lp && !cJSON_IsBool(lp))) {
        cJSON_Delete(j);
        reply_err(resp, 400, "snapshot needs {\"dir\": absolute path without '..', \"diff\": bool, \"leave_paused\": bool}");
        return;
    }
    if (strcmp(v->rt.state, "running") && strcmp(v->rt.state, "paused")) {
        cJSON_Delete(j);
        reply_err(resp, 409, "cannot snapshot %s: it is %s", v->def.name, v->rt.state);
        return;
    }
    if (v->busy) { cJSON_Delete(j); reply_err(resp, 409, "%s is busy", v->def.name); return; }
    char sdir[PATH_MAX], err[VMK_ERRLEN], *body = NULL, tmp[PATH_MAX];
    snprintf(sdir, sizeof(sdir), "%s", dir->valuestring);
    bool was_paused = !strcmp(v->rt.state, "paused"), leave = cJSON_IsTrue(lp), isdiff = cJSON_IsTrue(diff);
    cJSON_Delete(j);
    bool jailed = v->rt.jailed;
    if (jailed) {
        /* the jailed VMM sees only its root: it writes <vmdir>/root/.snapshot, moved to DIR afterwards */
        struct stat st;
        if (lstat(sdir, &st) == 0) { reply_err(resp, 409, "snapshot directory %s already exists", sdir); return; }
        path_in(v, "root/.snapshot", tmp, sizeof(tmp));
        nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
    }
    cJSON *def = hv_def_to_json(&v->def);
    char *defs = cJSON_Print(def);
    cJSON_Delete(def);
    int st = 204;
    if (!was_paused) st = vmm_call(&v, "PATCH", "/vm", "{\"state\":\"Paused\"}", &body, 5000, err, sizeof(err));
    if (v && st == 204) {
        free(body);
        body = NULL;
        cJSON *rq = cJSON_CreateObject();
        cJSON_AddStringToObject(rq, "snapshot_type", isdiff ? "Diff" : "Full");
        cJSON_AddStringToObject(rq, "snapshot_path", jailed ? "/.snapshot" : sdir);
        if (jailed) cJSON_AddStringToObject(rq, "vmkit_record_as", sdir);   /* a later diff's parent */
        char *rqs = cJSON_PrintUnformatted(rq);
        cJSON_Delete(rq);
        st = vmm_call(&v, "PUT", "/snapshot/create", rqs, &body, 600000, err, sizeof(err));
        free(rqs);
    }
    if (v && !was_paused && !leave) {
        char e2[VMK_ERRLEN];
        vmm_call(&v, "PATCH", "/vm", "{\"state\":\"Resumed\"}", NULL, 5000, e2, sizeof(e2));
    }
    if (!v) { free(body); free(defs); reply_err(resp, 404, "the VM was removed"); return; }
    if ((st == 204 || st == 200) && jailed && move_dir(tmp, sdir, err, sizeof(err)) < 0) {
        reply_err(resp, 500, "snapshot of %s written but not moved to %s: %s", v->def.name, sdir, err);
    } else if (st != 204 && st != 200) {
        reply_err(resp, st < 0 ? 502 : 400, "snapshot of %s failed: %s", v->def.name, st < 0 ? err : fault_of(body));
    } else {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof(p), "%s/definition.json", sdir);
        if (vmk_write_file_atomic(p, defs, strlen(defs), err, sizeof(err)) < 0) vmk_warn("%s", err);
        if (leave && !was_paused && !strcmp(v->rt.state, "running")) set_state(v, "paused");
        reply_json(resp, 200, vm_json(v, true));
    }
    free(body);
    free(defs);
}

/* POST /vms/restore {"dir", "name"} and POST /vms/clone {"dir", "count", "prefix"}: new VMs whose
 * VMM restores the snapshot (`vmkit run --restore DIR [--clone-dir VMDIR --clone-index I]`). */
static void h_restore(const vmk_http_req *req, vmk_http_resp *resp, bool clone)
{
    static const char *const allowed_r[] = { "dir", "name", NULL }, *const allowed_c[] = { "dir", "count", "prefix", NULL };
    cJSON *j = parse_body(req, resp, true);
    if (!j) return;
    if (!only_fields(j, clone ? allowed_c : allowed_r, resp)) { cJSON_Delete(j); return; }
    const cJSON *dir = cJSON_GetObjectItemCaseSensitive(j, "dir");
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(j, clone ? "prefix" : "name");
    const cJSON *cnt = cJSON_GetObjectItemCaseSensitive(j, "count");
    char sdir[PATH_MAX], base[HV_NAME_MAX + 1] = "", err[VMK_ERRLEN];
    if (!cJSON_IsString(dir) || dir->valuestring[0] != '/' || strstr(dir->valuestring, "/..") ||
        strlen(dir->valuestring) >= sizeof(sdir) - 32 || (nm && !cJSON_IsString(nm)) ||
        (clone && (!cJSON_IsNumber(cnt) || cnt->valuedouble < 1 || cnt->valuedouble > 64 ||
                   cnt->valuedouble != (int)cnt->valuedouble))) {
        cJSON_Delete(j);
        reply_err(resp, 400, clone ? "clone needs {\"dir\": absolute path, \"count\": 1..64, \"prefix\": name}"
                                   : "restore needs {\"dir\": absolute path, \"name\": name}");
        return;
    }
    snprintf(sdir, sizeof(sdir), "%s", dir->valuestring);
    if (nm) snprintf(base, sizeof(base), "%.50s", nm->valuestring);
    int count = clone ? (int)cnt->valuedouble : 1;
    cJSON_Delete(j);
    char p[PATH_MAX + 32];
    snprintf(p, sizeof(p), "%s/definition.json", sdir);
    size_t len;
    uint8_t *txt = vmk_read_file(p, 65536, &len, err, sizeof(err));
    if (!txt) { reply_err(resp, 400, "%s is not a snapshot taken through the daemon: %s", sdir, err); return; }
    cJSON *defj = cJSON_ParseWithLength((const char *)txt, len);
    free(txt);
    if (!cJSON_IsObject(defj)) { cJSON_Delete(defj); reply_err(resp, 400, "%s: malformed definition.json", p); return; }
    const cJSON *on = cJSON_GetObjectItemCaseSensitive(defj, "name");
    if (!base[0]) snprintf(base, sizeof(base), "%.50s", cJSON_IsString(on) ? on->valuestring : "vm");
    cJSON *out = cJSON_CreateArray();
    int status = 200;
    for (int i = 0; i < count; i++) {
        char name[HV_NAME_MAX + 1];
        if (clone) snprintf(name, sizeof(name), "%.50s-%d", base, i);
        else snprintf(name, sizeof(name), "%s", base);
        cJSON_ReplaceItemInObjectCaseSensitive(defj, "name", cJSON_CreateString(name));
        cJSON_DeleteItemFromObjectCaseSensitive(defj, "created_at");
        hv_def d;
        if (hv_def_from_json(defj, &d, D.images_root, err, sizeof(err)) < 0) { status = 400; break; }
        if (find(name)) { hv_def_free(&d); snprintf(err, sizeof(err), "a VM named '%s' already exists", name); status = 409; break; }
        if (!name_fits(name)) { hv_def_free(&d); snprintf(err, sizeof(err), "VM name '%s' is too long here", name); status = 400; break; }
        if (admit(&d, err, sizeof(err)) < 0) { hv_def_free(&d); status = 409; break; }
        hv_rt rt = { .state = "created" };
        if (hv_db_insert(D.db, &d, &rt, err, sizeof(err)) < 0) { hv_def_free(&d); status = 500; break; }
        add_vm(&d, &rt);
        vm *v = find(name);
        char idx[16], cdir[PATH_MAX];
        snprintf(idx, sizeof(idx), "%d", i);
        if (D.jail) path_in(v, "root/clone-disks", cdir, sizeof(cdir));   /* directly in the jail */
        else snprintf(cdir, sizeof(cdir), "%s", v->dir);
        const char *extra_r[] = { "--restore", sdir, NULL };
        const char *extra_c[] = { "--restore", sdir, "--clone-dir", cdir, "--clone-index", idx, NULL };
        if (spawn_vmm(v, clone ? extra_c : extra_r, false, "starting", -1, err, sizeof(err)) < 0 ||
            wait_api_ready(v, "running", err, sizeof(err)) < 0) { status = 500; break; }
        v = find(name);
        if (v) cJSON_AddItemToArray(out, vm_json(v, false));
    }
    cJSON_Delete(defj);
    if (status != 200) { cJSON_Delete(out); reply_err(resp, status, "%s", err); return; }
    reply_json(resp, 200, out);
}


/* ---------------- live migration ----------------
 * Source: POST /vms/NAME/migrate {"destination": "HOST:PORT", "max_rounds", "copy_disks"} -> state
 * migrating, the VMM's PUT /vmkit/migrate (it does the hello and the stream) -> on success the VMM
 * exits 0 and the VM becomes "migrated". GET /vms/NAME/migration proxies the VMM's progress.
 * Destination: --migrate-listen ADDR:PORT; each connection's hello is validated like a create
 * (name free, definition valid, admission), answered 'A' or 'R' + message, and the connection is
 * handed to a new VMM as fd 3 (--incoming-fd 3); the VM is "incoming" until its API says Running. */
static void h_migrate(vm *v, const vmk_http_req *req, vmk_http_resp *resp)
{
    static const char *const allowed[] = { "destination", "max_rounds", "max_downtime_pages", "copy_disks", NULL };
    cJSON *j = parse_body(req, resp, true);
    if (!j) return;
    if (!only_fields(j, allowed, resp)) { cJSON_Delete(j); return; }
    const cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "destination"), *mr = cJSON_GetObjectItemCaseSensitive(j, "max_rounds"),
                *cd = cJSON_GetObjectItemCaseSensitive(j, "copy_disks"), *md = cJSON_GetObjectItemCaseSensitive(j, "max_downtime_pages");
    if (!cJSON_IsString(d) || !strchr(d->valuestring, ':') || strlen(d->valuestring) > 255 ||
        (mr && (!cJSON_IsNumber(mr) || mr->valuedouble < 1 || mr->valuedouble > 1000)) || (cd && !cJSON_IsBool(cd)) ||
        (md && (!cJSON_IsNumber(md) || md->valuedouble < 1 || md->valuedouble > 4294967296.0 || md->valuedouble != (double)(uint64_t)md->valuedouble))) {
        cJSON_Delete(j);
        reply_err(resp, 400, "migrate needs {\"destination\": \"HOST:PORT\", \"max_rounds\": 1..1000, \"max_downtime_pages\": 1..2^32, \"copy_disks\": bool}");
        return;
    }
    if (strcmp(v->rt.state, "running") && strcmp(v->rt.state, "paused")) {
        cJSON_Delete(j);
        reply_err(resp, 409, "cannot migrate %s: it is %s", v->def.name, v->rt.state);
        return;
    }
    if (v->busy) { cJSON_Delete(j); reply_err(resp, 409, "%s is busy", v->def.name); return; }
    cJSON *rq = cJSON_CreateObject();
    cJSON_AddStringToObject(rq, "destination", d->valuestring);
    if (mr) cJSON_AddNumberToObject(rq, "max_rounds", mr->valuedouble);
    if (cd) cJSON_AddBoolToObject(rq, "copy_disks", cJSON_IsTrue(cd));
    if (md) cJSON_AddNumberToObject(rq, "max_downtime_pages", md->valuedouble);
    cJSON_AddItemToObject(rq, "definition", hv_def_to_json(&v->def));
    cJSON_Delete(j);
    char *rqs = cJSON_PrintUnformatted(rq), name[HV_NAME_MAX + 1], prev[16], err[VMK_ERRLEN], *body = NULL;
    cJSON_Delete(rq);
    snprintf(name, sizeof(name), "%s", v->def.name);
    snprintf(prev, sizeof(prev), "%s", v->rt.state);
    set_state(v, "migrating");
    uint64_t t0 = vmk_now_ns();
    int st = vmm_call(&v, "PUT", "/vmkit/migrate", rqs, &body, 3600 * 1000, err, sizeof(err));
    free(rqs);
    if (st == 204 || st == 200) {
        wait_not_state(name, "migrating", NULL, 15000);
        v = find(name);
        if (!v) { free(body); reply_err(resp, 404, "%s was removed", name); return; }
        cJSON *out = vm_json(v, false);
        cJSON_AddNumberToObject(out, "migration_ms", (double)(vmk_now_ns() - t0) / 1e6);
        reply_json(resp, 200, out);
    } else {
        v = find(name);
        if (v && !strcmp(v->rt.state, "migrating")) set_state(v, prev);
        const char *why = st < 0 ? err : fault_of(body);
        reply_err(resp, st < 0 ? 502 : 400, "migration of %s failed: %s", name, why);
    }
    free(body);
}

static void h_migration(vm *v, vmk_http_resp *resp)
{
    char err[VMK_ERRLEN], *body = NULL;
    if (!v->rt.pid) { reply_err(resp, 409, "%s is %s", v->def.name, v->rt.state); return; }
    int st = vmm_call(&v, "GET", "/vmkit/migration", NULL, &body, 3000, err, sizeof(err));
    if (st != 200 || !body) { reply_err(resp, 502, "no migration progress: %s", st < 0 ? err : fault_of(body)); free(body); return; }
    resp->status = 200;
    resp->body = body;
}

static int read_full(int fd, void *buf, size_t n)
{
    uint8_t *p = buf;
    while (n) {
        ssize_t r = read(fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        p += r;
        n -= (size_t)r;
    }
    return 0;
}

static void mig_refuse(int fd, const char *msg)
{
    uint8_t hdr[5] = { 'R' };
    uint32_t len = (uint32_t)strlen(msg);
    for (int i = 0; i < 4; i++) hdr[1 + i] = (uint8_t)(len >> (8 * i));
    if (write(fd, hdr, 5) < 0 || write(fd, msg, len) < 0) {}
    vmk_warn("migration refused: %s", msg);
}

static void mig_accept_one(int fd)
{
    struct timeval tv = { .tv_sec = 10 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    uint8_t hdr[16];
    char err[VMK_ERRLEN];
    if (read_full(fd, hdr, 16) < 0) { vmk_warn("migration: short hello"); return; }
    uint32_t ver = hdr[8] | hdr[9] << 8 | hdr[10] << 16 | (uint32_t)hdr[11] << 24;
    uint32_t len = hdr[12] | hdr[13] << 8 | hdr[14] << 16 | (uint32_t)hdr[15] << 24;
    if (memcmp(hdr, VMK_MIG_MAGIC, 8)) { mig_refuse(fd, "not a vmkit migration (bad magic)"); return; }
    if (ver != VMK_MIG_VERSION) { mig_refuse(fd, "unsupported migration version"); return; }
    if (len == 0 || len > VMK_MIG_HELLO_MAX) { mig_refuse(fd, "migration hello too large"); return; }
    char *txt = vmk_xmalloc(len + 1);
    if (read_full(fd, txt, len) < 0) { free(txt); vmk_warn("migration: short hello"); return; }
    txt[len] = 0;
    cJSON *j = cJSON_ParseWithLength(txt, len);
    free(txt);
    const cJSON *nm = cJSON_GetObjectItemCaseSensitive(j, "name");
    cJSON *def = cJSON_GetObjectItemCaseSensitive(j, "definition");
    if (!cJSON_IsString(nm) || !cJSON_IsObject(def)) {
        cJSON_Delete(j);
        mig_refuse(fd, "the migration hello needs {\"name\", \"definition\"}");
        return;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(def, "name", cJSON_CreateString(nm->valuestring));
    cJSON_DeleteItemFromObjectCaseSensitive(def, "created_at");
    hv_def d;
    int rc = hv_def_from_json(def, &d, D.images_root, err, sizeof(err));
    cJSON_Delete(j);
    if (rc < 0) { mig_refuse(fd, err); return; }
    pthread_mutex_lock(&D.lock);
    if (find(d.name)) {
        snprintf(err, sizeof(err), "a VM named '%s' already exists on the destination", d.name);
        rc = -1;
    } else if (!name_fits(d.name)) {
        snprintf(err, sizeof(err), "VM name '%s' is too long for the destination's state directory", d.name);
        rc = -1;
    } else if (admit(&d, err, sizeof(err)) < 0) {
        rc = -1;
    } else {
        hv_rt rt = { .state = "incoming" };
        rc = hv_db_insert(D.db, &d, &rt, err, sizeof(err));
        if (rc == 0) add_vm(&d, &rt);
    }
    if (rc < 0) {
        pthread_mutex_unlock(&D.lock);
        hv_def_free(&d);
        mig_refuse(fd, err);
        return;
    }
    vm *v = find(d.name);
    char name[HV_NAME_MAX + 1];
    snprintf(name, sizeof(name), "%s", v->def.name);
    if (write(fd, "A", 1) != 1) {
        set_state(v, "crashed");
        pthread_mutex_unlock(&D.lock);
        return;
    }
    tv.tv_sec = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    const char *extra[] = { "--incoming-fd", "3", NULL };
    if (spawn_vmm(v, extra, false, "incoming", fd, err, sizeof(err)) < 0) {
        snprintf(v->rt.reason, sizeof(v->rt.reason), "%.200s", err);
        set_state(v, "crashed");
    } else if (wait_api_ready(v, "running", err, sizeof(err)) < 0) {
        vmk_warn("incoming %s: %s", name, err);
    } else {
        vmk_info("incoming %s: running", name);
    }
    pthread_mutex_unlock(&D.lock);
}

static int g_mig_fd = -1;
static void *mig_listener_main(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL);
    for (;;) {
        int fd = accept4(g_mig_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED) continue;
            break;                        /* listener shut down */
        }
        mig_accept_one(fd);
        close(fd);
    }
    return NULL;
}

static int mig_listen(const char *spec, char *err, size_t errlen)
{
    char host[256];
    const char *colon = strrchr(spec, ':');
    if (!colon || (size_t)(colon - spec) >= sizeof(host)) { vmk_seterr(err, errlen, "--migrate-listen '%s': use ADDR:PORT", spec); return -1; }
    memcpy(host, spec, (size_t)(colon - spec));
    host[colon - spec] = 0;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *ai = NULL;
    int rc = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
    if (rc != 0) { vmk_seterr(err, errlen, "--migrate-listen '%s': %s", spec, gai_strerror(rc)); return -1; }
    int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) != 0 || listen(fd, 8) != 0) {
        vmk_seterr(err, errlen, "--migrate-listen '%s': %s", spec, strerror(errno));
        if (fd >= 0) close(fd);
        freeaddrinfo(ai);
        return -1;
    }
    freeaddrinfo(ai);
    return fd;
}

static void handler(void *opaque, const vmk_http_req *req, vmk_http_resp *resp)
{
    (void)opaque;
    const char *p = req->path, *m = req->method;
    pthread_mutex_lock(&D.lock);
    if (!strcmp(p, "/host")) {
        if (strcmp(m, "GET")) reply_err(resp, 405, "use GET /host");
        else h_host(resp);
    } else if (!strcmp(m, "POST") && (!strcmp(p, "/vms/restore") || !strcmp(p, "/vms/clone"))) {
        h_restore(req, resp, !strcmp(p, "/vms/clone"));
    } else if (!strcmp(p, "/vms") || !strcmp(p, "/vms/")) {
        if (!strcmp(m, "GET")) {
            cJSON *a = cJSON_CreateArray();
            for (vm *v = D.vms; v; v = v->next) cJSON_AddItemToArray(a, vm_json(v, false));
            reply_json(resp, 200, a);
        } else if (!strcmp(m, "POST")) {
            h_create(req, resp);
        } else {
            reply_err(resp, 405, "use GET or POST /vms");
        }
    } else if (!strncmp(p, "/vms/", 5)) {
        char name[128], action[32] = "";
        const char *s = p + 5, *slash = strchr(s, '/');
        size_t nl = slash ? (size_t)(slash - s) : strlen(s);
        if (nl >= sizeof(name)) { reply_err(resp, 400, "invalid VM name (too long)"); goto out; }
        memcpy(name, s, nl);
        name[nl] = 0;
        if (!hv_name_ok(name)) { reply_err(resp, 400, "invalid VM name '%s'", name); goto out; }
        if (slash && (strlen(slash + 1) >= sizeof(action) || strchr(slash + 1, '/'))) {
            reply_err(resp, 404, "no such resource: %s", p);
            goto out;
        }
        if (slash) snprintf(action, sizeof(action), "%s", slash + 1);
        vm *v = find(name);
        if (!v) { reply_err(resp, 404, "no VM named '%s'", name); goto out; }
        bool get = !strcmp(m, "GET"), post = !strcmp(m, "POST");
        if (!action[0] && get) reply_json(resp, 200, vm_json(v, true));
        else if (!action[0] && !strcmp(m, "DELETE")) h_delete(v, req, resp);
        else if (!action[0]) reply_err(resp, 405, "use GET or DELETE /vms/%s", name);
        else if (get && !strcmp(action, "stats")) h_stats(v, resp);
        else if (get && !strcmp(action, "logs")) h_logs(v, req, resp);
        else if (post && !strcmp(action, "start")) h_start(v, resp);
        else if (post && !strcmp(action, "stop")) h_stop(v, req, resp);
        else if (post && !strcmp(action, "kill")) h_kill(v, resp);
        else if (post && !strcmp(action, "pause")) h_pause(v, resp, true);
        else if (post && !strcmp(action, "resume")) h_pause(v, resp, false);
        else if (post && !strcmp(action, "snapshot")) h_snapshot(v, req, resp);
        else if (post && !strcmp(action, "migrate")) h_migrate(v, req, resp);
        else if (get && !strcmp(action, "migration")) h_migration(v, resp);
        else reply_err(resp, 404, "no such action: %s %s", m, p);
    } else {
        reply_err(resp, 404, "no such resource: %s %s", m, p);
    }
out:
    pthread_mutex_unlock(&D.lock);
}

/* ---------------- start-up: load, reconcile with what runs, serve ---------------- */
static void load_cb(void *opaque, hv_def *d, hv_rt *rt)
{
    (void)opaque;
    add_vm(d, rt);
}

static void reconcile(void)   /* lock held */
{
    for (vm *v = D.vms; v; v = v->next) {
        if (!is_active(v)) {
            cleanup_files(v);
            if (v->rt.pid) { v->rt.pid = v->rt.vmm_pid = 0; persist(v); }
            hv_cg_remove(v->def.name);
            continue;
        }
        bool alive = hv_proc_is(v->rt.pid, v->rt.pid_start);
        if (!alive && v->rt.vmm_pid != v->rt.pid && hv_proc_is(v->rt.vmm_pid, v->rt.vmm_start)) {
            /* the waiter is gone but the VMM runs: supervise the VMM itself */
            v->rt.pid = v->rt.vmm_pid;
            v->rt.pid_start = v->rt.vmm_start;
            alive = true;
            persist(v);
        }
        if (alive) {
            int fd = hv_pidfd_open(v->rt.pid);
            if (fd >= 0 && hv_proc_is(v->rt.pid, v->rt.pid_start)) {
                v->pidfd = fd;
                vmk_info("%s: re-adopted VMM pid %d (%s)", v->def.name, v->rt.vmm_pid, v->rt.state);
                if (!strcmp(v->rt.state, "stopping")) {
                    v->stop_req = true;
                    v->kill_at = vmk_now_ns() + (uint64_t)STOP_TIMEOUT_S * 1000000000u;
                }
                if (!strcmp(v->rt.state, "starting")) set_state(v, "running");
                continue;
            }
            if (fd >= 0) close(fd);
        }
        char st[96];
        read_exit_file(v, st, sizeof(st));
        if (!strcmp(st, "exited 0") && strcmp(v->rt.state, "migrating")) {
            snprintf(v->rt.reason, sizeof(v->rt.reason), "guest powered off while the daemon was down");
            snprintf(v->rt.state, sizeof(v->rt.state), "stopped");
        } else {
            snprintf(v->rt.reason, sizeof(v->rt.reason), "VMM exited while the daemon was down%s%s",
                     st[0] ? ": " : "", st);
            snprintf(v->rt.state, sizeof(v->rt.state), "crashed");
        }
        vmk_info("%s: %s (%s)", v->def.name, v->rt.state, v->rt.reason);
        v->rt.pid = v->rt.vmm_pid = 0;
        v->rt.pid_start = v->rt.vmm_start = 0;
        persist(v);
        cleanup_files(v);
        try_remove_cgroup(v);
    }
}

static void serve_usage(FILE *f)
{
    fprintf(f,
        "usage: vmkit serve [options]\n"
        "The hypervisor daemon: a REST/JSON API on a unix socket, VM definitions in SQLite, one VMM\n"
        "process per VM (jailed unless --no-jail) in its own cgroup. VMs keep running when the daemon\n"
        "exits; a restarted daemon re-adopts them.\n"
        "\n"
        "  --sock PATH           API socket, mode 0600 (default " VMK_DEFAULT_SOCK ")\n"
        "  --state-dir DIR       database vmkit.db and per-VM directories (default " VMK_DEFAULT_STATE_DIR ")\n"
        "  --overcommit-cpu R    vCPUs admitted per host CPU (default 4.0)\n"
        "  --overcommit-mem R    guest memory + %u MiB overhead per VM admitted per byte of host RAM (default 1.0)\n"
        "  --images-root DIR     kernel, initrd, firmware and drive paths must be inside DIR\n"
        "  --uid N --gid N       unprivileged ids of the jailed VMMs (default 65534)\n"
        "  --no-jail             run the VMMs without the jail (still in their cgroups)\n"
        "  --migrate-listen ADDR:PORT  accept incoming live migrations (TCP) from other vmkit daemons\n"
        "  --foreground          stay in the foreground, log to stderr (default: detach once serving,\n"
        "                        log to <state-dir>/daemon.log)\n"
        "  --help                this text\n"
        "\n"
        "Jailed VMMs run as --uid/--gid: at each start the daemon chowns the VM's writable disks to them\n"
        "when the disks are inside --images-root; other disks must already be readable and writable by\n"
        "them, else the start fails with the jail's message naming the file. Restores and clones of\n"
        "jailed VMs bind the snapshot (read-only) and the definition's disks into the jail; a jailed\n"
        "clone's overlays live in <state-dir>/vms/NAME/root/clone-disks and name their base by its path\n"
        "inside the jail. A jailed VM's diff snapshot names its parent by the host path it was moved\n"
        "to (and binds it when restored). Incoming migrations are jailed too\n"
        "(--jail-root = --images-root), or, with --no-jail, refuse stream paths outside --images-root.\n"
        "\n"
        "API: GET /host; GET|POST /vms; GET|DELETE /vms/NAME[?force=1];\n"
        "POST /vms/NAME/{start,stop,kill,pause,resume,snapshot,migrate}; GET /vms/NAME/{stats,logs,migration};\n"
        "POST /vms/restore, /vms/clone. Errors: 4xx/5xx with {\"error\": \"...\"}.\n", OVERHEAD_MIB);
}

static int sbad(const char *fmt, const char *a)
{
    fprintf(stderr, "vmkit: ");
    fprintf(stderr, fmt, a);
    fputc('\n', stderr);
    return 1;
}

static int mkdir_p(const char *path, mode_t mode)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *p = tmp + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
            *p = '/';
        }
    return mkdir(tmp, mode) != 0 && errno != EEXIST ? -1 : 0;
}

extern char **environ;

int hv_serve_main(int argc, char **argv)
{
    D.sock = VMK_DEFAULT_SOCK;
    D.state_dir = VMK_DEFAULT_STATE_DIR;
    D.oc_cpu = 4.0;
    D.oc_mem = 1.0;
    D.jail = true;
    D.uid = D.gid = 65534;
    close_range(3, ~0u, 0);       /* nothing inherited from the caller stays open in the daemon */
    bool fg = false;
    const char *mig_spec = NULL;
    if (argc >= 1) {      /* argv[-1] is main's argv[0]: the area runs from there to the last argument's end */
        D.title = argv[-1];
        D.title_len = (size_t)(argv[argc - 1] + strlen(argv[argc - 1]) + 1 - argv[-1]);
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { serve_usage(stdout); return 0; }
        if (!strcmp(a, "--no-jail")) { D.jail = false; continue; }
        if (!strcmp(a, "--foreground")) { fg = true; continue; }
        bool takes = !strcmp(a, "--sock") || !strcmp(a, "--state-dir") || !strcmp(a, "--overcommit-cpu") ||
                     !strcmp(a, "--overcommit-mem") || !strcmp(a, "--images-root") || !strcmp(a, "--uid") ||
                     !strcmp(a, "--gid") || !strcmp(a, "--migrate-listen");
        if (!takes) return sbad("serve: unknown option '%s' (see vmkit serve --help)", a);
        if (!v) return sbad("serve: %s needs a value", a);
        i++;
        char *end;
        if (!strcmp(a, "--sock")) D.sock = v;
        else if (!strcmp(a, "--state-dir")) D.state_dir = v;
        else if (!strcmp(a, "--images-root")) D.images_root = v;
        else if (!strcmp(a, "--migrate-listen")) mig_spec = v;
        else if (!strcmp(a, "--uid") || !strcmp(a, "--gid")) {
            unsigned long x = strtoul(v, &end, 10);
            if (!*v || *end || x == 0 || x > 0x7fffffff) return sbad("serve: bad id '%s' (a positive number)", v);
            if (!strcmp(a, "--uid")) D.uid = (unsigned)x; else D.gid = (unsigned)x;
        } else {
            double x = strtod(v, &end);
            if (!*v || *end || !(x > 0 && x <= 100)) return sbad("serve: bad ratio '%s' (a number in (0, 100])", v);
            if (!strcmp(a, "--overcommit-cpu")) D.oc_cpu = x; else D.oc_mem = x;
        }
    }
    if (D.state_dir[0] != '/') return sbad("serve: --state-dir '%s' must be an absolute path", D.state_dir);
    if (D.images_root && access(D.images_root, X_OK) != 0) return sbad("serve: --images-root '%s' is not a directory", D.images_root);
    if (strlen(D.sock) >= 100) return sbad("serve: --sock '%s' is too long", D.sock);
    ssize_t en = readlink("/proc/self/exe", D.exe, sizeof(D.exe) - 1);
    if (en <= 0) return sbad("serve: cannot find my own binary%s", "");
    D.exe[en] = 0;
    if (mkdir_p(D.state_dir, 0700) < 0) return sbad("serve: cannot create the state directory %s", D.state_dir);
    char p[PATH_MAX], err[VMK_ERRLEN];
    snprintf(p, sizeof(p), "%s/vms", D.state_dir);
    mkdir(p, 0700);
    {
        char sd[PATH_MAX];
        snprintf(sd, sizeof(sd), "%s", D.sock);
        char *sl = strrchr(sd, '/');
        if (sl && sl != sd) { *sl = 0; mkdir_p(sd, 0755); }
    }
    {   /* a live daemon on this socket (another state directory): do not steal it */
        char e[VMK_ERRLEN];
        if (vmk_http_call_unix(D.sock, "GET", "/host", NULL, NULL, 1000, e, sizeof(e)) > 0)
            return sbad("serve: a daemon is already serving on %s", D.sock);
    }
    snprintf(p, sizeof(p), "%s/daemon.lock", D.state_dir);
    int lockfd = open(p, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lockfd < 0 || flock(lockfd, LOCK_EX | LOCK_NB) != 0)
        return sbad("serve: another daemon is using %s", D.state_dir);
    if (strcmp(D.state_dir, VMK_DEFAULT_STATE_DIR)) {    /* a daemon of its own: its own cgroup subtree */
        snprintf(D.cg_base, sizeof(D.cg_base), "vmkit/d-%08x", vmk_crc32c(0, D.state_dir, strlen(D.state_dir)));
        hv_cg_set_base(D.cg_base);
    } else {
        snprintf(D.cg_base, sizeof(D.cg_base), "vmkit");
    }
    D.host_cpus = (unsigned)sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), psz = sysconf(_SC_PAGESIZE);
    D.host_mem = (uint64_t)pages * (uint64_t)psz;
    D.envp = environ;
    {   /* does this build's VMM serve the per-VM API? */
        char cmd[PATH_MAX + 32];
        snprintf(cmd, sizeof(cmd), "'%s' run --help 2>/dev/null", D.exe);
        FILE *f = popen(cmd, "r");
        char line[512];
        bool has_jail = false;
        while (f && fgets(line, sizeof(line), f)) {
            if (strstr(line, "--api-sock")) D.vmm_api = true;
            if (strstr(line, "--jail")) has_jail = true;
        }
        if (f) pclose(f);
        if (D.jail && !has_jail) return sbad("serve: this build's VMM has no --jail yet: use --no-jail%s", "");
        if (!D.vmm_api) fprintf(stderr, "vmkit: warning: this VMM has no --api-sock: pause/resume/stats/snapshot unavailable\n");
    }
    int ready[2] = { -1, -1 };
    if (!fg) {
        if (pipe2(ready, O_CLOEXEC) != 0) return sbad("serve: pipe: %s", strerror(errno));
        pid_t pid = fork();
        if (pid < 0) return sbad("serve: fork: %s", strerror(errno));
        if (pid > 0) {
            close(ready[1]);
            char c = 0;
            ssize_t r = read(ready[0], &c, 1);
            if (r == 1 && c == 'R') return 0;
            fprintf(stderr, "vmkit: serve: the daemon failed to start (see %s/daemon.log)\n", D.state_dir);
            return 1;
        }
        close(ready[0]);
        setsid();
        snprintf(p, sizeof(p), "%s/daemon.log", D.state_dir);
        int lf = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        int nf = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (lf >= 0) { dup2(lf, 1); dup2(lf, 2); close(lf); }
        if (nf >= 0) { dup2(nf, 0); close(nf); }
        if (flock(lockfd, LOCK_EX | LOCK_NB) != 0) {}     /* the lock is shared with the fork */
    }
    snprintf(p, sizeof(p), "%s/vmkit.db", D.state_dir);
    D.db = hv_db_open(p, err, sizeof(err));
    if (!D.db) return sbad("serve: %s", err);
    signal(SIGPIPE, SIG_IGN);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    D.evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    pthread_mutex_lock(&D.lock);
    if (hv_db_load(D.db, load_cb, NULL, err, sizeof(err)) < 0) {
        pthread_mutex_unlock(&D.lock);
        return sbad("serve: %s", err);
    }
    reconcile();
    pthread_mutex_unlock(&D.lock);
    pthread_t sup, migt;
    pthread_create(&sup, NULL, supervisor_main, NULL);
    if (mig_spec) {
        g_mig_fd = mig_listen(mig_spec, err, sizeof(err));
        if (g_mig_fd < 0) return sbad("serve: %s", err);
        pthread_create(&migt, NULL, mig_listener_main, NULL);
    }
    vmk_http_server *srv = vmk_http_listen_unix(D.sock, 0600, handler, NULL, err, sizeof(err));
    if (!srv) {
        pthread_mutex_lock(&D.lock);
        D.quit = true;
        pthread_mutex_unlock(&D.lock);
        wake_supervisor();
        pthread_join(sup, NULL);
        return sbad("serve: %s", err);
    }
    fprintf(stderr, "vmkit: serving on %s (state %s, %u CPUs, %llu MiB, overcommit cpu %.1f mem %.1f, %s)\n",
            D.sock, D.state_dir, D.host_cpus, (unsigned long long)(D.host_mem >> 20), D.oc_cpu, D.oc_mem,
            D.jail ? "jailed VMMs" : "no jail");
    char pidtxt[32];
    snprintf(p, sizeof(p), "%s/daemon.pid", D.state_dir);
    snprintf(pidtxt, sizeof(pidtxt), "%d\n", (int)getpid());
    if (vmk_write_file_atomic(p, pidtxt, strlen(pidtxt), err, sizeof(err)) < 0) vmk_warn("%s", err);
    if (ready[1] >= 0) {
        if (write(ready[1], "R", 1) < 0) {}
        close(ready[1]);
    }
    int sig = 0;
    sigwait(&set, &sig);
    fprintf(stderr, "vmkit: signal %d: the daemon stops serving; VMs keep running\n", sig);
    vmk_http_server_free(srv);
    if (g_mig_fd >= 0) {
        shutdown(g_mig_fd, SHUT_RDWR);
        pthread_join(migt, NULL);
        close(g_mig_fd);
    }
    pthread_mutex_lock(&D.lock);
    D.quit = true;
    pthread_mutex_unlock(&D.lock);
    wake_supervisor();
    pthread_join(sup, NULL);
    pthread_mutex_lock(&D.lock);
    while (D.vms) {
        vm *v = D.vms;
        D.vms = v->next;
        if (v->pidfd >= 0) close(v->pidfd);
        hv_def_free(&v->def);
        free(v);
    }
    pthread_mutex_unlock(&D.lock);
    hv_db_close(D.db);
    hv_cg_remove_base();
    close(D.evfd);
    close(lockfd);
    return 0;
}
