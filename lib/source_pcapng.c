/* placeholder: replaced by the pcapng backend */
#include "config.h"
#include "source_int.h"
int sd__source_pcapng_open(struct sd_source *src, const char *path, void *io, char *errbuf)
{
    (void)src;
    (void)io;
    extern void wandio_destroy(void *);
    if (io != NULL)
        wandio_destroy(io);
    return sd__errbuf(errbuf, SD_ERR_UNSUPPORTED, "%s: pcapng reader not built yet", path);
}
