/* sd-gen: write synthetic network-telescope traffic to a pcap or ERF file.
 *
 * A thin front end over sd_gen (stardust/gen.h) and the pcap and ERF
 * writers; it uses the public API only. */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <stardust/stardust.h>

#include "common.h"

#define BATCH 1024

enum { FMT_NONE = 0, FMT_PCAP, FMT_ERF };

static void help(void)
{
    printf("Usage: sd-gen [options] [-o FILE|-]\n"
           "Write synthetic network-telescope (darknet) traffic as pcap or ERF.\n"
           "\n"
           "Amount and timing:\n"
           "  -n, --count N          make exactly N packets (k, M, G suffixes allowed)\n"
           "  -d, --duration SECONDS trace time to cover (default 10; 0 = until interrupted)\n"
           "  -r, --pps N            packets per second of trace time (default 100000)\n"
           "      --start TIME       first timestamp: seconds since the epoch or\n"
           "                         YYYY-MM-DDTHH:MM:SS[Z] (default 2026-01-01T00:00:00Z)\n"
           "  -s, --seed N           random seed (default 1); same seed, same bytes\n"
           "\n"
           "Traffic model:\n"
           "  -p, --prefix A.B.C.D/N telescope IPv4 prefix (default 44.0.0.0/9)\n"
           "      --prefix6 X::/N    telescope IPv6 prefix (default 2001:db8::/32)\n"
           "      --mix KIND=W,...   the whole mix: listed kinds get W, others 0\n"
           "      --KIND W           set one kind's weight; KIND is one of\n"
           "                         scan masscan zmap mirai udp icmp backscatter\n"
           "                         spoofed frag ipv6\n"
           "      --sources N        distinct scanner sources (default 5000)\n"
           "      --victims N        distinct DoS victims (default 8)\n"
           "\n"
           "Output:\n"
           "  -o, --output FILE      output file, - for standard output (default -)\n"
           "  -F, --format FMT       pcap or erf (default from FILE: .erf -> erf, else pcap)\n"
           "  -z, --gzip             gzip-compress (default when FILE ends in .gz)\n"
           "      --nsec             pcap with nanosecond timestamps\n"
           "      --raw              raw IP link type instead of Ethernet\n"
           "      --force            write binary data even to a terminal\n"
           "\n"
           "Reporting:\n"
           "      --stats            per-kind counts to standard error at the end\n"
           "      --json             --stats as one JSON object\n"
           "      --progress         progress line on standard error (default: if a TTY)\n"
           "      --no-progress      no progress line\n"
           "  -h, --help             this help\n"
           "  -V, --version          version\n"
           "\n"
           "Exit status: 0 success (also when stopped by SIGINT/SIGTERM), 1 runtime\n"
           "error, 2 usage error. See sd-gen(1).\n");
}

/* Returns 0, or SD_CLI_EXIT_USAGE after the library's reason. */
static int config_set(sd_gen_config *cfg, const char *key, const char *value)
{
    char errbuf[SD_ERRBUF_SIZE];
    if (sd_gen_config_set(cfg, key, value, errbuf) < 0)
        return sd_cli_usage("%s", errbuf);
    return 0;
}

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void format_ts(char *buf, size_t n, uint64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    size_t k = strftime(buf, n, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + k, n - k, ".%09uZ", (unsigned)(ns % 1000000000u));
}

struct run {
    uint64_t packets, bytes, first_ts, last_ts;
    double elapsed;
    int interrupted;
};

static void print_stats(const sd_gen *g, const struct run *r, int json)
{
    const uint64_t *counts = sd_gen_kind_counts(g);
    if (json) {
        fprintf(stderr,
                "{\"packets\":%llu,\"bytes\":%llu,\"first_ts\":%llu,\"last_ts\":%llu,"
                "\"elapsed_s\":%.3f,\"interrupted\":%s,\"kinds\":{",
                (unsigned long long)r->packets, (unsigned long long)r->bytes,
                (unsigned long long)r->first_ts, (unsigned long long)r->last_ts, r->elapsed,
                r->interrupted ? "true" : "false");
        for (int k = 0; k < SD_GEN_NKINDS; k++)
            fprintf(stderr, "%s\"%s\":%llu", k ? "," : "", sd_gen_kind_name(k),
                    (unsigned long long)counts[k]);
        fprintf(stderr, "}}\n");
        return;
    }
    char a[48], b[48];
    format_ts(a, sizeof a, r->first_ts);
    format_ts(b, sizeof b, r->last_ts);
    const char *prog = sd_cli_prog();
    fprintf(stderr, "%s: %llu packets, %llu bytes%s\n", prog, (unsigned long long)r->packets,
            (unsigned long long)r->bytes, r->interrupted ? " (interrupted)" : "");
    if (r->packets > 0)
        fprintf(stderr, "%s: trace time %s .. %s (%.3f s)\n", prog, a, b,
                (double)(r->last_ts - r->first_ts) / 1e9);
    for (int k = 0; k < SD_GEN_NKINDS; k++)
        fprintf(stderr, "%s:   %-12s %12llu %6.2f%%\n", prog, sd_gen_kind_name(k),
                (unsigned long long)counts[k],
                r->packets ? 100.0 * (double)counts[k] / (double)r->packets : 0.0);
    if (r->elapsed > 0)
        fprintf(stderr, "%s: %.3f s wall clock, %.2f Mpps\n", prog, r->elapsed,
                (double)r->packets / r->elapsed / 1e6);
}

/* One writer interface over the pcap and ERF writers. */
struct out {
    int format;
    sd_pcap_writer *pcap;
    sd_erf_writer *erf;
};

static int out_write(struct out *o, const sd_packet **pkts, int n)
{
    if (o->format == FMT_ERF)
        return sd_erf_writer_write(o->erf, pkts, (size_t)n);
    return sd_pcap_writer_write(o->pcap, pkts, (size_t)n);
}

static const char *out_errmsg(const struct out *o)
{
    return o->format == FMT_ERF ? sd_errmsg(o->erf) : sd_errmsg(o->pcap);
}

static int out_close(struct out *o, char *errbuf)
{
    return o->format == FMT_ERF ? sd_erf_writer_close(o->erf, errbuf) : sd_pcap_writer_close(o->pcap, errbuf);
}

static void out_discard(struct out *o)
{
    if (o->format == FMT_ERF)
        sd_erf_writer_discard(o->erf);
    else
        sd_pcap_writer_discard(o->pcap);
}

/* --mix kind=weight,...: the listed kinds get their weight, the others 0.
 * Returns 0, or SD_CLI_EXIT_USAGE after the reason. */
static int set_mix(sd_gen_config *cfg, const char *list, const char *const *kinds)
{
    double w[SD_GEN_NKINDS] = {0};
    const char *p = list;
    for (;;) {
        const char *end = strchr(p, ',');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char item[128];
        if (n == 0 || n >= sizeof item)
            return sd_cli_usage("--mix: \"%s\" is not a list of kind=weight", list);
        memcpy(item, p, n);
        item[n] = '\0';
        char *eq = strchr(item, '=');
        if (eq == NULL)
            return sd_cli_usage("--mix: \"%s\" is not kind=weight", item);
        *eq = '\0';
        int k = 0;
        while (k < SD_GEN_NKINDS && strcmp(item, kinds[k]) != 0)
            k++;
        if (k == SD_GEN_NKINDS)
            return sd_cli_usage("--mix: unknown kind \"%s\" (kinds: scan, masscan, zmap, mirai, "
                                "udp, icmp, backscatter, spoofed, frag, ipv6)",
                                item);
        sd_gen_config one = *cfg;
        char errbuf[SD_ERRBUF_SIZE];
        if (sd_gen_config_set(&one, item, eq + 1, errbuf) < 0)
            return sd_cli_usage("--mix: %s", errbuf);
        w[k] = one.weight[k];
        if (end == NULL)
            break;
        p = end + 1;
    }
    memcpy(cfg->weight, w, sizeof w);
    return 0;
}

enum {
    OPT_START = 256, OPT_PREFIX6, OPT_MIX, OPT_SOURCES, OPT_VICTIMS, OPT_NSEC, OPT_RAW, OPT_STATS,
    OPT_JSON, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_FORCE, OPT_KIND /* + kind index */
};

int main(int argc, char **argv)
{
    static const char *const kind_opts[SD_GEN_NKINDS] = {
        "scan", "masscan", "zmap", "mirai", "udp", "icmp", "backscatter", "spoofed", "frag", "ipv6",
    };
    struct option longopts[32 + SD_GEN_NKINDS] = {
        {"count", required_argument, NULL, 'n'},
        {"duration", required_argument, NULL, 'd'},
        {"pps", required_argument, NULL, 'r'},
        {"seed", required_argument, NULL, 's'},
        {"start", required_argument, NULL, OPT_START},
        {"prefix", required_argument, NULL, 'p'},
        {"prefix6", required_argument, NULL, OPT_PREFIX6},
        {"mix", required_argument, NULL, OPT_MIX},
        {"sources", required_argument, NULL, OPT_SOURCES},
        {"victims", required_argument, NULL, OPT_VICTIMS},
        {"output", required_argument, NULL, 'o'},
        {"format", required_argument, NULL, 'F'},
        {"gzip", no_argument, NULL, 'z'},
        {"nsec", no_argument, NULL, OPT_NSEC},
        {"raw", no_argument, NULL, OPT_RAW},
        {"stats", no_argument, NULL, OPT_STATS},
        {"json", no_argument, NULL, OPT_JSON},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"force", no_argument, NULL, OPT_FORCE},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
    };
    int nopts = 0;
    while (longopts[nopts].name != NULL)
        nopts++;
    for (int k = 0; k < SD_GEN_NKINDS; k++)
        longopts[nopts++] = (struct option){kind_opts[k], required_argument, NULL, OPT_KIND + k};

    sd_cli_init("sd-gen", "[options] [-o FILE|-]");
    sd_gen_config cfg;
    sd_gen_config_init(&cfg);
    const char *output = "-";
    int format = FMT_NONE, gzip = 0, nsec = 0, stats = 0, json = 0, force = 0;
    int progress_mode = -1;
    int have_count = 0, have_duration = 0;

    int c;
    opterr = 0; /* our own messages, prefixed "sd-gen: " whatever argv[0] is */
    while ((c = getopt_long(argc, argv, ":n:d:r:s:p:o:F:zhV", longopts, NULL)) != -1) {
        /* Most options are sd_gen_config keys: the library checks them. */
        const char *key = NULL, *value = optarg;
        switch (c) {
        case 'n':
            key = "count";
            have_count = 1;
            break;
        case 'd':
            key = "duration";
            have_duration = 1;
            break;
        case 'r':
            key = "pps";
            break;
        case 's':
            key = "seed";
            break;
        case OPT_START:
            key = "start";
            break;
        case 'p':
            key = "prefix";
            break;
        case OPT_PREFIX6:
            key = "prefix6";
            break;
        case OPT_MIX:
            if (set_mix(&cfg, optarg, kind_opts) != 0)
                return SD_CLI_EXIT_USAGE;
            break;
        case OPT_SOURCES:
            key = "sources";
            break;
        case OPT_VICTIMS:
            key = "victims";
            break;
        case 'o':
            output = optarg;
            break;
        case 'F':
            if (strcmp(optarg, "pcap") == 0)
                format = FMT_PCAP;
            else if (strcmp(optarg, "erf") == 0)
                format = FMT_ERF;
            else if (strcmp(optarg, "pcapng") == 0)
                return sd_cli_usage("--format pcapng: not supported yet (use pcap or erf)");
            else
                return sd_cli_usage("--format %s: unknown format (use pcap or erf)", optarg);
            break;
        case 'z':
            gzip = 1;
            break;
        case OPT_NSEC:
            nsec = 1;
            break;
        case OPT_RAW:
            key = "link";
            value = "raw";
            break;
        case OPT_STATS:
            stats = 1;
            break;
        case OPT_JSON:
            json = 1;
            break;
        case OPT_PROGRESS:
            progress_mode = 1;
            break;
        case OPT_NO_PROGRESS:
            progress_mode = 0;
            break;
        case OPT_FORCE:
            force = 1;
            break;
        case 'h':
            help();
            return SD_CLI_EXIT_OK;
        case 'V':
            sd_cli_version();
            return SD_CLI_EXIT_OK;
        default: /* --KIND, or ':' or '?' */
            if (c < OPT_KIND || c >= OPT_KIND + SD_GEN_NKINDS)
                return sd_cli_usage_getopt(c, argv);
            key = kind_opts[c - OPT_KIND];
            break;
        }
        if (key != NULL && config_set(&cfg, key, value) != 0)
            return SD_CLI_EXIT_USAGE;
    }
    if (optind < argc)
        return sd_cli_usage("unexpected argument '%s' (the output goes after -o)", argv[optind]);
    if (have_count && have_duration)
        return sd_cli_usage("--count and --duration are exclusive");
    /* -n 0 asks for an empty trace; the library's count 0 would mean
     * "use the duration". */
    int active = !(have_count && cfg.count == 0);
    if (have_duration)
        cfg.count = 0;

    const char *base = output;
    char stripped[4096];
    if (strcmp(output, "-") != 0 && ends_with(output, ".gz")) {
        gzip = 1;
        size_t n = strlen(output) - 3;
        if (n < sizeof stripped) {
            memcpy(stripped, output, n);
            stripped[n] = '\0';
            base = stripped;
        }
    }
    if (format == FMT_NONE)
        format = ends_with(base, ".erf") ? FMT_ERF : FMT_PCAP;
    if (nsec && format != FMT_PCAP)
        return sd_cli_usage("--nsec applies to pcap output only (ERF timestamps are always finer)");
    /* The writers rename a temporary file into place for regular files and
     * write devices and FIFOs (/dev/null) in place. */
    const char *target = output;
    if (strcmp(target, "-") == 0 && sd_cli_refuse_binary_tty(STDOUT_FILENO, force) != 0)
        return sd_cli_usage_hint();

    char errbuf[SD_ERRBUF_SIZE];
    sd_gen *g;
    int rc = sd_gen_create(&g, &cfg, errbuf);
    if (rc == SD_ERR_INVAL)
        return sd_cli_usage("%s", errbuf);
    if (rc < 0) {
        sd_cli_liberror(rc, errbuf);
        return SD_CLI_EXIT_RUNTIME;
    }

    struct out o = {format, NULL, NULL};
    if (format == FMT_ERF)
        rc = sd_erf_writer_open(&o.erf, target, gzip ? SD_ERF_GZIP : 0, errbuf);
    else
        rc = sd_pcap_writer_open(&o.pcap, target, cfg.linktype, 0,
                                 (nsec ? SD_PCAP_NSEC : 0) | (gzip ? SD_PCAP_GZIP : 0), errbuf);
    if (rc < 0) {
        sd_cli_liberror(rc, errbuf);
        sd_gen_destroy(g);
        return SD_CLI_EXIT_RUNTIME;
    }

    /* After the open: a signal while opening a FIFO still ends the process. */
    sd_cli_signals_install();
    sd_cli_progress progress;
    sd_cli_progress_init(&progress, progress_mode);

    struct run r = {0, 0, 0, 0, 0, 0};
    const sd_packet *pkts[BATCH];
    double t0 = now_s();
    int err = 0;               /* a failed sd_gen_next() or write */
    const char *detail = NULL; /* its sd_errmsg(): valid until the next call */
    while (active && !sd_cli_stop) {
        int n = sd_gen_next(g, pkts, BATCH);
        if (n == SD_EOF)
            break;
        if (n < 0) {
            err = n;
            detail = sd_errmsg(g);
            break;
        }
        int w = out_write(&o, pkts, n);
        if (w < 0) {
            err = w;
            detail = out_errmsg(&o);
            break;
        }
        if (r.packets == 0)
            r.first_ts = pkts[0]->ts;
        r.last_ts = pkts[n - 1]->ts;
        r.packets += (uint64_t)n;
        for (int i = 0; i < n; i++)
            r.bytes += pkts[i]->caplen;
        sd_cli_progress_update_pkts(&progress, r.packets);
    }
    r.elapsed = now_s() - t0;
    r.interrupted = sd_cli_stop != 0;
    sd_cli_progress_clear(&progress);

    int status = SD_CLI_EXIT_OK;
    if (err < 0) {
        sd_cli_liberror(err, detail);
        out_discard(&o);
        status = SD_CLI_EXIT_RUNTIME;
    } else if ((rc = out_close(&o, errbuf)) < 0) {
        sd_cli_liberror(rc, errbuf);
        status = SD_CLI_EXIT_RUNTIME;
    }
    if (stats && status == SD_CLI_EXIT_OK)
        print_stats(g, &r, json);
    sd_gen_destroy(g);
    return status;
}
