/* Unit tests for sd_lpm (lpm.h) and sd_pfx2as (pfx2as.h). Every lookup is
 * compared with a linear scan of the inserted prefixes. */
#include <arpa/inet.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <stardust/lpm.h>
#include <stardust/pfx2as.h>

#include "internal.h"
#include "testutil.h"

/* ------------------------------------------------------------ reference */

struct ref {
    uint8_t addr[16]; /* masked */
    unsigned len;
    uint32_t value;
};

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void mask(uint8_t *a, unsigned len, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        unsigned bits = len > i * 8 ? len - i * 8 : 0;
        if (bits < 8)
            a[i] &= (uint8_t)(0xff00u >> bits);
    }
}

static int covers(const struct ref *r, const uint8_t *a, unsigned bytes)
{
    if (bytes == 4) {
        uint32_t m = r->len ? ~0u << (32 - r->len) : 0;
        return (sd__be32(a) & m) == sd__be32(r->addr);
    }
    uint8_t m[16];
    memcpy(m, a, bytes);
    mask(m, r->len, bytes);
    return memcmp(m, r->addr, bytes) == 0;
}

/* Longest covering prefix; on equal length the later one wins. */
static uint32_t ref_lookup(const struct ref *r, size_t n, const uint8_t *a, unsigned bytes)
{
    uint32_t v = SD_LPM_NONE;
    int best = -1;
    for (size_t i = 0; i < n; i++)
        if ((int)r[i].len >= best && covers(&r[i], a, bytes)) {
            best = (int)r[i].len;
            v = r[i].value;
        }
    return v;
}

/* first, last, one before, one after of prefix r */
static void boundaries(const struct ref *r, unsigned bytes, uint8_t out[4][16])
{
    memcpy(out[0], r->addr, bytes);
    memcpy(out[1], r->addr, bytes);
    for (unsigned i = 0; i < bytes; i++) {
        unsigned bits = r->len > i * 8 ? r->len - i * 8 : 0;
        if (bits < 8)
            out[1][i] |= (uint8_t)(0xffu >> bits);
    }
    memcpy(out[2], out[0], bytes);
    for (int i = (int)bytes - 1; i >= 0 && out[2][i]-- == 0; i--)
        ;
    memcpy(out[3], out[1], bytes);
    for (int i = (int)bytes - 1; i >= 0 && ++out[3][i] == 0; i--)
        ;
}

static uint32_t lookup(const sd_lpm *l, const uint8_t *a, unsigned bytes)
{
    return bytes == 4 ? sd_lpm_lookup4(l, sd__be32(a)) : sd_lpm_lookup6(l, a);
}

static void random_check(unsigned bytes, size_t n, int maxlen_bias)
{
    struct ref *r = calloc(n, sizeof *r);
    ck_assert_ptr_nonnull(r);
    sd_lpm *l;
    ck_assert_int_eq(sd_lpm_create(&l), 0);
    unsigned maxlen = bytes * 8;
    for (size_t i = 0; i < n; i++) {
        /* Clustered addresses so prefixes nest and overlap. */
        uint64_t x = rnd();
        for (unsigned b = 0; b < bytes; b++)
            r[i].addr[b] = (uint8_t)(rnd() >> 13);
        r[i].addr[0] = (uint8_t)(x & 3) + 10;
        if (bytes == 16)
            r[i].addr[1] = (uint8_t)(x >> 8 & 1);
        r[i].len = (unsigned)(rnd() % (maxlen + 1));
        if (maxlen_bias && r[i].len < 8)
            r[i].len += 8;
        if (i % 7 == 3 && i > 0) { /* duplicate of an earlier prefix */
            size_t j = (size_t)(rnd() % i);
            memcpy(r[i].addr, r[j].addr, 16);
            r[i].len = r[j].len;
        }
        r[i].value = (uint32_t)(rnd() % 1000000);
        uint8_t raw[16];
        memcpy(raw, r[i].addr, 16);
        mask(r[i].addr, r[i].len, bytes);
        int rc = bytes == 4 ? sd_lpm_insert4(l, sd__be32(raw), r[i].len, r[i].value)
                            : sd_lpm_insert6(l, raw, r[i].len, r[i].value);
        ck_assert_int_eq(rc, 0);
    }
    ck_assert_int_eq(sd_lpm_freeze(l), 0);
    ck_assert_uint_eq(sd_lpm_count(l, bytes == 4 ? 4 : 6), n);
    for (size_t i = 0; i < n; i++) {
        uint8_t b[4][16];
        boundaries(&r[i], bytes, b);
        for (int k = 0; k < 4; k++)
            ck_assert_uint_eq(lookup(l, b[k], bytes), ref_lookup(r, n, b[k], bytes));
    }
    for (int k = 0; k < 20000; k++) {
        uint8_t a[16];
        for (unsigned b = 0; b < bytes; b++)
            a[b] = (uint8_t)(rnd() >> 17);
        if (k & 1)
            a[0] = (uint8_t)(10 + (k >> 1) % 4);
        ck_assert_uint_eq(lookup(l, a, bytes), ref_lookup(r, n, a, bytes));
    }
    sd_lpm_destroy(l);
    free(r);
}

START_TEST(test_lpm_random4) { random_check(4, 3000, 0); }
END_TEST
START_TEST(test_lpm_random4_long) { random_check(4, 3000, 1); }
END_TEST
START_TEST(test_lpm_random6) { random_check(16, 3000, 0); }
END_TEST

START_TEST(test_lpm_basic)
{
    sd_lpm *l;
    ck_assert_int_eq(sd_lpm_create(&l), 0);
    ck_assert_uint_eq(sd_lpm_lookup4(l, 0x01020304), SD_LPM_NONE);
    ck_assert_int_eq(sd_lpm_insert4(l, 0x0A000000, 8, 1), 0);
    ck_assert_int_eq(sd_lpm_insert4(l, 0x0A0000FF, 32, 2), 0);
    ck_assert_int_eq(sd_lpm_insert4(l, 0x0A000080, 25, 3), 0);
    ck_assert_int_eq(sd_lpm_insert4(l, 0x0A000000, 8, 4), 0); /* later wins */
    ck_assert_int_eq(sd_lpm_insert4(l, 0, 0, 5), 0);
    ck_assert_int_eq(sd_lpm_insert4(l, 0, 33, 1), SD_ERR_INVAL);
    ck_assert_int_eq(sd_lpm_insert4(l, 0, 8, SD_LPM_VALUE_MAX + 1), SD_ERR_INVAL);
    ck_assert_str_eq(sd_errmsg(l), "lpm: value 2147483647 > SD_LPM_VALUE_MAX");
    uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
    ck_assert_int_eq(sd_lpm_insert6(l, a6, 129, 1), SD_ERR_INVAL);
    ck_assert_int_eq(sd_lpm_insert6(l, a6, 32, 7), 0);
    ck_assert_int_eq(sd_lpm_freeze(l), 0);
    ck_assert_int_eq(sd_lpm_freeze(l), SD_ERR_STATE);
    ck_assert_int_eq(sd_lpm_insert4(l, 0, 8, 1), SD_ERR_STATE);
    ck_assert_uint_eq(sd_lpm_lookup4(l, 0x0B000000), 5);
    ck_assert_uint_eq(sd_lpm_lookup4(l, 0x0A000001), 4);
    ck_assert_uint_eq(sd_lpm_lookup4(l, 0x0A000080), 3);
    ck_assert_uint_eq(sd_lpm_lookup4(l, 0x0A0000FE), 3);
    ck_assert_uint_eq(sd_lpm_lookup4(l, 0x0A0000FF), 2);
    ck_assert_uint_eq(sd_lpm_lookup4(l, 0x0A000100), 4);
    ck_assert_uint_eq(sd_lpm_lookup6(l, a6), 7);
    a6[3] = 0xb9;
    ck_assert_uint_eq(sd_lpm_lookup6(l, a6), SD_LPM_NONE);
    ck_assert_uint_ge(sd_lpm_memory(l), (size_t)4 << 24);
    sd_lpm_destroy(l);
    sd_lpm_destroy(NULL);
}
END_TEST

START_TEST(test_lpm_nomem)
{
    for (long k = 0; k < 40; k++) {
        sd_lpm *l = NULL;
        sd__alloc_fail_after = k;
        int rc = sd_lpm_create(&l);
        for (unsigned i = 0; rc == 0 && i < 3000; i++)
            rc = sd_lpm_insert4(l, i << 12, 20 + i % 13, i);
        for (unsigned i = 0; rc == 0 && i < 3000; i++) {
            uint8_t a[16] = { 0x20, 1, (uint8_t)(i >> 8), (uint8_t)i };
            rc = sd_lpm_insert6(l, a, 24 + i % 40, i);
        }
        if (rc == 0)
            rc = sd_lpm_freeze(l);
        sd__alloc_fail_after = -1;
        ck_assert(rc == 0 || rc == SD_ERR_NOMEM);
        if (rc == SD_ERR_NOMEM && l != NULL) {
            ck_assert_uint_eq(sd_lpm_lookup4(l, 0), SD_LPM_NONE);
        }
        if (rc == 0)
            ck_assert_uint_eq(sd_lpm_lookup4(l, 5u << 12), 5);
        sd_lpm_destroy(l);
    }
}
END_TEST

/* ------------------------------------------------------------ pfx2as */

struct refrow {
    struct ref r;
    uint32_t asn[16];
    unsigned nasn;
};

/* Straightforward reading of the file (zlib, line by line, strtok). */
static struct refrow *read_ref(const char *path, size_t *np, int *v6)
{
    gzFile gz = gzopen(path, "rb");
    ck_assert_ptr_nonnull(gz);
    size_t n = 0, cap = 1024;
    struct refrow *rows = malloc(cap * sizeof *rows);
    char line[512];
    while (gzgets(gz, line, sizeof line) != NULL) {
        if (n == cap)
            rows = realloc(rows, (cap *= 2) * sizeof *rows);
        ck_assert_ptr_nonnull(rows);
        struct refrow *w = &rows[n++];
        memset(w, 0, sizeof *w);
        char *save, *a = strtok_r(line, "\t\n", &save), *len = strtok_r(NULL, "\t\n", &save),
                    *org = strtok_r(NULL, "\t\n", &save);
        ck_assert(a && len && org);
        *v6 = strchr(a, ':') != NULL;
        ck_assert_int_eq(inet_pton(*v6 ? AF_INET6 : AF_INET, a, w->r.addr), 1);
        w->r.len = (unsigned)atoi(len);
        for (char *t = strtok_r(org, "_,", &save); t; t = strtok_r(NULL, "_,", &save)) {
            char *dot = strchr(t, '.');
            uint32_t v = dot ? (uint32_t)strtoul(t, NULL, 10) << 16 | (uint32_t)strtoul(dot + 1, NULL, 10)
                             : (uint32_t)strtoul(t, NULL, 10);
            unsigned i;
            for (i = 0; i < w->nasn && w->asn[i] != v; i++)
                ;
            if (i == w->nasn) {
                ck_assert_uint_lt(w->nasn, 16);
                w->asn[w->nasn++] = v;
            }
        }
        w->r.value = (uint32_t)(n - 1);
    }
    gzclose(gz);
    *np = n;
    return rows;
}

static void check_file_boundaries(const char *rel, int expect_v6, size_t expect_lines)
{
    const char *path = sd_test_data(rel);
    size_t n;
    int v6 = 0;
    struct refrow *rows = read_ref(path, &n, &v6);
    ck_assert_uint_eq(n, expect_lines);
    ck_assert_int_eq(v6, expect_v6);
    struct ref *r = malloc(n * sizeof *r);
    for (size_t i = 0; i < n; i++)
        r[i] = rows[i].r;
    sd_pfx2as *t;
    char err[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_pfx2as_open(&t, path, err), 0);
    ck_assert_uint_eq(sd_pfx2as_count(t, v6 ? 6 : 4), n);
    ck_assert_uint_eq(sd_pfx2as_count(t, v6 ? 4 : 6), 0);
    unsigned bytes = v6 ? 16 : 4;
    size_t checked = 0;
    for (size_t i = 0; i < n; i++) {
        uint8_t b[4][16];
        boundaries(&r[i], bytes, b);
        for (int k = 0; k < 4; k++) {
            uint32_t want = ref_lookup(r, n, b[k], bytes);
            const uint32_t *asns;
            size_t got = v6 ? sd_pfx2as_lookup6(t, b[k], &asns)
                            : sd_pfx2as_lookup4(t, sd__be32(b[k]), &asns);
            if (want == SD_LPM_NONE) {
                ck_assert_uint_eq(got, 0);
                ck_assert_ptr_null(asns);
            } else {
                ck_assert_uint_eq(got, rows[want].nasn);
                ck_assert_mem_eq(asns, rows[want].asn, got * sizeof *asns);
            }
            checked++;
        }
    }
    ck_assert_uint_eq(checked, 4 * n);
    sd_pfx2as_close(t);
    free(r);
    free(rows);
}

START_TEST(test_pfx2as_tiny4)
{
    check_file_boundaries("pfx2as/mlab-RouteViewIPv4.tiny.pfx2as.gz", 0, 22115);
}
END_TEST
START_TEST(test_pfx2as_excerpt4)
{
    check_file_boundaries("pfx2as/routeviews-rv2-20230205-2200.excerpt.pfx2as.gz", 0, 2889);
}
END_TEST
START_TEST(test_pfx2as_tiny6)
{
    check_file_boundaries("pfx2as/mlab-RouteViewIPv6.tiny.pfx2as.gz", 1, 119);
}
END_TEST
START_TEST(test_pfx2as_excerpt6)
{
    check_file_boundaries("pfx2as/routeviews-rv6-20230205-0600.excerpt.pfx2as.gz", 1, 1560);
}
END_TEST

static char tmpdir[] = "/tmp/check_lpm.XXXXXX";
static int tmp_made; /* the random part of the name may contain 'X' too */

static void make_tmp(void)
{
    if (!tmp_made) {
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
        tmp_made = 1;
    }
}

static const char *write_tmp(const char *name, const char *text)
{
    static char path[4][512];
    static int slot;
    make_tmp();
    char *p = path[slot++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static void cleanup_tmp(void)
{
    static const char *names[] = { "spec.pfx2as", "bad.pfx2as", "trunc.pfx2as.gz" };
    char p[512];
    if (!tmp_made)
        return;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", tmpdir, names[i]);
        unlink(p);
    }
    rmdir(tmpdir);
}

START_TEST(test_pfx2as_origins)
{
    /* tags.md §5.1 example plus mixed separators and duplicates. */
    const char *p = write_tmp("spec.pfx2as", "192.0.2.0\t24\t64500\n"
                                             "198.51.100.0\t24\t64501_64502\n"
                                             "203.0.113.0\t24\t64503,64504\n"
                                             "203.0.113.128\t25\t1.10\n"
                                             "10.0.0.0\t8\t47794_47794,48695\n"
                                             "10.1.0.0\t16\t64501_64502\n"
                                             "2001:db8::\t32\t4200000000\n"
                                             "10.2.0.0\t16\t7\r\n"
                                             "10.2.0.0\t16\t8");
    sd_pfx2as *t;
    char err[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_pfx2as_open(&t, p, err), 0);
    const uint32_t *a;
    ck_assert_uint_eq(sd_pfx2as_lookup4(t, 0xC0000207, &a), 1);
    ck_assert_uint_eq(a[0], 64500);
    ck_assert_uint_eq(sd_pfx2as_lookup4(t, 0xC6336407, &a), 2);
    ck_assert_uint_eq(a[0], 64501);
    ck_assert_uint_eq(a[1], 64502);
    const uint32_t *moas = a;
    ck_assert_uint_eq(sd_pfx2as_lookup4(t, 0x0A010203, &a), 2);
    ck_assert_ptr_eq(a, moas); /* identical lists stored once */
    ck_assert_uint_eq(sd_pfx2as_lookup4(t, 0xCB0071C8, &a), 1);
    ck_assert_uint_eq(a[0], 65546);
    ck_assert_uint_eq(sd_pfx2as_lookup4(t, 0xCB007105, &a), 2);
    ck_assert_uint_eq(a[0], 64503);
    ck_assert_uint_eq(a[1], 64504);
    ck_assert_uint_eq(sd_pfx2as_lookup4(t, 0x0A030000, &a), 2);
    ck_assert_uint_eq(a[0], 47794);
    ck_assert_uint_eq(a[1], 48695);
    ck_assert_uint_eq(sd_pfx2as_lookup4(t, 0x0A020000, &a), 1);
    ck_assert_uint_eq(a[0], 8); /* later line wins */
    ck_assert_uint_eq(sd_pfx2as_lookup4(t, 0x0B000000, &a), 0);
    ck_assert_ptr_null(a);
    uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9 };
    ck_assert_uint_eq(sd_pfx2as_lookup6(t, v6, &a), 1);
    ck_assert_uint_eq(a[0], 4200000000u);
    ck_assert_uint_eq(sd_pfx2as_count(t, 4), 8);
    ck_assert_uint_eq(sd_pfx2as_count(t, 6), 1);
    ck_assert_uint_eq(sd_pfx2as_origin_lists(t), 8);
    sd_pfx2as_close(t);
    cleanup_tmp();
}
END_TEST

START_TEST(test_pfx2as_corrupt)
{
    const char *path = sd_test_data("pfx2as/mlab-RouteViewIPv4.corrupt.pfx2as");
    sd_pfx2as *t = (sd_pfx2as *)1;
    char err[SD_ERRBUF_SIZE], want[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_pfx2as_open(&t, path, err), SD_ERR_FORMAT);
    ck_assert_ptr_null(t);
    snprintf(want, sizeof want, "%s:50: expected 3 tab-separated fields, found 2", path);
    ck_assert_str_eq(err, want);

    static const struct {
        const char *text, *msg;
    } bad[] = {
        { "1.1.1.0\tUNPARSABLE_NETBLOCK\t1234\n", ":1: unparsable prefix length \"UNPARSABLE_NETBLOCK\" (0-32)" },
        { "1.0.0.0\t24\t1\nUNPARSABLE_NETWORK\t24\t1234\n", ":2: unparsable network address \"UNPARSABLE_NETWORK\"" },
        { "1.0.0.0\t33\t1\n", ":1: unparsable prefix length \"33\" (0-32)" },
        { "::\t129\t1\n", ":1: unparsable prefix length \"129\" (0-128)" },
        { "1.0.0.0\t8\t1__2\n", ":1: unparsable origin \"1__2\"" },
        { "1.0.0.0\t8\t\n", ":1: unparsable origin \"\"" },
        { "1.0.0.0\t8\t65536.1\n", ":1: unparsable origin \"65536.1\"" },
        { "1.0.0.0\t8\t4294967296\n", ":1: unparsable origin \"4294967296\"" },
        { "1.0.0.0\t8\t1\n\n", ":2: expected 3 tab-separated fields, found 1" },
        { "1.0.0.0\t8\t1\t2\n", ":1: expected 3 tab-separated fields, found 4" },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *p = write_tmp("bad.pfx2as", bad[i].text);
        ck_assert_int_eq(sd_pfx2as_open(&t, p, err), SD_ERR_FORMAT);
        snprintf(want, sizeof want, "%s%s", p, bad[i].msg);
        ck_assert_str_eq(err, want);
    }
    ck_assert_int_eq(sd_pfx2as_open(&t, "/nonexistent/x.pfx2as", err), SD_ERR_NOTFOUND);
    cleanup_tmp();
}
END_TEST

START_TEST(test_pfx2as_truncated_gz)
{
    /* The first 4000 bytes of a gzip file: the stream ends mid-way. */
    FILE *f = fopen(sd_test_data("pfx2as/routeviews-rv2-20230205-2200.excerpt.pfx2as.gz"), "rb");
    ck_assert_ptr_nonnull(f);
    char buf[4000];
    ck_assert_uint_eq(fread(buf, 1, sizeof buf, f), sizeof buf);
    fclose(f);
    make_tmp();
    char p[512];
    snprintf(p, sizeof p, "%s/trunc.pfx2as.gz", tmpdir);
    f = fopen(p, "wb");
    fwrite(buf, 1, sizeof buf, f);
    fclose(f);
    sd_pfx2as *t;
    char err[SD_ERRBUF_SIZE];
    int rc = sd_pfx2as_open(&t, p, err);
    ck_assert_msg(rc == SD_ERR_TRUNCATED || rc == SD_ERR_FORMAT, "rc %d: %s", rc, err);
    ck_assert_ptr_null(t);
    ck_assert_msg(strncmp(err, p, strlen(p)) == 0 && err[strlen(p)] == ':', "%s", err);
    cleanup_tmp();
}
END_TEST

START_TEST(test_pfx2as_full)
{
    const char *path = sd_test_data("pfx2as/routeviews-rv2-20170329-0200.pfx2as.gz");
    /* zcat | wc -l, computed here */
    gzFile gz = gzopen(path, "rb");
    ck_assert_ptr_nonnull(gz);
    static char buf[1 << 16];
    size_t lines = 0;
    int got;
    while ((got = gzread(gz, buf, sizeof buf)) > 0)
        for (int i = 0; i < got; i++)
            lines += buf[i] == '\n';
    gzclose(gz);
    ck_assert_uint_eq(lines, 694682);
    sd_pfx2as *t;
    char err[SD_ERRBUF_SIZE];
    ck_assert_msg(sd_pfx2as_open(&t, path, err) == 0, "%s", err);
    ck_assert_uint_eq(sd_pfx2as_count(t, 4), lines);
    const uint32_t *a;
    ck_assert_uint_eq(sd_pfx2as_lookup4(t, 0xC0ACE201, &a), 2); /* 192.172.226.0/24 */
    ck_assert_uint_eq(a[0], 1909);
    ck_assert_uint_eq(a[1], 195);
    sd_pfx2as_close(t);
}
END_TEST

static Suite *lpm_suite(void)
{
    Suite *s = suite_create("lpm");
    TCase *tc = tcase_create("lpm");
    tcase_add_test(tc, test_lpm_basic);
    tcase_add_test(tc, test_lpm_random4);
    tcase_add_test(tc, test_lpm_random4_long);
    tcase_add_test(tc, test_lpm_random6);
    tcase_add_test(tc, test_lpm_nomem);
    suite_add_tcase(s, tc);
    tc = tcase_create("pfx2as");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pfx2as_origins);
    tcase_add_test(tc, test_pfx2as_corrupt);
    tcase_add_test(tc, test_pfx2as_truncated_gz);
    tcase_add_test(tc, test_pfx2as_tiny4);
    tcase_add_test(tc, test_pfx2as_excerpt4);
    tcase_add_test(tc, test_pfx2as_tiny6);
    tcase_add_test(tc, test_pfx2as_excerpt6);
    tcase_add_test(tc, test_pfx2as_full);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sd_test_run(lpm_suite());
}
