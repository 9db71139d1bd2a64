/* Fuzz target: the ERF file reader (buffer mode) and the record codec.
 * Every decoded packet must lie inside the input, and re-encoding it must
 * decode to the same packet. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/source.h>
#include "erf_int.h"
#include "io_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static void check_packet(const uint8_t *d, size_t n, const sd_packet *p)
{
    /* The bytes are inside the input (ASan also checks the reads). */
    if (p->caplen > 0 && (p->data < d || p->data + p->caplen > d + n))
        abort();
    volatile uint8_t sink = 0;
    for (uint32_t i = 0; i < p->caplen; i++)
        sink ^= p->data[i];
    (void)sink;
    if (p->linktype != SD_LINK_ETHERNET && p->linktype != SD_LINK_IPV4 && p->linktype != SD_LINK_IPV6)
        return;
    uint8_t rec[65536];
    int len = sd__erf_encode(rec, sizeof rec, p, p->lctr);
    if (len <= 0)
        abort();
    sd_packet q;
    struct sd__erf_rec r;
    if (sd__erf_decode(rec, (size_t)len, &q, &r, 0) != SD__ERF_PACKET)
        abort();
    if (q.ts != p->ts || q.caplen != p->caplen || q.wirelen != p->wirelen || q.linktype != p->linktype ||
        q.iface != p->iface || q.flags != p->flags || q.lctr != p->lctr ||
        memcmp(q.data, p->data, p->caplen) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    sd_source *src;
    if (sd__source_open_buffer(&src, "erf", "fuzz", d, n, NULL) == 0) {
        const sd_packet *p[64];
        int rc;
        while ((rc = sd_source_read(src, p, 64)) > 0)
            for (int i = 0; i < rc; i++)
                check_packet(d, n, p[i]);
        sd_source_close(src);
    }
    /* The nDAG receiver's use: records to the end of a datagram, the last
     * one possibly marked truncated by the sender. */
    size_t off = 0;
    while (off < n) {
        sd_packet p;
        struct sd__erf_rec r;
        int rc = sd__erf_decode(d + off, n - off, &p, &r, (n - off) < 64 ? SD__ERF_DEC_TO_END : 0);
        if (rc < 0) {
            char why[200];
            sd__erf_explain(&r, n - off, why, sizeof why);
            break;
        }
        if (rc == SD__ERF_PACKET)
            check_packet(d, n, &p);
        if (r.rlen == 0)
            abort();
        off += r.rlen;
    }
    return 0;
}
