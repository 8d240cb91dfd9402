/*
 * test_reset.c — MEM_RESET and MEM_RESET_UNDO: pages stay committed with their protection,
 * contents may be dropped, reset does not commit, ranges must stay in one allocation, the
 * flags must be alone, and MEM_RESET_UNDO succeeds only when every page kept its data.
 * Rows: windows-behaviour.md §1.3 (R1–R3, R5); memoryapi.md §5.3; semantics-decisions
 * (NULL address → 87; undo after a discard → 487).
 */
#include <string.h>
#ifndef HM_WINE
#include <sys/mman.h>
#endif

#include "testlib.h"

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif

#define NPAGES 8

static void release(void *p)
{
    ck_assert_int_ne(VirtualFree(p, 0, MEM_RELEASE), 0);
}

static void fill(char *a, size_t npages)
{
    for (size_t i = 0; i < npages; i++)
        memset(a + i * P, (int)(0x41 + i), P);
}

/* Each page holds either all of its pattern or all zeroes; returns how many were zeroed. */
static size_t count_dropped(const char *a, size_t npages)
{
    size_t dropped = 0;
    hm_test_inspect(a, npages * P); /* reset pages are undefined: this look is the test */
    for (size_t i = 0; i < npages; i++) {
        const unsigned char *pg = (const unsigned char *)a + i * P;
        unsigned char want = pg[0] == 0 ? 0 : (unsigned char)(0x41 + i);
        if (want == 0)
            dropped++;
        for (size_t j = 0; j < P; j++)
            ck_assert_msg(pg[j] == want, "page %zu byte %zu: %#x, expected %#x", i, j, pg[j], want);
    }
    return dropped;
}

/* R1: succeeds, protect argument ignored, state and protection unchanged, data kept or zero */
START_TEST(reset_keeps_pages_committed_with_their_protection)
{
    char *a = VirtualAlloc(NULL, NPAGES * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    fill(a, NPAGES);
    DWORD old;
    ck_assert_int_ne(VirtualProtect(a + 6 * P, 2 * P, PAGE_READONLY, &old), 0);
    hm_snap_t before, after;
    hm_snap(&before, a, NPAGES * P);
    hm_stats_t st = hm_stats_now();
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc(a, NPAGES * P, MEM_RESET, PAGE_NOACCESS), a);
    ck_assert_last_error_untouched();
    hm_snap(&after, a, NPAGES * P);
    ck_assert_snap_eq(&before, &after);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, st.committed_bytes);
    count_dropped(a, NPAGES);
    /* still committed and writable where it was */
    memset(a, 0x7E, 6 * P);
    ck_assert_int_eq(a[6 * P - 1], 0x7E);
    release(a);
}
END_TEST

/* R2: reset of reserved pages succeeds and does not commit them */
START_TEST(reset_of_reserved_pages_succeeds_without_committing)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(VirtualAlloc(a, P, MEM_COMMIT, PAGE_READWRITE), a);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc(a + P, P, MEM_RESET, PAGE_NOACCESS), a + P);
    ck_assert_last_error_untouched();
    ck_assert_region(a + P, a + P, a, PAGE_READWRITE, 0xF000, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(a);
}
END_TEST

/* memoryapi §5.3: the result is the page-rounded address of the range touched */
START_TEST(reset_returns_page_rounded_address)
{
    char *a = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc(a + 0x10, P, MEM_RESET, PAGE_READWRITE), a);
    ck_assert_last_error_untouched();
    ck_assert_ptr_eq(VirtualAlloc(a + 2 * P + 0xFFF, 1, MEM_RESET, PAGE_READWRITE), a + 2 * P);
    ck_assert_region(a, a, a, PAGE_READWRITE, 4 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(a);
}
END_TEST

/* R3: crossing the end of the allocation → 487, nothing reset */
START_TEST(reset_crossing_allocation_end_fails_with_invalid_address)
{
    char *r = hm_free_range(3 * G);
    char *a = VirtualAlloc(r, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    char *b = VirtualAlloc(r + G, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r);
    ck_assert_ptr_eq(b, r + G);
    memset(a + 0xF000, 0x61, P);
    memset(b, 0x62, P);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a + 0xF000, 0x2000, MEM_RESET, PAGE_NOACCESS));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(b + 0xF000, 0x2000, MEM_RESET, PAGE_NOACCESS));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    for (SIZE_T i = 0; i < P; i++) {
        ck_assert_int_eq(a[0xF000 + i], 0x61);
        ck_assert_int_eq(b[i], 0x62);
    }
    ck_assert_int_ne(VirtualFree(a, 0, MEM_RELEASE), 0);
    ck_assert_int_ne(VirtualFree(b, 0, MEM_RELEASE), 0);
}
END_TEST

/* R3 / A15: free memory → 487 */
START_TEST(reset_of_free_memory_fails_with_invalid_address)
{
    char *r = hm_free_range(G);
    hm_snap_t before, after;
    hm_snap(&before, r, G);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(r, P, MEM_RESET, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(r, P, MEM_RESET_UNDO, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    hm_snap(&after, r, G);
    ck_assert_snap_eq(&before, &after);
}
END_TEST

/* semantics-decisions: MEM_RESET / MEM_RESET_UNDO with a NULL address → 87 */
START_TEST(reset_with_null_address_fails_with_invalid_parameter)
{
    hm_stats_t st = hm_stats_now();
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, P, MEM_RESET, PAGE_NOACCESS));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, P, MEM_RESET_UNDO, PAGE_NOACCESS));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    hm_stats_t st2 = hm_stats_now();
    ck_assert_uint_eq(st2.reservations, st.reservations);
    ck_assert_uint_eq(st2.reserved_bytes, st.reserved_bytes);
}
END_TEST

/* memoryapi §5.3 + R5: MEM_RESET and MEM_RESET_UNDO must be alone; a refused call resets nothing */
START_TEST(reset_flags_must_be_alone)
{
    char *a = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    fill(a, 2);
    static const DWORD types[] = {
        MEM_RESET | MEM_COMMIT, MEM_RESET | MEM_RESERVE, MEM_RESET | MEM_TOP_DOWN,
        MEM_RESET | MEM_RESET_UNDO, MEM_RESET | MEM_WRITE_WATCH, MEM_RESET | MEM_DECOMMIT,
        MEM_RESET_UNDO | MEM_COMMIT, MEM_RESET_UNDO | MEM_RESERVE, MEM_RESET_UNDO | MEM_TOP_DOWN,
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualAlloc(a, 2 * P, types[i], PAGE_READWRITE) == NULL, "type %#x", types[i]);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    ck_assert_uint_eq(count_dropped(a, 2), 0);
    ck_assert_region(a, a, a, PAGE_READWRITE, 2 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(a);
}
END_TEST

/* memoryapi §5.3 (flProtect ignored but must be valid) with the decisions' validation order */
START_TEST(reset_still_validates_protection_and_size)
{
    char *a = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    fill(a, 2);
    static const DWORD prots[] = {0, PAGE_READONLY | PAGE_READWRITE, PAGE_WRITECOPY, PAGE_GUARD};
    for (size_t i = 0; i < sizeof prots / sizeof prots[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualAlloc(a, 2 * P, MEM_RESET, prots[i]) == NULL, "prot %#x", prots[i]);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a, 0, MEM_RESET, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a, 0, MEM_RESET_UNDO, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(count_dropped(a, 2), 0);
    release(a);
}
END_TEST

/* memoryapi §5.3: MEM_RESET_UNDO success ⇒ data intact; failure ⇒ 487 and some page zeroed */
static void reset_then_undo(bool pressure, bool look_first)
{
    char *a = VirtualAlloc(NULL, NPAGES * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    fill(a, NPAGES);
    ck_assert_ptr_eq(VirtualAlloc(a, NPAGES * P, MEM_RESET, PAGE_NOACCESS), a);
#ifndef HM_WINE /* the cases with pressure are Linux-only */
    if (pressure) /* what memory pressure would do: reclaim whatever the kernel may drop */
        ck_assert_msg(madvise(a, NPAGES * P, MADV_PAGEOUT) == 0, "kernel lacks MADV_PAGEOUT");
#endif
    size_t seen_dropped = look_first ? count_dropped(a, NPAGES) : 0;
    SetLastError(HM_SENTINEL);
    void *r = VirtualAlloc(a, NPAGES * P, MEM_RESET_UNDO, PAGE_NOACCESS);
    if (r != NULL) {
        ck_assert_ptr_eq(r, a);
        ck_assert_last_error_untouched();
        ck_assert_uint_eq(seen_dropped, 0);
        ck_assert_uint_eq(count_dropped(a, NPAGES), 0);
    } else {
        ck_assert_last_error(ERROR_INVALID_ADDRESS);
        ck_assert_uint_gt(count_dropped(a, NPAGES), 0);
    }
    ck_assert_region(a, a, a, PAGE_READWRITE, NPAGES * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(a);
}

START_TEST(reset_undo_right_after_reset_reports_data_truthfully)
{
    reset_then_undo(false, false);
}
END_TEST

#ifndef HM_WINE /* Linux-only: memory pressure through madvise(MADV_PAGEOUT) */
START_TEST(reset_undo_after_memory_pressure_reports_data_truthfully)
{
    reset_then_undo(true, false);
}
END_TEST

START_TEST(reset_undo_fails_when_a_page_was_seen_zeroed)
{
    reset_then_undo(true, true);
}
END_TEST
#endif

static Suite *make_suite(void)
{
    Suite *s = suite_create("reset");
    hm_add(s, tcase_create("reset_keeps_pages_committed_with_their_protection"), reset_keeps_pages_committed_with_their_protection);
    hm_add(s, tcase_create("reset_of_reserved_pages_succeeds_without_committing"), reset_of_reserved_pages_succeeds_without_committing);
    hm_add(s, tcase_create("reset_returns_page_rounded_address"), reset_returns_page_rounded_address);
    hm_add(s, tcase_create("reset_crossing_allocation_end_fails_with_invalid_address"), reset_crossing_allocation_end_fails_with_invalid_address);
    hm_add(s, tcase_create("reset_of_free_memory_fails_with_invalid_address"), reset_of_free_memory_fails_with_invalid_address);
    hm_add(s, tcase_create("reset_with_null_address_fails_with_invalid_parameter"), reset_with_null_address_fails_with_invalid_parameter);
    hm_add(s, tcase_create("reset_flags_must_be_alone"), reset_flags_must_be_alone);
    hm_add(s, tcase_create("reset_still_validates_protection_and_size"), reset_still_validates_protection_and_size);
    hm_add(s, tcase_create("reset_undo_right_after_reset_reports_data_truthfully"), reset_undo_right_after_reset_reports_data_truthfully);
    HM_LINUX_ONLY(hm_add(s, tcase_create("reset_undo_after_memory_pressure_reports_data_truthfully"), reset_undo_after_memory_pressure_reports_data_truthfully));
    HM_LINUX_ONLY(hm_add(s, tcase_create("reset_undo_fails_when_a_page_was_seen_zeroed"), reset_undo_fails_when_a_page_was_seen_zeroed));
    return s;
}

HM_TEST_MAIN(make_suite)
