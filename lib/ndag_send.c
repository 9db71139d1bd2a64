/* stardust: nDAG multicast sender (spec/ndag.md 11.2, 12.1, 13). */
#include "config.h"

#define _GNU_SOURCE 1 /* sendmmsg, SO_SNDBUFFORCE */

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <stardust/ndag_send.h>
#include <stardust/parse.h>
#include "internal.h"
#include "ndag_int.h"

#define MAX_BATCH 64
#define MAX_STREAMS 4495 /* one beacon of 10 + 2n bytes in 9000 (11.2) */
#define CHUNK 256        /* packets hashed per pass of sd_ndag_send() */
#define SEND_RETRIES 20  /* EAGAIN/ENOBUFS: retry this often, sleeping 1 ms more each time */
/* 2017-11-01 00:00:00 UTC: the epoch of the started token (6.2). */
#define STARTED_EPOCH_MS 1509494400000ull

struct stream {
    pthread_mutex_t mu;
    int fd;
    uint16_t id, port;
    uint32_t next_seq;       /* seqno of the next datagram queued (12.1) */
    uint64_t tag_seq;        /* tagged: seqno of the next record (tags.md 3.2) */
    uint8_t *bufs;           /* batch datagram buffers of max_datagram bytes */
    unsigned nq;             /* finished datagrams waiting in bufs[0..nq-1] */
    size_t qlen[MAX_BATCH];  /* their lengths */
    struct sd__ndag_dgram cur; /* being filled, in bufs[nq] */
    uint64_t cur_first_ns;   /* when cur got its first record */
    uint64_t last_tx_ns;     /* last data datagram or keepalive */
    int pending_err;         /* a send failed since the last flush (sd_err) */
    sd_ndag_send_stats st;
};

struct sd_ndag_sender {
    struct sd__handle h;
    pthread_mutex_t err_mu;  /* guards h.errmsg: calls on different streams race */
    sd_ndag_send_opts o;
    int family;
    uint8_t started[8];
    uint32_t tagger_id;      /* tagged mode: non-zero */
    unsigned nstreams;
    struct stream *streams;
    int beacon_fd;
    uint8_t beacon[10 + 2 * MAX_STREAMS];
    size_t beacon_len;
    uint64_t next_beacon_ns;
    atomic_ulong beacons, beacon_errors;
    atomic_uint rr;
    /* timer thread */
    int have_thread;
    pthread_t thread;
    pthread_mutex_t tmu;
    pthread_cond_t tcv;
    int stop;
    /* test sink instead of sockets */
    sd__ndag_sink_fn sink;
    void *sink_ud;
};

uint64_t sd__ndag_now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

void sd_ndag_send_opts_init(sd_ndag_send_opts *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->beacon_port = 9001;
    o->monitor_id = 1;
    o->streams = 1;
    o->max_datagram = SD_NDAG_DEFAULT_DATAGRAM;
    o->ttl = 1;
    o->beacon_ms = 1000;
    o->flush_ms = 100;
    o->keepalive_ms = 5000;
    o->sndbuf = 16u << 20;
    o->batch = MAX_BATCH;
    o->spread = SD_NDAG_SPREAD_FLOW;
    o->join_delay_ms = 500;
}

/* ---------------------------------------------------------------- spreading */

unsigned sd__ndag_flow_stream(const sd_packet *p, unsigned n)
{
    if (n <= 1)
        return 0;
    sd_parsed ps;
    sd_parse(p, &ps);
    uint64_t a = 0, b = 0;
    if (ps.flags & SD_P_IP4) {
        a = ps.src4;
        b = ps.dst4;
    } else if (ps.flags & SD_P_IP6) {
        /* fold each 16-byte address into 64 bits */
        const uint8_t *ip = p->data + ps.l3_off;
        a = ((uint64_t)sd__be32(ip + 8) << 32 | sd__be32(ip + 12)) ^
            ((uint64_t)sd__be32(ip + 16) << 32 | sd__be32(ip + 20));
        b = ((uint64_t)sd__be32(ip + 24) << 32 | sd__be32(ip + 28)) ^
            ((uint64_t)sd__be32(ip + 32) << 32 | sd__be32(ip + 36));
    } else {
        return 0; /* no IP: all on stream 0 */
    }
    uint64_t lo = a < b ? a : b, hi = a < b ? b : a;
    uint64_t ports = 0;
    /* Fragments: addresses and protocol only, so later fragments (no ports)
     * follow the first one. */
    if (!(ps.flags & SD_P_FRAG)) {
        uint16_t s = ps.sport, d = ps.dport;
        ports = s < d ? ((uint64_t)s << 16 | d) : ((uint64_t)d << 16 | s);
    }
    uint64_t h = sd__mix64(lo ^ sd__mix64(hi ^ sd__mix64(ports << 8 | ps.proto)));
    return (unsigned)((h >> 32) * n >> 32);
}

/* ---------------------------------------------------------------- errors */

static int seterr(sd_ndag_sender *s, int err, const char *fmt, ...) SD_PRINTF(3, 4);
static int seterr(sd_ndag_sender *s, int err, const char *fmt, ...)
{
    char msg[SD__ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&s->err_mu);
    sd__seterr(&s->h, err, "%s", msg);
    pthread_mutex_unlock(&s->err_mu);
    return err;
}

/* ---------------------------------------------------------------- sending */

/* Send the finished datagrams of st (lock held). Returns 0 or SD_ERR_IO. */
static int transmit(sd_ndag_sender *s, struct stream *st)
{
    unsigned nq = st->nq, done = 0;
    int rc = 0;
    if (nq == 0)
        return 0;
    if (s->sink != NULL) {
        for (unsigned i = 0; i < nq; i++)
            s->sink(s->sink_ud, st->id, st->bufs + (size_t)i * s->o.max_datagram, st->qlen[i]);
        done = nq;
    } else {
        struct mmsghdr msgs[MAX_BATCH];
        struct iovec iov[MAX_BATCH];
        memset(msgs, 0, sizeof msgs[0] * nq);
        for (unsigned i = 0; i < nq; i++) {
            iov[i].iov_base = st->bufs + (size_t)i * s->o.max_datagram;
            iov[i].iov_len = st->qlen[i];
            msgs[i].msg_hdr.msg_iov = &iov[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        unsigned tries = 0;
        while (done < nq) {
            int n = sendmmsg(st->fd, msgs + done, nq - done, 0);
            if (n > 0) {
                done += (unsigned)n;
                tries = 0;
                continue;
            }
            int e = n < 0 ? errno : EAGAIN;
            if ((e == EAGAIN || e == ENOBUFS || e == EINTR) && tries < SEND_RETRIES) {
                /* The socket buffer or a device queue is full: wait for it
                 * to drain rather than drop (13.2). */
                st->st.retries++;
                tries++;
                struct timespec ts = {0, (long)tries * 1000000L};
                if (e != EINTR)
                    nanosleep(&ts, NULL);
                continue;
            }
            st->st.send_errors++;
            st->st.lost += nq - done;
            rc = seterr(s, SD_ERR_IO, "nDAG stream %u (port %u): sendmmsg: %s; %u datagram%s lost",
                        st->id, st->port, strerror(e), nq - done, nq - done == 1 ? "" : "s");
            sd__log(&s->h, SD_LOG_WARN, "nDAG stream %u (port %u): sendmmsg: %s; %u datagram%s lost",
                    st->id, st->port, strerror(e), nq - done, nq - done == 1 ? "" : "s");
            st->pending_err = rc;
            break;
        }
    }
    for (unsigned i = 0; i < done; i++) {
        const uint8_t *d = st->bufs + (size_t)i * s->o.max_datagram;
        st->st.datagrams++;
        st->st.bytes += st->qlen[i];
        st->st.records += sd__be16(d + 22);
    }
    if (done > 0)
        st->last_tx_ns = sd__ndag_now_ns();
    st->nq = 0;
    /* The datagram being filled moves to the front (one copy per batch). */
    if (st->cur.buf != st->bufs) {
        if (st->cur.count > 0)
            memmove(st->bufs, st->cur.buf, st->cur.len);
        st->cur.buf = st->bufs;
    }
    return rc;
}

/* Close the datagram being filled: headers, seqno, queue it; send the queue
 * when it holds a batch. Lock held. */
static int finish_cur(sd_ndag_sender *s, struct stream *st)
{
    if (st->cur.count == 0)
        return 0;
    sd_ndag_encap h;
    h.monitor_id = s->o.monitor_id;
    memcpy(h.started, s->started, 8);
    h.seqno = st->next_seq;
    h.stream_id = st->id;
    st->next_seq = sd_ndag_seq_succ(st->next_seq); /* 0 is skipped (12.1) */
    st->qlen[st->nq++] = sd__ndag_dgram_finish(&st->cur, &h);
    sd__ndag_dgram_start(&st->cur, st->bufs + (size_t)(st->nq % s->o.batch) * s->o.max_datagram,
                         s->o.max_datagram);
    if (s->o.tagged)
        st->cur.type = SD_NDAG_CORSAROTAG;
    if (st->nq == s->o.batch)
        return transmit(s, st);
    return 0;
}

static int append(sd_ndag_sender *s, struct stream *st, const sd_packet *p, uint64_t now)
{
    int rc = 0;
    for (;;) {
        int r = s->o.tagged ? sd__ndag_dgram_append_tagged(&st->cur, p, s->tagger_id, &st->tag_seq)
                            : sd__ndag_dgram_append(&st->cur, p);
        if (r == SD__NDAG_FULL) {
            int e = finish_cur(s, st);
            if (e < 0 && rc == 0)
                rc = e;
            continue; /* never FULL twice: the new datagram is empty */
        }
        if (r == SD__NDAG_SKIP) {
            st->st.skipped++;
            return rc;
        }
        if (st->cur.count == 1)
            st->cur_first_ns = now;
        if (r == SD__NDAG_CUT)
            st->st.truncated++;
        if (s->o.tagged && p->tags == NULL)
            st->st.untagged++;
        st->st.packets++;
        return rc;
    }
}

/* After a call's packets: a datagram older than flush_ms goes now (the
 * timer may have been locked out), then the queue of finished ones. */
static int end_call(sd_ndag_sender *s, struct stream *st, uint64_t now, int rc)
{
    int e = 0;
    if (st->cur.count > 0 && now - st->cur_first_ns >= (uint64_t)s->o.flush_ms * 1000000u)
        e = finish_cur(s, st);
    if (e == 0 && st->nq > 0)
        e = transmit(s, st);
    return rc < 0 ? rc : e;
}

int sd_ndag_send_stream(sd_ndag_sender *s, unsigned stream, const sd_packet *const *pkts, size_t n)
{
    if (s == NULL || (pkts == NULL && n > 0))
        return SD_ERR_INVAL;
    if (stream >= s->nstreams)
        return seterr(s, SD_ERR_INVAL, "nDAG sender: stream %u out of range (%u streams)", stream,
                      s->nstreams);
    struct stream *st = &s->streams[stream];
    uint64_t now = sd__ndag_now_ns();
    int rc = 0;
    pthread_mutex_lock(&st->mu);
    for (size_t i = 0; i < n; i++) {
        int e = append(s, st, pkts[i], now);
        if (e < 0 && rc == 0)
            rc = e;
    }
    rc = end_call(s, st, now, rc);
    pthread_mutex_unlock(&st->mu);
    return rc;
}

int sd_ndag_send(sd_ndag_sender *s, const sd_packet *const *pkts, size_t n)
{
    if (s == NULL || (pkts == NULL && n > 0))
        return SD_ERR_INVAL;
    if (s->nstreams == 1)
        return sd_ndag_send_stream(s, 0, pkts, n);
    uint64_t now = sd__ndag_now_ns();
    int rc = 0;
    uint16_t idx[CHUNK];
    uint8_t done[CHUNK];
    for (size_t base = 0; base < n; base += CHUNK) {
        size_t m = n - base < CHUNK ? n - base : CHUNK;
        if (s->o.spread == SD_NDAG_SPREAD_RR) {
            unsigned r = atomic_fetch_add(&s->rr, (unsigned)m);
            for (size_t j = 0; j < m; j++)
                idx[j] = (uint16_t)((r + j) % s->nstreams);
        } else {
            for (size_t j = 0; j < m; j++)
                idx[j] = (uint16_t)sd__ndag_flow_stream(pkts[base + j], s->nstreams);
        }
        memset(done, 0, m);
        /* One lock per stream present in the chunk, packets in order. */
        for (size_t j = 0; j < m; j++) {
            if (done[j])
                continue;
            struct stream *st = &s->streams[idx[j]];
            int e = 0;
            pthread_mutex_lock(&st->mu);
            for (size_t k = j; k < m; k++) {
                if (done[k] || idx[k] != idx[j])
                    continue;
                done[k] = 1;
                int a = append(s, st, pkts[base + k], now);
                if (a < 0 && e == 0)
                    e = a;
            }
            e = end_call(s, st, now, e);
            pthread_mutex_unlock(&st->mu);
            if (e < 0 && rc == 0)
                rc = e;
        }
    }
    return rc;
}

int sd_ndag_send_flush(sd_ndag_sender *s)
{
    if (s == NULL)
        return SD_ERR_INVAL;
    int rc = 0;
    for (unsigned i = 0; i < s->nstreams; i++) {
        struct stream *st = &s->streams[i];
        pthread_mutex_lock(&st->mu);
        int e = finish_cur(s, st);
        if (e == 0)
            e = transmit(s, st);
        if (st->pending_err < 0 && e == 0)
            e = st->pending_err;
        st->pending_err = 0;
        pthread_mutex_unlock(&st->mu);
        if (e < 0 && rc == 0)
            rc = e;
    }
    return rc;
}

/* ---------------------------------------------------------------- timer */

static void send_control(sd_ndag_sender *s, int fd, int stream, const uint8_t *d, size_t len,
                         const char *what)
{
    if (s->sink != NULL) {
        s->sink(s->sink_ud, stream, d, len);
        return;
    }
    for (int tries = 0;; tries++) {
        if (send(fd, d, len, 0) == (ssize_t)len)
            return;
        if ((errno == EINTR || errno == EAGAIN || errno == ENOBUFS) && tries < 3)
            continue;
        sd__log(&s->h, SD_LOG_WARN, "nDAG sender: %s: send: %s", what, strerror(errno));
        if (stream < 0)
            atomic_fetch_add(&s->beacon_errors, 1);
        else
            s->streams[stream].st.send_errors++;
        return;
    }
}

static void send_beacon(sd_ndag_sender *s)
{
    send_control(s, s->beacon_fd, -1, s->beacon, s->beacon_len, "beacon");
    atomic_fetch_add(&s->beacons, 1);
}

void sd__ndag_send_tick(sd_ndag_sender *s, uint64_t now)
{
    if (now >= s->next_beacon_ns) {
        send_beacon(s);
        s->next_beacon_ns += (uint64_t)s->o.beacon_ms * 1000000u;
        if (s->next_beacon_ns <= now) /* we were late: no burst of beacons */
            s->next_beacon_ns = now + (uint64_t)s->o.beacon_ms * 1000000u;
    }
    uint64_t flush_ns = (uint64_t)s->o.flush_ms * 1000000u;
    uint64_t ka_ns = (uint64_t)s->o.keepalive_ms * 1000000u;
    for (unsigned i = 0; i < s->nstreams; i++) {
        struct stream *st = &s->streams[i];
        /* A busy stream is being filled by its sender right now: it needs
         * neither a flush nor a keepalive, and we must not stall it. */
        if (pthread_mutex_trylock(&st->mu) != 0)
            continue;
        if (st->cur.count > 0 && now - st->cur_first_ns >= flush_ns)
            finish_cur(s, st);
        if (st->nq > 0)
            transmit(s, st);
        if (ka_ns > 0 && st->cur.count == 0 && now - st->last_tx_ns >= ka_ns) {
            uint8_t ka[SD_NDAG_ENCAP_LEN];
            int len = sd_ndag_encode_keepalive(ka, sizeof ka, s->o.monitor_id,
                                               s->o.keepalive_short ? NULL : s->started, st->id);
            if (len > 0) {
                send_control(s, st->fd, (int)i, ka, (size_t)len, "keepalive");
                st->st.keepalives++;
            }
            st->last_tx_ns = now;
        }
        pthread_mutex_unlock(&st->mu);
    }
}

static void *timer_main(void *arg)
{
    sd_ndag_sender *s = arg;
    /* Wake often enough to keep each deadline to a quarter of its period. */
    uint64_t tick = (uint64_t)s->o.flush_ms * 250000u;
    if (tick > (uint64_t)s->o.beacon_ms * 250000u)
        tick = (uint64_t)s->o.beacon_ms * 250000u;
    if (s->o.keepalive_ms > 0 && tick > (uint64_t)s->o.keepalive_ms * 250000u)
        tick = (uint64_t)s->o.keepalive_ms * 250000u;
    if (tick < 1000000u)
        tick = 1000000u;
    pthread_mutex_lock(&s->tmu);
    while (!s->stop) {
        pthread_mutex_unlock(&s->tmu);
        uint64_t now = sd__ndag_now_ns();
        sd__ndag_send_tick(s, now);
        uint64_t wake = now + tick;
        if (s->next_beacon_ns < wake)
            wake = s->next_beacon_ns;
        struct timespec ts = {(time_t)(wake / 1000000000u), (long)(wake % 1000000000u)};
        pthread_mutex_lock(&s->tmu);
        if (!s->stop)
            pthread_cond_timedwait(&s->tcv, &s->tmu, &ts);
    }
    pthread_mutex_unlock(&s->tmu);
    return NULL;
}

/* ---------------------------------------------------------------- open/close */

struct addr {
    int family;
    struct sockaddr_storage ss;
    socklen_t len;
};

static int parse_addr(const char *text, uint16_t port, struct addr *a)
{
    memset(a, 0, sizeof *a);
    struct sockaddr_in *v4 = (struct sockaddr_in *)&a->ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&a->ss;
    if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
        v4->sin_family = AF_INET;
        v4->sin_port = htons(port);
        a->family = AF_INET;
        a->len = sizeof *v4;
        return 0;
    }
    if (inet_pton(AF_INET6, text, &v6->sin6_addr) == 1) {
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons(port);
        a->family = AF_INET6;
        a->len = sizeof *v6;
        return 0;
    }
    return -1;
}

static int is_multicast(const struct addr *a)
{
    if (a->family == AF_INET)
        return IN_MULTICAST(ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr));
    return IN6_IS_ADDR_MULTICAST(&((const struct sockaddr_in6 *)&a->ss)->sin6_addr);
}

/* Interface index of the interface holding IPv6 address a, or 0. */
static unsigned ifindex_of_v6(const struct in6_addr *a)
{
    struct ifaddrs *ifs, *i;
    unsigned idx = 0;
    if (getifaddrs(&ifs) != 0)
        return 0;
    for (i = ifs; i != NULL && idx == 0; i = i->ifa_next)
        if (i->ifa_addr != NULL && i->ifa_addr->sa_family == AF_INET6 &&
            memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr, a, sizeof *a) == 0)
            idx = if_nametoindex(i->ifa_name);
    freeifaddrs(ifs);
    return idx;
}

/* One connected UDP socket to group:port with the multicast options (13.2). */
static int open_socket(sd_ndag_sender *s, const struct addr *group, uint16_t port,
                       const struct addr *src, unsigned ifindex, int *fdp, int warn_mtu,
                       char *errbuf)
{
    const char *step = "socket";
    int fd = socket(group->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    int ttl = s->o.ttl, one = 1;
    if (group->family == AF_INET) {
        unsigned char t = (unsigned char)ttl, loop = 1;
        step = "IP_MULTICAST_TTL";
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_TTL, &t, sizeof t) != 0)
            goto fail;
        step = "IP_MULTICAST_LOOP";
        if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_LOOP, &loop, sizeof loop) != 0)
            goto fail;
        if (ifindex != 0 || src != NULL) {
            struct ip_mreqn m;
            memset(&m, 0, sizeof m);
            m.imr_ifindex = (int)ifindex;
            if (src != NULL)
                m.imr_address = ((const struct sockaddr_in *)&src->ss)->sin_addr;
            step = "IP_MULTICAST_IF";
            if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &m, sizeof m) != 0)
                goto fail;
        }
    } else {
        step = "IPV6_MULTICAST_HOPS";
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, &ttl, sizeof ttl) != 0)
            goto fail;
        step = "IPV6_MULTICAST_LOOP";
        if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, &one, sizeof one) != 0)
            goto fail;
        if (ifindex != 0) {
            step = "IPV6_MULTICAST_IF";
            if (setsockopt(fd, IPPROTO_IPV6, IPV6_MULTICAST_IF, &ifindex, sizeof ifindex) != 0)
                goto fail;
        }
    }
    if (src != NULL) {
        struct addr b = *src; /* port 0: any */
        step = "bind to the source address";
        if (bind(fd, (struct sockaddr *)&b.ss, b.len) != 0)
            goto fail;
    }
    int want = s->o.sndbuf > 0x7fffffff ? 0x7fffffff : (int)s->o.sndbuf, got = 0;
    socklen_t gl = sizeof got;
    if (want > 0) {
        (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &want, sizeof want);
        if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &gl) == 0 && got / 2 < want) {
            /* The kernel doubles the value and caps it at wmem_max; root may
             * go past the cap. */
            (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &want, sizeof want);
            gl = sizeof got;
            if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &got, &gl) == 0 && got / 2 < want && warn_mtu)
                sd__log(&s->h, SD_LOG_WARN,
                        "nDAG sender: socket send buffer is %d bytes, not the %d asked for "
                        "(net.core.wmem_max)",
                        got / 2, want);
        }
    }
    struct addr dst = *group;
    if (dst.family == AF_INET)
        ((struct sockaddr_in *)&dst.ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)&dst.ss)->sin6_port = htons(port);
    step = "connect";
    if (connect(fd, (struct sockaddr *)&dst.ss, dst.len) != 0)
        goto fail;
    if (warn_mtu) {
        int mtu = 0;
        socklen_t ml = sizeof mtu;
        int hdr = group->family == AF_INET ? 28 : 48;
        int r = group->family == AF_INET ? getsockopt(fd, IPPROTO_IP, IP_MTU, &mtu, &ml)
                                         : getsockopt(fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &ml);
        if (r == 0 && mtu > hdr && s->o.max_datagram > (unsigned)(mtu - hdr))
            sd__log(&s->h, SD_LOG_WARN,
                    "nDAG sender: max datagram %u exceeds the egress MTU %d minus %d: every "
                    "datagram will be fragmented (ndag.md 13.1)",
                    s->o.max_datagram, mtu, hdr);
    }
    *fdp = fd;
    return 0;
fail:;
    int e = errno;
    if (fd >= 0)
        close(fd);
    return sd__errbuf(errbuf, sd__errno_to_err(e) == SD_ERR_PERM ? SD_ERR_PERM : SD_ERR_IO,
                      "nDAG sender: %s:%u: %s: %s", s->o.group, port, step, strerror(e));
}

static void free_sender(sd_ndag_sender *s)
{
    if (s->streams != NULL) {
        for (unsigned i = 0; i < s->nstreams; i++) {
            if (s->streams[i].fd >= 0)
                close(s->streams[i].fd);
            sd__free(s->streams[i].bufs);
            pthread_mutex_destroy(&s->streams[i].mu);
        }
        sd__free(s->streams);
    }
    if (s->beacon_fd >= 0)
        close(s->beacon_fd);
    pthread_mutex_destroy(&s->err_mu);
    pthread_mutex_destroy(&s->tmu);
    pthread_cond_destroy(&s->tcv);
    sd__free(s);
}

static int check_opts(const sd_ndag_send_opts *o, char *errbuf)
{
    if (o->group == NULL || o->group[0] == '\0')
        return sd__errbuf(errbuf, SD_ERR_INVAL, "nDAG sender: no multicast group given");
    if (o->max_datagram < 536 || o->max_datagram > SD_NDAG_MAX_DATAGRAM)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "nDAG sender: max datagram %u out of range: 536 to %u bytes (ndag.md 13.1)",
                          o->max_datagram, SD_NDAG_MAX_DATAGRAM);
    if (o->streams < 1 || o->streams > MAX_STREAMS)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "nDAG sender: %u streams out of range: 1 to %u (one beacon must fit 9000 "
                          "bytes, ndag.md 11.2)",
                          o->streams, MAX_STREAMS);
    if (o->beacon_port == 0)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "nDAG sender: beacon port 0");
    unsigned first = o->first_port != 0 ? o->first_port : o->beacon_port + 1u;
    if (first + o->streams - 1 > 65535)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "nDAG sender: stream ports %u to %u run past 65535", first,
                          first + o->streams - 1);
    if (o->beacon_port >= first && o->beacon_port < first + o->streams)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "nDAG sender: beacon port %u is also a stream port (%u to %u)",
                          o->beacon_port, first, first + o->streams - 1);
    if (o->ttl < 0 || o->ttl > 255)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "nDAG sender: TTL %d out of range: 0 to 255", o->ttl);
    if (o->beacon_ms < 100 || o->beacon_ms > 10000)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "nDAG sender: beacon interval %u ms out of range: 100 to 10000 ms "
                          "(ndag.md 11.2)",
                          o->beacon_ms);
    if (o->flush_ms < 1 || o->flush_ms > 10000)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "nDAG sender: flush interval %u ms out of range: 1 to 10000 ms", o->flush_ms);
    if (o->keepalive_ms != 0 && (o->keepalive_ms < 100 || o->keepalive_ms > 600000))
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "nDAG sender: keepalive interval %u ms out of range: 0 (off) or 100 to "
                          "600000 ms",
                          o->keepalive_ms);
    if (o->join_delay_ms > 10000)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "nDAG sender: join delay %u ms out of range: 0 to 10000 ms", o->join_delay_ms);
    if (o->batch < 1 || o->batch > MAX_BATCH)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "nDAG sender: batch %u out of range: 1 to %u",
                          o->batch, MAX_BATCH);
    if (o->tagged != 0 && o->tagged != 1)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "nDAG sender: tagged must be 0 or 1, not %d", o->tagged);
    if (o->spread != SD_NDAG_SPREAD_FLOW && o->spread != SD_NDAG_SPREAD_RR)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "nDAG sender: unknown spread mode %d", o->spread);
    return 0;
}

static int open_common(sd_ndag_sender **sp, const sd_ndag_send_opts *opts, sd__ndag_sink_fn sink,
                       void *sink_ud, int with_timer, char *errbuf)
{
    if (sp == NULL || opts == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "nDAG sender: NULL argument");
    *sp = NULL;
    if (opts->size < offsetof(sd_ndag_send_opts, log_userdata) + sizeof(void *))
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "nDAG sender: options size %zu: call sd_ndag_send_opts_init() first",
                          opts->size);
    sd_ndag_send_opts o;
    sd_ndag_send_opts_init(&o);
    memcpy(&o, opts, opts->size < sizeof o ? opts->size : sizeof o);
    o.size = sizeof o;
    int rc = check_opts(&o, errbuf);
    if (rc < 0)
        return rc;
    struct addr group, src;
    if (parse_addr(o.group, o.beacon_port, &group) != 0 || !is_multicast(&group))
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "nDAG sender: group \"%s\" is not a numeric IPv4 or IPv6 multicast address",
                          o.group);
    if (o.source != NULL && o.source[0] != '\0') {
        if (parse_addr(o.source, 0, &src) != 0)
            return sd__errbuf(errbuf, SD_ERR_INVAL,
                              "nDAG sender: source \"%s\" is not a numeric IP address", o.source);
        if (src.family != group.family)
            return sd__errbuf(errbuf, SD_ERR_INVAL,
                              "nDAG sender: source %s and group %s are of different address families",
                              o.source, o.group);
    }
    int have_src = o.source != NULL && o.source[0] != '\0';
    unsigned ifindex = 0;
    if (o.iface != NULL && o.iface[0] != '\0') {
        ifindex = if_nametoindex(o.iface);
        if (ifindex == 0)
            return sd__errbuf(errbuf, SD_ERR_NOTFOUND, "nDAG sender: interface \"%s\": %s", o.iface,
                              strerror(errno));
    } else if (have_src && group.family == AF_INET6 && sink == NULL) {
        ifindex = ifindex_of_v6(&((struct sockaddr_in6 *)&src.ss)->sin6_addr);
    }

    sd_ndag_sender *s = sd__calloc(1, sizeof *s);
    if (s == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "nDAG sender: out of memory");
    sd__handle_init(&s->h);
    s->h.log = o.log;
    s->h.log_userdata = o.log_userdata;
    pthread_mutex_init(&s->err_mu, NULL);
    pthread_mutex_init(&s->tmu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->tcv, &ca);
    pthread_condattr_destroy(&ca);
    s->beacon_fd = -1;
    s->o = o;
    s->o.group = s->o.iface = s->o.source = NULL; /* borrowed for open only */
    s->family = group.family;
    s->sink = sink;
    s->sink_ud = sink_ud;
    s->nstreams = o.streams;

    /* started: little-endian ms since 2017-11-01, never zero (6.2). */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    uint64_t ms = (uint64_t)now.tv_sec * 1000u + (uint64_t)now.tv_nsec / 1000000u;
    ms = ms > STARTED_EPOCH_MS ? ms - STARTED_EPOCH_MS : 1;
    sd__put_le64(s->started, ms);
    if (o.tagged) {
        /* Random per run so consumers detect a restart (tags.md 3.2, 3.4). */
        s->tagger_id = o.tagger_id;
        uint64_t x = (uint64_t)now.tv_sec * 1000000000u + (uint64_t)now.tv_nsec;
        x ^= (uint64_t)getpid() << 32 ^ (uint64_t)(uintptr_t)s;
        while (s->tagger_id == 0)
            s->tagger_id = (uint32_t)(sd__mix64(x++) >> 32);
    }

    s->streams = sd__calloc(o.streams, sizeof *s->streams);
    if (s->streams == NULL) {
        s->nstreams = 0;
        free_sender(s);
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "nDAG sender: out of memory");
    }
    uint16_t first = o.first_port != 0 ? o.first_port : (uint16_t)(o.beacon_port + 1u);
    uint16_t ports[MAX_STREAMS];
    uint64_t t0 = sd__ndag_now_ns();
    for (unsigned i = 0; i < o.streams; i++) {
        struct stream *st = &s->streams[i];
        st->fd = -1;
        pthread_mutex_init(&st->mu, NULL);
        st->id = (uint16_t)i;
        st->port = ports[i] = (uint16_t)(first + i);
        st->next_seq = 1;
        st->tag_seq = 1;
        st->last_tx_ns = t0;
        st->st.size = sizeof st->st;
    }
    for (unsigned i = 0; i < o.streams; i++) {
        struct stream *st = &s->streams[i];
        st->bufs = sd__malloc((size_t)o.batch * o.max_datagram);
        if (st->bufs == NULL) {
            free_sender(s);
            return sd__errbuf(errbuf, SD_ERR_NOMEM, "nDAG sender: out of memory");
        }
        sd__ndag_dgram_start(&st->cur, st->bufs, o.max_datagram);
        if (o.tagged)
            st->cur.type = SD_NDAG_CORSAROTAG;
        if (sink == NULL) {
            rc = open_socket(s, &group, st->port, have_src ? &src : NULL, ifindex, &st->fd, i == 0,
                             errbuf);
            if (rc < 0) {
                free_sender(s);
                return rc;
            }
        }
    }
    if (sink == NULL) {
        rc = open_socket(s, &group, o.beacon_port, have_src ? &src : NULL, ifindex, &s->beacon_fd, 0,
                         errbuf);
        if (rc < 0) {
            free_sender(s);
            return rc;
        }
    }
    rc = sd_ndag_encode_beacon(s->beacon, sizeof s->beacon, o.monitor_id, ports, (uint16_t)o.streams);
    s->beacon_len = rc > 0 ? (size_t)rc : 0;
    /* First beacon at once (11.2), so receivers can join before data. */
    send_beacon(s);
    s->next_beacon_ns = t0 + (uint64_t)o.beacon_ms * 1000000u;
    if (with_timer) {
        int e = pthread_create(&s->thread, NULL, timer_main, s);
        if (e != 0) {
            free_sender(s);
            return sd__errbuf(errbuf, SD_ERR_IO, "nDAG sender: cannot start the timer thread: %s",
                              strerror(e));
        }
        s->have_thread = 1;
    }
    if (sink == NULL && o.join_delay_ms > 0) {
        /* Receivers learn the stream ports from the beacon just sent and
         * join them; data sent before that is lost to them. */
        struct timespec d = {.tv_sec = o.join_delay_ms / 1000,
                             .tv_nsec = (long)(o.join_delay_ms % 1000) * 1000000L};
        while (nanosleep(&d, &d) != 0 && errno == EINTR)
            ;
    }
    *sp = s;
    return 0;
}

int sd_ndag_send_open(sd_ndag_sender **sp, const sd_ndag_send_opts *o, char *errbuf)
{
    return open_common(sp, o, NULL, NULL, 1, errbuf);
}

int sd__ndag_send_open_sink(sd_ndag_sender **sp, const sd_ndag_send_opts *o, sd__ndag_sink_fn fn,
                            void *userdata, int with_timer, char *errbuf)
{
    if (fn == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "nDAG sender: NULL sink");
    return open_common(sp, o, fn, userdata, with_timer, errbuf);
}

void sd__ndag_send_set_seq(sd_ndag_sender *s, unsigned stream, uint32_t seq)
{
    if (s != NULL && stream < s->nstreams)
        s->streams[stream].next_seq = seq;
}

static void add_stats(sd_ndag_send_stats *t, const sd_ndag_send_stats *a)
{
    t->packets += a->packets;
    t->records += a->records;
    t->datagrams += a->datagrams;
    t->bytes += a->bytes;
    t->truncated += a->truncated;
    t->skipped += a->skipped;
    t->keepalives += a->keepalives;
    t->retries += a->retries;
    t->send_errors += a->send_errors;
    t->lost += a->lost;
    t->untagged += a->untagged;
}

int sd_ndag_send_get_stats(sd_ndag_sender *s, int stream, sd_ndag_send_stats *st)
{
    if (s == NULL || st == NULL || st->size < sizeof(size_t) || stream < -1 ||
        (stream >= 0 && (unsigned)stream >= s->nstreams))
        return SD_ERR_INVAL;
    sd_ndag_send_stats t;
    memset(&t, 0, sizeof t);
    for (unsigned i = 0; i < s->nstreams; i++) {
        if (stream >= 0 && (unsigned)stream != i)
            continue;
        pthread_mutex_lock(&s->streams[i].mu);
        add_stats(&t, &s->streams[i].st);
        pthread_mutex_unlock(&s->streams[i].mu);
    }
    if (stream < 0) {
        t.beacons = atomic_load(&s->beacons);
        t.send_errors += atomic_load(&s->beacon_errors);
    }
    size_t n = st->size < sizeof t ? st->size : sizeof t;
    t.size = st->size;
    memcpy(st, &t, n);
    return 0;
}

uint32_t sd_ndag_send_tagger_id(const sd_ndag_sender *s)
{
    return s != NULL ? s->tagger_id : 0;
}

uint16_t sd_ndag_send_port(const sd_ndag_sender *s, unsigned stream)
{
    if (s == NULL || stream >= s->nstreams)
        return 0;
    return s->streams[stream].port;
}

int sd_ndag_send_close(sd_ndag_sender *s, char *errbuf)
{
    if (s == NULL)
        return 0;
    if (s->have_thread) {
        pthread_mutex_lock(&s->tmu);
        s->stop = 1;
        pthread_cond_signal(&s->tcv);
        pthread_mutex_unlock(&s->tmu);
        pthread_join(s->thread, NULL);
    }
    int rc = sd_ndag_send_flush(s);
    if (rc < 0)
        sd__errbuf(errbuf, rc, "%s", s->h.errmsg);
    free_sender(s);
    return rc;
}
