/* stardust: geolocation tables from CSV files: MaxMind legacy GeoLite City
 * (tags.md §5.2) and Net Acuity Edge (tags.md §5.3). See
 * include/stardust/geo.h.
 *
 * Every file is read once, line by line (lib/csv.c), and checked
 * completely; any bad line fails the whole load with "file:line: reason".
 * Locations become interned sd_geo_records; block ranges are split into
 * CIDR prefixes in the LPM (sd__geo_add_range4).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stardust/geo.h>

#include "csv_int.h"
#include "geo_int.h"

/* ------------------------------------------------------------ id map */

/* Location id -> 32-bit value, open addressing; load time only. */
struct idmap {
    uint64_t *keys; /* id + 1; 0 = empty */
    uint32_t *vals;
    size_t cap, n;
};

static size_t idslot(uint32_t id, size_t cap)
{
    uint32_t h = id * 2654435761u;
    return (h ^ (h >> 15)) & (cap - 1);
}

static int idmap_grow(struct idmap *m)
{
    size_t cap = m->cap ? m->cap * 2 : 1024;
    uint64_t *k = sd__calloc(cap, sizeof *k);
    uint32_t *v = sd__calloc(cap, sizeof *v);
    if (k == NULL || v == NULL) {
        sd__free(k);
        sd__free(v);
        return SD_ERR_NOMEM;
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (m->keys[i] == 0)
            continue;
        size_t s = idslot((uint32_t)(m->keys[i] - 1), cap);
        while (k[s] != 0)
            s = (s + 1) & (cap - 1);
        k[s] = m->keys[i];
        v[s] = m->vals[i];
    }
    sd__free(m->keys);
    sd__free(m->vals);
    m->keys = k;
    m->vals = v;
    m->cap = cap;
    return 0;
}

/* The value of id, or NULL. */
static uint32_t *idmap_get(const struct idmap *m, uint32_t id)
{
    if (m->cap == 0)
        return NULL;
    for (size_t s = idslot(id, m->cap); m->keys[s] != 0; s = (s + 1) & (m->cap - 1))
        if (m->keys[s] == (uint64_t)id + 1)
            return &m->vals[s];
    return NULL;
}

/* Add id -> val. Returns 0, 1 when id is present already (*old = its
 * value), or SD_ERR_NOMEM. */
static int idmap_put(struct idmap *m, uint32_t id, uint32_t val, uint32_t *old)
{
    uint32_t *have = idmap_get(m, id);
    if (have != NULL) {
        *old = *have;
        return 1;
    }
    if ((m->n + 1) * 2 > m->cap && idmap_grow(m) != 0)
        return SD_ERR_NOMEM;
    size_t s = idslot(id, m->cap);
    while (m->keys[s] != 0)
        s = (s + 1) & (m->cap - 1);
    m->keys[s] = (uint64_t)id + 1;
    m->vals[s] = val;
    m->n++;
    return 0;
}

static void idmap_free(struct idmap *m)
{
    sd__free(m->keys);
    sd__free(m->vals);
    memset(m, 0, sizeof *m);
}

/* ------------------------------------------------------------ helpers */

/* Copy text into a fixed NUL-terminated field, truncating. */
static void set_text(char *dst, size_t size, const char *src, size_t len)
{
    if (len > size - 1)
        len = size - 1;
    memcpy(dst, src, len);
}

static char upper(char ch)
{
    return ch >= 'a' && ch <= 'z' ? (char)(ch - 'a' + 'A') : ch;
}

static int is_alnum(char ch)
{
    return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
}

static int open_csv(struct sd__csv *c, const char *path, char *errbuf)
{
    return sd__csv_open(c, path, errbuf);
}

/* The next line, which must exist (a header). */
static int read_header(struct sd__csv *c)
{
    int rc = sd__csv_next(c);
    if (rc == 0) {
        c->lineno++;
        return sd__csv_err(c, SD_ERR_FORMAT, "empty file: no header row");
    }
    return rc < 0 ? rc : 0;
}

static int field_u32(struct sd__csv *c, unsigned i, const char *what, uint32_t *out)
{
    uint64_t v;
    if (sd__csv_uint(c->field[i], UINT32_MAX, &v) != 0)
        return sd__csv_err(c, SD_ERR_FORMAT, "field %u (%s): \"%.40s\" is not a decimal number "
                           "0-4294967295", i + 1, what, c->field[i]);
    *out = (uint32_t)v;
    return 0;
}

/* Empty, or a decimal number. */
static int field_opt_uint(struct sd__csv *c, unsigned i, const char *what)
{
    uint64_t v;
    if (c->len[i] != 0 && sd__csv_uint(c->field[i], UINT32_MAX, &v) != 0)
        return sd__csv_err(c, SD_ERR_FORMAT, "field %u (%s): \"%.40s\" is not empty or a "
                           "decimal number", i + 1, what, c->field[i]);
    return 0;
}

static int field_coords(struct sd__csv *c, unsigned lat, unsigned lon, sd_geo_record *r)
{
    if (sd__csv_coord(c->field[lat], 90.0, &r->latitude) != 0)
        return sd__csv_err(c, SD_ERR_FORMAT, "field %u (latitude): \"%.40s\" is not a number "
                           "from -90 to 90", lat + 1, c->field[lat]);
    if (sd__csv_coord(c->field[lon], 180.0, &r->longitude) != 0)
        return sd__csv_err(c, SD_ERR_FORMAT, "field %u (longitude): \"%.40s\" is not a number "
                           "from -180 to 180", lon + 1, c->field[lon]);
    return 0;
}

static int nomem(struct sd__csv *c)
{
    return sd__csv_err(c, SD_ERR_NOMEM, "out of memory");
}

/* Intern r as location id; a location id seen before is an error. */
static int add_location(sd_geo *g, struct idmap *locs, struct sd__csv *c, uint32_t id,
                        const sd_geo_record *r)
{
    long idx = sd__geo_intern(g, r);
    if (idx < 0)
        return nomem(c);
    uint32_t old;
    int rc = idmap_put(locs, id, (uint32_t)idx, &old);
    if (rc < 0)
        return nomem(c);
    if (rc == 1)
        return sd__csv_err(c, SD_ERR_FORMAT, "duplicate location id %lu", (unsigned long)id);
    return 0;
}

/* Blocks rows: start, end (inclusive, decimal u32), location id. Both
 * providers share the layout (tags.md §5.2, §5.3). */
static int read_blocks(sd_geo *g, const struct idmap *locs, struct sd__csv *c)
{
    int rc;
    while ((rc = sd__csv_next(c)) == 1) {
        uint32_t first = 0, last = 0, id = 0;
        if ((rc = sd__csv_want(c, 3)) != 0 || (rc = field_u32(c, 0, "start address", &first)) != 0 ||
            (rc = field_u32(c, 1, "end address", &last)) != 0 ||
            (rc = field_u32(c, 2, "location id", &id)) != 0)
            return rc;
        if (last < first)
            return sd__csv_err(c, SD_ERR_FORMAT, "end address %lu is below start address %lu",
                               (unsigned long)last, (unsigned long)first);
        const uint32_t *idx = idmap_get(locs, id);
        if (idx == NULL)
            return sd__csv_err(c, SD_ERR_FORMAT, "unknown location id %lu", (unsigned long)id);
        rc = sd__geo_add_range4(g, first, last, *idx);
        if (rc != 0)
            return sd__csv_err(c, rc, "%s", sd_strerror(rc));
    }
    return rc;
}

static int finish(sd_geo *g, const char *what, char *errbuf, sd_geo **geop)
{
    int rc = sd__geo_finish(g);
    if (rc != 0) {
        sd__errbuf(errbuf, rc, "%s: %s", what, sd_strerror(rc));
        sd_geo_close(g);
        return rc;
    }
    *geop = g;
    return 0;
}

/* ------------------------------------------------------------ MaxMind legacy CSV */

enum { MM_UNKNOWN, MM_LOCATIONS, MM_BLOCKS };

/* Skip the leading Copyright lines; the header names the file (§5.2). */
static int mm_header(struct sd__csv *c, int *type)
{
    c->raw = 1;
    int rc;
    while ((rc = sd__csv_next(c)) == 1 && strncmp(c->line, "Copyright", 9) == 0)
        ;
    c->raw = 0;
    if (rc == 0) {
        c->lineno++;
        return sd__csv_err(c, SD_ERR_FORMAT, "no header row");
    }
    if (rc < 0 || (rc = sd__csv_split(c)) != 0)
        return rc;
    const char *h = c->field[0];
    if (strcmp(h, "locId") == 0) {
        *type = MM_LOCATIONS;
        return sd__csv_want(c, 9);
    }
    if (strcmp(h, "startIpNum") == 0) {
        *type = MM_BLOCKS;
        return sd__csv_want(c, 3);
    }
    if (strcmp(h, "network") == 0 || strcmp(h, "geoname_id") == 0)
        return sd__csv_err(c, SD_ERR_FORMAT,
                           "GeoLite2 CSV is not supported (use the .mmdb database)");
    return sd__csv_err(c, SD_ERR_FORMAT, "header \"%.40s\" is neither a GeoLite City locations "
                       "(locId,...) nor blocks (startIpNum,...) header", h);
}

static int mm_locations(sd_geo *g, struct idmap *locs, struct sd__csv *c)
{
    int rc;
    while ((rc = sd__csv_next(c)) == 1) {
        uint32_t id = 0;
        if ((rc = sd__csv_want(c, 9)) != 0 || (rc = field_u32(c, 0, "locId", &id)) != 0)
            return rc;
        sd_geo_record r;
        memset(&r, 0, sizeof r);
        const char *cc = c->field[1];
        if (c->len[1] == 0 || strcmp(cc, "--") == 0) {
            memcpy(r.country, "??", 2);
        } else if (c->len[1] == 2 && (is_alnum(cc[0]) || cc[0] == '?') &&
                   (is_alnum(cc[1]) || cc[1] == '?')) {
            r.country[0] = upper(cc[0]);
            r.country[1] = upper(cc[1]);
        } else {
            return sd__csv_err(c, SD_ERR_FORMAT, "field 2 (country): \"%.40s\" is not a "
                               "two-letter code, \"--\" or empty", cc);
        }
        /* stardust: an unknown code gets continent ?? (upstream rejects the file) */
        sd__geo_continent(r.country, r.continent);
        set_text(r.region, sizeof r.region, c->field[2], c->len[2]);
        set_text(r.city, sizeof r.city, c->field[3], c->len[3]);
        if ((rc = field_coords(c, 5, 6, &r)) != 0 ||
            (rc = field_opt_uint(c, 7, "metroCode")) != 0 ||
            (rc = field_opt_uint(c, 8, "areaCode")) != 0)
            return rc;
        if ((rc = add_location(g, locs, c, id, &r)) != 0)
            return rc;
    }
    return rc;
}

int sd_geo_open_maxmind_csv(sd_geo **geop, const char *blocks_path, const char *locations_path,
                            char *errbuf)
{
    if (geop == NULL || blocks_path == NULL || locations_path == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_geo_open_maxmind_csv: NULL argument");
    *geop = NULL;
    sd_geo *g = NULL;
    struct idmap locs = { 0 };
    struct sd__csv f[2];
    memset(f, 0, sizeof f);
    int type[2] = { MM_UNKNOWN, MM_UNKNOWN };
    int rc = sd__geo_new(&g, SD_GEO_MAXMIND);
    if (rc != 0) {
        sd__errbuf(errbuf, rc, "%s: out of memory", locations_path);
        return rc;
    }
    if ((rc = open_csv(&f[0], locations_path, errbuf)) != 0 ||
        (rc = mm_header(&f[0], &type[0])) != 0 ||
        (rc = open_csv(&f[1], blocks_path, errbuf)) != 0 ||
        (rc = mm_header(&f[1], &type[1])) != 0)
        goto out;
    /* The header identifies the file (§5.2): accept the pair either way round. */
    if (type[0] == MM_BLOCKS && type[1] == MM_LOCATIONS) {
        struct sd__csv t = f[0];
        f[0] = f[1];
        f[1] = t;
        type[0] = MM_LOCATIONS;
        type[1] = MM_BLOCKS;
    }
    if (type[0] != MM_LOCATIONS || type[1] != MM_BLOCKS) {
        struct sd__csv *c = type[0] != MM_LOCATIONS ? &f[0] : &f[1];
        rc = sd__csv_err(c, SD_ERR_FORMAT, "expected a %s file, this header is a %s file",
                         c == &f[0] ? "locations" : "blocks",
                         c == &f[0] ? "blocks" : "locations");
        goto out;
    }
    if ((rc = mm_locations(g, &locs, &f[0])) != 0 || (rc = read_blocks(g, &locs, &f[1])) != 0)
        goto out;
out:
    sd__csv_close(&f[0]);
    sd__csv_close(&f[1]);
    idmap_free(&locs);
    if (rc != 0) {
        sd_geo_close(g);
        return rc;
    }
    return finish(g, blocks_path, errbuf, geop);
}

/* ------------------------------------------------------------ Net Acuity Edge */

#define NA_NAME_MAX 256

struct netacq {
    sd_geo *g;
    char *errbuf;
    unsigned ntables;
    char table[SD_GEO_MAX_POLYGON_TABLES][NA_NAME_MAX];
    struct idmap maprows;     /* location id -> row index in polys */
    uint32_t *polys;          /* ntables ids per map row */
    size_t npolyrows, cappolyrows;
    struct idmap locs;        /* location id -> record index */
};

/* Regions file: country, region, description, code (§5.3). Only checked:
 * the labels built from it are not needed by the tags. */
static int na_regions(struct sd__csv *c)
{
    int rc = read_header(c);
    if (rc != 0)
        return rc;
    while ((rc = sd__csv_next(c)) == 1) {
        uint64_t code;
        if ((rc = sd__csv_want(c, 4)) != 0)
            return rc;
        char *cc = c->field[0], *reg = c->field[1];
        if (c->len[0] == 0 || c->len[0] > 3)
            return sd__csv_err(c, SD_ERR_FORMAT, "field 1 (country): \"%.40s\" is not 1-3 "
                               "characters", cc);
        if (sd__csv_uint(c->field[3], UINT16_MAX, &code) != 0)
            return sd__csv_err(c, SD_ERR_FORMAT, "field 4 (region code): \"%.40s\" is not a "
                               "decimal number 0-65535", c->field[3]);
        if (reg[0] == '?')
            continue; /* ignored row */
        if (strcmp(reg, "no region") != 0 && (c->len[1] == 0 || c->len[1] > 3))
            return sd__csv_err(c, SD_ERR_FORMAT, "field 2 (region): \"%.40s\" is not 1-3 "
                               "characters or \"no region\"", reg);
    }
    return rc;
}

/* Countries file: iso3, iso2, name, has-regions, continent number,
 * continent, country number (§5.3). Only checked, as the regions. */
static int na_countries(struct sd__csv *c)
{
    int rc = read_header(c);
    if (rc != 0)
        return rc;
    while ((rc = sd__csv_next(c)) == 1) {
        uint64_t v;
        if ((rc = sd__csv_want(c, 7)) != 0)
            return rc;
        if (sd__csv_uint(c->field[3], 1, &v) != 0)
            return sd__csv_err(c, SD_ERR_FORMAT, "field 4 (has-regions): \"%.40s\" is not 0 or "
                               "1", c->field[3]);
        if (sd__csv_uint(c->field[4], UINT32_MAX, &v) != 0)
            return sd__csv_err(c, SD_ERR_FORMAT, "field 5 (continent number): \"%.40s\" is not "
                               "a decimal number", c->field[4]);
        if (sd__csv_uint(c->field[6], UINT32_MAX, &v) != 0)
            return sd__csv_err(c, SD_ERR_FORMAT, "field 7 (country number): \"%.40s\" is not a "
                               "decimal number", c->field[6]);
        if (c->field[0][0] == '?' || c->field[1][0] == '?')
            continue; /* deprecated placeholder row, ignored */
        if (c->len[0] != 3)
            return sd__csv_err(c, SD_ERR_FORMAT, "field 1 (iso3): \"%.40s\" is not 3 "
                               "characters", c->field[0]);
        if (c->len[1] != 2)
            return sd__csv_err(c, SD_ERR_FORMAT, "field 2 (iso2): \"%.40s\" is not 2 "
                               "characters", c->field[1]);
        if (c->len[5] != 2)
            return sd__csv_err(c, SD_ERR_FORMAT, "field 6 (continent): \"%.40s\" is not 2 "
                               "characters", c->field[5]);
    }
    return rc;
}

/* One polygon table: the first header cell names it (up to "-id"); rows
 * id, fqid, name, usercode (§5.3). */
static int na_polygon_table(struct netacq *na, struct sd__csv *c, unsigned index)
{
    int rc = read_header(c);
    if (rc != 0)
        return rc;
    const char *h = c->field[0];
    const char *dash = strstr(h, "-id");
    if (dash == NULL || dash == h)
        return sd__csv_err(c, SD_ERR_FORMAT, "first header cell \"%.40s\" does not name the "
                           "table (<name>-id)", h);
    size_t n = (size_t)(dash - h);
    if (n >= NA_NAME_MAX)
        return sd__csv_err(c, SD_ERR_FORMAT, "table name longer than %d bytes", NA_NAME_MAX - 1);
    memcpy(na->table[index], h, n);
    na->table[index][n] = '\0';
    for (unsigned i = 0; i < index; i++)
        if (strcmp(na->table[i], na->table[index]) == 0)
            return sd__csv_err(c, SD_ERR_FORMAT, "polygon table \"%s\" is loaded twice",
                               na->table[index]);
    while ((rc = sd__csv_next(c)) == 1) {
        uint32_t id = 0;
        if ((rc = sd__csv_want(c, 4)) != 0 || (rc = field_u32(c, 0, "polygon id", &id)) != 0)
            return rc;
    }
    return rc;
}

/* Polygon map: location id, then one polygon id per column; each column
 * header is "<table>-id" of a loaded table (§5.3). */
static int na_polygon_map(struct netacq *na, struct sd__csv *c)
{
    int rc = read_header(c);
    if (rc != 0)
        return rc;
    unsigned ncols = c->nfields, col_table[SD__CSV_MAXFIELDS];
    unsigned used = 0;
    for (unsigned i = 1; i < ncols; i++) {
        unsigned t;
        for (t = 0; t < na->ntables; t++) {
            size_t n = strlen(na->table[t]);
            if (c->len[i] == n + 3 && memcmp(c->field[i], na->table[t], n) == 0 &&
                strcmp(c->field[i] + n, "-id") == 0)
                break;
        }
        if (t == na->ntables)
            return sd__csv_err(c, SD_ERR_FORMAT, "column %u \"%.60s\" does not name a loaded "
                               "polygon table (<table>-id)", i + 1, c->field[i]);
        if (used & (1u << t))
            return sd__csv_err(c, SD_ERR_FORMAT, "column %u: table \"%s\" has two columns",
                               i + 1, na->table[t]);
        used |= 1u << t;
        col_table[i] = t;
    }
    while ((rc = sd__csv_next(c)) == 1) {
        uint32_t loc = 0;
        if ((rc = sd__csv_want(c, ncols)) != 0 || (rc = field_u32(c, 0, "location id", &loc)) != 0)
            return rc;
        if (sd__grow((void **)&na->polys, &na->cappolyrows,
                     (na->npolyrows + 1) * SD_GEO_MAX_POLYGON_TABLES, sizeof *na->polys) != 0)
            return nomem(c);
        uint32_t *row = na->polys + na->npolyrows * SD_GEO_MAX_POLYGON_TABLES;
        memset(row, 0, SD_GEO_MAX_POLYGON_TABLES * sizeof *row);
        for (unsigned i = 1; i < ncols; i++)
            if ((rc = field_u32(c, i, "polygon id", &row[col_table[i]])) != 0)
                return rc;
        uint32_t old;
        rc = idmap_put(&na->maprows, loc, (uint32_t)na->npolyrows, &old);
        if (rc < 0)
            return nomem(c);
        if (rc == 1)
            return sd__csv_err(c, SD_ERR_FORMAT, "duplicate location id %lu",
                               (unsigned long)loc);
        na->npolyrows++;
    }
    return rc;
}

/* Continent numbers of the locations file (§5.3). */
static const char na_continent[8][2] = {
    { '?', '?' }, { 'A', 'F' }, { 'A', 'N' }, { 'O', 'C' },
    { 'A', 'S' }, { 'E', 'U' }, { 'N', 'A' }, { 'S', 'A' },
};

/* Locations: 22 columns (§5.3). */
static int na_locations(struct netacq *na, struct sd__csv *c)
{
    int rc = read_header(c);
    if (rc != 0)
        return rc;
    while ((rc = sd__csv_next(c)) == 1) {
        uint32_t id = 0;
        uint64_t v;
        if ((rc = sd__csv_want(c, 22)) != 0 || (rc = field_u32(c, 0, "location id", &id)) != 0)
            return rc;
        sd_geo_record r;
        memset(&r, 0, sizeof r);
        const char *cc = c->field[1];
        if (strcmp(cc, "?") == 0 || strcmp(cc, "**") == 0) {
            memcpy(r.country, "??", 2);
        } else if (strcmp(cc, "uk") == 0 || strcmp(cc, "UK") == 0) {
            memcpy(r.country, "GB", 2);
        } else if (c->len[1] == 2 && is_alnum(cc[0]) && is_alnum(cc[1])) {
            r.country[0] = upper(cc[0]);
            r.country[1] = upper(cc[1]);
        } else {
            return sd__csv_err(c, SD_ERR_FORMAT, "field 2 (country): \"%.40s\" is not a "
                               "two-letter code, \"?\" or \"**\"", cc);
        }
        /* Region text: "*" -> "?", upper case like the region file; "no
         * region" -> "???" as there (stardust: the record keeps the code). */
        if (c->len[2] == 0)
            return sd__csv_err(c, SD_ERR_FORMAT, "field 3 (region): empty");
        if (strcmp(c->field[2], "no region") == 0) {
            memcpy(r.region, "???", 3);
        } else {
            set_text(r.region, sizeof r.region, c->field[2], c->len[2]);
            for (char *p = r.region; *p; p++)
                *p = *p == '*' ? '?' : upper(*p);
        }
        set_text(r.city, sizeof r.city, c->field[3], c->len[3]);
        if ((rc = field_coords(c, 5, 6, &r)) != 0 ||
            (rc = field_opt_uint(c, 7, "metro code")) != 0)
            return rc;
        if (sd__csv_uint(c->field[11], UINT16_MAX, &v) != 0)
            return sd__csv_err(c, SD_ERR_FORMAT, "field 12 (region code): \"%.40s\" is not a "
                               "decimal number 0-65535", c->field[11]);
        r.region_code = (uint16_t)v;
        if (c->len[13] != 0) { /* empty: two zero bytes */
            if (sd__csv_uint(c->field[13], 7, &v) != 0)
                return sd__csv_err(c, SD_ERR_FORMAT, "field 14 (continent): \"%.40s\" is not "
                                   "empty or 0-7", c->field[13]);
            memcpy(r.continent, na_continent[v], 2);
        }
        const uint32_t *row = idmap_get(&na->maprows, id);
        if (row != NULL) {
            const uint32_t *ids = na->polys + (size_t)*row * SD_GEO_MAX_POLYGON_TABLES;
            r.n_polygons = (uint8_t)na->ntables;
            for (unsigned t = 0; t < na->ntables; t++)
                r.polygon[t] = (uint32_t)t << 24 | (ids[t] & 0xFFFFFFu);
        }
        if ((rc = add_location(na->g, &na->locs, c, id, &r)) != 0)
            return rc;
    }
    return rc;
}

/* Read one optional file with fn. */
static int na_file(struct netacq *na, const char *path, int (*fn)(struct sd__csv *))
{
    if (path == NULL)
        return 0;
    struct sd__csv c;
    int rc = open_csv(&c, path, na->errbuf);
    if (rc != 0)
        return rc;
    rc = fn(&c);
    sd__csv_close(&c);
    return rc;
}

static int na_load(struct netacq *na, const sd_netacq_files *files)
{
    struct sd__csv c;
    int rc;
    /* Upstream's order (§5.3): regions, countries, polygon tables, map,
     * locations, blocks. */
    if ((rc = na_file(na, files->regions, na_regions)) != 0 ||
        (rc = na_file(na, files->countries, na_countries)) != 0)
        return rc;
    for (unsigned i = 0; i < files->n_polygon_tables; i++) {
        if ((rc = open_csv(&c, files->polygon_tables[i], na->errbuf)) != 0)
            return rc;
        rc = na_polygon_table(na, &c, i);
        sd__csv_close(&c);
        if (rc != 0)
            return rc;
        na->ntables = i + 1;
    }
    if (files->polygon_map != NULL) {
        if ((rc = open_csv(&c, files->polygon_map, na->errbuf)) != 0)
            return rc;
        rc = na_polygon_map(na, &c);
        sd__csv_close(&c);
        if (rc != 0)
            return rc;
    }
    if ((rc = open_csv(&c, files->locations, na->errbuf)) != 0)
        return rc;
    rc = na_locations(na, &c);
    sd__csv_close(&c);
    if (rc != 0)
        return rc;
    if ((rc = open_csv(&c, files->blocks, na->errbuf)) != 0)
        return rc;
    rc = read_header(&c);
    if (rc == 0)
        rc = read_blocks(na->g, &na->locs, &c);
    sd__csv_close(&c);
    return rc;
}

int sd_geo_open_netacq(sd_geo **geop, const sd_netacq_files *files, char *errbuf)
{
    if (geop == NULL || files == NULL || files->blocks == NULL || files->locations == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "sd_geo_open_netacq: NULL argument or no blocks/locations file");
    *geop = NULL;
    /* stardust: at most 8 tables, as the tag has 8 polygon words (§5.3). */
    if (files->n_polygon_tables > SD_GEO_MAX_POLYGON_TABLES)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "%u polygon tables, at most %d",
                          files->n_polygon_tables, SD_GEO_MAX_POLYGON_TABLES);
    for (unsigned i = 0; i < files->n_polygon_tables; i++)
        if (files->polygon_tables[i] == NULL)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "polygon table %u: NULL path", i + 1);
    struct netacq *na = sd__calloc(1, sizeof *na);
    if (na == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", files->locations);
    na->errbuf = errbuf;
    int rc = sd__geo_new(&na->g, SD_GEO_NETACQ);
    if (rc != 0) {
        sd__free(na);
        return sd__errbuf(errbuf, rc, "%s: out of memory", files->locations);
    }
    rc = na_load(na, files);
    sd_geo *g = na->g;
    idmap_free(&na->maprows);
    idmap_free(&na->locs);
    sd__free(na->polys);
    sd__free(na);
    if (rc != 0) {
        sd_geo_close(g);
        return rc;
    }
    return finish(g, files->blocks, errbuf, geop);
}

/* ------------------------------------------------------------ directories */

/* dir/name, or dir/name.gz when only that exists; NULL-equivalent (empty
 * out) when neither does. */
static int find_file(const char *dir, const char *name, char *out, size_t size, char *errbuf)
{
    int n = snprintf(out, size, "%s/%s", dir, name);
    if (n < 0 || (size_t)n + 3 >= size)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: path too long", dir);
    if (access(out, F_OK) == 0)
        return 0;
    strcat(out, ".gz");
    if (access(out, F_OK) == 0)
        return 0;
    out[0] = '\0';
    return 0;
}

static int cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n > m && strcmp(s + n - m, suffix) == 0;
}

struct dirfiles {
    char path[5 + SD_GEO_MAX_POLYGON_TABLES][PATH_MAX];
    char *names[SD_GEO_MAX_POLYGON_TABLES + 1];
};

static int open_netacq_dir(sd_geo **geop, const char *dir, struct dirfiles *d, char *errbuf)
{
    static const char *const base[5] = {
        "netacq-4-blocks.csv", "netacq-4-locations.csv", "netacq-4-countries.csv",
        "netacq-4-regions.csv", "netacq-4-polygon-map.csv",
    };
    int rc;
    for (int i = 0; i < 5; i++)
        if ((rc = find_file(dir, base[i], d->path[i], PATH_MAX, errbuf)) != 0)
            return rc;
    for (int i = 0; i < 2; i++)
        if (d->path[i][0] == '\0')
            return sd__errbuf(errbuf, SD_ERR_IO, "%s: no %s (or %s.gz)", dir, base[i],
                              base[i]);
    DIR *dp = opendir(dir);
    if (dp == NULL)
        return sd__errbuf(errbuf, SD_ERR_IO, "%s: %s", dir, strerror(errno));
    unsigned n = 0;
    rc = 0;
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (!ends_with(e->d_name, ".polygons.csv") && !ends_with(e->d_name, ".polygons.csv.gz"))
            continue;
        if (n == SD_GEO_MAX_POLYGON_TABLES) {
            rc = sd__errbuf(errbuf, SD_ERR_INVAL, "%s: more than %d *.polygons.csv tables", dir,
                            SD_GEO_MAX_POLYGON_TABLES);
            break;
        }
        d->names[n] = sd__strdup(e->d_name);
        if (d->names[n] == NULL) {
            rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", dir);
            break;
        }
        n++;
    }
    closedir(dp);
    if (rc == 0) {
        qsort(d->names, n, sizeof d->names[0], cmp_names);
        sd_netacq_files f;
        memset(&f, 0, sizeof f);
        f.blocks = d->path[0];
        f.locations = d->path[1];
        f.countries = d->path[2][0] ? d->path[2] : NULL;
        f.regions = d->path[3][0] ? d->path[3] : NULL;
        f.polygon_map = d->path[4][0] ? d->path[4] : NULL;
        for (unsigned i = 0; i < n && rc == 0; i++) {
            int len = snprintf(d->path[5 + i], PATH_MAX, "%s/%s", dir, d->names[i]);
            if (len < 0 || len >= PATH_MAX)
                rc = sd__errbuf(errbuf, SD_ERR_INVAL, "%s: path too long", dir);
            f.polygon_tables[i] = d->path[5 + i];
        }
        f.n_polygon_tables = n;
        if (rc == 0)
            rc = sd_geo_open_netacq(geop, &f, errbuf);
    }
    for (unsigned i = 0; i < n; i++)
        sd__free(d->names[i]);
    return rc;
}

int sd_geo_open_dir(sd_geo **geop, enum sd_geo_kind kind, const char *dir, char *errbuf)
{
    if (geop == NULL || dir == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_geo_open_dir: NULL argument");
    *geop = NULL;
    if (kind != SD_GEO_MAXMIND && kind != SD_GEO_NETACQ)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_geo_open_dir: unknown kind %d", (int)kind);
    struct dirfiles *d = sd__calloc(1, sizeof *d);
    if (d == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", dir);
    int rc;
    if (kind == SD_GEO_MAXMIND) {
        if ((rc = find_file(dir, "GeoLiteCity-Blocks.csv", d->path[0], PATH_MAX, errbuf)) == 0 &&
            (rc = find_file(dir, "GeoLiteCity-Location.csv", d->path[1], PATH_MAX, errbuf)) == 0) {
            if (d->path[0][0] == '\0' || d->path[1][0] == '\0')
                rc = sd__errbuf(errbuf, SD_ERR_IO, "%s: no GeoLiteCity-%s.csv (or .csv.gz)",
                                dir, d->path[0][0] == '\0' ? "Blocks" : "Location");
            else
                rc = sd_geo_open_maxmind_csv(geop, d->path[0], d->path[1], errbuf);
        }
    } else {
        rc = open_netacq_dir(geop, dir, d, errbuf);
    }
    sd__free(d);
    return rc;
}
