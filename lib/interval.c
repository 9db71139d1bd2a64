/* stardust: interval tracking (include/stardust/interval.h, flowtuple.md
 * §1.4, §2.6.4). Times are kept in ns so that the per-packet test is two
 * compares; boundaries are whole multiples of the length in seconds. */
#include "config.h"

#include <stdint.h>

#include <stardust/interval.h>

#include "internal.h"
#include "interval_int.h"

#define NS SD__NS

void sd__interval_init(struct sd_interval *iv, uint32_t length, unsigned flags)
{
    memset(iv, 0, sizeof *iv);
    iv->length = length;
    iv->flags = flags;
}

int sd_interval_create(sd_interval **ivp, uint32_t length, unsigned flags, char *errbuf)
{
    if (ivp == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "interval: NULL handle pointer");
    *ivp = NULL;
    if (length == 0 || length > SD__INTERVAL_MAX)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "interval: length %u s out of range 1..%u",
                          length, SD__INTERVAL_MAX);
    if (flags & ~SD_INTERVAL_ALIGN_FIRST)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "interval: unknown flags 0x%x", flags);
    sd_interval *iv = sd__malloc(sizeof *iv);
    if (iv == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "interval: out of memory");
    sd__interval_init(iv, length, flags);
    *ivp = iv;
    return 0;
}

uint64_t sd_interval_floor(uint64_t sec, uint32_t length)
{
    return length ? sec - sec % length : sec;
}

/* Make the interval holding ts current, with ts's packet counted. */
static void open_at(sd_interval *iv, uint64_t ts, int first)
{
    const uint64_t sec = ts / NS;
    const uint64_t b = sd_interval_floor(sec, iv->length);
    /* §1.4: a run's first interval starts at the first packet's whole
     * second, unless aligned on request (§2.6.4). */
    iv->start_ns = (first && !(iv->flags & SD_INTERVAL_ALIGN_FIRST) ? sec : b) * NS;
    iv->end_ns = (b + iv->length) * NS;
    iv->open = 1;
    iv->first = first;
    iv->packets = 1;
    iv->last_ts = ts;
    iv->first_ts = ts;
    iv->st.packets++;
}

int sd_interval_check(sd_interval *iv, uint64_t ts)
{
    if (iv == NULL)
        return SD_ERR_INVAL;
    if (!iv->open) {
        if (iv->started && ts < iv->floor_ns) {
            iv->st.previnterval++;
            return SD_INTERVAL_EARLY;
        }
        if (iv->started) /* after sd__interval_advance() */
            iv->st.skipped += (sd_interval_floor(ts / NS, iv->length) * NS - iv->floor_ns) /
                              ((uint64_t)iv->length * NS);
        open_at(iv, ts, !iv->started);
        iv->started = 1;
        return SD_INTERVAL_IN;
    }
    if (ts < iv->start_ns) {
        iv->st.previnterval++;
        return SD_INTERVAL_EARLY;
    }
    if (ts >= iv->end_ns)
        return SD_INTERVAL_CLOSE;
    iv->packets++;
    iv->st.packets++;
    if (ts > iv->last_ts)
        iv->last_ts = ts;
    return SD_INTERVAL_IN;
}

static void fill_span(const sd_interval *iv, sd_interval_span *out, int complete)
{
    out->start = iv->start_ns / NS;
    out->end = iv->end_ns / NS;
    out->packets = iv->packets;
    out->last_ts = iv->last_ts;
    out->first = iv->first;
    /* A run's first interval is complete only when its first packet sits
     * on the boundary: before it, nothing was being captured. */
    out->complete = complete && (!iv->first || (iv->first_ts / NS) % iv->length == 0);
}

int sd_interval_current(const sd_interval *iv, sd_interval_span *out)
{
    if (iv == NULL || out == NULL)
        return SD_ERR_INVAL;
    if (!iv->open)
        return SD_ERR_STATE;
    fill_span(iv, out, 0);
    return 0;
}

int sd_interval_open(sd_interval *iv, uint64_t ts, sd_interval_span *closed)
{
    if (iv == NULL)
        return SD_ERR_INVAL;
    if (!iv->open || ts < iv->end_ns)
        return SD_ERR_STATE;
    if (closed != NULL)
        fill_span(iv, closed, 1);
    const uint64_t gap = (ts / NS - iv->end_ns / NS) / iv->length;
    iv->st.closed++;
    iv->st.skipped += gap;
    iv->floor_ns = iv->end_ns;
    open_at(iv, ts, 0);
    return gap > INT32_MAX ? INT32_MAX : (int)gap;
}

int sd_interval_finish(sd_interval *iv, sd_interval_span *out)
{
    if (iv == NULL)
        return SD_ERR_INVAL;
    if (!iv->open)
        return 0;
    /* §1.4: at the end of offline input the last interval counts as
     * complete when its last packet is within 1 s of the boundary. */
    if (out != NULL)
        fill_span(iv, out, iv->last_ts + NS >= iv->end_ns);
    iv->open = 0;
    iv->started = 0;
    iv->floor_ns = 0;
    iv->st.closed++;
    return 1;
}

int sd__interval_advance(struct sd_interval *iv, uint64_t ts, sd_interval_span *closed)
{
    if (!iv->open || ts < iv->end_ns)
        return 0;
    fill_span(iv, closed, 1);
    iv->st.closed++;
    iv->st.skipped += (ts / NS - iv->end_ns / NS) / iv->length;
    iv->floor_ns = sd_interval_floor(ts / NS, iv->length) * NS;
    iv->open = 0;
    return 1;
}

void sd_interval_get_stats(const sd_interval *iv, sd_interval_stats *st)
{
    if (st == NULL)
        return;
    if (iv == NULL)
        memset(st, 0, sizeof *st);
    else
        *st = iv->st;
}

void sd_interval_destroy(sd_interval *iv)
{
    sd__free(iv);
}
