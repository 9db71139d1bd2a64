/* stardust: output files that appear under their final name only when
 * complete. Writers write PATH.tmp-<6 random characters> and rename it into place on
 * commit, so a reader (or a crash) never sees half a file under PATH.
 * Devices and FIFOs (e.g. /dev/null) are written in place: renaming over
 * them would replace the device node with a regular file. */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

void sd__random_bytes(void *buf, size_t n)
{
    if (getrandom(buf, n, GRND_NONBLOCK) == (ssize_t)n)
        return;
    static _Atomic uint64_t counter;
    uint64_t x = (uint64_t)time(NULL) * 6364136223846793005u + (uint64_t)getpid() +
                 (uintptr_t)buf + 0x9e3779b97f4a7c15u * ++counter;
    for (size_t i = 0; i < n; i++) {
        x = x * 6364136223846793005u + 1442695040888963407u;
        ((unsigned char *)buf)[i] = (unsigned char)(x >> 56);
    }
}

static int create_tmp(struct sd__output *o, char *errbuf)
{
    static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    size_t plen = strlen(o->path);
    o->tmp = sd__malloc(plen + sizeof ".tmp-" + 6);
    if (o->tmp == NULL)
        return sd__errbuf(errbuf, SD_ERR_NOMEM, "%s: out of memory", o->path);
    for (int attempt = 0; attempt < 100; attempt++) {
        unsigned char rnd[6];
        sd__random_bytes(rnd, sizeof rnd); /* O_EXCL below keeps it safe anyway */
        memcpy(o->tmp, o->path, plen);
        memcpy(o->tmp + plen, ".tmp-", 5);
        for (size_t i = 0; i < sizeof rnd; i++)
            o->tmp[plen + 5 + i] = alphabet[rnd[i] % (sizeof alphabet - 1)];
        o->tmp[plen + 11] = '\0';
        /* 0666 less the umask, as creat() gives; mkstemp() would give 0600. */
        o->fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (o->fd >= 0)
            return 0;
        if (errno != EEXIST) {
            int e = errno;
            int rc = sd__errno_to_err(e);
            if (rc == SD_ERR_INVAL || rc == SD_ERR_NOMEM)
                rc = SD_ERR_IO;
            sd__errbuf(errbuf, rc, "%s: cannot create %s: %s", o->path, o->tmp, strerror(e));
            sd__free(o->tmp);
            o->tmp = NULL;
            return rc;
        }
    }
    sd__free(o->tmp);
    o->tmp = NULL;
    return sd__errbuf(errbuf, SD_ERR_IO, "%s: cannot create a temporary file name", o->path);
}

int sd__output_open(struct sd__output *o, const char *path, char *errbuf)
{
    o->fd = -1;
    o->to_stdout = 0;
    o->tmp = NULL;
    o->path = path;
    if (strcmp(path, "-") == 0) {
        o->to_stdout = 1;
        o->fd = STDOUT_FILENO;
        return 0;
    }
    struct stat sb;
    if (stat(path, &sb) == 0 && !S_ISREG(sb.st_mode)) {
        if (S_ISDIR(sb.st_mode))
            return sd__errbuf(errbuf, SD_ERR_INVAL, "%s: is a directory", path);
        o->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
        if (o->fd < 0) {
            int e = errno;
            return sd__errbuf(errbuf, sd__errno_to_err(e), "%s: %s", path, strerror(e));
        }
        return 0;
    }
    return create_tmp(o, errbuf);
}

int sd__output_commit(struct sd__output *o, char *msg, size_t msgsize)
{
    int rc = 0;
    if (o->to_stdout || o->fd < 0)
        return 0;
    int fd = o->fd;
    o->fd = -1;
    if (close(fd) != 0) {
        int e = errno;
        snprintf(msg, msgsize, "%s: close: %s", o->path, strerror(e));
        rc = SD_ERR_IO;
    } else if (o->tmp != NULL && rename(o->tmp, o->path) != 0) {
        int e = errno;
        snprintf(msg, msgsize, "%s: cannot rename %s into place: %s", o->path, o->tmp, strerror(e));
        rc = sd__errno_to_err(e);
    }
    if (rc == 0) {
        sd__free(o->tmp);
        o->tmp = NULL; /* renamed: nothing left to remove */
    }
    sd__output_abort(o);
    return rc;
}

void sd__output_abort(struct sd__output *o)
{
    if (!o->to_stdout && o->fd >= 0)
        close(o->fd);
    o->fd = -1;
    if (o->tmp != NULL) {
        unlink(o->tmp);
        sd__free(o->tmp);
        o->tmp = NULL;
    }
}

int sd__output_write(struct sd__output *o, const void *b, size_t n)
{
    const uint8_t *p = b;
    while (n > 0) {
        ssize_t k = write(o->fd, p, n);
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

int sd__output_write_h(struct sd__output *o, struct sd__handle *h, const void *b, size_t n)
{
    if (sd__output_write(o, b, n) == 0)
        return 0;
    int e = errno;
    return sd__seterr(h, SD_ERR_IO, "%s: write: %s", o->path, strerror(e));
}
