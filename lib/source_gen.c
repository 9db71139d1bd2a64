/* stardust: the gen: source, synthetic telescope traffic read like a file.
 *
 *   sd_source_open(&src, "gen:count=1000,seed=7", errbuf)
 *
 * The text after "gen:" is a sd_gen_config_parse() list; "gen:" alone
 * gives the defaults (10 s at 100000 packets/s). */
#include "config.h"

#include <wandio.h>

#include <stardust/gen.h>
#include "source_int.h"

static int gen_read(struct sd_source *src, const sd_packet **pkts, size_t n)
{
    /* sd_gen_next() returns a count or SD_EOF; nothing else can fail. */
    return sd_gen_next(src->impl, pkts, n);
}

static void gen_close(struct sd_source *src)
{
    sd_gen_destroy(src->impl);
    src->impl = NULL;
}

static const struct sd__source_ops gen_ops = {
    .name = "gen",
    .start = NULL,
    .read = gen_read,
    .stats = NULL,
    .close = gen_close,
};

int sd__source_gen_open(struct sd_source *src, const char *path, void *io, char *errbuf)
{
    if (io != NULL)
        wandio_destroy(io);
    sd_gen_config cfg;
    sd_gen_config_init(&cfg);
    char why[SD_ERRBUF_SIZE];
    int rc = sd_gen_config_parse(&cfg, path, why);
    sd_gen *g = NULL;
    if (rc == 0)
        rc = sd_gen_create(&g, &cfg, why);
    if (rc < 0)
        return sd__errbuf(errbuf, rc, "gen:%s: %s", path, why);
    src->ops = &gen_ops;
    src->impl = g;
    return 0;
}
