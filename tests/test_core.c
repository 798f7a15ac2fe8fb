/*
 * test_core.c: the generic containers of sim/core: the growable array (vec.h) and the hash
 * map (hmap.h). The map is checked against a direct-indexed reference under long random
 * sequences of puts, adds and deletes over a small key space (so probe runs collide, wrap
 * around the table's end and are shifted back by deletions), with keys chosen to share
 * home slots.
 */
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/fit.h"
#include "core/hash.h"
#include "core/hmap.h"
#include "core/vec.h"

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

typedef struct pair {
    int a;
    double b;
} pair;
typedef SIM_VEC(pair) pair_vec;

/* y = a exp(-b t) at t = 0..9, with a = 3, b = 0.4 */
static int decay(const double *x, size_t p, double *r, size_t n, void *user)
{
    (void)p, (void)user;
    for (size_t i = 0; i < n; i++)
        r[i] = x[0] * exp(-x[1] * (double)i) - 3.0 * exp(-0.4 * (double)i);
    return 0;
}

START_TEST(fit_recovers_parameters_and_says_when_it_stopped_early)
{
    sim_status st;
    sim_status_clear(&st);
    double x[2] = {1.0, 1.0}, chisq;
    int iters;
    bool converged = false;
    ck_assert_int_eq(sim_fit_nls(decay, NULL, 10, 2, x, 100, &chisq, &iters, &converged, &st),
                     SIM_OK);
    ck_assert(converged);
    ck_assert_double_eq_tol(x[0], 3.0, 1e-6);
    ck_assert_double_eq_tol(x[1], 0.4, 1e-6);
    double y[2] = {1.0, 1.0};
    ck_assert_int_eq(sim_fit_nls(decay, NULL, 10, 2, y, 1, &chisq, &iters, &converged, &st),
                     SIM_OK);
    ck_assert(!converged); /* one iteration is not enough from there */
    ck_assert_int_eq(iters, 1);
}
END_TEST

START_TEST(vec_push_grows_and_keeps_order)
{
    pair_vec v = {0};
    ck_assert_ptr_null(v.v);
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(sim_vec_push(&v, ((pair){i, i * 0.5})), 0);
    ck_assert_uint_eq(v.n, 1000);
    ck_assert_uint_ge(v.cap, 1000);
    ck_assert_uint_eq(v.cap, 1024); /* 8, 16, ..., 1024: doubling from 8 */
    for (int i = 0; i < 1000; i++) {
        ck_assert_int_eq(v.v[i].a, i);
        ck_assert(v.v[i].b == i * 0.5);
    }
    ck_assert_int_eq(sim_vec_last(&v).a, 999);
    sim_vec_free(&v);
    ck_assert_ptr_null(v.v);
    ck_assert_uint_eq(v.n, 0);
    ck_assert_uint_eq(v.cap, 0);
}
END_TEST

START_TEST(vec_add_and_reserve)
{
    SIM_VEC(int64_t) v = {0};
    ck_assert_int_eq(sim_vec_reserve(&v, 100), 0);
    ck_assert_uint_eq(v.cap, 128);
    ck_assert_uint_eq(v.n, 0);
    int64_t *before = v.v;
    for (int i = 0; i < 128; i++) {
        int64_t *slot = sim_vec_add(&v);
        ck_assert_ptr_nonnull(slot);
        *slot = -i;
    }
    ck_assert_ptr_eq(v.v, before); /* reserved room: no reallocation */
    ck_assert_int_eq(sim_vec_reserve(&v, 10), 0); /* never shrinks */
    ck_assert_uint_eq(v.cap, 128);
    ck_assert_int_eq(v.v[127], -127);
    sim_vec_free(&v);
}
END_TEST

START_TEST(vec_reserve_exact_allocates_what_is_asked)
{
    SIM_VEC(int64_t) v = {0};
    ck_assert_int_eq(sim_vec_reserve_exact(&v, 100), 0);
    ck_assert_uint_eq(v.cap, 100); /* not rounded up to 128 */
    ck_assert_int_eq(sim_vec_reserve_exact(&v, 4), 0); /* never shrinks */
    ck_assert_uint_eq(v.cap, 100);
    for (int i = 0; i < 100; i++)
        ck_assert_int_eq(sim_vec_push(&v, i), 0);
    ck_assert_uint_eq(v.cap, 100); /* reserved room: no growth */
    ck_assert_int_eq(sim_vec_push(&v, 100), 0);
    ck_assert_uint_eq(v.cap, 200); /* a push past it doubles */
    ck_assert_int_eq(v.v[100], 100);
    ck_assert_int_eq(sim_vec_reserve_exact(&v, SIZE_MAX), -1);
    ck_assert_uint_eq(v.cap, 200);
    sim_vec_free(&v);
}
END_TEST

START_TEST(vec_overflow_is_refused_and_changes_nothing)
{
    SIM_VEC(double) v = {0};
    ck_assert_int_eq(sim_vec_push(&v, 1.5), 0);
    double *p = v.v;
    size_t cap = v.cap;
    ck_assert_int_eq(sim_vec_reserve(&v, SIZE_MAX / 4), -1);
    ck_assert_int_eq(sim_vec_reserve(&v, SIZE_MAX), -1);
    ck_assert_ptr_eq(v.v, p);
    ck_assert_uint_eq(v.cap, cap);
    ck_assert_uint_eq(v.n, 1);
    ck_assert(v.v[0] == 1.5);
    sim_vec_free(&v);
}
END_TEST

START_TEST(hmap_empty_map)
{
    sim_hmap m = {0};
    ck_assert_uint_eq(sim_hmap_get(&m, 7), SIM_HMAP_NONE);
    ck_assert_int_eq(sim_hmap_del(&m, 7), 0);
    sim_hmap_free(&m);
    ck_assert_ptr_null(m.ent);
}
END_TEST

START_TEST(hmap_put_replaces_add_keeps_both)
{
    sim_hmap m = {0};
    ck_assert_int_eq(sim_hmap_put(&m, 5, 50), 0);
    ck_assert_int_eq(sim_hmap_put(&m, 5, 51), 0);
    ck_assert_uint_eq(m.n, 1);
    ck_assert_uint_eq(sim_hmap_get(&m, 5), 51);
    ck_assert_int_eq(sim_hmap_add(&m, 5, 52), 0);
    ck_assert_uint_eq(m.n, 2);
    ck_assert_uint_eq(sim_hmap_get(&m, 5), 51); /* the first one probed */
    ck_assert_int_eq(sim_hmap_del(&m, 5), 1);
    ck_assert_uint_eq(sim_hmap_get(&m, 5), 52);
    ck_assert_int_eq(sim_hmap_del(&m, 5), 1);
    ck_assert_int_eq(sim_hmap_del(&m, 5), 0);
    ck_assert_uint_eq(m.n, 0);
    /* key 0 and the largest key are ordinary keys */
    ck_assert_int_eq(sim_hmap_put(&m, 0, 1), 0);
    ck_assert_int_eq(sim_hmap_put(&m, UINT64_MAX, 2), 0);
    ck_assert_uint_eq(sim_hmap_get(&m, 0), 1);
    ck_assert_uint_eq(sim_hmap_get(&m, UINT64_MAX), 2);
    sim_hmap_free(&m);
}
END_TEST

/* get_or_add: the value present, else the insertion; against get/del over many keys, with
 * growth and deletions in between. */
START_TEST(hmap_get_or_add_is_get_then_add)
{
    sim_hmap m = {0};
    int err;
    ck_assert_uint_eq(sim_hmap_get_or_add(&m, 9, 90, &err), SIM_HMAP_NONE);
    ck_assert_int_eq(err, 0);
    ck_assert_uint_eq(sim_hmap_get_or_add(&m, 9, 91, &err), 90); /* kept, not replaced */
    ck_assert_uint_eq(m.n, 1);
    for (uint64_t k = 0; k < 5000; k++) {
        uint64_t key = k * 7919 % 3001; /* repeats: every key of 0..3000 comes back */
        uint64_t before = sim_hmap_get(&m, key);
        uint64_t got = sim_hmap_get_or_add(&m, key, k, &err);
        ck_assert_int_eq(err, 0);
        ck_assert_uint_eq(got, before);
        ck_assert_uint_eq(sim_hmap_get(&m, key), before == SIM_HMAP_NONE ? k : before);
        if (k % 7 == 0)
            ck_assert_int_eq(sim_hmap_del(&m, key), 1);
    }
    for (uint64_t key = 0; key <= 3000; key++) {
        uint64_t v = sim_hmap_get(&m, key);
        ck_assert(v == SIM_HMAP_NONE || v < 5000 || (key == 9 && v == 90));
    }
    sim_hmap_free(&m);
}
END_TEST

/* Names stored by hash: find_if tells two names apart even when their keys collide. */
static const char *const names[] = {"leaf0", "leaf1", "spine0", "core7", "dc0/n4/c1"};

static int name_is(const void *ctx, uint64_t val)
{
    return strcmp(names[val], ctx) == 0;
}

START_TEST(hmap_find_if_resolves_shared_keys)
{
    sim_hmap m = {0};
    for (uint64_t i = 0; i < COUNT(names); i++) /* every name under one key: all collide */
        ck_assert_int_eq(sim_hmap_add(&m, 42, i), 0);
    for (uint64_t i = 0; i < COUNT(names); i++)
        ck_assert_uint_eq(sim_hmap_find_if(&m, 42, name_is, names[i]), i);
    ck_assert_uint_eq(sim_hmap_find_if(&m, 42, name_is, "absent"), SIM_HMAP_NONE);
    ck_assert_uint_eq(sim_hmap_find_if(&m, 43, name_is, "leaf0"), SIM_HMAP_NONE);
    sim_hmap_free(&m);
    for (uint64_t i = 0; i < COUNT(names); i++)
        ck_assert_int_eq(sim_hmap_add(&m, sim_hash_str(names[i], 0), i), 0);
    for (uint64_t i = 0; i < COUNT(names); i++)
        ck_assert_uint_eq(sim_hmap_find_if(&m, sim_hash_str(names[i], 0), name_is, names[i]),
                          i);
    sim_hmap_free(&m);
}
END_TEST

/* The map against a reference array under random puts and deletes; keys in [0, K). */
START_TEST(hmap_matches_reference_under_churn)
{
    enum { K = 512 };
    uint64_t ref[K];
    for (int i = 0; i < K; i++)
        ref[i] = SIM_HMAP_NONE;
    sim_hmap m = {0};
    uint64_t s = 12345u + (uint64_t)_i;
    size_t live = 0;
    for (int it = 0; it < 200000; it++) {
        s = sim_hash_mix(s);
        uint64_t key = s % K, op = (s >> 32) % 8;
        if (op < 4) { /* put */
            if (ref[key] == SIM_HMAP_NONE)
                live++;
            ref[key] = (uint64_t)it;
            ck_assert_int_eq(sim_hmap_put(&m, key, (uint64_t)it), 0);
        } else if (op < 7) { /* delete */
            int had = ref[key] != SIM_HMAP_NONE;
            ck_assert_int_eq(sim_hmap_del(&m, key), had);
            if (had)
                live--;
            ref[key] = SIM_HMAP_NONE;
        } else { /* lookup */
            ck_assert_uint_eq(sim_hmap_get(&m, key), ref[key]);
        }
        ck_assert_uint_eq(m.n, live);
        ck_assert_uint_le(m.n * 2, m.cap);
    }
    for (uint64_t k = 0; k < K; k++)
        ck_assert_uint_eq(sim_hmap_get(&m, k), ref[k]);
    size_t seen = 0;
    for (size_t i = 0; i < m.cap; i++)
        if (m.ent[i].val != SIM_HMAP_NONE) {
            ck_assert_uint_eq(ref[m.ent[i].key], m.ent[i].val);
            seen++;
        }
    ck_assert_uint_eq(seen, live);
    sim_hmap_free(&m);
}
END_TEST

START_TEST(hmap_reserve_avoids_growth)
{
    sim_hmap m = {0};
    ck_assert_int_eq(sim_hmap_reserve(&m, 1000), 0);
    ck_assert_uint_eq(m.cap, 2048);
    sim_hmap_ent *before = m.ent;
    for (uint64_t k = 0; k < 1000; k++)
        ck_assert_int_eq(sim_hmap_put(&m, k * 1024, k), 0);
    ck_assert_ptr_eq(m.ent, before);
    for (uint64_t k = 0; k < 1000; k++)
        ck_assert_uint_eq(sim_hmap_get(&m, k * 1024), k);
    ck_assert_int_eq(sim_hmap_reserve(&m, SIZE_MAX), -1);
    ck_assert_uint_eq(m.cap, 2048);
    sim_hmap_free(&m);
}
END_TEST

static Suite *core_suite(void)
{
    Suite *s = suite_create("core");
    TCase *tv = tcase_create("vec");
    tcase_add_test(tv, vec_push_grows_and_keeps_order);
    tcase_add_test(tv, fit_recovers_parameters_and_says_when_it_stopped_early);
    tcase_add_test(tv, vec_add_and_reserve);
    tcase_add_test(tv, vec_reserve_exact_allocates_what_is_asked);
    tcase_add_test(tv, vec_overflow_is_refused_and_changes_nothing);
    suite_add_tcase(s, tv);
    TCase *th = tcase_create("hmap");
    tcase_add_test(th, hmap_empty_map);
    tcase_add_test(th, hmap_put_replaces_add_keeps_both);
    tcase_add_test(th, hmap_get_or_add_is_get_then_add);
    tcase_add_test(th, hmap_find_if_resolves_shared_keys);
    tcase_add_loop_test(th, hmap_matches_reference_under_churn, 0, 3);
    tcase_add_test(th, hmap_reserve_avoids_growth);
    suite_add_tcase(s, th);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(core_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
