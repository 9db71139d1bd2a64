/* bench_lpm: sd_pfx2as load time and memory on the full RouteViews table of
 * 2017-03-29 (694682 IPv4 prefixes), and ns per sd_lpm_lookup4() and per
 * address of sd_lpm_lookup4_bulk() (batches of 256) on 4 M random addresses.
 *
 * Baseline, measured in the same run over the same prefixes and addresses:
 * a binary search over the sorted disjoint address ranges the prefixes
 * cover (the classic compact LPM), built here from the file. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include <stardust/lpm.h>
#include <stardust/pfx2as.h>

#ifndef SD_SHARED_DATA
#define SD_SHARED_DATA "../shared/data"
#endif

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The lookup loops are timed in CPU time of this thread: the machines are
 * shared, and wall time counts the time other processes held the core. */
static double cpu_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

struct pfx {
    uint32_t start, end, value, seq;
};

static int cmp_pfx(const void *a, const void *b)
{
    const struct pfx *x = a, *y = b;
    if (x->start != y->start)
        return x->start < y->start ? -1 : 1;
    if (x->end != y->end)
        return x->end > y->end ? -1 : 1; /* containing prefix first */
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static uint32_t *rs, *rv;
static size_t nr;

static void emit(uint32_t pos, uint32_t v)
{
    if (nr > 0 && rs[nr - 1] == pos) {
        rv[nr - 1] = v;
        return;
    }
    if (nr > 0 && rv[nr - 1] == v)
        return;
    rs[nr] = pos;
    rv[nr++] = v;
}

static uint32_t range_lookup(uint32_t a)
{
    size_t lo = 0, n = nr;
    while (n > 1) {
        size_t half = n / 2;
        lo = rs[lo + half] <= a ? lo + half : lo;
        n -= half;
    }
    return rv[lo];
}

int main(void)
{
    const char *path = SD_SHARED_DATA "/pfx2as/routeviews-rv2-20170329-0200.pfx2as.gz";
    char err[SD_ERRBUF_SIZE];
    sd_pfx2as *t;
    double t0 = now_s();
    if (sd_pfx2as_open(&t, path, err) != 0) {
        fprintf(stderr, "bench_lpm: %s\n", err);
        return 1;
    }
    double load = now_s() - t0;
    /* Baseline load: the same file through gzgets + sscanf, no structure. */
    t0 = now_s();
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL)
        return 1;
    size_t n = 0, cap = 1 << 20;
    struct pfx *p = malloc(cap * sizeof *p);
    char line[256], a[64];
    unsigned len;
    while (p != NULL && gzgets(gz, line, sizeof line) != NULL) {
        struct in_addr ia;
        if (sscanf(line, "%63s %u", a, &len) != 2 || inet_pton(AF_INET, a, &ia) != 1 || len > 32)
            return 1;
        uint32_t s = ntohl(ia.s_addr), m = len ? ~0u << (32 - len) : 0;
        if (n == cap)
            p = realloc(p, (cap *= 2) * sizeof *p);
        p[n] = (struct pfx){ s & m, (s & m) | ~m, (uint32_t)n, (uint32_t)n };
        n++;
    }
    gzclose(gz);
    double parse_only = now_s() - t0;
    printf("{\"bench\":\"lpm\",\"metric\":\"pfx2as_load_s\",\"value\":%.3f,\"baseline\":\"gzgets_sscanf_only\","
           "\"baseline_value\":%.3f,\"ratio\":%.2f,\"prefixes\":%zu,\"goal\":\"<2 s\"}\n",
           load, parse_only, load / parse_only, sd_pfx2as_count(t, 4));

    /* The LPM under test holds the same prefixes with value = line number,
     * so both structures must give the same answers. */
    sd_lpm *l;
    if (sd_lpm_create(&l) != 0)
        return 1;
    for (size_t i = 0; i < n; i++) {
        unsigned plen = 32 - (unsigned)__builtin_popcount(p[i].end - p[i].start);
        if (sd_lpm_insert4(l, p[i].start, plen, p[i].value) != 0)
            return 1;
    }
    t0 = now_s();
    if (sd_lpm_freeze(l) != 0)
        return 1;
    double freeze = now_s() - t0;
    qsort(p, n, sizeof *p, cmp_pfx);
    rs = malloc((2 * n + 1) * sizeof *rs);
    rv = malloc((2 * n + 1) * sizeof *rv);
    struct pfx *stack[33];
    size_t depth = 0;
    emit(0, SD_LPM_NONE);
    for (size_t i = 0; i < n; i++) {
        if (i + 1 < n && p[i].start == p[i + 1].start && p[i].end == p[i + 1].end)
            continue; /* later duplicate wins */
        while (depth > 0 && stack[depth - 1]->end < p[i].start) {
            uint32_t e = stack[--depth]->end;
            if (e != UINT32_MAX)
                emit(e + 1, depth ? stack[depth - 1]->value : SD_LPM_NONE);
        }
        stack[depth++] = &p[i];
        emit(p[i].start, p[i].value);
    }
    while (depth > 0) {
        uint32_t e = stack[--depth]->end;
        if (e != UINT32_MAX)
            emit(e + 1, depth ? stack[depth - 1]->value : SD_LPM_NONE);
    }
    printf("{\"bench\":\"lpm\",\"metric\":\"memory_bytes\",\"value\":%zu,\"baseline\":\"sorted_ranges\","
           "\"baseline_value\":%zu,\"ratio\":%.2f,\"pfx2as_total_bytes\":%zu,\"freeze_s\":%.3f}\n",
           sd_lpm_memory(l), nr * 8, (double)sd_lpm_memory(l) / (double)(nr * 8),
           sd_pfx2as_memory(t), freeze);

    const size_t na = 1 << 22;
    uint32_t *addrs = malloc(na * sizeof *addrs);
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < na; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        addrs[i] = (uint32_t)(x >> 16);
    }
    size_t mismatches = 0;
    for (size_t i = 0; i < na; i++)
        mismatches += sd_lpm_lookup4(l, addrs[i]) != range_lookup(addrs[i]);
    if (mismatches) {
        fprintf(stderr, "bench_lpm: %zu mismatches against the baseline\n", mismatches);
        return 1;
    }
    const int rounds = 8;
    volatile uint32_t sink = 0;
    uint32_t acc = 0;
    t0 = cpu_s();
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < na; i++)
            acc += sd_lpm_lookup4(l, addrs[i]);
    double lpm_ns = (cpu_s() - t0) * 1e9 / ((double)rounds * (double)na);
    sink = acc;
    acc = 0;
    t0 = cpu_s();
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i < na; i++)
            acc += range_lookup(addrs[i]);
    double base_ns = (cpu_s() - t0) * 1e9 / ((double)rounds * (double)na);
    sink = acc;
    printf("{\"bench\":\"lpm\",\"metric\":\"ns_per_lookup4\",\"value\":%.2f,\"baseline\":\"sorted_range_bsearch\","
           "\"baseline_value\":%.2f,\"ratio\":%.3f,\"ranges\":%zu,\"clock\":\"thread_cpu\",\"goal\":\"<=10 ns\"}\n",
           lpm_ns, base_ns, lpm_ns / base_ns, nr);
    /* Bulk: the batch size the tagger uses (one source read). */
    const size_t batch = 256;
    uint32_t *out = malloc(batch * sizeof *out);
    for (size_t i = 0; i + batch <= na; i += batch) {
        sd_lpm_lookup4_bulk(l, addrs + i, out, batch);
        for (size_t k = 0; k < batch; k++)
            if (out[k] != range_lookup(addrs[i + k])) {
                fprintf(stderr, "bench_lpm: bulk mismatch at %zu\n", i + k);
                return 1;
            }
    }
    acc = 0;
    t0 = cpu_s();
    for (int r = 0; r < rounds; r++)
        for (size_t i = 0; i + batch <= na; i += batch) {
            sd_lpm_lookup4_bulk(l, addrs + i, out, batch);
            acc += out[batch - 1];
        }
    double bulk_ns = (cpu_s() - t0) * 1e9 / ((double)rounds * (double)na);
    sink = acc;
    printf("{\"bench\":\"lpm\",\"metric\":\"ns_per_lookup4_bulk\",\"value\":%.2f,\"baseline\":\"sorted_range_bsearch\","
           "\"baseline_value\":%.2f,\"ratio\":%.3f,\"batch\":%zu,\"single_ns\":%.2f,\"clock\":\"thread_cpu\",\"goal\":\"<=10 ns\"}\n",
           bulk_ns, base_ns, bulk_ns / base_ns, batch, lpm_ns);
    free(out);
    sd_lpm_destroy(l);
    sd_pfx2as_close(t);
    (void)sink;
    free(addrs);
    free(p);
    free(rs);
    free(rv);
    return 0;
}
