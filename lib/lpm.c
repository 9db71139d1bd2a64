/* stardust: longest-prefix match (see include/stardust/lpm.h).
 *
 * IPv4: DIR-24-8. tbl24[addr >> 8] holds 0 (no match), value + 1, or
 * SD__LPM_GROUP | g, where group g is 256 entries of tbl8 indexed by the
 * low byte. Storing value + 1 makes "no match" the zero of calloc and lets
 * the lookup return entry - 1 without a branch (0 - 1 == SD_LPM_NONE).
 * Prefixes are applied shortest first, in insertion order within a length,
 * so longer prefixes overwrite shorter ones and later duplicates win.
 *
 * IPv6: the nested prefixes are flattened into sorted, disjoint ranges
 * (start point + value); a lookup is a binary search for the last start
 * <= address.
 */
#include <stdlib.h>
#include <string.h>

#include <stardust/lpm.h>

#include "internal.h"

#define SD__LPM_GROUP 0x80000000u

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
    uint32_t *t24 = sd__calloc((size_t)1 << 24, sizeof *t24);
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
    l->tbl8 = t8;
    l->ngroups = ngroups;
    return 0;
nomem:
    sd__free(order);
    sd__free(t24);
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
            sd__free(l->tbl24);
            sd__free(l->tbl8);
            l->tbl24 = l->tbl8 = NULL;
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

size_t sd_lpm_memory(const sd_lpm *l)
{
    if (l == NULL)
        return 0;
    size_t m = sizeof *l + l->cap4 * sizeof *l->b4 + l->cap6 * sizeof *l->b6;
    if (l->tbl24 != NULL)
        m += ((size_t)1 << 24) * sizeof *l->tbl24;
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
    sd__free(l->tbl24);
    sd__free(l->tbl8);
    sd__free(l->r6);
    sd__free(l->v6);
    l->h.magic = 0;
    sd__free(l);
}
