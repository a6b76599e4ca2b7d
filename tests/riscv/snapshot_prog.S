# snapshot_prog.S — the bare-metal program of tests/riscv/test_snapshot.c (assembled there as words):
# riscv64-linux-gnu-gcc -march=rv64gc -nostdlib -Wl,-Ttext=0x80000000 snapshot_prog.S; objcopy -O binary
.globl _start
_start:
  li t0, 0x80100000
  li t1, 0
  li t2, 4000000
  li t3, 0x2000
  csrs mstatus, t3
  fcvt.d.l f1, zero
  li t5, 0
  li a1, 0xfff8
loop:
  addi t1, t1, 1
  mul t4, t1, t1
  xor t5, t5, t4
  slli a0, t1, 3
  and a0, a0, a1
  add a0, a0, t0
  sd t5, 0(a0)
  amoadd.d a2, t1, (t0)
  fcvt.d.l f2, t1
  fadd.d f1, f1, f2
  csrw mscratch, t1
  bne t1, t2, loop
  li a3, 0x100000
  li a4, 0x5555
  sw a4, 0(a3)
1: j 1b
