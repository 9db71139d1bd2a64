/* stardust: CAIDA RouteViews prefix-to-AS (pfx2as) tables.
 *
 * Loads a pfx2as file (tags.md §5.1: "address<TAB>length<TAB>origin" per
 * line, IPv4 and IPv6 lines may mix; plain or gzip) into an sd_lpm and
 * answers "which origin ASNs announce the longest prefix covering this
 * address". The origin field may list several ASNs joined by '_' (MOAS)
 * or ',' (AS set, treated exactly like '_'); ASDOT "a.b" means a<<16 | b.
 * Each prefix maps to that list with duplicates removed, in first-seen
 * order; identical lists are stored once. When a prefix appears twice the
 * later line wins. Whether a multi-ASN answer counts as a tag is the
 * caller's rule (tags.md §5.1: only single-ASN answers set prefixasn).
 *
 * Loading is all or nothing: a malformed or truncated file fails before
 * any table is returned, with "file:line: reason" in errbuf.
 *
 * Thread safety: a loaded sd_pfx2as is read-only; lookups and the
 * accessors are lock-free and safe from any number of threads at once,
 * as long as sd_pfx2as_close() is not called concurrently.
 */
#ifndef STARDUST_PFX2AS_H
#define STARDUST_PFX2AS_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Opaque loaded table. Since: 0.3 */
typedef struct sd_pfx2as sd_pfx2as;

/* Load the pfx2as file at path (plain or gzip) into *tablep (owned by the
 * caller, release with sd_pfx2as_close()). errbuf (SD_ERRBUF_SIZE bytes,
 * may be NULL) receives the reason on failure. Returns 0, SD_ERR_INVAL
 * (NULL argument), SD_ERR_NOTFOUND / SD_ERR_PERM / SD_ERR_IO (open or
 * read), SD_ERR_FORMAT ("file:line: reason" for a bad line),
 * SD_ERR_TRUNCATED (damaged gzip stream) or SD_ERR_NOMEM; *tablep is NULL
 * then. Thread: any. Since: 0.3 */
SD_API int sd_pfx2as_open(sd_pfx2as **tablep, const char *path, char *errbuf);

/* Origin ASNs of the longest prefix covering the IPv4 address addr (host
 * byte order): returns their number (0 when no prefix matches) and points
 * *asns at them (borrowed from the table, valid until sd_pfx2as_close();
 * NULL when 0). Thread: safe concurrently. Since: 0.3 */
SD_API size_t sd_pfx2as_lookup4(const sd_pfx2as *table, uint32_t addr, const uint32_t **asns);

/* The same for an IPv6 address (16 bytes, network order, borrowed).
 * Since: 0.3 */
SD_API size_t sd_pfx2as_lookup6(const sd_pfx2as *table, const uint8_t addr[16],
                                const uint32_t **asns);

/* Number of prefix lines of family 4 or 6 loaded (every line, duplicates
 * included); 0 for other families. Thread: safe. Since: 0.3 */
SD_API size_t sd_pfx2as_count(const sd_pfx2as *table, int family);

/* Number of distinct origin lists. Thread: safe. Since: 0.3 */
SD_API size_t sd_pfx2as_origin_lists(const sd_pfx2as *table);

/* Bytes of heap held (LPM tables, origin lists). Thread: safe. Since: 0.3 */
SD_API size_t sd_pfx2as_memory(const sd_pfx2as *table);

/* Release the table. NULL is accepted. Since: 0.3 */
SD_API void sd_pfx2as_close(sd_pfx2as *table);

#ifdef __cplusplus
}
#endif
#endif
