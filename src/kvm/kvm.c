/* kvm.c — the x86-64 KVM machine: /dev/kvm and the VM (TSS, identity map, in-kernel irqchip and
 * PIT), guest RAM as one memory slot with optional dirty logging, interrupt lines (KVM_IRQ_LINE),
 * virtio-mmio windows with ioeventfd QueueNotify, MMIO dispatch, boot through the x86 builders,
 * stop/reboot/shutdown control and VM-wide state (PIC/IOAPIC, PIT, KVM clock, UART, CMOS). */
#include "kvm_impl.h"
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define TSS_ADDR      0xfffbd000ull
#define IDMAP_ADDR    0xfffbc000ull

int kvm_ioctl(int fd, unsigned long req, void *arg)
{
    int r;
    do r = ioctl(fd, req, arg); while (r < 0 && errno == EINTR);
    return r;
}

int kvm_open_dev(char *err, size_t errlen)
{
    int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == ENOENT)
            vmk_seterr(err, errlen, "/dev/kvm does not exist: this host has no KVM (use the default software engine)");
        else if (e == EACCES || e == EPERM)
            vmk_seterr(err, errlen, "/dev/kvm: access not permitted (add yourself to group kvm)");
        else
            vmk_seterr(err, errlen, "/dev/kvm: cannot open: %s", strerror(e));
        return -1;
    }
    int v = ioctl(fd, KVM_GET_API_VERSION, 0);
    if (v < 0) {
        vmk_seterr(err, errlen, "/dev/kvm is not usable (not a KVM device: %s)", strerror(errno));
        close(fd);
        return -1;
    }
    if (v != KVM_API_VERSION) {
        vmk_seterr(err, errlen, "/dev/kvm: KVM API version %d, vmkit needs %d", v, KVM_API_VERSION);
        close(fd);
        return -1;
    }
    return fd;
}

static void irq_line(void *ctx, unsigned line, int level)
{
    kvm_machine *m = ctx;
    struct kvm_irq_level il = { .irq = line, .level = level ? 1 : 0 };
    if (kvm_ioctl(m->vm_fd, KVM_IRQ_LINE, &il) < 0)
        vmk_warn("kvm: KVM_IRQ_LINE %u=%d: %s", line, level, strerror(errno));
}

static int set_ram_slot(kvm_machine *m, bool log, char *err, size_t errlen)
{
    struct kvm_userspace_memory_region r = {
        .slot = 0, .flags = log ? KVM_MEM_LOG_DIRTY_PAGES : 0, .guest_phys_addr = 0,
        .memory_size = m->mem->size, .userspace_addr = (uint64_t)(uintptr_t)m->mem->host };
    if (kvm_ioctl(m->vm_fd, KVM_SET_USER_MEMORY_REGION, &r) < 0) {
        vmk_seterr(err, errlen, "KVM_SET_USER_MEMORY_REGION (%" PRIu64 " MiB): %s", m->mem->size >> 20, strerror(errno));
        return -1;
    }
    m->dirty_logging = log;
    return 0;
}

static struct kvm_cpuid2 *get_supported_cpuid(int kvm_fd)
{
    for (unsigned n = 64; n <= 4096; n *= 2) {
        struct kvm_cpuid2 *c = vmk_xcalloc(1, sizeof(*c) + n * sizeof(struct kvm_cpuid_entry2));
        c->nent = n;
        if (kvm_ioctl(kvm_fd, KVM_GET_SUPPORTED_CPUID, c) == 0) return c;
        free(c);
        if (errno != E2BIG) return NULL;
    }
    return NULL;
}

/* The MSRs saved with each vCPU: the fixed list, filtered by what KVM can save. */
static void pick_msrs(kvm_machine *m)
{
    static const uint32_t want[] = {
        0x174, 0x175, 0x176,                         /* SYSENTER_CS/ESP/EIP */
        0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084, 0xc0000102, 0xc0000103,  /* STAR..FMASK, KGS, TSC_AUX */
        0x10, 0x1a0, 0x2ff, 0x277, 0x6e0,            /* TSC, MISC_ENABLE, MTRRdefType, PAT, TSC_DEADLINE */
        0x4b564d00, 0x4b564d01, 0x4b564d02, 0x4b564d03, 0x4b564d04,   /* KVM clock, async PF, steal, PV EOI */
        0x11, 0x12,                                  /* old KVM clock MSRs */
    };
    struct kvm_msr_list *l = vmk_xcalloc(1, sizeof(*l) + 1024 * sizeof(uint32_t));
    l->nmsrs = 1024;
    bool have = kvm_ioctl(m->kvm_fd, KVM_GET_MSR_INDEX_LIST, l) == 0;
    m->nmsrs = 0;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]) && m->nmsrs < KVM_MAX_MSRS; i++) {
        bool ok = !have;
        for (uint32_t j = 0; have && j < l->nmsrs && !ok; j++) ok = l->indices[j] == want[i];
        if (ok) m->msrs[m->nmsrs++] = want[i];
    }
    free(l);
}

kvm_machine *kvm_machine_new(vmk_mem *mem, unsigned ncpus, vmk_chardev *console, vmk_loop *loop,
                             char *err, size_t errlen)
{
    if (mem->base != 0) { vmk_seterr(err, errlen, "x86_64: guest RAM must start at 0"); return NULL; }
    if (mem->size > KVM_X86_MAX_RAM) {
        vmk_seterr(err, errlen, "x86_64 guests have at most %llu MiB of RAM (asked for %llu MiB)",
                   (unsigned long long)(KVM_X86_MAX_RAM >> 20), (unsigned long long)(mem->size >> 20));
        return NULL;
    }
    if (mem->size < (2u << 20)) { vmk_seterr(err, errlen, "x86_64 guests need at least 2 MiB of RAM"); return NULL; }
    if (ncpus == 0 || ncpus > X86_MAX_CPUS) {
        vmk_seterr(err, errlen, "x86_64: --cpus must be 1..%u (got %u)", X86_MAX_CPUS, ncpus);
        return NULL;
    }
    if (kvm_kick_signal_init() < 0) { vmk_seterr(err, errlen, "kvm: cannot install the vCPU kick signal"); return NULL; }
    kvm_machine *m = vmk_xcalloc(1, sizeof(*m));
    m->t_create = vmk_now_ns();
    m->mem = mem;
    m->ncpus = ncpus;
    m->loop = loop;
    m->vm_fd = -1;
    pthread_mutex_init(&m->pio_mtx, NULL);
    pthread_mutex_init(&m->ctl, NULL);
    pthread_cond_init(&m->cv, NULL);
    for (unsigned i = 0; i < KVM_X86_MAX_VIRTIO; i++) {
        m->virtio[i].m = m;
        m->virtio[i].slot = i;
        for (unsigned q = 0; q < KVM_NOTIFY_QUEUES; q++) m->virtio[i].n[q] = (kvm_notify){ &m->virtio[i], q, -1 };
    }
    if ((m->kvm_fd = kvm_open_dev(err, errlen)) < 0) goto fail;
    static const struct { int cap; const char *name; } caps[] = {
        { KVM_CAP_IRQCHIP, "in-kernel irqchip" }, { KVM_CAP_USER_MEMORY, "user memory" },
        { KVM_CAP_SET_TSS_ADDR, "TSS address" }, { KVM_CAP_PIT2, "PIT" }, { KVM_CAP_IOEVENTFD, "ioeventfd" },
        { KVM_CAP_IMMEDIATE_EXIT, "immediate exit" }, { KVM_CAP_EXT_CPUID, "CPUID" },
    };
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++)
        if (ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, caps[i].cap) <= 0) {
            vmk_seterr(err, errlen, "/dev/kvm lacks a capability vmkit needs: %s", caps[i].name);
            goto fail;
        }
    int maxv = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
    if (maxv <= 0) maxv = ioctl(m->kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
    if (maxv > 0 && ncpus > (unsigned)maxv) {
        vmk_seterr(err, errlen, "x86_64: KVM allows at most %d vCPUs (asked for %u)", maxv, ncpus);
        goto fail;
    }
    int vfd;
    do vfd = ioctl(m->kvm_fd, KVM_CREATE_VM, 0); while (vfd < 0 && errno == EINTR);
    if (vfd < 0) { vmk_seterr(err, errlen, "/dev/kvm: KVM_CREATE_VM: %s", strerror(errno)); goto fail; }
    m->vm_fd = vfd;
    uint64_t idmap = IDMAP_ADDR;
    if (ioctl(vfd, KVM_SET_TSS_ADDR, (unsigned long)TSS_ADDR) < 0 ||
        kvm_ioctl(vfd, KVM_SET_IDENTITY_MAP_ADDR, &idmap) < 0) {
        vmk_seterr(err, errlen, "KVM_SET_TSS_ADDR/IDENTITY_MAP_ADDR: %s", strerror(errno));
        goto fail;
    }
    if (kvm_ioctl(vfd, KVM_CREATE_IRQCHIP, NULL) < 0) {
        vmk_seterr(err, errlen, "KVM_CREATE_IRQCHIP: %s", strerror(errno));
        goto fail;
    }
    struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
    if (kvm_ioctl(vfd, KVM_CREATE_PIT2, &pit) < 0) {
        vmk_seterr(err, errlen, "KVM_CREATE_PIT2: %s", strerror(errno));
        goto fail;
    }
    if (set_ram_slot(m, mem->log_on, err, errlen) < 0) goto fail;
    if (!(m->supported = get_supported_cpuid(m->kvm_fd))) {
        vmk_seterr(err, errlen, "KVM_GET_SUPPORTED_CPUID: %s", strerror(errno));
        goto fail;
    }
    pick_msrs(m);
    /* kvm_pvm (Pagetable-based VM: KVM without VMX/SVM, e.g. inside a cloud VM) runs guest kernel code
     * through KVM's instruction emulator unless the guest kernel is PVM-enabled; hide what it cannot
     * emulate (vcpu.c set_cpuid). */
    m->pvm = access("/sys/module/kvm_pvm", F_OK) == 0 && access("/sys/module/kvm_intel", F_OK) != 0 &&
             access("/sys/module/kvm_amd", F_OK) != 0;
    if (m->pvm) vmk_info("kvm: /dev/kvm is kvm_pvm (software virtualization): guest kernel code is emulated: CPUID hides what its emulator cannot run (CX16, XSAVE, AVX*, POPCNT, ...)");
    m->uart = vmk_uart_new(console, (vmk_irq){ .set = irq_line, .ctx = m, .line = KVM_X86_COM1_IRQ });
    m->vcpus = vmk_xcalloc(ncpus, sizeof(kvm_vcpu));
    for (unsigned i = 0; i < ncpus; i++) m->vcpus[i].fd = -1;
    for (unsigned i = 0; i < ncpus; i++)
        if (kvm_vcpu_create(m, i, err, errlen) < 0) goto fail;
    return m;
fail:
    kvm_machine_free(m);
    return NULL;
}

void kvm_machine_free(kvm_machine *m)
{
    if (!m) return;
    for (unsigned i = 0; i < KVM_X86_MAX_VIRTIO; i++)
        for (unsigned q = 0; q < KVM_NOTIFY_QUEUES; q++) {
            kvm_notify *n = &m->virtio[i].n[q];
            if (n->fd < 0) continue;
            if (m->loop) vmk_loop_del_fd(m->loop, n->fd);
            close(n->fd);
        }
    if (m->vcpus)
        for (unsigned i = 0; i < m->ncpus; i++) kvm_vcpu_destroy(&m->vcpus[i]);
    free(m->vcpus);
    if (m->uart) vmk_uart_free(m->uart);
    free(m->supported);
    if (m->vm_fd >= 0) close(m->vm_fd);
    if (m->kvm_fd >= 0) close(m->kvm_fd);
    pthread_mutex_destroy(&m->pio_mtx);
    pthread_mutex_destroy(&m->ctl);
    pthread_cond_destroy(&m->cv);
    free(m);
}

/* ---------------- virtio windows ---------------- */

int kvm_machine_reserve_virtio(kvm_machine *m, vmk_irq *irq, char *err, size_t errlen)
{
    if (m->nvirtio >= KVM_X86_MAX_VIRTIO) {
        vmk_seterr(err, errlen, "x86_64: too many virtio devices (at most %u)", KVM_X86_MAX_VIRTIO);
        return -1;
    }
    unsigned slot = m->nvirtio++;
    *irq = (vmk_irq){ .set = irq_line, .ctx = m, .line = X86_VIRTIO_IRQ0 + slot };
    return (int)slot;
}

/* Loop thread: the guest wrote n->q to a window's QueueNotify; KVM signalled the eventfd. */
static void notify_cb(void *opaque, uint32_t revents)
{
    kvm_notify *n = opaque;
    (void)revents;
    uint64_t cnt;
    if (read(n->fd, &cnt, sizeof(cnt)) != sizeof(cnt)) return;
    atomic_fetch_add_explicit(&n->w->m->kicks, 1, memory_order_relaxed);
    n->w->ops->write(n->w->opaque, 0x50, n->q, 4);
}

void kvm_machine_attach_virtio(kvm_machine *m, int slot, const vmk_mmio_ops *ops, void *opaque)
{
    if (slot < 0 || (unsigned)slot >= m->nvirtio) return;
    kvm_vwin *w = &m->virtio[slot];
    w->ops = ops;
    w->opaque = opaque;
    w->attached = true;
    if (!m->loop) return;
    for (unsigned q = 0; q < KVM_NOTIFY_QUEUES; q++) {
        kvm_notify *n = &w->n[q];
        int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        if (fd < 0) break;
        struct kvm_ioeventfd io = { .datamatch = q, .addr = X86_VIRTIO_BASE + (uint64_t)slot * 0x1000 + 0x50,
                                    .len = 4, .fd = fd, .flags = KVM_IOEVENTFD_FLAG_DATAMATCH };
        if (kvm_ioctl(m->vm_fd, KVM_IOEVENTFD, &io) < 0) {
            vmk_warn("kvm: KVM_IOEVENTFD: %s (QueueNotify goes through MMIO exits)", strerror(errno));
            close(fd);
            break;
        }
        n->fd = fd;
        if (vmk_loop_add_fd(m->loop, fd, EPOLLIN, notify_cb, n) < 0) {
            io.flags |= KVM_IOEVENTFD_FLAG_DEASSIGN;
            kvm_ioctl(m->vm_fd, KVM_IOEVENTFD, &io);
            close(fd);
            n->fd = -1;
            break;
        }
    }
}

void kvm_machine_virtio_cmdline(kvm_machine *m, char *out, size_t outlen)
{
    size_t len = strlen(out);
    for (unsigned i = 0; i < m->nvirtio && len < outlen; i++) {
        int k = snprintf(out + len, outlen - len, " virtio_mmio.device=4K@0x%llx:%u",
                         (unsigned long long)(X86_VIRTIO_BASE + (uint64_t)i * 0x1000), X86_VIRTIO_IRQ0 + i);
        if (k < 0) break;
        len += (size_t)k;
    }
}

/* kvm_pvm reports many CPUID feature bits from the host whatever the vCPU's table says (measured:
 * POPCNT, XSAVE, AVX, RDRAND, FSGSBASE, SMAP, ... stay set; CX16 and PCID can be hidden), so Linux is
 * also told on its command line: noxsave, and clearcpuid= for POPCNT (4*32+23), RDRAND (4*32+30),
 * RDTSCP (1*32+27), RDSEED (9*32+18), RDPID (16*32+22), SMAP (9*32+20: stac/clac), FSGSBASE (9*32+0)
 * and PKU (16*32+3). */
const char *kvm_machine_cmdline_quirks(kvm_machine *m)
{
    return m->pvm ? "noxsave clearcpuid=151,158,59,306,534,308,288,515" : "";
}

/* An MMIO exit: the virtio windows; anything else reads 0 and ignores writes. */
bool kvm_mmio(kvm_machine *m, uint64_t addr, uint8_t *data, unsigned len, bool is_write)
{
    if (addr >= X86_VIRTIO_BASE && addr - X86_VIRTIO_BASE < (uint64_t)m->nvirtio * 0x1000 &&
        (len == 1 || len == 2 || len == 4 || len == 8)) {
        kvm_vwin *w = &m->virtio[(addr - X86_VIRTIO_BASE) >> 12];
        uint64_t off = (addr - X86_VIRTIO_BASE) & 0xfff;
        if (w->attached && off + len <= 0x1000) {
            if (is_write) {
                uint64_t v = 0;
                memcpy(&v, data, len);
                w->ops->write(w->opaque, off, v, len);
            } else {
                uint64_t v = w->ops->read(w->opaque, off, len);
                memcpy(data, &v, len);
            }
            return true;
        }
    }
    vmk_debug("kvm: unhandled MMIO %s at 0x%llx (%u bytes)", is_write ? "write" : "read", (unsigned long long)addr, len);
    if (!is_write) memset(data, 0, len);
    return false;
}

/* ---------------- boot ---------------- */

int kvm_machine_boot(kvm_machine *m, const char *kernel, const char *initrd, const char *cmdline,
                     char *err, size_t errlen)
{
    x86_boot_cfg bc = { .kernel = kernel, .initrd = initrd, .cmdline = cmdline, .ncpus = m->ncpus };
    x86_boot_info bi;
    if (x86_boot_load(m->mem, &bc, &bi, err, errlen) < 0) return -1;
    if (kvm_machine_set_entry64(m, bi.entry, bi.zero_page, bi.pml4, bi.gdt, (uint16_t)bi.gdt_limit, err, errlen) < 0)
        return -1;
    return 0;
}

/* ---------------- control ---------------- */

void kvm_stop_with(kvm_machine *m, int status, bool reboot)
{
    bool expected = false;
    if (atomic_compare_exchange_strong(&m->stop, &expected, true)) {
        atomic_store(&m->status, status);
        atomic_store(&m->reboot, reboot);
        uint64_t z = 0;
        atomic_compare_exchange_strong(&m->t_exit, &z, vmk_now_ns());
    }
    kvm_vcpus_kick(m);
}

void kvm_machine_request_stop(kvm_machine *m, int status)
{
    bool expected = false;
    if (atomic_compare_exchange_strong(&m->stop, &expected, true)) {
        atomic_store(&m->status, status);
        atomic_store(&m->reboot, false);
    }
    kvm_vcpus_kick(m);
}

bool kvm_machine_reboot_requested(kvm_machine *m) { return atomic_load(&m->reboot); }

static void sysrq_u(void *opaque) { vmk_uart_send_break(((kvm_machine *)opaque)->uart, 'u'); }
static void sysrq_b(void *opaque) { vmk_uart_send_break(((kvm_machine *)opaque)->uart, 'b'); }

void kvm_machine_request_shutdown(kvm_machine *m)
{
    atomic_store(&m->shutdown_pending, true);
    vmk_uart_send_break(m->uart, 's');
    if (m->loop) {
        uint64_t now = vmk_now_ns();
        vmk_loop_add_timer(m->loop, now + 300000000ull, sysrq_u, m);
        vmk_loop_add_timer(m->loop, now + 1500000000ull, sysrq_b, m);
    } else {
        vmk_uart_send_break(m->uart, 'u');
        vmk_uart_send_break(m->uart, 'b');
    }
}

void kvm_machine_dirty_sync(kvm_machine *m)
{
    vmk_mem *mem = m->mem;
    if (m->dirty_logging && mem->log && mem->log_on) {
        uint64_t words = (vmk_mem_pages(mem) + 63) / 64;
        uint64_t *bm = vmk_xcalloc(words, sizeof(uint64_t));
        struct kvm_dirty_log dl = { .slot = 0, .dirty_bitmap = bm };
        if (kvm_ioctl(m->vm_fd, KVM_GET_DIRTY_LOG, &dl) == 0) {
            for (uint64_t w = 0; w < words; w++)
                if (bm[w]) __atomic_fetch_or(&mem->log[w], bm[w], __ATOMIC_RELAXED);
        } else {
            /* cannot tell what the guest wrote: everything is dirty */
            vmk_warn("kvm: KVM_GET_DIRTY_LOG: %s", strerror(errno));
            for (uint64_t w = 0; w < words; w++) __atomic_store_n(&mem->log[w], ~0ull, __ATOMIC_RELAXED);
        }
        free(bm);
    }
    kvm_sync_log_mode(m);
}

/* With every vCPU parked (or not started): a log started while paused must catch the first write. */
void kvm_sync_log_mode(kvm_machine *m)
{
    char err[VMK_ERRLEN];
    bool want = m->mem->log_on && m->mem->log;
    if (want != m->dirty_logging && set_ram_slot(m, want, err, sizeof(err)) < 0)
        vmk_warn("kvm: dirty logging %s: %s", want ? "on" : "off", err);
}

void kvm_machine_get_stats(kvm_machine *m, kvm_machine_stats *st)
{
    st->exits_io = atomic_load(&m->exits_io);
    st->exits_mmio = atomic_load(&m->exits_mmio);
    st->exits_other = atomic_load(&m->exits_other);
    st->ioeventfd_kicks = atomic_load(&m->kicks);
    st->t_first_run_ns = atomic_load(&m->t_first_run);
    st->t_first_serial_ns = atomic_load(&m->t_first_serial);
    st->t_exit_ns = atomic_load(&m->t_exit);
    st->t_create_ns = m->t_create;
}

/* ---------------- state ---------------- */

#define KVM_STATE_VERSION 1u

int kvm_machine_save(kvm_machine *m, vmk_sbuf *b)
{
    vmk_sb_u32(b, KVM_STATE_VERSION);
    vmk_sb_u32(b, m->ncpus);
    struct kvm_clock_data clk = { 0 };
    if (kvm_ioctl(m->vm_fd, KVM_GET_CLOCK, &clk) < 0) { vmk_error("kvm: KVM_GET_CLOCK: %s", strerror(errno)); return -1; }
    vmk_sb_u64(b, clk.clock);
    for (uint32_t chip = 0; chip < 3; chip++) {
        struct kvm_irqchip ic = { .chip_id = chip };
        if (kvm_ioctl(m->vm_fd, KVM_GET_IRQCHIP, &ic) < 0) { vmk_error("kvm: KVM_GET_IRQCHIP: %s", strerror(errno)); return -1; }
        kvm_sb_blob(b, &ic, sizeof(ic));
    }
    struct kvm_pit_state2 pit;
    memset(&pit, 0, sizeof(pit));
    if (kvm_ioctl(m->vm_fd, KVM_GET_PIT2, &pit) < 0) { vmk_error("kvm: KVM_GET_PIT2: %s", strerror(errno)); return -1; }
    kvm_sb_blob(b, &pit, sizeof(pit));
    vmk_uart_save(m->uart, b);
    pthread_mutex_lock(&m->pio_mtx);
    vmk_sb_u8(b, m->cmos_idx);
    pthread_mutex_unlock(&m->pio_mtx);
    for (unsigned i = 0; i < m->ncpus; i++)
        if (kvm_vcpu_save(&m->vcpus[i], b) < 0) return -1;
    return 0;
}

int kvm_machine_load(kvm_machine *m, vmk_sread *r, char *err, size_t errlen)
{
    uint32_t ver = vmk_sr_u32(r), ncpus = vmk_sr_u32(r);
    if (vmk_sr_ok(r) && ver != KVM_STATE_VERSION) vmk_sr_fail(r, "x86_64 state version %u, expected %u", ver, KVM_STATE_VERSION);
    if (vmk_sr_ok(r) && ncpus != m->ncpus) vmk_sr_fail(r, "x86_64 state has %u vCPUs, the VM has %u", ncpus, m->ncpus);
    struct kvm_clock_data clk = { 0 };
    clk.clock = vmk_sr_u64(r);
    struct kvm_irqchip ic[3];
    for (uint32_t chip = 0; chip < 3 && vmk_sr_ok(r); chip++) {
        if (!kvm_sr_blob(r, &ic[chip], sizeof(ic[chip]), "irqchip")) break;
        if (ic[chip].chip_id != chip) vmk_sr_fail(r, "irqchip %u has id %u", chip, ic[chip].chip_id);
    }
    struct kvm_pit_state2 pit;
    kvm_sr_blob(r, &pit, sizeof(pit), "PIT");
    if (!vmk_sr_ok(r)) goto bad;
    if (vmk_uart_load(m->uart, r) < 0) { if (vmk_sr_ok(r)) vmk_sr_fail(r, "UART state"); goto bad; }
    uint8_t idx = vmk_sr_u8(r);
    if (!vmk_sr_ok(r)) goto bad;
    m->cmos_idx = idx & 0x7f;
    if (kvm_ioctl(m->vm_fd, KVM_SET_CLOCK, &clk) < 0) { vmk_seterr(err, errlen, "KVM_SET_CLOCK: %s", strerror(errno)); return -1; }
    for (uint32_t chip = 0; chip < 3; chip++)
        if (kvm_ioctl(m->vm_fd, KVM_SET_IRQCHIP, &ic[chip]) < 0) {
            vmk_seterr(err, errlen, "KVM_SET_IRQCHIP %u: %s", chip, strerror(errno));
            return -1;
        }
    if (kvm_ioctl(m->vm_fd, KVM_SET_PIT2, &pit) < 0) { vmk_seterr(err, errlen, "KVM_SET_PIT2: %s", strerror(errno)); return -1; }
    for (unsigned i = 0; i < m->ncpus; i++)
        if (kvm_vcpu_load(&m->vcpus[i], r, err, errlen) < 0) {
            if (!vmk_sr_ok(r)) goto bad;
            return -1;
        }
    m->booted = true;
    return 0;
bad:
    vmk_seterr(err, errlen, "x86_64 state: %s", r->err[0] ? r->err : "truncated");
    return -1;
}
