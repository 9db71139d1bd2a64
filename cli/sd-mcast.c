/* sd-mcast: replay or relay packets from any source as an nDAG multicast
 * stream (spec/ndag.md 13), accepting tracemcast's options.
 *
 * A thin front end over sd_source and sd_ndag_sender (public API only).
 * Pacing never sleeps per packet: every pass sends all packets already due
 * (plus a 1 ms slack) in one call, then sleeps until the next one is due. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <stardust/stardust.h>

#include "common.h"

#define BATCH 256
#define SLACK_NS 1000000u    /* send packets due within 1 ms together */
#define MAX_SLEEP_NS 200000000u /* re-check signals at least 5 times a second */

/* tracemcast's defaults (ndag.md 19) for what scripts pass on to receivers. */
#define DEFAULT_GROUP "225.100.0.1"
#define DEFAULT_BEACON_PORT 9999

static void help(void)
{
    printf("Usage: sd-mcast [options] URI\n"
           "Send packets from URI (trace file, gen:..., live libtrace URI) as an nDAG\n"
           "multicast stream that libtrace ndag: and stardust receivers read.\n"
           "\n"
           "Where to (tracemcast options):\n"
           "  -g, --group ADDR        multicast group, IPv4 or IPv6 (default " DEFAULT_GROUP ")\n"
           "  -p, --beacon-port PORT  beacon port (default 9999)\n"
           "      --first-port PORT   port of stream 0 (default beacon port + 1)\n"
           "  -s, --source ADDR       local address to send from (selects the interface)\n"
           "  -i, --interface NAME    egress interface\n"
           "  -m, --monitor ID        monitor ID 0..65535 (default 1)\n"
           "  -t, --streams N         number of streams (default 1)\n"
           "  -M, --max-datagram N    UDP payload limit 536..9000 (default 8900)\n"
           "      --ttl N             multicast TTL / hop limit (default 1)\n"
           "      --spread MODE       flow (a flow stays on one stream, default) or rr\n"
           "      --flush-ms MS       send a partly filled datagram after MS (default 100)\n"
           "      --beacon-ms MS      beacon interval 100..10000 (default 1000)\n"
           "      --keepalive-ms MS   keepalive after MS idle, 0 = none (default 5000)\n"
           "      --keepalive-short   8-byte keepalives (DAG form; breaks libtrace >= 4.0.23)\n"
           "      --join-delay MS     wait MS after the first beacon before sending data,\n"
           "                          so waiting receivers can join (default 500)\n"
           "\n"
           "What and how fast:\n"
           "  -f, --filter BPF        send only packets matching the filter\n"
           "      --drop LIST         do not send packets matching any of the corsaro\n"
           "                          filters in LIST (e.g. spoofed,erratic)\n"
           "  -c, --count N           stop after N packets\n"
           "      --speed X           X times the speed of the packet timestamps\n"
           "                          (default 1 for files and gen:, like tracemcast)\n"
           "      --pps N             N packets per second, ignoring timestamps\n"
           "      --top               as fast as possible (default for live sources)\n"
           "\n"
           "Reporting:\n"
           "  -q, --quiet             no summary at the end\n"
           "      --progress          progress line on standard error (default: if a TTY)\n"
           "      --no-progress       no progress line\n"
           "  -h, --help              this help\n"
           "  -V, --version           version\n"
           "\n"
           "Exit status: 0 success (also when stopped by SIGINT/SIGTERM), 1 runtime\n"
           "error (source, socket, lost datagrams), 2 usage error. See sd-mcast(1).\n");
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

/* Sleep until the monotonic time t (at most MAX_SLEEP_NS; a signal ends it
 * early). */
static void sleep_until(uint64_t t)
{
    uint64_t now = now_ns();
    if (t <= now)
        return;
    if (t - now > MAX_SLEEP_NS)
        t = now + MAX_SLEEP_NS;
    struct timespec ts = {(time_t)(t / 1000000000u), (long)(t % 1000000000u)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void log_cb(void *userdata, int level, const char *msg)
{
    (void)userdata;
    if (level <= SD_LOG_WARN)
        sd_cli_error("%s", msg);
}

enum pace { PACE_AUTO, PACE_SPEED, PACE_PPS, PACE_TOP };

struct pacer {
    int mode;
    double speed, pps;
    int started;
    uint64_t wall0, ts0, index;
};

/* Monotonic time at which packet p (the index-th sent) is due. */
static uint64_t due(struct pacer *pc, const sd_packet *p)
{
    if (!pc->started) {
        pc->started = 1;
        pc->wall0 = now_ns();
        pc->ts0 = p->ts;
    }
    if (pc->mode == PACE_PPS)
        return pc->wall0 + (uint64_t)((double)pc->index * 1e9 / pc->pps);
    if (p->ts <= pc->ts0) /* out of order or before the first: now */
        return pc->wall0;
    return pc->wall0 + (uint64_t)((double)(p->ts - pc->ts0) / pc->speed);
}

enum {
    OPT_FIRST_PORT = 256, OPT_TTL, OPT_SPREAD, OPT_FLUSH_MS, OPT_BEACON_MS, OPT_KEEPALIVE_MS, OPT_JOIN_DELAY,
    OPT_KEEPALIVE_SHORT, OPT_SPEED, OPT_PPS, OPT_TOP, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_DROP
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"group", required_argument, NULL, 'g'},
        {"beacon-port", required_argument, NULL, 'p'},
        {"first-port", required_argument, NULL, OPT_FIRST_PORT},
        {"source", required_argument, NULL, 's'},
        {"interface", required_argument, NULL, 'i'},
        {"monitor", required_argument, NULL, 'm'},
        {"streams", required_argument, NULL, 't'},
        {"max-datagram", required_argument, NULL, 'M'},
        {"ttl", required_argument, NULL, OPT_TTL},
        {"spread", required_argument, NULL, OPT_SPREAD},
        {"flush-ms", required_argument, NULL, OPT_FLUSH_MS},
        {"beacon-ms", required_argument, NULL, OPT_BEACON_MS},
        {"keepalive-ms", required_argument, NULL, OPT_KEEPALIVE_MS},
        {"keepalive-short", no_argument, NULL, OPT_KEEPALIVE_SHORT},
        {"join-delay", required_argument, NULL, OPT_JOIN_DELAY},
        {"filter", required_argument, NULL, 'f'},
        {"drop", required_argument, NULL, OPT_DROP},
        {"count", required_argument, NULL, 'c'},
        {"speed", required_argument, NULL, OPT_SPEED},
        {"pps", required_argument, NULL, OPT_PPS},
        {"top", no_argument, NULL, OPT_TOP},
        {"quiet", no_argument, NULL, 'q'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    sd_cli_init("sd-mcast", "[options] URI");
    sd_ndag_send_opts o;
    sd_ndag_send_opts_init(&o);
    o.group = DEFAULT_GROUP;
    o.beacon_port = DEFAULT_BEACON_PORT;
    o.log = log_cb;
    const char *filter = NULL;
    sd_cli_drop drop = {0, 0};
    uint64_t count = 0;
    int quiet = 0, progress_mode = -1;
    struct pacer pc = {PACE_AUTO, 1.0, 0, 0, 0, 0, 0};
    unsigned u;
    uint64_t v;

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":g:p:s:i:m:t:M:f:c:qhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'g':
            o.group = optarg;
            break;
        case 'p':
            if (sd_cli_parse_uint(optarg, "beacon port", 1, 65535, &u) != 0)
                return sd_cli_usage_hint();
            o.beacon_port = (uint16_t)u;
            break;
        case OPT_FIRST_PORT:
            if (sd_cli_parse_uint(optarg, "first port", 1, 65535, &u) != 0)
                return sd_cli_usage_hint();
            o.first_port = (uint16_t)u;
            break;
        case 's':
            o.source = optarg;
            break;
        case 'i':
            o.iface = optarg;
            break;
        case 'm':
            if (sd_cli_parse_uint(optarg, "monitor ID", 0, 65535, &u) != 0)
                return sd_cli_usage_hint();
            o.monitor_id = (uint16_t)u;
            break;
        case 't':
            if (sd_cli_parse_uint(optarg, "stream count", 1, 4495, &u) != 0)
                return sd_cli_usage_hint();
            o.streams = u;
            break;
        case 'M':
            if (sd_cli_parse_uint(optarg, "max datagram size", 536, 9000, &u) != 0)
                return sd_cli_usage_hint();
            o.max_datagram = u;
            break;
        case OPT_TTL:
            if (sd_cli_parse_uint(optarg, "TTL", 0, 255, &u) != 0)
                return sd_cli_usage_hint();
            o.ttl = (int)u;
            break;
        case OPT_SPREAD:
            if (strcmp(optarg, "flow") == 0)
                o.spread = SD_NDAG_SPREAD_FLOW;
            else if (strcmp(optarg, "rr") == 0)
                o.spread = SD_NDAG_SPREAD_RR;
            else
                return sd_cli_usage("invalid spread mode '%s': expected flow or rr", optarg);
            break;
        case OPT_FLUSH_MS:
            if (sd_cli_parse_uint(optarg, "flush interval", 1, 10000, &u) != 0)
                return sd_cli_usage_hint();
            o.flush_ms = u;
            break;
        case OPT_BEACON_MS:
            if (sd_cli_parse_uint(optarg, "beacon interval", 100, 10000, &u) != 0)
                return sd_cli_usage_hint();
            o.beacon_ms = u;
            break;
        case OPT_KEEPALIVE_MS:
            if (sd_cli_parse_uint(optarg, "keepalive interval", 0, 600000, &u) != 0)
                return sd_cli_usage_hint();
            if (u != 0 && u < 100)
                return sd_cli_usage("invalid keepalive interval '%s': expected 0 or 100 to 600000",
                                    optarg);
            o.keepalive_ms = u;
            break;
        case OPT_KEEPALIVE_SHORT:
            o.keepalive_short = 1;
            break;
        case OPT_JOIN_DELAY:
            if (sd_cli_parse_uint(optarg, "join delay", 0, 10000, &u) != 0)
                return sd_cli_usage_hint();
            o.join_delay_ms = u;
            break;
        case 'f':
            filter = optarg;
            break;
        case OPT_DROP:
            if (sd_cli_drop_parse(&drop, optarg) != 0)
                return sd_cli_usage_hint();
            break;
        case 'c':
            if (sd_cli_parse_u64(optarg, "count", 1, UINT64_MAX, &count) != 0)
                return sd_cli_usage_hint();
            break;
        case OPT_SPEED:
            if (sd_cli_parse_double(optarg, "speed", 1e-6, 1e9, &pc.speed) != 0)
                return sd_cli_usage_hint();
            pc.mode = PACE_SPEED;
            break;
        case OPT_PPS:
            if (sd_cli_parse_u64(optarg, "packet rate", 1, 1000000000u, &v) != 0)
                return sd_cli_usage_hint();
            pc.pps = (double)v;
            pc.mode = PACE_PPS;
            break;
        case OPT_TOP:
            pc.mode = PACE_TOP;
            break;
        case 'q':
            quiet = 1;
            break;
        case OPT_PROGRESS:
            progress_mode = 1;
            break;
        case OPT_NO_PROGRESS:
            progress_mode = 0;
            break;
        case 'h':
            help();
            return SD_CLI_EXIT_OK;
        case 'V':
            sd_cli_version();
            return SD_CLI_EXIT_OK;
        default:
            return sd_cli_usage_getopt(c, argv);
        }
    }
    if (optind + 1 != argc)
        return sd_cli_usage(optind == argc ? "no source URI given" : "only one source URI allowed");
    const char *uri = argv[optind];

    sd_cli_signals_install();
    char errbuf[SD_ERRBUF_SIZE];
    sd_source *src = NULL;
    int rc = sd_source_open(&src, uri, errbuf);
    if (rc != 0) {
        sd_cli_liberror(rc, errbuf);
        return SD_CLI_EXIT_RUNTIME;
    }
    if (filter != NULL && (rc = sd_source_set_filter(src, filter)) != 0) {
        sd_cli_liberror(rc, sd_errmsg(src));
        sd_source_close(src);
        return SD_CLI_EXIT_USAGE;
    }
    if (pc.mode == PACE_AUTO) {
        /* Files and gen: at the pace of their timestamps like tracemcast;
         * live captures arrive at their own pace. */
        const char *fmt = sd_source_format(src);
        pc.mode = strcmp(fmt, "libtrace") == 0 || strcmp(fmt, "ndag") == 0 ? PACE_TOP : PACE_SPEED;
    }
    sd_ndag_sender *snd = NULL;
    rc = sd_ndag_send_open(&snd, &o, errbuf);
    if (rc != 0) {
        sd_cli_liberror(rc, errbuf);
        sd_source_close(src);
        return rc == SD_ERR_INVAL ? SD_CLI_EXIT_USAGE : SD_CLI_EXIT_RUNTIME;
    }

    sd_cli_progress progress;
    sd_cli_progress_init(&progress, progress_mode);
    int status = SD_CLI_EXIT_OK;
    uint64_t sent = 0;
    const sd_packet *pkts[BATCH];
    uint64_t t_start = now_ns();
    while (!sd_cli_stop && (count == 0 || sent < count)) {
        size_t want = BATCH;
        if (count != 0 && count - sent < want)
            want = (size_t)(count - sent);
        int n = sd_source_read(src, pkts, want);
        if (n == SD_EOF)
            break;
        if (n < 0) {
            sd_cli_progress_clear(&progress);
            sd_cli_liberror(n, sd_errmsg(src));
            status = SD_CLI_EXIT_RUNTIME;
            break;
        }
        n = (int)sd_cli_drop_apply(&drop, pkts, (size_t)n); /* --drop */
        size_t i = 0;
        while (i < (size_t)n && !sd_cli_stop) {
            size_t j = (size_t)n;
            if (pc.mode != PACE_TOP) {
                uint64_t limit = now_ns() + SLACK_NS;
                j = i;
                while (j < (size_t)n) {
                    if (due(&pc, pkts[j]) > limit)
                        break;
                    pc.index++;
                    j++;
                }
                if (j == i) {
                    sleep_until(due(&pc, pkts[i]));
                    continue;
                }
            }
            rc = sd_ndag_send(snd, pkts + i, j - i);
            if (rc < 0) {
                sd_cli_progress_clear(&progress);
                sd_cli_liberror(rc, sd_errmsg(snd));
                status = SD_CLI_EXIT_RUNTIME;
            }
            sent += j - i;
            i = j;
        }
        if (progress.enabled)
            sd_cli_progress_update_pkts(&progress, sent);
    }
    sd_cli_progress_clear(&progress);

    sd_ndag_send_stats st;
    st.size = sizeof st;
    rc = sd_ndag_send_flush(snd);
    if (rc < 0) {
        sd_cli_liberror(rc, sd_errmsg(snd));
        status = SD_CLI_EXIT_RUNTIME;
    }
    (void)sd_ndag_send_get_stats(snd, -1, &st);
    uint16_t port0 = sd_ndag_send_port(snd, 0);
    rc = sd_ndag_send_close(snd, errbuf);
    if (rc < 0) {
        sd_cli_liberror(rc, errbuf);
        status = SD_CLI_EXIT_RUNTIME;
    }
    sd_source_close(src);
    if (st.lost > 0) {
        sd_cli_error("%llu datagrams lost after send errors", (unsigned long long)st.lost);
        status = SD_CLI_EXIT_RUNTIME;
    }
    if (!quiet) {
        double secs = (double)(now_ns() - t_start) / 1e9;
        const char *prog = sd_cli_prog();
        fprintf(stderr, "%s: %llu packets sent as %llu records in %llu datagrams (%llu bytes)%s\n",
                prog, (unsigned long long)st.packets, (unsigned long long)st.records,
                (unsigned long long)st.datagrams, (unsigned long long)st.bytes,
                sd_cli_stop ? " (interrupted)" : "");
        fprintf(stderr, "%s: group %s, beacon port %u, %u stream%s from port %u, monitor %u\n", prog,
                o.group, o.beacon_port, o.streams, o.streams == 1 ? "" : "s", port0, o.monitor_id);
        fprintf(stderr,
                "%s: %llu beacons, %llu keepalives, %llu truncated, %llu skipped, %llu retries, "
                "%llu send errors, %llu lost\n",
                prog, (unsigned long long)st.beacons, (unsigned long long)st.keepalives,
                (unsigned long long)st.truncated, (unsigned long long)st.skipped,
                (unsigned long long)st.retries, (unsigned long long)st.send_errors,
                (unsigned long long)st.lost);
        if (drop.mask != 0)
            fprintf(stderr, "%s: %llu packets excluded by --drop\n", prog,
                    (unsigned long long)drop.dropped);
        if (secs > 0)
            fprintf(stderr, "%s: %.3f s, %.0f packets/s, %.0f datagrams/s\n", prog, secs,
                    (double)st.packets / secs, (double)st.datagrams / secs);
    }
    return status;
}
