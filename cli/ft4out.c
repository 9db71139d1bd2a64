/* FT4 output files: see ft4out.h. */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common.h"
#include "ft4out.h"

void sd_cli_ft4out_init(sd_cli_ft4out *o, const char *out, const char *tool)
{
    memset(o, 0, sizeof *o);
    o->out = out;
    o->tool = tool;
    sd_avro_writer_opts_init(&o->opts);
    o->opts.done_file = 1;
    o->is_template = strstr(out, "%s") != NULL;
}

static int fail(sd_cli_ft4out *o, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int fail(sd_cli_ft4out *o, int rc, const char *fmt, ...)
{
    if (o->failed == 0) {
        o->failed = rc;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(o->err, sizeof o->err, fmt, ap);
        va_end(ap);
    }
    return rc;
}

int sd_cli_ft4out_check(sd_cli_ft4out *o)
{
    char dir[4096];
    if (!o->is_template) {
        snprintf(dir, sizeof dir, "%s", o->out);
    } else {
        /* The template's directory part, up to its last '/' (a '%' code
         * in it is left to the file's own open to report). */
        const char *slash = strrchr(o->out, '/');
        if (slash == NULL)
            snprintf(dir, sizeof dir, ".");
        else
            snprintf(dir, sizeof dir, "%.*s", (int)(slash - o->out) + (slash == o->out), o->out);
        if (strchr(dir, '%') != NULL)
            return 0;
    }
    char why[sizeof dir + 128];
    int rc = sd_cli_check_out_dir(dir, o->is_template ? NULL : " (and no %s: not a template)",
                                  why, sizeof why);
    if (rc != 0) {
        fail(o, rc, "%s", why);
        return -1;
    }
    o->failed = 0;
    return 0;
}

/* The file name of the interval starting at start. */
static int file_name(const sd_cli_ft4out *o, uint32_t interval, uint64_t start, char *buf,
                     size_t size)
{
    if (!o->is_template) {
        char prefix[32];
        if (interval % 60 == 0)
            snprintf(prefix, sizeof prefix, "v3_%umin", (unsigned)(interval / 60));
        else
            snprintf(prefix, sizeof prefix, "v3_%us", (unsigned)interval);
        int n = snprintf(buf, size, "%s/%s_%llu.ft4.avro", o->out, prefix,
                         (unsigned long long)start);
        return n > 0 && (size_t)n < size ? 0 : -1;
    }
    /* the first o->literal bytes (a directory) as they are */
    if (o->literal >= size)
        return -1;
    memcpy(buf, o->out, o->literal);
    return sd_cli_expand_name(buf + o->literal, size - o->literal, o->out + o->literal, start,
                              o->monitor, "flowtuple");
}

static int remember(sd_cli_ft4out *o, const char *path)
{
    if (o->nwritten == o->capwritten) {
        size_t cap = o->capwritten ? o->capwritten * 2 : 16;
        char **p = realloc(o->written, cap * sizeof *p);
        if (p == NULL)
            return -1;
        o->written = p;
        o->capwritten = cap;
    }
    char *s = strdup(path);
    if (s == NULL)
        return -1;
    o->written[o->nwritten++] = s;
    return 0;
}

static int open_file(sd_cli_ft4out *o, uint64_t start)
{
    sd_ft4_config cfg;
    cfg.size = sizeof cfg;
    int rc = sd_ft4_get_config(o->ft4, &cfg);
    if (rc != 0)
        return fail(o, rc, "FT4 configuration: %s", sd_strerror(rc));
    if (file_name(o, cfg.interval, start, o->path, sizeof o->path) != 0)
        return fail(o, SD_ERR_INVAL, "output file name too long or empty for %s", o->out);
    if (o->literal > 0 && sd_cli_make_parents(o->path, o->literal) != 0)
        return fail(o, SD_ERR_IO, "cannot create the directories of %s: %s", o->path,
                    strerror(errno));
    char errbuf[SD_ERRBUF_SIZE];
    char pl[8], iv[16];
    snprintf(pl, sizeof pl, "%u", (unsigned)cfg.dst_prefix_len);
    snprintf(iv, sizeof iv, "%u", (unsigned)cfg.interval);
    const char *const meta[] = {"stardust.ft4.dst_prefix_len", pl, "stardust.ft4.interval", iv,
                                NULL};
    rc = sd_cli_avro_open(&o->w, o->path, SD_AVRO_SCHEMA_FT4, &o->opts, o->tool, o->cmdline,
                          meta, errbuf);
    return rc != 0 ? fail(o, rc, "%s", errbuf) : 0;
}

static int close_file(sd_cli_ft4out *o)
{
    char errbuf[SD_ERRBUF_SIZE];
    errbuf[0] = '\0';
    int rc = sd_avro_writer_close(o->w, errbuf);
    o->w = NULL;
    if (rc != 0)
        return fail(o, rc, "%s", errbuf);
    o->files++;
    if (remember(o, o->path) != 0)
        return fail(o, SD_ERR_NOMEM, "out of memory");
    return 0;
}

int sd_cli_ft4out_emit(void *user, const sd_ft_chunk_info *info, const sd_ft4_record *recs,
                       size_t n)
{
    sd_cli_ft4out *o = user;
    int rc;
    if (o->failed != 0)
        return o->failed;
    if (o->w == NULL && (rc = open_file(o, info->time)) != 0)
        return rc;
    if (n > 0 && (rc = sd_avro_write_ft4(o->w, recs, n)) < 0) {
        fail(o, rc, "%s", sd_errmsg(o->w));
        sd_avro_writer_discard(o->w);
        o->w = NULL;
        return rc;
    }
    return info->final ? close_file(o) : 0;
}

int sd_cli_ft4out_end(sd_cli_ft4out *o, int ok)
{
    if (ok && o->failed == 0 && o->w != NULL)
        close_file(o);
    if (o->w != NULL) {
        sd_avro_writer_discard(o->w);
        o->w = NULL;
    }
    if (!ok || o->failed != 0) {
        /* A failed run leaves nothing: no file, no .done. */
        for (size_t i = 0; i < o->nwritten; i++) {
            char done[4096 + 8];
            snprintf(done, sizeof done, "%s.done", o->written[i]);
            unlink(done);
            unlink(o->written[i]);
        }
    }
    for (size_t i = 0; i < o->nwritten; i++)
        free(o->written[i]);
    free(o->written);
    o->written = NULL;
    o->nwritten = o->capwritten = 0;
    if (!ok && o->failed == 0)
        o->failed = SD_ERR_STATE;
    return o->failed;
}
