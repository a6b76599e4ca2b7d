/* loop.c — the I/O event loop from base.h: one thread running epoll over registered fds, one-shot
 * CLOCK_MONOTONIC timers, a thread-safe vmk_loop_call queue woken through an eventfd, and per-iteration
 * poll hooks (libslirp). Iteration order: pre hooks -> epoll_wait -> fd callbacks -> post hooks ->
 * expired timers -> queued calls. Tables are protected by one mutex that is never held across a
 * callback, so callbacks may add/remove fds and timers and queue calls freely. */
#include "base.h"
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

typedef struct loop_fd { int fd; uint32_t events; vmk_fd_cb cb; void *opaque; } loop_fd;
typedef struct loop_timer { int id; uint64_t deadline; vmk_fn cb; void *opaque; } loop_timer;
typedef struct loop_call { vmk_fn fn; void *opaque; struct loop_call *next; } loop_call;
typedef struct loop_hook { vmk_poll_hook pre; vmk_fn post; void *opaque; } loop_hook;

struct vmk_loop {
    int epfd, evfd;
    pthread_mutex_t mtx;
    loop_fd *fds; size_t nfds, capfds;
    loop_timer *timers; size_t ntimers, captimers;
    int next_timer_id;
    loop_call *calls_head, *calls_tail;
    loop_hook *hooks; size_t nhooks, caphooks;
    pthread_t thread;
    bool running, stop;
    /* what the loop thread is dispatching right now, so that del_fd/del_timer from another thread can
     * wait for a running callback to finish (after they return, the callback never runs) */
    pthread_cond_t idle_cv;
    int busy_fd, busy_timer;
    /* vmk_loop_pause: pause_req counts pausers; the loop thread parks between iterations while it is
     * non-zero and says so through parked (pause_cv wakes both sides) */
    int pause_req;
    bool parked;
    pthread_cond_t pause_cv;
};

void (*vmk_thread_hook)(const char *kind);

static __thread vmk_loop *cur_loop;   /* the loop whose thread this is */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void *grow(void *p, size_t *cap, size_t need, size_t elsz)
{
    if (need <= *cap) return p;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need) n *= 2;
    void *q = realloc(p, n * elsz);
    if (!q) abort();
    *cap = n;
    return q;
}

static void wake(vmk_loop *l)
{
    uint64_t one = 1;
    ssize_t r = write(l->evfd, &one, sizeof one);
    (void)r;   /* EAGAIN means the counter is already non-zero: the loop will wake anyway */
}

vmk_loop *vmk_loop_new(void)
{
    vmk_loop *l = calloc(1, sizeof *l);
    if (!l) return NULL;
    l->epfd = epoll_create1(EPOLL_CLOEXEC);
    l->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (l->epfd < 0 || l->evfd < 0) {
        if (l->epfd >= 0) close(l->epfd);
        if (l->evfd >= 0) close(l->evfd);
        free(l);
        return NULL;
    }
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = l->evfd };
    if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->evfd, &ev) < 0) {
        close(l->epfd); close(l->evfd); free(l);
        return NULL;
    }
    pthread_mutex_init(&l->mtx, NULL);
    pthread_cond_init(&l->idle_cv, NULL);
    pthread_cond_init(&l->pause_cv, NULL);
    l->busy_fd = -1;
    l->next_timer_id = 1;
    return l;
}

void vmk_loop_free(vmk_loop *l)
{
    if (!l) return;
    vmk_loop_stop(l);
    for (loop_call *c = l->calls_head, *n; c; c = n) { n = c->next; free(c); }
    close(l->epfd);
    close(l->evfd);
    pthread_mutex_destroy(&l->mtx);
    pthread_cond_destroy(&l->idle_cv);
    pthread_cond_destroy(&l->pause_cv);
    free(l->fds); free(l->timers); free(l->hooks);
    free(l);
}

static ssize_t find_fd(vmk_loop *l, int fd)
{
    for (size_t i = 0; i < l->nfds; i++)
        if (l->fds[i].fd == fd) return (ssize_t)i;
    return -1;
}

/* epoll registration tolerant of stale state: an fd closed and reopened under the same number has
 * silently left the epoll set, so MOD falls back to ADD and ADD falls back to MOD. */
static int ep_set(vmk_loop *l, int fd, uint32_t events)
{
    struct epoll_event ev = { .events = events, .data.fd = fd };
    if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) return 0;
    if (errno == ENOENT && epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == 0) return 0;
    return -1;
}

int vmk_loop_add_fd(vmk_loop *l, int fd, uint32_t events, vmk_fd_cb cb, void *opaque)
{
    if (fd < 0 || fd == l->evfd || !cb) return -1;
    pthread_mutex_lock(&l->mtx);
    ssize_t i = find_fd(l, fd);
    bool known = i >= 0;
    int r;
    if (known) r = ep_set(l, fd, events);             /* re-registering: usually one syscall */
    else {
        struct epoll_event ev = { .events = events, .data.fd = fd };
        r = epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev);
        if (r < 0 && errno == EEXIST) r = epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev);
    }
    if (r == 0) {
        if (!known) {
            l->fds = grow(l->fds, &l->capfds, l->nfds + 1, sizeof *l->fds);
            i = (ssize_t)l->nfds++;
        }
        l->fds[i] = (loop_fd){ fd, events, cb, opaque };
    }
    pthread_mutex_unlock(&l->mtx);
    if (r == 0 && !vmk_loop_on_thread(l)) wake(l);
    return r < 0 ? -1 : 0;
}

int vmk_loop_mod_fd(vmk_loop *l, int fd, uint32_t events)
{
    pthread_mutex_lock(&l->mtx);
    ssize_t i = find_fd(l, fd);
    int r = -1;
    if (i >= 0) {
        r = ep_set(l, fd, events);
        if (r == 0) l->fds[i].events = events;
    }
    pthread_mutex_unlock(&l->mtx);
    return r;
}

void vmk_loop_del_fd(vmk_loop *l, int fd)
{
    pthread_mutex_lock(&l->mtx);
    ssize_t i = find_fd(l, fd);
    if (i >= 0) {
        l->fds[i] = l->fds[--l->nfds];
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);   /* may fail if already closed: fine */
    }
    if (cur_loop != l)
        while (l->busy_fd == fd) pthread_cond_wait(&l->idle_cv, &l->mtx);
    pthread_mutex_unlock(&l->mtx);
}

/* Internal (used by devices that manage fds they do not always close themselves, e.g. slirp's):
 * removes fd only if it is still registered with this opaque. */
void vmk_loop_del_fd_owned(vmk_loop *l, int fd, void *opaque);
void vmk_loop_del_fd_owned(vmk_loop *l, int fd, void *opaque)
{
    pthread_mutex_lock(&l->mtx);
    ssize_t i = find_fd(l, fd);
    if (i >= 0 && l->fds[i].opaque == opaque) {
        l->fds[i] = l->fds[--l->nfds];
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
    }
    pthread_mutex_unlock(&l->mtx);
}

int vmk_loop_add_timer(vmk_loop *l, uint64_t deadline_ns, vmk_fn cb, void *opaque)
{
    pthread_mutex_lock(&l->mtx);
    l->timers = grow(l->timers, &l->captimers, l->ntimers + 1, sizeof *l->timers);
    int id = l->next_timer_id++;
    if (l->next_timer_id <= 0) l->next_timer_id = 1;
    l->timers[l->ntimers++] = (loop_timer){ id, deadline_ns, cb, opaque };
    pthread_mutex_unlock(&l->mtx);
    if (!vmk_loop_on_thread(l)) wake(l);
    return id;
}

void vmk_loop_del_timer(vmk_loop *l, int id)
{
    pthread_mutex_lock(&l->mtx);
    for (size_t i = 0; i < l->ntimers; i++)
        if (l->timers[i].id == id) { l->timers[i] = l->timers[--l->ntimers]; break; }
    if (cur_loop != l)
        while (l->busy_timer == id) pthread_cond_wait(&l->idle_cv, &l->mtx);
    pthread_mutex_unlock(&l->mtx);
}

void vmk_loop_call(vmk_loop *l, vmk_fn fn, void *opaque)
{
    loop_call *c = malloc(sizeof *c);
    if (!c) abort();
    c->fn = fn; c->opaque = opaque; c->next = NULL;
    pthread_mutex_lock(&l->mtx);
    if (l->calls_tail) l->calls_tail->next = c; else l->calls_head = c;
    l->calls_tail = c;
    pthread_mutex_unlock(&l->mtx);
    wake(l);
}

void vmk_loop_add_poll_hook(vmk_loop *l, vmk_poll_hook pre, vmk_fn post, void *opaque)
{
    pthread_mutex_lock(&l->mtx);
    l->hooks = grow(l->hooks, &l->caphooks, l->nhooks + 1, sizeof *l->hooks);
    l->hooks[l->nhooks++] = (loop_hook){ pre, post, opaque };
    pthread_mutex_unlock(&l->mtx);
    if (!vmk_loop_on_thread(l)) wake(l);
}

/* Internal (used by devices at teardown): removes every hook registered with this opaque. */
void vmk_loop_del_poll_hooks(vmk_loop *l, void *opaque);
void vmk_loop_del_poll_hooks(vmk_loop *l, void *opaque)
{
    pthread_mutex_lock(&l->mtx);
    for (size_t i = 0; i < l->nhooks;)
        if (l->hooks[i].opaque == opaque) {
            memmove(&l->hooks[i], &l->hooks[i + 1], (l->nhooks - i - 1) * sizeof *l->hooks);
            l->nhooks--;
        } else i++;
    pthread_mutex_unlock(&l->mtx);
}

static void run_hooks(vmk_loop *l, bool pre, int *timeout_ms)
{
    for (size_t i = 0;; i++) {
        pthread_mutex_lock(&l->mtx);
        if (i >= l->nhooks) { pthread_mutex_unlock(&l->mtx); break; }
        loop_hook h = l->hooks[i];
        pthread_mutex_unlock(&l->mtx);
        if (pre && h.pre) h.pre(h.opaque, timeout_ms);
        if (!pre && h.post) h.post(h.opaque);
    }
}

static void run_timers(vmk_loop *l)
{
    uint64_t now = now_ns();
    for (;;) {
        pthread_mutex_lock(&l->mtx);
        size_t best = l->ntimers;
        for (size_t i = 0; i < l->ntimers; i++)
            if (l->timers[i].deadline <= now && (best == l->ntimers || l->timers[i].deadline < l->timers[best].deadline))
                best = i;
        if (best == l->ntimers) { pthread_mutex_unlock(&l->mtx); return; }
        loop_timer t = l->timers[best];
        l->timers[best] = l->timers[--l->ntimers];
        l->busy_timer = t.id;
        pthread_mutex_unlock(&l->mtx);
        t.cb(t.opaque);
        pthread_mutex_lock(&l->mtx);
        l->busy_timer = 0;
        pthread_cond_broadcast(&l->idle_cv);
        pthread_mutex_unlock(&l->mtx);
    }
}

static void run_calls(vmk_loop *l)
{
    pthread_mutex_lock(&l->mtx);
    loop_call *c = l->calls_head;
    l->calls_head = l->calls_tail = NULL;
    pthread_mutex_unlock(&l->mtx);
    while (c) {
        loop_call *n = c->next;
        c->fn(c->opaque);
        free(c);
        c = n;
    }
}

static int compute_timeout(vmk_loop *l)
{
    int timeout = -1;
    pthread_mutex_lock(&l->mtx);
    if (l->calls_head) timeout = 0;
    else if (l->ntimers) {
        uint64_t min = UINT64_MAX, now = now_ns();
        for (size_t i = 0; i < l->ntimers; i++)
            if (l->timers[i].deadline < min) min = l->timers[i].deadline;
        if (min <= now) timeout = 0;
        else {
            uint64_t ms = (min - now + 999999) / 1000000;
            timeout = ms > 60000 ? 60000 : (int)ms;
        }
    }
    pthread_mutex_unlock(&l->mtx);
    return timeout;
}

/* One iteration; returns false when asked to stop. */
static bool loop_iterate(vmk_loop *l)
{
    int htimeout = -1;
    run_hooks(l, true, &htimeout);
    int timeout = compute_timeout(l);              /* after the hooks: they may add timers */
    if (htimeout >= 0 && (timeout < 0 || htimeout < timeout)) timeout = htimeout;
    struct epoll_event evs[64];
    int n = epoll_wait(l->epfd, evs, 64, timeout);
    if (n < 0) n = 0;   /* EINTR */
    for (int i = 0; i < n; i++) {
        int fd = evs[i].data.fd;
        if (fd == l->evfd) {
            uint64_t v;
            ssize_t r = read(l->evfd, &v, sizeof v);
            (void)r;
            continue;
        }
        pthread_mutex_lock(&l->mtx);
        ssize_t k = find_fd(l, fd);
        loop_fd f = k >= 0 ? l->fds[k] : (loop_fd){ -1, 0, NULL, NULL };
        if (f.cb) l->busy_fd = fd;
        pthread_mutex_unlock(&l->mtx);
        if (!f.cb) continue;                       /* fd deleted meanwhile: skipped */
        f.cb(f.opaque, evs[i].events);
        pthread_mutex_lock(&l->mtx);
        l->busy_fd = -1;
        pthread_cond_broadcast(&l->idle_cv);
        pthread_mutex_unlock(&l->mtx);
    }
    run_hooks(l, false, NULL);
    run_timers(l);
    run_calls(l);
    pthread_mutex_lock(&l->mtx);
    bool stop = l->stop;
    pthread_mutex_unlock(&l->mtx);
    return !stop;
}

static void park_if_paused(vmk_loop *l)
{
    pthread_mutex_lock(&l->mtx);
    if (l->pause_req && !l->stop) {
        l->parked = true;
        pthread_cond_broadcast(&l->pause_cv);
        while (l->pause_req && !l->stop) pthread_cond_wait(&l->pause_cv, &l->mtx);
        l->parked = false;
    }
    pthread_mutex_unlock(&l->mtx);
}

static void *loop_thread(void *arg)
{
    vmk_loop *l = arg;
    cur_loop = l;
    vmk_thread_started("io");
    do park_if_paused(l); while (loop_iterate(l));
    cur_loop = NULL;
    return NULL;
}

int vmk_loop_start(vmk_loop *l)
{
    pthread_mutex_lock(&l->mtx);
    if (l->running) { pthread_mutex_unlock(&l->mtx); return 0; }
    l->stop = false;
    int r = pthread_create(&l->thread, NULL, loop_thread, l);
    if (r == 0) l->running = true;
    pthread_mutex_unlock(&l->mtx);
    return r == 0 ? 0 : -1;
}

void vmk_loop_stop(vmk_loop *l)
{
    pthread_mutex_lock(&l->mtx);
    if (!l->running || pthread_equal(pthread_self(), l->thread)) { pthread_mutex_unlock(&l->mtx); return; }
    l->stop = true;
    pthread_cond_broadcast(&l->pause_cv);
    pthread_mutex_unlock(&l->mtx);
    wake(l);
    pthread_join(l->thread, NULL);
    pthread_mutex_lock(&l->mtx);
    l->running = false;
    pthread_mutex_unlock(&l->mtx);
    /* calls queued before the stop request ran in the last iteration; run any queued since, here */
    cur_loop = l;
    run_calls(l);
    cur_loop = NULL;
}

void vmk_loop_pause(vmk_loop *l)
{
    pthread_mutex_lock(&l->mtx);
    l->pause_req++;
    bool wait = l->running && !pthread_equal(pthread_self(), l->thread);
    pthread_mutex_unlock(&l->mtx);
    if (!wait) return;
    wake(l);
    pthread_mutex_lock(&l->mtx);
    while (l->running && !l->parked && !l->stop) pthread_cond_wait(&l->pause_cv, &l->mtx);
    pthread_mutex_unlock(&l->mtx);
}

void vmk_loop_resume(vmk_loop *l)
{
    pthread_mutex_lock(&l->mtx);
    if (l->pause_req > 0) l->pause_req--;
    pthread_cond_broadcast(&l->pause_cv);
    pthread_mutex_unlock(&l->mtx);
}

bool vmk_loop_on_thread(vmk_loop *l)
{
    return cur_loop == l;
}
