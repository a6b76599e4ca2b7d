/* base.h — vmkit's foundation interface: logging and errors, small helpers, the event loop,
 * character devices (console back-ends) and the bus/interrupt contract between devices and engines.
 * Devices see only vmk_mmio_ops + vmk_irq + vmk_mem; engines see only the same. */
#ifndef VMK_BASE_H
#define VMK_BASE_H
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---------------- logging ---------------- */
enum { VMK_LOG_ERROR = 0, VMK_LOG_WARN = 1, VMK_LOG_INFO = 2, VMK_LOG_DEBUG = 3 };
extern int vmk_log_level;                   /* default VMK_LOG_WARN; VMKIT_LOG=debug|info|warn|error */
void vmk_log_init(void);                    /* reads VMKIT_LOG */
void vmk_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define vmk_error(...) vmk_log(VMK_LOG_ERROR, __VA_ARGS__)
#define vmk_warn(...)  vmk_log(VMK_LOG_WARN, __VA_ARGS__)
#define vmk_info(...)  vmk_log(VMK_LOG_INFO, __VA_ARGS__)
#define vmk_debug(...) do { if (vmk_log_level >= VMK_LOG_DEBUG) vmk_log(VMK_LOG_DEBUG, __VA_ARGS__); } while (0)
/* Prints "vmkit: <msg>" to stderr and exits 1. For user-facing fatal errors before the VM starts. */
_Noreturn void vmk_die(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "vmkit: <msg>" to stderr and returns 1: `return vmk_user_error(...)` for a bad option or request. */
int vmk_user_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Error buffer convention: functions that can fail take (char *err, size_t errlen), write a one-line
 * message without trailing newline and return a negative value / NULL. */
#define VMK_ERRLEN 256
void vmk_seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---------------- small helpers ---------------- */
/* "256M", "1G", "4096", "64K" -> bytes. Returns 0 on success, -1 on malformed/overflow. */
int vmk_parse_size(const char *s, uint64_t *out);
uint64_t vmk_now_ns(void);                  /* CLOCK_MONOTONIC */
void *vmk_xmalloc(size_t n);                /* abort on OOM (host-side small allocations only) */
void *vmk_xcalloc(size_t n, size_t sz);
char *vmk_xstrdup(const char *s);
/* Reads a whole file (bounded by maxlen). Returns malloc'd buffer or NULL with err set. */
uint8_t *vmk_read_file(const char *path, size_t maxlen, size_t *len, char *err, size_t errlen);

/* ---------------- event loop (one I/O thread) ----------------
 * All device back-end work (disk I/O, slirp, TAP, console input) runs on the loop thread so that the
 * vCPU loop never blocks on I/O. Callbacks run on the loop thread. vmk_loop_call is thread-safe. */
typedef struct vmk_loop vmk_loop;
typedef void (*vmk_fd_cb)(void *opaque, uint32_t revents);   /* revents: EPOLLIN/EPOLLOUT/EPOLLERR/EPOLLHUP */
typedef void (*vmk_fn)(void *opaque);
vmk_loop *vmk_loop_new(void);
void vmk_loop_free(vmk_loop *l);
int  vmk_loop_add_fd(vmk_loop *l, int fd, uint32_t events, vmk_fd_cb cb, void *opaque);
int  vmk_loop_mod_fd(vmk_loop *l, int fd, uint32_t events);
void vmk_loop_del_fd(vmk_loop *l, int fd);
/* One-shot timer at absolute CLOCK_MONOTONIC ns; returns id (>0). Re-arm by adding again. */
int  vmk_loop_add_timer(vmk_loop *l, uint64_t deadline_ns, vmk_fn cb, void *opaque);
void vmk_loop_del_timer(vmk_loop *l, int id);
/* Run fn(opaque) on the loop thread soon (thread-safe, callable from vCPU threads). */
void vmk_loop_call(vmk_loop *l, vmk_fn fn, void *opaque);
/* Registers a hook run once per loop iteration before sleeping (slirp uses it to add its fds);
 * the hook may shorten the timeout (ms, -1 = infinite). */
typedef void (*vmk_poll_hook)(void *opaque, int *timeout_ms);
void vmk_loop_add_poll_hook(vmk_loop *l, vmk_poll_hook pre, vmk_fn post, void *opaque);
int  vmk_loop_start(vmk_loop *l);           /* spawns the I/O thread */
void vmk_loop_stop(vmk_loop *l);            /* stops and joins it */
bool vmk_loop_on_thread(vmk_loop *l);

/* ---------------- character devices (console back-ends) ----------------
 * A chardev is the host side of a serial line: bytes the guest writes go to write(); bytes from the
 * user arrive through the receive callback set by the front-end (UART or virtio-console), on the loop
 * thread. Back-ends: stdio (raw mode, Ctrl-A x quits, Ctrl-A c... like QEMU), unix socket, null, buffer. */
typedef struct vmk_chardev vmk_chardev;
typedef void (*vmk_chr_rx)(void *opaque, const uint8_t *buf, size_t len);
/* spec: "stdio", "socket=PATH" (listening unix socket), "null". quit_cb is called (loop thread)
 * when the user types the escape sequence to quit. Returns NULL with err on bad spec. */
vmk_chardev *vmk_chr_open(const char *spec, vmk_loop *loop, vmk_fn quit_cb, void *quit_opaque,
                          char *err, size_t errlen);
void vmk_chr_set_rx(vmk_chardev *c, vmk_chr_rx rx, void *opaque);
/* Flow control: the front-end says how many bytes it can accept now; 0 pauses reading. */
void vmk_chr_accept(vmk_chardev *c, bool can_accept);
void vmk_chr_write(vmk_chardev *c, const uint8_t *buf, size_t len);   /* any thread; never blocks the vCPU long */
void vmk_chr_close(vmk_chardev *c);                                    /* restores the terminal */

/* ---------------- bus and interrupt contract ----------------
 * An MMIO device is a window of registers. Accesses are 1, 2, 4 or 8 bytes at offset < size;
 * the engine never passes an out-of-range offset. Reads of unimplemented registers return 0,
 * writes are ignored (log at debug). Handlers run on a vCPU thread and may take the device lock. */
typedef struct vmk_mmio_ops {
    uint64_t (*read)(void *opaque, uint64_t off, unsigned size);
    void     (*write)(void *opaque, uint64_t off, uint64_t val, unsigned size);
} vmk_mmio_ops;

/* A device's interrupt line: level-triggered; set() is callable from any thread. */
typedef struct vmk_irq {
    void (*set)(void *ctx, unsigned line, int level);
    void *ctx;
    unsigned line;
} vmk_irq;
static inline void vmk_irq_set(const vmk_irq *q, int level) { if (q->set) q->set(q->ctx, q->line, level); }

/* A device as an engine sees it when it builds its machine (device tree, ACPI or kernel cmdline). */
typedef struct vmk_mmio_dev {
    uint64_t base, size;
    const vmk_mmio_ops *ops;
    void *opaque;
    const char *compatible;        /* device-tree compatible string, e.g. "virtio,mmio" */
    unsigned irq;                  /* interrupt line number on the engine's interrupt controller */
} vmk_mmio_dev;

/* ---------------- loop pause (snapshots, migration) ----------------
 * vmk_loop_pause (any thread but the loop's) blocks until the loop thread is parked between
 * iterations: no fd callback, timer, hook or queued call runs until vmk_loop_resume. Devices do all
 * their work on the loop thread, so a paused loop means quiesced devices (no request half-done).
 * Nested pauses count; a loop that is not running counts as paused. */
void vmk_loop_pause(vmk_loop *l);
void vmk_loop_resume(vmk_loop *l);

/* ---------------- threads ----------------
 * Called first thing on every vmkit thread with its kind: "vcpu", "io" (the event loop), "api"
 * (API server threads). The jail sets it to install that kind's seccomp filter. NULL = nothing.
 * Set it before any thread starts. */
extern void (*vmk_thread_hook)(const char *kind);
static inline void vmk_thread_started(const char *kind) { if (vmk_thread_hook) vmk_thread_hook(kind); }

/* ---------------- state serialisation (snapshots, migration) ----------------
 * Engines and devices write their state as fields in a fixed order, explicitly little-endian (so a
 * software-engine snapshot does not depend on the host's byte order), into a growable buffer, and
 * read it back through a bounded reader whose error is sticky: a short input makes every later
 * read return 0 and vmk_sr_ok() false; nothing is ever read out of bounds. A state blob is
 * untrusted on load: check every value against the device's limits and call vmk_sr_fail. The VM
 * layer frames each component's blob with its name, a version and a checksum (src/vm/snapshot.c). */
typedef struct vmk_sbuf { uint8_t *data; size_t len, cap; } vmk_sbuf;
void vmk_sb_u8(vmk_sbuf *b, uint8_t v);
void vmk_sb_u16(vmk_sbuf *b, uint16_t v);
void vmk_sb_u32(vmk_sbuf *b, uint32_t v);
void vmk_sb_u64(vmk_sbuf *b, uint64_t v);
void vmk_sb_bytes(vmk_sbuf *b, const void *p, size_t n);
void vmk_sb_str(vmk_sbuf *b, const char *s);          /* u32 length + bytes (NULL = empty) */
void vmk_sb_free(vmk_sbuf *b);
typedef struct vmk_sread {
    const uint8_t *p;
    size_t len, off;
    bool failed;
    char err[200];
} vmk_sread;
void     vmk_sr_init(vmk_sread *r, const void *p, size_t len);
uint8_t  vmk_sr_u8(vmk_sread *r);
uint16_t vmk_sr_u16(vmk_sread *r);
uint32_t vmk_sr_u32(vmk_sread *r);
uint64_t vmk_sr_u64(vmk_sread *r);
bool     vmk_sr_bytes(vmk_sread *r, void *dst, size_t n);       /* false (and failed) when short */
/* Reads a string written by vmk_sb_str into dst (NUL-terminated); fails when longer than dstlen-1. */
bool     vmk_sr_str(vmk_sread *r, char *dst, size_t dstlen);
void     vmk_sr_fail(vmk_sread *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));  /* first wins */
static inline bool vmk_sr_ok(const vmk_sread *r) { return !r->failed; }
static inline bool vmk_sr_done(const vmk_sread *r) { return !r->failed && r->off == r->len; }
/* CRC-32C of a buffer (for state framing and the migration stream). */
uint32_t vmk_crc32c(uint32_t crc, const void *p, size_t n);
/* Writes a whole file durably: path.tmp, fsync, rename over path, fsync the directory.
 * 0 or -1 with err; on failure path is untouched and the temp file removed. */
int vmk_write_file_atomic(const char *path, const void *data, size_t len, char *err, size_t errlen);

/* ---------------- HTTP/1.1 for vmkit's JSON APIs (http.c) ----------------
 * A small server and client over stream sockets (unix or TCP). One thread accepts; each connection is
 * served on its own thread (thread kind "api"), keep-alive supported, requests bounded (16 KiB of
 * headers, 1 MiB of body, 10 s to read a request) and malformed ones answered 400 without reaching the
 * handler. The handler runs concurrently for different connections: it must do its own locking. */
typedef struct vmk_http_req {
    const char *method;            /* "GET", "PUT", "PATCH", "POST", "DELETE" */
    const char *path;              /* decoded path without the query, e.g. "/drives/rootfs" */
    const char *query;             /* after '?', or "" */
    const char *body;              /* NUL-terminated (may contain NULs before body_len) */
    size_t body_len;
    const char *content_type;      /* or "" */
} vmk_http_req;
typedef struct vmk_http_resp {
    int status;                    /* default 200 */
    char *body;                    /* malloc'd, freed by the server; NULL = empty body */
    const char *content_type;      /* default "application/json" */
} vmk_http_resp;
typedef void (*vmk_http_handler)(void *opaque, const vmk_http_req *req, vmk_http_resp *resp);
typedef struct vmk_http_server vmk_http_server;
/* Listens on a unix socket path (an existing stale socket is replaced; mode applied with chmod). */
vmk_http_server *vmk_http_listen_unix(const char *path, unsigned mode, vmk_http_handler h, void *opaque,
                                      char *err, size_t errlen);
/* Stops accepting, shuts every connection down for reading (a request being handled still gets its
 * response), joins the threads, unlinks the socket. */
void vmk_http_server_free(vmk_http_server *s);
/* Client: one request on a unix socket; returns the HTTP status (and *resp_body, malloc'd and
 * NUL-terminated, may be NULL when not wanted) or -1 with err (cannot connect, timeout, bad reply). */
int vmk_http_call_unix(const char *sock, const char *method, const char *path, const char *body,
                       char **resp_body, int timeout_ms, char *err, size_t errlen);
/* Helper: sets resp to status + {"fault_message": "<msg>"} (Firecracker's error body shape). */
void vmk_http_error(vmk_http_resp *resp, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
