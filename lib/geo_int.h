/* stardust: internal builder shared by the geolocation loaders (geo.c,
 * geo_mmdb.c, geo_csv.c). */
#ifndef SD_GEO_INT_H
#define SD_GEO_INT_H

#include <stardust/geo.h>
#include <stardust/lpm.h>

#include "internal.h"

/* An IPv6 prefix under which a .mmdb search tree is its IPv4 subtree
 * (::/96, and the aliases ::ffff:0:0/96, 2001::/32 and 2002::/16 that
 * MaxMind's writers add): an address under it is answered by the IPv4
 * table with the 32 bits that follow the prefix, as libmaxminddb's walk
 * does, instead of holding every IPv4 network again as IPv6 (four times
 * over in a full GeoIP2 City database). */
#define SD__GEO_MAX_ALIAS 8
struct sd__geo_alias {
    uint8_t addr[16];
    uint8_t len; /* <= 96 */
};

struct sd_geo {
    struct sd__handle h;
    int kind;                 /* enum sd_geo_kind */
    sd_lpm *lpm;              /* prefix -> index into recs */
    struct sd__geo_alias alias[SD__GEO_MAX_ALIAS];
    unsigned nalias;
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
