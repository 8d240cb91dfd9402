/*
 * test_virtual_lock.c — VirtualLock / VirtualUnlock: rounding, no lock count, ERROR_NOT_LOCKED,
 * uncommitted / NOACCESS / free pages, size 0, the locked-memory limit.
 * Rows: memoryapi.md §5.9; semantics-decisions (VirtualLock/VirtualUnlock rows). Guard pages
 * (G3): test_guard_page.c.
 */
#ifndef HM_WINE
#include <linux/capability.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

#include "testlib.h"

static void release(void *p)
{
    ck_assert_int_ne(VirtualFree(p, 0, MEM_RELEASE), 0);
}

static uint64_t locked(void)
{
    return hm_stats_now().locked_bytes;
}

START_TEST(lock_and_unlock_committed_pages)
{
    char *a = VirtualAlloc(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    a[0] = 3;
    uint64_t base = locked();
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualLock(a, 4 * P), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(locked(), base + 4 * P);
    ck_assert_int_eq(a[0], 3);
    ck_assert_region(a, a, a, PAGE_READWRITE, 8 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualUnlock(a, 4 * P), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(locked(), base);
    /* read-only pages can be locked too */
    DWORD old;
    ck_assert_int_ne(VirtualProtect(a + 4 * P, P, PAGE_READONLY, &old), 0);
    ck_assert_int_ne(VirtualLock(a + 4 * P, P), 0);
    ck_assert_uint_eq(locked(), base + P);
    ck_assert_int_ne(VirtualUnlock(a + 4 * P, P), 0);
    ck_assert_uint_eq(locked(), base);
    release(a);
}
END_TEST

/* memoryapi §5.9: range = pages touching [addr, addr+size) */
START_TEST(lock_range_covers_every_touched_page)
{
    char *a = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    uint64_t base = locked();
    ck_assert_int_ne(VirtualLock(a + P - 1, 2), 0);
    ck_assert_uint_eq(locked(), base + 2 * P);
    ck_assert_int_ne(VirtualUnlock(a + 1, 1), 0); /* page 0 only */
    ck_assert_uint_eq(locked(), base + P);
    ck_assert_int_ne(VirtualUnlock(a + P, P), 0);
    ck_assert_uint_eq(locked(), base);
    release(a);
}
END_TEST

/* memoryapi §5.9: no lock count; one unlock undoes any number of locks */
START_TEST(lock_has_no_count)
{
    char *a = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    uint64_t base = locked();
    ck_assert_int_ne(VirtualLock(a, 2 * P), 0);
    ck_assert_int_ne(VirtualLock(a, 2 * P), 0);
    ck_assert_int_ne(VirtualLock(a, P), 0);
    ck_assert_uint_eq(locked(), base + 2 * P);
    ck_assert_int_ne(VirtualUnlock(a, 2 * P), 0);
    ck_assert_uint_eq(locked(), base);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualUnlock(a, 2 * P), 0);
    ck_assert_last_error(ERROR_NOT_LOCKED);
    release(a);
}
END_TEST

/* memoryapi §5.9: the unlock range need not match a previous lock */
START_TEST(unlock_part_of_a_locked_range_succeeds)
{
    char *a = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    uint64_t base = locked();
    ck_assert_int_ne(VirtualLock(a, 4 * P), 0);
    ck_assert_int_ne(VirtualUnlock(a + P, 2 * P), 0);
    ck_assert_uint_eq(locked(), base + 2 * P);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualUnlock(a + P, P), 0);
    ck_assert_last_error(ERROR_NOT_LOCKED);
    ck_assert_int_ne(VirtualUnlock(a, P), 0);
    ck_assert_int_ne(VirtualUnlock(a + 3 * P, P), 0);
    ck_assert_uint_eq(locked(), base);
    release(a);
}
END_TEST

/* semantics-decisions: any page not locked → FALSE, 158, nothing unlocked */
START_TEST(unlock_of_unlocked_pages_fails_with_not_locked_and_unlocks_nothing)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(VirtualAlloc(a, 4 * P, MEM_COMMIT, PAGE_READWRITE), a);
    uint64_t base = locked();
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualUnlock(a, P), 0);
    ck_assert_last_error(ERROR_NOT_LOCKED);

    ck_assert_int_ne(VirtualLock(a, P), 0);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualUnlock(a, 2 * P), 0); /* page 1 is not locked */
    ck_assert_last_error(ERROR_NOT_LOCKED);
    ck_assert_uint_eq(locked(), base + P);
    /* reserved pages are not locked either */
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualUnlock(a + 8 * P, P), 0);
    ck_assert_last_error(ERROR_NOT_LOCKED);
    ck_assert_uint_eq(locked(), base + P);
    ck_assert_int_ne(VirtualUnlock(a, P), 0);
    ck_assert_uint_eq(locked(), base);
    release(a);
}
END_TEST

/* semantics-decisions: VirtualLock on reserved pages → FALSE, 487 */
START_TEST(lock_uncommitted_pages_fails_with_invalid_address)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(VirtualAlloc(a, P, MEM_COMMIT, PAGE_READWRITE), a);
    uint64_t base = locked();
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualLock(a + 4 * P, P), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualLock(a, 2 * P), 0); /* first page committed, second not */
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(locked(), base);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualUnlock(a, P), 0);
    ck_assert_last_error(ERROR_NOT_LOCKED);
    release(a);
}
END_TEST

/* memoryapi §5.9 (NOACCESS pages cannot be locked), semantics-decisions: FALSE, 998 */
START_TEST(lock_noaccess_pages_fails_with_noaccess)
{
    char *a = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(a);
    uint64_t base = locked();
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualLock(a, P), 0);
    ck_assert_last_error(ERROR_NOACCESS);
    DWORD old;
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_READWRITE, &old), 0);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualLock(a, 2 * P), 0); /* second page still NOACCESS */
    ck_assert_last_error(ERROR_NOACCESS);
    ck_assert_uint_eq(locked(), base);
    ck_assert_int_ne(VirtualLock(a, P), 0);
    ck_assert_int_ne(VirtualUnlock(a, P), 0);
    release(a);
}
END_TEST

/* every page must be committed: free memory is not */
START_TEST(lock_free_memory_fails_with_invalid_address)
{
    char *r = hm_free_range(G);
    uint64_t base = locked();
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualLock(r, P), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(locked(), base);
}
END_TEST

/* semantics-decisions: size 0 → 87 */
START_TEST(lock_and_unlock_size_zero_fail_with_invalid_parameter)
{
    char *a = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    uint64_t base = locked();
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualLock(a, 0), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(locked(), base);
    ck_assert_int_ne(VirtualLock(a, P), 0);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualUnlock(a, 0), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(locked(), base + P);
    ck_assert_int_ne(VirtualUnlock(a, P), 0);
    release(a);
}
END_TEST

/* a released allocation cannot stay locked */
START_TEST(release_drops_the_lock)
{
    uint64_t base = locked();
    char *a = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_ne(VirtualLock(a, 4 * P), 0);
    ck_assert_uint_eq(locked(), base + 4 * P);
    release(a);
    ck_assert_uint_eq(locked(), base);
}
END_TEST

#ifndef HM_WINE /* Linux-only: capabilities and RLIMIT_MEMLOCK */
/* semantics-decisions: over the locked-memory limit → FALSE, 1453, nothing locked.
 * Runs in its own process (Check forks): drops CAP_IPC_LOCK and lowers RLIMIT_MEMLOCK. */
START_TEST(lock_over_the_limit_fails_with_working_set_quota)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    ck_assert_int_eq(syscall(SYS_capget, &h, d), 0);
    d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
    ck_assert_int_eq(syscall(SYS_capset, &h, d), 0);
    struct rlimit rl = {16 * P, 16 * P};
    ck_assert_int_eq(setrlimit(RLIMIT_MEMLOCK, &rl), 0);

    char *a = VirtualAlloc(NULL, 64 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    uint64_t base = locked();
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualLock(a, 64 * P), 0);
    ck_assert_last_error(ERROR_WORKING_SET_QUOTA);
    ck_assert_uint_eq(locked(), base);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualUnlock(a, P), 0);
    ck_assert_last_error(ERROR_NOT_LOCKED);
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualLock(a, 4 * P), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(locked(), base + 4 * P);
    release(a);
}
END_TEST
#endif

static Suite *make_suite(void)
{
    Suite *s = suite_create("virtual_lock");
    hm_add(s, tcase_create("lock_and_unlock_committed_pages"), lock_and_unlock_committed_pages);
    hm_add(s, tcase_create("lock_range_covers_every_touched_page"), lock_range_covers_every_touched_page);
    hm_add(s, tcase_create("lock_has_no_count"), lock_has_no_count);
    hm_add(s, tcase_create("unlock_part_of_a_locked_range_succeeds"), unlock_part_of_a_locked_range_succeeds);
    hm_add(s, tcase_create("unlock_of_unlocked_pages_fails_with_not_locked_and_unlocks_nothing"), unlock_of_unlocked_pages_fails_with_not_locked_and_unlocks_nothing);
    hm_add(s, tcase_create("lock_uncommitted_pages_fails_with_invalid_address"), lock_uncommitted_pages_fails_with_invalid_address);
    hm_add(s, tcase_create("lock_noaccess_pages_fails_with_noaccess"), lock_noaccess_pages_fails_with_noaccess);
    hm_add(s, tcase_create("lock_free_memory_fails_with_invalid_address"), lock_free_memory_fails_with_invalid_address);
    hm_add(s, tcase_create("lock_and_unlock_size_zero_fail_with_invalid_parameter"), lock_and_unlock_size_zero_fail_with_invalid_parameter);
    hm_add(s, tcase_create("release_drops_the_lock"), release_drops_the_lock);
    HM_LINUX_ONLY(hm_add(s, tcase_create("lock_over_the_limit_fails_with_working_set_quota"), lock_over_the_limit_fails_with_working_set_quota));
    return s;
}

HM_TEST_MAIN(make_suite)
