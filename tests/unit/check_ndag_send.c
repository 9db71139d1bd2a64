/* Unit tests of the nDAG sender (lib/ndag_send.c) without a network: the
 * internal sink takes every datagram instead of a socket, and
 * sd__ndag_send_tick() stands in for the timer thread. */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/stardust.h>

#include "internal.h"
#include "ndag_int.h"
#include "testutil.h"

#define MAXD 1024

struct dgram {
    int stream;
    size_t len;
    uint8_t d[SD_NDAG_MAX_DATAGRAM];
};

struct sink {
    pthread_mutex_t mu;
    size_t n, cap;
    struct dgram *v;
};

static void sink_fn(void *ud, int stream, const uint8_t *d, size_t len)
{
    struct sink *k = ud;
    pthread_mutex_lock(&k->mu);
    if (k->n == k->cap) {
        k->cap = k->cap ? 2 * k->cap : 64;
        k->v = realloc(k->v, k->cap * sizeof *k->v);
        ck_assert_ptr_nonnull(k->v);
    }
    ck_assert_uint_le(len, SD_NDAG_MAX_DATAGRAM);
    k->v[k->n].stream = stream;
    k->v[k->n].len = len;
    memcpy(k->v[k->n].d, d, len);
    k->n++;
    pthread_mutex_unlock(&k->mu);
}

static void sink_init(struct sink *k)
{
    memset(k, 0, sizeof *k);
    pthread_mutex_init(&k->mu, NULL);
}

static void sink_free(struct sink *k)
{
    free(k->v);
    pthread_mutex_destroy(&k->mu);
}

static void opts(sd_ndag_send_opts *o)
{
    sd_ndag_send_opts_init(o);
    o->group = "225.44.0.1";
    o->beacon_port = 44000;
}

/* All packets of a trace, copied (the source reuses its buffers). */
struct trace {
    size_t n;
    sd_packet *p;
    const sd_packet **pp;
    uint8_t **bytes;
};

static void load(struct trace *t, const char *rel)
{
    sd_source *src;
    char errbuf[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_source_open(&src, sd_test_data(rel), errbuf), 0);
    memset(t, 0, sizeof *t);
    size_t cap = 0;
    const sd_packet *b[64];
    int n;
    while ((n = sd_source_read(src, b, 64)) > 0) {
        for (int i = 0; i < n; i++) {
            if (t->n == cap) {
                cap = cap ? 2 * cap : 256;
                t->p = realloc(t->p, cap * sizeof *t->p);
                t->bytes = realloc(t->bytes, cap * sizeof *t->bytes);
            }
            t->p[t->n] = *b[i];
            t->bytes[t->n] = malloc(b[i]->caplen + 1);
            memcpy(t->bytes[t->n], b[i]->data, b[i]->caplen);
            t->p[t->n].data = t->bytes[t->n];
            t->n++;
        }
    }
    ck_assert_int_eq(n, SD_EOF);
    sd_source_close(src);
    t->pp = malloc(t->n * sizeof *t->pp);
    for (size_t i = 0; i < t->n; i++)
        t->pp[i] = &t->p[i];
}

static void unload(struct trace *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->bytes[i]);
    free(t->bytes);
    free(t->p);
    free(t->pp);
}

/* ---------------------------------------------------------------- options */

static int open_err(const sd_ndag_send_opts *o, char *errbuf)
{
    sd_ndag_sender *s = (sd_ndag_sender *)1;
    struct sink k;
    sink_init(&k);
    int rc = sd__ndag_send_open_sink(&s, o, sink_fn, &k, 0, errbuf);
    if (rc == 0)
        ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    else
        ck_assert_ptr_null(s);
    sink_free(&k);
    return rc;
}

START_TEST(opts_defaults)
{
    sd_ndag_send_opts o;
    sd_ndag_send_opts_init(&o);
    ck_assert_uint_eq(o.size, sizeof o);
    ck_assert_ptr_null(o.group);
    ck_assert_uint_eq(o.beacon_port, 9001);
    ck_assert_uint_eq(o.first_port, 0);
    ck_assert_uint_eq(o.monitor_id, 1);
    ck_assert_uint_eq(o.streams, 1);
    ck_assert_uint_eq(o.max_datagram, 8900);
    ck_assert_int_eq(o.ttl, 1);
    ck_assert_uint_eq(o.beacon_ms, 1000);
    ck_assert_uint_eq(o.flush_ms, 100);
    ck_assert_uint_eq(o.keepalive_ms, 5000);
    ck_assert_int_eq(o.keepalive_short, 0);
    ck_assert_uint_eq(o.sndbuf, 16u << 20);
    ck_assert_uint_eq(o.batch, 64);
    ck_assert_int_eq(o.spread, SD_NDAG_SPREAD_FLOW);
    ck_assert_uint_eq(o.join_delay_ms, 500);
}
END_TEST

START_TEST(opts_invalid)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_ndag_send_opts o;
    opts(&o);
    ck_assert_int_eq(open_err(&o, errbuf), 0);
    struct {
        const char *field;
        const char *msg;
    } cases[] = {
        {"max535", "max datagram 535 out of range: 536 to 9000"},
        {"max9001", "max datagram 9001 out of range"},
        {"streams0", "0 streams out of range"},
        {"streams4496", "4496 streams out of range: 1 to 4495"},
        {"nogroup", "no multicast group"},
        {"unicast", "is not a numeric IPv4 or IPv6 multicast address"},
        {"name", "is not a numeric IPv4 or IPv6 multicast address"},
        {"ports", "stream ports 65535 to 65536 run past 65535"},
        {"beaconclash", "beacon port 44000 is also a stream port"},
        {"beacon50", "beacon interval 50 ms out of range"},
        {"ka50", "keepalive interval 50 ms out of range"},
        {"batch65", "batch 65 out of range"},
        {"ttl", "TTL 256 out of range"},
        {"join", "join delay 10001 ms out of range: 0 to 10000 ms"},
        {"family", "different address families"},
        {"iface", "interface \"sd-no-such-if\""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        opts(&o);
        const char *f = cases[i].field;
        int want = SD_ERR_INVAL;
        if (!strcmp(f, "max535"))
            o.max_datagram = 535;
        else if (!strcmp(f, "max9001"))
            o.max_datagram = 9001;
        else if (!strcmp(f, "streams0"))
            o.streams = 0;
        else if (!strcmp(f, "streams4496"))
            o.streams = 4496;
        else if (!strcmp(f, "nogroup"))
            o.group = NULL;
        else if (!strcmp(f, "unicast"))
            o.group = "10.0.0.1";
        else if (!strcmp(f, "name"))
            o.group = "localhost";
        else if (!strcmp(f, "ports"))
            o.first_port = 65535, o.streams = 2;
        else if (!strcmp(f, "beaconclash"))
            o.first_port = 43999, o.streams = 2;
        else if (!strcmp(f, "beacon50"))
            o.beacon_ms = 50;
        else if (!strcmp(f, "ka50"))
            o.keepalive_ms = 50;
        else if (!strcmp(f, "batch65"))
            o.batch = 65;
        else if (!strcmp(f, "ttl"))
            o.ttl = 256;
        else if (!strcmp(f, "join"))
            o.join_delay_ms = 10001;
        else if (!strcmp(f, "family"))
            o.source = "::1";
        else if (!strcmp(f, "iface"))
            o.iface = "sd-no-such-if", want = SD_ERR_NOTFOUND;
        errbuf[0] = '\0';
        ck_assert_int_eq(open_err(&o, errbuf), want);
        ck_assert_msg(strstr(errbuf, cases[i].msg) != NULL, "%s: %s", f, errbuf);
    }
    /* Edges that are valid. */
    opts(&o);
    o.max_datagram = 536;
    ck_assert_int_eq(open_err(&o, errbuf), 0);
    o.max_datagram = 9000;
    o.keepalive_ms = 0;
    o.group = "ff15::44";
    ck_assert_int_eq(open_err(&o, errbuf), 0);
    o.size = 8; /* not initialised */
    ck_assert_int_eq(open_err(&o, errbuf), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_send_close(NULL, NULL), 0);
}
END_TEST

/* ---------------------------------------------------------------- datagrams */

START_TEST(beacon_first)
{
    sd_ndag_send_opts o;
    opts(&o);
    o.streams = 3;
    o.monitor_id = 0x1234;
    struct sink k;
    sink_init(&k);
    sd_ndag_sender *s;
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 0, NULL), 0);
    ck_assert_uint_eq(k.n, 1);
    static const uint8_t want[] = {0x4e, 0x44, 0x41, 0x47, 1, 1, 0x12, 0x34, 0, 3,
                                   0xab, 0xe1, 0xab, 0xe2, 0xab, 0xe3}; /* 44001..44003 */
    ck_assert_int_eq(k.v[0].stream, -1);
    ck_assert_uint_eq(k.v[0].len, sizeof want);
    ck_assert_mem_eq(k.v[0].d, want, sizeof want);
    ck_assert_uint_eq(sd_ndag_send_port(s, 2), 44003);
    ck_assert_uint_eq(sd_ndag_send_port(s, 3), 0);
    /* Beacons follow every beacon_ms (the tick stands in for the timer). */
    uint64_t t = sd__ndag_now_ns();
    sd__ndag_send_tick(s, t + 1000000000u);
    ck_assert_uint_eq(k.n, 2);
    sd__ndag_send_tick(s, t + 1000000000u);
    ck_assert_uint_eq(k.n, 2);
    sd_ndag_send_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ndag_send_get_stats(s, -1, &st), 0);
    ck_assert_uint_eq(st.beacons, 2);
    ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    sink_free(&k);
}
END_TEST

/* Datagrams of the incremental sender are byte for byte those of
 * sd_ndag_encode_erf() over the same packets. */
static void same_as_encode(const char *rel, unsigned maxd)
{
    struct trace t;
    load(&t, rel);
    sd_ndag_send_opts o;
    opts(&o);
    o.max_datagram = maxd;
    o.monitor_id = 9;
    struct sink k;
    sink_init(&k);
    sd_ndag_sender *s;
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 0, NULL), 0);
    /* uneven call sizes: datagrams must not depend on them */
    for (size_t i = 0, step = 1; i < t.n; i += step, step = step % 7 + 1) {
        size_t m = t.n - i < step ? t.n - i : step;
        ck_assert_int_eq(sd_ndag_send(s, t.pp + i, m), 0);
    }
    ck_assert_int_eq(sd_ndag_send_flush(s), 0);
    ck_assert_uint_ge(k.n, 2);
    sd_ndag_encap h;
    h.monitor_id = 9;
    memcpy(h.started, k.v[1].d + 8, 8);
    h.stream_id = 0;
    uint8_t buf[SD_NDAG_MAX_DATAGRAM];
    size_t i = 0, dg = 1;
    uint64_t records = 0, bytes = 0;
    h.seqno = 1;
    while (i < t.n) {
        size_t used;
        int len = sd_ndag_encode_erf(buf, maxd, &h, t.pp + i, t.n - i, &used);
        ck_assert_int_gt(len, 0);
        ck_assert_uint_lt(dg, k.n);
        ck_assert_int_eq(k.v[dg].stream, 0);
        ck_assert_uint_eq(k.v[dg].len, (size_t)len);
        ck_assert_mem_eq(k.v[dg].d, buf, (size_t)len);
        records += used;
        bytes += (size_t)len;
        i += used;
        dg++;
        h.seqno++;
    }
    ck_assert_uint_eq(dg, k.n);
    sd_ndag_send_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ndag_send_get_stats(s, 0, &st), 0);
    ck_assert_uint_eq(st.packets, t.n);
    ck_assert_uint_eq(st.records, records);
    ck_assert_uint_eq(st.datagrams, k.n - 1);
    ck_assert_uint_eq(st.bytes, bytes);
    ck_assert_uint_eq(st.lost, 0);
    ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    sink_free(&k);
    unload(&t);
}

START_TEST(builder_equals_encode)
{
    same_as_encode("pcap/libtrace/100_packets.pcap", 8900);
    same_as_encode("pcap/libtrace/100_packets.pcap", 536);
    same_as_encode("pcap/ndpi/synscan.pcap", 1400);
}
END_TEST

/* An oversize packet is cut to fill a datagram of its own, wlen kept, flag
 * clear (6.1); an unencodable link type is skipped and counted. */
START_TEST(truncate_and_skip)
{
    static uint8_t big[2000];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)i;
    sd_packet p[3];
    memset(p, 0, sizeof p);
    p[0].ts = 1577836800500000000ull;
    p[0].data = big;
    p[0].caplen = 2000;
    p[0].wirelen = 2004;
    p[0].linktype = SD_LINK_ETHERNET;
    p[1] = p[0];
    p[1].linktype = SD_LINK_LINUX_SLL; /* no ERF type */
    p[2] = p[0];
    p[2].caplen = 60;
    p[2].wirelen = 64;
    const sd_packet *pp[3] = {&p[0], &p[1], &p[2]};
    sd_ndag_send_opts o;
    opts(&o);
    o.max_datagram = 600;
    struct sink k;
    sink_init(&k);
    sd_ndag_sender *s;
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 0, NULL), 0);
    ck_assert_int_eq(sd_ndag_send(s, pp, 3), 0);
    ck_assert_int_eq(sd_ndag_send_flush(s), 0);
    ck_assert_uint_eq(k.n, 3);
    sd_ndag_msg m;
    ck_assert_int_eq(sd_ndag_decode(&m, k.v[1].d, k.v[1].len, SD_NDAG_ON_STREAM, NULL), 0);
    ck_assert_uint_eq(k.v[1].len, 600);
    ck_assert_uint_eq(m.record_count_raw, 1); /* flag clear */
    sd_ndag_iter it;
    sd_ndag_record r;
    sd_ndag_iter_init(&it, &m);
    ck_assert_int_eq(sd_ndag_next(&it, &r), 1);
    ck_assert_uint_eq(r.pkt.caplen, 600 - 24 - 18);
    ck_assert_uint_eq(r.pkt.wirelen, 2004);
    ck_assert_uint_eq(r.pkt.ts, p[0].ts);
    ck_assert_mem_eq(r.pkt.data, big, r.pkt.caplen);
    ck_assert_int_eq(sd_ndag_decode(&m, k.v[2].d, k.v[2].len, SD_NDAG_ON_STREAM, NULL), 0);
    ck_assert_uint_eq(m.seqno, 2);
    ck_assert_uint_eq(m.record_count, 1);
    sd_ndag_send_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ndag_send_get_stats(s, -1, &st), 0);
    ck_assert_uint_eq(st.truncated, 1);
    ck_assert_uint_eq(st.skipped, 1);
    ck_assert_uint_eq(st.packets, 2);
    ck_assert_uint_eq(st.records, 2);
    ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    sink_free(&k);
}
END_TEST

/* Tagged mode (tags.md 3): CORSAROTAG datagrams, every record with its
 * packet's tag block (all zero when untagged), per-stream record seqno
 * from 1, the configured tagger_id; non-Ethernet packets skipped. */
START_TEST(tagged_mode)
{
    struct trace t;
    load(&t, "pcap/ndpi/synscan.pcap");
    size_t n = t.n;
    sd_tags *tags = calloc(n, sizeof *tags);
    ck_assert_ptr_nonnull(tags);
    size_t untagged = 0;
    for (size_t i = 0; i < n; i++) {
        tags[i].providers_used = SD_TAG_BASIC | SD_TAG_PFX2AS;
        tags[i].ft_hash = (uint32_t)i; /* identifies the packet */
        tags[i].prefixasn = 64500u + (uint32_t)i;
        tags[i].filterbits = (uint64_t)(i % 16) | SD_FB(SD_FILTER_TTL_200);
        tags[i].protocol = 6;
        if (i % 10 == 7) {
            t.p[i].tags = NULL;
            untagged++;
        } else {
            t.p[i].tags = &tags[i];
        }
    }
    sd_packet sll = t.p[0];
    sll.linktype = SD_LINK_LINUX_SLL; /* only Ethernet is published */
    sd_ndag_send_opts o;
    opts(&o);
    o.tagged = 1;
    o.tagger_id = 0xfeedbeefu;
    o.streams = 2;
    o.spread = SD_NDAG_SPREAD_RR;
    o.max_datagram = 1400;
    struct sink k;
    sink_init(&k);
    sd_ndag_sender *s;
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 0, NULL), 0);
    ck_assert_uint_eq(sd_ndag_send_tagger_id(s), 0xfeedbeefu);
    const sd_packet *one[1] = {&sll};
    ck_assert_int_eq(sd_ndag_send_stream(s, 0, one, 1), 0);
    for (size_t i = 0; i < n; i += 100)
        ck_assert_int_eq(sd_ndag_send(s, t.pp + i, n - i < 100 ? n - i : 100), 0);
    ck_assert_int_eq(sd_ndag_send_flush(s), 0);
    sd_ndag_send_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ndag_send_get_stats(s, -1, &st), 0);
    ck_assert_uint_eq(st.packets, n);
    ck_assert_uint_eq(st.records, n);
    ck_assert_uint_eq(st.skipped, 1);
    ck_assert_uint_eq(st.untagged, untagged);
    ck_assert_uint_eq(st.truncated, 0);

    uint64_t next_rec[2] = {1, 1};
    uint32_t next_dg[2] = {1, 1};
    uint8_t *seen = calloc(n, 1);
    size_t got = 0;
    for (size_t j = 0; j < k.n; j++) {
        if (k.v[j].stream < 0)
            continue; /* beacon */
        int sid = k.v[j].stream;
        sd_ndag_msg m;
        ck_assert_int_eq(sd_ndag_decode(&m, k.v[j].d, k.v[j].len, SD_NDAG_ON_STREAM, NULL), 0);
        ck_assert_int_eq(m.type, SD_NDAG_CORSAROTAG);
        ck_assert_uint_le(k.v[j].len, 1400);
        ck_assert_uint_eq(m.seqno, next_dg[sid]++);
        ck_assert_uint_eq(m.stream_id, (unsigned)sid);
        sd_ndag_iter it;
        sd_ndag_record r;
        sd_ndag_iter_init(&it, &m);
        while (sd_ndag_next(&it, &r)) {
            ck_assert_uint_eq(r.tagger_id, 0xfeedbeefu);
            ck_assert_uint_eq(r.tagger_seqno, next_rec[sid]++);
            sd_tags d;
            ck_assert_int_eq(sd_tags_decode(&d, r.tag + 27, 67), 0);
            size_t i;
            if (d.providers_used == 0) {
                /* untagged: all-zero block; find it by its frame */
                uint8_t zero[67] = {0};
                ck_assert_mem_eq(r.tag + 27, zero, 67);
                ck_assert_uint_eq(sd__be16(r.tag + 1), 0);
                for (i = 7; i < n; i += 10)
                    if (!seen[i] && t.p[i].caplen == r.pkt.caplen &&
                        memcmp(t.p[i].data, r.pkt.data, r.pkt.caplen) == 0)
                        break;
                ck_assert_uint_lt(i, n);
            } else {
                i = d.ft_hash;
                ck_assert_uint_lt(i, n);
                uint8_t blk[67];
                sd_tags_encode(&tags[i], blk);
                ck_assert_mem_eq(r.tag + 27, blk, 67); /* byte-exact */
                ck_assert_uint_eq(sd__be16(r.tag + 1), i % 16);
            }
            ck_assert_int_eq(seen[i], 0);
            seen[i] = 1;
            ck_assert_uint_eq(r.pkt.caplen, t.p[i].caplen);
            ck_assert_uint_eq(r.pkt.wirelen, t.p[i].wirelen);
            ck_assert_uint_eq(r.pkt.ts, t.p[i].ts / 1000u * 1000u);
            ck_assert_mem_eq(r.pkt.data, t.p[i].data, r.pkt.caplen);
            got++;
        }
    }
    ck_assert_uint_eq(got, n);
    ck_assert_uint_eq(next_rec[0] - 1 + next_rec[1] - 1, n);
    ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    free(seen);
    free(tags);
    sink_free(&k);

    /* tagger_id 0: a random non-zero one; untagged mode: 0 */
    sink_init(&k);
    o.tagger_id = 0;
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 0, NULL), 0);
    ck_assert_uint_ne(sd_ndag_send_tagger_id(s), 0);
    ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    o.tagged = 0;
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 0, NULL), 0);
    ck_assert_uint_eq(sd_ndag_send_tagger_id(s), 0);
    ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    o.tagged = 2;
    char err[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 0, err), SD_ERR_INVAL);
    sink_free(&k);
    unload(&t);
}
END_TEST

/* seqno 1, 2, ... per stream; after 0xffffffff comes 1 (12.1); started is
 * the same non-zero token everywhere. */
START_TEST(seq_numbering)
{
    sd_packet p;
    static const uint8_t frame[60] = {0};
    memset(&p, 0, sizeof p);
    p.ts = 1000000000ull;
    p.data = frame;
    p.caplen = 60;
    p.wirelen = 64;
    p.linktype = SD_LINK_ETHERNET;
    const sd_packet *pp[1] = {&p};
    sd_ndag_send_opts o;
    opts(&o);
    o.streams = 2;
    struct sink k;
    sink_init(&k);
    sd_ndag_sender *s;
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 0, NULL), 0);
    sd__ndag_send_set_seq(s, 1, 0xfffffffeu);
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(sd_ndag_send_stream(s, 0, pp, 1), 0);
        ck_assert_int_eq(sd_ndag_send_stream(s, 1, pp, 1), 0);
        ck_assert_int_eq(sd_ndag_send_flush(s), 0);
    }
    ck_assert_int_eq(sd_ndag_send_stream(s, 2, pp, 1), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(s), "stream 2 out of range"));
    ck_assert_uint_eq(k.n, 9);
    static const uint32_t want0[] = {1, 2, 3, 4}, want1[] = {0xfffffffeu, 0xffffffffu, 1, 2};
    size_t n0 = 0, n1 = 0;
    uint8_t started[8];
    memcpy(started, k.v[1].d + 8, 8);
    static const uint8_t zero[8];
    ck_assert_mem_ne(started, zero, 8);
    for (size_t i = 1; i < k.n; i++) {
        sd_ndag_msg m;
        ck_assert_int_eq(sd_ndag_decode(&m, k.v[i].d, k.v[i].len, SD_NDAG_ON_STREAM, NULL), 0);
        ck_assert_mem_eq(m.started, started, 8);
        ck_assert_int_eq(m.stream_id, k.v[i].stream);
        if (k.v[i].stream == 0)
            ck_assert_uint_eq(m.seqno, want0[n0++]);
        else
            ck_assert_uint_eq(m.seqno, want1[n1++]);
    }
    ck_assert_uint_eq(n0, 4);
    ck_assert_uint_eq(n1, 4);
    /* started: little-endian ms since 2017-11-01, close to now (6.2) */
    uint64_t ms = 0;
    for (int i = 7; i >= 0; i--)
        ms = ms << 8 | started[i];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t want = (uint64_t)now.tv_sec * 1000 - 1509494400000ull;
    ck_assert_uint_le(ms, want + 1000);
    ck_assert_uint_ge(ms + 600000, want);
    ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    sink_free(&k);
}
END_TEST

/* The timer: a partly filled datagram goes after flush_ms; an idle stream
 * gets keepalives (24 bytes, or 8 with keepalive_short) that leave the
 * seqnos alone. */
static void timer_case(int short_ka)
{
    sd_packet p;
    static const uint8_t frame[60] = {1};
    memset(&p, 0, sizeof p);
    p.ts = 1000000000ull;
    p.data = frame;
    p.caplen = 60;
    p.wirelen = 64;
    p.linktype = SD_LINK_ETHERNET;
    const sd_packet *pp[1] = {&p};
    sd_ndag_send_opts o;
    opts(&o);
    o.flush_ms = 100;
    o.keepalive_ms = 1000;
    o.beacon_ms = 10000;
    o.keepalive_short = short_ka;
    o.monitor_id = 5;
    struct sink k;
    sink_init(&k);
    sd_ndag_sender *s;
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 0, NULL), 0);
    uint64_t t = sd__ndag_now_ns();
    ck_assert_int_eq(sd_ndag_send(s, pp, 1), 0);
    ck_assert_uint_eq(k.n, 1); /* the beacon only: the datagram waits */
    sd__ndag_send_tick(s, t + 50000000u);
    ck_assert_uint_eq(k.n, 1);
    uint64_t t1 = sd__ndag_now_ns() + 100000000u;
    sd__ndag_send_tick(s, t1);
    ck_assert_uint_eq(k.n, 2); /* flushed */
    ck_assert_uint_eq(k.v[1].len, 24 + 78);
    sd__ndag_send_tick(s, t1 + 500000000u);
    ck_assert_uint_eq(k.n, 2); /* not idle long enough */
    sd__ndag_send_tick(s, t1 + 1100000000u);
    ck_assert_uint_eq(k.n, 3);
    ck_assert_int_eq(k.v[2].stream, 0);
    uint8_t ka[24];
    int len = sd_ndag_encode_keepalive(ka, sizeof ka, 5, short_ka ? NULL : k.v[1].d + 8, 0);
    ck_assert_uint_eq(k.v[2].len, (size_t)len);
    ck_assert_uint_eq(k.v[2].len, short_ka ? 8 : 24);
    ck_assert_mem_eq(k.v[2].d, ka, (size_t)len);
    sd__ndag_send_tick(s, t1 + 2200000000u);
    ck_assert_uint_eq(k.n, 4); /* again while idle */
    ck_assert_int_eq(sd_ndag_send(s, pp, 1), 0);
    ck_assert_int_eq(sd_ndag_send_flush(s), 0);
    ck_assert_uint_eq(k.n, 5);
    ck_assert_uint_eq(sd__be32(k.v[4].d + 16), 2); /* keepalives took no seqno */
    sd_ndag_send_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ndag_send_get_stats(s, 0, &st), 0);
    ck_assert_uint_eq(st.keepalives, 2);
    ck_assert_uint_eq(st.datagrams, 2);
    ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    sink_free(&k);
}

START_TEST(timer_flush_keepalive)
{
    timer_case(0);
    timer_case(1);
}
END_TEST

/* ---------------------------------------------------------------- spreading */

/* Both directions of a flow map to one stream, the mapping does not change,
 * and synscan's flows use every one of 4 streams. */
START_TEST(flow_spread)
{
    struct trace t;
    load(&t, "pcap/ndpi/synscan.pcap");
    unsigned used[4] = {0};
    for (size_t i = 0; i < t.n; i++) {
        unsigned a = sd__ndag_flow_stream(&t.p[i], 4);
        ck_assert_uint_lt(a, 4);
        ck_assert_uint_eq(sd__ndag_flow_stream(&t.p[i], 4), a);
        ck_assert_uint_eq(sd__ndag_flow_stream(&t.p[i], 1), 0);
        used[a]++;
        /* the reverse direction: swap IPv4 addresses and TCP/UDP ports */
        sd_parsed ps;
        sd_parse(&t.p[i], &ps);
        if ((ps.flags & SD_P_IP4) && (ps.flags & (SD_P_TCP | SD_P_UDP))) {
            uint8_t rev[2048];
            ck_assert_uint_le(t.p[i].caplen, sizeof rev);
            memcpy(rev, t.p[i].data, t.p[i].caplen);
            memcpy(rev + ps.l3_off + 12, t.p[i].data + ps.l3_off + 16, 4);
            memcpy(rev + ps.l3_off + 16, t.p[i].data + ps.l3_off + 12, 4);
            memcpy(rev + ps.l4_off, t.p[i].data + ps.l4_off + 2, 2);
            memcpy(rev + ps.l4_off + 2, t.p[i].data + ps.l4_off, 2);
            sd_packet r = t.p[i];
            r.data = rev;
            ck_assert_uint_eq(sd__ndag_flow_stream(&r, 4), a);
        }
    }
    for (int i = 0; i < 4; i++)
        ck_assert_uint_gt(used[i], 0);
    /* Through the sender: per stream, what the mapping says, in order. */
    sd_ndag_send_opts o;
    opts(&o);
    o.streams = 4;
    struct sink k;
    sink_init(&k);
    sd_ndag_sender *s;
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 0, NULL), 0);
    ck_assert_int_eq(sd_ndag_send(s, t.pp, t.n), 0);
    ck_assert_int_eq(sd_ndag_send_flush(s), 0);
    size_t next[4] = {0}, total = 0;
    for (size_t d = 1; d < k.n; d++) {
        sd_ndag_msg m;
        ck_assert_int_eq(sd_ndag_decode(&m, k.v[d].d, k.v[d].len, SD_NDAG_ON_STREAM, NULL), 0);
        unsigned st = m.stream_id;
        sd_ndag_iter it;
        sd_ndag_record r;
        sd_ndag_iter_init(&it, &m);
        while (sd_ndag_next(&it, &r)) {
            while (next[st] < t.n && sd__ndag_flow_stream(&t.p[next[st]], 4) != st)
                next[st]++;
            ck_assert_uint_lt(next[st], t.n);
            ck_assert_uint_eq(r.pkt.ts, t.p[next[st]].ts);
            ck_assert_uint_eq(r.pkt.caplen, t.p[next[st]].caplen);
            ck_assert_mem_eq(r.pkt.data, t.p[next[st]].data, r.pkt.caplen);
            next[st]++;
            total++;
        }
    }
    ck_assert_uint_eq(total, t.n);
    for (int st = 0; st < 4; st++) {
        sd_ndag_send_stats ss = {.size = sizeof ss};
        ck_assert_int_eq(sd_ndag_send_get_stats(s, st, &ss), 0);
        ck_assert_uint_eq(ss.records, used[st]);
    }
    ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    sink_free(&k);
    unload(&t);
}
END_TEST

START_TEST(rr_spread)
{
    struct trace t;
    load(&t, "pcap/libtrace/100_packets.pcap");
    sd_ndag_send_opts o;
    opts(&o);
    o.streams = 3;
    o.spread = SD_NDAG_SPREAD_RR;
    struct sink k;
    sink_init(&k);
    sd_ndag_sender *s;
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 0, NULL), 0);
    ck_assert_int_eq(sd_ndag_send(s, t.pp, 50), 0);
    ck_assert_int_eq(sd_ndag_send(s, t.pp + 50, 50), 0);
    ck_assert_int_eq(sd_ndag_send_flush(s), 0);
    static const uint64_t want[3] = {34, 33, 33};
    for (int st = 0; st < 3; st++) {
        sd_ndag_send_stats ss = {.size = sizeof ss};
        ck_assert_int_eq(sd_ndag_send_get_stats(s, st, &ss), 0);
        ck_assert_uint_eq(ss.records, want[st]);
    }
    ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    sink_free(&k);
    unload(&t);
}
END_TEST

/* ---------------------------------------------------------------- threads */

struct worker {
    sd_ndag_sender *s;
    unsigned stream;
    const sd_packet *const *pp;
    size_t n;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (int round = 0; round < 20; round++)
        for (size_t i = 0; i < w->n; i += 16) {
            size_t m = w->n - i < 16 ? w->n - i : 16;
            ck_assert_int_eq(sd_ndag_send_stream(w->s, w->stream, w->pp + i, m), 0);
            sd_ndag_send_stats st = {.size = sizeof st};
            ck_assert_int_eq(sd_ndag_send_get_stats(w->s, -1, &st), 0);
        }
    return NULL;
}

/* One thread per stream plus sd_ndag_send() from a fifth, with the real
 * timer thread running (flush 1 ms): every record arrives once, seqnos per
 * stream have no gap. Meant for TSan too. */
START_TEST(threads)
{
    struct trace t;
    load(&t, "pcap/libtrace/100_packets.pcap");
    sd_ndag_send_opts o;
    opts(&o);
    o.streams = 4;
    o.flush_ms = 1;
    o.beacon_ms = 100;
    o.keepalive_ms = 100;
    o.batch = 4;
    o.max_datagram = 1000;
    struct sink k;
    sink_init(&k);
    sd_ndag_sender *s;
    ck_assert_int_eq(sd__ndag_send_open_sink(&s, &o, sink_fn, &k, 1, NULL), 0);
    pthread_t th[5];
    struct worker w[5];
    for (unsigned i = 0; i < 5; i++) {
        w[i] = (struct worker){s, i, t.pp, t.n};
        if (i < 4)
            ck_assert_int_eq(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    for (int round = 0; round < 20; round++)
        ck_assert_int_eq(sd_ndag_send(s, t.pp, t.n), 0);
    for (unsigned i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    ck_assert_int_eq(sd_ndag_send_close(s, NULL), 0);
    uint64_t records = 0;
    uint32_t seq[4] = {0};
    for (size_t d = 0; d < k.n; d++) {
        if (k.v[d].stream < 0 || k.v[d].d[5] != SD_NDAG_ENCAPERF)
            continue;
        sd_ndag_msg m;
        ck_assert_int_eq(sd_ndag_decode(&m, k.v[d].d, k.v[d].len, SD_NDAG_ON_STREAM, NULL), 0);
        ck_assert_uint_eq(m.seqno, seq[m.stream_id] + 1);
        seq[m.stream_id] = m.seqno;
        records += m.record_count;
    }
    ck_assert_uint_eq(records, 4 * 20 * t.n + 20 * t.n);
    sink_free(&k);
    unload(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("ndag_send");
    TCase *tc = tcase_create("options");
    tcase_add_test(tc, opts_defaults);
    tcase_add_test(tc, opts_invalid);
    suite_add_tcase(s, tc);
    tc = tcase_create("datagrams");
    tcase_add_test(tc, beacon_first);
    tcase_add_test(tc, builder_equals_encode);
    tcase_add_test(tc, truncate_and_skip);
    tcase_add_test(tc, seq_numbering);
    tcase_add_test(tc, tagged_mode);
    tcase_add_test(tc, timer_flush_keepalive);
    suite_add_tcase(s, tc);
    tc = tcase_create("spread");
    tcase_add_test(tc, flow_spread);
    tcase_add_test(tc, rr_spread);
    suite_add_tcase(s, tc);
    tc = tcase_create("threads");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, threads);
    suite_add_tcase(s, tc);
    return sd_test_run(s);
}
