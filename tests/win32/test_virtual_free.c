/*
 * test_virtual_free.c — VirtualFree: release (size 0, allocation base), decommit ranges,
 * free-type validation, free memory, ranges crossing allocations, double free, and what
 * the memory looks like afterwards.
 * Rows: windows-behaviour.md §1.4 (F1–F17 at the Win32 level); memoryapi.md §5.6.
 */
#include <signal.h>
#include <string.h>

#include "testlib.h"

/* F4 */
START_TEST(release_needs_size_zero)
{
    char *a = VirtualAlloc(NULL, 2 * G, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(VirtualAlloc(a, P, MEM_COMMIT, PAGE_READWRITE), a);
    hm_snap_t before, after;
    hm_snap(&before, a, 2 * G);
    static const SIZE_T sizes[] = {1, P, G, 2 * G};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualFree(a, sizes[i], MEM_RELEASE), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    hm_snap(&after, a, 2 * G);
    ck_assert_snap_eq(&before, &after);
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
    ck_assert_last_error_untouched();
}
END_TEST

/* memoryapi §5.6 (release not at the base → 487), F8 */
START_TEST(release_needs_allocation_base)
{
    char *a = VirtualAlloc(NULL, 2 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    a[0] = 1;
    hm_snap_t before, after;
    hm_snap(&before, a, 2 * G);
    static const SIZE_T offs[] = {P, 0x1001, G, 2 * G - P};
    for (size_t i = 0; i < sizeof offs / sizeof offs[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualFree(a + offs[i], 0, MEM_RELEASE), 0);
        ck_assert_last_error(ERROR_INVALID_ADDRESS);
    }
    hm_snap(&after, a, 2 * G);
    ck_assert_snap_eq(&before, &after);
    ck_assert_int_eq(a[0], 1);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* F10: an address inside the first page rounds down to the allocation base */
START_TEST(release_address_inside_first_page_rounds_to_base)
{
    char *r = hm_free_range(2 * G);
    char *a = VirtualAlloc(r, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r);
    char *next = VirtualAlloc(r + 2 * G, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(next, r + 2 * G);
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualFree(a + 0xFFF, 0, MEM_RELEASE), 0);
    ck_assert_last_error_untouched();
    ck_assert_free_region(a, a, 2 * G);
    ck_assert_int_ne(VirtualFree(next, 0, MEM_RELEASE), 0);
}
END_TEST

/* F5: release frees the whole allocation, committed and reserved pages alike */
START_TEST(release_frees_whole_allocation_of_mixed_pages)
{
    char *r = hm_free_range(4 * G);
    char *next = VirtualAlloc(r + 3 * G, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(next, r + 3 * G);
    hm_stats_t st0 = hm_stats_now();
    char *a = VirtualAlloc(r, 2 * G, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_eq(a, r);
    ck_assert_ptr_eq(VirtualAlloc(a + P, 2 * P, MEM_COMMIT, PAGE_READWRITE), a + P);
    ck_assert_ptr_eq(VirtualAlloc(a + G, P, MEM_COMMIT, PAGE_READONLY), a + G);
    memset(a + P, 0x33, 2 * P);
    hm_stats_t st1 = hm_stats_now();
    ck_assert_uint_eq(st1.reservations, st0.reservations + 1);
    ck_assert_uint_eq(st1.reserved_bytes, st0.reserved_bytes + 2 * G);
    ck_assert_uint_eq(st1.committed_bytes, st0.committed_bytes + 3 * P);

    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
    ck_assert_last_error_untouched();
    ck_assert_free_region(a, a, 3 * G);
    ck_assert_free_region(a + G + 0x10, a + G, 2 * G);
    ck_assert_int_eq(hm_probe_read(a + P), SIGSEGV);
    ck_assert_int_eq(hm_probe_read(a + G), SIGSEGV);
    hm_stats_t st2 = hm_stats_now();
    ck_assert_uint_eq(st2.reservations, st0.reservations);
    ck_assert_uint_eq(st2.reserved_bytes, st0.reserved_bytes);
    ck_assert_uint_eq(st2.committed_bytes, st0.committed_bytes);
    ck_assert_int_ne(VirtualFree(next, 0, MEM_RELEASE), 0);
}
END_TEST

/* F7: the decommitted range is every page touched */
START_TEST(decommit_covers_every_touched_page)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualFree(a + 0x1FFF, 2, MEM_DECOMMIT), 0);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(a + P, a + P, a, PAGE_READWRITE, 2 * P, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_region(a + 3 * P, a + 3 * P, a, PAGE_READWRITE, G - 3 * P, MEM_COMMIT,
                     PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_int_eq(hm_probe_read(a + P), SIGSEGV);
    ck_assert_int_eq(hm_probe_write(a + 2 * P + 7), SIGSEGV);
    ck_assert_int_eq(hm_probe_write(a + 3 * P), 0);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* F3: decommitting pages that are only reserved is not an error */
START_TEST(decommit_of_reserved_pages_succeeds)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(VirtualAlloc(a, P, MEM_COMMIT, PAGE_NOACCESS), a);
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualFree(a, G, MEM_DECOMMIT), 0);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_NOACCESS, G, MEM_RESERVE, 0, MEM_PRIVATE);
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualFree(a + 5 * P, 3 * P, MEM_DECOMMIT), 0);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_NOACCESS, G, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* memoryapi §5.6 (size 0 at the base = whole allocation), F9 */
START_TEST(decommit_size_zero_at_base_decommits_whole_allocation)
{
    char *a = VirtualAlloc(NULL, 2 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    hm_stats_t st = hm_stats_now();
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_DECOMMIT), 0);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_READWRITE, 2 * G, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, st.committed_bytes - 2 * G);

    ck_assert_ptr_eq(VirtualAlloc(a, 2 * G, MEM_COMMIT, PAGE_READONLY), a);
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualFree(a + 0xFFE, 0, MEM_DECOMMIT), 0);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_READWRITE, 2 * G, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* F8 */
START_TEST(decommit_size_zero_not_at_base_fails_with_invalid_address)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    memset(a, 0x44, G);
    hm_snap_t before, after;
    hm_snap(&before, a, G);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(a + 0x1001, 0, MEM_DECOMMIT), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(a + P, 0, MEM_DECOMMIT), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    hm_snap(&after, a, G);
    ck_assert_snap_eq(&before, &after);
    ck_assert_int_eq(a[P], 0x44);
    ck_assert_int_eq(a[G - 1], 0x44);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* Issue: decommit then recommit reads zero; decommitted pages fault */
START_TEST(decommit_then_recommit_reads_zero)
{
    char *a = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    memset(a, 0xAA, 4 * P);
    ck_assert_int_ne(VirtualFree(a + P, 2 * P, MEM_DECOMMIT), 0);
    ck_assert_int_eq(hm_probe_read(a + P), SIGSEGV);
    ck_assert_int_eq(hm_probe_read(a + 2 * P), SIGSEGV);
    ck_assert_ptr_eq(VirtualAlloc(a + P, 2 * P, MEM_COMMIT, PAGE_READWRITE), a + P);
    for (SIZE_T i = P; i < 3 * P; i++)
        ck_assert_msg(a[i] == 0, "byte %zu", (size_t)i);
    ck_assert_int_eq((unsigned char)a[0], 0xAA);
    ck_assert_int_eq((unsigned char)a[3 * P], 0xAA);
    ck_assert_region(a, a, a, PAGE_READWRITE, 4 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* F1, F2, F6, memoryapi §5.6 (other bits → 87) */
START_TEST(free_type_must_be_exactly_decommit_or_release)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    hm_snap_t before, after;
    hm_snap(&before, a, G);
    static const DWORD types[] = {
        0, MEM_FREE, MEM_DECOMMIT | MEM_RELEASE, MEM_RELEASE | MEM_RESERVE,
        MEM_DECOMMIT | MEM_COMMIT, MEM_RESERVE, MEM_COMMIT, MEM_DECOMMIT | MEM_RESET,
        MEM_RELEASE | MEM_TOP_DOWN, 0xFFFFFFFFu,
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualFree(a, 0, types[i]) == 0, "type %#x size 0", types[i]);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualFree(a, G, types[i]) == 0, "type %#x size G", types[i]);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    hm_snap(&after, a, G);
    ck_assert_snap_eq(&before, &after);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
}
END_TEST

/* F17, memoryapi §5.6 (free memory → 487) */
START_TEST(free_of_free_memory_fails_with_invalid_address)
{
    char *r = hm_free_range(2 * G);
    hm_snap_t before, after;
    hm_snap(&before, r, 2 * G);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(r, 0, MEM_RELEASE), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(r, P, MEM_DECOMMIT), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(r + 0x1234, 0, MEM_DECOMMIT), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    hm_snap(&after, r, 2 * G);
    ck_assert_snap_eq(&before, &after);
}
END_TEST

/* Issue: double free; F17 */
START_TEST(double_release_fails_with_invalid_address)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
    hm_stats_t st = hm_stats_now();
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(a, 0, MEM_RELEASE), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(a, P, MEM_DECOMMIT), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    hm_stats_t st2 = hm_stats_now();
    ck_assert_uint_eq(st2.reservations, st.reservations);
    ck_assert_uint_eq(st2.committed_bytes, st.committed_bytes);
}
END_TEST

/* F11, F16: a range that leaves its allocation cannot be freed (STATUS_UNABLE_TO_FREE_VM → 87);
 * a range that starts in free memory is not allocated (487) */
START_TEST(free_range_crossing_allocations_fails_and_changes_nothing)
{
    char *r = hm_free_range(4 * G);
    char *a = VirtualAlloc(r, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    char *b = VirtualAlloc(r + G, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r);
    ck_assert_ptr_eq(b, r + G);
    memset(a, 0x11, G);
    memset(b, 0x22, G);
    hm_snap_t before, after;
    hm_snap(&before, r - G, 5 * G);
    hm_stats_t st = hm_stats_now();

    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(a + G - P, 2 * P, MEM_DECOMMIT), 0); /* a's last page, b's first */
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(a, 2 * G, MEM_DECOMMIT), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(b, G + P, MEM_DECOMMIT), 0); /* past b's end into free memory */
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualFree(r - P, 2 * P, MEM_DECOMMIT), 0); /* starts in free memory */
    ck_assert_last_error(ERROR_INVALID_ADDRESS);

    hm_snap(&after, r - G, 5 * G);
    ck_assert_snap_eq(&before, &after);
    hm_stats_t st2 = hm_stats_now();
    ck_assert_uint_eq(st2.committed_bytes, st.committed_bytes);
    ck_assert_int_eq(a[G - 1], 0x11);
    ck_assert_int_eq(b[0], 0x22);
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
    ck_assert_int_ne(VirtualFree(b, 0, MEM_RELEASE), 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("virtual_free");
    hm_add(s, tcase_create("virtualfree_release_needs_size_zero"), release_needs_size_zero);
    hm_add(s, tcase_create("virtualfree_release_needs_allocation_base"), release_needs_allocation_base);
    hm_add(s, tcase_create("virtualfree_release_address_inside_first_page_rounds_to_base"), release_address_inside_first_page_rounds_to_base);
    hm_add(s, tcase_create("virtualfree_release_frees_whole_allocation_of_mixed_pages"), release_frees_whole_allocation_of_mixed_pages);
    hm_add(s, tcase_create("virtualfree_decommit_covers_every_touched_page"), decommit_covers_every_touched_page);
    hm_add(s, tcase_create("virtualfree_decommit_of_reserved_pages_succeeds"), decommit_of_reserved_pages_succeeds);
    hm_add(s, tcase_create("virtualfree_decommit_size_zero_at_base_decommits_whole_allocation"), decommit_size_zero_at_base_decommits_whole_allocation);
    hm_add(s, tcase_create("virtualfree_decommit_size_zero_not_at_base_fails_with_invalid_address"), decommit_size_zero_not_at_base_fails_with_invalid_address);
    hm_add(s, tcase_create("virtualfree_decommit_then_recommit_reads_zero"), decommit_then_recommit_reads_zero);
    hm_add(s, tcase_create("virtualfree_free_type_must_be_exactly_decommit_or_release"), free_type_must_be_exactly_decommit_or_release);
    hm_add(s, tcase_create("virtualfree_free_of_free_memory_fails_with_invalid_address"), free_of_free_memory_fails_with_invalid_address);
    hm_add(s, tcase_create("virtualfree_double_release_fails_with_invalid_address"), double_release_fails_with_invalid_address);
    hm_add(s, tcase_create("virtualfree_range_crossing_allocations_fails_and_changes_nothing"), free_range_crossing_allocations_fails_and_changes_nothing);
    return s;
}

HM_TEST_MAIN(make_suite)
