/* stardust: deterministic synthetic telescope traffic (gen.h).
 *
 * Design:
 * - Every random choice comes from xoshiro256** streams seeded through
 *   splitmix64, and every per-packet computation is integer arithmetic
 *   (the exponential inter-arrival uses a fixed-point log table), so the
 *   output is the same byte for byte on every platform. Floating point is
 *   used only at create time, on single IEEE operations (+ - * /), which are
 *   exactly rounded everywhere.
 * - Separate streams: "setup" builds the sources, victims and payloads;
 *   "kind" draws the kind of each packet; "time" the timestamps (so pps
 *   moves the timestamps and nothing else, bar the clocks some stacks put
 *   in packets); and each kind has its own content stream, so sd_gen_next()
 *   can make a batch kind by kind and still give the same packets whatever
 *   the batch sizes.
 * - Packets are made from templates built at create time (Ethernet/IP/L4
 *   headers and payloads with the variable fields zeroed, and the one's
 *   complement sums of their constant parts). Per packet we copy the
 *   template, patch the variable fields, and finish each checksum from the
 *   stored sum plus the patched words: no pass over the packet bytes.
 * - A batch is written into one preallocated arena; nothing is allocated
 *   per packet.
 */
#include "config.h"

#include <arpa/inet.h>
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/gen.h>
#include "internal.h"

#define GEN_BATCH 1024           /* descriptors per sd_gen_next() call */
#define GEN_ARENA (256u * 1024u) /* bytes of packet data per call */
#define TMPL_MAX 160u            /* largest small template frame (SSDP: 136) */
#define GEN_MAX_SOURCES 1000000u
#define GEN_MAX_VICTIMS 65536u

/* 2026-01-01T00:00:00Z */
#define GEN_DEFAULT_START_NS (1767225600ull * 1000000000ull)

static const char *const kind_names[SD_GEN_NKINDS] = {
    "scan", "masscan", "zmap", "mirai", "udp", "icmp", "backscatter", "spoofed", "frag", "ipv6",
};

/* Default shares in percent; gen.h repeats them. */
static const double default_weight[SD_GEN_NKINDS] = {20, 18, 14, 16, 10, 6, 8, 3, 1, 4};

/* Share of n_sources given to each kind's own population (permille; kinds
 * without a population of their own have 0). Mirai is a botnet: many light
 * sources; masscan/ZMap campaigns come from few heavy hosts. */
static const uint32_t pop_permille[SD_GEN_NKINDS] = {200, 50, 50, 450, 100, 80, 0, 0, 20, 50};
/* Zipf-Mandelbrot offset q of each population: weight of rank i is
 * 1/(i+q); a larger q flattens the head. */
static const uint32_t pop_q[SD_GEN_NKINDS] = {1, 1, 1, 20, 1, 2, 1, 1, 2, 1};

/* ------------------------------------------------------------------ PRNG */

struct rng {
    uint64_t s[4];
};

static inline uint64_t rotl64(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

/* xoshiro256** (Blackman and Vigna, 2018). */
static inline uint64_t rng_next(struct rng *r)
{
    uint64_t *s = r->s;
    uint64_t out = rotl64(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl64(s[3], 45);
    return out;
}

static uint64_t splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static void rng_seed(struct rng *r, uint64_t seed, uint64_t stream)
{
    uint64_t x = seed ^ (stream * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++)
        r->s[i] = splitmix64(&x);
}

/* Uniform in [0, n) from 32 random bits (multiply-shift; the bias is
 * below 2^-32 * n, irrelevant here). */
static inline uint32_t below(uint32_t r, uint32_t n) { return (uint32_t)(((uint64_t)r * n) >> 32); }

/* -ln(x) * 2^32 for x = 0.5 + i/512, i = 0..256: the exponential
 * inter-arrival times without libm, whose log() differs between platforms
 * in the last bit. */
static const uint32_t neg_ln_tab[257] = {
    2977044472u, 2960299939u, 2943620433u, 2927005452u, 2910454498u, 2893967079u,
    2877542710u, 2861180910u, 2844881204u, 2828643123u, 2812466203u, 2796349984u,
    2780294013u, 2764297840u, 2748361023u, 2732483122u, 2716663704u, 2700902338u,
    2685198601u, 2669552073u, 2653962338u, 2638428985u, 2622951609u, 2607529807u,
    2592163181u, 2576851338u, 2561593890u, 2546390450u, 2531240638u, 2516144076u,
    2501100392u, 2486109217u, 2471170186u, 2456282936u, 2441447110u, 2426662354u,
    2411928318u, 2397244655u, 2382611021u, 2368027078u, 2353492488u, 2339006918u,
    2324570040u, 2310181526u, 2295841054u, 2281548305u, 2267302961u, 2253104709u,
    2238953239u, 2224848243u, 2210789418u, 2196776461u, 2182809076u, 2168886965u,
    2155009838u, 2141177403u, 2127389374u, 2113645467u, 2099945400u, 2086288895u,
    2072675675u, 2059105467u, 2045577999u, 2032093005u, 2018650217u, 2005249372u,
    1991890209u, 1978572470u, 1965295899u, 1952060242u, 1938865248u, 1925710667u,
    1912596253u, 1899521761u, 1886486949u, 1873491577u, 1860535406u, 1847618201u,
    1834739729u, 1821899758u, 1809098057u, 1796334401u, 1783608562u, 1770920319u,
    1758269449u, 1745655732u, 1733078952u, 1720538893u, 1708035340u, 1695568083u,
    1683136909u, 1670741613u, 1658381986u, 1646057825u, 1633768926u, 1621515088u,
    1609296111u, 1597111799u, 1584961954u, 1572846382u, 1560764891u, 1548717289u,
    1536703387u, 1524722996u, 1512775930u, 1500862005u, 1488981037u, 1477132844u,
    1465317245u, 1453534063u, 1441783119u, 1430064238u, 1418377245u, 1406721967u,
    1395098232u, 1383505871u, 1371944714u, 1360414593u, 1348915343u, 1337446799u,
    1326008797u, 1314601174u, 1303223771u, 1291876427u, 1280558983u, 1269271284u,
    1258013171u, 1246784492u, 1235585093u, 1224414820u, 1213273524u, 1202161054u,
    1191077261u, 1180021998u, 1168995119u, 1157996477u, 1147025929u, 1136083331u,
    1125168542u, 1114281420u, 1103421825u, 1092589619u, 1081784665u, 1071006824u,
    1060255961u, 1049531943u, 1038834634u, 1028163902u, 1017519616u, 1006901644u,
    996309858u, 985744127u, 975204325u, 964690324u, 954201998u, 943739222u,
    933301872u, 922889825u, 912502959u, 902141151u, 891804281u, 881492230u,
    871204878u, 860942108u, 850703802u, 840489844u, 830300118u, 820134511u,
    809992907u, 799875193u, 789781259u, 779710991u, 769664279u, 759641013u,
    749641085u, 739664385u, 729710807u, 719780242u, 709872585u, 699987731u,
    690125574u, 680286012u, 670468939u, 660674255u, 650901856u, 641151642u,
    631423513u, 621717368u, 612033109u, 602370636u, 592729852u, 583110661u,
    573512964u, 563936668u, 554381675u, 544847893u, 535335226u, 525843582u,
    516372867u, 506922990u, 497493860u, 488085384u, 478697474u, 469330039u,
    459982990u, 450656238u, 441349697u, 432063277u, 422796893u, 413550459u,
    404323887u, 395117094u, 385929995u, 376762505u, 367614542u, 358486021u,
    349376861u, 340286980u, 331216296u, 322164728u, 313132196u, 304118620u,
    295123921u, 286148020u, 277190838u, 268252297u, 259332320u, 250430830u,
    241547751u, 232683006u, 223836520u, 215008219u, 206198026u, 197405869u,
    188631673u, 179875366u, 171136874u, 162416125u, 153713048u, 145027570u,
    136359621u, 127709130u, 119076027u, 110460242u, 101861706u, 93280350u,
    84716105u, 76168904u, 67638678u, 59125361u, 50628884u, 42149183u,
    33686191u, 25239841u, 16810070u, 8396811u, 0u,
};
#define LN2_FP32 2977044472ull /* ln 2 * 2^32 */

/* An Exp(1) variate with 20 fraction bits: U = r / 2^64 = 2^-lz * x with
 * x in [0.5, 1), so -ln U = lz ln 2 - ln x, and -ln x comes from the table
 * with linear interpolation (error below 2e-6). */
static inline uint64_t exp_fp20(uint64_t r)
{
    if (r == 0)
        return (64 * LN2_FP32) >> 12;
    int lz = __builtin_clzll(r);
    uint64_t m = r << lz; /* top bit set */
    uint32_t idx = (uint32_t)(m >> 55) & 0xffu;
    uint64_t frac = (m >> 23) & 0xffffffffull;
    uint64_t a = neg_ln_tab[idx], b = neg_ln_tab[idx + 1];
    uint64_t v = a - (((a - b) * frac) >> 32);
    return ((uint64_t)lz * LN2_FP32 + v) >> 12;
}

/* ------------------------------------------------------------ checksums */

/* One's complement sums are kept unfolded in 64 bits and folded once. */
static inline uint16_t csum_fold(uint64_t s)
{
    s = (s & 0xffffffffull) + (s >> 32);
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    s = (s & 0xffffu) + (s >> 16);
    return (uint16_t)~s;
}

static inline uint64_t w32(uint32_t a) { return (a >> 16) + (a & 0xffffu); }

static inline uint64_t w64(uint64_t a)
{
    return (a >> 48) + ((a >> 32) & 0xffffu) + ((a >> 16) & 0xffffu) + (a & 0xffffu);
}

/* Sum of n bytes as big-endian words; `odd` says the first byte sits at an
 * odd offset of the checksummed region (so it is a low-order byte). */
static uint64_t csum_bytes(const uint8_t *p, size_t n, int odd)
{
    uint64_t s = 0;
    for (size_t i = 0; i < n; i++)
        s += ((i + (size_t)odd) & 1) ? p[i] : (uint64_t)p[i] << 8;
    return s;
}

static inline void put_be64(uint8_t *p, uint64_t v)
{
    sd__put_be32(p, (uint32_t)(v >> 32));
    sd__put_be32(p + 4, (uint32_t)v);
}

/* ---------------------------------------------------------------- model */

/* Where a source's packets come from; the profile picks the template. */
enum { PROF_LINUX = 0, PROF_WINDOWS, PROF_NMAP };         /* scan */
enum { ECHO_ZMAP = 0, ECHO_LINUX, ECHO_WINDOWS };         /* icmp */
enum { V6_ZMAP = 0, V6_LINUX };                           /* ipv6 */

struct gen_src {
    uint32_t addr;
    uint32_t clock;   /* TCP timestamp clock offset */
    uint16_t sport;   /* fixed source port, or the next ephemeral one */
    uint16_t dport;   /* the port (or UDP service) this source favours */
    uint16_t ipid;    /* next IP id of counter-based stacks */
    uint16_t icmp_id;
    uint16_t icmp_seq;
    uint8_t ttl;      /* as received at the telescope */
    uint8_t profile;
    uint8_t fixed_sport;
    uint8_t pad[3];
};

struct gen_src6 {
    uint8_t addr[16];
    uint64_t asum;    /* one's complement sum of addr's words */
    uint32_t clock;
    uint16_t sport;
    uint16_t dport;
    uint16_t icmp_id;
    uint16_t icmp_seq;
    uint8_t hlim;
    uint8_t profile;
};

enum { VIC_TCP = 0, VIC_UDP };

struct gen_victim {
    uint32_t addr;
    uint32_t router;  /* a router in front of it (ICMP time exceeded) */
    uint16_t port;
    uint16_t win;
    uint16_t ipid;
    uint8_t ttl;
    uint8_t rttl;
    uint8_t profile;  /* VIC_TCP / VIC_UDP */
    uint8_t windows;  /* counter IP ids instead of Linux's 0 for DF */
};

struct gen_alias {
    uint32_t thr;     /* keep the bucket when the next 32 bits are below thr */
    uint32_t alias;
};

struct gen_pop {
    uint32_t first;   /* index of the first source in src[] / src6[] */
    uint32_t n;
    struct gen_alias *alias;
};

/* Frame templates. len is the frame length (padded to 60 on Ethernet),
 * ip_sum the sum of the IPv4 header with id, TTL, addresses and checksum
 * zero, l4_sum the sum of the L4 header and payload with the variable
 * fields zero plus the constant pseudo-header words (protocol, length). */
struct tmpl {
    uint8_t b[TMPL_MAX];
    uint16_t len;
    uint16_t dport;   /* UDP services: first destination port */
    uint16_t dport_n; /* UDP services: ports in the range (1 = fixed) */
    uint8_t id_off;   /* UDP services: offset of a request id in the payload */
    uint8_t id_len;   /* 0 = none */
    uint64_t ip_sum;
    uint64_t l4_sum;
};

enum {
    T_SCAN_LINUX = 0, T_SCAN_WINDOWS, T_SCAN_NMAP, T_MASSCAN, T_ZMAP, T_MIRAI,
    T_SYNACK, T_RSTACK, T_RST, T_ICMP_ERR, T_ECHO_ZMAP, T_ECHO_LINUX, T_ECHO_WINDOWS,
    T_SPOOF_SYN, T6_SYN, T6_SYN_LINUX, T6_ECHO, T6_PING, T_COUNT
};

struct udp_service {
    uint16_t dport, dport_n, weight;
    uint8_t id_off, id_len;
    const char *payload;
    size_t len;
};

#define P(s) s, sizeof(s) - 1
/* Small, valid requests as scanners send them. weight is out of 256. */
static const struct udp_service udp_services[] = {
    /* DNS A www.example.com, recursion desired */
    {53, 1, 56, 0, 2, P("\0\0\x01\0\0\x01\0\0\0\0\0\0\x03www\x07" "example\x03" "com\0\0\x01\0\x01")},
    /* DNS ANY example.com with EDNS0 (4096): amplification probing */
    {53, 1, 24, 0, 2, P("\0\0\x01\0\0\x01\0\0\0\0\0\x01\x07" "example\x03" "com\0\0\xff\0\x01"
                        "\0\0\x29\x10\0\0\0\0\0\0\0")},
    /* NTP mode 7 MON_GETLIST_1 (monlist), implementation XNTPD */
    {123, 1, 24, 0, 0, P("\x17\0\x03\x2a\0\0\0\0")},
    /* NTP v4 client request */
    {123, 1, 12, 0, 0, P("\x23\0\x06\xec\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
                         "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0")},
    /* SSDP discovery */
    {1900, 1, 30, 0, 0, P("M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"
                          "MAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n")},
    /* memcached UDP frame header + "stats" */
    {11211, 1, 20, 0, 0, P("\0\x01\0\0\0\x01\0\0stats\r\n")},
    /* SNMPv2c GetRequest sysDescr.0, community "public" */
    {161, 1, 28, 17, 4, P("\x30\x29\x02\x01\x01\x04\x06public\xa0\x1c\x02\x04\0\0\0\0"
                          "\x02\x01\0\x02\x01\0\x30\x0e\x30\x0c\x06\x08\x2b\x06\x01\x02"
                          "\x01\x01\x01\0\x05\0")},
    /* NetBIOS NBSTAT query for "*" */
    {137, 1, 24, 0, 2, P("\0\0\0\0\0\x01\0\0\0\0\0\0\x20" "CKAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
                         "\0\0\x21\0\x01")},
    /* MS-SQL browser ping */
    {1434, 1, 14, 0, 0, P("\x02")},
    /* traceroute-style probe to 33434..33533 */
    {33434, 100, 24, 0, 0, P("@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_")},
};
#undef P
#define N_UDP ((int)(sizeof udp_services / sizeof udp_services[0]))

/* Destination ports of TCP scans (out of 1024; the rest are uniformly
 * random ports), after what telescopes see: Telnet and SMB first, then SSH,
 * web, RDP, and the ports of IoT exploits. */
static const struct {
    uint16_t port, weight;
} tcp_ports[] = {
    {23, 140}, {445, 100}, {22, 90}, {80, 80}, {8080, 50}, {3389, 45}, {443, 45},
    {5555, 22}, {81, 18}, {1433, 18}, {8443, 18}, {2323, 14}, {3306, 14}, {5900, 14},
    {6379, 14}, {21, 14}, {25, 12}, {8000, 12}, {8081, 10}, {8888, 10}, {7547, 10},
    {37215, 9}, {52869, 8}, {9200, 8}, {2375, 8}, {5432, 8}, {1723, 8}, {135, 8},
    {139, 8}, {110, 6}, {143, 6}, {993, 5}, {995, 5}, {53, 6}, {5060, 6}, {60001, 5},
    {49152, 4}, {88, 4}, {8291, 6}, {9000, 6}, {10000, 4}, {111, 5}, {6443, 4},
    {2222, 6}, {11211, 3}, {27017, 4},
};

/* Special-purpose IPv4 space (RFC 6890): what spoofed sources use, and
 * what real sources must avoid. */
static const struct {
    uint32_t base;
    uint8_t len;
} reserved4[] = {
    {0x00000000u, 8},  /* 0.0.0.0/8 "this network" */
    {0x0a000000u, 8},  /* 10/8 private */
    {0x64400000u, 10}, /* 100.64/10 shared address space (CGN) */
    {0x7f000000u, 8},  /* 127/8 loopback */
    {0xa9fe0000u, 16}, /* 169.254/16 link local */
    {0xac100000u, 12}, /* 172.16/12 private */
    {0xc0000000u, 24}, /* 192.0.0/24 IETF protocol assignments */
    {0xc0000200u, 24}, /* 192.0.2/24 TEST-NET-1 */
    {0xc0586300u, 24}, /* 192.88.99/24 deprecated 6to4 relay */
    {0xc0a80000u, 16}, /* 192.168/16 private */
    {0xc6120000u, 15}, /* 198.18/15 benchmarking */
    {0xc6336400u, 24}, /* 198.51.100/24 TEST-NET-2 */
    {0xcb007100u, 24}, /* 203.0.113/24 TEST-NET-3 */
    {0xe0000000u, 4},  /* 224/4 multicast */
    {0xf0000000u, 4},  /* 240/4 reserved, and the limited broadcast */
};
#define N_RESERVED4 ((uint32_t)(sizeof reserved4 / sizeof reserved4[0]))

/* Blocks spoofed sources come from: private space (leaking NATs) most
 * often. Indexes into reserved4[]. */
static const uint8_t spoof_blocks[] = {1, 1, 1, 9, 9, 9, 5, 5, 0, 3, 4, 2, 13, 14, 7, 10, 11, 12};

/* Fragmented datagrams: L4 length of each (header + data). Fragments
 * carry 1480 bytes (1500-byte MTU) except the last. Two bodies per size:
 * a DNS response from port 53 (reflection backscatter, the classic source
 * of fragments) and a large ICMP echo request (ping -s). */
static const uint16_t frag_dlen[4] = {1600, 1900, 2960, 3200};
#define FRAG_PAYLOAD 1480u
#define FRAG_MAXLEN 3200u
enum { FRAG_DNS = 0, FRAG_ECHO };

struct frag_state {
    int active;
    uint32_t src, dst;
    uint16_t id, sport, dport, xid;
    uint8_t ttl, type, size, next, nfrags;
};

struct sd_gen {
    struct sd__handle h; /* must be first: sd_errmsg() */
    sd_gen_config cfg;
    struct rng krng;     /* the kind of each packet */
    struct rng trng;     /* timestamps */
    struct rng kr[SD_GEN_NKINDS]; /* contents, one stream per kind */
    int next_kind;       /* drawn, not yet made (the batch was full) */
    uint64_t next_ts;    /* timestamp of the next packet */
    uint64_t ts_frac;    /* 16-bit fraction of a nanosecond */
    uint64_t end_ts;     /* duration mode: first timestamp not made */
    uint64_t mean16;     /* mean gap, ns << 16 */
    uint64_t made, limit;
    int done;
    unsigned l2;         /* link header length: 14 or 0 */

    uint32_t pfx4, host4;                  /* telescope prefix, host mask */
    uint64_t p6hi, p6lo, host6hi, host6lo; /* IPv6 telescope */

    int nk;
    uint64_t kthr[SD_GEN_NKINDS];  /* cumulative thresholds on 32 bits */
    uint8_t korder[SD_GEN_NKINDS];
    uint8_t ktab[1024];            /* kind of each 2^22-wide bucket, or KIND_SPLIT */
    uint32_t slot[SD_GEN_NKINDS];  /* arena bytes reserved per packet of a kind */
    uint64_t counts[SD_GEN_NKINDS];

    struct gen_src *src;
    struct gen_src6 *src6;
    struct gen_victim *vic;
    struct gen_pop pop[SD_GEN_NKINDS];
    struct gen_pop vpop;
    uint32_t hosting[16];          /* /16s where many sources cluster */

    uint16_t port_tab[1024];       /* 0 = a random port */
    uint8_t udp_tab[256];
    struct tmpl t[T_COUNT];
    struct tmpl udp_t[N_UDP];
    uint8_t eth4[14];
    uint8_t frag_body[2][4][FRAG_MAXLEN]; /* L4 datagrams, variable fields 0 */
    uint64_t frag_sum[2][4];               /* their sums + pseudo-header consts */
    struct frag_state frag;

    sd_packet desc[GEN_BATCH];
    uint16_t klist[SD_GEN_NKINDS][GEN_BATCH]; /* batch positions of each kind */
    uint8_t *arena;
};

#define KIND_SPLIT 0xffu

/* --------------------------------------------------------------- config */

void sd_gen_config_init(sd_gen_config *cfg)
{
    if (cfg == NULL)
        return;
    memset(cfg, 0, sizeof *cfg);
    cfg->size = sizeof *cfg;
    cfg->seed = 1;
    cfg->start_ns = GEN_DEFAULT_START_NS;
    cfg->pps = 100000;
    cfg->count = 0;
    cfg->duration_ns = 10ull * 1000000000ull;
    cfg->prefix4 = 0x2c000000u; /* 44.0.0.0 */
    cfg->prefix4_len = 9;
    cfg->prefix6[0] = 0x20;
    cfg->prefix6[1] = 0x01;
    cfg->prefix6[2] = 0x0d;
    cfg->prefix6[3] = 0xb8;
    cfg->prefix6_len = 32;
    for (int k = 0; k < SD_GEN_NKINDS; k++)
        cfg->weight[k] = default_weight[k];
    cfg->n_sources = 5000;
    cfg->n_victims = 8;
    cfg->linktype = SD_LINK_ETHERNET;
}

/* Locale-independent number parsing: strtod() follows LC_NUMERIC. */

static const char *parse_digits(const char *s, uint64_t *v, int *ndig, int *overflow)
{
    uint64_t x = 0;
    int n = 0;
    while (*s >= '0' && *s <= '9') {
        unsigned d = (unsigned)(*s - '0');
        if (x > (UINT64_MAX - d) / 10)
            *overflow = 1;
        else
            x = x * 10 + d;
        s++;
        n++;
    }
    *v = x;
    *ndig = n;
    return s;
}

/* Unsigned integer with an optional k/M/G (10^3, 10^6, 10^9) suffix. */
static int parse_u64(const char *s, uint64_t *out)
{
    uint64_t v;
    int n, of = 0;
    const char *e = parse_digits(s, &v, &n, &of);
    if (n == 0 || of)
        return -1;
    uint64_t mul = 1;
    if (*e == 'k' || *e == 'K')
        mul = 1000;
    else if (*e == 'M')
        mul = 1000000;
    else if (*e == 'G')
        mul = 1000000000;
    if (mul != 1)
        e++;
    if (*e != '\0' || (mul != 1 && v > UINT64_MAX / mul))
        return -1;
    *out = v * mul;
    return 0;
}

/* Non-negative decimal: digits[.digits][e[+-]digits] or a k/M/G suffix. */
static int parse_decimal(const char *s, double *out)
{
    uint64_t ip = 0, fp = 0;
    int ni = 0, nf = 0, of = 0;
    const char *e = parse_digits(s, &ip, &ni, &of);
    if (*e == '.') {
        const char *f = e + 1;
        e = f;
        /* Keep at most 18 fraction digits; the rest cannot matter. */
        while (*e >= '0' && *e <= '9') {
            if (nf < 18) {
                fp = fp * 10 + (uint64_t)(*e - '0');
                nf++;
            }
            e++;
        }
        if (e == f && ni == 0)
            return -1;
    } else if (ni == 0) {
        return -1;
    }
    if (of)
        return -1;
    double v = (double)ip;
    if (nf > 0) {
        double scale = 1;
        for (int i = 0; i < nf; i++)
            scale *= 10;
        v += (double)fp / scale;
    }
    if (*e == 'e' || *e == 'E') {
        e++;
        int neg = 0;
        if (*e == '+' || *e == '-')
            neg = *e++ == '-';
        uint64_t ex;
        int nx, ofx = 0;
        e = parse_digits(e, &ex, &nx, &ofx);
        if (nx == 0 || ofx || ex > 300)
            return -1;
        for (uint64_t i = 0; i < ex; i++)
            v = neg ? v / 10 : v * 10;
    } else if (*e == 'k' || *e == 'K' || *e == 'M' || *e == 'G') {
        v *= *e == 'G' ? 1e9 : *e == 'M' ? 1e6 : 1e3;
        e++;
    }
    if (*e != '\0')
        return -1;
    *out = v;
    return 0;
}

/* Seconds with up to 9 fraction digits, exactly, as nanoseconds. */
static int parse_seconds_ns(const char *s, uint64_t *out)
{
    uint64_t secs = 0, frac = 0;
    int ni = 0, nf = 0, of = 0;
    const char *e = parse_digits(s, &secs, &ni, &of);
    if (*e == '.') {
        e++;
        while (*e >= '0' && *e <= '9') {
            if (nf < 9) {
                frac = frac * 10 + (uint64_t)(*e - '0');
                nf++;
            }
            e++;
        }
    }
    if ((ni == 0 && nf == 0) || of || *e != '\0')
        return -1;
    for (int i = nf; i < 9; i++)
        frac *= 10;
    if (secs > (UINT64_MAX - frac) / 1000000000ull)
        return -1;
    *out = secs * 1000000000ull + frac;
    return 0;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil), so no timegm()/TZ dependence. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int fixed_digits(const char *s, int n, unsigned *out)
{
    unsigned v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DDTHH:MM:SS[.frac][Z]" (UTC; a space may replace the T) or
 * seconds since the epoch with an optional fraction. */
static int parse_time_ns(const char *s, uint64_t *out)
{
    if (strlen(s) >= 19 && s[4] == '-' && s[7] == '-' && (s[10] == 'T' || s[10] == ' ') &&
        s[13] == ':' && s[16] == ':') {
        unsigned y, mo, d, h, mi, sec;
        if (fixed_digits(s, 4, &y) || fixed_digits(s + 5, 2, &mo) || fixed_digits(s + 8, 2, &d) ||
            fixed_digits(s + 11, 2, &h) || fixed_digits(s + 14, 2, &mi) ||
            fixed_digits(s + 17, 2, &sec))
            return -1;
        if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
            return -1;
        static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
        if (d > mdays[mo - 1] || (mo == 2 && d == 29 && !((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)))
            return -1;
        const char *e = s + 19;
        uint64_t frac = 0;
        if (*e == '.') {
            int nf = 0;
            e++;
            while (*e >= '0' && *e <= '9') {
                if (nf < 9) {
                    frac = frac * 10 + (uint64_t)(*e - '0');
                    nf++;
                }
                e++;
            }
            if (nf == 0)
                return -1;
            for (int i = nf; i < 9; i++)
                frac *= 10;
        }
        if (*e == 'Z')
            e++;
        if (*e != '\0')
            return -1;
        int64_t days = days_from_civil((int64_t)y, mo, d);
        uint64_t secs = (uint64_t)days * 86400u + h * 3600u + mi * 60u + sec;
        if (secs > UINT64_MAX / 1000000000ull - 1)
            return -1;
        *out = secs * 1000000000ull + frac;
        return 0;
    }
    return parse_seconds_ns(s, out);
}

static int parse_prefix4(const char *s, uint32_t *addr, uint8_t *len, char *why, size_t whylen)
{
    unsigned oct[4], plen = 32;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        uint64_t v;
        int n, of = 0;
        p = parse_digits(p, &v, &n, &of);
        if (n == 0 || n > 3 || v > 255 || of) {
            snprintf(why, whylen, "not an IPv4 prefix A.B.C.D/N");
            return -1;
        }
        oct[i] = (unsigned)v;
        if (i < 3 && *p++ != '.') {
            snprintf(why, whylen, "not an IPv4 prefix A.B.C.D/N");
            return -1;
        }
    }
    if (*p == '/') {
        uint64_t v;
        int n, of = 0;
        p = parse_digits(p + 1, &v, &n, &of);
        if (n == 0 || v > 32 || of || *p != '\0') {
            snprintf(why, whylen, "prefix length must be 0..32");
            return -1;
        }
        plen = (unsigned)v;
    } else if (*p != '\0') {
        snprintf(why, whylen, "not an IPv4 prefix A.B.C.D/N");
        return -1;
    }
    uint32_t a = (oct[0] << 24) | (oct[1] << 16) | (oct[2] << 8) | oct[3];
    uint32_t mask = plen == 0 ? 0 : 0xffffffffu << (32 - plen);
    if ((a & ~mask) != 0) {
        uint32_t n = a & mask;
        snprintf(why, whylen, "host bits set (the network is %u.%u.%u.%u/%u)", n >> 24,
                 (n >> 16) & 255u, (n >> 8) & 255u, n & 255u, plen);
        return -1;
    }
    *addr = a;
    *len = (uint8_t)plen;
    return 0;
}

static void mask6(uint8_t len, uint64_t *hi, uint64_t *lo)
{
    *hi = len == 0 ? 0 : len >= 64 ? UINT64_MAX : UINT64_MAX << (64 - len);
    *lo = len <= 64 ? 0 : len >= 128 ? UINT64_MAX : UINT64_MAX << (128 - len);
}

static int parse_prefix6(const char *s, uint8_t addr[16], uint8_t *len, char *why, size_t whylen)
{
    char buf[64];
    const char *slash = strchr(s, '/');
    size_t alen = slash ? (size_t)(slash - s) : strlen(s);
    unsigned plen = 128;
    if (alen == 0 || alen >= sizeof buf) {
        snprintf(why, whylen, "not an IPv6 prefix X::/N");
        return -1;
    }
    memcpy(buf, s, alen);
    buf[alen] = '\0';
    uint8_t a[16];
    if (inet_pton(AF_INET6, buf, a) != 1) {
        snprintf(why, whylen, "not an IPv6 prefix X::/N");
        return -1;
    }
    if (slash != NULL) {
        uint64_t v;
        int n, of = 0;
        const char *p = parse_digits(slash + 1, &v, &n, &of);
        if (n == 0 || v > 128 || of || *p != '\0') {
            snprintf(why, whylen, "prefix length must be 0..128");
            return -1;
        }
        plen = (unsigned)v;
    }
    uint64_t mhi, mlo;
    mask6((uint8_t)plen, &mhi, &mlo);
    if ((sd__be64(a) & ~mhi) != 0 || (sd__be64(a + 8) & ~mlo) != 0) {
        snprintf(why, whylen, "host bits set beyond /%u", plen);
        return -1;
    }
    memcpy(addr, a, 16);
    *len = (uint8_t)plen;
    return 0;
}

int sd_gen_config_set(sd_gen_config *cfg, const char *key, const char *value, char *errbuf)
{
    if (cfg == NULL || key == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_gen_config_set: NULL argument");
    if (value == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: missing value", key);
    uint64_t u;
    double d;
    char why[128];

    if (strcmp(key, "seed") == 0) {
        if (parse_u64(value, &u) < 0)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "seed: \"%s\" is not an unsigned integer", value);
        cfg->seed = u;
    } else if (strcmp(key, "start") == 0) {
        if (parse_time_ns(value, &u) < 0)
            return sd__errbuf(errbuf, SD_ERR_INVAL,
                              "start: \"%s\" is neither seconds since the epoch nor YYYY-MM-DDTHH:MM:SS[Z]",
                              value);
        cfg->start_ns = u;
    } else if (strcmp(key, "pps") == 0) {
        if (parse_decimal(value, &d) < 0 || !(d >= 0.001 && d <= 1e9))
            return sd__errbuf(errbuf, SD_ERR_INVAL,
                              "pps: \"%s\" is not a rate between 0.001 and 1e9 packets per second", value);
        cfg->pps = d;
    } else if (strcmp(key, "count") == 0) {
        if (parse_u64(value, &u) < 0)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "count: \"%s\" is not an unsigned integer", value);
        cfg->count = u;
    } else if (strcmp(key, "duration") == 0) {
        if (parse_seconds_ns(value, &u) < 0)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "duration: \"%s\" is not a number of seconds", value);
        cfg->duration_ns = u;
    } else if (strcmp(key, "prefix") == 0) {
        if (parse_prefix4(value, &cfg->prefix4, &cfg->prefix4_len, why, sizeof why) < 0)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "prefix: \"%s\": %s", value, why);
    } else if (strcmp(key, "prefix6") == 0) {
        if (parse_prefix6(value, cfg->prefix6, &cfg->prefix6_len, why, sizeof why) < 0)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "prefix6: \"%s\": %s", value, why);
    } else if (strcmp(key, "sources") == 0) {
        if (parse_u64(value, &u) < 0 || u < 1 || u > GEN_MAX_SOURCES)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "sources: \"%s\" is not a count between 1 and %u",
                              value, GEN_MAX_SOURCES);
        cfg->n_sources = (uint32_t)u;
    } else if (strcmp(key, "victims") == 0) {
        if (parse_u64(value, &u) < 0 || u < 1 || u > GEN_MAX_VICTIMS)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "victims: \"%s\" is not a count between 1 and %u",
                              value, GEN_MAX_VICTIMS);
        cfg->n_victims = (uint32_t)u;
    } else if (strcmp(key, "link") == 0) {
        if (strcmp(value, "ethernet") == 0 || strcmp(value, "eth") == 0)
            cfg->linktype = SD_LINK_ETHERNET;
        else if (strcmp(value, "raw") == 0)
            cfg->linktype = SD_LINK_RAW;
        else
            return sd__errbuf(errbuf, SD_ERR_INVAL, "link: \"%s\" is not ethernet or raw", value);
    } else {
        for (int k = 0; k < SD_GEN_NKINDS; k++) {
            if (strcmp(key, kind_names[k]) == 0) {
                if (parse_decimal(value, &d) < 0 || d > 1e9)
                    return sd__errbuf(errbuf, SD_ERR_INVAL,
                                      "%s: \"%s\" is not a weight (a number from 0 to 1e9)", key, value);
                cfg->weight[k] = d;
                return 0;
            }
        }
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "unknown option \"%s\" (known: seed, start, pps, count, duration, prefix, "
                          "prefix6, sources, victims, link, scan, masscan, zmap, mirai, udp, icmp, "
                          "backscatter, spoofed, frag, ipv6)",
                          key);
    }
    return 0;
}

int sd_gen_config_parse(sd_gen_config *cfg, const char *list, char *errbuf)
{
    if (cfg == NULL || list == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_gen_config_parse: NULL argument");
    const char *p = list;
    while (*p != '\0') {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char item[256];
        if (n == 0)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "empty option in \"%s\"", list);
        if (n >= sizeof item)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "option too long: \"%.40s...\"", p);
        memcpy(item, p, n);
        item[n] = '\0';
        char *eq = strchr(item, '=');
        if (eq == NULL)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: missing =value", item);
        *eq = '\0';
        int rc = sd_gen_config_set(cfg, item, eq + 1, errbuf);
        if (rc < 0)
            return rc;
        p += n;
        if (*p == ',') {
            p++;
            if (*p == '\0')
                return sd__errbuf(errbuf, SD_ERR_INVAL, "empty option in \"%s\"", list);
        }
    }
    return 0;
}

const char *sd_gen_kind_name(int kind)
{
    return kind >= 0 && kind < SD_GEN_NKINDS ? kind_names[kind] : NULL;
}

const uint64_t *sd_gen_kind_counts(const sd_gen *g) { return g != NULL ? g->counts : NULL; }

/* ---------------------------------------------------------------- setup */

static int is_reserved4(uint32_t a)
{
    for (uint32_t i = 0; i < N_RESERVED4; i++) {
        uint32_t mask = 0xffffffffu << (32 - reserved4[i].len);
        if ((a & mask) == reserved4[i].base)
            return 1;
    }
    return 0;
}

static int in_telescope4(const struct sd_gen *g, uint32_t a)
{
    return g->cfg.prefix4_len > 0 && (a & ~g->host4) == g->pfx4;
}

/* A routable unicast address outside the telescope; 40% of them inside a
 * few hosting /16s, as scanners cluster in cloud and bulletproof hosting. */
static uint32_t public_addr(struct sd_gen *g, struct rng *r, int clustered)
{
    for (;;) {
        uint64_t x = rng_next(r);
        uint32_t a = (uint32_t)x;
        if (clustered && (x >> 56) < 102)
            a = g->hosting[(x >> 32) & 15u] | (a & 0xffffu);
        /* Skip .0 and .255: real hosts rarely sit there. */
        if ((a & 0xffu) == 0 || (a & 0xffu) == 255u)
            continue;
        if (!is_reserved4(a) && !in_telescope4(g, a))
            return a;
    }
}

/* Open-addressing set to keep source addresses distinct. */
static int addr_set_add(uint32_t *set, uint32_t mask, uint32_t a)
{
    uint32_t i = (a * 2654435761u) & mask;
    while (set[i] != 0) {
        if (set[i] == a)
            return 0;
        i = (i + 1) & mask;
    }
    set[i] = a;
    return 1;
}

/* Vose's alias method in integers: n buckets of equal mass T = sum(w),
 * filled by one small and one large entry each. */
static int alias_build(struct gen_alias *a, const uint64_t *w, uint32_t n)
{
    uint64_t *p = sd__malloc((size_t)n * sizeof *p);
    uint32_t *small = sd__malloc((size_t)n * sizeof *small);
    uint32_t *large = sd__malloc((size_t)n * sizeof *large);
    if (p == NULL || small == NULL || large == NULL) {
        sd__free(p);
        sd__free(small);
        sd__free(large);
        return SD_ERR_NOMEM;
    }
    uint64_t total = 0;
    for (uint32_t i = 0; i < n; i++)
        total += w[i];
    uint32_t ns = 0, nl = 0;
    for (uint32_t i = 0; i < n; i++) {
        p[i] = w[i] * n;
        if (p[i] < total)
            small[ns++] = i;
        else
            large[nl++] = i;
    }
    while (ns > 0 && nl > 0) {
        uint32_t s = small[--ns], l = large[--nl];
        a[s].thr = (uint32_t)((p[s] << 32) / total);
        a[s].alias = l;
        p[l] -= total - p[s];
        if (p[l] < total)
            small[ns++] = l;
        else
            large[nl++] = l;
    }
    while (nl > 0) {
        uint32_t l = large[--nl];
        a[l].thr = UINT32_MAX;
        a[l].alias = l;
    }
    while (ns > 0) { /* rounding leftovers */
        uint32_t s = small[--ns];
        a[s].thr = UINT32_MAX;
        a[s].alias = s;
    }
    sd__free(p);
    sd__free(small);
    sd__free(large);
    return 0;
}

static inline uint32_t alias_pick(const struct gen_alias *a, uint32_t n, uint64_t r)
{
    uint32_t i = below((uint32_t)r, n);
    return (uint32_t)(r >> 32) < a[i].thr ? i : a[i].alias;
}

/* Zipf-Mandelbrot weights 2^24/(i+q)^e with e = 1 or 2; at least 1. */
static int zipf_alias(struct gen_alias **out, uint32_t n, uint32_t q, int squared)
{
    uint64_t *w = sd__malloc((size_t)n * sizeof *w);
    struct gen_alias *a = sd__malloc((size_t)n * sizeof *a);
    if (w == NULL || a == NULL) {
        sd__free(w);
        sd__free(a);
        return SD_ERR_NOMEM;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t d = (uint64_t)i + q;
        if (squared)
            d *= d;
        w[i] = ((uint64_t)1 << 24) / d;
        if (w[i] == 0)
            w[i] = 1;
    }
    int rc = alias_build(a, w, n);
    sd__free(w);
    if (rc < 0) {
        sd__free(a);
        return rc;
    }
    *out = a;
    return 0;
}

static uint16_t table_port(const struct sd_gen *g, uint64_t r)
{
    uint16_t p = g->port_tab[r & 1023u];
    return p != 0 ? p : (uint16_t)(1 + below((uint32_t)(r >> 32), 65535));
}

static void init_source(struct sd_gen *g, struct gen_src *s, int kind, struct rng *r)
{
    uint64_t x = rng_next(r), y = rng_next(r), z = rng_next(r), w = rng_next(r), v = rng_next(r);
    uint8_t hops = (uint8_t)(5 + below((uint32_t)x, 20)); /* 5..24 hops away */
    uint32_t pick = below((uint32_t)(x >> 32), 100);
    uint8_t init_ttl = 64;
    s->clock = (uint32_t)y;
    s->ipid = (uint16_t)(y >> 32);
    s->icmp_id = (uint16_t)(y >> 48);
    s->icmp_seq = (uint16_t)below((uint32_t)z, 2000);
    s->dport = table_port(g, w);
    s->sport = (uint16_t)(32768 + below((uint32_t)(z >> 32), 28232)); /* 32768..60999 */
    s->profile = 0;
    s->fixed_sport = 0;
    switch (kind) {
    case SD_GEN_SCAN:
        /* Kernel-stack scanners (connect() scans, worms, brute forcers)
         * and nmap raw SYN scans. */
        if (pick < 60) {
            s->profile = PROF_LINUX;
        } else if (pick < 85) {
            s->profile = PROF_WINDOWS;
            init_ttl = 128;
            s->sport = (uint16_t)(49152 + below((uint32_t)(z >> 32), 16384));
        } else {
            s->profile = PROF_NMAP;
            /* nmap picks a random TTL of 37..59 for raw probes */
            init_ttl = (uint8_t)(37 + below((uint32_t)v, 23) + hops);
            s->sport = (uint16_t)(1024 + below((uint32_t)(z >> 32), 64512));
        }
        break;
    case SD_GEN_MASSCAN:
    case SD_GEN_ZMAP:
        init_ttl = 255; /* both default to TTL 255 */
        break;
    case SD_GEN_MIRAI:
        s->sport = (uint16_t)(1024 + below((uint32_t)(z >> 32), 64512));
        break;
    case SD_GEN_UDP: {
        uint32_t u = (uint32_t)(z >> 8) & 255u;
        s->dport = g->udp_tab[u]; /* favourite service */
        s->sport = (uint16_t)(49152 + below((uint32_t)(z >> 32), 16384));
        s->fixed_sport = pick < 40;
        if (pick >= 70)
            init_ttl = pick < 90 ? 128 : 255;
        break;
    }
    case SD_GEN_ICMP_ECHO:
        if (pick < 40) {
            s->profile = ECHO_ZMAP;
            init_ttl = 255;
        } else if (pick < 80) {
            s->profile = ECHO_LINUX;
        } else {
            s->profile = ECHO_WINDOWS;
            init_ttl = 128;
            s->icmp_id = 1; /* Windows ping always uses identifier 1 */
        }
        break;
    case SD_GEN_FRAGMENT:
        s->profile = pick < 60 ? FRAG_DNS : FRAG_ECHO;
        break;
    default:
        break;
    }
    s->ttl = (uint8_t)(init_ttl > hops ? init_ttl - hops : 1);
    /* Odd TTLs: about 1% of sources arrive with TTL 1 or even 0
     * (misconfigured stacks, traceroute-like tools). */
    uint32_t odd = below((uint32_t)(v >> 32), 1000);
    if (odd < 7)
        s->ttl = 1;
    else if (odd < 10)
        s->ttl = 0;
}

/* --------------------------------------------------------------- templates */

static void tmpl_eth(struct sd_gen *g, struct tmpl *t, uint16_t ethertype)
{
    memset(t, 0, sizeof *t);
    if (g->l2 == 0)
        return;
    /* The upstream router (src) and the telescope collector (dst), in the
     * documentation MAC range 00:00:5e:00:53:xx (RFC 7042 2.1.2). */
    static const uint8_t macs[12] = {0x00, 0x00, 0x5e, 0x00, 0x53, 0x02,
                                     0x00, 0x00, 0x5e, 0x00, 0x53, 0x01};
    memcpy(t->b, macs, 12);
    sd__put_be16(t->b + 12, ethertype);
}

/* IPv4 header with id, TTL, checksum and addresses left zero. */
static void tmpl_ip4(struct sd_gen *g, struct tmpl *t, uint8_t proto, uint16_t l4len, int df)
{
    tmpl_eth(g, t, 0x0800);
    uint8_t *ip = t->b + g->l2;
    ip[0] = 0x45;
    sd__put_be16(ip + 2, (uint16_t)(20 + l4len));
    sd__put_be16(ip + 6, df ? 0x4000 : 0);
    ip[9] = proto;
    t->ip_sum = csum_bytes(ip, 20, 0);
    unsigned len = g->l2 + 20u + l4len;
    if (g->l2 != 0 && len < 60)
        len = 60; /* Ethernet minimum frame (without FCS) */
    t->len = (uint16_t)len;
}

static void tmpl_ip6(struct sd_gen *g, struct tmpl *t, uint8_t nh, uint16_t l4len)
{
    tmpl_eth(g, t, 0x86dd);
    uint8_t *ip = t->b + g->l2;
    ip[0] = 0x60;
    sd__put_be16(ip + 4, l4len);
    ip[6] = nh;
    unsigned len = g->l2 + 40u + l4len;
    if (g->l2 != 0 && len < 60)
        len = 60;
    t->len = (uint16_t)len;
}

/* TCP header: ports, seq, ack, window and checksum are per packet. */
static void tmpl_tcp(struct sd_gen *g, struct tmpl *t, int v6, uint8_t flags, int df,
                     const uint8_t *opts, unsigned optlen)
{
    uint16_t l4len = (uint16_t)(20 + optlen);
    if (v6)
        tmpl_ip6(g, t, 6, l4len);
    else
        tmpl_ip4(g, t, 6, l4len, df);
    uint8_t *tcp = t->b + g->l2 + (v6 ? 40 : 20);
    tcp[12] = (uint8_t)((l4len / 4) << 4);
    tcp[13] = flags;
    if (optlen > 0)
        memcpy(tcp + 20, opts, optlen);
    t->l4_sum = csum_bytes(tcp, l4len, 0) + 6 + l4len;
}

static void tmpl_udp(struct sd_gen *g, struct tmpl *t, const struct udp_service *svc)
{
    uint16_t l4len = (uint16_t)(8 + svc->len);
    assert(g->l2 + 20u + l4len <= TMPL_MAX); /* udp_services[] payloads are small */
    tmpl_ip4(g, t, 17, l4len, 0);
    uint8_t *udp = t->b + g->l2 + 20;
    sd__put_be16(udp + 4, l4len);
    memcpy(udp + 8, svc->payload, svc->len);
    memset(udp + 8 + svc->id_off, 0, svc->id_len); /* patched per packet */
    t->l4_sum = csum_bytes(udp, l4len, 0) + 17 + l4len;
    t->dport = svc->dport;
    t->dport_n = svc->dport_n;
    t->id_off = svc->id_off;
    t->id_len = svc->id_len;
}

/* ICMP / ICMPv6 echo request with `plen` bytes of payload. */
static void tmpl_echo(struct sd_gen *g, struct tmpl *t, int v6, const uint8_t *payload, unsigned plen)
{
    uint16_t l4len = (uint16_t)(8 + plen);
    if (v6)
        tmpl_ip6(g, t, 58, l4len);
    else
        tmpl_ip4(g, t, 1, l4len, 0);
    uint8_t *icmp = t->b + g->l2 + (v6 ? 40 : 20);
    icmp[0] = v6 ? 128 : 8;
    if (plen > 0)
        memcpy(icmp + 8, payload, plen);
    t->l4_sum = csum_bytes(icmp, l4len, 0);
    if (v6)
        t->l4_sum += 58 + l4len; /* RFC 4443 2.3: pseudo-header */
}

static void build_templates(struct sd_gen *g)
{
    static const uint8_t opt_linux[20] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 0, 0, 0, 0,
                                          0, 0, 0, 0, 1, 3, 3, 7};
    static const uint8_t opt_windows[12] = {2, 4, 0x05, 0xb4, 1, 3, 3, 8, 1, 1, 4, 2};
    static const uint8_t opt_mss[4] = {2, 4, 0x05, 0xb4};
    static const uint8_t opt_linux6[20] = {2, 4, 0x05, 0xa0, 4, 2, 8, 10, 0, 0, 0, 0,
                                           0, 0, 0, 0, 1, 3, 3, 7};
    tmpl_tcp(g, &g->t[T_SCAN_LINUX], 0, 0x02, 1, opt_linux, sizeof opt_linux);
    tmpl_tcp(g, &g->t[T_SCAN_WINDOWS], 0, 0x02, 1, opt_windows, sizeof opt_windows);
    tmpl_tcp(g, &g->t[T_SCAN_NMAP], 0, 0x02, 0, opt_mss, sizeof opt_mss);
    tmpl_tcp(g, &g->t[T_MASSCAN], 0, 0x02, 0, NULL, 0);
    tmpl_tcp(g, &g->t[T_ZMAP], 0, 0x02, 0, opt_mss, sizeof opt_mss);
    tmpl_tcp(g, &g->t[T_MIRAI], 0, 0x02, 0, NULL, 0);
    tmpl_tcp(g, &g->t[T_SYNACK], 0, 0x12, 1, opt_mss, sizeof opt_mss);
    tmpl_tcp(g, &g->t[T_RSTACK], 0, 0x14, 1, NULL, 0);
    tmpl_tcp(g, &g->t[T_RST], 0, 0x04, 1, NULL, 0);
    tmpl_tcp(g, &g->t[T_SPOOF_SYN], 0, 0x02, 0, NULL, 0);
    tmpl_tcp(g, &g->t[T6_SYN], 1, 0x02, 0, NULL, 0);
    tmpl_tcp(g, &g->t[T6_SYN_LINUX], 1, 0x02, 0, opt_linux6, sizeof opt_linux6);

    /* ICMP error: 8-byte header + quoted IPv4 header + 8 bytes (RFC 792);
     * the whole ICMP part is summed per packet. */
    tmpl_ip4(g, &g->t[T_ICMP_ERR], 1, 36, 0);

    uint8_t pl[56];
    tmpl_echo(g, &g->t[T_ECHO_ZMAP], 0, NULL, 0);
    /* Linux ping: 16-byte struct timeval, then 0x10, 0x11, ... */
    memset(pl, 0, 16);
    for (int i = 16; i < 56; i++)
        pl[i] = (uint8_t)i;
    tmpl_echo(g, &g->t[T_ECHO_LINUX], 0, pl, 56);
    tmpl_echo(g, &g->t[T6_PING], 1, pl, 56);
    tmpl_echo(g, &g->t[T_ECHO_WINDOWS], 0, (const uint8_t *)"abcdefghijklmnopqrstuvwabcdefghi", 32);
    tmpl_echo(g, &g->t[T6_ECHO], 1, NULL, 0);

    for (int i = 0; i < N_UDP; i++)
        tmpl_udp(g, &g->udp_t[i], &udp_services[i]);

    /* Fragments are written field by field after this link header. */
    struct tmpl e;
    tmpl_eth(g, &e, 0x0800);
    memcpy(g->eth4, e.b, sizeof g->eth4);
}

/* ------------------------------------------------------------ per packet */

/* Copy a template: a fixed 64 bytes (a few vector stores) and the tail of
 * the rare longer frames. Bytes past len land in the arena's slack and are
 * overwritten by the next packet. */
static inline void copy_tmpl(uint8_t *p, const struct tmpl *t)
{
    memcpy(p, t->b, 64);
    if (t->len > 64)
        memcpy(p + 64, t->b + 64, t->len - 64u);
}

static inline uint32_t tel4(const struct sd_gen *g, uint32_t r) { return g->pfx4 | (r & g->host4); }

/* asum: the sum of the source and destination address words, shared with
 * the L4 pseudo-header. */
static inline void put_ip4(uint8_t *ip, uint64_t sum, uint16_t id, uint8_t ttl, uint32_t src,
                           uint32_t dst, uint64_t asum)
{
    sd__put_be16(ip + 4, id);
    ip[8] = ttl;
    sd__put_be32(ip + 12, src);
    sd__put_be32(ip + 16, dst);
    sd__put_be16(ip + 10, csum_fold(sum + id + ((uint64_t)ttl << 8) + asum));
}

/* sum: the template's l4_sum plus the pseudo-header addresses and any
 * option words the caller patched. */
static inline void put_tcp(uint8_t *tcp, uint64_t sum, uint16_t sport, uint16_t dport, uint32_t seq,
                           uint32_t ack, uint16_t win)
{
    sd__put_be16(tcp, sport);
    sd__put_be16(tcp + 2, dport);
    sd__put_be32(tcp + 4, seq);
    sd__put_be32(tcp + 8, ack);
    sd__put_be16(tcp + 14, win);
    sd__put_be16(tcp + 16, csum_fold(sum + sport + dport + w32(seq) + w32(ack) + win));
}

static inline struct gen_src *pick_src(struct sd_gen *g, int kind, uint64_t r)
{
    const struct gen_pop *pop = &g->pop[kind];
    return &g->src[pop->first + alias_pick(pop->alias, pop->n, r)];
}

/* The source's favourite port with probability thr/256, else one from the
 * port table. */
static inline uint16_t pick_dport(const struct sd_gen *g, const struct gen_src *s, uint64_t r, uint32_t thr)
{
    return ((r >> 10) & 0xffu) < thr ? s->dport : table_port(g, r);
}

static inline uint16_t next_ephemeral(struct gen_src *s, uint16_t lo, uint16_t hi)
{
    uint16_t v = s->sport;
    s->sport = v >= hi ? lo : (uint16_t)(v + 1);
    return v;
}

static uint32_t tcp_packet(struct sd_gen *g, uint8_t *p, const struct tmpl *t, uint32_t src, uint32_t dst,
                           uint8_t ttl, uint16_t id, uint16_t sport, uint16_t dport, uint32_t seq,
                           uint32_t ack, uint16_t win)
{
    copy_tmpl(p, t);
    uint8_t *ip = p + g->l2;
    uint64_t asum = w32(src) + w32(dst);
    put_ip4(ip, t->ip_sum, id, ttl, src, dst, asum);
    put_tcp(ip + 20, t->l4_sum + asum, sport, dport, seq, ack, win);
    return t->len;
}

static uint32_t build_scan(struct sd_gen *g, struct rng *r, uint8_t *p, uint64_t ts)
{
    uint32_t r0 = (uint32_t)rng_next(r);
    uint64_t r1 = rng_next(r), r2 = rng_next(r), r3 = rng_next(r);
    struct gen_src *s = pick_src(g, SD_GEN_SCAN, r1);
    uint32_t dst = tel4(g, r0);
    uint16_t dport = pick_dport(g, s, r2, 192);
    uint32_t seq = (uint32_t)r3;
    uint16_t rid = (uint16_t)(r3 >> 32);
    if (s->profile == PROF_LINUX) {
        const struct tmpl *t = &g->t[T_SCAN_LINUX];
        uint16_t sport = next_ephemeral(s, 32768, 60999);
        copy_tmpl(p, t);
        uint8_t *ip = p + g->l2, *tcp = ip + 20;
        uint64_t asum = w32(s->addr) + w32(dst);
        put_ip4(ip, t->ip_sum, rid, s->ttl, s->addr, dst, asum);
        /* RFC 7323 TSval from a ~1 kHz clock (2^20 ns ticks) */
        uint32_t tsval = s->clock + (uint32_t)(ts >> 20);
        sd__put_be32(tcp + 28, tsval);
        put_tcp(tcp, t->l4_sum + asum + w32(tsval), sport, dport, seq, 0, 64240);
        return t->len;
    }
    if (s->profile == PROF_WINDOWS) {
        uint16_t sport = next_ephemeral(s, 49152, 65535);
        return tcp_packet(g, p, &g->t[T_SCAN_WINDOWS], s->addr, dst, s->ttl, s->ipid++, sport, dport,
                          seq, 0, 64240);
    }
    return tcp_packet(g, p, &g->t[T_SCAN_NMAP], s->addr, dst, s->ttl, rid, s->sport, dport, seq, 0, 1024);
}

/* masscan: no options, window 1024, IP id = dst ^ dport ^ seq (the low 16
 * bits; masscan's templ-pkt.c stateless-validation trick). */
static uint32_t build_masscan(struct sd_gen *g, struct rng *r, uint8_t *p)
{
    uint32_t r0 = (uint32_t)rng_next(r);
    uint64_t r1 = rng_next(r), r2 = rng_next(r), r3 = rng_next(r);
    struct gen_src *s = pick_src(g, SD_GEN_MASSCAN, r1);
    uint32_t dst = tel4(g, r0);
    uint16_t dport = pick_dport(g, s, r2, 230);
    uint32_t seq = (uint32_t)r3;
    uint16_t id = (uint16_t)((dst ^ dport ^ seq) & 0xffffu);
    return tcp_packet(g, p, &g->t[T_MASSCAN], s->addr, dst, s->ttl, id, s->sport, dport, seq, 0, 1024);
}

/* ZMap: IP id 54321, window 65535, MSS 1460, source ports 32768..61000. */
static uint32_t build_zmap(struct sd_gen *g, struct rng *r, uint8_t *p)
{
    uint32_t r0 = (uint32_t)rng_next(r);
    uint64_t r1 = rng_next(r), r2 = rng_next(r), r3 = rng_next(r);
    struct gen_src *s = pick_src(g, SD_GEN_ZMAP, r1);
    uint32_t dst = tel4(g, r0);
    uint16_t dport = pick_dport(g, s, r2, 243);
    uint16_t sport = (uint16_t)(32768 + below((uint32_t)(r3 >> 32), 28233));
    return tcp_packet(g, p, &g->t[T_ZMAP], s->addr, dst, s->ttl, 54321, sport, dport, (uint32_t)r3, 0,
                      65535);
}

/* Mirai scanner.c: seq = destination address, port 23 (2323 one time in
 * ten), random window and IP id, TTL 64, no options. */
static uint32_t build_mirai(struct sd_gen *g, struct rng *r, uint8_t *p)
{
    uint32_t r0 = (uint32_t)rng_next(r);
    uint64_t r1 = rng_next(r), r2 = rng_next(r);
    struct gen_src *s = pick_src(g, SD_GEN_MIRAI, r1);
    uint32_t dst = tel4(g, r0);
    uint16_t dport = below((uint32_t)r2, 10) == 0 ? 2323 : 23;
    return tcp_packet(g, p, &g->t[T_MIRAI], s->addr, dst, s->ttl, (uint16_t)(r2 >> 48), s->sport, dport, dst,
                      0, (uint16_t)(r2 >> 32));
}

/* r: low 32 bits pick the port of ranged services, high 32 the request id. */
static uint32_t udp_packet(struct sd_gen *g, uint8_t *p, const struct tmpl *t, uint32_t src, uint32_t dst,
                           uint8_t ttl, uint16_t id, uint16_t sport, uint64_t r)
{
    copy_tmpl(p, t);
    uint8_t *ip = p + g->l2, *udp = ip + 20;
    uint16_t dport = t->dport;
    if (t->dport_n > 1)
        dport = (uint16_t)(dport + below((uint32_t)r, t->dport_n));
    uint64_t asum = w32(src) + w32(dst);
    put_ip4(ip, t->ip_sum, id, ttl, src, dst, asum);
    uint64_t sum = t->l4_sum + asum + sport + dport;
    if (t->id_len > 0) {
        uint8_t *f = udp + 8 + t->id_off;
        uint32_t v = (uint32_t)(r >> 32);
        for (unsigned i = 0; i < t->id_len; i++)
            f[i] = (uint8_t)(v >> (8 * (3 - (i & 3))));
        sum += csum_bytes(f, t->id_len, (8 + t->id_off) & 1);
    }
    sd__put_be16(udp, sport);
    sd__put_be16(udp + 2, dport);
    uint16_t c = csum_fold(sum);
    sd__put_be16(udp + 6, c != 0 ? c : 0xffff); /* RFC 768: 0 means no checksum */
    return t->len;
}

static uint32_t build_udp(struct sd_gen *g, struct rng *r, uint8_t *p)
{
    uint32_t r0 = (uint32_t)rng_next(r);
    uint64_t r1 = rng_next(r), r2 = rng_next(r), r3 = rng_next(r);
    struct gen_src *s = pick_src(g, SD_GEN_UDP, r1);
    uint32_t dst = tel4(g, r0);
    unsigned svc = (r2 & 0xffu) < 205 ? s->dport : g->udp_tab[(r2 >> 8) & 0xffu];
    /* Source ports above every service port (49152..65535), so a dissector
     * choosing the lower port picks the service. */
    uint16_t sport = s->fixed_sport ? s->sport : (uint16_t)(49152 + below((uint32_t)(r2 >> 32), 16384));
    return udp_packet(g, p, &g->udp_t[svc], s->addr, dst, s->ttl, (uint16_t)(r2 >> 16), sport, r3);
}

/* 16-byte little-endian struct timeval, as Linux ping puts in its payload. */
static uint64_t put_timeval(uint8_t *b, uint64_t ts)
{
    uint64_t sec = ts / 1000000000ull, usec = (ts % 1000000000ull) / 1000;
    sd__put_le64(b, sec);
    sd__put_le64(b + 8, usec);
    return csum_bytes(b, 16, 0);
}

static uint32_t build_icmp_echo(struct sd_gen *g, struct rng *r, uint8_t *p, uint64_t ts)
{
    uint32_t r0 = (uint32_t)rng_next(r);
    uint64_t r1 = rng_next(r), r2 = rng_next(r);
    struct gen_src *s = pick_src(g, SD_GEN_ICMP_ECHO, r1);
    uint32_t dst = tel4(g, r0);
    const struct tmpl *t;
    uint16_t id, seq, ipid;
    if (s->profile == ECHO_ZMAP) {
        t = &g->t[T_ECHO_ZMAP];
        id = (uint16_t)r2;
        seq = (uint16_t)(r2 >> 16);
        ipid = 54321;
    } else {
        t = &g->t[s->profile == ECHO_LINUX ? T_ECHO_LINUX : T_ECHO_WINDOWS];
        id = s->icmp_id;
        seq = s->icmp_seq++;
        ipid = s->profile == ECHO_LINUX ? (uint16_t)(r2 >> 32) : s->ipid++;
    }
    copy_tmpl(p, t);
    uint8_t *ip = p + g->l2, *icmp = ip + 20;
    put_ip4(ip, t->ip_sum, ipid, s->ttl, s->addr, dst, w32(s->addr) + w32(dst));
    uint64_t sum = t->l4_sum + id + seq;
    if (s->profile == ECHO_LINUX)
        sum += put_timeval(icmp + 8, ts);
    sd__put_be16(icmp + 4, id);
    sd__put_be16(icmp + 6, seq);
    sd__put_be16(icmp + 2, csum_fold(sum));
    return t->len;
}

/* A victim's ICMP error towards a spoofed telescope address: the quoted
 * packet is the attack packet, from the telescope address to the victim.
 * Time exceeded comes from a router in front of the victim. */
static uint32_t icmp_error(struct sd_gen *g, uint8_t *p, const struct gen_victim *v, uint32_t tel,
                           uint16_t tport, uint64_t r, int timex, int udp)
{
    const struct tmpl *t = &g->t[T_ICMP_ERR];
    copy_tmpl(p, t);
    uint8_t *ip = p + g->l2, *icmp = ip + 20, *q = icmp + 8;
    uint32_t osrc = timex ? v->router : v->addr;
    icmp[0] = timex ? 11 : 3;                /* time exceeded / destination unreachable */
    icmp[1] = timex ? 0 : udp ? 3 : 13;      /* TTL exceeded / port unreachable / admin. prohibited */
    memset(icmp + 4, 0, 4);
    uint16_t qlen = udp ? (uint16_t)(28 + 8 + ((r >> 8) & 0x1ffu)) : 40;
    q[0] = 0x45;
    q[1] = 0;
    sd__put_be16(q + 2, qlen);
    sd__put_be16(q + 4, (uint16_t)(r >> 16));
    sd__put_be16(q + 6, udp ? 0 : 0x4000);
    q[8] = timex ? 1 : (uint8_t)(30 + below((uint32_t)(r >> 32), 100));
    q[9] = udp ? 17 : 6;
    sd__put_be16(q + 10, 0);
    sd__put_be32(q + 12, tel);
    sd__put_be32(q + 16, v->addr);
    sd__put_be16(q + 10, csum_fold(csum_bytes(q, 20, 0)));
    sd__put_be16(q + 20, tport);
    sd__put_be16(q + 22, v->port);
    if (udp) {
        sd__put_be16(q + 24, (uint16_t)(qlen - 20));
        sd__put_be16(q + 26, (uint16_t)(r >> 48));
    } else {
        sd__put_be32(q + 24, (uint32_t)(r >> 24));
    }
    sd__put_be16(icmp + 2, 0);
    sd__put_be16(icmp + 2, csum_fold(csum_bytes(icmp, 36, 0)));
    put_ip4(ip, t->ip_sum, (uint16_t)r, timex ? v->rttl : v->ttl, osrc, tel, w32(osrc) + w32(tel));
    return t->len;
}

static uint32_t build_backscatter(struct sd_gen *g, struct rng *r, uint8_t *p)
{
    uint32_t r0 = (uint32_t)rng_next(r);
    uint64_t r1 = rng_next(r), r2 = rng_next(r), r3 = rng_next(r);
    struct gen_victim *v = &g->vic[alias_pick(g->vpop.alias, g->vpop.n, r1)];
    uint32_t tel = tel4(g, r0);
    uint32_t choice = below((uint32_t)r2, 100);
    /* the source port the attacker spoofed */
    uint16_t tport = (uint16_t)(1024 + below((uint32_t)(r2 >> 32), 64512));
    if (v->profile == VIC_UDP)
        return icmp_error(g, p, v, tel, tport, r3, choice >= 90, 1);
    /* Linux sends its DF replies with IP id 0; Windows counts. */
    uint16_t id = v->windows ? v->ipid++ : 0;
    if (choice < 65)
        return tcp_packet(g, p, &g->t[T_SYNACK], v->addr, tel, v->ttl, id, v->port, tport, (uint32_t)r3,
                          (uint32_t)(r3 >> 32), v->win);
    if (choice < 90) /* closed port: RST+ACK, seq 0, ack = SYN seq + 1 */
        return tcp_packet(g, p, &g->t[T_RSTACK], v->addr, tel, v->ttl, id, v->port, tport, 0,
                          (uint32_t)(r3 >> 32), 0);
    if (choice < 95) /* answer to an ACK flood: RST with seq = the ACK's ack */
        return tcp_packet(g, p, &g->t[T_RST], v->addr, tel, v->ttl, id, v->port, tport, (uint32_t)r3, 0, 0);
    return icmp_error(g, p, v, tel, tport, r3, 1, 0);
}

static uint32_t build_spoofed(struct sd_gen *g, struct rng *r, uint8_t *p)
{
    uint32_t r0 = (uint32_t)rng_next(r);
    static const uint16_t wins[8] = {512, 1024, 5840, 8192, 14600, 16384, 29200, 65535};
    uint64_t r1 = rng_next(r), r2 = rng_next(r), r3 = rng_next(r),
             r4 = rng_next(r);
    unsigned b = spoof_blocks[below((uint32_t)r1, (uint32_t)sizeof spoof_blocks)];
    uint32_t host = 0xffffffffu >> reserved4[b].len;
    uint32_t src = reserved4[b].base | ((uint32_t)(r1 >> 32) & host);
    uint32_t dst = tel4(g, r0);
    uint8_t ttl = (uint8_t)(32 + below((uint32_t)(r2 >> 48) << 16, 224)); /* spoofers randomise it */
    uint16_t sport = (uint16_t)(1024 + below((uint32_t)(r2 >> 32) << 16, 64512));
    uint16_t id = (uint16_t)(r3 >> 32);
    if (below((uint32_t)r2, 4) < 3)
        return tcp_packet(g, p, &g->t[T_SPOOF_SYN], src, dst, ttl, id, sport, table_port(g, r4),
                          (uint32_t)r3, 0, wins[r3 >> 61]);
    return udp_packet(g, p, &g->udp_t[0], src, dst, ttl, id, sport, r4);
}

static uint32_t build_frag(struct sd_gen *g, struct rng *r, uint8_t *p)
{
    uint32_t r0 = (uint32_t)rng_next(r);
    struct frag_state *f = &g->frag;
    if (!f->active) {
        uint64_t r1 = rng_next(r), r2 = rng_next(r);
        struct gen_src *s = pick_src(g, SD_GEN_FRAGMENT, r1);
        f->src = s->addr;
        f->dst = tel4(g, r0);
        f->id = s->ipid++;
        f->ttl = s->ttl;
        f->type = s->profile;
        f->size = (uint8_t)(r2 & 3u);
        f->sport = 53;
        f->dport = (uint16_t)(1024 + below((uint32_t)(r2 >> 32), 64512)); /* the spoofed port */
        f->xid = (uint16_t)(r2 >> 16);
        if (f->type == FRAG_ECHO) {
            f->sport = s->icmp_id;    /* echo identifier */
            f->dport = s->icmp_seq++; /* echo sequence */
        }
        f->nfrags = (uint8_t)((frag_dlen[f->size] + FRAG_PAYLOAD - 1) / FRAG_PAYLOAD);
        /* One datagram in ten lost its first fragment upstream. */
        f->next = below((uint32_t)(r2 >> 8) << 24, 10) == 0 ? 1 : 0;
        f->active = 1;
    }
    unsigned dlen = frag_dlen[f->size];
    unsigned off = f->next * FRAG_PAYLOAD;
    unsigned flen = dlen - off < FRAG_PAYLOAD ? dlen - off : FRAG_PAYLOAD;
    int more = off + flen < dlen;
    if (g->l2 != 0)
        memcpy(p, g->eth4, 14);
    uint8_t *ip = p + g->l2, *pl = ip + 20;
    const uint8_t *body = g->frag_body[f->type][f->size];
    ip[0] = 0x45;
    ip[1] = 0;
    sd__put_be16(ip + 2, (uint16_t)(20 + flen));
    sd__put_be16(ip + 4, f->id);
    sd__put_be16(ip + 6, (uint16_t)((more ? 0x2000 : 0) | (off / 8)));
    ip[8] = f->ttl;
    ip[9] = f->type == FRAG_DNS ? 17 : 1;
    sd__put_be16(ip + 10, 0);
    sd__put_be32(ip + 12, f->src);
    sd__put_be32(ip + 16, f->dst);
    sd__put_be16(ip + 10, csum_fold(csum_bytes(ip, 20, 0)));
    memcpy(pl, body + off, flen);
    if (off == 0) {
        /* The L4 checksum covers the whole datagram (RFC 768, RFC 792),
         * i.e. the bytes of every fragment: the body's sum was made at
         * create time. */
        uint64_t sum = g->frag_sum[f->type][f->size];
        if (f->type == FRAG_DNS) {
            sum += w32(f->src) + w32(f->dst) + f->sport + f->dport + f->xid;
            sd__put_be16(pl, f->sport);
            sd__put_be16(pl + 2, f->dport);
            sd__put_be16(pl + 8, f->xid);
            uint16_t c = csum_fold(sum);
            sd__put_be16(pl + 6, c != 0 ? c : 0xffff);
        } else {
            sum += (uint64_t)f->sport + f->dport;
            sd__put_be16(pl + 4, f->sport);
            sd__put_be16(pl + 6, f->dport);
            sd__put_be16(pl + 2, csum_fold(sum));
        }
    }
    if (++f->next >= f->nfrags)
        f->active = 0;
    uint32_t len = g->l2 + 20 + flen;
    if (g->l2 != 0 && len < 60) {
        memset(p + len, 0, 60 - len);
        len = 60;
    }
    return len;
}

/* The datagrams fragments are cut from. DNS: a response to "example.com
 * ANY" whose TXT answers fill the datagram exactly. */
static void build_frag_bodies(struct sd_gen *g, struct rng *r)
{
    static const uint8_t question[17] = {7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'c', 'o', 'm', 0,
                                         0, 0xff, 0, 1};
    for (int i = 0; i < 4; i++) {
        unsigned dlen = frag_dlen[i];
        uint8_t *b = g->frag_body[FRAG_DNS][i];
        memset(b, 0, FRAG_MAXLEN);
        sd__put_be16(b + 4, (uint16_t)dlen);
        uint8_t *dns = b + 8;
        sd__put_be16(dns + 2, 0x8180); /* response, RD, RA, no error */
        sd__put_be16(dns + 4, 1);
        memcpy(dns + 12, question, sizeof question);
        unsigned pos = 12 + sizeof question, left = dlen - 8 - pos, an = 0;
        while (left > 0) {
            unsigned rec = left < 268 ? left : 268; /* 12 + 1 + up to 255 text bytes */
            if (left - rec > 0 && left - rec < 13)
                rec = left - 13;
            uint8_t *a = dns + pos;
            unsigned tlen = rec - 13;
            sd__put_be16(a, 0xc00c);  /* name: pointer to the question */
            sd__put_be16(a + 2, 16);  /* TXT */
            sd__put_be16(a + 4, 1);   /* IN */
            sd__put_be32(a + 6, 3600);
            sd__put_be16(a + 10, (uint16_t)(tlen + 1));
            a[12] = (uint8_t)tlen;
            for (unsigned j = 0; j < tlen; j++)
                a[13 + j] = (uint8_t)('a' + below((uint32_t)rng_next(r), 26));
            pos += rec;
            left -= rec;
            an++;
        }
        sd__put_be16(dns + 6, (uint16_t)an);
        g->frag_sum[FRAG_DNS][i] = csum_bytes(b, dlen, 0) + 17 + dlen;

        /* ping -s: 8-byte header, then 0x00, 0x01, ... as iputils fills */
        b = g->frag_body[FRAG_ECHO][i];
        memset(b, 0, FRAG_MAXLEN);
        b[0] = 8;
        for (unsigned j = 8; j < dlen; j++)
            b[j] = (uint8_t)(j - 8);
        g->frag_sum[FRAG_ECHO][i] = csum_bytes(b, dlen, 0);
    }
}

static int in_telescope6(const struct sd_gen *g, uint64_t hi, uint64_t lo)
{
    if (g->cfg.prefix6_len == 0)
        return 0;
    return (hi & ~g->host6hi) == g->p6hi && (lo & ~g->host6lo) == g->p6lo;
}

static uint32_t build_ipv6(struct sd_gen *g, struct rng *r, uint8_t *p, uint64_t ts)
{
    uint32_t r0 = (uint32_t)rng_next(r);
    uint64_t r1 = rng_next(r), r2 = rng_next(r), r3 = rng_next(r),
             r4 = rng_next(r);
    const struct gen_pop *pop = &g->pop[SD_GEN_IPV6];
    struct gen_src6 *s = &g->src6[alias_pick(pop->alias, pop->n, r1)];
    /* IPv6 scanners mostly probe low-byte interface ids (::1, ::2, ...)
     * in random subnets, and sometimes random ones. */
    uint64_t hi = g->p6hi | (r2 & g->host6hi);
    uint64_t lo = (r3 & 0xffu) < 154 ? 1 + ((r3 >> 8) & 0xffu) : r3;
    lo = g->p6lo | (lo & g->host6lo);
    int linux_stack = s->profile == V6_LINUX;
    int tcp = below((uint32_t)r4, 10) < 6;
    const struct tmpl *t = &g->t[tcp ? (linux_stack ? T6_SYN_LINUX : T6_SYN) : (linux_stack ? T6_PING : T6_ECHO)];
    copy_tmpl(p, t);
    uint8_t *ip = p + g->l2, *l4 = ip + 40;
    uint32_t flow = linux_stack ? r0 & 0xfffffu : 0; /* Linux: random flow label */
    ip[1] = (uint8_t)(flow >> 16);
    ip[2] = (uint8_t)(flow >> 8);
    ip[3] = (uint8_t)flow;
    ip[7] = s->hlim;
    memcpy(ip + 8, s->addr, 16);
    put_be64(ip + 24, hi);
    put_be64(ip + 32, lo);
    uint64_t asum = s->asum + w64(hi) + w64(lo);
    if (tcp) {
        uint64_t sum = t->l4_sum + asum;
        uint16_t sport;
        if (linux_stack) {
            uint32_t tsval = s->clock + (uint32_t)(ts >> 20);
            sd__put_be32(l4 + 28, tsval);
            sum += w32(tsval);
            sport = s->sport;
            s->sport = s->sport >= 60999 ? 32768 : (uint16_t)(s->sport + 1);
        } else {
            sport = (uint16_t)(32768 + below((uint32_t)(r4 >> 32), 28233));
        }
        put_tcp(l4, sum, sport, g->port_tab[(r4 >> 8) & 1023u] ? g->port_tab[(r4 >> 8) & 1023u] : s->dport,
                (uint32_t)(r4 >> 32) ^ (uint32_t)r3, 0, linux_stack ? 64800 : 65535);
    } else {
        uint16_t id, seq;
        uint64_t sum = t->l4_sum + asum;
        if (linux_stack) {
            id = s->icmp_id;
            seq = s->icmp_seq++;
            sum += put_timeval(l4 + 8, ts);
        } else {
            id = (uint16_t)(r4 >> 32);
            seq = (uint16_t)(r4 >> 48);
        }
        sd__put_be16(l4 + 4, id);
        sd__put_be16(l4 + 6, seq);
        sd__put_be16(l4 + 2, csum_fold(sum + id + seq));
    }
    return t->len;
}

static inline int draw_kind(struct sd_gen *g)
{
    uint32_t u = (uint32_t)(rng_next(&g->krng) >> 32);
    unsigned k = g->ktab[u >> 22];
    if (SD__LIKELY(k != KIND_SPLIT))
        return (int)k;
    int i = 0;
    while (u >= g->kthr[i])
        i++;
    return g->korder[i];
}

/* Make packets kind by kind: each kind has its own random stream and keeps
 * its packets in order, so the output does not depend on the grouping (nor
 * on the batch size), and each loop below runs one builder without the
 * branch mispredictions of switching kinds per packet. */
#define BUILD_ALL(kind, call)                                                      \
    for (uint32_t j = 0; j < kn[kind]; j++) {                                      \
        sd_packet *d = &g->desc[g->klist[kind][j]];                                \
        uint8_t *p = (uint8_t *)(uintptr_t)d->data;                                \
        uint64_t pts = d->ts;                                                      \
        (void)pts;                                                                 \
        d->caplen = d->wirelen = (call);                                           \
    }

int sd_gen_next(sd_gen *g, const sd_packet **pkts, size_t n)
{
    if (g == NULL || pkts == NULL || n == 0)
        return SD_ERR_INVAL;
    if (g->done)
        return SD_EOF;
    if (n > GEN_BATCH)
        n = GEN_BATCH;
    if (g->limit != 0 && g->limit - g->made < n)
        n = (size_t)(g->limit - g->made);
    uint32_t kn[SD_GEN_NKINDS] = {0};
    size_t i, off = 0;
    uint64_t ts = g->next_ts, frac = g->ts_frac;
    const uint64_t mean_hi = g->mean16 >> 20, mean_lo = g->mean16 & 0xfffffu;
    int kind = g->next_kind;
    /* Pass 1: kind, timestamp and arena slot of each packet. */
    for (i = 0; i < n; i++) {
        if (ts >= g->end_ts) {
            g->done = 1;
            break;
        }
        if (off + g->slot[kind] > GEN_ARENA)
            break;
        sd_packet *d = &g->desc[i];
        d->ts = ts;
        d->data = g->arena + off;
        pkts[i] = d;
        off += g->slot[kind];
        g->klist[kind][kn[kind]++] = (uint16_t)i;
        kind = draw_kind(g);
        /* Poisson arrivals: exponential gaps of mean 1/pps, in ns << 16 */
        uint64_t e = exp_fp20(rng_next(&g->trng));
        frac += mean_hi * e + ((mean_lo * e) >> 20);
        ts += frac >> 16;
        frac &= 0xffffu;
    }
    g->next_kind = kind;
    g->next_ts = ts;
    g->ts_frac = frac;
    /* Pass 2: the packets. */
    BUILD_ALL(SD_GEN_SCAN, build_scan(g, &g->kr[SD_GEN_SCAN], p, pts))
    BUILD_ALL(SD_GEN_MASSCAN, build_masscan(g, &g->kr[SD_GEN_MASSCAN], p))
    BUILD_ALL(SD_GEN_ZMAP, build_zmap(g, &g->kr[SD_GEN_ZMAP], p))
    BUILD_ALL(SD_GEN_MIRAI, build_mirai(g, &g->kr[SD_GEN_MIRAI], p))
    BUILD_ALL(SD_GEN_UDP, build_udp(g, &g->kr[SD_GEN_UDP], p))
    BUILD_ALL(SD_GEN_ICMP_ECHO, build_icmp_echo(g, &g->kr[SD_GEN_ICMP_ECHO], p, pts))
    BUILD_ALL(SD_GEN_BACKSCATTER, build_backscatter(g, &g->kr[SD_GEN_BACKSCATTER], p))
    BUILD_ALL(SD_GEN_SPOOFED, build_spoofed(g, &g->kr[SD_GEN_SPOOFED], p))
    BUILD_ALL(SD_GEN_FRAGMENT, build_frag(g, &g->kr[SD_GEN_FRAGMENT], p))
    BUILD_ALL(SD_GEN_IPV6, build_ipv6(g, &g->kr[SD_GEN_IPV6], p, pts))
    for (int k = 0; k < SD_GEN_NKINDS; k++)
        g->counts[k] += kn[k];
    g->made += i;
    if (g->limit != 0 && g->made >= g->limit)
        g->done = 1;
    if (i == 0)
        return SD_EOF;
    return (int)i;
}

/* ------------------------------------------------------------ lifecycle */

static int check_config(const sd_gen_config *c, char *errbuf)
{
    if (!(c->pps >= 0.001 && c->pps <= 1e9))
        return sd__errbuf(errbuf, SD_ERR_INVAL, "pps: %g is not between 0.001 and 1e9", c->pps);
    if (c->prefix4_len > 32)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "prefix: length %u is not 0..32", c->prefix4_len);
    uint32_t mask = c->prefix4_len == 0 ? 0 : 0xffffffffu << (32 - c->prefix4_len);
    if ((c->prefix4 & ~mask) != 0)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "prefix: host bits set beyond /%u", c->prefix4_len);
    if (c->prefix6_len > 128)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "prefix6: length %u is not 0..128", c->prefix6_len);
    uint64_t mhi, mlo;
    mask6(c->prefix6_len, &mhi, &mlo);
    if ((sd__be64(c->prefix6) & ~mhi) != 0 || (sd__be64(c->prefix6 + 8) & ~mlo) != 0)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "prefix6: host bits set beyond /%u", c->prefix6_len);
    double total = 0;
    for (int k = 0; k < SD_GEN_NKINDS; k++) {
        /* !(x >= 0) also catches NaN */
        if (!(c->weight[k] >= 0) || c->weight[k] > 1e9)
            return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: weight %g is not between 0 and 1e9",
                              kind_names[k], c->weight[k]);
        total += c->weight[k];
    }
    if (!(total > 0))
        return sd__errbuf(errbuf, SD_ERR_INVAL, "every kind has weight 0: nothing to generate");
    if (c->n_sources < 1 || c->n_sources > GEN_MAX_SOURCES)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sources: %u is not between 1 and %u", c->n_sources,
                          GEN_MAX_SOURCES);
    if (c->n_victims < 1 || c->n_victims > GEN_MAX_VICTIMS)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "victims: %u is not between 1 and %u", c->n_victims,
                          GEN_MAX_VICTIMS);
    if (c->linktype != SD_LINK_ETHERNET && c->linktype != SD_LINK_RAW)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "link type %u is not SD_LINK_ETHERNET or SD_LINK_RAW",
                          c->linktype);
    return 0;
}

static void setup_kinds(struct sd_gen *g)
{
    double total = 0, cum = 0;
    for (int k = 0; k < SD_GEN_NKINDS; k++)
        total += g->cfg.weight[k];
    /* Heaviest kinds first so the threshold scan usually stops early;
     * ties keep enum order (determinism). */
    int order[SD_GEN_NKINDS], n = 0;
    for (int k = 0; k < SD_GEN_NKINDS; k++) {
        if (!(g->cfg.weight[k] > 0))
            continue;
        int j = n++;
        while (j > 0 && g->cfg.weight[order[j - 1]] < g->cfg.weight[k]) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = k;
    }
    for (int i = 0; i < n; i++) {
        cum += g->cfg.weight[order[i]];
        double t = cum / total * 4294967296.0;
        g->kthr[i] = t >= 4294967296.0 ? (1ull << 32) : (uint64_t)t;
        g->korder[i] = (uint8_t)order[i];
    }
    g->kthr[n - 1] = 1ull << 32;
    g->nk = n;
    for (uint32_t b = 0; b < 1024; b++) {
        uint64_t lo = (uint64_t)b << 22, hi = lo + (1u << 22) - 1;
        int i = 0;
        while (lo >= g->kthr[i])
            i++;
        g->ktab[b] = hi < g->kthr[i] ? g->korder[i] : KIND_SPLIT;
    }
}

static uint32_t slot_size(unsigned len)
{
    if (len < 64)
        len = 64; /* copy_tmpl() writes at least 64 bytes */
    return (len + 7u) & ~7u;
}

static unsigned max_len(const struct tmpl *t, const int *ids, int n)
{
    unsigned m = 0;
    for (int i = 0; i < n; i++)
        if (t[ids[i]].len > m)
            m = t[ids[i]].len;
    return m;
}

static void setup_slots(struct sd_gen *g)
{
    static const int scan[] = {T_SCAN_LINUX, T_SCAN_WINDOWS, T_SCAN_NMAP};
    static const int echo[] = {T_ECHO_ZMAP, T_ECHO_LINUX, T_ECHO_WINDOWS};
    static const int bs[] = {T_SYNACK, T_RSTACK, T_RST, T_ICMP_ERR};
    static const int v6[] = {T6_SYN, T6_SYN_LINUX, T6_ECHO, T6_PING};
    static const int spoof[] = {T_SPOOF_SYN};
    unsigned udp = 0;
    for (int i = 0; i < N_UDP; i++)
        if (g->udp_t[i].len > udp)
            udp = g->udp_t[i].len;
    g->slot[SD_GEN_SCAN] = slot_size(max_len(g->t, scan, 3));
    g->slot[SD_GEN_MASSCAN] = slot_size(g->t[T_MASSCAN].len);
    g->slot[SD_GEN_ZMAP] = slot_size(g->t[T_ZMAP].len);
    g->slot[SD_GEN_MIRAI] = slot_size(g->t[T_MIRAI].len);
    g->slot[SD_GEN_UDP] = slot_size(udp);
    g->slot[SD_GEN_ICMP_ECHO] = slot_size(max_len(g->t, echo, 3));
    g->slot[SD_GEN_BACKSCATTER] = slot_size(max_len(g->t, bs, 4));
    g->slot[SD_GEN_SPOOFED] = slot_size(max_len(g->t, spoof, 1) > g->udp_t[0].len ? max_len(g->t, spoof, 1)
                                                                                   : g->udp_t[0].len);
    g->slot[SD_GEN_FRAGMENT] = slot_size(g->l2 + 20 + FRAG_PAYLOAD);
    g->slot[SD_GEN_IPV6] = slot_size(max_len(g->t, v6, 4));
}

static int setup_population(struct sd_gen *g, struct rng *r)
{
    uint32_t n4 = 0, sizes[SD_GEN_NKINDS] = {0};
    uint32_t total = g->cfg.n_sources;
    uint32_t assigned = 0;
    for (int k = 0; k < SD_GEN_NKINDS; k++) {
        if (pop_permille[k] == 0)
            continue;
        sizes[k] = (uint32_t)((uint64_t)total * pop_permille[k] / 1000);
        if (sizes[k] == 0)
            sizes[k] = 1;
        assigned += sizes[k];
    }
    if (assigned < total)
        sizes[SD_GEN_MIRAI] += total - assigned; /* rounding leftovers */
    for (int k = 0; k < SD_GEN_NKINDS; k++)
        if (k != SD_GEN_IPV6)
            n4 += sizes[k];

    g->src = sd__calloc(n4, sizeof *g->src);
    g->src6 = sd__calloc(sizes[SD_GEN_IPV6], sizeof *g->src6);
    g->vic = sd__calloc(g->cfg.n_victims, sizeof *g->vic);
    uint32_t setsize = 1;
    while (setsize < 2 * (n4 + g->cfg.n_victims))
        setsize <<= 1;
    uint32_t *set = sd__calloc(setsize, sizeof *set);
    if (g->src == NULL || g->src6 == NULL || g->vic == NULL || set == NULL) {
        sd__free(set);
        return SD_ERR_NOMEM;
    }
    for (int i = 0; i < 16; i++)
        g->hosting[i] = public_addr(g, r, 0) & 0xffff0000u;

    uint32_t first = 0;
    for (int k = 0; k < SD_GEN_NKINDS; k++) {
        if (sizes[k] == 0)
            continue;
        struct gen_pop *pop = &g->pop[k];
        pop->n = sizes[k];
        int rc = zipf_alias(&pop->alias, pop->n, pop_q[k], 0);
        if (rc < 0) {
            sd__free(set);
            return rc;
        }
        if (k == SD_GEN_IPV6)
            continue;
        pop->first = first;
        for (uint32_t i = 0; i < pop->n; i++) {
            struct gen_src *s = &g->src[first + i];
            init_source(g, s, k, r);
            do
                s->addr = public_addr(g, r, 1);
            while (!addr_set_add(set, setsize - 1, s->addr));
        }
        first += pop->n;
    }

    for (uint32_t i = 0; i < g->pop[SD_GEN_IPV6].n; i++) {
        struct gen_src6 *s = &g->src6[i];
        uint64_t hi, lo, x = rng_next(r), y = rng_next(r), z = rng_next(r);
        do {
            /* global unicast 2000::/3, never the documentation prefix */
            hi = 0x2000000000000000ull | (rng_next(r) >> 3);
        } while (in_telescope6(g, hi, 0) || (hi >> 32) == 0x20010db8ull);
        lo = (x & 1) ? 1 + below((uint32_t)(x >> 8), 0x1ff) : y;
        if (in_telescope6(g, hi, lo))
            lo ^= 1ull << 63;
        put_be64(s->addr, hi);
        put_be64(s->addr + 8, lo);
        s->asum = w64(hi) + w64(lo);
        s->profile = (x >> 1) & 1 ? V6_LINUX : V6_ZMAP;
        uint8_t hops = (uint8_t)(5 + below((uint32_t)(x >> 32), 20));
        s->hlim = (uint8_t)((s->profile == V6_LINUX ? 64 : 255) - hops);
        s->clock = (uint32_t)z;
        s->sport = (uint16_t)(32768 + below((uint32_t)(z >> 32), 28232));
        s->dport = table_port(g, rng_next(r));
        s->icmp_id = (uint16_t)(x >> 48);
        s->icmp_seq = (uint16_t)(z >> 20);
    }

    static const uint16_t tcp_vports[10] = {80, 443, 80, 443, 53, 22, 25, 3389, 6667, 8080};
    static const uint16_t udp_vports[6] = {53, 27015, 123, 3074, 9987, 30120};
    static const uint16_t linux_wins[3] = {29200, 64240, 65160};
    for (uint32_t i = 0; i < g->cfg.n_victims; i++) {
        struct gen_victim *v = &g->vic[i];
        uint64_t x = rng_next(r), y = rng_next(r);
        do
            v->addr = public_addr(g, r, 0);
        while (!addr_set_add(set, setsize - 1, v->addr));
        v->router = (v->addr & 0xffffff00u) | 1u;
        if (v->router == v->addr)
            v->router++;
        v->profile = below((uint32_t)x, 100) < 75 ? VIC_TCP : VIC_UDP;
        v->port = v->profile == VIC_TCP ? tcp_vports[below((uint32_t)(x >> 32), 10)]
                                        : udp_vports[below((uint32_t)(x >> 32), 6)];
        v->windows = below((uint32_t)y, 100) < 20;
        uint8_t hops = (uint8_t)(5 + below((uint32_t)(y >> 32), 20));
        v->ttl = (uint8_t)((v->windows ? 128 : 64) - hops);
        v->rttl = (uint8_t)(255 - hops + 1);
        v->win = v->windows ? ((y >> 8) & 1 ? 8192 : 65535) : linux_wins[below((uint32_t)(y >> 16) << 8, 3)];
        v->ipid = (uint16_t)(x >> 16);
    }
    sd__free(set);
    g->vpop.n = g->cfg.n_victims;
    return zipf_alias(&g->vpop.alias, g->vpop.n, 1, 1);
}

int sd_gen_create(sd_gen **gp, const sd_gen_config *cfg, char *errbuf)
{
    if (gp == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_gen_create: gp is NULL");
    *gp = NULL;
    sd_gen_config c;
    sd_gen_config_init(&c);
    if (cfg != NULL) {
        if (cfg->size < sizeof(size_t))
            return sd__errbuf(errbuf, SD_ERR_INVAL,
                              "sd_gen_create: cfg->size is not set (call sd_gen_config_init first)");
        /* A smaller size is an older caller: its missing fields keep the
         * defaults. */
        memcpy(&c, cfg, cfg->size < sizeof c ? cfg->size : sizeof c);
        c.size = sizeof c;
    }
    int rc = check_config(&c, errbuf);
    if (rc < 0)
        return rc;

    struct sd_gen *g = sd__calloc(1, sizeof *g);
    if (g == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "sd_gen_create: out of memory");
    sd__handle_init(&g->h);
    g->cfg = c;
    g->l2 = c.linktype == SD_LINK_ETHERNET ? 14 : 0;
    g->pfx4 = c.prefix4;
    g->host4 = c.prefix4_len == 0 ? 0xffffffffu : (c.prefix4_len == 32 ? 0 : 0xffffffffu >> c.prefix4_len);
    uint64_t mhi, mlo;
    mask6(c.prefix6_len, &mhi, &mlo);
    g->p6hi = sd__be64(c.prefix6);
    g->p6lo = sd__be64(c.prefix6 + 8);
    g->host6hi = ~mhi;
    g->host6lo = ~mlo;

    struct rng setup;
    rng_seed(&setup, c.seed, 1);
    rng_seed(&g->krng, c.seed, 2);
    rng_seed(&g->trng, c.seed, 3);
    for (int k = 0; k < SD_GEN_NKINDS; k++)
        rng_seed(&g->kr[k], c.seed, 16 + (uint64_t)k);

    unsigned pi = 0;
    for (size_t i = 0; i < sizeof tcp_ports / sizeof tcp_ports[0]; i++)
        for (unsigned j = 0; j < tcp_ports[i].weight && pi < 1024; j++)
            g->port_tab[pi++] = tcp_ports[i].port;
    unsigned ui = 0;
    for (int i = 0; i < N_UDP; i++)
        for (unsigned j = 0; j < udp_services[i].weight && ui < 256; j++)
            g->udp_tab[ui++] = (uint8_t)i;
    build_templates(g);
    build_frag_bodies(g, &setup);
    setup_kinds(g);
    setup_slots(g);
    g->next_kind = draw_kind(g);

    g->arena = sd__malloc(GEN_ARENA);
    rc = g->arena == NULL ? SD_ERR_NOMEM : setup_population(g, &setup);
    if (rc < 0) {
        sd_gen_destroy(g);
        return sd__errbuf(errbuf, rc, "sd_gen_create: out of memory");
    }
    for (size_t i = 0; i < GEN_BATCH; i++)
        g->desc[i].linktype = c.linktype;

    g->mean16 = (uint64_t)(1e9 / c.pps * 65536.0 + 0.5);
    g->next_ts = c.start_ns;
    g->limit = c.count;
    g->end_ts = UINT64_MAX;
    if (c.count == 0 && c.duration_ns != 0)
        g->end_ts = c.start_ns > UINT64_MAX - c.duration_ns ? UINT64_MAX : c.start_ns + c.duration_ns;
    *gp = g;
    return 0;
}

void sd_gen_destroy(sd_gen *g)
{
    if (g == NULL)
        return;
    for (int k = 0; k < SD_GEN_NKINDS; k++)
        sd__free(g->pop[k].alias);
    sd__free(g->vpop.alias);
    sd__free(g->src);
    sd__free(g->src6);
    sd__free(g->vic);
    sd__free(g->arena);
    g->h.magic = 0;
    sd__free(g);
}
