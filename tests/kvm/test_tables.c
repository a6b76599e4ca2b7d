/* test_tables.c — unit tests of the MP table builder (src/kvm/tables.c): signatures, checksums, the
 * processor entries (APIC ids, BSP flag), ISA bus, IOAPIC id, interrupt entries, refusals. */
#include "base/base.h"
#include "mem/mem.h"
#include "kvm/x86.h"
#include "../test.h"

static uint64_t ld(const uint8_t *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < n; i++) v |= (uint64_t)p[i] << (8 * i);
    return v;
}
static uint8_t sum(const uint8_t *p, size_t n) { uint8_t s = 0; while (n--) s = (uint8_t)(s + *p++); return s; }

/* Parses the table like Linux's mpparse does and checks it; returns the processor count or -1. */
static int check_table(const vmk_mem *m, uint64_t addr, unsigned ncpus)
{
    const uint8_t *mpf = vmk_mem_ptr(m, addr, 16);
    if (!mpf) return -1;
    CHECK(memcmp(mpf, "_MP_", 4) == 0);
    CHECK_EQ_U64(mpf[8], 1);
    CHECK_EQ_U64(mpf[9], 4);
    CHECK_EQ_U64(sum(mpf, 16), 0);
    CHECK_EQ_U64(mpf[11], 0);
    uint64_t pa = ld(mpf + 4, 4);
    const uint8_t *mpc = vmk_mem_ptr(m, pa, 44);
    if (!mpc) return -1;
    CHECK(memcmp(mpc, "PCMP", 4) == 0);
    unsigned len = (unsigned)ld(mpc + 4, 2), count = (unsigned)ld(mpc + 34, 2);
    mpc = vmk_mem_ptr(m, pa, len);
    if (!mpc) return -1;
    CHECK_EQ_U64(sum(mpc, len), 0);
    CHECK_EQ_U64(mpc[6], 4);
    CHECK_EQ_U64(ld(mpc + 36, 4), X86_LAPIC_ADDR);
    CHECK(pa + len <= 0xa0000);                          /* stays inside the EBDA's last KiB */
    int cpus = 0, buses = 0, ioapics = 0, ioints = 0, lints = 0;
    unsigned ioapic_id = 999;
    size_t off = 44;
    bool pins[X86_IOAPIC_PINS] = { 0 };
    for (unsigned i = 0; i < count; i++) {
        CHECK(off < len);
        if (off >= len) return -1;
        const uint8_t *q = mpc + off;
        switch (q[0]) {
        case 0:
            CHECK_EQ_U64(q[1], (unsigned)cpus);                  /* APIC id = index */
            CHECK_EQ_U64(q[3] & 1, 1);                           /* enabled */
            CHECK_EQ_U64((q[3] >> 1) & 1, cpus == 0);            /* BSP is cpu 0 only */
            cpus++; off += 20; break;
        case 1: CHECK(memcmp(q + 2, "ISA   ", 6) == 0); buses++; off += 8; break;
        case 2:
            ioapic_id = q[1]; CHECK_EQ_U64(q[3] & 1, 1); CHECK_EQ_U64(ld(q + 4, 4), X86_IOAPIC_ADDR);
            ioapics++; off += 8; break;
        case 3:
            CHECK_EQ_U64(q[6], ioapic_id);
            CHECK(q[7] < X86_IOAPIC_PINS);
            if (q[7] < X86_IOAPIC_PINS) { CHECK(!pins[q[7]]); pins[q[7]] = true; }
            CHECK_EQ_U64(q[5], q[7]);                           /* ISA irq n -> pin n */
            ioints++; off += 8; break;
        case 4: CHECK_EQ_U64(q[6], 0xff); CHECK(q[7] <= 1); lints++; off += 8; break;
        default: CHECK(!"unknown MP entry type"); return -1;
        }
    }
    CHECK_EQ_U64(off, len);
    CHECK_EQ_U64(buses, 1);
    CHECK_EQ_U64(ioapics, 1);
    CHECK_EQ_U64(ioapic_id, ncpus);
    CHECK_EQ_U64(ioints, X86_IOAPIC_PINS);
    CHECK_EQ_U64(lints, 2);
    return cpus;
}

int main(void)
{
    char err[VMK_ERRLEN];
    vmk_mem m;
    TEST_BEGIN("kvm_mptable");
    CHECK(vmk_mem_init(&m, 0, 1ull << 20, err, sizeof err) == 0);
    const unsigned counts[] = { 1, 2, 4, 7, X86_MAX_CPUS };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        memset(m.host, 0xcc, m.size);
        CHECK(x86_mptable_build(&m, X86_MPTABLE_ADDR, counts[i]) == 0);
        CHECK_EQ_U64(check_table(&m, X86_MPTABLE_ADDR, counts[i]), counts[i]);
    }
    TEST_END();

    TEST_BEGIN("kvm_mptable_refusals");
    CHECK(x86_mptable_build(&m, X86_MPTABLE_ADDR, 0) < 0);
    CHECK(x86_mptable_build(&m, X86_MPTABLE_ADDR, X86_MAX_CPUS + 1) < 0);
    CHECK(x86_mptable_build(&m, (1ull << 20) - 64, 1) < 0);          /* runs past RAM */
    CHECK(x86_mptable_build(&m, UINT64_MAX - 8, 1) < 0);
    vmk_mem_free(&m);
    TEST_END();
    TEST_EXIT();
}
