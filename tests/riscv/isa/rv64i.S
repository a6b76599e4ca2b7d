# rv64i.S — RV64I base integer instructions: ALU (reg/imm, W forms), shifts, compares, lui/auipc,
# branches, jal/jalr link values, loads/stores of every width with sign/zero extension, x0 writes.
#include "isa.inc"
        TEST_BEGIN
        TEST_RR 1, add, 0x0000000100000000, 0xffffffff, 1
        TEST_RR 2, add, 0, -1, 1
        TEST_RR 3, sub, -1, 0, 1
        TEST_RR 4, sub, 0x7fffffffffffffff, 0x8000000000000000, 1
        TEST_RR 5, addw, 0xffffffff80000000, 0x7fffffff, 1
        TEST_RR 6, subw, 0x7fffffff, 0x80000000, 1
        TEST_RR 7, addw, 0, 0x123400000000, 0
        TEST_RI 8, addi, -2048, 0, -2048
        TEST_RI 9, addi, 2047, 0, 2047
        TEST_RI 10, addiw, 0xffffffff80000000, 0x7fffffff, 1
        TEST_RI 11, addiw, 0x12345678, 0xabcd12345678, 0
        TEST_RR 12, and, 0x0f000f00, 0xff00ff00, 0x0f0f0f0f
        TEST_RR 13, or, 0xff0fff0f, 0xff00ff00, 0x0f0f0f0f
        TEST_RR 14, xor, 0xf00ff00f, 0xff00ff00, 0x0f0f0f0f
        TEST_RI 15, andi, 0xff00ff00, 0xff00ff00, -1
        TEST_RI 16, ori, -1, 0, -1
        TEST_RI 17, xori, ~0x123, 0x123, -1
        TEST_RR 18, sll, 0x8000000000000000, 1, 63
        TEST_RR 19, sll, 2, 1, 65              # shift amount uses 6 bits
        TEST_RR 20, srl, 1, 0x8000000000000000, 63
        TEST_RR 21, sra, -1, 0x8000000000000000, 63
        TEST_RR 22, sra, 0xc000000000000000, 0x8000000000000000, 1
        TEST_RR 23, sllw, 0xffffffff80000000, 1, 31
        TEST_RR 24, sllw, 2, 1, 33             # W shifts use 5 bits
        TEST_RR 25, srlw, 1, 0x80000000, 31
        TEST_RR 26, srlw, 0x7fffffff, 0xffffffffffffffff, 1
        TEST_RR 27, sraw, -1, 0x80000000, 31
        TEST_RR 28, sraw, 0xffffffffc0000000, 0x80000000, 1
        TEST_RI 29, slli, 0x100000000, 1, 32
        TEST_RI 30, srli, 0x00000000ffffffff, -1, 32
        TEST_RI 31, srai, -1, 0x8000000000000000, 63
        TEST_RI 32, slliw, 0xffffffff80000000, 1, 31
        TEST_RI 33, srliw, 0x0000000000000001, 0xffffffff80000000, 31
        TEST_RI 34, sraiw, -1, 0x80000000, 31
        TEST_RI 35, sraiw, 0x12345678, 0xffffffff12345678, 0
        TEST_RR 36, slt, 1, -1, 0
        TEST_RR 37, slt, 0, 0, -1
        TEST_RR 38, sltu, 0, -1, 0
        TEST_RR 39, sltu, 1, 0, -1
        TEST_RI 40, slti, 1, -5, -4
        TEST_RI 41, sltiu, 1, 5, -1            # immediate sign-extended, then unsigned compare
        TEST_RI 42, sltiu, 0, -1, 5
        # lui / auipc
        li gp, 43
        lui a4, 0x80000
        li t2, 0xffffffff80000000
        bne a4, t2, fail
        li gp, 44
1:      auipc a4, 0
        lla t2, 1b
        bne a4, t2, fail
        li gp, 45
2:      auipc a4, 1
        lla t2, 2b
        li t3, 0x1000
        add t2, t2, t3
        bne a4, t2, fail
        # x0 stays zero
        li gp, 46
        li t0, 5
        add x0, t0, t0
        addi x0, x0, 7
        bnez x0, fail
        # branches: taken and not taken, signed and unsigned
        li gp, 47
        li a1, -1
        li a2, 1
        blt a2, a1, fail
        bge a1, a2, fail
        bltu a1, a2, fail
        bgeu a2, a1, fail
        beq a1, a2, fail
        bne a1, a1, fail
        li gp, 48
        blt a1, a2, 3f
        j fail
3:      bltu a2, a1, 3f
        j fail
3:      bge a2, a1, 3f
        j fail
3:      bgeu a1, a2, 3f
        j fail
3:      bge a1, a1, 3f
        j fail
3:      beq a2, a2, 3f
        j fail
3:
        # jal / jalr: link register and target (jalr clears bit 0)
        li gp, 49
        jal ra, 4f
5:      j fail
4:      lla t2, 5b
        bne ra, t2, fail
        li gp, 50
        lla t0, 6f
        addi t0, t0, 1                  # odd target: bit 0 ignored
        jalr t1, t0, 0
7:      j fail
6:      lla t2, 7b
        bne t1, t2, fail
        li gp, 51
        lla t0, 8f - 8
        jalr t0, t0, 8                  # rd == rs1: target computed from the old value
9:      j fail
8:      lla t2, 9b
        bne t0, t2, fail
        # loads and stores
        lla s0, buf
        li t0, 0x8877665544332211
        sd t0, 0(s0)
        li gp, 52
        lb a4, 7(s0)
        CHECK 52, a4, 0xffffffffffffff88
        lbu a4, 7(s0)
        CHECK 53, a4, 0x88
        lh a4, 6(s0)
        CHECK 54, a4, 0xffffffffffff8877
        lhu a4, 6(s0)
        CHECK 55, a4, 0x8877
        lw a4, 4(s0)
        CHECK 56, a4, 0xffffffff88776655
        lwu a4, 4(s0)
        CHECK 57, a4, 0x88776655
        lw a4, 0(s0)
        CHECK 58, a4, 0x44332211
        ld a4, 0(s0)
        CHECK 59, a4, 0x8877665544332211
        li t0, 0xaabbccdd
        sb t0, 8(s0)
        sh t0, 10(s0)
        sw t0, 12(s0)
        ld a4, 8(s0)
        CHECK 60, a4, 0xaabbccddccdd00dd
        sd x0, 16(s0)
        addi s1, s0, 32
        sw t0, -12(s1)                  # negative offsets
        ld a4, 16(s0)
        CHECK 61, a4, 0xaabbccdd00000000
        lb a4, -9(s1)
        CHECK 62, a4, 0xffffffffffffffaa
        # load into x0 is discarded, still performed
        li gp, 63
        ld x0, 0(s0)
        bnez x0, fail
        # fence / fence.i are accepted
        fence
        fence rw, rw
        fence.i
        # self-modifying code after fence.i: patch an addi immediate
        li gp, 64
        lla t0, 10f
        lw t1, 0(t0)
        li t2, 0xfff00000               # clear imm field
        not t2, t2
        and t1, t1, t2
        li t2, (42 << 20)
        or t1, t1, t2
        sw t1, 0(t0)
        fence.i
        .option push
        .option norvc
10:     addi a4, x0, 1
        .option pop
        CHECK 64, a4, 42
        TEST_END
buf:    .zero 64
