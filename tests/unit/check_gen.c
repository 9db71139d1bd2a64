/* Unit tests: the synthetic traffic generator (gen.h) and the gen: source.
 * Every packet is decoded and its checksums recomputed here, independently
 * of lib/gen.c. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/gen.h>
#include <stardust/source.h>
#include "internal.h"
#include "testutil.h"

/* ------------------------------------------------------------ helpers */

/* Check's ck_assert_* macros record every passing assertion through a
 * syscall (fork mode); per-packet checks use these, which do nothing until
 * they fail. */
#define REQ_MSG(expr, ...)                                                         \
    do {                                                                           \
        if (!(expr))                                                               \
            ck_abort_msg(__VA_ARGS__);                                             \
    } while (0)
#define REQ(expr) REQ_MSG(expr, "%s:%d: assertion '%s' failed", __FILE__, __LINE__, #expr)
#define REQ_U(a, op, b)                                                            \
    do {                                                                           \
        unsigned long long a_ = (a), b_ = (b);                                     \
        if (!(a_ op b_))                                                           \
            ck_abort_msg("%s:%d: '%s %s %s' failed: %llu vs %llu", __FILE__, __LINE__, #a, #op, #b, a_, b_); \
    } while (0)
#define REQ_I(a, op, b)                                                            \
    do {                                                                           \
        long long a_ = (a), b_ = (b);                                              \
        if (!(a_ op b_))                                                           \
            ck_abort_msg("%s:%d: '%s %s %s' failed: %lld vs %lld", __FILE__, __LINE__, #a, #op, #b, a_, b_); \
    } while (0)
#define REQ_MEM(a, b, n) REQ_MSG(memcmp((a), (b), (n)) == 0, "%s:%d: bytes of %s differ", __FILE__, __LINE__, #a)

static uint32_t be16(const uint8_t *p) { return (uint32_t)(p[0] << 8 | p[1]); }
static uint32_t be32(const uint8_t *p) { return be16(p) << 16 | be16(p + 2); }

/* RFC 1071 sum over the bytes, folded (not complemented). */
static uint32_t sum_bytes(const uint8_t *p, size_t n, uint32_t s)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        s += be16(p + i);
    if (n & 1)
        s += (uint32_t)p[n - 1] << 8;
    return s;
}

static int csum_ok(uint32_t s)
{
    while (s >> 16)
        s = (s & 0xffff) + (s >> 16);
    return s == 0xffff;
}

static sd_gen *make_gen(const char *opts)
{
    sd_gen_config cfg;
    char errbuf[SD_ERRBUF_SIZE] = "";
    sd_gen_config_init(&cfg);
    REQ_MSG(sd_gen_config_parse(&cfg, opts, errbuf) == 0, "%s: %s", opts, errbuf);
    sd_gen *g = NULL;
    REQ_MSG(sd_gen_create(&g, &cfg, errbuf) == 0, "%s: %s", opts, errbuf);
    ck_assert_ptr_nonnull(g);
    return g;
}

/* What check_packet() learnt about one packet. */
struct info {
    int v6;
    uint32_t src, dst;     /* IPv4 */
    uint8_t src6[16], dst6[16];
    uint32_t ipid, ttl, proto, df, mf, frag_off;
    int l4;                /* the L4 header is present (first fragment) */
    uint32_t sport, dport, seq, ack, flags, win, tcp_hlen, mss;
    uint32_t icmp_type, icmp_code;
    uint32_t q_src, q_dst, q_proto; /* ICMP error: the quoted header */
    uint32_t l4_len;
    const uint8_t *payload;
};

/* Decode one packet and check it: lengths, padding, every checksum. */
static void check_packet(const sd_packet *p, uint16_t linktype, struct info *in)
{
    memset(in, 0, sizeof *in);
    REQ_U(p->linktype, ==, linktype);
    REQ_U(p->caplen, ==, p->wirelen);
    REQ_U(p->flags, ==, 0);
    const uint8_t *d = p->data;
    size_t len = p->caplen, l2 = 0;
    if (linktype == SD_LINK_ETHERNET) {
        REQ_U(len, >=, 60);
        REQ_U(len, <=, 1514);
        uint32_t et = be16(d + 12);
        REQ_MSG(et == 0x0800 || et == 0x86dd, "ethertype %x", et);
        in->v6 = et == 0x86dd;
        l2 = 14;
    } else {
        in->v6 = d[0] >> 4 == 6;
    }
    const uint8_t *ip = d + l2;
    const uint8_t *l4;
    size_t l4len;
    uint32_t pseudo;
    if (!in->v6) {
        REQ_U(ip[0], ==, 0x45);
        uint32_t tot = be16(ip + 2);
        /* Ethernet pads short frames to 60 bytes; raw IP never pads. */
        if (l2 == 0 || tot + l2 > 60)
            REQ_U(tot + l2, ==, len);
        else
            REQ_U(len, ==, 60);
        for (size_t i = l2 + tot; i < len; i++)
            REQ_U(d[i], ==, 0);
        REQ_MSG(csum_ok(sum_bytes(ip, 20, 0)), "bad IPv4 header checksum");
        in->ipid = be16(ip + 4);
        in->df = (ip[6] & 0x40) != 0;
        in->mf = (ip[6] & 0x20) != 0;
        in->frag_off = (be16(ip + 6) & 0x1fff) * 8;
        in->ttl = ip[8];
        in->proto = ip[9];
        in->src = be32(ip + 12);
        in->dst = be32(ip + 16);
        l4 = ip + 20;
        l4len = tot - 20;
        pseudo = be16(ip + 12) + be16(ip + 14) + be16(ip + 16) + be16(ip + 18) + in->proto + (uint32_t)l4len;
        if (in->frag_off != 0 || in->mf)
            return; /* fragments: checked after reassembly */
    } else {
        REQ_U(ip[0] >> 4, ==, 6);
        l4len = be16(ip + 4);
        REQ_U(l4len + 40 + l2, ==, len);
        in->proto = ip[6];
        in->ttl = ip[7];
        memcpy(in->src6, ip + 8, 16);
        memcpy(in->dst6, ip + 24, 16);
        l4 = ip + 40;
        pseudo = sum_bytes(ip + 8, 32, 0) + in->proto + (uint32_t)l4len;
    }
    in->l4 = 1;
    in->l4_len = (uint32_t)l4len;
    switch (in->proto) {
    case 6:
        REQ_U(l4len, >=, 20);
        REQ_MSG(csum_ok(sum_bytes(l4, l4len, pseudo)), "bad TCP checksum");
        in->sport = be16(l4);
        in->dport = be16(l4 + 2);
        in->seq = be32(l4 + 4);
        in->ack = be32(l4 + 8);
        in->tcp_hlen = (uint32_t)(l4[12] >> 4) * 4;
        in->flags = l4[13];
        in->win = be16(l4 + 14);
        REQ_U(in->tcp_hlen, ==, l4len); /* no payload */
        if (in->tcp_hlen > 20 && l4[20] == 2 && l4[21] == 4)
            in->mss = be16(l4 + 22);
        break;
    case 17: {
        REQ_U(l4len, >=, 8);
        REQ_U(be16(l4 + 4), ==, l4len);
        uint32_t c = be16(l4 + 6);
        REQ_U(c, !=, 0);
        REQ_MSG(csum_ok(sum_bytes(l4, l4len, pseudo)), "bad UDP checksum");
        in->sport = be16(l4);
        in->dport = be16(l4 + 2);
        in->payload = l4 + 8;
        break;
    }
    case 1:
        REQ(!in->v6);
        REQ_MSG(csum_ok(sum_bytes(l4, l4len, 0)), "bad ICMP checksum");
        in->icmp_type = l4[0];
        in->icmp_code = l4[1];
        if (l4[0] == 3 || l4[0] == 11) {
            /* RFC 792: the quoted IPv4 header + 8 bytes, itself valid */
            REQ_U(l4len, ==, 8 + 28);
            const uint8_t *q = l4 + 8;
            REQ_U(q[0], ==, 0x45);
            REQ_MSG(csum_ok(sum_bytes(q, 20, 0)), "bad quoted IPv4 checksum");
            in->q_proto = q[9];
            in->q_src = be32(q + 12);
            in->q_dst = be32(q + 16);
            in->sport = be16(q + 20);
            in->dport = be16(q + 22);
        } else {
            REQ_U(l4[0], ==, 8);
            in->sport = be16(l4 + 4); /* id */
            in->seq = be16(l4 + 6);
        }
        break;
    case 58:
        REQ(in->v6);
        REQ_MSG(csum_ok(sum_bytes(l4, l4len, pseudo)), "bad ICMPv6 checksum");
        in->icmp_type = l4[0];
        REQ_U(l4[0], ==, 128);
        break;
    default:
        ck_abort_msg("unexpected protocol %u", in->proto);
    }
}

static int in_prefix4(uint32_t a, uint32_t pfx, unsigned len)
{
    uint32_t mask = len == 0 ? 0 : 0xffffffffu << (32 - len);
    return (a & mask) == pfx;
}

static int in_prefix6(const uint8_t *a, const uint8_t *pfx, unsigned len)
{
    for (unsigned i = 0; i < len; i++) {
        unsigned byte = i / 8, bit = 7 - i % 8;
        if (((a[byte] >> bit) & 1) != ((pfx[byte] >> bit) & 1))
            return 0;
    }
    return 1;
}

/* Run one kind only (the others weight 0) through fn. */
typedef void (*pkt_fn)(const struct info *in, const sd_packet *p, void *ctx);

static uint64_t run_kind(const char *opts, uint16_t linktype, uint64_t n, pkt_fn fn, void *ctx)
{
    char buf[512];
    snprintf(buf, sizeof buf, "count=%llu,%s", (unsigned long long)n, opts);
    sd_gen *g = make_gen(buf);
    const sd_packet *pkts[256];
    uint64_t total = 0;
    int got;
    while ((got = sd_gen_next(g, pkts, 256)) > 0) {
        for (int i = 0; i < got; i++) {
            struct info in;
            check_packet(pkts[i], linktype, &in);
            if (fn != NULL)
                fn(&in, pkts[i], ctx);
        }
        total += (uint64_t)got;
    }
    REQ_I(got, ==, SD_EOF);
    REQ_U(total, ==, n);
    sd_gen_destroy(g);
    return total;
}

#define ONLY(k) "scan=0,masscan=0,zmap=0,mirai=0,udp=0,icmp=0,backscatter=0,spoofed=0,frag=0,ipv6=0," k "=1"

/* 64-bit FNV-1a over the bytes and timestamps of n packets. */
static uint64_t digest(sd_gen *g, uint64_t n, size_t batch)
{
    const sd_packet *pkts[1024];
    uint64_t h = 0xcbf29ce484222325ull, done = 0;
    while (done < n) {
        size_t want = batch;
        if (want > n - done)
            want = (size_t)(n - done);
        int got = sd_gen_next(g, pkts, want);
        REQ_I(got, >, 0);
        for (int i = 0; i < got; i++) {
            uint8_t ts[8];
            for (int b = 0; b < 8; b++)
                ts[b] = (uint8_t)(pkts[i]->ts >> (8 * b));
            for (int b = 0; b < 8; b++)
                h = (h ^ ts[b]) * 0x100000001b3ull;
            for (uint32_t b = 0; b < pkts[i]->caplen; b++)
                h = (h ^ pkts[i]->data[b]) * 0x100000001b3ull;
        }
        done += (uint64_t)got;
    }
    return h;
}

/* ------------------------------------------------------------ config */

START_TEST(test_config_defaults)
{
    sd_gen_config c;
    sd_gen_config_init(&c);
    REQ_U(c.size, ==, sizeof c);
    REQ_U(c.seed, ==, 1);
    REQ_U(c.start_ns, ==, 1767225600ull * 1000000000ull);
    REQ(c.pps == 100000);
    REQ_U(c.count, ==, 0);
    REQ_U(c.duration_ns, ==, 10000000000ull);
    REQ_U(c.prefix4, ==, 0x2c000000u);
    REQ_U(c.prefix4_len, ==, 9);
    static const uint8_t p6[16] = {0x20, 0x01, 0x0d, 0xb8};
    REQ_MEM(c.prefix6, p6, 16);
    REQ_U(c.prefix6_len, ==, 32);
    REQ_U(c.n_sources, ==, 5000);
    REQ_U(c.n_victims, ==, 8);
    REQ_U(c.linktype, ==, SD_LINK_ETHERNET);
    static const double w[SD_GEN_NKINDS] = {20, 18, 14, 16, 10, 6, 8, 3, 1, 4};
    for (int k = 0; k < SD_GEN_NKINDS; k++)
        REQ(c.weight[k] == w[k]);
}
END_TEST

START_TEST(test_config_set)
{
    sd_gen_config c;
    char e[SD_ERRBUF_SIZE];
    sd_gen_config_init(&c);
    ck_assert_int_eq(sd_gen_config_parse(&c, "seed=7,count=2k,pps=1.5e3,duration=2.25,sources=10,"
                                             "victims=3,link=raw,prefix=10.20.0.0/16,"
                                             "prefix6=2001:db8:1234::/48,udp=2.5,frag=0",
                                         e),
                     0);
    REQ_U(c.seed, ==, 7);
    REQ_U(c.count, ==, 2000);
    REQ(c.pps == 1500);
    REQ_U(c.duration_ns, ==, 2250000000ull);
    REQ_U(c.n_sources, ==, 10);
    REQ_U(c.n_victims, ==, 3);
    REQ_U(c.linktype, ==, SD_LINK_RAW);
    REQ_U(c.prefix4, ==, 0x0a140000u);
    REQ_U(c.prefix4_len, ==, 16);
    static const uint8_t p6[16] = {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34};
    REQ_MEM(c.prefix6, p6, 16);
    REQ_U(c.prefix6_len, ==, 48);
    REQ(c.weight[SD_GEN_UDP] == 2.5);
    REQ(c.weight[SD_GEN_FRAGMENT] == 0);
    /* start: ISO 8601 UTC, or seconds since the epoch with a fraction */
    REQ_I(sd_gen_config_set(&c, "start", "2026-01-01T00:00:00Z", e), ==, 0);
    REQ_U(c.start_ns, ==, 1767225600ull * 1000000000ull);
    REQ_I(sd_gen_config_set(&c, "start", "2024-02-29 12:34:56.5", e), ==, 0);
    REQ_U(c.start_ns, ==, 1709210096500000000ull);
    REQ_I(sd_gen_config_set(&c, "start", "1000.000000001", e), ==, 0);
    REQ_U(c.start_ns, ==, 1000000000001ull);
    REQ_I(sd_gen_config_set(&c, "link", "ethernet", e), ==, 0);
    REQ_U(c.linktype, ==, SD_LINK_ETHERNET);
    REQ_I(sd_gen_config_parse(&c, "", e), ==, 0); /* nothing to do */
}
END_TEST

/* Each bad value fails with SD_ERR_INVAL and a message naming the key. */
START_TEST(test_config_errors)
{
    static const struct {
        const char *list, *needle;
    } bad[] = {
        {"count=abc", "count"},
        {"count=-1", "count"},
        {"count=99999999999999999999", "count"},
        {"seed=1.5", "seed"},
        {"pps=0", "pps"},
        {"pps=fast", "pps"},
        {"pps=2e9", "pps"},
        {"duration=1s", "duration"},
        {"start=2026-02-30T00:00:00", "start"},
        {"start=yesterday", "start"},
        {"prefix=44.0.0.0/33", "prefix"},
        {"prefix=44.1.0.0/9", "host bits"},
        {"prefix=44.0.0/9", "prefix"},
        {"prefix6=2001:db8::1/32", "prefix6"},
        {"prefix6=nope/32", "prefix6"},
        {"sources=0", "sources"},
        {"victims=100000", "victims"},
        {"link=ppp", "link"},
        {"scan=-1", "scan"},
        {"ipv6=x", "ipv6"},
        {"colour=red", "colour"},
        {"count", "count"},
        {"count=1,,seed=2", "empty"},
        {"count=1,", "empty"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        sd_gen_config c;
        char e[SD_ERRBUF_SIZE] = "";
        sd_gen_config_init(&c);
        REQ_MSG(sd_gen_config_parse(&c, bad[i].list, e) == SD_ERR_INVAL, "%s accepted", bad[i].list);
        REQ_MSG(strstr(e, bad[i].needle) != NULL, "%s: message \"%s\" lacks \"%s\"", bad[i].list, e,
                      bad[i].needle);
    }
    sd_gen_config c;
    sd_gen_config_init(&c);
    REQ_I(sd_gen_config_set(NULL, "seed", "1", NULL), ==, SD_ERR_INVAL);
    REQ_I(sd_gen_config_set(&c, "seed", NULL, NULL), ==, SD_ERR_INVAL);
    REQ_I(sd_gen_config_parse(&c, NULL, NULL), ==, SD_ERR_INVAL);
}
END_TEST

START_TEST(test_create_errors)
{
    sd_gen_config c;
    char e[SD_ERRBUF_SIZE] = "";
    sd_gen *g = (sd_gen *)&c;
    sd_gen_config_init(&c);
    for (int k = 0; k < SD_GEN_NKINDS; k++)
        c.weight[k] = 0;
    REQ_I(sd_gen_create(&g, &c, e), ==, SD_ERR_INVAL);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(e, "weight"));
    sd_gen_config_init(&c);
    c.pps = 0;
    REQ_I(sd_gen_create(&g, &c, e), ==, SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(e, "pps"));
    sd_gen_config_init(&c);
    c.prefix4 = 0x2c010000u; /* 44.1.0.0/9 */
    REQ_I(sd_gen_create(&g, &c, e), ==, SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(e, "prefix"));
    sd_gen_config_init(&c);
    c.linktype = 113;
    REQ_I(sd_gen_create(&g, &c, e), ==, SD_ERR_INVAL);
    sd_gen_config_init(&c);
    c.n_sources = 0;
    REQ_I(sd_gen_create(&g, &c, e), ==, SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(e, "sources"));
    sd_gen_config_init(&c);
    c.size = 0;
    REQ_I(sd_gen_create(&g, &c, e), ==, SD_ERR_INVAL);
    REQ_I(sd_gen_create(NULL, NULL, e), ==, SD_ERR_INVAL);
    /* NULL config: the defaults */
    REQ_I(sd_gen_create(&g, NULL, e), ==, 0);
    const sd_packet *pkts[4];
    REQ_I(sd_gen_next(g, pkts, 4), ==, 4);
    REQ_I(sd_gen_next(g, pkts, 0), ==, SD_ERR_INVAL);
    REQ_I(sd_gen_next(g, NULL, 4), ==, SD_ERR_INVAL);
    REQ_I(sd_gen_next(NULL, pkts, 4), ==, SD_ERR_INVAL);
    sd_gen_destroy(g);
    sd_gen_destroy(NULL);
    ck_assert_ptr_null(sd_gen_kind_counts(NULL));
}
END_TEST

/* Every allocation failure is reported as SD_ERR_NOMEM and leaks nothing
 * (the sanitizer build checks the leaks). */
START_TEST(test_create_oom)
{
    sd_gen_config c;
    sd_gen_config_init(&c);
    int failures = 0;
    for (long n = 0; n < 100; n++) {
        char e[SD_ERRBUF_SIZE] = "";
        sd_gen *g = NULL;
        sd__alloc_fail_after = n;
        int rc = sd_gen_create(&g, &c, e);
        sd__alloc_fail_after = -1;
        if (rc == 0) {
            ck_assert_ptr_nonnull(g);
            sd_gen_destroy(g);
            break;
        }
        REQ_I(rc, ==, SD_ERR_NOMEM);
        ck_assert_ptr_null(g);
        ck_assert_ptr_nonnull(strstr(e, "out of memory"));
        failures++;
    }
    REQ_I(failures, >, 3);
}
END_TEST

START_TEST(test_kind_names)
{
    static const char *const names[SD_GEN_NKINDS] = {"scan", "masscan", "zmap", "mirai", "udp",
                                                     "icmp", "backscatter", "spoofed", "frag", "ipv6"};
    for (int k = 0; k < SD_GEN_NKINDS; k++) {
        ck_assert_str_eq(sd_gen_kind_name(k), names[k]);
        /* each name is also the weight key */
        sd_gen_config c;
        sd_gen_config_init(&c);
        REQ_I(sd_gen_config_set(&c, names[k], "42", NULL), ==, 0);
        REQ(c.weight[k] == 42);
    }
    ck_assert_ptr_null(sd_gen_kind_name(-1));
    ck_assert_ptr_null(sd_gen_kind_name(SD_GEN_NKINDS));
}
END_TEST

/* ------------------------------------------------------------ determinism */

START_TEST(test_same_seed_any_batch)
{
    const uint64_t n = 20000;
    static const size_t batches[] = {1, 7, 64, 1000, 1024};
    uint64_t ref = 0;
    for (size_t i = 0; i < sizeof batches / sizeof batches[0]; i++) {
        sd_gen *g = make_gen("seed=42");
        uint64_t h = digest(g, n, batches[i]);
        sd_gen_destroy(g);
        if (i == 0)
            ref = h;
        REQ_MSG(h == ref, "batch %zu gives other packets", batches[i]);
    }
    sd_gen *g = make_gen("seed=43");
    REQ(digest(g, n, 1024) != ref);
    sd_gen_destroy(g);
    /* pps moves the timestamps (and the clocks some stacks put in the
     * packets: TCP TSval, ping payloads) only */
    g = make_gen("seed=42,pps=5000,scan=0,icmp=0,ipv6=0");
    sd_gen *h = make_gen("seed=42,scan=0,icmp=0,ipv6=0");
    const sd_packet *a[512], *b[512];
    REQ_I(sd_gen_next(g, a, 512), ==, 512);
    REQ_I(sd_gen_next(h, b, 512), ==, 512);
    for (int i = 0; i < 512; i++) {
        REQ_U(a[i]->caplen, ==, b[i]->caplen);
        REQ_MEM(a[i]->data, b[i]->data, a[i]->caplen);
    }
    REQ_U(a[511]->ts, >, b[511]->ts);
    sd_gen_destroy(g);
    sd_gen_destroy(h);
}
END_TEST

/* The exact output of the default configuration is part of the contract:
 * tests and benchmarks of the whole project depend on it, on every
 * platform. A deliberate change of the traffic model updates this value
 * (and says so in NEWS). */
START_TEST(test_golden_digest)
{
    sd_gen *g = make_gen("");
    uint64_t h = digest(g, 5000, 1024);
    sd_gen_destroy(g);
    REQ_MSG(h == 0x553e428d86f192b9ull, "digest of the default output is 0x%016llx", (unsigned long long)h);
}
END_TEST

/* ------------------------------------------------------------ amount */

START_TEST(test_count_eof)
{
    sd_gen *g = make_gen("count=2500");
    const sd_packet *pkts[1024];
    REQ_I(sd_gen_next(g, pkts, 1024), ==, 1024);
    REQ_I(sd_gen_next(g, pkts, 1024), ==, 1024);
    REQ_I(sd_gen_next(g, pkts, 1024), ==, 452);
    REQ_I(sd_gen_next(g, pkts, 1024), ==, SD_EOF);
    REQ_I(sd_gen_next(g, pkts, 1024), ==, SD_EOF);
    uint64_t sum = 0;
    const uint64_t *counts = sd_gen_kind_counts(g);
    for (int k = 0; k < SD_GEN_NKINDS; k++)
        sum += counts[k];
    REQ_U(sum, ==, 2500);
    sd_gen_destroy(g);
    /* more than a batch asked at once: capped, never more than asked */
    g = make_gen("count=3");
    REQ_I(sd_gen_next(g, pkts, 2), ==, 2);
    REQ_I(sd_gen_next(g, pkts, 1024), ==, 1);
    REQ_I(sd_gen_next(g, pkts, 1), ==, SD_EOF);
    sd_gen_destroy(g);
}
END_TEST

START_TEST(test_duration)
{
    /* 2 s at 10 kpps: about 20000 packets, all inside [start, start+2s) */
    sd_gen *g = make_gen("duration=2,pps=10000,start=100");
    const sd_packet *pkts[1024];
    uint64_t n = 0, first = 0, last = 0;
    int got;
    while ((got = sd_gen_next(g, pkts, 1024)) > 0) {
        if (n == 0)
            first = pkts[0]->ts;
        for (int i = 0; i < got; i++) {
            REQ_U(pkts[i]->ts, >=, 100000000000ull);
            REQ_U(pkts[i]->ts, <, 102000000000ull);
        }
        last = pkts[got - 1]->ts;
        n += (uint64_t)got;
    }
    REQ_I(got, ==, SD_EOF);
    REQ_U(first, ==, 100000000000ull);
    REQ_U(last, >, 101990000000ull);
    REQ_U(n, >, 19400); /* 20000 +- 4 sigma */
    REQ_U(n, <, 20600);
    sd_gen_destroy(g);
    /* count wins over duration */
    g = make_gen("count=50000,duration=1,pps=1000");
    n = 0;
    while ((got = sd_gen_next(g, pkts, 1024)) > 0)
        n += (uint64_t)got;
    REQ_U(n, ==, 50000);
    sd_gen_destroy(g);
    /* neither: endless */
    g = make_gen("count=0,duration=0,pps=1000000000");
    for (int i = 0; i < 100; i++)
        REQ_I(sd_gen_next(g, pkts, 1024), ==, 1024);
    sd_gen_destroy(g);
}
END_TEST

/* Timestamps never go back, and over 10^6 packets the mean gap is 1/pps
 * within 0.5% (the standard error is 0.1%). */
START_TEST(test_rate)
{
    sd_gen *g = make_gen("count=1000000,pps=250000");
    const sd_packet *pkts[1024];
    uint64_t n = 0, first = 0, prev = 0, zero_gaps = 0;
    int got;
    while ((got = sd_gen_next(g, pkts, 1024)) > 0) {
        for (int i = 0; i < got; i++) {
            if (n == 0)
                first = pkts[i]->ts;
            else
                REQ_U(pkts[i]->ts, >=, prev);
            if (n > 0 && pkts[i]->ts == prev)
                zero_gaps++;
            prev = pkts[i]->ts;
            n++;
        }
    }
    double mean = (double)(prev - first) / (double)(n - 1);
    REQ_MSG(mean > 4000 * 0.995 && mean < 4000 * 1.005, "mean gap %.2f ns, want 4000", mean);
    /* exponential gaps: P(gap < 1 ns) = 1/4000 */
    REQ_U(zero_gaps, <, 500);
    sd_gen_destroy(g);
}
END_TEST

/* ------------------------------------------------------------ content */

struct shares {
    uint64_t n[SD_GEN_NKINDS];
    uint64_t total, ttl_high, ttl_low, len60, v6, frags;
};

START_TEST(test_weights)
{
    sd_gen *g = make_gen("count=100000,seed=3");
    const sd_packet *pkts[1024];
    int got;
    uint64_t total = 0, len60 = 0, ttl_high = 0, ttl_low = 0;
    while ((got = sd_gen_next(g, pkts, 1024)) > 0) {
        for (int i = 0; i < got; i++) {
            struct info in;
            check_packet(pkts[i], SD_LINK_ETHERNET, &in);
            len60 += pkts[i]->caplen == 60;
            ttl_high += in.ttl >= 200;
            ttl_low += in.ttl <= 1;
        }
        total += (uint64_t)got;
    }
    const uint64_t *counts = sd_gen_kind_counts(g);
    static const double w[SD_GEN_NKINDS] = {20, 18, 14, 16, 10, 6, 8, 3, 1, 4};
    for (int k = 0; k < SD_GEN_NKINDS; k++) {
        double share = 100.0 * (double)counts[k] / (double)total;
        REQ_MSG(share > w[k] - 0.5 && share < w[k] + 0.5, "%s: %.2f%%, want %.0f%%",
                      sd_gen_kind_name(k), share, w[k]);
    }
    /* mostly minimum-size frames; some TTLs >= 200 and a few 0/1 */
    REQ_U(len60, >, total / 2);
    REQ_U(ttl_high, >, total / 10);
    REQ_U(ttl_low, >, 0);
    REQ_U(ttl_low, <, total / 20);
    sd_gen_destroy(g);

    g = make_gen("count=100000," ONLY("udp") ",masscan=3");
    while (sd_gen_next(g, pkts, 1024) > 0)
        ;
    counts = sd_gen_kind_counts(g);
    REQ_U(counts[SD_GEN_UDP] + counts[SD_GEN_MASSCAN], ==, 100000);
    REQ_U(counts[SD_GEN_MASSCAN], >, 74500);
    REQ_U(counts[SD_GEN_MASSCAN], <, 75500);
    sd_gen_destroy(g);
}
END_TEST

struct prefix_ctx {
    uint32_t pfx;
    unsigned len;
    uint8_t pfx6[16];
    unsigned len6;
    uint64_t v4, v6;
};

static void prefix_fn(const struct info *in, const sd_packet *p, void *ctx)
{
    struct prefix_ctx *c = ctx;
    (void)p;
    if (in->v6) {
        REQ(in_prefix6(in->dst6, c->pfx6, c->len6));
        REQ(!in_prefix6(in->src6, c->pfx6, c->len6));
        c->v6++;
    } else {
        REQ_MSG(in_prefix4(in->dst, c->pfx, c->len), "dst %08x outside the telescope", in->dst);
        REQ_MSG(!in_prefix4(in->src, c->pfx, c->len), "src %08x inside the telescope", in->src);
        if (in->q_src != 0) /* an ICMP error quotes the packet sent from the telescope */
            REQ(in_prefix4(in->q_src, c->pfx, c->len));
        c->v4++;
    }
}

START_TEST(test_prefix)
{
    struct prefix_ctx c = {0x2c000000u, 9, {0x20, 0x01, 0x0d, 0xb8}, 32, 0, 0};
    run_kind("seed=5", SD_LINK_ETHERNET, 50000, prefix_fn, &c);
    REQ_U(c.v6, >, 1000);
    REQ_U(c.v4, >, 40000);
    struct prefix_ctx d = {0x64c80000u, 24, {0x20, 0x01, 0x0d, 0xb8, 0x12, 0x34, 0x56}, 56, 0, 0};
    run_kind("seed=6,link=raw,prefix=100.200.0.0/24,prefix6=2001:db8:1234:5600::/56", SD_LINK_RAW, 50000, prefix_fn,
             &d);
    REQ_U(d.v6, >, 1000);
    struct prefix_ctx e = {0x0a0b0c0du, 32, {0x20, 0x01, 0x0d, 0xb8}, 128, 0, 0};
    run_kind("seed=7,prefix=10.11.12.13/32,prefix6=2001:db8::/128", SD_LINK_ETHERNET, 20000, prefix_fn, &e);
}
END_TEST

struct fp_ctx {
    uint64_t n, a, b, c, d;
    uint32_t seen[8];
};

static void scan_fn(const struct info *in, const sd_packet *p, void *ctx)
{
    struct fp_ctx *c = ctx;
    REQ_U(in->proto, ==, 6);
    REQ_U(in->flags, ==, 0x02);
    REQ_U(in->ack, ==, 0);
    REQ_U(in->mss, ==, 1460);
    REQ_MSG(p->caplen == 74 || p->caplen == 66 || p->caplen == 60, "scan frame %u", p->caplen);
    c->a += p->caplen == 74; /* Linux: MSS, SACK, TS, NOP, WS */
    c->b += in->dport == 23 || in->dport == 445 || in->dport == 22 || in->dport == 80 || in->dport == 443 ||
            in->dport == 3389 || in->dport == 8080;
    c->n++;
}

static void masscan_fn(const struct info *in, const sd_packet *p, void *ctx)
{
    struct fp_ctx *c = ctx;
    REQ_U(p->caplen, ==, 60);
    REQ_U(in->proto, ==, 6);
    REQ_U(in->flags, ==, 0x02);
    REQ_U(in->tcp_hlen, ==, 20);
    REQ_U(in->win, ==, 1024);
    REQ_U(in->ipid, ==, (in->dst ^ in->dport ^ in->seq) & 0xffff);
    /* TTL 255 minus the hops, or one of the odd 0/1 sources */
    REQ(in->ttl >= 200 || in->ttl <= 1);
    c->n++;
}

static void zmap_fn(const struct info *in, const sd_packet *p, void *ctx)
{
    struct fp_ctx *c = ctx;
    REQ_U(p->caplen, ==, 60);
    REQ_U(in->proto, ==, 6);
    REQ_U(in->flags, ==, 0x02);
    REQ_U(in->ipid, ==, 54321);
    REQ_U(in->win, ==, 65535);
    REQ_U(in->tcp_hlen, ==, 24);
    REQ_U(in->mss, ==, 1460);
    REQ_U(in->sport, >=, 32768);
    REQ_U(in->sport, <=, 61000);
    c->n++;
}

static void mirai_fn(const struct info *in, const sd_packet *p, void *ctx)
{
    struct fp_ctx *c = ctx;
    REQ_U(p->caplen, ==, 60);
    REQ_U(in->flags, ==, 0x02);
    REQ_U(in->seq, ==, in->dst);
    REQ_U(in->tcp_hlen, ==, 20);
    REQ(in->dport == 23 || in->dport == 2323);
    c->a += in->dport == 2323;
    c->n++;
}

START_TEST(test_fingerprints_tcp)
{
    struct fp_ctx c;
    memset(&c, 0, sizeof c);
    run_kind(ONLY("scan"), SD_LINK_ETHERNET, 20000, scan_fn, &c);
    REQ_U(c.a, >, c.n / 3);
    REQ_U(c.b, >, c.n / 3); /* the common ports dominate */
    memset(&c, 0, sizeof c);
    run_kind(ONLY("masscan"), SD_LINK_ETHERNET, 20000, masscan_fn, &c);
    memset(&c, 0, sizeof c);
    run_kind(ONLY("zmap"), SD_LINK_ETHERNET, 20000, zmap_fn, &c);
    memset(&c, 0, sizeof c);
    run_kind(ONLY("mirai"), SD_LINK_ETHERNET, 20000, mirai_fn, &c);
    REQ_U(c.a, >, 1600); /* 2323 one time in ten */
    REQ_U(c.a, <, 2400);
}
END_TEST

static void udp_fn(const struct info *in, const sd_packet *p, void *ctx)
{
    struct fp_ctx *c = ctx;
    (void)p;
    REQ_U(in->proto, ==, 17);
    switch (in->dport) {
    case 53: /* DNS query: QR 0, one question */
        REQ_U(in->payload[2] & 0x80, ==, 0);
        REQ_U(be16(in->payload + 4), ==, 1);
        c->seen[0]++;
        break;
    case 123:
        REQ(in->payload[0] == 0x17 || in->payload[0] == 0x23);
        c->seen[1]++;
        break;
    case 1900:
        REQ_MEM(in->payload, "M-SEARCH * HTTP/1.1\r\n", 21);
        c->seen[2]++;
        break;
    case 11211:
        REQ_MEM(in->payload + 8, "stats\r\n", 7);
        c->seen[3]++;
        break;
    case 161:
        REQ_U(in->payload[0], ==, 0x30); /* BER SEQUENCE */
        REQ_MEM(in->payload + 7, "public", 6);
        c->seen[4]++;
        break;
    case 137:
    case 1434:
        c->seen[5]++;
        break;
    default:
        REQ_MSG(in->dport >= 33434 && in->dport < 33534, "UDP port %u", in->dport);
        c->seen[6]++;
    }
    REQ_U(in->sport, >, in->dport < 1024 ? 1023 : in->dport);
    c->n++;
}

static void icmp_fn(const struct info *in, const sd_packet *p, void *ctx)
{
    struct fp_ctx *c = ctx;
    REQ_U(in->proto, ==, 1);
    REQ_U(in->icmp_type, ==, 8);
    REQ_U(in->icmp_code, ==, 0);
    c->a += p->caplen == 60;
    c->b += p->caplen == 98; /* Linux ping, 56 bytes */
    c->n++;
}

START_TEST(test_fingerprints_udp_icmp)
{
    struct fp_ctx c;
    memset(&c, 0, sizeof c);
    run_kind(ONLY("udp"), SD_LINK_ETHERNET, 20000, udp_fn, &c);
    for (int i = 0; i < 7; i++)
        REQ_MSG(c.seen[i] > 200, "UDP service %d seen %u times", i, c.seen[i]);
    memset(&c, 0, sizeof c);
    run_kind(ONLY("icmp"), SD_LINK_ETHERNET, 20000, icmp_fn, &c);
    REQ_U(c.a, >, 1000);
    REQ_U(c.b, >, 1000);
}
END_TEST

static void backscatter_fn(const struct info *in, const sd_packet *p, void *ctx)
{
    struct fp_ctx *c = ctx;
    (void)p;
    if (in->proto == 6) {
        /* the victim answers from its service port */
        REQ(in->flags == 0x12 || in->flags == 0x14 || in->flags == 0x04);
        REQ_U(in->sport, <, 32768);
        REQ_U(in->dport, >=, 1024);
        c->a += in->flags == 0x12;
        c->b += in->flags != 0x12;
        if (in->flags == 0x14)
            REQ_U(in->seq, ==, 0);
    } else {
        REQ_U(in->proto, ==, 1);
        REQ(in->icmp_type == 3 || in->icmp_type == 11);
        /* The quoted attack packet went from the telescope to the victim;
         * unreachables come from the victim, time exceeded from a router
         * in its /24. */
        if (in->icmp_type == 3)
            REQ_U(in->q_dst, ==, in->src);
        else
            REQ_U(in->q_dst & 0xffffff00u, ==, in->src & 0xffffff00u);
        REQ_U(in->q_src, ==, in->dst);
        REQ(in->q_proto == 6 || in->q_proto == 17);
        c->c++;
    }
    /* few victims */
    int k = 0;
    uint32_t v = in->proto == 1 ? in->q_dst : in->src;
    while (k < 8 && c->seen[k] != 0 && c->seen[k] != v)
        k++;
    REQ_MSG(k < 8, "more than 8 victims");
    c->seen[k] = v;
    c->n++;
}

static void spoofed_fn(const struct info *in, const sd_packet *p, void *ctx)
{
    struct fp_ctx *c = ctx;
    (void)p;
    static const struct {
        uint32_t base;
        unsigned len;
    } bogons[] = {{0x00000000u, 8},  {0x0a000000u, 8},  {0x64400000u, 10}, {0x7f000000u, 8},
                  {0xa9fe0000u, 16}, {0xac100000u, 12}, {0xc0000200u, 24}, {0xc0a80000u, 16},
                  {0xc6120000u, 15}, {0xc6336400u, 24}, {0xcb007100u, 24}, {0xe0000000u, 4},
                  {0xf0000000u, 4}};
    int hit = 0;
    for (size_t i = 0; i < sizeof bogons / sizeof bogons[0]; i++)
        hit |= in_prefix4(in->src, bogons[i].base, bogons[i].len);
    REQ_MSG(hit, "spoofed source %08x is routable", in->src);
    c->a += in_prefix4(in->src, 0x0a000000u, 8);
    c->b += in_prefix4(in->src, 0xe0000000u, 3); /* 224/4 and 240/4 */
    c->n++;
}

START_TEST(test_fingerprints_backscatter_spoofed)
{
    struct fp_ctx c;
    memset(&c, 0, sizeof c);
    run_kind(ONLY("backscatter") ",victims=8", SD_LINK_ETHERNET, 20000, backscatter_fn, &c);
    REQ_U(c.a, >, 0);
    REQ_U(c.b, >, 0);
    REQ_U(c.c, >, 0);
    memset(&c, 0, sizeof c);
    run_kind(ONLY("spoofed"), SD_LINK_ETHERNET, 20000, spoofed_fn, &c);
    REQ_U(c.a, >, 1000);
    REQ_U(c.b, >, 1000);
}
END_TEST

/* Fragments: first ones with MF and offset 0, later ones with an offset;
 * each datagram put back together has a valid L4 checksum. */
struct frag_ctx {
    uint64_t first, later, complete;
    int next_slot;
    struct {
        uint32_t src, dst, id, have, proto;
        uint8_t data[4096];
        uint32_t len, got;
    } d[64];
};

static void frag_fn(const struct info *in, const sd_packet *p, void *ctx)
{
    struct frag_ctx *c = ctx;
    REQ(!in->df);
    REQ(in->mf || in->frag_off > 0);
    REQ(in->proto == 17 || in->proto == 1);
    const uint8_t *ip = p->data + 14;
    uint32_t plen = be16(ip + 2) - 20;
    if (in->mf)
        REQ_U(plen % 8, ==, 0);
    if (in->frag_off == 0)
        c->first++;
    else
        c->later++;
    int slot = -1;
    for (int i = 0; i < 64; i++)
        if (c->d[i].have && c->d[i].src == in->src && c->d[i].id == in->ipid)
            slot = i;
    if (slot < 0) {
        /* a ring: datagrams whose first fragment was lost never complete */
        slot = c->next_slot++ % 64;
        memset(&c->d[slot], 0, sizeof c->d[slot]);
        c->d[slot].have = 1;
        c->d[slot].src = in->src;
        c->d[slot].dst = in->dst;
        c->d[slot].id = in->ipid;
        c->d[slot].proto = in->proto;
    }
    REQ_U(in->frag_off + plen, <=, sizeof c->d[slot].data);
    memcpy(c->d[slot].data + in->frag_off, ip + 20, plen);
    c->d[slot].got += plen;
    if (!in->mf)
        c->d[slot].len = in->frag_off + plen;
    if (c->d[slot].len != 0 && c->d[slot].got == c->d[slot].len) {
        const uint8_t *l4 = c->d[slot].data;
        uint32_t len = c->d[slot].len, s = 0;
        if (c->d[slot].proto == 17) {
            REQ_U(be16(l4 + 4), ==, len);
            s = (c->d[slot].src >> 16) + (c->d[slot].src & 0xffff) + (c->d[slot].dst >> 16) +
                (c->d[slot].dst & 0xffff) + 17 + len;
            REQ_U(be16(l4), ==, 53); /* a DNS response */
            REQ_U(l4[10] & 0x80, ==, 0x80);
        } else {
            REQ_U(l4[0], ==, 8);
        }
        REQ_MSG(csum_ok(sum_bytes(l4, len, s)), "reassembled datagram: bad checksum");
        c->complete++;
        c->d[slot].have = 0;
    }
}

START_TEST(test_fragments)
{
    struct frag_ctx *c = calloc(1, sizeof *c);
    ck_assert_ptr_nonnull(c);
    run_kind(ONLY("frag"), SD_LINK_ETHERNET, 10000, frag_fn, c);
    REQ_U(c->first, >, 2000);
    REQ_U(c->later, >, 4000);
    REQ_U(c->complete, >, 2000);
    free(c);
}
END_TEST

static void ipv6_fn(const struct info *in, const sd_packet *p, void *ctx)
{
    struct fp_ctx *c = ctx;
    REQ(in->v6);
    REQ(in->proto == 6 || in->proto == 58);
    if (in->proto == 6)
        REQ_U(in->flags, ==, 0x02);
    c->a += in->proto == 6;
    c->b += p->caplen == 74;
    c->n++;
}

START_TEST(test_ipv6_and_raw)
{
    struct fp_ctx c;
    memset(&c, 0, sizeof c);
    run_kind(ONLY("ipv6"), SD_LINK_ETHERNET, 10000, ipv6_fn, &c);
    REQ_U(c.a, >, 5000);
    REQ_U(c.b, >, 1000);
    /* raw IP: the same packets without the Ethernet header and padding */
    sd_gen *e = make_gen("count=2000,seed=9");
    sd_gen *r = make_gen("count=2000,seed=9,link=raw");
    const sd_packet *pe[1024], *pr[1024];
    int ne, nr;
    while ((ne = sd_gen_next(e, pe, 1024)) > 0) {
        nr = sd_gen_next(r, pr, 1024);
        REQ_I(ne, ==, nr);
        for (int i = 0; i < ne; i++) {
            struct info in;
            check_packet(pr[i], SD_LINK_RAW, &in);
            REQ_U(pe[i]->ts, ==, pr[i]->ts);
            REQ_U(pr[i]->caplen + 14, <=, pe[i]->caplen);
            REQ_MEM(pe[i]->data + 14, pr[i]->data, pr[i]->caplen);
        }
    }
    sd_gen_destroy(e);
    sd_gen_destroy(r);
}
END_TEST

/* ------------------------------------------------------------ gen: source */

START_TEST(test_source)
{
    char e[SD_ERRBUF_SIZE] = "";
    sd_source *src;
    REQ_MSG(sd_source_open(&src, "gen:count=1000,seed=7", e) == 0, "%s", e);
    ck_assert_str_eq(sd_source_format(src), "gen");
    const sd_packet *pkts[64];
    uint64_t n = 0;
    int got;
    while ((got = sd_source_read(src, pkts, 64)) > 0) {
        for (int i = 0; i < got; i++) {
            struct info in;
            check_packet(pkts[i], SD_LINK_ETHERNET, &in);
        }
        n += (uint64_t)got;
    }
    REQ_I(got, ==, SD_EOF);
    REQ_U(n, ==, 1000);
    sd_source_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    REQ_I(sd_source_get_stats(src, &st), ==, 0);
    REQ_U(st.packets, ==, 1000);
    sd_source_close(src);

    /* the same packets as sd_gen with that configuration */
    REQ_I(sd_source_open(&src, "gen:count=300,seed=7", e), ==, 0);
    sd_gen *g = make_gen("count=300,seed=7");
    const sd_packet *a[300], *b[300];
    REQ_I(sd_source_read(src, a, 300), ==, 300);
    REQ_I(sd_gen_next(g, b, 300), ==, 300);
    for (int i = 0; i < 300; i++) {
        REQ_U(a[i]->ts, ==, b[i]->ts);
        REQ_U(a[i]->caplen, ==, b[i]->caplen);
        REQ_MEM(a[i]->data, b[i]->data, a[i]->caplen);
    }
    sd_gen_destroy(g);
    sd_source_close(src);

    /* a filter applies as to any source */
    REQ_I(sd_source_open(&src, "gen:count=5000," ONLY("mirai"), e), ==, 0);
    REQ_I(sd_source_set_filter(src, "tcp dst port 2323"), ==, 0);
    n = 0;
    while ((got = sd_source_read(src, pkts, 64)) > 0)
        n += (uint64_t)got;
    REQ_U(n, >, 300);
    REQ_U(n, <, 700);
    sd_source_close(src);

    /* bad options: the error names the URI and the key */
    src = (sd_source *)&n;
    REQ_I(sd_source_open(&src, "gen:count=1000,pps=x", e), ==, SD_ERR_INVAL);
    ck_assert_ptr_null(src);
    ck_assert_ptr_nonnull(strstr(e, "gen:count=1000,pps=x"));
    ck_assert_ptr_nonnull(strstr(e, "pps"));
    REQ_I(sd_source_open(&src, "gen:bogus=1", e), ==, SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(e, "bogus"));
    /* gen: alone: the defaults */
    REQ_I(sd_source_open(&src, "gen:", e), ==, 0);
    REQ_I(sd_source_read(src, pkts, 64), ==, 64);
    REQ_U(pkts[0]->ts, ==, 1767225600ull * 1000000000ull);
    sd_source_close(src);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("gen");
    TCase *tc = tcase_create("config");
    tcase_add_test(tc, test_config_defaults);
    tcase_add_test(tc, test_config_set);
    tcase_add_test(tc, test_config_errors);
    tcase_add_test(tc, test_create_errors);
    tcase_add_test(tc, test_create_oom);
    tcase_add_test(tc, test_kind_names);
    suite_add_tcase(s, tc);
    tc = tcase_create("determinism");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_same_seed_any_batch);
    tcase_add_test(tc, test_golden_digest);
    suite_add_tcase(s, tc);
    tc = tcase_create("amount");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_count_eof);
    tcase_add_test(tc, test_duration);
    tcase_add_test(tc, test_rate);
    suite_add_tcase(s, tc);
    tc = tcase_create("content");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_weights);
    tcase_add_test(tc, test_prefix);
    tcase_add_test(tc, test_fingerprints_tcp);
    tcase_add_test(tc, test_fingerprints_udp_icmp);
    tcase_add_test(tc, test_fingerprints_backscatter_spoofed);
    tcase_add_test(tc, test_fragments);
    tcase_add_test(tc, test_ipv6_and_raw);
    suite_add_tcase(s, tc);
    tc = tcase_create("source");
    tcase_add_test(tc, test_source);
    suite_add_tcase(s, tc);
    return sd_test_run(s);
}
