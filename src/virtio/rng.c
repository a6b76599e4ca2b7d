/* rng.c — virtio-rng (entropy device): fills every device-writable buffer the guest posts with bytes
 * from getrandom(2). One request queue. */
#include "virtio_impl.h"
#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#define VIRTIO_ID_RNG 4

static void rng_kick(virtio_dev *d, unsigned qi)
{
    virtq *q = &d->vq[qi];
    bool any = false;
    int budget = VIRTIO_KICK_BUDGET;
    while (vq_pop(d, q) == 1) {
        vq_elem *e = &q->elem;
        uint64_t total = 0;
        for (unsigned i = e->n_out; i < e->n_out + e->n_in; i++) {
            uint8_t *p = e->iov[i].iov_base;
            size_t left = e->iov[i].iov_len;
            while (left) {
                ssize_t r = getrandom(p, left, 0);
                if (r < 0) { if (errno == EINTR) continue; break; }
                p += r;
                left -= (size_t)r;
                total += (uint64_t)r;
            }
            if (left) break;
        }
        vq_push(d, q, total > UINT32_MAX ? UINT32_MAX : (uint32_t)total);
        d->stats.rd_bytes += total;
        any = true;
        if (--budget == 0) { virtio_dev_requeue(d, qi); break; }
    }
    if (any) vq_notify(d, q);
}

static const virtio_devops rng_ops = {
    .device_id = VIRTIO_ID_RNG, .name = "virtio-rng", .nqueues = 1, .kick = rng_kick,
};

virtio_dev *virtio_rng_new(const virtio_env *env, char *err, size_t errlen)
{
    virtio_dev *d = vmk_xcalloc(1, sizeof *d);
    if (virtio_dev_init(d, &rng_ops, env, 0, 0, err, errlen) < 0) { free(d); return NULL; }
    return d;
}
