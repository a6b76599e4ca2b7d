/* hart.h — internal definition of one RV64GC hart (struct rv_hart) shared by the hart-side files
 * cpu.c (interpreter, traps, run loop), decode.c (instruction decoder), mmu.c (Sv39/Sv48 walks,
 * software TLB, memory slow paths, code-page tracking) and csr.c (CSR file). Not a public header. */
#ifndef VMK_RISCV_HART_H
#define VMK_RISCV_HART_H
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include "cpu.h"

#define RV_LIKELY(x)   __builtin_expect(!!(x), 1)
#define RV_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* privilege levels */
enum { RV_PRIV_U = 0, RV_PRIV_S = 1, RV_PRIV_M = 3 };

/* exception causes */
enum {
    RV_EXC_INSN_MISALIGNED = 0, RV_EXC_INSN_ACCESS = 1, RV_EXC_ILLEGAL = 2, RV_EXC_BREAKPOINT = 3,
    RV_EXC_LOAD_MISALIGNED = 4, RV_EXC_LOAD_ACCESS = 5, RV_EXC_STORE_MISALIGNED = 6,
    RV_EXC_STORE_ACCESS = 7, RV_EXC_ECALL_U = 8, RV_EXC_ECALL_S = 9, RV_EXC_ECALL_M = 11,
    RV_EXC_INSN_PAGE = 12, RV_EXC_LOAD_PAGE = 13, RV_EXC_STORE_PAGE = 15,
};

/* mstatus bits */
#define MS_SIE   (1ull << 1)
#define MS_MIE   (1ull << 3)
#define MS_SPIE  (1ull << 5)
#define MS_MPIE  (1ull << 7)
#define MS_SPP   (1ull << 8)
#define MS_MPP_SHIFT 11
#define MS_MPP   (3ull << 11)
#define MS_FS_SHIFT 13
#define MS_FS    (3ull << 13)
#define MS_MPRV  (1ull << 17)
#define MS_SUM   (1ull << 18)
#define MS_MXR   (1ull << 19)
#define MS_TVM   (1ull << 20)
#define MS_TW    (1ull << 21)
#define MS_TSR   (1ull << 22)
#define MS_UXL   (3ull << 32)
#define MS_SXL   (3ull << 34)
#define MS_SD    (1ull << 63)

/* writable bits of the CSRs (csr.c; also what a loaded snapshot may contain) */
#define MSTATUS_WMASK (MS_SIE | MS_MIE | MS_SPIE | MS_MPIE | MS_SPP | MS_MPP | MS_FS | MS_MPRV | MS_SUM | \
                       MS_MXR | MS_TVM | MS_TW | MS_TSR)
#define MIE_MASK      0xaaaull
#define S_INT_MASK    0x222ull
#define MEDELEG_MASK  0xb3ffull

#define MENVCFG_FIOM (1ull << 0)
#define MENVCFG_STCE (1ull << 63)

/* memory access types (TLB index) */
enum { RV_ACC_FETCH = 0, RV_ACC_LOAD = 1, RV_ACC_STORE = 2 };

/* software TLB: per translation context and access type, direct-mapped on the 4 KiB virtual page.
 * A hit is tag == va >> 12; the host address is va + addend. Contexts: 0 = bare (M-mode or
 * satp.MODE = Bare), 1 = U, 2 = S with SUM=0, 3 = S with SUM=1. */
#define RV_TLB_BITS 8
#define RV_TLB_SIZE (1u << RV_TLB_BITS)
#define RV_TLB_NCTX 4
typedef struct rv_tlbe { uint64_t tag; uint64_t addend; } rv_tlbe;

#define RV_JC_SIZE 4096             /* jump-cache entries */
static inline void rv_jc_flush(struct rv_hart *h);

/* decoded instruction: 24 bytes */
typedef struct rv_insn {
    uint16_t op;
    uint8_t  rd, rs1, rs2, rs3;   /* rd == 0 is mapped to the scratch register 32 */
    uint8_t  rm;                  /* FP rounding mode field (or aq/rl for atomics) */
    uint8_t  len;                 /* 2 or 4 */
    uint16_t off;                 /* byte offset of this instruction from the block start */
    uint16_t pad;
    int32_t  imm;                 /* immediate, CSR number, or raw bits for OP_ILLEGAL */
    const void *hp;               /* interpreter handler of op (set by cpu.c before the block runs) */
} rv_insn;

#define RV_BLOCK_MAX 64
typedef struct rv_block {
    uint64_t pa;                  /* physical address of the first instruction */
    struct rv_block *next;        /* hash chain */
    struct rv_block *link[2];     /* chained successors: [0] jump target, [1] fall-through */
    uint64_t lvpc[2];             /* virtual pc each link was made for */
    uint32_t ltag[2];             /* jump-cache tag (TLB epoch, fetch context) when it was made */
    uint32_t gen;                 /* code generation of the page when decoded */
    uint32_t epoch;               /* hart's FENCE.I epoch when last verified against memory */
    uint16_t n;                   /* instructions (insns[n] is an OP_END sentinel; the raw bytes follow) */
    uint16_t bytes;
    uint8_t  threaded;            /* insns[0..n].hp are set */
    rv_insn  insns[];
} rv_block;

/* per-RAM shared code tracking (all harts on one vmk_mem share it) */
typedef struct rv_codemap {
    struct rv_codemap *next;
    vmk_mem *mem;
    unsigned refs;
    uint64_t npages;
    uint32_t *gen;                /* bumped whenever a page holding decoded code is written */
    uint8_t  *has_code;           /* page holds decoded code: stores must take the slow path */
    atomic_uint store_epoch;      /* bumped when a page gains code: harts flush their store TLBs */
} rv_codemap;

struct rv_hart {
    uint64_t x[33];               /* x0..x31 plus scratch x[32] (target of rd=x0) */
    uint64_t f[32];
    uint64_t pc;
    unsigned priv;
    rv_machine *m;
    vmk_mem *mem;
    unsigned hartid;

    /* TLB */
    rv_tlbe tlb[RV_TLB_NCTX][3][RV_TLB_SIZE];
    unsigned fctx, dctx;          /* current fetch / data contexts */
    bool tlb_super_lo, tlb_super_hi;  /* entries from superpages in the lower / upper half of the
                                         address space: sfence.vma addr there flushes all */
    unsigned store_epoch_seen;

    /* CSRs */
    uint64_t mstatus, misa, medeleg, mideleg, mie, mtvec, stvec, mepc, sepc, mcause, scause;
    uint64_t mtval, stval, mscratch, sscratch, satp, menvcfg, senvcfg, stimecmp;
    uint32_t mcounteren, scounteren, mcountinhibit;
    uint32_t fflags, frm;
    uint64_t pmpcfg[8];           /* even-numbered pmpcfg CSRs (RV64) */
    uint64_t pmpaddr[64];
    int64_t  cycle_off, instret_off;
    uint64_t mip_sw;              /* software-writable mip bits (SSIP, STIP, SEIP) and Sstc STIP */
    _Atomic uint64_t mip_dev;     /* device-driven bits (MSIP, MTIP, MEIP, SEIP) */
    _Atomic unsigned kick;        /* bit0: return RV_RUN_KICKED; bit1: re-evaluate interrupts */

    uint64_t instret;

    /* LR/SC */
    bool res_valid;
    uint64_t res_addr, res_val;

    /* pending exception produced by a slow path */
    uint64_t exc_cause, exc_tval;

    /* decoded block cache */
    rv_codemap *cm;
    rv_block **btab;              /* hash buckets */
    uint8_t *arena;
    size_t arena_used, arena_size;
    void *tmpblk;                 /* one-instruction block for a page-straddling instruction */
    /* jump cache: virtual pc -> block, valid while no TLB flush happened (jc_epoch) */
    struct { uint64_t vpc; struct rv_block *b; uint32_t tag; } jc[RV_JC_SIZE];
    uint32_t jc_epoch;
    uint32_t fence_epoch;         /* bumped by FENCE.I: blocks are re-verified against memory */
    unsigned flushes;             /* block-cache flush count (links are only valid within one) */
};

#define RV_BTAB_BITS 16
#define RV_ARENA_SIZE (24u << 20)

#define KICK_RETURN 1u
#define KICK_IRQ    2u

static inline void rv_jc_flush(struct rv_hart *h)
{
    if (++h->jc_epoch >= (1u << 29)) {           /* tag = epoch << 2 | fctx: wrap by clearing */
        memset(h->jc, 0, sizeof h->jc);
        h->jc_epoch = 1;
    }
}

/* ---- decode.c ---- */
enum {
    OP_ILLEGAL = 0,
    OP_LUI, OP_AUIPC, OP_JAL, OP_JALR,
    OP_BEQ, OP_BNE, OP_BLT, OP_BGE, OP_BLTU, OP_BGEU,
    OP_LB, OP_LH, OP_LW, OP_LD, OP_LBU, OP_LHU, OP_LWU,
    OP_SB, OP_SH, OP_SW, OP_SD,
    OP_ADDI, OP_SLTI, OP_SLTIU, OP_XORI, OP_ORI, OP_ANDI, OP_SLLI, OP_SRLI, OP_SRAI,
    OP_ADD, OP_SUB, OP_SLL, OP_SLT, OP_SLTU, OP_XOR, OP_SRL, OP_SRA, OP_OR, OP_AND,
    OP_ADDIW, OP_SLLIW, OP_SRLIW, OP_SRAIW, OP_ADDW, OP_SUBW, OP_SLLW, OP_SRLW, OP_SRAW,
    OP_MUL, OP_MULH, OP_MULHSU, OP_MULHU, OP_DIV, OP_DIVU, OP_REM, OP_REMU,
    OP_MULW, OP_DIVW, OP_DIVUW, OP_REMW, OP_REMUW,
    OP_FENCE, OP_FENCE_I, OP_ECALL, OP_EBREAK, OP_MRET, OP_SRET, OP_WFI, OP_SFENCE_VMA,
    OP_CSRRW, OP_CSRRS, OP_CSRRC, OP_CSRRWI, OP_CSRRSI, OP_CSRRCI,
    OP_LR_W, OP_SC_W, OP_AMOSWAP_W, OP_AMOADD_W, OP_AMOXOR_W, OP_AMOAND_W, OP_AMOOR_W,
    OP_AMOMIN_W, OP_AMOMAX_W, OP_AMOMINU_W, OP_AMOMAXU_W,
    OP_LR_D, OP_SC_D, OP_AMOSWAP_D, OP_AMOADD_D, OP_AMOXOR_D, OP_AMOAND_D, OP_AMOOR_D,
    OP_AMOMIN_D, OP_AMOMAX_D, OP_AMOMINU_D, OP_AMOMAXU_D,
    OP_FLW, OP_FLD, OP_FSW, OP_FSD,
    /* single */
    OP_FMADD_S, OP_FMSUB_S, OP_FNMSUB_S, OP_FNMADD_S, OP_FADD_S, OP_FSUB_S, OP_FMUL_S, OP_FDIV_S,
    OP_FSQRT_S, OP_FSGNJ_S, OP_FSGNJN_S, OP_FSGNJX_S, OP_FMIN_S, OP_FMAX_S,
    OP_FCVT_W_S, OP_FCVT_WU_S, OP_FCVT_L_S, OP_FCVT_LU_S, OP_FMV_X_W, OP_FCLASS_S,
    OP_FEQ_S, OP_FLT_S, OP_FLE_S, OP_FCVT_S_W, OP_FCVT_S_WU, OP_FCVT_S_L, OP_FCVT_S_LU, OP_FMV_W_X,
    /* double */
    OP_FMADD_D, OP_FMSUB_D, OP_FNMSUB_D, OP_FNMADD_D, OP_FADD_D, OP_FSUB_D, OP_FMUL_D, OP_FDIV_D,
    OP_FSQRT_D, OP_FSGNJ_D, OP_FSGNJN_D, OP_FSGNJX_D, OP_FMIN_D, OP_FMAX_D,
    OP_FCVT_W_D, OP_FCVT_WU_D, OP_FCVT_L_D, OP_FCVT_LU_D, OP_FMV_X_D, OP_FCLASS_D,
    OP_FEQ_D, OP_FLT_D, OP_FLE_D, OP_FCVT_D_W, OP_FCVT_D_WU, OP_FCVT_D_L, OP_FCVT_D_LU, OP_FMV_D_X,
    OP_FCVT_S_D, OP_FCVT_D_S,
    /* cpu.c-internal specialised forms (never produced by rv_decode): a block's final branch whose
     * taken target is the block's own first instruction (tight loops: re-enters without the
     * block-end lookup/link validation) */
    OP_BEQ_LOOP, OP_BNE_LOOP, OP_BLT_LOOP, OP_BGE_LOOP, OP_BLTU_LOOP, OP_BGEU_LOOP,
    /* the same branch in an unrolled copy of such a loop body (not the last copy): taken continues
     * with the next copy, not taken leaves the block */
    OP_BEQ_CONT, OP_BNE_CONT, OP_BLT_CONT, OP_BGE_CONT, OP_BLTU_CONT, OP_BGEU_CONT,
    /* peephole forms: OP_ZEXTW_2 is `slli rd,rs,32; srli rd,rd,32` (it executes both slots and
     * skips the second), OP_SEXTW is `addiw rd,rs,0` */
    OP_ZEXTW_2, OP_SEXTW,
    OP_END,                       /* sentinel after a block's last instruction */
    OP_COUNT
};
/* Decodes one instruction (raw: 32-bit, or 16-bit compressed in the low half when (raw&3)!=3).
 * Unknown/reserved encodings give OP_ILLEGAL with imm = raw bits. */
void rv_decode(uint32_t raw, rv_insn *out);
/* True when the op ends a decoded block (control flow, system, CSR, fences). */
bool rv_op_ends_block(unsigned op);

/* ---- mmu.c ---- */
void rv_mmu_update_ctx(rv_hart *h);              /* after priv / mstatus / satp change */
void rv_tlb_flush_all(rv_hart *h);
void rv_tlb_flush_va(rv_hart *h, uint64_t va);
void rv_tlb_flush_store(rv_hart *h);
/* Slow paths: return false with h->exc_cause/exc_tval set on a fault. */
bool rv_load_slow(rv_hart *h, uint64_t va, unsigned size, uint64_t *val);
bool rv_store_slow(rv_hart *h, uint64_t va, unsigned size, uint64_t val);
/* Translates for an atomic (store permission, must be RAM-aligned): host pointer or NULL. When
 * the target is MMIO, *pa_mmio is set and NULL returned with exc_cause = ~0. */
void *rv_amo_ptr(rv_hart *h, uint64_t va, unsigned size, bool is_lr, uint64_t *pa_mmio);
/* Instruction fetch translation: host pointer of the page-contained bytes at va (or NULL with
 * exception set). *pa receives the physical address. */
uint8_t *rv_fetch_ptr(rv_hart *h, uint64_t va, uint64_t *pa);
void rv_code_mark(rv_hart *h, uint64_t pa);      /* page at pa now holds decoded code */
void rv_code_written(rv_codemap *cm, vmk_mem *mem, uint64_t pa, uint64_t len);
rv_codemap *rv_codemap_get(vmk_mem *mem);
void rv_codemap_put(rv_codemap *cm);
static inline uint32_t rv_code_gen(const rv_codemap *cm, const vmk_mem *mem, uint64_t pa)
{
    return __atomic_load_n(&cm->gen[(pa - mem->base) >> 12], __ATOMIC_RELAXED);
}

/* ---- csr.c ---- */
/* CSR access for the instruction at hand: returns false for an illegal access. write_mask tells
 * whether a write happens (CSRRS/CSRRC with rs1=x0 do not write). */
bool rv_csr_read(rv_hart *h, unsigned csr, uint64_t *val);
bool rv_csr_write(rv_hart *h, unsigned csr, uint64_t val);
bool rv_csr_check(rv_hart *h, unsigned csr, bool writing);
void rv_sstc_update(rv_hart *h);
static inline uint64_t rv_mip(const rv_hart *h)
{
    return h->mip_sw | atomic_load_explicit(&((rv_hart *)h)->mip_dev, memory_order_relaxed);
}

/* ---- cpu.c ---- */
void rv_trap(rv_hart *h, uint64_t cause, uint64_t tval, bool irq);

#endif
