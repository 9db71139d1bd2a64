/* stardust: geolocation tables (MaxMind .mmdb and legacy CSV, Net Acuity
 * Edge CSV), flattened into the LPM at load.
 *
 * Each loader reads its files completely, checks them, and builds one
 * read-only table: a longest-prefix match (sd_lpm) from every prefix of the
 * data to a de-duplicated sd_geo_record. No database is consulted per
 * packet: an .mmdb file is walked once through its search tree with
 * libmaxminddb and then closed. Ranges (CSV start/end pairs) are split into
 * the minimal list of CIDR prefixes (tags.md §4). File formats: tags.md §5.
 *
 * Errors name the file and the line (CSV) or the data offset (mmdb) and the
 * reason, in errbuf (SD_ERRBUF_SIZE bytes), before anything is returned.
 *
 * Thread safety: a loaded sd_geo is read-only; lookups and the accessors
 * are lock-free and safe from any number of threads, as long as
 * sd_geo_close() is not called concurrently. Loaders are reentrant.
 *
 * Since: 0.3
 */
#ifndef STARDUST_GEO_H
#define STARDUST_GEO_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most polygon tables a Net Acuity table may use (tags.md §5.3). */
#define SD_GEO_MAX_POLYGON_TABLES 8

/* What an sd_geo was loaded from. */
enum sd_geo_kind {
    SD_GEO_MAXMIND = 1, /* MaxMind .mmdb or legacy CSV: the tag's maxmind_* fields */
    SD_GEO_NETACQ = 2   /* Net Acuity Edge: the tag's netacq_* fields */
};

/* One location. Two-letter codes are two ASCII bytes, not NUL-terminated;
 * "??" where the data says unknown, two zero bytes where it says nothing
 * (e.g. an empty Net Acuity continent). Strings are NUL-terminated and
 * empty when the data has no value. */
typedef struct sd_geo_record {
    char country[2];          /* ISO 3166 alpha-2, upper case */
    char continent[2];        /* AF AN AS EU NA OC SA, or ?? */
    uint16_t region_code;     /* Net Acuity numeric region code; 0 otherwise */
    uint8_t n_polygons;       /* Net Acuity: polygon words used (0..8) */
    uint8_t pad0;
    uint32_t polygon[SD_GEO_MAX_POLYGON_TABLES]; /* (table << 24) | (id & 0xFFFFFF), tags.md §5.3 */
    uint32_t asn;             /* mmdb autonomous_system_number; 0 when absent */
    char region[8];           /* region/subdivision code text ("CA", "ENG"); "" if none */
    char city[48];            /* city name (truncated to 47 bytes); "" if none */
    double latitude, longitude; /* NAN when absent */
} sd_geo_record;

/* Opaque loaded table; a handle for sd_errmsg(). */
typedef struct sd_geo sd_geo;

/* Load a MaxMind DB (.mmdb: GeoIP2/GeoLite2 City or Country, or any
 * database whose records have country/continent/subdivisions/city/location
 * or autonomous_system_number) through libmaxminddb, flattening its search
 * tree into the LPM (IPv4 addresses from the IPv4 subtree, IPv6 from the
 * whole tree). Result kind SD_GEO_MAXMIND. Returns 0, SD_ERR_IO (cannot
 * open), SD_ERR_FORMAT (invalid database: bad metadata, search tree or data
 * pointers; errbuf says which and where), SD_ERR_NOMEM, SD_ERR_INVAL.
 * *geop is owned by the caller (sd_geo_close()).
 *
 * Fields of each record: country = country.iso_code, else
 * registered_country.iso_code (two ASCII letters, else two zero bytes);
 * continent = continent.code, else derived from the country (tags.md §5.2)
 * when there is one; region = subdivisions[0].iso_code; city =
 * city.names.en (both cut before the character that does not fit);
 * latitude/longitude = location.* (NAN when absent); asn =
 * autonomous_system_number. Every address the database has a record for
 * gets a record, also when that record has none of these fields (an
 * Anonymous-IP or Connection-Type database, say): then all fields are
 * empty, so sd_geo_lookup4/6() is non-NULL exactly where libmaxminddb
 * finds an entry. Every record is decoded completely at load, and every
 * search-tree node must be reachable from the root, so a database that
 * libmaxminddb would fail on for some addresses fails here at once.
 * Since: 0.3 */
SD_API SD_NODISCARD int sd_geo_open_mmdb(sd_geo **geop, const char *path, char *errbuf);

/* Load the MaxMind legacy GeoLite City CSV pair (blocks, locations; plain
 * or gzip), tags.md §5.2. An unknown country code maps to continent "??".
 * Result kind SD_GEO_MAXMIND. Returns as sd_geo_open_mmdb(), with
 * "file:line: reason" in errbuf. Since: 0.3 */
SD_API SD_NODISCARD int sd_geo_open_maxmind_csv(sd_geo **geop, const char *blocks_path,
                                                const char *locations_path, char *errbuf);

/* Files of a Net Acuity Edge data set (tags.md §5.3); paths borrowed for
 * the call. countries, regions and the polygon files are optional (NULL /
 * 0); blocks and locations are required. */
typedef struct sd_netacq_files {
    const char *blocks;
    const char *locations;
    const char *countries;
    const char *regions;
    const char *polygon_map;
    const char *polygon_tables[SD_GEO_MAX_POLYGON_TABLES];
    unsigned n_polygon_tables;
} sd_netacq_files;

/* Load a Net Acuity Edge data set. Result kind SD_GEO_NETACQ. Returns as
 * sd_geo_open_maxmind_csv(); more than 8 polygon tables is SD_ERR_INVAL.
 * Since: 0.3 */
SD_API SD_NODISCARD int sd_geo_open_netacq(sd_geo **geop, const sd_netacq_files *files,
                                           char *errbuf);

/* Find the files of a data set in a directory: for MaxMind the
 * GeoLiteCity-Blocks.csv / GeoLiteCity-Location.csv pair (also .gz), for
 * Net Acuity netacq-4-{blocks,locations,countries,regions,polygon-map}.csv
 * and every *.polygons.csv (sorted by name) as polygon tables. Returns as
 * the loaders. Since: 0.3 */
SD_API SD_NODISCARD int sd_geo_open_dir(sd_geo **geop, enum sd_geo_kind kind, const char *dir,
                                        char *errbuf);

/* The record of the longest prefix covering the IPv4 address addr (host
 * byte order), or NULL when none does. The pointer is valid until
 * sd_geo_close(). Thread: safe. Since: 0.3 */
SD_API const sd_geo_record *sd_geo_lookup4(const sd_geo *geo, uint32_t addr);

/* The same for an IPv6 address (16 bytes, network order). Since: 0.3 */
SD_API const sd_geo_record *sd_geo_lookup6(const sd_geo *geo, const uint8_t addr[16]);

/* SD_GEO_MAXMIND or SD_GEO_NETACQ. Thread: safe. Since: 0.3 */
SD_API int sd_geo_kind(const sd_geo *geo);

/* Number of prefixes of family 4 or 6 loaded. The IPv4 networks that an
 * IPv6 .mmdb also answers under ::/96 and its IPv4 aliases (::ffff:0:0/96,
 * 2001::/32, 2002::/16) count once, as IPv4: the table keeps them once.
 * Thread: safe. Since: 0.3 */
SD_API size_t sd_geo_count(const sd_geo *geo, int family);

/* Number of distinct records. Thread: safe. Since: 0.3 */
SD_API size_t sd_geo_records(const sd_geo *geo);

/* Bytes of heap held. Thread: safe. Since: 0.3 */
SD_API size_t sd_geo_memory(const sd_geo *geo);

/* Release the table. NULL is accepted. Since: 0.3 */
SD_API void sd_geo_close(sd_geo *geo);

#ifdef __cplusplus
}
#endif
#endif
