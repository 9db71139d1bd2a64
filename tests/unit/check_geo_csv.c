/* Unit tests: CSV geolocation loaders (lib/csv.c, lib/geo_csv.c) against
 * the shared fixtures' expected.tsv, damaged copies and allocation
 * failures. tags.md §4, §5.2, §5.3. */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <stardust/geo.h>

#include "csv_int.h"
#include "internal.h"
#include "testutil.h"

static uint32_t ip4(const char *s)
{
    struct in_addr a;
    ck_assert_msg(inet_pton(AF_INET, s, &a) == 1, "bad address %s", s);
    return ntohl(a.s_addr);
}

/* Split a tab-separated line in place; returns the field count. */
static int tabsplit(char *line, char **f, int max)
{
    int n = 0;
    line[strcspn(line, "\r\n")] = '\0';
    for (char *p = line; n < max;) {
        f[n++] = p;
        char *t = strchr(p, '\t');
        if (t == NULL)
            break;
        *t = '\0';
        p = t + 1;
    }
    return n;
}

static void hex2(const char c[2], char out[5])
{
    snprintf(out, 5, "%02x%02x", (unsigned char)c[0], (unsigned char)c[1]);
}

static const char *or_empty(const char *s)
{
    return strcmp(s, "-") == 0 ? "" : s;
}

/* ------------------------------------------------------------ MaxMind */

static int check_maxmind_expected(const sd_geo *g)
{
    FILE *f = fopen(sd_test_data("maxmind-csv/expected.tsv"), "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    int rows = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f) != NULL) {
        char *c[9];
        ck_assert_int_eq(tabsplit(line, c, 9), 9);
        const sd_geo_record *r = sd_geo_lookup4(g, ip4(c[0]));
        rows++;
        if (strcmp(c[1], "-") == 0) {
            ck_assert_msg(r == NULL, "%s: expected no match", c[0]);
            continue;
        }
        ck_assert_msg(r != NULL, "%s: no match", c[0]);
        char hx[5];
        ck_assert_mem_eq(r->country, c[2], 2);
        ck_assert_mem_eq(r->continent, c[3], 2);
        ck_assert_str_eq(r->region, or_empty(c[4]));
        ck_assert_str_eq(r->city, or_empty(c[5]));
        hex2(r->country, hx);
        ck_assert_str_eq(hx, c[6]);
        hex2(r->continent, hx);
        ck_assert_str_eq(hx, c[7]);
        ck_assert_uint_eq(r->region_code, 0);
        ck_assert_uint_eq(r->n_polygons, 0);
        ck_assert_uint_eq(r->asn, 0);
        ck_assert(!isnan(r->latitude) && !isnan(r->longitude));
    }
    fclose(f);
    return rows;
}

START_TEST(maxmind_expected)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_geo *g = NULL;
    int rc = sd_geo_open_maxmind_csv(&g, sd_test_data("maxmind-csv/GeoLiteCity-Blocks.csv"),
                                     sd_test_data("maxmind-csv/GeoLiteCity-Location.csv"), errbuf);
    ck_assert_msg(rc == 0, "%s", errbuf);
    ck_assert_int_eq(sd_geo_kind(g), SD_GEO_MAXMIND);
    ck_assert_int_eq(check_maxmind_expected(g), 10);
    ck_assert_uint_eq(sd_geo_records(g), 21); /* every location differs */
    ck_assert_uint_eq(sd_geo_count(g, 6), 0);
    ck_assert_uint_gt(sd_geo_count(g, 4), 21);
    ck_assert_uint_gt(sd_geo_memory(g), 21 * sizeof(sd_geo_record));
    const sd_geo_record *r = sd_geo_lookup4(g, ip4("192.0.2.10"));
    ck_assert_double_eq(r->latitude, 37.0);
    ck_assert_double_eq(r->longitude, -120.0);
    r = sd_geo_lookup4(g, ip4("203.0.113.150"));
    ck_assert_double_eq_tol(r->latitude, 39.9, 1e-9);
    ck_assert_double_eq_tol(r->longitude, 116.4, 1e-9);
    /* Inclusive range ends, nested and unaligned blocks. */
    ck_assert_ptr_null(sd_geo_lookup4(g, ip4("192.0.1.255")));
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("192.0.2.0"))->city, "Synthville", 11);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("192.0.2.63"))->city, "Synthville", 11);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("192.0.2.64"))->city, "Synthburg", 10);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("198.51.100.63"))->country, "GB", 2);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("198.51.100.64"))->country, "DE", 2);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("198.51.100.127"))->country, "DE", 2);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("198.51.100.128"))->country, "GB", 2);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("203.0.113.99"))->country, "JP", 2);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("203.0.113.100"))->country, "CN", 2);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("203.0.113.200"))->country, "CN", 2);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("203.0.113.201"))->country, "IN", 2);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("100.64.1.10"))->country, "NZ", 2);
    /* Pseudo-countries: O1, A1 -> ??, EU -> EU. */
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("192.168.0.1"))->continent, "??", 2);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("192.168.0.1"))->country, "O1", 2);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("192.168.2.1"))->continent, "EU", 2);
    ck_assert_mem_eq(sd_geo_lookup4(g, ip4("169.254.0.1"))->country, "A1", 2);
    sd_geo_close(g);
}
END_TEST

START_TEST(maxmind_dir_and_swapped)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_geo *g = NULL;
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", sd_test_data("maxmind-csv/GeoLiteCity-Blocks.csv"));
    *strrchr(dir, '/') = '\0';
    int rc = sd_geo_open_dir(&g, SD_GEO_MAXMIND, dir, errbuf);
    ck_assert_msg(rc == 0, "%s", errbuf);
    ck_assert_int_eq(check_maxmind_expected(g), 10);
    sd_geo_close(g);
    /* The headers identify the files: the pair may come either way round. */
    rc = sd_geo_open_maxmind_csv(&g, sd_test_data("maxmind-csv/GeoLiteCity-Location.csv"),
                                 sd_test_data("maxmind-csv/GeoLiteCity-Blocks.csv"), errbuf);
    ck_assert_msg(rc == 0, "%s", errbuf);
    ck_assert_int_eq(check_maxmind_expected(g), 10);
    sd_geo_close(g);
    rc = sd_geo_open_dir(&g, SD_GEO_NETACQ, dir, errbuf);
    ck_assert_int_eq(rc, SD_ERR_IO);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(errbuf, "netacq-4-blocks.csv"));
    ck_assert_int_eq(sd_geo_open_dir(&g, (enum sd_geo_kind)7, dir, errbuf), SD_ERR_INVAL);
    ck_assert_int_eq(sd_geo_open_maxmind_csv(&g, NULL, dir, errbuf), SD_ERR_INVAL);
}
END_TEST

/* ------------------------------------------------------------ Net Acuity */

static char *na_dir(void)
{
    static char dir[4096];
    snprintf(dir, sizeof dir, "%s", sd_test_data("netacq/netacq-4-blocks.csv"));
    *strrchr(dir, '/') = '\0';
    return dir;
}

static int check_netacq_expected(const sd_geo *g)
{
    FILE *f = fopen(sd_test_data("netacq/expected.tsv"), "r");
    ck_assert_ptr_nonnull(f);
    char line[1024];
    int rows = 0;
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    while (fgets(line, sizeof line, f) != NULL) {
        char *c[12];
        ck_assert_int_eq(tabsplit(line, c, 12), 12);
        const sd_geo_record *r = sd_geo_lookup4(g, ip4(c[0]));
        rows++;
        if (strcmp(c[1], "-") == 0) {
            ck_assert_msg(r == NULL, "%s: expected no match", c[0]);
            continue;
        }
        ck_assert_msg(r != NULL, "%s: no match", c[0]);
        char hx[5], buf[128];
        ck_assert_mem_eq(r->country, c[2], 2);
        ck_assert_mem_eq(r->continent, c[3], 2);
        ck_assert_uint_eq(r->region_code, strtoul(c[4], NULL, 10));
        /* polygon ids, one per table */
        buf[0] = '\0';
        for (unsigned i = 0; i < r->n_polygons; i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%u", i ? "," : "",
                     (unsigned)(r->polygon[i] & 0xFFFFFF));
        ck_assert_str_eq(buf[0] ? buf : "-", c[5]);
        buf[0] = '\0';
        for (unsigned i = 0; i < r->n_polygons; i++)
            snprintf(buf + strlen(buf), sizeof buf - strlen(buf), "%s%08x", i ? "," : "",
                     (unsigned)r->polygon[i]);
        ck_assert_str_eq(buf[0] ? buf : "-", c[6]);
        for (unsigned i = r->n_polygons; i < SD_GEO_MAX_POLYGON_TABLES; i++)
            ck_assert_uint_eq(r->polygon[i], 0);
        snprintf(hx, sizeof hx, "%04x", (unsigned)r->region_code);
        ck_assert_str_eq(hx, c[7]);
        hex2(r->country, hx);
        ck_assert_str_eq(hx, c[8]);
        hex2(r->continent, hx);
        ck_assert_str_eq(hx, c[9]);
        ck_assert_uint_eq(r->asn, 0);
    }
    fclose(f);
    return rows;
}

static void fixture_files(sd_netacq_files *f)
{
    /* sd_test_data() reuses 4 buffers: keep copies. */
    static const char *const rel[7] = {
        "netacq/netacq-4-blocks.csv", "netacq/netacq-4-locations.csv",
        "netacq/netacq-4-countries.csv", "netacq/netacq-4-regions.csv",
        "netacq/netacq-4-polygon-map.csv", "netacq/synthetic-admin1.polygons.csv",
        "netacq/synthetic-county.polygons.csv",
    };
    static char path[7][4096];
    for (int i = 0; i < 7; i++)
        snprintf(path[i], sizeof path[i], "%s", sd_test_data(rel[i]));
    memset(f, 0, sizeof *f);
    f->blocks = path[0];
    f->locations = path[1];
    f->countries = path[2];
    f->regions = path[3];
    f->polygon_map = path[4];
    f->polygon_tables[0] = path[5];
    f->polygon_tables[1] = path[6];
    f->n_polygon_tables = 2;
}

START_TEST(netacq_expected)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_netacq_files f;
    fixture_files(&f);
    sd_geo *g = NULL;
    int rc = sd_geo_open_netacq(&g, &f, errbuf);
    ck_assert_msg(rc == 0, "%s", errbuf);
    ck_assert_int_eq(sd_geo_kind(g), SD_GEO_NETACQ);
    ck_assert_int_eq(check_netacq_expected(g), 10);
    ck_assert_uint_eq(sd_geo_records(g), 19);
    const sd_geo_record *r = sd_geo_lookup4(g, ip4("192.0.2.1"));
    ck_assert_str_eq(r->region, "CA");
    ck_assert_str_eq(r->city, "synthcity-a");
    ck_assert_double_eq(r->latitude, 37.0);
    r = sd_geo_lookup4(g, ip4("169.254.10.10"));
    ck_assert_str_eq(r->region, "???"); /* "no region" */
    ck_assert_uint_eq(r->n_polygons, 0);
    r = sd_geo_lookup4(g, ip4("203.0.113.21")); /* location 1: **, *** */
    ck_assert_str_eq(r->region, "???");
    ck_assert_mem_eq(r->country, "??", 2);
    sd_geo_close(g);

    /* The directory finds the same files (tables sorted by name). */
    rc = sd_geo_open_dir(&g, SD_GEO_NETACQ, na_dir(), errbuf);
    ck_assert_msg(rc == 0, "%s", errbuf);
    ck_assert_int_eq(check_netacq_expected(g), 10);
    sd_geo_close(g);

    /* Without the map no location has polygons; optional files may be absent. */
    f.polygon_map = NULL;
    f.countries = f.regions = NULL;
    rc = sd_geo_open_netacq(&g, &f, errbuf);
    ck_assert_msg(rc == 0, "%s", errbuf);
    ck_assert_uint_eq(sd_geo_lookup4(g, ip4("192.0.2.1"))->n_polygons, 0);
    ck_assert_uint_eq(sd_geo_lookup4(g, ip4("192.0.2.1"))->region_code, 5001);
    sd_geo_close(g);

    /* More than 8 polygon tables. */
    fixture_files(&f);
    f.n_polygon_tables = 9;
    for (int i = 2; i < SD_GEO_MAX_POLYGON_TABLES; i++)
        f.polygon_tables[i] = f.polygon_tables[0];
    rc = sd_geo_open_netacq(&g, &f, errbuf);
    ck_assert_int_eq(rc, SD_ERR_INVAL);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(errbuf, "9 polygon tables"));
    f.blocks = NULL;
    f.n_polygon_tables = 2;
    ck_assert_int_eq(sd_geo_open_netacq(&g, &f, errbuf), SD_ERR_INVAL);
}
END_TEST

/* ------------------------------------------------------------ damaged input */

static char tmpdir[] = "/tmp/sd-geo-csv.XXXXXX";

static void setup_tmp(void)
{
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown_tmp(void)
{
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    ck_assert_int_eq(system(cmd), 0);
}

static char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    static char buf[1 << 16];
    *len = fread(buf, 1, sizeof buf - 1, f);
    buf[*len] = '\0';
    fclose(f);
    return buf;
}

static char *tpath(const char *dir, const char *name)
{
    static char p[4][8600];
    static int slot;
    char *s = p[slot++ % 4];
    snprintf(s, 8600, "%s/%s", dir, name);
    return s;
}

/* Copy src to dst (in dir), replacing line `lineno` (1-based) with text
 * (NULL: drop the line). */
static void copy_edit(const char *src, const char *dir, const char *name, int lineno,
                      const char *text)
{
    size_t len;
    char *in = slurp(src, &len);
    char out[1 << 16];
    size_t o = 0;
    int ln = 1;
    for (char *p = in; *p;) {
        char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) + 1 : strlen(p);
        if (ln == lineno) {
            if (text != NULL)
                o += (size_t)snprintf(out + o, sizeof out - o, "%s\n", text);
        } else {
            memcpy(out + o, p, n);
            o += n;
        }
        p += n;
        ln++;
    }
    sd_test_write_file(tpath(dir, name), out, o);
}

static void expect_fail(int rc, const char *errbuf, int want, const char *where)
{
    ck_assert_msg(rc == want, "got %s, want %s (%s)", sd_errname(rc), sd_errname(want), errbuf);
    ck_assert_msg(strstr(errbuf, where) != NULL, "\"%s\" does not contain \"%s\"", errbuf, where);
}

/* A MaxMind pair in tmpdir/mm with one line of one file replaced. */
static int mm_try(const char *file, int lineno, const char *text, char *errbuf)
{
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/mm", tmpdir);
    mkdir(dir, 0700);
    copy_edit(sd_test_data("maxmind-csv/GeoLiteCity-Blocks.csv"), dir, "GeoLiteCity-Blocks.csv",
              strcmp(file, "blocks") == 0 ? lineno : 0, text);
    copy_edit(sd_test_data("maxmind-csv/GeoLiteCity-Location.csv"), dir,
              "GeoLiteCity-Location.csv", strcmp(file, "blocks") != 0 ? lineno : 0, text);
    sd_geo *g = NULL;
    errbuf[0] = '\0';
    int rc = sd_geo_open_dir(&g, SD_GEO_MAXMIND, dir, errbuf);
    if (rc != 0)
        ck_assert_ptr_null(g);
    sd_geo_close(g);
    return rc;
}

START_TEST(maxmind_bad)
{
    char e[SD_ERRBUF_SIZE];
    const char *L = "GeoLiteCity-Location.csv:", *B = "GeoLiteCity-Blocks.csv:";
    char w[128];
#define WHERE(f, n) (snprintf(w, sizeof w, "%s%d: ", f, n), w)
    ck_assert_int_eq(mm_try("blocks", 0, NULL, e), 0);
    expect_fail(mm_try("loc", 8, "10,\"US\",\"CA\",\"Synthville\",\"90001\",37.0000,-120.0000,803", e),
                e, SD_ERR_FORMAT, WHERE(L, 8));
    ck_assert_ptr_nonnull(strstr(e, "expected 9 fields, found 8"));
    expect_fail(mm_try("blocks", 4, "\"32212x6048\",\"3221226111\",\"11\"", e), e, SD_ERR_FORMAT,
                WHERE(B, 4));
    expect_fail(mm_try("blocks", 4, "\"4294967296\",\"3221226111\",\"11\"", e), e, SD_ERR_FORMAT,
                WHERE(B, 4));
    expect_fail(mm_try("blocks", 5, "\"3221226239\",\"3221226112\",\"12\"", e), e, SD_ERR_FORMAT,
                WHERE(B, 5));
    ck_assert_ptr_nonnull(strstr(e, "below start"));
    expect_fail(mm_try("blocks", 6, "\"3325256704\",\"3325256959\",\"99\"", e), e, SD_ERR_FORMAT,
                WHERE(B, 6));
    ck_assert_ptr_nonnull(strstr(e, "unknown location id 99"));
    expect_fail(mm_try("loc", 9, "11,\"US\",\"NY\",\"Synthburg\",\"10001\",91.0000,-74.0000,501,212", e),
                e, SD_ERR_FORMAT, WHERE(L, 9));
    ck_assert_ptr_nonnull(strstr(e, "latitude"));
    expect_fail(mm_try("loc", 9, "11,\"US\",\"NY\",\"Synthburg\",\"10001\",41.0,-180.5,501,212", e),
                e, SD_ERR_FORMAT, WHERE(L, 9));
    expect_fail(mm_try("loc", 9, "11,\"US\",\"NY\",\"Synthburg\",\"10001\",4e1,-74,501,212", e), e,
                SD_ERR_FORMAT, WHERE(L, 9));
    expect_fail(mm_try("loc", 9, "11,\"USA\",\"NY\",\"Synthburg\",\"10001\",41,-74,501,212", e), e,
                SD_ERR_FORMAT, WHERE(L, 9));
    expect_fail(mm_try("loc", 9, "10,\"US\",\"NY\",\"Synthburg\",\"10001\",41,-74,501,212", e), e,
                SD_ERR_FORMAT, WHERE(L, 9));
    ck_assert_ptr_nonnull(strstr(e, "duplicate location id 10"));
    expect_fail(mm_try("loc", 9, "11,\"US,\"NY\",\"Synthburg\",\"10001\",41,-74,501,212", e), e,
                SD_ERR_FORMAT, WHERE(L, 9));
    expect_fail(mm_try("loc", 9, "11,\"US\",\"NY\",Synt\"hburg,\"10001\",41,-74,501,212", e), e,
                SD_ERR_FORMAT, WHERE(L, 9));
    expect_fail(mm_try("loc", 9, "11,\"US\",\"NY\",\"Synthburg\"x,\"10001\",41,-74,501,212", e), e,
                SD_ERR_FORMAT, WHERE(L, 9));
    expect_fail(mm_try("loc", 9, "11,\"US\",\"NY\",\"Synthburg\",\"10001\",41,-74,5x,212", e), e,
                SD_ERR_FORMAT, WHERE(L, 9));
    expect_fail(mm_try("loc", 2, "id,country,region,city,postalCode,latitude,longitude,metroCode,areaCode", e),
                e, SD_ERR_FORMAT, WHERE(L, 2));
    expect_fail(mm_try("loc", 2, "geoname_id,locale_code,continent_code", e), e,
                SD_ERR_FORMAT, WHERE(L, 2));
    /* The header names the file: two blocks files are refused. */
    expect_fail(mm_try("loc", 2, "startIpNum,endIpNum,locId", e), e, SD_ERR_FORMAT, WHERE(L, 2));
    /* Unknown country code: continent ??, not an error (stardust). */
    ck_assert_int_eq(mm_try("loc", 9, "11,\"ZQ\",\"NY\",\"Synthburg\",\"10001\",41,-74,,", e), 0);

    char dir[4200];
    snprintf(dir, sizeof dir, "%s/mm", tmpdir);
    sd_geo *g = NULL;
    /* Empty file. */
    sd_test_write_file(tpath(dir, "GeoLiteCity-Blocks.csv"), "", 0);
    expect_fail(sd_geo_open_dir(&g, SD_GEO_MAXMIND, dir, e), e, SD_ERR_FORMAT, WHERE(B, 1));
    /* Copyright lines only. */
    sd_test_write_file(tpath(dir, "GeoLiteCity-Blocks.csv"), "Copyright x\nCopyright y\n", 24);
    expect_fail(sd_geo_open_dir(&g, SD_GEO_MAXMIND, dir, e), e, SD_ERR_FORMAT, WHERE(B, 3));
    /* A line longer than the limit. */
    {
        size_t n = SD__CSV_MAXLINE + 100;
        char *big = malloc(n + 64);
        int h = snprintf(big, 64, "startIpNum,endIpNum,locId\n\"1\",\"2\",\"");
        memset(big + h, '7', n - (size_t)h);
        sd_test_write_file(tpath(dir, "GeoLiteCity-Blocks.csv"), big, n);
        free(big);
        expect_fail(sd_geo_open_dir(&g, SD_GEO_MAXMIND, dir, e), e, SD_ERR_FORMAT, WHERE(B, 2));
        ck_assert_ptr_nonnull(strstr(e, "longer than"));
    }
    /* A NUL byte. */
    sd_test_write_file(tpath(dir, "GeoLiteCity-Blocks.csv"), "startIpNum,endIpNum,locId\n\"1\",\"2\0\",\"10\"\n", 41);
    expect_fail(sd_geo_open_dir(&g, SD_GEO_MAXMIND, dir, e), e, SD_ERR_FORMAT, WHERE(B, 2));
    /* Missing file. */
    unlink(tpath(dir, "GeoLiteCity-Blocks.csv"));
    expect_fail(sd_geo_open_dir(&g, SD_GEO_MAXMIND, dir, e), e, SD_ERR_IO,
                "GeoLiteCity-Blocks.csv");
    expect_fail(sd_geo_open_maxmind_csv(&g, tpath(dir, "GeoLiteCity-Blocks.csv"),
                                        tpath(dir, "GeoLiteCity-Location.csv"), e),
                e, SD_ERR_IO, "GeoLiteCity-Blocks.csv: ");
    /* Truncated gzip: the first half of a compressed copy. */
    {
        size_t len;
        char *src = slurp(sd_test_data("maxmind-csv/GeoLiteCity-Blocks.csv"), &len);
        gzFile z = gzopen(tpath(dir, "full.gz"), "wb");
        ck_assert_int_eq(gzwrite(z, src, (unsigned)len), (int)len);
        gzclose(z);
        char *gz = slurp(tpath(dir, "full.gz"), &len);
        sd_test_write_file(tpath(dir, "GeoLiteCity-Blocks.csv.gz"), gz, len / 2);
        expect_fail(sd_geo_open_dir(&g, SD_GEO_MAXMIND, dir, e), e, SD_ERR_FORMAT,
                    "GeoLiteCity-Blocks.csv.gz:");
        /* The whole compressed file reads fine. */
        sd_test_write_file(tpath(dir, "GeoLiteCity-Blocks.csv.gz"), gz, len);
        copy_edit(sd_test_data("maxmind-csv/GeoLiteCity-Location.csv"), dir,
                  "GeoLiteCity-Location.csv", 0, NULL);
        ck_assert_int_eq(sd_geo_open_dir(&g, SD_GEO_MAXMIND, dir, e), 0);
        ck_assert_int_eq(check_maxmind_expected(g), 10);
        sd_geo_close(g);
    }
#undef WHERE
}
END_TEST

/* A Net Acuity set in tmpdir/na (both polygon tables) with one line of one
 * file replaced; file is the name in the fixture folder. */
static int na_try(const char *file, int lineno, const char *text, char *errbuf)
{
    static const char *const names[] = {
        "netacq-4-blocks.csv", "netacq-4-locations.csv", "netacq-4-countries.csv",
        "netacq-4-regions.csv", "netacq-4-polygon-map.csv", "synthetic-admin1.polygons.csv",
        "synthetic-county.polygons.csv",
    };
    char dir[4200], rel[256];
    snprintf(dir, sizeof dir, "%s/na", tmpdir);
    mkdir(dir, 0700);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(rel, sizeof rel, "netacq/%s", names[i]);
        copy_edit(sd_test_data(rel), dir, names[i], strcmp(file, names[i]) == 0 ? lineno : 0,
                  text);
    }
    sd_geo *g = NULL;
    errbuf[0] = '\0';
    int rc = sd_geo_open_dir(&g, SD_GEO_NETACQ, dir, errbuf);
    if (rc != 0)
        ck_assert_ptr_null(g);
    else
        ck_assert_int_eq(check_netacq_expected(g), 10);
    sd_geo_close(g);
    return rc;
}

#define LOC11 "11,us,ny,synthcity-b,10001,41.0000,-74.0000,0,?,usa,840,5002,1100,6,0,broadband,50,50,50,50,0,n"

START_TEST(netacq_bad)
{
    char e[SD_ERRBUF_SIZE], w[128];
#define WHERE(f, n) (snprintf(w, sizeof w, "%s:%d: ", f, n), w)
    const char *L = "netacq-4-locations.csv", *B = "netacq-4-blocks.csv",
               *M = "netacq-4-polygon-map.csv", *C = "netacq-4-countries.csv",
               *R = "netacq-4-regions.csv", *T = "synthetic-county.polygons.csv";
    ck_assert_int_eq(na_try(B, 0, NULL, e), 0);
    /* Locations: 21 columns, bad numbers, bad codes. */
    expect_fail(na_try(L, 4, "11,us,ny,synthcity-b,10001,41.0000,-74.0000,0,?,usa,840,5002,1100,6,0,broadband,50,50,50,50,0", e),
                e, SD_ERR_FORMAT, WHERE(L, 4));
    ck_assert_ptr_nonnull(strstr(e, "expected 22 fields, found 21"));
    expect_fail(na_try(L, 4, "11,us,ny,synthcity-b,10001,41.0000,-74.0000,0,?,usa,840,5002,1100,8,0,broadband,50,50,50,50,0,n", e),
                e, SD_ERR_FORMAT, WHERE(L, 4));
    ck_assert_ptr_nonnull(strstr(e, "continent"));
    expect_fail(na_try(L, 4, "11,us,ny,synthcity-b,10001,41.0000,-74.0000,0,?,usa,840,65536,1100,6,0,broadband,50,50,50,50,0,n", e),
                e, SD_ERR_FORMAT, WHERE(L, 4));
    expect_fail(na_try(L, 4, "11,us,ny,synthcity-b,10001,41.0000,x,0,?,usa,840,5002,1100,6,0,broadband,50,50,50,50,0,n", e),
                e, SD_ERR_FORMAT, WHERE(L, 4));
    expect_fail(na_try(L, 4, "11,us,ny,synthcity-b,10001,-90.5,-74,0,?,usa,840,5002,1100,6,0,broadband,50,50,50,50,0,n", e),
                e, SD_ERR_FORMAT, WHERE(L, 4));
    expect_fail(na_try(L, 4, "11,usa,ny,synthcity-b,10001,41,-74,0,?,usa,840,5002,1100,6,0,broadband,50,50,50,50,0,n", e),
                e, SD_ERR_FORMAT, WHERE(L, 4));
    expect_fail(na_try(L, 4, "11,us,,synthcity-b,10001,41,-74,0,?,usa,840,5002,1100,6,0,broadband,50,50,50,50,0,n", e),
                e, SD_ERR_FORMAT, WHERE(L, 4));
    expect_fail(na_try(L, 4, "11,us,ny,synthcity-b,10001,41,-74,x,?,usa,840,5002,1100,6,0,broadband,50,50,50,50,0,n", e),
                e, SD_ERR_FORMAT, WHERE(L, 4));
    expect_fail(na_try(L, 4, "10,us,ny,synthcity-b,10001,41,-74,0,?,usa,840,5002,1100,6,0,broadband,50,50,50,50,0,n", e),
                e, SD_ERR_FORMAT, WHERE(L, 4));
    /* Blocks. */
    expect_fail(na_try(B, 3, "3221226112,3221226239", e), e, SD_ERR_FORMAT, WHERE(B, 3));
    expect_fail(na_try(B, 3, "3221226112,-3221226239,11", e), e, SD_ERR_FORMAT, WHERE(B, 3));
    expect_fail(na_try(B, 3, "3221226239,3221226112,11", e), e, SD_ERR_FORMAT, WHERE(B, 3));
    expect_fail(na_try(B, 3, "3221226112,3221226239,12345", e), e, SD_ERR_FORMAT, WHERE(B, 3));
    ck_assert_ptr_nonnull(strstr(e, "unknown location id 12345"));
    /* Polygon map: duplicate row, unknown table, bad id, short row. */
    expect_fail(na_try(M, 4, "10,1002,2003", e), e, SD_ERR_FORMAT, WHERE(M, 4));
    ck_assert_ptr_nonnull(strstr(e, "duplicate location id 10"));
    expect_fail(na_try(M, 1, "netacq-loc-id,synthetic-admin1-id,synthetic-city-id", e), e,
                SD_ERR_FORMAT, WHERE(M, 1));
    ck_assert_ptr_nonnull(strstr(e, "synthetic-city-id"));
    expect_fail(na_try(M, 1, "netacq-loc-id,synthetic-admin1-id,synthetic-admin1-id", e), e,
                SD_ERR_FORMAT, WHERE(M, 1));
    expect_fail(na_try(M, 5, "11,1002", e), e, SD_ERR_FORMAT, WHERE(M, 5));
    expect_fail(na_try(M, 5, "11,1002,x", e), e, SD_ERR_FORMAT, WHERE(M, 5));
    /* Map columns in another order than the tables: ids follow the names. */
    {
        char dir[4200];
        snprintf(dir, sizeof dir, "%s/na", tmpdir);
        copy_edit(sd_test_data("netacq/netacq-4-polygon-map.csv"), dir, "swap.csv", 0, NULL);
        sd_test_write_file(tpath(dir, "netacq-4-polygon-map.csv"),
             "loc,synthetic-county-id,synthetic-admin1-id\n10,2001,1001\n", 57);
        sd_geo *g = NULL;
        ck_assert_int_eq(sd_geo_open_dir(&g, SD_GEO_NETACQ, dir, e), 0);
        const sd_geo_record *r = sd_geo_lookup4(g, ip4("192.0.2.1"));
        ck_assert_uint_eq(r->n_polygons, 2);
        ck_assert_uint_eq(r->polygon[0], 1001);
        ck_assert_uint_eq(r->polygon[1], 0x01000000u | 2001);
        ck_assert_uint_eq(sd_geo_lookup4(g, ip4("192.0.2.200"))->n_polygons, 0);
        sd_geo_close(g);
    }
    /* Polygon tables. */
    expect_fail(na_try(T, 1, "county,fqid,name,usercode", e), e, SD_ERR_FORMAT, WHERE(T, 1));
    expect_fail(na_try(T, 1, "synthetic-admin1-id,fqid,name,usercode", e), e, SD_ERR_FORMAT,
                WHERE(T, 1));
    expect_fail(na_try(T, 3, "2001,NA.US.CA.2001,Synthetic County One", e), e, SD_ERR_FORMAT,
                WHERE(T, 3));
    expect_fail(na_try(T, 3, "20x1,NA.US.CA.2001,Synthetic County One,C", e), e, SD_ERR_FORMAT,
                WHERE(T, 3));
    /* Countries and regions. */
    expect_fail(na_try(C, 3, "usa,us,United States,2,6,na,840", e), e, SD_ERR_FORMAT, WHERE(C, 3));
    expect_fail(na_try(C, 3, "usa,us,United States,1,6,nam,840", e), e, SD_ERR_FORMAT, WHERE(C, 3));
    expect_fail(na_try(C, 3, "usa,us,United States,1,6,na", e), e, SD_ERR_FORMAT, WHERE(C, 3));
    expect_fail(na_try(R, 2, "us,ca,California,x", e), e, SD_ERR_FORMAT, WHERE(R, 2));
    expect_fail(na_try(R, 2, "us,cali,California,5001", e), e, SD_ERR_FORMAT, WHERE(R, 2));
    expect_fail(na_try(R, 2, "usaa,ca,California,5001", e), e, SD_ERR_FORMAT, WHERE(R, 2));
    ck_assert_int_eq(na_try(R, 2, "us,?x,Ignored,5001", e), 0);
    /* Empty, truncated gzip and missing files. */
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/na", tmpdir);
    sd_geo *g = NULL;
    sd_test_write_file(tpath(dir, L), "", 0);
    expect_fail(sd_geo_open_dir(&g, SD_GEO_NETACQ, dir, e), e, SD_ERR_FORMAT, WHERE(L, 1));
    {
        size_t len;
        char *src = slurp(sd_test_data("netacq/netacq-4-locations.csv"), &len);
        gzFile z = gzopen(tpath(dir, "full.gz"), "wb");
        ck_assert_int_eq(gzwrite(z, src, (unsigned)len), (int)len);
        gzclose(z);
        char *gz = slurp(tpath(dir, "full.gz"), &len);
        unlink(tpath(dir, L));
        sd_test_write_file(tpath(dir, "netacq-4-locations.csv.gz"), gz, len - 12);
        expect_fail(sd_geo_open_dir(&g, SD_GEO_NETACQ, dir, e), e, SD_ERR_FORMAT,
                    "netacq-4-locations.csv.gz:");
        unlink(tpath(dir, "netacq-4-locations.csv.gz"));
    }
    expect_fail(sd_geo_open_dir(&g, SD_GEO_NETACQ, dir, e), e, SD_ERR_IO, L);
    sd_netacq_files f;
    fixture_files(&f);
    f.countries = tpath(dir, "no-such-countries.csv");
    expect_fail(sd_geo_open_netacq(&g, &f, e), e, SD_ERR_IO, "no-such-countries.csv: ");
    /* Nine *.polygons.csv in a directory. */
    ck_assert_int_eq(na_try(B, 0, NULL, e), 0);
    for (int i = 0; i < 7; i++) {
        char name[64];
        snprintf(name, sizeof name, "extra%d.polygons.csv", i);
        copy_edit(sd_test_data("netacq/synthetic-county.polygons.csv"), dir, name, 1,
                  "extra-id,fqid,name,usercode");
    }
    expect_fail(sd_geo_open_dir(&g, SD_GEO_NETACQ, dir, e), e, SD_ERR_INVAL, "polygons.csv");
    ck_assert_ptr_null(g);
#undef WHERE
}
END_TEST

/* Continent column empty -> two zero bytes; ? country; uk -> GB. */
START_TEST(netacq_small_rules)
{
    char dir[4200], e[SD_ERRBUF_SIZE];
    snprintf(dir, sizeof dir, "%s/small", tmpdir);
    mkdir(dir, 0700);
    const char *loc = "h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h,h\n"
                      "1,uk,*x,,p,1.5,-2.25,,?,gbr,826,7,0,,0,b,0,0,0,0,0,n\n"
                      "\"2\",\"?\",\"no region\",\"caf\xe9\",p,\"0\",\"0\",\"\",,,,65535,,3,,,,,,,,\r\n";
    sd_test_write_file(tpath(dir, "netacq-4-locations.csv"), loc, strlen(loc));
    const char *blk = "h\n0,0,1\n1,4294967295,2\n";
    sd_test_write_file(tpath(dir, "netacq-4-blocks.csv"), blk, strlen(blk));
    sd_geo *g = NULL;
    int rc = sd_geo_open_dir(&g, SD_GEO_NETACQ, dir, e);
    ck_assert_msg(rc == 0, "%s", e);
    const sd_geo_record *r = sd_geo_lookup4(g, 0);
    ck_assert_mem_eq(r->country, "GB", 2);
    ck_assert_mem_eq(r->continent, "\0\0", 2);
    ck_assert_str_eq(r->region, "?X");
    ck_assert_str_eq(r->city, "");
    ck_assert_uint_eq(r->region_code, 7);
    ck_assert_double_eq(r->latitude, 1.5);
    ck_assert_double_eq(r->longitude, -2.25);
    r = sd_geo_lookup4(g, 0xFFFFFFFFu);
    ck_assert_mem_eq(r->country, "??", 2);
    ck_assert_mem_eq(r->continent, "OC", 2);
    ck_assert_str_eq(r->region, "???");
    ck_assert_str_eq(r->city, "caf\xe9"); /* ISO-8859-1 bytes pass through */
    ck_assert_uint_eq(r->region_code, 65535);
    ck_assert_uint_eq(sd_geo_count(g, 4), 1 + 32);
    sd_geo_close(g);
}
END_TEST

/* ------------------------------------------------------------ reader */

START_TEST(csv_numbers)
{
    double d;
    uint64_t v;
    ck_assert_int_eq(sd__csv_coord("-33.9000", 90, &d), 0);
    ck_assert_double_eq(d, -33.9);
    ck_assert_int_eq(sd__csv_coord("0.05", 90, &d), 0);
    ck_assert_double_eq(d, 0.05);
    ck_assert_int_eq(sd__csv_coord("+.5", 90, &d), 0);
    ck_assert_double_eq(d, 0.5);
    ck_assert_int_eq(sd__csv_coord("180", 180, &d), 0);
    ck_assert_int_eq(sd__csv_coord("180.0001", 180, &d), -1);
    ck_assert_int_eq(sd__csv_coord("", 90, &d), -1);
    ck_assert_int_eq(sd__csv_coord("-", 90, &d), -1);
    ck_assert_int_eq(sd__csv_coord(".", 90, &d), -1);
    ck_assert_int_eq(sd__csv_coord("1.2.3", 90, &d), -1);
    ck_assert_int_eq(sd__csv_coord("nan", 90, &d), -1);
    ck_assert_int_eq(sd__csv_coord("1e1", 90, &d), -1);
    ck_assert_int_eq(sd__csv_coord("1234567890123456789", 1e30, &d), -1);
    ck_assert_int_eq(sd__csv_uint("4294967295", UINT32_MAX, &v), 0);
    ck_assert_uint_eq(v, 4294967295u);
    ck_assert_int_eq(sd__csv_uint("4294967296", UINT32_MAX, &v), -1);
    ck_assert_int_eq(sd__csv_uint("", UINT32_MAX, &v), -1);
    ck_assert_int_eq(sd__csv_uint("-1", UINT32_MAX, &v), -1);
    ck_assert_int_eq(sd__csv_uint(" 1", UINT32_MAX, &v), -1);
}
END_TEST

START_TEST(csv_fields)
{
    char path[4200], e[SD_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/f.csv", tmpdir);
    const char *text = "a,\"b,c\",\"d\"\"e\",,\"\"\n\n\r\nlast,\"\"\"\"";
    sd_test_write_file(path, text, strlen(text));
    struct sd__csv c;
    ck_assert_int_eq(sd__csv_open(&c, path, e), 0);
    ck_assert_int_eq(sd__csv_next(&c), 1);
    ck_assert_uint_eq(c.lineno, 1);
    ck_assert_uint_eq(c.nfields, 5);
    ck_assert_str_eq(c.field[0], "a");
    ck_assert_str_eq(c.field[1], "b,c");
    ck_assert_str_eq(c.field[2], "d\"e");
    ck_assert_uint_eq(c.len[2], 3);
    ck_assert_str_eq(c.field[3], "");
    ck_assert_str_eq(c.field[4], "");
    ck_assert_int_eq(sd__csv_want(&c, 5), 0);
    ck_assert_int_eq(sd__csv_want(&c, 4), SD_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e, "f.csv:1: expected 4 fields, found 5"));
    ck_assert_int_eq(sd__csv_next(&c), 1); /* blank lines skipped, numbered */
    ck_assert_uint_eq(c.lineno, 4);
    ck_assert_uint_eq(c.nfields, 2);
    ck_assert_str_eq(c.field[1], "\"");
    ck_assert_int_eq(sd__csv_next(&c), 0);
    sd__csv_close(&c);
    /* Too many fields. */
    char many[200] = "";
    for (int i = 0; i <= SD__CSV_MAXFIELDS; i++)
        strcat(many, "x,");
    sd_test_write_file(path, many, strlen(many));
    ck_assert_int_eq(sd__csv_open(&c, path, e), 0);
    ck_assert_int_eq(sd__csv_next(&c), SD_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(e, "f.csv:1: more than"));
    sd__csv_close(&c);
}
END_TEST

/* ------------------------------------------------------------ allocation failures */

START_TEST(oom)
{
    char e[SD_ERRBUF_SIZE];
    sd_netacq_files f;
    fixture_files(&f);
    for (int kind = 0; kind < 3; kind++) {
        int ok = 0;
        for (long k = 0; k < 100000 && !ok; k++) {
            sd_geo *g = NULL;
            e[0] = '\0';
            sd__alloc_fail_after = k;
            int rc;
            if (kind == 0)
                rc = sd_geo_open_maxmind_csv(&g, sd_test_data("maxmind-csv/GeoLiteCity-Blocks.csv"),
                                             sd_test_data("maxmind-csv/GeoLiteCity-Location.csv"), e);
            else if (kind == 1)
                rc = sd_geo_open_netacq(&g, &f, e);
            else
                rc = sd_geo_open_dir(&g, SD_GEO_NETACQ, na_dir(), e);
            sd__alloc_fail_after = -1;
            ck_assert_msg(rc == 0 || rc == SD_ERR_NOMEM, "k=%ld: %s", k, e);
            if (rc == SD_ERR_NOMEM) {
                ck_assert_ptr_null(g);
                ck_assert_msg(strstr(e, "out of memory") != NULL, "k=%ld: %s", k, e);
                continue;
            }
            ok = 1;
            ck_assert_msg(k > 5, "only %ld allocations?", k);
            ck_assert_int_eq(kind == 0 ? check_maxmind_expected(g) : check_netacq_expected(g), 10);
            sd_geo_close(g);
        }
        ck_assert(ok);
    }
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("geo_csv");
    TCase *tc = tcase_create("maxmind");
    tcase_add_test(tc, maxmind_expected);
    tcase_add_test(tc, maxmind_dir_and_swapped);
    suite_add_tcase(s, tc);
    tc = tcase_create("netacq");
    tcase_add_test(tc, netacq_expected);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad_input");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, maxmind_bad);
    tcase_add_test(tc, netacq_bad);
    tcase_add_test(tc, netacq_small_rules);
    suite_add_tcase(s, tc);
    tc = tcase_create("reader");
    tcase_add_checked_fixture(tc, setup_tmp, teardown_tmp);
    tcase_add_test(tc, csv_numbers);
    tcase_add_test(tc, csv_fields);
    suite_add_tcase(s, tc);
    tc = tcase_create("oom");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, oom);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sd_test_run(suite());
}
