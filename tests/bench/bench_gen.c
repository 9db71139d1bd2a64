/* bench_gen: packets per second of sd_gen_next() on the default traffic mix.
 *
 * Baseline, measured in the same run: the floor of any template-based
 * generator, i.e. copying a 64-byte template per packet into a batch arena
 * and filling its descriptor, with one random field patched. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stardust/gen.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(void)
{
    const uint64_t n = 20000000;
    char errbuf[SD_ERRBUF_SIZE];
    sd_gen_config cfg;
    sd_gen_config_init(&cfg);
    cfg.count = n;
    sd_gen *g;
    if (sd_gen_create(&g, &cfg, errbuf) < 0) {
        fprintf(stderr, "bench_gen: %s\n", errbuf);
        return 1;
    }
    const sd_packet *pkts[1024];
    uint64_t made = 0, bytes = 0;
    int got;
    double t0 = now_s();
    while ((got = sd_gen_next(g, pkts, 1024)) > 0) {
        bytes += pkts[got - 1]->caplen;
        made += (uint64_t)got;
    }
    double gen_s = now_s() - t0;
    sd_gen_destroy(g);
    if (made != n) {
        fprintf(stderr, "bench_gen: made %llu packets, wanted %llu\n", (unsigned long long)made,
                (unsigned long long)n);
        return 1;
    }

    static uint8_t arena[1024 * 80];
    static sd_packet desc[1024];
    uint8_t tmpl[64];
    memset(tmpl, 0x45, sizeof tmpl);
    uint64_t x = 88172645463325252ull;
    t0 = now_s();
    for (uint64_t i = 0; i < n; i += 1024) {
        for (unsigned j = 0; j < 1024; j++) {
            uint8_t *p = arena + j * 80;
            memcpy(p, tmpl, 64);
            x ^= x << 13; /* xorshift64 */
            x ^= x >> 7;
            x ^= x << 17;
            memcpy(p + 30, &x, 4);
            desc[j].ts = i + j;
            desc[j].data = p;
            desc[j].caplen = desc[j].wirelen = 60;
        }
        __asm__ __volatile__("" : : "r"(arena), "r"(desc) : "memory");
    }
    double base_s = now_s() - t0;

    double v = (double)n / gen_s / 1e6, b = (double)n / base_s / 1e6;
    printf("{\"bench\":\"gen\",\"metric\":\"mpps\",\"value\":%.2f,\"baseline\":\"copy_64B_template\","
           "\"baseline_value\":%.2f,\"ratio\":%.3f,\"goal\":\">=10 Mpps\",\"packets\":%llu}\n",
           v, b, v / b, (unsigned long long)n);
    return bytes == 0; /* keep the loop's result alive */
}
