/* test_platform.c — unit tests of the device tree builder (parsed back with libfdt) and the boot
 * loader (image placement, fw_dynamic info, bad kernels, RAM too small). */
#include "../test.h"
#include "riscv/platform.h"
#include <libfdt.h>
#include <stdio.h>
#include <unistd.h>

static const char *prop_str(const void *fdt, const char *path, const char *name)
{
    int off = fdt_path_offset(fdt, path);
    if (off < 0) return NULL;
    return fdt_getprop(fdt, off, name, NULL);
}

static uint32_t prop_u32(const void *fdt, const char *path, const char *name, int idx)
{
    int off = fdt_path_offset(fdt, path), len;
    if (off < 0) return 0xdeadbeef;
    const fdt32_t *p = fdt_getprop(fdt, off, name, &len);
    if (!p || len < 4 * (idx + 1)) return 0xdeadbeef;
    return fdt32_to_cpu(p[idx]);
}

static uint64_t prop_u64(const void *fdt, const char *path, const char *name)
{
    int off = fdt_path_offset(fdt, path), len;
    if (off < 0) return 0xdeadbeef;
    const void *p = fdt_getprop(fdt, off, name, &len);
    if (!p || len != 8) return 0xdeadbeef;
    fdt64_t v;
    memcpy(&v, p, 8);   /* properties are only 4-byte aligned */
    return fdt64_to_cpu(v);
}

static char tmpdir[] = "/tmp/vmkit-test-platform-XXXXXX";
static char *tmpfile_with(const char *name, const void *data, size_t len)
{
    static char paths[8][256];
    static int n;
    char *p = paths[n++ % 8];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "wb");
    if (f) { fwrite(data, 1, len, f); fclose(f); }
    return p;
}

int main(void)
{
    char err[VMK_ERRLEN];
    vmk_mmio_dev virtio[2] = {
        { .base = RV_VIRTIO_BASE, .size = 0x1000, .irq = 1 },
        { .base = RV_VIRTIO_BASE + 0x1000, .size = 0x1000, .irq = 2 },
    };

    TEST_BEGIN("fdt_nodes");
    {
        rv_fdt_cfg c = { .nharts = 2, .ram_base = 0x80000000, .ram_size = 256 << 20, .bootargs = "console=ttyS0",
                         .has_initrd = true, .initrd_start = 0x88000000, .initrd_end = 0x88100000,
                         .virtio = virtio, .nvirtio = 2 };
        size_t sz = 0;
        void *f = rv_fdt_build(&c, &sz, err, sizeof(err));
        CHECK(f != NULL);
        if (f) {
            CHECK(fdt_check_header(f) == 0);
            CHECK(fdt_totalsize(f) == sz);
            CHECK(sz % 8 == 0);
            CHECK(fdt_totalsize(f) - fdt_size_dt_struct(f) - fdt_size_dt_strings(f) > 0x1000);   /* room for fixups */
            CHECK(prop_str(f, "/chosen", "bootargs") && !strcmp(prop_str(f, "/chosen", "bootargs"), "console=ttyS0"));
            CHECK(prop_str(f, "/chosen", "stdout-path") && !strcmp(prop_str(f, "/chosen", "stdout-path"), "/soc/serial@10000000"));
            CHECK_EQ_U64(prop_u64(f, "/chosen", "linux,initrd-start"), 0x88000000);
            CHECK_EQ_U64(prop_u64(f, "/chosen", "linux,initrd-end"), 0x88100000);
            CHECK_EQ_U64(prop_u32(f, "/cpus", "timebase-frequency", 0), 10000000);
            CHECK(fdt_path_offset(f, "/cpus/cpu@0") >= 0);
            CHECK(fdt_path_offset(f, "/cpus/cpu@1") >= 0);
            CHECK(fdt_path_offset(f, "/cpus/cpu@2") < 0);
            CHECK(prop_str(f, "/cpus/cpu@1", "riscv,isa") && !strcmp(prop_str(f, "/cpus/cpu@1", "riscv,isa"), "rv64imafdc_zicsr_zifencei_sstc"));
            CHECK(prop_str(f, "/cpus/cpu@1", "mmu-type") && !strcmp(prop_str(f, "/cpus/cpu@1", "mmu-type"), "riscv,sv48"));
            CHECK(prop_str(f, "/cpus/cpu@1/interrupt-controller", "compatible") &&
                  !strcmp(prop_str(f, "/cpus/cpu@1/interrupt-controller", "compatible"), "riscv,cpu-intc"));
            CHECK_EQ_U64(prop_u32(f, "/memory@80000000", "reg", 1), 0x80000000u);
            CHECK_EQ_U64(prop_u32(f, "/memory@80000000", "reg", 3), 256u << 20);
            CHECK(fdt_node_offset_by_compatible(f, -1, "riscv,plic0") >= 0);
            CHECK(fdt_node_offset_by_compatible(f, -1, "sifive,clint0") >= 0);
            CHECK(fdt_node_offset_by_compatible(f, -1, "ns16550a") >= 0);
            CHECK(fdt_node_offset_by_compatible(f, -1, "sifive,test0") >= 0);
            CHECK(fdt_node_offset_by_compatible(f, -1, "syscon-poweroff") >= 0);
            CHECK(fdt_node_offset_by_compatible(f, -1, "syscon-reboot") >= 0);
            CHECK_EQ_U64(prop_u32(f, "/poweroff", "value", 0), 0x5555);
            CHECK_EQ_U64(prop_u32(f, "/reboot", "value", 0), 0x7777);
            /* poweroff's regmap points at the test device */
            int test = fdt_node_offset_by_phandle(f, prop_u32(f, "/poweroff", "regmap", 0));
            CHECK(test >= 0 && fdt_node_check_compatible(f, test, "syscon") == 0);
            /* plic: interrupts-extended = <intc0 11 intc0 9 intc1 11 intc1 9> */
            CHECK_EQ_U64(prop_u32(f, "/soc/plic@c000000", "riscv,ndev", 0), RV_PLIC_NDEV);
            CHECK_EQ_U64(prop_u32(f, "/soc/plic@c000000", "interrupts-extended", 1), 11);
            CHECK_EQ_U64(prop_u32(f, "/soc/plic@c000000", "interrupts-extended", 3), 9);
            uint32_t intc1 = prop_u32(f, "/soc/plic@c000000", "interrupts-extended", 4);
            int o = fdt_node_offset_by_phandle(f, intc1);
            char path[128];
            CHECK(o >= 0 && fdt_get_path(f, o, path, sizeof(path)) == 0 && !strcmp(path, "/cpus/cpu@1/interrupt-controller"));
            CHECK_EQ_U64(prop_u32(f, "/soc/clint@2000000", "interrupts-extended", 1), 3);
            CHECK_EQ_U64(prop_u32(f, "/soc/clint@2000000", "interrupts-extended", 3), 7);
            CHECK_EQ_U64(prop_u32(f, "/soc/serial@10000000", "interrupts", 0), 10);
            CHECK(fdt_node_offset_by_compatible(f, -1, "google,goldfish-rtc") >= 0);
            CHECK_EQ_U64(prop_u32(f, "/soc/rtc@101000", "interrupts", 0), 11);
            CHECK_EQ_U64(prop_u32(f, "/soc/virtio_mmio@10002000", "interrupts", 0), 2);
            CHECK_EQ_U64(prop_u32(f, "/soc/virtio_mmio@10002000", "reg", 1), 0x10002000);
            CHECK(fdt_path_offset(f, "/soc/virtio_mmio@10003000") < 0);
            CHECK(rv_fdt_set_initrd(f, 0x89000000, 0x89000123) == 0);
            CHECK_EQ_U64(prop_u64(f, "/chosen", "linux,initrd-end"), 0x89000123);
        }
        free(f);
        c.nharts = 0;
        CHECK(rv_fdt_build(&c, &sz, err, sizeof(err)) == NULL);
        c.nharts = 32;
        c.has_initrd = false;
        f = rv_fdt_build(&c, &sz, err, sizeof(err));
        CHECK(f && fdt_path_offset(f, "/cpus/cpu@31") >= 0);
        CHECK(f && fdt_getprop(f, fdt_path_offset(f, "/chosen"), "linux,initrd-start", NULL) == NULL);
        CHECK(f && rv_fdt_set_initrd(f, 1, 2) < 0);
        free(f);
    }
    TEST_END();

    if (!mkdtemp(tmpdir)) { SKIP("boot", "cannot create a temp dir"); TEST_EXIT(); }
    static uint8_t kernel[8192], bios[4096], initrd[10000];
    memset(kernel, 0x13, sizeof(kernel));
    memcpy(kernel + 0x38, "RSC\x05", 4);
    uint64_t image_size = 3 << 20;        /* bss beyond the file */
    memcpy(kernel + 0x10, &image_size, 8);
    memset(bios, 0x6f, sizeof(bios));
    memset(initrd, 0xab, sizeof(initrd));
    char *kp = tmpfile_with("Image", kernel, sizeof(kernel));
    char *bp = tmpfile_with("fw.bin", bios, sizeof(bios));
    char *ip = tmpfile_with("initrd", initrd, sizeof(initrd));
    char *np = tmpfile_with("notakernel", bios, sizeof(bios));
    char *ep = tmpfile_with("empty", "", 0);

    TEST_BEGIN("boot_layout");
    {
        vmk_mem m;
        CHECK(vmk_mem_init(&m, 0x80000000, 64 << 20, err, sizeof(err)) == 0);
        rv_fdt_cfg fc = { .nharts = 1 };
        rv_boot_cfg bc = { .bios = bp, .kernel = kp, .initrd = ip, .cmdline = "console=ttyS0" };
        rv_boot_info bi;
        int r = rv_boot_load(&m, &bc, &fc, &bi, err, sizeof(err));
        CHECK(r == 0);
        if (r != 0) printf("  err: %s\n", err);
        if (r == 0) {
            CHECK_EQ_U64(bi.entry, 0x80000000);
            CHECK_EQ_U64(bi.kernel_addr, 0x80200000);
            CHECK(bi.dtb_addr % 8 == 0 && bi.dtb_addr < 0x84000000);
            CHECK(bi.initrd_start % 4096 == 0);
            CHECK(bi.initrd_start >= 0x80200000 + image_size);
            CHECK_EQ_U64(bi.initrd_end - bi.initrd_start, sizeof(initrd));
            CHECK(bi.initrd_end <= bi.fw_info_addr && bi.fw_info_addr + 48 <= bi.dtb_addr);
            uint8_t *h = m.host;
            CHECK(memcmp(h, bios, sizeof(bios)) == 0);
            CHECK(memcmp(h + 0x200000, kernel, sizeof(kernel)) == 0);
            CHECK(memcmp(h + (bi.initrd_start - 0x80000000), initrd, sizeof(initrd)) == 0);
            uint64_t info[6];
            memcpy(info, h + (bi.fw_info_addr - 0x80000000), sizeof(info));
            CHECK_EQ_U64(info[0], 0x4942534f);
            CHECK_EQ_U64(info[1], 2);
            CHECK_EQ_U64(info[2], 0x80200000);
            CHECK_EQ_U64(info[3], 1);
            CHECK_EQ_U64(info[5], ~0ull);
            void *f = h + (bi.dtb_addr - 0x80000000);
            CHECK(fdt_check_header(f) == 0);
            CHECK_EQ_U64(prop_u64(f, "/chosen", "linux,initrd-start"), bi.initrd_start);
            CHECK_EQ_U64(prop_u64(f, "/chosen", "linux,initrd-end"), bi.initrd_end);
            CHECK_EQ_U64(prop_u32(f, "/memory@80000000", "reg", 3), 64 << 20);
        }
        vmk_mem_free(&m);
    }
    TEST_END();

    TEST_BEGIN("boot_errors");
    {
        vmk_mem m;
        CHECK(vmk_mem_init(&m, 0x80000000, 64 << 20, err, sizeof(err)) == 0);
        rv_fdt_cfg fc = { .nharts = 1 };
        rv_boot_info bi;
        rv_boot_cfg bc = { .bios = bp, .kernel = np };
        err[0] = 0;
        CHECK(rv_boot_load(&m, &bc, &fc, &bi, err, sizeof(err)) < 0);
        CHECK(strstr(err, "not a RISC-V Linux kernel") != NULL);
        CHECK(rv_boot_check_kernel(np, err, sizeof(err)) < 0);
        CHECK(rv_boot_check_kernel(ep, err, sizeof(err)) < 0);
        CHECK(rv_boot_check_kernel("/nonexistent/Image", err, sizeof(err)) < 0);
        CHECK(rv_boot_check_kernel(kp, err, sizeof(err)) == 0);
        bc.kernel = kp;
        bc.initrd = "/nonexistent/initrd";
        CHECK(rv_boot_load(&m, &bc, &fc, &bi, err, sizeof(err)) < 0);
        bc.initrd = NULL;
        bc.bios = NULL;
        CHECK(rv_boot_load(&m, &bc, &fc, &bi, err, sizeof(err)) < 0);
        vmk_mem_free(&m);
        /* kernel image_size larger than RAM */
        CHECK(vmk_mem_init(&m, 0x80000000, 4 << 20, err, sizeof(err)) == 0);
        bc.bios = bp;
        err[0] = 0;
        CHECK(rv_boot_load(&m, &bc, &fc, &bi, err, sizeof(err)) < 0);
        CHECK(strstr(err, "too small") != NULL);
        vmk_mem_free(&m);
        /* an initrd that does not fit */
        static uint8_t big[9 << 20];
        char *bigp = tmpfile_with("big", big, sizeof(big));
        CHECK(vmk_mem_init(&m, 0x80000000, 12 << 20, err, sizeof(err)) == 0);
        bc.initrd = bigp;
        err[0] = 0;
        CHECK(rv_boot_load(&m, &bc, &fc, &bi, err, sizeof(err)) < 0);
        CHECK(strstr(err, "too small") != NULL);
        bc.initrd = ip;
        CHECK(rv_boot_load(&m, &bc, &fc, &bi, err, sizeof(err)) == 0);
        vmk_mem_free(&m);
        unlink(bigp);
    }
    TEST_END();
    unlink(kp); unlink(bp); unlink(ip); unlink(np); unlink(ep);
    rmdir(tmpdir);
    TEST_EXIT();
}
