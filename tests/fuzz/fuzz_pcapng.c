/* Fuzz target: the pcapng reader in buffer mode. Every packet must lie
 * inside the input; damage must end the source with an error, never a
 * crash, hang or leak. */
#include <stdint.h>
#include <stdlib.h>

#include <stardust/source.h>
#include "io_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    sd_source *src;
    if (sd__source_open_buffer(&src, "pcapng", "fuzz", d, n, NULL) != 0)
        return 0;
    const sd_packet *p[64];
    int rc;
    volatile uint8_t sink = 0;
    while ((rc = sd_source_read(src, p, 64)) > 0) {
        for (int i = 0; i < rc; i++) {
            if (p[i]->caplen > 0 && (p[i]->data < d || p[i]->data + p[i]->caplen > d + n))
                abort();
            for (uint32_t k = 0; k < p[i]->caplen; k++)
                sink ^= p[i]->data[k];
        }
    }
    (void)sink;
    sd_source_stats st = {.size = sizeof st};
    (void)sd_source_get_stats(src, &st);
    sd_source_close(src);
    return 0;
}
