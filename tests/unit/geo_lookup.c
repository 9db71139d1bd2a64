/* Test helper for tests/integration/geo-csv.sh: load a CSV geolocation
 * data set and print one line per IPv4 address read from stdin:
 *   ADDR TAB - (no match), or
 *   ADDR TAB country-hex TAB continent-hex TAB region_code TAB polygon words
 *   (comma-separated hex, - for none) TAB region TAB city TAB lat TAB lon
 * Usage: geo_lookup maxmind BLOCKS LOCATIONS | geo_lookup netacq-dir DIR |
 *        geo_lookup maxmind-dir DIR */
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <stardust/err.h>
#include <stardust/geo.h>

int main(int argc, char **argv)
{
    char errbuf[SD_ERRBUF_SIZE] = "";
    sd_geo *g = NULL;
    int rc;
    if (argc == 4 && strcmp(argv[1], "maxmind") == 0)
        rc = sd_geo_open_maxmind_csv(&g, argv[2], argv[3], errbuf);
    else if (argc == 3 && strcmp(argv[1], "maxmind-dir") == 0)
        rc = sd_geo_open_dir(&g, SD_GEO_MAXMIND, argv[2], errbuf);
    else if (argc == 3 && strcmp(argv[1], "netacq-dir") == 0)
        rc = sd_geo_open_dir(&g, SD_GEO_NETACQ, argv[2], errbuf);
    else {
        fprintf(stderr, "usage: geo_lookup maxmind BLOCKS LOCATIONS | maxmind-dir DIR | "
                        "netacq-dir DIR < addresses\n");
        return 2;
    }
    if (rc != 0) {
        fprintf(stderr, "geo_lookup: %s (%s)\n", errbuf, sd_errname(rc));
        return 1;
    }
    char line[256];
    while (fgets(line, sizeof line, stdin) != NULL) {
        line[strcspn(line, "\r\n")] = '\0';
        struct in_addr a;
        if (inet_pton(AF_INET, line, &a) != 1) {
            fprintf(stderr, "geo_lookup: bad address %s\n", line);
            sd_geo_close(g);
            return 1;
        }
        const sd_geo_record *r = sd_geo_lookup4(g, ntohl(a.s_addr));
        if (r == NULL) {
            printf("%s\t-\n", line);
            continue;
        }
        printf("%s\t%02x%02x\t%02x%02x\t%u\t", line, (unsigned char)r->country[0],
               (unsigned char)r->country[1], (unsigned char)r->continent[0],
               (unsigned char)r->continent[1], (unsigned)r->region_code);
        if (r->n_polygons == 0)
            printf("-");
        for (unsigned i = 0; i < r->n_polygons; i++)
            printf("%s%08x", i ? "," : "", (unsigned)r->polygon[i]);
        printf("\t%s\t%s\t%.4f\t%.4f\n", r->region, r->city, r->latitude, r->longitude);
    }
    sd_geo_close(g);
    return 0;
}
