/* payload.S — a tiny S-mode "kernel" (RISC-V Image header, loaded at 0x80200000 by vmkit run after
 * OpenSBI) for platform end-to-end tests that need no Linux: assembled by tests/vm/sbi.t.sh.
 * -DMODE_HELLO: print through the UART, power off with SBI SRST.   -DMODE_FAIL: report code 7
 * through the sifive test device.  -DMODE_ECHO: echo UART input until 'q', then power off.
 * -DMODE_IDLE: print, then WFI forever (for Ctrl-A x, signals and idle CPU use). */
.option norvc
.section .text
.globl _start
_start:
  j real_start
  .word 0
  .dword 0                  /* text_offset */
  .dword _end - _start      /* image_size */
  .dword 0                  /* flags */
  .word 2                   /* version */
  .word 0
  .dword 0
  .ascii "RISCV\0\0\0"
  .ascii "RSC\x05"
  .word 0
real_start:
  li s0, 0x10000000         /* UART */
  lla a3, msg
  call puts
#if defined(MODE_FAIL)
  li t0, 0x100000
  li t1, 0x00073333
  sw t1, 0(t0)
  j .
#elif defined(MODE_ECHO)
1:lbu t1, 5(s0)             /* LSR */
  andi t1, t1, 1
  beqz t1, 1b
  lbu t1, 0(s0)
  sb t1, 0(s0)
  li t2, 'q'
  bne t1, t2, 1b
  j shutdown
#elif defined(MODE_IDLE)
2:wfi
  j 2b
#endif
shutdown:
  li a7, 0x53525354         /* SBI SRST: shutdown, no reason */
  li a6, 0
  li a0, 0
  li a1, 0
  ecall
  j .
puts:
  lbu t1, 0(a3)
  beqz t1, 3f
  sb t1, 0(s0)
  addi a3, a3, 1
  j puts
3:ret
msg: .asciz "payload: hello from S-mode\n"
.balign 8
_end:
