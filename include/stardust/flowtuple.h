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

/* FT3 aggregation (flowtuple.md §1, §2.6).
 *
 * An sd_flowtuple counts IPv4 packets by the 8-tuple key (protocol, ttl,
 * tcp_flags, src_ip, dst_ip, src_port, dst_port, ip_len) per interval
 * (interval.h rules) over one or more workers. Each worker
 * (sd_flowtuple_worker) owns a preallocated open-addressing table with
 * full keys and is fed by exactly one thread: no lock and no allocation
 * per packet. When a worker closes an interval it hands its table to the
 * aggregator, which folds it into that interval's pending output (merged
 * mode: one table; interim mode: one per worker) and hands the records of
 * an interval to the caller's callback once every worker has passed it.
 *
 * Differences from upstream corsarotrace (each listed in sd_flowtuple(3)):
 *  - the first octet of dst_ip is in the key (§2.6.2; SD_FT_DST_OCTET_COMPAT
 *    restores upstream's key);
 *  - full-key comparison, never a hash alone (§2.6.3);
 *  - merged mode (default): one record per key and interval, summing
 *    packet_cnt, attributes from the earliest packet (§2.6.1);
 *  - 64-bit counters, no abort (§2.6.7);
 *  - tcp_flags/tcp_synlen/tcp_synwinlen are read only from a real IPv4
 *    header (version 4) with a captured 20-byte TCP header (upstream reads
 *    the "TCP header" of a header claiming version 5, §1.1).
 *
 * Memory bound (max_tuples): no table ever holds more than max_tuples
 * tuples. A worker table that fills up mid-interval is handed over early
 * (`spills`); a pending output that fills up is delivered early as a
 * non-final chunk (`early_flushes`). Packets are never dropped for lack of
 * room, but a key may then appear in more than one chunk of an interval
 * (like interim files; sum packet_cnt to combine them).
 *
 * Output: the records of an interval are handed to the callback in pieces
 * of at most 65536 records (in one sorted sequence when sorted), `final`
 * set on the last piece. Intervals are delivered oldest first.
 *
 * Thread safety: sd_flowtuple_create/destroy and sd_flowtuple_finish run in
 * one thread with no worker active. Each sd_flowtuple_worker is used by one
 * thread at a time; different workers may run concurrently. The callback
 * runs in the thread of the worker call that completed the interval (or in
 * sd_flowtuple_finish()), one call at a time under the aggregator's lock
 * (other workers block only if they close an interval meanwhile): it must
 * not call back into the aggregator. sd_flowtuple_get_stats() reads the
 * workers' counters without their lock: call it when no worker is active
 * (e.g. from the thread driving all workers, or after finish).
 *
 * Since: 0.4
 */

struct sd_packet;
struct sd_parsed;
struct sd_tags;
struct sd_tagger;

/* sd_flowtuple_config.flags */
#define SD_FT_INTERIM 0x1u        /* one output per worker, no merge (§1.6) */
#define SD_FT_UNSORTED 0x2u       /* records in table order, not §1.7 order */
#define SD_FT_ALIGN_FIRST 0x4u    /* first interval starts on a boundary (§2.6.4) */
#define SD_FT_DST_OCTET_COMPAT 0x8u /* upstream quirk §1.7: dst_ip's first
                                       octet not in the key (first packet's
                                       dst_ip kept) */
#define SD_FT_EMIT_EMPTY 0x10u    /* deliver an empty final chunk for an
                                     interval in which no worker saw a packet
                                     (between two non-empty ones) */

/* What one callback call carries. */
typedef struct sd_ft_chunk_info {
    uint64_t time;        /* interval start (= every record's time) */
    uint64_t end;         /* interval end (a boundary) */
    int worker;           /* interim mode: the worker; merged mode: -1 */
    int final;            /* 1: the last piece of this interval (for this
                             worker in interim mode); 0: more follows, or an
                             early chunk (max_tuples) or a late one
                             (`late_chunks`) */
    uint64_t packets;     /* sum of packet_cnt over the records */
} sd_ft_chunk_info;

/* Called with the records of (part of) one interval. recs is borrowed
 * until the callback returns. Return 0, or a negative sd_err to make the
 * worker call (or finish) that triggered it return that error. */
typedef int (*sd_ft_output_fn)(void *user, const sd_ft_chunk_info *info,
                               const sd_ft3_record *recs, size_t n);

typedef struct sd_flowtuple_config {
    size_t size;              /* sizeof, set by sd_flowtuple_config_init() */
    uint32_t interval;        /* seconds; default 60 */
    uint32_t workers;         /* 1..1024; default 1 */
    unsigned flags;           /* SD_FT_*; default 0 (merged, sorted) */
    uint64_t max_tuples;      /* per table; 0 = no bound (default) */
    uint64_t expected_tuples; /* initial table size hint; default 65536 */
    const struct sd_tagger *tagger; /* borrowed, frozen: tags packets that
                                 come without tags; NULL: a provider-less
                                 tagger of the aggregator's own (offline
                                 corsarotrace behaviour) */
    sd_ft_output_fn output;   /* required */
    void *user;
    /* WARNING: append fields here only (size-versioned, ABI). */
} sd_flowtuple_config;

typedef struct sd_flowtuple_stats {
    uint64_t packets;       /* packets given to the workers */
    uint64_t counted;       /* packets counted in a tuple */
    uint64_t not_ipv4;      /* ignored: not IPv4 or < 20 IP header bytes */
    uint64_t previnterval;  /* dropped: earlier than the worker's interval */
    uint64_t intervals;     /* intervals completed (final chunks, merged) */
    uint64_t empty_intervals; /* intervals skipped because empty */
    uint64_t records;       /* records handed to the callback */
    uint64_t spills;        /* worker tables handed over early (full) */
    uint64_t early_flushes; /* non-final chunks delivered (full output) */
    uint64_t late_chunks;   /* chunks for an interval already delivered */
    uint64_t forced;        /* intervals delivered before every worker had
                               passed them (a worker lagged 2 intervals) */
    uint64_t max_live;      /* most tuples held by one table */
    uint64_t memory;        /* bytes held by tables and buffers now */
    /* WARNING: append fields here only (ABI). */
} sd_flowtuple_stats;

typedef struct sd_flowtuple sd_flowtuple;
typedef struct sd_flowtuple_worker sd_flowtuple_worker;

/* Defaults as above. Since: 0.4 */
SD_API void sd_flowtuple_config_init(sd_flowtuple_config *cfg);

/* Create an aggregator and its cfg->workers workers (tables allocated
 * here). Returns 0, SD_ERR_INVAL (bad config; reason in errbuf,
 * SD_ERRBUF_SIZE bytes, may be NULL) or SD_ERR_NOMEM. Owned: free with
 * sd_flowtuple_destroy(). Since: 0.4 */
SD_API SD_NODISCARD int sd_flowtuple_create(sd_flowtuple **ftp, const sd_flowtuple_config *cfg,
                                            char *errbuf);

/* Worker i (0 .. workers-1); borrowed until destroy. NULL when out of
 * range. Since: 0.4 */
SD_API sd_flowtuple_worker *sd_flowtuple_worker_get(sd_flowtuple *ft, unsigned i);

/* Count n packets. parsed (sd_parse() results, may be NULL: parsed here)
 * and tags (may be NULL: pkts[i]->tags when set, else tagged here with the
 * config's tagger) are parallel to pkts. A NULL pkts[i] is skipped.
 * Crossing an interval end hands the table over and may run the callback.
 * Returns n, SD_ERR_INVAL, SD_ERR_STATE (after finish), SD_ERR_NOMEM
 * (folding a table; the packets are then still counted in the worker), or
 * the callback's error. Thread: one thread per worker. Since: 0.4 */
SD_API int sd_flowtuple_add(sd_flowtuple_worker *w, const struct sd_packet *const *pkts,
                            const struct sd_parsed *parsed, const struct sd_tags *tags, size_t n);

/* Tell worker w that its input has reached ts_ns without packets (an idle
 * stream): closes its interval when ts_ns is past its end, so the other
 * workers' output is not held back. Returns 0 or as sd_flowtuple_add().
 * Since: 0.4 */
SD_API int sd_flowtuple_tick(sd_flowtuple_worker *w, uint64_t ts_ns);

/* End of input: close every worker's last interval and deliver everything
 * pending. Call with no worker active. Returns 0 or an error as above.
 * Since: 0.4 */
SD_API SD_NODISCARD int sd_flowtuple_finish(sd_flowtuple *ft);

/* Counters (summed over workers). Since: 0.4 */
SD_API void sd_flowtuple_get_stats(const sd_flowtuple *ft, sd_flowtuple_stats *st);

/* Order two records as §1.7 sorts them (protocol, ttl, tcp_flags, src_ip,
 * dst_ip, src_port, dst_port, ip_len): <0, 0, >0. Thread: safe.
 * Since: 0.4 */
SD_API int sd_ft3_record_cmp(const sd_ft3_record *a, const sd_ft3_record *b);

/* NULL is accepted. Since: 0.4 */
SD_API void sd_flowtuple_destroy(sd_flowtuple *ft);

#ifdef __cplusplus
}
#endif

#endif
