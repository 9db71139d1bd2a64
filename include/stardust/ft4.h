/* stardust: FT4, FT3 records folded into 5-minute aggregates
 * (flowtuple.md §2, stardust-flowtuple(5)).
 *
 * An sd_ft4 folds FT3 records (flowtuple.h) into FT4 records grouped by
 * (source, destination /16 or /24, port | ICMP type*256+code | protocol)
 * with packet sums, distinct counts and common-value lists. It takes FT3
 * records in time order, one batch at a time, and hands the FT4 records of
 * an interval to the caller's emit callback, 256 at a time, when that
 * interval closes.
 *
 * stardust's behaviour (flowtuple.md §2.6.5), where the reference converter
 * differs:
 *  - every interval starts at a multiple of the interval length;
 *  - dst_net keeps the real first octet (the converter writes 44);
 *  - first_syn_length / first_tcp_rwin come from the earliest FT3 record of
 *    the group whose tcp_flags is exactly 0x02 (earliest = smallest
 *    (time, ttl, tcp_flags, dst_ip, src_port, dst_port, ip_len), then the
 *    smaller (tcp_synlen, tcp_synwinlen)); 0/0 when there is none;
 *  - the geo and ASN tags come from the record with the largest
 *    packet_cnt, ties to the smallest key as above, then to the smallest
 *    tag bytes;
 *  - an FT3 record earlier than the current interval, or than any interval
 *    already closed (by a later record, sd_ft4_advance() or
 *    sd_ft4_flush()), is dropped and counted in sd_ft4_stats.early_*; it is
 *    never added to another interval;
 *  - common-value thresholds are exact: count * 100 >= r * packet_cnt with
 *    r = 100, 50, 33 or 20.
 * The result does not depend on the order of the records within an
 * interval, so folding an in-process FT3 table and folding the same
 * records read back from a file give identical FT4 records.
 *
 * Thread safety: one thread per sd_ft4. Separate handles share nothing.
 *
 * Since: 0.4
 */
#ifndef STARDUST_FT4_H
#define STARDUST_FT4_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>
#include <stardust/flowtuple.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Default FT4 interval (seconds) and destination prefix length. */
#define SD_FT4_DEFAULT_INTERVAL 300
#define SD_FT4_DEFAULT_PREFIX_LEN 16
/* Largest interval accepted, seconds (one day). */
#define SD_FT4_MAX_INTERVAL 86400

/* Options. Initialise with sd_ft4_config_init(), which sets size and every
 * default, then change fields. WARNING: append fields at the end only. */
typedef struct sd_ft4_config {
    size_t size;              /* sizeof(sd_ft4_config), set by _init() */
    uint32_t interval;        /* seconds, 1 .. SD_FT4_MAX_INTERVAL; default 300 */
    uint8_t dst_prefix_len;   /* 16 (default) or 24 */
    uint8_t version;          /* SD_FT4_V2 (default), SD_FT4_V1 or SD_FT4_V0: the
                                 fields that version lacks are written "??" / 0 */
    uint8_t pad0[2];
    size_t expected_groups;   /* sizing hint for the first interval; 0 = small.
                                 Tables grow as needed whatever the hint */
} sd_ft4_config;

/* Fill cfg with the defaults. Thread: reentrant. Since: 0.4 */
SD_API void sd_ft4_config_init(sd_ft4_config *cfg);

/* Receives the FT4 records of each closed interval that got at least one
 * FT3 record, in file order (ICMP, TCP, UDP, other; each ascending by
 * src_ip, dst_net, then dst_port or protocol), in one or more calls of up
 * to 256 records. info (flowtuple.h, as sd_flowtuple's callback gets it):
 * time = the interval start (every record's time), end = time + interval,
 * worker = -1, final = 1 on the interval's last call, packets = the
 * packet_cnt sum of recs. Borrowed: info and recs are valid during the
 * call only. Return 0, or a negative sd_err to fail the sd_ft4 call that
 * closed the interval (the rest of that interval is then not emitted).
 * The callback must not call into the same sd_ft4. */
typedef int (*sd_ft4_emit_fn)(void *userdata, const sd_ft_chunk_info *info,
                              const sd_ft4_record *recs, size_t n);

/* Opaque folder; a handle for sd_errmsg(). */
typedef struct sd_ft4 sd_ft4;

/* Create a folder with cfg (NULL: the defaults) that hands closed intervals
 * to emit(userdata, ...). *fp is owned by the caller (sd_ft4_destroy()).
 * Returns 0, SD_ERR_INVAL (NULL fp or emit, bad option; reason in errbuf,
 * which may be NULL) or SD_ERR_NOMEM; on failure *fp is NULL.
 * Thread: safe. Since: 0.4 */
SD_API SD_NODISCARD int sd_ft4_create(sd_ft4 **fp, const sd_ft4_config *cfg, sd_ft4_emit_fn emit,
                                      void *userdata, char *errbuf);

/* Fold n FT3 records. Records must come in time order across intervals
 * (any order within one): a record of a later interval first closes the
 * current one (emit is called), a record of an earlier one is dropped and
 * counted (sd_ft4_stats.early_records). Borrowed: recs is only read during
 * the call. No allocation except table growth. Returns 0, SD_ERR_INVAL
 * (NULL f, or recs with n > 0), SD_ERR_NOMEM (the records before the
 * failing one are folded, the rest are not: records_in + early_records of
 * sd_ft4_get_stats() went up by their number), SD_ERR_STATE (an earlier
 * emit failed), or the negative value emit returned. A failed emit loses
 * that interval and leaves f failed: every later call but destroy returns
 * SD_ERR_STATE; sd_errmsg(f) says which interval. Since: 0.4 */
SD_API SD_NODISCARD int sd_ft4_add(sd_ft4 *f, const sd_ft3_record *recs, size_t n);

/* Tell f that no record before time will come: the current interval is
 * closed (emit is called) if it ends at or before time, and later records
 * earlier than time's interval are dropped as early. For a producer that
 * knows time has moved on (the end of an FT3 interval) without a record to
 * show it: an sd_flowtuple output callback calls it with info->end after
 * adding an interval's final chunk. A time before the current interval
 * does nothing. Returns 0,
 * SD_ERR_INVAL, SD_ERR_STATE or emit's negative value. Since: 0.4 */
SD_API SD_NODISCARD int sd_ft4_advance(sd_ft4 *f, uint64_t time);

/* Close the current interval, if any (end of input): emit is called for it.
 * Records that come afterwards are early if they belong to that interval
 * or an earlier one. Returns as sd_ft4_advance(). Since: 0.4 */
SD_API SD_NODISCARD int sd_ft4_flush(sd_ft4 *f);

/* Counters since create. The caller sets st->size = sizeof(*st) first, so
 * the struct can grow. Returns 0 or SD_ERR_INVAL. Since: 0.4 */
typedef struct sd_ft4_stats {
    size_t size;              /* set by the caller: sizeof(sd_ft4_stats) */
    uint64_t records_in;      /* FT3 records folded */
    uint64_t packets_in;      /* their packet_cnt sum */
    uint64_t early_records;   /* FT3 records dropped: earlier than the current
                                 or an already closed interval */
    uint64_t early_packets;   /* their packet_cnt sum */
    uint64_t intervals;       /* intervals closed and emitted */
    uint64_t records_out;     /* FT4 records emitted */
    uint64_t open_groups;     /* FT4 groups of the interval being filled */
    /* WARNING: append only. */
} sd_ft4_stats;
SD_API int sd_ft4_get_stats(const sd_ft4 *f, sd_ft4_stats *st);

/* The options f runs with (defaults filled in), for example for a writer's
 * file metadata. cfg->size must be set. Returns 0 or SD_ERR_INVAL.
 * Since: 0.4 */
SD_API int sd_ft4_get_config(const sd_ft4 *f, sd_ft4_config *cfg);

/* Bytes of heap held by f (its tables keep their size between intervals).
 * Since: 0.4 */
SD_API size_t sd_ft4_memory(const sd_ft4 *f);

/* Free f without closing the current interval (call sd_ft4_flush() first
 * to keep it). NULL is ignored. Since: 0.4 */
SD_API void sd_ft4_destroy(sd_ft4 *f);

#ifdef __cplusplus
}
#endif
#endif
