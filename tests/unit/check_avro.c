/* Unit tests: sd_avro writer and reader. Round trips of every FT3/FT4 field
 * over every codec and block size, FT4 v0/v1 files encoded here by hand,
 * the corsarotrace golden files against their JSON dumps, the corrupt
 * files of ../shared/data/avro, the generic API on the goavro quickstop
 * files, and the output-file rules (temporary name, no file after an
 * error). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <avro.h>
#include <zlib.h>
#include <stardust/stardust.h>
#include "internal.h"
#include "testutil.h"

/* avro-c 1.11.1's avro_file_reader() leaks parts of the header it parses
 * (26 allocations per file with any file, ours or goavro's): keep LeakSanitizer
 * away from those calls, not from ours. */
#if defined(__SANITIZE_ADDRESS__)
#define SD_LSAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SD_LSAN 1
#endif
#endif
#ifdef SD_LSAN
#include <sanitizer/lsan_interface.h>
#define LSAN_OFF() __lsan_disable()
#define LSAN_ON() __lsan_enable()
#else
#define LSAN_OFF() ((void)0)
#define LSAN_ON() ((void)0)
#endif

static char g_tmpdir[64];

static const char *tmp_path(const char *name)
{
    static char path[4][256];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 256, "%s/%s", g_tmpdir, name);
    return p;
}

static const char *fresh_dir(const char *name)
{
    static char dir[300];
    snprintf(dir, sizeof dir, "%s/%s", g_tmpdir, name);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    return dir;
}

static int dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}

static uint64_t g_rng = 88172645463325252ull;
static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static const char *const geo[] = {"??", "US", "ZA", "AF", "EU", "BR", "SA", "--"};

static void make_ft3(sd_ft3_record *r, uint64_t i)
{
    memset(r, 0, sizeof *r);
    r->time = (uint32_t)(1700000000 + i / 1000);
    r->src_ip = (uint32_t)rnd();
    r->dst_ip = i % 7 == 0 ? UINT32_MAX : (uint32_t)rnd();
    r->src_port = (uint16_t)rnd();
    r->dst_port = i % 5 == 0 ? 65535 : (uint16_t)rnd();
    r->protocol = (uint8_t)rnd();
    r->ttl = (uint8_t)rnd();
    r->tcp_flags = (uint8_t)rnd();
    r->is_spoofed = (uint8_t)(rnd() & 1);
    r->ip_len = (uint16_t)rnd();
    r->tcp_synlen = (uint16_t)(rnd() % 61);
    r->tcp_synwinlen = (uint16_t)rnd();
    r->is_masscan = (uint8_t)(rnd() & 1);
    r->packet_cnt = i % 11 == 0 ? (1ull << 40) + i : 1 + rnd() % 1000;
    memcpy(r->maxmind_continent, geo[rnd() % 8], 2);
    memcpy(r->maxmind_country, geo[rnd() % 8], 2);
    memcpy(r->netacq_continent, geo[rnd() % 8], 2);
    memcpy(r->netacq_country, geo[rnd() % 8], 2);
    r->prefix2asn = i % 3 == 0 ? 0 : (uint32_t)rnd();
}

static void make_common(sd_ft4_common *c)
{
    memset(c, 0, sizeof *c);
    c->n = (uint32_t)(rnd() % (SD_FT4_MAX_COMMON + 1));
    for (uint32_t k = 0; k < c->n; k++) {
        c->value[k] = rnd() % 70000;
        c->freq[k] = rnd() % 5000000000ull;
    }
}

static void make_ft4(sd_ft4_record *r, uint64_t i, int version)
{
    memset(r, 0, sizeof *r);
    r->time = (uint32_t)(1700000000 + 300 * (i / 1000));
    r->src_ip = (uint32_t)rnd();
    r->dst_net = (uint32_t)rnd() & 0xffff0000u;
    r->dst_port = (uint32_t)(rnd() % 65536);
    r->protocol = (uint8_t)rnd();
    r->uniq_dst_ips = (uint32_t)(rnd() % 65536);
    r->packet_cnt = 1 + rnd() % 100000000000ull;
    r->uniq_pkt_sizes = (uint32_t)(rnd() % 1500);
    r->uniq_ttls = (uint32_t)(rnd() % 256);
    r->uniq_src_ports = (uint32_t)(rnd() % 65536);
    r->uniq_tcp_flags = (uint32_t)(rnd() % 256);
    r->first_syn_length = (uint32_t)(rnd() % 61);
    r->first_tcp_rwin = i % 9 == 0 ? INT32_MAX : (uint32_t)(rnd() % 65536);
    make_common(&r->common_pktsizes);
    make_common(&r->common_ttls);
    make_common(&r->common_srcports);
    make_common(&r->common_tcpflags);
    memcpy(r->maxmind_continent, version >= SD_FT4_V1 ? geo[rnd() % 8] : "??", 2);
    memcpy(r->maxmind_country, version >= SD_FT4_V1 ? geo[rnd() % 8] : "??", 2);
    memcpy(r->netacq_continent, geo[rnd() % 8], 2);
    memcpy(r->netacq_country, geo[rnd() % 8], 2);
    r->prefix2asn = (uint32_t)rnd();
    if (version >= SD_FT4_V2) {
        r->spoofed_packet_cnt = rnd() % r->packet_cnt;
        r->masscan_packet_cnt = rnd() % r->packet_cnt;
    }
}

static sd_avro_writer *open_writer(const char *path, int schema, int codec, size_t block_size)
{
    sd_avro_writer_opts o;
    sd_avro_writer_opts_init(&o);
    o.codec = codec;
    o.block_size = block_size;
    sd_avro_writer *w = NULL;
    char errbuf[SD_ERRBUF_SIZE];
    int rc = sd_avro_writer_open(&w, path, sd_avro_schema_json(schema), &o, errbuf);
    ck_assert_msg(rc == 0, "open %s: %s", path, errbuf);
    if (schema == SD_AVRO_SCHEMA_FT4) {
        ck_assert_int_eq(sd_avro_writer_set_meta(w, "stardust.ft4.dst_prefix_len", "16"), 0);
        ck_assert_int_eq(sd_avro_writer_set_meta(w, "stardust.ft4.interval", "300"), 0);
    }
    return w;
}

static sd_avro_reader *open_reader(const char *path)
{
    sd_avro_reader *r = NULL;
    char errbuf[SD_ERRBUF_SIZE];
    int rc = sd_avro_reader_open(&r, path, errbuf);
    ck_assert_msg(rc == 0, "open %s: %s", path, errbuf);
    return r;
}

static const int codecs[] = {SD_AVRO_NULL, SD_AVRO_DEFLATE, SD_AVRO_SNAPPY};
static const size_t block_sizes[] = {64, 1000, 0 /* default 16 KiB */, 1 << 20};

/* ---------------------------------------------------------------- schemas */

START_TEST(embedded_schemas_equal_files)
{
    static const struct {
        int id;
        const char *file;
    } t[] = {
        {SD_AVRO_SCHEMA_FT3, "flowtuple3.avsc"},       {SD_AVRO_SCHEMA_FT4_V0, "flowtuple4-v0.avsc"},
        {SD_AVRO_SCHEMA_FT4_V1, "flowtuple4-v1.avsc"}, {SD_AVRO_SCHEMA_FT4, "flowtuple4.avsc"},
        {SD_AVRO_SCHEMA_RSDOS_V1, "rsdos-v1.avsc"},    {SD_AVRO_SCHEMA_RSDOS_V2, "rsdos-v2.avsc"},
        {SD_AVRO_SCHEMA_RSDOS_DOSFT, "rsdos-v1-dosflowtuple.avsc"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "../spec/schemas/%s", t[i].file);
        size_t len;
        uint8_t *json = sd_test_read_file(sd_test_data(rel), &len);
        avro_schema_t a, b;
        ck_assert_int_eq(avro_schema_from_json_length((const char *)json, len, &a), 0);
        const char *emb = sd_avro_schema_json(t[i].id);
        ck_assert_ptr_nonnull(emb);
        ck_assert_int_eq(avro_schema_from_json_length(emb, strlen(emb), &b), 0);
        ck_assert_msg(avro_schema_equal(a, b), "%s differs from the embedded schema", t[i].file);
        ck_assert_str_eq(avro_schema_name(a), avro_schema_name(b));
        avro_schema_decref(a);
        avro_schema_decref(b);
        free(json);

        /* A file of that schema is recognised as it. */
        const char *path = tmp_path("id.avro");
        sd_avro_writer *w = open_writer(path, t[i].id, SD_AVRO_DEFLATE, 0);
        ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);
        sd_avro_reader *r = open_reader(path);
        ck_assert_int_eq(sd_avro_reader_schema_id(r), t[i].id);
        sd_avro_reader_close(r);
    }
    ck_assert_ptr_null(sd_avro_schema_json(SD_AVRO_SCHEMA_OTHER));
    ck_assert_ptr_null(sd_avro_schema_json(99));
}
END_TEST

START_TEST(header_schema_as_corsaro_writes_it)
{
    /* Byte for byte the schema text of corsarotrace's header. */
    sd_avro_reader *g = open_reader(sd_test_data("flowtuple/offline/synscan/oracle-flowtuple-1278275056.avro--0"));
    const char *path = tmp_path("hdr.avro");
    sd_avro_writer *w = open_writer(path, SD_AVRO_SCHEMA_FT3, SD_AVRO_DEFLATE, 0);
    ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);
    sd_avro_reader *r = open_reader(path);
    ck_assert_str_eq(sd_avro_reader_schema_json(r), sd_avro_reader_schema_json(g));
    ck_assert_int_eq(sd_avro_reader_codec(r), SD_AVRO_DEFLATE);
    const void *d;
    size_t len;
    ck_assert_int_eq(sd_avro_read_raw(r, &d, &len), SD_EOF); /* empty file: header only */
    sd_avro_reader_close(r);
    sd_avro_reader_close(g);
}
END_TEST

/* ---------------------------------------------------------------- round trips */

START_TEST(ft3_round_trip)
{
    enum { N = 5000 };
    static sd_ft3_record in[N], out[N + 1];
    for (size_t i = 0; i < N; i++)
        make_ft3(&in[i], i);
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        if (!sd_avro_codec_supported(codecs[c]))
            continue;
        for (size_t b = 0; b < sizeof block_sizes / sizeof block_sizes[0]; b++) {
            const char *path = tmp_path("ft3.avro");
            sd_avro_writer *w = open_writer(path, SD_AVRO_SCHEMA_FT3, codecs[c], block_sizes[b]);
            /* Batches of odd sizes. */
            size_t done = 0, step = 1;
            while (done < N) {
                size_t k = N - done < step ? N - done : step;
                ck_assert_int_eq(sd_avro_write_ft3(w, in + done, k), (int)k);
                done += k;
                step = step * 3 + 1;
            }
            ck_assert_uint_eq(sd_avro_writer_records(w), N);
            ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);

            sd_avro_reader *r = open_reader(path);
            ck_assert_int_eq(sd_avro_reader_schema_id(r), SD_AVRO_SCHEMA_FT3);
            ck_assert_int_eq(sd_avro_reader_codec(r), codecs[c]);
            size_t got = 0;
            int rc;
            while ((rc = sd_avro_read_ft3(r, out + got, got % 2 ? 7 : 100)) > 0)
                got += (size_t)rc;
            ck_assert_msg(rc == SD_EOF, "codec %d block %zu: %s", codecs[c], block_sizes[b], sd_errmsg(r));
            ck_assert_uint_eq(got, N);
            for (size_t i = 0; i < N; i++)
                ck_assert_msg(memcmp(&in[i], &out[i], sizeof in[i]) == 0, "record %zu differs", i);
            /* Blocks stay within the block size (records of ~50 bytes). */
            uint64_t bs = block_sizes[b] ? block_sizes[b] : 16384;
            ck_assert_uint_ge(sd_avro_reader_blocks(r), (uint64_t)N * 30 / bs);
            if (block_sizes[b] == 64)
                ck_assert_uint_ge(sd_avro_reader_blocks(r), 2500);
            ck_assert_int_eq(sd_avro_read_ft3(r, out, 1), SD_EOF);
            sd_avro_reader_close(r);
        }
    }
}
END_TEST

START_TEST(ft4_round_trip)
{
    enum { N = 3000 };
    static sd_ft4_record in[N], out[N];
    for (size_t i = 0; i < N; i++)
        make_ft4(&in[i], i, SD_FT4_V2);
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        if (!sd_avro_codec_supported(codecs[c]))
            continue;
        for (size_t b = 0; b < sizeof block_sizes / sizeof block_sizes[0]; b++) {
            const char *path = tmp_path("ft4.avro");
            sd_avro_writer *w = open_writer(path, SD_AVRO_SCHEMA_FT4, codecs[c], block_sizes[b]);
            ck_assert_int_eq(sd_avro_write_ft4(w, in, N), N);
            ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);
            sd_avro_reader *r = open_reader(path);
            ck_assert_int_eq(sd_avro_reader_schema_id(r), SD_AVRO_SCHEMA_FT4);
            size_t len;
            ck_assert_str_eq(sd_avro_reader_meta(r, "stardust.ft4.dst_prefix_len", &len), "16");
            ck_assert_uint_eq(len, 2);
            ck_assert_str_eq(sd_avro_reader_meta(r, "stardust.ft4.interval", NULL), "300");
            ck_assert_ptr_null(sd_avro_reader_meta(r, "nope", NULL));
            size_t got = 0;
            int rc;
            while (got < N && (rc = sd_avro_read_ft4(r, out + got, N - got)) > 0)
                got += (size_t)rc;
            ck_assert_uint_eq(got, N);
            ck_assert_int_eq(sd_avro_read_ft4(r, out, 1), SD_EOF);
            for (size_t i = 0; i < N; i++)
                ck_assert_msg(memcmp(&in[i], &out[i], sizeof in[i]) == 0, "record %zu differs", i);
            if (block_sizes[b] == 64)
                ck_assert_uint_ge(sd_avro_reader_blocks(r), N / 2);
            sd_avro_reader_close(r);
        }
    }
}
END_TEST

/* avro-c's own file reader reads what we write, user metadata included. */
START_TEST(avro_c_reads_our_files)
{
    enum { N = 2000 };
    static sd_ft3_record in[N];
    static sd_ft4_record in4[N];
    for (size_t i = 0; i < N; i++) {
        make_ft3(&in[i], i);
        make_ft4(&in4[i], i, SD_FT4_V2);
    }
    for (size_t c = 0; c < sizeof codecs / sizeof codecs[0]; c++) {
        for (int kind = 0; kind < 2; kind++) {
            const char *path = tmp_path("avroc.avro");
            sd_avro_writer *w = open_writer(path, kind ? SD_AVRO_SCHEMA_FT4 : SD_AVRO_SCHEMA_FT3, codecs[c], 1000);
            if (kind)
                ck_assert_int_eq(sd_avro_write_ft4(w, in4, N), N);
            else
                ck_assert_int_eq(sd_avro_write_ft3(w, in, N), N);
            ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);
            avro_file_reader_t r;
            LSAN_OFF();
            ck_assert_int_eq(avro_file_reader(path, &r), 0);
            LSAN_ON();
            avro_schema_t ws = avro_file_reader_get_writer_schema(r);
            avro_value_iface_t *iface = avro_generic_class_from_schema(ws);
            avro_value_t v, f;
            ck_assert_int_eq(avro_generic_value_new(iface, &v), 0);
            size_t n = 0;
            while (n < N && avro_file_reader_read_value(r, &v) == 0) {
                int64_t l = -1;
                const char *str = NULL;
                size_t len = 0;
                ck_assert_int_eq(avro_value_get_by_index(&v, 1, &f, NULL), 0); /* src_ip */
                ck_assert_int_eq(avro_value_get_long(&f, &l), 0);
                ck_assert_int_eq(l, kind ? in4[n].src_ip : in[n].src_ip);
                ck_assert_int_eq(avro_value_get_by_index(&v, 5, &f, NULL), 0); /* FT4 packet_cnt */
                if (kind) {
                    ck_assert_int_eq(avro_value_get_long(&f, &l), 0);
                    ck_assert_int_eq(l, (int64_t)in4[n].packet_cnt);
                    size_t cnt = 9;
                    ck_assert_int_eq(avro_value_get_by_index(&v, 15, &f, NULL), 0); /* common_ttls */
                    ck_assert_int_eq(avro_value_get_size(&f, &cnt), 0);
                    ck_assert_uint_eq(cnt, in4[n].common_ttls.n);
                }
                ck_assert_int_eq(avro_value_get_by_index(&v, kind ? 23 : 16, &f, NULL), 0); /* netacq_continent */
                ck_assert_int_eq(avro_value_get_string(&f, &str, &len), 0);
                ck_assert_uint_eq(len, 3);
                ck_assert_int_eq(memcmp(str, kind ? in4[n].netacq_continent : in[n].netacq_continent, 2), 0);
                n++;
            }
            ck_assert_uint_eq(n, N);
            avro_value_decref(&v);
            avro_value_iface_decref(iface);
            avro_file_reader_close(r);
        }
    }
}
END_TEST

/* An independent encoder of one FT4 record of a given version. */
static size_t zz(uint8_t *p, int64_t v)
{
    uint64_t z = ((uint64_t)v << 1) ^ (uint64_t)(v >> 63);
    size_t n = 0;
    do {
        p[n] = (uint8_t)(z & 0x7f);
        z >>= 7;
        if (z)
            p[n] |= 0x80;
        n++;
    } while (z);
    return n;
}

static size_t enc_list(uint8_t *p, const uint64_t *v, uint32_t n, int negative_block)
{
    size_t k = 0;
    if (n > 0) {
        if (negative_block) {
            /* The other legal form: a negative count followed by the byte size. */
            uint8_t tmp[64];
            size_t t = 0;
            for (uint32_t i = 0; i < n; i++)
                t += zz(tmp + t, (int64_t)v[i]);
            k += zz(p + k, -(int64_t)n);
            k += zz(p + k, (int64_t)t);
            memcpy(p + k, tmp, t);
            k += t;
        } else {
            k += zz(p + k, n);
            for (uint32_t i = 0; i < n; i++)
                k += zz(p + k, (int64_t)v[i]);
        }
    }
    p[k++] = 0;
    return k;
}

static size_t enc_ft4(uint8_t *p, const sd_ft4_record *r, int version)
{
    size_t k = 0;
    const int64_t head[] = {r->time, r->src_ip, r->dst_net, r->dst_port, r->protocol, (int64_t)r->packet_cnt,
                            r->uniq_dst_ips, r->uniq_pkt_sizes, r->uniq_ttls, r->uniq_src_ports,
                            r->uniq_tcp_flags, r->first_syn_length, r->first_tcp_rwin};
    for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
        k += zz(p + k, head[i]);
    const sd_ft4_common *c[] = {&r->common_pktsizes, &r->common_ttls, &r->common_srcports, &r->common_tcpflags};
    for (int i = 0; i < 4; i++) {
        k += enc_list(p + k, c[i]->value, c[i]->n, i == 2);
        k += enc_list(p + k, c[i]->freq, c[i]->n, 0);
    }
    const char *s[] = {r->maxmind_continent, r->maxmind_country, r->netacq_continent, r->netacq_country};
    for (int i = version >= SD_FT4_V1 ? 0 : 2; i < 4; i++) {
        p[k++] = 4;
        p[k++] = (uint8_t)s[i][0];
        p[k++] = (uint8_t)s[i][1];
    }
    k += zz(p + k, r->prefix2asn);
    if (version >= SD_FT4_V2) {
        k += zz(p + k, (int64_t)r->spoofed_packet_cnt);
        k += zz(p + k, (int64_t)r->masscan_packet_cnt);
    }
    return k;
}

START_TEST(ft4_v0_v1_read)
{
    static const int ids[] = {SD_AVRO_SCHEMA_FT4_V0, SD_AVRO_SCHEMA_FT4_V1, SD_AVRO_SCHEMA_FT4};
    static const int vers[] = {SD_FT4_V0, SD_FT4_V1, SD_FT4_V2};
    enum { N = 500 };
    static sd_ft4_record in[N], out[N];
    for (int v = 0; v < 3; v++) {
        const char *path = tmp_path("ft4v.avro");
        sd_avro_writer *w = open_writer(path, ids[v], SD_AVRO_DEFLATE, 2000);
        for (size_t i = 0; i < N; i++) {
            make_ft4(&in[i], i, vers[v]);
            uint8_t buf[1024];
            size_t len = enc_ft4(buf, &in[i], vers[v]);
            ck_assert_int_eq(sd_avro_write_encoded(w, buf, len), 0);
        }
        if (ids[v] != SD_AVRO_SCHEMA_FT4) /* read-only versions */
            ck_assert_int_eq(sd_avro_write_ft4(w, in, 1), SD_ERR_STATE);
        ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);
        sd_avro_reader *r = open_reader(path);
        ck_assert_int_eq(sd_avro_reader_schema_id(r), ids[v]);
        ck_assert_int_eq(sd_avro_read_ft4(r, out, N), N);
        for (size_t i = 0; i < N; i++)
            ck_assert_msg(memcmp(&in[i], &out[i], sizeof in[i]) == 0, "v%d record %zu differs", vers[v], i);
        ck_assert_int_eq(sd_avro_read_ft4(r, out, N), SD_EOF);
        sd_avro_reader_close(r);
    }
}
END_TEST

START_TEST(ft4_needs_metadata)
{
    const char *path = tmp_path("nometa.avro");
    sd_avro_writer *w;
    ck_assert_int_eq(sd_avro_writer_open(&w, path, sd_avro_schema_json(SD_AVRO_SCHEMA_FT4), NULL, NULL), 0);
    static sd_ft4_record rec;
    make_ft4(&rec, 1, SD_FT4_V2);
    ck_assert_int_eq(sd_avro_write_ft4(w, &rec, 1), SD_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(w), "stardust.ft4.dst_prefix_len"));
    ck_assert_int_eq(sd_avro_writer_set_meta(w, "stardust.ft4.dst_prefix_len", "abc"), SD_ERR_INVAL);
    ck_assert_int_eq(sd_avro_writer_set_meta(w, "stardust.ft4.dst_prefix_len", "33"), SD_ERR_INVAL);
    ck_assert_int_eq(sd_avro_writer_set_meta(w, "stardust.ft4.interval", "0"), SD_ERR_INVAL);
    ck_assert_int_eq(sd_avro_writer_set_meta(w, "avro.codec", "x"), SD_ERR_INVAL);
    ck_assert_int_eq(sd_avro_writer_set_meta(w, "stardust.ft4.dst_prefix_len", "16"), 0);
    ck_assert_int_eq(sd_avro_writer_set_meta(w, "stardust.ft4.dst_prefix_len", "24"), 0); /* replaces */
    ck_assert_int_eq(sd_avro_writer_set_meta(w, "stardust.ft4.interval", "300"), 0);
    ck_assert_int_eq(sd_avro_writer_set_meta(w, "user.note", "hello"), 0);
    ck_assert_int_eq(sd_avro_write_ft4(w, &rec, 1), 1);
    ck_assert_int_eq(sd_avro_writer_set_meta(w, "late", "x"), SD_ERR_STATE);
    static sd_ft3_record r3;
    make_ft3(&r3, 1);
    ck_assert_int_eq(sd_avro_write_ft3(w, &r3, 1), SD_ERR_STATE);
    ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);
    sd_avro_reader *r = open_reader(path);
    ck_assert_str_eq(sd_avro_reader_meta(r, "stardust.ft4.dst_prefix_len", NULL), "24");
    ck_assert_str_eq(sd_avro_reader_meta(r, "user.note", NULL), "hello");
    sd_avro_reader_close(r);

    /* The metadata map is one block of 5 entries then 0: the old Python
     * reader needs exactly that. */
    size_t len;
    uint8_t *b = sd_test_read_file(path, &len);
    ck_assert_int_eq(memcmp(b, "Obj\x01", 4), 0);
    ck_assert_uint_eq(b[4], 10); /* zig-zag 5 */
    free(b);
}
END_TEST

START_TEST(bad_records_refused)
{
    const char *path = tmp_path("bad.avro");
    sd_avro_writer *w = open_writer(path, SD_AVRO_SCHEMA_FT3, SD_AVRO_DEFLATE, 0);
    static sd_ft3_record r[2];
    make_ft3(&r[0], 0);
    make_ft3(&r[1], 1);
    r[1].netacq_country[1] = '\0';
    ck_assert_int_eq(sd_avro_write_ft3(w, r, 2), SD_ERR_INVAL);
    ck_assert_uint_eq(sd_avro_writer_records(w), 0); /* nothing of the batch */
    static const uint8_t junk[] = {0x02, 0xff};
    ck_assert_int_eq(sd_avro_write_encoded(w, junk, sizeof junk), SD_ERR_INVAL);
    ck_assert_int_eq(sd_avro_write_ft3(w, r, 1), 1);
    ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);

    /* Reading with the wrong typed reader names the schema. */
    sd_avro_reader *rd = open_reader(path);
    static sd_ft4_record o4;
    ck_assert_int_eq(sd_avro_read_ft4(rd, &o4, 1), SD_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(rd), "FT3"));
    ck_assert_ptr_nonnull(strstr(sd_errmsg(rd), "not FT4"));
    sd_avro_reader_close(rd);
    rd = open_reader(sd_test_data("avro/quickstop-null.avro"));
    static sd_ft3_record o3;
    ck_assert_int_eq(sd_avro_reader_schema_id(rd), SD_AVRO_SCHEMA_OTHER);
    ck_assert_int_eq(sd_avro_read_ft3(rd, &o3, 1), SD_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(rd), "Person"));
    ck_assert_ptr_nonnull(strstr(sd_errmsg(rd), "not FT3"));
    sd_avro_reader_close(rd);
}
END_TEST

START_TEST(schema_shape_checked)
{
    /* Named like FT3 but a field has another type: not FT3. */
    char *bad = strdup(sd_avro_schema_json(SD_AVRO_SCHEMA_FT3));
    char *p = strstr(bad, "\"ttl\",\"type\":\"int\"");
    ck_assert_ptr_nonnull(p);
    memcpy(strstr(p, "int"), "lon", 3); /* "lon" is no type: avro-c refuses it */
    sd_avro_writer *w;
    char errbuf[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_avro_writer_open(&w, tmp_path("x.avro"), bad, NULL, errbuf), SD_ERR_INVAL);
    free(bad);
    const char *ft3 = sd_avro_schema_json(SD_AVRO_SCHEMA_FT3);
    bad = calloc(1, strlen(ft3) + 2); /* room for "int" -> "long" */
    strcpy(bad, ft3);
    p = strstr(bad, "\"ttl\",\"type\":\"int\"");
    memmove(p + 15, p + 14, strlen(p + 14) + 1);
    memcpy(p + 14, "long", 4);
    const char *path = tmp_path("shape.avro");
    ck_assert_int_eq(sd_avro_writer_open(&w, path, bad, NULL, errbuf), 0);
    ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);
    free(bad);
    sd_avro_reader *r = open_reader(path);
    ck_assert_int_eq(sd_avro_reader_schema_id(r), SD_AVRO_SCHEMA_OTHER);
    static sd_ft3_record o;
    ck_assert_int_eq(sd_avro_read_ft3(r, &o, 1), SD_ERR_STATE);
    sd_avro_reader_close(r);
}
END_TEST

/* ---------------------------------------------------------------- golden files */

/* The number after "key": in a JSON line of the golden dumps. */
static uint64_t json_num(const char *line, const char *key)
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    ck_assert_msg(p != NULL, "no %s in %s", key, line);
    return strtoull(p + strlen(pat), NULL, 10);
}

static void json_geo(const char *line, const char *key, const char got[2])
{
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": \"", key);
    const char *p = strstr(line, pat);
    ck_assert_msg(p != NULL, "no %s", key);
    p += strlen(pat);
    ck_assert_msg(p[0] == got[0] && p[1] == got[1] && p[2] == '"', "%s: %.2s, want %.3s", key, got, p);
}

START_TEST(corsarotrace_golden_files)
{
    static const char *const files[] = {
        "flowtuple/offline/synscan/oracle-flowtuple-1278275056.avro--0",
        "flowtuple/offline/filters-input/oracle-flowtuple-1700000000.avro--0",
        "flowtuple/offline/filters-input/oracle-flowtuple-1700000040.avro--1",
        "flowtuple/offline/filters-input/oracle-flowtuple-1700000000.merged.avro",
        "flowtuple/tagged/synscan/oracle-flowtuple-1278275056.avro--0",
        "flowtuple/tagged/filters-input/oracle-flowtuple-1700000000.avro--0",
        "flowtuple/tagged/filters-input/oracle-flowtuple-1700000040.avro--1",
    };
    static sd_ft3_record rec[4096];
    for (size_t f = 0; f < sizeof files / sizeof files[0]; f++) {
        sd_avro_reader *r = open_reader(sd_test_data(files[f]));
        ck_assert_int_eq(sd_avro_reader_schema_id(r), SD_AVRO_SCHEMA_FT3);
        int n = sd_avro_read_ft3(r, rec, 4096);
        ck_assert_int_gt(n, 0);
        ck_assert_int_eq(sd_avro_read_ft3(r, rec + n, 1), SD_EOF);
        char jpath[512];
        snprintf(jpath, sizeof jpath, "%s", files[f]);
        char *m = strstr(jpath, ".merged.avro");
        if (m != NULL)
            strcpy(m, ".avro--0");
        strcat(jpath, ".jsonl");
        FILE *j = fopen(sd_test_data(jpath), "r");
        ck_assert_ptr_nonnull(j);
        static char line[8192];
        ck_assert_ptr_nonnull(fgets(line, sizeof line, j)); /* __schema__ */
        int i = 0;
        uint64_t packets = 0;
        while (fgets(line, sizeof line, j) != NULL) {
            ck_assert_int_lt(i, n);
            const sd_ft3_record *x = &rec[i++];
            ck_assert_uint_eq(x->time, json_num(line, "time"));
            ck_assert_uint_eq(x->src_ip, json_num(line, "src_ip"));
            ck_assert_uint_eq(x->dst_ip, json_num(line, "dst_ip"));
            ck_assert_uint_eq(x->src_port, json_num(line, "src_port"));
            ck_assert_uint_eq(x->dst_port, json_num(line, "dst_port"));
            ck_assert_uint_eq(x->protocol, json_num(line, "protocol"));
            ck_assert_uint_eq(x->ttl, json_num(line, "ttl"));
            ck_assert_uint_eq(x->tcp_flags, json_num(line, "tcp_flags"));
            ck_assert_uint_eq(x->ip_len, json_num(line, "ip_len"));
            ck_assert_uint_eq(x->tcp_synlen, json_num(line, "tcp_synlen"));
            ck_assert_uint_eq(x->tcp_synwinlen, json_num(line, "tcp_synwinlen"));
            ck_assert_uint_eq(x->packet_cnt, json_num(line, "packet_cnt"));
            ck_assert_uint_eq(x->is_spoofed, json_num(line, "is_spoofed"));
            ck_assert_uint_eq(x->is_masscan, json_num(line, "is_masscan"));
            json_geo(line, "maxmind_continent", x->maxmind_continent);
            json_geo(line, "maxmind_country", x->maxmind_country);
            json_geo(line, "netacq_continent", x->netacq_continent);
            json_geo(line, "netacq_country", x->netacq_country);
            ck_assert_uint_eq(x->prefix2asn, json_num(line, "prefix2asn"));
            packets += x->packet_cnt;
        }
        fclose(j);
        ck_assert_int_eq(i, n);
        if (strstr(files[f], "synscan") != NULL) {
            ck_assert_int_eq(n, 2002);
            ck_assert_uint_eq(packets, 2011);
        }
        sd_avro_reader_close(r);
    }
}
END_TEST

/* ---------------------------------------------------------------- corrupt input */

START_TEST(corrupt_files)
{
    static const struct {
        const char *file;
        int open_rc, read_rc;
        const char *msg;
    } t[] = {
        {"avro/bad-header.avro", SD_ERR_FORMAT, 0, "not an Avro container"},
        {"avro/blockCountExceedsMaxBlockCount.avro", 0, SD_ERR_FORMAT, "record count 2147483648"},
        {"avro/secondBlockCountZero.avro", 0, SD_ERR_FORMAT, "block 1 at offset 50"},
        {"avro/syncMarkerMismatch.avro", 0, SD_ERR_FORMAT, "sync marker"},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *path = sd_test_data(t[i].file);
        sd_avro_reader *r = NULL;
        char errbuf[SD_ERRBUF_SIZE];
        int rc = sd_avro_reader_open(&r, path, errbuf);
        ck_assert_int_eq(rc, t[i].open_rc);
        if (rc < 0) {
            ck_assert_ptr_null(r);
            ck_assert_ptr_nonnull(strstr(errbuf, path));
            ck_assert_msg(strstr(errbuf, t[i].msg) != NULL, "%s", errbuf);
            continue;
        }
        const void *d;
        size_t len;
        while ((rc = sd_avro_read_raw(r, &d, &len)) > 0)
            ;
        ck_assert_int_eq(rc, t[i].read_rc);
        ck_assert_ptr_nonnull(strstr(sd_errmsg(r), path));
        ck_assert_ptr_nonnull(strstr(sd_errmsg(r), "offset"));
        ck_assert_msg(strstr(sd_errmsg(r), t[i].msg) != NULL, "%s", sd_errmsg(r));
        /* Reading on: a bad record skips its block; a bad block stays. */
        for (int k = 0; k < 3; k++)
            ck_assert_int_eq(sd_avro_read_raw(r, &d, &len), t[i].read_rc);
        sd_avro_reader_close(r);
        /* The generic value API fails the same way. */
        r = open_reader(path);
        while ((rc = sd_avro_reader_next(r)) > 0)
            ;
        ck_assert_int_eq(rc, t[i].read_rc);
        sd_avro_reader_close(r);
    }
    /* The second block of secondBlockCountZero has count 0. */
    size_t len;
    uint8_t *b = sd_test_read_file(sd_test_data("avro/secondBlockCountZero.avro"), &len);
    b[0x34] = 0x66; /* first record: a valid 1-byte long and... */
    b[0x33] = 0x02; /* ...a block of 1 byte: "f" */
    uint8_t fixed[128];
    memcpy(fixed, b, 0x34 + 1);
    memcpy(fixed + 0x35, b + 0x36, len - 0x36);
    sd_test_write_file(tmp_path("zero.avro"), fixed, len - 1);
    free(b);
    sd_avro_reader *r = open_reader(tmp_path("zero.avro"));
    const void *d;
    ck_assert_int_eq(sd_avro_read_raw(r, &d, &len), 1);
    ck_assert_int_eq(sd_avro_read_raw(r, &d, &len), SD_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(r), "block 2"));
    ck_assert_ptr_nonnull(strstr(sd_errmsg(r), "record count 0 is not positive"));
    sd_avro_reader_close(r);
}
END_TEST

/* Every truncation and many byte flips of real files: errors, never a crash
 * (run under ASan by make check-sanitize). */
START_TEST(damaged_files_never_crash)
{
    static const char *const files[] = {
        "flowtuple/offline/filters-input/oracle-flowtuple-1700000040.avro--1",
        "avro/quickstop-snappy.avro",
    };
    static sd_ft3_record rec[64];
    for (size_t f = 0; f < 2; f++) {
        size_t len;
        uint8_t *orig = sd_test_read_file(sd_test_data(files[f]), &len);
        uint8_t *b = malloc(len);
        const char *path = tmp_path("dmg.avro");
        size_t step = len > 5000 ? len / 1500 : 1;
        for (size_t cut = 0; cut < len; cut += step) {
            for (int mode = 0; mode < 2; mode++) {
                memcpy(b, orig, len);
                size_t n = len;
                if (mode == 0)
                    n = cut;
                else
                    b[cut] ^= (uint8_t)(1u << (cut % 8));
                sd_test_write_file(path, b, n);
                sd_avro_reader *r = NULL;
                if (sd_avro_reader_open(&r, path, NULL) != 0)
                    continue;
                int rc;
                if (sd_avro_reader_schema_id(r) == SD_AVRO_SCHEMA_FT3)
                    while ((rc = sd_avro_read_ft3(r, rec, 64)) > 0)
                        ;
                else
                    while ((rc = sd_avro_reader_next(r)) > 0)
                        ;
                ck_assert_msg(rc == SD_EOF || rc == SD_ERR_FORMAT || rc == SD_ERR_TRUNCATED, "rc %d", rc);
                /* A cut file ends cleanly only where no block was left. */
                if (mode == 0 && rc == SD_EOF)
                    ck_assert_uint_eq(sd_avro_reader_records(r), 0);
                if (rc != SD_EOF)
                    ck_assert_ptr_nonnull(strstr(sd_errmsg(r), path));
                sd_avro_reader_close(r);
            }
        }
        free(b);
        free(orig);
    }
}
END_TEST

/* ---------------------------------------------------------------- generic API */

START_TEST(quickstop_generic)
{
    static const char *const files[] = {"avro/quickstop-null.avro", "avro/quickstop-deflate.avro",
                                        "avro/quickstop-snappy.avro"};
    uint32_t crc[3];
    for (int f = 0; f < 3; f++) {
        sd_avro_reader *r = open_reader(sd_test_data(files[f]));
        ck_assert_int_eq(sd_avro_reader_codec(r), f == 0 ? SD_AVRO_NULL : f == 1 ? SD_AVRO_DEFLATE : SD_AVRO_SNAPPY);
        ck_assert_int_eq(sd_avro_field_count(r), 5);
        ck_assert_str_eq(sd_avro_field_name(r, 1), "First");
        ck_assert_int_eq(sd_avro_field_index(r, "Age"), 4);
        ck_assert_int_eq(sd_avro_field_index(r, "Nope"), SD_ERR_NOTFOUND);
        int64_t v;
        ck_assert_int_eq(sd_avro_get_long(r, 0, &v), SD_ERR_STATE);
        ck_assert_int_eq(sd_avro_reader_next(r), 1);
        ck_assert_ptr_nonnull(sd_avro_reader_value(r));
        ck_assert_int_eq(sd_avro_get_long(r, 0, &v), 0);
        ck_assert_int_eq(v, 1);
        const char *s;
        size_t len;
        ck_assert_int_eq(sd_avro_get_string(r, 1, &s, &len), 0);
        ck_assert_uint_eq(len, 5);
        ck_assert_int_eq(memcmp(s, "Dante", 5), 0);
        ck_assert_int_eq(sd_avro_get_string(r, 2, &s, &len), 0);
        ck_assert_int_eq(memcmp(s, "Hicks", 5), 0);
        ck_assert_int_eq(sd_avro_get_string(r, 3, &s, &len), 0);
        ck_assert_int_eq(memcmp(s, "(0)", 3), 0);
        ck_assert_int_eq(sd_avro_get_long(r, 4, &v), 0);
        ck_assert_int_eq(v, 32);
        double d;
        ck_assert_int_eq(sd_avro_get_double(r, 4, &d), 0);
        ck_assert(d == 32.0);
        ck_assert_int_eq(sd_avro_get_long(r, 1, &v), SD_ERR_INVAL);
        ck_assert_int_eq(sd_avro_get_long(r, 9, &v), SD_ERR_NOTFOUND);
        int n = 1, rc;
        while ((rc = sd_avro_reader_next(r)) > 0) {
            n++;
            ck_assert_int_eq(sd_avro_get_long(r, 0, &v), 0);
            ck_assert_int_eq(v, n);
        }
        ck_assert_int_eq(rc, SD_EOF);
        ck_assert_int_eq(n, 6001);
        sd_avro_reader_close(r);

        /* Raw datums: the same bytes in every codec; copied into a new file
         * of ours with sd_avro_write_encoded(). */
        r = open_reader(sd_test_data(files[f]));
        const char *out = tmp_path("copy.avro");
        sd_avro_writer_opts o;
        sd_avro_writer_opts_init(&o);
        o.codec = codecs[f];
        o.block_size = 4096;
        sd_avro_writer *w;
        ck_assert_int_eq(sd_avro_writer_open(&w, out, sd_avro_reader_schema_json(r), &o, NULL), 0);
        crc[f] = 0;
        const void *datum;
        while ((rc = sd_avro_read_raw(r, &datum, &len)) > 0) {
            crc[f] = (uint32_t)crc32(crc[f], datum, (uInt)len);
            ck_assert_int_eq(sd_avro_write_encoded(w, datum, len), 0);
        }
        ck_assert_int_eq(rc, SD_EOF);
        ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);
        sd_avro_reader_close(r);
        r = open_reader(out);
        uint32_t c2 = 0;
        n = 0;
        while ((rc = sd_avro_read_raw(r, &datum, &len)) > 0) {
            c2 = (uint32_t)crc32(c2, datum, (uInt)len);
            n++;
        }
        ck_assert_int_eq(n, 6001);
        ck_assert_uint_eq(c2, crc[f]);
        ck_assert_uint_gt(sd_avro_reader_blocks(r), 20);
        sd_avro_reader_close(r);
    }
    ck_assert_uint_eq(crc[0], crc[1]);
    ck_assert_uint_eq(crc[0], crc[2]);
}
END_TEST

START_TEST(generic_values_round_trip)
{
    /* avro-c values out of one file and into another. */
    sd_avro_reader *r = open_reader(sd_test_data("avro/quickstop-deflate.avro"));
    const char *path = tmp_path("values.avro");
    sd_avro_writer *w;
    ck_assert_int_eq(sd_avro_writer_open(&w, path, sd_avro_reader_schema_json(r), NULL, NULL), 0);
    int rc, n = 0;
    while ((rc = sd_avro_reader_next(r)) > 0) {
        ck_assert_int_eq(sd_avro_write_value(w, sd_avro_reader_value(r)), 0);
        n++;
    }
    ck_assert_int_eq(rc, SD_EOF);
    ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);
    sd_avro_reader_close(r);
    sd_avro_reader *a = open_reader(sd_test_data("avro/quickstop-null.avro"));
    sd_avro_reader *b = open_reader(path);
    for (int i = 0; i < n; i++) {
        const void *da, *db;
        size_t la, lb;
        ck_assert_int_eq(sd_avro_read_raw(a, &da, &la), 1);
        ck_assert_int_eq(sd_avro_read_raw(b, &db, &lb), 1);
        ck_assert_uint_eq(la, lb);
        ck_assert_int_eq(memcmp(da, db, la), 0);
    }
    const void *d;
    size_t l;
    ck_assert_int_eq(sd_avro_read_raw(b, &d, &l), SD_EOF);
    sd_avro_reader_close(a);
    sd_avro_reader_close(b);
}
END_TEST

/* ---------------------------------------------------------------- output files */

START_TEST(temporary_name_and_done_file)
{
    const char *dir = fresh_dir("tmpname");
    char path[400];
    snprintf(path, sizeof path, "%s/out.avro", dir);
    sd_avro_writer_opts o;
    sd_avro_writer_opts_init(&o);
    o.done_file = 1;
    sd_avro_writer *w;
    ck_assert_int_eq(sd_avro_writer_open(&w, path, sd_avro_schema_json(SD_AVRO_SCHEMA_FT3), &o, NULL), 0);
    static sd_ft3_record rec[100];
    for (int i = 0; i < 100; i++)
        make_ft3(&rec[i], (uint64_t)i);
    ck_assert_int_eq(sd_avro_write_ft3(w, rec, 100), 100);
    ck_assert_int_ne(access(path, F_OK), 0); /* not under its name yet */
    ck_assert_int_eq(dir_entries(dir), 1);
    ck_assert_int_eq(sd_avro_writer_close(w, NULL), 0);
    ck_assert_int_eq(access(path, F_OK), 0);
    char done[420];
    snprintf(done, sizeof done, "%s.done", path);
    struct stat sb;
    ck_assert_int_eq(stat(done, &sb), 0);
    ck_assert_int_eq(sb.st_size, 0);
    ck_assert_int_eq(dir_entries(dir), 2);

    /* discard leaves nothing. */
    snprintf(path, sizeof path, "%s/gone.avro", dir);
    ck_assert_int_eq(sd_avro_writer_open(&w, path, sd_avro_schema_json(SD_AVRO_SCHEMA_FT3), &o, NULL), 0);
    ck_assert_int_eq(sd_avro_write_ft3(w, rec, 100), 100);
    sd_avro_writer_discard(w);
    ck_assert_int_eq(dir_entries(dir), 2);
}
END_TEST

START_TEST(unwritable_directory)
{
    const char *dir = fresh_dir("ro");
    char path[400], errbuf[SD_ERRBUF_SIZE];
    /* A missing directory... */
    snprintf(path, sizeof path, "%s/missing/out.avro", dir);
    sd_avro_writer *w = (sd_avro_writer *)1;
    ck_assert_int_eq(sd_avro_writer_open(&w, path, sd_avro_schema_json(SD_AVRO_SCHEMA_FT3), NULL, errbuf),
                     SD_ERR_NOTFOUND);
    ck_assert_ptr_null(w);
    ck_assert_ptr_nonnull(strstr(errbuf, path));
    /* ...and one we may not write (root ignores modes: drop to nobody). */
    ck_assert_int_eq(chmod(g_tmpdir, 0755), 0);
    ck_assert_int_eq(chmod(dir, 0555), 0);
    if (geteuid() == 0) {
        ck_assert_int_eq(setgroups(0, NULL), 0);
        ck_assert_int_eq(setgid(65534), 0);
        ck_assert_int_eq(setuid(65534), 0);
    }
    snprintf(path, sizeof path, "%s/out.avro", dir);
    ck_assert_int_eq(sd_avro_writer_open(&w, path, sd_avro_schema_json(SD_AVRO_SCHEMA_FT3), NULL, errbuf),
                     SD_ERR_PERM);
    ck_assert_ptr_nonnull(strstr(errbuf, "Permission denied"));
    ck_assert_int_eq(dir_entries(dir), 0);
}
END_TEST

START_TEST(write_error_leaves_no_file)
{
    /* A file size limit makes write(2) fail with EFBIG part way. */
    const char *dir = fresh_dir("efbig");
    char path[400], errbuf[SD_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/out.avro", dir);
    signal(SIGXFSZ, SIG_IGN);
    struct rlimit rl = {100000, 100000};
    ck_assert_int_eq(setrlimit(RLIMIT_FSIZE, &rl), 0);
    sd_avro_writer *w = open_writer(path, SD_AVRO_SCHEMA_FT3, SD_AVRO_NULL, 0);
    static sd_ft3_record rec[1000];
    for (int i = 0; i < 1000; i++)
        make_ft3(&rec[i], (uint64_t)i);
    int rc = 0;
    for (int i = 0; i < 100 && rc >= 0; i++)
        rc = sd_avro_write_ft3(w, rec, 1000);
    ck_assert_int_eq(rc, SD_ERR_IO);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(w), "write"));
    ck_assert_int_eq(sd_avro_write_ft3(w, rec, 1), SD_ERR_IO); /* stays failed */
    ck_assert_int_eq(sd_avro_writer_close(w, errbuf), SD_ERR_IO);
    ck_assert_int_eq(dir_entries(dir), 0); /* neither the name nor the temporary file */

    /* Failing at close (the last block) does the same. */
    w = open_writer(path, SD_AVRO_SCHEMA_FT3, SD_AVRO_NULL, 1 << 20);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(sd_avro_write_ft3(w, rec, 1000), 1000);
    ck_assert_int_eq(sd_avro_writer_close(w, errbuf), SD_ERR_IO);
    ck_assert_int_eq(dir_entries(dir), 0);
}
END_TEST

START_TEST(open_arguments)
{
    sd_avro_writer *w;
    char errbuf[SD_ERRBUF_SIZE];
    const char *s = sd_avro_schema_json(SD_AVRO_SCHEMA_FT3);
    ck_assert_int_eq(sd_avro_writer_open(NULL, "x", s, NULL, NULL), SD_ERR_INVAL);
    ck_assert_int_eq(sd_avro_writer_open(&w, "", s, NULL, NULL), SD_ERR_INVAL);
    ck_assert_int_eq(sd_avro_writer_open(&w, tmp_path("a.avro"), "{not json", NULL, errbuf), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(errbuf, "bad schema"));
    sd_avro_writer_opts o;
    sd_avro_writer_opts_init(&o);
    o.codec = 7;
    ck_assert_int_eq(sd_avro_writer_open(&w, tmp_path("a.avro"), s, &o, NULL), SD_ERR_INVAL);
    sd_avro_writer_opts_init(&o);
    o.block_size = 10;
    ck_assert_int_eq(sd_avro_writer_open(&w, tmp_path("a.avro"), s, &o, NULL), SD_ERR_INVAL);
    sd_avro_writer_opts_init(&o);
    o.level = 11;
    ck_assert_int_eq(sd_avro_writer_open(&w, tmp_path("a.avro"), s, &o, NULL), SD_ERR_INVAL);
    ck_assert_int_eq(sd_avro_writer_close(NULL, NULL), 0);
    sd_avro_writer_discard(NULL);
    sd_avro_reader_close(NULL);
    sd_avro_reader *r;
    ck_assert_int_eq(sd_avro_reader_open(&r, tmp_path("none.avro"), errbuf), SD_ERR_NOTFOUND);
    ck_assert_int_eq(sd_avro_reader_open(&r, g_tmpdir, errbuf), SD_ERR_INVAL);
    ck_assert_str_eq(sd_avro_codec_name(SD_AVRO_DEFLATE), "deflate");
    ck_assert_ptr_null(sd_avro_codec_name(9));
    ck_assert_int_eq(sd_avro_codec_supported(SD_AVRO_DEFLATE), 1);
    ck_assert_int_eq(sd_avro_codec_supported(9), 0);
}
END_TEST

START_TEST(allocation_failures)
{
    static sd_ft3_record rec[300];
    for (int i = 0; i < 300; i++)
        make_ft3(&rec[i], (uint64_t)i);
    int ok = 0;
    for (long n = 0; n < 200 && !ok; n++) {
        const char *path = tmp_path("nomem.avro");
        sd__alloc_fail_after = n;
        sd_avro_writer *w = NULL;
        sd_avro_writer_opts o;
        sd_avro_writer_opts_init(&o);
        o.block_size = 1000;
        int rc = sd_avro_writer_open(&w, path, sd_avro_schema_json(SD_AVRO_SCHEMA_FT3), &o, NULL);
        if (rc == 0) {
            rc = sd_avro_write_ft3(w, rec, 300);
            int rc2 = sd_avro_writer_close(w, NULL);
            if (rc == 300 && rc2 == 0)
                rc = 0;
            else
                rc = rc < 0 ? rc : rc2;
        }
        if (rc == 0) {
            sd_avro_reader *r = NULL;
            rc = sd_avro_reader_open(&r, path, NULL);
            if (rc == 0) {
                int k;
                while ((k = sd_avro_read_ft3(r, rec, 300)) > 0)
                    ;
                rc = k == SD_EOF ? 0 : k;
                sd_avro_reader_close(r);
            }
        }
        sd__alloc_fail_after = -1;
        ck_assert_msg(rc == 0 || rc == SD_ERR_NOMEM, "n %ld: rc %d", n, rc);
        ok = rc == 0;
    }
    ck_assert(ok);
}
END_TEST

int main(void)
{
    snprintf(g_tmpdir, sizeof g_tmpdir, "/tmp/sd-check-avro.XXXXXX");
    if (mkdtemp(g_tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    Suite *s = suite_create("avro");
    TCase *tc = tcase_create("schemas");
    tcase_add_test(tc, embedded_schemas_equal_files);
    tcase_add_test(tc, header_schema_as_corsaro_writes_it);
    tcase_add_test(tc, schema_shape_checked);
    suite_add_tcase(s, tc);

    tc = tcase_create("records");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, ft3_round_trip);
    tcase_add_test(tc, ft4_round_trip);
    tcase_add_test(tc, ft4_v0_v1_read);
    tcase_add_test(tc, avro_c_reads_our_files);
    tcase_add_test(tc, ft4_needs_metadata);
    tcase_add_test(tc, bad_records_refused);
    tcase_add_test(tc, corsarotrace_golden_files);
    suite_add_tcase(s, tc);

    tc = tcase_create("input");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, corrupt_files);
    tcase_add_test(tc, damaged_files_never_crash);
    tcase_add_test(tc, quickstop_generic);
    tcase_add_test(tc, generic_values_round_trip);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_test(tc, temporary_name_and_done_file);
    tcase_add_test(tc, unwritable_directory);
    tcase_add_test(tc, write_error_leaves_no_file);
    tcase_add_test(tc, open_arguments);
    tcase_add_test(tc, allocation_failures);
    suite_add_tcase(s, tc);

    int rc = sd_test_run(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmpdir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
