/* stardust: FT3 aggregation (include/stardust/flowtuple.h, flowtuple.md §1,
 * §2.6).
 *
 * Each worker counts into its own open-addressing table of 64-byte slots
 * holding the full key (never a hash alone, §2.6.3), so a lookup touches
 * one cache line; keys are computed and slots prefetched a chunk ahead.
 * When a worker closes an interval (or its table fills up) it folds its
 * table, under the aggregator's lock, into that interval's pending output
 * and clears it: the packet path itself never locks or allocates. An
 * interval is delivered when every worker has passed it; at most two
 * intervals are pending, so a worker lagging further behind makes the
 * oldest one be delivered early (`forced`) and its own part later (a
 * late chunk).
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <stardust/filterbits.h>
#include <stardust/flowtuple.h>
#include <stardust/packet.h>
#include <stardust/parse.h>
#include <stardust/tag.h>

#include "internal.h"
#include "interval_int.h"

#define NS SD__NS
#define SD__FT_CHUNK 64     /* packets keyed and prefetched per step */
#define SD__FT_PENDING 2    /* intervals waiting for slow workers */
#define SD__FT_MIN_CAP 1024 /* slots */

/* One tuple. The key is (k0, k1, k2), laid out so that comparing the
 * three numbers in turn gives the §1.7 order with the full dst_ip:
 *   k0 = protocol<<56 | ttl<<48 | tcp_flags<<40 | src_ip<<8 | dst_ip>>24
 *   k1 = (dst_ip & 0xffffff)<<40 | src_port<<24 | dst_port<<8 | ip_len>>8
 *   k2 = ip_len & 0xff
 * cnt == 0 marks a free slot. */
struct ft_slot {
    uint64_t k0, k1;
    uint64_t cnt;
    uint64_t first_ts;  /* earliest packet: its tags are the attributes */
    uint32_t asn;
    uint16_t synlen, synwin;
    char geo[8];        /* maxmind continent, country, netacq continent, country */
    uint8_t k2;
    uint8_t attrs;      /* 1 spoofed, 2 masscan */
    uint8_t dst_hi;     /* SD_FT_DST_OCTET_COMPAT: first octet of dst_ip */
    uint8_t pad[13];
};

struct ft_table {
    struct ft_slot *slots;
    size_t cap;         /* power of two */
    size_t n;           /* used slots */
    size_t limit;       /* n at which the table counts as full */
    int mapped;         /* slots come from mmap() */
};

struct pending {
    int used;
    uint64_t end;       /* interval end (a boundary) */
    struct ft_table *tabs; /* 1 (merged) or one per worker (interim) */
};

struct sd_flowtuple_worker {
    sd_flowtuple *ft;
    unsigned id;
    int started;
    struct sd_interval iv;
    struct ft_table t;
    int spilled;        /* the table filled up during this interval */
    uint64_t done_until; /* lock: every interval ending at or before this
                            is finished for this worker */
    uint64_t packets, counted, not_ipv4, spills;
    sd_parsed pbuf[SD__FT_CHUNK];
    sd_tags tbuf[SD__FT_CHUNK];
} __attribute__((aligned(64)));

struct sd_flowtuple {
    struct sd__handle h;
    sd_flowtuple_config cfg;
    size_t ntab;        /* tables per pending interval */
    size_t max_cap;     /* slot cap from max_tuples (0 = none) */
    sd_tagger *own_tagger;
    const sd_tagger *tagger;
    sd_flowtuple_worker *w;
    pthread_mutex_t lock;
    int finished;
    struct pending pend[SD__FT_PENDING];
    uint64_t last_final;  /* end of the last interval delivered final */
    uint64_t run_first;   /* earliest first-packet second of any worker */
    sd_ft3_record *out;
    size_t outcap;
    struct ft_skey *skeys;
    size_t skcap;
    /* aggregator counters (under lock) */
    uint64_t intervals, empty, records, early, late, forced, max_live;
};

/* ------------------------------------------------------------ tables */

static inline uint64_t mix(uint64_t k0, uint64_t k1, uint8_t k2)
{
    uint64_t x = k0 ^ (k1 * 0xbf58476d1ce4e5b9ull) ^ ((uint64_t)k2 << 32);
    x = (x ^ (x >> 31)) * 0x94d049bb133111ebull;
    return x ^ (x >> 29);
}

static size_t limit_for(const sd_flowtuple *ft, size_t cap)
{
    size_t l = cap / 4 * 3; /* linear probing stays short below 3/4 */
    if (ft->cfg.max_tuples != 0 && ft->cfg.max_tuples < l)
        l = (size_t)ft->cfg.max_tuples;
    return l;
}

/* Big tables are mapped directly and asked for transparent huge pages:
 * with millions of tuples almost every lookup misses the TLB otherwise.
 * Clearing them gives the pages back (MADV_DONTNEED), which is cheaper
 * than writing zeros and releases the memory of a quiet interval. */
#define SD__FT_MAP_BYTES ((size_t)4 << 20)

static void slots_free(struct ft_table *t)
{
    if (t->slots == NULL)
        return;
    if (t->mapped)
        sd__unmap(t->slots, t->cap * sizeof *t->slots);
    else
        sd__free(t->slots);
    t->slots = NULL;
}

static int table_alloc(const sd_flowtuple *ft, struct ft_table *t, size_t cap)
{
    const size_t bytes = cap * sizeof(struct ft_slot);
    struct ft_slot *s;
    int mapped = bytes >= SD__FT_MAP_BYTES;
    if (mapped) {
        void *m = sd__map_zeroed(bytes);
        if (m == NULL)
            return SD_ERR_NOMEM;
        sd__advise_huge(m, bytes);
        s = m;
    } else if ((s = sd__calloc(cap, sizeof *s)) == NULL) {
        return SD_ERR_NOMEM;
    }
    slots_free(t);
    t->slots = s;
    t->mapped = mapped;
    t->cap = cap;
    t->n = 0;
    t->limit = limit_for(ft, cap);
    return 0;
}

static void table_clear(struct ft_table *t)
{
    if (t->n != 0) {
        if (!t->mapped || madvise(t->slots, t->cap * sizeof *t->slots, MADV_DONTNEED) != 0)
            memset(t->slots, 0, t->cap * sizeof *t->slots);
    }
    t->n = 0;
}

/* The slot of key (k0, k1, k2): the one holding it, or the free one where
 * it goes. The table always has a free slot (limit < cap). */
static inline struct ft_slot *table_find(const struct ft_table *t, uint64_t h, uint64_t k0,
                                         uint64_t k1, uint8_t k2)
{
    const size_t mask = t->cap - 1;
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        struct ft_slot *s = &t->slots[i];
        if (s->cnt == 0 || (s->k0 == k0 && s->k1 == k1 && s->k2 == k2))
            return s;
    }
}

/* Rebuild t with cap slots (between intervals / on the merge side only). */
static int table_resize(const sd_flowtuple *ft, struct ft_table *t, size_t cap)
{
    struct ft_table nt = {0};
    if (table_alloc(ft, &nt, cap) != 0)
        return SD_ERR_NOMEM;
    for (size_t i = 0; i < t->cap; i++) {
        const struct ft_slot *s = &t->slots[i];
        if (s->cnt != 0) {
            *table_find(&nt, mix(s->k0, s->k1, s->k2), s->k0, s->k1, s->k2) = *s;
            nt.n++;
        }
    }
    slots_free(t);
    *t = nt;
    return 0;
}

static size_t cap_for(size_t tuples)
{
    size_t c = SD__FT_MIN_CAP;
    while (c / 4 * 3 <= tuples && c < ((size_t)1 << 40))
        c *= 2;
    return c;
}

/* ------------------------------------------------------------ delivery */

int sd_ft3_record_cmp(const sd_ft3_record *a, const sd_ft3_record *b)
{
#define SD__CMP(f)                  \
    if (a->f != b->f)               \
        return a->f < b->f ? -1 : 1;
    SD__CMP(protocol)
    SD__CMP(ttl)
    SD__CMP(tcp_flags)
    SD__CMP(src_ip)
    SD__CMP(dst_ip)
    SD__CMP(src_port)
    SD__CMP(dst_port)
    SD__CMP(ip_len)
#undef SD__CMP
    return 0;
}

/* A slot's key and index, sorted to deliver records in §1.7 order
 * without moving the 56-byte records. */
struct ft_skey {
    uint64_t k0, k1;
    uint32_t idx;
    uint8_t k2;
};

static inline int skey_lt(const struct ft_skey *a, const struct ft_skey *b)
{
    if (a->k0 != b->k0)
        return a->k0 < b->k0;
    if (a->k1 != b->k1)
        return a->k1 < b->k1;
    return a->k2 < b->k2;
}

/* Quicksort with the compare inlined (qsort()'s indirect calls cost
 * several times more per record); keys are unique. */
static void skey_sort(struct ft_skey *a, size_t n)
{
    while (n > 16) {
        struct ft_skey *m = &a[n / 2], *z = &a[n - 1], t;
        /* median of three to a[0] */
        if (skey_lt(m, a)) { t = *m; *m = *a; *a = t; }
        if (skey_lt(z, a)) { t = *z; *z = *a; *a = t; }
        if (skey_lt(z, m)) { t = *z; *z = *m; *m = t; }
        t = *m; *m = *a; *a = t; /* pivot = median, at a[0] */
        size_t i = 1, j = n - 1;
        for (;;) {
            while (i < n && skey_lt(&a[i], &a[0]))
                i++;
            while (skey_lt(&a[0], &a[j]))
                j--;
            if (i >= j)
                break;
            t = a[i]; a[i] = a[j]; a[j] = t;
            i++, j--;
        }
        t = a[0]; a[0] = a[j]; a[j] = t;
        /* recurse into the smaller part, loop on the larger */
        if (j < n - j - 1) {
            skey_sort(a, j);
            a += j + 1;
            n -= j + 1;
        } else {
            skey_sort(a + j + 1, n - j - 1);
            n = j;
        }
    }
    for (size_t i = 1; i < n; i++) {
        struct ft_skey t = a[i];
        size_t j = i;
        for (; j > 0 && skey_lt(&t, &a[j - 1]); j--)
            a[j] = a[j - 1];
        a[j] = t;
    }
}

static void slot_to_record(const sd_flowtuple *ft, const struct ft_slot *s, uint32_t time,
                           sd_ft3_record *r)
{
    memset(r, 0, sizeof *r);
    r->time = time;
    r->protocol = (uint8_t)(s->k0 >> 56);
    r->ttl = (uint8_t)(s->k0 >> 48);
    r->tcp_flags = (uint8_t)(s->k0 >> 40);
    r->src_ip = (uint32_t)(s->k0 >> 8);
    r->dst_ip = (uint32_t)((s->k0 & 0xff) << 24 | s->k1 >> 40);
    if (ft->cfg.flags & SD_FT_DST_OCTET_COMPAT)
        r->dst_ip |= (uint32_t)s->dst_hi << 24;
    r->src_port = (uint16_t)(s->k1 >> 24);
    r->dst_port = (uint16_t)(s->k1 >> 8);
    r->ip_len = (uint16_t)((s->k1 & 0xff) << 8 | s->k2);
    r->tcp_synlen = s->synlen;
    r->tcp_synwinlen = s->synwin;
    r->is_spoofed = s->attrs & 1;
    r->is_masscan = (s->attrs >> 1) & 1;
    r->packet_cnt = s->cnt;
    memcpy(r->maxmind_continent, s->geo, 2);
    memcpy(r->maxmind_country, s->geo + 2, 2);
    memcpy(r->netacq_continent, s->geo + 4, 2);
    memcpy(r->netacq_country, s->geo + 6, 2);
    r->prefix2asn = s->asn;
}

/* Interval start as written in `time` (§1.4: the run's first interval
 * starts at its first packet's second). */
static uint64_t start_of(const sd_flowtuple *ft, uint64_t end)
{
    uint64_t s = end - ft->cfg.interval;
    if (!(ft->cfg.flags & SD_FT_ALIGN_FIRST) && ft->run_first != UINT64_MAX && ft->run_first > s)
        s = ft->run_first;
    return s;
}

/* Records per callback call: bounds the output buffer (56 bytes per
 * record) whatever the size of an interval. */
#define SD__FT_PIECE 65536

/* Hand the records of t to the callback, in pieces of at most
 * SD__FT_PIECE records (final set on the last piece only), and clear t.
 * always: call the callback even with no record. Under lock. */
static int deliver(sd_flowtuple *ft, struct ft_table *t, uint64_t end, int worker, int final,
                   int always)
{
    if (t->n == 0 && !always)
        return 0;
    const int sorted = !(ft->cfg.flags & SD_FT_UNSORTED);
    const size_t piece = t->n < SD__FT_PIECE ? t->n : SD__FT_PIECE;
    if (sd__grow((void **)&ft->out, &ft->outcap, piece, sizeof *ft->out) != 0 ||
        (sorted && sd__grow((void **)&ft->skeys, &ft->skcap, t->n, sizeof *ft->skeys) != 0)) {
        const size_t c = t->n;
        table_clear(t); /* cannot deliver: the counts are lost, say so */
        return sd__seterr(&ft->h, SD_ERR_NOMEM, "flowtuple: out of memory for %zu output records",
                          c);
    }
    sd_ft_chunk_info info = {0};
    info.end = end;
    info.time = start_of(ft, end);
    info.worker = worker;
    const uint32_t time = (uint32_t)info.time;
    size_t total = t->n, done = 0, scan = 0;
    if (sorted) {
        struct ft_skey *sk = ft->skeys;
        size_t k = 0;
        for (size_t i = 0; i < t->cap && k < t->n; i++) {
            const struct ft_slot *x = &t->slots[i];
            if (x->cnt != 0)
                sk[k++] = (struct ft_skey){x->k0, x->k1, (uint32_t)i, x->k2};
        }
        skey_sort(sk, k);
    }
    int rc = 0;
    do {
        size_t m = 0;
        info.packets = 0;
        if (sorted) {
            /* indexed, not ft->skeys + done: skeys is NULL until a table
             * with records is delivered */
            const struct ft_skey *sk = ft->skeys;
            m = total - done < SD__FT_PIECE ? total - done : SD__FT_PIECE;
            for (size_t i = 0; i < m; i++) {
                if (i + 8 < m)
                    __builtin_prefetch(&t->slots[sk[done + i + 8].idx]);
                slot_to_record(ft, &t->slots[sk[done + i].idx], time, &ft->out[i]);
                info.packets += ft->out[i].packet_cnt;
            }
        } else {
            for (; scan < t->cap && m < SD__FT_PIECE && done + m < total; scan++) {
                if (t->slots[scan].cnt != 0) {
                    slot_to_record(ft, &t->slots[scan], time, &ft->out[m]);
                    info.packets += ft->out[m].packet_cnt;
                    m++;
                }
            }
        }
        done += m;
        info.final = final && done == total;
        ft->records += m;
        int r = ft->cfg.output(ft->cfg.user, &info, ft->out, m);
        if (r < 0 && rc == 0)
            rc = sd__seterr(&ft->h, r, "flowtuple: output callback failed for interval %llu: %s",
                            (unsigned long long)info.time, sd_strerror(r));
    } while (done < total);
    table_clear(t);
    return rc;
}

/* Deliver pending interval p as final and free it. Under lock. */
static int deliver_final(sd_flowtuple *ft, struct pending *p)
{
    int rc = 0;
    const uint64_t L = ft->cfg.interval;
    /* Intervals nobody saw a packet in, between two delivered ones. */
    if (ft->last_final != 0 && p->end > ft->last_final + L) {
        for (uint64_t e = ft->last_final + L; e < p->end; e += L) {
            ft->empty++;
            if (ft->cfg.flags & SD_FT_EMIT_EMPTY) {
                struct ft_table none = {0};
                int r = deliver(ft, &none, e, ft->ntab == 1 ? -1 : 0, 1, 1);
                if (rc == 0)
                    rc = r;
            }
        }
    }
    for (size_t i = 0; i < ft->ntab; i++) {
        /* merged: one chunk, even when empty; interim: nothing for a
         * worker without packets (upstream writes nothing then) */
        int r = deliver(ft, &p->tabs[i], p->end, ft->ntab == 1 ? -1 : (int)i, 1, ft->ntab == 1);
        if (rc == 0)
            rc = r;
    }
    if (p->end > ft->last_final)
        ft->last_final = p->end;
    ft->intervals++;
    p->used = 0;
    return rc;
}

/* Deliver every pending interval all workers have passed, oldest first. */
static int complete(sd_flowtuple *ft)
{
    int rc = 0;
    for (;;) {
        struct pending *old = NULL;
        for (size_t i = 0; i < SD__FT_PENDING; i++)
            if (ft->pend[i].used && (old == NULL || ft->pend[i].end < old->end))
                old = &ft->pend[i];
        if (old == NULL)
            return rc;
        for (unsigned i = 0; i < ft->cfg.workers; i++)
            if (ft->w[i].done_until < old->end)
                return rc;
        int r = deliver_final(ft, old);
        if (rc == 0)
            rc = r;
    }
}

/* The pending interval ending at end, made when needed; NULL when that
 * interval was already delivered (the caller sends a late chunk). */
static struct pending *pending_for(sd_flowtuple *ft, uint64_t end, int *rc)
{
    if (end <= ft->last_final)
        return NULL;
    struct pending *free_p = NULL, *old = NULL;
    for (size_t i = 0; i < SD__FT_PENDING; i++) {
        struct pending *p = &ft->pend[i];
        if (p->used && p->end == end)
            return p;
        if (!p->used && free_p == NULL)
            free_p = p;
        if (p->used && (old == NULL || p->end < old->end))
            old = p;
    }
    if (free_p == NULL) {
        if (old->end > end)
            return NULL; /* older than every pending one: late chunk */
        ft->forced++;
        int r = deliver_final(ft, old);
        if (*rc == 0)
            *rc = r;
        free_p = old;
    }
    free_p->used = 1;
    free_p->end = end;
    return free_p;
}

/* Add every tuple of src into dst (sum counts, attributes of the earliest
 * packet), delivering dst early whenever it is full. Under lock. */
static int fold(sd_flowtuple *ft, struct ft_table *dst, const struct ft_table *src, uint64_t end,
                int worker)
{
    int rc = 0;
    for (size_t i = 0; i < src->cap; i++) {
        const struct ft_slot *s = &src->slots[i];
        if (s->cnt == 0)
            continue;
        if (dst->n >= dst->limit) {
            /* grow while unbounded or below the bound; else flush early */
            size_t want = dst->cap * 2;
            if ((ft->max_cap == 0 || want <= ft->max_cap) && table_resize(ft, dst, want) == 0) {
                /* grown */
            } else {
                ft->early++;
                int r = deliver(ft, dst, end, worker, 0, 0);
                if (rc == 0)
                    rc = r;
            }
        }
        struct ft_slot *d = table_find(dst, mix(s->k0, s->k1, s->k2), s->k0, s->k1, s->k2);
        if (d->cnt == 0) {
            *d = *s;
            dst->n++;
            if (dst->n > ft->max_live)
                ft->max_live = dst->n;
        } else {
            d->cnt += s->cnt;
            if (s->first_ts < d->first_ts) {
                const uint64_t cnt = d->cnt;
                *d = *s;
                d->cnt = cnt;
            }
        }
    }
    return rc;
}

/* Move the tuples of a worker's table w into the pending table dst.
 * When dst is empty the two tables are swapped (no copy; the worker gets
 * dst's cleared slots, reallocated to its own size if smaller), so memory
 * stays at about two tables per worker as upstream's (§1.6.1). Under
 * lock. */
static int give(sd_flowtuple *ft, struct ft_table *dst, struct ft_table *w, uint64_t end,
                int worker)
{
    if (dst->n == 0) {
        struct ft_table t = *dst;
        *dst = *w;
        *w = t;
        if (w->slots != NULL && w->cap >= dst->cap)
            return 0;
        if (table_alloc(ft, w, dst->cap) == 0)
            return 0;
        /* no memory for a new worker table: swap back and copy instead */
        t = *dst;
        *dst = *w;
        *w = t;
    }
    if (dst->slots == NULL && table_alloc(ft, dst, w->cap) != 0)
        return sd__seterr(&ft->h, SD_ERR_NOMEM, "flowtuple: out of memory for a pending table");
    return fold(ft, dst, w, end, worker);
}

/* Worker w hands its table for the interval ending at end to the
 * aggregator. done: w has finished every interval ending at or before
 * this. */
static int handover(sd_flowtuple_worker *w, uint64_t end, uint64_t done)
{
    sd_flowtuple *ft = w->ft;
    int rc = 0;
    pthread_mutex_lock(&ft->lock);
    if (w->t.n > ft->max_live)
        ft->max_live = w->t.n;
    if (w->t.n != 0) {
        struct pending *p = pending_for(ft, end, &rc);
        int r;
        if (p == NULL) {
            ft->late++;
            r = deliver(ft, &w->t, end, ft->ntab == 1 ? -1 : (int)w->id, 0, 0);
        } else {
            r = give(ft, &p->tabs[ft->ntab == 1 ? 0 : w->id], &w->t, end,
                     ft->ntab == 1 ? -1 : (int)w->id);
        }
        if (rc == 0)
            rc = r;
    }
    if (done > w->done_until)
        w->done_until = done;
    int r = complete(ft);
    if (rc == 0)
        rc = r;
    pthread_mutex_unlock(&ft->lock);
    table_clear(&w->t);
    return rc;
}

/* Between intervals: a table that filled up grows for the next one (up
 * to the bound). A failed allocation keeps the old table. */
static void maybe_grow(sd_flowtuple_worker *w)
{
    const sd_flowtuple *ft = w->ft;
    if (!w->spilled)
        return;
    w->spilled = 0;
    const size_t want = w->t.cap * 2;
    if (ft->max_cap == 0 || want <= ft->max_cap)
        (void)table_alloc(ft, &w->t, want);
}

/* ------------------------------------------------------------ packets */

/* What a packet contributes: its key, hash and where its attributes are. */
struct ft_key {
    uint64_t k0, k1, h;
    uint8_t k2, ok, dst_hi;
    uint16_t synlen, synwin;
};

/* flowtuple.md §1.1-1.2 for one packet; ok = 0 when it does not count. */
static inline void make_key(const sd_flowtuple *ft, const sd_packet *pkt, const sd_parsed *p,
                            const sd_tags *tg, struct ft_key *k)
{
    k->ok = 0;
    /* §1.1: the layer-3 type must be IPv4 and the 20-byte header captured.
     * The fields are read from the header bytes, so that a header the
     * parser rejects (a version other than 4) counts as upstream's does. */
    if (p->ethertype != 0x0800 || (p->flags & SD_P_UNKNOWN_LINK) || pkt->data == NULL ||
        (uint32_t)p->l2_len + 20 > pkt->caplen)
        return;
    const uint8_t *ip = pkt->data + p->l2_len;
    const uint64_t proto = ip[9], ttl = ip[8];
    const uint32_t src = sd__be32(ip + 12);
    uint32_t dst = sd__be32(ip + 16);
    const uint16_t iplen = sd__be16(ip + 2);
    uint64_t flags = 0;
    k->synlen = k->synwin = 0;
    /* §1.2/1.3: flags from a captured 20-byte TCP header (SD_P_TCP); only
     * behind a real IPv4 header (deviation: upstream also reads them
     * behind a header claiming version 5). */
    if ((p->flags & (SD_P_TCP | SD_P_IP4)) == (SD_P_TCP | SD_P_IP4) && p->ip_version == 4 &&
        proto == 6) {
        flags = p->tcp_flags;
        if (flags == SD_TCP_SYN) { /* a pure SYN only */
            k->synlen = p->tcp_doff;
            k->synwin = p->tcp_win;
        }
    }
    k->dst_hi = (uint8_t)(dst >> 24);
    if (ft->cfg.flags & SD_FT_DST_OCTET_COMPAT)
        dst &= 0xffffff; /* upstream quirk §1.7 */
    /* §1.2: ports from the tags (ICMP type/code there). */
    const uint64_t sp = tg != NULL ? tg->src_port : 0, dp = tg != NULL ? tg->dest_port : 0;
    k->k0 = proto << 56 | ttl << 48 | flags << 40 | (uint64_t)src << 8 | dst >> 24;
    k->k1 = (uint64_t)(dst & 0xffffff) << 40 | sp << 24 | dp << 8 | (uint64_t)(iplen >> 8);
    k->k2 = (uint8_t)iplen;
    k->h = mix(k->k0, k->k1, k->k2);
    k->ok = 1;
}

static inline void geo2(char *out, const char *code, int valid)
{
    if (valid && (code[0] != 0 || code[1] != 0)) {
        out[0] = code[0];
        out[1] = code[1];
    } else {
        out[0] = out[1] = '?';
    }
}

/* A new tuple: attributes from its first packet (§1.3). */
static inline void init_slot(const sd_flowtuple *ft, struct ft_slot *s, const struct ft_key *k,
                             const sd_tags *tg, uint64_t ts)
{
    (void)ft;
    s->k0 = k->k0;
    s->k1 = k->k1;
    s->k2 = k->k2;
    s->first_ts = ts;
    s->synlen = k->synlen;
    s->synwin = k->synwin;
    s->dst_hi = k->dst_hi;
    uint32_t pu = 0;
    if (tg != NULL) {
        pu = tg->providers_used;
        s->attrs = (uint8_t)((tg->filterbits & SD_FB(SD_FILTER_SPOOFED) ? 1 : 0) |
                             (tg->filterbits & SD_FB(SD_FILTER_LARGE_SCALE_SCAN) ? 2 : 0));
    } else {
        s->attrs = 0;
    }
    static const char none[2] = {0, 0};
    geo2(s->geo, tg ? tg->maxmind_continent : none, pu & SD_TAG_MAXMIND);
    geo2(s->geo + 2, tg ? tg->maxmind_country : none, pu & SD_TAG_MAXMIND);
    geo2(s->geo + 4, tg ? tg->netacq_continent : none, pu & SD_TAG_NETACQ);
    geo2(s->geo + 6, tg ? tg->netacq_country : none, pu & SD_TAG_NETACQ);
    s->asn = (pu & SD_TAG_PFX2AS) ? tg->prefixasn : 0;
}

/* The worker's table is full mid-interval: hand it over (a spill). */
static int spill(sd_flowtuple_worker *w)
{
    w->spills++;
    w->spilled = 1;
    return handover(w, w->iv.end_ns / NS, w->done_until);
}

/* The worker's clock moved past its interval: hand the table over. */
static int close_interval(sd_flowtuple_worker *w, uint64_t end, uint64_t now_sec)
{
    const uint64_t L = w->ft->cfg.interval;
    int rc = handover(w, end, sd_interval_floor(now_sec, (uint32_t)L));
    maybe_grow(w);
    return rc;
}

static int first_packet(sd_flowtuple_worker *w)
{
    sd_flowtuple *ft = w->ft;
    pthread_mutex_lock(&ft->lock);
    const uint64_t first = w->iv.first_ts / NS;
    if (first < ft->run_first)
        ft->run_first = first;
    const uint64_t d = sd_interval_floor(w->iv.start_ns / NS, ft->cfg.interval);
    if (d > w->done_until)
        w->done_until = d;
    pthread_mutex_unlock(&ft->lock);
    w->started = 1;
    return 0;
}

int sd_flowtuple_add(sd_flowtuple_worker *w, const sd_packet *const *pkts, const sd_parsed *parsed,
                     const sd_tags *tags, size_t n)
{
    if (w == NULL || n > INT_MAX || (n > 0 && pkts == NULL))
        return SD_ERR_INVAL;
    sd_flowtuple *ft = w->ft;
    if (ft->finished)
        return SD_ERR_STATE;
    int rc = 0;
    struct ft_key keys[SD__FT_CHUNK];
    const sd_tags *tp[SD__FT_CHUNK];
    for (size_t i = 0; i < n; i += SD__FT_CHUNK) {
        const size_t m = n - i < SD__FT_CHUNK ? n - i : SD__FT_CHUNK;
        const sd_packet *const *pk = pkts + i;
        const sd_parsed *ps = parsed != NULL ? parsed + i : w->pbuf;
        if (parsed == NULL)
            (void)sd_parse_bulk(pk, w->pbuf, m);
        /* tags: given, else carried by the packet, else made here */
        int need_tag = 0;
        for (size_t j = 0; j < m; j++) {
            tp[j] = tags != NULL ? &tags[i + j] : pk[j] != NULL ? pk[j]->tags : NULL;
            need_tag |= tp[j] == NULL;
        }
        if (need_tag) {
            (void)sd_tag(ft->tagger, pk, ps, w->tbuf, m);
            for (size_t j = 0; j < m; j++)
                if (tp[j] == NULL)
                    tp[j] = &w->tbuf[j];
        }
        for (size_t j = 0; j < m; j++) {
            if (pk[j] == NULL) {
                keys[j].ok = 0;
                continue;
            }
            make_key(ft, pk[j], &ps[j], tp[j], &keys[j]);
            if (keys[j].ok)
                __builtin_prefetch(&w->t.slots[keys[j].h & (w->t.cap - 1)], 1, 1);
        }
        for (size_t j = 0; j < m; j++) {
            if (pk[j] == NULL)
                continue;
            w->packets++;
            if (!keys[j].ok) {
                w->not_ipv4++;
                continue;
            }
            const uint64_t ts = pk[j]->ts;
            int v = sd__interval_check(&w->iv, ts);
            if (SD__UNLIKELY(v != SD_INTERVAL_IN)) {
                if (v == SD_INTERVAL_EARLY)
                    continue;
                const uint64_t end = w->iv.end_ns / NS;
                int r = close_interval(w, end, ts / NS);
                if (rc == 0)
                    rc = r;
                (void)sd_interval_open(&w->iv, ts, NULL);
            }
            if (SD__UNLIKELY(!w->started))
                (void)first_packet(w);
            struct ft_slot *s = table_find(&w->t, keys[j].h, keys[j].k0, keys[j].k1, keys[j].k2);
            if (s->cnt == 0) {
                if (SD__UNLIKELY(w->t.n >= w->t.limit)) {
                    int r = spill(w);
                    if (rc == 0)
                        rc = r;
                    s = table_find(&w->t, keys[j].h, keys[j].k0, keys[j].k1, keys[j].k2);
                }
                init_slot(ft, s, &keys[j], tp[j], ts);
                w->t.n++;
            }
            s->cnt++;
            w->counted++;
        }
    }
    return rc < 0 ? rc : (int)n;
}

int sd_flowtuple_tick(sd_flowtuple_worker *w, uint64_t ts_ns)
{
    if (w == NULL)
        return SD_ERR_INVAL;
    sd_flowtuple *ft = w->ft;
    if (ft->finished)
        return SD_ERR_STATE;
    sd_interval_span sp;
    if (sd__interval_advance(&w->iv, ts_ns, &sp))
        return close_interval(w, sp.end, ts_ns / NS);
    /* no open interval (idle from the start): just move the clock */
    if (!w->iv.open) {
        pthread_mutex_lock(&ft->lock);
        const uint64_t d = sd_interval_floor(ts_ns / NS, ft->cfg.interval);
        if (d > w->done_until)
            w->done_until = d;
        int rc = complete(ft);
        pthread_mutex_unlock(&ft->lock);
        return rc;
    }
    return 0;
}

int sd_flowtuple_finish(sd_flowtuple *ft)
{
    if (ft == NULL)
        return SD_ERR_INVAL;
    if (ft->finished)
        return SD_ERR_STATE;
    int rc = 0;
    for (unsigned i = 0; i < ft->cfg.workers; i++) {
        sd_flowtuple_worker *w = &ft->w[i];
        sd_interval_span sp;
        uint64_t end = w->iv.open ? w->iv.end_ns / NS : 0;
        if (sd_interval_finish(&w->iv, &sp) == 1) {
            int r = handover(w, end, UINT64_MAX);
            if (rc == 0)
                rc = r;
        } else {
            pthread_mutex_lock(&ft->lock);
            w->done_until = UINT64_MAX;
            pthread_mutex_unlock(&ft->lock);
        }
    }
    pthread_mutex_lock(&ft->lock);
    int r = complete(ft);
    pthread_mutex_unlock(&ft->lock);
    ft->finished = 1;
    return rc != 0 ? rc : r;
}

/* ------------------------------------------------------------ handle */

void sd_flowtuple_config_init(sd_flowtuple_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->size = sizeof *cfg;
    cfg->interval = 60;
    cfg->workers = 1;
    cfg->expected_tuples = 65536;
}

int sd_flowtuple_create(sd_flowtuple **ftp, const sd_flowtuple_config *cfg, char *errbuf)
{
    if (ftp == NULL || cfg == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "flowtuple: NULL argument");
    *ftp = NULL;
    if (cfg->size != sizeof *cfg)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "flowtuple: config size %zu, expected %zu (use sd_flowtuple_config_init)",
                          cfg->size, sizeof *cfg);
    if (cfg->interval == 0 || cfg->interval > SD__INTERVAL_MAX)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "flowtuple: interval %u s out of range 1..%u",
                          cfg->interval, SD__INTERVAL_MAX);
    if (cfg->workers == 0 || cfg->workers > 1024)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "flowtuple: %u workers, not 1..1024",
                          cfg->workers);
    if (cfg->flags & ~(unsigned)(SD_FT_INTERIM | SD_FT_UNSORTED | SD_FT_ALIGN_FIRST |
                                 SD_FT_DST_OCTET_COMPAT | SD_FT_EMIT_EMPTY))
        return sd__errbuf(errbuf, SD_ERR_INVAL, "flowtuple: unknown flags 0x%x", cfg->flags);
    if (cfg->output == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "flowtuple: no output callback");
    if (cfg->max_tuples > ((uint64_t)1 << 38))
        return sd__errbuf(errbuf, SD_ERR_INVAL, "flowtuple: max_tuples %llu too large",
                          (unsigned long long)cfg->max_tuples);

    sd_flowtuple *ft = sd__calloc(1, sizeof *ft);
    if (ft == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "flowtuple: out of memory");
    sd__handle_init(&ft->h);
    ft->cfg = *cfg;
    ft->ntab = (cfg->flags & SD_FT_INTERIM) ? cfg->workers : 1;
    ft->run_first = UINT64_MAX;
    ft->max_cap = cfg->max_tuples ? cap_for((size_t)cfg->max_tuples) : 0;
    int rc = SD_ERR_NOMEM;
    if (pthread_mutex_init(&ft->lock, NULL) != 0) {
        sd__free(ft);
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "flowtuple: cannot create a mutex");
    }
    ft->tagger = cfg->tagger;
    if (ft->tagger == NULL) {
        if ((rc = sd_tagger_create(&ft->own_tagger)) != 0 ||
            (rc = sd_tagger_freeze(ft->own_tagger)) != 0)
            goto fail;
        ft->tagger = ft->own_tagger;
    }
    rc = SD_ERR_NOMEM;
    size_t hint = cfg->expected_tuples ? (size_t)cfg->expected_tuples : 1;
    if (cfg->max_tuples && hint > cfg->max_tuples)
        hint = (size_t)cfg->max_tuples;
    const size_t cap = cap_for(hint);
    ft->w = sd__aligned_alloc(64, cfg->workers * sizeof *ft->w);
    if (ft->w == NULL)
        goto fail;
    memset(ft->w, 0, cfg->workers * sizeof *ft->w);
    for (unsigned i = 0; i < cfg->workers; i++) {
        sd_flowtuple_worker *w = &ft->w[i];
        w->ft = ft;
        w->id = i;
        sd__interval_init(&w->iv, cfg->interval,
                          (cfg->flags & SD_FT_ALIGN_FIRST) ? SD_INTERVAL_ALIGN_FIRST : 0);
        if (table_alloc(ft, &w->t, cap) != 0)
            goto fail;
    }
    /* pending tables get their slots from the first worker table given */
    for (size_t i = 0; i < SD__FT_PENDING; i++) {
        ft->pend[i].tabs = sd__calloc(ft->ntab, sizeof *ft->pend[i].tabs);
        if (ft->pend[i].tabs == NULL)
            goto fail;
    }
    *ftp = ft;
    return 0;
fail:
    sd_flowtuple_destroy(ft);
    return sd__errbuf(errbuf, rc, "flowtuple: %s while creating the tables", sd_strerror(rc));
}

sd_flowtuple_worker *sd_flowtuple_worker_get(sd_flowtuple *ft, unsigned i)
{
    return ft != NULL && i < ft->cfg.workers ? &ft->w[i] : NULL;
}

void sd_flowtuple_get_stats(const sd_flowtuple *ft, sd_flowtuple_stats *st)
{
    if (st == NULL)
        return;
    memset(st, 0, sizeof *st);
    if (ft == NULL)
        return;
    sd_flowtuple *m = (sd_flowtuple *)ft; /* the lock only */
    pthread_mutex_lock(&m->lock);
    st->memory = sizeof *ft + ft->outcap * sizeof *ft->out + ft->skcap * sizeof *ft->skeys;
    for (unsigned i = 0; i < ft->cfg.workers; i++) {
        const sd_flowtuple_worker *w = &ft->w[i];
        st->packets += w->packets;
        st->counted += w->counted;
        st->not_ipv4 += w->not_ipv4;
        st->previnterval += w->iv.st.previnterval;
        st->spills += w->spills;
        st->memory += sizeof *w + w->t.cap * sizeof *w->t.slots;
    }
    for (size_t i = 0; i < SD__FT_PENDING; i++)
        for (size_t j = 0; j < ft->ntab; j++)
            st->memory += ft->pend[i].tabs[j].cap * sizeof(struct ft_slot);
    st->intervals = ft->intervals;
    st->empty_intervals = ft->empty;
    st->records = ft->records;
    st->early_flushes = ft->early;
    st->late_chunks = ft->late;
    st->forced = ft->forced;
    st->max_live = ft->max_live;
    pthread_mutex_unlock(&m->lock);
}

void sd_flowtuple_destroy(sd_flowtuple *ft)
{
    if (ft == NULL)
        return;
    if (ft->w != NULL)
        for (unsigned i = 0; i < ft->cfg.workers; i++)
            slots_free(&ft->w[i].t);
    sd__free(ft->w);
    for (size_t i = 0; i < SD__FT_PENDING; i++) {
        if (ft->pend[i].tabs == NULL)
            continue;
        for (size_t j = 0; j < ft->ntab; j++)
            slots_free(&ft->pend[i].tabs[j]);
        sd__free(ft->pend[i].tabs);
    }
    sd__free(ft->out);
    sd__free(ft->skeys);
    sd_tagger_destroy(ft->own_tagger);
    pthread_mutex_destroy(&ft->lock);
    ft->h.magic = 0;
    sd__free(ft);
}
