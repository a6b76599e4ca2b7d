/* virtio_impl.h — internals shared by the virtio-mmio transport (mmio.c), the split virtqueue
 * (queue.c) and the device models (blk.c, net.c, rng.c, console.c). Not a public API. */
#ifndef VMK_VIRTIO_IMPL_H
#define VMK_VIRTIO_IMPL_H
#include "virtio.h"
#include <pthread.h>
#include <stdatomic.h>
#include <sys/uio.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "virtio devices assume a little-endian host (virtio 1.x is little-endian)"
#endif

/* feature bits */
#define VIRTIO_F_INDIRECT_DESC   28
#define VIRTIO_F_EVENT_IDX       29
#define VIRTIO_F_VERSION_1       32

/* device status bits */
#define VIRTIO_ST_ACKNOWLEDGE    1
#define VIRTIO_ST_DRIVER         2
#define VIRTIO_ST_DRIVER_OK      4
#define VIRTIO_ST_FEATURES_OK    8
#define VIRTIO_ST_NEEDS_RESET    64
#define VIRTIO_ST_FAILED         128

#define VIRTIO_ISR_USED          1
#define VIRTIO_ISR_CONFIG        2

/* descriptor flags */
#define VIRTQ_DESC_F_NEXT        1
#define VIRTQ_DESC_F_WRITE       2
#define VIRTQ_DESC_F_INDIRECT    4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

#define VIRTIO_QUEUE_MAX         256    /* QueueNumMax offered for every queue */
#define VIRTIO_MAX_QUEUES        2
#define VIRTIO_CONFIG_MAX        64

/* One device-visible segment of a descriptor chain, already bounds-checked against guest RAM. */
typedef struct vq_elem {
    uint16_t head;
    unsigned n_out, n_in;                  /* readable segments first, then writable ones */
    uint64_t out_len, in_len;              /* total bytes */
    struct iovec iov[VIRTIO_QUEUE_MAX];    /* [0, n_out) readable, [n_out, n_out+n_in) writable */
} vq_elem;

typedef struct virtq {
    uint16_t num;                          /* 0 = not configured */
    bool ready;
    uint64_t desc_gpa, avail_gpa, used_gpa;
    /* host pointers validated when the queue became ready */
    uint8_t *desc, *avail, *used;
    uint16_t last_avail, used_idx;
    uint16_t signalled_used;               /* EVENT_IDX: used index at the last interrupt decision */
    bool signalled_valid;
    vq_elem elem;                          /* scratch element (processing is serial per queue) */
} virtq;

typedef struct virtio_dev virtio_dev;
typedef struct virtio_devops {
    uint32_t device_id;
    const char *name;
    unsigned nqueues;
    /* called on the loop thread with d->mtx held when queue q was notified */
    void (*kick)(virtio_dev *d, unsigned q);
    /* device-specific reset (d->mtx held), may be NULL */
    void (*reset)(virtio_dev *d);
    /* config space write (d->mtx held), may be NULL (writes ignored) */
    void (*config_write)(virtio_dev *d, uint64_t off, uint64_t val, unsigned size);
    /* frees device-specific state (loop stopped or not running) */
    void (*free)(virtio_dev *d);
    /* device-specific state beyond the transport (state.c frames it), may be NULL. load validates
     * (vmk_sr_fail on a bad value) and runs with d->mtx held, before the VM runs. */
    void (*save)(virtio_dev *d, vmk_sbuf *b);
    int  (*load)(virtio_dev *d, vmk_sread *r);
} virtio_devops;

struct virtio_dev {
    const virtio_devops *ops;
    virtio_env env;
    pthread_mutex_t mtx;                   /* recursive: device state, queues, config */
    pthread_mutex_t irq_mtx;               /* isr + irq line updates */
    uint64_t host_features, driver_features;
    uint32_t dev_feat_sel, drv_feat_sel, queue_sel;
    uint32_t status;
    _Atomic uint32_t isr;
    uint32_t config_gen;
    uint8_t config[VIRTIO_CONFIG_MAX];
    unsigned config_len;
    virtq vq[VIRTIO_MAX_QUEUES];
    _Atomic uint32_t pending;              /* queues notified, not yet processed */
    _Atomic bool broken;
    virtio_stats stats;
    void *priv;                            /* device model state */
};

/* mmio.c */
int  virtio_dev_init(virtio_dev *d, const virtio_devops *ops, const virtio_env *env, uint64_t features,
                     unsigned config_len, char *err, size_t errlen);
/* Marks the device NEEDS_RESET (once), raises a config-change interrupt, logs one warning. */
void virtio_dev_fail(virtio_dev *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void virtio_dev_raise(virtio_dev *d, uint32_t isr_bits);
bool virtio_dev_has_feature(const virtio_dev *d, unsigned bit);
/* Runs the pending queue work now (loop thread; also used by tests without a running loop). */
void virtio_dev_process(virtio_dev *d);
/* Requests another processing pass of queue q (fairness: a kick handles at most VIRTIO_KICK_BUDGET
 * chains, then yields the loop thread to other devices and continues later). */
#define VIRTIO_KICK_BUDGET 256
void virtio_dev_requeue(virtio_dev *d, unsigned q);
/* Whether the driver finished setup and the device is usable. */
bool virtio_dev_live(const virtio_dev *d);
/* Tells the device config changed (bumps generation, config interrupt). d->mtx held. */
void virtio_dev_config_changed(virtio_dev *d);

/* queue.c. All with d->mtx held. */
/* Validates and maps a queue's rings; -1 (device failed) on bad addresses/size. */
int  vq_setup(virtio_dev *d, virtq *q);
void vq_reset(virtq *q);
/* Pops the next available chain into q->elem: 1 got one, 0 none available, -1 malformed (device failed). */
int  vq_pop(virtio_dev *d, virtq *q);
/* Publishes q->elem as used with len bytes written. */
void vq_push(virtio_dev *d, virtq *q, uint32_t len);
/* Raises the used-buffer interrupt unless the driver suppressed it. */
void vq_notify(virtio_dev *d, virtq *q);
bool vq_has_avail(virtio_dev *d, virtq *q);
/* iovec helpers over q->elem: copy from readable bytes at offset / to writable bytes at offset. */
size_t vq_elem_read(const vq_elem *e, size_t off, void *dst, size_t len);
size_t vq_elem_write(const vq_elem *e, size_t off, const void *src, size_t len);

/* cow.c: the copy-on-write overlay back-end of virtio-blk (format in cow.c). All on the loop thread. */
typedef struct vcow vcow;
bool  vcow_probe(int fd);                 /* the file starts with the overlay magic */
/* Checks the header (every field), opens the base read-only (its size and mtime must match) and
 * loads the bitmap. fd stays the caller's. NULL with err. */
vcow *vcow_open(int fd, const char *path, bool readonly, uint64_t *size, char *err, size_t errlen);
/* len bytes at virtual offset off to/from iov; 0 or -1 (I/O error, out of range, read-only). */
int   vcow_rw(vcow *c, const struct iovec *iov, int n, uint64_t off, uint64_t len, bool wr);
int   vcow_flush(vcow *c);                /* data durable, then the bitmap */
void  vcow_close(vcow *c);                /* flushes; closes the base, not the overlay fd */
/* iovec helpers shared by blk.c and cow.c: the sub-vector [skip, skip+len) of src into dst (count or
 * -1 when it does not fit in max); positioned read/write of a whole vector (0 or -1). */
int   vcow_iov_slice(const struct iovec *src, int n, uint64_t skip, uint64_t len, struct iovec *dst, int max);
int   vcow_iov_rw(int fd, struct iovec *iov, int n, uint64_t off, bool wr);

/* loop.c internal: removes all poll hooks registered with opaque. */
void vmk_loop_del_poll_hooks(vmk_loop *l, void *opaque);
/* loop.c internal: removes fd only while it is still registered with opaque. */
void vmk_loop_del_fd_owned(vmk_loop *l, int fd, void *opaque);

#endif
