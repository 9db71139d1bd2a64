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

/* The flow-tuple hash of tags.md §1.3 (sd_ft_hash()), inlined into the
 * tagger's loop. */
static inline uint32_t sd__ft_mix(uint32_t h, uint32_t v)
{
    return h ^ ((h << 5) + (h >> 27) + v);
}

static inline uint32_t sd__ft_hash(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                                   uint8_t ttl, uint8_t tcp_flags, uint8_t proto, uint16_t iplen)
{
    uint32_t h = src * 59u;
    h = sd__ft_mix(h, dst);
    h = sd__ft_mix(h, (uint32_t)sport << 16);
    h = sd__ft_mix(h, dport);
    h = sd__ft_mix(h, (uint32_t)ttl << 24 | (uint32_t)tcp_flags << 16);
    h = sd__ft_mix(h, (uint32_t)proto << 8 | iplen);
    return h;
}

#endif
