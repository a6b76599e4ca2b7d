/* run.c — `vmkit run`: parses and validates the command line (every bad input is one
 * "vmkit: <problem>" line and exit status 1, before anything starts), fills a vmk_vm_config (default
 * guest from the images directory), installs the signal handlers and runs the VM. */
#include "cli.h"
#include "../base/base.h"
#include "../riscv/riscv.h"
#include "../virtio/virtio.h"
#include "../vm/vm.h"
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_CMDLINE "console=ttyS0 earlycon=sbi"
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
        "                      (repeatable; default: user)\n"
        "  --console SPEC      stdio (default) | socket=PATH (unix socket server) | null\n"
        "  --no-reboot         exit (status 0) when the guest reboots instead of starting it again\n"
        "  --help              this text\n"
        "\n"
        "Console: Ctrl-A x quits, Ctrl-A h helps, Ctrl-A Ctrl-A sends Ctrl-A.\n"
        "A guest reboot starts a fresh VM from the same options (images are read again) unless --no-reboot.\n"
        "Exit status: 0 when the guest powers off (or reboots with --no-reboot) or on Ctrl-A x; the\n"
        "guest's code when it reports a failure through the test device; 128+N on signal N (SIGTERM,\n"
        "SIGINT, SIGHUP: clean shutdown, disks flushed, terminal restored); 1 on a bad option.\n",
        RV_MAX_CPUS, VMK_VM_MAX_DISKS);
}

static int bad(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int bad(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("vmkit: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 1;
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
static void *g_owned[VMK_VM_MAX_DISKS + 8];
static unsigned g_nowned;
static void *own(void *p)
{
    if (g_nowned < sizeof(g_owned) / sizeof(g_owned[0])) g_owned[g_nowned++] = p;
    return p;
}

static vmk_vm *volatile g_vm;
static volatile sig_atomic_t g_signal;

static void on_signal(int sig)
{
    g_signal = sig;
    vmk_vm *vm = g_vm;
    if (vm) vmk_vm_request_stop(vm, 128 + sig);
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
    static const char *const opts[] = { "--kernel", "--initrd", "--bios", "--cmdline", "--append", "--mem",
                                        "--cpus", "--disk", "--net", "--console" };

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { run_usage(stdout); return 0; }
        if (!strcmp(a, "--no-reboot")) { no_reboot = true; continue; }
        const char *v = NULL;
        bool missing = false;
        size_t k;
        for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
            v = optval(argc, argv, &i, opts[k], &missing);
            if (v || missing) break;
        }
        if (missing) return bad("option %s needs a value (see vmkit run --help)", a);
        if (!v) return bad("unknown option '%s' (see vmkit run --help)", a);
        switch (k) {
        case 0: cfg.kernel = v; break;
        case 1: cfg.initrd = v; break;
        case 2: cfg.bios = v; break;
        case 3: cmdline = v; break;
        case 4: append = v; break;
        case 5: {
            uint64_t sz;
            if (vmk_parse_size(v, &sz) < 0) return bad("--mem: '%s' is not a size (e.g. 256M, 1G)", v);
            if (sz < MIN_MEM) return bad("--mem: %s is too small (at least 32M)", v);
            if (sz > MAX_MEM) return bad("--mem: %s is too large (at most 64G)", v);
            if (sz % 4096) return bad("--mem: %s is not a multiple of 4 KiB", v);
            cfg.mem_size = sz;
            break;
        }
        case 6: {
            char *end;
            errno = 0;
            unsigned long n = strtoul(v, &end, 10);
            if (!*v || *end || errno || v[0] == '-' || n < 1 || n > RV_MAX_CPUS)
                return bad("--cpus: '%s' is not a number between 1 and %u", v, RV_MAX_CPUS);
            cfg.ncpus = (unsigned)n;
            break;
        }
        case 7: {
            if (cfg.ndisks >= VMK_VM_MAX_DISKS) return bad("--disk: at most %d disks", VMK_VM_MAX_DISKS);
            char *s = own(vmk_xstrdup(v));
            char *comma = strchr(s, ',');
            bool ro = false;
            if (comma) {
                *comma = 0;
                for (char *o = strtok(comma + 1, ","); o; o = strtok(NULL, ",")) {
                    if (!strcmp(o, "ro")) ro = true;
                    else if (!strcmp(o, "rw")) ro = false;
                    else return bad("--disk '%s': unknown option '%s' (use PATH[,ro])", v, o);
                }
            }
            if (!*s) return bad("--disk '%s': empty path", v);
            cfg.disks[cfg.ndisks].path = s;
            cfg.disks[cfg.ndisks].readonly = ro;
            cfg.ndisks++;
            break;
        }
        case 8: {
            char err[VMK_ERRLEN];
            net_given = true;
            if (!strcmp(v, "none")) { net_none = true; break; }
            if (cfg.nnets >= VMK_VM_MAX_NETS) return bad("--net: at most %d networks", VMK_VM_MAX_NETS);
            if (virtio_net_parse_spec(v, err, sizeof(err)) < 0) return bad("--net '%s': %s", v, err);
            cfg.nets[cfg.nnets++] = v;
            break;
        }
        case 9:
            if (strcmp(v, "stdio") && strcmp(v, "null") && (strncmp(v, "socket=", 7) || !v[7]))
                return bad("--console: '%s' is not stdio, socket=PATH or null", v);
            cfg.console = v;
            break;
        }
    }
    bool no_initrd = cfg.initrd && !strcmp(cfg.initrd, "none");
    if (no_initrd) cfg.initrd = NULL;
    if (net_none && cfg.nnets) return bad("--net none cannot be combined with other --net options");
    if (!net_given) cfg.nets[cfg.nnets++] = "user";

    /* images: the default guest, or the files given */
    char *imgdir = own(images_dir());
    bool default_kernel = cfg.kernel == NULL;
    if (default_kernel) {
        char *k = own(join(imgdir, "Image"));
        if (!is_file(k))
            return bad("the default guest images are missing (no %s): run `make images` or pass --kernel", k);
        cfg.kernel = k;
        if (!cfg.initrd && !no_initrd) {
            char *r = own(join(imgdir, "initramfs.cpio.gz"));
            if (!is_file(r)) return bad("the default guest images are missing (no %s): run `make images`", r);
            cfg.initrd = r;
        }
    }
    if (!cfg.bios) {
        char *b = own(join(imgdir, "fw_dynamic.bin"));
        if (is_file(b)) cfg.bios = b;
        else if (is_file(SYSTEM_OPENSBI)) cfg.bios = SYSTEM_OPENSBI;
        else return bad("no OpenSBI firmware: %s and %s are missing (install opensbi or pass --bios)", b, SYSTEM_OPENSBI);
    }
    const char *why;
    if ((why = check_readable(cfg.kernel, false))) return bad("kernel '%s': %s", cfg.kernel, why);
    if (cfg.initrd && (why = check_readable(cfg.initrd, false))) return bad("initrd '%s': %s", cfg.initrd, why);
    if ((why = check_readable(cfg.bios, false))) return bad("firmware '%s': %s", cfg.bios, why);
    for (unsigned i = 0; i < cfg.ndisks; i++)
        if ((why = check_readable(cfg.disks[i].path, !cfg.disks[i].readonly)))
            return bad("disk '%s': %s", cfg.disks[i].path, why);
    char err[VMK_ERRLEN];
    if (rv_check_kernel(cfg.kernel, err, sizeof(err)) < 0) return bad("%s", err);

    size_t cl = strlen(cmdline ? cmdline : DEFAULT_CMDLINE) + (append ? strlen(append) + 1 : 0) + 1;
    char *full = own(vmk_xmalloc(cl));
    snprintf(full, cl, "%s%s%s", cmdline ? cmdline : DEFAULT_CMDLINE, append ? " " : "", append ? append : "");
    cfg.cmdline = full;

    /* handlers first: a signal while the VM is being built (terminal already raw) must not kill us */
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    int status = 0;
    for (;;) {
        vmk_vm *vm = vmk_vm_new(&cfg, err, sizeof(err));
        if (!vm) return bad("%s", err);
        g_vm = vm;
        if (g_signal) vmk_vm_request_stop(vm, 128 + g_signal);
        status = vmk_vm_run(vm);
        bool again = !no_reboot && vmk_vm_reboot_requested(vm);
        g_vm = NULL;
        vmk_vm_free(vm);                     /* flushes disks, restores the terminal */
        if (!again || g_signal) break;
        fprintf(stderr, "vmkit: the guest rebooted: starting it again\n");
    }
    sa.sa_handler = SIG_IGN;        /* a second signal from now on must not cut the exit short */
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    if (g_signal) fprintf(stderr, "\r\nvmkit: terminated by signal %d\n", (int)g_signal);
    return status;
}
