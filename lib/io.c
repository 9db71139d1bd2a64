/* stardust: buffered zero-copy record reader over libwandio or memory. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <wandio.h>

#include "internal.h"
#include "io_int.h"
#include "source_int.h"

static int init_buffered(struct sd__io *io, size_t bufsize)
{
    memset(io, 0, sizeof *io);
    io->fd = -1;
    if (bufsize < 4096)
        bufsize = 4096;
    io->mem = sd__malloc(bufsize);
    if (io->mem == NULL)
        return SD_ERR_NOMEM;
    io->data = io->mem;
    io->cap = bufsize;
    return 0;
}

int sd__io_init_wandio(struct sd__io *io, void *wio, size_t bufsize)
{
    if (init_buffered(io, bufsize) < 0) {
        wandio_destroy(wio);
        return SD_ERR_NOMEM;
    }
    io->wio = wio;
    return 0;
}

/* Magic numbers of the compressors libwandio (or a later one) reads. */
static int looks_compressed(const uint8_t *b, ssize_t n)
{
    static const struct {
        uint8_t len;
        uint8_t magic[6];
    } magics[] = {
        {2, {0x1f, 0x8b}},                         /* gzip */
        {3, {'B', 'Z', 'h'}},                      /* bzip2 */
        {6, {0xfd, '7', 'z', 'X', 'Z', 0x00}},     /* xz */
        {4, {0x89, 'L', 'Z', 'O'}},                /* lzop */
        {4, {0x04, 0x22, 0x4d, 0x18}},             /* lz4 */
        {4, {0x28, 0xb5, 0x2f, 0xfd}},             /* zstd */
    };
    for (size_t i = 0; i < sizeof magics / sizeof magics[0]; i++)
        if (n >= magics[i].len && memcmp(b, magics[i].magic, magics[i].len) == 0)
            return 1;
    return 0;
}

int sd__io_open(struct sd__io *io, const char *path, void *wio, char *errbuf)
{
    int rc;
    if (strcmp(path, "-") != 0) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        uint8_t head[8] = {0};
        int plain = fd >= 0 && fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
        if (plain)
            plain = !looks_compressed(head, pread(fd, head, sizeof head, 0));
        if (plain) {
            if (init_buffered(io, SD__IO_BUFSIZE) < 0) {
                close(fd);
                if (wio != NULL)
                    wandio_destroy(wio);
                return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
            }
            (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
            io->fd = fd;
            if (wio != NULL)
                wandio_destroy(wio);
            return 0;
        }
        if (fd >= 0)
            close(fd);
    }
    if (wio == NULL) {
        wio = sd__wandio_open(path, errbuf, &rc);
        if (wio == NULL)
            return rc;
    }
    if (sd__io_init_wandio(io, wio, SD__IO_BUFSIZE) < 0)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
    return 0;
}

void sd__io_init_buffer(struct sd__io *io, const uint8_t *data, size_t len)
{
    memset(io, 0, sizeof *io);
    io->fd = -1;
    io->data = data;
    io->end = data != NULL ? len : 0;
    io->eof = 1;
}

void sd__io_close(struct sd__io *io)
{
    if (io->wio != NULL)
        wandio_destroy(io->wio);
    if (io->fd >= 0)
        close(io->fd);
    sd__free(io->mem);
    memset(io, 0, sizeof *io);
    io->fd = -1;
}

int sd__io_fill(struct sd__io *io, size_t need)
{
    if (io->end - io->pos >= need)
        return 0;
    if (io->eof || (io->wio == NULL && io->fd < 0))
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
        off_t got;
        if (io->fd >= 0)
            got = read(io->fd, io->mem + io->end, io->cap - io->end);
        else
            got = wandio_read(io->wio, io->mem + io->end, (off_t)(io->cap - io->end));
        if (got < 0) {
            if (errno == EINTR)
                continue;
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

    sd_source *src = sd__source_new(name, errbuf);
    if (src == NULL)
        return SD_ERR_NOMEM;
    struct sd__io io;
    sd__io_init_buffer(&io, data, len);
    int rc = open_io(src, src->path, &io, errbuf);
    if (rc < 0) {
        sd__source_free(src);
        return rc;
    }
    *srcp = src;
    return 0;
}
