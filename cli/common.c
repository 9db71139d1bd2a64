/* stardust CLI helpers shared by the sd-* tools (see common.h). */
#define _POSIX_C_SOURCE 200809L
#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include <stardust/avro.h>
#include <stardust/err.h>
#include <stardust/filterbits.h>
#include <stardust/packet.h>
#include <stardust/parse.h>
#include <stardust/tag.h>
#include <stardust/tagger_config.h>
#include <stardust/version.h>

static const char *cli_prog = "stardust";
static const char *cli_synopsis = "[options]";

void sd_cli_init(const char *prog, const char *synopsis)
{
    if (prog != NULL)
        cli_prog = prog;
    if (synopsis != NULL)
        cli_synopsis = synopsis;
    tzset();
}

const char *sd_cli_prog(void)
{
    return cli_prog;
}

/* ---------------------------------------------------------------- diagnostics */

static void verror(const char *fmt, va_list ap) SD_CLI_PRINTF(1, 0);
static void verror(const char *fmt, va_list ap)
{
    char msg[1024];
    int n = snprintf(msg, sizeof msg, "%s: ", cli_prog);
    if (n < 0 || (size_t)n >= sizeof msg)
        n = 0;
    vsnprintf(msg + n, sizeof msg - (size_t)n - 1, fmt, ap);
    /* One write (stderr is unbuffered) so concurrent output cannot split it. */
    strcat(msg, "\n");
    fputs(msg, stderr);
}

void sd_cli_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
}

void sd_cli_liberror(int err, const char *detail)
{
    if (detail == NULL || detail[0] == '\0')
        detail = sd_strerror(err);
    fprintf(stderr, "%s: %s (%s)\n", cli_prog, detail, sd_errname(err));
}

int sd_cli_usage_hint(void)
{
    fprintf(stderr, "usage: %s %s\nTry '%s --help' for more information.\n", cli_prog,
            cli_synopsis, cli_prog);
    return SD_CLI_EXIT_USAGE;
}

int sd_cli_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror(fmt, ap);
    va_end(ap);
    return sd_cli_usage_hint();
}

int sd_cli_usage_getopt(int c, char *const argv[])
{
    if (c == ':')
        return sd_cli_usage("option '%s' needs a value", argv[optind - 1]);
    /* optopt is the short option, or for a long one given a value it does
     * not take, the option's val (256 and up when it has no short form):
     * name such long options by their text. */
    if (optopt > 0 && optopt < 256)
        return sd_cli_usage("unknown option '-%c'", optopt);
    return sd_cli_usage("unknown option '%s'", argv[optind - 1]);
}

void sd_cli_version(void)
{
    printf("%s (stardust) %s\nlibstardust %s\n", cli_prog, SD_VERSION_STRING,
           sd_version_string());
}

/* ---------------------------------------------------------------- numbers */

int sd_cli_parse_uint(const char *text, const char *what, uint64_t min, uint64_t max,
                      unsigned *out)
{
    uint64_t v;
    if (sd_cli_parse_u64(text, what, min, max, &v) != 0)
        return -1;
    *out = (unsigned)v;
    return 0;
}

int sd_cli_parse_u64(const char *text, const char *what, uint64_t min, uint64_t max,
                     uint64_t *out)
{
    const char *p = text;
    uint64_t v = 0;
    int ok = *p != '\0';
    for (; ok && *p; p++) {
        if (*p < '0' || *p > '9') {
            ok = 0;
            break;
        }
        unsigned d = (unsigned)(*p - '0');
        if (v > (UINT64_MAX - d) / 10) {
            ok = 0;
            break;
        }
        v = v * 10 + d;
    }
    if (!ok || v < min || v > max) {
        sd_cli_error("invalid %s '%s': expected an integer from %llu to %llu", what, text,
                     (unsigned long long)min, (unsigned long long)max);
        return -1;
    }
    *out = v;
    return 0;
}

int sd_cli_parse_double(const char *text, const char *what, double min, double max, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (text[0] == '\0' || end == text || *end != '\0' || errno != 0 || !isfinite(v) || v < min ||
        v > max) {
        sd_cli_error("invalid %s '%s': expected a number from %g to %g", what, text, min, max);
        return -1;
    }
    *out = v;
    return 0;
}

/* ---------------------------------------------------------------- signals */

volatile sig_atomic_t sd_cli_stop = 0;

static void on_signal(int sig)
{
    (void)sig;
    if (sd_cli_stop)
        _exit(SD_CLI_EXIT_RUNTIME);
    sd_cli_stop = 1;
}

int sd_cli_signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0; /* no SA_RESTART: let a blocking read return */
    /* A shell starts background jobs with SIGINT ignored (no job control):
     * keep it so, as the job's owner expects Ctrl-C to leave it alone. */
    struct sigaction old;
    if (sigaction(SIGINT, NULL, &old) != 0)
        return -1;
    if (old.sa_handler != SIG_IGN && sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    if (sigaction(SIGTERM, &sa, NULL) != 0)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------- terminal */

int sd_cli_refuse_binary_tty(int fd, int force)
{
    if (!force && isatty(fd)) {
        sd_cli_error("refusing to write binary data to a terminal; redirect the output or use "
                     "--force");
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------- progress */

static uint64_t now_ns(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Same terminal on both streams: progress lines would cut through data. */
static int same_tty(int a, int b)
{
    struct stat sa, sb;
    if (!isatty(a) || !isatty(b))
        return 0;
    if (fstat(a, &sa) != 0 || fstat(b, &sb) != 0)
        return 0;
    return sa.st_rdev == sb.st_rdev;
}

void sd_cli_progress_init(sd_cli_progress *p, int mode)
{
    memset(p, 0, sizeof *p);
    if (mode < 0)
        p->enabled = isatty(STDERR_FILENO) && !same_tty(STDOUT_FILENO, STDERR_FILENO);
    else
        p->enabled = mode != 0;
    p->start_ns = p->last_ns = now_ns();
}

const char *sd_cli_human(char *buf, size_t size, double n)
{
    static const char suffix[] = " kMGTPE";
    unsigned i = 0;
    while (n >= 999.5 && i + 1 < sizeof suffix - 1) {
        n /= 1000.0;
        i++;
    }
    if (i == 0)
        snprintf(buf, size, "%.0f", n);
    else if (n < 9.995)
        snprintf(buf, size, "%.2f%c", n, suffix[i]);
    else if (n < 99.95)
        snprintf(buf, size, "%.1f%c", n, suffix[i]);
    else
        snprintf(buf, size, "%.0f%c", n, suffix[i]);
    return buf;
}

/* Whether a second has passed since the last line; *t gets the time. */
static int progress_due(const sd_cli_progress *p, uint64_t *t)
{
    if (!p->enabled)
        return 0;
    *t = now_ns();
    return *t - p->last_ns >= 1000000000u;
}

/* Draw "prog: pkts N  rate Rpps<tail>" over the previous line. */
static void progress_draw(sd_cli_progress *p, uint64_t t, uint64_t pkts, const char *tail)
{
    double rate = (double)(pkts - p->last_pkts) * 1e9 / (double)(t - p->last_ns);
    char a[16], b[16];
    fprintf(stderr, "\r%s: pkts %s  rate %spps%s\033[K", cli_prog,
            sd_cli_human(a, sizeof a, (double)pkts), sd_cli_human(b, sizeof b, rate), tail);
    fflush(stderr);
    p->drawn = 1;
    p->last_ns = t;
    p->last_pkts = pkts;
}

void sd_cli_progress_update(sd_cli_progress *p, uint64_t pkts, uint64_t filtered,
                            uint64_t malformed)
{
    uint64_t t;
    if (!progress_due(p, &t))
        return;
    char tail[80];
    snprintf(tail, sizeof tail, "  filtered %llu  malformed %llu", (unsigned long long)filtered,
             (unsigned long long)malformed);
    progress_draw(p, t, pkts, tail);
}

void sd_cli_progress_update_dropped(sd_cli_progress *p, uint64_t pkts, uint64_t dropped)
{
    uint64_t t;
    if (!progress_due(p, &t))
        return;
    char tail[40];
    snprintf(tail, sizeof tail, "  dropped %llu", (unsigned long long)dropped);
    progress_draw(p, t, pkts, tail);
}

void sd_cli_progress_update_pkts(sd_cli_progress *p, uint64_t pkts)
{
    uint64_t t;
    if (progress_due(p, &t))
        progress_draw(p, t, pkts, "");
}

void sd_cli_progress_clear(sd_cli_progress *p)
{
    if (p->drawn) {
        fputs("\r\033[K", stderr);
        fflush(stderr);
        p->drawn = 0;
    }
}

/* ---------------------------------------------------------------- output */

int sd_cli_out_init(sd_cli_out *o, FILE *fp, size_t cap)
{
    memset(o, 0, sizeof *o);
    o->fp = fp;
    o->cap = cap ? cap : (size_t)1 << 20;
    o->buf = malloc(o->cap);
    return o->buf ? 0 : -1;
}

static void out_write(sd_cli_out *o, const void *p, size_t n)
{
    if (n == 0 || o->failed)
        return;
    if (fwrite(p, 1, n, o->fp) != n) {
        o->failed = 1;
        o->err = errno ? errno : EIO;
    }
}

void sd_cli_out_slow(sd_cli_out *o, const void *p, size_t n)
{
    out_write(o, o->buf, o->len);
    o->len = 0;
    if (n > o->cap) {
        out_write(o, p, n);
        return;
    }
    memcpy(o->buf, p, n);
    o->len = n;
}

int sd_cli_out_flush(sd_cli_out *o)
{
    out_write(o, o->buf, o->len);
    o->len = 0;
    if (fflush(o->fp) != 0 && !o->failed) {
        o->failed = 1;
        o->err = errno ? errno : EIO;
    }
    return o->failed ? -1 : 0;
}

int sd_cli_out_close(sd_cli_out *o)
{
    int rc = o->buf ? sd_cli_out_flush(o) : 0;
    free(o->buf);
    o->buf = NULL;
    o->len = o->cap = 0;
    return rc;
}

void sd_cli_out_u64(sd_cli_out *o, uint64_t v)
{
    char tmp[20];
    size_t i = sizeof tmp;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sd_cli_out_mem(o, tmp + i, sizeof tmp - i);
}

void sd_cli_out_i64(sd_cli_out *o, int64_t v)
{
    if (v < 0) {
        sd_cli_out_char(o, '-');
        sd_cli_out_u64(o, (uint64_t)0 - (uint64_t)v);
    } else {
        sd_cli_out_u64(o, (uint64_t)v);
    }
}

void sd_cli_out_hex2(sd_cli_out *o, unsigned v)
{
    static const char hex[] = "0123456789abcdef";
    char t[2] = {hex[(v >> 4) & 15], hex[v & 15]};
    sd_cli_out_mem(o, t, 2);
}

void sd_cli_out_printf(sd_cli_out *o, const char *fmt, ...)
{
    char tmp[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof tmp) {
        sd_cli_out_mem(o, tmp, (size_t)n);
        return;
    }
    char *big = malloc((size_t)n + 1);
    if (big == NULL) {
        sd_cli_out_mem(o, tmp, sizeof tmp - 1);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(big, (size_t)n + 1, fmt, ap);
    va_end(ap);
    sd_cli_out_mem(o, big, (size_t)n);
    free(big);
}

/* ---------------------------------------------------------------- JSON */

/* Comma before a member or element when its container already has one. */
static void json_sep(sd_cli_out *o)
{
    uint32_t bit = (uint32_t)1 << (o->depth & 31);
    if (o->need_comma & bit)
        sd_cli_out_char(o, ',');
    o->need_comma |= bit;
}

static void json_open(sd_cli_out *o, char c)
{
    sd_cli_out_char(o, c);
    o->depth++;
    o->need_comma &= ~((uint32_t)1 << (o->depth & 31));
}

static void json_close(sd_cli_out *o, char c)
{
    if (o->depth > 0)
        o->depth--;
    sd_cli_out_char(o, c);
}

void sd_cli_json_key(sd_cli_out *o, const char *key)
{
    json_sep(o);
    if (key != NULL) {
        sd_cli_out_char(o, '"');
        sd_cli_out_str(o, key);
        sd_cli_out_mem(o, "\":", 2);
    }
}

void sd_cli_json_begin(sd_cli_out *o)
{
    o->depth = 0;
    o->need_comma = 0;
    json_open(o, '{');
}

void sd_cli_json_end(sd_cli_out *o)
{
    json_close(o, '}');
    if (o->depth == 0)
        sd_cli_out_char(o, '\n');
}

void sd_cli_json_obj(sd_cli_out *o, const char *key)
{
    sd_cli_json_key(o, key);
    json_open(o, '{');
}

void sd_cli_json_obj_end(sd_cli_out *o)
{
    json_close(o, '}');
}

void sd_cli_json_arr(sd_cli_out *o, const char *key)
{
    sd_cli_json_key(o, key);
    json_open(o, '[');
}

void sd_cli_json_arr_end(sd_cli_out *o)
{
    json_close(o, ']');
}

void sd_cli_json_u64(sd_cli_out *o, const char *key, uint64_t v)
{
    sd_cli_json_key(o, key);
    sd_cli_out_u64(o, v);
}

void sd_cli_json_i64(sd_cli_out *o, const char *key, int64_t v)
{
    sd_cli_json_key(o, key);
    sd_cli_out_i64(o, v);
}

void sd_cli_json_bool(sd_cli_out *o, const char *key, int v)
{
    sd_cli_json_key(o, key);
    if (v)
        sd_cli_out_mem(o, "true", 4);
    else
        sd_cli_out_mem(o, "false", 5);
}

void sd_cli_json_double(sd_cli_out *o, const char *key, double v)
{
    sd_cli_json_key(o, key);
    if (isfinite(v))
        sd_cli_out_printf(o, "%.17g", v);
    else
        sd_cli_out_mem(o, "null", 4);
}

size_t sd_cli_utf8_len(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len;
    uint32_t cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3fu);
    }
    /* Reject overlong forms, surrogates and values past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

void sd_cli_json_escape(sd_cli_out *o, const char *str, size_t n)
{
    const unsigned char *s = (const unsigned char *)str;
    sd_cli_out_char(o, '"');
    size_t run = 0; /* bytes copied through unchanged, flushed in one go */
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80) {
            run++;
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = sd_cli_utf8_len(s + i, n - i);
            if (l) {
                run += l;
                i += l;
                continue;
            }
        }
        sd_cli_out_mem(o, s + i - run, run);
        run = 0;
        switch (c) {
        case '"': sd_cli_out_mem(o, "\\\"", 2); break;
        case '\\': sd_cli_out_mem(o, "\\\\", 2); break;
        case '\n': sd_cli_out_mem(o, "\\n", 2); break;
        case '\r': sd_cli_out_mem(o, "\\r", 2); break;
        case '\t': sd_cli_out_mem(o, "\\t", 2); break;
        case '\b': sd_cli_out_mem(o, "\\b", 2); break;
        case '\f': sd_cli_out_mem(o, "\\f", 2); break;
        default:
            if (c < 0x20) {
                sd_cli_out_mem(o, "\\u00", 4);
                sd_cli_out_hex2(o, c);
            } else {
                sd_cli_out_mem(o, "\\ufffd", 6); /* invalid UTF-8 byte */
            }
        }
        i++;
    }
    sd_cli_out_mem(o, s + i - run, run);
    sd_cli_out_char(o, '"');
}

void sd_cli_json_strn(sd_cli_out *o, const char *key, const char *s, size_t n)
{
    sd_cli_json_key(o, key);
    sd_cli_json_escape(o, s, n);
}

void sd_cli_json_str(sd_cli_out *o, const char *key, const char *s)
{
    sd_cli_json_strn(o, key, s, strlen(s));
}

int sd_cli_parse_codec(const char *name, int *codec)
{
    if (strcmp(name, "deflate") == 0)
        *codec = SD_AVRO_DEFLATE;
    else if (strcmp(name, "null") == 0)
        *codec = SD_AVRO_NULL;
    else if (strcmp(name, "snappy") == 0)
        *codec = SD_AVRO_SNAPPY;
    else
        return sd_cli_usage("invalid codec '%s': expected deflate, null or snappy", name);
    if (!sd_avro_codec_supported(*codec)) {
        sd_cli_error("codec %s is not supported by this build", name);
        return SD_CLI_EXIT_RUNTIME;
    }
    return 0;
}

int sd_cli_parse_ft4_prefix(const char *arg, unsigned *len)
{
    if (strcmp(arg, "16") != 0 && strcmp(arg, "24") != 0)
        return sd_cli_usage("invalid FT4 prefix length '%s': expected 16 or 24", arg);
    *len = arg[0] == '1' ? 16 : 24;
    return 0;
}

int sd_cli_avro_open(sd_avro_writer **w, const char *path, int schema,
                     const sd_avro_writer_opts *opts, const char *tool, const char *cmdline,
                     const char *const *meta, char *errbuf)
{
    errbuf[0] = '\0';
    int rc = sd_avro_writer_open(w, path, sd_avro_schema_json(schema), opts, errbuf);
    if (rc != 0) {
        *w = NULL;
        return rc;
    }
    char name[128];
    snprintf(name, sizeof name, "%s %s", tool, SD_VERSION_STRING);
    rc = sd_avro_writer_set_meta(*w, "stardust.tool", name);
    if (rc == 0 && cmdline != NULL)
        rc = sd_avro_writer_set_meta(*w, "stardust.command", cmdline);
    for (size_t i = 0; rc == 0 && meta != NULL && meta[i] != NULL; i += 2)
        if (meta[i + 1] != NULL)
            rc = sd_avro_writer_set_meta(*w, meta[i], meta[i + 1]);
    if (rc != 0) {
        snprintf(errbuf, SD_ERRBUF_SIZE, "%s", sd_errmsg(*w));
        sd_avro_writer_discard(*w);
        *w = NULL;
    }
    return rc;
}

/* ---------------------------------------------------------------- --drop */

int sd_cli_drop_parse(sd_cli_drop *d, const char *list)
{
    char errbuf[SD_ERRBUF_SIZE] = "";
    uint64_t mask = 0;
    if (sd_filter_parse_list(list, &mask, errbuf) != 0) {
        sd_cli_error("--drop: %s", errbuf[0] ? errbuf : "invalid filter list");
        return -1;
    }
    d->mask |= mask;
    return 0;
}

size_t sd_cli_drop_apply(sd_cli_drop *d, const sd_packet **pkts, size_t n)
{
    if (d->mask == 0)
        return n;
    /* In chunks with the bulk calls: one sd_filterbits() per packet
     * evaluates a whole vector batch for it. */
    enum { CHUNK = 64 };
    sd_parsed pr[CHUNK];
    uint64_t fb[CHUNK];
    size_t kept = 0;
    for (size_t i = 0; i < n; i += CHUNK) {
        const size_t k = n - i < CHUNK ? n - i : CHUNK;
        size_t tagged = 0;
        for (size_t j = 0; j < k; j++)
            tagged += pkts[i + j]->tags != NULL;
        if (tagged < k) {
            (void)sd_parse_bulk(pkts + i, pr, k);
            (void)sd_filterbits_bulk(pr, pkts + i, fb, k);
        }
        for (size_t j = 0; j < k; j++) {
            const sd_packet *p = pkts[i + j];
            if ((p->tags != NULL ? p->tags->filterbits : fb[j]) & d->mask)
                d->dropped++;
            else
                pkts[kept++] = p;
        }
    }
    return kept;
}

/* ---------------------------------------------------------------- providers */

int sd_cli_providers_opt(sd_cli_providers *pv, int c, const char *arg)
{
    if (c != SD_CLI_OPT_PFX2AS && c != SD_CLI_OPT_MMDB && c != SD_CLI_OPT_MAXMIND_CSV &&
        c != SD_CLI_OPT_NETACQ)
        return 0;
    if (pv->n == SD_CLI_MAX_PROVIDERS) {
        sd_cli_usage("too many provider options");
        return -1;
    }
    pv->p[pv->n].opt = c;
    pv->p[pv->n].arg = arg;
    pv->n++;
    return 1;
}

int sd_cli_providers_apply(const sd_cli_providers *pv, struct sd_tagger_config *cfg)
{
    if (pv->n == 0)
        return 0;
    sd_tagger_config_clear_providers(cfg);
    for (size_t i = 0; i < pv->n; i++) {
        /* The config copies the strings: casting away const is safe. */
        sd_tagger_provider p;
        memset(&p, 0, sizeof p);
        char *arg = (char *)(uintptr_t)pv->p[i].arg;
        switch (pv->p[i].opt) {
        case SD_CLI_OPT_PFX2AS:
            p.kind = SD_TAGGER_PFX2AS;
            p.prefixfile = arg;
            break;
        case SD_CLI_OPT_MMDB:
            p.kind = SD_TAGGER_MAXMIND;
            p.mmdbfile = arg;
            break;
        case SD_CLI_OPT_MAXMIND_CSV:
            p.kind = SD_TAGGER_MAXMIND;
            p.directory = arg;
            break;
        default:
            p.kind = SD_TAGGER_NETACQ;
            p.directory = arg;
            break;
        }
        int rc = sd_tagger_config_add_provider(cfg, &p);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* ---------------------------------------------------------------- files */

int sd_cli_make_parents(const char *path, size_t from)
{
    char buf[4096];
    size_t len = strlen(path);
    if (len >= sizeof buf) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, len + 1);
    for (size_t i = from; i < len; i++) {
        if (buf[i] != '/')
            continue;
        buf[i] = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return -1;
        buf[i] = '/';
    }
    return 0;
}

int sd_cli_check_out_dir(const char *dir, const char *notdir_hint, char *why, size_t size)
{
    struct stat st;
    if (stat(dir, &st) != 0) {
        int e = errno;
        snprintf(why, size, "output directory %s: %s", dir, strerror(e));
        return e == ENOENT || e == ENOTDIR ? SD_ERR_NOTFOUND : e == EACCES ? SD_ERR_PERM : SD_ERR_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, size, "output directory %s: not a directory%s", dir,
                 notdir_hint != NULL ? notdir_hint : "");
        return SD_ERR_INVAL;
    }
    char probe[4096];
    if (snprintf(probe, sizeof probe, "%s/.%s-probe-XXXXXX", dir, cli_prog) >= (int)sizeof probe) {
        snprintf(why, size, "output directory %s: name too long", dir);
        return SD_ERR_INVAL;
    }
    int fd = mkstemp(probe);
    if (fd < 0) {
        int e = errno;
        snprintf(why, size, "output directory %s: cannot create files: %s", dir, strerror(e));
        return e == EACCES || e == EPERM ? SD_ERR_PERM : SD_ERR_IO;
    }
    close(fd);
    unlink(probe);
    return 0;
}

int sd_cli_expand_name(char *out, size_t size, const char *tmpl, uint64_t start,
                       const char *monitor, const char *plugin)
{
    char pat[4096], num[24];
    size_t k = 0;
    snprintf(num, sizeof num, "%llu", (unsigned long long)start);
    for (const char *p = tmpl; *p != '\0'; p++) {
        const char *ins = NULL;
        char lit[4] = {p[0], '\0', '\0', '\0'};
        if (p[0] == '%' && p[1] != '\0') {
            p++;
            if (*p == 's')
                ins = num; /* strftime's %s would be local time */
            else if (*p == 'N' && monitor != NULL)
                ins = monitor;
            else if (*p == 'P' && plugin != NULL)
                ins = plugin;
            else if (*p == 'N' || *p == 'P')
                lit[1] = '%', lit[2] = *p; /* kept: "%%N" */
            else
                lit[1] = *p; /* for strftime, "%%" included */
        }
        if (ins == NULL)
            ins = lit;
        size_t n = strlen(ins);
        if (k + n >= sizeof pat)
            return -1;
        memcpy(pat + k, ins, n);
        k += n;
    }
    pat[k] = '\0';
    time_t t = (time_t)start;
    struct tm tm;
    gmtime_r(&t, &tm);
    /* The template is the user's: strftime() takes it as a format. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    size_t n = strftime(out, size, pat, &tm);
#pragma GCC diagnostic pop
    return n == 0 && pat[0] != '\0' ? -1 : 0;
}

char *sd_cli_join_args(int argc, char *argv[])
{
    size_t len = 1;
    for (int i = 0; i < argc; i++)
        len += strlen(argv[i]) + 1;
    char *s = malloc(len), *p = s;
    if (s == NULL)
        return NULL;
    for (int i = 0; i < argc; i++) {
        size_t n = strlen(argv[i]);
        if (i > 0)
            *p++ = ' ';
        memcpy(p, argv[i], n);
        p += n;
    }
    *p = '\0';
    return s;
}
