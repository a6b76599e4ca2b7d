/* client.c — the CLI verbs that talk to the daemon (`vmkit create|start|stop|kill|pause|resume|ls|
 * inspect|console|logs|stats|rm|snapshot|restore|clone|migrate`): argument parsing and validation,
 * one HTTP/JSON request per verb on the daemon's socket (--sock, $VMKIT_SOCK or the default), and
 * human-readable output. Every error is one "vmkit: ..." line and exit status 1. */
#include "hv.h"
#include "../base/base.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

static const char *g_sock;


/* One request; returns the HTTP status and the parsed JSON (or raw text in *raw). -1: printed. */
static int call(const char *method, const char *path, const char *body, cJSON **out, char **raw, int tmo_ms)
{
    char err[VMK_ERRLEN], *resp = NULL;
    if (out) *out = NULL;
    int st = vmk_http_call_unix(g_sock, method, path, body, &resp, tmo_ms, err, sizeof(err));
    if (st < 0) {
        if (strstr(err, "cannot connect")) vmk_user_error("cannot reach the daemon at %s (is `vmkit serve` running?)", g_sock);
        else vmk_user_error("%s", err);
        return -1;
    }
    if (raw) { *raw = resp; return st; }
    cJSON *j = resp ? cJSON_Parse(resp) : NULL;
    if (st >= 300) {
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
        vmk_user_error("%s", cJSON_IsString(e) ? e->valuestring : resp ? resp : "error");
        cJSON_Delete(j);
        free(resp);
        return -1;
    }
    free(resp);
    if (out) *out = j;
    else cJSON_Delete(j);
    return st;
}

static const char *jstr(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsString(v) ? v->valuestring : "";
}

static double jnum(const cJSON *j, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, k);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static bool is_help(const char *a) { return !strcmp(a, "--help") || !strcmp(a, "-h"); }

static void fmt_dur(double s, char *out, size_t n)
{
    long t = (long)s;
    if (t < 60) snprintf(out, n, "%lds", t);
    else if (t < 3600) snprintf(out, n, "%ldm%02lds", t / 60, t % 60);
    else if (t < 86400) snprintf(out, n, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else snprintf(out, n, "%ldd%02ldh", t / 86400, (t / 3600) % 24);
}

static void fmt_bytes(double b, char *out, size_t n)
{
    if (b >= 1024.0 * 1024 * 1024) snprintf(out, n, "%.1f GiB", b / (1024.0 * 1024 * 1024));
    else if (b >= 1024.0 * 1024) snprintf(out, n, "%.1f MiB", b / (1024.0 * 1024));
    else if (b >= 1024.0) snprintf(out, n, "%.1f KiB", b / 1024.0);
    else snprintf(out, n, "%.0f B", b);
}

static void print_state(const cJSON *j)
{
    const char *r = jstr(j, "reason");
    printf("%s: %s%s%s%s\n", jstr(j, "name"), jstr(j, "state"), *r ? " (" : "", r, *r ? ")" : "");
}

/* ---------------- create ---------------- */
static int abs_path(const char *what, const char *in, char *out)
{
    if (!realpath(in, out)) return vmk_user_error("%s '%s': %s", what, in, strerror(errno));
    return 0;
}

static int v_create(int argc, char **argv)
{
    if (argc < 2 || is_help(argv[1])) {
        FILE *f = argc < 2 ? stderr : stdout;
        fprintf(f, "usage: vmkit create NAME [options]\n"
                   "Defines a VM in the daemon (not started). Options as `vmkit run`:\n"
                   "  --kernel F --initrd F|none --bios F --cmdline S --append S --mem SIZE (default 256M)\n"
                   "  --cpus N (default 1) --disk PATH[,ro] (up to 6) --net SPEC|none (default user)\n"
                   "  --arch riscv64|x86_64 (or --accel tcg|kvm)\n"
                   "and limits: --cpu-limit CPUS (e.g. 0.5: cgroup CPU quota), --cpu-weight 1..10000 (default 100),\n"
                   "  --pids-max N (default 256)\n"
                   "Paths are made absolute here; the daemon checks them. NAME: 1-63 of a-z 0-9 _ . -\n");
        return argc < 2 ? 1 : 0;
    }
    const char *name = argv[1];
    if (!hv_name_ok(name)) return vmk_user_error("invalid VM name '%s' (use 1-63 of a-z 0-9 _ . -, starting with a letter or digit)", name);
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "name", name);
    cJSON *disks = cJSON_AddArrayToObject(j, "disks"), *nets = NULL;
    bool net_none = false;
    int rc = 1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (is_help(a)) { cJSON_Delete(j); return v_create(2, (char *[]){ argv[0], "--help" }); }
        if (i + 1 >= argc) { vmk_user_error("create: %s needs a value (or is unknown; see vmkit create --help)", a); goto out; }
        const char *v = argv[++i];
        char p[PATH_MAX];
        if (!strcmp(a, "--kernel") || !strcmp(a, "--bios") || (!strcmp(a, "--initrd") && strcmp(v, "none"))) {
            if (abs_path(a + 2, v, p)) goto out;
            cJSON_AddStringToObject(j, a + 2, p);
        } else if (!strcmp(a, "--initrd")) {
            cJSON_AddStringToObject(j, "initrd", "none");
        } else if (!strcmp(a, "--cmdline") || !strcmp(a, "--append")) {
            cJSON_AddStringToObject(j, a + 2, v);
        } else if (!strcmp(a, "--mem")) {
            uint64_t sz;
            if (vmk_parse_size(v, &sz) < 0 || sz % (1u << 20)) { vmk_user_error("--mem: '%s' is not a size in MiB (e.g. 256M, 1G)", v); goto out; }
            cJSON_AddNumberToObject(j, "mem_mib", (double)(sz >> 20));
        } else if (!strcmp(a, "--cpus") || !strcmp(a, "--cpu-weight") || !strcmp(a, "--pids-max") || !strcmp(a, "--cpu-limit")) {
            char *end;
            double x = strtod(v, &end);
            if (!*v || *end || x < 0) { vmk_user_error("%s: '%s' is not a number", a, v); goto out; }
            cJSON_AddNumberToObject(j, !strcmp(a, "--cpus") ? "vcpus" : !strcmp(a, "--cpu-weight") ? "cpu_weight"
                                       : !strcmp(a, "--pids-max") ? "pids_max" : "cpu_limit", x);
        } else if (!strcmp(a, "--arch")) {
            cJSON_AddStringToObject(j, "engine", v);
        } else if (!strcmp(a, "--accel")) {
            if (strcmp(v, "tcg") && strcmp(v, "kvm")) { vmk_user_error("--accel: '%s' is not tcg or kvm", v); goto out; }
            cJSON_AddStringToObject(j, "engine", !strcmp(v, "kvm") ? "x86_64" : "riscv64");
        } else if (!strcmp(a, "--disk")) {
            char path[PATH_MAX];
            snprintf(path, sizeof(path), "%s", v);
            bool ro = false;
            char *comma = strchr(path, ',');
            if (comma) {
                if (strcmp(comma, ",ro")) { vmk_user_error("--disk '%s': unknown option '%s' (use PATH[,ro])", v, comma + 1); goto out; }
                *comma = 0;
                ro = true;
            }
            if (abs_path("disk", path, p)) goto out;
            cJSON *d = cJSON_CreateObject();
            cJSON_AddStringToObject(d, "path", p);
            cJSON_AddBoolToObject(d, "ro", ro);
            cJSON_AddItemToArray(disks, d);
        } else if (!strcmp(a, "--net")) {
            if (!nets) nets = cJSON_AddArrayToObject(j, "nets");
            if (!strcmp(v, "none")) net_none = true;
            else cJSON_AddItemToArray(nets, cJSON_CreateString(v));
        } else {
            vmk_user_error("create: unknown option '%s' (see vmkit create --help)", a);
            goto out;
        }
    }
    if (net_none && cJSON_GetArraySize(nets)) { vmk_user_error("--net none cannot be combined with other --net options"); goto out; }
    char *body = cJSON_PrintUnformatted(j);
    cJSON *r;
    int st = call("POST", "/vms", body, &r, NULL, 30000);
    free(body);
    if (st < 0) goto out;
    print_state(r);
    cJSON_Delete(r);
    rc = 0;
out:
    cJSON_Delete(j);
    return rc;
}

/* ---------------- simple actions ---------------- */
static int need_name(int argc, char **argv, const char *usage)
{
    if (argc >= 2 && is_help(argv[1])) { printf("usage: vmkit %s %s\n", argv[0], usage); return 0; }
    if (argc < 2) return vmk_user_error("usage: vmkit %s %.*s", argv[0], (int)strcspn(usage, "\n"), usage);
    if (!hv_name_ok(argv[1])) return vmk_user_error("invalid VM name '%s'", argv[1]);
    return -1;
}

static int v_action(int argc, char **argv)
{
    const char *verb = argv[0];
    const char *usage = !strcmp(verb, "stop") ? "NAME [--timeout S]\nGraceful stop (Ctrl-Alt-Del to the guest, which powers off), then killed after S seconds (default 10)."
                      : !strcmp(verb, "kill") ? "NAME\nKills the VM's VMM at once (SIGKILL)."
                      : !strcmp(verb, "start") ? "NAME\nStarts the VM (admission control may refuse); returns once its VMM answers."
                      : "NAME";
    int r = need_name(argc, argv, usage);
    if (r >= 0) return r;
    char body[64] = "";
    for (int i = 2; i < argc; i++) {
        if (!strcmp(verb, "stop") && !strcmp(argv[i], "--timeout") && i + 1 < argc) {
            char *end;
            double t = strtod(argv[++i], &end);
            if (!*argv[i] || *end || t < 0 || t > 3600) return vmk_user_error("--timeout: '%s' is not a number of seconds (0..3600)", argv[i]);
            snprintf(body, sizeof(body), "{\"timeout\":%g}", t);
        } else {
            return vmk_user_error("%s: unknown option '%s' (see vmkit %s --help)", verb, argv[i], verb);
        }
    }
    char path[160];
    snprintf(path, sizeof(path), "/vms/%s/%s", argv[1], verb);
    cJSON *j;
    if (call("POST", path, body[0] ? body : NULL, &j, NULL, 3700 * 1000) < 0) return 1;
    print_state(j);
    cJSON_Delete(j);
    return 0;
}

static int v_rm(int argc, char **argv)
{
    /* the flag may come first: rm --force NAME */
    for (int i = 1; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")) {
            char *t = argv[i];
            argv[i] = argv[argc - 1];
            argv[argc - 1] = t;
            break;
        }
    int r = need_name(argc, argv, "NAME [--force]\nDeletes the VM's definition and files; --force kills it first if it runs.");
    if (r >= 0) return r;
    bool force = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")) force = true;
        else return vmk_user_error("rm: unknown option '%s'", argv[i]);
    }
    char path[160];
    snprintf(path, sizeof(path), "/vms/%s%s", argv[1], force ? "?force=1" : "");
    if (call("DELETE", path, NULL, NULL, NULL, 30000) < 0) return 1;
    printf("%s: removed\n", argv[1]);
    return 0;
}

/* Prints j indented on stdout and frees it; 0. */
static int print_json(cJSON *j)
{
    char *s = cJSON_Print(j);
    puts(s);
    free(s);
    cJSON_Delete(j);
    return 0;
}

static int v_ls(int argc, char **argv)
{
    if (argc >= 2 && is_help(argv[1])) { printf("usage: vmkit ls [--json]\nLists the VMs: NAME ENGINE STATE VCPUS MEMORY UPTIME.\n"); return 0; }
    bool json = argc >= 2 && !strcmp(argv[1], "--json");
    if (argc >= 2 && !json) return vmk_user_error("ls: unknown option '%s'", argv[1]);
    cJSON *j;
    if (call("GET", "/vms", NULL, &j, NULL, 10000) < 0) return 1;
    if (json) {
        return print_json(j);
    }
    printf("%-24s %-8s %-9s %5s %8s %8s\n", "NAME", "ENGINE", "STATE", "VCPUS", "MEMORY", "UPTIME");
    const cJSON *v;
    cJSON_ArrayForEach(v, j) {
        char mem[32], up[32] = "-";
        snprintf(mem, sizeof(mem), "%.0fM", jnum(v, "mem_mib"));
        if (jnum(v, "uptime_s") > 0 || !strcmp(jstr(v, "state"), "running")) fmt_dur(jnum(v, "uptime_s"), up, sizeof(up));
        printf("%-24s %-8s %-9s %5.0f %8s %8s\n", jstr(v, "name"), jstr(v, "engine"), jstr(v, "state"),
               jnum(v, "vcpus"), mem, up);
    }
    cJSON_Delete(j);
    return 0;
}

static int v_inspect(int argc, char **argv)
{
    int r = need_name(argc, argv, "NAME\nPrints the VM's definition and state as JSON.");
    if (r >= 0) return r;
    if (argc > 2) return vmk_user_error("inspect: unexpected argument '%s'", argv[2]);
    char path[160];
    snprintf(path, sizeof(path), "/vms/%s", argv[1]);
    cJSON *j;
    if (call("GET", path, NULL, &j, NULL, 10000) < 0) return 1;
    return print_json(j);
}

static double pick(const cJSON *o, const char *a, const char *b)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, a);
    if (!v && b) v = cJSON_GetObjectItemCaseSensitive(o, b);
    return cJSON_IsNumber(v) ? v->valuedouble : -1;
}

static int v_stats(int argc, char **argv)
{
    int r = need_name(argc, argv, "NAME [--json]\nCPU time, memory, disk and network bytes, and the cgroup limits in effect.");
    if (r >= 0) return r;
    bool json = argc > 2 && !strcmp(argv[2], "--json");
    if (argc > 2 && !json) return vmk_user_error("stats: unknown option '%s'", argv[2]);
    char path[160];
    snprintf(path, sizeof(path), "/vms/%s/stats", argv[1]);
    cJSON *j;
    if (call("GET", path, NULL, &j, NULL, 10000) < 0) return 1;
    if (json) {
        return print_json(j);
    }
    printf("name:      %s\nstate:     %s\n", jstr(j, "name"), jstr(j, "state"));
    const cJSON *vm = cJSON_GetObjectItemCaseSensitive(j, "vmm"), *cg = cJSON_GetObjectItemCaseSensitive(j, "cgroup");
    char a[32], b[32];
    if (vm) {
        printf("uptime:    %.1f s\n", pick(vm, "uptime_ns", NULL) / 1e9);
        printf("cpu time:  %.3f s\n", pick(vm, "cpu_ns", NULL) / 1e9);
        fmt_bytes(pick(vm, "rss_bytes", NULL), a, sizeof(a));
        fmt_bytes(pick(vm, "mem_size", NULL), b, sizeof(b));
        printf("memory:    guest %s, VMM RSS %s\n", b, a);
        fmt_bytes(pick(vm, "disk_rd_bytes", NULL), a, sizeof(a));
        fmt_bytes(pick(vm, "disk_wr_bytes", NULL), b, sizeof(b));
        printf("disk:      read %s, written %s\n", a, b);
        fmt_bytes(pick(vm, "net_rx_bytes", NULL), a, sizeof(a));
        fmt_bytes(pick(vm, "net_tx_bytes", NULL), b, sizeof(b));
        printf("network:   rx %s, tx %s\n", a, b);
    } else if (*jstr(j, "vmm_error")) {
        printf("vmm:       %s\n", jstr(j, "vmm_error"));
    }
    if (cg) {
        printf("cgroup:    v%.0f %s\n", jnum(cg, "version"), jstr(cg, "path"));
        for (const cJSON *it = cg->child; it; it = it->next) {
            if (!strcmp(it->string, "version") || !strcmp(it->string, "path")) continue;
            if (cJSON_IsNumber(it)) printf("  %-26s %.0f\n", it->string, it->valuedouble);
            else if (cJSON_IsString(it)) printf("  %-26s %s\n", it->string, it->valuestring);
        }
    }
    cJSON_Delete(j);
    return 0;
}

static int v_logs(int argc, char **argv)
{
    int r = need_name(argc, argv, "NAME [-f] [--vmm]\nPrints the VM's console output (--vmm: the VMM's own log); -f follows it.");
    if (r >= 0) return r;
    bool follow = false, vmm = false;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "-f") || !strcmp(argv[i], "--follow")) follow = true;
        else if (!strcmp(argv[i], "--vmm")) vmm = true;
        else return vmk_user_error("logs: unknown option '%s'", argv[i]);
    }
    unsigned long long off = 0;
    for (;;) {
        char path[200], *txt = NULL;
        snprintf(path, sizeof(path), "/vms/%s/logs?offset=%llu%s", argv[1], off, vmm ? "&vmm=1" : "");
        int st = call("GET", path, NULL, NULL, &txt, 10000);
        if (st < 0) return 1;
        if (st >= 300) {
            cJSON *e = txt ? cJSON_Parse(txt) : NULL;
            vmk_user_error("%s", e && *jstr(e, "error") ? jstr(e, "error") : "cannot read the logs");
            cJSON_Delete(e);
            free(txt);
            return 1;
        }
        size_t n = txt ? strlen(txt) : 0;
        if (n) { fwrite(txt, 1, n, stdout); fflush(stdout); }
        free(txt);
        off += n;
        if (n) continue;
        if (!follow) return 0;
        usleep(300000);
    }
}

/* ---------------- console ---------------- */
static struct termios g_tio;
static bool g_raw;
static void restore_tty(void) { if (g_raw) tcsetattr(0, TCSANOW, &g_tio); g_raw = false; }

static int v_console(int argc, char **argv)
{
    int r = need_name(argc, argv, "NAME\nAttaches the terminal to the VM's serial console. Ctrl-] detaches (the VM keeps running).\n"
                                  "With input from a pipe or file: sends it, prints the output, and returns once the\n"
                                  "console has been quiet for 1 s after the input ended.");
    if (r >= 0) return r;
    char path[160];
    snprintf(path, sizeof(path), "/vms/%s", argv[1]);
    cJSON *j;
    if (call("GET", path, NULL, &j, NULL, 10000) < 0) return 1;
    if (strcmp(jstr(j, "state"), "running") && strcmp(jstr(j, "state"), "paused")) {
        int rc = vmk_user_error("%s is %s: no console to attach to", argv[1], jstr(j, "state"));
        cJSON_Delete(j);
        return rc;
    }
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", jstr(j, "console_sock"));
    cJSON_Delete(j);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        return vmk_user_error("cannot connect to the console of %s (%s): %s", argv[1], sa.sun_path, strerror(errno));
    bool tty = isatty(0);
    if (tty && tcgetattr(0, &g_tio) == 0) {
        struct termios raw = g_tio;
        cfmakeraw(&raw);
        tcsetattr(0, TCSANOW, &raw);
        g_raw = true;
        atexit(restore_tty);
        fprintf(stderr, "[attached to %s; Ctrl-] detaches]\r\n", argv[1]);
    }
    struct pollfd p[2] = { { .fd = 0, .events = POLLIN }, { .fd = fd, .events = POLLIN } };
    char buf[4096];
    bool in_open = true, got_any = false;
    for (;;) {
        /* input ended (a script piping commands): leave once the console has been quiet for 1 s */
        int pr = poll(p, 2, in_open ? -1 : 1000);
        if (pr < 0) { if (errno == EINTR) continue; break; }
        if (pr == 0) break;
        if (p[1].revents) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0) {
                restore_tty();
                if (!got_any) {   /* closed before any history arrived: the single client slot is taken */
                    close(fd);
                    return vmk_user_error("the console of %s is in use by another client", argv[1]);
                }
                fprintf(stderr, "\n[console of %s closed]\n", argv[1]);
                break;
            }
            got_any = true;
            if (write(1, buf, (size_t)n) < 0) break;
        }
        if (in_open && p[0].revents) {
            ssize_t n = read(0, buf, sizeof(buf));
            if (n <= 0) { in_open = false; p[0].fd = -1; continue; }
            char *det = tty ? memchr(buf, 0x1d, (size_t)n) : NULL;
            size_t len = det ? (size_t)(det - buf) : (size_t)n;
            if (len && send(fd, buf, len, MSG_NOSIGNAL) < 0) break;
            if (det) { restore_tty(); fprintf(stderr, "\n[detached from %s]\n", argv[1]); break; }
        }
    }
    close(fd);
    restore_tty();
    return 0;
}

/* ---------------- snapshots ---------------- */
static int v_snapshot(int argc, char **argv)
{
    if (argc >= 2 && is_help(argv[1])) {
        printf("usage: vmkit snapshot NAME DIR [--diff] [--leave-paused]\n"
               "Pauses the VM, writes a snapshot directory DIR (with the VM's definition), resumes it.\n");
        return 0;
    }
    if (argc < 3) return vmk_user_error("usage: vmkit snapshot NAME DIR [--diff] [--leave-paused]");
    if (!hv_name_ok(argv[1])) return vmk_user_error("invalid VM name '%s'", argv[1]);
    bool diff = false, leave = false;
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--diff")) diff = true;
        else if (!strcmp(argv[i], "--leave-paused")) leave = true;
        else return vmk_user_error("snapshot: unknown option '%s'", argv[i]);
    }
    char dir[PATH_MAX];
    if (argv[2][0] == '/') snprintf(dir, sizeof(dir), "%s", argv[2]);
    else {
        char cwd[PATH_MAX / 2];
        if (!getcwd(cwd, sizeof(cwd))) return vmk_user_error("getcwd: %s", strerror(errno));
        snprintf(dir, sizeof(dir), "%s/%s", cwd, argv[2]);
    }
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "dir", dir);
    cJSON_AddBoolToObject(b, "diff", diff);
    cJSON_AddBoolToObject(b, "leave_paused", leave);
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char path[160];
    snprintf(path, sizeof(path), "/vms/%s/snapshot", argv[1]);
    cJSON *j;
    int st = call("POST", path, body, &j, NULL, 700000);
    free(body);
    if (st < 0) return 1;
    printf("%s: snapshot written to %s (%s)\n", argv[1], dir, jstr(j, "state"));
    cJSON_Delete(j);
    return 0;
}

static int v_restore(int argc, char **argv, bool clone)
{
    const char *usage = clone ? "clone DIR --count N [--prefix P]\nStarts N clones of the snapshot DIR (names P-0 .. P-N-1)."
                              : "restore DIR [--name NEW]\nStarts a new VM from the snapshot DIR.";
    if (argc >= 2 && is_help(argv[1])) { printf("usage: vmkit %s\n", usage); return 0; }
    if (argc < 2) return vmk_user_error("usage: vmkit %s", usage);
    char dir[PATH_MAX];
    if (!realpath(argv[1], dir)) return vmk_user_error("snapshot '%s': %s", argv[1], strerror(errno));
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "dir", dir);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc) { cJSON_Delete(b); return vmk_user_error("%s: %s needs a value", argv[0], a); }
        const char *v = argv[++i];
        if (!clone && !strcmp(a, "--name")) cJSON_AddStringToObject(b, "name", v);
        else if (clone && !strcmp(a, "--prefix")) cJSON_AddStringToObject(b, "prefix", v);
        else if (clone && !strcmp(a, "--count")) {
            char *end;
            long n = strtol(v, &end, 10);
            if (!*v || *end || n < 1 || n > 64) { cJSON_Delete(b); return vmk_user_error("--count: '%s' is not a number 1..64", v); }
            cJSON_AddNumberToObject(b, "count", (double)n);
        } else { cJSON_Delete(b); return vmk_user_error("%s: unknown option '%s'", argv[0], a); }
    }
    if (clone && !cJSON_GetObjectItemCaseSensitive(b, "count")) { cJSON_Delete(b); return vmk_user_error("clone: --count N is required"); }
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    cJSON *j;
    int st = call("POST", clone ? "/vms/clone" : "/vms/restore", body, &j, NULL, 600000);
    free(body);
    if (st < 0) return 1;
    const cJSON *v;
    cJSON_ArrayForEach(v, j) print_state(v);
    cJSON_Delete(j);
    return 0;
}


/* ---------------- migrate ---------------- */
static volatile int g_mig_done;
static void *mig_progress(void *arg)
{
    const char *name = arg;
    char path[160], last[256] = "";
    snprintf(path, sizeof(path), "/vms/%s/migration", name);
    while (!g_mig_done) {
        usleep(250000);
        char err[VMK_ERRLEN], *resp = NULL;
        if (g_mig_done) break;
        if (vmk_http_call_unix(g_sock, "GET", path, NULL, &resp, 2000, err, sizeof(err)) == 200 && resp) {
            cJSON *j = cJSON_Parse(resp);
            char line[256];
            snprintf(line, sizeof(line), "%s: %s round %.0f, %.1f MiB sent, %.0f pages remaining, %.0f pages/s dirtied",
                     name, jstr(j, "phase"), jnum(j, "round"), jnum(j, "bytes_sent") / 1048576.0,
                     jnum(j, "pages_remaining"), jnum(j, "dirty_rate_pps"));
            if (*jstr(j, "phase") && strcmp(line, last)) { printf("%s\n", line); fflush(stdout); snprintf(last, sizeof(last), "%s", line); }
            cJSON_Delete(j);
        }
        free(resp);
    }
    return NULL;
}

static int v_migrate(int argc, char **argv)
{
    int r = need_name(argc, argv, "NAME HOST:PORT [--max-rounds N] [--max-downtime-pages N] [--copy-disks]\n"
                                  "Live-migrates the VM to the daemon listening (serve --migrate-listen) at HOST:PORT;\n"
                                  "prints progress; on success the VM here becomes \"migrated\".");
    if (r >= 0) return r;
    if (argc < 3 || !strchr(argv[2], ':')) return vmk_user_error("usage: vmkit migrate NAME HOST:PORT");
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "destination", argv[2]);
    for (int i = 3; i < argc; i++) {
        if (!strcmp(argv[i], "--copy-disks")) cJSON_AddBoolToObject(b, "copy_disks", true);
        else if (!strcmp(argv[i], "--max-rounds") && i + 1 < argc) {
            char *end;
            long n = strtol(argv[++i], &end, 10);
            if (!*argv[i] || *end || n < 1 || n > 1000) { cJSON_Delete(b); return vmk_user_error("--max-rounds: '%s' is not 1..1000", argv[i]); }
            cJSON_AddNumberToObject(b, "max_rounds", (double)n);
        } else if (!strcmp(argv[i], "--max-downtime-pages") && i + 1 < argc) {
            char *end;
            unsigned long long n = strtoull(argv[++i], &end, 10);
            if (!*argv[i] || *end || argv[i][0] == '-' || n < 1 || n > (1ull << 32)) {
                cJSON_Delete(b);
                return vmk_user_error("--max-downtime-pages: '%s' is not 1..4294967296", argv[i]);
            }
            cJSON_AddNumberToObject(b, "max_downtime_pages", (double)n);
        } else { cJSON_Delete(b); return vmk_user_error("migrate: unknown option '%s'", argv[i]); }
    }
    char *body = cJSON_PrintUnformatted(b);
    cJSON_Delete(b);
    char path[160];
    snprintf(path, sizeof(path), "/vms/%s/migrate", argv[1]);
    pthread_t t;
    g_mig_done = 0;
    bool tty = isatty(1) || getenv("VMKIT_PROGRESS");
    if (tty) pthread_create(&t, NULL, mig_progress, argv[1]);
    cJSON *j;
    int st = call("POST", path, body, &j, NULL, 3700 * 1000);
    g_mig_done = 1;
    if (tty) pthread_join(t, NULL);
    free(body);
    if (st < 0) return 1;
    printf("%s: %s to %s in %.0f ms\n", argv[1], jstr(j, "state"), argv[2], jnum(j, "migration_ms"));
    cJSON_Delete(j);
    return 0;
}

int hv_client_main(int argc, char **argv)
{
    g_sock = getenv("VMKIT_SOCK");
    if (!g_sock || !*g_sock) g_sock = VMK_DEFAULT_SOCK;
    /* --sock PATH anywhere after the verb */
    char **args = vmk_xcalloc((size_t)argc + 1, sizeof(char *));
    int n = 0;
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "--sock")) {
            if (i + 1 >= argc) { free(args); return vmk_user_error("--sock needs a path"); }
            g_sock = argv[++i];
        } else if (i > 0 && !strncmp(argv[i], "--sock=", 7)) {
            g_sock = argv[i] + 7;
        } else {
            args[n++] = argv[i];
        }
    }
    const char *v = args[0];
    int rc;
    if (!strcmp(v, "create")) rc = v_create(n, args);
    else if (!strcmp(v, "start") || !strcmp(v, "stop") || !strcmp(v, "kill") || !strcmp(v, "pause") ||
             !strcmp(v, "resume")) rc = v_action(n, args);
    else if (!strcmp(v, "ls")) rc = v_ls(n, args);
    else if (!strcmp(v, "inspect")) rc = v_inspect(n, args);
    else if (!strcmp(v, "console")) rc = v_console(n, args);
    else if (!strcmp(v, "logs")) rc = v_logs(n, args);
    else if (!strcmp(v, "stats")) rc = v_stats(n, args);
    else if (!strcmp(v, "rm")) rc = v_rm(n, args);
    else if (!strcmp(v, "snapshot")) rc = v_snapshot(n, args);
    else if (!strcmp(v, "restore")) rc = v_restore(n, args, false);
    else if (!strcmp(v, "clone")) rc = v_restore(n, args, true);
    else if (!strcmp(v, "migrate")) rc = v_migrate(n, args);
    else rc = vmk_user_error("unknown command '%s'", v);
    free(args);
    return rc;
}
