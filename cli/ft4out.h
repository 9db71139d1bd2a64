/* FT4 output files for sd-avro ft3to4 and sd-flowtuple --format ft4: an
 * sd_ft4 emit callback that writes one Avro file per FT4 interval.
 *
 * Naming (flowtuple.md §2): OUT is a directory, giving
 * OUT/<prefix>_<interval start>.ft4.avro with prefix v3_<N>min (v3_5min
 * for 300 s, as the published data set) or v3_<N>s when N is not whole
 * minutes; or OUT contains %s and is a template: %s is the interval start,
 * then strftime(3) in UTC, nothing appended (as ftconvert names files).
 * Each file is written under a temporary name and renamed when its
 * interval is complete, with an empty NAME.done beside it unless asked not
 * to. Every path written is remembered so that a run that fails later can
 * remove its files (sd_cli_ft4out_end()). */
#ifndef SD_CLI_FT4OUT_H
#define SD_CLI_FT4OUT_H

#include <stddef.h>
#include <stdint.h>

#include <stardust/stardust.h>

typedef struct sd_cli_ft4out {
    /* set by the caller (sd_cli_ft4out_init() fills defaults) */
    const char *out;           /* directory or template with %s */
    const char *tool;          /* stardust.tool metadata, e.g. "sd-avro" */
    const char *cmdline;       /* stardust.command metadata, or NULL */
    sd_avro_writer_opts opts;  /* codec, .done */
    sd_ft4 *ft4;               /* the folder, for its configuration */
    const char *monitor;       /* %N of a template, or NULL (kept as is) */
    size_t literal;            /* > 0: out's first bytes are a directory,
                                  taken as they are; the missing directories
                                  a template names inside it are created */
    /* state */
    int is_template;
    sd_avro_writer *w;
    char path[4096];
    char **written;            /* completed files, for removal on failure */
    size_t nwritten, capwritten;
    uint64_t files;
    int failed;                /* first error (negative sd_err) */
    char err[512];
} sd_cli_ft4out;

/* Defaults: deflate, .done files. */
void sd_cli_ft4out_init(sd_cli_ft4out *o, const char *out, const char *tool);

/* Check OUT before any input is read: a writable directory, or a template
 * with %s whose directory exists. Returns 0, or -1 with the reason in
 * o->err. */
int sd_cli_ft4out_check(sd_cli_ft4out *o);

/* The sd_ft4 emit callback (userdata: the sd_cli_ft4out). */
int sd_cli_ft4out_emit(void *user, const sd_ft_chunk_info *info, const sd_ft4_record *recs,
                       size_t n);

/* End of the run. ok: close the open file (if any). !ok, or when closing
 * fails: discard the open file and remove every file of this run (and its
 * .done). Returns 0 or the first error (message in o->err). Frees the
 * list. */
int sd_cli_ft4out_end(sd_cli_ft4out *o, int ok);

#endif
