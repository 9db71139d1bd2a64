/* stardust CLI helpers shared by every sd-* tool: diagnostics, --version,
 * number parsing, signals, the progress line, buffered output with a small
 * NDJSON writer, and the binary-to-terminal guard.
 *
 * Only the public libstardust API is used here. Not thread-safe: the tools
 * call these from their main thread (the signal handler only sets a flag).
 */
#ifndef SD_CLI_COMMON_H
#define SD_CLI_COMMON_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#if defined(__GNUC__)
#define SD_CLI_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SD_CLI_PRINTF(f, a)
#endif

/* Exit statuses shared by the tools (documented in every man1 page). */
enum { SD_CLI_EXIT_OK = 0, SD_CLI_EXIT_RUNTIME = 1, SD_CLI_EXIT_USAGE = 2 };

/* ---------------------------------------------------------------- naming */

/* Remember the tool's name ("sd-dump": the basename of argv[0] is not used,
 * so renamed binaries still say who they are) and its one-line synopsis
 * (e.g. "[options] URI") for usage errors. Both are borrowed for the life of
 * the program: pass string literals. Also calls tzset(). */
void sd_cli_init(const char *prog, const char *synopsis);

/* The name given to sd_cli_init(). */
const char *sd_cli_prog(void);

/* ---------------------------------------------------------------- diagnostics */

/* "prog: <message>\n" on stderr. */
void sd_cli_error(const char *fmt, ...) SD_CLI_PRINTF(1, 2);

/* A failed library call: "prog: <detail> (SD_ERR_NAME)\n" on stderr, where
 * detail is the handle's sd_errmsg() text (pass sd_errmsg(h) or an errbuf)
 * or, when that is empty or NULL, sd_strerror(err). */
void sd_cli_liberror(int err, const char *detail);

/* A usage error: "prog: <message>", the synopsis and a pointer to --help on
 * stderr. Returns SD_CLI_EXIT_USAGE so callers can `return sd_cli_usage(...)`. */
int sd_cli_usage(const char *fmt, ...) SD_CLI_PRINTF(1, 2);

/* The usage error for an option getopt_long() rejected: c is what it
 * returned, ':' (a missing value) or '?' (anything else); the optstring
 * must start with ':' and opterr be 0. Prints "prog: option '-n' needs a
 * value" or "prog: unknown option '--bogus'" (or '-q'), then the usage
 * lines. Returns SD_CLI_EXIT_USAGE. */
int sd_cli_usage_getopt(int c, char *const argv[]);

/* Just the synopsis and the --help pointer (after a message of one's own,
 * e.g. from sd_cli_parse_u64()). Returns SD_CLI_EXIT_USAGE. */
int sd_cli_usage_hint(void);

/* --version: "prog (stardust) X.Y.Z" (the version compiled against) and
 * "libstardust <sd_version_string()>" (the library in use) on stdout. */
void sd_cli_version(void);

/* ---------------------------------------------------------------- numbers */

/* Parse a whole decimal unsigned integer in [min, max] (no sign, no
 * trailing junk, no overflow) into *out. On failure prints
 * "prog: invalid <what> 'text': expected an integer from min to max" and
 * returns -1; returns 0 on success. */
int sd_cli_parse_u64(const char *text, const char *what, uint64_t min, uint64_t max,
                     uint64_t *out);

/* sd_cli_parse_u64() into an unsigned (max must fit). */
int sd_cli_parse_uint(const char *text, const char *what, uint64_t min, uint64_t max,
                      unsigned *out);

/* The same for a finite decimal number in [min, max]. */
int sd_cli_parse_double(const char *text, const char *what, double min, double max, double *out);

/* ---------------------------------------------------------------- signals */

/* Set to 1 by the first SIGINT/SIGTERM after sd_cli_signals_install();
 * a second signal exits the process with status 1 at once. Tools poll it
 * between batches and then stop cleanly (flush, close, exit 0). */
extern volatile sig_atomic_t sd_cli_stop;

/* Install the handlers (sigaction, without SA_RESTART so a blocking read
 * returns early). SIGINT stays ignored when it was ignored at startup (a
 * background job of a non-interactive shell). Returns 0 or -1 (errno set). */
int sd_cli_signals_install(void);

/* ---------------------------------------------------------------- terminal */

/* The binary-output guard: when fd is a terminal and force is 0, prints
 * "prog: refusing to write binary data to a terminal ..." and returns -1;
 * otherwise returns 0. */
int sd_cli_refuse_binary_tty(int fd, int force);

/* ---------------------------------------------------------------- progress */

/* One stderr line rewritten at most once per second:
 *   "pkts 12.3M  rate 1.02Mpps  filtered 0  malformed 17"
 * Cheap to call once per batch: it reads a coarse clock and returns unless
 * a second has passed. */
typedef struct sd_cli_progress {
    int enabled;
    int drawn;            /* a line is on screen and must be cleared */
    uint64_t start_ns;
    uint64_t last_ns;
    uint64_t last_pkts;
} sd_cli_progress;

/* mode: 1 on, 0 off, -1 automatic (on only when stderr is a terminal and
 * stdout is not the same terminal, so data and progress do not mix). */
void sd_cli_progress_init(sd_cli_progress *p, int mode);
void sd_cli_progress_update(sd_cli_progress *p, uint64_t pkts, uint64_t filtered,
                            uint64_t malformed);
/* The same line with the packets --drop dropped instead (sd-flowtuple):
 * "pkts 12.3M  rate 1.02Mpps  dropped 5". */
void sd_cli_progress_update_dropped(sd_cli_progress *p, uint64_t pkts, uint64_t dropped);
/* The same line with packets and rate only, for tools that neither filter
 * nor parse what they count (sd-gen): "pkts 12.3M  rate 1.02Mpps". */
void sd_cli_progress_update_pkts(sd_cli_progress *p, uint64_t pkts);
/* Erase the line (call before printing anything else to stderr at exit). */
void sd_cli_progress_clear(sd_cli_progress *p);

/* Format n with a metric suffix: 999, 12.3k, 4.56M, 7.89G (into buf). */
const char *sd_cli_human(char *buf, size_t size, double n);

/* ---------------------------------------------------------------- files */

/* Create the missing directories of path (a file name) from byte offset
 * from on, e.g. those a template like %Y/%m/... names inside an output
 * directory that exists. Returns 0 or -1 (errno set). */
int sd_cli_make_parents(const char *path, size_t from);

/* Whether files can be made in the existing directory dir (a probe file
 * is created and removed), before any input is read. Returns 0, or
 * SD_ERR_NOTFOUND / SD_ERR_INVAL (not a directory) / SD_ERR_PERM /
 * SD_ERR_IO with "output directory DIR: <reason>" in why; notdir_hint
 * (may be NULL) is added to the reason when dir is not a directory. */
int sd_cli_check_out_dir(const char *dir, const char *notdir_hint, char *why, size_t size);

/* A file name from a template, as corsaro names its outputs: %s becomes
 * start (decimal Unix seconds), %N monitor and %P plugin (each kept
 * literally when NULL), every other % code goes through strftime() in UTC
 * ("%%" included). Returns 0, or -1 when the name does not fit size. */
int sd_cli_expand_name(char *out, size_t size, const char *tmpl, uint64_t start,
                       const char *monitor, const char *plugin);

/* argv[0..argc) joined with spaces (malloc'd; NULL when out of memory), for
 * the provenance metadata of the files a tool writes. */
char *sd_cli_join_args(int argc, char *argv[]);

/* Open an Avro writer of the built-in schema `schema` (SD_AVRO_SCHEMA_*)
 * at path and set its provenance (style.md §8): "stardust.tool" = "TOOL
 * VERSION", "stardust.command" = cmdline (when not NULL), then the
 * key/value pairs of meta (NULL-terminated; a NULL value skips its key).
 * Returns 0, or a negative sd_err with errbuf saying why and nothing left
 * behind. */
/* --codec NAME: deflate, null or snappy into *codec (SD_AVRO_*). Returns
 * 0, or an exit status after saying why: usage for an unknown name,
 * runtime for a codec this build lacks. */
int sd_cli_parse_codec(const char *name, int *codec);

/* An FT4 destination prefix length, "16" or "24", into *len. Returns 0, or
 * the usage exit status after saying why. */
int sd_cli_parse_ft4_prefix(const char *arg, unsigned *len);

struct sd_avro_writer;
struct sd_avro_writer_opts;
int sd_cli_avro_open(struct sd_avro_writer **w, const char *path, int schema,
                     const struct sd_avro_writer_opts *opts, const char *tool,
                     const char *cmdline, const char *const *meta, char *errbuf);

/* ---------------------------------------------------------------- --drop */

/* --drop LIST for every tool that reads packets: remove the packets whose
 * filter bits intersect LIST (filter names, sd_filter_parse_list()). The
 * bits are the tag's for tagged packets (sd_packet.tags, e.g. from a
 * CORSAROTAG ndag: stream), else sd_filterbits() of sd_parse() computed
 * here, so tagged and untagged inputs drop alike. */
struct sd_packet;
typedef struct sd_cli_drop {
    uint64_t mask;    /* SD_FB() bits; 0: --drop not given, keep everything */
    uint64_t dropped; /* packets removed so far */
} sd_cli_drop;

/* Parse LIST into d->mask (adds to what an earlier --drop gave). On error
 * prints "prog: --drop: <reason>" and returns -1; else 0. */
int sd_cli_drop_parse(sd_cli_drop *d, const char *list);

/* Keep the packets of pkts[0..n) not dropped, in order, at the front of
 * pkts; returns their number and adds the others to d->dropped. */
size_t sd_cli_drop_apply(sd_cli_drop *d, const struct sd_packet **pkts, size_t n);

/* ---------------------------------------------------------------- providers */

/* The tag-provider options shared by the tools that tag (sd-tagger,
 * sd-flowtuple): --pfx2as FILE (repeatable), --mmdb FILE, --maxmind-csv DIR,
 * --netacq DIR. Put SD_CLI_PROVIDER_LONGOPTS in the getopt_long() table,
 * give each returned code to sd_cli_providers_opt(), then
 * sd_cli_providers_apply() them to a tagger configuration. The strings are
 * borrowed from argv. */
enum {
    SD_CLI_OPT_PFX2AS = 0x4000, SD_CLI_OPT_MMDB, SD_CLI_OPT_MAXMIND_CSV, SD_CLI_OPT_NETACQ
};
#define SD_CLI_PROVIDER_LONGOPTS \
    {"pfx2as", required_argument, NULL, SD_CLI_OPT_PFX2AS}, \
    {"mmdb", required_argument, NULL, SD_CLI_OPT_MMDB}, \
    {"maxmind-csv", required_argument, NULL, SD_CLI_OPT_MAXMIND_CSV}, \
    {"netacq", required_argument, NULL, SD_CLI_OPT_NETACQ}
/* Their --help lines. */
#define SD_CLI_PROVIDER_HELP \
    "      --pfx2as FILE       RouteViews prefix-to-AS table (repeatable)\n" \
    "      --mmdb FILE         MaxMind DB (.mmdb) geolocation\n" \
    "      --maxmind-csv DIR   MaxMind legacy GeoLite City CSV folder\n" \
    "      --netacq DIR        Net Acuity Edge CSV folder\n"

#define SD_CLI_MAX_PROVIDERS 64
struct sd_tagger_config;
typedef struct sd_cli_providers {
    size_t n;
    struct sd_cli_provider_opt {
        int opt;              /* SD_CLI_OPT_* */
        const char *arg;
    } p[SD_CLI_MAX_PROVIDERS];
} sd_cli_providers;

/* Record option c (a getopt_long() return) with its argument. Returns 1
 * when c is a provider option, 0 when it is not, -1 (after a usage
 * message) when too many were given. */
int sd_cli_providers_opt(sd_cli_providers *pv, int c, const char *arg);

/* When any provider option was given, replace cfg's providers with them,
 * in command-line order. Returns 0 or a negative sd_err. */
int sd_cli_providers_apply(const sd_cli_providers *pv, struct sd_tagger_config *cfg);

/* ---------------------------------------------------------------- output */

/* A large output buffer written with one fwrite() per fill: per-packet
 * output costs memcpy, not stdio calls. Also the NDJSON writer: the json_*
 * calls below insert commas by themselves, tracking nesting (up to 32 deep).
 * Keys are written as given: pass plain ASCII literals. */
typedef struct sd_cli_out {
    FILE *fp;
    char *buf;
    size_t len;
    size_t cap;
    int failed;            /* a write failed (errno kept in err) */
    int err;
    unsigned depth;        /* JSON nesting depth */
    uint32_t need_comma;   /* bit d: level d already holds a member */
} sd_cli_out;

/* cap: buffer size (0 picks 1 MiB). Returns 0 or -1 (out of memory). */
int sd_cli_out_init(sd_cli_out *o, FILE *fp, size_t cap);
/* Write what is buffered, then fflush(fp). Returns 0, or -1 if any write
 * failed since init (o->err holds errno). */
int sd_cli_out_flush(sd_cli_out *o);
/* Flush and free the buffer (fp is not closed). Returns as flush. */
int sd_cli_out_close(sd_cli_out *o);
/* Internal: the slow path of sd_cli_out_mem() (buffer full). */
void sd_cli_out_slow(sd_cli_out *o, const void *p, size_t n);

static inline void sd_cli_out_mem(sd_cli_out *o, const void *p, size_t n)
{
    if (o->cap - o->len < n) {
        sd_cli_out_slow(o, p, n);
        return;
    }
    memcpy(o->buf + o->len, p, n);
    o->len += n;
}

static inline void sd_cli_out_str(sd_cli_out *o, const char *s)
{
    sd_cli_out_mem(o, s, strlen(s));
}

static inline void sd_cli_out_char(sd_cli_out *o, char c)
{
    if (o->len == o->cap) {
        sd_cli_out_slow(o, &c, 1);
        return;
    }
    o->buf[o->len++] = c;
}

void sd_cli_out_u64(sd_cli_out *o, uint64_t v);
void sd_cli_out_i64(sd_cli_out *o, int64_t v);
/* Two lower-case hex digits. */
void sd_cli_out_hex2(sd_cli_out *o, unsigned v);
void sd_cli_out_printf(sd_cli_out *o, const char *fmt, ...) SD_CLI_PRINTF(2, 3);

/* JSON. A value is written after json_key() or as an array element. */
void sd_cli_json_begin(sd_cli_out *o);             /* '{' at top level */
void sd_cli_json_end(sd_cli_out *o);               /* '}' and, at top level, '\n' */
void sd_cli_json_key(sd_cli_out *o, const char *key);
void sd_cli_json_obj(sd_cli_out *o, const char *key);   /* "key":{  (key NULL: element) */
void sd_cli_json_obj_end(sd_cli_out *o);
void sd_cli_json_arr(sd_cli_out *o, const char *key);   /* "key":[ */
void sd_cli_json_arr_end(sd_cli_out *o);
void sd_cli_json_u64(sd_cli_out *o, const char *key, uint64_t v);
void sd_cli_json_i64(sd_cli_out *o, const char *key, int64_t v);
void sd_cli_json_bool(sd_cli_out *o, const char *key, int v);
void sd_cli_json_double(sd_cli_out *o, const char *key, double v); /* null if not finite */
/* A string value: escaped; invalid UTF-8 bytes become U+FFFD. */
void sd_cli_json_str(sd_cli_out *o, const char *key, const char *s);
void sd_cli_json_strn(sd_cli_out *o, const char *key, const char *s, size_t n);
/* Escape s[0..n) as a JSON string (with quotes) outside the nesting logic. */
void sd_cli_json_escape(sd_cli_out *o, const char *s, size_t n);
/* Length of the valid UTF-8 sequence (not ASCII) at s, n bytes left, or 0
 * for a byte that starts none (overlong forms and surrogates included). */
size_t sd_cli_utf8_len(const unsigned char *s, size_t n);

#endif
