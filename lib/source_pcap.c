/* stardust: pcap trace files through libpcap.
 *
 * A plain file is opened by libpcap itself (stdio underneath, with a large
 * buffer); compressed input and standard input arrive as a libwandio reader
 * from the front end and reach libpcap through a fopencookie() stream.
 * libpcap hands out each packet in a buffer it reuses on the next call, so
 * a batch is copied into an arena owned by the source: one memcpy per
 * packet, no allocation per packet. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <pcap/pcap.h>
#include <wandio.h>

#include "source_int.h"

/* Descriptors per source: a read returns at most this many packets. */
#define PCAP_BATCH_MAX 1024
/* Initial arena: a batch of 1024 packets of up to 1 KiB each. It grows
 * (at a batch boundary) when a batch had to stop early for lack of room,
 * and always holds at least one packet of the file's snaplen. */
#define PCAP_ARENA_MIN (1024u * 1024u)
#define PCAP_ARENA_MAX (64u * 1024u * 1024u)
/* stdio buffer for a plain file: fewer read(2) calls than the default
 * st_blksize (4 KiB on tmpfs). */
#define PCAP_STDIO_BUF (1024u * 1024u)
/* fopencookie() stream buffer over libwandio. */
#define PCAP_COOKIE_BUF (256u * 1024u)

struct pcap_src {
    pcap_t *pcap;
    FILE *fp;             /* stream given to libpcap (closed by pcap_close) */
    char *stdio_buf;      /* setvbuf() buffer of fp; freed after pcap_close */
    uint16_t linktype;
    uint8_t *arena;
    size_t arena_cap;
    size_t arena_want;    /* grow to this at the next batch boundary */
    /* A packet read by libpcap that did not fit into the arena: its bytes
     * stay valid in libpcap's buffer until the next pcap_next_ex(). */
    int held;
    struct pcap_pkthdr held_hdr;
    const u_char *held_data;
    uint64_t records;     /* records read so far (for error messages) */
    int eof;
    int err;              /* failure to report on the next read */
    char errmsg[SD__ERRMSG_SIZE];
    sd_packet desc[PCAP_BATCH_MAX];
};

/* pcap LINKTYPE_ value of a libpcap DLT_ value. They are equal except for
 * the few DLT_ values that differ between platforms (pcap-linktype(7)). */
static uint16_t dlt_to_linktype(int dlt)
{
    switch (dlt) {
    case DLT_RAW:
        return SD_LINK_RAW;
#ifdef DLT_LOOP
    case DLT_LOOP:
        return SD_LINK_LOOP;
#endif
    default:
        return (dlt >= 0 && dlt < 0xffff) ? (uint16_t)dlt : SD_LINK_UNKNOWN;
    }
}

static int is_pcap_magic(const uint8_t *b)
{
    uint32_t m = sd__be32(b);
    return m == 0xa1b2c3d4u || m == 0xd4c3b2a1u || m == 0xa1b23c4du || m == 0x4d3cb2a1u ||
           m == 0xa1b2cd34u || m == 0x34cdb2a1u;
}

/* 1 when path is a regular file starting with a pcap magic number, i.e.
 * neither compressed nor anything libpcap could not read by itself. */
static int plain_pcap_file(const char *path)
{
    /* stat() first: opening a FIFO could block, and reading it would eat
     * bytes nobody could read again. */
    struct stat sb;
    if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode))
        return 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0;
    uint8_t b[4];
    int ok = read(fd, b, 4) == 4 && is_pcap_magic(b);
    close(fd);
    return ok;
}

static ssize_t cookie_read(void *cookie, char *buf, size_t size)
{
    off_t n = wandio_read(cookie, buf, (off_t)size);
    if (n < 0) {
        errno = EIO;
        return -1;
    }
    return (ssize_t)n;
}

static int cookie_close(void *cookie)
{
    wandio_destroy(cookie);
    return 0;
}

static int map_pcap_error(const char *msg)
{
    if (strstr(msg, "truncated") != NULL)
        return SD_ERR_TRUNCATED;
    if (strstr(msg, "No such file") != NULL)
        return SD_ERR_NOTFOUND;
    if (strstr(msg, "Permission denied") != NULL)
        return SD_ERR_PERM;
    if (strstr(msg, "error reading") != NULL)
        return SD_ERR_IO;
    return SD_ERR_FORMAT;
}

static void pcap_src_free(struct pcap_src *ps)
{
    if (ps == NULL)
        return;
    if (ps->pcap != NULL)
        pcap_close(ps->pcap); /* also fcloses fp (and destroys a wandio reader) */
    else if (ps->fp != NULL)
        fclose(ps->fp);
    sd__free(ps->stdio_buf);
    sd__free(ps->arena);
    sd__free(ps);
}

/* Copy one packet into the arena at *used and describe it in d. */
static inline void take_packet(struct pcap_src *ps, sd_packet *d, const struct pcap_pkthdr *h,
                               const u_char *data, size_t *used)
{
    uint8_t *dst = ps->arena + *used;
    memcpy(dst, data, h->caplen);
    *used += h->caplen;
    /* PCAP_TSTAMP_PRECISION_NANO: tv_usec holds nanoseconds, exact for
     * both microsecond and nanosecond files. */
    d->ts = (uint64_t)h->ts.tv_sec * 1000000000u + (uint64_t)h->ts.tv_usec;
    d->data = dst;
    d->caplen = h->caplen;
    d->wirelen = h->len;
    d->linktype = ps->linktype;
    d->flags = 0;
    d->iface = 0;
    d->lctr = 0;
    d->tags = NULL;
}

static int pcap_read(struct sd_source *src, const sd_packet **pkts, size_t n)
{
    struct pcap_src *ps = src->impl;
    if (n > PCAP_BATCH_MAX)
        n = PCAP_BATCH_MAX;

    /* Batch boundary: the previous batch is released, so the arena may move. */
    if (ps->arena_want > ps->arena_cap) {
        uint8_t *a = sd__realloc(ps->arena, ps->arena_want);
        if (a != NULL) {
            ps->arena = a;
            ps->arena_cap = ps->arena_want;
        }
        ps->arena_want = 0;
    }

    size_t count = 0, used = 0;
    if (ps->held) {
        if (ps->held_hdr.caplen > ps->arena_cap)
            return sd__seterr(&src->h, SD_ERR_NOMEM, "%s: record %llu: out of memory for %u bytes",
                              src->path, (unsigned long long)ps->records, ps->held_hdr.caplen);
        ps->held = 0;
        take_packet(ps, &ps->desc[0], &ps->held_hdr, ps->held_data, &used);
        pkts[count++] = &ps->desc[0];
    }
    while (count < n && !ps->eof && ps->err == 0) {
        struct pcap_pkthdr *h;
        const u_char *data;
        int rc = pcap_next_ex(ps->pcap, &h, &data);
        if (SD__LIKELY(rc == 1)) {
            ps->records++;
            if (SD__UNLIKELY(h->caplen > ps->arena_cap - used)) {
                /* Deliver it first thing next time; grow the arena if this
                 * batch was cut short by its size. */
                ps->held = 1;
                ps->held_hdr = *h;
                ps->held_data = data;
                size_t want = ps->arena_cap * 2;
                while (want < h->caplen)
                    want *= 2;
                if (want <= PCAP_ARENA_MAX || h->caplen > ps->arena_cap)
                    ps->arena_want = want;
                break;
            }
            take_packet(ps, &ps->desc[count], h, data, &used);
            pkts[count] = &ps->desc[count];
            count++;
        } else if (rc == PCAP_ERROR_BREAK) {
            ps->eof = 1;
        } else {
            /* libpcap's message says what is wrong with the record. */
            const char *msg = rc == PCAP_ERROR ? pcap_geterr(ps->pcap) : "unexpected return from pcap_next_ex";
            ps->err = map_pcap_error(msg);
            snprintf(ps->errmsg, sizeof ps->errmsg, "%s: record %llu: %s", src->path,
                     (unsigned long long)ps->records + 1, msg);
        }
    }
    if (count > 0)
        return (int)count;
    if (ps->err != 0)
        return sd__seterr(&src->h, ps->err, "%s", ps->errmsg);
    return SD_EOF;
}

static void pcap_src_close(struct sd_source *src)
{
    pcap_src_free(src->impl);
    src->impl = NULL;
}

static const struct sd__source_ops pcap_ops = {
    .name = "pcap",
    .start = NULL,
    .read = pcap_read,
    .stats = NULL,
    .close = pcap_src_close,
};

int sd__source_pcap_open(struct sd_source *src, const char *path, void *io, char *errbuf)
{
    int rc;
    char pcap_err[PCAP_ERRBUF_SIZE];
    struct pcap_src *ps = sd__calloc(1, sizeof *ps);
    if (ps == NULL) {
        rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }

    if (strcmp(path, "-") != 0 && plain_pcap_file(path)) {
        /* Fastest path: libpcap reads the file through stdio itself. */
        if (io != NULL) {
            wandio_destroy(io);
            io = NULL;
        }
        ps->stdio_buf = sd__malloc(PCAP_STDIO_BUF);
        if (ps->stdio_buf == NULL) {
            rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        ps->fp = fopen(path, "rbe");
        if (ps->fp == NULL) {
            int e = errno;
            rc = sd__errbuf(errbuf, sd__errno_to_err(e), "%s: %s", path, strerror(e));
            goto fail;
        }
        setvbuf(ps->fp, ps->stdio_buf, _IOFBF, PCAP_STDIO_BUF);
    } else {
        /* Compressed, standard input, or not pcap at all: go through
         * libwandio, which also gives clear errors for missing files. */
        if (io == NULL) {
            io = sd__wandio_open(path, errbuf, &rc);
            if (io == NULL)
                goto fail;
        }
        uint8_t magic[4];
        off_t got = wandio_peek(io, magic, sizeof magic);
        if (got < 0) {
            rc = sd__errbuf(errbuf, SD_ERR_IO, "%s: read error", path);
            goto fail;
        }
        if (got < 4 || !is_pcap_magic(magic)) {
            if (got == 0)
                rc = sd__errbuf(errbuf, SD_ERR_FORMAT, "%s: empty file, not a pcap file", path);
            else
                rc = sd__errbuf(errbuf, SD_ERR_FORMAT, "%s: unknown file format (not a pcap file)", path);
            goto fail;
        }
        cookie_io_functions_t fns = {.read = cookie_read, .write = NULL, .seek = NULL, .close = cookie_close};
        ps->fp = fopencookie(io, "r", fns);
        if (ps->fp == NULL) {
            rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        io = NULL; /* the stream owns it now */
        setvbuf(ps->fp, NULL, _IOFBF, PCAP_COOKIE_BUF);
    }

    pcap_err[0] = '\0';
    ps->pcap = pcap_fopen_offline_with_tstamp_precision(ps->fp, PCAP_TSTAMP_PRECISION_NANO, pcap_err);
    if (ps->pcap == NULL) {
        rc = sd__errbuf(errbuf, map_pcap_error(pcap_err), "%s: %s", path, pcap_err);
        goto fail;
    }
    ps->linktype = dlt_to_linktype(pcap_datalink(ps->pcap));

    size_t snap = (size_t)(pcap_snapshot(ps->pcap) > 0 ? pcap_snapshot(ps->pcap) : 262144);
    ps->arena_cap = snap > PCAP_ARENA_MIN ? snap : PCAP_ARENA_MIN;
    ps->arena = sd__malloc(ps->arena_cap);
    if (ps->arena == NULL) {
        rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    src->ops = &pcap_ops;
    src->impl = ps;
    return 0;

fail:
    if (io != NULL)
        wandio_destroy(io);
    pcap_src_free(ps);
    return rc;
}
