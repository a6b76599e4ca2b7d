/* virtio.h — virtio 1.x devices over the MMIO transport, engine-neutral: a device sees guest memory
 * (vmk_mem), an interrupt line (vmk_irq) and the I/O event loop, and exposes MMIO register handlers.
 * Devices: blk, net (libslirp user networking or TAP), rng, console. Every value read from guest
 * memory or a virtqueue is untrusted: a malformed ring marks the device NEEDS_RESET, never crashes. */
#ifndef VMK_VIRTIO_H
#define VMK_VIRTIO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/base.h"
#include "../mem/mem.h"

#define VIRTIO_MMIO_SIZE 0x1000ull     /* window size an engine reserves per device */

typedef struct virtio_dev virtio_dev;
typedef struct virtio_env {
    vmk_mem  *mem;
    vmk_loop *loop;
    vmk_irq   irq;
} virtio_env;

/* path of a raw image; readonly opens O_RDONLY and advertises VIRTIO_BLK_F_RO. */
virtio_dev *virtio_blk_new(const virtio_env *env, const char *path, bool readonly, char *err, size_t errlen);
/* spec: "user[,hostfwd=tcp::HOSTPORT-:GUESTPORT]..." (libslirp NAT, guest 10.0.2.15/24, gw 10.0.2.2,
 * dns 10.0.2.3) or "tap=NAME". mac may be NULL for a generated 52:54:00:xx:xx:xx address. */
virtio_dev *virtio_net_new(const virtio_env *env, const char *spec, const uint8_t *mac, char *err, size_t errlen);
/* Validates a --net spec without opening anything (for the CLI). 0 or -1 with err. */
int         virtio_net_parse_spec(const char *spec, char *err, size_t errlen);
virtio_dev *virtio_rng_new(const virtio_env *env, char *err, size_t errlen);
virtio_dev *virtio_console_new(const virtio_env *env, vmk_chardev *chr, char *err, size_t errlen);
/* Flushes (blk: fdatasync) and frees a device. Call with the loop stopped (vmk_loop_stop) or never
 * started: the loop thread may otherwise still be running the device's queue work or poll hooks. */
void        virtio_dev_free(virtio_dev *d);

/* ---- state (snapshots, clones, migration) ----
 * save: with the VM paused (engine parked and the event loop paused, so no request is half-done):
 * transport registers (status, features, selected queue, config generation, interrupt status), each
 * queue's size/ready/addresses/last_avail/used indices, and device state (blk: nothing beyond the
 * transport; net: MAC and link; rng/console: nothing). load: into a device created with the same
 * kind and back-end, before the VM runs; every value is validated like a guest write would be.
 * A device loaded from state never replays a request: requests taken from a ring were completed
 * before the pause. */
int  virtio_dev_save(virtio_dev *d, vmk_sbuf *b);
int  virtio_dev_load(virtio_dev *d, vmk_sread *r, char *err, size_t errlen);
/* virtio-blk: makes everything the guest wrote durable (raw file: fdatasync; overlay: data, then its
 * cluster bitmap). Snapshots and migrations call it before saving the state and fail if it fails.
 * virtio_blk_lock: unlock = flush + flock(LOCK_UN) (a migration hands the disk to the destination,
 * with the VM paused); lock = flock(LOCK_EX|LOCK_NB) again (LOCK_SH for a read-only disk). 0 or -1
 * with err (also for a device that is not virtio-blk). */
int  virtio_blk_flush(virtio_dev *d, char *err, size_t errlen);
int  virtio_blk_lock(virtio_dev *d, bool lock, char *err, size_t errlen);
/* Clones: a restored net device takes a fresh MAC (config space + config-change interrupt). */
void virtio_net_set_mac(virtio_dev *d, const uint8_t mac[6]);
/* Copy-on-write disk overlays (cow.c): a sparse overlay file in vmkit's own format ("VMKCOW1": a
 * header naming the base image by absolute path, size and mtime, a cluster bitmap, then data at the
 * same offsets as in the base). Reads of clusters never written come from the base (opened read-only);
 * writes copy the cluster first. A flush makes data, then the bitmap, durable. virtio_blk_new opens
 * an overlay transparently when the file starts with the magic. Creates path (0 or -1 with err). */
int  virtio_cow_create(const char *path, const char *base, char *err, size_t errlen);

/* MMIO register handlers (opaque = virtio_dev *). */
extern const vmk_mmio_ops virtio_mmio_ops;

typedef struct virtio_stats {
    uint64_t rd_bytes, wr_bytes, rd_reqs, wr_reqs, flushes;     /* blk */
    uint64_t rx_bytes, tx_bytes, rx_packets, tx_packets;        /* net (console: rx/tx bytes; rng: rd_bytes) */
    uint64_t rx_dropped;                                        /* net: frames dropped (guest RX full/too small) */
} virtio_stats;
void virtio_dev_get_stats(virtio_dev *d, virtio_stats *st);
bool virtio_dev_is_broken(virtio_dev *d);                       /* DEVICE_NEEDS_RESET was set */
const char *virtio_dev_name(virtio_dev *d);                     /* "virtio-blk", ... */

#endif
