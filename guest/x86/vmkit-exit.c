/* vmkit-exit.c — powers an x86-64 vmkit guest off: writes its argument (0-255, default 0) to vmkit's exit
 * port 0x501 (also QEMU's isa-debug-exit when configured there). A microVM without ACPI has no other
 * power-off path; /sbin/poweroff of the x86 initramfs calls this after syncing. Static, no libc. */
static long sys3(long n, long a, long b, long c)
{
    long r;
    __asm__ volatile("syscall" : "=a"(r) : "a"(n), "D"(a), "S"(b), "d"(c) : "rcx", "r11", "memory");
    return r;
}

void _start_c(long *sp)
{
    long argc = sp[0];
    const char *arg = argc > 1 ? (const char *)sp[2] : "0";
    unsigned v = 0;
    for (; *arg >= '0' && *arg <= '9'; arg++) v = v * 10 + (unsigned)(*arg - '0');
    if (sys3(173, 0x501, 1, 1) == 0) {                       /* ioperm(0x501, 1, 1) */
        unsigned char b = (unsigned char)v;
        __asm__ volatile("outb %0, %1" : : "a"(b), "Nd"((unsigned short)0x501));
    }
    sys3(60, 1, 0, 0);                                       /* still here: exit(1) */
}

__asm__(".globl _start\n_start:\n mov %rsp, %rdi\n and $-16, %rsp\n call _start_c\n hlt\n");
