/* pio.c — the KVM engine's port-I/O devices (the PIC, PIT, port 0x61 speaker are in the kernel):
 * COM1 (ns16550a from src/dev at 0x3f8, IRQ 4), the i8042 reset line (write 0xfe to port 0x64), the
 * vmkit exit port 0x501 (a write ends vmkit with that status, like QEMU's isa-debug-exit), a minimal
 * CMOS RTC (time of day from the host clock in BCD) and port 0x80 (ignored). Other ports read as
 * all-ones and ignore writes. Runs on vCPU threads. */
#include "kvm_impl.h"
#include <string.h>
#include <time.h>

static uint8_t bcd(unsigned v) { return (uint8_t)(((v / 10) << 4) | (v % 10)); }

static uint8_t cmos_read(uint8_t idx)
{
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    switch (idx) {
    case 0x00: return bcd((unsigned)tm.tm_sec);
    case 0x02: return bcd((unsigned)tm.tm_min);
    case 0x04: return bcd((unsigned)tm.tm_hour);
    case 0x06: return bcd((unsigned)tm.tm_wday + 1);
    case 0x07: return bcd((unsigned)tm.tm_mday);
    case 0x08: return bcd((unsigned)tm.tm_mon + 1);
    case 0x09: return bcd((unsigned)tm.tm_year % 100);
    case 0x32: return bcd((unsigned)(tm.tm_year + 1900) / 100);
    case 0x0a: return 0x26;           /* 32.768 kHz, 1024 Hz; update not in progress */
    case 0x0b: return 0x02;           /* 24-hour, BCD, no interrupts */
    case 0x0d: return 0x80;           /* battery good */
    default: return 0;
    }
}

void kvm_pio(kvm_machine *m, kvm_vcpu *v, uint16_t port, uint8_t *data, unsigned len, bool is_write)
{
    (void)v;
    if (port >= KVM_X86_COM1_PORT && port < KVM_X86_COM1_PORT + 8) {
        if (is_write) {
            if (port == KVM_X86_COM1_PORT) {
                uint64_t z = 0;
                if (!atomic_load_explicit(&m->t_first_serial, memory_order_relaxed))
                    atomic_compare_exchange_strong(&m->t_first_serial, &z, vmk_now_ns());
            }
            vmk_uart_ops.write(m->uart, port - KVM_X86_COM1_PORT, data[0], 1);
        } else {
            memset(data, 0, len);
            data[0] = (uint8_t)vmk_uart_ops.read(m->uart, port - KVM_X86_COM1_PORT, 1);
        }
        return;
    }
    switch (port) {
    case KVM_X86_EXIT_PORT:
        if (is_write) kvm_stop_with(m, data[0], false);
        else memset(data, 0xff, len);
        return;
    case 0x64:                        /* i8042 command/status */
        if (is_write) {
            if (data[0] == 0xfe) kvm_stop_with(m, 0, !atomic_load(&m->shutdown_pending));   /* pulse reset */
        } else {
            memset(data, 0, len);     /* no data, input buffer empty */
        }
        return;
    case 0x60:
        if (!is_write) memset(data, 0, len);
        return;
    case 0x70:
    case 0x71:
        pthread_mutex_lock(&m->pio_mtx);
        if (port == 0x70 && is_write) m->cmos_idx = data[0] & 0x7f;   /* bit 7 masks NMIs */
        else if (port == 0x71 && !is_write) { memset(data, 0, len); data[0] = cmos_read(m->cmos_idx); }
        else if (!is_write) memset(data, 0xff, len);
        pthread_mutex_unlock(&m->pio_mtx);
        return;
    case 0x80:                        /* POST code / I/O delay */
        if (!is_write) memset(data, 0xff, len);
        return;
    default:
        if (!is_write) memset(data, 0xff, len);
        else vmk_debug("kvm: write to port 0x%x ignored", port);
        return;
    }
}
