/* Unit tests for the FT3 -> FT4 fold (include/stardust/ft4.h,
 * flowtuple.md §2). Expectations are computed by hand in each test; the
 * randomised tests compare with the plain fold of tests/bench/ft4_ref.h. */
#include "config.h"

#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/ft4.h>
#include <stardust/gen.h>
#include <stardust/parse.h>

#include "internal.h"
#include "testutil.h"
#include "../bench/ft4_ref.h"

#define IP(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
#define T0 1700000100u /* a multiple of 300 */

/* ------------------------------------------------------------ helpers */

struct cap {
    int calls; /* intervals emitted */
    uint32_t time[64];
    size_t count[64];
    sd_ft4_record *r;
    size_t n, cap;
    int fail; /* return this from the next emit */
    int open; /* inside an interval: its last chunk is still to come */
    uint32_t interval; /* 0: the default */
    int chunks;
};

static int cap_emit(void *ud, const sd_ft_chunk_info *info, const sd_ft4_record *recs,
                    size_t n)
{
    struct cap *c = ud;
    uint32_t time = (uint32_t)info->time;
    int last = info->final;
    ck_assert_uint_eq(info->end, info->time + (c->interval ? c->interval : 300));
    ck_assert_int_eq(info->worker, -1);
    uint64_t p = 0;
    for (size_t i = 0; i < n; i++)
        p += recs[i].packet_cnt;
    ck_assert_uint_eq(info->packets, p);
    if (c->fail) {
        int f = c->fail;
        c->fail = 0;
        return f;
    }
    ck_assert_int_gt(n, 0);
    ck_assert_int_le(n, 256);
    /* one interval at a time, its chunks together, ended by last */
    if (c->open) {
        ck_assert_uint_eq(time, c->time[c->calls]);
    } else {
        ck_assert(c->calls == 0 || time > c->time[c->calls - 1]);
        c->time[c->calls] = time;
        c->count[c->calls] = 0;
        c->open = 1;
    }
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_eq(recs[i].time, time);
    c->count[c->calls] += n;
    c->chunks++;
    if (last) {
        c->open = 0;
        c->calls++;
        ck_assert_int_lt(c->calls, 64);
    }
    if (c->n + n > c->cap) {
        c->cap = (c->n + n) * 2;
        c->r = realloc(c->r, c->cap * sizeof *c->r);
        ck_assert_ptr_nonnull(c->r);
    }
    memcpy(c->r + c->n, recs, n * sizeof *recs);
    c->n += n;
    return 0;
}

static void cap_free(struct cap *c) { free(c->r); }

static sd_ft3_record rec(uint32_t time, uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                         uint8_t proto, uint8_t ttl, uint8_t flags, uint16_t len, uint64_t cnt)
{
    sd_ft3_record r;
    memset(&r, 0, sizeof r);
    r.time = time;
    r.src_ip = src;
    r.dst_ip = dst;
    r.src_port = sport;
    r.dst_port = dport;
    r.protocol = proto;
    r.ttl = ttl;
    r.tcp_flags = flags;
    r.ip_len = len;
    r.packet_cnt = cnt;
    memcpy(r.maxmind_continent, "??", 2);
    memcpy(r.maxmind_country, "??", 2);
    memcpy(r.netacq_continent, "??", 2);
    memcpy(r.netacq_country, "??", 2);
    return r;
}

/* Fold recs with (interval 300, prefix, version) and flush. */
static void fold_all(const sd_ft3_record *recs, size_t n, int prefix, int version, struct cap *c)
{
    sd_ft4_config cfg;
    sd_ft4_config_init(&cfg);
    cfg.dst_prefix_len = (uint8_t)prefix;
    cfg.version = (uint8_t)version;
    sd_ft4 *f;
    char err[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_ft4_create(&f, &cfg, cap_emit, c, err), 0);
    ck_assert_int_eq(sd_ft4_add(f, recs, n), 0);
    ck_assert_int_eq(sd_ft4_flush(f), 0);
    sd_ft4_destroy(f);
}

static void common_eq(const sd_ft4_common *c, uint32_t n, const uint64_t *vals, const uint64_t *freqs)
{
    ck_assert_uint_eq(c->n, n);
    for (uint32_t i = 0; i < n; i++) {
        ck_assert_uint_eq(c->value[i], vals[i]);
        ck_assert_uint_eq(c->freq[i], freqs[i]);
    }
}

/* One TCP group from src 1.2.3.4 to 10.1.0.0/16 port 80, records given as
 * (ttl, count) pairs with distinct destinations: the TTL list. */
static sd_ft4_record ttl_group(const uint64_t *cnt, size_t d)
{
    sd_ft3_record r[32];
    for (size_t i = 0; i < d; i++)
        r[i] = rec(T0, IP(1, 2, 3, 4), IP(10, 1, 0, (int)i), 1000, 80, 6, (uint8_t)(100 + i),
                   0x02, 60, cnt[i]);
    struct cap c = {0};
    fold_all(r, d, 16, 2, &c);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_uint_eq(c.n, 1);
    sd_ft4_record o = c.r[0];
    cap_free(&c);
    ck_assert_uint_eq(o.uniq_ttls, d);
    return o;
}

/* ------------------------------------------------------------ counters */

START_TEST(tcp_group_counters)
{
    sd_ft3_record r[5];
    /* one group: 1.2.3.4 -> 10.1.0.0/16 : 80 */
    r[0] = rec(T0, IP(1, 2, 3, 4), IP(10, 1, 2, 3), 1000, 80, 6, 50, 0x02, 60, 4);
    r[1] = rec(T0 + 60, IP(1, 2, 3, 4), IP(10, 1, 2, 3), 1001, 80, 6, 50, 0x12, 40, 2);
    r[2] = rec(T0, IP(1, 2, 3, 4), IP(10, 1, 9, 9), 1000, 80, 6, 51, 0x02, 60, 1);
    r[3] = rec(T0 + 120, IP(1, 2, 3, 4), IP(10, 1, 200, 1), 1002, 80, 6, 50, 0x04, 40, 3);
    /* same hosts' low 16 bits in another /16: another group */
    r[4] = rec(T0, IP(1, 2, 3, 4), IP(10, 2, 2, 3), 1000, 80, 6, 50, 0x02, 60, 7);
    struct cap c = {0};
    fold_all(r, 5, 16, 2, &c);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_uint_eq(c.time[0], T0);
    ck_assert_uint_eq(c.n, 2);
    const sd_ft4_record *o = &c.r[0];
    ck_assert_uint_eq(o->time, T0);
    ck_assert_uint_eq(o->src_ip, IP(1, 2, 3, 4));
    ck_assert_uint_eq(o->dst_net, IP(10, 1, 0, 0)); /* the real first octet, not 44 */
    ck_assert_uint_eq(o->dst_port, 80);
    ck_assert_uint_eq(o->protocol, 6);
    ck_assert_uint_eq(o->packet_cnt, 10);
    ck_assert_uint_eq(o->uniq_dst_ips, 3);
    ck_assert_uint_eq(o->uniq_pkt_sizes, 2);
    ck_assert_uint_eq(o->uniq_ttls, 2);
    ck_assert_uint_eq(o->uniq_src_ports, 3);
    ck_assert_uint_eq(o->uniq_tcp_flags, 3);
    /* p = 10, d < 15: ratio 0.33, threshold 3.3 packets */
    common_eq(&o->common_pktsizes, 2, (uint64_t[]){40, 60}, (uint64_t[]){5, 5});
    common_eq(&o->common_ttls, 1, (uint64_t[]){50}, (uint64_t[]){9});
    common_eq(&o->common_srcports, 1, (uint64_t[]){1000}, (uint64_t[]){5});
    common_eq(&o->common_tcpflags, 1, (uint64_t[]){0x02}, (uint64_t[]){5});
    ck_assert_uint_eq(c.r[1].dst_net, IP(10, 2, 0, 0));
    ck_assert_uint_eq(c.r[1].packet_cnt, 7);
    ck_assert_uint_eq(c.r[1].uniq_dst_ips, 1);
    cap_free(&c);
}
END_TEST

START_TEST(udp_counts_ports_not_flags)
{
    sd_ft3_record r[3];
    r[0] = rec(T0, IP(5, 5, 5, 5), IP(10, 1, 0, 1), 53, 53, 17, 60, 0, 80, 1);
    r[1] = rec(T0, IP(5, 5, 5, 5), IP(10, 1, 0, 2), 54, 53, 17, 60, 0, 80, 1);
    r[2] = rec(T0, IP(5, 5, 5, 5), IP(10, 1, 0, 3), 53, 53, 17, 61, 0, 90, 1);
    struct cap c = {0};
    fold_all(r, 3, 16, 2, &c);
    ck_assert_uint_eq(c.n, 1);
    const sd_ft4_record *o = &c.r[0];
    ck_assert_uint_eq(o->dst_port, 53);
    ck_assert_uint_eq(o->uniq_src_ports, 2);
    ck_assert_uint_eq(o->uniq_tcp_flags, 0);
    ck_assert_uint_eq(o->common_tcpflags.n, 0);
    ck_assert_uint_eq(o->uniq_dst_ips, 3);
    /* p = 3 < 10, d = 2 < 4: ratio 1.0, nothing has all 3 packets */
    ck_assert_uint_eq(o->common_srcports.n, 0);
    ck_assert_uint_eq(o->common_ttls.n, 0);
    cap_free(&c);
}
END_TEST

START_TEST(icmp_typecode)
{
    sd_ft3_record r[3];
    /* ICMP: src_port = type, dst_port = code */
    r[0] = rec(T0, IP(9, 9, 9, 9), IP(10, 1, 0, 1), 3, 1, 1, 64, 0, 56, 2);
    r[1] = rec(T0, IP(9, 9, 9, 9), IP(10, 1, 0, 2), 3, 1, 1, 64, 0, 56, 1);
    r[2] = rec(T0, IP(9, 9, 9, 9), IP(10, 1, 0, 2), 3, 3, 1, 64, 0, 56, 1);
    struct cap c = {0};
    fold_all(r, 3, 16, 2, &c);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_uint_eq(c.r[0].dst_port, 3 * 256 + 1);
    ck_assert_uint_eq(c.r[0].protocol, 1);
    ck_assert_uint_eq(c.r[0].packet_cnt, 3);
    ck_assert_uint_eq(c.r[0].uniq_dst_ips, 2);
    ck_assert_uint_eq(c.r[0].uniq_src_ports, 0);
    ck_assert_uint_eq(c.r[0].uniq_tcp_flags, 0);
    ck_assert_uint_eq(c.r[0].common_srcports.n, 0);
    ck_assert_uint_eq(c.r[0].common_tcpflags.n, 0);
    common_eq(&c.r[0].common_pktsizes, 1, (uint64_t[]){56}, (uint64_t[]){3});
    ck_assert_uint_eq(c.r[1].dst_port, 3 * 256 + 3);
    cap_free(&c);
}
END_TEST

START_TEST(other_protocol_key)
{
    sd_ft3_record r[3];
    r[0] = rec(T0, IP(9, 9, 9, 9), IP(10, 1, 0, 1), 0, 0, 47, 64, 0, 100, 1);
    r[1] = rec(T0, IP(9, 9, 9, 9), IP(10, 1, 0, 2), 0, 0, 47, 64, 0, 100, 1);
    r[2] = rec(T0, IP(9, 9, 9, 9), IP(10, 1, 0, 1), 0, 0, 41, 64, 0, 100, 1);
    struct cap c = {0};
    fold_all(r, 3, 16, 2, &c);
    ck_assert_uint_eq(c.n, 2);
    /* grouped by protocol, ascending; dst_port written 0 */
    ck_assert_uint_eq(c.r[0].protocol, 41);
    ck_assert_uint_eq(c.r[0].dst_port, 0);
    ck_assert_uint_eq(c.r[0].packet_cnt, 1);
    ck_assert_uint_eq(c.r[1].protocol, 47);
    ck_assert_uint_eq(c.r[1].dst_port, 0);
    ck_assert_uint_eq(c.r[1].packet_cnt, 2);
    ck_assert_uint_eq(c.r[1].uniq_dst_ips, 2);
    ck_assert_uint_eq(c.r[1].uniq_src_ports, 0);
    ck_assert_uint_eq(c.r[1].uniq_tcp_flags, 0);
    cap_free(&c);
}
END_TEST

START_TEST(prefix_16_vs_24)
{
    sd_ft3_record r[4];
    r[0] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 2, 3), 5, 80, 6, 64, 2, 60, 1);
    r[1] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 3, 3), 5, 80, 6, 64, 2, 60, 1);
    r[2] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 2, 4), 5, 80, 6, 64, 2, 60, 1);
    r[3] = rec(T0, IP(1, 1, 1, 1), IP(11, 1, 2, 3), 5, 80, 6, 64, 2, 60, 1);
    struct cap c = {0};
    fold_all(r, 4, 16, 2, &c);
    ck_assert_uint_eq(c.n, 2);
    ck_assert_uint_eq(c.r[0].dst_net, IP(10, 1, 0, 0));
    ck_assert_uint_eq(c.r[0].uniq_dst_ips, 3);
    ck_assert_uint_eq(c.r[1].dst_net, IP(11, 1, 0, 0));
    ck_assert_uint_eq(c.r[1].uniq_dst_ips, 1);
    cap_free(&c);
    struct cap d = {0};
    fold_all(r, 4, 24, 2, &d);
    ck_assert_uint_eq(d.n, 3);
    ck_assert_uint_eq(d.r[0].dst_net, IP(10, 1, 2, 0));
    ck_assert_uint_eq(d.r[0].uniq_dst_ips, 2);
    ck_assert_uint_eq(d.r[1].dst_net, IP(10, 1, 3, 0));
    ck_assert_uint_eq(d.r[2].dst_net, IP(11, 1, 2, 0));
    cap_free(&d);
}
END_TEST

START_TEST(spoofed_masscan_and_versions)
{
    sd_ft3_record r[3];
    r[0] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 2, 3), 5, 80, 6, 64, 2, 60, 3);
    r[0].is_spoofed = 1;
    r[1] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 2, 4), 5, 80, 6, 64, 2, 60, 4);
    r[1].is_spoofed = 1;
    r[1].is_masscan = 1;
    r[2] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 2, 5), 5, 80, 6, 64, 2, 60, 5);
    for (int i = 0; i < 3; i++) {
        memcpy(r[i].maxmind_continent, "EU", 2);
        memcpy(r[i].maxmind_country, "DE", 2);
        memcpy(r[i].netacq_continent, "EU", 2);
        memcpy(r[i].netacq_country, "FR", 2);
        r[i].prefix2asn = 3320;
    }
    for (int v = 0; v <= 2; v++) {
        struct cap c = {0};
        fold_all(r, 3, 16, v, &c);
        ck_assert_uint_eq(c.n, 1);
        const sd_ft4_record *o = &c.r[0];
        ck_assert_uint_eq(o->packet_cnt, 12);
        ck_assert_uint_eq(o->spoofed_packet_cnt, v == 2 ? 7 : 0);
        ck_assert_uint_eq(o->masscan_packet_cnt, v == 2 ? 4 : 0);
        ck_assert(memcmp(o->maxmind_continent, v >= 1 ? "EU" : "??", 2) == 0);
        ck_assert(memcmp(o->maxmind_country, v >= 1 ? "DE" : "??", 2) == 0);
        ck_assert(memcmp(o->netacq_continent, "EU", 2) == 0);
        ck_assert(memcmp(o->netacq_country, "FR", 2) == 0);
        ck_assert_uint_eq(o->prefix2asn, 3320);
        cap_free(&c);
    }
}
END_TEST

/* ------------------------------------------------------------ ratios */

START_TEST(ratio_small_p_d_lt_4)
{
    /* p = 4, d = 1: ratio 1.0, the single value has them all */
    sd_ft4_record o = ttl_group((uint64_t[]){4}, 1);
    common_eq(&o.common_ttls, 1, (uint64_t[]){100}, (uint64_t[]){4});
    /* p = 5, d = 3: 3 of 5 is below 1.0 */
    o = ttl_group((uint64_t[]){3, 1, 1}, 3);
    ck_assert_uint_eq(o.common_ttls.n, 0);
}
END_TEST

START_TEST(ratio_small_p_d_lt_7)
{
    /* p = 8, d = 4: ratio 0.5, exactly half passes */
    sd_ft4_record o = ttl_group((uint64_t[]){1, 4, 2, 1}, 4);
    common_eq(&o.common_ttls, 1, (uint64_t[]){101}, (uint64_t[]){4});
    /* p = 9, d = 6: 0.5 * 9 = 4.5; 4 fails, nothing */
    o = ttl_group((uint64_t[]){4, 1, 1, 1, 1, 1}, 6);
    ck_assert_uint_eq(o.common_ttls.n, 0);
}
END_TEST

START_TEST(ratio_small_p_d_ge_7)
{
    /* p = 9, d = 7: ratio 0.33 -> 2.97; 3 passes (it would fail at 0.5) */
    sd_ft4_record o = ttl_group((uint64_t[]){1, 1, 3, 1, 1, 1, 1}, 7);
    common_eq(&o.common_ttls, 1, (uint64_t[]){102}, (uint64_t[]){3});
}
END_TEST

START_TEST(ratio_large_p_d_lt_15)
{
    /* p = 10, d = 3: ratio 0.33 -> 3.3; 4 passes, 3 does not */
    sd_ft4_record o = ttl_group((uint64_t[]){3, 4, 3}, 3);
    common_eq(&o.common_ttls, 1, (uint64_t[]){101}, (uint64_t[]){4});
    /* p = 100, d = 14: 33 passes exactly (33 * 100 >= 33 * 100), 32 not */
    uint64_t c[14] = {33, 32, 33};
    for (int i = 3; i < 14; i++)
        c[i] = 0;
    c[13] = 2;
    o = ttl_group(c, 14);
    ck_assert_uint_eq(o.packet_cnt, 100);
    common_eq(&o.common_ttls, 2, (uint64_t[]){100, 102}, (uint64_t[]){33, 33});
}
END_TEST

START_TEST(ratio_large_p_d_ge_15)
{
    /* p = 100, d = 15: ratio 0.2 -> 20; four values of 20, the rest 2/1 */
    uint64_t c[15] = {20, 2, 20, 2, 20, 2, 20, 2, 2, 2, 2, 2, 2, 1, 1};
    sd_ft4_record o = ttl_group(c, 15);
    ck_assert_uint_eq(o.packet_cnt, 100);
    common_eq(&o.common_ttls, 4, (uint64_t[]){100, 102, 104, 106},
              (uint64_t[]){20, 20, 20, 20});
}
END_TEST

START_TEST(five_value_limit)
{
    /* five values with exactly 20 % each: only reachable with d >= 15, so
     * ten more values with packet_cnt 0; all five are listed */
    uint64_t c[15] = {0, 20, 0, 20, 0, 20, 0, 20, 0, 20, 0, 0, 0, 0, 0};
    sd_ft4_record o = ttl_group(c, 15);
    common_eq(&o.common_ttls, 5, (uint64_t[]){101, 103, 105, 107, 109},
              (uint64_t[]){20, 20, 20, 20, 20});
    /* p = 0: every value passes; the walk stops after the five smallest */
    uint64_t z[7] = {0, 0, 0, 0, 0, 0, 0};
    o = ttl_group(z, 7);
    common_eq(&o.common_ttls, 5, (uint64_t[]){100, 101, 102, 103, 104},
              (uint64_t[]){0, 0, 0, 0, 0});
}
END_TEST

/* ------------------------------------------------------------ choices */

START_TEST(pure_syn_choice)
{
    sd_ft3_record r[5];
    r[0] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 30, 0x12, 60, 9);
    r[1] = rec(T0 + 60, IP(1, 1, 1, 1), IP(10, 1, 0, 2), 5, 80, 6, 20, 0x02, 60, 1);
    r[1].tcp_synlen = 40;
    r[1].tcp_synwinlen = 1000;
    r[2] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 0, 3), 5, 80, 6, 50, 0x02, 60, 1);
    r[2].tcp_synlen = 44;
    r[2].tcp_synwinlen = 2000;
    r[3] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 0, 4), 5, 80, 6, 40, 0x02, 60, 1);
    r[3].tcp_synlen = 24;
    r[3].tcp_synwinlen = 3000;
    /* a group without a pure SYN */
    r[4] = rec(T0, IP(2, 2, 2, 2), IP(10, 1, 0, 4), 5, 80, 6, 40, 0x12, 60, 1);
    struct cap c = {0};
    fold_all(r, 5, 16, 2, &c);
    ck_assert_uint_eq(c.n, 2);
    /* earliest time (T0), then smallest ttl (40) */
    ck_assert_uint_eq(c.r[0].first_syn_length, 24);
    ck_assert_uint_eq(c.r[0].first_tcp_rwin, 3000);
    ck_assert_uint_eq(c.r[1].first_syn_length, 0);
    ck_assert_uint_eq(c.r[1].first_tcp_rwin, 0);
    cap_free(&c);
}
END_TEST

START_TEST(tags_largest_count)
{
    sd_ft3_record r[4];
    r[0] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 30, 2, 60, 5);
    memcpy(r[0].maxmind_country, "DE", 2);
    r[0].prefix2asn = 1;
    r[1] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 0, 2), 5, 80, 6, 60, 2, 60, 7);
    memcpy(r[1].maxmind_country, "US", 2);
    r[1].prefix2asn = 2;
    /* same count, lower key (ttl 50 < 60): wins the tie */
    r[2] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 0, 3), 5, 80, 6, 50, 2, 60, 7);
    memcpy(r[2].maxmind_country, "JP", 2);
    r[2].prefix2asn = 3;
    /* same count, later time: loses */
    r[3] = rec(T0 + 60, IP(1, 1, 1, 1), IP(10, 1, 0, 3), 5, 80, 6, 1, 2, 60, 7);
    memcpy(r[3].maxmind_country, "FR", 2);
    r[3].prefix2asn = 4;
    struct cap c = {0};
    fold_all(r, 4, 16, 2, &c);
    ck_assert_uint_eq(c.n, 1);
    ck_assert(memcmp(c.r[0].maxmind_country, "JP", 2) == 0);
    ck_assert_uint_eq(c.r[0].prefix2asn, 3);
    cap_free(&c);
}
END_TEST

START_TEST(record_order)
{
    sd_ft3_record r[8];
    r[0] = rec(T0, IP(3, 0, 0, 1), IP(10, 1, 0, 1), 5, 53, 17, 64, 0, 60, 1);
    r[1] = rec(T0, IP(2, 0, 0, 1), IP(10, 1, 0, 1), 0, 0, 47, 64, 0, 60, 1);
    r[2] = rec(T0, IP(2, 0, 0, 1), IP(10, 2, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    r[3] = rec(T0, IP(2, 0, 0, 1), IP(10, 1, 0, 1), 5, 443, 6, 64, 2, 60, 1);
    r[4] = rec(T0, IP(2, 0, 0, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    r[5] = rec(T0, IP(1, 0, 0, 1), IP(10, 9, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    r[6] = rec(T0, IP(9, 0, 0, 1), IP(10, 1, 0, 1), 8, 0, 1, 64, 0, 60, 1);
    r[7] = rec(T0, IP(4, 0, 0, 1), IP(10, 1, 0, 1), 3, 3, 1, 64, 0, 60, 1);
    struct cap c = {0};
    fold_all(r, 8, 16, 2, &c);
    ck_assert_uint_eq(c.n, 8);
    struct {
        uint8_t proto;
        uint32_t src, net, port;
    } want[8] = {
        {1, IP(4, 0, 0, 1), IP(10, 1, 0, 0), 0x0303}, {1, IP(9, 0, 0, 1), IP(10, 1, 0, 0), 0x0800},
        {6, IP(1, 0, 0, 1), IP(10, 9, 0, 0), 80},     {6, IP(2, 0, 0, 1), IP(10, 1, 0, 0), 80},
        {6, IP(2, 0, 0, 1), IP(10, 1, 0, 0), 443},    {6, IP(2, 0, 0, 1), IP(10, 2, 0, 0), 80},
        {17, IP(3, 0, 0, 1), IP(10, 1, 0, 0), 53},    {47, IP(2, 0, 0, 1), IP(10, 1, 0, 0), 0},
    };
    for (int i = 0; i < 8; i++) {
        ck_assert_uint_eq(c.r[i].protocol, want[i].proto);
        ck_assert_uint_eq(c.r[i].src_ip, want[i].src);
        ck_assert_uint_eq(c.r[i].dst_net, want[i].net);
        ck_assert_uint_eq(c.r[i].dst_port, want[i].port);
    }
    cap_free(&c);
}
END_TEST

/* ------------------------------------------------------------ order */

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

/* Records over small domains so that groups and values collide often,
 * with duplicate 8-tuples (as unmerged interim files give). */
static void random_records(sd_ft3_record *r, size_t n, uint32_t t0, uint32_t span)
{
    static const uint8_t protos[] = {1, 6, 6, 6, 17, 17, 47};
    static const char *cc[] = {"??", "DE", "US", "JP"};
    for (size_t i = 0; i < n; i++) {
        uint8_t p = protos[rnd(7)];
        uint8_t flags = p == 6 ? (uint8_t)(rnd(3) == 0 ? 0x12 : rnd(4) == 0 ? 0x10 : 0x02) : 0;
        r[i] = rec(t0 + rnd(span) * 60, IP(1, 0, 0, rnd(20)), IP(10 + rnd(2), rnd(3), rnd(4), rnd(8)),
                   (uint16_t)(p == 1 ? rnd(4) : 1000 + rnd(30)),
                   (uint16_t)(p == 1 ? rnd(2) : p == 47 ? 0 : 80 + rnd(3)), p,
                   (uint8_t)(40 + rnd(8)), flags, (uint16_t)(40 + 4 * rnd(6)), 1 + rnd(rnd(4) == 0 ? 50 : 3));
        if (flags == 0x02) {
            r[i].tcp_synlen = (uint16_t)(20 + 4 * rnd(6));
            r[i].tcp_synwinlen = (uint16_t)(1024 * (1 + rnd(4)));
        }
        r[i].is_spoofed = rnd(5) == 0;
        r[i].is_masscan = rnd(4) == 0;
        memcpy(r[i].maxmind_country, cc[rnd(4)], 2);
        memcpy(r[i].netacq_country, cc[rnd(4)], 2);
        r[i].prefix2asn = rnd(3);
    }
}

static void shuffle(sd_ft3_record *r, size_t n)
{
    for (size_t i = n - 1; i > 0; i--) {
        size_t j = rnd((uint32_t)i + 1);
        sd_ft3_record t = r[i];
        r[i] = r[j];
        r[j] = t;
    }
}

START_TEST(order_independent_and_matches_reference)
{
    enum { N = 6000 };
    static sd_ft3_record r[N];
    random_records(r, N, T0, 5);
    for (int prefix = 16; prefix <= 24; prefix += 8) {
        struct cap first = {0};
        fold_all(r, N, prefix, 2, &first);
        ck_assert_int_eq(first.calls, 1);
        /* the plain reference fold */
        sd_ft4_record *ref = malloc(N * sizeof *ref);
        size_t nref = ref_fold(r, N, T0, prefix, 2, ref);
        ck_assert_uint_eq(first.n, nref);
        for (size_t i = 0; i < nref; i++)
            ck_assert_msg(memcmp(&first.r[i], &ref[i], sizeof *ref) == 0,
                          "record %zu differs from the reference", i);
        free(ref);
        ref_free();
        for (int k = 0; k < 4; k++) {
            shuffle(r, N);
            struct cap c = {0};
            fold_all(r, N, prefix, 2, &c);
            ck_assert_uint_eq(c.n, first.n);
            ck_assert(memcmp(c.r, first.r, c.n * sizeof *c.r) == 0);
            cap_free(&c);
        }
        cap_free(&first);
    }
}
END_TEST

static int cmp_rec(const void *a, const void *b) { return ref_cmp_key(a, b); }

static int cmp_ft3_file(const void *a, const void *b) { return sd_ft3_record_cmp(a, b); }

/* FT4 from packets (the FT3 tables of each 60 s interval folded as they
 * close, with sd_ft4_advance() at each end) equals FT4 from the same FT3
 * records written in file order and read back (one stream, flush). */
START_TEST(from_tables_equals_from_file)
{
    enum { PER = 1500, NIV = 12 }; /* 12 one-minute intervals: 3 FT4 intervals */
    static sd_ft3_record r[PER * NIV];
    for (int i = 0; i < NIV; i++)
        random_records(r + i * PER, PER, T0 + (uint32_t)i * 60, 1);
    sd_ft4_config cfg;
    sd_ft4_config_init(&cfg);
    struct cap a = {0}, b = {0};
    sd_ft4 *f;
    ck_assert_int_eq(sd_ft4_create(&f, &cfg, cap_emit, &a, NULL), 0);
    for (int i = 0; i < NIV; i++) {
        shuffle(r + i * PER, PER); /* a hash table's order */
        ck_assert_int_eq(sd_ft4_add(f, r + i * PER, PER), 0);
        ck_assert_int_eq(sd_ft4_advance(f, T0 + (uint32_t)(i + 1) * 60), 0);
    }
    /* closed on time: no interval waited for a later record */
    ck_assert_int_eq(a.calls, 2);
    ck_assert_int_eq(sd_ft4_flush(f), 0);
    ck_assert_int_eq(a.calls, 3);
    sd_ft4_destroy(f);
    /* file side: sorted per minute as a sorted FT3 file would be */
    for (int i = 0; i < NIV; i++)
        qsort(r + i * PER, PER, sizeof *r, cmp_rec);
    ck_assert_int_eq(sd_ft4_create(&f, &cfg, cap_emit, &b, NULL), 0);
    for (int i = 0; i < NIV * PER; i += 1000)
        ck_assert_int_eq(sd_ft4_add(f, r + i, NIV * PER - i < 1000 ? (size_t)(NIV * PER - i) : 1000), 0);
    ck_assert_int_eq(sd_ft4_flush(f), 0);
    sd_ft4_destroy(f);
    ck_assert_int_eq(b.calls, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(a.time[i], T0 + (uint32_t)i * 300);
        ck_assert_uint_eq(a.time[i], b.time[i]);
        ck_assert_uint_eq(a.count[i], b.count[i]);
    }
    ck_assert_uint_eq(a.n, b.n);
    ck_assert(memcmp(a.r, b.r, a.n * sizeof *a.r) == 0);
    cap_free(&a);
    cap_free(&b);
}
END_TEST

/* The real packet path: sd-gen packets counted by sd_flowtuple (two
 * workers, merged, 60 s) whose output callback folds each FT3 chunk into
 * sd_ft4 at once (sd_ft4_advance() at each FT3 interval end), against the
 * same FT3 records kept as a sorted file would hold them and folded
 * afterwards. Also packet conservation. */
struct chain {
    sd_ft4 *ft4;
    sd_ft3_record *all;
    size_t n, cap;
    uint64_t packets;
};

static int chain_out(void *user, const sd_ft_chunk_info *info, const sd_ft3_record *recs, size_t n)
{
    struct chain *c = user;
    if (c->n + n > c->cap) {
        c->cap = (c->n + n) * 2;
        c->all = realloc(c->all, c->cap * sizeof *c->all);
        ck_assert_ptr_nonnull(c->all);
    }
    memcpy(c->all + c->n, recs, n * sizeof *recs);
    c->n += n;
    for (size_t i = 0; i < n; i++)
        c->packets += recs[i].packet_cnt;
    int rc = sd_ft4_add(c->ft4, recs, n);
    if (rc == 0 && info->final)
        rc = sd_ft4_advance(c->ft4, info->end);
    return rc;
}

START_TEST(from_packets_equals_from_ft3)
{
    enum { NPKT = 120000, BATCH = 256 };
    sd_gen_config gc;
    sd_gen_config_init(&gc);
    gc.count = NPKT;
    gc.pps = 200; /* 600 s: 10 FT3 intervals, 2 or 3 FT4 intervals */
    gc.start_ns = (uint64_t)(T0 + 17) * 1000000000u;
    gc.n_sources = 300;
    sd_gen *g;
    char err[SD_ERRBUF_SIZE];
    ck_assert_msg(sd_gen_create(&g, &gc, err) == 0, "%s", err);

    struct cap a = {0}, b = {0};
    struct chain ch = {0};
    ck_assert_int_eq(sd_ft4_create(&ch.ft4, NULL, cap_emit, &a, err), 0);
    sd_flowtuple_config fc;
    sd_flowtuple_config_init(&fc);
    fc.workers = 2;
    fc.output = chain_out;
    fc.user = &ch;
    sd_flowtuple *ft;
    ck_assert_msg(sd_flowtuple_create(&ft, &fc, err) == 0, "%s", err);
    uint64_t ipv4 = 0;
    for (unsigned k = 0;; k++) {
        const sd_packet *pk[BATCH];
        int r = sd_gen_next(g, pk, BATCH);
        if (r == SD_EOF)
            break;
        ck_assert_int_gt(r, 0);
        for (int i = 0; i < r; i++) {
            sd_parsed ps;
            (void)sd_parse(pk[i], &ps);
            ipv4 += ps.ip_version == 4;
        }
        /* batches alternate between the two workers, as round-robin
         * multicast streams would */
        ck_assert_int_eq(sd_flowtuple_add(sd_flowtuple_worker_get(ft, k % 2), pk, NULL, NULL,
                                          (size_t)r), r);
    }
    ck_assert_int_eq(sd_flowtuple_finish(ft), 0);
    sd_flowtuple_destroy(ft);
    sd_gen_destroy(g);
    ck_assert_int_eq(sd_ft4_flush(ch.ft4), 0);
    sd_ft4_destroy(ch.ft4);
    ck_assert_int_ge(a.calls, 2);
    ck_assert_uint_eq(ch.packets, ipv4);

    /* the file path: each FT3 interval sorted as in a sorted FT3 file */
    for (size_t i = 0, j; i < ch.n; i = j) {
        for (j = i; j < ch.n && ch.all[j].time == ch.all[i].time; j++)
            ;
        qsort(ch.all + i, j - i, sizeof *ch.all, cmp_ft3_file);
    }
    sd_ft4 *f;
    ck_assert_int_eq(sd_ft4_create(&f, NULL, cap_emit, &b, err), 0);
    ck_assert_int_eq(sd_ft4_add(f, ch.all, ch.n), 0);
    ck_assert_int_eq(sd_ft4_flush(f), 0);
    sd_ft4_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ft4_get_stats(f, &st), 0);
    ck_assert_uint_eq(st.early_records, 0);
    sd_ft4_destroy(f);

    ck_assert_int_eq(a.calls, b.calls);
    for (int i = 0; i < a.calls; i++) {
        ck_assert_uint_eq(a.time[i] % 300, 0);
        ck_assert_uint_eq(a.time[i], b.time[i]);
        ck_assert_uint_eq(a.count[i], b.count[i]);
    }
    ck_assert_uint_eq(a.n, b.n);
    ck_assert(memcmp(a.r, b.r, a.n * sizeof *a.r) == 0);
    uint64_t p = 0;
    for (size_t i = 0; i < a.n; i++)
        p += a.r[i].packet_cnt;
    ck_assert_uint_eq(p, ipv4);
    free(ch.all);
    cap_free(&a);
    cap_free(&b);
}
END_TEST

/* ------------------------------------------------------------ intervals */

START_TEST(interval_alignment)
{
    sd_ft3_record r[3];
    /* an unaligned first FT3 interval (flowtuple.md §1.4) */
    r[0] = rec(1700000030u, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    r[1] = rec(1700000040u, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    r[2] = rec(1700000100u, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    struct cap c = {0};
    fold_all(r, 3, 16, 2, &c);
    ck_assert_int_eq(c.calls, 2);
    ck_assert_uint_eq(c.time[0], 1699999800u); /* 1700000030 rounded down to 300 s */
    ck_assert_uint_eq(c.r[0].time, 1699999800u);
    ck_assert_uint_eq(c.r[0].packet_cnt, 2);
    ck_assert_uint_eq(c.time[1], 1700000100u);
    ck_assert_uint_eq(c.r[1].time, 1700000100u);
    cap_free(&c);

    /* a one-hour interval */
    sd_ft4_config cfg;
    sd_ft4_config_init(&cfg);
    cfg.interval = 3600;
    struct cap d = {.interval = 3600};
    sd_ft4 *f;
    ck_assert_int_eq(sd_ft4_create(&f, &cfg, cap_emit, &d, NULL), 0);
    ck_assert_int_eq(sd_ft4_add(f, r, 3), 0);
    ck_assert_int_eq(sd_ft4_flush(f), 0);
    sd_ft4_destroy(f);
    ck_assert_int_eq(d.calls, 1);
    ck_assert_uint_eq(d.time[0], 1699999200u);
    ck_assert_uint_eq(d.r[0].packet_cnt, 3);
    cap_free(&d);
}
END_TEST

START_TEST(early_records_dropped)
{
    sd_ft3_record r[5];
    r[0] = rec(T0 + 300, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 2);
    r[1] = rec(T0 + 60, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 5); /* early */
    r[2] = rec(T0 + 599, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    r[3] = rec(T0 + 600, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    r[4] = rec(T0 + 500, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 7); /* closed */
    struct cap c = {0};
    sd_ft4 *f;
    ck_assert_int_eq(sd_ft4_create(&f, NULL, cap_emit, &c, NULL), 0);
    ck_assert_int_eq(sd_ft4_add(f, r, 5), 0);
    sd_ft4_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ft4_get_stats(f, &st), 0);
    ck_assert_uint_eq(st.records_in, 3);
    ck_assert_uint_eq(st.packets_in, 4);
    ck_assert_uint_eq(st.early_records, 2);
    ck_assert_uint_eq(st.early_packets, 12);
    ck_assert_uint_eq(st.intervals, 1);
    ck_assert_uint_eq(st.open_groups, 1);
    ck_assert_int_eq(sd_ft4_flush(f), 0);
    /* after the flush, the flushed interval is closed too */
    ck_assert_int_eq(sd_ft4_add(f, &r[3], 1), 0);
    ck_assert_int_eq(sd_ft4_get_stats(f, &st), 0);
    ck_assert_uint_eq(st.early_records, 3);
    ck_assert_uint_eq(st.intervals, 2);
    ck_assert_uint_eq(st.records_out, 2);
    ck_assert_uint_eq(st.open_groups, 0);
    sd_ft4_destroy(f);
    ck_assert_int_eq(c.calls, 2);
    ck_assert_uint_eq(c.time[0], T0 + 300);
    ck_assert_uint_eq(c.r[0].packet_cnt, 3); /* not 8, not 15 */
    ck_assert_uint_eq(c.time[1], T0 + 600);
    ck_assert_uint_eq(c.r[1].packet_cnt, 1);
    cap_free(&c);
}
END_TEST

START_TEST(advance_closes)
{
    sd_ft3_record a = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    sd_ft3_record b = rec(T0 + 200, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    sd_ft3_record late = rec(T0 + 900, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    struct cap c = {0};
    sd_ft4 *f;
    ck_assert_int_eq(sd_ft4_create(&f, NULL, cap_emit, &c, NULL), 0);
    ck_assert_int_eq(sd_ft4_advance(f, T0 - 1000), 0); /* nothing open: nothing */
    ck_assert_int_eq(sd_ft4_add(f, &a, 1), 0);
    ck_assert_int_eq(sd_ft4_advance(f, T0 + 299), 0);
    ck_assert_int_eq(c.calls, 0);
    ck_assert_int_eq(sd_ft4_advance(f, T0 + 300), 0);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_int_eq(sd_ft4_add(f, &b, 1), 0); /* its interval was closed: early */
    /* time moves on without records: T0+600 .. is closed too */
    ck_assert_int_eq(sd_ft4_advance(f, T0 + 1200), 0);
    ck_assert_int_eq(sd_ft4_add(f, &late, 1), 0);
    ck_assert_int_eq(sd_ft4_flush(f), 0);
    ck_assert_int_eq(sd_ft4_flush(f), 0); /* nothing open: nothing */
    sd_ft4_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ft4_get_stats(f, &st), 0);
    ck_assert_uint_eq(st.early_records, 2);
    ck_assert_int_eq(c.calls, 1);
    sd_ft4_destroy(f);
    cap_free(&c);
}
END_TEST

/* ------------------------------------------------------------ lifecycle */

START_TEST(bad_config)
{
    char err[SD_ERRBUF_SIZE];
    sd_ft4 *f = (sd_ft4 *)1;
    sd_ft4_config cfg;
    struct cap c = {0};
    ck_assert_int_eq(sd_ft4_create(NULL, NULL, cap_emit, &c, err), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ft4_create(&f, NULL, NULL, &c, err), SD_ERR_INVAL);
    ck_assert_ptr_null(f);
    sd_ft4_config_init(&cfg);
    cfg.interval = 0;
    ck_assert_int_eq(sd_ft4_create(&f, &cfg, cap_emit, &c, err), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err, "interval"));
    cfg.interval = SD_FT4_MAX_INTERVAL + 1;
    ck_assert_int_eq(sd_ft4_create(&f, &cfg, cap_emit, &c, err), SD_ERR_INVAL);
    sd_ft4_config_init(&cfg);
    cfg.dst_prefix_len = 20;
    ck_assert_int_eq(sd_ft4_create(&f, &cfg, cap_emit, &c, err), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(err, "prefix"));
    sd_ft4_config_init(&cfg);
    cfg.version = 3;
    ck_assert_int_eq(sd_ft4_create(&f, &cfg, cap_emit, &c, err), SD_ERR_INVAL);
    cfg.size = 4;
    ck_assert_int_eq(sd_ft4_create(&f, &cfg, cap_emit, &c, NULL), SD_ERR_INVAL);
    sd_ft4_destroy(NULL);
    ck_assert_int_eq(sd_ft4_add(NULL, NULL, 0), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ft4_advance(NULL, 0), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ft4_flush(NULL), SD_ERR_INVAL);
    ck_assert_uint_eq(sd_ft4_memory(NULL), 0);

    /* defaults, read back; a size hint */
    sd_ft4_config_init(&cfg);
    cfg.dst_prefix_len = 24;
    cfg.version = SD_FT4_V1;
    cfg.interval = 60;
    cfg.expected_groups = 100000;
    ck_assert_int_eq(sd_ft4_create(&f, &cfg, cap_emit, &c, err), 0);
    sd_ft4_config got = {.size = sizeof got};
    ck_assert_int_eq(sd_ft4_get_config(f, &got), 0);
    ck_assert_uint_eq(got.interval, 60);
    ck_assert_uint_eq(got.dst_prefix_len, 24);
    ck_assert_uint_eq(got.version, SD_FT4_V1);
    ck_assert_uint_gt(sd_ft4_memory(f), 100000 * 100);
    ck_assert_int_eq(sd_ft4_add(f, NULL, 1), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ft4_add(f, NULL, 0), 0);
    sd_ft4_destroy(f);
    ck_assert_int_eq(sd_ft4_create(&f, NULL, cap_emit, &c, err), 0);
    ck_assert_int_eq(sd_ft4_get_config(f, &got), 0);
    ck_assert_uint_eq(got.interval, 300);
    ck_assert_uint_eq(got.dst_prefix_len, 16);
    ck_assert_uint_eq(got.version, SD_FT4_V2);
    sd_ft4_destroy(f);
}
END_TEST

START_TEST(emit_failure_is_sticky)
{
    sd_ft3_record r[2];
    r[0] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    r[1] = rec(T0 + 300, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    struct cap c = {.fail = SD_ERR_IO};
    sd_ft4 *f;
    ck_assert_int_eq(sd_ft4_create(&f, NULL, cap_emit, &c, NULL), 0);
    ck_assert_int_eq(sd_ft4_add(f, r, 2), SD_ERR_IO);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(f), "emit failed for interval 1700000100"));
    ck_assert_int_eq(sd_ft4_add(f, r, 2), SD_ERR_STATE);
    ck_assert_int_eq(sd_ft4_advance(f, T0 + 900), SD_ERR_STATE);
    ck_assert_int_eq(sd_ft4_flush(f), SD_ERR_STATE);
    sd_ft4_destroy(f);
    ck_assert_int_eq(c.calls, 0);
}
END_TEST

START_TEST(allocation_failures)
{
    enum { N = 5000 };
    static sd_ft3_record r[N];
    random_records(r, N, T0, 5);
    struct cap want = {0};
    fold_all(r, N, 16, 2, &want);
    int done = 0;
    for (long k = 0; k < 400 && !done; k++) {
        struct cap c = {0};
        sd_ft4 *f = NULL;
        int hit = 0;
        sd__alloc_fail_after = k;
        int rc = sd_ft4_create(&f, NULL, cap_emit, &c, NULL);
        if (rc == 0) {
            /* a record that failed is not folded: feed it again */
            for (size_t i = 0; i < N; i++) {
                rc = sd_ft4_add(f, r + i, 1);
                if (rc == SD_ERR_NOMEM) {
                    hit = 1;
                    sd__alloc_fail_after = -1;
                    rc = sd_ft4_add(f, r + i, 1);
                }
                ck_assert_int_eq(rc, 0);
            }
            ck_assert_int_eq(sd_ft4_flush(f), 0);
            done = !hit && sd__alloc_fail_after > 0;
            sd__alloc_fail_after = -1;
            ck_assert_uint_eq(c.n, want.n);
            ck_assert(memcmp(c.r, want.r, c.n * sizeof *c.r) == 0);
            sd_ft4_destroy(f);
        } else {
            ck_assert_int_eq(rc, SD_ERR_NOMEM);
            ck_assert_ptr_null(f);
        }
        sd__alloc_fail_after = -1;
        cap_free(&c);
    }
    ck_assert(done);
    cap_free(&want);
}
END_TEST

/* The first record of an interval fails to fit: the interval is open but
 * empty; flushing it emits nothing, and the fold goes on afterwards. */
START_TEST(nomem_on_first_record)
{
    sd_ft3_record r[2];
    r[0] = rec(T0, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 1);
    r[1] = rec(T0 + 300, IP(1, 1, 1, 1), IP(10, 1, 0, 1), 5, 80, 6, 64, 2, 60, 2);
    struct cap c = {0};
    sd_ft4 *f;
    ck_assert_int_eq(sd_ft4_create(&f, NULL, cap_emit, &c, NULL), 0);
    sd__alloc_fail_after = 0;
    ck_assert_int_eq(sd_ft4_add(f, r, 2), SD_ERR_NOMEM);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(f), "out of memory"));
    ck_assert_int_eq(sd_ft4_flush(f), 0);
    sd__alloc_fail_after = -1;
    ck_assert_int_eq(c.calls, 0);
    ck_assert_int_eq(sd_ft4_add(f, &r[1], 1), 0);
    ck_assert_int_eq(sd_ft4_flush(f), 0);
    ck_assert_int_eq(c.calls, 1);
    ck_assert_uint_eq(c.r[0].packet_cnt, 2);
    sd_ft4_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_ft4_get_stats(f, &st), 0);
    ck_assert_uint_eq(st.records_in, 1);
    ck_assert_uint_eq(st.intervals, 1);
    sd_ft4_destroy(f);
    cap_free(&c);
}
END_TEST

static Suite *ft4_suite(void)
{
    Suite *s = suite_create("ft4");
    TCase *tc = tcase_create("fields");
    tcase_add_test(tc, tcp_group_counters);
    tcase_add_test(tc, udp_counts_ports_not_flags);
    tcase_add_test(tc, icmp_typecode);
    tcase_add_test(tc, other_protocol_key);
    tcase_add_test(tc, prefix_16_vs_24);
    tcase_add_test(tc, spoofed_masscan_and_versions);
    tcase_add_test(tc, pure_syn_choice);
    tcase_add_test(tc, tags_largest_count);
    tcase_add_test(tc, record_order);
    suite_add_tcase(s, tc);
    tc = tcase_create("common");
    tcase_add_test(tc, ratio_small_p_d_lt_4);
    tcase_add_test(tc, ratio_small_p_d_lt_7);
    tcase_add_test(tc, ratio_small_p_d_ge_7);
    tcase_add_test(tc, ratio_large_p_d_lt_15);
    tcase_add_test(tc, ratio_large_p_d_ge_15);
    tcase_add_test(tc, five_value_limit);
    suite_add_tcase(s, tc);
    tc = tcase_create("order");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, order_independent_and_matches_reference);
    tcase_add_test(tc, from_tables_equals_from_file);
    tcase_add_test(tc, from_packets_equals_from_ft3);
    suite_add_tcase(s, tc);
    tc = tcase_create("intervals");
    tcase_add_test(tc, interval_alignment);
    tcase_add_test(tc, early_records_dropped);
    tcase_add_test(tc, advance_closes);
    suite_add_tcase(s, tc);
    tc = tcase_create("lifecycle");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, bad_config);
    tcase_add_test(tc, emit_failure_is_sticky);
    tcase_add_test(tc, allocation_failures);
    tcase_add_test(tc, nomem_on_first_record);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return sd_test_run(ft4_suite()); }
