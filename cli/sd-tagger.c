/* sd-tagger: tag packets with filter bits, origin AS and geolocation and
 * multicast them as a CORSAROTAG nDAG stream: the replacement of CAIDA's
 * corsarotagger (tags.md §3), reading its YAML configuration unchanged.
 *
 * One thread reads a source, tags each batch with sd_tag() into a fixed
 * array (no per-packet allocation) and hands the batch to the nDAG sender
 * in tagged mode, which spreads flows over --threads streams. SIGHUP
 * reloads the provider files on a helper thread into a new tagger; the
 * main thread switches to it between batches, so tagging never waits for
 * a reload and a bad file leaves the old tables in use.
 *
 * `sd-tagger --lookup ADDR...` answers what the providers know about
 * addresses, one JSON line each (like mmdblookup for one database). */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stardust/stardust.h>
#include <stardust/geo.h>
#include <stardust/tag.h>
#include <stardust/tagger_config.h>

#include "common.h"

#define BATCH 256

static void help(void)
{
    printf("Usage: sd-tagger [-c FILE] [options] [URI...]\n"
           "       sd-tagger [-c FILE] [provider options] --lookup [ADDR...]\n"
           "Tag packets from URI (normally ndag:IFACE,GROUP,PORT) with filter bits, origin AS\n"
           "and geolocation, and multicast them as a tagged (CORSAROTAG) nDAG stream.\n"
           "Options given here override the configuration file.\n"
           "\n"
           "Configuration and providers:\n"
           "  -c, --config FILE       corsarotagger YAML configuration (sd-tagger.conf(5))\n"
           SD_CLI_PROVIDER_HELP
           "                          (any provider option replaces the file's tagproviders)\n"
           "      --lookup            print what the providers know about each ADDR (or each\n"
           "                          line of standard input) as JSON, then exit\n"
           "\n"
           "Output stream:\n"
           "  -g, --group ADDR        multicast group (default 225.88.0.1)\n"
           "  -p, --beacon-port PORT  beacon port (default 9000)\n"
           "      --first-port PORT   port of stream 0 (default beacon port + 1)\n"
           "      --monitor-id ID     monitor ID 0..65535 (default 0)\n"
           "      --mtu N             UDP payload limit 536..9000 (default 9000)\n"
           "      --ttl N             multicast TTL (default 4)\n"
           "  -s, --source-addr ADDR  local address to send from\n"
           "  -i, --interface NAME    egress interface\n"
           "  -n, --threads N         output streams (pktthreads, default 2)\n"
           "      --join-delay MS     wait after the first beacon before sending (default 500)\n"
           "\n"
           "Input and selection:\n"
           "  -f, --filter BPF        tag and send only packets matching BPF (basicfilter)\n"
           "      --drop LIST         do not send packets matching any of these filters\n"
           "                          (e.g. spoofed,erratic; see stardust-tags(5))\n"
           "      --count N           stop after N input packets\n"
           "\n"
           "Reporting:\n"
           "      --stats[=SECONDS]   print counters to standard error at the end (and every\n"
           "                          SECONDS)\n"
           "  -o, --output FORMAT     stats format: text (default) or json\n"
           "      --log-file FILE     write diagnostics to FILE (logfilename)\n"
           "  -q, --quiet             no notes or summary, only warnings and errors\n"
           "  -h, --help              this help\n"
           "  -V, --version           version\n"
           "\n"
           "Signals: SIGHUP reloads the provider files (a bad file keeps the old tables);\n"
           "SIGINT/SIGTERM flush, print the final stats and exit 0.\n"
           "Exit status: 0 success, 1 runtime error, 2 usage error. See sd-tagger(1).\n");
}

/* ---------------------------------------------------------------- logging */

static FILE *log_fp;   /* NULL: standard error */
static int quiet;

static void logmsg(int level, const char *fmt, ...) SD_CLI_PRINTF(2, 3);
static void logmsg(int level, const char *fmt, ...)
{
    if (quiet && level >= SD_LOG_INFO)
        return;
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    const char *tag = level == SD_LOG_ERROR ? "error: " : level == SD_LOG_WARN ? "warning: " : "";
    if (log_fp != NULL) {
        char when[32];
        time_t now = time(NULL);
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", &tm);
        fprintf(log_fp, "%s %s%s\n", when, tag, msg);
        fflush(log_fp);
        if (level > SD_LOG_WARN)
            return;
    }
    fprintf(stderr, "%s: %s%s\n", sd_cli_prog(), tag, msg);
}

static void lib_log(void *userdata, int level, const char *msg)
{
    (void)userdata;
    logmsg(level, "%s", msg);
}

/* ---------------------------------------------------------------- signals */

static volatile sig_atomic_t reload_requested;

static void on_hup(int sig)
{
    (void)sig;
    reload_requested = 1;
}

/* ---------------------------------------------------------------- reload */

/* A reload runs on its own thread: the provider files can take seconds to
 * load, and tagging goes on meanwhile with the old tagger. */
struct reloader {
    const sd_tagger_config *cfg;
    pthread_t thread;
    int running;
    atomic_int done;
    sd_tagger *result;
    int rc;
    char errbuf[SD_ERRBUF_SIZE];
};

static void *reload_main(void *arg)
{
    struct reloader *r = arg;
    r->rc = sd_tagger_config_build(r->cfg, &r->result, r->errbuf);
    atomic_store_explicit(&r->done, 1, memory_order_release);
    return NULL;
}

static void reload_start(struct reloader *r)
{
    if (r->running)
        return; /* the running reload reads the files anew anyway */
    r->result = NULL;
    r->rc = 0;
    r->errbuf[0] = '\0';
    atomic_store(&r->done, 0);
    if (pthread_create(&r->thread, NULL, reload_main, r) != 0) {
        logmsg(SD_LOG_ERROR, "reload: cannot start a thread: %s; keeping the current tables",
               strerror(errno));
        return;
    }
    r->running = 1;
    logmsg(SD_LOG_INFO, "SIGHUP: reloading the provider files");
}

/* If the reload finished: switch *cur to the new tagger (freeing the old
 * one: only this thread tags) or keep *cur and log why. */
static void reload_poll(struct reloader *r, sd_tagger **cur, uint64_t *reloads, uint64_t *failures,
                        int wait)
{
    if (!r->running)
        return;
    if (!wait && !atomic_load_explicit(&r->done, memory_order_acquire))
        return;
    pthread_join(r->thread, NULL);
    r->running = 0;
    if (r->rc == 0) {
        sd_tagger *old = *cur;
        *cur = r->result;
        sd_tagger_destroy(old);
        (*reloads)++;
        logmsg(SD_LOG_INFO, "reloaded the provider files (%zu bytes of tables)",
               sd_tagger_memory(*cur));
    } else {
        (*failures)++;
        logmsg(SD_LOG_ERROR, "reload failed, keeping the previous tables: %s (%s)", r->errbuf,
               sd_errname(r->rc));
    }
}

/* ---------------------------------------------------------------- stats */

struct counters {
    uint64_t in;          /* packets read from the sources */
    uint64_t out;         /* packets handed to the sender */
    uint64_t dropped;     /* not sent because of --drop */
    uint64_t provider[4]; /* basic, maxmind, netacq, pfx2as: packets with the bit set */
    uint64_t filter[SD_FILTER_COUNT];
    uint64_t reloads, reload_failures;
    /* of the sources closed so far */
    uint64_t src_filtered, src_dropped, src_malformed;
    int64_t ndag_missing;
    uint64_t ndag_dropped;
};

static void count_batch(struct counters *k, const sd_tags *tags, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint32_t pu = tags[i].providers_used;
        k->provider[0] += pu & 1u;
        k->provider[1] += (pu >> 1) & 1u;
        k->provider[2] += (pu >> 2) & 1u;
        k->provider[3] += (pu >> 3) & 1u;
        uint64_t fb = tags[i].filterbits & SD_FB_ALL;
        while (fb != 0) {
            k->filter[__builtin_ctzll(fb)]++;
            fb &= fb - 1;
        }
    }
}

struct run {
    struct counters k;
    sd_source *src;       /* the current source, or NULL */
    sd_ndag_sender *snd;
    int json;
    uint64_t t0;
};

static uint64_t mono_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Input counters: those of the sources already closed plus the current
 * one's. */
static void input_counters(const struct run *r, uint64_t *filtered, uint64_t *dropped,
                           uint64_t *malformed, int64_t *missing, uint64_t *ndag_dropped)
{
    *filtered = r->k.src_filtered;
    *dropped = r->k.src_dropped;
    *malformed = r->k.src_malformed;
    *missing = r->k.ndag_missing;
    *ndag_dropped = r->k.ndag_dropped;
    if (r->src == NULL)
        return;
    sd_source_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    if (sd_source_get_stats(r->src, &st) == 0) {
        *filtered += st.filtered;
        *dropped += st.dropped;
        *malformed += st.malformed;
    }
    sd_ndag_recv *nr = sd_source_ndag(r->src);
    if (nr != NULL) {
        sd_ndag_recv_stats ns;
        memset(&ns, 0, sizeof ns);
        ns.size = sizeof ns;
        if (sd_ndag_recv_stats_get(nr, &ns) == 0) {
            *missing += ns.missing;
            *ndag_dropped += ns.dropped;
        }
    }
}

static const char *const provider_names[4] = {"basic", "maxmind", "netacq-edge", "pfx2as"};

static double pct(uint64_t a, uint64_t b) { return b ? 100.0 * (double)a / (double)b : 0.0; }

static void print_stats(struct run *r, int final)
{
    uint64_t filtered, dropped, malformed, ndag_dropped;
    int64_t missing;
    input_counters(r, &filtered, &dropped, &malformed, &missing, &ndag_dropped);
    sd_ndag_send_stats ss;
    memset(&ss, 0, sizeof ss);
    ss.size = sizeof ss;
    if (r->snd != NULL)
        (void)sd_ndag_send_get_stats(r->snd, -1, &ss);
    const struct counters *k = &r->k;
    double secs = (double)(mono_ns() - r->t0) / 1e9;
    sd_cli_out o;
    if (sd_cli_out_init(&o, stderr, 8192) != 0)
        return;
    if (r->json) {
        sd_cli_json_begin(&o);
        sd_cli_json_str(&o, "stats", final ? "final" : "interval");
        sd_cli_json_double(&o, "elapsed", secs);
        sd_cli_json_u64(&o, "packets_in", k->in);
        sd_cli_json_u64(&o, "packets_out", k->out);
        sd_cli_json_u64(&o, "dropped", k->dropped);
        sd_cli_json_u64(&o, "notip", k->filter[SD_FILTER_NOTIP]);
        sd_cli_json_obj(&o, "input");
        sd_cli_json_u64(&o, "filtered", filtered);
        sd_cli_json_u64(&o, "dropped", dropped);
        sd_cli_json_u64(&o, "malformed", malformed);
        sd_cli_json_i64(&o, "ndag_missing", missing);
        sd_cli_json_u64(&o, "ndag_dropped", ndag_dropped);
        sd_cli_json_obj_end(&o);
        sd_cli_json_obj(&o, "providers");
        for (int i = 0; i < 4; i++)
            sd_cli_json_u64(&o, provider_names[i], k->provider[i]);
        sd_cli_json_obj_end(&o);
        sd_cli_json_obj(&o, "filters");
        for (int i = 0; i < SD_FILTER_COUNT; i++)
            sd_cli_json_u64(&o, sd_filter_name(i), k->filter[i]);
        sd_cli_json_obj_end(&o);
        sd_cli_json_obj(&o, "output");
        sd_cli_json_u64(&o, "records", ss.records);
        sd_cli_json_u64(&o, "datagrams", ss.datagrams);
        sd_cli_json_u64(&o, "bytes", ss.bytes);
        sd_cli_json_u64(&o, "truncated", ss.truncated);
        sd_cli_json_u64(&o, "skipped", ss.skipped);
        sd_cli_json_u64(&o, "lost", ss.lost);
        sd_cli_json_u64(&o, "beacons", ss.beacons);
        sd_cli_json_obj_end(&o);
        sd_cli_json_u64(&o, "reloads", k->reloads);
        sd_cli_json_u64(&o, "reload_failures", k->reload_failures);
        sd_cli_json_end(&o);
    } else {
        const char *prog = sd_cli_prog();
        sd_cli_out_printf(&o,
                          "%s: stats%s: %.1f s: in %llu out %llu dropped %llu notip %llu | input "
                          "filtered %llu dropped %llu malformed %llu ndag_missing %lld | sent "
                          "records %llu datagrams %llu truncated %llu skipped %llu lost %llu\n",
                          prog, final ? " (final)" : "", secs, (unsigned long long)k->in,
                          (unsigned long long)k->out, (unsigned long long)k->dropped,
                          (unsigned long long)k->filter[SD_FILTER_NOTIP], (unsigned long long)filtered,
                          (unsigned long long)(dropped + ndag_dropped), (unsigned long long)malformed,
                          (long long)missing, (unsigned long long)ss.records,
                          (unsigned long long)ss.datagrams, (unsigned long long)ss.truncated,
                          (unsigned long long)ss.skipped, (unsigned long long)ss.lost);
        sd_cli_out_printf(&o, "%s: providers:", prog);
        for (int i = 0; i < 4; i++)
            sd_cli_out_printf(&o, " %s %llu (%.1f%%)", provider_names[i],
                              (unsigned long long)k->provider[i], pct(k->provider[i], k->in));
        sd_cli_out_printf(&o, " | reloads %llu failed %llu\n", (unsigned long long)k->reloads,
                          (unsigned long long)k->reload_failures);
        sd_cli_out_printf(&o, "%s: filters:", prog);
        int any = 0;
        for (int i = 0; i < SD_FILTER_COUNT; i++) {
            if (k->filter[i] == 0)
                continue;
            sd_cli_out_printf(&o, " %s %llu", sd_filter_name(i), (unsigned long long)k->filter[i]);
            any = 1;
        }
        sd_cli_out_str(&o, any ? "\n" : " none\n");
    }
    sd_cli_out_close(&o);
}

/* statfilename (tags.md §3.6): on each minute boundary, overwrite
 * "<statfilename>-t00" with the last minute's counts, as corsarotagger's
 * capture thread 0 does (one reading thread here). */
struct statfile {
    const char *base;
    int64_t minute;       /* start of the minute being counted, or -1 */
    uint64_t in0, drop0;
};

static void statfile_tick(struct statfile *sf, const struct run *r)
{
    if (sf->base == NULL)
        return;
    int64_t minute = (int64_t)time(NULL) / 60 * 60;
    if (sf->minute < 0) {
        sf->minute = minute;
        return;
    }
    if (minute == sf->minute)
        return;
    uint64_t filtered, dropped, malformed, ndag_dropped;
    int64_t missing;
    input_counters(r, &filtered, &dropped, &malformed, &missing, &ndag_dropped);
    uint64_t drops = dropped + ndag_dropped + (missing > 0 ? (uint64_t)missing : 0);
    char path[4096];
    snprintf(path, sizeof path, "%s-t00", sf->base);
    FILE *fp = fopen(path, "w");
    if (fp == NULL) {
        logmsg(SD_LOG_WARN, "%s: %s; stats file disabled", path, strerror(errno));
        sf->base = NULL;
        return;
    }
    fprintf(fp, "time=%lld accepted=%llu dropped=%llu\n", (long long)sf->minute,
            (unsigned long long)(r->k.in - sf->in0), (unsigned long long)(drops - sf->drop0));
    fclose(fp);
    sf->minute = minute;
    sf->in0 = r->k.in;
    sf->drop0 = drops;
}

/* ---------------------------------------------------------------- lookup */

static void json_null(sd_cli_out *o, const char *key)
{
    sd_cli_json_key(o, key);
    sd_cli_out_str(o, "null");
}

static void json_code(sd_cli_out *o, const char *key, const char c[2])
{
    if (c[0] == '\0' && c[1] == '\0')
        json_null(o, key);
    else
        sd_cli_json_strn(o, key, c, 2);
}

/* Top-level codes: "??" (the data says unknown) is null too. */
static void json_code_known(sd_cli_out *o, const char *key, const char *c)
{
    if (c == NULL || (c[0] == '\0' && c[1] == '\0') || (c[0] == '?' && c[1] == '?'))
        json_null(o, key);
    else
        sd_cli_json_strn(o, key, c, 2);
}

static void json_geo(sd_cli_out *o, const char *key, const sd_geo_record *g, int netacq)
{
    sd_cli_json_obj(o, key);
    json_code(o, "country", g->country);
    json_code(o, "continent", g->continent);
    if (g->region[0] != '\0')
        sd_cli_json_str(o, "region", g->region);
    if (netacq || g->region_code != 0)
        sd_cli_json_u64(o, "region_code", g->region_code);
    if (g->city[0] != '\0')
        sd_cli_json_str(o, "city", g->city);
    if (g->latitude == g->latitude) { /* not NAN */
        sd_cli_json_key(o, "latitude");
        sd_cli_out_printf(o, "%.10g", g->latitude);
    }
    if (g->longitude == g->longitude) {
        sd_cli_json_key(o, "longitude");
        sd_cli_out_printf(o, "%.10g", g->longitude);
    }
    if (g->asn != 0)
        sd_cli_json_u64(o, "autonomous_system_number", g->asn);
    if (netacq) {
        sd_cli_json_arr(o, "polygons");
        for (unsigned i = 0; i < g->n_polygons && i < SD_GEO_MAX_POLYGON_TABLES; i++) {
            char w[16];
            snprintf(w, sizeof w, "%08x", g->polygon[i]);
            sd_cli_json_str(o, NULL, w);
        }
        sd_cli_json_arr_end(o);
    }
    sd_cli_json_obj_end(o);
}

/* One address; returns 0, or -1 when text is not an address. */
static int lookup_one(const sd_tagger *t, sd_cli_out *o, const char *text)
{
    uint8_t a[16];
    int family;
    if (inet_pton(AF_INET, text, a) == 1)
        family = 4;
    else if (inet_pton(AF_INET6, text, a) == 1)
        family = 6;
    else {
        sd_cli_out_flush(o);
        sd_cli_error("'%s' is not an IPv4 or IPv6 address", text);
        return -1;
    }
    sd_tag_lookup r;
    memset(&r, 0, sizeof r);
    if (sd_tagger_lookup(t, family, a, &r) != 0) {
        sd_cli_out_flush(o);
        sd_cli_error("%s: lookup failed: %s", text, sd_errmsg(t));
        return -1;
    }
    /* Canonical spelling, as mmdblookup shows the address it looked up. */
    char canon[INET6_ADDRSTRLEN];
    inet_ntop(family == 4 ? AF_INET : AF_INET6, a, canon, sizeof canon);
    const sd_geo_record *g = r.maxmind != NULL ? r.maxmind : r.netacq;
    sd_cli_json_begin(o);
    sd_cli_json_str(o, "addr", canon);
    sd_cli_json_arr(o, "asn");
    for (size_t i = 0; i < r.n_asns; i++)
        sd_cli_json_u64(o, NULL, r.asns[i]);
    sd_cli_json_arr_end(o);
    /* The tag's prefixasn: set only for exactly one origin (tags.md §5.1). */
    sd_cli_json_u64(o, "prefixasn", r.n_asns == 1 ? r.asns[0] : 0);
    json_code_known(o, "country", g ? g->country : NULL);
    json_code_known(o, "continent", g ? g->continent : NULL);
    if (g != NULL && g->region[0] != '\0')
        sd_cli_json_str(o, "region", g->region);
    else
        json_null(o, "region");
    if (g != NULL && g->city[0] != '\0')
        sd_cli_json_str(o, "city", g->city);
    sd_cli_json_arr(o, "providers");
    if (r.providers & SD_TAG_MAXMIND)
        sd_cli_json_str(o, NULL, "maxmind");
    if (r.providers & SD_TAG_NETACQ)
        sd_cli_json_str(o, NULL, "netacq-edge");
    if (r.providers & SD_TAG_PFX2AS)
        sd_cli_json_str(o, NULL, "pfx2as");
    sd_cli_json_arr_end(o);
    if (r.maxmind != NULL)
        json_geo(o, "maxmind", r.maxmind, 0);
    if (r.netacq != NULL)
        json_geo(o, "netacq", r.netacq, 1);
    sd_cli_json_end(o);
    return 0;
}

static int run_lookup(const sd_tagger *t, char **addrs, int n)
{
    sd_cli_out o;
    if (sd_cli_out_init(&o, stdout, 0) != 0) {
        sd_cli_error("out of memory");
        return SD_CLI_EXIT_RUNTIME;
    }
    int status = SD_CLI_EXIT_OK;
    if (n > 0) {
        for (int i = 0; i < n; i++)
            if (lookup_one(t, &o, addrs[i]) != 0)
                status = SD_CLI_EXIT_RUNTIME;
    } else {
        char line[512];
        unsigned long lineno = 0;
        while (fgets(line, sizeof line, stdin) != NULL) {
            lineno++;
            char *s = line;
            while (*s == ' ' || *s == '\t')
                s++;
            size_t len = strlen(s);
            while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == '\r' || s[len - 1] == ' ' ||
                               s[len - 1] == '\t'))
                s[--len] = '\0';
            if (len == 0 || s[0] == '#')
                continue;
            if (lookup_one(t, &o, s) != 0)
                status = SD_CLI_EXIT_RUNTIME;
            /* one line per answer as soon as it is known, for pipes */
            if (o.len > 0)
                sd_cli_out_flush(&o);
        }
    }
    if (sd_cli_out_close(&o) != 0) {
        sd_cli_error("standard output: %s", strerror(o.err));
        status = SD_CLI_EXIT_RUNTIME;
    }
    return status;
}

/* ---------------------------------------------------------------- main */

enum {
    OPT_LOOKUP = 256, OPT_MONITOR, OPT_MTU,
    OPT_TTL, OPT_FIRST_PORT, OPT_JOIN_DELAY, OPT_DROP, OPT_COUNT, OPT_STATS, OPT_LOG_FILE
};

static void config_warn(void *userdata, int level, const char *msg)
{
    (void)userdata;
    logmsg(level, "%s", msg);
}

/* Run one source to its end (or a stop). Returns 0, or 1 on a failure. */
static int run_source(struct run *r, const char *uri, const char *bpf, sd_tagger **cur,
                      struct reloader *rl, uint64_t drop_mask, uint64_t count, uint64_t stats_every,
                      uint64_t *next_stats, struct statfile *sf)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_source *src = NULL;
    int rc = sd_source_open(&src, uri, errbuf);
    if (rc != 0) {
        logmsg(SD_LOG_ERROR, "%s (%s)", errbuf, sd_errname(rc));
        return 1;
    }
    sd_source_set_log(src, lib_log, NULL);
    if (bpf != NULL && bpf[0] != '\0' && (rc = sd_source_set_filter(src, bpf)) != 0) {
        logmsg(SD_LOG_ERROR, "%s (%s)", sd_errmsg(src), sd_errname(rc));
        sd_source_close(src);
        return 1;
    }
    logmsg(SD_LOG_INFO, "reading %s", uri);
    r->src = src;
    static sd_packet copy[BATCH];
    static const sd_packet *view[BATCH];
    static sd_tags tags[BATCH];
    const sd_packet *pkts[BATCH];
    int status = 0;
    while (!sd_cli_stop && (count == 0 || r->k.in < count)) {
        if (reload_requested) {
            reload_requested = 0;
            reload_start(rl);
        }
        reload_poll(rl, cur, &r->k.reloads, &r->k.reload_failures, 0);
        if (*next_stats != 0 && mono_ns() >= *next_stats) {
            *next_stats = mono_ns() + stats_every * 1000000000u;
            print_stats(r, 0);
        }
        statfile_tick(sf, r);
        size_t want = BATCH;
        if (count != 0 && count - r->k.in < want)
            want = (size_t)(count - r->k.in);
        int n = sd_source_read(src, pkts, want);
        if (n == 0)
            continue;
        if (n == SD_EOF)
            break;
        if (n < 0) {
            logmsg(SD_LOG_ERROR, "%s (%s)", sd_errmsg(src), sd_errname(n));
            status = 1;
            break;
        }
        /* The source's descriptors are read-only: tag copies of them. */
        for (int i = 0; i < n; i++) {
            copy[i] = *pkts[i];
            view[i] = &copy[i];
        }
        rc = sd_tag(*cur, view, NULL, tags, (size_t)n);
        if (rc < 0) {
            logmsg(SD_LOG_ERROR, "tagging failed: %s (%s)", sd_errmsg(*cur), sd_errname(rc));
            status = 1;
            break;
        }
        count_batch(&r->k, tags, (size_t)n);
        size_t keep = 0;
        for (int i = 0; i < n; i++) {
            if (tags[i].filterbits & drop_mask) {
                r->k.dropped++;
                continue;
            }
            copy[i].tags = &tags[i];
            view[keep++] = &copy[i];
        }
        r->k.in += (uint64_t)n;
        if (keep > 0) {
            rc = sd_ndag_send(r->snd, view, keep);
            if (rc < 0) {
                logmsg(SD_LOG_ERROR, "%s (%s)", sd_errmsg(r->snd), sd_errname(rc));
                status = 1;
            }
            r->k.out += keep;
        }
    }
    /* Keep the closed source's counters for the totals. */
    uint64_t filtered, dropped, malformed, ndag_dropped;
    int64_t missing;
    input_counters(r, &filtered, &dropped, &malformed, &missing, &ndag_dropped);
    r->k.src_filtered = filtered;
    r->k.src_dropped = dropped;
    r->k.src_malformed = malformed;
    r->k.ndag_missing = missing;
    r->k.ndag_dropped = ndag_dropped;
    r->src = NULL;
    sd_source_close(src);
    return status;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        SD_CLI_PROVIDER_LONGOPTS,
        {"lookup", no_argument, NULL, OPT_LOOKUP},
        {"group", required_argument, NULL, 'g'},
        {"beacon-port", required_argument, NULL, 'p'},
        {"first-port", required_argument, NULL, OPT_FIRST_PORT},
        {"monitor-id", required_argument, NULL, OPT_MONITOR},
        {"mtu", required_argument, NULL, OPT_MTU},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"source-addr", required_argument, NULL, 's'},
        {"interface", required_argument, NULL, 'i'},
        {"threads", required_argument, NULL, 'n'},
        {"join-delay", required_argument, NULL, OPT_JOIN_DELAY},
        {"filter", required_argument, NULL, 'f'},
        {"drop", required_argument, NULL, OPT_DROP},
        {"count", required_argument, NULL, OPT_COUNT},
        {"stats", optional_argument, NULL, OPT_STATS},
        {"output", required_argument, NULL, 'o'},
        {"log-file", required_argument, NULL, OPT_LOG_FILE},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    sd_cli_init("sd-tagger", "[-c FILE] [options] [URI...]");

    /* Command-line values; unset ones fall back to the file, then to
     * corsarotagger's defaults. */
    const char *config_path = NULL, *group = NULL, *source_addr = NULL, *iface = NULL;
    const char *bpf = NULL, *log_file = NULL;
    int have_beacon = 0, have_monitor = 0, have_mtu = 0, have_ttl = 0, have_threads = 0;
    unsigned beacon_port = 0, monitor = 0, mtu = 0, ttl = 0, threads = 0, first_port = 0;
    unsigned join_delay = 500;
    int lookup = 0, want_stats = 0, json = 0;
    uint64_t count = 0, stats_every = 0, drop_mask = 0;
    static sd_cli_providers cli_prov;
    char errbuf[SD_ERRBUF_SIZE];

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:g:p:s:i:n:f:o:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            config_path = optarg;
            break;
        case OPT_LOOKUP:
            lookup = 1;
            break;
        case 'g':
            group = optarg;
            break;
        case 'p':
            if (sd_cli_parse_uint(optarg, "beacon port", 1, 65535, &beacon_port) != 0)
                return sd_cli_usage_hint();
            have_beacon = 1;
            break;
        case OPT_FIRST_PORT:
            if (sd_cli_parse_uint(optarg, "first port", 1, 65535, &first_port) != 0)
                return sd_cli_usage_hint();
            break;
        case OPT_MONITOR:
            if (sd_cli_parse_uint(optarg, "monitor ID", 0, 65535, &monitor) != 0)
                return sd_cli_usage_hint();
            have_monitor = 1;
            break;
        case OPT_MTU:
            if (sd_cli_parse_uint(optarg, "MTU", 536, 9000, &mtu) != 0)
                return sd_cli_usage_hint();
            have_mtu = 1;
            break;
        case OPT_TTL:
            if (sd_cli_parse_uint(optarg, "TTL", 0, 255, &ttl) != 0)
                return sd_cli_usage_hint();
            have_ttl = 1;
            break;
        case 's':
            source_addr = optarg;
            break;
        case 'i':
            iface = optarg;
            break;
        case 'n':
            if (sd_cli_parse_uint(optarg, "thread count", 1, 256, &threads) != 0)
                return sd_cli_usage_hint();
            have_threads = 1;
            break;
        case OPT_JOIN_DELAY:
            if (sd_cli_parse_uint(optarg, "join delay", 0, 10000, &join_delay) != 0)
                return sd_cli_usage_hint();
            break;
        case 'f':
            bpf = optarg;
            break;
        case OPT_DROP: {
            uint64_t m;
            if (sd_filter_parse_list(optarg, &m, errbuf) != 0)
                return sd_cli_usage("invalid --drop list: %s", errbuf);
            drop_mask |= m;
            break;
        }
        case OPT_COUNT:
            if (sd_cli_parse_u64(optarg, "count", 1, UINT64_MAX, &count) != 0)
                return sd_cli_usage_hint();
            break;
        case OPT_STATS:
            want_stats = 1;
            if (optarg != NULL &&
                sd_cli_parse_u64(optarg, "stats interval", 1, 86400, &stats_every) != 0)
                return sd_cli_usage_hint();
            break;
        case 'o':
            if (strcmp(optarg, "json") == 0)
                json = 1;
            else if (strcmp(optarg, "text") == 0)
                json = 0;
            else
                return sd_cli_usage("invalid output format '%s': expected text or json", optarg);
            break;
        case OPT_LOG_FILE:
            log_file = optarg;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'h':
            help();
            return SD_CLI_EXIT_OK;
        case 'V':
            sd_cli_version();
            return SD_CLI_EXIT_OK;
        default: {
            int pr = sd_cli_providers_opt(&cli_prov, c, optarg);
            if (pr < 0)
                return SD_CLI_EXIT_USAGE;
            if (pr == 0)
                return sd_cli_usage_getopt(c, argv);
            break;
        }
        }
    }

    sd_tagger_config cfg;
    sd_tagger_config_init(&cfg);
    int rc;
    if (config_path != NULL &&
        (rc = sd_tagger_config_load(&cfg, config_path, config_warn, NULL, errbuf)) != 0) {
        sd_cli_liberror(rc, errbuf);
        sd_tagger_config_free(&cfg);
        return SD_CLI_EXIT_RUNTIME;
    }
    if ((rc = sd_cli_providers_apply(&cli_prov, &cfg)) != 0) {
        sd_cli_liberror(rc, NULL);
        sd_tagger_config_free(&cfg);
        return SD_CLI_EXIT_RUNTIME;
    }

    if (lookup) {
        sd_tagger *t = NULL;
        if ((rc = sd_tagger_config_build(&cfg, &t, errbuf)) != 0) {
            sd_cli_liberror(rc, errbuf);
            sd_tagger_config_free(&cfg);
            return SD_CLI_EXIT_RUNTIME;
        }
        int status = run_lookup(t, argv + optind, argc - optind);
        sd_tagger_destroy(t);
        sd_tagger_config_free(&cfg);
        return status;
    }

    /* Inputs: the command line's, else the file's. */
    char **uris = argv + optind;
    size_t n_uris = (size_t)(argc - optind);
    if (n_uris == 0) {
        uris = cfg.inputuri;
        n_uris = cfg.n_inputuri;
    }
    if (n_uris == 0) {
        sd_tagger_config_free(&cfg);
        return sd_cli_usage("no input: give a URI or an inputuri in the configuration");
    }
    if (bpf == NULL)
        bpf = cfg.basicfilter;
    if (log_file == NULL)
        log_file = cfg.logfilename;
    if (log_file != NULL) {
        log_fp = fopen(log_file, "a");
        if (log_fp == NULL)
            logmsg(SD_LOG_WARN, "cannot open the log file %s: %s; logging to standard error",
                   log_file, strerror(errno));
    }

    sd_ndag_send_opts o;
    sd_ndag_send_opts_init(&o);
    o.group = group != NULL ? group : sd_tagger_config_group(&cfg);
    o.beacon_port = (uint16_t)(have_beacon ? beacon_port : cfg.beaconport);
    o.first_port = (uint16_t)first_port;
    o.monitor_id = (uint16_t)(have_monitor ? monitor : cfg.monitorid);
    o.streams = have_threads ? threads : cfg.pktthreads;
    o.max_datagram = have_mtu ? mtu : cfg.mtu;
    o.ttl = (int)(have_ttl ? ttl : cfg.ttl);
    o.iface = iface;
    o.source = source_addr != NULL ? source_addr : cfg.sourceaddr;
    if (o.source != NULL && strcmp(o.source, "0.0.0.0") == 0)
        o.source = NULL; /* corsarotagger's "any" */
    o.join_delay_ms = join_delay;
    o.spread = SD_NDAG_SPREAD_FLOW;
    o.log = lib_log;
    o.tagged = 1;

    struct run r;
    memset(&r, 0, sizeof r);
    r.json = json;
    int status = SD_CLI_EXIT_OK;
    sd_tagger *cur = NULL;
    /* Before the first load: a SIGHUP meanwhile must not end the process
     * (the default action); it reloads once tagging runs. */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_hup;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGHUP, &sa, NULL);
    sd_cli_signals_install();
    uint64_t t_load = mono_ns();
    if ((rc = sd_tagger_config_build(&cfg, &cur, errbuf)) != 0) {
        logmsg(SD_LOG_ERROR, "%s (%s)", errbuf, sd_errname(rc));
        status = SD_CLI_EXIT_RUNTIME;
        goto out;
    }
    logmsg(SD_LOG_INFO, "%zu provider%s loaded in %.2f s (%zu bytes of tables)", cfg.n_providers,
           cfg.n_providers == 1 ? "" : "s", (double)(mono_ns() - t_load) / 1e9,
           sd_tagger_memory(cur));

    rc = sd_ndag_send_open(&r.snd, &o, errbuf);
    if (rc != 0) {
        sd_cli_liberror(rc, errbuf);
        status = rc == SD_ERR_INVAL ? SD_CLI_EXIT_USAGE : SD_CLI_EXIT_RUNTIME;
        goto out;
    }
    logmsg(SD_LOG_INFO, "sending to %s, beacon port %u, %u stream%s from port %u, tagger id %08x",
           o.group, o.beacon_port, o.streams, o.streams == 1 ? "" : "s",
           sd_ndag_send_port(r.snd, 0), sd_ndag_send_tagger_id(r.snd));

    struct reloader rl;
    memset(&rl, 0, sizeof rl);
    rl.cfg = &cfg;
    struct statfile sf = {cfg.statfilename, -1, 0, 0};
    r.t0 = mono_ns();
    uint64_t next_stats = stats_every ? r.t0 + stats_every * 1000000000u : 0;
    for (size_t i = 0; i < n_uris && !sd_cli_stop && (count == 0 || r.k.in < count); i++) {
        if (run_source(&r, uris[i], bpf, &cur, &rl, drop_mask, count, stats_every, &next_stats,
                       &sf) != 0)
            status = SD_CLI_EXIT_RUNTIME;
    }
    reload_poll(&rl, &cur, &r.k.reloads, &r.k.reload_failures, 1);

    rc = sd_ndag_send_flush(r.snd);
    if (rc < 0) {
        logmsg(SD_LOG_ERROR, "%s (%s)", sd_errmsg(r.snd), sd_errname(rc));
        status = SD_CLI_EXIT_RUNTIME;
    }
    if (want_stats)
        print_stats(&r, 1);
    sd_ndag_send_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    (void)sd_ndag_send_get_stats(r.snd, -1, &st);
    rc = sd_ndag_send_close(r.snd, errbuf);
    r.snd = NULL;
    if (rc < 0) {
        sd_cli_liberror(rc, errbuf);
        status = SD_CLI_EXIT_RUNTIME;
    }
    if (st.lost > 0) {
        logmsg(SD_LOG_ERROR, "%llu datagrams lost after send errors", (unsigned long long)st.lost);
        status = SD_CLI_EXIT_RUNTIME;
    }
    logmsg(SD_LOG_INFO, "%llu packets in, %llu tagged records sent in %llu datagrams, %llu dropped%s",
           (unsigned long long)r.k.in, (unsigned long long)st.records,
           (unsigned long long)st.datagrams, (unsigned long long)r.k.dropped,
           sd_cli_stop ? " (interrupted)" : "");
out:
    sd_tagger_destroy(cur);
    sd_tagger_config_free(&cfg);
    if (log_fp != NULL)
        fclose(log_fp);
    return status;
}
