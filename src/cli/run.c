/* run.c — `vmkit run`: parses and validates the command line (every bad input is one
 * "vmkit: <problem>" line and exit status 1, before anything starts), fills a vmk_vm_config (default
 * guest from the images directory), optionally enters the jail, serves the per-VM API, and boots,
 * restores or receives (live migration) the VM and runs it. */
#include "cli.h"
#include "../base/base.h"
#include "../hv/hv.h"
#include "../riscv/riscv.h"
#include "../virtio/virtio.h"
#include "../vm/vm.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CMDLINE "console=ttyS0 earlycon=sbi"
#define X86_CMDLINE     "console=ttyS0"
#define DEFAULT_MEM     (256ull << 20)
#define MIN_MEM         (32ull << 20)
#define MAX_MEM         (64ull << 30)
#define SYSTEM_OPENSBI  "/usr/lib/riscv64-linux-gnu/opensbi/generic/fw_dynamic.bin"

static void run_usage(FILE *f)
{
    fprintf(f,
        "usage: vmkit run [options]\n"
        "Boots an RV64GC virtual machine (virt-like board: OpenSBI firmware, then Linux in S-mode) with\n"
        "the serial console (ttyS0) on the terminal. Without options: the default guest from the images\n"
        "directory ($VMKIT_IMAGES, else <dir of vmkit>/images): Image, initramfs.cpio.gz, fw_dynamic.bin.\n"
        "\n"
        "  --kernel F          RISC-V Linux Image (default: <images>/Image)\n"
        "  --initrd F|none     initramfs (default with the default kernel: <images>/initramfs.cpio.gz)\n"
        "  --bios F            OpenSBI fw_dynamic.bin (default: <images>/fw_dynamic.bin, else Debian's)\n"
        "  --cmdline S         kernel command line (default: \"" DEFAULT_CMDLINE "\")\n"
        "  --append S          appended to the kernel command line\n"
        "  --mem SIZE          guest RAM, e.g. 256M, 1G (default 256M, at least 32M)\n"
        "  --cpus N            harts, 1..%u (default 1)\n"
        "  --disk PATH[,ro]    a virtio-blk disk (repeatable, up to %d)\n"
        "  --net SPEC          user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]... | tap=NAME | none\n"
        "                      (repeatable; default: user; with --api-sock: none; with --restore or\n"
        "                      --incoming: the saved VM's own networks)\n"
        "  --console SPEC      stdio (default) | socket=PATH (unix socket server) | null\n"
        "  --no-reboot         exit (status 0) when the guest reboots instead of starting it again\n"
        "  --arch riscv64|x86_64  engine: the software RISC-V machine (default) or x86-64 on KVM; x86_64's\n"
        "                      default guest is <images>/x86_64/{bzImage,initramfs.cpio.gz} (make images-x86)\n"
        "  --accel tcg|kvm     the same choice by accelerator: tcg = riscv64, kvm = x86_64\n"
        "  --name NAME         the VM's id (GET / of the API, migration hello; default \"vmkit\")\n"
        "  --api-sock PATH     serve the Firecracker-compatible per-VM API on this unix socket (mode 0600)\n"
        "                      and wait for PUT /actions InstanceStart or PUT /snapshot/load; the other\n"
        "                      options are the initial configuration (docs/firecracker-api.md)\n"
        "  --start             with --api-sock: boot at once from the command line\n"
        "  --restore DIR       continue the VM saved in snapshot directory DIR instead of booting; --disk\n"
        "                      then replaces the snapshot's disks in order (same count; size and mtime\n"
        "                      still checked), e.g. where a jailed VMM recorded its in-jail paths\n"
        "  --clone-dir D       with --restore: run it as a clone (disks become copy-on-write overlays in D)\n"
        "  --clone-index N     with --clone-dir: this clone's number (0..65535; gives it a fresh MAC)\n"
        "  --force-disks       with --restore: accept disks changed since the snapshot\n"
        "  --paused            with --restore: start paused (resume through the API)\n"
        "  --incoming tcp:[ADDR]:PORT  receive a live migration: listen, accept one source, check its\n"
        "                      hello, then run the received VM\n"
        "  --incoming-fd N     receive a live migration on fd N (connection accepted, hello answered)\n"
        "                      (with --incoming*: --disk replaces the stream's disk paths in order)\n"
        "  --allowed-root ROOT with --incoming*: refuse a stream naming a kernel, initrd, firmware or disk\n"
        "                      (or copy_disks target) outside ROOT (realpath; a jailed VMM is confined\n"
        "                      by its jail instead: use --jail-root)\n"
        "  --jail DIR          run jailed (root only): namespaces, root <DIR>/root holding only the VM's\n"
        "                      files, seccomp, unprivileged --uid/--gid; sockets (--api-sock, --console\n"
        "                      socket=) must be inside <DIR>/root. With --restore the snapshot directory\n"
        "                      (and a diff's parents) is bound read-only, its disks as recorded (or the\n"
        "                      --disk given), a --clone-dir outside <DIR>/root read-write. The jailed VMM\n"
        "                      gets its own empty network namespace only with --net none and neither\n"
        "                      --api-sock (a migration needs TCP) nor --incoming\n"
        "  --uid N, --gid N    with --jail: the unprivileged user and group the VMM runs as\n"
        "  --jail-root ROOT    with --jail: every file of the VM must be inside ROOT\n"
        "  --help              this text\n"
        "\n"
        "Console: Ctrl-A x quits, Ctrl-A h helps, Ctrl-A Ctrl-A sends Ctrl-A.\n"
        "A guest reboot starts a fresh VM from the same options (images are read again) unless --no-reboot.\n"
        "Exit status: 0 when the guest powers off (or reboots with --no-reboot), on Ctrl-A x, or after a\n"
        "successful outgoing live migration; the guest's code when it reports a failure through the test\n"
        "device; 128+N on signal N (SIGTERM, SIGINT, SIGHUP: clean shutdown, disks flushed, terminal\n"
        "restored); 1 on a bad option.\n",
        RV_MAX_CPUS, VMK_VM_MAX_DISKS);
}


static bool is_file(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* "a readable regular file" check; returns NULL or a message. */
static const char *check_readable(const char *path, bool want_write)
{
    struct stat st;
    if (!*path) return "empty path";
    if (stat(path, &st) != 0) return strerror(errno);
    if (S_ISDIR(st.st_mode)) return "is a directory";
    if (access(path, want_write ? (R_OK | W_OK) : R_OK) != 0) return strerror(errno);
    return NULL;
}

static char *images_dir(void)
{
    const char *env = getenv("VMKIT_IMAGES");
    if (env && *env) return vmk_xstrdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0) return vmk_xstrdup("build/images");
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    size_t len = strlen(exe) + 16;
    char *d = vmk_xmalloc(len);
    snprintf(d, len, "%s/images", exe);
    return d;
}

static char *join(const char *dir, const char *name)
{
    size_t len = strlen(dir) + strlen(name) + 2;
    char *p = vmk_xmalloc(len);
    snprintf(p, len, "%s/%s", dir, name);
    return p;
}

/* Strings allocated while parsing live until cmd_run returns. */
static void *g_owned[2 * (VMK_VM_MAX_DISKS + VMK_VM_MAX_NETS) + 48];
static unsigned g_nowned;
static void *own(void *p)
{
    if (g_nowned < sizeof(g_owned) / sizeof(g_owned[0])) g_owned[g_nowned++] = p;
    return p;
}

static vmk_vm *volatile g_vm;
static volatile sig_atomic_t g_signal;

static vmk_api *volatile g_api;

static void on_signal(int sig)
{
    g_signal = sig;
    vmk_vm *vm = g_vm;
    if (vm) vmk_vm_request_stop(vm, 128 + sig);
    vmk_api *api = g_api;
    if (api) vmk_api_interrupt(api);
}

/* Parses "--opt VALUE" or "--opt=VALUE". Returns the value, NULL if argv[*i] is not opt; sets *missing. */
static const char *optval(int argc, char **argv, int *i, const char *opt, bool *missing)
{
    size_t n = strlen(opt);
    const char *a = argv[*i];
    if (strncmp(a, opt, n) != 0) return NULL;
    if (a[n] == '=') return a + n + 1;
    if (a[n] != 0) return NULL;
    if (*i + 1 >= argc) { *missing = true; return NULL; }
    return argv[++*i];
}

static int run_main(int argc, char **argv);
int cmd_run(int argc, char **argv)
{
    int r = run_main(argc, argv);
    while (g_nowned) free(g_owned[--g_nowned]);
    return r;
}

static bool parse_uint(const char *v, unsigned long max, unsigned long *out)
{
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (!*v || *end || errno || v[0] == '-' || v[0] == '+' || n > max) return false;
    *out = n;
    return true;
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    if (!n || n > 63) return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || strchr("._-", *s)))
            return false;
    return true;
}

/* Deep copy of a configuration's strings (a restored or received VM reboots from its own config). */
static void cfg_dup(vmk_vm_config *d, const vmk_vm_config *s)
{
    *d = *s;
    d->kernel = s->kernel ? own(vmk_xstrdup(s->kernel)) : NULL;
    d->initrd = s->initrd ? own(vmk_xstrdup(s->initrd)) : NULL;
    d->bios = s->bios ? own(vmk_xstrdup(s->bios)) : NULL;
    d->cmdline = s->cmdline ? own(vmk_xstrdup(s->cmdline)) : NULL;
    d->console = s->console ? own(vmk_xstrdup(s->console)) : NULL;
    for (unsigned i = 0; i < s->ndisks; i++) d->disks[i].path = own(vmk_xstrdup(s->disks[i].path));
    for (unsigned i = 0; i < s->nnets; i++) d->nets[i] = own(vmk_xstrdup(s->nets[i]));
}

/* A socket path under the jail: "<dir>/root/NAME" becomes "/NAME" (inside); NULL when outside. */
static const char *jail_inside(const char *dir, const char *path)
{
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    if (strncmp(path, dir, n) || strncmp(path + n, "/root/", 6) || !path[n + 6]) return NULL;
    const char *rest = path + n + 5;
    if (strchr(rest + 1, '/')) return NULL;       /* directly in the jail's root */
    return rest;
}

/* --incoming tcp:[ADDR]:PORT: listening socket or -1 (message printed). */
static int incoming_listen(const char *spec)
{
    char host[256];
    const char *hp = spec + 4, *colon = strrchr(hp, ':');
    if (!colon || !colon[1] || (size_t)(colon - hp) >= sizeof(host)) return -1;
    memcpy(host, hp, (size_t)(colon - hp));
    host[colon - hp] = 0;
    char *h = host;
    if (*h == '[' && h[strlen(h) - 1] == ']') { h[strlen(h) - 1] = 0; h++; }
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE }, *res;
    int g = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &res);
    if (g) { vmk_user_error("--incoming '%s': %s", spec, gai_strerror(g)); return -2; }
    int fd = -1, e = 0;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
        if (fd < 0) { e = errno; continue; }
        int one = 1;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 1) < 0) { e = errno; close(fd); fd = -1; }
    }
    freeaddrinfo(res);
    if (fd < 0) { vmk_user_error("--incoming '%s': cannot listen: %s", spec, strerror(e)); return -2; }
    return fd;
}

static bool read_full(int fd, void *buf, size_t n, int timeout_ms)
{
    uint8_t *p = buf;
    while (n) {
        struct pollfd q = { .fd = fd, .events = POLLIN };
        int r = poll(&q, 1, timeout_ms);
        if (r < 0 && errno == EINTR) return false;
        if (r <= 0) return false;
        ssize_t k = read(fd, p, n);
        if (k <= 0) return false;
        p += k;
        n -= (size_t)k;
    }
    return true;
}

static void refuse(int fd, const char *msg)
{
    uint8_t h[5] = { 'R', (uint8_t)strlen(msg), 0, 0, 0 };
    if (send(fd, h, 5, MSG_NOSIGNAL) == 5) { ssize_t w = send(fd, msg, strlen(msg), MSG_NOSIGNAL); (void)w; }
}

/* Reads and checks the migration hello (hv.h); answers 'A' or 'R'. 0 or -1 with err. */
static int incoming_hello(int fd, char *err, size_t errlen)
{
    uint8_t h[16];
    if (!read_full(fd, h, 16, 30000)) { vmk_seterr(err, errlen, "no migration hello from the source"); return -1; }
    uint32_t ver = (uint32_t)h[8] | (uint32_t)h[9] << 8 | (uint32_t)h[10] << 16 | (uint32_t)h[11] << 24;
    uint32_t len = (uint32_t)h[12] | (uint32_t)h[13] << 8 | (uint32_t)h[14] << 16 | (uint32_t)h[15] << 24;
    const char *why = NULL;
    if (memcmp(h, VMK_MIG_MAGIC, 8)) why = "not a vmkit migration stream";
    else if (ver != VMK_MIG_VERSION) why = "unsupported migration hello version";
    else if (len == 0 || len > VMK_MIG_HELLO_MAX) why = "bad migration hello length";
    char *js = NULL;
    if (!why) {
        js = vmk_xmalloc(len + 1);
        if (!read_full(fd, js, len, 30000)) why = "truncated migration hello";
        else {
            js[len] = 0;
            cJSON *j = cJSON_ParseWithLength(js, len);
            cJSON *name = cJSON_GetObjectItemCaseSensitive(j, "name");
            cJSON *def = cJSON_GetObjectItemCaseSensitive(j, "definition");
            if (!cJSON_IsObject(j) || !cJSON_IsString(name) || (def && !cJSON_IsObject(def))) why = "malformed migration hello";
            cJSON_Delete(j);
        }
    }
    free(js);
    if (why) {
        refuse(fd, why);
        vmk_seterr(err, errlen, "%s", why);
        return -1;
    }
    if (send(fd, "A", 1, MSG_NOSIGNAL) != 1) { vmk_seterr(err, errlen, "the source went away"); return -1; }
    return 0;
}

static int run_main(int argc, char **argv)
{
    vmk_vm_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    cfg.engine = VMK_ENGINE_RISCV;
    cfg.mem_size = DEFAULT_MEM;
    cfg.ncpus = 1;
    cfg.console = "stdio";
    const char *cmdline = NULL, *append = NULL;
    bool net_given = false, net_none = false, no_reboot = false;
    bool start = false, force_disks = false, paused = false, mem_given = false, cpus_given = false;
    const char *api_sock = NULL, *arch = NULL, *accel = NULL, *restore = NULL, *clone_dir = NULL, *name = NULL;
    const char *incoming = NULL, *jail_dir = NULL, *jail_root = NULL, *allowed_root = NULL;
    long clone_index = -1, incoming_fd = -1, uid = -1, gid = -1;
    enum { OPT_KERNEL, OPT_INITRD, OPT_BIOS, OPT_CMDLINE, OPT_APPEND, OPT_MEM, OPT_CPUS, OPT_DISK, OPT_NET, OPT_CONSOLE, OPT_API, OPT_ARCH,
           OPT_ACCEL, OPT_RESTORE, OPT_CLONE_DIR, OPT_CLONE_INDEX, OPT_INCOMING, OPT_INCOMING_FD, OPT_JAIL, OPT_UID, OPT_GID,
           OPT_JAIL_ROOT, OPT_NAME, OPT_ALLOWED_ROOT, OPT_COUNT };
    static const char *const opts[OPT_COUNT] = { "--kernel", "--initrd", "--bios", "--cmdline", "--append", "--mem",
                                               "--cpus", "--disk", "--net", "--console", "--api-sock", "--arch",
                                               "--accel", "--restore", "--clone-dir", "--clone-index", "--incoming",
                                               "--incoming-fd", "--jail", "--uid", "--gid", "--jail-root", "--name",
                                               "--allowed-root" };

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { run_usage(stdout); return 0; }
        if (!strcmp(a, "--no-reboot")) { no_reboot = true; continue; }
        if (!strcmp(a, "--start")) { start = true; continue; }
        if (!strcmp(a, "--force-disks")) { force_disks = true; continue; }
        if (!strcmp(a, "--paused")) { paused = true; continue; }
        const char *v = NULL;
        bool missing = false;
        int k;
        for (k = 0; k < OPT_COUNT; k++) {
            v = optval(argc, argv, &i, opts[k], &missing);
            if (v || missing) break;
        }
        if (missing) return vmk_user_error("option %s needs a value (see vmkit run --help)", a);
        if (!v) return vmk_user_error("unknown option '%s' (see vmkit run --help)", a);
        unsigned long n;
        switch (k) {
        case OPT_KERNEL: cfg.kernel = v; break;
        case OPT_INITRD: cfg.initrd = v; break;
        case OPT_BIOS: cfg.bios = v; break;
        case OPT_CMDLINE: cmdline = v; break;
        case OPT_APPEND: append = v; break;
        case OPT_MEM: {
            uint64_t sz;
            if (vmk_parse_size(v, &sz) < 0) return vmk_user_error("--mem: '%s' is not a size (e.g. 256M, 1G)", v);
            if (sz < MIN_MEM) return vmk_user_error("--mem: %s is too small (at least 32M)", v);
            if (sz > MAX_MEM) return vmk_user_error("--mem: %s is too large (at most 64G)", v);
            if (sz % 4096) return vmk_user_error("--mem: %s is not a multiple of 4 KiB", v);
            cfg.mem_size = sz;
            mem_given = true;
            break;
        }
        case OPT_CPUS:
            if (!parse_uint(v, RV_MAX_CPUS, &n) || n < 1)
                return vmk_user_error("--cpus: '%s' is not a number between 1 and %u", v, RV_MAX_CPUS);
            cfg.ncpus = (unsigned)n;
            cpus_given = true;
            break;
        case OPT_DISK: {
            if (cfg.ndisks >= VMK_VM_MAX_DISKS) return vmk_user_error("--disk: at most %d disks", VMK_VM_MAX_DISKS);
            char *s = own(vmk_xstrdup(v));
            char *comma = strchr(s, ',');
            bool ro = false;
            if (comma) {
                *comma = 0;
                for (char *o = strtok(comma + 1, ","); o; o = strtok(NULL, ",")) {
                    if (!strcmp(o, "ro")) ro = true;
                    else if (!strcmp(o, "rw")) ro = false;
                    else return vmk_user_error("--disk '%s': unknown option '%s' (use PATH[,ro])", v, o);
                }
            }
            if (!*s) return vmk_user_error("--disk '%s': empty path", v);
            cfg.disks[cfg.ndisks].path = s;
            cfg.disks[cfg.ndisks].readonly = ro;
            cfg.ndisks++;
            break;
        }
        case OPT_NET: {
            char err[VMK_ERRLEN];
            net_given = true;
            if (!strcmp(v, "none")) { net_none = true; break; }
            if (cfg.nnets >= VMK_VM_MAX_NETS) return vmk_user_error("--net: at most %d networks", VMK_VM_MAX_NETS);
            if (virtio_net_parse_spec(v, err, sizeof(err)) < 0) return vmk_user_error("--net '%s': %s", v, err);
            cfg.nets[cfg.nnets++] = v;
            break;
        }
        case OPT_CONSOLE:
            if (strcmp(v, "stdio") && strcmp(v, "null") && (strncmp(v, "socket=", 7) || !v[7]))
                return vmk_user_error("--console: '%s' is not stdio, socket=PATH or null", v);
            cfg.console = v;
            break;
        case OPT_API:
            if (!*v) return vmk_user_error("--api-sock: empty path");
            if (strlen(v) >= 108) return vmk_user_error("--api-sock: '%s' is too long for a unix socket path", v);
            api_sock = v;
            break;
        case OPT_ARCH:
            if (strcmp(v, "riscv64") && strcmp(v, "x86_64")) return vmk_user_error("--arch: '%s' is not riscv64 or x86_64", v);
            arch = v;
            break;
        case OPT_ACCEL:
            if (strcmp(v, "tcg") && strcmp(v, "kvm")) return vmk_user_error("--accel: '%s' is not tcg or kvm", v);
            accel = v;
            break;
        case OPT_RESTORE:
            if (!*v) return vmk_user_error("--restore: empty path");
            restore = v;
            break;
        case OPT_CLONE_DIR:
            if (!*v) return vmk_user_error("--clone-dir: empty path");
            clone_dir = v;
            break;
        case OPT_CLONE_INDEX:
            if (!parse_uint(v, 65535, &n)) return vmk_user_error("--clone-index: '%s' is not a number between 0 and 65535", v);
            clone_index = (long)n;
            break;
        case OPT_INCOMING:
            if (strncmp(v, "tcp:", 4) || !strrchr(v + 4, ':') || !strrchr(v + 4, ':')[1] ||
                !parse_uint(strrchr(v + 4, ':') + 1, 65535, &n) || n == 0)
                return vmk_user_error("--incoming: '%s' is not tcp:[ADDR]:PORT", v);
            incoming = v;
            break;
        case OPT_INCOMING_FD:
            if (!parse_uint(v, INT_MAX, &n) || n < 3) return vmk_user_error("--incoming-fd: '%s' is not a file descriptor (3 or more)", v);
            if (fcntl((int)n, F_GETFD) < 0) return vmk_user_error("--incoming-fd: fd %s is not open", v);
            incoming_fd = (long)n;
            break;
        case OPT_JAIL:
            if (v[0] != '/') return vmk_user_error("--jail: '%s' is not an absolute path", v);
            jail_dir = v;
            break;
        case OPT_UID:
            if (!parse_uint(v, 0xfffffffeul, &n) || n == 0) return vmk_user_error("--uid: '%s' is not an unprivileged user id (1 or more)", v);
            uid = (long)n;
            break;
        case OPT_GID:
            if (!parse_uint(v, 0xfffffffeul, &n) || n == 0) return vmk_user_error("--gid: '%s' is not an unprivileged group id (1 or more)", v);
            gid = (long)n;
            break;
        case OPT_JAIL_ROOT:
            if (!*v) return vmk_user_error("--jail-root: empty path");
            jail_root = v;
            break;
        case OPT_ALLOWED_ROOT: {
            struct stat st;
            if (v[0] != '/') return vmk_user_error("--allowed-root: '%s' is not an absolute path", v);
            if (stat(v, &st) != 0 || !S_ISDIR(st.st_mode)) return vmk_user_error("--allowed-root: '%s' is not a directory", v);
            allowed_root = v;
            break;
        }
        case OPT_NAME:
            if (!name_ok(v)) return vmk_user_error("--name: '%s' is not a VM name (1-63 letters, digits, '.', '_' or '-')", v);
            name = v;
            break;
        }
    }

    /* combinations */
    if (accel && arch && (!strcmp(accel, "kvm")) != (!strcmp(arch, "x86_64"))) {
        if (!strcmp(arch, "riscv64")) return vmk_user_error("--arch riscv64 runs on the software engine only: use --accel tcg (or --arch x86_64 for KVM)");
        return vmk_user_error("--arch x86_64 runs on KVM only: use --accel kvm");
    }
    bool x86 = (arch && !strcmp(arch, "x86_64")) || (accel && !strcmp(accel, "kvm"));
    if (x86) cfg.engine = VMK_ENGINE_KVM_X86;
    if (start && !api_sock) return vmk_user_error("--start needs --api-sock (without the API, vmkit run boots at once)");
    int sources = (restore != NULL) + (incoming != NULL) + (incoming_fd >= 0);
    if (sources > 1) return vmk_user_error("--restore, --incoming and --incoming-fd cannot be combined");
    if (sources && start) return vmk_user_error("--start boots from the command line: it cannot be combined with --restore or --incoming");
    if ((clone_dir || clone_index >= 0 || force_disks || paused) && !restore)
        return vmk_user_error("%s needs --restore", clone_dir ? "--clone-dir" : clone_index >= 0 ? "--clone-index" :
                                         force_disks ? "--force-disks" : "--paused");
    if (clone_index >= 0 && !clone_dir) return vmk_user_error("--clone-index needs --clone-dir");
    if (sources) {
        const char *given = cfg.kernel ? "--kernel" : cfg.initrd ? "--initrd" : cfg.bios ? "--bios" : cmdline ? "--cmdline" :
                            append ? "--append" : mem_given ? "--mem" : cpus_given ? "--cpus" :
                            (arch || accel) ? (arch ? "--arch" : "--accel") : NULL;
        if (given) return vmk_user_error("%s cannot be combined with %s: the machine comes from the %s", given,
                              restore ? "--restore" : "--incoming", restore ? "snapshot" : "migration stream");
    }
    if ((uid >= 0 || gid >= 0 || jail_root) && !jail_dir)
        return vmk_user_error("%s needs --jail", uid >= 0 ? "--uid" : gid >= 0 ? "--gid" : "--jail-root");
    if (jail_dir && (uid < 0 || gid < 0)) return vmk_user_error("--jail needs --uid and --gid");
    if (allowed_root && !incoming && incoming_fd < 0) return vmk_user_error("--allowed-root needs --incoming or --incoming-fd");
    if (allowed_root && jail_dir) return vmk_user_error("--allowed-root cannot be combined with --jail: the jail confines the stream's paths (use --jail-root)");
    if (cfg.ndisks && sources) {          /* overrides: the files must be usable here */
        const char *why;
        for (unsigned i = 0; i < cfg.ndisks; i++)
            if ((why = check_readable(cfg.disks[i].path, !cfg.disks[i].readonly)))
                return vmk_user_error("disk '%s': %s", cfg.disks[i].path, why);
    }
    if (jail_dir && api_sock && !jail_inside(jail_dir, api_sock))
        return vmk_user_error("--api-sock: with --jail the socket must be directly inside %s/root", jail_dir);
    if (jail_dir && !strncmp(cfg.console, "socket=", 7) && !jail_inside(jail_dir, cfg.console + 7))
        return vmk_user_error("--console: with --jail the socket must be directly inside %s/root", jail_dir);
    /* --restore: the snapshot's disks (recorded, or the --disk overrides) and, for a diff, the
     * directories of its parents, which a jailed VMM gets bound into its jail */
    static char snap_disks[VMK_VM_MAX_DISKS][4096], parents[16][4096];
    bool snap_ro[VMK_VM_MAX_DISKS];
    unsigned nsnap = 0, nparents = 0;
    const char *parent_ptr[16];
    static char restore_host[PATH_MAX];   /* jailed: diffs of this VM name the snapshot by its host path */
    if (restore) {
        struct stat st;
        char err[VMK_ERRLEN];
        if (stat(restore, &st) != 0) return vmk_user_error("--restore '%s': %s", restore, strerror(errno));
        if (!S_ISDIR(st.st_mode)) return vmk_user_error("--restore '%s': not a snapshot directory", restore);
        if (vmk_snapshot_disks(restore, snap_disks, snap_ro, &nsnap, err, sizeof(err)) < 0) return vmk_user_error("%s", err);
        if (jail_dir && !realpath(restore, restore_host)) return vmk_user_error("--restore '%s': %s", restore, strerror(errno));
        if (cfg.ndisks && cfg.ndisks != nsnap)
            return vmk_user_error("--disk: the snapshot has %u disk(s), %u given", nsnap, cfg.ndisks);
        if (jail_dir) {
            if (vmk_snapshot_parents(restore, parents, 16 - 2 - nsnap, &nparents, err, sizeof(err)) < 0) return vmk_user_error("%s", err);
            for (unsigned i = 0; i < nparents; i++) parent_ptr[i] = parents[i];
            for (unsigned i = 0; i < nsnap; i++) {
                if (cfg.ndisks) { cfg.disks[i].readonly = snap_ro[i]; continue; }    /* the snapshot says */
                if (!is_file(snap_disks[i]))
                    return vmk_user_error("--restore: disk %s of the snapshot is not here (a jailed VMM's snapshot records its in-jail paths): pass --disk", snap_disks[i]);
                cfg.disks[i].path = snap_disks[i];
                cfg.disks[i].readonly = snap_ro[i];
            }
            cfg.ndisks = nsnap;
        }
    }
    /* a jailed clone's overlays go to a directory bound read-write, or one directly in the jail */
    const char *clone_inside = jail_dir && clone_dir ? jail_inside(jail_dir, clone_dir) : NULL;
    if (jail_dir && clone_dir && !clone_inside) {
        struct stat st;
        if (mkdir(clone_dir, 0700) == 0) {
            if (chown(clone_dir, (uid_t)uid, (gid_t)gid) < 0) return vmk_user_error("--clone-dir '%s': chown: %s", clone_dir, strerror(errno));
        } else if (errno != EEXIST) {
            return vmk_user_error("--clone-dir '%s': %s", clone_dir, strerror(errno));
        }
        if (stat(clone_dir, &st) != 0 || !S_ISDIR(st.st_mode)) return vmk_user_error("--clone-dir '%s': not a directory", clone_dir);
    }

    bool api_wait = api_sock && !start && !sources;   /* the images may come later, through the API */
    bool no_initrd = cfg.initrd && !strcmp(cfg.initrd, "none");
    if (no_initrd) cfg.initrd = NULL;
    if (net_none && cfg.nnets) return vmk_user_error("--net none cannot be combined with other --net options");
    if (!net_given && !api_sock && !sources) cfg.nets[cfg.nnets++] = "user";

    char *imgdir = own(images_dir());
    const char *x86_kernel = NULL, *x86_initrd = NULL;
    char err[VMK_ERRLEN];
    if (!sources) {
        /* images: the default guest, or the files given */
        bool default_kernel = cfg.kernel == NULL;
        if (x86) {
            if (cfg.bios) return vmk_user_error("--bios is for riscv64 only (x86_64 boots the kernel directly)");
            if (default_kernel) {
                char *k = own(join(imgdir, "x86_64/bzImage"));
                if (is_file(k)) {
                    cfg.kernel = k;
                    if (!cfg.initrd && !no_initrd) {
                        char *r = own(join(imgdir, "x86_64/initramfs.cpio.gz"));
                        if (is_file(r)) cfg.initrd = r;
                        else if (!api_wait) return vmk_user_error("the default x86_64 guest images are missing (no %s): run `make images-x86`", r);
                    }
                } else if (!api_wait) {
                    return vmk_user_error("the default x86_64 guest images are missing (no %s): run `make images-x86` or pass --kernel", k);
                }
            }
        } else {
            if (default_kernel) {
                char *k = own(join(imgdir, "Image"));
                if (is_file(k)) {
                    cfg.kernel = k;
                    if (!cfg.initrd && !no_initrd) {
                        char *r = own(join(imgdir, "initramfs.cpio.gz"));
                        if (!is_file(r) && !api_wait) return vmk_user_error("the default guest images are missing (no %s): run `make images`", r);
                        if (is_file(r)) cfg.initrd = r;
                    }
                } else if (!api_wait) {
                    return vmk_user_error("the default guest images are missing (no %s): run `make images` or pass --kernel", k);
                }
                /* the API may switch the default guest to x86_64 (machine-config vmkit_arch) */
                char *xk = own(join(imgdir, "x86_64/bzImage")), *xr = own(join(imgdir, "x86_64/initramfs.cpio.gz"));
                if (is_file(xk)) { x86_kernel = xk; x86_initrd = is_file(xr) ? xr : NULL; }
            }
            if (!cfg.bios) {
                char *b = own(join(imgdir, "fw_dynamic.bin"));
                if (is_file(b)) cfg.bios = b;
                else if (is_file(SYSTEM_OPENSBI)) cfg.bios = SYSTEM_OPENSBI;
                else if (!api_wait)
                    return vmk_user_error("no OpenSBI firmware: %s and %s are missing (install opensbi or pass --bios)", b, SYSTEM_OPENSBI);
            }
        }
        const char *why;
        if (cfg.kernel && (why = check_readable(cfg.kernel, false))) return vmk_user_error("kernel '%s': %s", cfg.kernel, why);
        if (cfg.initrd && (why = check_readable(cfg.initrd, false))) return vmk_user_error("initrd '%s': %s", cfg.initrd, why);
        if (cfg.bios && (why = check_readable(cfg.bios, false))) return vmk_user_error("firmware '%s': %s", cfg.bios, why);
        for (unsigned i = 0; i < cfg.ndisks; i++)
            if ((why = check_readable(cfg.disks[i].path, !cfg.disks[i].readonly)))
                return vmk_user_error("disk '%s': %s", cfg.disks[i].path, why);
        if (cfg.kernel && !x86 && rv_check_kernel(cfg.kernel, err, sizeof(err)) < 0) return vmk_user_error("%s", err);

        const char *base = cmdline ? cmdline : x86 ? X86_CMDLINE : DEFAULT_CMDLINE;
        size_t cl = strlen(base) + (append ? strlen(append) + 1 : 0) + 1;
        char *full = own(vmk_xmalloc(cl));
        snprintf(full, cl, "%s%s%s", base, append ? " " : "", append ? append : "");
        cfg.cmdline = full;
    }

    /* the jail, before opening anything */
    if (jail_dir) {
        vmk_jail_cfg j;
        memset(&j, 0, sizeof(j));
        j.dir = jail_dir;
        j.uid = (uid_t)uid;
        j.gid = (gid_t)gid;
        j.allowed_root = jail_root;
        if (restore && jail_root) {
            /* the jail checks every bound file against its allowed root, but the snapshot's
             * directories are not drives: the drives are checked here instead (canonical paths) */
            char rr[PATH_MAX], rp[PATH_MAX];
            if (!realpath(jail_root, rr)) return vmk_user_error("--jail-root '%s': %s", jail_root, strerror(errno));
            size_t l = strlen(rr);
            for (unsigned i = 0; i < cfg.ndisks; i++)
                if (!realpath(cfg.disks[i].path, rp) || (l > 1 && (strncmp(rp, rr, l) || (rp[l] && rp[l] != '/'))))
                    return vmk_user_error("--jail: drive path %s is outside the VM's directory %s", cfg.disks[i].path, jail_root);
            j.allowed_root = NULL;
        }
        bool tap = false;
        for (unsigned i = 0; i < cfg.nnets; i++) tap |= !strncmp(cfg.nets[i], "tap=", 4);
        /* TAP devices, slirp's sockets and the --incoming listener live in the host's network
         * namespace, and so do outgoing migrations (PUT /vmkit/migrate through --api-sock): a new
         * (empty) one only when the VM is explicitly without network and has neither */
        j.new_netns = net_none && !incoming && incoming_fd < 0 && !api_sock;
        j.need_tun = tap || (api_sock && access("/dev/net/tun", R_OK | W_OK) == 0);
        j.need_kvm = x86;
        if (cfg.kernel) { j.ro[j.nfiles] = true; j.files[j.nfiles++] = &cfg.kernel; }
        if (cfg.initrd) { j.ro[j.nfiles] = true; j.files[j.nfiles++] = &cfg.initrd; }
        if (cfg.bios) { j.ro[j.nfiles] = true; j.files[j.nfiles++] = &cfg.bios; }
        for (unsigned i = 0; i < cfg.ndisks; i++) { j.ro[j.nfiles] = cfg.disks[i].readonly; j.files[j.nfiles++] = &cfg.disks[i].path; }
        if (restore) { j.ro[j.nfiles] = true; j.files[j.nfiles++] = &restore; }
        for (unsigned i = 0; i < nparents; i++) { j.ro[j.nfiles] = true; j.files[j.nfiles++] = &parent_ptr[i]; }
        if (clone_dir && !clone_inside) { j.ro[j.nfiles] = false; j.files[j.nfiles++] = &clone_dir; }
        if (incoming_fd >= 0) j.keep_fds[j.nkeep++] = (int)incoming_fd;
        const char *api_inside = api_sock ? jail_inside(jail_dir, api_sock) : NULL;
        const char *con_inside = !strncmp(cfg.console, "socket=", 7) ? jail_inside(jail_dir, cfg.console + 7) : NULL;
        if (vmk_jail_enter(&j, err, sizeof(err)) < 0) return vmk_user_error("--jail: %s", err);
        /* in the jail now (the waiter outside never returns) */
        if (api_inside) api_sock = api_inside;
        if (clone_inside) clone_dir = clone_inside;
        if (con_inside) {
            size_t len = strlen(con_inside) + 8;
            char *c = own(vmk_xmalloc(len));
            snprintf(c, len, "socket=%s", con_inside);
            cfg.console = c;
        }
        vmk_jail_set_engine(x86);
        vmk_thread_hook = vmk_jail_thread_hook;
    }

    /* handlers first: a signal while the VM is being built (terminal already raw) must not kill us */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    vmk_api *api = NULL;
    if (api_sock) {
        vmk_api_opts ao = { .sock_path = api_sock, .vm_id = name, .initial = &cfg, .x86_kernel = x86_kernel,
                            .x86_initrd = x86_initrd, .x86_cmdline = X86_CMDLINE,
                            .test_forbidden_syscall = jail_dir ? vmk_jail_test_forbidden_syscall : NULL,
                            .external_start = !api_wait };
        if (!(api = vmk_api_new(&ao, err, sizeof(err)))) return vmk_user_error("--api-sock: %s", err);
        g_api = api;
    }

    /* the first VM */
    vmk_restore_opts ro;
    memset(&ro, 0, sizeof(ro));
    ro.console = cfg.console;
    ro.force_disks = force_disks;
    ro.clone_dir = clone_dir;
    ro.clone_index = clone_index >= 0 ? (unsigned)clone_index : 0;
    ro.start_paused = paused;
    for (unsigned i = 0; i < cfg.nnets; i++) ro.nets[i] = cfg.nets[i];
    ro.nnets = cfg.nnets;
    ro.nets_set = net_given;
    for (unsigned i = 0; i < cfg.ndisks && sources; i++) ro.disk_paths[i] = cfg.disks[i].path;   /* in-jail when jailed */
    for (unsigned i = 0; i < nparents; i++) ro.parent_dirs[i] = parent_ptr[i];
    ro.nparent_dirs = nparents;
    ro.allowed_root = allowed_root;
    ro.record_dir = restore_host[0] ? restore_host : NULL;
    vmk_vm *vm = NULL;
    bool from_api = false;
    int status = 0;
    if (restore) {
        vm = vmk_vm_restore(restore, &ro, err, sizeof(err));
    } else if (incoming || incoming_fd >= 0) {
        int fd = (int)incoming_fd;
        if (incoming) {
            int lfd = incoming_listen(incoming);
            if (lfd < 0) { status = 1; goto out; }
            fprintf(stderr, "vmkit: waiting for the migration on %s\n", incoming + 4);
            do fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
            while (fd < 0 && errno == EINTR && !g_signal);
            close(lfd);
            if (fd < 0) { if (!g_signal) vmk_seterr(err, sizeof(err), "--incoming: accept: %s", strerror(errno)); goto built; }
            if (incoming_hello(fd, err, sizeof(err)) < 0) { close(fd); fd = -1; goto built; }
        }
        vm = vmk_vm_migrate_recv(fd, &ro, err, sizeof(err));
        if (!vm) close(fd);
    } else if (api_wait) {
        vm = vmk_api_wait_vm(api);
        from_api = true;
        err[0] = 0;
    } else {
        vm = vmk_vm_new(&cfg, err, sizeof(err));
    }
built:
    if (!vm) {
        if (g_signal) goto out;
        status = vmk_user_error("%s", err[0] ? err : "cannot start the VM");
        goto out;
    }
    if (sources) cfg_dup(&cfg, vmk_vm_config_of(vm));   /* a reboot starts the same machine afresh */
    for (;;) {
        if (api) vmk_api_attach(api, vm);
        g_vm = vm;
        if (g_signal) vmk_vm_request_stop(vm, 128 + g_signal);
        if (jail_dir) vmk_jail_thread_hook("vcpu");   /* the main thread runs the vCPU(s) */
        status = vmk_vm_run(vm);
        bool again = !no_reboot && vmk_vm_reboot_requested(vm);
        g_vm = NULL;
        bool migrated = api && vmk_api_detach(api);
        if (jail_dir && again) {           /* the main thread's seccomp filter forbids building anew */
            fprintf(stderr, "vmkit: the guest rebooted: a jailed VMM exits instead\n");
            again = false;
        }
        if (from_api && again) cfg = *vmk_api_config(api);   /* stays valid: no configuration after the start */
        vmk_vm_free(vm);                     /* flushes disks, restores the terminal */
        vm = NULL;
        if (migrated) {
            fprintf(stderr, "vmkit: migrated: the VM now runs at the destination\n");
            status = 0;
            break;
        }
        if (!again || g_signal) break;
        fprintf(stderr, "vmkit: the guest rebooted: starting it again\n");
        if (!(vm = vmk_vm_new(&cfg, err, sizeof(err)))) { status = vmk_user_error("%s", err); break; }
    }
out:
    sa.sa_handler = SIG_IGN;        /* a second signal from now on must not cut the exit short */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    g_api = NULL;
    vmk_api_free(api);
    if (g_signal) {
        fprintf(stderr, "\r\nvmkit: terminated by signal %d\n", (int)g_signal);
        if (!status) status = 128 + (int)g_signal;
    }
    return status;
}
