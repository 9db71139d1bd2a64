/* Unit tests: corsarotagger YAML configuration (tagger_config.h). */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <stardust/pfx2as.h>
#include <stardust/tagger_config.h>

#include "internal.h"
#include "testutil.h"

/* Collected warnings. */
struct notes {
    int n, warn, info;
    char msg[16][SD_ERRBUF_SIZE + 64];
    int level[16];
};

static void collect(void *userdata, int level, const char *msg)
{
    struct notes *w = userdata;
    if (level == SD_LOG_WARN)
        w->warn++;
    else if (level == SD_LOG_INFO)
        w->info++;
    if (w->n < 16) {
        snprintf(w->msg[w->n], sizeof w->msg[0], "%s", msg);
        w->level[w->n] = level;
    }
    w->n++;
}

/* Index of the first note containing s, or -1. */
static int find_note(const struct notes *w, const char *s)
{
    for (int i = 0; i < w->n && i < 16; i++)
        if (strstr(w->msg[i], s) != NULL)
            return i;
    return -1;
}

static int parse_text(sd_tagger_config *c, const char *text, struct notes *w, char *errbuf)
{
    return sd_tagger_config_parse(c, text, strlen(text), "t.yaml", collect, w, errbuf);
}

/* ---------------------------------------------------------------- defaults */

START_TEST(test_defaults)
{
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    ck_assert_uint_eq(c.size, sizeof c);
    ck_assert_uint_eq(c.pktthreads, 2);
    ck_assert_int_eq(c.consterfframing, 18);
    ck_assert_int_eq(c.dohashing, 0);
    ck_assert_uint_eq(c.monitorid, 0);
    ck_assert_uint_eq(c.beaconport, 9000);
    ck_assert_uint_eq(c.mtu, 9000);
    ck_assert_uint_eq(c.ttl, 4);
    ck_assert_str_eq(sd_tagger_config_group(&c), "225.88.0.1");
    ck_assert_ptr_null(c.sourceaddr);
    ck_assert_uint_eq(c.n_inputuri, 0);
    ck_assert_uint_eq(c.n_providers, 0);
    /* An empty file changes nothing. */
    char errbuf[SD_ERRBUF_SIZE];
    struct notes w = {0};
    ck_assert_int_eq(parse_text(&c, "", &w, errbuf), 0);
    ck_assert_int_eq(parse_text(&c, "# only a comment\n", &w, errbuf), 0);
    ck_assert_uint_eq(c.pktthreads, 2);
    ck_assert_int_eq(w.n, 0);
    sd_tagger_config_free(&c);
    sd_tagger_config_free(NULL);
}
END_TEST

/* ---------------------------------------------------------------- real files */

START_TEST(test_chain_yaml)
{
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    char errbuf[SD_ERRBUF_SIZE];
    struct notes w = {0};
    const char *path = sd_test_data("ndag/real/corsarotagger-chain.tagger.yaml");
    int rc = sd_tagger_config_load(&c, path, collect, &w, errbuf);
    ck_assert_msg(rc == 0, "%s", errbuf);
    ck_assert_uint_eq(c.n_inputuri, 1);
    ck_assert_str_eq(c.inputuri[0], "ndag:lo,225.44.0.1,44000");
    ck_assert_str_eq(c.logfilename, "<outdir>/corsarotagger.log");
    ck_assert_str_eq(c.basicfilter, "icmp or tcp or udp");
    ck_assert_str_eq(c.controlsocketname, "ipc://<outdir>/tagger-control");
    ck_assert_int_eq(c.promisc, 0);
    ck_assert_int_eq(c.dohashing, 0);
    ck_assert_uint_eq(c.pktthreads, 1);
    ck_assert_uint_eq(c.monitorid, 99);
    ck_assert_uint_eq(c.beaconport, 44001);
    ck_assert_str_eq(sd_tagger_config_group(&c), "225.44.0.2");
    ck_assert_str_eq(c.sourceaddr, "127.0.0.1");
    ck_assert_uint_eq(c.mtu, 1400);
    ck_assert_uint_eq(c.ttl, 1);
    ck_assert_int_eq(c.consterfframing, 18); /* not in the file */
    ck_assert_uint_eq(c.n_providers, 1);
    ck_assert_int_eq(c.providers[0].kind, SD_TAGGER_PFX2AS);
    ck_assert_str_eq(c.providers[0].prefixfile, "pfx2as/routeviews-rv2-20170329-0200.pfx2as.gz");
    ck_assert_uint_eq(c.providers[0].line, 19);
    /* promisc, dohashing, controlsocketname: accepted, noted, no warning */
    ck_assert_int_eq(w.warn, 0);
    ck_assert_int_eq(w.info, 3);
    int i = find_note(&w, "controlsocketname: not used by stardust");
    ck_assert_int_ge(i, 0);
    ck_assert_int_eq(w.level[i], SD_LOG_INFO);
    ck_assert_msg(strstr(w.msg[i], "corsarotagger-chain.tagger.yaml:10:20: ") != NULL, "%s",
                  w.msg[i]);
    sd_tagger_config_free(&c);
}
END_TEST

START_TEST(test_tags_yaml)
{
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    char errbuf[SD_ERRBUF_SIZE];
    struct notes w = {0};
    int rc = sd_tagger_config_load(&c, sd_test_data("tags/tagger.yaml"), collect, &w, errbuf);
    ck_assert_msg(rc == 0, "%s", errbuf);
    ck_assert_uint_eq(c.n_inputuri, 1);
    ck_assert_str_eq(c.inputuri[0], "pcapfile:<INPUT>");
    ck_assert_int_eq(c.consterfframing, -1);
    ck_assert_uint_eq(c.monitorid, 7);
    ck_assert_uint_eq(c.mtu, 9000);
    ck_assert_ptr_null(c.basicfilter);
    ck_assert_uint_eq(c.n_providers, 3);
    const sd_tagger_provider *m = &c.providers[0], *n = &c.providers[1], *p = &c.providers[2];
    ck_assert_int_eq(m->kind, SD_TAGGER_MAXMIND);
    ck_assert_str_eq(m->blocksfile, "maxmind-csv/GeoLiteCity-Blocks.csv");
    ck_assert_str_eq(m->locationsfile, "maxmind-csv/GeoLiteCity-Location.csv");
    ck_assert_ptr_null(m->directory);
    ck_assert_int_eq(n->kind, SD_TAGGER_NETACQ);
    ck_assert_str_eq(n->blocksfile, "netacq/netacq-4-blocks.csv");
    ck_assert_str_eq(n->locationsfile, "netacq/netacq-4-locations.csv");
    ck_assert_str_eq(n->countryfile, "netacq/netacq-4-countries.csv");
    ck_assert_str_eq(n->regionfile, "netacq/netacq-4-regions.csv");
    ck_assert_str_eq(n->polygonmapfile, "netacq/netacq-4-polygon-map.csv");
    /* the repeated key: both tables, in file order */
    ck_assert_uint_eq(n->n_polygontablefiles, 2);
    ck_assert_str_eq(n->polygontablefile[0], "netacq/synthetic-admin1.polygons.csv");
    ck_assert_str_eq(n->polygontablefile[1], "netacq/synthetic-county.polygons.csv");
    ck_assert_int_eq(p->kind, SD_TAGGER_PFX2AS);
    ck_assert_str_eq(p->prefixfile, "pfx2as/routeviews-rv2-20170329-0200.pfx2as.gz");
    ck_assert_int_eq(w.warn, 0);
    ck_assert_int_ge(find_note(&w, "consterfframing: not used"), 0);
    sd_tagger_config_free(&c);
    /* free restored the defaults */
    ck_assert_uint_eq(c.n_providers, 0);
    ck_assert_uint_eq(c.mtu, 9000);
}
END_TEST

/* ---------------------------------------------------------------- keys */

START_TEST(test_unknown_keys_warned)
{
    static const char text[] =
        "frobnicate: 12\n"
        "inputuri: a.pcap\n"
        "multicast:\n"
        "  groupaddr: 225.1.2.3\n"
        "  wobble: [1, 2]\n"
        "tagproviders:\n"
        "  - pfx2as:\n"
        "      prefixfile: p.gz\n"
        "      zap: {x: 1}\n"
        "pktthreads: 3\n";
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    char errbuf[SD_ERRBUF_SIZE];
    struct notes w = {0};
    ck_assert_int_eq(parse_text(&c, text, &w, errbuf), 0);
    ck_assert_int_eq(w.warn, 3);
    ck_assert_int_eq(w.info, 0);
    ck_assert_str_eq(w.msg[0], "t.yaml:1:1: unknown option 'frobnicate', ignored");
    ck_assert_str_eq(w.msg[1], "t.yaml:5:3: multicast: unknown option 'wobble', ignored");
    ck_assert_str_eq(w.msg[2], "t.yaml:9:7: pfx2as: unknown option 'zap', ignored");
    /* everything around them was read */
    ck_assert_str_eq(c.inputuri[0], "a.pcap");
    ck_assert_str_eq(sd_tagger_config_group(&c), "225.1.2.3");
    ck_assert_uint_eq(c.n_providers, 1);
    ck_assert_str_eq(c.providers[0].prefixfile, "p.gz");
    ck_assert_uint_eq(c.pktthreads, 3);
    /* NULL callback: silent */
    ck_assert_int_eq(sd_tagger_config_parse(&c, text, strlen(text), "t.yaml", NULL, NULL, errbuf),
                     0);
    ck_assert_uint_eq(c.n_providers, 2); /* appended */
    sd_tagger_config_free(&c);
}
END_TEST

START_TEST(test_inputuri_forms)
{
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    char errbuf[SD_ERRBUF_SIZE];
    struct notes w = {0};
    ck_assert_int_eq(parse_text(&c, "inputuri: one\ninputuri: two\n", &w, errbuf), 0);
    ck_assert_int_eq(parse_text(&c, "inputuri: [three, \"ndag:lo,225.0.0.1\"]\n", &w, errbuf), 0);
    ck_assert_int_eq(parse_text(&c, "inputuri:\n  - four\n", &w, errbuf), 0);
    ck_assert_uint_eq(c.n_inputuri, 5);
    ck_assert_str_eq(c.inputuri[0], "one");
    ck_assert_str_eq(c.inputuri[1], "two");
    ck_assert_str_eq(c.inputuri[2], "three");
    ck_assert_str_eq(c.inputuri[3], "ndag:lo,225.0.0.1");
    ck_assert_str_eq(c.inputuri[4], "four");
    /* booleans, nulls */
    ck_assert_int_eq(parse_text(&c, "promisc: yes\ndohashing: True\nbasicfilter: udp\n", &w,
                                errbuf), 0);
    ck_assert_int_eq(c.promisc, 1);
    ck_assert_int_eq(c.dohashing, 1);
    ck_assert_str_eq(c.basicfilter, "udp");
    ck_assert_int_eq(parse_text(&c, "basicfilter:\nsamplerate: 10\n", &w, errbuf), 0);
    ck_assert_ptr_null(c.basicfilter);
    ck_assert_int_eq(c.samplerate, 10);
    sd_tagger_config_free(&c);
}
END_TEST

START_TEST(test_maxmind_netacq_options)
{
    static const char text[] =
        "tagproviders:\n"
        "  - maxmind:\n"
        "      directory: /data/maxmind\n"
        "  - netacq-edge:\n"
        "      directory: /data/netacq\n"
        "  - maxmind:\n"
        "      mmdbfile: City.mmdb\n";
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    char errbuf[SD_ERRBUF_SIZE];
    struct notes w = {0};
    ck_assert_int_eq(parse_text(&c, text, &w, errbuf), 0);
    ck_assert_uint_eq(c.n_providers, 3);
    ck_assert_str_eq(c.providers[0].directory, "/data/maxmind");
    ck_assert_int_eq(c.providers[1].kind, SD_TAGGER_NETACQ);
    ck_assert_str_eq(c.providers[1].directory, "/data/netacq");
    ck_assert_str_eq(c.providers[2].mmdbfile, "City.mmdb");
    ck_assert_uint_eq(c.providers[2].line, 6);
    sd_tagger_config_clear_providers(&c);
    ck_assert_uint_eq(c.n_providers, 0);
    sd_tagger_provider p;
    memset(&p, 0, sizeof p);
    p.kind = SD_TAGGER_PFX2AS;
    char path[] = "x.pfx2as";
    p.prefixfile = path;
    ck_assert_int_eq(sd_tagger_config_add_provider(&c, &p), 0);
    path[0] = 'y'; /* copied */
    ck_assert_str_eq(c.providers[0].prefixfile, "x.pfx2as");
    p.kind = 9;
    ck_assert_int_eq(sd_tagger_config_add_provider(&c, &p), SD_ERR_INVAL);
    ck_assert_int_eq(sd_tagger_config_add_provider(NULL, &p), SD_ERR_INVAL);
    ck_assert_uint_eq(c.n_providers, 1);
    sd_tagger_config_free(&c);
}
END_TEST

/* ---------------------------------------------------------------- errors */

struct bad_case {
    const char *text;
    const char *msg; /* expected errbuf, exactly */
};

static const struct bad_case bad_cases[] = {
    {"pktthreads: many\n", "t.yaml:1:13: pktthreads: expected an integer from 1 to 256, got 'many'"},
    {"pktthreads: 0\n", "t.yaml:1:13: pktthreads: expected an integer from 1 to 256, got '0'"},
    {"multicast:\n  mtu: 20000\n",
     "t.yaml:2:8: multicast: mtu: expected an integer from 536 to 9000, got '20000'"},
    {"multicast: 5\n", "t.yaml:1:12: multicast: expected a mapping (groupaddr: ..., beaconport: ...)"},
    {"promisc: perhaps\n", "t.yaml:1:10: promisc: expected yes or no, got 'perhaps'"},
    {"basicfilter: [a, b]\n", "t.yaml:1:14: basicfilter: expected a single value, not a list"},
    {"tagproviders:\n  - ipinfo:\n      token: x\n",
     "t.yaml:2:5: tagproviders: unknown provider 'ipinfo' (expected pfx2as, maxmind or netacq-edge)"},
    {"tagproviders:\n  - pfx2as:\n      other: x\n", "t.yaml:2:5: pfx2as: prefixfile is required"},
    {"tagproviders:\n  - maxmind:\n      blocksfile: b\n",
     "t.yaml:2:5: maxmind: directory, or blocksfile and locationsfile, are required"},
    {"tagproviders: pfx2as\n", "t.yaml:1:15: tagproviders: expected a list ('- pfx2as: ...')"},
    {"- a\n- b\n", "t.yaml:1:1: expected a mapping of options (inputuri: ..., tagproviders: ...)"},
    /* not YAML at all: libyaml's own reason, with its position */
    {"inputuri: [a, b\npktthreads: 1\n",
     "t.yaml:2:11: invalid YAML: did not find expected ',' or ']' while parsing a flow sequence"},
    {"multicast:\n  ttl: 1\n mtu: 2\n",
     "t.yaml:3:2: invalid YAML: did not find expected key while parsing a block mapping"},
    {"inputuri: \"abc\n", "t.yaml:2:1: invalid YAML: found unexpected end of stream while scanning a "
                          "quoted scalar"},
};

START_TEST(test_bad)
{
    const struct bad_case *b = &bad_cases[_i];
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    char errbuf[SD_ERRBUF_SIZE] = "";
    struct notes w = {0};
    int rc = parse_text(&c, b->text, &w, errbuf);
    ck_assert_int_eq(rc, SD_ERR_FORMAT);
    ck_assert_str_eq(errbuf, b->msg);
    sd_tagger_config_free(&c);
}
END_TEST

START_TEST(test_too_many_polygon_tables)
{
    char text[2048] = "tagproviders:\n  - netacq-edge:\n      blocksfile: b\n      locationsfile: l\n";
    for (int i = 0; i < 9; i++) {
        char line[64];
        snprintf(line, sizeof line, "      polygontablefile: t%d\n", i);
        strcat(text, line);
    }
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    char errbuf[SD_ERRBUF_SIZE];
    struct notes w = {0};
    ck_assert_int_eq(parse_text(&c, text, &w, errbuf), SD_ERR_FORMAT);
    ck_assert_str_eq(errbuf, "t.yaml:13:7: netacq-edge: more than 8 polygon tables");
    sd_tagger_config_free(&c);
}
END_TEST

START_TEST(test_load_errors)
{
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    char errbuf[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_tagger_config_load(&c, "/nonexistent/tagger.yaml", NULL, NULL, errbuf),
                     SD_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "/nonexistent/tagger.yaml: "));
    ck_assert_int_eq(sd_tagger_config_load(NULL, "x", NULL, NULL, errbuf), SD_ERR_INVAL);
    ck_assert_int_eq(sd_tagger_config_load(&c, NULL, NULL, NULL, errbuf), SD_ERR_INVAL);
    /* a binary file is not YAML */
    int rc = sd_tagger_config_load(&c, sd_test_data("tags/filters-input.pcap"), NULL, NULL, errbuf);
    ck_assert_int_eq(rc, SD_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(errbuf, "filters-input.pcap:1:"));
    sd_tagger_config_free(&c);
}
END_TEST

/* Every allocation failure gives SD_ERR_NOMEM and leaks nothing (ASan). */
START_TEST(test_oom)
{
    char *text = NULL;
    size_t len = 0;
    FILE *fp = fopen(sd_test_data("tags/tagger.yaml"), "rb");
    ck_assert_ptr_nonnull(fp);
    text = malloc(65536);
    len = fread(text, 1, 65536, fp);
    fclose(fp);
    int failures = 0;
    for (long k = 0; k < 200; k++) {
        sd_tagger_config c;
        sd_tagger_config_init(&c);
        char errbuf[SD_ERRBUF_SIZE];
        sd__alloc_fail_after = k;
        int rc = sd_tagger_config_parse(&c, text, len, "t.yaml", NULL, NULL, errbuf);
        sd__alloc_fail_after = -1;
        if (rc == 0) {
            ck_assert_uint_eq(c.n_providers, 3);
            sd_tagger_config_free(&c);
            break;
        }
        ck_assert_int_eq(rc, SD_ERR_NOMEM);
        failures++;
        sd_tagger_config_free(&c);
    }
    ck_assert_int_gt(failures, 10);
    free(text);
}
END_TEST

/* ---------------------------------------------------------------- build */

START_TEST(test_build_pfx2as)
{
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    sd_tagger_provider p;
    memset(&p, 0, sizeof p);
    p.kind = SD_TAGGER_PFX2AS;
    p.prefixfile = (char *)sd_test_data("pfx2as/mlab-RouteViewIPv4.tiny.pfx2as.gz");
    ck_assert_int_eq(sd_tagger_config_add_provider(&c, &p), 0);
    p.prefixfile = (char *)sd_test_data("pfx2as/mlab-RouteViewIPv6.tiny.pfx2as.gz");
    ck_assert_int_eq(sd_tagger_config_add_provider(&c, &p), 0);
    char errbuf[SD_ERRBUF_SIZE];
    sd_tagger *t = NULL;
    int rc = sd_tagger_config_build(&c, &t, errbuf);
    ck_assert_msg(rc == 0, "%s", errbuf);
    ck_assert_ptr_nonnull(t);
    /* The tagger answers as the table read directly does. */
    sd_pfx2as *v4 = NULL;
    ck_assert_int_eq(sd_pfx2as_open(&v4, c.providers[0].prefixfile, errbuf), 0);
    static const char *const addrs[] = {"1.0.0.1", "8.8.8.8", "1.1.1.1", "223.255.255.1", "0.0.0.1"};
    int hits = 0;
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        uint8_t a[4];
        ck_assert_int_eq(inet_pton(AF_INET, addrs[i], a), 1);
        const uint32_t *want = NULL;
        size_t nw = sd_pfx2as_lookup4(v4, ntohl(*(uint32_t *)(void *)a), &want);
        sd_tag_lookup r;
        ck_assert_int_eq(sd_tagger_lookup(t, 4, a, &r), 0);
        ck_assert_uint_eq(r.n_asns, nw);
        for (size_t j = 0; j < nw; j++)
            ck_assert_uint_eq(r.asns[j], want[j]);
        ck_assert_int_eq(!!(r.providers & SD_TAG_PFX2AS), nw > 0);
        hits += nw > 0;
    }
    ck_assert_int_gt(hits, 0);
    sd_pfx2as_close(v4);
    sd_tagger_destroy(t);
    sd_tagger_config_free(&c);
}
END_TEST

START_TEST(test_build_corrupt)
{
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    sd_tagger_provider p;
    memset(&p, 0, sizeof p);
    p.kind = SD_TAGGER_PFX2AS;
    p.prefixfile = (char *)sd_test_data("pfx2as/mlab-RouteViewIPv4.corrupt.pfx2as");
    ck_assert_int_eq(sd_tagger_config_add_provider(&c, &p), 0);
    char errbuf[SD_ERRBUF_SIZE] = "";
    sd_tagger *t = (sd_tagger *)&c; /* must be reset to NULL */
    int rc = sd_tagger_config_build(&c, &t, errbuf);
    ck_assert_int_eq(rc, SD_ERR_FORMAT);
    ck_assert_ptr_null(t);
    ck_assert_msg(strstr(errbuf, "mlab-RouteViewIPv4.corrupt.pfx2as:") != NULL, "%s", errbuf);
    /* a missing file */
    sd_tagger_config_clear_providers(&c);
    p.prefixfile = (char *)"/nonexistent.pfx2as";
    ck_assert_int_eq(sd_tagger_config_add_provider(&c, &p), 0);
    ck_assert_int_eq(sd_tagger_config_build(&c, &t, errbuf), SD_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "/nonexistent.pfx2as"));
    ck_assert_int_eq(sd_tagger_config_build(&c, NULL, errbuf), SD_ERR_INVAL);
    sd_tagger_config_free(&c);
}
END_TEST

/* tags/tagger.yaml as is, paths relative to the data folder (the current
 * directory, as for corsarotagger). */
START_TEST(test_build_tags_yaml)
{
    const char *yaml = sd_test_data("tags/tagger.yaml");
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", getenv("SD_DATA"));
    ck_assert_int_eq(chdir(dir), 0);
    sd_tagger_config c;
    sd_tagger_config_init(&c);
    char errbuf[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_tagger_config_load(&c, yaml, NULL, NULL, errbuf), 0);
    sd_tagger *t = NULL;
    int rc = sd_tagger_config_build(&c, &t, errbuf);
    ck_assert_msg(rc == 0, "%s", errbuf);
    /* 192.0.2.1: tags.md §5.3 worked example (Net Acuity US/NA, region 5001,
     * polygons (0,1001) (1,2001)) */
    uint8_t a[4] = {192, 0, 2, 1};
    sd_tag_lookup r;
    ck_assert_int_eq(sd_tagger_lookup(t, 4, a, &r), 0);
    ck_assert_ptr_nonnull(r.netacq);
    ck_assert_int_eq(memcmp(r.netacq->country, "US", 2), 0);
    ck_assert_int_eq(memcmp(r.netacq->continent, "NA", 2), 0);
    ck_assert_uint_eq(r.netacq->region_code, 5001);
    ck_assert_uint_eq(r.netacq->n_polygons, 2);
    ck_assert_uint_eq(r.netacq->polygon[0], 0x000003E9u);
    ck_assert_uint_eq(r.netacq->polygon[1], 0x010007D1u);
    ck_assert_ptr_nonnull(r.maxmind);
    ck_assert_int_eq(memcmp(r.maxmind->country, "US", 2), 0);
    ck_assert_int_eq(memcmp(r.maxmind->continent, "NA", 2), 0);
    ck_assert_uint_eq(r.providers & (SD_TAG_MAXMIND | SD_TAG_NETACQ),
                      SD_TAG_MAXMIND | SD_TAG_NETACQ);
    sd_tagger_destroy(t);
    sd_tagger_config_free(&c);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("tagger_config");
    TCase *tc = tcase_create("parse");
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_chain_yaml);
    tcase_add_test(tc, test_tags_yaml);
    tcase_add_test(tc, test_unknown_keys_warned);
    tcase_add_test(tc, test_inputuri_forms);
    tcase_add_test(tc, test_maxmind_netacq_options);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_loop_test(tc, test_bad, 0, (int)(sizeof bad_cases / sizeof bad_cases[0]));
    tcase_add_test(tc, test_too_many_polygon_tables);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_oom);
    suite_add_tcase(s, tc);
    tc = tcase_create("build");
    tcase_add_test(tc, test_build_pfx2as);
    tcase_add_test(tc, test_build_corrupt);
    tcase_add_test(tc, test_build_tags_yaml);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return sd_test_run(suite()); }
