/* Shared helpers for the Check unit tests. */
#ifndef SD_TESTUTIL_H
#define SD_TESTUTIL_H

#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Path of a file in the shared test data (../shared/data). A missing data
 * directory or file fails the test: it is never a skip. */
static inline const char *sd_test_data(const char *rel)
{
    static char buf[4][4096];
    static int slot;
    const char *dir = getenv("SD_DATA");
    ck_assert_msg(dir != NULL && dir[0] != '\0', "SD_DATA is not set (run through make check)");
    char *p = buf[slot++ % 4];
    snprintf(p, 4096, "%s/%s", dir, rel);
    ck_assert_msg(access(p, R_OK) == 0, "missing test data file: %s", p);
    return p;
}

/* The whole file in a malloc'd buffer (*len bytes). */
static inline uint8_t *sd_test_read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "cannot open %s: %s", path, strerror(errno));
    size_t cap = 65536, n = 0;
    uint8_t *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    size_t got;
    while ((got = fread(b + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            b = realloc(b, cap);
            ck_assert_ptr_nonnull(b);
        }
    }
    fclose(f);
    *len = n;
    return b;
}

static inline void sd_test_write_file(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    ck_assert_msg(f != NULL, "cannot create %s: %s", path, strerror(errno));
    ck_assert_uint_eq(fwrite(data, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

/* Run one suite in fork mode; exit status for automake. */
static inline int sd_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_FORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif
