/* Unit tests: header parser (sd_parse, sd_parse_bulk, sd_parse_ip).
 *
 * Hand-built packets exercise every branch and error path; golden checks
 * run the shared traces through the parser (read with libpcap directly, so
 * these tests do not depend on the stardust pcap source). Every expected
 * value below was read off `tshark -n -o ip.defragment:FALSE -T fields ...`
 * on the same file, never computed with the code under test.
 */
#include "config.h"

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <stardust/parse.h>
#include <stardust/err.h>
#include "testutil.h"

/* ------------------------------------------------------------ builder */

#define PB_MAX 4096

typedef struct pb {
    uint8_t b[PB_MAX];
    uint32_t len;
    /* IP headers and UDP headers whose length fields pb_fix() fills in so
     * that each covers the rest of the packet. */
    uint32_t ip[4];
    uint8_t ipv[4];
    int nip;
    uint32_t udp[4];
    int nudp;
} pb;

static void be16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, v >> 16);
    be16(p + 2, v & 0xffffu);
}

static uint8_t *pb_put(pb *p, uint32_t n)
{
    ck_assert_uint_le(p->len + n, PB_MAX);
    uint8_t *r = p->b + p->len;
    memset(r, 0, n);
    p->len += n;
    return r;
}

static void pb_init(pb *p) { memset(p, 0, sizeof *p); }

static void pb_eth(pb *p, unsigned et)
{
    uint8_t *e = pb_put(p, 14);
    memcpy(e, "\x00\x1b\x21\x0a\x0b\x0c\x00\x1c\x73\x0d\x0e\x0f", 12);
    be16(e + 12, et);
}

static void pb_tag(pb *p, unsigned tci, unsigned et)
{
    uint8_t *t = pb_put(p, 4);
    be16(t, tci);
    be16(t + 2, et);
}

static void pb_mpls(pb *p, uint32_t label, int bos)
{
    be32(pb_put(p, 4), (label << 12) | (bos ? 0x100u : 0) | 64u);
}

#define SRC4 0xc0000201u /* 192.0.2.1 */
#define DST4 0xc6336407u /* 198.51.100.7 */

static void pb_ip4(pb *p, unsigned proto)
{
    p->ip[p->nip] = p->len;
    p->ipv[p->nip++] = 4;
    uint8_t *ip = pb_put(p, 20);
    ip[0] = 0x45;
    ip[1] = 0x28;
    be16(ip + 4, 0x1234);
    ip[8] = 64;
    ip[9] = (uint8_t)proto;
    be32(ip + 12, SRC4);
    be32(ip + 16, DST4);
}

static void pb_ip6(pb *p, unsigned nh)
{
    p->ip[p->nip] = p->len;
    p->ipv[p->nip++] = 6;
    uint8_t *ip = pb_put(p, 40);
    be32(ip, 0x6b812345u); /* traffic class 0xb8, flow 0x12345 */
    ip[6] = (uint8_t)nh;
    ip[7] = 57;
    memcpy(ip + 8, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    memcpy(ip + 24, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x02", 16);
}

/* Extension header of (len8 + 1) * 8 bytes (hop-by-hop, routing, ...). */
static void pb_ext(pb *p, unsigned nh, unsigned len8)
{
    uint8_t *e = pb_put(p, (len8 + 1) * 8);
    e[0] = (uint8_t)nh;
    e[1] = (uint8_t)len8;
}

static void pb_frag6(pb *p, unsigned nh, unsigned off_bytes, int mf, uint32_t id)
{
    uint8_t *f = pb_put(p, 8);
    f[0] = (uint8_t)nh;
    be16(f + 2, (off_bytes & 0xfff8u) | (mf ? 1u : 0));
    be32(f + 4, id);
}

static void pb_tcp(pb *p, unsigned sp, unsigned dp, unsigned flags)
{
    uint8_t *t = pb_put(p, 20);
    be16(t, sp);
    be16(t + 2, dp);
    be32(t + 4, 0x01020304u);
    be32(t + 8, 0xa0b0c0d0u);
    t[12] = 0x50;
    t[13] = (uint8_t)flags;
    be16(t + 14, 29200);
}

static void pb_udp(pb *p, unsigned sp, unsigned dp)
{
    p->udp[p->nudp++] = p->len;
    uint8_t *u = pb_put(p, 8);
    be16(u, sp);
    be16(u + 2, dp);
}

static void pb_icmp(pb *p, unsigned type, unsigned code)
{
    uint8_t *i = pb_put(p, 8);
    i[0] = (uint8_t)type;
    i[1] = (uint8_t)code;
}

static void pb_fill(pb *p, uint32_t n) { memset(pb_put(p, n), 0xab, n); }

/* Fill in IP and UDP length fields so each covers the rest of the packet. */
static void pb_fix(pb *p)
{
    for (int i = 0; i < p->nip; i++) {
        uint8_t *ip = p->b + p->ip[i];
        if (p->ipv[i] == 4)
            be16(ip + 2, p->len - p->ip[i]);
        else
            be16(ip + 4, p->len - p->ip[i] - 40);
    }
    for (int i = 0; i < p->nudp; i++)
        be16(p->b + p->udp[i] + 4, p->len - p->udp[i]);
}

/* ------------------------------------------------------------ checks */

/* What holds for every result; returns the first broken rule or NULL.
 * Plain C rather than one ck_assert per rule: Check reports every assert
 * to the parent process, which is slow over 10000-packet traces. */
static const char *invariant_broken(const sd_parsed *o, uint32_t caplen)
{
    uint32_t lim = caplen < 65535 ? caplen : 65535;
    if (o->l2_len > lim || o->l3_off > lim || o->l4_off > lim || o->payload_off > lim ||
        o->inner_off > lim)
        return "an offset beyond caplen";
    if (o->pad0 != 0)
        return "pad0 not zero";
    for (size_t i = 0; i < sizeof o->reserved; i++)
        if (o->reserved[i] != 0)
            return "reserved tail not zero";
    if (!(o->flags & (SD_P_IP4 | SD_P_IP6)) &&
        (o->ip_version != 0 || o->l3_off != 0 || o->l4_off != 0 || o->src4 != 0))
        return "IP fields without an IP flag";
    if ((o->flags & SD_P_IP4) && o->ip_version != 4)
        return "SD_P_IP4 without version 4";
    if ((o->flags & SD_P_IP6) && o->ip_version != 6)
        return "SD_P_IP6 without version 6";
    if (!(o->flags & SD_P_ICMP_QUOTE) && o->inner_off != 0)
        return "inner_off without SD_P_ICMP_QUOTE";
    if (!(o->flags & SD_P_TCP) && (o->tcp_flags != 0 || o->tcp_doff != 0))
        return "TCP fields without SD_P_TCP";
    if ((o->flags & SD_P_FRAG_LATER) && o->l4_off != 0)
        return "l4_off in a later fragment";
    return NULL;
}

static void check_invariants(const sd_parsed *o, uint32_t caplen)
{
    const char *why = invariant_broken(o, caplen);
    ck_assert_msg(why == NULL, "flags %#x caplen %u: %s", o->flags, caplen, why ? why : "");
}

/* Parse p->b[0..caplen) with the given wire length; the result is poisoned
 * first so that a field left unwritten shows. */
static int parse_n(const pb *p, unsigned link, uint32_t caplen, uint32_t wirelen, sd_parsed *o)
{
    sd_packet k;
    memset(&k, 0, sizeof k);
    k.data = p->b;
    k.caplen = caplen;
    k.wirelen = wirelen;
    k.linktype = (uint16_t)link;
    memset(o, 0xa5, sizeof *o);
    int rc = sd_parse(&k, o);
    check_invariants(o, caplen);
    /* The bulk call and the single call agree on every byte. */
    sd_parsed b;
    const sd_packet *kp = &k;
    memset(&b, 0x5a, sizeof b);
    ck_assert_int_eq(sd_parse_bulk(&kp, &b, 1), 1);
    ck_assert_mem_eq(&b, o, sizeof b);
    return rc;
}

static int parse_pb(const pb *p, unsigned link, sd_parsed *o)
{
    return parse_n(p, link, p->len, p->len, o);
}

/* Expected outcome for captures cut at caplen >= from (up to the next row). */
struct cut {
    uint32_t from;
    uint32_t flags;
    int rc;
};

/* Cut the packet at every length 0..len and check flags and return code
 * (wirelen stays the full length: a snaplen cut). */
static void sweep(const pb *p, unsigned link, const struct cut *rows, size_t nrows)
{
    for (uint32_t c = 0; c <= p->len; c++) {
        size_t r = 0;
        while (r + 1 < nrows && rows[r + 1].from <= c)
            r++;
        sd_parsed o;
        int rc = parse_n(p, link, c, p->len, &o);
        ck_assert_msg(o.flags == rows[r].flags, "caplen %u: flags %#x, want %#x", c, o.flags,
                      rows[r].flags);
        ck_assert_msg(rc == rows[r].rc, "caplen %u: rc %d, want %d", c, rc, rows[r].rc);
    }
}

#define NROWS(a) (sizeof(a) / sizeof((a)[0]))
#define T SD_P_TRUNCATED
#define TR SD_ERR_TRUNCATED

/* ------------------------------------------------------------ link layers */

START_TEST(ethernet_ipv4_tcp_fields)
{
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x0800);
    pb_ip4(&p, 6);
    pb_tcp(&p, 40000, 23, SD_TCP_SYN | SD_TCP_ECE | SD_TCP_CWR);
    pb_fill(&p, 6); /* Ethernet padding beyond the IP length */
    pb_fix(&p);
    be16(p.b + 14 + 2, 40); /* IP total length excludes the padding */
    be16(p.b + 14 + 6, 0x4000); /* DF */
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_TCP);
    ck_assert_uint_eq(o.ethertype, 0x0800);
    ck_assert_uint_eq(o.l2_len, 14);
    ck_assert_uint_eq(o.l3_off, 14);
    ck_assert_uint_eq(o.l4_off, 34);
    ck_assert_uint_eq(o.payload_off, 54);
    ck_assert_uint_eq(o.payload_len, 0);
    ck_assert_uint_eq(o.ip_version, 4);
    ck_assert_uint_eq(o.proto, 6);
    ck_assert_uint_eq(o.ttl, 64);
    ck_assert_uint_eq(o.tos, 0x28);
    ck_assert_uint_eq(o.ip_len, 40);
    ck_assert_uint_eq(o.ip_hl, 20);
    ck_assert_uint_eq(o.ip_id, 0x1234);
    ck_assert_uint_eq(o.ip_flags, 0x2);
    ck_assert_uint_eq(o.frag_off, 0);
    ck_assert_uint_eq(o.src4, SRC4);
    ck_assert_uint_eq(o.dst4, DST4);
    ck_assert_uint_eq(o.sport, 40000);
    ck_assert_uint_eq(o.dport, 23);
    ck_assert_uint_eq(o.tcp_flags, 0xc2);
    ck_assert_uint_eq(o.tcp_doff, 20);
    ck_assert_uint_eq(o.tcp_win, 29200);
    ck_assert_uint_eq(o.tcp_seq, 0x01020304u);
    ck_assert_uint_eq(o.tcp_ack, 0xa0b0c0d0u);
    ck_assert_uint_eq(o.n_vlan, 0);
    ck_assert_uint_eq(o.n_mpls, 0);
    ck_assert_uint_eq(o.udp_len, 0);
    ck_assert_uint_eq(o.icmp_type, 0);
}
END_TEST

START_TEST(every_field_written)
{
    /* ARP: only flags, ethertype and l2_len are set; every other byte of
     * the poisoned result must come back zero. */
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x0806);
    pb_fill(&p, 28);
    sd_parsed o, want;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    memset(&want, 0, sizeof want);
    want.flags = SD_P_ETH;
    want.ethertype = 0x0806;
    want.l2_len = 14;
    ck_assert_mem_eq(&o, &want, sizeof want);
}
END_TEST

START_TEST(vlan_tags)
{
    static const unsigned tpids[] = {0x8100, 0x88a8, 0x9100};
    for (size_t i = 0; i < 3; i++) {
        pb p;
        pb_init(&p);
        pb_eth(&p, tpids[i]);
        pb_tag(&p, 0x2000 | 100, 0x0800); /* PCP 1, VID 100 */
        pb_ip4(&p, 17);
        pb_udp(&p, 5353, 53);
        pb_fill(&p, 4);
        pb_fix(&p);
        sd_parsed o;
        ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
        ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_VLAN | SD_P_IP4 | SD_P_UDP);
        ck_assert_uint_eq(o.n_vlan, 1);
        ck_assert_uint_eq(o.vlan[0], 0x2064);
        ck_assert_uint_eq(o.ethertype, 0x0800);
        ck_assert_uint_eq(o.l2_len, 18);
        ck_assert_uint_eq(o.l3_off, 18);
        ck_assert_uint_eq(o.sport, 5353);
        ck_assert_uint_eq(o.dport, 53);
        ck_assert_uint_eq(o.udp_len, 12);
        ck_assert_uint_eq(o.payload_off, 46);
        ck_assert_uint_eq(o.payload_len, 4);
    }
}
END_TEST

START_TEST(qinq_and_deeper_stacks)
{
    /* 802.1ad S-tag, C-tag (QinQ); then six tags: four recorded, six
     * counted. */
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x88a8);
    pb_tag(&p, 10, 0x8100);
    pb_tag(&p, 20, 0x0800);
    pb_ip4(&p, 6);
    pb_tcp(&p, 1, 2, SD_TCP_SYN);
    pb_fix(&p);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.n_vlan, 2);
    ck_assert_uint_eq(o.vlan[0], 10);
    ck_assert_uint_eq(o.vlan[1], 20);
    ck_assert_uint_eq(o.vlan[2], 0);
    ck_assert_uint_eq(o.l3_off, 22);

    pb_init(&p);
    pb_eth(&p, 0x9100);
    for (unsigned i = 1; i <= 6; i++)
        pb_tag(&p, i, i < 6 ? 0x8100 : 0x86dd);
    pb_ip6(&p, 59);
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_VLAN | SD_P_IP6);
    ck_assert_uint_eq(o.n_vlan, 6);
    for (unsigned i = 0; i < SD_PARSE_MAX_VLAN; i++)
        ck_assert_uint_eq(o.vlan[i], i + 1);
    ck_assert_uint_eq(o.l3_off, 14 + 24);
    ck_assert_uint_eq(o.ethertype, 0x86dd);

    /* A tag count past 255 stays at 255 (caplen allows 1000 tags). */
    pb_init(&p);
    pb_eth(&p, 0x8100);
    for (unsigned i = 0; i < 300; i++)
        pb_tag(&p, i & 0xfff, i < 299 ? 0x8100 : 0x0806);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.n_vlan, 255);
    ck_assert_uint_eq(o.ethertype, 0x0806);
    ck_assert_uint_eq(o.l2_len, 14 + 1200);
}
END_TEST

START_TEST(mpls_ip_payloads)
{
    /* Unicast MPLS, two labels, IPv4 under them. */
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x8847);
    pb_mpls(&p, 16, 0);
    pb_mpls(&p, 1000, 1);
    pb_ip4(&p, 1);
    pb_icmp(&p, 8, 0);
    pb_fill(&p, 20);
    pb_fix(&p);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_MPLS | SD_P_IP4 | SD_P_ICMP);
    ck_assert_uint_eq(o.n_mpls, 2);
    ck_assert_uint_eq(o.mpls[0], (16u << 12) | 64u);
    ck_assert_uint_eq(o.mpls[1], (1000u << 12) | 0x100u | 64u);
    ck_assert_uint_eq(o.ethertype, 0x8847);
    ck_assert_uint_eq(o.l2_len, 22);
    ck_assert_uint_eq(o.l3_off, 22);
    ck_assert_uint_eq(o.icmp_type, 8);
    ck_assert_uint_eq(o.sport, 8);
    ck_assert_uint_eq(o.dport, 0);
    ck_assert_uint_eq(o.payload_off, 50);
    ck_assert_uint_eq(o.payload_len, 20);

    /* Multicast MPLS, IPv6 under a single label. */
    pb_init(&p);
    pb_eth(&p, 0x8848);
    pb_mpls(&p, 77, 1);
    pb_ip6(&p, 17);
    pb_udp(&p, 1, 2);
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_MPLS | SD_P_IP6 | SD_P_UDP);
    ck_assert_uint_eq(o.ethertype, 0x8848);
    ck_assert_uint_eq(o.l3_off, 18);

    /* Six labels: four recorded, six counted; then VLAN + MPLS. */
    pb_init(&p);
    pb_eth(&p, 0x8100);
    pb_tag(&p, 5, 0x8847);
    for (unsigned i = 1; i <= 6; i++)
        pb_mpls(&p, i, i == 6);
    pb_ip4(&p, 47); /* GRE: not decoded */
    pb_fill(&p, 4);
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_VLAN | SD_P_MPLS | SD_P_IP4);
    ck_assert_uint_eq(o.n_mpls, 6);
    ck_assert_uint_eq(o.mpls[3] >> 12, 4);
    ck_assert_uint_eq(o.l3_off, 18 + 24);
    ck_assert_uint_eq(o.proto, 47);
    ck_assert_uint_eq(o.l4_off, 62);
    ck_assert_uint_eq(o.payload_off, 62);
    ck_assert_uint_eq(o.payload_len, 4);

    /* A label count past 255 stays at 255. */
    pb_init(&p);
    pb_eth(&p, 0x8847);
    for (unsigned i = 0; i < 300; i++)
        pb_mpls(&p, i, i == 299);
    pb_ip4(&p, 17);
    pb_udp(&p, 1, 2);
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.n_mpls, 255);
    ck_assert_uint_eq(o.mpls[3] >> 12, 3);
    ck_assert_uint_eq(o.l3_off, 14 + 1200);
}
END_TEST

START_TEST(mpls_pseudowire)
{
    /* Ethernet pseudowire with the zero control word and a VLAN inside
     * (as in tcpreplay/test.pcap). */
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x8847);
    pb_mpls(&p, 19, 0);
    pb_mpls(&p, 16, 1);
    pb_put(&p, 4); /* control word 0 */
    pb_eth(&p, 0x8100);
    pb_tag(&p, 1, 0x0800);
    pb_ip4(&p, 1);
    pb_icmp(&p, 0, 0);
    pb_fix(&p);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_VLAN | SD_P_MPLS | SD_P_IP4 | SD_P_ICMP);
    ck_assert_uint_eq(o.n_mpls, 2);
    ck_assert_uint_eq(o.n_vlan, 1);
    ck_assert_uint_eq(o.vlan[0], 1);
    ck_assert_uint_eq(o.ethertype, 0x0800);
    ck_assert_uint_eq(o.l2_len, 14 + 8 + 4 + 14 + 4);
    ck_assert_uint_eq(o.l3_off, 44);

    /* Without a control word: the inner destination MAC starts 00:1b. */
    pb_init(&p);
    pb_eth(&p, 0x8847);
    pb_mpls(&p, 16, 1);
    pb_eth(&p, 0x86dd);
    pb_ip6(&p, 6);
    pb_tcp(&p, 80, 443, SD_TCP_ACK);
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_MPLS | SD_P_IP6 | SD_P_TCP);
    ck_assert_uint_eq(o.l3_off, 32);
    ck_assert_uint_eq(o.ethertype, 0x86dd);

    /* A pseudowire carrying ARP: stops after the inner Ethernet header. */
    pb_init(&p);
    pb_eth(&p, 0x8847);
    pb_mpls(&p, 16, 1);
    pb_put(&p, 4);
    pb_eth(&p, 0x0806);
    pb_fill(&p, 28);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_MPLS);
    ck_assert_uint_eq(o.ethertype, 0x0806);
    ck_assert_uint_eq(o.l2_len, 36);
}
END_TEST

START_TEST(non_ip_ethertypes)
{
    pb p;
    pb_init(&p);
    pb_eth(&p, 46); /* 802.3 length field: LLC follows */
    pb_fill(&p, 46);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH);
    ck_assert_uint_eq(o.ethertype, 46);
    ck_assert_uint_eq(o.l2_len, 14);
    ck_assert_uint_eq(o.l3_off, 0);

    /* 0x0800 whose payload is not IPv4 is malformed. */
    pb_init(&p);
    pb_eth(&p, 0x0800);
    pb_ip6(&p, 59);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_MALFORMED);
    ck_assert_uint_eq(o.l2_len, 14);
    ck_assert_uint_eq(o.ip_version, 0);
    pb_init(&p);
    pb_eth(&p, 0x86dd);
    pb_ip4(&p, 6);
    pb_fill(&p, 20);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_MALFORMED);
}
END_TEST

static void family_frame(pb *p, const uint8_t fam[4], int v6)
{
    pb_init(p);
    memcpy(pb_put(p, 4), fam, 4);
    if (v6)
        pb_ip6(p, 17);
    else
        pb_ip4(p, 17);
    pb_udp(p, 29998, 13000);
    pb_fill(p, 5);
    pb_fix(p);
}

START_TEST(null_and_loop)
{
    static const struct {
        uint8_t fam[4];
        unsigned link;
        int v6;
        uint32_t flags;
    } cases[] = {
        {{2, 0, 0, 0}, SD_LINK_NULL, 0, SD_P_IP4},   /* little-endian host */
        {{0, 0, 0, 2}, SD_LINK_NULL, 0, SD_P_IP4},   /* big-endian host */
        {{24, 0, 0, 0}, SD_LINK_NULL, 1, SD_P_IP6},  /* NetBSD/OpenBSD */
        {{28, 0, 0, 0}, SD_LINK_NULL, 1, SD_P_IP6},  /* FreeBSD */
        {{30, 0, 0, 0}, SD_LINK_NULL, 1, SD_P_IP6},  /* macOS */
        {{0, 0, 0, 30}, SD_LINK_NULL, 1, SD_P_IP6},
        {{0, 0, 0, 2}, SD_LINK_LOOP, 0, SD_P_IP4},
        {{0, 0, 0, 24}, SD_LINK_LOOP, 1, SD_P_IP6},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        pb p;
        family_frame(&p, cases[i].fam, cases[i].v6);
        sd_parsed o;
        ck_assert_int_eq(parse_pb(&p, cases[i].link, &o), 0);
        ck_assert_uint_eq(o.flags, SD_P_ETH | cases[i].flags | SD_P_UDP);
        ck_assert_uint_eq(o.ethertype, cases[i].v6 ? 0x86dd : 0x0800);
        ck_assert_uint_eq(o.l2_len, 4);
        ck_assert_uint_eq(o.l3_off, 4);
        ck_assert_uint_eq(o.sport, 29998);
        ck_assert_uint_eq(o.udp_len, 13);
    }
    /* LOOP is network order only: a little-endian 2 is family 0x02000000. */
    static const uint8_t le2[4] = {2, 0, 0, 0}, unk[4] = {7, 0, 0, 0};
    pb p;
    family_frame(&p, le2, 0);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_LOOP, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH);
    ck_assert_uint_eq(o.ethertype, 0);
    ck_assert_uint_eq(o.l2_len, 4);
    /* Unknown family: nothing beyond the 4-byte header. */
    family_frame(&p, unk, 0);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_NULL, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH);
    ck_assert_uint_eq(o.ethertype, 0);
}
END_TEST

START_TEST(linux_cooked)
{
    pb p;
    pb_init(&p);
    uint8_t *h = pb_put(&p, 16); /* SLL: type, ARPHRD, addr len, addr, proto */
    be16(h + 2, 1);
    be16(h + 4, 6);
    be16(h + 14, 0x0800);
    pb_ip4(&p, 6);
    pb_tcp(&p, 22, 50000, SD_TCP_RST);
    pb_fix(&p);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_LINUX_SLL, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_TCP);
    ck_assert_uint_eq(o.l3_off, 16);
    ck_assert_uint_eq(o.tcp_flags, SD_TCP_RST);

    /* SLL with a VLAN-tagged payload (protocol 0x8100). */
    pb_init(&p);
    h = pb_put(&p, 16);
    be16(h + 14, 0x8100);
    pb_tag(&p, 42, 0x86dd);
    pb_ip6(&p, 58);
    pb_icmp(&p, 128, 0);
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_LINUX_SLL, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_VLAN | SD_P_IP6 | SD_P_ICMP6);
    ck_assert_uint_eq(o.vlan[0], 42);
    ck_assert_uint_eq(o.l3_off, 20);

    pb_init(&p);
    h = pb_put(&p, 20); /* SLL2: proto, reserved, ifindex, ARPHRD, ... */
    be16(h, 0x86dd);
    be32(h + 4, 3);
    be16(h + 8, 1);
    pb_ip6(&p, 17);
    pb_udp(&p, 547, 546);
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_LINUX_SLL2, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP6 | SD_P_UDP);
    ck_assert_uint_eq(o.ethertype, 0x86dd);
    ck_assert_uint_eq(o.l3_off, 20);
    ck_assert_uint_eq(o.l4_off, 60);
    ck_assert_uint_eq(o.dport, 546);

    /* SLL2 carrying ARP. */
    be16(p.b, 0x0806);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_LINUX_SLL2, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH);
    ck_assert_uint_eq(o.ethertype, 0x0806);
    ck_assert_uint_eq(o.l2_len, 20);
}
END_TEST

START_TEST(raw_ip_links)
{
    pb p;
    pb_init(&p);
    pb_ip4(&p, 17);
    pb_udp(&p, 123, 123);
    pb_fill(&p, 20); /* 48 bytes: long enough to be checked as IPv6 below */
    pb_fix(&p);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_RAW, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_IP4 | SD_P_UDP);
    ck_assert_uint_eq(o.ethertype, 0x0800);
    ck_assert_uint_eq(o.l2_len, 0);
    ck_assert_uint_eq(o.l3_off, 0);
    ck_assert_uint_eq(o.l4_off, 20);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_IPV4, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_IP4 | SD_P_UDP);
    /* LINKTYPE_IPV6 holding IPv4: malformed. */
    ck_assert_int_eq(parse_pb(&p, SD_LINK_IPV6, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_MALFORMED);

    pb_init(&p);
    pb_ip6(&p, 6);
    pb_tcp(&p, 1, 2, SD_TCP_SYN);
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_RAW, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_IP6 | SD_P_TCP);
    ck_assert_uint_eq(o.ethertype, 0x86dd);
    ck_assert_uint_eq(o.tos, 0xb8);
    ck_assert_uint_eq(o.ttl, 57);
    ck_assert_uint_eq(o.ip_len, 60);
    ck_assert_uint_eq(o.ip_hl, 40);
    ck_assert_mem_eq(p.b + o.l3_off + 8, "\x20\x01\x0d\xb8", 4);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_IPV6, &o), 0);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_IPV4, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_MALFORMED);

    /* Version nibble neither 4 nor 6. */
    p.b[0] = 0x55;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_RAW, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_MALFORMED);
    ck_assert_uint_eq(o.ethertype, 0);
}
END_TEST

START_TEST(unknown_link)
{
    static const unsigned links[] = {SD_LINK_UNKNOWN, 105, 127, 147, 2, 12};
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x0800);
    pb_ip4(&p, 6);
    pb_tcp(&p, 1, 2, 2);
    pb_fix(&p);
    for (size_t i = 0; i < sizeof links / sizeof links[0]; i++) {
        sd_parsed o;
        ck_assert_int_eq(parse_pb(&p, links[i], &o), SD_ERR_UNSUPPORTED);
        ck_assert_uint_eq(o.flags, SD_P_UNKNOWN_LINK);
        ck_assert_uint_eq(o.l2_len, 0);
        ck_assert_uint_eq(o.ethertype, 0);
    }
}
END_TEST

/* ------------------------------------------------------------ truncation */

START_TEST(truncation_eth_ipv4_tcp)
{
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x0800);
    pb_ip4(&p, 6);
    pb_tcp(&p, 1234, 80, SD_TCP_SYN);
    pb_fix(&p);
    const struct cut rows[] = {
        {0, T, TR},
        {14, SD_P_ETH | T, TR},
        {34, SD_P_ETH | SD_P_IP4 | T, TR},
        {54, SD_P_ETH | SD_P_IP4 | SD_P_TCP, 0},
    };
    sweep(&p, SD_LINK_ETHERNET, rows, NROWS(rows));
    /* What a cut keeps: the ports once their 4 bytes are there. */
    sd_parsed o;
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 37, 54, &o), TR);
    ck_assert_uint_eq(o.sport, 0);
    ck_assert_uint_eq(o.l4_off, 34);
    ck_assert_uint_eq(o.proto, 6);
    ck_assert_uint_eq(o.payload_off, 0);
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 38, 54, &o), TR);
    ck_assert_uint_eq(o.sport, 1234);
    ck_assert_uint_eq(o.dport, 80);
    ck_assert_uint_eq(o.tcp_seq, 0);
    ck_assert_uint_eq(o.src4, SRC4);
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 13, 54, &o), TR);
    ck_assert_uint_eq(o.ethertype, 0);
    ck_assert_uint_eq(o.l2_len, 0);
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 33, 54, &o), TR);
    ck_assert_uint_eq(o.ethertype, 0x0800);
    ck_assert_uint_eq(o.l2_len, 14);
    ck_assert_uint_eq(o.l3_off, 0);
}
END_TEST

START_TEST(truncation_tcp_options)
{
    /* doff 32: options cut by the capture keep the fixed fields. */
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x0800);
    pb_ip4(&p, 6);
    pb_tcp(&p, 1234, 80, SD_TCP_SYN);
    pb_put(&p, 12);
    pb_fix(&p);
    p.b[34 + 12] = 0x80;
    const struct cut rows[] = {
        {0, T, TR},
        {14, SD_P_ETH | T, TR},
        {34, SD_P_ETH | SD_P_IP4 | T, TR},
        {54, SD_P_ETH | SD_P_IP4 | SD_P_TCP | T, TR},
        {66, SD_P_ETH | SD_P_IP4 | SD_P_TCP, 0},
    };
    sweep(&p, SD_LINK_ETHERNET, rows, NROWS(rows));
    sd_parsed o;
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 60, 66, &o), TR);
    ck_assert_uint_eq(o.tcp_doff, 32);
    ck_assert_uint_eq(o.tcp_flags, SD_TCP_SYN);
    ck_assert_uint_eq(o.payload_off, 0);
}
END_TEST

START_TEST(truncation_vlan_udp)
{
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x8100);
    pb_tag(&p, 7, 0x0800);
    pb_ip4(&p, 17);
    pb_udp(&p, 53, 53);
    pb_fix(&p);
    const struct cut rows[] = {
        {0, T, TR},
        {14, SD_P_ETH | T, TR},
        {18, SD_P_ETH | SD_P_VLAN | T, TR},
        {38, SD_P_ETH | SD_P_VLAN | SD_P_IP4 | T, TR},
        {46, SD_P_ETH | SD_P_VLAN | SD_P_IP4 | SD_P_UDP, 0},
    };
    sweep(&p, SD_LINK_ETHERNET, rows, NROWS(rows));
}
END_TEST

START_TEST(truncation_mpls_icmp)
{
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x8847);
    pb_mpls(&p, 1, 0);
    pb_mpls(&p, 2, 1);
    pb_ip4(&p, 1);
    pb_icmp(&p, 8, 0);
    pb_fix(&p);
    const uint32_t m = SD_P_ETH | SD_P_MPLS;
    const struct cut rows[] = {
        {0, T, TR},
        {14, m | T, TR}, /* MPLS flag as soon as the EtherType says so */
        {42, m | SD_P_IP4 | T, TR},
        {50, m | SD_P_IP4 | SD_P_ICMP, 0},
    };
    sweep(&p, SD_LINK_ETHERNET, rows, NROWS(rows));
    sd_parsed o;
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 21, 50, &o), TR);
    ck_assert_uint_eq(o.n_mpls, 1);
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 22, 50, &o), TR);
    ck_assert_uint_eq(o.n_mpls, 2);
    ck_assert_uint_eq(o.l2_len, 0);
    /* The ICMP type/code survive a cut inside the ICMP header. */
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 43, 50, &o), TR);
    ck_assert_uint_eq(o.icmp_type, 0);
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 44, 50, &o), TR);
    ck_assert_uint_eq(o.icmp_type, 8);
    ck_assert_uint_eq(o.sport, 8);
}
END_TEST

START_TEST(truncation_pseudowire)
{
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x8847);
    pb_mpls(&p, 16, 1);
    pb_put(&p, 4);
    pb_eth(&p, 0x0800);
    pb_ip4(&p, 17);
    pb_udp(&p, 1, 2);
    pb_fix(&p);
    const uint32_t m = SD_P_ETH | SD_P_MPLS;
    const struct cut rows[] = {
        {0, T, TR},
        {14, m | T, TR},
        {36, m | T, TR}, /* inner Ethernet complete, IPv4 not */
        {56, m | SD_P_IP4 | T, TR},
        {64, m | SD_P_IP4 | SD_P_UDP, 0},
    };
    sweep(&p, SD_LINK_ETHERNET, rows, NROWS(rows));
    sd_parsed o;
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 36, 64, &o), TR);
    ck_assert_uint_eq(o.l2_len, 36);
    ck_assert_uint_eq(o.ethertype, 0x0800);
}
END_TEST

START_TEST(truncation_link_headers)
{
    static const uint8_t fam[4] = {2, 0, 0, 0};
    pb p;
    family_frame(&p, fam, 0);
    const struct cut null_rows[] = {
        {0, T, TR},
        {4, SD_P_ETH | T, TR},
        {24, SD_P_ETH | SD_P_IP4 | T, TR},
        {32, SD_P_ETH | SD_P_IP4 | SD_P_UDP, 0},
    };
    sweep(&p, SD_LINK_NULL, null_rows, NROWS(null_rows));
    static const uint8_t fam_be[4] = {0, 0, 0, 2};
    family_frame(&p, fam_be, 0);
    sweep(&p, SD_LINK_LOOP, null_rows, NROWS(null_rows));

    pb_init(&p);
    be16(pb_put(&p, 16) + 14, 0x86dd);
    pb_ip6(&p, 17);
    pb_udp(&p, 1, 2);
    pb_fix(&p);
    const struct cut sll_rows[] = {
        {0, T, TR},
        {16, SD_P_ETH | T, TR},
        {56, SD_P_ETH | SD_P_IP6 | T, TR},
        {64, SD_P_ETH | SD_P_IP6 | SD_P_UDP, 0},
    };
    sweep(&p, SD_LINK_LINUX_SLL, sll_rows, NROWS(sll_rows));

    pb_init(&p);
    be16(pb_put(&p, 20), 0x0800);
    pb_ip4(&p, 1);
    pb_icmp(&p, 3, 1);
    pb_fix(&p);
    const struct cut sll2_rows[] = {
        {0, T, TR},
        {20, SD_P_ETH | T, TR},
        {40, SD_P_ETH | SD_P_IP4 | T, TR},
        {48, SD_P_ETH | SD_P_IP4 | SD_P_ICMP, 0},
    };
    sweep(&p, SD_LINK_LINUX_SLL2, sll2_rows, NROWS(sll2_rows));

    pb_init(&p);
    pb_ip6(&p, 58);
    pb_icmp(&p, 129, 0);
    pb_fix(&p);
    const struct cut raw_rows[] = {
        {0, T, TR},
        {1, T, TR},
        {40, SD_P_IP6 | T, TR},
        {48, SD_P_IP6 | SD_P_ICMP6, 0},
    };
    sweep(&p, SD_LINK_RAW, raw_rows, NROWS(raw_rows));
    sweep(&p, SD_LINK_IPV6, raw_rows, NROWS(raw_rows));
}
END_TEST

START_TEST(truncation_ipv6_extensions)
{
    /* IPv6, hop-by-hop (16), routing (8), destination options (8),
     * fragment (first, M set), UDP. */
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x86dd);
    pb_ip6(&p, 0);
    pb_ext(&p, 43, 1);
    pb_ext(&p, 60, 0);
    pb_ext(&p, 44, 0);
    pb_frag6(&p, 17, 0, 1, 0xdeadbeef);
    pb_udp(&p, 500, 4500);
    pb_fill(&p, 8);
    pb_fix(&p);
    const uint32_t e6 = SD_P_ETH | SD_P_IP6;
    const struct cut rows[] = {
        {0, T, TR},
        {14, SD_P_ETH | T, TR},
        {54, e6 | T, TR},
        {94, e6 | SD_P_FRAG | T, TR}, /* fragment header complete */
        {102, e6 | SD_P_FRAG | SD_P_UDP, 0},
    };
    sweep(&p, SD_LINK_ETHERNET, rows, NROWS(rows));
    sd_parsed o;
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 93, p.len, &o), TR);
    ck_assert_uint_eq(o.proto, 44); /* the header that was cut */
    ck_assert_uint_eq(o.ip_hl, 40 + 16 + 8 + 8);
    ck_assert_uint_eq(o.l4_off, 0);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.ip_hl, 80);
    ck_assert_uint_eq(o.l4_off, 94);
    ck_assert_uint_eq(o.proto, 17);
    ck_assert_uint_eq(o.ip6_frag_id, 0xdeadbeefu);
    ck_assert_uint_eq(o.ip_id, 0xbeef);
    ck_assert_uint_eq(o.ip_flags, 1);
    ck_assert_uint_eq(o.frag_off, 0);
    ck_assert_uint_eq(o.payload_off, 102);
    ck_assert_uint_eq(o.payload_len, 8);
    ck_assert_uint_eq(o.ip_len, 40 + 56);
}
END_TEST

START_TEST(window_of_65535_bytes)
{
    /* Offsets are 16-bit: an IPv6 extension chain crossing byte 65535 of
     * a bigger capture counts as cut, and no offset wraps. */
    static pb dummy;
    uint32_t n = 70000;
    uint8_t *b = calloc(1, n);
    ck_assert_ptr_nonnull(b);
    pb_init(&dummy);
    pb_eth(&dummy, 0x86dd);
    pb_ip6(&dummy, 0);
    memcpy(b, dummy.b, dummy.len);
    be16(b + 14 + 4, 65535);
    uint32_t off = 54;
    for (int i = 0; i < 31; i++, off += 2048) {
        b[off] = 60;
        b[off + 1] = 255;
    }
    b[off] = 17;
    b[off + 1] = 254; /* 2040 bytes: ends at 65582, inside the IP length
                         but beyond the 65535-byte window */
    sd_packet k;
    memset(&k, 0, sizeof k);
    k.data = b;
    k.caplen = n;
    k.wirelen = n;
    k.linktype = SD_LINK_ETHERNET;
    sd_parsed o;
    ck_assert_int_eq(sd_parse(&k, &o), SD_ERR_TRUNCATED);
    check_invariants(&o, n);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP6 | SD_P_TRUNCATED);
    ck_assert_uint_eq(o.ip_hl, 40 + 31 * 2048);
    ck_assert_uint_eq(o.ip_len, 40 + 65535);
    ck_assert_uint_eq(o.proto, 60);
    /* 1984 bytes: the header ends at 65526 and UDP fits before 65535. */
    b[off + 1] = 247;
    ck_assert_int_eq(sd_parse(&k, &o), 0);
    check_invariants(&o, n);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP6 | SD_P_UDP);
    ck_assert_uint_eq(o.ip_hl, 40 + 31 * 2048 + 1984);
    ck_assert_uint_eq(o.l4_off, 65526);
    ck_assert_uint_eq(o.payload_off, 65534);
    ck_assert_uint_eq(o.payload_len, 14 + 40 + 65535 - 65534);
    free(b);
}
END_TEST

/* ------------------------------------------------------------ IPv4 */

static void ip4_frame(pb *p, unsigned proto)
{
    pb_init(p);
    pb_eth(p, 0x0800);
    pb_ip4(p, proto);
}

START_TEST(ipv4_header_checks)
{
    pb p;
    sd_parsed o;
    for (unsigned ihl = 0; ihl < 5; ihl++) {
        ip4_frame(&p, 6);
        pb_tcp(&p, 1, 2, 2);
        pb_fix(&p);
        p.b[14] = (uint8_t)(0x40 | ihl);
        ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
        ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_MALFORMED);
        ck_assert_uint_eq(o.ip_hl, ihl * 4);
        ck_assert_uint_eq(o.src4, SRC4); /* fixed part kept */
        ck_assert_uint_eq(o.l4_off, 0);
    }
    /* Total length shorter than the header. */
    ip4_frame(&p, 6);
    pb_tcp(&p, 1, 2, 2);
    pb_fix(&p);
    be16(p.b + 16, 19);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_MALFORMED);
    ck_assert_uint_eq(o.ip_len, 19);
    /* Total length exactly the header: no room for TCP -> malformed. */
    be16(p.b + 16, 20);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_MALFORMED);
    ck_assert_uint_eq(o.l4_off, 34);
    ck_assert_uint_eq(o.proto, 6);
    /* Total length 0 (ip-bogus-header-len.pcap) is below IHL. */
    be16(p.b + 16, 0);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    /* Reserved ("evil") bit shows in ip_flags. */
    be16(p.b + 16, 40);
    be16(p.b + 20, 0xc000);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.ip_flags, 0x6);
    ck_assert_uint_eq(o.flags & SD_P_FRAG, 0);
}
END_TEST

START_TEST(ipv4_options)
{
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x0800);
    pb_ip4(&p, 17);
    pb_put(&p, 8); /* two NOP..EOL words */
    pb_udp(&p, 7, 9);
    pb_fix(&p);
    p.b[14] = 0x47;
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_IP_OPTIONS | SD_P_UDP);
    ck_assert_uint_eq(o.ip_hl, 28);
    ck_assert_uint_eq(o.l4_off, 42);
    ck_assert_uint_eq(o.payload_off, 50);
    const uint32_t e4 = SD_P_ETH | SD_P_IP4;
    const struct cut rows[] = {
        {0, T, TR},
        {14, SD_P_ETH | T, TR},
        {34, e4 | SD_P_IP_OPTIONS | T, TR}, /* options cut */
        {42, e4 | SD_P_IP_OPTIONS | T, TR}, /* UDP cut */
        {50, e4 | SD_P_IP_OPTIONS | SD_P_UDP, 0},
    };
    sweep(&p, SD_LINK_ETHERNET, rows, NROWS(rows));
}
END_TEST

START_TEST(ipv4_fragments)
{
    pb p;
    sd_parsed o;
    /* First fragment: MF, offset 0, L4 parsed. */
    ip4_frame(&p, 17);
    pb_udp(&p, 123, 137);
    pb_fill(&p, 16);
    pb_fix(&p);
    be16(p.b + 20, 0x2000);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_FRAG | SD_P_UDP);
    ck_assert_uint_eq(o.ip_flags, 1);
    ck_assert_uint_eq(o.sport, 123);
    /* Later fragment: offset 1480, MF: no L4. */
    be16(p.b + 20, 0x2000 | 185);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_FRAG | SD_P_FRAG_LATER);
    ck_assert_uint_eq(o.frag_off, 1480);
    ck_assert_uint_eq(o.l4_off, 0);
    ck_assert_uint_eq(o.payload_off, 34);
    ck_assert_uint_eq(o.payload_len, 24);
    ck_assert_uint_eq(o.sport, 0);
    ck_assert_uint_eq(o.proto, 17);
    /* Last fragment: offset, no MF. */
    be16(p.b + 20, 0x1fff);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_FRAG | SD_P_FRAG_LATER);
    ck_assert_uint_eq(o.frag_off, 65528);
    ck_assert_uint_eq(o.ip_flags, 0);
    /* DF alone is not a fragment. */
    be16(p.b + 20, 0x4000);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_UDP);

    /* A first fragment carrying only part of a 40-byte TCP header
     * (ipv4_fragmented-syn.pcap): TCP fields kept, TRUNCATED (the rest is
     * in the next fragment), not MALFORMED. */
    ip4_frame(&p, 6);
    pb_tcp(&p, 12345, 80, SD_TCP_SYN);
    pb_put(&p, 4);
    pb_fix(&p);
    p.b[34 + 12] = 0xa0;
    be16(p.b + 20, 0x2000);
    pb_fill(&p, 2); /* Ethernet padding beyond the IP length */
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_TRUNCATED);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_FRAG | SD_P_TCP | SD_P_TRUNCATED);
    ck_assert_uint_eq(o.tcp_flags, SD_TCP_SYN);
    ck_assert_uint_eq(o.tcp_doff, 40);
    /* The same without MF: the header runs past the datagram: malformed. */
    be16(p.b + 20, 0);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_TCP | SD_P_MALFORMED);
}
END_TEST

START_TEST(ipv4_payload_short)
{
    pb p;
    ip4_frame(&p, 17);
    pb_udp(&p, 1, 2);
    pb_fill(&p, 100);
    pb_fix(&p);
    be16(p.b + 16, 200); /* IP says 200, the frame carries 128 */
    sd_parsed o;
    /* caplen == wirelen: the packet really is short. */
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_UDP | SD_P_PAYLOAD_SHORT);
    ck_assert_uint_eq(o.payload_len, 172);
    /* Snaplen cut: the wire had all 214 bytes. */
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, p.len, 214, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_UDP);
    ck_assert_uint_eq(o.payload_len, 172);
    /* Wire 213 bytes: one short. */
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, p.len, 213, &o), 0);
    ck_assert_uint_eq(o.flags & SD_P_PAYLOAD_SHORT, SD_P_PAYLOAD_SHORT);
    /* Wire length unknown (0) or below caplen: no verdict. */
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, p.len, 0, &o), 0);
    ck_assert_uint_eq(o.flags & SD_P_PAYLOAD_SHORT, 0);
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, p.len, 60, &o), 0);
    ck_assert_uint_eq(o.flags & SD_P_PAYLOAD_SHORT, 0);
}
END_TEST

START_TEST(ipv4_tunnels_not_entered)
{
    static const unsigned protos[] = {4, 41, 47, 50, 253};
    for (size_t i = 0; i < sizeof protos / sizeof protos[0]; i++) {
        pb p;
        ip4_frame(&p, protos[i]);
        if (protos[i] == 41)
            pb_ip6(&p, 59);
        else
            pb_fill(&p, 24);
        pb_fix(&p);
        sd_parsed o;
        ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
        ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4);
        ck_assert_uint_eq(o.proto, protos[i]);
        ck_assert_uint_eq(o.l4_off, 34);
        ck_assert_uint_eq(o.payload_off, 34);
        ck_assert_uint_eq(o.payload_len, p.len - 34);
        ck_assert_uint_eq(o.src4, SRC4);
    }
    /* Teredo: plain UDP to 3544, IPv6 inside not decoded. */
    pb p;
    ip4_frame(&p, 17);
    pb_udp(&p, 3544, 50000);
    pb_ip6(&p, 59);
    pb_fix(&p);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_UDP);
    ck_assert_uint_eq(o.payload_off, 42);
    ck_assert_uint_eq(o.payload_len, 40);
}
END_TEST

/* ------------------------------------------------------------ IPv6 */

START_TEST(ipv6_extension_headers)
{
    /* Every walked type with its length rule; the chain ends in TCP. Each
     * pb_ext() writes one header and names the one after it. */
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x86dd);
    pb_ip6(&p, 0);
    pb_ext(&p, 43, 0);  /* hop-by-hop: 8 bytes */
    pb_ext(&p, 60, 2);  /* routing: 24 */
    pb_ext(&p, 135, 1); /* destination options: 16 */
    pb_ext(&p, 51, 0);  /* mobility: 8 */
    uint8_t *ah = pb_put(&p, 24); /* AH: (4 + 2) * 4 = 24 */
    ah[0] = 6;
    ah[1] = 4;
    pb_tcp(&p, 179, 179, SD_TCP_ACK | SD_TCP_PSH);
    pb_fill(&p, 3);
    pb_fix(&p);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP6 | SD_P_TCP);
    ck_assert_uint_eq(o.ip_hl, 40 + 8 + 24 + 16 + 8 + 24);
    ck_assert_uint_eq(o.l4_off, 14 + 120);
    ck_assert_uint_eq(o.proto, 6);
    ck_assert_uint_eq(o.payload_off, 154);
    ck_assert_uint_eq(o.payload_len, 3);
    ck_assert_uint_eq(o.ip_len, p.len - 14);

    /* An extension header longer than the IPv6 payload length: malformed
     * (while the capture has the bytes). */
    be16(p.b + 18, 20); /* payload length 20: the routing header overruns */
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP6 | SD_P_MALFORMED);
    ck_assert_uint_eq(o.proto, 43);
    ck_assert_uint_eq(o.ip_hl, 48);
    /* Payload length 8: even the 8-byte minimum of the next header does
     * not fit. */
    be16(p.b + 18, 8);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags & SD_P_MALFORMED, SD_P_MALFORMED);
    /* Payload length 0 with a hop-by-hop header: a jumbogram, which is not
     * supported: malformed too. */
    be16(p.b + 18, 0);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    pb_fix(&p);
    /* The capture ends inside the 8 bytes every header has (here AH). */
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 14 + 40 + 8 + 24 + 16 + 8 + 7, p.len, &o),
                     SD_ERR_TRUNCATED);
    ck_assert_uint_eq(o.proto, 51);
    ck_assert_uint_eq(o.ip_hl, 40 + 8 + 24 + 16 + 8);
    /* The capture ends inside a long header: truncated. */
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 14 + 40 + 8 + 20, p.len, &o),
                     SD_ERR_TRUNCATED);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP6 | SD_P_TRUNCATED);
    ck_assert_uint_eq(o.proto, 43);
}
END_TEST

START_TEST(ipv6_stops)
{
    static const unsigned stop[] = {59, 50, 253, 4, 47};
    for (size_t i = 0; i < sizeof stop / sizeof stop[0]; i++) {
        pb p;
        pb_init(&p);
        pb_eth(&p, 0x86dd);
        pb_ip6(&p, 0);
        pb_ext(&p, stop[i], 0);
        pb_fill(&p, 12);
        pb_fix(&p);
        sd_parsed o;
        ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
        ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP6);
        ck_assert_uint_eq(o.proto, stop[i]);
        ck_assert_uint_eq(o.ip_hl, 48);
        ck_assert_uint_eq(o.l4_off, 62);
        ck_assert_uint_eq(o.payload_off, 62);
        ck_assert_uint_eq(o.payload_len, 12);
    }
}
END_TEST

START_TEST(ipv6_fragments)
{
    pb p;
    sd_parsed o;
    /* Later fragment: offset 2896, no M. */
    pb_init(&p);
    pb_eth(&p, 0x86dd);
    pb_ip6(&p, 44);
    pb_frag6(&p, 17, 2896, 0, 1);
    pb_fill(&p, 342);
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP6 | SD_P_FRAG | SD_P_FRAG_LATER);
    ck_assert_uint_eq(o.frag_off, 2896);
    ck_assert_uint_eq(o.ip_flags, 0);
    ck_assert_uint_eq(o.ip6_frag_id, 1);
    ck_assert_uint_eq(o.proto, 17);
    ck_assert_uint_eq(o.ip_hl, 48);
    ck_assert_uint_eq(o.l4_off, 0);
    ck_assert_uint_eq(o.payload_off, 62);
    ck_assert_uint_eq(o.payload_len, 342);
    /* Atomic fragment (offset 0, no M, RFC 6946): not a fragment; the
     * header's fields are still recorded. */
    pb_init(&p);
    pb_eth(&p, 0x86dd);
    pb_ip6(&p, 44);
    pb_frag6(&p, 6, 0, 0, 0x10203040);
    pb_tcp(&p, 1, 2, SD_TCP_SYN);
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP6 | SD_P_TCP);
    ck_assert_uint_eq(o.ip6_frag_id, 0x10203040u);
    ck_assert_uint_eq(o.ip_id, 0x3040);
    /* First fragment whose TCP header runs into the next fragment. */
    pb_init(&p);
    pb_eth(&p, 0x86dd);
    pb_ip6(&p, 44);
    pb_frag6(&p, 6, 0, 1, 9);
    pb_tcp(&p, 1, 2, SD_TCP_SYN);
    pb_fix(&p);
    be16(p.b + 18, 8 + 12); /* only 12 bytes of TCP in this fragment */
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_TRUNCATED);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP6 | SD_P_FRAG | SD_P_TRUNCATED);
    ck_assert_uint_eq(o.sport, 1);
    ck_assert_uint_eq(o.dport, 2);
}
END_TEST

/* ------------------------------------------------------------ transport */

START_TEST(tcp_doff_checks)
{
    for (unsigned doff = 0; doff < 5; doff++) {
        pb p;
        ip4_frame(&p, 6);
        pb_tcp(&p, 1, 2, SD_TCP_SYN);
        pb_fix(&p);
        p.b[34 + 12] = (uint8_t)(doff << 4);
        sd_parsed o;
        ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
        ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_TCP | SD_P_MALFORMED);
        ck_assert_uint_eq(o.tcp_doff, doff * 4);
        ck_assert_uint_eq(o.sport, 1);
        ck_assert_uint_eq(o.payload_off, 0);
    }
    /* doff 60 in a 40-byte datagram that the frame pads out. */
    pb p;
    ip4_frame(&p, 6);
    pb_tcp(&p, 1, 2, SD_TCP_SYN);
    pb_fix(&p);
    pb_fill(&p, 40);
    p.b[34 + 12] = 0xf0;
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_TCP | SD_P_MALFORMED);
    /* Every flag bit, including NS not being one of them. */
    p.b[34 + 12] = 0x51;
    p.b[34 + 13] = 0xff;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.tcp_flags, 0xff);
    ck_assert_uint_eq(o.tcp_doff, 20);
}
END_TEST

START_TEST(udp_and_icmp_cut_by_ip_length)
{
    /* The IP length leaves 6 bytes for UDP: malformed, ports kept. */
    pb p;
    ip4_frame(&p, 17);
    pb_udp(&p, 1000, 2000);
    pb_fill(&p, 10);
    pb_fix(&p);
    be16(p.b + 16, 26);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_MALFORMED);
    ck_assert_uint_eq(o.sport, 1000);
    ck_assert_uint_eq(o.dport, 2000);
    ck_assert_uint_eq(o.udp_len, 0);

    ip4_frame(&p, 1);
    pb_icmp(&p, 8, 0);
    pb_fix(&p);
    be16(p.b + 16, 21);
    pb_fill(&p, 10);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_MALFORMED);
    ck_assert_uint_eq(o.icmp_type, 0); /* only 1 byte inside the IP length */
}
END_TEST

START_TEST(icmp4_quotes)
{
    static const struct {
        unsigned type;
        int quotes;
    } types[] = {{0, 0}, {3, 1}, {4, 1}, {5, 1}, {8, 0}, {11, 1}, {12, 1}, {13, 0},
                 {40, 0}, {255, 0}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        pb p;
        ip4_frame(&p, 1);
        pb_icmp(&p, types[i].type, 1);
        pb_ip4(&p, 6); /* quoted datagram: header + 8 bytes of TCP */
        pb_tcp(&p, 4321, 80, SD_TCP_SYN);
        p.len -= 12;
        pb_fix(&p);
        be16(p.b + 42 + 2, 1500); /* the quoted datagram was larger */
        sd_parsed o;
        ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
        ck_assert_uint_eq(o.icmp_type, types[i].type);
        ck_assert_uint_eq(o.icmp_code, 1);
        ck_assert_uint_eq(o.sport, types[i].type);
        ck_assert_uint_eq(o.dport, 1);
        ck_assert_uint_eq(o.payload_off, 42);
        ck_assert_uint_eq(o.payload_len, 28);
        if (!types[i].quotes) {
            ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_ICMP);
            continue;
        }
        ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_ICMP | SD_P_ICMP_QUOTE);
        ck_assert_uint_eq(o.inner_off, 42);
        /* The quote: ports and seq survive, the rest is cut. */
        sd_parsed q;
        memset(&q, 0xa5, sizeof q);
        ck_assert_int_eq(sd_parse_ip(p.b + o.inner_off, p.len - o.inner_off, &q),
                         SD_ERR_TRUNCATED);
        check_invariants(&q, p.len - o.inner_off);
        ck_assert_uint_eq(q.flags, SD_P_IP4 | SD_P_TRUNCATED); /* no PAYLOAD_SHORT */
        ck_assert_uint_eq(q.ip_len, 1500);
        ck_assert_uint_eq(q.l3_off, 0);
        ck_assert_uint_eq(q.l4_off, 20);
        ck_assert_uint_eq(q.src4, SRC4);
        ck_assert_uint_eq(q.proto, 6);
        ck_assert_uint_eq(q.sport, 4321);
        ck_assert_uint_eq(q.dport, 80);
    }
}
END_TEST

START_TEST(icmp_quote_bounds)
{
    /* An error with nothing after the 8-byte header: no quote, even when
     * the frame is padded beyond the IP length. */
    pb p;
    ip4_frame(&p, 1);
    pb_icmp(&p, 3, 1);
    pb_fix(&p);
    pb_fill(&p, 18);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_ICMP);
    ck_assert_uint_eq(o.inner_off, 0);
    /* One quoted byte is enough to point at it. */
    ip4_frame(&p, 1);
    pb_icmp(&p, 11, 0);
    pb_put(&p, 1)[0] = 0x45;
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_ICMP | SD_P_ICMP_QUOTE);
    ck_assert_uint_eq(o.inner_off, 42);
    /* ...but not when the capture stops before it. */
    ck_assert_int_eq(parse_n(&p, SD_LINK_ETHERNET, 42, p.len, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_ICMP);
}
END_TEST

START_TEST(icmp6_quotes)
{
    static const struct {
        unsigned type;
        int quotes;
    } types[] = {{1, 1}, {2, 1}, {3, 1}, {4, 1}, {0, 0}, {5, 0}, {128, 0}, {135, 0}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        pb p;
        pb_init(&p);
        pb_eth(&p, 0x86dd);
        pb_ip6(&p, 58);
        pb_icmp(&p, types[i].type, 4);
        pb_ip6(&p, 17);
        pb_udp(&p, 41077, 33444);
        pb_fix(&p);
        sd_parsed o;
        ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
        ck_assert_uint_eq(o.icmp_type, types[i].type);
        ck_assert_uint_eq(o.icmp_code, 4);
        uint32_t want = SD_P_ETH | SD_P_IP6 | SD_P_ICMP6;
        if (types[i].quotes)
            want |= SD_P_ICMP_QUOTE;
        ck_assert_uint_eq(o.flags, want);
        ck_assert_uint_eq(o.inner_off, types[i].quotes ? 62 : 0);
        if (!types[i].quotes)
            continue;
        sd_parsed q;
        ck_assert_int_eq(sd_parse_ip(p.b + 62, p.len - 62, &q), 0);
        ck_assert_uint_eq(q.flags, SD_P_IP6 | SD_P_UDP);
        ck_assert_uint_eq(q.sport, 41077);
        ck_assert_uint_eq(q.dport, 33444);
    }
    /* ICMPv4 carried in IPv6 and ICMPv6 carried in IPv4 keep their own
     * type tables. */
    pb p;
    pb_init(&p);
    pb_eth(&p, 0x86dd);
    pb_ip6(&p, 1);
    pb_icmp(&p, 3, 0);
    pb_fill(&p, 8);
    pb_fix(&p);
    sd_parsed o;
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP6 | SD_P_ICMP | SD_P_ICMP_QUOTE);
    ip4_frame(&p, 58);
    pb_icmp(&p, 11, 0);
    pb_fill(&p, 8);
    pb_fix(&p);
    ck_assert_int_eq(parse_pb(&p, SD_LINK_ETHERNET, &o), 0);
    ck_assert_uint_eq(o.flags, SD_P_ETH | SD_P_IP4 | SD_P_ICMP6);
}
END_TEST

/* ------------------------------------------------------------ API */

START_TEST(api_arguments)
{
    sd_parsed o;
    sd_packet k;
    memset(&k, 0, sizeof k);
    k.linktype = SD_LINK_ETHERNET;
    ck_assert_int_eq(sd_parse(NULL, NULL), SD_ERR_INVAL);
    ck_assert_int_eq(sd_parse(&k, NULL), SD_ERR_INVAL);
    memset(&o, 0xa5, sizeof o);
    ck_assert_int_eq(sd_parse(NULL, &o), SD_ERR_INVAL);
    ck_assert_uint_eq(o.flags, 0);
    ck_assert_uint_eq(o.reserved[31], 0);
    k.caplen = 10; /* data NULL with bytes claimed */
    memset(&o, 0xa5, sizeof o);
    ck_assert_int_eq(sd_parse(&k, &o), SD_ERR_INVAL);
    ck_assert_uint_eq(o.l2_len, 0);
    /* data NULL, caplen 0 (an ERF rx-error record): just truncated. */
    k.caplen = 0;
    ck_assert_int_eq(sd_parse(&k, &o), SD_ERR_TRUNCATED);
    ck_assert_uint_eq(o.flags, SD_P_TRUNCATED);

    ck_assert_int_eq(sd_parse_ip(NULL, 0, NULL), SD_ERR_INVAL);
    ck_assert_int_eq(sd_parse_ip(NULL, 20, &o), SD_ERR_INVAL);
    ck_assert_int_eq(sd_parse_ip(NULL, 0, &o), SD_ERR_TRUNCATED);
    static const uint8_t v5[20] = {0x55};
    ck_assert_int_eq(sd_parse_ip(v5, sizeof v5, &o), SD_ERR_FORMAT);
    ck_assert_uint_eq(o.flags, SD_P_MALFORMED);
}
END_TEST

START_TEST(bulk)
{
    pb a, b;
    ip4_frame(&a, 6);
    pb_tcp(&a, 1, 2, SD_TCP_SYN);
    pb_fix(&a);
    pb_init(&b);
    pb_ip6(&b, 17);
    pb_udp(&b, 3, 4);
    pb_fix(&b);
    sd_packet k[3];
    memset(k, 0, sizeof k);
    k[0].data = a.b;
    k[0].caplen = k[0].wirelen = a.len;
    k[0].linktype = SD_LINK_ETHERNET;
    k[1].data = b.b;
    k[1].caplen = k[1].wirelen = b.len;
    k[1].linktype = SD_LINK_RAW;
    k[2] = k[0];
    k[2].linktype = 9999;
    const sd_packet *ptrs[4] = {&k[0], &k[1], &k[2], NULL};
    sd_parsed out[4];
    memset(out, 0xa5, sizeof out);
    ck_assert_int_eq(sd_parse_bulk(ptrs, out, 3), 3);
    ck_assert_uint_eq(out[0].flags, SD_P_ETH | SD_P_IP4 | SD_P_TCP);
    ck_assert_uint_eq(out[1].flags, SD_P_IP6 | SD_P_UDP);
    ck_assert_uint_eq(out[1].dport, 4);
    ck_assert_uint_eq(out[2].flags, SD_P_UNKNOWN_LINK);
    ck_assert_uint_eq(out[3].flags, 0xa5a5a5a5u); /* untouched beyond n */

    /* A NULL entry, and one with NULL data but bytes claimed: SD_ERR_INVAL,
     * their results zeroed, the others parsed. */
    sd_packet nodata = k[0];
    nodata.data = NULL;
    const sd_packet *holes[4] = {&k[0], NULL, &k[1], &nodata};
    memset(out, 0xa5, sizeof out);
    ck_assert_int_eq(sd_parse_bulk(holes, out, 4), SD_ERR_INVAL);
    ck_assert_uint_eq(out[0].flags, SD_P_ETH | SD_P_IP4 | SD_P_TCP);
    ck_assert_uint_eq(out[1].flags, 0);
    ck_assert_uint_eq(out[1].sport, 0);
    ck_assert_uint_eq(out[2].flags, SD_P_IP6 | SD_P_UDP);
    ck_assert_uint_eq(out[3].flags, 0);
    ck_assert_uint_eq(out[3].reserved[0], 0);
    /* NULL data with caplen 0 is an empty capture, not an error. */
    nodata.caplen = 0;
    nodata.wirelen = 0;
    ck_assert_int_eq(sd_parse_bulk(holes + 3, out, 1), 1);
    ck_assert_uint_eq(out[0].flags, SD_P_TRUNCATED);

    ck_assert_int_eq(sd_parse_bulk(NULL, NULL, 0), 0);
    ck_assert_int_eq(sd_parse_bulk(NULL, out, 1), SD_ERR_INVAL);
    ck_assert_int_eq(sd_parse_bulk(ptrs, NULL, 1), SD_ERR_INVAL);
    ck_assert_int_eq(sd_parse_bulk(ptrs, out, (size_t)INT32_MAX + 1), SD_ERR_INVAL);
}
END_TEST

/* ------------------------------------------------------------ traces */

typedef struct trace {
    size_t n;
    int dlt;
    sd_packet *pk;
    uint8_t **bytes;
    sd_parsed *out;
    int *rc;
} trace;

static unsigned dlt_to_link(int dlt)
{
    switch (dlt) {
    case DLT_NULL:
        return SD_LINK_NULL;
    case DLT_EN10MB:
        return SD_LINK_ETHERNET;
    case DLT_RAW: /* 12 on Linux, 14 on OpenBSD: LINKTYPE_RAW (101) */
        return SD_LINK_RAW;
    case DLT_LOOP:
        return SD_LINK_LOOP;
    case DLT_LINUX_SLL:
        return SD_LINK_LINUX_SLL;
    case 276: /* DLT_LINUX_SLL2 */
        return SD_LINK_LINUX_SLL2;
    default:
        return SD_LINK_UNKNOWN;
    }
}

static void trace_read(trace *t, pcap_t *pc)
{
    memset(t, 0, sizeof *t);
    t->dlt = pcap_datalink(pc);
    size_t cap = 0;
    struct pcap_pkthdr *h;
    const u_char *d;
    int r;
    while ((r = pcap_next_ex(pc, &h, &d)) == 1) {
        if (t->n == cap) {
            cap = cap ? cap * 2 : 64;
            t->pk = realloc(t->pk, cap * sizeof *t->pk);
            t->bytes = realloc(t->bytes, cap * sizeof *t->bytes);
            ck_assert(t->pk != NULL && t->bytes != NULL);
        }
        t->bytes[t->n] = malloc(h->caplen ? h->caplen : 1);
        ck_assert_ptr_nonnull(t->bytes[t->n]);
        memcpy(t->bytes[t->n], d, h->caplen);
        sd_packet *k = &t->pk[t->n];
        memset(k, 0, sizeof *k);
        k->data = t->bytes[t->n];
        k->caplen = h->caplen;
        k->wirelen = h->len;
        k->linktype = (uint16_t)dlt_to_link(t->dlt);
        t->n++;
    }
    ck_assert_int_eq(r, PCAP_ERROR_BREAK);
    pcap_close(pc);
    /* Parse all at once with the bulk call, and one by one: same result. */
    const sd_packet **ptrs = malloc((t->n + 1) * sizeof *ptrs);
    t->out = malloc((t->n + 1) * sizeof *t->out);
    t->rc = malloc((t->n + 1) * sizeof *t->rc);
    ck_assert(ptrs != NULL && t->out != NULL && t->rc != NULL);
    for (size_t i = 0; i < t->n; i++)
        ptrs[i] = &t->pk[i];
    ck_assert_int_eq(sd_parse_bulk(ptrs, t->out, t->n), (int)t->n);
    for (size_t i = 0; i < t->n; i++) {
        sd_parsed one;
        t->rc[i] = sd_parse(&t->pk[i], &one);
        if (memcmp(&one, &t->out[i], sizeof one) != 0)
            ck_abort_msg("packet %zu: sd_parse and sd_parse_bulk differ", i);
        const char *why = invariant_broken(&one, t->pk[i].caplen);
        if (why != NULL)
            ck_abort_msg("packet %zu: %s", i, why);
    }
    free(ptrs);
}

static void trace_load(trace *t, const char *rel)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(sd_test_data(rel), eb);
    ck_assert_msg(pc != NULL, "%s: %s", rel, eb);
    trace_read(t, pc);
}

/* A .pcap.gz: inflate into an anonymous temporary file for libpcap. */
static void trace_load_gz(trace *t, const char *rel)
{
    gzFile gz = gzopen(sd_test_data(rel), "rb");
    ck_assert_ptr_nonnull(gz);
    FILE *f = tmpfile();
    ck_assert_ptr_nonnull(f);
    char buf[65536];
    int got;
    while ((got = gzread(gz, buf, sizeof buf)) > 0)
        ck_assert_uint_eq(fwrite(buf, 1, (size_t)got, f), (size_t)got);
    ck_assert_int_eq(got, 0);
    gzclose(gz);
    rewind(f);
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_fopen_offline(f, eb); /* takes f */
    ck_assert_msg(pc != NULL, "%s: %s", rel, eb);
    trace_read(t, pc);
}

static void trace_free(trace *t)
{
    for (size_t i = 0; i < t->n; i++)
        free(t->bytes[i]);
    free(t->bytes);
    free(t->pk);
    free(t->out);
    free(t->rc);
}

static size_t with_flag(const trace *t, uint32_t f)
{
    size_t c = 0;
    for (size_t i = 0; i < t->n; i++)
        c += (t->out[i].flags & f) == f;
    return c;
}

static size_t with_ethertype(const trace *t, unsigned et)
{
    size_t c = 0;
    for (size_t i = 0; i < t->n; i++)
        c += t->out[i].ethertype == et;
    return c;
}

static size_t with_proto(const trace *t, unsigned proto)
{
    size_t c = 0;
    for (size_t i = 0; i < t->n; i++)
        c += t->out[i].ip_version != 0 && t->out[i].proto == proto;
    return c;
}

static void all_clean(const trace *t)
{
    for (size_t i = 0; i < t->n; i++) {
        ck_assert_msg(t->rc[i] == 0, "packet %zu: rc %d flags %#x", i, t->rc[i],
                      t->out[i].flags);
        ck_assert_uint_eq(t->out[i].flags & (SD_P_TRUNCATED | SD_P_MALFORMED), 0);
    }
}

START_TEST(trace_tcp_options)
{
    trace t;
    trace_load(&t, "pcap/zeek/tcp_options.pcap");
    ck_assert_uint_eq(t.n, 4);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_ETH | SD_P_IP4 | SD_P_TCP), 4);
    const sd_parsed *o = &t.out[0];
    ck_assert_uint_eq(o->tcp_flags, SD_TCP_SYN);
    ck_assert_uint_eq(o->sport, 36861);
    ck_assert_uint_eq(o->dport, 80);
    ck_assert_uint_eq(o->tcp_seq, 3750886907u);
    ck_assert_uint_eq(o->tcp_ack, 0);
    ck_assert_uint_eq(o->tcp_doff, 40);
    ck_assert_uint_eq(o->tcp_win, 5840);
    ck_assert_uint_eq(o->ttl, 64);
    ck_assert_uint_eq(o->ip_id, 0xa912);
    ck_assert_uint_eq(o->ip_flags, 0x2);
    ck_assert_uint_eq(o->payload_off, 74);
    ck_assert_uint_eq(o->payload_len, 0);
    o = &t.out[1];
    ck_assert_uint_eq(o->tcp_flags, SD_TCP_SYN | SD_TCP_ACK);
    ck_assert_uint_eq(o->tcp_seq, 724047884u);
    ck_assert_uint_eq(o->tcp_ack, 3750886908u);
    ck_assert_uint_eq(o->tcp_win, 5792);
    ck_assert_uint_eq(o->ttl, 51);
    o = &t.out[3];
    ck_assert_uint_eq(o->tcp_flags, SD_TCP_PSH | SD_TCP_ACK);
    ck_assert_uint_eq(o->tcp_doff, 32);
    ck_assert_uint_eq(o->payload_off, 66);
    ck_assert_uint_eq(o->payload_len, 104);
    ck_assert_uint_eq(o->src4, 0xc0a80166u); /* 192.168.1.102 */
    ck_assert_uint_eq(o->dst4, 0xc101c140u); /* 193.1.193.64 */
    trace_free(&t);
}
END_TEST

START_TEST(trace_vlan)
{
    trace t;
    trace_load(&t, "pcap/libtrace/vlan.pcap");
    ck_assert_uint_eq(t.n, 395);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_VLAN), 389);
    ck_assert_uint_eq(with_flag(&t, SD_P_IP4), 230);
    ck_assert_uint_eq(with_flag(&t, SD_P_TCP), 185);
    ck_assert_uint_eq(with_flag(&t, SD_P_UDP), 15);
    ck_assert_uint_eq(with_flag(&t, SD_P_ICMP), 20);
    ck_assert_uint_eq(with_flag(&t, SD_P_FRAG), 20);
    ck_assert_uint_eq(with_flag(&t, SD_P_FRAG_LATER), 10);
    ck_assert_uint_eq(with_ethertype(&t, 0x8137), 122); /* IPX */
    ck_assert_uint_eq(with_ethertype(&t, 0x0806), 4);
    size_t llc = 0, vid32 = 0, vid104 = 0;
    for (size_t i = 0; i < t.n; i++) {
        llc += t.out[i].ethertype < 0x600;
        vid32 += t.out[i].n_vlan == 1 && (t.out[i].vlan[0] & 0xfff) == 32;
        vid104 += t.out[i].n_vlan == 1 && (t.out[i].vlan[0] & 0xfff) == 104;
    }
    ck_assert_uint_eq(llc, 39);
    ck_assert_uint_eq(vid32, 221);
    ck_assert_uint_eq(vid104, 69);
    const sd_parsed *o = &t.out[0];
    ck_assert_uint_eq(o->flags, SD_P_ETH | SD_P_VLAN | SD_P_IP4 | SD_P_TCP);
    ck_assert_uint_eq(o->vlan[0], 32);
    ck_assert_uint_eq(o->src4, 0x83972081u); /* 131.151.32.129 */
    ck_assert_uint_eq(o->dst4, 0x83972015u);
    ck_assert_uint_eq(o->sport, 1162);
    ck_assert_uint_eq(o->dport, 6000);
    ck_assert_uint_eq(o->tcp_flags, 0x18);
    ck_assert_uint_eq(o->l3_off, 18);
    o = &t.out[61]; /* frame 62: a later fragment, before its first */
    ck_assert_uint_eq(o->flags, SD_P_ETH | SD_P_VLAN | SD_P_IP4 | SD_P_FRAG | SD_P_FRAG_LATER);
    ck_assert_uint_eq(o->frag_off, 1480);
    ck_assert_uint_eq(o->proto, 1);
    ck_assert_uint_eq(o->ip_len, 48);
    ck_assert_uint_eq(o->payload_off, 38);
    ck_assert_uint_eq(o->payload_len, 28);
    o = &t.out[62]; /* frame 63: the first fragment, an echo request */
    ck_assert_uint_eq(o->flags, SD_P_ETH | SD_P_VLAN | SD_P_IP4 | SD_P_FRAG | SD_P_ICMP);
    ck_assert_uint_eq(o->icmp_type, 8);
    ck_assert_uint_eq(o->ip_flags, 1);
    ck_assert_uint_eq(o->ip_len, 1500);
    ck_assert_uint_eq(o->ip_id, 0x8a5d);
    trace_free(&t);
}
END_TEST

START_TEST(trace_qinq)
{
    trace t;
    trace_load(&t, "pcap/libtrace/qinq.pcap");
    ck_assert_uint_eq(t.n, 2);
    all_clean(&t);
    for (size_t i = 0; i < t.n; i++) {
        ck_assert_uint_eq(t.out[i].flags, SD_P_ETH | SD_P_VLAN);
        ck_assert_uint_eq(t.out[i].n_vlan, 2);
        ck_assert_uint_eq(t.out[i].vlan[0] & 0xfff, 100);
        ck_assert_uint_eq(t.out[i].vlan[1] & 0xfff, 200);
        ck_assert_uint_eq(t.out[i].ethertype, 0x0806);
        ck_assert_uint_eq(t.out[i].l2_len, 22);
    }
    trace_free(&t);

    trace_load(&t, "pcap/zeek/q-in-q.pcap");
    ck_assert_uint_eq(t.n, 5);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_VLAN), 5);
    ck_assert_uint_eq(with_flag(&t, SD_P_UDP), 4);
    ck_assert_uint_eq(with_ethertype(&t, 0x0806), 1);
    for (size_t i = 0; i < t.n; i++) {
        ck_assert_uint_eq(t.out[i].n_vlan, 2);
        ck_assert_uint_eq(t.out[i].vlan[0] & 0xfff, 13);
        ck_assert_uint_eq(t.out[i].vlan[1] & 0xfff, 10);
    }
    ck_assert_uint_eq(t.out[0].sport, 47808);
    ck_assert_uint_eq(t.out[0].udp_len, 26);
    ck_assert_uint_eq(t.out[2].dst4, 0xe0027ffeu); /* 224.2.127.254 */
    ck_assert_uint_eq(t.out[2].dport, 9875);
    ck_assert_uint_eq(t.out[2].udp_len, 284);
    ck_assert_uint_eq(t.out[2].ttl, 5);
    trace_free(&t);

    trace_load(&t, "pcap/zeek/vlan-qinqinq.pcap");
    ck_assert_uint_eq(t.n, 14);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_ETH | SD_P_VLAN | SD_P_IP4 | SD_P_TCP), 14);
    for (size_t i = 0; i < t.n; i++) {
        ck_assert_uint_eq(t.out[i].n_vlan, 3);
        ck_assert_uint_eq(t.out[i].vlan[0] & 0xfff, 30);
        ck_assert_uint_eq(t.out[i].vlan[1] & 0xfff, 20);
        ck_assert_uint_eq(t.out[i].vlan[2] & 0xfff, 10);
        ck_assert_uint_eq(t.out[i].l3_off, 26);
    }
    ck_assert_uint_eq(t.out[0].tcp_flags, SD_TCP_SYN);
    ck_assert_uint_eq(t.out[0].src4, 0x8d8ee405u); /* 141.142.228.5 */
    ck_assert_uint_eq(t.out[0].sport, 59856);
    ck_assert_uint_eq(t.out[0].tcp_doff, 44);
    ck_assert_uint_eq(t.out[0].tcp_win, 65535);
    ck_assert_uint_eq(t.out[1].tcp_flags, SD_TCP_SYN | SD_TCP_ACK);
    trace_free(&t);
}
END_TEST

START_TEST(trace_mpls)
{
    trace t;
    trace_load(&t, "pcap/zeek/mpls-in-vlan.pcap");
    ck_assert_uint_eq(t.n, 3);
    all_clean(&t);
    ck_assert_uint_eq(t.out[0].flags, SD_P_ETH | SD_P_VLAN | SD_P_IP4 | SD_P_TCP);
    ck_assert_uint_eq(t.out[0].vlan[0], 3199);
    ck_assert_uint_eq(t.out[0].payload_len, 205);
    ck_assert_uint_eq(t.out[1].flags, SD_P_ETH | SD_P_VLAN | SD_P_MPLS | SD_P_IP4 | SD_P_TCP);
    ck_assert_uint_eq(t.out[1].vlan[0], 0);
    ck_assert_uint_eq(t.out[1].n_mpls, 1);
    ck_assert_uint_eq(t.out[1].mpls[0] >> 12, 16106);
    ck_assert_uint_eq(t.out[1].mpls[0] & 0xff, 44); /* MPLS TTL */
    ck_assert_uint_eq(t.out[1].l3_off, 22);
    ck_assert_uint_eq(t.out[1].ethertype, 0x8847);
    ck_assert_uint_eq(t.out[1].payload_len, 1448);
    ck_assert_uint_eq(t.out[2].n_mpls, 2);
    ck_assert_uint_eq(t.out[2].mpls[0] >> 12, 254);
    ck_assert_uint_eq(t.out[2].mpls[1] >> 12, 99);
    ck_assert_uint_eq(t.out[2].vlan[0], 3399);
    ck_assert_uint_eq(t.out[2].l3_off, 26);
    ck_assert_uint_eq(t.out[2].sport, 61193);
    ck_assert_uint_eq(t.out[2].payload_len, 658);
    trace_free(&t);

    trace_load_gz(&t, "pcap/libtrace/ip-in-mpls.pcap.gz");
    ck_assert_uint_eq(t.n, 10507);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_MPLS | SD_P_IP4), 10503);
    ck_assert_uint_eq(with_flag(&t, SD_P_TCP), 10481);
    ck_assert_uint_eq(with_flag(&t, SD_P_ICMP), 22);
    ck_assert_uint_eq(with_ethertype(&t, 0x0806), 4);
    size_t l1000 = 0, l2001 = 0;
    for (size_t i = 0; i < t.n; i++) {
        l1000 += t.out[i].n_mpls == 1 && t.out[i].mpls[0] >> 12 == 1000;
        l2001 += t.out[i].n_mpls == 1 && t.out[i].mpls[0] >> 12 == 2001;
    }
    ck_assert_uint_eq(l1000, 3570);
    ck_assert_uint_eq(l2001, 6933);
    ck_assert_uint_eq(t.out[0].src4, 0xac100a0au); /* 172.16.10.10 */
    ck_assert_uint_eq(t.out[0].dst4, 0xac101414u);
    ck_assert_uint_eq(t.out[0].icmp_type, 8);
    ck_assert_uint_eq(t.out[0].ttl, 63);
    trace_free(&t);
}
END_TEST

START_TEST(trace_tcpreplay)
{
    trace t;
    trace_load(&t, "pcap/tcpreplay/test.pcap");
    ck_assert_uint_eq(t.n, 179);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_ETH), 179);
    ck_assert_uint_eq(with_flag(&t, SD_P_IP4), 166);
    ck_assert_uint_eq(with_flag(&t, SD_P_IP6), 10);
    ck_assert_uint_eq(with_flag(&t, SD_P_TCP), 116);
    ck_assert_uint_eq(with_flag(&t, SD_P_IP6 | SD_P_TCP), 10);
    ck_assert_uint_eq(with_flag(&t, SD_P_UDP), 28);
    ck_assert_uint_eq(with_flag(&t, SD_P_ICMP), 28);
    ck_assert_uint_eq(with_flag(&t, SD_P_ICMP_QUOTE), 6);
    ck_assert_uint_eq(with_flag(&t, SD_P_MPLS), 16);
    ck_assert_uint_eq(with_flag(&t, SD_P_MPLS | SD_P_VLAN), 10); /* pseudowires */
    ck_assert_uint_eq(with_flag(&t, SD_P_FRAG), 0);
    ck_assert_uint_eq(with_flag(&t, SD_P_PAYLOAD_SHORT), 1);
    ck_assert_uint_eq(t.out[10].flags & SD_P_PAYLOAD_SHORT, SD_P_PAYLOAD_SHORT);
    ck_assert_uint_eq(t.out[10].ip_len, 255);
    ck_assert_uint_eq(with_proto(&t, 2), 3);  /* IGMP */
    ck_assert_uint_eq(with_proto(&t, 88), 1); /* EIGRP */
    ck_assert_uint_eq(with_ethertype(&t, 0x0806), 1);
    ck_assert_uint_eq(with_ethertype(&t, 0x9000), 1);
    size_t syn = 0, llc = 0;
    for (size_t i = 0; i < t.n; i++) {
        syn += (t.out[i].flags & SD_P_TCP) && t.out[i].tcp_flags == SD_TCP_SYN;
        llc += t.out[i].ethertype < 0x600;
    }
    ck_assert_uint_eq(syn, 6);
    ck_assert_uint_eq(llc, 1);
    const sd_parsed *o = &t.out[141]; /* frame 142: Ethernet pseudowire */
    ck_assert_uint_eq(o->flags, SD_P_ETH | SD_P_VLAN | SD_P_MPLS | SD_P_IP4 | SD_P_ICMP);
    ck_assert_uint_eq(o->n_mpls, 2);
    ck_assert_uint_eq(o->mpls[0] >> 12, 19);
    ck_assert_uint_eq(o->mpls[1] >> 12, 16);
    ck_assert_uint_eq(o->vlan[0], 1);
    ck_assert_uint_eq(o->l3_off, 44);
    ck_assert_uint_eq(o->src4, 0xc0a80101u);
    ck_assert_uint_eq(o->dst4, 0xc0a80102u);
    trace_free(&t);
}
END_TEST

START_TEST(trace_ipv4_fragments)
{
    trace t;
    trace_load(&t, "pcap/zeek/ipv4_fragmented-1.pcap");
    ck_assert_uint_eq(t.n, 3);
    all_clean(&t);
    ck_assert_uint_eq(t.out[0].flags, SD_P_ETH | SD_P_IP4 | SD_P_FRAG | SD_P_UDP);
    ck_assert_uint_eq(t.out[0].ip_id, 0xf2);
    ck_assert_uint_eq(t.out[0].sport, 123);
    ck_assert_uint_eq(t.out[0].dport, 137);
    ck_assert_uint_eq(t.out[0].ip_len, 38);
    ck_assert_uint_eq(t.out[1].flags, SD_P_ETH | SD_P_IP4 | SD_P_FRAG | SD_P_FRAG_LATER);
    ck_assert_uint_eq(t.out[1].frag_off, 48);
    ck_assert_uint_eq(t.out[1].ip_len, 136);
    ck_assert_uint_eq(t.out[2].flags, SD_P_ETH | SD_P_IP4 | SD_P_FRAG | SD_P_UDP);
    ck_assert_uint_eq(t.out[2].ip_len, 324);
    trace_free(&t);

    trace_load(&t, "pcap/zeek/ipv4_fragmented-2.pcap");
    ck_assert_uint_eq(t.n, 3);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_FRAG), 3);
    ck_assert_uint_eq(with_flag(&t, SD_P_FRAG_LATER), 1);
    ck_assert_uint_eq(with_flag(&t, SD_P_UDP), 2);
    trace_free(&t);

    trace_load(&t, "pcap/zeek/ipv4_fragmented-3.pcap");
    ck_assert_uint_eq(t.n, 5);
    all_clean(&t);
    static const unsigned offs[] = {0, 1480, 2960, 4440, 5920};
    for (size_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(t.out[i].frag_off, offs[i]);
        ck_assert_uint_eq(t.out[i].ip_flags, 0x3); /* DF and MF both set */
        ck_assert_uint_eq(t.out[i].ip_id, 0x4bc5);
        ck_assert_uint_eq(t.out[i].ip_len, 1500);
    }
    ck_assert_uint_eq(t.out[0].flags, SD_P_ETH | SD_P_IP4 | SD_P_FRAG | SD_P_TCP);
    ck_assert_uint_eq(t.out[0].sport, 1265);
    ck_assert_uint_eq(t.out[0].dport, 21);
    ck_assert_uint_eq(t.out[0].tcp_flags, 0x18);
    ck_assert_uint_eq(with_flag(&t, SD_P_FRAG_LATER), 4);
    trace_free(&t);

    trace_load(&t, "pcap/zeek/ipv4_fragmented-4.pcap");
    ck_assert_uint_eq(t.n, 6);
    all_clean(&t);
    static const unsigned offs4[] = {0, 0, 48, 72, 24, 0};
    static const unsigned mf4[] = {0, 1, 1, 0, 1, 0};
    for (size_t i = 0; i < 6; i++) {
        ck_assert_uint_eq(t.out[i].frag_off, offs4[i]);
        ck_assert_uint_eq(t.out[i].ip_flags & 1, mf4[i]);
    }
    ck_assert_uint_eq(t.out[0].tcp_flags, SD_TCP_SYN);
    ck_assert_uint_eq(t.out[1].flags, SD_P_ETH | SD_P_IP4 | SD_P_FRAG | SD_P_TCP);
    ck_assert_uint_eq(t.out[1].payload_len, 4);
    ck_assert_uint_eq(t.out[5].tcp_flags, SD_TCP_FIN);
    ck_assert_uint_eq(with_flag(&t, SD_P_FRAG_LATER), 3);
    trace_free(&t);

    /* The SYN whose 40-byte TCP header is split over two fragments: counted
     * once, from the first fragment. */
    trace_load(&t, "pcap/zeek/ipv4_fragmented-syn.pcap");
    ck_assert_uint_eq(t.n, 2);
    ck_assert_int_eq(t.rc[0], SD_ERR_TRUNCATED);
    ck_assert_uint_eq(t.out[0].flags,
                      SD_P_ETH | SD_P_IP4 | SD_P_FRAG | SD_P_TCP | SD_P_TRUNCATED);
    ck_assert_uint_eq(t.out[0].tcp_flags, SD_TCP_SYN);
    ck_assert_uint_eq(t.out[0].tcp_doff, 40);
    ck_assert_uint_eq(t.out[0].sport, 12345);
    ck_assert_uint_eq(t.out[0].dport, 80);
    ck_assert_uint_eq(t.out[0].tcp_seq, 1000);
    ck_assert_int_eq(t.rc[1], 0);
    ck_assert_uint_eq(t.out[1].flags, SD_P_ETH | SD_P_IP4 | SD_P_FRAG | SD_P_FRAG_LATER);
    ck_assert_uint_eq(t.out[1].frag_off, 24);
    trace_free(&t);
}
END_TEST

START_TEST(trace_ipv6)
{
    trace t;
    trace_load(&t, "pcap/zeek/ipv6-fragmented-dns.pcap");
    ck_assert_uint_eq(t.n, 8);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_IP6), 8);
    ck_assert_uint_eq(with_flag(&t, SD_P_FRAG), 4);
    ck_assert_uint_eq(with_flag(&t, SD_P_FRAG_LATER), 3);
    ck_assert_uint_eq(t.out[0].flags, SD_P_ETH | SD_P_IP6 | SD_P_UDP);
    ck_assert_uint_eq(t.out[0].sport, 51850);
    ck_assert_uint_eq(t.out[0].dport, 53);
    ck_assert_uint_eq(t.out[0].udp_len, 81);
    const sd_parsed *o = &t.out[3];
    ck_assert_uint_eq(o->flags, SD_P_ETH | SD_P_IP6 | SD_P_FRAG | SD_P_FRAG_LATER);
    ck_assert_uint_eq(o->ip6_frag_id, 1);
    ck_assert_uint_eq(o->frag_off, 2896);
    ck_assert_uint_eq(o->ip_flags, 0);
    ck_assert_uint_eq(o->ip_hl, 48);
    ck_assert_uint_eq(o->proto, 17);
    ck_assert_uint_eq(o->ttl, 53);
    o = &t.out[5];
    ck_assert_uint_eq(o->flags, SD_P_ETH | SD_P_IP6 | SD_P_FRAG | SD_P_UDP);
    ck_assert_uint_eq(o->ip6_frag_id, 2);
    ck_assert_uint_eq(o->ip_flags, 1);
    ck_assert_uint_eq(o->l4_off, 62);
    ck_assert_uint_eq(o->sport, 53);
    ck_assert_uint_eq(o->dport, 51851);
    ck_assert_uint_eq(o->udp_len, 3238);
    ck_assert_uint_eq(t.out[6].frag_off, 1432);
    ck_assert_uint_eq(t.out[6].ip_flags, 1);
    ck_assert_uint_eq(t.out[7].frag_off, 2864);
    ck_assert_uint_eq(t.out[7].ip_flags, 0);
    trace_free(&t);

    trace_load(&t, "pcap/zeek/ipv6-hbh-routing0.pcap");
    ck_assert_uint_eq(t.n, 1);
    all_clean(&t);
    o = &t.out[0];
    ck_assert_uint_eq(o->flags, SD_P_ETH | SD_P_IP6 | SD_P_UDP);
    ck_assert_uint_eq(o->ip_hl, 40 + 8 + 40); /* hop-by-hop len 0, routing len 4 */
    ck_assert_uint_eq(o->l4_off, 102);
    ck_assert_uint_eq(o->sport, 53);
    ck_assert_uint_eq(o->dport, 53);
    ck_assert_uint_eq(o->udp_len, 11);
    ck_assert_uint_eq(o->ip_len, 99);
    trace_free(&t);
}
END_TEST

START_TEST(trace_other_links)
{
    trace t;
    trace_load(&t, "pcap/zeek/linux_dlt_sll2.pcap");
    ck_assert_int_eq(t.dlt, 276);
    ck_assert_uint_eq(t.n, 6);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_ETH), 6);
    ck_assert_uint_eq(t.out[0].flags, SD_P_ETH | SD_P_IP4 | SD_P_ICMP);
    ck_assert_uint_eq(t.out[0].icmp_type, 8);
    ck_assert_uint_eq(t.out[0].src4, 0xc0000201u);
    ck_assert_uint_eq(t.out[0].l3_off, 20);
    ck_assert_uint_eq(t.out[1].icmp_type, 0);
    ck_assert_uint_eq(t.out[2].flags, SD_P_ETH | SD_P_IP6 | SD_P_ICMP6);
    ck_assert_uint_eq(t.out[2].icmp_type, 128);
    ck_assert_uint_eq(t.out[3].icmp_type, 129);
    ck_assert_uint_eq(t.out[4].ethertype, 0x0806);
    ck_assert_uint_eq(t.out[4].flags, SD_P_ETH);
    ck_assert_uint_eq(t.out[5].ethertype, 0x8035);
    trace_free(&t);

    trace_load(&t, "pcap/zeek/tcp_payload-syn.pcap");
    ck_assert_int_eq(t.dlt, DLT_RAW);
    ck_assert_uint_eq(t.n, 6);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_IP4 | SD_P_TCP), 6);
    ck_assert_uint_eq(with_flag(&t, SD_P_ETH), 0);
    ck_assert_uint_eq(t.out[0].tcp_flags, SD_TCP_SYN);
    ck_assert_uint_eq(t.out[0].l3_off, 0);
    ck_assert_uint_eq(t.out[0].payload_off, 40);
    ck_assert_uint_eq(t.out[0].payload_len, 100);
    ck_assert_uint_eq(t.out[0].tcp_seq, 10);
    ck_assert_uint_eq(t.out[1].tcp_flags, SD_TCP_SYN | SD_TCP_ACK);
    ck_assert_uint_eq(t.out[1].src4, 0xc0a80002u);
    ck_assert_uint_eq(t.out[3].tcp_flags, SD_TCP_FIN | SD_TCP_ACK);
    trace_free(&t);

    trace_load(&t, "pcap/zeek/udp-multiple-source-ports.pcap");
    ck_assert_int_eq(t.dlt, DLT_NULL);
    ck_assert_uint_eq(t.n, 3);
    all_clean(&t);
    static const unsigned sports[] = {29998, 30001, 30003};
    for (size_t i = 0; i < 3; i++) {
        ck_assert_uint_eq(t.out[i].flags, SD_P_ETH | SD_P_IP4 | SD_P_UDP);
        ck_assert_uint_eq(t.out[i].ethertype, 0x0800);
        ck_assert_uint_eq(t.out[i].l3_off, 4);
        ck_assert_uint_eq(t.out[i].sport, sports[i]);
        ck_assert_uint_eq(t.out[i].dport, 13000);
        ck_assert_uint_eq(t.out[i].udp_len, 13);
        ck_assert_uint_eq(t.out[i].src4, 0x7f000001u);
    }
    trace_free(&t);
}
END_TEST

START_TEST(trace_truncated)
{
    static const struct {
        const char *file;
        size_t n;
        int rc;
        uint32_t flags;
        unsigned proto, l3_off, l4_off, ip_hl;
        uint32_t ip_len;
    } cases[] = {
        {"pcap/zeek/trunc_icmp-header-trunc.pcap", 2, SD_ERR_TRUNCATED,
         SD_P_ETH | SD_P_IP4 | SD_P_TRUNCATED, 1, 14, 34, 20, 84},
        {"pcap/zeek/trunc_icmp-payload-trunc.pcap", 4, 0, SD_P_ETH | SD_P_IP4 | SD_P_ICMP, 1,
         14, 34, 20, 84},
        {"pcap/zeek/trunc_ip4-trunc.pcap", 1, SD_ERR_TRUNCATED, SD_P_ETH | SD_P_TRUNCATED, 0,
         0, 0, 0, 0},
        {"pcap/zeek/trunc_ip6-ext-trunc.pcap", 1, SD_ERR_TRUNCATED,
         SD_P_ETH | SD_P_IP6 | SD_P_TRUNCATED | SD_P_PAYLOAD_SHORT, 0, 14, 0, 40, 60},
        {"pcap/zeek/trunc_ip6-trunc.pcap", 1, SD_ERR_TRUNCATED, SD_P_ETH | SD_P_TRUNCATED, 0, 0,
         0, 0, 0},
        {"pcap/zeek/trunc_ipv4-internally-truncated-header.pcap", 1, SD_ERR_TRUNCATED,
         SD_P_ETH | SD_P_IP4 | SD_P_IP_OPTIONS | SD_P_TRUNCATED, 6, 14, 0, 60, 114},
        {"pcap/zeek/trunc_ipv4-truncated-broken-header.pcap", 1, SD_ERR_FORMAT,
         SD_P_ETH | SD_P_IP4 | SD_P_MALFORMED, 6, 14, 0, 60, 20},
        {"pcap/zeek/trunc_trunc-hdr.pcap", 1, SD_ERR_TRUNCATED, SD_P_TRUNCATED, 0, 0, 0, 0, 0},
        {"pcap/zeek/ip-bogus-header-len.pcap", 1, SD_ERR_FORMAT,
         SD_P_ETH | SD_P_IP4 | SD_P_MALFORMED, 1, 14, 0, 20, 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        trace t;
        trace_load(&t, cases[c].file);
        ck_assert_uint_eq(t.n, cases[c].n);
        for (size_t i = 0; i < t.n; i++) {
            const sd_parsed *o = &t.out[i];
            ck_assert_msg(t.rc[i] == cases[c].rc, "%s #%zu: rc %d", cases[c].file, i, t.rc[i]);
            ck_assert_msg(o->flags == cases[c].flags, "%s #%zu: flags %#x", cases[c].file, i,
                          o->flags);
            ck_assert_uint_eq(o->proto, cases[c].proto);
            ck_assert_uint_eq(o->l3_off, cases[c].l3_off);
            ck_assert_uint_eq(o->l4_off, cases[c].l4_off);
            ck_assert_uint_eq(o->ip_hl, cases[c].ip_hl);
            ck_assert_uint_eq(o->ip_len, cases[c].ip_len);
        }
        trace_free(&t);
    }
    trace t;
    /* The cut ICMP header (6 of 8 bytes) still names the type. */
    trace_load(&t, "pcap/zeek/trunc_icmp-header-trunc.pcap");
    ck_assert_uint_eq(t.out[0].icmp_type, 8);
    ck_assert_uint_eq(t.out[0].sport, 8);
    ck_assert_uint_eq(t.out[1].icmp_type, 0);
    ck_assert_uint_eq(t.out[0].payload_off, 0);
    trace_free(&t);
    /* Payload cut by snaplen (80 of 98 bytes): claimed length kept. */
    trace_load(&t, "pcap/zeek/trunc_icmp-payload-trunc.pcap");
    ck_assert_uint_eq(t.out[0].payload_off, 42);
    ck_assert_uint_eq(t.out[0].payload_len, 56);
    ck_assert_uint_eq(t.out[0].icmp_type, 8);
    trace_free(&t);
    trace_load(&t, "pcap/zeek/trunc_ip4-trunc.pcap");
    ck_assert_uint_eq(t.out[0].ethertype, 0x0800);
    ck_assert_uint_eq(t.out[0].l2_len, 14);
    trace_free(&t);
    trace_load(&t, "pcap/zeek/trunc_ipv4-internally-truncated-header.pcap");
    ck_assert_uint_eq(t.out[0].src4, 0xa3fd30b7u); /* 163.253.48.183 */
    ck_assert_uint_eq(t.out[0].dst4, 0xc096bb2bu); /* 192.150.187.43 */
    trace_free(&t);
}
END_TEST

START_TEST(trace_icmp_quotes)
{
    static const struct {
        const char *file;
        uint32_t flags;
        unsigned type, code;
        int quote_rc;
        uint32_t quote_flags;
        unsigned qproto, qsport, qdport;
    } cases[] = {
        {"pcap/zeek/icmp_icmp-destunreach-ip.pcap",
         SD_P_ETH | SD_P_IP4 | SD_P_ICMP | SD_P_ICMP_QUOTE, 3, 0, 0, SD_P_IP4, 0, 0, 0},
        {"pcap/zeek/icmp_icmp-destunreach-no-context.pcap", SD_P_ETH | SD_P_IP4 | SD_P_ICMP, 3,
         0, 0, 0, 0, 0, 0},
        {"pcap/zeek/icmp_icmp-destunreach-udp.pcap",
         SD_P_ETH | SD_P_IP4 | SD_P_ICMP | SD_P_ICMP_QUOTE, 3, 3, 0, SD_P_IP4 | SD_P_UDP, 17, 53,
         59207},
        {"pcap/zeek/icmp_icmp-timeexceeded.pcap",
         SD_P_ETH | SD_P_IP4 | SD_P_ICMP | SD_P_ICMP_QUOTE, 11, 0, 0, SD_P_IP4 | SD_P_UDP, 17,
         30000, 13000},
        {"pcap/zeek/icmp_icmp6-destunreach-ip6ext-trunc.pcap",
         SD_P_ETH | SD_P_IP6 | SD_P_ICMP6 | SD_P_ICMP_QUOTE, 1, 0, SD_ERR_TRUNCATED,
         SD_P_IP6 | SD_P_TRUNCATED, 0, 0, 0},
        {"pcap/zeek/icmp_icmp6-destunreach-ip6ext-udp.pcap",
         SD_P_ETH | SD_P_IP6 | SD_P_ICMP6 | SD_P_ICMP_QUOTE, 1, 0, 0, SD_P_IP6 | SD_P_UDP, 17,
         30000, 13000},
        {"pcap/zeek/icmp_icmp6-toobig.pcap", SD_P_ETH | SD_P_IP6 | SD_P_ICMP6 | SD_P_ICMP_QUOTE,
         2, 0, 0, SD_P_IP6 | SD_P_UDP, 17, 30000, 13000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        trace t;
        trace_load(&t, cases[c].file);
        ck_assert_uint_eq(t.n, 1);
        all_clean(&t);
        const sd_parsed *o = &t.out[0];
        ck_assert_msg(o->flags == cases[c].flags, "%s: flags %#x", cases[c].file, o->flags);
        ck_assert_uint_eq(o->icmp_type, cases[c].type);
        ck_assert_uint_eq(o->icmp_code, cases[c].code);
        ck_assert_uint_eq(o->sport, cases[c].type);
        ck_assert_uint_eq(o->dport, cases[c].code);
        if (!(o->flags & SD_P_ICMP_QUOTE)) {
            ck_assert_uint_eq(o->inner_off, 0);
            trace_free(&t);
            continue;
        }
        ck_assert_uint_eq(o->inner_off, o->ip_version == 4 ? 42 : 62);
        sd_parsed q;
        int rc = sd_parse_ip(t.pk[0].data + o->inner_off, t.pk[0].caplen - o->inner_off, &q);
        ck_assert_msg(rc == cases[c].quote_rc, "%s: quote rc %d", cases[c].file, rc);
        ck_assert_msg(q.flags == cases[c].quote_flags, "%s: quote flags %#x", cases[c].file,
                      q.flags);
        ck_assert_uint_eq(q.proto, cases[c].qproto);
        ck_assert_uint_eq(q.sport, cases[c].qsport);
        ck_assert_uint_eq(q.dport, cases[c].qdport);
        trace_free(&t);
    }
    trace t;
    trace_load(&t, "pcap/zeek/icmp_icmp6-destunreach-ip6ext-udp.pcap");
    sd_parsed q;
    ck_assert_int_eq(sd_parse_ip(t.pk[0].data + 62, t.pk[0].caplen - 62, &q), 0);
    ck_assert_uint_eq(q.ip_hl, 48);
    ck_assert_uint_eq(q.l4_off, 48);
    trace_free(&t);
    trace_load(&t, "pcap/zeek/icmp_icmp-destunreach-udp.pcap");
    ck_assert_int_eq(sd_parse_ip(t.pk[0].data + 42, t.pk[0].caplen - 42, &q), 0);
    ck_assert_uint_eq(q.src4, 0xc0a80101u); /* 192.168.1.1 */
    ck_assert_uint_eq(q.ip_len, 163);
    trace_free(&t);

    trace_load(&t, "pcap/zeek/communityid_icmp6.pcap");
    ck_assert_uint_eq(t.n, 49);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_IP6 | SD_P_ICMP6), 49);
    ck_assert_uint_eq(with_flag(&t, SD_P_ICMP_QUOTE), 13);
    unsigned types[256] = {0};
    for (size_t i = 0; i < t.n; i++) {
        types[t.out[i].icmp_type]++;
        if (!(t.out[i].flags & SD_P_ICMP_QUOTE))
            continue;
        ck_assert_int_eq(sd_parse_ip(t.pk[i].data + t.out[i].inner_off,
                                     t.pk[i].caplen - t.out[i].inner_off, &q),
                         0);
        ck_assert_uint_eq(q.flags, SD_P_IP6 | SD_P_UDP);
    }
    ck_assert_uint_eq(types[1], 4);
    ck_assert_uint_eq(types[3], 9);
    ck_assert_uint_eq(types[128], 8);
    ck_assert_uint_eq(types[129], 8);
    ck_assert_uint_eq(types[133], 1);
    ck_assert_uint_eq(types[134], 1);
    ck_assert_uint_eq(types[135], 9);
    ck_assert_uint_eq(types[136], 9);
    trace_free(&t);
}
END_TEST

START_TEST(trace_synscan)
{
    trace t;
    trace_load(&t, "pcap/ndpi/synscan.pcap");
    ck_assert_uint_eq(t.n, 2011);
    all_clean(&t);
    ck_assert_uint_eq(with_flag(&t, SD_P_ETH | SD_P_IP4 | SD_P_TCP), 2011);
    size_t syn = 0;
    for (size_t i = 0; i < t.n; i++)
        syn += t.out[i].tcp_flags == SD_TCP_SYN;
    ck_assert_uint_eq(syn, 1994);
    trace_free(&t);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("link");
    tcase_add_test(tc, ethernet_ipv4_tcp_fields);
    tcase_add_test(tc, every_field_written);
    tcase_add_test(tc, vlan_tags);
    tcase_add_test(tc, qinq_and_deeper_stacks);
    tcase_add_test(tc, mpls_ip_payloads);
    tcase_add_test(tc, mpls_pseudowire);
    tcase_add_test(tc, non_ip_ethertypes);
    tcase_add_test(tc, null_and_loop);
    tcase_add_test(tc, linux_cooked);
    tcase_add_test(tc, raw_ip_links);
    tcase_add_test(tc, unknown_link);
    suite_add_tcase(s, tc);

    tc = tcase_create("truncation");
    tcase_add_test(tc, truncation_eth_ipv4_tcp);
    tcase_add_test(tc, truncation_tcp_options);
    tcase_add_test(tc, truncation_vlan_udp);
    tcase_add_test(tc, truncation_mpls_icmp);
    tcase_add_test(tc, truncation_pseudowire);
    tcase_add_test(tc, truncation_link_headers);
    tcase_add_test(tc, truncation_ipv6_extensions);
    tcase_add_test(tc, window_of_65535_bytes);
    suite_add_tcase(s, tc);

    tc = tcase_create("ip");
    tcase_add_test(tc, ipv4_header_checks);
    tcase_add_test(tc, ipv4_options);
    tcase_add_test(tc, ipv4_fragments);
    tcase_add_test(tc, ipv4_payload_short);
    tcase_add_test(tc, ipv4_tunnels_not_entered);
    tcase_add_test(tc, ipv6_extension_headers);
    tcase_add_test(tc, ipv6_stops);
    tcase_add_test(tc, ipv6_fragments);
    suite_add_tcase(s, tc);

    tc = tcase_create("transport");
    tcase_add_test(tc, tcp_doff_checks);
    tcase_add_test(tc, udp_and_icmp_cut_by_ip_length);
    tcase_add_test(tc, icmp4_quotes);
    tcase_add_test(tc, icmp_quote_bounds);
    tcase_add_test(tc, icmp6_quotes);
    suite_add_tcase(s, tc);

    tc = tcase_create("api");
    tcase_add_test(tc, api_arguments);
    tcase_add_test(tc, bulk);
    suite_add_tcase(s, tc);

    tc = tcase_create("traces");
    tcase_add_test(tc, trace_tcp_options);
    tcase_add_test(tc, trace_vlan);
    tcase_add_test(tc, trace_qinq);
    tcase_add_test(tc, trace_mpls);
    tcase_add_test(tc, trace_tcpreplay);
    tcase_add_test(tc, trace_ipv4_fragments);
    tcase_add_test(tc, trace_ipv6);
    tcase_add_test(tc, trace_other_links);
    tcase_add_test(tc, trace_truncated);
    tcase_add_test(tc, trace_icmp_quotes);
    tcase_add_test(tc, trace_synscan);
    suite_add_tcase(s, tc);
    return sd_test_run(s);
}
