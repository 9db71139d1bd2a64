/* stardust: header parser, link layer to transport layer.
 *
 * One pass over the headers with one length check per header. The result
 * struct is cleared first (a fixed-size clear compiles to a few vector
 * stores, cheaper than tracking which fields a path left unwritten), then
 * only the fields found are stored. Parsing never reads at or beyond `end`
 * (caplen, capped to 65535 so offsets fit the 16-bit fields).
 *
 * Bounds: every header is checked against `lim`, the end of the IP packet
 * within the capture (min(caplen, l3_off + IP length)). A header that does
 * not fit is MALFORMED when the IP length itself cannot hold it (a bad
 * extension-header length, a TCP data offset beyond the datagram), except in
 * a first fragment, where the rest follows in the next fragment; otherwise
 * the capture cut it: TRUNCATED.
 */
#include "config.h"

#include <limits.h>

#include "internal.h"
#include <stardust/parse.h>

/* Distance at which sd_parse_bulk() prefetches packet bytes; 0 = off.
 * Measured with tests/bench/bench_parse.c (and a 64 MiB variant of its
 * ring): sources hand out packets laid out in order in their buffers, so
 * the hardware prefetcher already has them, and a software prefetch of 4 or
 * 8 ahead cost 0.3-0.5 ns per packet. */
#define SD_PREFETCH_AHEAD 0

#define PARSE_WINDOW 0xffffu /* sd_parsed offsets are uint16_t */

#if defined(__GNUC__)
#define SD__ALWAYS_INLINE __attribute__((always_inline))
#define SD__NOINLINE __attribute__((noinline))
#else
#define SD__ALWAYS_INLINE
#define SD__NOINLINE
#endif

enum {
    ET_IP4 = 0x0800,
    ET_IP6 = 0x86dd,
    ET_VLAN = 0x8100,     /* IEEE 802.1Q */
    ET_QINQ = 0x88a8,     /* IEEE 802.1ad service tag */
    ET_QINQ_OLD = 0x9100, /* pre-802.1ad vendor QinQ tag */
    ET_MPLS = 0x8847,
    ET_MPLS_MC = 0x8848,
};

enum {
    IPPROTO_V6_HOPOPTS = 0,
    IPPROTO_V_ICMP = 1,
    IPPROTO_V_TCP = 6,
    IPPROTO_V_UDP = 17,
    IPPROTO_V6_ROUTING = 43,
    IPPROTO_V6_FRAGMENT = 44,
    IPPROTO_V6_AH = 51,
    IPPROTO_V_ICMPV6 = 58,
    IPPROTO_V6_DSTOPTS = 60,
    IPPROTO_V6_MOBILITY = 135,
};

/* ICMPv4 messages that quote the offending datagram (RFC 792): destination
 * unreachable 3, source quench 4, redirect 5, time exceeded 11, parameter
 * problem 12. */
#define ICMP4_QUOTING ((1u << 3) | (1u << 4) | (1u << 5) | (1u << 11) | (1u << 12))

static inline uint32_t family_to_ethertype(uint32_t fam)
{
    /* AF_INET is 2 everywhere; AF_INET6 is 24 (NetBSD/OpenBSD), 28 (FreeBSD)
     * or 30 (macOS), and captures move between systems
     * (pcap-linktype(7), LINKTYPE_NULL). */
    if (fam == 2)
        return ET_IP4;
    if (fam == 24 || fam == 28 || fam == 30)
        return ET_IP6;
    return 0;
}

/* Walk from the network-layer EtherType `et` at `off` to the transport
 * layer. `end` = bytes captured (<= PARSE_WINDOW); `wend` = bytes on the
 * wire (UINT32_MAX when unknown). */
static inline SD__ALWAYS_INLINE int parse_from(const uint8_t *d, uint32_t off, uint32_t end, uint32_t wend,
                             uint32_t et, uint32_t flags, sd_parsed *o)
{
    uint32_t ip_end; /* end of the IP packet by its length field */
    uint32_t lim;    /* min(end, ip_end) */
    uint32_t need;   /* bytes the header being checked needs at off */
    uint32_t proto;

    /* Link layer: tags, label stacks and pseudowires, in any nesting. Each
     * step consumes at least 4 bytes, so the loop ends. */
    for (;;) {
        if (et == ET_IP4)
            goto ip4;
        if (et == ET_IP6)
            goto ip6;
        if (et == ET_VLAN || et == ET_QINQ || et == ET_QINQ_OLD) {
            if (end - off < 4)
                goto truncated;
            if (o->n_vlan < SD_PARSE_MAX_VLAN)
                o->vlan[o->n_vlan] = sd__be16(d + off);
            if (o->n_vlan < UINT8_MAX)
                o->n_vlan++;
            flags |= SD_P_VLAN;
            et = sd__be16(d + off + 2);
            off += 4;
            continue;
        }
        if (et == ET_MPLS || et == ET_MPLS_MC) {
            o->ethertype = (uint16_t)et;
            flags |= SD_P_MPLS;
            for (;;) {
                if (end - off < 4)
                    goto truncated;
                uint32_t lse = sd__be32(d + off);
                if (o->n_mpls < SD_PARSE_MAX_MPLS)
                    o->mpls[o->n_mpls] = lse;
                if (o->n_mpls < UINT8_MAX)
                    o->n_mpls++;
                off += 4;
                if (lse & 0x100u) /* bottom of stack (RFC 3032 2.1) */
                    break;
            }
            /* MPLS does not name its payload: guess from the first nibble,
             * as RFC 4385 section 2 expects of label-switching routers. */
            if (off >= end)
                goto truncated;
            uint32_t nibble = d[off] >> 4;
            if (nibble == 4)
                goto ip4_keep_et;
            if (nibble == 6)
                goto ip6_keep_et;
            /* Ethernet pseudowire (RFC 4448), with or without the control
             * word (first nibble 0, RFC 4385 3). A CW of all zeroes is the
             * usual one; a CW with flags or a sequence number is not
             * recognised, nor is a destination MAC starting with 4 or 6
             * when no CW is used: the same heuristic limits as Wireshark. */
            if (end - off >= 4 && sd__be32(d + off) == 0)
                off += 4;
            if (end - off < 14)
                goto truncated;
            et = sd__be16(d + off + 12);
            off += 14;
            continue;
        }
        /* Any other EtherType (ARP, 802.3 length, ...), or 0 from an
         * unknown loopback family: the packet has no layer we parse. */
        o->ethertype = (uint16_t)et;
        o->l2_len = (uint16_t)off;
        o->flags = flags;
        return 0;
    }

ip4:
    o->ethertype = (uint16_t)et;
ip4_keep_et:
    o->l2_len = (uint16_t)off;
    {
        if (end - off < 20)
            goto truncated;
        const uint8_t *ip = d + off;
        if ((ip[0] >> 4) != 4)
            goto malformed;
        uint32_t hl = (ip[0] & 15u) << 2;
        uint32_t tot = sd__be16(ip + 2);
        uint32_t fo = sd__be16(ip + 6);
        proto = ip[9];
        flags |= SD_P_IP4;
        o->l3_off = (uint16_t)off;
        o->ip_version = 4;
        o->tos = ip[1];
        o->ip_len = tot;
        o->ip_id = sd__be16(ip + 4);
        o->ip_flags = (uint8_t)(fo >> 13);
        o->frag_off = (uint16_t)((fo & 0x1fffu) << 3);
        o->ttl = ip[8];
        o->proto = (uint8_t)proto;
        o->ip_hl = (uint16_t)hl;
        o->src4 = sd__be32(ip + 12);
        o->dst4 = sd__be32(ip + 16);
        if (SD__UNLIKELY(hl < 20 || tot < hl)) /* RFC 791 3.1 */
            goto malformed;
        ip_end = off + tot;
        if (wend < ip_end)
            flags |= SD_P_PAYLOAD_SHORT;
        if (fo & 0x3fffu) /* MF or an offset */
            flags |= SD_P_FRAG;
        if (hl > 20) {
            flags |= SD_P_IP_OPTIONS;
            if (end - off < hl)
                goto truncated;
        }
        off += hl;
        if (fo & 0x1fffu) {
            flags |= SD_P_FRAG_LATER;
            goto later_fragment;
        }
    }
    goto l4;

ip6:
    o->ethertype = (uint16_t)et;
ip6_keep_et:
    o->l2_len = (uint16_t)off;
    {
        if (end - off < 40)
            goto truncated;
        const uint8_t *ip = d + off;
        if ((ip[0] >> 4) != 6)
            goto malformed;
        uint32_t l3 = off;
        flags |= SD_P_IP6;
        o->l3_off = (uint16_t)off;
        o->ip_version = 6;
        o->tos = (uint8_t)(sd__be16(ip) >> 4);
        o->ttl = ip[7];
        ip_end = off + 40 + sd__be16(ip + 4);
        o->ip_len = ip_end - off;
        if (wend < ip_end)
            flags |= SD_P_PAYLOAD_SHORT;
        lim = end < ip_end ? end : ip_end;
        proto = ip[6];
        off += 40;
        /* Extension headers, RFC 8200 4. Each is at least 8 bytes, so the
         * walk ends within the capture. */
        for (;;) {
            uint32_t len;
            if (proto == IPPROTO_V6_HOPOPTS || proto == IPPROTO_V6_ROUTING ||
                proto == IPPROTO_V6_DSTOPTS || proto == IPPROTO_V6_MOBILITY) {
                need = 8;
                if (lim - off < need)
                    goto ext_cut;
                len = (d[off + 1] + 1u) << 3; /* 8-byte units, first not counted */
            } else if (proto == IPPROTO_V6_AH) {
                need = 8;
                if (lim - off < need)
                    goto ext_cut;
                len = (d[off + 1] + 2u) << 2; /* RFC 4302 2.2: 4-byte units minus 2 */
            } else if (proto == IPPROTO_V6_FRAGMENT) {
                need = 8;
                if (lim - off < need)
                    goto ext_cut;
                const uint8_t *f = d + off;
                uint32_t fo = sd__be16(f + 2);
                uint32_t id = sd__be32(f + 4);
                o->ip6_frag_id = id;
                o->ip_id = (uint16_t)id;
                o->frag_off = (uint16_t)(fo & 0xfff8u);
                o->ip_flags = (uint8_t)(fo & 1u);
                proto = f[0];
                off += 8;
                if (fo & 0xfff9u) /* M or an offset; else atomic, RFC 6946 */
                    flags |= SD_P_FRAG;
                if (fo & 0xfff8u) {
                    flags |= SD_P_FRAG_LATER;
                    o->ip_hl = (uint16_t)(off - l3);
                    o->proto = (uint8_t)proto;
                    goto later_fragment;
                }
                continue;
            } else {
                break; /* transport, ESP (50), no next header (59), unknown */
            }
            need = len;
            if (lim - off < need)
                goto ext_cut;
            proto = d[off];
            off += len;
        }
        o->ip_hl = (uint16_t)(off - l3);
        o->proto = (uint8_t)proto;
        goto l4;
    ext_cut:
        o->ip_hl = (uint16_t)(off - l3);
        o->proto = (uint8_t)proto;
        goto cut;
    }

l4:
    o->l4_off = (uint16_t)off;
    lim = end < ip_end ? end : ip_end;
    if (proto == IPPROTO_V_TCP) {
        const uint8_t *t = d + off;
        need = 20;
        if (lim - off < need)
            goto ports_cut;
        uint32_t doff = (uint32_t)(t[12] >> 4) << 2;
        flags |= SD_P_TCP;
        o->sport = sd__be16(t);
        o->dport = sd__be16(t + 2);
        o->tcp_seq = sd__be32(t + 4);
        o->tcp_ack = sd__be32(t + 8);
        o->tcp_doff = (uint8_t)doff;
        o->tcp_flags = t[13];
        o->tcp_win = sd__be16(t + 14);
        if (doff < 20) /* RFC 9293 3.1 */
            goto malformed;
        need = doff;
        if (lim - off < need)
            goto cut;
        off += doff;
    } else if (proto == IPPROTO_V_UDP) {
        const uint8_t *u = d + off;
        need = 8;
        if (lim - off < need)
            goto ports_cut;
        flags |= SD_P_UDP;
        o->sport = sd__be16(u);
        o->dport = sd__be16(u + 2);
        o->udp_len = sd__be16(u + 4);
        off += 8;
    } else if (proto == IPPROTO_V_ICMP || proto == IPPROTO_V_ICMPV6) {
        /* The 8 bytes every ICMP message has (RFC 792, RFC 4443 2.1). */
        need = 8;
        if (lim - off < need) {
            if (lim - off >= 2) {
                o->icmp_type = d[off];
                o->icmp_code = d[off + 1];
                o->sport = d[off];
                o->dport = d[off + 1];
            }
            goto cut;
        }
        uint32_t type = d[off];
        o->icmp_type = (uint8_t)type;
        o->icmp_code = d[off + 1];
        o->sport = (uint16_t)type;
        o->dport = d[off + 1];
        int quoting;
        if (proto == IPPROTO_V_ICMP) {
            flags |= SD_P_ICMP;
            quoting = type < 32 && ((ICMP4_QUOTING >> type) & 1u);
        } else {
            flags |= SD_P_ICMP6;
            quoting = type >= 1 && type <= 4; /* RFC 4443 3.1-3.4 */
        }
        off += 8;
        if (quoting && off < lim) {
            flags |= SD_P_ICMP_QUOTE;
            o->inner_off = (uint16_t)off;
        }
    }
    /* Any other protocol (tunnels 4/41, GRE, ESP, ...) is not entered. */
    o->payload_off = (uint16_t)off;
    o->payload_len = (uint16_t)(ip_end - off);
    o->flags = flags;
    return 0;

later_fragment:
    /* No transport header here: the bytes after the IP headers are the
     * fragment data (l4_off stays 0). */
    o->payload_off = (uint16_t)off;
    o->payload_len = (uint16_t)(ip_end - off);
    o->flags = flags;
    return 0;

ports_cut:
    /* TCP/UDP fixed header cut: keep the ports if captured (an ICMPv4 error
     * quotes only 8 bytes of the transport header, RFC 792). */
    if (lim - off >= 4) {
        o->sport = sd__be16(d + off);
        o->dport = sd__be16(d + off + 2);
    }
    /* fall through */
cut:
    /* Header [off, off + need) does not fit lim = min(end, ip_end). */
    if (off + need > ip_end && !(flags & SD_P_FRAG))
        goto malformed;
truncated:
    o->flags = flags | SD_P_TRUNCATED;
    return SD_ERR_TRUNCATED;
malformed:
    o->flags = flags | SD_P_MALFORMED;
    return SD_ERR_FORMAT;
}

/* Zero *o. GCC turns a memset (or a loop) of this size into `rep stosq`,
 * whose start-up cost on current x86 cores is about a third of a whole
 * parse (tests/bench/bench_parse.c); eight unrolled 16-byte stores are not
 * merged back. */
static inline void clear_parsed(sd_parsed *o)
{
#if defined(__GNUC__)
    typedef uint8_t sd__v16 __attribute__((vector_size(16)));
    _Static_assert(sizeof(sd_parsed) > 7 * 16 && sizeof(sd_parsed) <= 8 * 16,
                   "clear_parsed: adjust the store count to sizeof(sd_parsed)");
    const sd__v16 z = {0};
    char *p = (char *)o;
    memcpy(p, &z, 16);
    memcpy(p + 16, &z, 16);
    memcpy(p + 32, &z, 16);
    memcpy(p + 48, &z, 16);
    memcpy(p + 64, &z, 16);
    memcpy(p + 80, &z, 16);
    memcpy(p + 96, &z, 16);
    memcpy(p + sizeof *o - 16, &z, 16);
#else
    memset(o, 0, sizeof *o);
#endif
}

/* The whole parse. Inlined into sd_parse_bulk()'s loop (the call and the
 * callee-saved register traffic were a tenth of the per-packet cost), and
 * kept out of line once for the single-packet entry points. */
static inline SD__ALWAYS_INLINE int parse_packet(const uint8_t *d, uint32_t caplen,
                                                 uint32_t wirelen, uint32_t linktype,
                                                 sd_parsed *o)
{
    clear_parsed(o);
    uint32_t end = caplen < PARSE_WINDOW ? caplen : PARSE_WINDOW;
    /* A source that does not know the wire length (0), or reports less than
     * it captured, cannot tell a short packet from a snaplen cut. */
    uint32_t wend = wirelen >= caplen && wirelen != 0 ? wirelen : UINT32_MAX;
    uint32_t et, off, fam;
    uint32_t flags = SD_P_ETH;

    if (linktype == SD_LINK_ETHERNET) {
        if (end < 14)
            goto truncated;
        off = 14;
        et = sd__be16(d + 12);
    } else {
        switch (linktype) {
        case SD_LINK_RAW:
        case SD_LINK_IPV4:
        case SD_LINK_IPV6:
            if (end < 1)
                goto truncated;
            /* LINKTYPE_IPV4/IPV6 promise one version; a mismatch is then
             * found malformed by the IP parser itself. */
            if (linktype == SD_LINK_IPV4)
                et = ET_IP4;
            else if (linktype == SD_LINK_IPV6)
                et = ET_IP6;
            else if ((d[0] >> 4) == 4)
                et = ET_IP4;
            else if ((d[0] >> 4) == 6)
                et = ET_IP6;
            else {
                o->flags = SD_P_MALFORMED;
                return SD_ERR_FORMAT;
            }
            off = 0;
            flags = 0;
            break;
        case SD_LINK_NULL:
            if (end < 4)
                goto truncated;
            /* Host byte order of the capturing machine: take whichever
             * reading is small (families are < 256). */
            fam = sd__le32(d);
            if (fam > 0xffffu)
                fam = sd__be32(d);
            et = family_to_ethertype(fam);
            off = 4;
            break;
        case SD_LINK_LOOP:
            if (end < 4)
                goto truncated;
            et = family_to_ethertype(sd__be32(d));
            off = 4;
            break;
        case SD_LINK_LINUX_SLL:
            /* packet type, ARPHRD, address length, 8-byte address, protocol */
            if (end < 16)
                goto truncated;
            et = sd__be16(d + 14);
            off = 16;
            break;
        case SD_LINK_LINUX_SLL2:
            /* protocol, reserved, ifindex, ARPHRD, packet type, address
             * length, 8-byte address */
            if (end < 20)
                goto truncated;
            et = sd__be16(d);
            off = 20;
            break;
        default:
            o->flags = SD_P_UNKNOWN_LINK;
            return SD_ERR_UNSUPPORTED;
        }
    }
    return parse_from(d, off, end, wend, et, flags, o);
truncated:
    o->flags = SD_P_TRUNCATED; /* the link header itself was cut */
    return SD_ERR_TRUNCATED;
}

static SD__NOINLINE int parse_one(const uint8_t *d, uint32_t caplen, uint32_t wirelen,
                                  uint32_t linktype, sd_parsed *o)
{
    return parse_packet(d, caplen, wirelen, linktype, o);
}

SD_API int sd_parse(const sd_packet *pkt, sd_parsed *out)
{
    if (out == NULL)
        return SD_ERR_INVAL;
    if (pkt == NULL || (pkt->data == NULL && pkt->caplen > 0)) {
        clear_parsed(out);
        return SD_ERR_INVAL;
    }
    return parse_one(pkt->data, pkt->caplen, pkt->wirelen, pkt->linktype, out);
}

SD_API int sd_parse_bulk(const sd_packet *const *pkts, sd_parsed *out, size_t n)
{
    if (n == 0)
        return 0;
    if (pkts == NULL || out == NULL || n > INT_MAX)
        return SD_ERR_INVAL;
    int rc = (int)n;
    for (size_t i = 0; i < n; i++) {
#if SD_PREFETCH_AHEAD > 0
        if (i + SD_PREFETCH_AHEAD < n) {
            const sd_packet *ahead = pkts[i + SD_PREFETCH_AHEAD];
            if (ahead != NULL)
                __builtin_prefetch(ahead->data);
        }
#endif
        const sd_packet *p = pkts[i];
        if (p == NULL || (p->data == NULL && p->caplen > 0)) {
            clear_parsed(&out[i]);
            rc = SD_ERR_INVAL;
            continue;
        }
        (void)parse_packet(p->data, p->caplen, p->wirelen, p->linktype, &out[i]);
    }
    return rc;
}

SD_API int sd_parse_ip(const uint8_t *data, uint32_t len, sd_parsed *out)
{
    if (out == NULL)
        return SD_ERR_INVAL;
    if (data == NULL && len > 0) {
        clear_parsed(out);
        return SD_ERR_INVAL;
    }
    /* SD_LINK_RAW with the wire length unknown (0): no PAYLOAD_SHORT. */
    return parse_one(data, len, 0, SD_LINK_RAW, out);
}
