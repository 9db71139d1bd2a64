/* Test driver for tests/integration/ft4-real.sh: FT3 records as
 * tab-separated lines on stdin (the 19 fields of flowtuple3.avsc in schema
 * order, geo strings as two characters), folded with sd_ft4, FT4 records
 * printed on stdout as JSON lines (the 28 fields of flowtuple4.avsc in
 * schema order, with "interval_last" after each interval's final record).
 *
 *   ft4_fold [PREFIX_LEN [INTERVAL [VERSION]]]
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/ft4.h>

static void list(const char *name, const char *freqs, const sd_ft4_common *c)
{
    printf(", \"%s\": [", name);
    for (uint32_t i = 0; i < c->n; i++)
        printf("%s%" PRIu64, i ? ", " : "", c->value[i]);
    printf("], \"%s\": [", freqs);
    for (uint32_t i = 0; i < c->n; i++)
        printf("%s%" PRIu64, i ? ", " : "", c->freq[i]);
    printf("]");
}

static int emit(void *ud, const sd_ft_chunk_info *info, const sd_ft4_record *recs, size_t n)
{
    (void)ud;
    for (size_t i = 0; i < n; i++) {
        const sd_ft4_record *r = &recs[i];
        printf("{\"time\": %u, \"src_ip\": %u, \"dst_net\": %u, \"dst_port\": %u, "
               "\"protocol\": %u, \"packet_cnt\": %" PRIu64 ", \"uniq_dst_ips\": %u, "
               "\"uniq_pkt_sizes\": %u, \"uniq_ttls\": %u, \"uniq_src_ports\": %u, "
               "\"uniq_tcp_flags\": %u, \"first_syn_length\": %u, \"first_tcp_rwin\": %u",
               r->time, r->src_ip, r->dst_net, r->dst_port, r->protocol, r->packet_cnt,
               r->uniq_dst_ips, r->uniq_pkt_sizes, r->uniq_ttls, r->uniq_src_ports,
               r->uniq_tcp_flags, r->first_syn_length, r->first_tcp_rwin);
        list("common_pktsizes", "common_pktsize_freqs", &r->common_pktsizes);
        list("common_ttls", "common_ttl_freqs", &r->common_ttls);
        list("common_srcports", "common_srcport_freqs", &r->common_srcports);
        list("common_tcpflags", "common_tcpflag_freqs", &r->common_tcpflags);
        printf(", \"maxmind_continent\": \"%.2s\", \"maxmind_country\": \"%.2s\", "
               "\"netacq_continent\": \"%.2s\", \"netacq_country\": \"%.2s\", "
               "\"prefix2asn\": %u, \"spoofed_packet_cnt\": %" PRIu64
               ", \"masscan_packet_cnt\": %" PRIu64 "}\n",
               r->maxmind_continent, r->maxmind_country, r->netacq_continent,
               r->netacq_country, r->prefix2asn, r->spoofed_packet_cnt, r->masscan_packet_cnt);
    }
    if (info->final)
        printf("{\"interval_last\": %" PRIu64 "}\n", info->time);
    return 0;
}

int main(int argc, char **argv)
{
    sd_ft4_config cfg;
    sd_ft4_config_init(&cfg);
    if (argc > 1)
        cfg.dst_prefix_len = (uint8_t)atoi(argv[1]);
    if (argc > 2)
        cfg.interval = (uint32_t)strtoul(argv[2], NULL, 10);
    if (argc > 3)
        cfg.version = (uint8_t)atoi(argv[3]);
    char err[SD_ERRBUF_SIZE];
    sd_ft4 *f;
    if (sd_ft4_create(&f, &cfg, emit, NULL, err) != 0) {
        fprintf(stderr, "ft4_fold: %s\n", err);
        return 2;
    }
    char line[512];
    unsigned long line_no = 0;
    while (fgets(line, sizeof line, stdin) != NULL) {
        line_no++;
        unsigned v[14];
        unsigned long long cnt;
        char g[4][3];
        unsigned asn;
        if (sscanf(line, "%u %u %u %u %u %u %u %u %u %u %u %llu %u %u %2s %2s %2s %2s %u", &v[0],
                   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8], &v[9], &v[10], &cnt,
                   &v[12], &v[13], g[0], g[1], g[2], g[3], &asn) != 19) {
            fprintf(stderr, "ft4_fold: line %lu: expected 19 fields\n", line_no);
            return 2;
        }
        sd_ft3_record r;
        memset(&r, 0, sizeof r);
        r.time = v[0];
        r.src_ip = v[1];
        r.dst_ip = v[2];
        r.src_port = (uint16_t)v[3];
        r.dst_port = (uint16_t)v[4];
        r.protocol = (uint8_t)v[5];
        r.ttl = (uint8_t)v[6];
        r.tcp_flags = (uint8_t)v[7];
        r.ip_len = (uint16_t)v[8];
        r.tcp_synlen = (uint16_t)v[9];
        r.tcp_synwinlen = (uint16_t)v[10];
        r.packet_cnt = cnt;
        r.is_spoofed = (uint8_t)v[12];
        r.is_masscan = (uint8_t)v[13];
        memcpy(r.maxmind_continent, g[0], 2);
        memcpy(r.maxmind_country, g[1], 2);
        memcpy(r.netacq_continent, g[2], 2);
        memcpy(r.netacq_country, g[3], 2);
        r.prefix2asn = asn;
        if (sd_ft4_add(f, &r, 1) != 0) {
            fprintf(stderr, "ft4_fold: %s\n", sd_errmsg(f));
            return 1;
        }
    }
    int rc = sd_ft4_flush(f);
    sd_ft4_stats st = {.size = sizeof st};
    if (rc == 0)
        rc = sd_ft4_get_stats(f, &st);
    fprintf(stderr, "ft4_fold: %" PRIu64 " FT3 records (%" PRIu64 " early), %" PRIu64
            " FT4 records in %" PRIu64 " intervals\n",
            st.records_in, st.early_records, st.records_out, st.intervals);
    sd_ft4_destroy(f);
    return rc == 0 ? 0 : 1;
}
