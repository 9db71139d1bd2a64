/* stardust: time intervals for per-interval consumers (flowtuple, RSDOS,
 * report), flowtuple.md §1.4 and §2.6.4.
 *
 * An sd_interval follows the packet timestamps of ONE stream (one worker)
 * and says, per packet, whether it belongs to the current interval, is too
 * early (dropped and counted as `previnterval`), or crosses the end of the
 * current interval (the caller closes it, then moves on).
 *
 * Rules (flowtuple.md §1.4):
 *  - boundaries are multiples of `length` seconds in Unix time;
 *  - the first interval starts at the first packet's whole second and ends
 *    at the next boundary (SD_INTERVAL_ALIGN_FIRST: at the boundary below
 *    the first packet instead, §2.6.4);
 *  - a packet earlier than the current interval's start is dropped and
 *    counted (`previnterval`); it never reopens a closed interval;
 *  - a packet at or after the current end closes the current interval and
 *    opens the one holding the packet; the intervals in between, which had
 *    no packet, are skipped: they are counted (`skipped`), never opened,
 *    and produce nothing (upstream writes nothing for a thread without
 *    packets). Consumers that want an empty output for them can tell from
 *    the gap between two spans;
 *  - sd_interval_finish() closes the last, usually partial, interval.
 * A packet exactly on a boundary belongs to the interval that starts there.
 *
 * Completeness (for consumers that drop partial intervals, report.md): a
 * span is complete when it starts on a boundary and was closed by a later
 * packet, or at finish when its last packet is within 1 s of its end.
 *
 * Thread safety: one thread per sd_interval. No allocation after create.
 * Since: 0.4
 */
#ifndef STARDUST_INTERVAL_H
#define STARDUST_INTERVAL_H

#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* sd_interval_create() flags. */
#define SD_INTERVAL_ALIGN_FIRST 0x1u /* first interval starts on a boundary */

/* sd_interval_check() verdicts. */
#define SD_INTERVAL_IN 0    /* the packet belongs to the current interval */
#define SD_INTERVAL_EARLY 1 /* before the current start: drop it (counted) */
#define SD_INTERVAL_CLOSE 2 /* at/after the current end: close the current
                               interval, then call sd_interval_open() */

/* One interval, in Unix seconds: [start, end). A plain value. */
typedef struct sd_interval_span {
    uint64_t start;     /* first second (the first packet's, for the first
                           interval of a run without ALIGN_FIRST) */
    uint64_t end;       /* the boundary that ends it (a multiple of length) */
    uint64_t packets;   /* packets given SD_INTERVAL_IN in it */
    uint64_t last_ts;   /* timestamp (ns) of its latest packet */
    int complete;       /* see above */
    int first;          /* 1 for the first interval of the run */
    /* WARNING: append fields here only (ABI). */
} sd_interval_span;

typedef struct sd_interval_stats {
    uint64_t packets;      /* SD_INTERVAL_IN verdicts */
    uint64_t previnterval; /* SD_INTERVAL_EARLY verdicts */
    uint64_t closed;       /* intervals closed (by a packet or finish) */
    uint64_t skipped;      /* empty intervals jumped over */
} sd_interval_stats;

typedef struct sd_interval sd_interval;

/* Create a tracker with intervals of length seconds (1..86400*366).
 * Returns 0, SD_ERR_INVAL (bad length or flags, NULL ivp; reason in
 * errbuf, SD_ERRBUF_SIZE bytes, may be NULL) or SD_ERR_NOMEM. Owned:
 * free with sd_interval_destroy(). Since: 0.4 */
SD_API SD_NODISCARD int sd_interval_create(sd_interval **ivp, uint32_t length, unsigned flags,
                                           char *errbuf);

/* Where a packet with timestamp ts_ns (ns since the epoch) falls. The very
 * first call opens the first interval and returns SD_INTERVAL_IN. After
 * SD_INTERVAL_CLOSE nothing changed: the current span is still readable
 * with sd_interval_current(); sd_interval_open(iv, ts_ns) then moves on,
 * and the packet belongs to the new interval. Since: 0.4 */
SD_API int sd_interval_check(sd_interval *iv, uint64_t ts_ns);

/* Close the current interval and open the one holding ts_ns (which must
 * be at or after the current end; else SD_ERR_STATE), counting ts_ns's
 * packet in it. *closed (may be NULL) receives the closed span. Returns
 * the number of empty intervals skipped in between (>= 0). Since: 0.4 */
SD_API int sd_interval_open(sd_interval *iv, uint64_t ts_ns, sd_interval_span *closed);

/* The current (open) interval. Returns 0, or SD_ERR_STATE when none is
 * open (no packet yet, or finished). Since: 0.4 */
SD_API int sd_interval_current(const sd_interval *iv, sd_interval_span *out);

/* End of input: close the current interval into *out (may be NULL).
 * Returns 1 when an interval was closed, 0 when none was open. Later
 * packets start a new run (a new first interval). Since: 0.4 */
SD_API int sd_interval_finish(sd_interval *iv, sd_interval_span *out);

/* Counters since create. Since: 0.4 */
SD_API void sd_interval_get_stats(const sd_interval *iv, sd_interval_stats *st);

/* The boundary (multiple of length) at or below sec. Thread: safe.
 * Since: 0.4 */
SD_API uint64_t sd_interval_floor(uint64_t sec, uint32_t length);

/* NULL is accepted. Since: 0.4 */
SD_API void sd_interval_destroy(sd_interval *iv);

#ifdef __cplusplus
}
#endif
#endif
