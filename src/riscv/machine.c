/* machine.c — the RISC-V virt-like machine: physical bus dispatch (CLINT, PLIC, UART, RTC, test
 * device, virtio-mmio), mtime, and the run loop: one vCPU thread runs every hart round-robin in slices; when
 * all harts wait in WFI it sleeps on an eventfd until the next timer deadline or rv_machine_wake.
 * Also the control and state API of riscv.h: pause/resume (the vCPU thread parks at a block boundary,
 * guest time frozen while parked), dirty sync, graceful shutdown over Magic SysRq, and the machine's
 * saved state (harts, CLINT, PLIC, UART, RTC). */
#include "riscv.h"
#include "cpu.h"
#include "platform.h"
#include "../dev/dev.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define SLICE_INSNS 50000u        /* one hart: interrupts still preempt a slice through rv_hart_kick */
#define SLICE_INSNS_SMP 10000u    /* several harts: shorter turns cut IPI and remote-fence latency */
#define MAX_SLEEP_NS 1000000000ull

typedef struct virtio_slot {
    const vmk_mmio_ops *ops;
    void *opaque;
    bool reserved;
} virtio_slot;

struct rv_machine {
    vmk_mem *mem;
    unsigned nharts;
    rv_hart *harts[RV_MAX_HARTS];
    bool idle[RV_MAX_HARTS];
    rv_plic *plic;
    rv_clint *clint;
    vmk_uart *uart;
    vmk_rtc *rtc;
    virtio_slot virtio[RV_VIRTIO_SLOTS];
    unsigned nvirtio;
    int wake_fd;
    /* guest time: mtime ticks = (frozen ? frozen_ns : now - time_base_ns) / 100. Owned by the vCPU
     * thread while rv_machine_run runs, else by the caller of pause/resume/load (under plock). */
    uint64_t time_base_ns, frozen_ns;
    bool frozen;
    /* pause protocol (see riscv.h): plock guards pause_count, running, parked */
    pthread_mutex_t plock;
    pthread_cond_t pcond;
    unsigned pause_count;
    bool running, parked;
    atomic_bool pause_req;
    /* graceful shutdown in progress: next SysRq key to send and when */
    atomic_bool sysrq_on;
    atomic_uint sysrq_step;
    uint64_t sysrq_next;
    atomic_int stop;                 /* 0 = run; 1 = stop requested */
    atomic_int exit_status;
    atomic_bool reboot;              /* the guest asked for a reset (test device 0x7777) */
    atomic_bool sleeping;
    uint64_t sleeps, slices;
    uint64_t slice;                  /* instructions per hart per turn */
};

/* ---------- contract with the hart side ---------- */
uint64_t rv_machine_mtime(rv_machine *m) { return rv_clint_mtime(m->clint); }
unsigned rv_machine_nharts(rv_machine *m) { return m->nharts; }
rv_hart *rv_machine_hart(rv_machine *m, unsigned i) { return i < m->nharts ? m->harts[i] : NULL; }

void rv_machine_wake(rv_machine *m)
{
    if (!atomic_load_explicit(&m->sleeping, memory_order_acquire)) return;
    uint64_t one = 1;
    ssize_t r = write(m->wake_fd, &one, sizeof(one));
    (void)r;
}

static void stop_with(rv_machine *m, int status)
{
    int expected = 0;
    if (atomic_compare_exchange_strong(&m->stop, &expected, 1)) atomic_store(&m->exit_status, status);
    for (unsigned i = 0; i < m->nharts; i++) if (m->harts[i]) rv_hart_kick(m->harts[i]);
    uint64_t one = 1;
    ssize_t r = write(m->wake_fd, &one, sizeof(one));
    (void)r;
}

void rv_machine_request_stop(rv_machine *m, int status) { stop_with(m, status); }
bool rv_machine_reboot_requested(rv_machine *m) { return atomic_load(&m->reboot); }

/* sifive,test0: 0x5555 = poweroff, 0x7777 = reset, 0x3333 | code << 16 = fail with code */
static void test_write(rv_machine *m, uint64_t off, uint64_t val)
{
    if (off != 0) return;
    uint32_t v = (uint32_t)val;
    switch (v & 0xffff) {
    case 0x5555: vmk_info("guest powered off"); stop_with(m, 0); break;
    case 0x7777:
        vmk_info("guest requested reset");
        if (!atomic_load(&m->stop)) atomic_store(&m->reboot, true);
        stop_with(m, 0);
        break;
    case 0x3333: {
        int code = (int)(v >> 16);
        vmk_info("guest reported failure code %d", code);
        stop_with(m, code ? (code & 0xff ? code & 0xff : 1) : 1);
        break;
    }
    default: vmk_debug("test device: unknown command 0x%x", v); break;
    }
}

static uint64_t size_mask(unsigned size) { return size >= 8 ? ~0ull : (1ull << (8 * size)) - 1; }

bool rv_bus_read(rv_machine *m, uint64_t pa, unsigned size, uint64_t *val)
{
    if (pa >= RV_VIRTIO_BASE && pa < RV_VIRTIO_BASE + RV_VIRTIO_SLOTS * RV_VIRTIO_STRIDE) {
        unsigned s = (unsigned)((pa - RV_VIRTIO_BASE) / RV_VIRTIO_STRIDE);
        uint64_t off = (pa - RV_VIRTIO_BASE) % RV_VIRTIO_STRIDE;
        if (off + size > RV_VIRTIO_STRIDE) return false;
        *val = m->virtio[s].ops ? m->virtio[s].ops->read(m->virtio[s].opaque, off, size) & size_mask(size) : 0;
        return true;
    }
    if (pa >= RV_UART_BASE && pa < RV_UART_BASE + VMK_UART_MMIO_SIZE) {
        *val = vmk_uart_ops.read(m->uart, pa - RV_UART_BASE, size) & size_mask(size);
        return true;
    }
    if (pa >= RV_CLINT_BASE && pa < RV_CLINT_BASE + RV_CLINT_SIZE && pa + size <= RV_CLINT_BASE + RV_CLINT_SIZE) {
        *val = rv_clint_ops.read(m->clint, pa - RV_CLINT_BASE, size);
        return true;
    }
    if (pa >= RV_PLIC_BASE && pa < RV_PLIC_BASE + RV_PLIC_SIZE && pa + size <= RV_PLIC_BASE + RV_PLIC_SIZE) {
        *val = rv_plic_ops.read(m->plic, pa - RV_PLIC_BASE, size);
        return true;
    }
    if (pa >= RV_TEST_BASE && pa < RV_TEST_BASE + RV_TEST_SIZE) {
        *val = 0;
        return true;
    }
    if (pa >= RV_RTC_BASE && pa < RV_RTC_BASE + RV_RTC_SIZE) {
        *val = vmk_rtc_ops.read(m->rtc, pa - RV_RTC_BASE, size) & size_mask(size);
        return true;
    }
    return false;
}

bool rv_bus_write(rv_machine *m, uint64_t pa, unsigned size, uint64_t val)
{
    val &= size_mask(size);
    if (pa >= RV_VIRTIO_BASE && pa < RV_VIRTIO_BASE + RV_VIRTIO_SLOTS * RV_VIRTIO_STRIDE) {
        unsigned s = (unsigned)((pa - RV_VIRTIO_BASE) / RV_VIRTIO_STRIDE);
        uint64_t off = (pa - RV_VIRTIO_BASE) % RV_VIRTIO_STRIDE;
        if (off + size > RV_VIRTIO_STRIDE) return false;
        if (m->virtio[s].ops) m->virtio[s].ops->write(m->virtio[s].opaque, off, val, size);
        return true;
    }
    if (pa >= RV_UART_BASE && pa < RV_UART_BASE + VMK_UART_MMIO_SIZE) {
        vmk_uart_ops.write(m->uart, pa - RV_UART_BASE, val, size);
        return true;
    }
    if (pa >= RV_CLINT_BASE && pa < RV_CLINT_BASE + RV_CLINT_SIZE && pa + size <= RV_CLINT_BASE + RV_CLINT_SIZE) {
        rv_clint_ops.write(m->clint, pa - RV_CLINT_BASE, val, size);
        return true;
    }
    if (pa >= RV_PLIC_BASE && pa < RV_PLIC_BASE + RV_PLIC_SIZE && pa + size <= RV_PLIC_BASE + RV_PLIC_SIZE) {
        rv_plic_ops.write(m->plic, pa - RV_PLIC_BASE, val, size);
        return true;
    }
    if (pa >= RV_TEST_BASE && pa < RV_TEST_BASE + RV_TEST_SIZE) {
        test_write(m, pa - RV_TEST_BASE, val);
        return true;
    }
    if (pa >= RV_RTC_BASE && pa < RV_RTC_BASE + RV_RTC_SIZE) {
        vmk_rtc_ops.write(m->rtc, pa - RV_RTC_BASE, val, size);
        return true;
    }
    return false;
}

/* ---------- interrupt wiring ---------- */
static void plic_out(void *opaque, unsigned ctx, bool level)
{
    rv_machine *m = opaque;
    unsigned h = ctx / 2;
    if (h < m->nharts) rv_hart_set_irq(m->harts[h], (ctx & 1) ? RV_IRQ_SEI : RV_IRQ_MEI, level);
}

static void clint_irq(void *opaque, unsigned hart, unsigned bit, bool level)
{
    rv_machine *m = opaque;
    if (hart < m->nharts) rv_hart_set_irq(m->harts[hart], bit, level);
}

static uint64_t clint_time(void *opaque)
{
    rv_machine *m = opaque;
    uint64_t ns = m->frozen ? m->frozen_ns : vmk_now_ns() - m->time_base_ns;
    return ns / (1000000000ull / RV_TIMEBASE_HZ);
}

static void time_freeze(rv_machine *m)
{
    if (m->frozen) return;
    m->frozen_ns = vmk_now_ns() - m->time_base_ns;
    m->frozen = true;
}

static void time_thaw(rv_machine *m)
{
    if (!m->frozen) return;
    m->time_base_ns = vmk_now_ns() - m->frozen_ns;
    m->frozen = false;
}

/* ---------- lifecycle ---------- */
rv_machine *rv_machine_new(vmk_mem *mem, unsigned ncpus, vmk_chardev *console, char *err, size_t errlen)
{
    if (ncpus == 0 || ncpus > RV_MAX_HARTS) {
        vmk_seterr(err, errlen, "--cpus must be between 1 and %u", RV_MAX_HARTS);
        return NULL;
    }
    if (mem->base != RV_RAM_BASE) {
        vmk_seterr(err, errlen, "RISC-V guest RAM must start at 0x%llx", (unsigned long long)RV_RAM_BASE);
        return NULL;
    }
    rv_machine *m = vmk_xcalloc(1, sizeof(*m));
    m->mem = mem;
    m->nharts = ncpus;
    m->time_base_ns = vmk_now_ns();
    pthread_mutex_init(&m->plock, NULL);
    pthread_cond_init(&m->pcond, NULL);
    m->slice = ncpus > 1 ? SLICE_INSNS_SMP : SLICE_INSNS;
    const char *sl = getenv("VMKIT_SLICE");      /* tuning knob for experiments */
    if (sl && atoi(sl) >= 100 && atoi(sl) <= 10000000) m->slice = (uint64_t)atoi(sl);
    m->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (m->wake_fd < 0) {
        vmk_seterr(err, errlen, "eventfd: %s", strerror(errno));
        free(m);
        return NULL;
    }
    m->plic = rv_plic_new(2 * ncpus, RV_PLIC_NDEV, plic_out, m);
    m->clint = rv_clint_new(ncpus, clint_time, clint_irq, m);
    for (unsigned i = 0; i < ncpus; i++) {
        m->harts[i] = rv_hart_new(m, i, mem);
        if (!m->harts[i]) {
            vmk_seterr(err, errlen, "cannot create hart %u", i);
            rv_machine_free(m);
            return NULL;
        }
    }
    m->uart = vmk_uart_new(console, (vmk_irq){ .set = rv_plic_irq_cb, .ctx = m->plic, .line = RV_UART_IRQ });
    m->rtc = vmk_rtc_new();
    return m;
}

void rv_machine_free(rv_machine *m)
{
    if (!m) return;
    vmk_uart_free(m->uart);
    vmk_rtc_free(m->rtc);
    for (unsigned i = 0; i < m->nharts; i++) if (m->harts[i]) rv_hart_free(m->harts[i]);
    rv_plic_free(m->plic);
    rv_clint_free(m->clint);
    if (m->wake_fd >= 0) close(m->wake_fd);
    pthread_mutex_destroy(&m->plock);
    pthread_cond_destroy(&m->pcond);
    free(m);
}

int rv_machine_reserve_virtio(rv_machine *m, vmk_irq *irq, char *err, size_t errlen)
{
    if (m->nvirtio >= RV_VIRTIO_SLOTS) {
        vmk_seterr(err, errlen, "too many virtio devices (at most %u)", RV_VIRTIO_SLOTS);
        return -1;
    }
    int s = (int)m->nvirtio++;
    m->virtio[s].reserved = true;
    *irq = (vmk_irq){ .set = rv_plic_irq_cb, .ctx = m->plic, .line = 1u + (unsigned)s };
    return s;
}

void rv_machine_attach_virtio(rv_machine *m, int slot, const vmk_mmio_ops *ops, void *opaque)
{
    if (slot < 0 || (unsigned)slot >= m->nvirtio) return;
    m->virtio[slot].opaque = opaque;
    m->virtio[slot].ops = ops;
}

int rv_check_kernel(const char *path, char *err, size_t errlen) { return rv_boot_check_kernel(path, err, errlen); }

int rv_machine_boot(rv_machine *m, const char *bios, const char *kernel, const char *initrd,
                    const char *cmdline, char *err, size_t errlen)
{
    vmk_mmio_dev devs[RV_VIRTIO_SLOTS];
    unsigned n = 0;
    for (unsigned i = 0; i < m->nvirtio; i++) {
        if (!m->virtio[i].ops) continue;
        devs[n++] = (vmk_mmio_dev){ .base = RV_VIRTIO_BASE + i * RV_VIRTIO_STRIDE, .size = RV_VIRTIO_STRIDE,
                                    .ops = m->virtio[i].ops, .opaque = m->virtio[i].opaque,
                                    .compatible = "virtio,mmio", .irq = 1 + i };
    }
    rv_fdt_cfg fc = { .nharts = m->nharts, .virtio = devs, .nvirtio = n };
    rv_boot_cfg bc = { .bios = bios, .kernel = kernel, .initrd = initrd, .cmdline = cmdline };
    rv_boot_info bi;
    if (rv_boot_load(m->mem, &bc, &fc, &bi, err, errlen) < 0) return -1;
    vmk_info("boot: firmware at 0x%llx, kernel at 0x%llx, initrd 0x%llx-0x%llx, dtb at 0x%llx",
             (unsigned long long)bi.entry, (unsigned long long)bi.kernel_addr,
             (unsigned long long)bi.initrd_start, (unsigned long long)bi.initrd_end,
             (unsigned long long)bi.dtb_addr);
    for (unsigned i = 0; i < m->nharts; i++) {
        rv_hart_reset(m->harts[i], bi.entry);
        rv_hart_set_xreg(m->harts[i], 10, i);
        rv_hart_set_xreg(m->harts[i], 11, bi.dtb_addr);
        rv_hart_set_xreg(m->harts[i], 12, bi.fw_info_addr);
        m->idle[i] = false;
    }
    return 0;
}

/* ---------- graceful shutdown: Magic SysRq over the UART ---------- */
#define SYSRQ_GAP_NS 100000000ull

void rv_machine_request_shutdown(rv_machine *m)
{
    atomic_store(&m->sysrq_step, 0);
    atomic_store(&m->sysrq_on, true);
    rv_machine_wake(m);
    uint64_t one = 1;
    ssize_t r = write(m->wake_fd, &one, sizeof(one));
    (void)r;
}

/* vCPU thread: sends break+s (sync), break+u (remount read-only), break+o (power off), 100 ms apart. */
static void sysrq_tick(rv_machine *m)
{
    uint64_t now = vmk_now_ns();
    if (now < m->sysrq_next) return;
    static const uint8_t keys[3] = { 's', 'u', 'o' };
    unsigned step = atomic_load(&m->sysrq_step);
    if (step < 3) {
        vmk_uart_send_break(m->uart, keys[step]);
        atomic_store(&m->sysrq_step, step + 1);
        m->sysrq_next = now + SYSRQ_GAP_NS;
    }
    if (step + 1 >= 3) atomic_store(&m->sysrq_on, false);
}

/* ---------- run loop ---------- */
/* An idle hart becomes runnable when an interrupt enabled in mie is pending (this includes an Sstc
 * timer that has expired, which rv_hart_wakeup_pending evaluates). */
static bool hart_runnable(rv_machine *m, unsigned i)
{
    return !m->idle[i] || rv_hart_wakeup_pending(m->harts[i]);
}

static void idle_sleep(rv_machine *m)
{
    uint64_t now = rv_machine_mtime(m), deadline = UINT64_MAX;
    for (unsigned i = 0; i < m->nharts; i++) {
        /* deadlines already passed are pending (maybe masked) interrupts: they cannot wake us later */
        uint64_t d = rv_clint_mtimecmp(m->clint, i);
        if (d > now && d < deadline) deadline = d;
        d = rv_hart_timer_deadline(m->harts[i]);
        if (d > now && d < deadline) deadline = d;
    }
    uint64_t ns = MAX_SLEEP_NS;
    if (deadline != UINT64_MAX) {
        uint64_t t = deadline - now;
        if (t < MAX_SLEEP_NS / (1000000000ull / RV_TIMEBASE_HZ)) ns = t * (1000000000ull / RV_TIMEBASE_HZ);
    }
    if (atomic_load(&m->sysrq_on)) {             /* next SysRq key of a shutdown request */
        uint64_t h = vmk_now_ns();
        uint64_t t = m->sysrq_next > h ? m->sysrq_next - h : 0;
        if (t < ns) ns = t;
    }
    atomic_store_explicit(&m->sleeping, true, memory_order_seq_cst);
    /* re-check after announcing the sleep: an interrupt posted before this point did not write the fd */
    bool any = atomic_load(&m->stop) != 0 || atomic_load(&m->pause_req);
    for (unsigned i = 0; i < m->nharts && !any; i++) any = rv_hart_wakeup_pending(m->harts[i]);
    if (!any) {
        struct pollfd p = { .fd = m->wake_fd, .events = POLLIN };
        struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull), .tv_nsec = (long)(ns % 1000000000ull) };
        ppoll(&p, 1, &ts, NULL);
        m->sleeps++;
    }
    atomic_store_explicit(&m->sleeping, false, memory_order_seq_cst);
    uint64_t junk;
    while (read(m->wake_fd, &junk, sizeof(junk)) > 0) {}
}

/* ---------- pause / resume ---------- */
static void kick_all(rv_machine *m)
{
    for (unsigned i = 0; i < m->nharts; i++) if (m->harts[i]) rv_hart_kick(m->harts[i]);
    uint64_t one = 1;
    ssize_t r = write(m->wake_fd, &one, sizeof(one));
    (void)r;
}

/* vCPU thread: parks until every pause is resumed or a stop is requested. Guest time stands still
 * while parked. The wait polls the eventfd (stop_with must stay async-signal-safe, so it cannot
 * signal a condition variable). */
static void park(rv_machine *m)
{
    pthread_mutex_lock(&m->plock);
    time_freeze(m);
    m->parked = true;
    pthread_cond_broadcast(&m->pcond);
    while (m->pause_count > 0 && !atomic_load(&m->stop)) {
        pthread_mutex_unlock(&m->plock);
        struct pollfd p = { .fd = m->wake_fd, .events = POLLIN };
        poll(&p, 1, 200);
        uint64_t junk;
        while (read(m->wake_fd, &junk, sizeof(junk)) > 0) {}
        pthread_mutex_lock(&m->plock);
    }
    m->parked = false;
    if (m->pause_count == 0) time_thaw(m);
    pthread_mutex_unlock(&m->plock);
}

void rv_machine_pause(rv_machine *m)
{
    pthread_mutex_lock(&m->plock);
    if (m->pause_count++ == 0) {
        atomic_store(&m->pause_req, true);
        if (m->running) kick_all(m);
        else time_freeze(m);
    }
    while (m->running && !m->parked) pthread_cond_wait(&m->pcond, &m->plock);
    pthread_mutex_unlock(&m->plock);
}

void rv_machine_resume(rv_machine *m)
{
    pthread_mutex_lock(&m->plock);
    if (m->pause_count > 0 && --m->pause_count == 0) {
        atomic_store(&m->pause_req, false);
        if (m->running) {
            /* a pause taken before the run started froze time and the vCPU thread may never have
             * parked (it would thaw on leaving the park): thaw here in that case */
            if (!m->parked) time_thaw(m);
            uint64_t one = 1;
            ssize_t r = write(m->wake_fd, &one, sizeof(one));
            (void)r;
        } else {
            time_thaw(m);
        }
    }
    pthread_mutex_unlock(&m->plock);
}

void rv_machine_dirty_sync(rv_machine *m)
{
    /* the vCPU thread is parked (or not running): its TLBs are ours to touch. Store entries are the
     * only writable host pointers the hart caches (stores, FP stores, SC and AMOs all use them);
     * a refill goes through tlb_fill, which marks the page in mem->dirty and mem->log. */
    rv_machine_pause(m);                         /* nested: free when the caller has paused already */
    for (unsigned i = 0; i < m->nharts; i++) rv_hart_flush_store_tlb(m->harts[i]);
    rv_machine_resume(m);
}

int rv_machine_run(rv_machine *m)
{
    pthread_mutex_lock(&m->plock);
    m->running = true;
    if (m->pause_count == 0) time_thaw(m);        /* a loaded machine starts at its saved mtime */
    pthread_mutex_unlock(&m->plock);
    while (!atomic_load_explicit(&m->stop, memory_order_acquire)) {
        if (atomic_load_explicit(&m->pause_req, memory_order_acquire)) {
            park(m);
            continue;
        }
        if (atomic_load_explicit(&m->sysrq_on, memory_order_relaxed)) sysrq_tick(m);
        uint64_t now = rv_machine_mtime(m);
        rv_clint_update(m->clint, now);
        bool all_idle = true;
        for (unsigned i = 0; i < m->nharts; i++) {
            if (!hart_runnable(m, i)) continue;
            enum rv_run_result r = rv_hart_run(m->harts[i], m->slice);
            m->slices++;
            m->idle[i] = (r == RV_RUN_WFI);
            if (!m->idle[i]) all_idle = false;
            if (m->nharts > 1) rv_hart_clear_reservation(m->harts[i]);
            if (atomic_load_explicit(&m->stop, memory_order_relaxed) ||
                atomic_load_explicit(&m->pause_req, memory_order_relaxed)) { all_idle = false; break; }
        }
        if (all_idle && !atomic_load(&m->stop)) {
            now = rv_machine_mtime(m);
            rv_clint_update(m->clint, now);
            bool runnable = false;
            for (unsigned i = 0; i < m->nharts && !runnable; i++) runnable = hart_runnable(m, i);
            if (!runnable) idle_sleep(m);
        }
    }
    pthread_mutex_lock(&m->plock);
    m->running = false;
    if (m->pause_count > 0) time_freeze(m);
    pthread_cond_broadcast(&m->pcond);
    pthread_mutex_unlock(&m->plock);
    if (vmk_log_level >= VMK_LOG_DEBUG)
        for (unsigned i = 0; i < m->nharts; i++) rv_hart_dump(m->harts[i]);
    return atomic_load(&m->exit_status);
}

void rv_machine_invalidate_code(rv_machine *m, uint64_t pa, uint64_t len)
{
    if (m->nharts && m->harts[0]) rv_hart_invalidate_code(m->harts[0], pa, len);   /* the code map is shared */
}

void rv_machine_get_stats(rv_machine *m, rv_machine_stats *st)
{
    memset(st, 0, sizeof(*st));
    for (unsigned i = 0; i < m->nharts; i++) st->instret += rv_hart_instret(m->harts[i]);
    st->sleeps = m->sleeps;
    st->run_slices = m->slices;
}

/* ---------- state (snapshots, migration) ---------- */
#define MACHINE_STATE_VERSION 1u

int rv_machine_save(rv_machine *m, vmk_sbuf *b)
{
    vmk_sb_u32(b, MACHINE_STATE_VERSION);
    vmk_sb_u32(b, m->nharts);
    vmk_sb_u32(b, m->nvirtio);
    for (unsigned i = 0; i < m->nharts; i++) {
        vmk_sb_u8(b, m->idle[i]);
        rv_hart_save(m->harts[i], b);
    }
    rv_clint_save(m->clint, b);
    rv_plic_save(m->plic, b);
    vmk_uart_save(m->uart, b);
    vmk_rtc_save(m->rtc, b);
    /* the sifive test device has no state */
    return 0;
}

int rv_machine_load(rv_machine *m, vmk_sread *r, char *err, size_t errlen)
{
    pthread_mutex_lock(&m->plock);
    bool running = m->running;
    pthread_mutex_unlock(&m->plock);
    if (running) {
        vmk_seterr(err, errlen, "RISC-V machine state: cannot load into a running machine");
        return -1;
    }
    uint32_t ver = vmk_sr_u32(r), n = vmk_sr_u32(r), nv = vmk_sr_u32(r);
    if (vmk_sr_ok(r) && ver != MACHINE_STATE_VERSION) {
        vmk_seterr(err, errlen, "RISC-V machine state: version %u, this vmkit reads version %u", ver,
                   MACHINE_STATE_VERSION);
        return -1;
    }
    if (vmk_sr_ok(r) && (n != m->nharts || nv != m->nvirtio)) {
        vmk_seterr(err, errlen, "RISC-V machine state: saved with %u CPUs and %u virtio devices, this machine has %u and %u",
                   n, nv, m->nharts, m->nvirtio);
        return -1;
    }
    for (unsigned i = 0; i < m->nharts && vmk_sr_ok(r); i++) {
        uint8_t idle = vmk_sr_u8(r);
        if (idle > 1) vmk_sr_fail(r, "hart %u: bad idle flag", i);
        if (rv_hart_load(m->harts[i], r) == 0) m->idle[i] = idle;
    }
    uint64_t mtime = 0;
    if (vmk_sr_ok(r) && rv_clint_load(m->clint, r, &mtime) == 0) {
        /* guest time continues from the saved mtime when the machine first runs */
        pthread_mutex_lock(&m->plock);
        m->frozen = true;
        m->frozen_ns = mtime * (1000000000ull / RV_TIMEBASE_HZ);
        pthread_mutex_unlock(&m->plock);
        rv_clint_update(m->clint, mtime);
    }
    if (vmk_sr_ok(r)) rv_plic_load(m->plic, r);
    if (vmk_sr_ok(r)) vmk_uart_load(m->uart, r);
    if (vmk_sr_ok(r)) vmk_rtc_load(m->rtc, r);
    if (!vmk_sr_ok(r)) {
        vmk_seterr(err, errlen, "RISC-V machine state: %s", r->err);
        return -1;
    }
    atomic_store(&m->stop, 0);
    atomic_store(&m->reboot, false);
    return 0;
}
