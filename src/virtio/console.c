/* console.c — virtio-console with one port (no MULTIPORT): queue 0 carries bytes from the chardev to
 * the guest, queue 1 bytes from the guest to the chardev. Input that finds no guest buffer waits in a
 * bounded pending buffer and pauses the chardev (vmk_chr_accept) until the guest posts buffers. */
#include "virtio_impl.h"
#include <stdlib.h>
#include <string.h>

#define VIRTIO_ID_CONSOLE 3
#define CON_PENDING_MAX 4096

typedef struct con {
    vmk_chardev *chr;
    uint8_t pending[CON_PENDING_MAX];
    size_t npending;
    bool paused;
} con;

/* Moves pending bytes into guest RX buffers. d->mtx held. */
static void con_flush_rx(virtio_dev *d)
{
    con *c = d->priv;
    virtq *q = &d->vq[0];
    bool any = false;
    while (c->npending && virtio_dev_live(d) && q->ready && vq_pop(d, q) == 1) {
        size_t n = vq_elem_write(&q->elem, 0, c->pending, c->npending);
        memmove(c->pending, c->pending + n, c->npending - n);
        c->npending -= n;
        vq_push(d, q, (uint32_t)n);
        d->stats.rx_bytes += n;
        any = true;
    }
    if (any) vq_notify(d, q);
    bool want_pause = c->npending > 0;
    if (want_pause != c->paused) {
        c->paused = want_pause;
        vmk_chr_accept(c->chr, !want_pause);
    }
}

static void con_rx(void *opaque, const uint8_t *buf, size_t len)
{
    virtio_dev *d = opaque;
    con *c = d->priv;
    pthread_mutex_lock(&d->mtx);
    size_t room = CON_PENDING_MAX - c->npending;
    if (len > room) {
        vmk_debug("virtio-console: dropped %zu input bytes (guest not reading)", len - room);
        len = room;
    }
    memcpy(c->pending + c->npending, buf, len);
    c->npending += len;
    con_flush_rx(d);
    pthread_mutex_unlock(&d->mtx);
}

static void con_kick(virtio_dev *d, unsigned qi)
{
    con *c = d->priv;
    if (qi == 0) { con_flush_rx(d); return; }
    virtq *q = &d->vq[1];
    bool any = false;
    int budget = VIRTIO_KICK_BUDGET;
    while (vq_pop(d, q) == 1) {
        vq_elem *e = &q->elem;
        for (unsigned i = 0; i < e->n_out; i++) vmk_chr_write(c->chr, e->iov[i].iov_base, e->iov[i].iov_len);
        d->stats.tx_bytes += e->out_len;
        vq_push(d, q, 0);
        any = true;
        if (--budget == 0) { virtio_dev_requeue(d, 1); break; }
    }
    if (any) vq_notify(d, q);
}

static void con_reset(virtio_dev *d)
{
    con *c = d->priv;
    c->npending = 0;
    if (c->paused) { c->paused = false; vmk_chr_accept(c->chr, true); }
}

static void con_free(virtio_dev *d)
{
    con *c = d->priv;
    if (!c) return;
    vmk_chr_set_rx(c->chr, NULL, NULL);
    free(c);
}

/* State: input bytes that waited for a guest buffer. */
static void con_save(virtio_dev *d, vmk_sbuf *b)
{
    con *c = d->priv;
    vmk_sb_u32(b, (uint32_t)c->npending);
    vmk_sb_bytes(b, c->pending, c->npending);
}

static int con_load(virtio_dev *d, vmk_sread *r)
{
    con *c = d->priv;
    uint32_t n = vmk_sr_u32(r);
    if (vmk_sr_ok(r) && n > CON_PENDING_MAX) { vmk_sr_fail(r, "%u pending input bytes (limit %u)", n, CON_PENDING_MAX); return -1; }
    if (!vmk_sr_bytes(r, c->pending, vmk_sr_ok(r) ? n : 0) || !vmk_sr_ok(r)) return -1;
    c->npending = n;
    bool want_pause = n > 0;
    if (want_pause != c->paused) {
        c->paused = want_pause;
        vmk_chr_accept(c->chr, !want_pause);
    }
    return 0;
}

static const virtio_devops con_ops = {
    .device_id = VIRTIO_ID_CONSOLE, .name = "virtio-console", .nqueues = 2,
    .kick = con_kick, .reset = con_reset, .free = con_free, .save = con_save, .load = con_load,
};

virtio_dev *virtio_console_new(const virtio_env *env, vmk_chardev *chr, char *err, size_t errlen)
{
    if (!chr) { vmk_seterr(err, errlen, "virtio-console: no character device"); return NULL; }
    virtio_dev *d = vmk_xcalloc(1, sizeof *d);
    if (virtio_dev_init(d, &con_ops, env, 0, 12, err, errlen) < 0) { free(d); return NULL; }
    con *c = vmk_xcalloc(1, sizeof *c);
    c->chr = chr;
    d->priv = c;
    vmk_chr_set_rx(chr, con_rx, d);
    return d;
}
