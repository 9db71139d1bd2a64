/* stardust: ERF record decoder and encoder (spec/ndag.md section 7), shared
 * by the ERF file reader and writer and the nDAG receiver and sender. Both
 * are pure functions on caller memory: no allocation, no state. */
#ifndef SD_ERF_INT_H
#define SD_ERF_INT_H

#include <stddef.h>
#include <stdint.h>

#include <stardust/packet.h>

#define SD__ERF_HDR_LEN 16

/* ERF types with a meaning for readers (ndag.md 7.4). */
#define SD__ERF_TYPE_HDLC_POS 1
#define SD__ERF_TYPE_ETH 2
#define SD__ERF_TYPE_COLOR_ETH 11
#define SD__ERF_TYPE_DSM_COLOR_ETH 16
#define SD__ERF_TYPE_COLOR_HASH_ETH 20
#define SD__ERF_TYPE_IPV4 22
#define SD__ERF_TYPE_IPV6 23
#define SD__ERF_TYPE_META 27
#define SD__ERF_TYPE_PAD 48
#define SD__ERF_TYPE_TRACEMCAST 255 /* whole type byte 0xff: no extension headers */

/* Flags byte (ndag.md 7.3). */
#define SD__ERF_FLAG_IFACE 0x03u
#define SD__ERF_FLAG_VARLEN 0x04u
#define SD__ERF_FLAG_TRUNC 0x08u
#define SD__ERF_FLAG_RXERR 0x10u
#define SD__ERF_FLAG_DSERR 0x20u

/* sd__erf_decode() results besides negative sd_err codes. */
#define SD__ERF_PACKET 1 /* a packet: *out is filled */
#define SD__ERF_SKIP 2   /* META or PAD: no packet; skip rec.rlen bytes */

/* What is wrong with a record that does not decode (sd__erf_rec.bad). */
enum sd__erf_bad {
    SD__ERF_OK = 0,
    SD__ERF_BAD_SHORT_HEADER, /* fewer than 16 bytes left: SD_ERR_TRUNCATED */
    SD__ERF_BAD_RLEN,         /* rlen < 16: SD_ERR_FORMAT */
    SD__ERF_BAD_OVERRUN,      /* rlen beyond the bytes available: SD_ERR_TRUNCATED */
    SD__ERF_BAD_EXT,          /* extension-header walk passes rlen: SD_ERR_FORMAT */
    SD__ERF_BAD_FRAMING       /* header + extensions + pad exceed rlen: SD_ERR_FORMAT */
};

/* The raw header fields of one record, for callers that need more than the
 * packet view (nDAG counters, tests, messages). */
struct sd__erf_rec {
    uint64_t ts_raw;   /* 64-bit fixed-point timestamp (host order) */
    uint16_t rlen;     /* bytes the record occupies (the rlen field, or avail
                          with SD__ERF_DEC_TO_END) */
    uint16_t rlen_field;
    uint16_t lctr;     /* as on the wire: a colour/hash for colour types */
    uint16_t wlen;
    uint16_t framing;  /* header + extension headers + Ethernet pad */
    uint8_t type;      /* type byte & 0x7f; 255 for the 0xff tracemcast type */
    uint8_t type_byte; /* the raw type byte */
    uint8_t flags;     /* the raw flags byte */
    uint8_t n_ext;     /* extension headers (saturates at 255) */
    uint8_t bad;       /* enum sd__erf_bad when decoding failed */
    uint8_t colour;    /* lctr holds a colour or hash (types 10,11,15,16,19,20) */
};

/* sd__erf_decode() options. */
#define SD__ERF_DEC_TO_END 0x1u /* the record extends to rec + avail, whatever
                                   rlen says (nDAG truncation flag, 6.1) */

/* Decode the ERF record at rec, with avail bytes readable there.
 * Returns SD__ERF_PACKET (*out filled: data points into rec), SD__ERF_SKIP
 * (META/PAD; *out untouched), SD_ERR_TRUNCATED (fewer than 16 bytes or
 * rlen > avail) or SD_ERR_FORMAT (rlen < 16, extension headers or framing
 * past rlen). *rec_out (may be NULL) receives the header fields; on error
 * rec_out->bad says what is wrong (sd__erf_explain() words it). Packet
 * fields: ts in ns (sec * 1e9 + (frac * 1e9 >> 32)), caplen =
 * min(rlen - framing, wlen) or 0 with the RX-error flag, wirelen = wlen,
 * iface = flags & 3, lctr = loss counter (0 for colour types). */
int sd__erf_decode(const uint8_t *rec, size_t avail, sd_packet *out, struct sd__erf_rec *rec_out,
                   unsigned opts);

/* Word the failure recorded in r->bad, e.g. "rlen 8 is shorter than the
 * 16-byte ERF header"; avail as passed to sd__erf_decode(). Writes at most
 * len bytes (NUL-terminated) and returns buf. */
const char *sd__erf_explain(const struct sd__erf_rec *r, size_t avail, char *buf, size_t len);

/* ERF type for a link type: 2, 22 or 23 (raw IP: by the version nibble of
 * data[0]), or -1 when ERF has none. */
int sd__erf_type_for(const sd_packet *p);

/* Record length sd__erf_encode() writes for p (framing + caplen, capped so
 * rlen fits 16 bits), or 0 when the link type has no ERF type. */
size_t sd__erf_encoded_len(const sd_packet *p);

/* Write p as one ERF record at dst (cap bytes): type 2 with the 2-byte pad
 * for Ethernet, 22/23 for raw IP, no extension headers, the interface and
 * SD_PKT_ERF_* flags in the flags byte (plus the varlen bit), the given
 * lctr, wlen = wirelen (capped at 65535), captured bytes beyond 65535 -
 * framing cut. The timestamp fraction is rounded up so decoding gives back
 * ts exactly. Returns the record length, 0 when cap is too small, or
 * SD_ERR_UNSUPPORTED for a link type ERF cannot carry. */
int sd__erf_encode(uint8_t *dst, size_t cap, const sd_packet *p, uint16_t lctr);

/* Nanoseconds <-> ERF fixed point. */
static inline uint64_t sd__erf_ts_to_ns(uint64_t ts)
{
    return (ts >> 32) * 1000000000u + (((ts & 0xffffffffu) * 1000000000u) >> 32);
}
static inline uint64_t sd__erf_ns_to_ts(uint64_t ns)
{
    uint64_t sec = ns / 1000000000u, rem = ns % 1000000000u;
    /* Round the fraction up: floor(frac * 1e9 / 2^32) is then rem again. */
    return (sec << 32) | (((rem << 32) + 999999999u) / 1000000000u);
}

#endif
