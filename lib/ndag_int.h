/* stardust: incremental ENCAPERF datagram builder (spec/ndag.md 6, 6.1,
 * 13.1), shared by sd_ndag_encode_erf() and the nDAG sender. Pure functions
 * on caller memory: no allocation, no state of their own. */
#ifndef SD_NDAG_INT_H
#define SD_NDAG_INT_H

#include <stddef.h>
#include <stdint.h>

#include <stardust/ndag.h>
#include <stardust/ndag_send.h>
#include <stardust/packet.h>

/* One datagram being filled. buf holds cap bytes (cap <= 65535, >= 64);
 * records start at offset 24, the headers are written by finish. */
struct sd__ndag_dgram {
    uint8_t *buf;
    size_t cap;
    size_t len;     /* 24 + the records appended so far */
    unsigned count; /* records appended (never above 0x7fff) */
    uint8_t type;   /* SD_NDAG_ENCAPERF or SD_NDAG_CORSAROTAG */
};

/* sd__ndag_dgram_append() results. */
#define SD__NDAG_FULL 0     /* does not fit: finish this datagram, start the next */
#define SD__NDAG_APPENDED 1 /* record appended whole */
#define SD__NDAG_CUT 2      /* alone too big: appended cut to fill the datagram (6.1) */
#define SD__NDAG_SKIP 3     /* link type ERF cannot carry: nothing appended */

static inline void sd__ndag_dgram_start(struct sd__ndag_dgram *d, uint8_t *buf, size_t cap)
{
    d->buf = buf;
    d->cap = cap > 0xffff ? 0xffff : cap;
    d->len = SD_NDAG_ENCAP_LEN;
    d->count = 0;
    d->type = SD_NDAG_ENCAPERF;
}

/* Append p as one ERF record (sd__erf_encode(): type 2 with pad, 22/23 for
 * raw IP, lctr 0). Never returns SD__NDAG_FULL on an empty datagram. */
int sd__ndag_dgram_append(struct sd__ndag_dgram *d, const sd_packet *p);

/* Append p as one CORSAROTAG record (tags.md 3.2) for tagger_id with the
 * record seqno *seq (advanced, skipping 0); d->type must be
 * SD_NDAG_CORSAROTAG. Non-Ethernet and empty frames: SD__NDAG_SKIP. Needs
 * d->cap >= 128. Never returns SD__NDAG_FULL on an empty datagram. */
int sd__ndag_dgram_append_tagged(struct sd__ndag_dgram *d, const sd_packet *p, uint32_t tagger_id,
                                 uint64_t *seq);

/* Write the common and encapsulation headers (type d->type, recordcount =
 * d->count, flag clear) and return the datagram length. */
size_t sd__ndag_dgram_finish(struct sd__ndag_dgram *d, const sd_ndag_encap *h);

/* ---- receiver internals (lib/ndag.c) ---- */

/* sd_ndag_next() for callers inside the library (no PLT hop). */
int sd__ndag_next(sd_ndag_iter *it, sd_ndag_record *r);

/* Reference forms of sd_ndag_decode() and sd_ndag_next() without their
 * fast paths: every ERF record through sd__erf_decode(). Same results by
 * contract; the unit tests and the fuzz harness compare. */
int sd__ndag_decode_ref(sd_ndag_msg *m, const uint8_t *d, size_t len, unsigned flags, char *errbuf);
int sd__ndag_next_ref(sd_ndag_iter *it, sd_ndag_record *r);

/* ---- sender internals (lib/ndag_send.c), for unit tests ---- */

struct sd_ndag_sender;

/* Receives every datagram instead of a socket: stream -1 for beacons. */
typedef void (*sd__ndag_sink_fn)(void *userdata, int stream, const uint8_t *d, size_t len);

/* sd_ndag_send_open() without sockets: datagrams go to fn (the first beacon
 * included; fn must be thread-safe when with_timer is set). Without the
 * timer thread, sd__ndag_send_tick() drives the timers. */
int sd__ndag_send_open_sink(struct sd_ndag_sender **sp, const struct sd_ndag_send_opts *o,
                            sd__ndag_sink_fn fn, void *userdata, int with_timer, char *errbuf);

/* Set the seqno the next datagram of stream gets (tests of the wrap). */
void sd__ndag_send_set_seq(struct sd_ndag_sender *s, unsigned stream, uint32_t seq);

/* One pass of the timer thread at monotonic time now_ns: beacon when due,
 * flush datagrams older than flush_ms, keepalives on idle streams. */
void sd__ndag_send_tick(struct sd_ndag_sender *s, uint64_t now_ns);

/* Monotonic clock the sender uses, in ns. */
uint64_t sd__ndag_now_ns(void);

/* The stream the flow spread picks for p among n (symmetric flow hash). */
unsigned sd__ndag_flow_stream(const sd_packet *p, unsigned n);

#endif
