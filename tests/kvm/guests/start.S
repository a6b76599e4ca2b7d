/* start.S — 64-bit entry of the freestanding test guests (load address + 0x200, as Linux's startup_64):
 * entered in long mode with paging on, interrupts off, rsi = zero page. Clears .bss, sets a stack and
 * calls guest_main(zero_page); if it returns, exits with its value through the exit port. */
    .section .head, "ax"
    .space 0x200, 0
    .section .text.entry, "ax"
    .globl startup_64
startup_64:
    cli
    cld
    mov %rsi, %r12
    lea _bss_start(%rip), %rdi
    lea _bss_end(%rip), %rcx
    sub %rdi, %rcx
    xor %eax, %eax
    rep stosb
    lea stack_top(%rip), %rsp
    mov %r12, %rdi
    call guest_main
    mov %eax, %edi
    call vm_exit
1:  hlt
    jmp 1b

    .section .bss
    .balign 16
    .globl stack_bottom
stack_bottom:
    .space 16384
stack_top:
