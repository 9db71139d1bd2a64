/* stardust: pcap file writer.
 *
 * Writes classic pcap (microsecond or nanosecond timestamps), optionally
 * gzip-compressed. Output goes to PATH.tmp-<6 random characters> and is renamed to PATH by
 * sd_pcap_writer_close(), so a reader never sees a half-written file under
 * the final name; "-" writes to standard output;
 * existing devices and FIFOs (/dev/null) are written in place.
 *
 * Thread safety: one thread per writer.
 */
#ifndef STARDUST_PCAP_WRITER_H
#define STARDUST_PCAP_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>
#include <stardust/packet.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sd_pcap_writer sd_pcap_writer;

/* sd_pcap_writer_open() flags. */
#define SD_PCAP_NSEC 0x1u   /* nanosecond timestamps (magic 0xa1b23c4d) */
#define SD_PCAP_GZIP 0x2u   /* gzip-compress the output */

/* Create a writer for packets of one link type (enum sd_linktype) with the
 * given snaplen (0 means 262144). Packets of another link type are refused
 * by sd_pcap_writer_write() with SD_ERR_INVAL.
 * On success *wp is owned by the caller (sd_pcap_writer_close()).
 * Returns 0, SD_ERR_INVAL, SD_ERR_IO, SD_ERR_PERM, SD_ERR_NOTFOUND (no such
 * directory), SD_ERR_NOMEM; errbuf (may be NULL) says why.
 * Thread: safe. Since: 0.1 */
SD_API SD_NODISCARD int sd_pcap_writer_open(sd_pcap_writer **wp, const char *path,
                                            uint16_t linktype, uint32_t snaplen,
                                            unsigned flags, char *errbuf);

/* Append n packets. Captured bytes beyond snaplen are cut (caplen shrinks,
 * wirelen is kept). Returns n, or SD_ERR_IO / SD_ERR_INVAL (sd_errmsg says
 * which packet and why). Buffered: no syscall per packet. Since: 0.1 */
SD_API SD_NODISCARD int sd_pcap_writer_write(sd_pcap_writer *w, const sd_packet *const *pkts,
                                             size_t n);

/* Flush, close and rename the temporary file to its final name, and free w
 * (also on failure). Returns 0 or SD_ERR_IO, with the reason in errbuf (may
 * be NULL); on failure the temporary file is removed. NULL w returns 0.
 * Since: 0.1 */
SD_API int sd_pcap_writer_close(sd_pcap_writer *w, char *errbuf);

/* Close and remove the output without renaming (aborted run). NULL is
 * ignored. Since: 0.1 */
SD_API void sd_pcap_writer_discard(sd_pcap_writer *w);

#ifdef __cplusplus
}
#endif
#endif
