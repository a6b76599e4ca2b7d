/* state.c — virtio device state for snapshots, clones and migration: the virtio-mmio transport
 * (status, features and selectors, queue selection, interrupt status, config generation and space)
 * and each queue (size, ready, ring addresses, last_avail / used indices, EVENT_IDX signalling),
 * followed by the device model's own blob (devops save/load). Written little-endian through vmk_sbuf;
 * on load every value is checked as a guest write would be. Requests are never in flight at a save:
 * every device pops and completes a chain in one step under d->mtx, on the (paused) loop thread. */
#include "virtio_impl.h"
#include <string.h>

#define VIRTIO_STATE_VERSION 1u
#define STATUS_KNOWN (VIRTIO_ST_ACKNOWLEDGE | VIRTIO_ST_DRIVER | VIRTIO_ST_DRIVER_OK | VIRTIO_ST_FEATURES_OK | \
                      VIRTIO_ST_NEEDS_RESET | VIRTIO_ST_FAILED)

int virtio_dev_save(virtio_dev *d, vmk_sbuf *b)
{
    pthread_mutex_lock(&d->mtx);
    vmk_sb_u32(b, VIRTIO_STATE_VERSION);
    vmk_sb_u32(b, d->ops->device_id);
    vmk_sb_u32(b, d->ops->nqueues);
    vmk_sb_u64(b, d->host_features);
    vmk_sb_u64(b, d->driver_features);
    vmk_sb_u32(b, d->dev_feat_sel);
    vmk_sb_u32(b, d->drv_feat_sel);
    vmk_sb_u32(b, d->queue_sel);
    vmk_sb_u32(b, d->status);
    vmk_sb_u32(b, atomic_load(&d->isr));
    vmk_sb_u32(b, d->config_gen);
    vmk_sb_u8(b, atomic_load(&d->broken));
    vmk_sb_u32(b, d->config_len);
    vmk_sb_bytes(b, d->config, d->config_len);
    for (unsigned i = 0; i < d->ops->nqueues; i++) {
        const virtq *q = &d->vq[i];
        vmk_sb_u16(b, q->num);
        vmk_sb_u8(b, q->ready);
        vmk_sb_u64(b, q->desc_gpa);
        vmk_sb_u64(b, q->avail_gpa);
        vmk_sb_u64(b, q->used_gpa);
        vmk_sb_u16(b, q->last_avail);
        vmk_sb_u16(b, q->used_idx);
        vmk_sb_u16(b, q->signalled_used);
        vmk_sb_u8(b, q->signalled_valid);
    }
    vmk_sbuf dev = { 0 };
    if (d->ops->save) d->ops->save(d, &dev);
    vmk_sb_u32(b, (uint32_t)dev.len);
    vmk_sb_bytes(b, dev.data, dev.len);
    vmk_sb_free(&dev);
    pthread_mutex_unlock(&d->mtx);
    return 0;
}

typedef struct qstate {
    uint16_t num, last_avail, used_idx, signalled_used;
    uint8_t ready, signalled_valid;
    uint64_t desc, avail, used;
} qstate;

/* The checks vq_setup makes, without failing the device: a restored ring must be usable. */
static bool ring_ok(const virtio_dev *d, const qstate *q)
{
    uint64_t n = q->num;
    if (n == 0 || n > VIRTIO_QUEUE_MAX || (n & (n - 1))) return false;
    if ((q->desc & 15) || (q->avail & 1) || (q->used & 3)) return false;
    return vmk_mem_ptr(d->env.mem, q->desc, 16 * n) && vmk_mem_ptr(d->env.mem, q->avail, 6 + 2 * n) &&
           vmk_mem_ptr(d->env.mem, q->used, 6 + 8 * n);
}

int virtio_dev_load(virtio_dev *d, vmk_sread *r, char *err, size_t errlen)
{
    const char *name = d->ops->name;
    uint32_t ver = vmk_sr_u32(r), id = vmk_sr_u32(r), nq = vmk_sr_u32(r);
    if (vmk_sr_ok(r) && ver != VIRTIO_STATE_VERSION) {
        vmk_seterr(err, errlen, "%s state: version %u, this vmkit reads %u", name, ver, VIRTIO_STATE_VERSION);
        return -1;
    }
    if (vmk_sr_ok(r) && (id != d->ops->device_id || nq != d->ops->nqueues)) {
        vmk_seterr(err, errlen, "%s state: saved from a different device (id %u, %u queues)", name, id, nq);
        return -1;
    }
    uint64_t hostf = vmk_sr_u64(r), drvf = vmk_sr_u64(r);
    uint32_t dsel = vmk_sr_u32(r), fsel = vmk_sr_u32(r), qsel = vmk_sr_u32(r), status = vmk_sr_u32(r);
    uint32_t isr = vmk_sr_u32(r), gen = vmk_sr_u32(r);
    uint8_t broken = vmk_sr_u8(r);
    uint32_t clen = vmk_sr_u32(r);
    uint8_t config[VIRTIO_CONFIG_MAX];
    if (vmk_sr_ok(r) && clen != d->config_len) {
        vmk_seterr(err, errlen, "%s state: config space of %u bytes, expected %u", name, clen, d->config_len);
        return -1;
    }
    vmk_sr_bytes(r, config, d->config_len);
    qstate qs[VIRTIO_MAX_QUEUES];
    memset(qs, 0, sizeof qs);
    for (unsigned i = 0; i < d->ops->nqueues; i++) {
        qs[i].num = vmk_sr_u16(r);
        qs[i].ready = vmk_sr_u8(r);
        qs[i].desc = vmk_sr_u64(r);
        qs[i].avail = vmk_sr_u64(r);
        qs[i].used = vmk_sr_u64(r);
        qs[i].last_avail = vmk_sr_u16(r);
        qs[i].used_idx = vmk_sr_u16(r);
        qs[i].signalled_used = vmk_sr_u16(r);
        qs[i].signalled_valid = vmk_sr_u8(r);
    }
    uint32_t dlen = vmk_sr_u32(r);
    if (!vmk_sr_ok(r) || dlen > r->len - r->off) {
        vmk_seterr(err, errlen, "%s state: truncated", name);
        return -1;
    }
    /* validation, as the transport checks guest writes */
    const char *bad = NULL;
    (void)hostf;                                   /* what the source offered; what counts is ours */
    if (drvf & ~d->host_features) bad = "driver features not offered by this device";
    else if (status & ~(uint32_t)STATUS_KNOWN) bad = "unknown status bits";
    else if ((status & VIRTIO_ST_FEATURES_OK) && !((drvf >> VIRTIO_F_VERSION_1) & 1)) bad = "FEATURES_OK without VERSION_1";
    else if ((status & VIRTIO_ST_DRIVER_OK) && !(status & VIRTIO_ST_FEATURES_OK)) bad = "DRIVER_OK without FEATURES_OK";
    else if (isr & ~3u) bad = "bad interrupt status";
    else if (broken > 1 || (broken && !(status & VIRTIO_ST_NEEDS_RESET))) bad = "bad broken flag";
    for (unsigned i = 0; i < d->ops->nqueues && !bad; i++) {
        const qstate *q = &qs[i];
        if (q->ready > 1 || q->signalled_valid > 1) bad = "bad queue flags";
        else if (q->num && (q->num > VIRTIO_QUEUE_MAX || (q->num & (q->num - 1)))) bad = "bad queue size";
        else if (q->ready && !ring_ok(d, q)) bad = "queue ring misaligned or outside guest RAM";
        else if (q->ready && q->used_idx != q->last_avail) bad = "requests in flight";
    }
    if (bad) {
        vmk_seterr(err, errlen, "%s state: %s", name, bad);
        return -1;
    }
    pthread_mutex_lock(&d->mtx);
    for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) vq_reset(&d->vq[i]);
    d->driver_features = drvf;
    d->dev_feat_sel = dsel;
    d->drv_feat_sel = fsel;
    d->queue_sel = qsel;
    d->status = status;
    d->config_gen = gen;
    atomic_store(&d->broken, broken != 0);
    atomic_store(&d->pending, 0);
    for (unsigned i = 0; i < d->ops->nqueues; i++) {
        virtq *q = &d->vq[i];
        q->num = qs[i].num;
        q->desc_gpa = qs[i].desc;
        q->avail_gpa = qs[i].avail;
        q->used_gpa = qs[i].used;
        if (qs[i].ready) {
            vq_setup(d, q);                        /* cannot fail: ring_ok checked the same */
            q->ready = true;
        }
        q->last_avail = qs[i].last_avail;
        q->used_idx = qs[i].used_idx;
        q->signalled_used = qs[i].signalled_used;
        q->signalled_valid = qs[i].signalled_valid;
    }
    vmk_sread dr;
    vmk_sr_init(&dr, r->p + r->off, dlen);
    r->off += dlen;
    uint8_t saved_config[VIRTIO_CONFIG_MAX];
    memcpy(saved_config, d->config, d->config_len);
    memcpy(d->config, config, d->config_len);      /* the model's load may keep parts of its own */
    int rc = 0;
    if (d->ops->load) rc = d->ops->load(d, &dr);
    else if (dlen) vmk_sr_fail(&dr, "unexpected device state");
    if (rc == 0 && !vmk_sr_done(&dr)) rc = -1;
    if (rc < 0) {
        memcpy(d->config, saved_config, d->config_len);
        for (unsigned i = 0; i < VIRTIO_MAX_QUEUES; i++) vq_reset(&d->vq[i]);
        d->status = 0;
        d->driver_features = 0;
        pthread_mutex_unlock(&d->mtx);
        vmk_seterr(err, errlen, "%s state: %s", name, dr.failed ? dr.err : "trailing bytes in device state");
        return -1;
    }
    pthread_mutex_lock(&d->irq_mtx);
    atomic_store(&d->isr, isr);
    vmk_irq_set(&d->env.irq, isr != 0);
    pthread_mutex_unlock(&d->irq_mtx);
    /* buffers the guest posted (or notified) while paused: look at every queue once */
    if ((status & VIRTIO_ST_DRIVER_OK) && !broken) {
        for (unsigned i = 0; i < d->ops->nqueues; i++) virtio_dev_requeue(d, i);
    }
    pthread_mutex_unlock(&d->mtx);
    return 0;
}
