/* mmu.c — the hart's memory side: Sv39/Sv48 page-table walks (permissions with SUM/MXR/MPRV,
 * hardware A/D update), the software TLB (fill, flush), load/store/fetch/atomic slow paths that
 * reach RAM or MMIO (rv_bus_read/rv_bus_write), and the shared per-RAM code-page map that keeps
 * decoded blocks coherent with guest and device writes. */
#include <pthread.h>
#include <stdlib.h>
#include "hart.h"

/* ---------------- code map (shared by all harts on one RAM) ---------------- */
static pthread_mutex_t cm_lock = PTHREAD_MUTEX_INITIALIZER;
static rv_codemap *cm_list;

rv_codemap *rv_codemap_get(vmk_mem *mem)
{
    pthread_mutex_lock(&cm_lock);
    rv_codemap *cm;
    for (cm = cm_list; cm; cm = cm->next)
        if (cm->mem == mem) break;
    if (!cm) {
        cm = vmk_xcalloc(1, sizeof *cm);
        cm->mem = mem;
        cm->npages = mem->size >> 12;
        cm->gen = vmk_xcalloc(cm->npages ? cm->npages : 1, sizeof *cm->gen);
        cm->has_code = vmk_xcalloc(cm->npages ? cm->npages : 1, 1);
        atomic_init(&cm->store_epoch, 0);
        cm->next = cm_list;
        cm_list = cm;
    }
    cm->refs++;
    pthread_mutex_unlock(&cm_lock);
    return cm;
}

void rv_codemap_put(rv_codemap *cm)
{
    pthread_mutex_lock(&cm_lock);
    if (--cm->refs == 0) {
        for (rv_codemap **pp = &cm_list; *pp; pp = &(*pp)->next)
            if (*pp == cm) { *pp = cm->next; break; }
        free(cm->gen);
        free(cm->has_code);
        free(cm);
    }
    pthread_mutex_unlock(&cm_lock);
}

void rv_code_mark(rv_hart *h, uint64_t pa)
{
    uint64_t pg = (pa - h->mem->base) >> 12;
    if (pg >= h->cm->npages) return;
    if (!__atomic_load_n(&h->cm->has_code[pg], __ATOMIC_RELAXED)) {
        __atomic_store_n(&h->cm->has_code[pg], 1, __ATOMIC_RELAXED);
        atomic_fetch_add(&h->cm->store_epoch, 1);
        rv_tlb_flush_store(h);
        h->store_epoch_seen = atomic_load(&h->cm->store_epoch);
    }
}

void rv_code_written(rv_codemap *cm, vmk_mem *mem, uint64_t pa, uint64_t len)
{
    if (len == 0 || pa < mem->base) return;
    uint64_t first = (pa - mem->base) >> 12, last = (pa - mem->base + len - 1) >> 12;
    if (last >= cm->npages) last = cm->npages - 1;
    for (uint64_t pg = first; pg <= last && pg < cm->npages; pg++) {
        if (__atomic_load_n(&cm->has_code[pg], __ATOMIC_RELAXED)) {
            __atomic_store_n(&cm->has_code[pg], 0, __ATOMIC_RELAXED);
            __atomic_fetch_add(&cm->gen[pg], 1, __ATOMIC_RELEASE);
        }
    }
}

/* ---------------- TLB ---------------- */
void rv_tlb_flush_all(rv_hart *h)
{
    memset(h->tlb, 0xff, sizeof h->tlb);
    rv_jc_flush(h);
    h->tlb_super_lo = h->tlb_super_hi = false;
}

void rv_tlb_flush_store(rv_hart *h)
{
    for (unsigned c = 0; c < RV_TLB_NCTX; c++)
        memset(h->tlb[c][RV_ACC_STORE], 0xff, sizeof h->tlb[c][RV_ACC_STORE]);
}

void rv_tlb_flush_va(rv_hart *h, uint64_t va)
{
    /* a superpage is cached as many 4 KiB entries: flush everything when va's half of the
     * address space (user / kernel) holds any superpage entry */
    if ((int64_t)va < 0 ? h->tlb_super_hi : h->tlb_super_lo) { rv_tlb_flush_all(h); return; }
    uint64_t tag = va >> 12;
    unsigned idx = tag & (RV_TLB_SIZE - 1);
    rv_jc_flush(h);
    for (unsigned c = 0; c < RV_TLB_NCTX; c++)
        for (unsigned t = 0; t < 3; t++)
            if (h->tlb[c][t][idx].tag == tag) h->tlb[c][t][idx].tag = ~0ull;
}

static unsigned data_priv(const rv_hart *h)
{
    if (h->priv == RV_PRIV_M && (h->mstatus & MS_MPRV)) return (h->mstatus >> MS_MPP_SHIFT) & 3;
    return h->priv;
}

static bool bare_for(const rv_hart *h, unsigned priv)
{
    return priv == RV_PRIV_M || (h->satp >> 60) == 0;
}

void rv_mmu_update_ctx(rv_hart *h)
{
    unsigned dp = data_priv(h);
    if (bare_for(h, dp)) h->dctx = 0;
    else if (dp == RV_PRIV_U) h->dctx = 1;
    else h->dctx = (h->mstatus & MS_SUM) ? 3 : 2;
    if (bare_for(h, h->priv)) h->fctx = 0;
    else h->fctx = h->priv == RV_PRIV_U ? 1 : 2;
}

/* ---------------- page walk ---------------- */
static const uint64_t fault_page[3] = { RV_EXC_INSN_PAGE, RV_EXC_LOAD_PAGE, RV_EXC_STORE_PAGE };
static const uint64_t fault_access[3] = { RV_EXC_INSN_ACCESS, RV_EXC_LOAD_ACCESS, RV_EXC_STORE_ACCESS };

#define PTE_V (1ull << 0)
#define PTE_R (1ull << 1)
#define PTE_W (1ull << 2)
#define PTE_X (1ull << 3)
#define PTE_U (1ull << 4)
#define PTE_A (1ull << 6)
#define PTE_D (1ull << 7)

/* Returns 0 and *pa, or the exception cause. */
static uint64_t translate(rv_hart *h, uint64_t va, int acc, uint64_t *pa, bool *super)
{
    unsigned priv = acc == RV_ACC_FETCH ? h->priv : data_priv(h);
    *super = false;
    if (bare_for(h, priv)) { *pa = va; return 0; }
    unsigned mode = h->satp >> 60;
    int levels = mode == 9 ? 4 : 3;
    unsigned vabits = 12 + 9 * (unsigned)levels;
    if ((uint64_t)((int64_t)(va << (64 - vabits)) >> (64 - vabits)) != va) return fault_page[acc];
    for (int tries = 0; tries < 8; tries++) {
        uint64_t ppn = h->satp & ((1ull << 44) - 1);
        for (int i = levels - 1; i >= 0; i--) {
            uint64_t vpn = (va >> (12 + 9 * i)) & 511;
            uint64_t pte_pa = (ppn << 12) + vpn * 8;
            uint64_t *pp = vmk_mem_ptr(h->mem, pte_pa, 8);
            if (!pp) return fault_access[acc];
            uint64_t pte = __atomic_load_n(pp, __ATOMIC_ACQUIRE);
            if (!(pte & PTE_V) || (!(pte & PTE_R) && (pte & PTE_W))) return fault_page[acc];
            if (pte >> 54) return fault_page[acc];     /* reserved, PBMT, N: not implemented */
            uint64_t pte_ppn = (pte >> 10) & ((1ull << 44) - 1);
            if (!(pte & (PTE_R | PTE_X))) {
                if (i == 0) return fault_page[acc];
                if (pte & (PTE_D | PTE_A | PTE_U)) return fault_page[acc];
                ppn = pte_ppn;
                continue;
            }
            /* leaf */
            if (priv == RV_PRIV_U) {
                if (!(pte & PTE_U)) return fault_page[acc];
            } else if (pte & PTE_U) {
                if (acc == RV_ACC_FETCH || !(h->mstatus & MS_SUM)) return fault_page[acc];
            }
            if (acc == RV_ACC_FETCH && !(pte & PTE_X)) return fault_page[acc];
            if (acc == RV_ACC_LOAD && !((pte & PTE_R) || ((h->mstatus & MS_MXR) && (pte & PTE_X))))
                return fault_page[acc];
            if (acc == RV_ACC_STORE && !(pte & PTE_W)) return fault_page[acc];
            if (i > 0 && (pte_ppn & ((1ull << (9 * i)) - 1))) return fault_page[acc];
            uint64_t want = pte | PTE_A | (acc == RV_ACC_STORE ? PTE_D : 0);
            if (want != pte) {
                if (!__atomic_compare_exchange_n(pp, &pte, want, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
                    goto retry;
                if (h->mem->track_dirty) vmk_mem_mark_dirty(h->mem, pte_pa, 8);
            }
            uint64_t mask = (1ull << (12 + 9 * i)) - 1;
            *pa = ((pte_ppn << 12) & ~mask) | (va & mask);
            *super = i > 0;
            return 0;
        }
        return fault_page[acc];
    retry:;
    }
    return fault_page[acc];
}

static void tlb_fill(rv_hart *h, uint64_t va, uint64_t pa, int acc, bool super)
{
    uint8_t *host = vmk_mem_ptr(h->mem, pa & ~0xfffull, 4096);
    if (!host) return;
    if (acc == RV_ACC_STORE) {
        uint64_t pg = ((pa & ~0xfffull) - h->mem->base) >> 12;
        if (__atomic_load_n(&h->cm->has_code[pg], __ATOMIC_RELAXED)) return;
        if (h->mem->track_dirty) vmk_mem_mark_dirty(h->mem, pa & ~0xfffull, 4096);
    }
    unsigned ctx = acc == RV_ACC_FETCH ? h->fctx : h->dctx;
    rv_tlbe *e = &h->tlb[ctx][acc][(va >> 12) & (RV_TLB_SIZE - 1)];
    e->tag = va >> 12;
    e->addend = (uint64_t)(uintptr_t)host - (va & ~0xfffull);
    if (super) {
        if ((int64_t)va < 0) h->tlb_super_hi = true;
        else h->tlb_super_lo = true;
    }
}

static bool set_exc(rv_hart *h, uint64_t cause, uint64_t tval)
{
    h->exc_cause = cause;
    h->exc_tval = tval;
    return false;
}

bool rv_load_slow(rv_hart *h, uint64_t va, unsigned size, uint64_t *val)
{
    if ((va & 0xfff) + size > 0x1000) {
        /* misaligned across a page: byte by byte (both pages must be accessible) */
        uint64_t v = 0, b;
        for (unsigned i = 0; i < size; i++) {
            if (!rv_load_slow(h, va + i, 1, &b)) return false;     /* tval: the faulting page */
            v |= b << (8 * i);
        }
        *val = v;
        return true;
    }
    uint64_t pa;
    bool super;
    uint64_t c = translate(h, va, RV_ACC_LOAD, &pa, &super);
    if (c) return set_exc(h, c, va);
    uint8_t *p = vmk_mem_ptr(h->mem, pa, size);
    if (p) {
        tlb_fill(h, va, pa, RV_ACC_LOAD, super);
        uint64_t v = 0;
        memcpy(&v, p, size);
        *val = v;
        return true;
    }
    if (pa & (size - 1)) return set_exc(h, RV_EXC_LOAD_MISALIGNED, va);
    uint64_t v = 0;
    if (!rv_bus_read(h->m, pa, size, &v)) return set_exc(h, RV_EXC_LOAD_ACCESS, va);
    if (size < 8) v &= (1ull << (8 * size)) - 1;
    *val = v;
    return true;
}

bool rv_store_slow(rv_hart *h, uint64_t va, unsigned size, uint64_t val)
{
    if ((va & 0xfff) + size > 0x1000) {
        /* check both pages first so a fault leaves memory untouched */
        uint64_t pa;
        bool super;
        uint64_t c = translate(h, va, RV_ACC_STORE, &pa, &super);
        if (c) return set_exc(h, c, va);
        c = translate(h, (va | 0xfff) + 1, RV_ACC_STORE, &pa, &super);
        if (c) return set_exc(h, c, (va | 0xfff) + 1);    /* tval: the faulting page */
        for (unsigned i = 0; i < size; i++)
            if (!rv_store_slow(h, va + i, 1, (val >> (8 * i)) & 0xff)) return false;
        return true;
    }
    uint64_t pa;
    bool super;
    uint64_t c = translate(h, va, RV_ACC_STORE, &pa, &super);
    if (c) return set_exc(h, c, va);
    uint8_t *p = vmk_mem_ptr(h->mem, pa, size);
    if (p) {
        rv_code_written(h->cm, h->mem, pa, size);
        tlb_fill(h, va, pa, RV_ACC_STORE, super);
        if (h->mem->track_dirty) vmk_mem_mark_dirty(h->mem, pa, size);
        memcpy(p, &val, size);
        return true;
    }
    if (pa & (size - 1)) return set_exc(h, RV_EXC_STORE_MISALIGNED, va);
    if (size < 8) val &= (1ull << (8 * size)) - 1;
    if (!rv_bus_write(h->m, pa, size, val)) return set_exc(h, RV_EXC_STORE_ACCESS, va);
    return true;
}

void *rv_amo_ptr(rv_hart *h, uint64_t va, unsigned size, bool is_lr, uint64_t *pa_mmio)
{
    if (va & (size - 1)) {
        set_exc(h, is_lr ? RV_EXC_LOAD_MISALIGNED : RV_EXC_STORE_MISALIGNED, va);
        return NULL;
    }
    int acc = is_lr ? RV_ACC_LOAD : RV_ACC_STORE;
    rv_tlbe *e = &h->tlb[h->dctx][acc][(va >> 12) & (RV_TLB_SIZE - 1)];
    if (e->tag == va >> 12) return (void *)(uintptr_t)(va + e->addend);
    uint64_t pa;
    bool super;
    uint64_t c = translate(h, va, acc, &pa, &super);
    if (c) { set_exc(h, c, va); return NULL; }
    uint8_t *p = vmk_mem_ptr(h->mem, pa, size);
    if (!p) {
        *pa_mmio = pa;
        h->exc_cause = ~0ull;
        return NULL;
    }
    if (!is_lr) {
        rv_code_written(h->cm, h->mem, pa, size);
        if (h->mem->track_dirty) vmk_mem_mark_dirty(h->mem, pa, size);
    }
    tlb_fill(h, va, pa, acc, super);
    return p;
}

uint8_t *rv_fetch_ptr(rv_hart *h, uint64_t va, uint64_t *pa_out)
{
    rv_tlbe *e = &h->tlb[h->fctx][RV_ACC_FETCH][(va >> 12) & (RV_TLB_SIZE - 1)];
    if (RV_LIKELY(e->tag == va >> 12)) {
        uint8_t *p = (uint8_t *)(uintptr_t)(va + e->addend);
        *pa_out = (uint64_t)(p - h->mem->host) + h->mem->base;
        return p;
    }
    uint64_t pa;
    bool super;
    uint64_t c = translate(h, va, RV_ACC_FETCH, &pa, &super);
    if (c) { set_exc(h, c, va); return NULL; }
    uint8_t *p = vmk_mem_ptr(h->mem, pa, 2);
    if (!p) { set_exc(h, RV_EXC_INSN_ACCESS, va); return NULL; }
    tlb_fill(h, va, pa, RV_ACC_FETCH, super);
    *pa_out = pa;
    return p;
}
