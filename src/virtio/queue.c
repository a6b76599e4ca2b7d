/* queue.c — split virtqueues (virtio 1.x): ring setup and validation, popping descriptor chains
 * (NEXT chains and indirect tables) into bounds-checked iovecs, publishing used entries with release
 * ordering, and interrupt suppression (VIRTQ_AVAIL_F_NO_INTERRUPT). Every guest value is hostile: any
 * inconsistency fails the device (NEEDS_RESET) instead of being trusted. */
#include "virtio_impl.h"
#include <string.h>

typedef struct vring_desc { uint64_t addr; uint32_t len; uint16_t flags, next; } vring_desc;
_Static_assert(sizeof(vring_desc) == 16, "descriptor layout");

void vq_reset(virtq *q)
{
    q->num = 0;
    q->ready = false;
    q->desc_gpa = q->avail_gpa = q->used_gpa = 0;
    q->desc = q->avail = q->used = NULL;
    q->last_avail = q->used_idx = 0;
    q->signalled_used = 0;
    q->signalled_valid = false;
    q->elem.n_in = q->elem.n_out = 0;
}

int vq_setup(virtio_dev *d, virtq *q)
{
    unsigned qi = (unsigned)(q - d->vq);
    if (q->num == 0 || q->num > VIRTIO_QUEUE_MAX || (q->num & (q->num - 1))) {
        virtio_dev_fail(d, "queue %u: bad size %u", qi, q->num);
        return -1;
    }
    if ((q->desc_gpa & 15) || (q->avail_gpa & 1) || (q->used_gpa & 3)) {
        virtio_dev_fail(d, "queue %u: misaligned ring addresses", qi);
        return -1;
    }
    uint64_t n = q->num;
    q->desc = vmk_mem_ptr(d->env.mem, q->desc_gpa, 16 * n);
    q->avail = vmk_mem_ptr(d->env.mem, q->avail_gpa, 6 + 2 * n);
    q->used = vmk_mem_ptr_w(d->env.mem, q->used_gpa, 6 + 8 * n);
    if (!q->desc || !q->avail || !q->used) {
        q->desc = q->avail = q->used = NULL;
        virtio_dev_fail(d, "queue %u: ring outside guest RAM", qi);
        return -1;
    }
    q->last_avail = q->used_idx = 0;
    q->signalled_used = 0;
    q->signalled_valid = false;
    return 0;
}

/* EVENT_IDX fields: used_event after the avail ring, avail_event after the used ring. */
static inline _Atomic uint16_t *used_event_p(const virtq *q)
{
    return (_Atomic uint16_t *)(void *)(q->avail + 4 + 2 * (size_t)q->num);
}
static inline _Atomic uint16_t *avail_event_p(const virtq *q)
{
    return (_Atomic uint16_t *)(void *)(q->used + 4 + 8 * (size_t)q->num);
}

static inline uint16_t avail_idx(const virtq *q)
{
    return atomic_load_explicit((_Atomic uint16_t *)(void *)(q->avail + 2), memory_order_acquire);
}

bool vq_has_avail(virtio_dev *d, virtq *q)
{
    (void)d;
    return q->ready && avail_idx(q) != q->last_avail;
}

int vq_pop(virtio_dev *d, virtq *q)
{
    vq_elem *e = &q->elem;
    unsigned qi = (unsigned)(q - d->vq);
    e->n_in = e->n_out = 0;
    e->in_len = e->out_len = 0;
    if (!q->ready || atomic_load(&d->broken)) return 0;
    uint16_t ai = avail_idx(q);
    uint16_t navail = (uint16_t)(ai - q->last_avail);
    if (navail == 0 && virtio_dev_has_feature(d, VIRTIO_F_EVENT_IDX)) {
        /* found the ring empty: ask for a notification at the next buffer, then re-check so that a
         * buffer added meanwhile is not missed */
        atomic_store_explicit(avail_event_p(q), q->last_avail, memory_order_relaxed);
        if (d->env.mem->track_dirty) vmk_mem_mark_dirty(d->env.mem, q->used_gpa + 4 + 8ull * q->num, 2);
        atomic_thread_fence(memory_order_seq_cst);
        ai = avail_idx(q);
        navail = (uint16_t)(ai - q->last_avail);
    }
    if (navail == 0) return 0;
    if (navail > q->num) {
        virtio_dev_fail(d, "queue %u: avail index jumped from %u to %u (queue size %u)", qi, q->last_avail, ai, q->num);
        return -1;
    }
    uint16_t head;
    memcpy(&head, q->avail + 4 + 2 * (size_t)(q->last_avail & (q->num - 1)), 2);
    if (head >= q->num) {
        virtio_dev_fail(d, "queue %u: head descriptor %u out of range", qi, head);
        return -1;
    }
    const uint8_t *table = q->desc;
    unsigned tnum = q->num, idx = head, count = 0, max = q->num, nseg = 0;
    bool indirect = false;
    for (;;) {
        if (++count > max) {
            virtio_dev_fail(d, "queue %u: descriptor chain longer than %u (loop?)", qi, max);
            return -1;
        }
        vring_desc dsc;
        memcpy(&dsc, table + 16 * (size_t)idx, 16);
        if (dsc.flags & VIRTQ_DESC_F_INDIRECT) {
            if (!virtio_dev_has_feature(d, VIRTIO_F_INDIRECT_DESC) || indirect || (dsc.flags & VIRTQ_DESC_F_NEXT)) {
                virtio_dev_fail(d, "queue %u: %s indirect descriptor", qi,
                                indirect ? "nested" : (dsc.flags & VIRTQ_DESC_F_NEXT) ? "chained" : "unnegotiated");
                return -1;
            }
            if (dsc.len == 0 || dsc.len % 16 || dsc.len / 16 > VIRTIO_QUEUE_MAX) {
                virtio_dev_fail(d, "queue %u: bad indirect table length %u", qi, dsc.len);
                return -1;
            }
            table = vmk_mem_ptr(d->env.mem, dsc.addr, dsc.len);
            if (!table) {
                virtio_dev_fail(d, "queue %u: indirect table outside guest RAM", qi);
                return -1;
            }
            tnum = dsc.len / 16;
            max = tnum;
            count = 0;
            idx = 0;
            indirect = true;
            continue;
        }
        bool wr = dsc.flags & VIRTQ_DESC_F_WRITE;
        if (!wr && e->n_in) {
            virtio_dev_fail(d, "queue %u: readable descriptor after a writable one", qi);
            return -1;
        }
        if (dsc.len) {
            if (nseg >= VIRTIO_QUEUE_MAX) {
                virtio_dev_fail(d, "queue %u: too many segments", qi);
                return -1;
            }
            void *p = wr ? vmk_mem_ptr_w(d->env.mem, dsc.addr, dsc.len) : vmk_mem_ptr(d->env.mem, dsc.addr, dsc.len);
            if (!p) {
                virtio_dev_fail(d, "queue %u: buffer 0x%llx+%u outside guest RAM", qi, (unsigned long long)dsc.addr, dsc.len);
                return -1;
            }
            e->iov[nseg].iov_base = p;
            e->iov[nseg].iov_len = dsc.len;
            nseg++;
            if (wr) { e->n_in++; e->in_len += dsc.len; }
            else { e->n_out++; e->out_len += dsc.len; }
        }
        if (!(dsc.flags & VIRTQ_DESC_F_NEXT)) break;
        idx = dsc.next;
        if (idx >= tnum) {
            virtio_dev_fail(d, "queue %u: next descriptor %u out of range", qi, idx);
            return -1;
        }
    }
    e->head = head;
    q->last_avail++;
    return 1;
}

void vq_push(virtio_dev *d, virtq *q, uint32_t len)
{
    if (!q->ready) return;
    vmk_mem *m = d->env.mem;
    if (m->track_dirty) {
        /* the buffers were marked when popped (vmk_mem_ptr_w), but the device wrote them after:
         * a dirty-log harvest in between (live migration rounds run while devices work) would have
         * taken the page before the data. Marking again now, after the writes and before the used
         * entry is published, means every harvest either sees the data or sees the page dirty. */
        const vq_elem *e = &q->elem;
        for (unsigned i = e->n_out; i < e->n_out + e->n_in; i++)
            vmk_mem_mark_dirty(m, m->base + (uint64_t)((uint8_t *)e->iov[i].iov_base - m->host), e->iov[i].iov_len);
    }
    size_t slot = 4 + 8 * (size_t)(q->used_idx & (q->num - 1));
    uint32_t ent[2] = { q->elem.head, len };
    memcpy(q->used + slot, ent, 8);
    q->used_idx++;
    atomic_store_explicit((_Atomic uint16_t *)(void *)(q->used + 2), q->used_idx, memory_order_release);
    if (d->env.mem->track_dirty) vmk_mem_mark_dirty(d->env.mem, q->used_gpa, 6 + 8 * (uint64_t)q->num);
}

void vq_notify(virtio_dev *d, virtq *q)
{
    if (!q->ready) return;
    atomic_thread_fence(memory_order_seq_cst);
    if (virtio_dev_has_feature(d, VIRTIO_F_EVENT_IDX)) {
        uint16_t ev = atomic_load_explicit(used_event_p(q), memory_order_relaxed);
        uint16_t old = q->signalled_used, nw = q->used_idx;
        bool valid = q->signalled_valid;
        q->signalled_used = nw;
        q->signalled_valid = true;
        /* vring_need_event: interrupt when used_event lies in [old, new) */
        if (!valid || (uint16_t)(nw - ev - 1) < (uint16_t)(nw - old)) virtio_dev_raise(d, VIRTIO_ISR_USED);
        return;
    }
    uint16_t flags = atomic_load_explicit((_Atomic uint16_t *)(void *)q->avail, memory_order_relaxed);
    if (!(flags & VIRTQ_AVAIL_F_NO_INTERRUPT)) virtio_dev_raise(d, VIRTIO_ISR_USED);
}

size_t vq_elem_read(const vq_elem *e, size_t off, void *dst, size_t len)
{
    size_t done = 0;
    for (unsigned i = 0; i < e->n_out && done < len; i++) {
        size_t l = e->iov[i].iov_len;
        if (off >= l) { off -= l; continue; }
        size_t n = l - off < len - done ? l - off : len - done;
        memcpy((uint8_t *)dst + done, (uint8_t *)e->iov[i].iov_base + off, n);
        done += n;
        off = 0;
    }
    return done;
}

size_t vq_elem_write(const vq_elem *e, size_t off, const void *src, size_t len)
{
    size_t done = 0;
    for (unsigned i = e->n_out; i < e->n_out + e->n_in && done < len; i++) {
        size_t l = e->iov[i].iov_len;
        if (off >= l) { off -= l; continue; }
        size_t n = l - off < len - done ? l - off : len - done;
        memcpy((uint8_t *)e->iov[i].iov_base + off, (const uint8_t *)src + done, n);
        done += n;
        off = 0;
    }
    return done;
}
