/* stardust: the sd_interval struct, for modules that embed one (flowtuple)
 * and test its fast path inline. Never installed. */
#ifndef SD_INTERVAL_INT_H
#define SD_INTERVAL_INT_H

#include <stdint.h>
#include <stardust/interval.h>

/* Nanoseconds per second (timestamps are ns, intervals whole seconds). */
#define SD__NS 1000000000ull
/* Longest interval accepted: a leap year. Keeps end_ns far from overflow. */
#define SD__INTERVAL_MAX (86400u * 366u)

struct sd_interval {
    uint32_t length;      /* seconds */
    unsigned flags;       /* SD_INTERVAL_* */
    int open;             /* an interval is current */
    int started;          /* a run is going on (a packet was seen since
                             create or finish) */
    uint64_t floor_ns;    /* end of the last interval closed in this run */
    int first;            /* the current one is the first of the run */
    uint64_t start_ns;    /* current [start_ns, end_ns) */
    uint64_t end_ns;
    uint64_t packets;     /* in the current interval */
    uint64_t last_ts;
    uint64_t first_ts;    /* the packet that opened the current one */
    sd_interval_stats st;
};

void sd__interval_init(struct sd_interval *iv, uint32_t length, unsigned flags);

/* Close the current interval when ts is at or past its end, without
 * opening the next one (an idle stream's clock, sd_flowtuple_tick()); the
 * next packet opens the interval holding it, aligned (not a first one).
 * Returns 1 and fills *closed when an interval was closed, else 0. */
int sd__interval_advance(struct sd_interval *iv, uint64_t ts, sd_interval_span *closed);

/* sd_interval_check() without the call, for per-packet loops. */
static inline int sd__interval_check(struct sd_interval *iv, uint64_t ts)
{
    if (iv->open && ts >= iv->start_ns && ts < iv->end_ns) {
        iv->packets++;
        iv->st.packets++;
        if (ts > iv->last_ts)
            iv->last_ts = ts;
        return SD_INTERVAL_IN;
    }
    return sd_interval_check(iv, ts);
}

#endif
