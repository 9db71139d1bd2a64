/* Unit tests: sd_source front end with the pcap (libpcap) and libtrace
 * backends on files. Live capture is in check_source_live.c. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <stardust/stardust.h>
#include "internal.h"
#include "testutil.h"

/* What a full read of a source gave. */
struct summary {
    uint64_t count, bytes, wire;
    uint64_t first_ts, last_ts, min_ts, max_ts;
    int linktype;    /* of the first packet, -1 when none */
    int mixed_link;  /* packets of more than one link type */
    uint64_t hash;   /* FNV-1a over ts, lengths, link type and bytes */
    int rc;          /* what ended the read: SD_EOF or an error */
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

static void add_packet(struct summary *s, const sd_packet *p)
{
    if (s->count == 0) {
        s->first_ts = s->min_ts = s->max_ts = p->ts;
        s->linktype = p->linktype;
    }
    if (p->linktype != s->linktype)
        s->mixed_link = 1;
    s->last_ts = p->ts;
    if (p->ts < s->min_ts)
        s->min_ts = p->ts;
    if (p->ts > s->max_ts)
        s->max_ts = p->ts;
    s->count++;
    s->bytes += p->caplen;
    s->wire += p->wirelen;
    ck_assert_uint_ge(p->wirelen, p->caplen);
    ck_assert_uint_eq(p->flags, 0);
    ck_assert_ptr_null(p->tags);
    s->hash = fnv(s->hash, &p->ts, sizeof p->ts);
    s->hash = fnv(s->hash, &p->caplen, sizeof p->caplen);
    s->hash = fnv(s->hash, &p->wirelen, sizeof p->wirelen);
    s->hash = fnv(s->hash, &p->linktype, sizeof p->linktype);
    s->hash = fnv(s->hash, p->data, p->caplen);
}

static void summarize(sd_source *src, size_t batch, struct summary *s)
{
    const sd_packet *pkts[1024];
    memset(s, 0, sizeof *s);
    s->linktype = -1;
    s->hash = 0xcbf29ce484222325ull;
    ck_assert_uint_le(batch, 1024);
    int n;
    while ((n = sd_source_read(src, pkts, batch)) > 0) {
        ck_assert_int_le(n, (int)batch);
        for (int i = 0; i < n; i++)
            add_packet(s, pkts[i]);
    }
    ck_assert_int_ne(n, 0); /* files never time out */
    s->rc = n;
}

static int open_summary(const char *uri, size_t batch, struct summary *s)
{
    sd_source *src = NULL;
    char errbuf[SD_ERRBUF_SIZE];
    int rc = sd_source_open(&src, uri, errbuf);
    ck_assert_msg(rc == 0, "%s: %s", uri, errbuf);
    summarize(src, batch, s);
    sd_source_close(src);
    return s->rc;
}

/* Made by main() before the tests fork, removed after. */
static char g_tmpdir[64];

static const char *tmpdir(void) { return g_tmpdir; }

static const char *write_tmp(const char *name, const void *bytes, size_t n)
{
    static char path[4][256];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir(), name);
    FILE *f = fopen(p, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(bytes, 1, n, f), n);
    ck_assert_int_eq(fclose(f), 0);
    return p;
}

static off_t file_size(const char *path)
{
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    return sb.st_size;
}

/* ------------------------------------------------------------ catalogue */

/* Every pcap file of the shared data with its packet count, earliest and
 * latest timestamp (capinfos semantics; /work/shared/data/README.md) and
 * link type. Checked against tshark when written. */
static const struct {
    const char *path;
    uint64_t count;
    uint64_t min_ts, max_ts;
    int linktype;
} catalogue[] = {
    {"pcap/libtrace/100_packets.pcap", 100, 1095292801000721000ull, 1095292801028488000ull, 1},
    {"pcap/libtrace/ip-in-mpls.pcap.gz", 10507, 1158800513553886000ull, 1158800539078705000ull, 1},
    {"pcap/libtrace/qinq.pcap", 2, 1294497150291400000ull, 1294497152287967000ull, 1},
    {"pcap/libtrace/vlan.pcap", 395, 941826040056226000ull, 941826044502622000ull, 1},
    {"pcap/ndpi/synscan.pcap", 2011, 1278275056274870000ull, 1278275079360213000ull, 1},
    {"pcap/tcpreplay/test.pcap", 179, 1278472579466743000ull, 1278472582723492000ull, 1},
    {"pcap/zeek/chksums_ip4-tcp-bad-chksum.pcap", 1, 1332784885686428000ull, 1332784885686428000ull, 1},
    {"pcap/zeek/chksums_ip4-udp-bad-chksum.pcap", 1, 1332784933501023000ull, 1332784933501023000ull, 1},
    {"pcap/zeek/communityid_icmp6.pcap", 49, 921159907494265000ull, 921159966755968000ull, 1},
    {"pcap/zeek/communityid_ipv6.pcap", 17, 1418793769660674000ull, 1418793781076847000ull, 1},
    {"pcap/zeek/empty.pcap", 0, 0, 0, -1},
    {"pcap/zeek/icmp_icmp-destunreach-ip.pcap", 1, 1334172130866425000ull, 1334172130866425000ull, 1},
    {"pcap/zeek/icmp_icmp-destunreach-no-context.pcap", 1, 1334172350800416000ull, 1334172350800416000ull, 1},
    {"pcap/zeek/icmp_icmp-destunreach-udp.pcap", 1, 1258568548135731000ull, 1258568548135731000ull, 1},
    {"pcap/zeek/icmp_icmp-timeexceeded.pcap", 1, 1334171878154102000ull, 1334171878154102000ull, 1},
    {"pcap/zeek/icmp_icmp6-destunreach-ip6ext-trunc.pcap", 1, 1334086545387980000ull, 1334086545387980000ull, 1},
    {"pcap/zeek/icmp_icmp6-destunreach-ip6ext-udp.pcap", 1, 1334081658558413000ull, 1334081658558413000ull, 1},
    {"pcap/zeek/icmp_icmp6-toobig.pcap", 1, 1334165838018052000ull, 1334165838018052000ull, 1},
    {"pcap/zeek/ip-bogus-header-len.pcap", 1, 1622130530134967000ull, 1622130530134967000ull, 1},
    {"pcap/zeek/ipv4_fragmented-1.pcap", 3, 950988235155866000ull, 950988235156457000ull, 1},
    {"pcap/zeek/ipv4_fragmented-2.pcap", 3, 950988235200823000ull, 950988235200957000ull, 1},
    {"pcap/zeek/ipv4_fragmented-3.pcap", 5, 964750760184607000ull, 964750760259631000ull, 1},
    {"pcap/zeek/ipv4_fragmented-4.pcap", 6, 1020580534846229000ull, 1020580534846229000ull, 1},
    {"pcap/zeek/ipv4_fragmented-syn.pcap", 2, 1756907829066973000ull, 1756907829067038000ull, 1},
    {"pcap/zeek/ipv6-fragmented-dns.pcap", 8, 1331084278438444000ull, 1331084298676270000ull, 1},
    {"pcap/zeek/ipv6-hbh-routing0.pcap", 1, 1331674079099657000ull, 1331674079099657000ull, 1},
    {"pcap/zeek/linux_dlt_sll2.pcap", 6, 1660534249872259000ull, 1660535793578961000ull, SD_LINK_LINUX_SLL2},
    {"pcap/zeek/mpls-in-vlan.pcap", 3, 1371685686536606000ull, 1371686961479321000ull, 1},
    {"pcap/zeek/nmap-vsn.pcap", 547, 1317146840497541000ull, 1317146842913053000ull, 1},
    {"pcap/zeek/q-in-q.pcap", 5, 1363900699548138000ull, 1363900699553625000ull, 1},
    {"pcap/zeek/rfb_vnc-scanner.pcap", 20, 1551120432183477000ull, 1551120433658287000ull, 1},
    {"pcap/zeek/ssh_sshguess.pcap", 431, 1427726689213953000ull, 1427726759306612000ull, 1},
    {"pcap/zeek/tcp_options.pcap", 4, 1258589770049012000ull, 1258589770240131000ull, 1},
    {"pcap/zeek/tcp_payload-syn.pcap", 6, 1567174416436962000ull, 1567174416440562000ull, SD_LINK_RAW},
    {"pcap/zeek/tcp_single-rst.pcap", 1, 1597255063527343000ull, 1597255063527343000ull, 1},
    {"pcap/zeek/tcp_syn-bad.pcap", 1, 1362692526869344000ull, 1362692526869344000ull, 1},
    {"pcap/zeek/tcp_syn-synack.pcap", 2, 1362692526869344000ull, 1362692526939084000ull, 1},
    {"pcap/zeek/tcp_syn-then-rst.pcap", 2, 1599865259118652000ull, 1599865259118961000ull, 1},
    {"pcap/zeek/tcp_syn.pcap", 1, 1362692526869344000ull, 1362692526869344000ull, 1},
    {"pcap/zeek/trunc_icmp-header-trunc.pcap", 2, 1338328954078361000ull, 1338328954099743000ull, 1},
    {"pcap/zeek/trunc_icmp-payload-trunc.pcap", 4, 1338324909690784000ull, 1338324912702087000ull, 1},
    {"pcap/zeek/trunc_ip4-trunc.pcap", 1, 1334160095895421000ull, 1334160095895421000ull, 1},
    {"pcap/zeek/trunc_ip6-ext-trunc.pcap", 1, 1334094648590126000ull, 1334094648590126000ull, 1},
    {"pcap/zeek/trunc_ip6-trunc.pcap", 1, 1334156241519125000ull, 1334156241519125000ull, 1},
    {"pcap/zeek/trunc_ipv4-internally-truncated-header.pcap", 1, 1508360735834163000ull, 1508360735834163000ull, 1},
    {"pcap/zeek/trunc_ipv4-truncated-broken-header.pcap", 1, 1508360735834163000ull, 1508360735834163000ull, 1},
    {"pcap/zeek/trunc_trunc-hdr.pcap", 1, 1404148886981015000ull, 1404148886981015000ull, 1},
    {"pcap/zeek/tunnels_4in6.pcap", 1, 1274368113185260000ull, 1274368113185260000ull, 1},
    {"pcap/zeek/tunnels_6in4.pcap", 1, 1335203348428004000ull, 1335203348428004000ull, 1},
    {"pcap/zeek/tunnels_Teredo.pcap", 78, 1210953046591933000ull, 1210953076058333000ull, 1},
    {"pcap/zeek/udp-multiple-source-ports.pcap", 3, 1558561204723808000ull, 1558561206976900000ull, SD_LINK_NULL},
    {"pcap/zeek/unknown-ip-short-payload.pcap", 4, 1780957890590632000ull, 1780957890590853000ull, 1},
    {"pcap/zeek/vlan-qinqinq.pcap", 14, 1362692526869344000ull, 1362692527080972000ull, 1},
    {"pcap/zeek/wikipedia.pcap", 136, 1300475167096535000ull, 1300475173475401000ull, 1},
};
#define N_CATALOGUE (sizeof catalogue / sizeof catalogue[0])

START_TEST(catalogue_file)
{
    const char *path = sd_test_data(catalogue[_i].path);
    sd_source *src = NULL;
    char errbuf[SD_ERRBUF_SIZE];
    ck_assert_msg(sd_source_open(&src, path, errbuf) == 0, "%s", errbuf);
    ck_assert_str_eq(sd_source_format(src), "pcap");
    ck_assert_str_eq(sd_source_uri(src), path);
    struct summary s;
    summarize(src, 64, &s);
    ck_assert_int_eq(s.rc, SD_EOF);
    ck_assert_uint_eq(s.count, catalogue[_i].count);
    ck_assert_uint_eq(s.min_ts, catalogue[_i].min_ts);
    ck_assert_uint_eq(s.max_ts, catalogue[_i].max_ts);
    ck_assert_int_eq(s.linktype, catalogue[_i].linktype);
    ck_assert_int_eq(s.mixed_link, 0);
    /* An uncompressed pcap is a 24-byte header and a 16-byte header per
     * record, so the captured bytes follow from the file size. */
    if (strstr(path, "trunc_trunc-hdr.pcap") != NULL)
        ck_assert_uint_eq(s.bytes, 1); /* see snaplen_cuts_longer_records */
    else if (strstr(path, ".gz") == NULL)
        ck_assert_uint_eq(s.bytes, (uint64_t)file_size(path) - 24 - 16 * s.count);
    /* Reading past the end stays at the end. */
    const sd_packet *pkts[4];
    ck_assert_int_eq(sd_source_read(src, pkts, 4), SD_EOF);
    ck_assert_int_eq(sd_source_read(src, pkts, 4), SD_EOF);
    sd_source_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.packets, s.count);
    ck_assert_uint_eq(st.bytes, s.bytes);
    ck_assert_uint_eq(st.wire_bytes, s.wire);
    ck_assert_uint_eq(st.filtered, 0);
    ck_assert_uint_eq(st.dropped, 0);
    sd_source_close(src);
}
END_TEST

START_TEST(out_of_order_file_keeps_file_order)
{
    /* rfb_vnc-scanner.pcap: packet 16 is the latest, packet 20 the last. */
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/zeek/rfb_vnc-scanner.pcap"), NULL), 0);
    const sd_packet *pkts[32];
    ck_assert_int_eq(sd_source_read(src, pkts, 32), 20);
    ck_assert_uint_eq(pkts[0]->ts, 1551120432183477000ull);
    ck_assert_uint_eq(pkts[15]->ts, 1551120433658287000ull);
    ck_assert_uint_eq(pkts[19]->ts, 1551120432759002000ull);
    sd_source_close(src);
}
END_TEST

START_TEST(snaplen_cuts_longer_records)
{
    /* trunc_trunc-hdr.pcap says snaplen 1 in its header but stores 8 bytes
     * of a 78-byte frame. libpcap never returns more than the file's
     * snaplen (it reads and drops the rest), and neither do we. */
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/zeek/trunc_trunc-hdr.pcap"), NULL), 0);
    const sd_packet *pkts[4];
    ck_assert_int_eq(sd_source_read(src, pkts, 4), 1);
    ck_assert_uint_eq(pkts[0]->caplen, 1);
    ck_assert_uint_eq(pkts[0]->wirelen, 78);
    ck_assert_uint_eq(pkts[0]->data[0], 0x00);
    ck_assert_uint_eq(pkts[0]->ts, 1404148886981015000ull);
    ck_assert_int_eq(sd_source_read(src, pkts, 4), SD_EOF);
    sd_source_close(src);
}
END_TEST

START_TEST(gzip_input)
{
    struct summary s;
    ck_assert_int_eq(open_summary(sd_test_data("pcap/libtrace/ip-in-mpls.pcap.gz"), 256, &s), SD_EOF);
    ck_assert_uint_eq(s.count, 10507);
    ck_assert_uint_eq(s.bytes, 2023252); /* tshark: sum of frame.cap_len */
    ck_assert_uint_eq(s.first_ts, 1158800513553886000ull);
    ck_assert_uint_eq(s.last_ts, 1158800539078705000ull);
    /* The same through the pcap: scheme (no sniffing). */
    char uri[4200];
    snprintf(uri, sizeof uri, "pcap:%s", sd_test_data("pcap/libtrace/ip-in-mpls.pcap.gz"));
    struct summary s2;
    ck_assert_int_eq(open_summary(uri, 256, &s2), SD_EOF);
    ck_assert_uint_eq(s2.count, 10507);
    ck_assert_uint_eq(s2.hash, s.hash);
}
END_TEST

START_TEST(first_packet_bytes)
{
    /* tcp_syn.pcap: one 78-byte SYN to port 80, Ethernet + IPv4 + TCP. */
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/zeek/tcp_syn.pcap"), NULL), 0);
    const sd_packet *pkts[8];
    ck_assert_int_eq(sd_source_read(src, pkts, 8), 1);
    const sd_packet *p = pkts[0];
    ck_assert_uint_eq(p->caplen, 118 - 24 - 16);
    ck_assert_uint_eq(p->wirelen, p->caplen);
    ck_assert_uint_eq(p->linktype, SD_LINK_ETHERNET);
    ck_assert_uint_eq(p->iface, 0);
    ck_assert_uint_eq(p->lctr, 0);
    ck_assert_uint_eq(sd__be16(p->data + 12), 0x0800); /* IPv4 */
    ck_assert_uint_eq(p->data[14] >> 4, 4);
    ck_assert_uint_eq(p->data[23], 6);                  /* TCP */
    size_t ihl = (size_t)(p->data[14] & 15) * 4;
    ck_assert_uint_eq(sd__be16(p->data + 14 + ihl + 2), 80);
    ck_assert_uint_eq(p->data[14 + ihl + 13] & 0x12, 0x02); /* SYN, no ACK */
    ck_assert_int_eq(sd_source_read(src, pkts, 8), SD_EOF);
    sd_source_close(src);
}
END_TEST

START_TEST(uri_forms_agree)
{
    const char *path = sd_test_data("pcap/ndpi/synscan.pcap");
    char uri[4200];
    struct summary a, b, c;
    ck_assert_int_eq(open_summary(path, 100, &a), SD_EOF);
    snprintf(uri, sizeof uri, "pcapfile:%s", path);
    ck_assert_int_eq(open_summary(uri, 100, &b), SD_EOF);
    snprintf(uri, sizeof uri, "pcap:%s", path);
    ck_assert_int_eq(open_summary(uri, 100, &c), SD_EOF);
    ck_assert_uint_eq(a.count, 2011);
    ck_assert_uint_eq(b.count, 2011);
    ck_assert_uint_eq(c.count, 2011);
    ck_assert_uint_eq(a.hash, b.hash);
    ck_assert_uint_eq(a.hash, c.hash);

    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, uri, NULL), 0);
    ck_assert_str_eq(sd_source_uri(src), uri);
    ck_assert_str_eq(sd_source_format(src), "pcap");
    sd_source_close(src);
}
END_TEST

START_TEST(batch_sizes_agree)
{
    static const char *const files[] = {"pcap/ndpi/synscan.pcap", "pcap/libtrace/ip-in-mpls.pcap.gz",
                                        "pcap/libtrace/vlan.pcap"};
    for (size_t f = 0; f < 3; f++) {
        struct summary s1, s7, s1024;
        const char *path = sd_test_data(files[f]);
        ck_assert_int_eq(open_summary(path, 1, &s1), SD_EOF);
        ck_assert_int_eq(open_summary(path, 7, &s7), SD_EOF);
        ck_assert_int_eq(open_summary(path, 1024, &s1024), SD_EOF);
        ck_assert_uint_eq(s1.count, s7.count);
        ck_assert_uint_eq(s1.count, s1024.count);
        ck_assert_uint_eq(s1.hash, s7.hash);
        ck_assert_uint_eq(s1.hash, s1024.hash);
    }
}
END_TEST

START_TEST(batch_is_full_and_capped)
{
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/libtrace/ip-in-mpls.pcap.gz"), NULL), 0);
    static const sd_packet *pkts[4096];
    /* A file source fills each batch; one read returns at most 1024. */
    ck_assert_int_eq(sd_source_read(src, pkts, 7), 7);
    int n = sd_source_read(src, pkts, 4096);
    ck_assert_int_eq(n, 1024);
    /* Descriptors of one batch are distinct and point at distinct bytes. */
    for (int i = 1; i < n; i++) {
        ck_assert_ptr_ne(pkts[i], pkts[i - 1]);
        ck_assert_ptr_ne(pkts[i]->data, pkts[i - 1]->data);
        ck_assert_uint_ge(pkts[i]->ts, pkts[i - 1]->ts);
    }
    sd_source_close(src);
}
END_TEST

/* ------------------------------------------------------- handmade files */

static size_t put_pcap_header(uint8_t *b, uint32_t magic_le, uint32_t snaplen, uint32_t linktype)
{
    sd__put_le32(b, magic_le);
    sd__put_le16(b + 4, 2);
    sd__put_le16(b + 6, 4);
    sd__put_le32(b + 8, 0);
    sd__put_le32(b + 12, 0);
    sd__put_le32(b + 16, snaplen);
    sd__put_le32(b + 20, linktype);
    return 24;
}

static size_t put_record(uint8_t *b, uint32_t sec, uint32_t frac, uint32_t caplen, uint32_t wirelen, uint8_t fill)
{
    sd__put_le32(b, sec);
    sd__put_le32(b + 4, frac);
    sd__put_le32(b + 8, caplen);
    sd__put_le32(b + 12, wirelen);
    memset(b + 16, fill, caplen);
    return 16 + caplen;
}

START_TEST(nanosecond_and_microsecond_timestamps)
{
    uint8_t b[256];
    size_t n = put_pcap_header(b, 0xa1b23c4du, 65535, 1);
    n += put_record(b + n, 1700000000u, 999999999u, 20, 60, 0xab);
    n += put_record(b + n, 1700000001u, 1u, 14, 14, 0xcd);
    const char *nsec = write_tmp("nsec.pcap", b, n);
    sd_source *src;
    const sd_packet *pkts[4];
    ck_assert_int_eq(sd_source_open(&src, nsec, NULL), 0);
    ck_assert_int_eq(sd_source_read(src, pkts, 4), 2);
    ck_assert_uint_eq(pkts[0]->ts, 1700000000999999999ull);
    ck_assert_uint_eq(pkts[0]->caplen, 20);
    ck_assert_uint_eq(pkts[0]->wirelen, 60);
    ck_assert_uint_eq(pkts[0]->data[0], 0xab);
    ck_assert_uint_eq(pkts[0]->data[19], 0xab);
    ck_assert_uint_eq(pkts[1]->ts, 1700000001000000001ull);
    ck_assert_uint_eq(pkts[1]->data[13], 0xcd);
    sd_source_close(src);

    n = put_pcap_header(b, 0xa1b2c3d4u, 65535, 1);
    n += put_record(b + n, 1700000000u, 999999u, 20, 60, 0x11);
    const char *usec = write_tmp("usec.pcap", b, n);
    ck_assert_int_eq(sd_source_open(&src, usec, NULL), 0);
    ck_assert_int_eq(sd_source_read(src, pkts, 4), 1);
    ck_assert_uint_eq(pkts[0]->ts, 1700000000999999000ull);
    sd_source_close(src);
}
END_TEST

START_TEST(big_endian_file)
{
    /* A file written on a big-endian host: every field byte-swapped. */
    uint8_t b[128];
    uint8_t *h = b;
    sd__put_be32(h, 0xa1b2c3d4u);
    sd__put_be16(h + 4, 2);
    sd__put_be16(h + 6, 4);
    sd__put_be32(h + 8, 0);
    sd__put_be32(h + 12, 0);
    sd__put_be32(h + 16, 65535);
    sd__put_be32(h + 20, 101);
    uint8_t *r = b + 24;
    sd__put_be32(r, 1234567890u);
    sd__put_be32(r + 4, 123456u);
    sd__put_be32(r + 8, 20);
    sd__put_be32(r + 12, 40);
    memset(r + 16, 0x45, 20);
    const char *path = write_tmp("be.pcap", b, 24 + 16 + 20);
    sd_source *src;
    const sd_packet *pkts[4];
    ck_assert_int_eq(sd_source_open(&src, path, NULL), 0);
    ck_assert_int_eq(sd_source_read(src, pkts, 4), 1);
    ck_assert_uint_eq(pkts[0]->ts, 1234567890123456000ull);
    ck_assert_uint_eq(pkts[0]->caplen, 20);
    ck_assert_uint_eq(pkts[0]->wirelen, 40);
    ck_assert_uint_eq(pkts[0]->linktype, SD_LINK_RAW);
    sd_source_close(src);
}
END_TEST

START_TEST(link_type_mapping)
{
    /* LINKTYPE_ values come back unchanged, whatever DLT_ libpcap uses. */
    static const uint32_t types[] = {SD_LINK_NULL, SD_LINK_ETHERNET, SD_LINK_RAW, SD_LINK_LOOP,
                                     SD_LINK_LINUX_SLL, SD_LINK_IPV4, SD_LINK_IPV6, SD_LINK_LINUX_SLL2};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        uint8_t b[128];
        size_t n = put_pcap_header(b, 0xa1b2c3d4u, 65535, types[i]);
        n += put_record(b + n, 1, 2, 24, 24, 0x60);
        const char *path = write_tmp("lt.pcap", b, n);
        sd_source *src;
        const sd_packet *pkts[4];
        ck_assert_int_eq(sd_source_open(&src, path, NULL), 0);
        ck_assert_int_eq(sd_source_read(src, pkts, 4), 1);
        ck_assert_uint_eq(pkts[0]->linktype, types[i]);
        ck_assert_uint_eq(pkts[0]->ts, 1000002000ull);
        sd_source_close(src);
    }
}
END_TEST

/* A batch bigger than the initial 1 MiB arena: the source stops the batch
 * early, keeps the packet that did not fit and grows between batches. */
START_TEST(large_packets_fill_arena)
{
    enum { NPKT = 3000, LEN = 1500 };
    size_t size = 24 + (size_t)NPKT * (16 + LEN);
    uint8_t *b = malloc(size);
    ck_assert_ptr_nonnull(b);
    size_t n = put_pcap_header(b, 0xa1b2c3d4u, 65535, 1);
    for (uint32_t i = 0; i < NPKT; i++) {
        n += put_record(b + n, 1000 + i, i, LEN, LEN, (uint8_t)i);
        sd__put_be32(b + n - LEN, i); /* first bytes: the index */
    }
    const char *path = write_tmp("big.pcap", b, n);
    free(b);
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, path, NULL), 0);
    static const sd_packet *pkts[1024];
    uint32_t next = 0;
    int got, reads = 0;
    while ((got = sd_source_read(src, pkts, 1024)) > 0) {
        reads++;
        for (int i = 0; i < got; i++, next++) {
            ck_assert_uint_eq(pkts[i]->caplen, LEN);
            ck_assert_uint_eq(sd__be32(pkts[i]->data), next);
            ck_assert_uint_eq(pkts[i]->data[LEN - 1], (uint8_t)next);
            ck_assert_uint_eq(pkts[i]->ts, (uint64_t)(1000 + next) * 1000000000u + next * 1000u);
        }
        /* Earlier packets of the batch are still intact. */
        ck_assert_uint_eq(sd__be32(pkts[0]->data), next - (uint32_t)got);
    }
    ck_assert_int_eq(got, SD_EOF);
    ck_assert_uint_eq(next, NPKT);
    ck_assert_int_gt(reads, 3);
    sd_source_close(src);
}
END_TEST

/* ------------------------------------------------------------- standard input */

START_TEST(stdin_plain)
{
    int fd = open(sd_test_data("pcap/ndpi/synscan.pcap"), O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 0), 0);
    close(fd);
    struct summary s, ref;
    ck_assert_int_eq(open_summary("-", 64, &s), SD_EOF);
    ck_assert_int_eq(open_summary(sd_test_data("pcap/ndpi/synscan.pcap"), 64, &ref), SD_EOF);
    ck_assert_uint_eq(s.count, 2011);
    ck_assert_uint_eq(s.hash, ref.hash);
}
END_TEST

START_TEST(stdin_gzip_pipe)
{
    /* A writer process feeds the compressed file through a pipe, so the
     * input cannot be seeked or stat'ed as a file. */
    int p[2];
    ck_assert_int_eq(pipe(p), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(p[0]);
        int fd = open(sd_test_data("pcap/libtrace/ip-in-mpls.pcap.gz"), O_RDONLY);
        char buf[8192];
        ssize_t k;
        while (fd >= 0 && (k = read(fd, buf, sizeof buf)) > 0)
            if (write(p[1], buf, (size_t)k) != k)
                _exit(1);
        _exit(0);
    }
    close(p[1]);
    ck_assert_int_eq(dup2(p[0], 0), 0);
    close(p[0]);
    struct summary s;
    ck_assert_int_eq(open_summary("-", 100, &s), SD_EOF);
    ck_assert_uint_eq(s.count, 10507);
    ck_assert_uint_eq(s.bytes, 2023252);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}
END_TEST

START_TEST(named_pipe)
{
    /* A FIFO given by path, plain and through pcap:, fed by a writer. */
    for (int scheme = 0; scheme < 2; scheme++) {
        char fifo[300], uri[320];
        snprintf(fifo, sizeof fifo, "%s/fifo%d", tmpdir(), scheme);
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        pid_t pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
            int in = open(sd_test_data("pcap/ndpi/synscan.pcap"), O_RDONLY);
            int out = open(fifo, O_WRONLY);
            char buf[8192];
            ssize_t k;
            while (in >= 0 && out >= 0 && (k = read(in, buf, sizeof buf)) > 0)
                if (write(out, buf, (size_t)k) != k)
                    _exit(1);
            _exit(0);
        }
        snprintf(uri, sizeof uri, "%s%s", scheme ? "pcap:" : "", fifo);
        struct summary s;
        ck_assert_int_eq(open_summary(uri, 64, &s), SD_EOF);
        ck_assert_uint_eq(s.count, 2011);
        int status;
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
}
END_TEST

/* ------------------------------------------------------------------ errors */

START_TEST(missing_file)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_source *src = (sd_source *)1;
    ck_assert_int_eq(sd_source_open(&src, "/nonexistent/dir/x.pcap", errbuf), SD_ERR_NOTFOUND);
    ck_assert_ptr_null(src);
    ck_assert_ptr_nonnull(strstr(errbuf, "/nonexistent/dir/x.pcap"));
    ck_assert_ptr_nonnull(strstr(errbuf, "No such file"));
    ck_assert_int_eq(sd_source_open(&src, "pcap:/nonexistent/y.pcap", errbuf), SD_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "/nonexistent/y.pcap"));
    ck_assert_int_eq(sd_source_open(&src, "pcapfile:/nonexistent/z.pcap.gz", errbuf), SD_ERR_NOTFOUND);
    ck_assert_ptr_nonnull(strstr(errbuf, "/nonexistent/z.pcap.gz"));
    /* errbuf may be NULL. */
    ck_assert_int_eq(sd_source_open(&src, "/nonexistent/x.pcap", NULL), SD_ERR_NOTFOUND);
}
END_TEST

START_TEST(directory)
{
    char errbuf[SD_ERRBUF_SIZE];
    char uri[300];
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, tmpdir(), errbuf), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(errbuf, tmpdir()));
    ck_assert_ptr_nonnull(strstr(errbuf, "directory"));
    snprintf(uri, sizeof uri, "pcap:%s", tmpdir());
    ck_assert_int_eq(sd_source_open(&src, uri, errbuf), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(errbuf, "directory"));
}
END_TEST

START_TEST(unknown_scheme)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_source *src = (sd_source *)1;
    ck_assert_int_eq(sd_source_open(&src, "foo:bar", errbuf), SD_ERR_UNSUPPORTED);
    ck_assert_ptr_null(src);
    ck_assert_ptr_nonnull(strstr(errbuf, "foo:bar"));
    ck_assert_ptr_nonnull(strstr(errbuf, "unknown URI scheme \"foo\""));
}
END_TEST

START_TEST(bad_arguments)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_source *src;
    ck_assert_int_eq(sd_source_open(NULL, "x.pcap", errbuf), SD_ERR_INVAL);
    ck_assert_int_eq(sd_source_open(&src, NULL, errbuf), SD_ERR_INVAL);
    ck_assert_ptr_null(src);
    ck_assert_int_eq(sd_source_open(&src, "", errbuf), SD_ERR_INVAL);
    ck_assert_int_eq(sd_source_read(NULL, NULL, 1), SD_ERR_INVAL);
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/zeek/tcp_syn.pcap"), errbuf), 0);
    const sd_packet *pkts[1];
    ck_assert_int_eq(sd_source_read(src, NULL, 1), SD_ERR_INVAL);
    ck_assert_int_eq(sd_source_read(src, pkts, 0), SD_ERR_INVAL);
    /* A bad call does not spoil the source. */
    ck_assert_int_eq(sd_source_read(src, pkts, 1), 1);
    ck_assert_int_eq(sd_source_get_stats(src, NULL), SD_ERR_INVAL);
    sd_source_stats st = {.size = 0};
    ck_assert_int_eq(sd_source_get_stats(src, &st), SD_ERR_INVAL);
    ck_assert_int_eq(sd_source_set_snaplen(src, 0), SD_ERR_INVAL);
    ck_assert_int_eq(sd_source_set_timeout(src, -2), SD_ERR_INVAL);
    sd_source_close(src);
    ck_assert_str_eq(sd_source_format(NULL), "");
    ck_assert_str_eq(sd_source_uri(NULL), "");
}
END_TEST

START_TEST(no_file_header)
{
    char errbuf[SD_ERRBUF_SIZE];
    char uri[4200];
    sd_source *src = (sd_source *)1;
    const char *path = sd_test_data("pcap/pcapfix/test_without_pcap_header.pcap");
    ck_assert_int_eq(sd_source_open(&src, path, errbuf), SD_ERR_FORMAT);
    ck_assert_ptr_null(src);
    ck_assert_ptr_nonnull(strstr(errbuf, path));
    ck_assert_ptr_nonnull(strstr(errbuf, "unknown file format"));
    snprintf(uri, sizeof uri, "pcap:%s", path);
    ck_assert_int_eq(sd_source_open(&src, uri, errbuf), SD_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(errbuf, path));
    ck_assert_ptr_nonnull(strstr(errbuf, "unknown file format"));
}
END_TEST

START_TEST(empty_and_short_files)
{
    char errbuf[SD_ERRBUF_SIZE];
    char uri[300];
    sd_source *src;
    const char *empty = write_tmp("zero.pcap", "", 0);
    ck_assert_int_eq(sd_source_open(&src, empty, errbuf), SD_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(errbuf, "empty"));
    snprintf(uri, sizeof uri, "pcap:%s", empty);
    ck_assert_int_eq(sd_source_open(&src, uri, errbuf), SD_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(errbuf, empty));
    /* A pcap magic followed by nothing: libpcap's "truncated" header. */
    uint8_t b[24];
    put_pcap_header(b, 0xa1b2c3d4u, 65535, 1);
    const char *cut = write_tmp("cut.pcap", b, 10);
    ck_assert_int_eq(sd_source_open(&src, cut, errbuf), SD_ERR_TRUNCATED);
    ck_assert_ptr_nonnull(strstr(errbuf, cut));
    ck_assert_ptr_nonnull(strstr(errbuf, "truncated"));
}
END_TEST

static void check_damaged(size_t batch)
{
    const char *path = sd_test_data("pcap/pcapfix/test_damaged.pcap");
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, path, NULL), 0);
    const sd_packet *pkts[64];
    /* The packet before the damage comes first, then the error. */
    ck_assert_int_eq(sd_source_read(src, pkts, batch), 1);
    ck_assert_uint_eq(pkts[0]->ts, 1369248420080467000ull);
    ck_assert_uint_eq(pkts[0]->caplen, 74);
    ck_assert_uint_eq(pkts[0]->data[14 + 20 + 13] & 0x12, 0x02); /* the TCP SYN */
    ck_assert_int_eq(sd_source_read(src, pkts, batch), SD_ERR_TRUNCATED);
    const char *msg = sd_errmsg(src);
    ck_assert_ptr_nonnull(strstr(msg, path));
    ck_assert_ptr_nonnull(strstr(msg, "record 2"));
    ck_assert_ptr_nonnull(strstr(msg, "truncated dump file; tried to read 16896 captured bytes, only got 8756"));
    /* The failure is sticky. */
    ck_assert_int_eq(sd_source_read(src, pkts, batch), SD_ERR_TRUNCATED);
    sd_source_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.packets, 1);
    ck_assert_uint_eq(st.bytes, 74);
    sd_source_close(src);
}

START_TEST(damaged_file)
{
    check_damaged(64);
    check_damaged(1);
}
END_TEST

START_TEST(damaged_file_gzip)
{
    /* The same damage behind libwandio: same packet, same error. */
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "gzip -c '%s' > '%s/damaged.pcap.gz'",
             sd_test_data("pcap/pcapfix/test_damaged.pcap"), tmpdir());
    ck_assert_int_eq(system(cmd), 0);
    snprintf(cmd, sizeof cmd, "%s/damaged.pcap.gz", tmpdir());
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, cmd, NULL), 0);
    const sd_packet *pkts[64];
    ck_assert_int_eq(sd_source_read(src, pkts, 64), 1);
    ck_assert_uint_eq(pkts[0]->ts, 1369248420080467000ull);
    ck_assert_int_eq(sd_source_read(src, pkts, 64), SD_ERR_TRUNCATED);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(src), "record 2"));
    sd_source_close(src);
}
END_TEST

/* --------------------------------------------------------------- filters */

START_TEST(filter_syn_flag)
{
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/ndpi/synscan.pcap"), NULL), 0);
    ck_assert_int_eq(sd_source_set_filter(src, "tcp[13] & 2 != 0"), 0);
    struct summary s;
    summarize(src, 64, &s);
    ck_assert_int_eq(s.rc, SD_EOF);
    /* tshark -r synscan.pcap -Y "tcp.flags & 0x02": 1994 SYN + 12 SYN-ACK. */
    ck_assert_uint_eq(s.count, 2006);
    sd_source_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.packets, 2006);
    ck_assert_uint_eq(st.filtered, 2011 - 2006);
    ck_assert_uint_eq(st.bytes, s.bytes);
    sd_source_close(src);
}
END_TEST

START_TEST(filter_syntax_error)
{
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/ndpi/synscan.pcap"), NULL), 0);
    ck_assert_int_eq(sd_source_set_filter(src, "tcp[[ port"), SD_ERR_FILTER);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(src), "tcp[[ port"));
    /* The source is still usable, unfiltered. */
    struct summary s;
    summarize(src, 64, &s);
    ck_assert_uint_eq(s.count, 2011);
    sd_source_close(src);
}
END_TEST

START_TEST(filter_removed)
{
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/ndpi/synscan.pcap"), NULL), 0);
    ck_assert_int_eq(sd_source_set_filter(src, "udp"), 0);
    ck_assert_int_eq(sd_source_set_filter(src, ""), 0);
    ck_assert_int_eq(sd_source_set_filter(src, "icmp"), 0);
    ck_assert_int_eq(sd_source_set_filter(src, NULL), 0);
    struct summary s;
    summarize(src, 64, &s);
    ck_assert_uint_eq(s.count, 2011);
    sd_source_close(src);
}
END_TEST

START_TEST(filter_other_link_types)
{
    /* Raw IP: "tcp" compiles for it (all 6 packets are TCP); an Ethernet
     * filter cannot apply to raw IP and rejects every packet. */
    const char *path = sd_test_data("pcap/zeek/tcp_payload-syn.pcap");
    sd_source *src;
    struct summary s;
    ck_assert_int_eq(sd_source_open(&src, path, NULL), 0);
    ck_assert_int_eq(sd_source_set_filter(src, "tcp"), 0);
    summarize(src, 64, &s);
    ck_assert_uint_eq(s.count, 6);
    sd_source_close(src);

    ck_assert_int_eq(sd_source_open(&src, path, NULL), 0);
    ck_assert_int_eq(sd_source_set_filter(src, "ether host 00:11:22:33:44:55"), 0);
    summarize(src, 64, &s);
    ck_assert_int_eq(s.rc, SD_EOF);
    ck_assert_uint_eq(s.count, 0);
    sd_source_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.filtered, 6);
    ck_assert_uint_eq(st.packets, 0);
    sd_source_close(src);

    /* Linux SLL2: 2 ICMP echo pairs (IPv4 and IPv6) among 6 packets. */
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/zeek/linux_dlt_sll2.pcap"), NULL), 0);
    ck_assert_int_eq(sd_source_set_filter(src, "icmp or icmp6"), 0);
    summarize(src, 64, &s);
    ck_assert_uint_eq(s.count, 4);
    sd_source_close(src);
}
END_TEST

/* ----------------------------------------------------------------- stats */

START_TEST(stats_counters)
{
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/libtrace/100_packets.pcap"), NULL), 0);
    sd_source_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.packets, 0);
    const sd_packet *pkts[30];
    ck_assert_int_eq(sd_source_read(src, pkts, 30), 30);
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.packets, 30);
    struct summary s;
    summarize(src, 64, &s);
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.packets, 100);
    ck_assert_uint_eq(st.bytes, 5984);       /* capinfos: data size */
    ck_assert_uint_eq(st.wire_bytes, 30960); /* tshark: sum of frame.len */
    ck_assert_uint_eq(st.filtered, 0);
    ck_assert_uint_eq(st.skipped, 0);
    ck_assert_uint_eq(st.malformed, 0);
    ck_assert_uint_eq(st.dropped, 0);
    /* An older, smaller struct gets only the fields it has. */
    struct {
        size_t size;
        uint64_t packets;
    } old = {sizeof old, 0};
    ck_assert_int_eq(sd_source_get_stats(src, (sd_source_stats *)&old), 0);
    ck_assert_uint_eq(old.packets, 100);
    sd_source_close(src);
}
END_TEST

/* ------------------------------------------------------------- lifecycle */

START_TEST(lifecycle)
{
    sd_source_close(NULL);
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/zeek/tcp_syn-synack.pcap"), NULL), 0);
    ck_assert_int_eq(sd_source_set_snaplen(src, 128), 0);
    ck_assert_int_eq(sd_source_set_promisc(src, 0), 0);
    ck_assert_int_eq(sd_source_set_timeout(src, 10), 0);
    ck_assert_int_eq(sd_source_set_filter(src, "tcp"), 0);
    sd_source_set_log(src, NULL, NULL);
    ck_assert_int_eq(sd_source_start(src), 0);
    ck_assert_int_eq(sd_source_start(src), SD_ERR_STATE);
    ck_assert_int_eq(sd_source_set_filter(src, "udp"), SD_ERR_STATE);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(src), "before"));
    ck_assert_int_eq(sd_source_set_snaplen(src, 64), SD_ERR_STATE);
    ck_assert_int_eq(sd_source_set_promisc(src, 1), SD_ERR_STATE);
    ck_assert_int_eq(sd_source_set_timeout(src, 1), SD_ERR_STATE);
    const sd_packet *pkts[8];
    /* Snaplen is for live sources: a file's packets are not cut. */
    ck_assert_int_eq(sd_source_read(src, pkts, 8), 2);
    ck_assert_uint_gt(pkts[1]->caplen, 64);
    for (int i = 0; i < 3; i++)
        ck_assert_int_eq(sd_source_read(src, pkts, 8), SD_EOF);
    sd_source_close(src);

    /* Without sd_source_start(), the first read starts the source. */
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/zeek/tcp_syn.pcap"), NULL), 0);
    ck_assert_int_eq(sd_source_read(src, pkts, 8), 1);
    ck_assert_int_eq(sd_source_start(src), SD_ERR_STATE);
    ck_assert_int_eq(sd_source_set_filter(src, "tcp"), SD_ERR_STATE);
    sd_source_close(src);
}
END_TEST

static void oom_loop(const char *uri, uint64_t want_count)
{
    long k;
    for (k = 0; k < 1000; k++) {
        sd_source *src = (sd_source *)1;
        char errbuf[SD_ERRBUF_SIZE];
        sd__alloc_fail_after = k;
        int rc = sd_source_open(&src, uri, errbuf);
        sd__alloc_fail_after = -1;
        if (rc == 0) {
            struct summary s;
            summarize(src, 64, &s);
            ck_assert_uint_eq(s.count, want_count);
            sd_source_close(src);
            break;
        }
        ck_assert_msg(rc == SD_ERR_NOMEM, "%s: fail_after %ld: %d %s", uri, k, rc, errbuf);
        ck_assert_ptr_null(src);
        ck_assert_ptr_nonnull(strstr(errbuf, "out of memory"));
    }
    ck_assert_int_gt(k, 2);
    ck_assert_int_lt(k, 1000);
}

START_TEST(allocation_failures)
{
    oom_loop(sd_test_data("pcap/zeek/tcp_options.pcap"), 4);
    oom_loop(sd_test_data("pcap/libtrace/ip-in-mpls.pcap.gz"), 10507);
    char uri[4200];
    snprintf(uri, sizeof uri, "pcap:%s", sd_test_data("pcap/zeek/tcp_options.pcap"));
    oom_loop(uri, 4);
    snprintf(uri, sizeof uri, "rawerf:%s", sd_test_data("pcap/libtrace/5_packets.erf"));
    oom_loop(uri, 5);
}
END_TEST

START_TEST(allocation_failure_in_filter)
{
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, sd_test_data("pcap/zeek/tcp_options.pcap"), NULL), 0);
    sd__alloc_fail_after = 0;
    int rc = sd_source_set_filter(src, "tcp");
    sd__alloc_fail_after = -1;
    ck_assert_int_eq(rc, SD_ERR_NOMEM);
    struct summary s;
    summarize(src, 64, &s);
    ck_assert_uint_eq(s.count, 4); /* no filter left behind */
    sd_source_close(src);
}
END_TEST

/* --------------------------------------------------- libtrace file formats */

START_TEST(libtrace_file_format)
{
    /* rawerf: is read by libtrace (the erf: scheme is native). Check each
     * packet against the ERF records parsed here: Ethernet records
     * (type 2) carry 2 pad bytes after the 16-byte header. */
    const char *path = sd_test_data("pcap/libtrace/100_packets.erf");
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    static uint8_t erf[8192];
    size_t erf_len = fread(erf, 1, sizeof erf, f);
    fclose(f);
    ck_assert_uint_eq(erf_len, 7784);

    char uri[4200];
    snprintf(uri, sizeof uri, "rawerf:%s", path);
    sd_source *src, *ref;
    char errbuf[SD_ERRBUF_SIZE];
    ck_assert_msg(sd_source_open(&src, uri, errbuf) == 0, "%s", errbuf);
    ck_assert_str_eq(sd_source_format(src), "libtrace");
    /* The pcap version holds the same packets (lengths agree; a few bytes
     * and microseconds differ between the two upstream files). */
    ck_assert_int_eq(sd_source_open(&ref, sd_test_data("pcap/libtrace/100_packets.pcap"), NULL), 0);
    const sd_packet *a[10], *b[10];
    size_t off = 0;
    int done = 0;
    /* Packets are borrowed until the next read: compare batch by batch. */
    while (done < 100) {
        int na = sd_source_read(src, a, 10);
        ck_assert_int_gt(na, 0);
        ck_assert_int_eq(sd_source_read(ref, b, (size_t)na), na);
        for (int i = 0; i < na; i++) {
            ck_assert_uint_le(off + 18, erf_len);
            const uint8_t *r = erf + off;
            size_t rlen = sd__be16(r + 10);
            uint64_t t = sd__le64(r);
            uint64_t ns = (t >> 32) * 1000000000u + (((t & 0xffffffffu) * 1000000000u + 0x80000000u) >> 32);
            ck_assert_uint_eq(r[8] & 0x7f, 2);
            ck_assert_uint_eq(a[i]->ts, ns);
            ck_assert_uint_eq(a[i]->caplen, rlen - 18);
            ck_assert_mem_eq(a[i]->data, r + 18, a[i]->caplen);
            ck_assert_uint_eq(a[i]->linktype, SD_LINK_ETHERNET);
            ck_assert_uint_eq(a[i]->caplen, b[i]->caplen);
            off += rlen;
        }
        done += na;
    }
    ck_assert_uint_eq(off, erf_len);
    ck_assert_int_eq(sd_source_read(src, a, 10), SD_EOF);
    ck_assert_int_eq(sd_source_read(src, a, 10), SD_EOF);
    sd_source_close(src);
    sd_source_close(ref);

    struct summary s;
    ck_assert_int_eq(open_summary(uri, 7, &s), SD_EOF);
    ck_assert_uint_eq(s.count, 100);
    ck_assert_uint_eq(s.first_ts, 1095292801000721395ull);
    ck_assert_uint_eq(s.last_ts, 1095292801028488457ull);
    ck_assert_uint_eq(s.bytes, 5984);
}
END_TEST

START_TEST(libtrace_errors)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_source *src = (sd_source *)1;
    ck_assert_int_eq(sd_source_open(&src, "rawerf:/nonexistent/t.erf", errbuf), SD_ERR_NOTFOUND);
    ck_assert_ptr_null(src);
    ck_assert_ptr_nonnull(strstr(errbuf, "/nonexistent/t.erf"));
    /* libtrace 3 cannot read ERF provenance records: the read fails
     * cleanly (the native erf: reader skips them). */
    char uri[4200];
    snprintf(uri, sizeof uri, "rawerf:%s", sd_test_data("pcap/libtrace/provenance.erf"));
    ck_assert_int_eq(sd_source_open(&src, uri, errbuf), 0);
    const sd_packet *pkts[8];
    int rc = sd_source_read(src, pkts, 8);
    ck_assert_int_eq(rc, SD_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(src), "provenance.erf"));
    ck_assert_int_eq(sd_source_read(src, pkts, 8), SD_ERR_FORMAT);
    sd_source_close(src);
    /* A live URI is created at open and fails at start. */
    ck_assert_int_eq(sd_source_open(&src, "int:sd-no-such-if0", errbuf), 0);
    ck_assert_str_eq(sd_source_format(src), "libtrace");
    rc = sd_source_start(src);
    ck_assert_msg(rc == SD_ERR_NOTFOUND || rc == SD_ERR_PERM, "%d: %s", rc, sd_errmsg(src));
    ck_assert_ptr_nonnull(strstr(sd_errmsg(src), "int:sd-no-such-if0"));
    sd_source_close(src);
}
END_TEST

int main(void)
{
    strcpy(g_tmpdir, "/tmp/sd-check-source.XXXXXX");
    if (mkdtemp(g_tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    Suite *s = suite_create("source");
    TCase *tc = tcase_create("files");
    tcase_add_loop_test(tc, catalogue_file, 0, (int)N_CATALOGUE);
    tcase_add_test(tc, out_of_order_file_keeps_file_order);
    tcase_add_test(tc, snaplen_cuts_longer_records);
    tcase_add_test(tc, gzip_input);
    tcase_add_test(tc, first_packet_bytes);
    tcase_add_test(tc, uri_forms_agree);
    tcase_add_test(tc, batch_sizes_agree);
    tcase_add_test(tc, batch_is_full_and_capped);
    tcase_add_test(tc, nanosecond_and_microsecond_timestamps);
    tcase_add_test(tc, big_endian_file);
    tcase_add_test(tc, link_type_mapping);
    tcase_add_test(tc, large_packets_fill_arena);
    suite_add_tcase(s, tc);

    tc = tcase_create("stdin");
    tcase_add_test(tc, stdin_plain);
    tcase_add_test(tc, stdin_gzip_pipe);
    tcase_add_test(tc, named_pipe);
    suite_add_tcase(s, tc);

    tc = tcase_create("errors");
    tcase_add_test(tc, missing_file);
    tcase_add_test(tc, directory);
    tcase_add_test(tc, unknown_scheme);
    tcase_add_test(tc, bad_arguments);
    tcase_add_test(tc, no_file_header);
    tcase_add_test(tc, empty_and_short_files);
    tcase_add_test(tc, damaged_file);
    tcase_add_test(tc, damaged_file_gzip);
    suite_add_tcase(s, tc);

    tc = tcase_create("filter");
    tcase_add_test(tc, filter_syn_flag);
    tcase_add_test(tc, filter_syntax_error);
    tcase_add_test(tc, filter_removed);
    tcase_add_test(tc, filter_other_link_types);
    suite_add_tcase(s, tc);

    tc = tcase_create("stats_lifecycle");
    tcase_add_test(tc, stats_counters);
    tcase_add_test(tc, lifecycle);
    tcase_add_test(tc, allocation_failures);
    tcase_add_test(tc, allocation_failure_in_filter);
    suite_add_tcase(s, tc);

    tc = tcase_create("libtrace_files");
    tcase_add_test(tc, libtrace_file_format);
    tcase_add_test(tc, libtrace_errors);
    suite_add_tcase(s, tc);

    int rc = sd_test_run(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir());
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
