/* Unit-test helper: a whole pcap file read into memory as sd_packets (for
 * tests that hand many packets to one bulk call). Link with libpcap. */
#ifndef SD_PCAP_UTIL_H
#define SD_PCAP_UTIL_H

#include <pcap/pcap.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/packet.h>

#include "testutil.h"

/* The packets of the shared-data pcap rel, each with its own copy of the
 * bytes; *n is their number. Free with sd_test_free_packets(). */
static inline sd_packet *sd_test_load_pcap(const char *rel, size_t *n)
{
    char eb[PCAP_ERRBUF_SIZE];
    pcap_t *pc = pcap_open_offline(sd_test_data(rel), eb);
    ck_assert_msg(pc != NULL, "%s", eb);
    size_t cap = 256, k = 0;
    sd_packet *pk = malloc(cap * sizeof *pk);
    ck_assert(pk != NULL);
    struct pcap_pkthdr *h;
    const u_char *data;
    while (pcap_next_ex(pc, &h, &data) == 1) {
        if (k == cap) {
            cap *= 2;
            pk = realloc(pk, cap * sizeof *pk);
            ck_assert(pk != NULL);
        }
        uint8_t *copy = malloc(h->caplen ? h->caplen : 1);
        ck_assert(copy != NULL);
        memcpy(copy, data, h->caplen);
        pk[k++] = (sd_packet){.data = copy, .caplen = h->caplen, .wirelen = h->len,
                              .linktype = (uint16_t)pcap_datalink(pc)};
    }
    pcap_close(pc);
    *n = k;
    return pk;
}

static inline void sd_test_free_packets(sd_packet *pk, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free((void *)pk[i].data);
    free(pk);
}

#endif
