/* pcapng reader: equality with libpcap on a plain file, the multi-link-type
 * complex.pcapng that libpcap refuses, hand-made sections and damage. */
#include "config.h"

#include "native_util.h"

static sd_source *open_ok(const char *uri)
{
    sd_source *src;
    char eb[SD_ERRBUF_SIZE];
    int rc = sd_source_open(&src, uri, eb);
    ck_assert_msg(rc == 0, "%s: %s", uri, eb);
    ck_assert_str_eq(sd_source_format(src), "pcapng");
    return src;
}

START_TEST(test_100_packets_equal_pcap)
{
    struct ref_pkt *ref;
    size_t nref = load_pcap(sd_test_data("pcap/libtrace/100_packets.pcap"), &ref, NULL);
    ck_assert_uint_eq(nref, 100);
    const char *path = sd_test_data("pcap/libtrace/100_packets.pcapng");
    char uri[4200];
    snprintf(uri, sizeof uri, "pcapng:%s", path);
    const char *uris[] = {path, uri};
    static const size_t batches[] = {64, 1, 13};
    for (int k = 0; k < 6; k++) {
        sd_source *src = open_ok(uris[k % 2]);
        const sd_packet *p[64];
        size_t seen = 0;
        int rc;
        while ((rc = sd_source_read(src, p, batches[k / 2])) > 0) {
            for (int i = 0; i < rc; i++, seen++) {
                ck_assert_uint_lt(seen, nref);
                const struct ref_pkt *r = &ref[seen];
                ck_assert_uint_eq(p[i]->ts, r->ts_us * 1000u);
                ck_assert_uint_eq(p[i]->caplen, r->caplen);
                ck_assert_uint_eq(p[i]->wirelen, r->wirelen);
                ck_assert_uint_eq(p[i]->linktype, SD_LINK_ETHERNET);
                ck_assert_uint_eq(p[i]->iface, 0);
                ck_assert_uint_eq(p[i]->flags, 0);
                ck_assert_int_eq(memcmp(p[i]->data, r->data, r->caplen), 0);
            }
        }
        ck_assert_int_eq(rc, SD_EOF);
        ck_assert_uint_eq(seen, 100);
        sd_source_stats st = {.size = sizeof st};
        ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
        ck_assert_uint_eq(st.packets, 100);
        ck_assert_uint_eq(st.bytes, 5984);
        ck_assert_uint_eq(st.skipped, 0);
        sd_source_close(src);
    }
    free_pcap(ref, nref);
}
END_TEST

/* complex.pcapng (big-endian; tshark/capinfos: 3 interfaces Ethernet,
 * NULL, Ethernet; 4 EPB + 1 SPB; 3 custom, 3 NRB, 6 ISB blocks). */
START_TEST(test_complex)
{
    sd_source *src = open_ok(sd_test_data("pcap/libtrace/complex.pcapng"));
    const sd_packet *p[16];
    ck_assert_int_eq(sd_source_read(src, p, 16), 5);
    static const struct {
        uint16_t iface, linktype, flags;
        uint32_t caplen, wirelen;
        uint64_t ts;
        uint8_t first[4];
    } want[5] = {
        {0, SD_LINK_ETHERNET, 0, 96, 314, UINT64_C(1340954905298858000), {0xff, 0xff, 0xff, 0xff}},
        {2, SD_LINK_ETHERNET, 0, 342, 342, UINT64_C(1340954905298858000), {0x00, 0x0b, 0x82, 0x01}},
        /* The SPB: no time of its own, the previous packet's is kept; its
         * caplen is cut to interface 0's snaplen of 96. */
        {0, SD_LINK_ETHERNET, SD_PKT_NO_TIMESTAMP, 96, 314, UINT64_C(1340954905298858000),
         {0xff, 0xff, 0xff, 0xff}},
        {0, SD_LINK_ETHERNET, 0, 96, 342, UINT64_C(1340954905300858000), {0x00, 0x0b, 0x82, 0x01}},
        {1, SD_LINK_NULL, 0, 168, 168, UINT64_C(1340954905301858000), {0x02, 0x00, 0x00, 0x00}},
    };
    for (int i = 0; i < 5; i++) {
        ck_assert_uint_eq(p[i]->iface, want[i].iface);
        ck_assert_uint_eq(p[i]->linktype, want[i].linktype);
        ck_assert_uint_eq(p[i]->flags, want[i].flags);
        ck_assert_uint_eq(p[i]->caplen, want[i].caplen);
        ck_assert_uint_eq(p[i]->wirelen, want[i].wirelen);
        ck_assert_uint_eq(p[i]->ts, want[i].ts);
        ck_assert_int_eq(memcmp(p[i]->data, want[i].first, 4), 0);
        ck_assert_uint_eq(p[i]->lctr, 0);
    }
    /* Ethernet frames carry IPv4; the loopback one starts its IPv4 header
     * after the 4-byte family. */
    ck_assert_uint_eq(sd__be16(p[0]->data + 12), 0x0800);
    ck_assert_uint_eq(p[4]->data[4], 0x45);
    ck_assert_int_eq(sd_source_read(src, p, 16), SD_EOF);
    sd_source_stats st = {.size = sizeof st};
    ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
    ck_assert_uint_eq(st.packets, 5);
    ck_assert_uint_eq(st.skipped, 12);
    ck_assert_uint_eq(st.bytes, 96 + 342 + 96 + 96 + 168);
    sd_source_close(src);
}
END_TEST

/* A BPF filter compiles per link type: the NULL packet needs its own. */
START_TEST(test_complex_filter)
{
    sd_source *src = open_ok(sd_test_data("pcap/libtrace/complex.pcapng"));
    ck_assert_int_eq(sd_source_set_filter(src, "udp"), 0);
    long n;
    ck_assert_int_eq(drain(src, 64, &n), SD_EOF);
    ck_assert_int_eq(n, 5); /* 4 DHCP + 1 Dropbox LAN sync, all UDP */
    sd_source_close(src);
}
END_TEST

/* tests/data/pcapng/sections.pcapng (tests/data/gen-test-data.py): a
 * little-endian section (Ethernet in ns, raw IP in ms, an ISB, a custom
 * block, an SPB) then a big-endian one (NULL, 2^-20 s units, +100 s
 * if_tsoffset, snaplen 40, an SPB, an NRB). tshark agrees on every time. */
START_TEST(test_sections)
{
    const char *srcdir = getenv("SD_SRCDIR");
    ck_assert_ptr_nonnull(srcdir);
    char path[4200];
    snprintf(path, sizeof path, "%s/tests/data/pcapng/sections.pcapng", srcdir);
    for (int batch = 1; batch <= 64; batch += 63) {
        sd_source *src = open_ok(path);
        const sd_packet *p[64];
        const sd_packet *all[8];
        sd_packet copy[8];
        int n = 0, rc;
        while ((rc = sd_source_read(src, p, (size_t)batch)) > 0) {
            for (int i = 0; i < rc && n < 8; i++) {
                copy[n] = *p[i];
                all[n] = &copy[n];
                n++;
            }
        }
        ck_assert_int_eq(rc, SD_EOF);
        ck_assert_int_eq(n, 5);
        static const struct {
            uint16_t iface, linktype, flags;
            uint32_t caplen, wirelen;
            uint64_t ts;
        } want[5] = {
            {0, SD_LINK_ETHERNET, 0, 60, 60, UINT64_C(1577836800123456789)},
            {1, SD_LINK_RAW, 0, 46, 46, UINT64_C(1577836800250000000)},
            {0, SD_LINK_ETHERNET, SD_PKT_NO_TIMESTAMP, 60, 80, UINT64_C(1577836800250000000)},
            /* interfaces are numbered across sections, as in Wireshark */
            {2, SD_LINK_NULL, 0, 40, 50, UINT64_C(1577836800500000000)},
            {2, SD_LINK_NULL, SD_PKT_NO_TIMESTAMP, 40, 50, UINT64_C(1577836800500000000)},
        };
        for (int i = 0; i < 5; i++) {
            ck_assert_uint_eq(all[i]->iface, want[i].iface);
            ck_assert_uint_eq(all[i]->linktype, want[i].linktype);
            ck_assert_uint_eq(all[i]->flags, want[i].flags);
            ck_assert_uint_eq(all[i]->caplen, want[i].caplen);
            ck_assert_uint_eq(all[i]->wirelen, want[i].wirelen);
            ck_assert_uint_eq(all[i]->ts, want[i].ts);
        }
        sd_source_stats st = {.size = sizeof st};
        ck_assert_int_eq(sd_source_get_stats(src, &st), 0);
        ck_assert_uint_eq(st.skipped, 3);
        sd_source_close(src);
    }
}
END_TEST

/* Build a pcapng file in memory: little-endian, one Ethernet interface in
 * microseconds, `count` EPBs whose first 4 bytes hold their index, and
 * optionally one huge EPB (bigger than the 1 MiB read buffer) in the middle. */
static uint8_t *build_pcapng(uint32_t count, uint32_t huge, size_t *len)
{
    size_t cap = 64 + (size_t)count * 96 + huge + 64;
    uint8_t *b = calloc(1, cap);
    size_t o = 0;
    /* SHB */
    sd__put_le32(b + o, 0x0A0D0D0A);
    sd__put_le32(b + o + 4, 28);
    sd__put_le32(b + o + 8, 0x1A2B3C4D);
    sd__put_le16(b + o + 12, 1);
    memset(b + o + 16, 0xff, 8);
    sd__put_le32(b + o + 24, 28);
    o += 28;
    /* IDB */
    sd__put_le32(b + o, 1);
    sd__put_le32(b + o + 4, 20);
    sd__put_le16(b + o + 8, 1);
    sd__put_le32(b + o + 16, 20);
    o += 20;
    for (uint32_t i = 0; i < count; i++) {
        uint32_t cl = (i == count / 2 && huge) ? huge : 60;
        uint32_t bl = 32 + ((cl + 3) & ~3u);
        sd__put_le32(b + o, 6);
        sd__put_le32(b + o + 4, bl);
        uint64_t ts = UINT64_C(1577836800000000) + i;
        sd__put_le32(b + o + 12, (uint32_t)(ts >> 32));
        sd__put_le32(b + o + 16, (uint32_t)ts);
        sd__put_le32(b + o + 20, cl);
        sd__put_le32(b + o + 24, cl);
        sd__put_le32(b + o + 28, i);
        b[o + 28 + cl - 1] = 0xee;
        sd__put_le32(b + o + bl - 4, bl);
        o += bl;
    }
    *len = o;
    return b;
}

START_TEST(test_large_and_huge_blocks)
{
    const uint32_t count = 40000, huge = 3u << 20;
    size_t len;
    uint8_t *f = build_pcapng(count, huge, &len);
    const char *dir = make_tmpdir();
    char path[4200];
    snprintf(path, sizeof path, "%s/big.pcapng", dir);
    sd_test_write_file(path, f, len);
    for (int mode = 0; mode < 2; mode++) {
        sd_source *src;
        char eb[SD_ERRBUF_SIZE];
        if (mode == 0)
            ck_assert_int_eq(sd_source_open(&src, path, eb), 0);
        else
            ck_assert_int_eq(sd__source_open_buffer(&src, "pcapng", "big", f, len, eb), 0);
        const sd_packet *p[1024];
        uint32_t seen = 0;
        int rc;
        while ((rc = sd_source_read(src, p, 1024)) > 0) {
            /* Check after the call: all of a batch must still be intact. */
            for (int i = 0; i < rc; i++, seen++) {
                ck_assert_uint_eq(sd__le32(p[i]->data), seen);
                ck_assert_uint_eq(p[i]->caplen, seen == count / 2 ? huge : 60);
                ck_assert_uint_eq(p[i]->data[p[i]->caplen - 1], 0xee);
                ck_assert_uint_eq(p[i]->ts, (UINT64_C(1577836800000000) + seen) * 1000u);
            }
        }
        ck_assert_int_eq(rc, SD_EOF);
        ck_assert_uint_eq(seen, count);
        sd_source_close(src);
    }
    free(f);
    rm_tmpdir(dir);
}
END_TEST

START_TEST(test_stdin)
{
    int fd = open(sd_test_data("pcap/libtrace/complex.pcapng"), O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(dup2(fd, 0), 0);
    close(fd);
    sd_source *src = open_ok("-");
    long n;
    ck_assert_int_eq(drain(src, 2, &n), SD_EOF);
    ck_assert_int_eq(n, 5);
    sd_source_close(src);
}
END_TEST

START_TEST(test_bad_files)
{
    ck_assert_int_ge(run_bad_files("pcapng", "pcapng", ".pcapng"), 14);
}
END_TEST

START_TEST(test_not_pcapng)
{
    sd_source *src;
    char eb[SD_ERRBUF_SIZE], uri[4200];
    snprintf(uri, sizeof uri, "pcapng:%s", sd_test_data("pcap/libtrace/100_packets.pcap"));
    ck_assert_int_eq(sd_source_open(&src, uri, eb), SD_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(eb, "not a pcapng file"));
    ck_assert_int_eq(sd_source_open(&src, "pcapng:/nonexistent.pcapng", eb), SD_ERR_NOTFOUND);
    uint8_t empty[1];
    ck_assert_int_eq(sd__source_open_buffer(&src, "pcapng", "empty", empty, 0, eb), SD_ERR_FORMAT);
    ck_assert_ptr_nonnull(strstr(eb, "empty file"));
    ck_assert_int_eq(sd__source_open_buffer(&src, "nope", "x", empty, 0, eb), SD_ERR_UNSUPPORTED);
}
END_TEST

/* Fail allocation N = 0, 1, ... in open and then in reading (interface
 * table growth) until everything succeeds. */
START_TEST(test_oom)
{
    const char *path = sd_test_data("pcap/libtrace/complex.pcapng");
    int ok = 0;
    for (long n = 0; n < 100 && !ok; n++) {
        sd_source *src = NULL;
        char eb[SD_ERRBUF_SIZE] = "";
        sd__alloc_fail_after = n;
        int rc = sd_source_open(&src, path, eb);
        if (rc == 0) {
            long np;
            rc = drain(src, 64, &np);
            sd__alloc_fail_after = -1;
            if (rc == SD_EOF) {
                ck_assert_int_eq(np, 5);
                ok = 1;
            } else {
                ck_assert_msg(rc == SD_ERR_NOMEM, "allocation %ld: %s", n, sd_errname(rc));
                ck_assert_ptr_nonnull(strstr(sd_errmsg(src), "out of memory"));
            }
            sd_source_close(src);
        } else {
            sd__alloc_fail_after = -1;
            ck_assert_msg(rc == SD_ERR_NOMEM, "allocation %ld: %s (%s)", n, sd_errname(rc), eb);
            ck_assert_ptr_null(src);
        }
    }
    ck_assert(ok);
}
END_TEST

static Suite *pcapng_suite(void)
{
    Suite *s = suite_create("pcapng");
    TCase *tc = tcase_create("read");
    tcase_add_test(tc, test_100_packets_equal_pcap);
    tcase_add_test(tc, test_complex);
    tcase_add_test(tc, test_complex_filter);
    tcase_add_test(tc, test_sections);
    tcase_add_test(tc, test_large_and_huge_blocks);
    tcase_add_test(tc, test_stdin);
    suite_add_tcase(s, tc);
    tc = tcase_create("errors");
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_not_pcapng);
    tcase_add_test(tc, test_oom);
    suite_add_tcase(s, tc);
    return s;
}

int main(void) { return sd_test_run(pcapng_suite()); }
