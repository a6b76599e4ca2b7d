/* test_isa.c — the bare-metal RISC-V ISA test runner. It is the platform for one hart (defines every
 * platform function cpu.h lists, so machine.c is not linked): RAM at 0x80000000 and three MMIO words:
 * TOHOST (0x10001000: 1 = pass, (n<<1)|1 = case n failed), PUTCHAR (0x10001008) and DIAG (0x10001010,
 * the M-mode trap handler's mcause/mepc/mtval of an unexpected trap), plus a fake DMA engine
 * (0x10003000) that writes RAM behind the hart's back like a device.
 *   test_isa                  runs every build/tests/riscv/isa/NAME.elf, prints PASS/FAIL per program
 *                             (smp*.elf on 4 harts run round-robin, the rest on one)
 *   test_isa PROG.elf...      runs those programs
 *   test_isa --user PROG.elf  runs a static Linux user program in U-mode under the ustub.elf M-mode
 *                             stub (ecall -> SYSPORT: write/exit/exit_group), copies its stdout and
 *                             exits with its status: the differential tests compare this to qemu.
 *   test_isa --user-vm PROG.elf  the same with U-mode under Sv39 4 KiB pages (ustub_vm.elf);
 *   test_isa --user-s PROG.elf   the same in S-mode under Sv39 (ustub_s.elf).
 * ELF files are untrusted: every header and segment is bounds-checked. */
#include <dirent.h>
#include <elf.h>
#include <limits.h>
#include <stdint.h>
#include <unistd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "base/base.h"
#include "mem/mem.h"
#include "riscv/cpu.h"

#define SKIP(name, reason) printf("SKIP %s: %s\n", (name), (reason))
#define TOHOST   0x10001000ull
#define PUTCHAR  0x10001008ull
#define DIAG     0x10001010ull
#define SYSPORT  0x10002000ull   /* +0 a7 (writing it performs the call), +8 a0, +16 a1, +24 a2, +32 result */
#define DMAPORT  0x10003000ull   /* a fake DMA engine: +0 src, +8 dst, +16 len; +24 go: 1 = copy and
                                  * rv_hart_invalidate_code (the device contract), 2 = copy only */
#define RAM_SIZE (64ull << 20)
#define USER_BASE 0x80100000ull

#define MAX_HARTS 4
struct rv_machine {
    vmk_mem mem;
    rv_hart *hart;             /* harts[0] */
    rv_hart *harts[MAX_HARTS];
    unsigned nharts;
    int done;
    uint64_t tohost;
    uint64_t diag[3];
    unsigned ndiag;
    uint64_t sysargs[4];
    uint64_t dma[3];
    uint64_t sysret;
    int exit_status;
    int user;
    uint64_t time_skip;        /* mtime added while the hart waited in WFI */
    char out[4096];            /* bare-metal console */
    size_t outlen;
};

/* ---------------- platform functions (cpu.h) ---------------- */
static int sys_write(rv_machine *m, uint64_t fd, uint64_t buf, uint64_t len, uint64_t *ret)
{
    if (fd != 1 && fd != 2) { *ret = (uint64_t)-9; return 0; }   /* EBADF */
    if (len > (1u << 20)) len = 1u << 20;
    const uint8_t *p = vmk_mem_ptr(&m->mem, buf, len);
    if (!p) { *ret = (uint64_t)-14; return 0; }                  /* EFAULT */
    fflush(stdout);
    if (write(fd == 1 ? STDOUT_FILENO : STDERR_FILENO, p, len) != (ssize_t)len) return -1;
    *ret = len;
    return 0;
}

static void do_syscall(rv_machine *m)
{
    uint64_t nr = m->sysargs[0], a0 = m->sysargs[1], a1 = m->sysargs[2], a2 = m->sysargs[3];
    switch (nr) {
    case 64: /* write */
        if (sys_write(m, a0, a1, a2, &m->sysret) < 0) { m->exit_status = 125; m->done = 1; }
        break;
    case 93: case 94: /* exit, exit_group */
        m->exit_status = (int)(a0 & 0xff);
        m->done = 1;
        break;
    default:
        m->sysret = (uint64_t)-38;   /* ENOSYS */
        break;
    }
    if (m->done)
        for (unsigned i = 0; i < m->nharts; i++) rv_hart_kick(m->harts[i]);
}

bool rv_bus_read(rv_machine *m, uint64_t pa, unsigned size, uint64_t *val)
{
    (void)size;
    if (pa >= TOHOST && pa < TOHOST + 0x20) { *val = 0; return true; }
    if (pa >= SYSPORT && pa < SYSPORT + 0x28) { *val = pa == SYSPORT + 32 ? m->sysret : 0; return true; }
    if (pa >= DMAPORT && pa < DMAPORT + 0x20) { *val = 0; return true; }
    return false;
}

bool rv_bus_write(rv_machine *m, uint64_t pa, unsigned size, uint64_t val)
{
    (void)size;
    if (pa == TOHOST) {
        m->tohost = val;
        m->done = 1;
        for (unsigned i = 0; i < m->nharts; i++) rv_hart_kick(m->harts[i]);
        return true;
    }
    if (pa == PUTCHAR) {
        if (m->outlen < sizeof m->out - 1) m->out[m->outlen++] = (char)val;
        return true;
    }
    if (pa == DIAG) {
        if (m->ndiag < 3) m->diag[m->ndiag++] = val;
        return true;
    }
    if (pa > TOHOST && pa < TOHOST + 0x20) return true;
    if (pa >= DMAPORT && pa < DMAPORT + 0x20) {
        unsigned i = (unsigned)((pa - DMAPORT) / 8);
        if (i < 3) { m->dma[i] = val; return true; }
        uint64_t len = m->dma[2];
        const uint8_t *src = vmk_mem_ptr(&m->mem, m->dma[0], len);
        uint8_t *dst = vmk_mem_ptr_w(&m->mem, m->dma[1], len);
        if (!src || !dst || len > (1u << 20)) return false;   /* bad DMA: access fault */
        memmove(dst, src, len);
        if (val == 1) rv_hart_invalidate_code(m->hart, m->dma[1], len);
        return true;
    }
    if (pa >= SYSPORT && pa < SYSPORT + 0x28) {
        unsigned i = (unsigned)((pa - SYSPORT) / 8);
        if (i < 4) m->sysargs[i] = val;
        if (pa == SYSPORT) do_syscall(m);
        return true;
    }
    return false;
}

/* Time advances with executed instructions, and jumps to the timer deadline when the hart waits in
 * WFI (an idle platform sleeping until its next timer). */
uint64_t rv_machine_mtime(rv_machine *m) { return (m->hart ? rv_hart_instret(m->hart) / 10 : 0) + m->time_skip; }
void rv_machine_wake(rv_machine *m) { (void)m; }
unsigned rv_machine_nharts(rv_machine *m) { return m->nharts; }
rv_hart *rv_machine_hart(rv_machine *m, unsigned i) { return i < m->nharts ? m->harts[i] : NULL; }

/* ---------------- ELF loading ---------------- */
/* Loads an ELF64 RISC-V executable into RAM; every segment must lie at or above min_pa. Returns the
 * entry point, 0 with err on failure. */
static uint64_t load_elf(vmk_mem *mem, const char *path, uint64_t min_pa, char *err, size_t errlen)
{
    size_t len;
    uint8_t *f = vmk_read_file(path, 32u << 20, &len, err, errlen);
    if (!f) return 0;
    uint64_t entry = 0;
    Elf64_Ehdr eh;
    if (len < sizeof eh) { vmk_seterr(err, errlen, "%s: too short for an ELF header", path); goto out; }
    memcpy(&eh, f, sizeof eh);
    if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh.e_ident[EI_DATA] != ELFDATA2LSB || eh.e_machine != EM_RISCV) {
        vmk_seterr(err, errlen, "%s: not a little-endian ELF64 RISC-V file", path);
        goto out;
    }
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || eh.e_phnum > 64 || eh.e_phoff > len ||
        (uint64_t)eh.e_phnum * sizeof(Elf64_Phdr) > len - eh.e_phoff) {
        vmk_seterr(err, errlen, "%s: bad program header table", path);
        goto out;
    }
    int loaded = 0;
    for (unsigned i = 0; i < eh.e_phnum; i++) {
        Elf64_Phdr ph;
        memcpy(&ph, f + eh.e_phoff + i * sizeof ph, sizeof ph);
        if (ph.p_type != PT_LOAD || ph.p_memsz == 0) continue;
        if (ph.p_filesz > ph.p_memsz || ph.p_offset > len || ph.p_filesz > len - ph.p_offset) {
            vmk_seterr(err, errlen, "%s: segment %u exceeds the file", path, i);
            goto out;
        }
        if (ph.p_paddr < min_pa) {
            vmk_seterr(err, errlen, "%s: segment %u at 0x%llx is below 0x%llx (user programs are linked with "
                       "tests/riscv/isa/u_link.ld)", path, i, (unsigned long long)ph.p_paddr, (unsigned long long)min_pa);
            goto out;
        }
        uint8_t *dst = vmk_mem_ptr_w(mem, ph.p_paddr, ph.p_memsz);
        if (!dst) {
            vmk_seterr(err, errlen, "%s: segment %u at 0x%llx+0x%llx is outside RAM", path, i,
                       (unsigned long long)ph.p_paddr, (unsigned long long)ph.p_memsz);
            goto out;
        }
        memcpy(dst, f + ph.p_offset, ph.p_filesz);
        memset(dst + ph.p_filesz, 0, ph.p_memsz - ph.p_filesz);
        loaded++;
    }
    if (!loaded) { vmk_seterr(err, errlen, "%s: no loadable segment", path); goto out; }
    if (!vmk_mem_ptr(mem, eh.e_entry, 2)) { vmk_seterr(err, errlen, "%s: entry point outside RAM", path); goto out; }
    entry = eh.e_entry;
out:
    free(f);
    return entry;
}

/* Repository root: $VMKIT_ROOT, else three levels above this executable (B/tests/riscv/test_isa). */
static void repo_root(char *buf, size_t n)
{
    const char *r = getenv("VMKIT_ROOT");
    if (r && *r) { snprintf(buf, n, "%s", r); return; }
    char exe[PATH_MAX];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (l > 0) {
        exe[l] = 0;
        for (int up = 0; up < 4; up++) {
            char *s = strrchr(exe, '/');
            if (!s) break;
            *s = 0;
        }
        snprintf(buf, n, "%s", exe[0] ? exe : ".");
        return;
    }
    snprintf(buf, n, ".");
}

#ifdef RV_HAVE_HART
static uint64_t max_insns(void)
{
    const char *e = getenv("VMKIT_ISA_MAX_INSNS");
    uint64_t v = e ? strtoull(e, NULL, 0) : 0;
    return v ? v : 50000000ull;
}

/* Runs until done, the instruction limit, or a WFI with nothing pending. Returns 0, or -1 (limit)
 * or -2 (WFI). Several harts run round-robin with varying slices (so LR/SC and AMO sequences
 * interleave differently); like the platform, a hart's reservation is dropped when it is switched
 * out. */
static int run(rv_machine *m)
{
    uint64_t limit = max_insns();
    if (m->nharts > 1) {
        for (uint64_t round = 0; !m->done; round++) {
            bool all_wfi = true;
            uint64_t total = 0;
            for (unsigned i = 0; i < m->nharts && !m->done; i++) {
                uint64_t slice = 7 + (round * 131 + i * 71) % 400;
                enum rv_run_result r = rv_hart_run(m->harts[i], slice);
                rv_hart_clear_reservation(m->harts[i]);
                if (r != RV_RUN_WFI || rv_hart_wakeup_pending(m->harts[i])) all_wfi = false;
                total += rv_hart_instret(m->harts[i]);
            }
            if (m->done) break;
            if (all_wfi) return -2;
            if (total > limit) return -1;
        }
        return 0;
    }
    while (!m->done) {
        enum rv_run_result r = rv_hart_run(m->hart, 20000);
        if (m->done) break;
        if (r == RV_RUN_WFI && !rv_hart_wakeup_pending(m->hart)) {
            uint64_t dl = rv_hart_timer_deadline(m->hart), now = rv_machine_mtime(m);
            if (dl == UINT64_MAX) return -2;        /* nothing can wake it */
            if (dl > now) m->time_skip += dl - now;
        }
        if (rv_hart_instret(m->hart) > limit) return -1;
    }
    return 0;
}

static int machine_init(rv_machine *m, unsigned nharts, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    if (vmk_mem_init(&m->mem, RV_RAM_BASE, RAM_SIZE, err, errlen) < 0) return -1;
    for (unsigned i = 0; i < nharts && i < MAX_HARTS; i++) {
        m->harts[i] = rv_hart_new(m, i, &m->mem);
        if (!m->harts[i]) {
            vmk_seterr(err, errlen, "rv_hart_new failed");
            for (unsigned j = 0; j < i; j++) rv_hart_free(m->harts[j]);
            vmk_mem_free(&m->mem);
            return -1;
        }
        m->nharts = i + 1;
    }
    m->hart = m->harts[0];
    return 0;
}
static void machine_fini(rv_machine *m)
{
    for (unsigned i = 0; i < m->nharts; i++) rv_hart_free(m->harts[i]);
    vmk_mem_free(&m->mem);
}

/* One bare-metal program: returns 1 pass, 0 fail (message printed). */
static int run_bare(const char *path)
{
    const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    char name[256];
    snprintf(name, sizeof name, "isa_%.*s", (int)(strcspn(base, ".")), base);
    rv_machine m;
    char err[VMK_ERRLEN];
    unsigned nharts = strncmp(base, "smp", 3) ? 1 : MAX_HARTS;   /* smp*.S: every hart runs it */
    if (machine_init(&m, nharts, err, sizeof err) < 0) { printf("FAIL %s: %s\n", name, err); return 0; }
    uint64_t entry = load_elf(&m.mem, path, 0, err, sizeof err);
    int ok = 0;
    if (!entry) {
        printf("FAIL %s: %s\n", name, err);
    } else {
        for (unsigned i = 0; i < m.nharts; i++) rv_hart_reset(m.harts[i], entry);
        int r = run(&m);
        if (r == -1) printf("FAIL %s: no result after %llu instructions (pc 0x%llx)\n", name,
                            (unsigned long long)rv_hart_instret(m.hart), (unsigned long long)rv_hart_get_pc(m.hart));
        else if (r == -2) printf("FAIL %s: hart stopped in WFI (pc 0x%llx)\n", name, (unsigned long long)rv_hart_get_pc(m.hart));
        else if (m.tohost == 1) { printf("PASS %s\n", name); ok = 1; }
        else {
            printf("FAIL %s: case %llu failed", name, (unsigned long long)(m.tohost >> 1));
            if (m.ndiag) printf(" (unexpected trap mcause %llu mepc 0x%llx mtval 0x%llx)", (unsigned long long)m.diag[0],
                                (unsigned long long)m.diag[1], (unsigned long long)m.diag[2]);
            printf("\n");
            if (getenv("VMKIT_ISA_DUMP")) rv_hart_dump(m.hart);
        }
        if (m.outlen) { m.out[m.outlen] = 0; printf("  console: %s\n", m.out); }
    }
    fflush(stdout);
    machine_fini(&m);
    return ok;
}

/* A static Linux user program under the M-mode stub. Returns the program's exit status, or 125 on
 * a runner error / unexpected trap / limit. */
static int run_user(const char *stub, const char *prog)
{
    rv_machine m;
    char err[VMK_ERRLEN];
    if (machine_init(&m, 1, err, sizeof err) < 0) { fprintf(stderr, "test_isa: %s\n", err); return 125; }
    m.user = 1;
    uint64_t sentry = load_elf(&m.mem, stub, 0, err, sizeof err), uentry = 0;
    if (sentry) uentry = load_elf(&m.mem, prog, USER_BASE, err, sizeof err);
    int status = 125;
    if (!sentry || !uentry) {
        fprintf(stderr, "test_isa: %s\n", err);
    } else {
        rv_hart_reset(m.hart, sentry);
        rv_hart_set_xreg(m.hart, 10, uentry);
        rv_hart_set_xreg(m.hart, 11, RV_RAM_BASE + RAM_SIZE - 4096);   /* user stack */
        int r = run(&m);
        fflush(stdout);
        if (r == -1) fprintf(stderr, "test_isa: instruction limit reached (pc 0x%llx)\n", (unsigned long long)rv_hart_get_pc(m.hart));
        else if (r == -2) fprintf(stderr, "test_isa: hart stopped in WFI\n");
        else if (m.tohost) {
            fprintf(stderr, "test_isa: unexpected trap in the user program: mcause %llu mepc 0x%llx mtval 0x%llx\n",
                    (unsigned long long)m.diag[0], (unsigned long long)m.diag[1], (unsigned long long)m.diag[2]);
            if (getenv("VMKIT_ISA_DUMP")) rv_hart_dump(m.hart);
        } else status = m.exit_status;
    }
    machine_fini(&m);
    return status;
}
#endif

#ifdef RV_HAVE_HART
/* The loader must reject malformed files with a message, never crash: mutate a real program. */
static int elf_checks(const char *good)
{
    size_t len;
    char err[VMK_ERRLEN];
    uint8_t *f = vmk_read_file(good, 32u << 20, &len, err, sizeof err);
    if (!f) { printf("SKIP isa_loader_rejects_bad_elf: %s\n", err); return 1; }
    vmk_mem mem;
    if (vmk_mem_init(&mem, RV_RAM_BASE, RAM_SIZE, err, sizeof err) < 0) { free(f); printf("FAIL isa_loader_rejects_bad_elf: %s\n", err); return 0; }
    char tmp[] = "/tmp/vmkit-isa-elf-XXXXXX";
    int fd = mkstemp(tmp), ok = fd >= 0;
    Elf64_Ehdr eh;
    memcpy(&eh, f, sizeof eh);
    for (int k = 0; ok && k < 6; k++) {
        uint8_t *g = malloc(len);
        memcpy(g, f, len);
        size_t glen = len;
        Elf64_Ehdr *h = (Elf64_Ehdr *)(void *)g;
        Elf64_Phdr *ph = (Elf64_Phdr *)(void *)(g + eh.e_phoff);
        for (unsigned i = 0; i + 1 < eh.e_phnum && ph->p_type != PT_LOAD; i++) ph++;   /* first PT_LOAD */
        switch (k) {
        case 0: glen = 20; break;                                   /* truncated header */
        case 1: h->e_machine = 62; break;                           /* x86-64 */
        case 2: h->e_phnum = 60000; break;                          /* table beyond the file */
        case 3: ph->p_offset = len - 4; ph->p_filesz = 4096; break; /* segment beyond the file */
        case 4: ph->p_paddr = 0x1000; break;                        /* outside RAM */
        default: ph->p_paddr = RV_RAM_BASE + RAM_SIZE - 8; ph->p_memsz = 1ull << 62; break;  /* wraps */
        }
        ok = ftruncate(fd, 0) == 0 && pwrite(fd, g, glen, 0) == (ssize_t)glen;
        free(g);
        err[0] = 0;
        if (ok && (load_elf(&mem, tmp, 0, err, sizeof err) != 0 || !err[0])) {
            printf("  malformed ELF %d was accepted\n", k);
            ok = 0;
        }
    }
    if (fd >= 0) { close(fd); unlink(tmp); }
    vmk_mem_free(&mem);
    free(f);
    printf("%s isa_loader_rejects_bad_elf\n", ok ? "PASS" : "FAIL");
    return ok;
}
#endif

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv)
{
    char root[PATH_MAX], dir[PATH_MAX + 64];
    repo_root(root, sizeof root);
    snprintf(dir, sizeof dir, "%s/build/tests/riscv/isa", root);
    if (argc >= 2 && (!strcmp(argv[1], "--user") || !strcmp(argv[1], "--user-vm") || !strcmp(argv[1], "--user-s"))) {
        if (argc != 3) { fprintf(stderr, "usage: test_isa --user|--user-vm|--user-s PROGRAM.elf\n"); return 2; }
#ifdef RV_HAVE_HART
        char stub[PATH_MAX + 96];
        snprintf(stub, sizeof stub, "%s/%s", dir, !strcmp(argv[1], "--user") ? "ustub.elf" :
                 !strcmp(argv[1], "--user-vm") ? "ustub_vm.elf" : "ustub_s.elf");
        return run_user(stub, argv[2]);
#else
        fprintf(stderr, "test_isa: built without the hart (src/riscv/cpu.c missing)\n");
        return 125;
#endif
    }
#ifndef RV_HAVE_HART
    (void)cmp_str;
    SKIP("isa", "the hart (src/riscv/cpu.c) is not in the tree yet");
    return 0;
#else
    int failed = 0;
    if (argc > 1) {
        for (int i = 1; i < argc; i++) failed += !run_bare(argv[i]);
        return failed ? 1 : 0;
    }
    DIR *d = opendir(dir);
    if (!d) { SKIP("isa", "no ISA programs built (riscv64-linux-gnu-gcc missing?)"); return 0; }
    char *names[256];
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)) && n < 256) {
        size_t l = strlen(de->d_name);
        if (l > 4 && !strcmp(de->d_name + l - 4, ".elf") && strncmp(de->d_name, "ustub", 5) &&
            strncmp(de->d_name, "u_", 2) && strncmp(de->d_name, "diff_", 5))
            names[n++] = vmk_xstrdup(de->d_name);
    }
    closedir(d);
    qsort(names, (size_t)n, sizeof names[0], cmp_str);
    if (!n) SKIP("isa", "no ISA programs built");
    else {
        char p[PATH_MAX + 400];
        snprintf(p, sizeof p, "%s/%s", dir, names[0]);
        failed += !elf_checks(p);
    }
    for (int i = 0; i < n; i++) {
        char p[PATH_MAX + 400];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        failed += !run_bare(p);
        free(names[i]);
    }
    return failed ? 1 : 0;
#endif
}
