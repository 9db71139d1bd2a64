/* stardust: longest-prefix match over IPv4 and IPv6 prefixes.
 *
 * One engine for every prefix-keyed provider (pfx2as, geolocation, ...):
 * each prefix maps to a 32-bit value chosen by the caller, typically an
 * index into the caller's record table.
 *
 * Life cycle: sd_lpm_create(), any number of sd_lpm_insert4()/
 * sd_lpm_insert6() in any order, sd_lpm_freeze() once, then lookups.
 * When the same prefix (same address after masking, same length) is
 * inserted twice, the LATER insertion wins (tags.md §4). Host bits beyond
 * the prefix length are ignored.
 *
 * IPv4 uses a compact two-level table of run bitmaps (2^18 direct nodes of
 * 16 bytes, 4 MiB, plus 4 bytes per run of equal values; about 10 MB for
 * the full RouteViews table): one node and one run entry read per lookup,
 * two more in a /24 that longer prefixes split. It is allocated only when
 * at least one IPv4 prefix was inserted, in transparent huge pages where
 * the system allows them (Linux: madvise(MADV_HUGEPAGE)), so that random
 * lookups rarely miss the TLB. For batches of addresses,
 * sd_lpm_lookup4_bulk() is faster than one call per address. IPv6 uses a
 * binary search over the sorted disjoint address ranges the prefixes cover.
 *
 * Thread safety: building (insert, freeze) needs one thread. A frozen
 * sd_lpm is read-only: lookups, sd_lpm_memory() and sd_lpm_count() are
 * lock-free and safe from any number of threads at once, as long as
 * sd_lpm_destroy() is not called concurrently.
 */
#ifndef STARDUST_LPM_H
#define STARDUST_LPM_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Returned by the lookups when no inserted prefix covers the address.
 * Since: 0.3 */
#define SD_LPM_NONE UINT32_MAX

/* Largest value an insert accepts. Since: 0.3 */
#define SD_LPM_VALUE_MAX 0x7FFFFFFEu

/* Opaque LPM table; a handle for sd_errmsg(). Since: 0.3 */
typedef struct sd_lpm sd_lpm;

/* Create an empty table in build state into *lpmp (owned by the caller,
 * release with sd_lpm_destroy()). Returns 0, SD_ERR_INVAL (NULL lpmp) or
 * SD_ERR_NOMEM. Thread: any. Since: 0.3 */
SD_API int sd_lpm_create(sd_lpm **lpmp);

/* Insert the IPv4 prefix addr/len (addr in host byte order, 0 <= len <= 32)
 * mapping to value (<= SD_LPM_VALUE_MAX). Returns 0, SD_ERR_INVAL (bad len
 * or value), SD_ERR_STATE (already frozen) or SD_ERR_NOMEM; details in
 * sd_errmsg(lpm). Thread: the building thread. Since: 0.3 */
SD_API int sd_lpm_insert4(sd_lpm *lpm, uint32_t addr, unsigned len, uint32_t value);

/* Insert the IPv6 prefix addr/len (16 bytes in network order, borrowed for
 * the call, 0 <= len <= 128). Same returns as sd_lpm_insert4().
 * Thread: the building thread. Since: 0.3 */
SD_API int sd_lpm_insert6(sd_lpm *lpm, const uint8_t addr[16], unsigned len, uint32_t value);

/* Build the read-only lookup structures and release the build lists.
 * Afterwards inserts fail with SD_ERR_STATE. Returns 0, SD_ERR_STATE
 * (frozen twice) or SD_ERR_NOMEM (the table stays in build state and can
 * be frozen again or destroyed). Thread: the building thread; publish the
 * frozen table to other threads with the usual happens-before (thread
 * creation, a mutex or a release store). Since: 0.3 */
SD_API int sd_lpm_freeze(sd_lpm *lpm);

/* Value of the longest prefix covering the IPv4 address addr (host byte
 * order), or SD_LPM_NONE (also before sd_lpm_freeze()). Never fails.
 * Thread: safe concurrently on a frozen table. Since: 0.3 */
SD_API uint32_t sd_lpm_lookup4(const sd_lpm *lpm, uint32_t addr);

/* Value of the longest prefix covering the IPv6 address addr (16 bytes,
 * network order, borrowed), or SD_LPM_NONE. Thread: as sd_lpm_lookup4().
 * Since: 0.3 */
SD_API uint32_t sd_lpm_lookup6(const sd_lpm *lpm, const uint8_t addr[16]);

/* Bulk sd_lpm_lookup4(): out[i] = sd_lpm_lookup4(lpm, addrs[i]) for i < n,
 * with SD_LPM_NONE for no match; every out[i] is written, nothing fails.
 * Faster than n single calls on large batches because it prefetches the
 * table entries of the addresses ahead. lpm must not be NULL; addrs (host
 * byte order) and out are borrowed, n entries each, and may not overlap.
 * Thread: as sd_lpm_lookup4(). Since: 0.3 */
SD_API void sd_lpm_lookup4_bulk(const sd_lpm *lpm, const uint32_t *addrs, uint32_t *out, size_t n);

/* Bulk sd_lpm_lookup6(): addrs holds n addresses of 16 bytes each, back to
 * back in network order; out[i] receives the value of the i-th one. Same
 * rules as sd_lpm_lookup4_bulk(). Thread: as sd_lpm_lookup4(). Since: 0.3 */
SD_API void sd_lpm_lookup6_bulk(const sd_lpm *lpm, const uint8_t *addrs, uint32_t *out, size_t n);

/* Bytes of heap the table holds now (build lists before the freeze,
 * lookup structures after). Thread: as sd_lpm_lookup4(). Since: 0.3 */
SD_API size_t sd_lpm_memory(const sd_lpm *lpm);

/* Number of successful inserts of family 4 or 6 (duplicates included);
 * 0 for other families. Thread: as sd_lpm_lookup4(). Since: 0.3 */
SD_API size_t sd_lpm_count(const sd_lpm *lpm, int family);

/* Release everything. NULL is accepted. Since: 0.3 */
SD_API void sd_lpm_destroy(sd_lpm *lpm);

#ifdef __cplusplus
}
#endif
#endif
