/* Unit tests: the nDAG receiver (ndag_recv.h) and the ndag: source, over
 * multicast on the loopback interface of a private network namespace. The
 * program re-runs itself under tests/netns-run (and fails, never skips,
 * when it cannot). Datagrams are crafted here and sent from the test;
 * waits are bounded only to catch hangs, nothing asserts on timing. */
#include "config.h"

#include <arpa/inet.h>
#include <limits.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stardust/stardust.h>
#include "internal.h"
#include "testutil.h"

#define G4 "225.44.7.1"
#define G6 "ff15::44"
/* IPv6 multicast is not looped back on lo: tests/netns-run provides sd6a */
#define IFACE(g) (strchr((g), ':') != NULL ? "sd6a" : "lo")
#define BPORT 44000
#define TRIES 200 /* x 50 ms: 10 s before a hang is declared */

static int sender(const char *group)
{
    int v6 = strchr(group, ':') != NULL;
    int s = socket(v6 ? AF_INET6 : AF_INET, SOCK_DGRAM, 0);
    ck_assert_int_ge(s, 0);
    if (v6) {
        unsigned idx = if_nametoindex("sd6a");
        ck_assert_msg(idx != 0, "no interface sd6a: tests/netns-run could not create the veth pair");
        ck_assert_int_eq(setsockopt(s, IPPROTO_IPV6, IPV6_MULTICAST_IF, &idx, sizeof idx), 0);
    } else {
        struct in_addr lo = {.s_addr = htonl(INADDR_LOOPBACK)};
        ck_assert_int_eq(setsockopt(s, IPPROTO_IP, IP_MULTICAST_IF, &lo, sizeof lo), 0);
    }
    return s;
}

static void send_to(int s, const char *group, uint16_t port, const void *b, size_t len)
{
    struct sockaddr_storage a;
    memset(&a, 0, sizeof a);
    socklen_t al;
    if (strchr(group, ':') != NULL) {
        struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&a;
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons(port);
        inet_pton(AF_INET6, group, &a6->sin6_addr);
        al = sizeof *a6;
    } else {
        struct sockaddr_in *a4 = (struct sockaddr_in *)&a;
        a4->sin_family = AF_INET;
        a4->sin_port = htons(port);
        inet_pton(AF_INET, group, &a4->sin_addr);
        al = sizeof *a4;
    }
    ck_assert_int_eq((int)sendto(s, b, len, 0, (struct sockaddr *)&a, al), (int)len);
}

static void send_beacon(int s, const char *group, uint16_t monitor, const uint16_t *ports, uint16_t n)
{
    uint8_t b[256];
    int len = sd_ndag_encode_beacon(b, sizeof b, monitor, ports, n);
    ck_assert_int_gt(len, 0);
    send_to(s, group, BPORT, b, (size_t)len);
}

/* ENCAPERF datagram with nrec 60-byte Ethernet frames; frame byte 14 holds
 * the record index, bytes 15..18 the seqno (so tests can check which
 * datagram a packet came from); lctr of every record = lctr. */
static size_t build_data(uint8_t *b, uint16_t monitor, uint8_t token, uint32_t seqno, unsigned nrec,
                         uint16_t lctr)
{
    memset(b, 0, 24 + nrec * 78);
    sd__put_be32(b, SD_NDAG_MAGIC);
    b[4] = 1;
    b[5] = SD_NDAG_ENCAPERF;
    sd__put_be16(b + 6, monitor);
    b[8] = token;
    b[9] = 0x5a;
    sd__put_be32(b + 16, seqno);
    sd__put_be16(b + 22, (uint16_t)nrec);
    for (unsigned i = 0; i < nrec; i++) {
        uint8_t *r = b + 24 + i * 78;
        sd__put_le64(r, ((uint64_t)1577836800u << 32) + i + 1);
        r[8] = 2;
        sd__put_be16(r + 10, 78);
        sd__put_be16(r + 12, lctr);
        sd__put_be16(r + 14, 64);
        uint8_t *f = r + 18;
        f[12] = 0x08;
        f[14] = (uint8_t)i;
        sd__put_be32(f + 15, seqno);
    }
    return 24 + nrec * 78;
}

static void send_data(int s, const char *group, uint16_t port, uint16_t monitor, uint8_t token, uint32_t seqno,
                      unsigned nrec, uint16_t lctr)
{
    uint8_t b[24 + 16 * 78];
    size_t len = build_data(b, monitor, token, seqno, nrec, lctr);
    send_to(s, group, port, b, len);
}

static sd_ndag_recv *open_recv(const char *group, unsigned threads, unsigned idle_ms)
{
    sd_ndag_recv_opts o;
    sd_ndag_recv_opts_init(&o);
    o.iface = IFACE(group);
    o.group = group;
    o.beacon_port = BPORT;
    o.threads = threads;
    o.idle_timeout_ms = idle_ms;
    char err[SD_ERRBUF_SIZE] = "";
    sd_ndag_recv *r = NULL;
    int rc = sd_ndag_recv_open(&r, &o, err);
    ck_assert_msg(rc == 0, "open %s: %s", group, err);
    return r;
}

static sd_ndag_stream_stats stream_stats(sd_ndag_recv *r, unsigned i)
{
    sd_ndag_stream_stats ss[16];
    ss[0].size = sizeof ss[0];
    int n = sd_ndag_recv_streams(r, ss, 16);
    ck_assert_int_gt(n, (int)i);
    return ss[i];
}

static int nstreams(sd_ndag_recv *r) { return sd_ndag_recv_streams(r, NULL, 0); }

/* Send the beacon and read every lane until the n first streams are in
 * state want (lanes join in their read call). */
static void await_state(sd_ndag_recv *r, int sock, const char *group, uint16_t monitor, const uint16_t *ports,
                        uint16_t np, int n, int want)
{
    const sd_packet *pkts[8];
    for (int t = 0; t < TRIES; t++) {
        if (ports != NULL)
            send_beacon(sock, group, monitor, ports, np);
        for (unsigned l = 0; l < sd_ndag_recv_lanes(r); l++)
            ck_assert_int_ge(sd_ndag_recv_read(r, l, pkts, 8, 50), 0);
        int ok = nstreams(r) >= n;
        for (int i = 0; ok && i < n; i++)
            ok = stream_stats(r, (unsigned)i).state == want;
        if (ok)
            return;
    }
    ck_abort_msg("streams did not reach state %s", sd_ndag_stream_state_name(want));
}

/* Read lane until `want` packets arrived; copy frame bytes 14..18. */
static int read_n(sd_ndag_recv *r, unsigned lane, int want, uint8_t (*tags)[5])
{
    int got = 0;
    const sd_packet *pkts[64];
    for (int t = 0; t < TRIES && got < want; t++) {
        int n = sd_ndag_recv_read(r, lane, pkts, 64, 50);
        ck_assert_int_ge(n, 0);
        for (int i = 0; i < n; i++) {
            ck_assert_int_eq(pkts[i]->caplen, 60);
            ck_assert_int_eq(pkts[i]->wirelen, 64);
            ck_assert_int_eq(pkts[i]->linktype, SD_LINK_ETHERNET);
            if (tags != NULL && got + i < want)
                memcpy(tags[got + i], pkts[i]->data + 14, 5);
        }
        got += n;
    }
    return got;
}

/* ---------------------------------------------------------------- open errors */

START_TEST(open_errors)
{
    sd_ndag_recv_opts o;
    sd_ndag_recv_opts_init(&o);
    ck_assert_int_eq(o.beacon_port, 9001);
    ck_assert_int_eq(o.threads, 1);
    ck_assert_int_eq(o.rcvbuf, 16 << 20);
    char err[SD_ERRBUF_SIZE];
    sd_ndag_recv *r = (sd_ndag_recv *)&o;
    o.iface = "nosuch0";
    o.group = G4;
    ck_assert_int_eq(sd_ndag_recv_open(&r, &o, err), SD_ERR_NOTFOUND);
    ck_assert_ptr_null(r);
    ck_assert_ptr_nonnull(strstr(err, "unknown interface 'nosuch0'"));
    o.iface = "lo";
    o.group = "10.1.2.3";
    ck_assert_int_eq(sd_ndag_recv_open(&r, &o, err), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err, "not a multicast group"));
    o.group = "2001:db8::1";
    ck_assert_int_eq(sd_ndag_recv_open(&r, &o, err), SD_ERR_INVAL);
    o.group = "example.org";
    ck_assert_int_eq(sd_ndag_recv_open(&r, &o, err), SD_ERR_INVAL);
    o.group = G4;
    o.threads = 0;
    ck_assert_int_eq(sd_ndag_recv_open(&r, &o, err), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_recv_open(NULL, &o, err), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_recv_open(&r, NULL, err), SD_ERR_INVAL);
    sd_ndag_recv_close(NULL);
    sd_ndag_recv_stop(NULL);

    sd_source *src = NULL;
    ck_assert_int_eq(sd_source_open(&src, "ndag:lo", err), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err, "Bad ndag URI"));
    ck_assert_int_eq(sd_source_open(&src, "ndag:lo,225.44.0.1,0", err), SD_ERR_INVAL);
    ck_assert_int_eq(sd_source_open(&src, "ndag:lo,225.44.0.1,44000x", err), SD_ERR_INVAL);
    ck_assert_int_eq(sd_source_open(&src, "ndag:nosuch0,225.44.0.1", err), SD_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(err, "nosuch0"));
    ck_assert_int_eq(sd_source_open(&src, "ndag:lo,192.0.2.1,44000", err), SD_ERR_INVAL);
    ck_assert_int_eq(sd_source_open(&src, "ndag:lo,ff15::44,44000", err), 0);
    ck_assert_str_eq(sd_source_format(src), "ndag");
    ck_assert_ptr_null(sd_source_ndag(src)); /* not started */
    sd_source_close(src);

    /* a running receiver: bad lane, bad args */
    r = open_recv(G4, 2, 0);
    const sd_packet *pkts[4];
    ck_assert_int_eq(sd_ndag_recv_read(r, 2, pkts, 4, 0), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_recv_read(r, 0, NULL, 4, 0), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_recv_read(r, 0, pkts, 4, 0), 0);
    ck_assert_ptr_null(sd_ndag_recv_record(r, 0, 0, NULL));
    ck_assert_int_eq(nstreams(r), 0);
    sd_ndag_recv_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ndag_recv_stats_get(r, &st), 0);
    ck_assert_int_gt(st.rcvbuf, 0);
    sd_ndag_recv_close(r);
}
END_TEST

/* ---------------------------------------------------------------- discovery */

static void discovery(const char *group)
{
    sd_ndag_recv *r = open_recv(group, 3, 0);
    int s = sender(group);
    const uint16_t pa[] = {44101, 44102};
    const uint16_t pb[] = {44103, 44101}; /* another monitor reusing 44101 */
    await_state(r, s, group, 7, pa, 2, 2, SD_NDAG_STREAM_ACTIVE);
    await_state(r, s, group, 8, pb, 2, 4, SD_NDAG_STREAM_ACTIVE);
    ck_assert_int_eq(nstreams(r), 4);
    /* 11.3: round-robin in arrival order over monitors: lanes 0 1 2 0 */
    const uint16_t want_port[] = {44101, 44102, 44103, 44101}, want_mon[] = {7, 7, 8, 8};
    for (unsigned i = 0; i < 4; i++) {
        sd_ndag_stream_stats x = stream_stats(r, i);
        ck_assert_int_eq(x.port, want_port[i]);
        ck_assert_int_eq(x.monitor_id, want_mon[i]);
        ck_assert_int_eq(x.lane, i % 3);
        ck_assert_str_eq(x.group, group);
        ck_assert_int_eq(x.joins, 1);
    }
    /* data of monitor 7 on 44101 reaches stream 0 (lane 0) and is foreign
     * to stream 3 (monitor 8, same port, also lane 0) */
    send_data(s, group, 44101, 7, 1, 1, 3, 0);
    send_data(s, group, 44102, 7, 1, 1, 2, 0);
    send_data(s, group, 44103, 8, 1, 1, 4, 0);
    ck_assert_int_eq(read_n(r, 0, 3, NULL), 3);
    ck_assert_int_eq(read_n(r, 1, 2, NULL), 2);
    ck_assert_int_eq(read_n(r, 2, 4, NULL), 4);
    /* the foreign copy arrives on stream 3's socket as well; read it out */
    for (int t = 0; t < TRIES && stream_stats(r, 3).foreign == 0; t++) {
        const sd_packet *pkts[8];
        ck_assert_int_eq(sd_ndag_recv_read(r, 0, pkts, 8, 50), 0);
    }
    ck_assert_int_eq(stream_stats(r, 0).records, 3);
    ck_assert_int_eq(stream_stats(r, 1).records, 2);
    ck_assert_int_eq(stream_stats(r, 2).records, 4);
    ck_assert_int_eq(stream_stats(r, 3).records, 0);
    ck_assert_int_eq(stream_stats(r, 3).foreign, 1);
    sd_ndag_recv_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ndag_recv_stats_get(r, &st), 0);
    ck_assert_int_eq(st.streams, 4);
    ck_assert_int_eq(st.streams_active, 4);
    ck_assert_int_eq(st.records, 9);
    ck_assert_int_eq(st.datagrams, 3);
    ck_assert_int_ge(st.beacons, 2);
    ck_assert_int_eq(st.sender_restarts, 0);
    close(s);
    sd_ndag_recv_close(r);
}

START_TEST(discovery_ipv4) { discovery(G4); }
END_TEST

START_TEST(discovery_ipv6) { discovery(G6); }
END_TEST

/* ---------------------------------------------------------------- accounting */

START_TEST(loss_accounting)
{
    sd_ndag_recv *r = open_recv(G4, 1, 0);
    int s = sender(G4);
    const uint16_t p[] = {44201};
    await_state(r, s, G4, 3, p, 1, 1, SD_NDAG_STREAM_ACTIVE);
    /* 12.2: 1 2 5 4 6 7 7 -> missing 1 (3), reordered 1 (4), duplicate 1.
     * lctr 2 on every record: the first record after the join is not
     * counted (12.4): 8 datagrams x 1 record -> dropped 2 * 6. */
    const uint32_t seq[] = {1, 2, 5, 4, 6, 7, 7};
    for (unsigned i = 0; i < 7; i++)
        send_data(s, G4, 44201, 3, 1, seq[i], 1, 2);
    uint8_t tags[7][5];
    ck_assert_int_eq(read_n(r, 0, 7, tags), 7);
    for (unsigned i = 0; i < 7; i++) /* order kept within the stream */
        ck_assert_int_eq(sd__be32(tags[i] + 1), seq[i]);
    sd_ndag_stream_stats x = stream_stats(r, 0);
    ck_assert_int_eq(x.datagrams, 7);
    ck_assert_int_eq(x.records, 7);
    ck_assert_int_eq(x.missing, 1);
    ck_assert_int_eq(x.reordered, 1);
    ck_assert_int_eq(x.duplicates, 1);
    ck_assert_int_eq(x.dropped, 12);
    ck_assert_int_eq(x.restarts, 0);
    /* sender restart: new token, seqno back to 1; its first lctr skipped */
    send_data(s, G4, 44201, 3, 2, 1, 2, 5);
    send_data(s, G4, 44201, 3, 2, 2, 1, 0);
    /* malformed: bad magic, truncated encap, record count 0; keepalives */
    uint8_t b[128];
    size_t len = build_data(b, 3, 2, 3, 1, 0);
    b[0] = 'X';
    send_to(s, G4, 44201, b, len);
    len = build_data(b, 3, 2, 3, 1, 0);
    send_to(s, G4, 44201, b, 20);
    sd__put_be16(b + 22, 0);
    send_to(s, G4, 44201, b, len);
    uint8_t started[8] = {2, 0x5a};
    int kl = sd_ndag_encode_keepalive(b, sizeof b, 3, started, 0);
    ck_assert_int_eq(kl, 24);
    send_to(s, G4, 44201, b, (size_t)kl);
    kl = sd_ndag_encode_keepalive(b, sizeof b, 3, NULL, 0);
    ck_assert_int_eq(kl, 8);
    send_to(s, G4, 44201, b, (size_t)kl);
    /* in sequence after all that: keepalives and junk changed nothing */
    send_data(s, G4, 44201, 3, 2, 3, 1, 1);
    ck_assert_int_eq(read_n(r, 0, 4, NULL), 4);
    for (int t = 0; t < TRIES && stream_stats(r, 0).keepalives < 2; t++) {
        const sd_packet *pk[4];
        ck_assert_int_ge(sd_ndag_recv_read(r, 0, pk, 4, 50), 0);
    }
    x = stream_stats(r, 0);
    ck_assert_int_eq(x.restarts, 1);
    ck_assert_int_eq(x.missing, 1);
    ck_assert_int_eq(x.datagrams, 10);
    ck_assert_int_eq(x.records, 11);
    ck_assert_int_eq(x.dropped, 12 + 5 + 1); /* restart: first record's 5 skipped, second's 5 counted */
    ck_assert_int_eq(x.malformed, 3);
    ck_assert_int_eq(x.malformed_class[SD_NDAG_E_BAD_MAGIC], 1);
    ck_assert_int_eq(x.malformed_class[SD_NDAG_E_TRUNCATED_ENCAP], 1);
    ck_assert_int_eq(x.malformed_class[SD_NDAG_E_BAD_RECORD_COUNT], 1);
    ck_assert_int_eq(x.keepalives, 2);
    sd_ndag_recv_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ndag_recv_stats_get(r, &st), 0);
    ck_assert_int_eq(st.sender_restarts, 1);
    ck_assert_int_eq(st.malformed, 3);
    ck_assert_int_eq(st.missing, 1);
    close(s);
    sd_ndag_recv_close(r);
}
END_TEST

START_TEST(record_view)
{
    sd_ndag_recv *r = open_recv(G4, 1, 0);
    int s = sender(G4);
    const uint16_t p[] = {44301, 44302};
    await_state(r, s, G4, 4, p, 2, 2, SD_NDAG_STREAM_ACTIVE);
    send_data(s, G4, 44302, 4, 9, 77, 3, 0);
    const sd_packet *pkts[8];
    int n = 0;
    for (int t = 0; t < TRIES && n == 0; t++)
        n = sd_ndag_recv_read(r, 0, pkts, 2, 50); /* 2 of the 3 records */
    ck_assert_int_eq(n, 2);
    unsigned si = 99;
    const sd_ndag_record *rec = sd_ndag_recv_record(r, 0, 1, &si);
    ck_assert_ptr_nonnull(rec);
    ck_assert_int_eq(si, 1);
    ck_assert_ptr_eq(&rec->pkt, pkts[1]);
    ck_assert_int_eq(rec->erf_type, 2);
    ck_assert_int_eq(rec->rlen, 78);
    ck_assert_int_eq(pkts[1]->ts, 1577836800ull * 1000000000ull); /* fraction 2/2^32 s rounds to 0 ns */
    ck_assert_ptr_null(sd_ndag_recv_record(r, 0, 2, NULL));
    n = sd_ndag_recv_read(r, 0, pkts, 8, 1000); /* the rest of the datagram */
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(pkts[0]->data[14], 2);
    close(s);
    sd_ndag_recv_close(r);
}
END_TEST

/* ---------------------------------------------------------------- retire */

START_TEST(retire_rejoin)
{
    sd_ndag_recv *r = open_recv(G4, 1, 300);
    int s = sender(G4);
    const uint16_t p[] = {44401};
    await_state(r, s, G4, 5, p, 1, 1, SD_NDAG_STREAM_ACTIVE);
    send_data(s, G4, 44401, 5, 1, 1, 1, 0);
    ck_assert_int_eq(read_n(r, 0, 1, NULL), 1);
    /* no more beacons nor data: retired after 300 ms */
    await_state(r, s, G4, 5, NULL, 0, 1, SD_NDAG_STREAM_RETIRED);
    ck_assert_int_eq(stream_stats(r, 0).joins, 1);
    /* announced again: joined again, same entry */
    await_state(r, s, G4, 5, p, 1, 1, SD_NDAG_STREAM_ACTIVE);
    ck_assert_int_eq(nstreams(r), 1);
    sd_ndag_stream_stats x = stream_stats(r, 0);
    ck_assert_int_eq(x.joins, 2);
    /* after a re-join the gap is not counted (12.2 step 2) */
    send_data(s, G4, 44401, 5, 1, 50, 2, 0);
    ck_assert_int_eq(read_n(r, 0, 2, NULL), 2);
    x = stream_stats(r, 0);
    ck_assert_int_eq(x.missing, 0);
    ck_assert_int_eq(x.records, 3);
    close(s);
    sd_ndag_recv_close(r);
}
END_TEST

/* ---------------------------------------------------------------- stop / run */

static void *stopper(void *arg)
{
    usleep(200000);
    sd_ndag_recv_stop(arg);
    return NULL;
}

START_TEST(stop_other_thread)
{
    sd_ndag_recv *r = open_recv(G4, 1, 0);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, stopper, r), 0);
    const sd_packet *pkts[4];
    ck_assert_int_eq(sd_ndag_recv_read(r, 0, pkts, 4, -1), SD_EOF); /* waits forever otherwise */
    pthread_join(t, NULL);
    ck_assert_int_eq(sd_ndag_recv_read(r, 0, pkts, 4, 0), SD_EOF);
    sd_ndag_recv_close(r);
}
END_TEST

struct runctx {
    sd_ndag_recv *r;
    _Atomic unsigned per_lane[2];
    _Atomic unsigned bad;
};

static void on_batch(void *user, unsigned lane, const sd_packet *const *pkts, size_t n)
{
    struct runctx *c = user;
    for (size_t i = 0; i < n; i++) {
        unsigned si;
        const sd_ndag_record *rec = sd_ndag_recv_record(c->r, lane, i, &si);
        if (rec == NULL || &rec->pkt != pkts[i] || si != lane)
            atomic_fetch_add(&c->bad, 1);
    }
    atomic_fetch_add(&c->per_lane[lane], (unsigned)n);
    if (atomic_load(&c->per_lane[0]) + atomic_load(&c->per_lane[1]) >= 15)
        sd_ndag_recv_stop(c->r);
}

static void *runner(void *arg)
{
    struct runctx *c = arg;
    intptr_t rc = sd_ndag_recv_run(c->r, on_batch, c);
    return (void *)rc;
}

START_TEST(run_two_lanes)
{
    static struct runctx c;
    c.r = open_recv(G4, 2, 0);
    int s = sender(G4);
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, runner, &c), 0);
    const uint16_t p[] = {44501, 44502};
    for (int i = 0; i < TRIES && nstreams(c.r) < 2; i++) {
        send_beacon(s, G4, 6, p, 2);
        usleep(50000);
    }
    for (int i = 0; i < TRIES; i++) {
        if (stream_stats(c.r, 0).state == SD_NDAG_STREAM_ACTIVE && stream_stats(c.r, 1).state == SD_NDAG_STREAM_ACTIVE)
            break;
        usleep(50000);
    }
    const sd_packet *pk[1];
    ck_assert_int_eq(sd_ndag_recv_read(c.r, 0, pk, 1, 0), SD_ERR_STATE);
    send_data(s, G4, 44501, 6, 1, 1, 10, 0);
    send_data(s, G4, 44502, 6, 1, 1, 5, 0);
    void *ret;
    pthread_join(t, &ret);
    ck_assert_int_eq((int)(intptr_t)ret, 0);
    ck_assert_int_eq(atomic_load(&c.per_lane[0]), 10);
    ck_assert_int_eq(atomic_load(&c.per_lane[1]), 5);
    ck_assert_int_eq(atomic_load(&c.bad), 0);
    ck_assert_int_eq(sd_ndag_recv_run(c.r, on_batch, &c), SD_ERR_STATE);
    close(s);
    sd_ndag_recv_close(c.r);
}
END_TEST

/* ---------------------------------------------------------------- ndag: source */

static _Atomic int added_lines;
static void count_log(void *u, int level, const char *msg)
{
    (void)u;
    if (level == SD_LOG_INFO && strncmp(msg, "Added new stream 225.44.7.1:44601 to thread 0", 46) == 0)
        atomic_fetch_add(&added_lines, 1);
}

START_TEST(source_uri)
{
    sd_source *src = NULL;
    char err[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_source_open(&src, "ndag:lo," G4 ",44000", err), 0);
    sd_source_set_log(src, count_log, NULL);
    ck_assert_int_eq(sd_source_set_timeout(src, 50), 0);
    ck_assert_int_eq(sd_source_start(src), 0);
    sd_ndag_recv *r = sd_source_ndag(src);
    ck_assert_ptr_nonnull(r);
    int s = sender(G4);
    const uint16_t p[] = {44601};
    const sd_packet *pkts[16];
    for (int t = 0; t < TRIES && atomic_load(&added_lines) == 0; t++) {
        send_beacon(s, G4, 1, p, 1);
        ck_assert_int_eq(sd_source_read(src, pkts, 16), 0);
    }
    ck_assert_int_eq(atomic_load(&added_lines), 1);
    send_data(s, G4, 44601, 1, 1, 1, 4, 3);
    send_data(s, G4, 44601, 1, 1, 3, 4, 3);
    int got = 0;
    for (int t = 0; t < TRIES && got < 8; t++) {
        int n = sd_source_read(src, pkts, 16);
        ck_assert_int_ge(n, 0);
        got += n;
    }
    ck_assert_int_eq(got, 8);
    sd_source_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_int_eq(st.packets, 8);
    ck_assert_int_eq(st.dropped, 7 * 3);
    ck_assert_int_eq(st.malformed, 0);
    sd_ndag_recv_stats t = {.size = sizeof t};
    ck_assert_int_eq(sd_ndag_recv_stats_get(r, &t), 0);
    ck_assert_int_eq(t.missing, 1);
    close(s);
    sd_source_close(src);
}
END_TEST

/* ---------------------------------------------------------------- tagged (tags.md 3) */

/* The library's sender in tagged mode to the receiver: every tag block
 * arrives byte for byte, decoded in pkt->tags, with the sender's tagger_id
 * and record seqnos 1, 2, ...; the non-Ethernet packet is not sent. */
START_TEST(tagged_roundtrip)
{
    enum { N = 40 };
    sd_ndag_recv *r = open_recv(G4, 1, 0);
    sd_ndag_send_opts o;
    sd_ndag_send_opts_init(&o);
    o.group = G4;
    o.beacon_port = BPORT;
    o.first_port = 44801;
    o.source = "127.0.0.1";
    o.beacon_ms = 100;
    o.flush_ms = 10;
    o.join_delay_ms = 0;
    o.max_datagram = 1400;
    o.tagged = 1;
    char err[SD_ERRBUF_SIZE] = "";
    sd_ndag_sender *snd = NULL;
    ck_assert_msg(sd_ndag_send_open(&snd, &o, err) == 0, "send_open: %s", err);
    const sd_packet *pk[8];
    int joined = 0;
    for (int t = 0; t < TRIES && !joined; t++) {
        ck_assert_int_ge(sd_ndag_recv_read(r, 0, pk, 8, 50), 0);
        joined = nstreams(r) >= 1 && stream_stats(r, 0).state == SD_NDAG_STREAM_ACTIVE;
    }
    ck_assert_msg(joined, "the sender's stream was not joined");

    static uint8_t frames[N][300];
    sd_tags tags[N];
    sd_packet p[N + 1];
    const sd_packet *pp[N + 1];
    memset(tags, 0, sizeof tags);
    memset(p, 0, sizeof p);
    for (int i = 0; i < N; i++) {
        uint32_t len = 60u + 6u * (uint32_t)i;
        for (uint32_t b = 0; b < len; b++)
            frames[i][b] = (uint8_t)(i * 13 + (int)b);
        frames[i][12] = 0x08;
        frames[i][13] = 0x00;
        sd_tags *t = &tags[i];
        t->providers_used = SD_TAG_BASIC | SD_TAG_MAXMIND | SD_TAG_NETACQ | SD_TAG_PFX2AS;
        t->netacq_region = (uint16_t)(5000 + i);
        t->netacq_polygon[0] = (uint32_t)i + 1;
        t->netacq_polygon[1] = 1u << 24 | (uint32_t)(2000 + i);
        t->prefixasn = 4200000000u + (uint32_t)i;
        memcpy(t->maxmind_country, i % 2 ? "US" : "??", 2);
        memcpy(t->netacq_country, "DE", 2);
        memcpy(t->maxmind_continent, "NA", 2);
        memcpy(t->netacq_continent, "EU", 2);
        t->src_port = (uint16_t)(40000 + i);
        t->dest_port = 23;
        t->protocol = 6;
        t->filterbits = (uint64_t)i * 0x01010101u & SD_FB_ALL;
        t->ft_hash = 0x9e3779b9u * (uint32_t)(i + 1);
        p[i].ts = 1700000000ull * 1000000000ull + (uint64_t)i * 1000001u;
        p[i].data = frames[i];
        p[i].caplen = len;
        p[i].wirelen = len + 4;
        p[i].linktype = SD_LINK_ETHERNET;
        p[i].tags = i == 5 ? NULL : t; /* untagged: all-zero block */
    }
    memset(&tags[5], 0, sizeof tags[5]);
    p[N] = p[0];
    p[N].linktype = SD_LINK_IPV4; /* not published */
    for (int i = 0; i < N + 1; i++)
        pp[i] = &p[i];
    ck_assert_int_eq(sd_ndag_send(snd, pp, 3), 0);
    ck_assert_int_eq(sd_ndag_send(snd, pp + N, 1), 0);
    ck_assert_int_eq(sd_ndag_send(snd, pp + 3, N - 3), 0);
    ck_assert_int_eq(sd_ndag_send_flush(snd), 0);
    uint32_t tid = sd_ndag_send_tagger_id(snd);
    ck_assert_uint_ne(tid, 0);

    int got = 0;
    for (int t = 0; t < TRIES && got < N; t++) {
        int n = sd_ndag_recv_read(r, 0, pk, 8, 50);
        ck_assert_int_ge(n, 0);
        for (int j = 0; j < n; j++, got++) {
            ck_assert_int_lt(got, N);
            const sd_ndag_record *rec = sd_ndag_recv_record(r, 0, (size_t)j, NULL);
            ck_assert_ptr_nonnull(rec);
            ck_assert_ptr_nonnull(rec->tag);
            ck_assert_ptr_nonnull(pk[j]->tags);
            ck_assert_uint_eq(rec->tagger_id, tid);
            ck_assert_uint_eq(rec->tagger_seqno, (uint64_t)got + 1);
            uint8_t blk[SD_TAG_BLOCK_LEN];
            sd_tags_encode(&tags[got], blk);
            ck_assert_mem_eq(rec->tag + 27, blk, SD_TAG_BLOCK_LEN); /* byte for byte */
            ck_assert_mem_eq(pk[j]->tags, &tags[got], sizeof(sd_tags));
            ck_assert_uint_eq(sd__be16(rec->tag + 1), tags[got].filterbits & 0xfu);
            ck_assert_uint_eq(pk[j]->caplen, p[got].caplen);
            ck_assert_uint_eq(pk[j]->wirelen, p[got].wirelen);
            ck_assert_uint_eq(pk[j]->ts, p[got].ts / 1000u * 1000u);
            ck_assert_mem_eq(pk[j]->data, frames[got], p[got].caplen);
        }
    }
    ck_assert_int_eq(got, N);
    sd_ndag_stream_stats ss = stream_stats(r, 0);
    ck_assert_uint_eq(ss.tagged, N);
    ck_assert_uint_eq(ss.records, N);
    ck_assert_uint_eq(ss.tag_missing, 0);
    ck_assert_uint_eq(ss.tag_gaps, 0);
    ck_assert_uint_eq(ss.tagger_changes, 0);
    ck_assert_int_eq(ss.missing, 0);
    sd_ndag_send_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ndag_send_get_stats(snd, -1, &st), 0);
    ck_assert_uint_eq(st.skipped, 1);
    ck_assert_uint_eq(st.untagged, 1);
    ck_assert_int_eq(sd_ndag_send_close(snd, NULL), 0);
    sd_ndag_recv_close(r);
}
END_TEST

/* Per-packet loss by tagger seqno as corsarotrace counts it (tags.md 3.4). */
static void send_tagged(int s, uint16_t port, uint32_t dgseq, uint32_t tagger, uint64_t first, unsigned n)
{
    static uint8_t frame[60];
    frame[12] = 0x08;
    sd_packet p;
    memset(&p, 0, sizeof p);
    p.ts = 1000000000ull;
    p.data = frame;
    p.caplen = p.wirelen = 60;
    p.linktype = SD_LINK_ETHERNET;
    const sd_packet *pp[8];
    for (unsigned i = 0; i < n; i++)
        pp[i] = &p;
    sd_ndag_encap h;
    memset(&h, 0, sizeof h);
    h.monitor_id = 7;
    h.started[0] = 1;
    h.seqno = dgseq;
    uint8_t d[2048];
    size_t used;
    uint64_t q = first;
    int len = sd_ndag_encode_tagged(d, sizeof d, &h, tagger, &q, pp, n, &used);
    ck_assert_int_eq(len, (int)(24 + n * 154));
    send_to(s, G4, port, d, (size_t)len);
}

START_TEST(tagged_loss)
{
    sd_ndag_recv *r = open_recv(G4, 1, 0);
    int s = sender(G4);
    const uint16_t p[] = {44611};
    await_state(r, s, G4, 7, p, 1, 1, SD_NDAG_STREAM_ACTIVE);
    send_tagged(s, 44611, 1, 0xaaaa, 1, 3); /* 1 2 3 */
    send_tagged(s, 44611, 2, 0xaaaa, 6, 1); /* gap: 4 and 5 lost */
    send_tagged(s, 44611, 3, 0xaaaa, 4, 1); /* backwards: 1 */
    send_tagged(s, 44611, 4, 0xbbbb, 100, 2); /* new tagger: no loss */
    const sd_packet *pk[16];
    int got = 0;
    for (int t = 0; t < TRIES && got < 7; t++) {
        int n = sd_ndag_recv_read(r, 0, pk, 16, 50);
        ck_assert_int_ge(n, 0);
        for (int j = 0; j < n; j++)
            ck_assert_ptr_nonnull(pk[j]->tags);
        got += n;
    }
    ck_assert_int_eq(got, 7);
    sd_ndag_stream_stats ss = stream_stats(r, 0);
    ck_assert_uint_eq(ss.tagged, 7);
    ck_assert_uint_eq(ss.tag_missing, 3);
    ck_assert_uint_eq(ss.tag_gaps, 2);
    ck_assert_uint_eq(ss.tagger_changes, 1);
    ck_assert_int_eq(ss.missing, 0); /* datagrams: none lost */
    sd_ndag_recv_stats t = {.size = sizeof t};
    ck_assert_int_eq(sd_ndag_recv_stats_get(r, &t), 0);
    ck_assert_uint_eq(t.tagged, 7);
    ck_assert_uint_eq(t.tag_missing, 3);
    ck_assert_uint_eq(t.tag_gaps, 2);
    ck_assert_uint_eq(t.tagger_changes, 1);
    close(s);
    sd_ndag_recv_close(r);
}
END_TEST

int main(int argc, char **argv)
{
    (void)argc;
    if (getenv("SD_IN_NETNS") == NULL) {
        /* Re-run inside a private network namespace (fails if impossible). */
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
    Suite *s = suite_create("ndag_recv");
    TCase *tc = tcase_create("open");
    tcase_add_test(tc, open_errors);
    suite_add_tcase(s, tc);
    tc = tcase_create("discovery");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, discovery_ipv4);
    tcase_add_test(tc, discovery_ipv6);
    tcase_add_test(tc, retire_rejoin);
    suite_add_tcase(s, tc);
    tc = tcase_create("read");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, loss_accounting);
    tcase_add_test(tc, record_view);
    tcase_add_test(tc, stop_other_thread);
    tcase_add_test(tc, run_two_lanes);
    suite_add_tcase(s, tc);
    tc = tcase_create("tagged");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, tagged_roundtrip);
    tcase_add_test(tc, tagged_loss);
    suite_add_tcase(s, tc);
    tc = tcase_create("source");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, source_uri);
    suite_add_tcase(s, tc);
    return sd_test_run(s);
}
