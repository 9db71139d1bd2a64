/* stardust: the tagger (include/stardust/tag.h, tags.md §1, §4, §5).
 *
 * sd_tag() fills the filter bits and basic tags (§1.2) of a batch from
 * sd__filterbits_batch() (one pass over sd_parse()'s results and the
 * headers), and the provider tags of the source address.
 * Provider answers are precomputed at freeze: each distinct answer (the
 * providers_used bits 1-3, prefixasn and the geo fields) is stored once as
 * an sd_tags image (sd__tag_ans). With two or more provider tables,
 * sd__lpm_overlay() merges their LPMs into one whose values index those
 * answers; with one, its own LPM values index them. Either way a packet costs one LPM lookup
 * and a copy, whatever the number of providers.
 */
#include "config.h"

#include <limits.h>
#include <stddef.h>
#include <string.h>

#include <stardust/filterbits.h>
#include <stardust/tag.h>

#include "filterbits_int.h"
#include "geo_int.h"
#include "internal.h"
#include "lpm_int.h"
#include "tag_int.h"

/* Packets handled per step: parsed (when the caller gives no parse
 * results) and filtered in one go, on the stack (no allocation). */
#define SD__TAG_CHUNK SD__FB_BATCH

/* A precomputed answer is the provider part of a tag laid out as the
 * sd_tags it goes into (providers_used holds only provider bits, the
 * per-packet fields are 0). Answers are built and de-duplicated as whole
 * sd_tags; frozen, only their first 64 bytes are kept, one cache line
 * each (every provider field lies there), and tagging copies those, then
 * sets the packet's own fields. */
typedef sd_tags sd__tag_ans;

struct sd__tag_line {
    unsigned char b[64];
} __attribute__((aligned(64)));

_Static_assert(offsetof(sd_tags, netacq_continent) + 2 <= 64 &&
                   offsetof(sd_tags, ft_hash) >= 64 && sizeof(sd_tags) == 72,
               "the provider fields of sd_tags must lie in its first 64 bytes");

struct sd_tagger {
    struct sd__handle h;
    int frozen;
    sd_pfx2as **pfx; /* later entries answer first */
    size_t npfx, cappfx;
    sd_geo *maxmind, *netacq;
    /* frozen state */
    const sd_lpm *lpm;       /* source -> index into ans; NULL without providers */
    sd_lpm *overlay;         /* owned; NULL with fewer than two tables */
    sd__tag_ans *ans;        /* build state; freed at freeze */
    size_t nans, capans;
    /* lines[0] is the answer of an address no provider knows (all 0),
     * lines[v + 1] the answer of LPM value v, so SD_LPM_NONE + 1 wraps to
     * 0 without a branch */
    const struct sd__tag_line *lines;
    void *lines_mem;         /* lines (nans + 1 of them), before alignment */
    uint32_t *ahash;         /* answer index + 1, open addressing; freeze only */
    size_t ahashcap;
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
    t->pfx[t->npfx++] = table;
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

/* Index of an answer equal to *a (built from a zeroed struct, so padding
 * compares equal), added when new. Returns >= 0 or SD_ERR_NOMEM. */
static int64_t intern_ans(sd_tagger *t, const sd__tag_ans *a)
{
    return sd__intern((void **)&t->ans, &t->nans, &t->capans, sizeof *a, &t->ahash,
                      &t->ahashcap, SD_LPM_VALUE_MAX, a);
}

static void fill_pfx2as(sd__tag_ans *a, const sd_pfx2as *p, uint32_t v)
{
    const uint32_t *asns;
    /* tags.md §5.1: only a single origin sets prefixasn and bit 3 */
    if (sd__pfx2as_list(p, v, &asns) == 1) {
        a->prefixasn = asns[0];
        a->providers_used |= SD_TAG_PFX2AS;
    }
}

static void fill_geo(sd__tag_ans *a, const sd_geo *g, uint32_t v)
{
    const sd_geo_record *r = &g->recs[v];
    if (g->kind == SD_GEO_MAXMIND) {
        a->providers_used |= SD_TAG_MAXMIND;
        memcpy(a->maxmind_country, r->country, 2);
        memcpy(a->maxmind_continent, r->continent, 2);
    } else {
        a->providers_used |= SD_TAG_NETACQ;
        memcpy(a->netacq_country, r->country, 2);
        memcpy(a->netacq_continent, r->continent, 2);
        a->netacq_region = r->region_code;
        memcpy(a->netacq_polygon, r->polygon, sizeof a->netacq_polygon);
    }
}

/* sd__lpm_overlay() callback: v[] = the values of pfx[0..npfx), then
 * maxmind, then netacq (those present), for one range of addresses. */
static int64_t combine(void *user, const uint32_t *v)
{
    sd_tagger *t = user;
    sd__tag_ans a;
    memset(&a, 0, sizeof a);
    for (size_t i = t->npfx; i-- > 0;) { /* the later table answers */
        if (v[i] != SD_LPM_NONE) {
            fill_pfx2as(&a, t->pfx[i], v[i]);
            break;
        }
    }
    size_t k = t->npfx;
    if (t->maxmind != NULL && v[k++] != SD_LPM_NONE)
        fill_geo(&a, t->maxmind, v[k - 1]);
    if (t->netacq != NULL && v[k] != SD_LPM_NONE)
        fill_geo(&a, t->netacq, v[k]);
    return intern_ans(t, &a);
}

/* One provider table: its own LPM values index the answers (one answer
 * per origin list or record, in order, not de-duplicated). */
static int build_direct(sd_tagger *t)
{
    size_t nv = t->npfx ? sd__pfx2as_nlists(t->pfx[0])
                        : (t->maxmind ? t->maxmind : t->netacq)->nrecs;
    t->ans = sd__calloc(nv ? nv : 1, sizeof *t->ans);
    if (t->ans == NULL)
        return SD_ERR_NOMEM;
    t->nans = t->capans = nv;
    for (size_t i = 0; i < nv; i++) {
        if (t->npfx)
            fill_pfx2as(&t->ans[i], t->pfx[0], (uint32_t)i);
        else
            fill_geo(&t->ans[i], t->maxmind ? t->maxmind : t->netacq, (uint32_t)i);
    }
    t->lpm = t->npfx ? sd__pfx2as_lpm(t->pfx[0]) : (t->maxmind ? t->maxmind : t->netacq)->lpm;
    return 0;
}

/* The frozen answers: lines[0] all 0, then the first 64 bytes of each
 * answer. The sd_tags-sized build copies are dropped. */
static int make_lines(sd_tagger *t)
{
    size_t n = t->nans + 1, bytes = n * sizeof(struct sd__tag_line) + 63;
    unsigned char *mem = sd__calloc(1, bytes);
    if (mem == NULL)
        return SD_ERR_NOMEM;
    struct sd__tag_line *l = (void *)(mem + (-(uintptr_t)mem & 63u));
    for (size_t i = 0; i < t->nans; i++)
        memcpy(&l[i + 1], &t->ans[i], sizeof l[i + 1]);
    /* with SD_TAG_BASIC set: nearly every packet has the basic tags, and
     * tag_chunk() clears the bit for the others */
    for (size_t i = 0; i < n; i++) {
        uint32_t pu;
        memcpy(&pu, l[i].b + offsetof(sd_tags, providers_used), sizeof pu);
        pu |= SD_TAG_BASIC;
        memcpy(l[i].b + offsetof(sd_tags, providers_used), &pu, sizeof pu);
    }
    t->lines = l;
    t->lines_mem = mem;
    sd__free(t->ans);
    t->ans = NULL;
    t->capans = 0;
    return 0;
}

int sd_tagger_freeze(sd_tagger *t)
{
    if (t == NULL)
        return SD_ERR_INVAL;
    if (t->frozen)
        return sd__seterr(&t->h, SD_ERR_INVAL, "tagger: frozen twice");
    const sd_lpm **tables = sd__malloc((t->npfx + 2) * sizeof *tables);
    if (tables == NULL)
        return sd__seterr(&t->h, SD_ERR_NOMEM, "tagger: out of memory");
    size_t n = 0;
    for (size_t i = 0; i < t->npfx; i++)
        tables[n++] = sd__pfx2as_lpm(t->pfx[i]);
    if (t->maxmind != NULL)
        tables[n++] = t->maxmind->lpm;
    if (t->netacq != NULL)
        tables[n++] = t->netacq->lpm;
    int rc = 0;
    if (n == 1)
        rc = build_direct(t);
    else if (n > 1 && (rc = sd__lpm_overlay(&t->overlay, tables, n, combine, t)) == 0)
        t->lpm = t->overlay;
    sd__free(tables);
    sd__free(t->ahash); /* interning is over */
    t->ahash = NULL;
    t->ahashcap = 0;
    if (rc == 0)
        rc = make_lines(t);
    if (rc != 0) {
        /* back to build state: freeze may be retried */
        sd_lpm_destroy(t->overlay);
        t->overlay = NULL;
        sd__free(t->ans);
        t->ans = NULL;
        t->nans = t->capans = 0;
        t->lpm = NULL;
        return sd__seterr(&t->h, rc, "tagger: %s while combining the provider tables",
                          sd_strerror(rc));
    }
    t->frozen = 1;
    return 0;
}

/* Packet j of a batch from the columns of sd__filterbits_batch() and the
 * provider answer a of its IPv4 source. Every field of *out is written (no
 * memset: this is the tagger's inner loop). */
__attribute__((always_inline)) static inline void tag_one(const struct sd__tag_line *restrict a,
                                                         const struct sd__fb_batch *restrict c,
                                                         size_t j, sd_tags *restrict out)
{
    /* the per-packet fields among the answer's bytes are 0; two 32-byte
     * moves where the target has them (tag_chunk_avx2), else four */
    typedef uint8_t v32 __attribute__((vector_size(32)));
    typedef uint8_t v32u __attribute__((vector_size(32), aligned(1)));
    const v32 *src = (const v32 *)(const void *)a;
    v32u *dst = (v32u *)(void *)out;
    dst[0] = src[0];
    dst[1] = src[1];
    out->src_port = (uint16_t)c->sport[j];
    out->filterbits = c->fb[j];
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    /* dest_port, protocol and pad0 (0) in one store; ft_hash and pad1 (0)
     * in another */
    memcpy(&out->dest_port, &c->dport_proto[j], 4);
    const uint64_t hash_pad1 = c->hash[j];
    memcpy(&out->ft_hash, &hash_pad1, 8);
#else
    out->dest_port = (uint16_t)c->dport_proto[j];
    out->protocol = (uint8_t)(c->dport_proto[j] >> 16);
    out->pad0 = 0;
    out->ft_hash = c->hash[j];
    out->pad1 = 0;
#endif
}

_Static_assert(offsetof(sd_tags, pad1) == offsetof(sd_tags, ft_hash) + 4,
               "ft_hash and pad1 are stored at once");
_Static_assert(offsetof(sd_tags, protocol) == offsetof(sd_tags, dest_port) + 2 &&
                   offsetof(sd_tags, pad0) == offsetof(sd_tags, dest_port) + 3,
               "dport_proto is stored over dest_port, protocol and pad0");

/* tags.md §4, §2.3 (recommended): only an IPv4 header behind EtherType
 * 0x0800 (or a raw/loopback IPv4 link) is tagged; IPv6, ARP, a header
 * claiming another version and L2-only frames are NOTIP, and a NULL
 * packet gets all-zero tags. */
static void tag_untagged(const sd_packet *pkt, sd_tags *out)
{
    memset(out, 0, sizeof *out);
    out->filterbits = pkt != NULL ? SD_FB(SD_FILTER_NOTIP) : 0;
}

/* val: the LPM values of the sources, or NULL without providers. */
__attribute__((always_inline)) static inline void
tag_chunk(const struct sd__tag_line *lines, const sd_packet *const *pkts,
          const struct sd__fb_batch *c, const uint32_t *val, sd_tags *out, size_t k)
{
    enum { FULL = SD__FB_L4OK | SD__FB_LIVE | SD__FB_TAG4 };
    for (size_t j = 0; j < k; j++) {
        const struct sd__tag_line *a = &lines[val != NULL ? (uint32_t)(val[j] + 1u) : 0];
        if (SD__LIKELY(c->kind[j] == FULL)) {
            tag_one(a, c, j, &out[j]);
        } else if (c->kind[j] & SD__FB_TAG4) {
            /* a later fragment, or the IPv4 header cut: no basic tags */
            tag_one(a, c, j, &out[j]);
            out[j].providers_used &= ~SD_TAG_BASIC;
        } else {
            tag_untagged(pkts[j], &out[j]);
        }
    }
}

static void tag_chunk_base(const struct sd__tag_line *lines, const sd_packet *const *pkts,
                           const struct sd__fb_batch *c, const uint32_t *val, sd_tags *out,
                           size_t k)
{
    if (val != NULL)
        tag_chunk(lines, pkts, c, val, out, k);
    else
        tag_chunk(lines, pkts, c, NULL, out, k);
}

#if defined(__x86_64__) || defined(__i386__)
/* The same with 32-byte moves for the answer lines. */
__attribute__((target("avx2"))) static void
tag_chunk_avx2(const struct sd__tag_line *lines, const sd_packet *const *pkts,
               const struct sd__fb_batch *c, const uint32_t *val, sd_tags *out, size_t k)
{
    if (val != NULL)
        tag_chunk(lines, pkts, c, val, out, k);
    else
        tag_chunk(lines, pkts, c, NULL, out, k);
}
#endif

int sd_tag(const sd_tagger *t, const sd_packet *const *pkts, const sd_parsed *parsed,
           sd_tags *out, size_t n)
{
    if (t == NULL || n > INT_MAX || (n > 0 && (pkts == NULL || out == NULL)) || !t->frozen)
        return SD_ERR_INVAL;
    sd_parsed buf[SD__TAG_CHUNK];
    struct sd__fb_batch c;
    uint32_t val[SD__TAG_CHUNK];
#if defined(__x86_64__) || defined(__i386__)
    const int avx2 = sd__cpu_features() & SD__CPU_AVX2;
#endif
    for (size_t i = 0; i < n; i += SD__TAG_CHUNK) {
        const size_t k = n - i < SD__TAG_CHUNK ? n - i : SD__TAG_CHUNK;
        const sd_parsed *ps = parsed != NULL ? parsed + i : buf;
        /* A NULL pkts[j] gets a zeroed buf[j] (and all-zero tags). */
        if (parsed == NULL)
            (void)sd_parse_bulk(pkts + i, buf, k);
        sd__filterbits_batch(ps, pkts + i, k, &c);
        /* one bulk lookup of the IPv4 sources (prefetched; 0 for the
         * others, whose values are not used) */
        if (t->lpm != NULL)
            sd_lpm_lookup4_bulk(t->lpm, c.src, val, k);
        const uint32_t *v = t->lpm != NULL ? val : NULL;
#if defined(__x86_64__) || defined(__i386__)
        if (avx2) {
            tag_chunk_avx2(t->lines, pkts + i, &c, v, out + i, k);
            continue;
        }
#endif
        tag_chunk_base(t->lines, pkts + i, &c, v, out + i, k);
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
        size_t k = family == 4 ? sd_pfx2as_lookup4(t->pfx[i], a4, &asns)
                               : sd_pfx2as_lookup6(t->pfx[i], addr, &asns);
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
    size_t m = sizeof *t + t->cappfx * sizeof *t->pfx + t->capans * sizeof *t->ans +
               (t->lines_mem != NULL ? (t->nans + 1) * sizeof *t->lines + 63 : 0) +
               t->ahashcap * sizeof *t->ahash + sd_lpm_memory(t->overlay);
    for (size_t i = 0; i < t->npfx; i++)
        m += sd_pfx2as_memory(t->pfx[i]);
    return m + sd_geo_memory(t->maxmind) + sd_geo_memory(t->netacq);
}

void sd_tagger_destroy(sd_tagger *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->npfx; i++)
        sd_pfx2as_close(t->pfx[i]);
    sd__free(t->pfx);
    sd_lpm_destroy(t->overlay);
    sd__free(t->ans);
    sd__free(t->lines_mem);
    sd__free(t->ahash);
    sd_geo_close(t->maxmind);
    sd_geo_close(t->netacq);
    t->h.magic = 0;
    sd__free(t);
}
