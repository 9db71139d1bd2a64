/* Benchmark: Avro FT3/FT4 files (issue 6).
 *
 * Without arguments: 1M pseudo-random FT3 records (and 200k FT4) written
 * and read back in BENCH_TMP (default /dev/shm), best of 3 rounds:
 *   write_ft3_{deflate,null}  sd_avro_write_ft3(), records/s; baseline:
 *                             avro-c's own file writer appending generic
 *                             values (avro_file_writer_append_value) with
 *                             the same codec, the usual way to use avro-c
 *                             (avro-c deflates at level 9, stardust at 1 by
 *                             default: write_ft3_deflate_level9 is the pair
 *                             with equal compression);
 *   read_ft3_{deflate,null}   sd_avro_read_ft3() into structs; baseline:
 *                             avro_file_reader_read_value() plus getting
 *                             the 19 fields out of each value;
 *   write_ft4 / read_ft4      the FT4 typed writer and reader (deflate), no
 *                             baseline (avro-c has no faster path for them).
 * Modes used by bench-avro.sh (python3-avro comparison on the same file):
 *   bench_avro --make FILE N  write N FT3 records (deflate) to FILE;
 *   bench_avro --read FILE    print the typed read rate of FILE (best of 3).
 */
#include <avro.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stardust/avro.h>

#define ROUNDS 3
#define BATCH 512

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t g_rng = 0x2545f4914f6cdd1dull;
static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

/* Records shaped like telescope FT3: few times, skewed sources and ports. */
static void make_ft3(sd_ft3_record *r, size_t i)
{
    static const char *const geo[] = {"??", "US", "CN", "AS", "EU", "BR", "NA", "RU"};
    memset(r, 0, sizeof *r);
    r->time = 1700000000u + (uint32_t)(i / 200000) * 60u;
    r->src_ip = 0x01000000u + (uint32_t)(rnd() % 5000000);
    r->dst_ip = 0x2c000000u | (uint32_t)(rnd() & 0xffffff);
    r->src_port = (uint16_t)(1024 + rnd() % 64000);
    r->dst_port = (uint16_t)(rnd() % 4 ? rnd() % 1024 : rnd());
    r->protocol = rnd() % 10 ? 6 : 17;
    r->ttl = (uint8_t)(32 + rnd() % 100);
    r->tcp_flags = r->protocol == 6 ? 2 : 0;
    r->ip_len = (uint16_t)(40 + rnd() % 20);
    r->tcp_synlen = r->tcp_flags == 2 ? 20 : 0;
    r->tcp_synwinlen = r->tcp_flags == 2 ? (uint16_t)rnd() : 0;
    r->packet_cnt = 1 + (rnd() % 8 == 0 ? rnd() % 100 : 0);
    r->is_spoofed = rnd() % 50 == 0;
    r->is_masscan = rnd() % 20 == 0;
    const char *g = geo[rnd() % 8];
    memcpy(r->maxmind_continent, g, 2);
    memcpy(r->maxmind_country, g, 2);
    memcpy(r->netacq_continent, g, 2);
    memcpy(r->netacq_country, g, 2);
    r->prefix2asn = (uint32_t)(rnd() % 70000);
}

static void make_ft4(sd_ft4_record *r, size_t i)
{
    memset(r, 0, sizeof *r);
    r->time = 1700000000u + (uint32_t)(i / 100000) * 300u;
    r->src_ip = 0x01000000u + (uint32_t)(rnd() % 5000000);
    r->dst_net = 0x2c000000u | ((uint32_t)(rnd() & 0xff) << 16);
    r->dst_port = (uint32_t)(rnd() % 1024);
    r->protocol = 6;
    r->packet_cnt = 1 + rnd() % 1000;
    r->uniq_dst_ips = (uint32_t)(1 + rnd() % 1000);
    r->uniq_pkt_sizes = 1;
    r->uniq_ttls = 2;
    r->uniq_src_ports = (uint32_t)(1 + rnd() % 100);
    r->uniq_tcp_flags = 1;
    r->first_syn_length = 20;
    r->first_tcp_rwin = 1024;
    r->common_pktsizes.n = 1;
    r->common_pktsizes.value[0] = 40;
    r->common_pktsizes.freq[0] = r->packet_cnt;
    r->common_ttls.n = 2;
    r->common_ttls.value[0] = 50;
    r->common_ttls.value[1] = 51;
    r->common_ttls.freq[0] = r->common_ttls.freq[1] = r->packet_cnt / 2;
    r->common_tcpflags.n = 1;
    r->common_tcpflags.value[0] = 2;
    r->common_tcpflags.freq[0] = r->packet_cnt;
    memcpy(r->maxmind_continent, "AS", 2);
    memcpy(r->maxmind_country, "CN", 2);
    memcpy(r->netacq_continent, "AS", 2);
    memcpy(r->netacq_country, "CN", 2);
    r->prefix2asn = 4134;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_avro: %s: %s\n", what, msg);
    exit(1);
}

static void write_ft3_file(const char *path, const sd_ft3_record *recs, size_t n, int codec, int level)
{
    sd_avro_writer_opts o;
    sd_avro_writer_opts_init(&o);
    o.codec = codec;
    o.level = level;
    sd_avro_writer *w;
    char errbuf[SD_ERRBUF_SIZE];
    if (sd_avro_writer_open(&w, path, sd_avro_schema_json(SD_AVRO_SCHEMA_FT3), &o, errbuf) < 0)
        die(path, errbuf);
    for (size_t i = 0; i < n; i += BATCH)
        if (sd_avro_write_ft3(w, recs + i, n - i < BATCH ? n - i : BATCH) < 0)
            die(path, sd_errmsg(w));
    if (sd_avro_writer_close(w, errbuf) < 0)
        die(path, errbuf);
}

static size_t read_ft3_file(const char *path, uint64_t *sum)
{
    static sd_ft3_record out[BATCH];
    sd_avro_reader *r;
    char errbuf[SD_ERRBUF_SIZE];
    if (sd_avro_reader_open(&r, path, errbuf) < 0)
        die(path, errbuf);
    size_t n = 0;
    int k;
    while ((k = sd_avro_read_ft3(r, out, BATCH)) > 0) {
        for (int i = 0; i < k; i++)
            *sum += out[i].packet_cnt + out[i].src_ip;
        n += (size_t)k;
    }
    if (k != SD_EOF)
        die(path, sd_errmsg(r));
    sd_avro_reader_close(r);
    return n;
}

/* ---- avro-c baselines ---- */

static void avroc_write(const char *path, const sd_ft3_record *recs, size_t n, const char *codec)
{
    avro_schema_t schema;
    const char *json = sd_avro_schema_json(SD_AVRO_SCHEMA_FT3);
    if (avro_schema_from_json_length(json, strlen(json), &schema) != 0)
        die("avro-c schema", avro_strerror());
    unlink(path);
    avro_file_writer_t w;
    if (avro_file_writer_create_with_codec(path, schema, &w, codec, 16384) != 0)
        die(path, avro_strerror());
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t v, f;
    avro_generic_value_new(iface, &v);
    for (size_t i = 0; i < n; i++) {
        const sd_ft3_record *r = &recs[i];
        const int64_t longs[] = {r->time, r->src_ip, r->dst_ip};
        for (int k = 0; k < 3; k++) {
            avro_value_get_by_index(&v, (size_t)k, &f, NULL);
            avro_value_set_long(&f, longs[k]);
        }
        const int32_t ints[] = {r->src_port, r->dst_port, r->protocol, r->ttl, r->tcp_flags, r->ip_len,
                                r->tcp_synlen, r->tcp_synwinlen};
        for (int k = 0; k < 8; k++) {
            avro_value_get_by_index(&v, (size_t)k + 3, &f, NULL);
            avro_value_set_int(&f, ints[k]);
        }
        avro_value_get_by_index(&v, 11, &f, NULL);
        avro_value_set_long(&f, (int64_t)r->packet_cnt);
        avro_value_get_by_index(&v, 12, &f, NULL);
        avro_value_set_int(&f, r->is_spoofed);
        avro_value_get_by_index(&v, 13, &f, NULL);
        avro_value_set_int(&f, r->is_masscan);
        const char *geo[] = {r->maxmind_continent, r->maxmind_country, r->netacq_continent, r->netacq_country};
        for (int k = 0; k < 4; k++) {
            char s[3] = {geo[k][0], geo[k][1], 0};
            avro_value_get_by_index(&v, (size_t)k + 14, &f, NULL);
            avro_value_set_string_len(&f, s, 3);
        }
        avro_value_get_by_index(&v, 18, &f, NULL);
        avro_value_set_long(&f, r->prefix2asn);
        if (avro_file_writer_append_value(w, &v) != 0)
            die(path, avro_strerror());
    }
    avro_file_writer_close(w);
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_schema_decref(schema);
}

static size_t avroc_read(const char *path, uint64_t *sum)
{
    avro_file_reader_t r;
    if (avro_file_reader(path, &r) != 0)
        die(path, avro_strerror());
    avro_schema_t schema = avro_file_reader_get_writer_schema(r);
    avro_value_iface_t *iface = avro_generic_class_from_schema(schema);
    avro_value_t v, f;
    avro_generic_value_new(iface, &v);
    size_t n = 0;
    while (avro_file_reader_read_value(r, &v) == 0) {
        /* Take every field out, as the typed reader does. */
        int64_t l = 0;
        int32_t x = 0;
        const char *s = NULL;
        size_t len = 0;
        for (size_t k = 0; k < 19; k++) {
            avro_value_get_by_index(&v, k, &f, NULL);
            switch (avro_value_get_type(&f)) {
            case AVRO_INT64:
                avro_value_get_long(&f, &l);
                *sum += (uint64_t)l;
                break;
            case AVRO_INT32:
                avro_value_get_int(&f, &x);
                *sum += (uint64_t)x;
                break;
            default:
                avro_value_get_string(&f, &s, &len);
                *sum += len;
            }
        }
        n++;
    }
    avro_value_decref(&v);
    avro_value_iface_decref(iface);
    avro_file_reader_close(r);
    return n;
}

static void report(const char *figure, double v, const char *baseline, double b, size_t n, const char *goal)
{
    printf("{\"bench\":\"avro\",\"figure\":\"%s\",\"metric\":\"records_per_s\",\"value\":%.0f", figure, v);
    if (baseline != NULL)
        printf(",\"baseline\":\"%s\",\"baseline_value\":%.0f,\"ratio\":%.2f", baseline, b, v / b);
    if (goal != NULL)
        printf(",\"goal\":\"%s\"", goal);
    printf(",\"records\":%zu}\n", n);
}

int main(int argc, char **argv)
{
    const char *tmpdir = getenv("BENCH_TMP");
    if (tmpdir == NULL || *tmpdir == '\0')
        tmpdir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    uint64_t sum = 0;

    if (argc == 4 && strcmp(argv[1], "--make") == 0) {
        size_t n = strtoul(argv[3], NULL, 10);
        sd_ft3_record *recs = malloc(n * sizeof *recs);
        for (size_t i = 0; i < n; i++)
            make_ft3(&recs[i], i);
        write_ft3_file(argv[2], recs, n, SD_AVRO_DEFLATE, -1);
        free(recs);
        return 0;
    }
    if (argc == 3 && strcmp(argv[1], "--read") == 0) {
        double best = 0;
        size_t n = 0;
        for (int round = 0; round < ROUNDS; round++) {
            uint64_t t0 = now_ns();
            n = read_ft3_file(argv[2], &sum);
            double rate = (double)n / ((double)(now_ns() - t0) / 1e9);
            if (rate > best)
                best = rate;
        }
        printf("%.0f %zu %llu\n", best, n, (unsigned long long)(sum & 1));
        return 0;
    }

    enum { N3 = 1000000, N4 = 200000 };
    sd_ft3_record *recs = malloc(N3 * sizeof *recs);
    sd_ft4_record *recs4 = malloc(N4 * sizeof *recs4);
    for (size_t i = 0; i < N3; i++)
        make_ft3(&recs[i], i);
    for (size_t i = 0; i < N4; i++)
        make_ft4(&recs4[i], i);
    char ours[512], theirs[512];
    snprintf(ours, sizeof ours, "%s/sd-bench-avro.%d.sd.avro", tmpdir, (int)getpid());
    snprintf(theirs, sizeof theirs, "%s/sd-bench-avro.%d.avroc.avro", tmpdir, (int)getpid());

    static const struct {
        int codec;
        const char *name;
    } codecs[] = {{SD_AVRO_DEFLATE, "deflate"}, {SD_AVRO_NULL, "null"}};
    for (size_t c = 0; c < 2; c++) {
        double w_sd = 0, w_c = 0, r_sd = 0, r_c = 0, w_9 = 0;
        for (int round = 0; round < ROUNDS; round++) {
            if (codecs[c].codec == SD_AVRO_DEFLATE) {
                /* avro-c compresses at level 9: the same, for a fair pair. */
                uint64_t t = now_ns();
                write_ft3_file(ours, recs, N3, SD_AVRO_DEFLATE, 9);
                double v9 = N3 / ((double)(now_ns() - t) / 1e9);
                if (v9 > w_9)
                    w_9 = v9;
            }
            uint64_t t0 = now_ns();
            write_ft3_file(ours, recs, N3, codecs[c].codec, -1);
            uint64_t t1 = now_ns();
            avroc_write(theirs, recs, N3, codecs[c].name);
            uint64_t t2 = now_ns();
            size_t a = read_ft3_file(ours, &sum);
            uint64_t t3 = now_ns();
            size_t b = avroc_read(theirs, &sum);
            uint64_t t4 = now_ns();
            if (a != N3 || b != N3) {
                fprintf(stderr, "bench_avro: read %zu and %zu records, wrote %d\n", a, b, N3);
                return 1;
            }
            double v;
            if ((v = N3 / ((double)(t1 - t0) / 1e9)) > w_sd)
                w_sd = v;
            if ((v = N3 / ((double)(t2 - t1) / 1e9)) > w_c)
                w_c = v;
            if ((v = N3 / ((double)(t3 - t2) / 1e9)) > r_sd)
                r_sd = v;
            if ((v = N3 / ((double)(t4 - t3) / 1e9)) > r_c)
                r_c = v;
        }
        char fig[64];
        snprintf(fig, sizeof fig, "write_ft3_%s", codecs[c].name);
        report(fig, w_sd, "avro-c_append_value", w_c, N3, NULL);
        if (w_9 > 0)
            report("write_ft3_deflate_level9", w_9, "avro-c_append_value", w_c, N3, NULL);
        snprintf(fig, sizeof fig, "read_ft3_%s", codecs[c].name);
        report(fig, r_sd, "avro-c_read_value", r_c, N3, NULL);
    }

    double w4 = 0, r4 = 0;
    static sd_ft4_record out4[BATCH];
    for (int round = 0; round < ROUNDS; round++) {
        sd_avro_writer *w;
        char errbuf[SD_ERRBUF_SIZE];
        uint64_t t0 = now_ns();
        if (sd_avro_writer_open(&w, ours, sd_avro_schema_json(SD_AVRO_SCHEMA_FT4), NULL, errbuf) < 0 ||
            sd_avro_writer_set_meta(w, "stardust.ft4.dst_prefix_len", "16") < 0 ||
            sd_avro_writer_set_meta(w, "stardust.ft4.interval", "300") < 0)
            die(ours, errbuf);
        for (size_t i = 0; i < N4; i += BATCH)
            if (sd_avro_write_ft4(w, recs4 + i, N4 - i < BATCH ? N4 - i : BATCH) < 0)
                die(ours, sd_errmsg(w));
        if (sd_avro_writer_close(w, errbuf) < 0)
            die(ours, errbuf);
        uint64_t t1 = now_ns();
        sd_avro_reader *r;
        if (sd_avro_reader_open(&r, ours, errbuf) < 0)
            die(ours, errbuf);
        size_t n = 0;
        int k;
        while ((k = sd_avro_read_ft4(r, out4, BATCH)) > 0) {
            n += (size_t)k;
            sum += out4[0].packet_cnt;
        }
        sd_avro_reader_close(r);
        uint64_t t2 = now_ns();
        if (n != N4)
            die(ours, "FT4 count");
        double v;
        if ((v = N4 / ((double)(t1 - t0) / 1e9)) > w4)
            w4 = v;
        if ((v = N4 / ((double)(t2 - t1) / 1e9)) > r4)
            r4 = v;
    }
    report("write_ft4_deflate", w4, NULL, 0, N4, NULL);
    report("read_ft4_deflate", r4, NULL, 0, N4, NULL);
    unlink(ours);
    unlink(theirs);
    free(recs);
    free(recs4);
    return sum == 42 ? 2 : 0; /* keep the sums alive */
}
