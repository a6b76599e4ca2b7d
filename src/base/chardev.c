/* chardev.c — console back-ends (vmk_chardev from base.h): "stdio" (raw terminal when stdin is a tty,
 * restored on every exit path; Ctrl-A escapes like QEMU: C-a x quits, C-a C-a sends C-a, C-a h helps),
 * "socket=PATH" (listening unix socket, one client at a time; the last 64 KiB of output are kept and
 * each new client first gets that history, so nothing printed before it connected is missed;
 * "socket=PATH,log=FILE" also appends all output to FILE, rotated to FILE.1 at 8 MiB) and "null".
 * Input is read on the loop thread. */
#include "base.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

enum { CHR_NULL, CHR_STDIO, CHR_SOCKET };
#define CHR_READ_CHUNK 256
#define CHR_RING 65536u
#define CHR_LOG_MAX (8u << 20)

struct vmk_chardev {
    int kind;
    vmk_loop *loop;
    vmk_fn quit_cb;
    void *quit_opaque;
    pthread_mutex_t lock;          /* rx callback, client fd, output ring */
    vmk_chr_rx rx;
    void *rx_opaque;
    atomic_bool accepting;
    int in_fd;                     /* input fd (stdin or socket client), -1 if none */
    vmk_fd_cb in_cb;
    bool in_open;                  /* input source alive (no EOF, client connected) */
    bool in_watched;               /* registered with the loop: in_open && accepting (loop thread) */
    bool in_file;                  /* stdin is a regular file: read on a timer (epoll cannot watch it) */
    int in_timer;                  /* its timer id, 0 if none */
    int esc;                       /* stdio: saw Ctrl-A */
    int listen_fd;
    char *path;
    uint8_t *ring;                 /* socket: the last CHR_RING bytes of output */
    uint64_t out_total;            /* bytes ever written; the ring holds [out_total - ring_len, out_total) */
    size_t ring_len;
    uint64_t client_pos;           /* next output byte the connected client gets */
    int log_fd;                    /* socket,log=FILE: output tee, -1 if none */
    char *log_path;
    uint64_t log_size;
};

/* ---------- terminal state: restored at exit and on fatal signals ---------- */
static struct termios g_saved_tio;
static volatile sig_atomic_t g_tio_saved;

static void tty_restore(void)
{
    if (g_tio_saved) {
        tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_tio);
        g_tio_saved = 0;
    }
}

static void fatal_sig(int sig)
{
    tty_restore();               /* tcsetattr is async-signal-safe */
    signal(sig, SIG_DFL);
    raise(sig);
}

static void tty_raw(void)
{
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &t) != 0) return;
    g_saved_tio = t;
    g_tio_saved = 1;
    static bool hooks;
    if (!hooks) {
        hooks = true;
        atexit(tty_restore);
        int sigs[] = { SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGQUIT };
        for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
            struct sigaction sa, old;
            memset(&sa, 0, sizeof(sa));
            sa.sa_handler = fatal_sig;
            sigemptyset(&sa.sa_mask);
            sa.sa_flags = SA_RESETHAND;
            /* keep a handler somebody else (a sanitizer) installed */
            if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_DFL) sigaction(sigs[i], &sa, NULL);
        }
    }
    cfmakeraw(&t);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSANOW, &t);
}

/* ---------- helpers ---------- */
static void write_all_fd(int fd, const uint8_t *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);
        if (n > 0) { buf += n; len -= (size_t)n; continue; }
        if (n < 0 && errno == EINTR) continue;
        if (n < 0 && errno == EAGAIN) {
            struct pollfd p = { .fd = fd, .events = POLLOUT };
            if (poll(&p, 1, 100) <= 0) return;     /* do not stall the vCPU for long */
            continue;
        }
        return;                                   /* EPIPE etc.: output is lost */
    }
}

static void deliver(vmk_chardev *c, const uint8_t *buf, size_t len)
{
    if (!len) return;
    pthread_mutex_lock(&c->lock);
    vmk_chr_rx rx = c->rx;
    void *op = c->rx_opaque;
    if (rx) rx(op, buf, len);
    pthread_mutex_unlock(&c->lock);
}

static const char esc_help[] =
    "\r\nC-a h    print this help\r\nC-a x    exit vmkit\r\nC-a C-a  send C-a to the guest\r\n";

/* Escape processing for stdio: returns the number of bytes left in out[] to deliver. */
static size_t process_escapes(vmk_chardev *c, const uint8_t *in, size_t n, uint8_t *out, bool *quit)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b = in[i];
        if (c->esc) {
            c->esc = 0;
            if (b == 'x' || b == 'X') { *quit = true; return o; }
            if (b == 'h' || b == 'H' || b == '?') { write_all_fd(STDOUT_FILENO, (const uint8_t *)esc_help, sizeof(esc_help) - 1); continue; }
            if (b == 0x01) { out[o++] = 0x01; continue; }
            if (b == 'c' || b == 'C') continue;   /* no monitor */
            out[o++] = 0x01;                        /* unknown: pass both through */
            out[o++] = b;
            continue;
        }
        if (b == 0x01) { c->esc = 1; continue; }
        out[o++] = b;
    }
    return o;
}

static void file_tick(void *opaque);

/* Registers the input fd with the loop exactly when input is open and the front-end accepts bytes.
 * Pausing removes the fd instead of clearing its events, because epoll reports EPOLLHUP even with an
 * empty event mask (a pipe whose writer is gone would spin). Loop thread (or before the loop starts). */
static void update_watch(vmk_chardev *c)
{
    bool want = c->loop && c->in_open && c->in_fd >= 0 && atomic_load(&c->accepting);
    if (c->in_file) {
        if (c->in_open && !c->in_timer) c->in_timer = vmk_loop_add_timer(c->loop, vmk_now_ns() + 1000000, file_tick, c);
        return;
    }
    if (want && !c->in_watched) {
        if (vmk_loop_add_fd(c->loop, c->in_fd, EPOLLIN, c->in_cb, c) == 0) {
            c->in_watched = true;
        } else {
            struct stat st;
            c->in_open = false;
            if (fstat(c->in_fd, &st) == 0 && S_ISREG(st.st_mode)) {   /* a file: epoll cannot watch it */
                c->in_file = true;
                c->in_open = true;
                update_watch(c);
            }
        }
    } else if (!want && c->in_watched) {
        vmk_loop_del_fd(c->loop, c->in_fd);
        c->in_watched = false;
    }
}

static void stdio_in_cb(void *opaque, uint32_t revents);

/* Regular-file stdin: one chunk per millisecond while the front-end accepts (loop thread timer). */
static void file_tick(void *opaque)
{
    vmk_chardev *c = opaque;
    c->in_timer = 0;
    if (!c->in_open) return;
    if (atomic_load(&c->accepting)) {
        stdio_in_cb(c, EPOLLIN);             /* at EOF this clears in_open */
        if (!c->in_open) return;
    }
    c->in_timer = vmk_loop_add_timer(c->loop, vmk_now_ns() + 1000000, file_tick, c);
}

static void stop_input(vmk_chardev *c)     /* loop thread */
{
    c->in_open = false;
    update_watch(c);
}

static void ring_put(vmk_chardev *c, const uint8_t *buf, size_t len)   /* lock held */
{
    if (!c->ring) return;
    for (size_t i = 0; i < len; i++) c->ring[(c->out_total + i) % CHR_RING] = buf[i];
    c->out_total += len;
    c->ring_len = c->ring_len + len > CHR_RING ? CHR_RING : c->ring_len + len;
}

/* Sends the client what it has not seen yet without blocking; a client more than CHR_RING bytes
 * behind skips ahead. lock held. */
static void ring_flush(vmk_chardev *c)
{
    if (c->in_fd < 0 || !c->ring) return;
    uint64_t oldest = c->out_total - c->ring_len;
    if (c->client_pos < oldest) c->client_pos = oldest;
    while (c->client_pos < c->out_total) {
        size_t off = (size_t)(c->client_pos % CHR_RING);
        size_t chunk = CHR_RING - off;
        if (chunk > c->out_total - c->client_pos) chunk = (size_t)(c->out_total - c->client_pos);
        ssize_t n = send(c->in_fd, c->ring + off, chunk, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        c->client_pos += (uint64_t)n;
    }
}

/* Appends output to the log file; rotates it to FILE.1 past CHR_LOG_MAX. lock held. */
static void log_put(vmk_chardev *c, const uint8_t *buf, size_t len)
{
    if (c->log_fd < 0) return;
    if (c->log_size + len > CHR_LOG_MAX) {
        size_t n = strlen(c->log_path) + 3;
        char *old = vmk_xmalloc(n);
        snprintf(old, n, "%s.1", c->log_path);
        rename(c->log_path, old);
        free(old);
        int fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd >= 0) { close(c->log_fd); c->log_fd = fd; }
        c->log_size = 0;
    }
    write_all_fd(c->log_fd, buf, len);
    c->log_size += len;
}

/* ---------- input callbacks (loop thread) ---------- */
static void stdio_in_cb(void *opaque, uint32_t revents)
{
    vmk_chardev *c = opaque;
    uint8_t buf[CHR_READ_CHUNK], out[CHR_READ_CHUNK * 2];
    (void)revents;
    ssize_t n = read(c->in_fd, buf, sizeof(buf));
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) { stop_input(c); return; }       /* EOF or error: the guest just gets no more input */
    bool quit = false;
    size_t o = process_escapes(c, buf, (size_t)n, out, &quit);
    deliver(c, out, o);
    if (quit && c->quit_cb) c->quit_cb(c->quit_opaque);
}

static void drop_client(vmk_chardev *c)     /* loop thread */
{
    stop_input(c);
    pthread_mutex_lock(&c->lock);
    if (c->in_fd >= 0) close(c->in_fd);
    c->in_fd = -1;
    pthread_mutex_unlock(&c->lock);
}

static void sock_client_cb(void *opaque, uint32_t revents)
{
    vmk_chardev *c = opaque;
    uint8_t buf[CHR_READ_CHUNK];
    ssize_t n = recv(c->in_fd, buf, sizeof(buf), MSG_DONTWAIT);
    if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;
    if (n <= 0) { drop_client(c); return; }
    deliver(c, buf, (size_t)n);
    (void)revents;
}

static void sock_listen_cb(void *opaque, uint32_t revents)
{
    vmk_chardev *c = opaque;
    (void)revents;
    int fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) return;
    if (c->in_fd >= 0) { close(fd); return; }   /* one client at a time */
    pthread_mutex_lock(&c->lock);
    c->in_fd = fd;
    c->client_pos = 0;                       /* start with the history */
    ring_flush(c);
    pthread_mutex_unlock(&c->lock);
    c->in_cb = sock_client_cb;
    c->in_open = true;
    update_watch(c);
}

static void apply_accept(void *opaque) { update_watch(opaque); }   /* loop thread */

/* ---------- public API ---------- */
vmk_chardev *vmk_chr_open(const char *spec, vmk_loop *loop, vmk_fn quit_cb, void *quit_opaque,
                          char *err, size_t errlen)
{
    if (!spec) spec = "stdio";
    vmk_chardev *c = vmk_xcalloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->loop = loop;
    c->quit_cb = quit_cb;
    c->quit_opaque = quit_opaque;
    c->in_fd = -1;
    c->listen_fd = -1;
    c->log_fd = -1;
    atomic_store(&c->accepting, true);
    if (strcmp(spec, "null") == 0) {
        c->kind = CHR_NULL;
        return c;
    }
    if (strcmp(spec, "stdio") == 0) {
        c->kind = CHR_STDIO;
        c->in_fd = STDIN_FILENO;
        c->in_cb = stdio_in_cb;
        c->in_open = true;
        if (isatty(STDIN_FILENO)) tty_raw();
        /* a regular file or /dev/null cannot be polled with epoll: the guest simply gets no input */
        update_watch(c);
        return c;
    }
    if (strncmp(spec, "socket=", 7) == 0) {
        char *pathbuf = NULL;
        const char *path = spec + 7, *logopt = strstr(path, ",log=");
        if (logopt) {
            if (!logopt[5]) {
                vmk_seterr(err, errlen, "console '%s': empty log file name", spec);
                goto fail;
            }
            pathbuf = vmk_xstrdup(path);
            pathbuf[logopt - path] = 0;
            c->log_path = vmk_xstrdup(logopt + 5);
            path = pathbuf;
            c->log_fd = open(c->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
            struct stat lst;
            if (c->log_fd < 0 || fstat(c->log_fd, &lst) != 0) {
                vmk_seterr(err, errlen, "console log '%s': %s", c->log_path, strerror(errno));
                free(pathbuf);
                goto fail;
            }
            c->log_size = (uint64_t)lst.st_size;
        }
        c->path = vmk_xstrdup(path);
        free(pathbuf);
        path = c->path;
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        if (!*path || strlen(path) >= sizeof(sa.sun_path)) {
            vmk_seterr(err, errlen, "console socket path '%s' is empty or too long", path);
            goto fail;
        }
        struct stat st;
        bool exists = lstat(path, &st) == 0;
        if (exists && !S_ISSOCK(st.st_mode)) {
            vmk_seterr(err, errlen, "console socket path '%s' exists and is not a socket", path);
            goto fail;
        }
        memcpy(sa.sun_path, path, strlen(path) + 1);
        if (exists) {
            /* an existing socket: in use if something accepts connections on it, else stale */
            int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            bool live = probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0;
            if (probe >= 0) close(probe);
            if (live) {
                vmk_seterr(err, errlen, "console socket '%s' is in use by another program", path);
                goto fail;
            }
            unlink(path);
        }
        c->kind = CHR_SOCKET;
        c->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (c->listen_fd < 0 || bind(c->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
            listen(c->listen_fd, 1) != 0) {
            vmk_seterr(err, errlen, "cannot listen on console socket '%s': %s", path, strerror(errno));
            goto fail;
        }
        c->ring = vmk_xmalloc(CHR_RING);
        if (loop && vmk_loop_add_fd(loop, c->listen_fd, EPOLLIN, sock_listen_cb, c) != 0) {
            vmk_seterr(err, errlen, "cannot watch console socket '%s'", path);
            goto fail;
        }
        return c;
    }
    vmk_seterr(err, errlen, "unknown console '%s' (use stdio, socket=PATH or null)", spec);
fail:
    if (c->listen_fd >= 0) close(c->listen_fd);
    if (c->log_fd >= 0) close(c->log_fd);
    free(c->log_path);
    free(c->path);
    free(c->ring);
    pthread_mutex_destroy(&c->lock);
    free(c);
    return NULL;
}

void vmk_chr_set_rx(vmk_chardev *c, vmk_chr_rx rx, void *opaque)
{
    if (!c) return;
    pthread_mutex_lock(&c->lock);
    c->rx = rx;
    c->rx_opaque = opaque;
    pthread_mutex_unlock(&c->lock);
}

void vmk_chr_accept(vmk_chardev *c, bool can_accept)
{
    if (!c || c->kind == CHR_NULL) return;
    bool old = atomic_exchange(&c->accepting, can_accept);
    if (old != can_accept && c->loop) {
        if (vmk_loop_on_thread(c->loop)) apply_accept(c);
        else vmk_loop_call(c->loop, apply_accept, c);
    }
}

void vmk_chr_write(vmk_chardev *c, const uint8_t *buf, size_t len)
{
    if (!c || !len) return;
    switch (c->kind) {
    case CHR_STDIO:
        write_all_fd(STDOUT_FILENO, buf, len);
        break;
    case CHR_SOCKET:
        pthread_mutex_lock(&c->lock);
        ring_put(c, buf, len);
        ring_flush(c);
        log_put(c, buf, len);
        pthread_mutex_unlock(&c->lock);
        break;
    default:
        break;
    }
}

void vmk_chr_close(vmk_chardev *c)
{
    if (!c) return;
    if (c->in_timer && c->loop) vmk_loop_del_timer(c->loop, c->in_timer);
    if (c->in_watched && c->loop) vmk_loop_del_fd(c->loop, c->in_fd);
    if (c->kind == CHR_STDIO) {
        tty_restore();
    } else if (c->kind == CHR_SOCKET) {
        if (c->loop && c->listen_fd >= 0) vmk_loop_del_fd(c->loop, c->listen_fd);
        if (c->in_fd >= 0) close(c->in_fd);
        if (c->listen_fd >= 0) close(c->listen_fd);
        if (c->path) unlink(c->path);
        if (c->log_fd >= 0) close(c->log_fd);
    }
    free(c->log_path);
    free(c->path);
    free(c->ring);
    pthread_mutex_destroy(&c->lock);
    free(c);
}
