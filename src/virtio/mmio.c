/* mmio.c — the virtio-mmio (version 2, virtio 1.x, no legacy) transport shared by every virtio device:
 * register file, feature negotiation, queue configuration, notify hand-off to the loop thread,
 * interrupt status/ack, reset, config space and generation, NEEDS_RESET handling, stats accessors.
 * Debug knob: VMKIT_NO_EVENT_IDX=1 in the environment stops offering VIRTIO_F_EVENT_IDX. */
#include "virtio_impl.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MMIO_MAGIC          0x000
#define MMIO_VERSION        0x004
#define MMIO_DEVICE_ID      0x008
#define MMIO_VENDOR_ID      0x00c
#define MMIO_DEV_FEATURES   0x010
#define MMIO_DEV_FEAT_SEL   0x014
#define MMIO_DRV_FEATURES   0x020
#define MMIO_DRV_FEAT_SEL   0x024
#define MMIO_QUEUE_SEL      0x030
#define MMIO_QUEUE_NUM_MAX  0x034
#define MMIO_QUEUE_NUM      0x038
#define MMIO_QUEUE_READY    0x044
#define MMIO_QUEUE_NOTIFY   0x050
#define MMIO_INT_STATUS     0x060
#define MMIO_INT_ACK        0x064
#define MMIO_STATUS         0x070
#define MMIO_QUEUE_DESC_LO  0x080
#define MMIO_QUEUE_DESC_HI  0x084
#define MMIO_QUEUE_DRV_LO   0x090
#define MMIO_QUEUE_DRV_HI   0x094
#define MMIO_QUEUE_DEV_LO   0x0a0
#define MMIO_QUEUE_DEV_HI   0x0a4
#define MMIO_SHM_SEL        0x0ac
#define MMIO_SHM_LEN_LO     0x0b0
#define MMIO_SHM_LEN_HI     0x0b4
#define MMIO_SHM_BASE_LO    0x0b8
#define MMIO_SHM_BASE_HI    0x0bc
#define MMIO_CONFIG_GEN     0x0fc
#define MMIO_CONFIG         0x100

#define VIRTIO_MMIO_MAGIC   0x74726976u   /* "virt" */
#define VIRTIO_VENDOR_VMKIT 0x4b4d5600u   /* "\0VMK" */

int virtio_dev_init(virtio_dev *d, const virtio_devops *ops, const virtio_env *env, uint64_t features,
                    unsigned config_len, char *err, size_t errlen)
{
    if (!env || !env->mem || !env->loop) {
        vmk_seterr(err, errlen, "%s: missing guest memory or event loop", ops->name);
        return -1;
    }
    d->ops = ops;
    d->env = *env;
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&d->mtx, &a);
    pthread_mutexattr_destroy(&a);
    pthread_mutex_init(&d->irq_mtx, NULL);
    d->host_features = features | (1ull << VIRTIO_F_VERSION_1) | (1ull << VIRTIO_F_INDIRECT_DESC) |
                       (getenv("VMKIT_NO_EVENT_IDX") ? 0 : (1ull << VIRTIO_F_EVENT_IDX));
    d->config_len = config_len > VIRTIO_CONFIG_MAX ? VIRTIO_CONFIG_MAX : config_len;
    return 0;
}

void virtio_dev_free(virtio_dev *d)
{
    if (!d) return;
    if (d->ops->free) d->ops->free(d);
    pthread_mutex_destroy(&d->mtx);
    pthread_mutex_destroy(&d->irq_mtx);
    free(d);
}

bool virtio_dev_has_feature(const virtio_dev *d, unsigned bit)
{
    return (d->driver_features >> bit) & 1;
}

bool virtio_dev_live(const virtio_dev *d)
{
    return !atomic_load(&d->broken) && (d->status & VIRTIO_ST_FEATURES_OK);
}

void virtio_dev_raise(virtio_dev *d, uint32_t bits)
{
    pthread_mutex_lock(&d->irq_mtx);
    if (atomic_fetch_or(&d->isr, bits) == 0) vmk_irq_set(&d->env.irq, 1);   /* line already high otherwise */
    pthread_mutex_unlock(&d->irq_mtx);
}

static void isr_ack(virtio_dev *d, uint32_t bits)
{
    pthread_mutex_lock(&d->irq_mtx);
    uint32_t now = atomic_fetch_and(&d->isr, ~bits) & ~bits;
    if (!now) vmk_irq_set(&d->env.irq, 0);
    pthread_mutex_unlock(&d->irq_mtx);
}

void virtio_dev_config_changed(virtio_dev *d)
{
    d->config_gen++;
    if (d->status & VIRTIO_ST_DRIVER_OK) virtio_dev_raise(d, VIRTIO_ISR_CONFIG);
}

void virtio_dev_fail(virtio_dev *d, const char *fmt, ...)
{
    pthread_mutex_lock(&d->mtx);
    if (atomic_exchange(&d->broken, true)) { pthread_mutex_unlock(&d->mtx); return; }
    char msg[200];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    vmk_warn("%s: %s; device needs reset", d->ops->name, msg);
    d->status |= VIRTIO_ST_NEEDS_RESET;
    d->config_gen++;
    pthread_mutex_unlock(&d->mtx);
    virtio_dev_raise(d, VIRTIO_ISR_CONFIG);
}

void virtio_dev_process(virtio_dev *d)
{
    pthread_mutex_lock(&d->mtx);
    uint32_t mask = atomic_exchange(&d->pending, 0);
    for (unsigned q = 0; q < d->ops->nqueues; q++) {
        if (!(mask & (1u << q))) continue;
        if (atomic_load(&d->broken) || !d->vq[q].ready || !(d->status & VIRTIO_ST_FEATURES_OK)) continue;
        d->ops->kick(d, q);
    }
    pthread_mutex_unlock(&d->mtx);
}

static void process_cb(void *opaque) { virtio_dev_process(opaque); }

static void schedule(virtio_dev *d, uint32_t mask)
{
    if (!mask) return;
    if (atomic_fetch_or(&d->pending, mask) == 0) vmk_loop_call(d->env.loop, process_cb, d);
}

void virtio_dev_requeue(virtio_dev *d, unsigned q)
{
    schedule(d, 1u << q);
}

static void dev_reset(virtio_dev *d)
{
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) vq_reset(&d->vq[q]);
    d->status = 0;
    d->driver_features = 0;
    d->dev_feat_sel = d->drv_feat_sel = d->queue_sel = 0;
    atomic_store(&d->pending, 0);
    atomic_store(&d->broken, false);
    if (d->ops->reset) d->ops->reset(d);
    isr_ack(d, ~0u);
}

static void write_status(virtio_dev *d, uint32_t val)
{
    if (val == 0) { dev_reset(d); return; }
    uint32_t old = d->status;
    val &= 0xff & ~VIRTIO_ST_NEEDS_RESET;
    if ((val & VIRTIO_ST_FEATURES_OK) && !(old & VIRTIO_ST_FEATURES_OK)) {
        uint64_t bad = d->driver_features & ~d->host_features;
        if (bad || !virtio_dev_has_feature(d, VIRTIO_F_VERSION_1)) {
            vmk_debug("%s: driver features 0x%llx refused", d->ops->name, (unsigned long long)d->driver_features);
            val &= ~(uint32_t)VIRTIO_ST_FEATURES_OK;
        }
    }
    if (!(old & VIRTIO_ST_FEATURES_OK) && (val & VIRTIO_ST_DRIVER_OK) && !(val & VIRTIO_ST_FEATURES_OK))
        val &= ~(uint32_t)VIRTIO_ST_DRIVER_OK;       /* DRIVER_OK without FEATURES_OK is meaningless */
    d->status = val | (old & VIRTIO_ST_NEEDS_RESET);
    if ((val & VIRTIO_ST_DRIVER_OK) && !(old & VIRTIO_ST_DRIVER_OK))
        schedule(d, (1u << d->ops->nqueues) - 1);  /* pick up buffers posted before DRIVER_OK */
}

static virtq *sel_queue(virtio_dev *d)
{
    return d->queue_sel < d->ops->nqueues ? &d->vq[d->queue_sel] : NULL;
}

static uint64_t mmio_read(void *opaque, uint64_t off, unsigned size)
{
    virtio_dev *d = opaque;
    if (off >= MMIO_CONFIG) {
        uint64_t coff = off - MMIO_CONFIG, v = 0;
        if (size > 8) return 0;
        pthread_mutex_lock(&d->mtx);
        if (coff < d->config_len && size <= d->config_len - coff) memcpy(&v, d->config + coff, size);
        pthread_mutex_unlock(&d->mtx);
        return v;
    }
    if (size != 4) return 0;
    if (off == MMIO_INT_STATUS) return atomic_load(&d->isr);
    uint64_t v = 0;
    pthread_mutex_lock(&d->mtx);
    virtq *q = sel_queue(d);
    switch (off) {
    case MMIO_MAGIC: v = VIRTIO_MMIO_MAGIC; break;
    case MMIO_VERSION: v = 2; break;
    case MMIO_DEVICE_ID: v = d->ops->device_id; break;
    case MMIO_VENDOR_ID: v = VIRTIO_VENDOR_VMKIT; break;
    case MMIO_DEV_FEATURES:
        v = d->dev_feat_sel == 0 ? (uint32_t)d->host_features : d->dev_feat_sel == 1 ? d->host_features >> 32 : 0;
        break;
    case MMIO_QUEUE_NUM_MAX: v = q ? VIRTIO_QUEUE_MAX : 0; break;
    case MMIO_QUEUE_READY: v = q ? q->ready : 0; break;
    case MMIO_STATUS: v = d->status; break;
    case MMIO_QUEUE_DESC_LO: v = q ? (uint32_t)q->desc_gpa : 0; break;
    case MMIO_QUEUE_DESC_HI: v = q ? q->desc_gpa >> 32 : 0; break;
    case MMIO_QUEUE_DRV_LO: v = q ? (uint32_t)q->avail_gpa : 0; break;
    case MMIO_QUEUE_DRV_HI: v = q ? q->avail_gpa >> 32 : 0; break;
    case MMIO_QUEUE_DEV_LO: v = q ? (uint32_t)q->used_gpa : 0; break;
    case MMIO_QUEUE_DEV_HI: v = q ? q->used_gpa >> 32 : 0; break;
    case MMIO_SHM_LEN_LO: case MMIO_SHM_LEN_HI: v = 0xffffffffu; break;   /* no shared memory regions */
    case MMIO_SHM_BASE_LO: case MMIO_SHM_BASE_HI: v = 0xffffffffu; break;
    case MMIO_CONFIG_GEN: v = d->config_gen; break;
    default: vmk_debug("%s: read of unimplemented register 0x%llx", d->ops->name, (unsigned long long)off);
    }
    pthread_mutex_unlock(&d->mtx);
    return v;
}

static void set_lo(uint64_t *r, uint32_t v) { *r = (*r & ~0xffffffffull) | v; }
static void set_hi(uint64_t *r, uint32_t v) { *r = (*r & 0xffffffffull) | ((uint64_t)v << 32); }

static void mmio_write(void *opaque, uint64_t off, uint64_t val64, unsigned size)
{
    virtio_dev *d = opaque;
    if (off >= MMIO_CONFIG) {
        pthread_mutex_lock(&d->mtx);
        uint64_t coff = off - MMIO_CONFIG;
        if (d->ops->config_write && coff < d->config_len && size <= d->config_len - coff)
            d->ops->config_write(d, coff, val64, size);
        pthread_mutex_unlock(&d->mtx);
        return;
    }
    if (size != 4) { vmk_debug("%s: %u-byte write to register 0x%llx ignored", d->ops->name, size, (unsigned long long)off); return; }
    uint32_t val = (uint32_t)val64;
    if (off == MMIO_QUEUE_NOTIFY) {               /* hot path: no lock, no I/O on the vCPU thread */
        if (val < d->ops->nqueues) schedule(d, 1u << val);
        return;
    }
    if (off == MMIO_INT_ACK) { isr_ack(d, val); return; }
    pthread_mutex_lock(&d->mtx);
    virtq *q = sel_queue(d);
    bool qwritable = q && !q->ready;
    switch (off) {
    case MMIO_DEV_FEAT_SEL: d->dev_feat_sel = val; break;
    case MMIO_DRV_FEATURES:
        if (d->status & VIRTIO_ST_FEATURES_OK) break;
        if (d->drv_feat_sel == 0) set_lo(&d->driver_features, val);
        else if (d->drv_feat_sel == 1) set_hi(&d->driver_features, val);
        break;
    case MMIO_DRV_FEAT_SEL: d->drv_feat_sel = val; break;
    case MMIO_QUEUE_SEL: d->queue_sel = val; break;
    case MMIO_QUEUE_NUM:
        if (!qwritable) break;
        if (val == 0 || val > VIRTIO_QUEUE_MAX || (val & (val - 1))) {
            virtio_dev_fail(d, "queue %u: size %u is not a power of two in 1..%u", d->queue_sel, val, VIRTIO_QUEUE_MAX);
            break;
        }
        q->num = (uint16_t)val;
        break;
    case MMIO_QUEUE_READY:
        if (!q) break;
        if (val & 1) {
            if (!q->ready && !atomic_load(&d->broken) && vq_setup(d, q) == 0) q->ready = true;
        } else {
            q->ready = false;
        }
        break;
    case MMIO_STATUS: write_status(d, val); break;
    case MMIO_QUEUE_DESC_LO: if (qwritable) set_lo(&q->desc_gpa, val); break;
    case MMIO_QUEUE_DESC_HI: if (qwritable) set_hi(&q->desc_gpa, val); break;
    case MMIO_QUEUE_DRV_LO: if (qwritable) set_lo(&q->avail_gpa, val); break;
    case MMIO_QUEUE_DRV_HI: if (qwritable) set_hi(&q->avail_gpa, val); break;
    case MMIO_QUEUE_DEV_LO: if (qwritable) set_lo(&q->used_gpa, val); break;
    case MMIO_QUEUE_DEV_HI: if (qwritable) set_hi(&q->used_gpa, val); break;
    case MMIO_SHM_SEL: break;
    default: vmk_debug("%s: write to unimplemented register 0x%llx", d->ops->name, (unsigned long long)off);
    }
    pthread_mutex_unlock(&d->mtx);
}

const vmk_mmio_ops virtio_mmio_ops = { .read = mmio_read, .write = mmio_write };

void virtio_dev_get_stats(virtio_dev *d, virtio_stats *st)
{
    pthread_mutex_lock(&d->mtx);
    *st = d->stats;
    pthread_mutex_unlock(&d->mtx);
}

bool virtio_dev_is_broken(virtio_dev *d) { return atomic_load(&d->broken); }
const char *virtio_dev_name(virtio_dev *d) { return d->ops->name; }
