/* uart16550.c — ns16550a UART register model (THR/RBR, IER, IIR/FCR with FIFOs, LCR + divisor latch,
 * MCR with loopback, LSR with break, MSR, SCR) on a vmk_chardev, raising a level-triggered vmk_irq;
 * breaks (LSR.BI, for Magic SysRq) and saved state (registers, FIFO and input queue).
 * Engine-neutral: register reads/writes come from a vCPU thread, received bytes from the loop thread;
 * one mutex guards the state. */
#include "dev.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { R_RBR_THR = 0, R_IER = 1, R_IIR_FCR = 2, R_LCR = 3, R_MCR = 4, R_LSR = 5, R_MSR = 6, R_SCR = 7 };
enum { IER_ERBFI = 1, IER_ETBEI = 2, IER_ELSI = 4, IER_EDSSI = 8 };
enum { IIR_NONE = 0x01, IIR_MSI = 0x00, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06, IIR_CTI = 0x0c };
enum { LSR_DR = 0x01, LSR_OE = 0x02, LSR_BI = 0x10, LSR_THRE = 0x20, LSR_TEMT = 0x40 };
enum { MCR_DTR = 1, MCR_RTS = 2, MCR_OUT1 = 4, MCR_OUT2 = 8, MCR_LOOP = 16 };
enum { MSR_DCTS = 1, MSR_DDSR = 2, MSR_TERI = 4, MSR_DDCD = 8, MSR_CTS = 16, MSR_DSR = 32, MSR_RI = 64, MSR_DCD = 128 };

#define RXQ_SIZE   4096u   /* input queue behind the 16-byte FIFO */
#define RXQ_PAUSE  512u    /* pause the chardev when fewer free bytes than this */
#define FIFO_SIZE  16u

struct vmk_uart {
    pthread_mutex_t lock;
    vmk_chardev *chr;
    vmk_irq irq;
    uint8_t rxq[RXQ_SIZE];
    uint8_t rxbrk[RXQ_SIZE / 8];   /* per queue slot: the byte was received with a break (LSR.BI) */
    unsigned rx_head, rx_count;
    uint8_t ier, lcr, mcr, lsr_oe, msr, scr, dll, dlm, fcr;
    bool fifo_en, thre_pending, irq_level, paused;
};

static const uint8_t trig_levels[4] = { 1, 4, 8, 14 };

static unsigned rx_visible(const vmk_uart *u)     /* bytes the guest can see in the FIFO / RBR */
{
    unsigned lim = u->fifo_en ? FIFO_SIZE : 1;
    return u->rx_count < lim ? u->rx_count : lim;
}

static bool brk_bit(const vmk_uart *u, unsigned slot) { return (u->rxbrk[slot / 8] >> (slot % 8)) & 1; }
static void set_brk_bit(vmk_uart *u, unsigned slot, bool v)
{
    if (v) u->rxbrk[slot / 8] |= (uint8_t)(1u << (slot % 8));
    else u->rxbrk[slot / 8] &= (uint8_t)~(1u << (slot % 8));
}
/* LSR.BI: the byte at the head of the FIFO arrived with a break; it stays set until that byte is read */
static bool head_break(const vmk_uart *u) { return u->rx_count && brk_bit(u, u->rx_head); }

static uint8_t compute_iir(const vmk_uart *u)
{
    unsigned vis = rx_visible(u);
    if ((u->ier & IER_ELSI) && (u->lsr_oe || head_break(u))) return IIR_RLSI;
    if ((u->ier & IER_ERBFI) && vis) {
        unsigned trig = u->fifo_en ? trig_levels[u->fcr >> 6] : 1;
        return vis >= trig ? IIR_RDI : IIR_CTI;
    }
    if ((u->ier & IER_ETBEI) && u->thre_pending) return IIR_THRI;
    if ((u->ier & IER_EDSSI) && (u->msr & 0x0f)) return IIR_MSI;
    return IIR_NONE;
}

static void update_irq(vmk_uart *u)   /* lock held */
{
    bool level = compute_iir(u) != IIR_NONE;
    if (level != u->irq_level) {
        u->irq_level = level;
        vmk_irq_set(&u->irq, level);
    }
}

/* Recomputes MSR status bits from the modem lines and records deltas. */
static void update_msr(vmk_uart *u)
{
    uint8_t st;
    if (u->mcr & MCR_LOOP) {
        st = (uint8_t)(((u->mcr & MCR_RTS) ? MSR_CTS : 0) | ((u->mcr & MCR_DTR) ? MSR_DSR : 0) |
                       ((u->mcr & MCR_OUT1) ? MSR_RI : 0) | ((u->mcr & MCR_OUT2) ? MSR_DCD : 0));
    } else {
        st = MSR_DCD | MSR_DSR | MSR_CTS;     /* a connected line */
    }
    uint8_t old = u->msr & 0xf0, delta = u->msr & 0x0f;
    uint8_t chg = old ^ st;
    if (chg & MSR_CTS) delta |= MSR_DCTS;
    if (chg & MSR_DSR) delta |= MSR_DDSR;
    if (chg & MSR_DCD) delta |= MSR_DDCD;
    if ((old & MSR_RI) && !(st & MSR_RI)) delta |= MSR_TERI;
    u->msr = st | delta;
}

/* lock held; returns true when the chardev should be resumed (the caller does it under the lock). */
static bool maybe_resume(vmk_uart *u)
{
    if (u->paused && RXQ_SIZE - u->rx_count >= RXQ_PAUSE * 2) {
        u->paused = false;
        return true;
    }
    return false;
}

static void rx_push_locked(vmk_uart *u, const uint8_t *buf, size_t len, bool brk)
{
    for (size_t i = 0; i < len; i++) {
        if (u->rx_count == RXQ_SIZE) { u->lsr_oe = 1; break; }
        unsigned slot = (u->rx_head + u->rx_count) % RXQ_SIZE;
        u->rxq[slot] = buf[i];
        set_brk_bit(u, slot, brk && i == 0);
        u->rx_count++;
    }
}

void vmk_uart_receive(vmk_uart *u, const uint8_t *buf, size_t len)
{
    bool pause = false;
    pthread_mutex_lock(&u->lock);
    if (u->mcr & MCR_LOOP) {               /* in loopback the line is disconnected from the outside */
        pthread_mutex_unlock(&u->lock);
        return;
    }
    rx_push_locked(u, buf, len, false);
    if (!u->paused && RXQ_SIZE - u->rx_count < RXQ_PAUSE) { u->paused = true; pause = true; }
    /* flow control changes are made under the lock so a pause and a resume cannot be reordered */
    if (pause && u->chr) vmk_chr_accept(u->chr, false);
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
}

static void uart_rx_cb(void *opaque, const uint8_t *buf, size_t len) { vmk_uart_receive(opaque, buf, len); }

uint8_t vmk_uart_read_reg(vmk_uart *u, unsigned reg)
{
    uint8_t v = 0;
    bool resume = false;
    pthread_mutex_lock(&u->lock);
    switch (reg & 7) {
    case R_RBR_THR:
        if (u->lcr & 0x80) { v = u->dll; break; }
        if (u->rx_count) {
            v = u->rxq[u->rx_head];
            u->rx_head = (u->rx_head + 1) % RXQ_SIZE;
            u->rx_count--;
            resume = maybe_resume(u);
        }
        break;
    case R_IER:
        v = (u->lcr & 0x80) ? u->dlm : u->ier;
        break;
    case R_IIR_FCR:
        v = compute_iir(u);
        if (v == IIR_THRI) u->thre_pending = false;   /* reading IIR acknowledges THRE */
        if (u->fifo_en) v |= 0xc0;
        break;
    case R_LCR: v = u->lcr; break;
    case R_MCR: v = u->mcr; break;
    case R_LSR:
        v = (uint8_t)(LSR_THRE | LSR_TEMT | (rx_visible(u) ? LSR_DR : 0) | (u->lsr_oe ? LSR_OE : 0) |
                      (head_break(u) ? LSR_BI : 0));
        u->lsr_oe = 0;
        break;
    case R_MSR:
        v = u->msr;
        u->msr &= 0xf0;
        break;
    case R_SCR: v = u->scr; break;
    }
    if (resume && u->chr) vmk_chr_accept(u->chr, true);
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return v;
}

void vmk_uart_write_reg(vmk_uart *u, unsigned reg, uint8_t val)
{
    bool out = false;
    pthread_mutex_lock(&u->lock);
    switch (reg & 7) {
    case R_RBR_THR:
        if (u->lcr & 0x80) { u->dll = val; break; }
        if (u->mcr & MCR_LOOP) rx_push_locked(u, &val, 1, false);
        else out = true;
        u->thre_pending = true;            /* transmission is instantaneous */
        break;
    case R_IER:
        if (u->lcr & 0x80) { u->dlm = val; break; }
        if (!(u->ier & IER_ETBEI) && (val & IER_ETBEI)) u->thre_pending = true;
        u->ier = val & 0x0f;
        break;
    case R_IIR_FCR: {
        bool en = val & 1;
        if (en != u->fifo_en) { u->rx_count = 0; u->rx_head = 0; }
        u->fifo_en = en;
        if (val & 2) { u->rx_count = 0; u->rx_head = 0; u->lsr_oe = 0; }
        u->fcr = val & 0xc9;
        break;
    }
    case R_LCR: u->lcr = val; break;
    case R_MCR:
        u->mcr = val & 0x1f;
        update_msr(u);
        break;
    case R_LSR: break;                     /* read-only (factory test) */
    case R_MSR: break;
    case R_SCR: u->scr = val; break;
    }
    if (maybe_resume(u) && u->chr) vmk_chr_accept(u->chr, true);
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    if (out && u->chr) vmk_chr_write(u->chr, &val, 1);
}

static uint64_t uart_mmio_read(void *opaque, uint64_t off, unsigned size)
{
    (void)size;
    if (off >= 8) return 0;
    return vmk_uart_read_reg(opaque, (unsigned)off);
}

static void uart_mmio_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    (void)size;
    if (off >= 8) return;
    vmk_uart_write_reg(opaque, (unsigned)off, (uint8_t)val);
}

const vmk_mmio_ops vmk_uart_ops = { .read = uart_mmio_read, .write = uart_mmio_write };

vmk_uart *vmk_uart_new(vmk_chardev *chr, vmk_irq irq)
{
    vmk_uart *u = vmk_xcalloc(1, sizeof(*u));
    pthread_mutex_init(&u->lock, NULL);
    u->chr = chr;
    u->irq = irq;
    u->lcr = 0x03;
    u->dll = 12;   /* 9600 baud at 1.8432 MHz; guests reprogram it */
    update_msr(u);
    u->msr &= 0xf0;
    if (chr) vmk_chr_set_rx(chr, uart_rx_cb, u);
    return u;
}

void vmk_uart_free(vmk_uart *u)
{
    if (!u) return;
    if (u->chr) vmk_chr_set_rx(u->chr, NULL, NULL);
    pthread_mutex_destroy(&u->lock);
    free(u);
}

void vmk_uart_send_break(vmk_uart *u, uint8_t c)
{
    static const uint8_t zero = 0;
    pthread_mutex_lock(&u->lock);
    if (!(u->mcr & MCR_LOOP) && RXQ_SIZE - u->rx_count >= 2) {
        rx_push_locked(u, &zero, 1, true);     /* the break: a 0 byte with LSR.BI */
        rx_push_locked(u, &c, 1, false);
        update_irq(u);
    }
    pthread_mutex_unlock(&u->lock);
}

/* ---------- state ---------- */
#define UART_STATE_VERSION 1u

void vmk_uart_save(vmk_uart *u, vmk_sbuf *b)
{
    pthread_mutex_lock(&u->lock);
    vmk_sb_u32(b, UART_STATE_VERSION);
    const uint8_t regs[9] = { u->ier, u->lcr, u->mcr, u->lsr_oe, u->msr, u->scr, u->dll, u->dlm, u->fcr };
    vmk_sb_bytes(b, regs, sizeof regs);
    vmk_sb_u8(b, (uint8_t)(u->fifo_en | u->thre_pending << 1));
    vmk_sb_u32(b, u->rx_count);
    for (unsigned i = 0; i < u->rx_count; i++) {
        unsigned slot = (u->rx_head + i) % RXQ_SIZE;
        vmk_sb_u8(b, u->rxq[slot]);
        vmk_sb_u8(b, brk_bit(u, slot));
    }
    pthread_mutex_unlock(&u->lock);
}

int vmk_uart_load(vmk_uart *u, vmk_sread *r)
{
    uint32_t ver = vmk_sr_u32(r);
    if (vmk_sr_ok(r) && ver != UART_STATE_VERSION) {
        vmk_sr_fail(r, "uart: state version %u, expected %u", ver, UART_STATE_VERSION);
        return -1;
    }
    uint8_t regs[9];
    vmk_sr_bytes(r, regs, sizeof regs);
    uint8_t flags = vmk_sr_u8(r);
    uint32_t n = vmk_sr_u32(r);
    if (!vmk_sr_ok(r)) return -1;
    if ((regs[0] & ~0x0fu) || (regs[2] & ~0x1fu) || regs[3] > 1 || (regs[8] & ~0xc9u) || (flags & ~3u) ||
        n > RXQ_SIZE) {
        vmk_sr_fail(r, "uart: invalid register state");
        return -1;
    }
    uint8_t q[RXQ_SIZE], brk[RXQ_SIZE];
    for (uint32_t i = 0; i < n; i++) {
        q[i] = vmk_sr_u8(r);
        brk[i] = vmk_sr_u8(r);
        if (brk[i] > 1) vmk_sr_fail(r, "uart: invalid break flag");
    }
    if (!vmk_sr_ok(r)) return -1;
    pthread_mutex_lock(&u->lock);
    u->ier = regs[0]; u->lcr = regs[1]; u->mcr = regs[2]; u->lsr_oe = regs[3]; u->msr = regs[4];
    u->scr = regs[5]; u->dll = regs[6]; u->dlm = regs[7]; u->fcr = regs[8];
    u->fifo_en = flags & 1;
    u->thre_pending = (flags >> 1) & 1;
    u->rx_head = 0;
    u->rx_count = n;
    memcpy(u->rxq, q, n);
    memset(u->rxbrk, 0, sizeof u->rxbrk);
    for (uint32_t i = 0; i < n; i++) set_brk_bit(u, i, brk[i]);
    bool want_pause = RXQ_SIZE - u->rx_count < RXQ_PAUSE;
    if (want_pause != u->paused) {
        u->paused = want_pause;
        if (u->chr) vmk_chr_accept(u->chr, !want_pause);
    }
    u->irq_level = compute_iir(u) == IIR_NONE;     /* force the line to be driven to its level */
    update_irq(u);
    pthread_mutex_unlock(&u->lock);
    return 0;
}
