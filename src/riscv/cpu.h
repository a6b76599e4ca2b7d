/* cpu.h — internal contract of the RV64GC engine between the hart (cpu.c, decode, mmu, csr, fpu:
 * everything that executes instructions) and the platform (machine.c, clint, plic, fdt, boot:
 * everything that makes a computer around the harts). Not used outside src/riscv/. */
#ifndef VMK_RISCV_CPU_H
#define VMK_RISCV_CPU_H
#include <stdbool.h>
#include <stdint.h>
#include "../base/base.h"
#include "../mem/mem.h"

#define RV_RAM_BASE     0x80000000ull
#define RV_TIMEBASE_HZ  10000000ull         /* mtime / time CSR tick rate (10 MHz, like QEMU virt) */

/* mip/mie bit numbers */
enum { RV_IRQ_SSI = 1, RV_IRQ_MSI = 3, RV_IRQ_STI = 5, RV_IRQ_MTI = 7, RV_IRQ_SEI = 9, RV_IRQ_MEI = 11 };

typedef struct rv_machine rv_machine;     /* defined by the platform (machine.c) */
typedef struct rv_hart rv_hart;           /* defined by the hart side (cpu.c) */

/* ---------- implemented by the hart side ---------- */
/* A hart with its registers reset, in M-mode, executing from pc after rv_hart_reset. RAM accesses go
 * straight to mem (the fast path: TLB + host pointer); everything else calls rv_bus_read/write. */
rv_hart *rv_hart_new(rv_machine *m, unsigned hartid, vmk_mem *mem);
void     rv_hart_free(rv_hart *h);
void     rv_hart_reset(rv_hart *h, uint64_t pc);
void     rv_hart_set_xreg(rv_hart *h, unsigned reg, uint64_t val);   /* boot args: a0, a1, a2 */
uint64_t rv_hart_get_xreg(const rv_hart *h, unsigned reg);
uint64_t rv_hart_get_pc(const rv_hart *h);

enum rv_run_result {
    RV_RUN_BUDGET = 0,   /* executed about max_insns instructions */
    RV_RUN_WFI,          /* hart executed WFI and no enabled interrupt is pending: the platform may sleep */
    RV_RUN_KICKED,       /* rv_hart_kick() was called (interrupt posted, stop requested, ...) */
};
/* Executes up to about max_insns instructions (interrupts are checked at block boundaries and when
 * this function is entered, never per instruction). Takes pending enabled interrupts on entry. */
enum rv_run_result rv_hart_run(rv_hart *h, uint64_t max_insns);

/* Interrupt pending bits driven by devices (CLINT: MSIP/MTIP, PLIC: MEIP/SEIP). Thread-safe; calls
 * rv_hart_kick so a running hart notices soon, and rv_machine_wake so a sleeping platform wakes. */
void     rv_hart_set_irq(rv_hart *h, unsigned irq_bit, bool level);
/* True when an interrupt that would wake WFI is pending (mip & mie != 0, ignoring global enables). */
bool     rv_hart_wakeup_pending(const rv_hart *h);
/* Thread-safe: makes rv_hart_run return RV_RUN_KICKED at its next block boundary. */
void     rv_hart_kick(rv_hart *h);
/* Sstc: absolute mtime at which this hart's stimecmp fires, or UINT64_MAX if disabled/not armed.
 * The platform uses it to bound how long it sleeps when all harts are in WFI. */
uint64_t rv_hart_timer_deadline(const rv_hart *h);
uint64_t rv_hart_instret(const rv_hart *h);
/* Drops this hart's LR reservation (the platform calls it when it switches between harts). */
void     rv_hart_clear_reservation(rv_hart *h);
/* Flushes the decoded-instruction cache for [pa, pa+len) (devices wrote guest memory). */
void     rv_hart_invalidate_code(rv_hart *h, uint64_t pa, uint64_t len);
/* Forgets every cached writable translation (store TLB entries of all contexts), so the next store
 * to each page takes the slow path and marks it dirty again. Call only while the hart is not running. */
void     rv_hart_flush_store_tlb(rv_hart *h);
/* Architectural state for snapshots (registers, pc, privilege, CSRs, FP state, software-pending
 * interrupts, WFI flag kept by the platform). load validates and starts with empty TLB/caches;
 * device-driven pending bits (mip_dev) start clear: the CLINT and PLIC re-drive them. 0 or -1 with
 * the reader failed. */
void     rv_hart_save(const rv_hart *h, vmk_sbuf *b);
int      rv_hart_load(rv_hart *h, vmk_sread *r);
/* Debug: dumps pc, priv and registers to stderr. */
void     rv_hart_dump(const rv_hart *h);

/* ---------- implemented by the platform ---------- */
/* Physical access outside RAM (MMIO: CLINT, PLIC, UART, virtio, test device). size is 1, 2, 4, 8.
 * Returns false for an address with no device: the hart raises an access fault. */
bool     rv_bus_read(rv_machine *m, uint64_t pa, unsigned size, uint64_t *val);
bool     rv_bus_write(rv_machine *m, uint64_t pa, unsigned size, uint64_t val);
/* Current mtime in RV_TIMEBASE_HZ ticks (what the `time` CSR reads). */
uint64_t rv_machine_mtime(rv_machine *m);
/* Wakes the platform if it sleeps because every hart is in WFI. Thread-safe. */
void     rv_machine_wake(rv_machine *m);
/* Number of harts and hart lookup (for fence.i / sfence broadcasts if the hart side needs them). */
unsigned rv_machine_nharts(rv_machine *m);
rv_hart *rv_machine_hart(rv_machine *m, unsigned i);

#endif
