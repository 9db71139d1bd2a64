/* stardust: the packet view shared by every source and consumer.
 *
 * An sd_packet is a zero-copy view: `data` points into a buffer owned by the
 * source that produced it and stays valid only as long as that source says
 * (for sd_source_read(): until the next read or close on the same source).
 * The library allocates the descriptors, so fields may be appended at the
 * end of the struct without breaking programs built against older headers.
 */
#ifndef STARDUST_PACKET_H
#define STARDUST_PACKET_H

#include <stdint.h>
#include <stardust/export.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Link types are pcap LINKTYPE_ values (pcap-linktype(7)), which are the
 * same on every platform, unlike some DLT_ values.
 * WARNING: on-ABI values, also written into pcap files. */
enum sd_linktype {
    SD_LINK_NULL = 0,         /* BSD loopback: 4-byte host-order family */
    SD_LINK_ETHERNET = 1,
    SD_LINK_RAW = 101,        /* raw IPv4 or IPv6, version from the first nibble */
    SD_LINK_LOOP = 108,       /* OpenBSD loopback: 4-byte network-order family */
    SD_LINK_LINUX_SLL = 113,  /* Linux cooked capture v1 */
    SD_LINK_IPV4 = 228,
    SD_LINK_IPV6 = 229,
    SD_LINK_LINUX_SLL2 = 276, /* Linux cooked capture v2 */
    SD_LINK_UNKNOWN = 0xffff  /* source could not name it (e.g. ERF type 255) */
};

/* sd_packet.flags. WARNING: on-ABI values. */
#define SD_PKT_TRUNCATED_BY_SENDER 0x0001u /* cut by an nDAG sender (ndag.md 6.1) */
#define SD_PKT_ERF_TRUNCATED 0x0002u       /* ERF flag 0x08: card buffer overflow */
#define SD_PKT_ERF_RXERROR 0x0004u         /* ERF flag 0x10: payload hidden (caplen 0) */
#define SD_PKT_ERF_DSERROR 0x0008u         /* ERF flag 0x20 */
#define SD_PKT_NO_TIMESTAMP 0x0010u        /* source had no time (pcapng simple block) */

struct sd_tags; /* defined by the tagging module; NULL when untagged */

typedef struct sd_packet {
    uint64_t ts;            /* nanoseconds since 1970-01-01 00:00:00 UTC */
    const uint8_t *data;    /* first captured byte (link-layer header) */
    uint32_t caplen;        /* bytes available at data */
    uint32_t wirelen;       /* length on the wire, as the source recorded it
                               (ERF: wlen; pcap: orig_len) */
    uint16_t linktype;      /* enum sd_linktype */
    uint16_t flags;         /* SD_PKT_* */
    uint16_t iface;         /* capture interface: ERF interface bits, pcapng
                               interface index; 0 when the source has none */
    uint16_t lctr;          /* ERF loss counter (records dropped by the card
                               before this one); 0 elsewhere */
    const struct sd_tags *tags;
    /* WARNING: append new fields here only; never reorder (ABI). */
} sd_packet;

#ifdef __cplusplus
}
#endif
#endif
