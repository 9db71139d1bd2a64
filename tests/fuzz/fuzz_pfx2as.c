/* Fuzz target: the pfx2as loader (tags.md §5.1), plain and gzip, through
 * the public sd_pfx2as_open() on an in-memory file (memfd), so zlib's
 * detection of gzip versus plain text is exercised as in real use.
 * A load either fails with a "path:" message and no table, or every
 * lookup answers a well-formed origin list held by the table. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <stardust/pfx2as.h>

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);

static int memfile(const uint8_t *d, size_t n, char *path, size_t pathsize)
{
    int fd = memfd_create("fuzz.pfx2as", 0);
    if (fd < 0)
        abort();
    for (size_t off = 0; off < n;) {
        ssize_t w = write(fd, d + off, n - off);
        if (w <= 0)
            abort();
        off += (size_t)w;
    }
    snprintf(path, pathsize, "/proc/self/fd/%d", fd);
    return fd;
}

static void check_answer(size_t k, const uint32_t *asns)
{
    /* only the list itself is checked: which one is right is the unit
     * tests' job (check_lpm compares with a reference reading) */
    if ((k == 0) != (asns == NULL) || k > 1024)
        abort();
    /* the list is duplicate-free (ASan checks it lies in the table) */
    for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < i; j++)
            if (asns[i] == asns[j])
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *d, size_t n)
{
    char path[64], err[SD_ERRBUF_SIZE];
    int fd = memfile(d, n, path, sizeof path);
    sd_pfx2as *t = (sd_pfx2as *)1;
    int rc = sd_pfx2as_open(&t, path, err);
    close(fd);
    if (rc != 0) {
        size_t pl = strlen(path);
        if (rc >= 0 || t != NULL || strncmp(err, path, pl) != 0 || err[pl] != ':' ||
            strlen(err) >= SD_ERRBUF_SIZE)
            abort();
        return 0;
    }
    if (t == NULL || sd_pfx2as_memory(t) == 0)
        abort();
    if (sd_pfx2as_count(t, 4) + sd_pfx2as_count(t, 6) > 0 && sd_pfx2as_origin_lists(t) == 0)
        abort();
    /* Look up addresses taken from the input and their neighbours. */
    const uint32_t *asns;
    size_t k;
    for (size_t off = 0; off + 16 <= n && off < 4096; off += 7) {
        uint8_t a6[16];
        memcpy(a6, d + off, 16);
        uint32_t a4 = (uint32_t)a6[0] << 24 | (uint32_t)a6[1] << 16 | (uint32_t)a6[2] << 8 | a6[3];
        k = sd_pfx2as_lookup4(t, a4, &asns);
        check_answer(k, asns);
        k = sd_pfx2as_lookup4(t, ~a4, &asns);
        check_answer(k, asns);
        k = sd_pfx2as_lookup6(t, a6, &asns);
        check_answer(k, asns);
    }
    static const uint8_t zero[16], ones[16] = { 255, 255, 255, 255, 255, 255, 255, 255,
                                                255, 255, 255, 255, 255, 255, 255, 255 };
    k = sd_pfx2as_lookup4(t, 0, &asns);
    check_answer(k, asns);
    k = sd_pfx2as_lookup4(t, UINT32_MAX, &asns);
    check_answer(k, asns);
    k = sd_pfx2as_lookup6(t, zero, &asns);
    check_answer(k, asns);
    k = sd_pfx2as_lookup6(t, ones, &asns);
    check_answer(k, asns);
    sd_pfx2as_close(t);
    return 0;
}
