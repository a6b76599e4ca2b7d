/* boot.c — loads the firmware (OpenSBI fw_dynamic), the Linux Image, the initrd, the device tree and
 * OpenSBI's fw_dynamic info block into guest RAM, checking that everything fits. Layout:
 *   RAM+0        firmware           RAM+2MiB   kernel Image (image_size from its header)
 *   ...          initrd (page aligned, ends one page below the info block)
 *   top-2MiB-ish fw_dynamic info (one page below the DTB), DTB (2 MiB aligned, near the end of RAM) */
#include "platform.h"
#include "cpu.h"
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define FW_DYNAMIC_MAGIC   0x4942534full   /* "OSBI" */
#define FW_DYNAMIC_VERSION 2ull
#define MAX_IMAGE          (1ull << 30)

static uint64_t rd_le64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }   /* host is LE */
static uint64_t align_down(uint64_t v, uint64_t a) { return v & ~(a - 1); }

static int check_image_header(const uint8_t *buf, size_t len, const char *path, uint64_t *image_size,
                              char *err, size_t errlen)
{
    if (len < 0x40 || memcmp(buf + 0x38, "RSC\x05", 4) != 0) {
        vmk_seterr(err, errlen, "'%s' is not a RISC-V Linux kernel Image (no RSC\\x05 magic at offset 0x38)", path);
        return -1;
    }
    *image_size = rd_le64(buf + 0x10);
    return 0;
}

int rv_boot_check_kernel(const char *path, char *err, size_t errlen)
{
    size_t len;
    uint64_t isz;
    uint8_t *b = vmk_read_file(path, MAX_IMAGE, &len, err, errlen);
    if (!b) return -1;
    int r = check_image_header(b, len, path, &isz, err, errlen);
    free(b);
    return r;
}

int rv_boot_load(vmk_mem *mem, const rv_boot_cfg *cfg, const rv_fdt_cfg *fdt_cfg_in, rv_boot_info *out,
                 char *err, size_t errlen)
{
    uint8_t *bios = NULL, *kernel = NULL, *initrd = NULL;
    void *fdt = NULL;
    size_t bios_len = 0, kernel_len = 0, initrd_len = 0, fdt_len = 0;
    int rc = -1;
    const uint64_t ram_base = mem->base, ram_end = mem->base + mem->size;
    memset(out, 0, sizeof(*out));

    if (!cfg->bios || !cfg->kernel) { vmk_seterr(err, errlen, "a firmware and a kernel are required"); return -1; }
    if (!(bios = vmk_read_file(cfg->bios, MAX_IMAGE, &bios_len, err, errlen))) goto out;
    if (!(kernel = vmk_read_file(cfg->kernel, MAX_IMAGE, &kernel_len, err, errlen))) goto out;
    if (cfg->initrd && !(initrd = vmk_read_file(cfg->initrd, MAX_IMAGE, &initrd_len, err, errlen))) goto out;
    uint64_t image_size;
    if (check_image_header(kernel, kernel_len, cfg->kernel, &image_size, err, errlen) < 0) goto out;
    if (image_size < kernel_len) image_size = kernel_len;
    if (bios_len > RV_KERNEL_OFFSET) {
        vmk_seterr(err, errlen, "firmware '%s' is %zu bytes, more than the %llu KiB before the kernel",
                   cfg->bios, bios_len, (unsigned long long)(RV_KERNEL_OFFSET >> 10));
        goto out;
    }

    /* The device tree, with initrd placeholders; its size decides where everything else goes. */
    uint8_t seed[32];
    if (getrandom(seed, sizeof(seed), GRND_NONBLOCK) != (ssize_t)sizeof(seed)) memset(seed, 0, sizeof(seed));
    rv_fdt_cfg fc = *fdt_cfg_in;
    fc.ram_base = ram_base;
    fc.ram_size = mem->size;
    fc.bootargs = cfg->cmdline;
    fc.has_initrd = initrd != NULL;
    fc.initrd_start = fc.initrd_end = 0;
    fc.rng_seed = seed;
    fc.rng_seed_len = sizeof(seed);
    if (!(fdt = rv_fdt_build(&fc, &fdt_len, err, errlen))) goto out;

    const uint64_t kernel_addr = ram_base + RV_KERNEL_OFFSET;
    const uint64_t kernel_end = kernel_addr + image_size;
    if (mem->size < fdt_len + 4 * VMK_PAGE_SIZE || ram_end - fdt_len < ram_base + RV_KERNEL_OFFSET) {
        vmk_seterr(err, errlen, "guest memory (%llu MiB) is too small", (unsigned long long)(mem->size >> 20));
        goto out;
    }
    uint64_t dtb_addr = align_down(ram_end - fdt_len, 2ull << 20);
    if (dtb_addr < kernel_end + VMK_PAGE_SIZE) dtb_addr = align_down(ram_end - fdt_len, VMK_PAGE_SIZE);
    const uint64_t info_addr = dtb_addr - VMK_PAGE_SIZE;
    uint64_t initrd_start = 0, initrd_end = 0;
    if (initrd) {
        if (initrd_len > info_addr - ram_base) goto toosmall;
        initrd_start = align_down(info_addr - initrd_len, VMK_PAGE_SIZE);
        initrd_end = initrd_start + initrd_len;
        if (initrd_start < kernel_end) goto toosmall;
        if (rv_fdt_set_initrd(fdt, initrd_start, initrd_end) < 0) {
            vmk_seterr(err, errlen, "device tree: cannot set the initrd range");
            goto out;
        }
    } else if (info_addr < kernel_end) {
        goto toosmall;
    }

    uint64_t info[6] = { FW_DYNAMIC_MAGIC, FW_DYNAMIC_VERSION, kernel_addr, 1 /* S-mode */, 0, ~0ull };
    if (vmk_mem_write(mem, ram_base, bios, bios_len) < 0 ||
        vmk_mem_write(mem, kernel_addr, kernel, kernel_len) < 0 ||
        (initrd && vmk_mem_write(mem, initrd_start, initrd, initrd_len) < 0) ||
        vmk_mem_write(mem, dtb_addr, fdt, fdt_len) < 0 ||
        vmk_mem_write(mem, info_addr, info, sizeof(info)) < 0) {
        goto toosmall;
    }
    out->entry = ram_base;
    out->dtb_addr = dtb_addr;
    out->fw_info_addr = info_addr;
    out->kernel_addr = kernel_addr;
    out->initrd_start = initrd_start;
    out->initrd_end = initrd_end;
    rc = 0;
    goto out;
toosmall:
    vmk_seterr(err, errlen, "guest memory (%llu MiB) is too small for the kernel (%llu KiB) and initrd (%zu KiB)",
               (unsigned long long)(mem->size >> 20), (unsigned long long)(image_size >> 10), initrd_len >> 10);
out:
    free(bios);
    free(kernel);
    free(initrd);
    free(fdt);
    return rc;
}
