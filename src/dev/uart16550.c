/* uart16550.c — ns16550a UART register model (THR/RBR, IER, IIR/FCR with FIFOs, LCR + divisor latch,
 * MCR with loopback, LSR, MSR, SCR) on a vmk_chardev, raising a level-triggered vmk_irq.
 * Engine-neutral: register reads/writes come from a vCPU thread, received bytes from the loop thread;
 * one mutex guards the state. */
#include "dev.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

enum { R_RBR_THR = 0, R_IER = 1, R_IIR_FCR = 2, R_LCR = 3, R_MCR = 4, R_LSR = 5, R_MSR = 6, R_SCR = 7 };
enum { IER_ERBFI = 1, IER_ETBEI = 2, IER_ELSI = 4, IER_EDSSI = 8 };
enum { IIR_NONE = 0x01, IIR_MSI = 0x00, IIR_THRI = 0x02, IIR_RDI = 0x04, IIR_RLSI = 0x06, IIR_CTI = 0x0c };
enum { LSR_DR = 0x01, LSR_OE = 0x02, LSR_THRE = 0x20, LSR_TEMT = 0x40 };
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

static uint8_t compute_iir(const vmk_uart *u)
{
    unsigned vis = rx_visible(u);
    if ((u->ier & IER_ELSI) && u->lsr_oe) return IIR_RLSI;
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

static void rx_push_locked(vmk_uart *u, const uint8_t *buf, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (u->rx_count == RXQ_SIZE) { u->lsr_oe = 1; break; }
        u->rxq[(u->rx_head + u->rx_count) % RXQ_SIZE] = buf[i];
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
    rx_push_locked(u, buf, len);
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
        v = (uint8_t)(LSR_THRE | LSR_TEMT | (rx_visible(u) ? LSR_DR : 0) | (u->lsr_oe ? LSR_OE : 0));
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
        if (u->mcr & MCR_LOOP) rx_push_locked(u, &val, 1);
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
