/* bootcheck.c — checks what the loader handed over, as Linux would rely on it: the zero page (boot flag,
 * "HdrS", loader type, command line, e820 map against bootcheck.mem=, initrd fields against
 * bootcheck.initrd=), CPUID (vendor, hypervisor bit, APIC id, hypervisor signature), paging (CR0, CR4,
 * EFER, CR3) and the GDT/segments. bootcheck.strict=vmkit also checks vmkit's exact layout (zero page
 * 0x7000, CR3 0x9000, GDT 0x500 with CS 0x10 / DS 0x18, KVM signature). One line per check,
 * "ok <what>: ..." or "FAIL <what>: ...", then "bootcheck: N failures"; exit status = failures. */
#include "lib.h"

static int fails;

static void check(int ok, const char *what, const char *fmt, ...)
{
    va_list ap;
    puts_serial(ok ? "ok " : "FAIL ");
    puts_serial(what);
    puts_serial(": ");
    va_start(ap, fmt);
    /* only %lx/%x/%u/%s used here: small formatter over the va_list */
    for (; *fmt; fmt++) {
        if (*fmt != '%') { putc_serial(*fmt); continue; }
        fmt++;
        int lng = 0;
        while (*fmt == 'l') { lng = 1; fmt++; }
        if (*fmt == 's') puts_serial(va_arg(ap, const char *));
        else if (*fmt == 'x') printf_serial("%lx", lng ? va_arg(ap, uint64_t) : (uint64_t)va_arg(ap, unsigned));
        else if (*fmt == 'u') printf_serial("%lu", lng ? va_arg(ap, uint64_t) : (uint64_t)va_arg(ap, unsigned));
    }
    va_end(ap);
    putc_serial('\n');
    if (!ok) fails++;
}

static int printable(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) if (s[i] < 0x20 || s[i] > 0x7e) return 0;
    return 1;
}

int guest_main(const uint8_t *zp)
{
    const char *v;
    int strict = (v = cmdline_arg(zp, "bootcheck.strict", 0)) && !memcmp(v, "vmkit", 5);
    uint64_t want_mem = (v = cmdline_arg(zp, "bootcheck.mem", 0)) ? parse_num(v, NULL) : 0;
    const char *want_initrd = cmdline_arg(zp, "bootcheck.initrd", 0);
    printf_serial("bootcheck: zero page at 0x%lx%s\n", (uint64_t)zp, strict ? " (strict vmkit layout)" : "");

    /* ---- zero page / setup header */
    check(rd16(zp + 0x1fe) == 0xaa55, "boot_flag", "0x%x", rd16(zp + 0x1fe));
    check(!memcmp(zp + 0x202, "HdrS", 4) && rd16(zp + 0x206) >= 0x20c, "header", "HdrS version 0x%x", rd16(zp + 0x206));
    check(strict ? zp[0x210] == 0xff : zp[0x210] != 0, "type_of_loader", "0x%x", zp[0x210]);
    if (strict) check((uint64_t)zp == 0x7000, "zero_page_addr", "0x%lx", (uint64_t)zp);
    check(zp[0x211] & 1, "loadflags", "0x%x (LOADED_HIGH)", zp[0x211]);

    /* ---- command line */
    uint32_t cp = rd32(zp + 0x228);
    const char *cl = cmdline(zp);
    size_t clen = cp ? strlen(cl) : 0;
    check(cp != 0 && clen < 2048 && printable(cl, clen) && cmdline_arg(zp, "bootcheck.mem", 0), "cmdline",
          "at 0x%x, %u bytes: %s", cp, (unsigned)clen, cp ? cl : "");

    /* ---- e820 */
    unsigned n = zp[0x1e8];
    int sane = n >= 1 && n <= 128;
    uint64_t prev_end = 0, ram = 0, ram_top = 0, low_ok = 0;
    for (unsigned i = 0; sane && i < n; i++) {
        const uint8_t *e = zp + 0x2d0 + 20 * i;
        uint64_t a = rd64(e), s = rd64(e + 8);
        uint32_t t = rd32(e + 16);
        printf_serial("  e820[%u] 0x%010lx-0x%010lx type %u\n", i, a, a + s, t);
        if (!s || a < prev_end || t < 1 || t > 5 || a + s < a) sane = 0;
        prev_end = a + s;
        if (t == 1) {
            ram += s;
            if (a + s <= 0x100000000ull && a + s > ram_top) ram_top = a + s;
            if (a <= 0x100000 && a + s > 0x200000) low_ok = 1;       /* the kernel's load area is RAM */
        }
    }
    check(sane && low_ok, "e820", "%u entries, sorted, non-overlapping, %lu KiB RAM", n, ram >> 10);
    if (want_mem) {
        int ok = strict ? ram_top == want_mem && ram == want_mem - (0x100000 - 0x9fc00)
                        : ram_top <= want_mem && ram_top + (1u << 20) >= want_mem;
        check(ok, "e820_mem", "RAM top 0x%lx for bootcheck.mem=0x%lx", ram_top, want_mem);
    }
    if (sane && ram_top > 0x200000) {           /* the RAM the map announces is really there */
        volatile uint64_t *p = (volatile uint64_t *)(ram_top - 64);
        uint64_t old = *p;
        *p = 0x766d6b6974383621ull;
        int ok = *p == 0x766d6b6974383621ull;
        *p = old;
        check(ok, "ram_top_rw", "0x%lx", ram_top - 64);
    }

    /* ---- initrd */
    uint32_t ri = rd32(zp + 0x218), rs = rd32(zp + 0x21c);
    if (want_initrd) {
        uint64_t sz = parse_num(want_initrd, NULL);
        int ok = rs == sz && ri && !(ri & 0xfff) && (uint64_t)ri + rs <= ram_top && ri >= 0x100000;
        if (ok) ok = !memcmp((const void *)(uint64_t)ri, "VMKIT-INITRD", 12);
        check(ok, "initrd", "0x%x, %u bytes (want %lu, starting \"VMKIT-INITRD\")", ri, rs, sz);
    } else {
        check(rs == 0, "no_initrd", "ramdisk_size %u", rs);
    }

    /* ---- CPUID */
    uint32_t r[4];
    char vendor[13];
    cpuid(0, 0, r);
    memcpy(vendor, &r[1], 4); memcpy(vendor + 4, &r[3], 4); memcpy(vendor + 8, &r[2], 4); vendor[12] = 0;
    check(printable(vendor, 12) && r[0] >= 1, "cpuid_vendor", "%s, max leaf 0x%x", vendor, r[0]);
    cpuid(1, 0, r);
    check(r[2] >> 31, "cpuid_hypervisor_bit", "leaf 1 ecx 0x%x", r[2]);
    check((r[1] >> 24) == 0, "cpuid_apic_id", "%u (boot CPU)", r[1] >> 24);
    cpuid(0x40000000, 0, r);
    char sig[13];
    memcpy(sig, &r[1], 4); memcpy(sig + 4, &r[2], 4); memcpy(sig + 8, &r[3], 4); sig[12] = 0;
    for (int i = 0; i < 12; i++) if (sig[i] && (sig[i] < 0x20 || sig[i] > 0x7e)) sig[i] = '?';
    if (strict) check(!memcmp(sig, "KVMKVMKVM\0\0\0", 12) && r[0] >= 0x40000000, "cpuid_kvm_signature", "\"%s\" max 0x%x", sig, r[0]);
    else printf_serial("info cpuid_hypervisor_signature: \"%s\"\n", sig);

    /* ---- paging and mode */
    uint64_t cr0 = READ_CR(0), cr3 = READ_CR(3), cr4 = READ_CR(4), efer = rdmsr(0xc0000080);
    check((cr0 & 0x80000001) == 0x80000001, "cr0", "0x%lx (PG, PE)", cr0);
    check(cr4 & 0x20, "cr4", "0x%lx (PAE)", cr4);
    check((efer & 0x500) == 0x500, "efer", "0x%lx (LME, LMA)", efer);
    if (strict) check(cr3 == 0x9000, "cr3", "0x%lx", cr3);

    /* ---- GDT and segments */
    struct __attribute__((packed)) { uint16_t limit; uint64_t base; } gdtr;
    __asm__ volatile("sgdt %0" : "=m"(gdtr));
    uint16_t cs, ds, ss;
    __asm__ volatile("mov %%cs, %0; mov %%ds, %1; mov %%ss, %2" : "=r"(cs), "=r"(ds), "=r"(ss));
    uint64_t desc = (cs & ~7u) + 7u <= gdtr.limit ? rd64((const void *)(gdtr.base + (cs & ~7u))) : 0;
    check(((desc >> 53) & 1) && ((desc >> 47) & 1), "gdt_cs", "cs 0x%x, descriptor 0x%lx (L, P)", cs, desc);
    if (strict) {
        check(gdtr.base == 0x500 && cs == 0x10 && ds == 0x18 && ss == 0x18, "gdt_layout",
              "base 0x%lx limit 0x%x cs 0x%x ds 0x%x ss 0x%x", gdtr.base, gdtr.limit, cs, ds, ss);
    }
    printf_serial("bootcheck: %d failures\n", fails);
    return fails;
}
