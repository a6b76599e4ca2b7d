/* test_http.c — unit tests of the HTTP server and client (src/base/http.c): round trip, keep-alive,
 * pipelining, malformed and oversized requests, chunked bodies, slow clients, shutdown. */
#include "../test.h"
#include "base/base.h"
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

extern int vmk_http_read_timeout_ms;     /* http.c: shortened for the slow-client test */

static atomic_int g_calls;

static void handler(void *opaque, const vmk_http_req *req, vmk_http_resp *resp)
{
    (void)opaque;
    atomic_fetch_add(&g_calls, 1);
    if (!strcmp(req->path, "/err")) { vmk_http_error(resp, 400, "bad \"thing\" %d", 7); return; }
    if (!strcmp(req->path, "/none")) { resp->status = 204; return; }
    if (!strcmp(req->path, "/sleep")) { usleep(500000); resp->status = 204; return; }
    size_t n = strlen(req->method) + strlen(req->path) + strlen(req->query) + req->body_len + 16;
    resp->body = vmk_xmalloc(n);
    snprintf(resp->body, n, "%s|%s|%s|%s", req->method, req->path, req->query, req->body);
    resp->content_type = "text/plain";
}

static int connect_raw(const char *path)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) { close(fd); return -1; }
    return fd;
}

static void send_str(int fd, const char *s) { ssize_t r = write(fd, s, strlen(s)); (void)r; }

/* Reads until the peer closes or `until` appears (or timeout); returns a static buffer. */
static char *recv_until(int fd, const char *until, int timeout_ms)
{
    static char buf[8192];
    size_t have = 0;
    buf[0] = 0;
    uint64_t end = vmk_now_ns() + (uint64_t)timeout_ms * 1000000u;
    while (have < sizeof(buf) - 1) {
        uint64_t now = vmk_now_ns();
        if (now >= end) break;
        struct pollfd p = { .fd = fd, .events = POLLIN };
        if (poll(&p, 1, (int)((end - now) / 1000000 + 1)) <= 0) break;
        ssize_t n = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (n <= 0) break;
        have += (size_t)n;
        buf[have] = 0;
        if (until && strstr(buf, until)) break;
    }
    return buf;
}

struct slow_arg { const char *sock; int status; uint64_t ms; };
static void *fast_client(void *arg)
{
    struct slow_arg *a = arg;
    char err[VMK_ERRLEN];
    uint64_t t0 = vmk_now_ns();
    a->status = vmk_http_call_unix(a->sock, "GET", "/quick", NULL, NULL, 2000, err, sizeof(err));
    a->ms = (vmk_now_ns() - t0) / 1000000;
    return NULL;
}

int main(void)
{
    char sock[108], err[VMK_ERRLEN];
    snprintf(sock, sizeof(sock), "/tmp/vmk-test-http-%d.sock", (int)getpid());
    vmk_http_server *s = vmk_http_listen_unix(sock, 0600, handler, NULL, err, sizeof(err));

    TEST_BEGIN("http: listen on a unix socket with mode 0600");
    CHECK(s != NULL);
    struct stat st;
    CHECK(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0600);
    TEST_END();
    if (!s) { printf("  %s\n", err); TEST_EXIT(); }

    TEST_BEGIN("http: a socket in use by a live server is not taken over");
    vmk_http_server *s2 = vmk_http_listen_unix(sock, 0600, handler, NULL, err, sizeof(err));
    CHECK(s2 == NULL && strstr(err, "in use"));
    if (s2) vmk_http_server_free(s2);
    TEST_END();

    TEST_BEGIN("http: client round trip (method, decoded path, query, body)");
    char *body = NULL;
    int code = vmk_http_call_unix(sock, "PUT", "/a%20b/c?x=1&y=%20", "{\"k\": 1}", &body, 2000, err, sizeof(err));
    CHECK_EQ_U64(code, 200);
    CHECK(body && !strcmp(body, "PUT|/a b/c|x=1&y=%20|{\"k\": 1}"));
    free(body);
    body = NULL;
    code = vmk_http_call_unix(sock, "GET", "/none", NULL, &body, 2000, err, sizeof(err));
    CHECK_EQ_U64(code, 204);
    CHECK(body && !*body);
    free(body);
    TEST_END();

    TEST_BEGIN("http: error helper escapes the message as JSON");
    body = NULL;
    code = vmk_http_call_unix(sock, "GET", "/err", NULL, &body, 2000, err, sizeof(err));
    CHECK_EQ_U64(code, 400);
    CHECK(body && !strcmp(body, "{\"fault_message\":\"bad \\\"thing\\\" 7\"}"));
    free(body);
    TEST_END();

    TEST_BEGIN("http: keep-alive: two requests on one connection, then a pipelined pair");
    int fd = connect_raw(sock);
    CHECK(fd >= 0);
    send_str(fd, "GET /one HTTP/1.1\r\nHost: x\r\n\r\n");
    char *r = recv_until(fd, "GET|/one||", 2000);
    CHECK(strstr(r, "HTTP/1.1 200 OK\r\n") && strstr(r, "Content-Length: 10\r\n") && strstr(r, "Connection: keep-alive"));
    send_str(fd, "PUT /two HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc");
    r = recv_until(fd, "PUT|/two||abc", 2000);
    CHECK(strstr(r, "PUT|/two||abc") != NULL);
    send_str(fd, "GET /p1 HTTP/1.1\r\n\r\nGET /p2 HTTP/1.1\r\nConnection: close\r\n\r\n");
    r = recv_until(fd, NULL, 2000);            /* until the server closes after /p2 */
    CHECK(strstr(r, "GET|/p1||") && strstr(r, "GET|/p2||") && strstr(r, "Connection: close"));
    close(fd);
    TEST_END();

    struct { const char *name, *req, *status; } bad[] = {
        { "malformed request line", "GARBAGE\r\n\r\n", "HTTP/1.1 400 " },
        { "no HTTP version", "GET /\r\n\r\n", "HTTP/1.1 400 " },
        { "relative target", "GET x HTTP/1.1\r\n\r\n", "HTTP/1.1 400 " },
        { "bad percent escape", "GET /a%zz HTTP/1.1\r\n\r\n", "HTTP/1.1 400 " },
        { "encoded NUL", "GET /a%00 HTTP/1.1\r\n\r\n", "HTTP/1.1 400 " },
        { "header without colon", "GET / HTTP/1.1\r\nbroken\r\n\r\n", "HTTP/1.1 400 " },
        { "non-numeric Content-Length", "PUT / HTTP/1.1\r\nContent-Length: 1x\r\n\r\n", "HTTP/1.1 400 " },
        { "negative Content-Length", "PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400 " },
        { "oversized body", "PUT / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", "HTTP/1.1 413 " },
        { "huge Content-Length", "PUT / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n", "HTTP/1.1 413 " },
        { "chunked body", "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n", "HTTP/1.1 411 " },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char name[128];
        snprintf(name, sizeof(name), "http: %s is answered %.3s without reaching the handler", bad[i].name,
                 bad[i].status + 9);
        TEST_BEGIN(name);
        int before = atomic_load(&g_calls);
        fd = connect_raw(sock);
        send_str(fd, bad[i].req);
        r = recv_until(fd, NULL, 2000);
        CHECK(strncmp(r, bad[i].status, strlen(bad[i].status)) == 0);
        CHECK(strstr(r, "\"fault_message\"") != NULL);
        CHECK(atomic_load(&g_calls) == before);
        close(fd);
        TEST_END();
    }

    TEST_BEGIN("http: a 1 MiB body is accepted (with Expect: 100-continue)");
    fd = connect_raw(sock);
    send_str(fd, "PUT /big HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1048576\r\n\r\n");
    r = recv_until(fd, "\r\n\r\n", 2000);
    CHECK(strncmp(r, "HTTP/1.1 100 Continue", 21) == 0);
    char *big = vmk_xmalloc(1048576);
    memset(big, 'z', 1048576);
    size_t off = 0;
    while (off < 1048576) {
        ssize_t n = write(fd, big + off, 1048576 - off);
        if (n <= 0) break;
        off += (size_t)n;
    }
    free(big);
    r = recv_until(fd, "zzzz", 3000);
    CHECK(strncmp(r, "HTTP/1.1 200 OK", 15) == 0 && strstr(r, "Content-Length: 1048586"));
    close(fd);
    TEST_END();

    TEST_BEGIN("http: oversized request head is refused (431)");
    fd = connect_raw(sock);
    char *hdr = vmk_xmalloc(20000);
    memset(hdr, 'a', 19999);
    hdr[19999] = 0;
    memcpy(hdr, "GET / HTTP/1.1\r\nX: ", 19);
    send_str(fd, hdr);
    free(hdr);
    r = recv_until(fd, NULL, 2000);
    CHECK(strncmp(r, "HTTP/1.1 431 ", 13) == 0);
    close(fd);
    TEST_END();

    TEST_BEGIN("http: a slow client times out (408) without blocking other connections");
    vmk_http_read_timeout_ms = 1500;
    int slow = connect_raw(sock);
    send_str(slow, "GET / HTTP/1.1\r\nHost: sl");
    struct slow_arg fa = { .sock = sock };
    pthread_t th;
    pthread_create(&th, NULL, fast_client, &fa);
    pthread_join(th, NULL);
    CHECK_EQ_U64(fa.status, 200);
    CHECK(fa.ms < 1000);                     /* long before the slow one times out */
    uint64_t t0 = vmk_now_ns();
    r = recv_until(slow, NULL, 5000);
    uint64_t waited = (vmk_now_ns() - t0) / 1000000;
    CHECK(strncmp(r, "HTTP/1.1 408 ", 13) == 0);
    CHECK(waited < 3000);
    close(slow);
    vmk_http_read_timeout_ms = 10000;
    TEST_END();

    TEST_BEGIN("http: concurrent requests run on separate threads");
    uint64_t c0 = vmk_now_ns();
    int fds[4];
    for (int i = 0; i < 4; i++) {
        fds[i] = connect_raw(sock);
        send_str(fds[i], "GET /sleep HTTP/1.1\r\n\r\n");
    }
    for (int i = 0; i < 4; i++) {
        r = recv_until(fds[i], "\r\n\r\n", 3000);
        CHECK(strncmp(r, "HTTP/1.1 204 ", 13) == 0 && !strstr(r, "Content-Length"));
        close(fds[i]);
    }
    CHECK((vmk_now_ns() - c0) / 1000000 < 1500);   /* one after the other would take 2 s */
    TEST_END();

    TEST_BEGIN("http: client errors: no server, timeout");
    code = vmk_http_call_unix("/tmp/vmk-test-http-nonexistent.sock", "GET", "/", NULL, NULL, 500, err, sizeof(err));
    CHECK(code == -1 && strstr(err, "cannot connect"));
    code = vmk_http_call_unix(sock, "GET", "/sleep", NULL, NULL, 100, err, sizeof(err));
    CHECK(code == -1 && strstr(err, "timed out"));
    TEST_END();

    TEST_BEGIN("http: server free with open connections returns promptly, closes them, answers the request in progress");
    int idle = connect_raw(sock);
    int partial = connect_raw(sock);
    send_str(partial, "GET / HTT");
    int busy = connect_raw(sock);
    send_str(busy, "GET /sleep HTTP/1.1\r\n\r\n");
    usleep(50000);
    t0 = vmk_now_ns();
    vmk_http_server_free(s);
    uint64_t free_ms = (vmk_now_ns() - t0) / 1000000;
    CHECK(free_ms < 1500);
    r = recv_until(busy, NULL, 1000);
    CHECK(strncmp(r, "HTTP/1.1 204 ", 13) == 0);   /* the request in progress got its answer */
    close(busy);
    r = recv_until(idle, NULL, 1000);
    CHECK(r[0] == 0);                          /* EOF, nothing sent */
    close(idle);
    close(partial);
    CHECK(access(sock, F_OK) != 0);            /* socket unlinked */
    TEST_END();

    TEST_BEGIN("http: listen replaces a stale socket (nobody listening) and refuses a regular file");
    {   /* a stale socket: bound, then its owner gone without unlinking it */
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
        int st_fd = socket(AF_UNIX, SOCK_STREAM, 0);
        CHECK(bind(st_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
        close(st_fd);
    }
    s = vmk_http_listen_unix(sock, 0600, handler, NULL, err, sizeof(err));
    CHECK(s != NULL);
    vmk_http_server_free(s);
    FILE *f = fopen(sock, "w");
    if (f) fclose(f);
    s = vmk_http_listen_unix(sock, 0600, handler, NULL, err, sizeof(err));
    CHECK(s == NULL && strstr(err, "not a socket"));
    unlink(sock);
    TEST_END();

    TEST_EXIT();
}
