/* stardust: what the tagger (tag.c) needs from the provider tables: their
 * LPMs and the records the LPM values index (implemented in pfx2as.c; the
 * geo tables are open through geo_int.h). */
#ifndef SD_TAG_INT_H
#define SD_TAG_INT_H

#include <stardust/lpm.h>
#include <stardust/pfx2as.h>

#include "internal.h"

/* The table's LPM: values are origin-list indices (< sd__pfx2as_nlists()). */
const sd_lpm *sd__pfx2as_lpm(const sd_pfx2as *t);

/* Number of origin lists. */
size_t sd__pfx2as_nlists(const sd_pfx2as *t);

/* The origin list idx (< sd__pfx2as_nlists()): returns its length and
 * points *asns at it (borrowed from t). */
size_t sd__pfx2as_list(const sd_pfx2as *t, uint32_t idx, const uint32_t **asns);

#endif
