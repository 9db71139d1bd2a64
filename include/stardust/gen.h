/* stardust: synthetic telescope traffic.
 *
 * A deterministic generator of packets that look like what a network
 * telescope (darknet) receives: mostly 60-byte frames towards a telescope
 * prefix, from TCP SYN scanners (generic, masscan-, ZMap- and Mirai-style),
 * UDP probes, ICMP echo, DoS backscatter (SYN-ACK, RST, ICMP unreachable
 * from a few victims), spoofed and unrouted sources, fragments, odd TTLs and
 * an IPv6 share. Sources follow a Zipf-like popularity (a few heavy
 * scanners, many light ones); arrivals are a Poisson process at `pps`.
 * Every IPv4, TCP, UDP, ICMP and ICMPv6 checksum is valid.
 *
 * The same configuration and seed always give the same packets and
 * timestamps, byte for byte, on every platform and whatever the batch sizes
 * passed to sd_gen_next(). pps changes the timestamps (and the clocks some
 * stacks carry in packets: TCP TSval, ping payloads) but no other byte.
 * sd-gen(1) and sd_gen(3) describe the traffic model kind by kind.
 *
 * It is also a source: sd_source_open("gen:count=1000,seed=7") reads it like
 * a file (keys as in sd_gen_config_set()).
 *
 * Thread safety: one thread per sd_gen. sd_gen_config_* touch only the
 * caller's struct; sd_gen_kind_name() is safe from any thread.
 */
#ifndef STARDUST_GEN_H
#define STARDUST_GEN_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>
#include <stardust/packet.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Traffic kinds, the index into sd_gen_config.weight[].
 * WARNING: on-ABI values; append only. */
enum sd_gen_kind {
    SD_GEN_SCAN = 0,        /* generic TCP SYN scanner (nmap-like, options) */
    SD_GEN_MASSCAN,         /* masscan: ip id = dst ^ dport ^ seq, no options, win 1024 */
    SD_GEN_ZMAP,            /* ZMap: ip id 54321, win 65535, MSS option */
    SD_GEN_MIRAI,           /* Mirai: seq = destination address, ports 23/2323 */
    SD_GEN_UDP,             /* UDP probes (DNS, NTP, SSDP, memcached, ...) */
    SD_GEN_ICMP_ECHO,       /* ICMP echo requests (ping sweeps) */
    SD_GEN_BACKSCATTER,     /* SYN-ACK / RST / ICMP unreachable from DoS victims */
    SD_GEN_SPOOFED,         /* sources from reserved / unrouted space */
    SD_GEN_FRAGMENT,        /* IPv4 fragments (first and later) */
    SD_GEN_IPV6,            /* IPv6 scans towards the IPv6 telescope prefix */
    SD_GEN_NKINDS
};

/* WARNING: append fields at the end only (size-versioned). */
typedef struct sd_gen_config {
    size_t size;            /* set by sd_gen_config_init() */
    uint64_t seed;          /* default 1 */
    uint64_t start_ns;      /* first timestamp (the first packet has exactly
                               this one), ns since epoch; default
                               2026-01-01 00:00:00 UTC */
    double pps;             /* packets per second of trace time, 0.001..1e9;
                               default 100000 */
    uint64_t count;         /* packets to make; 0 = use duration_ns. When
                               both are set, count wins. Default 0 */
    uint64_t duration_ns;   /* trace time to cover when count is 0: packets
                               with start_ns <= ts < start_ns + duration_ns;
                               default 10 s; with both 0 the generator never
                               ends */
    uint32_t prefix4;       /* telescope IPv4 prefix, host order, no host
                               bits set; default 44.0.0.0 */
    uint8_t prefix4_len;    /* 0..32; default 9 */
    uint8_t prefix6_len;    /* 0..128; default 32 */
    uint8_t prefix6[16];    /* telescope IPv6 prefix, no host bits set;
                               default 2001:db8:: */
    double weight[SD_GEN_NKINDS]; /* relative share of each kind, 0..1e9,
                               not all 0. Defaults (percent): scan 20,
                               masscan 18, zmap 14, mirai 16, udp 10,
                               icmp 6, backscatter 8, spoofed 3, frag 1,
                               ipv6 4 */
    uint32_t n_sources;     /* distinct scanner sources, 1..1000000, shared
                               out among the kinds that have their own
                               (at least one each); default 5000 */
    uint32_t n_victims;     /* distinct DoS victims, 1..65536; default 8 */
    uint16_t linktype;      /* SD_LINK_ETHERNET (default) or SD_LINK_RAW */
} sd_gen_config;

/* Fill cfg with the defaults. Since: 0.1 */
SD_API void sd_gen_config_init(sd_gen_config *cfg);

/* Set one option by name, as the CLI and the gen: URI spell them:
 * seed, start (seconds since epoch, may have a fraction, or
 * YYYY-MM-DDTHH:MM:SS[.frac][Z], UTC), pps, count, duration (seconds, may
 * have a fraction), prefix (a.b.c.d/n), prefix6 (x::/n), sources, victims,
 * link (ethernet|raw), and one weight per kind: scan, masscan, zmap, mirai,
 * udp, icmp, backscatter, spoofed, frag, ipv6 (the sd_gen_kind_name()
 * names). Integers may end in k, M or G (10^3, 10^6, 10^9); pps and weights
 * may also be written 1.5e6. Numbers are read the same in every locale.
 * Returns 0, or SD_ERR_INVAL with the reason, starting with the key, in
 * errbuf (may be NULL); cfg is unchanged on failure. Since: 0.1 */
SD_API SD_NODISCARD int sd_gen_config_set(sd_gen_config *cfg, const char *key,
                                          const char *value, char *errbuf);

/* Apply a comma-separated list "key=value,key=value" with
 * sd_gen_config_set(), left to right; "" does nothing. Stops at the first
 * bad item (the items before it stay applied) and returns its SD_ERR_INVAL.
 * Since: 0.1 */
SD_API SD_NODISCARD int sd_gen_config_parse(sd_gen_config *cfg, const char *list, char *errbuf);

typedef struct sd_gen sd_gen;

/* Create a generator from cfg (NULL: the defaults). Everything is allocated
 * here (about 0.5 MB with the defaults); nothing per packet.
 * *gp is owned by the caller (sd_gen_destroy()).
 * Returns 0, SD_ERR_INVAL (bad config, reason in errbuf) or SD_ERR_NOMEM;
 * on failure *gp is NULL. Thread: safe. Since: 0.1 */
SD_API SD_NODISCARD int sd_gen_create(sd_gen **gp, const sd_gen_config *cfg, char *errbuf);

/* Make up to n packets into pkts[0..ret-1]: at most 1024 per call, and
 * fewer when the count or duration ends. Returns the count (1..n), SD_EOF
 * after the configured count/duration (and on every later call), or
 * SD_ERR_INVAL for a NULL argument or n == 0. Borrowed: the descriptors
 * and bytes are valid until the next call or destroy. Timestamps never
 * decrease. No allocation, lock or syscall. Since: 0.1 */
SD_API SD_NODISCARD int sd_gen_next(sd_gen *g, const sd_packet **pkts, size_t n);

/* Packets made so far of each kind (array of SD_GEN_NKINDS, indexed by
 * enum sd_gen_kind). Borrowed: valid until sd_gen_destroy(), updated by
 * sd_gen_next(). NULL if g is NULL. Since: 0.1 */
SD_API const uint64_t *sd_gen_kind_counts(const sd_gen *g);

/* Name of a kind ("scan", "masscan", ...), NULL if out of range.
 * Borrowed: static storage. Since: 0.1 */
SD_API const char *sd_gen_kind_name(int kind);

/* Free g. NULL is ignored. Since: 0.1 */
SD_API void sd_gen_destroy(sd_gen *g);

#ifdef __cplusplus
}
#endif
#endif
