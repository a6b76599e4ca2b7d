/* vcpu.c — x86-64 vCPUs on KVM: creation (kvm_run mapping, CPUID, MSRs, LAPIC LINT0 ExtINT / LINT1
 * NMI, MP state), entry state (64-bit boot protocol or 16-bit real mode), the per-thread KVM_RUN loop
 * and its exits, kicks (a signal + immediate_exit), pause/park/resume and per-vCPU state. */
#include "kvm_impl.h"
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#define KICK_SIG (SIGRTMIN + 5)
#define BOOT_STACK 0x8ff0ull

/* struct kvm_msrs with room for its entries (a flexible array cannot be embedded portably). */
typedef struct kvm_msr_buf { uint32_t nmsrs, pad; struct kvm_msr_entry e[KVM_MAX_MSRS]; } kvm_msr_buf;
_Static_assert(offsetof(kvm_msr_buf, e) == offsetof(struct kvm_msrs, entries), "kvm_msrs layout");

/* ---------------- kicks ---------------- */

static void kick_handler(int sig) { (void)sig; }
static pthread_once_t kick_once = PTHREAD_ONCE_INIT;
static int kick_rc;

static void kick_init_once(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = kick_handler;
    sa.sa_flags = SA_RESTART;          /* KVM_RUN still returns EINTR; other syscalls restart */
    sigemptyset(&sa.sa_mask);
    kick_rc = sigaction(KICK_SIG, &sa, NULL);
}

int kvm_kick_signal_init(void)
{
    pthread_once(&kick_once, kick_init_once);
    return kick_rc;
}

/* Async-signal-safe: every vCPU leaves KVM_RUN (or never enters it) and rechecks its flags. */
void kvm_vcpus_kick(kvm_machine *m)
{
    if (!m->vcpus) return;
    for (unsigned i = 0; i < m->ncpus; i++) {
        kvm_vcpu *v = &m->vcpus[i];
        if (!v->run) continue;
        __atomic_store_n(&v->run->immediate_exit, 1, __ATOMIC_SEQ_CST);
        if (atomic_load(&v->in_loop)) pthread_kill(v->thread, KICK_SIG);
    }
}

/* ---------------- creation and reset state ---------------- */

int kvm_vcpu_create(kvm_machine *m, unsigned idx, char *err, size_t errlen)
{
    kvm_vcpu *v = &m->vcpus[idx];
    v->m = m;
    v->idx = idx;
    int fd;
    do fd = ioctl(m->vm_fd, KVM_CREATE_VCPU, (unsigned long)idx); while (fd < 0 && errno == EINTR);
    if (fd < 0) { vmk_seterr(err, errlen, "KVM_CREATE_VCPU %u: %s", idx, strerror(errno)); return -1; }
    v->fd = fd;
    int sz = ioctl(m->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
    if (sz < (int)sizeof(struct kvm_run)) { vmk_seterr(err, errlen, "KVM_GET_VCPU_MMAP_SIZE: %s", strerror(errno)); return -1; }
    void *p = mmap(NULL, (size_t)sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) { vmk_seterr(err, errlen, "mmap kvm_run: %s", strerror(errno)); return -1; }
    v->run = p;
    v->run_size = (size_t)sz;
    return kvm_vcpu_reset_state(v, err, errlen);
}

void kvm_vcpu_destroy(kvm_vcpu *v)
{
    if (v->run) munmap(v->run, v->run_size);
    v->run = NULL;
    if (v->fd >= 0) close(v->fd);
    v->fd = -1;
}

/* kvm_pvm runs guest kernel code through KVM's instruction emulator, which cannot execute cmpxchg16b,
 * the XSAVE family, popcnt (each found booting Linux 6.1: SLUB's cmpxchg_double, FPU init's xrstor,
 * hweight) nor other newer instructions Linux picks by CPUID (rdrand, rdtscp, rd/wrgsbase, stac/clac,
 * invpcid, rdpid, ...). Hide them, and what needs XSAVE-managed state (AVX, AVX2, AVX-512, PKU):
 * Linux then uses fxsave and its generic code paths. */
static void pvm_mask(struct kvm_cpuid2 *c)
{
    unsigned k = 0;
    for (unsigned i = 0; i < c->nent; i++) {
        struct kvm_cpuid_entry2 *e = &c->entries[i];
        if (e->function == 0xd) continue;                        /* the XSAVE leaf goes */
        if (e->function == 1)          /* CX16 XSAVE OSXSAVE AVX FMA F16C, POPCNT RDRAND PCID MOVBE */
            e->ecx &= ~((1u << 13) | (1u << 26) | (1u << 27) | (1u << 28) | (1u << 12) | (1u << 29) |
                        (1u << 23) | (1u << 30) | (1u << 17) | (1u << 22));
        if (e->function == 0x80000001) {
            e->ecx &= ~(1u << 5);                                /* LZCNT */
            e->edx &= ~(1u << 27);                               /* RDTSCP */
        }
        if (e->function == 7 && e->index == 0) {
            e->ebx &= ~((1u << 5) | (1u << 16) | (1u << 17) | (1u << 21) | (1u << 26) | (1u << 27) | (1u << 28) |
                        (1u << 30) | (1u << 31) |                 /* AVX2, AVX-512 F DQ IFMA PF ER CD BW VL */
                        (1u << 0) | (1u << 3) | (1u << 8) | (1u << 10) | (1u << 18) | (1u << 19) | (1u << 20) |
                        (1u << 23) | (1u << 24) | (1u << 29));    /* FSGSBASE BMI1 BMI2 INVPCID RDSEED ADX SMAP CLFLUSHOPT CLWB SHA */
            e->ecx &= ~((1u << 1) | (1u << 3) | (1u << 4) | (1u << 6) | (1u << 9) | (1u << 10) | (1u << 11) |
                        (1u << 12) | (1u << 14) | (1u << 22));    /* VBMI PKU OSPKE VBMI2 VAES VPCLMULQDQ VNNI BITALG VPOPCNTDQ RDPID */
            e->edx &= ~((1u << 2) | (1u << 3) | (1u << 8) | (1u << 23) | (1u << 22) | (1u << 24) | (1u << 25));  /* 4VNNIW 4FMAPS VP2INTERSECT FP16 AMX */
        }
        if (e->function == 7 && e->index == 1) e->eax &= ~((1u << 4) | (1u << 5));   /* AVX-VNNI, AVX512_BF16 */
        c->entries[k++] = *e;
    }
    c->nent = k;
}

static int set_cpuid(kvm_vcpu *v, char *err, size_t errlen)
{
    kvm_machine *m = v->m;
    unsigned n = m->supported->nent, max = n + 16;
    struct kvm_cpuid2 *c = vmk_xcalloc(1, sizeof(*c) + max * sizeof(struct kvm_cpuid_entry2));
    x86_cpuid_entry *in = vmk_xcalloc(n, sizeof(*in)), *out = vmk_xcalloc(max, sizeof(*out));
    for (unsigned i = 0; i < n; i++) {
        const struct kvm_cpuid_entry2 *e = &m->supported->entries[i];
        in[i] = (x86_cpuid_entry){ e->function, e->index, e->flags, e->eax, e->ebx, e->ecx, e->edx };
    }
    unsigned k = x86_cpuid_normalize(in, n, v->idx, m->ncpus, out, max);
    c->nent = k < max ? k : max;
    for (unsigned i = 0; i < c->nent; i++)
        c->entries[i] = (struct kvm_cpuid_entry2){ .function = out[i].function, .index = out[i].index,
            .flags = out[i].flags, .eax = out[i].eax, .ebx = out[i].ebx, .ecx = out[i].ecx, .edx = out[i].edx };
    free(in);
    free(out);
    if (m->pvm) pvm_mask(c);
    int r = kvm_ioctl(v->fd, KVM_SET_CPUID2, c);
    free(c);
    if (r < 0) { vmk_seterr(err, errlen, "KVM_SET_CPUID2 (vCPU %u): %s", v->idx, strerror(errno)); return -1; }
    return 0;
}

static bool msr_known(const kvm_machine *m, uint32_t idx)
{
    for (unsigned i = 0; i < m->nmsrs; i++)
        if (m->msrs[i] == idx) return true;
    return false;
}

static int set_boot_msrs(kvm_vcpu *v)
{
    static const struct { uint32_t idx; uint64_t val; } boot[] = {
        { 0x174, 0 }, { 0x175, 0 }, { 0x176, 0 },
        { 0xc0000081, 0 }, { 0xc0000082, 0 }, { 0xc0000083, 0 }, { 0xc0000084, 0 }, { 0xc0000102, 0 },
        { 0x10, 0 }, { 0x1a0, 1 },                 /* TSC, MISC_ENABLE: fast strings */
        { 0x2ff, (1u << 11) | 6 },                 /* MTRRdefType: enabled, write-back */
    };
    kvm_msr_buf b;
    memset(&b, 0, sizeof(b));
    for (size_t i = 0; i < sizeof(boot) / sizeof(boot[0]); i++)
        if (msr_known(v->m, boot[i].idx)) b.e[b.nmsrs++] = (struct kvm_msr_entry){ .index = boot[i].idx, .data = boot[i].val };
    int r = kvm_ioctl(v->fd, KVM_SET_MSRS, &b);
    if (r < 0 || (unsigned)r != b.nmsrs) vmk_debug("kvm: vCPU %u: set %d of %u boot MSRs", v->idx, r, b.nmsrs);
    return 0;
}

static uint32_t lapic_get(const struct kvm_lapic_state *l, unsigned off) { uint32_t x; memcpy(&x, l->regs + off, 4); return x; }
static void lapic_put(struct kvm_lapic_state *l, unsigned off, uint32_t x) { memcpy(l->regs + off, &x, 4); }

int kvm_vcpu_reset_state(kvm_vcpu *v, char *err, size_t errlen)
{
    if (set_cpuid(v, err, errlen) < 0) return -1;
    set_boot_msrs(v);
    struct kvm_lapic_state l;
    if (kvm_ioctl(v->fd, KVM_GET_LAPIC, &l) < 0) { vmk_seterr(err, errlen, "KVM_GET_LAPIC: %s", strerror(errno)); return -1; }
    lapic_put(&l, 0x350, (lapic_get(&l, 0x350) & ~0x700u) | (7u << 8));   /* LINT0: ExtINT (the PIC) */
    lapic_put(&l, 0x360, (lapic_get(&l, 0x360) & ~0x700u) | (4u << 8));   /* LINT1: NMI */
    if (kvm_ioctl(v->fd, KVM_SET_LAPIC, &l) < 0) { vmk_seterr(err, errlen, "KVM_SET_LAPIC: %s", strerror(errno)); return -1; }
    struct kvm_fpu fpu;
    memset(&fpu, 0, sizeof(fpu));
    fpu.fcw = 0x37f;
    fpu.mxcsr = 0x1f80;
    if (kvm_ioctl(v->fd, KVM_SET_FPU, &fpu) < 0) { vmk_seterr(err, errlen, "KVM_SET_FPU: %s", strerror(errno)); return -1; }
    struct kvm_mp_state mp = { .mp_state = v->idx == 0 ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED };
    if (kvm_ioctl(v->fd, KVM_SET_MP_STATE, &mp) < 0) { vmk_seterr(err, errlen, "KVM_SET_MP_STATE: %s", strerror(errno)); return -1; }
    return 0;
}

static struct kvm_segment seg(x86_seg x)
{
    return (struct kvm_segment){ .base = x.base, .limit = x.limit, .selector = x.selector, .type = x.type,
                                 .present = x.present, .dpl = x.dpl, .db = x.db, .s = x.s, .l = x.l, .g = x.g,
                                 .avl = x.avl };
}

int kvm_machine_set_entry64(kvm_machine *m, uint64_t entry, uint64_t rsi, uint64_t cr3, uint64_t gdt,
                            uint16_t gdt_limit, char *err, size_t errlen)
{
    kvm_vcpu *v = &m->vcpus[0];
    struct kvm_sregs s;
    if (kvm_ioctl(v->fd, KVM_GET_SREGS, &s) < 0) { vmk_seterr(err, errlen, "KVM_GET_SREGS: %s", strerror(errno)); return -1; }
    s.cs = seg(x86_seg_from_desc(X86_DESC_CODE64, X86_SEL_CS));
    s.ds = s.es = s.fs = s.gs = s.ss = seg(x86_seg_from_desc(X86_DESC_DATA, X86_SEL_DS));
    s.tr = seg(x86_seg_from_desc(X86_DESC_TSS, X86_SEL_TSS));
    s.ldt = (struct kvm_segment){ .type = 2, .unusable = 1 };
    s.gdt.base = gdt;
    s.gdt.limit = gdt_limit;
    s.idt.base = 0;
    s.idt.limit = 0;
    s.cr0 = 0x1 | 0x10 | 0x20 | 0x80000000u;     /* PE, ET, NE, PG */
    s.cr3 = cr3;
    s.cr4 = 0x20;                                /* PAE */
    s.efer = 0x500;                              /* LME, LMA */
    if (kvm_ioctl(v->fd, KVM_SET_SREGS, &s) < 0) { vmk_seterr(err, errlen, "KVM_SET_SREGS: %s", strerror(errno)); return -1; }
    struct kvm_regs r;
    memset(&r, 0, sizeof(r));
    r.rflags = 2;
    r.rip = entry;
    r.rsi = rsi;
    r.rsp = r.rbp = BOOT_STACK;
    if (kvm_ioctl(v->fd, KVM_SET_REGS, &r) < 0) { vmk_seterr(err, errlen, "KVM_SET_REGS: %s", strerror(errno)); return -1; }
    m->booted = true;
    return 0;
}

int kvm_machine_set_entry_real(kvm_machine *m, uint16_t cs, uint16_t ip, char *err, size_t errlen)
{
    kvm_vcpu *v = &m->vcpus[0];
    struct kvm_sregs s;
    if (kvm_ioctl(v->fd, KVM_GET_SREGS, &s) < 0) { vmk_seterr(err, errlen, "KVM_GET_SREGS: %s", strerror(errno)); return -1; }
    s.cs.selector = cs;
    s.cs.base = (uint64_t)cs << 4;
    struct kvm_segment *seg[] = { &s.ds, &s.es, &s.fs, &s.gs, &s.ss };
    for (size_t i = 0; i < 5; i++) { seg[i]->selector = cs; seg[i]->base = (uint64_t)cs << 4; }
    if (kvm_ioctl(v->fd, KVM_SET_SREGS, &s) < 0) { vmk_seterr(err, errlen, "KVM_SET_SREGS: %s", strerror(errno)); return -1; }
    struct kvm_regs r;
    memset(&r, 0, sizeof(r));
    r.rflags = 2;
    r.rip = ip;
    r.rsp = 0xfff0;
    if (kvm_ioctl(v->fd, KVM_SET_REGS, &r) < 0) { vmk_seterr(err, errlen, "KVM_SET_REGS: %s", strerror(errno)); return -1; }
    m->booted = true;
    return 0;
}

/* ---------------- the run loop ---------------- */

static void fatal(kvm_machine *m, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void fatal(kvm_machine *m, const char *fmt, ...)
{
    char buf[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    bool first = !atomic_exchange(&m->failed, true);
    if (first) fprintf(stderr, "\rvmkit: %s\r\n", buf);
    kvm_stop_with(m, 1, false);
}

/* " at rip 0x... (cpl N; bytes 0f 01 ...)" for error messages: the guest's next instruction. */
static void describe_rip(kvm_vcpu *v, char *out, size_t outlen)
{
    struct kvm_regs r;
    struct kvm_sregs sr;
    out[0] = 0;
    if (kvm_ioctl(v->fd, KVM_GET_REGS, &r) < 0 || kvm_ioctl(v->fd, KVM_GET_SREGS, &sr) < 0) return;
    uint64_t rip = r.rip + ((sr.efer & 0x400) && sr.cs.l ? 0 : sr.cs.base);
    size_t n = (size_t)snprintf(out, outlen, " at rip 0x%llx (cpl %u", (unsigned long long)r.rip, sr.cs.dpl);
    struct kvm_translation t = { .linear_address = rip };
    const uint8_t *p = NULL;
    if (kvm_ioctl(v->fd, KVM_TRANSLATE, &t) == 0 && t.valid) p = vmk_mem_ptr(v->m->mem, t.physical_address, 8);
    if (p && n < outlen) {
        n += (size_t)snprintf(out + n, outlen - n, "; bytes");
        for (unsigned i = 0; i < 8 && n < outlen; i++) n += (size_t)snprintf(out + n, outlen - n, " %02x", p[i]);
    }
    if (n < outlen) snprintf(out + n, outlen - n, ")");
}

/* KVM's instruction emulator (which kvm_pvm runs guest kernel code through) cannot deliver an int3
 * outside real mode; Linux executes one at boot (the alternatives self-test) and for text patching.
 * Do it here: rip past the int3, inject #BP (a trap: the handler sees the next instruction's rip).
 * Returns true when handled. */
static bool emulate_failed_insn(kvm_vcpu *v)
{
    struct kvm_regs r;
    struct kvm_sregs sr;
    if (kvm_ioctl(v->fd, KVM_GET_REGS, &r) < 0 || kvm_ioctl(v->fd, KVM_GET_SREGS, &sr) < 0) return false;
    if (!(sr.cr0 & 1)) return false;                          /* real mode: KVM handles int3 itself */
    uint64_t rip = r.rip + ((sr.efer & 0x400) && sr.cs.l ? 0 : sr.cs.base);
    struct kvm_translation t = { .linear_address = rip };
    const uint8_t *p = NULL;
    if (kvm_ioctl(v->fd, KVM_TRANSLATE, &t) == 0 && t.valid) p = vmk_mem_ptr(v->m->mem, t.physical_address, 1);
    if (!p || *p != 0xcc) return false;
    struct kvm_vcpu_events ev;
    if (kvm_ioctl(v->fd, KVM_GET_VCPU_EVENTS, &ev) < 0 || ev.exception.injected || ev.exception.pending) return false;
    r.rip += 1;
    if (kvm_ioctl(v->fd, KVM_SET_REGS, &r) < 0) return false;
    ev.flags &= ~(uint32_t)(KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SIPI_VECTOR);
    ev.exception.injected = 1;
    ev.exception.nr = 3;
    ev.exception.has_error_code = 0;
    ev.exception.error_code = 0;
    if (kvm_ioctl(v->fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
        r.rip -= 1;
        kvm_ioctl(v->fd, KVM_SET_REGS, &r);
        return false;
    }
    atomic_fetch_add_explicit(&v->m->exits_other, 1, memory_order_relaxed);
    vmk_debug("kvm: vCPU %u: int3 at 0x%llx delivered as #BP by vmkit", v->idx, (unsigned long long)rip);
    return true;
}

static void park(kvm_machine *m)
{
    pthread_mutex_lock(&m->ctl);
    m->parked++;
    pthread_cond_broadcast(&m->cv);
    /* request_stop is async-signal-safe and cannot signal the condition: recheck stop every 20 ms */
    while (atomic_load(&m->pause_req) && !atomic_load(&m->stop)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 20000000;
        if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
        pthread_cond_timedwait(&m->cv, &m->ctl, &ts);
    }
    m->parked--;
    pthread_mutex_unlock(&m->ctl);
}

static void handle_exit(kvm_vcpu *v)
{
    kvm_machine *m = v->m;
    struct kvm_run *run = v->run;
    switch (run->exit_reason) {
    case KVM_EXIT_IO: {
        atomic_fetch_add_explicit(&m->exits_io, 1, memory_order_relaxed);
        unsigned size = run->io.size, count = run->io.count;
        uint64_t off = run->io.data_offset;
        if ((size != 1 && size != 2 && size != 4) || off > v->run_size || (uint64_t)size * count > v->run_size - off) {
            fatal(m, "KVM reported a malformed port I/O exit (vCPU %u)", v->idx);
            return;
        }
        uint8_t *data = (uint8_t *)run + off;
        for (unsigned i = 0; i < count; i++)
            kvm_pio(m, v, run->io.port, data + (size_t)i * size, size, run->io.direction == KVM_EXIT_IO_OUT);
        return;
    }
    case KVM_EXIT_MMIO:
        atomic_fetch_add_explicit(&m->exits_mmio, 1, memory_order_relaxed);
        if (run->mmio.len > 8) { if (!run->mmio.is_write) memset(run->mmio.data, 0, 8); return; }
        kvm_mmio(m, run->mmio.phys_addr, run->mmio.data, run->mmio.len, run->mmio.is_write);
        return;
    case KVM_EXIT_INTR:
    case KVM_EXIT_HLT:                 /* with the in-kernel LAPIC, HLT waits in the kernel */
        atomic_fetch_add_explicit(&m->exits_other, 1, memory_order_relaxed);
        return;
    case KVM_EXIT_SHUTDOWN:
        atomic_fetch_add_explicit(&m->exits_other, 1, memory_order_relaxed);
        if (atomic_load(&m->shutdown_pending)) { kvm_stop_with(m, 0, false); return; }
        {
            char where[160];
            describe_rip(v, where, sizeof(where));
            fatal(m, "guest vCPU %u shut down (triple fault)%s", v->idx, where);
        }
        return;
    case KVM_EXIT_SYSTEM_EVENT:
        atomic_fetch_add_explicit(&m->exits_other, 1, memory_order_relaxed);
        switch (run->system_event.type) {
        case KVM_SYSTEM_EVENT_SHUTDOWN: kvm_stop_with(m, 0, false); return;
        case KVM_SYSTEM_EVENT_RESET: kvm_stop_with(m, 0, !atomic_load(&m->shutdown_pending)); return;
        case KVM_SYSTEM_EVENT_CRASH: fatal(m, "guest crashed (KVM system event, vCPU %u)", v->idx); return;
        default: vmk_debug("kvm: system event %u ignored", run->system_event.type); return;
        }
    case KVM_EXIT_FAIL_ENTRY:
        fatal(m, "KVM could not enter the guest on vCPU %u (hardware entry failure reason 0x%llx)", v->idx,
              (unsigned long long)run->fail_entry.hardware_entry_failure_reason);
        return;
    case KVM_EXIT_INTERNAL_ERROR: {
        if (run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION && emulate_failed_insn(v)) return;
        char where[160];
        describe_rip(v, where, sizeof(where));
        fatal(m, "KVM internal error on vCPU %u (suberror %u%s)%s", v->idx, run->internal.suberror,
              run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ? ": instruction emulation failed" : "", where);
        return;
    }
    default:
        fatal(m, "unexpected KVM exit reason %u on vCPU %u", run->exit_reason, v->idx);
        return;
    }
}

static void vcpu_loop(kvm_vcpu *v)
{
    kvm_machine *m = v->m;
    vmk_thread_started("vcpu");
    sigset_t ss;
    sigemptyset(&ss);
    sigaddset(&ss, KICK_SIG);
    pthread_sigmask(SIG_UNBLOCK, &ss, NULL);
    v->thread = pthread_self();
    pthread_mutex_lock(&m->ctl);
    m->in_loop++;
    atomic_store(&v->in_loop, true);
    pthread_mutex_unlock(&m->ctl);
    uint64_t z = 0;
    atomic_compare_exchange_strong(&m->t_first_run, &z, vmk_now_ns());
    while (!atomic_load(&m->stop)) {
        if (atomic_load(&m->pause_req)) { park(m); continue; }
        if (ioctl(v->fd, KVM_RUN, 0) < 0) {
            if (errno == EINTR || errno == EAGAIN) {
                __atomic_store_n(&v->run->immediate_exit, 0, __ATOMIC_SEQ_CST);
                continue;
            }
            fatal(m, "KVM_RUN on vCPU %u: %s", v->idx, strerror(errno));
            break;
        }
        handle_exit(v);
    }
    pthread_mutex_lock(&m->ctl);
    atomic_store(&v->in_loop, false);
    m->in_loop--;
    pthread_cond_broadcast(&m->cv);
    pthread_mutex_unlock(&m->ctl);
}

static void *vcpu_thread(void *arg)
{
    vcpu_loop(arg);
    return NULL;
}

int kvm_machine_run(kvm_machine *m)
{
    if (!m->booted) { vmk_error("kvm: the machine was not booted"); return 1; }
    pthread_mutex_lock(&m->ctl);
    m->running = true;
    kvm_sync_log_mode(m);
    pthread_mutex_unlock(&m->ctl);
    for (unsigned i = 1; i < m->ncpus; i++) {
        kvm_vcpu *v = &m->vcpus[i];
        if (pthread_create(&v->thread, NULL, vcpu_thread, v) != 0) {
            fatal(m, "cannot start the thread of vCPU %u", i);
            break;
        }
        v->thread_started = true;
    }
    vcpu_loop(&m->vcpus[0]);
    kvm_vcpus_kick(m);
    for (unsigned i = 1; i < m->ncpus; i++)
        if (m->vcpus[i].thread_started) {
            pthread_join(m->vcpus[i].thread, NULL);
            m->vcpus[i].thread_started = false;
        }
    pthread_mutex_lock(&m->ctl);
    m->running = false;
    pthread_mutex_unlock(&m->ctl);
    if (vmk_log_level >= VMK_LOG_INFO) {
        kvm_machine_stats st;
        kvm_machine_get_stats(m, &st);
        double c = (double)st.t_create_ns;
        vmk_info("kvm: from VM creation: first KVM_RUN %.3f ms, first COM1 byte %.3f ms, guest exit %.3f ms; "
                 "exits: %llu port I/O, %llu MMIO, %llu other; %llu ioeventfd notifies",
                 (st.t_first_run_ns - c) / 1e6, st.t_first_serial_ns ? (st.t_first_serial_ns - c) / 1e6 : -1.0,
                 st.t_exit_ns ? (st.t_exit_ns - c) / 1e6 : -1.0, (unsigned long long)st.exits_io,
                 (unsigned long long)st.exits_mmio, (unsigned long long)st.exits_other,
                 (unsigned long long)st.ioeventfd_kicks);
    }
    return atomic_load(&m->status);
}

void kvm_machine_pause(kvm_machine *m)
{
    pthread_mutex_lock(&m->ctl);
    if (m->pause_depth++ == 0) atomic_store(&m->pause_req, true);
    kvm_vcpus_kick(m);
    while (m->running && m->parked < m->in_loop && !atomic_load(&m->stop)) pthread_cond_wait(&m->cv, &m->ctl);
    pthread_mutex_unlock(&m->ctl);
}

void kvm_machine_resume(kvm_machine *m)
{
    pthread_mutex_lock(&m->ctl);
    if (m->pause_depth > 0 && --m->pause_depth == 0) {
        kvm_sync_log_mode(m);
        atomic_store(&m->pause_req, false);
        pthread_cond_broadcast(&m->cv);
    }
    pthread_mutex_unlock(&m->ctl);
}

/* ---------------- per-vCPU state ---------------- */

#define VCPU_STATE_MAGIC 0x55504356u   /* "VCPU" */

static int xsave_size(kvm_machine *m)
{
    int n = ioctl(m->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_XSAVE2);
    return n > (int)sizeof(struct kvm_xsave) ? n : (int)sizeof(struct kvm_xsave);
}

/* Everything kvm_vcpu_save writes and kvm_vcpu_load reads; zeroed, the XSAVE area sized at run time. */
typedef struct vcpu_state {
    struct kvm_mp_state mp;
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    struct kvm_xcrs xcrs;
    struct kvm_lapic_state lapic;
    struct kvm_vcpu_events ev;
    struct kvm_debugregs dr;
    kvm_msr_buf msrs;
    int xs;
    struct kvm_xsave *x;
} vcpu_state;

static vcpu_state *vcpu_state_new(kvm_machine *m)
{
    vcpu_state *s = vmk_xcalloc(1, sizeof(*s));
    s->xs = xsave_size(m);
    s->x = vmk_xcalloc(1, (size_t)s->xs);
    return s;
}

static void vcpu_state_free(vcpu_state *s) { free(s->x); free(s); }

/* The length-prefixed blobs of the stream, in stream order (after the magic and the MP state). */
enum { VCPU_NBLOBS = 7 };
typedef struct { void *p; uint32_t n; const char *what; } vcpu_blob;
static void vcpu_blobs(vcpu_state *s, vcpu_blob b[VCPU_NBLOBS])
{
    const vcpu_blob t[VCPU_NBLOBS] = {
        { &s->regs, sizeof(s->regs), "regs" },
        { &s->sregs, sizeof(s->sregs), "sregs" },
        { s->x, (uint32_t)s->xs, "XSAVE area" },
        { &s->xcrs, sizeof(s->xcrs), "XCRs" },
        { &s->lapic, sizeof(s->lapic), "LAPIC" },
        { &s->ev, sizeof(s->ev), "vCPU events" },
        { &s->dr, sizeof(s->dr), "debug registers" },
    };
    memcpy(b, t, sizeof(t));
}

#define GET(req, p, what) do { if (kvm_ioctl(v->fd, req, p) < 0) { \
        vmk_error("kvm: vCPU %u: %s: %s", v->idx, what, strerror(errno)); goto out; } } while (0)

int kvm_vcpu_save(kvm_vcpu *v, vmk_sbuf *b)
{
    int rc = -1;
    vcpu_state *s = vcpu_state_new(v->m);
    vcpu_blob bl[VCPU_NBLOBS];
    GET(KVM_GET_MP_STATE, &s->mp, "KVM_GET_MP_STATE");
    GET(KVM_GET_REGS, &s->regs, "KVM_GET_REGS");
    GET(KVM_GET_SREGS, &s->sregs, "KVM_GET_SREGS");
    GET(s->xs > (int)sizeof(struct kvm_xsave) ? KVM_GET_XSAVE2 : KVM_GET_XSAVE, s->x, "KVM_GET_XSAVE");
    GET(KVM_GET_XCRS, &s->xcrs, "KVM_GET_XCRS");
    GET(KVM_GET_LAPIC, &s->lapic, "KVM_GET_LAPIC");
    GET(KVM_GET_VCPU_EVENTS, &s->ev, "KVM_GET_VCPU_EVENTS");
    GET(KVM_GET_DEBUGREGS, &s->dr, "KVM_GET_DEBUGREGS");
    kvm_msr_buf *msrs = &s->msrs;
    msrs->nmsrs = v->m->nmsrs;
    for (unsigned i = 0; i < v->m->nmsrs; i++) msrs->e[i].index = v->m->msrs[i];
    int n = kvm_ioctl(v->fd, KVM_GET_MSRS, msrs);
    if (n < 0) { vmk_error("kvm: vCPU %u: KVM_GET_MSRS: %s", v->idx, strerror(errno)); goto out; }
    if ((unsigned)n < v->m->nmsrs)
        vmk_warn("kvm: vCPU %u: MSR 0x%x could not be read; %d MSRs saved", v->idx, v->m->msrs[n], n);
    vmk_sb_u32(b, VCPU_STATE_MAGIC);
    vmk_sb_u32(b, s->mp.mp_state);
    vcpu_blobs(s, bl);
    for (int i = 0; i < VCPU_NBLOBS; i++) kvm_sb_blob(b, bl[i].p, bl[i].n);
    vmk_sb_u32(b, (uint32_t)n);
    for (int i = 0; i < n; i++) { vmk_sb_u32(b, msrs->e[i].index); vmk_sb_u64(b, msrs->e[i].data); }
    rc = 0;
out:
    vcpu_state_free(s);
    return rc;
}

#define SET(req, p, what) do { if (kvm_ioctl(v->fd, req, p) < 0) { \
        vmk_seterr(err, errlen, "vCPU %u: %s: %s", v->idx, what, strerror(errno)); goto out; } } while (0)

int kvm_vcpu_load(kvm_vcpu *v, vmk_sread *r, char *err, size_t errlen)
{
    int rc = -1;
    vcpu_state *s = vcpu_state_new(v->m);
    vcpu_blob bl[VCPU_NBLOBS];
    kvm_msr_buf *msrs = &s->msrs;
    if (vmk_sr_u32(r) != VCPU_STATE_MAGIC && vmk_sr_ok(r)) vmk_sr_fail(r, "vCPU %u: bad state magic", v->idx);
    s->mp.mp_state = vmk_sr_u32(r);
    if (vmk_sr_ok(r) && s->mp.mp_state > KVM_MP_STATE_AP_RESET_HOLD) vmk_sr_fail(r, "vCPU %u: bad MP state %u", v->idx, s->mp.mp_state);
    vcpu_blobs(s, bl);
    for (int i = 0; i < VCPU_NBLOBS; i++) kvm_sr_blob(r, bl[i].p, bl[i].n, bl[i].what);
    uint32_t n = vmk_sr_u32(r);
    if (vmk_sr_ok(r) && n > v->m->nmsrs) vmk_sr_fail(r, "vCPU %u: %u MSRs, at most %u", v->idx, n, v->m->nmsrs);
    for (uint32_t i = 0; i < n && vmk_sr_ok(r); i++) {
        msrs->e[i].index = vmk_sr_u32(r);
        msrs->e[i].data = vmk_sr_u64(r);
        if (vmk_sr_ok(r) && !msr_known(v->m, msrs->e[i].index)) vmk_sr_fail(r, "vCPU %u: unexpected MSR 0x%x", v->idx, msrs->e[i].index);
    }
    if (!vmk_sr_ok(r)) goto out;
    if (s->xcrs.nr_xcrs > KVM_MAX_XCRS) { vmk_sr_fail(r, "vCPU %u: %u XCRs", v->idx, s->xcrs.nr_xcrs); goto out; }
    msrs->nmsrs = n;
    SET(KVM_SET_MP_STATE, &s->mp, "KVM_SET_MP_STATE");
    SET(KVM_SET_REGS, &s->regs, "KVM_SET_REGS");
    SET(KVM_SET_SREGS, &s->sregs, "KVM_SET_SREGS");
    SET(KVM_SET_XSAVE, s->x, "KVM_SET_XSAVE");
    SET(KVM_SET_XCRS, &s->xcrs, "KVM_SET_XCRS");
    SET(KVM_SET_DEBUGREGS, &s->dr, "KVM_SET_DEBUGREGS");
    SET(KVM_SET_LAPIC, &s->lapic, "KVM_SET_LAPIC");
    int k = kvm_ioctl(v->fd, KVM_SET_MSRS, msrs);
    if (k < 0 || (uint32_t)k != n) {
        vmk_seterr(err, errlen, "vCPU %u: KVM_SET_MSRS: MSR 0x%x rejected", v->idx, k >= 0 && (uint32_t)k < n ? msrs->e[k].index : 0);
        goto out;
    }
    SET(KVM_SET_VCPU_EVENTS, &s->ev, "KVM_SET_VCPU_EVENTS");
    rc = 0;
out:
    vcpu_state_free(s);
    return rc;
}
