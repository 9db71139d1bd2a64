/* stardust: pfx2as loader (see include/stardust/pfx2as.h, tags.md §5.1).
 *
 * zlib's gzread() reads gzip and plain files alike. Lines are parsed in
 * place from a chunk buffer; each prefix maps, through the LPM, to the
 * index of an interned origin list.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include <stardust/lpm.h>
#include <stardust/pfx2as.h>

#include "internal.h"
#include "tag_int.h"

#define SD__PFX2AS_CHUNK (1u << 20)
#define SD__PFX2AS_MAXLINE 4096
#define SD__PFX2AS_MAXASNS 1024

struct sd__olist {
    uint32_t off, n;
};

struct sd_pfx2as {
    struct sd__handle h;
    sd_lpm *lpm;
    uint32_t *asns;           /* pool of all lists */
    size_t nasns, capasns;
    struct sd__olist *lists;
    size_t nlists, caplists;
    uint32_t *hash;           /* list index + 1, open addressing; load only */
    size_t hashcap;
};

static uint32_t hash_list(const uint32_t *a, size_t n)
{
    uint32_t h = 2166136261u ^ (uint32_t)n;
    for (size_t i = 0; i < n; i++) {
        h ^= a[i];
        h *= 16777619u;
        h ^= h >> 15;
    }
    return h;
}

static int rehash(sd_pfx2as *t, size_t cap)
{
    uint32_t *hnew = sd__calloc(cap, sizeof *hnew);
    if (hnew == NULL)
        return SD_ERR_NOMEM;
    for (size_t i = 0; i < t->nlists; i++) {
        const struct sd__olist *l = &t->lists[i];
        size_t s = hash_list(t->asns + l->off, l->n) & (cap - 1);
        while (hnew[s] != 0)
            s = (s + 1) & (cap - 1);
        hnew[s] = (uint32_t)i + 1;
    }
    sd__free(t->hash);
    t->hash = hnew;
    t->hashcap = cap;
    return 0;
}

/* Index of the list a[0..n), added when new. Returns >= 0 or SD_ERR_NOMEM. */
static long intern(sd_pfx2as *t, const uint32_t *a, size_t n)
{
    if ((t->nlists + 1) * 2 > t->hashcap && rehash(t, t->hashcap ? t->hashcap * 2 : 4096) != 0)
        return SD_ERR_NOMEM;
    size_t s = hash_list(a, n) & (t->hashcap - 1);
    while (t->hash[s] != 0) {
        const struct sd__olist *l = &t->lists[t->hash[s] - 1];
        if (l->n == n && memcmp(t->asns + l->off, a, n * sizeof *a) == 0)
            return (long)t->hash[s] - 1;
        s = (s + 1) & (t->hashcap - 1);
    }
    if (t->nlists >= SD_LPM_VALUE_MAX || t->nasns + n > UINT32_MAX)
        return SD_ERR_NOMEM;
    if (sd__grow((void **)&t->asns, &t->capasns, t->nasns + n, sizeof *t->asns) != 0 ||
        sd__grow((void **)&t->lists, &t->caplists, t->nlists + 1, sizeof *t->lists) != 0)
        return SD_ERR_NOMEM;
    memcpy(t->asns + t->nasns, a, n * sizeof *a);
    t->lists[t->nlists] = (struct sd__olist){ (uint32_t)t->nasns, (uint32_t)n };
    t->nasns += n;
    t->hash[s] = (uint32_t)t->nlists + 1;
    return (long)t->nlists++;
}

/* Decimal number of at most max, from [*p, end) up to a non-digit. */
static int parse_uint(const char **p, const char *end, uint64_t max, uint64_t *out)
{
    const char *s = *p;
    uint64_t v = 0;
    if (s == end || *s < '0' || *s > '9')
        return -1;
    while (s < end && *s >= '0' && *s <= '9') {
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max)
            return -1;
        s++;
    }
    *p = s;
    *out = v;
    return 0;
}

/* Parse one line [s, end) (no newline) and insert it. Writes the reason into
 * why on a format error. */
static int parse_line(sd_pfx2as *t, const char *s, const char *end, char *why, size_t whysize)
{
    const char *f[3];
    size_t flen[3];
    int nf = 0;
    const char *fs = s;
    for (const char *c = s;; c++) {
        if (c == end || *c == '\t') {
            if (nf < 3) {
                f[nf] = fs;
                flen[nf] = (size_t)(c - fs);
            }
            nf++;
            fs = c + 1;
            if (c == end)
                break;
        }
    }
    if (nf != 3) {
        snprintf(why, whysize, "expected 3 tab-separated fields, found %d", nf);
        return SD_ERR_FORMAT;
    }
    char abuf[64];
    uint8_t addr[16];
    int v6 = memchr(f[0], ':', flen[0]) != NULL;
    if (flen[0] == 0 || flen[0] >= sizeof abuf) {
        snprintf(why, whysize, "unparsable network address");
        return SD_ERR_FORMAT;
    }
    memcpy(abuf, f[0], flen[0]);
    abuf[flen[0]] = '\0';
    if (inet_pton(v6 ? AF_INET6 : AF_INET, abuf, addr) != 1) {
        snprintf(why, whysize, "unparsable network address \"%.40s\"", abuf);
        return SD_ERR_FORMAT;
    }
    const char *p = f[1], *pe = f[1] + flen[1];
    uint64_t len;
    if (parse_uint(&p, pe, v6 ? 128 : 32, &len) != 0 || p != pe) {
        snprintf(why, whysize, "unparsable prefix length \"%.*s\" (0-%d)",
                 (int)(flen[1] > 20 ? 20 : flen[1]), f[1], v6 ? 128 : 32);
        return SD_ERR_FORMAT;
    }
    uint32_t asn[SD__PFX2AS_MAXASNS];
    size_t n = 0;
    p = f[2];
    pe = f[2] + flen[2];
    for (;;) {
        uint64_t a, b;
        if (parse_uint(&p, pe, UINT32_MAX, &a) != 0)
            goto bad_origin;
        if (p < pe && *p == '.') { /* ASDOT a.b */
            p++;
            if (a > 65535 || parse_uint(&p, pe, 65535, &b) != 0)
                goto bad_origin;
            a = a << 16 | b;
        }
        size_t i;
        for (i = 0; i < n && asn[i] != (uint32_t)a; i++)
            ;
        if (i == n) {
            if (n == SD__PFX2AS_MAXASNS) {
                snprintf(why, whysize, "more than %d origin ASNs", SD__PFX2AS_MAXASNS);
                return SD_ERR_FORMAT;
            }
            asn[n++] = (uint32_t)a;
        }
        if (p == pe)
            break;
        if (*p != '_' && *p != ',')
            goto bad_origin;
        p++;
    }
    long id = intern(t, asn, n);
    if (id < 0)
        return (int)id;
    int rc = v6 ? sd_lpm_insert6(t->lpm, addr, (unsigned)len, (uint32_t)id)
                : sd_lpm_insert4(t->lpm, sd__be32(addr), (unsigned)len, (uint32_t)id);
    return rc;
bad_origin:
    snprintf(why, whysize, "unparsable origin \"%.*s\"", (int)(flen[2] > 40 ? 40 : flen[2]), f[2]);
    return SD_ERR_FORMAT;
}

static int load(sd_pfx2as *t, const char *path, gzFile gz, char *errbuf)
{
    char *buf = sd__malloc(SD__PFX2AS_CHUNK + 1);
    if (buf == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
    size_t have = 0;
    uint64_t lineno = 0;
    int eof = 0, rc = 0;
    char why[160];
    while (!eof) {
        int got = gzread(gz, buf + have, (unsigned)(SD__PFX2AS_CHUNK - have));
        if (got < 0) {
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            rc = sd__errbuf(errbuf, zerr == Z_ERRNO ? sd__errno_to_err(errno) : SD_ERR_TRUNCATED,
                            "%s:%llu: read failed: %s", path, (unsigned long long)lineno + 1,
                            zerr == Z_ERRNO ? strerror(errno) : msg);
            goto out;
        }
        if (got == 0) {
            /* A gzip stream cut short reads as a short end of file; only
             * gzerror() tells (Z_BUF_ERROR). Loading half a table would
             * silently mis-tag, so it is an error. */
            int zerr;
            const char *msg = gzerror(gz, &zerr);
            if (zerr != Z_OK) {
                rc = sd__errbuf(errbuf, SD_ERR_TRUNCATED, "%s:%llu: truncated gzip data: %s", path,
                                (unsigned long long)lineno + 1, msg);
                goto out;
            }
            eof = 1;
        }
        have += (size_t)got;
        size_t pos = 0;
        for (;;) {
            char *nl = memchr(buf + pos, '\n', have - pos);
            if (nl == NULL) {
                if (!eof || pos == have)
                    break;
                nl = buf + have; /* last line without newline */
            }
            lineno++;
            const char *end = nl;
            if (end > buf + pos && end[-1] == '\r')
                end--;
            rc = parse_line(t, buf + pos, end, why, sizeof why);
            if (rc != 0) {
                if (rc == SD_ERR_FORMAT)
                    sd__errbuf(errbuf, rc, "%s:%llu: %s", path, (unsigned long long)lineno, why);
                else
                    sd__errbuf(errbuf, rc, "%s:%llu: %s", path, (unsigned long long)lineno,
                               sd_errmsg(t->lpm)[0] ? sd_errmsg(t->lpm) : sd_strerror(rc));
                goto out;
            }
            pos = nl < buf + have ? (size_t)(nl - buf) + 1 : have;
        }
        memmove(buf, buf + pos, have - pos);
        have -= pos;
        if (have > SD__PFX2AS_MAXLINE) {
            rc = sd__errbuf(errbuf, SD_ERR_FORMAT, "%s:%llu: line longer than %d bytes", path,
                            (unsigned long long)lineno + 1, SD__PFX2AS_MAXLINE);
            goto out;
        }
    }
out:
    sd__free(buf);
    return rc;
}

int sd_pfx2as_open(sd_pfx2as **tablep, const char *path, char *errbuf)
{
    if (tablep == NULL || path == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_pfx2as_open: NULL argument");
    *tablep = NULL;
    sd_pfx2as *t = sd__calloc(1, sizeof *t);
    if (t == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
    sd__handle_init(&t->h);
    int rc = sd_lpm_create(&t->lpm);
    if (rc != 0) {
        sd__free(t);
        return sd__errbuf(errbuf, rc, "%s: out of memory", path);
    }
    gzFile gz = gzopen(path, "rb");
    if (gz == NULL) {
        int e = errno ? errno : ENOMEM;
        rc = sd__errbuf(errbuf, sd__errno_to_err(e), "%s: %s", path, strerror(e));
        sd_pfx2as_close(t);
        return rc;
    }
    gzbuffer(gz, 256 * 1024);
    rc = load(t, path, gz, errbuf);
    gzclose(gz);
    if (rc == 0 && (rc = sd_lpm_freeze(t->lpm)) != 0)
        sd__errbuf(errbuf, rc, "%s: %s", path, sd_errmsg(t->lpm));
    sd__free(t->hash); /* interning is over */
    t->hash = NULL;
    t->hashcap = 0;
    if (rc != 0) {
        sd_pfx2as_close(t);
        return rc;
    }
    *tablep = t;
    return 0;
}

static size_t answer(const sd_pfx2as *t, uint32_t v, const uint32_t **asns)
{
    if (v == SD_LPM_NONE) {
        *asns = NULL;
        return 0;
    }
    *asns = t->asns + t->lists[v].off;
    return t->lists[v].n;
}

size_t sd_pfx2as_lookup4(const sd_pfx2as *t, uint32_t addr, const uint32_t **asns)
{
    return answer(t, sd_lpm_lookup4(t->lpm, addr), asns);
}

size_t sd_pfx2as_lookup6(const sd_pfx2as *t, const uint8_t addr[16], const uint32_t **asns)
{
    return answer(t, sd_lpm_lookup6(t->lpm, addr), asns);
}

size_t sd_pfx2as_count(const sd_pfx2as *t, int family)
{
    return t ? sd_lpm_count(t->lpm, family) : 0;
}

size_t sd_pfx2as_origin_lists(const sd_pfx2as *t)
{
    return t ? t->nlists : 0;
}

size_t sd_pfx2as_memory(const sd_pfx2as *t)
{
    if (t == NULL)
        return 0;
    return sizeof *t + sd_lpm_memory(t->lpm) + t->capasns * sizeof *t->asns +
           t->caplists * sizeof *t->lists + t->hashcap * sizeof *t->hash;
}

void sd_pfx2as_close(sd_pfx2as *t)
{
    if (t == NULL)
        return;
    sd_lpm_destroy(t->lpm);
    sd__free(t->asns);
    sd__free(t->lists);
    sd__free(t->hash);
    t->h.magic = 0;
    sd__free(t);
}

/* Internal accessors for the tagger (tag_int.h). */
const sd_lpm *sd__pfx2as_lpm(const sd_pfx2as *t)
{
    return t->lpm;
}

size_t sd__pfx2as_nlists(const sd_pfx2as *t)
{
    return t->nlists;
}

size_t sd__pfx2as_list(const sd_pfx2as *t, uint32_t idx, const uint32_t **asns)
{
    return answer(t, idx, asns);
}
