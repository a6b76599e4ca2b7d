/* platform.h — internal interfaces of the RISC-V platform pieces (PLIC, CLINT, device tree, boot
 * loader) used by machine.c and the unit tests. These pieces never call the hart directly: they report
 * interrupt lines through callbacks, so each can be tested alone. */
#ifndef VMK_RISCV_PLATFORM_H
#define VMK_RISCV_PLATFORM_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/base.h"
#include "../mem/mem.h"

/* Memory map (like QEMU virt). */
#define RV_TEST_BASE    0x00100000ull
#define RV_TEST_SIZE    0x1000ull
#define RV_RTC_BASE     0x00101000ull
#define RV_RTC_SIZE     0x1000ull
#define RV_RTC_IRQ      11u
#define RV_CLINT_BASE   0x02000000ull
#define RV_CLINT_SIZE   0x10000ull
#define RV_PLIC_BASE    0x0c000000ull
#define RV_PLIC_SIZE    0x600000ull
#define RV_UART_BASE    0x10000000ull
#define RV_UART_IRQ     10u
#define RV_VIRTIO_BASE  0x10001000ull
#define RV_VIRTIO_STRIDE 0x1000ull
#define RV_VIRTIO_SLOTS 8u              /* irqs 1..8 */
#define RV_PLIC_NDEV    95u
#define RV_KERNEL_OFFSET 0x200000ull    /* kernel Image at RAM + 2 MiB */
#define RV_MAX_HARTS    32u

/* ---------------- PLIC (sifive,plic-1.0.0) ----------------
 * Contexts: 2 per hart (2h = M-mode, 2h+1 = S-mode). Sources 1..ndev are level-triggered.
 * ctx_irq(opaque, ctx, level) reports each context's external-interrupt line when it changes.
 * Thread-safe (one mutex): devices call rv_plic_set_irq from any thread. */
typedef struct rv_plic rv_plic;
typedef void (*rv_plic_out_fn)(void *opaque, unsigned ctx, bool level);
rv_plic *rv_plic_new(unsigned ncontexts, unsigned ndev, rv_plic_out_fn out, void *opaque);
void     rv_plic_free(rv_plic *p);
void     rv_plic_set_irq(rv_plic *p, unsigned src, int level);
/* vmk_irq-compatible setter: ctx = rv_plic *, line = source. */
void     rv_plic_irq_cb(void *ctx, unsigned line, int level);
extern const vmk_mmio_ops rv_plic_ops;      /* opaque = rv_plic * */
/* State: priorities, pending/claimed/line levels, per-context enables and thresholds. load checks
 * the sizes and every value, then re-drives the context outputs. 0 or -1 (reader failed). */
void     rv_plic_save(rv_plic *p, vmk_sbuf *b);
int      rv_plic_load(rv_plic *p, vmk_sread *r);

/* ---------------- CLINT (sifive,clint0) ----------------
 * msip (4 bytes per hart at 0x0), mtimecmp (8 bytes per hart at 0x4000), mtime (0xbff8).
 * mtime = time_fn() + offset (writes to mtime move the offset). irq(opaque, hart, bit, level) drives
 * MSIP/MTIP. Accessed only from the vCPU thread (all harts run on one thread). */
typedef struct rv_clint rv_clint;
typedef uint64_t (*rv_clint_time_fn)(void *opaque);
typedef void (*rv_clint_irq_fn)(void *opaque, unsigned hart, unsigned irq_bit, bool level);
rv_clint *rv_clint_new(unsigned nharts, rv_clint_time_fn time, rv_clint_irq_fn irq, void *opaque);
void     rv_clint_free(rv_clint *c);
uint64_t rv_clint_mtime(rv_clint *c);
/* Re-evaluates MTIP for every hart at time now (mtime ticks). */
void     rv_clint_update(rv_clint *c, uint64_t now);
uint64_t rv_clint_mtimecmp(rv_clint *c, unsigned hart);
extern const vmk_mmio_ops rv_clint_ops;     /* opaque = rv_clint * */
/* State: mtime as a value, msip and mtimecmp per hart. load returns the saved mtime in *mtime (the
 * caller makes its time source continue from it; the CLINT's own offset becomes 0) and re-raises
 * MSIP; MTIP follows at the next rv_clint_update. 0 or -1 (reader failed). */
void     rv_clint_save(rv_clint *c, vmk_sbuf *b);
int      rv_clint_load(rv_clint *c, vmk_sread *r, uint64_t *mtime);

/* ---------------- device tree ---------------- */
typedef struct rv_fdt_cfg {
    unsigned nharts;
    uint64_t ram_base, ram_size;
    const char *bootargs;             /* may be NULL */
    bool has_initrd;                  /* linux,initrd-start/end written as 64-bit placeholders */
    uint64_t initrd_start, initrd_end;
    const vmk_mmio_dev *virtio;       /* virtio-mmio devices (base, size, irq) */
    unsigned nvirtio;
    const uint8_t *rng_seed;          /* may be NULL */
    size_t rng_seed_len;
} rv_fdt_cfg;
/* Builds the flattened device tree (with free space for firmware fixups). Returns a malloc'd blob and
 * its size, or NULL with err. */
void *rv_fdt_build(const rv_fdt_cfg *cfg, size_t *size, char *err, size_t errlen);
/* Sets the initrd range in a built tree (placeholders written by rv_fdt_build). 0 or -1. */
int   rv_fdt_set_initrd(void *fdt, uint64_t start, uint64_t end);

/* ---------------- boot images ---------------- */
typedef struct rv_boot_cfg {
    const char *bios;       /* OpenSBI fw_dynamic.bin (required) */
    const char *kernel;     /* RISC-V Linux Image (required) */
    const char *initrd;     /* may be NULL */
    const char *cmdline;    /* may be NULL */
} rv_boot_cfg;
typedef struct rv_boot_info {
    uint64_t entry, dtb_addr, fw_info_addr, kernel_addr, initrd_start, initrd_end;
} rv_boot_info;
/* Loads bios, kernel, initrd, the device tree and the fw_dynamic info into mem. 0 or -1 with err. */
int rv_boot_load(vmk_mem *mem, const rv_boot_cfg *cfg, const rv_fdt_cfg *fdt_cfg, rv_boot_info *out,
                 char *err, size_t errlen);
/* Checks that a file is a RISC-V Linux Image (header magic). 0 or -1 with err. */
int rv_boot_check_kernel(const char *path, char *err, size_t errlen);

#endif
