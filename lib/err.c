/* stardust: error codes, messages and allocation wrappers. */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <stardust/err.h>
#include <sys/mman.h>

#include "internal.h"

static const struct {
    int code;
    const char *name;
    const char *text;
} err_table[] = {
    {SD_OK, "SD_OK", "success"},
    {SD_ERR_NOMEM, "SD_ERR_NOMEM", "out of memory"},
    {SD_ERR_INVAL, "SD_ERR_INVAL", "invalid argument"},
    {SD_ERR_IO, "SD_ERR_IO", "input/output error"},
    {SD_ERR_FORMAT, "SD_ERR_FORMAT", "input is not in the expected format"},
    {SD_ERR_STATE, "SD_ERR_STATE", "call not valid in the handle's current state"},
    {SD_ERR_VERSION, "SD_ERR_VERSION", "unsupported format or protocol version"},
    {SD_ERR_TRUNCATED, "SD_ERR_TRUNCATED", "input ends in the middle of a record"},
    {SD_ERR_NOTFOUND, "SD_ERR_NOTFOUND", "no such file, interface or key"},
    {SD_EOF, "SD_EOF", "end of input"},
    {SD_ERR_UNSUPPORTED, "SD_ERR_UNSUPPORTED", "not supported"},
    {SD_ERR_PERM, "SD_ERR_PERM", "permission denied"},
    {SD_ERR_FILTER, "SD_ERR_FILTER", "filter expression does not compile"},
};

const char *sd_strerror(int err)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].code == err)
            return err_table[i].text;
    return err > 0 ? "success" : "unknown error";
}

const char *sd_errname(int err)
{
    for (size_t i = 0; i < sizeof err_table / sizeof err_table[0]; i++)
        if (err_table[i].code == err)
            return err_table[i].name;
    return "SD_ERR_UNKNOWN";
}

const char *sd_errmsg(const void *handle)
{
    const struct sd__handle *h = handle;
    if (h == NULL || h->magic != SD__MAGIC)
        return "";
    return h->errmsg;
}

void sd__handle_init(struct sd__handle *h)
{
    h->magic = SD__MAGIC;
    h->errmsg[0] = '\0';
    h->log = NULL;
    h->log_userdata = NULL;
}

int sd__seterr(struct sd__handle *h, int err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(h->errmsg, sizeof h->errmsg, fmt, ap);
    va_end(ap);
    return err;
}

int sd__errbuf(char *errbuf, int err, const char *fmt, ...)
{
    if (errbuf != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errbuf, SD_ERRBUF_SIZE, fmt, ap);
        va_end(ap);
    }
    return err;
}

int sd__errno_to_err(int errnum)
{
    switch (errnum) {
    case ENOENT:
    case ENODEV:
    case ENXIO:
        return SD_ERR_NOTFOUND;
    case EACCES:
    case EPERM:
        return SD_ERR_PERM;
    case ENOMEM:
        return SD_ERR_NOMEM;
    case EINVAL:
        return SD_ERR_INVAL;
    default:
        return SD_ERR_IO;
    }
}

void sd__log(struct sd__handle *h, int level, const char *fmt, ...)
{
    if (h->log == NULL)
        return;
    char msg[SD__ERRMSG_SIZE];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    h->log(h->log_userdata, level, msg);
}

long sd__alloc_fail_after = -1;

static int alloc_should_fail(void)
{
    if (sd__alloc_fail_after < 0)
        return 0;
    if (sd__alloc_fail_after == 0)
        return 1;
    sd__alloc_fail_after--;
    return 0;
}

void *sd__malloc(size_t n) { return alloc_should_fail() ? NULL : malloc(n); }
void *sd__calloc(size_t n, size_t size) { return alloc_should_fail() ? NULL : calloc(n, size); }
void *sd__realloc(void *p, size_t n) { return alloc_should_fail() ? NULL : realloc(p, n); }

void *sd__aligned_alloc(size_t align, size_t n)
{
    if (alloc_should_fail() || n > SIZE_MAX - align)
        return NULL;
    return aligned_alloc(align, (n + align - 1) / align * align);
}

void *sd__map_zeroed(size_t n)
{
    if (alloc_should_fail())
        return NULL;
    void *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

void sd__unmap(void *p, size_t n)
{
    if (p != NULL)
        munmap(p, n);
}

void sd__advise_huge(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    uintptr_t a = ((uintptr_t)p + SD__HUGE_PAGE - 1) & ~(uintptr_t)(SD__HUGE_PAGE - 1);
    uintptr_t e = ((uintptr_t)p + bytes) & ~(uintptr_t)(SD__HUGE_PAGE - 1);
    if (p != NULL && e > a)
        (void)madvise((void *)a, e - a, MADV_HUGEPAGE);
#else
    (void)p;
    (void)bytes;
#endif
}

int sd__grow(void **p, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 1024;
    while (n < need)
        n *= 2;
    void *q = sd__realloc(*p, n * elem);
    if (q == NULL)
        return SD_ERR_NOMEM;
    *p = q;
    *cap = n;
    return 0;
}

static uint32_t hash_bytes(const void *rec, size_t size)
{
    const uint8_t *p = rec;
    uint32_t h = 2166136261u;
    for (size_t i = 0; i < size; i++) {
        h ^= p[i];
        h *= 16777619u;
    }
    return h ^ (h >> 16);
}

long sd__intern(void **recs, size_t *n, size_t *cap, size_t size, uint32_t **hash,
                size_t *hashcap, size_t max, const void *rec)
{
    if ((*n + 1) * 2 > *hashcap) {
        size_t hcap = *hashcap ? *hashcap * 2 : 1024;
        uint32_t *hnew = sd__calloc(hcap, sizeof *hnew);
        if (hnew == NULL)
            return SD_ERR_NOMEM;
        for (size_t i = 0; i < *n; i++) {
            size_t s = hash_bytes((const char *)*recs + i * size, size) & (hcap - 1);
            while (hnew[s] != 0)
                s = (s + 1) & (hcap - 1);
            hnew[s] = (uint32_t)i + 1;
        }
        sd__free(*hash);
        *hash = hnew;
        *hashcap = hcap;
    }
    size_t s = hash_bytes(rec, size) & (*hashcap - 1);
    while ((*hash)[s] != 0) {
        if (memcmp((const char *)*recs + ((*hash)[s] - 1) * size, rec, size) == 0)
            return (long)(*hash)[s] - 1;
        s = (s + 1) & (*hashcap - 1);
    }
    if (*n >= max || sd__grow(recs, cap, *n + 1, size) != 0)
        return SD_ERR_NOMEM;
    memcpy((char *)*recs + *n * size, rec, size);
    (*hash)[s] = (uint32_t)*n + 1;
    return (long)(*n)++;
}

void sd__free(void *p) { free(p); }

char *sd__strdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *d = sd__malloc(n);
    if (d != NULL)
        memcpy(d, s, n);
    return d;
}
