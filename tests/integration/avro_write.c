/* Test helper for avro-python.sh: write N pseudo-random FT3 or FT4 records
 * with the given codec and block size, and print the same records as JSON
 * lines (field names of the schema files) on standard output.
 * Usage: avro_write ft3|ft4 null|deflate|snappy BLOCKSIZE N OUT.avro */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/stardust.h>

static uint64_t g_rng = 0x9e3779b97f4a7c15ull;
static uint64_t rnd(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return g_rng;
}

static const char *const geo[] = {"??", "US", "ZA", "AF", "EU", "BR", "SA", "NA"};

static void geo_pick(char out[2]) { memcpy(out, geo[rnd() % 8], 2); }

static void print_list(const char *name, const uint64_t *v, uint32_t n)
{
    printf(",\"%s\":[", name);
    for (uint32_t i = 0; i < n; i++)
        printf("%s%" PRIu64, i ? "," : "", v[i]);
    printf("]");
}

static void make_common(sd_ft4_common *c)
{
    c->n = (uint32_t)(rnd() % (SD_FT4_MAX_COMMON + 1));
    for (uint32_t k = 0; k < c->n; k++) {
        c->value[k] = k * 1000 + rnd() % 1000;
        c->freq[k] = rnd() % 5000000000ull;
    }
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: avro_write ft3|ft4 CODEC BLOCKSIZE N OUT\n");
        return 2;
    }
    int ft4 = strcmp(argv[1], "ft4") == 0;
    sd_avro_writer_opts o;
    sd_avro_writer_opts_init(&o);
    o.codec = strcmp(argv[2], "null") == 0 ? SD_AVRO_NULL : strcmp(argv[2], "snappy") == 0 ? SD_AVRO_SNAPPY
                                                                                           : SD_AVRO_DEFLATE;
    o.block_size = strtoul(argv[3], NULL, 10);
    o.done_file = 1;
    long n = strtol(argv[4], NULL, 10);
    sd_avro_writer *w;
    char errbuf[SD_ERRBUF_SIZE];
    int rc = sd_avro_writer_open(&w, argv[5], sd_avro_schema_json(ft4 ? SD_AVRO_SCHEMA_FT4 : SD_AVRO_SCHEMA_FT3),
                                 &o, errbuf);
    if (rc < 0) {
        fprintf(stderr, "avro_write: %s\n", errbuf);
        return 1;
    }
    if (ft4 && (sd_avro_writer_set_meta(w, "stardust.ft4.dst_prefix_len", "24") < 0 ||
                sd_avro_writer_set_meta(w, "stardust.ft4.interval", "300") < 0))
        return 1;
    for (long i = 0; i < n; i++) {
        if (!ft4) {
            sd_ft3_record r;
            memset(&r, 0, sizeof r);
            r.time = 1700000000u + (uint32_t)(i / 100);
            r.src_ip = (uint32_t)rnd();
            r.dst_ip = (uint32_t)rnd();
            r.src_port = (uint16_t)rnd();
            r.dst_port = (uint16_t)rnd();
            r.protocol = (uint8_t)rnd();
            r.ttl = (uint8_t)rnd();
            r.tcp_flags = (uint8_t)rnd();
            r.ip_len = (uint16_t)rnd();
            r.tcp_synlen = (uint16_t)(rnd() % 61);
            r.tcp_synwinlen = (uint16_t)rnd();
            r.packet_cnt = i % 13 == 0 ? (1ull << 40) + (uint64_t)i : 1 + rnd() % 1000;
            r.is_spoofed = (uint8_t)(rnd() & 1);
            r.is_masscan = (uint8_t)(rnd() & 1);
            geo_pick(r.maxmind_continent);
            geo_pick(r.maxmind_country);
            geo_pick(r.netacq_continent);
            geo_pick(r.netacq_country);
            r.prefix2asn = (uint32_t)rnd();
            if (sd_avro_write_ft3(w, &r, 1) != 1)
                goto fail;
            printf("{\"time\":%u,\"src_ip\":%u,\"dst_ip\":%u,\"src_port\":%u,\"dst_port\":%u,\"protocol\":%u,"
                   "\"ttl\":%u,\"tcp_flags\":%u,\"ip_len\":%u,\"tcp_synlen\":%u,\"tcp_synwinlen\":%u,"
                   "\"packet_cnt\":%" PRIu64 ",\"is_spoofed\":%u,\"is_masscan\":%u,\"maxmind_continent\":\"%.2s\","
                   "\"maxmind_country\":\"%.2s\",\"netacq_continent\":\"%.2s\",\"netacq_country\":\"%.2s\","
                   "\"prefix2asn\":%u}\n",
                   r.time, r.src_ip, r.dst_ip, r.src_port, r.dst_port, r.protocol, r.ttl, r.tcp_flags, r.ip_len,
                   r.tcp_synlen, r.tcp_synwinlen, r.packet_cnt, r.is_spoofed, r.is_masscan, r.maxmind_continent,
                   r.maxmind_country, r.netacq_continent, r.netacq_country, r.prefix2asn);
        } else {
            sd_ft4_record r;
            memset(&r, 0, sizeof r);
            r.time = 1700000000u + 300u * (uint32_t)(i / 100);
            r.src_ip = (uint32_t)rnd();
            r.dst_net = (uint32_t)rnd() & 0xffffff00u;
            r.dst_port = (uint32_t)(rnd() % 65536);
            r.protocol = (uint8_t)rnd();
            r.packet_cnt = 1 + rnd() % 100000000000ull;
            r.uniq_dst_ips = (uint32_t)(rnd() % 256);
            r.uniq_pkt_sizes = (uint32_t)(rnd() % 1500);
            r.uniq_ttls = (uint32_t)(rnd() % 256);
            r.uniq_src_ports = (uint32_t)(rnd() % 65536);
            r.uniq_tcp_flags = (uint32_t)(rnd() % 256);
            r.first_syn_length = (uint32_t)(rnd() % 61);
            r.first_tcp_rwin = (uint32_t)(rnd() % 65536);
            make_common(&r.common_pktsizes);
            make_common(&r.common_ttls);
            make_common(&r.common_srcports);
            make_common(&r.common_tcpflags);
            geo_pick(r.maxmind_continent);
            geo_pick(r.maxmind_country);
            geo_pick(r.netacq_continent);
            geo_pick(r.netacq_country);
            r.prefix2asn = (uint32_t)rnd();
            r.spoofed_packet_cnt = rnd() % r.packet_cnt;
            r.masscan_packet_cnt = rnd() % r.packet_cnt;
            if (sd_avro_write_ft4(w, &r, 1) != 1)
                goto fail;
            printf("{\"time\":%u,\"src_ip\":%u,\"dst_net\":%u,\"dst_port\":%u,\"protocol\":%u,"
                   "\"packet_cnt\":%" PRIu64 ",\"uniq_dst_ips\":%u,\"uniq_pkt_sizes\":%u,\"uniq_ttls\":%u,"
                   "\"uniq_src_ports\":%u,\"uniq_tcp_flags\":%u,\"first_syn_length\":%u,\"first_tcp_rwin\":%u",
                   r.time, r.src_ip, r.dst_net, r.dst_port, r.protocol, r.packet_cnt, r.uniq_dst_ips,
                   r.uniq_pkt_sizes, r.uniq_ttls, r.uniq_src_ports, r.uniq_tcp_flags, r.first_syn_length,
                   r.first_tcp_rwin);
            print_list("common_pktsizes", r.common_pktsizes.value, r.common_pktsizes.n);
            print_list("common_pktsize_freqs", r.common_pktsizes.freq, r.common_pktsizes.n);
            print_list("common_ttls", r.common_ttls.value, r.common_ttls.n);
            print_list("common_ttl_freqs", r.common_ttls.freq, r.common_ttls.n);
            print_list("common_srcports", r.common_srcports.value, r.common_srcports.n);
            print_list("common_srcport_freqs", r.common_srcports.freq, r.common_srcports.n);
            print_list("common_tcpflags", r.common_tcpflags.value, r.common_tcpflags.n);
            print_list("common_tcpflag_freqs", r.common_tcpflags.freq, r.common_tcpflags.n);
            printf(",\"maxmind_continent\":\"%.2s\",\"maxmind_country\":\"%.2s\",\"netacq_continent\":\"%.2s\","
                   "\"netacq_country\":\"%.2s\",\"prefix2asn\":%u,\"spoofed_packet_cnt\":%" PRIu64
                   ",\"masscan_packet_cnt\":%" PRIu64 "}\n",
                   r.maxmind_continent, r.maxmind_country, r.netacq_continent, r.netacq_country, r.prefix2asn,
                   r.spoofed_packet_cnt, r.masscan_packet_cnt);
        }
    }
    if (sd_avro_writer_close(w, errbuf) < 0) {
        fprintf(stderr, "avro_write: %s\n", errbuf);
        return 1;
    }
    return 0;
fail:
    fprintf(stderr, "avro_write: %s\n", sd_errmsg(w));
    sd_avro_writer_discard(w);
    return 1;
}
