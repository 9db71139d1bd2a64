/* bench_source: reading and writing pcap files through stardust against
 * plain libpcap, on a 10 M-packet file of 60-byte frames in $BENCH_TMP
 * (tmpfs: /dev/shm by default).
 *
 *   read:  sd_source_read() in batches of 256 summing caplen, against a
 *          pcap_next_ex() loop counting packets and bytes; interleaved,
 *          best of 3 each.
 *   write: sd_pcap_writer_write() in batches of 256, against pcap_dump().
 *
 * Prints one JSON line per figure. */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stardust/stardust.h>

#define NPKT 10000000u
#define FRAME 60
#define BATCH 256
#define ROUNDS 3

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, const char *msg)
{
    fprintf(stderr, "bench_source: %s: %s\n", what, msg);
    exit(1);
}

/* 256 distinct 60-byte frames: Ethernet + IPv4 + TCP SYN to varying
 * telescope addresses (the content does not matter to the reader). */
static uint8_t frames[BATCH][FRAME];
static sd_packet descs[BATCH];
static const sd_packet *ptrs[BATCH];

static void make_frames(void)
{
    for (int i = 0; i < BATCH; i++) {
        uint8_t *f = frames[i];
        memset(f, 0, FRAME);
        f[12] = 0x08;
        f[14] = 0x45;
        f[16] = 0;
        f[17] = 40;
        f[22] = 64;
        f[23] = 6;
        f[26] = 198;
        f[27] = 51;
        f[28] = 100;
        f[29] = (uint8_t)i;
        f[30] = 44;
        f[31] = (uint8_t)i;
        f[32] = (uint8_t)(i * 7);
        f[33] = (uint8_t)(i * 13);
        f[36] = (uint8_t)(i >> 8);
        f[37] = (uint8_t)i;
        f[46] = 0x50;
        f[47] = 0x02;
        descs[i].data = f;
        descs[i].caplen = FRAME;
        descs[i].wirelen = FRAME;
        descs[i].linktype = SD_LINK_ETHERNET;
        ptrs[i] = &descs[i];
    }
}

static double write_stardust(const char *path)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_pcap_writer *w;
    double t0 = now();
    if (sd_pcap_writer_open(&w, path, SD_LINK_ETHERNET, 0, 0, errbuf) < 0)
        die(path, errbuf);
    uint64_t ts = 1767225600000000000ull;
    for (uint32_t done = 0; done < NPKT; done += BATCH) {
        int n = NPKT - done < BATCH ? (int)(NPKT - done) : BATCH;
        for (int i = 0; i < n; i++, ts += 10000)
            descs[i].ts = ts;
        if (sd_pcap_writer_write(w, ptrs, (size_t)n) != n)
            die(path, sd_errmsg(w));
    }
    if (sd_pcap_writer_close(w, errbuf) < 0)
        die(path, errbuf);
    return now() - t0;
}

static double write_libpcap(const char *path)
{
    double t0 = now();
    pcap_t *dead = pcap_open_dead(DLT_EN10MB, 262144);
    pcap_dumper_t *d = pcap_dump_open(dead, path);
    if (d == NULL)
        die(path, pcap_geterr(dead));
    struct pcap_pkthdr h;
    uint64_t ts = 1767225600000000000ull;
    for (uint32_t done = 0; done < NPKT; done += BATCH)
        for (int i = 0; i < BATCH && done + (uint32_t)i < NPKT; i++, ts += 10000) {
            h.ts.tv_sec = (time_t)(ts / 1000000000u);
            h.ts.tv_usec = (suseconds_t)(ts % 1000000000u / 1000u);
            h.caplen = FRAME;
            h.len = FRAME;
            pcap_dump((u_char *)d, &h, frames[i]);
        }
    pcap_dump_close(d);
    pcap_close(dead);
    return now() - t0;
}

static double read_libpcap(const char *path, uint64_t *pkts, uint64_t *bytes)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    double t0 = now();
    pcap_t *p = pcap_open_offline(path, errbuf);
    if (p == NULL)
        die(path, errbuf);
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t n = 0, b = 0;
    while (pcap_next_ex(p, &h, &data) == 1) {
        n++;
        b += h->caplen;
    }
    pcap_close(p);
    *pkts = n;
    *bytes = b;
    return now() - t0;
}

static double read_stardust(const char *path, uint64_t *pkts, uint64_t *bytes)
{
    char errbuf[SD_ERRBUF_SIZE];
    double t0 = now();
    sd_source *src;
    if (sd_source_open(&src, path, errbuf) < 0)
        die(path, errbuf);
    const sd_packet *batch[BATCH];
    uint64_t n = 0, b = 0;
    int got;
    while ((got = sd_source_read(src, batch, BATCH)) > 0) {
        n += (uint64_t)got;
        for (int i = 0; i < got; i++)
            b += batch[i]->caplen;
    }
    if (got != SD_EOF)
        die(path, sd_errmsg(src));
    sd_source_close(src);
    *pkts = n;
    *bytes = b;
    return now() - t0;
}

int main(void)
{
    const char *dir = getenv("BENCH_TMP");
    if (dir == NULL || dir[0] == '\0')
        dir = "/dev/shm";
    char path[4096], path2[4096];
    snprintf(path, sizeof path, "%s/bench_source.%ld.pcap", dir, (long)getpid());
    snprintf(path2, sizeof path2, "%s/bench_source.%ld.libpcap.pcap", dir, (long)getpid());
    make_frames();

    double best_w_sd = 1e9, best_w_pc = 1e9;
    for (int r = 0; r < 2; r++) {
        double t = write_libpcap(path2);
        if (t < best_w_pc)
            best_w_pc = t;
        unlink(path2);
        double t2 = write_stardust(path);
        if (t2 < best_w_sd)
            best_w_sd = t2;
        if (getenv("BENCH_VERBOSE") != NULL)
            fprintf(stderr, "write %d: pcap_dump %.3f s, stardust %.3f s\n", r, t, t2);
    }

    double best_sd = 1e9, best_pc = 1e9;
    uint64_t n_sd = 0, b_sd = 0, n_pc = 0, b_pc = 0;
    for (int r = 0; r < ROUNDS; r++) {
        double t = read_libpcap(path, &n_pc, &b_pc);
        if (t < best_pc)
            best_pc = t;
        t = read_stardust(path, &n_sd, &b_sd);
        if (t < best_sd)
            best_sd = t;
        if (getenv("BENCH_VERBOSE") != NULL)
            fprintf(stderr, "round %d: libpcap %.3f s, stardust %.3f s\n", r, best_pc, t);
    }
    unlink(path);
    if (n_sd != NPKT || n_pc != NPKT || b_sd != b_pc || b_sd != (uint64_t)NPKT * FRAME) {
        fprintf(stderr, "bench_source: counts differ: stardust %llu/%llu, libpcap %llu/%llu\n",
                (unsigned long long)n_sd, (unsigned long long)b_sd, (unsigned long long)n_pc,
                (unsigned long long)b_pc);
        return 1;
    }

    double mpps_sd = NPKT / best_sd / 1e6, mpps_pc = NPKT / best_pc / 1e6;
    printf("{\"bench\":\"source_read_pcap\",\"metric\":\"Mpps\",\"value\":%.2f,\"baseline\":\"pcap_next_ex\","
           "\"baseline_value\":%.2f,\"ratio\":%.2f,\"goal\":\">=0.9\"}\n",
           mpps_sd, mpps_pc, mpps_sd / mpps_pc);
    double wmpps_sd = NPKT / best_w_sd / 1e6, wmpps_pc = NPKT / best_w_pc / 1e6;
    printf("{\"bench\":\"pcap_writer\",\"metric\":\"Mpps\",\"value\":%.2f,\"baseline\":\"pcap_dump\","
           "\"baseline_value\":%.2f,\"ratio\":%.2f,\"goal\":\">=5 Mpps\"}\n",
           wmpps_sd, wmpps_pc, wmpps_sd / wmpps_pc);
    return 0;
}
