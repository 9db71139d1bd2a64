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
#define SD_P_ETH 0x00000001u        /* Ethernet (or cooked/loopback) link header */
#define SD_P_VLAN 0x00000002u       /* at least one 802.1Q/802.1ad tag */
#define SD_P_MPLS 0x00000004u       /* at least one MPLS label */
#define SD_P_IP4 0x00000008u
#define SD_P_IP6 0x00000010u
#define SD_P_IP_OPTIONS 0x00000020u /* IPv4 header longer than 20 bytes */
#define SD_P_FRAG 0x00000040u       /* IPv4 or IPv6 fragment (any) */
#define SD_P_FRAG_LATER 0x00000080u /* fragment with offset > 0: no L4 header */
#define SD_P_TCP 0x00000100u
#define SD_P_UDP 0x00000200u
#define SD_P_ICMP 0x00000400u       /* ICMPv4 */
#define SD_P_ICMP6 0x00000800u
#define SD_P_ICMP_QUOTE 0x00001000u /* ICMP error quoting an IP header: see inner_off */
#define SD_P_TRUNCATED 0x00010000u  /* a header ends beyond caplen */
#define SD_P_MALFORMED 0x00020000u  /* a header field is impossible (e.g. IHL < 5) */
#define SD_P_UNKNOWN_LINK 0x00040000u /* link type not understood: nothing parsed */
#define SD_P_PAYLOAD_SHORT 0x00080000u /* IP length says more bytes than the frame
                                          carries (not counting snaplen cut) */

#define SD_PARSE_MAX_VLAN 4
#define SD_PARSE_MAX_MPLS 4

/* The result of one sd_parse() call. A plain value type: the caller owns it,
 * the library fills it and keeps no reference. Offsets count from
 * pkt->data; an offset of 0 for a layer whose flag is clear means absent.
 * IPv4 addresses are in host byte order; IPv6 addresses are read in place at
 * data + l3_off + 8 (source) and + 24 (destination).
 * WARNING: fields are appended only in the reserved tail (ABI). */
typedef struct sd_parsed {
    uint32_t flags;          /* SD_P_* */
    uint16_t ethertype;      /* last EtherType seen before the network layer */
    uint8_t n_vlan;          /* tags found (may exceed SD_PARSE_MAX_VLAN) */
    uint8_t n_mpls;          /* labels found (may exceed SD_PARSE_MAX_MPLS) */
    uint16_t vlan[SD_PARSE_MAX_VLAN]; /* TCI of the outermost tags */
    uint32_t mpls[SD_PARSE_MAX_MPLS]; /* label stack entries, outermost first */

    uint16_t l3_off;         /* IPv4/IPv6 header */
    uint16_t l4_off;         /* transport header (after IPv6 extension headers) */
    uint16_t payload_off;    /* first byte after the transport header */
    uint16_t payload_len;    /* payload bytes the IP length claims (may exceed caplen) */

    uint8_t ip_version;      /* 4 or 6; 0 when no IP */
    uint8_t proto;           /* transport protocol after extension headers */
    uint8_t ttl;             /* TTL or hop limit */
    uint8_t tos;             /* TOS / traffic class */
    uint16_t ip_len;         /* IPv4 total length; IPv6 40 + payload length */
    uint16_t ip_id;          /* IPv4 id; IPv6 fragment id (low 16 bits) */
    uint16_t frag_off;       /* fragment offset in bytes */
    uint8_t ip_hl;           /* IPv4 header length in bytes; IPv6 40 + extensions */
    uint8_t ip_flags;        /* IPv4: 0x2 DF, 0x1 MF; IPv6 fragment: 0x1 MF */
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
    uint16_t udp_len;
    uint8_t icmp_type;
    uint8_t icmp_code;
    uint16_t inner_off;      /* IP header quoted by an ICMP error (SD_P_ICMP_QUOTE) */
    uint16_t l2_len;         /* bytes of link-layer framing before l3 (incl. VLAN/MPLS) */

    uint8_t reserved[32];    /* WARNING: future fields go here */
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

/* Parse pkt into *out (every field is written).
 * Returns 0 when the headers were parsed to the transport layer or to the
 * last layer the packet has; SD_ERR_TRUNCATED or SD_ERR_FORMAT when parsing
 * stopped early (out->flags says where; fields found so far stay set);
 * SD_ERR_UNSUPPORTED for an unknown link type; SD_ERR_INVAL on NULL.
 * Thread: safe. Since: 0.1 */
SD_API int sd_parse(const sd_packet *pkt, sd_parsed *out);

/* Parse n packets: out[i] for pkts[i]. Returns n, or SD_ERR_INVAL.
 * Per-packet problems are in out[i].flags. Thread: safe. Since: 0.1 */
SD_API int sd_parse_bulk(const sd_packet *const *pkts, sd_parsed *out, size_t n);

/* Parse the IP packet at data[0..len) (raw IPv4 or IPv6, e.g. the header
 * quoted inside an ICMP error) into *out, with offsets relative to data.
 * Returns as sd_parse(). Thread: safe. Since: 0.1 */
SD_API int sd_parse_ip(const uint8_t *data, uint32_t len, sd_parsed *out);

#ifdef __cplusplus
}
#endif
#endif
