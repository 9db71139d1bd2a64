/* Shared helpers for the Check unit tests. */
#ifndef SD_TESTUTIL_H
#define SD_TESTUTIL_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
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
