/*
 * test_commit_limit.c — the commit limit: a commit that would pass it fails with
 * ERROR_COMMITMENT_LIMIT (1455) and changes nothing; reserves are not charged; recommits are
 * not charged twice; decommit and release give the charge back.
 * Rows: issue text; hostmem.h (hm_set_commit_limit); memoryapi.md §3.1 (1455), §4.3
 * (ullTotalPageFile = commit limit).
 * HM_LINUX_ONLY_FILE: every case sets hostmem's commit limit (hm_set_commit_limit).
 */
#include <signal.h>
#include <string.h>

#include "testlib.h"

static uint64_t saved_limit;

static void save_limit(void)
{
    saved_limit = hm_commit_limit();
}

static void restore_limit(void)
{
    hm_set_commit_limit(saved_limit);
}

static uint64_t committed(void)
{
    return hm_stats_now().committed_bytes;
}

static void release(void *p)
{
    ck_assert_int_ne(VirtualFree(p, 0, MEM_RELEASE), 0);
}

START_TEST(commit_past_limit_fails_with_commitment_limit_and_changes_nothing)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    uint64_t c0 = committed();
    hm_set_commit_limit(c0 + 4 * P);
    hm_snap_t before, after;
    hm_snap(&before, a, G);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a, 8 * P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_COMMITMENT_LIMIT);
    hm_snap(&after, a, G);
    ck_assert_snap_eq(&before, &after);
    ck_assert_uint_eq(committed(), c0);

    /* up to the limit is fine; one page more is not */
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc(a, 4 * P, MEM_COMMIT, PAGE_READWRITE), a);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(committed(), c0 + 4 * P);
    hm_snap(&before, a, G);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a + 4 * P, P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_COMMITMENT_LIMIT);
    /* a range of committed and uncommitted pages: nothing of it gets committed */
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a + 2 * P, 4 * P, MEM_COMMIT, PAGE_READONLY));
    ck_assert_last_error(ERROR_COMMITMENT_LIMIT);
    hm_snap(&after, a, G);
    ck_assert_snap_eq(&before, &after);
    ck_assert_uint_eq(committed(), c0 + 4 * P);
    ck_assert_int_eq(hm_probe_read(a + 4 * P), SIGSEGV);
    release(a);
}
END_TEST

START_TEST(reserve_and_commit_past_limit_reserves_nothing)
{
    uint64_t c0 = committed();
    hm_set_commit_limit(c0 + 4 * P);
    hm_stats_t st = hm_stats_now();
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_COMMITMENT_LIMIT);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, 8 * P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_COMMITMENT_LIMIT);
    char *r = hm_free_range(2 * G);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(r, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_COMMITMENT_LIMIT);
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQuery(r, &m, sizeof m), sizeof m);
    ck_assert_ptr_eq(m.BaseAddress, r);
    ck_assert_uint_eq(m.State, MEM_FREE);
    ck_assert_uint_ge(m.RegionSize, 2 * G);
    hm_stats_t st2 = hm_stats_now();
    ck_assert_uint_eq(st2.reservations, st.reservations);
    ck_assert_uint_eq(st2.reserved_bytes, st.reserved_bytes);
    ck_assert_uint_eq(st2.committed_bytes, st.committed_bytes);
    /* the same allocation fits once the limit allows it */
    hm_set_commit_limit(c0 + 8 * P);
    char *a = VirtualAlloc(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq(committed(), c0 + 8 * P);
    release(a);
}
END_TEST

START_TEST(reserve_is_not_charged)
{
    uint64_t c0 = committed();
    hm_set_commit_limit(c0 + P);
    SetLastError(HM_SENTINEL);
    char *a = VirtualAlloc(NULL, (SIZE_T)1 << 30, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(committed(), c0);
    ck_assert_ptr_eq(VirtualAlloc(a, P, MEM_COMMIT, PAGE_READWRITE), a);
    ck_assert_uint_eq(committed(), c0 + P);
    release(a);
    ck_assert_uint_eq(committed(), c0);
}
END_TEST

START_TEST(recommit_is_not_charged_twice)
{
    char *a = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    uint64_t c0 = committed();
    hm_set_commit_limit(c0); /* exactly at the limit */
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc(a, 4 * P, MEM_COMMIT, PAGE_READONLY), a);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(committed(), c0);
    ck_assert_region(a, a, a, PAGE_READWRITE, 4 * P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    release(a);
}
END_TEST

START_TEST(decommit_and_release_give_the_charge_back)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    uint64_t c0 = committed();
    hm_set_commit_limit(c0 + 4 * P);
    ck_assert_ptr_eq(VirtualAlloc(a, 4 * P, MEM_COMMIT, PAGE_READWRITE), a);
    ck_assert_int_ne(VirtualFree(a + P, 2 * P, MEM_DECOMMIT), 0);
    ck_assert_uint_eq(committed(), c0 + 2 * P);
    ck_assert_ptr_eq(VirtualAlloc(a + 8 * P, 2 * P, MEM_COMMIT, PAGE_READWRITE), a + 8 * P);
    ck_assert_uint_eq(committed(), c0 + 4 * P);
    release(a);
    ck_assert_uint_eq(committed(), c0);
    char *b = VirtualAlloc(NULL, 4 * P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(b);
    release(b);
}
END_TEST

/* hostmem.h: a limit below what is committed is allowed; later commits fail until enough is
 * decommitted */
START_TEST(limit_below_current_commit_blocks_new_commits)
{
    char *a = VirtualAlloc(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    uint64_t c0 = committed();
    hm_set_commit_limit(c0 - 4 * P);
    ck_assert_uint_eq(hm_commit_limit(), c0 - 4 * P);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_COMMITMENT_LIMIT);
    ck_assert_int_ne(VirtualFree(a, 4 * P, MEM_DECOMMIT), 0);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a, P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_COMMITMENT_LIMIT);
    ck_assert_int_ne(VirtualFree(a + 4 * P, P, MEM_DECOMMIT), 0);
    ck_assert_ptr_eq(VirtualAlloc(a, P, MEM_COMMIT, PAGE_READWRITE), a);
    release(a);
}
END_TEST

/* hostmem.h: 0 means unlimited; the limit reads back and shows in the statistics */
START_TEST(limit_reads_back_and_zero_means_unlimited)
{
    hm_set_commit_limit(123 * P);
    ck_assert_uint_eq(hm_commit_limit(), 123 * P);
    ck_assert_uint_eq(hm_stats_now().commit_limit, 123 * P);
    hm_set_commit_limit(0);
    ck_assert_uint_eq(hm_commit_limit(), 0);
    ck_assert_uint_eq(hm_stats_now().commit_limit, 0);
    char *a = VirtualAlloc(NULL, (SIZE_T)1 << 30, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(a);
    release(a);
}
END_TEST

/* parameter and state errors come before the commit limit */
START_TEST(other_errors_take_precedence_over_the_limit)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(VirtualAlloc(a + G - P, P, MEM_COMMIT, PAGE_READWRITE), a + G - P);
    hm_set_commit_limit(committed()); /* nonzero: the page above is charged */
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a, P, MEM_COMMIT, PAGE_WRITECOPY));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, 0, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    char *r = hm_free_range(G);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(r, P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    release(a);
}
END_TEST

/* memoryapi §4.3: ullTotalPageFile is the commit limit, ullAvailPageFile what is left of it */
START_TEST(memory_status_reports_commit_limit_and_what_is_left)
{
    char *a = VirtualAlloc(NULL, 4 * P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    uint64_t c0 = committed();
    hm_set_commit_limit(c0 + 100 * P);
    MEMORYSTATUSEX ms;
    memset(&ms, 0, sizeof ms);
    ms.dwLength = sizeof ms;
    ck_assert_int_ne(GlobalMemoryStatusEx(&ms), 0);
    ck_assert_uint_eq(ms.ullTotalPageFile, c0 + 100 * P);
    ck_assert_uint_eq(ms.ullAvailPageFile, 100 * P);
    release(a);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("commit_limit");
    TCase *tc;
#define LIMIT_CASE(tcase_expr, fn)                                  \
    tc = (tcase_expr);                                              \
    tcase_add_checked_fixture(tc, save_limit, restore_limit);       \
    hm_add(s, tc, fn)
    LIMIT_CASE(tcase_create("commit_past_limit_fails_with_commitment_limit_and_changes_nothing"), commit_past_limit_fails_with_commitment_limit_and_changes_nothing);
    LIMIT_CASE(tcase_create("reserve_and_commit_past_limit_reserves_nothing"), reserve_and_commit_past_limit_reserves_nothing);
    LIMIT_CASE(tcase_create("reserve_is_not_charged"), reserve_is_not_charged);
    LIMIT_CASE(tcase_create("recommit_is_not_charged_twice"), recommit_is_not_charged_twice);
    LIMIT_CASE(tcase_create("decommit_and_release_give_the_charge_back"), decommit_and_release_give_the_charge_back);
    LIMIT_CASE(tcase_create("limit_below_current_commit_blocks_new_commits"), limit_below_current_commit_blocks_new_commits);
    LIMIT_CASE(tcase_create("limit_reads_back_and_zero_means_unlimited"), limit_reads_back_and_zero_means_unlimited);
    LIMIT_CASE(tcase_create("other_errors_take_precedence_over_the_limit"), other_errors_take_precedence_over_the_limit);
    LIMIT_CASE(tcase_create("memory_status_reports_commit_limit_and_what_is_left"), memory_status_reports_commit_limit_and_what_is_left);
#undef LIMIT_CASE
    return s;
}

HM_TEST_MAIN(make_suite)
