/* tables.c — the Intel MultiProcessor Specification 1.4 table the KVM engine gives x86-64 guests so
 * that `--cpus N` shows N CPUs: floating pointer, configuration table header, one processor entry per
 * vCPU (APIC id = index, BSP = 0), the ISA bus, the IOAPIC (id = ncpus), one I/O interrupt entry per
 * IOAPIC pin and the two local interrupt entries (ExtINT on LINT0, NMI on LINT1). */
#include "x86.h"
#include <string.h>

enum { MP_PROC = 0, MP_BUS = 1, MP_IOAPIC = 2, MP_IOINT = 3, MP_LINT = 4 };
enum { MP_INT = 0, MP_NMI = 1, MP_EXTINT = 3 };
#define MPF_LEN 16u
#define MPC_HDR_LEN 44u

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i)); }

static uint8_t checksum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--) s = (uint8_t)(s + *p++);
    return (uint8_t)-s;
}

/* Size of the whole table (floating pointer + configuration table) for ncpus. */
static size_t mptable_size(unsigned ncpus)
{
    return MPF_LEN + MPC_HDR_LEN + 20u * ncpus + 8 /* bus */ + 8 /* ioapic */ + 8u * X86_IOAPIC_PINS + 2 * 8;
}

static uint8_t *intsrc(uint8_t *q, uint8_t type, uint8_t irqtype, uint8_t bus_irq, uint8_t dst_apic, uint8_t dst_irq)
{
    q[0] = type; q[1] = irqtype; put16(q + 2, 0);      /* polarity/trigger: conforms to the bus */
    q[4] = 0; q[5] = bus_irq; q[6] = dst_apic; q[7] = dst_irq;
    return q + 8;
}

int x86_mptable_build(vmk_mem *mem, uint64_t addr, unsigned ncpus)
{
    if (ncpus == 0 || ncpus > X86_MAX_CPUS || addr > UINT32_MAX - 0x1000) return -1;
    size_t len = mptable_size(ncpus);
    uint8_t *base = vmk_mem_ptr_w(mem, addr, len);
    if (!base) return -1;
    memset(base, 0, len);
    uint8_t *mpf = base, *mpc = base + MPF_LEN;

    memcpy(mpf, "_MP_", 4);
    put32(mpf + 4, (uint32_t)(addr + MPF_LEN));       /* physical address of the configuration table */
    mpf[8] = 1;                                       /* length in 16-byte units */
    mpf[9] = 4;                                       /* spec revision 1.4 */
    /* mpf[11] feature1 = 0: a configuration table is present (no default configuration) */

    memcpy(mpc, "PCMP", 4);
    mpc[6] = 4;                                       /* spec revision */
    memcpy(mpc + 8, "VMKIT   ", 8);                   /* OEM id */
    memcpy(mpc + 16, "KVM-X86-64  ", 12);             /* product id */
    put32(mpc + 36, (uint32_t)X86_LAPIC_ADDR);
    uint8_t *q = mpc + MPC_HDR_LEN;
    uint16_t count = 0;
    for (unsigned i = 0; i < ncpus; i++, count++) {
        q[0] = MP_PROC;
        q[1] = (uint8_t)i;                            /* local APIC id */
        q[2] = 0x14;                                  /* local APIC version */
        q[3] = (uint8_t)(1 | (i == 0 ? 2 : 0));       /* enabled, BSP */
        put32(q + 4, 0x600);                          /* CPU signature: family 6 */
        put32(q + 8, 0x201);                          /* feature flags: FPU, APIC */
        q += 20;
    }
    q[0] = MP_BUS; q[1] = 0; memcpy(q + 2, "ISA   ", 6); q += 8; count++;
    uint8_t ioapic_id = (uint8_t)ncpus;
    q[0] = MP_IOAPIC; q[1] = ioapic_id; q[2] = 0x11; q[3] = 1; put32(q + 4, (uint32_t)X86_IOAPIC_ADDR);
    q += 8; count++;
    for (unsigned pin = 0; pin < X86_IOAPIC_PINS; pin++, count++)
        q = intsrc(q, MP_IOINT, MP_INT, (uint8_t)pin, ioapic_id, (uint8_t)pin);
    q = intsrc(q, MP_LINT, MP_EXTINT, 0, 0xff, 0); count++;
    q = intsrc(q, MP_LINT, MP_NMI, 0, 0xff, 1); count++;

    size_t mpc_len = (size_t)(q - mpc);
    put16(mpc + 4, (uint16_t)mpc_len);
    put16(mpc + 34, count);
    mpc[7] = checksum(mpc, mpc_len);
    mpf[10] = checksum(mpf, MPF_LEN);
    return 0;
}
