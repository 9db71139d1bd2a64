/* stardust: sd_source front end: URI dispatch, content sniffing, BPF
 * filtering and counters shared by every backend. */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <pcap/pcap.h>
#include <wandio.h>

#include "source_int.h"

static const struct {
    const char *scheme;
    sd__source_open_fn open;
} native_schemes[] = {
    {"pcapfile", sd__source_pcap_open},
    {"pcap", sd__source_pcap_open},
    {"pcapng", sd__source_pcapng_open},
    {"erf", sd__source_erf_open},
    {"gen", sd__source_gen_open},
    {"ndag", sd__source_ndag_open},
};

void *sd__wandio_open(const char *path, char *errbuf, int *err)
{
    if (strcmp(path, "-") != 0) {
        struct stat sb;
        if (stat(path, &sb) != 0) {
            int e = errno;
            *err = sd__errno_to_err(e);
            sd__errbuf(errbuf, *err, "%s: %s", path, strerror(e));
            return NULL;
        }
        if (S_ISDIR(sb.st_mode)) {
            *err = sd__errbuf(errbuf, SD_ERR_INVAL, "%s: is a directory, not a trace file", path);
            return NULL;
        }
    }
    errno = 0;
    io_t *io = wandio_create(path);
    if (io == NULL) {
        int e = errno ? errno : EIO;
        *err = sd__errno_to_err(e);
        sd__errbuf(errbuf, *err, "%s: cannot open: %s", path, strerror(e));
    }
    return io;
}

/* ERF has no magic number: accept the first record header when its type,
 * length and timestamp are plausible, as libtrace's guesser does. */
static int looks_like_erf(const uint8_t *b, off_t n)
{
    if (n < 16)
        return 0;
    unsigned type = b[8] & 0x7fu;
    unsigned rlen = sd__be16(b + 10);
    uint32_t secs = sd__le32(b + 4);
    if (type == 0 || (type > 27 && type != 48))
        return 0;
    if (rlen < 16)
        return 0;
    /* Before 1990 or after 2100 means this is not an ERF timestamp. */
    if (secs < 631152000u || secs > 4102444800u)
        return 0;
    return 1;
}

static sd__source_open_fn sniff(io_t *io, const char *path, char *errbuf, int *err)
{
    uint8_t b[24];
    off_t n = wandio_peek(io, b, sizeof b);
    if (n < 0) {
        *err = sd__errbuf(errbuf, SD_ERR_IO, "%s: read error", path);
        return NULL;
    }
    if (n >= 4) {
        uint32_t m = sd__be32(b);
        if (m == 0xa1b2c3d4u || m == 0xd4c3b2a1u || m == 0xa1b23c4du || m == 0x4d3cb2a1u ||
            m == 0xa1b2cd34u || m == 0x34cdb2a1u)
            return sd__source_pcap_open;
        if (m == 0x0a0d0d0au)
            return sd__source_pcapng_open;
    }
    if (looks_like_erf(b, n))
        return sd__source_erf_open;
    if (n == 0)
        *err = sd__errbuf(errbuf, SD_ERR_FORMAT, "%s: empty file, not a trace", path);
    else
        *err = sd__errbuf(errbuf, SD_ERR_FORMAT,
                          "%s: unknown file format (not pcap, pcapng or ERF)", path);
    return NULL;
}

/* Split "scheme:rest". A scheme is letters/digits only, so paths such as
 * "./a:b.pcap" or "C:..." style names with slashes stay paths. */
static size_t scheme_len(const char *uri)
{
    size_t i = 0;
    while ((uri[i] >= 'a' && uri[i] <= 'z') || (uri[i] >= '0' && uri[i] <= '9') ||
           (uri[i] >= 'A' && uri[i] <= 'Z'))
        i++;
    return (i > 0 && uri[i] == ':') ? i : 0;
}

sd_source *sd__source_new(const char *uri, char *errbuf)
{
    sd_source *src = sd__calloc(1, sizeof *src);
    if (src == NULL) {
        sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", uri);
        return NULL;
    }
    sd__handle_init(&src->h);
    src->snaplen = 65535;
    src->promisc = 1;
    src->timeout_ms = 100;
    src->uri = sd__strdup(uri);
    if (src->uri == NULL) {
        sd__free(src);
        sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", uri);
        return NULL;
    }
    src->path = src->uri;
    return src;
}

void sd__source_free(sd_source *src)
{
    sd__free(src->uri);
    sd__free(src);
}

int sd_source_open(sd_source **srcp, const char *uri, char *errbuf)
{
    if (srcp == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_source_open: srcp is NULL");
    *srcp = NULL;
    if (uri == NULL || uri[0] == '\0')
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_source_open: empty URI");

    sd_source *src = sd__source_new(uri, errbuf);
    if (src == NULL)
        return SD_ERR_NOMEM;

    int rc;
    size_t sl = scheme_len(uri);
    if (sl == 0) {
        io_t *io = sd__wandio_open(src->path, errbuf, &rc);
        if (io != NULL) {
            sd__source_open_fn fn = sniff(io, src->path, errbuf, &rc);
            if (fn != NULL)
                rc = fn(src, src->path, io, errbuf);
            else
                wandio_destroy(io);
        }
    } else {
        src->path = src->uri + sl + 1;
        sd__source_open_fn fn = NULL;
        for (size_t i = 0; i < sizeof native_schemes / sizeof native_schemes[0]; i++)
            if (strlen(native_schemes[i].scheme) == sl && strncmp(uri, native_schemes[i].scheme, sl) == 0)
                fn = native_schemes[i].open;
        if (fn != NULL) {
            rc = fn(src, src->path, NULL, errbuf);
        } else {
            /* Everything else is a libtrace URI (int:, pcapint:, dag:, ...). */
            src->path = src->uri;
            rc = sd__source_trace_open(src, src->uri, NULL, errbuf);
        }
    }
    if (rc < 0) {
        sd__source_free(src);
        return rc;
    }
    *srcp = src;
    return 0;
}

static void free_filters(sd_source *src)
{
    for (int i = 0; i < src->n_filters; i++)
        if (src->filters[i].ok)
            pcap_freecode(&src->filters[i].prog);
    src->n_filters = 0;
    sd__free(src->filter_expr);
    src->filter_expr = NULL;
}

/* Compile expr for one link type. libpcap needs a (dead) handle of that
 * link type to compile against. */
static int compile_filter(sd_source *src, struct sd__filter_prog *fp, uint16_t linktype)
{
    int dlt = linktype;
    /* LINKTYPE_RAW (101) is DLT_RAW (12 on Linux) inside libpcap. */
    if (linktype == SD_LINK_RAW)
        dlt = DLT_RAW;
    pcap_t *dead = pcap_open_dead(dlt, 262144);
    if (dead == NULL)
        return sd__seterr(&src->h, SD_ERR_NOMEM, "%s: out of memory compiling filter", src->uri);
    fp->linktype = linktype;
    fp->ok = pcap_compile(dead, &fp->prog, src->filter_expr, 1, PCAP_NETMASK_UNKNOWN) == 0;
    int rc = 0;
    if (!fp->ok)
        rc = sd__seterr(&src->h, SD_ERR_FILTER, "filter \"%s\": %s", src->filter_expr, pcap_geterr(dead));
    pcap_close(dead);
    return rc;
}

int sd_source_set_filter(sd_source *src, const char *expr)
{
    if (src == NULL)
        return SD_ERR_INVAL;
    if (src->started)
        return sd__seterr(&src->h, SD_ERR_STATE, "%s: filter must be set before the source starts", src->uri);
    free_filters(src);
    if (expr == NULL || expr[0] == '\0')
        return 0;
    src->filter_expr = sd__strdup(expr);
    if (src->filter_expr == NULL)
        return sd__seterr(&src->h, SD_ERR_NOMEM, "%s: out of memory", src->uri);
    /* Check the syntax now, against Ethernet, so a typo fails at set time
     * rather than at the first packet. */
    int rc = compile_filter(src, &src->filters[0], SD_LINK_ETHERNET);
    if (rc < 0) {
        free_filters(src);
        return rc;
    }
    src->n_filters = 1;
    return 0;
}

int sd_source_set_snaplen(sd_source *src, uint32_t snaplen)
{
    if (src == NULL || snaplen == 0)
        return SD_ERR_INVAL;
    if (src->started)
        return sd__seterr(&src->h, SD_ERR_STATE, "%s: snaplen must be set before start", src->uri);
    src->snaplen = snaplen;
    return 0;
}

int sd_source_set_promisc(sd_source *src, int on)
{
    if (src == NULL)
        return SD_ERR_INVAL;
    if (src->started)
        return sd__seterr(&src->h, SD_ERR_STATE, "%s: promisc must be set before start", src->uri);
    src->promisc = on != 0;
    return 0;
}

int sd_source_set_timeout(sd_source *src, int timeout_ms)
{
    if (src == NULL || timeout_ms < -1)
        return SD_ERR_INVAL;
    if (src->started)
        return sd__seterr(&src->h, SD_ERR_STATE, "%s: timeout must be set before start", src->uri);
    src->timeout_ms = timeout_ms;
    return 0;
}

void sd_source_set_log(sd_source *src, sd_log_fn fn, void *userdata)
{
    if (src == NULL)
        return;
    src->h.log = fn;
    src->h.log_userdata = userdata;
}

int sd_source_start(sd_source *src)
{
    if (src == NULL)
        return SD_ERR_INVAL;
    if (src->started)
        return sd__seterr(&src->h, SD_ERR_STATE, "%s: already started", src->uri);
    if (src->ops->start != NULL) {
        int rc = src->ops->start(src);
        if (rc < 0)
            return rc;
    }
    src->started = 1;
    return 0;
}

static const struct sd__filter_prog *filter_for(sd_source *src, uint16_t linktype)
{
    for (int i = 0; i < src->n_filters; i++)
        if (src->filters[i].linktype == linktype)
            return &src->filters[i];
    if (src->n_filters == SD__MAX_FILTER_LINKTYPES)
        return NULL;
    struct sd__filter_prog *fp = &src->filters[src->n_filters++];
    /* A filter that cannot apply to a link type (e.g. "ether host" on raw
     * IP) rejects its packets rather than failing the read. */
    (void)compile_filter(src, fp, linktype);
    return fp;
}

/* Keep only matching packets, in order; returns the new count. */
static int apply_filter(sd_source *src, const sd_packet **pkts, int n)
{
    int kept = 0;
    for (int i = 0; i < n; i++) {
        const sd_packet *p = pkts[i];
        const struct sd__filter_prog *fp = filter_for(src, p->linktype);
        if (fp != NULL && fp->ok) {
            struct pcap_pkthdr hdr;
            hdr.caplen = p->caplen;
            hdr.len = p->wirelen;
            hdr.ts.tv_sec = 0;
            hdr.ts.tv_usec = 0;
            if (pcap_offline_filter(&fp->prog, &hdr, p->data))
                pkts[kept++] = p;
        }
    }
    src->st.filtered += (uint64_t)(n - kept);
    return kept;
}

int sd_source_read(sd_source *src, const sd_packet **pkts, size_t n)
{
    if (src == NULL || pkts == NULL || n == 0)
        return SD_ERR_INVAL;
    if (src->failed)
        return src->failed;
    if (!src->started) {
        int rc = sd_source_start(src);
        if (rc < 0)
            return rc;
    }
    if (n > 0x7fffffff)
        n = 0x7fffffff;
    for (;;) {
        int got = src->ops->read(src, pkts, n);
        if (got < 0) {
            if (got != SD_EOF && got != SD_ERR_INVAL)
                src->failed = got;
            return got;
        }
        if (got == 0)
            return 0; /* live source: nothing before the read timeout */
        if (src->filter_expr != NULL)
            got = apply_filter(src, pkts, got);
        if (got > 0) {
            src->st.packets += (uint64_t)got;
            for (int i = 0; i < got; i++) {
                src->st.bytes += pkts[i]->caplen;
                src->st.wire_bytes += pkts[i]->wirelen;
            }
            return got;
        }
        /* The filter rejected the whole batch: a file reads on; a live
         * source returns so the caller regains control as on a timeout. */
        if (src->live)
            return 0;
    }
}

int sd_source_get_stats(const sd_source *src, sd_source_stats *st)
{
    if (src == NULL || st == NULL || st->size < sizeof(size_t))
        return SD_ERR_INVAL;
    sd_source_stats all = src->st;
    all.size = sizeof all;
    if (src->ops->stats != NULL)
        src->ops->stats(src, &all);
    size_t n = st->size < sizeof all ? st->size : sizeof all;
    memcpy((char *)st + sizeof(size_t), (const char *)&all + sizeof(size_t), n - sizeof(size_t));
    return 0;
}

const char *sd_source_format(const sd_source *src) { return src != NULL ? src->ops->name : ""; }

const char *sd_source_uri(const sd_source *src) { return src != NULL ? src->uri : ""; }

void sd_source_close(sd_source *src)
{
    if (src == NULL)
        return;
    if (src->ops != NULL && src->ops->close != NULL)
        src->ops->close(src);
    free_filters(src);
    src->h.magic = 0;
    sd__source_free(src);
}
