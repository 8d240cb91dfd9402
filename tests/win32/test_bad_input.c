/*
 * test_bad_input.c — hostile arguments get the Windows error, never a crash, and change
 * nothing: NULL, unaligned and foreign pointers, addresses above user space, sizes near
 * SIZE_MAX, base+size that wraps, double free.
 * Rows: issue text ("Bad input"); memoryapi.md §5.3, §5.6–§5.9; windows-behaviour.md §1.2
 * (NtProtect on NULL fails, old = NOACCESS), A17 (wrap → 87).
 */
#include <stdlib.h>
#include <string.h>
#ifndef HM_WINE
#include <sys/mman.h>
#endif

#include "testlib.h"

#define ABOVE_USER ((char *)0x800000000000)

static void release(void *p)
{
    ck_assert_int_ne(VirtualFree(p, 0, MEM_RELEASE), 0);
}

/* page 0 is free memory */
START_TEST(null_pointers_get_windows_errors)
{
    DWORD old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(NULL, 0, MEM_RELEASE), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(NULL, P, MEM_DECOMMIT), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(NULL, P, PAGE_READWRITE, &old), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualLock(NULL, P), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, P, MEM_RESET, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(VirtualQuery(NULL, NULL, sizeof(MEMORY_BASIC_INFORMATION)), 0);
    ck_assert_last_error(ERROR_NOACCESS);
}
END_TEST

/* unaligned pointers round to the pages they touch in every call */
START_TEST(unaligned_pointers_round_to_pages)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(VirtualAlloc(a + 1, 1, MEM_COMMIT, PAGE_READWRITE), a);
    ck_assert_region(a + 3, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    DWORD old = 0;
    ck_assert_int_ne(VirtualProtect(a + 5, 1, PAGE_READONLY, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_region(a + 7, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    uint64_t lk = hm_stats_now().locked_bytes;
    ck_assert_int_ne(VirtualLock(a + 9, 1), 0);
    ck_assert_uint_eq(hm_stats_now().locked_bytes, lk + P);
    ck_assert_int_ne(VirtualUnlock(a + 11, 1), 0);
    ck_assert_int_ne(VirtualFree(a + 13, 1, MEM_DECOMMIT), 0);
    ck_assert_region(a, a, a, PAGE_READWRITE, G, MEM_RESERVE, 0, MEM_PRIVATE);
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualFree(a + 1, 0, MEM_RELEASE), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(VirtualQuery(a, &(MEMORY_BASIC_INFORMATION){0}, sizeof(MEMORY_BASIC_INFORMATION)),
                      sizeof(MEMORY_BASIC_INFORMATION));
}
END_TEST

#ifndef HM_WINE /* Linux-only: mmap */
static char static_buf[3 * 4096] __attribute__((aligned(4096))) = {1};

/* foreign pointers: not a hostmem allocation's base, and not free address space */
START_TEST(foreign_pointers_are_refused_and_left_intact)
{
    int local = 42;
    char *heap = malloc(256);
    ck_assert_ptr_nonnull(heap);
    memset(heap, 0x3C, 256);
    char *map = mmap(NULL, 4 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(map, MAP_FAILED);
    memset(map, 0x4D, 4 * P);
    char *ptrs[] = {(char *)&local, heap + 16, map + P, static_buf + P + 3};
    for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualFree(ptrs[i], 0, MEM_RELEASE), 0);
        ck_assert_last_error(ERROR_INVALID_ADDRESS);
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(ptrs[i], P, MEM_RESERVE, PAGE_READWRITE));
        ck_assert_last_error(ERROR_INVALID_ADDRESS);
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(ptrs[i], P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
        ck_assert_last_error(ERROR_INVALID_ADDRESS);
    }
    ck_assert_int_eq(local, 42);
    ck_assert_int_eq(heap[255], 0x3C);
    ck_assert_int_eq(map[P], 0x4D);
    ck_assert_int_eq(static_buf[0], 1);
    ck_assert_int_eq(hm_probe_write(map + P), 0);
    ck_assert_int_eq(hm_probe_write(static_buf + P), 0);
    munmap(map, 4 * P);
    free(heap);
}
END_TEST
#endif

/* memoryapi §5.7 and ReactOS/NT argument checks: an address above user space → 87 */
START_TEST(addresses_above_user_space_fail_with_invalid_parameter)
{
    char *addrs[] = {ABOVE_USER, (char *)0x7FFFFFFF0000, (char *)0xFFFF800000000000, (char *)UINTPTR_MAX};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        DWORD old = 0x1234;
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(addrs[i], P, MEM_RESERVE, PAGE_READWRITE));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(addrs[i], P, MEM_COMMIT, PAGE_READWRITE));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualFree(addrs[i], 0, MEM_RELEASE), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualFree(addrs[i], P, MEM_DECOMMIT), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualProtect(addrs[i], P, PAGE_READWRITE, &old), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualLock(addrs[i], P), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualUnlock(addrs[i], P), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
}
END_TEST

/* sizes near SIZE_MAX and base+size that wraps: 87 from every call, nothing changed */
START_TEST(huge_and_wrapping_sizes_fail_with_invalid_parameter)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(VirtualAlloc(a, 2 * P, MEM_COMMIT, PAGE_READWRITE), a);
    ck_assert_int_ne(VirtualLock(a, P), 0);
    a[0] = 0x19;
    hm_snap_t before, after;
    hm_snap(&before, a, G);
    hm_stats_t st = hm_stats_now();
    SIZE_T sizes[] = {SIZE_MAX, SIZE_MAX - P, (SIZE_T)0 - (uintptr_t)a + P /* wraps to P */,
                      (SIZE_T)0x800000000000 /* ends past user space */};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        DWORD old = 0x1234;
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(a, sizes[i], MEM_COMMIT, PAGE_READWRITE));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(a, sizes[i], MEM_RESET, PAGE_READWRITE));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualFree(a, sizes[i], MEM_DECOMMIT), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualProtect(a, sizes[i], PAGE_READONLY, &old), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualLock(a, sizes[i]), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualUnlock(a, sizes[i]), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    hm_snap(&after, a, G);
    ck_assert_snap_eq(&before, &after);
    hm_stats_t st2 = hm_stats_now();
    ck_assert_uint_eq(st2.committed_bytes, st.committed_bytes);
    ck_assert_uint_eq(st2.locked_bytes, st.locked_bytes);
    ck_assert_int_eq(a[0], 0x19);
    ck_assert_int_ne(VirtualUnlock(a, P), 0);
    release(a);
}
END_TEST

/* double free, and every other call on the freed range */
START_TEST(use_after_release_gets_windows_errors)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    release(a);
    DWORD old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(a, 0, MEM_RELEASE), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(a, G, MEM_DECOMMIT), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a, P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a, P, PAGE_READONLY, &old), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualLock(a, P), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQuery(a, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_FREE);
}
END_TEST

#ifndef HM_WINE /* Windows faults here: hostmem's own rule (never crash the host) */
/* The void getters have no error to report: a NULL or low pointer writes nothing. */
START_TEST(system_info_getters_ignore_null_pointers)
{
    GetSystemInfo(NULL);
    GetNativeSystemInfo(NULL);
    GetSystemInfo((LPSYSTEM_INFO)(uintptr_t)8);
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    ck_assert_uint_eq(si.dwPageSize, 4096);
}
END_TEST
#endif

static Suite *make_suite(void)
{
    Suite *s = suite_create("bad_input");
    hm_add(s, tcase_create("null_pointers_get_windows_errors"), null_pointers_get_windows_errors);
    hm_add(s, tcase_create("unaligned_pointers_round_to_pages"), unaligned_pointers_round_to_pages);
    HM_LINUX_ONLY(hm_add(s, tcase_create("foreign_pointers_are_refused_and_left_intact"), foreign_pointers_are_refused_and_left_intact));
    HM_LINUX_ONLY(hm_add(s, tcase_create("system_info_getters_ignore_null_pointers"), system_info_getters_ignore_null_pointers));
    hm_add(s, tcase_create("addresses_above_user_space_fail_with_invalid_parameter"), addresses_above_user_space_fail_with_invalid_parameter);
    hm_add(s, tcase_create("huge_and_wrapping_sizes_fail_with_invalid_parameter"), huge_and_wrapping_sizes_fail_with_invalid_parameter);
    hm_add(s, tcase_create("use_after_release_gets_windows_errors"), use_after_release_gets_windows_errors);
    return s;
}

HM_TEST_MAIN(make_suite)
