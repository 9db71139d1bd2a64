/* read_trace: count the packets and bytes of any trace stardust can open.
 *
 *   cc read_trace.c $(pkg-config --cflags --libs libstardust) -o read_trace
 *   ./read_trace capture.pcap.gz
 */
#include <stdio.h>
#include <stardust/stardust.h>

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: %s URI\n", argv[0]);
        return 2;
    }
    char errbuf[SD_ERRBUF_SIZE];
    sd_source *src;
    if (sd_source_open(&src, argv[1], errbuf) < 0) {
        fprintf(stderr, "read_trace: %s\n", errbuf);
        return 1;
    }
    const sd_packet *pkts[64];
    unsigned long long packets = 0, bytes = 0;
    int n;
    while ((n = sd_source_read(src, pkts, 64)) > 0) {
        for (int i = 0; i < n; i++)
            bytes += pkts[i]->caplen;
        packets += (unsigned long long)n;
    }
    if (n != SD_EOF) {
        fprintf(stderr, "read_trace: %s\n", sd_errmsg(src));
        sd_source_close(src);
        return 1;
    }
    printf("%llu packets, %llu bytes captured\n", packets, bytes);
    sd_source_close(src);
    return 0;
}
