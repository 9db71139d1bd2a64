/* stardust: every other URI through Debian's libtrace 3 (3.0.22): live
 * capture (int:, ring:, pcapint:, dag:, rt:, ...) and libtrace's own file
 * formats.
 *
 * libtrace hands out one packet at a time in a libtrace_packet_t whose
 * buffer it reuses (ring: frames are given back on the next read), so each
 * packet of a batch is copied into an arena owned by the source: one
 * memcpy per packet, no allocation per packet.
 *
 * Live reads use trace_event(): TRACE_EVENT_IOWAIT gives a descriptor that
 * is poll()ed for at most the source's timeout, and only while the batch is
 * still empty. This was checked against libtrace 3.0.22 for int:, ring: and
 * pcapint: (trace_read_packet() on a live trace blocks without a limit). */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <net/if.h>
#include <poll.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <libtrace.h>

#include "source_int.h"

#define TRACE_BATCH_MAX 1024
#define TRACE_ARENA_MIN (1024u * 1024u)
#define TRACE_ARENA_MAX (64u * 1024u * 1024u)

struct trace_src {
    libtrace_t *trace;
    libtrace_packet_t *pkt; /* reused for every read */
    int live;               /* read with trace_event() and the timeout */
    int fcs_adjust;         /* libtrace adds 4 FCS bytes to Ethernet wire lengths */
    int drops_are_deltas;   /* int:/ring: report drops since the last query */
    int skip_outgoing;      /* loopback interface: every packet is seen twice */
    int trace_started;
    int start_err;          /* trace_start() failed: libtrace 3 cannot retry */
    uint64_t drops;         /* accumulated drops (drops_are_deltas) */
    uint64_t skipped;
    uint8_t *arena;
    size_t arena_cap;
    size_t arena_want;
    int held;               /* pkt holds a packet that did not fit the arena */
    int eof;
    int err;
    char errmsg[SD__ERRMSG_SIZE];
    sd_packet desc[TRACE_BATCH_MAX];
};

/* The input formats of libtrace 3 (trace_help() of Debian's 3.0.22, plus
 * dag:, dpdk: and bpf: of other builds), except those read natively.
 * Live ones read a device or a network stream, bounded by the source's
 * timeout. Other schemes are refused here: libtrace 3.0.22 leaks memory
 * for a URI it does not know. */
static const struct {
    const char *scheme;
    int live;
} libtrace_schemes[] = {
    {"int", 1},       {"ring", 1},      {"pcapint", 1},   {"dag", 1},        {"rt", 1},
    {"bpf", 1},       {"dpdk", 1},      {"rawerf", 0},    {"legacyatm", 0},  {"legacyeth", 0},
    {"legacypos", 0}, {"legacynzix", 0}, {"tsh", 0},      {"duck", 0},       {"atmhdr", 0},
};

static int has_scheme(const char *uri, const char *scheme)
{
    size_t n = strlen(scheme);
    return strncmp(uri, scheme, n) == 0 && uri[n] == ':';
}

/* Map a libtrace error to an sd_err. libtrace 3 reports OS failures with a
 * positive errno and its own failures with TRACE_ERR_*; for
 * TRACE_ERR_INIT_FAILED only the text tells a missing interface from a
 * missing permission. */
static int map_trace_error(const libtrace_err_t *e)
{
    if (e->err_num > 0)
        return sd__errno_to_err(e->err_num);
    switch (e->err_num) {
    case TRACE_ERR_BAD_FORMAT:
    case TRACE_ERR_UNSUPPORTED:
    case TRACE_ERR_UNSUPPORTED_COMPRESS:
    case TRACE_ERR_OPTION_UNAVAIL:
        return SD_ERR_UNSUPPORTED;
    case TRACE_ERR_BAD_PACKET:
        return SD_ERR_FORMAT;
    case TRACE_ERR_BAD_STATE:
        return SD_ERR_STATE;
    default:
        break;
    }
    if (strstr(e->problem, "ermission") != NULL || strstr(e->problem, "not permitted") != NULL)
        return SD_ERR_PERM;
    if (strstr(e->problem, "No such") != NULL || strstr(e->problem, "find interface") != NULL ||
        strstr(e->problem, "doesn't exist") != NULL)
        return SD_ERR_NOTFOUND;
    return SD_ERR_IO;
}

/* Record the trace's error for sd_errmsg() / errbuf and return its code. */
static int trace_error(libtrace_t *trace, const char *uri, const char *what, char *buf, size_t bufsize)
{
    libtrace_err_t e = trace_get_err(trace); /* also clears it */
    int rc = map_trace_error(&e);
    if (e.err_num == TRACE_ERR_BAD_FORMAT) {
        size_t sl = strcspn(uri, ":");
        snprintf(buf, bufsize, "%s: unknown URI scheme \"%.*s\" (libtrace: %s)", uri, (int)sl, uri,
                 e.problem);
    } else {
        snprintf(buf, bufsize, "%s: %s: %s", uri, what, e.problem[0] ? e.problem : "libtrace error");
    }
    return rc;
}

/* pcap LINKTYPE_ of a libtrace link type; SD_LINK_UNKNOWN when there is
 * none. Non-packet records return -1. */
static int map_linktype(libtrace_linktype_t lt)
{
    switch (lt) {
    case TRACE_TYPE_ETH:
        return SD_LINK_ETHERNET;
    case TRACE_TYPE_NONE:
        return SD_LINK_RAW;
    case TRACE_TYPE_LINUX_SLL:
        return SD_LINK_LINUX_SLL;
    case TRACE_TYPE_OPENBSD_LOOP:
        return SD_LINK_LOOP;
    case TRACE_TYPE_PFLOG:
        return 117; /* LINKTYPE_PFLOG */
    case TRACE_TYPE_80211:
        return 105; /* LINKTYPE_IEEE802_11 */
    case TRACE_TYPE_80211_RADIO:
        return 127; /* LINKTYPE_IEEE802_11_RADIOTAP */
    case TRACE_TYPE_80211_PRISM:
        return 119; /* LINKTYPE_IEEE802_11_PRISM */
    case TRACE_TYPE_PPP:
        return 9; /* LINKTYPE_PPP */
    case TRACE_TYPE_HDLC_POS:
    case TRACE_TYPE_POS:
        return 104; /* LINKTYPE_C_HDLC */
    case TRACE_TYPE_METADATA:
    case TRACE_TYPE_NONDATA:
    case TRACE_TYPE_DUCK:
        return -1;
    default:
        return SD_LINK_UNKNOWN;
    }
}

/* ERF time (32.32 fixed point seconds) to ns, rounded to the nearest ns:
 * libtrace builds it from a timeval or timespec by truncation, and the
 * truncation error (< 0.24 ns) is undone exactly by the rounding. */
static inline uint64_t erf_to_ns(uint64_t erf)
{
    uint64_t frac = erf & 0xffffffffu;
    return (erf >> 32) * 1000000000u + ((frac * 1000000000u + 0x80000000u) >> 32);
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Copy the packet in ts->pkt into the batch. Returns 1 when added, 0 when
 * it is not a data packet (skipped), -1 when it does not fit the arena
 * (held for the next batch). */
static int take_packet(struct trace_src *ts, size_t *count, size_t *used)
{
    libtrace_linktype_t lt;
    uint32_t caplen = 0;
    const uint8_t *data = trace_get_packet_buffer(ts->pkt, &lt, &caplen);
    int linktype = map_linktype(lt);
    if (data == NULL || linktype < 0) {
        ts->skipped++;
        return 0;
    }
    if (ts->skip_outgoing && trace_get_direction(ts->pkt) == TRACE_DIR_OUTGOING)
        return 0;
    if (SD__UNLIKELY(caplen > ts->arena_cap - *used)) {
        ts->held = 1;
        size_t want = ts->arena_cap * 2;
        while (want < caplen)
            want *= 2;
        if (want <= TRACE_ARENA_MAX || caplen > ts->arena_cap)
            ts->arena_want = want;
        return -1;
    }
    size_t wire = trace_get_wire_length(ts->pkt);
    /* Linux live captures see frames without their FCS, but libtrace 3
     * adds 4 bytes to every Ethernet wire length ("include the missing
     * FCS"); report what the kernel saw, as libpcap and the pcap reader do. */
    if (ts->fcs_adjust && linktype == SD_LINK_ETHERNET && wire >= 4)
        wire -= 4;
    if (wire < caplen)
        wire = caplen;
    sd_packet *d = &ts->desc[*count];
    uint8_t *dst = ts->arena + *used;
    memcpy(dst, data, caplen);
    *used += caplen;
    d->ts = erf_to_ns(trace_get_erf_timestamp(ts->pkt));
    d->data = dst;
    d->caplen = caplen;
    d->wirelen = wire > UINT32_MAX ? UINT32_MAX : (uint32_t)wire;
    d->linktype = (uint16_t)linktype;
    d->flags = 0;
    d->iface = 0;
    d->lctr = 0;
    d->tags = NULL;
    (*count)++;
    return 1;
}

static void remember_error(struct sd_source *src, struct trace_src *ts, const char *what)
{
    ts->err = trace_error(ts->trace, src->uri, what, ts->errmsg, sizeof ts->errmsg);
}

static int trace_src_read(struct sd_source *src, const sd_packet **pkts, size_t n)
{
    struct trace_src *ts = src->impl;
    if (n > TRACE_BATCH_MAX)
        n = TRACE_BATCH_MAX;

    if (ts->arena_want > ts->arena_cap) {
        uint8_t *a = sd__realloc(ts->arena, ts->arena_want);
        if (a != NULL) {
            ts->arena = a;
            ts->arena_cap = ts->arena_want;
        }
        ts->arena_want = 0;
    }

    size_t count = 0, used = 0;
    if (ts->held) {
        ts->held = 0;
        if (take_packet(ts, &count, &used) < 0) {
            ts->held = 0;
            return sd__seterr(&src->h, SD_ERR_NOMEM, "%s: out of memory for a %zu-byte packet", src->uri,
                              trace_get_capture_length(ts->pkt));
        }
    }

    int64_t deadline = -1;
    while (count < n && !ts->eof && ts->err == 0) {
        if (!ts->live) {
            int rc = trace_read_packet(ts->trace, ts->pkt);
            if (rc < 0 || (rc == 0 && trace_is_err(ts->trace))) {
                remember_error(src, ts, "read failed");
                break;
            }
            if (rc == 0) {
                ts->eof = 1;
                break;
            }
            if (take_packet(ts, &count, &used) < 0)
                break;
            continue;
        }

        libtrace_eventobj_t ev = trace_event(ts->trace, ts->pkt);
        if (ev.type == TRACE_EVENT_PACKET) {
            if (ev.size < 0) {
                remember_error(src, ts, "read failed");
                break;
            }
            if (take_packet(ts, &count, &used) < 0)
                break;
            continue;
        }
        if (ev.type == TRACE_EVENT_TERMINATE) {
            if (trace_is_err(ts->trace))
                remember_error(src, ts, "read failed");
            else
                ts->eof = 1;
            break;
        }
        /* Nothing ready: a batch that has packets goes out now; an empty
         * one waits, at most timeout_ms in all. */
        if (count > 0 || src->timeout_ms == 0)
            break;
        int wait_ms = -1;
        if (src->timeout_ms > 0) {
            int64_t now = now_ms();
            if (deadline < 0)
                deadline = now + src->timeout_ms;
            if (now >= deadline)
                break;
            wait_ms = (int)(deadline - now);
        }
        if (ev.type == TRACE_EVENT_SLEEP) {
            double s = ev.seconds * 1000.0 + 1.0;
            int sleep_ms = s > (double)INT_MAX ? INT_MAX : (int)s;
            if (wait_ms >= 0 && sleep_ms > wait_ms)
                sleep_ms = wait_ms;
            (void)poll(NULL, 0, sleep_ms);
        } else {
            struct pollfd pfd = {.fd = ev.fd, .events = POLLIN, .revents = 0};
            int pr = poll(&pfd, 1, wait_ms);
            if (pr < 0 && errno == EINTR)
                break; /* a signal: give the caller control back */
            if (pr < 0) {
                int e = errno;
                ts->err = sd__errno_to_err(e);
                snprintf(ts->errmsg, sizeof ts->errmsg, "%s: poll: %s", src->uri, strerror(e));
                break;
            }
        }
    }

    for (size_t i = 0; i < count; i++)
        pkts[i] = &ts->desc[i];
    if (count > 0)
        return (int)count;
    if (ts->err != 0) {
        int err = ts->err;
        ts->err = 0;
        ts->eof = 1;
        return sd__seterr(&src->h, err, "%s", ts->errmsg);
    }
    if (ts->eof)
        return SD_EOF;
    return 0;
}

static int is_loopback(const char *ifname)
{
    struct ifreq ifr;
    if (strlen(ifname) >= sizeof ifr.ifr_name)
        return 0;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return 0;
    memset(&ifr, 0, sizeof ifr);
    memcpy(ifr.ifr_name, ifname, strlen(ifname));
    int lo = ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_LOOPBACK);
    close(fd);
    return lo;
}

static int start_trace(struct sd_source *src, struct trace_src *ts, char *buf, size_t bufsize)
{
    if (ts->live) {
        int snap = src->snaplen > INT_MAX ? INT_MAX : (int)src->snaplen;
        int promisc = src->promisc;
        /* Formats without these options refuse them: not an error for us,
         * so clear the error state they leave behind. */
        if (trace_config(ts->trace, TRACE_OPTION_SNAPLEN, &snap) < 0)
            (void)trace_get_err(ts->trace);
        if (trace_config(ts->trace, TRACE_OPTION_PROMISC, &promisc) < 0)
            (void)trace_get_err(ts->trace);
    }
    if (trace_start(ts->trace) < 0)
        return trace_error(ts->trace, src->uri, "cannot start", buf, bufsize);
    ts->trace_started = 1;
    return 0;
}

/* Linux capture formats: check the interface and the permission before
 * libtrace does, for clear errors, and because libtrace 3.0.22 leaks the
 * pcap_t of a pcapint: trace whose start fails. */
static int preflight(struct sd_source *src, struct trace_src *ts)
{
    if (!ts->fcs_adjust) /* int:, ring:, pcapint: */
        return 0;
    const char *ifname = strchr(src->uri, ':') + 1;
    if (ifname[0] != '\0' && strcmp(ifname, "any") != 0 && if_nametoindex(ifname) == 0) {
        ts->start_err = SD_ERR_NOTFOUND;
        snprintf(ts->errmsg, sizeof ts->errmsg, "%s: no such interface \"%s\"", src->uri, ifname);
        return ts->start_err;
    }
    int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        ts->start_err = sd__errno_to_err(e);
        snprintf(ts->errmsg, sizeof ts->errmsg, "%s: cannot capture (CAP_NET_RAW needed): %s", src->uri,
                 strerror(e));
        return ts->start_err;
    }
    close(fd);
    return 0;
}

static int trace_src_start(struct sd_source *src)
{
    struct trace_src *ts = src->impl;
    if (ts->trace_started)
        return 0;
    /* After a failed trace_start() libtrace 3.0.22 has freed the format's
     * state, and trace_config() or trace_start() on it crash: report the
     * first failure again instead. */
    if (ts->start_err != 0 || preflight(src, ts) < 0)
        return sd__seterr(&src->h, ts->start_err, "%s", ts->errmsg);
    int rc = start_trace(src, ts, ts->errmsg, sizeof ts->errmsg);
    if (rc < 0) {
        ts->start_err = rc;
        return sd__seterr(&src->h, rc, "%s", ts->errmsg);
    }
    if (ts->live)
        src->live = 1;
    return 0;
}

static void trace_src_stats(const struct sd_source *src, sd_source_stats *st)
{
    struct trace_src *ts = src->impl;
    st->skipped += ts->skipped;
    if (!ts->trace_started)
        return;
    uint64_t d = trace_get_dropped_packets(ts->trace);
    if (d == UINT64_MAX)
        d = 0; /* the format does not know */
    /* Measured with libtrace 3.0.22: int: and ring: return the drops since
     * the previous query (PACKET_STATISTICS resets on read); pcapint:
     * returns libpcap's running total. */
    if (ts->drops_are_deltas) {
        ts->drops += d;
        st->dropped += ts->drops;
    } else {
        st->dropped += d;
    }
}

static void trace_src_free(struct trace_src *ts)
{
    if (ts == NULL)
        return;
    if (ts->pkt != NULL)
        trace_destroy_packet(ts->pkt);
    if (ts->trace != NULL)
        trace_destroy(ts->trace);
    sd__free(ts->arena);
    sd__free(ts);
}

static void trace_src_close(struct sd_source *src)
{
    trace_src_free(src->impl);
    src->impl = NULL;
}

static const struct sd__source_ops trace_ops = {
    .name = "libtrace",
    .start = trace_src_start,
    .read = trace_src_read,
    .stats = trace_src_stats,
    .close = trace_src_close,
};

int sd__source_trace_open(struct sd_source *src, const char *path, void *io, char *errbuf)
{
    (void)io; /* always NULL for libtrace URIs */
    int rc;
    struct trace_src *ts = sd__calloc(1, sizeof *ts);
    if (ts == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
    ts->arena_cap = TRACE_ARENA_MIN;
    ts->arena = sd__malloc(ts->arena_cap);
    if (ts->arena == NULL) {
        rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    int known = 0;
    for (size_t i = 0; i < sizeof libtrace_schemes / sizeof libtrace_schemes[0]; i++)
        if (has_scheme(path, libtrace_schemes[i].scheme)) {
            known = 1;
            ts->live = libtrace_schemes[i].live;
        }
    if (!known) {
        rc = sd__errbuf(errbuf, SD_ERR_UNSUPPORTED,
                        "%s: unknown URI scheme \"%.*s\" (see sd_source(3) for the schemes)", path,
                        (int)strcspn(path, ":"), path);
        goto fail;
    }
    /* A file for libtrace: check it the way the native readers do, for the
     * same messages (and libtrace 3 leaks on a file it cannot open). */
    const char *file = strchr(path, ':') + 1;
    if (!ts->live && strcmp(file, "-") != 0) {
        struct stat sb;
        if (stat(file, &sb) != 0) {
            int e = errno;
            rc = sd__errbuf(errbuf, sd__errno_to_err(e), "%s: %s", path, strerror(e));
            goto fail;
        }
        if (S_ISDIR(sb.st_mode)) {
            rc = sd__errbuf(errbuf, SD_ERR_INVAL, "%s: is a directory, not a trace file", path);
            goto fail;
        }
    }
    ts->fcs_adjust = has_scheme(path, "int") || has_scheme(path, "ring") || has_scheme(path, "pcapint");
    ts->drops_are_deltas = has_scheme(path, "int") || has_scheme(path, "ring");
    /* An AF_PACKET socket on a loopback device sees each packet once
     * going out and once coming in; libpcap drops the outgoing copy, and
     * so do we (pcapint: is libpcap and already does). */
    if (ts->drops_are_deltas)
        ts->skip_outgoing = is_loopback(file);

    ts->trace = trace_create(path);
    if (ts->trace == NULL) {
        rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    if (trace_is_err(ts->trace)) {
        char msg[SD__ERRMSG_SIZE];
        rc = trace_error(ts->trace, path, "cannot open", msg, sizeof msg);
        sd__errbuf(errbuf, rc, "%s", msg);
        goto fail;
    }
    ts->pkt = trace_create_packet();
    if (ts->pkt == NULL) {
        rc = sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", path);
        goto fail;
    }
    /* A file is opened now so that a missing or foreign file fails here;
     * a live source starts capturing only at sd_source_start(). */
    if (!ts->live) {
        char msg[SD__ERRMSG_SIZE];
        rc = start_trace(src, ts, msg, sizeof msg);
        if (rc < 0) {
            sd__errbuf(errbuf, rc, "%s", msg);
            goto fail;
        }
    }
    src->ops = &trace_ops;
    src->impl = ts;
    return 0;

fail:
    trace_src_free(ts);
    return rc;
}
