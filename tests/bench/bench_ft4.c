/* Benchmark: sd_ft4 folding FT3 records into FT4 (5-minute, /16).
 *
 * The FT3 records come from sd-gen traffic: packets are generated, parsed
 * and tagged (filter bits only), then counted per 60-second interval and
 * 8-tuple (untimed setup), and laid out as a sorted FT3 file would hold
 * them. Traffic mixes:
 *   gen_default  the default sd-gen mix (5000 sources);
 *   gen_heavy    100 sources, so groups hold many records and values.
 * Then, interleaved, best of ROUNDS:
 *   sd_ft4       sd_ft4_add() in batches of 1024, sd_ft4_flush();
 *   baseline     tests/bench/ft4_ref.h: per FT4 interval, qsort every
 *                record by group, then qsort each group's values per field.
 * Both results are compared record by record before timing. Printed: FT3
 * records folded per second, the ratio, and sd_ft4's table memory.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stardust/filterbits.h>
#include <stardust/ft4.h>
#include <stardust/gen.h>
#include <stardust/parse.h>
#include <stardust/tag.h>

#include "ft4_ref.h"

#define ROUNDS 5
#define BATCH 1024

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int cmp_ft3(const void *a, const void *b)
{
    const sd_ft3_record *x = a, *y = b;
#define C(f)                                                                                   \
    if (x->f != y->f)                                                                          \
        return x->f < y->f ? -1 : 1;
    /* the order of a sorted FT3 file (flowtuple.md §1.6) */
    C(time) C(protocol) C(ttl) C(tcp_flags) C(src_ip) C(dst_ip) C(src_port) C(dst_port) C(ip_len)
#undef C
    return 0;
}

/* FT3 records of `packets` sd-gen packets over `seconds` of trace time. */
static sd_ft3_record *make_ft3(uint32_t sources, uint64_t packets, double seconds, size_t *nout)
{
    char err[SD_ERRBUF_SIZE];
    sd_gen_config cfg;
    sd_gen_config_init(&cfg);
    cfg.count = packets;
    cfg.pps = (double)packets / seconds;
    cfg.n_sources = sources;
    cfg.start_ns = 1767225600ull * 1000000000ull; /* 2026-01-01, a multiple of 300 */
    sd_gen *g;
    sd_tagger *t;
    if (sd_gen_create(&g, &cfg, err) != 0 || sd_tagger_create(&t) != 0 || sd_tagger_freeze(t) != 0) {
        fprintf(stderr, "bench_ft4: setup failed: %s\n", err);
        exit(1);
    }
    sd_ft3_record *r = malloc(packets * sizeof *r);
    if (r == NULL)
        exit(1);
    size_t n = 0;
    for (;;) {
        const sd_packet *b[1024];
        sd_parsed p[1024];
        sd_tags tg[1024];
        int k = sd_gen_next(g, b, 1024);
        if (k <= 0)
            break;
        if (sd_parse_bulk(b, p, (size_t)k) != k || sd_tag(t, b, p, tg, (size_t)k) != k)
            exit(1);
        for (int i = 0; i < k; i++) {
            if (p[i].ip_version != 4)
                continue;
            sd_ft3_record *x = &r[n++];
            memset(x, 0, sizeof *x);
            uint32_t sec = (uint32_t)(b[i]->ts / 1000000000ull);
            x->time = sec - sec % 60;
            x->src_ip = p[i].src4;
            x->dst_ip = p[i].dst4;
            x->src_port = tg[i].src_port;
            x->dst_port = tg[i].dest_port;
            x->protocol = p[i].proto;
            x->ttl = p[i].ttl;
            x->tcp_flags = p[i].proto == 6 ? p[i].tcp_flags : 0;
            x->ip_len = (uint16_t)p[i].ip_len;
            if (x->tcp_flags == 0x02) {
                x->tcp_synlen = p[i].tcp_doff;
                x->tcp_synwinlen = p[i].tcp_win;
            }
            x->is_spoofed = (tg[i].filterbits & SD_FB(SD_FILTER_SPOOFED)) != 0;
            x->is_masscan = (tg[i].filterbits & SD_FB(SD_FILTER_LARGE_SCALE_SCAN)) != 0;
            x->packet_cnt = 1;
            memcpy(x->maxmind_continent, "????????", 8);
        }
    }
    sd_gen_destroy(g);
    sd_tagger_destroy(t);
    /* count per (interval, 8-tuple): the first packet's attributes stay */
    qsort(r, n, sizeof *r, cmp_ft3);
    size_t m = 0;
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && cmp_ft3(&r[m - 1], &r[i]) == 0)
            r[m - 1].packet_cnt++;
        else
            r[m++] = r[i];
    }
    *nout = m;
    return r;
}

struct sink {
    sd_ft4_record *keep; /* when not NULL: copy the output here */
    size_t n;
};

static int emit(void *ud, const sd_ft_chunk_info *info, const sd_ft4_record *recs, size_t n)
{
    struct sink *s = ud;
    (void)info;
    if (s->keep != NULL)
        memcpy(s->keep + s->n, recs, n * sizeof *recs);
    s->n += n;
    return 0;
}

/* Fold all records with f, then flush. One handle serves every round, as
 * in a long run: its tables have grown already (the time shift keeps the
 * rounds in time order). */
static size_t run_ft4(sd_ft4 *f, struct sink *s, const sd_ft3_record *r, size_t n)
{
    s->n = 0;
    for (size_t i = 0; i < n; i += BATCH)
        if (sd_ft4_add(f, r + i, n - i < BATCH ? n - i : BATCH) != 0)
            exit(1);
    if (sd_ft4_flush(f) != 0)
        exit(1);
    return s->n;
}

static void shift(sd_ft3_record *r, size_t n, uint32_t by)
{
    for (size_t i = 0; i < n; i++)
        r[i].time += by;
}

static size_t run_ref(const sd_ft3_record *r, size_t n, sd_ft4_record *out)
{
    size_t no = 0;
    for (size_t a = 0, b; a < n; a = b) {
        uint32_t start = r[a].time - r[a].time % 300;
        for (b = a; b < n && r[b].time - r[b].time % 300 == start; b++)
            ;
        no += ref_fold(r + a, b - a, start, 16, 2, out + no);
    }
    return no;
}

static void bench(const char *name, uint32_t sources, uint64_t packets, double seconds)
{
    size_t n;
    sd_ft3_record *r = make_ft3(sources, packets, seconds, &n);
    sd_ft4_record *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    if (a == NULL || b == NULL)
        exit(1);
    struct sink s = {a, 0};
    sd_ft4 *f;
    if (sd_ft4_create(&f, NULL, emit, &s, NULL) != 0)
        exit(1);
    size_t na = run_ft4(f, &s, r, n);
    size_t nb = run_ref(r, n, b);
    if (na != nb || memcmp(a, b, na * sizeof *a) != 0) {
        fprintf(stderr, "bench_ft4: %s: sd_ft4 and the baseline disagree\n", name);
        exit(1);
    }
    s.keep = NULL;
    uint32_t span = r[n - 1].time - r[0].time + 300;
    span += 300 - span % 300;
    uint64_t best = UINT64_MAX, best_ref = UINT64_MAX;
    for (int k = 0; k < ROUNDS; k++) {
        shift(r, n, span);
        uint64_t t0 = now_ns();
        run_ft4(f, &s, r, n);
        uint64_t d = now_ns() - t0;
        if (d < best)
            best = d;
        t0 = now_ns();
        run_ref(r, n, b);
        d = now_ns() - t0;
        if (d < best_ref)
            best_ref = d;
    }
    size_t mem = sd_ft4_memory(f);
    sd_ft4_destroy(f);
    double v = (double)n / ((double)best / 1e9), vb = (double)n / ((double)best_ref / 1e9);
    printf("{\"bench\":\"ft4\",\"figure\":\"fold_%s\",\"metric\":\"ft3_records_per_s\","
           "\"value\":%.0f,\"baseline\":\"qsort_group_qsort_values\",\"baseline_value\":%.0f,"
           "\"ratio\":%.2f,\"ft3_records\":%zu,\"ft4_records\":%zu,\"packets\":%llu,"
           "\"sources\":%u,\"table_bytes\":%zu}\n",
           name, v, vb, v / vb, n, na, (unsigned long long)packets, sources, mem);
    fflush(stdout);
    free(a);
    free(b);
    free(r);
    ref_free();
}

int main(void)
{
    /* 2M packets over 20 minutes: 4 FT4 intervals, 20 FT3 intervals */
    bench("gen_default", 5000, 2000000, 1200.0);
    bench("gen_heavy", 100, 2000000, 1200.0);
    return 0;
}
