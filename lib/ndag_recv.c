/* stardust: nDAG multicast receiver (spec/ndag.md 11-12, 14).
 *
 * Threads and ownership:
 *  - the control thread owns the beacon socket, the stream table (it alone
 *    adds entries) and the per-stream "joined" view; it opens and joins
 *    stream sockets and hands them to lanes through a mailbox;
 *  - a lane (the caller's thread in sd_ndag_recv_read(), or a thread of
 *    sd_ndag_recv_run()) owns the sockets it was handed, its datagram
 *    buffers and the sequence state of its streams;
 *  - counters are C11 atomics with one writer each (the lane or the control
 *    thread), written with relaxed load+store and read by anyone.
 * The mailbox is the only lock, taken per control message, never per
 * packet. Memory per stream is fixed at discovery. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <stardust/ndag_recv.h>
#include <stardust/tag.h>
#include "internal.h"
#include "ndag_int.h"
#include "source_int.h"

#define DGRAM_BUF 65536u   /* 12.5: every buffer >= 65536 bytes */
#define WAKE_MS 100        /* 12.5: wake at least every 100 ms */
#define MAX_LANES 64u
#define MAX_MONITORS 256u
#define MON_TOKENS 4       /* start tokens remembered per monitor */
#define REFILL_INTR (-1000)

typedef _Atomic uint64_t acnt;

/* One writer per counter: a plain add expressed with relaxed atomics. */
#define CADD(c, v) atomic_store_explicit(&(c), atomic_load_explicit(&(c), memory_order_relaxed) + (v), \
                                         memory_order_relaxed)
#define CGET(c) atomic_load_explicit(&(c), memory_order_relaxed)
#define CSET(c, v) atomic_store_explicit(&(c), (v), memory_order_relaxed)

struct monitor {
    uint16_t id;
    pthread_mutex_t lock; /* taken on a stream's first datagram or restart only */
    uint8_t tokens[MON_TOKENS][8];
    unsigned ntokens, next_token;
    acnt restarts;
};

struct stream {
    unsigned index;
    uint16_t port, monitor_id;
    unsigned lane;
    struct monitor *mon;
    _Atomic int state;       /* enum sd_ndag_stream_state */
    int ctl_joined;          /* control thread's view: a socket was handed out */
    int ctl_failed_logged;
    _Atomic uint64_t last_ms;        /* last datagram (lane) */
    _Atomic uint64_t last_beacon_ms; /* last beacon mention (control) */
    /* lane-private */
    sd_ndag_seq seq;
    int skip_lctr;           /* 12.4: the next record's lctr may predate the join */
    int tag_valid;           /* tagged records: tag_id/tag_expect are set (tags.md 3.4) */
    uint32_t tag_id;         /* tagger_id of the last tagged record */
    uint64_t tag_expect;     /* its seqno + 1 (skipping 0) */
    /* counters */
    acnt joins, datagrams, records, bytes, dropped, truncated, malformed, foreign, keepalives;
    acnt ts_zero, skipped, restarts, resyncs, duplicates, reordered, late;
    acnt tagged, tag_missing, tag_gaps, tagger_changes;
    _Atomic int64_t missing;
    _Atomic uint32_t stream_id;
    acnt mclass[SD_NDAG_E_COUNT];
};

enum { MSG_ADD = 1, MSG_RETIRE = 2 };
struct mail {
    int op;
    int fd;
    struct stream *s;
};

struct dgram {
    struct stream *s;
    unsigned len;
    int msg_flags;
};

struct lane {
    unsigned id;
    int wake_fd;             /* eventfd: mailbox and stop */
    pthread_mutex_t mlock;
    struct mail *mbox;
    unsigned mhead, mcount, mcap;
    _Atomic unsigned mail_pending;
    /* sockets: pfd[0] is wake_fd, pfd[1..nsock] stream sockets */
    struct pollfd *pfd;
    struct stream **sock_stream;
    unsigned nsock, rr;
    /* datagrams of the last refill */
    uint8_t *bufs;
    struct mmsghdr *msgs;
    struct iovec *iov;
    struct dgram *dg;
    unsigned ndg, curdg;
    int full;                /* the last refill filled every buffer */
    int iter_active;
    sd_ndag_iter it;
    struct stream *it_stream;
    /* what the last read returned */
    sd_ndag_record *recs;
    sd_tags *tags;           /* decoded tag block of recs[i], for pkt.tags */
    unsigned *rec_stream;
    unsigned nrecs;
    _Atomic int running;     /* owned by sd_ndag_recv_run() */
    /* run() */
    pthread_t thr;
    sd_ndag_recv_cb cb;
    void *cb_user;
    struct sd_ndag_recv *r;
};

struct sd_ndag_recv {
    struct sd__handle h;
    char group[48];
    int family;
    struct sockaddr_storage gaddr;
    socklen_t gaddr_len;
    unsigned ifindex;
    uint16_t beacon_port;
    unsigned nlanes, batch, max_streams, idle_ms;
    int rcvbuf_req;
    _Atomic int64_t rcvbuf_got;
    _Atomic int stopping;
    int beacon_fd, ctl_wake_fd;
    pthread_t ctl;
    int ctl_started;
    _Atomic int run_started;
    struct lane *lanes;
    struct stream *streams;         /* max_streams entries, filled in order */
    _Atomic unsigned nstreams;      /* published with release by the control thread */
    struct monitor *monitors;
    unsigned nmonitors;
    unsigned next_lane;
    acnt beacons, beacons_malformed, streams_refused;
    uint8_t *beacon_buf;
    int rcvbuf_warned;
};

static uint64_t now_ms(void)
{
    struct timespec ts;
#ifdef CLOCK_MONOTONIC_COARSE
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
#endif
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void sd_ndag_recv_opts_init(sd_ndag_recv_opts *o)
{
    if (o == NULL)
        return;
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    o->beacon_port = SD_NDAG_DEFAULT_BEACON_PORT;
    o->threads = 1;
    o->rcvbuf = 16 << 20;
    o->batch = 64;
    o->max_streams = 1024;
    o->idle_timeout_ms = 60000;
}

const char *sd_ndag_stream_state_name(int state)
{
    switch (state) {
    case SD_NDAG_STREAM_JOINING: return "joining";
    case SD_NDAG_STREAM_ACTIVE: return "active";
    case SD_NDAG_STREAM_RETIRED: return "retired";
    default: return "unknown";
    }
}

unsigned sd_ndag_recv_lanes(const sd_ndag_recv *r) { return r != NULL ? r->nlanes : 0; }

/* ---------------------------------------------------------------- sockets */

static void set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* The 12.5 recipe: SO_REUSEADDR, bind to the group (not the wildcard, so
 * other groups on the same port stay out), MCAST_JOIN_GROUP on the
 * interface at the level of the group's family, SO_RCVBUF then
 * SO_RCVBUFFORCE. Returns the socket or -1 with why filled. */
static int open_mcast(sd_ndag_recv *r, uint16_t port, char *why, size_t whysz, int *err)
{
    int fd = socket(r->family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        *err = sd__errno_to_err(errno);
        snprintf(why, whysz, "socket: %s", strerror(errno));
        return -1;
    }
    int one = 1;
    struct sockaddr_storage a = r->gaddr;
    set_port(&a, port);
    struct group_req gr;
    memset(&gr, 0, sizeof gr);
    gr.gr_interface = r->ifindex;
    memcpy(&gr.gr_group, &r->gaddr, r->gaddr_len);
    int level = r->family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
    const char *what = NULL;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0)
        what = "SO_REUSEADDR";
    else if (bind(fd, (struct sockaddr *)&a, r->gaddr_len) != 0)
        what = "bind";
    else if (setsockopt(fd, level, MCAST_JOIN_GROUP, &gr, sizeof gr) != 0)
        what = "MCAST_JOIN_GROUP";
    if (what != NULL) {
        int e = errno;
        *err = sd__errno_to_err(e);
        snprintf(why, whysz, "%s: %s", what, strerror(e));
        close(fd);
        return -1;
    }
    if (r->rcvbuf_req > 0) {
        int want = r->rcvbuf_req, got = 0;
        socklen_t gl = sizeof got;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof want) == 0)
            getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
        /* Linux doubles the value for bookkeeping and caps SO_RCVBUF at
         * net.core.rmem_max; SO_RCVBUFFORCE (root) bypasses the cap. */
        if (got / 2 < want) {
            if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want, sizeof want) == 0) {
                gl = sizeof got;
                getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &gl);
            }
        }
        atomic_store(&r->rcvbuf_got, (int64_t)(got / 2));
        if (got / 2 < want && !r->rcvbuf_warned) {
            r->rcvbuf_warned = 1; /* control thread or open: one writer at a time */
            sd__log(&r->h, SD_LOG_WARN,
                    "ndag: receive buffer capped at %d bytes (asked for %d): raise "
                    "net.core.rmem_max or run as root",
                    got / 2, want);
        }
    }
    return fd;
}

/* ---------------------------------------------------------------- mailbox */

static int post(struct lane *l, int op, struct stream *s, int fd)
{
    pthread_mutex_lock(&l->mlock);
    if (l->mcount == l->mcap) {
        pthread_mutex_unlock(&l->mlock);
        return -1;
    }
    struct mail *m = &l->mbox[(l->mhead + l->mcount) % l->mcap];
    m->op = op;
    m->s = s;
    m->fd = fd;
    l->mcount++;
    atomic_store_explicit(&l->mail_pending, 1, memory_order_release);
    pthread_mutex_unlock(&l->mlock);
    uint64_t one = 1;
    ssize_t w = write(l->wake_fd, &one, sizeof one);
    (void)w; /* EAGAIN only when the counter is already huge: awake anyway */
    return 0;
}

static void lane_remove_sock(struct lane *l, unsigned k)
{
    /* k indexes pfd; keep order of the others for round-robin fairness */
    for (unsigned j = k; j < l->nsock; j++) {
        l->pfd[j] = l->pfd[j + 1];
        l->sock_stream[j] = l->sock_stream[j + 1];
    }
    l->nsock--;
}

static void lane_drain_mail(sd_ndag_recv *r, struct lane *l)
{
    for (;;) {
        pthread_mutex_lock(&l->mlock);
        if (l->mcount == 0) {
            atomic_store_explicit(&l->mail_pending, 0, memory_order_relaxed);
            pthread_mutex_unlock(&l->mlock);
            return;
        }
        struct mail m = l->mbox[l->mhead];
        l->mhead = (l->mhead + 1) % l->mcap;
        l->mcount--;
        pthread_mutex_unlock(&l->mlock);

        struct stream *s = m.s;
        if (m.op == MSG_ADD) {
            l->nsock++;
            l->pfd[l->nsock].fd = m.fd;
            l->pfd[l->nsock].events = POLLIN;
            l->pfd[l->nsock].revents = 0;
            l->sock_stream[l->nsock] = s;
            /* A (re-)join starts a new observation: the gap before it is
             * never counted (12.2 step 2), nor the first lctr (12.4). */
            s->seq.expected = 0;
            s->seq.probation = 0;
            s->seq.seen = 0;
            s->skip_lctr = 1;
            s->tag_valid = 0;
            CADD(s->joins, 1);
            atomic_store(&s->last_ms, now_ms());
            atomic_store(&s->state, SD_NDAG_STREAM_ACTIVE);
            /* libtrace <= 4.0.22 wording (ndag.md 11.3, 15) */
            sd__log(&r->h, SD_LOG_INFO, "Added new stream %s:%u to thread %u", r->group,
                    (unsigned)s->port, l->id);
        } else {
            for (unsigned k = 1; k <= l->nsock; k++) {
                if (l->sock_stream[k] == s) {
                    close(l->pfd[k].fd);
                    lane_remove_sock(l, k);
                    break;
                }
            }
            /* Datagrams of s still in the buffers are delivered: they
             * were received while it was joined. */
            atomic_store(&s->state, SD_NDAG_STREAM_RETIRED);
            sd__log(&r->h, SD_LOG_INFO, "Removed stream %s:%u from thread %u (idle)", r->group,
                    (unsigned)s->port, l->id);
        }
    }
}

/* ---------------------------------------------------------------- control thread */

static struct monitor *find_monitor(sd_ndag_recv *r, uint16_t id)
{
    for (unsigned i = 0; i < r->nmonitors; i++)
        if (r->monitors[i].id == id)
            return &r->monitors[i];
    if (r->nmonitors == MAX_MONITORS)
        return NULL;
    struct monitor *m = &r->monitors[r->nmonitors];
    m->id = id; /* the mutex was initialised at open */
    r->nmonitors++;
    return m;
}

static void join_stream(sd_ndag_recv *r, struct stream *s)
{
    char why[160];
    int err;
    int fd = open_mcast(r, s->port, why, sizeof why, &err);
    if (fd < 0) {
        if (!s->ctl_failed_logged) {
            s->ctl_failed_logged = 1;
            CADD(r->streams_refused, 1);
            sd__log(&r->h, SD_LOG_WARN, "ndag: cannot join stream %s:%u: %s (retrying on each beacon)",
                    r->group, (unsigned)s->port, why);
        }
        return;
    }
    if (post(&r->lanes[s->lane], MSG_ADD, s, fd) != 0) {
        close(fd);
        return;
    }
    s->ctl_joined = 1;
}

static void handle_beacon(sd_ndag_recv *r, const sd_ndag_msg *m, uint64_t now)
{
    unsigned n = atomic_load_explicit(&r->nstreams, memory_order_relaxed);
    for (unsigned i = 0; i < m->num_streams; i++) {
        uint16_t port = sd_ndag_beacon_port(m, i);
        struct stream *s = NULL;
        for (unsigned k = 0; k < n; k++)
            if (r->streams[k].port == port && r->streams[k].monitor_id == m->monitor_id) {
                s = &r->streams[k];
                break;
            }
        if (s == NULL) {
            struct monitor *mon = find_monitor(r, m->monitor_id);
            if (n == r->max_streams || mon == NULL) {
                CADD(r->streams_refused, 1);
                continue;
            }
            s = &r->streams[n];
            s->index = n;
            s->port = port;
            s->monitor_id = m->monitor_id;
            s->mon = mon;
            /* 11.3: round-robin over all beacons and monitors in arrival order */
            s->lane = r->next_lane;
            r->next_lane = (r->next_lane + 1) % r->nlanes;
            sd_ndag_seq_init(&s->seq);
            atomic_store(&s->last_beacon_ms, now);
            n++;
            atomic_store_explicit(&r->nstreams, n, memory_order_release);
        }
        atomic_store_explicit(&s->last_beacon_ms, now, memory_order_relaxed);
        if (!s->ctl_joined)
            join_stream(r, s);
    }
}

static void retire_idle(sd_ndag_recv *r, uint64_t now)
{
    if (r->idle_ms == 0)
        return;
    unsigned n = atomic_load_explicit(&r->nstreams, memory_order_relaxed);
    for (unsigned k = 0; k < n; k++) {
        struct stream *s = &r->streams[k];
        if (!s->ctl_joined)
            continue;
        uint64_t last = atomic_load_explicit(&s->last_ms, memory_order_relaxed);
        uint64_t lb = atomic_load_explicit(&s->last_beacon_ms, memory_order_relaxed);
        if (lb > last)
            last = lb;
        if (now > last && now - last >= r->idle_ms) {
            if (post(&r->lanes[s->lane], MSG_RETIRE, s, -1) == 0)
                s->ctl_joined = 0;
        }
    }
}

static void *control_main(void *arg)
{
    sd_ndag_recv *r = arg;
    struct pollfd pfd[2] = {{.fd = r->beacon_fd, .events = POLLIN}, {.fd = r->ctl_wake_fd, .events = POLLIN}};
    while (!atomic_load(&r->stopping)) {
        int rc = poll(pfd, 2, WAKE_MS);
        if (atomic_load(&r->stopping))
            break;
        uint64_t now = now_ms();
        if (rc > 0 && (pfd[0].revents & POLLIN)) {
            for (;;) {
                ssize_t len = recv(r->beacon_fd, r->beacon_buf, DGRAM_BUF, MSG_DONTWAIT | MSG_TRUNC);
                if (len < 0)
                    break;
                sd_ndag_msg m;
                if ((size_t)len > DGRAM_BUF ||
                    sd_ndag_decode(&m, r->beacon_buf, (size_t)len, SD_NDAG_ON_BEACON, NULL) != 0) {
                    CADD(r->beacons_malformed, 1);
                    continue;
                }
                CADD(r->beacons, 1);
                handle_beacon(r, &m, now);
            }
        }
        retire_idle(r, now);
    }
    return NULL;
}

/* ---------------------------------------------------------------- open / close */

static void free_recv(sd_ndag_recv *r)
{
    if (r->lanes != NULL) {
        for (unsigned i = 0; i < r->nlanes; i++) {
            struct lane *l = &r->lanes[i];
            if (l->pfd != NULL)
                for (unsigned k = 1; k <= l->nsock; k++)
                    close(l->pfd[k].fd);
            if (l->mbox != NULL)
                for (unsigned k = 0; k < l->mcount; k++) {
                    struct mail *m = &l->mbox[(l->mhead + k) % l->mcap];
                    if (m->op == MSG_ADD && m->fd >= 0)
                        close(m->fd);
                }
            if (l->wake_fd >= 0)
                close(l->wake_fd);
            pthread_mutex_destroy(&l->mlock);
            sd__free(l->mbox);
            sd__free(l->pfd);
            sd__free(l->sock_stream);
            sd__free(l->bufs);
            sd__free(l->msgs);
            sd__free(l->iov);
            sd__free(l->dg);
            sd__free(l->recs);
            sd__free(l->tags);
            sd__free(l->rec_stream);
        }
    }
    if (r->monitors != NULL)
        for (unsigned i = 0; i < MAX_MONITORS; i++)
            pthread_mutex_destroy(&r->monitors[i].lock);
    if (r->beacon_fd >= 0)
        close(r->beacon_fd);
    if (r->ctl_wake_fd >= 0)
        close(r->ctl_wake_fd);
    sd__free(r->lanes);
    sd__free(r->streams);
    sd__free(r->monitors);
    sd__free(r->beacon_buf);
    r->h.magic = 0;
    sd__free(r);
}

static int lane_init(sd_ndag_recv *r, struct lane *l, unsigned id)
{
    l->id = id;
    l->r = r;
    l->mcap = 2 * r->max_streams + 8;
    l->mbox = sd__calloc(l->mcap, sizeof *l->mbox);
    l->pfd = sd__calloc(r->max_streams + 1, sizeof *l->pfd);
    l->sock_stream = sd__calloc(r->max_streams + 1, sizeof *l->sock_stream);
    l->bufs = sd__malloc((size_t)r->batch * DGRAM_BUF);
    l->msgs = sd__calloc(r->batch, sizeof *l->msgs);
    l->iov = sd__calloc(r->batch, sizeof *l->iov);
    l->dg = sd__calloc(r->batch, sizeof *l->dg);
    l->recs = sd__calloc(SD_NDAG_RECV_MAX_READ, sizeof *l->recs);
    l->tags = sd__calloc(SD_NDAG_RECV_MAX_READ, sizeof *l->tags);
    l->rec_stream = sd__calloc(SD_NDAG_RECV_MAX_READ, sizeof *l->rec_stream);
    if (!l->mbox || !l->pfd || !l->sock_stream || !l->bufs || !l->msgs || !l->iov || !l->dg || !l->recs ||
        !l->tags || !l->rec_stream)
        return SD_ERR_NOMEM;
    /* Set up once: recvmmsg() writes back only msg_len, msg_flags and
     * msg_controllen (0 here), never the iovec or name fields. */
    for (unsigned i = 0; i < r->batch; i++) {
        l->iov[i].iov_base = l->bufs + (size_t)i * DGRAM_BUF;
        l->iov[i].iov_len = DGRAM_BUF;
        l->msgs[i].msg_hdr.msg_iov = &l->iov[i];
        l->msgs[i].msg_hdr.msg_iovlen = 1;
    }
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->wake_fd < 0)
        return sd__errno_to_err(errno);
    l->pfd[0].fd = l->wake_fd;
    l->pfd[0].events = POLLIN;
    return 0;
}

/* Validate o and resolve group and interface (shared with the ndag:
 * source, which checks at open and joins at start). */
/* 1 when the interface has IFF_MULTICAST, 0 when not, -1 when unknown.
 * Joining a group there succeeds, yet no datagram ever arrives. */
static int iface_multicast(const char *name)
{
    struct ifaddrs *list;
    if (getifaddrs(&list) != 0)
        return -1;
    int r = -1;
    for (struct ifaddrs *i = list; i != NULL; i = i->ifa_next)
        if (i->ifa_name != NULL && strcmp(i->ifa_name, name) == 0) {
            r = (i->ifa_flags & IFF_MULTICAST) != 0;
            break;
        }
    freeifaddrs(list);
    return r;
}

static int check_opts(const sd_ndag_recv_opts *o, char *errbuf, struct sockaddr_storage *gap, socklen_t *galenp,
                      int *familyp, unsigned *ifindexp)
{
    if (o == NULL || o->size < offsetof(sd_ndag_recv_opts, log_userdata) + sizeof(void *))
        return sd__errbuf(errbuf, SD_ERR_INVAL, "ndag: options not initialised (sd_ndag_recv_opts_init)");
    if (o->iface == NULL || o->iface[0] == '\0')
        return sd__errbuf(errbuf, SD_ERR_INVAL, "ndag: no interface given");
    if (o->group == NULL || o->group[0] == '\0')
        return sd__errbuf(errbuf, SD_ERR_INVAL, "ndag: no multicast group given");
    if (o->threads < 1 || o->threads > MAX_LANES)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "ndag: threads %u out of range 1..%u", o->threads, MAX_LANES);
    if (o->batch < 1 || o->batch > 1024)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "ndag: batch %u out of range 1..1024", o->batch);
    if (o->max_streams < 1 || o->max_streams > 65536)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "ndag: max_streams %u out of range 1..65536", o->max_streams);
    if (o->beacon_port == 0)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "ndag: beacon port 0");
    if (o->rcvbuf < 0)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "ndag: negative rcvbuf");

    struct sockaddr_storage ga;
    memset(&ga, 0, sizeof ga);
    socklen_t galen;
    int family;
    struct sockaddr_in *a4 = (struct sockaddr_in *)&ga;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ga;
    if (inet_pton(AF_INET, o->group, &a4->sin_addr) == 1) {
        family = AF_INET;
        a4->sin_family = AF_INET;
        galen = sizeof *a4;
        if (!IN_MULTICAST(ntohl(a4->sin_addr.s_addr)))
            return sd__errbuf(errbuf, SD_ERR_INVAL, "ndag: %s is not a multicast group (224.0.0.0/4)", o->group);
    } else if (inet_pton(AF_INET6, o->group, &a6->sin6_addr) == 1) {
        family = AF_INET6;
        a6->sin6_family = AF_INET6;
        galen = sizeof *a6;
        if (!IN6_IS_ADDR_MULTICAST(&a6->sin6_addr))
            return sd__errbuf(errbuf, SD_ERR_INVAL, "ndag: %s is not a multicast group (ff00::/8)", o->group);
    } else {
        return sd__errbuf(errbuf, SD_ERR_INVAL, "ndag: bad group '%s': expected a numeric IPv4 or IPv6 address",
                          o->group);
    }
    unsigned ifindex = if_nametoindex(o->iface);
    if (ifindex == 0)
        return sd__errbuf(errbuf, SD_ERR_NOTFOUND, "ndag: unknown interface '%s'", o->iface);
    if (iface_multicast(o->iface) == 0)
        return sd__errbuf(errbuf, SD_ERR_INVAL,
                          "ndag: interface '%s' has multicast turned off: nothing would arrive "
                          "(ip link set %s multicast on)",
                          o->iface, o->iface);
    if (family == AF_INET6 && (IN6_IS_ADDR_MC_LINKLOCAL(&a6->sin6_addr) || IN6_IS_ADDR_MC_NODELOCAL(&a6->sin6_addr)))
        a6->sin6_scope_id = ifindex;

    *gap = ga;
    *galenp = galen;
    *familyp = family;
    *ifindexp = ifindex;
    return 0;
}

int sd__ndag_recv_check(const sd_ndag_recv_opts *o, char *errbuf)
{
    struct sockaddr_storage ga;
    socklen_t galen;
    int family;
    unsigned ifindex;
    return check_opts(o, errbuf, &ga, &galen, &family, &ifindex);
}

int sd_ndag_recv_open(sd_ndag_recv **rp, const sd_ndag_recv_opts *o, char *errbuf)
{
    if (rp == NULL)
        return sd__errbuf(errbuf, SD_ERR_INVAL, "sd_ndag_recv_open: rp is NULL");
    *rp = NULL;
    struct sockaddr_storage ga;
    socklen_t galen;
    int family;
    unsigned ifindex;
    int crc = check_opts(o, errbuf, &ga, &galen, &family, &ifindex);
    if (crc < 0)
        return crc;

    sd_ndag_recv *r = sd__calloc(1, sizeof *r);
    if (r == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "ndag: out of memory");
    sd__handle_init(&r->h);
    r->h.log = o->log;
    r->h.log_userdata = o->log_userdata;
    r->beacon_fd = r->ctl_wake_fd = -1;
    snprintf(r->group, sizeof r->group, "%s", o->group);
    r->family = family;
    r->gaddr = ga;
    r->gaddr_len = galen;
    r->ifindex = ifindex;
    r->beacon_port = o->beacon_port;
    r->nlanes = o->threads;
    r->batch = o->batch;
    r->max_streams = o->max_streams;
    r->idle_ms = o->idle_timeout_ms;
    r->rcvbuf_req = o->rcvbuf;

    int rc = SD_ERR_NOMEM;
    r->lanes = sd__calloc(r->nlanes, sizeof *r->lanes);
    r->streams = sd__calloc(r->max_streams, sizeof *r->streams);
    r->monitors = sd__calloc(MAX_MONITORS, sizeof *r->monitors);
    r->beacon_buf = sd__malloc(DGRAM_BUF);
    if (r->lanes != NULL)
        for (unsigned i = 0; i < r->nlanes; i++) {
            r->lanes[i].wake_fd = -1;
            pthread_mutex_init(&r->lanes[i].mlock, NULL);
        }
    if (r->monitors != NULL)
        for (unsigned i = 0; i < MAX_MONITORS; i++)
            pthread_mutex_init(&r->monitors[i].lock, NULL);
    if (r->lanes == NULL || r->streams == NULL || r->monitors == NULL || r->beacon_buf == NULL) {
        if (r->lanes == NULL)
            r->nlanes = 0;
        free_recv(r);
        return sd__errbuf(errbuf, rc, "ndag: out of memory");
    }
    for (unsigned i = 0; i < r->nlanes; i++) {
        rc = lane_init(r, &r->lanes[i], i);
        if (rc < 0) {
            free_recv(r);
            return sd__errbuf(errbuf, rc, "ndag: cannot set up lane %u: %s", i, sd_strerror(rc));
        }
    }
    r->ctl_wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (r->ctl_wake_fd < 0) {
        rc = sd__errno_to_err(errno);
        free_recv(r);
        return sd__errbuf(errbuf, rc, "ndag: eventfd: %s", strerror(errno));
    }
    char why[160];
    r->beacon_fd = open_mcast(r, r->beacon_port, why, sizeof why, &rc);
    if (r->beacon_fd < 0) {
        free_recv(r);
        return sd__errbuf(errbuf, rc, "ndag:%s,%s,%u: beacon socket: %s", o->iface, o->group,
                          (unsigned)o->beacon_port, why);
    }
    int e = pthread_create(&r->ctl, NULL, control_main, r);
    if (e != 0) {
        free_recv(r);
        return sd__errbuf(errbuf, SD_ERR_IO, "ndag: cannot start the control thread: %s", strerror(e));
    }
    r->ctl_started = 1;
    *rp = r;
    return 0;
}

void sd_ndag_recv_stop(sd_ndag_recv *r)
{
    if (r == NULL)
        return;
    atomic_store(&r->stopping, 1);
    uint64_t one = 1;
    ssize_t w = write(r->ctl_wake_fd, &one, sizeof one);
    for (unsigned i = 0; i < r->nlanes; i++)
        w = write(r->lanes[i].wake_fd, &one, sizeof one);
    (void)w;
}

void sd_ndag_recv_close(sd_ndag_recv *r)
{
    if (r == NULL)
        return;
    sd_ndag_recv_stop(r);
    if (r->ctl_started)
        pthread_join(r->ctl, NULL);
    free_recv(r);
}

/* ---------------------------------------------------------------- lanes: data path */

static int is_colour(uint8_t t)
{
    /* 7.6: lctr holds a colour or hash for these types */
    return t == 10 || t == 11 || t == 15 || t == 16 || t == 19 || t == 20;
}

/* First datagram or restart of a stream: does it show a new sender
 * instance of its monitor? Rare, so a mutex is fine. */
static void note_token(struct stream *s, const uint8_t *started)
{
    struct monitor *m = s->mon;
    pthread_mutex_lock(&m->lock);
    int known = 0;
    for (unsigned i = 0; i < m->ntokens; i++)
        if (memcmp(m->tokens[i], started, 8) == 0)
            known = 1;
    if (!known) {
        if (m->ntokens > 0)
            CADD(m->restarts, 1);
        memcpy(m->tokens[m->next_token], started, 8);
        m->next_token = (m->next_token + 1) % MON_TOKENS;
        if (m->ntokens < MON_TOKENS)
            m->ntokens++;
    }
    pthread_mutex_unlock(&m->lock);
}

/* Validate one datagram and account it; returns 1 when it has records to
 * deliver (iterator set up). */
static int start_datagram(struct lane *l, const struct dgram *d, const uint8_t *buf)
{
    struct stream *s = d->s;
    if (d->msg_flags & MSG_TRUNC) {
        /* 12.5: a datagram larger than the buffer is record_overrun */
        CADD(s->malformed, 1);
        CADD(s->mclass[SD_NDAG_E_RECORD_OVERRUN], 1);
        return 0;
    }
    sd_ndag_msg m;
    if (sd_ndag_decode(&m, buf, d->len, SD_NDAG_ON_STREAM, NULL) != 0) {
        CADD(s->malformed, 1);
        if (m.error < SD_NDAG_E_COUNT)
            CADD(s->mclass[m.error], 1);
        return 0;
    }
    if (m.monitor_id != s->monitor_id) {
        /* another monitor announced the same port: its stream has its own
         * socket and counters */
        CADD(s->foreign, 1);
        return 0;
    }
    if (m.type == SD_NDAG_KEEPALIVE) {
        CADD(s->keepalives, 1); /* 8: no sequence number, idle timer only */
        return 0;
    }
    int v = sd_ndag_seq_update(&s->seq, m.started, m.seqno);
    if (v == SD_NDAG_SEQ_FIRST || v == SD_NDAG_SEQ_RESTART) {
        if (v == SD_NDAG_SEQ_RESTART)
            s->skip_lctr = 1; /* 12.4 */
        note_token(s, m.started);
    }
    atomic_store_explicit(&s->missing, s->seq.missing, memory_order_relaxed);
    CSET(s->restarts, s->seq.restarts);
    CSET(s->resyncs, s->seq.resyncs);
    CSET(s->duplicates, s->seq.duplicates);
    CSET(s->reordered, s->seq.reordered);
    CSET(s->late, s->seq.late);
    CADD(s->datagrams, 1);
    CADD(s->bytes, d->len);
    if (m.truncated)
        CADD(s->truncated, 1);
    atomic_store_explicit(&s->stream_id, m.stream_id, memory_order_relaxed);
    sd_ndag_iter_init(&l->it, &m);
    l->it_stream = s;
    return 1;
}

/* Per-record counters of the current datagram, kept in registers and
 * added to the stream's atomics once per datagram, not once per record. */
struct rec_counts {
    uint64_t records, skipped, dropped, ts_zero;
    uint64_t tagged, tag_missing, tag_gaps, tagger_changes;
};

static void flush_counts(struct stream *s, struct rec_counts *c)
{
    if (c->records > 0)
        CADD(s->records, c->records);
    if (c->skipped > 0)
        CADD(s->skipped, c->skipped);
    if (c->dropped > 0)
        CADD(s->dropped, c->dropped);
    if (c->ts_zero > 0)
        CADD(s->ts_zero, c->ts_zero);
    if (c->tagged > 0) {
        CADD(s->tagged, c->tagged);
        if (c->tag_missing > 0)
            CADD(s->tag_missing, c->tag_missing);
        if (c->tag_gaps > 0)
            CADD(s->tag_gaps, c->tag_gaps);
        if (c->tagger_changes > 0)
            CADD(s->tagger_changes, c->tagger_changes);
    }
    memset(c, 0, sizeof *c);
}

/* Per-packet loss of a tagged stream as corsarotrace counts it (tags.md
 * 3.4): a new tagger_id restarts the count; a gap of k records adds k, a
 * backwards jump adds 1, each is one gap. */
static void tag_track(struct stream *s, const sd_ndag_record *rec, struct rec_counts *c)
{
    uint64_t q = rec->tagger_seqno;
    if (!s->tag_valid || rec->tagger_id != s->tag_id) {
        if (s->tag_valid)
            c->tagger_changes++;
        s->tag_valid = 1;
        s->tag_id = rec->tagger_id;
    } else if (q != s->tag_expect) {
        c->tag_gaps++;
        c->tag_missing += q > s->tag_expect ? q - s->tag_expect : 1;
    }
    s->tag_expect = q + 1 != 0 ? q + 1 : 1;
}

/* Move records of the buffered datagrams into recs[out..n); returns out. */
static unsigned emit(struct lane *l, unsigned out, unsigned n)
{
    struct rec_counts c = {0};
    while (out < n) {
        if (!l->iter_active) {
            if (l->curdg >= l->ndg)
                break;
            const struct dgram *d = &l->dg[l->curdg];
            const uint8_t *buf = l->bufs + (size_t)l->curdg * DGRAM_BUF;
            l->curdg++;
            l->iter_active = start_datagram(l, d, buf);
            continue;
        }
        sd_ndag_record *rec = &l->recs[out];
        struct stream *s = l->it_stream;
        if (!sd__ndag_next(&l->it, rec)) {
            l->iter_active = 0;
            flush_counts(s, &c);
            continue;
        }
        if (!rec->has_packet) {
            c.skipped++;
            continue;
        }
        if (rec->tag == NULL) {
            if (s->skip_lctr)
                s->skip_lctr = 0;
            else if (!is_colour(rec->erf_type))
                c.dropped += rec->lctr;
        } else {
            /* validated: the 94-byte header is there (10) */
            (void)sd_tags_decode(&l->tags[out], rec->tag + (SD_NDAG_TAG_LEN - SD_TAG_BLOCK_LEN),
                                 SD_TAG_BLOCK_LEN);
            rec->pkt.tags = &l->tags[out];
            c.tagged++;
            tag_track(s, rec, &c);
        }
        c.ts_zero += rec->pkt.ts == 0;
        c.records++;
        l->rec_stream[out] = s->index;
        out++;
    }
    if (l->iter_active)
        flush_counts(l->it_stream, &c);
    return out;
}

/* Receive a batch from the lane's readable sockets; returns the number of
 * datagrams, 0 on timeout or interruption, SD_EOF when stopping. */
static int refill(sd_ndag_recv *r, struct lane *l, int wait_ms)
{
    l->ndg = l->curdg = 0;
    int rc;
    if (l->full) {
        /* The last batch was full, so more is most likely queued: read
         * without the poll() system call. Mail and stop are atomics,
         * checked below and by the caller; an eventfd left readable is
         * consumed by the next poll(). */
        rc = 1;
        l->pfd[0].revents = 0;
    } else {
        rc = poll(l->pfd, l->nsock + 1, wait_ms);
    }
    if (atomic_load(&r->stopping))
        return SD_EOF;
    if (rc < 0)
        return REFILL_INTR; /* EINTR: let the caller check its signal flag */
    if (l->pfd[0].revents & POLLIN) {
        uint64_t v;
        ssize_t rd = read(l->wake_fd, &v, sizeof v);
        (void)rd;
    }
    if (atomic_load_explicit(&l->mail_pending, memory_order_acquire))
        lane_drain_mail(r, l);
    if (l->full)
        for (unsigned k = 1; k <= l->nsock; k++)
            l->pfd[k].revents = POLLIN; /* after the mail: new sockets too */
    l->full = 0;
    if (rc == 0 || l->nsock == 0)
        return 0;
    uint64_t now = now_ms();
    unsigned used = 0;
    for (unsigned t = 0; t < l->nsock && used < r->batch; t++) {
        unsigned k = 1 + (l->rr + t) % l->nsock;
        if (!(l->pfd[k].revents & (POLLIN | POLLERR)))
            continue;
        int got = recvmmsg(l->pfd[k].fd, &l->msgs[used], r->batch - used, MSG_DONTWAIT, NULL);
        if (got <= 0)
            continue;
        struct stream *s = l->sock_stream[k];
        for (int i = 0; i < got; i++) {
            struct dgram *d = &l->dg[used + (unsigned)i];
            d->s = s;
            d->len = l->msgs[used + (unsigned)i].msg_len;
            d->msg_flags = l->msgs[used + (unsigned)i].msg_hdr.msg_flags;
        }
        used += (unsigned)got;
        atomic_store_explicit(&s->last_ms, now, memory_order_relaxed);
    }
    l->rr++;
    l->ndg = used;
    l->full = used == r->batch;
    return (int)used;
}

static int lane_read(sd_ndag_recv *r, struct lane *l, unsigned n, int timeout_ms)
{
    l->nrecs = 0;
    if (atomic_load(&r->stopping))
        return SD_EOF;
    if (atomic_load_explicit(&l->mail_pending, memory_order_acquire))
        lane_drain_mail(r, l);
    uint64_t deadline = timeout_ms > 0 ? now_ms() + (uint64_t)timeout_ms : 0;
    for (;;) {
        unsigned out = emit(l, 0, n);
        if (out > 0) {
            l->nrecs = out;
            return (int)out;
        }
        /* Nothing buffered: the buffers may be reused. */
        int wait = WAKE_MS;
        if (timeout_ms == 0) {
            wait = 0;
        } else if (timeout_ms > 0) {
            uint64_t t = now_ms();
            if (t >= deadline)
                wait = 0;
            else if (deadline - t < WAKE_MS)
                wait = (int)(deadline - t);
        }
        int got = refill(r, l, wait);
        if (got == REFILL_INTR)
            return 0;
        if (got < 0)
            return got;
        if (got == 0 && (timeout_ms == 0 || (timeout_ms > 0 && now_ms() >= deadline)))
            return 0;
    }
}

int sd_ndag_recv_read(sd_ndag_recv *r, unsigned lane, const sd_packet **pkts, size_t n, int timeout_ms)
{
    if (r == NULL || pkts == NULL || n == 0 || lane >= r->nlanes || timeout_ms < -1)
        return SD_ERR_INVAL;
    struct lane *l = &r->lanes[lane];
    if (atomic_load(&l->running))
        return SD_ERR_STATE;
    unsigned want = n > SD_NDAG_RECV_MAX_READ ? SD_NDAG_RECV_MAX_READ : (unsigned)n;
    int got = lane_read(r, l, want, timeout_ms);
    for (int i = 0; i < got; i++)
        pkts[i] = &l->recs[i].pkt;
    return got;
}

const sd_ndag_record *sd_ndag_recv_record(const sd_ndag_recv *r, unsigned lane, size_t i, unsigned *stream)
{
    if (r == NULL || lane >= r->nlanes)
        return NULL;
    const struct lane *l = &r->lanes[lane];
    if (i >= l->nrecs)
        return NULL;
    if (stream != NULL)
        *stream = l->rec_stream[i];
    return &l->recs[i];
}

/* ---------------------------------------------------------------- run() */

static void *lane_main(void *arg)
{
    struct lane *l = arg;
    const sd_packet *pkts[256];
    for (;;) {
        int got = lane_read(l->r, l, 256, -1);
        if (got < 0)
            break;
        for (int i = 0; i < got; i++)
            pkts[i] = &l->recs[i].pkt;
        if (got > 0)
            l->cb(l->cb_user, l->id, pkts, (size_t)got);
    }
    return NULL;
}

int sd_ndag_recv_run(sd_ndag_recv *r, sd_ndag_recv_cb cb, void *user)
{
    if (r == NULL || cb == NULL)
        return SD_ERR_INVAL;
    int expected = 0;
    if (!atomic_compare_exchange_strong(&r->run_started, &expected, 1))
        return sd__seterr(&r->h, SD_ERR_STATE, "ndag: sd_ndag_recv_run() already called");
    unsigned started = 0;
    int rc = 0;
    for (unsigned i = 0; i < r->nlanes; i++) {
        struct lane *l = &r->lanes[i];
        l->cb = cb;
        l->cb_user = user;
        atomic_store(&l->running, 1);
        int e = pthread_create(&l->thr, NULL, lane_main, l);
        if (e != 0) {
            atomic_store(&l->running, 0);
            rc = sd__seterr(&r->h, SD_ERR_IO, "ndag: cannot start lane thread %u: %s", i, strerror(e));
            break;
        }
        started++;
    }
    if (rc < 0)
        sd_ndag_recv_stop(r);
    for (unsigned i = 0; i < started; i++) {
        pthread_join(r->lanes[i].thr, NULL);
        atomic_store(&r->lanes[i].running, 0);
    }
    return rc;
}

/* ---------------------------------------------------------------- stats */

static void stream_snapshot(const sd_ndag_recv *r, const struct stream *s, sd_ndag_stream_stats *o, uint64_t now)
{
    memset(o, 0, sizeof *o);
    o->size = sizeof *o;
    snprintf(o->group, sizeof o->group, "%s", r->group);
    o->port = s->port;
    o->monitor_id = s->monitor_id;
    o->stream_id = (uint16_t)atomic_load_explicit(&s->stream_id, memory_order_relaxed);
    o->lane = (uint16_t)s->lane;
    o->state = atomic_load_explicit(&s->state, memory_order_relaxed);
    o->joins = CGET(s->joins);
    o->datagrams = CGET(s->datagrams);
    o->records = CGET(s->records);
    o->bytes = CGET(s->bytes);
    o->missing = atomic_load_explicit(&s->missing, memory_order_relaxed);
    o->dropped = CGET(s->dropped);
    o->truncated = CGET(s->truncated);
    o->restarts = CGET(s->restarts);
    o->resyncs = CGET(s->resyncs);
    o->duplicates = CGET(s->duplicates);
    o->reordered = CGET(s->reordered);
    o->late = CGET(s->late);
    o->malformed = CGET(s->malformed);
    for (int i = 0; i < SD_NDAG_E_COUNT; i++)
        o->malformed_class[i] = CGET(s->mclass[i]);
    o->foreign = CGET(s->foreign);
    o->keepalives = CGET(s->keepalives);
    o->ts_zero = CGET(s->ts_zero);
    o->skipped = CGET(s->skipped);
    o->tagged = CGET(s->tagged);
    o->tag_missing = CGET(s->tag_missing);
    o->tag_gaps = CGET(s->tag_gaps);
    o->tagger_changes = CGET(s->tagger_changes);
    uint64_t last = atomic_load_explicit(&s->last_ms, memory_order_relaxed);
    uint64_t lb = atomic_load_explicit(&s->last_beacon_ms, memory_order_relaxed);
    if (lb > last)
        last = lb;
    o->idle_ms = now > last ? now - last : 0;
}

int sd_ndag_recv_streams(const sd_ndag_recv *r, sd_ndag_stream_stats *arr, size_t cap)
{
    if (r == NULL || (cap > 0 && (arr == NULL || arr[0].size < sizeof(size_t))))
        return SD_ERR_INVAL;
    unsigned n = atomic_load_explicit(&r->nstreams, memory_order_acquire);
    size_t stride = cap > 0 ? arr[0].size : 0;
    uint64_t now = now_ms();
    for (unsigned i = 0; i < n && i < cap; i++) {
        sd_ndag_stream_stats tmp;
        stream_snapshot(r, &r->streams[i], &tmp, now);
        size_t m = stride < sizeof tmp ? stride : sizeof tmp;
        char *dst = (char *)arr + (size_t)i * stride;
        memcpy(dst + sizeof(size_t), (const char *)&tmp + sizeof(size_t), m - sizeof(size_t));
        memcpy(dst, &stride, sizeof stride);
    }
    return (int)n;
}

int sd_ndag_recv_stats_get(const sd_ndag_recv *r, sd_ndag_recv_stats *st)
{
    if (r == NULL || st == NULL || st->size < sizeof(size_t))
        return SD_ERR_INVAL;
    sd_ndag_recv_stats t;
    memset(&t, 0, sizeof t);
    t.size = sizeof t;
    unsigned n = atomic_load_explicit(&r->nstreams, memory_order_acquire);
    uint64_t now = now_ms();
    for (unsigned i = 0; i < n; i++) {
        sd_ndag_stream_stats s;
        stream_snapshot(r, &r->streams[i], &s, now);
        t.streams++;
        if (s.state == SD_NDAG_STREAM_ACTIVE)
            t.streams_active++;
        t.datagrams += s.datagrams;
        t.records += s.records;
        t.bytes += s.bytes;
        t.missing += s.missing;
        t.dropped += s.dropped;
        t.truncated += s.truncated;
        t.restarts += s.restarts;
        t.resyncs += s.resyncs;
        t.duplicates += s.duplicates;
        t.reordered += s.reordered;
        t.late += s.late;
        t.malformed += s.malformed;
        for (int k = 0; k < SD_NDAG_E_COUNT; k++)
            t.malformed_class[k] += s.malformed_class[k];
        t.foreign += s.foreign;
        t.keepalives += s.keepalives;
        t.ts_zero += s.ts_zero;
        t.skipped += s.skipped;
        t.tagged += s.tagged;
        t.tag_missing += s.tag_missing;
        t.tag_gaps += s.tag_gaps;
        t.tagger_changes += s.tagger_changes;
    }
    for (unsigned i = 0; i < MAX_MONITORS; i++)
        t.sender_restarts += CGET(r->monitors[i].restarts);
    t.streams_refused = CGET(r->streams_refused);
    t.beacons = CGET(r->beacons);
    t.beacons_malformed = CGET(r->beacons_malformed);
    t.rcvbuf = atomic_load(&r->rcvbuf_got);
    size_t m = st->size < sizeof t ? st->size : sizeof t;
    memcpy((char *)st + sizeof(size_t), (const char *)&t + sizeof(size_t), m - sizeof(size_t));
    return 0;
}
