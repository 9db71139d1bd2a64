/* Benchmark: nDAG decode + record iteration (sd_ndag_decode() with full
 * validation, then sd_ndag_iter_init()/sd_ndag_next() over every record)
 * against a minimal walk over the same datagrams that only follows rlen and
 * touches one byte per record (no validation, no sd_packet filled).
 *
 * The datagrams are ENCAPERF messages of at most 8900 bytes built in memory
 * with sd_ndag_encode_erf() from sd_gen's default telescope mix (mostly
 * 60-byte frames, so about 110-150 records per datagram). The working set
 * (BENCH_NDAG_DATAGRAMS datagrams, default 256, about 2.2 MB) stays in the
 * last-level cache, as freshly received socket buffers would be.
 * BENCH_NDAG_RECORDS overrides the number of records decoded per timed run
 * (default 30 M). One core. Prints one JSON line per figure. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stardust/gen.h>
#include <stardust/ndag.h>

#define MAX_DGRAM SD_NDAG_DEFAULT_DATAGRAM

struct dgram {
    uint8_t *d;
    size_t len;
    unsigned records;
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_ndag_decode: %s: %s\n", what, msg);
    exit(1);
}

static size_t env_size(const char *name, size_t def)
{
    const char *v = getenv(name);
    if (v != NULL && atoll(v) > 0)
        return (size_t)atoll(v);
    return def;
}

/* Fill n datagrams from the generator; returns the number of records. */
static uint64_t build(struct dgram *dg, size_t n, const char *mix)
{
    char eb[SD_ERRBUF_SIZE];
    sd_gen_config cfg;
    sd_gen_config_init(&cfg);
    if (sd_gen_config_parse(&cfg, mix, eb) < 0)
        die("sd_gen_config_parse", eb);
    cfg.count = 0;
    cfg.duration_ns = 0; /* endless: we stop when the datagrams are full */
    sd_gen *g;
    if (sd_gen_create(&g, &cfg, eb) < 0)
        die("sd_gen_create", eb);
    enum { B = 512 };
    const sd_packet *pk[B];
    size_t have = 0, used = 0;
    uint64_t records = 0;
    sd_ndag_encap h = {.monitor_id = 1, .started = {0x7a, 0x56, 0x4f, 0xe9, 0x0f}, .seqno = 1};
    for (size_t i = 0; i < n; i++) {
        dg[i].d = malloc(MAX_DGRAM);
        if (dg[i].d == NULL)
            die("malloc", "out of memory");
        int len = 0;
        while (len == 0) {
            if (used == have) {
                int rc = sd_gen_next(g, pk, B);
                if (rc <= 0)
                    die("sd_gen_next", sd_strerror(rc));
                have = (size_t)rc;
                used = 0;
            }
            size_t consumed;
            len = sd_ndag_encode_erf(dg[i].d, MAX_DGRAM, &h, pk + used, have - used, &consumed);
            if (len < 0)
                die("sd_ndag_encode_erf", sd_strerror(len));
            used += consumed;
            /* A datagram that ended because the batch ran out is not full:
             * refill and encode again so every datagram is as full as a
             * sender would make it. */
            if (len > 0 && used == have && (size_t)len + 78 <= MAX_DGRAM) {
                int rc = sd_gen_next(g, pk, B);
                if (rc <= 0)
                    die("sd_gen_next", sd_strerror(rc));
                have = (size_t)rc;
                used = 0;
                len = 0; /* the records just written are rewritten from the new batch */
            }
        }
        dg[i].len = (size_t)len;
        dg[i].records = (unsigned)dg[i].d[22] << 8 | dg[i].d[23];
        records += dg[i].records;
        h.seqno = sd_ndag_seq_succ(h.seqno);
    }
    sd_gen_destroy(g);
    return records;
}

/* sd_ndag_decode + iterate; work per record: caplen + first packet byte. */
static uint64_t run_sd(const struct dgram *dg, size_t n, size_t rounds, uint64_t *recs)
{
    uint64_t sum = 0, cnt = 0;
    for (size_t r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) {
            sd_ndag_msg m;
            if (sd_ndag_decode(&m, dg[i].d, dg[i].len, SD_NDAG_ON_STREAM, NULL) != 0)
                die("sd_ndag_decode", "rejected a datagram the encoder wrote");
            sd_ndag_iter it;
            sd_ndag_record rec;
            sd_ndag_iter_init(&it, &m);
            while (sd_ndag_next(&it, &rec)) {
                sum += rec.pkt.caplen + rec.pkt.data[0];
                cnt++;
            }
        }
    }
    *recs = cnt;
    return sum;
}

/* Decode (validate) only, no iteration. */
static uint64_t run_decode_only(const struct dgram *dg, size_t n, size_t rounds, uint64_t *recs)
{
    uint64_t sum = 0, cnt = 0;
    for (size_t r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) {
            sd_ndag_msg m;
            if (sd_ndag_decode(&m, dg[i].d, dg[i].len, SD_NDAG_ON_STREAM, NULL) != 0)
                die("sd_ndag_decode", "rejected a datagram the encoder wrote");
            sum += m.seqno;
            cnt += m.record_count;
        }
    }
    *recs = cnt;
    return sum;
}

/* Baseline: trust the datagram, follow rlen, touch the first packet byte
 * (record + 18: ERF header and Ethernet pad). */
static uint64_t run_walk(const struct dgram *dg, size_t n, size_t rounds, uint64_t *recs)
{
    uint64_t sum = 0, cnt = 0;
    for (size_t r = 0; r < rounds; r++) {
        for (size_t i = 0; i < n; i++) {
            const uint8_t *p = dg[i].d + SD_NDAG_ENCAP_LEN, *end = dg[i].d + dg[i].len;
            unsigned k = (unsigned)(dg[i].d[22] & 0x7f) << 8 | dg[i].d[23];
            while (k-- > 0 && p + 18 <= end) {
                unsigned rlen = (unsigned)p[10] << 8 | p[11];
                sum += (rlen - 18u) + p[18];
                cnt++;
                p += rlen;
            }
        }
    }
    *recs = cnt;
    return sum;
}

typedef uint64_t (*runner)(const struct dgram *, size_t, size_t, uint64_t *);

/* Best of 5 timed runs, seconds. */
static double best5(runner fn, const struct dgram *dg, size_t n, size_t rounds, uint64_t *check,
                    uint64_t *recs)
{
    double best = 1e30;
    fn(dg, n, 1, recs); /* warm the caches */
    for (int k = 0; k < 5; k++) {
        double t0 = now();
        *check = fn(dg, n, rounds, recs);
        double t = now() - t0;
        if (t < best)
            best = t;
    }
    return best;
}

static void emit(const char *bench, const char *metric, double v, const char *base, double bv,
                 double ratio, const char *goal, double rec_per_dgram)
{
    printf("{\"bench\":\"%s\",\"metric\":\"%s\",\"value\":%.2f,\"baseline\":\"%s\","
           "\"baseline_value\":%.2f,\"ratio\":%.3f,\"goal\":\"%s\",\"records_per_datagram\":%.1f}\n",
           bench, metric, v, base, bv, ratio, goal, rec_per_dgram);
    fflush(stdout);
}

/* One set of figures for the datagrams of one traffic mix. */
static void bench_mix(const char *name, const char *mix, size_t n, size_t target)
{
    struct dgram *dg = calloc(n, sizeof *dg);
    if (dg == NULL)
        die("calloc", "out of memory");
    uint64_t records = build(dg, n, mix);
    size_t rounds = (size_t)(target / records) + 1;
    double per_dgram = (double)records / (double)n;

    uint64_t c_sd, c_walk, c_dec, r_sd, r_walk, r_dec;
    double t_sd = best5(run_sd, dg, n, rounds, &c_sd, &r_sd);
    double t_walk = best5(run_walk, dg, n, rounds, &c_walk, &r_walk);
    double t_dec = best5(run_decode_only, dg, n, rounds, &c_dec, &r_dec);
    if (c_sd != c_walk || r_sd != r_walk || r_dec != r_sd)
        die("check", "decoder and baseline walk disagree on the records");

    double recs = (double)r_sd, dgrams = (double)n * (double)rounds;
    double mr_sd = recs / t_sd / 1e6, mr_walk = recs / t_walk / 1e6, mr_dec = recs / t_dec / 1e6;
    char bench[64];
    snprintf(bench, sizeof bench, "ndag_decode_%s", name);
    emit(bench, "mrecords_per_s_per_core", mr_sd, "rlen_walk_touch", mr_walk, mr_sd / mr_walk,
         ">= 20 Mrecords/s", per_dgram);
    emit(bench, "kdatagrams_per_s_per_core", dgrams / t_sd / 1e3, "rlen_walk_touch",
         dgrams / t_walk / 1e3, t_walk / t_sd, "none", per_dgram);
    emit(bench, "ns_per_record", t_sd * 1e9 / recs, "rlen_walk_touch", t_walk * 1e9 / recs,
         t_sd / t_walk, "<= 50 ns", per_dgram);
    snprintf(bench, sizeof bench, "ndag_validate_%s", name);
    emit(bench, "mrecords_per_s_per_core", mr_dec, "rlen_walk_touch", mr_walk, mr_dec / mr_walk,
         "none (part of decode)", per_dgram);
    for (size_t i = 0; i < n; i++)
        free(dg[i].d);
    free(dg);
}

int main(void)
{
    size_t n = env_size("BENCH_NDAG_DATAGRAMS", 256);
    size_t target = env_size("BENCH_NDAG_RECORDS", 30000000);
    /* sd_gen's default telescope mix, and a SYN-scan-only mix of 60-byte
     * frames (the densest datagrams: about 114 records of 78 bytes). */
    bench_mix("telescope_mix", "", n, target);
    bench_mix("syn60", "scan=0,masscan=1,zmap=0,mirai=1,udp=0,icmp=0,backscatter=0,spoofed=0,"
                       "frag=0,ipv6=0",
              n, target);
    return 0;
}
