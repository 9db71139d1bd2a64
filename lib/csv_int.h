/* stardust: line-oriented CSV reader for the provider files (tags.md §5):
 * plain or gzip (zlib's gzread reads both), bounded line length, line
 * numbers, comma-separated fields with optional double quotes ("" inside a
 * quoted field is one quote). Bytes pass through unchanged (MaxMind legacy
 * files are ISO-8859-1). A quoted field cannot span lines. */
#ifndef SD_CSV_INT_H
#define SD_CSV_INT_H

#include <stddef.h>
#include <stdint.h>
#include <zlib.h>

#include "internal.h"

#define SD__CSV_MAXFIELDS 32
#define SD__CSV_MAXLINE 65536

struct sd__csv {
    gzFile gz;
    const char *path;           /* borrowed, for messages */
    char *errbuf;               /* SD_ERRBUF_SIZE bytes or NULL */
    char *buf;
    size_t have, pos;
    int eof;
    uint64_t lineno;            /* of the current line, 1-based */
    int raw;                    /* set: sd__csv_next() does not split */
    char *line;                 /* the current line, NUL-terminated, no newline */
    size_t linelen;
    char *field[SD__CSV_MAXFIELDS]; /* NUL-terminated, inside buf */
    size_t len[SD__CSV_MAXFIELDS];
    unsigned nfields;
};

/* Open path for reading. Returns 0, or SD_ERR_IO / SD_ERR_NOMEM with
 * "path: reason" in errbuf. path and errbuf
 * are borrowed until sd__csv_close(). */
int sd__csv_open(struct sd__csv *c, const char *path, char *errbuf);

/* Read and (unless c->raw) split the next non-empty line. Returns 1 (fields in c->field),
 * 0 at the end of the file, or a negative sd_err with "path:line: reason"
 * in errbuf (SD_ERR_FORMAT: line too long, NUL byte, more than
 * SD__CSV_MAXFIELDS fields, bad quoting, damaged or truncated gzip data;
 * SD_ERR_IO: read error). */
int sd__csv_next(struct sd__csv *c);

/* "path:line: <fmt>" into errbuf; returns err. */
int sd__csv_err(struct sd__csv *c, int err, const char *fmt, ...) SD_PRINTF(3, 4);

/* Split the current line (after a raw read). 0 or SD_ERR_FORMAT. */
int sd__csv_split(struct sd__csv *c);

/* Check the current line has exactly n fields, else SD_ERR_FORMAT. */
int sd__csv_want(struct sd__csv *c, unsigned n);

/* Decimal unsigned number of at most max, the whole field. 0 or -1. */
int sd__csv_uint(const char *s, uint64_t max, uint64_t *out);

/* Decimal number [-]digits[.digits] (no exponent, locale-independent),
 * the whole field, within [-limit, limit]. 0 or -1. */
int sd__csv_coord(const char *s, double limit, double *out);

void sd__csv_close(struct sd__csv *c);

#endif
