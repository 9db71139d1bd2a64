/* stardust: ERF file writer. Records are encoded into one large buffer that
 * is written (or deflated) when full, so a batch costs no syscall per
 * packet. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <zlib.h>

#include <stardust/erf_writer.h>
#include "erf_int.h"
#include "internal.h"

#define WRITER_BUFSIZE (1u << 20)

struct sd_erf_writer {
    struct sd__handle h; /* must be first: sd_errmsg() */
    struct sd__output out;
    int failed;          /* sticky SD_ERR_IO after a write error */
    unsigned flags;
    char *path;          /* final name */
    uint8_t *buf;
    size_t len;
    int z_ready;
    z_stream z;
    uint8_t *zout;
};

static int io_fail(sd_erf_writer *w, const char *what)
{
    int e = errno;
    w->failed = SD_ERR_IO;
    return sd__seterr(&w->h, SD_ERR_IO, "%s: %s: %s", w->path, what, strerror(e));
}

/* Deflate everything pending in z with the given flush mode. */
static int deflate_out(sd_erf_writer *w, int mode)
{
    for (;;) {
        w->z.next_out = w->zout;
        w->z.avail_out = WRITER_BUFSIZE;
        int zr = deflate(&w->z, mode);
        if (zr == Z_STREAM_ERROR) {
            w->failed = SD_ERR_IO;
            return sd__seterr(&w->h, SD_ERR_IO, "%s: gzip compression failed", w->path);
        }
        size_t out = WRITER_BUFSIZE - w->z.avail_out;
        if (out > 0 && sd__output_write(&w->out, w->zout, out) < 0)
            return io_fail(w, "write failed");
        if (mode == Z_FINISH ? zr == Z_STREAM_END : (w->z.avail_in == 0 && w->z.avail_out != 0))
            return 0;
    }
}

static int flush_buf(sd_erf_writer *w)
{
    if (w->len == 0)
        return 0;
    int rc;
    if (w->z_ready) {
        w->z.next_in = w->buf;
        w->z.avail_in = (uInt)w->len;
        rc = deflate_out(w, Z_NO_FLUSH);
    } else {
        rc = sd__output_write(&w->out, w->buf, w->len) < 0 ? io_fail(w, "write failed") : 0;
    }
    w->len = 0;
    return rc;
}

static void free_writer(sd_erf_writer *w)
{
    sd__output_abort(&w->out);
    if (w->z_ready)
        deflateEnd(&w->z);
    w->h.magic = 0;
    sd__free(w->zout);
    sd__free(w->buf);
    sd__free(w->path);
    sd__free(w);
}

int sd_erf_writer_open(sd_erf_writer **wp, const char *path, unsigned flags, char *errbuf)
{
    if (wp == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_erf_writer_open: wp is NULL");
    *wp = NULL;
    if (path == NULL || path[0] == '\0')
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_erf_writer_open: empty path");
    if (flags & ~SD_ERF_GZIP)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: unknown flags 0x%x", path, flags & ~SD_ERF_GZIP);
    sd_erf_writer *w = sd__calloc(1, sizeof *w);
    if (w == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
    sd__handle_init(&w->h);
    w->out.fd = -1;
    w->flags = flags;
    int rc = SD_ERR_NOMEM;
    w->path = sd__strdup(path);
    w->buf = sd__malloc(WRITER_BUFSIZE);
    if (w->path == NULL || w->buf == NULL)
        goto nomem;
    if (flags & SD_ERF_GZIP) {
        w->zout = sd__malloc(WRITER_BUFSIZE);
        if (w->zout == NULL)
            goto nomem;
        /* windowBits 15 + 16: a gzip wrapper rather than zlib's. */
        if (deflateInit2(&w->z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
            goto nomem;
        w->z_ready = 1;
    }
    rc = sd__output_open(&w->out, w->path, errbuf);
    if (rc < 0) {
        free_writer(w);
        return rc;
    }
    *wp = w;
    return 0;
nomem:
    free_writer(w);
    return sd__errbuf(errbuf, rc, "%s: out of memory", path);
}

int sd_erf_writer_write(sd_erf_writer *w, const sd_packet *const *pkts, size_t n)
{
    if (w == NULL || (pkts == NULL && n > 0))
        return SD_ERR_INVAL;
    if (w->failed)
        return w->failed;
    if (n > 0x7fffffff)
        n = 0x7fffffff;
    for (size_t i = 0; i < n; i++) {
        const sd_packet *p = pkts[i];
        int rlen = sd__erf_encode(w->buf + w->len, WRITER_BUFSIZE - w->len, p, 0);
        if (SD__UNLIKELY(rlen <= 0)) {
            if (rlen < 0)
                return sd__seterr(&w->h, SD_ERR_UNSUPPORTED,
                                  "%s: packet %zu of the batch has link type %u, which ERF cannot carry "
                                  "(only Ethernet, raw IP, IPv4, IPv6)",
                                  w->path, i, p->linktype);
            int rc = flush_buf(w);
            if (rc < 0)
                return rc;
            rlen = sd__erf_encode(w->buf, WRITER_BUFSIZE, p, 0);
        }
        w->len += (size_t)rlen;
    }
    return (int)n;
}

int sd_erf_writer_close(sd_erf_writer *w, char *errbuf)
{
    if (w == NULL)
        return 0;
    int rc = w->failed;
    if (rc == 0)
        rc = flush_buf(w);
    if (rc == 0 && w->z_ready) {
        w->z.next_in = NULL;
        w->z.avail_in = 0;
        rc = deflate_out(w, Z_FINISH);
    }
    if (rc == 0)
        rc = sd__output_commit(&w->out, w->h.errmsg, sizeof w->h.errmsg);
    if (rc < 0)
        sd__errbuf(errbuf, rc, "%s", w->h.errmsg);
    free_writer(w);
    return rc;
}

void sd_erf_writer_discard(sd_erf_writer *w)
{
    if (w == NULL)
        return;
    free_writer(w);
}
