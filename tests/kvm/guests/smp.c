/* smp.c — CPUs as an OS finds them: parses the Intel MP table (floating pointer in the EBDA, the last KiB
 * of base memory or the BIOS area; checksums; processor, bus, IOAPIC and interrupt entries), then starts
 * the application processors with INIT + SIPI through the local APIC (a real-mode trampoline at 0x8000
 * that enters long mode on the boot CPU's page tables and marks its APIC id). Prints "smp: mptable N cpus",
 * "smp: started N of M application processors" and per-check ok/FAIL lines; exit status = failures.
 * smp.cpus=N on the command line is the expected count. */
#include "lib.h"

#define TRAMP 0x8000ull
#define LAPIC 0xfee00000ull

extern const uint8_t tramp_start[], tramp_end[], tramp_cr3[], tramp_count[], tramp_mask[];
static int fails;
#define OK(what, ...) printf_serial("ok " what "\n", ##__VA_ARGS__)
#define BAD(what, ...) do { printf_serial("FAIL " what "\n", ##__VA_ARGS__); fails++; } while (0)

static uint8_t sum(const uint8_t *p, size_t n) { uint8_t s = 0; while (n--) s = (uint8_t)(s + *p++); return s; }

static const uint8_t *find_mpf(uint64_t a, uint64_t len)
{
    for (uint64_t p = a & ~15ull; p + 16 <= a + len; p += 16) {
        const uint8_t *q = phys(p);
        if (!memcmp(q, "_MP_", 4) && q[8] == 1 && sum(q, 16) == 0) return q;
    }
    return NULL;
}

static inline uint32_t lapic_r(unsigned reg) { return mmio_r32(LAPIC + reg); }
static inline void lapic_w(unsigned reg, uint32_t v) { mmio_w32(LAPIC + reg, v); }
static void spin(unsigned n) { for (volatile unsigned i = 0; i < n; i++) __asm__ volatile("pause"); }

int guest_main(const uint8_t *zp)
{
    const char *v = cmdline_arg(zp, "smp.cpus", 0);
    unsigned want = v ? (unsigned)parse_num(v, NULL) : 0;
    uint16_t ebda = *(volatile uint16_t *)phys(0x40e);
    const uint8_t *mpf = NULL;
    if (ebda) mpf = find_mpf((uint64_t)ebda << 4, 1024);
    if (!mpf) mpf = find_mpf(0x9fc00, 1024);
    if (!mpf) mpf = find_mpf(0xf0000, 0x10000);
    if (!mpf) { BAD("mptable: no MP floating pointer found"); printf_serial("smp: %d failures\n", fails); return fails; }
    const uint8_t *mpc = phys(rd32(mpf + 4));
    unsigned len = rd16(mpc + 4), count = rd16(mpc + 34);
    if (memcmp(mpc, "PCMP", 4) || len < 44 || len > 65535 || sum(mpc, len) != 0) {
        BAD("mptable: bad configuration table at 0x%lx", (uint64_t)mpc);
        printf_serial("smp: %d failures\n", fails);
        return fails;
    }
    OK("mptable: at 0x%lx, config table 0x%lx, %u bytes, %u entries, checksums good", (uint64_t)mpf, (uint64_t)mpc, len, count);
    unsigned cpus = 0, bsp = 0, ioapics = 0, ints = 0, off = 44, bsp_id = 0;
    uint32_t ids = 0;
    /* Walk by length as Linux does (some firmware leaves the entry count 0). */
    while (off + 8 <= len) {
        const uint8_t *e = mpc + off;
        if (e[0] > 4 || (e[0] == 0 && off + 20 > len)) break;
        if (e[0] == 0) {
            if (e[3] & 1) { cpus++; if (e[1] < 32) ids |= 1u << e[1]; }
            if (e[3] & 2) { bsp++; bsp_id = e[1]; }
            off += 20;
        } else {
            if (e[0] == 2) ioapics++;
            if (e[0] == 3) ints++;
            off += 8;
        }
    }
    printf_serial("smp: mptable %u cpus\n", cpus);
    if (bsp == 1 && ioapics >= 1 && ints >= 1) OK("mptable: 1 boot CPU (apic id %u), %u IOAPIC, %u I/O interrupts", bsp_id, ioapics, ints);
    else BAD("mptable: %u boot CPUs, %u IOAPICs, %u I/O interrupts", bsp, ioapics, ints);
    if (want) {
        if (cpus == want) OK("mptable cpus: %u as asked", cpus);
        else BAD("mptable cpus: %u, asked for %u", cpus, want);
    }
    uint32_t my_id = lapic_r(0x20) >> 24;
    if (my_id == bsp_id) OK("lapic: boot CPU apic id %u", my_id);
    else BAD("lapic: boot CPU apic id %u, MP table says %u", my_id, bsp_id);

    /* Start the APs: trampoline at 0x8000 (vector 8), INIT then two SIPIs to all but self. */
    unsigned aps = cpus > 0 ? cpus - 1 : 0;
    if (aps) {
        size_t tl = (size_t)(tramp_end - tramp_start);
        memcpy(phys(TRAMP), tramp_start, tl);
        *(volatile uint32_t *)phys(TRAMP + (uint64_t)(tramp_cr3 - tramp_start)) = (uint32_t)READ_CR(3);
        volatile uint32_t *cnt = (volatile uint32_t *)phys(TRAMP + (uint64_t)(tramp_count - tramp_start));
        volatile uint32_t *mask = (volatile uint32_t *)phys(TRAMP + (uint64_t)(tramp_mask - tramp_start));
        *cnt = 0; *mask = 0;
        barrier();
        lapic_w(0xf0, 0x1ff);                               /* software enable, spurious vector 0xff */
        lapic_w(0x310, 0);
        lapic_w(0x300, 0xc4500);                            /* INIT, all excluding self */
        spin(1000);
        for (int k = 0; k < 2 && *cnt < aps; k++) {
            lapic_w(0x310, 0);
            lapic_w(0x300, 0xc4600 | (uint32_t)(TRAMP >> 12)); /* SIPI, vector 8 */
            for (unsigned s = 0; s < 3000000 && *cnt < aps; s++) __asm__ volatile("pause");
        }
        uint32_t got = *cnt, m = *mask;
        printf_serial("smp: started %u of %u application processors (apic id mask 0x%x)\n", got, aps, m);
        if (got == aps && (m | (1u << my_id)) == ids) OK("ap startup: every MP-table CPU came up");
        else BAD("ap startup: %u of %u up, apic ids 0x%x, MP table 0x%x", got, aps, m | (1u << my_id), ids);
    }
    printf_serial("smp: %d failures\n", fails);
    return fails;
}

/* The AP trampoline, copied to 0x8000 and entered in real mode at 0800:0000 after SIPI vector 8. */
__asm__(
    ".section .rodata\n"
    ".globl tramp_start, tramp_end, tramp_cr3, tramp_count, tramp_mask\n"
    ".balign 16\n"
    "tramp_start:\n"
    ".code16\n"
    "  cli\n"
    "  xor %ax, %ax\n"
    "  mov %ax, %ds\n"
    "  lgdtl 0x8000 + (tramp_gdtr - tramp_start)\n"
    "  mov %cr0, %eax\n"
    "  or $1, %eax\n"
    "  mov %eax, %cr0\n"
    "  ljmpl $0x08, $(0x8000 + tramp_pm32 - tramp_start)\n"
    ".code32\n"
    "tramp_pm32:\n"
    "  mov $0x18, %ax\n"
    "  mov %ax, %ds\n"
    "  mov %ax, %ss\n"
    "  mov %cr4, %eax\n"
    "  or $0x20, %eax\n"
    "  mov %eax, %cr4\n"
    "  mov 0x8000 + (tramp_cr3 - tramp_start), %eax\n"
    "  mov %eax, %cr3\n"
    "  mov $0xc0000080, %ecx\n"
    "  rdmsr\n"
    "  or $0x100, %eax\n"
    "  wrmsr\n"
    "  mov %cr0, %eax\n"
    "  or $0x80000000, %eax\n"
    "  mov %eax, %cr0\n"
    "  ljmpl $0x10, $(0x8000 + tramp_lm64 - tramp_start)\n"
    ".code64\n"
    "tramp_lm64:\n"
    "  mov $0xfee00020, %eax\n"
    "  mov (%rax), %ecx\n"
    "  shr $24, %ecx\n"
    "  and $31, %ecx\n"
    "  mov $(0x8000 + tramp_mask - tramp_start), %eax\n"
    "  lock bts %ecx, (%rax)\n"
    "  mov $(0x8000 + tramp_count - tramp_start), %eax\n"
    "  lock incl (%rax)\n"
    "1: cli\n"
    "  hlt\n"
    "  jmp 1b\n"
    ".balign 8\n"
    "tramp_gdt:\n"
    "  .quad 0, 0x00cf9a000000ffff, 0x00af9a000000ffff, 0x00cf92000000ffff\n"
    "tramp_gdtr:\n"
    "  .word 31\n"
    "  .long 0x8000 + (tramp_gdt - tramp_start)\n"
    ".balign 4\n"
    "tramp_cr3: .long 0\n"
    "tramp_count: .long 0\n"
    "tramp_mask: .long 0\n"
    "tramp_end:\n"
    ".text\n");
