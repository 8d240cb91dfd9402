/*
 * test_virtual_query.c — VirtualQuery on hostmem memory: every field of reserved, committed
 * and free regions, region splitting by state and protection, allocation boundaries, free
 * ranges between allocations, and the argument errors.
 * Rows: windows-behaviour.md §1.5 (Q1–Q4, Q8, Q9, Q11); memoryapi.md §4.1, §5.7;
 * semantics-decisions (VirtualQuery order, free region fields).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "testlib.h"

#define TOP ((uintptr_t)0x7FFFFFFF0000) /* lpMaximumApplicationAddress + 1 */

/* Q1, Q11 */
START_TEST(query_reserved_region_reports_every_field)
{
    char *a = VirtualAlloc(NULL, 5 * P, MEM_RESERVE, PAGE_EXECUTE_READ);
    ck_assert_ptr_nonnull(a);
    MEMORY_BASIC_INFORMATION m;
    memset(&m, 0xCC, sizeof m);
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(VirtualQuery(a + 2 * P + 17, &m, sizeof m), sizeof m);
    ck_assert_last_error_untouched();
    ck_assert_ptr_eq(m.BaseAddress, a + 2 * P);
    ck_assert_ptr_eq(m.AllocationBase, a);
    ck_assert_uint_eq(m.AllocationProtect, PAGE_EXECUTE_READ);
    ck_assert_uint_eq(m.PartitionId, 0);
    ck_assert_uint_eq(m.RegionSize, 3 * P);
    ck_assert_uint_eq(m.State, MEM_RESERVE);
    ck_assert_uint_eq(m.Protect, 0);
    ck_assert_uint_eq(m.Type, MEM_PRIVATE);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* Q2: a region is the run of pages from the query page with the same state */
START_TEST(query_splits_regions_by_state)
{
    char *a = VirtualAlloc(NULL, 16 * P, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(VirtualAlloc(a + 2 * P, 4 * P, MEM_COMMIT, PAGE_READWRITE), a + 2 * P);
    ck_assert_ptr_eq(VirtualAlloc(a + 9 * P, P, MEM_COMMIT, PAGE_READWRITE), a + 9 * P);
    ck_assert_region(a, a, a, PAGE_READWRITE, 2 * P, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_region(a + 2 * P, a + 2 * P, a, PAGE_READWRITE, 4 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(a + 3 * P + 0x123, a + 3 * P, a, PAGE_READWRITE, 3 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(a + 6 * P, a + 6 * P, a, PAGE_READWRITE, 3 * P, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_region(a + 9 * P, a + 9 * P, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(a + 10 * P, a + 10 * P, a, PAGE_READWRITE, 6 * P, MEM_RESERVE, 0, MEM_PRIVATE);
    /* committing the gaps merges everything into one region */
    ck_assert_ptr_eq(VirtualAlloc(a, 16 * P, MEM_COMMIT, PAGE_READWRITE), a);
    ck_assert_region(a, a, a, PAGE_READWRITE, 16 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* Q3: ... and the same protection */
START_TEST(query_splits_regions_by_protection)
{
    char *a = VirtualAlloc(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    DWORD old = 0;
    ck_assert_int_ne(VirtualProtect(a, 3 * P, PAGE_READONLY, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_region(a, a, a, PAGE_READWRITE, 3 * P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert_region(a + 3 * P, a + 3 * P, a, PAGE_READWRITE, 13 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_int_ne(VirtualProtect(a + 7 * P, P, PAGE_NOACCESS, &old), 0);
    ck_assert_region(a + 3 * P, a + 3 * P, a, PAGE_READWRITE, 4 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(a + 7 * P, a + 7 * P, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE);
    ck_assert_region(a + 8 * P, a + 8 * P, a, PAGE_READWRITE, 8 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    /* restoring the protection merges the regions again */
    ck_assert_int_ne(VirtualProtect(a, 16 * P, PAGE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_READONLY);
    ck_assert_region(a, a, a, PAGE_READWRITE, 16 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* memoryapi §5.2: regions never cross an allocation boundary */
START_TEST(query_region_stops_at_allocation_boundary)
{
    char *r = hm_free_range(3 * G);
    char *a = VirtualAlloc(r, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    char *b = VirtualAlloc(r + G, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r);
    ck_assert_ptr_eq(b, r + G);
    ck_assert_region(a, a, a, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(a + G - 1, a + G - P, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(b, b, b, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    char *c = VirtualAlloc(r + 2 * G, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(c, r + 2 * G);
    ck_assert_int_ne(VirtualFree(b, 0, MEM_DECOMMIT), 0);
    ck_assert_region(b, b, b, PAGE_READWRITE, G, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_region(c, c, c, PAGE_READWRITE, G, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
    ck_assert_int_ne(VirtualFree(b, 0, MEM_RELEASE), 0);
    ck_assert_int_ne(VirtualFree(c, 0, MEM_RELEASE), 0);
}
END_TEST

/* Q4: free ranges between allocations */
START_TEST(query_free_range_between_allocations)
{
    char *r = hm_free_range(4 * G);
    char *a = VirtualAlloc(r, G, MEM_RESERVE, PAGE_READWRITE);
    char *b = VirtualAlloc(r + 3 * G, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r);
    ck_assert_ptr_eq(b, r + 3 * G);
    MEMORY_BASIC_INFORMATION m;
    memset(&m, 0xCC, sizeof m);
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(VirtualQuery(r + G, &m, sizeof m), sizeof m);
    ck_assert_last_error_untouched();
    ck_assert_ptr_eq(m.BaseAddress, r + G);
    ck_assert_ptr_null(m.AllocationBase);
    ck_assert_uint_eq(m.AllocationProtect, 0);
    ck_assert_uint_eq(m.PartitionId, 0);
    ck_assert_uint_eq(m.RegionSize, 2 * G);
    ck_assert_uint_eq(m.State, MEM_FREE);
    ck_assert_uint_eq(m.Protect, PAGE_NOACCESS);
    ck_assert_uint_eq(m.Type, 0);
    ck_assert_free_region(r + G + 0x1234, r + G + P, 2 * G - P);
    ck_assert_free_region(r + 3 * G - 1, r + 3 * G - P, P);
    /* after a release the range joins its free neighbours */
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
    ck_assert_free_region(r, r, 3 * G);
    ck_assert_int_ne(VirtualFree(b, 0, MEM_RELEASE), 0);
}
END_TEST

/* memoryapi §5.2: the tail of the last 64 KiB block is not part of the allocation */
START_TEST(query_tail_of_small_reservation_is_free)
{
    char *r = hm_free_range(2 * G);
    char *a = VirtualAlloc(r, 3 * P, MEM_RESERVE, PAGE_READWRITE);
    char *b = VirtualAlloc(r + G, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r);
    ck_assert_ptr_eq(b, r + G);
    ck_assert_region(a, a, a, PAGE_READWRITE, 3 * P, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_free_region(a + 3 * P, a + 3 * P, G - 3 * P);
    ck_assert_free_region(a + G - 1, a + G - P, P);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
    ck_assert_int_ne(VirtualFree(b, 0, MEM_RELEASE), 0);
}
END_TEST

/* Q11: returns the bytes written, whatever the buffer's length */
START_TEST(query_returns_bytes_written_and_writes_only_them)
{
    char *a = VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    unsigned char buf[80];
    memset(buf, 0xA5, sizeof buf);
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(VirtualQuery(a, (PMEMORY_BASIC_INFORMATION)(void *)buf, sizeof buf), 48);
    ck_assert_last_error_untouched();
    for (size_t i = 48; i < sizeof buf; i++)
        ck_assert_uint_eq(buf[i], 0xA5);
    MEMORY_BASIC_INFORMATION m;
    memcpy(&m, buf, sizeof m);
    ck_assert_ptr_eq(m.BaseAddress, a);
    ck_assert_uint_eq(m.State, MEM_COMMIT);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* Q8, semantics-decisions: dwLength < 48 → 0, ERROR_BAD_LENGTH (Wine agrees) */
START_TEST(query_too_small_buffer_fails_with_bad_length)
{
    char *a = VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    static const SIZE_T lens[] = {0, 1, 8, 40, 47};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        unsigned char buf[48];
        memset(buf, 0x5A, sizeof buf);
        SetLastError(HM_SENTINEL);
        ck_assert_uint_eq(VirtualQuery(a, (PMEMORY_BASIC_INFORMATION)(void *)buf, lens[i]), 0);
        ck_assert_last_error(ERROR_BAD_LENGTH);
        for (size_t j = 0; j < sizeof buf; j++)
            ck_assert_uint_eq(buf[j], 0x5A);
    }
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* Q9, memoryapi §5.7: an address above lpMaximumApplicationAddress → 0, 87 */
START_TEST(query_address_past_user_space_fails_with_invalid_parameter)
{
    static const uintptr_t addrs[] = {TOP, TOP + 0x1234, (uintptr_t)0x800000000000,
                                      (uintptr_t)0xFFFF800000000000, UINTPTR_MAX};
    for (size_t i = 0; i < sizeof addrs / sizeof addrs[0]; i++) {
        MEMORY_BASIC_INFORMATION m;
        memset(&m, 0x5A, sizeof m);
        SetLastError(HM_SENTINEL);
        ck_assert_uint_eq(VirtualQuery((void *)addrs[i], &m, sizeof m), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        ck_assert_uint_eq(((unsigned char *)&m)[0], 0x5A);
    }
    /* the last user page itself can be queried, and its region ends at the top */
    MEMORY_BASIC_INFORMATION m;
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(VirtualQuery((void *)(TOP - 1), &m, sizeof m), sizeof m);
    ck_assert_last_error_untouched();
    ck_assert_ptr_eq(m.BaseAddress, (void *)(TOP - P));
    ck_assert_uint_eq((uintptr_t)m.BaseAddress + m.RegionSize, TOP);
}
END_TEST

/* semantics-decisions: NULL buffer → 998 (Wine agrees) */
START_TEST(query_null_buffer_fails_with_noaccess)
{
    char *a = VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(VirtualQuery(a, NULL, sizeof(MEMORY_BASIC_INFORMATION)), 0);
    ck_assert_last_error(ERROR_NOACCESS);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* semantics-decisions: length < 48 → 24, then address above the top → 87, then NULL buffer → 998
 * (Wine gives the same three answers) */
START_TEST(query_checks_length_then_address_then_buffer)
{
    MEMORY_BASIC_INFORMATION m;
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(VirtualQuery((void *)0x800000000000, &m, 47), 0);
    ck_assert_last_error(ERROR_BAD_LENGTH);
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(VirtualQuery(&m, NULL, 0), 0);
    ck_assert_last_error(ERROR_BAD_LENGTH);
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(VirtualQuery((void *)0x800000000000, NULL, sizeof m), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
}
END_TEST

#ifndef HM_WINE /* Linux-only: the first mapping comes from /proc/self/maps */
/* memoryapi §5.7: NULL lpAddress is valid and queries page 0, which is free up to the
 * process's first mapping */
START_TEST(query_null_address_reports_free_first_range)
{
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(f);
    uintptr_t first = 0;
    ck_assert_int_eq(fscanf(f, "%" SCNxPTR, &first), 1);
    fclose(f);
    MEMORY_BASIC_INFORMATION m;
    memset(&m, 0xCC, sizeof m);
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(VirtualQuery(NULL, &m, sizeof m), sizeof m);
    ck_assert_last_error_untouched();
    ck_assert_ptr_null(m.BaseAddress);
    ck_assert_ptr_null(m.AllocationBase);
    ck_assert_uint_eq(m.AllocationProtect, 0);
    ck_assert_uint_eq(m.RegionSize, first);
    ck_assert_uint_eq(m.State, MEM_FREE);
    ck_assert_uint_eq(m.Protect, PAGE_NOACCESS);
    ck_assert_uint_eq(m.Type, 0);
}
END_TEST
#endif

static Suite *make_suite(void)
{
    Suite *s = suite_create("virtual_query");
    hm_add(s, tcase_create("query_reserved_region_reports_every_field"), query_reserved_region_reports_every_field);
    hm_add(s, tcase_create("query_splits_regions_by_state"), query_splits_regions_by_state);
    hm_add(s, tcase_create("query_splits_regions_by_protection"), query_splits_regions_by_protection);
    hm_add(s, tcase_create("query_region_stops_at_allocation_boundary"), query_region_stops_at_allocation_boundary);
    hm_add(s, tcase_create("query_free_range_between_allocations"), query_free_range_between_allocations);
    hm_add(s, tcase_create("query_tail_of_small_reservation_is_free"), query_tail_of_small_reservation_is_free);
    hm_add(s, tcase_create("query_returns_bytes_written_and_writes_only_them"), query_returns_bytes_written_and_writes_only_them);
    hm_add(s, tcase_create("query_too_small_buffer_fails_with_bad_length"), query_too_small_buffer_fails_with_bad_length);
    hm_add(s, tcase_create("query_address_past_user_space_fails_with_invalid_parameter"), query_address_past_user_space_fails_with_invalid_parameter);
    hm_add(s, tcase_create("query_null_buffer_fails_with_noaccess"), query_null_buffer_fails_with_noaccess);
    hm_add(s, tcase_create("query_checks_length_then_address_then_buffer"), query_checks_length_then_address_then_buffer);
    HM_LINUX_ONLY(hm_add(s, tcase_create("query_null_address_reports_free_first_range"), query_null_address_reports_free_first_range));
    return s;
}

HM_TEST_MAIN(make_suite)
