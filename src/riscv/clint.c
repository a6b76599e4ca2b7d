/* clint.c — the core-local interruptor (sifive,clint0): software-interrupt bits (MSIP), per-hart
 * mtimecmp and the mtime counter, driving MSIP/MTIP through a callback, and its saved state (mtime as a
 * value). Runs on the vCPU thread. */
#include "platform.h"
#include <stdlib.h>

#define CLINT_MTIMECMP 0x4000u
#define CLINT_MTIME    0xbff8u

struct rv_clint {
    unsigned nharts;
    rv_clint_time_fn time;
    rv_clint_irq_fn irq;
    void *opaque;
    int64_t offset;              /* mtime = time() + offset */
    uint32_t msip[RV_MAX_HARTS];
    uint64_t mtimecmp[RV_MAX_HARTS];
    bool mtip[RV_MAX_HARTS];
};

rv_clint *rv_clint_new(unsigned nharts, rv_clint_time_fn time, rv_clint_irq_fn irq, void *opaque)
{
    if (nharts == 0 || nharts > RV_MAX_HARTS) return NULL;
    rv_clint *c = vmk_xcalloc(1, sizeof(*c));
    c->nharts = nharts;
    c->time = time;
    c->irq = irq;
    c->opaque = opaque;
    for (unsigned i = 0; i < RV_MAX_HARTS; i++) c->mtimecmp[i] = UINT64_MAX;
    return c;
}

void rv_clint_free(rv_clint *c) { free(c); }

uint64_t rv_clint_mtime(rv_clint *c) { return c->time(c->opaque) + (uint64_t)c->offset; }
uint64_t rv_clint_mtimecmp(rv_clint *c, unsigned hart) { return hart < c->nharts ? c->mtimecmp[hart] : UINT64_MAX; }

static void update_hart(rv_clint *c, unsigned h, uint64_t now)
{
    bool lv = now >= c->mtimecmp[h];
    if (lv != c->mtip[h]) {
        c->mtip[h] = lv;
        c->irq(c->opaque, h, 7 /* MTI */, lv);
    }
}

void rv_clint_update(rv_clint *c, uint64_t now)
{
    for (unsigned h = 0; h < c->nharts; h++) update_hart(c, h, now);
}

static uint64_t clint_read(void *opaque, uint64_t off, unsigned size)
{
    rv_clint *c = opaque;
    uint64_t v = 0, base;
    if (off < 4ull * c->nharts) {
        v = c->msip[off / 4];
        base = off & ~3ull;
    } else if (off >= CLINT_MTIMECMP && off < CLINT_MTIMECMP + 8ull * c->nharts) {
        v = c->mtimecmp[(off - CLINT_MTIMECMP) / 8];
        base = off & ~7ull;
    } else if (off >= CLINT_MTIME && off < CLINT_MTIME + 8) {
        v = rv_clint_mtime(c);
        base = CLINT_MTIME;
    } else {
        return 0;
    }
    v >>= 8 * (off - base);
    if (size < 8) v &= (1ull << (8 * size)) - 1;
    return v;
}

/* Merges a size-byte write at byte offset sh (within an 8-byte register) into old. */
static uint64_t merge(uint64_t old, unsigned sh, uint64_t val, unsigned size)
{
    uint64_t mask = size >= 8 ? ~0ull : ((1ull << (8 * size)) - 1);
    if (sh + size > 8) return old;
    return (old & ~(mask << (8 * sh))) | ((val & mask) << (8 * sh));
}

static void clint_write(void *opaque, uint64_t off, uint64_t val, unsigned size)
{
    rv_clint *c = opaque;
    if (off < 4ull * c->nharts) {
        unsigned h = (unsigned)(off / 4);
        uint32_t nv = (uint32_t)(merge(c->msip[h], (unsigned)(off & 3), val, size) & 1);
        if (nv != c->msip[h]) {
            c->msip[h] = nv;
            c->irq(c->opaque, h, 3 /* MSI */, nv != 0);
        }
    } else if (off >= CLINT_MTIMECMP && off < CLINT_MTIMECMP + 8ull * c->nharts) {
        unsigned h = (unsigned)((off - CLINT_MTIMECMP) / 8);
        c->mtimecmp[h] = merge(c->mtimecmp[h], (unsigned)(off & 7), val, size);
        update_hart(c, h, rv_clint_mtime(c));
    } else if (off >= CLINT_MTIME && off < CLINT_MTIME + 8) {
        uint64_t now = rv_clint_mtime(c);
        uint64_t nv = merge(now, (unsigned)(off - CLINT_MTIME), val, size);
        c->offset += (int64_t)(nv - now);
        rv_clint_update(c, nv);
    }
}

const vmk_mmio_ops rv_clint_ops = { .read = clint_read, .write = clint_write };

/* ---------- state ---------- */
#define CLINT_STATE_VERSION 1u

void rv_clint_save(rv_clint *c, vmk_sbuf *b)
{
    vmk_sb_u32(b, CLINT_STATE_VERSION);
    vmk_sb_u32(b, c->nharts);
    vmk_sb_u64(b, rv_clint_mtime(c));
    for (unsigned h = 0; h < c->nharts; h++) {
        vmk_sb_u32(b, c->msip[h]);
        vmk_sb_u64(b, c->mtimecmp[h]);
    }
}

int rv_clint_load(rv_clint *c, vmk_sread *r, uint64_t *mtime)
{
    uint32_t ver = vmk_sr_u32(r), n = vmk_sr_u32(r);
    uint64_t t = vmk_sr_u64(r);
    if (!vmk_sr_ok(r)) return -1;
    if (ver != CLINT_STATE_VERSION || n != c->nharts) {
        vmk_sr_fail(r, "clint: state version %u for %u harts, expected version %u for %u", ver, n,
                    CLINT_STATE_VERSION, c->nharts);
        return -1;
    }
    uint32_t msip[RV_MAX_HARTS];
    uint64_t cmp[RV_MAX_HARTS];
    for (unsigned h = 0; h < n; h++) {
        msip[h] = vmk_sr_u32(r);
        cmp[h] = vmk_sr_u64(r);
        if (msip[h] > 1) vmk_sr_fail(r, "clint: bad msip %u", msip[h]);
    }
    if (!vmk_sr_ok(r)) return -1;
    c->offset = 0;                 /* the caller sets the time source to t */
    for (unsigned h = 0; h < n; h++) {
        c->msip[h] = msip[h];
        c->mtimecmp[h] = cmp[h];
        c->mtip[h] = false;
        if (msip[h]) c->irq(c->opaque, h, 3 /* MSI */, true);
    }
    *mtime = t;
    return 0;
}
