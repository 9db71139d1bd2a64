/* stardust: buffered zero-copy record reader over libwandio or memory. */
#include "config.h"

#include <errno.h>
#include <string.h>

#include <wandio.h>

#include "internal.h"
#include "io_int.h"
#include "source_int.h"

int sd__io_init_wandio(struct sd__io *io, void *wio, size_t bufsize)
{
    memset(io, 0, sizeof *io);
    if (bufsize < 4096)
        bufsize = 4096;
    io->mem = sd__malloc(bufsize);
    if (io->mem == NULL) {
        wandio_destroy(wio);
        return SD_ERR_NOMEM;
    }
    io->wio = wio;
    io->data = io->mem;
    io->cap = bufsize;
    return 0;
}

void sd__io_init_buffer(struct sd__io *io, const uint8_t *data, size_t len)
{
    memset(io, 0, sizeof *io);
    io->data = data;
    io->end = data != NULL ? len : 0;
    io->eof = 1;
}

void sd__io_close(struct sd__io *io)
{
    if (io->wio != NULL)
        wandio_destroy(io->wio);
    sd__free(io->mem);
    memset(io, 0, sizeof *io);
}

int sd__io_fill(struct sd__io *io, size_t need)
{
    if (io->end - io->pos >= need)
        return 0;
    if (io->eof || io->wio == NULL)
        return SD_EOF;
    /* Compact: the unread tail moves to the front. This is the only place
     * that invalidates pointers handed out earlier. */
    if (io->pos > 0) {
        size_t left = io->end - io->pos;
        memmove(io->mem, io->mem + io->pos, left);
        io->base += io->pos;
        io->end = left;
        io->pos = 0;
    }
    if (need > io->cap) {
        size_t ncap = io->cap;
        while (ncap < need)
            ncap *= 2;
        uint8_t *nm = sd__realloc(io->mem, ncap);
        if (nm == NULL)
            return SD_ERR_NOMEM;
        io->mem = nm;
        io->data = nm;
        io->cap = ncap;
    }
    /* Read as much as fits, so one refill serves many records. */
    while (io->end < need) {
        errno = 0;
        off_t got = wandio_read(io->wio, io->mem + io->end, (off_t)(io->cap - io->end));
        if (got < 0) {
            if (errno == 0)
                errno = EIO;
            return SD_ERR_IO;
        }
        if (got == 0) {
            io->eof = 1;
            return SD_EOF;
        }
        io->end += (size_t)got;
    }
    return 0;
}

int sd__source_open_buffer(sd_source **srcp, const char *format, const char *name,
                           const uint8_t *data, size_t len, char *errbuf)
{
    if (srcp == NULL || format == NULL || name == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd__source_open_buffer: NULL argument");
    *srcp = NULL;
    int (*open_io)(struct sd_source *, const char *, struct sd__io *, char *) = NULL;
    if (strcmp(format, "erf") == 0)
        open_io = sd__source_erf_open_io;
    else if (strcmp(format, "pcapng") == 0)
        open_io = sd__source_pcapng_open_io;
    else
        return sd__errbuf(errbuf, SD_ERR_UNSUPPORTED, "%s: no buffer reader for format %s", name,
                          format);

    sd_source *src = sd__calloc(1, sizeof *src);
    if (src == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", name);
    sd__handle_init(&src->h);
    src->snaplen = 65535;
    src->promisc = 1;
    src->timeout_ms = 100;
    src->uri = sd__strdup(name);
    if (src->uri == NULL) {
        sd__free(src);
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", name);
    }
    src->path = src->uri;
    struct sd__io io;
    sd__io_init_buffer(&io, data, len);
    int rc = open_io(src, src->path, &io, errbuf);
    if (rc < 0) {
        sd__free(src->uri);
        sd__free(src);
        return rc;
    }
    *srcp = src;
    return 0;
}
