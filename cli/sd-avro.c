/* sd-avro: look into Avro container files (flowtuples and any other
 * schema): cat as JSON lines or CSV, stats, check.
 *
 * FT3 and FT4 files go through the typed readers (sd_avro_read_ft3/ft4),
 * everything else through the generic record API and avro-c's values. */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
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

/* A generic record: JSON from avro-c, or CSV of the top-level fields
 * (complex fields as their JSON text). */
static int emit_generic(sd_cli_out *o, sd_avro_reader *r, int csv)
{
    avro_value_t *v = sd_avro_reader_value(r);
    if (!csv || sd_avro_field_count(r) == 0) {
        char *json = NULL;
        if (avro_value_to_json(v, 1, &json) != 0)
            return -1;
        if (csv)
            csv_field(o, json, strlen(json));
        else
            sd_cli_out_str(o, json);
        sd_cli_out_char(o, '\n');
        free(json);
        return 0;
    }
    int n = sd_avro_field_count(r);
    for (int i = 0; i < n; i++) {
        if (i > 0)
            sd_cli_out_char(o, ',');
        int64_t l;
        double d;
        const char *s;
        size_t len;
        if (sd_avro_get_long(r, i, &l) == 0) {
            sd_cli_out_i64(o, l);
        } else if (sd_avro_get_string(r, i, &s, &len) == 0) {
            csv_field(o, s, len);
        } else if (sd_avro_get_double(r, i, &d) == 0) {
            sd_cli_out_printf(o, "%.17g", d);
        } else {
            avro_value_t f;
            char *json = NULL;
            if (avro_value_get_by_index(v, (size_t)i, &f, NULL) == 0 && avro_value_to_json(&f, 1, &json) == 0) {
                csv_field(o, json, strlen(json));
                free(json);
            }
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
                if (emit_generic(&o, r, csv) < 0) {
                    sd_cli_error("%s: cannot render record %" PRIu64 " as JSON", files[f],
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
