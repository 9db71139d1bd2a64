/* tag_query: tag every packet of a capture with sd_tag() and print one JSON
 * line per packet, for tests/integration/tag-ref.sh to compare with an
 * independent reference (tag_ref.py).
 *
 *   tag_query [--pfx2as FILE]... [--mmdb FILE] [--maxmind-csv DIR]
 *             [--netacq DIR] CAPTURE
 *
 * Line: {"i":N,"providers":P,"protocol":N,"sport":N,"dport":N,
 *        "ft_hash":N,"filterbits":N,"prefixasn":N,"mm_country":"US"|null,
 *        "mm_continent":..,"na_country":..,"na_continent":..,"na_region":N}
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include <stardust/stardust.h>

static void code(const char *key, const char c[2])
{
    if (c[0] == 0 && c[1] == 0)
        printf(",\"%s\":null", key);
    else
        printf(",\"%s\":\"%c%c\"", key, c[0], c[1]);
}

int main(int argc, char **argv)
{
    char err[SD_ERRBUF_SIZE];
    sd_tagger *t;
    if (sd_tagger_create(&t) != 0)
        return 1;
    int i = 1;
    for (; i + 1 < argc && strncmp(argv[i], "--", 2) == 0; i += 2) {
        int rc;
        sd_pfx2as *p;
        sd_geo *g;
        if (strcmp(argv[i], "--pfx2as") == 0) {
            rc = sd_pfx2as_open(&p, argv[i + 1], err);
            if (rc == 0 && (rc = sd_tagger_add_pfx2as(t, p)) != 0)
                snprintf(err, sizeof err, "%s", sd_errmsg(t));
        } else if (strcmp(argv[i], "--mmdb") == 0 || strcmp(argv[i], "--maxmind-csv") == 0 ||
                   strcmp(argv[i], "--netacq") == 0) {
            rc = argv[i][2] == 'm' && argv[i][3] == 'm'
                     ? sd_geo_open_mmdb(&g, argv[i + 1], err)
                     : sd_geo_open_dir(&g, argv[i][2] == 'n' ? SD_GEO_NETACQ : SD_GEO_MAXMIND,
                                       argv[i + 1], err);
            if (rc == 0 && (rc = sd_tagger_add_geo(t, g)) != 0)
                snprintf(err, sizeof err, "%s", sd_errmsg(t));
        } else {
            fprintf(stderr, "tag_query: unknown option %s\n", argv[i]);
            sd_tagger_destroy(t);
            return 2;
        }
        if (rc != 0) {
            fprintf(stderr, "tag_query: %s\n", err);
            sd_tagger_destroy(t);
            return 1;
        }
    }
    if (i + 1 != argc) {
        fprintf(stderr, "usage: tag_query [--pfx2as F]... [--mmdb F] [--maxmind-csv DIR] "
                        "[--netacq DIR] CAPTURE\n");
        return 2;
    }
    if (sd_tagger_freeze(t) != 0) {
        fprintf(stderr, "tag_query: %s\n", sd_errmsg(t));
        return 1;
    }
    sd_source *src;
    if (sd_source_open(&src, argv[i], err) != 0 || sd_source_start(src) != 0) {
        fprintf(stderr, "tag_query: %s\n", err);
        return 1;
    }
    const sd_packet *pkts[64];
    sd_tags tags[64];
    uint64_t idx = 0;
    int n;
    while ((n = sd_source_read(src, pkts, 64)) > 0) {
        if (sd_tag(t, pkts, NULL, tags, (size_t)n) != n)
            return 1;
        for (int k = 0; k < n; k++, idx++) {
            const sd_tags *g = &tags[k];
            printf("{\"i\":%" PRIu64 ",\"providers\":%" PRIu32 ",\"protocol\":%u,\"sport\":%u,"
                   "\"dport\":%u,\"ft_hash\":%" PRIu32 ",\"filterbits\":%" PRIu64
                   ",\"prefixasn\":%" PRIu32,
                   idx, g->providers_used, g->protocol, g->src_port, g->dest_port, g->ft_hash,
                   g->filterbits, g->prefixasn);
            code("mm_country", g->maxmind_country);
            code("mm_continent", g->maxmind_continent);
            code("na_country", g->netacq_country);
            code("na_continent", g->netacq_continent);
            printf(",\"na_region\":%u}\n", g->netacq_region);
        }
    }
    sd_source_close(src);
    sd_tagger_destroy(t);
    return n < 0 && n != SD_EOF;
}
