/* stardust: corsarotagger configuration files (YAML).
 *
 * Reads a corsarotagger YAML configuration with corsarotagger's key names
 * (tags.md §3.6), so that an existing configuration runs unchanged under
 * stardust, and loads the configured tag providers (pfx2as, MaxMind, Net
 * Acuity Edge) into a frozen sd_tagger. Keys that stardust does not use
 * (controlsocketname, dohashing, ...) and keys it does not know are
 * reported through a warning callback, never fatal. A file that is not
 * valid YAML, or a value of the wrong kind, fails with
 * "file:line:col: reason".
 *
 * Typical use:
 *
 *   sd_tagger_config c;
 *   sd_tagger_config_init(&c);
 *   if (sd_tagger_config_load(&c, "tagger.yaml", warn, NULL, errbuf) == 0 &&
 *       sd_tagger_config_build(&c, &tagger, errbuf) == 0) ...
 *   sd_tagger_config_free(&c);
 *
 * Relative provider paths are opened as given, i.e. against the current
 * directory, as corsarotagger does.
 *
 * Thread safety: the functions touch only the caller's struct; different
 * structs may be used from different threads at once.
 *
 * Since: 0.3
 */
#ifndef STARDUST_TAGGER_CONFIG_H
#define STARDUST_TAGGER_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stardust/err.h>
#include <stardust/export.h>
#include <stardust/geo.h>
#include <stardust/tag.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Kinds of tag provider (the tagproviders: list of tags.md §3.6). */
enum sd_tagger_provider_kind {
    SD_TAGGER_PFX2AS = 1,  /* "pfx2as": prefixfile */
    SD_TAGGER_MAXMIND = 2, /* "maxmind": directory, or blocksfile + locationsfile
                              (legacy CSV); stardust extension: mmdbfile */
    SD_TAGGER_NETACQ = 3   /* "netacq-edge": blocksfile, locationsfile, countryfile,
                              regionfile, polygonmapfile, polygontablefile (repeatable);
                              stardust extension: directory */
};

/* One configured provider. Strings are owned by the config (NULL when not
 * given) and freed by sd_tagger_config_free(). */
typedef struct sd_tagger_provider {
    int kind;                 /* enum sd_tagger_provider_kind */
    unsigned line;            /* 1-based line of the entry in the file; 0 if not from a file */
    char *prefixfile;         /* pfx2as */
    char *directory;          /* maxmind, netacq-edge: the data set's folder (sd_geo_open_dir) */
    char *mmdbfile;           /* maxmind: a .mmdb database */
    char *blocksfile;         /* maxmind, netacq-edge */
    char *locationsfile;      /* maxmind, netacq-edge */
    char *countryfile;        /* netacq-edge */
    char *regionfile;         /* netacq-edge */
    char *polygonmapfile;     /* netacq-edge */
    char *polygontablefile[SD_GEO_MAX_POLYGON_TABLES]; /* netacq-edge, in file order */
    unsigned n_polygontablefiles;
} sd_tagger_provider;

/* The configuration. Every field has corsarotagger's default after
 * sd_tagger_config_init(); strings are owned by the struct. */
typedef struct sd_tagger_config {
    size_t size;              /* set by sd_tagger_config_init() */
    char **inputuri;          /* inputuri, in file order (none by default) */
    size_t n_inputuri;
    unsigned pktthreads;      /* default 2: tagger threads = nDAG streams */
    int dohashing;            /* default 0; accepted, not used by stardust */
    int consterfframing;      /* default 18; accepted, not used (framing is read
                                 from every record) */
    char *basicfilter;        /* BPF applied before tagging; NULL = none */
    char *controlsocketname;  /* accepted, not used (no control socket) */
    char *logfilename;        /* NULL = standard error */
    char *statfilename;       /* NULL = none */
    int promisc;              /* -1 unset; accepted, unused upstream and here */
    long samplerate;          /* 0 unset; accepted, unused upstream and here */
    char *pubqueuename;       /* accepted, unused */
    /* multicast: */
    uint16_t monitorid;       /* default 0 */
    uint16_t beaconport;      /* default 9000 */
    char *groupaddr;          /* NULL = the default 225.88.0.1 (sd_tagger_config_group()) */
    char *sourceaddr;         /* NULL = the default 0.0.0.0 (any) */
    unsigned mtu;             /* default 9000 */
    unsigned ttl;             /* default 4 */
    sd_tagger_provider *providers; /* tagproviders, in file order */
    size_t n_providers;
    /* WARNING: append new fields here only (ABI); _init() must set them. */
} sd_tagger_config;

/* Fill *c with corsarotagger's defaults (above) and c->size; allocates
 * nothing. Since: 0.3 */
SD_API void sd_tagger_config_init(sd_tagger_config *c);

/* Read the YAML file at path into *c: keys present in the file replace the
 * current values, inputuri entries and tagproviders are appended. warn
 * (may be NULL) receives "file:line:col: ..." for every key that has no
 * effect in stardust (SD_LOG_INFO: accepted corsarotagger options such as
 * controlsocketname) or that is unknown (SD_LOG_WARN); loading goes on.
 * Returns 0, SD_ERR_NOTFOUND / SD_ERR_PERM / SD_ERR_IO (cannot read the
 * file), SD_ERR_FORMAT (not YAML, or a value of the wrong type or out of
 * range: "file:line:col: reason" in errbuf), SD_ERR_NOMEM, SD_ERR_INVAL
 * (NULL argument). On failure *c keeps whatever the file had set before the
 * error; it must still be released with sd_tagger_config_free().
 * Since: 0.3 */
SD_API SD_NODISCARD int sd_tagger_config_load(sd_tagger_config *c, const char *path,
                                              sd_log_fn warn, void *userdata, char *errbuf);

/* The same for YAML text in memory; name is used in messages. Since: 0.3 */
SD_API SD_NODISCARD int sd_tagger_config_parse(sd_tagger_config *c, const char *text, size_t len,
                                               const char *name, sd_log_fn warn, void *userdata,
                                               char *errbuf);

/* Append a provider: *p is copied (its strings too; p is borrowed for the
 * call). Returns 0, SD_ERR_NOMEM, SD_ERR_INVAL (unknown kind, more than
 * SD_GEO_MAX_POLYGON_TABLES polygon tables). Since: 0.3 */
SD_API SD_NODISCARD int sd_tagger_config_add_provider(sd_tagger_config *c,
                                                      const sd_tagger_provider *p);

/* Remove every provider (e.g. when command-line providers replace the
 * file's). Since: 0.3 */
SD_API void sd_tagger_config_clear_providers(sd_tagger_config *c);

/* Load every configured provider, in order, into a new tagger and freeze
 * it. With no provider the tagger still computes filter bits and basic
 * tags. On success *tp is owned by the caller (sd_tagger_destroy()). On
 * failure *tp is NULL, nothing is left allocated, and errbuf names the
 * provider file and, from its loader, the line or offset and the reason.
 * Returns 0 or the loader's sd_err (SD_ERR_NOTFOUND, SD_ERR_FORMAT,
 * SD_ERR_TRUNCATED, SD_ERR_IO, SD_ERR_NOMEM), or SD_ERR_INVAL (a provider
 * lacks a required file, two MaxMind or two Net Acuity providers).
 * Thread: any; the files are read on the calling thread. Since: 0.3 */
SD_API SD_NODISCARD int sd_tagger_config_build(const sd_tagger_config *c, sd_tagger **tp,
                                               char *errbuf);

/* Release every string and array *c owns and reset it to the defaults
 * (as sd_tagger_config_init()). NULL is accepted. Since: 0.3 */
SD_API void sd_tagger_config_free(sd_tagger_config *c);

/* The multicast group to use: c->groupaddr, or "225.88.0.1" when it is
 * NULL. Borrowed. Since: 0.3 */
SD_API const char *sd_tagger_config_group(const sd_tagger_config *c);

#ifdef __cplusplus
}
#endif
#endif
