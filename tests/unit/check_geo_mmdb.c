/* Unit tests for sd_geo_open_mmdb() (geo.h). Every table is compared with
 * direct libmaxminddb lookups (MMDB_lookup_string + MMDB_get_value) at
 * every network boundary of the database: the first and last address of
 * every network, found independently of the loader by chasing lookups
 * through the whole address space (each lookup's netmask gives the network,
 * the next one starts after its last address), plus the addresses just
 * outside them, the networks of the source JSON and random addresses. */
#include <arpa/inet.h>
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <maxminddb.h>

#include <stardust/geo.h>

#include "geo_int.h"
#include "internal.h"
#include "testutil.h"

typedef unsigned __int128 u128;

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void u128_bytes(u128 v, uint8_t b[16])
{
    for (int i = 15; i >= 0; i--) {
        b[i] = (uint8_t)v;
        v >>= 8;
    }
}

static u128 bytes_u128(const uint8_t b[16])
{
    u128 v = 0;
    for (int i = 0; i < 16; i++)
        v = v << 8 | b[i];
    return v;
}

/* ------------------------------------------------------------ reference */

/* The record the loader should have made for an entry, extracted here with
 * MMDB_get_value (the rules of geo.h, written out again). */
static bool ref_string(MMDB_entry_s *e, const char **s, uint32_t *n, const char *a, const char *b,
                       const char *c)
{
    MMDB_entry_data_s d;
    int st = c ? MMDB_get_value(e, &d, a, b, c, NULL) : MMDB_get_value(e, &d, a, b, NULL);
    ck_assert_msg(st == MMDB_SUCCESS || st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR,
                  "MMDB_get_value %s/%s: %s", a, b, MMDB_strerror(st));
    if (st != MMDB_SUCCESS || !d.has_data || d.type != MMDB_DATA_TYPE_UTF8_STRING)
        return false;
    *s = d.utf8_string;
    *n = d.data_size;
    return true;
}

static bool ref_code(MMDB_entry_s *e, const char *a, const char *b, char out[2])
{
    const char *s;
    uint32_t n;
    if (!ref_string(e, &s, &n, a, b, NULL) || n != 2)
        return false;
    char c0 = (char)toupper((unsigned char)s[0]), c1 = (char)toupper((unsigned char)s[1]);
    if (c0 < 'A' || c0 > 'Z' || c1 < 'A' || c1 > 'Z')
        return false;
    out[0] = c0;
    out[1] = c1;
    return true;
}

static void ref_text(MMDB_entry_s *e, const char *a, const char *b, const char *c, char *out,
                     size_t size)
{
    const char *s;
    uint32_t n;
    out[0] = 0;
    if (!ref_string(e, &s, &n, a, b, c))
        return;
    size_t len = strnlen(s, n);
    while (len > size - 1) { /* drop whole UTF-8 characters */
        len--;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    memcpy(out, s, len);
    out[len] = 0;
}

static double ref_double(MMDB_entry_s *e, const char *a, const char *b)
{
    MMDB_entry_data_s d;
    int st = MMDB_get_value(e, &d, a, b, NULL);
    if (st != MMDB_SUCCESS || !d.has_data)
        return NAN;
    if (d.type == MMDB_DATA_TYPE_DOUBLE)
        return d.double_value;
    if (d.type == MMDB_DATA_TYPE_FLOAT)
        return d.float_value;
    return NAN;
}

static void ref_record(MMDB_entry_s *e, sd_geo_record *r)
{
    memset(r, 0, sizeof *r);
    bool cc = ref_code(e, "country", "iso_code", r->country) ||
              ref_code(e, "registered_country", "iso_code", r->country);
    if (!ref_code(e, "continent", "code", r->continent) && cc)
        sd__geo_continent(r->country, r->continent);
    ref_text(e, "subdivisions", "0", "iso_code", r->region, sizeof r->region);
    ref_text(e, "city", "names", "en", r->city, sizeof r->city);
    r->latitude = ref_double(e, "location", "latitude");
    r->longitude = ref_double(e, "location", "longitude");
    MMDB_entry_data_s d;
    if (MMDB_get_value(e, &d, "autonomous_system_number", NULL) == MMDB_SUCCESS && d.has_data &&
        d.type == MMDB_DATA_TYPE_UINT32)
        r->asn = d.uint32;
}

static bool same_double(double a, double b)
{
    return (isnan(a) && isnan(b)) || a == b;
}

/* Compare the loader's answer for addr with libmaxminddb's. Returns 1 when
 * libmaxminddb found an entry. */
static int compare(MMDB_s *db, const sd_geo *g, const char *addr)
{
    int gai, st;
    MMDB_lookup_result_s res = MMDB_lookup_string(db, addr, &gai, &st);
    ck_assert_msg(gai == 0, "%s: getaddrinfo %d", addr, gai);
    uint8_t b[16];
    const sd_geo_record *got;
    if (inet_pton(AF_INET, addr, b) == 1)
        got = sd_geo_lookup4(g, sd__be32(b));
    else {
        ck_assert(inet_pton(AF_INET6, addr, b) == 1);
        got = sd_geo_lookup6(g, b);
    }
    if (st == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR) {
        ck_assert_msg(got == NULL, "%s: IPv6 in an IPv4 database has a record", addr);
        return 0;
    }
    ck_assert_msg(st == MMDB_SUCCESS, "%s: %s", addr, MMDB_strerror(st));
    if (!res.found_entry) {
        ck_assert_msg(got == NULL, "%s: libmaxminddb has no entry, sd_geo has one (%.2s)", addr,
                      got->country);
        return 0;
    }
    ck_assert_msg(got != NULL, "%s: libmaxminddb has an entry, sd_geo has none", addr);
    sd_geo_record want;
    ref_record(&res.entry, &want);
    ck_assert_msg(memcmp(got->country, want.country, 2) == 0, "%s: country %.2s, want %.2s", addr,
                  got->country, want.country);
    ck_assert_msg(memcmp(got->continent, want.continent, 2) == 0, "%s: continent %.2s, want %.2s",
                  addr, got->continent, want.continent);
    ck_assert_msg(strcmp(got->region, want.region) == 0, "%s: region %s, want %s", addr,
                  got->region, want.region);
    ck_assert_msg(strcmp(got->city, want.city) == 0, "%s: city %s, want %s", addr, got->city,
                  want.city);
    ck_assert_msg(same_double(got->latitude, want.latitude), "%s: latitude %g, want %g", addr,
                  got->latitude, want.latitude);
    ck_assert_msg(same_double(got->longitude, want.longitude), "%s: longitude %g, want %g", addr,
                  got->longitude, want.longitude);
    ck_assert_msg(got->asn == want.asn, "%s: asn %u, want %u", addr, got->asn, want.asn);
    ck_assert_uint_eq(got->region_code, 0);
    ck_assert_uint_eq(got->n_polygons, 0);
    for (int i = 0; i < SD_GEO_MAX_POLYGON_TABLES; i++)
        ck_assert_uint_eq(got->polygon[i], 0);
    return 1;
}

static int compare4(MMDB_s *db, const sd_geo *g, uint32_t a)
{
    char s[INET_ADDRSTRLEN];
    uint8_t b[4];
    sd__put_be32(b, a);
    inet_ntop(AF_INET, b, s, sizeof s);
    return compare(db, g, s);
}

static int compare6(MMDB_s *db, const sd_geo *g, u128 a)
{
    char s[INET6_ADDRSTRLEN];
    uint8_t b[16];
    u128_bytes(a, b);
    inet_ntop(AF_INET6, b, s, sizeof s);
    return compare(db, g, s);
}

/* Compare at first, last and the neighbours outside [first, last]. */
static void compare_range4(MMDB_s *db, const sd_geo *g, uint32_t first, uint32_t last)
{
    compare4(db, g, first);
    compare4(db, g, last);
    if (first > 0)
        compare4(db, g, first - 1);
    if (last < UINT32_MAX)
        compare4(db, g, last + 1);
}

static void compare_range6(MMDB_s *db, const sd_geo *g, u128 first, u128 last)
{
    compare6(db, g, first);
    compare6(db, g, last);
    if (first > 0)
        compare6(db, g, first - 1);
    if (last != ~(u128)0)
        compare6(db, g, last + 1);
}

/* The networks in a source JSON file: every quoted "address/length". */
static size_t json_networks(MMDB_s *db, const sd_geo *g, const char *json)
{
    FILE *f = fopen(json, "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    rewind(f);
    char *text = malloc((size_t)size + 1);
    ck_assert_ptr_nonnull(text);
    ck_assert_uint_eq(fread(text, 1, (size_t)size, f), (size_t)size);
    text[size] = 0;
    fclose(f);
    size_t n = 0;
    for (char *p = text; (p = strchr(p, '"')) != NULL;) {
        char *q = strchr(p + 1, '"');
        if (q == NULL)
            break;
        char tok[64];
        size_t len = (size_t)(q - p - 1);
        char *slash = memchr(p + 1, '/', len);
        if (slash != NULL && len < sizeof tok) {
            memcpy(tok, p + 1, len);
            tok[len] = 0;
            tok[slash - p - 1] = 0;
            int plen = atoi(slash + 1);
            uint8_t b[16];
            if (inet_pton(AF_INET, tok, b) == 1 && plen >= 0 && plen <= 32) {
                uint32_t m = plen ? ~0u << (32 - plen) : 0, a = sd__be32(b) & m;
                compare_range4(db, g, a, a | ~m);
                n++;
            } else if (inet_pton(AF_INET6, tok, b) == 1 && plen >= 0 && plen <= 128) {
                u128 m = plen ? ~(u128)0 << (128 - plen) : 0, a = bytes_u128(b) & m;
                compare_range6(db, g, a, a | ~m);
                n++;
            }
        }
        p = q + 1;
    }
    free(text);
    return n;
}

struct net6 {
    u128 first;
    unsigned len;
};

/* Compare one database everywhere; returns the networks of each family
 * libmaxminddb has data for. */
/* The record reached by the first depth bits of a, read with
 * MMDB_read_node (*type: its MMDB_RECORD_TYPE_*). */
static uint64_t record_at(MMDB_s *db, const uint8_t a[16], unsigned depth, int *type)
{
    uint64_t rec = 0;
    *type = MMDB_RECORD_TYPE_SEARCH_NODE;
    for (unsigned bit = 0; bit < depth && *type == MMDB_RECORD_TYPE_SEARCH_NODE; bit++) {
        MMDB_search_node_s sn;
        ck_assert_int_eq(MMDB_read_node(db, (uint32_t)rec, &sn), MMDB_SUCCESS);
        int right = (a[bit / 8] >> (7 - bit % 8)) & 1;
        rec = right ? sn.right_record : sn.left_record;
        *type = right ? sn.right_record_type : sn.left_record_type;
    }
    return rec;
}

/* The IPv6 prefixes of an IPv6 database under which its tree is the IPv4
 * subtree (the one 96 zero bits down): ::/96 itself and MaxMind's aliases
 * ::ffff:0:0/96, 2001::/32 and 2002::/16, where present. Returns how many
 * went to pfx/len. */
static int ipv4_aliases(MMDB_s *db, u128 pfx[4], unsigned len[4])
{
    static const struct {
        uint8_t a[16];
        unsigned len;
    } cand[] = {{{0}, 96},
                {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff}, 96},
                {{0x20, 0x01}, 32},
                {{0x20, 0x02}, 16}};
    int type;
    uint64_t v4 = record_at(db, cand[0].a, 96, &type);
    if (type != MMDB_RECORD_TYPE_SEARCH_NODE)
        return 0;
    int n = 0;
    for (size_t i = 0; i < sizeof cand / sizeof cand[0]; i++) {
        int t;
        if (record_at(db, cand[i].a, cand[i].len, &t) == v4 && t == MMDB_RECORD_TYPE_SEARCH_NODE) {
            pfx[n] = bytes_u128(cand[i].a);
            len[n++] = cand[i].len;
        }
    }
    return n;
}

static void check_db(const char *name, const char *json)
{
    const char *path = sd_test_data(name);
    char errbuf[SD_ERRBUF_SIZE];
    sd_geo *g = NULL;
    int rc = sd_geo_open_mmdb(&g, path, errbuf);
    ck_assert_msg(rc == 0, "%s: %s", name, errbuf);
    ck_assert_int_eq(sd_geo_kind(g), SD_GEO_MAXMIND);
    MMDB_s db;
    ck_assert_int_eq(MMDB_open(path, MMDB_MODE_MMAP, &db), MMDB_SUCCESS);
    int v6db = db.metadata.ip_version == 6;

    /* IPv4: chase the networks from 0.0.0.0 up. */
    size_t found4 = 0, nets4 = 0;
    uint32_t *firsts4 = NULL;
    unsigned *lens4 = NULL;
    for (uint64_t a = 0; a <= UINT32_MAX;) {
        char s[INET_ADDRSTRLEN];
        uint8_t b[4];
        sd__put_be32(b, (uint32_t)a);
        inet_ntop(AF_INET, b, s, sizeof s);
        int gai, st;
        MMDB_lookup_result_s res = MMDB_lookup_string(&db, s, &gai, &st);
        ck_assert(gai == 0 && st == MMDB_SUCCESS);
        unsigned len = v6db ? (res.netmask >= 96 ? res.netmask - 96u : 0) : res.netmask;
        ck_assert_uint_le(len, 32);
        uint32_t m = len ? ~0u << (32 - len) : 0;
        uint32_t first = (uint32_t)a & m, last = first | ~m;
        ck_assert_uint_eq(first, (uint32_t)a); /* networks tile the space */
        compare_range4(&db, g, first, last);
        if (res.found_entry) {
            found4++;
            firsts4 = realloc(firsts4, found4 * sizeof *firsts4);
            lens4 = realloc(lens4, found4 * sizeof *lens4);
            firsts4[found4 - 1] = first;
            lens4[found4 - 1] = len;
        }
        nets4++;
        a = (uint64_t)last + 1;
    }
    ck_assert_uint_eq(sd_geo_count(g, 4), found4);

    /* IPv6: the same through the whole tree. The networks under the IPv4
     * aliases are answered through the IPv4 table and not counted again. */
    size_t found6 = 0, nets6 = 0, aliased6 = 0;
    struct net6 *found = NULL;
    u128 apfx[4];
    unsigned alen[4];
    int nalias = v6db ? ipv4_aliases(&db, apfx, alen) : 0;
    if (v6db) {
        u128 a = 0;
        for (;;) {
            char s[INET6_ADDRSTRLEN];
            uint8_t b[16];
            u128_bytes(a, b);
            inet_ntop(AF_INET6, b, s, sizeof s);
            int gai, st;
            MMDB_lookup_result_s res = MMDB_lookup_string(&db, s, &gai, &st);
            ck_assert(gai == 0 && st == MMDB_SUCCESS);
            unsigned len = res.netmask;
            ck_assert_uint_le(len, 128);
            u128 m = len ? ~(u128)0 << (128 - len) : 0, first = a & m, last = first | ~m;
            ck_assert(first == a);
            compare_range6(&db, g, first, last);
            if (res.found_entry) {
                found = realloc(found, ++found6 * sizeof *found);
                found[found6 - 1] = (struct net6){ first, len };
                for (int k = 0; k < nalias; k++)
                    if (len >= alen[k] && (first >> (128 - alen[k])) == (apfx[k] >> (128 - alen[k]))) {
                        aliased6++;
                        break;
                    }
            }
            nets6++;
            if (last == ~(u128)0)
                break;
            a = last + 1;
        }
    } else {
        compare6(&db, g, 1); /* ::1 */
    }
    ck_assert_uint_eq(sd_geo_count(g, 6), found6 - aliased6);
    ck_assert_uint_gt(sd_geo_count(g, 4) + sd_geo_count(g, 6), 0);
    ck_assert_uint_gt(sd_geo_records(g), 0);
    ck_assert_uint_le(sd_geo_records(g), found4 + found6);
    ck_assert_uint_gt(sd_geo_memory(g), sd_geo_records(g) * sizeof(sd_geo_record));

    /* The source data's networks, when there is a source file. */
    if (json != NULL)
        ck_assert_uint_gt(json_networks(&db, g, sd_test_data(json)), 0);

    /* Random addresses: anywhere in IPv4, and inside the IPv6 networks. */
    for (int i = 0; i < 2000; i++)
        compare4(&db, g, (uint32_t)rnd());
    for (int i = 0; i < 1000 && found4 > 0; i++) {
        size_t k = rnd() % found4;
        uint32_t host = lens4[k] == 32 ? 0 : (uint32_t)rnd() & (~0u >> lens4[k]);
        ck_assert_int_eq(compare4(&db, g, firsts4[k] | host), 1);
    }
    for (int i = 0; i < 1000 && v6db; i++)
        compare6(&db, g, (u128)rnd() << 64 | rnd());
    for (int i = 0; i < 2000 && found6 > 0; i++) {
        size_t k = rnd() % found6;
        u128 host = found[k].len == 128 ? 0 : ((u128)rnd() << 64 | rnd()) & (~(u128)0 >> found[k].len);
        ck_assert_int_eq(compare6(&db, g, found[k].first | host), 1);
    }
    free(firsts4);
    free(lens4);
    free(found);
    MMDB_close(&db);
    sd_geo_close(g);
}

/* ------------------------------------------------------------ good databases */

START_TEST(test_geoip2_city)
{
    check_db("mmdb/GeoIP2-City-Test.mmdb", "mmdb/source-json/GeoIP2-City-Test.json");
}
END_TEST

START_TEST(test_geolite2_city)
{
    check_db("mmdb/GeoLite2-City-Test.mmdb", "mmdb/source-json/GeoLite2-City-Test.json");
}
END_TEST

START_TEST(test_geoip2_country)
{
    check_db("mmdb/GeoIP2-Country-Test.mmdb", "mmdb/source-json/GeoIP2-Country-Test.json");
}
END_TEST

START_TEST(test_geolite2_country)
{
    check_db("mmdb/GeoLite2-Country-Test.mmdb", "mmdb/source-json/GeoLite2-Country-Test.json");
}
END_TEST

START_TEST(test_geolite2_asn)
{
    check_db("mmdb/GeoLite2-ASN-Test.mmdb", "mmdb/source-json/GeoLite2-ASN-Test.json");
}
END_TEST

START_TEST(test_geoip2_enterprise)
{
    check_db("mmdb/GeoIP2-Enterprise-Test.mmdb", "mmdb/source-json/GeoIP2-Enterprise-Test.json");
}
END_TEST

START_TEST(test_geoip2_isp)
{
    check_db("mmdb/GeoIP2-ISP-Test.mmdb", "mmdb/source-json/GeoIP2-ISP-Test.json");
}
END_TEST

START_TEST(test_geoip2_anonymous_ip)
{
    check_db("mmdb/GeoIP2-Anonymous-IP-Test.mmdb", "mmdb/source-json/GeoIP2-Anonymous-IP-Test.json");
}
END_TEST

START_TEST(test_geoip2_connection_type)
{
    check_db("mmdb/GeoIP2-Connection-Type-Test.mmdb",
             "mmdb/source-json/GeoIP2-Connection-Type-Test.json");
}
END_TEST

static const char *const generic_dbs[] = {
    "mmdb/MaxMind-DB-test-ipv4-24.mmdb",  "mmdb/MaxMind-DB-test-ipv6-24.mmdb",
    "mmdb/MaxMind-DB-test-mixed-24.mmdb", "mmdb/MaxMind-DB-test-mixed-28.mmdb",
    "mmdb/MaxMind-DB-test-mixed-32.mmdb", "mmdb/MaxMind-DB-no-ipv4-search-tree.mmdb",
    "mmdb/MaxMind-DB-test-decoder.mmdb",
};

START_TEST(test_generic)
{
    check_db(generic_dbs[_i], NULL);
}
END_TEST

/* Known answers from the data catalogue, independent of libmaxminddb. */
static const sd_geo_record *look(const sd_geo *g, const char *addr)
{
    uint8_t b[16];
    if (inet_pton(AF_INET, addr, b) == 1)
        return sd_geo_lookup4(g, sd__be32(b));
    ck_assert(inet_pton(AF_INET6, addr, b) == 1);
    return sd_geo_lookup6(g, b);
}

static sd_geo *open_ok(const char *name)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_geo *g = NULL;
    ck_assert_msg(sd_geo_open_mmdb(&g, sd_test_data(name), errbuf) == 0, "%s", errbuf);
    return g;
}

START_TEST(test_known_answers)
{
    sd_geo *g = open_ok("mmdb/GeoIP2-City-Test.mmdb");
    const sd_geo_record *r = look(g, "81.2.69.142");
    ck_assert_ptr_nonnull(r);
    ck_assert_mem_eq(r->country, "GB", 2);
    ck_assert_mem_eq(r->continent, "EU", 2);
    ck_assert_str_eq(r->city, "London");
    ck_assert_str_eq(r->region, "ENG");
    ck_assert(fabs(r->latitude - 51.5142) < 1e-9 && fabs(r->longitude - -0.0931) < 1e-9);
    ck_assert_uint_eq(r->asn, 0);
    /* IPv4 under ::/96 and its aliases, as mmdblookup answers: the same
     * record, found through the IPv4 table */
    ck_assert_ptr_eq(look(g, "::ffff:81.2.69.142"), r);
    ck_assert_ptr_eq(look(g, "::81.2.69.142"), r);
    ck_assert_ptr_eq(look(g, "2002:5102:458e::"), r);             /* 6to4 */
    ck_assert_ptr_eq(look(g, "2002:5102:458e:ffff:ffff::1"), r);
    ck_assert_ptr_eq(look(g, "2001:0:5102:458e::"), r);           /* Teredo */
    ck_assert_ptr_null(look(g, "2002:7f00:1::"));                  /* 127.0.0.1 */
    ck_assert_ptr_null(look(g, "::ffff:127.0.0.1"));
    sd_geo_close(g);

    /* The IPv4 networks are kept once, not again under each alias. */
    g = open_ok("mmdb/GeoIP2-ISP-Test.mmdb");
    ck_assert_uint_gt(sd_geo_count(g, 4), 1800);
    ck_assert_uint_lt(sd_geo_count(g, 6), 300);
    r = look(g, "1.128.0.1");
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_eq(look(g, "::ffff:1.128.0.1"), r);
    ck_assert_ptr_eq(look(g, "2002:180:1::"), r);
    sd_geo_close(g);
    g = open_ok("mmdb/GeoIP2-City-Test.mmdb");
    r = look(g, "81.2.69.142");
    ck_assert_ptr_null(look(g, "127.0.0.1"));
    sd_geo_close(g);

    g = open_ok("mmdb/GeoLite2-City-Test.mmdb");
    r = look(g, "89.160.20.112");
    ck_assert_ptr_nonnull(r);
    ck_assert_mem_eq(r->country, "SE", 2);
    ck_assert_str_eq(r->city, "Link\xc3\xb6ping");
    sd_geo_close(g);

    g = open_ok("mmdb/GeoIP2-Country-Test.mmdb");
    r = look(g, "2.125.160.216");
    ck_assert_ptr_nonnull(r);
    ck_assert_mem_eq(r->country, "GB", 2);
    ck_assert_str_eq(r->city, "");
    ck_assert(isnan(r->latitude) && isnan(r->longitude));
    sd_geo_close(g);

    g = open_ok("mmdb/GeoLite2-ASN-Test.mmdb");
    r = look(g, "1.128.0.1");
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->asn, 1221);
    ck_assert_mem_eq(r->country, "\0\0", 2); /* an ASN database has no location */
    ck_assert_mem_eq(r->continent, "\0\0", 2);
    r = look(g, "2600:6000::1");
    ck_assert_ptr_nonnull(r);
    ck_assert_uint_eq(r->asn, 237);
    sd_geo_close(g);

    g = open_ok("mmdb/GeoIP2-Enterprise-Test.mmdb");
    r = look(g, "74.209.24.1");
    ck_assert_ptr_nonnull(r);
    ck_assert_str_eq(r->city, "Chatham");
    ck_assert_mem_eq(r->country, "US", 2);
    sd_geo_close(g);

    /* A record without any field stardust uses is still a match. */
    g = open_ok("mmdb/MaxMind-DB-test-ipv4-24.mmdb");
    r = look(g, "1.1.1.3");
    ck_assert_ptr_nonnull(r);
    ck_assert_mem_eq(r->country, "\0\0", 2);
    ck_assert_str_eq(r->city, "");
    ck_assert(isnan(r->latitude));
    ck_assert_ptr_null(look(g, "1.1.1.0"));
    ck_assert_ptr_null(look(g, "::1.1.1.1"));
    ck_assert_uint_eq(sd_geo_records(g), 1);
    sd_geo_close(g);

    /* No IPv4 subtree: every IPv4 address is in ::/64. */
    g = open_ok("mmdb/MaxMind-DB-no-ipv4-search-tree.mmdb");
    ck_assert_ptr_nonnull(look(g, "1.1.1.1"));
    ck_assert_ptr_nonnull(look(g, "255.255.255.255"));
    ck_assert_uint_eq(sd_geo_count(g, 4), 1);
    sd_geo_close(g);
}
END_TEST

/* A network with registered_country but no country and no continent
 * (source JSON ::5.83.124.0/118): country from registered_country,
 * continent from the country table. */
START_TEST(test_registered_country)
{
    sd_geo *g = open_ok("mmdb/GeoIP2-Enterprise-Test.mmdb");
    const sd_geo_record *r = look(g, "5.83.124.1");
    ck_assert_ptr_nonnull(r);
    ck_assert_mem_eq(r->country, "RO", 2);
    ck_assert_mem_eq(r->continent, "EU", 2);
    ck_assert_str_eq(r->city, "");
    ck_assert(isnan(r->latitude));
    ck_assert_ptr_eq(look(g, "::5.83.127.255"), r);
    sd_geo_close(g);
}
END_TEST

START_TEST(test_continent_table)
{
    char out[2];
    sd__geo_continent("US", out);
    ck_assert_mem_eq(out, "NA", 2);
    sd__geo_continent("GB", out);
    ck_assert_mem_eq(out, "EU", 2);
    sd__geo_continent("AQ", out);
    ck_assert_mem_eq(out, "AN", 2);
    sd__geo_continent("ZZ", out);
    ck_assert_mem_eq(out, "??", 2);
}
END_TEST

/* ------------------------------------------------------------ bad input */

struct bad {
    const char *name;
    const char *why; /* in the message after "path: " */
};

static const struct bad bad_dbs[] = {
    { "mmdb/MaxMind-DB-test-broken-pointers-24.mmdb", ": data at offset 0 (record of node 27): " },
    { "mmdb/MaxMind-DB-test-broken-search-tree-24.mmdb", ": node 0: invalid record 0 (search tree is corrupt)" },
    { "mmdb/GeoIP2-City-Test-Invalid-Node-Count.mmdb", ": invalid MaxMind DB: The MaxMind DB file contains invalid metadata" },
    { "mmdb/bad-data/cyclic-data-structure.mmdb", ": invalid MaxMind DB: " },
    { "mmdb/bad-data/invalid-data-record-offset.mmdb", ": invalid MaxMind DB: " },
    { "mmdb/bad-data/libmaxminddb-corrupt-search-tree.mmdb", ": node 1: not reachable from the root" },
    { "mmdb/bad-data/libmaxminddb-deep-nesting.mmdb", ": data at offset 0 (record of node 7): " },
    { "mmdb/bad-data/libmaxminddb-offset-integer-overflow.mmdb", ": invalid MaxMind DB: " },
};

START_TEST(test_bad)
{
    const struct bad *b = &bad_dbs[_i];
    const char *path = sd_test_data(b->name);
    char errbuf[SD_ERRBUF_SIZE] = "";
    sd_geo *g = (sd_geo *)1;
    int rc = sd_geo_open_mmdb(&g, path, errbuf);
    ck_assert_msg(rc == SD_ERR_FORMAT, "%s: rc %d (%s)", b->name, rc, errbuf);
    ck_assert_ptr_null(g);
    ck_assert_msg(strncmp(errbuf, path, strlen(path)) == 0, "message does not name the file: %s",
                  errbuf);
    ck_assert_msg(strstr(errbuf + strlen(path), b->why) == errbuf + strlen(path),
                  "%s: message \"%s\" lacks \"%s\"", b->name, errbuf, b->why);
}
END_TEST

START_TEST(test_open_errors)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_geo *g = NULL;
    ck_assert_int_eq(sd_geo_open_mmdb(NULL, "x", errbuf), SD_ERR_INVAL);
    ck_assert_int_eq(sd_geo_open_mmdb(&g, NULL, NULL), SD_ERR_INVAL);
    ck_assert_int_eq(sd_geo_open_mmdb(&g, "/nonexistent/geo.mmdb", errbuf), SD_ERR_IO);
    ck_assert_str_eq(errbuf, "/nonexistent/geo.mmdb: No such file or directory");
    ck_assert_ptr_null(g);
    /* A file that is not a database at all. */
    const char *json = sd_test_data("mmdb/source-json/GeoIP2-City-Test.json");
    ck_assert_int_eq(sd_geo_open_mmdb(&g, json, errbuf), SD_ERR_FORMAT);
    ck_assert_ptr_null(g);
    ck_assert_ptr_nonnull(strstr(errbuf, json));
    ck_assert_ptr_nonnull(strstr(errbuf, "invalid MaxMind DB"));
    /* NULL errbuf is allowed. */
    ck_assert_int_eq(sd_geo_open_mmdb(&g, json, NULL), SD_ERR_FORMAT);
    /* Accessors accept NULL. */
    ck_assert_int_eq(sd_geo_kind(NULL), 0);
    ck_assert_uint_eq(sd_geo_count(NULL, 4), 0);
    ck_assert_uint_eq(sd_geo_records(NULL), 0);
    ck_assert_uint_eq(sd_geo_memory(NULL), 0);
    sd_geo_close(NULL);
}
END_TEST

/* A copy of a database in a temporary file, for patching. */
static char *copy_db(const char *name, uint8_t **buf, size_t *size)
{
    FILE *f = fopen(sd_test_data(name), "rb");
    ck_assert_ptr_nonnull(f);
    fseek(f, 0, SEEK_END);
    *size = (size_t)ftell(f);
    rewind(f);
    *buf = malloc(*size);
    ck_assert_uint_eq(fread(*buf, 1, *size, f), *size);
    fclose(f);
    const char *tmp = getenv("TMPDIR");
    char *path = malloc(4096);
    snprintf(path, 4096, "%s/check_geo_mmdb.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    close(fd);
    return path;
}

static void write_db(const char *path, const uint8_t *buf, size_t size)
{
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(buf, 1, size, f), size);
    ck_assert_int_eq(fclose(f), 0);
}

static void put24(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 16);
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)v;
}

/* Hand-broken trees (24-bit records, node i at byte 6i): a loop below the
 * root, and a tree whose nodes all share both children (2^30 paths) must
 * fail fast with the node named. */
START_TEST(test_broken_trees)
{
    uint8_t *buf;
    size_t size;
    char *path = copy_db("mmdb/MaxMind-DB-test-ipv4-24.mmdb", &buf, &size);
    uint8_t *orig = malloc(size);
    memcpy(orig, buf, size);
    char errbuf[SD_ERRBUF_SIZE];
    sd_geo *g = NULL;

    /* Node 5's left record goes back up to node 2: a loop. */
    put24(buf + 5 * 6, 2);
    write_db(path, buf, size);
    ck_assert_int_eq(sd_geo_open_mmdb(&g, path, errbuf), SD_ERR_FORMAT);
    ck_assert_ptr_null(g);
    ck_assert_msg(strstr(errbuf, "search tree continues past bit 32 of an IPv4 address") != NULL,
                  "%s", errbuf);
    ck_assert_msg(strncmp(errbuf, path, strlen(path)) == 0, "%s", errbuf);

    /* Nodes 1..30 both point to the next node: exponentially many paths. */
    memcpy(buf, orig, size);
    for (uint32_t i = 1; i <= 30; i++) {
        put24(buf + i * 6, i + 1);
        put24(buf + i * 6 + 3, i + 1);
    }
    write_db(path, buf, size);
    ck_assert_int_eq(sd_geo_open_mmdb(&g, path, errbuf), SD_ERR_FORMAT);
    ck_assert_msg(strstr(errbuf, "more than 8 times each") != NULL, "%s", errbuf);

    /* A record between the node count and the data section (node_count + 1
     * .. + 15 is the separator, not data). */
    memcpy(buf, orig, size);
    put24(buf + 0 * 6 + 3, 164 + 3);
    write_db(path, buf, size);
    ck_assert_int_eq(sd_geo_open_mmdb(&g, path, errbuf), SD_ERR_FORMAT);
    ck_assert_msg(strstr(errbuf, "node 0:") != NULL, "%s", errbuf);

    unlink(path);
    free(path);
    free(buf);
    free(orig);
}
END_TEST

/* Truncated and byte-flipped copies never crash, leak or hang: they load
 * (a flip that changes only data we do not use) or fail with a message
 * naming the file. */
START_TEST(test_mutations)
{
    uint8_t *buf;
    size_t size;
    char *path = copy_db("mmdb/GeoIP2-City-Test.mmdb", &buf, &size);
    uint8_t *orig = malloc(size);
    memcpy(orig, buf, size);
    char errbuf[SD_ERRBUF_SIZE];
    int failed = 0, loaded = 0;
    for (size_t cut = 0; cut < size; cut += 997) {
        write_db(path, buf, cut);
        sd_geo *g = NULL;
        int rc = sd_geo_open_mmdb(&g, path, errbuf);
        ck_assert_msg(rc == SD_ERR_FORMAT, "cut at %zu: rc %d", cut, rc);
        ck_assert_ptr_null(g);
        ck_assert(strncmp(errbuf, path, strlen(path)) == 0);
    }
    for (int i = 0; i < 120; i++) {
        memcpy(buf, orig, size);
        for (int k = 0; k < 4; k++)
            buf[rnd() % size] ^= (uint8_t)(1u << (rnd() % 8));
        write_db(path, buf, size);
        sd_geo *g = NULL;
        int rc = sd_geo_open_mmdb(&g, path, errbuf);
        ck_assert_msg(rc == 0 || rc == SD_ERR_FORMAT, "rc %d: %s", rc, errbuf);
        if (rc == 0) {
            loaded++;
            ck_assert_ptr_nonnull(g);
            look(g, "81.2.69.142");
            look(g, "2001:218::1");
            sd_geo_close(g);
        } else {
            failed++;
            ck_assert_ptr_null(g);
            ck_assert_msg(strncmp(errbuf, path, strlen(path)) == 0, "%s", errbuf);
        }
    }
    ck_assert_int_gt(failed, 0);
    ck_assert_int_gt(loaded, 0);
    unlink(path);
    free(path);
    free(buf);
    free(orig);
}
END_TEST

START_TEST(test_nomem)
{
    const char *path = sd_test_data("mmdb/GeoIP2-City-Test.mmdb");
    char errbuf[SD_ERRBUF_SIZE];
    int ok = 0;
    long k;
    for (k = 0; k < 10000 && !ok; k++) {
        sd_geo *g = (sd_geo *)1;
        sd__alloc_fail_after = k;
        int rc = sd_geo_open_mmdb(&g, path, errbuf);
        sd__alloc_fail_after = -1;
        ck_assert_msg(rc == 0 || rc == SD_ERR_NOMEM, "after %ld allocations: rc %d (%s)", k, rc,
                      errbuf);
        if (rc == 0) {
            ok = 1;
            const sd_geo_record *r = look(g, "81.2.69.142");
            ck_assert_ptr_nonnull(r);
            ck_assert_str_eq(r->city, "London");
            sd_geo_close(g);
        } else {
            ck_assert_ptr_null(g);
            ck_assert_msg(strncmp(errbuf, path, strlen(path)) == 0, "%s", errbuf);
        }
    }
    ck_assert(ok);
    ck_assert_int_gt(k, 5); /* the loop did fail some allocations */
}
END_TEST

static Suite *geo_mmdb_suite(void)
{
    Suite *s = suite_create("geo_mmdb");
    TCase *tc = tcase_create("reference");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_geoip2_city);
    tcase_add_test(tc, test_geolite2_city);
    tcase_add_test(tc, test_geoip2_country);
    tcase_add_test(tc, test_geolite2_country);
    tcase_add_test(tc, test_geolite2_asn);
    tcase_add_test(tc, test_geoip2_enterprise);
    tcase_add_test(tc, test_geoip2_isp);
    tcase_add_test(tc, test_geoip2_anonymous_ip);
    tcase_add_test(tc, test_geoip2_connection_type);
    tcase_add_loop_test(tc, test_generic, 0, (int)(sizeof generic_dbs / sizeof generic_dbs[0]));
    tcase_add_test(tc, test_known_answers);
    tcase_add_test(tc, test_registered_country);
    tcase_add_test(tc, test_continent_table);
    suite_add_tcase(s, tc);
    tc = tcase_create("bad");
    tcase_set_timeout(tc, 300);
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof bad_dbs / sizeof bad_dbs[0]));
    tcase_add_test(tc, test_open_errors);
    tcase_add_test(tc, test_broken_trees);
    tcase_add_test(tc, test_mutations);
    tcase_add_test(tc, test_nomem);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    return sd_test_run(geo_mmdb_suite());
}
