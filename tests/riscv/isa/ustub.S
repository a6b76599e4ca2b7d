# ustub.S — the M-mode stub under which test_isa --user runs a static Linux user program: entered
# at 0x80000000 with a0 = the program's entry, a1 = its stack; drops to U-mode (FP on, fcsr = 0,
# registers cleared). An ecall (cause 8) is forwarded to the runner's SYSPORT (a7, a0..a2 in,
# result back into a0) and resumes after the ecall; any other trap is reported through DIAG and a
# failing TOHOST write. Only t0/t1 are used, saved in mscratch's area, so user registers survive.
        .equ TOHOST, 0x10001000
        .equ DIAG, 0x10001010
        .equ SYSPORT, 0x10002000
        .section .text.init, "ax"
        .globl _start
_start:
        lla t0, mtrap
        csrw mtvec, t0
        csrw mepc, a0
        mv sp, a1
        lla t0, save
        csrw mscratch, t0
        li t0, -1                        # PMP: allow U-mode everything (a trap here is skipped)
        csrw pmpaddr0, t0
        li t0, 0x1f
        csrw pmpcfg0, t0
        li t0, (3 << 11)
        csrc mstatus, t0                 # MPP = U
        li t0, (1 << 13)
        csrs mstatus, t0                 # FS = Initial
        csrwi fcsr, 0
        .irp r, 1,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        li x\r, 0
        .endr
        mret
        .align 2
mtrap:
        csrrw t0, mscratch, t0           # t0 = save area, mscratch = user t0
        sd t1, 0(t0)
        csrr t1, mstatus
        srli t1, t1, 11
        andi t1, t1, 3
        bnez t1, pmp_trap                # MPP != U: a trap in the stub's own start-up
        csrr t1, mcause
        addi t1, t1, -8
        bnez t1, bad
        li t1, SYSPORT
        sd a0, 8(t1)
        sd a1, 16(t1)
        sd a2, 24(t1)
        sd a7, 0(t1)                     # performs the call
        ld a0, 32(t1)
        csrr t1, mepc
        addi t1, t1, 4
        csrw mepc, t1
        ld t1, 0(t0)
        csrrw t0, mscratch, t0
        mret
pmp_trap:                                # a trap while writing PMP during start-up: skip it
        csrr t1, mepc
        addi t1, t1, 4
        csrw mepc, t1
        ld t1, 0(t0)
        csrrw t0, mscratch, t0
        mret
bad:
        li t0, DIAG
        csrr t1, mcause
        sd t1, 0(t0)
        csrr t1, mepc
        sd t1, 0(t0)
        csrr t1, mtval
        sd t1, 0(t0)
        li t0, TOHOST
        li t1, 3
        sw t1, 0(t0)
2:      j 2b
        .data
        .align 3
save:   .zero 16
