/* stardust: internal LPM operations shared inside lib/ (never installed).
 *
 * Both work on FROZEN tables (sd_lpm_freeze() done, or made by
 * sd__lpm_overlay()) and only read them, so they may run while other
 * threads look the same tables up.
 */
#ifndef SD_LPM_INT_H
#define SD_LPM_INT_H

#include <stddef.h>
#include <stdint.h>

#include <stardust/lpm.h>

/* Overlay n tables into one, so that a packet costs one lookup instead of n.
 *
 * The result *out (owned by the caller, sd_lpm_destroy(); frozen, both
 * families) maps every address a to combine(user, v), where v[i] is the
 * lookup of a in tables[i] (SD_LPM_NONE where tables[i] has no covering
 * prefix or is NULL); v has n entries and is borrowed for the call.
 *
 * combine is called once per maximal address range over which the whole
 * vector v is constant: all IPv4 ranges in ascending address order, then
 * all IPv6 ranges in ascending order. It is NOT called for ranges where
 * every v[i] is SD_LPM_NONE: those map to SD_LPM_NONE. It returns a value
 * <= SD_LPM_VALUE_MAX, SD_LPM_NONE (no entry for that range), or a negative
 * sd_err that aborts the overlay and is returned. Because it sees each
 * distinct range once, it may intern combined records (e.g. append to a
 * record table and return the index).
 *
 * sd_lpm_count(*out, f) is the number of ranges of family f for which
 * combine returned a value. Tables may be listed more than once.
 *
 * Returns 0; SD_ERR_INVAL (out, combine NULL, tables NULL with n > 0, or
 * combine returned a non-negative value > SD_LPM_VALUE_MAX other than
 * SD_LPM_NONE); SD_ERR_STATE (a table is not frozen); SD_ERR_NOMEM; or
 * combine's negative return. On error *out is NULL and nothing leaks.
 * Cost: one pass over the 2^24 /24 blocks (256 addresses only where some
 * table splits a /24) and one merge of the IPv6 range lists.
 * Thread: any; the tables are only read. */
int sd__lpm_overlay(sd_lpm **out, const sd_lpm *const *tables, size_t n,
                    int64_t (*combine)(void *user, const uint32_t *values), void *user);

/* One maximal range of addresses [first, last] with the same value. */
struct sd__lpm_range {
    int family;        /* 4 or 6 */
    uint8_t first[16]; /* network order; IPv4 uses the first 4 bytes */
    uint8_t last[16];
    uint32_t value; /* never SD_LPM_NONE */
};

/* Call fn for every maximal range of a frozen table that has a value
 * (gaps are skipped): IPv4 ranges ascending, then IPv6 ranges ascending.
 * Adjacent ranges always have different values. Stops at the first
 * non-zero return of fn and returns it. Returns 0, SD_ERR_INVAL (lpm or fn
 * NULL), SD_ERR_STATE (not frozen) or fn's return. r is borrowed for the
 * call. Thread: any. */
int sd__lpm_ranges(const sd_lpm *lpm, int (*fn)(void *user, const struct sd__lpm_range *r), void *user);

/* Test hook: nonzero makes tables frozen from then on look IPv4 addresses
 * up without the POPCNT instruction even where the CPU has it, so that
 * the tests cover both ways of counting bits. */
extern int sd__lpm_no_popcnt;

#endif
