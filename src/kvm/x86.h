/* x86.h — internal interface of the KVM engine: pure builders for the x86-64 Linux boot protocol and
 * platform tables (boot.c, tables.c, cpuid.c — unit-tested without /dev/kvm), used by the engine
 * (kvm.c, vcpu.c, ...). Every builder writes into guest memory through vmk_mem and checks bounds. */
#ifndef VMK_KVM_X86_H
#define VMK_KVM_X86_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/base.h"
#include "../mem/mem.h"

/* Guest-physical layout (below 1 MiB + kernel at 1 MiB), like Firecracker's. */
#define X86_GDT_ADDR        0x500ull
#define X86_ZERO_PAGE_ADDR  0x7000ull     /* struct boot_params */
#define X86_PML4_ADDR       0x9000ull     /* PML4, then PDPT at +0x1000, PDs after */
#define X86_MPTABLE_ADDR    0x9fc00ull
#define X86_CMDLINE_ADDR    0x20000ull
#define X86_CMDLINE_MAX     0x10000ull
#define X86_KERNEL_ADDR     0x100000ull   /* protected-mode kernel (HIGH_MEMORY) */
#define X86_EBDA_START      0x9fc00ull
#define X86_MMIO_GAP_START  0xd0000000ull /* RAM above this is relocated above 4 GiB */
#define X86_MMIO_GAP_END    0x100000000ull
#define X86_VIRTIO_BASE     0xd0000000ull /* virtio-mmio windows, 4 KiB each */
#define X86_VIRTIO_IRQ0     5u            /* GSIs 5.. for virtio devices */
#define X86_MAX_CPUS        32u

typedef struct x86_boot_cfg {
    const char *kernel;        /* bzImage (or ELF vmlinux with PVH note, optional) */
    const char *initrd;        /* may be NULL */
    const char *cmdline;       /* full command line (virtio_mmio.device= entries already appended) */
    unsigned ncpus;
} x86_boot_cfg;

typedef struct x86_boot_info {
    uint64_t entry;            /* 64-bit entry point (startup_64 = load addr + 0x200) */
    uint64_t zero_page;        /* rsi at entry */
    uint64_t pml4;             /* cr3 */
    uint64_t gdt, gdt_limit;
    uint64_t initrd_addr, initrd_size;
} x86_boot_info;

/* Checks that a file is a bzImage with a 64-bit entry (setup header magic "HdrS", version >= 2.12,
 * XLF_KERNEL_64) without loading it. 0 or -1 with a clear err ("not a bzImage: ..."). */
int  x86_check_kernel(const char *path, char *err, size_t errlen);
/* Loads the kernel, initrd (as high as allowed below initrd_addr_max and the gap), the command line,
 * the zero page (setup header copied from the image, e820 map, loader type, cmdline/initrd fields),
 * the GDT and identity page tables for the first 4 GiB (2 MiB pages), and the MP table for ncpus.
 * mem->base must be 0 and the RAM is [0, size) minus the MMIO gap (see x86_e820). */
int  x86_boot_load(vmk_mem *mem, const x86_boot_cfg *cfg, x86_boot_info *out, char *err, size_t errlen);

typedef struct x86_e820 { uint64_t addr, size; uint32_t type; } x86_e820;
/* RAM map for mem_size bytes: [0, 0x9fc00) RAM, [0x9fc00, 0x100000) reserved, [1 MiB, ...) RAM up to
 * the MMIO gap. Returns the entry count (<= max). */
unsigned x86_e820_build(uint64_t mem_size, x86_e820 *out, unsigned max);
/* Identity page tables at pml4 covering [0, 4 GiB). Returns the bytes used. */
uint64_t x86_page_tables_build(vmk_mem *mem, uint64_t pml4);
/* Intel MP table (floating pointer + config table: ncpus processors, an IOAPIC, ISA bus, IRQ entries
 * for 0..23) at addr. 0 or -1. */
int  x86_mptable_build(vmk_mem *mem, uint64_t addr, unsigned ncpus);

/* CPUID normalisation: from the entries KVM_GET_SUPPORTED_CPUID reported, produce the entries for
 * vcpu index i of n: APIC IDs (leaf 1 EBX[31:24], leaf 0xb/0x1f x2APIC ids and topology), hypervisor
 * bit and KVM signature leaves (0x40000000), clear what a VM must not advertise (e.g. monitor/mwait,
 * perf leaf when not supported), keep only what KVM reported. Returns the entry count. */
typedef struct x86_cpuid_entry {
    uint32_t function, index, flags, eax, ebx, ecx, edx;
} x86_cpuid_entry;
unsigned x86_cpuid_normalize(const x86_cpuid_entry *supported, unsigned nsupported, unsigned vcpu,
                             unsigned ncpus, x86_cpuid_entry *out, unsigned max);

#endif
