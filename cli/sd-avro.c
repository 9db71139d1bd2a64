/* sd-avro: look into Avro container files (flowtuples and any other
 * schema): cat as JSON lines or CSV, stats, check.
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

#include "common.h"

#define BATCH 512

static void help(void)
{
    printf("Usage: sd-avro cat [--csv] FILE...\n"
           "       sd-avro stats [--json] FILE...\n"
           "       sd-avro check [-q] FILE...\n"
           "Read Avro object container files (FT3/FT4 flowtuples, RSDOS, any schema;\n"
           "codecs null, deflate, snappy). FILE - is standard input.\n"
           "\n"
           "Commands:\n"
           "  cat       print every record: one JSON object per line (field names as in the\n"
           "            writer schema), or CSV with a header line (--csv)\n"
           "  stats     records, blocks, codec, schema; for FT3/FT4 also the time range\n"
           "            and the packet sum\n"
           "  check     read and validate every block and record; exit 1 if any file is bad\n"
           "\n"
           "Options:\n"
           "      --csv        cat: CSV instead of JSON lines\n"
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

/* A JSON string: text (UTF-8 kept, control characters escaped) or bytes
 * (every byte outside printable ASCII as \u00XX). */
static void jb_quoted(struct jbuf *b, const uint8_t *s, size_t n, int bytes)
{
    jb_mem(b, "\"", 1);
    for (size_t i = 0; i < n; i++) {
        uint8_t c = s[i];
        if (c == '"' || c == '\\') {
            char e[2] = {'\\', (char)c};
            jb_mem(b, e, 2);
        } else if (c < 0x20 || c == 0x7f || (bytes && c > 0x7f)) {
            jb_printf(b, "\\u%04x", c);
        } else {
            jb_mem(b, &c, 1);
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
                    sd_cli_error("%s: record %" PRIu64 ": out of memory", files[f],
                                 sd_avro_reader_records(r));
                    rc = SD_ERR_FORMAT;
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

static const char *schema_kind(int id)
{
    switch (id) {
    case SD_AVRO_SCHEMA_FT3: return "FT3";
    case SD_AVRO_SCHEMA_FT4_V0: return "FT4 v0";
    case SD_AVRO_SCHEMA_FT4_V1: return "FT4 v1";
    case SD_AVRO_SCHEMA_FT4: return "FT4 v2";
    case SD_AVRO_SCHEMA_RSDOS_V1: return "RSDOS v1";
    case SD_AVRO_SCHEMA_RSDOS_V2: return "RSDOS v2";
    case SD_AVRO_SCHEMA_RSDOS_DOSFT: return "RSDOS dosflowtuple";
    default: return "other";
    }
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
            sd_cli_json_str(&o, "kind", schema_kind(id));
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
                              files[f], name, schema_kind(id), codec, sd_avro_reader_blocks(r),
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

int main(int argc, char *argv[])
{
    enum { OPT_CSV = 256 };
    static const struct option longopts[] = {
        {"csv", no_argument, NULL, OPT_CSV},
        {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    sd_cli_init("sd-avro", "cat|stats|check [options] FILE...");
    int csv = 0, json = 0, quiet = 0, c;
    opterr = 0;
    while ((c = getopt_long(argc, argv, ":jqhV", longopts, NULL)) != -1) {
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
        return sd_cli_usage("no command: expected cat, stats or check");
    const char *cmd = argv[optind++];
    if (optind >= argc)
        return sd_cli_usage("%s: no input file", cmd);
    char **files = argv + optind;
    int nfiles = argc - optind;
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
    return sd_cli_usage("unknown command '%s': expected cat, stats or check", cmd);
}
