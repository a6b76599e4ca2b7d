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
#define X86_RAM_MAX         0xc0000000ull /* x86 RAM is limited to 3 GiB (below the MMIO gap) */
#define X86_LAPIC_ADDR      0xfee00000ull
#define X86_IOAPIC_ADDR     0xfec00000ull
#define X86_IOAPIC_PINS     24u

/* GDT written by x86_boot_load at X86_GDT_ADDR (the Linux 64-bit boot protocol wants __BOOT_CS = 0x10
 * and __BOOT_DS = 0x18): 0 null, 1 null, 2 code64, 3 data, 4 TSS (busy 64-bit TSS, base 0). The engine
 * loads CS/DS/ES/FS/GS/SS/TR from these with x86_seg_from_desc so GDT and registers agree. */
#define X86_SEL_CS          0x10u
#define X86_SEL_DS          0x18u
#define X86_SEL_TSS         0x20u
#define X86_GDT_ENTRIES     5u
#define X86_DESC_CODE64     0x00af9b000000ffffull   /* L=1, G=1, P, DPL0, exec/read, accessed */
#define X86_DESC_DATA       0x00cf93000000ffffull   /* D/B=1, G=1, P, DPL0, read/write, accessed */
#define X86_DESC_TSS        0x00008b0000000067ull   /* P, DPL0, 64-bit busy TSS, limit 0x67 */

/* A segment register's hidden part, decoded from a descriptor (mirrors struct kvm_segment). */
typedef struct x86_seg {
    uint64_t base;
    uint32_t limit;            /* expanded by G (byte granular) */
    uint16_t selector;
    uint8_t  type, present, dpl, db, s, l, g, avl;
} x86_seg;
x86_seg x86_seg_from_desc(uint64_t desc, uint16_t selector);

/* struct boot_params (the "zero page") offsets used by the loader and checked by the tests. */
#define X86_BP_EXT_RAMDISK_IMAGE 0x0c0
#define X86_BP_EXT_RAMDISK_SIZE  0x0c4
#define X86_BP_EXT_CMD_LINE_PTR  0x0c8
#define X86_BP_E820_ENTRIES      0x1e8
#define X86_BP_SETUP_SECTS       0x1f1
#define X86_BP_BOOT_FLAG         0x1fe
#define X86_BP_HEADER            0x202      /* "HdrS" */
#define X86_BP_VERSION           0x206
#define X86_BP_TYPE_OF_LOADER    0x210
#define X86_BP_LOADFLAGS         0x211
#define X86_BP_CODE32_START      0x214
#define X86_BP_RAMDISK_IMAGE     0x218
#define X86_BP_RAMDISK_SIZE      0x21c
#define X86_BP_HEAP_END_PTR      0x224
#define X86_BP_CMD_LINE_PTR      0x228
#define X86_BP_INITRD_ADDR_MAX   0x22c
#define X86_BP_KERNEL_ALIGNMENT  0x230
#define X86_BP_RELOCATABLE       0x234
#define X86_BP_XLOADFLAGS        0x236
#define X86_BP_CMDLINE_SIZE      0x238
#define X86_BP_PREF_ADDRESS      0x258
#define X86_BP_INIT_SIZE         0x260
#define X86_BP_SETUP_HDR_END     0x268
#define X86_BP_E820_TABLE        0x2d0      /* 20-byte entries */
#define X86_BP_E820_MAX          128u
#define X86_LOADED_HIGH          0x01
#define X86_CAN_USE_HEAP         0x80
#define X86_XLF_KERNEL_64        0x01
#define X86_E820_RAM             1u
#define X86_E820_RESERVED        2u

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
 * XLF_KERNEL_64), or an x86-64 ELF vmlinux (PT_LOAD segments in [1 MiB, 3 GiB), entry inside one),
 * without loading it. 0 or -1 with a clear err ("...: not a bzImage: ..." / "not an x86-64 vmlinux: ..."). */
int  x86_check_kernel(const char *path, char *err, size_t errlen);
/* Loads the kernel (bzImage: protected-mode part at 1 MiB, entry 1 MiB + 0x200, RAM checked against the
 * decompressor's area max(aligned load address, pref_address) + init_size; ELF vmlinux: segments at their
 * physical addresses, entry = e_entry, a setup header synthesised in the zero page), the initrd (as high
 * as allowed below initrd_addr_max and RAM, above the kernel's area), the command line, the zero page
 * (setup header copied from the image, e820 map, loader type 0xff, CAN_USE_HEAP, cmdline/initrd
 * fields), the GDT (X86_SEL_*) and identity page tables for the first 4 GiB (2 MiB pages), and the MP
 * table for ncpus. mem->base must be 0 and mem->size <= X86_RAM_MAX (3 GiB). */
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
