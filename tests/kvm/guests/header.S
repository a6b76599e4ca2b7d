/* header.S — the bzImage setup area of the freestanding test guests: a Linux boot-protocol 2.15 setup
 * header (XLF_KERNEL_64: 64-bit entry at load address + 0x200) so vmkit loads them exactly as it loads
 * Linux, plus a real-mode stub (entered at 0x200, code at 0x1000) so BIOS-style loaders (QEMU's linuxboot ROM, qboot), which jump
 * to the setup code in real mode, also work: it fills the e820 map from int 0x15 when the loader did not,
 * enters long mode with its own page tables at 0x1000-0x6fff and jumps to 0x100200 with rsi = zero page. */
    .section .setup, "ax"
    .code16
    .globl _setup
_setup:
    .org 0x1f1
    .byte 8                     /* setup_sects: 0x200-0x11ff; the stub lives past the zero page */
    .word 0                     /* root_flags */
    .long 0                     /* syssize (unused by vmkit) */
    .word 0                     /* ram_size */
    .word 0                     /* vid_mode */
    .word 0                     /* root_dev */
    .word 0xaa55                /* boot_flag */
    .org 0x200
    .byte 0xeb, hdr_end - 0f    /* 0x200: 2-byte jump over the header (byte 0x201 = its length) */
0:
    .ascii "HdrS"               /* 0x202 */
    .word 0x020f                /* 0x206 version 2.15 */
    .long 0                     /* 0x208 realmode_swtch */
    .word 0                     /* 0x20c start_sys_seg */
    .word 0                     /* 0x20e kernel_version */
    .byte 0                     /* 0x210 type_of_loader */
    .byte 0x01                  /* 0x211 loadflags: LOADED_HIGH */
    .word 0                     /* 0x212 setup_move_size */
    .long 0x100000              /* 0x214 code32_start */
    .long 0                     /* 0x218 ramdisk_image */
    .long 0                     /* 0x21c ramdisk_size */
    .long 0                     /* 0x220 bootsect_kludge */
    .word 0                     /* 0x224 heap_end_ptr */
    .byte 0, 0                  /* 0x226 ext_loader_ver, ext_loader_type */
    .long 0                     /* 0x228 cmd_line_ptr */
    .long 0x7fffffff            /* 0x22c initrd_addr_max */
    .long 0x200000              /* 0x230 kernel_alignment */
    .byte 0                     /* 0x234 relocatable_kernel */
    .byte 0                     /* 0x235 min_alignment */
    .word 0x0001                /* 0x236 xloadflags: XLF_KERNEL_64 */
    .long 2047                  /* 0x238 cmdline_size */
    .long 0                     /* 0x23c hardware_subarch */
    .quad 0                     /* 0x240 hardware_subarch_data */
    .long 0                     /* 0x248 payload_offset */
    .long 0                     /* 0x24c payload_length */
    .quad 0                     /* 0x250 setup_data */
    .quad 0x100000              /* 0x258 pref_address */
    .long _init_size            /* 0x260 init_size */
    .long 0                     /* 0x264 handover_offset */
    .long 0                     /* 0x268 kernel_info_offset */
hdr_end:
    jmp rm_start                /* 0x26c: boot_params padding; the stub is past the e820 table */

/* Real mode, cs = setup segment + 0x20, ds = es = ss = setup segment (boot protocol). The setup segment
 * is also the zero page here, so the stub starts at 0x1000, past struct boot_params. */
    .org 0x1000
rm_start:
    cli
    mov %cs, %ax
    sub $0x20, %ax
    mov %ax, %ds
    mov %ax, %es
    movzwl %ax, %ebp
    shl $4, %ebp                        /* ebp = linear address of the zero page */
    cmpb $0, 0x1e8                      /* e820_entries: the loader filled it? */
    jne 2f
    xor %ebx, %ebx
    mov $0x2d0, %di
1:  mov $0xe820, %eax
    mov $20, %ecx
    mov $0x534d4150, %edx
    int $0x15
    jc 2f
    cmp $0x534d4150, %eax
    jne 2f
    mov 8(%di), %eax                    /* skip empty entries (some BIOSes end with one) */
    or 12(%di), %eax
    jz 4f
    incb 0x1e8
    add $20, %di
4:  test %ebx, %ebx
    jz 2f
    cmpb $64, 0x1e8
    jb 1b
2:  lea gdt - _setup(%ebp), %eax        /* patch linear addresses into the GDTR and far pointers */
    mov %eax, gdtr - _setup + 2
    lea pm32 - _setup(%ebp), %eax
    mov %eax, far32 - _setup
    lea lm64 - _setup(%ebp), %eax
    mov %eax, far64 - _setup
    lgdtl gdtr - _setup
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl *far32 - _setup

    .code32
pm32:
    mov $0x18, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0x1000, %edi                   /* PML4 0x1000, PDPT 0x2000, 4 PDs 0x3000-0x6fff: 4 GiB */
    xor %eax, %eax
    mov $(0x6000 / 4), %ecx
    rep stosl
    movl $0x2003, 0x1000
    movl $0x3003, 0x2000
    movl $0x4003, 0x2008
    movl $0x5003, 0x2010
    movl $0x6003, 0x2018
    mov $0x3000, %edi
    mov $0x83, %eax
    mov $2048, %ecx
3:  mov %eax, (%edi)
    movl $0, 4(%edi)
    add $0x200000, %eax
    add $8, %edi
    loop 3b
    mov %cr4, %eax
    or $0x20, %eax                      /* PAE */
    mov %eax, %cr4
    mov $0x1000, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx               /* EFER.LME */
    rdmsr
    or $0x100, %eax
    wrmsr
    mov %cr0, %eax
    or $0x80000000, %eax
    mov %eax, %cr0
    ljmpl *far64 - _setup(%ebp)

    .code64
lm64:
    mov %ebp, %esi
    mov $0x100200, %eax
    jmp *%rax

    .balign 8
gdt:
    .quad 0
    .quad 0x00cf9a000000ffff            /* 0x08 code32 */
    .quad 0x00af9a000000ffff            /* 0x10 code64 */
    .quad 0x00cf92000000ffff            /* 0x18 data */
gdt_end:
gdtr:
    .word gdt_end - gdt - 1
    .long 0
far32:
    .long 0
    .word 0x08
far64:
    .long 0
    .word 0x10
    .org 0x1200
