/*
 * test_units.c: strict unit parsing (core/units.h).
 *
 * Good values are compared exactly against their SI value: the parser multiplies by one
 * exact factor, so "400 Gb/s" is exactly 50e9 B/s. Bad values must yield their full
 * message, word for word, and leave the output untouched.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/units.h"

typedef sim_code (*double_parser)(const char *text, double *out, char *why, size_t whyn);

typedef struct good_case {
    double_parser parse;
    const char *text;
    double want;
} good_case;

typedef struct bad_case {
    double_parser parse;
    const char *text;
    const char *why;
} bad_case;

static const good_case good_doubles[] = {
    {sim_units_parse_bw, "400 Gb/s", 50e9},
    {sim_units_parse_bw, "100 Gb/s", 12.5e9},
    {sim_units_parse_bw, "12.5 GB/s", 12.5e9},
    {sim_units_parse_bw, "3.35 TB/s", 3.35e12},
    {sim_units_parse_bw, "900 GB/s", 900e9},
    {sim_units_parse_bw, "1.2345678901234567e10 B/s", 1.2345678901234567e10},
    {sim_units_parse_bw, "1 GiB/s", 1073741824.0},
    {sim_units_parse_bw, "2 KiB/s", 2048.0},
    {sim_units_parse_bw, "800 Mb/s", 1e8},
    {sim_units_parse_bw, "100Gbps", 12.5e9},
    {sim_units_parse_bw, "8 b/s", 1.0},
    {sim_units_parse_bw, "+5 B/s", 5.0},
    {sim_units_parse_bw, "  25 GB/s  ", 25e9},
    {sim_units_parse_bw, ".5 kB/s", 500.0},
    {sim_units_parse_bytes, "80 GiB", 80.0 * 1073741824.0},
    {sim_units_parse_bytes, "1 kB", 1000.0},
    {sim_units_parse_bytes, "1.5 MB", 1.5e6},
    {sim_units_parse_bytes, "8 b", 1.0},
    {sim_units_parse_bytes, "2 PiB", 2.0 * 1125899906842624.0},
    {sim_units_parse_bytes, "0 B", 0.0},
    {sim_units_parse_flops, "989.4 TFLOP/s", 989.4e12},
    {sim_units_parse_flops, "1 EFLOPS", 1e18},
    {sim_units_parse_flops, "312 TFLOPS", 312e12},
    {sim_units_parse_length, "10 km", 1e4},
    {sim_units_parse_length, "3.5 m", 3.5},
    {sim_units_parse_duration, "108335 h", 108335.0 * 3600.0},
    {sim_units_parse_duration, "1.08e5 h", 1.08e5 * 3600.0},
    {sim_units_parse_duration, "54 d", 54.0 * 86400.0},
    {sim_units_parse_duration, "30 min", 1800.0},
    {sim_units_parse_duration, "1.5 s", 1.5},
    {sim_units_parse_duration, "250 ms", 0.25},
    {sim_units_parse_duration, "1e9 d", 1e9 * 86400.0}, /* far beyond a time's 106 days */
    {sim_units_parse_number, "0.5", 0.5},
    {sim_units_parse_number, "1e3", 1000.0},
    {sim_units_parse_number, "-2.25", -2.25},
    {sim_units_parse_number, " 7 ", 7.0},
};

static const bad_case bad_doubles[] = {
    {sim_units_parse_bw, "100",
     "expected a bandwidth with a unit (such as '100 Gb/s'), found '100'"},
    {sim_units_parse_bw, "100 Gbit",
     "expected a bandwidth with a unit (such as '100 Gb/s'), found '100 Gbit' "
     "(unknown unit 'Gbit')"},
    {sim_units_parse_bw, "100 gb/s",
     "expected a bandwidth with a unit (such as '100 Gb/s'), found '100 gb/s' "
     "(unknown unit 'gb/s')"},
    {sim_units_parse_bw, "", "expected a bandwidth with a unit (such as '100 Gb/s'), found ''"},
    {sim_units_parse_bw, "Gb/s",
     "expected a bandwidth with a unit (such as '100 Gb/s'), found 'Gb/s'"},
    {sim_units_parse_bw, "0 Gb/s", "expected a bandwidth > 0, found '0 Gb/s'"},
    {sim_units_parse_bw, "-5 Gb/s", "expected a bandwidth > 0, found '-5 Gb/s'"},
    {sim_units_parse_bw, "nan Gb/s",
     "expected a bandwidth with a unit (such as '100 Gb/s'), found 'nan Gb/s'"},
    {sim_units_parse_bw, "inf B/s",
     "expected a bandwidth with a unit (such as '100 Gb/s'), found 'inf B/s'"},
    {sim_units_parse_bw, "1e400 B/s", "expected a finite bandwidth, found '1e400 B/s'"},
    {sim_units_parse_bw, "1e308 PB/s", "expected a finite bandwidth, found '1e308 PB/s'"},
    {sim_units_parse_bw, "0x10 B/s", /* hex floats are strtod's, not ours */
     "expected a bandwidth with a unit (such as '100 Gb/s'), found '0x10 B/s'"},
    {sim_units_parse_bw, "100 Gb/s/s",
     "expected a bandwidth with a unit (such as '100 Gb/s'), found '100 Gb/s/s' "
     "(unknown unit 'Gb/s/s')"},
    {sim_units_parse_bytes, "-1 GB", "expected a size >= 0, found '-1 GB'"},
    {sim_units_parse_bytes, "80 GIB",
     "expected a size with a unit (such as '80 GiB'), found '80 GIB' (unknown unit 'GIB')"},
    {sim_units_parse_bytes, "80", "expected a size with a unit (such as '80 GiB'), found '80'"},
    {sim_units_parse_flops, "0 TFLOP/s", "expected a compute rate > 0, found '0 TFLOP/s'"},
    {sim_units_parse_flops, "989.4 TFLOP",
     "expected a compute rate with a unit (such as '989.4 TFLOP/s'), found '989.4 TFLOP' "
     "(unknown unit 'TFLOP')"},
    {sim_units_parse_length, "5 mi",
     "expected a length with a unit (such as '10 km'), found '5 mi' (unknown unit 'mi')"},
    {sim_units_parse_length, "-1 km", "expected a length >= 0, found '-1 km'"},
    {sim_units_parse_duration, "24",
     "expected a duration with a unit (such as '24 h'), found '24'"},
    {sim_units_parse_duration, "24 hours",
     "expected a duration with a unit (such as '24 h'), found '24 hours' (unknown unit "
     "'hours')"},
    {sim_units_parse_duration, "0 h", "expected a duration > 0, found '0 h'"},
    {sim_units_parse_duration, "-1 d", "expected a duration > 0, found '-1 d'"},
    {sim_units_parse_duration, "1e308 d", "expected a finite duration, found '1e308 d'"},
    {sim_units_parse_number, "abc", "expected a number, found 'abc'"},
    {sim_units_parse_number, "5 x", "expected a number, found '5 x'"},
    {sim_units_parse_number, "nan", "expected a number, found 'nan'"},
    {sim_units_parse_number, "inf", "expected a number, found 'inf'"},
    {sim_units_parse_number, "", "expected a number, found ''"},
    {sim_units_parse_number, "1e400", "expected a finite number, found '1e400'"},
    {sim_units_parse_number, "1e", "expected a number, found '1e'"},
};

START_TEST(test_good_double)
{
    const good_case *c = &good_doubles[_i];
    double v = -1;
    char why[256] = "";
    ck_assert_msg(c->parse(c->text, &v, why, sizeof why) == SIM_OK, "'%s': %s", c->text, why);
    ck_assert_msg(v == c->want, "'%s': got %.17g, want %.17g", c->text, v, c->want);
}
END_TEST

START_TEST(test_bad_double)
{
    const bad_case *c = &bad_doubles[_i];
    double v = 42;
    char why[256] = "";
    ck_assert_int_eq(c->parse(c->text, &v, why, sizeof why), SIM_ERR_INPUT);
    ck_assert_str_eq(why, c->why);
    ck_assert(v == 42); /* untouched */
}
END_TEST

typedef struct time_case {
    const char *text;
    int64_t want_ps;
} time_case;

static const time_case good_times[] = {
    {"1.5 us", 1500000},
    {"1 us", 1000000},
    {"20 ms", 20000000000},
    {"1 s", 1000000000000},
    {"500 ns", 500000},
    {"7 ps", 7},
    {"1.5 \xC2\xB5s", 1500000},
    {"2\xCE\xBCs", 2000000},
    {"0.1 ns", 100},
    {"0.4 ps", 0},
    {"0.5 ps", 1}, /* nearest, halves away from zero */
    {"2.6 ps", 3},
    {"-0 us", 0},
    {"9223372 s", 9223372000000000000},
    {"1e-3 s", 1000000000},
};

static const struct {
    const char *text;
    const char *why;
} bad_times[] = {
    {"5", "expected a time with a unit (such as '1.5 us'), found '5'"},
    {"-5 us", "expected a time >= 0, found '-5 us'"},
    {"5 us x", "expected a time with a unit (such as '1.5 us'), found '5 us x' "
               "(unknown unit 'us x')"},
    {"5 min", "expected a time with a unit (such as '1.5 us'), found '5 min' "
              "(unknown unit 'min')"},
    {"1e400 us", "expected a finite time, found '1e400 us'"},
    {"nan s", "expected a time with a unit (such as '1.5 us'), found 'nan s'"},
    {"1e7 s", "expected a time of at most 9223372036854775807 ps (about 106 days), "
              "found '1e7 s'"},
    {"9223372.036854775808 s", "expected a time of at most 9223372036854775807 ps "
                               "(about 106 days), found '9223372.036854775808 s'"},
};

START_TEST(test_good_time)
{
    int64_t ps = -1;
    char why[256] = "";
    ck_assert_msg(sim_units_parse_time(good_times[_i].text, &ps, why, sizeof why) == SIM_OK,
                  "'%s': %s", good_times[_i].text, why);
    ck_assert_msg(ps == good_times[_i].want_ps, "'%s': got %lld", good_times[_i].text,
                  (long long)ps);
}
END_TEST

START_TEST(test_bad_time)
{
    int64_t ps = 42;
    char why[256] = "";
    ck_assert_int_eq(sim_units_parse_time(bad_times[_i].text, &ps, why, sizeof why),
                     SIM_ERR_INPUT);
    ck_assert_str_eq(why, bad_times[_i].why);
    ck_assert_int_eq(ps, 42);
}
END_TEST

START_TEST(test_why_optional_and_truncated)
{
    double v = 0;
    char small[10];
    memset(small, 'x', sizeof small);
    ck_assert_int_eq(sim_units_parse_bw("100", &v, NULL, 0), SIM_ERR_INPUT);
    ck_assert_int_eq(sim_units_parse_bw("100", &v, small, sizeof small), SIM_ERR_INPUT);
    ck_assert_str_eq(small, "expected ");
    ck_assert_int_eq(sim_units_parse_bw(NULL, &v, small, sizeof small), SIM_ERR_INPUT);
}
END_TEST

START_TEST(test_seconds_to_ps)
{
    ck_assert_int_eq(sim_s_to_ps(1.5e-6), 1500000);
    ck_assert_int_eq(sim_s_to_ps(0.1), 100000000000);
    ck_assert_int_eq(sim_s_to_ps(0), 0);
    ck_assert_int_eq(sim_s_to_ps(-1), 0);
    ck_assert_int_eq(sim_s_to_ps(NAN), 0);
    ck_assert_int_eq(sim_s_to_ps(1e10), INT64_MAX);
    ck_assert_int_eq(sim_s_to_ps(INFINITY), INT64_MAX);
    ck_assert(sim_ps_to_s(1500000) == 1.5e-6);
    ck_assert(sim_ps_to_s(1000000000000) == 1.0);
}
END_TEST

START_TEST(test_format)
{
    char buf[64];
    sim_units_fmt_bw(50e9, buf, sizeof buf);
    ck_assert_str_eq(buf, "400 Gb/s");
    sim_units_fmt_bw(12.5e9, buf, sizeof buf);
    ck_assert_str_eq(buf, "100 Gb/s");
    sim_units_fmt_bw(100, buf, sizeof buf);
    ck_assert_str_eq(buf, "800 b/s");
    sim_units_fmt_time(1500000, buf, sizeof buf);
    ck_assert_str_eq(buf, "1.5 us");
    sim_units_fmt_time(0, buf, sizeof buf);
    ck_assert_str_eq(buf, "0 ps");
    sim_units_fmt_time(2000000000000, buf, sizeof buf);
    ck_assert_str_eq(buf, "2 s");
    sim_units_fmt_time(999, buf, sizeof buf);
    ck_assert_str_eq(buf, "999 ps");
    sim_units_fmt_bytes(80.0 * 1073741824.0, buf, sizeof buf);
    ck_assert_str_eq(buf, "80 GiB");
    sim_units_fmt_bytes(1e12, buf, sizeof buf);
    ck_assert_str_eq(buf, "1 TB");
    sim_units_fmt_bytes(512, buf, sizeof buf);
    ck_assert_str_eq(buf, "512 B");
}
END_TEST

START_TEST(test_round_trip)
{
    /* What the formatter writes, the parser reads back to the same value. */
    char buf[64];
    int64_t ps = 0;
    double v = 0;
    sim_units_fmt_time(1500000, buf, sizeof buf);
    ck_assert_int_eq(sim_units_parse_time(buf, &ps, NULL, 0), SIM_OK);
    ck_assert_int_eq(ps, 1500000);
    sim_units_fmt_bw(50e9, buf, sizeof buf);
    ck_assert_int_eq(sim_units_parse_bw(buf, &v, NULL, 0), SIM_OK);
    ck_assert(v == 50e9);
    sim_units_fmt_bytes(80.0 * 1073741824.0, buf, sizeof buf);
    ck_assert_int_eq(sim_units_parse_bytes(buf, &v, NULL, 0), SIM_OK);
    ck_assert(v == 80.0 * 1073741824.0);
}
END_TEST

#define COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static Suite *units_suite(void)
{
    Suite *s = suite_create("units");
    TCase *tc = tcase_create("parse");
    tcase_add_loop_test(tc, test_good_double, 0, COUNT(good_doubles));
    tcase_add_loop_test(tc, test_bad_double, 0, COUNT(bad_doubles));
    tcase_add_loop_test(tc, test_good_time, 0, COUNT(good_times));
    tcase_add_loop_test(tc, test_bad_time, 0, COUNT(bad_times));
    tcase_add_test(tc, test_why_optional_and_truncated);
    suite_add_tcase(s, tc);
    TCase *tf = tcase_create("convert");
    tcase_add_test(tf, test_seconds_to_ps);
    tcase_add_test(tf, test_format);
    tcase_add_test(tf, test_round_trip);
    suite_add_tcase(s, tf);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(units_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
