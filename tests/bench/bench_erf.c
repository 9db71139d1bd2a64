/* Benchmark: native ERF and pcapng reading against a plain libpcap
 * pcap_next_ex() loop over the same packets, and the ERF writer's rate.
 * Files go to $BENCH_TMP (default /dev/shm); BENCH_PACKETS overrides the
 * 10 M packet count. Prints one JSON line per figure. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <pcap/pcap.h>

#include <stardust/erf_writer.h>
#include <stardust/source.h>

#define CAPLEN 60

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_erf: %s: %s\n", what, msg);
    exit(1);
}

/* Packet i: an Ethernet/IPv4/TCP SYN from a varying source to a varying
 * telescope address, 100 ns after the previous one. */
static void make_packet(uint64_t i, uint8_t *f, uint64_t *ts)
{
    static const uint8_t tmpl[CAPLEN] = {
        0x00, 0x00, 0x5e, 0x00, 0x01, 0xaa, 0x00, 0x00, 0xc0, 0xa8, 0x01, 0x01, 0x08, 0x00,
        0x45, 0x00, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0x40, 0x06, 0x00, 0x00,
        192, 0, 2, 1, 44, 0, 0, 1,
        0x30, 0x39, 0x00, 0x50, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0xff, 0xff, 0, 0, 0, 0};
    memcpy(f, tmpl, CAPLEN);
    uint32_t x = (uint32_t)(i * 2654435761u);
    memcpy(f + 26, &x, 4);
    f[31] = (uint8_t)i;
    f[32] = (uint8_t)(i >> 8);
    f[33] = (uint8_t)(i >> 16);
    *ts = UINT64_C(1577836800000000000) + i * 100;
}

/* The pcap file of the same packets (microsecond timestamps). */
static void write_pcap(const char *path, uint64_t n)
{
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 65535);
    pcap_dumper_t *d = pcap_dump_open(dead, path);
    if (d == NULL)
        die(path, pcap_geterr(dead));
    uint8_t f[CAPLEN];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t ts;
        make_packet(i, f, &ts);
        struct pcap_pkthdr h;
        h.ts.tv_sec = (time_t)(ts / 1000000000u);
        h.ts.tv_usec = (suseconds_t)(ts / 1000u % 1000000u);
        h.caplen = CAPLEN;
        h.len = CAPLEN + 4;
        pcap_dump((u_char *)d, &h, f);
    }
    pcap_dump_close(d);
    pcap_close(dead);
}

/* The pcapng file of the same packets: SHB, one Ethernet IDB in ns, EPBs. */
static void write_pcapng(const char *path, uint64_t n)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL)
        die(path, "cannot create");
    static const uint32_t shb[7] = {0x0A0D0D0A, 28, 0x1A2B3C4D, 1, 0xffffffff, 0xffffffff, 28};
    fwrite(shb, 4, 7, fp);
    uint32_t idb[8] = {1, 32, 1, 65535, 9 | (1u << 16), 9, 0, 32};
    fwrite(idb, 4, 8, fp);
    uint8_t f[CAPLEN];
    for (uint64_t i = 0; i < n; i++) {
        uint64_t ts;
        make_packet(i, f, &ts);
        uint32_t h[7] = {6, 32 + CAPLEN, 0, (uint32_t)(ts >> 32), (uint32_t)ts, CAPLEN, CAPLEN + 4};
        fwrite(h, 4, 7, fp);
        fwrite(f, 1, CAPLEN, fp);
        uint32_t tl = 32 + CAPLEN;
        fwrite(&tl, 4, 1, fp);
    }
    if (fclose(fp) != 0)
        die(path, "write failed");
}

/* Write the ERF file with sd_erf_writer; returns seconds spent writing. */
static double write_erf(const char *path, uint64_t n)
{
    char eb[SD_ERRBUF_SIZE];
    sd_erf_writer *w;
    if (sd_erf_writer_open(&w, path, 0, eb) < 0)
        die(path, eb);
    enum { B = 256 };
    static uint8_t frames[B][CAPLEN];
    sd_packet pk[B];
    const sd_packet *pp[B];
    for (int k = 0; k < B; k++) {
        pk[k] = (sd_packet){.data = frames[k], .caplen = CAPLEN, .wirelen = CAPLEN + 4,
                            .linktype = SD_LINK_ETHERNET};
        pp[k] = &pk[k];
    }
    double t = 0;
    for (uint64_t i = 0; i < n; i += B) {
        size_t m = n - i < B ? (size_t)(n - i) : B;
        for (size_t k = 0; k < m; k++)
            make_packet(i + k, frames[k], &pk[k].ts);
        double t0 = now();
        if (sd_erf_writer_write(w, pp, m) < 0)
            die(path, sd_errmsg(w));
        t += now() - t0;
    }
    double t0 = now();
    if (sd_erf_writer_close(w, eb) < 0)
        die(path, eb);
    return t + now() - t0;
}

/* Baseline for the writer: copy preformatted 78-byte records into a 1 MiB
 * buffer and write(2) it when full. */
static double write_raw(const char *path, uint64_t n)
{
    FILE *fp = fopen(path, "wb");
    if (fp == NULL)
        die(path, "cannot create");
    int fd = fileno(fp);
    static uint8_t buf[1 << 20];
    uint8_t rec[18 + CAPLEN] = {0};
    rec[8] = 2;
    rec[11] = 18 + CAPLEN;
    size_t len = 0;
    double t0 = now();
    for (uint64_t i = 0; i < n; i++) {
        if (len + sizeof rec > sizeof buf) {
            if (write(fd, buf, len) != (ssize_t)len)
                die(path, "write failed");
            len = 0;
        }
        rec[0] = (uint8_t)i; /* touch: not a constant record */
        memcpy(buf + len, rec, sizeof rec);
        len += sizeof rec;
    }
    if (write(fd, buf, len) != (ssize_t)len)
        die(path, "write failed");
    double t = now() - t0;
    fclose(fp);
    return t;
}

/* Read with sd_source_read; the work per packet is the same as in the
 * libpcap loop: add the caplen and the first byte. */
static double read_sd(const char *uri, uint64_t n, uint64_t *check)
{
    char eb[SD_ERRBUF_SIZE];
    sd_source *src;
    double t0 = now();
    if (sd_source_open(&src, uri, eb) < 0)
        die(uri, eb);
    const sd_packet *p[256];
    uint64_t sum = 0, cnt = 0;
    int rc;
    while ((rc = sd_source_read(src, p, 256)) > 0) {
        for (int i = 0; i < rc; i++)
            sum += p[i]->caplen + p[i]->data[0];
        cnt += (uint64_t)rc;
    }
    if (rc != SD_EOF)
        die(uri, sd_errmsg(src));
    sd_source_close(src);
    double t = now() - t0;
    if (cnt != n)
        die(uri, "wrong packet count");
    *check = sum;
    return t;
}

static double read_pcap(const char *path, uint64_t n, uint64_t *check)
{
    char eb[PCAP_ERRBUF_SIZE];
    double t0 = now();
    pcap_t *p = pcap_open_offline(path, eb);
    if (p == NULL)
        die(path, eb);
    struct pcap_pkthdr *h;
    const u_char *d;
    uint64_t sum = 0, cnt = 0;
    while (pcap_next_ex(p, &h, &d) == 1) {
        sum += h->caplen + d[0];
        cnt++;
    }
    pcap_close(p);
    double t = now() - t0;
    if (cnt != n)
        die(path, "wrong packet count");
    *check = sum;
    return t;
}

static double best3(double (*fn)(const char *, uint64_t, uint64_t *), const char *a, uint64_t n,
                    uint64_t *check)
{
    double best = 1e30;
    for (int r = 0; r < 3; r++) {
        double t = fn(a, n, check);
        if (t < best)
            best = t;
    }
    return best;
}

static void emit(const char *bench, const char *metric, double v, const char *base, double bv,
                 double ratio, const char *goal)
{
    printf("{\"bench\":\"%s\",\"metric\":\"%s\",\"value\":%.2f,\"baseline\":\"%s\","
           "\"baseline_value\":%.2f,\"ratio\":%.3f,\"goal\":\"%s\"}\n",
           bench, metric, v, base, bv, ratio, goal);
    fflush(stdout);
}

int main(void)
{
    const char *dir = getenv("BENCH_TMP");
    if (dir == NULL || dir[0] == '\0')
        dir = "/dev/shm";
    uint64_t n = 10000000;
    const char *np = getenv("BENCH_PACKETS");
    if (np != NULL && atoll(np) > 0)
        n = (uint64_t)atoll(np);
    char erf[4096], pcap[4096], pcapng[4096], raw[4096], erfuri[4200];
    snprintf(erf, sizeof erf, "%s/bench_erf.%ld.erf", dir, (long)getpid());
    snprintf(pcap, sizeof pcap, "%s/bench_erf.%ld.pcap", dir, (long)getpid());
    snprintf(pcapng, sizeof pcapng, "%s/bench_erf.%ld.pcapng", dir, (long)getpid());
    snprintf(raw, sizeof raw, "%s/bench_erf.%ld.raw", dir, (long)getpid());
    snprintf(erfuri, sizeof erfuri, "erf:%s", erf);

    double tw = write_erf(erf, n);
    double traw = write_raw(raw, n);
    unlink(raw);
    write_pcap(pcap, n);
    write_pcapng(pcapng, n);

    uint64_t c1, c2, c3, c4;
    double terf = best3(read_sd, erfuri, n, &c1);
    double tpcap = best3(read_pcap, pcap, n, &c2);
    double tng = best3(read_sd, pcapng, n, &c3);
    double tngpcap = best3(read_pcap, pcapng, n, &c4);
    if (c1 != c2 || c3 != c2 || c4 != c2)
        die("check", "readers disagree on the packets");
    unlink(erf);
    unlink(pcap);
    unlink(pcapng);

    double ns = 1e9 / (double)n;
    emit("erf_read", "ns_per_packet", terf * ns, "libpcap_pcap_next_ex_pcap", tpcap * ns, terf / tpcap,
         "ratio <= 1.0");
    emit("pcapng_read", "ns_per_packet", tng * ns, "libpcap_pcap_next_ex_pcapng", tngpcap * ns,
         tng / tngpcap, "ratio <= 1.0");
    emit("erf_write", "mpps", (double)n / tw / 1e6, "memcpy_write_78B_records", (double)n / traw / 1e6,
         traw / tw, ">= 5 Mpps");
    return 0;
}
