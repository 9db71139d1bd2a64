/* libFuzzer harness for the CSV geolocation loaders (lib/csv.c,
 * lib/geo_csv.c). The input is split at 0x1E (ASCII record separator)
 * into up to 14 files, held in memfds and opened by /proc/self/fd path:
 * MaxMind legacy CSV reads parts 0 (blocks) and 1 (locations); Net Acuity
 * Edge reads 0 blocks, 1 locations, 2 countries, 3 regions, 4 polygon map
 * and 5.. polygon tables (9 tables exercise the limit). A loaded table
 * must answer lookups with sane records. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stardust/err.h>
#include <stardust/geo.h>

#define MAXPARTS 14

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void probe(const sd_geo *g)
{
    static const uint32_t addrs[] = { 0, 1, 0x7F000001u, 0xC0000201u, 0xFFFFFFFFu, 0x0A000000u };
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        const sd_geo_record *r = sd_geo_lookup4(g, addrs[i]);
        if (r != NULL && (r->n_polygons > SD_GEO_MAX_POLYGON_TABLES ||
                          memchr(r->region, '\0', sizeof r->region) == NULL ||
                          memchr(r->city, '\0', sizeof r->city) == NULL))
            __builtin_trap();
    }
    if (sd_geo_records(g) == 0 && sd_geo_count(g, 4) != 0)
        __builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd[MAXPARTS];
    char path[MAXPARTS][64];
    unsigned n = 0;
    size_t start = 0;
    for (size_t i = 0; i <= size && n < MAXPARTS; i++) {
        if (i < size && data[i] != 0x1E)
            continue;
        fd[n] = memfd_create("fuzz_csv", 0);
        if (fd[n] < 0)
            break;
        size_t len = i - start;
        if (len > 0 && write(fd[n], data + start, len) != (ssize_t)len) {
            close(fd[n]);
            break;
        }
        snprintf(path[n], sizeof path[n], "/proc/self/fd/%d", fd[n]);
        n++;
        start = i + 1;
    }
    char errbuf[SD_ERRBUF_SIZE];
    sd_geo *g = NULL;
    if (n >= 2) {
        if (sd_geo_open_maxmind_csv(&g, path[0], path[1], errbuf) == 0) {
            probe(g);
            sd_geo_close(g);
        } else if (errbuf[0] == '\0') {
            __builtin_trap(); /* every failure explains itself */
        }
        sd_netacq_files f;
        memset(&f, 0, sizeof f);
        f.blocks = path[0];
        f.locations = path[1];
        f.countries = n > 2 ? path[2] : NULL;
        f.regions = n > 3 ? path[3] : NULL;
        f.polygon_map = n > 4 ? path[4] : NULL;
        for (unsigned i = 5; i < n && f.n_polygon_tables < SD_GEO_MAX_POLYGON_TABLES; i++)
            f.polygon_tables[f.n_polygon_tables++] = path[i];
        int rc = sd_geo_open_netacq(&g, &f, errbuf);
        if (rc == 0) {
            probe(g);
            sd_geo_close(g);
        } else if (errbuf[0] == '\0') {
            __builtin_trap();
        }
    }
    for (unsigned i = 0; i < n; i++)
        close(fd[i]);
    return 0;
}
