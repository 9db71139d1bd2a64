/* Multicast a trace as nDAG: the smallest useful sender.
 *
 *   ndag_send TRACE GROUP BEACONPORT
 *
 * Build: cc ndag_send.c $(pkg-config --cflags --libs libstardust)
 * Receive with: sd-dump ndag:eth0,GROUP,BEACONPORT (or libtrace's ndag:). */
#include <stdio.h>
#include <stdlib.h>

#include <stardust/stardust.h>

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: %s TRACE GROUP BEACONPORT\n", argv[0]);
        return 2;
    }
    char errbuf[SD_ERRBUF_SIZE];
    sd_source *src;
    if (sd_source_open(&src, argv[1], errbuf) != 0) {
        fprintf(stderr, "%s\n", errbuf);
        return 1;
    }
    sd_ndag_send_opts o;
    sd_ndag_send_opts_init(&o); /* defaults of the nDAG spec, section 13 */
    o.group = argv[2];
    o.beacon_port = (uint16_t)atoi(argv[3]);
    sd_ndag_sender *snd;
    if (sd_ndag_send_open(&snd, &o, errbuf) != 0) {
        fprintf(stderr, "%s\n", errbuf);
        sd_source_close(src);
        return 1;
    }
    const sd_packet *pkts[256];
    int n, status = 0;
    while ((n = sd_source_read(src, pkts, 256)) > 0) {
        /* as fast as possible; packets are copied, so the next read may
         * reuse them */
        if (sd_ndag_send(snd, pkts, (size_t)n) != 0) {
            fprintf(stderr, "%s\n", sd_errmsg(snd));
            status = 1;
        }
    }
    if (n != SD_EOF) {
        fprintf(stderr, "%s\n", sd_errmsg(src));
        status = 1;
    }
    sd_ndag_send_stats st = {.size = sizeof st};
    if (sd_ndag_send_flush(snd) != 0)
        status = 1;
    (void)sd_ndag_send_get_stats(snd, -1, &st);
    if (sd_ndag_send_close(snd, errbuf) != 0) { /* flushes, frees */
        fprintf(stderr, "%s\n", errbuf);
        status = 1;
    }
    sd_source_close(src);
    printf("%llu packets in %llu datagrams\n", (unsigned long long)st.packets,
           (unsigned long long)st.datagrams);
    return status;
}
