/* http.c — the small HTTP/1.1 server and client behind vmkit's JSON APIs (interface in base.h):
 * a unix-socket server (one accept thread, one thread per connection, keep-alive, Content-Length
 * bodies only, bounded requests, 400 for anything malformed before the handler sees it), a
 * one-request client with a timeout, and the Firecracker-style error body helper. */
#include "base.h"
#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define HTTP_MAX_HEADERS (16u << 10)
#define HTTP_MAX_BODY    (1u << 20)
#define HTTP_MAX_CONNS   64
#define HTTP_CLIENT_MAX  (16u << 20)

/* Time allowed to read one request once its first byte arrived, and to wait idle between requests
 * on a keep-alive connection. Not in base.h: tests shorten them. */
int vmk_http_read_timeout_ms = 10000;
int vmk_http_idle_timeout_ms = 300000;

typedef struct conn {
    int fd;
    pthread_t th;
    bool done;                     /* the thread has finished (joinable without blocking) */
    struct vmk_http_server *srv;
    struct conn *next;
} conn;

struct vmk_http_server {
    int lfd;
    char *path;
    vmk_http_handler h;
    void *opaque;
    pthread_t accept_th;
    pthread_mutex_t mu;
    conn *conns;
    unsigned nconns;
    bool stopping;
};

static const char *reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 413: return "Payload Too Large";
    case 415: return "Unsupported Media Type";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    default:  return "Unknown";
    }
}

void vmk_http_error(vmk_http_resp *resp, int status, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "fault_message", msg);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    free(resp->body);
    resp->body = s ? vmk_xstrdup(s) : NULL;   /* cJSON's allocator may not be ours: copy */
    if (s) cJSON_free(s);
    resp->status = status;
    resp->content_type = "application/json";
}

/* Writes all of buf; false on error (peer gone, shut down). */
static bool write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len) {
        ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* Waits for fd readable until deadline (ms clock, 0 = no deadline). 1 ready, 0 timeout, -1 error. */
static int wait_readable(int fd, uint64_t deadline_ns)
{
    for (;;) {
        int tmo = -1;
        if (deadline_ns) {
            uint64_t now = vmk_now_ns();
            if (now >= deadline_ns) return 0;
            tmo = (int)((deadline_ns - now + 999999) / 1000000);
        }
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int r = poll(&p, 1, tmo);
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return -1;
        if (r == 0) return 0;
        return 1;
    }
}

/* Appends up to room bytes read from fd. >0 bytes, 0 EOF, -1 error, -2 timeout. */
static ssize_t read_some(int fd, char *dst, size_t room, uint64_t deadline_ns)
{
    int w = wait_readable(fd, deadline_ns);
    if (w == 0) return -2;
    if (w < 0) return -1;
    for (;;) {
        ssize_t n = recv(fd, dst, room, 0);
        if (n < 0 && errno == EINTR) continue;
        return n < 0 ? -1 : n;
    }
}

static void send_response(int fd, const vmk_http_resp *r, bool keep_alive)
{
    size_t blen = r->body && r->status != 204 ? strlen(r->body) : 0;
    char head[512];
    int n;
    if (r->status == 204)
        n = snprintf(head, sizeof(head), "HTTP/1.1 204 No Content\r\nServer: vmkit\r\nConnection: %s\r\n\r\n",
                     keep_alive ? "keep-alive" : "close");
    else
        n = snprintf(head, sizeof(head),
                     "HTTP/1.1 %d %s\r\nServer: vmkit\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                     "Connection: %s\r\n\r\n",
                     r->status, reason(r->status), r->content_type ? r->content_type : "application/json", blen,
                     keep_alive ? "keep-alive" : "close");
    if (n < 0 || (size_t)n >= sizeof(head)) return;
    if (write_all(fd, head, (size_t)n) && blen) write_all(fd, r->body, blen);
}

static void send_error(int fd, int status, const char *msg)
{
    vmk_http_resp r = { .status = 200 };
    vmk_http_error(&r, status, "%s", msg);
    send_response(fd, &r, false);
    free(r.body);
}

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* In-place percent-decoding; false on a bad escape or an encoded NUL. */
static bool pct_decode(char *s)
{
    char *o = s;
    for (char *p = s; *p; p++) {
        if (*p != '%') { *o++ = *p; continue; }
        int hi = hexval(p[1]), lo = hi < 0 ? -1 : hexval(p[2]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) return false;
        *o++ = (char)(hi * 16 + lo);
        p += 2;
    }
    *o = 0;
    return true;
}

static bool is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

/* Parsed head of one request (pointers into the connection buffer). */
typedef struct head {
    char *method, *target, *query, *content_type;
    size_t content_length;
    bool keep_alive, expect_continue;
} head;

/* Parses the request head (NUL-terminated, without the final blank line). 0, or an HTTP status to
 * answer (and close) with *why set. */
static int parse_head(char *h, head *out, const char **why)
{
    memset(out, 0, sizeof(*out));
    out->content_type = "";
    out->query = "";
    char *line_end = strstr(h, "\r\n");
    if (line_end) *line_end = 0;
    /* request line: METHOD SP TARGET SP HTTP/1.x */
    char *sp1 = strchr(h, ' ');
    if (!sp1 || sp1 == h) { *why = "malformed request line"; return 400; }
    *sp1 = 0;
    for (char *p = h; *p; p++)
        if (!is_tchar((unsigned char)*p)) { *why = "malformed request method"; return 400; }
    char *target = sp1 + 1;
    char *sp2 = strchr(target, ' ');
    if (!sp2) { *why = "malformed request line"; return 400; }
    *sp2 = 0;
    const char *ver = sp2 + 1;
    if (strcmp(ver, "HTTP/1.1") && strcmp(ver, "HTTP/1.0")) { *why = "unsupported HTTP version"; return 400; }
    out->keep_alive = !strcmp(ver, "HTTP/1.1");
    if (target[0] != '/') { *why = "request target must be an absolute path"; return 400; }
    for (char *p = target; *p; p++)
        if ((unsigned char)*p <= 0x20 || (unsigned char)*p == 0x7f) { *why = "malformed request target"; return 400; }
    char *q = strchr(target, '?');
    if (q) { *q = 0; out->query = q + 1; }
    if (!pct_decode(target)) { *why = "bad percent-encoding in the path"; return 400; }
    out->method = h;
    out->target = target;

    bool have_len = false;
    for (char *line = line_end ? line_end + 2 : NULL; line && *line;) {
        char *end = strstr(line, "\r\n");
        if (end) *end = 0;
        char *colon = strchr(line, ':');
        if (!colon || colon == line) { *why = "malformed header line"; return 400; }
        *colon = 0;
        for (char *p = line; *p; p++)
            if (!is_tchar((unsigned char)*p)) { *why = "malformed header name"; return 400; }
        char *v = colon + 1;
        while (*v == ' ' || *v == '\t') v++;
        size_t vl = strlen(v);
        while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t')) v[--vl] = 0;
        for (char *p = v; *p; p++)
            if ((unsigned char)*p < 0x20 && *p != '\t') { *why = "malformed header value"; return 400; }
        if (!strcasecmp(line, "Content-Length")) {
            if (!*v) { *why = "malformed Content-Length"; return 400; }
            size_t n = 0;
            for (const char *p = v; *p; p++) {
                if (*p < '0' || *p > '9') { *why = "malformed Content-Length"; return 400; }
                if (n > HTTP_MAX_BODY) break;
                n = n * 10 + (size_t)(*p - '0');
            }
            if (have_len && n != out->content_length) { *why = "conflicting Content-Length headers"; return 400; }
            have_len = true;
            out->content_length = n;
        } else if (!strcasecmp(line, "Transfer-Encoding")) {
            *why = "Transfer-Encoding is not supported: send a Content-Length body";
            return 411;
        } else if (!strcasecmp(line, "Connection")) {
            if (strcasestr(v, "close")) out->keep_alive = false;
            else if (strcasestr(v, "keep-alive")) out->keep_alive = true;
        } else if (!strcasecmp(line, "Content-Type")) {
            out->content_type = v;
        } else if (!strcasecmp(line, "Expect")) {
            if (strcasecmp(v, "100-continue")) { *why = "unsupported Expect header"; return 400; }
            out->expect_continue = true;
        }
        line = end ? end + 2 : NULL;
    }
    if (out->content_length > HTTP_MAX_BODY) { *why = "request body too large (at most 1 MiB)"; return 413; }
    return 0;
}

static void *conn_main(void *arg)
{
    conn *c = arg;
    vmk_http_server *s = c->srv;
    vmk_thread_started("api");
    char *buf = vmk_xmalloc(HTTP_MAX_HEADERS + 1);
    size_t have = 0;
    for (;;) {
        /* read the head: idle wait for the first byte, then a bounded time for the rest */
        uint64_t deadline = 0;
        char *eoh;
        for (;;) {
            buf[have] = 0;
            if ((eoh = strstr(buf, "\r\n\r\n"))) break;
            if (have && memchr(buf, 0, have)) { send_error(c->fd, 400, "NUL byte in the request head"); goto out; }
            if (have >= HTTP_MAX_HEADERS) {
                send_error(c->fd, 431, "request head too large (at most 16 KiB)");
                goto out;
            }
            uint64_t now = vmk_now_ns();
            if (have && !deadline) deadline = now + (uint64_t)vmk_http_read_timeout_ms * 1000000u;
            uint64_t dl = deadline ? deadline : now + (uint64_t)vmk_http_idle_timeout_ms * 1000000u;
            ssize_t n = read_some(c->fd, buf + have, HTTP_MAX_HEADERS - have, dl);
            if (n == -2 && have) send_error(c->fd, 408, "timed out reading the request");
            if (n <= 0) goto out;
            if (!deadline) deadline = vmk_now_ns() + (uint64_t)vmk_http_read_timeout_ms * 1000000u;
            have += (size_t)n;
        }
        *eoh = 0;
        size_t head_len = (size_t)(eoh - buf) + 4;
        head h;
        const char *why = NULL;
        int st = parse_head(buf, &h, &why);
        if (st) { send_error(c->fd, st, why); goto out; }

        /* body */
        char *body = vmk_xmalloc(h.content_length + 1);
        size_t got = have - head_len < h.content_length ? have - head_len : h.content_length;
        memcpy(body, buf + head_len, got);
        if (got < h.content_length && h.expect_continue) {
            static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";
            write_all(c->fd, cont, sizeof(cont) - 1);
        }
        while (got < h.content_length) {
            ssize_t n = read_some(c->fd, body + got, h.content_length - got, deadline);
            if (n == -2) send_error(c->fd, 408, "timed out reading the request body");
            if (n <= 0) { free(body); goto out; }
            got += (size_t)n;
        }
        body[h.content_length] = 0;

        vmk_http_req req = { .method = h.method, .path = h.target, .query = h.query, .body = body,
                             .body_len = h.content_length, .content_type = h.content_type };
        vmk_http_resp resp = { .status = 200 };
        s->h(s->opaque, &req, &resp);
        if (resp.status < 100 || resp.status > 599) resp.status = 500;
        send_response(c->fd, &resp, h.keep_alive);
        free(resp.body);
        free(body);

        /* keep what followed this request (pipelining) */
        size_t used = head_len + (have - head_len < h.content_length ? have - head_len : h.content_length);
        memmove(buf, buf + used, have - used);
        have -= used;
        if (!h.keep_alive) break;
    }
out:
    free(buf);
    shutdown(c->fd, SHUT_WR);
    pthread_mutex_lock(&s->mu);
    c->done = true;
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

/* Joins and frees finished connections (called with s->mu held). */
static void reap(vmk_http_server *s)
{
    for (conn **pp = &s->conns; *pp;) {
        conn *c = *pp;
        if (!c->done) { pp = &c->next; continue; }
        *pp = c->next;
        pthread_join(c->th, NULL);
        close(c->fd);
        free(c);
        s->nconns--;
    }
}

static void *accept_main(void *arg)
{
    vmk_http_server *s = arg;
    vmk_thread_started("api");
    for (;;) {
        int fd = accept4(s->lfd, NULL, NULL, SOCK_CLOEXEC);
        pthread_mutex_lock(&s->mu);
        if (s->stopping) {
            pthread_mutex_unlock(&s->mu);
            if (fd >= 0) close(fd);
            break;
        }
        reap(s);
        if (fd < 0) {
            pthread_mutex_unlock(&s->mu);
            if (errno == EINTR || errno == ECONNABORTED) continue;
            if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) { usleep(100000); continue; }
            vmk_error("api: accept: %s", strerror(errno));
            break;
        }
        if (s->nconns >= HTTP_MAX_CONNS) {
            pthread_mutex_unlock(&s->mu);
            send_error(fd, 503, "too many connections");
            close(fd);
            continue;
        }
        conn *c = vmk_xcalloc(1, sizeof(*c));
        c->fd = fd;
        c->srv = s;
        if (pthread_create(&c->th, NULL, conn_main, c) != 0) {
            pthread_mutex_unlock(&s->mu);
            close(fd);
            free(c);
            continue;
        }
        c->next = s->conns;
        s->conns = c;
        s->nconns++;
        pthread_mutex_unlock(&s->mu);
    }
    return NULL;
}

vmk_http_server *vmk_http_listen_unix(const char *path, unsigned mode, vmk_http_handler h, void *opaque,
                                      char *err, size_t errlen)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (!path || !*path || strlen(path) >= sizeof(sa.sun_path)) {
        vmk_seterr(err, errlen, "API socket path '%s' is empty or too long", path ? path : "");
        return NULL;
    }
    strcpy(sa.sun_path, path);
    struct stat st;
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            vmk_seterr(err, errlen, "API socket path '%s' exists and is not a socket", path);
            return NULL;
        }
        int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        bool live = probe >= 0 && (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN);
        if (probe >= 0) close(probe);
        if (live) {
            vmk_seterr(err, errlen, "API socket '%s' is in use by a running process", path);
            return NULL;
        }
        unlink(path);                              /* a stale socket: nobody listens */
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) { vmk_seterr(err, errlen, "socket: %s", strerror(errno)); return NULL; }
    mode_t old = umask(0177);                     /* never world-accessible, even briefly */
    int r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (r < 0 || chmod(path, mode) < 0 || listen(fd, 64) < 0) {
        vmk_seterr(err, errlen, "API socket '%s': %s", path, strerror(errno));
        if (r == 0) unlink(path);
        close(fd);
        return NULL;
    }
    vmk_http_server *s = vmk_xcalloc(1, sizeof(*s));
    s->lfd = fd;
    s->path = vmk_xstrdup(path);
    s->h = h;
    s->opaque = opaque;
    pthread_mutex_init(&s->mu, NULL);
    /* server threads never take process signals (they go to the VMM's main thread) */
    sigset_t all, prev;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &prev);
    r = pthread_create(&s->accept_th, NULL, accept_main, s);
    pthread_sigmask(SIG_SETMASK, &prev, NULL);
    if (r != 0) {
        vmk_seterr(err, errlen, "cannot start the API thread: %s", strerror(r));
        close(fd);
        unlink(path);
        pthread_mutex_destroy(&s->mu);
        free(s->path);
        free(s);
        return NULL;
    }
    return s;
}

void vmk_http_server_free(vmk_http_server *s)
{
    if (!s) return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_mutex_unlock(&s->mu);
    shutdown(s->lfd, SHUT_RDWR);                   /* wakes accept() */
    pthread_join(s->accept_th, NULL);
    close(s->lfd);
    pthread_mutex_lock(&s->mu);
    /* reading side only: idle connections see EOF at once, while a request being handled still
     * gets its response (e.g. the 204 of a migration that makes the VMM exit) */
    for (conn *c = s->conns; c; c = c->next) shutdown(c->fd, SHUT_RD);
    conn *list = s->conns;
    s->conns = NULL;
    pthread_mutex_unlock(&s->mu);
    while (list) {                                 /* a handler in progress finishes first */
        conn *c = list;
        list = c->next;
        pthread_join(c->th, NULL);
        close(c->fd);
        free(c);
    }
    unlink(s->path);
    pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s);
}

/* ---------------- client ---------------- */

int vmk_http_call_unix(const char *sock, const char *method, const char *path, const char *body,
                       char **resp_body, int timeout_ms, char *err, size_t errlen)
{
    if (resp_body) *resp_body = NULL;
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (!sock || strlen(sock) >= sizeof(sa.sun_path)) {
        vmk_seterr(err, errlen, "socket path '%s' is too long", sock ? sock : "");
        return -1;
    }
    for (const char *p = path; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f) { vmk_seterr(err, errlen, "bad request path"); return -1; }
    for (const char *p = method; *p; p++)
        if (!is_tchar((unsigned char)*p)) { vmk_seterr(err, errlen, "bad request method"); return -1; }
    strcpy(sa.sun_path, sock);
    uint64_t deadline = vmk_now_ns() + (uint64_t)(timeout_ms > 0 ? timeout_ms : 10000) * 1000000u;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) { vmk_seterr(err, errlen, "socket: %s", strerror(errno)); return -1; }
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    if (r < 0 && errno == EAGAIN) {                /* backlog full: wait for room */
        while (r < 0 && errno == EAGAIN && vmk_now_ns() < deadline) {
            usleep(10000);
            r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
        }
    }
    if (r < 0) {
        vmk_seterr(err, errlen, "cannot connect to %s: %s", sock, strerror(errno));
        close(fd);
        return -1;
    }
    size_t blen = body ? strlen(body) : 0;
    char head[1024 + 256];
    int hn = snprintf(head, sizeof(head),
                      "%s %s HTTP/1.1\r\nHost: localhost\r\nAccept: application/json\r\n"
                      "%sContent-Length: %zu\r\nConnection: close\r\n\r\n",
                      method, path, body ? "Content-Type: application/json\r\n" : "", blen);
    if (hn < 0 || (size_t)hn >= sizeof(head)) {
        vmk_seterr(err, errlen, "request path too long");
        close(fd);
        return -1;
    }
    /* send (non-blocking socket: wait for room with the deadline) */
    const char *parts[2] = { head, body };
    size_t lens[2] = { (size_t)hn, blen };
    for (int i = 0; i < 2; i++) {
        size_t off = 0;
        while (off < lens[i]) {
            ssize_t n = send(fd, parts[i] + off, lens[i] - off, MSG_NOSIGNAL);
            if (n > 0) { off += (size_t)n; continue; }
            if (n < 0 && errno == EINTR) continue;
            if (n < 0 && errno == EAGAIN) {
                uint64_t now = vmk_now_ns();
                struct pollfd p = { .fd = fd, .events = POLLOUT };
                if (now < deadline && poll(&p, 1, (int)((deadline - now) / 1000000 + 1)) >= 0) continue;
                vmk_seterr(err, errlen, "timed out sending to %s", sock);
            } else {
                vmk_seterr(err, errlen, "cannot send to %s: %s", sock, strerror(errno));
            }
            close(fd);
            return -1;
        }
    }
    /* receive until the whole response is in (Content-Length) or EOF */
    size_t cap = 4096, have = 0;
    char *buf = vmk_xmalloc(cap + 1);
    int status = -1;
    size_t body_off = 0, want = SIZE_MAX;
    for (;;) {
        if (have == cap) {
            if (cap >= HTTP_CLIENT_MAX) { vmk_seterr(err, errlen, "response from %s too large", sock); goto fail; }
            cap *= 2;
            buf = realloc(buf, cap + 1);
            if (!buf) abort();
        }
        ssize_t n = read_some(fd, buf + have, cap - have, deadline);
        if (n == -2) { vmk_seterr(err, errlen, "timed out waiting for %s", sock); goto fail; }
        if (n < 0) { vmk_seterr(err, errlen, "reading from %s: %s", sock, strerror(errno)); goto fail; }
        have += (size_t)n;
        buf[have] = 0;
        if (!body_off) {
            char *eoh = strstr(buf, "\r\n\r\n");
            if (eoh) {
                int maj, min, code;
                if (sscanf(buf, "HTTP/%d.%d %d", &maj, &min, &code) != 3 || code < 100 || code > 599) {
                    vmk_seterr(err, errlen, "malformed response from %s", sock);
                    goto fail;
                }
                if (code == 100) {                 /* interim response: drop it */
                    size_t l = (size_t)(eoh - buf) + 4;
                    memmove(buf, buf + l, have - l);
                    have -= l;
                    buf[have] = 0;
                    if (n == 0) { vmk_seterr(err, errlen, "%s closed the connection", sock); goto fail; }
                    continue;
                }
                status = code;
                body_off = (size_t)(eoh - buf) + 4;
                if (code == 204 || code == 304) want = 0;
                *eoh = 0;
                for (char *l = strstr(buf, "\r\n"); l; l = strstr(l + 2, "\r\n")) {
                    if (!strncasecmp(l + 2, "Content-Length:", 15)) {
                        char *e;
                        unsigned long long v = strtoull(l + 17, &e, 10);
                        if (v > HTTP_CLIENT_MAX) { vmk_seterr(err, errlen, "response from %s too large", sock); goto fail; }
                        want = (size_t)v;
                    }
                }
                *eoh = '\r';
            }
        }
        if (body_off && want != SIZE_MAX && have - body_off >= want) break;
        if (n == 0) {
            if (!body_off || want != SIZE_MAX) {
                vmk_seterr(err, errlen, "%s closed the connection before the end of the response", sock);
                goto fail;
            }
            break;
        }
    }
    close(fd);
    if (resp_body) {
        size_t bl = want != SIZE_MAX ? want : have - body_off;
        memmove(buf, buf + body_off, bl);
        buf[bl] = 0;
        *resp_body = buf;
    } else {
        free(buf);
    }
    return status;
fail:
    free(buf);
    close(fd);
    return -1;
}
