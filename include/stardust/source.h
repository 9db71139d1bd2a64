/* stardust: packet sources.
 *
 * A source delivers batches of packets from a trace file, a live interface
 * or (from the nDAG module) a multicast stream. The URI selects the backend:
 *
 *   /path/to/file, file.pcap.gz   format sniffed from the content: pcap,
 *                                 pcapng or ERF, plain or compressed (gzip,
 *                                 bzip2 or xz, through libwandio)
 *   pcapfile:PATH, pcap:PATH      pcap (libtrace spelling)
 *   pcapng:PATH                   pcapng
 *   erf:PATH                      ERF (native reader, extension headers,
 *                                 Ethernet pad)
 *   -                             standard input, format sniffed
 *   gen:KEY=VALUE,...             synthetic telescope traffic (gen.h)
 *   int:IFACE, pcapint:IFACE, dag:DEV, ring:IFACE, ...
 *                                 any other libtrace URI: Debian's libtrace 3
 *   ndag:IFACE,GROUP[,PORT]       nDAG multicast (ndag_recv.h): joins the
 *                                 beacon GROUP:PORT (default 9001) on
 *                                 IFACE at start, then every announced
 *                                 stream; IPv4 or IPv6 numeric group.
 *                                 Interface and group are checked at open.
 *                                 Detailed per-stream counters:
 *                                 sd_source_ndag()
 *
 * Lifecycle: sd_source_open() -> setters -> sd_source_start() (optional: the
 * first sd_source_read() starts the source) -> sd_source_read()... ->
 * sd_source_close(). Setters after start return SD_ERR_STATE.
 *
 * Thread safety: an sd_source belongs to one thread at a time. Different
 * sources may be used from different threads at once.
 */
#ifndef STARDUST_SOURCE_H
#define STARDUST_SOURCE_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>
#include <stardust/packet.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sd_source sd_source;

/* Open the source named by uri. Files are opened and their header checked
 * here, so a missing, unreadable or foreign file fails now; live sources are
 * created but start capturing only at sd_source_start().
 * On success *srcp is owned by the caller (free with sd_source_close()).
 * On failure *srcp is NULL, nothing is left allocated, and errbuf (if not
 * NULL, SD_ERRBUF_SIZE bytes) names the URI and what is wrong.
 * Returns 0, SD_ERR_NOTFOUND, SD_ERR_PERM, SD_ERR_IO, SD_ERR_FORMAT,
 * SD_ERR_TRUNCATED, SD_ERR_UNSUPPORTED (unknown scheme), SD_ERR_INVAL,
 * SD_ERR_NOMEM. Thread: safe. Since: 0.1 */
SD_API SD_NODISCARD int sd_source_open(sd_source **srcp, const char *uri, char *errbuf);

/* Keep only packets matching the BPF expression (pcap-filter(7)), compiled
 * by libpcap for each link type met. NULL or "" removes the filter.
 * Returns 0, SD_ERR_FILTER (sd_errmsg says why), SD_ERR_STATE after start.
 * Since: 0.1 */
SD_API SD_NODISCARD int sd_source_set_filter(sd_source *src, const char *expr);

/* Live sources: bytes captured per packet (default 65535), promiscuous
 * mode (default on), and how long sd_source_read() waits for the first
 * packet of a batch before returning 0 (default 100 ms; -1 waits forever).
 * File sources accept and ignore these. SD_ERR_STATE after start.
 * Since: 0.1 */
SD_API SD_NODISCARD int sd_source_set_snaplen(sd_source *src, uint32_t snaplen);
SD_API SD_NODISCARD int sd_source_set_promisc(sd_source *src, int on);
SD_API SD_NODISCARD int sd_source_set_timeout(sd_source *src, int timeout_ms);

/* Route diagnostics (warnings, skipped records) to fn; NULL silences them
 * (the default). Since: 0.1 */
SD_API void sd_source_set_log(sd_source *src, sd_log_fn fn, void *userdata);

/* Start capturing. Optional: the first read starts the source.
 * Returns 0, SD_ERR_STATE if already started, or the error that kept a
 * live source from starting (SD_ERR_PERM, SD_ERR_NOTFOUND, SD_ERR_IO).
 * Since: 0.1 */
SD_API SD_NODISCARD int sd_source_start(sd_source *src);

/* Read up to n packets into pkts[0..ret-1].
 * Returns the count (1..n), 0 when a live source had nothing before the read
 * timeout, SD_EOF when a file source is exhausted, or a negative sd_err when
 * the source failed (damaged file: the packets before the damage were all
 * delivered by earlier calls, and this call reports the damage; later calls
 * return the same error). Damaged or non-packet records that can be stepped
 * over are skipped and counted in sd_source_stats() instead.
 * Borrowed: the descriptors and the bytes they point to stay valid until the
 * next sd_source_read() or sd_source_close() on src. Copy what you keep.
 * No allocation or lock per packet. Since: 0.1 */
SD_API SD_NODISCARD int sd_source_read(sd_source *src, const sd_packet **pkts, size_t n);

/* Counters since open. The caller sets st->size = sizeof(*st) first, so the
 * struct can grow. Returns 0 or SD_ERR_INVAL. Readable at any time, from the
 * thread that owns src. Since: 0.1 */
typedef struct sd_source_stats {
    size_t size;         /* set by the caller: sizeof(sd_source_stats) */
    uint64_t packets;    /* delivered to the caller */
    uint64_t bytes;      /* captured bytes delivered */
    uint64_t wire_bytes; /* wire length of delivered packets */
    uint64_t filtered;   /* read but rejected by the filter */
    uint64_t skipped;    /* non-packet records skipped (ERF META, PAD, pcapng
                            blocks without packets) */
    uint64_t malformed;  /* damaged records skipped */
    uint64_t dropped;    /* lost before reaching us: kernel or capture-card
                            drops (ERF lctr, libtrace dropped counter) */
    /* WARNING: append only. */
} sd_source_stats;
SD_API int sd_source_get_stats(const sd_source *src, sd_source_stats *st);

/* The backend in use: "pcap", "pcapng", "erf", "libtrace", "ndag".
 * Borrowed: static storage. Since: 0.1 */
SD_API const char *sd_source_format(const sd_source *src);

/* The URI the source was opened with. Borrowed: valid until close.
 * Since: 0.1 */
SD_API const char *sd_source_uri(const sd_source *src);

/* The detail of the last failure on src is sd_errmsg(src) (err.h). */

/* Stop and free src (stops a live capture first). NULL is ignored.
 * Since: 0.1 */
SD_API void sd_source_close(sd_source *src);

#ifdef __cplusplus
}
#endif
#endif
