/* Fuzz target: the nDAG datagram codec. A datagram either fails with a
 * class whose code matches, delivering nothing, or every record lies inside
 * it, the records tile the datagram exactly, and the packets re-encode into
 * an ENCAPERF datagram that decodes to the same packets. The fast paths of
 * sd_ndag_decode() and sd_ndag_next() must give exactly what the reference
 * forms (every record through the general ERF decoder) give. The sequence
 * accounting is fed from the input too and must keep its invariants. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/ndag.h>
#include "ndag_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void reencode(const sd_ndag_msg *m, const sd_packet *pk, size_t npk)
{
    static uint8_t dg[65535];
    const sd_packet *pp[64];
    size_t np = 0;
    for (size_t i = 0; i < npk && np < 64; i++)
        /* Tagged packets (and ERF ones run to the end of a huge datagram)
         * can exceed what one ERF record in a 65535-byte datagram holds:
         * the encoder would cut them; tagged timestamps (32-bit seconds
         * plus up to 2^32 microseconds) can pass the ERF range. */
        if (pk[i].linktype == SD_LINK_ETHERNET && pk[i].caplen <= 65535 - 24 - 18 &&
            pk[i].ts / 1000000000u <= 0xffffffffu) /* ERF seconds are 32 bits */
            pp[np++] = &pk[i];
    sd_ndag_encap h = {.monitor_id = m->monitor_id, .seqno = 1, .stream_id = 0};
    memset(h.started, 0x5a, sizeof h.started);
    size_t done = 0;
    while (done < np) {
        size_t used;
        int len = sd_ndag_encode_erf(dg, sizeof dg, &h, pp + done, np - done, &used);
        if (len <= 0 || used == 0)
            abort();
        sd_ndag_msg m2;
        if (sd_ndag_decode(&m2, dg, (size_t)len, SD_NDAG_ON_STREAM, NULL) != 0)
            abort();
        sd_ndag_iter it;
        sd_ndag_iter_init(&it, &m2);
        sd_ndag_record r;
        size_t k = done;
        while (sd_ndag_next(&it, &r)) {
            const sd_packet *w = pp[k++];
            uint32_t wlen = w->wirelen > 0xffff ? 0xffff : w->wirelen;
            /* ERF reads min(captured, wlen): bytes beyond wlen are padding (7.2). */
            uint32_t cap = w->caplen < wlen ? w->caplen : wlen;
            if (r.pkt.caplen != cap || r.pkt.wirelen != wlen || r.pkt.ts != w->ts ||
                memcmp(r.pkt.data, w->data, cap) != 0)
                abort();
        }
        if (k != done + used)
            abort();
        done += used;
    }
}

static int same_record(const sd_ndag_record *a, const sd_ndag_record *b)
{
    const sd_packet *p = &a->pkt, *q = &b->pkt;
    return a->rec == b->rec && a->offset == b->offset && a->len == b->len && a->rlen == b->rlen &&
           a->erf_type == b->erf_type && a->type_byte == b->type_byte && a->erf_flags == b->erf_flags &&
           a->n_ext == b->n_ext && a->lctr == b->lctr && a->framing == b->framing &&
           a->has_packet == b->has_packet && a->tag == b->tag && a->tagger_id == b->tagger_id &&
           a->tagger_seqno == b->tagger_seqno &&
           (!a->has_packet ||
            (p->ts == q->ts && p->data == q->data && p->caplen == q->caplen && p->wirelen == q->wirelen &&
             p->linktype == q->linktype && p->flags == q->flags && p->iface == q->iface &&
             p->lctr == q->lctr && p->tags == q->tags));
}

/* Fast paths against the reference forms, on the input as it is. */
static void compare_reference(const uint8_t *d, size_t n, unsigned flags)
{
    sd_ndag_msg m, mr;
    char eb[SD_ERRBUF_SIZE] = "", ebr[SD_ERRBUF_SIZE] = "";
    int rc = sd_ndag_decode(&m, d, n, flags, eb);
    int rcr = sd__ndag_decode_ref(&mr, d, n, flags, ebr);
    if (rc != rcr || strcmp(eb, ebr) != 0 || memcmp(&m, &mr, sizeof m) != 0)
        abort();
    sd_ndag_iter it, itr;
    sd_ndag_iter_init(&it, &m);
    sd_ndag_iter_init(&itr, &mr);
    for (;;) {
        sd_ndag_record r, rr;
        memset(&r, 0xa5, sizeof r);
        memset(&rr, 0x5a, sizeof rr);
        int got = sd_ndag_next(&it, &r);
        if (got != sd__ndag_next_ref(&itr, &rr) || memcmp(&it, &itr, sizeof it) != 0)
            abort();
        if (!got)
            break;
        if (!same_record(&r, &rr))
            abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    compare_reference(d, n, 0);
    compare_reference(d, n, SD_NDAG_ON_STREAM);
    sd_ndag_msg m;
    char eb[SD_ERRBUF_SIZE];
    int rc = sd_ndag_decode(&m, d, n, 0, eb);
    sd_ndag_iter it;
    sd_ndag_record r;
    sd_ndag_iter_init(&it, &m);
    if (rc < 0) {
        if (m.error == SD_NDAG_OK || rc != sd_ndag_error_code(m.error) || sd_ndag_next(&it, &r))
            abort();
        return 0;
    }
    if (m.type == SD_NDAG_BEACON) {
        if (10 + 2 * (size_t)m.num_streams + m.trailing != n)
            abort();
        for (unsigned i = 0; i < m.num_streams; i++)
            (void)sd_ndag_beacon_port(&m, i);
        return 0;
    }
    size_t end = m.type == SD_NDAG_KEEPALIVE ? n : SD_NDAG_ENCAP_LEN;
    static sd_packet pk[64];
    size_t npk = 0;
    unsigned count = 0;
    while (sd_ndag_next(&it, &r)) {
        if (r.offset != end || r.len == 0 || r.offset + r.len > n || r.rec != d + r.offset)
            abort();
        if (r.has_packet) {
            if (r.pkt.caplen > 0 && (r.pkt.data < d || r.pkt.data + r.pkt.caplen > d + n))
                abort();
            if (npk < 64)
                pk[npk++] = r.pkt;
        }
        end += r.len;
        count++;
    }
    if (end != n || (m.type != SD_NDAG_KEEPALIVE && count != m.record_count))
        abort();
    reencode(&m, pk, npk);

    /* Sequence accounting from the input: every 5 bytes are (token byte, seqno). */
    sd_ndag_seq s;
    sd_ndag_seq_init(&s);
    for (size_t i = 0; i + 5 <= n; i += 5) {
        uint8_t tok[8] = {1, 0, 0, 0, 0, 0, 0, (uint8_t)(d[i] & 1)};
        uint32_t q = (uint32_t)d[i + 1] << 24 | (uint32_t)d[i + 2] << 16 | (uint32_t)d[i + 3] << 8 | d[i + 4];
        int v = sd_ndag_seq_update(&s, tok, q);
        if (v < SD_NDAG_SEQ_FIRST || v > SD_NDAG_SEQ_LATE || s.expected == 0)
            abort();
    }
    return 0;
}
