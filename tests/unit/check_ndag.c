/* nDAG codec: every golden vector of ndag/vectors (manifest.json) decodes
 * to exactly its listed fields or fails with its listed error class; the
 * seq-loss.json scenarios give their counters after every event; encoders
 * round-trip and reproduce the vectors made the same way. */
#include "config.h"

#include <stardust/ndag.h>
#include <stardust/tag.h>
#include "erf_int.h"
#include "native_util.h"
#include "ndag_int.h"

struct ndag_vec_msg {
    const char *file;
    size_t length;
    int valid;
    unsigned type, monitor_id, num_streams;
    unsigned ports[8];
    unsigned trailing;
    int has_encap;
    uint8_t started[8];
    uint32_t seqno;
    unsigned stream_id, rc_raw, rc, truncated, nrec;
    const char *error;
};
struct ndag_vec_crec {
    const char *file;
    unsigned idx, offset, erf_type, type_byte, ext, flags, iface, rlen;
    int lctr; /* -1: tagged record, no lctr */
    unsigned wlen, framing, pkt_offset, caplen;
    uint64_t ts_sec;
    uint32_t ts_nsec;
    uint64_t ts_raw;
    uint32_t tagger_id;
    uint64_t tagger_seqno;
};
struct ndag_vec_seq {
    const char *scenario;
    unsigned idx;
    uint8_t started[8];
    uint32_t seqno;
    const char *verdict;
    int64_t counters[6]; /* missing restarts resyncs duplicates reordered late */
};
struct ndag_vec_seq_end {
    const char *scenario;
    unsigned nevents;
    int64_t counters[6];
};
#include "ndag_codec_vectors.inc"

#define NMSGS (sizeof ndag_vec_msgs / sizeof ndag_vec_msgs[0])
#define NCRECS (sizeof ndag_vec_crecs / sizeof ndag_vec_crecs[0])

static uint8_t *load_vec(const char *file, size_t *len)
{
    char rel[256];
    snprintf(rel, sizeof rel, "ndag/vectors/%s", file);
    return sd_test_read_file(sd_test_data(rel), len);
}

/* ---------------------------------------------------------------- decoding */

START_TEST(test_vectors_valid)
{
    ck_assert_uint_eq(NMSGS, 27);
    ck_assert_uint_eq(NCRECS, 10);
    unsigned nvalid = 0, nrec_seen = 0;
    for (size_t i = 0; i < NMSGS; i++) {
        const struct ndag_vec_msg *v = &ndag_vec_msgs[i];
        if (!v->valid)
            continue;
        nvalid++;
        size_t len;
        uint8_t *dg = load_vec(v->file, &len);
        ck_assert_uint_eq(len, v->length);
        sd_ndag_msg m;
        char eb[SD_ERRBUF_SIZE] = "";
        unsigned sock = v->type == SD_NDAG_BEACON ? SD_NDAG_ON_BEACON : SD_NDAG_ON_STREAM;
        int rc = sd_ndag_decode(&m, dg, len, sock, eb);
        ck_assert_msg(rc == 0, "%s: %s (%s)", v->file, sd_errname(rc), eb);
        ck_assert_uint_eq(m.error, SD_NDAG_OK);
        ck_assert_ptr_eq(m.data, dg);
        ck_assert_uint_eq(m.len, len);
        ck_assert_uint_eq(m.version, 1);
        ck_assert_uint_eq(m.type, v->type);
        ck_assert_uint_eq(m.monitor_id, v->monitor_id);
        ck_assert_uint_eq(m.num_streams, v->num_streams);
        for (unsigned k = 0; k < v->num_streams; k++)
            ck_assert_uint_eq(sd_ndag_beacon_port(&m, k), v->ports[k]);
        ck_assert_uint_eq(sd_ndag_beacon_port(&m, v->num_streams), 0);
        ck_assert_uint_eq(m.trailing, v->trailing);
        ck_assert_int_eq(m.has_encap, v->has_encap);
        if (v->has_encap)
            ck_assert_mem_eq(m.started, v->started, 8);
        ck_assert_uint_eq(m.seqno, v->seqno);
        ck_assert_uint_eq(m.stream_id, v->stream_id);
        ck_assert_uint_eq(m.record_count_raw, v->rc_raw);
        ck_assert_uint_eq(m.record_count, v->rc);
        ck_assert_int_eq(m.truncated, (int)v->truncated);
        /* The same datagram with no socket restriction decodes alike. */
        sd_ndag_msg m2;
        ck_assert_int_eq(sd_ndag_decode(&m2, dg, len, 0, NULL), 0);
        ck_assert_mem_eq(&m2, &m, sizeof m);

        sd_ndag_iter it;
        sd_ndag_iter_init(&it, &m);
        sd_ndag_record r;
        unsigned n = 0;
        while (sd_ndag_next(&it, &r)) {
            const struct ndag_vec_crec *e = NULL;
            for (size_t k = 0; k < NCRECS; k++)
                if (strcmp(ndag_vec_crecs[k].file, v->file) == 0 && ndag_vec_crecs[k].idx == n)
                    e = &ndag_vec_crecs[k];
            ck_assert_msg(e != NULL, "%s: unexpected record %u", v->file, n);
            ck_assert_uint_eq(r.offset, e->offset);
            ck_assert_ptr_eq(r.rec, dg + e->offset);
            ck_assert_uint_eq(r.rlen, e->rlen);
            ck_assert_uint_eq(r.framing, e->framing);
            ck_assert_int_eq(r.has_packet, 1);
            ck_assert_ptr_eq(r.pkt.data, dg + e->pkt_offset);
            ck_assert_uint_eq(r.pkt.caplen, e->caplen);
            ck_assert_uint_eq(r.pkt.wirelen, e->wlen);
            ck_assert_uint_eq(r.pkt.ts, e->ts_sec * 1000000000u + e->ts_nsec);
            ck_assert_uint_eq(r.pkt.linktype, SD_LINK_ETHERNET);
            ck_assert_ptr_null(r.pkt.tags);
            ck_assert_uint_eq(r.pkt.flags, v->truncated ? SD_PKT_TRUNCATED_BY_SENDER : 0);
            if (e->lctr < 0) {
                ck_assert_uint_eq(v->type, SD_NDAG_CORSAROTAG);
                ck_assert_ptr_eq(r.tag, dg + e->offset);
                ck_assert_uint_eq(r.len, 94 + e->caplen);
                ck_assert_uint_eq(r.tagger_id, e->tagger_id);
                ck_assert_uint_eq(r.tagger_seqno, e->tagger_seqno);
                ck_assert_uint_eq(r.lctr, 0);
                ck_assert_uint_eq(r.pkt.lctr, 0);
                /* libtrace's timestamp of a tagged packet (9). */
                uint64_t sec = r.pkt.ts / 1000000000u, usec = r.pkt.ts / 1000u % 1000000u;
                ck_assert_uint_eq((sec << 32) + ((usec << 32) / 1000000u), e->ts_raw);
            } else {
                ck_assert_ptr_null(r.tag);
                ck_assert_uint_eq(r.len, e->rlen);
                ck_assert_uint_eq(r.erf_type, e->erf_type);
                ck_assert_uint_eq(r.type_byte, e->type_byte);
                ck_assert_uint_eq(r.n_ext, e->ext);
                ck_assert_uint_eq(r.erf_flags, e->flags);
                ck_assert_uint_eq(r.pkt.iface, e->iface);
                ck_assert_uint_eq(r.lctr, (unsigned)e->lctr);
                ck_assert_uint_eq(r.pkt.lctr, e->erf_type == 20 ? 0 : (unsigned)e->lctr);
                uint64_t want = e->ts_sec * 1000000000u + e->ts_nsec;
                ck_assert_uint_eq(want, (e->ts_raw >> 32) * 1000000000u +
                                            (((e->ts_raw & 0xffffffffu) * 1000000000u) >> 32));
            }
            n++;
            nrec_seen++;
        }
        ck_assert_uint_eq(n, v->nrec);
        ck_assert_int_eq(sd_ndag_next(&it, &r), 0);
        free(dg);
    }
    ck_assert_uint_eq(nvalid, 12);
    ck_assert_uint_eq(nrec_seen, NCRECS);
}
END_TEST

START_TEST(test_vectors_malformed)
{
    unsigned nbad = 0;
    for (size_t i = 0; i < NMSGS; i++) {
        const struct ndag_vec_msg *v = &ndag_vec_msgs[i];
        if (v->valid)
            continue;
        nbad++;
        size_t len;
        uint8_t *dg = load_vec(v->file, &len);
        ck_assert_uint_eq(len, v->length);
        unsigned sock = v->type == SD_NDAG_BEACON ? SD_NDAG_ON_BEACON : SD_NDAG_ON_STREAM;
        sd_ndag_msg m;
        char eb[SD_ERRBUF_SIZE] = "";
        int rc = sd_ndag_decode(&m, dg, len, sock, eb);
        ck_assert_msg(strcmp(sd_ndag_error_name(m.error), v->error) == 0, "%s: class %s, want %s (%s)",
                      v->file, sd_ndag_error_name(m.error), v->error, eb);
        ck_assert_int_eq(rc, sd_ndag_error_code(m.error));
        ck_assert_int_lt(rc, 0);
        ck_assert_msg(strstr(eb, v->error) != NULL, "%s: message '%s'", v->file, eb);
        /* An invalid datagram delivers nothing (10). */
        sd_ndag_iter it;
        sd_ndag_iter_init(&it, &m);
        sd_ndag_record r;
        ck_assert_int_eq(sd_ndag_next(&it, &r), 0);
        free(dg);
    }
    ck_assert_uint_eq(nbad, 15);
}
END_TEST

START_TEST(test_error_names)
{
    static const char *const names[] = {"ok",          "truncated_header", "bad_magic",
                                        "bad_version", "bad_type",         "bad_beacon",
                                        "truncated_encap", "bad_record_count", "bad_rlen",
                                        "record_overrun"};
    static const int codes[] = {0,
                                SD_ERR_TRUNCATED,
                                SD_ERR_FORMAT,
                                SD_ERR_VERSION,
                                SD_ERR_FORMAT,
                                SD_ERR_FORMAT,
                                SD_ERR_TRUNCATED,
                                SD_ERR_FORMAT,
                                SD_ERR_FORMAT,
                                SD_ERR_TRUNCATED};
    for (int i = 0; i < SD_NDAG_E_COUNT; i++) {
        ck_assert_str_eq(sd_ndag_error_name(i), names[i]);
        ck_assert_int_eq(sd_ndag_error_code(i), codes[i]);
    }
    ck_assert_str_eq(sd_ndag_error_name(-1), "unknown");
    ck_assert_str_eq(sd_ndag_error_name(SD_NDAG_E_COUNT), "unknown");
}
END_TEST

/* Socket restriction (5) and the edge cases the vectors do not cover. */
START_TEST(test_decode_edges)
{
    size_t len;
    uint8_t *b = load_vec("beacon-1stream.bin", &len);
    sd_ndag_msg m;
    ck_assert_int_eq(sd_ndag_decode(&m, b, len, SD_NDAG_ON_STREAM, NULL), SD_ERR_FORMAT);
    ck_assert_uint_eq(m.error, SD_NDAG_E_BAD_TYPE);
    free(b);
    uint8_t *e = load_vec("encaperf-1rec.bin", &len);
    ck_assert_int_eq(sd_ndag_decode(&m, e, len, SD_NDAG_ON_BEACON, NULL), SD_ERR_FORMAT);
    ck_assert_uint_eq(m.error, SD_NDAG_E_BAD_TYPE);
    /* Every prefix of a valid data datagram is invalid, with no crash. */
    for (size_t n = 0; n < len; n++) {
        ck_assert_int_lt(sd_ndag_decode(&m, e, n, 0, NULL), 0);
        ck_assert_uint_ne(m.error, SD_NDAG_OK);
    }
    /* Flag with more than one record. */
    uint8_t *l = load_vec("encaperf-lctr.bin", &len);
    l[22] |= 0x80;
    ck_assert_int_eq(sd_ndag_decode(&m, l, len, 0, NULL), SD_ERR_FORMAT);
    ck_assert_uint_eq(m.error, SD_NDAG_E_BAD_RECORD_COUNT);
    free(l);
    /* Extension headers past rlen: bad_rlen. */
    uint8_t *x = load_vec("encaperf-exthdr.bin", &len);
    x[24 + 10] = 0;
    x[24 + 11] = 24; /* rlen 24: one extension header fits, the second does not */
    ck_assert_int_eq(sd_ndag_decode(&m, x, len, 0, NULL), SD_ERR_FORMAT);
    ck_assert_uint_eq(m.error, SD_NDAG_E_BAD_RLEN);
    free(x);
    /* Tagged record whose pktlen runs past the end. */
    uint8_t *t = load_vec("corsarotag-1rec.bin", &len);
    t[24 + 11] = 0x10;
    ck_assert_int_eq(sd_ndag_decode(&m, t, len, 0, NULL), SD_ERR_TRUNCATED);
    ck_assert_uint_eq(m.error, SD_NDAG_E_RECORD_OVERRUN);
    free(t);
    /* Where the failure is. */
    static const struct {
        const char *file;
        size_t offset;
    } where[] = {{"rlen-past-end.bin", 24}, {"reccount-overflow.bin", 180}, {"trailing-bytes.bin", 102},
                 {"bad-version-2.bin", 4}, {"bad-type-9.bin", 5}, {"reccount-zero.bin", 22}};
    for (size_t i = 0; i < sizeof where / sizeof where[0]; i++) {
        size_t blen;
        uint8_t *bad = load_vec(where[i].file, &blen);
        ck_assert_int_lt(sd_ndag_decode(&m, bad, blen, 0, NULL), 0);
        ck_assert_uint_eq(m.error_offset, where[i].offset);
        free(bad);
    }
    /* A tagged record longer than 65535 bytes (94 + pktlen) is fine. */
    uint8_t *big = calloc(1, 24 + 94 + 65535);
    ck_assert_ptr_nonnull(big);
    uint8_t *t1 = load_vec("corsarotag-1rec.bin", &len);
    memcpy(big, t1, 24 + 94);
    big[24 + 11] = 0xff;
    big[24 + 12] = 0xff;
    ck_assert_int_eq(sd_ndag_decode(&m, big, 24 + 94 + 65535, 0, NULL), 0);
    sd_ndag_iter it;
    sd_ndag_record r;
    sd_ndag_iter_init(&it, &m);
    ck_assert_int_eq(sd_ndag_next(&it, &r), 1);
    ck_assert_uint_eq(r.len, 94 + 65535);
    ck_assert_uint_eq(r.pkt.caplen, 65535);
    ck_assert_int_eq(sd_ndag_next(&it, &r), 0);
    free(t1);
    free(big);
    len = 102;
    ck_assert_int_eq(sd_ndag_decode(NULL, e, len, 0, NULL), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_decode(&m, NULL, 5, 0, NULL), SD_ERR_INVAL);
    free(e);
}
END_TEST

/* ---------------------------------------------------------------- sequence */

static void check_counters(const sd_ndag_seq *s, const int64_t c[6], const char *name, unsigned idx)
{
    const int64_t got[6] = {s->missing,
                            (int64_t)s->restarts,
                            (int64_t)s->resyncs,
                            (int64_t)s->duplicates,
                            (int64_t)s->reordered,
                            (int64_t)s->late};
    for (int k = 0; k < 6; k++)
        ck_assert_msg(got[k] == c[k], "%s event %u: counter %d is %lld, want %lld", name, idx, k,
                      (long long)got[k], (long long)c[k]);
}

START_TEST(test_seq_scenarios)
{
    size_t nev = sizeof ndag_vec_seqs / sizeof ndag_vec_seqs[0];
    size_t nsc = sizeof ndag_vec_seq_ends / sizeof ndag_vec_seq_ends[0];
    ck_assert_uint_eq(nsc, 16);
    size_t ev = 0;
    for (size_t i = 0; i < nsc; i++) {
        const struct ndag_vec_seq_end *sc = &ndag_vec_seq_ends[i];
        sd_ndag_seq s;
        sd_ndag_seq_init(&s);
        for (unsigned k = 0; k < sc->nevents; k++, ev++) {
            ck_assert_uint_lt(ev, nev);
            const struct ndag_vec_seq *e = &ndag_vec_seqs[ev];
            ck_assert_str_eq(e->scenario, sc->scenario);
            ck_assert_uint_eq(e->idx, k);
            int verdict = sd_ndag_seq_update(&s, e->started, e->seqno);
            ck_assert_msg(strcmp(sd_ndag_seq_verdict_name(verdict), e->verdict) == 0,
                          "%s event %u (seqno %u): verdict %s, want %s", sc->scenario, k,
                          (unsigned)e->seqno, sd_ndag_seq_verdict_name(verdict), e->verdict);
            check_counters(&s, e->counters, sc->scenario, k);
        }
        check_counters(&s, sc->counters, sc->scenario, sc->nevents);
    }
    ck_assert_uint_eq(ev, nev);
}
END_TEST

START_TEST(test_seq_window)
{
    static const uint8_t tok[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    sd_ndag_seq s;
    sd_ndag_seq_init(&s);
    ck_assert_int_eq(sd_ndag_seq_update(&s, tok, 1), SD_NDAG_SEQ_FIRST);
    ck_assert_int_eq(sd_ndag_seq_update(&s, tok, 100), SD_NDAG_SEQ_GAP);
    ck_assert_int_eq(s.missing, 98);
    /* 64 behind the expected 101 is 37: inside the window; 36 is late. */
    ck_assert_int_eq(sd_ndag_seq_update(&s, tok, 37), SD_NDAG_SEQ_REORDERED);
    ck_assert_int_eq(sd_ndag_seq_update(&s, tok, 37), SD_NDAG_SEQ_DUPLICATE);
    ck_assert_int_eq(sd_ndag_seq_update(&s, tok, 100), SD_NDAG_SEQ_DUPLICATE);
    ck_assert_int_eq(sd_ndag_seq_update(&s, tok, 36), SD_NDAG_SEQ_LATE);
    ck_assert_int_eq(s.missing, 97);
    ck_assert_uint_eq(s.late, 1);
    ck_assert_uint_eq(sd_ndag_seq_succ(0xffffffffu), 1);
    ck_assert_uint_eq(sd_ndag_seq_succ(7), 8);
    ck_assert_str_eq(sd_ndag_seq_verdict_name(0), "unknown");
    ck_assert_str_eq(sd_ndag_seq_verdict_name(SD_NDAG_SEQ_LATE), "late");
}
END_TEST

/* ---------------------------------------------------------------- encoding */

static const uint8_t started_vec[8] = {0x7a, 0x56, 0x4f, 0xe9, 0x0f, 0x00, 0x00, 0x00};

START_TEST(test_encode_beacon)
{
    static const struct {
        const char *file;
        uint16_t monitor;
        uint16_t n;
    } made_alike[] = {{"beacon-1stream.bin", 1, 1}, {"beacon-8streams.bin", 7, 8}};
    uint16_t ports[8];
    for (int i = 0; i < 8; i++)
        ports[i] = (uint16_t)(44001 + i);
    for (size_t i = 0; i < 2; i++) {
        size_t len;
        uint8_t *want = load_vec(made_alike[i].file, &len);
        uint8_t buf[64];
        int n = sd_ndag_encode_beacon(buf, sizeof buf, made_alike[i].monitor, ports, made_alike[i].n);
        ck_assert_int_eq(n, (int)len);
        ck_assert_mem_eq(buf, want, len);
        free(want);
    }
    /* Round trip of the spec 11.1 example. */
    static const uint8_t ex[] = {0x4E, 0x44, 0x41, 0x47, 0x01, 0x01, 0x00, 0x01,
                                 0x00, 0x02, 0x7F, 0x57, 0x7F, 0x59};
    uint16_t p2[2] = {32599, 32601};
    uint8_t buf[32];
    ck_assert_int_eq(sd_ndag_encode_beacon(buf, sizeof buf, 1, p2, 2), 14);
    ck_assert_mem_eq(buf, ex, 14);
    sd_ndag_msg m;
    ck_assert_int_eq(sd_ndag_decode(&m, buf, 14, SD_NDAG_ON_BEACON, NULL), 0);
    ck_assert_uint_eq(m.num_streams, 2);
    ck_assert_uint_eq(sd_ndag_beacon_port(&m, 1), 32601);
    ck_assert_int_eq(sd_ndag_encode_beacon(buf, 13, 1, p2, 2), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_encode_beacon(buf, sizeof buf, 1, NULL, 2), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_encode_beacon(buf, sizeof buf, 9, NULL, 0), 10);
}
END_TEST

START_TEST(test_encode_keepalive)
{
    size_t len;
    uint8_t *want = load_vec("keepalive-24.bin", &len);
    uint8_t buf[24];
    ck_assert_int_eq(sd_ndag_encode_keepalive(buf, sizeof buf, 1, started_vec, 0), 24);
    ck_assert_uint_eq(len, 24);
    ck_assert_mem_eq(buf, want, 24);
    free(want);
    want = load_vec("keepalive-8.bin", &len);
    ck_assert_int_eq(sd_ndag_encode_keepalive(buf, sizeof buf, 1, NULL, 0), 8);
    ck_assert_uint_eq(len, 8);
    ck_assert_mem_eq(buf, want, 8);
    free(want);
    ck_assert_int_eq(sd_ndag_encode_keepalive(buf, 23, 1, started_vec, 3), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_encode_keepalive(buf, sizeof buf, 0x1234, started_vec, 3), 24);
    sd_ndag_msg m;
    ck_assert_int_eq(sd_ndag_decode(&m, buf, 24, SD_NDAG_ON_STREAM, NULL), 0);
    ck_assert_uint_eq(m.type, SD_NDAG_KEEPALIVE);
    ck_assert_uint_eq(m.monitor_id, 0x1234);
    ck_assert_int_eq(m.has_encap, 1);
    ck_assert_uint_eq(m.stream_id, 3);
    ck_assert_uint_eq(m.seqno, 0);
    ck_assert_mem_eq(m.started, started_vec, 8);
    sd_ndag_iter it;
    sd_ndag_iter_init(&it, &m);
    sd_ndag_record r;
    ck_assert_int_eq(sd_ndag_next(&it, &r), 0); /* no records in a keepalive */
}
END_TEST

/* The worked example of 7.7, rebuilt from its packet. */
START_TEST(test_encode_erf_vector)
{
    size_t len;
    uint8_t *want = load_vec("encaperf-1rec.bin", &len);
    sd_packet p = {0};
    p.ts = UINT64_C(1577836800500000000);
    p.data = want + 42;
    p.caplen = 60;
    p.wirelen = 64;
    p.linktype = SD_LINK_ETHERNET;
    const sd_packet *pp = &p;
    sd_ndag_encap h = {.monitor_id = 1, .seqno = 1, .stream_id = 0};
    memcpy(h.started, started_vec, 8);
    uint8_t buf[256];
    size_t used;
    int n = sd_ndag_encode_erf(buf, sizeof buf, &h, &pp, 1, &used);
    ck_assert_int_eq(n, (int)len);
    ck_assert_uint_eq(used, 1);
    /* Equal except the flags byte: the ERF encoder sets the varlen bit. */
    ck_assert_mem_eq(buf, want, 33);
    ck_assert_mem_eq(buf + 34, want + 34, len - 34);
    ck_assert_uint_eq(buf[33] & ~SD__ERF_FLAG_VARLEN, want[33]);
    /* Argument checks. */
    ck_assert_int_eq(sd_ndag_encode_erf(buf, 63, &h, &pp, 1, &used), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_encode_erf(buf, sizeof buf, &h, &pp, 1, NULL), SD_ERR_INVAL);
    memset(h.started, 0, 8);
    ck_assert_int_eq(sd_ndag_encode_erf(buf, sizeof buf, &h, &pp, 1, &used), SD_ERR_INVAL);
    memcpy(h.started, started_vec, 8);
    ck_assert_int_eq(sd_ndag_encode_erf(buf, sizeof buf, &h, &pp, 0, &used), 0);
    ck_assert_uint_eq(used, 0);
    /* A link type ERF cannot carry is skipped. */
    sd_packet q = p;
    q.linktype = SD_LINK_LINUX_SLL;
    const sd_packet *qq[2] = {&q, &p};
    n = sd_ndag_encode_erf(buf, sizeof buf, &h, qq, 1, &used);
    ck_assert_int_eq(n, 0);
    ck_assert_uint_eq(used, 1);
    n = sd_ndag_encode_erf(buf, sizeof buf, &h, qq, 2, &used);
    ck_assert_int_eq(n, 102);
    ck_assert_uint_eq(used, 2);
    free(want); /* p.data points into it */
}
END_TEST

/* 100_packets.pcap through datagrams of at most 8900 bytes and back. */
START_TEST(test_encode_erf_roundtrip)
{
    struct ref_pkt *ref;
    int lt;
    size_t npk = load_pcap(sd_test_data("pcap/libtrace/100_packets.pcap"), &ref, &lt);
    ck_assert_uint_eq(npk, 100);
    ck_assert_int_eq(lt, 1);
    sd_packet *pk = calloc(npk, sizeof *pk);
    const sd_packet **pp = calloc(npk, sizeof *pp);
    ck_assert_ptr_nonnull(pk);
    ck_assert_ptr_nonnull(pp);
    for (size_t i = 0; i < npk; i++) {
        pk[i].ts = ref[i].ts_us * 1000u;
        pk[i].data = ref[i].data;
        pk[i].caplen = ref[i].caplen;
        pk[i].wirelen = ref[i].wirelen;
        pk[i].linktype = SD_LINK_ETHERNET;
        pk[i].iface = (uint16_t)(i % 4);
        pp[i] = &pk[i];
    }
    static uint8_t dg[SD_NDAG_DEFAULT_DATAGRAM];
    sd_ndag_encap h = {.monitor_id = 9, .seqno = 0xffffffffu, .stream_id = 2};
    memcpy(h.started, started_vec, 8);
    sd_ndag_seq seq;
    sd_ndag_seq_init(&seq);
    size_t done = 0, got = 0, ndg = 0;
    while (done < npk) {
        size_t used;
        int n = sd_ndag_encode_erf(dg, sizeof dg, &h, pp + done, npk - done, &used);
        ck_assert_int_gt(n, 0);
        ck_assert_int_le(n, SD_NDAG_DEFAULT_DATAGRAM);
        ck_assert_uint_ge(used, 1);
        sd_ndag_msg m;
        char eb[SD_ERRBUF_SIZE];
        ck_assert_msg(sd_ndag_decode(&m, dg, (size_t)n, SD_NDAG_ON_STREAM, eb) == 0, "%s", eb);
        ck_assert_uint_eq(m.type, SD_NDAG_ENCAPERF);
        ck_assert_uint_eq(m.monitor_id, 9);
        ck_assert_uint_eq(m.stream_id, 2);
        ck_assert_uint_eq(m.seqno, h.seqno);
        ck_assert_uint_eq(m.record_count, used);
        ck_assert_int_eq(m.truncated, 0);
        /* Closed only because the next packet did not fit. */
        if (done + used < npk)
            ck_assert_uint_gt((size_t)n + 18 + pk[done + used].caplen, sizeof dg);
        ck_assert_int_eq(sd_ndag_seq_update(&seq, m.started, m.seqno),
                         ndg == 0 ? SD_NDAG_SEQ_FIRST : SD_NDAG_SEQ_IN_ORDER);
        sd_ndag_iter it;
        sd_ndag_iter_init(&it, &m);
        sd_ndag_record r;
        while (sd_ndag_next(&it, &r)) {
            const sd_packet *w = &pk[got];
            ck_assert_uint_eq(r.erf_type, 2);
            ck_assert_uint_eq(r.n_ext, 0);
            ck_assert_uint_eq(r.framing, 18);
            ck_assert_uint_eq(r.rlen, 18 + w->caplen);
            ck_assert_uint_eq(r.pkt.ts, w->ts);
            ck_assert_uint_eq(r.pkt.caplen, w->caplen);
            ck_assert_uint_eq(r.pkt.wirelen, w->wirelen);
            ck_assert_uint_eq(r.pkt.iface, w->iface);
            ck_assert_uint_eq(r.pkt.lctr, 0);
            ck_assert_mem_eq(r.pkt.data, w->data, w->caplen);
            got++;
        }
        done += used;
        ndg++;
        h.seqno = sd_ndag_seq_succ(h.seqno);
    }
    ck_assert_uint_eq(got, npk);
    ck_assert_uint_ge(ndg, 1);
    ck_assert_int_eq(seq.missing, 0);
    free(pp);
    free(pk);
    free_pcap(ref, npk);
}
END_TEST

/* A packet too big for one datagram is cut, wlen kept, flag clear (6.1). */
START_TEST(test_encode_erf_oversize)
{
    static uint8_t frame[9018], dg[9000];
    for (size_t i = 0; i < sizeof frame; i++)
        frame[i] = (uint8_t)(i * 7);
    sd_packet p = {.ts = 1, .data = frame, .caplen = 9018, .wirelen = 9022, .linktype = SD_LINK_ETHERNET};
    sd_packet small = p;
    small.caplen = small.wirelen = 60;
    const sd_packet *pp[3] = {&small, &p, &small};
    sd_ndag_encap h = {.monitor_id = 1, .seqno = 5};
    memcpy(h.started, started_vec, 8);
    size_t used;
    int n = sd_ndag_encode_erf(dg, sizeof dg, &h, pp, 3, &used);
    ck_assert_int_eq(n, 24 + 18 + 60);
    ck_assert_uint_eq(used, 1);
    n = sd_ndag_encode_erf(dg, sizeof dg, &h, pp + 1, 2, &used);
    ck_assert_int_eq(n, 9000);
    ck_assert_uint_eq(used, 1);
    sd_ndag_msg m;
    ck_assert_int_eq(sd_ndag_decode(&m, dg, (size_t)n, 0, NULL), 0);
    ck_assert_int_eq(m.truncated, 0);
    ck_assert_uint_eq(m.record_count_raw, 1);
    sd_ndag_iter it;
    sd_ndag_iter_init(&it, &m);
    sd_ndag_record r;
    ck_assert_int_eq(sd_ndag_next(&it, &r), 1);
    ck_assert_uint_eq(r.rlen, 8976);
    ck_assert_uint_eq(r.pkt.caplen, 8958);
    ck_assert_uint_eq(r.pkt.wirelen, 9022);
    ck_assert_mem_eq(r.pkt.data, frame, 8958);
    ck_assert_int_eq(sd_ndag_next(&it, &r), 0);
}
END_TEST

/* ------------------------------------------- fast paths against reference */

static int same_packet(const sd_packet *a, const sd_packet *b)
{
    return a->ts == b->ts && a->data == b->data && a->caplen == b->caplen && a->wirelen == b->wirelen &&
           a->linktype == b->linktype && a->flags == b->flags && a->iface == b->iface &&
           a->lctr == b->lctr && a->tags == b->tags;
}

static int same_record(const sd_ndag_record *a, const sd_ndag_record *b)
{
    return a->rec == b->rec && a->offset == b->offset && a->len == b->len && a->rlen == b->rlen &&
           a->erf_type == b->erf_type && a->type_byte == b->type_byte && a->erf_flags == b->erf_flags &&
           a->n_ext == b->n_ext && a->lctr == b->lctr && a->framing == b->framing &&
           a->has_packet == b->has_packet && (!a->has_packet || same_packet(&a->pkt, &b->pkt)) &&
           a->tag == b->tag && a->tagger_id == b->tagger_id && a->tagger_seqno == b->tagger_seqno;
}

/* sd_ndag_decode()/sd_ndag_next() (fast paths) give exactly what the
 * reference forms give: result, message, *m, every record. Returns the
 * number of records. */
static unsigned check_same(const uint8_t *dg, size_t len, unsigned flags, const char *what, size_t pos)
{
    sd_ndag_msg m, mr;
    char eb[SD_ERRBUF_SIZE] = "", ebr[SD_ERRBUF_SIZE] = "";
    int rc = sd_ndag_decode(&m, dg, len, flags, eb);
    int rcr = sd__ndag_decode_ref(&mr, dg, len, flags, ebr);
    ck_assert_msg(rc == rcr, "%s @%zu: rc %d, reference %d", what, pos, rc, rcr);
    ck_assert_msg(strcmp(eb, ebr) == 0, "%s @%zu: '%s' vs '%s'", what, pos, eb, ebr);
    ck_assert_msg(memcmp(&m, &mr, sizeof m) == 0, "%s @%zu: sd_ndag_msg differs", what, pos);
    sd_ndag_iter it, itr;
    sd_ndag_iter_init(&it, &m);
    sd_ndag_iter_init(&itr, &mr);
    unsigned n = 0;
    for (;;) {
        sd_ndag_record r, rr;
        memset(&r, 0xa5, sizeof r); /* stale contents must not show through */
        memset(&rr, 0x5a, sizeof rr);
        int got = sd_ndag_next(&it, &r);
        int gotr = sd__ndag_next_ref(&itr, &rr);
        ck_assert_msg(got == gotr, "%s @%zu: record %u: next %d, reference %d", what, pos, n, got, gotr);
        if (!got)
            break;
        ck_assert_msg(same_record(&r, &rr), "%s @%zu: record %u differs", what, pos, n);
        ck_assert_mem_eq(&it, &itr, sizeof it);
        n++;
    }
    return n;
}

static size_t put_erf(uint8_t *p, uint8_t type_byte, uint8_t flags, uint16_t rlen, uint16_t lctr,
                      uint16_t wlen, uint64_t ts)
{
    sd__put_le64(p, ts);
    p[8] = type_byte;
    p[9] = flags;
    sd__put_be16(p + 10, rlen);
    sd__put_be16(p + 12, lctr);
    sd__put_be16(p + 14, wlen);
    for (size_t k = 16; k < rlen; k++)
        p[k] = (uint8_t)(k * 7 + type_byte);
    return rlen;
}

/* One datagram with every kind of record the fast paths must tell apart. */
static size_t build_mixed(uint8_t *dg)
{
    static const uint8_t tok[8] = {0x7a, 0x56, 0x4f, 0xe9, 0x0f, 0, 0, 0};
    size_t off = 24;
    uint64_t ts = ((uint64_t)1700000000 << 32) | 0x9abcdef1u;
    off += put_erf(dg + off, 2, 0x04, 18 + 60, 0, 64, ts);      /* Ethernet, caplen 60 < wlen */
    off += put_erf(dg + off, 22, 0x05, 16 + 40, 3, 40, ts + 1); /* IPv4, iface 1, lctr */
    off += put_erf(dg + off, 23, 0x0e, 16 + 52, 0, 48, ts + 7); /* IPv6, ERF trunc, 4 pad bytes */
    off += put_erf(dg + off, 2, 0x14, 18 + 30, 7, 30, ts);      /* RX error: caplen 0 */
    off += put_erf(dg + off, 2, 0x27, 18 + 20, 0, 20, 0);       /* DS error, iface 3, ts 0 */
    off += put_erf(dg + off, 0x82, 0x04, 16 + 8 + 2 + 20, 0, 20, ts); /* one extension header */
    dg[off - 46 + 16] = 0x05;                                    /* ext header, no more */
    off += put_erf(dg + off, 11, 0x04, 18 + 20, 0x1234, 20, ts); /* colour Ethernet */
    off += put_erf(dg + off, 27, 0x04, 24, 0, 0, ts);            /* META: no packet */
    off += put_erf(dg + off, 0xff, 0x04, 20, 0, 4, ts);          /* tracemcast type */
    off += put_erf(dg + off, 22, 0x04, 16, 0, 0, ts);            /* empty IPv4 */
    off += put_erf(dg + off, 2, 0x04, 18 + 62, 0, 10, ts);       /* wlen < captured */
    off += put_erf(dg + off, 1, 0x04, 16 + 8, 0, 8, ts);         /* HDLC: unknown link */
    sd__put_be32(dg, SD_NDAG_MAGIC);
    dg[4] = 1;
    dg[5] = SD_NDAG_ENCAPERF;
    sd__put_be16(dg + 6, 9);
    memcpy(dg + 8, tok, 8);
    sd__put_be32(dg + 16, 42);
    sd__put_be16(dg + 20, 3);
    sd__put_be16(dg + 22, 12);
    return off;
}

START_TEST(test_fast_vectors)
{
    for (size_t i = 0; i < NMSGS; i++) {
        size_t len;
        uint8_t *dg = load_vec(ndag_vec_msgs[i].file, &len);
        check_same(dg, len, 0, ndag_vec_msgs[i].file, 0);
        check_same(dg, len, SD_NDAG_ON_STREAM, ndag_vec_msgs[i].file, 0);
        free(dg);
    }
}
END_TEST

START_TEST(test_fast_mutations)
{
    static const uint8_t vals[] = {0x00, 0x01, 0x02, 0x04, 0x0b, 0x0f, 0x10, 0x11, 0x12,
                                   0x16, 0x17, 0x1b, 0x30, 0x7f, 0x80, 0x82, 0x96, 0xff};
    uint8_t dg[1024], mut[1024];
    size_t len = build_mixed(dg);
    ck_assert_uint_lt(len, sizeof dg);
    ck_assert_uint_eq(check_same(dg, len, 0, "mixed", 0), 12);
    /* Every prefix, every byte changed to values that move record
     * boundaries, types, flags and extension bits. */
    for (size_t n = 0; n < len; n++)
        ck_assert_uint_eq(check_same(dg, n, SD_NDAG_ON_STREAM, "prefix", n), 0);
    for (size_t pos = 0; pos < len; pos++) {
        for (size_t k = 0; k < sizeof vals + 1; k++) {
            memcpy(mut, dg, len);
            mut[pos] = k < sizeof vals ? vals[k] : (uint8_t)(dg[pos] ^ 1);
            check_same(mut, len, 0, "mutated", pos);
        }
    }
    /* The truncation flag: one record running to the datagram end. */
    sd__put_be16(dg + 22, 0x8001);
    for (size_t n = 24; n <= len; n++)
        ck_assert_uint_eq(check_same(dg, n, 0, "flagged", n), (n >= 24 + 18 ? 1u : 0u)); /* Ethernet framing 18 */
    /* A changed datagram after decoding: the iterator stops, never overruns. */
    sd__put_be16(dg + 22, 12);
    sd_ndag_msg m;
    ck_assert_int_eq(sd_ndag_decode(&m, dg, len, 0, NULL), 0);
    sd__put_be16(dg + 24 + 10, 0xffff);
    sd_ndag_iter it;
    sd_ndag_record r;
    sd_ndag_iter_init(&it, &m);
    ck_assert_int_eq(sd_ndag_next(&it, &r), 0);
}
END_TEST

/* ---------------------------------------------------------------- tagged (tags.md 3) */

/* The worked example of tags.md 3.2: the 94-byte record header. */
static const uint8_t tag_example_hdr[94] = {
    0x00, 0x00, 0x0a, 0x65, 0x53, 0xf1, 0x00, 0x00, 0x01, 0xe2, 0x40, 0x00, 0x36, 0x00, 0x3c, 0x12,
    0x34, 0xab, 0xcd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x0f, 0x13,
    0x89, 0x00, 0x00, 0x03, 0xe9, 0x01, 0x00, 0x07, 0xd1, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0xfb, 0xf4, 0x55, 0x53, 0x55, 0x53, 0x9c, 0x40, 0x00, 0x17, 0x4e, 0x41, 0x4e,
    0x41, 0x00, 0x00, 0x00, 0x00, 0x00, 0x80, 0x00, 0xea, 0x06, 0x28, 0xa2, 0xcc, 0x06};

static sd_tags example_tags(void)
{
    sd_tags t;
    memset(&t, 0, sizeof t);
    t.providers_used = 0xf;
    t.netacq_region = 5001;
    t.netacq_polygon[0] = 1001;
    t.netacq_polygon[1] = 1u << 24 | 2001;
    t.prefixasn = 64500;
    memcpy(t.maxmind_country, "US", 2);
    memcpy(t.netacq_country, "US", 2);
    t.src_port = 40000;
    t.dest_port = 23;
    memcpy(t.maxmind_continent, "NA", 2);
    memcpy(t.netacq_continent, "NA", 2);
    t.filterbits = 0x8000ea;
    t.ft_hash = 0x0628a2cc;
    t.protocol = 6;
    return t;
}

/* A frame of len bytes (>= 14, Ethernet/IPv4 ethertype), bytes from seed. */
static void tag_frame(uint8_t *f, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        f[i] = (uint8_t)(seed * 31u + i * 7u);
    f[12] = 0x08;
    f[13] = 0x00;
}

static sd_ndag_encap tag_encap(void)
{
    sd_ndag_encap h;
    memset(&h, 0, sizeof h);
    h.monitor_id = 99;
    memcpy(h.started, "\x7b\x5e\x1c\x93\x42\x00\x00\x00", 8);
    h.seqno = 5;
    h.stream_id = 0;
    return h;
}

START_TEST(test_encode_tagged_example)
{
    uint8_t frame[54], d[512];
    tag_frame(frame, sizeof frame, 1);
    sd_tags t = example_tags();
    sd_packet p;
    memset(&p, 0, sizeof p);
    p.ts = 1700000000ull * 1000000000ull + 123456789u; /* 789 ns are below a microsecond */
    p.data = frame;
    p.caplen = 54;
    p.wirelen = 60;
    p.linktype = SD_LINK_ETHERNET;
    p.tags = &t;
    const sd_packet *pp[1] = {&p};
    sd_ndag_encap h = tag_encap();
    uint64_t seq = 1;
    size_t used = 99;
    int len = sd_ndag_encode_tagged(d, sizeof d, &h, 0x1234abcdu, &seq, pp, 1, &used);
    ck_assert_int_eq(len, 24 + 94 + 54);
    ck_assert_uint_eq(used, 1);
    ck_assert_uint_eq(seq, 2);
    static const uint8_t hdr[24] = {0x4e, 0x44, 0x41, 0x47, 1, 6, 0, 99, 0x7b, 0x5e, 0x1c, 0x93,
                                    0x42, 0,    0,    0,    0, 0, 0, 5, 0,    0,    0,    1};
    ck_assert_mem_eq(d, hdr, 24);
    for (int i = 0; i < 94; i++)
        ck_assert_msg(d[24 + i] == tag_example_hdr[i], "record byte %d: %02x, tags.md 3.2 has %02x", i,
                      d[24 + i], tag_example_hdr[i]);
    ck_assert_mem_eq(d + 24 + 94, frame, 54);

    /* ...and it decodes back to the same values. */
    sd_ndag_msg m;
    ck_assert_int_eq(sd_ndag_decode(&m, d, (size_t)len, SD_NDAG_ON_STREAM, NULL), 0);
    ck_assert_int_eq(m.type, SD_NDAG_CORSAROTAG);
    ck_assert_int_eq(m.record_count, 1);
    sd_ndag_iter it;
    sd_ndag_record r;
    sd_ndag_iter_init(&it, &m);
    ck_assert_int_eq(sd_ndag_next(&it, &r), 1);
    ck_assert_ptr_eq(r.tag, d + 24);
    ck_assert_uint_eq(r.tagger_id, 0x1234abcdu);
    ck_assert_uint_eq(r.tagger_seqno, 1);
    ck_assert_uint_eq(r.pkt.ts, 1700000000ull * 1000000000ull + 123456000u);
    ck_assert_uint_eq(r.pkt.caplen, 54);
    ck_assert_uint_eq(r.pkt.wirelen, 60);
    ck_assert_int_eq(r.pkt.linktype, SD_LINK_ETHERNET);
    ck_assert_ptr_null(r.pkt.tags);
    ck_assert_mem_eq(r.pkt.data, frame, 54);
    sd_tags back;
    ck_assert_int_eq(sd_tags_decode(&back, r.tag + 27, 67), 0);
    ck_assert_mem_eq(&back, &t, sizeof t);
    ck_assert_int_eq(sd_ndag_next(&it, &r), 0);
}
END_TEST

START_TEST(test_encode_tagged_packing)
{
    enum { N = 7 };
    uint8_t frames[N][60], d[1024];
    sd_packet p[N];
    sd_tags t[N];
    const sd_packet *pp[N];
    for (int i = 0; i < N; i++) {
        tag_frame(frames[i], 60, (unsigned)i);
        memset(&t[i], 0, sizeof t[i]);
        t[i].providers_used = SD_TAG_BASIC;
        t[i].filterbits = (uint64_t)i | UINT64_C(1) << 20; /* header gets the low 4 bits */
        t[i].ft_hash = 0xabc00000u + (uint32_t)i;
        memset(&p[i], 0, sizeof p[i]);
        p[i].ts = (uint64_t)(1000 + i) * 1000000000u + 999999999u;
        p[i].data = frames[i];
        p[i].caplen = 60;
        p[i].wirelen = 64;
        p[i].linktype = SD_LINK_ETHERNET;
        p[i].tags = &t[i];
        pp[i] = &p[i];
    }
    sd_ndag_encap h = tag_encap();
    uint64_t seq = 0; /* taken as 1 */
    size_t used;
    size_t cap = 24 + 3 * (94 + 60); /* exactly three records */
    int len = sd_ndag_encode_tagged(d, cap, &h, 7, &seq, pp, N, &used);
    ck_assert_int_eq(len, (int)cap);
    ck_assert_uint_eq(used, 3);
    ck_assert_uint_eq(seq, 4);
    ck_assert_uint_eq(sd__be16(d + 22), 3);
    for (int i = 0; i < 3; i++) {
        const uint8_t *r = d + 24 + (size_t)i * 154;
        ck_assert_uint_eq(r[0], 0);
        ck_assert_uint_eq(sd__be16(r + 1), (unsigned)i & 0xfu);
        ck_assert_uint_eq(sd__be32(r + 3), 1000u + (unsigned)i);
        ck_assert_uint_eq(sd__be32(r + 7), 999999u);
        ck_assert_uint_eq(sd__be16(r + 11), 60);
        ck_assert_uint_eq(sd__be16(r + 13), 64);
        ck_assert_uint_eq(sd__be32(r + 15), 7);
        ck_assert_uint_eq(sd__be64(r + 19), (uint64_t)i + 1);
        uint8_t blk[67];
        sd_tags_encode(&t[i], blk);
        ck_assert_mem_eq(r + 27, blk, 67);
        ck_assert_mem_eq(r + 94, frames[i], 60);
    }
    /* one byte less: two records */
    seq = 1;
    len = sd_ndag_encode_tagged(d, cap - 1, &h, 7, &seq, pp, N, &used);
    ck_assert_int_eq(len, 24 + 2 * 154);
    ck_assert_uint_eq(used, 2);
    /* the rest in a large datagram */
    len = sd_ndag_encode_tagged(d, sizeof d, &h, 7, &seq, pp + 2, N - 2, &used);
    ck_assert_int_eq(len, 24 + 5 * 154);
    ck_assert_uint_eq(used, N - 2);
    ck_assert_uint_eq(sd__be64(d + 24 + 19), 3);
    ck_assert_uint_eq(seq, N + 1);
    sd_ndag_msg m;
    ck_assert_int_eq(sd_ndag_decode(&m, d, (size_t)len, SD_NDAG_ON_STREAM, NULL), 0);
    ck_assert_int_eq(m.record_count, N - 2);
}
END_TEST

START_TEST(test_encode_tagged_oversize)
{
    static uint8_t big[2000], d[600];
    uint8_t small[60];
    tag_frame(big, sizeof big, 3);
    tag_frame(small, sizeof small, 4);
    sd_packet p[2];
    memset(p, 0, sizeof p);
    p[0].data = small;
    p[0].caplen = 60;
    p[0].wirelen = 64;
    p[1].data = big;
    p[1].caplen = 2000;
    p[1].wirelen = 70000; /* beyond u16: written as 65535 */
    p[0].linktype = p[1].linktype = SD_LINK_ETHERNET;
    p[0].ts = p[1].ts = 5000000000ull;
    const sd_packet *pp[2] = {&p[0], &p[1]};
    sd_ndag_encap h = tag_encap();
    uint64_t seq = 10;
    size_t used;
    /* pending record first: the big one waits for the next datagram */
    int len = sd_ndag_encode_tagged(d, 536, &h, 1, &seq, pp, 2, &used);
    ck_assert_int_eq(len, 24 + 154);
    ck_assert_uint_eq(used, 1);
    /* alone: cut to fit 536 bytes, pktlen lowered, wirelen kept, flag clear */
    len = sd_ndag_encode_tagged(d, 536, &h, 1, &seq, pp + 1, 1, &used);
    ck_assert_int_eq(len, 536);
    ck_assert_uint_eq(used, 1);
    ck_assert_uint_eq(sd__be16(d + 22), 1); /* no 0x8000 flag (6.1) */
    ck_assert_uint_eq(sd__be16(d + 24 + 11), 536 - 24 - 94);
    ck_assert_uint_eq(sd__be16(d + 24 + 13), 65535);
    ck_assert_uint_eq(sd__be64(d + 24 + 19), 11);
    ck_assert_mem_eq(d + 24 + 94, big, 536 - 24 - 94);
    uint8_t zero[67] = {0}; /* untagged: all-zero tag block */
    ck_assert_mem_eq(d + 24 + 27, zero, 67);
    ck_assert_uint_eq(sd__be16(d + 24 + 1), 0);
    sd_ndag_msg m;
    ck_assert_int_eq(sd_ndag_decode(&m, d, (size_t)len, SD_NDAG_ON_STREAM, NULL), 0);
    sd_ndag_iter it;
    sd_ndag_record r;
    sd_ndag_iter_init(&it, &m);
    ck_assert_int_eq(sd_ndag_next(&it, &r), 1);
    ck_assert_uint_eq(r.pkt.caplen, 536 - 24 - 94);
    ck_assert_uint_eq(r.pkt.wirelen, 65535);
}
END_TEST

START_TEST(test_encode_tagged_seq_skip)
{
    uint8_t frame[60], raw[40], d[1024];
    tag_frame(frame, sizeof frame, 5);
    memset(raw, 0x45, sizeof raw);
    sd_packet e, r4, empty;
    memset(&e, 0, sizeof e);
    e.data = frame;
    e.caplen = e.wirelen = 60;
    e.linktype = SD_LINK_ETHERNET;
    e.ts = 1;
    r4 = e;
    r4.data = raw;
    r4.caplen = r4.wirelen = 40;
    r4.linktype = SD_LINK_IPV4; /* only Ethernet is published (tags.md 3.3) */
    empty = e;
    empty.caplen = 0;
    const sd_packet *pp[5] = {&r4, &e, &empty, &e, &r4};
    sd_ndag_encap h = tag_encap();
    uint64_t seq = UINT64_MAX;
    size_t used;
    int len = sd_ndag_encode_tagged(d, sizeof d, &h, 2, &seq, pp, 5, &used);
    ck_assert_int_eq(len, 24 + 2 * 154);
    ck_assert_uint_eq(used, 5);
    ck_assert_uint_eq(sd__be64(d + 24 + 19), UINT64_MAX);
    ck_assert_uint_eq(sd__be64(d + 24 + 154 + 19), 1); /* 0 is skipped */
    ck_assert_uint_eq(seq, 2);
    /* only skipped packets: nothing to send, never a zero-record datagram */
    const sd_packet *only[2] = {&r4, &empty};
    len = sd_ndag_encode_tagged(d, sizeof d, &h, 2, &seq, only, 2, &used);
    ck_assert_int_eq(len, 0);
    ck_assert_uint_eq(used, 2);
    ck_assert_uint_eq(seq, 2);
    len = sd_ndag_encode_tagged(d, sizeof d, &h, 2, &seq, pp, 0, &used);
    ck_assert_int_eq(len, 0);
    ck_assert_uint_eq(used, 0);
    /* bad arguments */
    ck_assert_int_eq(sd_ndag_encode_tagged(d, 127, &h, 2, &seq, pp, 1, &used), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_encode_tagged(d, sizeof d, &h, 2, NULL, pp, 1, &used), SD_ERR_INVAL);
    ck_assert_int_eq(sd_ndag_encode_tagged(d, sizeof d, &h, 2, &seq, pp, 1, NULL), SD_ERR_INVAL);
    memset(h.started, 0, 8);
    ck_assert_int_eq(sd_ndag_encode_tagged(d, sizeof d, &h, 2, &seq, pp, 1, &used), SD_ERR_INVAL);
    ck_assert_uint_eq(used, 0);
}
END_TEST

static Suite *ndag_suite(void)
{
    Suite *s = suite_create("ndag");
    TCase *t = tcase_create("decode");
    tcase_add_test(t, test_vectors_valid);
    tcase_add_test(t, test_vectors_malformed);
    tcase_add_test(t, test_error_names);
    tcase_add_test(t, test_decode_edges);
    suite_add_tcase(s, t);
    t = tcase_create("fast_paths");
    tcase_add_test(t, test_fast_vectors);
    tcase_add_test(t, test_fast_mutations);
    suite_add_tcase(s, t);
    t = tcase_create("seq");
    tcase_add_test(t, test_seq_scenarios);
    tcase_add_test(t, test_seq_window);
    suite_add_tcase(s, t);
    t = tcase_create("encode");
    tcase_add_test(t, test_encode_beacon);
    tcase_add_test(t, test_encode_keepalive);
    tcase_add_test(t, test_encode_erf_vector);
    tcase_add_test(t, test_encode_erf_roundtrip);
    tcase_add_test(t, test_encode_erf_oversize);
    suite_add_tcase(s, t);
    t = tcase_create("encode_tagged");
    tcase_add_test(t, test_encode_tagged_example);
    tcase_add_test(t, test_encode_tagged_packing);
    tcase_add_test(t, test_encode_tagged_oversize);
    tcase_add_test(t, test_encode_tagged_seq_skip);
    suite_add_tcase(s, t);
    return s;
}

int main(void)
{
    return sd_test_run(ndag_suite());
}
