/* stardust: header parser.
 *
 * sd_parse() walks a packet's headers from the link layer to the transport
 * layer and records where each header starts and its main fields. It never
 * copies packet bytes and never reads past caplen: a header cut short by the
 * capture sets SD_P_TRUNCATED, a header with impossible values sets
 * SD_P_MALFORMED, and parsing stops there with what was found so far.
 *
 * Thread safety: sd_parse() keeps no state; call it from any thread.
 */
#ifndef STARDUST_PARSE_H
#define STARDUST_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/export.h>
#include <stardust/packet.h>

#ifdef __cplusplus
extern "C" {
#endif

/* sd_parsed.flags: which layers were found, and what went wrong.
 * WARNING: on-ABI values. */
#define SD_P_ETH 0x00000001u        /* Ethernet, Linux cooked (SLL/SLL2) or BSD
                                       loopback (NULL/LOOP) link header */
#define SD_P_VLAN 0x00000002u       /* at least one 802.1Q/802.1ad/0x9100 tag */
#define SD_P_MPLS 0x00000004u       /* at least one MPLS label */
#define SD_P_IP4 0x00000008u
#define SD_P_IP6 0x00000010u
#define SD_P_IP_OPTIONS 0x00000020u /* IPv4 header longer than 20 bytes */
#define SD_P_FRAG 0x00000040u       /* IPv4 or IPv6 fragment: MF set or offset > 0
                                       (an IPv6 atomic fragment is not one) */
#define SD_P_FRAG_LATER 0x00000080u /* fragment with offset > 0: no L4 header */
#define SD_P_TCP 0x00000100u
#define SD_P_UDP 0x00000200u
#define SD_P_ICMP 0x00000400u       /* ICMPv4 */
#define SD_P_ICMP6 0x00000800u
#define SD_P_ICMP_QUOTE 0x00001000u /* ICMP error quoting an IP header: see inner_off */
#define SD_P_TRUNCATED 0x00010000u  /* a header ends beyond caplen (or, in a
                                       first fragment, beyond the fragment) */
#define SD_P_MALFORMED 0x00020000u  /* a header field is impossible (e.g. IHL < 5,
                                       wrong IP version, a header running past
                                       the IP length) */
#define SD_P_UNKNOWN_LINK 0x00040000u /* link type not understood: nothing parsed */
#define SD_P_PAYLOAD_SHORT 0x00080000u /* IP length says more bytes than the frame
                                          carries on the wire (wirelen; a
                                          snaplen cut does not count) */

#define SD_PARSE_MAX_VLAN 4
#define SD_PARSE_MAX_MPLS 4

/* The result of one sd_parse() call. A plain value type: the caller owns it,
 * the library fills it and keeps no reference.
 *
 * Every field is written by every call: a field whose layer was not found
 * (or was not reached because parsing stopped) is 0, and so is the reserved
 * tail. Offsets count from pkt->data and are never beyond caplen. An offset
 * of 0 means absent, except l3_off of a raw IP packet, which really starts
 * at 0 (check SD_P_IP4/SD_P_IP6). The parser looks at the first 65535 bytes
 * of a packet at most, so offsets fit in 16 bits: a header that would end
 * beyond that counts as cut (SD_P_TRUNCATED).
 *
 * When a header fails a check (SD_P_MALFORMED) or its variable part is cut
 * (SD_P_TRUNCATED), the fields of its fixed part stay filled and its layer
 * flag is set: e.g. IHL < 5 gives SD_P_IP4 | SD_P_MALFORMED with the
 * addresses filled, and a TCP header whose options are cut gives SD_P_TCP |
 * SD_P_TRUNCATED with ports and flags filled. A header whose fixed part is
 * cut sets no flag of its own; only sport/dport (TCP, UDP) and the ICMP
 * type/code are taken from its first bytes when those were captured, since
 * an ICMPv4 error quotes just 8 bytes of the transport header.
 *
 * IPv4 addresses are in host byte order; IPv6 addresses are read in place at
 * data + l3_off + 8 (source) and + 24 (destination).
 * WARNING: fields are appended only in the reserved tail (ABI). */
typedef struct sd_parsed {
    uint32_t flags;          /* SD_P_* */
    uint16_t ethertype;      /* last EtherType read before the network layer:
                                0x8847/0x8848 for IP guessed under MPLS; from
                                NULL/LOOP/raw links 0x0800 or 0x86DD by family
                                or version; values < 0x0600 are 802.3 lengths;
                                0 when none */
    uint8_t n_vlan;          /* tags found (may exceed SD_PARSE_MAX_VLAN;
                                stops counting at 255) */
    uint8_t n_mpls;          /* labels found (may exceed SD_PARSE_MAX_MPLS;
                                stops counting at 255) */
    uint16_t vlan[SD_PARSE_MAX_VLAN]; /* TCI of the outermost tags */
    uint32_t mpls[SD_PARSE_MAX_MPLS]; /* label stack entries, outermost first */

    uint16_t l3_off;         /* IPv4/IPv6 header (with SD_P_IP4/SD_P_IP6) */
    uint16_t l4_off;         /* first byte after the IP header and its
                                extension headers, where the transport header
                                starts (also for protocols not decoded, e.g.
                                4/41 tunnels or ESP); 0 for a later fragment
                                or when the IP headers were cut */
    uint16_t payload_off;    /* first byte after the TCP/UDP/ICMP/ICMPv6
                                header; = l4_off for protocols not decoded;
                                the fragment data of a later fragment; 0 when
                                that point was not reached. May equal caplen */
    uint16_t payload_len;    /* bytes the IP length claims from payload_off
                                on (may exceed caplen - payload_off) */

    uint8_t ip_version;      /* 4 or 6; 0 when no IP */
    uint8_t proto;           /* transport protocol after extension headers
                                (where an IPv6 chain was cut: the type of the
                                header that was cut) */
    uint8_t ttl;             /* TTL or hop limit */
    uint8_t tos;             /* TOS / traffic class */
    uint32_t ip_len;         /* IPv4 total length; IPv6 40 + payload length */
    uint16_t ip_hl;          /* IPv4 header length in bytes; IPv6 40 + the
                                extension headers walked */
    uint16_t ip_id;          /* IPv4 id; IPv6 fragment id (low 16 bits) */
    uint16_t frag_off;       /* fragment offset in bytes */
    uint8_t ip_flags;        /* IPv4: 0x4 reserved bit, 0x2 DF, 0x1 MF;
                                IPv6 fragment header: 0x1 MF */
    uint8_t pad0;            /* always 0 */
    uint32_t src4;           /* IPv4 source, host order */
    uint32_t dst4;           /* IPv4 destination, host order */
    uint32_t ip6_frag_id;    /* IPv6 fragment header identification */

    uint16_t sport;          /* TCP/UDP source port; ICMP/ICMPv6: type */
    uint16_t dport;          /* TCP/UDP destination port; ICMP/ICMPv6: code */
    uint8_t tcp_flags;       /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 URG 0x20 ECE 0x40 CWR 0x80 */
    uint8_t tcp_doff;        /* TCP header length in bytes */
    uint16_t tcp_win;
    uint32_t tcp_seq;
    uint32_t tcp_ack;
    uint16_t udp_len;        /* UDP length field, as read */
    uint8_t icmp_type;
    uint8_t icmp_code;
    uint16_t inner_off;      /* IP header quoted by an ICMP error (SD_P_ICMP_QUOTE) */
    uint16_t l2_len;         /* bytes of link-layer framing before the network
                                layer (incl. VLAN/MPLS/pseudowire); for a
                                non-IP EtherType, where its payload starts;
                                0 for raw IP or when the link layer was cut */

    uint8_t reserved[32];    /* always 0. WARNING: future fields go here */
} sd_parsed;

/* TCP flag bits for sd_parsed.tcp_flags. */
#define SD_TCP_FIN 0x01u
#define SD_TCP_SYN 0x02u
#define SD_TCP_RST 0x04u
#define SD_TCP_PSH 0x08u
#define SD_TCP_ACK 0x10u
#define SD_TCP_URG 0x20u
#define SD_TCP_ECE 0x40u
#define SD_TCP_CWR 0x80u

/* Parse pkt into *out (every field is written, see sd_parsed).
 * Link types: Ethernet (with 802.1Q/802.1ad/0x9100 tags and MPLS, including
 * Ethernet pseudowires), raw IPv4/IPv6, BSD NULL and LOOP, Linux SLL and
 * SLL2. Tunnels (IP-in-IP, GRE, Teredo) are not entered: the outer header
 * is reported with its protocol number.
 * Returns 0 when the headers were parsed to the transport layer or to the
 * last layer the packet has (a non-IP EtherType, an IP protocol that is not
 * decoded, a later fragment); SD_ERR_TRUNCATED (SD_P_TRUNCATED) or
 * SD_ERR_FORMAT (SD_P_MALFORMED) when parsing stopped early, with the fields
 * found so far set; SD_ERR_UNSUPPORTED (SD_P_UNKNOWN_LINK) for a link type
 * not listed above; SD_ERR_INVAL when pkt or out is NULL, or pkt->data is
 * NULL with caplen > 0 (out, if not NULL, is then zeroed).
 * Borrowed: pkt is only read during the call; offsets in out refer to
 * pkt->data, which the caller keeps valid as long as it uses them.
 * Thread: safe. Since: 0.1 */
SD_API int sd_parse(const sd_packet *pkt, sd_parsed *out);

/* Parse n packets: out[i] for pkts[i], the same as sd_parse() on each.
 * Returns n (per-packet problems are in out[i].flags), or SD_ERR_INVAL when
 * n > INT_MAX, pkts or out is NULL with n > 0, or some pkts[i] is NULL or
 * has NULL data with caplen > 0 (every other entry is still parsed and the
 * bad entries' out[i] are zeroed). Thread: safe. Since: 0.1 */
SD_API int sd_parse_bulk(const sd_packet *const *pkts, sd_parsed *out, size_t n);

/* Parse the IP packet at data[0..len) (raw IPv4 or IPv6 by the version
 * nibble, e.g. the header quoted inside an ICMP error at inner_off) into
 * *out, with offsets relative to data. The original length is not known, so
 * a quote shorter than its IP length is treated like a snaplen cut:
 * SD_P_PAYLOAD_SHORT is never set, and a transport header cut short gives
 * SD_ERR_TRUNCATED with sport/dport still filled when captured.
 * Returns as sd_parse() (a version nibble other than 4 or 6 is
 * SD_ERR_FORMAT; SD_ERR_INVAL when out is NULL or data is NULL with
 * len > 0). Thread: safe. Since: 0.1 */
SD_API int sd_parse_ip(const uint8_t *data, uint32_t len, sd_parsed *out);

#ifdef __cplusplus
}
#endif
#endif
