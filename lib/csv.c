/* stardust: CSV line reader for the geolocation provider files (see
 * lib/csv_int.h, tags.md §5). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "csv_int.h"

#define SD__CSV_CHUNK (256u * 1024u)

int sd__csv_open(struct sd__csv *c, const char *path, char *errbuf)
{
    memset(c, 0, sizeof *c);
    c->path = path;
    c->errbuf = errbuf;
    c->buf = sd__malloc(SD__CSV_CHUNK + 1);
    if (c->buf == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
    errno = 0;
    c->gz = gzopen(path, "rb");
    if (c->gz == NULL) {
        int e = errno ? errno : ENOMEM;
        sd__free(c->buf);
        c->buf = NULL;
        /* geo.h: a file that cannot be opened is SD_ERR_IO, whatever the errno. */
        return sd__errbuf(errbuf, e == ENOMEM ? SD_ERR_NOMEM : SD_ERR_IO, "%s: %s", path,
                          strerror(e));
    }
    gzbuffer(c->gz, 128 * 1024);
    return 0;
}

void sd__csv_close(struct sd__csv *c)
{
    if (c->gz != NULL)
        gzclose(c->gz);
    c->gz = NULL;
    sd__free(c->buf);
    c->buf = NULL;
}

int sd__csv_err(struct sd__csv *c, int err, const char *fmt, ...)
{
    char why[SD_ERRBUF_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    return sd__errbuf(c->errbuf, err, "%s:%llu: %s", c->path, (unsigned long long)c->lineno,
                      why);
}

int sd__csv_want(struct sd__csv *c, unsigned n)
{
    if (c->nfields != n)
        return sd__csv_err(c, SD_ERR_FORMAT, "expected %u fields, found %u", n, c->nfields);
    return 0;
}

/* Split the line in place into c->field. */
int sd__csv_split(struct sd__csv *c)
{
    char *s = c->line, *end = c->line + c->linelen;
    c->nfields = 0;
    char *p = s;
    for (;;) {
        if (c->nfields == SD__CSV_MAXFIELDS)
            return sd__csv_err(c, SD_ERR_FORMAT, "more than %d fields", SD__CSV_MAXFIELDS);
        unsigned fi = c->nfields++;
        char *out = p;
        c->field[fi] = out;
        if (p < end && *p == '"') {
            p++;
            for (;;) {
                if (p == end)
                    return sd__csv_err(c, SD_ERR_FORMAT, "field %u: unterminated quote", fi + 1);
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') {
                        *out++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                *out++ = *p++;
            }
            if (p < end && *p != ',')
                return sd__csv_err(c, SD_ERR_FORMAT,
                                   "field %u: character after the closing quote", fi + 1);
        } else {
            while (p < end && *p != ',') {
                if (*p == '"')
                    return sd__csv_err(c, SD_ERR_FORMAT, "field %u: quote inside an unquoted field",
                                       fi + 1);
                out++;
                p++;
            }
        }
        c->len[fi] = (size_t)(out - c->field[fi]);
        int last = p == end;
        *out = '\0'; /* out <= p: overwrites the comma, the quote or *end */
        if (last)
            return 0;
        p++; /* the comma */
    }
}

int sd__csv_next(struct sd__csv *c)
{
    for (;;) {
        char *nl = memchr(c->buf + c->pos, '\n', c->have - c->pos);
        if (nl == NULL && c->eof) {
            if (c->pos == c->have)
                return 0;
            nl = c->buf + c->have; /* last line without a newline; buf has room for the NUL */
        }
        if (nl == NULL) {
            memmove(c->buf, c->buf + c->pos, c->have - c->pos);
            c->have -= c->pos;
            c->pos = 0;
            if (c->have > SD__CSV_MAXLINE) {
                c->lineno++;
                return sd__csv_err(c, SD_ERR_FORMAT, "line longer than %d bytes",
                                   SD__CSV_MAXLINE);
            }
            int got = gzread(c->gz, c->buf + c->have, (unsigned)(SD__CSV_CHUNK - c->have));
            if (got < 0) {
                int zerr;
                const char *msg = gzerror(c->gz, &zerr);
                c->lineno++;
                if (zerr == Z_ERRNO)
                    return sd__csv_err(c, SD_ERR_IO, "read failed: %s", strerror(errno));
                return sd__csv_err(c, SD_ERR_FORMAT, "damaged gzip data: %s", msg);
            }
            if (got == 0) {
                /* A gzip stream that ends early reads as a short end of
                 * file; only gzerror() tells (Z_BUF_ERROR). */
                int zerr;
                const char *msg = gzerror(c->gz, &zerr);
                if (zerr != Z_OK) {
                    c->lineno++;
                    return sd__csv_err(c, SD_ERR_FORMAT, "truncated gzip data: %s", msg);
                }
                c->eof = 1;
            }
            c->have += (size_t)got;
            continue;
        }
        c->lineno++;
        char *s = c->buf + c->pos;
        char *end = nl;
        c->pos = nl < c->buf + c->have ? (size_t)(nl - c->buf) + 1 : c->have;
        if (end - s > SD__CSV_MAXLINE)
            return sd__csv_err(c, SD_ERR_FORMAT, "line longer than %d bytes", SD__CSV_MAXLINE);
        if (end > s && end[-1] == '\r')
            end--;
        if (end == s)
            continue; /* blank line */
        if (memchr(s, '\0', (size_t)(end - s)) != NULL)
            return sd__csv_err(c, SD_ERR_FORMAT, "NUL byte in line");
        *end = '\0';
        c->line = s;
        c->linelen = (size_t)(end - s);
        if (c->raw)
            return 1;
        int rc = sd__csv_split(c);
        return rc < 0 ? rc : 1;
    }
}

int sd__csv_uint(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (*s == '\0')
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max)
            return -1;
    }
    *out = v;
    return 0;
}

int sd__csv_coord(const char *s, double limit, double *out)
{
    static const double pow10[] = { 1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                    1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                    1e16, 1e17, 1e18 };
    int neg = 0;
    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    uint64_t mant = 0;
    unsigned digits = 0, frac = 0;
    int dot = 0, any = 0;
    for (; *s; s++) {
        if (*s == '.' && !dot) {
            dot = 1;
            continue;
        }
        if (*s < '0' || *s > '9')
            return -1;
        any = 1;
        if (mant == 0 && *s == '0' && !dot)
            continue; /* leading zeros */
        if (++digits > 18)
            return -1;
        mant = mant * 10 + (uint64_t)(*s - '0');
        frac += (unsigned)dot;
    }
    if (!any)
        return -1; /* "", "-", "." */
    /* mant and 10^frac are exact doubles up to 2^53, so one division gives
     * the correctly rounded value (as strtod would, without the locale). */
    double v = (double)mant / pow10[frac];
    if (v > limit)
        return -1;
    *out = neg ? -v : v;
    return 0;
}
