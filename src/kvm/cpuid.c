/* cpuid.c — CPUID normalisation for the KVM engine: turns what KVM_GET_SUPPORTED_CPUID reported into
 * one vCPU's table (APIC ids and topology for `--cpus N`, the hypervisor bit and KVM signature, no
 * MONITOR/MWAIT). Only leaves KVM reported are kept, except the 0x40000000 signature leaf. */
#include "x86.h"
#include <string.h>

#define FLAG_SIGNIFICANT_INDEX 1u   /* KVM_CPUID_FLAG_SIGNIFCANT_INDEX */

static unsigned bits_for(unsigned n)   /* ceil(log2(n)) */
{
    unsigned b = 0;
    while ((1u << b) < n) b++;
    return b;
}

static bool push(x86_cpuid_entry *out, unsigned max, unsigned *n, x86_cpuid_entry e)
{
    if (*n >= max) return false;
    out[(*n)++] = e;
    return true;
}

/* Extended topology leaf (0xb or 0x1f): level 0 = SMT (1 thread per core), level 1 = core (ncpus). */
static bool topo_leaf(uint32_t fn, unsigned apic, unsigned ncpus, x86_cpuid_entry *out, unsigned max, unsigned *n)
{
    for (uint32_t i = 0; i < 3; i++) {
        x86_cpuid_entry e = { .function = fn, .index = i, .flags = FLAG_SIGNIFICANT_INDEX, .edx = apic };
        if (i == 0) { e.eax = 0; e.ebx = 1; e.ecx = (1u << 8) | i; }
        else if (i == 1) { e.eax = bits_for(ncpus); e.ebx = ncpus; e.ecx = (2u << 8) | i; }
        else e.ecx = i;                                      /* invalid level: ends the enumeration */
        if (!push(out, max, n, e)) return false;
    }
    return true;
}

unsigned x86_cpuid_normalize(const x86_cpuid_entry *sup, unsigned nsup, unsigned vcpu, unsigned ncpus,
                             x86_cpuid_entry *out, unsigned max)
{
    unsigned n = 0;
    bool sig = false, topo_b = false, topo_1f = false;
    if (ncpus == 0) ncpus = 1;
    if (ncpus > 255) ncpus = 255;
    uint32_t apic = vcpu;
    for (unsigned k = 0; k < nsup; k++) {
        x86_cpuid_entry e = sup[k];
        switch (e.function) {
        case 0x1:
            e.ebx = (e.ebx & 0x0000ffffu) | (apic << 24) | (ncpus << 16);   /* APIC id, logical count */
            e.ecx |= 1u << 31;                                             /* hypervisor present */
            e.ecx &= ~(1u << 3);                                           /* no MONITOR/MWAIT */
            if (ncpus > 1) e.edx |= 1u << 28;                              /* HTT: the count is valid */
            else e.edx &= ~(1u << 28);
            break;
        case 0x4:                                                          /* cores per package */
            e.eax = (e.eax & 0x03ffffffu) | ((ncpus - 1) << 26 & 0xfc000000u);
            e.eax &= ~(0xfffu << 14);                                      /* cache not shared by threads */
            break;
        case 0x5:                                                          /* MONITOR/MWAIT leaf: hidden */
            e.eax = e.ebx = e.ecx = e.edx = 0;
            break;
        case 0x6:                                                          /* no power management to expose */
            e.eax &= ~(1u << 7 | 1u << 8 | 1u << 9);                      /* HWP bits */
            break;
        case 0xb:
            if (topo_b) continue;
            topo_b = true;
            if (!topo_leaf(0xb, apic, ncpus, out, max, &n)) return n;
            continue;
        case 0x1f:
            if (topo_1f) continue;
            topo_1f = true;
            if (!topo_leaf(0x1f, apic, ncpus, out, max, &n)) return n;
            continue;
        case 0x40000000:
            sig = true;
            if (e.eax < 0x40000000u) e.eax = 0x40000000u;
            e.ebx = 0x4b4d564b; e.ecx = 0x564b4d56; e.edx = 0x4d;          /* "KVMKVMKVM\0\0\0" */
            break;
        case 0x80000001:
            e.ecx &= ~(1u << 13);                                          /* no MONITORX */
            break;
        case 0x80000008:                                                   /* AMD: cores per package - 1 */
            e.ecx = (e.ecx & ~0xf0ffu) | ((ncpus - 1) & 0xff) | (bits_for(ncpus) << 12);
            break;
        case 0x8000001e:                                                   /* AMD: extended APIC id */
            e.eax = apic;
            e.ebx = (e.ebx & ~0xffu) | (apic & 0xff);                     /* core id, 1 thread per core */
            e.ebx &= ~(0xffu << 8);
            e.ecx &= ~0x7ffu;                                              /* node 0, 1 node per package */
            break;
        default:
            break;
        }
        if (!push(out, max, &n, e)) return n;
    }
    if (!sig) push(out, max, &n, (x86_cpuid_entry){ .function = 0x40000000, .eax = 0x40000000,
                                                     .ebx = 0x4b4d564b, .ecx = 0x564b4d56, .edx = 0x4d });
    return n;
}
