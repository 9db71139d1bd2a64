/* sd-avro: look into Avro container files (flowtuples and any other
 * schema): cat as JSON lines or CSV, stats, check; merge FT3 files
 * (corsaroftmerge) and convert FT3 to FT4 (ftconvert).
 *
 * FT3 and FT4 files go through the typed readers (sd_avro_read_ft3/ft4),
 * everything else through the generic record API and avro-c's values. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <avro.h>
#include <stardust/avro.h>
#include <stardust/err.h>
#include <stardust/ft4.h>
#include <stardust/version.h>

#include "common.h"
#include "ft4out.h"

#define BATCH 512

static void help(void)
{
    printf("Usage: sd-avro cat [--csv] FILE...\n"
           "       sd-avro stats [--json] FILE...\n"
           "       sd-avro check [-q] FILE...\n"
           "       sd-avro merge -o OUT FT3FILE...\n"
           "       sd-avro ft3to4 [--prefix 16|24] [--interval SECONDS] [--ft4-version 0|1|2]\n"
           "                      -o DIR|TEMPLATE FT3FILE...\n"
           "Read Avro object container files (FT3/FT4 flowtuples, RSDOS, any schema;\n"
           "codecs null, deflate, snappy). FILE - is standard input.\n"
           "\n"
           "Commands:\n"
           "  cat       print every record: one JSON object per line (field names as in the\n"
           "            writer schema), or CSV with a header line (--csv)\n"
           "  stats     records, blocks, codec, schema; for FT3/FT4 also the time range\n"
           "            and the packet sum\n"
           "  check     read and validate every block and record; exit 1 if any file is bad\n"
           "  merge     merge FT3 files (e.g. the interim files of one run) into one FT3 file:\n"
           "            records equal on time and the 8-tuple become one, packet counts summed\n"
           "  ft3to4    fold FT3 files into FT4 files, one per FT4 interval, named\n"
           "            DIR/v3_5min_<start>.ft4.avro, or TEMPLATE with %%s = interval start\n"
           "\n"
           "Options:\n"
           "      --csv        cat: CSV instead of JSON lines\n"
           "  -o, --output OUT merge: the output file; ft3to4: directory or template\n"
           "      --prefix N   ft3to4: destination prefix length, 16 (default) or 24\n"
           "      --interval S ft3to4: FT4 interval in seconds (default 300)\n"
           "      --ft4-version V  ft3to4: fields of FT4 version V only (default 2)\n"
           "      --codec C    merge, ft3to4: deflate (default), null or snappy\n"
           "      --no-done    merge, ft3to4: no empty NAME.done after each file\n"
           "      --max-records N  merge, ft3to4: most records of one FT3 interval held\n"
           "                   in memory over all inputs (default 16777216)\n"
           "  -j, --json       stats: one JSON object per file\n"
           "  -q, --quiet      check: print nothing, only set the exit status\n"
           "  -h, --help       this help\n"
           "  -V, --version    version\n"
           "\n"
           "Exit status: 0 success, 1 runtime error or bad file, 2 usage error. See sd-avro(1).\n");
}

/* ---------------------------------------------------------------- output helpers */

static void csv_field(sd_cli_out *o, const char *s, size_t n)
{
    int quote = 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ',' || s[i] == '"' || s[i] == '\n' || s[i] == '\r')
            quote = 1;
    if (!quote) {
        sd_cli_out_mem(o, s, n);
        return;
    }
    sd_cli_out_char(o, '"');
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"')
            sd_cli_out_char(o, '"');
        sd_cli_out_char(o, s[i]);
    }
    sd_cli_out_char(o, '"');
}

/* Writer-schema field names by position (a fork renamed netacq_* to
 * ipinfo_*: print what the file says). */
struct names {
    const char *n[32];
};

static void load_names(sd_avro_reader *r, struct names *nm)
{
    int k = sd_avro_field_count(r);
    for (int i = 0; i < 32; i++)
        nm->n[i] = i < k ? sd_avro_field_name(r, i) : "?";
}

/* Emitters for one typed record: JSON (csv 0) or a CSV row (csv 1). */
struct emit {
    sd_cli_out *o;
    int csv;
    int k; /* field position */
    const struct names *nm;
};

static void e_begin(struct emit *e)
{
    e->k = 0;
    if (!e->csv)
        sd_cli_json_begin(e->o);
}

static void e_sep(struct emit *e)
{
    if (e->csv && e->k > 0)
        sd_cli_out_char(e->o, ',');
}

static void e_u64(struct emit *e, uint64_t v)
{
    if (e->csv) {
        e_sep(e);
        sd_cli_out_u64(e->o, v);
    } else {
        sd_cli_json_u64(e->o, e->nm->n[e->k], v);
    }
    e->k++;
}

static void e_geo(struct emit *e, const char c[2])
{
    if (e->csv) {
        e_sep(e);
        csv_field(e->o, c, 2);
    } else {
        sd_cli_json_strn(e->o, e->nm->n[e->k], c, 2);
    }
    e->k++;
}

static void e_list(struct emit *e, const uint64_t *v, uint32_t n)
{
    if (e->csv) {
        e_sep(e);
        for (uint32_t i = 0; i < n; i++) {
            if (i > 0)
                sd_cli_out_char(e->o, ';');
            sd_cli_out_u64(e->o, v[i]);
        }
    } else {
        sd_cli_json_arr(e->o, e->nm->n[e->k]);
        for (uint32_t i = 0; i < n; i++)
            sd_cli_json_u64(e->o, NULL, v[i]);
        sd_cli_json_arr_end(e->o);
    }
    e->k++;
}

static void e_end(struct emit *e)
{
    if (e->csv)
        sd_cli_out_char(e->o, '\n');
    else
        sd_cli_json_end(e->o);
}

static void emit_ft3(struct emit *e, const sd_ft3_record *r)
{
    e_begin(e);
    e_u64(e, r->time);
    e_u64(e, r->src_ip);
    e_u64(e, r->dst_ip);
    e_u64(e, r->src_port);
    e_u64(e, r->dst_port);
    e_u64(e, r->protocol);
    e_u64(e, r->ttl);
    e_u64(e, r->tcp_flags);
    e_u64(e, r->ip_len);
    e_u64(e, r->tcp_synlen);
    e_u64(e, r->tcp_synwinlen);
    e_u64(e, r->packet_cnt);
    e_u64(e, r->is_spoofed);
    e_u64(e, r->is_masscan);
    e_geo(e, r->maxmind_continent);
    e_geo(e, r->maxmind_country);
    e_geo(e, r->netacq_continent);
    e_geo(e, r->netacq_country);
    e_u64(e, r->prefix2asn);
    e_end(e);
}

static void emit_common(struct emit *e, const sd_ft4_common *c)
{
    e_list(e, c->value, c->n);
    e_list(e, c->freq, c->n);
}

static void emit_ft4(struct emit *e, const sd_ft4_record *r, int version)
{
    e_begin(e);
    e_u64(e, r->time);
    e_u64(e, r->src_ip);
    e_u64(e, r->dst_net);
    e_u64(e, r->dst_port);
    e_u64(e, r->protocol);
    e_u64(e, r->packet_cnt);
    e_u64(e, r->uniq_dst_ips);
    e_u64(e, r->uniq_pkt_sizes);
    e_u64(e, r->uniq_ttls);
    e_u64(e, r->uniq_src_ports);
    e_u64(e, r->uniq_tcp_flags);
    e_u64(e, r->first_syn_length);
    e_u64(e, r->first_tcp_rwin);
    emit_common(e, &r->common_pktsizes);
    emit_common(e, &r->common_ttls);
    emit_common(e, &r->common_srcports);
    emit_common(e, &r->common_tcpflags);
    if (version >= SD_FT4_V1) {
        e_geo(e, r->maxmind_continent);
        e_geo(e, r->maxmind_country);
    }
    e_geo(e, r->netacq_continent);
    e_geo(e, r->netacq_country);
    e_u64(e, r->prefix2asn);
    if (version >= SD_FT4_V2) {
        e_u64(e, r->spoofed_packet_cnt);
        e_u64(e, r->masscan_packet_cnt);
    }
    e_end(e);
}

static int ft4_version(int id)
{
    return id == SD_AVRO_SCHEMA_FT4_V0 ? SD_FT4_V0 : id == SD_AVRO_SCHEMA_FT4_V1 ? SD_FT4_V1 : SD_FT4_V2;
}

static int is_ft4(int id)
{
    return id == SD_AVRO_SCHEMA_FT4 || id == SD_AVRO_SCHEMA_FT4_V1 || id == SD_AVRO_SCHEMA_FT4_V0;
}

static void csv_header(sd_cli_out *o, sd_avro_reader *r)
{
    int n = sd_avro_field_count(r);
    for (int i = 0; i < n; i++) {
        if (i > 0)
            sd_cli_out_char(o, ',');
        const char *s = sd_avro_field_name(r, i);
        csv_field(o, s, strlen(s));
    }
    if (n == 0)
        sd_cli_out_str(o, "value");
    sd_cli_out_char(o, '\n');
}

/* Generic records: Avro's JSON encoding (unions as {"type": value}, bytes
 * and fixed as strings of code points 0-255, enums as their symbol), built
 * in a buffer reused from record to record. avro-c's own avro_value_to_json()
 * cuts bytes at the first NUL. */
struct jbuf {
    char *p;
    size_t len, cap;
    int failed;
};

static void jb_mem(struct jbuf *b, const void *s, size_t n)
{
    if (b->cap - b->len < n) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len < n)
            cap *= 2;
        char *q = realloc(b->p, cap);
        if (q == NULL) {
            b->failed = 1;
            return;
        }
        b->p = q;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void jb_str(struct jbuf *b, const char *s) { jb_mem(b, s, strlen(s)); }

static void jb_printf(struct jbuf *b, const char *fmt, ...) SD_CLI_PRINTF(2, 3);
static void jb_printf(struct jbuf *b, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (n > 0)
        jb_mem(b, tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
}

/* A JSON string: text (valid UTF-8 kept, control characters escaped, a
 * byte that is not UTF-8 as U+FFFD, as sd_cli_json_escape() does) or bytes
 * (every byte outside printable ASCII as \u00XX). */
static void jb_quoted(struct jbuf *b, const uint8_t *s, size_t n, int bytes)
{
    jb_mem(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        size_t l;
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            jb_mem(b, e, 2);
        } else if (c < 0x20 || c == 0x7f || (bytes && c > 0x7f)) {
            jb_printf(b, "\\u%04x", c);
        } else if (c < 0x80) {
            jb_mem(b, &c, 1);
        } else if ((l = sd_cli_utf8_len(s + i, n - i)) > 0) {
            jb_mem(b, s + i, l);
            i += l - 1;
        } else {
            jb_str(b, "\\ufffd");
        }
    }
    jb_mem(b, "\"", 1);
}

static void jb_value(struct jbuf *b, avro_value_t *v, int depth)
{
    if (depth > 64) {
        jb_str(b, "null");
        return;
    }
    switch (avro_value_get_type(v)) {
    case AVRO_NULL:
        jb_str(b, "null");
        break;
    case AVRO_BOOLEAN: {
        int x = 0;
        avro_value_get_boolean(v, &x);
        jb_str(b, x ? "true" : "false");
        break;
    }
    case AVRO_INT32: {
        int32_t x = 0;
        avro_value_get_int(v, &x);
        jb_printf(b, "%" PRId32, x);
        break;
    }
    case AVRO_INT64: {
        int64_t x = 0;
        avro_value_get_long(v, &x);
        jb_printf(b, "%" PRId64, x);
        break;
    }
    case AVRO_FLOAT:
    case AVRO_DOUBLE: {
        double x = 0;
        if (avro_value_get_type(v) == AVRO_FLOAT) {
            float f = 0;
            avro_value_get_float(v, &f);
            x = f;
        } else {
            avro_value_get_double(v, &x);
        }
        if (x != x || x - x != 0)
            jb_str(b, "null"); /* JSON has no NaN or infinity */
        else
            jb_printf(b, "%.17g", x);
        break;
    }
    case AVRO_STRING: {
        const char *p = NULL;
        size_t n = 0;
        avro_value_get_string(v, &p, &n);
        jb_quoted(b, (const uint8_t *)p, n > 0 ? n - 1 : 0, 0);
        break;
    }
    case AVRO_BYTES:
    case AVRO_FIXED: {
        const void *p = NULL;
        size_t n = 0;
        if (avro_value_get_type(v) == AVRO_BYTES)
            avro_value_get_bytes(v, &p, &n);
        else
            avro_value_get_fixed(v, &p, &n);
        jb_quoted(b, p, n, 1);
        break;
    }
    case AVRO_ENUM: {
        int x = 0;
        avro_value_get_enum(v, &x);
        const char *sym = avro_schema_enum_get(avro_value_get_schema(v), x);
        jb_quoted(b, (const uint8_t *)(sym ? sym : ""), sym ? strlen(sym) : 0, 0);
        break;
    }
    case AVRO_ARRAY:
    case AVRO_MAP:
    case AVRO_RECORD: {
        int arr = avro_value_get_type(v) == AVRO_ARRAY;
        size_t n = 0;
        avro_value_get_size(v, &n);
        jb_str(b, arr ? "[" : "{");
        for (size_t i = 0; i < n; i++) {
            avro_value_t c;
            const char *name = NULL;
            if (avro_value_get_by_index(v, i, &c, &name) != 0)
                break;
            if (i > 0)
                jb_mem(b, ",", 1);
            if (!arr) {
                jb_quoted(b, (const uint8_t *)(name ? name : ""), name ? strlen(name) : 0, 0);
                jb_mem(b, ":", 1);
            }
            jb_value(b, &c, depth + 1);
        }
        jb_str(b, arr ? "]" : "}");
        break;
    }
    case AVRO_UNION: {
        avro_value_t br;
        if (avro_value_get_current_branch(v, &br) != 0) {
            jb_str(b, "null");
            break;
        }
        if (avro_value_get_type(&br) == AVRO_NULL) {
            jb_str(b, "null");
            break;
        }
        avro_schema_t bs = avro_value_get_schema(&br);
        const char *tn = avro_schema_type_name(bs);
        if (is_avro_named_type(bs) && avro_schema_namespace(bs) != NULL && avro_schema_namespace(bs)[0]) {
            char full[512];
            snprintf(full, sizeof full, "%s.%s", avro_schema_namespace(bs), tn);
            jb_str(b, "{");
            jb_quoted(b, (const uint8_t *)full, strlen(full), 0);
        } else {
            jb_str(b, "{");
            jb_quoted(b, (const uint8_t *)(tn ? tn : ""), tn ? strlen(tn) : 0, 0);
        }
        jb_mem(b, ":", 1);
        jb_value(b, &br, depth + 1);
        jb_str(b, "}");
        break;
    }
    default:
        jb_str(b, "null");
    }
}

/* A generic record: one JSON line, or a CSV row of its top-level fields
 * (strings as they are, numbers, null empty, anything else as JSON). */
static int emit_generic(sd_cli_out *o, sd_avro_reader *r, int csv, struct jbuf *b)
{
    avro_value_t *v = sd_avro_reader_value(r);
    int n = sd_avro_field_count(r);
    if (!csv || n == 0) {
        b->len = 0;
        jb_value(b, v, 0);
        if (b->failed)
            return -1;
        if (csv)
            csv_field(o, b->p, b->len);
        else
            sd_cli_out_mem(o, b->p, b->len);
        sd_cli_out_char(o, '\n');
        return 0;
    }
    for (int i = 0; i < n; i++) {
        if (i > 0)
            sd_cli_out_char(o, ',');
        avro_value_t f;
        if (avro_value_get_by_index(v, (size_t)i, &f, NULL) != 0)
            return -1;
        if (avro_value_get_type(&f) == AVRO_UNION) {
            avro_value_t br;
            if (avro_value_get_current_branch(&f, &br) != 0)
                return -1;
            f = br;
        }
        switch (avro_value_get_type(&f)) {
        case AVRO_NULL:
            break;
        case AVRO_STRING: {
            const char *p = NULL;
            size_t len = 0;
            avro_value_get_string(&f, &p, &len);
            csv_field(o, p, len > 0 ? len - 1 : 0);
            break;
        }
        case AVRO_ENUM: {
            int x = 0;
            avro_value_get_enum(&f, &x);
            const char *sym = avro_schema_enum_get(avro_value_get_schema(&f), x);
            if (sym != NULL)
                csv_field(o, sym, strlen(sym));
            break;
        }
        case AVRO_BOOLEAN:
        case AVRO_INT32:
        case AVRO_INT64:
        case AVRO_FLOAT:
        case AVRO_DOUBLE:
            b->len = 0;
            jb_value(b, &f, 0);
            sd_cli_out_mem(o, b->p, b->len);
            break;
        default:
            b->len = 0;
            jb_value(b, &f, 0);
            if (b->failed)
                return -1;
            csv_field(o, b->p, b->len);
        }
    }
    sd_cli_out_char(o, '\n');
    return 0;
}

/* ---------------------------------------------------------------- commands */

static int open_file(const char *path, sd_avro_reader **r)
{
    char errbuf[SD_ERRBUF_SIZE];
    int rc = sd_avro_reader_open(r, path, errbuf);
    if (rc < 0)
        sd_cli_liberror(rc, errbuf);
    return rc;
}

static int cmd_cat(char **files, int nfiles, int csv)
{
    sd_cli_out o;
    if (sd_cli_out_init(&o, stdout, 0) != 0) {
        sd_cli_error("out of memory");
        return SD_CLI_EXIT_RUNTIME;
    }
    int status = SD_CLI_EXIT_OK;
    static sd_ft3_record ft3[BATCH];
    static sd_ft4_record ft4[BATCH];
    struct jbuf jb = {NULL, 0, 0, 0};
    for (int f = 0; f < nfiles && !sd_cli_stop; f++) {
        sd_avro_reader *r;
        if (open_file(files[f], &r) < 0) {
            status = SD_CLI_EXIT_RUNTIME;
            continue;
        }
        int id = sd_avro_reader_schema_id(r);
        struct names nm;
        load_names(r, &nm);
        struct emit e = {&o, csv, 0, &nm};
        if (csv)
            csv_header(&o, r);
        int rc;
        if (id == SD_AVRO_SCHEMA_FT3) {
            while ((rc = sd_avro_read_ft3(r, ft3, BATCH)) > 0 && !sd_cli_stop)
                for (int i = 0; i < rc; i++)
                    emit_ft3(&e, &ft3[i]);
        } else if (is_ft4(id)) {
            int ver = ft4_version(id);
            while ((rc = sd_avro_read_ft4(r, ft4, BATCH)) > 0 && !sd_cli_stop)
                for (int i = 0; i < rc; i++)
                    emit_ft4(&e, &ft4[i], ver);
        } else {
            while ((rc = sd_avro_reader_next(r)) > 0 && !sd_cli_stop)
                if (emit_generic(&o, r, csv, &jb) < 0) {
                    /* reported here, once; the next file starts afresh */
                    sd_cli_error("%s: record %" PRIu64 ": %s", files[f], sd_avro_reader_records(r),
                                 jb.failed ? "out of memory" : "avro-c cannot read a value of it");
                    jb.failed = 0;
                    status = SD_CLI_EXIT_RUNTIME;
                    rc = 0;
                    break;
                }
        }
        if (rc < 0 && rc != SD_EOF) {
            sd_cli_out_flush(&o);
            sd_cli_liberror(rc, sd_errmsg(r));
            status = SD_CLI_EXIT_RUNTIME;
        }
        sd_avro_reader_close(r);
        if (o.failed)
            break;
    }
    free(jb.p);
    if (sd_cli_out_close(&o) != 0) {
        sd_cli_error("write error: %s", strerror(o.err));
        status = SD_CLI_EXIT_RUNTIME;
    }
    return status;
}

struct file_stats {
    uint64_t tmin, tmax, packets;
    int have_time;
};

static void fold_time(struct file_stats *s, uint64_t t, uint64_t pkts)
{
    if (!s->have_time || t < s->tmin)
        s->tmin = t;
    if (!s->have_time || t > s->tmax)
        s->tmax = t;
    s->have_time = 1;
    s->packets += pkts;
}

/* Read every record of r (typed for FT3/FT4, raw otherwise): the shared
 * loop of stats and check. Returns SD_EOF at a clean end or the error. */
static int read_all(sd_avro_reader *r, struct file_stats *st)
{
    static sd_ft3_record ft3[BATCH];
    static sd_ft4_record ft4[BATCH];
    int id = sd_avro_reader_schema_id(r);
    int rc;
    if (id == SD_AVRO_SCHEMA_FT3) {
        while ((rc = sd_avro_read_ft3(r, ft3, BATCH)) > 0)
            for (int i = 0; i < rc; i++)
                fold_time(st, ft3[i].time, ft3[i].packet_cnt);
    } else if (is_ft4(id)) {
        while ((rc = sd_avro_read_ft4(r, ft4, BATCH)) > 0)
            for (int i = 0; i < rc; i++)
                fold_time(st, ft4[i].time, ft4[i].packet_cnt);
    } else {
        const void *d;
        size_t len;
        while ((rc = sd_avro_read_raw(r, &d, &len)) > 0)
            ;
    }
    return rc;
}

static void schema_fullname(sd_avro_reader *r, char *buf, size_t size)
{
    avro_schema_t s = sd_avro_reader_schema(r);
    const char *name = avro_schema_name(s);
    const char *ns = is_avro_named_type(s) ? avro_schema_namespace(s) : NULL;
    if (name == NULL)
        name = avro_schema_type_name(s);
    snprintf(buf, size, "%s%s%s", ns != NULL && ns[0] ? ns : "", ns != NULL && ns[0] ? "." : "",
             name != NULL ? name : "?");
}

static int cmd_stats(char **files, int nfiles, int json)
{
    sd_cli_out o;
    if (sd_cli_out_init(&o, stdout, 0) != 0) {
        sd_cli_error("out of memory");
        return SD_CLI_EXIT_RUNTIME;
    }
    int status = SD_CLI_EXIT_OK;
    for (int f = 0; f < nfiles; f++) {
        sd_avro_reader *r;
        if (open_file(files[f], &r) < 0) {
            status = SD_CLI_EXIT_RUNTIME;
            continue;
        }
        struct file_stats st = {0, 0, 0, 0};
        int rc = read_all(r, &st);
        if (rc != SD_EOF) {
            sd_cli_out_flush(&o);
            sd_cli_liberror(rc, sd_errmsg(r));
            status = SD_CLI_EXIT_RUNTIME;
            sd_avro_reader_close(r);
            continue;
        }
        int id = sd_avro_reader_schema_id(r);
        char name[256];
        schema_fullname(r, name, sizeof name);
        const char *codec = sd_avro_codec_name(sd_avro_reader_codec(r));
        int typed = id == SD_AVRO_SCHEMA_FT3 || is_ft4(id);
        if (json) {
            sd_cli_json_begin(&o);
            sd_cli_json_str(&o, "file", files[f]);
            sd_cli_json_str(&o, "schema", name);
            sd_cli_json_str(&o, "kind", sd_avro_schema_name(id));
            sd_cli_json_str(&o, "codec", codec);
            sd_cli_json_u64(&o, "blocks", sd_avro_reader_blocks(r));
            sd_cli_json_u64(&o, "records", sd_avro_reader_records(r));
            sd_cli_json_u64(&o, "bytes", sd_avro_reader_offset(r));
            if (typed) {
                sd_cli_json_u64(&o, "packets", st.packets);
                if (st.have_time) {
                    sd_cli_json_u64(&o, "time_min", st.tmin);
                    sd_cli_json_u64(&o, "time_max", st.tmax);
                }
            }
            size_t len;
            const char *v = sd_avro_reader_meta(r, "stardust.ft4.dst_prefix_len", &len);
            if (v != NULL)
                sd_cli_json_strn(&o, "ft4_dst_prefix_len", v, len);
            v = sd_avro_reader_meta(r, "stardust.ft4.interval", &len);
            if (v != NULL)
                sd_cli_json_strn(&o, "ft4_interval", v, len);
            sd_cli_json_end(&o);
        } else {
            sd_cli_out_printf(&o, "file      %s\nschema    %s (%s)\ncodec     %s\nblocks    %" PRIu64
                                  "\nrecords   %" PRIu64 "\nbytes     %" PRIu64 "\n",
                              files[f], name, sd_avro_schema_name(id), codec, sd_avro_reader_blocks(r),
                              sd_avro_reader_records(r), sd_avro_reader_offset(r));
            if (typed) {
                sd_cli_out_printf(&o, "packets   %" PRIu64 "\n", st.packets);
                if (st.have_time)
                    sd_cli_out_printf(&o, "time      %" PRIu64 " .. %" PRIu64 "\n", st.tmin, st.tmax);
            }
            const char *v = sd_avro_reader_meta(r, "stardust.ft4.dst_prefix_len", NULL);
            if (v != NULL)
                sd_cli_out_printf(&o, "ft4 dst prefix /%s\n", v);
            v = sd_avro_reader_meta(r, "stardust.ft4.interval", NULL);
            if (v != NULL)
                sd_cli_out_printf(&o, "ft4 interval %s s\n", v);
            if (f + 1 < nfiles)
                sd_cli_out_char(&o, '\n');
        }
        sd_avro_reader_close(r);
    }
    if (sd_cli_out_close(&o) != 0) {
        sd_cli_error("write error: %s", strerror(o.err));
        status = SD_CLI_EXIT_RUNTIME;
    }
    return status;
}

static int cmd_check(char **files, int nfiles, int quiet)
{
    int status = SD_CLI_EXIT_OK;
    for (int f = 0; f < nfiles; f++) {
        sd_avro_reader *r;
        char errbuf[SD_ERRBUF_SIZE];
        int rc = sd_avro_reader_open(&r, files[f], errbuf);
        if (rc < 0) {
            if (!quiet)
                printf("%s: BAD: %s (%s)\n", files[f], errbuf, sd_errname(rc));
            status = SD_CLI_EXIT_RUNTIME;
            continue;
        }
        struct file_stats st = {0, 0, 0, 0};
        rc = read_all(r, &st);
        if (rc != SD_EOF) {
            if (!quiet)
                printf("%s: BAD: %s (%s)\n", files[f], sd_errmsg(r), sd_errname(rc));
            status = SD_CLI_EXIT_RUNTIME;
        } else if (!quiet) {
            printf("%s: ok, %" PRIu64 " records in %" PRIu64 " blocks\n", files[f], sd_avro_reader_records(r),
                   sd_avro_reader_blocks(r));
        }
        sd_avro_reader_close(r);
    }
    if (fflush(stdout) != 0)
        status = SD_CLI_EXIT_RUNTIME;
    return status;
}

/* ---------------------------------------------------------------- merge, ft3to4 */

/* FT3 inputs are read interval by interval (one `time` value at a time)
 * across every file, so interim files of one run, per-interval files or
 * several runs' files can be given in any order. The records of one
 * interval are held in memory (at most max_records over all inputs),
 * sorted by the 8-tuple and combined: records equal on time and the
 * 8-tuple become one, packet_cnt summed, every other field from the first
 * of them (the first file on the command line, then file order). Each file
 * must be in time order (every FT3 writer writes it so); within an interval
 * any order is accepted (corsarotrace's order ignores dst_ip's first octet,
 * --unsorted files have none). */

#define MERGE_DEFAULT_MAX_RECORDS (1u << 24)

struct ft3in {
    sd_avro_reader *r;
    const char *path;
    sd_ft3_record buf[BATCH];
    int n, pos;
    int eof;
    uint64_t seen;        /* records read so far */
    uint32_t last_time;
};

struct mrec {
    sd_ft3_record rec;
    uint64_t seq;         /* arrival order: file order, then record order */
};

struct merger {
    struct ft3in *in;
    int nin;
    struct mrec *v;
    size_t n, cap, max;
    uint64_t seq;
    /* sink for each interval's combined records */
    int (*sink)(void *user, const sd_ft3_record *recs, size_t n);
    void *user;
};

static int mrec_cmp(const void *pa, const void *pb)
{
    const struct mrec *a = pa, *b = pb;
    int c = sd_ft3_record_cmp(&a->rec, &b->rec);
    if (c != 0)
        return c;
    return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* Make in->buf[in->pos] the next record. Returns 1, 0 at the end, -1 on
 * an error (reported). */
static int ft3in_fill(struct ft3in *in)
{
    if (in->pos < in->n)
        return 1;
    if (in->eof)
        return 0;
    int rc = sd_avro_read_ft3(in->r, in->buf, BATCH);
    if (rc == SD_EOF) {
        in->eof = 1;
        return 0;
    }
    if (rc < 0) {
        sd_cli_liberror(rc, sd_errmsg(in->r));
        return -1;
    }
    in->n = rc;
    in->pos = 0;
    for (int i = 0; i < rc; i++) {
        if (in->seen > 0 && in->buf[i].time < in->last_time) {
            sd_cli_error("%s: record %" PRIu64 ": time %" PRIu32 " is before %" PRIu32
                         " of the record before it: FT3 input must be in time order",
                         in->path, in->seen + 1, in->buf[i].time, in->last_time);
            return -1;
        }
        in->last_time = in->buf[i].time;
        in->seen++;
    }
    return 1;
}

/* Combine the sorted records of one interval in place and hand them out. */
static int merger_emit(struct merger *m)
{
    qsort(m->v, m->n, sizeof *m->v, mrec_cmp);
    size_t k = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (k > 0 && sd_ft3_record_cmp(&m->v[k - 1].rec, &m->v[i].rec) == 0) {
            uint64_t *c = &m->v[k - 1].rec.packet_cnt;
            uint64_t add = m->v[i].rec.packet_cnt;
            *c = add > UINT64_MAX - *c ? UINT64_MAX : *c + add; /* saturate, never wrap */
        } else {
            m->v[k++] = m->v[i];
        }
    }
    static sd_ft3_record out[BATCH];
    for (size_t i = 0; i < k;) {
        size_t b = 0;
        while (b < BATCH && i < k)
            out[b++] = m->v[i++].rec;
        if (m->sink(m->user, out, b) != 0)
            return -1;
    }
    m->n = 0;
    return 0;
}

/* Read every input interval by interval. Returns 0 or -1 (reported). */
static int merger_run(struct merger *m)
{
    for (;;) {
        int any = 0;
        uint32_t t = 0;
        for (int i = 0; i < m->nin; i++) {
            int rc = ft3in_fill(&m->in[i]);
            if (rc < 0)
                return -1;
            if (rc == 0)
                continue;
            uint32_t ti = m->in[i].buf[m->in[i].pos].time;
            if (!any || ti < t)
                t = ti;
            any = 1;
        }
        if (!any)
            return 0;
        for (int i = 0; i < m->nin; i++) {
            struct ft3in *in = &m->in[i];
            int rc;
            while ((rc = ft3in_fill(in)) > 0 && in->buf[in->pos].time == t) {
                if (m->n == m->cap) {
                    if (m->cap >= m->max) {
                        sd_cli_error("interval %" PRIu32 " holds more than %zu records over all "
                                     "inputs: raise --max-records",
                                     t, m->max);
                        return -1;
                    }
                    size_t cap = m->cap ? m->cap * 2 : 4096;
                    if (cap > m->max)
                        cap = m->max;
                    struct mrec *v = realloc(m->v, cap * sizeof *v);
                    if (v == NULL) {
                        sd_cli_error("out of memory (%zu records of interval %" PRIu32 ")",
                                     cap, t);
                        return -1;
                    }
                    m->v = v;
                    m->cap = cap;
                }
                m->v[m->n].rec = in->buf[in->pos++];
                m->v[m->n].seq = m->seq++;
                m->n++;
            }
            if (rc < 0)
                return -1;
        }
        if (merger_emit(m) != 0)
            return -1;
        if (sd_cli_stop) {
            sd_cli_error("interrupted");
            return -1;
        }
    }
}

/* Open every input (all headers checked before any output exists). */
static int merger_open(struct merger *m, char **files, int nfiles, size_t max_records)
{
    memset(m, 0, sizeof *m);
    m->max = max_records;
    m->in = calloc((size_t)nfiles, sizeof *m->in);
    if (m->in == NULL) {
        sd_cli_error("out of memory");
        return -1;
    }
    for (int i = 0; i < nfiles; i++) {
        struct ft3in *in = &m->in[i];
        in->path = files[i];
        if (open_file(files[i], &in->r) < 0)
            return -1;
        m->nin = i + 1;
        int id = sd_avro_reader_schema_id(in->r);
        if (id != SD_AVRO_SCHEMA_FT3) {
            sd_cli_error("%s: not an FT3 flowtuple file (schema: %s)", files[i], sd_avro_schema_name(id));
            return -1;
        }
    }
    return 0;
}

static void merger_close(struct merger *m)
{
    for (int i = 0; i < m->nin; i++)
        sd_avro_reader_close(m->in[i].r);
    free(m->in);
    free(m->v);
}

struct out_opts {
    const char *out;
    int codec;
    int done_file;
    size_t max_records;
    unsigned prefix, interval, version;
    const char *cmdline;
};

static int merge_sink(void *user, const sd_ft3_record *recs, size_t n)
{
    sd_avro_writer *w = user;
    int rc = sd_avro_write_ft3(w, recs, n);
    if (rc < 0) {
        sd_cli_liberror(rc, sd_errmsg(w));
        return -1;
    }
    return 0;
}

static int cmd_merge(char **files, int nfiles, const struct out_opts *oo)
{
    struct merger m;
    sd_avro_writer *w = NULL;
    int status = SD_CLI_EXIT_RUNTIME;
    if (merger_open(&m, files, nfiles, oo->max_records) != 0)
        goto out;
    sd_avro_writer_opts wo;
    sd_avro_writer_opts_init(&wo);
    wo.codec = oo->codec;
    wo.done_file = oo->done_file;
    char errbuf[SD_ERRBUF_SIZE];
    /* The FT3 interval carries over when the first input has it. */
    const char *const meta[] = {
        "stardust.ft3.interval", sd_avro_reader_meta(m.in[0].r, "stardust.ft3.interval", NULL),
        NULL};
    int rc = sd_cli_avro_open(&w, oo->out, SD_AVRO_SCHEMA_FT3, &wo, "sd-avro merge", oo->cmdline,
                              meta, errbuf);
    if (rc != 0) {
        sd_cli_liberror(rc, errbuf);
        goto out;
    }
    m.sink = merge_sink;
    m.user = w;
    if (merger_run(&m) != 0)
        goto out;
    rc = sd_avro_writer_close(w, errbuf);
    w = NULL;
    if (rc != 0) {
        sd_cli_liberror(rc, errbuf);
        goto out;
    }
    status = SD_CLI_EXIT_OK;
out:
    sd_avro_writer_discard(w);
    merger_close(&m);
    return status;
}

static int ft4_sink(void *user, const sd_ft3_record *recs, size_t n)
{
    sd_cli_ft4out *fo = user;
    int rc = sd_ft4_add(fo->ft4, recs, n);
    /* A failed FT4 file is the cause of sd_ft4's "emit failed": its own
     * message is printed once, at the end. */
    if (rc < 0 && fo->failed == 0)
        sd_cli_liberror(rc, sd_errmsg(fo->ft4));
    return rc < 0 ? -1 : 0;
}

static int cmd_ft3to4(char **files, int nfiles, const struct out_opts *oo)
{
    struct merger m;
    sd_ft4 *f = NULL;
    sd_cli_ft4out fo;
    int status = SD_CLI_EXIT_RUNTIME;
    sd_cli_ft4out_init(&fo, oo->out, "sd-avro ft3to4");
    fo.opts.codec = oo->codec;
    fo.opts.done_file = oo->done_file;
    fo.cmdline = oo->cmdline;
    if (sd_cli_ft4out_check(&fo) != 0) {
        sd_cli_error("%s", fo.err);
        return SD_CLI_EXIT_RUNTIME;
    }
    if (merger_open(&m, files, nfiles, oo->max_records) != 0)
        goto out;
    sd_ft4_config cfg;
    sd_ft4_config_init(&cfg);
    cfg.interval = oo->interval;
    cfg.dst_prefix_len = (uint8_t)oo->prefix;
    cfg.version = (uint8_t)oo->version;
    char errbuf[SD_ERRBUF_SIZE];
    int rc = sd_ft4_create(&f, &cfg, sd_cli_ft4out_emit, &fo, errbuf);
    if (rc != 0) {
        sd_cli_liberror(rc, errbuf);
        goto out;
    }
    fo.ft4 = f;
    m.sink = ft4_sink;
    m.user = &fo;
    if (merger_run(&m) != 0)
        goto out;
    if ((rc = sd_ft4_flush(f)) != 0) {
        if (fo.failed == 0)
            sd_cli_liberror(rc, sd_errmsg(f));
        goto out;
    }
    status = SD_CLI_EXIT_OK;
out:
    if (sd_cli_ft4out_end(&fo, status == SD_CLI_EXIT_OK) != 0) {
        if (status == SD_CLI_EXIT_OK || fo.err[0] != '\0')
            sd_cli_error("%s", fo.err[0] ? fo.err : "FT4 output failed");
        status = SD_CLI_EXIT_RUNTIME;
    }
    sd_ft4_destroy(f);
    merger_close(&m);
    return status;
}

int main(int argc, char *argv[])
{
    enum {
        OPT_CSV = 256, OPT_PREFIX, OPT_INTERVAL, OPT_FT4_VERSION, OPT_CODEC, OPT_NO_DONE,
        OPT_MAX_RECORDS
    };
    static const struct option longopts[] = {
        {"csv", no_argument, NULL, OPT_CSV},
        {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"output", required_argument, NULL, 'o'},
        {"prefix", required_argument, NULL, OPT_PREFIX},
        {"interval", required_argument, NULL, OPT_INTERVAL},
        {"ft4-version", required_argument, NULL, OPT_FT4_VERSION},
        {"codec", required_argument, NULL, OPT_CODEC},
        {"no-done", no_argument, NULL, OPT_NO_DONE},
        {"max-records", required_argument, NULL, OPT_MAX_RECORDS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    sd_cli_init("sd-avro", "cat|stats|check|merge|ft3to4 [options] FILE...");
    int csv = 0, json = 0, quiet = 0, c, st;
    int out_opts_given = 0, ft4_opts_given = 0;
    struct out_opts oo = {NULL, SD_AVRO_DEFLATE, 1, MERGE_DEFAULT_MAX_RECORDS,
                          SD_FT4_DEFAULT_PREFIX_LEN, SD_FT4_DEFAULT_INTERVAL, SD_FT4_V2, NULL};
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":jqo:hV", longopts, NULL)) != -1) {
        switch (c) {
        case OPT_CSV:
            csv = 1;
            break;
        case 'j':
            json = 1;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'o':
            if (optarg[0] == '\0')
                return sd_cli_usage("empty output name");
            oo.out = optarg;
            break;
        case OPT_PREFIX:
            if ((st = sd_cli_parse_ft4_prefix(optarg, &oo.prefix)) != 0)
                return st;
            ft4_opts_given = 1;
            break;
        case OPT_INTERVAL:
            if (sd_cli_parse_uint(optarg, "interval", 1, SD_FT4_MAX_INTERVAL, &oo.interval) != 0)
                return sd_cli_usage_hint();
            ft4_opts_given = 1;
            break;
        case OPT_FT4_VERSION:
            if (sd_cli_parse_uint(optarg, "FT4 version", 0, 2, &oo.version) != 0)
                return sd_cli_usage_hint();
            ft4_opts_given = 1;
            break;
        case OPT_CODEC:
            if ((st = sd_cli_parse_codec(optarg, &oo.codec)) != 0)
                return st;
            out_opts_given = 1;
            break;
        case OPT_NO_DONE:
            oo.done_file = 0;
            out_opts_given = 1;
            break;
        case OPT_MAX_RECORDS: {
            uint64_t v;
            if (sd_cli_parse_u64(optarg, "record bound", 1, SIZE_MAX / 128, &v) != 0)
                return sd_cli_usage_hint();
            oo.max_records = (size_t)v;
            out_opts_given = 1;
            break;
        }
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
    if (optind >= argc)
        return sd_cli_usage("no command: expected cat, stats, check, merge or ft3to4");
    const char *cmd = argv[optind++];
    if (optind >= argc)
        return sd_cli_usage("%s: no input file", cmd);
    char **files = argv + optind;
    int nfiles = argc - optind;
    int is_out = strcmp(cmd, "merge") == 0 || strcmp(cmd, "ft3to4") == 0;
    if (!is_out && (oo.out != NULL || out_opts_given || ft4_opts_given))
        return sd_cli_usage("%s takes no -o, --codec, --no-done, --max-records, --prefix, "
                            "--interval or --ft4-version", cmd);
    if (is_out) {
        if (csv || json || quiet)
            return sd_cli_usage("%s takes no --csv, --json or --quiet", cmd);
        if (oo.out == NULL)
            return sd_cli_usage("%s: no output: give -o", cmd);
        for (int i = 0; i < nfiles; i++)
            if (strcmp(files[i], "-") == 0)
                return sd_cli_usage("%s: inputs must be files, not standard input", cmd);
        char *cmdline = sd_cli_join_args(argc, argv);
        if (cmdline == NULL) {
            sd_cli_error("out of memory");
            return SD_CLI_EXIT_RUNTIME;
        }
        oo.cmdline = cmdline;
        sd_cli_signals_install();
        if (strcmp(cmd, "merge") == 0) {
            if (ft4_opts_given)
                st = sd_cli_usage("merge takes no --prefix, --interval or --ft4-version");
            else
                st = cmd_merge(files, nfiles, &oo);
        } else {
            st = cmd_ft3to4(files, nfiles, &oo);
        }
        free(cmdline);
        return st;
    }
    if (strcmp(cmd, "cat") == 0) {
        if (json || quiet)
            return sd_cli_usage("cat takes only --csv");
        sd_cli_signals_install();
        return cmd_cat(files, nfiles, csv);
    }
    if (strcmp(cmd, "stats") == 0) {
        if (csv || quiet)
            return sd_cli_usage("stats takes only --json");
        return cmd_stats(files, nfiles, json);
    }
    if (strcmp(cmd, "check") == 0) {
        if (csv || json)
            return sd_cli_usage("check takes only --quiet");
        return cmd_check(files, nfiles, quiet);
    }
    return sd_cli_usage("unknown command '%s': expected cat, stats, check, merge or ft3to4", cmd);
}
