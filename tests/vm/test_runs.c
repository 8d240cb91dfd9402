/*
 * test_runs.c — the run list (src/vm/runs.c): splits, merges, counts, growth, and the
 * invariant after every update, checked against a byte-per-page shadow.
 */
#include <stdlib.h>
#include <string.h>

#include "testlib.h"
#include "vm/runs.h"

#define NP 64

static void check_against(const hm_runs_t *r, const uint32_t *shadow, uint64_t np)
{
    ck_assert(hm_runs_valid(r, np));
    for (uint64_t p = 0; p < np; p++) {
        uint32_t i = hm_runs_find(r, p);
        ck_assert_uint_eq(r->v[i].val, shadow[p]);
        ck_assert(r->v[i].start <= p && p < hm_runs_end(r, i, np));
    }
}

START_TEST(update_splits_and_merges_back)
{
    hm_runs_t r;
    hm_runs_init(&r, 0);
    ck_assert_int_eq(hm_runs_reserve(&r, 2), 0);
    hm_runs_update(&r, NP, 10, 20, 0, 5);
    ck_assert_uint_eq(r.n, 3);
    ck_assert_int_eq(hm_runs_reserve(&r, 2), 0);
    hm_runs_update(&r, NP, 10, 20, 0, 0);
    ck_assert_uint_eq(r.n, 1);
    ck_assert_uint_eq(r.v[0].val, 0);
    hm_runs_destroy(&r);
}
END_TEST

START_TEST(update_at_edges_keeps_invariant)
{
    hm_runs_t r;
    hm_runs_init(&r, 1);
    ck_assert_int_eq(hm_runs_reserve(&r, 2), 0);
    hm_runs_update(&r, NP, 0, 1, 0, 2);
    ck_assert_int_eq(hm_runs_reserve(&r, 2), 0);
    hm_runs_update(&r, NP, NP - 1, NP, 0, 2);
    ck_assert_uint_eq(r.n, 3);
    ck_assert_int_eq(hm_runs_reserve(&r, 2), 0);
    hm_runs_update(&r, NP, 0, NP, 0, 7);
    ck_assert_uint_eq(r.n, 1);
    ck_assert(hm_runs_valid(&r, NP));
    hm_runs_destroy(&r);
}
END_TEST

START_TEST(random_updates_match_a_page_shadow)
{
    uint32_t shadow[NP] = {0};
    hm_runs_t r;
    hm_runs_init(&r, 0);
    srand(12345);
    for (int it = 0; it < 5000; it++) {
        uint64_t a = (uint64_t)rand() % NP, b = (uint64_t)rand() % NP;
        uint64_t first = a < b ? a : b, end = (a < b ? b : a) + 1;
        uint32_t keep = (rand() & 1) ? 0x300u : 0u, set = (uint32_t)(rand() % 4);
        ck_assert_int_eq(hm_runs_reserve(&r, 2), 0);
        hm_runs_update(&r, NP, first, end, keep, set);
        for (uint64_t p = first; p < end; p++)
            shadow[p] = (shadow[p] & keep) | set;
        check_against(&r, shadow, NP);
        uint64_t want = 0;
        for (uint64_t p = first; p < end; p++)
            want += (shadow[p] & 3u) == 1u;
        ck_assert_uint_eq(hm_runs_count(&r, NP, first, end, 3u, 1u), want);
    }
    hm_runs_destroy(&r);
}
END_TEST

START_TEST(signal_safe_growth_keeps_content)
{
    hm_runs_t r;
    hm_runs_init(&r, 0);
    for (uint64_t p = 1; p < 40; p += 2) {
        ck_assert_int_eq(hm_runs_reserve_signal_safe(&r, 2), 0);
        hm_runs_update(&r, 100, p, p + 1, 0, 1);
    }
    ck_assert_uint_eq(r.storage, 2);
    ck_assert_uint_eq(r.n, 41); /* 20 set pages, 21 gaps */
    ck_assert(hm_runs_valid(&r, 100));
    hm_runs_destroy(&r);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("runs");
    TCase *tc = tcase_create("runs_update_splits_and_merges_back");
    tcase_add_test(tc, update_splits_and_merges_back);
    suite_add_tcase(s, tc);
    tc = tcase_create("runs_update_at_edges_keeps_invariant");
    tcase_add_test(tc, update_at_edges_keeps_invariant);
    suite_add_tcase(s, tc);
    tc = tcase_create("runs_random_updates_match_a_page_shadow");
    tcase_add_test(tc, random_updates_match_a_page_shadow);
    suite_add_tcase(s, tc);
    tc = tcase_create("runs_signal_safe_growth_keeps_content");
    tcase_add_test(tc, signal_safe_growth_keeps_content);
    suite_add_tcase(s, tc);
    return s;
}

HM_TEST_MAIN(make_suite)
