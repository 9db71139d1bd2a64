/* stardust: MaxMind DB (.mmdb) loader (see include/stardust/geo.h).
 *
 * The database is opened once with libmaxminddb and its binary search tree
 * is walked depth first with MMDB_read_node(): every data record reached at
 * depth d by the bits a[0..d) becomes the prefix a/d in the LPM. Each data
 * record is decoded once (a cache maps its data-section offset to the
 * interned sd_geo_record), the database is closed, and lookups never touch
 * it again.
 *
 * IPv4 prefixes come from the IPv4 subtree: the root of an ip_version 4
 * database, or for ip_version 6 the record reached by 96 zero bits, as
 * libmaxminddb itself finds it for IPv4 lookups (so a tree that ends in a
 * data or empty record before bit 96 answers all of IPv4 with it). IPv6
 * prefixes come from the whole tree of an ip_version 6 database, except
 * where the walk meets the IPv4 subtree again (::/96 and the aliases
 * ::ffff:0:0/96, 2001::/32, 2002::/16): those prefixes become aliases of
 * the IPv4 table (geo_int.h) instead of copies of it.
 *
 * A broken tree must not hang or exhaust the stack: the walk uses its own
 * bounded stack, a search node at the last address bit is an error (that is
 * what a loop looks like), and the number of nodes visited is capped (a
 * shared subtree is legitimate for the IPv4 aliases, a tree of nodes that all
 * share their children would take 2^128 steps).
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include <maxminddb.h>

#include <stardust/geo.h>

#include "geo_int.h"

/* Each node may be reached this many times on average in one walk. A valid
 * database reaches its IPv4 subtree at most four times (::/96 and the
 * ::ffff:0:0/96, 2001::/32 and 2002::/16 aliases). */
#define SD__MMDB_VISITS_PER_NODE 8

struct mmdb_load {
    sd_geo *g;
    MMDB_s *db;
    const char *path;
    char *errbuf;
    uint64_t budget;      /* node visits left in this walk */
    uint8_t *seen;        /* bitmap of the search nodes reached */
    uint32_t *ckey;       /* data offset + 1; 0 = free slot */
    uint32_t *cval;       /* record index */
    size_t ccap, cn;
    int v4tree;           /* IPv4 addresses start at a search node ... */
    uint64_t v4node;      /* ... this one */
};

/* One record still to visit: where it came from and the address bits that
 * lead to it. */
struct frame {
    uint64_t rec;
    uint32_t offset;      /* data-section offset for MMDB_RECORD_TYPE_DATA */
    uint32_t parent;      /* node holding the record, for messages */
    uint8_t type;
    uint8_t depth;
    uint8_t addr[16];
};

static uint32_t hash_offset(uint32_t off)
{
    uint32_t h = off * 2654435761u;
    return h ^ (h >> 15);
}

static int cache_grow(struct mmdb_load *L)
{
    size_t cap = L->ccap ? L->ccap * 2 : 1024;
    uint32_t *k = sd__calloc(cap, sizeof *k);
    uint32_t *v = sd__calloc(cap, sizeof *v);
    if (k == NULL || v == NULL) {
        sd__free(k);
        sd__free(v);
        return SD_ERR_NOMEM;
    }
    for (size_t i = 0; i < L->ccap; i++) {
        if (L->ckey[i] == 0)
            continue;
        size_t s = hash_offset(L->ckey[i] - 1) & (cap - 1);
        while (k[s] != 0)
            s = (s + 1) & (cap - 1);
        k[s] = L->ckey[i];
        v[s] = L->cval[i];
    }
    sd__free(L->ckey);
    sd__free(L->cval);
    L->ckey = k;
    L->cval = v;
    L->ccap = cap;
    return 0;
}

/* Look a path up below e. A path the data does not have, or has with
 * another shape (a string where a map was expected), is simply absent;
 * only a broken data section is an error. */
static int get(MMDB_entry_s *e, MMDB_entry_data_s *d, const char *const *path)
{
    int st = MMDB_aget_value(e, d, path);
    if (st == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR || st == MMDB_INVALID_LOOKUP_PATH_ERROR) {
        d->has_data = false;
        return MMDB_SUCCESS;
    }
    return st;
}

/* Two ASCII letters, upper-cased, or nothing. */
static bool get_code2(const MMDB_entry_data_s *d, char out[2])
{
    if (!d->has_data || d->type != MMDB_DATA_TYPE_UTF8_STRING || d->data_size != 2)
        return false;
    for (int i = 0; i < 2; i++) {
        char c = d->utf8_string[i];
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c < 'A' || c > 'Z')
            return false;
        out[i] = c;
    }
    return true;
}

/* Copy a UTF-8 string into out (size bytes with the NUL), cut at an
 * embedded NUL and, when too long, before the character that would not
 * fit (never in the middle of one). */
static void get_text(const MMDB_entry_data_s *d, char *out, size_t size)
{
    if (!d->has_data || d->type != MMDB_DATA_TYPE_UTF8_STRING)
        return;
    const char *s = d->utf8_string;
    size_t n = d->data_size;
    const char *nul = memchr(s, '\0', n);
    if (nul != NULL)
        n = (size_t)(nul - s);
    if (n > size - 1) {
        n = size - 1;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

static double get_double(const MMDB_entry_data_s *d)
{
    if (d->has_data && d->type == MMDB_DATA_TYPE_DOUBLE)
        return d->double_value;
    if (d->has_data && d->type == MMDB_DATA_TYPE_FLOAT)
        return (double)d->float_value;
    return NAN;
}

static uint32_t get_u32(const MMDB_entry_data_s *d)
{
    if (!d->has_data)
        return 0;
    switch (d->type) {
    case MMDB_DATA_TYPE_UINT16:
        return d->uint16;
    case MMDB_DATA_TYPE_UINT32:
        return d->uint32;
    case MMDB_DATA_TYPE_UINT64:
        return d->uint64 <= UINT32_MAX ? (uint32_t)d->uint64 : 0;
    default:
        return 0;
    }
}

/* Decode the data record at offset into *r (field choice: geo.h). The whole
 * record is decoded first, so a record libmaxminddb cannot read (bad
 * pointers, nesting too deep) fails the load even in fields we skip. */
static int decode(struct mmdb_load *L, uint32_t offset, sd_geo_record *r)
{
    MMDB_entry_s e = { .mmdb = L->db, .offset = offset };
    MMDB_entry_data_list_s *list = NULL;
    int st = MMDB_get_entry_data_list(&e, &list);
    MMDB_free_entry_data_list(list);
    if (st != MMDB_SUCCESS)
        return st;

    static const char *const p_country[] = { "country", "iso_code", NULL };
    static const char *const p_registered[] = { "registered_country", "iso_code", NULL };
    static const char *const p_continent[] = { "continent", "code", NULL };
    static const char *const p_region[] = { "subdivisions", "0", "iso_code", NULL };
    static const char *const p_city[] = { "city", "names", "en", NULL };
    static const char *const p_lat[] = { "location", "latitude", NULL };
    static const char *const p_lon[] = { "location", "longitude", NULL };
    static const char *const p_asn[] = { "autonomous_system_number", NULL };
    MMDB_entry_data_s d;

    memset(r, 0, sizeof *r); /* interning compares bytes, padding included */
    if ((st = get(&e, &d, p_country)) != MMDB_SUCCESS)
        return st;
    bool have_country = get_code2(&d, r->country);
    if (!have_country) {
        if ((st = get(&e, &d, p_registered)) != MMDB_SUCCESS)
            return st;
        have_country = get_code2(&d, r->country);
    }
    if ((st = get(&e, &d, p_continent)) != MMDB_SUCCESS)
        return st;
    if (!get_code2(&d, r->continent) && have_country)
        sd__geo_continent(r->country, r->continent);
    if ((st = get(&e, &d, p_region)) != MMDB_SUCCESS)
        return st;
    get_text(&d, r->region, sizeof r->region);
    if ((st = get(&e, &d, p_city)) != MMDB_SUCCESS)
        return st;
    get_text(&d, r->city, sizeof r->city);
    if ((st = get(&e, &d, p_lat)) != MMDB_SUCCESS)
        return st;
    r->latitude = get_double(&d);
    if ((st = get(&e, &d, p_lon)) != MMDB_SUCCESS)
        return st;
    r->longitude = get_double(&d);
    if ((st = get(&e, &d, p_asn)) != MMDB_SUCCESS)
        return st;
    r->asn = get_u32(&d);
    return MMDB_SUCCESS;
}

/* The record index for the data at offset, decoding it on first sight. */
static long record_for(struct mmdb_load *L, uint32_t offset, uint32_t node)
{
    if ((L->cn + 1) * 2 > L->ccap && cache_grow(L) != 0)
        return sd__errbuf(L->errbuf, SD_ERR_NOMEM, "%s: out of memory", L->path);
    size_t s = hash_offset(offset) & (L->ccap - 1);
    while (L->ckey[s] != 0) {
        if (L->ckey[s] == offset + 1)
            return L->cval[s];
        s = (s + 1) & (L->ccap - 1);
    }
    sd_geo_record r;
    int st = decode(L, offset, &r);
    if (st != MMDB_SUCCESS)
        return sd__errbuf(L->errbuf, st == MMDB_OUT_OF_MEMORY_ERROR ? SD_ERR_NOMEM : SD_ERR_FORMAT,
                          "%s: data at offset %u (record of node %u): %s", L->path, offset,
                          node, MMDB_strerror(st));
    long idx = sd__geo_intern(L->g, &r);
    if (idx < 0)
        return sd__errbuf(L->errbuf, (int)idx, "%s: out of memory", L->path);
    L->ckey[s] = offset + 1;
    L->cval[s] = (uint32_t)idx;
    L->cn++;
    return idx;
}

/* Map the prefix that leads to a data record. */
static int add_data(struct mmdb_load *L, const struct frame *f, int family)
{
    if (f->offset >= L->db->data_section_size)
            return sd__errbuf(L->errbuf, SD_ERR_FORMAT,
                          "%s: node %u: record %llu points outside the data section", L->path,
                          f->parent, (unsigned long long)f->rec);
    long idx = record_for(L, f->offset, f->parent);
    if (idx < 0)
        return (int)idx;
    int rc = family == 4 ? sd__geo_add4(L->g, sd__be32(f->addr), f->depth, (uint32_t)idx)
                         : sd__geo_add6(L->g, f->addr, f->depth, (uint32_t)idx);
    if (rc != 0)
        return sd__errbuf(L->errbuf, rc, "%s: %s", L->path,
                          sd_errmsg(L->g->lpm)[0] ? sd_errmsg(L->g->lpm) : sd_strerror(rc));
    return 0;
}

/* Walk the tree below the record *start (at depth 0) for one family, whose
 * addresses have bits bits. */
static int walk(struct mmdb_load *L, const struct frame *start, int family, unsigned bits)
{
    /* Depth first, left child on top: at most one pending right sibling per
     * level plus the current record. */
    struct frame stack[2 * (128 + 2)];
    size_t n = 0;
    stack[n++] = *start;
    L->budget = (uint64_t)L->db->metadata.node_count * SD__MMDB_VISITS_PER_NODE + 64;
    while (n > 0) {
        struct frame f = stack[--n];
        switch (f.type) {
        case MMDB_RECORD_TYPE_EMPTY:
            continue;
        case MMDB_RECORD_TYPE_DATA: {
            int rc = add_data(L, &f, family);
            if (rc != 0)
                return rc;
            continue;
        }
        case MMDB_RECORD_TYPE_SEARCH_NODE:
            break;
        default: /* past the data section, or back to the root */
            return sd__errbuf(L->errbuf, SD_ERR_FORMAT,
                              "%s: node %u: invalid record %llu (search tree is corrupt)",
                              L->path, f.parent, (unsigned long long)f.rec);
        }
        if (family == 6 && L->v4tree && f.rec == L->v4node && f.depth <= 96 &&
            L->g->nalias < SD__GEO_MAX_ALIAS) {
            struct sd__geo_alias *a = &L->g->alias[L->g->nalias++];
            memcpy(a->addr, f.addr, sizeof a->addr);
            a->len = f.depth;
            continue; /* walked as IPv4 already */
        }
        uint32_t node = (uint32_t)f.rec;
        L->seen[node / 8] |= (uint8_t)(1u << (node % 8));
        if (f.depth >= bits)
            return sd__errbuf(L->errbuf, SD_ERR_FORMAT,
                              "%s: node %u: search tree continues past bit %u of an IPv%d address "
                              "(a loop, or a wrong ip_version)",
                              L->path, node, bits, family);
        if (L->budget-- == 0)
            return sd__errbuf(L->errbuf, SD_ERR_FORMAT,
                              "%s: node %u: search tree visits its nodes more than %d times "
                              "each (shared subtrees)",
                              L->path, node, SD__MMDB_VISITS_PER_NODE);
        if (n + 2 > sizeof stack / sizeof stack[0]) /* cannot happen: depth is bounded */
            return sd__errbuf(L->errbuf, SD_ERR_FORMAT, "%s: node %u: search tree too deep",
                              L->path, node);
        MMDB_search_node_s sn;
        int st = MMDB_read_node(L->db, node, &sn);
        if (st != MMDB_SUCCESS)
            return sd__errbuf(L->errbuf, SD_ERR_FORMAT, "%s: node %u: %s", L->path, node,
                              MMDB_strerror(st));
        struct frame *right = &stack[n++];
        *right = (struct frame){ .rec = sn.right_record, .offset = sn.right_record_entry.offset,
                                 .parent = node, .type = sn.right_record_type,
                                 .depth = (uint8_t)(f.depth + 1) };
        memcpy(right->addr, f.addr, sizeof f.addr);
        right->addr[f.depth / 8] |= (uint8_t)(0x80u >> (f.depth % 8));
        struct frame *left = &stack[n++];
        *left = (struct frame){ .rec = sn.left_record, .offset = sn.left_record_entry.offset,
                                .parent = node, .type = sn.left_record_type,
                                .depth = (uint8_t)(f.depth + 1) };
        memcpy(left->addr, f.addr, sizeof f.addr);
    }
    return 0;
}

/* The record where IPv4 addresses start: the root of an IPv4 database, or
 * the record 96 zero bits down an IPv6 one (earlier if the path ends). */
static int ipv4_start(struct mmdb_load *L, struct frame *f)
{
    memset(f, 0, sizeof *f);
    f->type = MMDB_RECORD_TYPE_SEARCH_NODE;
    if (L->db->metadata.ip_version == 4)
        return 0;
    for (int bit = 0; bit < 96 && f->type == MMDB_RECORD_TYPE_SEARCH_NODE; bit++) {
        uint32_t node = (uint32_t)f->rec;
        MMDB_search_node_s sn;
        int st = MMDB_read_node(L->db, node, &sn);
        if (st != MMDB_SUCCESS)
            return sd__errbuf(L->errbuf, SD_ERR_FORMAT, "%s: node %u: %s", L->path, node,
                              MMDB_strerror(st));
        f->rec = sn.left_record;
        f->type = sn.left_record_type;
        f->offset = sn.left_record_entry.offset;
        f->parent = node;
    }
    return 0;
}

static int load(struct mmdb_load *L)
{
    const MMDB_metadata_s *md = &L->db->metadata;
    if (md->ip_version != 4 && md->ip_version != 6)
        return sd__errbuf(L->errbuf, SD_ERR_FORMAT, "%s: metadata: ip_version %u (4 or 6 expected)",
                          L->path, (unsigned)md->ip_version);
    if (md->node_count == 0)
        return sd__errbuf(L->errbuf, SD_ERR_FORMAT, "%s: metadata: node_count 0", L->path);
    L->seen = sd__calloc((size_t)md->node_count / 8 + 1, 1);
    if (L->seen == NULL)
        return sd__errbuf(L->errbuf, SD_ERR_NOMEM, "%s: out of memory", L->path);
    struct frame f;
    int rc = ipv4_start(L, &f);
    L->v4tree = md->ip_version == 6 && f.type == MMDB_RECORD_TYPE_SEARCH_NODE;
    L->v4node = f.rec;
    if (rc == 0)
        rc = walk(L, &f, 4, 32);
    if (rc == 0 && md->ip_version == 6) {
        memset(&f, 0, sizeof f);
        f.type = MMDB_RECORD_TYPE_SEARCH_NODE;
        rc = walk(L, &f, 6, 128);
    }
    /* Writers number exactly the nodes of the tree; a node no path reaches
     * means a wrong node_count or overwritten records. */
    for (uint32_t node = 0; rc == 0 && node < md->node_count; node++)
        if ((L->seen[node / 8] & (1u << (node % 8))) == 0)
            rc = sd__errbuf(L->errbuf, SD_ERR_FORMAT,
                            "%s: node %u: not reachable from the root (search tree is corrupt)",
                            L->path, node);
    return rc;
}

int sd_geo_open_mmdb(sd_geo **geop, const char *path, char *errbuf)
{
    if (geop == NULL || path == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_geo_open_mmdb: NULL argument");
    *geop = NULL;
    /* libmaxminddb reports an empty file as an mmap failure. */
    struct stat sb;
    if (stat(path, &sb) != 0)
        return sd__errbuf(errbuf, SD_ERR_IO, "%s: %s", path, strerror(errno));
    if (S_ISDIR(sb.st_mode))
        return sd__errbuf(errbuf, SD_ERR_IO, "%s: %s", path, strerror(EISDIR));
    if (S_ISREG(sb.st_mode) && sb.st_size == 0)
        return sd__errbuf(errbuf, SD_ERR_FORMAT, "%s: empty file, not a MaxMind DB", path);
    MMDB_s db;
    errno = 0;
    int st = MMDB_open(path, MMDB_MODE_MMAP, &db);
    if (st != MMDB_SUCCESS) {
        int e = errno;
        switch (st) {
        case MMDB_FILE_OPEN_ERROR:
        case MMDB_IO_ERROR:
            if (e != 0)
                return sd__errbuf(errbuf, SD_ERR_IO, "%s: %s", path, strerror(e));
            return sd__errbuf(errbuf, SD_ERR_IO, "%s: %s", path, MMDB_strerror(st));
        case MMDB_OUT_OF_MEMORY_ERROR:
            return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: %s", path, MMDB_strerror(st));
        case MMDB_UNKNOWN_DATABASE_FORMAT_ERROR:
            return sd__errbuf(errbuf, SD_ERR_FORMAT,
                              "%s: not a MaxMind DB (no metadata section): %s", path,
                              MMDB_strerror(st));
        default:
            return sd__errbuf(errbuf, SD_ERR_FORMAT, "%s: invalid MaxMind DB: %s", path,
                              MMDB_strerror(st));
        }
    }
    struct mmdb_load L = { .db = &db, .path = path, .errbuf = errbuf };
    int rc = sd__geo_new(&L.g, SD_GEO_MAXMIND);
    if (rc != 0)
        rc = sd__errbuf(errbuf, rc, "%s: out of memory", path);
    else
        rc = load(&L);
    MMDB_close(&db);
    sd__free(L.ckey);
    sd__free(L.cval);
    sd__free(L.seen);
    if (rc == 0 && (rc = sd__geo_finish(L.g)) != 0)
        sd__errbuf(errbuf, rc, "%s: %s", path,
                   sd_errmsg(L.g->lpm)[0] ? sd_errmsg(L.g->lpm) : sd_strerror(rc));
    if (rc != 0) {
        sd_geo_close(L.g);
        return rc;
    }
    *geop = L.g;
    return 0;
}
