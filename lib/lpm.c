/* stardust: longest-prefix match (see include/stardust/lpm.h).
 *
 * IPv4: DIR-24-8. tbl24[addr >> 8] holds 0 (no match), value + 1, or
 * SD__LPM_GROUP | g, where group g is 256 entries of tbl8 indexed by the
 * low byte. Storing value + 1 makes "no match" the zero of calloc and lets
 * the lookup return entry - 1 without a branch (0 - 1 == SD_LPM_NONE).
 * Prefixes are applied shortest first, in insertion order within a length,
 * so longer prefixes overwrite shorter ones and later duplicates win.
 *
 * tbl24 lies in transparent huge pages (tbl24_alloc), and the bulk lookup
 * prefetches ahead: random lookups are bound by cache misses on the 64 MiB
 * table, and these two cut the TLB misses and overlap the cache misses.
 *
 * IPv6: the nested prefixes are flattened into sorted, disjoint ranges
 * (start point + value); a lookup is a binary search for the last start
 * <= address.
 *
 * Overlay and range listing (lib/lpm_int.h) walk frozen tables: IPv4 visits
 * only the /24s where some table's tbl24 entry changes (256 addresses where
 * it is a group), IPv6 merges the range lists.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <stardust/lpm.h>

#include "internal.h"
#include "lpm_int.h"

#define SD__LPM_GROUP 0x80000000u
#define SD__TBL24_BYTES ((size_t)4 << 24)
#define SD__HUGE_PAGE ((size_t)2 << 20)

struct sd__pfx4 {
    uint32_t addr;
    uint32_t value;
    uint8_t len;
};

struct sd__k128 {
    uint64_t hi, lo;
};

struct sd__pfx6 {
    struct sd__k128 start;
    uint32_t value;
    uint32_t seq;
    uint8_t len;
};

struct sd_lpm {
    struct sd__handle h;
    int frozen;
    /* build state */
    struct sd__pfx4 *b4;
    size_t n4, cap4;
    struct sd__pfx6 *b6;
    size_t n6, cap6;
    size_t count4, count6;
    /* frozen state */
    uint32_t *tbl24;     /* 2^24 entries, NULL without IPv4 prefixes */
    void *tbl24_mem;     /* the allocation tbl24 lies in (see tbl24_alloc) */
    uint32_t *tbl8;      /* ngroups * 256 entries */
    size_t ngroups;
    struct sd__k128 *r6; /* range starts, sorted, r6[0] == ::  */
    uint32_t *v6;        /* value of each range, SD_LPM_NONE for gaps */
    size_t nr6;
};

int sd_lpm_create(sd_lpm **lpmp)
{
    if (lpmp == NULL)
        return SD_ERR_INVAL;
    *lpmp = NULL;
    sd_lpm *l = sd__calloc(1, sizeof *l);
    if (l == NULL)
        return SD_ERR_NOMEM;
    sd__handle_init(&l->h);
    *lpmp = l;
    return 0;
}

int sd_lpm_insert4(sd_lpm *l, uint32_t addr, unsigned len, uint32_t value)
{
    if (l == NULL)
        return SD_ERR_INVAL;
    if (l->frozen)
        return sd__seterr(&l->h, SD_ERR_STATE, "lpm: insert after sd_lpm_freeze()");
    if (len > 32)
        return sd__seterr(&l->h, SD_ERR_INVAL, "lpm: IPv4 prefix length %u > 32", len);
    if (value > SD_LPM_VALUE_MAX)
        return sd__seterr(&l->h, SD_ERR_INVAL, "lpm: value %u > SD_LPM_VALUE_MAX", (unsigned)value);
    if (sd__grow((void **)&l->b4, &l->cap4, l->n4 + 1, sizeof *l->b4) != 0)
        return sd__seterr(&l->h, SD_ERR_NOMEM, "lpm: out of memory");
    uint32_t mask = len ? ~0u << (32 - len) : 0;
    l->b4[l->n4++] = (struct sd__pfx4){ addr & mask, value, (uint8_t)len };
    l->count4++;
    return 0;
}

static struct sd__k128 k128_load(const uint8_t a[16])
{
    struct sd__k128 k = { 0, 0 };
    for (int i = 0; i < 8; i++) {
        k.hi = k.hi << 8 | a[i];
        k.lo = k.lo << 8 | a[8 + i];
    }
    return k;
}

/* Host-bit mask of a /len prefix. */
static struct sd__k128 k128_hostmask(unsigned len)
{
    struct sd__k128 m;
    m.hi = len >= 64 ? 0 : (len == 0 ? ~0ull : ~0ull >> len);
    m.lo = len >= 128 ? 0 : (len <= 64 ? ~0ull : ~0ull >> (len - 64));
    return m;
}

static int k128_cmp(struct sd__k128 a, struct sd__k128 b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

int sd_lpm_insert6(sd_lpm *l, const uint8_t addr[16], unsigned len, uint32_t value)
{
    if (l == NULL || addr == NULL)
        return SD_ERR_INVAL;
    if (l->frozen)
        return sd__seterr(&l->h, SD_ERR_STATE, "lpm: insert after sd_lpm_freeze()");
    if (len > 128)
        return sd__seterr(&l->h, SD_ERR_INVAL, "lpm: IPv6 prefix length %u > 128", len);
    if (value > SD_LPM_VALUE_MAX)
        return sd__seterr(&l->h, SD_ERR_INVAL, "lpm: value %u > SD_LPM_VALUE_MAX", (unsigned)value);
    if (l->n6 >= UINT32_MAX)
        return sd__seterr(&l->h, SD_ERR_NOMEM, "lpm: too many IPv6 prefixes");
    if (sd__grow((void **)&l->b6, &l->cap6, l->n6 + 1, sizeof *l->b6) != 0)
        return sd__seterr(&l->h, SD_ERR_NOMEM, "lpm: out of memory");
    struct sd__k128 k = k128_load(addr), m = k128_hostmask(len);
    k.hi &= ~m.hi;
    k.lo &= ~m.lo;
    l->b6[l->n6] = (struct sd__pfx6){ k, value, (uint32_t)l->n6, (uint8_t)len };
    l->n6++;
    l->count6++;
    return 0;
}

/* ------------------------------------------------------------ IPv4 build */

/* The zeroed 64 MiB tbl24, on a 2 MiB boundary and advised for transparent
 * huge pages: random lookups then miss the cache but rarely the TLB (32 huge
 * pages instead of 16384 small ones); this is most of the lookup time.
 * Without THP (or with it off) the advice is ignored. calloc() of this size
 * gets fresh zero pages from the system without writing them, so pages no
 * prefix touches cost no memory. *mem receives the pointer to free. */
static uint32_t *tbl24_alloc(void **mem)
{
    unsigned char *p = sd__calloc(1, SD__TBL24_BYTES + SD__HUGE_PAGE);
    *mem = p;
    if (p == NULL)
        return NULL;
    uintptr_t a = ((uintptr_t)p + SD__HUGE_PAGE - 1) & ~(uintptr_t)(SD__HUGE_PAGE - 1);
#ifdef MADV_HUGEPAGE
    (void)madvise((void *)a, SD__TBL24_BYTES, MADV_HUGEPAGE);
#endif
    return (uint32_t *)a;
}

static int freeze4(sd_lpm *l)
{
    if (l->n4 == 0)
        return 0;
    /* Counting sort by length: stable, so insertion order survives within a
     * length and later duplicates overwrite earlier ones. */
    size_t start[34] = { 0 };
    for (size_t i = 0; i < l->n4; i++)
        start[l->b4[i].len + 1]++;
    for (int i = 1; i < 34; i++)
        start[i] += start[i - 1];
    size_t *order = sd__malloc(l->n4 * sizeof *order);
    void *t24mem = NULL;
    uint32_t *t24 = order != NULL ? tbl24_alloc(&t24mem) : NULL;
    size_t ngroups = 0, capgroups = 0;
    uint32_t *t8 = NULL;
    if (order == NULL || t24 == NULL)
        goto nomem;
    for (size_t i = 0; i < l->n4; i++)
        order[start[l->b4[i].len]++] = i;
    for (size_t j = 0; j < l->n4; j++) {
        const struct sd__pfx4 *p = &l->b4[order[j]];
        uint32_t e = p->value + 1;
        if (p->len <= 24) {
            size_t base = p->addr >> 8, n = (size_t)1 << (24 - p->len);
            for (size_t i = 0; i < n; i++)
                t24[base + i] = e;
            continue;
        }
        size_t idx = p->addr >> 8;
        uint32_t cur = t24[idx];
        size_t g;
        if (cur & SD__LPM_GROUP) {
            g = cur & ~SD__LPM_GROUP;
        } else {
            if (ngroups >= SD__LPM_GROUP)
                goto nomem;
            if (sd__grow((void **)&t8, &capgroups, (ngroups + 1) * 256, sizeof *t8) != 0)
                goto nomem;
            g = ngroups++;
            for (size_t i = 0; i < 256; i++)
                t8[g * 256 + i] = cur;
            t24[idx] = SD__LPM_GROUP | (uint32_t)g;
        }
        size_t base = g * 256 + (p->addr & 0xff), n = (size_t)1 << (32 - p->len);
        for (size_t i = 0; i < n; i++)
            t8[base + i] = e;
    }
    sd__free(order);
    if (ngroups > 0 && ngroups * 256 < capgroups) {
        uint32_t *s = sd__realloc(t8, ngroups * 256 * sizeof *t8);
        if (s != NULL)
            t8 = s;
    }
    l->tbl24 = t24;
    l->tbl24_mem = t24mem;
    l->tbl8 = t8;
    l->ngroups = ngroups;
    return 0;
nomem:
    sd__free(order);
    sd__free(t24mem);
    sd__free(t8);
    return SD_ERR_NOMEM;
}

/* ------------------------------------------------------------ IPv6 build */

static int cmp_pfx6(const void *a, const void *b)
{
    const struct sd__pfx6 *x = a, *y = b;
    int c = k128_cmp(x->start, y->start);
    if (c != 0)
        return c;
    if (x->len != y->len)
        return x->len < y->len ? -1 : 1; /* containing prefix first */
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

struct ranges {
    struct sd__k128 *start;
    uint32_t *val;
    size_t n, cap;
};

/* Add the boundary "from pos on, value v". Positions arrive non-decreasing;
 * a boundary at the same position replaces the previous one. */
static int emit(struct ranges *r, struct sd__k128 pos, uint32_t v)
{
    if (r->n > 0 && k128_cmp(r->start[r->n - 1], pos) == 0) {
        r->val[r->n - 1] = v;
        if (r->n > 1 && r->val[r->n - 2] == v)
            r->n--;
        return 0;
    }
    if (r->n > 0 && r->val[r->n - 1] == v)
        return 0;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        struct sd__k128 *s = sd__realloc(r->start, cap * sizeof *s);
        if (s == NULL)
            return SD_ERR_NOMEM;
        r->start = s;
        uint32_t *v2 = sd__realloc(r->val, cap * sizeof *v2);
        if (v2 == NULL)
            return SD_ERR_NOMEM;
        r->val = v2;
        r->cap = cap;
    }
    r->start[r->n] = pos;
    r->val[r->n] = v;
    r->n++;
    return 0;
}

static struct sd__k128 pfx6_end(const struct sd__pfx6 *p)
{
    struct sd__k128 m = k128_hostmask(p->len);
    return (struct sd__k128){ p->start.hi | m.hi, p->start.lo | m.lo };
}

/* Pop the innermost open prefix and start the range after it, unless it
 * ends at the last address. */
static int pop(struct ranges *r, const struct sd__pfx6 **stack, size_t *depth)
{
    struct sd__k128 end = pfx6_end(stack[--*depth]);
    if (end.hi == ~0ull && end.lo == ~0ull)
        return 0;
    struct sd__k128 next = { end.hi + (end.lo == ~0ull), end.lo + 1 };
    return emit(r, next, *depth ? stack[*depth - 1]->value : SD_LPM_NONE);
}

static int freeze6(sd_lpm *l)
{
    if (l->n6 == 0)
        return 0;
    qsort(l->b6, l->n6, sizeof *l->b6, cmp_pfx6);
    struct ranges r = { NULL, NULL, 0, 0 };
    const struct sd__pfx6 *stack[129];
    size_t depth = 0;
    int rc = emit(&r, (struct sd__k128){ 0, 0 }, SD_LPM_NONE);
    for (size_t i = 0; i < l->n6 && rc == 0; i++) {
        const struct sd__pfx6 *p = &l->b6[i];
        /* Same prefix again: only the last insertion counts. */
        if (i + 1 < l->n6 && p->len == l->b6[i + 1].len && k128_cmp(p->start, l->b6[i + 1].start) == 0)
            continue;
        while (rc == 0 && depth > 0 && k128_cmp(pfx6_end(stack[depth - 1]), p->start) < 0)
            rc = pop(&r, stack, &depth);
        if (rc == 0) {
            stack[depth++] = p; /* nesting depth <= 129 lengths */
            rc = emit(&r, p->start, p->value);
        }
    }
    while (rc == 0 && depth > 0)
        rc = pop(&r, stack, &depth);
    if (rc != 0) {
        sd__free(r.start);
        sd__free(r.val);
        return rc;
    }
    l->r6 = r.start;
    l->v6 = r.val;
    l->nr6 = r.n;
    return 0;
}

int sd_lpm_freeze(sd_lpm *l)
{
    if (l == NULL)
        return SD_ERR_INVAL;
    if (l->frozen)
        return sd__seterr(&l->h, SD_ERR_STATE, "lpm: already frozen");
    int rc = freeze4(l);
    if (rc == 0) {
        rc = freeze6(l);
        if (rc != 0) {
            sd__free(l->tbl24_mem);
            sd__free(l->tbl8);
            l->tbl24 = l->tbl8 = NULL;
            l->tbl24_mem = NULL;
            l->ngroups = 0;
        }
    }
    if (rc != 0)
        return sd__seterr(&l->h, rc, "lpm: out of memory building the lookup tables");
    sd__free(l->b4);
    sd__free(l->b6);
    l->b4 = NULL;
    l->b6 = NULL;
    l->n4 = l->n6 = l->cap4 = l->cap6 = 0;
    l->frozen = 1;
    return 0;
}

uint32_t sd_lpm_lookup4(const sd_lpm *l, uint32_t addr)
{
    if (SD__UNLIKELY(l->tbl24 == NULL))
        return SD_LPM_NONE;
    uint32_t e = l->tbl24[addr >> 8];
    if (e & SD__LPM_GROUP)
        e = l->tbl8[(size_t)(e & ~SD__LPM_GROUP) * 256 + (addr & 0xff)];
    return e - 1;
}

/* How many addresses ahead the bulk lookup prefetches its tbl24 entry:
 * enough misses in flight to cover the memory latency (tests/bench/bench_lpm). */
#ifndef SD__LPM_PREFETCH_AHEAD
#define SD__LPM_PREFETCH_AHEAD 16
#endif

void sd_lpm_lookup4_bulk(const sd_lpm *l, const uint32_t *addrs, uint32_t *out, size_t n)
{
    const uint32_t *t24 = l->tbl24, *t8 = l->tbl8;
    if (SD__UNLIKELY(t24 == NULL)) {
        for (size_t i = 0; i < n; i++)
            out[i] = SD_LPM_NONE;
        return;
    }
    size_t i = 0;
#if defined(__GNUC__) && SD__LPM_PREFETCH_AHEAD > 0
    for (size_t k = 0; k < n && k < SD__LPM_PREFETCH_AHEAD; k++)
        __builtin_prefetch(&t24[addrs[k] >> 8]);
    for (; i + SD__LPM_PREFETCH_AHEAD < n; i++) {
        __builtin_prefetch(&t24[addrs[i + SD__LPM_PREFETCH_AHEAD] >> 8]);
        uint32_t a = addrs[i], e = t24[a >> 8];
        if (e & SD__LPM_GROUP)
            e = t8[(size_t)(e & ~SD__LPM_GROUP) * 256 + (a & 0xff)];
        out[i] = e - 1;
    }
#endif
    for (; i < n; i++) {
        uint32_t a = addrs[i], e = t24[a >> 8];
        if (e & SD__LPM_GROUP)
            e = t8[(size_t)(e & ~SD__LPM_GROUP) * 256 + (a & 0xff)];
        out[i] = e - 1;
    }
}

uint32_t sd_lpm_lookup6(const sd_lpm *l, const uint8_t addr[16])
{
    if (l->nr6 == 0)
        return SD_LPM_NONE;
    struct sd__k128 k = k128_load(addr);
    /* r6[0] is ::, so the answer is in [0, nr6). */
    size_t lo = 0, n = l->nr6;
    while (n > 1) {
        size_t half = n / 2;
        if (k128_cmp(l->r6[lo + half], k) <= 0)
            lo += half;
        n -= half;
    }
    return l->v6[lo];
}

void sd_lpm_lookup6_bulk(const sd_lpm *l, const uint8_t *addrs, uint32_t *out, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = sd_lpm_lookup6(l, addrs + 16 * i);
}

size_t sd_lpm_memory(const sd_lpm *l)
{
    if (l == NULL)
        return 0;
    size_t m = sizeof *l + l->cap4 * sizeof *l->b4 + l->cap6 * sizeof *l->b6;
    if (l->tbl24 != NULL)
        m += SD__TBL24_BYTES + SD__HUGE_PAGE;
    m += l->ngroups * 256 * sizeof *l->tbl8;
    m += l->nr6 * (sizeof *l->r6 + sizeof *l->v6);
    return m;
}

size_t sd_lpm_count(const sd_lpm *l, int family)
{
    if (l == NULL)
        return 0;
    return family == 4 ? l->count4 : family == 6 ? l->count6 : 0;
}

void sd_lpm_destroy(sd_lpm *l)
{
    if (l == NULL)
        return;
    sd__free(l->b4);
    sd__free(l->b6);
    sd__free(l->tbl24_mem);
    sd__free(l->tbl8);
    sd__free(l->r6);
    sd__free(l->v6);
    l->h.magic = 0;
    sd__free(l);
}

/* ------------------------------------------------------------ overlay */

/* A walk visits the maximal runs of addresses over which the vector of the
 * n tables' values is constant, in ascending order, and hands each run to
 * a callback (runs where every value is SD_LPM_NONE included). */
struct walk {
    const sd_lpm *const *t;
    size_t n;
    uint32_t *cur; /* vector of the run being extended */
    uint32_t *vec; /* scratch: vector at the current position */
    uint32_t *raw; /* scratch: tbl24 entries of the current /24 */
    size_t *idx;   /* IPv4: active tables; IPv6: range index per table */
    uint32_t *nxt; /* IPv4: next /24 where a table's entry changes */
    int (*run4)(void *ctx, uint32_t first, uint32_t last, const uint32_t *v);
    int (*run6)(void *ctx, struct sd__k128 first, struct sd__k128 last, const uint32_t *v);
    void *ctx;
};

static int walk_init(struct walk *w, const sd_lpm *const *t, size_t n)
{
    memset(w, 0, sizeof *w);
    w->t = t;
    w->n = n;
    size_t m = n ? n : 1;
    w->cur = sd__malloc(m * sizeof *w->cur);
    w->vec = sd__malloc(m * sizeof *w->vec);
    w->raw = sd__malloc(m * sizeof *w->raw);
    w->idx = sd__malloc(m * sizeof *w->idx);
    w->nxt = sd__malloc(m * sizeof *w->nxt);
    if (w->cur == NULL || w->vec == NULL || w->raw == NULL || w->idx == NULL || w->nxt == NULL)
        return SD_ERR_NOMEM;
    return 0;
}

static void walk_free(struct walk *w)
{
    sd__free(w->cur);
    sd__free(w->vec);
    sd__free(w->raw);
    sd__free(w->idx);
    sd__free(w->nxt);
}

/* First /24 after b whose entry differs from t[b] (a group entry is unique,
 * so it changes at b + 1), or 2^24. */
static uint32_t next_change24(const uint32_t *t, uint32_t b)
{
    uint32_t e = t[b];
    while (++b < (1u << 24) && t[b] == e)
        ;
    return b;
}

/* The vector changed at pos: close the current run (its last address is
 * pos - 1; cur starts as the vector at address 0, so pos > *start) and
 * start a new one with the vector in w->vec. */
static int change4(struct walk *w, uint32_t pos, uint32_t *start)
{
    int rc = w->run4(w->ctx, *start, pos - 1, w->cur);
    if (rc != 0)
        return rc;
    memcpy(w->cur, w->vec, w->n * sizeof *w->vec);
    *start = pos;
    return 0;
}

static int walk4(struct walk *w)
{
    const size_t n = w->n;
    uint32_t start = 0;
    /* Only tables with IPv4 entries take part; the others stay NONE. */
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        const sd_lpm *l = w->t[i];
        uint32_t e = l != NULL && l->tbl24 != NULL ? l->tbl24[0] : 0;
        if (e & SD__LPM_GROUP)
            e = l->tbl8[(size_t)(e & ~SD__LPM_GROUP) * 256];
        w->cur[i] = w->vec[i] = e - 1;
        if (l != NULL && l->tbl24 != NULL) {
            w->nxt[na] = 0;
            w->idx[na++] = i;
        }
    }
    /* Visit only the /24s where some table's entry changes: between them
     * every table has the same, non-group entry as at the last visit. */
    for (uint32_t b = 0; b < (1u << 24);) {
        uint32_t grouped = 0, changed = 0;
        for (size_t k = 0; k < na; k++) {
            size_t i = w->idx[k];
            uint32_t e = w->t[i]->tbl24[b];
            grouped |= e;
            w->raw[i] = e;
            w->vec[i] = e - 1;
            changed |= (e - 1) ^ w->cur[i];
        }
        int rc;
        if (!(grouped & SD__LPM_GROUP)) {
            if (changed && (rc = change4(w, b << 8, &start)) != 0)
                return rc;
        } else {
            for (uint32_t lo = 0; lo < 256; lo++) {
                changed = 0;
                for (size_t k = 0; k < na; k++) {
                    size_t i = w->idx[k];
                    uint32_t e = w->raw[i];
                    if (e & SD__LPM_GROUP)
                        w->vec[i] = w->t[i]->tbl8[(size_t)(e & ~SD__LPM_GROUP) * 256 + lo] - 1;
                    changed |= w->vec[i] ^ w->cur[i];
                }
                if (changed && (rc = change4(w, b << 8 | lo, &start)) != 0)
                    return rc;
            }
        }
        uint32_t next = 1u << 24;
        for (size_t k = 0; k < na; k++) {
            if (w->nxt[k] <= b)
                w->nxt[k] = next_change24(w->t[w->idx[k]]->tbl24, b);
            if (w->nxt[k] < next)
                next = w->nxt[k];
        }
        b = next;
    }
    return w->run4(w->ctx, start, UINT32_MAX, w->cur);
}

static int walk6(struct walk *w)
{
    const size_t n = w->n;
    struct sd__k128 start = { 0, 0 }, pos = { 0, 0 };
    for (size_t i = 0; i < n; i++) {
        w->idx[i] = 0;
        const sd_lpm *l = w->t[i];
        w->cur[i] = l != NULL && l->nr6 > 0 ? l->v6[0] : SD_LPM_NONE;
    }
    for (;;) {
        /* Next position where some table starts a new range. */
        int have = 0;
        struct sd__k128 next = { 0, 0 };
        for (size_t i = 0; i < n; i++) {
            const sd_lpm *l = w->t[i];
            if (l != NULL && w->idx[i] + 1 < l->nr6) {
                struct sd__k128 s = l->r6[w->idx[i] + 1];
                if (!have || k128_cmp(s, next) < 0)
                    next = s;
                have = 1;
            }
        }
        if (!have)
            break;
        for (size_t i = 0; i < n; i++) {
            const sd_lpm *l = w->t[i];
            if (l != NULL && w->idx[i] + 1 < l->nr6 && k128_cmp(l->r6[w->idx[i] + 1], next) == 0)
                w->idx[i]++;
            w->vec[i] = l != NULL && l->nr6 > 0 ? l->v6[w->idx[i]] : SD_LPM_NONE;
        }
        pos = next;
        if (memcmp(w->vec, w->cur, n * sizeof *w->vec) != 0) {
            /* pos > start >= 0, so pos - 1 does not wrap. */
            struct sd__k128 last = { pos.hi - (pos.lo == 0), pos.lo - 1 };
            int rc = w->run6(w->ctx, start, last, w->cur);
            if (rc != 0)
                return rc;
            memcpy(w->cur, w->vec, n * sizeof *w->vec);
            start = pos;
        }
    }
    return w->run6(w->ctx, start, (struct sd__k128){ ~0ull, ~0ull }, w->cur);
}

static int all_none(const uint32_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] != SD_LPM_NONE)
            return 0;
    return 1;
}

struct overlay {
    int64_t (*combine)(void *user, const uint32_t *values);
    void *user;
    size_t n;
    size_t count4, count6;
    /* IPv4 result, filled range by range in ascending order */
    uint32_t *t24, *t8;
    void *t24mem;
    size_t ngroups, capgroups;
    int pending;
    uint32_t pfirst, plast, pval;
    /* IPv6 result */
    struct ranges r;
};

static int64_t call_combine(struct overlay *o, const uint32_t *v)
{
    if (all_none(v, o->n))
        return SD_LPM_NONE;
    int64_t c = o->combine(o->user, v);
    if (c < 0)
        return c;
    if (c > SD_LPM_VALUE_MAX && c != SD_LPM_NONE)
        return SD_ERR_INVAL;
    return c;
}

/* Store [first, last] -> value into the DIR-24-8 being built. Ranges arrive
 * ascending and adjacent ones differ in value, so a /24 holding a range
 * boundary inside it really needs a group, and a /24 entry met again is
 * always a group made by an earlier partial range. */
static int put4(struct overlay *o, uint32_t first, uint32_t last, uint32_t value)
{
    if (value == SD_LPM_NONE)
        return 0;
    if (o->t24 == NULL && (o->t24 = tbl24_alloc(&o->t24mem)) == NULL)
        return SD_ERR_NOMEM;
    uint64_t s = first, e = last;
    while (s <= e) {
        uint64_t b = s >> 8;
        if ((s & 0xff) == 0 && e >= (s | 0xff)) {
            uint64_t endb = ((e & 0xff) == 0xff ? e >> 8 : (e >> 8) - 1) + 1;
            for (uint64_t i = b; i < endb; i++)
                o->t24[i] = value + 1;
            s = endb << 8;
            continue;
        }
        uint32_t cur = o->t24[b];
        size_t g;
        if (cur & SD__LPM_GROUP) {
            g = cur & ~SD__LPM_GROUP;
        } else {
            if (o->ngroups >= SD__LPM_GROUP)
                return SD_ERR_NOMEM;
            if (sd__grow((void **)&o->t8, &o->capgroups, (o->ngroups + 1) * 256, sizeof *o->t8) != 0)
                return SD_ERR_NOMEM;
            g = o->ngroups++;
            memset(&o->t8[g * 256], 0, 256 * sizeof *o->t8);
            o->t24[b] = SD__LPM_GROUP | (uint32_t)g;
        }
        uint64_t stop = e < (s | 0xff) ? e : (s | 0xff);
        for (uint64_t a = s; a <= stop; a++)
            o->t8[g * 256 + (a & 0xff)] = value + 1;
        s = stop + 1;
    }
    return 0;
}

static int overlay_run4(void *ctx, uint32_t first, uint32_t last, const uint32_t *v)
{
    struct overlay *o = ctx;
    int64_t c = call_combine(o, v);
    if (c < 0)
        return (int)c;
    uint32_t val = (uint32_t)c;
    if (val != SD_LPM_NONE)
        o->count4++;
    if (o->pending && o->pval == val) {
        o->plast = last;
        return 0;
    }
    if (o->pending) {
        int rc = put4(o, o->pfirst, o->plast, o->pval);
        if (rc != 0)
            return rc;
    }
    o->pending = 1;
    o->pfirst = first;
    o->plast = last;
    o->pval = val;
    return 0;
}

static int overlay_run6(void *ctx, struct sd__k128 first, struct sd__k128 last, const uint32_t *v)
{
    (void)last;
    struct overlay *o = ctx;
    int64_t c = call_combine(o, v);
    if (c < 0)
        return (int)c;
    if ((uint32_t)c != SD_LPM_NONE)
        o->count6++;
    return emit(&o->r, first, (uint32_t)c);
}

int sd__lpm_overlay(sd_lpm **out, const sd_lpm *const *tables, size_t n,
                    int64_t (*combine)(void *user, const uint32_t *values), void *user)
{
    if (out == NULL)
        return SD_ERR_INVAL;
    *out = NULL;
    if (combine == NULL || (tables == NULL && n > 0))
        return SD_ERR_INVAL;
    int any4 = 0, any6 = 0;
    for (size_t i = 0; i < n; i++) {
        if (tables[i] == NULL)
            continue;
        if (!tables[i]->frozen)
            return SD_ERR_STATE;
        any4 |= tables[i]->tbl24 != NULL;
        any6 |= tables[i]->nr6 > 0;
    }
    struct overlay o;
    memset(&o, 0, sizeof o);
    o.combine = combine;
    o.user = user;
    o.n = n;
    struct walk w;
    sd_lpm *l = NULL;
    int rc = walk_init(&w, tables, n);
    if (rc == 0)
        rc = sd_lpm_create(&l);
    w.run4 = overlay_run4;
    w.run6 = overlay_run6;
    w.ctx = &o;
    if (rc == 0 && any4) {
        rc = walk4(&w);
        if (rc == 0 && o.pending)
            rc = put4(&o, o.pfirst, o.plast, o.pval);
    }
    if (rc == 0 && any6)
        rc = walk6(&w);
    walk_free(&w);
    if (rc == 0 && o.r.n == 1 && o.r.val[0] == SD_LPM_NONE)
        o.r.n = 0; /* nothing but the gap */
    if (rc != 0 || o.r.n == 0) {
        sd__free(o.r.start);
        sd__free(o.r.val);
        o.r.start = NULL;
        o.r.val = NULL;
    }
    if (rc != 0) {
        sd__free(o.t24mem);
        sd__free(o.t8);
        sd_lpm_destroy(l);
        return rc;
    }
    if (o.ngroups > 0 && o.ngroups * 256 < o.capgroups) {
        uint32_t *s = sd__realloc(o.t8, o.ngroups * 256 * sizeof *o.t8);
        if (s != NULL)
            o.t8 = s;
    }
    l->tbl24 = o.t24;
    l->tbl24_mem = o.t24mem;
    l->tbl8 = o.t8;
    l->ngroups = o.ngroups;
    l->r6 = o.r.start;
    l->v6 = o.r.val;
    l->nr6 = o.r.n;
    l->count4 = o.count4;
    l->count6 = o.count6;
    l->frozen = 1;
    *out = l;
    return 0;
}

/* ------------------------------------------------------------ ranges */

struct ranges_ctx {
    int (*fn)(void *user, const struct sd__lpm_range *r);
    void *user;
};

static int ranges_run4(void *ctx, uint32_t first, uint32_t last, const uint32_t *v)
{
    struct ranges_ctx *c = ctx;
    if (v[0] == SD_LPM_NONE)
        return 0;
    struct sd__lpm_range r;
    memset(&r, 0, sizeof r);
    r.family = 4;
    for (int i = 0; i < 4; i++) {
        r.first[i] = (uint8_t)(first >> (24 - 8 * i));
        r.last[i] = (uint8_t)(last >> (24 - 8 * i));
    }
    r.value = v[0];
    return c->fn(c->user, &r);
}

static void k128_store(struct sd__k128 k, uint8_t a[16])
{
    for (int i = 0; i < 8; i++) {
        a[i] = (uint8_t)(k.hi >> (56 - 8 * i));
        a[8 + i] = (uint8_t)(k.lo >> (56 - 8 * i));
    }
}

static int ranges_run6(void *ctx, struct sd__k128 first, struct sd__k128 last, const uint32_t *v)
{
    struct ranges_ctx *c = ctx;
    if (v[0] == SD_LPM_NONE)
        return 0;
    struct sd__lpm_range r;
    r.family = 6;
    k128_store(first, r.first);
    k128_store(last, r.last);
    r.value = v[0];
    return c->fn(c->user, &r);
}

int sd__lpm_ranges(const sd_lpm *l, int (*fn)(void *user, const struct sd__lpm_range *r), void *user)
{
    if (l == NULL || fn == NULL)
        return SD_ERR_INVAL;
    if (!l->frozen)
        return SD_ERR_STATE;
    /* A one-table walk without allocation: the vectors have one entry. */
    uint32_t cur, vec, raw, nxt;
    size_t idx;
    struct ranges_ctx c = { fn, user };
    struct walk w = { &l, 1, &cur, &vec, &raw, &idx, &nxt, ranges_run4, ranges_run6, &c };
    int rc = 0;
    if (l->tbl24 != NULL)
        rc = walk4(&w);
    if (rc == 0 && l->nr6 > 0)
        rc = walk6(&w);
    return rc;
}
