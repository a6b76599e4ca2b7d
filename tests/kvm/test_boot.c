/* test_boot.c — unit tests of the x86-64 boot protocol builders (src/kvm/boot.c): bzImage header checks
 * on crafted and hostile images, loading into guest RAM, zero-page fields, e820 maps, boot GDT and a
 * walk of the identity page tables. No /dev/kvm needed. */
#include "base/base.h"
#include "mem/mem.h"
#include "kvm/x86.h"
#include "../test.h"
#include <stdint.h>
#include <unistd.h>

static char tmpdir[] = "/tmp/vmk-kvm-boot-XXXXXX";

static uint64_t ld(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static void st(uint8_t *p, uint64_t v, unsigned n) { for (unsigned i = 0; i < n; i++) p[i] = (uint8_t)(v >> (8 * i)); }

typedef struct img {
    uint8_t buf[16384];
    size_t len;
} img;

/* A minimal well-formed bzImage: setup_sects sectors of setup, then `code` bytes of kernel. */
static void mk_image(img *m, unsigned setup_sects, size_t code)
{
    memset(m, 0, sizeof *m);
    unsigned eff = setup_sects ? setup_sects : 4;       /* 0 means 4 */
    m->len = (eff + 1) * 512 + code;
    uint8_t *b = m->buf;
    b[X86_BP_SETUP_SECTS] = (uint8_t)setup_sects;
    st(b + X86_BP_BOOT_FLAG, 0xaa55, 2);
    b[0x200] = 0xeb; b[0x201] = 0x66;                 /* jmp over the header (ends at 0x268) */
    memcpy(b + X86_BP_HEADER, "HdrS", 4);
    st(b + X86_BP_VERSION, 0x20f, 2);
    b[X86_BP_LOADFLAGS] = X86_LOADED_HIGH;
    st(b + X86_BP_INITRD_ADDR_MAX, 0x7fffffff, 4);
    st(b + X86_BP_KERNEL_ALIGNMENT, 0x200000, 4);
    b[X86_BP_RELOCATABLE] = 1;
    st(b + X86_BP_XLOADFLAGS, X86_XLF_KERNEL_64, 2);
    st(b + X86_BP_CMDLINE_SIZE, 2047, 4);
    st(b + X86_BP_PREF_ADDRESS, 0x1000000, 8);
    st(b + X86_BP_INIT_SIZE, 0x100000, 4);
    for (size_t i = 0; i < code; i++) b[(eff + 1) * 512 + i] = (uint8_t)(i * 7 + 1);
}

static const char *wr_file(const char *name, const void *p, size_t n)
{
    static char path[8][256];
    static int k;
    char *out = path[k++ & 7];
    snprintf(out, 256, "%s/%s", tmpdir, name);
    FILE *f = fopen(out, "wb");
    if (!f) return out;
    if (n) fwrite(p, 1, n, f);
    fclose(f);
    return out;
}

/* Walks the identity page tables like the MMU: returns the physical address or ~0 if not mapped. */
static uint64_t walk(const vmk_mem *m, uint64_t cr3, uint64_t va)
{
    uint64_t e = 0;
    uint64_t tab = cr3 & ~0xfffull;
    for (int level = 3; level >= 0; level--) {
        unsigned idx = (va >> (12 + 9 * level)) & 511;
        if (vmk_mem_read(m, tab + 8 * idx, &e, 8) < 0 || !(e & 1)) return ~0ull;
        if (level == 1 && (e & 0x80)) return (e & 0x000fffffffe00000ull) | (va & 0x1fffff);
        if (level == 2 && (e & 0x80)) return (e & 0x000fffffc0000000ull) | (va & 0x3fffffff);
        tab = e & 0x000ffffffffff000ull;
    }
    return tab | (va & 0xfff);
}

static void e820_sane(uint64_t size)
{
    x86_e820 e[8];
    unsigned n = x86_e820_build(size, e, 8);
    CHECK(n >= 2);
    uint64_t ram = 0;
    for (unsigned i = 0; i < n; i++) {
        CHECK(e[i].size > 0);
        CHECK(e[i].type == X86_E820_RAM || e[i].type == X86_E820_RESERVED);
        if (i) CHECK(e[i].addr >= e[i - 1].addr + e[i - 1].size);       /* sorted, no overlap */
        CHECK(e[i].addr + e[i].size <= X86_MMIO_GAP_START);
        if (e[i].type == X86_E820_RAM) {
            ram += e[i].size;
            CHECK(e[i].addr + e[i].size <= size);                       /* RAM only where RAM is */
        }
    }
    CHECK_EQ_U64(e[0].addr, 0);
    CHECK_EQ_U64(e[0].type, X86_E820_RAM);
    /* all RAM but the EBDA..1 MiB hole is described */
    uint64_t top = size < X86_MMIO_GAP_START ? size : X86_MMIO_GAP_START;
    CHECK_EQ_U64(ram, top - (X86_KERNEL_ADDR - X86_EBDA_START));
    CHECK(x86_e820_build(size, e, 1) == 1);                             /* max respected */
}

int main(void)
{
    char err[VMK_ERRLEN];
    if (!mkdtemp(tmpdir)) { printf("FAIL kvm_boot: mkdtemp\n"); return 1; }
    img m;

    TEST_BEGIN("kvm_boot_check_kernel");
    mk_image(&m, 1, 4096);
    CHECK(x86_check_kernel(wr_file("good", m.buf, m.len), err, sizeof err) == 0);
    mk_image(&m, 0, 4096);                              /* setup_sects 0 means 4 */
    CHECK(x86_check_kernel(wr_file("sects0", m.buf, m.len), err, sizeof err) == 0);
    CHECK(x86_check_kernel(wr_file("sects0-short", m.buf, 5 * 512 - 1), err, sizeof err) < 0);
    CHECK(x86_check_kernel(tmpdir, err, sizeof err) < 0 && strstr(err, "not a regular file"));
    CHECK(x86_check_kernel("/nonexistent/bz", err, sizeof err) < 0 && strstr(err, "cannot open"));
    TEST_END();

    TEST_BEGIN("kvm_boot_hostile_images");
    mk_image(&m, 1, 4096);
    CHECK(x86_check_kernel(wr_file("empty", m.buf, 0), err, sizeof err) < 0 && strstr(err, "not a bzImage"));
    CHECK(x86_check_kernel(wr_file("trunc", m.buf, 0x240), err, sizeof err) < 0 && strstr(err, "not a bzImage"));
    CHECK(x86_check_kernel(wr_file("nocode", m.buf, 1024), err, sizeof err) < 0 && strstr(err, "past the end"));
    CHECK(x86_check_kernel(wr_file("tinycode", m.buf, 1024 + 100), err, sizeof err) < 0);
    mk_image(&m, 1, 4096); memcpy(m.buf + X86_BP_HEADER, "HdrX", 4);
    CHECK(x86_check_kernel(wr_file("magic", m.buf, m.len), err, sizeof err) < 0 && strstr(err, "HdrS"));
    mk_image(&m, 1, 4096); st(m.buf + X86_BP_BOOT_FLAG, 0x55aa, 2);
    CHECK(x86_check_kernel(wr_file("flag", m.buf, m.len), err, sizeof err) < 0);
    mk_image(&m, 1, 4096); st(m.buf + X86_BP_VERSION, 0x20b, 2);
    CHECK(x86_check_kernel(wr_file("old", m.buf, m.len), err, sizeof err) < 0 && strstr(err, "2.11"));
    mk_image(&m, 1, 4096); st(m.buf + X86_BP_XLOADFLAGS, 0, 2);
    CHECK(x86_check_kernel(wr_file("no64", m.buf, m.len), err, sizeof err) < 0 && strstr(err, "XLF_KERNEL_64"));
    mk_image(&m, 1, 4096); m.buf[X86_BP_LOADFLAGS] = 0;
    CHECK(x86_check_kernel(wr_file("zimage", m.buf, m.len), err, sizeof err) < 0);
    mk_image(&m, 1, 4096); m.buf[X86_BP_SETUP_SECTS] = 255;            /* setup past the file */
    CHECK(x86_check_kernel(wr_file("sects", m.buf, m.len), err, sizeof err) < 0 && strstr(err, "setup_sects"));
    mk_image(&m, 1, 4096); st(m.buf + X86_BP_KERNEL_ALIGNMENT, 0x3000, 4);
    CHECK(x86_check_kernel(wr_file("align", m.buf, m.len), err, sizeof err) < 0);
    uint8_t elf[4096] = { 0x7f, 'E', 'L', 'F' };
    CHECK(x86_check_kernel(wr_file("elf", elf, sizeof elf), err, sizeof err) < 0 && strstr(err, "not an x86-64 vmlinux"));
    TEST_END();

    TEST_BEGIN("kvm_boot_load_zero_page");
    vmk_mem mem;
    CHECK(vmk_mem_init(&mem, 0, 64ull << 20, err, sizeof err) == 0);
    mk_image(&m, 2, 8192);
    const char *kpath = wr_file("k2", m.buf, m.len);
    uint8_t initrd[10000];
    for (size_t i = 0; i < sizeof initrd; i++) initrd[i] = (uint8_t)(i ^ 0x5a);
    const char *ipath = wr_file("initrd", initrd, sizeof initrd);
    const char *cmd = "console=ttyS0 virtio_mmio.device=4K@0xd0000000:5";
    x86_boot_cfg cfg = { .kernel = kpath, .initrd = ipath, .cmdline = cmd, .ncpus = 2 };
    x86_boot_info bi;
    int rc = x86_boot_load(&mem, &cfg, &bi, err, sizeof err);
    CHECK(rc == 0);
    if (rc) printf("  load: %s\n", err);
    CHECK_EQ_U64(bi.entry, 0x100200);
    CHECK_EQ_U64(bi.zero_page, X86_ZERO_PAGE_ADDR);
    CHECK_EQ_U64(bi.pml4, X86_PML4_ADDR);
    CHECK_EQ_U64(bi.gdt, X86_GDT_ADDR);
    CHECK_EQ_U64(bi.gdt_limit, 8 * X86_GDT_ENTRIES - 1);
    CHECK_EQ_U64(bi.initrd_size, sizeof initrd);
    CHECK(bi.initrd_addr % 4096 == 0);
    CHECK(bi.initrd_addr + bi.initrd_size <= 64ull << 20);
    CHECK(bi.initrd_addr >= 0x100000 + 0x100000);               /* above kernel + init_size */
    CHECK(bi.initrd_addr + bi.initrd_size > (64ull << 20) - 8192); /* as high as possible */
    uint8_t *zp = vmk_mem_ptr(&mem, X86_ZERO_PAGE_ADDR, 4096);
    CHECK(zp != NULL);
    if (zp) {
        CHECK_EQ_U64(ld(zp + X86_BP_BOOT_FLAG, 2), 0xaa55);
        CHECK(memcmp(zp + X86_BP_HEADER, "HdrS", 4) == 0);
        CHECK_EQ_U64(ld(zp + X86_BP_VERSION, 2), 0x20f);
        CHECK_EQ_U64(zp[X86_BP_SETUP_SECTS], 2);
        CHECK_EQ_U64(zp[X86_BP_TYPE_OF_LOADER], 0xff);
        CHECK((zp[X86_BP_LOADFLAGS] & (X86_CAN_USE_HEAP | X86_LOADED_HIGH)) == (X86_CAN_USE_HEAP | X86_LOADED_HIGH));
        CHECK_EQ_U64(ld(zp + X86_BP_HEAP_END_PTR, 2), 0xfe00);
        CHECK_EQ_U64(ld(zp + X86_BP_CMD_LINE_PTR, 4), X86_CMDLINE_ADDR);
        CHECK_EQ_U64(ld(zp + X86_BP_EXT_CMD_LINE_PTR, 4), 0);
        CHECK_EQ_U64(ld(zp + X86_BP_RAMDISK_IMAGE, 4), bi.initrd_addr);
        CHECK_EQ_U64(ld(zp + X86_BP_RAMDISK_SIZE, 4), sizeof initrd);
        CHECK_EQ_U64(ld(zp + X86_BP_INIT_SIZE, 4), 0x100000);     /* copied from the image */
        CHECK_EQ_U64(ld(zp + X86_BP_PREF_ADDRESS, 8), 0x1000000);
        unsigned ne = zp[X86_BP_E820_ENTRIES];
        CHECK_EQ_U64(ne, 3);
        uint64_t ram = 0, prev_end = 0;
        for (unsigned i = 0; i < ne && i < 128; i++) {
            const uint8_t *q = zp + X86_BP_E820_TABLE + 20 * i;
            uint64_t a = ld(q, 8), s = ld(q + 8, 8), t = ld(q + 16, 4);
            CHECK(a >= prev_end);
            prev_end = a + s;
            if (t == X86_E820_RAM) ram += s;
        }
        CHECK_EQ_U64(prev_end, 64ull << 20);
        CHECK_EQ_U64(ram, (64ull << 20) - (0x100000 - 0x9fc00));
        CHECK(strcmp((const char *)vmk_mem_ptr(&mem, X86_CMDLINE_ADDR, 1), cmd) == 0);
    }
    /* kernel bytes after the setup sectors land at 1 MiB, initrd bytes at initrd_addr */
    CHECK(memcmp(vmk_mem_ptr(&mem, X86_KERNEL_ADDR, 8192), m.buf + 3 * 512, 8192) == 0);
    CHECK(memcmp(vmk_mem_ptr(&mem, bi.initrd_addr, sizeof initrd), initrd, sizeof initrd) == 0);
    TEST_END();

    TEST_BEGIN("kvm_boot_gdt");
    uint64_t gdt[X86_GDT_ENTRIES];
    CHECK(vmk_mem_read(&mem, X86_GDT_ADDR, gdt, sizeof gdt) == 0);
    CHECK_EQ_U64(gdt[0], 0);
    CHECK_EQ_U64(gdt[X86_SEL_CS / 8], X86_DESC_CODE64);
    CHECK_EQ_U64(gdt[X86_SEL_DS / 8], X86_DESC_DATA);
    CHECK_EQ_U64(gdt[X86_SEL_TSS / 8], X86_DESC_TSS);
    x86_seg cs = x86_seg_from_desc(X86_DESC_CODE64, X86_SEL_CS);
    CHECK(cs.l == 1 && cs.db == 0 && cs.present == 1 && cs.s == 1 && cs.dpl == 0 && cs.g == 1);
    CHECK_EQ_U64(cs.type, 0xb);
    CHECK_EQ_U64(cs.limit, 0xffffffff);
    CHECK_EQ_U64(cs.base, 0);
    CHECK_EQ_U64(cs.selector, 0x10);
    x86_seg ds = x86_seg_from_desc(X86_DESC_DATA, X86_SEL_DS);
    CHECK(ds.l == 0 && ds.db == 1 && ds.present == 1 && ds.s == 1 && ds.type == 3);
    x86_seg tr = x86_seg_from_desc(X86_DESC_TSS, X86_SEL_TSS);
    CHECK(tr.s == 0 && tr.type == 0xb && tr.present == 1 && tr.limit == 0x67 && tr.g == 0);
    x86_seg odd = x86_seg_from_desc(0x12cf9a345678ffffull, 8);    /* base split across the descriptor */
    CHECK_EQ_U64(odd.base, 0x12345678);
    TEST_END();

    TEST_BEGIN("kvm_boot_page_tables");
    const uint64_t probes[] = { 0, 0x1234, 0x100200, 0x1fffff, 0x200000, 0x3ffffff, 0x7fffffff,
                                0x80000000, 0xc0001234, 0xd0000000, 0xfee00000, 0xffffffff };
    for (size_t i = 0; i < sizeof probes / sizeof probes[0]; i++) CHECK_EQ_U64(walk(&mem, bi.pml4, probes[i]), probes[i]);
    CHECK_EQ_U64(walk(&mem, bi.pml4, 0x100000000ull), ~0ull);     /* nothing above 4 GiB */
    uint64_t pde;
    CHECK(vmk_mem_read(&mem, X86_PML4_ADDR + 0x2000, &pde, 8) == 0 && (pde & 0x83) == 0x83);
    vmk_mem small;
    CHECK(vmk_mem_init(&small, 0, 0x8000, err, sizeof err) == 0);
    CHECK(x86_page_tables_build(&small, X86_PML4_ADDR) == 0);      /* does not fit: refused */
    CHECK(x86_page_tables_build(&mem, X86_PML4_ADDR + 8) == 0);    /* unaligned */
    vmk_mem_free(&small);
    TEST_END();

    TEST_BEGIN("kvm_boot_e820");
    const uint64_t sizes[] = { 2ull << 20, 64ull << 20, 1ull << 30, 0xc0000000ull, 0xd0000000ull, 0x140000000ull };
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) e820_sane(sizes[i]);
    x86_e820 e[4];
    CHECK(x86_e820_build(0x80000, e, 4) == 2 && e[0].size == 0x80000);   /* below the EBDA */
    TEST_END();

    TEST_BEGIN("kvm_boot_load_refusals");
    /* init_size bigger than RAM */
    mk_image(&m, 1, 4096); st(m.buf + X86_BP_INIT_SIZE, 0x7f000000, 4);
    cfg = (x86_boot_cfg){ .kernel = wr_file("huge", m.buf, m.len), .cmdline = "", .ncpus = 1 };
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) < 0 && strstr(err, "needs"));
    mk_image(&m, 1, 4096); st(m.buf + X86_BP_INIT_SIZE, 0xffffffff, 4);
    cfg.kernel = wr_file("huge2", m.buf, m.len);
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) < 0 && strstr(err, "needs"));
    /* command line longer than cmdline_size */
    mk_image(&m, 1, 4096); st(m.buf + X86_BP_CMDLINE_SIZE, 8, 4);
    cfg = (x86_boot_cfg){ .kernel = wr_file("cl", m.buf, m.len), .cmdline = "console=ttyS0", .ncpus = 1 };
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) < 0 && strstr(err, "command line"));
    cfg.cmdline = "console=";                                             /* exactly 8: fits */
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) == 0);
    /* initrd above initrd_addr_max + kernel: does not fit */
    mk_image(&m, 1, 4096); st(m.buf + X86_BP_INITRD_ADDR_MAX, 0x1fffff, 4);
    cfg = (x86_boot_cfg){ .kernel = wr_file("imax", m.buf, m.len), .initrd = ipath, .cmdline = "", .ncpus = 1 };
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) < 0 && strstr(err, "initrd"));
    st(m.buf + X86_BP_INITRD_ADDR_MAX, 0x3fffff, 4);                     /* below 4 MiB, but the kernel runs */
    cfg.kernel = wr_file("imax1", m.buf, m.len);                          /* at 16 MiB: no room above it */
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) < 0 && strstr(err, "initrd"));
    st(m.buf + X86_BP_PREF_ADDRESS, 0, 8);                                /* runs at 2 MiB (alignment) */
    cfg.kernel = wr_file("imax2", m.buf, m.len);
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) == 0);
    CHECK(bi.initrd_addr + bi.initrd_size <= 0x400000 && bi.initrd_addr >= 0x300000);
    /* the decompression area [pref_address, +init_size) is kept free of the initrd, and must be RAM */
    mk_image(&m, 1, 4096);
    cfg.kernel = wr_file("pref", m.buf, m.len);
    vmk_mem r20;
    CHECK(vmk_mem_init(&r20, 0, 20ull << 20, err, sizeof err) == 0);
    CHECK(x86_boot_load(&r20, &cfg, &bi, err, sizeof err) == 0 && bi.initrd_addr >= (17ull << 20));
    vmk_mem_free(&r20);
    CHECK(vmk_mem_init(&r20, 0, (17ull << 20) - 4096, err, sizeof err) == 0);
    cfg.initrd = NULL;
    CHECK(x86_boot_load(&r20, &cfg, &bi, err, sizeof err) < 0 && strstr(err, "needs 17 MiB"));
    vmk_mem_free(&r20);
    st(m.buf + X86_BP_PREF_ADDRESS, 0xfffffffffffff000ull, 8);           /* absurd pref_address */
    cfg.kernel = wr_file("pref2", m.buf, m.len);
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) < 0 && strstr(err, "needs"));
    mk_image(&m, 1, 4096); st(m.buf + X86_BP_INITRD_ADDR_MAX, 0x3fffff, 4); st(m.buf + X86_BP_PREF_ADDRESS, 0, 8);
    cfg.kernel = wr_file("imax3", m.buf, m.len);
    cfg.initrd = ipath;
    cfg.initrd = wr_file("empty-initrd", "", 0);
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) == 0 && bi.initrd_size == 0 && bi.initrd_addr == 0);
    cfg.initrd = "/nonexistent/initrd";
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) < 0 && strstr(err, "cannot open initrd"));
    /* CPU counts */
    mk_image(&m, 1, 4096);
    cfg = (x86_boot_cfg){ .kernel = wr_file("c", m.buf, m.len), .cmdline = "", .ncpus = 0 };
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) < 0 && strstr(err, "CPUs"));
    cfg.ncpus = X86_MAX_CPUS + 1;
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) < 0);
    cfg.ncpus = X86_MAX_CPUS;
    CHECK(x86_boot_load(&mem, &cfg, &bi, err, sizeof err) == 0);
    /* RAM too small for the kernel; RAM not at 0 */
    vmk_mem tiny;
    CHECK(vmk_mem_init(&tiny, 0, 1ull << 20, err, sizeof err) == 0);
    cfg.ncpus = 1;
    CHECK(x86_boot_load(&tiny, &cfg, &bi, err, sizeof err) < 0 && strstr(err, "needs"));
    vmk_mem_free(&tiny);
    vmk_mem big;                                                          /* more than 3 GiB: refused */
    if (vmk_mem_init(&big, 0, X86_RAM_MAX + 0x100000, err, sizeof err) == 0) {
        CHECK(x86_boot_load(&big, &cfg, &bi, err, sizeof err) < 0 && strstr(err, "limited"));
        vmk_mem_free(&big);
    }
    vmk_mem hi;
    CHECK(vmk_mem_init(&hi, 0x80000000ull, 4ull << 20, err, sizeof err) == 0);
    CHECK(x86_boot_load(&hi, &cfg, &bi, err, sizeof err) < 0);
    vmk_mem_free(&hi);
    vmk_mem_free(&mem);
    TEST_END();

    TEST_BEGIN("kvm_boot_mutated_headers");
    /* 3000 images with random header bytes, sizes and setup_sects: never a crash (ASan build), every
     * outcome is a clean load or a one-line error, and a load keeps everything inside RAM. */
    vmk_mem fm;
    CHECK(vmk_mem_init(&fm, 0, 32ull << 20, err, sizeof err) == 0);
    uint32_t x = 12345;
    unsigned loaded = 0, refused = 0;
    for (int it = 0; it < 3000; it++) {
        mk_image(&m, 1 + (it % 6), 2048);
        for (int k = 0; k < 1 + it % 8; k++) {
            x = x * 1103515245u + 12345u;
            unsigned off = X86_BP_SETUP_SECTS + (x >> 8) % (X86_BP_SETUP_HDR_END - X86_BP_SETUP_SECTS);
            x = x * 1103515245u + 12345u;
            m.buf[off] = (uint8_t)(x >> 16);
        }
        x = x * 1103515245u + 12345u;
        size_t len = (x >> 4) % 5 == 0 ? (x >> 8) % m.len : m.len;
        cfg = (x86_boot_cfg){ .kernel = wr_file("fz", m.buf, len), .initrd = (it & 1) ? ipath : NULL,
                              .cmdline = "console=ttyS0", .ncpus = 1 + it % 4 };
        err[0] = 0;
        if (x86_boot_load(&fm, &cfg, &bi, err, sizeof err) == 0) {
            loaded++;
            CHECK(bi.entry == 0x100200 && bi.initrd_addr + bi.initrd_size <= fm.size);
        } else {
            refused++;
            CHECK(err[0] != 0 && strchr(err, '\n') == NULL);
        }
    }
    printf("  mutated bzImages: %u loaded, %u refused\n", loaded, refused);
    CHECK(loaded > 0 && refused > 0);
    vmk_mem_free(&fm);
    TEST_END();

    TEST_BEGIN("kvm_boot_elf_vmlinux");
    {
        /* ELF64 x86-64 EXEC: two PT_LOAD segments (text at 2 MiB with a bss tail, data at 4 MiB), a note */
        static uint8_t e[3 * 4096];
        memset(e, 0, sizeof e);
        memcpy(e, "\177ELF", 4); e[4] = 2; e[5] = 1; e[6] = 1;
        st(e + 16, 2, 2); st(e + 18, 62, 2); st(e + 20, 1, 4);
        st(e + 24, 0x200010, 8);                       /* entry */
        st(e + 32, 64, 8);                             /* phoff */
        st(e + 52, 64, 2); st(e + 54, 56, 2); st(e + 56, 3, 2);
        uint8_t *ph = e + 64;
        st(ph, 1, 4); st(ph + 8, 4096, 8); st(ph + 16, 0xffffffff80200000ull, 8); st(ph + 24, 0x200000, 8);
        st(ph + 32, 4096, 8); st(ph + 40, 8192, 8);
        ph += 56;
        st(ph, 1, 4); st(ph + 8, 8192, 8); st(ph + 24, 0x400000, 8); st(ph + 32, 100, 8); st(ph + 40, 100, 8);
        ph += 56;
        st(ph, 4, 4); st(ph + 8, 8192, 8); st(ph + 24, 0x10, 8); st(ph + 32, 4, 8); st(ph + 40, 4, 8);   /* PT_NOTE: ignored */
        for (int i = 0; i < 4096; i++) e[4096 + i] = (uint8_t)(i * 3 + 1);
        memcpy(e + 8192, "DATA-SEGMENT", 12);
        vmk_mem em;
        CHECK(vmk_mem_init(&em, 0, 16ull << 20, err, sizeof err) == 0);
        memset(em.host, 0xcc, em.size);
        cfg = (x86_boot_cfg){ .kernel = wr_file("vmlinux", e, sizeof e), .initrd = ipath, .cmdline = "console=ttyS0", .ncpus = 1 };
        CHECK(x86_check_kernel(cfg.kernel, err, sizeof err) == 0);
        rc = x86_boot_load(&em, &cfg, &bi, err, sizeof err);
        CHECK(rc == 0);
        if (rc) printf("  load: %s\n", err);
        CHECK_EQ_U64(bi.entry, 0x200010);
        CHECK(memcmp(vmk_mem_ptr(&em, 0x200000, 4096), e + 4096, 4096) == 0);
        const uint8_t *bss = vmk_mem_ptr(&em, 0x201000, 4096);
        int zero = 1;
        for (int i = 0; bss && i < 4096; i++) zero &= bss[i] == 0;
        CHECK(bss && zero);                                                 /* memsz beyond filesz is zeroed */
        CHECK(memcmp(vmk_mem_ptr(&em, 0x400000, 12), "DATA-SEGMENT", 12) == 0);
        CHECK(bi.initrd_addr >= 0x401000);
        const uint8_t *z = vmk_mem_ptr(&em, X86_ZERO_PAGE_ADDR, 4096);
        CHECK(z && ld(z + X86_BP_BOOT_FLAG, 2) == 0xaa55 && !memcmp(z + X86_BP_HEADER, "HdrS", 4) && z[X86_BP_TYPE_OF_LOADER] == 0xff);
        CHECK(z && ld(z + X86_BP_CMD_LINE_PTR, 4) == X86_CMDLINE_ADDR && ld(z + X86_BP_RAMDISK_IMAGE, 4) == bi.initrd_addr);
        /* hostile variants */
        struct { unsigned off, n; uint64_t v; const char *why; } bad[] = {
            { 18, 2, 3, "vmlinux" },                                          /* e_machine i386 */
            { 4, 1, 1, "vmlinux" },                                           /* 32-bit class */
            { 24, 8, 0x300000, "entry point" },                               /* entry outside segments */
            { 24, 8, 0x201800, "entry point" },                               /* entry in the bss part */
            { 56, 2, 60000, "program header" },                               /* phnum huge */
            { 32, 8, 0xfffffffffffff000ull, "program header" },               /* phoff past the file */
            { 64 + 24, 8, 0x80000, "segment 0" },                             /* below 1 MiB */
            { 64 + 24, 8, 0xfffffffffffff000ull, "segment 0" },               /* paddr + memsz overflows */
            { 64 + 40, 8, 100, "segment 0" },                                 /* filesz > memsz */
            { 64 + 8, 8, 0x100000, "segment 0" },                             /* offset past the file */
            { 64 + 32, 8, 0xffffffffffff0000ull, "segment 0" },               /* filesz huge */
            { 64 + 56 + 40, 8, 0x20000000, "needs" },                         /* fits 3 GiB, not this RAM */
        };
        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
            uint8_t save[8];
            memcpy(save, e + bad[i].off, 8);
            st(e + bad[i].off, bad[i].v, bad[i].n);
            if (bad[i].off == 64 + 56 + 40) st(e + 64 + 56 + 32, 100, 8);
            cfg.kernel = wr_file("badelf", e, sizeof e);
            int r2 = x86_boot_load(&em, &cfg, &bi, err, sizeof err);
            CHECK(r2 < 0 && strstr(err, bad[i].why));
            if (!(r2 < 0 && strstr(err, bad[i].why))) printf("  case %zu: rc %d err '%s'\n", i, r2, err);
            memcpy(e + bad[i].off, save, 8);
        }
        cfg.kernel = wr_file("truncelf", e, 100);
        CHECK(x86_check_kernel(cfg.kernel, err, sizeof err) < 0 && strstr(err, "vmlinux"));
        vmk_mem_free(&em);
    }
    TEST_END();

    /* A real Linux bzImage (the x86-64 guest kernel, when `make images-x86` built it). */
    const char *real = "build/images/x86_64/bzImage";
    if (access(real, R_OK) != 0) {
        SKIP("kvm_boot_real_linux", "no build/images/x86_64/bzImage (make images-x86)");
    } else {
        TEST_BEGIN("kvm_boot_real_linux");
        CHECK(x86_check_kernel(real, err, sizeof err) == 0);
        vmk_mem lm;
        CHECK(vmk_mem_init(&lm, 0, 256ull << 20, err, sizeof err) == 0);
        cfg = (x86_boot_cfg){ .kernel = real, .initrd = ipath, .cmdline = "console=ttyS0", .ncpus = 2 };
        rc = x86_boot_load(&lm, &cfg, &bi, err, sizeof err);
        CHECK(rc == 0);
        if (rc) printf("  load: %s\n", err);
        const uint8_t *z = vmk_mem_ptr(&lm, X86_ZERO_PAGE_ADDR, 4096);
        if (rc == 0 && z) {
            CHECK(ld(z + X86_BP_VERSION, 2) >= 0x20f);
            CHECK(ld(z + X86_BP_XLOADFLAGS, 2) & X86_XLF_KERNEL_64);
            uint64_t init = ld(z + X86_BP_INIT_SIZE, 4), pref = ld(z + X86_BP_PREF_ADDRESS, 8);
            CHECK(init > (1u << 20) && pref >= 0x100000);
            CHECK(bi.initrd_addr >= pref + init);                       /* clear of the decompressor */
            printf("  real bzImage: protocol 0x%llx, pref_address 0x%llx, init_size 0x%llx, initrd at 0x%llx\n",
                   (unsigned long long)ld(z + X86_BP_VERSION, 2), (unsigned long long)pref,
                   (unsigned long long)init, (unsigned long long)bi.initrd_addr);
        }
        vmk_mem_free(&lm);
        TEST_END();
    }

    char cmdbuf[400];
    snprintf(cmdbuf, sizeof cmdbuf, "rm -rf '%s'", tmpdir);
    if (system(cmdbuf) != 0) printf("  (could not remove %s)\n", tmpdir);
    TEST_EXIT();
}
