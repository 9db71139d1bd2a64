/* Unit tests: error codes, messages, version. */
#include "config.h"

#include <string.h>

#include <stardust/stardust.h>
#include "testutil.h"

START_TEST(every_code_has_a_name_and_text)
{
    for (int c = 0; c >= SD_ERR_FILTER; c--) {
        ck_assert_str_ne(sd_errname(c), "SD_ERR_UNKNOWN");
        ck_assert_str_ne(sd_strerror(c), "unknown error");
    }
    ck_assert_str_eq(sd_errname(SD_ERR_FORMAT), "SD_ERR_FORMAT");
    ck_assert_str_eq(sd_errname(SD_EOF), "SD_EOF");
}
END_TEST

START_TEST(unknown_codes_are_safe)
{
    int odd[] = {-1000, -13, 7, 0x7fffffff, (int)0x80000000};
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        ck_assert_ptr_nonnull(sd_strerror(odd[i]));
        ck_assert_ptr_nonnull(sd_errname(odd[i]));
    }
    ck_assert_str_eq(sd_errname(-1000), "SD_ERR_UNKNOWN");
    ck_assert_str_eq(sd_strerror(-1000), "unknown error");
}
END_TEST

START_TEST(errmsg_of_null_is_empty)
{
    ck_assert_str_eq(sd_errmsg(NULL), "");
}
END_TEST

START_TEST(version_matches_header)
{
    ck_assert_str_eq(sd_version_string(), SD_VERSION_STRING);
    ck_assert_int_eq(sd_version_number(), SD_VERSION_NUMBER);
    ck_assert_int_eq(SD_VERSION_NUMBER,
                     SD_VERSION_MAJOR * 10000 + SD_VERSION_MINOR * 100 + SD_VERSION_PATCH);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("err");
    TCase *tc = tcase_create("codes");
    tcase_add_test(tc, every_code_has_a_name_and_text);
    tcase_add_test(tc, unknown_codes_are_safe);
    tcase_add_test(tc, errmsg_of_null_is_empty);
    tcase_add_test(tc, version_matches_header);
    suite_add_tcase(s, tc);
    return sd_test_run(s);
}
