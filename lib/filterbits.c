/* corsaro built-in filter bits (spec/tags.md 1.4, 2). Differences from
 * upstream, all the spec's recommended behaviour (D1-D5 in filterbits.h):
 *  D1 NOTIP is bit 28, not upstream's byte-swapped bit 36;
 *  D2 non-IPv4 EtherTypes (ARP, ...) and a version != 4 header are NOTIP;
 *  D3 IPv6 is evaluated instead of being parsed as IPv4 garbage;
 *  D4 TCP flags/window need 14/16 captured bytes, payload needs the header;
 *  D5 BitTorrent patterns 3-5 check plen before reading the payload.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <stardust/err.h>
#include <stardust/filterbits.h>

#include "filterbits_int.h"
#include "internal.h"

#define PROTO_ICMP 1u
#define PROTO_TCP 6u
#define PROTO_UDP 17u
#define PROTO_IPV6 41u
#define PROTO_ICMPV6 58u

/* (uint64_t)1 << id when c is non-zero, without a branch */
#define BIT(c, id) ((uint64_t)((c) != 0) << (id))

/* The TCP flags upstream looks at: FIN SYN RST PSH ACK URG. */
#define TCPF_MASK 0x3fu

/* spec 2, id 4: the flag sets (of TCPF_MASK) that are normal. Bit n is set
 * when the flag byte n is normal: S, A, R, F, SF, SA, FA, AP, FAP (all
 * below 32). */
#define NORMAL_TCPF                                                          \
    ((1u << 0x02) | (1u << 0x10) | (1u << 0x04) | (1u << 0x01) | (1u << 0x03) | \
     (1u << 0x12) | (1u << 0x11) | (1u << 0x18) | (1u << 0x19))

/* spec 2, id 16: ICMPv4 types 0 3 4 5 11 12 14 16 18. */
#define BACKSCATTER_ICMP4                                                   \
    ((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 11) | (1u << 12) | \
     (1u << 14) | (1u << 16) | (1u << 18))

/* The IPv6 counterpart of RFC 5735: sources that are not globally routable
 * (RFC 6890 / IANA IPv6 special-purpose registry, the non-global entries). */
static int special_v6(const uint8_t *a)
{
    static const uint8_t zero[16];
    if (memcmp(a, zero, 15) == 0)
        return a[15] <= 1; /* ::/128, ::1/128 */
    if (memcmp(a, zero, 10) == 0 && a[10] == 0xff && a[11] == 0xff)
        return 1; /* ::ffff:0:0/96 */
    if (a[0] == 0x01 && a[1] == 0 && memcmp(a + 2, zero, 6) == 0)
        return 1; /* 100::/64 */
    if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8)
        return 1; /* 2001:db8::/32 */
    if ((a[0] & 0xfe) == 0xfc || a[0] == 0xff)
        return 1; /* fc00::/7, ff00::/8 */
    if (a[0] == 0xfe && (a[1] & 0x80))
        return 1; /* fe80::/10, fec0::/10 */
    return 0;
}

/* spec 2.1 */
static int bittorrent(const uint8_t *pl, uint32_t plen, uint32_t udplen, uint32_t iplen)
{
    if (udplen >= 20 && plen >= 12) {
        uint32_t w0 = sd__be32(pl);
        if ((w0 == 0x64313a61u || w0 == 0x64313a72u) && sd__be32(pl + 4) == 0x64323a69u &&
            sd__be32(pl + 8) == 0x6432303au)
            return 1;
    }
    if (udplen >= 48 && plen >= 40 && memcmp(pl + 20, "\x13" "BitTorrent protocol", 20) == 0)
        return 1;
    if (iplen >= 58 && plen >= 10 && (int64_t)plen >= (int64_t)udplen - 8) { /* D5 */
        uint32_t w = sd__be16(pl);
        static const uint8_t tail[10] = {0, 8, 0, 0, 0, 0, 0, 0, 0, 0};
        if ((w == 0x4102u || w == 0x2102u || w == 0x3102u || w == 0x1102u) &&
            memcmp(pl + plen - 10, tail, 10) == 0)
            return 1;
    }
    if (iplen == 48 && plen >= 2) { /* D5 */
        uint32_t w = sd__be16(pl);
        if (w == 0x4100u || w == 0x2100u || w == 0x3102u || w == 0x1100u)
            return 1;
    }
    if (iplen == 61 && plen >= 32 && sd__be32(pl + 12) == 0x7fffffffu && /* D5 */
        sd__be32(pl + 16) == 0xab020400u && sd__be32(pl + 20) == 0x01000000u &&
        sd__be32(pl + 24) == 0x08000000u && sd__be32(pl + 28) == 0)
        return 1;
    return 0;
}

/* The UDP payload filters (spec 2, ids 17-19, 26, 27); pl/plen: the
 * captured bytes after the 8-byte UDP header. */
static uint32_t udp_payload(const uint8_t *pl, uint32_t plen, uint32_t udplen, uint32_t iplen,
                            uint32_t sport, uint32_t dport)
{
    /* Most payloads match none: reject them on what every pattern below
     * needs at least (a superset of the tests that follow). */
    if (plen < 2)
        return 0;
    const uint32_t w16 = sd__be16(pl);
    const int maybe = (w16 == 0x6431u) | ((w16 & 0x0fffu) == 0x0102u) | (w16 == 0) |
                      (iplen == 48) | (iplen == 61) | (sport == 5060) | (sport == 137) |
                      (plen >= 12 && (sd__be16(pl + 2) & 0xfff0u) == 0x8180u) |
                      (plen >= 40 && pl[20] == 0x13);
    if (!maybe)
        return 0;
    uint32_t b = 0;
    if (bittorrent(pl, plen, udplen, iplen))
        b |= SD_FB(SD_FILTER_BITTORRENT);
    if (plen >= 10 && iplen == 58 && memcmp(pl, "\0\0\0\0\0\0\0\0\x31\0", 10) == 0)
        b |= SD_FB(SD_FILTER_UDP_0X31);
    if (plen >= 7 && sport == 5060 && dport == 5060 && memcmp(pl, "SIP/2.0", 7) == 0)
        b |= SD_FB(SD_FILTER_SIP_STATUS);
    if (iplen > 42 && plen >= 12 && (sd__be16(pl + 2) & 0xfff0u) == 0x8180u &&
        sd__be16(pl + 4) < 10 && sd__be16(pl + 6) < 10 && sd__be16(pl + 8) < 10 &&
        sd__be16(pl + 10) < 10)
        b |= SD_FB(SD_FILTER_DNS_RESP_NONSTANDARD);
    if (sport == 137 && dport == 137 && iplen > 48 && plen >= 20 &&
        memcmp(pl + 12, " CKAAAAA", 8) == 0)
        b |= SD_FB(SD_FILTER_NETBIOS_QUERY_NAME);
    return b;
}


/* Bytes [off, off + 4) of the transport header as a big-endian word, the
 * bytes beyond the rem captured ones read as 0. */
static uint32_t l4_word(const uint8_t *t, uint32_t rem, uint32_t off)
{
    uint32_t w = 0;
    for (uint32_t k = 0; k < 4; k++)
        w = w << 8 | (off + k < rem ? t[off + k] : 0u);
    return w;
}

/* Packet i into the columns, the general way: any packet, any link, IPv6,
 * a transport header cut short. */
static void gather_slow(struct sd__fb_batch *c, size_t i, const sd_parsed *p,
                        const sd_packet *pkt)
{
    uint32_t kind = 0, pre = 0, iplen = 0, frag = 0, ipw2 = 0, src = 0, dst = 0;
    uint32_t l4w0 = 0, l4w3 = 0, rem = 0;
    if (pkt == NULL) {
        /* all zero */
    } else if (!(p->flags & (SD_P_IP4 | SD_P_IP6)) || pkt->data == NULL) {
        pre = SD_FB(SD_FILTER_NOTIP); /* D1, D2 */
    } else {
        const uint8_t *d = pkt->data;
        kind = SD__FB_LIVE;
        ipw2 = (uint32_t)p->ttl << 24 | (uint32_t)p->proto << 16;
        if (p->flags & SD_P_IP6) {
            const uint8_t *a6 = d + p->l3_off + 8;
            const int special = special_v6(a6);
            kind |= SD__FB_V6;
            /* iplen as upstream would see it: what an option-less IPv4
             * header would give the same transport segment (D3) */
            iplen = p->ip_len - p->ip_hl + 20u;
            frag = p->frag_off;
            pre |= BIT(memcmp(a6, a6 + 16, 16) == 0, SD_FILTER_SAME_SRC_DEST_IP) |
                   BIT(special, SD_FILTER_RFC5735) | BIT(special, SD_FILTER_ROUTED);
        } else {
            kind |= p->ip_version == 4 ? SD__FB_TAG4 : 0;
            iplen = p->ip_len;
            frag = (p->ip_flags & 0x4u) | p->frag_off;
            src = p->src4;
            dst = p->dst4;
        }
        /* Transport (spec 1.2 step 2): not in a later fragment, IP header
         * captured. Lengths are captured bytes, not clipped to IP/UDP
         * lengths. */
        if (!(p->flags & SD_P_FRAG_LATER) && p->l4_off != 0 && p->l4_off <= pkt->caplen) {
            const uint8_t *t = d + p->l4_off;
            kind |= SD__FB_L4OK;
            rem = pkt->caplen - p->l4_off;
            l4w0 = l4_word(t, rem, 0);
            l4w3 = l4_word(t, rem, 12);
            if (p->proto == PROTO_UDP && rem >= 8)
                pre |= udp_payload(t + 8, rem - 8, sd__be16(t + 4), iplen, l4w0 >> 16,
                                   l4w0 & 0xffffu);
        }
    }
    c->kind[i] = kind;
    c->pre[i] = pre;
    c->iplen[i] = iplen;
    c->frag[i] = frag;
    c->ipw2[i] = ipw2;
    c->src[i] = src;
    c->dst[i] = dst;
    c->l4w0[i] = l4w0;
    c->l4w3[i] = l4w3;
    c->rem[i] = rem;
}

/* Packet i into the columns: the raw header words the vector pass tests.
 * The common case (IPv4, not a later fragment, 16 transport bytes
 * captured) reads them straight from the packet. Returns 1 when the UDP
 * payload filters are still to run (udp_later()): out of this loop, which
 * then keeps its values in registers. */
__attribute__((always_inline)) static inline int gather(struct sd__fb_batch *c, size_t i,
                                                       const sd_parsed *p, const sd_packet *pkt)
{
    const uint32_t l4_off = p->l4_off;
    if (SD__UNLIKELY((p->flags & (SD_P_IP4 | SD_P_FRAG_LATER)) != SD_P_IP4 || l4_off == 0 ||
                     pkt->data == NULL || l4_off + 16u > pkt->caplen || p->ip_version != 4)) {
        gather_slow(c, i, p, pkt);
        return 0;
    }
    const uint8_t *ip = pkt->data + p->l3_off, *t = pkt->data + l4_off;
    const uint32_t ipw2 = sd__be32(ip + 8);
    c->kind[i] = SD__FB_L4OK | SD__FB_LIVE | SD__FB_TAG4;
    c->pre[i] = 0;
    c->iplen[i] = p->ip_len;
    c->frag[i] = sd__be16(ip + 6) & 0x9fffu; /* the reserved bit or an offset */
    c->ipw2[i] = ipw2;
    c->src[i] = p->src4;
    c->dst[i] = p->dst4;
    c->l4w0[i] = sd__be32(t);
    c->l4w3[i] = sd__be32(t + 12);
    c->rem[i] = pkt->caplen - l4_off;
    return ((ipw2 >> 16) & 0xffu) == PROTO_UDP;
}

/* The UDP payload filters of the packets gather() left them to (bit i of
 * udp: packet i). */
static void udp_later(struct sd__fb_batch *c, const sd_parsed *p, const sd_packet *const *pkts,
                      uint64_t udp)
{
    for (; udp != 0; udp &= udp - 1) {
        const size_t i = (size_t)__builtin_ctzll(udp);
        const uint8_t *t = pkts[i]->data + p[i].l4_off;
        c->pre[i] = udp_payload(t + 8, c->rem[i] - 8, sd__be16(t + 4), c->iplen[i],
                                c->l4w0[i] >> 16, c->l4w0[i] & 0xffffu);
    }
}

_Static_assert(SD__FB_BATCH <= 64, "udp_later() takes a 64-bit mask");

/* The constant operands of the batch (filterbits_batch.inc, C()), one
 * row of SD__FB_K_LANES equal values each. */
#define SD__FB_K_LANES 8
#define SD__FB_CONSTANTS(X)                                                             \
    X(K_KIND_L4OK, SD__FB_L4OK) X(K_KIND_LIVE, SD__FB_LIVE) X(K_KIND_V6, SD__FB_V6)           \
    X(K_1, 1u) X(K_3, 3u) X(K_4, 4u) X(K_10, 10u) X(K_13, 13u) X(K_15, 15u) X(K_19, 19u)    \
    X(K_20, 20u) X(K_23, 23u) X(K_31, 31u) X(K_53, 53u) X(K_80, 80u) X(K_96, 96u)           \
    X(K_127, 127u) X(K_129, 129u) X(K_199, 199u) X(K_223, 223u) X(K_1024, 1024u)            \
    X(K_1500, 1500u) X(K_5000, 5000u) X(K_FF, 0xffu) X(K_FFFF, 0xffffu)                    \
    X(K_TCP, PROTO_TCP) X(K_UDP, PROTO_UDP) X(K_IPV6, PROTO_IPV6) X(K_ICMPV6, PROTO_ICMPV6) \
    X(K_169_254, 0xa9feu) X(K_172_16, 0xac1u) X(K_192_0_0, 0xc00000u)                      \
    X(K_192_0_2, 0xc00002u) X(K_192_88_99, 0xc05863u) X(K_192_168, 0xc0a8u)                \
    X(K_198_18, 0xc612u >> 1) X(K_198_51_100, 0xc63364u) X(K_203_0_113, 0xcb0071u)         \
    X(K_TCPF, TCPF_MASK) X(K_SYN_ACK, SD_TCP_SYN | SD_TCP_ACK) X(K_SYN, SD_TCP_SYN)         \
    X(K_RST, SD_TCP_RST) X(K_NORMAL_TCPF, NORMAL_TCPF)                                    \
    X(K_BACKSCATTER_ICMP4, BACKSCATTER_ICMP4)                                             \
    X(M_SCAN, SD_FB(SD_FILTER_TTL_200) | SD_FB(SD_FILTER_NO_TCP_OPTIONS) |                  \
                  SD_FB(SD_FILTER_TCPWIN_1024))                                           \
    X(M_SPOOFED, SD_FB(4) | SD_FB(8) | SD_FB(9) | SD_FB(10) | SD_FB(11) | SD_FB(12) |       \
                     SD_FB(13) | SD_FB(14) | SD_FB(29))                                   \
    X(M_ERRATIC, SD_FB(0) | SD_FB(5) | (SD_FB(28) - SD_FB(16))) /* 16..27 */              \
    X(F_ABNORMAL_PROTOCOL, SD_FB(SD_FILTER_ABNORMAL_PROTOCOL))                             \
    X(F_TTL_200, SD_FB(SD_FILTER_TTL_200))                                                 \
    X(F_UDP_IPLEN_96, SD_FB(SD_FILTER_UDP_IPLEN_96))                                       \
    X(F_UDP_IPLEN_1500, SD_FB(SD_FILTER_UDP_IPLEN_1500))                                   \
    X(F_FRAGMENT, SD_FB(SD_FILTER_FRAGMENT))                                               \
    X(F_LAST_SRC_IP_0, SD_FB(SD_FILTER_LAST_SRC_IP_0))                                     \
    X(F_LAST_SRC_IP_255, SD_FB(SD_FILTER_LAST_SRC_IP_255))                                 \
    X(F_SAME_SRC_DEST_IP, SD_FB(SD_FILTER_SAME_SRC_DEST_IP))                               \
    X(F_RFC5735_ROUTED, SD_FB(SD_FILTER_RFC5735) | SD_FB(SD_FILTER_ROUTED))                \
    X(F_PORT_53, SD_FB(SD_FILTER_PORT_53))                                                 \
    X(F_TCP_PORT_0, SD_FB(SD_FILTER_TCP_PORT_0))                                           \
    X(F_UDP_PORT_0, SD_FB(SD_FILTER_UDP_PORT_0))                                           \
    X(F_UDP_DESTPORT_80, SD_FB(SD_FILTER_UDP_DESTPORT_80))                                 \
    X(F_BACKSCATTER, SD_FB(SD_FILTER_BACKSCATTER))                                         \
    X(F_TCP_PORT_23, SD_FB(SD_FILTER_TCP_PORT_23))                                         \
    X(F_TCP_PORT_80, SD_FB(SD_FILTER_TCP_PORT_80))                                         \
    X(F_TCP_PORT_5000, SD_FB(SD_FILTER_TCP_PORT_5000))                                     \
    X(F_NO_TCP_OPTIONS, SD_FB(SD_FILTER_NO_TCP_OPTIONS))                                   \
    X(F_TCPWIN_1024, SD_FB(SD_FILTER_TCPWIN_1024))                                         \
    X(F_LARGE_SCALE_SCAN, SD_FB(SD_FILTER_LARGE_SCALE_SCAN))                               \
    X(F_TTL_200_NONSPOOFED, SD_FB(SD_FILTER_TTL_200_NONSPOOFED))                           \
    X(F_SPOOFED, SD_FB(SD_FILTER_SPOOFED))                                                 \
    X(F_ERRATIC, SD_FB(SD_FILTER_ERRATIC))

#define SD__FB_K_ENUM(name, value) name,
enum { SD__FB_CONSTANTS(SD__FB_K_ENUM) SD__FB_NK };
#define SD__FB_K_ROW(name, value)                                                  \
    [name] = {(uint32_t)(value), (uint32_t)(value), (uint32_t)(value), (uint32_t)(value), \
              (uint32_t)(value), (uint32_t)(value), (uint32_t)(value), (uint32_t)(value)},
static const uint32_t sd__fb_k[SD__FB_NK][SD__FB_K_LANES]
    __attribute__((aligned(32))) = {SD__FB_CONSTANTS(SD__FB_K_ROW)};

/* The batch, compiled twice: 4 lanes of 16 bytes for the baseline
 * instruction set (SSE2 on x86-64, NEON elsewhere), 8 lanes of 32 bytes for
 * AVX2, chosen at run time (sd__cpu_features()). Emulating 32-byte
 * vectors without AVX2 is slower than 16-byte ones. */
typedef uint32_t v4u __attribute__((vector_size(16)));
typedef int32_t v4i __attribute__((vector_size(16)));
#define V v4u
#define VI v4i
#define LANES 4
#define BATCH_FN batch_baseline
#define BATCH_ATTR
#include "filterbits_batch.inc"
#undef V
#undef VI
#undef LANES
#undef BATCH_FN
#undef BATCH_ATTR

#if defined(__x86_64__) || defined(__i386__)
typedef uint32_t v8u __attribute__((vector_size(32)));
typedef int32_t v8i __attribute__((vector_size(32)));
#define V v8u
#define VI v8i
#define LANES 8
#define BATCH_FN batch_avx2
#define BATCH_ATTR __attribute__((target("avx2")))
#include "filterbits_batch.inc"
#undef V
#undef VI
#undef LANES
#undef BATCH_FN
#undef BATCH_ATTR
#endif

void sd__filterbits_batch(const sd_parsed *p, const sd_packet *const *pkts, size_t n,
                          struct sd__fb_batch *c)
{
#if defined(__x86_64__) || defined(__i386__)
    /* a few packets (sd_filterbits()) fill fewer padding lanes in 4 */
    if (n > 4 && (sd__cpu_features() & SD__CPU_AVX2)) {
        batch_avx2(p, pkts, n, c);
        return;
    }
#endif
    batch_baseline(p, pkts, n, c);
}

uint64_t sd_filterbits(const sd_parsed *p, const sd_packet *pkt)
{
    if (p == NULL || pkt == NULL)
        return 0;
    struct sd__fb_batch c;
    sd__filterbits_batch(p, &pkt, 1, &c);
    return c.fb[0];
}

int sd_filterbits_bulk(const sd_parsed *p, const sd_packet *const *pkts, uint64_t *out, size_t n)
{
    if (n > INT_MAX || (n > 0 && (p == NULL || pkts == NULL || out == NULL)))
        return SD_ERR_INVAL;
    struct sd__fb_batch c;
    for (size_t i = 0; i < n; i += SD__FB_BATCH) {
        const size_t k = n - i < SD__FB_BATCH ? n - i : SD__FB_BATCH;
        sd__filterbits_batch(p + i, pkts + i, k, &c);
        for (size_t j = 0; j < k; j++)
            out[i + j] = c.fb[j];
    }
    return (int)n;
}

uint64_t sd_filterbits_normalize(uint64_t wire)
{
    uint64_t b = wire & SD_FB_ALL;
    if (wire & SD_FB_NOTIP_UPSTREAM)
        b |= SD_FB(SD_FILTER_NOTIP);
    return b;
}

static const char *const names[SD_FILTER_COUNT] = {
    "spoofed", "erratic", "routed", "large-scale-scan", "abnormal-protocol", "ttl-200",
    "no-tcp-options", "tcpwin-1024", "fragmented", "last-byte-src-0", "last-byte-src-255",
    "same-src-dst", "udp-port-0", "tcp-port-0", "udp-destport-80", "rfc5735", "backscatter",
    "bittorrent", "udp-0x31", "sip-status", "udp-ip-len-96", "udp-ip-len-1500", "port-53",
    "tcp-port-23", "tcp-port-80", "tcp-port-5000", "dns-resp-non-standard",
    "netbios-query-name", "notip", "ttl-200-nonspoofed"};

const char *sd_filter_name(int id)
{
    return id >= 0 && id < SD_FILTER_COUNT ? names[id] : NULL;
}

static int lookup(const char *s, size_t len)
{
    for (int i = 0; i < SD_FILTER_COUNT; i++)
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return i;
    /* the names of the record-header bits (spec 2.2) */
    if (len == 11 && memcmp(s, "nonroutable", 11) == 0)
        return SD_FILTER_ROUTED;
    if (len == 8 && memcmp(s, "fragment", 8) == 0)
        return SD_FILTER_FRAGMENT;
    return SD_ERR_NOTFOUND;
}

int sd_filter_by_name(const char *name)
{
    if (name == NULL)
        return SD_ERR_INVAL;
    return lookup(name, strlen(name));
}

int sd_filter_parse_list(const char *list, uint64_t *mask, char *errbuf)
{
    if (list == NULL || mask == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "filter list: NULL argument");
    uint64_t m = 0;
    const char *s = list;
    while (*s == ' ')
        s++;
    if (*s == '\0') {
        *mask = 0;
        return 0;
    }
    for (;;) {
        while (*s == ' ')
            s++;
        const char *e = s;
        while (*e != ',' && *e != '\0')
            e++;
        size_t len = (size_t)(e - s);
        while (len > 0 && s[len - 1] == ' ')
            len--;
        if (len == 0)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "filter list \"%s\": empty item", list);
        if (len == 3 && memcmp(s, "all", 3) == 0) {
            m |= SD_FB_ALL;
        } else {
            int id = lookup(s, len);
            if (id < 0)
                return sd__errbuf(errbuf, SD_ERR_NOTFOUND,
                                  "filter list: unknown filter \"%.*s\" (see sd_filterbits(3))",
                                  (int)(len > 64 ? 64 : len), s);
            m |= SD_FB(id);
        }
        if (*e == '\0')
            break;
        s = e + 1;
    }
    *mask = m;
    return 0;
}
