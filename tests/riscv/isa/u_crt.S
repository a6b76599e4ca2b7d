# u_crt.S — start-up for the C differential-test programs (u_*.c): own stack, main(), exit(status).
        .section .text.start, "ax"
        .globl _start
_start:
        lla sp, u_stack_top
        call main
        li a7, 93
        ecall
1:      j 1b
        .bss
        .align 4
u_stack:
        .zero 65536
u_stack_top:
