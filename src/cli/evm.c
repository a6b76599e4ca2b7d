/* evm.c — `vmkit evm`: the state-test runner (`statetest PATH... [--fork NAME] [--trace] [--bench N]
 * [--jobs N] [--summary]`) and a bytecode runner (`run --code HEX ...`). Parallel runs fork worker
 * processes that pull files from a shared counter and add their counts into shared memory. */
#include "cli.h"
#include "../evm/internal.h"
#include <dirent.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *const FORK_NAMES[] = {"Frontier", "Homestead", "EIP150", "EIP158", "Byzantium",
                                         "Constantinople", "ConstantinopleFix", "Istanbul", "Berlin",
                                         "London", "Merge", "Shanghai", "Cancun", "Prague"};

static int fork_by_name(const char *s)
{
    for (int i = 0; i <= EVM_MAX_REVISION; i++)
        if (!strcmp(FORK_NAMES[i], s)) return i;
    if (!strcmp(s, "Paris")) return EVM_PARIS;
    if (!strcmp(s, "Petersburg")) return EVM_PETERSBURG;
    if (!strcmp(s, "TangerineWhistle")) return EVM_TANGERINE_WHISTLE;
    if (!strcmp(s, "SpuriousDragon")) return EVM_SPURIOUS_DRAGON;
    return -1;
}

static void usage_evm(FILE *f)
{
    fputs("usage: vmkit evm statetest PATH... [--fork NAME[,NAME...]] [--trace] [--bench N] [--jobs N] [--summary]\n"
          "                                   [--skip SUBSTRING]...\n"
          "       vmkit evm run --code HEX [--input HEX] [--gas N] [--fork NAME] [--trace]\n"
          "  statetest  runs Ethereum JSON state tests (files or directories, searched for *.json);\n"
          "             prints one FAIL line per failing case and a final 'N passed, N failed' line;\n"
          "             --summary adds a per-fork table, --skip drops files whose path contains SUBSTRING,\n"
          "             --bench N times each case N times (newest fork) and prints BENCH lines.\n"
          "  run        executes bytecode against an empty state; prints status, gas used and output.\n"
          "Forks: Frontier Homestead EIP150 EIP158 Byzantium Constantinople ConstantinopleFix Istanbul\n"
          "       Berlin London Merge Shanghai Cancun Prague\n", f);
}

/* ---- file list ---- */
typedef struct flist { char **v; size_t n, cap; } flist;

static int fl_add(flist *l, const char *p)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 256;
        char **nv = realloc(l->v, l->cap * sizeof *nv);
        if (!nv) return -1;
        l->v = nv;
    }
    l->v[l->n] = strdup(p);
    return l->v[l->n++] ? 0 : -1;
}

static int collect(flist *l, const char *path, int depth)
{
    struct stat st;
    if (stat(path, &st)) {
        fprintf(stderr, "vmkit evm: %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) return fl_add(l, path);
    if (depth > 32) return 0;
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "vmkit evm: %s: %s\n", path, strerror(errno));
        return -1;
    }
    struct dirent *e;
    int rc = 0;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t n = strlen(path) + strlen(e->d_name) + 2;
        char *p = malloc(n);
        if (!p) { rc = -1; break; }
        snprintf(p, n, "%s/%s", path, e->d_name);
        struct stat cs;
        if (!stat(p, &cs)) {
            if (S_ISDIR(cs.st_mode)) rc |= collect(l, p, depth + 1);
            else if (n > 6 && !strcmp(p + strlen(p) - 5, ".json")) rc |= fl_add(l, p);
        }
        free(p);
    }
    closedir(d);
    return rc;
}

static int scmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

typedef struct shared {
    atomic_long next;
    st_counts c[64];
} shared;

static void add_counts(st_counts *t, const st_counts *c)
{
    for (int i = 0; i <= EVM_MAX_REVISION; i++) {
        t->pass[i] += c->pass[i];
        t->fail[i] += c->fail[i];
    }
    t->unknown_fork += c->unknown_fork;
    t->file_errors += c->file_errors;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 0);
    if (errno || *end || end == s || v < lo || v > hi) return -1;
    *out = v;
    return 0;
}

static int cmd_statetest(int argc, char **argv)
{
    st_opts o = {.fork = -1, .trace = false, .bench = 0};
    long jobs = 1;
    bool summary = false;
    flist files = {0};
    const char **paths = calloc((size_t)argc + 1, sizeof *paths);
    const char **skips = calloc((size_t)argc + 1, sizeof *skips);
    size_t npaths = 0, nskips = 0;
    if (!paths || !skips) { free(paths); free(skips); return 1; }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage_evm(stdout); free(paths); free(skips); return 0; }
        if (!strcmp(a, "--trace")) { o.trace = true; continue; }
        if (!strcmp(a, "--summary")) { summary = true; continue; }
        if (!strcmp(a, "--skip")) {
            if (i + 1 >= argc) { fprintf(stderr, "vmkit evm statetest: --skip needs a value\n"); free(paths); free(skips); return 2; }
            skips[nskips++] = argv[++i];
            continue;
        }
        if (!strcmp(a, "--fork") || !strcmp(a, "--bench") || !strcmp(a, "--jobs")) {
            if (i + 1 >= argc) { fprintf(stderr, "vmkit evm statetest: %s needs a value\n", a); free(paths); free(skips); return 2; }
            const char *v = argv[++i];
            long n;
            if (!strcmp(a, "--fork")) {
                /* NAME or NAME,NAME,... */
                char tmp[256];
                snprintf(tmp, sizeof tmp, "%s", v);
                if (o.fork < 0) o.fork = 0;
                for (char *sv = NULL, *tok = strtok_r(tmp, ",", &sv); tok; tok = strtok_r(NULL, ",", &sv)) {
                    int r = fork_by_name(tok);
                    if (r < 0) { fprintf(stderr, "vmkit evm statetest: unknown fork '%s'\n", tok); free(paths); free(skips); return 2; }
                    o.fork |= 1 << r;
                }
                if (!o.fork) { fprintf(stderr, "vmkit evm statetest: empty --fork list\n"); free(paths); free(skips); return 2; }
            } else if (!strcmp(a, "--bench")) {
                if (parse_int(v, 1, 1000000, &n)) { fprintf(stderr, "vmkit evm statetest: bad --bench count '%s'\n", v); free(paths); free(skips); return 2; }
                o.bench = (int)n;
            } else {
                if (parse_int(v, 1, 64, &n)) { fprintf(stderr, "vmkit evm statetest: bad --jobs count '%s' (1..64)\n", v); free(paths); free(skips); return 2; }
                jobs = n;
            }
            continue;
        }
        if (a[0] == '-' && a[1]) { fprintf(stderr, "vmkit evm statetest: unknown option '%s' (see --help)\n", a); free(paths); free(skips); return 2; }
        paths[npaths++] = a;
    }
    if (!npaths) { fprintf(stderr, "vmkit evm statetest: no test files given (see --help)\n"); free(paths); free(skips); return 2; }
    int rc = 0;
    for (size_t i = 0; i < npaths; i++)
        if (collect(&files, paths[i], 0)) rc = 1;
    free(paths);
    if (rc) {
        free(skips);
        for (size_t i = 0; i < files.n; i++) free(files.v[i]);
        free(files.v);
        return 1;
    }
    size_t kept = 0;
    for (size_t i = 0; i < files.n; i++) {
        bool skip = false;
        for (size_t k = 0; k < nskips; k++)
            if (strstr(files.v[i], skips[k])) skip = true;
        if (skip) free(files.v[i]);
        else files.v[kept++] = files.v[i];
    }
    files.n = kept;
    free(skips);
    qsort(files.v, files.n, sizeof *files.v, scmp);
    if (o.trace) jobs = 1;
    if ((size_t)jobs > files.n) jobs = files.n ? (long)files.n : 1;

    st_counts total;
    memset(&total, 0, sizeof total);
    if (jobs <= 1) {
        for (size_t i = 0; i < files.n; i++) st_run_file(files.v[i], &o, &total, stdout);
    } else {
        shared *sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sh == MAP_FAILED) { perror("vmkit evm: mmap"); return 1; }
        memset(sh, 0, sizeof *sh);
        fflush(stdout);
        fflush(stderr);
        pid_t pids[64];
        long started = 0;
        for (long w = 0; w < jobs; w++) {
            pid_t p = fork();
            if (p < 0) { perror("vmkit evm: fork"); break; }
            if (p == 0) {
                setvbuf(stdout, NULL, _IOLBF, 0);
                for (;;) {
                    long i = atomic_fetch_add(&sh->next, 1);
                    if (i >= (long)files.n) break;
                    st_run_file(files.v[i], &o, &sh->c[w], stdout);
                }
                fflush(stdout);
                _exit(0);
            }
            pids[started++] = p;
        }
        for (long w = 0; w < started; w++) {
            int st;
            if (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st)) {
                fprintf(stderr, "vmkit evm statetest: worker %ld died (%s)\n", w,
                        WIFSIGNALED(st) ? strsignal(WTERMSIG(st)) : "bad exit");
                rc = 1;
            }
            add_counts(&total, &sh->c[w]);
        }
        munmap(sh, sizeof *sh);
    }
    long p = 0, f = 0;
    for (int i = 0; i <= EVM_MAX_REVISION; i++) { p += total.pass[i]; f += total.fail[i]; }
    if (summary) {
        printf("%-18s %8s %8s\n", "fork", "passed", "failed");
        for (int i = 0; i <= EVM_MAX_REVISION; i++)
            if (total.pass[i] || total.fail[i])
                printf("%-18s %8ld %8ld\n", FORK_NAMES[i], total.pass[i], total.fail[i]);
    }
    if (total.unknown_fork) printf("unknown-fork: %ld case(s) for forks this runner does not know were ignored\n", total.unknown_fork);
    if (total.file_errors) printf("%ld file(s) could not be run\n", total.file_errors);
    printf("%ld passed, %ld failed\n", p, f);
    for (size_t i = 0; i < files.n; i++) free(files.v[i]);
    free(files.v);
    return (rc || f || total.file_errors) ? 1 : 0;
}

static int cmd_run_code(int argc, char **argv)
{
    const char *code_hex = NULL, *input_hex = "";
    long long gas = 10000000;
    int rev = EVM_CANCUN;
    bool trace = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) { usage_evm(stdout); return 0; }
        if (!strcmp(a, "--trace")) { trace = true; continue; }
        if (!strcmp(a, "--code") || !strcmp(a, "--input") || !strcmp(a, "--gas") || !strcmp(a, "--fork")) {
            if (i + 1 >= argc) { fprintf(stderr, "vmkit evm run: %s needs a value\n", a); return 2; }
            const char *v = argv[++i];
            if (!strcmp(a, "--code")) code_hex = v;
            else if (!strcmp(a, "--input")) input_hex = v;
            else if (!strcmp(a, "--gas")) {
                char *end;
                errno = 0;
                gas = strtoll(v, &end, 0);
                if (errno || *end || end == v || gas < 0) { fprintf(stderr, "vmkit evm run: bad --gas '%s'\n", v); return 2; }
            } else {
                rev = fork_by_name(v);
                if (rev < 0) { fprintf(stderr, "vmkit evm run: unknown fork '%s'\n", v); return 2; }
            }
            continue;
        }
        fprintf(stderr, "vmkit evm run: unknown argument '%s' (see --help)\n", a);
        return 2;
    }
    if (!code_hex) { fprintf(stderr, "vmkit evm run: --code HEX is required\n"); return 2; }
    uint8_t *code, *input;
    size_t nc, ni;
    if (st_parse_hex(code_hex, &code, &nc)) { fprintf(stderr, "vmkit evm run: bad hex in --code\n"); return 2; }
    if (st_parse_hex(input_hex, &input, &ni)) { fprintf(stderr, "vmkit evm run: bad hex in --input\n"); free(code); return 2; }
    int rc = st_run_code(code, nc, input, ni, (int64_t)gas, (enum evm_revision)rev, trace, stdout);
    free(code);
    free(input);
    return rc;
}

int cmd_evm(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "vmkit evm: missing command (statetest or run; see vmkit evm --help)\n");
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage_evm(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "statetest")) return cmd_statetest(argc - 1, argv + 1);
    if (!strcmp(argv[1], "run")) return cmd_run_code(argc - 1, argv + 1);
    fprintf(stderr, "vmkit evm: unknown command '%s' (see --help)\n", argv[1]);
    return 2;
}
