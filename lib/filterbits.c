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

#include "internal.h"

/* (uint64_t)1 << id when c is non-zero, without a branch */
#define BIT(c, id) ((uint64_t)((c) != 0) << (id))

#define PROTO_ICMP 1u
#define PROTO_TCP 6u
#define PROTO_UDP 17u
#define PROTO_IPV6 41u
#define PROTO_ICMPV6 58u

/* The TCP flags upstream looks at: FIN SYN RST PSH ACK URG. */
#define TCPF_MASK 0x3fu

/* spec 2, id 4: the flag sets (of TCPF_MASK) that are normal. Bit n of this
 * 64-bit word is set when the flag byte n is normal: S, A, R, F, SF, SA, FA,
 * AP, FAP. */
#define NORMAL_TCPF                                                          \
    (SD_FB(0x02) | SD_FB(0x10) | SD_FB(0x04) | SD_FB(0x01) | SD_FB(0x03) | \
     SD_FB(0x12) | SD_FB(0x11) | SD_FB(0x18) | SD_FB(0x19))

/* spec 2, id 16: ICMPv4 types 0 3 4 5 11 12 14 16 18. */
#define BACKSCATTER_ICMP4                                                   \
    ((1u << 0) | (1u << 3) | (1u << 4) | (1u << 5) | (1u << 11) | (1u << 12) | \
     (1u << 14) | (1u << 16) | (1u << 18))

/* First octets that are special, or hold a special range: 0 10 127 169 172
 * 192 198 203 224-255. A bitmap test first keeps the common case (an
 * ordinary source) free of the jump table below. */
static const uint64_t rfc5735_first[4] = {
    (UINT64_C(1) << 0) | (UINT64_C(1) << 10),                          /* 0..63 */
    UINT64_C(1) << (127 - 64),                                         /* 64..127 */
    (UINT64_C(1) << (169 - 128)) | (UINT64_C(1) << (172 - 128)),       /* 128..191 */
    (UINT64_C(1) << (192 - 192)) | (UINT64_C(1) << (198 - 192)) |
        (UINT64_C(1) << (203 - 192))};                                 /* 192..255 */

static int rfc5735_v4(uint32_t s)
{
    const uint32_t a = s >> 24;
    if (a >= 224)
        return 1; /* 224/4, 240/4 */
    if (!((rfc5735_first[a >> 6] >> (a & 63)) & 1))
        return 0;
    switch (a) {
    case 0: case 10: case 127:
        return 1;
    case 169:
        return (s >> 16) == 0xa9feu; /* 169.254/16 */
    case 172:
        return (s >> 20) == 0xac1u; /* 172.16/12 */
    case 192:
        return (s >> 8) == 0xc00000u || (s >> 8) == 0xc00002u || /* 192.0.0, 192.0.2 */
               (s >> 8) == 0xc05863u || (s >> 16) == 0xc0a8u;   /* 192.88.99, 192.168 */
    case 198:
        return (s >> 17) == (0xc612u >> 1) || (s >> 8) == 0xc63364u; /* 198.18/15, 198.51.100 */
    case 203:
        return (s >> 8) == 0xcb0071u; /* 203.0.113 */
    default:
        return 0;
    }
}

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

/* The body of sd_filterbits(), inlined into the bulk loop (no PLT call). */
static inline uint64_t filterbits_one(const sd_parsed *p, const sd_packet *pkt)
{
    if (SD__UNLIKELY(p == NULL || pkt == NULL))
        return 0;
    const int v6 = (p->flags & SD_P_IP6) != 0;
    if (!(p->flags & (SD_P_IP4 | SD_P_IP6)) || pkt->data == NULL) /* D1, D2 */
        return SD_FB(SD_FILTER_NOTIP);

    const uint8_t *d = pkt->data;
    const uint32_t proto = p->proto;
    const uint32_t icmp = v6 ? PROTO_ICMPV6 : PROTO_ICMP;
    /* iplen as upstream sees it; IPv6: what an option-less IPv4 header
     * would give the same transport segment. */
    const uint32_t iplen = v6 ? p->ip_len - p->ip_hl + 20u : p->ip_len;
    uint64_t b = 0;

    /* IP-level filters, branch-free: telescope traffic is a random mix, so
     * branches here would mostly mispredict. */
    b |= BIT((proto != PROTO_TCP) & (proto != PROTO_UDP) & (proto != icmp) & (proto != PROTO_IPV6),
             SD_FILTER_ABNORMAL_PROTOCOL);
    b |= BIT((proto != icmp) & (p->ttl >= 200), SD_FILTER_TTL_200);
    b |= BIT((proto == PROTO_UDP) & (iplen == 96), SD_FILTER_UDP_IPLEN_96);
    b |= BIT((proto == PROTO_UDP) & (iplen == 1500), SD_FILTER_UDP_IPLEN_1500);
    if (SD__UNLIKELY(v6)) {
        const uint8_t *src = d + p->l3_off + 8;
        b |= BIT(p->frag_off != 0, SD_FILTER_FRAGMENT);
        b |= BIT(memcmp(src, src + 16, 16) == 0, SD_FILTER_SAME_SRC_DEST_IP);
        b |= BIT(special_v6(src), SD_FILTER_RFC5735) | BIT(special_v6(src), SD_FILTER_ROUTED);
    } else {
        const uint32_t last = p->src4 & 0xffu;
        /* off & 0x9fff: the reserved bit or an offset (MF alone is not) */
        b |= BIT((p->ip_flags & 0x4u) | p->frag_off, SD_FILTER_FRAGMENT);
        b |= BIT(last == 0, SD_FILTER_LAST_SRC_IP_0);
        b |= BIT(last == 0xffu, SD_FILTER_LAST_SRC_IP_255);
        b |= BIT(p->src4 == p->dst4, SD_FILTER_SAME_SRC_DEST_IP);
        const uint64_t special = (uint64_t)rfc5735_v4(p->src4);
        b |= (special << SD_FILTER_RFC5735) | (special << SD_FILTER_ROUTED);
    }

    /* Transport (spec 1.2 step 2): not in a later fragment, IP header
     * captured. Lengths are captured bytes, not clipped to IP/UDP lengths. */
    if (!(p->flags & SD_P_FRAG_LATER) && p->l4_off != 0 && p->l4_off <= pkt->caplen) {
        const uint8_t *t = d + p->l4_off;
        const uint32_t rem = pkt->caplen - p->l4_off;
        uint32_t sport = 0, dport = 0;
        if (proto == PROTO_TCP || proto == PROTO_UDP) {
            if (rem >= 4) {
                sport = sd__be16(t);
                dport = sd__be16(t + 2);
            }
        } else if (proto == icmp && rem >= 2) {
            sport = t[0];
            dport = t[1];
        }
        const uint32_t tcp = proto == PROTO_TCP, udp = proto == PROTO_UDP;
        const uint32_t ports = (tcp | udp) & (rem >= 4);
        const uint32_t port0 = ports & ((sport == 0) | (dport == 0));
        b |= BIT((sport == 53) | (dport == 53), SD_FILTER_PORT_53);
        b |= BIT(tcp & port0, SD_FILTER_TCP_PORT_0);
        b |= BIT(udp & port0, SD_FILTER_UDP_PORT_0);
        b |= BIT(udp & ports & (dport == 80), SD_FILTER_UDP_DESTPORT_80);
        b |= BIT(udp & ports & (sport == 53), SD_FILTER_BACKSCATTER);
        b |= BIT(tcp & ((sport == 23) | (dport == 23)), SD_FILTER_TCP_PORT_23);
        b |= BIT(tcp & ((sport == 80) | (dport == 80)), SD_FILTER_TCP_PORT_80);
        b |= BIT(tcp & ((sport == 5000) | (dport == 5000)), SD_FILTER_TCP_PORT_5000);

        if (tcp) {
            if (rem >= 14) { /* D4 */
                const uint32_t fl = t[13] & TCPF_MASK;
                const uint32_t doff = (uint32_t)(t[12] >> 4) * 4u;
                const uint32_t syn_probe = (fl & (SD_TCP_SYN | SD_TCP_ACK)) == SD_TCP_SYN;
                const uint32_t win = rem >= 16 ? sd__be16(t + 14) : 0;
                /* payload present (D4) */
                const uint32_t full = (rem >= 20) & (rem >= doff);
                b |= BIT(syn_probe & (doff == 20), SD_FILTER_NO_TCP_OPTIONS);
                b |= BIT(syn_probe & (win == 1024), SD_FILTER_TCPWIN_1024);
                b |= BIT(full & !((NORMAL_TCPF >> fl) & 1), SD_FILTER_ABNORMAL_PROTOCOL);
                b |= BIT(full & (((fl & (SD_TCP_SYN | SD_TCP_ACK)) == (SD_TCP_SYN | SD_TCP_ACK)) |
                                 ((fl & SD_TCP_RST) != 0)),
                         SD_FILTER_BACKSCATTER);
            }
        } else if (udp) {
            if (rem >= 8) {
                const uint8_t *pl = t + 8;
                const uint32_t plen = rem - 8;
                const uint32_t udplen = sd__be16(t + 4);
                if (bittorrent(pl, plen, udplen, iplen))
                    b |= SD_FB(SD_FILTER_BITTORRENT);
                if (plen >= 10 && iplen == 58 &&
                    memcmp(pl, "\0\0\0\0\0\0\0\0\x31\0", 10) == 0)
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
            }
        } else if (proto == icmp && rem >= 1) {
            /* only the type byte needs to be captured (spec 2, id 16) */
            const uint32_t type = t[0];
            const int bs = v6 ? (type >= 1 && type <= 4) || type == 129
                              : type < 32 && (BACKSCATTER_ICMP4 & (1u << type));
            if (bs)
                b |= SD_FB(SD_FILTER_BACKSCATTER);
        }
    }

    /* Composite filters, from the bits above. */
    const uint64_t scanmask = SD_FB(SD_FILTER_TTL_200) | SD_FB(SD_FILTER_NO_TCP_OPTIONS) |
                              SD_FB(SD_FILTER_TCPWIN_1024);
    const uint64_t scan = (b & scanmask) == scanmask;
    b |= scan << SD_FILTER_LARGE_SCALE_SCAN;
    b |= (((b >> SD_FILTER_TTL_200) & 1) & (scan ^ 1)) << SD_FILTER_TTL_200_NONSPOOFED;
    const uint64_t spoofed = SD_FB(4) | SD_FB(8) | SD_FB(9) | SD_FB(10) | SD_FB(11) | SD_FB(12) |
                             SD_FB(13) | SD_FB(14) | SD_FB(29);
    b |= BIT(b & spoofed, SD_FILTER_SPOOFED);
    const uint64_t erratic = SD_FB(0) | SD_FB(5) | (SD_FB(28) - SD_FB(16)); /* 16..27 */
    b |= BIT(b & erratic, SD_FILTER_ERRATIC);
    return b;
}

uint64_t sd_filterbits(const sd_parsed *p, const sd_packet *pkt)
{
    return filterbits_one(p, pkt);
}

int sd_filterbits_bulk(const sd_parsed *p, const sd_packet *const *pkts, uint64_t *out, size_t n)
{
    if (n > INT_MAX || (n > 0 && (p == NULL || pkts == NULL || out == NULL)))
        return SD_ERR_INVAL;
    for (size_t i = 0; i < n; i++)
        out[i] = filterbits_one(&p[i], pkts[i]);
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
