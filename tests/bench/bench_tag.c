/* Benchmark: sd_tag() on sd-gen traffic held in memory.
 *
 * 16384 packets of the default sd-gen mix are parsed once; then, in
 * interleaved rounds over the ring in batches of 64 (best round counts):
 *   tag_filterbits_basic  sd_tag() without providers (filter bits, ports,
 *                         protocol, ft_hash);
 *   tag_pfx2as            + the full RouteViews pfx2as table;
 *   tag_geo_mmdb          + GeoIP2-City-Test.mmdb only;
 *   tag_geo_csv           + the MaxMind CSV and Net Acuity fixtures
 *                         (when the CSV loaders are built);
 *   tag_all               pfx2as + every geo table.
 * Baseline, measured in the same run: per packet, MMDB_lookup_sockaddr() on
 * the same .mmdb plus a binary search over the sorted pfx2as IPv4 prefixes
 * (with a parent link per prefix to find the longest one): the lookups
 * alone, without filter bits or basic tags. Goal: tag_all >= 5x faster
 * than the baseline and <= 30 ns/packet.
 * Also: load times (full pfx2as < 2 s; baseline gunzip of the same file)
 * and the memory of the loaded tables.
 */
#include "config.h"

#include <arpa/inet.h>
#include <maxminddb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <stardust/gen.h>
#include <stardust/geo.h>
#include <stardust/parse.h>
#include <stardust/pfx2as.h>
#include <stardust/tag.h>

#ifndef SD_SHARED_DATA
#define SD_SHARED_DATA "../shared/data"
#endif
#ifndef SD_BENCH_GEO_CSV
#define SD_BENCH_GEO_CSV 1
#endif

#define RING 16384
#define BATCH 64
#define ROUNDS 60

static char path_buf[10][1024];
static const char *dpath(int slot, const char *rel)
{
    const char *d = getenv("SD_DATA");
    snprintf(path_buf[slot], sizeof path_buf[slot], "%s/%s", d && *d ? d : SD_SHARED_DATA, rel);
    return path_buf[slot];
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static sd_packet pk[RING];
static const sd_packet *pp[RING];
static sd_parsed parsed[RING];
static sd_tags tags[RING];
static size_t n;

/* ------------------------------------------------------------ baseline */

struct bpfx {
    uint32_t start, end, asn;
    int32_t parent; /* closest enclosing prefix, -1 */
    uint8_t len;
};
static struct bpfx *bp;
static size_t nbp;

static int cmp_bpfx(const void *a, const void *b)
{
    const struct bpfx *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    return (int)x->len - (int)y->len;
}

static int baseline_load(const char *path)
{
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL)
        return -1;
    char line[512];
    size_t cap = 1 << 20;
    bp = malloc(cap * sizeof *bp);
    while (gzgets(gz, line, sizeof line) != NULL) {
        char *a = strtok(line, "\t"), *l = strtok(NULL, "\t"), *o = strtok(NULL, "\t\n");
        struct in_addr in;
        if (a == NULL || l == NULL || o == NULL || inet_pton(AF_INET, a, &in) != 1)
            continue;
        unsigned len = (unsigned)atoi(l);
        if (nbp == cap)
            bp = realloc(bp, (cap *= 2) * sizeof *bp);
        uint32_t s = ntohl(in.s_addr);
        uint32_t mask = len ? ~0u << (32 - len) : 0;
        bp[nbp++] = (struct bpfx){s & mask, (s & mask) | ~mask,
                                  strchr(o, '_') || strchr(o, ',') ? 0 : (uint32_t)atol(o), -1,
                                  (uint8_t)len};
    }
    gzclose(gz);
    qsort(bp, nbp, sizeof *bp, cmp_bpfx);
    /* parent links with a stack of open prefixes */
    int32_t *stack = malloc(nbp * sizeof *stack);
    size_t sp = 0;
    for (size_t i = 0; i < nbp; i++) {
        while (sp > 0 && bp[stack[sp - 1]].end < bp[i].start)
            sp--;
        bp[i].parent = sp > 0 ? stack[sp - 1] : -1;
        stack[sp++] = (int32_t)i;
    }
    free(stack);
    return 0;
}

static uint32_t baseline_asn(uint32_t a)
{
    size_t lo = 0, hi = nbp;
    while (lo < hi) { /* first start > a */
        size_t mid = lo + (hi - lo) / 2;
        if (bp[mid].start <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    int32_t i = (int32_t)lo - 1;
    while (i >= 0 && bp[i].end < a)
        i = bp[i].parent;
    return i >= 0 ? bp[i].asn : 0;
}

/* ------------------------------------------------------------ runs */

static double run_tag(const sd_tagger *t)
{
    uint64_t best = UINT64_MAX;
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t t0 = now_ns();
        for (size_t i = 0; i < n; i += BATCH)
            (void)sd_tag(t, pp + i, parsed + i, tags + i, n - i < BATCH ? n - i : BATCH);
        uint64_t d = now_ns() - t0;
        if (d < best)
            best = d;
    }
    return (double)best / (double)n;
}

static volatile uint64_t sink;

static double run_baseline(MMDB_s *mm)
{
    uint64_t best = UINT64_MAX;
    for (int r = 0; r < ROUNDS; r++) {
        uint64_t s = 0;
        uint64_t t0 = now_ns();
        for (size_t i = 0; i < n; i++) {
            if (parsed[i].ip_version != 4)
                continue;
            struct sockaddr_in sa = {.sin_family = AF_INET};
            sa.sin_addr.s_addr = htonl(parsed[i].src4);
            int err;
            MMDB_lookup_result_s res = MMDB_lookup_sockaddr(mm, (struct sockaddr *)&sa, &err);
            s += res.found_entry + baseline_asn(parsed[i].src4);
        }
        uint64_t d = now_ns() - t0;
        sink += s;
        if (d < best)
            best = d;
    }
    return (double)best / (double)n;
}

static sd_tagger *make(sd_pfx2as *p, sd_geo *g1, sd_geo *g2)
{
    sd_tagger *t;
    if (sd_tagger_create(&t) != 0)
        exit(1);
    if ((p && sd_tagger_add_pfx2as(t, p) != 0) || (g1 && sd_tagger_add_geo(t, g1) != 0) ||
        (g2 && sd_tagger_add_geo(t, g2) != 0) || sd_tagger_freeze(t) != 0) {
        fprintf(stderr, "bench_tag: tagger: %s\n", sd_errmsg(t));
        exit(1);
    }
    return t;
}

static void line(const char *name, double v, double base, const char *goal, size_t mem)
{
    printf("{\"bench\":\"tag\",\"figure\":\"%s\",\"metric\":\"ns_per_packet\",\"value\":%.2f,"
           "\"baseline\":\"mmdb_lookup_sockaddr+pfx2as_bsearch\",\"baseline_value\":%.2f,"
           "\"ratio\":%.2f,\"goal\":\"%s\",\"table_bytes\":%zu,\"packets\":%zu}\n",
           name, v, base, base / v, goal, mem, n);
}

int main(void)
{
    char err[SD_ERRBUF_SIZE];
    sd_gen_config cfg;
    sd_gen_config_init(&cfg);
    cfg.count = RING;
    sd_gen *g;
    if (sd_gen_create(&g, &cfg, err) < 0) {
        fprintf(stderr, "bench_tag: %s\n", err);
        return 1;
    }
    uint8_t *arena = malloc((size_t)RING * 2048);
    size_t used = 0;
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
            pk[n].caplen = len;
            used += (len + 63u) & ~(size_t)63;
            pp[n] = &pk[n];
        }
    }
    sd_gen_destroy(g);
    if (sd_parse_bulk(pp, parsed, n) != (int)n)
        return 1;

    const char *pfx_path = dpath(0, "pfx2as/routeviews-rv2-20170329-0200.pfx2as.gz");
    const char *mmdb_path = dpath(1, "mmdb/GeoIP2-City-Test.mmdb");

    /* load times: pfx2as vs plain gunzip of the same file */
    uint64_t t0 = now_ns();
    gzFile gz = gzopen(pfx_path, "rb");
    if (gz == NULL)
        return 1;
    static char zbuf[1 << 16];
    while (gzread(gz, zbuf, sizeof zbuf) > 0)
        sink += (uint8_t)zbuf[0];
    gzclose(gz);
    double gunzip_s = (double)(now_ns() - t0) / 1e9;
    sd_pfx2as *p1, *p2;
    t0 = now_ns();
    if (sd_pfx2as_open(&p1, pfx_path, err) != 0) {
        fprintf(stderr, "bench_tag: %s\n", err);
        return 1;
    }
    double pfx_s = (double)(now_ns() - t0) / 1e9;
    printf("{\"bench\":\"tag\",\"figure\":\"load_pfx2as_full\",\"metric\":\"seconds\","
           "\"value\":%.3f,\"baseline\":\"gunzip_same_file\",\"baseline_value\":%.3f,"
           "\"ratio\":%.2f,\"goal\":\"< 2 s\",\"prefixes\":%zu,\"table_bytes\":%zu}\n",
           pfx_s, gunzip_s, pfx_s / gunzip_s, sd_pfx2as_count(p1, 4) + sd_pfx2as_count(p1, 6),
           sd_pfx2as_memory(p1));
    if (sd_pfx2as_open(&p2, pfx_path, err) != 0)
        return 1;
    sd_geo *m1, *m2;
    t0 = now_ns();
    if (sd_geo_open_mmdb(&m1, mmdb_path, err) != 0) {
        fprintf(stderr, "bench_tag: %s\n", err);
        return 1;
    }
    double mm_s = (double)(now_ns() - t0) / 1e9;
    if (sd_geo_open_mmdb(&m2, mmdb_path, err) != 0)
        return 1;
    printf("{\"bench\":\"tag\",\"figure\":\"load_mmdb_city_test\",\"metric\":\"seconds\","
           "\"value\":%.4f,\"baseline\":\"none\",\"baseline_value\":0,\"ratio\":0,"
           "\"goal\":\"\",\"prefixes\":%zu,\"table_bytes\":%zu}\n",
           mm_s, sd_geo_count(m1, 4) + sd_geo_count(m1, 6), sd_geo_memory(m1));

    /* baseline */
    MMDB_s mm;
    if (MMDB_open(mmdb_path, MMDB_MODE_MMAP, &mm) != MMDB_SUCCESS || baseline_load(pfx_path) != 0)
        return 1;

    sd_tagger *t_none = make(NULL, NULL, NULL);
    sd_tagger *t_pfx = make(p1, NULL, NULL);
    sd_tagger *t_mm = make(NULL, m1, NULL);
    sd_geo *mcsv = NULL;
#if SD_BENCH_GEO_CSV
    sd_netacq_files f = {
        .blocks = dpath(2, "netacq/netacq-4-blocks.csv"),
        .locations = dpath(3, "netacq/netacq-4-locations.csv"),
        .countries = dpath(4, "netacq/netacq-4-countries.csv"),
        .regions = dpath(5, "netacq/netacq-4-regions.csv"),
        .polygon_map = dpath(6, "netacq/netacq-4-polygon-map.csv"),
        .polygon_tables = {dpath(7, "netacq/synthetic-admin1.polygons.csv"),
                           dpath(8, "netacq/synthetic-county.polygons.csv")},
        .n_polygon_tables = 2};
    sd_geo *na = NULL;
    if (sd_geo_open_netacq(&na, &f, err) != 0 ||
        sd_geo_open_dir(&mcsv, SD_GEO_MAXMIND, dpath(9, "maxmind-csv"), err) != 0) {
        fprintf(stderr, "bench_tag: %s\n", err);
        return 1;
    }
    sd_geo *na2 = NULL;
    if (sd_geo_open_netacq(&na2, &f, err) != 0)
        return 1;
    sd_tagger *t_csv = make(NULL, mcsv, na);
    sd_tagger *t_all = make(p2, m2, na2);
#else
    sd_tagger *t_csv = NULL;
    sd_tagger *t_all = make(p2, m2, NULL);
#endif

    double v_none = 1e9, v_pfx = 1e9, v_mm = 1e9, v_csv = 1e9, v_all = 1e9, v_base = 1e9;
    for (int rep = 0; rep < 3; rep++) { /* interleaved, best of each */
        double x;
        if ((x = run_baseline(&mm)) < v_base)
            v_base = x;
        if ((x = run_tag(t_none)) < v_none)
            v_none = x;
        if ((x = run_tag(t_pfx)) < v_pfx)
            v_pfx = x;
        if ((x = run_tag(t_mm)) < v_mm)
            v_mm = x;
        if (t_csv && (x = run_tag(t_csv)) < v_csv)
            v_csv = x;
        if ((x = run_tag(t_all)) < v_all)
            v_all = x;
    }
    line("tag_filterbits_basic", v_none, v_base, "", sd_tagger_memory(t_none));
    line("tag_pfx2as", v_pfx, v_base, "", sd_tagger_memory(t_pfx));
    line("tag_geo_mmdb", v_mm, v_base, "", sd_tagger_memory(t_mm));
    if (t_csv)
        line("tag_geo_csv_maxmind_netacq", v_csv, v_base, "", sd_tagger_memory(t_csv));
    line("tag_all", v_all, v_base, ">= 5x faster, <= 30 ns", sd_tagger_memory(t_all));
    /* the provider part alone: what the baseline does */
    line("provider_lookups_all", v_all - v_none, v_base, ">= 5x faster", sd_tagger_memory(t_all));

    MMDB_close(&mm);
    sd_tagger_destroy(t_none);
    sd_tagger_destroy(t_pfx);
    sd_tagger_destroy(t_mm);
    sd_tagger_destroy(t_csv);
    sd_tagger_destroy(t_all);
    (void)mcsv;
    free(bp);
    free(arena);
    return 0;
}
