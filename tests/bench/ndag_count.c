/* ndag_count: the receive baseline for the nDAG end-to-end benchmark.
 *
 *   ndag_count IFACE GROUP PORT[,PORT...] SECONDS
 *   ndag_count IFACE GROUP PORT[,PORT...] --until-idle MS
 *
 * Joins GROUP on IFACE for each PORT (one socket per port, bound to the
 * group as ndag.md 12.5 says, 16 MiB receive buffer), then reads with
 * recvmmsg in batches of 64 on one thread, polling all sockets. Per
 * datagram it only reads the nDAG recordcount field (offset 22, masked
 * 0x7fff, 6.1) of data messages (type 2 or 6); nothing is validated. This
 * is the least work any receiver can do, so the stardust receiver is
 * compared against it. Stops after SECONDS, or once MS milliseconds pass
 * without a datagram after the first one; SIGINT/SIGTERM stop it too.
 * Prints one JSON object on stdout at exit:
 *   {"tool":"ndag_count","datagrams":N,"bytes":N,"records":N,"data_datagrams":N,
 *    "other_datagrams":N,"truncated":N,"seconds":S,"active_seconds":S,
 *    "records_per_s":R,"datagrams_per_s":R,"rcvbuf":N,"cpu_seconds":S,
 *    "ns_per_record_cpu":T}
 * active_seconds runs from the first datagram to the last one; cpu_seconds
 * is the user + system time of the process (getrusage).
 * Multicast: run it inside tests/netns-run only. */
#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_PORTS 64
#define BATCH 64
#define BUFSZ 65536
#define RCVBUF (16 * 1024 * 1024)

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void usage(void)
{
    fprintf(stderr, "usage: ndag_count IFACE GROUP PORT[,PORT...] SECONDS|--until-idle MS\n");
    exit(2);
}

/* One socket joined to group:port on ifindex; exits on failure. */
static int open_socket(const char *group, const char *port, unsigned ifindex, int *rcvbuf)
{
    struct addrinfo hints, *ai;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
    int rc = getaddrinfo(group, port, &hints, &ai);
    if (rc != 0) {
        fprintf(stderr, "ndag_count: %s:%s: %s\n", group, port, gai_strerror(rc));
        exit(1);
    }
    int fd = socket(ai->ai_family, SOCK_DGRAM, 0);
    if (fd < 0) {
        perror("ndag_count: socket");
        exit(1);
    }
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    int sz = RCVBUF;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) != 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
    socklen_t sl = sizeof sz;
    if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, &sl) == 0)
        *rcvbuf = sz;
    if (bind(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        fprintf(stderr, "ndag_count: bind %s:%s: %s\n", group, port, strerror(errno));
        exit(1);
    }
    struct group_req gr;
    memset(&gr, 0, sizeof gr);
    gr.gr_interface = ifindex;
    memcpy(&gr.gr_group, ai->ai_addr, ai->ai_addrlen);
    int level = ai->ai_family == AF_INET6 ? IPPROTO_IPV6 : IPPROTO_IP;
    if (setsockopt(fd, level, MCAST_JOIN_GROUP, &gr, sizeof gr) != 0) {
        fprintf(stderr, "ndag_count: join %s on interface %u: %s\n", group, ifindex, strerror(errno));
        exit(1);
    }
    freeaddrinfo(ai);
    return fd;
}

int main(int argc, char **argv)
{
    if (argc != 5 && argc != 6)
        usage();
    double seconds = 0, idle = 0;
    if (argc == 6) {
        if (strcmp(argv[4], "--until-idle") != 0)
            usage();
        idle = atof(argv[5]) / 1e3;
        if (idle <= 0)
            usage();
    } else {
        seconds = atof(argv[4]);
        if (seconds <= 0)
            usage();
    }
    unsigned ifindex = if_nametoindex(argv[1]);
    if (ifindex == 0) {
        fprintf(stderr, "ndag_count: unknown interface %s\n", argv[1]);
        return 1;
    }
    struct pollfd pfd[MAX_PORTS];
    int nfd = 0, rcvbuf = 0;
    char ports[1024];
    snprintf(ports, sizeof ports, "%s", argv[3]);
    for (char *save = NULL, *p = strtok_r(ports, ",", &save); p != NULL; p = strtok_r(NULL, ",", &save)) {
        if (nfd == MAX_PORTS)
            usage();
        pfd[nfd].fd = open_socket(argv[2], p, ifindex, &rcvbuf);
        pfd[nfd].events = POLLIN;
        nfd++;
    }
    if (nfd == 0)
        usage();
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);

    static uint8_t bufs[BATCH][BUFSZ];
    struct mmsghdr msgs[BATCH];
    struct iovec iov[BATCH];
    for (int i = 0; i < BATCH; i++) {
        iov[i].iov_base = bufs[i];
        iov[i].iov_len = BUFSZ;
        memset(&msgs[i], 0, sizeof msgs[i]);
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
    }
    uint64_t dgrams = 0, bytes = 0, records = 0, data = 0, other = 0, truncated = 0;
    double t_start = now(), t_first = 0, t_last = 0;
    while (!stop_flag) {
        double t = now();
        if (seconds > 0 && t - t_start >= seconds)
            break;
        if (idle > 0 && dgrams > 0 && t - t_last >= idle)
            break;
        int pr = poll(pfd, (nfds_t)nfd, 20);
        if (pr < 0) {
            if (errno == EINTR)
                continue;
            perror("ndag_count: poll");
            return 1;
        }
        if (pr == 0)
            continue;
        for (int s = 0; s < nfd; s++) {
            if (!(pfd[s].revents & POLLIN))
                continue;
            for (;;) {
                int n = recvmmsg(pfd[s].fd, msgs, BATCH, MSG_DONTWAIT, NULL);
                if (n <= 0)
                    break;
                for (int i = 0; i < n; i++) {
                    const uint8_t *d = bufs[i];
                    unsigned len = msgs[i].msg_len;
                    if (msgs[i].msg_hdr.msg_flags & MSG_TRUNC)
                        truncated++;
                    bytes += len;
                    if (len >= 24 && (d[5] == 2 || d[5] == 6)) {
                        records += ((unsigned)(d[22] & 0x7f) << 8) | d[23];
                        data++;
                    } else {
                        other++;
                    }
                    msgs[i].msg_hdr.msg_flags = 0;
                }
                dgrams += (uint64_t)n;
                t_last = now();
                if (t_first == 0)
                    t_first = t_last;
                if (n < BATCH)
                    break;
            }
        }
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 + (double)ru.ru_stime.tv_sec +
                 (double)ru.ru_stime.tv_usec * 1e-6;
    double total = now() - t_start, active = t_last > t_first ? t_last - t_first : 0;
    printf("{\"tool\":\"ndag_count\",\"datagrams\":%llu,\"bytes\":%llu,\"records\":%llu,"
           "\"data_datagrams\":%llu,\"other_datagrams\":%llu,\"truncated\":%llu,"
           "\"seconds\":%.3f,\"active_seconds\":%.6f,\"records_per_s\":%.0f,"
           "\"datagrams_per_s\":%.0f,\"rcvbuf\":%d,\"cpu_seconds\":%.6f,\"ns_per_record_cpu\":%.2f}\n",
           (unsigned long long)dgrams, (unsigned long long)bytes, (unsigned long long)records,
           (unsigned long long)data, (unsigned long long)other, (unsigned long long)truncated, total,
           active, active > 0 ? (double)records / active : 0, active > 0 ? (double)dgrams / active : 0,
           rcvbuf, cpu, records > 0 ? cpu * 1e9 / (double)records : 0);
    for (int s = 0; s < nfd; s++)
        close(pfd[s].fd);
    return 0;
}
