/* migrate.c — live migration of a running VM over a connected stream socket (pre-copy): the
 * source side (vmk_vm_migrate_send), the destination side (vmk_vm_migrate_recv) and the
 * destination's "running" acknowledgement (vm_migrate_ack, called by vmk_vm_run).
 *
 * The stream (after the daemons' HELLO, src/hv/hv.h, which the callers handle) is a sequence of
 * framed records, each
 *     u8 type | u32 LE length | payload[length] | u32 LE CRC-32C(type, length, payload)
 * and every record is validated before use (known type, length within the type's limit, CRC, order).
 * Source -> destination, in this order:
 *   CONFIG (1)     once, first: "VMKMIGS\0", u32 stream version (1), u32 page size, u8 engine, the VM
 *                  config (u64 mem_size, u32 ncpus, str bios/kernel/initrd/cmdline, u32 ndisks +
 *                  {str path, u8 readonly, u64 size}, u32 nnets + {str spec}, u8 no_rng), u8 flags
 *                  (bit 0: disks are copied); str = u32 length + bytes. The destination makes RAM of
 *                  that size and builds the machine (vm_build) then, or with the state when the VM has
 *                  writable disks (their locks pass over at the final pause) or they are copied.
 *   PAGES (2)      any number: u32 count, then count entries u64 (page index | bit 63 = zero page),
 *                  each non-zero entry followed by the page's 4096 bytes. At most 64 data pages and
 *                  4096 entries per record (a zero page costs 8 bytes: most of a fresh guest's RAM).
 *   ROUND_END (3)  after each round: u32 round, u64 pages in the round, u64 bytes sent so far.
 *   DISK (9)       copy_disks only, with the source paused, after its last pages: u32 disk index,
 *                  u64 offset, data (at most 1 MiB; holes and zero chunks are not sent). The
 *                  destination writes <path>.vmkmig-<pid>, syncs it at STATE and renames it over
 *                  <path> at END (the downtime grows with the disks' data: they are not pre-copied).
 *   STATE (4)      once, with the source paused, after its last pages: u32 length + engine blob,
 *                  u32 device count, then per device u8 kind (vm_dev_kind) + u32 length + blob.
 *   END (5)        empty. The destination checks every page was sent at least once.
 * Destination -> source:
 *   ACK (6)        empty: the guest runs on the destination (vm_migrate_ack). The source may go.
 *   ROUND_ACK (8)  u32 round: every record up to that ROUND_END is applied. The source waits for it
 *                  before each harvest, so that a round's dirty set is measured and the final pause
 *                  starts with the destination caught up (no socket-buffer backlog in the downtime).
 *   ERROR (7)      str message: the destination gave up (the source reports it and keeps running).
 * The source also sends ERROR before closing when it gives up, so the destination can say why.
 *
 * Source algorithm: with the VM briefly paused, start the dirty log and let the engine forget its
 * cached writable translations (dirty_sync), resume, then send all of RAM while the guest runs
 * (each page is copied out of guest RAM before its CRC is taken; a page written meanwhile is in the
 * log and goes again; pages the host never mapped, per /proc/self/pagemap, go as zero pages unread).
 * Rounds: pause the VM (vCPUs and the I/O loop: devices mark a page before writing it, so a harvest
 * must not split the two), dirty_sync, harvest, resume, send those pages; iteration stops when at
 * most max_downtime_pages are dirty, after max_rounds, or when the set stops shrinking; the VM then
 * stays paused for the final phase: last harvest, pages, (disks), state, END, then wait
 * (10 s) for ACK. Any error, EOF, ERROR or timeout resumes the VM here. Downtime = time paused in the
 * final phase until ACK. The dirty log is shared with diff snapshots: pages harvested here are given
 * back to the log when the migration fails and a snapshot base exists.
 * Limits: an ACK lost after the destination started (connection cut at that instant) leaves the
 * guest running on both sides once the source resumes; user-mode (slirp) network connections do not
 * survive the move (the destination starts a fresh slirp; TAP networking does). */
#include "vm_impl.h"
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

enum { MIG_CONFIG = 1, MIG_PAGES = 2, MIG_ROUND_END = 3, MIG_STATE = 4, MIG_END = 5, MIG_ACK = 6,
       MIG_ERROR = 7, MIG_ROUND_ACK = 8, MIG_DISK = 9, MIG_NTYPES = 10 };
static const char *const mig_type_name[MIG_NTYPES] = { "?", "CONFIG", "PAGES", "ROUND_END", "STATE", "END",
                                                       "ACK", "ERROR", "ROUND_ACK", "DISK" };
#define MIG_MAGIC        "VMKMIGS\0"
#define MIG_VERSION      1u
#define MIG_BATCH_DATA   64u            /* data pages per PAGES record */
#define MIG_BATCH_ENT    4096u          /* entries (zero or data) per PAGES record */
#define MIG_ZERO         (1ull << 63)
#define MIG_PAGES_MAX    (4u + MIG_BATCH_ENT * 8u + MIG_BATCH_DATA * VMK_PAGE_SIZE)
#define MIG_STATE_MAX    (64u << 20)
#define MIG_CONFIG_MAX   (256u << 10)
#define MIG_STR_MAX      65536u
#define MIG_IO_TMO_MS    mig_io_tmo_ms()  /* a peer silent (or not reading) this long is gone */
#define MIG_ACK_TMO_MS   10000
#define MIG_DISK_CHUNK   (1u << 20)

/* 30 s; VMKIT_MIGRATE_TIMEOUT_MS (100..600000) shortens it for tests of hung peers. */
static int mig_io_tmo_ms(void)
{
    static int v;
    if (!v) {
        const char *e = getenv("VMKIT_MIGRATE_TIMEOUT_MS");
        long t = e ? strtol(e, NULL, 10) : 0;
        v = t >= 100 && t <= 600000 ? (int)t : 30000;
    }
    return v;
}

static uint32_t mig_max_len(unsigned type)
{
    switch (type) {
    case MIG_CONFIG: return MIG_CONFIG_MAX;
    case MIG_PAGES: return MIG_PAGES_MAX;
    case MIG_ROUND_END: return 20;
    case MIG_STATE: return MIG_STATE_MAX;
    case MIG_ERROR: return 1024;
    case MIG_ROUND_ACK: return 4;
    case MIG_DISK: return 12 + MIG_DISK_CHUNK;
    default: return 0;
    }
}

/* ---------------- CRC-32C: the SSE4.2 instruction when the host has it (same values) ---------------- */
#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const uint8_t *p, size_t n)
{
    uint64_t c = ~crc & 0xffffffffu;
    for (; n >= 8; n -= 8, p += 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        c = __builtin_ia32_crc32di(c, v);
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}
#endif
static uint32_t mig_crc(uint32_t crc, const void *p, size_t n)
{
#if defined(__x86_64__)
    static int hw = -1;
    if (hw < 0) hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    if (hw) return crc_hw(crc, p, n);
#endif
    return vmk_crc32c(crc, p, n);
}

/* ---------------- socket I/O with deadlines (the fd's own flags are left alone) ---------------- */
static int wait_fd(int fd, short ev, int tmo_ms)
{
    struct pollfd pfd = { .fd = fd, .events = ev };
    for (;;) {
        int r = poll(&pfd, 1, tmo_ms);
        if (r > 0) return 0;
        if (r == 0) { errno = ETIMEDOUT; return -1; }
        if (errno != EINTR) return -1;
    }
}

/* 0, or -1 with errno (EPIPE for a closed peer, ETIMEDOUT). */
static int send_all(int fd, struct iovec *iov, int n, int tmo_ms)
{
    while (n > 0) {
        struct msghdr mh = { .msg_iov = iov, .msg_iovlen = (size_t)n };
        ssize_t w = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                if (wait_fd(fd, POLLOUT, tmo_ms) < 0) return -1;
                continue;
            }
            return -1;
        }
        size_t left = (size_t)w;
        while (n > 0 && left >= iov->iov_len) { left -= iov->iov_len; iov++; n--; }
        if (n > 0) { iov->iov_base = (uint8_t *)iov->iov_base + left; iov->iov_len -= left; }
    }
    return 0;
}

/* 1 = got n bytes, 0 = clean EOF before the first byte, -1 with errno (EPIPE on a short EOF). */
static int recv_all(int fd, void *buf, size_t n, int tmo_ms)
{
    size_t got = 0;
    errno = 0;
    while (got < n) {
        ssize_t r = recv(fd, (uint8_t *)buf + got, n - got, MSG_DONTWAIT);
        if (r > 0) { got += (size_t)r; continue; }
        if (r == 0) { if (got == 0) return 0; errno = EPIPE; return -1; }
        if (errno == EINTR) continue;
        if (errno != EAGAIN && errno != EWOULDBLOCK) return -1;
        if (wait_fd(fd, POLLIN, tmo_ms) < 0) return -1;
    }
    return 1;
}

static int send_rec(int fd, unsigned type, const void *p1, size_t n1, const void *p2, size_t n2, int tmo_ms)
{
    uint8_t h[5] = { (uint8_t)type, (uint8_t)(n1 + n2), (uint8_t)((n1 + n2) >> 8), (uint8_t)((n1 + n2) >> 16),
                     (uint8_t)((n1 + n2) >> 24) };
    uint32_t c = mig_crc(mig_crc(mig_crc(0, h, 5), p1, n1), p2, n2);
    uint8_t t[4] = { (uint8_t)c, (uint8_t)(c >> 8), (uint8_t)(c >> 16), (uint8_t)(c >> 24) };
    struct iovec iov[4] = { { h, 5 }, { (void *)p1, n1 }, { (void *)p2, n2 }, { t, 4 } };
    return send_all(fd, iov, 4, tmo_ms);
}

typedef struct mig_rec {
    unsigned type;
    uint8_t *buf;
    size_t len, cap;
} mig_rec;

/* 1 = a valid record, 0 = EOF at a record boundary, -1 with err. peer: "source" or "destination". */
static int recv_rec(int fd, mig_rec *r, int tmo_ms, const char *peer, char *err, size_t errlen)
{
    uint8_t h[5], t[4];
    int k = recv_all(fd, h, 5, tmo_ms);
    if (k == 0) return 0;
    if (k < 0 && errno == ECONNRESET) {
        vmk_seterr(err, errlen, "migration stream: the %s reset the connection", peer);
        return -1;
    }
    if (k < 0) goto ioerr;
    uint32_t len = (uint32_t)h[1] | (uint32_t)h[2] << 8 | (uint32_t)h[3] << 16 | (uint32_t)h[4] << 24;
    if (h[0] == 0 || h[0] >= MIG_NTYPES) {
        vmk_seterr(err, errlen, "migration stream: unknown record type %u (not a vmkit migration stream?)", h[0]);
        return -1;
    }
    if (len > mig_max_len(h[0])) {
        vmk_seterr(err, errlen, "migration stream: %s record of %u bytes exceeds its limit of %u",
                   mig_type_name[h[0]], len, mig_max_len(h[0]));
        return -1;
    }
    if (len > r->cap) {
        free(r->buf);
        r->cap = len < 4096 ? 4096 : len;
        r->buf = vmk_xmalloc(r->cap);
    }
    if (len && recv_all(fd, r->buf, len, tmo_ms) != 1) goto ioerr_mid;
    if (recv_all(fd, t, 4, tmo_ms) != 1) goto ioerr_mid;
    uint32_t want = (uint32_t)t[0] | (uint32_t)t[1] << 8 | (uint32_t)t[2] << 16 | (uint32_t)t[3] << 24;
    uint32_t c = mig_crc(mig_crc(0, h, 5), r->buf, len);
    if (c != want) {
        vmk_seterr(err, errlen, "migration stream: %s record of %u bytes fails its checksum (corrupted)",
                   mig_type_name[h[0]], len);
        return -1;
    }
    r->type = h[0];
    r->len = len;
    return 1;
ioerr_mid:
    if (errno == 0) errno = ECONNRESET;
ioerr:
    if (errno == ETIMEDOUT)
        vmk_seterr(err, errlen, "migration stream: the %s was silent for %.1f s", peer, tmo_ms / 1000.0);
    else if (errno == ECONNRESET || errno == EPIPE)
        vmk_seterr(err, errlen, "migration stream: the %s closed the connection in the middle of a record", peer);
    else
        vmk_seterr(err, errlen, "migration stream: receive failed: %s", strerror(errno));
    return -1;
}

/* Best effort: tell the peer why we give up, then read (and drop) what it still sends for up to
 * drain_ms or until it closes: closing a socket with unread data makes the kernel reset the
 * connection, and the reset would destroy the ERROR record before the peer reads it. */
static void send_error(int fd, const char *msg, int drain_ms)
{
    vmk_sbuf b = { 0 };
    size_t n = strlen(msg);
    if (n > 1000) n = 1000;
    vmk_sb_u32(&b, (uint32_t)n);
    vmk_sb_bytes(&b, msg, n);
    int rc = send_rec(fd, MIG_ERROR, b.data, b.len, NULL, 0, 200);
    vmk_sb_free(&b);
    if (rc < 0 || shutdown(fd, SHUT_WR) < 0) return;
    uint64_t end = vmk_now_ns() + (uint64_t)drain_ms * 1000000ull;
    static uint8_t junk[65536];
    for (uint64_t now; (now = vmk_now_ns()) < end;) {
        if (wait_fd(fd, POLLIN, (int)((end - now) / 1000000) + 1) < 0) return;
        ssize_t k = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
        if (k == 0 || (k < 0 && errno != EINTR && errno != EAGAIN)) return;
    }
}

static void error_text(const mig_rec *r, char *out, size_t outlen)
{
    vmk_sread rd;
    vmk_sr_init(&rd, r->buf, r->len);
    uint32_t n = vmk_sr_u32(&rd);
    if (!vmk_sr_ok(&rd) || n > r->len - 4) { snprintf(out, outlen, "(malformed message)"); return; }
    size_t m = n < outlen - 1 ? n : outlen - 1;
    for (size_t i = 0; i < m; i++) {
        uint8_t ch = r->buf[4 + i];
        out[i] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
    }
    out[m] = 0;
}

/* ---------------- config ---------------- */
static void put_config(vmk_sbuf *b, const vmk_vm_config *c, bool copy_disks)
{
    vmk_sb_bytes(b, MIG_MAGIC, 8);
    vmk_sb_u32(b, MIG_VERSION);
    vmk_sb_u32(b, VMK_PAGE_SIZE);
    vmk_sb_u8(b, (uint8_t)c->engine);
    vmk_sb_u64(b, c->mem_size);
    vmk_sb_u32(b, c->ncpus);
    vmk_sb_str(b, c->bios);
    vmk_sb_str(b, c->kernel);
    vmk_sb_str(b, c->initrd);
    vmk_sb_str(b, c->cmdline);
    vmk_sb_u32(b, c->ndisks);
    for (unsigned i = 0; i < c->ndisks; i++) {
        struct stat st;
        vmk_sb_str(b, c->disks[i].path);
        vmk_sb_u8(b, c->disks[i].readonly);
        vmk_sb_u64(b, stat(c->disks[i].path, &st) == 0 ? (uint64_t)st.st_size : 0);
    }
    vmk_sb_u32(b, c->nnets);
    for (unsigned i = 0; i < c->nnets; i++) vmk_sb_str(b, c->nets[i]);
    vmk_sb_u8(b, c->no_rng);
    vmk_sb_u8(b, copy_disks ? 1 : 0);
}

/* A string field: NULL for empty, malloc'd otherwise; no NUL bytes inside. */
static char *get_str(vmk_sread *r, const char *what)
{
    uint32_t n = vmk_sr_u32(r);
    if (!vmk_sr_ok(r)) return NULL;
    if (n > MIG_STR_MAX || n > r->len - r->off) { vmk_sr_fail(r, "%s of %u bytes is too long or truncated", what, n); return NULL; }
    if (!n) return NULL;
    if (memchr(r->p + r->off, 0, n)) { vmk_sr_fail(r, "%s contains a NUL byte", what); return NULL; }
    char *s = vmk_xmalloc(n + 1);
    vmk_sr_bytes(r, s, n);
    s[n] = 0;
    return s;
}

static void free_config(vmk_vm_config *c)
{
    free((char *)c->bios); free((char *)c->kernel); free((char *)c->initrd); free((char *)c->cmdline);
    for (unsigned i = 0; i < c->ndisks; i++) free((char *)c->disks[i].path);
    for (unsigned i = 0; i < c->nnets; i++) free((char *)c->nets[i]);
    memset(c, 0, sizeof(*c));
}

/* Parses and checks CONFIG into c (strings malloc'd; free_config). disk_size[i]: the source's sizes. */
static int get_config(const mig_rec *rec, vmk_vm_config *c, uint64_t *disk_size, bool *copy_disks, char *err, size_t errlen)
{
    vmk_sread r;
    vmk_sr_init(&r, rec->buf, rec->len);
    memset(c, 0, sizeof(*c));
    uint8_t magic[8];
    if (!vmk_sr_bytes(&r, magic, 8) || memcmp(magic, MIG_MAGIC, 8) != 0) {
        vmk_seterr(err, errlen, "migration stream: CONFIG does not start with the vmkit migration magic");
        return -1;
    }
    uint32_t ver = vmk_sr_u32(&r), psz = vmk_sr_u32(&r);
    if (ver != MIG_VERSION) {
        vmk_seterr(err, errlen, "migration stream: version %u, this vmkit speaks version %u", ver, MIG_VERSION);
        return -1;
    }
    if (psz != VMK_PAGE_SIZE) {
        vmk_seterr(err, errlen, "migration stream: page size %u, this vmkit uses %u", psz, VMK_PAGE_SIZE);
        return -1;
    }
    uint8_t eng = vmk_sr_u8(&r);
    c->engine = (vmk_engine_kind)eng;
    c->mem_size = vmk_sr_u64(&r);
    c->ncpus = vmk_sr_u32(&r);
    c->bios = get_str(&r, "bios path");
    c->kernel = get_str(&r, "kernel path");
    c->initrd = get_str(&r, "initrd path");
    c->cmdline = get_str(&r, "command line");
    uint32_t nd = vmk_sr_u32(&r);
    if (vmk_sr_ok(&r) && nd > VMK_VM_MAX_DISKS) vmk_sr_fail(&r, "%u disks (at most %d)", nd, VMK_VM_MAX_DISKS);
    for (uint32_t i = 0; vmk_sr_ok(&r) && i < nd; i++) {
        c->disks[i].path = get_str(&r, "disk path");
        c->ndisks = i + 1;
        c->disks[i].readonly = vmk_sr_u8(&r) != 0;
        disk_size[i] = vmk_sr_u64(&r);
        if (vmk_sr_ok(&r) && !c->disks[i].path) vmk_sr_fail(&r, "disk %u has an empty path", i);
    }
    uint32_t nn = vmk_sr_u32(&r);
    if (vmk_sr_ok(&r) && nn > VMK_VM_MAX_NETS) vmk_sr_fail(&r, "%u networks (at most %d)", nn, VMK_VM_MAX_NETS);
    for (uint32_t i = 0; vmk_sr_ok(&r) && i < nn; i++) {
        c->nets[i] = get_str(&r, "network spec");
        c->nnets = i + 1;
        if (vmk_sr_ok(&r) && !c->nets[i]) vmk_sr_fail(&r, "network %u has an empty spec", i);
    }
    c->no_rng = vmk_sr_u8(&r) != 0;
    uint8_t flags = vmk_sr_u8(&r);
    *copy_disks = flags & 1;
    if (vmk_sr_ok(&r) && flags > 1) vmk_sr_fail(&r, "unknown flags 0x%x", flags);
    if (vmk_sr_ok(&r) && !vmk_sr_done(&r)) vmk_sr_fail(&r, "%zu unexpected trailing bytes", r.len - r.off);
    if (vmk_sr_ok(&r) && eng != VMK_ENGINE_RISCV && eng != VMK_ENGINE_KVM_X86)
        vmk_sr_fail(&r, "unknown engine %u", eng);
    if (vmk_sr_ok(&r) && (c->mem_size == 0 || c->mem_size % VMK_PAGE_SIZE || c->mem_size > (1ull << 40)))
        vmk_sr_fail(&r, "bad memory size %llu", (unsigned long long)c->mem_size);
    if (vmk_sr_ok(&r) && (c->ncpus == 0 || c->ncpus > 1024)) vmk_sr_fail(&r, "bad cpu count %u", c->ncpus);
    if (!vmk_sr_ok(&r)) {
        vmk_seterr(err, errlen, "migration stream: bad CONFIG: %s", r.err);
        free_config(c);
        return -1;
    }
    return 0;
}

/* ---------------- source ---------------- */
typedef struct mig_src {
    vmk_vm *vm;
    int fd;
    const vmk_migrate_opts *o;
    vmk_migrate_progress *p;
    uint64_t pages, words;
    uint64_t *bits;                /* pages to send this round */
    uint64_t *given;               /* every page harvested from the log (given back on failure) */
    uint8_t *rec;                  /* PAGES record under construction */
    size_t rec_len;
    unsigned nent, ndata;
    char *err; size_t errlen;
    uint64_t t0;
} mig_src;

static int src_ioerr(mig_src *s, const char *what)
{
    int e = errno;
    /* the destination may have said why it closed: look for an ERROR record briefly */
    mig_rec r = { 0 };
    char tmp[VMK_ERRLEN], msg[300];
    if (e == EPIPE || e == ECONNRESET) {
        for (int i = 0; i < 64; i++) {
            int k = recv_rec(s->fd, &r, 200, "destination", tmp, sizeof(tmp));
            if (k <= 0) break;
            if (r.type == MIG_ERROR) {
                error_text(&r, msg, sizeof(msg));
                vmk_seterr(s->err, s->errlen, "destination refused the migration: %s", msg);
                free(r.buf);
                return -1;
            }
        }
    }
    free(r.buf);
    if (e == ETIMEDOUT)
        vmk_seterr(s->err, s->errlen, "migration: destination stopped reading (%s timed out after %.1f s)", what, MIG_IO_TMO_MS / 1000.0);
    else if (e == EPIPE || e == ECONNRESET)
        vmk_seterr(s->err, s->errlen, "migration: connection to the destination lost while sending %s", what);
    else
        vmk_seterr(s->err, s->errlen, "migration: sending %s failed: %s", what, strerror(e));
    return -1;
}

static int src_flush(mig_src *s)
{
    if (!s->nent) return 0;
    s->rec[0] = (uint8_t)s->nent; s->rec[1] = (uint8_t)(s->nent >> 8);
    s->rec[2] = (uint8_t)(s->nent >> 16); s->rec[3] = (uint8_t)(s->nent >> 24);
    if (send_rec(s->fd, MIG_PAGES, s->rec, s->rec_len, NULL, 0, MIG_IO_TMO_MS) < 0) return src_ioerr(s, "memory");
    s->p->bytes_sent += s->rec_len + 9;
    s->rec_len = 4;
    s->nent = s->ndata = 0;
    return 0;
}

static inline bool page_is_zero_64(const uint8_t *p)     /* 64 bytes, 8-aligned */
{
    const uint64_t *w = (const uint64_t *)p;
    return !(w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7]);
}

static bool page_is_zero(const uint8_t *p)
{
    for (unsigned i = 0; i < VMK_PAGE_SIZE; i += 64)
        if (!page_is_zero_64(p + i)) return false;
    return true;
}

static int src_page(mig_src *s, uint64_t pg, bool untouched)
{
    const uint8_t *src = s->vm->mem.host + (pg << VMK_PAGE_SHIFT);
    uint8_t *d = s->rec + s->rec_len;
    if (untouched || page_is_zero(src)) {
        uint64_t v = pg | MIG_ZERO;
        for (int i = 0; i < 8; i++) d[i] = (uint8_t)(v >> (8 * i));
        s->rec_len += 8;
    } else {
        for (int i = 0; i < 8; i++) d[i] = (uint8_t)(pg >> (8 * i));
        memcpy(d + 8, src, VMK_PAGE_SIZE);     /* a copy: the guest may write the page meanwhile */
        s->rec_len += 8 + VMK_PAGE_SIZE;
        s->ndata++;
    }
    s->nent++;
    if (s->nent == MIG_BATCH_ENT || s->ndata == MIG_BATCH_DATA) return src_flush(s);
    return 0;
}

/* Round 1: every page. Pages of anonymous RAM that the host never mapped (neither present nor
 * swapped in /proc/self/pagemap) are zero: they go as zero entries without being read (reading
 * would fault each one in). File-backed RAM (a restored VM) is read page by page. */
static int src_send_all(mig_src *s)
{
    int pm = s->vm->mem.fd >= 3 || sysconf(_SC_PAGESIZE) != VMK_PAGE_SIZE ? -1 : open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    uint64_t ent[512];
    uintptr_t vbase = (uintptr_t)s->vm->mem.host;
    int rc = 0;
    for (uint64_t pg = 0; pg < s->pages && rc == 0; pg += 512) {
        uint64_t n = s->pages - pg < 512 ? s->pages - pg : 512;
        bool have = pm >= 0 && vbase % VMK_PAGE_SIZE == 0 &&
                    pread(pm, ent, n * 8, (off_t)((vbase / VMK_PAGE_SIZE + pg) * 8)) == (ssize_t)(n * 8);
        for (uint64_t i = 0; i < n && rc == 0; i++)
            rc = src_page(s, pg + i, have && !(ent[i] & (3ull << 62)));
    }
    if (pm >= 0) close(pm);
    return rc < 0 ? -1 : src_flush(s);
}

static int src_send_bits(mig_src *s)
{
    for (uint64_t w = 0; w < s->words; w++) {
        uint64_t b = s->bits[w];
        while (b) {
            unsigned i = (unsigned)__builtin_ctzll(b);
            b &= b - 1;
            if (src_page(s, w * 64 + i, false) < 0) return -1;
        }
    }
    return src_flush(s);
}

static int src_round_end(mig_src *s, unsigned round, uint64_t n)
{
    vmk_sbuf b = { 0 };
    vmk_sb_u32(&b, round);
    vmk_sb_u64(&b, n);
    vmk_sb_u64(&b, s->p->bytes_sent);
    int rc = send_rec(s->fd, MIG_ROUND_END, b.data, b.len, NULL, 0, MIG_IO_TMO_MS);
    vmk_sb_free(&b);
    if (rc < 0) return src_ioerr(s, "a round marker");
    s->p->bytes_sent += 9 + 20;
    return 0;
}

/* Waits for the destination's ROUND_ACK of round (it applied everything sent so far). */
static int src_wait_round(mig_src *s, unsigned round)
{
    mig_rec r = { 0 };
    char tmp[VMK_ERRLEN], msg[300];
    int rc = -1;
    for (;;) {
        int k = recv_rec(s->fd, &r, MIG_IO_TMO_MS, "destination", tmp, sizeof(tmp));
        if (k == 1 && r.type == MIG_ROUND_ACK && r.len == 4) {
            uint32_t n = (uint32_t)r.buf[0] | (uint32_t)r.buf[1] << 8 | (uint32_t)r.buf[2] << 16 | (uint32_t)r.buf[3] << 24;
            if (n == round) { rc = 0; break; }
            continue;
        }
        if (k == 1 && r.type == MIG_ERROR) {
            error_text(&r, msg, sizeof(msg));
            vmk_seterr(s->err, s->errlen, "destination refused the migration: %s", msg);
        } else if (k == 1) {
            vmk_seterr(s->err, s->errlen, "migration: destination sent an unexpected %s record", mig_type_name[r.type]);
        } else if (k == 0) {
            vmk_seterr(s->err, s->errlen, "migration: destination closed the connection (round %u)", round);
        } else {
            vmk_seterr(s->err, s->errlen, "migration: waiting for the destination (round %u): %s", round, tmp);
        }
        break;
    }
    free(r.buf);
    return rc;
}

static uint64_t src_harvest(mig_src *s, bool accumulate)
{
    uint64_t n = vmk_mem_log_harvest(&s->vm->mem, s->bits, accumulate);
    for (uint64_t w = 0; w < s->words; w++) s->given[w] |= s->bits[w];
    if (accumulate) {
        n = 0;
        for (uint64_t w = 0; w < s->words; w++) n += (uint64_t)__builtin_popcountll(s->bits[w]);
    }
    return n;
}

static void progress(mig_src *s, const char *phase)
{
    s->p->phase = phase;
    vmk_debug("migrate: +%.1f ms %s round %u, %llu bytes sent, %llu pages remaining, %llu dirty pages/s", (vmk_now_ns() - s->t0) / 1e6, phase, s->p->round,
              (unsigned long long)s->p->bytes_sent, (unsigned long long)s->p->pages_remaining,
              (unsigned long long)s->p->dirty_rate_pps);
    if (s->o->cb) s->o->cb(s->o->cb_opaque, s->p);
}

/* Writable disks are locked (flock LOCK_EX) by virtio-blk; the destination cannot open them while
 * this VMM holds the lock (shared storage, or both VMMs on one host). With the VM paused, each
 * writable disk is flushed (overlay bitmap included) and unlocked by its device (virtio_blk_lock)
 * before the state goes out; the destination locks them when it builds the machine. On failure
 * they are locked again (retrying while the destination lets go). Works in the jail (no /proc). */
static int disks_release(vmk_vm *vm, unsigned *idx, unsigned *n, char *err, size_t errlen)
{
    *n = 0;
    for (unsigned i = 0; i < vm->ndevs; i++) {
        if (vm->dev_kind[i] != VM_DEV_BLK) continue;
        char e2[VMK_ERRLEN];
        if (virtio_blk_lock(vm->devs[i], false, e2, sizeof(e2)) < 0) {
            vmk_seterr(err, errlen, "migration: %s", e2);
            return -1;
        }
        idx[(*n)++] = i;
    }
    return 0;
}

static void disks_relock(vmk_vm *vm, const unsigned *idx, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        char e2[VMK_ERRLEN];
        int t = 0;
        while (virtio_blk_lock(vm->devs[idx[i]], true, e2, sizeof(e2)) < 0 && t++ < 100) usleep(20000);
        if (t > 100) vmk_warn("migration: could not lock a disk again: %s", e2);
    }
}

static bool all_zero(const uint8_t *p, size_t n)
{
    for (; n && ((uintptr_t)p & 7); n--) if (*p++) return false;
    for (; n >= 64; n -= 64, p += 64) if (!page_is_zero_64(p)) return false;
    for (; n; n--) if (*p++) return false;
    return true;
}

/* copy_disks: every disk's data (holes and zero chunks skipped), read through the page cache with
 * the VM paused (the loop is parked: no request in flight). */
static int src_disks(mig_src *s)
{
    vmk_vm *vm = s->vm;
    uint8_t *buf = vmk_xmalloc(12 + MIG_DISK_CHUNK);
    int rc = 0;
    for (unsigned i = 0; i < vm->cfg.ndisks && rc == 0; i++) {
        const char *path = vm->cfg.disks[i].path;
        int dfd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat st;
        if (dfd < 0 || fstat(dfd, &st) < 0) {
            vmk_seterr(s->err, s->errlen, "migration: cannot read disk %s: %s", path, strerror(errno));
            if (dfd >= 0) close(dfd);
            rc = -1;
            break;
        }
        off_t size = st.st_size, off = 0;
        while (off < size && rc == 0) {
            off_t d = lseek(dfd, off, SEEK_DATA), h;
            if (d < 0 && errno == ENXIO) break;                  /* only a hole is left */
            if (d < 0) { d = off; h = size; }                    /* no SEEK_DATA here: read everything */
            else if ((h = lseek(dfd, d, SEEK_HOLE)) < 0) h = size;
            for (off = d; off < h && rc == 0;) {
                size_t n = (uint64_t)(h - off) < MIG_DISK_CHUNK ? (size_t)(h - off) : MIG_DISK_CHUNK;
                ssize_t got = pread(dfd, buf + 12, n, off);
                if (got <= 0) {
                    vmk_seterr(s->err, s->errlen, "migration: cannot read disk %s: %s", path, got < 0 ? strerror(errno) : "short read");
                    rc = -1;
                    break;
                }
                if (!all_zero(buf + 12, (size_t)got)) {
                    for (int k = 0; k < 4; k++) buf[k] = (uint8_t)(i >> (8 * k));
                    for (int k = 0; k < 8; k++) buf[4 + k] = (uint8_t)((uint64_t)off >> (8 * k));
                    if (send_rec(s->fd, MIG_DISK, buf, 12 + (size_t)got, NULL, 0, MIG_IO_TMO_MS) < 0) { rc = src_ioerr(s, "a disk"); break; }
                    s->p->bytes_sent += 21 + (size_t)got;
                }
                off += got;
            }
        }
        close(dfd);
    }
    free(buf);
    return rc;
}

static int src_state(mig_src *s)
{
    vmk_vm *vm = s->vm;
    vmk_sbuf e = { 0 }, b = { 0 };
    int rc = -1;
    if (vm->eng->save(vm->e, &e) < 0) {
        vmk_seterr(s->err, s->errlen, "migration: the %s engine could not save its state", vm->eng->name);
        goto out;
    }
    vmk_sb_u32(&b, (uint32_t)e.len);
    vmk_sb_bytes(&b, e.data, e.len);
    vmk_sb_u32(&b, vm->ndevs);
    for (unsigned i = 0; i < vm->ndevs; i++) {
        vmk_sbuf d = { 0 };
        if (virtio_dev_save(vm->devs[i], &d) < 0) {
            vmk_sb_free(&d);
            vmk_seterr(s->err, s->errlen, "migration: device %u could not save its state", i);
            goto out;
        }
        vmk_sb_u8(&b, (uint8_t)vm->dev_kind[i]);
        vmk_sb_u32(&b, (uint32_t)d.len);
        vmk_sb_bytes(&b, d.data, d.len);
        vmk_sb_free(&d);
    }
    if (b.len > MIG_STATE_MAX) {
        vmk_seterr(s->err, s->errlen, "migration: device state of %zu bytes is too large", b.len);
        goto out;
    }
    if (send_rec(s->fd, MIG_STATE, b.data, b.len, NULL, 0, MIG_IO_TMO_MS) < 0) { src_ioerr(s, "device state"); goto out; }
    s->p->bytes_sent += b.len + 9;
    rc = 0;
out:
    vmk_sb_free(&e);
    vmk_sb_free(&b);
    return rc;
}

static int src_wait_ack(mig_src *s)
{
    mig_rec r = { 0 };
    char tmp[VMK_ERRLEN], msg[300];
    uint64_t deadline = vmk_now_ns() + (uint64_t)MIG_ACK_TMO_MS * 1000000ull;
    int rc = -1;
    vmk_debug("migrate: waiting for the acknowledgement");
    for (;;) {
        uint64_t now = vmk_now_ns();
        int left = now >= deadline ? 0 : (int)((deadline - now) / 1000000) + 1;
        int k = left ? recv_rec(s->fd, &r, left, "destination", tmp, sizeof(tmp)) : -1;
        if (k == 1 && r.type == MIG_ACK) { rc = 0; break; }
        if (k == 1 && r.type == MIG_ERROR) {
            error_text(&r, msg, sizeof(msg));
            vmk_seterr(s->err, s->errlen, "destination refused the migration: %s", msg);
            break;
        }
        if (k == 1) continue;              /* nothing else is expected; ignore */
        if (k == 0) vmk_seterr(s->err, s->errlen, "migration: destination closed the connection before confirming it runs");
        else if (!left || errno == ETIMEDOUT)
            vmk_seterr(s->err, s->errlen, "migration: destination did not confirm it runs within %d s", MIG_ACK_TMO_MS / 1000);
        else vmk_seterr(s->err, s->errlen, "migration: waiting for the destination: %s", tmp);
        break;
    }
    free(r.buf);
    return rc;
}

int vmk_vm_migrate_send(vmk_vm *vm, int fd, const vmk_migrate_opts *opts, vmk_migrate_progress *out,
                        char *err, size_t errlen)
{
    vmk_migrate_opts o = opts ? *opts : (vmk_migrate_opts){ 0 };
    if (!o.max_rounds) o.max_rounds = 30;
    if (!o.max_downtime_pages) o.max_downtime_pages = 256;
    vmk_migrate_progress prog = { 0 };
    vmk_migrate_progress *p = out ? out : &prog;
    memset(p, 0, sizeof(*p));
    if (!vm->eng->pause || !vm->eng->resume || !vm->eng->dirty_sync || !vm->eng->save) {
        vmk_seterr(err, errlen, "migration: the %s engine cannot be migrated", vm->eng->name);
        return -1;
    }
    if (pthread_mutex_trylock(&vm->snap_mtx) != 0) {
        vmk_seterr(err, errlen, "migration: a snapshot or another migration of this VM is in progress");
        return -1;
    }
    mig_src s = { .vm = vm, .fd = fd, .o = &o, .p = p, .err = err, .errlen = errlen };
    s.pages = vmk_mem_pages(&vm->mem);
    s.words = (s.pages + 63) / 64;
    s.bits = vmk_xcalloc(s.words, 8);
    s.given = vmk_xcalloc(s.words, 8);
    s.rec = vmk_xmalloc(MIG_PAGES_MAX);
    s.rec_len = 4;
    int one = 1, sndbuf = 8 << 20, zero = 0;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));   /* may fail on non-TCP: fine */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &zero, sizeof(zero));
    uint64_t t0 = s.t0 = vmk_now_ns(), tpause = 0;
    bool paused = false, log_was_on = vm->mem.log_on;
    unsigned disk_idx[VM_MAX_DEVS];
    unsigned ndisk_idx = 0;
    int rc = -1;

    vmk_sbuf cb = { 0 };
    put_config(&cb, &vm->cfg, o.copy_disks);
    int k = send_rec(fd, MIG_CONFIG, cb.data, cb.len, NULL, 0, MIG_IO_TMO_MS);
    p->bytes_sent += cb.len + 9;
    vmk_sb_free(&cb);
    if (k < 0) { src_ioerr(&s, "the configuration"); goto fail; }

    /* start the log (keeping what a snapshot base had logged so far) with the VM paused. Devices
     * mark a page before they write it, so every harvest happens with the I/O loop parked too:
     * a page marked, harvested and copied before the device's write lands would be lost. */
    vmk_vm_pause(vm);
    if (log_was_on) { vm->eng->dirty_sync(vm->e); vmk_mem_log_harvest(&vm->mem, s.given, false); }
    else vmk_mem_log_start(&vm->mem);
    vm->eng->dirty_sync(vm->e);
    vmk_vm_resume(vm);

    /* round 1: all of RAM, the guest running */
    p->round = 1;
    p->pages_remaining = s.pages;
    progress(&s, "full");
    uint64_t tr = vmk_now_ns();
    if (src_send_all(&s) < 0) goto fail;
    if (src_flush(&s) < 0 || src_round_end(&s, 1, s.pages) < 0 || src_wait_round(&s, 1) < 0) goto fail;

    uint64_t prev = s.pages;
    unsigned grow = 0;
    for (unsigned round = 2;; round++) {
        uint64_t tstop = vmk_now_ns();
        vmk_vm_pause(vm);
        vmk_debug("migrate: +%.2f ms paused (took %.2f ms)", (vmk_now_ns() - t0) / 1e6, (vmk_now_ns() - tstop) / 1e6);
        vm->eng->dirty_sync(vm->e);
        uint64_t n = src_harvest(&s, false);
        uint64_t now = vmk_now_ns();
        p->dirty_rate_pps = now > tr ? n * 1000000000ull / (now - tr) : 0;
        p->pages_remaining = n;
        tr = now;
        if (n >= prev) grow++;
        bool last = n <= o.max_downtime_pages || round > o.max_rounds || grow >= 2;
        if (last) {                     /* stay paused: the guest stopped at this harvest */
            tpause = tstop;
            paused = true;
            break;
        }
        vmk_vm_resume(vm);
        p->round = round;
        progress(&s, "dirty");
        if (src_send_bits(&s) < 0 || src_round_end(&s, round, n) < 0 || src_wait_round(&s, round) < 0) goto fail;
        prev = n;
    }

    /* final: the VM is paused */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    vm->eng->dirty_sync(vm->e);
    p->pages_remaining = src_harvest(&s, true);
    progress(&s, "final");
    if (src_send_bits(&s) < 0 || src_round_end(&s, p->round + 1, p->pages_remaining) < 0) goto fail;
    if (o.copy_disks) {            /* what is copied (overlay bitmaps included) must be on disk */
        for (unsigned i = 0; i < vm->ndevs; i++)
            if (vm->dev_kind[i] == VM_DEV_BLK && virtio_blk_flush(vm->devs[i], err, errlen) < 0) goto fail;
        if (src_disks(&s) < 0) goto fail;
    } else if (disks_release(vm, disk_idx, &ndisk_idx, err, errlen) < 0) {
        goto fail;
    }
    if (src_state(&s) < 0) goto fail;
    vmk_debug("migrate: +%.2f ms state sent", (vmk_now_ns() - t0) / 1e6);
    if (send_rec(fd, MIG_END, NULL, 0, NULL, 0, MIG_IO_TMO_MS) < 0) { src_ioerr(&s, "the end marker"); goto fail; }
    p->bytes_sent += 9;
    progress(&s, "confirm");
    if (src_wait_ack(&s) < 0) goto fail;
    p->downtime_ns = vmk_now_ns() - tpause;
    p->total_ns = vmk_now_ns() - t0;
    p->pages_remaining = 0;
    if (!log_was_on) vmk_mem_log_stop(&vm->mem);
    progress(&s, "done");
    vmk_info("migration: done in %.1f ms, downtime %.2f ms, %u rounds, %llu bytes", p->total_ns / 1e6,
             p->downtime_ns / 1e6, p->round, (unsigned long long)p->bytes_sent);
    rc = 0;                        /* the VM stays paused: the caller stops it */
    goto out;
fail:
    send_error(fd, err, 200);
    disks_relock(vm, disk_idx, ndisk_idx);
    if (paused) vmk_vm_resume(vm);
    if (log_was_on) {              /* give the harvested pages back to the snapshot base's log */
        for (uint64_t w = 0; w < s.words; w++)
            if (s.given[w]) atomic_fetch_or_explicit((_Atomic uint64_t *)&vm->mem.log[w], s.given[w], memory_order_relaxed);
    } else {
        vmk_mem_log_stop(&vm->mem);
    }
    p->total_ns = vmk_now_ns() - t0;
    progress(&s, "failed");
out:
    free(s.bits);
    free(s.given);
    free(s.rec);
    pthread_mutex_unlock(&vm->snap_mtx);
    return rc;
}

/* ---------------- destination ---------------- */
static int apply_pages(vmk_vm *vm, const mig_rec *r, uint64_t *seen, uint64_t *nseen, char *err, size_t errlen)
{
    uint64_t pages = vmk_mem_pages(&vm->mem);
    if (r->len < 4) { vmk_seterr(err, errlen, "migration stream: PAGES record of %zu bytes is too short", r->len); return -1; }
    uint32_t n = (uint32_t)r->buf[0] | (uint32_t)r->buf[1] << 8 | (uint32_t)r->buf[2] << 16 | (uint32_t)r->buf[3] << 24;
    if (n > MIG_BATCH_ENT) { vmk_seterr(err, errlen, "migration stream: PAGES record with %u entries (at most %u)", n, MIG_BATCH_ENT); return -1; }
    size_t off = 4;
    unsigned ndata = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (r->len - off < 8) goto short_rec;
        uint64_t v = 0;
        for (int j = 0; j < 8; j++) v |= (uint64_t)r->buf[off + j] << (8 * j);
        off += 8;
        uint64_t pg = v & ~MIG_ZERO;
        if (pg >= pages) {
            vmk_seterr(err, errlen, "migration stream: page index %llu out of range (the guest has %llu pages)",
                       (unsigned long long)pg, (unsigned long long)pages);
            return -1;
        }
        uint8_t *dst = vm->mem.host + (pg << VMK_PAGE_SHIFT);
        bool was_seen = seen[pg / 64] & (1ull << (pg % 64));
        if (v & MIG_ZERO) {
            /* the fresh anonymous RAM is zero: only a page received before needs clearing */
            if (was_seen && !page_is_zero(dst)) memset(dst, 0, VMK_PAGE_SIZE);
        } else {
            if (r->len - off < VMK_PAGE_SIZE || ++ndata > MIG_BATCH_DATA) goto short_rec;
            memcpy(dst, r->buf + off, VMK_PAGE_SIZE);
            off += VMK_PAGE_SIZE;
        }
        if (!was_seen) { seen[pg / 64] |= 1ull << (pg % 64); (*nseen)++; }
    }
    if (off != r->len) {
        vmk_seterr(err, errlen, "migration stream: PAGES record has %zu bytes beyond its %u entries", r->len - off, n);
        return -1;
    }
    return 0;
short_rec:
    vmk_seterr(err, errlen, "migration stream: PAGES record of %zu bytes does not hold its %u entries", r->len, n);
    return -1;
}

static int load_state(vmk_vm *vm, const mig_rec *rec, char *err, size_t errlen)
{
    vmk_sread r, sub;
    char e2[VMK_ERRLEN] = "";
    vmk_sr_init(&r, rec->buf, rec->len);
    uint32_t elen = vmk_sr_u32(&r);
    if (!vmk_sr_ok(&r) || elen > r.len - r.off) {
        vmk_seterr(err, errlen, "migration stream: STATE record is truncated (engine state)");
        return -1;
    }
    vmk_sr_init(&sub, r.p + r.off, elen);
    r.off += elen;
    if (vm->eng->load(vm->e, &sub, e2, sizeof(e2)) < 0 || !vmk_sr_done(&sub)) {
        vmk_seterr(err, errlen, "migration stream: bad %s engine state: %s", vm->eng->name,
                   e2[0] ? e2 : sub.failed ? sub.err : "unexpected trailing bytes");
        return -1;
    }
    uint32_t nd = vmk_sr_u32(&r);
    if (!vmk_sr_ok(&r) || nd != vm->ndevs) {
        vmk_seterr(err, errlen, "migration stream: STATE has %u devices, the machine has %u", nd, vm->ndevs);
        return -1;
    }
    for (unsigned i = 0; i < nd; i++) {
        uint8_t kind = vmk_sr_u8(&r);
        uint32_t dlen = vmk_sr_u32(&r);
        if (!vmk_sr_ok(&r) || dlen > r.len - r.off) {
            vmk_seterr(err, errlen, "migration stream: STATE record is truncated (device %u)", i);
            return -1;
        }
        if (kind != (uint8_t)vm->dev_kind[i]) {
            vmk_seterr(err, errlen, "migration stream: device %u is of kind %u, the machine has kind %u", i, kind,
                       (unsigned)vm->dev_kind[i]);
            return -1;
        }
        vmk_sr_init(&sub, r.p + r.off, dlen);
        r.off += dlen;
        e2[0] = 0;
        if (virtio_dev_load(vm->devs[i], &sub, e2, sizeof(e2)) < 0 || !vmk_sr_done(&sub)) {
            vmk_seterr(err, errlen, "migration stream: bad state for device %u: %s", i,
                       e2[0] ? e2 : sub.failed ? sub.err : "unexpected trailing bytes");
            return -1;
        }
    }
    if (r.off != r.len) {
        vmk_seterr(err, errlen, "migration stream: STATE record has %zu unexpected trailing bytes", r.len - r.off);
        return -1;
    }
    return 0;
}

/* The destination VM for a received config (vm.c's vm_alloc, then vm_build), not booted. A VM with
 * writable disks gets only its RAM now and is built when the state arrives: by then the source is
 * paused and has handed over its disk locks (see disks_release). */
static vmk_vm *dest_build(const vmk_vm_config *c, const vmk_restore_opts *o, bool defer, bool *built, char *err, size_t errlen)
{
    vmk_vm_config t = *c;
    t.console = o->console ? o->console : "null";
    if (o->nets_set) {
        t.nnets = o->nnets < VMK_VM_MAX_NETS ? o->nnets : VMK_VM_MAX_NETS;
        for (unsigned i = 0; i < t.nnets; i++) t.nets[i] = o->nets[i];
    }
    vmk_vm *vm = vm_alloc(&t, err, errlen);
    if (!vm) return NULL;
    if (!vm->eng->load) {
        vmk_seterr(err, errlen, "migration: the %s engine cannot receive a running VM", vm->eng->name);
        vmk_vm_free(vm);
        return NULL;
    }
    *built = !defer;
    for (unsigned i = 0; i < vm->cfg.ndisks; i++)
        if (!vm->cfg.disks[i].readonly) *built = false;
    int rc = *built ? vm_build(vm, err, errlen) : vmk_mem_init(&vm->mem, vm->eng->ram_base, vm->cfg.mem_size, err, errlen);
    if (rc < 0) {
        vmk_vm_free(vm);
        return NULL;
    }
    vm->mem_ok = true;
    return vm;
}

/* copy_disks on the destination: each disk arrives into <path>.vmkmig-<pid> (sparse), which the
 * machine is built on; it replaces <path> at END. Any failure removes the temporary files. */
typedef struct dest_disks {
    int fd[VMK_VM_MAX_DISKS];
    char *tmp[VMK_VM_MAX_DISKS];
    unsigned n;
    bool renamed;
} dest_disks;

static int dd_create(dest_disks *dd, const vmk_vm_config *c, const uint64_t *size, char *err, size_t errlen)
{
    for (unsigned i = 0; i < c->ndisks; i++) {
        size_t l = strlen(c->disks[i].path) + 32;
        dd->tmp[i] = vmk_xmalloc(l);
        snprintf(dd->tmp[i], l, "%s.vmkmig-%d", c->disks[i].path, (int)getpid());
        dd->fd[i] = open(dd->tmp[i], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        dd->n = i + 1;
        if (dd->fd[i] < 0 || ftruncate(dd->fd[i], (off_t)size[i]) < 0) {
            vmk_seterr(err, errlen, "migration: cannot create the disk copy %s: %s", dd->tmp[i], strerror(errno));
            return -1;
        }
    }
    return 0;
}

static int dd_write(dest_disks *dd, const mig_rec *r, const uint64_t *size, char *err, size_t errlen)
{
    if (r->len < 12) { vmk_seterr(err, errlen, "migration stream: DISK record of %zu bytes is too short", r->len); return -1; }
    uint32_t i = 0;
    uint64_t off = 0, n = r->len - 12;
    for (int k = 0; k < 4; k++) i |= (uint32_t)r->buf[k] << (8 * k);
    for (int k = 0; k < 8; k++) off |= (uint64_t)r->buf[4 + k] << (8 * k);
    if (i >= dd->n || off > size[i] || n > size[i] - off) {
        vmk_seterr(err, errlen, "migration stream: DISK record for disk %u at offset %llu (%llu bytes) is out of range",
                   i, (unsigned long long)off, (unsigned long long)n);
        return -1;
    }
    for (uint64_t done = 0; done < n;) {
        ssize_t w = pwrite(dd->fd[i], r->buf + 12 + done, n - done, (off_t)(off + done));
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            vmk_seterr(err, errlen, "migration: cannot write the disk copy %s: %s", dd->tmp[i], w < 0 ? strerror(errno) : "short write");
            return -1;
        }
        done += (uint64_t)w;
    }
    return 0;
}

/* At STATE: the copies are durable, and the machine is built on them. */
static int dd_commit(dest_disks *dd, vmk_vm *vm, char *err, size_t errlen)
{
    for (unsigned i = 0; i < dd->n; i++) {
        if (fsync(dd->fd[i]) < 0) {
            vmk_seterr(err, errlen, "migration: cannot sync the disk copy %s: %s", dd->tmp[i], strerror(errno));
            return -1;
        }
        close(dd->fd[i]);
        dd->fd[i] = -1;
        free((char *)vm->cfg.disks[i].path);
        vm->cfg.disks[i].path = vmk_xstrdup(dd->tmp[i]);
    }
    return 0;
}

/* At END: the copies replace the disks (the devices keep their open files) under their own names. */
static int dd_rename(dest_disks *dd, vmk_vm *vm, const vmk_vm_config *c, char *err, size_t errlen)
{
    for (unsigned i = 0; i < dd->n; i++)
        if (rename(dd->tmp[i], c->disks[i].path) < 0) {
            vmk_seterr(err, errlen, "migration: cannot rename %s to %s: %s", dd->tmp[i], c->disks[i].path, strerror(errno));
            return -1;
        }
    dd->renamed = true;
    for (unsigned i = 0; i < dd->n; i++) {
        char *dir = vmk_xstrdup(c->disks[i].path), *sl = strrchr(dir, '/');
        if (sl) { sl[sl == dir] = 0; int dfd = open(sl ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); if (dfd >= 0) { fsync(dfd); close(dfd); } }
        free(dir);
        free((char *)vm->cfg.disks[i].path);
        vm->cfg.disks[i].path = vmk_xstrdup(c->disks[i].path);
    }
    return 0;
}

static void dd_abort(dest_disks *dd)
{
    for (unsigned i = 0; i < dd->n; i++) {
        if (dd->fd[i] >= 0) close(dd->fd[i]);
        if (!dd->renamed) unlink(dd->tmp[i]);
        free(dd->tmp[i]);
    }
    dd->n = 0;
}

/* Is path (or, when it does not exist yet, its directory) inside root? Both canonicalised. */
static bool path_inside(const char *path, const char *root, bool may_be_new)
{
    char rp[PATH_MAX], rr[PATH_MAX];
    if (!realpath(root, rr)) return false;
    if (!realpath(path, rp)) {
        if (!may_be_new || errno != ENOENT) return false;
        char *d = vmk_xstrdup(path), *sl = strrchr(d, '/');
        const char *base = sl ? sl + 1 : d;
        if (sl) *sl = 0;
        bool ok = *base && strcmp(base, ".") && strcmp(base, "..") && realpath(sl ? (*d ? d : "/") : ".", rp);
        if (ok) ok = strlen(rp) + 1 + strlen(base) < sizeof(rp);
        if (ok) { strcat(rp, "/"); strcat(rp, base); }
        free(d);
        if (!ok) return false;
    }
    size_t n = strlen(rr);
    if (n == 1) return true;                       /* root "/" */
    return !strncmp(rp, rr, n) && (rp[n] == '/' || rp[n] == 0);
}

/* A hostile source must not make this VMM open or overwrite files outside allowed_root. */
static int check_paths(const vmk_vm_config *c, const vmk_restore_opts *o, bool copy, char *err, size_t errlen)
{
    const char *what[3] = { "kernel", "initrd", "firmware" }, *p[3] = { c->kernel, c->initrd, c->bios };
    for (int i = 0; i < 3; i++)
        if (p[i] && !path_inside(p[i], o->allowed_root, false)) {
            vmk_seterr(err, errlen, "migration: the stream's %s path %s is outside the allowed root %s (or missing)", what[i], p[i], o->allowed_root);
            return -1;
        }
    for (unsigned i = 0; i < c->ndisks; i++)
        if (!o->disk_paths[i] && !path_inside(c->disks[i].path, o->allowed_root, copy)) {
            vmk_seterr(err, errlen, "migration: the stream's disk path %s is outside the allowed root %s (or missing)",
                       c->disks[i].path, o->allowed_root);
            return -1;
        }
    return 0;
}

vmk_vm *vmk_vm_migrate_recv(int fd, const vmk_restore_opts *o, char *err, size_t errlen)
{
    vmk_restore_opts none = { 0 };
    if (!o) o = &none;
    mig_rec r = { 0 };
    vmk_vm *vm = NULL;
    vmk_vm_config cfg = { 0 };
    uint64_t *seen = NULL, nseen = 0, disk_size[VMK_VM_MAX_DISKS] = { 0 };
    bool have_state = false, built = false, copy = false;
    char peer[300];
    dest_disks dd = { .n = 0 };
    int k = recv_rec(fd, &r, MIG_IO_TMO_MS, "source", err, errlen);
    if (k == 0) vmk_seterr(err, errlen, "migration stream: the source closed the connection before sending anything");
    if (k <= 0) goto fail;
    if (r.type != MIG_CONFIG) {
        vmk_seterr(err, errlen, "migration stream: expected CONFIG first, got %s", mig_type_name[r.type]);
        goto fail;
    }
    if (get_config(&r, &cfg, disk_size, &copy, err, errlen) < 0) goto fail;
    for (unsigned i = 0; i < cfg.ndisks; i++)
        if (o->disk_paths[i]) {
            free((char *)cfg.disks[i].path);
            cfg.disks[i].path = vmk_xstrdup(o->disk_paths[i]);
        }
    if (o->allowed_root && check_paths(&cfg, o, copy, err, errlen) < 0) goto fail;
    if (copy && dd_create(&dd, &cfg, disk_size, err, errlen) < 0) goto fail;
    for (unsigned i = 0; i < cfg.ndisks && !copy; i++) {
        struct stat st;
        if (stat(cfg.disks[i].path, &st) != 0) {
            vmk_seterr(err, errlen, "migration: disk %s is not here (disks must be on shared storage): %s",
                       cfg.disks[i].path, strerror(errno));
            goto fail;
        }
        if ((uint64_t)st.st_size != disk_size[i] && !o->force_disks) {
            vmk_seterr(err, errlen, "migration: disk %s has %llu bytes here but %llu on the source", cfg.disks[i].path,
                       (unsigned long long)st.st_size, (unsigned long long)disk_size[i]);
            goto fail;
        }
    }
    if (!(vm = dest_build(&cfg, o, copy, &built, err, errlen))) goto fail;
    uint64_t pages = vmk_mem_pages(&vm->mem);
    seen = vmk_xcalloc((pages + 63) / 64, 8);
    for (;;) {
        k = recv_rec(fd, &r, MIG_IO_TMO_MS, "source", err, errlen);
        if (k == 0) {
            vmk_seterr(err, errlen, "migration stream: the source closed the connection before the end (%llu of %llu pages received)",
                       (unsigned long long)nseen, (unsigned long long)pages);
            goto fail;
        }
        if (k < 0) goto fail;
        switch (r.type) {
        case MIG_PAGES:
            if (have_state) goto order;
            if (apply_pages(vm, &r, seen, &nseen, err, errlen) < 0) goto fail;
            break;
        case MIG_ROUND_END:
            if (r.len != 20) { vmk_seterr(err, errlen, "migration stream: ROUND_END record of %zu bytes", r.len); goto fail; }
            vmk_debug("migrate: round %u received (%llu of %llu pages seen)", (unsigned)r.buf[0] | (unsigned)r.buf[1] << 8,
                      (unsigned long long)nseen, (unsigned long long)pages);
            if (send_rec(fd, MIG_ROUND_ACK, r.buf, 4, NULL, 0, MIG_IO_TMO_MS) < 0) {
                vmk_seterr(err, errlen, "migration stream: cannot answer the source: %s", strerror(errno));
                goto fail;
            }
            break;
        case MIG_STATE:
            if (have_state) goto order;
            if (nseen != pages) {
                vmk_seterr(err, errlen, "migration stream: device state arrived with %llu of %llu pages never sent",
                           (unsigned long long)(pages - nseen), (unsigned long long)pages);
                goto fail;
            }
            vmk_debug("migrate: state received");
            if (copy && dd_commit(&dd, vm, err, errlen) < 0) goto fail;
            if (!built && vm_build(vm, err, errlen) < 0) goto fail;
            built = true;
            if (load_state(vm, &r, err, errlen) < 0) goto fail;
            vmk_debug("migrate: state loaded");
            have_state = true;
            break;
        case MIG_DISK:
            if (!copy || have_state) goto order;
            if (dd_write(&dd, &r, disk_size, err, errlen) < 0) goto fail;
            break;
        case MIG_END:
            if (!have_state || r.len) goto order;
            vmk_debug("migrate: end received");
            if (copy && dd_rename(&dd, vm, &cfg, err, errlen) < 0) goto fail;
            free(r.buf);
            free(seen);
            free_config(&cfg);
            dd_abort(&dd);                 /* renamed: only frees */
            vm->migrate_ack_fd = fd;
            if (o->start_paused) vmk_vm_pause(vm);
            return vm;
        case MIG_ERROR:
            error_text(&r, peer, sizeof(peer));
            vmk_seterr(err, errlen, "migration: the source gave up: %s", peer);
            goto fail_quiet;
        default:
            goto order;
        }
    }
order:
    vmk_seterr(err, errlen, "migration stream: unexpected %s record%s", mig_type_name[r.type],
               have_state ? " after the device state" : "");
fail:
    send_error(fd, err, 2000);
fail_quiet:
    if (vm) { vm->migrate_ack_fd = -1; vmk_vm_free(vm); }
    dd_abort(&dd);
    free(r.buf);
    free(seen);
    free_config(&cfg);
    return NULL;
}

void vm_migrate_ack(vmk_vm *vm)
{
    if (!vm || vm->migrate_ack_fd < 0) return;
    if (send_rec(vm->migrate_ack_fd, MIG_ACK, NULL, 0, NULL, 0, 2000) < 0)
        vmk_warn("migration: could not confirm to the source that the guest runs: %s", strerror(errno));
    close(vm->migrate_ack_fd);
    vm->migrate_ack_fd = -1;
}
