/* stardust: the ndag:IFACE,GROUP[,BEACONPORT] source (spec/ndag.md 14.1,
 * 14.4): one nDAG receiver with one lane, read by the source's thread.
 *
 * The URI is checked at open (unknown interface, bad group); the beacon is
 * joined at start, once the caller had the chance to set a log hook, so
 * the receiver's threads never see the hook change. */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/ndag_recv.h>
#include "source_int.h"

struct ndag_src {
    char iface[64];
    char group[64];
    uint16_t port;
    sd_ndag_recv *r;
};

/* The receiver logs from its control thread and from the reading thread;
 * the hook is fixed once the source has started. */
static void forward_log(void *user, int level, const char *msg)
{
    struct sd_source *src = user;
    if (src->h.log != NULL)
        src->h.log(src->h.log_userdata, level, msg);
}

static void fill_opts(struct sd_source *src, struct ndag_src *ns, sd_ndag_recv_opts *o)
{
    sd_ndag_recv_opts_init(o);
    o->iface = ns->iface;
    o->group = ns->group;
    o->beacon_port = ns->port;
    o->threads = 1;
    o->log = forward_log;
    o->log_userdata = src;
}

static int ndag_start(struct sd_source *src)
{
    struct ndag_src *ns = src->impl;
    sd_ndag_recv_opts o;
    fill_opts(src, ns, &o);
    char errbuf[SD_ERRBUF_SIZE];
    int rc = sd_ndag_recv_open(&ns->r, &o, errbuf);
    if (rc < 0)
        return sd__seterr(&src->h, rc, "%s: %s", src->uri, errbuf);
    return 0;
}

static int ndag_read(struct sd_source *src, const sd_packet **pkts, size_t n)
{
    struct ndag_src *ns = src->impl;
    int rc = sd_ndag_recv_read(ns->r, 0, pkts, n, src->timeout_ms);
    if (rc < 0 && rc != SD_EOF)
        return sd__seterr(&src->h, rc, "%s: read failed: %s", src->uri, sd_strerror(rc));
    return rc;
}

static void ndag_stats(const struct sd_source *src, sd_source_stats *st)
{
    const struct ndag_src *ns = src->impl;
    if (ns->r == NULL)
        return;
    sd_ndag_recv_stats t;
    memset(&t, 0, sizeof t);
    t.size = sizeof t;
    if (sd_ndag_recv_stats_get(ns->r, &t) != 0)
        return;
    st->dropped += t.dropped;
    st->malformed += t.malformed;
    st->skipped += t.skipped;
}

static void ndag_close(struct sd_source *src)
{
    struct ndag_src *ns = src->impl;
    if (ns == NULL)
        return;
    sd_ndag_recv_close(ns->r);
    sd__free(ns);
    src->impl = NULL;
}

static const struct sd__source_ops ndag_ops = {
    .name = "ndag",
    .start = ndag_start,
    .read = ndag_read,
    .stats = ndag_stats,
    .close = ndag_close,
};

int sd__source_ndag_open(struct sd_source *src, const char *path, void *io, char *errbuf)
{
    (void)io;
    const char *c1 = strchr(path, ',');
    if (c1 == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "Bad ndag URI '%s': expected ndag:IFACE,GROUP[,BEACONPORT]", src->uri);
    const char *grp = c1 + 1;
    const char *c2 = strchr(grp, ',');
    size_t ilen = (size_t)(c1 - path);
    size_t glen = c2 != NULL ? (size_t)(c2 - grp) : strlen(grp);
    struct ndag_src *ns = sd__calloc(1, sizeof *ns);
    if (ns == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", src->uri);
    if (ilen == 0 || ilen >= sizeof ns->iface || glen == 0 || glen >= sizeof ns->group) {
        sd__free(ns);
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "Bad ndag URI '%s': empty or overlong interface or group", src->uri);
    }
    memcpy(ns->iface, path, ilen);
    memcpy(ns->group, grp, glen);
    ns->port = SD_NDAG_DEFAULT_BEACON_PORT;
    if (c2 != NULL) {
        char *end = NULL;
        unsigned long p = strtoul(c2 + 1, &end, 10);
        if (c2[1] < '0' || c2[1] > '9' || *end != '\0' || p == 0 || p > 65535) {
            sd__free(ns);
            return sd__errbuf(errbuf, SD_ERR_INVAL, "Bad ndag URI '%s': beacon port '%s' is not 1..65535",
                              src->uri, c2 + 1);
        }
        ns->port = (uint16_t)p;
    }
    sd_ndag_recv_opts o;
    fill_opts(src, ns, &o);
    char why[SD_ERRBUF_SIZE];
    int rc = sd__ndag_recv_check(&o, why);
    if (rc < 0) {
        sd__free(ns);
        return sd__errbuf(errbuf, rc, "%s: %s", src->uri, why);
    }
    src->ops = &ndag_ops;
    src->impl = ns;
    src->live = 1;
    return 0;
}

struct sd_ndag_recv *sd_source_ndag(struct sd_source *src)
{
    if (src == NULL || src->ops != &ndag_ops || src->impl == NULL)
        return NULL;
    return ((struct ndag_src *)src->impl)->r;
}
