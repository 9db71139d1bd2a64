/* stardust: the 67-byte corsaro tag block and the flow-tuple hash
 * (include/stardust/tag.h, tags.md §1). */
#include <string.h>

#include <stardust/filterbits.h>
#include <stardust/tag.h>

#include "internal.h"
#include "tag_int.h"

void sd_tags_encode(const sd_tags *t, uint8_t out[SD_TAG_BLOCK_LEN])
{
    sd__put_be32(out + 0, t->providers_used);
    sd__put_be16(out + 4, t->netacq_region);
    for (int i = 0; i < 8; i++)
        sd__put_be32(out + 6 + 4 * i, t->netacq_polygon[i]);
    sd__put_be32(out + 38, t->prefixasn);
    memcpy(out + 42, t->maxmind_country, 2);
    memcpy(out + 44, t->netacq_country, 2);
    sd__put_be16(out + 46, t->src_port);
    sd__put_be16(out + 48, t->dest_port);
    memcpy(out + 50, t->maxmind_continent, 2);
    memcpy(out + 52, t->netacq_continent, 2);
    sd__put_be32(out + 54, (uint32_t)(t->filterbits >> 32));
    sd__put_be32(out + 58, (uint32_t)t->filterbits);
    sd__put_be32(out + 62, t->ft_hash);
    out[66] = t->protocol;
}

int sd_tags_decode(sd_tags *t, const uint8_t *b, size_t len)
{
    memset(t, 0, sizeof *t);
    if (b == NULL || len < SD_TAG_BLOCK_LEN)
        return SD_ERR_TRUNCATED;
    uint32_t pu = sd__be32(b);
    /* Upstream leaves the field in host order when no provider is
     * configured: 01 00 00 00 on little-endian hosts (tags.md §1.1). */
    if (pu == 0x01000000u)
        pu = SD_TAG_BASIC;
    t->providers_used = pu;
    t->netacq_region = sd__be16(b + 4);
    for (int i = 0; i < 8; i++)
        t->netacq_polygon[i] = sd__be32(b + 6 + 4 * i);
    t->prefixasn = sd__be32(b + 38);
    memcpy(t->maxmind_country, b + 42, 2);
    memcpy(t->netacq_country, b + 44, 2);
    t->src_port = sd__be16(b + 46);
    t->dest_port = sd__be16(b + 48);
    memcpy(t->maxmind_continent, b + 50, 2);
    memcpy(t->netacq_continent, b + 52, 2);
    t->filterbits = sd_filterbits_normalize(sd__be64(b + 54));
    t->ft_hash = sd__be32(b + 62);
    t->protocol = b[66];
    return 0;
}

static inline uint32_t ft_mix(uint32_t h, uint32_t v)
{
    return h ^ ((h << 5) + (h >> 27) + v);
}

/* The tagger computes the same hash lane-wise in filterbits_batch.inc; the
 * tests compare both with upstream's values. */
uint32_t sd_ft_hash(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport, uint8_t ttl,
                    uint8_t tcp_flags, uint8_t proto, uint16_t iplen)
{
    uint32_t h = src * 59u;
    h = ft_mix(h, dst);
    h = ft_mix(h, (uint32_t)sport << 16);
    h = ft_mix(h, dport);
    h = ft_mix(h, (uint32_t)ttl << 24 | (uint32_t)tcp_flags << 16);
    h = ft_mix(h, (uint32_t)proto << 8 | iplen);
    return h;
}
