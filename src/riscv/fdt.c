/* fdt.c — builds the flattened device tree of the RISC-V virt-like machine with libfdt's
 * sequential-write API: cpus (with per-hart interrupt controllers), memory, soc (clint, plic, uart,
 * test/syscon with poweroff and reboot, goldfish rtc, virtio-mmio slots) and chosen (bootargs, stdout, initrd). */
#include "platform.h"
#include "cpu.h"
#include <libfdt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FDT_EXTRA_SPACE 0x4000   /* free room for OpenSBI's and Linux's fixups */

enum { PH_PLIC = 1, PH_TEST = 2, PH_INTC0 = 16 };   /* phandles; hart h's intc is PH_INTC0 + h */

static int cells2(void *f, const char *name, uint64_t a, uint64_t b)
{
    fdt32_t v[4] = { cpu_to_fdt32((uint32_t)(a >> 32)), cpu_to_fdt32((uint32_t)a),
                     cpu_to_fdt32((uint32_t)(b >> 32)), cpu_to_fdt32((uint32_t)b) };
    return fdt_property(f, name, v, sizeof(v));
}

#define CK(x) do { int _r = (x); if (_r < 0) { rc = _r; goto out; } } while (0)

void *rv_fdt_build(const rv_fdt_cfg *cfg, size_t *size, char *err, size_t errlen)
{
    if (cfg->nharts == 0 || cfg->nharts > RV_MAX_HARTS) {
        vmk_seterr(err, errlen, "device tree: bad hart count %u", cfg->nharts);
        return NULL;
    }
    size_t bufsz = 16384 + 512 * cfg->nharts + (cfg->bootargs ? strlen(cfg->bootargs) : 0) + 256 * cfg->nvirtio;
    void *f = vmk_xcalloc(1, bufsz);
    int rc = 0;
    char name[64];
    void *out = NULL;

    CK(fdt_create(f, (int)bufsz));
    CK(fdt_finish_reservemap(f));
    CK(fdt_begin_node(f, ""));
    CK(fdt_property_u32(f, "#address-cells", 2));
    CK(fdt_property_u32(f, "#size-cells", 2));
    CK(fdt_property_string(f, "compatible", "riscv-virtio"));
    CK(fdt_property_string(f, "model", "vmkit,riscv-virt"));

    /* /chosen */
    CK(fdt_begin_node(f, "chosen"));
    if (cfg->bootargs) CK(fdt_property_string(f, "bootargs", cfg->bootargs));
    snprintf(name, sizeof(name), "/soc/serial@%llx", (unsigned long long)RV_UART_BASE);
    CK(fdt_property_string(f, "stdout-path", name));
    if (cfg->has_initrd) {
        CK(fdt_property_u64(f, "linux,initrd-start", cfg->initrd_start));
        CK(fdt_property_u64(f, "linux,initrd-end", cfg->initrd_end));
    }
    if (cfg->rng_seed && cfg->rng_seed_len) CK(fdt_property(f, "rng-seed", cfg->rng_seed, (int)cfg->rng_seed_len));
    CK(fdt_end_node(f));

    /* /memory */
    snprintf(name, sizeof(name), "memory@%llx", (unsigned long long)cfg->ram_base);
    CK(fdt_begin_node(f, name));
    CK(fdt_property_string(f, "device_type", "memory"));
    CK(cells2(f, "reg", cfg->ram_base, cfg->ram_size));
    CK(fdt_end_node(f));

    /* /cpus */
    CK(fdt_begin_node(f, "cpus"));
    CK(fdt_property_u32(f, "#address-cells", 1));
    CK(fdt_property_u32(f, "#size-cells", 0));
    CK(fdt_property_u32(f, "timebase-frequency", (uint32_t)RV_TIMEBASE_HZ));
    for (unsigned h = 0; h < cfg->nharts; h++) {
        snprintf(name, sizeof(name), "cpu@%u", h);
        CK(fdt_begin_node(f, name));
        CK(fdt_property_string(f, "device_type", "cpu"));
        CK(fdt_property_u32(f, "reg", h));
        CK(fdt_property_string(f, "status", "okay"));
        CK(fdt_property_string(f, "compatible", "riscv"));
        CK(fdt_property_string(f, "riscv,isa", "rv64imafdc_zicsr_zifencei_sstc"));
        CK(fdt_property_string(f, "mmu-type", "riscv,sv48"));
        CK(fdt_begin_node(f, "interrupt-controller"));
        CK(fdt_property_u32(f, "#interrupt-cells", 1));
        CK(fdt_property(f, "interrupt-controller", NULL, 0));
        CK(fdt_property_string(f, "compatible", "riscv,cpu-intc"));
        CK(fdt_property_u32(f, "phandle", PH_INTC0 + h));
        CK(fdt_end_node(f));
        CK(fdt_end_node(f));
    }
    CK(fdt_end_node(f));

    /* poweroff / reboot through the test device's syscon */
    CK(fdt_begin_node(f, "poweroff"));
    CK(fdt_property_string(f, "compatible", "syscon-poweroff"));
    CK(fdt_property_u32(f, "regmap", PH_TEST));
    CK(fdt_property_u32(f, "offset", 0));
    CK(fdt_property_u32(f, "value", 0x5555));
    CK(fdt_end_node(f));
    CK(fdt_begin_node(f, "reboot"));
    CK(fdt_property_string(f, "compatible", "syscon-reboot"));
    CK(fdt_property_u32(f, "regmap", PH_TEST));
    CK(fdt_property_u32(f, "offset", 0));
    CK(fdt_property_u32(f, "value", 0x7777));
    CK(fdt_end_node(f));

    /* /soc */
    CK(fdt_begin_node(f, "soc"));
    CK(fdt_property_u32(f, "#address-cells", 2));
    CK(fdt_property_u32(f, "#size-cells", 2));
    CK(fdt_property_string(f, "compatible", "simple-bus"));
    CK(fdt_property(f, "ranges", NULL, 0));

    {
        static const char test_compat[] = "sifive,test1\0sifive,test0\0syscon";
        snprintf(name, sizeof(name), "test@%llx", (unsigned long long)RV_TEST_BASE);
        CK(fdt_begin_node(f, name));
        CK(fdt_property(f, "compatible", test_compat, sizeof(test_compat)));
        CK(cells2(f, "reg", RV_TEST_BASE, RV_TEST_SIZE));
        CK(fdt_property_u32(f, "phandle", PH_TEST));
        CK(fdt_end_node(f));
    }

    fdt32_t *ext = vmk_xcalloc(4u * cfg->nharts, sizeof(fdt32_t));
    {
        static const char clint_compat[] = "sifive,clint0\0riscv,clint0";
        for (unsigned h = 0; h < cfg->nharts; h++) {
            ext[4 * h + 0] = cpu_to_fdt32(PH_INTC0 + h);
            ext[4 * h + 1] = cpu_to_fdt32(RV_IRQ_MSI);
            ext[4 * h + 2] = cpu_to_fdt32(PH_INTC0 + h);
            ext[4 * h + 3] = cpu_to_fdt32(RV_IRQ_MTI);
        }
        snprintf(name, sizeof(name), "clint@%llx", (unsigned long long)RV_CLINT_BASE);
        rc = fdt_begin_node(f, name);
        if (rc >= 0) rc = fdt_property(f, "compatible", clint_compat, sizeof(clint_compat));
        if (rc >= 0) rc = cells2(f, "reg", RV_CLINT_BASE, RV_CLINT_SIZE);
        if (rc >= 0) rc = fdt_property(f, "interrupts-extended", ext, (int)(16 * cfg->nharts));
        if (rc >= 0) rc = fdt_end_node(f);
    }
    if (rc >= 0) {
        static const char plic_compat[] = "sifive,plic-1.0.0\0riscv,plic0";
        for (unsigned h = 0; h < cfg->nharts; h++) {
            ext[4 * h + 1] = cpu_to_fdt32(RV_IRQ_MEI);
            ext[4 * h + 3] = cpu_to_fdt32(RV_IRQ_SEI);
        }
        snprintf(name, sizeof(name), "plic@%llx", (unsigned long long)RV_PLIC_BASE);
        rc = fdt_begin_node(f, name);
        if (rc >= 0) rc = fdt_property(f, "compatible", plic_compat, sizeof(plic_compat));
        if (rc >= 0) rc = cells2(f, "reg", RV_PLIC_BASE, RV_PLIC_SIZE);
        if (rc >= 0) rc = fdt_property_u32(f, "#address-cells", 0);
        if (rc >= 0) rc = fdt_property_u32(f, "#interrupt-cells", 1);
        if (rc >= 0) rc = fdt_property(f, "interrupt-controller", NULL, 0);
        if (rc >= 0) rc = fdt_property(f, "interrupts-extended", ext, (int)(16 * cfg->nharts));
        if (rc >= 0) rc = fdt_property_u32(f, "riscv,ndev", RV_PLIC_NDEV);
        if (rc >= 0) rc = fdt_property_u32(f, "phandle", PH_PLIC);
        if (rc >= 0) rc = fdt_end_node(f);
    }
    free(ext);
    if (rc < 0) goto out;

    snprintf(name, sizeof(name), "rtc@%llx", (unsigned long long)RV_RTC_BASE);
    CK(fdt_begin_node(f, name));
    CK(fdt_property_string(f, "compatible", "google,goldfish-rtc"));
    CK(cells2(f, "reg", RV_RTC_BASE, RV_RTC_SIZE));
    CK(fdt_property_u32(f, "interrupt-parent", PH_PLIC));
    CK(fdt_property_u32(f, "interrupts", RV_RTC_IRQ));
    CK(fdt_end_node(f));

    snprintf(name, sizeof(name), "serial@%llx", (unsigned long long)RV_UART_BASE);
    CK(fdt_begin_node(f, name));
    CK(fdt_property_string(f, "compatible", "ns16550a"));
    CK(cells2(f, "reg", RV_UART_BASE, 0x100));
    CK(fdt_property_u32(f, "clock-frequency", 3686400));
    CK(fdt_property_u32(f, "interrupt-parent", PH_PLIC));
    CK(fdt_property_u32(f, "interrupts", RV_UART_IRQ));
    CK(fdt_end_node(f));

    for (unsigned i = 0; i < cfg->nvirtio; i++) {
        const vmk_mmio_dev *d = &cfg->virtio[i];
        snprintf(name, sizeof(name), "virtio_mmio@%llx", (unsigned long long)d->base);
        CK(fdt_begin_node(f, name));
        CK(fdt_property_string(f, "compatible", "virtio,mmio"));
        CK(cells2(f, "reg", d->base, d->size));
        CK(fdt_property_u32(f, "interrupt-parent", PH_PLIC));
        CK(fdt_property_u32(f, "interrupts", d->irq));
        CK(fdt_end_node(f));
    }
    CK(fdt_end_node(f));   /* soc */
    CK(fdt_end_node(f));   /* root */
    CK(fdt_finish(f));

    size_t total = fdt_totalsize(f) + FDT_EXTRA_SPACE;
    total = (total + 7) & ~(size_t)7;
    out = vmk_xcalloc(1, total);
    CK(fdt_open_into(f, out, (int)total));
    *size = total;
out:
    free(f);
    if (rc < 0) {
        vmk_seterr(err, errlen, "device tree: %s", fdt_strerror(rc));
        free(out);
        return NULL;
    }
    return out;
}

int rv_fdt_set_initrd(void *fdt, uint64_t start, uint64_t end)
{
    int off = fdt_path_offset(fdt, "/chosen");
    if (off < 0) return -1;
    if (fdt_setprop_inplace_u64(fdt, off, "linux,initrd-start", start) < 0) return -1;
    if (fdt_setprop_inplace_u64(fdt, off, "linux,initrd-end", end) < 0) return -1;
    return 0;
}
