/* stardust: native pcapng reader (draft-ietf-opsawg-pcapng). Unlike
 * libpcap it accepts interfaces of different link types in one file and
 * several sections, each with its own byte order. Blocks are decoded in
 * place in the sd__io buffer. */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <wandio.h>

#include "io_int.h"
#include "source_int.h"

#define PCAPNG_BATCH 1024
/* Larger blocks are damage, not data (libpcap has the same limit). */
#define PCAPNG_MAX_BLOCK (16u << 20)
#define PCAPNG_MAX_IFACES 65536u

#define BT_SHB 0x0A0D0D0Au
#define BT_IDB 0x00000001u
#define BT_OPB 0x00000002u /* obsolete Packet Block */
#define BT_SPB 0x00000003u
#define BT_EPB 0x00000006u
#define BOM 0x1A2B3C4Du

#define OPT_ENDOFOPT 0
#define OPT_IF_TSRESOL 9
#define OPT_IF_TSOFFSET 14

struct pcapng_if {
    uint16_t linktype;
    uint32_t snaplen;  /* 0: no limit */
    uint8_t pow2;      /* if_tsresol is 2^-exp rather than 10^-exp */
    uint8_t exp;
    uint64_t scale;    /* power of ten: multiply (exp <= 9) or divide by this */
    uint64_t offset_ns;/* if_tsoffset, as nanoseconds (two's complement) */
};

struct pcapng_src {
    struct sd__io io;
    int be;                 /* byte order of the current section */
    struct pcapng_if *ifs;  /* interfaces of the current section */
    uint32_t n_ifs, cap_ifs;
    uint32_t if_base;       /* interfaces of earlier sections: packets carry
                               file-wide interface numbers, as in Wireshark */
    uint64_t blockno;       /* blocks consumed (the next one is blockno + 1) */
    uint64_t skipped;       /* blocks without packets other than SHB/IDB */
    uint64_t dropped;       /* drops_count of obsolete packet blocks */
    uint64_t last_ts;       /* for simple packet blocks, which have none */
    int pending;
    sd_packet desc[PCAPNG_BATCH];
};

static inline uint32_t rd32(const struct pcapng_src *s, const uint8_t *p)
{
    return s->be ? sd__be32(p) : sd__le32(p);
}
static inline uint16_t rd16(const struct pcapng_src *s, const uint8_t *p)
{
    return s->be ? sd__be16(p) : sd__le16(p);
}

/* Timestamp units of an interface -> nanoseconds since the epoch. */
static inline uint64_t ts_to_ns(const struct pcapng_if *ifc, uint64_t ts)
{
    uint64_t ns;
    if (SD__LIKELY(!ifc->pow2)) {
        ns = ifc->exp <= 9 ? ts * ifc->scale : ts / ifc->scale;
    } else {
        unsigned e = ifc->exp;
        uint64_t frac = e ? ts & ((UINT64_C(1) << e) - 1) : 0;
        uint64_t sec = e ? ts >> e : ts;
        if (e > 32) { /* keep frac * 1e9 within 64 bits */
            frac >>= e - 32;
            e = 32;
        }
        ns = sec * 1000000000u + ((frac * 1000000000u) >> e);
    }
    return ns + ifc->offset_ns;
}

/* A problem with the block at the read position. */
static int block_error(struct sd_source *src, struct pcapng_src *s, int rc, const char *fmt, ...)
    SD_PRINTF(4, 5);
static int block_error(struct sd_source *src, struct pcapng_src *s, int rc, const char *fmt, ...)
{
    char why[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return sd__seterr(&src->h, rc, "%s: block %" PRIu64 " at offset %" PRIu64 ": %s", src->path,
                      s->blockno + 1, sd__io_offset(&s->io), why);
}

static int parse_shb(struct sd_source *src, struct pcapng_src *s, const uint8_t *b, uint32_t len)
{
    if (len < 28)
        return block_error(src, s, SD_ERR_FORMAT,
                           "section header block length %" PRIu32 " is below the minimum of 28", len);
    unsigned major = rd16(s, b + 12), minor = rd16(s, b + 14);
    if (major != 1)
        return block_error(src, s, SD_ERR_VERSION, "pcapng version %u.%u is not supported (only 1.x)",
                           major, minor);
    /* Interface ids restart in each section; sd_packet.iface keeps
     * counting so interfaces of different sections stay distinct. */
    s->if_base += s->n_ifs;
    s->n_ifs = 0;
    return 0;
}

static int parse_idb(struct sd_source *src, struct pcapng_src *s, const uint8_t *b, uint32_t len)
{
    if (len < 20)
        return block_error(src, s, SD_ERR_FORMAT,
                           "interface description block length %" PRIu32 " is below the minimum of 20",
                           len);
    if (s->n_ifs == PCAPNG_MAX_IFACES)
        return block_error(src, s, SD_ERR_FORMAT, "more than %u interfaces in one section",
                           PCAPNG_MAX_IFACES);
    struct pcapng_if ifc = {
        .linktype = rd16(s, b + 8), .snaplen = rd32(s, b + 12), .pow2 = 0, .exp = 6, .scale = 1000,
        .offset_ns = 0};
    /* Options: code, length, value padded to 32 bits; end at opt_endofopt
     * or at the end of the block. */
    uint32_t off = 16, end = len - 4;
    while (off + 4 <= end) {
        unsigned code = rd16(s, b + off), olen = rd16(s, b + off + 2);
        if (code == OPT_ENDOFOPT)
            break;
        if (olen > end - off - 4)
            return block_error(src, s, SD_ERR_FORMAT,
                               "interface option %u of length %u runs past the block", code, olen);
        const uint8_t *v = b + off + 4;
        if (code == OPT_IF_TSRESOL && olen >= 1) {
            unsigned e = v[0] & 0x7fu;
            ifc.pow2 = (v[0] & 0x80u) != 0;
            if ((ifc.pow2 && e > 63) || (!ifc.pow2 && e > 19))
                return block_error(src, s, SD_ERR_FORMAT, "if_tsresol 0x%02x is out of range", v[0]);
            ifc.exp = (uint8_t)e;
            if (!ifc.pow2) {
                unsigned k = e <= 9 ? 9 - e : e - 9;
                ifc.scale = 1;
                while (k-- > 0)
                    ifc.scale *= 10;
            }
        } else if (code == OPT_IF_TSOFFSET && olen >= 8) {
            uint64_t secs = s->be ? sd__be64(v) : sd__le64(v);
            ifc.offset_ns = secs * 1000000000u; /* signed seconds: wraps correctly */
        }
        off += 4 + ((olen + 3u) & ~3u);
    }
    if (s->n_ifs == s->cap_ifs) {
        uint32_t ncap = s->cap_ifs ? s->cap_ifs * 2 : 8;
        struct pcapng_if *n = sd__realloc(s->ifs, ncap * sizeof *n);
        if (n == NULL)
            return sd__seterr(&src->h, SD_ERR_NOMEM, "%s: out of memory", src->path);
        s->ifs = n;
        s->cap_ifs = ncap;
    }
    s->ifs[s->n_ifs++] = ifc;
    return 0;
}

static int unknown_iface(struct sd_source *src, struct pcapng_src *s, const char *what, uint32_t id)
{
    return block_error(src, s, SD_ERR_FORMAT,
                       "%s refers to interface %" PRIu32 " but the section has %" PRIu32 " interface%s",
                       what, id, s->n_ifs, s->n_ifs == 1 ? "" : "s");
}

/* Decode a packet block into *pkt. Returns 1 for a packet or a negative
 * sd_err. */
static int parse_packet(struct sd_source *src, struct pcapng_src *s, uint32_t type,
                        const uint8_t *b, uint32_t len, sd_packet *pkt)
{
    uint32_t id, caplen, origlen;
    uint64_t ts;
    const struct pcapng_if *ifc;
    if (type == BT_SPB) {
        if (len < 16)
            return block_error(src, s, SD_ERR_FORMAT,
                               "simple packet block length %" PRIu32 " is below the minimum of 16", len);
        if (s->n_ifs == 0)
            return unknown_iface(src, s, "simple packet block", 0);
        id = 0;
        ifc = &s->ifs[0];
        origlen = rd32(s, b + 8);
        /* The block has no caplen: the data is what the block holds, cut
         * to the original length and the snaplen (padding follows). */
        caplen = len - 16;
        if (caplen > origlen)
            caplen = origlen;
        if (ifc->snaplen != 0 && caplen > ifc->snaplen)
            caplen = ifc->snaplen;
        pkt->ts = s->last_ts;
        pkt->data = b + 12;
        pkt->flags = SD_PKT_NO_TIMESTAMP;
    } else {
        const char *name = type == BT_EPB ? "enhanced packet block" : "packet block";
        if (len < 32)
            return block_error(src, s, SD_ERR_FORMAT, "%s length %" PRIu32 " is below the minimum of 32",
                               name, len);
        if (type == BT_EPB) {
            id = rd32(s, b + 8);
        } else {
            id = rd16(s, b + 8);
            s->dropped += rd16(s, b + 10);
        }
        if (id >= s->n_ifs)
            return unknown_iface(src, s, name, id);
        ifc = &s->ifs[id];
        ts = ((uint64_t)rd32(s, b + 12) << 32) | rd32(s, b + 16);
        caplen = rd32(s, b + 20);
        origlen = rd32(s, b + 24);
        if (caplen > len - 32)
            return block_error(src, s, SD_ERR_FORMAT,
                               "%s caplen %" PRIu32 " exceeds the %" PRIu32 " bytes of the block", name,
                               caplen, len - 32);
        pkt->ts = s->last_ts = ts_to_ns(ifc, ts);
        pkt->data = b + 28;
        pkt->flags = 0;
    }
    pkt->caplen = caplen;
    pkt->wirelen = origlen;
    pkt->linktype = ifc->linktype;
    uint32_t fid = s->if_base + id;
    pkt->iface = fid > 0xffff ? 0xffff : (uint16_t)fid;
    pkt->lctr = 0;
    pkt->tags = NULL;
    return 1;
}

/* Length of the block at p (avail >= 12 bytes), in the byte order it is
 * written in: an SHB declares its own. Sets s->be for an SHB. Returns the
 * length or a negative sd_err. */
static int64_t block_length(struct sd_source *src, struct pcapng_src *s, const uint8_t *p)
{
    if (sd__be32(p) == BT_SHB) {
        uint32_t bom = sd__be32(p + 8);
        if (bom == BOM)
            s->be = 1;
        else if (bom == 0x4D3C2B1Au)
            s->be = 0;
        else
            return block_error(src, s, SD_ERR_FORMAT,
                               "section header byte-order magic 0x%08" PRIx32 " is neither 0x1a2b3c4d "
                               "nor its byte swap",
                               bom);
    }
    uint32_t len = rd32(s, p + 4);
    if (len < 12 || len % 4 != 0)
        return block_error(src, s, SD_ERR_FORMAT,
                           "block length %" PRIu32 " is %s", len,
                           len < 12 ? "below the minimum of 12" : "not a multiple of 4");
    if (len > PCAPNG_MAX_BLOCK)
        return block_error(src, s, SD_ERR_FORMAT, "block length %" PRIu32 " exceeds the 16 MiB limit",
                           len);
    return len;
}

static int io_error(struct sd_source *src, struct pcapng_src *s, int rc)
{
    if (rc == SD_ERR_NOMEM)
        return sd__seterr(&src->h, rc, "%s: out of memory", src->path);
    return sd__seterr(&src->h, rc, "%s: read error near offset %" PRIu64 ": %s", src->path,
                      sd__io_offset(&s->io), strerror(errno));
}

/* Make the whole block at the read position available. Returns its length,
 * 0 at a clean end of file, or a negative sd_err. May move the buffer. */
static int64_t next_block(struct sd_source *src, struct pcapng_src *s)
{
    struct sd__io *io = &s->io;
    int rc = sd__io_fill(io, 12);
    if (rc == SD_EOF) {
        size_t avail = sd__io_avail(io);
        if (avail == 0)
            return 0;
        return block_error(src, s, SD_ERR_TRUNCATED, "file ends inside the block header (%zu of 12 bytes)",
                           avail);
    }
    if (rc < 0)
        return io_error(src, s, rc);
    int64_t len = block_length(src, s, sd__io_ptr(io));
    if (len < 0)
        return len;
    rc = sd__io_fill(io, (size_t)len);
    if (rc == SD_EOF)
        return block_error(src, s, SD_ERR_TRUNCATED,
                           "file ends inside the block (%zu of %" PRId64 " bytes)", sd__io_avail(io), len);
    if (rc < 0)
        return io_error(src, s, rc);
    return len;
}

static int pcapng_read(struct sd_source *src, const sd_packet **pkts, size_t n)
{
    struct pcapng_src *s = src->impl;
    struct sd__io *io = &s->io;
    if (s->pending)
        return s->pending;
    if (n > PCAPNG_BATCH)
        n = PCAPNG_BATCH;
    size_t got = 0;
    int rc = 0;
    while (got < n) {
        size_t avail = sd__io_avail(io);
        const uint8_t *p = sd__io_ptr(io);
        int64_t blen;
        if (SD__LIKELY(avail >= 12)) {
            blen = block_length(src, s, p);
            if (blen < 0) {
                rc = (int)blen;
                break;
            }
        } else {
            blen = 12;
        }
        if (SD__UNLIKELY(avail < (size_t)blen)) {
            /* A refill moves the buffer: end the batch first. */
            if (got > 0)
                break;
            blen = next_block(src, s);
            if (blen <= 0)
                return blen == 0 ? SD_EOF : (int)blen;
            p = sd__io_ptr(io);
        }
        uint32_t len = (uint32_t)blen;
        uint32_t type = rd32(s, p);
        if (SD__UNLIKELY(rd32(s, p + len - 4) != len)) {
            rc = block_error(src, s, SD_ERR_FORMAT,
                             "trailing block length %" PRIu32 " differs from the leading %" PRIu32,
                             rd32(s, p + len - 4), len);
            break;
        }
        if (SD__LIKELY(type == BT_EPB || type == BT_SPB || type == BT_OPB)) {
            rc = parse_packet(src, s, type, p, len, &s->desc[got]);
            if (rc < 0)
                break;
            pkts[got] = &s->desc[got];
            got++;
        } else if (type == BT_SHB) {
            rc = parse_shb(src, s, p, len);
        } else if (type == BT_IDB) {
            rc = parse_idb(src, s, p, len);
        } else {
            /* Name resolution, statistics, decryption secrets, custom and
             * unknown blocks carry no packet. */
            s->skipped++;
        }
        if (rc < 0)
            break;
        s->blockno++;
        sd__io_consume(io, len);
    }
    if (rc < 0) {
        if (got == 0)
            return rc;
        s->pending = rc;
    }
    return (int)got;
}

static void pcapng_stats(const struct sd_source *src, sd_source_stats *st)
{
    const struct pcapng_src *s = src->impl;
    st->skipped += s->skipped;
    st->dropped += s->dropped;
}

static void pcapng_close(struct sd_source *src)
{
    struct pcapng_src *s = src->impl;
    if (s == NULL)
        return;
    sd__io_close(&s->io);
    sd__free(s->ifs);
    sd__free(s);
    src->impl = NULL;
}

static const struct sd__source_ops pcapng_ops = {
    .name = "pcapng",
    .start = NULL,
    .read = pcapng_read,
    .stats = pcapng_stats,
    .close = pcapng_close,
};

int sd__source_pcapng_open_io(struct sd_source *src, const char *path, struct sd__io *io,
                              char *errbuf)
{
    struct pcapng_src *s = sd__calloc(1, sizeof *s);
    if (s == NULL) {
        sd__io_close(io);
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
    }
    s->io = *io;
    memset(io, 0, sizeof *io);
    src->impl = s; /* for the error helpers; cleared again on failure */

    /* The file must start with a valid section header block. */
    int rc;
    int64_t len;
    if (sd__io_fill(&s->io, 12) == SD_EOF && sd__io_avail(&s->io) == 0) {
        rc = sd__seterr(&src->h, SD_ERR_FORMAT, "%s: empty file, not pcapng", path);
    } else if (sd__io_avail(&s->io) >= 4 && sd__be32(sd__io_ptr(&s->io)) != BT_SHB) {
        rc = sd__seterr(&src->h, SD_ERR_FORMAT,
                        "%s: not a pcapng file (first block type 0x%08" PRIx32 ", not a section header)",
                        path, sd__be32(sd__io_ptr(&s->io)));
    } else if ((len = next_block(src, s)) <= 0) {
        rc = len == 0 ? SD_ERR_FORMAT : (int)len;
        if (len == 0)
            sd__seterr(&src->h, rc, "%s: empty file, not pcapng", path);
    } else {
        const uint8_t *p = sd__io_ptr(&s->io);
        uint32_t l = (uint32_t)len;
        if (rd32(s, p + l - 4) != l)
            rc = block_error(src, s, SD_ERR_FORMAT,
                             "trailing block length %" PRIu32 " differs from the leading %" PRIu32,
                             rd32(s, p + l - 4), l);
        else
            rc = parse_shb(src, s, p, l);
        if (rc == 0) {
            s->blockno++;
            sd__io_consume(&s->io, l);
        }
    }
    if (rc < 0) {
        sd__errbuf(errbuf, rc, "%s", src->h.errmsg);
        src->h.errmsg[0] = '\0';
        src->impl = NULL;
        sd__io_close(&s->io);
        sd__free(s);
        return rc;
    }
    src->ops = &pcapng_ops;
    return 0;
}

int sd__source_pcapng_open(struct sd_source *src, const char *path, void *wio, char *errbuf)
{
    struct sd__io io;
    int rc = sd__io_open(&io, path, wio, errbuf);
    if (rc < 0)
        return rc;
    return sd__source_pcapng_open_io(src, path, &io, errbuf);
}
