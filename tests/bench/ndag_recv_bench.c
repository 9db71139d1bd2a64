/* ndag_recv_bench: the stardust side of the nDAG end-to-end benchmark
 * (bench-ndag-e2e.sh), compared there with tests/bench/ndag_count.
 *
 *   ndag_recv_bench IFACE GROUP BEACON_PORT [options]
 *     --lanes N        receive lanes (threads), default 1
 *     --streams N      say "ready" on stderr once N streams are joined
 *                      (default 1)
 *     --count N        stop after N packets (default 0: no limit)
 *     --until-idle MS  stop MS milliseconds after the last packet (default 1000)
 *     --seconds S      stop after S seconds in any case (default 120)
 *     --batch N        datagram buffers per lane (default: the library's)
 *     --api read|run   sd_ndag_recv_read() on own threads (default) or
 *                      sd_ndag_recv_run() with a callback
 *
 * Uses only the public receiver API. Per packet it only adds caplen (so the
 * descriptor is touched); nothing is printed per packet. Prints one JSON
 * object on stdout at exit with the packets, the receiver's counters
 * (datagrams, missing, malformed), the wall time from the first to the last
 * packet, the CPU time of the receiver (getrusage of the process minus
 * the watching main thread: lanes, control thread, kernel time of
 * recvmmsg) and of the lane threads alone
 * (CLOCK_THREAD_CPUTIME_ID, read at the end of each lane thread: not
 * available with --api run), both per record, and the maximum RSS after
 * open, when ready, when half of --count had arrived and at the end, to
 * show that memory does not grow with traffic.
 * Multicast: run it inside tests/netns-run only. */
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <stardust/ndag_recv.h>

#define MAX_LANES 64
#define READ_MAX 1024

struct lane_state {
    sd_ndag_recv *r;
    unsigned id;
    uint64_t packets;
    uint64_t caplen_sum;
    double cpu; /* thread CPU seconds at the end (--api read only) */
    double first, last;
    pthread_t thread;
    char pad[64];
};

static struct lane_state lanes[MAX_LANES];
static unsigned nlanes = 1;
static uint64_t want_count;
static atomic_uint_fast64_t total;
static atomic_int mid_taken;
static long rss_mid_kb = -1;
static sd_ndag_recv *volatile recv_handle;
static volatile sig_atomic_t got_signal;

static double mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double thread_cpu(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Peak RSS of this program: VmHWM, since getrusage()'s ru_maxrss carries
 * the parent's peak over fork and exec. */
static long maxrss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return -1;
    char line[256];
    long kb = -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "VmHWM: %ld kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static double process_cpu(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
           (double)ru.ru_stime.tv_usec * 1e-6;
}

static void on_signal(int sig)
{
    (void)sig;
    got_signal = 1;
    sd_ndag_recv *r = recv_handle;
    if (r != NULL)
        sd_ndag_recv_stop(r);
}

/* Account one batch of a lane: the per-packet work is the caplen sum. */
static void account(struct lane_state *ls, const sd_packet *const *pkts, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++)
        sum += pkts[i]->caplen;
    ls->caplen_sum += sum;
    ls->packets += n;
    double t = mono();
    if (ls->first == 0)
        ls->first = t;
    ls->last = t;
    uint64_t tot = atomic_fetch_add_explicit(&total, n, memory_order_relaxed) + n;
    if (want_count > 0) {
        int expected = 0;
        if (tot >= want_count / 2 && atomic_compare_exchange_strong(&mid_taken, &expected, 1))
            rss_mid_kb = maxrss_kb();
        if (tot >= want_count)
            sd_ndag_recv_stop(ls->r);
    }
}

static void *read_main(void *arg)
{
    struct lane_state *ls = arg;
    const sd_packet *pkts[READ_MAX];
    for (;;) {
        int got = sd_ndag_recv_read(ls->r, ls->id, pkts, READ_MAX, 100);
        if (got < 0)
            break;
        if (got > 0)
            account(ls, pkts, (size_t)got);
    }
    ls->cpu = thread_cpu();
    return NULL;
}

static void run_cb(void *user, unsigned lane, const sd_packet *const *pkts, size_t n)
{
    (void)user;
    account(&lanes[lane], pkts, n);
}

static void *run_main(void *arg)
{
    sd_ndag_recv *r = arg;
    int rc = sd_ndag_recv_run(r, run_cb, NULL);
    if (rc != 0)
        fprintf(stderr, "ndag_recv_bench: sd_ndag_recv_run: %s\n", sd_strerror(rc));
    return NULL;
}

static void usage(void)
{
    fprintf(stderr, "usage: ndag_recv_bench IFACE GROUP BEACON_PORT [--lanes N] [--streams N] [--count N]\n"
                    "       [--until-idle MS] [--seconds S] [--batch N] [--api read|run]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 4)
        usage();
    unsigned want_streams = 1, batch = 0;
    double idle = 1.0, limit = 120;
    int use_run = 0;
    for (int i = 4; i < argc; i++) {
        if (i + 1 >= argc)
            usage();
        const char *o = argv[i], *v = argv[++i];
        if (strcmp(o, "--lanes") == 0)
            nlanes = (unsigned)atoi(v);
        else if (strcmp(o, "--streams") == 0)
            want_streams = (unsigned)atoi(v);
        else if (strcmp(o, "--count") == 0)
            want_count = strtoull(v, NULL, 10);
        else if (strcmp(o, "--until-idle") == 0)
            idle = atof(v) / 1e3;
        else if (strcmp(o, "--seconds") == 0)
            limit = atof(v);
        else if (strcmp(o, "--batch") == 0)
            batch = (unsigned)atoi(v);
        else if (strcmp(o, "--api") == 0 && (strcmp(v, "read") == 0 || strcmp(v, "run") == 0))
            use_run = strcmp(v, "run") == 0;
        else
            usage();
    }
    if (nlanes < 1 || nlanes > MAX_LANES || idle <= 0 || limit <= 0)
        usage();

    sd_ndag_recv_opts o;
    sd_ndag_recv_opts_init(&o);
    o.iface = argv[1];
    o.group = argv[2];
    o.beacon_port = (uint16_t)atoi(argv[3]);
    o.threads = nlanes;
    if (batch > 0)
        o.batch = batch;
    char eb[SD_ERRBUF_SIZE];
    sd_ndag_recv *r;
    if (sd_ndag_recv_open(&r, &o, eb) != 0) {
        fprintf(stderr, "ndag_recv_bench: %s\n", eb);
        return 1;
    }
    long rss_open = maxrss_kb();
    recv_handle = r;
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    pthread_t runner;
    for (unsigned i = 0; i < nlanes; i++) {
        lanes[i].r = r;
        lanes[i].id = i;
        if (!use_run && pthread_create(&lanes[i].thread, NULL, read_main, &lanes[i]) != 0) {
            fprintf(stderr, "ndag_recv_bench: cannot start a lane thread\n");
            return 1;
        }
    }
    if (use_run && pthread_create(&runner, NULL, run_main, r) != 0) {
        fprintf(stderr, "ndag_recv_bench: cannot start the run thread\n");
        return 1;
    }

    /* Watch: ready once the streams are joined; stop when idle. */
    sd_ndag_recv_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    long rss_ready = -1;
    double t0 = mono(), t_change = t0;
    uint64_t seen = 0;
    for (;;) {
        usleep(20000);
        double t = mono();
        if (rss_ready < 0) {
            (void)sd_ndag_recv_stats_get(r, &st);
            if (st.streams_active >= want_streams) {
                rss_ready = maxrss_kb();
                fprintf(stderr, "ready %llu streams\n", (unsigned long long)st.streams_active);
            }
        }
        uint64_t tot = atomic_load_explicit(&total, memory_order_relaxed);
        if (tot != seen) {
            seen = tot;
            t_change = t;
        }
        if (t - t0 >= limit || got_signal)
            break;
        if (seen > 0 && t - t_change >= idle)
            break;
        if (want_count > 0 && seen >= want_count)
            break;
    }
    sd_ndag_recv_stop(r);
    if (use_run)
        pthread_join(runner, NULL);
    else
        for (unsigned i = 0; i < nlanes; i++)
            pthread_join(lanes[i].thread, NULL);
    /* the receiver's CPU: lanes and control thread, not this watcher */
    double cpu = process_cpu() - thread_cpu();
    long rss_end = maxrss_kb();
    (void)sd_ndag_recv_stats_get(r, &st);

    uint64_t packets = 0, caplen = 0;
    double lane_cpu = 0, first = 0, last = 0;
    for (unsigned i = 0; i < nlanes; i++) {
        packets += lanes[i].packets;
        caplen += lanes[i].caplen_sum;
        lane_cpu += lanes[i].cpu;
        if (lanes[i].first > 0 && (first == 0 || lanes[i].first < first))
            first = lanes[i].first;
        if (lanes[i].last > last)
            last = lanes[i].last;
    }
    double active = last > first ? last - first : 0;
    double rps = active > 0 ? (double)packets / active : 0;
    printf("{\"tool\":\"ndag_recv_bench\",\"api\":\"%s\",\"lanes\":%u,\"streams\":%llu,\"packets\":%llu,"
           "\"caplen_sum\":%llu,\"datagrams\":%llu,\"missing\":%lld,\"malformed\":%llu,\"truncated\":%llu,"
           "\"restarts\":%llu,\"active_seconds\":%.6f,\"records_per_s\":%.0f,"
           "\"records_per_s_per_thread\":%.0f,\"cpu_seconds\":%.6f,\"lane_cpu_seconds\":%.6f,"
           "\"ns_per_record_cpu\":%.2f,\"lane_ns_per_record_cpu\":%.2f,\"rcvbuf\":%lld,"
           "\"rss_open_kb\":%ld,\"rss_ready_kb\":%ld,\"rss_mid_kb\":%ld,\"rss_end_kb\":%ld}\n",
           use_run ? "run" : "read", nlanes, (unsigned long long)st.streams, (unsigned long long)packets,
           (unsigned long long)caplen, (unsigned long long)st.datagrams, (long long)st.missing,
           (unsigned long long)st.malformed, (unsigned long long)st.truncated,
           (unsigned long long)st.restarts, active, rps, rps / nlanes, cpu, lane_cpu,
           packets > 0 ? cpu * 1e9 / (double)packets : 0, packets > 0 ? lane_cpu * 1e9 / (double)packets : 0,
           (long long)st.rcvbuf, rss_open, rss_ready, rss_mid_kb, rss_end);
    recv_handle = NULL;
    sd_ndag_recv_close(r);
    return 0;
}
