/* stardust: longest-prefix match (see include/stardust/lpm.h).
 *
 * IPv4: a two-level table of run bitmaps, after the leaf bitmaps of Poptrie
 * and the range tables of DXR, on a fixed 18-bit direct index. The prefixes
 * are first flattened into the disjoint address ranges they cover (freeze4);
 * the table then records, per block of addresses, where each run of equal
 * values starts (build4):
 *
 *   node[addr >> 14] covers one /18 as 64 /24 slots. Bit s of its bm is set
 *   where a run starts at slot s (bit 0 always is); slot s belongs to run
 *   entry run[base + popcount(bm & bits 0..s) - 1].
 *   A run entry is 0 (no match), value + 1, or SD__LPM_CHILD | c for a /24
 *   that longer prefixes split: child c is the four nodes
 *   node[2^18 + 4c + ((addr >> 6) & 3)], each over 64 single addresses,
 *   read the same way with slot addr & 63.
 *
 * Storing value + 1 makes "no match" the zero entry and lets the lookup
 * return entry - 1 without a branch (0 - 1 == SD_LPM_NONE). A lookup is two
 * dependent reads (node, run entry), four in a split /24. The 2^18 nodes
 * take 4 MiB and a run entry 4 bytes, so the full RouteViews table is about
 * 10 MB instead of the 64 MiB of a DIR-24-8 table: random lookups then hit
 * the last-level cache instead of memory, which is what a lookup costs, far
 * more than its few instructions (about 30 against DIR-24-8's 10; where
 * a few addresses are looked up over and over, hot in L1/L2, DIR-24-8 was
 * the cheaper one: BENCHMARKS.md). The table lies in transparent huge
 * pages (huge_alloc) so that random lookups rarely miss the TLB either.
 *
 * IPv6: the nested prefixes are flattened into sorted, disjoint ranges
 * (start point + value); a lookup is a binary search for the last start
 * <= address.
 *
 * Overlay and range listing (lib/lpm_int.h) walk frozen tables: IPv4 steps
 * from run start to run start (next4), IPv6 merges the range lists. The
 * overlay builds its IPv4 table from the ranges it produces with build4,
 * as sd_lpm_freeze() does from the flattened prefixes.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/lpm.h>

#include "internal.h"
#include "lpm_int.h"

#define SD__LPM_CHILD 0x80000000u
#define SD__LPM_TOP ((size_t)1 << 18) /* direct nodes: one per /18 */

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

/* 64 slots (see the top of the file); 16 bytes, so no node straddles a
 * cache line. */
struct sd__node4 {
    uint64_t bm;
    uint32_t base;
    uint32_t unused;
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
    const struct sd__node4 *node4; /* NULL without IPv4 prefixes */
    const uint32_t *run4;          /* run entries, right after the nodes */
    int popcnt;                    /* lookups may use the POPCNT instruction */
    void *mem4;                    /* the allocation both lie in (huge_alloc) */
    size_t bytes4;                 /* its size */
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
    if (l->n4 >= UINT32_MAX)
        return sd__seterr(&l->h, SD_ERR_NOMEM, "lpm: too many IPv4 prefixes");
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

/* Boundaries of the flattened IPv4 table: from pos[i] on (up to pos[i + 1]
 * - 1), the value is val[i] (SD_LPM_NONE in gaps). pos[0] == 0. */
struct bounds4 {
    uint32_t *pos;
    uint32_t *val;
    size_t n, cap;
};

static void bounds4_free(struct bounds4 *b)
{
    sd__free(b->pos);
    sd__free(b->val);
    memset(b, 0, sizeof *b);
}

/* Add "from pos on, value v". Positions arrive non-decreasing; a boundary
 * at the same position replaces the previous one. */
static int emit4(struct bounds4 *b, uint32_t pos, uint32_t v)
{
    if (b->n > 0 && b->pos[b->n - 1] == pos) {
        b->val[b->n - 1] = v;
        if (b->n > 1 && b->val[b->n - 2] == v)
            b->n--;
        return 0;
    }
    if (b->n > 0 && b->val[b->n - 1] == v)
        return 0;
    if (b->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1024;
        uint32_t *p = sd__realloc(b->pos, cap * sizeof *p);
        if (p == NULL)
            return SD_ERR_NOMEM;
        b->pos = p;
        uint32_t *v2 = sd__realloc(b->val, cap * sizeof *v2);
        if (v2 == NULL)
            return SD_ERR_NOMEM;
        b->val = v2;
        b->cap = cap;
    }
    b->pos[b->n] = pos;
    b->val[b->n] = v;
    b->n++;
    return 0;
}

/* bytes on a 2 MiB boundary in a fresh allocation (*mem, to free, of
 * *size bytes), advised for transparent huge pages: random lookups then
 * rarely miss the TLB (the full RouteViews table lies in 4 huge pages
 * instead of 1900 small ones). A last part of at least 1 MiB gets a huge
 * page of its own; a smaller one (a small table's few runs after the 4 MiB
 * of nodes) keeps small pages, which do not make 2 MiB resident for it.
 * Without THP the advice is ignored. The nodes are always written, so huge
 * pages make little resident that would not be anyway. */
static void *huge_alloc(void **mem, size_t *size, size_t bytes)
{
    size_t span = bytes & ~(SD__HUGE_PAGE - 1);
    if (bytes - span >= SD__HUGE_PAGE / 2)
        span += SD__HUGE_PAGE;
    *size = (span > bytes ? span : bytes) + SD__HUGE_PAGE;
    unsigned char *p = sd__malloc(*size);
    *mem = p;
    if (p == NULL)
        return NULL;
    uintptr_t a = ((uintptr_t)p + SD__HUGE_PAGE - 1) & ~(uintptr_t)(SD__HUGE_PAGE - 1);
    sd__advise_huge((void *)a, span);
    return (void *)a;
}

/* A growable array of run entries. */
struct runs {
    uint32_t *e;
    size_t n, cap;
};

/* Append run entry e; returns its index. With share, an equal entry at the
 * end is reused instead (a node's first run may be the previous node's
 * last one: only the runs of one node must be consecutive). */
static int run_add(struct runs *r, uint32_t e, int share, size_t *at)
{
    if (share && r->n > 0 && r->e[r->n - 1] == e) {
        *at = r->n - 1;
        return 0;
    }
    if (sd__grow((void **)&r->e, &r->cap, r->n + 1, sizeof *r->e) != 0)
        return SD_ERR_NOMEM;
    *at = r->n;
    r->e[r->n++] = e;
    return 0;
}

static uint32_t entry_of(uint32_t v)
{
    return v + 1; /* SD_LPM_NONE + 1 == 0 */
}

/* One node over 64 slots of 2^shift addresses from a0: slot s starts a run
 * where its entry differs from slot s - 1's. The entries come from the
 * boundaries (*j is the boundary covering the current address, advanced as
 * the slots go), except that a /24 slot (shift 8) split by a boundary
 * becomes a child, built into cnodes/cruns. */
struct build {
    const struct bounds4 *b;
    size_t j;
    struct runs top, cruns;
    struct sd__node4 *cnodes;
    size_t nchild, capcnodes;
};

static int build_child(struct build *st, uint64_t a0, uint32_t *entry);

static int build_node(struct build *st, uint64_t a0, unsigned shift, struct runs *r, struct sd__node4 *out)
{
    const uint32_t *pos = st->b->pos, *val = st->b->val;
    const size_t nb = st->b->n;
    uint64_t bm = 0;
    size_t base = 0, at;
    uint32_t prev = 0;
    int rc;
    for (unsigned s = 0; s < 64; s++) {
        uint64_t lo = a0 + ((uint64_t)s << shift), hi = lo + ((uint64_t)1 << shift);
        while (st->j + 1 < nb && pos[st->j + 1] <= lo)
            st->j++;
        uint32_t e = entry_of(val[st->j]);
        if (shift == 8 && st->j + 1 < nb && pos[st->j + 1] < hi && (rc = build_child(st, lo, &e)) != 0)
            return rc;
        if (s == 0 || e != prev) {
            if ((rc = run_add(r, e, s == 0, &at)) != 0)
                return rc;
            if (s == 0)
                base = at;
            bm |= (uint64_t)1 << s;
        }
        prev = e;
    }
    if (base > UINT32_MAX)
        return SD_ERR_NOMEM;
    out->bm = bm;
    out->base = (uint32_t)base;
    out->unused = 0;
    return 0;
}

/* The /24 from a0 holds a boundary: its four nodes of single addresses. */
static int build_child(struct build *st, uint64_t a0, uint32_t *entry)
{
    if (st->nchild >= ((size_t)1 << 24))
        return SD_ERR_NOMEM; /* cannot happen: there are 2^24 /24s */
    if (sd__grow((void **)&st->cnodes, &st->capcnodes, 4 * st->nchild + 4, sizeof *st->cnodes) != 0)
        return SD_ERR_NOMEM;
    for (unsigned q = 0; q < 4; q++) {
        int rc = build_node(st, a0 + 64 * q, 0, &st->cruns, &st->cnodes[4 * st->nchild + q]);
        if (rc != 0)
            return rc;
    }
    *entry = SD__LPM_CHILD | (uint32_t)st->nchild++;
    return 0;
}

int sd__lpm_no_popcnt;

static int have_popcnt(void);

/* Build l's IPv4 table from the boundaries b (see struct bounds4). */
static int build4(sd_lpm *l, const struct bounds4 *b)
{
    struct build st;
    memset(&st, 0, sizeof st);
    st.b = b;
    struct sd__node4 *top = sd__malloc(SD__LPM_TOP * sizeof *top);
    int rc = top == NULL ? SD_ERR_NOMEM : 0;
    for (size_t t = 0; t < SD__LPM_TOP && rc == 0; t++) {
        uint64_t a0 = (uint64_t)t << 14;
        while (st.j + 1 < b->n && b->pos[st.j + 1] <= a0)
            st.j++;
        if (st.j + 1 < b->n && b->pos[st.j + 1] < a0 + ((uint64_t)1 << 14)) {
            rc = build_node(&st, a0, 8, &st.top, &top[t]);
            continue;
        }
        /* One run over the whole /18: the common case, made quick. */
        size_t at;
        rc = run_add(&st.top, entry_of(b->val[st.j]), 1, &at);
        top[t] = (struct sd__node4){ 1, (uint32_t)at, 0 };
    }
    size_t nnodes = SD__LPM_TOP + 4 * st.nchild, nruns = st.top.n + st.cruns.n;
    if (rc == 0 && nruns > UINT32_MAX)
        rc = SD_ERR_NOMEM;
    void *mem = NULL;
    size_t bytes = nnodes * sizeof *top + nruns * sizeof(uint32_t);
    size_t size = 0;
    struct sd__node4 *node = rc == 0 ? huge_alloc(&mem, &size, bytes) : NULL;
    if (rc == 0 && node == NULL)
        rc = SD_ERR_NOMEM;
    if (rc == 0) {
        uint32_t *run = (uint32_t *)(node + nnodes);
        memcpy(node, top, SD__LPM_TOP * sizeof *top);
        for (size_t i = 0; i < 4 * st.nchild; i++) {
            node[SD__LPM_TOP + i] = st.cnodes[i];
            node[SD__LPM_TOP + i].base += (uint32_t)st.top.n;
        }
        memcpy(run, st.top.e, st.top.n * sizeof *run);
        if (st.cruns.n > 0)
            memcpy(run + st.top.n, st.cruns.e, st.cruns.n * sizeof *run);
        l->node4 = node;
        l->run4 = run;
        l->mem4 = mem;
        l->bytes4 = size;
        l->popcnt = have_popcnt();
    }
    sd__free(top);
    sd__free(st.top.e);
    sd__free(st.cruns.e);
    sd__free(st.cnodes);
    return rc;
}

/* Stable sort of the prefix indices ord[0..n) by address, from src (in any
 * order, stable) through tmp: two counting passes of 16 bits. */
static int sort_by_addr(const struct sd__pfx4 *p, uint32_t *ord, uint32_t *tmp, size_t n)
{
    size_t *cnt = sd__malloc(65537 * sizeof *cnt);
    if (cnt == NULL)
        return SD_ERR_NOMEM;
    for (int shift = 0; shift < 32; shift += 16) {
        uint32_t *from = shift == 0 ? ord : tmp, *to = shift == 0 ? tmp : ord;
        memset(cnt, 0, 65537 * sizeof *cnt);
        for (size_t i = 0; i < n; i++)
            cnt[((p[from[i]].addr >> shift) & 0xffff) + 1]++;
        for (size_t d = 1; d <= 65536; d++)
            cnt[d] += cnt[d - 1];
        for (size_t i = 0; i < n; i++)
            to[cnt[(p[from[i]].addr >> shift) & 0xffff]++] = from[i];
    }
    sd__free(cnt);
    return 0;
}

static uint32_t pfx4_end(const struct sd__pfx4 *p)
{
    return p->addr | (uint32_t)(0xffffffffull >> p->len);
}

/* Pop the innermost open prefix and start the range after it, unless it
 * ends at the last address. */
static int pop4(struct bounds4 *b, const struct sd__pfx4 **stack, size_t *depth)
{
    uint32_t end = pfx4_end(stack[--*depth]);
    if (end == UINT32_MAX)
        return 0;
    return emit4(b, end + 1, *depth ? stack[*depth - 1]->value : SD_LPM_NONE);
}

static int freeze4(sd_lpm *l)
{
    if (l->n4 == 0)
        return 0;
    const size_t n = l->n4;
    const struct sd__pfx4 *p = l->b4;
    /* Order by (address, length, insertion): a counting sort by length,
     * then a stable one by address. Containing prefixes then come before
     * the ones they contain, and the last of equal prefixes is last. */
    size_t start[34] = { 0 };
    for (size_t i = 0; i < n; i++)
        start[p[i].len + 1]++;
    for (int i = 1; i < 34; i++)
        start[i] += start[i - 1];
    uint32_t *ord = sd__malloc(n * sizeof *ord), *tmp = sd__malloc(n * sizeof *tmp);
    struct bounds4 b = { NULL, NULL, 0, 0 };
    int rc = ord != NULL && tmp != NULL ? 0 : SD_ERR_NOMEM;
    if (rc == 0) {
        for (size_t i = 0; i < n; i++)
            ord[start[p[i].len]++] = (uint32_t)i;
        rc = sort_by_addr(p, ord, tmp, n);
    }
    sd__free(tmp);
    /* Flatten the nested prefixes into boundaries with a stack of the open
     * ones (at most 33 lengths deep). */
    const struct sd__pfx4 *stack[33];
    size_t depth = 0;
    if (rc == 0)
        rc = emit4(&b, 0, SD_LPM_NONE);
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct sd__pfx4 *q = &p[ord[i]];
        /* Same prefix again: only the last insertion counts. */
        if (i + 1 < n && q->len == p[ord[i + 1]].len && q->addr == p[ord[i + 1]].addr)
            continue;
        while (rc == 0 && depth > 0 && pfx4_end(stack[depth - 1]) < q->addr)
            rc = pop4(&b, stack, &depth);
        if (rc == 0) {
            stack[depth++] = q;
            rc = emit4(&b, q->addr, q->value);
        }
    }
    while (rc == 0 && depth > 0)
        rc = pop4(&b, stack, &depth);
    sd__free(ord);
    if (rc == 0)
        rc = build4(l, &b);
    bounds4_free(&b);
    return rc;
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
            sd__free(l->mem4);
            l->node4 = NULL;
            l->run4 = NULL;
            l->mem4 = NULL;
            l->bytes4 = 0;
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

/* Bits set in x. The default x86-64 target has no POPCNT instruction, and
 * GCC then calls a library function for __builtin_popcountll; the lookups
 * below are therefore compiled twice, with hw = 1 in functions that may use
 * the instruction (chosen at run time, see SD__LPM_DISPATCH) and hw = 0
 * with this shift-and-add form, which beats the library call. */
static inline __attribute__((always_inline)) unsigned pop64(uint64_t x, int hw)
{
#if defined(__POPCNT__) || !defined(__x86_64__)
    hw = 1;
#endif
    if (hw)
        return (unsigned)__builtin_popcountll(x);
    x -= (x >> 1) & 0x5555555555555555ull;
    x = (x & 0x3333333333333333ull) + ((x >> 2) & 0x3333333333333333ull);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0full;
    return (unsigned)((x * 0x0101010101010101ull) >> 56);
}

/* Run entry of slot s (0..63) of node n. */
static inline __attribute__((always_inline)) uint32_t node_entry(const uint32_t *run, const struct sd__node4 *n,
                                                                 unsigned s, int hw)
{
    return run[n->base + pop64(n->bm << (63 - s), hw) - 1];
}

static inline __attribute__((always_inline)) uint32_t look4(const struct sd__node4 *node, const uint32_t *run,
                                                            uint32_t addr, int hw)
{
    uint32_t e = node_entry(run, &node[addr >> 14], (addr >> 8) & 63, hw);
    if (SD__UNLIKELY(e & SD__LPM_CHILD))
        e = node_entry(run, &node[SD__LPM_TOP + (size_t)(e & ~SD__LPM_CHILD) * 4 + ((addr >> 6) & 3)],
                       addr & 63, hw);
    return e - 1;
}

/* The bulk lookup runs three stages over the batch: it prefetches the node
 * of address i + 2 * AHEAD, reads the node of address i + AHEAD (arrived
 * by then), computes its run index, keeps it in out[i + AHEAD] and
 * prefetches the run entry, and finishes address i. Both dependent cache
 * misses of a lookup are thus in flight for many addresses at once
 * (tests/bench/bench_lpm). */
#ifndef SD__LPM_PREFETCH_AHEAD
#define SD__LPM_PREFETCH_AHEAD 8
#endif

static inline __attribute__((always_inline)) uint32_t run_index(const struct sd__node4 *node, uint32_t addr, int hw)
{
    const struct sd__node4 *n = &node[addr >> 14];
    return n->base + pop64(n->bm << (63 - ((addr >> 8) & 63)), hw) - 1;
}

static inline __attribute__((always_inline)) uint32_t finish4(const struct sd__node4 *node, const uint32_t *run,
                                                              uint32_t e, uint32_t addr, int hw)
{
    if (SD__UNLIKELY(e & SD__LPM_CHILD))
        e = node_entry(run, &node[SD__LPM_TOP + (size_t)(e & ~SD__LPM_CHILD) * 4 + ((addr >> 6) & 3)],
                       addr & 63, hw);
    return e - 1;
}

static inline __attribute__((always_inline)) void bulk4(const struct sd__node4 *node, const uint32_t *run,
                                                        const uint32_t *addrs, uint32_t *out, size_t n, int hw)
{
    enum { D = SD__LPM_PREFETCH_AHEAD };
    size_t i = 0;
#if defined(__GNUC__) && SD__LPM_PREFETCH_AHEAD > 0
    if (n > 2 * D) {
        for (size_t k = 0; k < 2 * D; k++)
            __builtin_prefetch(&node[addrs[k] >> 14]);
        for (size_t k = 0; k < D; k++) {
            out[k] = run_index(node, addrs[k], hw);
            __builtin_prefetch(&run[out[k]]);
        }
        for (; i + 2 * D < n; i++) {
            __builtin_prefetch(&node[addrs[i + 2 * D] >> 14]);
            const uint32_t r = run_index(node, addrs[i + D], hw);
            out[i + D] = r;
            __builtin_prefetch(&run[r]);
            out[i] = finish4(node, run, run[out[i]], addrs[i], hw);
        }
        for (; i + D < n; i++) {
            const uint32_t r = run_index(node, addrs[i + D], hw);
            out[i + D] = r;
            __builtin_prefetch(&run[r]);
            out[i] = finish4(node, run, run[out[i]], addrs[i], hw);
        }
        for (; i < n; i++)
            out[i] = finish4(node, run, run[out[i]], addrs[i], hw);
    }
#endif
    for (; i < n; i++)
        out[i] = look4(node, run, addrs[i], hw);
}

/* x86-64 without POPCNT in the target: one more copy of the lookups that
 * uses it, taken when the CPU has it (l->popcnt, set at freeze time). */
#if defined(__x86_64__) && !defined(__POPCNT__) && defined(__GNUC__)
#define SD__LPM_DISPATCH 1
__attribute__((target("popcnt"), noinline)) static uint32_t look4_popcnt(const struct sd__node4 *node,
                                                                        const uint32_t *run, uint32_t addr)
{
    return look4(node, run, addr, 1);
}

__attribute__((target("popcnt"), noinline)) static void bulk4_popcnt(const struct sd__node4 *node,
                                                                    const uint32_t *run, const uint32_t *addrs,
                                                                    uint32_t *out, size_t n)
{
    bulk4(node, run, addrs, out, n, 1);
}

static int have_popcnt(void)
{
    return !sd__lpm_no_popcnt && (sd__cpu_features() & SD__CPU_POPCNT);
}
#else
static int have_popcnt(void)
{
    return 0;
}
#endif

uint32_t sd_lpm_lookup4(const sd_lpm *l, uint32_t addr)
{
    if (SD__UNLIKELY(l->node4 == NULL))
        return SD_LPM_NONE;
#ifdef SD__LPM_DISPATCH
    if (SD__LIKELY(l->popcnt))
        return look4_popcnt(l->node4, l->run4, addr);
#endif
    return look4(l->node4, l->run4, addr, 0);
}

void sd_lpm_lookup4_bulk(const sd_lpm *l, const uint32_t *addrs, uint32_t *out, size_t n)
{
    if (SD__UNLIKELY(l->node4 == NULL)) {
        for (size_t i = 0; i < n; i++)
            out[i] = SD_LPM_NONE;
        return;
    }
#ifdef SD__LPM_DISPATCH
    if (SD__LIKELY(l->popcnt)) {
        bulk4_popcnt(l->node4, l->run4, addrs, out, n);
        return;
    }
#endif
    bulk4(l->node4, l->run4, addrs, out, n, 0);
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
    m += l->bytes4;
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
    sd__free(l->mem4);
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
    size_t *idx;   /* IPv4: active tables; IPv6: range index per table */
    uint64_t *nxt; /* IPv4: next address where a table may change value */
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
    w->idx = sd__malloc(m * sizeof *w->idx);
    w->nxt = sd__malloc(m * sizeof *w->nxt);
    if (w->cur == NULL || w->vec == NULL || w->idx == NULL || w->nxt == NULL)
        return SD_ERR_NOMEM;
    return 0;
}

static void walk_free(struct walk *w)
{
    sd__free(w->cur);
    sd__free(w->vec);
    sd__free(w->idx);
    sd__free(w->nxt);
}

/* Bits of x above bit s (0..63). */
static uint64_t bits_above(uint64_t x, unsigned s)
{
    return s == 63 ? 0 : x & (~(uint64_t)0 << (s + 1));
}

/* The first address after a where a run of l's IPv4 table starts (every
 * node starts one, so this may not be a change of value), or 2^32. */
static uint64_t next4(const sd_lpm *l, uint32_t a)
{
    const struct sd__node4 *n = &l->node4[a >> 14];
    uint32_t e = node_entry(l->run4, n, (a >> 8) & 63, 0);
    if (e & SD__LPM_CHILD) {
        /* The split /24 is a run of its own, so the next slot starts one:
         * the end of each quarter is a run start too. */
        const struct sd__node4 *c = &l->node4[SD__LPM_TOP + (size_t)(e & ~SD__LPM_CHILD) * 4 + ((a >> 6) & 3)];
        uint64_t rest = bits_above(c->bm, a & 63);
        return (uint64_t)(a & ~63u) + (rest ? (unsigned)__builtin_ctzll(rest) : 64);
    }
    uint64_t rest = bits_above(n->bm, (a >> 8) & 63);
    return (uint64_t)(a & ~0x3fffu) + (rest ? (uint64_t)__builtin_ctzll(rest) << 8 : (uint64_t)1 << 14);
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

/* Steps from run start to run start of all tables at once: each table is
 * looked up again only where one of its own runs starts. */
static int walk4(struct walk *w)
{
    const size_t n = w->n;
    uint32_t start = 0;
    /* Only tables with IPv4 entries take part; the others stay NONE. */
    size_t na = 0;
    for (size_t i = 0; i < n; i++) {
        const sd_lpm *l = w->t[i];
        int has4 = l != NULL && l->node4 != NULL;
        w->cur[i] = w->vec[i] = has4 ? look4(l->node4, l->run4, 0, 0) : SD_LPM_NONE;
        if (has4) {
            w->nxt[na] = next4(l, 0);
            w->idx[na++] = i;
        }
    }
    for (;;) {
        uint64_t next = (uint64_t)1 << 32;
        for (size_t k = 0; k < na; k++)
            if (w->nxt[k] < next)
                next = w->nxt[k];
        if (next >> 32)
            break;
        uint32_t pos = (uint32_t)next, changed = 0;
        for (size_t k = 0; k < na; k++) {
            if (w->nxt[k] != next)
                continue;
            size_t i = w->idx[k];
            const sd_lpm *l = w->t[i];
            w->vec[i] = look4(l->node4, l->run4, pos, 0);
            w->nxt[k] = next4(l, pos);
            changed |= w->vec[i] ^ w->cur[i];
        }
        int rc;
        if (changed && (rc = change4(w, pos, &start)) != 0)
            return rc;
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
    struct bounds4 b; /* IPv4 result, range by range in ascending order */
    struct ranges r;  /* IPv6 result */
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

static int overlay_run4(void *ctx, uint32_t first, uint32_t last, const uint32_t *v)
{
    (void)last;
    struct overlay *o = ctx;
    int64_t c = call_combine(o, v);
    if (c < 0)
        return (int)c;
    if ((uint32_t)c != SD_LPM_NONE)
        o->count4++;
    return emit4(&o->b, first, (uint32_t)c);
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
        any4 |= tables[i]->node4 != NULL;
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
        /* Nothing but the gap: no IPv4 table, as for a table without
         * IPv4 prefixes. */
        if (rc == 0 && !(o.b.n == 1 && o.b.val[0] == SD_LPM_NONE))
            rc = build4(l, &o.b);
        bounds4_free(&o.b);
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
        bounds4_free(&o.b);
        sd_lpm_destroy(l);
        return rc;
    }
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
    uint32_t cur, vec;
    size_t idx;
    uint64_t nxt;
    struct ranges_ctx c = { fn, user };
    struct walk w = { &l, 1, &cur, &vec, &idx, &nxt, ranges_run4, ranges_run6, &c };
    int rc = 0;
    if (l->node4 != NULL)
        rc = walk4(&w);
    if (rc == 0 && l->nr6 > 0)
        rc = walk6(&w);
    return rc;
}
