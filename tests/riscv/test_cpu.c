/* test_cpu.c — unit tests of the RV64GC hart (cpu.c, decode.c, mmu.c, csr.c) on a tiny fake
 * platform defined here (bus, mtime, wake). Guest programs were assembled with Debian's
 * riscv64-linux-gnu-as (-march=rv64gc, linked at 0x80000000); each one's source is in the comment
 * above its halfwords. Tests: integer and M edge cases, CSRs and illegal CSRs, trap delegation
 * round trip, Sv39/Sv48 with A/D update and page faults, MPRV/SUM/MXR, misaligned superpages,
 * cross-page accesses, fetch faults, counters and counteren, LR/SC/AMO, compressed,
 * self-modifying code (FENCE.I and device invalidation), WFI, Sstc, interrupt priority, F/D basics,
 * MMIO and access faults; plus INFO lines with the interpreter speed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "../test.h"
#include "riscv/cpu.h"
#include "riscv/hart.h"
#include "riscv/fpu.h"

/* ---------------- fake platform ---------------- */
struct rv_machine { int unused; };
static rv_machine g_mach;
static vmk_mem g_mem;
static rv_hart *g_hart;
static uint64_t g_mtime;
static uint64_t g_mmio_reg = 0x1234, g_mmio_writes, g_wakes;
#define MMIO_BASE 0x10000000ull

bool rv_bus_read(rv_machine *m, uint64_t pa, unsigned size, uint64_t *val)
{
    (void)m; (void)size;
    if (pa == MMIO_BASE) { *val = g_mmio_reg; return true; }
    return false;
}
bool rv_bus_write(rv_machine *m, uint64_t pa, unsigned size, uint64_t val)
{
    (void)m; (void)size;
    if (pa == MMIO_BASE) { g_mmio_reg = val; g_mmio_writes++; return true; }
    return false;
}
uint64_t rv_machine_mtime(rv_machine *m) { (void)m; return g_mtime; }
void rv_machine_wake(rv_machine *m) { (void)m; g_wakes++; }
unsigned rv_machine_nharts(rv_machine *m) { (void)m; return 1; }
rv_hart *rv_machine_hart(rv_machine *m, unsigned i) { (void)m; return i == 0 ? g_hart : NULL; }

/* ---------------- guest programs ---------------- */
/*
    li a0, 100
    li a1, -7
    add a2, a0, a1
    sub a3, a1, a0
    slli a4, a0, 60
    srai a5, a1, 1
    srli a6, a1, 60
    slt t0, a1, a0
    sltu t1, a1, a0
    lui t2, 0x80000
    addiw t3, t2, -1
    sraiw t4, a1, 1
    srlw t5, a1, a0
    xori t6, a0, -1
    auipc s2, 0
    sltiu s3, zero, 1
    andi s4, a1, 0xf0
    jal s5, 1f
    li s6, 1
1:  addi zero, zero, 5
    mv s7, zero
    wfi
*/
static const uint16_t prog_int[] = {
    0x0513, 0x0640, 0x55e5, 0x0633, 0x00b5, 0x86b3, 0x40a5, 0x1713, 0x03c5, 0xd793, 0x4015, 0xd813,
    0x03c5, 0xa2b3, 0x00a5, 0xb333, 0x00a5, 0x03b7, 0x8000, 0x8e1b, 0xfff3, 0xde9b, 0x4015, 0xdf3b,
    0x00a5, 0x4f93, 0xfff5, 0x0917, 0x0000, 0x3993, 0x0010, 0xfa13, 0x0f05, 0x0aef, 0x0060, 0x4b05,
    0x0013, 0x0050, 0x0b93, 0x0000, 0x0073, 0x1050,
};
/*
    li a0, 1
    slli a0, a0, 63
    li a1, -1
    div a2, a0, a1
    rem a3, a0, a1
    li t0, 0
    div a4, a0, t0
    divu a5, a0, t0
    rem a6, a1, t0
    remu a7, a0, t0
    mulh s2, a0, a0
    mulhu s3, a1, a1
    mulhsu s4, a1, a1
    li t1, 1
    slli t1, t1, 31
    divw s5, t1, a1
    remw s6, t1, a1
    divuw s7, t1, t0
    mulw s8, t1, t1
    li t2, 7
    li t3, -2
    div s9, t2, t3
    rem s10, t2, t3
    wfi
*/
static const uint16_t prog_mul[] = {
    0x4505, 0x157e, 0x55fd, 0x4633, 0x02b5, 0x66b3, 0x02b5, 0x4281, 0x4733, 0x0255, 0x57b3, 0x0255,
    0xe833, 0x0255, 0x78b3, 0x0255, 0x1933, 0x02a5, 0xb9b3, 0x02b5, 0xaa33, 0x02b5, 0x4305, 0x037e,
    0x4abb, 0x02b3, 0x6b3b, 0x02b3, 0x5bbb, 0x0253, 0x0c3b, 0x0263, 0x439d, 0x5e79, 0xccb3, 0x03c3,
    0xed33, 0x03c3, 0x0073, 0x1050,
};
/*
    la t0, handler
    csrw mtvec, t0
    li t0, 0x1234
    csrw mscratch, t0
    csrr a0, mscratch
    csrr a1, misa
    csrr a2, mhartid
    li s10, 0
    csrr a3, 0x7c0
    mv a4, s10
    mv a5, s11
    li s10, 0
    csrw mhartid, zero
    mv a6, s10
    li t0, 10
    slli t0, t0, 60
    csrw satp, t0
    csrr a7, satp
    li t0, -1
    csrw pmpaddr0, t0
    csrr s2, pmpaddr0
    csrw pmpcfg0, t0
    csrr s3, pmpcfg0
    li s10, 0
    csrr s4, 0x3a1
    mv s4, s10
    csrr s5, mstatus
    csrw menvcfg, t0
    csrr s6, menvcfg
    li s10, 0
    csrr s7, fcsr
    mv s7, s10
    li t0, 8
    slli t0, t0, 60
    ori t0, t0, 0x123
    csrw satp, t0
    csrr s8, satp
    csrw satp, zero
    wfi
    .balign 4
handler:
    csrr s10, mcause
    csrr s11, mtval
    csrr t6, mepc
    addi t6, t6, 4
    csrw mepc, t6
    mret
*/
static const uint16_t prog_csr[] = {
    0x0297, 0x0000, 0x8293, 0x0882, 0x9073, 0x3052, 0x6285, 0x829b, 0x2342, 0x9073, 0x3402, 0x2573,
    0x3400, 0x25f3, 0x3010, 0x2673, 0xf140, 0x4d01, 0x26f3, 0x7c00, 0x876a, 0x87ee, 0x4d01, 0x1073,
    0xf140, 0x886a, 0x42a9, 0x12f2, 0x9073, 0x1802, 0x28f3, 0x1800, 0x52fd, 0x9073, 0x3b02, 0x2973,
    0x3b00, 0x9073, 0x3a02, 0x29f3, 0x3a00, 0x4d01, 0x2a73, 0x3a10, 0x8a6a, 0x2af3, 0x3000, 0x9073,
    0x30a2, 0x2b73, 0x30a0, 0x4d01, 0x2bf3, 0x0030, 0x8bea, 0x42a1, 0x12f2, 0xe293, 0x1232, 0x9073,
    0x1802, 0x2c73, 0x1800, 0x1073, 0x1800, 0x0073, 0x1050, 0x0001, 0x2d73, 0x3420, 0x2df3, 0x3430,
    0x2ff3, 0x3410, 0x0f91, 0x9073, 0x341f, 0x0073, 0x3020, 0x0000,
};
/*
    la t0, mhandler
    csrw mtvec, t0
    la t0, shandler
    csrw stvec, t0
    li t0, 0x100
    csrw medeleg, t0
    la t0, ucode
    csrw mepc, t0
    li t0, 0x1800
    csrc mstatus, t0
    mret
ucode:
    li a0, 42
    ecall
    li a1, 43
    ecall
    li a2, 44
    .balign 4
shandler:
    csrr s2, scause
    csrr s3, sepc
    csrr s4, sstatus
    addi s5, s5, 1
    li t0, 2
    beq s5, t0, 1f
    csrr t1, sepc
    addi t1, t1, 4
    csrw sepc, t1
    sret
1:  ecall
    .balign 4
mhandler:
    csrr s6, mcause
    csrr s7, mepc
    csrr s8, mstatus
    wfi
*/
static const uint16_t prog_trap[] = {
    0x0297, 0x0000, 0x8293, 0x0782, 0x9073, 0x3052, 0x0297, 0x0000, 0x8293, 0x0442, 0x9073, 0x1052,
    0x0293, 0x1000, 0x9073, 0x3022, 0x0297, 0x0000, 0x8293, 0x01a2, 0x9073, 0x3412, 0x6289, 0x829b,
    0x8002, 0xb073, 0x3002, 0x0073, 0x3020, 0x0513, 0x02a0, 0x0073, 0x0000, 0x0593, 0x02b0, 0x0073,
    0x0000, 0x0613, 0x02c0, 0x0001, 0x2973, 0x1420, 0x29f3, 0x1410, 0x2a73, 0x1000, 0x0a85, 0x4289,
    0x8963, 0x005a, 0x2373, 0x1410, 0x0311, 0x1073, 0x1413, 0x0073, 0x1020, 0x0073, 0x0000, 0x0001,
    0x2b73, 0x3420, 0x2bf3, 0x3410, 0x2c73, 0x3000, 0x0073, 0x1050,
};
/*
    la t0, mhandler
    csrw mtvec, t0
    csrw satp, a7
    sfence.vma
    la t0, scode
    csrw mepc, t0
    li t0, 0x1800
    csrc mstatus, t0
    li t0, 0x800
    csrs mstatus, t0
    mret
scode:
    li t0, 0x40000000
    li t1, 0x55
    sd t1, 8(t0)
    ld a0, 8(t0)
    li t0, 0x40001000
    ld a2, 0(t0)
    li a3, 1
    li t0, 0x50000000
    ld a1, 0(t0)
    li a4, 1
    .balign 4
mhandler:
    csrr s2, mcause
    csrr s3, mtval
    csrr s4, mepc
    addi s5, s5, 1
    li t0, 1
    bne s5, t0, 2f
    csrr t1, mepc
    addi t1, t1, 4
    csrw mepc, t1
    mret
2:  wfi
*/
static const uint16_t prog_vm[] = {
    0x0297, 0x0000, 0x8293, 0x05c2, 0x9073, 0x3052, 0x9073, 0x1808, 0x0073, 0x1200, 0x0297, 0x0000,
    0x8293, 0x0242, 0x9073, 0x3412, 0x6289, 0x829b, 0x8002, 0xb073, 0x3002, 0x6285, 0x829b, 0x8002,
    0xa073, 0x3002, 0x0073, 0x3020, 0x02b7, 0x4000, 0x0313, 0x0550, 0xb423, 0x0062, 0xb503, 0x0082,
    0x12b7, 0x4000, 0xb603, 0x0002, 0x4685, 0x02b7, 0x5000, 0xb583, 0x0002, 0x4705, 0x2973, 0x3420,
    0x29f3, 0x3430, 0x2a73, 0x3410, 0x0a85, 0x4285, 0x9963, 0x005a, 0x2373, 0x3410, 0x0311, 0x1073,
    0x3413, 0x0073, 0x3020, 0x0073, 0x1050,
};
/*
    la t3, handler
    csrw mtvec, t3
    li t0, 0x80008000
    li t1, 5
    sw t1, 0(t0)
    lr.w a0, (t0)
    li t2, 9
    sc.w a1, t2, (t0)
    lw a2, 0(t0)
    sc.w a3, t2, (t0)
    li t1, 10
    amoadd.w a4, t1, (t0)
    lw a5, 0(t0)
    li t1, -1
    amomax.w a6, t1, (t0)
    amominu.w a7, t1, (t0)
    amoswap.d s2, t1, (t0)
    ld s3, 0(t0)
    li t1, 3
    amoor.d s7, t1, (t0)
    amoand.d s8, t1, (t0)
    lr.d s9, (t0)
    sc.d s10, t1, (t0)
    addi t4, t0, 2
    amoadd.w s4, t1, (t4)
    .balign 4
handler:
    csrr s5, mcause
    csrr s6, mtval
    wfi
*/
static const uint16_t prog_amo[] = {
    0x0e17, 0x0000, 0x0e13, 0x060e, 0x1073, 0x305e, 0x62c1, 0x2285, 0x02be, 0x4315, 0xa023, 0x0062,
    0xa52f, 0x1002, 0x43a5, 0xa5af, 0x1872, 0xa603, 0x0002, 0xa6af, 0x1872, 0x4329, 0xa72f, 0x0062,
    0xa783, 0x0002, 0x537d, 0xa82f, 0xa062, 0xa8af, 0xc062, 0xb92f, 0x0862, 0xb983, 0x0002, 0x430d,
    0xbbaf, 0x4062, 0xbc2f, 0x6062, 0xbcaf, 0x1002, 0xbd2f, 0x1862, 0x8e93, 0x0022, 0xaa2f, 0x006e,
    0x2af3, 0x3420, 0x2b73, 0x3430, 0x0073, 0x1050, 0x0000,
};
/*
    la t0, func
    jal ra, func
    sw t1, 0(t0)
    fence.i
    jal ra, func
    wfi
func:
    addi a0, a0, 1
    ret
*/
static const uint16_t prog_smc[] = {
    0x0297, 0x0000, 0x8293, 0x01c2, 0x00ef, 0x0140, 0xa023, 0x0062, 0x100f, 0x0000, 0x00ef, 0x0080,
    0x0073, 0x1050, 0x0505, 0x8082,
};
/*
    li t0, 0x80
    csrw mie, t0
    wfi
    li a0, 1
    wfi
    li a1, 2
1:  j 1b
*/
static const uint16_t prog_wfi[] = {
    0x0293, 0x0800, 0x9073, 0x3042, 0x0073, 0x1050, 0x4505, 0x0073, 0x1050, 0x4589, 0xa001,
};
/*
    la t0, shandler
    csrw stvec, t0
    li t0, 1
    slli t0, t0, 63
    csrw menvcfg, t0
    li t0, 2
    csrw mcounteren, t0
    li t0, 0x20
    csrw mideleg, t0
    li t0, -1
    csrw stimecmp, t0
    la t0, scode
    csrw mepc, t0
    li t0, 0x1800
    csrc mstatus, t0
    li t0, 0x800
    csrs mstatus, t0
    mret
scode:
    csrr t0, time
    addi t0, t0, 1000
    csrw stimecmp, t0
    li t1, 0x20
    csrw sie, t1
    csrsi sstatus, 2
1:  addi a0, a0, 1
    j 1b
    .balign 4
shandler:
    csrr s2, scause
    csrr s3, sip
    li t0, -1
    csrw stimecmp, t0
    csrr s4, sip
    wfi
*/
static const uint16_t prog_sstc[] = {
    0x0297, 0x0000, 0x8293, 0x0682, 0x9073, 0x1052, 0x4285, 0x12fe, 0x9073, 0x30a2, 0x4289, 0x9073,
    0x3062, 0x0293, 0x0200, 0x9073, 0x3032, 0x52fd, 0x9073, 0x14d2, 0x0297, 0x0000, 0x8293, 0x0242,
    0x9073, 0x3412, 0x6289, 0x829b, 0x8002, 0xb073, 0x3002, 0x6285, 0x829b, 0x8002, 0xa073, 0x3002,
    0x0073, 0x3020, 0x22f3, 0xc010, 0x8293, 0x3e82, 0x9073, 0x14d2, 0x0313, 0x0200, 0x1073, 0x1043,
    0x6073, 0x1001, 0x0505, 0xbffd, 0x2973, 0x1420, 0x29f3, 0x1440, 0x52fd, 0x9073, 0x14d2, 0x2a73,
    0x1440, 0x0073, 0x1050,
};
/*
    la t0, handler
    csrw mtvec, t0
    li t0, 0x88
    csrw mie, t0
    csrsi mstatus, 8
    li a0, 1
    .balign 4
handler:
    csrr s2, mcause
    csrr s3, mepc
    csrw mie, zero
    wfi
*/
static const uint16_t prog_irq[] = {
    0x0297, 0x0000, 0x8293, 0x01c2, 0x9073, 0x3052, 0x0293, 0x0880, 0x9073, 0x3042, 0x6073, 0x3004,
    0x4505, 0x0001, 0x2973, 0x3420, 0x29f3, 0x3410, 0x1073, 0x3040, 0x0073, 0x1050,
};
/*
    la t0, handler
    csrw mtvec, t0
    fmv.w.x f1, zero
    mv a5, s10
    li t0, 0x2000
    csrs mstatus, t0
    li t1, 0x3fc00000
    fmv.w.x f1, t1
    li t1, 0x40100000
    fmv.w.x f2, t1
    fadd.s f3, f1, f2
    fmv.x.w a0, f3
    csrr a1, mstatus
    li t2, 0x3f800000
    fmv.d.x f4, t2
    fsgnj.s f5, f4, f4
    fmv.x.d a2, f5
    fmv.w.x f7, zero
    fdiv.s f6, f1, f7
    csrr a3, fflags
    li s10, 0
    fsrmi 5
    fadd.s f8, f1, f2
    mv a6, s10
    fsrmi 0
    li t0, 0x80008000
    fsd f3, 0(t0)
    ld a4, 0(t0)
    fcvt.d.s f9, f3
    fcvt.l.d a7, f9, rtz
    wfi
    .balign 4
handler:
    csrr s10, mcause
    csrr t6, mepc
    addi t6, t6, 4
    csrw mepc, t6
    mret
*/
static const uint16_t prog_fp[] = {
    0x0297, 0x0000, 0x8293, 0x07c2, 0x9073, 0x3052, 0x00d3, 0xf000, 0x87ea, 0x6289, 0xa073, 0x3002,
    0x0337, 0x3fc0, 0x00d3, 0xf003, 0x0337, 0x4010, 0x0153, 0xf003, 0xf1d3, 0x0020, 0x8553, 0xe001,
    0x25f3, 0x3000, 0x03b7, 0x3f80, 0x8253, 0xf203, 0x02d3, 0x2042, 0x8653, 0xe202, 0x03d3, 0xf000,
    0xf353, 0x1870, 0x26f3, 0x0010, 0x4d01, 0xd073, 0x0022, 0xf453, 0x0020, 0x886a, 0x5073, 0x0020,
    0x62c1, 0x2285, 0x02be, 0xb027, 0x0032, 0xb703, 0x0002, 0x84d3, 0x4201, 0x98d3, 0xc224, 0x0073,
    0x1050, 0x0001, 0x2d73, 0x3420, 0x2ff3, 0x3410, 0x0f91, 0x9073, 0x341f, 0x0073, 0x3020, 0x0000,
};
/*
1:  addi a0, a0, 1
    addi a1, a1, -1
    bnez a1, 1b
    wfi
*/
static const uint16_t prog_speed[] = {
    0x0505, 0x15fd, 0xfdf5, 0x0073, 0x1050,
};
/*
1:  ld t0, 0(s0)
    addi t0, t0, 1
    sd t0, 0(s0)
    addi a1, a1, -1
    bnez a1, 1b
    wfi
*/
static const uint16_t prog_speed2[] = {
    0x3283, 0x0004, 0x0285, 0x3023, 0x0054, 0x15fd, 0xf9f5, 0x0073, 0x1050,
};
/*
.option rvc
c.li a0, 5
c.addi a0, 3
c.li a1, -2
c.add a0, a1
c.mv a2, a0
c.slli a2, 4
c.addiw a2, 1
c.lui a3, 1
c.sub a3, a2
c.srai a3, 1
c.andi a3, 0x1f
c.sw a0, 0(s0)
c.lw a4, 0(s0)
c.sd a2, 8(s0)
c.ld a5, 8(s0)
c.beqz a5, 1f
c.addi a5, 1
1:
c.bnez a5, 2f
c.li a4, 0
2:
c.j 3f
c.li a0, 0
3:
c.sdsp a0, 16(sp)
c.ldsp s1, 16(sp)
c.addi16sp sp, 32
c.addi4spn a1, sp, 8
c.nop
c.ebreak
    .balign 4
    wfi
*/
static const uint16_t prog_comp[] = {
    0x4515, 0x050d, 0x55f9, 0x952e, 0x862a, 0x0612, 0x2605, 0x6685, 0x8e91, 0x8685, 0x8afd, 0xc008,
    0x4018, 0xe410, 0x641c, 0xc391, 0x0785, 0xe391, 0x4701, 0xa011, 0x4501, 0xe82a, 0x64c2, 0x6105,
    0x002c, 0x0001, 0x9002, 0x0001, 0x0073, 0x1050,
};
/*
    la t0, handler
    csrw mtvec, t0
    lui t0, 0x10000
    lw a0, 0(t0)
    li t1, 77
    sw t1, 0(t0)
    lui t2, 0x20000
    lw a1, 0(t2)
    li a2, 1
    .balign 4
handler:
    wfi
*/
static const uint16_t prog_mmio[] = {
    0x0297, 0x0000, 0x8293, 0x0282, 0x9073, 0x3052, 0x02b7, 0x1000, 0xa503, 0x0002, 0x0313, 0x04d0,
    0xa023, 0x0062, 0x03b7, 0x2000, 0xa583, 0x0003, 0x4605, 0x0001, 0x0073, 0x1050,
};
/*
    la t0, mhandler
    csrw mtvec, t0
    csrw satp, a7
    sfence.vma
    li t0, 0x1800
    csrc mstatus, t0
    li t0, 0x800
    csrs mstatus, t0
    li t0, 0x20000
    csrs mstatus, t0
    li t1, 0x40000000
    li t2, 0x77
    sd t2, 16(t1)
    ld a0, 16(t1)
    li t1, 0x40001000
    ld a1, 0(t1)
    li t0, 0x40000
    csrs mstatus, t0
    ld a2, 0(t1)
    li t1, 0x40002000
    ld a3, 0(t1)
    li t0, 0x80000
    csrs mstatus, t0
    ld a4, 0(t1)
    li t1, 0xC0000000
    ld a5, 0(t1)
    li t1, 0x40000ffc
    ld a6, 0(t1)
    li t1, 0x40002ffc
    ld a7, 0(t1)
    li t0, 0x20000
    csrc mstatus, t0
    li t0, 0x40003000
    csrw mepc, t0
    mret
    .balign 4
mhandler:
    csrr s2, mcause
    mv s4, s3
    csrr s3, mtval
    addi s5, s5, 1
    slli s6, s6, 4
    or s6, s6, s2
    li t0, 12
    beq s2, t0, 1f
    csrr t3, mepc
    addi t3, t3, 4
    li t0, 0x1800
    csrc mstatus, t0
    li t0, 0x800
    csrs mstatus, t0
    jr t3
1:  wfi
*/
static const uint16_t prog_vm2[] = {
    0x0297, 0x0000, 0x8293, 0x09c2, 0x9073, 0x3052, 0x9073, 0x1808, 0x0073, 0x1200, 0x6289, 0x829b,
    0x8002, 0xb073, 0x3002, 0x6285, 0x829b, 0x8002, 0xa073, 0x3002, 0x02b7, 0x0002, 0xa073, 0x3002,
    0x0337, 0x4000, 0x0393, 0x0770, 0x3823, 0x0073, 0x3503, 0x0103, 0x1337, 0x4000, 0x3583, 0x0003,
    0x02b7, 0x0004, 0xa073, 0x3002, 0x3603, 0x0003, 0x2337, 0x4000, 0x3683, 0x0003, 0x02b7, 0x0008,
    0xa073, 0x3002, 0x3703, 0x0003, 0x031b, 0x0030, 0x037a, 0x3783, 0x0003, 0x1337, 0x4000, 0x3371,
    0x3803, 0x0003, 0x3337, 0x4000, 0x3371, 0x3883, 0x0003, 0x02b7, 0x0002, 0xb073, 0x3002, 0x32b7,
    0x4000, 0x9073, 0x3412, 0x0073, 0x3020, 0x0001, 0x2973, 0x3420, 0x8a4e, 0x29f3, 0x3430, 0x0a85,
    0x0b12, 0x6b33, 0x012b, 0x42b1, 0x0063, 0x0259, 0x2e73, 0x3410, 0x0e11, 0x6289, 0x829b, 0x8002,
    0xb073, 0x3002, 0x6285, 0x829b, 0x8002, 0xa073, 0x3002, 0x8e02, 0x0073, 0x1050,
};
/*
    la t0, mhandler
    csrw mtvec, t0
    la t0, ucode
    csrw mepc, t0
    li t0, 0x1800
    csrc mstatus, t0
    mret
ucode:
    rdcycle a0
    rdinstret a1
    rdinstret a2
    rdtime a3
    ecall
    .balign 4
mhandler:
    csrr s2, mcause
    addi s5, s5, 1
    slli s6, s6, 4
    or s6, s6, s2
    li t0, 8
    beq s2, t0, 1f
    li t0, 7
    csrw mcounteren, t0
    csrw scounteren, t0
    mret
1:  csrr s7, minstret
    csrr s8, minstret
    li t0, 1000
    csrw minstret, t0
    csrr s9, minstret
    wfi
*/
static const uint16_t prog_cnt[] = {
    0x0297, 0x0000, 0x8293, 0x03c2, 0x9073, 0x3052, 0x0297, 0x0000, 0x8293, 0x01a2, 0x9073, 0x3412,
    0x6289, 0x829b, 0x8002, 0xb073, 0x3002, 0x0073, 0x3020, 0x2573, 0xc000, 0x25f3, 0xc020, 0x2673,
    0xc020, 0x26f3, 0xc010, 0x0073, 0x0000, 0x0001, 0x2973, 0x3420, 0x0a85, 0x0b12, 0x6b33, 0x012b,
    0x42a1, 0x0963, 0x0059, 0x429d, 0x9073, 0x3062, 0x9073, 0x1062, 0x0073, 0x3020, 0x2bf3, 0xb020,
    0x2c73, 0xb020, 0x0293, 0x3e80, 0x9073, 0xb022, 0x2cf3, 0xb020, 0x0073, 0x1050,
};

/* one-block loops (decoded as unrolled copies of the body with a direct re-entry branch): exits in
 * the middle of the unrolled copies, a trap in a later iteration (exact mepc/instret), and the same
 * program with tiny run budgets (the re-entry falls back to the ordinary block end)
    li a0, 0
    li a1, 13
1:  addi a0, a0, 3
    addi a1, a1, -1
    bnez a1, 1b
    li a3, 0
2:  ld t0, 0(a2)          # a2 = RAM end - 40 (set by the test): faults in the 6th iteration
    addi a2, a2, 8
    addi a3, a3, 1
    bne a3, a4, 2b        # a4 = 100
    wfi
handler:                  # at +0x1c (mtvec)
    wfi
*/
static const uint16_t prog_loop[] = {
    0x4501, 0x45b5, 0x050d, 0x15fd, 0xfdf5, 0x4681, 0x3283, 0x0006, 0x0621, 0x0685, 0x9ce3, 0xfee6,
    0x0073, 0x1050, 0x0073, 0x1050,
};

/* an unrolled loop run again by an outer loop: its exits and entries are then chained links
    li s1, 3
    li a0, 0
3:  li a1, 13
1:  addi a0, a0, 3
    addi a1, a1, -1
    bnez a1, 1b
    addi s1, s1, -1
    bnez s1, 3b
    wfi
*/
static const uint16_t prog_loop2[] = {
    0x448d, 0x4501, 0x45b5, 0x050d, 0x15fd, 0xfdf5, 0x14fd, 0xf8fd, 0x0073, 0x1050,
};

/* peephole forms (zext.w pair, sext.w) and the near misses that must not be fused
    li a0, -5
    slli a1, a0, 32
    srli a1, a1, 32       # fused: a1 = 0xfffffffb
    slli a2, a0, 32
    srli a3, a2, 32       # different rd: not fused
    slli zero, a0, 32
    srli a4, zero, 32     # x0 stays 0
    addiw a5, a0, 0       # sext.w
    li t0, 3
    slli t0, t0, 31
    sext.w t1, t0
    slli a6, a0, 32
    srli a6, a6, 31       # other shift amount: not fused
    wfi
*/
static const uint16_t prog_peep[] = {
    0x556d, 0x1593, 0x0205, 0x9181, 0x1613, 0x0205, 0x5693, 0x0206, 0x1013, 0x0205, 0x5713, 0x0200,
    0x079b, 0x0005, 0x428d, 0x02fe, 0x831b, 0x0002, 0x1813, 0x0205, 0x5813, 0x01f8, 0x0073, 0x1050,
};

/* ---------------- harness ---------------- */
enum { A0 = 10, A1, A2, A3, A4, A5, A6, A7, S2 = 18, S3, S4, S5, S6, S7, S8, S9, S10, S11,
       T0 = 5, T1 = 6, SP = 2, S0 = 8, S1 = 9 };
#define X(r) rv_hart_get_xreg(h, (r))

static rv_hart *load_prog(const uint16_t *p, size_t bytes)
{
    memset(g_mem.host, 0, 1u << 20);
    memcpy(g_mem.host, p, bytes);
    g_mtime = 0;
    g_hart = rv_hart_new(&g_mach, 0, &g_mem);
    return g_hart;
}
#define LOAD(name) load_prog(prog_##name, sizeof prog_##name)

/* runs until the hart stops for something other than the budget, or max instructions */
static enum rv_run_result run(rv_hart *h, uint64_t max)
{
    uint64_t start = rv_hart_instret(h);
    enum rv_run_result r;
    do r = rv_hart_run(h, 10000);
    while (r == RV_RUN_BUDGET && rv_hart_instret(h) - start < max);
    return r;
}

static void done(rv_hart *h)
{
    rv_hart_free(h);
    g_hart = NULL;
}

static uint64_t rd64(uint64_t pa) { uint64_t v; memcpy(&v, g_mem.host + (pa - RV_RAM_BASE), 8); return v; }
static void wr64(uint64_t pa, uint64_t v) { memcpy(g_mem.host + (pa - RV_RAM_BASE), &v, 8); }

static void test_int(void)
{
    TEST_BEGIN("cpu_int_ops");
    rv_hart *h = LOAD(int);
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A2), 93);
    CHECK_EQ_U64(X(A3), (uint64_t)-107);
    CHECK_EQ_U64(X(A4), 100ull << 60);
    CHECK_EQ_U64(X(A5), (uint64_t)-4);
    CHECK_EQ_U64(X(A6), 0xf);
    CHECK_EQ_U64(X(T0), 1);
    CHECK_EQ_U64(X(T1), 0);
    CHECK_EQ_U64(X(7), 0xffffffff80000000ull);
    CHECK_EQ_U64(X(28), 0x7fffffff);
    CHECK_EQ_U64(X(29), (uint64_t)-4);
    CHECK_EQ_U64(X(30), 0x0fffffff);             /* srlw: (0xfffffff9 >> (100 & 31)) */
    CHECK_EQ_U64(X(31), ~100ull);
    CHECK(X(S2) > RV_RAM_BASE && X(S2) < RV_RAM_BASE + 0x100);
    CHECK_EQ_U64(X(S3), 1);
    CHECK_EQ_U64(X(S4), 0xf0);
    CHECK_EQ_U64(X(S6), 0);            /* skipped by jal */
    CHECK(X(S5) != 0);
    CHECK_EQ_U64(X(S7), 0);            /* x0 stays zero */
    CHECK_EQ_U64(X(0), 0);
    CHECK(rv_hart_instret(h) >= 20);
    done(h);
    TEST_END();
}

static void test_mul(void)
{
    TEST_BEGIN("cpu_m_edge_cases");
    rv_hart *h = LOAD(mul);
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A2), 1ull << 63);               /* INT64_MIN / -1 */
    CHECK_EQ_U64(X(A3), 0);
    CHECK_EQ_U64(X(A4), ~0ull);                    /* div by zero */
    CHECK_EQ_U64(X(A5), ~0ull);
    CHECK_EQ_U64(X(A6), ~0ull);                    /* rem by zero = dividend */
    CHECK_EQ_U64(X(A7), 1ull << 63);
    CHECK_EQ_U64(X(S2), 1ull << 62);
    CHECK_EQ_U64(X(S3), 0xfffffffffffffffeull);
    CHECK_EQ_U64(X(S4), ~0ull);
    CHECK_EQ_U64(X(S5), 0xffffffff80000000ull);
    CHECK_EQ_U64(X(S6), 0);
    CHECK_EQ_U64(X(S7), ~0ull);
    CHECK_EQ_U64(X(S8), 0);
    CHECK_EQ_U64(X(S9), (uint64_t)-3);
    CHECK_EQ_U64(X(S10), 1);
    done(h);
    TEST_END();
}

static void test_csr(void)
{
    TEST_BEGIN("cpu_csr");
    rv_hart *h = LOAD(csr);
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A0), 0x1234);
    CHECK_EQ_U64(X(A1), 0x800000000014112dull);    /* RV64 IMAFDCSU */
    CHECK_EQ_U64(X(A2), 0);
    CHECK_EQ_U64(X(A3), 0);
    CHECK_EQ_U64(X(A4), 2);                        /* unknown CSR: illegal */
    CHECK_EQ_U64(X(A5), 0x7c0026f3);               /* tval = instruction bits */
    CHECK_EQ_U64(X(A6), 2);                        /* write to read-only CSR */
    CHECK_EQ_U64(X(A7), 0);                        /* Sv57 not supported: satp unchanged */
    CHECK_EQ_U64(X(S2), (1ull << 54) - 1);
    CHECK_EQ_U64(X(S3), 0x9f9f9f9f9f9f9f9full);
    CHECK_EQ_U64(X(S4), 2);                        /* pmpcfg1 does not exist on RV64 */
    CHECK_EQ_U64((X(S5) >> 32) & 0xf, 0xa);        /* UXL = SXL = 64 */
    CHECK_EQ_U64(X(S6), (1ull << 63) | 1);
    CHECK_EQ_U64(X(S7), 2);                        /* fcsr with FS=Off */
    CHECK_EQ_U64(X(S8), (8ull << 60) | 0x123);     /* Sv39 accepted */
    done(h);
    TEST_END();
}

static void test_trap(void)
{
    TEST_BEGIN("cpu_trap_delegation");
    rv_hart *h = LOAD(trap);
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A0), 42);
    CHECK_EQ_U64(X(A1), 43);
    CHECK_EQ_U64(X(A2), 0);
    CHECK_EQ_U64(X(S5), 2);                        /* S handler ran twice */
    CHECK_EQ_U64(X(S2), 8);                        /* ecall from U, delegated */
    CHECK_EQ_U64(X(S4) & MS_SPP, 0);               /* came from U */
    CHECK_EQ_U64(X(S6), 9);                        /* ecall from S, not delegated */
    CHECK_EQ_U64((X(S8) >> 11) & 3, 1);            /* MPP = S */
    CHECK_EQ_U64(h->priv, RV_PRIV_M);
    done(h);
    TEST_END();
}

/* page tables: root at 0x80010000; identity gigapage for RAM; VA 0x40000000 -> PA 0x80020000
 * (no A/D), VA 0x40001000 -> PA 0x80021000 with U set (S access without SUM faults) */
static void build_pt(bool sv48)
{
    const uint64_t V = 1, R = 2, W = 4, Xp = 8, Us = 16, A = 64, D = 128;
    uint64_t root = 0x80010000, l2 = 0x80013000, l1 = 0x80011000, l0 = 0x80012000;
    uint64_t top = root;
    if (sv48) { wr64(root + 0 * 8, ((l2 >> 12) << 10) | V); top = l2; }
    wr64(top + 2 * 8, ((0x80000000ull >> 12) << 10) | V | R | W | Xp | A | D);
    wr64(top + 1 * 8, ((l1 >> 12) << 10) | V);
    wr64(l1 + 0 * 8, ((l0 >> 12) << 10) | V);
    wr64(l0 + 0 * 8, ((0x80020000ull >> 12) << 10) | V | R | W);
    wr64(l0 + 1 * 8, ((0x80021000ull >> 12) << 10) | V | R | W | Us | A | D);
    wr64(l0 + 2 * 8, ((0x80022000ull >> 12) << 10) | V | Xp | A);            /* execute-only */
    wr64(top + 3 * 8, ((0x80001000ull >> 12) << 10) | V | R | W | A | D);    /* misaligned gigapage */
}

static void test_vm(bool sv48)
{
    TEST_BEGIN(sv48 ? "cpu_sv48" : "cpu_sv39");
    rv_hart *h = LOAD(vm);
    build_pt(sv48);
    rv_hart_set_xreg(h, A7, ((sv48 ? 9ull : 8ull) << 60) | (0x80010000ull >> 12));
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A0), 0x55);
    CHECK_EQ_U64(rd64(0x80020008), 0x55);
    CHECK_EQ_U64(rd64(0x80012000) & 0xc0, 0xc0);   /* A and D set by the walker */
    CHECK_EQ_U64(X(S5), 2);
    CHECK_EQ_U64(X(A2), 0);                        /* U page from S without SUM: faulted */
    CHECK_EQ_U64(X(A3), 1);
    CHECK_EQ_U64(X(S2), 13);                       /* load page fault */
    CHECK_EQ_U64(X(S3), 0x50000000);
    CHECK_EQ_U64(X(A4), 0);
    done(h);
    TEST_END();
}

/* M-mode with MPRV (MPP=S): translated loads/stores, SUM, MXR, misaligned superpage, a misaligned
 * load across two pages; then an instruction page fault in S-mode */
static void test_vm2(void)
{
    TEST_BEGIN("cpu_mprv_sum_mxr_fetch_fault");
    rv_hart *h = LOAD(vm2);
    build_pt(false);
    wr64(0x80021000, 0x99);
    wr64(0x80022000, 0xaa);
    uint32_t w = 0x11223344;
    memcpy(g_mem.host + 0x20ffc, &w, 4);
    rv_hart_set_xreg(h, A7, (8ull << 60) | (0x80010000ull >> 12));
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A0), 0x77);
    CHECK_EQ_U64(rd64(0x80020010), 0x77);
    CHECK_EQ_U64(X(A1), 0);                        /* U page without SUM */
    CHECK_EQ_U64(X(A2), 0x99);                     /* with SUM */
    CHECK_EQ_U64(X(A3), 0);                        /* execute-only without MXR */
    CHECK_EQ_U64(X(A4), 0xaa);                     /* with MXR */
    CHECK_EQ_U64(X(A5), 0);                        /* misaligned gigapage */
    CHECK_EQ_U64(X(A6), 0x0000009911223344ull);    /* misaligned across pages */
    CHECK_EQ_U64(X(S6), 0xddddc);                  /* 4 load page faults, then a fetch page fault */
    CHECK_EQ_U64(X(S4), 0x40003000);               /* cross-page load: tval is the faulting page */
    CHECK_EQ_U64(X(A7), (8ull << 60) | (0x80010000ull >> 12));   /* not written */
    CHECK_EQ_U64(X(S3), 0x40003000);
    CHECK_EQ_U64(h->mepc, 0x40003000);
    done(h);
    TEST_END();
}

static void test_counters(void)
{
    TEST_BEGIN("cpu_counters_counteren");
    rv_hart *h = LOAD(cnt);
    g_mtime = 12345;
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(S6), 0x28);                     /* rdcycle from U with mcounteren=0: illegal */
    CHECK(X(A0) > 0);
    CHECK_EQ_U64(X(A2) - X(A1), 1);                /* instret counts each instruction */
    CHECK_EQ_U64(X(A3), 12345);                    /* time = platform mtime */
    CHECK_EQ_U64(X(S8) - X(S7), 1);
    CHECK_EQ_U64(X(S9), 1000);                     /* minstret write takes effect */
    done(h);
    TEST_END();
}

static void test_loop(void)
{
    TEST_BEGIN("cpu_unrolled_loop_exits_and_traps");
    for (int slice = 0; slice < 2; slice++) {
        rv_hart *h = LOAD(loop);
        h->mtvec = RV_RAM_BASE + 0x1c;
        rv_hart_set_xreg(h, A2, RV_RAM_BASE + (16u << 20) - 40);
        rv_hart_set_xreg(h, A4, 100);
        enum rv_run_result r;
        unsigned calls = 0;
        if (slice == 0) r = run(h, 1000);
        else do { r = rv_hart_run(h, 2); calls++; } while (r == RV_RUN_BUDGET && calls < 1000);
        CHECK(r == RV_RUN_WFI);
        CHECK_EQ_U64(X(A0), 39);                   /* 13 iterations of the first loop */
        CHECK_EQ_U64(X(A1), 0);
        CHECK_EQ_U64(X(A3), 5);                    /* 5 iterations completed before the fault */
        CHECK_EQ_U64(X(A2), RV_RAM_BASE + (16u << 20));
        CHECK_EQ_U64(h->mcause, RV_EXC_LOAD_ACCESS);
        CHECK_EQ_U64(h->mepc, RV_RAM_BASE + 0xc);
        CHECK_EQ_U64(h->mtval, RV_RAM_BASE + (16u << 20));
        CHECK_EQ_U64(rv_hart_instret(h), 2 + 13 * 3 + 1 + 5 * 4 + 1);   /* ... + the handler's wfi */
        if (slice == 1) CHECK(calls >= 4);        /* several slices: the fallback path ran */
        done(h);
    }
    TEST_END();
}

static void test_loop_chained(void)
{
    TEST_BEGIN("cpu_unrolled_loop_chained_instret");
    rv_hart *h = LOAD(loop2);
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A0), 3 * 39);
    CHECK_EQ_U64(X(S1), 0);
    CHECK_EQ_U64(rv_hart_instret(h), 2 + 3 * (1 + 13 * 3 + 2) + 1);
    done(h);
    TEST_END();
}

static void test_peephole(void)
{
    TEST_BEGIN("cpu_peephole_zext_sext");
    rv_hart *h = LOAD(peep);
    CHECK(run(h, 100) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A1), 0xfffffffbull);
    CHECK_EQ_U64(X(A2), 0xfffffffb00000000ull);
    CHECK_EQ_U64(X(A3), 0xfffffffbull);
    CHECK_EQ_U64(X(A4), 0);
    CHECK_EQ_U64(X(A5), 0xfffffffffffffffbull);
    CHECK_EQ_U64(X(T0), 0x180000000ull);
    CHECK_EQ_U64(X(T1), 0xffffffff80000000ull);
    CHECK_EQ_U64(X(A6), 0x1fffffff6ull);
    CHECK_EQ_U64(rv_hart_instret(h), 14);
    done(h);
    TEST_END();
}

/* a trap loop (mtvec outside RAM: every fetch faults) retires nothing but must end the slice */
static void test_trap_loop(void)
{
    static const uint16_t prog[] = { 0x0000, 0x0000 };          /* illegal */
    TEST_BEGIN("cpu_trap_loop_returns");
    rv_hart *h = load_prog(prog, sizeof prog);
    h->mtvec = 0x1000;
    CHECK(rv_hart_run(h, 1000) == RV_RUN_BUDGET);
    CHECK_EQ_U64(h->mcause, RV_EXC_INSN_ACCESS);
    CHECK_EQ_U64(h->mtval, 0x1000);
    CHECK_EQ_U64(rv_hart_instret(h), 0);
    done(h);
    TEST_END();
}

static void test_amo(void)
{
    TEST_BEGIN("cpu_lr_sc_amo");
    rv_hart *h = LOAD(amo);
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A0), 5);
    CHECK_EQ_U64(X(A1), 0);                        /* sc success */
    CHECK_EQ_U64(X(A2), 9);
    CHECK_EQ_U64(X(A3), 1);                        /* sc without reservation fails */
    CHECK_EQ_U64(X(A4), 9);
    CHECK_EQ_U64(X(A5), 19);
    CHECK_EQ_U64(X(A6), 19);
    CHECK_EQ_U64(X(A7), 19);
    CHECK_EQ_U64(X(S2), 19);
    CHECK_EQ_U64(X(S3), ~0ull);
    CHECK_EQ_U64(X(S7), ~0ull);
    CHECK_EQ_U64(X(S8), ~0ull);
    CHECK_EQ_U64(X(S9), 3);
    CHECK_EQ_U64(X(S10), 0);
    CHECK_EQ_U64(rd64(0x80008000), 3);
    CHECK_EQ_U64(X(S5), 6);                        /* misaligned AMO: store/AMO misaligned */
    CHECK_EQ_U64(X(S6), 0x80008002);
    done(h);
    TEST_END();
}

static void test_compressed(void)
{
    TEST_BEGIN("cpu_compressed");
    rv_hart *h = LOAD(comp);
    rv_hart_set_xreg(h, S0, 0x80008000);
    rv_hart_set_xreg(h, SP, 0x80009000);
    h->mtvec = 0x80000038;                         /* the final wfi */
    CHECK(run(h, 1000) == RV_RUN_WFI);
    /* a0 = 5+3-2 = 6; a2 = (6<<4)+1 = 97; a3 = ((4096-97)>>1)&31 */
    CHECK_EQ_U64(X(A0), 6);
    CHECK_EQ_U64(X(A2), 97);
    CHECK_EQ_U64(X(A3), ((4096 - 97) >> 1) & 31);
    CHECK_EQ_U64(X(A4), 6);                        /* lw, not cleared (bnez taken) */
    CHECK_EQ_U64(X(A5), 98);                       /* ld 97 then +1 (beqz not taken) */
    CHECK_EQ_U64(X(S1), 6);                        /* sdsp / ldsp */
    CHECK_EQ_U64(X(SP), 0x80009020);
    CHECK_EQ_U64(X(A1), 0x80009028);
    CHECK_EQ_U64(h->mcause, 3);                    /* c.ebreak */
    done(h);
    TEST_END();
}

static void test_smc(void)
{
    TEST_BEGIN("cpu_self_modifying_code");
    rv_hart *h = LOAD(smc);
    rv_hart_set_xreg(h, T1, 0x80820529);           /* c.addi a0,10 ; c.ret */
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A0), 11);
    /* device write + rv_hart_invalidate_code: change c.addi a0,10 into c.addi a0,3 */
    uint16_t c3 = 0x050d;
    memcpy(g_mem.host + 0x1c, &c3, 2);
    rv_hart_invalidate_code(h, 0x8000001c, 2);
    h->pc = 0x80000014;                            /* jal func; wfi */
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A0), 14);
    done(h);
    TEST_END();
}

static void test_wfi(void)
{
    TEST_BEGIN("cpu_wfi");
    rv_hart *h = LOAD(wfi);
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(rv_hart_get_pc(h), 0x8000000c);
    CHECK(!rv_hart_wakeup_pending(h));
    uint64_t w = g_wakes;
    rv_hart_set_irq(h, RV_IRQ_MTI, true);
    CHECK(g_wakes > w);
    CHECK(rv_hart_wakeup_pending(h));
    /* MIE=0: not taken, WFI with a pending enabled interrupt does not stop */
    enum rv_run_result r = rv_hart_run(h, 5000);
    CHECK(r == RV_RUN_KICKED || r == RV_RUN_BUDGET);
    r = run(h, 5000);
    CHECK(r == RV_RUN_BUDGET);
    CHECK_EQ_U64(X(A0), 1);
    CHECK_EQ_U64(X(A1), 2);
    rv_hart_kick(h);
    CHECK(rv_hart_run(h, 1000000) == RV_RUN_KICKED);
    done(h);
    TEST_END();
}

static void test_sstc(void)
{
    TEST_BEGIN("cpu_sstc");
    rv_hart *h = LOAD(sstc);
    CHECK(rv_hart_timer_deadline(h) == UINT64_MAX);
    g_mtime = 500;
    CHECK(run(h, 100000) == RV_RUN_BUDGET);
    CHECK_EQ_U64(rv_hart_timer_deadline(h), 1500);
    CHECK(X(A0) > 0);
    CHECK_EQ_U64(X(S2), 0);
    g_mtime = 1600;
    CHECK(run(h, 100000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(S2), (1ull << 63) | 5);         /* supervisor timer interrupt */
    CHECK(X(S3) & 0x20);
    CHECK_EQ_U64(X(S4) & 0x20, 0);                 /* cleared by the new stimecmp */
    CHECK_EQ_U64(h->priv, RV_PRIV_S);
    done(h);
    TEST_END();
}

static void test_irq(void)
{
    TEST_BEGIN("cpu_interrupt_priority");
    rv_hart *h = LOAD(irq);
    rv_hart_set_irq(h, RV_IRQ_MTI, true);
    rv_hart_set_irq(h, RV_IRQ_MSI, true);
    CHECK(run(h, 1000) == RV_RUN_WFI || h->mcause);
    CHECK_EQ_U64(X(S2), (1ull << 63) | 3);         /* MSI before MTI */
    CHECK_EQ_U64(X(A0), 0);                        /* taken right after csrsi mstatus */
    CHECK_EQ_U64(X(S3), 0x80000018);
    done(h);
    TEST_END();
}

static void test_fp(void)
{
    TEST_BEGIN("cpu_fp");
    rv_hart *h = LOAD(fp);
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A5), 2);                        /* FS=Off: illegal */
    CHECK_EQ_U64(X(A0), 0x40700000);               /* 1.5 + 2.25 */
    CHECK_EQ_U64((X(A1) >> 13) & 3, 3);            /* FS dirty */
    CHECK(X(A1) >> 63);                            /* SD */
    CHECK_EQ_U64(X(A2), 0xffffffff7fc00000ull);    /* bad NaN-box reads as canonical NaN */
    CHECK_EQ_U64(X(A3), RV_FF_DZ);
    CHECK_EQ_U64(X(A6), 2);                        /* DYN with frm=5: illegal */
    CHECK_EQ_U64(X(A4), 0xffffffff40700000ull);
    CHECK_EQ_U64(X(A7), 3);
    done(h);
    TEST_END();
}

static void test_mmio(void)
{
    /* M-mode accesses outside RAM go to the bus; unknown addresses fault */
    TEST_BEGIN("cpu_mmio_and_access_fault");
    rv_hart *h = LOAD(mmio);
    g_mmio_reg = 0x1234;
    CHECK(run(h, 1000) == RV_RUN_WFI);
    CHECK_EQ_U64(X(A0), 0x1234);
    CHECK_EQ_U64(g_mmio_reg, 77);
    CHECK_EQ_U64(h->mcause, 5);
    CHECK_EQ_U64(h->mtval, 0x20000000);
    CHECK_EQ_U64(h->mepc, 0x80000020);
    CHECK_EQ_U64(X(A2), 0);
    done(h);
    TEST_END();
}

static uint64_t cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void speed(const uint16_t *p, size_t bytes, const char *what, uint64_t iters, unsigned per_iter)
{
    rv_hart *h = load_prog(p, bytes);
    rv_hart_set_xreg(h, A1, iters);
    rv_hart_set_xreg(h, S0, 0x80008000);
    uint64_t t0 = vmk_now_ns(), c0 = cpu_ns();
    enum rv_run_result r;
    do r = rv_hart_run(h, 1000000); while (r == RV_RUN_BUDGET);
    uint64_t dt = vmk_now_ns() - t0, dc = cpu_ns() - c0;
    uint64_t n = rv_hart_instret(h);
    TEST_BEGIN(what);
    CHECK(r == RV_RUN_WFI);
    CHECK(n >= iters * per_iter);
    TEST_END();
    printf("INFO %s: %llu insns in %.3f s (%.3f s CPU), MIPS=%.0f (per CPU second: %.0f)\n", what,
           (unsigned long long)n, dt / 1e9, dc / 1e9, dt ? n * 1e3 / (double)dt : 0.0,
           dc ? n * 1e3 / (double)dc : 0.0);
    done(h);
}

#if defined(__SANITIZE_ADDRESS__)
#define SPEED_ITERS 1000000ull
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SPEED_ITERS 1000000ull
#endif
#endif
#ifndef SPEED_ITERS
#define SPEED_ITERS 30000000ull
#endif

int main(void)
{
    char err[VMK_ERRLEN];
    if (vmk_mem_init(&g_mem, RV_RAM_BASE, 16u << 20, err, sizeof err) < 0) {
        SKIP("cpu", err);
        return 0;
    }
    test_int();
    test_mul();
    test_csr();
    test_trap();
    test_vm(false);
    test_vm(true);
    test_vm2();
    test_counters();
    test_trap_loop();
    test_loop();
    test_peephole();
    test_loop_chained();
    test_amo();
    test_compressed();
    test_smc();
    test_wfi();
    test_sstc();
    test_irq();
    test_fp();
    test_mmio();
    speed(prog_speed, sizeof prog_speed, "cpu_speed_alu_loop", SPEED_ITERS, 3);
    speed(prog_speed2, sizeof prog_speed2, "cpu_speed_load_store_loop", SPEED_ITERS / 2, 5);
    vmk_mem_free(&g_mem);
    TEST_EXIT();
}
