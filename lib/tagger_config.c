/* stardust: corsarotagger YAML configuration (tags.md §3.6).
 *
 * Parsed with libyaml's event API rather than a document tree: a
 * netacq-edge provider repeats the key polygontablefile inside one mapping
 * (one key per polygon table, order = table index), which a key->value
 * dictionary would collapse to the last one. */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <yaml.h>

#include <stardust/pfx2as.h>
#include <stardust/tagger_config.h>

#include "internal.h"

#define DEFAULT_GROUP "225.88.0.1"
#define MAX_CONFIG_BYTES (16u << 20) /* far above any real configuration */

void sd_tagger_config_init(sd_tagger_config *c)
{
    memset(c, 0, sizeof *c);
    c->size = sizeof *c;
    c->pktthreads = 2;
    c->consterfframing = 18;
    c->promisc = -1;
    c->beaconport = 9000;
    c->mtu = 9000;
    c->ttl = 4;
}

const char *sd_tagger_config_group(const sd_tagger_config *c)
{
    return c != NULL && c->groupaddr != NULL ? c->groupaddr : DEFAULT_GROUP;
}

static void provider_free(sd_tagger_provider *p)
{
    sd__free(p->prefixfile);
    sd__free(p->directory);
    sd__free(p->mmdbfile);
    sd__free(p->blocksfile);
    sd__free(p->locationsfile);
    sd__free(p->countryfile);
    sd__free(p->regionfile);
    sd__free(p->polygonmapfile);
    for (unsigned i = 0; i < p->n_polygontablefiles; i++)
        sd__free(p->polygontablefile[i]);
    memset(p, 0, sizeof *p);
}

void sd_tagger_config_clear_providers(sd_tagger_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_providers; i++)
        provider_free(&c->providers[i]);
    sd__free(c->providers);
    c->providers = NULL;
    c->n_providers = 0;
}

void sd_tagger_config_free(sd_tagger_config *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_inputuri; i++)
        sd__free(c->inputuri[i]);
    sd__free(c->inputuri);
    sd__free(c->basicfilter);
    sd__free(c->controlsocketname);
    sd__free(c->logfilename);
    sd__free(c->statfilename);
    sd__free(c->pubqueuename);
    sd__free(c->groupaddr);
    sd__free(c->sourceaddr);
    sd_tagger_config_clear_providers(c);
    sd_tagger_config_init(c);
}

/* Copy s into *dst (replacing what was there); NULL stays NULL. */
static int set_str(char **dst, const char *s)
{
    char *copy = NULL;
    if (s != NULL && (copy = sd__strdup(s)) == NULL)
        return SD_ERR_NOMEM;
    sd__free(*dst);
    *dst = copy;
    return 0;
}

static int provider_copy(sd_tagger_provider *dst, const sd_tagger_provider *src)
{
    memset(dst, 0, sizeof *dst);
    dst->kind = src->kind;
    dst->line = src->line;
    int rc = 0;
    rc |= set_str(&dst->prefixfile, src->prefixfile);
    rc |= set_str(&dst->directory, src->directory);
    rc |= set_str(&dst->mmdbfile, src->mmdbfile);
    rc |= set_str(&dst->blocksfile, src->blocksfile);
    rc |= set_str(&dst->locationsfile, src->locationsfile);
    rc |= set_str(&dst->countryfile, src->countryfile);
    rc |= set_str(&dst->regionfile, src->regionfile);
    rc |= set_str(&dst->polygonmapfile, src->polygonmapfile);
    for (unsigned i = 0; i < src->n_polygontablefiles; i++) {
        rc |= set_str(&dst->polygontablefile[i], src->polygontablefile[i]);
        dst->n_polygontablefiles = i + 1;
    }
    if (rc != 0) {
        provider_free(dst);
        return SD_ERR_NOMEM;
    }
    return 0;
}

int sd_tagger_config_add_provider(sd_tagger_config *c, const sd_tagger_provider *p)
{
    if (c == NULL || p == NULL)
        return SD_ERR_INVAL;
    if (p->kind < SD_TAGGER_PFX2AS || p->kind > SD_TAGGER_NETACQ ||
        p->n_polygontablefiles > SD_GEO_MAX_POLYGON_TABLES)
        return SD_ERR_INVAL;
    sd_tagger_provider *n = sd__realloc(c->providers, (c->n_providers + 1) * sizeof *n);
    if (n == NULL)
        return SD_ERR_NOMEM;
    c->providers = n;
    int rc = provider_copy(&n[c->n_providers], p);
    if (rc != 0)
        return rc;
    c->n_providers++;
    return 0;
}

/* ---------------------------------------------------------------- parser */

struct cfgp {
    yaml_parser_t parser;
    yaml_event_t ev;
    int have_ev;
    const char *name;
    sd_tagger_config *c;
    sd_log_fn warn;
    void *userdata;
    char *errbuf;
};

static unsigned ev_line(const struct cfgp *st) { return (unsigned)st->ev.start_mark.line + 1; }
static unsigned ev_col(const struct cfgp *st) { return (unsigned)st->ev.start_mark.column + 1; }

/* "name:line:col: reason" at the current event, SD_ERR_FORMAT. */
static int fail(struct cfgp *st, const char *fmt, ...) SD_PRINTF(2, 3);
static int fail(struct cfgp *st, const char *fmt, ...)
{
    char msg[SD_ERRBUF_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sd__errbuf(st->errbuf, SD_ERR_FORMAT, "%s:%u:%u: %s", st->name, ev_line(st), ev_col(st),
                      msg);
}

/* The same at a remembered position. */
static int fail_at(struct cfgp *st, const yaml_mark_t *m, const char *fmt, ...) SD_PRINTF(3, 4);
static int fail_at(struct cfgp *st, const yaml_mark_t *m, const char *fmt, ...)
{
    char msg[SD_ERRBUF_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sd__errbuf(st->errbuf, SD_ERR_FORMAT, "%s:%u:%u: %s", st->name, (unsigned)m->line + 1,
                      (unsigned)m->column + 1, msg);
}

static void note(struct cfgp *st, int level, const char *fmt, ...) SD_PRINTF(3, 4);
static void note(struct cfgp *st, int level, const char *fmt, ...)
{
    if (st->warn == NULL)
        return;
    char msg[SD_ERRBUF_SIZE], line[SD_ERRBUF_SIZE + 64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    snprintf(line, sizeof line, "%s:%u:%u: %s", st->name, ev_line(st), ev_col(st), msg);
    st->warn(st->userdata, level, line);
}

/* Advance to the next event. */
static int next(struct cfgp *st)
{
    if (st->have_ev) {
        yaml_event_delete(&st->ev);
        st->have_ev = 0;
    }
    if (!yaml_parser_parse(&st->parser, &st->ev)) {
        if (st->parser.error == YAML_MEMORY_ERROR)
            return sd__errbuf(st->errbuf, SD_ERR_NOMEM, "%s: out of memory", st->name);
        const yaml_mark_t *m = st->parser.problem_mark.line || st->parser.problem_mark.column
                                   ? &st->parser.problem_mark
                                   : &st->parser.context_mark;
        return sd__errbuf(st->errbuf, SD_ERR_FORMAT, "%s:%u:%u: invalid YAML: %s%s%s", st->name,
                          (unsigned)m->line + 1, (unsigned)m->column + 1,
                          st->parser.problem ? st->parser.problem : "syntax error",
                          st->parser.context ? " " : "",
                          st->parser.context ? st->parser.context : "");
    }
    st->have_ev = 1;
    return 0;
}

/* The current event starts a node: step over all of it. */
static int skip_node(struct cfgp *st)
{
    int depth = 0;
    for (;;) {
        switch (st->ev.type) {
        case YAML_SEQUENCE_START_EVENT:
        case YAML_MAPPING_START_EVENT:
            depth++;
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            depth--;
            break;
        default:
            break;
        }
        if (depth == 0)
            return 0;
        int rc = next(st);
        if (rc != 0)
            return rc;
    }
}

static const char *scalar(const struct cfgp *st) { return (const char *)st->ev.data.scalar.value; }

/* Read the value of key as a scalar: *out points into the event (valid
 * until the next call of next()). */
static int value_scalar(struct cfgp *st, const char *key, const char **out)
{
    int rc = next(st);
    if (rc != 0)
        return rc;
    if (st->ev.type == YAML_ALIAS_EVENT)
        return fail(st, "%s: YAML aliases are not supported", key);
    if (st->ev.type != YAML_SCALAR_EVENT)
        return fail(st, "%s: expected a single value, not a %s", key,
                    st->ev.type == YAML_MAPPING_START_EVENT ? "mapping" : "list");
    *out = scalar(st);
    return 0;
}

/* Plain empty scalars and "~"/"null" are YAML nulls. */
static int is_null(const struct cfgp *st)
{
    const char *s = scalar(st);
    if (st->ev.data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return 0;
    return s[0] == '\0' || strcmp(s, "~") == 0 || strcasecmp(s, "null") == 0;
}

static int value_str(struct cfgp *st, const char *key, char **dst)
{
    const char *s;
    int rc = value_scalar(st, key, &s);
    if (rc != 0)
        return rc;
    if (set_str(dst, is_null(st) ? NULL : s) != 0)
        return sd__errbuf(st->errbuf, SD_ERR_NOMEM, "%s: out of memory", st->name);
    return 0;
}

static int value_bool(struct cfgp *st, const char *key, int *out)
{
    const char *s;
    int rc = value_scalar(st, key, &s);
    if (rc != 0)
        return rc;
    static const char *const yes[] = {"yes", "y", "true", "on", "1"};
    static const char *const no[] = {"no", "n", "false", "off", "0"};
    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return fail(st, "%s: expected yes or no, got '%s'", key, s);
}

static int value_long(struct cfgp *st, const char *key, long min, long max, long *out)
{
    const char *s;
    int rc = value_scalar(st, key, &s);
    if (rc != 0)
        return rc;
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (s[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
        return fail(st, "%s: expected an integer from %ld to %ld, got '%s'", key, min, max, s);
    *out = v;
    return 0;
}

/* Check the event that should be a mapping key. */
static int expect_key(struct cfgp *st, const char *where)
{
    if (st->ev.type == YAML_SCALAR_EVENT)
        return 0;
    return fail(st, "%s: expected a key", where);
}

static int provider_option(struct cfgp *st, sd_tagger_provider *p, const char *pname)
{
    char key[64];
    snprintf(key, sizeof key, "%s", scalar(st));
    char **dst = NULL;
    if (p->kind == SD_TAGGER_PFX2AS) {
        if (strcmp(key, "prefixfile") == 0)
            dst = &p->prefixfile;
    } else {
        if (strcmp(key, "directory") == 0)
            dst = &p->directory;
        else if (strcmp(key, "blocksfile") == 0)
            dst = &p->blocksfile;
        else if (strcmp(key, "locationsfile") == 0)
            dst = &p->locationsfile;
        else if (p->kind == SD_TAGGER_MAXMIND && strcmp(key, "mmdbfile") == 0)
            dst = &p->mmdbfile;
        else if (p->kind == SD_TAGGER_NETACQ && strcmp(key, "countryfile") == 0)
            dst = &p->countryfile;
        else if (p->kind == SD_TAGGER_NETACQ && strcmp(key, "regionfile") == 0)
            dst = &p->regionfile;
        else if (p->kind == SD_TAGGER_NETACQ && strcmp(key, "polygonmapfile") == 0)
            dst = &p->polygonmapfile;
        else if (p->kind == SD_TAGGER_NETACQ && strcmp(key, "polygontablefile") == 0) {
            if (p->n_polygontablefiles == SD_GEO_MAX_POLYGON_TABLES)
                return fail(st, "%s: more than %d polygon tables", pname,
                            SD_GEO_MAX_POLYGON_TABLES);
            dst = &p->polygontablefile[p->n_polygontablefiles];
            int rc = value_str(st, key, dst);
            if (rc == 0 && *dst != NULL)
                p->n_polygontablefiles++;
            return rc;
        }
    }
    if (dst != NULL)
        return value_str(st, key, dst);
    note(st, SD_LOG_WARN, "%s: unknown option '%s', ignored", pname, key);
    int rc = next(st);
    return rc != 0 ? rc : skip_node(st);
}

/* Check that a provider names the files it needs (errors point at its
 * name, m). */
static int provider_check(struct cfgp *st, const yaml_mark_t *m, const sd_tagger_provider *p,
                          const char *pname)
{
    switch (p->kind) {
    case SD_TAGGER_PFX2AS:
        if (p->prefixfile == NULL)
            return fail_at(st, m, "%s: prefixfile is required", pname);
        break;
    case SD_TAGGER_MAXMIND:
        if (p->directory == NULL && p->mmdbfile == NULL &&
            (p->blocksfile == NULL || p->locationsfile == NULL))
            return fail_at(st, m, "%s: directory, or blocksfile and locationsfile, are required", pname);
        break;
    default:
        if (p->directory == NULL && (p->blocksfile == NULL || p->locationsfile == NULL))
            return fail_at(st, m, "%s: blocksfile and locationsfile are required", pname);
        break;
    }
    return 0;
}

/* One "- name: {options}" item of tagproviders (current event: its start). */
static int parse_provider(struct cfgp *st)
{
    if (st->ev.type != YAML_MAPPING_START_EVENT)
        return fail(st, "tagproviders: expected '- pfx2as:', '- maxmind:' or '- netacq-edge:'");
    yaml_mark_t entry = st->ev.start_mark;
    int rc;
    for (;;) {
        if ((rc = next(st)) != 0)
            return rc;
        if (st->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        if ((rc = expect_key(st, "tagproviders")) != 0)
            return rc;
        char pname[64];
        snprintf(pname, sizeof pname, "%s", scalar(st));
        yaml_mark_t name_mark = st->ev.start_mark;
        sd_tagger_provider p;
        memset(&p, 0, sizeof p);
        p.line = (unsigned)entry.line + 1;
        if (strcmp(pname, "pfx2as") == 0)
            p.kind = SD_TAGGER_PFX2AS;
        else if (strcmp(pname, "maxmind") == 0)
            p.kind = SD_TAGGER_MAXMIND;
        else if (strcmp(pname, "netacq-edge") == 0 || strcmp(pname, "netacq") == 0)
            p.kind = SD_TAGGER_NETACQ;
        else
            return fail(st, "tagproviders: unknown provider '%s' (expected pfx2as, maxmind or "
                        "netacq-edge)", pname);
        if ((rc = next(st)) != 0)
            return rc;
        if (st->ev.type != YAML_MAPPING_START_EVENT)
            return fail(st, "%s: expected its options (prefixfile: ..., blocksfile: ...)", pname);
        for (;;) {
            if ((rc = next(st)) != 0)
                break;
            if (st->ev.type == YAML_MAPPING_END_EVENT) {
                rc = provider_check(st, &name_mark, &p, pname);
                break;
            }
            if ((rc = expect_key(st, pname)) != 0 || (rc = provider_option(st, &p, pname)) != 0)
                break;
        }
        if (rc == 0) {
            rc = sd_tagger_config_add_provider(st->c, &p);
            if (rc != 0)
                rc = sd__errbuf(st->errbuf, rc, "%s: out of memory", st->name);
        }
        provider_free(&p);
        if (rc != 0)
            return rc;
    }
}

static int parse_providers(struct cfgp *st)
{
    int rc = next(st);
    if (rc != 0)
        return rc;
    if (st->ev.type == YAML_SCALAR_EVENT && is_null(st))
        return 0;
    if (st->ev.type != YAML_SEQUENCE_START_EVENT)
        return fail(st, "tagproviders: expected a list ('- pfx2as: ...')");
    for (;;) {
        if ((rc = next(st)) != 0)
            return rc;
        if (st->ev.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        if ((rc = parse_provider(st)) != 0)
            return rc;
    }
}

static int parse_multicast(struct cfgp *st)
{
    sd_tagger_config *c = st->c;
    int rc = next(st);
    if (rc != 0)
        return rc;
    if (st->ev.type == YAML_SCALAR_EVENT && is_null(st))
        return 0;
    if (st->ev.type != YAML_MAPPING_START_EVENT)
        return fail(st, "multicast: expected a mapping (groupaddr: ..., beaconport: ...)");
    for (;;) {
        if ((rc = next(st)) != 0)
            return rc;
        if (st->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        if ((rc = expect_key(st, "multicast")) != 0)
            return rc;
        char key[64];
        snprintf(key, sizeof key, "%s", scalar(st));
        long v;
        if (strcmp(key, "monitorid") == 0) {
            if ((rc = value_long(st, "multicast: monitorid", 0, 65535, &v)) == 0)
                c->monitorid = (uint16_t)v;
        } else if (strcmp(key, "beaconport") == 0) {
            if ((rc = value_long(st, "multicast: beaconport", 1, 65535, &v)) == 0)
                c->beaconport = (uint16_t)v;
        } else if (strcmp(key, "mtu") == 0) {
            if ((rc = value_long(st, "multicast: mtu", 536, 9000, &v)) == 0)
                c->mtu = (unsigned)v;
        } else if (strcmp(key, "ttl") == 0) {
            if ((rc = value_long(st, "multicast: ttl", 0, 255, &v)) == 0)
                c->ttl = (unsigned)v;
        } else if (strcmp(key, "groupaddr") == 0) {
            rc = value_str(st, "multicast: groupaddr", &c->groupaddr);
        } else if (strcmp(key, "sourceaddr") == 0) {
            rc = value_str(st, "multicast: sourceaddr", &c->sourceaddr);
        } else {
            note(st, SD_LOG_WARN, "multicast: unknown option '%s', ignored", key);
            if ((rc = next(st)) == 0)
                rc = skip_node(st);
        }
        if (rc != 0)
            return rc;
    }
}

static int add_input(struct cfgp *st, const char *uri)
{
    sd_tagger_config *c = st->c;
    char **n = sd__realloc(c->inputuri, (c->n_inputuri + 1) * sizeof *n);
    if (n == NULL)
        return sd__errbuf(st->errbuf, SD_ERR_NOMEM, "%s: out of memory", st->name);
    c->inputuri = n;
    if ((n[c->n_inputuri] = sd__strdup(uri)) == NULL)
        return sd__errbuf(st->errbuf, SD_ERR_NOMEM, "%s: out of memory", st->name);
    c->n_inputuri++;
    return 0;
}

/* inputuri: a string (the key may repeat) or a list of strings. */
static int parse_inputuri(struct cfgp *st)
{
    int rc = next(st);
    if (rc != 0)
        return rc;
    if (st->ev.type == YAML_SCALAR_EVENT)
        return is_null(st) ? 0 : add_input(st, scalar(st));
    if (st->ev.type != YAML_SEQUENCE_START_EVENT)
        return fail(st, "inputuri: expected a URI or a list of URIs");
    for (;;) {
        if ((rc = next(st)) != 0)
            return rc;
        if (st->ev.type == YAML_SEQUENCE_END_EVENT)
            return 0;
        if (st->ev.type != YAML_SCALAR_EVENT)
            return fail(st, "inputuri: expected a URI");
        if ((rc = add_input(st, scalar(st))) != 0)
            return rc;
    }
}

/* Options corsarotagger accepts that have no effect in stardust: parsed
 * (so a wrong type is still an error), then reported. */
static int ignored_option(struct cfgp *st, const char *key)
{
    sd_tagger_config *c = st->c;
    long v;
    int rc;
    const char *why;
    if (strcmp(key, "dohashing") == 0) {
        rc = value_bool(st, key, &c->dohashing);
        why = "stardust hashes packets onto streams by flow";
    } else if (strcmp(key, "consterfframing") == 0) {
        if ((rc = value_long(st, key, -1, 65535, &v)) == 0)
            c->consterfframing = (int)v;
        why = "ERF framing is read from every record";
    } else if (strcmp(key, "promisc") == 0) {
        rc = value_bool(st, key, &c->promisc);
        why = "unused by corsarotagger too";
    } else if (strcmp(key, "samplerate") == 0) {
        rc = value_long(st, key, 0, LONG_MAX, &c->samplerate);
        why = "unused by corsarotagger too";
    } else if (strcmp(key, "pubqueuename") == 0) {
        rc = value_str(st, key, &c->pubqueuename);
        why = "no ZeroMQ queues in stardust";
    } else {
        rc = value_str(st, key, &c->controlsocketname);
        why = "stardust has no control socket; labels come from the provider files";
    }
    if (rc == 0)
        note(st, SD_LOG_INFO, "%s: not used by stardust (%s)", key, why);
    return rc;
}

static int parse_top(struct cfgp *st)
{
    sd_tagger_config *c = st->c;
    int rc;
    for (;;) {
        if ((rc = next(st)) != 0)
            return rc;
        if (st->ev.type == YAML_MAPPING_END_EVENT)
            return 0;
        if ((rc = expect_key(st, "configuration")) != 0)
            return rc;
        char key[64];
        snprintf(key, sizeof key, "%s", scalar(st));
        long v;
        if (strcmp(key, "inputuri") == 0) {
            rc = parse_inputuri(st);
        } else if (strcmp(key, "pktthreads") == 0) {
            if ((rc = value_long(st, key, 1, 256, &v)) == 0)
                c->pktthreads = (unsigned)v;
        } else if (strcmp(key, "basicfilter") == 0) {
            rc = value_str(st, key, &c->basicfilter);
        } else if (strcmp(key, "logfilename") == 0) {
            rc = value_str(st, key, &c->logfilename);
        } else if (strcmp(key, "statfilename") == 0) {
            rc = value_str(st, key, &c->statfilename);
        } else if (strcmp(key, "multicast") == 0) {
            rc = parse_multicast(st);
        } else if (strcmp(key, "tagproviders") == 0) {
            rc = parse_providers(st);
        } else if (strcmp(key, "dohashing") == 0 || strcmp(key, "consterfframing") == 0 ||
                   strcmp(key, "promisc") == 0 || strcmp(key, "samplerate") == 0 ||
                   strcmp(key, "pubqueuename") == 0 || strcmp(key, "controlsocketname") == 0) {
            rc = ignored_option(st, key);
        } else {
            note(st, SD_LOG_WARN, "unknown option '%s', ignored", key);
            if ((rc = next(st)) == 0)
                rc = skip_node(st);
        }
        if (rc != 0)
            return rc;
    }
}

static int parse_stream(struct cfgp *st)
{
    int rc;
    if ((rc = next(st)) != 0) /* STREAM_START */
        return rc;
    for (;;) {
        if ((rc = next(st)) != 0)
            return rc;
        if (st->ev.type == YAML_STREAM_END_EVENT)
            return 0;
        if (st->ev.type != YAML_DOCUMENT_START_EVENT)
            return fail(st, "expected a YAML document");
        if ((rc = next(st)) != 0)
            return rc;
        if (st->ev.type == YAML_MAPPING_START_EVENT)
            rc = parse_top(st);
        else if (!(st->ev.type == YAML_SCALAR_EVENT && is_null(st)))
            rc = fail(st, "expected a mapping of options (inputuri: ..., tagproviders: ...)");
        if (rc != 0)
            return rc;
        if ((rc = next(st)) != 0) /* DOCUMENT_END */
            return rc;
    }
}

int sd_tagger_config_parse(sd_tagger_config *c, const char *text, size_t len, const char *name,
                           sd_log_fn warn, void *userdata, char *errbuf)
{
    if (c == NULL || (text == NULL && len > 0))
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_tagger_config_parse: NULL argument");
    struct cfgp st;
    memset(&st, 0, sizeof st);
    st.name = name != NULL ? name : "<config>";
    st.c = c;
    st.warn = warn;
    st.userdata = userdata;
    st.errbuf = errbuf;
    if (!yaml_parser_initialize(&st.parser))
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", st.name);
    yaml_parser_set_input_string(&st.parser, (const unsigned char *)(text ? text : ""), len);
    int rc = parse_stream(&st);
    if (st.have_ev)
        yaml_event_delete(&st.ev);
    yaml_parser_delete(&st.parser);
    return rc;
}

int sd_tagger_config_load(sd_tagger_config *c, const char *path, sd_log_fn warn, void *userdata,
                          char *errbuf)
{
    if (c == NULL || path == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_tagger_config_load: NULL argument");
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        int e = errno;
        return sd__errbuf(errbuf, sd__errno_to_err(e), "%s: %s", path, strerror(e));
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc = 0;
    for (;;) {
        if (len == cap) {
            if (cap >= MAX_CONFIG_BYTES) {
                rc = sd__errbuf(errbuf, SD_ERR_FORMAT, "%s: larger than %u bytes", path,
                                MAX_CONFIG_BYTES);
                break;
            }
            size_t ncap = cap ? cap * 2 : 4096;
            char *n = sd__realloc(buf, ncap);
            if (n == NULL) {
                rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            buf = n;
            cap = ncap;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0) {
            if (ferror(fp)) {
                int e = errno;
                rc = sd__errbuf(errbuf, SD_ERR_IO, "%s: %s", path, strerror(e));
            }
            break;
        }
    }
    fclose(fp);
    if (rc == 0)
        rc = sd_tagger_config_parse(c, buf, len, path, warn, userdata, errbuf);
    sd__free(buf);
    return rc;
}

/* ---------------------------------------------------------------- build */

static int load_geo(const sd_tagger_provider *p, sd_geo **g, char *errbuf)
{
    if (p->kind == SD_TAGGER_MAXMIND) {
        if (p->mmdbfile != NULL)
            return sd_geo_open_mmdb(g, p->mmdbfile, errbuf);
        if (p->blocksfile != NULL && p->locationsfile != NULL)
            return sd_geo_open_maxmind_csv(g, p->blocksfile, p->locationsfile, errbuf);
        if (p->directory != NULL)
            return sd_geo_open_dir(g, SD_GEO_MAXMIND, p->directory, errbuf);
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "maxmind provider: directory, mmdbfile or blocksfile and locationsfile "
                          "required");
    }
    if (p->blocksfile != NULL && p->locationsfile != NULL) {
        sd_netacq_files f;
        memset(&f, 0, sizeof f);
        f.blocks = p->blocksfile;
        f.locations = p->locationsfile;
        f.countries = p->countryfile;
        f.regions = p->regionfile;
        f.polygon_map = p->polygonmapfile;
        for (unsigned i = 0; i < p->n_polygontablefiles && i < SD_GEO_MAX_POLYGON_TABLES; i++)
            f.polygon_tables[i] = p->polygontablefile[i];
        f.n_polygon_tables = p->n_polygontablefiles;
        return sd_geo_open_netacq(g, &f, errbuf);
    }
    if (p->directory != NULL)
        return sd_geo_open_dir(g, SD_GEO_NETACQ, p->directory, errbuf);
    return sd__errbuf(errbuf, SD_ERR_INVAL,
                      "netacq-edge provider: blocksfile and locationsfile required");
}

int sd_tagger_config_build(const sd_tagger_config *c, sd_tagger **tp, char *errbuf)
{
    if (tp == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_tagger_config_build: NULL argument");
    *tp = NULL;
    if (c == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_tagger_config_build: NULL argument");
    sd_tagger *t = NULL;
    int rc = sd_tagger_create(&t);
    if (rc != 0)
        return sd__errbuf(errbuf, rc, "tagger: out of memory");
    for (size_t i = 0; i < c->n_providers; i++) {
        const sd_tagger_provider *p = &c->providers[i];
        if (p->kind == SD_TAGGER_PFX2AS) {
            sd_pfx2as *tab = NULL;
            if (p->prefixfile == NULL)
                rc = sd__errbuf(errbuf, SD_ERR_INVAL, "pfx2as provider: prefixfile required");
            else
                rc = sd_pfx2as_open(&tab, p->prefixfile, errbuf);
            if (rc == 0 && (rc = sd_tagger_add_pfx2as(t, tab)) != 0)
                sd__errbuf(errbuf, rc, "%s: %s", p->prefixfile, sd_errmsg(t));
        } else if (p->kind == SD_TAGGER_MAXMIND || p->kind == SD_TAGGER_NETACQ) {
            sd_geo *g = NULL;
            rc = load_geo(p, &g, errbuf);
            if (rc == 0 && (rc = sd_tagger_add_geo(t, g)) != 0)
                sd__errbuf(errbuf, rc, "%s provider: %s",
                           p->kind == SD_TAGGER_MAXMIND ? "maxmind" : "netacq-edge",
                           sd_errmsg(t)[0] ? sd_errmsg(t) : "only one allowed");
        } else {
            rc = sd__errbuf(errbuf, SD_ERR_INVAL, "provider %zu: unknown kind %d", i + 1, p->kind);
        }
        if (rc != 0) {
            sd_tagger_destroy(t);
            return rc;
        }
    }
    if ((rc = sd_tagger_freeze(t)) != 0) {
        sd__errbuf(errbuf, rc, "tagger: %s", sd_errmsg(t));
        sd_tagger_destroy(t);
        return rc;
    }
    *tp = t;
    return 0;
}
