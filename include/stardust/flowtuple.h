/* stardust: flowtuples, the per-interval aggregates of telescope packets
 * (flowtuple.md). FT3 records count the packets of one 8-tuple key in one
 * interval; FT4 records fold FT3 records by (source, destination network,
 * port) with distinct counts and common-value lists.
 *
 * The record structs below are what the aggregators produce and what the
 * Avro writer and reader (avro.h) take and give: host byte order, IPv4
 * addresses as numbers (a.b.c.d = a<<24 | b<<16 | c<<8 | d), two-letter
 * codes as two ASCII bytes ("??" when unknown, never NUL).
 *
 * Since: 0.4
 */
#ifndef STARDUST_FLOWTUPLE_H
#define STARDUST_FLOWTUPLE_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* One FT3 record (schemas/flowtuple3.avsc, flowtuple.md §1.2-1.3), fields in
 * the schema's order. */
typedef struct sd_ft3_record {
    uint32_t time;              /* interval start, Unix seconds */
    uint32_t src_ip;
    uint32_t dst_ip;
    uint16_t src_port;          /* ICMP: type */
    uint16_t dst_port;          /* ICMP: code */
    uint8_t protocol;
    uint8_t ttl;
    uint8_t tcp_flags;          /* low 8 flag bits, NS dropped */
    uint8_t is_spoofed;         /* 0 or 1 */
    uint16_t ip_len;            /* IP total-length field */
    uint16_t tcp_synlen;        /* pure SYN only: data offset * 4 */
    uint16_t tcp_synwinlen;     /* pure SYN only: window */
    uint8_t is_masscan;         /* 0 or 1 */
    uint8_t pad0;
    uint64_t packet_cnt;
    char maxmind_continent[2];
    char maxmind_country[2];
    char netacq_continent[2];
    char netacq_country[2];
    uint32_t prefix2asn;        /* 0 when unknown */
    uint32_t pad1;
} sd_ft3_record;

/* The most values an FT4 common-value list can hold (flowtuple.md §2.3:
 * at most 1/ratio values pass the threshold, ratio >= 0.2). */
#define SD_FT4_MAX_COMMON 5

/* One common-value list of an FT4 record: values ascending, with the packet
 * count of each. */
typedef struct sd_ft4_common {
    uint32_t n;                         /* 0 .. SD_FT4_MAX_COMMON */
    uint32_t pad0;
    uint64_t value[SD_FT4_MAX_COMMON];
    uint64_t freq[SD_FT4_MAX_COMMON];
} sd_ft4_common;

/* FT4 schema versions (flowtuple.md §2, schemas/flowtuple4*.avsc). */
#define SD_FT4_V0 0 /* record "flowtuple3", no maxmind strings, no spoofed/masscan counts */
#define SD_FT4_V1 1 /* no spoofed/masscan counts */
#define SD_FT4_V2 2 /* current */

/* One FT4 record (schemas/flowtuple4.avsc, flowtuple.md §2.1-2.3), fields in
 * the schema's order. Fields a file's version lacks read as "??" / 0. */
typedef struct sd_ft4_record {
    uint32_t time;              /* FT4 interval start, Unix seconds */
    uint32_t src_ip;
    uint32_t dst_net;           /* destination network address (/16 or /24) */
    uint32_t dst_port;          /* TCP/UDP: port; ICMP: type*256 + code; else 0 */
    uint8_t protocol;
    uint8_t pad0[3];
    uint32_t uniq_dst_ips;
    uint64_t packet_cnt;
    uint32_t uniq_pkt_sizes;
    uint32_t uniq_ttls;
    uint32_t uniq_src_ports;
    uint32_t uniq_tcp_flags;
    uint32_t first_syn_length;
    uint32_t first_tcp_rwin;
    sd_ft4_common common_pktsizes;
    sd_ft4_common common_ttls;
    sd_ft4_common common_srcports;
    sd_ft4_common common_tcpflags;
    char maxmind_continent[2];
    char maxmind_country[2];
    char netacq_continent[2];
    char netacq_country[2];
    uint32_t prefix2asn;
    uint32_t pad1;
    uint64_t spoofed_packet_cnt;
    uint64_t masscan_packet_cnt;
} sd_ft4_record;

/* ---- aggregation API (flowtuple.c): added below this line ---- */

#ifdef __cplusplus
}
#endif

#endif
