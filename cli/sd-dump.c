/* sd-dump: print the packets of a trace, one decode per packet.
 *
 * Text output reproduces the layout of libtrace's tracepktdump (libtrace
 * 4.0.x libpacketdump) line for line for Ethernet, IPv4, TCP, UDP and ICMP,
 * including its quirks, so that the two can be diffed (ndag.md section 16).
 * The text decoder therefore walks the bytes itself, bounded by the capture
 * length as libpacketdump is, instead of using sd_parse(): it has to show
 * fields (checksums, options, trailing bytes) that a parser does not keep.
 * JSON output and the -q summary use sd_parse().
 *
 * Tagged packets (CORSAROTAG records of an ndag: stream, tags.md 3) are
 * shown as libtrace's CORSAROTAG decoder shows them: capture length with
 * the 67 tag bytes, direction -1, " CorsaroTags:" lines, then the frame;
 * in JSON as a "tags" object.
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include <stardust/err.h>
#include <stardust/filterbits.h>
#include <stardust/ndag_recv.h>
#include <stardust/packet.h>
#include <stardust/parse.h>
#include <stardust/source.h>
#include <stardust/tag.h>

#include "common.h"

#define BATCH 256
/* Nesting limit for the text decoder (tunnels, ICMP quotes, label stacks). */
#define MAX_DEPTH 16

enum out_mode { OUT_TEXT, OUT_JSON };

/* Totals for the -q summary. */
struct summary {
    uint64_t packets, bytes, wire_bytes;
    uint64_t ipv4, ipv6, non_ip;
    uint64_t tcp, udp, icmp, icmp6, other;
    uint64_t fragments, truncated, malformed;
};

struct dump {
    sd_cli_out out;
    enum out_mode mode;
    int fcs_fixup;        /* pcap/pcapng: add 4 to Ethernet wire lengths, and
                             take the direction of Linux cooked frames from
                             the packet type (libtrace's view of pcap) */
    int dir_from_iface;   /* Direction Value = interface (ERF, nDAG) instead of -1 */
    int hex;              /* -x: the captured bytes too (text: hex dump; JSON: "data") */
    unsigned depth;       /* current text decoder nesting */
    int64_t time_sec;     /* the second time_str shows */
    char time_str[40];
    size_t time_len;
    char **tcp_svc;       /* service names by port, NULL if none */
    char **udp_svc;
    char *proto_name[256];
    struct summary sum;
    sd_ndag_recv *ndag;   /* ndag: source: records of the last read (tag header) */
    unsigned rec_hint;    /* index of the next record expected */
};

/* ================================================================ helpers */

static inline unsigned be16(const uint8_t *p)
{
    return (unsigned)p[0] << 8 | p[1];
}

static inline uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void out_mac(sd_cli_out *o, const uint8_t *m)
{
    for (int i = 0; i < 6; i++) {
        if (i)
            sd_cli_out_char(o, ':');
        sd_cli_out_hex2(o, m[i]);
    }
}

static void out_ip4(sd_cli_out *o, const uint8_t *a)
{
    for (int i = 0; i < 4; i++) {
        if (i)
            sd_cli_out_char(o, '.');
        sd_cli_out_u64(o, a[i]);
    }
}

static void out_ip6(sd_cli_out *o, const uint8_t *a)
{
    char s[INET6_ADDRSTRLEN];
    if (inet_ntop(AF_INET6, a, s, sizeof s) == NULL)
        strcpy(s, "?");
    sd_cli_out_str(o, s);
}

static void out_hex4(sd_cli_out *o, unsigned v)
{
    sd_cli_out_hex2(o, (v >> 8) & 0xff);
    sd_cli_out_hex2(o, v & 0xff);
}

/* %x without padding. */
static void out_hex(sd_cli_out *o, uint32_t v)
{
    static const char hex[] = "0123456789abcdef";
    char t[8];
    size_t i = sizeof t;
    do {
        t[--i] = hex[v & 15];
        v >>= 4;
    } while (v);
    sd_cli_out_mem(o, t + i, sizeof t - i);
}

/* Names from /etc/services and /etc/protocols, loaded once: glibc rereads
 * the file on every getservbyport() call, far too slow per packet. The
 * first entry for a port wins, as with getservbyport(). */
static int load_names(struct dump *d)
{
    d->tcp_svc = calloc(65536, sizeof *d->tcp_svc);
    d->udp_svc = calloc(65536, sizeof *d->udp_svc);
    if (d->tcp_svc == NULL || d->udp_svc == NULL)
        return -1;
    setservent(1);
    struct servent *se;
    while ((se = getservent()) != NULL) {
        unsigned port = ntohs((uint16_t)se->s_port);
        char **tab = NULL;
        if (strcmp(se->s_proto, "tcp") == 0)
            tab = d->tcp_svc;
        else if (strcmp(se->s_proto, "udp") == 0)
            tab = d->udp_svc;
        if (tab != NULL && port < 65536 && tab[port] == NULL) {
            tab[port] = strdup(se->s_name);
            if (tab[port] == NULL)
                return -1;
        }
    }
    endservent();
    setprotoent(1);
    struct protoent *pe;
    while ((pe = getprotoent()) != NULL) {
        if (pe->p_proto >= 0 && pe->p_proto < 256 && d->proto_name[pe->p_proto] == NULL) {
            d->proto_name[pe->p_proto] = strdup(pe->p_name);
            if (d->proto_name[pe->p_proto] == NULL)
                return -1;
        }
    }
    endprotoent();
    return 0;
}

static void free_names(struct dump *d)
{
    for (unsigned i = 0; d->tcp_svc && i < 65536; i++)
        free(d->tcp_svc[i]);
    for (unsigned i = 0; d->udp_svc && i < 65536; i++)
        free(d->udp_svc[i]);
    for (unsigned i = 0; i < 256; i++)
        free(d->proto_name[i]);
    free(d->tcp_svc);
    free(d->udp_svc);
}

/* ================================================================ text decoder
 *
 * Each decoder gets the bytes of its header onwards and len = bytes left in
 * the capture, which may be negative when an outer header claimed more than
 * was captured (shown as nothing, like libpacketdump's empty hex dump).
 * Lines and truncation markers follow libpacketdump: "(Truncated)" where its
 * field macros give up, "[|Truncated]" in the Ethernet decoder and in the
 * decoders stardust adds (VLAN, MPLS, IPv6, ARP, cooked and loopback links).
 */

static void text_ethertype(struct dump *d, unsigned type, const uint8_t *p, long len);
static void text_ipproto(struct dump *d, unsigned proto, const uint8_t *p, long len);
static void text_ethernet(struct dump *d, const uint8_t *p, long len);

/* libpacketdump's hex dump: per 16 bytes, "\n " then " xx" per byte (three
 * spaces past the end), four spaces, then the printable bytes with '.' for
 * others (three spaces past the end); one final newline. */
static void hexdump(sd_cli_out *o, const uint8_t *p, long len)
{
    for (long i = 0; i < len; i += 16) {
        char line[2 + 16 * 3 + 4 + 16 * 3];
        size_t n = 0;
        line[n++] = '\n';
        line[n++] = ' ';
        for (long j = 0; j < 16; j++) {
            if (i + j < len) {
                static const char hex[] = "0123456789abcdef";
                line[n++] = ' ';
                line[n++] = hex[p[i + j] >> 4];
                line[n++] = hex[p[i + j] & 15];
            } else {
                memcpy(line + n, "   ", 3);
                n += 3;
            }
        }
        memcpy(line + n, "    ", 4);
        n += 4;
        for (long j = 0; j < 16; j++) {
            if (i + j < len) {
                uint8_t c = p[i + j];
                line[n++] = (c >= 0x20 && c < 0x7f) ? (char)c : '.';
            } else {
                memcpy(line + n, "   ", 3);
                n += 3;
            }
        }
        sd_cli_out_mem(o, line, n);
    }
    sd_cli_out_char(o, '\n');
}

/* What libpacketdump prints for bytes no decoder claims. */
static void text_unknown(struct dump *d, const char *ns, unsigned type, const uint8_t *p,
                         long len)
{
    sd_cli_out *o = &d->out;
    sd_cli_out_str(o, "unknown protocol ");
    sd_cli_out_str(o, ns);
    sd_cli_out_char(o, '/');
    sd_cli_out_u64(o, type);
    sd_cli_out_str(o, "\n Unknown Protocol: ");
    sd_cli_out_u64(o, type);
    hexdump(o, p, len);
}

static void trunc_paren(sd_cli_out *o)
{
    sd_cli_out_str(o, "(Truncated)\n");
}

static void text_port(struct dump *d, const char *label, unsigned port, char *const *names)
{
    sd_cli_out *o = &d->out;
    sd_cli_out_str(o, label);
    sd_cli_out_u64(o, port);
    if (names != NULL && names[port] != NULL) {
        sd_cli_out_str(o, " (");
        sd_cli_out_str(o, names[port]);
        sd_cli_out_char(o, ')');
    }
}

static void text_ipv4(struct dump *d, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    unsigned hl = 0;
    if (len >= 1) {
        hl = (p[0] & 15u) * 4;
        sd_cli_out_str(o, " IP: Header Len ");
        sd_cli_out_u64(o, hl);
        sd_cli_out_str(o, " Ver ");
        sd_cli_out_u64(o, p[0] >> 4);
    }
    if (len < 2)
        goto trunc;
    sd_cli_out_str(o, " DSCP ");
    sd_cli_out_hex2(o, p[1] >> 2);
    /* libpacketdump prints tos & 0x2 here, so ECN is shown as 0 or 2. */
    sd_cli_out_str(o, " ECN ");
    sd_cli_out_char(o, (p[1] & 2) ? '2' : '0');
    if (len < 4)
        goto trunc;
    sd_cli_out_str(o, " Total Length ");
    sd_cli_out_u64(o, be16(p + 2));
    sd_cli_out_str(o, "\n IP:");
    if (len < 6)
        goto trunc;
    sd_cli_out_str(o, " Id ");
    sd_cli_out_u64(o, be16(p + 4));
    if (len < 8)
        goto trunc;
    unsigned off = be16(p + 6);
    sd_cli_out_str(o, " Fragoff ");
    sd_cli_out_u64(o, off & 0x1fff);
    if (off & 0x2000)
        sd_cli_out_str(o, " MORE_FRAG");
    if (off & 0x4000)
        sd_cli_out_str(o, " DONT_FRAG");
    if (off & 0x8000)
        sd_cli_out_str(o, " RESV_FRAG");
    if (len < 9)
        goto trunc;
    sd_cli_out_str(o, "\n IP: TTL ");
    sd_cli_out_u64(o, p[8]);
    if (len < 10) {
        sd_cli_out_char(o, '\n');
        return;
    }
    sd_cli_out_str(o, " Proto ");
    sd_cli_out_u64(o, p[9]);
    if (d->proto_name[p[9]] != NULL) {
        sd_cli_out_str(o, " (");
        sd_cli_out_str(o, d->proto_name[p[9]]);
        sd_cli_out_char(o, ')');
    }
    if (len < 12)
        goto trunc;
    sd_cli_out_str(o, " Checksum ");
    sd_cli_out_u64(o, be16(p + 10));
    sd_cli_out_char(o, '\n');
    if (len < 16)
        goto trunc;
    sd_cli_out_str(o, " IP: Source ");
    out_ip4(o, p + 12);
    sd_cli_out_char(o, ' ');
    if (len < 20)
        goto trunc;
    sd_cli_out_str(o, "Destination ");
    out_ip4(o, p + 16);
    sd_cli_out_char(o, '\n');
    /* Like libpacketdump: the next header starts IHL*4 bytes in, whatever
     * the IHL says. */
    text_ipproto(d, p[9], p + hl, len - (long)hl);
    return;
trunc:
    trunc_paren(o);
}

static void text_tcp(struct dump *d, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    const uint8_t *end = p + (len > 0 ? len : 0);
    sd_cli_out_str(o, " TCP:");
    if (len < 2) {
        sd_cli_out_char(o, '\n');
        return;
    }
    unsigned sport = be16(p);
    text_port(d, " Source ", sport, d->tcp_svc);
    if (len < 4) {
        sd_cli_out_char(o, '\n');
        return;
    }
    unsigned dport = be16(p + 2);
    text_port(d, " Dest ", dport, d->tcp_svc);
    sd_cli_out_str(o, "\n TCP:");
    if (len < 8)
        goto trunc;
    sd_cli_out_str(o, " Seq ");
    sd_cli_out_u64(o, be32(p + 4));
    sd_cli_out_str(o, "\n TCP:");
    if (len < 12)
        goto trunc;
    sd_cli_out_str(o, " Ack ");
    sd_cli_out_u64(o, be32(p + 8));
    if (len < 14) {
        sd_cli_out_char(o, '\n');
        return;
    }
    unsigned doff4 = (p[12] >> 4) * 4u;
    sd_cli_out_str(o, "\n TCP: DOFF ");
    sd_cli_out_u64(o, p[12] >> 4);
    sd_cli_out_str(o, " Flags:");
    if (p[12] & 0x01)
        sd_cli_out_str(o, " ECN_NS");
    if (p[13] & 0x80)
        sd_cli_out_str(o, " CWR");
    if (p[13] & 0x40)
        sd_cli_out_str(o, " ECE");
    if (p[13] & 0x01)
        sd_cli_out_str(o, " FIN");
    if (p[13] & 0x02)
        sd_cli_out_str(o, " SYN");
    if (p[13] & 0x04)
        sd_cli_out_str(o, " RST");
    if (p[13] & 0x08)
        sd_cli_out_str(o, " PSH");
    if (p[13] & 0x10)
        sd_cli_out_str(o, " ACK");
    if (p[13] & 0x20)
        sd_cli_out_str(o, " URG");
    if (len < 16)
        goto trunc;
    sd_cli_out_str(o, " Window ");
    sd_cli_out_u64(o, be16(p + 14));
    sd_cli_out_str(o, "\n TCP:");
    if (len < 18)
        goto trunc;
    sd_cli_out_str(o, " Checksum ");
    sd_cli_out_u64(o, be16(p + 16));
    if (len < 20)
        goto trunc;
    sd_cli_out_str(o, " Urgent ");
    sd_cli_out_u64(o, be16(p + 18));

    /* Options: the captured part of the option area; with DOFF < 5
     * libpacketdump's unsigned arithmetic makes that all captured bytes
     * after the fixed header. Parsing stops at EOL, at a length below 2 and
     * at a length past the area (libtrace's trace_get_next_option()). */
    long plen = len - 20;
    if (doff4 >= 20 && (long)doff4 - 20 < plen)
        plen = (long)doff4 - 20;
    const uint8_t *q = p + 20;
    while (plen > 0) {
        unsigned type = q[0];
        if (type == 0)
            break;
        if (type == 1) {
            sd_cli_out_str(o, "\n TCP: NOP");
            q++;
            plen--;
            continue;
        }
        if (q + 2 > end)
            break;
        unsigned optlen = q[1];
        if (optlen < 2 || (long)optlen > plen)
            break;
        const uint8_t *data = q + 2;
        plen -= optlen;
        q += optlen;
        sd_cli_out_str(o, "\n TCP: ");
        switch (type) {
        case 2:
            sd_cli_out_str(o, "MSS ");
            sd_cli_out_u64(o, data + 2 <= end ? be16(data) : 0);
            break;
        case 3:
            sd_cli_out_str(o, "Winscale ");
            sd_cli_out_u64(o, data + 1 <= end ? data[0] : 0);
            break;
        case 4:
            sd_cli_out_str(o, "SACK");
            break;
        case 5:
            sd_cli_out_str(o, "SACK Information");
            for (unsigned i = 0; i + 8 < optlen && data + i + 8 <= end; i += 8) {
                sd_cli_out_str(o, "\n TCP:  ");
                sd_cli_out_u64(o, be32(data + i));
                sd_cli_out_char(o, '-');
                sd_cli_out_u64(o, be32(data + i + 4));
            }
            break;
        case 8:
            sd_cli_out_str(o, "Timestamp ");
            sd_cli_out_u64(o, data + 4 <= end ? be32(data) : 0);
            sd_cli_out_char(o, ' ');
            sd_cli_out_u64(o, data + 8 <= end ? be32(data + 4) : 0);
            break;
        default:
            sd_cli_out_str(o, "Unknown option ");
            sd_cli_out_u64(o, type);
        }
    }
    sd_cli_out_char(o, '\n');
    /* libpacketdump names the payload after the lower of the two ports. */
    text_unknown(d, "tcp", sport < dport ? sport : dport, p + doff4, len - (long)doff4);
    return;
trunc:
    trunc_paren(o);
}

static void text_udp(struct dump *d, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    sd_cli_out_str(o, " UDP:");
    if (len < 2) {
        sd_cli_out_char(o, '\n');
        return;
    }
    unsigned sport = be16(p);
    text_port(d, " Source ", sport, d->udp_svc);
    if (len < 4) {
        sd_cli_out_char(o, '\n');
        return;
    }
    unsigned dport = be16(p + 2);
    text_port(d, " Dest ", dport, d->udp_svc);
    sd_cli_out_str(o, "\n UDP:");
    if (len < 6)
        goto trunc;
    sd_cli_out_str(o, " Len ");
    sd_cli_out_u64(o, be16(p + 4));
    if (len < 8)
        goto trunc;
    sd_cli_out_str(o, " Checksum ");
    sd_cli_out_u64(o, be16(p + 6));
    sd_cli_out_char(o, '\n');
    text_unknown(d, "udp", sport < dport ? sport : dport, p + 8, len - 8);
    return;
trunc:
    trunc_paren(o);
}

static const char *const unreach_names[16] = {
    "Destination Network Unreachable",
    "Destination Host Unreachable",
    "Destination Protocol Unreachable",
    "Destination Port Unreachable",
    "Fragmentation Required And Dont Fragment Set",
    "Source Route Failed",
    "Destination Network Unknown",
    "Destination Host Unknown",
    "Source Host Isolated",
    "Destination Network Administratively Prohibited",
    "Destination Host Administratively Prohibited",
    "Destination Network Unreachable For Type Of Service",
    "Destination Host Unreachable For Type Of Service",
    "Communication Administratively Prohibited",
    "Host Precedence Violation",
    "Precedence Cutoff In Effect",
};

static void text_icmp_seq(sd_cli_out *o, const uint8_t *p, long len)
{
    if (len < 8)
        sd_cli_out_str(o, "(Truncated)\n");
    else {
        sd_cli_out_u64(o, be16(p + 6));
        sd_cli_out_char(o, '\n');
    }
}

static void text_icmp(struct dump *d, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    if (len < 1)
        return;
    sd_cli_out_str(o, " ICMP:");
    switch (p[0]) {
    case 0:
        sd_cli_out_str(o, " Type: 0 (ICMP Echo Reply) Sequence: ");
        text_icmp_seq(o, p, len);
        break;
    case 3:
        sd_cli_out_str(o, " Type: 3 (ICMP Destination Unreachable)\n");
        if (len < 2)
            return;
        sd_cli_out_str(o, " ICMP: Code: ");
        sd_cli_out_u64(o, p[1]);
        sd_cli_out_str(o, " (");
        sd_cli_out_str(o, p[1] < 16 ? unreach_names[p[1]] : "Unknown");
        sd_cli_out_str(o, ")\n");
        /* The quoted datagram, decoded as if it came from Ethernet. */
        text_ethertype(d, 0x0800, p + 8, len - 8);
        break;
    case 8:
        sd_cli_out_str(o, " Type: 8 (ICMP Echo Request) Sequence: ");
        text_icmp_seq(o, p, len);
        break;
    case 11:
        sd_cli_out_str(o, " Type: 11 (ICMP TTL Exceeded)\n");
        text_ethertype(d, 0x0800, p + 8, len - 8);
        break;
    default:
        sd_cli_out_str(o, " Type: ");
        sd_cli_out_u64(o, p[0]);
        sd_cli_out_str(o, " (Unknown)\n");
    }
    sd_cli_out_str(o, " ICMP: Checksum: ");
    if (len < 8)
        sd_cli_out_str(o, "(Truncated)\n");
    else {
        sd_cli_out_u64(o, be16(p + 2));
        sd_cli_out_char(o, '\n');
    }
}

/* ICMPv6 in the layout of libpacketdump's ip_58.protocol description. */
static void text_icmp6(struct dump *d, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    if (len < 1)
        goto trunc;
    sd_cli_out_str(o, " ICMP6: Type ");
    sd_cli_out_u64(o, p[0]);
    sd_cli_out_char(o, '\n');
    if (len < 2)
        goto trunc;
    sd_cli_out_str(o, " ICMP6: Code ");
    sd_cli_out_u64(o, p[1]);
    sd_cli_out_char(o, '\n');
    if (len < 4)
        goto trunc;
    sd_cli_out_str(o, " ICMP6: Checksum 0x");
    out_hex(o, be16(p + 2));
    sd_cli_out_char(o, '\n');
    text_unknown(d, "icmp6", p[0], p + 4, len - 4);
    return;
trunc:
    sd_cli_out_str(o, " [Truncated]\n");
}

static void text_ipv6(struct dump *d, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    if (len < 4)
        goto trunc;
    uint32_t w = be32(p);
    sd_cli_out_str(o, " IPv6: Version ");
    sd_cli_out_u64(o, w >> 28);
    sd_cli_out_str(o, "\n IPv6: Class ");
    sd_cli_out_u64(o, (w >> 20) & 0xff);
    sd_cli_out_str(o, "\n IPv6: Flow Label ");
    sd_cli_out_u64(o, w & 0xfffff);
    sd_cli_out_char(o, '\n');
    if (len < 8)
        goto trunc;
    sd_cli_out_str(o, " IPv6: Payload Length ");
    sd_cli_out_u64(o, be16(p + 4));
    sd_cli_out_str(o, "\n IPv6: Next Header ");
    sd_cli_out_u64(o, p[6]);
    sd_cli_out_str(o, "\n IPv6: Hop Limit ");
    sd_cli_out_u64(o, p[7]);
    sd_cli_out_char(o, '\n');
    if (len < 24)
        goto trunc;
    sd_cli_out_str(o, " IPv6: Source IP ");
    out_ip6(o, p + 8);
    sd_cli_out_char(o, '\n');
    if (len < 40)
        goto trunc;
    sd_cli_out_str(o, " IPv6: Destination IP ");
    out_ip6(o, p + 24);
    sd_cli_out_char(o, '\n');
    text_ipproto(d, p[6], p + 40, len - 40);
    return;
trunc:
    sd_cli_out_str(o, " IPv6: [|Truncated]\n");
}

/* Hop-by-hop (0), routing (43) and destination options (60) headers. */
static void text_ip6ext(struct dump *d, unsigned type, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    const char *name = type == 0 ? " IPv6 Hop-by-Hop:"
                       : type == 43 ? " IPv6 Routing Header:"
                                    : " IPv6 Destination Options:";
    sd_cli_out_str(o, name);
    if (len < 2) {
        sd_cli_out_str(o, " [|Truncated]\n");
        return;
    }
    sd_cli_out_str(o, " Next Header ");
    sd_cli_out_u64(o, p[0]);
    sd_cli_out_str(o, " Header Ext Len ");
    sd_cli_out_u64(o, p[1]);
    sd_cli_out_char(o, '\n');
    if (type == 43) {
        sd_cli_out_str(o, name);
        if (len < 4) {
            sd_cli_out_str(o, " [|Truncated]\n");
            return;
        }
        sd_cli_out_str(o, " Routing Type ");
        sd_cli_out_u64(o, p[2]);
        sd_cli_out_str(o, " Segments Left ");
        sd_cli_out_u64(o, p[3]);
        sd_cli_out_char(o, '\n');
    }
    long hlen = (p[1] + 1L) * 8;
    text_ipproto(d, p[0], p + (hlen < len ? hlen : len), len - hlen);
}

static void text_ip6frag(struct dump *d, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    if (len < 8) {
        sd_cli_out_str(o, " IPv6 Frag: [|Truncated]\n");
        return;
    }
    unsigned off = be16(p + 2);
    sd_cli_out_str(o, " IPv6 Frag: Next Header: ");
    sd_cli_out_u64(o, p[0]);
    sd_cli_out_str(o, "\n IPv6 Frag: Offset: ");
    sd_cli_out_u64(o, off & 0xfff8);
    if (off & 1)
        sd_cli_out_str(o, " MORE_FRAG");
    sd_cli_out_str(o, "\n IPv6 Frag: Identification: ");
    sd_cli_out_u64(o, be32(p + 4));
    sd_cli_out_char(o, '\n');
    /* Later fragments carry no next header to decode. */
    if ((off & 0xfff8) == 0)
        text_ipproto(d, p[0], p + 8, len - 8);
}

static void text_vlan(struct dump *d, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    if (len < 1)
        goto trunc;
    sd_cli_out_str(o, " VLAN: User Priority: ");
    sd_cli_out_u64(o, p[0] >> 5);
    sd_cli_out_str(o, "\n VLAN: Format Indicator: ");
    sd_cli_out_u64(o, (p[0] >> 4) & 1);
    sd_cli_out_char(o, '\n');
    if (len < 2)
        goto trunc;
    sd_cli_out_str(o, " VLAN: ID: ");
    sd_cli_out_u64(o, be16(p) & 0xfff);
    sd_cli_out_char(o, '\n');
    if (len < 4)
        goto trunc;
    sd_cli_out_str(o, " VLAN: EtherType: 0x");
    out_hex4(o, be16(p + 2));
    sd_cli_out_char(o, '\n');
    text_ethertype(d, be16(p + 2), p + 4, len - 4);
    return;
trunc:
    sd_cli_out_str(o, " VLAN: [|Truncated]\n");
}

static void text_mpls(struct dump *d, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    if (len < 4) {
        sd_cli_out_str(o, " MPLS: [|Truncated]\n");
        return;
    }
    uint32_t e = be32(p);
    sd_cli_out_str(o, " MPLS: Label: ");
    sd_cli_out_u64(o, e >> 12);
    sd_cli_out_str(o, "\n MPLS: Class of service: ");
    sd_cli_out_u64(o, (e >> 9) & 7);
    sd_cli_out_str(o, "\n MPLS: Stack: ");
    sd_cli_out_str(o, (e & 0x100) ? "Last" : "More");
    sd_cli_out_str(o, "\n MPLS: TTL: ");
    sd_cli_out_u64(o, e & 0xff);
    sd_cli_out_char(o, '\n');
    p += 4;
    len -= 4;
    if (!(e & 0x100)) {
        text_ethertype(d, 0x8847, p, len);
        return;
    }
    if (len < 1)
        return;
    /* MPLS does not say what it carries: guess from the first nibble, as
     * libpacketdump does; 0 is a pseudowire control word before Ethernet. */
    switch (p[0] >> 4) {
    case 4:
        text_ethertype(d, 0x0800, p, len);
        break;
    case 6:
        text_ethertype(d, 0x86dd, p, len);
        break;
    case 0:
        if (len < 4) {
            sd_cli_out_str(o, " MPLS: [|Truncated]\n");
            return;
        }
        sd_cli_out_str(o, " MPLS: PW Control Word: 0x");
        out_hex4(o, be16(p));
        out_hex4(o, be16(p + 2));
        sd_cli_out_char(o, '\n');
        text_ethernet(d, p + 4, len - 4);
        break;
    default:
        text_ethernet(d, p, len);
    }
}

static void text_arp(struct dump *d, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    if (len < 8) {
        sd_cli_out_str(o, " ARP: [|Truncated]\n");
        return;
    }
    unsigned hrd = be16(p), pro = be16(p + 2), hln = p[4], pln = p[5], op = be16(p + 6);
    if (hrd == 1 && pro == 0x0800 && hln == 6 && pln == 4) {
        if (len < 28) {
            sd_cli_out_str(o, " ARP: [|Truncated]\n");
            return;
        }
        const uint8_t *sha = p + 8, *spa = p + 14, *tha = p + 18, *tpa = p + 24;
        if (op == 1) {
            sd_cli_out_str(o, " ARP: Who-has ");
            out_ip4(o, tpa);
            sd_cli_out_str(o, " please tell ");
            out_ip4(o, spa);
            sd_cli_out_str(o, " (");
            out_mac(o, sha);
            sd_cli_out_str(o, ")\n");
        } else if (op == 2) {
            sd_cli_out_str(o, " ARP: Reply ");
            out_ip4(o, spa);
            sd_cli_out_str(o, " is-at ");
            out_mac(o, sha);
            sd_cli_out_char(o, '\n');
        } else {
            sd_cli_out_str(o, " ARP: Opcode ");
            sd_cli_out_u64(o, op);
            sd_cli_out_str(o, " from ");
            out_ip4(o, spa);
            sd_cli_out_str(o, " (");
            out_mac(o, sha);
            sd_cli_out_str(o, ") to ");
            out_ip4(o, tpa);
            sd_cli_out_str(o, " (");
            out_mac(o, tha);
            sd_cli_out_str(o, ")\n");
        }
        return;
    }
    sd_cli_out_str(o, " ARP: Hardware ");
    sd_cli_out_u64(o, hrd);
    sd_cli_out_str(o, " Protocol 0x");
    out_hex4(o, pro);
    sd_cli_out_str(o, " Opcode ");
    sd_cli_out_u64(o, op);
    sd_cli_out_char(o, '\n');
}

/* libpacketdump's "eth" decoders, keyed by EtherType. */
static void text_ethertype(struct dump *d, unsigned type, const uint8_t *p, long len)
{
    if (len < 0)
        len = 0;
    if (d->depth >= MAX_DEPTH) {
        text_unknown(d, "eth", type, p, len);
        return;
    }
    d->depth++;
    switch (type) {
    case 0x0800: text_ipv4(d, p, len); break;
    case 0x86dd: text_ipv6(d, p, len); break;
    case 0x0806: text_arp(d, p, len); break;
    case 0x8100:
    case 0x88a8:
    case 0x9100: text_vlan(d, p, len); break;
    case 0x8847:
    case 0x8848: text_mpls(d, p, len); break;
    default: text_unknown(d, "eth", type, p, len);
    }
    d->depth--;
}

/* libpacketdump's "ip" decoders, keyed by protocol number. */
static void text_ipproto(struct dump *d, unsigned proto, const uint8_t *p, long len)
{
    if (len < 0)
        len = 0;
    if (d->depth >= MAX_DEPTH) {
        text_unknown(d, "ip", proto, p, len);
        return;
    }
    d->depth++;
    switch (proto) {
    case 1: text_icmp(d, p, len); break;
    case 6: text_tcp(d, p, len); break;
    case 17: text_udp(d, p, len); break;
    case 58: text_icmp6(d, p, len); break;
    case 0:
    case 43:
    case 60: text_ip6ext(d, proto, p, len); break;
    case 44: text_ip6frag(d, p, len); break;
    case 4: text_ipv4(d, p, len); break;
    case 41: text_ipv6(d, p, len); break;
    default: text_unknown(d, "ip", proto, p, len);
    }
    d->depth--;
}

static void text_ethernet(struct dump *d, const uint8_t *p, long len)
{
    sd_cli_out *o = &d->out;
    sd_cli_out_str(o, " Ethernet:");
    if (len < 6)
        goto trunc;
    sd_cli_out_str(o, " Dest: ");
    out_mac(o, p);
    if (len < 12)
        goto trunc;
    sd_cli_out_str(o, " Source: ");
    out_mac(o, p + 6);
    if (len < 14)
        goto trunc;
    sd_cli_out_str(o, " Ethertype: 0x");
    out_hex4(o, be16(p + 12));
    sd_cli_out_char(o, '\n');
    text_ethertype(d, be16(p + 12), p + 14, len - 14);
    return;
trunc:
    sd_cli_out_str(o, "[|Truncated]\n");
}

static const char *sll_pkttype(unsigned t)
{
    switch (t) {
    case 0: return "host";
    case 1: return "broadcast";
    case 2: return "multicast";
    case 3: return "otherhost";
    case 4: return "outgoing";
    default: return "unknown";
    }
}

static void text_sll_addr(sd_cli_out *o, const uint8_t *a, unsigned n)
{
    if (n > 8)
        n = 8;
    for (unsigned i = 0; i < n; i++) {
        if (i)
            sd_cli_out_char(o, ':');
        sd_cli_out_hex2(o, a[i]);
    }
}

/* The payload of a cooked or loopback header: an EtherType, or for the
 * cooked "protocols" below 0x0600 (802.2 frames and the like) a dump. */
static void text_after_cooked(struct dump *d, unsigned proto, const uint8_t *p, long len)
{
    if (proto >= 0x0600)
        text_ethertype(d, proto, p, len);
    else
        text_unknown(d, "sll", proto, p, len);
}

static void text_link(struct dump *d, const sd_packet *pkt)
{
    sd_cli_out *o = &d->out;
    const uint8_t *p = pkt->data;
    long len = pkt->caplen;
    switch (pkt->linktype) {
    case SD_LINK_ETHERNET:
        text_ethernet(d, p, len);
        break;
    case SD_LINK_RAW:
        if (len >= 1 && (p[0] >> 4) == 6)
            text_ethertype(d, 0x86dd, p, len);
        else if (len >= 1 && (p[0] >> 4) == 4)
            text_ethertype(d, 0x0800, p, len);
        else
            text_unknown(d, "link", pkt->linktype, p, len);
        break;
    case SD_LINK_IPV4:
        text_ethertype(d, 0x0800, p, len);
        break;
    case SD_LINK_IPV6:
        text_ethertype(d, 0x86dd, p, len);
        break;
    case SD_LINK_NULL:
    case SD_LINK_LOOP: {
        sd_cli_out_str(o, " Loopback:");
        if (len < 4) {
            sd_cli_out_str(o, " [|Truncated]\n");
            break;
        }
        uint32_t fam = be32(p);
        /* DLT_NULL stores the family in the capturing host's byte order. */
        if (pkt->linktype == SD_LINK_NULL && (fam & 0xffff0000u))
            fam = (fam >> 24) | ((fam >> 8) & 0xff00u) | ((fam << 8) & 0xff0000u) | (fam << 24);
        sd_cli_out_str(o, " Family ");
        sd_cli_out_u64(o, fam);
        sd_cli_out_char(o, '\n');
        if (fam == 2)
            text_ethertype(d, 0x0800, p + 4, len - 4);
        else if (fam == 10 || fam == 24 || fam == 28 || fam == 30)
            text_ethertype(d, 0x86dd, p + 4, len - 4);
        else
            text_unknown(d, "loopback", fam, p + 4, len - 4);
        break;
    }
    case SD_LINK_LINUX_SLL:
        sd_cli_out_str(o, " Linux SLL:");
        if (len < 16) {
            sd_cli_out_str(o, " [|Truncated]\n");
            break;
        }
        sd_cli_out_str(o, " Packet Type ");
        sd_cli_out_u64(o, be16(p));
        sd_cli_out_str(o, " (");
        sd_cli_out_str(o, sll_pkttype(be16(p)));
        sd_cli_out_str(o, ") Address Type ");
        sd_cli_out_u64(o, be16(p + 2));
        sd_cli_out_str(o, " Address ");
        text_sll_addr(o, p + 6, be16(p + 4));
        sd_cli_out_str(o, " Protocol 0x");
        out_hex4(o, be16(p + 14));
        sd_cli_out_char(o, '\n');
        text_after_cooked(d, be16(p + 14), p + 16, len - 16);
        break;
    case SD_LINK_LINUX_SLL2:
        sd_cli_out_str(o, " Linux SLL2:");
        if (len < 20) {
            sd_cli_out_str(o, " [|Truncated]\n");
            break;
        }
        sd_cli_out_str(o, " Protocol 0x");
        out_hex4(o, be16(p));
        sd_cli_out_str(o, " Interface ");
        sd_cli_out_u64(o, be32(p + 4));
        sd_cli_out_str(o, " Address Type ");
        sd_cli_out_u64(o, be16(p + 8));
        sd_cli_out_str(o, " Packet Type ");
        sd_cli_out_u64(o, p[10]);
        sd_cli_out_str(o, " (");
        sd_cli_out_str(o, sll_pkttype(p[10]));
        sd_cli_out_str(o, ") Address ");
        text_sll_addr(o, p + 12, p[11]);
        sd_cli_out_char(o, '\n');
        text_after_cooked(d, be16(p), p + 20, len - 20);
        break;
    default:
        text_unknown(d, "link", pkt->linktype, p, len);
    }
}

/* ctime()-style "Thu Sep 16 00:00:01 2004" in local time, once per second. */
static void text_time(struct dump *d, uint64_t ts)
{
    int64_t sec = (int64_t)(ts / 1000000000u);
    if (sec != d->time_sec || d->time_len == 0) {
        time_t t = (time_t)sec;
        struct tm tm;
        d->time_len = 0;
        if (localtime_r(&t, &tm) != NULL)
            d->time_len = strftime(d->time_str, sizeof d->time_str, "%a %b %e %H:%M:%S %Y\n", &tm);
        if (d->time_len == 0)
            d->time_len =
                (size_t)snprintf(d->time_str, sizeof d->time_str, "%lld\n", (long long)sec);
        d->time_sec = sec;
    }
    sd_cli_out_mem(&d->out, d->time_str, d->time_len);
}

/* libpacketdump's CORSAROTAG decoder (libtrace 4.0.34): geo lines only for
 * the providers that matched, two-letter codes as raw bytes, polygons up
 * to the first empty slot, and the four header filters spelled out, each
 * followed by a space. */
static void text_tags(struct dump *d, const sd_tags *t)
{
    sd_cli_out *o = &d->out;
    sd_cli_out_str(o, " CorsaroTags: Protocol: ");
    sd_cli_out_u64(o, t->protocol);
    sd_cli_out_str(o, "  Source Port: ");
    sd_cli_out_u64(o, t->src_port);
    sd_cli_out_str(o, "  Dest Port: ");
    sd_cli_out_u64(o, t->dest_port);
    sd_cli_out_str(o, "\n CorsaroTags: Flowtuple hash: ");
    sd_cli_out_u64(o, t->ft_hash);
    sd_cli_out_char(o, '\n');
    if (t->providers_used & SD_TAG_MAXMIND) {
        sd_cli_out_str(o, " CorsaroTags: Maxmind Continent: ");
        sd_cli_out_mem(o, t->maxmind_continent, 2);
        sd_cli_out_str(o, "   Country: ");
        sd_cli_out_mem(o, t->maxmind_country, 2);
        sd_cli_out_char(o, '\n');
    }
    if (t->providers_used & SD_TAG_NETACQ) {
        sd_cli_out_str(o, " CorsaroTags: Netacq-Edge Continent: ");
        sd_cli_out_mem(o, t->netacq_continent, 2);
        sd_cli_out_str(o, "   Country: ");
        sd_cli_out_mem(o, t->netacq_country, 2);
        sd_cli_out_str(o, "\n CorsaroTags: Netacq-Edge Region Code: ");
        sd_cli_out_u64(o, t->netacq_region);
        sd_cli_out_str(o, "\n CorsaroTags: Netacq-Edge Polygon Ids: ");
        for (int i = 0; i < 8 && (t->netacq_polygon[i] & 0xffffffu) != 0; i++) {
            sd_cli_out_u64(o, t->netacq_polygon[i] >> 24);
            sd_cli_out_char(o, ':');
            sd_cli_out_u64(o, t->netacq_polygon[i] & 0xffffffu);
            sd_cli_out_char(o, ' ');
        }
        sd_cli_out_char(o, '\n');
    }
    if (t->providers_used & SD_TAG_PFX2AS) {
        sd_cli_out_str(o, " CorsaroTags: Source ASN: ");
        sd_cli_out_u64(o, t->prefixasn);
        sd_cli_out_char(o, '\n');
    }
    uint64_t f = t->filterbits;
    sd_cli_out_str(o, " CorsaroTags: Filters: ");
    sd_cli_out_str(o, (f & SD_FB(SD_FILTER_SPOOFED)) ? "Spoofed " : "Not-Spoofed ");
    sd_cli_out_str(o, (f & SD_FB(SD_FILTER_ERRATIC)) ? "Erratic " : "Not-Erratic ");
    sd_cli_out_str(o, (f & SD_FB(SD_FILTER_ROUTED)) ? "Not-Routable " : "Routable ");
    if (f & SD_FB(SD_FILTER_LARGE_SCALE_SCAN))
        sd_cli_out_str(o, "LSScan ");
    sd_cli_out_char(o, '\n');
}

static void text_packet(struct dump *d, const sd_packet *pkt)
{
    sd_cli_out *o = &d->out;
    sd_cli_out_char(o, '\n');
    text_time(d, pkt->ts);
    if (pkt->tags != NULL) {
        /* libtrace exposes the tag block ahead of the frame: 67 more
         * captured bytes, no direction (ndag.md 9, 16). */
        sd_cli_out_str(o, " Capture: Packet Length: ");
        sd_cli_out_u64(o, (uint64_t)pkt->caplen + SD_TAG_BLOCK_LEN);
        sd_cli_out_char(o, '/');
        sd_cli_out_u64(o, pkt->wirelen);
        sd_cli_out_str(o, " Direction Value: -1\n");
        text_tags(d, pkt->tags);
        d->depth = 0;
        text_link(d, pkt);
        if (d->hex) {
            sd_cli_out_str(o, " Hex: ");
            sd_cli_out_u64(o, pkt->caplen);
            sd_cli_out_str(o, " bytes");
            hexdump(o, pkt->data, (long)pkt->caplen);
        }
        return;
    }
    sd_cli_out_str(o, " Capture: Packet Length: ");
    sd_cli_out_u64(o, pkt->caplen);
    sd_cli_out_char(o, '/');
    uint64_t wire = pkt->wirelen;
    if (d->fcs_fixup && pkt->linktype == SD_LINK_ETHERNET)
        wire += 4;
    sd_cli_out_u64(o, wire);
    sd_cli_out_str(o, " Direction Value: ");
    if (d->dir_from_iface)
        sd_cli_out_u64(o, pkt->iface & 3u);
    else if (d->fcs_fixup && pkt->linktype == SD_LINK_LINUX_SLL && pkt->caplen >= 2)
        /* libtrace's pcap direction: Linux cooked "outgoing" is 0, the rest 1 */
        sd_cli_out_char(o, be16(pkt->data) == 4 ? '0' : '1');
    else
        sd_cli_out_str(o, "-1");
    sd_cli_out_char(o, '\n');
    d->depth = 0;
    text_link(d, pkt);
    if (d->hex) {
        /* All captured bytes, whatever the decoders showed; no blank line
         * (blank lines separate packets). */
        sd_cli_out_str(o, " Hex: ");
        sd_cli_out_u64(o, pkt->caplen);
        sd_cli_out_str(o, " bytes");
        hexdump(o, pkt->data, (long)pkt->caplen);
    }
}

/* ================================================================ JSON */

static void json_ip4(sd_cli_out *o, const char *key, uint32_t host_order)
{
    uint8_t a[4] = {(uint8_t)(host_order >> 24), (uint8_t)(host_order >> 16),
                    (uint8_t)(host_order >> 8), (uint8_t)host_order};
    sd_cli_json_key(o, key);
    sd_cli_out_char(o, '"');
    out_ip4(o, a);
    sd_cli_out_char(o, '"');
}

static void json_ip6(sd_cli_out *o, const char *key, const uint8_t *a)
{
    sd_cli_json_key(o, key);
    sd_cli_out_char(o, '"');
    out_ip6(o, a);
    sd_cli_out_char(o, '"');
}

static void json_mac(sd_cli_out *o, const char *key, const uint8_t *m, unsigned n)
{
    sd_cli_json_key(o, key);
    sd_cli_out_char(o, '"');
    text_sll_addr(o, m, n);
    sd_cli_out_char(o, '"');
}

static void json_tcp_flags(sd_cli_out *o, unsigned f)
{
    static const char *const names[8] = {"FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR"};
    sd_cli_json_arr(o, "flags");
    for (unsigned i = 0; i < 8; i++)
        if (f & (1u << i))
            sd_cli_json_str(o, NULL, names[i]);
    sd_cli_json_arr_end(o);
}

/* The IP header an ICMP error quotes (addresses, protocol, ports). */
static void json_quote(sd_cli_out *o, const sd_packet *pkt, const sd_parsed *pr)
{
    if (!(pr->flags & SD_P_ICMP_QUOTE) || pr->inner_off >= pkt->caplen)
        return;
    const uint8_t *q = pkt->data + pr->inner_off;
    uint32_t qlen = pkt->caplen - pr->inner_off;
    sd_parsed in;
    (void)sd_parse_ip(q, qlen, &in);
    if (!(in.flags & (SD_P_IP4 | SD_P_IP6)))
        return;
    sd_cli_json_obj(o, "quote");
    if (in.flags & SD_P_IP4) {
        json_ip4(o, "src", in.src4);
        json_ip4(o, "dst", in.dst4);
    } else if (in.l3_off + 40u <= qlen) {
        json_ip6(o, "src", q + in.l3_off + 8);
        json_ip6(o, "dst", q + in.l3_off + 24);
    }
    sd_cli_json_u64(o, "proto", in.proto);
    if (in.flags & (SD_P_TCP | SD_P_UDP)) {
        sd_cli_json_u64(o, "sport", in.sport);
        sd_cli_json_u64(o, "dport", in.dport);
    }
    sd_cli_json_obj_end(o);
}

/* "key":"<lower-case hex of p[0..n)>", 64 bytes per write. */
static void json_hex(sd_cli_out *o, const char *key, const uint8_t *p, uint32_t n)
{
    static const char hex[] = "0123456789abcdef";
    char chunk[128];
    sd_cli_json_key(o, key);
    sd_cli_out_char(o, '"');
    for (uint32_t i = 0; i < n;) {
        size_t k = 0;
        for (; i < n && k < sizeof chunk; i++) {
            chunk[k++] = hex[p[i] >> 4];
            chunk[k++] = hex[p[i] & 15];
        }
        sd_cli_out_mem(o, chunk, k);
    }
    sd_cli_out_char(o, '"');
}

/* The nDAG record of pkt from the last read of an ndag: source (for the
 * tag header fields), or NULL. Packets come in record order, possibly
 * thinned by a filter, so the search usually succeeds at the hint. */
static const sd_ndag_record *find_record(struct dump *d, const sd_packet *pkt)
{
    if (d->ndag == NULL)
        return NULL;
    for (int pass = 0; pass < 2; pass++) {
        for (unsigned j = pass ? 0 : d->rec_hint;; j++) {
            const sd_ndag_record *r = sd_ndag_recv_record(d->ndag, 0, j, NULL);
            if (r == NULL || (pass && j >= d->rec_hint))
                break;
            if (&r->pkt == pkt) {
                d->rec_hint = j + 1;
                return r;
            }
        }
    }
    return NULL;
}

/* A two-letter code: its bytes up to the first NUL. */
static void json_code(sd_cli_out *o, const char *key, const char c[2])
{
    sd_cli_json_strn(o, key, c, c[0] == 0 ? 0 : c[1] == 0 ? 1 : 2);
}

static void json_filters(sd_cli_out *o, const char *key, uint64_t bits)
{
    sd_cli_json_arr(o, key);
    for (int i = 0; i < SD_FILTER_COUNT; i++)
        if (bits & SD_FB(i))
            sd_cli_json_str(o, NULL, sd_filter_name(i));
    sd_cli_json_arr_end(o);
}

/* "tags": every field of the tag block (tags.md 1), and from an nDAG
 * record the header's tagger_id, seqno and filter bits (tags.md 3.2). */
static void json_tags(struct dump *d, const sd_packet *pkt)
{
    static const char *const prov[4] = {"basic", "maxmind", "netacq", "pfx2as"};
    sd_cli_out *o = &d->out;
    const sd_tags *t = pkt->tags;
    sd_cli_json_obj(o, "tags");
    sd_cli_json_u64(o, "providers_used", t->providers_used);
    sd_cli_json_arr(o, "providers");
    for (unsigned i = 0; i < 4; i++)
        if (t->providers_used & (1u << i))
            sd_cli_json_str(o, NULL, prov[i]);
    sd_cli_json_arr_end(o);
    sd_cli_json_u64(o, "protocol", t->protocol);
    sd_cli_json_u64(o, "src_port", t->src_port);
    sd_cli_json_u64(o, "dest_port", t->dest_port);
    sd_cli_json_u64(o, "ft_hash", t->ft_hash);
    sd_cli_json_u64(o, "prefixasn", t->prefixasn);
    json_code(o, "maxmind_continent", t->maxmind_continent);
    json_code(o, "maxmind_country", t->maxmind_country);
    json_code(o, "netacq_continent", t->netacq_continent);
    json_code(o, "netacq_country", t->netacq_country);
    sd_cli_json_u64(o, "netacq_region", t->netacq_region);
    sd_cli_json_arr(o, "netacq_polygons");
    for (int i = 0; i < 8; i++) {
        /* Polygon 0 of table 1 is the word 0x01000000: a real entry
         * (tags.md 5.3); only all-zero words are unused slots. */
        if (t->netacq_polygon[i] == 0)
            continue;
        sd_cli_json_obj(o, NULL);
        sd_cli_json_u64(o, "table", t->netacq_polygon[i] >> 24);
        sd_cli_json_u64(o, "id", t->netacq_polygon[i] & 0xffffffu);
        sd_cli_json_obj_end(o);
    }
    sd_cli_json_arr_end(o);
    sd_cli_json_u64(o, "filterbits", t->filterbits);
    json_filters(o, "filters", t->filterbits);
    const sd_ndag_record *r = find_record(d, pkt);
    if (r != NULL && r->tag != NULL) {
        /* corsarotrace's view: the header bits (tags.md 2.2) */
        unsigned hb = be16(r->tag + 1);
        sd_cli_json_u64(o, "tagger_id", r->tagger_id);
        sd_cli_json_u64(o, "seqno", r->tagger_seqno);
        sd_cli_json_u64(o, "header_filterbits", hb);
        json_filters(o, "header_filters", hb & 0xfu);
    }
    sd_cli_json_obj_end(o);
}

static void json_packet(struct dump *d, const sd_packet *pkt, const sd_parsed *pr)
{
    sd_cli_out *o = &d->out;
    const uint8_t *p = pkt->data;
    uint32_t cap = pkt->caplen;
    char ts[32];

    sd_cli_json_begin(o);
    /* "seconds.nanoseconds", 9 digits after the point. */
    uint32_t ns = (uint32_t)(pkt->ts % 1000000000u);
    for (int i = 8; i >= 0; i--) {
        ts[i] = (char)('0' + ns % 10);
        ns /= 10;
    }
    sd_cli_json_key(o, "timestamp");
    sd_cli_out_char(o, '"');
    sd_cli_out_u64(o, pkt->ts / 1000000000u);
    sd_cli_out_char(o, '.');
    sd_cli_out_mem(o, ts, 9);
    sd_cli_out_char(o, '"');
    sd_cli_json_u64(o, "ts_ns", pkt->ts);
    sd_cli_json_u64(o, "caplen", pkt->caplen);
    sd_cli_json_u64(o, "wirelen", pkt->wirelen);
    sd_cli_json_u64(o, "linktype", pkt->linktype);
    sd_cli_json_u64(o, "iface", pkt->iface);
    if (pkt->flags)
        sd_cli_json_u64(o, "pktflags", pkt->flags);

    switch (pkt->linktype) {
    case SD_LINK_ETHERNET:
        if (cap >= 14) {
            sd_cli_json_obj(o, "eth");
            json_mac(o, "src", p + 6, 6);
            json_mac(o, "dst", p, 6);
            sd_cli_json_u64(o, "ethertype", be16(p + 12));
            sd_cli_json_obj_end(o);
        }
        break;
    case SD_LINK_LINUX_SLL:
        if (cap >= 16) {
            sd_cli_json_obj(o, "sll");
            sd_cli_json_u64(o, "pkttype", be16(p));
            sd_cli_json_u64(o, "hatype", be16(p + 2));
            json_mac(o, "addr", p + 6, be16(p + 4));
            sd_cli_json_u64(o, "protocol", be16(p + 14));
            sd_cli_json_obj_end(o);
        }
        break;
    case SD_LINK_LINUX_SLL2:
        if (cap >= 20) {
            sd_cli_json_obj(o, "sll");
            sd_cli_json_u64(o, "pkttype", p[10]);
            sd_cli_json_u64(o, "hatype", be16(p + 8));
            json_mac(o, "addr", p + 12, p[11]);
            sd_cli_json_u64(o, "protocol", be16(p));
            sd_cli_json_u64(o, "ifindex", be32(p + 4));
            sd_cli_json_obj_end(o);
        }
        break;
    default:
        break;
    }

    if (pr->flags & SD_P_VLAN) {
        unsigned n = pr->n_vlan < SD_PARSE_MAX_VLAN ? pr->n_vlan : SD_PARSE_MAX_VLAN;
        sd_cli_json_arr(o, "vlan");
        for (unsigned i = 0; i < n; i++) {
            sd_cli_json_obj(o, NULL);
            sd_cli_json_u64(o, "id", pr->vlan[i] & 0xfffu);
            sd_cli_json_u64(o, "pcp", pr->vlan[i] >> 13);
            sd_cli_json_u64(o, "dei", (pr->vlan[i] >> 12) & 1u);
            sd_cli_json_obj_end(o);
        }
        sd_cli_json_arr_end(o);
    }
    if (pr->flags & SD_P_MPLS) {
        unsigned n = pr->n_mpls < SD_PARSE_MAX_MPLS ? pr->n_mpls : SD_PARSE_MAX_MPLS;
        sd_cli_json_arr(o, "mpls");
        for (unsigned i = 0; i < n; i++) {
            uint32_t e = pr->mpls[i];
            sd_cli_json_obj(o, NULL);
            sd_cli_json_u64(o, "label", e >> 12);
            sd_cli_json_u64(o, "tc", (e >> 9) & 7u);
            sd_cli_json_u64(o, "s", (e >> 8) & 1u);
            sd_cli_json_u64(o, "ttl", e & 0xffu);
            sd_cli_json_obj_end(o);
        }
        sd_cli_json_arr_end(o);
    }

    /* ARP (Ethernet/IPv4 only): the parser stops at the EtherType and says
     * where the payload starts. */
    if (!(pr->flags & (SD_P_IP4 | SD_P_IP6)) && pr->ethertype == 0x0806 && pr->l2_len > 0 &&
        pr->l2_len + 28u <= cap) {
        const uint8_t *a = p + pr->l2_len;
        if (be16(a) == 1 && be16(a + 2) == 0x0800 && a[4] == 6 && a[5] == 4) {
            sd_cli_json_obj(o, "arp");
            sd_cli_json_u64(o, "op", be16(a + 6));
            json_mac(o, "sha", a + 8, 6);
            json_ip4(o, "spa", be32(a + 14));
            json_mac(o, "tha", a + 18, 6);
            json_ip4(o, "tpa", be32(a + 24));
            sd_cli_json_obj_end(o);
        }
    }

    const uint8_t *l3 = p + pr->l3_off;
    if (pr->flags & SD_P_IP4) {
        sd_cli_json_obj(o, "ipv4");
        json_ip4(o, "src", pr->src4);
        json_ip4(o, "dst", pr->dst4);
        sd_cli_json_u64(o, "hlen", pr->ip_hl);
        sd_cli_json_u64(o, "tos", pr->tos);
        sd_cli_json_u64(o, "len", pr->ip_len);
        sd_cli_json_u64(o, "id", pr->ip_id);
        sd_cli_json_bool(o, "df", pr->ip_flags & 2);
        sd_cli_json_bool(o, "mf", pr->ip_flags & 1);
        sd_cli_json_u64(o, "frag_off", pr->frag_off);
        sd_cli_json_u64(o, "ttl", pr->ttl);
        sd_cli_json_u64(o, "proto", pr->proto);
        if (pr->l3_off + 12u <= cap)
            sd_cli_json_u64(o, "checksum", be16(l3 + 10));
        sd_cli_json_obj_end(o);
    } else if ((pr->flags & SD_P_IP6) && pr->l3_off + 40u <= cap) {
        sd_cli_json_obj(o, "ipv6");
        json_ip6(o, "src", l3 + 8);
        json_ip6(o, "dst", l3 + 24);
        sd_cli_json_u64(o, "tclass", pr->tos);
        sd_cli_json_u64(o, "flow", be32(l3) & 0xfffffu);
        sd_cli_json_u64(o, "plen", be16(l3 + 4));
        sd_cli_json_u64(o, "nxt", l3[6]);
        sd_cli_json_u64(o, "hlim", pr->ttl);
        sd_cli_json_u64(o, "hlen", pr->ip_hl);
        sd_cli_json_u64(o, "proto", pr->proto);
        if (pr->flags & SD_P_FRAG) {
            sd_cli_json_obj(o, "frag");
            sd_cli_json_u64(o, "off", pr->frag_off);
            sd_cli_json_bool(o, "mf", pr->ip_flags & 1);
            sd_cli_json_u64(o, "id", pr->ip6_frag_id);
            sd_cli_json_obj_end(o);
        }
        sd_cli_json_obj_end(o);
    }

    const uint8_t *l4 = p + pr->l4_off;
    if (pr->flags & SD_P_TCP) {
        sd_cli_json_obj(o, "tcp");
        sd_cli_json_u64(o, "sport", pr->sport);
        sd_cli_json_u64(o, "dport", pr->dport);
        sd_cli_json_u64(o, "seq", pr->tcp_seq);
        sd_cli_json_u64(o, "ack", pr->tcp_ack);
        sd_cli_json_u64(o, "hlen", pr->tcp_doff);
        json_tcp_flags(o, pr->tcp_flags);
        sd_cli_json_u64(o, "window", pr->tcp_win);
        if (pr->l4_off + 18u <= cap)
            sd_cli_json_u64(o, "checksum", be16(l4 + 16));
        sd_cli_json_obj_end(o);
    } else if (pr->flags & SD_P_UDP) {
        sd_cli_json_obj(o, "udp");
        sd_cli_json_u64(o, "sport", pr->sport);
        sd_cli_json_u64(o, "dport", pr->dport);
        sd_cli_json_u64(o, "len", pr->udp_len);
        if (pr->l4_off + 8u <= cap)
            sd_cli_json_u64(o, "checksum", be16(l4 + 6));
        sd_cli_json_obj_end(o);
    } else if (pr->flags & (SD_P_ICMP | SD_P_ICMP6)) {
        sd_cli_json_obj(o, (pr->flags & SD_P_ICMP) ? "icmp" : "icmpv6");
        sd_cli_json_u64(o, "type", pr->icmp_type);
        sd_cli_json_u64(o, "code", pr->icmp_code);
        if (pr->l4_off + 4u <= cap)
            sd_cli_json_u64(o, "checksum", be16(l4 + 2));
        json_quote(o, pkt, pr);
        sd_cli_json_obj_end(o);
    }
    sd_cli_json_bool(o, "truncated", pr->flags & SD_P_TRUNCATED);
    sd_cli_json_bool(o, "malformed", pr->flags & SD_P_MALFORMED);
    if (pkt->tags != NULL)
        json_tags(d, pkt);
    if (d->hex)
        json_hex(o, "data", p, cap);
    sd_cli_json_end(o);
}

/* ================================================================ summary */

static void count_packet(struct summary *s, const sd_packet *pkt, const sd_parsed *pr)
{
    uint32_t f = pr->flags;
    s->packets++;
    s->bytes += pkt->caplen;
    s->wire_bytes += pkt->wirelen;
    if (f & SD_P_IP4)
        s->ipv4++;
    else if (f & SD_P_IP6)
        s->ipv6++;
    else
        s->non_ip++;
    if (f & SD_P_TCP)
        s->tcp++;
    else if (f & SD_P_UDP)
        s->udp++;
    else if (f & SD_P_ICMP)
        s->icmp++;
    else if (f & SD_P_ICMP6)
        s->icmp6++;
    else if (f & (SD_P_IP4 | SD_P_IP6))
        s->other++;
    if (f & SD_P_FRAG)
        s->fragments++;
    if (f & SD_P_TRUNCATED)
        s->truncated++;
    if (f & SD_P_MALFORMED)
        s->malformed++;
}

static const struct {
    const char *name;
    size_t off;
} summary_fields[] = {
    {"packets", offsetof(struct summary, packets)},
    {"bytes", offsetof(struct summary, bytes)},
    {"wire_bytes", offsetof(struct summary, wire_bytes)},
    {"ipv4", offsetof(struct summary, ipv4)},
    {"ipv6", offsetof(struct summary, ipv6)},
    {"non_ip", offsetof(struct summary, non_ip)},
    {"tcp", offsetof(struct summary, tcp)},
    {"udp", offsetof(struct summary, udp)},
    {"icmp", offsetof(struct summary, icmp)},
    {"icmpv6", offsetof(struct summary, icmp6)},
    {"other", offsetof(struct summary, other)},
    {"fragments", offsetof(struct summary, fragments)},
    {"truncated", offsetof(struct summary, truncated)},
    {"malformed", offsetof(struct summary, malformed)},
};

static uint64_t summary_get(const struct summary *s, size_t off)
{
    uint64_t v;
    memcpy(&v, (const char *)s + off, sizeof v);
    return v;
}

static void print_summary(struct dump *d)
{
    sd_cli_out *o = &d->out;
    size_t n = sizeof summary_fields / sizeof summary_fields[0];
    if (d->mode == OUT_JSON) {
        sd_cli_json_begin(o);
        for (size_t i = 0; i < n; i++)
            sd_cli_json_u64(o, summary_fields[i].name, summary_get(&d->sum, summary_fields[i].off));
        sd_cli_json_end(o);
        return;
    }
    for (size_t i = 0; i < n; i++)
        sd_cli_out_printf(o, "%-11s %llu\n", summary_fields[i].name,
                          (unsigned long long)summary_get(&d->sum, summary_fields[i].off));
}

/* excluded: packets removed by --drop, shown only when it is given
 * (NULL otherwise), so the line stays the same without it. */
static void print_stats(const sd_source *src, enum out_mode mode, const sd_cli_drop *drop)
{
    sd_source_stats st;
    memset(&st, 0, sizeof st);
    st.size = sizeof st;
    if (sd_source_get_stats(src, &st) != 0)
        return;
    if (mode == OUT_JSON) {
        sd_cli_out o;
        if (sd_cli_out_init(&o, stderr, 4096) != 0)
            return;
        sd_cli_json_begin(&o);
        sd_cli_json_str(&o, "uri", sd_source_uri(src));
        sd_cli_json_str(&o, "format", sd_source_format(src));
        sd_cli_json_u64(&o, "packets", st.packets);
        sd_cli_json_u64(&o, "bytes", st.bytes);
        sd_cli_json_u64(&o, "wire_bytes", st.wire_bytes);
        sd_cli_json_u64(&o, "filtered", st.filtered);
        sd_cli_json_u64(&o, "skipped", st.skipped);
        sd_cli_json_u64(&o, "malformed", st.malformed);
        sd_cli_json_u64(&o, "dropped", st.dropped);
        if (drop->mask != 0)
            sd_cli_json_u64(&o, "excluded", drop->dropped);
        sd_cli_json_end(&o);
        sd_cli_out_close(&o);
        return;
    }
    fprintf(stderr,
            "%s: %s: packets %llu bytes %llu wire_bytes %llu filtered %llu skipped %llu "
            "malformed %llu dropped %llu",
            sd_cli_prog(), sd_source_uri(src), (unsigned long long)st.packets,
            (unsigned long long)st.bytes, (unsigned long long)st.wire_bytes,
            (unsigned long long)st.filtered, (unsigned long long)st.skipped,
            (unsigned long long)st.malformed, (unsigned long long)st.dropped);
    if (drop->mask != 0)
        fprintf(stderr, " excluded %llu", (unsigned long long)drop->dropped);
    fputc('\n', stderr);
}

/* "malformed_class": the invalid datagrams by spec 10 class (enum
 * sd_ndag_error), every class present so that readers need no default. */
static void json_malformed_class(sd_cli_out *o, const uint64_t *by_class)
{
    sd_cli_json_obj(o, "malformed_class");
    for (int k = 1; k < SD_NDAG_E_COUNT; k++)
        sd_cli_json_u64(o, sd_ndag_error_name(k), by_class[k]);
    sd_cli_json_obj_end(o);
}

/* Per-stream loss table of an ndag: source (ndag.md 12.2, 12.4): one line
 * per stream and a total line, on stderr; JSON: one object per stream and
 * one for the totals. */
static void print_ndag_table(sd_ndag_recv *r, enum out_mode mode)
{
    if (r == NULL)
        return;
    sd_ndag_recv_stats t;
    memset(&t, 0, sizeof t);
    t.size = sizeof t;
    if (sd_ndag_recv_stats_get(r, &t) != 0)
        return;
    int n = sd_ndag_recv_streams(r, NULL, 0);
    if (n < 0)
        return;
    sd_ndag_stream_stats *ss = calloc((size_t)n + 1, sizeof *ss);
    if (ss == NULL)
        return;
    ss[0].size = sizeof *ss;
    int got = sd_ndag_recv_streams(r, ss, (size_t)n + 1);
    if (got > n + 1)
        got = n + 1;
    sd_cli_out o;
    if (sd_cli_out_init(&o, stderr, 65536) != 0) {
        free(ss);
        return;
    }
    if (mode == OUT_JSON) {
        for (int i = 0; i < got; i++) {
            const sd_ndag_stream_stats *x = &ss[i];
            sd_cli_json_begin(&o);
            sd_cli_json_str(&o, "stream", x->group);
            sd_cli_json_u64(&o, "port", x->port);
            sd_cli_json_u64(&o, "monitor", x->monitor_id);
            sd_cli_json_u64(&o, "lane", x->lane);
            sd_cli_json_str(&o, "state", sd_ndag_stream_state_name(x->state));
            sd_cli_json_u64(&o, "datagrams", x->datagrams);
            sd_cli_json_u64(&o, "records", x->records);
            sd_cli_json_u64(&o, "bytes", x->bytes);
            sd_cli_json_i64(&o, "missing", x->missing);
            sd_cli_json_u64(&o, "dropped", x->dropped);
            sd_cli_json_u64(&o, "truncated", x->truncated);
            sd_cli_json_u64(&o, "restarts", x->restarts);
            sd_cli_json_u64(&o, "resyncs", x->resyncs);
            sd_cli_json_u64(&o, "duplicates", x->duplicates);
            sd_cli_json_u64(&o, "reordered", x->reordered);
            sd_cli_json_u64(&o, "late", x->late);
            sd_cli_json_u64(&o, "malformed", x->malformed);
            json_malformed_class(&o, x->malformed_class);
            sd_cli_json_u64(&o, "foreign", x->foreign);
            sd_cli_json_u64(&o, "keepalives", x->keepalives);
            sd_cli_json_u64(&o, "skipped", x->skipped);
            sd_cli_json_u64(&o, "ts_zero", x->ts_zero);
            sd_cli_json_u64(&o, "idle_ms", x->idle_ms);
            sd_cli_json_u64(&o, "tagged", x->tagged);
            sd_cli_json_u64(&o, "tag_missing", x->tag_missing);
            sd_cli_json_u64(&o, "tag_gaps", x->tag_gaps);
            sd_cli_json_u64(&o, "tagger_changes", x->tagger_changes);
            sd_cli_json_end(&o);
        }
        sd_cli_json_begin(&o);
        sd_cli_json_str(&o, "stream", "total");
        sd_cli_json_u64(&o, "streams", t.streams);
        sd_cli_json_u64(&o, "beacons", t.beacons);
        sd_cli_json_u64(&o, "beacons_malformed", t.beacons_malformed);
        sd_cli_json_u64(&o, "datagrams", t.datagrams);
        sd_cli_json_u64(&o, "records", t.records);
        sd_cli_json_i64(&o, "missing", t.missing);
        sd_cli_json_u64(&o, "dropped", t.dropped);
        sd_cli_json_u64(&o, "restarts", t.restarts);
        sd_cli_json_u64(&o, "sender_restarts", t.sender_restarts);
        sd_cli_json_u64(&o, "malformed", t.malformed);
        json_malformed_class(&o, t.malformed_class);
        sd_cli_json_u64(&o, "truncated", t.truncated);
        sd_cli_json_u64(&o, "resyncs", t.resyncs);
        sd_cli_json_u64(&o, "duplicates", t.duplicates);
        sd_cli_json_u64(&o, "reordered", t.reordered);
        sd_cli_json_u64(&o, "late", t.late);
        sd_cli_json_u64(&o, "foreign", t.foreign);
        sd_cli_json_u64(&o, "keepalives", t.keepalives);
        sd_cli_json_u64(&o, "ts_zero", t.ts_zero);
        sd_cli_json_u64(&o, "skipped", t.skipped);
        sd_cli_json_i64(&o, "rcvbuf", t.rcvbuf);
        sd_cli_json_u64(&o, "tagged", t.tagged);
        sd_cli_json_u64(&o, "tag_missing", t.tag_missing);
        sd_cli_json_u64(&o, "tag_gaps", t.tag_gaps);
        sd_cli_json_u64(&o, "tagger_changes", t.tagger_changes);
        sd_cli_json_end(&o);
    } else {
        sd_cli_out_printf(&o, "%-22s %5s %4s %-7s %9s %10s %8s %8s %5s %5s %5s %5s %5s %6s %5s %6s %8s\n", "stream",
                          "mon", "lane", "state", "datagrams", "records", "missing", "dropped", "trunc", "rest",
                          "dup", "reord", "late", "malf", "keep", "tszero", "idle_s");
        for (int i = 0; i < got; i++) {
            const sd_ndag_stream_stats *x = &ss[i];
            char name[80];
            snprintf(name, sizeof name, "%s:%u", x->group, (unsigned)x->port);
            sd_cli_out_printf(&o,
                              "%-22s %5u %4u %-7s %9llu %10llu %8lld %8llu %5llu %5llu %5llu %5llu %5llu %6llu "
                              "%5llu %6llu %8.1f\n",
                              name, (unsigned)x->monitor_id, (unsigned)x->lane, sd_ndag_stream_state_name(x->state),
                              (unsigned long long)x->datagrams, (unsigned long long)x->records,
                              (long long)x->missing, (unsigned long long)x->dropped,
                              (unsigned long long)x->truncated, (unsigned long long)x->restarts,
                              (unsigned long long)x->duplicates, (unsigned long long)x->reordered,
                              (unsigned long long)x->late, (unsigned long long)x->malformed,
                              (unsigned long long)x->keepalives, (unsigned long long)x->ts_zero,
                              (double)x->idle_ms / 1000.0);
        }
        sd_cli_out_printf(&o,
                          "%s: ndag total: streams %llu beacons %llu datagrams %llu records %llu missing %lld "
                          "dropped %llu restarts %llu sender_restarts %llu duplicates %llu malformed %llu "
                          "beacons_malformed %llu rcvbuf %lld tagged %llu tag_missing %llu tag_gaps %llu "
                          "tagger_changes %llu\n",
                          sd_cli_prog(), (unsigned long long)t.streams, (unsigned long long)t.beacons,
                          (unsigned long long)t.datagrams, (unsigned long long)t.records, (long long)t.missing,
                          (unsigned long long)t.dropped, (unsigned long long)t.restarts,
                          (unsigned long long)t.sender_restarts, (unsigned long long)t.duplicates,
                          (unsigned long long)t.malformed, (unsigned long long)t.beacons_malformed,
                          (long long)t.rcvbuf, (unsigned long long)t.tagged,
                          (unsigned long long)t.tag_missing, (unsigned long long)t.tag_gaps,
                          (unsigned long long)t.tagger_changes);
    }
    sd_cli_out_close(&o);
    free(ss);
}

/* Source diagnostics. Info lines keep libtrace's wording without a prefix
 * ("Added new stream 225.44.0.1:44001 to thread 0", ndag.md 16); the rest
 * is prefixed with the tool name. May run on the receiver's control
 * thread: stdio locks the stream. */
static void source_log(void *user, int level, const char *msg)
{
    (void)user;
    if (level == SD_LOG_INFO)
        fprintf(stderr, "%s\n", msg);
    else if (level < SD_LOG_INFO)
        fprintf(stderr, "%s: %s: %s\n", sd_cli_prog(), level == SD_LOG_ERROR ? "error" : "warning", msg);
}

static uint64_t mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec;
}

/* ================================================================ main */

static void usage(void)
{
    printf("usage: sd-dump [options] URI\n"
           "       sd-dump --help | --version\n"
           "\n"
           "Print every packet of URI (a trace file, '-' for stdin, or a capture URI)\n"
           "as tracepktdump does, or as JSON lines.\n"
           "\n"
           "Options:\n"
           "  -c, --count N        stop after N packets (default: all)\n"
           "  -f, --filter EXPR    keep packets matching the BPF expression EXPR\n"
           "      --drop LIST      drop packets matching any of the filters in LIST\n"
           "                       (comma-separated names, e.g. spoofed,erratic; the\n"
           "                       tag's bits for tagged packets, else computed)\n"
           "  -o, --output FORMAT  text (default, tracepktdump layout) or json\n"
           "      --json           same as --output json\n"
           "  -q, --quiet          no per-packet output: print summary counts only\n"
           "  -x, --hex            also show the captured bytes: a hex dump after each\n"
           "                       text decode, a \"data\" hex string in JSON\n"
           "      --stats[=N]      print the source counters to stderr at the end (and\n"
           "                       every N seconds); ndag: a per-stream loss table\n"
           "      --progress       show a progress line on stderr (default: when\n"
           "                       stderr is a terminal and stdout is not)\n"
           "      --no-progress    never show the progress line\n"
           "  -h, --help           show this help and exit\n"
           "  -V, --version        show the version and exit\n"
           "\n"
           "See sd-dump(1).\n");
}

enum { OPT_JSON = 256, OPT_STATS, OPT_PROGRESS, OPT_NO_PROGRESS, OPT_DROP };

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"count", required_argument, NULL, 'c'},
        {"filter", required_argument, NULL, 'f'},
        {"drop", required_argument, NULL, OPT_DROP},
        {"output", required_argument, NULL, 'o'},
        {"json", no_argument, NULL, OPT_JSON},
        {"quiet", no_argument, NULL, 'q'},
        {"hex", no_argument, NULL, 'x'},
        {"stats", optional_argument, NULL, OPT_STATS},
        {"progress", no_argument, NULL, OPT_PROGRESS},
        {"no-progress", no_argument, NULL, OPT_NO_PROGRESS},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    uint64_t count = 0;
    const char *filter = NULL;
    int quiet = 0, want_stats = 0, progress_mode = -1;
    uint64_t stats_every = 0;
    static struct dump d; /* large (name tables): keep it off the stack */
    sd_cli_drop drop = {0, 0};
    d.mode = OUT_TEXT;

    sd_cli_init("sd-dump", "[options] URI");
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":c:f:o:qxhV", longopts, NULL)) != -1) {
        switch (c) {
        case 'c':
            if (sd_cli_parse_u64(optarg, "packet count", 1, UINT64_MAX, &count) != 0)
                return sd_cli_usage_hint();
            break;
        case 'f':
            filter = optarg;
            break;
        case OPT_DROP:
            if (sd_cli_drop_parse(&drop, optarg) != 0)
                return sd_cli_usage_hint();
            break;
        case 'o':
            if (strcmp(optarg, "text") == 0)
                d.mode = OUT_TEXT;
            else if (strcmp(optarg, "json") == 0)
                d.mode = OUT_JSON;
            else
                return sd_cli_usage("unknown output format '%s' (expected text or json)", optarg);
            break;
        case OPT_JSON:
            d.mode = OUT_JSON;
            break;
        case 'q':
            quiet = 1;
            break;
        case 'x':
            d.hex = 1;
            break;
        case OPT_STATS:
            want_stats = 1;
            if (optarg != NULL && sd_cli_parse_u64(optarg, "stats interval", 1, 86400, &stats_every) != 0)
                return sd_cli_usage_hint();
            break;
        case OPT_PROGRESS:
            progress_mode = 1;
            break;
        case OPT_NO_PROGRESS:
            progress_mode = 0;
            break;
        case 'h':
            usage();
            return SD_CLI_EXIT_OK;
        case 'V':
            sd_cli_version();
            return SD_CLI_EXIT_OK;
        default: /* ':' or '?' */
            return sd_cli_usage_getopt(c, argv);
        }
    }
    if (optind >= argc)
        return sd_cli_usage("no input URI given");
    if (argc - optind > 1)
        return sd_cli_usage("too many arguments: only one input URI is read");
    const char *uri = argv[optind];

    /* Before the open: opening a pipe or a live source may block. */
    sd_cli_signals_install();
    char errbuf[SD_ERRBUF_SIZE] = "";
    sd_source *src = NULL;
    int rc = sd_source_open(&src, uri, errbuf);
    if (rc != 0) {
        sd_cli_liberror(rc, errbuf);
        return SD_CLI_EXIT_RUNTIME;
    }
    sd_source_set_log(src, source_log, NULL);
    if (filter != NULL && (rc = sd_source_set_filter(src, filter)) != 0) {
        sd_cli_liberror(rc, sd_errmsg(src));
        sd_source_close(src);
        return rc == SD_ERR_FILTER ? SD_CLI_EXIT_USAGE : SD_CLI_EXIT_RUNTIME;
    }

    /* libtrace reports Ethernet frames from pcap and pcapng files 4 bytes
     * longer than recorded (it assumes the capture dropped the FCS), and
     * gives a direction only for ERF (and nDAG, which carries ERF). */
    const char *fmt = sd_source_format(src);
    d.fcs_fixup = strcmp(fmt, "pcap") == 0 || strcmp(fmt, "pcapng") == 0;
    d.dir_from_iface = strcmp(fmt, "erf") == 0 || strcmp(fmt, "ndag") == 0;
    d.time_sec = -1;

    int exit_status = SD_CLI_EXIT_OK;
    if (sd_cli_out_init(&d.out, stdout, 0) != 0 ||
        (d.mode == OUT_TEXT && !quiet && load_names(&d) != 0)) {
        sd_cli_error("out of memory");
        sd_source_close(src);
        free_names(&d);
        return SD_CLI_EXIT_RUNTIME;
    }
    sd_cli_progress progress;
    sd_cli_progress_init(&progress, progress_mode);
    sd_ndag_recv *ndag = NULL;
    if (strcmp(fmt, "ndag") == 0) {
        /* Start now (joins the beacon) to reach the receiver's counters. */
        if ((rc = sd_source_start(src)) != 0) {
            sd_cli_liberror(rc, sd_errmsg(src));
            sd_cli_out_close(&d.out);
            sd_source_close(src);
            free_names(&d);
            return SD_CLI_EXIT_RUNTIME;
        }
        ndag = sd_source_ndag(src);
        d.ndag = ndag;
    }
    uint64_t next_stats = stats_every ? mono_s() + stats_every : 0;

    static sd_parsed parsed[BATCH];
    const sd_packet *pkts[BATCH];
    uint64_t done = 0;
    int read_err = 0;
    while (!sd_cli_stop) {
        size_t want = BATCH;
        if (count && count - done < want)
            want = (size_t)(count - done);
        int n = sd_source_read(src, pkts, want);
        if (n == SD_EOF)
            break;
        if (n < 0) {
            read_err = n;
            break;
        }
        if (next_stats && mono_s() >= next_stats) {
            next_stats = mono_s() + stats_every;
            sd_cli_progress_clear(&progress);
            if (ndag != NULL)
                print_ndag_table(ndag, d.mode);
            else
                print_stats(src, d.mode, &drop);
        }
        if (n == 0) {
            /* A live source went quiet: show what was decoded so far. */
            sd_cli_out_flush(&d.out);
            continue;
        }
        /* -c counts packets shown, after --drop as after --filter. */
        d.rec_hint = 0;
        n = (int)sd_cli_drop_apply(&drop, pkts, (size_t)n);
        if (d.mode == OUT_TEXT && !quiet) {
            for (int i = 0; i < n; i++)
                text_packet(&d, pkts[i]);
        } else {
            sd_parse_bulk(pkts, parsed, (size_t)n);
            for (int i = 0; i < n; i++) {
                if (quiet)
                    count_packet(&d.sum, pkts[i], &parsed[i]);
                else
                    json_packet(&d, pkts[i], &parsed[i]);
            }
        }
        done += (uint64_t)n;
        if (progress.enabled) {
            sd_source_stats st;
            memset(&st, 0, sizeof st);
            st.size = sizeof st;
            if (sd_source_get_stats(src, &st) == 0)
                sd_cli_progress_update(&progress, st.packets, st.filtered, st.malformed);
        }
        if (count && done >= count)
            break;
    }

    if (quiet)
        print_summary(&d);
    else if (d.mode == OUT_TEXT)
        sd_cli_out_char(&d.out, '\n'); /* tracepktdump's blank line at the end */
    if (sd_cli_out_close(&d.out) != 0) {
        sd_cli_progress_clear(&progress);
        sd_cli_error("write error on standard output: %s", strerror(d.out.err));
        exit_status = SD_CLI_EXIT_RUNTIME;
    }
    sd_cli_progress_clear(&progress);
    if (read_err) {
        sd_cli_liberror(read_err, sd_errmsg(src));
        exit_status = read_err == SD_ERR_FILTER ? SD_CLI_EXIT_USAGE : SD_CLI_EXIT_RUNTIME;
    }
    if (want_stats) {
        print_stats(src, d.mode, &drop);
        print_ndag_table(ndag, d.mode);
    }
    sd_source_close(src);
    free_names(&d);
    return exit_status;
}
