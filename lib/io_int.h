/* stardust: buffered record reader shared by the native file backends
 * (ERF, pcapng).
 *
 * Records are handed out as pointers straight into one large buffer (no
 * copy per record). The buffer is compacted and refilled only by
 * sd__io_fill(), so every pointer obtained since the last sd__io_fill()
 * stays valid until the next one: a backend calls sd__io_fill() only at the
 * start of a read call, before it has handed out any packet, and otherwise
 * ends the batch early. The buffer grows only when a single record is larger
 * than it.
 *
 * Three modes: over a libwandio reader ("-", pipes, gzip/bzip2/xz/lzo/lz4/
 * zstd files), over a plain descriptor (uncompressed regular files: read(2)
 * straight into the buffer, skipping libwandio's reader thread and its extra
 * copy, which made reading 2x slower than libpcap), or over a caller's memory
 * buffer (fuzzing, tests, datagrams) that is never copied. Not thread-safe:
 * one reader per source.
 */
#ifndef SD_IO_INT_H
#define SD_IO_INT_H

#include <stddef.h>
#include <stdint.h>

#include <stardust/source.h>

/* Default buffer size of the wandio mode. */
#define SD__IO_BUFSIZE (1u << 20)

struct sd__io {
    void *wio;             /* io_t *, owned; NULL in fd and buffer mode */
    int fd;                /* plain-file mode: owned descriptor, else -1 */
    uint8_t *mem;          /* owned buffer (wandio mode) */
    const uint8_t *data;   /* mem, or the caller's bytes in buffer mode */
    size_t cap;            /* bytes allocated at mem */
    size_t pos;            /* next unread byte at data */
    size_t end;            /* bytes valid at data */
    uint64_t base;         /* file offset of data[0] */
    int eof;               /* the underlying stream is exhausted */
};

/* Take a libwandio reader (io_t *) positioned at the first byte of the
 * stream. Returns 0 or SD_ERR_NOMEM; on failure wio is destroyed too. */
int sd__io_init_wandio(struct sd__io *io, void *wio, size_t bufsize);

/* Open path for reading: a plain descriptor when it is an uncompressed
 * regular file, else libwandio. wio (io_t *, may be NULL) is a wandio
 * reader already open on path (content sniffing); it is taken: used or
 * destroyed, also on failure. Returns 0 or a negative sd_err with errbuf
 * naming path. */
int sd__io_open(struct sd__io *io, const char *path, void *wio, char *errbuf);

/* Read from the caller's len bytes at data, which must stay valid and
 * unchanged until sd__io_close(). Cannot fail. */
void sd__io_init_buffer(struct sd__io *io, const uint8_t *data, size_t len);

/* Release the buffer and the wandio reader. Safe on a zeroed struct. */
void sd__io_close(struct sd__io *io);

/* Make at least `need` bytes available at sd__io_ptr(). When fewer are
 * buffered it compacts the buffer (invalidating every pointer into it),
 * grows it if need exceeds its size, and reads until need bytes are there
 * or the stream ends. Returns 0 when they are available, SD_EOF when the
 * stream ended first (sd__io_avail() says how many bytes remain), SD_ERR_IO
 * (errno preserved) or SD_ERR_NOMEM. */
int sd__io_fill(struct sd__io *io, size_t need);

static inline size_t sd__io_avail(const struct sd__io *io) { return io->end - io->pos; }
static inline const uint8_t *sd__io_ptr(const struct sd__io *io) { return io->data + io->pos; }
/* File offset of the byte at sd__io_ptr(): for error messages. */
static inline uint64_t sd__io_offset(const struct sd__io *io) { return io->base + io->pos; }
static inline void sd__io_consume(struct sd__io *io, size_t n) { io->pos += n; }

struct sd_source;
/* Backend entry points over an initialised reader, which they take (and
 * close on failure). `path` names the input in messages. */
int sd__source_erf_open_io(struct sd_source *src, const char *path, struct sd__io *io, char *errbuf);
int sd__source_pcapng_open_io(struct sd_source *src, const char *path, struct sd__io *io,
                              char *errbuf);

/* Open a source of the given native format ("erf" or "pcapng") over len
 * bytes at data (borrowed until sd_source_close()); `name` stands for the
 * path in messages and sd_source_uri(). For fuzzing and tests. Same returns
 * as sd_source_open(). */
int sd__source_open_buffer(sd_source **srcp, const char *format, const char *name,
                           const uint8_t *data, size_t len, char *errbuf);

#endif
