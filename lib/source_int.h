/* stardust: private interface between sd_source and its backends. */
#ifndef SD_SOURCE_INT_H
#define SD_SOURCE_INT_H

#include <pcap/pcap.h>
#include <stardust/source.h>
#include "internal.h"

struct sd_source;

/* A backend fills in ops and impl from its open function. */
struct sd__source_ops {
    const char *name; /* "pcap", "pcapng", "erf", "libtrace", "gen", "ndag" */
    /* Start capturing (live sources); NULL when there is nothing to do. */
    int (*start)(struct sd_source *src);
    /* Fill pkts[0..ret-1] (ret <= n) with descriptors the backend owns, valid
     * until its next read or close. Returns a count, 0 (timeout), SD_EOF or
     * a negative sd_err with sd__seterr() on src->h. Packets read before a
     * failure in the same call are returned first: the backend remembers
     * the failure and reports it on the following call. */
    int (*read)(struct sd_source *src, const sd_packet **pkts, size_t n);
    /* Add backend counters (drops, skipped records) into *st. May be NULL. */
    void (*stats)(const struct sd_source *src, sd_source_stats *st);
    void (*close)(struct sd_source *src);
};

#define SD__MAX_FILTER_LINKTYPES 8

struct sd__filter_prog {
    uint16_t linktype;
    int ok;                 /* compiled; 0 means compile failed for this link type */
    struct bpf_program prog;
};

struct sd_source {
    struct sd__handle h; /* must be first: sd_errmsg() */
    const struct sd__source_ops *ops;
    void *impl;
    char *uri;
    const char *path; /* uri without its scheme (points into uri) */
    int started;
    int live;         /* set by live backends: reads may return 0 */
    int failed;       /* sticky error returned by every read after a failure */

    uint32_t snaplen;
    int promisc;
    int timeout_ms;

    char *filter_expr;
    struct sd__filter_prog filters[SD__MAX_FILTER_LINKTYPES];
    int n_filters;

    sd_source_stats st; /* generic counters; backends add theirs via ops->stats */
};

/* Backend open functions: on success they set src->ops and src->impl; on
 * failure they return a negative sd_err, write the reason (naming the path)
 * into errbuf and free what they allocated. `path` is the URI without its
 * scheme. `io` is a libwandio reader (io_t *) already opened on path and
 * positioned at its first byte, or NULL; the backend takes it (uses or
 * destroys it, also on failure). It is how standard input ("-") reaches the
 * backend after sniffing consumed nothing but a peek. */
typedef int (*sd__source_open_fn)(struct sd_source *src, const char *path, void *io, char *errbuf);
int sd__source_pcap_open(struct sd_source *src, const char *path, void *io, char *errbuf);
int sd__source_pcapng_open(struct sd_source *src, const char *path, void *io, char *errbuf);
int sd__source_erf_open(struct sd_source *src, const char *path, void *io, char *errbuf);
/* libtrace: `path` is the whole URI; io is always NULL. */
int sd__source_trace_open(struct sd_source *src, const char *path, void *io, char *errbuf);
/* gen: `path` is the option list after "gen:"; io is always NULL. */
int sd__source_gen_open(struct sd_source *src, const char *path, void *io, char *errbuf);
/* ndag: `path` is "IFACE,GROUP[,BEACONPORT]"; io is always NULL. */
int sd__source_ndag_open(struct sd_source *src, const char *path, void *io, char *errbuf);

/* lib/ndag_recv.c: the option checks of sd_ndag_recv_open() (group,
 * interface), without opening anything. */
struct sd_ndag_recv_opts;
int sd__ndag_recv_check(const struct sd_ndag_recv_opts *o, char *errbuf);

/* Allocate a source with default settings for uri (also its path), or
 * write errbuf and return NULL; sd__source_free() undoes it before a
 * backend has been opened. */
struct sd_source *sd__source_new(const char *uri, char *errbuf);
void sd__source_free(struct sd_source *src);

/* Open a libwandio reader on path ("-" = stdin) with a clear error for
 * missing, unreadable and non-regular paths. Returns io_t * or NULL. */
void *sd__wandio_open(const char *path, char *errbuf, int *err);

#endif
