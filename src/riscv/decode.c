/* decode.c — RV64GC instruction decoder: turns a 32-bit instruction word, or a 16-bit compressed
 * one (expanded to its 32-bit equivalent first), into the compact rv_insn the interpreter runs.
 * Reserved and unknown encodings decode to OP_ILLEGAL carrying the raw bits. */
#include "hart.h"

static inline int32_t sext32(uint32_t v, unsigned bits)
{
    return (int32_t)(v << (32 - bits)) >> (32 - bits);
}

static void set_r(rv_insn *o, uint16_t op, uint32_t r)
{
    o->op = op;
    o->rd = (r >> 7) & 31;
    o->rs1 = (r >> 15) & 31;
    o->rs2 = (r >> 20) & 31;
    o->rs3 = (r >> 27) & 31;
    o->rm = (r >> 12) & 7;
}

static void decode32(uint32_t r, rv_insn *o)
{
    unsigned opc = r & 0x7f, f3 = (r >> 12) & 7, f7 = r >> 25;
    int32_t imm_i = (int32_t)r >> 20;
    int32_t imm_s = sext32(((r >> 25) << 5) | ((r >> 7) & 31), 12);
    int32_t imm_b = sext32(((r >> 31) << 12) | (((r >> 7) & 1) << 11) | (((r >> 25) & 0x3f) << 5) |
                           (((r >> 8) & 15) << 1), 13);
    int32_t imm_u = (int32_t)(r & 0xfffff000u);
    int32_t imm_j = sext32(((r >> 31) << 20) | (((r >> 12) & 0xff) << 12) | (((r >> 20) & 1) << 11) |
                           (((r >> 21) & 0x3ff) << 1), 21);
    set_r(o, OP_ILLEGAL, r);
    o->imm = (int32_t)r;
    uint16_t op = OP_ILLEGAL;
    int32_t imm = 0;
    switch (opc) {
    case 0x37: op = OP_LUI; imm = imm_u; break;
    case 0x17: op = OP_AUIPC; imm = imm_u; break;
    case 0x6f: op = OP_JAL; imm = imm_j; break;
    case 0x67: if (f3 == 0) { op = OP_JALR; imm = imm_i; } break;
    case 0x63: {
        static const uint16_t bops[8] = { OP_BEQ, OP_BNE, 0, 0, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU };
        op = bops[f3]; imm = imm_b; break;
    }
    case 0x03: {
        static const uint16_t lops[8] = { OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU, 0 };
        op = lops[f3]; imm = imm_i; break;
    }
    case 0x23: {
        static const uint16_t sops[8] = { OP_SB, OP_SH, OP_SW, OP_SD, 0, 0, 0, 0 };
        op = sops[f3]; imm = imm_s; break;
    }
    case 0x13:
        imm = imm_i;
        switch (f3) {
        case 0: op = OP_ADDI; break;
        case 2: op = OP_SLTI; break;
        case 3: op = OP_SLTIU; break;
        case 4: op = OP_XORI; break;
        case 6: op = OP_ORI; break;
        case 7: op = OP_ANDI; break;
        case 1: if ((r >> 26) == 0) { op = OP_SLLI; imm = (r >> 20) & 63; } break;
        case 5:
            if ((r >> 26) == 0) { op = OP_SRLI; imm = (r >> 20) & 63; }
            else if ((r >> 26) == 0x10) { op = OP_SRAI; imm = (r >> 20) & 63; }
            break;
        }
        break;
    case 0x1b:
        switch (f3) {
        case 0: op = OP_ADDIW; imm = imm_i; break;
        case 1: if (f7 == 0) { op = OP_SLLIW; imm = (r >> 20) & 31; } break;
        case 5:
            if (f7 == 0) { op = OP_SRLIW; imm = (r >> 20) & 31; }
            else if (f7 == 0x20) { op = OP_SRAIW; imm = (r >> 20) & 31; }
            break;
        }
        break;
    case 0x33:
        if (f7 == 0) {
            static const uint16_t o[8] = { OP_ADD, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_OR, OP_AND };
            op = o[f3];
        } else if (f7 == 0x20) {
            if (f3 == 0) op = OP_SUB; else if (f3 == 5) op = OP_SRA;
        } else if (f7 == 1) {
            static const uint16_t o[8] = { OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU, OP_DIV, OP_DIVU, OP_REM, OP_REMU };
            op = o[f3];
        }
        break;
    case 0x3b:
        if (f7 == 0) {
            if (f3 == 0) op = OP_ADDW; else if (f3 == 1) op = OP_SLLW; else if (f3 == 5) op = OP_SRLW;
        } else if (f7 == 0x20) {
            if (f3 == 0) op = OP_SUBW; else if (f3 == 5) op = OP_SRAW;
        } else if (f7 == 1) {
            static const uint16_t o[8] = { OP_MULW, 0, 0, 0, OP_DIVW, OP_DIVUW, OP_REMW, OP_REMUW };
            op = o[f3];
        }
        break;
    case 0x0f:
        if (f3 == 0) op = OP_FENCE;          /* fence, fence.tso, pause */
        else if (f3 == 1) op = OP_FENCE_I;
        break;
    case 0x73:
        if (f3 == 0) {
            if (r == 0x00000073) op = OP_ECALL;
            else if (r == 0x00100073) op = OP_EBREAK;
            else if (r == 0x30200073) op = OP_MRET;
            else if (r == 0x10200073) op = OP_SRET;
            else if (r == 0x10500073) op = OP_WFI;
            else if (f7 == 0x09 && ((r >> 7) & 31) == 0) op = OP_SFENCE_VMA;
        } else if (f3 != 4) {
            static const uint16_t o[8] = { 0, OP_CSRRW, OP_CSRRS, OP_CSRRC, 0, OP_CSRRWI, OP_CSRRSI, OP_CSRRCI };
            op = o[f3];
            imm = (r >> 20) & 0xfff;
        }
        break;
    case 0x2f: {
        unsigned f5 = r >> 27;
        if (f3 != 2 && f3 != 3) break;
        bool d = f3 == 3;
        switch (f5) {
        case 0x02: if (((r >> 20) & 31) == 0) op = d ? OP_LR_D : OP_LR_W; break;
        case 0x03: op = d ? OP_SC_D : OP_SC_W; break;
        case 0x01: op = d ? OP_AMOSWAP_D : OP_AMOSWAP_W; break;
        case 0x00: op = d ? OP_AMOADD_D : OP_AMOADD_W; break;
        case 0x04: op = d ? OP_AMOXOR_D : OP_AMOXOR_W; break;
        case 0x0c: op = d ? OP_AMOAND_D : OP_AMOAND_W; break;
        case 0x08: op = d ? OP_AMOOR_D : OP_AMOOR_W; break;
        case 0x10: op = d ? OP_AMOMIN_D : OP_AMOMIN_W; break;
        case 0x14: op = d ? OP_AMOMAX_D : OP_AMOMAX_W; break;
        case 0x18: op = d ? OP_AMOMINU_D : OP_AMOMINU_W; break;
        case 0x1c: op = d ? OP_AMOMAXU_D : OP_AMOMAXU_W; break;
        }
        break;
    }
    case 0x07:
        if (f3 == 2) { op = OP_FLW; imm = imm_i; } else if (f3 == 3) { op = OP_FLD; imm = imm_i; }
        break;
    case 0x27:
        if (f3 == 2) { op = OP_FSW; imm = imm_s; } else if (f3 == 3) { op = OP_FSD; imm = imm_s; }
        break;
    case 0x43: case 0x47: case 0x4b: case 0x4f: {
        unsigned fmt = (r >> 25) & 3, k = (opc - 0x43) >> 2;
        if (fmt == 0) op = (uint16_t)(OP_FMADD_S + k);
        else if (fmt == 1) op = (uint16_t)(OP_FMADD_D + k);
        break;
    }
    case 0x53: {
        unsigned rs2 = (r >> 20) & 31;
        bool d;
        switch (f7) {
        case 0x00: op = OP_FADD_S; break;
        case 0x01: op = OP_FADD_D; break;
        case 0x04: op = OP_FSUB_S; break;
        case 0x05: op = OP_FSUB_D; break;
        case 0x08: op = OP_FMUL_S; break;
        case 0x09: op = OP_FMUL_D; break;
        case 0x0c: op = OP_FDIV_S; break;
        case 0x0d: op = OP_FDIV_D; break;
        case 0x2c: if (rs2 == 0) op = OP_FSQRT_S; break;
        case 0x2d: if (rs2 == 0) op = OP_FSQRT_D; break;
        case 0x10: case 0x11:
            d = f7 & 1;
            if (f3 == 0) op = d ? OP_FSGNJ_D : OP_FSGNJ_S;
            else if (f3 == 1) op = d ? OP_FSGNJN_D : OP_FSGNJN_S;
            else if (f3 == 2) op = d ? OP_FSGNJX_D : OP_FSGNJX_S;
            break;
        case 0x14: case 0x15:
            d = f7 & 1;
            if (f3 == 0) op = d ? OP_FMIN_D : OP_FMIN_S;
            else if (f3 == 1) op = d ? OP_FMAX_D : OP_FMAX_S;
            break;
        case 0x20: if (rs2 == 1) op = OP_FCVT_S_D; break;
        case 0x21: if (rs2 == 0) op = OP_FCVT_D_S; break;
        case 0x50: case 0x51:
            d = f7 & 1;
            if (f3 == 2) op = d ? OP_FEQ_D : OP_FEQ_S;
            else if (f3 == 1) op = d ? OP_FLT_D : OP_FLT_S;
            else if (f3 == 0) op = d ? OP_FLE_D : OP_FLE_S;
            break;
        case 0x60: if (rs2 < 4) op = (uint16_t)(OP_FCVT_W_S + rs2); break;
        case 0x61: if (rs2 < 4) op = (uint16_t)(OP_FCVT_W_D + rs2); break;
        case 0x68: if (rs2 < 4) op = (uint16_t)(OP_FCVT_S_W + rs2); break;
        case 0x69: if (rs2 < 4) op = (uint16_t)(OP_FCVT_D_W + rs2); break;
        case 0x70:
            if (rs2 == 0 && f3 == 0) op = OP_FMV_X_W; else if (rs2 == 0 && f3 == 1) op = OP_FCLASS_S;
            break;
        case 0x71:
            if (rs2 == 0 && f3 == 0) op = OP_FMV_X_D; else if (rs2 == 0 && f3 == 1) op = OP_FCLASS_D;
            break;
        case 0x78: if (rs2 == 0 && f3 == 0) op = OP_FMV_W_X; break;
        case 0x79: if (rs2 == 0 && f3 == 0) op = OP_FMV_D_X; break;
        }
        break;
    }
    default: break;
    }
    if (op == OP_ILLEGAL) { o->op = OP_ILLEGAL; o->imm = (int32_t)r; return; }
    o->op = op;
    o->imm = imm;
    if (op >= OP_LR_W && op <= OP_AMOMAXU_D) o->rm = (r >> 25) & 3;
}

/* Expands a compressed instruction to its 32-bit equivalent; returns 0 for reserved/illegal. */
static uint32_t enc_i(unsigned opc, unsigned rd, unsigned f3, unsigned rs1, int32_t imm)
{
    return ((uint32_t)(imm & 0xfff) << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
static uint32_t enc_s(unsigned opc, unsigned f3, unsigned rs1, unsigned rs2, int32_t imm)
{
    return ((uint32_t)((imm >> 5) & 0x7f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
           ((uint32_t)(imm & 31) << 7) | opc;
}
static uint32_t enc_r(unsigned opc, unsigned rd, unsigned f3, unsigned rs1, unsigned rs2, unsigned f7)
{
    return (f7 << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) | (rd << 7) | opc;
}
static uint32_t enc_b(unsigned f3, unsigned rs1, unsigned rs2, int32_t imm)
{
    uint32_t u = (uint32_t)imm;
    return (((u >> 12) & 1) << 31) | (((u >> 5) & 0x3f) << 25) | (rs2 << 20) | (rs1 << 15) | (f3 << 12) |
           (((u >> 1) & 15) << 8) | (((u >> 11) & 1) << 7) | 0x63;
}
static uint32_t enc_j(unsigned rd, int32_t imm)
{
    uint32_t u = (uint32_t)imm;
    return (((u >> 20) & 1) << 31) | (((u >> 1) & 0x3ff) << 21) | (((u >> 11) & 1) << 20) |
           (((u >> 12) & 0xff) << 12) | (rd << 7) | 0x6f;
}

static uint32_t expand_c(uint32_t c)
{
    unsigned q = c & 3, f3 = (c >> 13) & 7;
    unsigned rd = (c >> 7) & 31, rs2 = (c >> 2) & 31;
    unsigned rdp = 8 + ((c >> 2) & 7), rs1p = 8 + ((c >> 7) & 7);
    if (c == 0) return 0;
    switch (q) {
    case 0:
        switch (f3) {
        case 0: { /* c.addi4spn */
            unsigned nz = (((c >> 6) & 1) << 2) | (((c >> 5) & 1) << 3) | (((c >> 11) & 3) << 4) |
                          (((c >> 7) & 15) << 6);
            if (nz == 0) return 0;
            return enc_i(0x13, rdp, 0, 2, (int32_t)nz);
        }
        case 1: { /* c.fld */
            unsigned off = (((c >> 10) & 7) << 3) | (((c >> 5) & 3) << 6);
            return enc_i(0x07, rdp, 3, rs1p, (int32_t)off);
        }
        case 2: { /* c.lw */
            unsigned off = (((c >> 6) & 1) << 2) | (((c >> 10) & 7) << 3) | (((c >> 5) & 1) << 6);
            return enc_i(0x03, rdp, 2, rs1p, (int32_t)off);
        }
        case 3: { /* c.ld */
            unsigned off = (((c >> 10) & 7) << 3) | (((c >> 5) & 3) << 6);
            return enc_i(0x03, rdp, 3, rs1p, (int32_t)off);
        }
        case 5: { /* c.fsd */
            unsigned off = (((c >> 10) & 7) << 3) | (((c >> 5) & 3) << 6);
            return enc_s(0x27, 3, rs1p, rdp, (int32_t)off);
        }
        case 6: { /* c.sw */
            unsigned off = (((c >> 6) & 1) << 2) | (((c >> 10) & 7) << 3) | (((c >> 5) & 1) << 6);
            return enc_s(0x23, 2, rs1p, rdp, (int32_t)off);
        }
        case 7: { /* c.sd */
            unsigned off = (((c >> 10) & 7) << 3) | (((c >> 5) & 3) << 6);
            return enc_s(0x23, 3, rs1p, rdp, (int32_t)off);
        }
        }
        return 0;
    case 1: {
        int32_t imm6 = sext32((((c >> 12) & 1) << 5) | ((c >> 2) & 31), 6);
        switch (f3) {
        case 0: return enc_i(0x13, rd, 0, rd, imm6);                 /* c.addi / c.nop / hints */
        case 1: if (rd == 0) return 0; return enc_i(0x1b, rd, 0, rd, imm6);   /* c.addiw */
        case 2: return enc_i(0x13, rd, 0, 0, imm6);                  /* c.li */
        case 3:
            if (rd == 2) { /* c.addi16sp */
                int32_t nz = sext32((((c >> 12) & 1) << 9) | (((c >> 6) & 1) << 4) | (((c >> 5) & 1) << 6) |
                                    (((c >> 3) & 3) << 7) | (((c >> 2) & 1) << 5), 10);
                if (nz == 0) return 0;
                return enc_i(0x13, 2, 0, 2, nz);
            } else { /* c.lui */
                if (imm6 == 0) return 0;
                return ((uint32_t)imm6 << 12) | (rd << 7) | 0x37;
            }
        case 4: {
            unsigned f2 = (c >> 10) & 3;
            unsigned sh = (((c >> 12) & 1) << 5) | ((c >> 2) & 31);
            if (f2 == 0) return enc_i(0x13, rs1p, 5, rs1p, (int32_t)sh);              /* c.srli */
            if (f2 == 1) return enc_i(0x13, rs1p, 5, rs1p, (int32_t)(sh | 0x400));    /* c.srai */
            if (f2 == 2) return enc_i(0x13, rs1p, 7, rs1p, imm6);                      /* c.andi */
            unsigned r2 = 8 + ((c >> 2) & 7), f = (c >> 5) & 3;
            if (((c >> 12) & 1) == 0) {
                static const unsigned f3s[4] = { 0, 4, 6, 7 };
                return enc_r(0x33, rs1p, f3s[f], rs1p, r2, f == 0 ? 0x20 : 0);   /* sub xor or and */
            }
            if (f == 0) return enc_r(0x3b, rs1p, 0, rs1p, r2, 0x20);   /* c.subw */
            if (f == 1) return enc_r(0x3b, rs1p, 0, rs1p, r2, 0);      /* c.addw */
            return 0;
        }
        case 5: { /* c.j */
            int32_t off = sext32((((c >> 12) & 1) << 11) | (((c >> 11) & 1) << 4) | (((c >> 9) & 3) << 8) |
                                 (((c >> 8) & 1) << 10) | (((c >> 7) & 1) << 6) | (((c >> 6) & 1) << 7) |
                                 (((c >> 3) & 7) << 1) | (((c >> 2) & 1) << 5), 12);
            return enc_j(0, off);
        }
        case 6: case 7: { /* c.beqz / c.bnez */
            int32_t off = sext32((((c >> 12) & 1) << 8) | (((c >> 10) & 3) << 3) | (((c >> 5) & 3) << 6) |
                                 (((c >> 3) & 3) << 1) | (((c >> 2) & 1) << 5), 9);
            return enc_b(f3 == 6 ? 0 : 1, rs1p, 0, off);
        }
        }
        return 0;
    }
    case 2:
        switch (f3) {
        case 0: { /* c.slli */
            unsigned sh = (((c >> 12) & 1) << 5) | ((c >> 2) & 31);
            return enc_i(0x13, rd, 1, rd, (int32_t)sh);
        }
        case 1: { /* c.fldsp */
            unsigned off = (((c >> 12) & 1) << 5) | (((c >> 5) & 3) << 3) | (((c >> 2) & 7) << 6);
            return enc_i(0x07, rd, 3, 2, (int32_t)off);
        }
        case 2: { /* c.lwsp */
            if (rd == 0) return 0;
            unsigned off = (((c >> 12) & 1) << 5) | (((c >> 4) & 7) << 2) | (((c >> 2) & 3) << 6);
            return enc_i(0x03, rd, 2, 2, (int32_t)off);
        }
        case 3: { /* c.ldsp */
            if (rd == 0) return 0;
            unsigned off = (((c >> 12) & 1) << 5) | (((c >> 5) & 3) << 3) | (((c >> 2) & 7) << 6);
            return enc_i(0x03, rd, 3, 2, (int32_t)off);
        }
        case 4:
            if (((c >> 12) & 1) == 0) {
                if (rs2 == 0) { if (rd == 0) return 0; return enc_i(0x67, 0, 0, rd, 0); }   /* c.jr */
                return enc_r(0x33, rd, 0, 0, rs2, 0);                                      /* c.mv */
            }
            if (rs2 == 0) {
                if (rd == 0) return 0x00100073;                      /* c.ebreak */
                return enc_i(0x67, 1, 0, rd, 0);                     /* c.jalr */
            }
            return enc_r(0x33, rd, 0, rd, rs2, 0);                   /* c.add */
        case 5: { /* c.fsdsp */
            unsigned off = (((c >> 10) & 7) << 3) | (((c >> 7) & 7) << 6);
            return enc_s(0x27, 3, 2, rs2, (int32_t)off);
        }
        case 6: { /* c.swsp */
            unsigned off = (((c >> 9) & 15) << 2) | (((c >> 7) & 3) << 6);
            return enc_s(0x23, 2, 2, rs2, (int32_t)off);
        }
        case 7: { /* c.sdsp */
            unsigned off = (((c >> 10) & 7) << 3) | (((c >> 7) & 7) << 6);
            return enc_s(0x23, 3, 2, rs2, (int32_t)off);
        }
        }
        return 0;
    }
    return 0;
}

static bool rv_op_writes_f(unsigned op)
{
    if (op == OP_FLW || op == OP_FLD) return true;
    if ((op >= OP_FMADD_S && op <= OP_FMAX_S) || (op >= OP_FCVT_S_W && op <= OP_FMV_W_X)) return true;
    if ((op >= OP_FMADD_D && op <= OP_FMAX_D) || (op >= OP_FCVT_D_W && op <= OP_FMV_D_X)) return true;
    return op == OP_FCVT_S_D || op == OP_FCVT_D_S;
}

void rv_decode(uint32_t raw, rv_insn *o)
{
    memset(o, 0, sizeof *o);
    if ((raw & 3) == 3) {
        decode32(raw, o);
        o->len = 4;
    } else {
        uint32_t c = raw & 0xffff;
        uint32_t e = expand_c(c);
        if (e == 0) { o->op = OP_ILLEGAL; o->imm = (int32_t)c; }
        else {
            decode32(e, o);
            if (o->op == OP_ILLEGAL) o->imm = (int32_t)c;
        }
        o->len = 2;
    }
    /* writes to x0 go to the scratch register 32; ops writing an f register keep f0 */
    if (o->rd == 0 && !rv_op_writes_f(o->op)) o->rd = 32;
}

bool rv_op_ends_block(unsigned op)
{
    switch (op) {
    case OP_ILLEGAL: case OP_JAL: case OP_JALR:
    case OP_BEQ: case OP_BNE: case OP_BLT: case OP_BGE: case OP_BLTU: case OP_BGEU:
    case OP_FENCE_I: case OP_ECALL: case OP_EBREAK: case OP_MRET: case OP_SRET: case OP_WFI:
    case OP_SFENCE_VMA:
    case OP_CSRRW: case OP_CSRRS: case OP_CSRRC: case OP_CSRRWI: case OP_CSRRSI: case OP_CSRRCI:
        return true;
    default:
        return false;
    }
}
