/* A plain FT4 fold of ONE interval's FT3 records (flowtuple.md §2 with
 * stardust's choices, include/stardust/ft4.h), written the obvious way:
 * sort every record by group, then sort each group's values. It is the
 * oracle of tests/unit/check_ft4.c and the baseline of bench_ft4.c; it
 * shares no code with lib/ft4.c. Not thread-safe (static scratch). */
#ifndef SD_FT4_REF_H
#define SD_FT4_REF_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/flowtuple.h>

struct ref_item {
    int fam;
    uint32_t src, net, port;
    const sd_ft3_record *r;
};

struct ref_val {
    uint32_t v;
    uint64_t cnt;
};

static int ref_cmp_item(const void *a, const void *b)
{
    const struct ref_item *x = a, *y = b;
    if (x->fam != y->fam)
        return x->fam < y->fam ? -1 : 1;
    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    if (x->net != y->net)
        return x->net < y->net ? -1 : 1;
    if (x->port != y->port)
        return x->port < y->port ? -1 : 1;
    return 0;
}

static int ref_cmp_val(const void *a, const void *b)
{
    const struct ref_val *x = a, *y = b;
    return x->v < y->v ? -1 : x->v > y->v;
}

/* Record order key within a group: time, ttl, flags, dst, sport, dport, len. */
static int ref_cmp_key(const sd_ft3_record *a, const sd_ft3_record *b)
{
#define REF_C(f)                                                                               \
    if (a->f != b->f)                                                                          \
        return a->f < b->f ? -1 : 1;
    REF_C(time) REF_C(ttl) REF_C(tcp_flags) REF_C(dst_ip) REF_C(src_port) REF_C(dst_port)
    REF_C(ip_len)
#undef REF_C
    return 0;
}

static void ref_tags(const sd_ft3_record *r, char out[8])
{
    memcpy(out, r->maxmind_continent, 2);
    memcpy(out + 2, r->maxmind_country, 2);
    memcpy(out + 4, r->netacq_continent, 2);
    memcpy(out + 6, r->netacq_country, 2);
}

/* Distinct count and common list of one dimension; vals sorted in place. */
static uint32_t ref_dim(struct ref_val *vals, size_t n, uint64_t p, sd_ft4_common *c)
{
    qsort(vals, n, sizeof *vals, ref_cmp_val);
    size_t d = 0;
    for (size_t i = 0; i < n; i++) {
        if (d > 0 && vals[d - 1].v == vals[i].v)
            vals[d - 1].cnt += vals[i].cnt;
        else
            vals[d++] = vals[i];
    }
    unsigned ratio = p < 10 ? (d < 4 ? 100 : d < 7 ? 50 : 33) : (d < 15 ? 33 : 20);
    c->n = 0;
    for (size_t i = 0; i < d && c->n < SD_FT4_MAX_COMMON; i++) {
        /* exact: count >= ratio/100 * p (values here are far below 2^57) */
        if (vals[i].cnt * 100 >= (uint64_t)ratio * p) {
            c->value[c->n] = vals[i].v;
            c->freq[c->n++] = vals[i].cnt;
        }
    }
    return (uint32_t)d;
}

static struct ref_item *ref_items;
static struct ref_val *ref_vals;
static size_t ref_cap;

static void ref_free(void)
{
    free(ref_items);
    free(ref_vals);
    ref_items = NULL;
    ref_vals = NULL;
    ref_cap = 0;
}

/* Fold recs[0..n) (all of interval `time`) into out[], which must have
 * room for n records. Returns the number of FT4 records. */
static size_t ref_fold(const sd_ft3_record *recs, size_t n, uint32_t time, int prefix_len,
                       int version, sd_ft4_record *out)
{
    if (n > ref_cap) {
        free(ref_items);
        free(ref_vals);
        ref_items = malloc(n * sizeof *ref_items);
        ref_vals = malloc(n * sizeof *ref_vals);
        ref_cap = n;
        if (ref_items == NULL || ref_vals == NULL)
            abort();
    }
    uint32_t mask = prefix_len == 16 ? 0xffff0000u : 0xffffff00u;
    for (size_t i = 0; i < n; i++) {
        const sd_ft3_record *r = &recs[i];
        struct ref_item *it = &ref_items[i];
        it->r = r;
        it->src = r->src_ip;
        it->net = r->dst_ip & mask;
        if (r->protocol == 1) {
            it->fam = 0;
            it->port = (uint32_t)(r->src_port & 0xff) * 256 + (r->dst_port & 0xff);
        } else if (r->protocol == 6 || r->protocol == 17) {
            it->fam = r->protocol == 6 ? 1 : 2;
            it->port = r->dst_port;
        } else {
            it->fam = 3;
            it->port = r->protocol;
        }
    }
    qsort(ref_items, n, sizeof *ref_items, ref_cmp_item);
    size_t no = 0;
    for (size_t a = 0, b; a < n; a = b) {
        for (b = a + 1; b < n && ref_cmp_item(&ref_items[a], &ref_items[b]) == 0; b++)
            ;
        const struct ref_item *it = &ref_items[a];
        sd_ft4_record *o = &out[no++];
        memset(o, 0, sizeof *o);
        o->time = time;
        o->src_ip = it->src;
        o->dst_net = it->net;
        o->dst_port = it->fam == 3 ? 0 : it->port;
        o->protocol = it->r->protocol;
        uint64_t p = 0, sp = 0, mc = 0;
        const sd_ft3_record *syn = NULL, *tag = NULL;
        for (size_t i = a; i < b; i++) {
            const sd_ft3_record *r = ref_items[i].r;
            p += r->packet_cnt;
            sp += r->is_spoofed ? r->packet_cnt : 0;
            mc += r->is_masscan ? r->packet_cnt : 0;
            if (r->tcp_flags == 0x02) {
                int c = syn ? ref_cmp_key(r, syn) : -1;
                if (c < 0 || (c == 0 && ((uint32_t)r->tcp_synlen << 16 | r->tcp_synwinlen) <
                                            ((uint32_t)syn->tcp_synlen << 16 | syn->tcp_synwinlen)))
                    syn = r;
            }
            int better = tag == NULL || r->packet_cnt > tag->packet_cnt;
            if (!better && r->packet_cnt == tag->packet_cnt) {
                int c = ref_cmp_key(r, tag);
                if (c == 0) {
                    char x[8], y[8];
                    ref_tags(r, x);
                    ref_tags(tag, y);
                    c = memcmp(x, y, 8);
                    if (c == 0)
                        c = r->prefix2asn < tag->prefix2asn ? -1 : 0;
                }
                better = c < 0;
            }
            if (better)
                tag = r;
        }
        o->packet_cnt = p;
        /* distinct hosts */
        size_t k = b - a;
        for (size_t i = 0; i < k; i++)
            ref_vals[i] = (struct ref_val){ref_items[a + i].r->dst_ip & ~mask & 0xffff, 0};
        sd_ft4_common scratch;
        o->uniq_dst_ips = ref_dim(ref_vals, k, p, &scratch);
        for (size_t i = 0; i < k; i++)
            ref_vals[i] = (struct ref_val){ref_items[a + i].r->ip_len, ref_items[a + i].r->packet_cnt};
        o->uniq_pkt_sizes = ref_dim(ref_vals, k, p, &o->common_pktsizes);
        for (size_t i = 0; i < k; i++)
            ref_vals[i] = (struct ref_val){ref_items[a + i].r->ttl, ref_items[a + i].r->packet_cnt};
        o->uniq_ttls = ref_dim(ref_vals, k, p, &o->common_ttls);
        if (it->fam == 1 || it->fam == 2) {
            for (size_t i = 0; i < k; i++)
                ref_vals[i] = (struct ref_val){ref_items[a + i].r->src_port,
                                               ref_items[a + i].r->packet_cnt};
            o->uniq_src_ports = ref_dim(ref_vals, k, p, &o->common_srcports);
        }
        if (it->fam == 1) {
            for (size_t i = 0; i < k; i++)
                ref_vals[i] = (struct ref_val){ref_items[a + i].r->tcp_flags,
                                               ref_items[a + i].r->packet_cnt};
            o->uniq_tcp_flags = ref_dim(ref_vals, k, p, &o->common_tcpflags);
        }
        if (syn != NULL) {
            o->first_syn_length = syn->tcp_synlen;
            o->first_tcp_rwin = syn->tcp_synwinlen;
        }
        if (version >= 1) {
            memcpy(o->maxmind_continent, tag->maxmind_continent, 2);
            memcpy(o->maxmind_country, tag->maxmind_country, 2);
        } else {
            memcpy(o->maxmind_continent, "??", 2);
            memcpy(o->maxmind_country, "??", 2);
        }
        memcpy(o->netacq_continent, tag->netacq_continent, 2);
        memcpy(o->netacq_country, tag->netacq_country, 2);
        o->prefix2asn = tag->prefix2asn;
        if (version >= 2) {
            o->spoofed_packet_cnt = sp;
            o->masscan_packet_cnt = mc;
        }
    }
    return no;
}

#endif
