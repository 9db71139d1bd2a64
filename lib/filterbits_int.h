/* stardust: the filter bits of a batch of packets, for sd_filterbits(),
 * sd_filterbits_bulk() and the tagger (tag.c), which also takes the
 * transport fields the filters read (struct sd__l4) instead of reading the
 * packet again. See filterbits.c for the differences from upstream. */
#ifndef SD_FILTERBITS_INT_H
#define SD_FILTERBITS_INT_H

#include <stardust/filterbits.h>

#include "internal.h"

/* Packets per sd__filterbits_batch() call. The batch is evaluated in
 * vector lanes, one filter at a time over all packets, rather than one
 * packet at a time over all filters: 30 scalar compare-and-set steps per
 * packet were most of the tagger's time. */
#define SD__FB_BATCH 64

/* kind bits of a packet (struct sd__fb_batch): */
#define SD__FB_L4OK 0x1u /* not a later fragment, IP header captured
                            (tags.md 1.2 step 2) */
#define SD__FB_LIVE 0x2u /* an IP packet; else fb = pre */
#define SD__FB_V6 0x4u   /* IPv6 */
#define SD__FB_TAG4 0x8u /* an IPv4 packet the tagger tags (SD_P_IP4,
                            version 4, bytes) */

/* A batch as columns, one uint32 per packet. All filter ids are below 32.
 * Outputs: fb, and for the tagger kind, sport, dport_proto and hash, so
 * that it need not read the packets or their parse results again. The
 * rest is sd__filterbits_batch()'s working space. */
struct sd__fb_batch {
    /* outputs */
    uint32_t fb[SD__FB_BATCH];    /* the filter bits */
    uint32_t kind[SD__FB_BATCH];  /* SD__FB_* */
    uint32_t sport[SD__FB_BATCH]; /* TCP/UDP (4 bytes captured); ICMP type (2) */
    uint32_t dport_proto[SD__FB_BATCH]; /* TCP/UDP port or ICMP code, and
                                           bits 16-23: the protocol with
                                           SD__FB_L4OK (the tag's bytes
                                           52-55) */
    uint32_t hash[SD__FB_BATCH];  /* tags.md 1.3 flow hash of an IPv4 packet;
                                     0 without transport */
    /* working space: what the filters read, as raw header words */
    uint32_t pre[SD__FB_BATCH];   /* bits of the byte-pattern filters (IPv6
                                     addresses, UDP payloads), or NOTIP */
    uint32_t iplen[SD__FB_BATCH]; /* as upstream sees it (IPv6: converted) */
    uint32_t frag[SD__FB_BATCH];  /* non-zero: reserved bit or an offset */
    uint32_t ipw2[SD__FB_BATCH];  /* TTL << 24 | protocol << 16 */
    uint32_t src[SD__FB_BATCH];   /* IPv4 addresses (0 for IPv6) */
    uint32_t dst[SD__FB_BATCH];
    uint32_t l4w0[SD__FB_BATCH];  /* transport bytes 0-3 and 12-15 as big- */
    uint32_t l4w3[SD__FB_BATCH];  /* endian words, uncaptured bytes as 0 */
    uint32_t rem[SD__FB_BATCH];   /* transport bytes captured (0: none) */
} __attribute__((aligned(32))); /* the widest vector lanes */

/* The filter bits (and tagger fields) of n <= SD__FB_BATCH packets into
 * *c. pkts[i] may be NULL (everything 0). */
void sd__filterbits_batch(const sd_parsed *p, const sd_packet *const *pkts, size_t n,
                          struct sd__fb_batch *c);

#endif
