/* stardust: corsaro built-in filter bits.
 *
 * sd_filterbits() evaluates every built-in filter of CAIDA's corsaro
 * (corsarotagger's tag `filterbits`, spec/tags.md 1.4 and 2) on one parsed
 * packet in one pass and returns them as a bit set: bit n (1 << n) is set
 * when filter id n matches. The ids, names and predicates are those of
 * corsaro 3.4.1, so a mask of SD_FB_* values means the same as in a
 * corsarotagger stream. Pure functions: no state, no allocation.
 *
 * IPv6: upstream evaluates IPv4 only (an IPv6 frame gets bits computed from
 * garbage, spec 2.3). stardust evaluates IPv6 with the closest meaning:
 *  - ids 9, 10 (last byte of the source 0/255) never match on IPv6;
 *  - id 15/2 (rfc5735): the source is in ::/128, ::1/128, ::ffff:0:0/96,
 *    100::/64, 2001:db8::/32, fc00::/7, fe80::/10, fec0::/10 or ff00::/8;
 *  - "ICMP" is ICMPv6 (58): id 4 allows {6, 17, 58, 41}; id 5 excludes
 *    ICMPv6; id 16 matches ICMPv6 types {1, 2, 3, 4, 129};
 *  - ttl is the hop limit; proto is the header after the extension chain;
 *  - id 8 (fragmented): a fragment header with a non-zero offset;
 *  - `iplen` in ids 17, 18, 20, 21, 26, 27 is the IPv4 total length the
 *    same transport segment would have: 20 + (IPv6 length - 40 - extension
 *    headers).
 *
 * Where stardust follows the spec's recommended behaviour instead of
 * upstream (each is listed in sd_filterbits(3)):
 *  D1 a frame without IPv4/IPv6 gets bit 28 (NOTIP); upstream emits bit 36
 *     for an L2-only frame (sd_filterbits_normalize() maps it back);
 *  D2 only EtherType 0x0800 (or a raw/loopback IPv4 link) is IPv4: ARP and
 *     other EtherTypes are NOTIP, not filters of garbage; an "IPv4" header
 *     with a version other than 4 is NOTIP too;
 *  D3 IPv6 is evaluated (above) instead of being NOTIP/garbage;
 *  D4 TCP flags need >= 14 captured transport bytes and the window >= 16
 *     (upstream reads past the capture); "TCP payload present" needs
 *     >= 20 bytes and doff*4 bytes;
 *  D5 BitTorrent patterns 3-5 need plen >= 10 (3), >= 2 (4), >= 32 (5)
 *     (upstream reads past the capture).
 *
 * Thread safety: every function is safe from any thread. Since: 0.3
 */
#ifndef STARDUST_FILTERBITS_H
#define STARDUST_FILTERBITS_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/export.h>
#include <stardust/packet.h>
#include <stardust/parse.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Filter ids (bit numbers), spec/tags.md 2. WARNING: on-wire values. */
enum sd_filter {
    SD_FILTER_SPOOFED = 0,
    SD_FILTER_ERRATIC = 1,
    SD_FILTER_ROUTED = 2,            /* source IS special (RFC 5735): name inverted upstream */
    SD_FILTER_LARGE_SCALE_SCAN = 3,
    SD_FILTER_ABNORMAL_PROTOCOL = 4,
    SD_FILTER_TTL_200 = 5,
    SD_FILTER_NO_TCP_OPTIONS = 6,
    SD_FILTER_TCPWIN_1024 = 7,
    SD_FILTER_FRAGMENT = 8,
    SD_FILTER_LAST_SRC_IP_0 = 9,
    SD_FILTER_LAST_SRC_IP_255 = 10,
    SD_FILTER_SAME_SRC_DEST_IP = 11,
    SD_FILTER_UDP_PORT_0 = 12,
    SD_FILTER_TCP_PORT_0 = 13,
    SD_FILTER_UDP_DESTPORT_80 = 14,
    SD_FILTER_RFC5735 = 15,
    SD_FILTER_BACKSCATTER = 16,
    SD_FILTER_BITTORRENT = 17,
    SD_FILTER_UDP_0X31 = 18,
    SD_FILTER_SIP_STATUS = 19,
    SD_FILTER_UDP_IPLEN_96 = 20,
    SD_FILTER_UDP_IPLEN_1500 = 21,
    SD_FILTER_PORT_53 = 22,
    SD_FILTER_TCP_PORT_23 = 23,
    SD_FILTER_TCP_PORT_80 = 24,
    SD_FILTER_TCP_PORT_5000 = 25,
    SD_FILTER_DNS_RESP_NONSTANDARD = 26,
    SD_FILTER_NETBIOS_QUERY_NAME = 27,
    SD_FILTER_NOTIP = 28,
    SD_FILTER_TTL_200_NONSPOOFED = 29
};

#define SD_FILTER_COUNT 30 /* ids 0..29 (CORSARO_FILTERID_MAX) */
#define SD_FB(id) (UINT64_C(1) << (id))
#define SD_FB_ALL (SD_FB(SD_FILTER_COUNT) - 1u)
/* Upstream's NOTIP as it appears on the wire (spec 1.4). */
#define SD_FB_NOTIP_UPSTREAM (UINT64_C(1) << 36)

/* The filter bits of one packet: p is sd_parse()'s result for pkt (pkt is
 * needed for the bytes and caplen). Returns a set of SD_FB() bits within
 * SD_FB_ALL; 0 when p or pkt is NULL. Never reads beyond pkt->caplen.
 * Borrowed: p and pkt are only read during the call. For many packets,
 * sd_filterbits_bulk() is about five times faster per packet.
 * Thread: safe. Since: 0.3 */
SD_API uint64_t sd_filterbits(const sd_parsed *p, const sd_packet *pkt);

/* out[i] = sd_filterbits(&p[i], pkts[i]) for i < n (a NULL pkts[i] gives
 * 0). Returns n, or SD_ERR_INVAL when n > INT_MAX or p, pkts or out is NULL
 * with n > 0. Thread: safe. Since: 0.3 */
SD_API int sd_filterbits_bulk(const sd_parsed *p, const sd_packet *const *pkts,
                              uint64_t *out, size_t n);

/* Filter bits read from an upstream tag block (host order): bit 36, which
 * upstream emits for NOTIP (spec 1.4), becomes bit 28; bits above 29 are
 * dropped. Thread: safe. Since: 0.3 */
SD_API uint64_t sd_filterbits_normalize(uint64_t wire);

/* The upstream label of filter id ("spoofed", "large-scale-scan", ...;
 * "notip" for 28, which has none upstream). Returns a static string, or
 * NULL when id is not 0..29. Thread: safe. Since: 0.3 */
SD_API const char *sd_filter_name(int id);

/* The id of the filter labelled name (exact, case-sensitive; "nonroutable"
 * is accepted for 2 and "fragment" for 8 as in the header bit names).
 * Returns 0..29, SD_ERR_NOTFOUND for an unknown name, SD_ERR_INVAL when
 * name is NULL. Thread: safe. Since: 0.3 */
SD_API int sd_filter_by_name(const char *name);

/* Parse a comma-separated list of filter names ("spoofed,erratic"; spaces
 * around names are skipped; "" gives 0; "all" means SD_FB_ALL) into *mask.
 * Returns 0, SD_ERR_NOTFOUND for an unknown name or SD_ERR_INVAL for an
 * empty item or NULL list/mask, with the reason in errbuf (SD_ERRBUF_SIZE
 * bytes, may be NULL); *mask is unchanged on failure. Thread: safe.
 * Since: 0.3 */
SD_API int sd_filter_parse_list(const char *list, uint64_t *mask, char *errbuf);

#ifdef __cplusplus
}
#endif
#endif
