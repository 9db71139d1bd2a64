/* stardust: nDAG datagram codec and sequence accounting (spec/ndag.md). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <stardust/ndag.h>
#include <stardust/tag.h>
#include "erf_int.h"
#include "internal.h"
#include "ndag_int.h"

static const char *const error_names[SD_NDAG_E_COUNT] = {
    "ok",          "truncated_header", "bad_magic",        "bad_version", "bad_type",
    "bad_beacon",  "truncated_encap",  "bad_record_count", "bad_rlen",    "record_overrun",
};

const char *sd_ndag_error_name(int error)
{
    if (error < 0 || error >= SD_NDAG_E_COUNT)
        return "unknown";
    return error_names[error];
}

int sd_ndag_error_code(int error)
{
    switch (error) {
    case SD_NDAG_OK:
        return 0;
    case SD_NDAG_E_TRUNCATED_HEADER:
    case SD_NDAG_E_TRUNCATED_ENCAP:
    case SD_NDAG_E_RECORD_OVERRUN:
        return SD_ERR_TRUNCATED;
    case SD_NDAG_E_BAD_VERSION:
        return SD_ERR_VERSION;
    default:
        return SD_ERR_FORMAT;
    }
}

/* Record the class and word the message; returns the sd_err code. */
static int fail(sd_ndag_msg *m, char *errbuf, int error, size_t offset, const char *what)
{
    m->error = (uint8_t)error;
    m->error_offset = offset;
    return sd__errbuf(errbuf, sd_ndag_error_code(error), "nDAG: %s at offset %zu: %s",
                      sd_ndag_error_name(error), offset, what);
}

static int type_allowed(uint8_t type, unsigned flags)
{
    int beacon = type == SD_NDAG_BEACON;
    int stream = type == SD_NDAG_ENCAPERF || type == SD_NDAG_CORSAROTAG || type == SD_NDAG_KEEPALIVE;
    if (flags & SD_NDAG_ON_BEACON)
        return beacon;
    if (flags & SD_NDAG_ON_STREAM)
        return stream;
    return beacon || stream;
}

/* An ERF record at p (left >= 16 bytes readable) that certainly decodes:
 * no extension headers (type byte < 0x80), 18 <= rlen <= left, so even an
 * Ethernet type's framing (16 + 2-byte pad) fits. Everything else, valid or
 * not, goes through sd__erf_decode(), which words any error. */
static inline int erf_plain_ok(const uint8_t *p, size_t left)
{
    size_t rlen = sd__be16(p + 10);
    return p[8] < 0x80u && rlen >= SD__ERF_HDR_LEN + 2 && rlen <= left;
}

/* Checks 9-13 of ndag.md 10 over the records of a data message. With
 * reference set, every ERF record goes through sd__erf_decode() (the
 * behaviour the quick walk must reproduce; tests and fuzzing compare). */
static int check_records(sd_ndag_msg *m, char *errbuf, int reference)
{
    const uint8_t *d = m->data;
    size_t off = SD_NDAG_ENCAP_LEN;
    char why[160];
    unsigned i = 0;
    if (m->type == SD_NDAG_ENCAPERF && !m->truncated && !reference) {
        /* The common datagram: a tight walk over plain records (hot path,
         * every record of every datagram); the first other record drops to
         * the general loop below, which checks it and the rest. */
        size_t len = m->len;
        while (i < m->record_count && len - off >= SD__ERF_HDR_LEN && erf_plain_ok(d + off, len - off)) {
            off += sd__be16(d + off + 10);
            i++;
        }
    }
    for (; i < m->record_count; i++) {
        size_t left = m->len - off;
        if (left == 0) {
            snprintf(why, sizeof why, "datagram ends after %u of %u records", i, m->record_count);
            return fail(m, errbuf, SD_NDAG_E_BAD_RECORD_COUNT, off, why);
        }
        if (m->type == SD_NDAG_CORSAROTAG) {
            if (left < SD_NDAG_TAG_LEN) {
                snprintf(why, sizeof why, "record %u: %zu bytes left, tag header needs 94", i, left);
                return fail(m, errbuf, SD_NDAG_E_RECORD_OVERRUN, off, why);
            }
            size_t rlen = SD_NDAG_TAG_LEN + (size_t)sd__be16(d + off + 11);
            if (m->truncated)
                rlen = left;
            if (rlen > left) {
                snprintf(why, sizeof why, "record %u: length %zu but %zu bytes left", i, rlen, left);
                return fail(m, errbuf, SD_NDAG_E_RECORD_OVERRUN, off, why);
            }
            off += rlen;
            continue;
        }
        sd_packet p;
        struct sd__erf_rec r;
        int rc = sd__erf_decode(d + off, left, &p, &r, m->truncated ? SD__ERF_DEC_TO_END : 0);
        if (rc < 0) {
            char erfwhy[120];
            sd__erf_explain(&r, left, erfwhy, sizeof erfwhy);
            snprintf(why, sizeof why, "record %u: %s", i, erfwhy);
            int cls = r.bad == SD__ERF_BAD_SHORT_HEADER || r.bad == SD__ERF_BAD_OVERRUN
                          ? SD_NDAG_E_RECORD_OVERRUN
                          : SD_NDAG_E_BAD_RLEN;
            return fail(m, errbuf, cls, off, why);
        }
        off += r.rlen;
    }
    if (off != m->len) {
        snprintf(why, sizeof why, "%zu bytes after the last counted record", m->len - off);
        return fail(m, errbuf, SD_NDAG_E_BAD_RECORD_COUNT, off, why);
    }
    return 0;
}

static int decode(sd_ndag_msg *m, const uint8_t *d, size_t len, unsigned flags, char *errbuf,
                  int reference)
{
    if (m == NULL || (d == NULL && len > 0))
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_ndag_decode: NULL argument");
    memset(m, 0, sizeof *m);
    m->data = d;
    m->len = len;
    char why[120];
    if (len < SD_NDAG_HDR_LEN) {
        snprintf(why, sizeof why, "%zu bytes, shorter than the 8-byte common header", len);
        return fail(m, errbuf, SD_NDAG_E_TRUNCATED_HEADER, 0, why);
    }
    uint32_t magic = sd__be32(d);
    m->version = d[4];
    m->type = d[5];
    m->monitor_id = sd__be16(d + 6);
    if (magic != SD_NDAG_MAGIC) {
        snprintf(why, sizeof why, "magic 0x%08X", (unsigned)magic);
        return fail(m, errbuf, SD_NDAG_E_BAD_MAGIC, 0, why);
    }
    if (m->version != SD_NDAG_VERSION) {
        snprintf(why, sizeof why, "version %u", m->version);
        return fail(m, errbuf, SD_NDAG_E_BAD_VERSION, 4, why);
    }
    if (!type_allowed(m->type, flags)) {
        snprintf(why, sizeof why, "message type %u not valid%s", m->type,
                 (flags & SD_NDAG_ON_BEACON)   ? " on a beacon socket"
                 : (flags & SD_NDAG_ON_STREAM) ? " on a stream"
                                               : "");
        return fail(m, errbuf, SD_NDAG_E_BAD_TYPE, 5, why);
    }
    if (m->type == SD_NDAG_BEACON) {
        if (len < 10)
            return fail(m, errbuf, SD_NDAG_E_BAD_BEACON, 8, "no stream count");
        m->num_streams = sd__be16(d + 8);
        size_t need = 10 + 2 * (size_t)m->num_streams;
        if (len < need) {
            snprintf(why, sizeof why, "%u streams need %zu bytes, beacon has %zu", m->num_streams, need,
                     len);
            return fail(m, errbuf, SD_NDAG_E_BAD_BEACON, 8, why);
        }
        m->ports = d + 10;
        m->trailing = len - need; /* ignored, as libtrace >= 4.0.23 (11.1) */
        return 0;
    }
    if (m->type == SD_NDAG_KEEPALIVE) {
        /* Consumed whole whatever its length (8); the stardust form carries
         * the encapsulation header, reported for diagnostics. */
        if (len >= SD_NDAG_ENCAP_LEN) {
            m->has_encap = 1;
            memcpy(m->started, d + 8, 8);
            m->seqno = sd__be32(d + 16);
            m->stream_id = sd__be16(d + 20);
            m->record_count_raw = sd__be16(d + 22);
            m->record_count = m->record_count_raw & 0x7fffu;
        }
        return 0;
    }
    if (len < SD_NDAG_ENCAP_LEN) {
        snprintf(why, sizeof why, "data message of %zu bytes, shorter than 24", len);
        return fail(m, errbuf, SD_NDAG_E_TRUNCATED_ENCAP, 0, why);
    }
    m->has_encap = 1;
    memcpy(m->started, d + 8, 8);
    m->seqno = sd__be32(d + 16);
    m->stream_id = sd__be16(d + 20);
    m->record_count_raw = sd__be16(d + 22);
    m->record_count = m->record_count_raw & 0x7fffu;
    m->truncated = (m->record_count_raw & 0x8000u) != 0;
    if (m->record_count == 0)
        return fail(m, errbuf, SD_NDAG_E_BAD_RECORD_COUNT, 22, "record count is zero");
    if (m->truncated && m->record_count != 1) {
        snprintf(why, sizeof why, "truncation flag with %u records (must be 1)", m->record_count);
        return fail(m, errbuf, SD_NDAG_E_BAD_RECORD_COUNT, 22, why);
    }
    return check_records(m, errbuf, reference);
}

int sd_ndag_decode(sd_ndag_msg *m, const uint8_t *d, size_t len, unsigned flags, char *errbuf)
{
    return decode(m, d, len, flags, errbuf, 0);
}

int sd__ndag_decode_ref(sd_ndag_msg *m, const uint8_t *d, size_t len, unsigned flags, char *errbuf)
{
    return decode(m, d, len, flags, errbuf, 1);
}

uint16_t sd_ndag_beacon_port(const sd_ndag_msg *m, unsigned i)
{
    if (m == NULL || m->type != SD_NDAG_BEACON || m->ports == NULL || i >= m->num_streams)
        return 0;
    return sd__be16(m->ports + 2 * (size_t)i);
}

void sd_ndag_iter_init(sd_ndag_iter *it, const sd_ndag_msg *m)
{
    memset(it, 0, sizeof *it);
    if (m == NULL || m->error != SD_NDAG_OK || m->data == NULL || m->len < SD_NDAG_ENCAP_LEN ||
        (m->type != SD_NDAG_ENCAPERF && m->type != SD_NDAG_CORSAROTAG))
        return;
    it->base = m->data;
    it->p = m->data + SD_NDAG_ENCAP_LEN;
    it->end = m->data + m->len;
    it->left = m->record_count;
    it->type = m->type;
    it->truncated = (uint8_t)(m->truncated != 0);
}

static int next_tagged(sd_ndag_iter *it, sd_ndag_record *r, size_t left)
{
    const uint8_t *t = it->p;
    if (left < SD_NDAG_TAG_LEN)
        return 0;
    size_t pktlen = sd__be16(t + 11);
    size_t len = SD_NDAG_TAG_LEN + pktlen;
    if (it->truncated)
        len = left;
    if (len > left || len > UINT32_MAX)
        return 0;
    r->len = (uint32_t)len;
    r->rlen = (uint32_t)(SD_NDAG_TAG_LEN + pktlen);
    r->framing = SD_NDAG_TAG_LEN;
    r->tag = t;
    r->tagger_id = sd__be32(t + 15);
    r->tagger_seqno = sd__be64(t + 19);
    r->has_packet = 1;
    r->pkt.ts = (uint64_t)sd__be32(t + 3) * 1000000000u + (uint64_t)sd__be32(t + 7) * 1000u;
    r->pkt.data = t + SD_NDAG_TAG_LEN;
    r->pkt.caplen = (uint32_t)(len - SD_NDAG_TAG_LEN);
    r->pkt.wirelen = sd__be16(t + 13);
    r->pkt.linktype = SD_LINK_ETHERNET;
    r->pkt.flags = it->truncated ? SD_PKT_TRUNCATED_BY_SENDER : 0;
    return 1;
}

/* The general iterator step: every record kind, the truncation flag. */
static int next_general(sd_ndag_iter *it, sd_ndag_record *r)
{
    if (it->left == 0 || it->p == NULL || it->p >= it->end)
        return 0;
    size_t left = (size_t)(it->end - it->p);
    memset(r, 0, sizeof *r);
    r->rec = it->p;
    r->offset = (size_t)(it->p - it->base);
    if (it->type == SD_NDAG_CORSAROTAG) {
        if (!next_tagged(it, r, left)) {
            it->left = 0;
            return 0;
        }
    } else {
        struct sd__erf_rec e;
        int rc = sd__erf_decode(it->p, left, &r->pkt, &e, it->truncated ? SD__ERF_DEC_TO_END : 0);
        if (rc < 0) {
            it->left = 0;
            return 0;
        }
        r->len = e.rlen;
        r->rlen = e.rlen_field;
        r->erf_type = e.type;
        r->type_byte = e.type_byte;
        r->erf_flags = e.flags;
        r->n_ext = e.n_ext;
        r->lctr = e.lctr;
        r->framing = e.framing;
        r->has_packet = rc == SD__ERF_PACKET;
        if (r->has_packet && it->truncated)
            r->pkt.flags |= SD_PKT_TRUNCATED_BY_SENDER;
    }
    it->p += r->len;
    it->left--;
    return 1;
}

int sd__ndag_next_ref(sd_ndag_iter *it, sd_ndag_record *r)
{
    return next_general(it, r);
}

int sd__ndag_next(sd_ndag_iter *it, sd_ndag_record *r)
{
    const uint8_t *p = it->p;
    if (SD__LIKELY(it->type == SD_NDAG_ENCAPERF && !it->truncated && it->left > 0 && p != NULL &&
                   p < it->end && (size_t)(it->end - p) >= SD__ERF_HDR_LEN)) {
        /* Hot path: an ERF type 2, 22 or 23 record without extension
         * headers (what stardust and DAG senders write), filled field by
         * field exactly as next_general() + sd__erf_decode() would. */
        uint8_t tb = p[8];
        size_t rlen = sd__be16(p + 10);
        if ((tb == SD__ERF_TYPE_ETH || tb == SD__ERF_TYPE_IPV4 || tb == SD__ERF_TYPE_IPV6) &&
            rlen >= SD__ERF_HDR_LEN + 2 && rlen <= (size_t)(it->end - p)) {
            uint8_t fl = p[9];
            uint16_t lctr = sd__be16(p + 12);
            uint16_t wlen = sd__be16(p + 14);
            unsigned framing = tb == SD__ERF_TYPE_ETH ? SD__ERF_HDR_LEN + 2 : SD__ERF_HDR_LEN;
            uint32_t caplen = (uint32_t)(rlen - framing);
            if (caplen > wlen)
                caplen = wlen; /* alignment bytes after the frame (7.2) */
            uint16_t pflags = 0;
            if (SD__UNLIKELY(fl & (SD__ERF_FLAG_TRUNC | SD__ERF_FLAG_DSERR | SD__ERF_FLAG_RXERR))) {
                if (fl & SD__ERF_FLAG_TRUNC)
                    pflags |= SD_PKT_ERF_TRUNCATED;
                if (fl & SD__ERF_FLAG_DSERR)
                    pflags |= SD_PKT_ERF_DSERROR;
                if (fl & SD__ERF_FLAG_RXERR) {
                    pflags |= SD_PKT_ERF_RXERROR;
                    caplen = 0;
                }
            }
            r->rec = p;
            r->offset = (size_t)(p - it->base);
            r->len = (uint32_t)rlen;
            r->rlen = (uint32_t)rlen;
            r->erf_type = tb;
            r->type_byte = tb;
            r->erf_flags = fl;
            r->n_ext = 0;
            r->lctr = lctr;
            r->framing = (uint16_t)framing;
            r->has_packet = 1;
            r->pkt.ts = sd__erf_ts_to_ns(sd__le64(p));
            r->pkt.data = p + framing;
            r->pkt.caplen = caplen;
            r->pkt.wirelen = wlen;
            r->pkt.linktype = tb == SD__ERF_TYPE_ETH    ? SD_LINK_ETHERNET
                              : tb == SD__ERF_TYPE_IPV4 ? SD_LINK_IPV4
                                                        : SD_LINK_IPV6;
            r->pkt.flags = pflags;
            r->pkt.iface = (uint16_t)(fl & SD__ERF_FLAG_IFACE);
            r->pkt.lctr = lctr; /* types 2, 22, 23 are no colour types (7.6) */
            r->pkt.tags = NULL;
            r->tag = NULL;
            r->tagger_id = 0;
            r->tagger_seqno = 0;
            it->p = p + rlen;
            it->left--;
            return 1;
        }
    }
    return next_general(it, r);
}

int sd_ndag_next(sd_ndag_iter *it, sd_ndag_record *r)
{
    return sd__ndag_next(it, r);
}

/* ---- encoding ---- */

static void put_common(uint8_t *dst, uint8_t type, uint16_t monitor_id)
{
    sd__put_be32(dst, SD_NDAG_MAGIC);
    dst[4] = SD_NDAG_VERSION;
    dst[5] = type;
    sd__put_be16(dst + 6, monitor_id);
}

int sd_ndag_encode_beacon(uint8_t *dst, size_t cap, uint16_t monitor_id, const uint16_t *ports,
                          uint16_t n)
{
    size_t len = 10 + 2 * (size_t)n;
    if (dst == NULL || (ports == NULL && n > 0) || cap < len || len > 0xffff)
        return SD_ERR_INVAL;
    put_common(dst, SD_NDAG_BEACON, monitor_id);
    sd__put_be16(dst + 8, n);
    for (uint16_t i = 0; i < n; i++)
        sd__put_be16(dst + 10 + 2 * (size_t)i, ports[i]);
    return (int)len;
}

int sd_ndag_encode_keepalive(uint8_t *dst, size_t cap, uint16_t monitor_id, const uint8_t *started,
                             uint16_t stream_id)
{
    size_t len = started != NULL ? SD_NDAG_ENCAP_LEN : SD_NDAG_HDR_LEN;
    if (dst == NULL || cap < len)
        return SD_ERR_INVAL;
    put_common(dst, SD_NDAG_KEEPALIVE, monitor_id);
    if (started != NULL) {
        memcpy(dst + 8, started, 8);
        sd__put_be32(dst + 16, 0);
        sd__put_be16(dst + 20, stream_id);
        sd__put_be16(dst + 22, 0);
    }
    return (int)len;
}

int sd__ndag_dgram_append(struct sd__ndag_dgram *d, const sd_packet *p)
{
    size_t need = sd__erf_encoded_len(p);
    if (need == 0)
        return SD__NDAG_SKIP; /* no ERF type for this link type */
    if (d->count > 0 && (d->count >= 0x7fff || need > d->cap - d->len))
        return SD__NDAG_FULL; /* the next datagram takes it */
    if (need > d->cap - d->len) {
        /* Alone and still too big: shorten the captured bytes, keep wlen,
         * leave the flag clear (6.1, recommended sender behaviour). */
        sd_packet cut = *p;
        cut.caplen = 0;
        size_t framing = sd__erf_encoded_len(&cut);
        cut.caplen = (uint32_t)(d->cap - d->len - framing);
        int rc = sd__erf_encode(d->buf + d->len, d->cap - d->len, &cut, 0);
        if (rc <= 0)
            return SD__NDAG_SKIP; /* cannot happen: cap >= 64 > framing */
        d->len += (size_t)rc;
        d->count++;
        return SD__NDAG_CUT;
    }
    int rc = sd__erf_encode(d->buf + d->len, d->cap - d->len, p, 0);
    if (rc <= 0)
        return SD__NDAG_SKIP; /* cannot happen after sd__erf_encoded_len() */
    d->len += (size_t)rc;
    d->count++;
    return SD__NDAG_APPENDED;
}

int sd__ndag_dgram_append_tagged(struct sd__ndag_dgram *d, const sd_packet *p, uint32_t tagger_id,
                                 uint64_t *seq)
{
    /* Only Ethernet frames are published; empty ones are dropped (tags.md
     * 3.3). */
    if (p->linktype != SD_LINK_ETHERNET || p->caplen == 0 || p->data == NULL)
        return SD__NDAG_SKIP;
    size_t room = d->cap - d->len;
    size_t need = SD_NDAG_TAG_LEN + (size_t)p->caplen;
    if (d->count > 0 && (d->count >= 0x7fff || need > room))
        return SD__NDAG_FULL; /* the next datagram takes it */
    size_t pktlen = p->caplen;
    int cut = 0;
    if (need > room) {
        /* Alone and still too big: cut the frame so the datagram fits,
         * never a zero-record datagram (tags.md 3.3, stardust rule). */
        pktlen = room - SD_NDAG_TAG_LEN;
        cut = 1;
    }
    uint8_t *r = d->buf + d->len;
    const sd_tags *t = p->tags;
    r[0] = 0; /* hashbin: unused, written as 0 (tags.md 3.2) */
    sd__put_be16(r + 1, (uint16_t)(t != NULL ? t->filterbits & 0xfu : 0)); /* tags.md 2.2 */
    sd__put_be32(r + 3, (uint32_t)(p->ts / 1000000000u));
    sd__put_be32(r + 7, (uint32_t)(p->ts % 1000000000u / 1000u));
    sd__put_be16(r + 11, (uint16_t)pktlen);
    sd__put_be16(r + 13, p->wirelen > 0xffffu ? 0xffffu : (uint16_t)p->wirelen);
    sd__put_be32(r + 15, tagger_id);
    uint64_t q = *seq != 0 ? *seq : 1;
    sd__put_be32(r + 19, (uint32_t)(q >> 32));
    sd__put_be32(r + 23, (uint32_t)q);
    *seq = q + 1 != 0 ? q + 1 : 1; /* per record, skipping 0 on wrap (tags.md 3.2) */
    if (t != NULL)
        sd_tags_encode(t, r + 27);
    else
        memset(r + 27, 0, SD_TAG_BLOCK_LEN); /* untagged: nothing known */
    memcpy(r + SD_NDAG_TAG_LEN, p->data, pktlen);
    d->len += SD_NDAG_TAG_LEN + pktlen;
    d->count++;
    return cut ? SD__NDAG_CUT : SD__NDAG_APPENDED;
}

size_t sd__ndag_dgram_finish(struct sd__ndag_dgram *d, const sd_ndag_encap *h)
{
    put_common(d->buf, d->type, h->monitor_id);
    memcpy(d->buf + 8, h->started, 8);
    sd__put_be32(d->buf + 16, h->seqno);
    sd__put_be16(d->buf + 20, h->stream_id);
    sd__put_be16(d->buf + 22, (uint16_t)d->count);
    return d->len;
}

int sd_ndag_encode_erf(uint8_t *dst, size_t cap, const sd_ndag_encap *h, const sd_packet *const *pkts,
                       size_t n, size_t *consumed)
{
    static const uint8_t zero[8];
    if (consumed != NULL)
        *consumed = 0;
    if (dst == NULL || h == NULL || consumed == NULL || (pkts == NULL && n > 0) || cap < 64 ||
        memcmp(h->started, zero, 8) == 0)
        return SD_ERR_INVAL;
    struct sd__ndag_dgram d;
    sd__ndag_dgram_start(&d, dst, cap);
    size_t i = 0;
    while (i < n) {
        int rc = sd__ndag_dgram_append(&d, pkts[i]);
        if (rc == SD__NDAG_FULL)
            break;
        i++;
        if (rc == SD__NDAG_CUT)
            break; /* the datagram is full */
    }
    *consumed = i;
    if (d.count == 0)
        return 0;
    return (int)sd__ndag_dgram_finish(&d, h);
}

int sd_ndag_encode_tagged(uint8_t *dst, size_t cap, const sd_ndag_encap *h, uint32_t tagger_id,
                          uint64_t *seqno, const sd_packet *const *pkts, size_t n, size_t *consumed)
{
    static const uint8_t zero[8];
    if (consumed != NULL)
        *consumed = 0;
    if (dst == NULL || h == NULL || seqno == NULL || consumed == NULL || (pkts == NULL && n > 0) ||
        cap < 128 || memcmp(h->started, zero, 8) == 0)
        return SD_ERR_INVAL;
    struct sd__ndag_dgram d;
    sd__ndag_dgram_start(&d, dst, cap);
    d.type = SD_NDAG_CORSAROTAG;
    size_t i = 0;
    while (i < n) {
        if (pkts[i] == NULL) {
            i++; /* nothing to send */
            continue;
        }
        int rc = sd__ndag_dgram_append_tagged(&d, pkts[i], tagger_id, seqno);
        if (rc == SD__NDAG_FULL)
            break;
        i++;
        if (rc == SD__NDAG_CUT)
            break; /* the datagram is full */
    }
    *consumed = i;
    if (d.count == 0)
        return 0;
    return (int)sd__ndag_dgram_finish(&d, h);
}

/* ---- sequence accounting (12.2) ---- */

#define SEQ_WINDOW 64

uint32_t sd_ndag_seq_succ(uint32_t q)
{
    return q == 0xffffffffu ? 1 : q + 1;
}

/* succ steps from a to b; 0 is not a step stop (12.2). */
static uint32_t seq_dist(uint32_t a, uint32_t b)
{
    return b >= a ? b - a : (uint32_t)(b - a) - 1;
}

void sd_ndag_seq_init(sd_ndag_seq *s)
{
    memset(s, 0, sizeof *s);
}

static void seq_reset(sd_ndag_seq *s, uint32_t q)
{
    s->expected = sd_ndag_seq_succ(q);
    s->seen = 1; /* q itself, now the newest accepted */
    s->probation = 0;
}

int sd_ndag_seq_update(sd_ndag_seq *s, const uint8_t *started, uint32_t q)
{
    int same = memcmp(s->started, started, 8) == 0;
    if (q == 0) {
        /* tracemcast does not skip 0 at the wrap (12.1). */
        if (s->expected == 1 && same)
            return SD_NDAG_SEQ_IN_ORDER;
        q = 0xffffffffu;
    }
    if (s->expected == 0) {
        memcpy(s->started, started, 8);
        seq_reset(s, q);
        return SD_NDAG_SEQ_FIRST;
    }
    if (!same) {
        s->restarts++;
        memcpy(s->started, started, 8);
        seq_reset(s, q);
        return SD_NDAG_SEQ_RESTART;
    }
    if (s->probation != 0 && q == s->probation) {
        s->resyncs++;
        if (s->late > 0)
            s->late--; /* the late one was the first of the renumbered run */
        seq_reset(s, q);
        return SD_NDAG_SEQ_RESYNC;
    }
    s->probation = 0;
    uint32_t d = seq_dist(s->expected, q);
    if (d < 0x80000000u) {
        s->missing += d;
        s->seen = d + 1 >= SEQ_WINDOW ? 1 : (s->seen << (d + 1)) | 1;
        s->expected = sd_ndag_seq_succ(q);
        return d == 0 ? SD_NDAG_SEQ_IN_ORDER : SD_NDAG_SEQ_GAP;
    }
    uint32_t b = seq_dist(q, s->expected);
    if (b >= 1 && b <= SEQ_WINDOW) {
        uint64_t bit = UINT64_C(1) << (b - 1);
        if (s->seen & bit) {
            s->duplicates++;
            return SD_NDAG_SEQ_DUPLICATE;
        }
        s->seen |= bit;
        s->missing--;
        s->reordered++;
        return SD_NDAG_SEQ_REORDERED;
    }
    s->late++;
    s->probation = sd_ndag_seq_succ(q);
    return SD_NDAG_SEQ_LATE;
}

static const char *const verdict_names[] = {
    "unknown", "first", "in_order", "gap", "restart", "resync", "duplicate", "reordered", "late",
};

const char *sd_ndag_seq_verdict_name(int verdict)
{
    if (verdict < 1 || verdict > SD_NDAG_SEQ_LATE)
        return "unknown";
    return verdict_names[verdict];
}
