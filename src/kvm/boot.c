/* boot.c — the x86-64 Linux boot protocol for the KVM engine: bzImage setup-header checks (or an ELF
 * vmlinux's PT_LOAD segments, entered at e_entry in 64-bit mode like Firecracker does), loading of
 * kernel/initrd/command line into guest RAM, the zero page (struct boot_params) with its e820 map, the
 * boot GDT and the identity page tables. Everything read from the kernel file is untrusted. */
#include "x86.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HDR_PROBE 0x400u      /* bytes read to parse the setup header (it ends before 0x280) */

static uint16_t rd16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t rd32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static void wr16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void wr32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }
static void wr64(uint8_t *p, uint64_t v) { for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i)); }

#define ELF_MAX_LOAD 16u
typedef struct elf_seg { uint64_t off, paddr, filesz, memsz; } elf_seg;

/* What the loader knows about the kernel file: a bzImage's setup header, or for an ELF vmlinux its
 * loadable segments (and a setup header synthesised into the probe buffer, so the zero page is built
 * the same way). */
typedef struct bz_hdr {
    bool elf;
    uint64_t entry, lo, hi;            /* ELF: entry point and [lo, hi) physical extent of the segments */
    unsigned nseg;
    elf_seg seg[ELF_MAX_LOAD];
    uint64_t file_size, pm_off, pm_size;
    uint64_t pref_address;
    uint32_t init_size, cmdline_size, initrd_addr_max, kernel_alignment;
    unsigned setup_sects, hdr_end;
    uint16_t version, xloadflags;
    uint8_t loadflags;
} bz_hdr;

/* Parses the setup header from the first bytes of the file (buf holds min(file_size, HDR_PROBE)). */
static int parse_hdr(const uint8_t *buf, size_t n, uint64_t file_size, bz_hdr *h, char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->file_size = file_size;
    if (n < X86_BP_SETUP_HDR_END) {
        vmk_seterr(err, errlen, "not a bzImage: file is only %llu bytes", (unsigned long long)file_size);
        return -1;
    }
    if (rd16(buf + X86_BP_BOOT_FLAG) != 0xaa55 || memcmp(buf + X86_BP_HEADER, "HdrS", 4) != 0) {
        vmk_seterr(err, errlen, "not a bzImage: no Linux setup header (boot flag 0xaa55 and \"HdrS\")");
        return -1;
    }
    h->version = rd16(buf + X86_BP_VERSION);
    if (h->version < 0x20c) {
        vmk_seterr(err, errlen, "not a bzImage with a 64-bit entry: boot protocol %u.%02u is older than 2.12",
                   h->version >> 8, h->version & 0xff);
        return -1;
    }
    h->setup_sects = buf[X86_BP_SETUP_SECTS] ? buf[X86_BP_SETUP_SECTS] : 4;
    h->loadflags = buf[X86_BP_LOADFLAGS];
    h->xloadflags = rd16(buf + X86_BP_XLOADFLAGS);
    h->kernel_alignment = rd32(buf + X86_BP_KERNEL_ALIGNMENT);
    h->init_size = rd32(buf + X86_BP_INIT_SIZE);
    h->cmdline_size = rd32(buf + X86_BP_CMDLINE_SIZE);
    h->initrd_addr_max = rd32(buf + X86_BP_INITRD_ADDR_MAX);
    h->pref_address = (uint64_t)rd32(buf + X86_BP_PREF_ADDRESS) | (uint64_t)rd32(buf + X86_BP_PREF_ADDRESS + 4) << 32;
    if (!(h->xloadflags & X86_XLF_KERNEL_64)) {
        vmk_seterr(err, errlen, "not a bzImage with a 64-bit entry: XLF_KERNEL_64 is not set");
        return -1;
    }
    if (!(h->loadflags & X86_LOADED_HIGH)) {
        vmk_seterr(err, errlen, "not a bzImage: kernel is not loaded high (zImage)");
        return -1;
    }
    /* The setup header's own length: the jump at 0x200 skips it (byte 0x201 = offset from 0x202). */
    h->hdr_end = 0x202u + buf[0x201];
    if (h->hdr_end > X86_BP_SETUP_HDR_END) h->hdr_end = X86_BP_SETUP_HDR_END;
    if (h->hdr_end < X86_BP_INIT_SIZE + 4) h->hdr_end = X86_BP_INIT_SIZE + 4;
    h->pm_off = ((uint64_t)h->setup_sects + 1) * 512;
    if (h->pm_off >= file_size) {
        vmk_seterr(err, errlen, "not a bzImage: setup_sects %u puts the kernel past the end of the %llu-byte file",
                   h->setup_sects, (unsigned long long)file_size);
        return -1;
    }
    h->pm_size = file_size - h->pm_off;
    if (h->pm_size < 0x200 + 16) {
        vmk_seterr(err, errlen, "not a bzImage: kernel part is only %llu bytes", (unsigned long long)h->pm_size);
        return -1;
    }
    if (h->kernel_alignment & (h->kernel_alignment - 1)) {
        vmk_seterr(err, errlen, "not a bzImage: kernel_alignment 0x%x is not a power of two", h->kernel_alignment);
        return -1;
    }
    return 0;
}

static uint64_t rd64(const uint8_t *p) { return (uint64_t)rd32(p) | (uint64_t)rd32(p + 4) << 32; }

/* An x86-64 ELF vmlinux (as Firecracker boots it): PT_LOAD segments at their physical addresses, entered
 * at e_entry in 64-bit mode with the zero page in rsi, like a bzImage's startup_64. */
static int parse_elf(int fd, const uint8_t *buf, size_t n, uint64_t file_size, uint8_t *hdrbuf, bz_hdr *h,
                     char *err, size_t errlen)
{
    memset(h, 0, sizeof *h);
    h->elf = true;
    h->file_size = file_size;
    if (n < 64 || buf[4] != 2 || buf[5] != 1 || rd16(buf + 16) != 2 || rd16(buf + 18) != 62) {
        vmk_seterr(err, errlen, "not an x86-64 vmlinux: ELF file is not a little-endian 64-bit x86-64 executable");
        return -1;
    }
    uint64_t phoff = rd64(buf + 32);
    unsigned phentsize = rd16(buf + 54), phnum = rd16(buf + 56);
    h->entry = rd64(buf + 24);
    if (phentsize != 56 || phnum == 0 || phnum > 64 || phoff > file_size || (uint64_t)phnum * 56 > file_size - phoff) {
        vmk_seterr(err, errlen, "not an x86-64 vmlinux: bad program header table (%u entries of %u bytes at %llu)",
                   phnum, phentsize, (unsigned long long)phoff);
        return -1;
    }
    uint8_t ph[64 * 56];
    if (pread(fd, ph, (size_t)phnum * 56, (off_t)phoff) != (ssize_t)(phnum * 56)) {
        vmk_seterr(err, errlen, "not an x86-64 vmlinux: cannot read its program headers");
        return -1;
    }
    h->lo = UINT64_MAX;
    bool entry_ok = false;
    for (unsigned i = 0; i < phnum; i++) {
        const uint8_t *p = ph + 56 * i;
        if (rd32(p) != 1) continue;                                   /* PT_LOAD */
        elf_seg sg = { rd64(p + 8), rd64(p + 24), rd64(p + 32), rd64(p + 40) };
        if (sg.memsz == 0) continue;
        if (h->nseg == ELF_MAX_LOAD || sg.filesz > sg.memsz || sg.off > file_size || sg.filesz > file_size - sg.off ||
            sg.paddr < X86_KERNEL_ADDR || sg.paddr > X86_RAM_MAX || sg.memsz > X86_RAM_MAX - sg.paddr) {
            vmk_seterr(err, errlen, "not an x86-64 vmlinux: segment %u (0x%llx+0x%llx) is outside [1 MiB, 3 GiB) or the file",
                       i, (unsigned long long)sg.paddr, (unsigned long long)sg.memsz);
            return -1;
        }
        h->seg[h->nseg++] = sg;
        if (sg.paddr < h->lo) h->lo = sg.paddr;
        if (sg.paddr + sg.memsz > h->hi) h->hi = sg.paddr + sg.memsz;
        if (h->entry >= sg.paddr && h->entry < sg.paddr + sg.filesz) entry_ok = true;
    }
    if (!h->nseg) { vmk_seterr(err, errlen, "not an x86-64 vmlinux: no loadable segment"); return -1; }
    if (!entry_ok) {
        vmk_seterr(err, errlen, "not an x86-64 vmlinux: entry point 0x%llx is not in a loaded segment",
                   (unsigned long long)h->entry);
        return -1;
    }
    /* The setup header a bzImage would carry, for the zero page. */
    memset(hdrbuf, 0, HDR_PROBE);
    wr16(hdrbuf + X86_BP_BOOT_FLAG, 0xaa55);
    hdrbuf[0x201] = X86_BP_SETUP_HDR_END - 0x202;
    memcpy(hdrbuf + X86_BP_HEADER, "HdrS", 4);
    wr16(hdrbuf + X86_BP_VERSION, 0x20f);
    hdrbuf[X86_BP_LOADFLAGS] = X86_LOADED_HIGH;
    wr32(hdrbuf + X86_BP_INITRD_ADDR_MAX, 0x7fffffff);
    wr32(hdrbuf + X86_BP_KERNEL_ALIGNMENT, 0x200000);
    wr16(hdrbuf + X86_BP_XLOADFLAGS, X86_XLF_KERNEL_64);
    wr32(hdrbuf + X86_BP_CMDLINE_SIZE, 2047);
    wr64(hdrbuf + X86_BP_PREF_ADDRESS, h->lo);
    wr32(hdrbuf + X86_BP_INIT_SIZE, (uint32_t)(h->hi - h->lo));
    h->version = 0x20f;
    h->hdr_end = X86_BP_SETUP_HDR_END;
    h->loadflags = X86_LOADED_HIGH;
    h->xloadflags = X86_XLF_KERNEL_64;
    h->cmdline_size = 2047;
    h->initrd_addr_max = 0x7fffffff;
    return 0;
}

static int open_kernel(const char *path, uint8_t *buf, size_t *n, bz_hdr *h, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) { vmk_seterr(err, errlen, "cannot open kernel %s: %s", path, strerror(errno)); return -1; }
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        vmk_seterr(err, errlen, "kernel %s is not a regular file", path);
        close(fd);
        return -1;
    }
    ssize_t r = pread(fd, buf, HDR_PROBE, 0);
    if (r < 0) { vmk_seterr(err, errlen, "cannot read kernel %s: %s", path, strerror(errno)); close(fd); return -1; }
    *n = (size_t)r;
    char e2[VMK_ERRLEN];
    int prc;
    if (*n >= 4 && !memcmp(buf, "\177ELF", 4)) {
        uint8_t ehdr[64];
        memcpy(ehdr, buf, *n < 64 ? *n : 64);
        prc = parse_elf(fd, ehdr, *n, (uint64_t)st.st_size, buf, h, e2, sizeof e2);
    } else {
        prc = parse_hdr(buf, *n, (uint64_t)st.st_size, h, e2, sizeof e2);
    }
    if (prc < 0) {
        vmk_seterr(err, errlen, "%s: %s", path, e2);
        close(fd);
        return -1;
    }
    return fd;
}

int x86_check_kernel(const char *path, char *err, size_t errlen)
{
    uint8_t buf[HDR_PROBE];
    size_t n;
    bz_hdr h;
    int fd = open_kernel(path, buf, &n, &h, err, errlen);
    if (fd < 0) return -1;
    close(fd);
    return 0;
}

/* Reads len bytes at file offset off into guest RAM at gpa (already bounds-checked by the caller). */
static int read_into(vmk_mem *mem, int fd, uint64_t off, uint64_t gpa, uint64_t len, const char *what,
                     char *err, size_t errlen)
{
    uint8_t *p = vmk_mem_ptr_w(mem, gpa, len);
    if (!p) { vmk_seterr(err, errlen, "%s does not fit in guest RAM", what); return -1; }
    while (len) {
        size_t chunk = len > (1u << 30) ? (1u << 30) : (size_t)len;
        ssize_t r = pread(fd, p, chunk, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            vmk_seterr(err, errlen, "cannot read %s: %s", what, r < 0 ? strerror(errno) : "file shrank");
            return -1;
        }
        p += r; off += (uint64_t)r; len -= (uint64_t)r;
    }
    return 0;
}

unsigned x86_e820_build(uint64_t mem_size, x86_e820 *out, unsigned max)
{
    unsigned n = 0;
    uint64_t top = mem_size < X86_MMIO_GAP_START ? mem_size : X86_MMIO_GAP_START;
    x86_e820 e[3];
    e[n++] = (x86_e820){ 0, (top < X86_EBDA_START ? top : X86_EBDA_START), X86_E820_RAM };
    e[n++] = (x86_e820){ X86_EBDA_START, X86_KERNEL_ADDR - X86_EBDA_START, X86_E820_RESERVED };
    if (top > X86_KERNEL_ADDR) e[n++] = (x86_e820){ X86_KERNEL_ADDR, top - X86_KERNEL_ADDR, X86_E820_RAM };
    unsigned k = 0;
    for (unsigned i = 0; i < n && k < max; i++)
        if (e[i].size) out[k++] = e[i];
    return k;
}

uint64_t x86_page_tables_build(vmk_mem *mem, uint64_t pml4)
{
    const uint64_t used = 6 * 0x1000ull;   /* PML4, PDPT, 4 PDs of 512 x 2 MiB */
    uint8_t *p = vmk_mem_ptr_w(mem, pml4, used);
    if (!p || (pml4 & 0xfff)) return 0;
    memset(p, 0, used);
    uint64_t pdpt = pml4 + 0x1000, pd = pml4 + 0x2000;
    wr64(p, pdpt | 0x3);                                       /* present, writable */
    for (unsigned i = 0; i < 4; i++) wr64(p + 0x1000 + 8 * i, (pd + 0x1000ull * i) | 0x3);
    for (uint64_t i = 0; i < 4 * 512; i++) wr64(p + 0x2000 + 8 * i, (i << 21) | 0x83);   /* + PS */
    return used;
}

x86_seg x86_seg_from_desc(uint64_t d, uint16_t selector)
{
    x86_seg s;
    s.base = ((d >> 16) & 0xffffff) | ((d >> 32) & 0xff000000);
    uint32_t limit = (uint32_t)((d & 0xffff) | ((d >> 32) & 0xf0000));
    s.g = (d >> 55) & 1;
    s.limit = s.g ? (limit << 12) | 0xfff : limit;
    s.selector = selector;
    s.type = (d >> 40) & 0xf;
    s.s = (d >> 44) & 1;
    s.dpl = (d >> 45) & 3;
    s.present = (d >> 47) & 1;
    s.avl = (d >> 52) & 1;
    s.l = (d >> 53) & 1;
    s.db = (d >> 54) & 1;
    return s;
}

int x86_boot_load(vmk_mem *mem, const x86_boot_cfg *cfg, x86_boot_info *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (mem->base != 0) { vmk_seterr(err, errlen, "x86 guest RAM must start at 0"); return -1; }
    if (mem->size > X86_RAM_MAX) {
        vmk_seterr(err, errlen, "x86 guests are limited to %llu MiB of RAM", (unsigned long long)(X86_RAM_MAX >> 20));
        return -1;
    }
    if (cfg->ncpus == 0 || cfg->ncpus > X86_MAX_CPUS) {
        vmk_seterr(err, errlen, "x86 guests take 1 to %u CPUs, not %u", X86_MAX_CPUS, cfg->ncpus);
        return -1;
    }
    uint64_t ram_top = mem->size;
    uint8_t buf[HDR_PROBE];
    size_t n;
    bz_hdr h;
    int kfd = open_kernel(cfg->kernel, buf, &n, &h, err, errlen);
    if (kfd < 0) return -1;

    uint64_t kernel_end;
    if (h.elf) {
        if (h.hi > ram_top) {
            vmk_seterr(err, errlen, "kernel %s needs %llu MiB of RAM (its segments end at 0x%llx); the guest has %llu MiB",
                       cfg->kernel, (unsigned long long)((h.hi + 0xfffff) >> 20), (unsigned long long)h.hi,
                       (unsigned long long)(ram_top >> 20));
            close(kfd);
            return -1;
        }
        for (unsigned i = 0; i < h.nseg; i++) {
            const elf_seg *sg = &h.seg[i];
            if (read_into(mem, kfd, sg->off, sg->paddr, sg->filesz, "kernel", err, errlen) < 0) { close(kfd); return -1; }
            memset(vmk_mem_ptr_w(mem, sg->paddr + sg->filesz, sg->memsz - sg->filesz), 0, sg->memsz - sg->filesz);
        }
        close(kfd);
        kernel_end = (h.hi + 0xfff) & ~0xfffull;
    } else {
    /* The decompressor runs the kernel at max(load address aligned to kernel_alignment, pref_address)
     * and needs init_size bytes there (decompression buffer + bss); nothing else may live there. */
    uint64_t run_at = X86_KERNEL_ADDR;
    if (h.kernel_alignment) run_at = (run_at + h.kernel_alignment - 1) & ~((uint64_t)h.kernel_alignment - 1);
    if (h.pref_address > run_at) run_at = h.pref_address;
    uint64_t end = X86_KERNEL_ADDR + h.pm_size;
    if (run_at < ram_top && run_at + h.init_size > end) end = run_at + h.init_size;
    if (run_at >= ram_top || end > ram_top) {
        uint64_t want = run_at >= ram_top ? run_at + h.init_size : end;
        vmk_seterr(err, errlen, "kernel %s needs %llu MiB of RAM (it runs at 0x%llx and needs %u bytes there); the guest has %llu MiB",
                   cfg->kernel, (unsigned long long)((want + 0xfffff) >> 20), (unsigned long long)run_at, h.init_size,
                   (unsigned long long)(ram_top >> 20));
        close(kfd);
        return -1;
    }
    int rc = read_into(mem, kfd, h.pm_off, X86_KERNEL_ADDR, h.pm_size, "kernel", err, errlen);
    close(kfd);
    if (rc < 0) return -1;
    kernel_end = (end + 0xfff) & ~0xfffull;
    }

    /* Command line. */
    const char *cmd = cfg->cmdline ? cfg->cmdline : "";
    size_t clen = strlen(cmd);
    uint64_t cmax = h.cmdline_size < X86_CMDLINE_MAX - 1 ? h.cmdline_size : X86_CMDLINE_MAX - 1;
    if (clen > cmax) {
        vmk_seterr(err, errlen, "kernel command line is %zu bytes; this kernel takes at most %llu", clen,
                   (unsigned long long)cmax);
        return -1;
    }
    if (vmk_mem_write(mem, X86_CMDLINE_ADDR, cmd, clen + 1) < 0) {
        vmk_seterr(err, errlen, "guest RAM too small for the command line");
        return -1;
    }

    /* Initrd: as high as allowed, page aligned, above the kernel. */
    uint64_t iaddr = 0, isize = 0;
    if (cfg->initrd) {
        int ifd = open(cfg->initrd, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (ifd < 0) { vmk_seterr(err, errlen, "cannot open initrd %s: %s", cfg->initrd, strerror(errno)); return -1; }
        if (fstat(ifd, &st) < 0 || !S_ISREG(st.st_mode)) {
            vmk_seterr(err, errlen, "initrd %s is not a regular file", cfg->initrd);
            close(ifd);
            return -1;
        }
        isize = (uint64_t)st.st_size;
        uint64_t top = (uint64_t)h.initrd_addr_max + 1;
        if (top > ram_top) top = ram_top;
        if (isize > UINT32_MAX || top < kernel_end || isize > top - kernel_end) {
            vmk_seterr(err, errlen, "initrd %s (%llu MiB) does not fit in guest RAM above the kernel (%llu MiB free)",
                       cfg->initrd, (unsigned long long)(isize >> 20),
                       (unsigned long long)(top > kernel_end ? (top - kernel_end) >> 20 : 0));
            close(ifd);
            return -1;
        }
        iaddr = (top - isize) & ~0xfffull;
        int rc = isize ? read_into(mem, ifd, 0, iaddr, isize, "initrd", err, errlen) : 0;
        close(ifd);
        if (rc < 0) return -1;
        if (!isize) iaddr = 0;
    }

    /* Zero page: the setup header as found in the image, then the loader's fields. */
    uint8_t *zp = vmk_mem_ptr_w(mem, X86_ZERO_PAGE_ADDR, 0x1000);
    if (!zp) { vmk_seterr(err, errlen, "guest RAM too small for the zero page"); return -1; }
    memset(zp, 0, 0x1000);
    memcpy(zp + X86_BP_SETUP_SECTS, buf + X86_BP_SETUP_SECTS, h.hdr_end - X86_BP_SETUP_SECTS);
    zp[X86_BP_TYPE_OF_LOADER] = 0xff;
    zp[X86_BP_LOADFLAGS] = (uint8_t)(h.loadflags | X86_CAN_USE_HEAP);
    wr16(zp + X86_BP_HEAP_END_PTR, 0xfe00);
    wr32(zp + X86_BP_CMD_LINE_PTR, (uint32_t)X86_CMDLINE_ADDR);
    wr32(zp + X86_BP_EXT_CMD_LINE_PTR, 0);
    wr32(zp + X86_BP_RAMDISK_IMAGE, (uint32_t)iaddr);
    wr32(zp + X86_BP_RAMDISK_SIZE, (uint32_t)isize);
    wr32(zp + X86_BP_EXT_RAMDISK_IMAGE, 0);
    wr32(zp + X86_BP_EXT_RAMDISK_SIZE, 0);
    wr32(zp + X86_BP_CODE32_START, (uint32_t)X86_KERNEL_ADDR);
    x86_e820 e[X86_BP_E820_MAX];
    unsigned ne = x86_e820_build(ram_top, e, X86_BP_E820_MAX);
    zp[X86_BP_E820_ENTRIES] = (uint8_t)ne;
    for (unsigned i = 0; i < ne; i++) {
        uint8_t *q = zp + X86_BP_E820_TABLE + 20 * i;
        wr64(q, e[i].addr);
        wr64(q + 8, e[i].size);
        wr32(q + 16, e[i].type);
    }

    /* GDT. */
    const uint64_t gdt[X86_GDT_ENTRIES] = { 0, 0, X86_DESC_CODE64, X86_DESC_DATA, X86_DESC_TSS };
    uint8_t *g = vmk_mem_ptr_w(mem, X86_GDT_ADDR, sizeof gdt);
    if (!g) { vmk_seterr(err, errlen, "guest RAM too small for the GDT"); return -1; }
    for (unsigned i = 0; i < X86_GDT_ENTRIES; i++) wr64(g + 8 * i, gdt[i]);

    if (!x86_page_tables_build(mem, X86_PML4_ADDR)) {
        vmk_seterr(err, errlen, "guest RAM too small for the page tables");
        return -1;
    }
    if (x86_mptable_build(mem, X86_MPTABLE_ADDR, cfg->ncpus) < 0) {
        vmk_seterr(err, errlen, "cannot build the MP table for %u CPUs", cfg->ncpus);
        return -1;
    }
    out->entry = h.elf ? h.entry : X86_KERNEL_ADDR + 0x200;
    out->zero_page = X86_ZERO_PAGE_ADDR;
    out->pml4 = X86_PML4_ADDR;
    out->gdt = X86_GDT_ADDR;
    out->gdt_limit = 8 * X86_GDT_ENTRIES - 1;
    out->initrd_addr = iaddr;
    out->initrd_size = isize;
    return 0;
}
