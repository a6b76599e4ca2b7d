/* plic.c — the platform-level interrupt controller (sifive,plic-1.0.0 / riscv,plic0): per-source
 * priorities, pending bits from level-triggered device lines, per-context enables, thresholds and
 * claim/complete, and its saved state. Thread-safe: devices raise lines from the I/O thread, harts
 * access registers. */
#include "platform.h"
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PLIC_MAX_SRC   1024u
#define PLIC_WORDS     (PLIC_MAX_SRC / 32)
#define PLIC_PRIO_MASK 7u
#define PLIC_ENABLE_BASE   0x2000u
#define PLIC_ENABLE_STRIDE 0x80u
#define PLIC_CTX_BASE      0x200000u
#define PLIC_CTX_STRIDE    0x1000u

typedef struct plic_ctx {
    uint32_t enable[PLIC_WORDS];
    uint32_t threshold;
    bool out;
} plic_ctx;

struct rv_plic {
    pthread_mutex_t lock;
    unsigned nctx, ndev, nwords;
    uint32_t prio[PLIC_MAX_SRC];
    uint32_t pending[PLIC_WORDS];
    uint32_t claimed[PLIC_WORDS];   /* claimed and not yet completed: gateway closed */
    uint32_t level[PLIC_WORDS];     /* current device line levels */
    plic_ctx *ctx;
    rv_plic_out_fn out;
    void *opaque;
};

static bool bit(const uint32_t *w, unsigned i) { return (w[i / 32] >> (i % 32)) & 1; }
static void setbit(uint32_t *w, unsigned i, bool v)
{
    if (v) w[i / 32] |= 1u << (i % 32);
    else w[i / 32] &= ~(1u << (i % 32));
}

/* Highest-priority pending+enabled source above the threshold (ties: lowest id), or 0. lock held. */
static unsigned best_source(const rv_plic *p, unsigned c)
{
    const plic_ctx *x = &p->ctx[c];
    unsigned best = 0, bestprio = x->threshold;
    for (unsigned w = 0; w < p->nwords; w++) {
        uint32_t cand = p->pending[w] & x->enable[w];
        while (cand) {
            unsigned b = (unsigned)__builtin_ctz(cand);
            cand &= cand - 1;
            unsigned src = w * 32 + b;
            if (p->prio[src] > bestprio) { best = src; bestprio = p->prio[src]; }
        }
    }
    return best;
}

static void update(rv_plic *p)   /* lock held */
{
    for (unsigned c = 0; c < p->nctx; c++) {
        bool lv = best_source(p, c) != 0;
        if (lv != p->ctx[c].out) {
            p->ctx[c].out = lv;
            if (p->out) p->out(p->opaque, c, lv);
        }
    }
}

rv_plic *rv_plic_new(unsigned ncontexts, unsigned ndev, rv_plic_out_fn out, void *opaque)
{
    if (ndev >= PLIC_MAX_SRC || ncontexts == 0 || ncontexts > 2 * RV_MAX_HARTS) return NULL;
    rv_plic *p = vmk_xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->lock, NULL);
    p->nctx = ncontexts;
    p->ndev = ndev;
    p->nwords = (ndev + 1 + 31) / 32;
    p->ctx = vmk_xcalloc(ncontexts, sizeof(plic_ctx));
    p->out = out;
    p->opaque = opaque;
    return p;
}

void rv_plic_free(rv_plic *p)
{
    if (!p) return;
    pthread_mutex_destroy(&p->lock);
    free(p->ctx);
    free(p);
}

void rv_plic_set_irq(rv_plic *p, unsigned src, int level)
{
    if (src == 0 || src > p->ndev) return;
    pthread_mutex_lock(&p->lock);
    setbit(p->level, src, level != 0);
    /* level-triggered gateway: pending follows the line unless the source is being serviced */
    if (!bit(p->claimed, src)) setbit(p->pending, src, level != 0);
    update(p);
    pthread_mutex_unlock(&p->lock);
}

void rv_plic_irq_cb(void *ctx, unsigned line, int level) { rv_plic_set_irq(ctx, line, level); }

static uint32_t claim(rv_plic *p, unsigned c)   /* lock held */
{
    unsigned src = best_source(p, c);
    if (src) {
        setbit(p->pending, src, false);
        setbit(p->claimed, src, true);
    }
    update(p);
    return src;
}

static void complete(rv_plic *p, unsigned c, uint32_t src)   /* lock held */
{
    if (src == 0 || src > p->ndev || !bit(p->ctx[c].enable, src)) return;   /* ignored per spec */
    if (!bit(p->claimed, src)) return;
    setbit(p->claimed, src, false);
    if (bit(p->level, src)) setbit(p->pending, src, true);
    update(p);
}

static uint32_t read32(rv_plic *p, uint64_t off)   /* lock held */
{
    if (off < 4u * PLIC_MAX_SRC) {
        unsigned src = (unsigned)(off / 4);
        return (src >= 1 && src <= p->ndev) ? p->prio[src] : 0;
    }
    if (off >= 0x1000 && off < 0x1000 + 4u * p->nwords) return p->pending[(off - 0x1000) / 4];
    if (off >= PLIC_ENABLE_BASE && off < PLIC_ENABLE_BASE + (uint64_t)PLIC_ENABLE_STRIDE * p->nctx) {
        unsigned c = (unsigned)((off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE);
        unsigned w = (unsigned)((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE) / 4;
        return w < p->nwords ? p->ctx[c].enable[w] : 0;
    }
    if (off >= PLIC_CTX_BASE && off < PLIC_CTX_BASE + (uint64_t)PLIC_CTX_STRIDE * p->nctx) {
        unsigned c = (unsigned)((off - PLIC_CTX_BASE) / PLIC_CTX_STRIDE);
        unsigned r = (unsigned)((off - PLIC_CTX_BASE) % PLIC_CTX_STRIDE);
        if (r == 0) return p->ctx[c].threshold;
        if (r == 4) return claim(p, c);
    }
    return 0;
}

static void write32(rv_plic *p, uint64_t off, uint32_t val)   /* lock held */
{
    if (off < 4u * PLIC_MAX_SRC) {
        unsigned src = (unsigned)(off / 4);
        if (src >= 1 && src <= p->ndev) { p->prio[src] = val & PLIC_PRIO_MASK; update(p); }
        return;
    }
    if (off >= 0x1000 && off < 0x2000) return;    /* pending is read-only */
    if (off >= PLIC_ENABLE_BASE && off < PLIC_ENABLE_BASE + (uint64_t)PLIC_ENABLE_STRIDE * p->nctx) {
        unsigned c = (unsigned)((off - PLIC_ENABLE_BASE) / PLIC_ENABLE_STRIDE);
        unsigned w = (unsigned)((off - PLIC_ENABLE_BASE) % PLIC_ENABLE_STRIDE) / 4;
        if (w >= p->nwords) return;
        if (w == 0) val &= ~1u;                   /* source 0 does not exist */
        if (w == p->nwords - 1 && (p->ndev + 1) % 32) val &= (1u << ((p->ndev + 1) % 32)) - 1;
        p->ctx[c].enable[w] = val;
        update(p);
        return;
    }
    if (off >= PLIC_CTX_BASE && off < PLIC_CTX_BASE + (uint64_t)PLIC_CTX_STRIDE * p->nctx) {
        unsigned c = (unsigned)((off - PLIC_CTX_BASE) / PLIC_CTX_STRIDE);
        unsigned r = (unsigned)((off - PLIC_CTX_BASE) % PLIC_CTX_STRIDE);
        if (r == 0) { p->ctx[c].threshold = val & PLIC_PRIO_MASK; update(p); }
        else if (r == 4) complete(p, c, val);
    }
}

static uint64_t plic_read(void *opaque, uint64_t off, unsigned size)
{
    rv_plic *p = opaque;
    pthread_mutex_lock(&p->lock);
    uint64_t v;
    if (size == 8) v = read32(p, off & ~3ull) | ((uint64_t)read32(p, (off & ~3ull) + 4) << 32);
    else v = read32(p, off & ~3ull) >> (8 * (off & 3));
    pthread_mutex_unlock(&p->lock);
    if (size < 4) v &= (1ull << (8 * size)) - 1;
    return v;
}

static void plic_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    rv_plic *p = opaque;
    pthread_mutex_lock(&p->lock);
    if (size == 8) {
        write32(p, off & ~3ull, (uint32_t)val);
        write32(p, (off & ~3ull) + 4, (uint32_t)(val >> 32));
    } else if (size == 4) {
        write32(p, off, (uint32_t)val);
    }   /* byte/halfword writes are not supported by the PLIC: ignored */
    pthread_mutex_unlock(&p->lock);
}

const vmk_mmio_ops rv_plic_ops = { .read = plic_read, .write = plic_write };

/* ---------- state ---------- */
#define PLIC_STATE_VERSION 1u

void rv_plic_save(rv_plic *p, vmk_sbuf *b)
{
    pthread_mutex_lock(&p->lock);
    vmk_sb_u32(b, PLIC_STATE_VERSION);
    vmk_sb_u32(b, p->nctx);
    vmk_sb_u32(b, p->ndev);
    for (unsigned s = 1; s <= p->ndev; s++) vmk_sb_u32(b, p->prio[s]);
    for (unsigned w = 0; w < p->nwords; w++) {
        vmk_sb_u32(b, p->pending[w]);
        vmk_sb_u32(b, p->claimed[w]);
        vmk_sb_u32(b, p->level[w]);
    }
    for (unsigned c = 0; c < p->nctx; c++) {
        for (unsigned w = 0; w < p->nwords; w++) vmk_sb_u32(b, p->ctx[c].enable[w]);
        vmk_sb_u32(b, p->ctx[c].threshold);
    }
    pthread_mutex_unlock(&p->lock);
}

int rv_plic_load(rv_plic *p, vmk_sread *r)
{
    uint32_t ver = vmk_sr_u32(r), nctx = vmk_sr_u32(r), ndev = vmk_sr_u32(r);
    if (!vmk_sr_ok(r)) return -1;
    if (ver != PLIC_STATE_VERSION || nctx != p->nctx || ndev != p->ndev) {
        vmk_sr_fail(r, "plic: state version %u with %u contexts and %u sources, expected %u/%u/%u", ver, nctx,
                    ndev, PLIC_STATE_VERSION, p->nctx, p->ndev);
        return -1;
    }
    uint32_t prio[PLIC_MAX_SRC] = { 0 }, pend[PLIC_WORDS], clm[PLIC_WORDS], lvl[PLIC_WORDS];
    for (unsigned s = 1; s <= ndev; s++) {
        prio[s] = vmk_sr_u32(r);
        if (prio[s] > PLIC_PRIO_MASK) vmk_sr_fail(r, "plic: bad priority %u for source %u", prio[s], s);
    }
    /* valid source bits: 1..ndev */
    uint32_t valid[PLIC_WORDS];
    for (unsigned w = 0; w < p->nwords; w++) {
        valid[w] = 0;
        for (unsigned b = 0; b < 32; b++) if (w * 32 + b >= 1 && w * 32 + b <= ndev) valid[w] |= 1u << b;
    }
    for (unsigned w = 0; w < p->nwords; w++) {
        pend[w] = vmk_sr_u32(r);
        clm[w] = vmk_sr_u32(r);
        lvl[w] = vmk_sr_u32(r);
        if ((pend[w] | clm[w] | lvl[w]) & ~valid[w]) vmk_sr_fail(r, "plic: bits set for sources that do not exist");
    }
    plic_ctx *ctx = vmk_xcalloc(nctx, sizeof *ctx);
    for (unsigned c = 0; c < nctx; c++) {
        for (unsigned w = 0; w < p->nwords; w++) {
            ctx[c].enable[w] = vmk_sr_u32(r);
            if (ctx[c].enable[w] & ~valid[w]) vmk_sr_fail(r, "plic: enable bits for sources that do not exist");
        }
        ctx[c].threshold = vmk_sr_u32(r);
        if (ctx[c].threshold > PLIC_PRIO_MASK) vmk_sr_fail(r, "plic: bad threshold %u", ctx[c].threshold);
    }
    if (!vmk_sr_ok(r)) { free(ctx); return -1; }
    pthread_mutex_lock(&p->lock);
    memcpy(p->prio, prio, sizeof prio);
    memcpy(p->pending, pend, p->nwords * sizeof(uint32_t));
    memcpy(p->claimed, clm, p->nwords * sizeof(uint32_t));
    memcpy(p->level, lvl, p->nwords * sizeof(uint32_t));
    memcpy(p->ctx, ctx, nctx * sizeof *ctx);     /* out = false: update() drives every asserted line */
    update(p);
    pthread_mutex_unlock(&p->lock);
    free(ctx);
    return 0;
}
