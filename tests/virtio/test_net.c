/* test_net.c — unit tests for virtio-net: --net spec parsing (good and bad specs, one-line errors
 * naming the bad part), the libslirp back-end driven through the rings (guest ARP request answered by
 * the 10.0.2.2 gateway; a host TCP connect to a hostfwd port arrives at the guest as a SYN, which needs
 * the loop's poll hooks), and the TAP back-end's clear error when it cannot be opened. */
#include "../test.h"
#include "vdriver.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

static void test_parse(void)
{
    char err[VMK_ERRLEN];
    TEST_BEGIN("net_parse_spec_good");
    static const char *good[] = { "user", "user,hostfwd=tcp::8080-:80", "tap=tap0",
        "user,hostfwd=tcp:127.0.0.1:8080-:80,hostfwd=udp::5353-10.0.2.15:53", "user,hostfwd=tcp:0.0.0.0:2222-10.0.2.15:22" };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        err[0] = 0;
        int r = virtio_net_parse_spec(good[i], err, sizeof err);
        if (r != 0) printf("  spec '%s' refused: %s\n", good[i], err);
        CHECK(r == 0);
    }
    TEST_END();
    TEST_BEGIN("net_parse_spec_bad");
    static const struct { const char *spec, *mention; } bad[] = {
        { "", "empty" }, { "usr", "usr" }, { "user,foo=1", "foo=1" }, { "user,hostfwd=tcp::0-:80", "hostfwd=tcp::0-:80" },
        { "user,hostfwd=tcp::8080", "hostfwd=tcp::8080" }, { "user,hostfwd=icmp::1-:2", "icmp" },
        { "user,hostfwd=tcp::8080-:99999", "99999" }, { "user,hostfwd=tcp:1.2.3:80-:80", "1.2.3" },
        { "tap=", "tap" }, { "tap=a/b", "a/b" }, { "tap=averyveryverylongname0", "averyvery" }, { "user,", "" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        int r = virtio_net_parse_spec(bad[i].spec, err, sizeof err);
        if (r == 0 || !strstr(err, bad[i].mention) || strchr(err, '\n'))
            printf("  spec '%s': r=%d err='%s'\n", bad[i].spec, r, err);
        CHECK(r < 0 && strstr(err, bad[i].mention) && !strchr(err, '\n'));
    }
    TEST_END();
}

#define RXBUF (RAM_BASE + 0x20000)
#define TXBUF (RAM_BASE + 0x30000)
static const uint8_t gmac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };

static void post_rx(virtio_dev *d, int n)
{
    for (int i = 0; i < n; i++) {
        seg s = { RXBUF + 2048ull * (unsigned)(gqs[0].avail_idx % 8), 2048, true };
        post(d, 0, &s, 1);
    }
}

/* waits for the next RX frame; returns its payload (after the 12-byte header) and length */
static uint8_t *next_rx(uint32_t *len)
{
    uint16_t used_before = gqs[0].used_seen;
    int64_t l = wait_used(0, NULL);
    if (l < 0) return NULL;
    uint32_t *ent = g(gqs[0].used + 4 + 8ull * (used_before % gqs[0].num));
    /* the descriptor index is the avail slot we used: buffer address is in the descriptor table */
    uint64_t addr;
    memcpy(&addr, g(gqs[0].desc + 16ull * ent[0]), 8);
    *len = (uint32_t)l - 12;
    return (uint8_t *)g(addr) + 12;
}

static int free_port(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof a;
    if (bind(s, (struct sockaddr *)&a, sizeof a) < 0 || getsockname(s, (struct sockaddr *)&a, &al) < 0) { close(s); return -1; }
    close(s);
    return ntohs(a.sin_port);
}

static void test_user(void)
{
    char err[VMK_ERRLEN], spec[96];
    int port = free_port();
    snprintf(spec, sizeof spec, "user,hostfwd=tcp::%d-:80", port);
    TEST_BEGIN("net_user_arp_and_hostfwd");
    virtio_dev *d = virtio_net_new(env(), spec, gmac, err, sizeof err);
    CHECK(d != NULL);
    if (!d) { printf("  %s\n", err); TEST_END(); return; }
    CHECK_EQ_U64(rd(d, 0x8), 1);
    uint8_t mac[6];
    for (int i = 0; i < 6; i++) mac[i] = (uint8_t)virtio_mmio_ops.read(d, 0x100 + (unsigned)i, 1);
    CHECK(!memcmp(mac, gmac, 6));
    CHECK_EQ_U64(virtio_mmio_ops.read(d, 0x106, 2), 1);        /* link up */
    CHECK(driver_init(d, 2, (1ull << 32) | (1ull << 5) | (1ull << 16)) == 0);
    post_rx(d, 4);
    /* ARP who-has 10.0.2.2 tell 10.0.2.15 */
    uint8_t *t = g(TXBUF);
    memset(t, 0, 12 + 42);
    uint8_t *f = t + 12;
    memset(f, 0xff, 6);
    memcpy(f + 6, gmac, 6);
    f[12] = 0x08; f[13] = 0x06;
    static const uint8_t arp[] = { 0, 1, 8, 0, 6, 4, 0, 1 };
    memcpy(f + 14, arp, 8);
    memcpy(f + 22, gmac, 6);
    static const uint8_t sip[4] = { 10, 0, 2, 15 }, tip[4] = { 10, 0, 2, 2 };
    memcpy(f + 28, sip, 4);
    memcpy(f + 38, tip, 4);
    seg s[2] = { { TXBUF, 12, false }, { TXBUF + 12, 42, false } };
    post(d, 1, s, 2);
    CHECK_EQ_U64(wait_used(1, NULL), 0);
    uint32_t len = 0;
    uint8_t *r = next_rx(&len);
    CHECK(r != NULL);
    if (r) {
        CHECK(len >= 42);
        CHECK(r[12] == 0x08 && r[13] == 0x06 && r[21] == 2);       /* ARP reply */
        CHECK(!memcmp(r + 28, tip, 4) && !memcmp(r, gmac, 6));
    }
    /* a host connection to the forwarded port reaches the guest as a TCP SYN to port 80 */
    int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port), .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int cr = connect(c, (struct sockaddr *)&a, sizeof a);
    CHECK(cr == 0 || errno == EINPROGRESS);
    bool syn = false;
    for (int i = 0; i < 3 && !syn; i++) {
        r = next_rx(&len);
        if (!r) break;
        if (len >= 34 + 20 && r[12] == 0x08 && r[13] == 0x00 && r[23] == 6) {
            unsigned ihl = (r[14] & 15) * 4u;
            uint8_t *tcp = r + 14 + ihl;
            syn = tcp[2] == 0 && tcp[3] == 80 && (tcp[13] & 0x02) && !memcmp(r + 30, sip, 4);
        }
    }
    CHECK(syn);
    close(c);
    virtio_stats st;
    virtio_dev_get_stats(d, &st);
    CHECK(st.tx_packets == 1 && st.rx_packets >= 2 && st.tx_bytes == 42);
    CHECK(!virtio_dev_is_broken(d));
    vmk_loop_stop(loop);                                        /* devices are freed with the loop stopped */
    virtio_dev_free(d);
    vmk_loop_start(loop);
    TEST_END();

    TEST_BEGIN("net_user_hostfwd_port_in_use");
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in la = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t lal = sizeof la;
    CHECK(bind(ls, (struct sockaddr *)&la, sizeof la) == 0 && listen(ls, 1) == 0);
    getsockname(ls, (struct sockaddr *)&la, &lal);
    snprintf(spec, sizeof spec, "user,hostfwd=tcp::%d-:80", ntohs(la.sin_port));
    d = virtio_net_new(env(), spec, NULL, err, sizeof err);
    CHECK(d == NULL && strstr(err, "hostfwd"));
    if (d) virtio_dev_free(d);
    close(ls);
    TEST_END();
}

static void send_arp(virtio_dev *d, const uint8_t sip[4], const uint8_t tip[4])
{
    uint8_t *t = g(TXBUF);
    memset(t, 0, 12 + 42);
    uint8_t *f = t + 12;
    memset(f, 0xff, 6);
    memcpy(f + 6, gmac, 6);
    f[12] = 0x08; f[13] = 0x06;
    static const uint8_t arp[] = { 0, 1, 8, 0, 6, 4, 0, 1 };
    memcpy(f + 14, arp, 8);
    memcpy(f + 22, gmac, 6);
    memcpy(f + 28, sip, 4);
    memcpy(f + 38, tip, 4);
    seg s = { TXBUF, 54, false };
    post(d, 1, &s, 1);
}

static void test_tap(void)
{
    char err[VMK_ERRLEN];
    TEST_BEGIN("net_tap_arp_with_rx_pause");
    char name[16], spec[32], cmd[160];
    snprintf(name, sizeof name, "vmkt%u", (unsigned)getpid() % 1000000u);   /* unique per test run */
    snprintf(spec, sizeof spec, "tap=%s", name);
    virtio_dev *d = virtio_net_new(env(), spec, gmac, err, sizeof err);
    if (!d) {
        CHECK(strstr(err, spec) != NULL);          /* e.g. no /dev/net/tun or no CAP_NET_ADMIN */
        printf("SKIP net_tap_io: TAP unavailable here: %s\n", err);
        TEST_END();
        return;
    }
    CHECK(!strcmp(virtio_dev_name(d), "virtio-net"));
    snprintf(cmd, sizeof cmd, "ip link set %s up && ip addr add 10.99.7.1/24 dev %s 2>/dev/null", name, name);
    if (system(cmd) != 0) {
        printf("SKIP net_tap_io: cannot configure the TAP interface (no CAP_NET_ADMIN?)\n");
    } else {
        CHECK(driver_init(d, 2, (1ull << 32) | (1ull << 5)) == 0);
        static const uint8_t sip[4] = { 10, 99, 7, 2 }, tip[4] = { 10, 99, 7, 1 };
        send_arp(d, sip, tip);                               /* no RX buffers yet: the reply must wait */
        CHECK_EQ_U64(wait_used(1, NULL), 0);
        msleep(200);
        CHECK_EQ_U64(used_idx(0), 0);
        post_rx(d, 8);
        bool reply = false;
        uint32_t len;
        for (int i = 0; i < 8 && !reply; i++) {
            uint8_t *r = next_rx(&len);
            if (!r) break;
            reply = len >= 42 && r[12] == 0x08 && r[13] == 0x06 && r[21] == 2 && !memcmp(r + 28, tip, 4) && !memcmp(r, gmac, 6);
        }
        CHECK(reply);
        /* the interface disappears under the device: input stops, no busy loop, no crash */
        snprintf(cmd, sizeof cmd, "ip link del %s 2>/dev/null", name);
        if (system(cmd) == 0) {
            struct timespec c0, c1;
            msleep(20);
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
            msleep(200);
            clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
            double cpu = (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9;
            CHECK(cpu < 0.1);
        }
    }
    vmk_loop_stop(loop);
    virtio_dev_free(d);
    vmk_loop_start(loop);
    TEST_END();
}

static void test_rx_bounded(void)
{
    char err[VMK_ERRLEN];
    TEST_BEGIN("net_user_rx_queue_bounded");
    virtio_dev *d = virtio_net_new(env(), "user", gmac, err, sizeof err);
    CHECK(d != NULL);
    if (!d) { TEST_END(); return; }
    CHECK(driver_init(d, 2, (1ull << 32) | (1ull << 5)) == 0);
    static const uint8_t sip[4] = { 10, 0, 2, 15 }, tip[4] = { 10, 0, 2, 2 };
    for (int i = 0; i < 70; i++) {                       /* 70 ARP replies, no RX buffers posted */
        send_arp(d, sip, tip);
        CHECK_EQ_U64(wait_used(1, NULL), 0);
    }
    virtio_stats st;
    virtio_dev_get_stats(d, &st);
    CHECK_EQ_U64(st.rx_packets, 0);
    CHECK_EQ_U64(st.rx_dropped, 6);                      /* 64 wait for buffers, the rest are dropped */
    post_rx(d, 8);
    uint32_t len;
    for (int i = 0; i < 8; i++) CHECK(next_rx(&len) != NULL && len >= 42);
    virtio_dev_get_stats(d, &st);
    CHECK_EQ_U64(st.rx_packets, 8);
    vmk_loop_stop(loop);
    virtio_dev_free(d);
    vmk_loop_start(loop);
    TEST_END();
}

int main(void)
{
    vmk_log_init();
    char err[VMK_ERRLEN];
    if (vmk_mem_init(&mem, RAM_BASE, RAM_SIZE, err, sizeof err) < 0) { printf("FAIL mem: %s\n", err); return 1; }
    loop = vmk_loop_new();
    vmk_loop_start(loop);
    test_parse();
    test_user();
    test_tap();
    test_rx_bounded();
    vmk_loop_stop(loop);
    vmk_loop_free(loop);
    vmk_mem_free(&mem);
    TEST_EXIT();
}
