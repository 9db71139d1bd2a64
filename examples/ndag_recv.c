/* ndag_recv: receive an nDAG multicast feed with N threads, count packets
 * per lane and print the loss counters when interrupted (Ctrl-C) or after
 * COUNT packets.
 *
 *   cc ndag_recv.c $(pkg-config --cflags --libs libstardust) -o ndag_recv
 *   ./ndag_recv eth1 225.44.0.1 44000 2 [COUNT]
 */
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <stardust/stardust.h>

static sd_ndag_recv *rx;
static atomic_ullong packets;
static unsigned long long limit;

static void on_signal(int sig)
{
    (void)sig;
    sd_ndag_recv_stop(rx); /* async-signal-safe */
}

/* One call per batch, on the thread of that lane. */
static void on_batch(void *user, unsigned lane, const sd_packet *const *pkts, size_t n)
{
    (void)user;
    (void)lane;
    (void)pkts;
    if (atomic_fetch_add(&packets, n) + n >= limit && limit > 0)
        sd_ndag_recv_stop(rx);
}

int main(int argc, char **argv)
{
    if (argc < 5) {
        fprintf(stderr, "usage: %s IFACE GROUP BEACONPORT THREADS [COUNT]\n", argv[0]);
        return 2;
    }
    sd_ndag_recv_opts o;
    sd_ndag_recv_opts_init(&o);
    o.iface = argv[1];
    o.group = argv[2];
    o.beacon_port = (uint16_t)atoi(argv[3]);
    o.threads = (unsigned)atoi(argv[4]);
    limit = argc > 5 ? strtoull(argv[5], NULL, 10) : 0;
    char errbuf[SD_ERRBUF_SIZE];
    if (sd_ndag_recv_open(&rx, &o, errbuf) != 0) {
        fprintf(stderr, "ndag_recv: %s\n", errbuf);
        return 1;
    }
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    int rc = sd_ndag_recv_run(rx, on_batch, NULL); /* until stopped */

    sd_ndag_recv_stats st = {.size = sizeof st};
    sd_ndag_recv_stats_get(rx, &st);
    printf("%llu packets, %llu streams, %lld datagrams missing, %llu dropped\n",
           (unsigned long long)st.records, (unsigned long long)st.streams, (long long)st.missing,
           (unsigned long long)st.dropped);
    sd_ndag_recv_close(rx);
    return rc == 0 ? 0 : 1;
}
