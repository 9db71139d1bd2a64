/* Unit tests for sd_interval (interval.h, flowtuple.md §1.4, §2.6.4). */
#include "config.h"

#include <stdint.h>

#include <stardust/err.h>
#include <stardust/interval.h>
#include "testutil.h"

#define NS 1000000000ull

static sd_interval *mk(uint32_t len, unsigned flags)
{
    sd_interval *iv;
    char err[SD_ERRBUF_SIZE];
    ck_assert_msg(sd_interval_create(&iv, len, flags, err) == 0, "%s", err);
    return iv;
}

START_TEST(first_unaligned)
{
    /* flowtuple.md §1.4 observation: 1700000000..1700000069 with 60 s
     * gives 1700000000 (first packet) then 1700000040 (aligned). */
    sd_interval *iv = mk(60, 0);
    sd_interval_span sp;
    ck_assert_int_eq(sd_interval_current(iv, &sp), SD_ERR_STATE);
    ck_assert_int_eq(sd_interval_check(iv, 1700000000ull * NS + 123), SD_INTERVAL_IN);
    ck_assert_int_eq(sd_interval_current(iv, &sp), 0);
    ck_assert_uint_eq(sp.start, 1700000000);
    ck_assert_uint_eq(sp.end, 1700000040);
    ck_assert_int_eq(sp.first, 1);
    ck_assert_int_eq(sd_interval_check(iv, 1700000039ull * NS + 999999999), SD_INTERVAL_IN);
    /* exactly on the boundary: the next interval */
    ck_assert_int_eq(sd_interval_check(iv, 1700000040ull * NS), SD_INTERVAL_CLOSE);
    ck_assert_int_eq(sd_interval_open(iv, 1700000040ull * NS, &sp), 0);
    ck_assert_uint_eq(sp.start, 1700000000);
    ck_assert_uint_eq(sp.packets, 2);
    ck_assert_int_eq(sp.complete, 0); /* first, started mid-interval */
    ck_assert_int_eq(sd_interval_current(iv, &sp), 0);
    ck_assert_uint_eq(sp.start, 1700000040);
    ck_assert_uint_eq(sp.end, 1700000100);
    ck_assert_int_eq(sp.first, 0);
    ck_assert_int_eq(sd_interval_check(iv, 1700000069ull * NS), SD_INTERVAL_IN);
    ck_assert_int_eq(sd_interval_finish(iv, &sp), 1);
    ck_assert_uint_eq(sp.packets, 2);
    ck_assert_int_eq(sp.complete, 0); /* last packet 31 s before the end */
    ck_assert_int_eq(sd_interval_finish(iv, &sp), 0);
    sd_interval_stats st;
    sd_interval_get_stats(iv, &st);
    ck_assert_uint_eq(st.packets, 4);
    ck_assert_uint_eq(st.closed, 2);
    ck_assert_uint_eq(st.skipped, 0);
    ck_assert_uint_eq(st.previnterval, 0);
    sd_interval_destroy(iv);
}
END_TEST

START_TEST(align_first)
{
    sd_interval *iv = mk(60, SD_INTERVAL_ALIGN_FIRST);
    sd_interval_span sp;
    ck_assert_int_eq(sd_interval_check(iv, 1700000001ull * NS), SD_INTERVAL_IN);
    ck_assert_int_eq(sd_interval_current(iv, &sp), 0);
    ck_assert_uint_eq(sp.start, 1699999980);
    ck_assert_uint_eq(sp.end, 1700000040);
    /* earlier than the first packet but inside the aligned interval */
    ck_assert_int_eq(sd_interval_check(iv, 1699999990ull * NS), SD_INTERVAL_IN);
    sd_interval_destroy(iv);
}
END_TEST

START_TEST(jumps)
{
    sd_interval *iv = mk(10, 0);
    sd_interval_span sp;
    ck_assert_int_eq(sd_interval_check(iv, 100 * NS), SD_INTERVAL_IN);
    /* backwards: before the current start, dropped and counted */
    ck_assert_int_eq(sd_interval_check(iv, 99 * NS), SD_INTERVAL_EARLY);
    ck_assert_int_eq(sd_interval_check(iv, 105 * NS), SD_INTERVAL_IN);
    ck_assert_int_eq(sd_interval_check(iv, 104 * NS), SD_INTERVAL_IN); /* same interval */
    /* forwards over three empty intervals [110,120) [120,130) [130,140) */
    ck_assert_int_eq(sd_interval_check(iv, 145 * NS), SD_INTERVAL_CLOSE);
    ck_assert_int_eq(sd_interval_open(iv, 99 * NS, NULL), SD_ERR_STATE);
    ck_assert_int_eq(sd_interval_open(iv, 145 * NS, &sp), 3);
    ck_assert_uint_eq(sp.start, 100);
    ck_assert_uint_eq(sp.end, 110);
    ck_assert_int_eq(sp.complete, 1); /* first packet on the boundary */
    ck_assert_uint_eq(sp.packets, 3);
    /* a packet of a closed interval never reopens it */
    ck_assert_int_eq(sd_interval_check(iv, 109 * NS), SD_INTERVAL_EARLY);
    ck_assert_int_eq(sd_interval_check(iv, 149 * NS + 5), SD_INTERVAL_IN);
    ck_assert_int_eq(sd_interval_finish(iv, &sp), 1);
    ck_assert_uint_eq(sp.start, 140);
    ck_assert_int_eq(sp.complete, 1); /* last packet within 1 s of the end */
    sd_interval_stats st;
    sd_interval_get_stats(iv, &st);
    ck_assert_uint_eq(st.previnterval, 2);
    ck_assert_uint_eq(st.skipped, 3);
    ck_assert_uint_eq(st.packets, 5);
    /* after finish a new run starts with a first interval */
    ck_assert_int_eq(sd_interval_check(iv, 1003 * NS), SD_INTERVAL_IN);
    ck_assert_int_eq(sd_interval_current(iv, &sp), 0);
    ck_assert_uint_eq(sp.start, 1003);
    ck_assert_int_eq(sp.first, 1);
    sd_interval_destroy(iv);
}
END_TEST

START_TEST(bad_args)
{
    sd_interval *iv;
    char err[SD_ERRBUF_SIZE];
    ck_assert_int_eq(sd_interval_create(&iv, 0, 0, err), SD_ERR_INVAL);
    ck_assert_ptr_null(iv);
    ck_assert_int_eq(sd_interval_create(&iv, 60, 0x80, err), SD_ERR_INVAL);
    ck_assert_int_eq(sd_interval_create(NULL, 60, 0, NULL), SD_ERR_INVAL);
    ck_assert_int_eq(sd_interval_check(NULL, 0), SD_ERR_INVAL);
    ck_assert_int_eq(sd_interval_open(NULL, 0, NULL), SD_ERR_INVAL);
    ck_assert_int_eq(sd_interval_finish(NULL, NULL), SD_ERR_INVAL);
    ck_assert_uint_eq(sd_interval_floor(119, 60), 60);
    ck_assert_uint_eq(sd_interval_floor(120, 60), 120);
    iv = mk(60, 0);
    ck_assert_int_eq(sd_interval_open(iv, 0, NULL), SD_ERR_STATE); /* nothing open */
    sd_interval_destroy(iv);
    sd_interval_destroy(NULL);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("interval");
    TCase *tc = tcase_create("interval");
    tcase_add_test(tc, first_unaligned);
    tcase_add_test(tc, align_first);
    tcase_add_test(tc, jumps);
    tcase_add_test(tc, bad_args);
    suite_add_tcase(s, tc);
    return sd_test_run(s);
}
