/* Benchmark: sd_parse_bulk() on telescope-like frames held in memory.
 *
 * The packet set is synscan.pcap (2011 Ethernet/IPv4/TCP frames, 1994 pure
 * SYNs) plus hand-built 60-byte Ethernet frames (IPv4 TCP SYN, UDP, ICMP
 * echo) and a 74-byte IPv6 TCP SYN, repeated into a ring of descriptors that
 * is parsed in batches of 64 (what sd_source_read() hands out) until about
 * 50M packets were parsed.
 *
 * Figures, each one JSON line, each with its baseline measured in this run:
 *   parse_bulk    ns per packet of sd_parse_bulk(); baseline "touch_headers":
 *                 the same loop reading the bytes a parse reads (first 64
 *                 bytes of each frame) and writing one word per packet, so
 *                 the ratio is the cost of parsing over just touching the
 *                 headers.
 *   parse_single  ns per packet of one sd_parse() call per packet; baseline
 *                 parse_bulk.
 *   parse_synscan ns per packet of sd_parse_bulk() on synscan.pcap alone.
 * TSC ticks per packet are included on x86 (reference cycles, not core
 * cycles: perf is not assumed to be available). Goal: <= 15 ns/packet.
 */
#include "config.h"

#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define HAVE_TSC 1
#endif

#include <stardust/parse.h>

#define BATCH 64
#define TARGET_PACKETS 50000000ull
/* Many short rounds, interleaving the variants: on a shared (virtual)
 * machine, rounds of a few ms often run undisturbed and long ones rarely
 * do. Each figure is the best round; the median is printed beside it. */
#define ROUNDS 250

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t ticks(void)
{
#ifdef HAVE_TSC
    return __rdtsc();
#else
    return 0;
#endif
}

struct frame {
    uint8_t bytes[128];
    uint32_t len;
};

static void put16(uint8_t *p, unsigned v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v >> 16); put16(p + 2, v & 0xffff); }

/* Ethernet + IPv4 header; returns the offset of the transport header. */
static unsigned eth_ip4(uint8_t *f, unsigned proto, unsigned l4len, uint32_t src)
{
    memset(f, 0, 60);
    memcpy(f, "\x00\x1b\x21\x01\x02\x03\x00\x1c\x73\x04\x05\x06\x08\x00", 14);
    uint8_t *ip = f + 14;
    ip[0] = 0x45;
    put16(ip + 2, 20 + l4len);
    put16(ip + 4, 0x1234);
    ip[8] = 52;
    ip[9] = (uint8_t)proto;
    put32(ip + 12, src);
    put32(ip + 16, 0x2c000001u); /* 44.0.0.1: a telescope address */
    return 34;
}

static size_t handmade(struct frame *out)
{
    size_t n = 0;
    for (uint32_t i = 0; i < 8; i++) {
        struct frame *fr = &out[n++];
        unsigned o = eth_ip4(fr->bytes, 6, 20, 0xc6336400u + i);
        put16(fr->bytes + o, 40000 + i);
        put16(fr->bytes + o + 2, 23 + i);
        put32(fr->bytes + o + 4, 0x01020304u * (i + 1));
        fr->bytes[o + 12] = 0x50;
        fr->bytes[o + 13] = 0x02;
        put16(fr->bytes + o + 14, 1024);
        fr->len = 60;
    }
    {
        struct frame *fr = &out[n++];
        unsigned o = eth_ip4(fr->bytes, 17, 8, 0xc6336499u);
        put16(fr->bytes + o, 53);
        put16(fr->bytes + o + 2, 33434);
        put16(fr->bytes + o + 4, 8);
        fr->len = 60;
    }
    {
        struct frame *fr = &out[n++];
        unsigned o = eth_ip4(fr->bytes, 1, 8, 0xc633649au);
        fr->bytes[o] = 8;
        fr->len = 60;
    }
    {
        struct frame *fr = &out[n++];
        uint8_t *f = fr->bytes;
        memset(f, 0, sizeof fr->bytes);
        memcpy(f, "\x00\x1b\x21\x01\x02\x03\x00\x1c\x73\x04\x05\x06\x86\xdd", 14);
        f[14] = 0x60;
        put16(f + 18, 20);
        f[20] = 6;
        f[21] = 57;
        f[22] = 0x20;
        f[23] = 0x01;
        f[38] = 0x20;
        f[39] = 0x01;
        f[53] = 1;
        put16(f + 54, 40001);
        put16(f + 56, 22);
        f[66] = 0x50;
        f[67] = 0x02;
        fr->len = 74;
    }
    return n;
}

static const char *data_dir(void)
{
    const char *d = getenv("SD_DATA");
    return d != NULL && d[0] != '\0' ? d : SD_SHARED_DATA;
}

/* Load a pcap into frames (first 128 bytes of each is plenty for headers;
 * caplen is kept as min(caplen, 128)). */
static size_t load_pcap(const char *path, struct frame **out)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, eb);
    if (p == NULL) {
        fprintf(stderr, "bench_parse: %s\n", eb);
        exit(1);
    }
    size_t n = 0, cap = 4096;
    struct frame *f = malloc(cap * sizeof *f);
    struct pcap_pkthdr *h;
    const u_char *d;
    while (f != NULL && pcap_next_ex(p, &h, &d) == 1) {
        if (n == cap) {
            cap *= 2;
            struct frame *nf = realloc(f, cap * sizeof *f);
            if (nf == NULL) {
                free(f);
                f = NULL;
                break;
            }
            f = nf;
        }
        uint32_t len = h->caplen < sizeof f[n].bytes ? h->caplen : (uint32_t)sizeof f[n].bytes;
        memcpy(f[n].bytes, d, len);
        f[n].len = len;
        n++;
    }
    pcap_close(p);
    if (f == NULL) {
        fprintf(stderr, "bench_parse: out of memory\n");
        exit(1);
    }
    *out = f;
    return n;
}

struct ring {
    sd_packet *pkts;
    const sd_packet **ptrs;
    size_t n;
};

/* Lay the frames out contiguously (like a source's read buffer) and build
 * the descriptor ring. */
static void build_ring(struct ring *r, const struct frame *a, size_t na, const struct frame *b,
                       size_t nb, size_t b_every, uint8_t **arena_out)
{
    size_t n = na + (b_every ? na / b_every : 0);
    if (nb > 0 && b_every == 0)
        n = nb;
    r->pkts = calloc(n, sizeof *r->pkts);
    r->ptrs = calloc(n, sizeof *r->ptrs);
    uint8_t *arena = malloc(n * 128);
    if (r->pkts == NULL || r->ptrs == NULL || arena == NULL) {
        fprintf(stderr, "bench_parse: out of memory\n");
        exit(1);
    }
    size_t ia = 0, ib = 0, off = 0;
    for (size_t i = 0; i < n; i++) {
        const struct frame *f;
        if (na == 0 || (b_every && i % (b_every + 1) == b_every))
            f = &b[ib++ % nb];
        else
            f = &a[ia++ % na];
        memcpy(arena + off, f->bytes, f->len);
        r->pkts[i].data = arena + off;
        r->pkts[i].caplen = f->len;
        r->pkts[i].wirelen = f->len;
        r->pkts[i].linktype = SD_LINK_ETHERNET;
        r->pkts[i].ts = (uint64_t)i * 1000;
        r->ptrs[i] = &r->pkts[i];
        off += (f->len + 63) & ~(size_t)63;
    }
    r->n = n;
    *arena_out = arena;
}

static volatile uint64_t sink;

enum mode { MODE_BULK, MODE_SINGLE, MODE_TOUCH };

struct result {
    double ns;
    double tsc;
    uint64_t checksum;
};

/* One timed round of `batches` batches over the ring. */
static struct result run(const struct ring *r, enum mode m, size_t batches)
{
    sd_parsed out[BATCH];
    uint64_t words[BATCH];
    uint64_t check = 0;
    size_t pos = 0;
    uint64_t t0 = now_ns(), c0 = ticks();
    for (size_t b = 0; b < batches; b++) {
        if (pos + BATCH > r->n)
            pos = 0;
        const sd_packet *const *p = r->ptrs + pos;
        pos += BATCH;
        if (m == MODE_BULK) {
            if (sd_parse_bulk(p, out, BATCH) != BATCH)
                abort();
            check += out[b % BATCH].flags + out[(b + 7) % BATCH].sport;
        } else if (m == MODE_SINGLE) {
            for (size_t i = 0; i < BATCH; i++)
                (void)sd_parse(p[i], &out[i]);
            check += out[b % BATCH].flags + out[(b + 7) % BATCH].sport;
        } else {
            /* Read what a parse reads: the header bytes of each frame, and
             * write one result word per packet. */
            for (size_t i = 0; i < BATCH; i++) {
                const uint8_t *d = p[i]->data;
                uint32_t len = p[i]->caplen < 64 ? p[i]->caplen : 64;
                uint64_t acc = len;
                for (uint32_t k = 0; k + 8 <= len; k += 8) {
                    uint64_t w;
                    memcpy(&w, d + k, 8);
                    acc ^= w;
                }
                words[i] = acc;
            }
            check += words[b % BATCH];
        }
    }
    uint64_t t1 = now_ns(), c1 = ticks();
    double pk = (double)batches * BATCH;
    sink += check;
    return (struct result){(double)(t1 - t0) / pk, (double)(c1 - c0) / pk, check};
}

static int cmp_ns(const void *a, const void *b)
{
    double x = ((const struct result *)a)->ns, y = ((const struct result *)b)->ns;
    return (x > y) - (x < y);
}

/* Sorts the rounds; returns the best one and stores the median ns. */
static struct result summarize(struct result *r, size_t n, double *median)
{
    qsort(r, n, sizeof *r, cmp_ns);
    *median = r[n / 2].ns;
    return r[0];
}

static void print(const char *name, const struct result *v, double median, const char *bname,
                  const struct result *b, size_t set, uint64_t packets)
{
    printf("{\"bench\":\"%s\",\"metric\":\"ns_per_packet\",\"value\":%.2f,"
           "\"baseline\":\"%s\",\"baseline_value\":%.2f,\"ratio\":%.2f,\"goal\":\"<=15 ns\","
           "\"median\":%.2f,\"tsc_per_packet\":%.1f,\"packets\":%llu,\"rounds\":%d,"
           "\"distinct_frames\":%zu}\n",
           name, v->ns, bname, b->ns, b->ns > 0 ? v->ns / b->ns : 0.0, median, v->tsc,
           (unsigned long long)packets, ROUNDS, set);
}

int main(void)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/pcap/ndpi/synscan.pcap", data_dir());
    struct frame *syn;
    size_t nsyn = load_pcap(path, &syn);
    struct frame hand[16];
    size_t nhand = handmade(hand);

    /* Mix: synscan frames with one hand-built frame after every 3. */
    struct ring mix, scan;
    uint8_t *arena_mix, *arena_scan;
    build_ring(&mix, syn, nsyn, hand, nhand, 3, &arena_mix);
    build_ring(&scan, syn, nsyn, NULL, 0, 0, &arena_scan);

    size_t batches = (size_t)(TARGET_PACKETS / ROUNDS / BATCH);
    static struct result touch[ROUNDS], bulk[ROUNDS], single[ROUNDS], scan_bulk[ROUNDS],
        scan_touch[ROUNDS];
    (void)run(&mix, MODE_BULK, batches * 10); /* warm up caches and clocks */
    for (int round = 0; round < ROUNDS; round++) {
        touch[round] = run(&mix, MODE_TOUCH, batches);
        bulk[round] = run(&mix, MODE_BULK, batches);
        single[round] = run(&mix, MODE_SINGLE, batches);
        scan_bulk[round] = run(&scan, MODE_BULK, batches);
        scan_touch[round] = run(&scan, MODE_TOUCH, batches);
    }
    double m_touch, m_bulk, m_single, m_scan, m_scan_touch;
    struct result b_touch = summarize(touch, ROUNDS, &m_touch);
    struct result b_bulk = summarize(bulk, ROUNDS, &m_bulk);
    struct result b_single = summarize(single, ROUNDS, &m_single);
    struct result b_scan = summarize(scan_bulk, ROUNDS, &m_scan);
    struct result b_scan_touch = summarize(scan_touch, ROUNDS, &m_scan_touch);
    (void)m_touch;
    (void)m_scan_touch;

    uint64_t total = (uint64_t)batches * BATCH * ROUNDS;
    print("parse_bulk", &b_bulk, m_bulk, "touch_headers", &b_touch, mix.n, total);
    print("parse_single", &b_single, m_single, "parse_bulk", &b_bulk, mix.n, total);
    print("parse_synscan", &b_scan, m_scan, "touch_headers", &b_scan_touch, scan.n, total);

    free(mix.pkts);
    free(mix.ptrs);
    free(scan.pkts);
    free(scan.ptrs);
    free(arena_mix);
    free(arena_scan);
    free(syn);
    return 0;
}
