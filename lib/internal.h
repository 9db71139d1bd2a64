/* stardust: private declarations shared inside lib/. Never installed. */
#ifndef SD_INTERNAL_H
#define SD_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <stardust/err.h>

#define SD__ERRMSG_SIZE 512

/* Every handle struct starts with this, so sd_errmsg() and logging work on
 * any handle. */
struct sd__handle {
    uint32_t magic;
    char errmsg[SD__ERRMSG_SIZE];
    sd_log_fn log;
    void *log_userdata;
};

#define SD__MAGIC 0x53444831u /* "SDH1" */

void sd__handle_init(struct sd__handle *h);

/* Format the handle's error message and return err (so callers can write
 * `return sd__seterr(&s->h, SD_ERR_FORMAT, "...", ...);`). */
int sd__seterr(struct sd__handle *h, int err, const char *fmt, ...) SD_PRINTF(3, 4);

/* The same for an errbuf of SD_ERRBUF_SIZE bytes; errbuf may be NULL. */
int sd__errbuf(char *errbuf, int err, const char *fmt, ...) SD_PRINTF(3, 4);

/* Map an errno value to an sd_err code. */
int sd__errno_to_err(int errnum);

/* Send a diagnostic to the handle's log callback, if any. */
void sd__log(struct sd__handle *h, int level, const char *fmt, ...) SD_PRINTF(3, 4);

/* Allocation goes through these so tests can fail the Nth allocation
 * (sd__alloc_fail_after) and check every path returns SD_ERR_NOMEM cleanly. */
void *sd__malloc(size_t n);
void *sd__calloc(size_t n, size_t size);
void *sd__realloc(void *p, size_t n);
/* aligned_alloc() with n rounded up to a multiple of align (C11 wants
 * one); free with sd__free(). */
void *sd__aligned_alloc(size_t align, size_t n);
/* Zeroed anonymous pages from mmap() (big tables: the kernel's zero pages
 * cost nothing until written, and munmap returns them); NULL on failure.
 * Free with sd__unmap(p, n). */
void *sd__map_zeroed(size_t n);
void sd__unmap(void *p, size_t n);
/* Make *p (an array of *cap elements of elem bytes) hold at least need,
 * doubling from 1024. Returns 0 or SD_ERR_NOMEM (*p is then unchanged). */
int sd__grow(void **p, size_t *cap, size_t need, size_t elem);
/* A de-duplicated array of fixed-size records compared byte for byte
 * (build each record from a zeroed struct so padding compares equal): the
 * index of the record equal to rec in (*recs)[0..*n), appended when new.
 * *hash (record index + 1, open addressing, *hashcap slots) is the caller's
 * load-time index; free it when interning is over. Returns the index, at
 * most max, or SD_ERR_NOMEM. */
long sd__intern(void **recs, size_t *n, size_t *cap, size_t size, uint32_t **hash,
                size_t *hashcap, size_t max, const void *rec);
char *sd__strdup(const char *s);
void sd__free(void *p);
/* Test hook: the allocation after `n` more succeed fails; -1 disables. */
extern long sd__alloc_fail_after;

/* The optional instructions to use (lib/cpu.c): SD__CPU_* bits, none when
 * STARDUST_SIMD=baseline. Cheap after the first call. Thread: safe. */
#define SD__CPU_AVX2 0x1
#define SD__CPU_POPCNT 0x2
int sd__cpu_features(void);

/* Ask for transparent huge pages on the whole 2 MiB pages inside
 * [p, p + bytes) (madvise; a hint, ignored without THP). For big tables
 * probed at random, where small pages would mostly miss the TLB. */
#define SD__HUGE_PAGE ((size_t)2 << 20)
void sd__advise_huge(void *p, size_t bytes);

/* An output file written under PATH.tmp-<6 random characters> and renamed to PATH when
 * complete (lib/output.c). "-" is standard output; existing devices and
 * FIFOs are written in place. `path` is borrowed from the caller. */
struct sd__output {
    int fd;
    int to_stdout;
    const char *path;
    char *tmp; /* NULL when writing in place */
};
int sd__output_open(struct sd__output *o, const char *path, char *errbuf);
/* write(2) all n bytes of b to o, retrying short writes and EINTR.
 * Returns 0, or -1 with errno set. */
int sd__output_write(struct sd__output *o, const void *b, size_t n);
/* sd__output_write(), or SD_ERR_IO with "PATH: write: <reason>" set on
 * the handle h (the writers keep that error sticky). */
int sd__output_write_h(struct sd__output *o, struct sd__handle *h, const void *b, size_t n);
/* Close and rename into place; on failure the temporary file is removed and
 * msg says why. Returns 0 or a negative sd_err. */
int sd__output_commit(struct sd__output *o, char *msg, size_t msgsize);
/* Close and remove the temporary file (if any). Safe to call twice. */
void sd__output_abort(struct sd__output *o);

/* n bytes from getrandom(2), or when the kernel has no entropy yet (early
 * boot) a mix of the time, the process id, a counter and the address of
 * buf: for names and markers that must be unlikely to collide, not
 * secret. */
void sd__random_bytes(void *buf, size_t n);

/* The splitmix64 finaliser: every input bit reaches every output bit. For
 * hash table slots and spreading keys over streams. */
static inline uint64_t sd__mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

/* Big-endian / little-endian loads without unaligned access. */
static inline uint16_t sd__be16(const uint8_t *p) { return (uint16_t)((p[0] << 8) | p[1]); }
static inline uint32_t sd__be32(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}
static inline uint64_t sd__be64(const uint8_t *p) { return ((uint64_t)sd__be32(p) << 32) | sd__be32(p + 4); }
static inline uint16_t sd__le16(const uint8_t *p) { return (uint16_t)(p[0] | (p[1] << 8)); }
static inline uint32_t sd__le32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}
static inline uint64_t sd__le64(const uint8_t *p) { return ((uint64_t)sd__le32(p + 4) << 32) | sd__le32(p); }
static inline void sd__put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void sd__put_be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}
static inline void sd__put_le16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void sd__put_le32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}
static inline void sd__put_le64(uint8_t *p, uint64_t v) { sd__put_le32(p, (uint32_t)v); sd__put_le32(p + 4, (uint32_t)(v >> 32)); }

#define SD__LIKELY(x) __builtin_expect(!!(x), 1)
#define SD__UNLIKELY(x) __builtin_expect(!!(x), 0)

#endif
