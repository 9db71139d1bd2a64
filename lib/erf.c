/* stardust: ERF record decoding and encoding (spec/ndag.md section 7). */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "erf_int.h"
#include "internal.h"

/* Types whose lctr field is a colour or hash, not a loss count (7.6). */
#define COLOUR_TYPES ((1u << 10) | (1u << 11) | (1u << 15) | (1u << 16) | (1u << 19) | (1u << 20))
/* Ethernet-family types: a 2-byte pad precedes the frame (7.2). */
#define ETH_TYPES ((1u << 2) | (1u << 11) | (1u << 16) | (1u << 20))

static uint16_t linktype_of(unsigned type)
{
    if (type < 32 && (ETH_TYPES >> type) & 1u)
        return SD_LINK_ETHERNET;
    if (type == SD__ERF_TYPE_IPV4)
        return SD_LINK_IPV4;
    if (type == SD__ERF_TYPE_IPV6)
        return SD_LINK_IPV6;
    /* HDLC/PoS, ATM, AAL5, InfiniBand, the 0xff tracemcast type, ...: the
     * bytes are delivered, but nothing downstream can parse them. */
    return SD_LINK_UNKNOWN;
}

int sd__erf_decode(const uint8_t *rec, size_t avail, sd_packet *out, struct sd__erf_rec *rec_out,
                   unsigned opts)
{
    struct sd__erf_rec tmp = {0};
    struct sd__erf_rec *r = rec_out != NULL ? rec_out : &tmp;
    memset(r, 0, sizeof *r);
    if (SD__UNLIKELY(avail < SD__ERF_HDR_LEN)) {
        r->bad = SD__ERF_BAD_SHORT_HEADER;
        return SD_ERR_TRUNCATED;
    }
    r->ts_raw = sd__le64(rec);
    r->type_byte = rec[8];
    r->flags = rec[9];
    r->rlen_field = sd__be16(rec + 10);
    r->lctr = sd__be16(rec + 12);
    r->wlen = sd__be16(rec + 14);
    r->type = r->type_byte == 0xff ? SD__ERF_TYPE_TRACEMCAST : (uint8_t)(r->type_byte & 0x7fu);
    r->colour = r->type < 32 && ((COLOUR_TYPES >> r->type) & 1u);

    size_t rlen = r->rlen_field;
    if (opts & SD__ERF_DEC_TO_END)
        rlen = avail > 0xffff ? 0xffff : avail;
    r->rlen = (uint16_t)rlen;
    if (SD__UNLIKELY(rlen < SD__ERF_HDR_LEN)) {
        r->bad = SD__ERF_BAD_RLEN;
        return SD_ERR_FORMAT;
    }
    if (SD__UNLIKELY(rlen > avail)) {
        r->bad = SD__ERF_BAD_OVERRUN;
        return SD_ERR_TRUNCATED;
    }

    /* Extension headers chain by the top bit of each one's first byte;
     * type 0xff has bit 7 set but carries none (7.4). */
    size_t framing = SD__ERF_HDR_LEN;
    if ((r->type_byte & 0x80u) && r->type_byte != 0xff) {
        unsigned more;
        do {
            if (SD__UNLIKELY(framing + 8 > rlen)) {
                r->bad = SD__ERF_BAD_EXT;
                return SD_ERR_FORMAT;
            }
            more = rec[framing] & 0x80u;
            framing += 8;
            if (r->n_ext < 255)
                r->n_ext++;
        } while (more);
    }
    if (r->type < 32 && ((ETH_TYPES >> r->type) & 1u))
        framing += 2;
    r->framing = (uint16_t)framing;
    if (SD__UNLIKELY(framing > rlen)) {
        r->bad = SD__ERF_BAD_FRAMING;
        return SD_ERR_FORMAT;
    }
    if (r->type == SD__ERF_TYPE_META || r->type == SD__ERF_TYPE_PAD)
        return SD__ERF_SKIP;

    uint32_t caplen = (uint32_t)(rlen - framing);
    if (caplen > r->wlen)
        caplen = r->wlen; /* alignment bytes after the frame (7.2) */
    uint16_t pflags = 0;
    if (r->flags & SD__ERF_FLAG_TRUNC)
        pflags |= SD_PKT_ERF_TRUNCATED;
    if (r->flags & SD__ERF_FLAG_DSERR)
        pflags |= SD_PKT_ERF_DSERROR;
    if (r->flags & SD__ERF_FLAG_RXERR) {
        pflags |= SD_PKT_ERF_RXERROR;
        caplen = 0; /* as libtrace: the payload of an errored frame is hidden */
    }
    out->ts = sd__erf_ts_to_ns(r->ts_raw);
    out->data = rec + framing;
    out->caplen = caplen;
    out->wirelen = r->wlen;
    out->linktype = linktype_of(r->type);
    out->flags = pflags;
    out->iface = (uint16_t)(r->flags & SD__ERF_FLAG_IFACE);
    out->lctr = r->colour ? 0 : r->lctr;
    out->tags = NULL;
    return SD__ERF_PACKET;
}

const char *sd__erf_explain(const struct sd__erf_rec *r, size_t avail, char *buf, size_t len)
{
    switch (r->bad) {
    case SD__ERF_BAD_SHORT_HEADER:
        snprintf(buf, len, "only %zu bytes left, less than the 16-byte ERF header", avail);
        break;
    case SD__ERF_BAD_RLEN:
        snprintf(buf, len, "rlen %u is shorter than the 16-byte ERF header", r->rlen);
        break;
    case SD__ERF_BAD_OVERRUN:
        snprintf(buf, len, "rlen %u runs past the end of the data (%zu bytes left)", r->rlen, avail);
        break;
    case SD__ERF_BAD_EXT:
        snprintf(buf, len, "extension headers (type byte 0x%02x) run past rlen %u", r->type_byte,
                 r->rlen);
        break;
    case SD__ERF_BAD_FRAMING:
        snprintf(buf, len, "framing of %u bytes (type %u, %u extension header%s) exceeds rlen %u",
                 r->framing, r->type, r->n_ext, r->n_ext == 1 ? "" : "s", r->rlen);
        break;
    default:
        snprintf(buf, len, "valid record");
        break;
    }
    return buf;
}

int sd__erf_type_for(const sd_packet *p)
{
    switch (p->linktype) {
    case SD_LINK_ETHERNET:
        return SD__ERF_TYPE_ETH;
    case SD_LINK_IPV4:
        return SD__ERF_TYPE_IPV4;
    case SD_LINK_IPV6:
        return SD__ERF_TYPE_IPV6;
    case SD_LINK_RAW:
        return (p->caplen > 0 && (p->data[0] >> 4) == 6) ? SD__ERF_TYPE_IPV6 : SD__ERF_TYPE_IPV4;
    default:
        return -1;
    }
}

static size_t encoded_len(const sd_packet *p, int type, size_t *caplen)
{
    size_t framing = SD__ERF_HDR_LEN + (type == SD__ERF_TYPE_ETH ? 2 : 0);
    size_t cl = p->caplen;
    if (cl > 0xffff - framing)
        cl = 0xffff - framing;
    *caplen = cl;
    return framing + cl;
}

size_t sd__erf_encoded_len(const sd_packet *p)
{
    int type = sd__erf_type_for(p);
    size_t cl;
    return type < 0 ? 0 : encoded_len(p, type, &cl);
}

int sd__erf_encode(uint8_t *dst, size_t cap, const sd_packet *p, uint16_t lctr)
{
    int type = sd__erf_type_for(p);
    if (type < 0)
        return SD_ERR_UNSUPPORTED;
    size_t caplen;
    size_t rlen = encoded_len(p, type, &caplen);
    if (rlen > cap)
        return 0;
    uint8_t flags = (uint8_t)((p->iface & SD__ERF_FLAG_IFACE) | SD__ERF_FLAG_VARLEN);
    if (p->flags & SD_PKT_ERF_TRUNCATED)
        flags |= SD__ERF_FLAG_TRUNC;
    if (p->flags & SD_PKT_ERF_RXERROR)
        flags |= SD__ERF_FLAG_RXERR;
    if (p->flags & SD_PKT_ERF_DSERROR)
        flags |= SD__ERF_FLAG_DSERR;
    sd__put_le64(dst, sd__erf_ns_to_ts(p->ts));
    dst[8] = (uint8_t)type;
    dst[9] = flags;
    sd__put_be16(dst + 10, (uint16_t)rlen);
    sd__put_be16(dst + 12, lctr);
    sd__put_be16(dst + 14, p->wirelen > 0xffff ? 0xffff : (uint16_t)p->wirelen);
    size_t off = SD__ERF_HDR_LEN;
    if (type == SD__ERF_TYPE_ETH) {
        dst[16] = 0;
        dst[17] = 0;
        off += 2;
    }
    if (caplen > 0)
        memcpy(dst + off, p->data, caplen);
    return (int)rlen;
}
