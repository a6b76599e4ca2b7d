/* csr.c — the hart's control and status registers (privileged spec 1.12 subset that OpenSBI 1.1
 * and Linux 6.1 use): M/S status, trap setup and handling CSRs, counters with counteren gating,
 * envcfg with Sstc (stimecmp), PMP registers (stored, not enforced), satp with mode probing,
 * and the F/D fcsr. Unimplemented CSRs and illegal accesses make the caller raise illegal insn. */
#include "hart.h"

#define SSTATUS_MASK  (MS_SIE | MS_SPIE | MS_SPP | MS_FS | MS_SUM | MS_MXR | MS_UXL | MS_SD)
#define SSTATUS_WMASK (MS_SIE | MS_SPIE | MS_SPP | MS_FS | MS_SUM | MS_MXR)

static uint64_t read_mstatus(const rv_hart *h)
{
    uint64_t s = h->mstatus | (2ull << 32) | (2ull << 34);
    if ((s & MS_FS) == MS_FS) s |= MS_SD;
    return s;
}

void rv_sstc_update(rv_hart *h)
{
    if (h->menvcfg & MENVCFG_STCE) {
        if (rv_machine_mtime(h->m) >= h->stimecmp) h->mip_sw |= 1ull << RV_IRQ_STI;
        else h->mip_sw &= ~(1ull << RV_IRQ_STI);
    }
}

/* counter access from S/U: bit = counter index (0 cycle, 1 time, 2 instret, 3.. hpm) */
static bool counter_ok(const rv_hart *h, unsigned bit)
{
    if (h->priv == RV_PRIV_M) return true;
    if (!((h->mcounteren >> bit) & 1)) return false;
    if (h->priv == RV_PRIV_U && !((h->scounteren >> bit) & 1)) return false;
    return true;
}

bool rv_csr_check(rv_hart *h, unsigned csr, bool writing)
{
    if (((csr >> 8) & 3) > h->priv) return false;
    if (writing && (csr >> 10) == 3) return false;
    if (csr == 0x180 && h->priv == RV_PRIV_S && (h->mstatus & MS_TVM)) return false;
    return true;
}

bool rv_csr_read(rv_hart *h, unsigned csr, uint64_t *val)
{
    uint64_t v = 0;
    switch (csr) {
    case 0x001: case 0x002: case 0x003:
        if (!(h->mstatus & MS_FS)) return false;
        v = csr == 0x001 ? h->fflags : csr == 0x002 ? h->frm : (h->frm << 5) | h->fflags;
        break;
    case 0xc00: if (!counter_ok(h, 0)) return false; v = h->instret + (uint64_t)h->cycle_off; break;
    case 0xc01: if (!counter_ok(h, 1)) return false; v = rv_machine_mtime(h->m); break;
    case 0xc02: if (!counter_ok(h, 2)) return false; v = h->instret + (uint64_t)h->instret_off; break;
    case 0x100: v = read_mstatus(h) & SSTATUS_MASK; break;
    case 0x104: v = h->mie & h->mideleg; break;
    case 0x105: v = h->stvec; break;
    case 0x106: v = h->scounteren; break;
    case 0x10a: v = h->senvcfg; break;
    case 0x140: v = h->sscratch; break;
    case 0x141: v = h->sepc; break;
    case 0x142: v = h->scause; break;
    case 0x143: v = h->stval; break;
    case 0x144: v = rv_mip(h) & h->mideleg; break;
    case 0x14d:
        if (h->priv < RV_PRIV_M && (!(h->menvcfg & MENVCFG_STCE) || !(h->mcounteren & 2))) return false;
        v = h->stimecmp;
        break;
    case 0x180: v = h->satp; break;
    case 0xf11: case 0xf12: case 0xf13: case 0xf15: v = 0; break;
    case 0xf14: v = h->hartid; break;
    case 0x300: v = read_mstatus(h); break;
    case 0x301: v = h->misa; break;
    case 0x302: v = h->medeleg; break;
    case 0x303: v = h->mideleg; break;
    case 0x304: v = h->mie; break;
    case 0x305: v = h->mtvec; break;
    case 0x306: v = h->mcounteren; break;
    case 0x30a: v = h->menvcfg; break;
    case 0x320: v = h->mcountinhibit; break;
    case 0x340: v = h->mscratch; break;
    case 0x341: v = h->mepc; break;
    case 0x342: v = h->mcause; break;
    case 0x343: v = h->mtval; break;
    case 0x344: v = rv_mip(h); break;
    case 0xb00: v = h->instret + (uint64_t)h->cycle_off; break;
    case 0xb02: v = h->instret + (uint64_t)h->instret_off; break;
    default:
        if (csr >= 0xc03 && csr <= 0xc1f) { if (!counter_ok(h, csr - 0xc00)) return false; v = 0; break; }
        if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) { v = 0; break; }
        if (csr >= 0x3a0 && csr <= 0x3af) {
            if (csr & 1) return false;               /* odd pmpcfg do not exist on RV64 */
            v = h->pmpcfg[(csr - 0x3a0) / 2];
            break;
        }
        if (csr >= 0x3b0 && csr <= 0x3ef) { v = h->pmpaddr[csr - 0x3b0]; break; }
        return false;
    }
    *val = v;
    return true;
}

static void write_mstatus(rv_hart *h, uint64_t v, uint64_t mask)
{
    uint64_t old = h->mstatus;
    uint64_t n = (old & ~mask) | (v & mask);
    if (((n & MS_MPP) >> MS_MPP_SHIFT) == 2) n = (n & ~MS_MPP) | (old & MS_MPP);
    h->mstatus = n & MSTATUS_WMASK;
    if ((old ^ h->mstatus) & MS_MXR) rv_tlb_flush_all(h);
    rv_mmu_update_ctx(h);
}

bool rv_csr_write(rv_hart *h, unsigned csr, uint64_t v)
{
    switch (csr) {
    case 0x001: case 0x002: case 0x003:
        if (!(h->mstatus & MS_FS)) return false;
        if (csr == 0x001) h->fflags = v & 31;
        else if (csr == 0x002) h->frm = v & 7;
        else { h->fflags = v & 31; h->frm = (v >> 5) & 7; }
        h->mstatus |= MS_FS;
        break;
    case 0xc00: case 0xc01: case 0xc02: return false;
    case 0x100: write_mstatus(h, v, SSTATUS_WMASK); break;
    case 0x104: h->mie = (h->mie & ~h->mideleg) | (v & h->mideleg & MIE_MASK); break;
    case 0x105: h->stvec = v & ~2ull; break;
    case 0x106: h->scounteren = (uint32_t)v; break;
    case 0x10a: h->senvcfg = v & 1; break;
    case 0x140: h->sscratch = v; break;
    case 0x141: h->sepc = v & ~1ull; break;
    case 0x142: h->scause = v; break;
    case 0x143: h->stval = v; break;
    case 0x144:
        if (h->mideleg & (1ull << RV_IRQ_SSI))
            h->mip_sw = (h->mip_sw & ~(1ull << RV_IRQ_SSI)) | (v & (1ull << RV_IRQ_SSI));
        break;
    case 0x14d:
        if (h->priv < RV_PRIV_M && (!(h->menvcfg & MENVCFG_STCE) || !(h->mcounteren & 2))) return false;
        h->stimecmp = v;
        rv_sstc_update(h);
        break;
    case 0x180: {
        uint64_t mode = v >> 60;
        if (mode != 0 && mode != 8 && mode != 9) break;      /* unsupported mode: no change */
        h->satp = v;                                         /* ASID (16 bits) kept, ignored */
        rv_tlb_flush_all(h);
        rv_mmu_update_ctx(h);
        break;
    }
    case 0x300: write_mstatus(h, v, MSTATUS_WMASK); break;
    case 0x301: break;                                        /* misa: writes ignored */
    case 0x302: h->medeleg = v & MEDELEG_MASK; break;
    case 0x303: h->mideleg = v & S_INT_MASK; break;
    case 0x304: h->mie = v & MIE_MASK; break;
    case 0x305: h->mtvec = ((v & 3) >= 2) ? (v & ~3ull) : v; break;
    case 0x306: h->mcounteren = (uint32_t)v; break;
    case 0x30a:
        h->menvcfg = v & (MENVCFG_FIOM | MENVCFG_STCE);
        if (!(h->menvcfg & MENVCFG_STCE)) h->mip_sw &= ~(1ull << RV_IRQ_STI);
        rv_sstc_update(h);
        break;
    case 0x320: h->mcountinhibit = (uint32_t)(v & ~2ull); break;
    case 0x340: h->mscratch = v; break;
    case 0x341: h->mepc = v & ~1ull; break;
    case 0x342: h->mcause = v; break;
    case 0x343: h->mtval = v; break;
    case 0x344: {
        uint64_t wm = (1ull << RV_IRQ_SSI) | (1ull << RV_IRQ_SEI);
        if (!(h->menvcfg & MENVCFG_STCE)) wm |= 1ull << RV_IRQ_STI;
        h->mip_sw = (h->mip_sw & ~wm) | (v & wm);
        break;
    }
    case 0xb00: h->cycle_off = (int64_t)(v - h->instret - 1); break;
    case 0xb02: h->instret_off = (int64_t)(v - h->instret - 1); break;   /* this insn retires after */
    default:
        if ((csr >= 0xb03 && csr <= 0xb1f) || (csr >= 0x323 && csr <= 0x33f)) break;
        if (csr >= 0x3a0 && csr <= 0x3af) {
            if (csr & 1) return false;
            unsigned i = (csr - 0x3a0) / 2;
            uint64_t nv = 0;
            for (unsigned b = 0; b < 8; b++) {
                uint64_t oldb = (h->pmpcfg[i] >> (8 * b)) & 0xff, nb = (v >> (8 * b)) & 0x9f;
                if (oldb & 0x80) nb = oldb;                  /* locked */
                nv |= nb << (8 * b);
            }
            h->pmpcfg[i] = nv;
            break;
        }
        if (csr >= 0x3b0 && csr <= 0x3ef) {
            unsigned i = csr - 0x3b0;
            if ((h->pmpcfg[i / 8] >> (8 * (i % 8))) & 0x80) break;
            h->pmpaddr[i] = v & ((1ull << 54) - 1);
            break;
        }
        return false;
    }
    return true;
}
