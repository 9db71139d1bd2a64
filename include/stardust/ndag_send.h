/* stardust: nDAG multicast sender (spec/ndag.md 11.2, 12.1, 13).
 *
 * Exports packets as ENCAPERF datagrams (or, with the tagged option, as
 * CORSAROTAG datagrams of tagged records, tags.md 3) over N streams to GROUP:port, with
 * beacons on GROUP:beacon_port, the way tracemcast and the DAG multicaster
 * do, following the recommended sender behaviour of ndag.md: ERF type 2
 * records (22/23 for raw IP) appended while they fit max_datagram, records
 * never split (an oversize one is cut, flag clear, 6.1), seqno from 1 per
 * stream skipping 0 (12.1), started = little-endian ms since 2017-11-01
 * (6.2), one sendmmsg() per batch of up to 64 datagrams, a partly filled
 * datagram flushed after flush_ms, 24-byte keepalives on idle streams (8,
 * 13.3), stream i on port first_port + i (13.4).
 *
 * Lifecycle: sd_ndag_send_opts_init() -> set fields -> sd_ndag_send_open()
 * (sockets made, timer thread started, first beacon sent) ->
 * sd_ndag_send() / sd_ndag_send_stream() ... -> sd_ndag_send_close().
 *
 * Thread safety: every stream has its own socket, buffers and mutex, taken
 * once per call (never per packet). sd_ndag_send(), sd_ndag_send_stream(),
 * sd_ndag_send_flush() and sd_ndag_send_get_stats() may run concurrently
 * from several threads on one sender; calls for different streams then never
 * wait for each other, which is the intended use: one thread per stream with
 * sd_ndag_send_stream(). The order of packets of two concurrent calls on the
 * same stream is unspecified. sd_ndag_send_close() must not run concurrently
 * with any other call on the sender. A library-owned timer thread sends
 * beacons, flushes and keepalives; it only ever try-locks a stream, so it
 * never stalls the data path. The log callback may be called from that
 * thread and from any caller's thread, possibly concurrently.
 *
 * Since: 0.2
 */
#ifndef STARDUST_NDAG_SEND_H
#define STARDUST_NDAG_SEND_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>
#include <stardust/packet.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sd_ndag_sender sd_ndag_sender;

/* sd_ndag_send_opts.spread: how sd_ndag_send() picks a stream. */
enum sd_ndag_spread {
    SD_NDAG_SPREAD_FLOW = 0, /* symmetric hash of addresses, protocol and ports
                                (addresses and protocol only for fragments), so
                                both directions of a flow share one stream */
    SD_NDAG_SPREAD_RR = 1    /* packet by packet round robin */
};

/* Sender options. Initialise with sd_ndag_send_opts_init(), which sets size
 * and every default, then change fields. Strings are borrowed for the
 * duration of sd_ndag_send_open() only. */
typedef struct sd_ndag_send_opts {
    size_t size;             /* sizeof(sd_ndag_send_opts), set by _init() */
    const char *group;       /* multicast group, numeric IPv4 or IPv6 (required) */
    uint16_t beacon_port;    /* default 9001 (14.1) */
    uint16_t first_port;     /* port of stream 0; 0 (default) = beacon_port + 1 */
    uint16_t monitor_id;     /* default 1 (13.5) */
    unsigned streams;        /* 1 (default) .. 4495 (one beacon in 9000 bytes) */
    unsigned max_datagram;   /* UDP payload limit: 536 .. 9000, default 8900 (13.1) */
    int ttl;                 /* multicast TTL / hop limit 0..255, default 1 */
    const char *iface;       /* egress interface name for IP(V6)_MULTICAST_IF, or NULL */
    const char *source;      /* local address to send from (IPv4: also selects the
                                interface), or NULL */
    unsigned beacon_ms;      /* beacon interval 100 .. 10000, default 1000 (11.2) */
    unsigned flush_ms;       /* send a partly filled datagram this long after its
                                first record: 1 .. 10000, default 100 (13.2) */
    unsigned keepalive_ms;   /* keepalive after this much idle time on a stream,
                                and again as long as it stays idle; 0 = never;
                                else 100 .. 600000, default 5000 (13.3) */
    int keepalive_short;     /* 1: the 8-byte DAG form instead of the 24-byte one
                                (breaks libtrace >= 4.0.23 receivers, 15) */
    size_t sndbuf;           /* SO_SNDBUF per socket, default 16 MiB */
    unsigned batch;          /* datagrams per sendmmsg(): 1 .. 64, default 64 */
    int spread;              /* enum sd_ndag_spread, default SD_NDAG_SPREAD_FLOW */
    sd_log_fn log;           /* warnings (MTU, socket buffer, send errors); NULL = silent */
    void *log_userdata;
    unsigned join_delay_ms;  /* time between the first beacon and the return of
                                sd_ndag_send_open(), so that receivers already
                                waiting can join the announced streams before
                                the first data datagram (11.3): datagrams sent
                                before a receiver joins are lost to it.
                                0 .. 10000, default 500 */
    int tagged;              /* 1: send tagged CORSAROTAG datagrams (message
                                type 6, tags.md 3) built by
                                sd_ndag_encode_tagged()'s rules instead of
                                ENCAPERF: Ethernet frames only (others are
                                skipped and counted), each with the tag block
                                of its sd_packet.tags (all zero when NULL,
                                counted as untagged) and a per-stream record
                                seqno from 1. Default 0 (Since: 0.3) */
    uint32_t tagger_id;      /* tagged mode: the tagger_id of every record;
                                0 (default) = a random non-zero value drawn
                                at open (sd_ndag_send_tagger_id()) (Since: 0.3) */
    /* WARNING: append new fields here only (ABI); _init() must set them. */
} sd_ndag_send_opts;

/* Fill *o with the defaults above (group NULL) and o->size. Thread: safe.
 * Since: 0.2 */
SD_API void sd_ndag_send_opts_init(sd_ndag_send_opts *o);

/* Validate o, open one UDP socket per stream plus one for beacons (TTL,
 * multicast interface, loopback on, SO_SNDBUF, connected to GROUP:port),
 * start the timer thread, send the first beacon and wait join_delay_ms. On success *sp is owned
 * by the caller (free with sd_ndag_send_close()). On failure *sp is NULL,
 * nothing is left allocated, and errbuf (SD_ERRBUF_SIZE bytes, may be NULL)
 * says which option or system call failed.
 * Returns 0, SD_ERR_INVAL (bad option: group not a numeric multicast
 * address, size out of range, ports past 65535, ...), SD_ERR_NOTFOUND
 * (unknown interface), SD_ERR_IO or SD_ERR_PERM (socket calls), SD_ERR_NOMEM.
 * Thread: safe. Since: 0.2 */
SD_API SD_NODISCARD int sd_ndag_send_open(sd_ndag_sender **sp, const sd_ndag_send_opts *o,
                                          char *errbuf);

/* Append pkts[0..n-1] to the streams chosen by o->spread (always stream 0
 * with one stream); each stream's packets keep their order. Full datagrams
 * are sent before the call returns; the last partly filled one waits for
 * more packets or flush_ms. Packets are copied: the caller may reuse them at
 * once (borrowed for the call only). Packets of a link type ERF cannot carry
 * are skipped and counted. Returns 0, or SD_ERR_IO when a socket failed
 * (sd_errmsg(s) says how; the datagrams are counted as lost and the sender
 * stays usable). Thread: see above. Since: 0.2 */
SD_API SD_NODISCARD int sd_ndag_send(sd_ndag_sender *s, const sd_packet *const *pkts, size_t n);

/* The same for one stream (0 .. streams-1), for callers that own a stream
 * per thread. SD_ERR_INVAL for a stream out of range. Since: 0.2 */
SD_API SD_NODISCARD int sd_ndag_send_stream(sd_ndag_sender *s, unsigned stream,
                                            const sd_packet *const *pkts, size_t n);

/* Send every partly filled and queued datagram now. Returns 0, or SD_ERR_IO
 * when a send failed since the last flush (also failures of the timer
 * thread). Since: 0.2 */
SD_API SD_NODISCARD int sd_ndag_send_flush(sd_ndag_sender *s);

/* Counters since open. */
typedef struct sd_ndag_send_stats {
    size_t size;          /* set by the caller: sizeof(sd_ndag_send_stats) */
    uint64_t packets;     /* packets accepted into datagrams */
    uint64_t records;     /* records in data datagrams sent */
    uint64_t datagrams;   /* data datagrams sent */
    uint64_t bytes;       /* UDP payload bytes of the data datagrams sent */
    uint64_t truncated;   /* records cut to fit max_datagram (6.1) */
    uint64_t skipped;     /* packets of a link type ERF cannot carry: not sent */
    uint64_t beacons;     /* beacons sent (sender total only) */
    uint64_t keepalives;  /* keepalives sent */
    uint64_t retries;     /* sends repeated after EAGAIN, ENOBUFS or EINTR */
    uint64_t send_errors; /* sends that failed for good */
    uint64_t lost;        /* data datagrams given up on after a failed send */
    uint64_t untagged;    /* tagged mode: packets sent with an all-zero tag
                             block because sd_packet.tags was NULL (Since: 0.3) */
    /* WARNING: append only. */
} sd_ndag_send_stats;

/* Counters of one stream (stream >= 0) or of the whole sender (stream -1).
 * The caller sets st->size first. Returns 0 or SD_ERR_INVAL. Any thread,
 * any time; a stream's counters are read under its mutex. Since: 0.2 */
SD_API int sd_ndag_send_get_stats(sd_ndag_sender *s, int stream, sd_ndag_send_stats *st);

/* The tagger_id written into every CORSAROTAG record (the configured or
 * the randomly drawn one), or 0 when s is NULL or not in tagged mode.
 * Thread: safe. Since: 0.3 */
SD_API uint32_t sd_ndag_send_tagger_id(const sd_ndag_sender *s);

/* The UDP port of stream i, or 0 when i is out of range. Since: 0.2 */
SD_API uint16_t sd_ndag_send_port(const sd_ndag_sender *s, unsigned stream);

/* Stop the timer thread, flush every stream, close the sockets and free s
 * (also when the final send fails). NULL is ignored (returns 0). Returns 0,
 * or SD_ERR_IO when a send failed since the last flush; the detail goes to
 * errbuf (SD_ERRBUF_SIZE bytes, may be NULL) since s is gone.
 * Since: 0.2 */
SD_API int sd_ndag_send_close(sd_ndag_sender *s, char *errbuf);

#ifdef __cplusplus
}
#endif
#endif
