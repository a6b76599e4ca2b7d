/* cpu.c — the RV64GC hart: lifecycle and public API of cpu.h, the decoded-block cache (keyed by
 * physical address, validated by per-page code generations, chained within a page), the
 * interpreter (one switch over predecoded instructions), traps and interrupt delivery, and the
 * run loop that checks kicks, interrupts, Sstc and the budget only at block boundaries. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include "fpu.h"
#include "hart.h"

__extension__ typedef __int128 rv_i128;
__extension__ typedef unsigned __int128 rv_u128;

#define BTAB_SIZE (1u << RV_BTAB_BITS)
#define CHECK_INTERVAL 4096u        /* instructions between Sstc / store-epoch polls */
#define RV_LOOP_UNROLL 8u           /* copies of a one-block loop body in its decoded block */

/* ---------------- lifecycle ---------------- */
rv_hart *rv_hart_new(rv_machine *m, unsigned hartid, vmk_mem *mem)
{
    rv_hart *h = vmk_xcalloc(1, sizeof *h);
    h->m = m;
    h->mem = mem;
    h->hartid = hartid;
    h->cm = rv_codemap_get(mem);
    h->btab = vmk_xcalloc(BTAB_SIZE, sizeof *h->btab);
    h->arena_size = RV_ARENA_SIZE;
    h->arena = vmk_xmalloc(h->arena_size);
    h->tmpblk = vmk_xcalloc(1, sizeof(rv_block) + 2 * sizeof(rv_insn));
    atomic_init(&h->mip_dev, 0);
    atomic_init(&h->kick, 0);
    rv_hart_reset(h, RV_RAM_BASE);
    return h;
}

void rv_hart_free(rv_hart *h)
{
    if (!h) return;
    rv_codemap_put(h->cm);
    free(h->btab);
    free(h->arena);
    free(h->tmpblk);
    free(h);
}

void rv_hart_reset(rv_hart *h, uint64_t pc)
{
    memset(h->x, 0, sizeof h->x);
    memset(h->f, 0, sizeof h->f);
    h->pc = pc;
    h->priv = RV_PRIV_M;
    h->mstatus = 0;
    h->misa = (2ull << 62) | (1u << 0) | (1u << 2) | (1u << 3) | (1u << 5) | (1u << 8) | (1u << 12) |
              (1u << 18) | (1u << 20);
    h->medeleg = h->mideleg = h->mie = 0;
    h->mtvec = h->stvec = h->mepc = h->sepc = h->mcause = h->scause = h->mtval = h->stval = 0;
    h->mscratch = h->sscratch = h->satp = h->menvcfg = h->senvcfg = 0;
    h->stimecmp = UINT64_MAX;
    h->mcounteren = h->scounteren = h->mcountinhibit = 0;
    h->fflags = h->frm = 0;
    memset(h->pmpcfg, 0, sizeof h->pmpcfg);
    memset(h->pmpaddr, 0, sizeof h->pmpaddr);
    h->cycle_off = h->instret_off = 0;
    h->mip_sw = 0;
    atomic_store(&h->mip_dev, 0);
    h->res_valid = false;
    rv_tlb_flush_all(h);
    rv_mmu_update_ctx(h);
    if (h->arena_used) memset(h->btab, 0, BTAB_SIZE * sizeof *h->btab);   /* empty (calloc'd) otherwise */
    h->arena_used = 0;
    h->store_epoch_seen = atomic_load(&h->cm->store_epoch);
}

void rv_hart_set_xreg(rv_hart *h, unsigned reg, uint64_t val)
{
    if (reg > 0 && reg < 32) h->x[reg] = val;
}
uint64_t rv_hart_get_xreg(const rv_hart *h, unsigned reg) { return reg < 32 ? h->x[reg] : 0; }
uint64_t rv_hart_get_pc(const rv_hart *h) { return h->pc; }
uint64_t rv_hart_instret(const rv_hart *h) { return h->instret; }
void rv_hart_clear_reservation(rv_hart *h) { h->res_valid = false; }

void rv_hart_flush_store_tlb(rv_hart *h)
{
    rv_tlb_flush_store(h);
}

void rv_hart_kick(rv_hart *h) { atomic_fetch_or(&h->kick, KICK_RETURN); }

void rv_hart_set_irq(rv_hart *h, unsigned irq_bit, bool level)
{
    if (irq_bit >= 64) return;
    if (level) atomic_fetch_or(&h->mip_dev, 1ull << irq_bit);
    else atomic_fetch_and(&h->mip_dev, ~(1ull << irq_bit));
    atomic_fetch_or(&h->kick, KICK_IRQ);
    rv_machine_wake(h->m);
}

bool rv_hart_wakeup_pending(const rv_hart *h)
{
    uint64_t mip = rv_mip(h);
    if ((h->menvcfg & MENVCFG_STCE) && rv_machine_mtime(h->m) >= h->stimecmp) mip |= 1ull << RV_IRQ_STI;
    return (mip & h->mie) != 0;
}

uint64_t rv_hart_timer_deadline(const rv_hart *h)
{
    /* not armed: Sstc off, or STIE masked (the timer could not end a WFI) */
    if (!(h->menvcfg & MENVCFG_STCE) || !(h->mie & (1ull << RV_IRQ_STI))) return UINT64_MAX;
    return h->stimecmp;
}

void rv_hart_invalidate_code(rv_hart *h, uint64_t pa, uint64_t len)
{
    rv_code_written(h->cm, h->mem, pa, len);
}

void rv_hart_dump(const rv_hart *h)
{
    static const char *names[32] = { "zero", "ra", "sp", "gp", "tp", "t0", "t1", "t2", "s0", "s1", "a0",
        "a1", "a2", "a3", "a4", "a5", "a6", "a7", "s2", "s3", "s4", "s5", "s6", "s7", "s8", "s9", "s10",
        "s11", "t3", "t4", "t5", "t6" };
    fprintf(stderr, "hart %u pc=%016" PRIx64 " priv=%u instret=%" PRIu64 "\n", h->hartid, h->pc, h->priv,
            h->instret);
    for (unsigned i = 0; i < 32; i++)
        fprintf(stderr, "%4s=%016" PRIx64 "%s", names[i], h->x[i], (i % 4 == 3) ? "\n" : " ");
    fprintf(stderr, "mstatus=%016" PRIx64 " mip=%016" PRIx64 " mie=%016" PRIx64 " satp=%016" PRIx64 "\n",
            h->mstatus, rv_mip(h), h->mie, h->satp);
    fprintf(stderr, "mepc=%016" PRIx64 " mcause=%016" PRIx64 " mtval=%016" PRIx64 " mtvec=%016" PRIx64 "\n",
            h->mepc, h->mcause, h->mtval, h->mtvec);
    fprintf(stderr, "sepc=%016" PRIx64 " scause=%016" PRIx64 " stval=%016" PRIx64 " stvec=%016" PRIx64 "\n",
            h->sepc, h->scause, h->stval, h->stvec);
    fprintf(stderr, "medeleg=%" PRIx64 " mideleg=%" PRIx64 " menvcfg=%" PRIx64 " stimecmp=%" PRIx64 "\n",
            h->medeleg, h->mideleg, h->menvcfg, h->stimecmp);
}

/* ---------------- traps ---------------- */
void rv_trap(rv_hart *h, uint64_t cause, uint64_t tval, bool irq)
{
    unsigned priv = h->priv;
    bool deleg = priv <= RV_PRIV_S && (((irq ? h->mideleg : h->medeleg) >> cause) & 1);
    uint64_t c = cause | (irq ? 1ull << 63 : 0);
    if (deleg) {
        h->scause = c;
        h->sepc = h->pc;
        h->stval = tval;
        uint64_t s = h->mstatus;
        s = (s & ~MS_SPIE) | ((s & MS_SIE) ? MS_SPIE : 0);
        s &= ~MS_SIE;
        s = (s & ~MS_SPP) | (priv == RV_PRIV_S ? MS_SPP : 0);
        h->mstatus = s;
        h->priv = RV_PRIV_S;
        h->pc = (h->stvec & ~3ull) + (((h->stvec & 1) && irq) ? 4 * cause : 0);
    } else {
        h->mcause = c;
        h->mepc = h->pc;
        h->mtval = tval;
        uint64_t s = h->mstatus;
        s = (s & ~MS_MPIE) | ((s & MS_MIE) ? MS_MPIE : 0);
        s &= ~MS_MIE;
        s = (s & ~MS_MPP) | ((uint64_t)priv << MS_MPP_SHIFT);
        h->mstatus = s;
        h->priv = RV_PRIV_M;
        h->pc = (h->mtvec & ~3ull) + (((h->mtvec & 1) && irq) ? 4 * cause : 0);
    }
    rv_mmu_update_ctx(h);
}

/* Takes the highest-priority pending and enabled interrupt. */
static bool take_irq(rv_hart *h)
{
    uint64_t pend = rv_mip(h) & h->mie;
    if (!pend) return false;
    uint64_t mp = pend & ~h->mideleg, sp = pend & h->mideleg, take = 0;
    if (mp && (h->priv < RV_PRIV_M || (h->mstatus & MS_MIE))) take = mp;
    else if (sp && (h->priv < RV_PRIV_S || (h->priv == RV_PRIV_S && (h->mstatus & MS_SIE)))) take = sp;
    if (!take) return false;
    static const unsigned order[6] = { RV_IRQ_MEI, RV_IRQ_MSI, RV_IRQ_MTI, RV_IRQ_SEI, RV_IRQ_SSI, RV_IRQ_STI };
    for (unsigned i = 0; i < 6; i++)
        if ((take >> order[i]) & 1) { rv_trap(h, order[i], 0, true); return true; }
    return false;
}

/* instruction bits at pc for an illegal-instruction tval (0 when unreadable) */
static uint64_t insn_bits(rv_hart *h, uint64_t pc)
{
    uint64_t pa, ec = h->exc_cause, et = h->exc_tval;
    uint64_t r = 0;
    uint8_t *p = rv_fetch_ptr(h, pc, &pa);
    if (p) {
        uint16_t lo;
        memcpy(&lo, p, 2);
        if ((lo & 3) != 3) r = lo;
        else if ((pc & 0xfff) <= 0xffc) { uint32_t w; memcpy(&w, p, 4); r = w; }
        else {
            uint8_t *q = rv_fetch_ptr(h, pc + 2, &pa);
            if (q) { uint16_t hi; memcpy(&hi, q, 2); r = lo | ((uint32_t)hi << 16); }
        }
    }
    h->exc_cause = ec;
    h->exc_tval = et;
    return r;
}

/* ---------------- block cache ---------------- */

static void blocks_flush(rv_hart *h)
{
    memset(h->btab, 0, BTAB_SIZE * sizeof *h->btab);
    h->arena_used = 0;
    h->flushes++;
    rv_jc_flush(h);
}

static inline unsigned bhash(uint64_t pa) { return (unsigned)((pa >> 1) ^ (pa >> 13)) & (BTAB_SIZE - 1); }

static rv_block *get_block(rv_hart *h, rv_block *tmp)
{
    uint64_t pc = h->pc, pa;
    uint32_t jtag = (h->jc_epoch << 2) | h->fctx;
    unsigned ji = (unsigned)(pc >> 1) & (RV_JC_SIZE - 1);
    if (h->jc[ji].vpc == pc && h->jc[ji].tag == jtag) {
        rv_block *b = h->jc[ji].b;
        if (b->gen == rv_code_gen(h->cm, h->mem, b->pa) && b->epoch == h->fence_epoch) return b;
    }
    uint8_t *p = rv_fetch_ptr(h, pc, &pa);
    if (!p) { rv_trap(h, h->exc_cause, h->exc_tval, false); return NULL; }
    rv_code_mark(h, pa);
    uint32_t gen = rv_code_gen(h->cm, h->mem, pa);
    unsigned hi = bhash(pa);
    for (rv_block **pp = &h->btab[hi], *b; (b = *pp) != NULL; pp = &b->next) {
        if (b->pa != pa) continue;
        if (b->gen == gen) {
            if (RV_LIKELY(b->epoch == h->fence_epoch)) goto found;
            /* after FENCE.I: reuse only if memory still holds the decoded bytes (DMA may
             * have rewritten it without telling us) */
            if (memcmp(p, (const uint8_t *)&b->insns[b->n + 1], b->bytes) == 0) {
                b->epoch = h->fence_epoch;
                goto found;
            }
        }
        *pp = b->next;          /* stale: unlink (links/jump cache re-validate before use) */
        break;
    found:
        if (pp != &h->btab[hi]) {          /* move to front */
            *pp = b->next;
            b->next = h->btab[hi];
            h->btab[hi] = b;
        }
        h->jc[ji].vpc = pc;
        h->jc[ji].b = b;
        h->jc[ji].tag = (h->jc_epoch << 2) | h->fctx;
        return b;
    }
    size_t need = sizeof(rv_block) + (RV_BLOCK_MAX + 1) * (sizeof(rv_insn) + 4) + 16;
    if (h->arena_used + need > h->arena_size) blocks_flush(h);
    rv_block *k = (rv_block *)(void *)(h->arena + h->arena_used);
    unsigned left = 0x1000 - (unsigned)(pa & 0xfff), off = 0, n = 0;
    while (n < RV_BLOCK_MAX && off + 2 <= left) {
        uint16_t lo;
        memcpy(&lo, p + off, 2);
        uint32_t raw = lo;
        if ((lo & 3) == 3) {
            if (off + 4 > left) break;
            uint16_t hw;
            memcpy(&hw, p + off + 2, 2);
            raw |= (uint32_t)hw << 16;
        }
        rv_insn *in = &k->insns[n];
        rv_decode(raw, in);
        in->off = (uint16_t)off;
        off += in->len;
        n++;
        if (rv_op_ends_block(in->op)) break;
    }
    if (n == 0) {
        /* 32-bit instruction crossing into the next page */
        uint16_t lo, hw;
        memcpy(&lo, p, 2);
        uint64_t pa2;
        uint8_t *q = rv_fetch_ptr(h, pc + 2, &pa2);
        if (!q) { rv_trap(h, h->exc_cause, h->exc_tval, false); return NULL; }
        memcpy(&hw, q, 2);
        tmp->link[0] = tmp->link[1] = NULL;
        tmp->pa = pa;
        tmp->gen = 0;
        tmp->n = 1;
        rv_decode(lo | ((uint32_t)hw << 16), &tmp->insns[0]);
        tmp->insns[0].off = 0;
        memset(&tmp->insns[1], 0, sizeof(rv_insn));
        tmp->insns[1].op = OP_END;
        tmp->bytes = 4;
        tmp->threaded = 0;
        return tmp;
    }
    /* peephole: a block is only entered at its first instruction, so a pair can run as one op */
    for (unsigned i = 0; i < n; i++) {
        rv_insn *a = &k->insns[i];
        if (a->op == OP_ADDIW && a->imm == 0) a->op = OP_SEXTW;
        else if (a->op == OP_SLLI && a->imm == 32 && i + 1 < n && k->insns[i + 1].op == OP_SRLI &&
                 k->insns[i + 1].imm == 32 && k->insns[i + 1].rd == a->rd && k->insns[i + 1].rs1 == a->rd) {
            a->op = OP_ZEXTW_2;
            i++;
        }
    }
    rv_insn *last = &k->insns[n - 1];
    if (last->op >= OP_BEQ && last->op <= OP_BGEU && (int64_t)last->off + last->imm == 0) {
        /* a loop whose body is this whole block: unroll it (copies keep their offsets, so PC(),
         * traps and instret stay exact); every copy's branch but the last continues in place */
        unsigned op = last->op, copies = RV_BLOCK_MAX / n;
        if (copies > RV_LOOP_UNROLL) copies = RV_LOOP_UNROLL;
        last->op = (uint16_t)(op - OP_BEQ + OP_BEQ_CONT);
        for (unsigned c = 1; c < copies; c++) memcpy(&k->insns[c * n], &k->insns[0], n * sizeof(rv_insn));
        n *= copies;
        k->insns[n - 1].op = (uint16_t)(op - OP_BEQ + OP_BEQ_LOOP);
    }
    k->link[0] = k->link[1] = NULL;
    k->pa = pa;
    k->gen = gen;
    k->epoch = h->fence_epoch;
    memset(&k->insns[n], 0, sizeof(rv_insn));
    k->insns[n].op = OP_END;
    memcpy(&k->insns[n + 1], p, off);
    k->n = (uint16_t)n;
    k->bytes = (uint16_t)off;
    k->threaded = 0;
    k->next = h->btab[hi];
    h->btab[hi] = k;
    h->jc[ji].vpc = pc;
    h->jc[ji].b = k;
    h->jc[ji].tag = (h->jc_epoch << 2) | h->fctx;
    h->arena_used += (sizeof(rv_block) + (n + 1) * sizeof(rv_insn) + off + 15) & ~(size_t)15;
    return k;
}

/* ---------------- state (snapshots) ---------------- */
#define HART_STATE_VERSION 1u

void rv_hart_save(const rv_hart *h, vmk_sbuf *b)
{
    vmk_sb_u32(b, HART_STATE_VERSION);
    for (unsigned i = 1; i < 32; i++) vmk_sb_u64(b, h->x[i]);
    for (unsigned i = 0; i < 32; i++) vmk_sb_u64(b, h->f[i]);
    vmk_sb_u64(b, h->pc);
    vmk_sb_u8(b, (uint8_t)h->priv);
    const uint64_t c[] = { h->mstatus, h->misa, h->medeleg, h->mideleg, h->mie, h->mtvec, h->stvec, h->mepc,
                           h->sepc, h->mcause, h->scause, h->mtval, h->stval, h->mscratch, h->sscratch, h->satp,
                           h->menvcfg, h->senvcfg, h->stimecmp, h->mcounteren, h->scounteren, h->mcountinhibit,
                           h->fflags, h->frm, h->instret, (uint64_t)h->cycle_off, (uint64_t)h->instret_off,
                           h->mip_sw };
    for (unsigned i = 0; i < sizeof c / sizeof c[0]; i++) vmk_sb_u64(b, c[i]);
    for (unsigned i = 0; i < 8; i++) vmk_sb_u64(b, h->pmpcfg[i]);
    for (unsigned i = 0; i < 64; i++) vmk_sb_u64(b, h->pmpaddr[i]);
}

enum { C_MSTATUS, C_MISA, C_MEDELEG, C_MIDELEG, C_MIE, C_MTVEC, C_STVEC, C_MEPC, C_SEPC, C_MCAUSE, C_SCAUSE,
       C_MTVAL, C_STVAL, C_MSCRATCH, C_SSCRATCH, C_SATP, C_MENVCFG, C_SENVCFG, C_STIMECMP, C_MCOUNTEREN,
       C_SCOUNTEREN, C_MCOUNTINHIBIT, C_FFLAGS, C_FRM, C_INSTRET, C_CYCLE_OFF, C_INSTRET_OFF, C_MIP_SW, C_N };

/* What a CSR value loaded from a snapshot may hold: the bits a guest write could have produced. */
static const char *csr_state_bad(const rv_hart *h, const uint64_t *c, unsigned priv, uint64_t pc)
{
    if (priv != RV_PRIV_U && priv != RV_PRIV_S && priv != RV_PRIV_M) return "bad privilege level";
    if (c[C_MISA] != h->misa) return "different ISA (misa)";
    if (pc & 1) return "misaligned pc";
    if ((c[C_MSTATUS] & ~MSTATUS_WMASK) || ((c[C_MSTATUS] & MS_MPP) >> MS_MPP_SHIFT) == 2) return "bad mstatus";
    if (c[C_MEDELEG] & ~MEDELEG_MASK) return "bad medeleg";
    if (c[C_MIDELEG] & ~S_INT_MASK) return "bad mideleg";
    if (c[C_MIE] & ~MIE_MASK) return "bad mie";
    if ((c[C_MTVEC] & 3) >= 2 || (c[C_STVEC] & 2)) return "bad trap vector mode";
    if ((c[C_MEPC] & 1) || (c[C_SEPC] & 1)) return "misaligned xepc";
    unsigned mode = (unsigned)(c[C_SATP] >> 60);
    if (mode != 0 && mode != 8 && mode != 9) return "unsupported satp mode";
    if ((c[C_MENVCFG] & ~(MENVCFG_FIOM | MENVCFG_STCE)) || (c[C_SENVCFG] & ~1ull)) return "bad envcfg";
    if ((c[C_MCOUNTEREN] >> 32) || (c[C_SCOUNTEREN] >> 32) || (c[C_MCOUNTINHIBIT] >> 32) || (c[C_MCOUNTINHIBIT] & 2))
        return "bad counter enables";
    if (c[C_FFLAGS] > 31 || c[C_FRM] > 7) return "bad fcsr";
    if (c[C_MIP_SW] & ~S_INT_MASK) return "bad mip";
    return NULL;
}

int rv_hart_load(rv_hart *h, vmk_sread *r)
{
    uint32_t ver = vmk_sr_u32(r);
    if (vmk_sr_ok(r) && ver != HART_STATE_VERSION) {
        vmk_sr_fail(r, "hart %u: state version %u, this vmkit reads %u", h->hartid, ver, HART_STATE_VERSION);
        return -1;
    }
    uint64_t x[32] = { 0 }, f[32], c[C_N], pmpcfg[8], pmpaddr[64];
    for (unsigned i = 1; i < 32; i++) x[i] = vmk_sr_u64(r);
    for (unsigned i = 0; i < 32; i++) f[i] = vmk_sr_u64(r);
    uint64_t pc = vmk_sr_u64(r);
    unsigned priv = vmk_sr_u8(r);
    for (unsigned i = 0; i < C_N; i++) c[i] = vmk_sr_u64(r);
    for (unsigned i = 0; i < 8; i++) pmpcfg[i] = vmk_sr_u64(r);
    for (unsigned i = 0; i < 64; i++) pmpaddr[i] = vmk_sr_u64(r);
    if (!vmk_sr_ok(r)) return -1;
    const char *bad = csr_state_bad(h, c, priv, pc);
    for (unsigned i = 0; i < 8 && !bad; i++) if (pmpcfg[i] & 0x6060606060606060ull) bad = "bad pmpcfg";
    for (unsigned i = 0; i < 64 && !bad; i++) if (pmpaddr[i] >> 54) bad = "bad pmpaddr";
    if (bad) {
        vmk_sr_fail(r, "hart %u: %s", h->hartid, bad);
        return -1;
    }
    memcpy(h->x, x, sizeof x);
    h->x[32] = 0;
    memcpy(h->f, f, sizeof f);
    h->pc = pc;
    h->priv = priv;
    h->mstatus = c[C_MSTATUS]; h->medeleg = c[C_MEDELEG]; h->mideleg = c[C_MIDELEG]; h->mie = c[C_MIE];
    h->mtvec = c[C_MTVEC]; h->stvec = c[C_STVEC]; h->mepc = c[C_MEPC]; h->sepc = c[C_SEPC];
    h->mcause = c[C_MCAUSE]; h->scause = c[C_SCAUSE]; h->mtval = c[C_MTVAL]; h->stval = c[C_STVAL];
    h->mscratch = c[C_MSCRATCH]; h->sscratch = c[C_SSCRATCH]; h->satp = c[C_SATP];
    h->menvcfg = c[C_MENVCFG]; h->senvcfg = c[C_SENVCFG]; h->stimecmp = c[C_STIMECMP];
    h->mcounteren = (uint32_t)c[C_MCOUNTEREN]; h->scounteren = (uint32_t)c[C_SCOUNTEREN];
    h->mcountinhibit = (uint32_t)c[C_MCOUNTINHIBIT];
    h->fflags = (uint32_t)c[C_FFLAGS]; h->frm = (uint32_t)c[C_FRM];
    h->instret = c[C_INSTRET]; h->cycle_off = (int64_t)c[C_CYCLE_OFF]; h->instret_off = (int64_t)c[C_INSTRET_OFF];
    h->mip_sw = c[C_MIP_SW];
    memcpy(h->pmpcfg, pmpcfg, sizeof pmpcfg);
    memcpy(h->pmpaddr, pmpaddr, sizeof pmpaddr);
    atomic_store(&h->mip_dev, 0);                /* the CLINT and PLIC drive these again */
    atomic_store(&h->kick, KICK_IRQ);
    h->res_valid = false;
    h->exc_cause = h->exc_tval = 0;
    rv_tlb_flush_all(h);
    rv_mmu_update_ctx(h);
    if (h->arena_used) blocks_flush(h);          /* (a fresh hart has nothing cached: skip 512 KiB of memset) */
    else rv_jc_flush(h);
    h->fence_epoch++;
    h->store_epoch_seen = atomic_load(&h->cm->store_epoch);
    return 0;
}

/* ---------------- interpreter helpers ---------------- */
static inline uint32_t unbox32(uint64_t v)
{
    return (v >> 32) == 0xffffffffu ? (uint32_t)v : RV_F32_CANON_NAN;
}
static inline uint64_t box32(uint32_t v) { return 0xffffffff00000000ull | v; }
static inline uint64_t sx32(uint64_t v) { return (uint64_t)(int64_t)(int32_t)(uint32_t)v; }

static inline int resolve_rm(const rv_hart *h, unsigned rm)
{
    if (rm == RV_RM_DYN) rm = h->frm;
    return rm <= 4 ? (int)rm : -1;
}

static uint64_t amo_w(unsigned op, uint32_t *p, uint32_t v)
{
    uint32_t old = __atomic_load_n(p, __ATOMIC_RELAXED), nv;
    switch (op) {
    case OP_AMOSWAP_W: return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
    case OP_AMOADD_W: return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
    case OP_AMOXOR_W: return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST);
    case OP_AMOAND_W: return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
    case OP_AMOOR_W: return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
    default: break;
    }
    do {
        switch (op) {
        case OP_AMOMIN_W: nv = (int32_t)old < (int32_t)v ? old : v; break;
        case OP_AMOMAX_W: nv = (int32_t)old > (int32_t)v ? old : v; break;
        case OP_AMOMINU_W: nv = old < v ? old : v; break;
        default: nv = old > v ? old : v; break;
        }
    } while (!__atomic_compare_exchange_n(p, &old, nv, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return old;
}

static uint64_t amo_d(unsigned op, uint64_t *p, uint64_t v)
{
    uint64_t old = __atomic_load_n(p, __ATOMIC_RELAXED), nv;
    switch (op) {
    case OP_AMOSWAP_D: return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST);
    case OP_AMOADD_D: return __atomic_fetch_add(p, v, __ATOMIC_SEQ_CST);
    case OP_AMOXOR_D: return __atomic_fetch_xor(p, v, __ATOMIC_SEQ_CST);
    case OP_AMOAND_D: return __atomic_fetch_and(p, v, __ATOMIC_SEQ_CST);
    case OP_AMOOR_D: return __atomic_fetch_or(p, v, __ATOMIC_SEQ_CST);
    default: break;
    }
    do {
        switch (op) {
        case OP_AMOMIN_D: nv = (int64_t)old < (int64_t)v ? old : v; break;
        case OP_AMOMAX_D: nv = (int64_t)old > (int64_t)v ? old : v; break;
        case OP_AMOMINU_D: nv = old < v ? old : v; break;
        default: nv = old > v ? old : v; break;
        }
    } while (!__atomic_compare_exchange_n(p, &old, nv, true, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
    return old;
}

static inline uint64_t div64(uint64_t a, uint64_t b)
{
    if (b == 0) return ~0ull;
    if ((int64_t)a == INT64_MIN && (int64_t)b == -1) return a;
    return (uint64_t)((int64_t)a / (int64_t)b);
}
static inline uint64_t rem64(uint64_t a, uint64_t b)
{
    if (b == 0) return a;
    if ((int64_t)a == INT64_MIN && (int64_t)b == -1) return 0;
    return (uint64_t)((int64_t)a % (int64_t)b);
}
static inline uint64_t div32(uint64_t a, uint64_t b)
{
    int32_t x = (int32_t)a, y = (int32_t)b;
    if (y == 0) return ~0ull;
    if (x == INT32_MIN && y == -1) return sx32((uint32_t)x);
    return sx32((uint32_t)(x / y));
}
static inline uint64_t rem32(uint64_t a, uint64_t b)
{
    int32_t x = (int32_t)a, y = (int32_t)b;
    if (y == 0) return sx32((uint32_t)x);
    if (x == INT32_MIN && y == -1) return 0;
    return sx32((uint32_t)(x % y));
}

/* ---------------- run loop ---------------- */
enum rv_run_result rv_hart_run(rv_hart *h, uint64_t max_insns)
{
    __extension__ static const void *const disp[OP_COUNT] = {
        [OP_ILLEGAL] = &&L_OP_ILLEGAL, [OP_LUI] = &&L_OP_LUI, [OP_AUIPC] = &&L_OP_AUIPC,
        [OP_JAL] = &&L_OP_JAL, [OP_JALR] = &&L_OP_JALR, [OP_BEQ] = &&L_OP_BEQ, [OP_BNE] = &&L_OP_BNE,
        [OP_BLT] = &&L_OP_BLT, [OP_BGE] = &&L_OP_BGE, [OP_BLTU] = &&L_OP_BLTU, [OP_BGEU] = &&L_OP_BGEU,
        [OP_LB] = &&L_OP_LB, [OP_LH] = &&L_OP_LH, [OP_LW] = &&L_OP_LW, [OP_LD] = &&L_OP_LD,
        [OP_LBU] = &&L_OP_LBU, [OP_LHU] = &&L_OP_LHU, [OP_LWU] = &&L_OP_LWU, [OP_SB] = &&L_OP_SB,
        [OP_SH] = &&L_OP_SH, [OP_SW] = &&L_OP_SW, [OP_SD] = &&L_OP_SD, [OP_ADDI] = &&L_OP_ADDI,
        [OP_SLTI] = &&L_OP_SLTI, [OP_SLTIU] = &&L_OP_SLTIU, [OP_XORI] = &&L_OP_XORI, [OP_ORI] = &&L_OP_ORI,
        [OP_ANDI] = &&L_OP_ANDI, [OP_SLLI] = &&L_OP_SLLI, [OP_SRLI] = &&L_OP_SRLI, [OP_SRAI] = &&L_OP_SRAI,
        [OP_ADD] = &&L_OP_ADD, [OP_SUB] = &&L_OP_SUB, [OP_SLL] = &&L_OP_SLL, [OP_SLT] = &&L_OP_SLT,
        [OP_SLTU] = &&L_OP_SLTU, [OP_XOR] = &&L_OP_XOR, [OP_SRL] = &&L_OP_SRL, [OP_SRA] = &&L_OP_SRA,
        [OP_OR] = &&L_OP_OR, [OP_AND] = &&L_OP_AND, [OP_ADDIW] = &&L_OP_ADDIW, [OP_SLLIW] = &&L_OP_SLLIW,
        [OP_SRLIW] = &&L_OP_SRLIW, [OP_SRAIW] = &&L_OP_SRAIW, [OP_ADDW] = &&L_OP_ADDW,
        [OP_SUBW] = &&L_OP_SUBW, [OP_SLLW] = &&L_OP_SLLW, [OP_SRLW] = &&L_OP_SRLW, [OP_SRAW] = &&L_OP_SRAW,
        [OP_MUL] = &&L_OP_MUL, [OP_MULH] = &&L_OP_MULH, [OP_MULHSU] = &&L_OP_MULHSU,
        [OP_MULHU] = &&L_OP_MULHU, [OP_DIV] = &&L_OP_DIV, [OP_DIVU] = &&L_OP_DIVU, [OP_REM] = &&L_OP_REM,
        [OP_REMU] = &&L_OP_REMU, [OP_MULW] = &&L_OP_MULW, [OP_DIVW] = &&L_OP_DIVW, [OP_DIVUW] = &&L_OP_DIVUW,
        [OP_REMW] = &&L_OP_REMW, [OP_REMUW] = &&L_OP_REMUW, [OP_FENCE] = &&L_OP_FENCE,
        [OP_FENCE_I] = &&L_OP_FENCE_I, [OP_ECALL] = &&L_OP_ECALL, [OP_EBREAK] = &&L_OP_EBREAK,
        [OP_MRET] = &&L_OP_MRET, [OP_SRET] = &&L_OP_SRET, [OP_WFI] = &&L_OP_WFI,
        [OP_SFENCE_VMA] = &&L_OP_SFENCE_VMA, [OP_CSRRW] = &&L_OP_CSRRW, [OP_CSRRS] = &&L_OP_CSRRS,
        [OP_CSRRC] = &&L_OP_CSRRC, [OP_CSRRWI] = &&L_OP_CSRRWI, [OP_CSRRSI] = &&L_OP_CSRRSI,
        [OP_CSRRCI] = &&L_OP_CSRRCI, [OP_LR_W] = &&L_OP_LR_W, [OP_SC_W] = &&L_OP_SC_W,
        [OP_AMOSWAP_W] = &&L_OP_AMOSWAP_W, [OP_AMOADD_W] = &&L_OP_AMOADD_W, [OP_AMOXOR_W] = &&L_OP_AMOXOR_W,
        [OP_AMOAND_W] = &&L_OP_AMOAND_W, [OP_AMOOR_W] = &&L_OP_AMOOR_W, [OP_AMOMIN_W] = &&L_OP_AMOMIN_W,
        [OP_AMOMAX_W] = &&L_OP_AMOMAX_W, [OP_AMOMINU_W] = &&L_OP_AMOMINU_W, [OP_AMOMAXU_W] = &&L_OP_AMOMAXU_W,
        [OP_LR_D] = &&L_OP_LR_D, [OP_SC_D] = &&L_OP_SC_D, [OP_AMOSWAP_D] = &&L_OP_AMOSWAP_D,
        [OP_AMOADD_D] = &&L_OP_AMOADD_D, [OP_AMOXOR_D] = &&L_OP_AMOXOR_D, [OP_AMOAND_D] = &&L_OP_AMOAND_D,
        [OP_AMOOR_D] = &&L_OP_AMOOR_D, [OP_AMOMIN_D] = &&L_OP_AMOMIN_D, [OP_AMOMAX_D] = &&L_OP_AMOMAX_D,
        [OP_AMOMINU_D] = &&L_OP_AMOMINU_D, [OP_AMOMAXU_D] = &&L_OP_AMOMAXU_D, [OP_FLW] = &&L_OP_FLW,
        [OP_FLD] = &&L_OP_FLD, [OP_FSW] = &&L_OP_FSW, [OP_FSD] = &&L_OP_FSD, [OP_FMADD_S] = &&L_OP_FMADD_S,
        [OP_FMSUB_S] = &&L_OP_FMSUB_S, [OP_FNMSUB_S] = &&L_OP_FNMSUB_S, [OP_FNMADD_S] = &&L_OP_FNMADD_S,
        [OP_FADD_S] = &&L_OP_FADD_S, [OP_FSUB_S] = &&L_OP_FSUB_S, [OP_FMUL_S] = &&L_OP_FMUL_S,
        [OP_FDIV_S] = &&L_OP_FDIV_S, [OP_FSQRT_S] = &&L_OP_FSQRT_S, [OP_FSGNJ_S] = &&L_OP_FSGNJ_S,
        [OP_FSGNJN_S] = &&L_OP_FSGNJN_S, [OP_FSGNJX_S] = &&L_OP_FSGNJX_S, [OP_FMIN_S] = &&L_OP_FMIN_S,
        [OP_FMAX_S] = &&L_OP_FMAX_S, [OP_FCVT_W_S] = &&L_OP_FCVT_W_S, [OP_FCVT_WU_S] = &&L_OP_FCVT_WU_S,
        [OP_FCVT_L_S] = &&L_OP_FCVT_L_S, [OP_FCVT_LU_S] = &&L_OP_FCVT_LU_S, [OP_FMV_X_W] = &&L_OP_FMV_X_W,
        [OP_FCLASS_S] = &&L_OP_FCLASS_S, [OP_FEQ_S] = &&L_OP_FEQ_S, [OP_FLT_S] = &&L_OP_FLT_S,
        [OP_FLE_S] = &&L_OP_FLE_S, [OP_FCVT_S_W] = &&L_OP_FCVT_S_W, [OP_FCVT_S_WU] = &&L_OP_FCVT_S_WU,
        [OP_FCVT_S_L] = &&L_OP_FCVT_S_L, [OP_FCVT_S_LU] = &&L_OP_FCVT_S_LU, [OP_FMV_W_X] = &&L_OP_FMV_W_X,
        [OP_FMADD_D] = &&L_OP_FMADD_D, [OP_FMSUB_D] = &&L_OP_FMSUB_D, [OP_FNMSUB_D] = &&L_OP_FNMSUB_D,
        [OP_FNMADD_D] = &&L_OP_FNMADD_D, [OP_FADD_D] = &&L_OP_FADD_D, [OP_FSUB_D] = &&L_OP_FSUB_D,
        [OP_FMUL_D] = &&L_OP_FMUL_D, [OP_FDIV_D] = &&L_OP_FDIV_D, [OP_FSQRT_D] = &&L_OP_FSQRT_D,
        [OP_FSGNJ_D] = &&L_OP_FSGNJ_D, [OP_FSGNJN_D] = &&L_OP_FSGNJN_D, [OP_FSGNJX_D] = &&L_OP_FSGNJX_D,
        [OP_FMIN_D] = &&L_OP_FMIN_D, [OP_FMAX_D] = &&L_OP_FMAX_D, [OP_FCVT_W_D] = &&L_OP_FCVT_W_D,
        [OP_FCVT_WU_D] = &&L_OP_FCVT_WU_D, [OP_FCVT_L_D] = &&L_OP_FCVT_L_D, [OP_FCVT_LU_D] = &&L_OP_FCVT_LU_D,
        [OP_FMV_X_D] = &&L_OP_FMV_X_D, [OP_FCLASS_D] = &&L_OP_FCLASS_D, [OP_FEQ_D] = &&L_OP_FEQ_D,
        [OP_FLT_D] = &&L_OP_FLT_D, [OP_FLE_D] = &&L_OP_FLE_D, [OP_FCVT_D_W] = &&L_OP_FCVT_D_W,
        [OP_FCVT_D_WU] = &&L_OP_FCVT_D_WU, [OP_FCVT_D_L] = &&L_OP_FCVT_D_L, [OP_FCVT_D_LU] = &&L_OP_FCVT_D_LU,
        [OP_FMV_D_X] = &&L_OP_FMV_D_X, [OP_FCVT_S_D] = &&L_OP_FCVT_S_D, [OP_FCVT_D_S] = &&L_OP_FCVT_D_S, [OP_END] = &&L_OP_END,
        [OP_BEQ_LOOP] = &&L_OP_BEQ_LOOP, [OP_BNE_LOOP] = &&L_OP_BNE_LOOP, [OP_BLT_LOOP] = &&L_OP_BLT_LOOP,
        [OP_BGE_LOOP] = &&L_OP_BGE_LOOP, [OP_BLTU_LOOP] = &&L_OP_BLTU_LOOP, [OP_BGEU_LOOP] = &&L_OP_BGEU_LOOP,
        [OP_BEQ_CONT] = &&L_OP_BEQ_CONT, [OP_BNE_CONT] = &&L_OP_BNE_CONT, [OP_BLT_CONT] = &&L_OP_BLT_CONT,
        [OP_BGE_CONT] = &&L_OP_BGE_CONT, [OP_BLTU_CONT] = &&L_OP_BLTU_CONT, [OP_BGEU_CONT] = &&L_OP_BGEU_CONT,
        [OP_ZEXTW_2] = &&L_OP_ZEXTW_2, [OP_SEXTW] = &&L_OP_SEXTW,
    };
    rv_block *const tmp = h->tmpblk;
    uint64_t *const x = h->x;
    uint64_t *const f = h->f;
    const uint64_t end = h->instret + max_insns;
    uint64_t check_at = 0, timer_at = 0;
    rv_block *next = NULL;
    enum rv_run_result ret = RV_RUN_BUDGET;
    uint64_t stalls = 0;     /* traps that retired nothing (a trap loop must still end the slice) */

    /* direct threading: every block that get_block hands out gets its handler addresses before it
     * can run or be linked */
#define THREAD(blk) do { \
        if (RV_UNLIKELY(!(blk)->threaded)) { \
            for (unsigned i_ = 0; i_ <= (blk)->n; i_++) (blk)->insns[i_].hp = disp[(blk)->insns[i_].op]; \
            (blk)->threaded = 1; \
        } } while (0)
    for (;;) {
        unsigned k = atomic_load_explicit(&h->kick, memory_order_relaxed);
        if (RV_UNLIKELY(k || h->instret >= check_at)) {
            next = NULL;
            if (k) k = atomic_exchange(&h->kick, 0);
            if (h->instret >= timer_at) {
                unsigned ep = atomic_load_explicit(&h->cm->store_epoch, memory_order_relaxed);
                if (ep != h->store_epoch_seen) { h->store_epoch_seen = ep; rv_tlb_flush_store(h); }
                rv_sstc_update(h);
                timer_at = h->instret + CHECK_INTERVAL;
            }
            take_irq(h);
            if (k & KICK_RETURN) return RV_RUN_KICKED;
            if (h->instret >= end) return RV_RUN_BUDGET;
            check_at = end < timer_at ? end : timer_at;
        }
        rv_block *kb = next;
        if (!kb) {
            kb = get_block(h, tmp);
            if (!kb) {
                if (++stalls > max_insns) return RV_RUN_BUDGET;
                check_at = 0;
                continue;
            }
            THREAD(kb);
        }
        next = NULL;
        const rv_block *b = kb;
        const rv_insn *ins = b->insns;
        uint64_t bpc = h->pc;
        rv_tlbe *const tl = h->tlb[h->dctx][RV_ACC_LOAD];
        rv_tlbe *const ts = h->tlb[h->dctx][RV_ACC_STORE];
        uint64_t npc, cause, tval, va;
        int li = 1;          /* which link slot the successor uses */
        uint64_t lp = 0;     /* instructions retired by loop re-entries (BRLOOP), not yet in h->instret */

#define PC() (bpc + ins->off)
#define RD x[ins->rd]
#define RS1 x[ins->rs1]
#define RS2 x[ins->rs2]
#define IMM ((uint64_t)(int64_t)ins->imm)
#define EXC(c, t) do { cause = (c); tval = (t); goto exception; } while (0)
#define JUMP(t, slot) do { npc = (t); li = (slot); goto block_end; } while (0)
#define SYSEND(t) do { npc = (t); goto sys_end; } while (0)
#define LOADV(T, dst) do { \
            uint64_t va_ = RS1 + IMM; \
            rv_tlbe *e_ = &tl[(va_ >> 12) & (RV_TLB_SIZE - 1)]; \
            if (RV_LIKELY(e_->tag == (va_ >> 12) && (va_ & 0xfff) <= 0x1000 - sizeof(T))) { \
                T t_; memcpy(&t_, (void *)(uintptr_t)(va_ + e_->addend), sizeof(T)); dst = t_; \
            } else { \
                uint64_t sv_; \
                if (!rv_load_slow(h, va_, sizeof(T), &sv_)) EXC(h->exc_cause, h->exc_tval); \
                dst = (T)sv_; \
            } } while (0)
#define LOAD(T, conv) do { T lv_; LOADV(T, lv_); RD = conv(lv_); } while (0)
#define STORE(T, val) do { \
            uint64_t va_ = RS1 + IMM; \
            rv_tlbe *e_ = &ts[(va_ >> 12) & (RV_TLB_SIZE - 1)]; \
            T t_ = (T)(val); \
            if (RV_LIKELY(e_->tag == (va_ >> 12) && (va_ & 0xfff) <= 0x1000 - sizeof(T))) { \
                memcpy((void *)(uintptr_t)(va_ + e_->addend), &t_, sizeof(T)); \
            } else if (!rv_store_slow(h, va_, sizeof(T), (uint64_t)t_)) EXC(h->exc_cause, h->exc_tval); \
            } while (0)
#define S8(t)  ((uint64_t)(int64_t)(int8_t)(t))
#define S16(t) ((uint64_t)(int64_t)(int16_t)(t))
#define S32(t) ((uint64_t)(int64_t)(int32_t)(t))
#define U(t)   ((uint64_t)(t))
#define FPON() do { if (RV_UNLIKELY(!(h->mstatus & MS_FS))) goto illegal; } while (0)
#define FRM(var) int var = resolve_rm(h, ins->rm); if (RV_UNLIKELY(var < 0)) goto illegal
#define FDONE() do { h->fflags |= fl; h->mstatus |= MS_FS; } while (0)
#define F32A unbox32(f[ins->rs1])
#define F32B unbox32(f[ins->rs2])
#define F32C unbox32(f[ins->rs3])
#define NEXT() goto *(++ins)->hp
#define DISPATCH() goto *ins->hp
#define BR(cond) do { if (cond) JUMP(PC() + IMM, 0); else JUMP(PC() + ins->len, 1); } while (0)
/* taken target is this block's first instruction: the block is still valid (it was validated on
 * entry, exactly like a same-page link to itself), so re-enter it directly while no kick is
 * pending and the check point is not reached; otherwise take the ordinary block end */
#define BRLOOP(cond) do { \
            if (cond) { \
                if (RV_LIKELY(!atomic_load_explicit(&h->kick, memory_order_relaxed) && \
                              h->instret + lp + b->n < check_at)) { \
                    lp += b->n; \
                    goto loop_reenter; \
                } \
                JUMP(bpc, 0); \
            } \
            JUMP(PC() + ins->len, 1); } while (0)

        DISPATCH();
        {
            {
            loop_reenter:
                ins = b->insns;
                DISPATCH();
            L_OP_LUI: RD = IMM; NEXT();
            L_OP_AUIPC: RD = PC() + IMM; NEXT();
            L_OP_JAL: { uint64_t p = PC(); RD = p + ins->len; JUMP(p + IMM, 0); }
            L_OP_JALR: { uint64_t p = PC(), t = (RS1 + IMM) & ~1ull; RD = p + ins->len; JUMP(t, 0); }
            L_OP_BEQ: BR(RS1 == RS2);
            L_OP_BNE: BR(RS1 != RS2);
            L_OP_BLT: BR((int64_t)RS1 < (int64_t)RS2);
            L_OP_BGE: BR((int64_t)RS1 >= (int64_t)RS2);
            L_OP_BLTU: BR(RS1 < RS2);
            L_OP_BGEU: BR(RS1 >= RS2);
            L_OP_BEQ_LOOP: BRLOOP(RS1 == RS2);
            L_OP_BNE_LOOP: BRLOOP(RS1 != RS2);
            L_OP_BLT_LOOP: BRLOOP((int64_t)RS1 < (int64_t)RS2);
            L_OP_BGE_LOOP: BRLOOP((int64_t)RS1 >= (int64_t)RS2);
            L_OP_BLTU_LOOP: BRLOOP(RS1 < RS2);
            L_OP_BGEU_LOOP: BRLOOP(RS1 >= RS2);
#define BRCONT(cond) do { if (cond) NEXT(); JUMP(PC() + ins->len, 1); } while (0)
            L_OP_BEQ_CONT: BRCONT(RS1 == RS2);
            L_OP_BNE_CONT: BRCONT(RS1 != RS2);
            L_OP_BLT_CONT: BRCONT((int64_t)RS1 < (int64_t)RS2);
            L_OP_BGE_CONT: BRCONT((int64_t)RS1 >= (int64_t)RS2);
            L_OP_BLTU_CONT: BRCONT(RS1 < RS2);
            L_OP_BGEU_CONT: BRCONT(RS1 >= RS2);
            L_OP_LB: LOAD(uint8_t, S8); NEXT();
            L_OP_LH: LOAD(uint16_t, S16); NEXT();
            L_OP_LW: LOAD(uint32_t, S32); NEXT();
            L_OP_LD: LOAD(uint64_t, U); NEXT();
            L_OP_LBU: LOAD(uint8_t, U); NEXT();
            L_OP_LHU: LOAD(uint16_t, U); NEXT();
            L_OP_LWU: LOAD(uint32_t, U); NEXT();
            L_OP_SB: STORE(uint8_t, RS2); NEXT();
            L_OP_SH: STORE(uint16_t, RS2); NEXT();
            L_OP_SW: STORE(uint32_t, RS2); NEXT();
            L_OP_SD: STORE(uint64_t, RS2); NEXT();
            L_OP_ADDI: RD = RS1 + IMM; NEXT();
            L_OP_SLTI: RD = (int64_t)RS1 < (int64_t)IMM; NEXT();
            L_OP_SLTIU: RD = RS1 < IMM; NEXT();
            L_OP_XORI: RD = RS1 ^ IMM; NEXT();
            L_OP_ORI: RD = RS1 | IMM; NEXT();
            L_OP_ANDI: RD = RS1 & IMM; NEXT();
            L_OP_SLLI: RD = RS1 << ins->imm; NEXT();
            L_OP_SRLI: RD = RS1 >> ins->imm; NEXT();
            L_OP_SRAI: RD = (uint64_t)((int64_t)RS1 >> ins->imm); NEXT();
            L_OP_ADD: RD = RS1 + RS2; NEXT();
            L_OP_SUB: RD = RS1 - RS2; NEXT();
            L_OP_SLL: RD = RS1 << (RS2 & 63); NEXT();
            L_OP_SLT: RD = (int64_t)RS1 < (int64_t)RS2; NEXT();
            L_OP_SLTU: RD = RS1 < RS2; NEXT();
            L_OP_XOR: RD = RS1 ^ RS2; NEXT();
            L_OP_SRL: RD = RS1 >> (RS2 & 63); NEXT();
            L_OP_SRA: RD = (uint64_t)((int64_t)RS1 >> (RS2 & 63)); NEXT();
            L_OP_OR: RD = RS1 | RS2; NEXT();
            L_OP_AND: RD = RS1 & RS2; NEXT();
            L_OP_ADDIW: RD = sx32(RS1 + IMM); NEXT();
            L_OP_SEXTW: RD = sx32(RS1); NEXT();
            L_OP_ZEXTW_2: RD = (uint32_t)RS1; ins++; NEXT();
            L_OP_SLLIW: RD = sx32((uint32_t)RS1 << ins->imm); NEXT();
            L_OP_SRLIW: RD = sx32((uint32_t)RS1 >> ins->imm); NEXT();
            L_OP_SRAIW: RD = (uint64_t)(int64_t)((int32_t)RS1 >> ins->imm); NEXT();
            L_OP_ADDW: RD = sx32(RS1 + RS2); NEXT();
            L_OP_SUBW: RD = sx32(RS1 - RS2); NEXT();
            L_OP_SLLW: RD = sx32((uint32_t)RS1 << (RS2 & 31)); NEXT();
            L_OP_SRLW: RD = sx32((uint32_t)RS1 >> (RS2 & 31)); NEXT();
            L_OP_SRAW: RD = (uint64_t)(int64_t)((int32_t)RS1 >> (RS2 & 31)); NEXT();
            L_OP_MUL: RD = RS1 * RS2; NEXT();
            L_OP_MULH: RD = (uint64_t)(((rv_i128)(int64_t)RS1 * (rv_i128)(int64_t)RS2) >> 64); NEXT();
            L_OP_MULHSU: RD = (uint64_t)(((rv_i128)(int64_t)RS1 * (rv_i128)(rv_u128)RS2) >> 64); NEXT();
            L_OP_MULHU: RD = (uint64_t)(((rv_u128)RS1 * (rv_u128)RS2) >> 64); NEXT();
            L_OP_DIV: RD = div64(RS1, RS2); NEXT();
            L_OP_DIVU: RD = RS2 ? RS1 / RS2 : ~0ull; NEXT();
            L_OP_REM: RD = rem64(RS1, RS2); NEXT();
            L_OP_REMU: RD = RS2 ? RS1 % RS2 : RS1; NEXT();
            L_OP_MULW: RD = sx32((uint32_t)RS1 * (uint32_t)RS2); NEXT();
            L_OP_DIVW: RD = div32(RS1, RS2); NEXT();
            L_OP_DIVUW: RD = (uint32_t)RS2 ? sx32((uint32_t)RS1 / (uint32_t)RS2) : ~0ull; NEXT();
            L_OP_REMW: RD = rem32(RS1, RS2); NEXT();
            L_OP_REMUW: RD = (uint32_t)RS2 ? sx32((uint32_t)RS1 % (uint32_t)RS2) : sx32(RS1); NEXT();
            L_OP_FENCE: NEXT();
            L_OP_FENCE_I: {
                unsigned ep = atomic_load_explicit(&h->cm->store_epoch, memory_order_relaxed);
                if (ep != h->store_epoch_seen) { h->store_epoch_seen = ep; rv_tlb_flush_store(h); }
                h->fence_epoch++;
                SYSEND(PC() + ins->len);
            }
            L_OP_ECALL:
                EXC(h->priv == RV_PRIV_U ? RV_EXC_ECALL_U : h->priv == RV_PRIV_S ? RV_EXC_ECALL_S : RV_EXC_ECALL_M, 0);
            L_OP_EBREAK: EXC(RV_EXC_BREAKPOINT, PC());
            L_OP_MRET: {
                if (h->priv < RV_PRIV_M) goto illegal;
                uint64_t s = h->mstatus;
                unsigned mpp = (s >> MS_MPP_SHIFT) & 3;
                s = (s & ~MS_MIE) | ((s & MS_MPIE) ? MS_MIE : 0);
                s |= MS_MPIE;
                s &= ~MS_MPP;
                if (mpp != RV_PRIV_M) s &= ~MS_MPRV;
                h->mstatus = s;
                h->priv = mpp;
                rv_mmu_update_ctx(h);
                SYSEND(h->mepc);
            }
            L_OP_SRET: {
                if (h->priv < RV_PRIV_S || (h->priv == RV_PRIV_S && (h->mstatus & MS_TSR))) goto illegal;
                uint64_t s = h->mstatus;
                unsigned spp = (s & MS_SPP) ? RV_PRIV_S : RV_PRIV_U;
                s = (s & ~MS_SIE) | ((s & MS_SPIE) ? MS_SIE : 0);
                s |= MS_SPIE;
                s &= ~MS_SPP;
                s &= ~MS_MPRV;
                h->mstatus = s;
                h->priv = spp;
                rv_mmu_update_ctx(h);
                SYSEND(h->sepc);
            }
            L_OP_WFI:
                if (h->priv == RV_PRIV_U || (h->priv == RV_PRIV_S && (h->mstatus & MS_TW))) goto illegal;
                rv_sstc_update(h);
                if ((rv_mip(h) & h->mie) == 0) {
                    h->instret += (uint64_t)(ins - b->insns) + 1 + lp;
                    h->pc = PC() + ins->len;
                    return RV_RUN_WFI;
                }
                SYSEND(PC() + ins->len);
            L_OP_SFENCE_VMA:
                if (h->priv == RV_PRIV_U || (h->priv == RV_PRIV_S && (h->mstatus & MS_TVM))) goto illegal;
                if (ins->rs1 == 0) rv_tlb_flush_all(h);
                else rv_tlb_flush_va(h, RS1);
                SYSEND(PC() + ins->len);
            L_OP_CSRRW: L_OP_CSRRS: L_OP_CSRRC: L_OP_CSRRWI: L_OP_CSRRSI: L_OP_CSRRCI: {
                unsigned csr = (unsigned)ins->imm & 0xfff, op = ins->op;
                bool imm = op >= OP_CSRRWI;
                uint64_t src = imm ? ins->rs1 : RS1, old;
                bool wr = op == OP_CSRRW || op == OP_CSRRWI || ins->rs1 != 0;
                h->instret += lp;                            /* (0: a CSR op ends its block) */
                lp = 0;
                h->instret += (uint64_t)(ins - b->insns);    /* exact counters for csrr */
                uint64_t base = (uint64_t)(ins - b->insns);
                if (!rv_csr_check(h, csr, wr) || !rv_csr_read(h, csr, &old)) { h->instret -= base; goto illegal; }
                if (wr) {
                    /* mip: the PLIC's SEIP signal is read but never written back by csrrs/csrrc */
                    uint64_t o = csr == 0x344 ? h->mip_sw : old;
                    uint64_t nv = (op == OP_CSRRW || op == OP_CSRRWI) ? src :
                                  (op == OP_CSRRS || op == OP_CSRRSI) ? (o | src) : (o & ~src);
                    if (!rv_csr_write(h, csr, nv)) { h->instret -= base; goto illegal; }
                }
                h->instret -= base;
                RD = old;
                SYSEND(PC() + ins->len);
            }
            L_OP_LR_W: L_OP_LR_D: {
                unsigned sz = ins->op == OP_LR_W ? 4 : 8;
                uint64_t pa;
                va = RS1;
                void *p = rv_amo_ptr(h, va, sz, true, &pa);
                if (!p) EXC(h->exc_cause == ~0ull ? RV_EXC_LOAD_ACCESS : h->exc_cause,
                            h->exc_cause == ~0ull ? va : h->exc_tval);
                if (sz == 4) { uint32_t t = __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST); h->res_val = t; RD = S32(t); }
                else { uint64_t t = __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST); h->res_val = t; RD = t; }
                h->res_valid = true;
                h->res_addr = va;
                NEXT();
            }
            L_OP_SC_W: L_OP_SC_D: {
                unsigned sz = ins->op == OP_SC_W ? 4 : 8;
                uint64_t pa;
                va = RS1;
                void *p = rv_amo_ptr(h, va, sz, false, &pa);
                if (!p) EXC(h->exc_cause == ~0ull ? RV_EXC_STORE_ACCESS : h->exc_cause,
                            h->exc_cause == ~0ull ? va : h->exc_tval);
                bool ok = false;
                if (h->res_valid && h->res_addr == va) {
                    if (sz == 4) {
                        uint32_t exp = (uint32_t)h->res_val;
                        ok = __atomic_compare_exchange_n((uint32_t *)p, &exp, (uint32_t)RS2, false,
                                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
                    } else {
                        uint64_t exp = h->res_val;
                        ok = __atomic_compare_exchange_n((uint64_t *)p, &exp, RS2, false,
                                                         __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
                    }
                }
                h->res_valid = false;
                RD = ok ? 0 : 1;
                NEXT();
            }
            L_OP_AMOSWAP_W: L_OP_AMOADD_W: L_OP_AMOXOR_W: L_OP_AMOAND_W: L_OP_AMOOR_W:
            L_OP_AMOMIN_W: L_OP_AMOMAX_W: L_OP_AMOMINU_W: L_OP_AMOMAXU_W: {
                uint64_t pa;
                va = RS1;
                void *p = rv_amo_ptr(h, va, 4, false, &pa);
                if (!p) EXC(h->exc_cause == ~0ull ? RV_EXC_STORE_ACCESS : h->exc_cause,
                            h->exc_cause == ~0ull ? va : h->exc_tval);
                RD = S32(amo_w(ins->op, p, (uint32_t)RS2));
                NEXT();
            }
            L_OP_AMOSWAP_D: L_OP_AMOADD_D: L_OP_AMOXOR_D: L_OP_AMOAND_D: L_OP_AMOOR_D:
            L_OP_AMOMIN_D: L_OP_AMOMAX_D: L_OP_AMOMINU_D: L_OP_AMOMAXU_D: {
                uint64_t pa;
                va = RS1;
                void *p = rv_amo_ptr(h, va, 8, false, &pa);
                if (!p) EXC(h->exc_cause == ~0ull ? RV_EXC_STORE_ACCESS : h->exc_cause,
                            h->exc_cause == ~0ull ? va : h->exc_tval);
                RD = amo_d(ins->op, p, RS2);
                NEXT();
            }
            /* ---- F / D ---- */
            L_OP_FLW: {
                FPON();
                uint32_t w_;
                LOADV(uint32_t, w_);
                f[ins->rd] = box32(w_);
                h->mstatus |= MS_FS;
                NEXT();
            }
            L_OP_FLD: {
                FPON();
                uint64_t d_;
                LOADV(uint64_t, d_);
                f[ins->rd] = d_;
                h->mstatus |= MS_FS;
                NEXT();
            }
            L_OP_FSW: FPON(); STORE(uint32_t, f[ins->rs2]); NEXT();
            L_OP_FSD: FPON(); STORE(uint64_t, f[ins->rs2]); NEXT();

#define F3OP(OPC, fn) L_##OPC: { FPON(); FRM(rm); uint32_t fl = 0; \
                f[ins->rd] = box32(rv_f32_##fn(F32A, F32B, F32C, rm, &fl)); FDONE(); NEXT(); }
#define D3OP(OPC, fn) L_##OPC: { FPON(); FRM(rm); uint32_t fl = 0; \
                f[ins->rd] = rv_f64_##fn(f[ins->rs1], f[ins->rs2], f[ins->rs3], rm, &fl); FDONE(); NEXT(); }
#define F2OP(OPC, fn) L_##OPC: { FPON(); FRM(rm); uint32_t fl = 0; \
                f[ins->rd] = box32(rv_f32_##fn(F32A, F32B, rm, &fl)); FDONE(); NEXT(); }
#define D2OP(OPC, fn) L_##OPC: { FPON(); FRM(rm); uint32_t fl = 0; \
                f[ins->rd] = rv_f64_##fn(f[ins->rs1], f[ins->rs2], rm, &fl); FDONE(); NEXT(); }
            F3OP(OP_FMADD_S, madd) F3OP(OP_FMSUB_S, msub) F3OP(OP_FNMSUB_S, nmsub) F3OP(OP_FNMADD_S, nmadd)
            D3OP(OP_FMADD_D, madd) D3OP(OP_FMSUB_D, msub) D3OP(OP_FNMSUB_D, nmsub) D3OP(OP_FNMADD_D, nmadd)
            F2OP(OP_FADD_S, add) F2OP(OP_FSUB_S, sub) F2OP(OP_FMUL_S, mul) F2OP(OP_FDIV_S, div)
            D2OP(OP_FADD_D, add) D2OP(OP_FSUB_D, sub) D2OP(OP_FMUL_D, mul) D2OP(OP_FDIV_D, div)
            L_OP_FSQRT_S: { FPON(); FRM(rm); uint32_t fl = 0; f[ins->rd] = box32(rv_f32_sqrt(F32A, rm, &fl)); FDONE(); NEXT(); }
            L_OP_FSQRT_D: { FPON(); FRM(rm); uint32_t fl = 0; f[ins->rd] = rv_f64_sqrt(f[ins->rs1], rm, &fl); FDONE(); NEXT(); }
            L_OP_FSGNJ_S: FPON(); f[ins->rd] = box32((F32A & 0x7fffffffu) | (F32B & 0x80000000u)); h->mstatus |= MS_FS; NEXT();
            L_OP_FSGNJN_S: FPON(); f[ins->rd] = box32((F32A & 0x7fffffffu) | (~F32B & 0x80000000u)); h->mstatus |= MS_FS; NEXT();
            L_OP_FSGNJX_S: FPON(); f[ins->rd] = box32(F32A ^ (F32B & 0x80000000u)); h->mstatus |= MS_FS; NEXT();
            L_OP_FSGNJ_D: FPON(); f[ins->rd] = (f[ins->rs1] & ~(1ull << 63)) | (f[ins->rs2] & (1ull << 63)); h->mstatus |= MS_FS; NEXT();
            L_OP_FSGNJN_D: FPON(); f[ins->rd] = (f[ins->rs1] & ~(1ull << 63)) | (~f[ins->rs2] & (1ull << 63)); h->mstatus |= MS_FS; NEXT();
            L_OP_FSGNJX_D: FPON(); f[ins->rd] = f[ins->rs1] ^ (f[ins->rs2] & (1ull << 63)); h->mstatus |= MS_FS; NEXT();
            L_OP_FMIN_S: { FPON(); uint32_t fl = 0; f[ins->rd] = box32(rv_f32_min(F32A, F32B, &fl)); FDONE(); NEXT(); }
            L_OP_FMAX_S: { FPON(); uint32_t fl = 0; f[ins->rd] = box32(rv_f32_max(F32A, F32B, &fl)); FDONE(); NEXT(); }
            L_OP_FMIN_D: { FPON(); uint32_t fl = 0; f[ins->rd] = rv_f64_min(f[ins->rs1], f[ins->rs2], &fl); FDONE(); NEXT(); }
            L_OP_FMAX_D: { FPON(); uint32_t fl = 0; f[ins->rd] = rv_f64_max(f[ins->rs1], f[ins->rs2], &fl); FDONE(); NEXT(); }
            L_OP_FCVT_W_S: { FPON(); FRM(rm); uint32_t fl = 0; RD = S32(rv_f32_to_i32(F32A, rm, &fl)); FDONE(); NEXT(); }
            L_OP_FCVT_WU_S: { FPON(); FRM(rm); uint32_t fl = 0; RD = S32(rv_f32_to_u32(F32A, rm, &fl)); FDONE(); NEXT(); }
            L_OP_FCVT_L_S: { FPON(); FRM(rm); uint32_t fl = 0; RD = (uint64_t)rv_f32_to_i64(F32A, rm, &fl); FDONE(); NEXT(); }
            L_OP_FCVT_LU_S: { FPON(); FRM(rm); uint32_t fl = 0; RD = rv_f32_to_u64(F32A, rm, &fl); FDONE(); NEXT(); }
            L_OP_FCVT_W_D: { FPON(); FRM(rm); uint32_t fl = 0; RD = S32(rv_f64_to_i32(f[ins->rs1], rm, &fl)); FDONE(); NEXT(); }
            L_OP_FCVT_WU_D: { FPON(); FRM(rm); uint32_t fl = 0; RD = S32(rv_f64_to_u32(f[ins->rs1], rm, &fl)); FDONE(); NEXT(); }
            L_OP_FCVT_L_D: { FPON(); FRM(rm); uint32_t fl = 0; RD = (uint64_t)rv_f64_to_i64(f[ins->rs1], rm, &fl); FDONE(); NEXT(); }
            L_OP_FCVT_LU_D: { FPON(); FRM(rm); uint32_t fl = 0; RD = rv_f64_to_u64(f[ins->rs1], rm, &fl); FDONE(); NEXT(); }
            L_OP_FMV_X_W: FPON(); RD = S32(f[ins->rs1]); NEXT();
            L_OP_FMV_X_D: FPON(); RD = f[ins->rs1]; NEXT();
            L_OP_FCLASS_S: FPON(); RD = rv_f32_classify(F32A); NEXT();
            L_OP_FCLASS_D: FPON(); RD = rv_f64_classify(f[ins->rs1]); NEXT();
            L_OP_FEQ_S: { FPON(); uint32_t fl = 0; RD = (uint64_t)rv_f32_eq(F32A, F32B, &fl); FDONE(); NEXT(); }
            L_OP_FLT_S: { FPON(); uint32_t fl = 0; RD = (uint64_t)rv_f32_lt(F32A, F32B, &fl); FDONE(); NEXT(); }
            L_OP_FLE_S: { FPON(); uint32_t fl = 0; RD = (uint64_t)rv_f32_le(F32A, F32B, &fl); FDONE(); NEXT(); }
            L_OP_FEQ_D: { FPON(); uint32_t fl = 0; RD = (uint64_t)rv_f64_eq(f[ins->rs1], f[ins->rs2], &fl); FDONE(); NEXT(); }
            L_OP_FLT_D: { FPON(); uint32_t fl = 0; RD = (uint64_t)rv_f64_lt(f[ins->rs1], f[ins->rs2], &fl); FDONE(); NEXT(); }
            L_OP_FLE_D: { FPON(); uint32_t fl = 0; RD = (uint64_t)rv_f64_le(f[ins->rs1], f[ins->rs2], &fl); FDONE(); NEXT(); }
            L_OP_FCVT_S_W: { FPON(); FRM(rm); uint32_t fl = 0; f[ins->rd] = box32(rv_f32_from_i32((int32_t)RS1, rm, &fl)); FDONE(); NEXT(); }
            L_OP_FCVT_S_WU: { FPON(); FRM(rm); uint32_t fl = 0; f[ins->rd] = box32(rv_f32_from_u32((uint32_t)RS1, rm, &fl)); FDONE(); NEXT(); }
            L_OP_FCVT_S_L: { FPON(); FRM(rm); uint32_t fl = 0; f[ins->rd] = box32(rv_f32_from_i64((int64_t)RS1, rm, &fl)); FDONE(); NEXT(); }
            L_OP_FCVT_S_LU: { FPON(); FRM(rm); uint32_t fl = 0; f[ins->rd] = box32(rv_f32_from_u64(RS1, rm, &fl)); FDONE(); NEXT(); }
            L_OP_FCVT_D_W: { FPON(); FRM(rm); uint32_t fl = 0; f[ins->rd] = rv_f64_from_i32((int32_t)RS1, rm, &fl); FDONE(); NEXT(); }
            L_OP_FCVT_D_WU: { FPON(); FRM(rm); uint32_t fl = 0; f[ins->rd] = rv_f64_from_u32((uint32_t)RS1, rm, &fl); FDONE(); NEXT(); }
            L_OP_FCVT_D_L: { FPON(); FRM(rm); uint32_t fl = 0; f[ins->rd] = rv_f64_from_i64((int64_t)RS1, rm, &fl); FDONE(); NEXT(); }
            L_OP_FCVT_D_LU: { FPON(); FRM(rm); uint32_t fl = 0; f[ins->rd] = rv_f64_from_u64(RS1, rm, &fl); FDONE(); NEXT(); }
            L_OP_FMV_W_X: FPON(); f[ins->rd] = box32((uint32_t)RS1); h->mstatus |= MS_FS; NEXT();
            L_OP_FMV_D_X: FPON(); f[ins->rd] = RS1; h->mstatus |= MS_FS; NEXT();
            L_OP_FCVT_S_D: { FPON(); FRM(rm); uint32_t fl = 0; f[ins->rd] = box32(rv_f64_to_f32(f[ins->rs1], rm, &fl)); FDONE(); NEXT(); }
            L_OP_FCVT_D_S: { FPON(); FRM(rm); (void)rm; uint32_t fl = 0; f[ins->rd] = rv_f32_to_f64(F32A, &fl); FDONE(); NEXT(); }
            L_OP_ILLEGAL:
                EXC(RV_EXC_ILLEGAL, (uint64_t)(uint32_t)ins->imm);
            L_OP_END:
                /* sentinel after the last instruction (size limit / page end): continue sequentially */
                npc = bpc + b->bytes;
                li = 1;
                ins--;
                goto block_end;
            }
        }
    block_end:
        h->instret += (uint64_t)(ins - b->insns) + 1 + lp;   /* ins: the instruction that left the block */
        h->pc = npc;
        if (RV_LIKELY(kb != tmp)) {
            rv_block *c = kb->link[li];
            bool ok;
            if (((npc ^ bpc) >> 12) == 0) {
                /* same page as b, which was validated (gen, FENCE.I epoch) when it was looked
                 * up; a concurrent invalidation is noticed at the next check interval */
                ok = c && c->pa == b->pa + (npc - bpc) && c->gen == b->gen && c->epoch == b->epoch;
            } else {
                /* another page: valid while the fetch translation is unchanged (no TLB flush
                 * since the link was made, same context) and the target page is unchanged */
                ok = c && kb->lvpc[li] == npc && kb->ltag[li] == ((h->jc_epoch << 2) | h->fctx) &&
                     c->gen == rv_code_gen(h->cm, h->mem, c->pa) && c->epoch == h->fence_epoch;
            }
            if (ok) {
                if (RV_LIKELY(!atomic_load_explicit(&h->kick, memory_order_relaxed) && h->instret < check_at)) {
                    /* chained: same privilege and translation context */
                    kb = c;
                    b = c;
                    ins = c->insns;
                    bpc = npc;
                    lp = 0;              /* b's loop re-entries are in h->instret now */
                    DISPATCH();
                }
                next = c;
            } else {
                unsigned fl0 = h->flushes;
                rv_block *nb = get_block(h, tmp);
                if (nb) THREAD(nb);
                if (nb && nb != tmp) {
                    /* get_block may have flushed the arena: only link when kb is still valid */
                    if (h->flushes == fl0) {
                        kb->link[li] = nb;
                        kb->lvpc[li] = npc;
                        kb->ltag[li] = (h->jc_epoch << 2) | h->fctx;
                    }
                    next = nb;
                } else if (!nb) {
                    check_at = 0;
                } else {
                    next = nb;
                }
            }
        }
        continue;
    sys_end:
        h->instret += (uint64_t)(ins - b->insns) + 1 + lp;
        h->pc = npc;
        check_at = 0;
        continue;
    illegal:
        cause = RV_EXC_ILLEGAL;
        tval = insn_bits(h, PC());
    exception:
        h->instret += (uint64_t)(ins - b->insns) + lp;
        h->pc = PC();
        rv_trap(h, cause, tval, false);
        if (++stalls > max_insns) return RV_RUN_BUDGET;
        check_at = 0;
        continue;
    }
    return ret;
}
