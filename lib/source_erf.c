/* stardust: native ERF file reader (spec/ndag.md section 7 for the record
 * layout). Records are decoded in place in the sd__io buffer. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#include <wandio.h>

#include "erf_int.h"
#include "io_int.h"
#include "source_int.h"

/* Descriptors per batch: a read returns at most this many packets. */
#define ERF_BATCH 1024

struct erf_src {
    struct sd__io io;
    sd_packet desc[ERF_BATCH];
    uint64_t recno;   /* records consumed (the next one is recno + 1) */
    uint64_t skipped; /* META and PAD records */
    uint64_t dropped; /* sum of lctr outside the colour types */
    int pending;      /* damage found after packets were returned: report next */
};

/* Word a record that failed to decode; returns rc. */
static int record_error(struct sd_source *src, struct erf_src *e, int rc, const struct sd__erf_rec *r,
                        size_t avail)
{
    char why[200];
    if (rc == SD_ERR_TRUNCATED && r->bad == SD__ERF_BAD_SHORT_HEADER)
        snprintf(why, sizeof why, "file ends inside the record header (%zu of 16 bytes)", avail);
    else if (rc == SD_ERR_TRUNCATED)
        snprintf(why, sizeof why, "file ends inside the record (%zu of rlen %u bytes)", avail, r->rlen);
    else
        sd__erf_explain(r, avail, why, sizeof why);
    return sd__seterr(&src->h, rc, "%s: record %" PRIu64 " at offset %" PRIu64 ": %s", src->path,
                      e->recno + 1, sd__io_offset(&e->io), why);
}

static int io_error(struct sd_source *src, struct erf_src *e, int rc)
{
    if (rc == SD_ERR_NOMEM)
        return sd__seterr(&src->h, rc, "%s: out of memory", src->path);
    return sd__seterr(&src->h, rc, "%s: read error near offset %" PRIu64 ": %s", src->path,
                      sd__io_offset(&e->io), strerror(errno));
}

static int erf_read(struct sd_source *src, const sd_packet **pkts, size_t n)
{
    struct erf_src *e = src->impl;
    struct sd__io *io = &e->io;
    if (e->pending)
        return e->pending;
    if (n > ERF_BATCH)
        n = ERF_BATCH;
    size_t got = 0;
    while (got < n) {
        size_t avail = sd__io_avail(io);
        const uint8_t *p = sd__io_ptr(io);
        size_t need = SD__ERF_HDR_LEN;
        if (avail >= SD__ERF_HDR_LEN && sd__be16(p + 10) > need)
            need = sd__be16(p + 10);
        if (SD__UNLIKELY(avail < need)) {
            /* A refill moves the buffer: end the batch rather than
             * invalidate packets already in it. */
            if (got > 0)
                break;
            int rc = sd__io_fill(io, need);
            if (rc == SD_EOF && sd__io_avail(io) == 0)
                return SD_EOF;
            if (rc < 0 && rc != SD_EOF)
                return io_error(src, e, rc);
            avail = sd__io_avail(io);
            p = sd__io_ptr(io);
        }
        struct sd__erf_rec r;
        sd_packet *pkt = &e->desc[got];
        int rc = sd__erf_decode(p, avail, pkt, &r, 0);
        if (SD__LIKELY(rc == SD__ERF_PACKET)) {
            pkts[got++] = pkt;
        } else if (rc == SD__ERF_SKIP) {
            e->skipped++;
        } else {
            rc = record_error(src, e, rc, &r, avail);
            if (got == 0)
                return rc;
            e->pending = rc;
            break;
        }
        if (!r.colour)
            e->dropped += r.lctr;
        e->recno++;
        sd__io_consume(io, r.rlen);
    }
    return (int)got;
}

static void erf_stats(const struct sd_source *src, sd_source_stats *st)
{
    const struct erf_src *e = src->impl;
    st->skipped += e->skipped;
    st->dropped += e->dropped;
}

static void erf_close(struct sd_source *src)
{
    struct erf_src *e = src->impl;
    if (e == NULL)
        return;
    sd__io_close(&e->io);
    sd__free(e);
    src->impl = NULL;
}

static const struct sd__source_ops erf_ops = {
    .name = "erf",
    .start = NULL,
    .read = erf_read,
    .stats = erf_stats,
    .close = erf_close,
};

int sd__source_erf_open_io(struct sd_source *src, const char *path, struct sd__io *io, char *errbuf)
{
    struct erf_src *e = sd__calloc(1, sizeof *e);
    if (e == NULL) {
        sd__io_close(io);
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
    }
    e->io = *io;
    memset(io, 0, sizeof *io);

    /* ERF has no file header: check that the first record decodes, so a
     * foreign file named with erf: fails here. An empty file is an empty
     * trace; a short one is reported as truncated by the first read. */
    int rc = sd__io_fill(&e->io, SD__ERF_HDR_LEN);
    if (rc == 0) {
        size_t rlen = sd__be16(sd__io_ptr(&e->io) + 10);
        rc = sd__io_fill(&e->io, rlen > SD__ERF_HDR_LEN ? rlen : SD__ERF_HDR_LEN);
    }
    if (rc < 0 && rc != SD_EOF) {
        int e_no = errno;
        sd__io_close(&e->io);
        sd__free(e);
        if (rc == SD_ERR_NOMEM)
            return sd__errbuf(errbuf, rc, "%s: out of memory", path);
        return sd__errbuf(errbuf, rc, "%s: read error: %s", path, strerror(e_no));
    }
    sd_packet pkt;
    struct sd__erf_rec r;
    size_t avail = sd__io_avail(&e->io);
    if (avail > 0) {
        rc = sd__erf_decode(sd__io_ptr(&e->io), avail, &pkt, &r, 0);
        if (rc == SD_ERR_FORMAT) {
            char why[200];
            sd__erf_explain(&r, avail, why, sizeof why);
            sd__io_close(&e->io);
            sd__free(e);
            return sd__errbuf(errbuf, rc, "%s: record 1 at offset 0: %s (not an ERF file?)", path, why);
        }
    }
    src->ops = &erf_ops;
    src->impl = e;
    return 0;
}

int sd__source_erf_open(struct sd_source *src, const char *path, void *wio, char *errbuf)
{
    struct sd__io io;
    int rc = sd__io_open(&io, path, wio, errbuf);
    if (rc < 0)
        return rc;
    return sd__source_erf_open_io(src, path, &io, errbuf);
}
