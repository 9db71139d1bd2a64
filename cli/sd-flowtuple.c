/* sd-flowtuple: count telescope packets into FT3 flowtuples per interval
 * and write them as Avro files named as corsarotrace names them
 * (flowtuple.md §1.4-1.6, §2.6; stardust-flowtuple(5)).
 *
 * One thread reads the source. With --threads 1 it also aggregates. With
 * N > 1 it deals whole batches round-robin to N worker threads: each
 * batch's packets (descriptors, bytes and tags) are copied into a batch
 * buffer owned by the worker, handed over with one lock per batch, never
 * per packet. Each batch carries the latest timestamp the reader had seen
 * before it (the horizon); the worker ticks its aggregator worker to it
 * first, so every worker changes interval when the reader's stream does and
 * N threads give the records of one.
 *
 * The aggregator's callback (which runs under its lock, one call at a
 * time) writes the records: a chunk goes to the open file of its rotation
 * period (early chunks under --max-tuples too); a file is closed (fsync,
 * rename, .done) when the last interval of its period is final, when a
 * later period starts, or at the end. On a write error every open file is
 * discarded, so no truncated file ever has a final name.
 *
 * --format ft4: the callback folds each chunk into an sd_ft4 instead
 * (sd_ft4_add; sd_ft4_advance to the interval end on a final chunk, so an
 * FT4 interval is written as soon as the FT3 intervals in it are complete),
 * and ft4out.c writes one file per FT4 interval, named as sd-avro ft3to4
 * names them. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <stardust/stardust.h>

#include "common.h"
#include "ft4out.h"

#define BATCH 256
#define QUEUE 4                 /* batches in flight per worker */
#define ARENA (1u << 20)        /* packet bytes per batch buffer */

static void help(void)
{
    printf("Usage: sd-flowtuple -o DIR [--interval SECONDS] [--format ft3|ft4] [options] URI\n"
           "Count the IPv4 packets of URI (a file, gen:, or a tagged or untagged ndag:\n"
           "stream) into FT3 flowtuples per interval and write them as Avro files in DIR,\n"
           "or fold them into FT4 aggregates (--format ft4).\n"
           "\n"
           "Output:\n"
           "  -o, --output-dir DIR    directory of the files (must exist and be writable)\n"
           "      --format F          ft3 (default) or ft4: one file per FT4 interval,\n"
           "                          DIR/v3_5min_<start>.ft4.avro (or -t with %%s)\n"
           "      --ft4-prefix N      ft4: destination prefix length, 16 (default) or 24\n"
           "      --ft4-interval S    ft4: FT4 interval in seconds (default 300)\n"
           "  -t, --template T        file name template inside DIR (default %%N-%%P-%%s:\n"
           "                          %%N monitor id, %%P flowtuple, %%s first interval start,\n"
           "                          other %% codes strftime(3) in UTC; .avro is appended)\n"
           "  -m, --monitor-id ID     %%N (default: the short host name)\n"
           "  -r, --rotate N          intervals per file (default 1; 0: one file per run)\n"
           "      --codec C           deflate (default), null or snappy\n"
           "      --no-done           no empty NAME.done companion after each file\n"
           "      --interim           one file per worker (NAME.avro--<n>), not merged\n"
           "\n"
           "Aggregation:\n"
           "  -i, --interval SECONDS  interval length (default 60)\n"
           "  -n, --threads N         aggregation threads (default 1)\n"
           "      --max-tuples N      bound on the tuples of one table (default: none)\n"
           "      --align-first       first interval starts on a boundary\n"
           "      --unsorted          records in table order, not sorted\n"
           "      --dst-octet-compat  upstream key: dst_ip's first octet not in the key\n"
           "\n"
           "Tagging (untagged input only; tagged ndag: streams keep their tags):\n"
           SD_CLI_PROVIDER_HELP
           "                          (none: filter bits only, no geo or AS, as offline\n"
           "                          corsarotrace)\n"
           "\n"
           "Input:\n"
           "  -f, --filter BPF        count only packets matching BPF\n"
           "      --drop LIST         do not count packets matching any of these filters\n"
           "      --count N           stop after N input packets\n"
           "\n"
           "Reporting:\n"
           "      --stats             print counters to standard error at the end\n"
           "  -j, --json              --stats as one JSON object\n"
           "      --progress, --no-progress   progress line (default: when stderr is a tty)\n"
           "  -q, --quiet             no summary line\n"
           "  -h, --help              this help\n"
           "  -V, --version           version\n"
           "\n"
           "SIGINT/SIGTERM: stop reading, write the current interval as a complete file,\n"
           "exit 0. Exit status: 0 success, 1 runtime error, 2 usage error.\n"
           "See sd-flowtuple(1).\n");
}

/* ---------------------------------------------------------------- files */

struct outfile {
    sd_avro_writer *w;
    uint64_t period;       /* rotation period of the open (or last) file */
    int closed;            /* a file of this stream was closed: period is its */
    char path[PATH_MAX];
};

struct writer {
    const char *dir;
    const char *tmpl;
    const char *monitor;
    const char *cmdline;
    uint32_t interval;
    unsigned rotate;
    unsigned nfiles;           /* 1 (merged) or workers (interim) */
    int interim;
    sd_avro_writer_opts opts;
    struct outfile *files;
    uint64_t files_written, records, late_files;
    int failed;                /* the first error (negative sd_err) */
    sd_ft4 *ft4;               /* --format ft4: the folder, else NULL */
    char err[SD_ERRBUF_SIZE + PATH_MAX];
};

/* DIR/<template with %P %N %s and strftime's codes replaced>.avro[--n];
 * DIR is taken literally. */
static int file_name(const struct writer *s, uint64_t start, int worker, char *out, size_t size)
{
    int w = snprintf(out, size, "%s/", s->dir);
    if (w < 0 || (size_t)w >= size)
        return -1;
    size_t k = (size_t)w;
    if (sd_cli_expand_name(out + k, size - k, s->tmpl, start, s->monitor, "flowtuple") != 0)
        return -1;
    k += strlen(out + k);
    w = worker >= 0 ? snprintf(out + k, size - k, ".avro--%d", worker)
                    : snprintf(out + k, size - k, ".avro");
    return w < 0 || (size_t)w >= size - k ? -1 : 0;
}

static int fail(struct writer *s, int rc, const char *fmt, ...) SD_CLI_PRINTF(3, 4);
static int fail(struct writer *s, int rc, const char *fmt, ...)
{
    if (s->failed == 0) {
        s->failed = rc;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(s->err, sizeof s->err, fmt, ap);
        va_end(ap);
    }
    return rc;
}

static int close_file(struct writer *s, struct outfile *f)
{
    char errbuf[SD_ERRBUF_SIZE];
    errbuf[0] = '\0';
    int rc = sd_avro_writer_close(f->w, errbuf);
    f->w = NULL;
    f->closed = 1;
    if (rc != 0)
        return fail(s, rc, "%s", errbuf);
    s->files_written++;
    return 0;
}

static int open_file(struct writer *s, struct outfile *f, const char *path)
{
    char errbuf[SD_ERRBUF_SIZE];
    errbuf[0] = '\0';
    if (sd_cli_make_parents(path, strlen(s->dir) + 1) != 0)
        return fail(s, SD_ERR_IO, "cannot create the directories of %s: %s", path,
                    strerror(errno));
    char iv[16];
    snprintf(iv, sizeof iv, "%u", (unsigned)s->interval);
    const char *const meta[] = {"stardust.ft3.interval", iv, NULL};
    int rc = sd_cli_avro_open(&f->w, path, SD_AVRO_SCHEMA_FT3, &s->opts, "sd-flowtuple",
                              s->cmdline, meta, errbuf);
    if (rc != 0)
        return fail(s, rc, "%s", errbuf);
    snprintf(f->path, sizeof f->path, "%s", path);
    return 0;
}

static int write_recs(struct writer *s, struct outfile *f, const sd_ft3_record *recs, size_t n)
{
    if (n == 0)
        return 0;
    int rc = sd_avro_write_ft3(f->w, recs, n);
    if (rc < 0) {
        fail(s, rc, "%s", sd_errmsg(f->w));
        sd_avro_writer_discard(f->w);
        f->w = NULL;
        return rc;
    }
    s->records += n;
    return 0;
}

/* A chunk of an interval whose file is already closed (a worker that lagged
 * two intervals behind, `late_chunks`): its own file, never replacing a
 * written one. */
static int write_late(struct writer *s, const sd_ft_chunk_info *info, const sd_ft3_record *recs,
                      size_t n)
{
    char base[PATH_MAX], path[PATH_MAX + 16];
    if (file_name(s, info->time, s->interim ? info->worker : -1, base, sizeof base) != 0)
        return fail(s, SD_ERR_INVAL, "file name too long for template %s", s->tmpl);
    for (unsigned k = 1;; k++) {
        snprintf(path, sizeof path, "%s.late%u", base, k);
        if (access(path, F_OK) != 0)
            break;
    }
    struct outfile f;
    memset(&f, 0, sizeof f);
    int rc = open_file(s, &f, path);
    if (rc == 0)
        rc = write_recs(s, &f, recs, n);
    if (rc == 0 && (rc = close_file(s, &f)) == 0)
        s->late_files++;
    return rc;
}

static int on_chunk(void *user, const sd_ft_chunk_info *info, const sd_ft3_record *recs, size_t n)
{
    struct writer *s = user;
    if (s->failed != 0)
        return s->failed;
    if (s->ft4 != NULL) {
        int rc = sd_ft4_add(s->ft4, recs, n);
        /* A final chunk completes its interval (merged mode: every
         * worker's part); FT4 intervals that end there can be written. */
        if (rc == 0 && info->final)
            rc = sd_ft4_advance(s->ft4, info->end);
        if (rc < 0)
            return fail(s, rc, "%s", sd_errmsg(s->ft4));
        s->records += n;
        return 0;
    }
    struct outfile *f = &s->files[s->interim && info->worker >= 0 ? (unsigned)info->worker : 0];
    const uint64_t span = (uint64_t)s->interval * s->rotate;
    const uint64_t period = s->rotate ? info->time / span : 0;
    int rc;
    /* Never reopen (and so replace) a file of this run. */
    if ((f->w != NULL || f->closed) && period < f->period + (f->w == NULL))
        return write_late(s, info, recs, n);
    if (f->w != NULL && period != f->period && (rc = close_file(s, f)) != 0)
        return rc;
    if (f->w == NULL) {
        if (n == 0)
            return 0; /* no file for nothing */
        char path[PATH_MAX];
        if (file_name(s, info->time, s->interim ? info->worker : -1, path, sizeof path) != 0)
            return fail(s, SD_ERR_INVAL, "file name too long for template %s", s->tmpl);
        if ((rc = open_file(s, f, path)) != 0)
            return rc;
        f->period = period;
    }
    if ((rc = write_recs(s, f, recs, n)) != 0)
        return rc;
    /* Complete: the last interval of its rotation period is final. */
    if (info->final && s->rotate != 0 && info->end % span == 0)
        return close_file(s, f);
    return 0;
}

/* At the end: close (or, after a failure, discard) every open file. */
static int writer_end(struct writer *s)
{
    int rc = 0;
    for (unsigned i = 0; i < s->nfiles; i++) {
        if (s->files[i].w == NULL)
            continue;
        if (s->failed != 0) {
            sd_avro_writer_discard(s->files[i].w);
            s->files[i].w = NULL;
        } else if (close_file(s, &s->files[i]) != 0) {
            rc = s->failed;
        }
    }
    return rc != 0 ? rc : s->failed;
}

/* ---------------------------------------------------------------- workers */

struct batch {
    size_t n;
    uint64_t horizon;          /* latest timestamp read before this batch */
    size_t used;               /* bytes of arena in use */
    sd_packet pkt[BATCH];
    const sd_packet *ptr[BATCH];
    sd_tags tags[BATCH];
    uint8_t *arena;
};

struct worker {
    sd_flowtuple_worker *fw;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct batch b[QUEUE];
    unsigned head, count;      /* ring of filled batches */
    int eof;                   /* no more batches */
    int *failed;               /* shared: first worker error */
    pthread_mutex_t *fail_mu;
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (;;) {
        pthread_mutex_lock(&w->mu);
        while (w->count == 0 && !w->eof)
            pthread_cond_wait(&w->cv, &w->mu);
        if (w->count == 0) {
            pthread_mutex_unlock(&w->mu);
            break;
        }
        struct batch *b = &w->b[w->head];
        pthread_mutex_unlock(&w->mu);
        pthread_mutex_lock(w->fail_mu);
        int stop = *w->failed != 0;
        pthread_mutex_unlock(w->fail_mu);
        if (!stop) {
            int rc = 0;
            if (b->horizon != 0)
                rc = sd_flowtuple_tick(w->fw, b->horizon);
            if (rc >= 0)
                rc = sd_flowtuple_add(w->fw, b->ptr, NULL, NULL, b->n);
            if (rc < 0) {
                pthread_mutex_lock(w->fail_mu);
                if (*w->failed == 0)
                    *w->failed = rc;
                pthread_mutex_unlock(w->fail_mu);
            }
        }
        pthread_mutex_lock(&w->mu);
        w->head = (w->head + 1) % QUEUE;
        w->count--;
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
    }
    return NULL;
}

/* The next free batch of w (waits while its queue is full). */
static struct batch *batch_get(struct worker *w)
{
    pthread_mutex_lock(&w->mu);
    while (w->count == QUEUE)
        pthread_cond_wait(&w->cv, &w->mu);
    struct batch *b = &w->b[(w->head + w->count) % QUEUE];
    pthread_mutex_unlock(&w->mu);
    b->n = 0;
    b->used = 0;
    return b;
}

static void batch_put(struct worker *w)
{
    pthread_mutex_lock(&w->mu);
    w->count++;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
}

static void workers_end(struct worker *ws, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        pthread_mutex_lock(&ws[i].mu);
        ws[i].eof = 1;
        pthread_cond_broadcast(&ws[i].cv);
        pthread_mutex_unlock(&ws[i].mu);
    }
    for (unsigned i = 0; i < n; i++)
        pthread_join(ws[i].thread, NULL);
}

/* ---------------------------------------------------------------- stats */

struct counts {
    uint64_t in;
    sd_cli_drop drop;
};

static void print_stats(const sd_flowtuple *ft, const struct counts *k, const struct writer *s,
                        int json)
{
    sd_flowtuple_stats st;
    memset(&st, 0, sizeof st);
    sd_flowtuple_get_stats(ft, &st);
    sd_cli_out o;
    if (sd_cli_out_init(&o, stderr, 4096) != 0)
        return;
    if (json) {
        sd_cli_json_begin(&o);
        sd_cli_json_u64(&o, "packets_in", k->in);
        sd_cli_json_u64(&o, "dropped", k->drop.dropped);
        sd_cli_json_u64(&o, "counted", st.counted);
        sd_cli_json_u64(&o, "not_ipv4", st.not_ipv4);
        sd_cli_json_u64(&o, "previnterval", st.previnterval);
        sd_cli_json_u64(&o, "intervals", st.intervals);
        sd_cli_json_u64(&o, "records", s->records);
        sd_cli_json_u64(&o, "files", s->files_written);
        sd_cli_json_u64(&o, "late_files", s->late_files);
        sd_cli_json_u64(&o, "early_flushes", st.early_flushes);
        sd_cli_json_u64(&o, "spills", st.spills);
        sd_cli_json_u64(&o, "max_live", st.max_live);
        if (s->ft4 != NULL) {
            sd_ft4_stats fs;
            fs.size = sizeof fs;
            if (sd_ft4_get_stats(s->ft4, &fs) == 0) {
                sd_cli_json_u64(&o, "ft4_records", fs.records_out);
                sd_cli_json_u64(&o, "ft4_intervals", fs.intervals);
                sd_cli_json_u64(&o, "ft4_early_records", fs.early_records);
                sd_cli_json_u64(&o, "ft4_early_packets", fs.early_packets);
            }
        }
        sd_cli_json_end(&o);
    } else {
        sd_cli_out_printf(&o,
                          "%s: stats: in %llu dropped %llu counted %llu not_ipv4 %llu "
                          "previnterval %llu intervals %llu records %llu files %llu\n",
                          sd_cli_prog(), (unsigned long long)k->in,
                          (unsigned long long)k->drop.dropped, (unsigned long long)st.counted,
                          (unsigned long long)st.not_ipv4, (unsigned long long)st.previnterval,
                          (unsigned long long)st.intervals, (unsigned long long)s->records,
                          (unsigned long long)s->files_written);
    }
    sd_cli_out_close(&o);
}

/* ---------------------------------------------------------------- main */

enum {
    OPT_CODEC = 256, OPT_NO_DONE, OPT_INTERIM, OPT_MAX_TUPLES, OPT_ALIGN_FIRST, OPT_UNSORTED,
    OPT_DST_COMPAT, OPT_DROP, OPT_COUNT, OPT_STATS, OPT_PROGRESS, OPT_NO_PROGRESS,
    OPT_FORMAT, OPT_FT4_PREFIX, OPT_FT4_INTERVAL
};

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"output-dir", required_argument, NULL, 'o'},
        {"template", required_argument, NULL, 't'},
        {"monitor-id", required_argument, NULL, 'm'},
        {"rotate", required_argument, NULL, 'r'},
        {"codec", required_argument, NULL, OPT_CODEC},
        {"no-done", no_argument, NULL, OPT_NO_DONE},
        {"interim", no_argument, NULL, OPT_INTERIM},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"ft4-prefix", required_argument, NULL, OPT_FT4_PREFIX},
        {"ft4-interval", required_argument, NULL, OPT_FT4_INTERVAL},
        {"interval", required_argument, NULL, 'i'},
        {"threads", required_argument, NULL, 'n'},
        {"max-tuples", required_argument, NULL, OPT_MAX_TUPLES},
        {"align-first", no_argument, NULL, OPT_ALIGN_FIRST},
        {"unsorted", no_argument, NULL, OPT_UNSORTED},
        {"dst-octet-compat", no_argument, NULL, OPT_DST_COMPAT},
        SD_CLI_PROVIDER_LONGOPTS,
        {"filter", required_argument, NULL, 'f'},
        {"drop", required_argument, NULL, OPT_DROP},
        {"count", required_argument, NULL, OPT_COUNT},
        {"stats", no_argument, NULL, OPT_STATS},
        {"json", no_argument, NULL, 'j'},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    sd_cli_init("sd-flowtuple", "-o DIR [options] URI");

    const char *dir = NULL, *tmpl = "%N-%P-%s", *monitor = NULL, *bpf = NULL;
    unsigned interval = 60, threads = 1, rotate = 1;
    unsigned flags = 0;
    uint64_t max_tuples = 0, count = 0;
    int done_file = 1, want_stats = 0, json = 0, progress_mode = -1, quiet = 0;
    int codec = SD_AVRO_DEFLATE, st;
    int ft4 = 0, ft4_opts = 0, rotate_given = 0, tmpl_given = 0;
    unsigned ft4_prefix = SD_FT4_DEFAULT_PREFIX_LEN, ft4_interval = SD_FT4_DEFAULT_INTERVAL;
    static sd_cli_providers prov;
    struct counts k;
    memset(&k, 0, sizeof k);

    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":o:t:m:r:i:n:f:jqhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'o':
            dir = optarg;
            break;
        case 't':
            if (optarg[0] == '\0' || optarg[0] == '/')
                return sd_cli_usage("invalid template '%s': a non-empty name inside DIR",
                                    optarg);
            tmpl = optarg;
            tmpl_given = 1;
            break;
        case 'm':
            if (optarg[0] == '\0' || strpbrk(optarg, "/%") != NULL)
                return sd_cli_usage("invalid monitor id '%s': no '/' or '%%', not empty",
                                    optarg);
            monitor = optarg;
            break;
        case 'r':
            if (sd_cli_parse_uint(optarg, "rotation", 0, 1000000, &rotate) != 0)
                return sd_cli_usage_hint();
            rotate_given = 1;
            break;
        case OPT_FORMAT:
            if (strcmp(optarg, "ft3") == 0)
                ft4 = 0;
            else if (strcmp(optarg, "ft4") == 0)
                ft4 = 1;
            else
                return sd_cli_usage("invalid format '%s': expected ft3 or ft4", optarg);
            break;
        case OPT_FT4_PREFIX:
            if ((st = sd_cli_parse_ft4_prefix(optarg, &ft4_prefix)) != 0)
                return st;
            ft4_opts = 1;
            break;
        case OPT_FT4_INTERVAL:
            if (sd_cli_parse_uint(optarg, "FT4 interval", 1, SD_FT4_MAX_INTERVAL,
                                  &ft4_interval) != 0)
                return sd_cli_usage_hint();
            ft4_opts = 1;
            break;
        case OPT_CODEC:
            if ((st = sd_cli_parse_codec(optarg, &codec)) != 0)
                return st;
            break;
        case OPT_NO_DONE:
            done_file = 0;
            break;
        case OPT_INTERIM:
            flags |= SD_FT_INTERIM;
            break;
        case 'i':
            if (sd_cli_parse_uint(optarg, "interval", 1, 86400, &interval) != 0)
                return sd_cli_usage_hint();
            break;
        case 'n':
            if (sd_cli_parse_uint(optarg, "thread count", 1, 256, &threads) != 0)
                return sd_cli_usage_hint();
            break;
        case OPT_MAX_TUPLES:
            if (sd_cli_parse_u64(optarg, "tuple bound", 1024, UINT64_MAX >> 8, &max_tuples) != 0)
                return sd_cli_usage_hint();
            break;
        case OPT_ALIGN_FIRST:
            flags |= SD_FT_ALIGN_FIRST;
            break;
        case OPT_UNSORTED:
            flags |= SD_FT_UNSORTED;
            break;
        case OPT_DST_COMPAT:
            flags |= SD_FT_DST_OCTET_COMPAT;
            break;
        case 'f':
            bpf = optarg;
            break;
        case OPT_DROP:
            if (sd_cli_drop_parse(&k.drop, optarg) != 0)
                return sd_cli_usage_hint();
            break;
        case OPT_COUNT:
            if (sd_cli_parse_u64(optarg, "count", 1, UINT64_MAX, &count) != 0)
                return sd_cli_usage_hint();
            break;
        case OPT_STATS:
            want_stats = 1;
            break;
        case 'j':
            json = 1;
            break;
        case OPT_PROGRESS:
            progress_mode = 1;
            break;
        case OPT_NO_PROGRESS:
            progress_mode = 0;
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
            int pr = sd_cli_providers_opt(&prov, c, optarg);
            if (pr < 0)
                return SD_CLI_EXIT_USAGE;
            if (pr == 0)
                return sd_cli_usage_getopt(c, argv);
            break;
        }
        }
    }
    if (dir == NULL)
        return sd_cli_usage("no output directory: give -o DIR");
    if (optind >= argc)
        return sd_cli_usage("no input URI");
    if (argc - optind > 1)
        return sd_cli_usage("one input URI only (got %d)", argc - optind);
    const char *uri = argv[optind];
    if (ft4_opts && !ft4)
        return sd_cli_usage("--ft4-prefix and --ft4-interval need --format ft4");
    if (ft4 && (flags & SD_FT_INTERIM))
        return sd_cli_usage("--format ft4 folds every worker's records: no --interim");
    if (ft4 && rotate_given)
        return sd_cli_usage("--rotate applies to FT3 files: FT4 has one file per interval");
    if (ft4 && tmpl_given && strstr(tmpl, "%s") == NULL)
        return sd_cli_usage("--format ft4: the template must contain %%s (the interval start)");

    char host[256];
    if (monitor == NULL) {
        /* Default %N: the short host name, as old corsaro's monitor name
         * was the host's. */
        if (gethostname(host, sizeof host) != 0 || host[0] == '\0')
            snprintf(host, sizeof host, "stardust");
        host[sizeof host - 1] = '\0';
        host[strcspn(host, "./%")] = '\0';
        if (host[0] == '\0')
            snprintf(host, sizeof host, "stardust");
        monitor = host;
    }
    {
        /* fail early, before any packet, when DIR cannot hold files */
        char why[PATH_MAX + 128];
        if (sd_cli_check_out_dir(dir, NULL, why, sizeof why) != 0) {
            sd_cli_error("%s", why);
            return SD_CLI_EXIT_RUNTIME;
        }
    }

    int status = SD_CLI_EXIT_OK;
    int rc;
    char errbuf[SD_ERRBUF_SIZE];
    sd_tagger *tagger = NULL;
    sd_flowtuple *ft = NULL;
    sd_source *src = NULL;
    sd_ft4 *f4 = NULL;
    sd_cli_ft4out fo;
    char ft4out[PATH_MAX];
    int fo_used = 0;
    struct worker *ws = NULL;
    unsigned started = 0;
    int worker_failed = 0;
    pthread_mutex_t fail_mu = PTHREAD_MUTEX_INITIALIZER;
    struct writer s;
    memset(&s, 0, sizeof s);
    s.dir = dir;
    s.tmpl = tmpl;
    s.monitor = monitor;
    s.interval = interval;
    s.rotate = rotate;
    s.interim = (flags & SD_FT_INTERIM) != 0;
    s.nfiles = s.interim ? threads : 1;
    sd_avro_writer_opts_init(&s.opts);
    s.opts.codec = codec;
    s.opts.done_file = done_file;
    s.cmdline = sd_cli_join_args(argc, argv);
    s.files = calloc(s.nfiles, sizeof *s.files);
    if (s.files == NULL || s.cmdline == NULL) {
        sd_cli_error("out of memory");
        status = SD_CLI_EXIT_RUNTIME;
        goto out;
    }

    if (ft4) {
        if (tmpl_given)
            snprintf(ft4out, sizeof ft4out, "%s/%s", dir, tmpl);
        else
            snprintf(ft4out, sizeof ft4out, "%s", dir);
        sd_cli_ft4out_init(&fo, ft4out, "sd-flowtuple");
        fo.monitor = monitor;
        if (tmpl_given)
            fo.literal = strlen(dir) + 1; /* as for FT3 file names */
        fo.opts.codec = codec;
        fo.opts.done_file = done_file;
        fo.cmdline = s.cmdline;
        fo_used = 1;
        sd_ft4_config fc;
        sd_ft4_config_init(&fc);
        fc.dst_prefix_len = (uint8_t)ft4_prefix;
        fc.interval = ft4_interval;
        if ((rc = sd_ft4_create(&f4, &fc, sd_cli_ft4out_emit, &fo, errbuf)) != 0) {
            sd_cli_liberror(rc, errbuf);
            status = SD_CLI_EXIT_RUNTIME;
            goto out;
        }
        fo.ft4 = f4;
        s.ft4 = f4;
    }

    if (prov.n > 0) {
        sd_tagger_config tc;
        sd_tagger_config_init(&tc);
        rc = sd_cli_providers_apply(&prov, &tc);
        if (rc == 0)
            rc = sd_tagger_config_build(&tc, &tagger, errbuf);
        else
            snprintf(errbuf, sizeof errbuf, "%s", sd_strerror(rc));
        sd_tagger_config_free(&tc);
        if (rc != 0) {
            sd_cli_liberror(rc, errbuf);
            status = SD_CLI_EXIT_RUNTIME;
            goto out;
        }
    }

    sd_flowtuple_config cfg;
    sd_flowtuple_config_init(&cfg);
    cfg.interval = interval;
    cfg.workers = threads;
    cfg.flags = flags;
    cfg.max_tuples = max_tuples;
    cfg.tagger = tagger;
    cfg.output = on_chunk;
    cfg.user = &s;
    if ((rc = sd_flowtuple_create(&ft, &cfg, errbuf)) != 0) {
        sd_cli_liberror(rc, errbuf);
        status = SD_CLI_EXIT_RUNTIME;
        goto out;
    }

    if ((rc = sd_source_open(&src, uri, errbuf)) != 0) {
        sd_cli_liberror(rc, errbuf);
        status = SD_CLI_EXIT_RUNTIME;
        goto out;
    }
    if (bpf != NULL && (rc = sd_source_set_filter(src, bpf)) != 0) {
        sd_cli_liberror(rc, sd_errmsg(src));
        status = rc == SD_ERR_FILTER ? SD_CLI_EXIT_USAGE : SD_CLI_EXIT_RUNTIME;
        goto out;
    }
    sd_cli_signals_install();

    if (threads > 1) {
        ws = calloc(threads, sizeof *ws);
        if (ws == NULL) {
            sd_cli_error("out of memory");
            status = SD_CLI_EXIT_RUNTIME;
            goto out;
        }
        /* Signals go to the reading thread only. */
        sigset_t block, old;
        sigemptyset(&block);
        sigaddset(&block, SIGINT);
        sigaddset(&block, SIGTERM);
        pthread_sigmask(SIG_BLOCK, &block, &old);
        for (unsigned i = 0; i < threads; i++) {
            struct worker *w = &ws[i];
            w->fw = sd_flowtuple_worker_get(ft, i);
            w->failed = &worker_failed;
            w->fail_mu = &fail_mu;
            pthread_mutex_init(&w->mu, NULL);
            pthread_cond_init(&w->cv, NULL);
            int bad = 0;
            for (unsigned q = 0; q < QUEUE; q++) {
                w->b[q].arena = malloc(ARENA);
                bad |= w->b[q].arena == NULL;
                for (unsigned j = 0; j < BATCH; j++) /* fixed: the batch's own packets */
                    w->b[q].ptr[j] = &w->b[q].pkt[j];
            }
            if (bad || pthread_create(&w->thread, NULL, worker_main, w) != 0) {
                sd_cli_error("cannot start worker thread %u", i);
                status = SD_CLI_EXIT_RUNTIME;
                break;
            }
            started++;
        }
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        if (status != SD_CLI_EXIT_OK)
            goto out;
    }

    sd_cli_progress prog;
    sd_cli_progress_init(&prog, progress_mode);
    sd_flowtuple_worker *w0 = sd_flowtuple_worker_get(ft, 0);
    uint64_t horizon = 0;
    unsigned next = 0;
    const sd_packet *pkts[BATCH];
    while (!sd_cli_stop && (count == 0 || k.in < count)) {
        size_t want = BATCH;
        if (count != 0 && count - k.in < want)
            want = (size_t)(count - k.in);
        int n = sd_source_read(src, pkts, want);
        if (n == 0)
            continue;
        if (n == SD_EOF)
            break;
        if (n < 0) {
            sd_cli_progress_clear(&prog);
            sd_cli_liberror(n, sd_errmsg(src));
            status = SD_CLI_EXIT_RUNTIME;
            break;
        }
        k.in += (uint64_t)n;
        size_t keep = sd_cli_drop_apply(&k.drop, pkts, (size_t)n);
        if (threads == 1) {
            rc = keep ? sd_flowtuple_add(w0, pkts, NULL, NULL, keep) : 0;
            if (rc < 0) {
                worker_failed = rc;
                break;
            }
        } else {
            pthread_mutex_lock(&fail_mu);
            int failed = worker_failed;
            pthread_mutex_unlock(&fail_mu);
            if (failed)
                break;
            /* Copy into the next worker's batch buffers; a batch whose
             * arena fills up goes out early and the next worker takes the
             * rest. */
            struct batch *b = NULL;
            for (size_t i = 0; i < keep; i++) {
                const sd_packet *p = pkts[i];
                if (b != NULL && ARENA - b->used < p->caplen) {
                    batch_put(&ws[next]);
                    next = (next + 1) % threads;
                    b = NULL;
                }
                if (b == NULL) {
                    b = batch_get(&ws[next]);
                    b->horizon = horizon;
                }
                sd_packet *q = &b->pkt[b->n];
                *q = *p;
                uint32_t len = p->caplen <= ARENA ? p->caplen : ARENA;
                memcpy(b->arena + b->used, p->data, len);
                q->data = b->arena + b->used;
                q->caplen = len;
                b->used += len;
                if (p->tags != NULL) {
                    b->tags[b->n] = *p->tags;
                    q->tags = &b->tags[b->n];
                }
                b->n++;
                if (p->ts > horizon)
                    horizon = p->ts;
            }
            if (b != NULL) {
                batch_put(&ws[next]);
                next = (next + 1) % threads;
            }
        }
        sd_cli_progress_update_dropped(&prog, k.in, k.drop.dropped);
    }
    sd_cli_progress_clear(&prog);
    if (ws != NULL) {
        workers_end(ws, started);
        started = 0;
    }
    if (worker_failed != 0) {
        /* The current interval is incomplete: its files go, not closed. */
        if (s.failed == 0) {
            sd_cli_liberror(worker_failed, sd_errmsg(ft));
            s.failed = worker_failed;
            s.err[0] = '\0';
        }
        status = SD_CLI_EXIT_RUNTIME;
    } else if ((rc = sd_flowtuple_finish(ft)) != 0) {
        if (s.failed == 0)
            sd_cli_liberror(rc, sd_errmsg(ft));
        status = SD_CLI_EXIT_RUNTIME;
    } else if (f4 != NULL && s.failed == 0 && (rc = sd_ft4_flush(f4)) != 0) {
        fail(&s, rc, "%s", sd_errmsg(f4));
    }
    if (fo_used) {
        /* The FT4 files: kept only if the whole run went well. */
        int ok = status == SD_CLI_EXIT_OK && s.failed == 0;
        (void)sd_cli_ft4out_end(&fo, ok);
        if (fo.err[0] != '\0') {
            /* A file error is the cause: sd_ft4 only reported that its
             * emit failed. */
            s.failed = fo.failed;
            snprintf(s.err, sizeof s.err, "%s", fo.err);
        }
        s.files_written = fo.files;
        fo_used = 0;
    }
    if (writer_end(&s) != 0) {
        if (s.err[0] != '\0')
            sd_cli_liberror(s.failed, s.err);
        status = SD_CLI_EXIT_RUNTIME;
    }
    if (want_stats)
        print_stats(ft, &k, &s, json);
    else if (!quiet && status == SD_CLI_EXIT_OK && sd_cli_stop)
        sd_cli_error("interrupted: %llu packets read, %llu files written",
                     (unsigned long long)k.in, (unsigned long long)s.files_written);

out:
    if (ws != NULL) {
        workers_end(ws, started);
        for (unsigned i = 0; i < threads; i++)
            for (unsigned q = 0; q < QUEUE; q++)
                free(ws[i].b[q].arena);
        free(ws);
    }
    if (s.files != NULL) {
        s.failed = s.failed ? s.failed : SD_ERR_STATE; /* discard what is still open */
        writer_end(&s);
    }
    if (fo_used)
        sd_cli_ft4out_end(&fo, 0);
    sd_source_close(src);
    sd_flowtuple_destroy(ft);
    sd_ft4_destroy(f4);
    sd_tagger_destroy(tagger);
    free(s.files);
    free((void *)s.cmdline);
    return status;
}
