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
#include "lpm_int.h"
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
    /* The IPv4 table: 4 MiB of direct nodes plus runs, in huge pages. */
    ck_assert_uint_ge(sd_lpm_memory(l), (size_t)4 << 20);
    ck_assert_uint_le(sd_lpm_memory(l), (size_t)16 << 20);
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

/* ------------------------------------------------------------ overlay */

/* A random table with both families: clustered, nested prefixes, duplicates,
 * and the extremes /0 (sometimes), /32 and /128. */
static sd_lpm *random_table(size_t n, int with_default)
{
    sd_lpm *l;
    ck_assert_int_eq(sd_lpm_create(&l), 0);
    for (size_t i = 0; i < n; i++) {
        uint8_t a[16];
        for (unsigned b = 0; b < 16; b++)
            a[b] = (uint8_t)(rnd() >> 13);
        a[0] = (uint8_t)(rnd() & 3) + 10;
        unsigned len4 = (unsigned)(rnd() % 33), len6 = (unsigned)(rnd() % 129);
        if (i % 11 == 0)
            len4 = 32, len6 = 128;
        if (i % 3 == 0) { /* nest inside the /16 or /24 a little more often */
            a[1] = 1;
            len4 = 16 + (unsigned)(rnd() % 17);
            len6 = 16 + (unsigned)(rnd() % 113);
        }
        uint32_t v = (uint32_t)(rnd() % 1000);
        ck_assert_int_eq(sd_lpm_insert4(l, sd__be32(a), len4, v), 0);
        ck_assert_int_eq(sd_lpm_insert6(l, a, len6, v + 1), 0);
    }
    if (with_default) {
        uint8_t z[16] = { 0 };
        ck_assert_int_eq(sd_lpm_insert4(l, 0, 0, 4242), 0);
        ck_assert_int_eq(sd_lpm_insert6(l, z, 0, 4243), 0);
    }
    ck_assert_int_eq(sd_lpm_freeze(l), 0);
    return l;
}

/* The bulk lookups give what the single ones give, for every batch size
 * around the prefetch distance and on tables without one family. */
START_TEST(test_lpm_bulk)
{
    sd_lpm *l = random_table(3000, 0), *e;
    ck_assert_int_eq(sd_lpm_create(&e), 0);
    ck_assert_int_eq(sd_lpm_freeze(e), 0);
    enum { N = 1000 };
    static uint32_t a4[N], out[N + 1];
    static uint8_t a6[N * 16];
    for (size_t i = 0; i < N; i++) {
        a4[i] = (uint32_t)rnd();
        if (i & 1)
            a4[i] = (a4[i] & 0x01FFFFFF) | 0x0A000000; /* 10.x and 11.x, where the prefixes are */
        for (int b = 0; b < 16; b++)
            a6[i * 16 + b] = (uint8_t)(rnd() >> 17);
        if (i & 1)
            a6[i * 16] = (uint8_t)(10 + i % 4);
    }
    size_t hits = 0;
    for (size_t n = 0; n <= N; n = n < 40 ? n + 1 : n * 3) {
        out[n] = 12345; /* not written past n */
        sd_lpm_lookup4_bulk(l, a4, out, n);
        for (size_t i = 0; i < n; i++) {
            ck_assert_uint_eq(out[i], sd_lpm_lookup4(l, a4[i]));
            hits += out[i] != SD_LPM_NONE;
        }
        ck_assert_uint_eq(out[n], 12345);
        sd_lpm_lookup6_bulk(l, a6, out, n);
        for (size_t i = 0; i < n; i++)
            ck_assert_uint_eq(out[i], sd_lpm_lookup6(l, a6 + 16 * i));
        ck_assert_uint_eq(out[n], 12345);
        sd_lpm_lookup4_bulk(e, a4, out, n);
        for (size_t i = 0; i < n; i++)
            ck_assert_uint_eq(out[i], SD_LPM_NONE);
        sd_lpm_lookup6_bulk(e, a6, out, n);
        for (size_t i = 0; i < n; i++)
            ck_assert_uint_eq(out[i], SD_LPM_NONE);
    }
    ck_assert_uint_gt(hits, 100);
    sd_lpm_destroy(l);
    sd_lpm_destroy(e);
}
END_TEST

struct rangelist {
    struct sd__lpm_range *r;
    size_t n, cap;
};

static int collect(void *user, const struct sd__lpm_range *r)
{
    struct rangelist *rl = user;
    if (rl->n == rl->cap) {
        rl->cap = rl->cap ? rl->cap * 2 : 1024;
        rl->r = realloc(rl->r, rl->cap * sizeof *rl->r);
        ck_assert_ptr_nonnull(rl->r);
    }
    rl->r[rl->n++] = *r;
    return 0;
}

/* a +/- 1 in place (wrapping), bytes long */
static void addr_inc(uint8_t *a, unsigned bytes)
{
    for (int i = (int)bytes - 1; i >= 0 && ++a[i] == 0; i--)
        ;
}
static void addr_dec(uint8_t *a, unsigned bytes)
{
    for (int i = (int)bytes - 1; i >= 0 && a[i]-- == 0; i--)
        ;
}

/* Ranges of one family, collected from sd__lpm_ranges(). */
static struct rangelist ranges_of(const sd_lpm *l, int family)
{
    struct rangelist all = { NULL, 0, 0 }, out = { NULL, 0, 0 };
    ck_assert_int_eq(sd__lpm_ranges(l, collect, &all), 0);
    for (size_t i = 0; i < all.n; i++) {
        if (i > 0)
            ck_assert_int_le(all.r[i - 1].family, all.r[i].family); /* IPv4 first */
        if (all.r[i].family == family)
            collect(&out, &all.r[i]);
    }
    free(all.r);
    return out;
}

/* Every range of a frozen table: ascending, disjoint, maximal, and the
 * lookups agree at its ends and just outside; gaps are SD_LPM_NONE. */
static void check_ranges(const sd_lpm *l, unsigned bytes)
{
    struct rangelist rl = ranges_of(l, bytes == 4 ? 4 : 6);
    for (size_t i = 0; i < rl.n; i++) {
        const struct sd__lpm_range *r = &rl.r[i];
        ck_assert_uint_ne(r->value, SD_LPM_NONE);
        ck_assert_int_le(memcmp(r->first, r->last, bytes), 0);
        ck_assert_uint_eq(lookup(l, r->first, bytes), r->value);
        ck_assert_uint_eq(lookup(l, r->last, bytes), r->value);
        uint8_t before[16], after[16];
        memcpy(before, r->first, bytes);
        memcpy(after, r->last, bytes);
        addr_dec(before, bytes);
        addr_inc(after, bytes);
        if (i > 0) {
            ck_assert_int_lt(memcmp(rl.r[i - 1].last, r->first, bytes), 0);
            if (memcmp(rl.r[i - 1].last, before, bytes) == 0)
                ck_assert_uint_ne(rl.r[i - 1].value, r->value); /* maximal */
            else
                ck_assert_uint_eq(lookup(l, before, bytes), SD_LPM_NONE);
        }
        static const uint8_t zero[16], ones[16] = { 255, 255, 255, 255, 255, 255, 255, 255,
                                                     255, 255, 255, 255, 255, 255, 255, 255 };
        if (memcmp(r->first, zero, bytes) != 0)
            ck_assert_uint_ne(lookup(l, before, bytes), r->value);
        if (memcmp(r->last, ones, bytes) != 0)
            ck_assert_uint_ne(lookup(l, after, bytes), r->value);
    }
    free(rl.r);
}

struct combiner {
    size_t n;
    uint32_t (*rec)[4]; /* vector seen by each call, one record per call */
    size_t nrec, cap;
    int mode;   /* 0: record index; 1: SD_LPM_NONE unless table 0 has a value */
    long fail;  /* call number that returns SD_ERR_FORMAT, or -1 */
};

static int64_t combine_rec(void *user, const uint32_t *v)
{
    struct combiner *c = user;
    if ((long)c->nrec == c->fail)
        return SD_ERR_FORMAT;
    if (c->nrec == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 1024;
        c->rec = realloc(c->rec, c->cap * sizeof *c->rec);
        ck_assert_ptr_nonnull(c->rec);
    }
    int none = 1;
    for (size_t i = 0; i < c->n; i++) {
        c->rec[c->nrec][i] = v[i];
        none &= v[i] == SD_LPM_NONE;
    }
    ck_assert(!none); /* never called for all-NONE ranges */
    if (c->mode == 1 && v[0] == SD_LPM_NONE) {
        c->nrec++;
        return SD_LPM_NONE;
    }
    return (int64_t)c->nrec++;
}

/* The overlay at address a equals the per-table lookups. */
static void check_addr(const sd_lpm *o, const sd_lpm *const *t, size_t n, const struct combiner *c,
                       const uint8_t *a, unsigned bytes)
{
    uint32_t v[4];
    int none = 1;
    for (size_t i = 0; i < n; i++) {
        v[i] = t[i] ? lookup(t[i], a, bytes) : SD_LPM_NONE;
        none &= v[i] == SD_LPM_NONE;
    }
    uint32_t got = lookup(o, a, bytes);
    if (none || (c->mode == 1 && v[0] == SD_LPM_NONE)) {
        ck_assert_uint_eq(got, SD_LPM_NONE);
        return;
    }
    ck_assert_uint_lt(got, c->nrec);
    ck_assert_mem_eq(c->rec[got], v, n * sizeof *v);
}

static void check_overlay_family(const sd_lpm *o, const sd_lpm *const *t, size_t n,
                                 const struct combiner *c, unsigned bytes)
{
    /* Every boundary of every input range and of every output range. */
    for (size_t k = 0; k <= n; k++) {
        const sd_lpm *l = k < n ? t[k] : o;
        if (l == NULL)
            continue;
        struct rangelist rl = ranges_of(l, bytes == 4 ? 4 : 6);
        for (size_t i = 0; i < rl.n; i++) {
            uint8_t a[16];
            check_addr(o, t, n, c, rl.r[i].first, bytes);
            check_addr(o, t, n, c, rl.r[i].last, bytes);
            memcpy(a, rl.r[i].first, bytes);
            addr_dec(a, bytes);
            check_addr(o, t, n, c, a, bytes);
            memcpy(a, rl.r[i].last, bytes);
            addr_inc(a, bytes);
            check_addr(o, t, n, c, a, bytes);
        }
        free(rl.r);
    }
    for (int k = 0; k < 20000; k++) {
        uint8_t a[16];
        for (unsigned b = 0; b < bytes; b++)
            a[b] = (uint8_t)(rnd() >> 17);
        if (k & 1)
            a[0] = (uint8_t)(10 + (k >> 1) % 4);
        check_addr(o, t, n, c, a, bytes);
    }
    check_ranges(o, bytes);
    if (c->mode == 0) {
        /* One call per maximal range: each call gave a distinct value, so
         * the output ranges are exactly the calls, and at each boundary
         * between two adjacent output ranges the input vector changes. */
        struct rangelist rl = ranges_of(o, bytes == 4 ? 4 : 6);
        ck_assert_uint_eq(rl.n, sd_lpm_count(o, bytes == 4 ? 4 : 6));
        for (size_t i = 1; i < rl.n; i++)
            ck_assert_uint_gt(rl.r[i].value, rl.r[i - 1].value);
        free(rl.r);
    }
}

static void overlay_check(size_t n, int null_at, int mode)
{
    sd_lpm *t[3] = { NULL, NULL, NULL };
    for (size_t i = 0; i < n; i++)
        if ((int)i != null_at)
            t[i] = random_table(800 + 300 * i, i == 1);
    struct combiner c = { n, NULL, 0, 0, mode, -1 };
    sd_lpm *o;
    ck_assert_int_eq(sd__lpm_overlay(&o, (const sd_lpm *const *)t, n, combine_rec, &c), 0);
    ck_assert_uint_gt(c.nrec, 0);
    if (mode == 0)
        ck_assert_uint_eq(sd_lpm_count(o, 4) + sd_lpm_count(o, 6), c.nrec);
    ck_assert_int_eq(sd_lpm_insert4(o, 0, 0, 1), SD_ERR_STATE); /* frozen */
    check_overlay_family(o, (const sd_lpm *const *)t, n, &c, 4);
    check_overlay_family(o, (const sd_lpm *const *)t, n, &c, 16);
    for (size_t i = 0; i < n; i++) /* the inputs' ranges are right too */
        if (t[i] != NULL) {
            check_ranges(t[i], 4);
            check_ranges(t[i], 16);
        }
    sd_lpm_destroy(o);
    for (size_t i = 0; i < n; i++)
        sd_lpm_destroy(t[i]);
    free(c.rec);
}

START_TEST(test_overlay_one) { overlay_check(1, -1, 0); }
END_TEST
START_TEST(test_overlay_two) { overlay_check(2, -1, 0); }
END_TEST
START_TEST(test_overlay_three_null) { overlay_check(3, 1, 0); }
END_TEST
START_TEST(test_overlay_three) { overlay_check(3, -1, 0); }
END_TEST
START_TEST(test_overlay_none_result) { overlay_check(3, 2, 1); }
END_TEST

START_TEST(test_overlay_exact)
{
    /* Hand-made: 10/8 -> 1 with 10.1.2.128/25 -> 2; and 10.1.0.0/16 -> 7,
     * 0/0 -> 9 (IPv4) and 2001:db8::/32 -> 5 (IPv6). */
    sd_lpm *a, *b;
    ck_assert_int_eq(sd_lpm_create(&a), 0);
    ck_assert_int_eq(sd_lpm_create(&b), 0);
    ck_assert_int_eq(sd_lpm_insert4(a, 0x0A000000, 8, 1), 0);
    ck_assert_int_eq(sd_lpm_insert4(a, 0x0A010280, 25, 2), 0);
    ck_assert_int_eq(sd_lpm_insert4(b, 0x0A010000, 16, 7), 0);
    ck_assert_int_eq(sd_lpm_insert4(b, 0, 0, 9), 0);
    uint8_t p6[16] = { 0x20, 0x01, 0x0d, 0xb8 };
    ck_assert_int_eq(sd_lpm_insert6(b, p6, 32, 5), 0);
    const sd_lpm *t[2] = { a, b };
    struct combiner c = { 2, NULL, 0, 0, 0, -1 };
    sd_lpm *o;
    ck_assert_int_eq(sd__lpm_overlay(&o, t, 2, combine_rec, &c), SD_ERR_STATE); /* not frozen */
    ck_assert_ptr_null(o);
    ck_assert_int_eq(sd_lpm_freeze(a), 0);
    ck_assert_int_eq(sd_lpm_freeze(b), 0);
    ck_assert_int_eq(sd__lpm_overlay(&o, t, 2, combine_rec, &c), 0);
    /* 0/5..9.255.255.255: (-,9); 10.0/16: (1,9); 10.1.0.0-10.1.2.127: (1,7);
     * 10.1.2.128/25: (2,7); 10.1.3.0-10.1.255.255: (1,7); 10.2-10.255: (1,9);
     * 11.0.0.0-: (-,9); then 2001:db8::/32: (-,5). */
    static const uint32_t want[][4] = {
        { 0x00000000, 0x09FFFFFF, SD_LPM_NONE, 9 }, { 0x0A000000, 0x0A00FFFF, 1, 9 },
        { 0x0A010000, 0x0A01027F, 1, 7 },           { 0x0A010280, 0x0A0102FF, 2, 7 },
        { 0x0A010300, 0x0A01FFFF, 1, 7 },           { 0x0A020000, 0x0AFFFFFF, 1, 9 },
        { 0x0B000000, 0xFFFFFFFF, SD_LPM_NONE, 9 },
    };
    ck_assert_uint_eq(c.nrec, 8);
    ck_assert_uint_eq(sd_lpm_count(o, 4), 7);
    ck_assert_uint_eq(sd_lpm_count(o, 6), 1);
    struct rangelist rl = { NULL, 0, 0 };
    ck_assert_int_eq(sd__lpm_ranges(o, collect, &rl), 0);
    ck_assert_uint_eq(rl.n, 8);
    for (size_t i = 0; i < 7; i++) {
        ck_assert_int_eq(rl.r[i].family, 4);
        ck_assert_uint_eq(sd__be32(rl.r[i].first), want[i][0]);
        ck_assert_uint_eq(sd__be32(rl.r[i].last), want[i][1]);
        ck_assert_uint_eq(rl.r[i].value, i);
        ck_assert_uint_eq(c.rec[i][0], want[i][2]);
        ck_assert_uint_eq(c.rec[i][1], want[i][3]);
    }
    ck_assert_int_eq(rl.r[7].family, 6);
    ck_assert_mem_eq(rl.r[7].first, p6, 16);
    uint8_t last6[16] = { 0x20, 0x01, 0x0d, 0xb8, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255 };
    ck_assert_mem_eq(rl.r[7].last, last6, 16);
    ck_assert_uint_eq(c.rec[7][0], SD_LPM_NONE);
    ck_assert_uint_eq(c.rec[7][1], 5);
    ck_assert_uint_eq(sd_lpm_lookup4(o, 0x0A0102FF), 3);
    ck_assert_uint_eq(sd_lpm_lookup6(o, last6), 7);
    last6[3]++;
    ck_assert_uint_eq(sd_lpm_lookup6(o, last6), SD_LPM_NONE);
    free(rl.r);
    sd_lpm_destroy(o);

    /* combine failing on its 5th call, or returning a bad value */
    c.nrec = 0;
    c.fail = 4;
    o = (sd_lpm *)1;
    ck_assert_int_eq(sd__lpm_overlay(&o, t, 2, combine_rec, &c), SD_ERR_FORMAT);
    ck_assert_ptr_null(o);
    ck_assert_uint_eq(c.nrec, 4);
    c.nrec = 0;
    c.fail = 7; /* the IPv6 range */
    ck_assert_int_eq(sd__lpm_overlay(&o, t, 2, combine_rec, &c), SD_ERR_FORMAT);
    ck_assert_ptr_null(o);
    sd_lpm_destroy(a);
    sd_lpm_destroy(b);
    free(c.rec);
}
END_TEST

static int64_t combine_big(void *user, const uint32_t *v)
{
    (void)v;
    int *calls = user;
    return ++*calls == 3 ? (int64_t)SD_LPM_VALUE_MAX + 1 : 0;
}

static int64_t combine_first(void *user, const uint32_t *v)
{
    (void)user;
    return v[0] == SD_LPM_NONE ? SD_LPM_NONE : v[0];
}

static int stop_at_second(void *user, const struct sd__lpm_range *r)
{
    (void)r;
    return ++*(int *)user == 2 ? 77 : 0;
}

START_TEST(test_overlay_args)
{
    sd_lpm *a = random_table(200, 0), *o;
    const sd_lpm *t[2] = { a, NULL };
    int calls = 0;
    ck_assert_int_eq(sd__lpm_overlay(&o, t, 2, combine_big, &calls), SD_ERR_INVAL);
    ck_assert_ptr_null(o);
    ck_assert_int_eq(calls, 3);
    ck_assert_int_eq(sd__lpm_overlay(NULL, t, 2, combine_big, &calls), SD_ERR_INVAL);
    ck_assert_int_eq(sd__lpm_overlay(&o, NULL, 2, combine_big, &calls), SD_ERR_INVAL);
    ck_assert_int_eq(sd__lpm_overlay(&o, t, 2, NULL, NULL), SD_ERR_INVAL);
    /* no tables, or only NULL ones: an empty frozen table */
    ck_assert_int_eq(sd__lpm_overlay(&o, NULL, 0, combine_big, &calls), 0);
    ck_assert_uint_eq(sd_lpm_lookup4(o, 0x0A000000), SD_LPM_NONE);
    ck_assert_uint_eq(sd_lpm_count(o, 4), 0);
    ck_assert_uint_lt(sd_lpm_memory(o), 4096);
    sd_lpm_destroy(o);
    ck_assert_int_eq(sd__lpm_overlay(&o, t + 1, 1, combine_big, &calls), 0);
    ck_assert_uint_lt(sd_lpm_memory(o), 4096);
    sd_lpm_destroy(o);
    /* identity overlay: same answers, same ranges */
    ck_assert_int_eq(sd__lpm_overlay(&o, t, 1, combine_first, NULL), 0);
    struct rangelist ra = ranges_of(a, 4), ro = ranges_of(o, 4);
    ck_assert_uint_eq(ra.n, ro.n);
    ck_assert_mem_eq(ra.r, ro.r, ra.n * sizeof *ra.r);
    free(ra.r);
    free(ro.r);
    ra = ranges_of(a, 6);
    ro = ranges_of(o, 6);
    ck_assert_uint_eq(ra.n, ro.n);
    ck_assert_mem_eq(ra.r, ro.r, ra.n * sizeof *ra.r);
    free(ra.r);
    free(ro.r);
    sd_lpm_destroy(o);
    /* sd__lpm_ranges: argument checks, early stop */
    calls = 0;
    ck_assert_int_eq(sd__lpm_ranges(a, stop_at_second, &calls), 77);
    ck_assert_int_eq(sd__lpm_ranges(NULL, stop_at_second, &calls), SD_ERR_INVAL);
    ck_assert_int_eq(sd__lpm_ranges(a, NULL, NULL), SD_ERR_INVAL);
    sd_lpm *u;
    ck_assert_int_eq(sd_lpm_create(&u), 0);
    ck_assert_int_eq(sd__lpm_ranges(u, stop_at_second, &calls), SD_ERR_STATE);
    sd_lpm_destroy(u);
    sd_lpm_destroy(a);
}
END_TEST

START_TEST(test_overlay_nomem)
{
    sd_lpm *a = random_table(300, 1), *b = random_table(300, 0);
    const sd_lpm *t[2] = { a, b };
    int ok = 0;
    for (long k = 0; k < 200 && !ok; k++) {
        struct combiner c = { 2, NULL, 0, 0, 0, -1 };
        sd_lpm *o = (sd_lpm *)1;
        sd__alloc_fail_after = k;
        int rc = sd__lpm_overlay(&o, t, 2, combine_rec, &c);
        sd__alloc_fail_after = -1;
        if (rc == 0) {
            ok = 1;
            check_overlay_family(o, t, 2, &c, 4);
            check_overlay_family(o, t, 2, &c, 16);
            sd_lpm_destroy(o);
        } else {
            ck_assert_int_eq(rc, SD_ERR_NOMEM);
            ck_assert_ptr_null(o);
        }
        free(c.rec);
    }
    ck_assert(ok);
    sd_lpm_destroy(a);
    sd_lpm_destroy(b);
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

    /* Only the 8-byte gzip trailer missing: every line decompresses and
     * parses, and just zlib knows the stream was cut. */
    static char whole[1 << 17];
    f = fopen(sd_test_data("pfx2as/mlab-RouteViewIPv4.tiny.pfx2as.gz"), "rb");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(whole, 1, sizeof whole, f);
    fclose(f);
    ck_assert_uint_gt(n, 8);
    ck_assert_uint_lt(n, sizeof whole);
    f = fopen(p, "wb");
    fwrite(whole, 1, n - 8, f);
    fclose(f);
    ck_assert_int_eq(sd_pfx2as_open(&t, p, err), SD_ERR_TRUNCATED);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(err, "truncated gzip data") != NULL && strncmp(err, p, strlen(p)) == 0, "%s", err);
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

/* ------------------------------------------------------------ IPv4 edges */

static void add4(sd_lpm *l, struct ref *r, size_t *n, uint32_t addr, unsigned len, uint32_t value)
{
    ck_assert_int_eq(sd_lpm_insert4(l, addr, len, value), 0);
    uint32_t m = len ? ~0u << (32 - len) : 0;
    memset(&r[*n], 0, sizeof r[*n]);
    sd__put_be32(r[*n].addr, addr & m);
    r[*n].len = len;
    r[*n].value = value;
    ++*n;
}

static void check4(const sd_lpm *l, const struct ref *r, size_t n, uint32_t a)
{
    uint8_t b[4];
    sd__put_be32(b, a);
    ck_assert_uint_eq(sd_lpm_lookup4(l, a), ref_lookup(r, n, b, 4));
}

/* The corners of the IPv4 table: /0 (or none), /32 at both ends of the
 * space, values 0 and SD_LPM_VALUE_MAX, a /16 with a distinct value in
 * every /24 and /24s split into single addresses at the first and last
 * slot of a /18 node, a /18 whose 64 /24s alternate, and a split /24 at
 * the end of the space. Compared with the linear scan at every address of
 * the /16, at every prefix boundary and at random; bulk, ranges and an
 * overlay with a second table agree too; with and without POPCNT. */
START_TEST(test_lpm_edges4)
{
    for (int variant = 0; variant < 4; variant++) {
        int with_default = variant & 1;
        /* Both ways of counting bits: the POPCNT instruction (where the CPU
         * has it) and the portable one. */
        sd__lpm_no_popcnt = variant >> 1;
        enum { MAXN = 2048 };
        struct ref *r = calloc(MAXN, sizeof *r);
        ck_assert_ptr_nonnull(r);
        size_t n = 0;
        sd_lpm *l;
        ck_assert_int_eq(sd_lpm_create(&l), 0);
        if (with_default)
            add4(l, r, &n, 0x01020304, 0, 7);
        add4(l, r, &n, 0, 32, SD_LPM_VALUE_MAX);
        add4(l, r, &n, UINT32_MAX, 32, SD_LPM_VALUE_MAX - 1);
        add4(l, r, &n, 0xFFFFFF00, 24, 0);
        add4(l, r, &n, 0xFFFFFF80, 25, 1);
        for (uint32_t i = 0; i < 256; i++) /* 10.1.i.0/24 */
            add4(l, r, &n, 0x0A010000 | i << 8, 24, SD_LPM_VALUE_MAX - 2 - i);
        /* Single addresses at the edges of the quarters of /24s at the edges
         * of the /18 nodes, all 256 addresses of 10.1.200.0/24. */
        static const uint32_t split[] = { 0, 63, 64, 127, 191, 192, 255 };
        for (size_t k = 0; k < sizeof split / sizeof *split; k++)
            for (size_t q = 0; q < sizeof split / sizeof *split; q++)
                add4(l, r, &n, 0x0A010000 | split[k] << 8 | split[q], 32, (uint32_t)(1000 + 10 * k + q));
        for (uint32_t i = 0; i < 256; i++)
            add4(l, r, &n, 0x0A01C800 | i, 32, 2000 + i % 3);
        for (uint32_t i = 0; i < 64; i += 2) /* 10.2.0.0/18: alternating */
            add4(l, r, &n, 0x0A020000 | i << 8, 24, 3000);
        add4(l, r, &n, 0x0A020000, 18, 3001);
        ck_assert_uint_le(n, MAXN);
        ck_assert_int_eq(sd_lpm_freeze(l), 0);
        for (uint32_t a = 0x0A010000; a <= 0x0A01FFFF; a++)
            check4(l, r, n, a);
        for (uint32_t a = 0x0A01FF00; a != 0x0A030000; a += 16)
            check4(l, r, n, a);
        for (size_t i = 0; i < n; i++) {
            uint8_t b[4][16];
            boundaries(&r[i], 4, b);
            for (int k = 0; k < 4; k++)
                check4(l, r, n, sd__be32(b[k]));
        }
        for (int k = 0; k < 20000; k++)
            check4(l, r, n, (uint32_t)rnd());
        ck_assert_uint_eq(sd_lpm_lookup4(l, 0), SD_LPM_VALUE_MAX);
        ck_assert_uint_eq(sd_lpm_lookup4(l, UINT32_MAX), SD_LPM_VALUE_MAX - 1);
        ck_assert_uint_eq(sd_lpm_lookup4(l, 0xFFFFFF7F), 0);
        ck_assert_uint_eq(sd_lpm_lookup4(l, 0x0A01C801), 2001);
        /* Bulk over the whole /16, in one batch and in odd ones. */
        static uint32_t a4[65536], out[65536];
        for (uint32_t i = 0; i < 65536; i++)
            a4[i] = 0x0A010000 | ((i * 40503u) & 0xffff);
        sd_lpm_lookup4_bulk(l, a4, out, 65536);
        for (uint32_t i = 0; i < 65536; i++)
            ck_assert_uint_eq(out[i], sd_lpm_lookup4(l, a4[i]));
        for (size_t i = 0; i + 37 <= 65536; i += 37) {
            sd_lpm_lookup4_bulk(l, a4 + i, out, 37);
            for (size_t k = 0; k < 37; k++)
                ck_assert_uint_eq(out[k], sd_lpm_lookup4(l, a4[i + k]));
        }
        check_ranges(l, 4);
        /* Overlaid with a table of other splits, the overlay stays exact. */
        sd_lpm *t[2] = { l, random_table(500, 0) };
        struct combiner c = { 2, NULL, 0, 0, 0, -1 };
        sd_lpm *o;
        ck_assert_int_eq(sd__lpm_overlay(&o, (const sd_lpm *const *)t, 2, combine_rec, &c), 0);
        check_overlay_family(o, (const sd_lpm *const *)t, 2, &c, 4);
        for (uint32_t a = 0x0A010000; a <= 0x0A01FFFF; a += 3) {
            uint8_t b[4];
            sd__put_be32(b, a);
            check_addr(o, (const sd_lpm *const *)t, 2, &c, b, 4);
        }
        sd_lpm_destroy(o);
        sd_lpm_destroy(t[1]);
        free(c.rec);
        sd_lpm_destroy(l);
        free(r);
    }
    sd__lpm_no_popcnt = 0;
}
END_TEST

START_TEST(test_lpm_random4_generic)
{
    sd__lpm_no_popcnt = 1;
    random_check(4, 3000, 0);
    sd__lpm_no_popcnt = 0;
}
END_TEST

static Suite *lpm_suite(void)
{
    Suite *s = suite_create("lpm");
    TCase *tc = tcase_create("lpm");
    tcase_add_test(tc, test_lpm_basic);
    tcase_add_test(tc, test_lpm_random4);
    tcase_add_test(tc, test_lpm_random4_long);
    tcase_add_test(tc, test_lpm_random4_generic);
    tcase_add_test(tc, test_lpm_random6);
    tcase_add_test(tc, test_lpm_nomem);
    suite_add_tcase(s, tc);
    tc = tcase_create("overlay");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_lpm_bulk);
    tcase_add_test(tc, test_overlay_exact);
    tcase_add_test(tc, test_overlay_args);
    tcase_add_test(tc, test_overlay_one);
    tcase_add_test(tc, test_overlay_two);
    tcase_add_test(tc, test_overlay_three);
    tcase_add_test(tc, test_overlay_three_null);
    tcase_add_test(tc, test_overlay_none_result);
    tcase_add_test(tc, test_overlay_nomem);
    tcase_add_test(tc, test_lpm_edges4);
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
