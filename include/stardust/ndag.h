/* stardust: nDAG datagram codec (spec/ndag.md).
 *
 * Decodes and encodes single nDAG datagrams (UDP payloads): the common
 * header, beacons, ENCAPERF and CORSAROTAG data messages with their records,
 * and keepalives; plus the per-stream sequence accounting of ndag.md 12.2.
 * Nothing here opens sockets or allocates memory: every function works on
 * caller memory and keeps no global state.
 *
 * Ownership: sd_ndag_msg, sd_ndag_iter and sd_ndag_record borrow the datagram
 * buffer passed to sd_ndag_decode(); their pointers are valid as long as that
 * buffer is. Thread safety: all functions are reentrant; one sd_ndag_msg,
 * iterator or sd_ndag_seq must not be used by two threads at once.
 *
 * Since: 0.2
 */
#ifndef STARDUST_NDAG_H
#define STARDUST_NDAG_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>
#include <stardust/packet.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SD_NDAG_MAGIC 0x4E444147u /* "NDAG" */
#define SD_NDAG_VERSION 1
#define SD_NDAG_HDR_LEN 8    /* common header (4) */
#define SD_NDAG_ENCAP_LEN 24 /* common + encapsulation header (6) */
#define SD_NDAG_TAG_LEN 94   /* CORSAROTAG record header (9) */
#define SD_NDAG_MAX_DATAGRAM 9000     /* largest datagram stardust sends (13.1) */
#define SD_NDAG_DEFAULT_DATAGRAM 8900 /* default sender limit (13.1) */

/* Message types (5). WARNING: on-wire values. */
enum sd_ndag_type {
    SD_NDAG_BEACON = 1,
    SD_NDAG_ENCAPERF = 2,
    SD_NDAG_RESTARTED = 3, /* reserved: never valid */
    SD_NDAG_ENCAPRT = 4,   /* reserved: never valid */
    SD_NDAG_KEEPALIVE = 5,
    SD_NDAG_CORSAROTAG = 6
};

/* Why a datagram is invalid: the error classes of ndag.md 10, in checking
 * order. sd_ndag_decode() returns the sd_err code noted for each. */
enum sd_ndag_error {
    SD_NDAG_OK = 0,
    SD_NDAG_E_TRUNCATED_HEADER, /* shorter than 8 bytes: SD_ERR_TRUNCATED */
    SD_NDAG_E_BAD_MAGIC,        /* magic is not "NDAG": SD_ERR_FORMAT */
    SD_NDAG_E_BAD_VERSION,      /* version is not 1: SD_ERR_VERSION */
    SD_NDAG_E_BAD_TYPE,         /* type unknown, reserved, or not valid on this socket: SD_ERR_FORMAT */
    SD_NDAG_E_BAD_BEACON,       /* beacon shorter than 10 + 2 * numstreams: SD_ERR_FORMAT */
    SD_NDAG_E_TRUNCATED_ENCAP,  /* data message shorter than 24 bytes: SD_ERR_TRUNCATED */
    SD_NDAG_E_BAD_RECORD_COUNT, /* count 0, flag with count != 1, too few records
                                   or trailing bytes: SD_ERR_FORMAT */
    SD_NDAG_E_BAD_RLEN,         /* rlen < 16, or extension headers/framing past rlen: SD_ERR_FORMAT */
    SD_NDAG_E_RECORD_OVERRUN    /* record header or rlen past the datagram end: SD_ERR_TRUNCATED */
};
#define SD_NDAG_E_COUNT 10 /* number of enum sd_ndag_error values, SD_NDAG_OK included */

/* sd_ndag_decode() flags: which socket the datagram came from (5). With
 * neither, every valid message type is accepted. */
#define SD_NDAG_ON_BEACON 0x1u /* only BEACON is valid */
#define SD_NDAG_ON_STREAM 0x2u /* only ENCAPERF, CORSAROTAG and KEEPALIVE are valid */

/* One decoded datagram. Fields not used by the message type are 0. */
typedef struct sd_ndag_msg {
    const uint8_t *data;  /* the datagram (borrowed) */
    size_t len;           /* its length */
    uint8_t version;      /* common header */
    uint8_t type;         /* enum sd_ndag_type */
    uint16_t monitor_id;
    /* BEACON (11.1) */
    uint16_t num_streams;
    const uint8_t *ports; /* num_streams big-endian u16s: sd_ndag_beacon_port() */
    size_t trailing;      /* bytes after the port list (ignored, 11.1) */
    /* ENCAPERF, CORSAROTAG, and the 24-byte KEEPALIVE (6, 8) */
    int has_encap;        /* 1 when the fields below were on the wire */
    uint8_t started[8];   /* opaque start token (6.2): compare, never interpret */
    uint32_t seqno;
    uint16_t stream_id;
    uint16_t record_count_raw; /* recordcount as sent, flag bit included */
    uint16_t record_count;     /* recordcount & 0x7fff */
    int truncated;             /* flag bit 15: one record, cut by the sender (6.1) */
    /* On failure: the class, and the offset of the offending part. */
    uint8_t error;        /* enum sd_ndag_error */
    size_t error_offset;
} sd_ndag_msg;

/* Decode and fully validate the datagram d of len bytes (all records are
 * checked, ndag.md 10: an invalid datagram delivers nothing). flags:
 * SD_NDAG_ON_BEACON or SD_NDAG_ON_STREAM or 0. Returns 0 with *m filled, or
 * SD_ERR_TRUNCATED, SD_ERR_FORMAT or SD_ERR_VERSION with m->error set to the
 * class (enum sd_ndag_error) and, when errbuf (SD_ERRBUF_SIZE bytes, may be
 * NULL) is given, a message such as "nDAG: record 2 at offset 102: rlen 200
 * but 78 bytes left". SD_ERR_INVAL for NULL m or d with len > 0.
 * Thread: reentrant. Since: 0.2 */
SD_API SD_NODISCARD int sd_ndag_decode(sd_ndag_msg *m, const uint8_t *d, size_t len, unsigned flags,
                                       char *errbuf);

/* Port of stream i (< m->num_streams) of a decoded beacon; 0 when i is out
 * of range or m is not a beacon. Thread: reentrant. Since: 0.2 */
SD_API uint16_t sd_ndag_beacon_port(const sd_ndag_msg *m, unsigned i);

/* The class name of ndag.md 10, e.g. "bad_magic"; "ok" for SD_NDAG_OK and
 * "unknown" for values out of range. Static string. Thread: safe.
 * Since: 0.2 */
SD_API const char *sd_ndag_error_name(int error);

/* The sd_err code sd_ndag_decode() returns for an error class (0 for
 * SD_NDAG_OK). Thread: safe. Since: 0.2 */
SD_API int sd_ndag_error_code(int error);

/* One record of a data message. */
typedef struct sd_ndag_record {
    const uint8_t *rec;  /* first byte of the record (borrowed) */
    size_t offset;       /* of rec from the start of the datagram */
    uint32_t len;        /* bytes the record occupies (to the datagram end
                            when the truncation flag is set) */
    uint32_t rlen;       /* ERF: the rlen field; CORSAROTAG: 94 + pktlen */
    uint8_t erf_type;    /* ERF type (type byte & 0x7f; 255 for 0xff); 0 for tagged */
    uint8_t type_byte;   /* raw ERF type byte */
    uint8_t erf_flags;   /* raw ERF flags byte */
    uint8_t n_ext;       /* ERF extension headers */
    uint16_t lctr;       /* as on the wire (a colour/hash for colour types, 7.6); 0 for tagged */
    uint16_t framing;    /* bytes before the packet: ERF header + extensions + pad, or 94 */
    int has_packet;      /* 0 for ERF META and PAD records: pkt is not filled */
    sd_packet pkt;       /* the packet; data points into the datagram. For
                            tagged records: Ethernet, ts from ts_sec/ts_usec;
                            pkt.tags is NULL here (sd_ndag_recv fills it) */
    const uint8_t *tag;  /* CORSAROTAG: the 94-byte tag header (9); else NULL */
    uint32_t tagger_id;  /* CORSAROTAG: tagger_id and per-packet seqno (9) */
    uint64_t tagger_seqno;
} sd_ndag_record;

/* Iterator over the records of a decoded data message. */
typedef struct sd_ndag_iter {
    const uint8_t *base, *p, *end;
    unsigned left;
    uint8_t type;
    uint8_t truncated;
} sd_ndag_iter;

/* Start iterating over the records of m, which sd_ndag_decode() accepted
 * (for any other message the iterator is empty). Thread: reentrant.
 * Since: 0.2 */
SD_API void sd_ndag_iter_init(sd_ndag_iter *it, const sd_ndag_msg *m);

/* Fill *r with the next record. Returns 1, or 0 after the last one. The
 * packet of the record cut by the sender (6.1) carries
 * SD_PKT_TRUNCATED_BY_SENDER. Records were validated by sd_ndag_decode(), so
 * this never fails; on a datagram changed since, it stops early (0) rather
 * than reading out of bounds. Thread: reentrant. Since: 0.2 */
SD_API int sd_ndag_next(sd_ndag_iter *it, sd_ndag_record *r);

/* ---- encoding (senders, ndag.md 11.2, 6, 13) ---- */

/* Write a beacon for monitor_id listing n ports: exactly 10 + 2n bytes.
 * Returns the length, or SD_ERR_INVAL when cap is too small or ports is
 * NULL with n > 0. Thread: reentrant. Since: 0.2 */
SD_API SD_NODISCARD int sd_ndag_encode_beacon(uint8_t *dst, size_t cap, uint16_t monitor_id,
                                              const uint16_t *ports, uint16_t n);

/* Write a keepalive: the 24-byte stardust form (started, seqno 0,
 * stream_id, recordcount 0), or the 8-byte DAG form when started is NULL
 * (8). Returns the length or SD_ERR_INVAL when cap is too small.
 * Thread: reentrant. Since: 0.2 */
SD_API SD_NODISCARD int sd_ndag_encode_keepalive(uint8_t *dst, size_t cap, uint16_t monitor_id,
                                                 const uint8_t *started, uint16_t stream_id);

/* Header fields of a data message to encode. */
typedef struct sd_ndag_encap {
    uint16_t monitor_id;
    uint8_t started[8]; /* sender start token; must not be all zero (6.2) */
    uint32_t seqno;     /* 1, 2, ... skipping 0: sd_ndag_seq_succ() */
    uint16_t stream_id;
} sd_ndag_encap;

/* Write one ENCAPERF datagram of at most cap bytes (the sender's
 * max_datagram, 13.1; at most 65535 used) from the packets pkts[0..n-1], in
 * order, as ERF type 2 records with the 2-byte pad (22/23 for raw IP), rlen
 * unpadded, wlen = wirelen, no extension headers, lctr 0. A packet whose
 * record would not fit alone is cut to fit, keeping wlen, with the
 * truncation flag clear (6.1 recommended sender behaviour); a packet of a
 * link type ERF cannot carry is skipped. *consumed (required) receives the
 * number of packets used or skipped, at least 1 when n > 0. Returns the
 * datagram length, 0 when no record was written (n == 0 or every consumed
 * packet was skipped: send nothing), or SD_ERR_INVAL (cap < 64, NULL
 * argument, all-zero started). Thread: reentrant. Since: 0.2 */
SD_API SD_NODISCARD int sd_ndag_encode_erf(uint8_t *dst, size_t cap, const sd_ndag_encap *h,
                                           const sd_packet *const *pkts, size_t n, size_t *consumed);

/* Write one CORSAROTAG datagram (message type 6, ndag.md 9, tags.md 3.2)
 * of at most cap bytes (at most 65535 used) from pkts[0..n-1], in order,
 * one 94-byte record header + frame per packet: hashbin 0, header
 * filterbits = the low 4 bits of the tag's filterbits (tags.md 2.2),
 * ts_sec/ts_usec from the nanosecond timestamp (truncated to whole
 * microseconds), pktlen = caplen, wirelen = wirelen (65535 if larger),
 * tagger_id, the per-record seqno *seqno (then advanced: +1 per record,
 * skipping 0; a *seqno of 0 is taken as 1), the tag block of p->tags
 * (sd_tags_encode()). A packet without tags (p->tags NULL) is sent with an
 * all-zero tag block (providers_used 0: nothing known, no filter matched),
 * so the stream stays complete. Only Ethernet frames with at least one
 * captured byte are published (tags.md 3.3): other packets are consumed
 * but skipped. Records are packed while they fit; a record that does not
 * fit an empty datagram is sent alone with the frame cut and pktlen
 * lowered to fit, the truncation flag clear (tags.md 3.3). Never writes a
 * zero-record datagram. *consumed (required) receives the number of
 * packets used or skipped, at least 1 when n > 0. Returns the datagram
 * length, 0 when no record was written (n == 0 or every consumed packet
 * was skipped: send nothing), or SD_ERR_INVAL (cap < 128, NULL argument,
 * all-zero started). Thread: reentrant. Since: 0.3 */
SD_API SD_NODISCARD int sd_ndag_encode_tagged(uint8_t *dst, size_t cap, const sd_ndag_encap *h,
                                              uint32_t tagger_id, uint64_t *seqno,
                                              const sd_packet *const *pkts, size_t n,
                                              size_t *consumed);

/* ---- sequence accounting (ndag.md 12.2) ---- */

/* Per-stream state and counters. Zero it (or sd_ndag_seq_init()) before the
 * first datagram of a stream. Counters are cumulative. */
typedef struct sd_ndag_seq {
    uint8_t started[8];
    uint32_t expected;  /* next seqno; 0 before the first datagram */
    uint32_t probation; /* seqno that would confirm a renumbering; 0 = none */
    uint64_t seen;      /* bit i: the seqno i+1 steps behind expected was accepted */
    int64_t missing;    /* datagrams lost (never packets) */
    uint64_t restarts, resyncs, duplicates, reordered, late;
} sd_ndag_seq;

/* Verdicts of sd_ndag_seq_update(). */
enum sd_ndag_seq_verdict {
    SD_NDAG_SEQ_FIRST = 1,
    SD_NDAG_SEQ_IN_ORDER,
    SD_NDAG_SEQ_GAP,
    SD_NDAG_SEQ_RESTART,
    SD_NDAG_SEQ_RESYNC,
    SD_NDAG_SEQ_DUPLICATE,
    SD_NDAG_SEQ_REORDERED,
    SD_NDAG_SEQ_LATE
};

/* Reset s to the state of a stream nothing was received on.
 * Thread: reentrant. Since: 0.2 */
SD_API void sd_ndag_seq_init(sd_ndag_seq *s);

/* Account one valid data datagram (never a keepalive or an invalid one)
 * with start token started (8 bytes) and seqno. Returns its verdict (enum
 * sd_ndag_seq_verdict). Records of every verdict are still delivered.
 * Thread: reentrant. Since: 0.2 */
SD_API int sd_ndag_seq_update(sd_ndag_seq *s, const uint8_t *started, uint32_t seqno);

/* The verdict's name, e.g. "in_order"; "unknown" when out of range.
 * Thread: safe. Since: 0.2 */
SD_API const char *sd_ndag_seq_verdict_name(int verdict);

/* The seqno after q: q + 1, skipping 0 at the wrap (12.1).
 * Thread: safe. Since: 0.2 */
SD_API uint32_t sd_ndag_seq_succ(uint32_t q);

#ifdef __cplusplus
}
#endif
#endif
