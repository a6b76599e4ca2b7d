/* net.c — virtio-net (12-byte header, no offloads, F_MAC + F_STATUS) with two back-ends: libslirp user
 * networking (10.0.2.0/24, gateway 10.0.2.2, DNS 10.0.2.3, DHCP from 10.0.2.15, hostfwd rules) driven
 * by the loop's poll hooks and timers, and TAP (/dev/net/tun, IFF_TAP|IFF_NO_PI). All back-end work runs
 * on the loop thread. When the guest has no RX buffers, slirp packets wait in a small bounded queue and
 * TAP reading pauses until the guest posts buffers. Also the --net spec parser. */
#include "virtio_impl.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <slirp/libslirp.h>

#define VIRTIO_ID_NET   1
#define NET_F_MAC       5
#define NET_F_STATUS    16
#define NET_S_LINK_UP   1
#define NET_HDR_LEN     12
#define NET_FRAME_MAX   65536
#define NET_RXQ_MAX     64
#define NET_MAX_FWD     16
#define NET_RX_BUDGET   64

typedef struct net_fwd { bool udp; struct in_addr haddr, gaddr; int hport, gport; } net_fwd;
typedef struct net_spec {
    bool tap;
    char tapname[IFNAMSIZ];
    unsigned nfwd;
    net_fwd fwd[NET_MAX_FWD];
} net_spec;

typedef struct net net;
typedef struct net_fdh { net *n; int fd; int idx; bool seen; } net_fdh;
typedef struct net_timer { net *n; SlirpTimerCb cb; void *cb_opaque; int id; } net_timer;
typedef struct net_pfd { int fd, events, revents; } net_pfd;

struct net {
    virtio_dev *d;
    Slirp *slirp;
    net_pfd *pfds; size_t npfds, cappfds;
    net_fdh **fdh; size_t nfdh, capfdh;
    bool hooked;
    int tapfd;
    bool tap_paused, tap_dead;
    size_t tap_pending;                 /* bytes of a frame read from TAP not yet delivered */
    uint8_t *rxq[NET_RXQ_MAX]; size_t rxq_len[NET_RXQ_MAX]; unsigned rxq_head, rxq_count;
    bool rx_notify;                     /* used RX buffers not yet signalled */
    uint8_t txbuf[NET_FRAME_MAX];
    uint8_t tapbuf[NET_FRAME_MAX];
};

/* ---------------- spec parsing ---------------- */

static int parse_port(const char *s, size_t n, int *out)
{
    if (n == 0 || n > 5) return -1;
    int v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    if (v < 1 || v > 65535) return -1;
    *out = v;
    return 0;
}

static int parse_addr(const char *s, size_t n, const char *dflt, struct in_addr *out)
{
    char buf[INET_ADDRSTRLEN];
    if (n == 0) { s = dflt; n = strlen(dflt); }
    if (n >= sizeof buf) return -1;
    memcpy(buf, s, n);
    buf[n] = 0;
    return inet_pton(AF_INET, buf, out) == 1 ? 0 : -1;
}

/* "tcp:[HADDR]:HPORT-[GADDR]:GPORT" (or udp) */
static int parse_hostfwd(const char *s, size_t len, net_fwd *f)
{
    const char *end = s + len, *p;
    if (len > 4 && !strncmp(s, "tcp:", 4)) f->udp = false;
    else if (len > 4 && !strncmp(s, "udp:", 4)) f->udp = true;
    else return -1;
    s += 4;
    const char *dash = memchr(s, '-', (size_t)(end - s));
    if (!dash) return -1;
    p = memchr(s, ':', (size_t)(dash - s));
    if (!p) return -1;
    if (parse_addr(s, (size_t)(p - s), "127.0.0.1", &f->haddr) < 0) return -1;
    if (parse_port(p + 1, (size_t)(dash - p - 1), &f->hport) < 0) return -1;
    s = dash + 1;
    p = memchr(s, ':', (size_t)(end - s));
    if (!p) return -1;
    if (parse_addr(s, (size_t)(p - s), "10.0.2.15", &f->gaddr) < 0) return -1;
    if (parse_port(p + 1, (size_t)(end - p - 1), &f->gport) < 0) return -1;
    return 0;
}

static int parse_spec(const char *spec, net_spec *ns, char *err, size_t errlen)
{
    memset(ns, 0, sizeof *ns);
    if (!spec || !*spec) { vmk_seterr(err, errlen, "empty spec (expected user[,hostfwd=...] or tap=NAME)"); return -1; }
    if (!strncmp(spec, "tap=", 4)) {
        const char *name = spec + 4;
        size_t n = strlen(name);
        if (n == 0 || n >= IFNAMSIZ || strpbrk(name, "/, \t:") ) {
            vmk_seterr(err, errlen, "tap=%s: bad TAP interface name (1..%d characters, no '/', ',', ':' or spaces)",
                       name, IFNAMSIZ - 1);
            return -1;
        }
        ns->tap = true;
        memcpy(ns->tapname, name, n + 1);
        return 0;
    }
    size_t blen = strcspn(spec, ",");
    if (blen != 4 || strncmp(spec, "user", 4)) {
        vmk_seterr(err, errlen, "unknown back-end '%.*s' (expected user[,hostfwd=tcp::HOSTPORT-:GUESTPORT] or tap=NAME)",
                   (int)(blen > 64 ? 64 : blen), spec);
        return -1;
    }
    const char *p = spec + 4;
    while (*p == ',') {
        p++;
        size_t n = strcspn(p, ",");
        if (n > 8 && !strncmp(p, "hostfwd=", 8)) {
            if (ns->nfwd >= NET_MAX_FWD) {
                vmk_seterr(err, errlen, "too many hostfwd rules (at most %d)", NET_MAX_FWD);
                return -1;
            }
            if (parse_hostfwd(p + 8, n - 8, &ns->fwd[ns->nfwd]) < 0) {
                vmk_seterr(err, errlen, "bad rule '%.*s' (expected hostfwd=tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT)",
                           (int)(n > 80 ? 80 : n), p);
                return -1;
            }
            ns->nfwd++;
        } else {
            vmk_seterr(err, errlen, "unknown option '%.*s' for user networking (expected hostfwd=...)",
                       (int)(n > 80 ? 80 : n), p);
            return -1;
        }
        p += n;
    }
    if (*p) { vmk_seterr(err, errlen, "trailing garbage '%s'", p); return -1; }
    return 0;
}

int virtio_net_parse_spec(const char *spec, char *err, size_t errlen)
{
    net_spec ns;
    return parse_spec(spec, &ns, err, errlen);
}

/* ---------------- RX path (loop thread, d->mtx held) ---------------- */

/* 1 delivered (or dropped for good), 0 no guest buffer available now. */
static int rx_deliver(net *n, const uint8_t *buf, size_t len)
{
    virtio_dev *d = n->d;
    virtq *q = &d->vq[0];
    if (!virtio_dev_live(d) || !(d->status & VIRTIO_ST_DRIVER_OK) || !q->ready) return 0;
    int r = vq_pop(d, q);
    if (r == 0) return 0;
    if (r < 0) return 1;
    vq_elem *e = &q->elem;
    uint8_t hdr[NET_HDR_LEN] = { 0 };
    hdr[10] = 1;                                   /* num_buffers */
    uint32_t used = (uint32_t)vq_elem_write(e, 0, hdr, NET_HDR_LEN);
    if (e->in_len >= NET_HDR_LEN + len) {
        used += (uint32_t)vq_elem_write(e, NET_HDR_LEN, buf, len);
        d->stats.rx_packets++;
        d->stats.rx_bytes += len;
    } else {
        n->d->stats.rx_dropped++;                           /* buffer too small: the guest sees a runt and drops it */
        vmk_debug("virtio-net: %zu-byte frame does not fit a %llu-byte RX buffer", len, (unsigned long long)e->in_len);
    }
    vq_push(d, q, used);
    n->rx_notify = true;                           /* one interrupt per burst: see rx_flush_notify */
    return 1;
}

/* Raises the RX interrupt for frames delivered since the last call. Called at the end of every
 * delivery path and, as a backstop, once per loop iteration from the slirp pre hook. */
static void rx_flush_notify(net *n)
{
    if (!n->rx_notify) return;
    n->rx_notify = false;
    vq_notify(n->d, &n->d->vq[0]);
}

static void rxq_flush(net *n)
{
    while (n->rxq_count) {
        unsigned i = n->rxq_head;
        if (!rx_deliver(n, n->rxq[i], n->rxq_len[i])) return;
        free(n->rxq[i]);
        n->rxq[i] = NULL;
        n->rxq_head = (i + 1) % NET_RXQ_MAX;
        n->rxq_count--;
    }
}

static ssize_t slirp_send_packet(const void *buf, size_t len, void *opaque)
{
    net *n = opaque;
    virtio_dev *d = n->d;
    pthread_mutex_lock(&d->mtx);
    rxq_flush(n);
    if (n->rxq_count == 0 && rx_deliver(n, buf, len)) goto out;
    if (n->rxq_count >= NET_RXQ_MAX || len > NET_FRAME_MAX) { n->d->stats.rx_dropped++; goto out; }
    unsigned i = (n->rxq_head + n->rxq_count) % NET_RXQ_MAX;
    n->rxq[i] = vmk_xmalloc(len ? len : 1);
    memcpy(n->rxq[i], buf, len);
    n->rxq_len[i] = len;
    n->rxq_count++;
out:
    pthread_mutex_unlock(&d->mtx);
    return (ssize_t)len;
}

static void tap_read_cb(void *opaque, uint32_t revents)
{
    net *n = opaque;
    virtio_dev *d = n->d;
    pthread_mutex_lock(&d->mtx);
    if (revents & (EPOLLERR | EPOLLHUP)) {         /* interface gone: stop polling (no busy loop) */
        if (!n->tap_dead) vmk_warn("virtio-net: the TAP device failed; no more network input");
        n->tap_dead = true;
        vmk_loop_del_fd(d->env.loop, n->tapfd);
        pthread_mutex_unlock(&d->mtx);
        return;
    }
    for (int budget = 0; budget < NET_RX_BUDGET; budget++) {
        if (!n->tap_pending) {
            ssize_t r = read(n->tapfd, n->tapbuf, sizeof n->tapbuf);
            if (r <= 0) break;                     /* EAGAIN or error: wait for the next event */
            n->tap_pending = (size_t)r;
        }
        if (!rx_deliver(n, n->tapbuf, n->tap_pending)) {
            if (!n->tap_paused) {                  /* no guest buffers: stop reading until RX kick */
                n->tap_paused = true;
                vmk_loop_mod_fd(d->env.loop, n->tapfd, 0);
            }
            break;
        }
        n->tap_pending = 0;
    }
    rx_flush_notify(n);
    pthread_mutex_unlock(&d->mtx);
}

/* ---------------- TX path ---------------- */

static void net_kick(virtio_dev *d, unsigned qi)
{
    net *n = d->priv;
    if (qi == 0) {                                 /* guest posted RX buffers */
        if (n->slirp) rxq_flush(n);
        if (n->tapfd >= 0 && n->tap_paused && !n->tap_dead) {
            n->tap_paused = false;
            vmk_loop_mod_fd(d->env.loop, n->tapfd, EPOLLIN);
            tap_read_cb(n, EPOLLIN);
        }
        rx_flush_notify(n);
        return;
    }
    virtq *q = &d->vq[1];
    bool any = false;
    int budget = VIRTIO_KICK_BUDGET;
    while (vq_pop(d, q) == 1) {
        vq_elem *e = &q->elem;
        if (e->out_len > NET_HDR_LEN && e->out_len - NET_HDR_LEN <= NET_FRAME_MAX) {
            size_t len = vq_elem_read(e, NET_HDR_LEN, n->txbuf, (size_t)(e->out_len - NET_HDR_LEN));
            if (n->slirp) slirp_input(n->slirp, n->txbuf, (int)len);
            else if (n->tapfd >= 0 && write(n->tapfd, n->txbuf, len) < 0)
                vmk_debug("virtio-net: TAP write: %s", strerror(errno));
            d->stats.tx_packets++;
            d->stats.tx_bytes += len;
        }
        vq_push(d, q, 0);
        any = true;
        if (--budget == 0) { virtio_dev_requeue(d, 1); break; }
    }
    if (any) vq_notify(d, q);
    rx_flush_notify(n);                            /* replies slirp produced inside slirp_input */
}

static void net_reset(virtio_dev *d)
{
    net *n = d->priv;
    while (n->rxq_count) {
        free(n->rxq[n->rxq_head]);
        n->rxq[n->rxq_head] = NULL;
        n->rxq_head = (n->rxq_head + 1) % NET_RXQ_MAX;
        n->rxq_count--;
    }
    n->tap_pending = 0;
}

/* ---------------- slirp glue ---------------- */

static void slirp_guest_error(const char *msg, void *opaque) { (void)opaque; vmk_debug("slirp: guest error: %s", msg); }
static int64_t slirp_clock_ns(void *opaque) { (void)opaque; return (int64_t)vmk_now_ns(); }

static void timer_fire(void *opaque)
{
    net_timer *t = opaque;
    net *n = t->n;                                 /* the callback may free the timer */
    t->id = 0;
    t->cb(t->cb_opaque);
    pthread_mutex_lock(&n->d->mtx);
    rx_flush_notify(n);
    pthread_mutex_unlock(&n->d->mtx);
}

static void *slirp_timer_new(SlirpTimerCb cb, void *cb_opaque, void *opaque)
{
    net_timer *t = vmk_xcalloc(1, sizeof *t);
    t->n = opaque;
    t->cb = cb;
    t->cb_opaque = cb_opaque;
    return t;
}

static void slirp_timer_free(void *timer, void *opaque)
{
    net_timer *t = timer;
    (void)opaque;
    if (t->id) vmk_loop_del_timer(t->n->d->env.loop, t->id);
    free(t);
}

static void slirp_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
    net_timer *t = timer;
    (void)opaque;
    if (t->id) vmk_loop_del_timer(t->n->d->env.loop, t->id);
    uint64_t ns = expire_ms <= 0 ? 0 : (uint64_t)expire_ms * 1000000ull;
    t->id = vmk_loop_add_timer(t->n->d->env.loop, ns, timer_fire, t);
}

static void slirp_register_fd(int fd, void *opaque) { (void)fd; (void)opaque; }
static void slirp_unregister_fd(int fd, void *opaque) { (void)fd; (void)opaque; }
static void slirp_notify(void *opaque) { (void)opaque; }

static const SlirpCb slirp_cbs = {
    .send_packet = slirp_send_packet,
    .guest_error = slirp_guest_error,
    .clock_get_ns = slirp_clock_ns,
    .timer_new = slirp_timer_new,
    .timer_free = slirp_timer_free,
    .timer_mod = slirp_timer_mod,
    .register_poll_fd = slirp_register_fd,
    .unregister_poll_fd = slirp_unregister_fd,
    .notify = slirp_notify,
};

static int add_poll(int fd, int events, void *opaque)
{
    net *n = opaque;
    if (n->npfds == n->cappfds) {
        n->cappfds = n->cappfds ? n->cappfds * 2 : 16;
        n->pfds = realloc(n->pfds, n->cappfds * sizeof *n->pfds);
        if (!n->pfds) abort();
    }
    n->pfds[n->npfds] = (net_pfd){ fd, events, 0 };
    return (int)n->npfds++;
}

static int get_revents(int idx, void *opaque)
{
    net *n = opaque;
    return idx >= 0 && (size_t)idx < n->npfds ? n->pfds[idx].revents : 0;
}

static void slirp_fd_cb(void *opaque, uint32_t ev)
{
    net_fdh *h = opaque;
    net *n = h->n;
    if (h->idx < 0 || (size_t)h->idx >= n->npfds) return;
    int r = 0;
    if (ev & EPOLLIN) r |= SLIRP_POLL_IN;
    if (ev & EPOLLOUT) r |= SLIRP_POLL_OUT;
    if (ev & EPOLLPRI) r |= SLIRP_POLL_PRI;
    if (ev & EPOLLERR) r |= SLIRP_POLL_ERR;
    if (ev & EPOLLHUP) r |= SLIRP_POLL_HUP;
    n->pfds[h->idx].revents |= r;
}

static void slirp_pre(void *opaque, int *timeout_ms)
{
    net *n = opaque;
    pthread_mutex_lock(&n->d->mtx);
    rx_flush_notify(n);
    pthread_mutex_unlock(&n->d->mtx);
    vmk_loop *l = n->d->env.loop;
    uint32_t t = UINT32_MAX;
    n->npfds = 0;
    slirp_pollfds_fill(n->slirp, &t, add_poll, n);
    if (t != UINT32_MAX && (*timeout_ms < 0 || t < (uint32_t)*timeout_ms)) *timeout_ms = (int)(t > 60000 ? 60000 : t);
    for (size_t i = 0; i < n->nfdh; i++) { n->fdh[i]->seen = false; n->fdh[i]->idx = -1; }
    for (size_t i = 0; i < n->npfds; i++) {
        net_pfd *p = &n->pfds[i];
        net_fdh *h = NULL;
        for (size_t k = 0; k < n->nfdh; k++) if (n->fdh[k]->fd == p->fd) { h = n->fdh[k]; break; }
        if (!h) {
            if (n->nfdh == n->capfdh) {
                n->capfdh = n->capfdh ? n->capfdh * 2 : 16;
                n->fdh = realloc(n->fdh, n->capfdh * sizeof *n->fdh);
                if (!n->fdh) abort();
            }
            h = vmk_xcalloc(1, sizeof *h);
            h->n = n;
            h->fd = p->fd;
            n->fdh[n->nfdh++] = h;
        }
        h->seen = true;
        h->idx = (int)i;
        uint32_t ev = 0;
        if (p->events & SLIRP_POLL_IN) ev |= EPOLLIN;
        if (p->events & SLIRP_POLL_OUT) ev |= EPOLLOUT;
        if (p->events & SLIRP_POLL_PRI) ev |= EPOLLPRI;
        /* re-added every iteration: slirp may have closed and reused the fd number meanwhile */
        vmk_loop_add_fd(l, p->fd, ev, slirp_fd_cb, h);
    }
    for (size_t k = 0; k < n->nfdh;) {
        if (n->fdh[k]->seen) { k++; continue; }
        vmk_loop_del_fd_owned(l, n->fdh[k]->fd, n->fdh[k]);   /* the number may belong to someone else now */
        free(n->fdh[k]);
        n->fdh[k] = n->fdh[--n->nfdh];
    }
}

static void slirp_post(void *opaque)
{
    net *n = opaque;
    slirp_pollfds_poll(n->slirp, 0, get_revents, n);
    for (size_t i = 0; i < n->npfds; i++) n->pfds[i].revents = 0;
    pthread_mutex_lock(&n->d->mtx);
    rx_flush_notify(n);
    pthread_mutex_unlock(&n->d->mtx);
}

/* ---------------- construction ---------------- */

static void net_free(virtio_dev *d)
{
    net *n = d->priv;
    if (!n) return;
    vmk_loop *l = d->env.loop;
    if (n->hooked) vmk_loop_del_poll_hooks(l, n);
    for (size_t k = 0; k < n->nfdh; k++) { vmk_loop_del_fd_owned(l, n->fdh[k]->fd, n->fdh[k]); free(n->fdh[k]); }
    if (n->slirp) slirp_cleanup(n->slirp);
    if (n->tapfd >= 0) { vmk_loop_del_fd(l, n->tapfd); close(n->tapfd); }
    net_reset(d);
    free(n->fdh);
    free(n->pfds);
    free(n);
}

/* State: the MAC and link status live in config space (saved by the transport); here only whether
 * an RX interrupt was still owed. Frames queued for the guest and slirp's connections are not
 * saved: a restored user-mode network starts fresh (TCP connections through it are lost). */
static void net_save(virtio_dev *d, vmk_sbuf *b)
{
    net *n = d->priv;
    vmk_sb_u8(b, n->rx_notify);
}

static int net_load(virtio_dev *d, vmk_sread *r)
{
    net *n = d->priv;
    uint8_t rn = vmk_sr_u8(r);
    if (!vmk_sr_ok(r)) return -1;
    if (rn > 1) { vmk_sr_fail(r, "bad rx_notify flag"); return -1; }
    if (d->config[0] & 1) { vmk_sr_fail(r, "multicast MAC address"); return -1; }
    d->config[6] &= NET_S_LINK_UP;
    n->rx_notify = rn;
    return 0;
}

static const virtio_devops net_ops = {
    .device_id = VIRTIO_ID_NET, .name = "virtio-net", .nqueues = 2,
    .kick = net_kick, .reset = net_reset, .free = net_free, .save = net_save, .load = net_load,
};

void virtio_net_set_mac(virtio_dev *d, const uint8_t mac[6])
{
    if (d->ops != &net_ops) return;
    pthread_mutex_lock(&d->mtx);
    memcpy(d->config, mac, 6);
    virtio_dev_config_changed(d);
    pthread_mutex_unlock(&d->mtx);
}

static int open_tap(const char *name, char *err, size_t errlen)
{
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        vmk_seterr(err, errlen, "--net tap=%s: cannot open /dev/net/tun: %s", name, strerror(errno));
        return -1;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
    snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", name);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        vmk_seterr(err, errlen, "--net tap=%s: cannot attach to the TAP interface: %s", name, strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

virtio_dev *virtio_net_new(const virtio_env *env, const char *spec, const uint8_t *mac, char *err, size_t errlen)
{
    static _Atomic unsigned instance;
    net_spec ns;
    char perr[VMK_ERRLEN];
    if (parse_spec(spec, &ns, perr, sizeof perr) < 0) {
        vmk_seterr(err, errlen, "--net '%s': %s", spec ? spec : "", perr);
        return NULL;
    }
    virtio_dev *d = vmk_xcalloc(1, sizeof *d);
    if (virtio_dev_init(d, &net_ops, env, (1ull << NET_F_MAC) | (1ull << NET_F_STATUS), 8, err, errlen) < 0) {
        free(d);
        return NULL;
    }
    net *n = vmk_xcalloc(1, sizeof *n);
    n->d = d;
    n->tapfd = -1;
    d->priv = n;
    uint8_t m[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, (uint8_t)(0x56 + atomic_fetch_add(&instance, 1)) };
    memcpy(d->config, mac ? mac : m, 6);
    d->config[6] = NET_S_LINK_UP;
    if (ns.tap) {
        n->tapfd = open_tap(ns.tapname, err, errlen);
        if (n->tapfd < 0 || vmk_loop_add_fd(env->loop, n->tapfd, EPOLLIN, tap_read_cb, n) < 0) {
            if (n->tapfd >= 0) vmk_seterr(err, errlen, "--net tap=%s: cannot poll the TAP fd", ns.tapname);
            virtio_dev_free(d);
            return NULL;
        }
        return d;
    }
    SlirpConfig cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.version = 1;
    cfg.restricted = 0;
    cfg.in_enabled = true;
    inet_pton(AF_INET, "10.0.2.0", &cfg.vnetwork);
    inet_pton(AF_INET, "255.255.255.0", &cfg.vnetmask);
    inet_pton(AF_INET, "10.0.2.2", &cfg.vhost);
    inet_pton(AF_INET, "10.0.2.15", &cfg.vdhcp_start);
    inet_pton(AF_INET, "10.0.2.3", &cfg.vnameserver);
    cfg.in6_enabled = false;
    cfg.vhostname = "vmkit";
    n->slirp = slirp_new(&cfg, &slirp_cbs, n);
    if (!n->slirp) {
        vmk_seterr(err, errlen, "--net user: cannot initialise libslirp");
        virtio_dev_free(d);
        return NULL;
    }
    for (unsigned i = 0; i < ns.nfwd; i++) {
        net_fwd *f = &ns.fwd[i];
        if (slirp_add_hostfwd(n->slirp, f->udp, f->haddr, f->hport, f->gaddr, f->gport) < 0) {
            char ha[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &f->haddr, ha, sizeof ha);
            vmk_seterr(err, errlen, "--net: hostfwd %s:%s:%d: cannot listen on the host port (in use?)",
                       f->udp ? "udp" : "tcp", ha, f->hport);
            virtio_dev_free(d);
            return NULL;
        }
    }
    vmk_loop_add_poll_hook(env->loop, slirp_pre, slirp_post, n);
    n->hooked = true;
    return d;
}
