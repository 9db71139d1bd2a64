/* stardust: internal builder shared by the geolocation loaders (geo.c,
 * geo_mmdb.c, geo_csv.c). */
#ifndef SD_GEO_INT_H
#define SD_GEO_INT_H

#include <stardust/geo.h>
#include <stardust/lpm.h>

#include "internal.h"

struct sd_geo {
    struct sd__handle h;
    int kind;                 /* enum sd_geo_kind */
    sd_lpm *lpm;              /* prefix -> index into recs */
    sd_geo_record *recs;
    size_t nrecs, caprecs;
    uint32_t *hash;           /* record index + 1, open addressing; load only */
    size_t hashcap;
};

/* A new, empty table of the given kind in build state. */
int sd__geo_new(sd_geo **geop, int kind);

/* Index of a record equal to *r (compared byte for byte: build records from
 * a zeroed struct), added when new. Returns >= 0 or SD_ERR_NOMEM. */
long sd__geo_intern(sd_geo *g, const sd_geo_record *r);

/* Map the inclusive IPv4 range [first, last] (host order) to record idx,
 * as the minimal list of CIDR prefixes. Later calls win on equal prefixes. */
int sd__geo_add_range4(sd_geo *g, uint32_t first, uint32_t last, uint32_t idx);

/* Map one prefix to record idx. */
int sd__geo_add4(sd_geo *g, uint32_t addr, unsigned len, uint32_t idx);
int sd__geo_add6(sd_geo *g, const uint8_t addr[16], unsigned len, uint32_t idx);

/* Freeze the LPM and drop the load-time hash. */
int sd__geo_finish(sd_geo *g);

/* Continent of an ISO 3166 alpha-2 country code from the fixed GeoIP table
 * (tags.md §5.2), "??" for an unknown code. cc is two upper-case bytes. */
void sd__geo_continent(const char cc[2], char out[2]);

#endif
