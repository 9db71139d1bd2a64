/* stardust: ERF file writer.
 *
 * Writes ERF records as DAG cards and libtrace write them: Ethernet packets
 * as type 2 (ETH) with the 2-byte pad, raw IPv4/IPv6 as types 22/23, rlen =
 * 16 + pad + caplen, wlen = wirelen, lctr 0, the interface in the flags'
 * low bits, no extension headers (so readers using a constant framing of 18
 * bytes still work). Optionally gzip-compressed. Output goes to a temporary
 * name and is renamed to PATH by sd_erf_writer_close(); "-" writes to
 * standard output; existing devices and FIFOs (/dev/null) are written in
 * place.
 *
 * Thread safety: one thread per writer.
 */
#ifndef STARDUST_ERF_WRITER_H
#define STARDUST_ERF_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>
#include <stardust/packet.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sd_erf_writer sd_erf_writer;

/* sd_erf_writer_open() flags. */
#define SD_ERF_GZIP 0x2u /* gzip-compress the output */

/* Create a writer. On success *wp is owned by the caller
 * (sd_erf_writer_close()). Returns 0, SD_ERR_INVAL, SD_ERR_IO, SD_ERR_PERM,
 * SD_ERR_NOTFOUND (no such directory), SD_ERR_NOMEM; errbuf (may be NULL)
 * says why. Thread: safe. Since: 0.1 */
SD_API SD_NODISCARD int sd_erf_writer_open(sd_erf_writer **wp, const char *path, unsigned flags,
                                           char *errbuf);

/* Append n packets. Link types other than Ethernet, raw IP, IPv4 and IPv6
 * have no ERF type: such a packet fails the call with SD_ERR_UNSUPPORTED
 * (sd_errmsg names it) after the packets before it were written.
 * Returns n or a negative sd_err. Buffered: no syscall per packet.
 * Since: 0.1 */
SD_API SD_NODISCARD int sd_erf_writer_write(sd_erf_writer *w, const sd_packet *const *pkts,
                                            size_t n);

/* Flush, close, rename to the final name and free w (also on failure).
 * Returns 0 or SD_ERR_IO with the reason in errbuf (may be NULL); on failure
 * the temporary file is removed. NULL w returns 0. Since: 0.1 */
SD_API int sd_erf_writer_close(sd_erf_writer *w, char *errbuf);

/* Close and remove the output without renaming. NULL is ignored.
 * Since: 0.1 */
SD_API void sd_erf_writer_discard(sd_erf_writer *w);

#ifdef __cplusplus
}
#endif
#endif
