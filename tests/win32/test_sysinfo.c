/*
 * test_sysinfo.c — GetSystemInfo / GetNativeSystemInfo, GetLargePageMinimum,
 * GlobalMemoryStatusEx, FlushInstructionCache, GetCurrentProcess, GetLastError/SetLastError.
 * Rows: memoryapi.md §2.5, §4.2, §4.3, §5.12, §7; semantics-decisions (GlobalMemoryStatusEx
 * length, FlushInstructionCache handle).
 */
#include <pthread.h>
#include <string.h>

#include "testlib.h"

START_TEST(system_info_reports_windows_x64_values)
{
    SYSTEM_INFO si;
    memset(&si, 0xCC, sizeof si);
    SetLastError(HM_SENTINEL);
    GetSystemInfo(&si);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(si.wProcessorArchitecture, PROCESSOR_ARCHITECTURE_AMD64);
    ck_assert_uint_eq(si.wReserved, 0);
    ck_assert_uint_eq(si.dwPageSize, 4096);
    ck_assert_ptr_eq(si.lpMinimumApplicationAddress, (void *)0x10000);
    ck_assert_ptr_eq(si.lpMaximumApplicationAddress, (void *)0x7FFFFFFEFFFF);
    ck_assert_uint_eq(si.dwProcessorType, PROCESSOR_AMD_X8664);
    ck_assert_uint_eq(si.dwAllocationGranularity, 65536);
    ck_assert_uint_ge(si.dwNumberOfProcessors, 1);
    if (si.dwNumberOfProcessors <= 64)
        ck_assert_uint_eq((unsigned)__builtin_popcountll(si.dwActiveProcessorMask),
                          si.dwNumberOfProcessors);
}
END_TEST

START_TEST(native_system_info_matches_system_info)
{
    SYSTEM_INFO a, b;
    memset(&a, 0, sizeof a);
    memset(&b, 0xFF, sizeof b);
    GetSystemInfo(&a);
    SetLastError(HM_SENTINEL);
    GetNativeSystemInfo(&b);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(b.wProcessorArchitecture, a.wProcessorArchitecture);
    ck_assert_uint_eq(b.dwPageSize, a.dwPageSize);
    ck_assert_ptr_eq(b.lpMinimumApplicationAddress, a.lpMinimumApplicationAddress);
    ck_assert_ptr_eq(b.lpMaximumApplicationAddress, a.lpMaximumApplicationAddress);
    ck_assert_uint_eq(b.dwActiveProcessorMask, a.dwActiveProcessorMask);
    ck_assert_uint_eq(b.dwNumberOfProcessors, a.dwNumberOfProcessors);
    ck_assert_uint_eq(b.dwProcessorType, a.dwProcessorType);
    ck_assert_uint_eq(b.dwAllocationGranularity, a.dwAllocationGranularity);
    ck_assert_uint_eq(b.wProcessorLevel, a.wProcessorLevel);
    ck_assert_uint_eq(b.wProcessorRevision, a.wProcessorRevision);
}
END_TEST

START_TEST(large_page_minimum_is_2mib)
{
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(GetLargePageMinimum(), 0x200000);
    ck_assert_last_error_untouched();
}
END_TEST

/* memoryapi §4.3, §7 */
START_TEST(memory_status_accepts_exact_length)
{
    MEMORYSTATUSEX ms;
    memset(&ms, 0xCC, sizeof ms);
    ms.dwLength = sizeof ms;
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(GlobalMemoryStatusEx(&ms), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(ms.dwLength, 64);
    ck_assert_uint_le(ms.dwMemoryLoad, 100);
    ck_assert_uint_gt(ms.ullTotalPhys, 0);
    ck_assert_uint_le(ms.ullAvailPhys, ms.ullTotalPhys);
    ck_assert_uint_le(ms.ullAvailPageFile, ms.ullTotalPageFile);
    ck_assert_uint_eq(ms.ullTotalVirtual, 0x7FFFFFFE0000);
    ck_assert_uint_le(ms.ullAvailVirtual, ms.ullTotalVirtual);
    ck_assert_uint_gt(ms.ullAvailVirtual, 0);
    ck_assert_uint_eq(ms.ullAvailExtendedVirtual, 0);
}
END_TEST

/* semantics-decisions: dwLength != 64 → FALSE, 87, buffer untouched (Wine agrees on 87) */
START_TEST(memory_status_rejects_wrong_length)
{
    static const DWORD lens[] = {0, 56, 63, 65, 128, 0xFFFFFFFFu};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        MEMORYSTATUSEX ms, copy;
        memset(&ms, 0x5A, sizeof ms);
        ms.dwLength = lens[i];
        memcpy(&copy, &ms, sizeof ms);
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(GlobalMemoryStatusEx(&ms), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        ck_assert_int_eq(memcmp(&ms, &copy, sizeof ms), 0);
    }
}
END_TEST

/* memoryapi §4.3: ullAvailVirtual is the unreserved address space; a reservation takes from it */
START_TEST(memory_status_available_virtual_drops_by_a_reservation)
{
    MEMORYSTATUSEX a, b;
    a.dwLength = b.dwLength = sizeof a;
    ck_assert_int_ne(GlobalMemoryStatusEx(&a), 0);
    char *p = VirtualAlloc(NULL, (SIZE_T)1 << 30, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    ck_assert_int_ne(GlobalMemoryStatusEx(&b), 0);
    ck_assert_uint_ge(a.ullAvailVirtual - b.ullAvailVirtual, (uint64_t)1 << 30);
    ck_assert_uint_le(a.ullAvailVirtual - b.ullAvailVirtual, ((uint64_t)1 << 30) + (64u << 20));
    ck_assert_int_ne(VirtualFree(p, 0, MEM_RELEASE), 0);
}
END_TEST

START_TEST(current_process_is_the_minus_one_pseudo_handle)
{
    ck_assert_ptr_eq(GetCurrentProcess(), (HANDLE)(intptr_t)-1);
}
END_TEST

/* memoryapi §5.12: x64 no-op returning TRUE */
START_TEST(flush_instruction_cache_for_current_process_succeeds)
{
    char *a = VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_EXECUTE_READWRITE);
    ck_assert_ptr_nonnull(a);
    a[0] = (char)0xC3;
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(FlushInstructionCache(GetCurrentProcess(), a, P), 0);
    ck_assert_last_error_untouched();
    ck_assert_int_ne(FlushInstructionCache(GetCurrentProcess(), NULL, 0), 0);
    ck_assert_last_error_untouched();
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* semantics-decisions: a handle other than GetCurrentProcess() → FALSE, 6 */
START_TEST(flush_instruction_cache_for_other_handle_fails_with_invalid_handle)
{
    static const uintptr_t handles[] = {0, 4, 0x1234, (uintptr_t)-2};
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(FlushInstructionCache((HANDLE)handles[i], NULL, 0), 0);
        ck_assert_last_error(ERROR_INVALID_HANDLE);
    }
}
END_TEST

static void *other_thread(void *arg)
{
    DWORD *seen = arg;
    seen[0] = GetLastError();
    SetLastError(7);
    seen[1] = GetLastError();
    return NULL;
}

/* memoryapi §5.12: a thread-local DWORD */
START_TEST(last_error_is_per_thread)
{
    SetLastError(5);
    ck_assert_uint_eq(GetLastError(), 5);
    DWORD seen[2] = {99, 99};
    pthread_t t;
    ck_assert_int_eq(pthread_create(&t, NULL, other_thread, seen), 0);
    ck_assert_int_eq(pthread_join(t, NULL), 0);
    ck_assert_uint_eq(seen[0], 0);
    ck_assert_uint_eq(seen[1], 7);
    ck_assert_uint_eq(GetLastError(), 5);
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(GetLastError(), HM_SENTINEL);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("sysinfo");
    hm_add(s, tcase_create("system_info_reports_windows_x64_values"), system_info_reports_windows_x64_values);
    hm_add(s, tcase_create("native_system_info_matches_system_info"), native_system_info_matches_system_info);
    hm_add(s, tcase_create("large_page_minimum_is_2mib"), large_page_minimum_is_2mib);
    hm_add(s, tcase_create("memory_status_accepts_exact_length"), memory_status_accepts_exact_length);
    hm_add(s, tcase_create("memory_status_rejects_wrong_length"), memory_status_rejects_wrong_length);
    hm_add(s, tcase_create("memory_status_available_virtual_drops_by_a_reservation"), memory_status_available_virtual_drops_by_a_reservation);
    hm_add(s, tcase_create("current_process_is_the_minus_one_pseudo_handle"), current_process_is_the_minus_one_pseudo_handle);
    hm_add(s, tcase_create("flush_instruction_cache_for_current_process_succeeds"), flush_instruction_cache_for_current_process_succeeds);
    hm_add(s, tcase_create("flush_instruction_cache_for_other_handle_fails_with_invalid_handle"), flush_instruction_cache_for_other_handle_fails_with_invalid_handle);
    hm_add(s, tcase_create("last_error_is_per_thread"), last_error_is_per_thread);
    return s;
}

HM_TEST_MAIN(make_suite)
