/* stardust: corsaro-compatible packet tags and the tagger.
 *
 * A tag describes one packet: its filter bits (filterbits.h), transport
 * ports and protocol, a flow hash, and the origin AS and geolocation of its
 * SOURCE address. On the wire it is the 67-byte tag block of corsarotagger
 * (tags.md §1), carried in CORSAROTAG nDAG records (tags.md §3.2).
 *
 * The tagger owns the provider tables (pfx2as, MaxMind, Net Acuity); at
 * sd_tagger_freeze() it overlays them into ONE longest-prefix table whose
 * values are precomputed per-range answers, so tagging a packet costs one
 * lookup whatever the number of providers.
 *
 * Thread safety: building (create, add, freeze) needs one thread. A frozen
 * tagger is read-only: sd_tag() and the lookups are lock-free and safe from
 * any number of threads at once, as long as sd_tagger_destroy() is not
 * called concurrently. To reload provider files, build a new tagger and
 * switch to it between batches.
 *
 * Since: 0.3
 */
#ifndef STARDUST_TAG_H
#define STARDUST_TAG_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>
#include <stardust/geo.h>
#include <stardust/packet.h>
#include <stardust/parse.h>
#include <stardust/pfx2as.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes of a tag block on the wire, and of a CORSAROTAG record header
 * (which ends with the tag block). WARNING: on-wire values. */
#define SD_TAG_BLOCK_LEN 67
#define SD_TAG_HEADER_LEN 94

/* sd_tags.providers_used bits (tags.md §1.1). WARNING: on-wire values. */
#define SD_TAG_BASIC 0x1u   /* ports, protocol, ft_hash filled */
#define SD_TAG_MAXMIND 0x2u /* maxmind_* fields valid */
#define SD_TAG_NETACQ 0x4u  /* netacq_* fields valid */
#define SD_TAG_PFX2AS 0x8u  /* prefixasn valid (exactly one origin AS) */

/* A decoded tag block, host byte order. Two-letter codes are two ASCII
 * bytes (not NUL-terminated), both zero when unset. */
typedef struct sd_tags {
    uint32_t providers_used;   /* SD_TAG_* */
    uint16_t netacq_region;
    uint16_t src_port;         /* TCP/UDP source port; ICMP type */
    uint32_t netacq_polygon[8];
    uint32_t prefixasn;        /* 0 when unknown or multi-origin */
    char maxmind_country[2];
    char netacq_country[2];
    char maxmind_continent[2];
    char netacq_continent[2];
    uint16_t dest_port;        /* TCP/UDP destination port; ICMP code */
    uint8_t protocol;          /* IP protocol; 0 without a transport header */
    uint8_t pad0;
    uint64_t filterbits;       /* SD_FB(id) bits, filterbits.h */
    uint32_t ft_hash;          /* tags.md §1.3 */
    uint32_t pad1;
} sd_tags;

/* Write t as a 67-byte tag block (everything big-endian, tags.md §1).
 * Thread: reentrant. Since: 0.3 */
SD_API void sd_tags_encode(const sd_tags *t, uint8_t out[SD_TAG_BLOCK_LEN]);

/* Read a 67-byte tag block into *t, accepting upstream's little-endian
 * quirks: providers_used 01 00 00 00 is read as SD_TAG_BASIC, filter bit
 * 36 as NOTIP (tags.md §1.1, §1.4). Returns 0, or SD_ERR_TRUNCATED when
 * len < 67 (t is then zeroed). Thread: reentrant. Since: 0.3 */
SD_API int sd_tags_decode(sd_tags *t, const uint8_t *block, size_t len);

/* The flow-tuple hash of tags.md §1.3 from host-order inputs.
 * Thread: reentrant. Since: 0.3 */
SD_API uint32_t sd_ft_hash(uint32_t src, uint32_t dst, uint16_t sport, uint16_t dport,
                           uint8_t ttl, uint8_t tcp_flags, uint8_t proto, uint16_t iplen);

/* Opaque tagger; a handle for sd_errmsg(). */
typedef struct sd_tagger sd_tagger;

/* Create a tagger with no provider (filter bits and basic tags only) in
 * build state. Returns 0 or SD_ERR_NOMEM. Since: 0.3 */
SD_API SD_NODISCARD int sd_tagger_create(sd_tagger **tp);

/* Add a pfx2as table (IPv4 and/or IPv6); the tagger takes ownership,
 * also on failure. Several tables may be added (e.g. one per family);
 * where more than one covers an address, the later added table answers.
 * Returns 0, SD_ERR_INVAL (frozen tagger, NULL table) or SD_ERR_NOMEM.
 * Since: 0.3 */
SD_API SD_NODISCARD int sd_tagger_add_pfx2as(sd_tagger *t, sd_pfx2as *table);

/* Add a geolocation table; its kind (sd_geo_kind()) says which tag fields
 * it fills. At most one table per kind. The tagger takes ownership, also on
 * failure. Returns 0 or SD_ERR_INVAL. Since: 0.3 */
SD_API SD_NODISCARD int sd_tagger_add_geo(sd_tagger *t, sd_geo *geo);

/* Build the combined lookup table (with two or more tables an overlay LPM
 * of them all, one more IPv4 table of a few MB). Returns 0, SD_ERR_NOMEM (the
 * tagger stays in build state; freeze may be retried), SD_ERR_INVAL
 * (already frozen). Since: 0.3 */
SD_API SD_NODISCARD int sd_tagger_freeze(sd_tagger *t);

/* Tag n packets: out[i] for pkts[i]. parsed may be NULL (the tagger then
 * parses), else parsed[i] must be sd_parse()'s result for pkts[i]. Packet
 * bytes are never changed. IPv6 and non-IP packets get NOTIP only, no
 * basic or provider tags (tags.md §4; the tag block has no room for IPv6);
 * a NULL pkts[i] gets all-zero tags. No allocation, lock or system call.
 * Returns
 * n, or SD_ERR_INVAL (NULL argument, tagger not frozen, n > INT_MAX).
 * Thread: safe on a frozen tagger. Since: 0.3 */
SD_API int sd_tag(const sd_tagger *t, const sd_packet *const *pkts, const sd_parsed *parsed,
                  sd_tags *out, size_t n);

/* What the providers know of one address (sd-tagger --lookup). */
typedef struct sd_tag_lookup {
    uint32_t providers;        /* SD_TAG_MAXMIND | SD_TAG_NETACQ | SD_TAG_PFX2AS as a tag
                                  would carry them: no SD_TAG_PFX2AS for
                                  several origins (asns lists them all) */
    const uint32_t *asns;      /* origin ASNs of the longest pfx2as prefix (borrowed) */
    size_t n_asns;
    const sd_geo_record *maxmind; /* NULL when no MaxMind table matched */
    const sd_geo_record *netacq;  /* NULL when no Net Acuity table matched */
} sd_tag_lookup;

/* Look up an address: family 4 (addr = 4 bytes, network order) or 6 (16
 * bytes). IPv6 addresses are answered from the tables' IPv6 data even
 * though packets are not tagged with it. Pointers are valid until
 * sd_tagger_destroy(). Returns 0 or SD_ERR_INVAL. Thread: safe on a
 * frozen tagger. Since: 0.3 */
SD_API int sd_tagger_lookup(const sd_tagger *t, int family, const uint8_t *addr,
                            sd_tag_lookup *out);

/* Bytes of heap held (provider tables and the combined table).
 * Thread: safe. Since: 0.3 */
SD_API size_t sd_tagger_memory(const sd_tagger *t);

/* Release the tagger and every table it owns. NULL is accepted.
 * Since: 0.3 */
SD_API void sd_tagger_destroy(sd_tagger *t);

#ifdef __cplusplus
}
#endif
#endif
