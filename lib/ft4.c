/* stardust: FT3 -> FT4 folding (include/stardust/ft4.h, flowtuple.md §2).
 *
 * One interval is open at a time. Its groups live in a dense array indexed
 * through an open-addressing table of full keys (never a hash alone). The
 * distinct-value sets of a group keep their FIRST value inline (most
 * groups have one TTL, one size, one flag set); further values go to two
 * shared open-addressing tables keyed by (group, dimension, value): one of
 * bare keys for destination hosts, one with packet counts for the four
 * weighted dimensions. At close, one sweep of the weighted table fills the
 * common-value lists. Everything that decides an output field is
 * commutative or a minimum/maximum under a total order, so the records do
 * not depend on the input order within an interval.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <stardust/ft4.h>
#include <stardust/interval.h>

#include "internal.h"

/* Protocol families in output order (flowtuple.md §2.4). */
enum { FAM_ICMP = 0, FAM_TCP = 1, FAM_UDP = 2, FAM_OTHER = 3 };

/* Dimensions of a group's distinct-value sets. DIM_DST has no weights. */
enum { DIM_DST = 0, DIM_LEN = 1, DIM_TTL = 2, DIM_SPORT = 3, DIM_FLAGS = 4, NDIM = 5 };

/* Groups are limited so that (index + 1) fits the 32-bit slot field and
 * the shifted value-table keys. */
#define MAX_GROUPS ((size_t)1 << 30)

/* Look-ahead distances (records) of the three prefetch stages of
 * sd_ft4_add(): group slot, group, then host and value entries. */
#define SD__FT4_AHEAD_FAR 24
#define SD__FT4_AHEAD_MID 12
#define SD__FT4_AHEAD_NEAR 4

/* FT4 records per emit call: few enough to stay in cache on their way to
 * the writer. */
#define SD__FT4_CHUNK 256

struct gslot {
    uint64_t ka;    /* src_ip << 32 | dst_net */
    uint32_t kb;    /* family << 16 | port (typecode, protocol) */
    uint32_t idx1;  /* group index + 1; 0 = empty */
};

struct grp {
    uint64_t ka;
    uint32_t kb;
    uint32_t phead;             /* at close: first passing value + 1 (0: none) */
    uint64_t packets, spoofed, masscan;
    uint32_t nd[NDIM];          /* distinct values seen */
    uint16_t first[NDIM];       /* the first value of each set, kept inline */
    uint8_t protocol;
    uint8_t has_syn;
    uint64_t first_cnt[NDIM];   /* packets of first[] (unused for DIM_DST) */
    /* the earliest pure SYN: key and synlen << 16 | window */
    uint64_t syn_k1, syn_k2;
    uint32_t syn_val;
    uint32_t tag_asn;
    /* the tag source: largest packet_cnt, then smallest key and tag bytes */
    uint64_t tag_cnt, tag_k1, tag_k2;
    char tag_geo[8];            /* maxmind continent, country, netacq continent, country */
};

struct vslot {
    uint64_t key;   /* (group + 1) << 18 | (dim - 1) << 16 | value; 0 = empty */
    uint64_t cnt;
};

struct skey {
    uint64_t hi;    /* family << 56 | src_ip << 24 | dst_net >> 8 */
    uint32_t lo;    /* port */
    uint32_t idx;   /* group index */
};

struct sd_ft4 {
    struct sd__handle h;
    sd_ft4_config cfg;
    sd_ft4_emit_fn emit;
    void *ud;
    uint32_t netmask, hostmask;
    int failed;

    int open;
    uint32_t cur;               /* start of the open interval */
    uint64_t floor;             /* interval starts below this are early */

    struct grp *g;
    size_t ng, gcap;
    struct gslot *gs;
    size_t gsmask;              /* slots - 1 (a power of two minus one) */
    uint64_t *ds;               /* destination-host keys, (group + 1) << 16 | host */
    size_t dsn, dsmask;
    struct vslot *vs;
    size_t vsn, vsmask;
    sd_ft4_record *out;         /* SD__FT4_CHUNK records handed to emit */
    struct skey *sk, *sk2;      /* gcap keys each (sort and its scratch) */

    sd_ft4_stats st;
};

void sd_ft4_config_init(sd_ft4_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->size = sizeof *cfg;
    cfg->interval = SD_FT4_DEFAULT_INTERVAL;
    cfg->dst_prefix_len = SD_FT4_DEFAULT_PREFIX_LEN;
    cfg->version = SD_FT4_V2;
}


static size_t pow2_at_least(size_t n)
{
    size_t c = 1024;
    while (c < n)
        c *= 2;
    return c;
}

/* ------------------------------------------------------------ tables */

/* The tables are probed at random: ask for transparent huge pages on the
 * big ones (a hint, once per growth). */
static void advise_big(void *p, size_t bytes)
{
    if (bytes >= 2 * SD__HUGE_PAGE)
        sd__advise_huge(p, bytes);
}

static inline size_t gslot_hash(uint64_t ka, uint32_t kb)
{
    return (size_t)sd__mix64(ka ^ ((uint64_t)kb << 40 | kb));
}

static inline size_t gslot_find(const struct gslot *gs, size_t mask, uint64_t ka, uint32_t kb)
{
    size_t i = gslot_hash(ka, kb) & mask;
    while (gs[i].idx1 != 0 && (gs[i].ka != ka || gs[i].kb != kb))
        i = (i + 1) & mask;
    return i;
}

static int grow_groups(sd_ft4 *f, size_t need)
{
    /* dense arrays: groups, output records and sort keys share gcap */
    size_t cap = f->gcap;
    if (sd__grow((void **)&f->g, &cap, need, sizeof *f->g) != 0)
        return SD_ERR_NOMEM;
    if (cap != f->gcap) {
        void *k = sd__realloc(f->sk, cap * sizeof *f->sk);
        if (k == NULL)
            return SD_ERR_NOMEM;
        f->sk = k;
        k = sd__realloc(f->sk2, cap * sizeof *f->sk2);
        if (k == NULL)
            return SD_ERR_NOMEM;
        f->sk2 = k;
        f->gcap = cap;
        advise_big(f->g, cap * sizeof *f->g);
    }
    return 0;
}

static int rehash_groups(sd_ft4 *f, size_t slots)
{
    struct gslot *n = sd__calloc(slots, sizeof *n);
    if (n == NULL)
        return SD_ERR_NOMEM;
    for (size_t i = 0; i < f->ng; i++) {
        size_t s = gslot_find(n, slots - 1, f->g[i].ka, f->g[i].kb);
        n[s] = (struct gslot){f->g[i].ka, f->g[i].kb, (uint32_t)i + 1};
    }
    sd__free(f->gs);
    advise_big(n, slots * sizeof *n);
    f->gs = n;
    f->gsmask = slots - 1;
    return 0;
}

/* Grow an open-addressing table of *mask + 1 slots of elem bytes, each
 * starting with its uint64_t key (0 = empty), to slots slots. */
static int rehash_keyed(void **tab, size_t *mask, size_t elem, size_t slots)
{
    unsigned char *n = sd__calloc(slots, elem);
    if (n == NULL)
        return SD_ERR_NOMEM;
    const unsigned char *old = *tab;
    for (size_t i = 0; i <= *mask; i++) {
        uint64_t key;
        memcpy(&key, old + i * elem, sizeof key);
        if (key == 0)
            continue;
        size_t s = (size_t)sd__mix64(key) & (slots - 1);
        for (;;) {
            uint64_t k;
            memcpy(&k, n + s * elem, sizeof k);
            if (k == 0)
                break;
            s = (s + 1) & (slots - 1);
        }
        memcpy(n + s * elem, old + i * elem, elem);
    }
    sd__free(*tab);
    advise_big(n, slots * elem);
    *tab = n;
    *mask = slots - 1;
    return 0;
}

/* Room for one more record: a group, a host and four weighted values.
 * Checked before a record touches anything, so a failure leaves the fold
 * consistent. Load factor at most 3/4. */
static int reserve(sd_ft4 *f)
{
    if (f->ng + 1 > f->gcap) {
        if (f->ng + 1 > MAX_GROUPS)
            return sd__seterr(&f->h, SD_ERR_NOMEM, "FT4: more than %zu groups in one interval",
                              MAX_GROUPS);
        if (grow_groups(f, f->ng + 1) != 0)
            goto nomem;
    }
    if ((f->ng + 1) * 4 > (f->gsmask + 1) * 3 && rehash_groups(f, (f->gsmask + 1) * 2) != 0)
        goto nomem;
    if ((f->dsn + 1) * 4 > (f->dsmask + 1) * 3 &&
        rehash_keyed((void **)&f->ds, &f->dsmask, sizeof *f->ds, (f->dsmask + 1) * 2) != 0)
        goto nomem;
    if ((f->vsn + 4) * 4 > (f->vsmask + 1) * 3 &&
        rehash_keyed((void **)&f->vs, &f->vsmask, sizeof *f->vs, (f->vsmask + 1) * 2) != 0)
        goto nomem;
    return 0;
nomem:
    return sd__seterr(&f->h, SD_ERR_NOMEM, "FT4: out of memory with %zu groups", f->ng);
}

/* Add a destination host to group gi's set; 1 if it was new. */
static inline int ds_add(sd_ft4 *f, uint64_t key)
{
    size_t s = (size_t)sd__mix64(key) & f->dsmask;
    while (f->ds[s] != 0) {
        if (f->ds[s] == key)
            return 0;
        s = (s + 1) & f->dsmask;
    }
    f->ds[s] = key;
    f->dsn++;
    return 1;
}

/* Add cnt packets to a weighted value; 1 if it was new. */
static inline int vs_add(sd_ft4 *f, uint64_t key, uint64_t cnt)
{
    size_t s = (size_t)sd__mix64(key) & f->vsmask;
    while (f->vs[s].key != 0) {
        if (f->vs[s].key == key) {
            f->vs[s].cnt += cnt;
            return 0;
        }
        s = (s + 1) & f->vsmask;
    }
    f->vs[s].key = key;
    f->vs[s].cnt = cnt;
    f->vsn++;
    return 1;
}

/* ------------------------------------------------------------ folding */

/* The record's order key inside its group (src_ip and protocol are fixed
 * there): time, ttl, tcp_flags, dst_ip, src_port, dst_port, ip_len, the
 * order of the reference merge tool (flowtuple.md §1.6). */
static inline void rec_key(const sd_ft3_record *r, uint64_t *k1, uint64_t *k2)
{
    *k1 = (uint64_t)r->time << 32 | (uint64_t)r->ttl << 24 | (uint64_t)r->tcp_flags << 16 |
          r->dst_ip >> 16;
    *k2 = (uint64_t)(r->dst_ip & 0xffff) << 48 | (uint64_t)r->src_port << 32 |
          (uint64_t)r->dst_port << 16 | r->ip_len;
}

static inline int key_lt(uint64_t a1, uint64_t a2, uint64_t b1, uint64_t b2)
{
    return a1 != b1 ? a1 < b1 : a2 < b2;
}

static inline void weigh(sd_ft4 *f, struct grp *g, uint64_t gi1, int dim, uint16_t v, uint64_t cnt)
{
    if (v == g->first[dim])
        g->first_cnt[dim] += cnt;
    else
        g->nd[dim] += (uint32_t)vs_add(f, gi1 << 18 | (uint64_t)(dim - 1) << 16 | v, cnt);
}

/* The group key of a record: ka = src_ip << 32 | dst_net,
 * kb = family << 16 | port (ICMP: type << 8 | code; other: protocol). */
static inline int group_key(const sd_ft4 *f, const sd_ft3_record *r, uint64_t *ka, uint32_t *kb)
{
    int fam;
    uint32_t port;
    switch (r->protocol) {
    case 1:
        fam = FAM_ICMP;
        port = (uint32_t)(r->src_port & 0xff) << 8 | (r->dst_port & 0xff);
        break;
    case 6:
        fam = FAM_TCP;
        port = r->dst_port;
        break;
    case 17:
        fam = FAM_UDP;
        port = r->dst_port;
        break;
    default:
        fam = FAM_OTHER;
        port = r->protocol;
        break;
    }
    *ka = (uint64_t)r->src_ip << 32 | (r->dst_ip & f->netmask);
    *kb = (uint32_t)fam << 16 | port;
    return fam;
}

/* Look-ahead for a record a few places further on: its group slot.
 * Always inlined: as a call, GCC sees a function with no effect but a
 * prefetch, takes it as pure and drops it. */
static inline __attribute__((always_inline)) void prefetch_slot(const sd_ft4 *f, const sd_ft3_record *r)
{
    uint64_t ka;
    uint32_t kb;
    (void)group_key(f, r, &ka, &kb);
    __builtin_prefetch(&f->gs[gslot_hash(ka, kb) & f->gsmask]);
}

/* Closer look-ahead: the group, when it exists. */
static inline __attribute__((always_inline)) void prefetch_group(const sd_ft4 *f,
                                                                 const sd_ft3_record *r)
{
    uint64_t ka;
    uint32_t kb;
    (void)group_key(f, r, &ka, &kb);
    uint64_t gi1 = f->gs[gslot_find(f->gs, f->gsmask, ka, kb)].idx1;
    if (gi1 == 0)
        return;
    const char *g = (const char *)&f->g[gi1 - 1];
    __builtin_prefetch(g, 1);
    __builtin_prefetch(g + 64, 1);
    __builtin_prefetch(g + 128, 1);
}

/* Closest look-ahead: with the group in cache, the host and value entries
 * fold() will probe (those that differ from the set's first value). */
static inline __attribute__((always_inline)) void prefetch_values(const sd_ft4 *f,
                                                                  const sd_ft3_record *r)
{
    uint64_t ka;
    uint32_t kb;
    int fam = group_key(f, r, &ka, &kb);
    uint64_t gi1 = f->gs[gslot_find(f->gs, f->gsmask, ka, kb)].idx1;
    if (gi1 == 0)
        return;
    const struct grp *g = &f->g[gi1 - 1];
    uint16_t host = (uint16_t)(r->dst_ip & f->hostmask);
    if (host != g->first[DIM_DST])
        __builtin_prefetch(&f->ds[sd__mix64(gi1 << 16 | host) & f->dsmask]);
    uint16_t v[NDIM] = {0, r->ip_len, r->ttl, r->src_port, r->tcp_flags};
    int last = fam == FAM_TCP ? DIM_FLAGS : fam == FAM_UDP ? DIM_SPORT : DIM_TTL;
    for (int d = DIM_LEN; d <= last; d++)
        if (v[d] != g->first[d])
            __builtin_prefetch(
                &f->vs[sd__mix64(gi1 << 18 | (uint64_t)(d - 1) << 16 | v[d]) & f->vsmask]);
}

static void fold(sd_ft4 *f, const sd_ft3_record *r)
{
    uint64_t ka;
    uint32_t kb;
    int fam = group_key(f, r, &ka, &kb);
    uint64_t cnt = r->packet_cnt;
    uint16_t host = (uint16_t)(r->dst_ip & f->hostmask);
    uint64_t k1, k2;
    rec_key(r, &k1, &k2);

    size_t s = gslot_find(f->gs, f->gsmask, ka, kb);
    struct grp *g;
    if (f->gs[s].idx1 == 0) {
        size_t gi = f->ng++;
        f->gs[s] = (struct gslot){ka, kb, (uint32_t)gi + 1};
        g = &f->g[gi];
        memset(g, 0, sizeof *g);
        g->ka = ka;
        g->kb = kb;
        g->protocol = r->protocol;
        g->packets = cnt;
        g->spoofed = r->is_spoofed ? cnt : 0;
        g->masscan = r->is_masscan ? cnt : 0;
        g->first[DIM_DST] = host;
        g->first[DIM_LEN] = r->ip_len;
        g->first[DIM_TTL] = r->ttl;
        g->first[DIM_SPORT] = r->src_port;
        g->first[DIM_FLAGS] = r->tcp_flags;
        for (int d = 0; d < NDIM; d++)
            g->first_cnt[d] = cnt;
        g->nd[DIM_DST] = g->nd[DIM_LEN] = g->nd[DIM_TTL] = 1;
        g->nd[DIM_SPORT] = fam == FAM_TCP || fam == FAM_UDP;
        g->nd[DIM_FLAGS] = fam == FAM_TCP;
        if (r->tcp_flags == 0x02) {
            g->has_syn = 1;
            g->syn_k1 = k1;
            g->syn_k2 = k2;
            g->syn_val = (uint32_t)r->tcp_synlen << 16 | r->tcp_synwinlen;
        }
        g->tag_cnt = cnt;
        g->tag_k1 = k1;
        g->tag_k2 = k2;
        memcpy(g->tag_geo, r->maxmind_continent, 2);
        memcpy(g->tag_geo + 2, r->maxmind_country, 2);
        memcpy(g->tag_geo + 4, r->netacq_continent, 2);
        memcpy(g->tag_geo + 6, r->netacq_country, 2);
        g->tag_asn = r->prefix2asn;
        return;
    }
    uint64_t gi1 = f->gs[s].idx1;
    g = &f->g[gi1 - 1];
    g->packets += cnt;
    if (r->is_spoofed)
        g->spoofed += cnt;
    if (r->is_masscan)
        g->masscan += cnt;
    if (host != g->first[DIM_DST])
        g->nd[DIM_DST] += (uint32_t)ds_add(f, gi1 << 16 | host);
    weigh(f, g, gi1, DIM_LEN, r->ip_len, cnt);
    weigh(f, g, gi1, DIM_TTL, r->ttl, cnt);
    if (fam == FAM_TCP || fam == FAM_UDP)
        weigh(f, g, gi1, DIM_SPORT, r->src_port, cnt);
    if (fam == FAM_TCP)
        weigh(f, g, gi1, DIM_FLAGS, r->tcp_flags, cnt);

    if (r->tcp_flags == 0x02) {
        uint32_t v = (uint32_t)r->tcp_synlen << 16 | r->tcp_synwinlen;
        if (!g->has_syn || key_lt(k1, k2, g->syn_k1, g->syn_k2) ||
            (k1 == g->syn_k1 && k2 == g->syn_k2 && v < g->syn_val)) {
            g->has_syn = 1;
            g->syn_k1 = k1;
            g->syn_k2 = k2;
            g->syn_val = v;
        }
    }
    if (cnt >= g->tag_cnt) {
        char geo[8];
        memcpy(geo, r->maxmind_continent, 2);
        memcpy(geo + 2, r->maxmind_country, 2);
        memcpy(geo + 4, r->netacq_continent, 2);
        memcpy(geo + 6, r->netacq_country, 2);
        int better = cnt > g->tag_cnt || key_lt(k1, k2, g->tag_k1, g->tag_k2);
        if (!better && k1 == g->tag_k1 && k2 == g->tag_k2) {
            int c = memcmp(geo, g->tag_geo, 8);
            better = c < 0 || (c == 0 && r->prefix2asn < g->tag_asn);
        }
        if (better) {
            g->tag_cnt = cnt;
            g->tag_k1 = k1;
            g->tag_k2 = k2;
            memcpy(g->tag_geo, geo, 8);
            g->tag_asn = r->prefix2asn;
        }
    }
}

/* ------------------------------------------------------------ closing */

/* The threshold ratio of flowtuple.md §2.3 in percent. */
static inline uint32_t ratio_pct(uint64_t p, uint32_t d)
{
    if (p < 10)
        return d < 4 ? 100 : d < 7 ? 50 : 33;
    return d < 15 ? 33 : 20;
}

/* a * ma >= b * mb without overflow (ma, mb small). */
static inline int ge_scaled(uint64_t a, uint32_t ma, uint64_t b, uint32_t mb)
{
    uint64_t alo = (a & 0xffffffffu) * ma, blo = (b & 0xffffffffu) * mb;
    uint64_t ahi = (a >> 32) * ma + (alo >> 32), bhi = (b >> 32) * mb + (blo >> 32);
    return ahi != bhi ? ahi > bhi : (alo & 0xffffffffu) >= (blo & 0xffffffffu);
}

/* Is a value with cnt packets common in a group of p packets and d
 * distinct values? count >= ratio * p, exactly (ratio as a decimal). */
static inline int common_pass(uint64_t cnt, uint64_t p, uint32_t d)
{
    return ge_scaled(cnt, 100, p, ratio_pct(p, d));
}

/* Keep the SD_FT4_MAX_COMMON smallest values, ascending: the same as
 * walking every passing value in ascending order and stopping after five. */
static void common_put(sd_ft4_common *c, uint64_t v, uint64_t cnt)
{
    uint32_t i = c->n;
    if (i == SD_FT4_MAX_COMMON) {
        if (v >= c->value[SD_FT4_MAX_COMMON - 1])
            return;
        i = SD_FT4_MAX_COMMON - 1;
    } else {
        c->n++;
    }
    while (i > 0 && c->value[i - 1] > v) {
        c->value[i] = c->value[i - 1];
        c->freq[i] = c->freq[i - 1];
        i--;
    }
    c->value[i] = v;
    c->freq[i] = cnt;
}

static sd_ft4_common *common_of(sd_ft4_record *o, int dim)
{
    switch (dim) {
    case DIM_LEN:
        return &o->common_pktsizes;
    case DIM_TTL:
        return &o->common_ttls;
    case DIM_SPORT:
        return &o->common_srcports;
    default:
        return &o->common_tcpflags;
    }
}

/* LSD radix sort of n keys by (hi, lo), 8 bits a pass; digits where every
 * key agrees are skipped. Returns the array holding the result (a or tmp). */
static struct skey *sort_keys(struct skey *a, struct skey *tmp, size_t n)
{
    enum { ND = 10 }; /* 2 digits of lo (16 bits), 8 of hi */
    static const int shift[ND] = {0, 8, 0, 8, 16, 24, 32, 40, 48, 56};
    size_t cnt[ND][256];
    if (n == 0)
        return a;
    memset(cnt, 0, sizeof cnt);
    for (size_t i = 0; i < n; i++) {
        cnt[0][a[i].lo & 0xff]++;
        cnt[1][(a[i].lo >> 8) & 0xff]++;
        for (int d = 2; d < ND; d++)
            cnt[d][(a[i].hi >> shift[d]) & 0xff]++;
    }
    for (int d = 0; d < ND; d++) {
        size_t first = d < 2 ? (a[0].lo >> shift[d]) & 0xff : (a[0].hi >> shift[d]) & 0xff;
        if (cnt[d][first] == n)
            continue;
        size_t pos = 0;
        for (int b = 0; b < 256; b++) {
            size_t c = cnt[d][b];
            cnt[d][b] = pos;
            pos += c;
        }
        for (size_t i = 0; i < n; i++) {
            size_t b = d < 2 ? (a[i].lo >> shift[d]) & 0xff : (a[i].hi >> shift[d]) & 0xff;
            tmp[cnt[d][b]++] = a[i];
        }
        struct skey *t = a;
        a = tmp;
        tmp = t;
    }
    return a;
}

static void fill(const sd_ft4 *f, const struct grp *g, sd_ft4_record *o)
{
    memset(o, 0, sizeof *o);
    o->time = f->cur;
    o->src_ip = (uint32_t)(g->ka >> 32);
    o->dst_net = (uint32_t)g->ka;
    o->dst_port = g->kb & 0xffff;
    if ((g->kb >> 16) == FAM_OTHER)
        o->dst_port = 0;
    o->protocol = g->protocol;
    o->packet_cnt = g->packets;
    o->uniq_dst_ips = g->nd[DIM_DST];
    o->uniq_pkt_sizes = g->nd[DIM_LEN];
    o->uniq_ttls = g->nd[DIM_TTL];
    o->uniq_src_ports = g->nd[DIM_SPORT];
    o->uniq_tcp_flags = g->nd[DIM_FLAGS];
    if (g->has_syn) {
        o->first_syn_length = g->syn_val >> 16;
        o->first_tcp_rwin = g->syn_val & 0xffff;
    }
    for (int d = DIM_LEN; d < NDIM; d++)
        if (g->nd[d] > 0 && common_pass(g->first_cnt[d], g->packets, g->nd[d]))
            common_put(common_of(o, d), g->first[d], g->first_cnt[d]);
    if (f->cfg.version >= SD_FT4_V1) {
        memcpy(o->maxmind_continent, g->tag_geo, 2);
        memcpy(o->maxmind_country, g->tag_geo + 2, 2);
    } else {
        memcpy(o->maxmind_continent, "??", 2);
        memcpy(o->maxmind_country, "??", 2);
    }
    memcpy(o->netacq_continent, g->tag_geo + 4, 2);
    memcpy(o->netacq_country, g->tag_geo + 6, 2);
    o->prefix2asn = g->tag_asn;
    if (f->cfg.version >= SD_FT4_V2) {
        o->spoofed_packet_cnt = g->spoofed;
        o->masscan_packet_cnt = g->masscan;
    }
}

static void reset_tables(sd_ft4 *f)
{
    if (f->ng > 0)
        memset(f->gs, 0, (f->gsmask + 1) * sizeof *f->gs);
    if (f->dsn > 0)
        memset(f->ds, 0, (f->dsmask + 1) * sizeof *f->ds);
    if (f->vsn > 0)
        memset(f->vs, 0, (f->vsmask + 1) * sizeof *f->vs);
    f->ng = f->dsn = f->vsn = 0;
}

static int close_interval(sd_ft4 *f)
{
    size_t n = f->ng;
    for (size_t i = 0; i < n; i++) {
        const struct grp *g = &f->g[i];
        f->sk[i].hi = (uint64_t)(g->kb >> 16) << 56 | (g->ka >> 32) << 24 | (uint32_t)g->ka >> 8;
        f->sk[i].lo = g->kb & 0xffff;
        f->sk[i].idx = (uint32_t)i;
    }
    const struct skey *sk = sort_keys(f->sk, f->sk2, n);

    /* The passing values beyond each set's first one: compacted in place
     * to the front of the value table (the table is cleared afterwards),
     * one list per group: key = next << 24 | (dim - 1) << 16 | value. */
    size_t j = 0;
    for (size_t i = 0; i <= f->vsmask && f->vsn > 0; i++) {
        uint64_t k = f->vs[i].key, c = f->vs[i].cnt;
        if (i + 8 <= f->vsmask && f->vs[i + 8].key != 0)
            __builtin_prefetch(&f->g[(f->vs[i + 8].key >> 18) - 1]);
        if (k == 0)
            continue;
        struct grp *g = &f->g[(k >> 18) - 1];
        int dim = (int)((k >> 16) & 3) + 1;
        if (!common_pass(c, g->packets, g->nd[dim]))
            continue;
        f->vs[j].key = (uint64_t)g->phead << 24 | (k & 0x3ffff);
        f->vs[j].cnt = c;
        g->phead = (uint32_t)++j;
    }

    uint32_t start = f->cur;
    f->open = 0;
    f->floor = (uint64_t)start + f->cfg.interval;
    /* n is 0 only when the interval's first record failed to fit
     * (SD_ERR_NOMEM): nothing to emit */
    int rc = 0;
    size_t k = 0;
    sd_ft_chunk_info info = {.time = start, .end = (uint64_t)start + f->cfg.interval, .worker = -1};
    for (size_t r = 0; r < n && rc >= 0; r++) {
        if (r + 8 < n) {
            const char *ga = (const char *)&f->g[sk[r + 8].idx];
            __builtin_prefetch(ga);
            __builtin_prefetch(ga + 64);
            __builtin_prefetch(ga + 128);
        }
        const struct grp *g = &f->g[sk[r].idx];
        sd_ft4_record *o = &f->out[k++];
        fill(f, g, o);
        info.packets += g->packets;
        for (uint32_t e = g->phead; e != 0; e = (uint32_t)(f->vs[e - 1].key >> 24)) {
            uint64_t v = f->vs[e - 1].key;
            common_put(common_of(o, (int)((v >> 16) & 3) + 1), v & 0xffff, f->vs[e - 1].cnt);
        }
        if (k == SD__FT4_CHUNK || r + 1 == n) {
            info.final = r + 1 == n;
            rc = f->emit(f->ud, &info, f->out, k);
            k = 0;
            info.packets = 0;
        }
    }
    reset_tables(f);
    f->st.open_groups = 0;
    if (rc < 0) {
        f->failed = 1;
        return sd__seterr(&f->h, rc, "FT4: emit failed for interval %u (%zu records): %s",
                          start, n, sd_strerror(rc));
    }
    f->st.intervals += n > 0;
    f->st.records_out += n;
    return 0;
}

/* ------------------------------------------------------------ API */

int sd_ft4_create(sd_ft4 **fp, const sd_ft4_config *cfg, sd_ft4_emit_fn emit, void *userdata,
                  char *errbuf)
{
    if (fp == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "FT4: NULL handle pointer");
    *fp = NULL;
    if (emit == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "FT4: no emit callback");
    sd_ft4_config c;
    sd_ft4_config_init(&c);
    if (cfg != NULL) {
        if (cfg->size < offsetof(sd_ft4_config, version) + 1)
            return sd__errbuf(errbuf, SD_ERR_INVAL,
                              "FT4: config size %zu: call sd_ft4_config_init() first", cfg->size);
        memcpy(&c, cfg, cfg->size < sizeof c ? cfg->size : sizeof c);
        c.size = sizeof c;
    }
    if (c.interval < 1 || c.interval > SD_FT4_MAX_INTERVAL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "FT4: interval %u s is not in 1..%u", c.interval,
                          SD_FT4_MAX_INTERVAL);
    if (c.dst_prefix_len != 16 && c.dst_prefix_len != 24)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "FT4: destination prefix length %u is not 16 or 24",
                          (unsigned)c.dst_prefix_len);
    if (c.version > SD_FT4_V2)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "FT4: version %u is not 0, 1 or 2",
                          (unsigned)c.version);
    sd_ft4 *f = sd__calloc(1, sizeof *f);
    if (f == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "FT4: out of memory");
    sd__handle_init(&f->h);
    f->cfg = c;
    f->emit = emit;
    f->ud = userdata;
    f->hostmask = c.dst_prefix_len == 16 ? 0xffffu : 0xffu;
    f->netmask = ~f->hostmask;
    size_t hint = c.expected_groups > MAX_GROUPS / 2 ? MAX_GROUPS / 2 : c.expected_groups;
    size_t gslots = pow2_at_least(hint * 2);
    f->gs = sd__calloc(gslots, sizeof *f->gs);
    f->ds = sd__calloc(gslots, sizeof *f->ds);
    f->vs = sd__calloc(gslots, sizeof *f->vs);
    f->gsmask = f->dsmask = f->vsmask = gslots - 1;
    f->out = sd__malloc(SD__FT4_CHUNK * sizeof *f->out);
    if (f->gs == NULL || f->ds == NULL || f->vs == NULL || f->out == NULL ||
        (hint > 0 && grow_groups(f, hint) != 0)) {
        sd_ft4_destroy(f);
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "FT4: out of memory");
    }
    f->st.size = sizeof f->st;
    *fp = f;
    return 0;
}

int sd_ft4_add(sd_ft4 *f, const sd_ft3_record *recs, size_t n)
{
    if (f == NULL || (recs == NULL && n > 0))
        return SD_ERR_INVAL;
    if (f->failed)
        return SD_ERR_STATE;
    uint32_t iv = f->cfg.interval;
    for (size_t i = 0; i < n; i++) {
        const sd_ft3_record *r = &recs[i];
        if (i + SD__FT4_AHEAD_FAR < n)
            prefetch_slot(f, &recs[i + SD__FT4_AHEAD_FAR]);
        if (i + SD__FT4_AHEAD_MID < n)
            prefetch_group(f, &recs[i + SD__FT4_AHEAD_MID]);
        if (i + SD__FT4_AHEAD_NEAR < n)
            prefetch_values(f, &recs[i + SD__FT4_AHEAD_NEAR]);
        uint32_t s = (uint32_t)sd_interval_floor(r->time, iv);
        if (!f->open || s != f->cur) {
            if ((f->open && s < f->cur) || s < f->floor) {
                f->st.early_records++;
                f->st.early_packets += r->packet_cnt;
                continue;
            }
            if (f->open) {
                int rc = close_interval(f);
                if (rc < 0)
                    return rc;
            }
            f->open = 1;
            f->cur = s;
        }
        int rc = reserve(f);
        if (rc < 0)
            return rc;
        fold(f, r);
        f->st.records_in++;
        f->st.packets_in += r->packet_cnt;
    }
    f->st.open_groups = f->ng;
    return 0;
}

int sd_ft4_advance(sd_ft4 *f, uint64_t time)
{
    if (f == NULL)
        return SD_ERR_INVAL;
    if (f->failed)
        return SD_ERR_STATE;
    if (f->open && (uint64_t)f->cur + f->cfg.interval <= time) {
        int rc = close_interval(f);
        if (rc < 0)
            return rc;
    }
    uint64_t s = sd_interval_floor(time, f->cfg.interval);
    if (!f->open && s > f->floor)
        f->floor = s;
    return 0;
}

int sd_ft4_flush(sd_ft4 *f)
{
    if (f == NULL)
        return SD_ERR_INVAL;
    if (f->failed)
        return SD_ERR_STATE;
    return f->open ? close_interval(f) : 0;
}

int sd_ft4_get_stats(const sd_ft4 *f, sd_ft4_stats *st)
{
    if (f == NULL || st == NULL || st->size < sizeof(size_t))
        return SD_ERR_INVAL;
    sd_ft4_stats all = f->st;
    size_t n = st->size < sizeof all ? st->size : sizeof all;
    memcpy((char *)st + sizeof(size_t), (const char *)&all + sizeof(size_t), n - sizeof(size_t));
    return 0;
}

int sd_ft4_get_config(const sd_ft4 *f, sd_ft4_config *cfg)
{
    if (f == NULL || cfg == NULL || cfg->size < sizeof(size_t))
        return SD_ERR_INVAL;
    size_t n = cfg->size < sizeof f->cfg ? cfg->size : sizeof f->cfg;
    memcpy((char *)cfg + sizeof(size_t), (const char *)&f->cfg + sizeof(size_t),
           n - sizeof(size_t));
    return 0;
}

size_t sd_ft4_memory(const sd_ft4 *f)
{
    if (f == NULL)
        return 0;
    return sizeof *f + SD__FT4_CHUNK * sizeof *f->out +
           f->gcap * (sizeof *f->g + sizeof *f->sk + sizeof *f->sk2) +
           (f->gsmask + 1) * sizeof *f->gs + (f->dsmask + 1) * sizeof *f->ds +
           (f->vsmask + 1) * sizeof *f->vs;
}

void sd_ft4_destroy(sd_ft4 *f)
{
    if (f == NULL)
        return;
    sd__free(f->g);
    sd__free(f->gs);
    sd__free(f->ds);
    sd__free(f->vs);
    sd__free(f->out);
    sd__free(f->sk);
    sd__free(f->sk2);
    f->h.magic = 0;
    sd__free(f);
}
