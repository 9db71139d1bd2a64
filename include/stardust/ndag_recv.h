/* stardust: nDAG multicast receiver (spec/ndag.md 11-12).
 *
 * Joins the beacon of GROUP:beacon_port on an interface, discovers the
 * streams the senders announce, joins each stream and delivers its ERF or
 * CORSAROTAG records as zero-copy sd_packet views, with the loss accounting
 * of ndag.md 12.2 and 12.4 per stream.
 *
 * Threads: sd_ndag_recv_open() starts one control thread that reads beacons
 * (waking at least every 100 ms), keys streams by (monitor ID, port),
 * assigns new streams round-robin to `threads` lanes (11.3), re-joins a
 * port that reappears and retires a stream silent for idle_timeout_ms. The
 * packets of a lane are read either by the caller's own thread
 * (sd_ndag_recv_read(), one thread per lane) or by threads the receiver
 * starts (sd_ndag_recv_run()). Order is kept within a stream only (11.4).
 *
 * Lifecycle: sd_ndag_recv_opts_init() -> set fields -> sd_ndag_recv_open()
 * -> sd_ndag_recv_read()... or sd_ndag_recv_run() -> sd_ndag_recv_stop()
 * (any thread, or a signal handler) -> sd_ndag_recv_close().
 *
 * Since: 0.2
 */
#ifndef STARDUST_NDAG_RECV_H
#define STARDUST_NDAG_RECV_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>
#include <stardust/ndag.h>
#include <stardust/packet.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sd_ndag_recv sd_ndag_recv;

#define SD_NDAG_DEFAULT_BEACON_PORT 9001 /* libtrace's default (14.1) */
#define SD_NDAG_RECV_MAX_READ 1024       /* most packets one read returns */

/* Options. Fill with sd_ndag_recv_opts_init(), then change fields. Strings
 * are borrowed for the duration of sd_ndag_recv_open() only. */
typedef struct sd_ndag_recv_opts {
    size_t size;              /* set by sd_ndag_recv_opts_init() */
    const char *iface;        /* interface name, e.g. "eth1" (required) */
    const char *group;        /* numeric IPv4 or IPv6 multicast group (required) */
    uint16_t beacon_port;     /* default 9001 */
    unsigned threads;         /* lanes, 1..64; default 1 */
    int rcvbuf;               /* socket receive buffer in bytes; default 16 MiB;
                                 0 leaves the system default */
    unsigned batch;           /* datagram buffers of 64 KiB per lane, filled by
                                 recvmmsg(); 1..1024, default 64 */
    unsigned max_streams;     /* streams remembered (joined or retired); further
                                 announced streams are ignored and counted;
                                 default 1024 */
    unsigned idle_timeout_ms; /* retire a stream after this long without data,
                                 keepalive or beacon mention (11.3); default
                                 60000; 0 never retires */
    sd_log_fn log;            /* info (stream added/removed) and warnings; NULL:
                                 silent. Called from the control thread and the
                                 reading threads, possibly at once. */
    void *log_userdata;
    /* WARNING: append only (ABI). */
} sd_ndag_recv_opts;

/* Fill o with the defaults above (iface and group NULL). Since: 0.2 */
SD_API void sd_ndag_recv_opts_init(sd_ndag_recv_opts *o);

/* Validate the options, open and join the beacon socket (ndag.md 12.5) and
 * start the control thread. On success *rp is owned by the caller (free
 * with sd_ndag_recv_close()). On failure *rp is NULL, nothing is left
 * allocated and errbuf (SD_ERRBUF_SIZE bytes, may be NULL) says why.
 * Returns 0, SD_ERR_INVAL (missing or bad option, group not multicast,
 * interface with multicast turned off),
 * SD_ERR_NOTFOUND (unknown interface), SD_ERR_PERM, SD_ERR_IO (socket,
 * bind or join failed), SD_ERR_NOMEM. Thread: safe. Since: 0.2 */
SD_API SD_NODISCARD int sd_ndag_recv_open(sd_ndag_recv **rp, const sd_ndag_recv_opts *opts,
                                          char *errbuf);

/* Read up to n (at most SD_NDAG_RECV_MAX_READ) packets of lane into
 * pkts[0..ret-1], waiting at most timeout_ms for the first (-1: until a
 * packet arrives or the receiver is stopped; 0: do not wait). Invalid,
 * foreign or truncated datagrams are skipped and counted, never returned.
 * Returns the count, 0 on timeout (or when a signal interrupted the wait),
 * SD_EOF once sd_ndag_recv_stop() was called, SD_ERR_INVAL (bad lane or
 * arguments) or SD_ERR_STATE (lane is being run by sd_ndag_recv_run()).
 * Packets of CORSAROTAG records carry their decoded tag block in
 * pkt->tags (sd_tags_decode(), tags.md 3.2); ERF packets have tags NULL.
 * Borrowed: descriptors, tags and packet bytes stay valid until the next read on
 * the same lane or sd_ndag_recv_close(). No allocation, lock or system
 * call per packet. Thread: one thread per lane; lanes are independent.
 * Since: 0.2 */
SD_API SD_NODISCARD int sd_ndag_recv_read(sd_ndag_recv *r, unsigned lane, const sd_packet **pkts,
                                          size_t n, int timeout_ms);

/* The nDAG record of pkts[i] of the last sd_ndag_recv_read() on lane (ERF
 * header fields, CORSAROTAG tag header, tagger ID and seqno), and through
 * stream (may be NULL) the index of the stream it came from, as used by
 * sd_ndag_recv_streams(). Returns NULL when i is out of range. Borrowed,
 * valid as the packet. Thread: the thread reading lane. Since: 0.2 */
SD_API const sd_ndag_record *sd_ndag_recv_record(const sd_ndag_recv *r, unsigned lane, size_t i,
                                                 unsigned *stream);

/* Called by sd_ndag_recv_run() with each batch of a lane. pkts are borrowed
 * until the callback returns. It may call sd_ndag_recv_stop() and
 * sd_ndag_recv_record() (for its own lane). */
typedef void (*sd_ndag_recv_cb)(void *user, unsigned lane, const sd_packet *const *pkts, size_t n);

/* Start one thread per lane calling cb, and wait for them: returns 0 after
 * sd_ndag_recv_stop() (from cb, another thread or a signal handler), or
 * SD_ERR_STATE (already running), SD_ERR_INVAL, SD_ERR_NOMEM, SD_ERR_IO
 * (thread creation failed; nothing was started). Runs once per receiver.
 * Thread: call from one thread; do not use sd_ndag_recv_read() meanwhile.
 * Since: 0.2 */
SD_API SD_NODISCARD int sd_ndag_recv_run(sd_ndag_recv *r, sd_ndag_recv_cb cb, void *user);

/* Ask every thread of r to stop: reads return SD_EOF, sd_ndag_recv_run()
 * returns, within about 100 ms. Idempotent. Async-signal-safe (an atomic
 * store and write() to eventfds). Thread: safe. Since: 0.2 */
SD_API void sd_ndag_recv_stop(sd_ndag_recv *r);

/* Stop, join the threads, leave the groups, close every socket and free r.
 * No read or run may be in progress. NULL is ignored. Since: 0.2 */
SD_API void sd_ndag_recv_close(sd_ndag_recv *r);

/* State of a stream. */
enum sd_ndag_stream_state {
    SD_NDAG_STREAM_JOINING = 0, /* announced, not yet joined by its lane */
    SD_NDAG_STREAM_ACTIVE = 1,  /* joined */
    SD_NDAG_STREAM_RETIRED = 2  /* left after idle_timeout_ms; re-joined if announced again */
};

/* Counters of one stream (ndag.md 12.2, 12.4, 10). Cumulative since the
 * stream was first announced, across re-joins. */
typedef struct sd_ndag_stream_stats {
    size_t size;               /* set by the caller: sizeof(sd_ndag_stream_stats) */
    char group[48];            /* the group, numeric */
    uint16_t port;
    uint16_t monitor_id;
    uint16_t stream_id;        /* from the last data datagram (informational, 6.3) */
    uint16_t lane;
    int state;                 /* enum sd_ndag_stream_state */
    uint64_t joins;            /* 1 + re-joins */
    uint64_t datagrams;        /* valid data datagrams (keepalives excluded) */
    uint64_t records;          /* packets delivered */
    uint64_t bytes;            /* UDP payload bytes of those datagrams */
    int64_t missing;           /* datagrams lost (12.2; may dip below 0 transiently) */
    uint64_t dropped;          /* capture-card drops: sum of lctr (12.4) */
    uint64_t truncated;        /* datagrams with the 0x8000 flag (6.1) */
    uint64_t restarts, resyncs, duplicates, reordered, late; /* 12.2 */
    uint64_t malformed;        /* invalid datagrams skipped (10) */
    uint64_t malformed_class[SD_NDAG_E_COUNT]; /* by enum sd_ndag_error */
    uint64_t foreign;          /* valid datagrams of another monitor on this port */
    uint64_t keepalives;
    uint64_t ts_zero;          /* delivered records with timestamp 0 (10) */
    uint64_t skipped;          /* ERF META/PAD records (no packet) */
    uint64_t idle_ms;          /* since the last datagram or beacon mention */
    /* CORSAROTAG streams (tags.md 3.4), counted per record as corsarotrace
     * does; 0 on ERF streams. Since: 0.3 */
    uint64_t tagged;           /* tagged records delivered */
    uint64_t tag_missing;      /* records lost by tagger seqno: a gap of k adds k,
                                  a backwards jump adds 1; reset by a new tagger_id */
    uint64_t tag_gaps;         /* loss instances (one per gap or jump) */
    uint64_t tagger_changes;   /* tagger_id changed (tagger restarted) */
    /* WARNING: append only (ABI). */
} sd_ndag_stream_stats;

/* Totals of a receiver: the stream counters summed, plus its own. */
typedef struct sd_ndag_recv_stats {
    size_t size;               /* set by the caller: sizeof(sd_ndag_recv_stats) */
    uint64_t streams;          /* known streams (any state) */
    uint64_t streams_active;
    uint64_t streams_refused;  /* announced beyond max_streams, or failed to join */
    uint64_t beacons;          /* valid beacons */
    uint64_t beacons_malformed;
    uint64_t sender_restarts;  /* new start tokens of a known monitor, on any of
                                  its streams (a restarted sender may use new ports) */
    int64_t rcvbuf;            /* receive buffer obtained per socket, bytes */
    uint64_t datagrams, records, bytes;
    int64_t missing;
    uint64_t dropped, truncated, restarts, resyncs, duplicates, reordered, late;
    uint64_t malformed;
    uint64_t malformed_class[SD_NDAG_E_COUNT];
    uint64_t foreign, keepalives, ts_zero, skipped;
    uint64_t tagged, tag_missing, tag_gaps, tagger_changes; /* Since: 0.3 */
    /* WARNING: append only (ABI). */
} sd_ndag_recv_stats;

/* Fill *st (st->size set by the caller; a smaller size gets a prefix).
 * Returns 0 or SD_ERR_INVAL. Counters are read with relaxed atomics: each
 * is exact, the set is not one snapshot. Thread: safe, any time.
 * Since: 0.2 */
SD_API int sd_ndag_recv_stats_get(const sd_ndag_recv *r, sd_ndag_recv_stats *st);

/* Fill arr[0..min(ret,cap)-1] (each arr[i].size set by the caller, or
 * arr[0].size for all) with the streams in discovery order; that order
 * never changes, so indexes stay valid. Returns the number of streams
 * (may exceed cap; call with cap 0 to count), or SD_ERR_INVAL.
 * Thread: safe, any time. Since: 0.2 */
SD_API int sd_ndag_recv_streams(const sd_ndag_recv *r, sd_ndag_stream_stats *arr, size_t cap);

/* Number of lanes. Since: 0.2 */
SD_API unsigned sd_ndag_recv_lanes(const sd_ndag_recv *r);

/* The receiver behind an ndag: source (sd_source_open("ndag:...")), for
 * the detailed stream statistics; NULL for other sources and before the
 * source has started (sd_source_start() or its first read). Borrowed:
 * valid until sd_source_close(). Use only the thread-safe calls on it
 * (stats, streams, stop, record for lane 0 from the reading thread).
 * Since: 0.2 */
struct sd_source;
SD_API sd_ndag_recv *sd_source_ndag(struct sd_source *src);

/* The state's name: "joining", "active", "retired", "unknown".
 * Since: 0.2 */
SD_API const char *sd_ndag_stream_state_name(int state);

#ifdef __cplusplus
}
#endif
#endif
