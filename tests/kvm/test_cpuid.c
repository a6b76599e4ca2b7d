/* test_cpuid.c — unit tests of CPUID normalisation (src/kvm/cpuid.c) on a synthetic
 * KVM_GET_SUPPORTED_CPUID list: APIC ids, topology leaves, hypervisor bit, KVM signature, hidden
 * MONITOR/MWAIT, nothing invented beyond the signature leaf, output bound respected. */
#include "base/base.h"
#include "kvm/x86.h"
#include "../test.h"

static const x86_cpuid_entry *find(const x86_cpuid_entry *e, unsigned n, uint32_t fn, uint32_t idx)
{
    for (unsigned i = 0; i < n; i++) if (e[i].function == fn && e[i].index == idx) return &e[i];
    return NULL;
}

int main(void)
{
    const x86_cpuid_entry sup[] = {
        { 0x0, 0, 0, 0xd, 0x756e6547, 0x6c65746e, 0x49656e69 },          /* GenuineIntel */
        { 0x1, 0, 0, 0x806f8, 0xff0800, 0xf6fa3209 | 1u << 3, 0x0f8bfbff },
        { 0x4, 0, 1, 0x1c004121, 0x1c0003f, 0x3f, 0 },
        { 0x5, 0, 0, 0x40, 0x40, 3, 0x11142120 },
        { 0x7, 0, 1, 0, 0xf1bf07ab, 0x1b405f4e, 0xbc000410 },
        { 0xb, 0, 1, 1, 2, 0x100, 7 },
        { 0xb, 1, 1, 4, 8, 0x201, 7 },
        { 0xd, 0, 1, 0x2e7, 0xa88, 0xa88, 0 },
        { 0x40000000, 0, 0, 0x40000001, 0, 0, 0 },
        { 0x40000001, 0, 0, 0x01007afb, 0, 0, 0 },
        { 0x80000000, 0, 0, 0x80000008, 0, 0, 0 },
        { 0x80000001, 0, 0, 0, 0, 0x121 | 1u << 13, 0x2c100800 },
        { 0x80000008, 0, 0, 0x3030, 0, 0, 0 },
    };
    const unsigned nsup = sizeof sup / sizeof sup[0];
    x86_cpuid_entry out[64];

    TEST_BEGIN("kvm_cpuid_normalize");
    for (unsigned cpu = 0; cpu < 4; cpu++) {
        unsigned n = x86_cpuid_normalize(sup, nsup, cpu, 4, out, 64);
        CHECK_EQ_U64(n, nsup + 1);                          /* leaf 0xb becomes 3 sub-leaves */
        const x86_cpuid_entry *l0 = find(out, n, 0, 0), *l1 = find(out, n, 1, 0);
        CHECK(l0 && l0->ebx == 0x756e6547);                 /* vendor kept */
        CHECK(l1 != NULL);
        if (l1) {
            CHECK_EQ_U64(l1->ebx >> 24, cpu);               /* initial APIC id */
            CHECK_EQ_U64((l1->ebx >> 16) & 0xff, 4);
            CHECK_EQ_U64(l1->ebx & 0xffff, 0x0800);         /* CLFLUSH size kept */
            CHECK(l1->ecx & 1u << 31);                      /* hypervisor */
            CHECK(!(l1->ecx & 1u << 3));                    /* no MONITOR */
            CHECK(l1->edx & 1u << 28);                      /* HTT */
            CHECK_EQ_U64(l1->eax, 0x806f8);
        }
        const x86_cpuid_entry *b0 = find(out, n, 0xb, 0), *b1 = find(out, n, 0xb, 1), *b2 = find(out, n, 0xb, 2);
        CHECK(b0 && b1 && b2);
        if (b0 && b1 && b2) {
            CHECK(b0->edx == cpu && b1->edx == cpu && b2->edx == cpu);
            CHECK_EQ_U64(b0->ebx, 1); CHECK_EQ_U64((b0->ecx >> 8) & 0xff, 1);
            CHECK_EQ_U64(b1->ebx, 4); CHECK_EQ_U64(b1->eax, 2); CHECK_EQ_U64((b1->ecx >> 8) & 0xff, 2);
            CHECK_EQ_U64((b2->ecx >> 8) & 0xff, 0);
            CHECK(b0->flags & 1);
        }
        const x86_cpuid_entry *s = find(out, n, 0x40000000, 0);
        CHECK(s && s->ebx == 0x4b4d564b && s->ecx == 0x564b4d56 && s->edx == 0x4d && s->eax == 0x40000001);
        const x86_cpuid_entry *l4 = find(out, n, 4, 0);
        CHECK(l4 && (l4->eax >> 26) == 3 && (l4->eax & 0x1f) == 0x01);
        const x86_cpuid_entry *l5 = find(out, n, 5, 0);
        CHECK(l5 && !l5->eax && !l5->ebx && !l5->ecx && !l5->edx);
        const x86_cpuid_entry *e1 = find(out, n, 0x80000001, 0);
        CHECK(e1 && !(e1->ecx & 1u << 13) && (e1->ecx & 0x121) == 0x121);
        const x86_cpuid_entry *e8 = find(out, n, 0x80000008, 0);
        CHECK(e8 && (e8->ecx & 0xff) == 3 && e8->eax == 0x3030);
        CHECK(find(out, n, 0x7, 0) && find(out, n, 0x7, 0)->ebx == 0xf1bf07ab);   /* untouched */
        CHECK(find(out, n, 0x2, 0) == NULL);                                       /* nothing invented */
    }
    TEST_END();

    TEST_BEGIN("kvm_cpuid_single_and_bounds");
    unsigned n = x86_cpuid_normalize(sup, nsup, 0, 1, out, 64);
    const x86_cpuid_entry *l1 = find(out, n, 1, 0);
    CHECK(l1 && !(l1->edx & 1u << 28) && (l1->ebx >> 24) == 0);
    const x86_cpuid_entry *b1 = find(out, n, 0xb, 1);
    CHECK(b1 && b1->ebx == 1 && b1->eax == 0);
    CHECK_EQ_U64(x86_cpuid_normalize(sup, nsup, 0, 1, out, 3), 3);                /* max respected */
    CHECK_EQ_U64(x86_cpuid_normalize(sup, nsup, 0, 1, out, 0), 0);
    /* KVM did not report the signature leaf: it is added */
    n = x86_cpuid_normalize(sup, 2, 0, 1, out, 64);
    CHECK_EQ_U64(n, 3);
    const x86_cpuid_entry *s = find(out, n, 0x40000000, 0);
    CHECK(s && s->ebx == 0x4b4d564b && s->eax == 0x40000000);
    n = x86_cpuid_normalize(NULL, 0, 0, 1, out, 64);
    CHECK_EQ_U64(n, 1);
    TEST_END();
    TEST_EXIT();
}
