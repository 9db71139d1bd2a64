/* geo_query: load a MaxMind DB with sd_geo_open_mmdb() and print the record
 * of each address (arguments after the file, or one per line on stdin), for
 * tests/integration/geo-mmdb.sh to compare with mmdblookup.
 *
 *   geo_query FILE [ADDR...]   ADDR<TAB>country<TAB>continent<TAB>region<TAB>city
 *                              (empty fields as "-"; "ADDR<TAB>none" when no record)
 *   geo_query -s FILE          counts, records, memory and load time
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <stardust/stardust.h>

static void code(const char c[2], char out[3])
{
    if (c[0] == 0 && c[1] == 0) {
        strcpy(out, "-");
        return;
    }
    out[0] = c[0];
    out[1] = c[1];
    out[2] = 0;
}

static int query(const sd_geo *g, const char *a)
{
    uint8_t b[16];
    const sd_geo_record *r;
    if (inet_pton(AF_INET, a, b) == 1)
        r = sd_geo_lookup4(g, (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3]);
    else if (inet_pton(AF_INET6, a, b) == 1)
        r = sd_geo_lookup6(g, b);
    else {
        fprintf(stderr, "geo_query: bad address %s\n", a);
        return 1;
    }
    if (r == NULL) {
        printf("%s\tnone\n", a);
        return 0;
    }
    char cc[3], ct[3];
    code(r->country, cc);
    code(r->continent, ct);
    printf("%s\t%s\t%s\t%s\t%s\n", a, cc, ct, r->region[0] ? r->region : "-",
           r->city[0] ? r->city : "-");
    return 0;
}

int main(int argc, char **argv)
{
    int stats = argc > 1 && strcmp(argv[1], "-s") == 0;
    if (argc < 2 + stats) {
        fprintf(stderr, "usage: geo_query [-s] FILE [ADDR...]\n");
        return 2;
    }
    const char *path = argv[1 + stats];
    char errbuf[SD_ERRBUF_SIZE];
    sd_geo *g;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    int rc = sd_geo_open_mmdb(&g, path, errbuf);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    if (rc != 0) {
        fprintf(stderr, "geo_query: %s (%s)\n", errbuf, sd_errname(rc));
        return 1;
    }
    int bad = 0;
    if (stats) {
        printf("prefixes4 %zu prefixes6 %zu records %zu memory %zu load_ms %.3f\n",
               sd_geo_count(g, 4), sd_geo_count(g, 6), sd_geo_records(g), sd_geo_memory(g),
               (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
    } else if (argc > 2) {
        for (int i = 2; i < argc; i++)
            bad |= query(g, argv[i]);
    } else {
        char line[256];
        while (fgets(line, sizeof line, stdin) != NULL) {
            line[strcspn(line, "\r\n")] = 0;
            if (line[0] != 0)
                bad |= query(g, line);
        }
    }
    sd_geo_close(g);
    return bad;
}
