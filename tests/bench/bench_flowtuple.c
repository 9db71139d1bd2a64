/* Benchmark: FT3 aggregation (sd_flowtuple_add) on sd-gen traffic held in
 * memory, one worker on one core.
 *
 * The packets are made, parsed and tagged (no providers) once; the figures
 * time the aggregation alone:
 *   ft3_add_fresh   1M packets of the default sd-gen mix into an empty
 *                   table (sized for them): almost every packet is a new
 *                   tuple (scanners pick random destinations);
 *   ft3_add_steady  a 16384-packet ring replayed 64 times: every tuple is
 *                   already there after the first pass (hits);
 *   ft3_emit        finish: records built and sorted (§1.7), per record;
 *   ft3_memory      peak resident memory per million live tuples (VmHWM
 *                   over the adds and the delivery, which builds and sorts
 *                   the records; baseline: over its adds only).
 * Baseline, measured in the same run on the same packets and tags: a plain
 * uthash table (Debian uthash-dev) keyed by the same 8-tuple, one malloc'd
 * entry per tuple with the same attributes, count++ on a hit.
 * Goal: >= 10 M packets/s per core (ft3_add_fresh).
 * One JSON line per figure, with the baseline and the ratio.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uthash.h>

#include <stardust/filterbits.h>
#include <stardust/flowtuple.h>
#include <stardust/gen.h>
#include <stardust/parse.h>
#include <stardust/tag.h>

#define FRESH (1u << 20)
#define RING 16384
#define REPLAY 64
#define BATCH 64
#define ROUNDS 5

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static sd_packet *pk;
static const sd_packet **pp;
static sd_parsed *ps;
static sd_tags *tg;
static size_t n;

/* Resident set size (VmRSS) or its peak (VmHWM) in bytes: the tables are
 * mmap'd, so heap counters would miss them. */
static size_t proc_kb(const char *key)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t kb = 0, klen = strlen(key);
    while (f != NULL && fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, key, klen) == 0 && sscanf(line + klen, ": %zu kB", &kb) == 1)
            break;
    if (f != NULL)
        fclose(f);
    return kb * 1024;
}

/* Reset VmHWM to the current RSS (Linux >= 4.0). */
static void peak_reset(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    if (f != NULL) {
        fputs("5", f);
        fclose(f);
    }
}

static size_t heap_now(void) { return proc_kb("VmRSS"); }
static size_t heap_peak(void) { return proc_kb("VmHWM"); }

/* ------------------------------------------------------------ baseline */

struct ukey {
    uint32_t src, dst;
    uint16_t sport, dport, iplen;
    uint8_t proto, ttl, flags, pad[3];
};

struct uent {
    struct ukey k;
    uint64_t cnt, first_ts;
    uint32_t asn;
    uint16_t synlen, synwin;
    char geo[8];
    uint8_t attrs;
    UT_hash_handle hh;
};

static struct uent *utab;

static void base_free(void)
{
    struct uent *e, *tmp;
    HASH_ITER(hh, utab, e, tmp)
    {
        HASH_DEL(utab, e);
        free(e);
    }
}

/* The same per-packet work as the aggregator: IPv4 check, key from the
 * header bytes and the tags, attributes on insert. */
static void base_add(size_t from, size_t cnt)
{
    for (size_t i = from; i < from + cnt; i++) {
        const sd_parsed *p = &ps[i];
        const sd_packet *q = pp[i];
        if (p->ethertype != 0x0800 || (uint32_t)p->l2_len + 20 > q->caplen)
            continue;
        const uint8_t *ip = q->data + p->l2_len;
        struct ukey k;
        memset(&k, 0, sizeof k);
        k.proto = ip[9];
        k.ttl = ip[8];
        k.iplen = (uint16_t)(ip[2] << 8 | ip[3]);
        k.src = (uint32_t)ip[12] << 24 | (uint32_t)ip[13] << 16 | (uint32_t)ip[14] << 8 | ip[15];
        k.dst = (uint32_t)ip[16] << 24 | (uint32_t)ip[17] << 16 | (uint32_t)ip[18] << 8 | ip[19];
        k.sport = tg[i].src_port;
        k.dport = tg[i].dest_port;
        if ((p->flags & SD_P_TCP) && p->ip_version == 4)
            k.flags = p->tcp_flags;
        struct uent *e;
        HASH_FIND(hh, utab, &k, sizeof k, e);
        if (e == NULL) {
            e = calloc(1, sizeof *e);
            e->k = k;
            e->first_ts = q->ts;
            if (k.flags == SD_TCP_SYN) {
                e->synlen = p->tcp_doff;
                e->synwin = p->tcp_win;
            }
            e->attrs = (uint8_t)((tg[i].filterbits & 1) | ((tg[i].filterbits >> 2) & 2));
            memcpy(e->geo, "????????", 8);
            e->asn = tg[i].prefixasn;
            HASH_ADD(hh, utab, k, sizeof k, e);
        }
        e->cnt++;
    }
}

/* ------------------------------------------------------------ stardust */

static uint64_t emitted;
static int sink(void *user, const sd_ft_chunk_info *info, const sd_ft3_record *recs, size_t k)
{
    (void)user, (void)info, (void)recs;
    emitted += k;
    return 0;
}

static sd_flowtuple *ft_make(uint64_t expect)
{
    sd_flowtuple_config c;
    sd_flowtuple_config_init(&c);
    c.interval = 86400; /* one interval: nothing closes while timing */
    c.expected_tuples = expect;
    c.output = sink;
    sd_flowtuple *ft;
    char err[SD_ERRBUF_SIZE];
    if (sd_flowtuple_create(&ft, &c, err) != 0) {
        fprintf(stderr, "bench_flowtuple: %s\n", err);
        exit(1);
    }
    return ft;
}

static void ft_feed(sd_flowtuple_worker *w, size_t from, size_t cnt)
{
    for (size_t i = from; i < from + cnt; i += BATCH) {
        size_t m = from + cnt - i < BATCH ? from + cnt - i : BATCH;
        (void)sd_flowtuple_add(w, pp + i, ps + i, tg + i, m);
    }
}

static void make_traffic(size_t count)
{
    sd_gen_config c;
    sd_gen_config_init(&c);
    c.count = count;
    c.pps = 1e6; /* 1 s of trace time */
    sd_gen *g;
    char err[SD_ERRBUF_SIZE];
    if (sd_gen_create(&g, &c, err) != 0) {
        fprintf(stderr, "bench_flowtuple: %s\n", err);
        exit(1);
    }
    pk = calloc(count, sizeof *pk);
    pp = calloc(count, sizeof *pp);
    ps = calloc(count, sizeof *ps);
    tg = calloc(count, sizeof *tg);
    uint8_t *arena = malloc(count * 128);
    while (n < count) {
        const sd_packet *b[1024];
        int r = sd_gen_next(g, b, 1024);
        if (r <= 0)
            break;
        for (int i = 0; i < r; i++) {
            uint32_t len = b[i]->caplen < 128 ? b[i]->caplen : 128;
            memcpy(arena + n * 128, b[i]->data, len);
            pk[n] = *b[i];
            pk[n].data = arena + n * 128;
            pk[n].caplen = len;
            pp[n] = &pk[n];
            n++;
        }
    }
    sd_gen_destroy(g);
    (void)sd_parse_bulk(pp, ps, n);
    sd_tagger *t;
    if (sd_tagger_create(&t) != 0 || sd_tagger_freeze(t) != 0)
        exit(1);
    (void)sd_tag(t, pp, ps, tg, n);
    sd_tagger_destroy(t);
}

static void emit(const char *fig, const char *metric, double v, double base)
{
    printf("{\"bench\":\"flowtuple\",\"figure\":\"%s\",\"metric\":\"%s\",\"value\":%.2f,"
           "\"baseline\":\"uthash\",\"baseline_value\":%.2f,\"ratio\":%.2f}\n",
           fig, metric, v, base, base > 0 ? (metric[0] == 'M' ? v / base : base / v) : 0.0);
}

int main(void)
{
    make_traffic(FRESH);

    /* fresh: every round a new table */
    double best = 0, bbest = 0, emit_ns = 0;
    size_t mem = 0, bmem = 0, live = 0, blive = 0;
    for (int r = 0; r < ROUNDS; r++) {
        peak_reset();
        size_t h0 = heap_now();
        sd_flowtuple *ft = ft_make(FRESH);
        sd_flowtuple_worker *w = sd_flowtuple_worker_get(ft, 0);
        uint64_t t0 = now_ns();
        ft_feed(w, 0, n);
        uint64_t d = now_ns() - t0;
        double mpps = (double)n / (double)d * 1e3;
        if (mpps > best)
            best = mpps;
        sd_flowtuple_stats st;
        sd_flowtuple_get_stats(ft, &st);
        emitted = 0;
        t0 = now_ns();
        if (sd_flowtuple_finish(ft) != 0)
            return 1;
        d = now_ns() - t0;
        emit_ns = (double)d / (double)emitted;
        live = emitted;
        /* round 0 only: later rounds reuse heap the baseline freed but
         * glibc kept resident */
        if (r == 0)
            mem = heap_peak() - h0; /* the adds, then the records built and sorted */
        sd_flowtuple_destroy(ft);

        peak_reset();
        h0 = heap_now();
        t0 = now_ns();
        base_add(0, n);
        d = now_ns() - t0;
        if (r == 0)
            bmem = heap_peak() - h0;
        blive = HASH_COUNT(utab);
        base_free();
        mpps = (double)n / (double)d * 1e3;
        if (mpps > bbest)
            bbest = mpps;
    }
    emit("ft3_add_fresh", "Mpps", best, bbest);
    printf("{\"bench\":\"flowtuple\",\"figure\":\"ft3_live_tuples\",\"metric\":\"tuples\","
           "\"value\":%zu,\"baseline\":\"uthash\",\"baseline_value\":%zu,\"packets\":%zu}\n",
           live, blive, n);
    emit("ft3_memory_per_million_tuples", "MiB", (double)mem / (double)live * 1e6 / 1048576.0,
         (double)bmem / (double)blive * 1e6 / 1048576.0);
    printf("{\"bench\":\"flowtuple\",\"figure\":\"ft3_emit_sorted\",\"metric\":\"ns_per_record\","
           "\"value\":%.2f}\n", emit_ns);

    /* steady: a small ring replayed, every tuple known after one pass */
    best = bbest = 0;
    for (int r = 0; r < ROUNDS; r++) {
        sd_flowtuple *ft = ft_make(RING);
        sd_flowtuple_worker *w = sd_flowtuple_worker_get(ft, 0);
        ft_feed(w, 0, RING);
        uint64_t t0 = now_ns();
        for (int k = 0; k < REPLAY; k++)
            ft_feed(w, 0, RING);
        uint64_t d = now_ns() - t0;
        double mpps = (double)RING * REPLAY / (double)d * 1e3;
        if (mpps > best)
            best = mpps;
        if (sd_flowtuple_finish(ft) != 0)
            return 1;
        sd_flowtuple_destroy(ft);

        base_add(0, RING);
        t0 = now_ns();
        for (int k = 0; k < REPLAY; k++)
            base_add(0, RING);
        d = now_ns() - t0;
        base_free();
        mpps = (double)RING * REPLAY / (double)d * 1e3;
        if (mpps > bbest)
            bbest = mpps;
    }
    emit("ft3_add_steady", "Mpps", best, bbest);
    return 0;
}
