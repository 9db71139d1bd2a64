/* Unit tests: sd_pcap_writer. Output is read back with sd_source (libpcap)
 * and, where byte layout matters, parsed here. */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zlib.h>

#include <stardust/stardust.h>
#include "internal.h"
#include "testutil.h"

static char g_tmpdir[64];

/* A fresh directory under g_tmpdir for tests that look at its contents. */
static const char *fresh_dir(const char *name)
{
    static char dir[300];
    snprintf(dir, sizeof dir, "%s/%s", g_tmpdir, name);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    return dir;
}

static const char *tmp_path(const char *name)
{
    static char path[4][256];
    static int slot;
    char *p = path[slot++ % 4];
    snprintf(p, 256, "%s/%s", g_tmpdir, name);
    return p;
}

static uint8_t *gunzip_file(const char *path, size_t *len)
{
    gzFile g = gzopen(path, "rb");
    ck_assert_ptr_nonnull(g);
    size_t cap = 1 << 20, n = 0;
    uint8_t *b = malloc(cap);
    int k;
    while ((k = gzread(g, b + n, (unsigned)(cap - n))) > 0) {
        n += (size_t)k;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
        }
    }
    ck_assert_int_eq(k, 0);
    gzclose(g);
    *len = n;
    return b;
}

static int dir_entries(const char *dir, char names[][256], int max)
{
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n < max)
            snprintf(names[n], 256, "%s", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

/* Copy every packet of uri into path; returns the packet count. */
static uint64_t copy_trace(const char *uri, const char *path, uint16_t linktype, uint32_t snaplen, unsigned flags)
{
    sd_source *src;
    char errbuf[SD_ERRBUF_SIZE];
    ck_assert_msg(sd_source_open(&src, uri, errbuf) == 0, "%s", errbuf);
    sd_pcap_writer *w;
    ck_assert_msg(sd_pcap_writer_open(&w, path, linktype, snaplen, flags, errbuf) == 0, "%s", errbuf);
    const sd_packet *pkts[100];
    int n;
    uint64_t total = 0;
    while ((n = sd_source_read(src, pkts, 100)) > 0) {
        ck_assert_int_eq(sd_pcap_writer_write(w, pkts, (size_t)n), n);
        total += (uint64_t)n;
    }
    ck_assert_int_eq(n, SD_EOF);
    ck_assert_msg(sd_pcap_writer_close(w, errbuf) == 0, "%s", errbuf);
    sd_source_close(src);
    return total;
}

/* Both sources give the same packets: ts (to the given unit), lengths,
 * link type, bytes (up to cut bytes when cut > 0). */
static void compare_sources(const char *uri_a, const char *uri_b, uint64_t ts_unit, uint32_t cut,
                            uint64_t want_count)
{
    sd_source *a, *b;
    ck_assert_int_eq(sd_source_open(&a, uri_a, NULL), 0);
    ck_assert_int_eq(sd_source_open(&b, uri_b, NULL), 0);
    const sd_packet *pa[1], *pb[1];
    uint64_t count = 0;
    for (;;) {
        int na = sd_source_read(a, pa, 1);
        int nb = sd_source_read(b, pb, 1);
        ck_assert_int_eq(na, nb);
        if (na != 1) {
            ck_assert_int_eq(na, SD_EOF);
            break;
        }
        count++;
        const sd_packet *x = pa[0], *y = pb[0];
        ck_assert_uint_eq(x->ts / ts_unit, y->ts / ts_unit);
        ck_assert_uint_eq(y->ts % ts_unit, 0);
        uint32_t want_cap = (cut > 0 && x->caplen > cut) ? cut : x->caplen;
        ck_assert_uint_eq(y->caplen, want_cap);
        ck_assert_uint_eq(y->wirelen, x->wirelen);
        ck_assert_uint_eq(y->linktype, x->linktype);
        ck_assert_mem_eq(y->data, x->data, want_cap);
    }
    ck_assert_uint_eq(count, want_count);
    sd_source_close(a);
    sd_source_close(b);
}

/* ------------------------------------------------------------ round trips */

START_TEST(round_trip_usec_byte_exact)
{
    /* synscan.pcap is a little-endian microsecond file: our copy must have
     * exactly its records. */
    const char *in = sd_test_data("pcap/ndpi/synscan.pcap");
    const char *out = tmp_path("usec.pcap");
    ck_assert_uint_eq(copy_trace(in, out, SD_LINK_ETHERNET, 65535, 0), 2011);
    size_t la, lb;
    uint8_t *a = sd_test_read_file(in, &la), *b = sd_test_read_file(out, &lb);
    ck_assert_uint_eq(la, lb);
    ck_assert_uint_eq(sd__le32(b), 0xa1b2c3d4u);
    ck_assert_uint_eq(sd__le16(b + 4), 2);
    ck_assert_uint_eq(sd__le16(b + 6), 4);
    ck_assert_uint_eq(sd__le32(b + 16), 65535);
    ck_assert_uint_eq(sd__le32(b + 20), 1);
    ck_assert_mem_eq(a + 24, b + 24, la - 24);
    free(a);
    free(b);
    compare_sources(in, out, 1000, 0, 2011);
}
END_TEST

START_TEST(round_trip_other_link_types)
{
    static const struct {
        const char *file;
        uint16_t linktype;
        uint64_t count;
    } t[] = {
        {"pcap/zeek/tcp_payload-syn.pcap", SD_LINK_RAW, 6},
        {"pcap/zeek/linux_dlt_sll2.pcap", SD_LINK_LINUX_SLL2, 6},
        {"pcap/zeek/udp-multiple-source-ports.pcap", SD_LINK_NULL, 3},
        {"pcap/libtrace/ip-in-mpls.pcap.gz", SD_LINK_ETHERNET, 10507},
    };
    for (size_t i = 0; i < sizeof t / sizeof t[0]; i++) {
        const char *in = sd_test_data(t[i].file);
        const char *out = tmp_path("lt.pcap");
        ck_assert_uint_eq(copy_trace(in, out, t[i].linktype, 0, 0), t[i].count);
        size_t len;
        uint8_t *b = sd_test_read_file(out, &len);
        ck_assert_uint_eq(sd__le32(b + 16), 262144); /* snaplen 0 means 262144 */
        ck_assert_uint_eq(sd__le32(b + 20), t[i].linktype);
        free(b);
        compare_sources(in, out, 1000, 0, t[i].count);
    }
}
END_TEST

START_TEST(round_trip_nsec)
{
    /* ERF through libtrace has nanosecond times: an nsec file keeps them
     * exactly, a usec file truncates them to the microsecond. */
    char uri[4200];
    snprintf(uri, sizeof uri, "rawerf:%s", sd_test_data("pcap/libtrace/100_packets.erf"));
    const char *ns = tmp_path("nsec.pcap");
    const char *us = tmp_path("usec.pcap");
    ck_assert_uint_eq(copy_trace(uri, ns, SD_LINK_ETHERNET, 0, SD_PCAP_NSEC), 100);
    ck_assert_uint_eq(copy_trace(uri, us, SD_LINK_ETHERNET, 0, 0), 100);
    size_t len;
    uint8_t *b = sd_test_read_file(ns, &len);
    ck_assert_uint_eq(sd__le32(b), 0xa1b23c4du);
    free(b);
    compare_sources(uri, ns, 1, 0, 100);
    compare_sources(uri, us, 1000, 0, 100);
    sd_source *src;
    const sd_packet *pkts[1];
    ck_assert_int_eq(sd_source_open(&src, ns, NULL), 0);
    ck_assert_int_eq(sd_source_read(src, pkts, 1), 1);
    ck_assert_uint_eq(pkts[0]->ts, 1095292801000721395ull);
    sd_source_close(src);
    ck_assert_int_eq(sd_source_open(&src, us, NULL), 0);
    ck_assert_int_eq(sd_source_read(src, pkts, 1), 1);
    ck_assert_uint_eq(pkts[0]->ts, 1095292801000721000ull);
    sd_source_close(src);
}
END_TEST

START_TEST(round_trip_gzip)
{
    const char *in = sd_test_data("pcap/libtrace/vlan.pcap");
    const char *plain = tmp_path("plain.pcap");
    const char *gz = tmp_path("out.pcap.gz");
    const char *gzns = tmp_path("outns.pcap.gz");
    ck_assert_uint_eq(copy_trace(in, plain, SD_LINK_ETHERNET, 0, 0), 395);
    ck_assert_uint_eq(copy_trace(in, gz, SD_LINK_ETHERNET, 0, SD_PCAP_GZIP), 395);
    ck_assert_uint_eq(copy_trace(in, gzns, SD_LINK_ETHERNET, 0, SD_PCAP_GZIP | SD_PCAP_NSEC), 395);
    size_t lp, lg, lz;
    uint8_t *p = sd_test_read_file(plain, &lp);
    uint8_t *g = sd_test_read_file(gz, &lg);
    ck_assert_uint_eq(g[0], 0x1f); /* gzip magic */
    ck_assert_uint_eq(g[1], 0x8b);
    ck_assert_uint_lt(lg, lp);
    free(g);
    uint8_t *z = gunzip_file(gz, &lz);
    ck_assert_uint_eq(lz, lp);
    ck_assert_mem_eq(z, p, lp);
    free(z);
    free(p);
    compare_sources(in, gz, 1000, 0, 395);
    compare_sources(in, gzns, 1000, 0, 395);
    uint8_t *zn = gunzip_file(gzns, &lz);
    ck_assert_uint_eq(sd__le32(zn), 0xa1b23c4du);
    free(zn);
}
END_TEST

START_TEST(snaplen_cut)
{
    const char *in = sd_test_data("pcap/libtrace/vlan.pcap");
    const char *out = tmp_path("cut.pcap");
    ck_assert_uint_eq(copy_trace(in, out, SD_LINK_ETHERNET, 64, 0), 395);
    size_t len;
    uint8_t *b = sd_test_read_file(out, &len);
    ck_assert_uint_eq(sd__le32(b + 16), 64);
    free(b);
    compare_sources(in, out, 1000, 64, 395);
}
END_TEST

static sd_packet make_packet(uint8_t *buf, uint32_t caplen, uint32_t wirelen, uint64_t ts, uint16_t lt)
{
    for (uint32_t i = 0; i < caplen; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    sd_packet p = {0};
    p.ts = ts;
    p.data = buf;
    p.caplen = caplen;
    p.wirelen = wirelen;
    p.linktype = lt;
    return p;
}

START_TEST(record_layout)
{
    static uint8_t buf[2][100];
    sd_packet p0 = make_packet(buf[0], 60, 60, 1700000000999999999ull, SD_LINK_RAW);
    sd_packet p1 = make_packet(buf[1], 100, 1500, 1700000001000000001ull, SD_LINK_RAW);
    const sd_packet *pkts[2] = {&p0, &p1};
    static const unsigned flags[2] = {0, SD_PCAP_NSEC};
    for (int f = 0; f < 2; f++) {
        const char *out = tmp_path("layout.pcap");
        sd_pcap_writer *w;
        ck_assert_int_eq(sd_pcap_writer_open(&w, out, SD_LINK_RAW, 80, flags[f], NULL), 0);
        ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 2), 2);
        ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 0), 0);
        ck_assert_int_eq(sd_pcap_writer_close(w, NULL), 0);
        size_t len;
        uint8_t *b = sd_test_read_file(out, &len);
        ck_assert_uint_eq(len, 24 + 16 + 60 + 16 + 80);
        ck_assert_uint_eq(sd__le32(b + 20), 101);
        const uint8_t *r = b + 24;
        ck_assert_uint_eq(sd__le32(r), 1700000000u);
        ck_assert_uint_eq(sd__le32(r + 4), f ? 999999999u : 999999u);
        ck_assert_uint_eq(sd__le32(r + 8), 60);
        ck_assert_uint_eq(sd__le32(r + 12), 60);
        ck_assert_mem_eq(r + 16, buf[0], 60);
        r += 16 + 60;
        ck_assert_uint_eq(sd__le32(r), 1700000001u);
        ck_assert_uint_eq(sd__le32(r + 4), f ? 1u : 0u);
        ck_assert_uint_eq(sd__le32(r + 8), 80); /* cut to snaplen */
        ck_assert_uint_eq(sd__le32(r + 12), 1500);
        ck_assert_mem_eq(r + 16, buf[1], 80);
        free(b);
    }
}
END_TEST

START_TEST(many_batches_cross_buffer)
{
    /* 100000 packets of 60 bytes: several 1 MiB buffer flushes. */
    const char *out = tmp_path("many.pcap");
    static uint8_t buf[60];
    sd_packet p = make_packet(buf, 60, 60, 0, SD_LINK_ETHERNET);
    sd_packet batch[256];
    const sd_packet *ptrs[256];
    sd_pcap_writer *w;
    ck_assert_int_eq(sd_pcap_writer_open(&w, out, SD_LINK_ETHERNET, 0, 0, NULL), 0);
    uint64_t k = 0;
    for (int b = 0; b < 100000 / 250; b++) {
        for (int i = 0; i < 250; i++, k++) {
            batch[i] = p;
            batch[i].ts = 1600000000000000000ull + k * 1000;
            ptrs[i] = &batch[i];
        }
        ck_assert_int_eq(sd_pcap_writer_write(w, ptrs, 250), 250);
    }
    ck_assert_int_eq(sd_pcap_writer_close(w, NULL), 0);
    sd_source *src;
    ck_assert_int_eq(sd_source_open(&src, out, NULL), 0);
    const sd_packet *pkts[1000];
    int n;
    k = 0;
    while ((n = sd_source_read(src, pkts, 1000)) > 0)
        for (int i = 0; i < n; i++, k++) {
            ck_assert_uint_eq(pkts[i]->ts, 1600000000000000000ull + k * 1000);
            ck_assert_mem_eq(pkts[i]->data, buf, 60);
        }
    ck_assert_int_eq(n, SD_EOF);
    ck_assert_uint_eq(k, 100000);
    sd_source_close(src);
}
END_TEST

START_TEST(record_bigger_than_buffer)
{
    /* A 3 MiB record (snaplen allows it) bypasses the 1 MiB buffer. */
    enum { BIG = 3 * 1024 * 1024 };
    uint8_t *big = malloc(BIG);
    static uint8_t small[40];
    sd_packet p0 = make_packet(small, 40, 40, 5000000000ull, SD_LINK_ETHERNET);
    sd_packet p1 = make_packet(big, BIG, BIG, 6000000000ull, SD_LINK_ETHERNET);
    sd_packet p2 = make_packet(small, 40, 40, 7000000000ull, SD_LINK_ETHERNET);
    const sd_packet *pkts[3] = {&p0, &p1, &p2};
    for (unsigned flags = 0; flags <= SD_PCAP_GZIP; flags += SD_PCAP_GZIP) {
        const char *out = tmp_path("big.pcap");
        sd_pcap_writer *w;
        ck_assert_int_eq(sd_pcap_writer_open(&w, out, SD_LINK_ETHERNET, 4u << 20, flags, NULL), 0);
        ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 3), 3);
        ck_assert_int_eq(sd_pcap_writer_close(w, NULL), 0);
        size_t len;
        uint8_t *b = flags ? gunzip_file(out, &len) : sd_test_read_file(out, &len);
        ck_assert_uint_eq(len, 24 + 3 * 16 + 40 + BIG + 40);
        const uint8_t *r = b + 24 + 16 + 40;
        ck_assert_uint_eq(sd__le32(r), 6);
        ck_assert_uint_eq(sd__le32(r + 8), BIG);
        ck_assert_mem_eq(r + 16, big, BIG);
        r += 16 + BIG;
        ck_assert_uint_eq(sd__le32(r), 7);
        ck_assert_mem_eq(r + 16, small, 40);
        free(b);
    }
    free(big);
}
END_TEST

/* ----------------------------------------------------- file name handling */

START_TEST(temporary_name_until_close)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/tmpname", g_tmpdir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    char final[400];
    snprintf(final, sizeof final, "%s/out.pcap", dir);
    static uint8_t buf[60];
    sd_packet p = make_packet(buf, 60, 60, 1, SD_LINK_ETHERNET);
    const sd_packet *pkts[1] = {&p};
    sd_pcap_writer *w;
    ck_assert_int_eq(sd_pcap_writer_open(&w, final, SD_LINK_ETHERNET, 0, 0, NULL), 0);
    ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 1), 1);
    struct stat sb;
    ck_assert_int_eq(stat(final, &sb), -1);
    ck_assert_int_eq(errno, ENOENT);
    char names[4][256];
    ck_assert_int_eq(dir_entries(dir, names, 4), 1);
    ck_assert_int_eq(strncmp(names[0], "out.pcap.tmp-", 13), 0);
    ck_assert_uint_eq(strlen(names[0]), 13 + 6);
    ck_assert_int_eq(sd_pcap_writer_close(w, NULL), 0);
    ck_assert_int_eq(dir_entries(dir, names, 4), 1);
    ck_assert_str_eq(names[0], "out.pcap");
    ck_assert_int_eq(stat(final, &sb), 0);
    ck_assert_int_eq(sb.st_size, 24 + 16 + 60);
    /* Mode follows the umask like any new file (not mkstemp's 0600). */
    mode_t um = umask(0);
    umask(um);
    ck_assert_uint_eq(sb.st_mode & 0777, 0666 & ~um);

    /* An existing file is replaced only at close. */
    ck_assert_int_eq(sd_pcap_writer_open(&w, final, SD_LINK_ETHERNET, 0, 0, NULL), 0);
    ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 1), 1);
    ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 1), 1);
    ck_assert_int_eq(stat(final, &sb), 0);
    ck_assert_int_eq(sb.st_size, 24 + 16 + 60);
    ck_assert_int_eq(sd_pcap_writer_close(w, NULL), 0);
    ck_assert_int_eq(stat(final, &sb), 0);
    ck_assert_int_eq(sb.st_size, 24 + 2 * (16 + 60));
}
END_TEST

START_TEST(discard_removes_output)
{
    char dir[300];
    snprintf(dir, sizeof dir, "%s/discard", g_tmpdir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    char final[400];
    snprintf(final, sizeof final, "%s/out.pcap.gz", dir);
    static uint8_t buf[60];
    sd_packet p = make_packet(buf, 60, 60, 1, SD_LINK_ETHERNET);
    const sd_packet *pkts[1] = {&p};
    sd_pcap_writer *w;
    ck_assert_int_eq(sd_pcap_writer_open(&w, final, SD_LINK_ETHERNET, 0, SD_PCAP_GZIP, NULL), 0);
    ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 1), 1);
    char names[4][256];
    ck_assert_int_eq(dir_entries(dir, names, 4), 1);
    sd_pcap_writer_discard(w);
    ck_assert_int_eq(dir_entries(dir, names, 4), 0);
    sd_pcap_writer_discard(NULL);
    ck_assert_int_eq(sd_pcap_writer_close(NULL, NULL), 0);
}
END_TEST

START_TEST(devices_and_fifos_written_in_place)
{
    /* Renaming a temporary file over /dev/null or a FIFO would replace the
     * node with a regular file: such outputs are written in place. */
    char dir[300];
    snprintf(dir, sizeof dir, "%s/fifo", g_tmpdir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    char fifo[400];
    snprintf(fifo, sizeof fifo, "%s/out.pcap", dir);
    ck_assert_int_eq(mkfifo(fifo, 0600), 0);
    int rd = open(fifo, O_RDONLY | O_NONBLOCK);
    ck_assert_int_ge(rd, 0);
    static uint8_t buf[60];
    sd_packet p = make_packet(buf, 60, 60, 1, SD_LINK_ETHERNET);
    const sd_packet *pkts[1] = {&p};
    sd_pcap_writer *w;
    ck_assert_int_eq(sd_pcap_writer_open(&w, fifo, SD_LINK_ETHERNET, 0, 0, NULL), 0);
    ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 1), 1);
    ck_assert_int_eq(sd_pcap_writer_close(w, NULL), 0);
    uint8_t got[256];
    ck_assert_int_eq(read(rd, got, sizeof got), 24 + 16 + 60);
    close(rd);
    struct stat sb;
    ck_assert_int_eq(stat(fifo, &sb), 0);
    ck_assert(S_ISFIFO(sb.st_mode));
    char names[4][256];
    ck_assert_int_eq(dir_entries(dir, names, 4), 1);

    ck_assert_int_eq(sd_pcap_writer_open(&w, "/dev/null", SD_LINK_ETHERNET, 0, 0, NULL), 0);
    ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 1), 1);
    ck_assert_int_eq(sd_pcap_writer_close(w, NULL), 0);
    ck_assert_int_eq(stat("/dev/null", &sb), 0);
    ck_assert(S_ISCHR(sb.st_mode));

    char eb[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_pcap_writer_open(&w, dir, SD_LINK_ETHERNET, 0, 0, eb), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(eb, "is a directory"));
}
END_TEST

START_TEST(missing_directory)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_pcap_writer *w = (sd_pcap_writer *)1;
    ck_assert_int_eq(sd_pcap_writer_open(&w, "/nonexistent/dir/out.pcap", 1, 0, 0, errbuf), SD_ERR_NOTFOUND);
    ck_assert_ptr_null(w);
    ck_assert_ptr_nonnull(strstr(errbuf, "/nonexistent/dir/out.pcap"));
    ck_assert_ptr_nonnull(strstr(errbuf, "No such file or directory"));
    /* A path through a regular file. */
    const char *file = tmp_path("plainfile");
    FILE *f = fopen(file, "w");
    ck_assert_ptr_nonnull(f);
    fclose(f);
    char path[400];
    snprintf(path, sizeof path, "%s/out.pcap", file);
    ck_assert_int_eq(sd_pcap_writer_open(&w, path, 1, 0, 0, errbuf), SD_ERR_IO);
    ck_assert_ptr_nonnull(strstr(errbuf, "Not a directory"));
}
END_TEST

START_TEST(unwritable_directory)
{
    /* Root ignores directory permissions: drop to nobody first (we are a
     * forked test process). */
    char dir[300];
    snprintf(dir, sizeof dir, "%s/ro", g_tmpdir);
    ck_assert_int_eq(mkdir(dir, 0755), 0);
    ck_assert_int_eq(chmod(g_tmpdir, 0755), 0);
    if (geteuid() == 0) {
        ck_assert_int_eq(setgroups(0, NULL), 0);
        ck_assert_int_eq(setgid(65534), 0);
        ck_assert_int_eq(setuid(65534), 0);
    } else {
        ck_assert_int_eq(chmod(dir, 0555), 0);
    }
    char path[400], errbuf[SD_ERRBUF_SIZE];
    snprintf(path, sizeof path, "%s/out.pcap", dir);
    sd_pcap_writer *w = (sd_pcap_writer *)1;
    ck_assert_int_eq(sd_pcap_writer_open(&w, path, 1, 0, 0, errbuf), SD_ERR_PERM);
    ck_assert_ptr_null(w);
    ck_assert_ptr_nonnull(strstr(errbuf, path));
    ck_assert_ptr_nonnull(strstr(errbuf, "Permission denied"));
}
END_TEST

START_TEST(standard_output)
{
    const char *out = tmp_path("stdout.pcap");
    int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 1), 1);
    close(fd);
    static uint8_t buf[60];
    sd_packet p = make_packet(buf, 60, 64, 42000000123ull, SD_LINK_ETHERNET);
    const sd_packet *pkts[1] = {&p};
    sd_pcap_writer *w;
    ck_assert_int_eq(sd_pcap_writer_open(&w, "-", SD_LINK_ETHERNET, 0, SD_PCAP_NSEC, NULL), 0);
    ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 1), 1);
    ck_assert_int_eq(sd_pcap_writer_close(w, NULL), 0);
    /* stdout stays open for the program. */
    ck_assert_int_ne(fcntl(1, F_GETFD), -1);
    sd_source *src;
    const sd_packet *got[2];
    ck_assert_int_eq(sd_source_open(&src, out, NULL), 0);
    ck_assert_int_eq(sd_source_read(src, got, 2), 1);
    ck_assert_uint_eq(got[0]->ts, 42000000123ull);
    ck_assert_uint_eq(got[0]->wirelen, 64);
    ck_assert_mem_eq(got[0]->data, buf, 60);
    ck_assert_int_eq(sd_source_read(src, got, 2), SD_EOF);
    sd_source_close(src);
}
END_TEST

START_TEST(write_error_reported)
{
    /* /dev/full as standard output: the flush at close fails. */
    int fd = open("/dev/full", O_WRONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 1), 1);
    close(fd);
    static uint8_t buf[60];
    sd_packet p = make_packet(buf, 60, 60, 1, SD_LINK_ETHERNET);
    const sd_packet *pkts[1] = {&p};
    sd_pcap_writer *w;
    char errbuf[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_pcap_writer_open(&w, "-", SD_LINK_ETHERNET, 0, 0, NULL), 0);
    ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 1), 1);
    ck_assert_int_eq(sd_pcap_writer_close(w, errbuf), SD_ERR_IO);
    ck_assert_ptr_nonnull(strstr(errbuf, "No space left on device"));

    /* Enough to fill the buffer: the write call itself fails, and stays
     * failed. */
    ck_assert_int_eq(sd_pcap_writer_open(&w, "-", SD_LINK_ETHERNET, 0, SD_PCAP_GZIP, NULL), 0);
    int rc = 0;
    for (int i = 0; i < 20000 && rc >= 0; i++)
        rc = sd_pcap_writer_write(w, pkts, 1);
    ck_assert_int_eq(rc, SD_ERR_IO);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(w), "No space left on device"));
    ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 1), SD_ERR_IO);
    ck_assert_int_eq(sd_pcap_writer_close(w, errbuf), SD_ERR_IO);
}
END_TEST

/* --------------------------------------------------------------- checks */

START_TEST(link_type_checked)
{
    const char *out = tmp_path("lt.pcap");
    static uint8_t buf[60];
    sd_packet eth = make_packet(buf, 60, 60, 1, SD_LINK_ETHERNET);
    sd_packet raw = make_packet(buf, 40, 40, 2, SD_LINK_RAW);
    const sd_packet *pkts[3] = {&eth, &raw, &eth};
    sd_pcap_writer *w;
    ck_assert_int_eq(sd_pcap_writer_open(&w, out, SD_LINK_ETHERNET, 0, 0, NULL), 0);
    ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 3), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(sd_errmsg(w), "packet 1 has link type 101"));
    /* The refused batch wrote nothing and the writer goes on. */
    ck_assert_int_eq(sd_pcap_writer_write(w, pkts, 1), 1);
    const sd_packet *nul[1] = {NULL};
    ck_assert_int_eq(sd_pcap_writer_write(w, nul, 1), SD_ERR_INVAL);
    ck_assert_int_eq(sd_pcap_writer_write(NULL, pkts, 1), SD_ERR_INVAL);
    ck_assert_int_eq(sd_pcap_writer_write(w, NULL, 1), SD_ERR_INVAL);
    ck_assert_int_eq(sd_pcap_writer_close(w, NULL), 0);
    sd_source *src;
    const sd_packet *got[4];
    ck_assert_int_eq(sd_source_open(&src, out, NULL), 0);
    ck_assert_int_eq(sd_source_read(src, got, 4), 1);
    sd_source_close(src);
}
END_TEST

START_TEST(open_arguments)
{
    char errbuf[SD_ERRBUF_SIZE];
    sd_pcap_writer *w = (sd_pcap_writer *)1;
    const char *dir = fresh_dir("args");
    char out[400];
    snprintf(out, sizeof out, "%s/args.pcap", dir);
    ck_assert_int_eq(sd_pcap_writer_open(NULL, out, 1, 0, 0, errbuf), SD_ERR_INVAL);
    ck_assert_int_eq(sd_pcap_writer_open(&w, NULL, 1, 0, 0, errbuf), SD_ERR_INVAL);
    ck_assert_ptr_null(w);
    ck_assert_int_eq(sd_pcap_writer_open(&w, "", 1, 0, 0, errbuf), SD_ERR_INVAL);
    ck_assert_int_eq(sd_pcap_writer_open(&w, out, 1, 0, 0x100, errbuf), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(errbuf, "flags"));
    ck_assert_int_eq(sd_pcap_writer_open(&w, out, SD_LINK_UNKNOWN, 0, 0, errbuf), SD_ERR_INVAL);
    ck_assert_ptr_nonnull(strstr(errbuf, "link type"));
    char names[8][256];
    ck_assert_int_eq(dir_entries(dir, names, 8), 0); /* nothing left behind */
}
END_TEST

START_TEST(allocation_failures)
{
    static const unsigned flags[] = {0, SD_PCAP_GZIP};
    const char *dir = fresh_dir("oom");
    char out[400];
    snprintf(out, sizeof out, "%s/oom.pcap", dir);
    for (int f = 0; f < 2; f++) {
        long k;
        for (k = 0; k < 100; k++) {
            char errbuf[SD_ERRBUF_SIZE];
            sd_pcap_writer *w = (sd_pcap_writer *)1;
            sd__alloc_fail_after = k;
            int rc = sd_pcap_writer_open(&w, out, 1, 0, flags[f], errbuf);
            sd__alloc_fail_after = -1;
            if (rc == 0) {
                ck_assert_int_eq(sd_pcap_writer_close(w, NULL), 0);
                break;
            }
            ck_assert_int_eq(rc, SD_ERR_NOMEM);
            ck_assert_ptr_null(w);
            char names[8][256];
            /* No temporary file left; only the file the first round made. */
            ck_assert_int_eq(dir_entries(dir, names, 8), f == 0 ? 0 : 1);
        }
        ck_assert_int_gt(k, 2);
        ck_assert_int_lt(k, 100);
    }
}
END_TEST

int main(void)
{
    strcpy(g_tmpdir, "/tmp/sd-check-pcapw.XXXXXX");
    if (mkdtemp(g_tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    Suite *s = suite_create("pcap_writer");
    TCase *tc = tcase_create("round_trip");
    tcase_add_test(tc, round_trip_usec_byte_exact);
    tcase_add_test(tc, round_trip_other_link_types);
    tcase_add_test(tc, round_trip_nsec);
    tcase_add_test(tc, round_trip_gzip);
    tcase_add_test(tc, snaplen_cut);
    tcase_add_test(tc, record_layout);
    tcase_add_test(tc, many_batches_cross_buffer);
    tcase_add_test(tc, record_bigger_than_buffer);
    suite_add_tcase(s, tc);

    tc = tcase_create("files");
    tcase_add_test(tc, temporary_name_until_close);
    tcase_add_test(tc, discard_removes_output);
    tcase_add_test(tc, devices_and_fifos_written_in_place);
    tcase_add_test(tc, missing_directory);
    tcase_add_test(tc, unwritable_directory);
    tcase_add_test(tc, standard_output);
    tcase_add_test(tc, write_error_reported);
    suite_add_tcase(s, tc);

    tc = tcase_create("checks");
    tcase_add_test(tc, link_type_checked);
    tcase_add_test(tc, open_arguments);
    tcase_add_test(tc, allocation_failures);
    suite_add_tcase(s, tc);

    int rc = sd_test_run(s);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmpdir);
    if (system(cmd) != 0)
        rc = 1;
    return rc;
}
