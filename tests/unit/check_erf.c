/* ERF: the record codec (sd__erf_decode/encode) against the nDAG golden
 * vectors, the file reader against libpcap's view of the same packets,
 * damaged files, and the ERF writer. */
#include "config.h"

#include <sys/wait.h>

#include "erf_int.h"
#include "native_util.h"

/* ---------------------------------------------------------------- SHA-256 */

/* A small SHA-256 (FIPS 180-4), enough to check the vectors' packet hashes. */
static const uint32_t sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void sha_block(uint32_t h[8], const uint8_t *b)
{
    uint32_t w[64];
    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 |
               b[4 * i + 3];
    for (int i = 16; i < 64; i++) {
        uint32_t s0 = ROR(w[i - 15], 7) ^ ROR(w[i - 15], 18) ^ (w[i - 15] >> 3);
        uint32_t s1 = ROR(w[i - 2], 17) ^ ROR(w[i - 2], 19) ^ (w[i - 2] >> 10);
        w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    uint32_t a = h[0], bb = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = hh + (ROR(e, 6) ^ ROR(e, 11) ^ ROR(e, 25)) + ((e & f) ^ (~e & g)) + sha_k[i] + w[i];
        uint32_t t2 = (ROR(a, 2) ^ ROR(a, 13) ^ ROR(a, 22)) + ((a & bb) ^ (a & c) ^ (bb & c));
        hh = g;
        g = f;
        f = e;
        e = d + t1;
        d = c;
        c = bb;
        bb = a;
        a = t1 + t2;
    }
    h[0] += a;
    h[1] += bb;
    h[2] += c;
    h[3] += d;
    h[4] += e;
    h[5] += f;
    h[6] += g;
    h[7] += hh;
}

/* Hex digest of len bytes at p into out (65 bytes). */
static void sha256_hex(const uint8_t *p, size_t len, char out[65])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    size_t i = 0;
    for (; i + 64 <= len; i += 64)
        sha_block(h, p + i);
    uint8_t tail[128] = {0};
    size_t rest = len - i;
    memcpy(tail, p + i, rest);
    tail[rest] = 0x80;
    size_t tl = rest + 9 <= 64 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;
    for (int k = 0; k < 8; k++)
        tail[tl - 1 - k] = (uint8_t)(bits >> (8 * k));
    sha_block(h, tail);
    if (tl == 128)
        sha_block(h, tail + 64);
    for (int k = 0; k < 8; k++)
        snprintf(out + 8 * k, 9, "%08x", h[k]);
}

START_TEST(test_sha256_self)
{
    char hex[65];
    sha256_hex((const uint8_t *)"abc", 3, hex);
    ck_assert_str_eq(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    sha256_hex((const uint8_t *)"", 0, hex);
    ck_assert_str_eq(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}
END_TEST

/* ---------------------------------------------------------------- vectors */

struct ndag_vec_rec {
    const char *file;
    int truncated_flag;
    unsigned offset, erf_type, erf_type_byte, ext, flags, iface, rlen, lctr, wlen, framing,
        pkt_offset, caplen;
    const char *sha;
    uint64_t ts_sec;
    uint32_t ts_nsec, ts_usec;
    uint64_t ts_raw;
};
struct ndag_vec_bad {
    const char *file;
    int err;
    const char *cls;
};
#include "ndag_vectors.inc"

START_TEST(test_ndag_vectors)
{
    size_t nrec = sizeof ndag_vec_recs / sizeof ndag_vec_recs[0];
    ck_assert_uint_eq(nrec, 9);
    for (size_t i = 0; i < nrec; i++) {
        const struct ndag_vec_rec *v = &ndag_vec_recs[i];
        char rel[256];
        snprintf(rel, sizeof rel, "ndag/vectors/%s", v->file);
        size_t len;
        uint8_t *dg = sd_test_read_file(sd_test_data(rel), &len);
        ck_assert_uint_lt(v->offset, len);
        sd_packet pkt;
        memset(&pkt, 0xa5, sizeof pkt);
        struct sd__erf_rec r;
        int rc = sd__erf_decode(dg + v->offset, len - v->offset, &pkt, &r,
                                v->truncated_flag ? SD__ERF_DEC_TO_END : 0);
        ck_assert_msg(rc == SD__ERF_PACKET, "%s@%u: rc %d", v->file, v->offset, rc);
        ck_assert_uint_eq(r.type, v->erf_type);
        ck_assert_uint_eq(r.type_byte, v->erf_type_byte);
        ck_assert_uint_eq(r.n_ext, v->ext);
        ck_assert_uint_eq(r.flags, v->flags);
        ck_assert_uint_eq(r.rlen, v->rlen);
        ck_assert_uint_eq(r.rlen_field, v->rlen);
        ck_assert_uint_eq(r.lctr, v->lctr);
        ck_assert_uint_eq(r.wlen, v->wlen);
        ck_assert_uint_eq(r.framing, v->framing);
        ck_assert_uint_eq(r.ts_raw, v->ts_raw);
        ck_assert_uint_eq(pkt.iface, v->iface);
        ck_assert_uint_eq(pkt.wirelen, v->wlen);
        ck_assert_uint_eq(pkt.caplen, v->caplen);
        ck_assert_ptr_eq(pkt.data, dg + v->pkt_offset);
        ck_assert_uint_eq(pkt.ts, v->ts_sec * 1000000000u + v->ts_nsec);
        ck_assert_uint_eq(pkt.ts / 1000u % 1000000u, v->ts_usec); /* libtrace's timeval */
        ck_assert_uint_eq(pkt.linktype, SD_LINK_ETHERNET);
        /* Colour types carry a hash in lctr: not a loss count. */
        ck_assert_uint_eq(pkt.lctr, r.colour ? 0 : v->lctr);
        ck_assert_int_eq(r.colour, v->erf_type == 20);
        ck_assert_uint_eq(pkt.flags, 0);
        ck_assert_ptr_null(pkt.tags);
        char hex[65];
        sha256_hex(pkt.data, pkt.caplen, hex);
        ck_assert_msg(strcmp(hex, v->sha) == 0, "%s@%u: sha256 %s, want %s", v->file, v->offset, hex,
                      v->sha);
        free(dg);
    }
    /* Malformed records: bad_rlen is damage, record_overrun truncation. */
    for (size_t i = 0; i < sizeof ndag_vec_bads / sizeof ndag_vec_bads[0]; i++) {
        const struct ndag_vec_bad *v = &ndag_vec_bads[i];
        char rel[256];
        snprintf(rel, sizeof rel, "ndag/vectors/%s", v->file);
        size_t len;
        uint8_t *dg = sd_test_read_file(sd_test_data(rel), &len);
        ck_assert_uint_ge(len, 24);
        sd_packet pkt;
        struct sd__erf_rec r;
        int rc = sd__erf_decode(dg + 24, len - 24, &pkt, &r, 0);
        ck_assert_msg(rc == v->err, "%s (%s): rc %s", v->file, v->cls, sd_errname(rc));
        ck_assert_uint_ne(r.bad, SD__ERF_OK);
        char why[200];
        ck_assert_uint_gt(strlen(sd__erf_explain(&r, len - 24, why, sizeof why)), 10);
        free(dg);
    }
}
END_TEST

/* ---------------------------------------------------------------- decoder */

static size_t mkrec(uint8_t *b, uint8_t type, uint8_t flags, uint16_t rlen, uint16_t lctr,
                    uint16_t wlen, uint64_t ts)
{
    memset(b, 0x11, rlen);
    sd__put_le64(b, ts);
    b[8] = type;
    b[9] = flags;
    sd__put_be16(b + 10, rlen);
    sd__put_be16(b + 12, lctr);
    sd__put_be16(b + 14, wlen);
    return rlen;
}

START_TEST(test_decode_types)
{
    uint8_t b[256];
    sd_packet p;
    struct sd__erf_rec r;
    /* spec 7.5: 2020-01-01 00:00:00.5 */
    mkrec(b, 22, 0x10 | 0x08 | 0x20 | 0x02, 16 + 40, 7, 40, UINT64_C(0x5E0BE10080000000));
    ck_assert_int_eq(sd__erf_decode(b, 56, &p, &r, 0), SD__ERF_PACKET);
    ck_assert_uint_eq(p.ts, UINT64_C(1577836800500000000));
    ck_assert_uint_eq(p.linktype, SD_LINK_IPV4);
    ck_assert_uint_eq(r.framing, 16);
    ck_assert_uint_eq(p.caplen, 0); /* RX error hides the payload */
    ck_assert_uint_eq(p.wirelen, 40);
    ck_assert_uint_eq(p.flags, SD_PKT_ERF_RXERROR | SD_PKT_ERF_TRUNCATED | SD_PKT_ERF_DSERROR);
    ck_assert_uint_eq(p.iface, 2);
    ck_assert_uint_eq(p.lctr, 7);

    mkrec(b, 23, 0x43, 16 + 40, 0, 60, 0);
    ck_assert_int_eq(sd__erf_decode(b, 56, &p, &r, 0), SD__ERF_PACKET);
    ck_assert_uint_eq(p.linktype, SD_LINK_IPV6);
    ck_assert_uint_eq(p.caplen, 40); /* rlen - framing < wlen: snapped */
    ck_assert_uint_eq(p.iface, 3);    /* 0x40 is ignored */
    ck_assert_ptr_eq(p.data, b + 16);

    /* HDLC/PoS: delivered, link type unknown. */
    mkrec(b, 1, 0, 16 + 8, 0, 8, 0);
    ck_assert_int_eq(sd__erf_decode(b, 24, &p, &r, 0), SD__ERF_PACKET);
    ck_assert_uint_eq(p.linktype, SD_LINK_UNKNOWN);
    ck_assert_uint_eq(p.caplen, 8);

    /* 0xff (tracemcast): no extension headers despite bit 7. */
    mkrec(b, 0xff, 0, 16 + 30, 0, 30, 0);
    b[16] = 0x80; /* would read as "more extension headers" */
    ck_assert_int_eq(sd__erf_decode(b, 46, &p, &r, 0), SD__ERF_PACKET);
    ck_assert_uint_eq(r.type, 255);
    ck_assert_uint_eq(r.n_ext, 0);
    ck_assert_uint_eq(r.framing, 16);
    ck_assert_uint_eq(p.linktype, SD_LINK_UNKNOWN);
    ck_assert_uint_eq(p.caplen, 30);

    /* Colour Ethernet types: pad, lctr is a colour. */
    static const uint8_t colour_eth[] = {11, 16, 20};
    for (size_t i = 0; i < 3; i++) {
        mkrec(b, colour_eth[i], 0, 18 + 60, 0x1234, 64, 0);
        ck_assert_int_eq(sd__erf_decode(b, 78, &p, &r, 0), SD__ERF_PACKET);
        ck_assert_uint_eq(p.linktype, SD_LINK_ETHERNET);
        ck_assert_uint_eq(r.framing, 18);
        ck_assert_uint_eq(p.caplen, 60);
        ck_assert_uint_eq(p.lctr, 0);
        ck_assert_uint_eq(r.lctr, 0x1234);
        ck_assert_int_eq(r.colour, 1);
    }
    /* Colour PoS types are colour types too, without the pad. */
    static const uint8_t colour_pos[] = {10, 15, 19};
    for (size_t i = 0; i < 3; i++) {
        mkrec(b, colour_pos[i], 0, 16 + 10, 9, 10, 0);
        ck_assert_int_eq(sd__erf_decode(b, 26, &p, &r, 0), SD__ERF_PACKET);
        ck_assert_int_eq(r.colour, 1);
        ck_assert_uint_eq(p.lctr, 0);
        ck_assert_uint_eq(r.framing, 16);
    }

    /* Padded record: rlen - framing > wlen. */
    mkrec(b, 2, 0x04, 18 + 64, 0, 61, 0);
    ck_assert_int_eq(sd__erf_decode(b, 200, &p, &r, 0), SD__ERF_PACKET);
    ck_assert_uint_eq(p.caplen, 61);
    ck_assert_uint_eq(r.rlen, 82);

    /* META and PAD are not packets. */
    mkrec(b, 27, 0, 40, 0, 0, 0);
    ck_assert_int_eq(sd__erf_decode(b, 40, &p, &r, 0), SD__ERF_SKIP);
    mkrec(b, 48 | 0x80, 0, 40, 0, 0, 0);
    b[16] = 0x00; /* one extension header */
    ck_assert_int_eq(sd__erf_decode(b, 40, &p, &r, 0), SD__ERF_SKIP);
    ck_assert_uint_eq(r.n_ext, 1);

    /* Three chained extension headers. */
    mkrec(b, 0x80 | 2, 0, 16 + 24 + 2 + 20, 0, 20, 0);
    b[16] = 0x80 | 3;
    b[24] = 0x80 | 4;
    b[32] = 5;
    ck_assert_int_eq(sd__erf_decode(b, 62, &p, &r, 0), SD__ERF_PACKET);
    ck_assert_uint_eq(r.n_ext, 3);
    ck_assert_uint_eq(r.framing, 42);
    ck_assert_ptr_eq(p.data, b + 42);
    ck_assert_uint_eq(p.caplen, 20);
}
END_TEST

START_TEST(test_decode_damage)
{
    uint8_t b[256];
    sd_packet p;
    struct sd__erf_rec r;
    char why[200];
    mkrec(b, 2, 0, 78, 0, 60, 0);
    ck_assert_int_eq(sd__erf_decode(b, 15, &p, &r, 0), SD_ERR_TRUNCATED);
    ck_assert_uint_eq(r.bad, SD__ERF_BAD_SHORT_HEADER);
    ck_assert_int_eq(sd__erf_decode(b, 77, &p, &r, 0), SD_ERR_TRUNCATED);
    ck_assert_uint_eq(r.bad, SD__ERF_BAD_OVERRUN);
    ck_assert_str_eq(sd__erf_explain(&r, 77, why, sizeof why),
                     "rlen 78 runs past the end of the data (77 bytes left)");
    /* With the nDAG truncation flag the record ends where the data does. */
    ck_assert_int_eq(sd__erf_decode(b, 70, &p, &r, SD__ERF_DEC_TO_END), SD__ERF_PACKET);
    ck_assert_uint_eq(r.rlen, 70);
    ck_assert_uint_eq(p.caplen, 52);

    sd__put_be16(b + 10, 8);
    ck_assert_int_eq(sd__erf_decode(b, 78, &p, &r, 0), SD_ERR_FORMAT);
    ck_assert_uint_eq(r.bad, SD__ERF_BAD_RLEN);
    ck_assert_str_eq(sd__erf_explain(&r, 78, why, sizeof why), "rlen 8 is shorter than the 16-byte ERF header");

    /* Ethernet record with rlen 17: no room for the pad. */
    mkrec(b, 2, 0, 17, 0, 60, 0);
    ck_assert_int_eq(sd__erf_decode(b, 17, &p, &r, 0), SD_ERR_FORMAT);
    ck_assert_uint_eq(r.bad, SD__ERF_BAD_FRAMING);

    /* Extension chain that never ends inside rlen. */
    mkrec(b, 0x82, 0, 64, 0, 60, 0);
    memset(b + 16, 0xff, 48);
    ck_assert_int_eq(sd__erf_decode(b, 64, &p, &r, 0), SD_ERR_FORMAT);
    ck_assert_uint_eq(r.bad, SD__ERF_BAD_EXT);
    ck_assert_uint_eq(r.n_ext, 6);
}
END_TEST

START_TEST(test_encode)
{
    uint8_t frame[100];
    for (int i = 0; i < 100; i++)
        frame[i] = (uint8_t)i;
    uint8_t b[256];
    sd_packet in = {.ts = UINT64_C(1577836800999999999), .data = frame, .caplen = 60, .wirelen = 64,
                    .linktype = SD_LINK_ETHERNET, .flags = SD_PKT_ERF_TRUNCATED, .iface = 1};
    ck_assert_uint_eq(sd__erf_encoded_len(&in), 78);
    ck_assert_int_eq(sd__erf_encode(b, 77, &in, 0), 0); /* no room */
    ck_assert_int_eq(sd__erf_encode(b, sizeof b, &in, 3), 78);
    ck_assert_uint_eq(b[8], 2);
    ck_assert_uint_eq(b[9], 0x04 | 0x08 | 0x01);
    ck_assert_uint_eq(sd__be16(b + 10), 78);
    ck_assert_uint_eq(sd__be16(b + 12), 3);
    ck_assert_uint_eq(sd__be16(b + 14), 64);
    ck_assert_int_eq(memcmp(b + 18, frame, 60), 0);
    sd_packet out;
    struct sd__erf_rec r;
    ck_assert_int_eq(sd__erf_decode(b, 78, &out, &r, 0), SD__ERF_PACKET);
    ck_assert_uint_eq(out.ts, in.ts);
    ck_assert_uint_eq(out.caplen, 60);
    ck_assert_uint_eq(out.wirelen, 64);
    ck_assert_uint_eq(out.iface, 1);
    ck_assert_uint_eq(out.flags, SD_PKT_ERF_TRUNCATED);
    ck_assert_uint_eq(out.lctr, 3);

    /* Raw IP picks 22 or 23 from the version nibble. */
    frame[0] = 0x60;
    in.linktype = SD_LINK_RAW;
    in.flags = 0;
    ck_assert_int_eq(sd__erf_encode(b, sizeof b, &in, 0), 76);
    ck_assert_uint_eq(b[8], 23);
    frame[0] = 0x45;
    ck_assert_int_eq(sd__erf_encode(b, sizeof b, &in, 0), 76);
    ck_assert_uint_eq(b[8], 22);
    in.linktype = SD_LINK_IPV6;
    ck_assert_int_eq(sd__erf_encode(b, sizeof b, &in, 0), 76);
    ck_assert_uint_eq(b[8], 23);
    ck_assert_int_eq(sd__erf_decode(b, 76, &out, &r, 0), SD__ERF_PACKET);
    ck_assert_uint_eq(out.linktype, SD_LINK_IPV6);

    in.linktype = SD_LINK_NULL;
    ck_assert_int_eq(sd__erf_encode(b, sizeof b, &in, 0), SD_ERR_UNSUPPORTED);
    ck_assert_uint_eq(sd__erf_encoded_len(&in), 0);
    in.linktype = SD_LINK_LINUX_SLL;
    ck_assert_int_eq(sd__erf_encode(b, sizeof b, &in, 0), SD_ERR_UNSUPPORTED);

    /* Timestamps survive ns -> fixed point -> ns exactly. */
    uint64_t x = 88172645463325252u;
    for (int i = 0; i < 100000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t ns = (x % 4000000000u) * 1000000000u + (x >> 33) % 1000000000u;
        ck_assert_uint_eq(sd__erf_ts_to_ns(sd__erf_ns_to_ts(ns)), ns);
    }
    ck_assert_uint_eq(sd__erf_ts_to_ns(sd__erf_ns_to_ts(999999999u)), 999999999u);
    ck_assert_uint_eq(sd__erf_ns_to_ts(1500000000u), (UINT64_C(1) << 32) | 0x80000000u);
}
END_TEST

/* ---------------------------------------------------------------- reader */

/* Packets of one source, copied. */
struct got_pkt {
    sd_packet p;
    uint8_t *bytes;
};

static size_t read_all(sd_source *src, size_t batch, struct got_pkt **out, int *end)
{
    size_t n = 0, cap = 0;
    struct got_pkt *v = NULL;
    const sd_packet *p[1024];
    int rc;
    while ((rc = sd_source_read(src, p, batch)) > 0) {
        for (int i = 0; i < rc; i++) {
            if (n == cap) {
                cap = cap ? cap * 2 : 256;
                v = realloc(v, cap * sizeof *v);
                ck_assert_ptr_nonnull(v);
            }
            v[n].p = *p[i];
            v[n].bytes = malloc(p[i]->caplen + 1);
            memcpy(v[n].bytes, p[i]->data, p[i]->caplen);
            n++;
        }
    }
    *end = rc;
    *out = v;
    return n;
}

static void free_got(struct got_pkt *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i].bytes);
    free(v);
}

/* 100_packets.pcap (and .pcapng) differ from 100_packets.erf in one way:
 * every 0x0d byte of the ERF file, in packet data and in the timestamp
 * alike, is 0x0a in the pcap (a CR-to-LF mangling of the fixture): MAC
 * 00:0d:bc reads 00:0a:bc, and the pcap usec field 3085 (0x0c0d) of packet
 * 11 reads 3082 (0x0c0a). Compare through that mapping, and count it. */
static uint8_t cr_to_lf(uint8_t b) { return b == 0x0d ? 0x0a : b; }

static uint64_t cr_to_lf_u32(uint64_t v)
{
    uint64_t out = 0;
    for (int k = 0; k < 4; k++)
        out |= (uint64_t)cr_to_lf((uint8_t)(v >> (8 * k))) << (8 * k);
    return out;
}

START_TEST(test_100_packets_equal_pcap)
{
    struct ref_pkt *ref;
    int dlt;
    size_t nref = load_pcap(sd_test_data("pcap/libtrace/100_packets.pcap"), &ref, &dlt);
    ck_assert_uint_eq(nref, 100);
    ck_assert_int_eq(dlt, DLT_EN10MB);
    static const size_t batches[] = {64, 1, 7, 1024};
    for (size_t bi = 0; bi < 4; bi++) {
        sd_source *src;
        char eb[SD_ERRBUF_SIZE];
        ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/libtrace/100_packets.erf"), eb), 0);
        ck_assert_str_eq(sd_source_format(src), "erf");
        struct got_pkt *g;
        int end;
        size_t n = read_all(src, batches[bi], &g, &end);
        ck_assert_int_eq(end, SD_EOF);
        ck_assert_uint_eq(n, 100);
        uint64_t bytes = 0;
        int mangled = 0, ts_mangled = 0;
        for (size_t i = 0; i < n; i++) {
            ck_assert_uint_eq(g[i].p.caplen, ref[i].caplen);
            ck_assert_uint_eq(g[i].p.wirelen, ref[i].wirelen);
            for (uint32_t k = 0; k < ref[i].caplen; k++) {
                ck_assert_msg(cr_to_lf(g[i].bytes[k]) == ref[i].data[k], "packet %zu byte %u", i, k);
                mangled += g[i].bytes[k] != ref[i].data[k];
            }
            ck_assert_uint_eq(g[i].p.linktype, SD_LINK_ETHERNET);
            /* pcap holds the time rounded to the microsecond. */
            uint64_t us = (g[i].p.ts + 500) / 1000;
            ck_assert_uint_eq(us / 1000000u, ref[i].ts_us / 1000000u);
            ck_assert_msg(cr_to_lf_u32(us % 1000000u) == ref[i].ts_us % 1000000u, "packet %zu: %llu vs %llu",
                          i, (unsigned long long)us, (unsigned long long)ref[i].ts_us);
            ts_mangled += us % 1000000u != ref[i].ts_us % 1000000u;
            ck_assert_uint_eq(g[i].p.flags, 0);
            bytes += g[i].p.caplen;
        }
        ck_assert_int_eq(mangled, 112);
        ck_assert_int_eq(ts_mangled, 2);
        /* The data README's first and last timestamps, to the ns. */
        ck_assert_uint_eq(g[0].p.ts, UINT64_C(1095292801000721395));
        ck_assert_uint_eq(g[99].p.ts, UINT64_C(1095292801028488457));
        ck_assert_uint_eq(g[0].p.iface, 1); /* flags 0x05 */
        ck_assert_uint_eq(g[2].p.iface, 0); /* flags 0x04 */
        sd_source_stats st = {.size = sizeof st};
        ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
        ck_assert_uint_eq(st.packets, 100);
        ck_assert_uint_eq(st.bytes, bytes);
        ck_assert_uint_eq(st.bytes, 5984);
        ck_assert_uint_eq(st.skipped, 0);
        ck_assert_uint_eq(st.dropped, 0);
        /* EOF stays EOF. */
        const sd_packet *p[2];
        ck_assert_int_eq(sd_source_read(src, p, 2), SD_EOF);
        sd_source_close(src);
        free_got(g, n);
    }
    free_pcap(ref, nref);
}
END_TEST

START_TEST(test_5_packets_gz)
{
    static const char *uris[] = {"pcap/libtrace/5_packets.erf.gz", "pcap/libtrace/5_packets.erf"};
    struct got_pkt *g[2];
    size_t n[2];
    for (int k = 0; k < 2; k++) {
        sd_source *src;
        char eb[SD_ERRBUF_SIZE], uri[4200];
        snprintf(uri, sizeof uri, "erf:%s", sd_test_data(uris[k]));
        ck_assert_msg(sd_source_open(&src, uri, eb) == 0, "%s", eb);
        ck_assert_str_eq(sd_source_uri(src), uri);
        int end;
        n[k] = read_all(src, 64, &g[k], &end);
        ck_assert_int_eq(end, SD_EOF);
        sd_source_close(src);
    }
    ck_assert_uint_eq(n[0], 5);
    ck_assert_uint_eq(n[1], 5);
    for (size_t i = 0; i < 5; i++) {
        ck_assert_uint_eq(g[0][i].p.ts, g[1][i].p.ts);
        ck_assert_uint_eq(g[0][i].p.caplen, g[1][i].p.caplen);
        ck_assert_int_eq(memcmp(g[0][i].bytes, g[1][i].bytes, g[0][i].p.caplen), 0);
    }
    /* The fraction is 0.0011565685... s: the spec truncates to ns (the data
     * README, from tshark, rounds to ...569). */
    ck_assert_uint_eq(g[0][4].p.ts, UINT64_C(1095292801001156568));
    free_got(g[0], 5);
    free_got(g[1], 5);
}
END_TEST

START_TEST(test_provenance)
{
    const char *path = sd_test_data("pcap/libtrace/provenance.erf");
    char uri[4200];
    snprintf(uri, sizeof uri, "erf:%s", path);
    const char *uris[] = {path, uri};
    for (int k = 0; k < 2; k++) {
        sd_source *src;
        char eb[SD_ERRBUF_SIZE];
        ck_assert_msg(sd_source_open(&src, uris[k], eb) == 0, "%s", eb);
        ck_assert_str_eq(sd_source_format(src), "erf");
        long n;
        ck_assert_int_eq(drain(src, 64, &n), SD_EOF);
        ck_assert_int_eq(n, 0);
        sd_source_stats st = {.size = sizeof st};
        ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
        ck_assert_uint_eq(st.skipped, 100);
        ck_assert_uint_eq(st.packets, 0);
        ck_assert_uint_eq(st.malformed, 0);
        sd_source_close(src);
    }
}
END_TEST

/* The records of the nDAG vectors laid end to end make an ERF file with
 * loss counters and a colour type. */
START_TEST(test_lctr_dropped)
{
    size_t l1, l2;
    uint8_t *a = sd_test_read_file(sd_test_data("ndag/vectors/encaperf-lctr.bin"), &l1);
    uint8_t *b = sd_test_read_file(sd_test_data("ndag/vectors/encaperf-color-hash.bin"), &l2);
    uint8_t *f = malloc(l1 + l2);
    memcpy(f, a + 24, l1 - 24);
    memcpy(f + l1 - 24, b + 24, l2 - 24);
    sd_source *src;
    char eb[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd__source_open_buffer(&src, "erf", "vectors", f, l1 + l2 - 48, eb), 0);
    const sd_packet *p[8];
    ck_assert_int_eq(sd_source_read(src, p, 8), 3);
    ck_assert_uint_eq(p[0]->lctr, 0);
    ck_assert_uint_eq(p[1]->lctr, 5);
    ck_assert_uint_eq(p[2]->lctr, 0);
    ck_assert_int_eq(sd_source_read(src, p, 8), SD_EOF);
    sd_source_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.dropped, 5); /* the colour record's 0x0123 is not loss */
    sd_source_close(src);
    free(a);
    free(b);
    free(f);
}
END_TEST

/* More than one buffer's worth: batches stop before a refill, so every
 * packet of a batch is still intact when read() returns. */
START_TEST(test_large_file_batches)
{
    size_t len;
    uint8_t *one = sd_test_read_file(sd_test_data("pcap/libtrace/100_packets.erf"), &len);
    const int copies = 400; /* 3.1 MB: three refills of the 1 MiB buffer */
    const char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/big.erf", dir);
    uint8_t *big = malloc(len * (size_t)copies);
    for (int i = 0; i < copies; i++)
        memcpy(big + (size_t)i * len, one, len);
    sd_test_write_file(path, big, len * (size_t)copies);

    struct ref_pkt *ref;
    size_t nref = load_pcap(sd_test_data("pcap/libtrace/100_packets.pcap"), &ref, NULL);
    for (int mode = 0; mode < 2; mode++) {
        sd_source *src;
        char eb[SD_ERRBUF_SIZE];
        if (mode == 0)
            ck_assert_int_eq(sd_source_open(&src, path, eb), 0);
        else
            ck_assert_int_eq(sd__source_open_buffer(&src, "erf", "big", big, len * (size_t)copies, eb), 0);
        const sd_packet *p[1000];
        long total = 0;
        int rc;
        while ((rc = sd_source_read(src, p, 1000)) > 0) {
            for (int i = 0; i < rc; i++) {
                const struct ref_pkt *r = &ref[(size_t)(total + i) % nref];
                ck_assert_uint_eq(p[i]->caplen, r->caplen);
                for (uint32_t k = 0; k < r->caplen; k++)
                    ck_assert_uint_eq(cr_to_lf(p[i]->data[k]), r->data[k]);
            }
            total += rc;
        }
        ck_assert_int_eq(rc, SD_EOF);
        ck_assert_int_eq(total, 100 * copies);
        sd_source_close(src);
    }
    free_pcap(ref, nref);
    free(big);
    free(one);
    rm_tmpdir(dir);
}
END_TEST

START_TEST(test_stdin)
{
    int fd = open(sd_test_data("pcap/libtrace/5_packets.erf.gz"), O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 0), 0);
    close(fd);
    sd_source *src;
    char eb[SD_ERRBUF_SIZE];
    ck_assert_msg(sd_source_open(&src, "-", eb) == 0, "%s", eb);
    ck_assert_str_eq(sd_source_format(src), "erf");
    long n;
    ck_assert_int_eq(drain(src, 64, &n), SD_EOF);
    ck_assert_int_eq(n, 5);
    sd_source_close(src);
}
END_TEST

START_TEST(test_filter)
{
    sd_source *src;
    char eb[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/libtrace/100_packets.erf"), eb), 0);
    ck_assert_int_eq(sd_source_set_filter(src, "tcp"), 0);
    long n;
    ck_assert_int_eq(drain(src, 64, &n), SD_EOF);
    ck_assert_int_eq(n, 92); /* data README: 92 TCP, 7 UDP, 1 ESP */
    sd_source_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.filtered, 8);
    sd_source_close(src);
}
END_TEST

START_TEST(test_open_errors)
{
    sd_source *src = (sd_source *)1;
    char eb[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_source_open(&src, "erf:/nonexistent/x.erf", eb), SD_ERR_NOTFOUND);
    ck_assert_ptr_null(src);
    ck_assert_ptr_nonnull(strstr(eb, "/nonexistent/x.erf"));
    /* An empty file is an empty ERF trace. */
    const char *dir = make_tmpdir();
    char path[4200], uri[4300];
    snprintf(path, sizeof path, "%s/empty.erf", dir);
    sd_test_write_file(path, "", 0);
    snprintf(uri, sizeof uri, "erf:%s", path);
    ck_assert_int_eq(sd_source_open(&src, uri, eb), 0);
    const sd_packet *p[4];
    ck_assert_int_eq(sd_source_read(src, p, 4), SD_EOF);
    sd_source_close(src);
    rm_tmpdir(dir);
}
END_TEST

START_TEST(test_bad_files)
{
    ck_assert_int_ge(run_bad_files("erf", "erf", ".erf"), 6);
}
END_TEST

START_TEST(test_oom_open)
{
    /* gzip (libwandio), plain file (read(2)), memory */
    const char *paths[2] = {sd_test_data("pcap/libtrace/5_packets.erf.gz"),
                            sd_test_data("pcap/libtrace/5_packets.erf")};
    size_t len;
    uint8_t *bytes = sd_test_read_file(paths[1], &len);
    for (int mode = 0; mode < 3; mode++) {
        int ok = 0;
        for (long n = 0; n < 100 && !ok; n++) {
            sd_source *src = NULL;
            char eb[SD_ERRBUF_SIZE] = "";
            sd__alloc_fail_after = n;
            int rc = mode == 2 ? sd__source_open_buffer(&src, "erf", "mem", bytes, len, eb)
                               : sd_source_open(&src, paths[mode], eb);
            sd__alloc_fail_after = -1;
            if (rc == 0) {
                long np;
                ck_assert_int_eq(drain(src, 64, &np), SD_EOF);
                ck_assert_int_eq(np, 5);
                sd_source_close(src);
                ok = 1;
            } else {
                ck_assert_msg(rc == SD_ERR_NOMEM, "allocation %ld: %s (%s)", n, sd_errname(rc), eb);
                ck_assert_ptr_null(src);
                ck_assert_ptr_nonnull(strstr(eb, "out of memory"));
            }
        }
        ck_assert_msg(ok, "open never succeeded");
    }
    free(bytes);
}
END_TEST

/* ---------------------------------------------------------------- writer */

static sd_packet *pkts_from_ref(const struct ref_pkt *ref, size_t n, const sd_packet ***ptrs)
{
    sd_packet *v = calloc(n, sizeof *v);
    *ptrs = calloc(n, sizeof **ptrs);
    for (size_t i = 0; i < n; i++) {
        v[i].ts = ref[i].ts_us * 1000u;
        v[i].data = ref[i].data;
        v[i].caplen = ref[i].caplen;
        v[i].wirelen = ref[i].wirelen;
        v[i].linktype = SD_LINK_ETHERNET;
        v[i].iface = (uint16_t)(i % 4);
        (*ptrs)[i] = &v[i];
    }
    return v;
}

static void check_erf_file(const char *path, const struct ref_pkt *ref, size_t nref)
{
    sd_source *src;
    char eb[SD_ERRBUF_SIZE];
    ck_assert_msg(sd_source_open(&src, path, eb) == 0, "%s", eb);
    ck_assert_str_eq(sd_source_format(src), "erf");
    struct got_pkt *g;
    int end;
    size_t n = read_all(src, 64, &g, &end);
    ck_assert_int_eq(end, SD_EOF);
    ck_assert_uint_eq(n, nref);
    for (size_t i = 0; i < n; i++) {
        ck_assert_uint_eq(g[i].p.ts, ref[i].ts_us * 1000u);
        ck_assert_uint_eq(g[i].p.caplen, ref[i].caplen);
        ck_assert_uint_eq(g[i].p.wirelen, ref[i].wirelen);
        ck_assert_uint_eq(g[i].p.iface, i % 4);
        ck_assert_uint_eq(g[i].p.linktype, SD_LINK_ETHERNET);
        ck_assert_int_eq(memcmp(g[i].bytes, ref[i].data, ref[i].caplen), 0);
    }
    free_got(g, n);
    sd_source_close(src);
}

/* capinfos (Wireshark) must read the file and count n packets. */
static void check_capinfos(const char *path, size_t n)
{
    char cmd[4400], line[512];
    snprintf(cmd, sizeof cmd, "capinfos -c -M '%s' 2>&1", path);
    FILE *f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    long count = -1;
    int is_erf = 0;
    while (fgets(line, sizeof line, f) != NULL) {
        sscanf(line, "Number of packets: %ld", &count);
    }
    int st = pclose(f);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "capinfos failed on %s", path);
    ck_assert_int_eq(count, (long)n);
    snprintf(cmd, sizeof cmd, "capinfos -t '%s' 2>&1", path);
    f = popen(cmd, "r");
    ck_assert_ptr_nonnull(f);
    while (fgets(line, sizeof line, f) != NULL)
        if (strstr(line, "File type:") != NULL && strstr(line, "ERF") != NULL)
            is_erf = 1;
    pclose(f);
    ck_assert_msg(is_erf, "capinfos does not see an ERF file in %s", path);
}

START_TEST(test_writer_round_trip)
{
    struct ref_pkt *ref;
    size_t nref = load_pcap(sd_test_data("pcap/libtrace/100_packets.pcap"), &ref, NULL);
    const sd_packet **ptrs;
    sd_packet *pk = pkts_from_ref(ref, nref, &ptrs);
    const char *dir = make_tmpdir();
    char path[4200], gzpath[4200];
    snprintf(path, sizeof path, "%s/out.erf", dir);
    snprintf(gzpath, sizeof gzpath, "%s/out.erf.gz", dir);

    sd_erf_writer *w;
    char eb[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_erf_writer_open(&w, path, 0, eb), 0);
    /* Until close the output lives under a temporary name. */
    ck_assert_int_ne(access(path, F_OK), 0);
    ck_assert_int_eq(count_files(dir), 1);
    ck_assert_int_eq(sd_erf_writer_write(w, ptrs, 30), 30);
    ck_assert_int_eq(sd_erf_writer_write(w, ptrs + 30, 0), 0);
    ck_assert_int_eq(sd_erf_writer_write(w, ptrs + 30, nref - 30), (int)(nref - 30));
    ck_assert_int_eq(sd_erf_writer_close(w, eb), 0);
    ck_assert_int_eq(access(path, F_OK), 0);
    ck_assert_int_eq(count_files(dir), 1); /* renamed: no temporary left */
    check_erf_file(path, ref, nref);
    /* Layout: type 2, varlen + interface flags, rlen 18 + caplen, lctr 0. */
    size_t len;
    uint8_t *bytes = sd_test_read_file(path, &len);
    size_t off = 0;
    for (size_t i = 0; i < nref; i++) {
        ck_assert_uint_eq(bytes[off + 8], 2);
        ck_assert_uint_eq(bytes[off + 9], 0x04 | (i % 4));
        ck_assert_uint_eq(sd__be16(bytes + off + 10), 18 + ref[i].caplen);
        ck_assert_uint_eq(sd__be16(bytes + off + 12), 0);
        off += 18 + ref[i].caplen;
    }
    ck_assert_uint_eq(off, len);
    free(bytes);
    check_capinfos(path, nref);

    ck_assert_int_eq(sd_erf_writer_open(&w, gzpath, SD_ERF_GZIP, eb), 0);
    ck_assert_int_eq(sd_erf_writer_write(w, ptrs, nref), (int)nref);
    ck_assert_int_eq(sd_erf_writer_close(w, eb), 0);
    bytes = sd_test_read_file(gzpath, &len);
    ck_assert_uint_gt(len, 20);
    ck_assert_uint_eq(bytes[0], 0x1f);
    ck_assert_uint_eq(bytes[1], 0x8b);
    free(bytes);
    check_erf_file(gzpath, ref, nref);
    check_capinfos(gzpath, nref);
    ck_assert_int_eq(count_files(dir), 2);

    free(pk);
    free(ptrs);
    free_pcap(ref, nref);
    rm_tmpdir(dir);
}
END_TEST

/* Reading an ERF file and writing it again gives the same records. */
START_TEST(test_writer_erf_copy)
{
    const char *orig = sd_test_data("pcap/libtrace/100_packets.erf");
    const char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/copy.erf", dir);
    sd_source *src;
    sd_erf_writer *w;
    char eb[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_source_open(&src, orig, eb), 0);
    ck_assert_int_eq(sd_erf_writer_open(&w, path, 0, eb), 0);
    const sd_packet *p[16];
    int rc;
    while ((rc = sd_source_read(src, p, 16)) > 0)
        ck_assert_int_eq(sd_erf_writer_write(w, p, (size_t)rc), rc);
    ck_assert_int_eq(rc, SD_EOF);
    sd_source_close(src);
    ck_assert_int_eq(sd_erf_writer_close(w, eb), 0);
    size_t la, lb;
    uint8_t *a = sd_test_read_file(orig, &la), *b = sd_test_read_file(path, &lb);
    ck_assert_uint_eq(la, lb);
    for (size_t off = 0; off < la;) {
        size_t rlen = sd__be16(a + off + 10);
        /* Same header and packet bytes; the pad's content is not kept (the
         * original has 0x17 0x51 there), and the timestamp fraction may
         * differ below a nanosecond but decodes to the same ns. */
        ck_assert_int_eq(memcmp(a + off + 8, b + off + 8, 8), 0);
        ck_assert_int_eq(memcmp(a + off + 18, b + off + 18, rlen - 18), 0);
        ck_assert_uint_eq(sd__erf_ts_to_ns(sd__le64(a + off)), sd__erf_ts_to_ns(sd__le64(b + off)));
        off += rlen;
    }
    free(a);
    free(b);
    rm_tmpdir(dir);
}
END_TEST

START_TEST(test_writer_unsupported_and_discard)
{
    uint8_t frame[60] = {0};
    sd_packet v[3] = {
        {.ts = 1, .data = frame, .caplen = 60, .wirelen = 60, .linktype = SD_LINK_ETHERNET},
        {.ts = 2, .data = frame, .caplen = 60, .wirelen = 60, .linktype = SD_LINK_ETHERNET},
        {.ts = 3, .data = frame, .caplen = 60, .wirelen = 60, .linktype = SD_LINK_LINUX_SLL2},
    };
    const sd_packet *ptrs[3] = {&v[0], &v[1], &v[2]};
    const char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/u.erf", dir);
    sd_erf_writer *w;
    char eb[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_erf_writer_open(&w, path, 0, eb), 0);
    ck_assert_int_eq(sd_erf_writer_write(w, ptrs, 3), SD_ERR_UNSUPPORTED);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(w), "link type 276"));
    ck_assert_ptr_nonnull(strstr(sd_errmsg(w), "packet 2"));
    ck_assert_int_eq(sd_erf_writer_close(w, eb), 0);
    size_t len;
    uint8_t *b = sd_test_read_file(path, &len);
    ck_assert_uint_eq(len, 2 * 78); /* the two packets before it */
    free(b);

    ck_assert_int_eq(sd_erf_writer_open(&w, path, SD_ERF_GZIP, eb), 0);
    ck_assert_int_eq(sd_erf_writer_write(w, ptrs, 2), 2);
    ck_assert_int_eq(count_files(dir), 2);
    sd_erf_writer_discard(w);
    ck_assert_int_eq(count_files(dir), 1); /* the old file stays, no temporary */
    sd_erf_writer_discard(NULL);
    ck_assert_int_eq(sd_erf_writer_close(NULL, eb), 0);

    ck_assert_int_eq(sd_erf_writer_open(&w, "/nonexistent-dir/x.erf", 0, eb), SD_ERR_NOTFOUND);
    ck_assert_ptr_null(w);
    ck_assert_ptr_nonnull(strstr(eb, "/nonexistent-dir/x.erf"));
    ck_assert_int_eq(sd_erf_writer_open(&w, path, 0x80, eb), SD_ERR_INVAL);
    ck_assert_int_eq(sd_erf_writer_open(&w, "", 0, eb), SD_ERR_INVAL);
    ck_assert_int_eq(sd_erf_writer_open(NULL, path, 0, eb), SD_ERR_INVAL);
    ck_assert_int_eq(sd_erf_writer_write(NULL, ptrs, 1), SD_ERR_INVAL);
    rm_tmpdir(dir);
}
END_TEST

START_TEST(test_writer_stdout)
{
    const char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/stdout.erf", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    fflush(stdout);
    int saved = dup(1);
    ck_assert_int_eq(dup2(fd, 1), 1);
    close(fd);
    struct ref_pkt *ref;
    size_t nref = load_pcap(sd_test_data("pcap/libtrace/100_packets.pcap"), &ref, NULL);
    const sd_packet **ptrs;
    sd_packet *pk = pkts_from_ref(ref, nref, &ptrs);
    sd_erf_writer *w;
    char eb[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_erf_writer_open(&w, "-", 0, eb), 0);
    ck_assert_int_eq(sd_erf_writer_write(w, ptrs, nref), (int)nref);
    ck_assert_int_eq(sd_erf_writer_close(w, eb), 0);
    dup2(saved, 1);
    close(saved);
    check_erf_file(path, ref, nref);
    ck_assert_int_eq(count_files(dir), 1);
    free(pk);
    free(ptrs);
    free_pcap(ref, nref);
    rm_tmpdir(dir);
}
END_TEST

/* Many buffer flushes, plain and gzip. */
START_TEST(test_writer_large)
{
    uint8_t frame[1500];
    for (size_t i = 0; i < sizeof frame; i++)
        frame[i] = (uint8_t)(i * 7);
    const uint64_t base = UINT64_C(1577836800) * 1000000000u; /* content sniffing wants a plausible time */
    const char *dir = make_tmpdir();
    for (int gz = 0; gz < 2; gz++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/large%d.erf", dir, gz);
        sd_erf_writer *w;
        char eb[SD_ERRBUF_SIZE];
        ck_assert_int_eq(sd_erf_writer_open(&w, path, gz ? SD_ERF_GZIP : 0, eb), 0);
        const int total = 5000;
        for (int i = 0; i < total; i++) {
            sd_packet p = {.ts = base + (uint64_t)i * 1000u + 17, .data = frame, .caplen = (uint32_t)(i % 1500),
                           .wirelen = 1500, .linktype = SD_LINK_ETHERNET};
            const sd_packet *pp = &p;
            frame[0] = (uint8_t)i;
            ck_assert_int_eq(sd_erf_writer_write(w, &pp, 1), 1);
        }
        ck_assert_int_eq(sd_erf_writer_close(w, eb), 0);
        sd_source *src;
        ck_assert_int_eq(sd_source_open(&src, path, eb), 0);
        const sd_packet *p[256];
        int rc, seen = 0;
        while ((rc = sd_source_read(src, p, 256)) > 0) {
            for (int i = 0; i < rc; i++, seen++) {
                ck_assert_uint_eq(p[i]->ts, base + (uint64_t)seen * 1000u + 17);
                ck_assert_uint_eq(p[i]->caplen, (uint32_t)(seen % 1500));
                if (p[i]->caplen > 1) {
                    ck_assert_uint_eq(p[i]->data[0], (uint8_t)seen);
                    ck_assert_uint_eq(p[i]->data[1], 7);
                }
            }
        }
        ck_assert_int_eq(rc, SD_EOF);
        ck_assert_int_eq(seen, total);
        sd_source_close(src);
    }
    rm_tmpdir(dir);
}
END_TEST

START_TEST(test_writer_oom)
{
    const char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/oom.erf", dir);
    for (int gz = 0; gz < 2; gz++) {
        int ok = 0;
        for (long n = 0; n < 50 && !ok; n++) {
            sd_erf_writer *w = NULL;
            char eb[SD_ERRBUF_SIZE] = "";
            sd__alloc_fail_after = n;
            int rc = sd_erf_writer_open(&w, path, gz ? SD_ERF_GZIP : 0, eb);
            sd__alloc_fail_after = -1;
            if (rc == 0) {
                ck_assert_int_eq(sd_erf_writer_close(w, eb), 0);
                ok = 1;
            } else {
                ck_assert_msg(rc == SD_ERR_NOMEM, "allocation %ld: %s", n, sd_errname(rc));
                ck_assert_ptr_null(w);
                ck_assert_int_eq(count_files(dir), gz); /* nothing left behind */
            }
        }
        ck_assert(ok);
    }
    rm_tmpdir(dir);
}
END_TEST

static Suite *erf_suite(void)
{
    Suite *s = suite_create("erf");
    TCase *tc = tcase_create("codec");
    tcase_add_test(tc, test_sha256_self);
    tcase_add_test(tc, test_ndag_vectors);
    tcase_add_test(tc, test_decode_types);
    tcase_add_test(tc, test_decode_damage);
    tcase_add_test(tc, test_encode);
    suite_add_tcase(s, tc);
    tc = tcase_create("reader");
    tcase_add_test(tc, test_100_packets_equal_pcap);
    tcase_add_test(tc, test_5_packets_gz);
    tcase_add_test(tc, test_provenance);
    tcase_add_test(tc, test_lctr_dropped);
    tcase_add_test(tc, test_large_file_batches);
    tcase_add_test(tc, test_stdin);
    tcase_add_test(tc, test_filter);
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_oom_open);
    suite_add_tcase(s, tc);
    tc = tcase_create("writer");
    tcase_add_test(tc, test_writer_round_trip);
    tcase_add_test(tc, test_writer_erf_copy);
    tcase_add_test(tc, test_writer_unsupported_and_discard);
    tcase_add_test(tc, test_writer_stdout);
    tcase_add_test(tc, test_writer_large);
    tcase_add_test(tc, test_writer_oom);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return sd_test_run(erf_suite()); }
