/* Unit tests: live capture through libtrace (int:, pcapint:, ring:) on the
 * loopback interface of a private network namespace. The program re-runs
 * itself under tests/netns-run, so nothing is sent or captured outside it.
 * Waits are bounded only to catch hangs; nothing asserts on timing. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <stardust/stardust.h>
#include "internal.h"
#include "testutil.h"

#define N_DGRAMS 50
#define PAYLOAD 32
#define HANG_LIMIT_NS (20ull * 1000000000ull)

static uint64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t real_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint16_t test_port(int k) { return (uint16_t)(20000 + (getpid() % 20000) + k); }

/* A UDP socket bound to 127.0.0.1:port, so the datagrams are delivered
 * (no ICMP port-unreachable replies on the wire). */
static int bind_receiver(uint16_t port)
{
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(s, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ck_assert_int_eq(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    return s;
}

static void fill_payload(uint8_t *b, int i)
{
    memset(b, 0, PAYLOAD);
    snprintf((char *)b, PAYLOAD, "stardust live %05d", i);
    for (int k = 20; k < PAYLOAD; k++)
        b[k] = (uint8_t)(i * 31 + k);
}

/* Child: send n datagrams of `size` bytes to 127.0.0.1:port, then exit. */
static pid_t spawn_sender(uint16_t port, int n, size_t size)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid != 0)
        return pid;
    int s = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    static uint8_t b[2048];
    for (int i = 0; i < n; i++) {
        memset(b, 0, sizeof b);
        fill_payload(b, i);
        if (sendto(s, b, size, 0, (struct sockaddr *)&a, sizeof a) != (ssize_t)size)
            _exit(1);
    }
    _exit(0);
}

static void reap(pid_t pid)
{
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

static sd_source *open_live(const char *uri, const char *filter, int timeout_ms)
{
    sd_source *src;
    char errbuf[SD_ERRBUF_SIZE];
    ck_assert_msg(sd_source_open(&src, uri, errbuf) == 0, "%s", errbuf);
    ck_assert_str_eq(sd_source_format(src), "libtrace");
    if (filter != NULL)
        ck_assert_int_eq(sd_source_set_filter(src, filter), 0);
    ck_assert_int_eq(sd_source_set_timeout(src, timeout_ms), 0);
    return src;
}

/* Check one captured datagram: Ethernet (all-zero MACs on lo) + IPv4 +
 * UDP to port + the payload of datagram i. */
static void check_datagram(const sd_packet *p, uint16_t port, int i, uint32_t snaplen)
{
    uint32_t frame = 14 + 20 + 8 + PAYLOAD;
    ck_assert_uint_eq(p->linktype, SD_LINK_ETHERNET);
    ck_assert_uint_eq(p->caplen, snaplen < frame ? snaplen : frame);
    /* libtrace adds 4 FCS bytes that a Linux capture never saw. */
    ck_assert_uint_eq(p->wirelen, frame);
    ck_assert_uint_eq(sd__be16(p->data + 12), 0x0800);
    ck_assert_uint_eq(p->data[14], 0x45);
    ck_assert_uint_eq(p->data[14 + 9], 17);
    ck_assert_uint_eq(sd__be32(p->data + 14 + 16), INADDR_LOOPBACK);
    ck_assert_uint_eq(sd__be16(p->data + 14 + 20 + 2), port);
    ck_assert_uint_eq(sd__be16(p->data + 14 + 20 + 4), 8 + PAYLOAD);
    if (p->caplen == frame) {
        uint8_t want[PAYLOAD];
        fill_payload(want, i);
        ck_assert_mem_eq(p->data + 42, want, PAYLOAD);
    }
}

/* Capture N datagrams sent to a fresh port while filtering on it; exactly
 * N must arrive, in order, with their bytes. */
static void capture_udp(const char *uri, uint32_t snaplen)
{
    uint16_t port = test_port(0);
    char filter[64];
    snprintf(filter, sizeof filter, "udp port %u", port);
    sd_source *src = open_live(uri, filter, 100);
    if (snaplen != 0)
        ck_assert_int_eq(sd_source_set_snaplen(src, snaplen), 0);
    else
        snaplen = 65535;
    int rx = bind_receiver(port);
    ck_assert_msg(sd_source_start(src) == 0, "%s", sd_errmsg(src));
    uint64_t t0 = real_ns();
    pid_t pid = spawn_sender(port, N_DGRAMS, PAYLOAD);

    const sd_packet *pkts[64];
    int got = 0, idle = 0;
    uint64_t start = mono_ns();
    /* Read until all arrived, then until three timeouts in a row show
     * nothing more (no duplicates, no stray packets). */
    while (idle < 3) {
        ck_assert_msg(mono_ns() - start < HANG_LIMIT_NS, "%s: %d of %d datagrams", uri, got, N_DGRAMS);
        int n = sd_source_read(src, pkts, 64);
        ck_assert_msg(n >= 0, "%s: %s", uri, sd_errmsg(src));
        if (n == 0) {
            if (got >= N_DGRAMS)
                idle++;
            continue;
        }
        idle = 0;
        for (int k = 0; k < n; k++, got++) {
            ck_assert_int_lt(got, N_DGRAMS);
            check_datagram(pkts[k], port, got, snaplen);
            /* Timestamps come from the kernel in ns since the epoch: a
             * sanity range, not a timing check. */
            ck_assert_uint_ge(pkts[k]->ts, t0 - 60000000000ull);
            ck_assert_uint_le(pkts[k]->ts, real_ns() + 60000000000ull);
        }
    }
    ck_assert_int_eq(got, N_DGRAMS);
    reap(pid);
    sd_source_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.packets, N_DGRAMS);
    ck_assert_uint_eq(st.bytes, (uint64_t)N_DGRAMS * (snaplen < 74 ? snaplen : 74));
    ck_assert_uint_eq(st.wire_bytes, (uint64_t)N_DGRAMS * 74);
    ck_assert_uint_eq(st.dropped, 0);
    /* Live: setters are refused after start. */
    ck_assert_int_eq(sd_source_set_filter(src, "tcp"), SD_ERR_STATE);
    ck_assert_int_eq(sd_source_start(src), SD_ERR_STATE);
    sd_source_close(src);
    close(rx);
}

START_TEST(capture_int) { capture_udp("int:lo", 0); }
END_TEST

START_TEST(capture_pcapint) { capture_udp("pcapint:lo", 0); }
END_TEST

START_TEST(capture_ring) { capture_udp("ring:lo", 0); }
END_TEST

START_TEST(capture_snaplen) { capture_udp("int:lo", 60); }
END_TEST

START_TEST(capture_starts_on_first_read)
{
    /* Without sd_source_start(): the first read starts the capture and
     * returns 0 at its timeout. */
    sd_source *src = open_live("int:lo", "udp port 9", 20);
    const sd_packet *pkts[8];
    ck_assert_int_eq(sd_source_read(src, pkts, 8), 0);
    ck_assert_int_eq(sd_source_start(src), SD_ERR_STATE);
    sd_source_close(src);
}
END_TEST

START_TEST(timeout_returns_zero)
{
    static const int timeouts[] = {0, 1, 50};
    static const char *const uris[] = {"int:lo", "pcapint:lo", "ring:lo"};
    for (size_t u = 0; u < 3; u++)
        for (size_t t = 0; t < 3; t++) {
            sd_source *src = open_live(uris[u], NULL, timeouts[t]);
            ck_assert_int_eq(sd_source_start(src), 0);
            const sd_packet *pkts[8];
            /* The namespace is idle: nothing arrives. */
            for (int k = 0; k < 3; k++)
                ck_assert_int_eq(sd_source_read(src, pkts, 8), 0);
            sd_source_close(src);
        }
}
END_TEST

START_TEST(missing_interface)
{
    static const char *const uris[] = {"int:sd-nosuch0", "pcapint:sd-nosuch0", "ring:sd-nosuch0"};
    for (size_t u = 0; u < 3; u++) {
        sd_source *src = open_live(uris[u], NULL, 10);
        ck_assert_int_eq(sd_source_start(src), SD_ERR_NOTFOUND);
        ck_assert_ptr_nonnull(strstr(sd_errmsg(src), uris[u]));
        const sd_packet *pkts[1];
        ck_assert_int_eq(sd_source_read(src, pkts, 1), SD_ERR_NOTFOUND);
        sd_source_close(src);
    }
}
END_TEST

START_TEST(no_permission)
{
    /* Root in the namespace may drop to nobody (this is a forked test
     * process); a user-namespace root cannot, and has nothing to test. */
    if (getuid() != 0 || setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
        return;
    static const char *const uris[] = {"int:lo", "pcapint:lo", "ring:lo"};
    for (size_t u = 0; u < 3; u++) {
        sd_source *src = open_live(uris[u], NULL, 10);
        ck_assert_int_eq(sd_source_start(src), SD_ERR_PERM);
        ck_assert_ptr_nonnull(strstr(sd_errmsg(src), uris[u]));
        sd_source_close(src);
    }
}
END_TEST

static void flood_and_count_drops(const char *uri)
{
    sd_source *src = open_live(uri, NULL, 10);
    ck_assert_int_eq(sd_source_start(src), 0);
    sd_source_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.dropped, 0);
    /* 20000 datagrams of 1000 bytes while nobody reads overflow any
     * capture buffer. */
    uint16_t port = test_port(1);
    int rx = bind_receiver(port);
    reap(spawn_sender(port, 20000, 1000));
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    uint64_t first = st.dropped;
    ck_assert_uint_gt(first, 0);
    /* The counter is a running total, however often it is read. */
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.dropped, first);
    reap(spawn_sender(port, 20000, 1000));
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_gt(st.dropped, first);
    /* What was kept can still be read. */
    const sd_packet *pkts[64];
    ck_assert_int_gt(sd_source_read(src, pkts, 64), 0);
    sd_source_close(src);
    close(rx);
}

START_TEST(dropped_int) { flood_and_count_drops("int:lo"); }
END_TEST

START_TEST(dropped_pcapint) { flood_and_count_drops("pcapint:lo"); }
END_TEST

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("SD_IN_NETNS") == NULL) {
        /* Re-run inside a private network namespace. */
        const char *srcdir = getenv("SD_SRCDIR");
        if (srcdir == NULL) {
            fprintf(stderr, "%s: SD_SRCDIR is not set (run through make check)\n", argv[0]);
            return 1;
        }
        char self[PATH_MAX], script[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n <= 0) {
            perror("readlink /proc/self/exe");
            return 1;
        }
        self[n] = '\0';
        snprintf(script, sizeof script, "%s/tests/netns-run", srcdir);
        execl("/bin/sh", "sh", script, self, (char *)NULL);
        perror("exec tests/netns-run");
        return 1;
    }
    Suite *s = suite_create("source_live");
    TCase *tc = tcase_create("capture");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, capture_int);
    tcase_add_test(tc, capture_pcapint);
    tcase_add_test(tc, capture_ring);
    tcase_add_test(tc, capture_snaplen);
    tcase_add_test(tc, capture_starts_on_first_read);
    tcase_add_test(tc, timeout_returns_zero);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors_stats");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, missing_interface);
    tcase_add_test(tc, no_permission);
    tcase_add_test(tc, dropped_int);
    tcase_add_test(tc, dropped_pcapint);
    suite_add_tcase(s, tc);
    return sd_test_run(s);
}
