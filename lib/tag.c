/* stardust: the tagger (include/stardust/tag.h, tags.md §1, §4, §5).
 *
 * sd_tag() fills the basic tags (§1.2) from sd_parse()'s result, the filter
 * bits from sd_filterbits(), and the provider tags of the source address.
 * Provider answers are precomputed at freeze: each distinct answer (the
 * providers_used bits 1-3, prefixasn and the geo fields) is stored once as
 * a struct sd__tag_ans, and a packet copies the one its source maps to.
 */
#include "config.h"

#include <limits.h>
#include <string.h>

#include <stardust/filterbits.h>
#include <stardust/tag.h>

#include "geo_int.h"
#include "internal.h"
#include "tag_int.h"

/* Packets parsed per sd_parse_bulk() call when the caller gives no parse
 * results (a stack array: no allocation per batch). */
#define SD__TAG_PARSE_CHUNK 64

/* The provider part of a tag, as it is copied into sd_tags. */
struct sd__tag_ans {
    uint32_t providers; /* SD_TAG_MAXMIND | SD_TAG_NETACQ | SD_TAG_PFX2AS */
    uint32_t prefixasn;
    uint16_t netacq_region;
    char maxmind_country[2], maxmind_continent[2];
    char netacq_country[2], netacq_continent[2];
    uint32_t netacq_polygon[8];
};

struct sd__tag_pfx {
    sd_pfx2as *table;
    const sd_lpm *lpm;
    uint32_t *asn;   /* per origin list: its ASN when it has exactly one, else 0 */
    uint8_t *single; /* per origin list: 1 when it has exactly one ASN */
};

struct sd_tagger {
    struct sd__handle h;
    int frozen;
    struct sd__tag_pfx *pfx; /* later entries answer first */
    size_t npfx, cappfx;
    sd_geo *maxmind, *netacq;
};

int sd_tagger_create(sd_tagger **tp)
{
    if (tp == NULL)
        return SD_ERR_INVAL;
    *tp = NULL;
    sd_tagger *t = sd__calloc(1, sizeof *t);
    if (t == NULL)
        return SD_ERR_NOMEM;
    sd__handle_init(&t->h);
    *tp = t;
    return 0;
}

int sd_tagger_add_pfx2as(sd_tagger *t, sd_pfx2as *table)
{
    if (t == NULL) {
        sd_pfx2as_close(table);
        return SD_ERR_INVAL;
    }
    if (table == NULL)
        return sd__seterr(&t->h, SD_ERR_INVAL, "tagger: NULL pfx2as table");
    if (t->frozen) {
        sd_pfx2as_close(table);
        return sd__seterr(&t->h, SD_ERR_INVAL, "tagger: pfx2as table added after freeze");
    }
    if (sd__grow((void **)&t->pfx, &t->cappfx, t->npfx + 1, sizeof *t->pfx) != 0) {
        sd_pfx2as_close(table);
        return sd__seterr(&t->h, SD_ERR_NOMEM, "tagger: out of memory");
    }
    t->pfx[t->npfx++] = (struct sd__tag_pfx){.table = table, .lpm = sd__pfx2as_lpm(table)};
    return 0;
}

int sd_tagger_add_geo(sd_tagger *t, sd_geo *geo)
{
    if (t == NULL) {
        sd_geo_close(geo);
        return SD_ERR_INVAL;
    }
    if (geo == NULL)
        return sd__seterr(&t->h, SD_ERR_INVAL, "tagger: NULL geo table");
    int rc = 0;
    sd_geo **slot = geo->kind == SD_GEO_MAXMIND ? &t->maxmind
                    : geo->kind == SD_GEO_NETACQ ? &t->netacq
                                                 : NULL;
    if (t->frozen)
        rc = sd__seterr(&t->h, SD_ERR_INVAL, "tagger: geo table added after freeze");
    else if (slot == NULL)
        rc = sd__seterr(&t->h, SD_ERR_INVAL, "tagger: geo table of unknown kind %d", geo->kind);
    else if (*slot != NULL)
        rc = sd__seterr(&t->h, SD_ERR_INVAL, "tagger: a %s table was already added",
                        geo->kind == SD_GEO_MAXMIND ? "MaxMind" : "Net Acuity");
    if (rc != 0) {
        sd_geo_close(geo);
        return rc;
    }
    *slot = geo;
    return 0;
}

int sd_tagger_freeze(sd_tagger *t)
{
    if (t == NULL)
        return SD_ERR_INVAL;
    if (t->frozen)
        return sd__seterr(&t->h, SD_ERR_INVAL, "tagger: frozen twice");
    for (size_t i = 0; i < t->npfx; i++) {
        struct sd__tag_pfx *p = &t->pfx[i];
        if (p->asn != NULL)
            continue; /* done by an earlier attempt that ran out of memory */
        size_t n = sd__pfx2as_nlists(p->table);
        uint32_t *asn = sd__calloc(n ? n : 1, sizeof *asn);
        uint8_t *single = sd__calloc(n ? n : 1, 1);
        if (asn == NULL || single == NULL) {
            sd__free(asn);
            sd__free(single);
            return sd__seterr(&t->h, SD_ERR_NOMEM, "tagger: out of memory");
        }
        for (size_t k = 0; k < n; k++) {
            const uint32_t *a;
            /* tags.md §5.1: only a single origin sets prefixasn */
            if (sd__pfx2as_list(p->table, (uint32_t)k, &a) == 1) {
                asn[k] = a[0];
                single[k] = 1;
            }
        }
        p->asn = asn;
        p->single = single;
    }
    t->frozen = 1;
    return 0;
}

/* The provider answer for the IPv4 source src (host order). */
static inline void lookup_src(const sd_tagger *t, uint32_t src, struct sd__tag_ans *a)
{
    for (size_t i = t->npfx; i-- > 0;) {
        const struct sd__tag_pfx *p = &t->pfx[i];
        uint32_t v = sd_lpm_lookup4(p->lpm, src);
        if (v != SD_LPM_NONE) {
            a->prefixasn = p->asn[v];
            a->providers |= p->single[v] ? SD_TAG_PFX2AS : 0;
            break;
        }
    }
    if (t->maxmind != NULL) {
        uint32_t v = sd_lpm_lookup4(t->maxmind->lpm, src);
        if (v != SD_LPM_NONE) {
            const sd_geo_record *r = &t->maxmind->recs[v];
            a->providers |= SD_TAG_MAXMIND;
            memcpy(a->maxmind_country, r->country, 2);
            memcpy(a->maxmind_continent, r->continent, 2);
        }
    }
    if (t->netacq != NULL) {
        uint32_t v = sd_lpm_lookup4(t->netacq->lpm, src);
        if (v != SD_LPM_NONE) {
            const sd_geo_record *r = &t->netacq->recs[v];
            a->providers |= SD_TAG_NETACQ;
            memcpy(a->netacq_country, r->country, 2);
            memcpy(a->netacq_continent, r->continent, 2);
            a->netacq_region = r->region_code;
            memcpy(a->netacq_polygon, r->polygon, sizeof a->netacq_polygon);
        }
    }
}

static inline void tag_one(const sd_tagger *t, const sd_parsed *p, const sd_packet *pkt,
                           sd_tags *out)
{
    memset(out, 0, sizeof *out);
    if (SD__UNLIKELY(pkt == NULL))
        return;
    /* tags.md §4, §2.3 (recommended): only an IPv4 header behind EtherType
     * 0x0800 (or a raw/loopback IPv4 link) is tagged; IPv6, ARP, a header
     * claiming another version and L2-only frames are NOTIP. */
    if (SD__UNLIKELY(!(p->flags & SD_P_IP4) || p->ip_version != 4 || pkt->data == NULL)) {
        out->filterbits = SD_FB(SD_FILTER_NOTIP);
        return;
    }
    out->filterbits = sd_filterbits(p, pkt);

    /* tags.md §1.2: a transport header exists unless this is a later
     * fragment or the IPv4 header (IHL*4) is not all captured. */
    if (p->l4_off != 0 && !(p->flags & SD_P_FRAG_LATER) && p->l4_off <= pkt->caplen) {
        const uint8_t *l4 = pkt->data + p->l4_off;
        const uint32_t rem = pkt->caplen - p->l4_off;
        const uint8_t proto = p->proto;
        uint16_t sp = 0, dp = 0;
        uint8_t fl = 0;
        if (proto == 6 || proto == 17) {
            if (rem >= 4) {
                sp = sd__be16(l4);
                dp = sd__be16(l4 + 2);
            }
            if (proto == 6 && rem >= 20)
                fl = l4[13]; /* §1.3: raw flags byte, ECE/CWR included */
        } else if (proto == 1 && rem >= 2) {
            sp = l4[0];
            dp = l4[1];
        }
        out->protocol = proto;
        out->src_port = sp;
        out->dest_port = dp;
        out->ft_hash = sd_ft_hash(p->src4, p->dst4, sp, dp, p->ttl, fl, proto,
                                  (uint16_t)p->ip_len);
        out->providers_used = SD_TAG_BASIC;
    }

    if (t->npfx == 0 && t->maxmind == NULL && t->netacq == NULL)
        return;
    struct sd__tag_ans a = {0};
    lookup_src(t, p->src4, &a);
    out->providers_used |= a.providers;
    out->prefixasn = a.prefixasn;
    out->netacq_region = a.netacq_region;
    memcpy(out->netacq_polygon, a.netacq_polygon, sizeof out->netacq_polygon);
    memcpy(out->maxmind_country, a.maxmind_country, 2);
    memcpy(out->maxmind_continent, a.maxmind_continent, 2);
    memcpy(out->netacq_country, a.netacq_country, 2);
    memcpy(out->netacq_continent, a.netacq_continent, 2);
}

int sd_tag(const sd_tagger *t, const sd_packet *const *pkts, const sd_parsed *parsed,
           sd_tags *out, size_t n)
{
    if (t == NULL || n > INT_MAX || (n > 0 && (pkts == NULL || out == NULL)) || !t->frozen)
        return SD_ERR_INVAL;
    if (parsed != NULL) {
        for (size_t i = 0; i < n; i++)
            tag_one(t, &parsed[i], pkts[i], &out[i]);
        return (int)n;
    }
    sd_parsed buf[SD__TAG_PARSE_CHUNK];
    for (size_t i = 0; i < n; i += SD__TAG_PARSE_CHUNK) {
        size_t k = n - i < SD__TAG_PARSE_CHUNK ? n - i : SD__TAG_PARSE_CHUNK;
        /* A NULL pkts[j] gets a zeroed buf[j] (and all-zero tags). */
        (void)sd_parse_bulk(pkts + i, buf, k);
        for (size_t j = 0; j < k; j++)
            tag_one(t, &buf[j], pkts[i + j], &out[i + j]);
    }
    return (int)n;
}

int sd_tagger_lookup(const sd_tagger *t, int family, const uint8_t *addr, sd_tag_lookup *out)
{
    if (out != NULL)
        memset(out, 0, sizeof *out);
    if (t == NULL || addr == NULL || out == NULL || (family != 4 && family != 6))
        return SD_ERR_INVAL;
    uint32_t a4 = family == 4 ? sd__be32(addr) : 0;
    for (size_t i = t->npfx; i-- > 0;) {
        const uint32_t *asns;
        size_t k = family == 4 ? sd_pfx2as_lookup4(t->pfx[i].table, a4, &asns)
                               : sd_pfx2as_lookup6(t->pfx[i].table, addr, &asns);
        if (k > 0) {
            out->asns = asns;
            out->n_asns = k;
            if (k == 1)
                out->providers |= SD_TAG_PFX2AS;
            break;
        }
    }
    if (t->maxmind != NULL) {
        out->maxmind = family == 4 ? sd_geo_lookup4(t->maxmind, a4)
                                   : sd_geo_lookup6(t->maxmind, addr);
        if (out->maxmind != NULL)
            out->providers |= SD_TAG_MAXMIND;
    }
    if (t->netacq != NULL) {
        out->netacq = family == 4 ? sd_geo_lookup4(t->netacq, a4)
                                  : sd_geo_lookup6(t->netacq, addr);
        if (out->netacq != NULL)
            out->providers |= SD_TAG_NETACQ;
    }
    return 0;
}

size_t sd_tagger_memory(const sd_tagger *t)
{
    if (t == NULL)
        return 0;
    size_t m = sizeof *t + t->cappfx * sizeof *t->pfx;
    for (size_t i = 0; i < t->npfx; i++) {
        m += sd_pfx2as_memory(t->pfx[i].table);
        if (t->pfx[i].asn != NULL)
            m += sd__pfx2as_nlists(t->pfx[i].table) * (sizeof(uint32_t) + 1);
    }
    return m + sd_geo_memory(t->maxmind) + sd_geo_memory(t->netacq);
}

void sd_tagger_destroy(sd_tagger *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->npfx; i++) {
        sd_pfx2as_close(t->pfx[i].table);
        sd__free(t->pfx[i].asn);
        sd__free(t->pfx[i].single);
    }
    sd__free(t->pfx);
    sd_geo_close(t->maxmind);
    sd_geo_close(t->netacq);
    t->h.magic = 0;
    sd__free(t);
}
