# rv64c.S — RV64C: every compressed integer/FP instruction class (explicit c.* mnemonics so each is
# really 16 bits), jumps and links from 2-byte aligned code, 32-bit instructions at 2-byte aligned
# addresses and one straddling a 4 KiB page boundary, c.ebreak and the all-zero illegal encoding.
#include "isa.inc"
        TEST_BEGIN
        li gp, 1
        c.li a0, -32
        CHECK 1, a0, -32
        c.li a0, 31
        c.addi a0, -1
        CHECK 2, a0, 30
        c.lui a1, 0xfffe0                 # nzimm[17:12] = -32
        CHECK 3, a1, 0xfffffffffffe0000
        c.lui a1, 1
        CHECK 4, a1, 0x1000
        li a2, 0x7fffffff
        c.addiw a2, 1
        CHECK 5, a2, 0xffffffff80000000
        c.addiw a2, 0                     # sext.w
        CHECK 6, a2, 0xffffffff80000000
        mv s1, sp
        c.addi16sp sp, -64
        addi t0, s1, -64
        bne sp, t0, fail
        c.addi4spn a3, sp, 16
        addi t0, sp, 16
        bne a3, t0, fail
        c.addi16sp sp, 64
        bne sp, s1, fail
        li gp, 7
        li a4, 1
        c.slli a4, 63
        CHECK 7, a4, 0x8000000000000000
        c.srai a4, 3
        CHECK 8, a4, 0xf000000000000000
        c.srli a4, 60
        CHECK 9, a4, 0xf
        c.andi a4, -6
        CHECK 10, a4, 0xa
        li a5, 0x33
        c.mv a0, a5
        CHECK 11, a0, 0x33
        c.add a0, a5
        CHECK 12, a0, 0x66
        c.sub a0, a5
        CHECK 13, a0, 0x33
        li a1, 0x0f
        c.xor a0, a1
        CHECK 14, a0, 0x3c
        c.or a0, a1
        CHECK 15, a0, 0x3f
        c.and a0, a1
        CHECK 16, a0, 0x0f
        li a0, 0x7fffffff
        li a1, 1
        c.addw a0, a1
        CHECK 17, a0, 0xffffffff80000000
        c.subw a0, a1
        CHECK 18, a0, 0x7fffffff
        # loads and stores
        lla s0, cbuf
        li a0, 0x1122334455667788
        c.sd a0, 8(s0)
        c.ld a1, 8(s0)
        CHECK 19, a1, 0x1122334455667788
        li a0, 0x80000001
        c.sw a0, 4(s0)
        c.lw a1, 4(s0)
        CHECK 20, a1, 0xffffffff80000001
        c.addi16sp sp, -32
        li a0, -7
        c.sdsp a0, 8(sp)
        c.ldsp a2, 8(sp)
        CHECK 21, a2, -7
        c.swsp a0, 16(sp)
        c.lwsp a2, 16(sp)
        CHECK 22, a2, -7
        li t0, 0x400921fb54442d18
        fmv.d.x fa0, t0
        c.fsdsp fa0, 24(sp)
        c.fldsp fa1, 24(sp)
        fmv.x.d a2, fa1
        CHECK 23, a2, 0x400921fb54442d18
        c.fsd fa0, 16(s0)
        c.fld fa2, 16(s0)
        fmv.x.d a2, fa2
        CHECK 24, a2, 0x400921fb54442d18
        c.addi16sp sp, 32
        # control flow
        li gp, 25
        c.j 1f
        c.j fail2
1:      li a0, 0
        c.beqz a0, 2f
        j fail
2:      c.bnez a0, fail2
        li a0, 5
        c.bnez a0, 3f
        j fail
3:      li gp, 26
        lla t0, 4f
        c.jalr t0                          # ra = address of the next (2-byte) instruction
5:      c.j fail2
4:      lla t1, 5b
        bne ra, t1, fail
        li gp, 27
        lla t0, 6f
        c.jr t0
        c.j fail2
6:      c.nop
        c.mv t1, t1
        # 32-bit instruction at a 2-byte aligned address
        li gp, 28
        .balign 4
        c.nop
        addi a0, x0, 123
        CHECK 28, a0, 123
        # c.ebreak traps with cause 3, mepc at the c.ebreak
        li gp, 29
        lla s11, 7f
        li s10, -1
8:      c.ebreak
        j fail
7:      CHECK 29, s10, 3
        lla t0, 8b
        bne s8, t0, fail
        # 0x0000 is illegal (cause 2)
        li gp, 30
        lla s11, 9f
        li s10, -1
        .half 0
        j fail
9:      CHECK 30, s10, 2
        # a 32-bit instruction straddling a page boundary
        li gp, 31
        li a0, 0
        j straddle
fail2:  j fail
        .balign 4096
        .skip 4094 - 8
straddle:
        c.nop
        c.nop
        c.nop
        c.nop
        .option push
        .option norvc
        addi a0, a0, 77                    # bytes 0xffe..0x1001 of the page pair
        .option pop
        CHECK 31, a0, 77
        TEST_END
cbuf:   .zero 32
