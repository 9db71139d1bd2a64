/* stardust: classic pcap writer.
 *
 * Records are assembled in a large buffer that goes out with one write(2)
 * when full (through zlib first for SD_PCAP_GZIP), so writing a packet is a
 * 16-byte header and a memcpy. The file is written little-endian, whatever
 * the host, under a temporary name that close() renames into place. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <stardust/pcap_writer.h>
#include "internal.h"

#define PW_BUF_SIZE (1024u * 1024u)
#define PW_ZBUF_SIZE (256u * 1024u)
#define PW_DEFAULT_SNAPLEN 262144u
/* zlib level 1: captures are written at line rate, and level 1 compresses
 * packet data nearly as well as the default at several times the speed. */
#define PW_GZIP_LEVEL 1

struct sd_pcap_writer {
    struct sd__handle h; /* must be first: sd_errmsg() */
    struct sd__output out;
    int gzip;
    int nsec;
    uint16_t linktype;
    uint32_t snaplen;
    char *path;    /* final name */
    uint8_t *buf;
    size_t len;
    z_stream zs;
    uint8_t *zbuf;
    int failed;    /* sticky SD_ERR_IO after a failed write */
};

/* All of b, or the handle's sticky SD_ERR_IO with the reason. */
static int write_all(struct sd_pcap_writer *w, const uint8_t *b, size_t n)
{
    int rc = sd__output_write_h(&w->out, &w->h, b, n);
    if (rc != 0)
        w->failed = rc;
    return rc;
}

/* Send n bytes to the output: directly, or through the gzip stream.
 * flush = Z_FINISH ends the gzip member. */
static int emit(struct sd_pcap_writer *w, const uint8_t *b, size_t n, int flush)
{
    if (!w->gzip)
        return write_all(w, b, n);
    w->zs.next_in = (Bytef *)(uintptr_t)b;
    w->zs.avail_in = (uInt)n;
    for (;;) {
        w->zs.next_out = w->zbuf;
        w->zs.avail_out = PW_ZBUF_SIZE;
        int zr = deflate(&w->zs, flush);
        if (zr == Z_STREAM_ERROR) {
            w->failed = SD_ERR_IO;
            return sd__seterr(&w->h, SD_ERR_IO, "%s: zlib deflate failed", w->path);
        }
        size_t out = PW_ZBUF_SIZE - w->zs.avail_out;
        if (out > 0 && write_all(w, w->zbuf, out) < 0)
            return SD_ERR_IO;
        if (flush == Z_FINISH ? zr == Z_STREAM_END : (w->zs.avail_in == 0 && w->zs.avail_out != 0))
            return 0;
    }
}

static int flush_buf(struct sd_pcap_writer *w)
{
    if (w->len == 0)
        return 0;
    int rc = emit(w, w->buf, w->len, Z_NO_FLUSH);
    w->len = 0;
    return rc;
}

static void writer_free(struct sd_pcap_writer *w)
{
    if (w->gzip)
        deflateEnd(&w->zs);
    sd__output_abort(&w->out);
    w->h.magic = 0;
    sd__free(w->zbuf);
    sd__free(w->buf);
    sd__free(w->path);
    sd__free(w);
}

int sd_pcap_writer_open(sd_pcap_writer **wp, const char *path, uint16_t linktype, uint32_t snaplen,
                        unsigned flags, char *errbuf)
{
    if (wp == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_pcap_writer_open: wp is NULL");
    *wp = NULL;
    if (path == NULL || path[0] == '\0')
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_pcap_writer_open: empty path");
    if ((flags & ~(SD_PCAP_NSEC | SD_PCAP_GZIP)) != 0)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: unknown flags 0x%x", path, flags);
    if (linktype == SD_LINK_UNKNOWN)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: cannot write packets of unknown link type", path);

    int rc;
    struct sd_pcap_writer *w = sd__calloc(1, sizeof *w);
    if (w == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
    sd__handle_init(&w->h);
    w->out.fd = -1;
    w->linktype = linktype;
    w->snaplen = snaplen == 0 ? PW_DEFAULT_SNAPLEN : snaplen;
    w->nsec = (flags & SD_PCAP_NSEC) != 0;
    w->path = sd__strdup(path);
    w->buf = sd__malloc(PW_BUF_SIZE);
    if (w->path == NULL || w->buf == NULL) {
        rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    if (flags & SD_PCAP_GZIP) {
        w->zbuf = sd__malloc(PW_ZBUF_SIZE);
        if (w->zbuf == NULL) {
            rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
            goto fail;
        }
        /* windowBits 15 + 16: a gzip header and trailer, as gzip(1) writes. */
        if (deflateInit2(&w->zs, PW_GZIP_LEVEL, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
            rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: zlib initialisation failed", path);
            goto fail;
        }
        w->gzip = 1;
    }
    rc = sd__output_open(&w->out, w->path, errbuf);
    if (rc < 0)
        goto fail;

    /* File header (pcap-savefile(5)): magic, version 2.4, thiszone 0,
     * sigfigs 0, snaplen, link type. */
    uint8_t *h = w->buf;
    sd__put_le32(h, w->nsec ? 0xa1b23c4du : 0xa1b2c3d4u);
    sd__put_le16(h + 4, 2);
    sd__put_le16(h + 6, 4);
    sd__put_le32(h + 8, 0);
    sd__put_le32(h + 12, 0);
    sd__put_le32(h + 16, w->snaplen);
    sd__put_le32(h + 20, linktype);
    w->len = 24;
    *wp = w;
    return 0;

fail:
    writer_free(w);
    return rc;
}

int sd_pcap_writer_write(sd_pcap_writer *w, const sd_packet *const *pkts, size_t n)
{
    if (w == NULL || (pkts == NULL && n > 0))
        return SD_ERR_INVAL;
    if (w->failed)
        return w->failed;
    if (n > 0x7fffffff)
        return sd__seterr(&w->h, SD_ERR_INVAL, "%s: batch of %zu packets is too large", w->path, n);
    /* Check the whole batch first, so a refused batch writes nothing. */
    for (size_t i = 0; i < n; i++) {
        if (SD__UNLIKELY(pkts[i] == NULL || pkts[i]->linktype != w->linktype ||
                         (pkts[i]->data == NULL && pkts[i]->caplen > 0))) {
            if (pkts[i] == NULL || (pkts[i]->data == NULL && pkts[i]->caplen > 0))
                return sd__seterr(&w->h, SD_ERR_INVAL, "%s: packet %zu of the batch has no data", w->path, i);
            return sd__seterr(&w->h, SD_ERR_INVAL, "%s: packet %zu has link type %u, the file has %u", w->path,
                              i, pkts[i]->linktype, w->linktype);
        }
    }
    const uint32_t frac_div = w->nsec ? 1u : 1000u;
    for (size_t i = 0; i < n; i++) {
        const sd_packet *p = pkts[i];
        uint32_t cap = p->caplen < w->snaplen ? p->caplen : w->snaplen;
        if (SD__UNLIKELY(PW_BUF_SIZE - w->len < 16 + (size_t)cap)) {
            if (flush_buf(w) < 0)
                return SD_ERR_IO;
        }
        uint8_t *r = w->buf + w->len;
        uint64_t sec = p->ts / 1000000000u;
        uint32_t frac = (uint32_t)(p->ts % 1000000000u) / frac_div;
        sd__put_le32(r, (uint32_t)sec);
        sd__put_le32(r + 4, frac);
        sd__put_le32(r + 8, cap);
        sd__put_le32(r + 12, p->wirelen);
        if (SD__LIKELY(16 + (size_t)cap <= PW_BUF_SIZE - w->len)) {
            memcpy(r + 16, p->data, cap);
            w->len += 16 + (size_t)cap;
        } else {
            /* Bigger than the whole buffer (huge snaplen): straight out. */
            w->len += 16;
            if (flush_buf(w) < 0 || emit(w, p->data, cap, Z_NO_FLUSH) < 0)
                return SD_ERR_IO;
        }
    }
    return (int)n;
}

int sd_pcap_writer_close(sd_pcap_writer *w, char *errbuf)
{
    if (w == NULL)
        return 0;
    int rc = w->failed;
    if (rc == 0)
        rc = flush_buf(w);
    if (rc == 0 && w->gzip)
        rc = emit(w, NULL, 0, Z_FINISH);
    if (rc == 0)
        rc = sd__output_commit(&w->out, w->h.errmsg, sizeof w->h.errmsg);
    if (rc < 0)
        sd__errbuf(errbuf, rc, "%s", w->h.errmsg);
    writer_free(w); /* removes the temporary file if it is still there */
    return rc;
}

void sd_pcap_writer_discard(sd_pcap_writer *w)
{
    if (w == NULL)
        return;
    writer_free(w);
}
