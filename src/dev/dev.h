/* dev.h — engine-neutral platform devices built on the base.h bus contract (vmk_mmio_ops + vmk_irq +
 * vmk_chardev). Today: the goldfish RTC and the ns16550a UART, used by the RISC-V engine at 0x10000000 and reusable by the
 * x86 engine on port 0x3f8 (the register file is the same, only the access path differs). */
#ifndef VMK_DEV_H
#define VMK_DEV_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/base.h"

/* ---------------- ns16550a UART ----------------
 * Registers at offsets 0..7 (reg-shift 0, 1-byte access; wider accesses use the low byte).
 * Transmit is immediate (THR is always empty): bytes go straight to the chardev. Receive goes through
 * a 16-byte FIFO (trigger levels 1/4/8/14) backed by a larger input queue filled from the loop thread;
 * the chardev is paused (vmk_chr_accept false) while the queue is nearly full. */
#define VMK_UART_MMIO_SIZE 0x100ull
#define VMK_UART_CLOCK_HZ  3686400u

typedef struct vmk_uart vmk_uart;
/* chr may be NULL (output discarded, no input). The UART installs itself as chr's receiver. */
vmk_uart *vmk_uart_new(vmk_chardev *chr, vmk_irq irq);
void      vmk_uart_free(vmk_uart *u);
/* Feeds received bytes (what the chardev receive callback does; exposed for tests). Thread-safe.
 * Bytes that do not fit in the input queue are dropped and counted as an overrun. */
void      vmk_uart_receive(vmk_uart *u, const uint8_t *buf, size_t len);
/* Register access (opaque = vmk_uart *). */
extern const vmk_mmio_ops vmk_uart_ops;
uint8_t   vmk_uart_read_reg(vmk_uart *u, unsigned reg);
/* A break condition on the line followed by byte c (LSR.BI then c), as a terminal's "send break"
 * does: Linux's 8250 driver turns break + c into Magic SysRq c. Thread-safe. */
void      vmk_uart_send_break(vmk_uart *u, uint8_t c);
/* State (registers, FIFO and input queue contents) for snapshots; load validates every value. */
void      vmk_uart_save(vmk_uart *u, vmk_sbuf *b);
int       vmk_uart_load(vmk_uart *u, vmk_sread *r);
void      vmk_uart_write_reg(vmk_uart *u, unsigned reg, uint8_t val);

/* ---------------- goldfish RTC ----------------
 * The wall clock as QEMU virt's "google,goldfish-rtc": 64-bit nanoseconds since the epoch in TIME_LOW
 * (0x00, reading it latches the high half) / TIME_HIGH (0x04); guest writes move an offset. The
 * alarm registers are stored but the alarm never fires (no interrupt is raised). */
#define VMK_RTC_MMIO_SIZE 0x1000ull
typedef struct vmk_rtc vmk_rtc;
vmk_rtc  *vmk_rtc_new(void);
void      vmk_rtc_free(vmk_rtc *r);
extern const vmk_mmio_ops vmk_rtc_ops;    /* opaque = vmk_rtc * */
/* State: the guest's offset from host time and the alarm registers. */
void      vmk_rtc_save(vmk_rtc *r, vmk_sbuf *b);
int       vmk_rtc_load(vmk_rtc *r, vmk_sread *rd);

#endif
