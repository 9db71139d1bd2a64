/* Benchmark: sd_filterbits_bulk() on sd-gen traffic held in memory.
 *
 * 16384 packets of the default sd-gen mix (scanners, masscan, zmap, mirai,
 * UDP, ICMP, backscatter, spoofed, fragments, 4% IPv6) are copied into a
 * ring. Then, in interleaved rounds over the ring in batches of 64:
 *   value       ns per packet that sd_filterbits_bulk() adds to
 *               sd_parse_bulk() when run on each freshly parsed batch (as a
 *               consumer does): (parse + filter bits) - parse;
 *   baseline    ns per packet of sd_parse_bulk() alone, measured in the
 *               same run (so the ratio is the cost of the filter bits
 *               relative to parsing, which every consumer pays anyway);
 *   filterbits_on_preparsed_ring: sd_filterbits_bulk() alone over the whole
 *               ring parsed beforehand (parse results not in cache).
 * Each figure is the best round. One JSON line. Goal: filter bits cost less
 * than parsing (ratio < 1).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stardust/filterbits.h>
#include <stardust/gen.h>
#include <stardust/parse.h>

#define RING 16384
#define BATCH 64
#define ROUNDS 300

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(void)
{
    sd_gen_config cfg;
    sd_gen_config_init(&cfg);
    cfg.count = RING;
    sd_gen *g;
    char err[SD_ERRBUF_SIZE];
    if (sd_gen_create(&g, &cfg, err) < 0) {
        fprintf(stderr, "bench_filterbits: %s\n", err);
        return 1;
    }
    static sd_packet pk[RING];
    static const sd_packet *pp[RING];
    static sd_parsed parsed[RING];
    static uint64_t bits[RING];
    size_t n = 0, total_bytes = 0;
    /* packed back to back (64-byte aligned), as in a capture buffer */
    uint8_t *arena = malloc((size_t)RING * 2048);
    size_t used = 0;
    if (arena == NULL)
        return 1;
    while (n < RING) {
        const sd_packet *b[1024];
        int r = sd_gen_next(g, b, 1024);
        if (r <= 0)
            break;
        for (int i = 0; i < r && n < RING; i++, n++) {
            uint32_t len = b[i]->caplen < 2048 ? b[i]->caplen : 2048;
            memcpy(arena + used, b[i]->data, len);
            pk[n] = *b[i];
            pk[n].data = arena + used;
            used += (len + 63u) & ~(size_t)63;
            pk[n].caplen = len;
            pp[n] = &pk[n];
            total_bytes += len;
        }
    }
    sd_gen_destroy(g);
    if (sd_parse_bulk(pp, parsed, n) != (int)n)
        return 1;

    /* As a consumer runs it: parse a batch of 64, then its filter bits
     * while the parse results are still in L1. */
    uint64_t best_both = UINT64_MAX, best_parse = UINT64_MAX, sink = 0;
    static sd_parsed scratch[BATCH];
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t t0 = now_ns();
        for (size_t i = 0; i < n; i += BATCH) {
            size_t k = n - i < BATCH ? n - i : BATCH;
            (void)sd_parse_bulk(pp + i, scratch, k);
            (void)sd_filterbits_bulk(scratch, pp + i, bits + i, k);
        }
        uint64_t t1 = now_ns();
        for (size_t i = 0; i < n; i++)
            sink += bits[i];
        uint64_t t2 = now_ns();
        for (size_t i = 0; i < n; i += BATCH)
            (void)sd_parse_bulk(pp + i, scratch, n - i < BATCH ? n - i : BATCH);
        uint64_t t3 = now_ns();
        sink += scratch[0].flags;
        if (t1 - t0 < best_both)
            best_both = t1 - t0;
        if (t3 - t2 < best_parse)
            best_parse = t3 - t2;
    }
    /* and on a ring parsed beforehand (parse results not cached) */
    uint64_t best_cold = UINT64_MAX;
    for (int round = 0; round < ROUNDS / 3; round++) {
        uint64_t t0 = now_ns();
        for (size_t i = 0; i < n; i += BATCH)
            (void)sd_filterbits_bulk(parsed + i, pp + i, bits + i, n - i < BATCH ? n - i : BATCH);
        uint64_t t1 = now_ns();
        sink += bits[n - 1];
        if (t1 - t0 < best_cold)
            best_cold = t1 - t0;
    }
    double both = (double)best_both / (double)n, pa = (double)best_parse / (double)n;
    double fb = both - pa, cold = (double)best_cold / (double)n;
    printf("{\"bench\":\"filterbits\",\"metric\":\"ns_per_packet\",\"value\":%.2f,"
           "\"baseline\":\"parse_bulk\",\"baseline_value\":%.2f,\"ratio\":%.3f,"
           "\"goal\":\"ratio < 1\",\"parse_plus_filterbits\":%.2f,"
           "\"filterbits_on_preparsed_ring\":%.2f,\"packets\":%zu,\"avg_caplen\":%.1f,"
           "\"sink\":%llu}\n",
           fb, pa, fb / pa, both, cold, n, (double)total_bytes / (double)n,
           (unsigned long long)(sink & 1));
    free(arena);
    return 0;
}
