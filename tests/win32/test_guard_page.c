/*
 * test_guard_page.c — PAGE_GUARD: one-shot per page, the access is retried, the guard-page
 * callback runs once with the faulting address, VirtualQuery before and after, VirtualLock
 * on a guard page.
 * Rows: windows-behaviour.md §1.8 (G1, G2, G4, G5; G3 as semantics-decisions says);
 * memoryapi.md §6 (PAGE_GUARD semantics); hostmem.h (hm_set_guard_page_callback).
 */
#include <signal.h>

#include "testlib.h"

#ifndef HM_WINE /* the recorder serves the Linux-only cases below */
static volatile sig_atomic_t g_calls;
static void *volatile g_addr;
static void *volatile g_ctx;

static void on_guard(void *fault_address, void *context)
{
    g_calls++;
    g_addr = fault_address;
    g_ctx = context;
}

static void reset_recorder(void *ctx)
{
    g_calls = 0;
    g_addr = NULL;
    g_ctx = NULL;
    hm_set_guard_page_callback(on_guard, ctx);
}
#endif

static void release(void *p)
{
    ck_assert_int_ne(VirtualFree(p, 0, MEM_RELEASE), 0);
}

/* G1 */
START_TEST(guard_commit_reports_guard_in_query)
{
    SetLastError(HM_SENTINEL);
    char *a = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    ck_assert_ptr_nonnull(a);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_READWRITE | PAGE_GUARD, P, MEM_COMMIT,
                     PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
    /* committing guard pages inside a reservation: AllocationProtect stays the reserve's */
    char *b = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READONLY);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_eq(VirtualAlloc(b, 2 * P, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD), b);
    ck_assert_region(b, b, b, PAGE_READONLY, 2 * P, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
    ck_assert_region(b + 2 * P, b + 2 * P, b, PAGE_READONLY, G - 2 * P, MEM_RESERVE, 0, MEM_PRIVATE);
    release(a);
    release(b);
}
END_TEST

/* G2 */
START_TEST(guard_protect_round_trip_reports_old_protection)
{
    char *a = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    ck_assert_ptr_nonnull(a);
    DWORD old = 0;
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_READWRITE, &old), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(old, PAGE_READWRITE | PAGE_GUARD);
    ((int *)a)[0] = 1;
    ((int *)a)[1] = 2;
    old = 0;
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_READWRITE | PAGE_GUARD, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_region(a, a, a, PAGE_READWRITE | PAGE_GUARD, P, MEM_COMMIT,
                     PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
    release(a);
}
END_TEST

#ifndef HM_WINE /* Linux-only: hostmem's guard-page callback and guard_pages_hit */
/* G4, G5: first read clears the guard, is retried, the callback runs once */
START_TEST(guard_first_read_is_retried_and_reported_once)
{
    int ctx_tag;
    char *a = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ((volatile int *)a)[1] = 0x102;
    DWORD old;
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_READWRITE | PAGE_GUARD, &old), 0);
    uint64_t hits = hm_stats_now().guard_pages_hit;
    reset_recorder(&ctx_tag);

    int v = ((volatile int *)a)[1];
    ck_assert_int_eq(v, 0x102);
    ck_assert_int_eq(g_calls, 1);
    ck_assert_ptr_eq(g_addr, a + sizeof(int));
    ck_assert_ptr_eq(g_ctx, &ctx_tag);
    ck_assert_uint_eq(hm_stats_now().guard_pages_hit, hits + 1);
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);

    /* one-shot: a second access is an ordinary one */
    v = ((volatile int *)a)[1];
    ((volatile int *)a)[0] = 7;
    ck_assert_int_eq(v, 0x102);
    ck_assert_int_eq(g_calls, 1);
    ck_assert_uint_eq(hm_stats_now().guard_pages_hit, hits + 1);
    old = 0;
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_READWRITE | PAGE_GUARD, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    hm_set_guard_page_callback(NULL, NULL);
    release(a);
}
END_TEST

/* G4 with a write: the retried write lands */
START_TEST(guard_first_write_is_retried_and_stored)
{
    char *a = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    ck_assert_ptr_nonnull(a);
    reset_recorder(NULL);
    ((volatile int *)a)[0] = 1;
    ((volatile int *)a)[1] = 2;
    ck_assert_int_eq(g_calls, 1);
    ck_assert_ptr_eq(g_addr, a);
    ck_assert_ptr_null(g_ctx);
    ck_assert_int_eq(((volatile int *)a)[0], 1);
    ck_assert_int_eq(((volatile int *)a)[1], 2);
    ck_assert_region(a, a, a, PAGE_READWRITE | PAGE_GUARD, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    hm_set_guard_page_callback(NULL, NULL);
    release(a);
}
END_TEST

/* memoryapi §6: the guard bit is cleared on the touched page only */
START_TEST(guard_is_cleared_per_page)
{
    char *a = VirtualAlloc(NULL, 3 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY | PAGE_GUARD);
    ck_assert_ptr_nonnull(a);
    reset_recorder(NULL);
    (void)((volatile char *)a)[P + 100];
    ck_assert_int_eq(g_calls, 1);
    ck_assert_ptr_eq(g_addr, a + P + 100);
    ck_assert_region(a, a, a, PAGE_READONLY | PAGE_GUARD, P, MEM_COMMIT, PAGE_READONLY | PAGE_GUARD, MEM_PRIVATE);
    ck_assert_region(a + P, a + P, a, PAGE_READONLY | PAGE_GUARD, P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert_region(a + 2 * P, a + 2 * P, a, PAGE_READONLY | PAGE_GUARD, P, MEM_COMMIT, PAGE_READONLY | PAGE_GUARD, MEM_PRIVATE);
    (void)((volatile char *)a)[P + 200];
    ck_assert_int_eq(g_calls, 1);
    (void)((volatile char *)a)[0];
    ck_assert_int_eq(g_calls, 2);
    ck_assert_ptr_eq(g_addr, a);
    (void)((volatile char *)a)[2 * P + 5];
    ck_assert_int_eq(g_calls, 3);
    ck_assert_ptr_eq(g_addr, a + 2 * P + 5);
    ck_assert_region(a, a, a, PAGE_READONLY | PAGE_GUARD, 3 * P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    hm_set_guard_page_callback(NULL, NULL);
    release(a);
}
END_TEST

/* memoryapi §6: after the guard clears, the base protection applies to the retried access */
START_TEST(guard_over_readonly_page_still_faults_on_write)
{
    char *a = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY | PAGE_GUARD);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(hm_probe_write(a), SIGSEGV);
    /* the child's fault did not touch the parent's guard */
    ck_assert_region(a, a, a, PAGE_READONLY | PAGE_GUARD, P, MEM_COMMIT, PAGE_READONLY | PAGE_GUARD, MEM_PRIVATE);
    reset_recorder(NULL);
    ck_assert_int_eq(((volatile char *)a)[0], 0);
    ck_assert_int_eq(g_calls, 1);
    ck_assert_int_eq(hm_probe_write(a), SIGSEGV);
    ck_assert_region(a, a, a, PAGE_READONLY | PAGE_GUARD, P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    hm_set_guard_page_callback(NULL, NULL);
    release(a);
}
END_TEST

/* hostmem.h: without a callback the guard is still one-shot; a new callback replaces the old */
START_TEST(guard_without_callback_is_still_one_shot)
{
    char *a = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    ck_assert_ptr_nonnull(a);
    reset_recorder(NULL);
    hm_set_guard_page_callback(NULL, NULL);
    uint64_t hits = hm_stats_now().guard_pages_hit;
    ((volatile char *)a)[0] = 5;
    ck_assert_int_eq(g_calls, 0);
    ck_assert_int_eq(((volatile char *)a)[0], 5);
    ck_assert_uint_eq(hm_stats_now().guard_pages_hit, hits + 1);
    ck_assert_region(a, a, a, PAGE_READWRITE | PAGE_GUARD, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    hm_set_guard_page_callback(on_guard, NULL);
    ((volatile char *)a)[P] = 6;
    ck_assert_int_eq(g_calls, 1);
    ck_assert_ptr_eq(g_addr, a + P);
    hm_set_guard_page_callback(NULL, NULL);
    release(a);
}
END_TEST
#endif

/* G3 as semantics-decisions says: FALSE with last error STATUS_GUARD_PAGE_VIOLATION, the guard
 * is cleared, a second VirtualLock succeeds */
START_TEST(guard_lock_fails_once_and_clears_the_guard)
{
    char *a = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    ck_assert_ptr_nonnull(a);
    DWORD old;
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_READWRITE, &old), 0);
    ((volatile int *)a)[0] = 1;
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_READWRITE | PAGE_GUARD, &old), 0);
    uint64_t base = hm_stats_now().locked_bytes;

    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualLock(a, P), 0);
    ck_assert_last_error((DWORD)STATUS_GUARD_PAGE_VIOLATION);
    ck_assert_uint_eq(hm_stats_now().locked_bytes, base);
    ck_assert_region(a, a, a, PAGE_READWRITE | PAGE_GUARD, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);

    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualLock(a, P), 0);
    ck_assert_last_error_untouched();
    ck_assert_int_eq(((volatile int *)a)[0], 1);
    ck_assert_int_ne(VirtualUnlock(a, P), 0);
    old = 0;
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_READWRITE | PAGE_GUARD, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    release(a);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("guard_page");
    hm_add(s, tcase_create("guard_commit_reports_guard_in_query"), guard_commit_reports_guard_in_query);
    hm_add(s, tcase_create("guard_protect_round_trip_reports_old_protection"), guard_protect_round_trip_reports_old_protection);
    HM_LINUX_ONLY(hm_add(s, tcase_create("guard_first_read_is_retried_and_reported_once"), guard_first_read_is_retried_and_reported_once));
    HM_LINUX_ONLY(hm_add(s, tcase_create("guard_first_write_is_retried_and_stored"), guard_first_write_is_retried_and_stored));
    HM_LINUX_ONLY(hm_add(s, tcase_create("guard_is_cleared_per_page"), guard_is_cleared_per_page));
    HM_LINUX_ONLY(hm_add(s, tcase_create("guard_over_readonly_page_still_faults_on_write"), guard_over_readonly_page_still_faults_on_write));
    HM_LINUX_ONLY(hm_add(s, tcase_create("guard_without_callback_is_still_one_shot"), guard_without_callback_is_still_one_shot));
    hm_add(s, tcase_create("guard_lock_fails_once_and_clears_the_guard"), guard_lock_fails_once_and_clears_the_guard);
    return s;
}

HM_TEST_MAIN(make_suite)
