# zicsr.S — Zicsr: read/write/set/clear in register and immediate forms with old values, x0 rules
# (no write for csrrs/csrrc with rs1 = x0), read-only CSRs, misa/mhartid, fflags/frm/fcsr aliasing,
# counters advancing, mstatus.FS gating FP (illegal when Off, Dirty after a write, SD summary).
#include "isa.inc"
        TEST_BEGIN
        li gp, 1
        li t0, 0x1234
        csrw mscratch, t0
        li t1, 0xff00
        csrrw a4, mscratch, t1
        CHECK 1, a4, 0x1234
        csrrs a4, mscratch, 0xf
        CHECK 2, a4, 0xff00
        li t1, 0xf00f
        csrrs a4, mscratch, t1
        CHECK 3, a4, 0xff0f
        csrr a4, mscratch
        CHECK 4, a4, 0xff0f
        li t1, 0x0f0f
        csrrc a4, mscratch, t1
        CHECK 5, a4, 0xff0f
        csrr a4, mscratch
        CHECK 6, a4, 0xf000
        csrrwi a4, mscratch, 21
        CHECK 7, a4, 0xf000
        csrrsi a4, mscratch, 8
        CHECK 8, a4, 21
        csrrci a4, mscratch, 1
        CHECK 9, a4, 29
        csrr a4, mscratch
        CHECK 10, a4, 28
        li t0, -1
        csrw mscratch, t0
        csrr a4, mscratch
        CHECK 11, a4, -1
        # misa: RV64 with I M A F D C S U
        li gp, 12
        csrr a4, misa
        srli t0, a4, 62
        CHECK 12, t0, 2
        li t1, (1 << 8) | (1 << 12) | (1 << 0) | (1 << 5) | (1 << 3) | (1 << 2) | (1 << 18) | (1 << 20)
        and t0, a4, t1
        CHECK 13, t0, (1 << 8) | (1 << 12) | (1 << 0) | (1 << 5) | (1 << 3) | (1 << 2) | (1 << 18) | (1 << 20)
        csrr a4, mhartid
        CHECK 14, a4, 0
        # read-only CSRs: reading with csrrs x0 is fine, writing traps
        csrrs a4, mhartid, x0
        EXPECT_TRAP 15, 2, csrw mhartid, t0
        EXPECT_TRAP 16, 2, csrrsi a4, mvendorid, 1
        EXPECT_TRAP 17, 2, csrw cycle, t0
        # fcsr = frm << 5 | fflags
        li gp, 18
        li t0, 0xff
        csrw fcsr, t0
        csrr a4, fflags
        CHECK 18, a4, 0x1f
        csrr a4, frm
        CHECK 19, a4, 7
        csrwi frm, 2
        csrr a4, fcsr
        CHECK 20, a4, 0x5f
        csrwi fflags, 0x3
        csrr a4, fcsr
        CHECK 21, a4, 0x43
        li t0, 0xfff
        csrw fcsr, t0                     # only 8 bits are kept
        csrr a4, fcsr
        CHECK 22, a4, 0xff
        csrwi fcsr, 0
        # counters advance
        li gp, 23
        csrr a4, minstret
        nop
        nop
        csrr a5, minstret
        bleu a5, a4, fail
        csrr a4, mcycle
        csrr t0, instret
        csrr a5, mcycle
        bltu a5, a4, fail
        # mstatus.FS: Off makes every FP instruction and FP CSR illegal
        li gp, 24
        li t0, (3 << 13)
        csrc mstatus, t0
        EXPECT_TRAP 24, 2, fadd.d fa0, fa1, fa2
        EXPECT_TRAP 25, 2, csrr a4, fcsr
        EXPECT_TRAP 26, 2, fmv.x.d a4, fa0
        EXPECT_TRAP 27, 2, fld fa0, 0(sp)
        # Initial -> Dirty after an FP register write, SD set
        li gp, 28
        li t0, (1 << 13)
        csrs mstatus, t0
        csrr a4, mstatus
        srli t0, a4, 13
        andi t0, t0, 3
        CHECK 28, t0, 1
        fmv.d.x fa0, x0
        csrr a4, mstatus
        srli t0, a4, 13
        andi t0, t0, 3
        CHECK 29, t0, 3
        srli t0, a4, 63
        CHECK 30, t0, 1
        # any change of FP state, including only fflags, makes FS Dirty (from Clean)
        li gp, 37
        li t0, (3 << 13)
        csrc mstatus, t0
        li t0, (2 << 13)                  # Clean
        csrs mstatus, t0
        li t0, 0x3ff8000000000000         # 1.5 (set while Clean: makes it Dirty, so set Clean again)
        fmv.d.x fa0, t0
        li t0, (3 << 13)
        csrc mstatus, t0
        li t0, (2 << 13)
        csrs mstatus, t0
        fcvt.w.d a4, fa0, rtz             # writes an integer register and fflags.NX only
        csrr a4, mstatus
        srli t0, a4, 13
        andi t0, t0, 3
#ifndef QEMU_VIRT                         /* QEMU 7.2 leaves FS Clean when only fflags change */
        CHECK 37, t0, 3
#endif
        li t0, (1 << 13)
        csrc mstatus, t0                  # Clean again (3 -> 2)
        csrwi fflags, 1
        csrr a4, mstatus
        srli t0, a4, 13
        andi t0, t0, 3
        CHECK 38, t0, 3
        csrwi fcsr, 0
        # reserved rounding modes are illegal (static 5, 6; dynamic with frm 5..7)
        li gp, 31
        EXPECT_TRAP 31, 2, .word 0x02b55553    # fadd.d fa0, fa0, fa1 with rm = 5
        EXPECT_TRAP 32, 2, .word 0x02b56553    # rm = 6
        csrwi frm, 7
        EXPECT_TRAP 33, 2, fadd.d fa0, fa0, fa1, dyn
        csrwi frm, 0
        fadd.d fa0, fa0, fa1, dyn
        # sstatus is a view of mstatus
        li gp, 34
        li t0, (1 << 18)                  # SUM
        csrs sstatus, t0
        csrr a4, mstatus
        and a4, a4, t0
        CHECK 34, a4, (1 << 18)
        csrc mstatus, t0
        csrr a4, sstatus
        and a4, a4, t0
        CHECK 35, a4, 0
        # mcounteren gates the time CSR for S-mode
        li gp, 39
        csrw mcounteren, x0
        lla s11, 41f
        li s10, -1
        GOTO_S 42f
42:     rdtime a4
        j fail
41:     CHECK 39, s10, 2
        csrwi mcounteren, 2
        lla s11, 43f
        GOTO_S 44f
44:     rdtime a4
        ecall
43:     CHECK 40, s10, 9
        # sie/sip are views of mie/mip restricted by mideleg
        li gp, 36
        li t0, (1 << 1)
        csrw mideleg, t0
        csrs mie, t0
        csrr a4, sie
        CHECK 36, a4, (1 << 1)
        csrc mie, t0
        csrw mideleg, x0
        TEST_END
