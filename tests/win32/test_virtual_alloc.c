/*
 * test_virtual_alloc.c — VirtualAlloc and VirtualAllocFromApp: reserve/commit rounding,
 * recommit, state errors, parameter validation (sizes, allocation types, protections, the
 * MEM_LARGE_PAGES / MEM_PHYSICAL / MEM_WRITE_WATCH combinations), MEM_TOP_DOWN, and the
 * memory that results (zero-filled, faulting where not committed).
 * Rows: windows-behaviour.md §1.1 (A1–A17), §1.2, §1.12 (X1, X2); memoryapi.md §5.3, §6.
 */
#include <signal.h>
#include <string.h>

#include "testlib.h"

static const DWORD valid_prots[] = {PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE,
                                    PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE};

/* Protections VirtualAlloc and VirtualProtect must reject with 87 (§1.2 table, memoryapi §6). */
static const DWORD bad_prots[] = {
    0,
    PAGE_NOACCESS | PAGE_READONLY,
    PAGE_NOACCESS | PAGE_READWRITE,
    PAGE_READONLY | PAGE_READWRITE,
    PAGE_NOACCESS | PAGE_READONLY | PAGE_READWRITE,
    PAGE_WRITECOPY,
    PAGE_WRITECOPY | PAGE_READWRITE,
    PAGE_EXECUTE | PAGE_EXECUTE_READ,
    PAGE_EXECUTE | PAGE_EXECUTE_READWRITE,
    PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE,
    PAGE_EXECUTE_WRITECOPY,
    PAGE_EXECUTE_WRITECOPY | PAGE_EXECUTE_READ,
    PAGE_READWRITE | PAGE_EXECUTE_WRITECOPY,
    PAGE_READONLY | PAGE_EXECUTE,
    PAGE_READWRITE | PAGE_EXECUTE_READ,
    PAGE_GUARD,
    PAGE_NOCACHE,
    PAGE_WRITECOMBINE,
    PAGE_GUARD | PAGE_NOACCESS,
    PAGE_NOCACHE | PAGE_NOACCESS,
    PAGE_WRITECOMBINE | PAGE_NOACCESS,
    PAGE_NOCACHE | PAGE_GUARD | PAGE_READWRITE,
    PAGE_WRITECOMBINE | PAGE_GUARD | PAGE_READWRITE,
    PAGE_WRITECOMBINE | PAGE_NOCACHE | PAGE_READWRITE,
};
#define N_BAD_PROTS (sizeof bad_prots / sizeof bad_prots[0])

static void assert_no_new_reservation(const hm_stats_t *before)
{
    hm_stats_t now = hm_stats_now();
    ck_assert_uint_eq(now.reservations, before->reservations);
    ck_assert_uint_eq(now.reserved_bytes, before->reserved_bytes);
    ck_assert_uint_eq(now.committed_bytes, before->committed_bytes);
}

static void release(void *p)
{
    ck_assert_int_ne(VirtualFree(p, 0, MEM_RELEASE), 0);
}

/* A1 */
START_TEST(zero_size_fails_with_invalid_parameter)
{
    char *r = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(r);
    static const DWORD types[] = {MEM_RESERVE, MEM_COMMIT, MEM_RESERVE | MEM_COMMIT};
    hm_snap_t before, after;
    hm_snap(&before, r, G);
    hm_stats_t st = hm_stats_now();
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(NULL, 0, types[i], PAGE_NOACCESS));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(r, 0, types[i], PAGE_READWRITE));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    assert_no_new_reservation(&st);
    hm_snap(&after, r, G);
    ck_assert_snap_eq(&before, &after);
    release(r);
}
END_TEST

/* A2, Q1 */
START_TEST(reserve_returns_granularity_aligned_region_of_rounded_size)
{
    SetLastError(HM_SENTINEL);
    char *a = VirtualAlloc(NULL, 0xFFFC, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(a);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq((uintptr_t)a % G, 0);
    ck_assert_region(a, a, a, PAGE_NOACCESS, 0x10000, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_region(a + 0x5678, a + 0x5000, a, PAGE_NOACCESS, 0xB000, MEM_RESERVE, 0, MEM_PRIVATE);

    SetLastError(HM_SENTINEL);
    char *b = VirtualAlloc(NULL, 1, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(b);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq((uintptr_t)b % G, 0);
    ck_assert_region(b, b, b, PAGE_READWRITE, P, MEM_RESERVE, 0, MEM_PRIVATE);
    release(a);
    release(b);
}
END_TEST

/* memoryapi §5.3 address rounding; A17 */
START_TEST(reserve_rounds_base_down_to_granularity_and_covers_touched_pages)
{
    char *r = hm_free_range(4 * G);
    char *next = VirtualAlloc(r + 2 * G, G, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_eq(next, r + 2 * G);

    /* [r+G+0x1234, r+G+0x2234) touches pages 1 and 2: the allocation is [r+G, r+G+0x3000). */
    SetLastError(HM_SENTINEL);
    char *a = VirtualAlloc(r + G + 0x1234, P, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r + G);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_READWRITE, 0x3000, MEM_RESERVE, 0, MEM_PRIVATE);
    /* The rest of the 64 KiB block is free (not part of the allocation), up to `next`. */
    ck_assert_free_region(a + 0x3000, a + 0x3000, G - 0x3000);
    release(a);

    /* Two bytes straddling a page boundary reserve both pages. */
    a = VirtualAlloc(r + G + 0xFFF, 2, MEM_RESERVE, PAGE_READONLY);
    ck_assert_ptr_eq(a, r + G);
    ck_assert_region(a, a, a, PAGE_READONLY, 0x2000, MEM_RESERVE, 0, MEM_PRIVATE);
    release(a);

    /* Reserve and commit together from an unaligned address commits the whole allocation. */
    a = VirtualAlloc(r + G + 0x1234, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r + G);
    ck_assert_region(a, a, a, PAGE_READWRITE, 0x3000, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(a);
    release(next);
}
END_TEST

/* A12 */
START_TEST(reserve_and_commit_together_commits_every_page)
{
    SetLastError(HM_SENTINEL);
    char *a = VirtualAlloc(NULL, 3 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq((uintptr_t)a % G, 0);
    ck_assert_region(a, a, a, PAGE_READWRITE, 3 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    memset(a, 0x5A, 3 * P);
    ck_assert_int_eq(a[3 * P - 1], 0x5A);
    ck_assert_region(a, a, a, PAGE_READWRITE, 3 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(a);
}
END_TEST

/* A12, §1.2 (writes don't change Protect), A13 for every valid protection */
START_TEST(commit_with_null_address_reserves_and_commits_each_valid_protection)
{
    for (size_t i = 0; i < sizeof valid_prots / sizeof valid_prots[0]; i++) {
        DWORD prot = valid_prots[i];
        SetLastError(HM_SENTINEL);
        char *a = VirtualAlloc(NULL, P, MEM_COMMIT, prot);
        ck_assert_ptr_nonnull(a);
        ck_assert_last_error_untouched();
        ck_assert_region(a, a, a, prot, P, MEM_COMMIT, prot, MEM_PRIVATE);
        if (prot == PAGE_READWRITE || prot == PAGE_EXECUTE_READWRITE) {
            a[0] = (char)0xFE;
            ck_assert_region(a, a, a, prot, P, MEM_COMMIT, prot, MEM_PRIVATE);
        }
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_eq(VirtualAlloc(a, P, MEM_COMMIT, prot), a);
        ck_assert_last_error_untouched();
        release(a);
    }
}
END_TEST

/* memoryapi §5.3 commit rounding */
START_TEST(commit_rounds_to_pages_touched)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(a);
    /* [a+0x1800, a+0x2800) touches pages 1 and 2; the result is the rounded address. */
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc(a + 0x1800, 0x1000, MEM_COMMIT, PAGE_READWRITE), a + P);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_NOACCESS, P, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_region(a + P, a + P, a, PAGE_NOACCESS, 2 * P, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    ck_assert_region(a + 3 * P, a + 3 * P, a, PAGE_NOACCESS, G - 3 * P, MEM_RESERVE, 0,
                     MEM_PRIVATE);
    release(a);
}
END_TEST

/* A4 */
START_TEST(commit_of_reserved_pages_keeps_allocation_protect)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(a);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc(a, 0x1000, MEM_COMMIT, PAGE_NOACCESS), a);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_NOACCESS, P, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE);
    ck_assert_ptr_eq(VirtualAlloc(a + P, P, MEM_COMMIT, PAGE_READWRITE), a + P);
    ck_assert_region(a + P, a + P, a, PAGE_NOACCESS, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(a + 2 * P, a + 2 * P, a, PAGE_NOACCESS, G - 2 * P, MEM_RESERVE, 0,
                     MEM_PRIVATE);
    release(a);
}
END_TEST

/* A13 (re-commit succeeds and sets the protection); data survives a recommit */
START_TEST(recommit_of_committed_pages_succeeds_and_applies_protection)
{
    char *a = VirtualAlloc(NULL, 2 * P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    memset(a, 0x77, 2 * P);
    hm_stats_t st = hm_stats_now();
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc(a, P, MEM_COMMIT, PAGE_READONLY), a);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert_region(a + P, a + P, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_int_eq(a[0], 0x77);
    ck_assert_int_eq(a[P + 5], 0x77);
    ck_assert_int_eq(hm_probe_write(a), SIGSEGV);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, st.committed_bytes);
    release(a);
}
END_TEST

/* A15, R3-like: commit outside a reservation */
START_TEST(commit_outside_reservation_fails_with_invalid_address)
{
    char *r = hm_free_range(2 * G);
    hm_snap_t before, after;
    hm_snap(&before, r, 2 * G);
    hm_stats_t st = hm_stats_now();
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(r, P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    hm_snap(&after, r, 2 * G);
    ck_assert_snap_eq(&before, &after);
    assert_no_new_reservation(&st);

    /* A 3-page reservation: the rest of its 64 KiB block is not part of it. */
    char *a = VirtualAlloc(r, 3 * P, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r);
    hm_snap(&before, r, 2 * G);
    st = hm_stats_now();
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a + 3 * P, P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a + 2 * P, 2 * P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    hm_snap(&after, r, 2 * G);
    ck_assert_snap_eq(&before, &after);
    assert_no_new_reservation(&st);
    ck_assert_region(a, a, a, PAGE_READWRITE, 3 * P, MEM_RESERVE, 0, MEM_PRIVATE);
    release(a);
}
END_TEST

/* A14 and memoryapi §5.3 (cannot reserve a reserved page; atomic) */
START_TEST(reserve_over_existing_allocation_fails_with_invalid_address)
{
    char *r = hm_free_range(4 * G);
    char *a = VirtualAlloc(r + G, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r + G);
    hm_snap_t before, after;
    hm_snap(&before, r, 4 * G);
    hm_stats_t st = hm_stats_now();

    struct { char *addr; SIZE_T size; DWORD type; } cases[] = {
        {a + P, P, MEM_RESERVE | MEM_COMMIT},  /* rounds down onto a */
        {a + P, P, MEM_RESERVE},
        {a, G, MEM_RESERVE},
        {a + 3 * P, P, MEM_RESERVE},           /* the unusable tail of a's block */
        {r, 2 * G, MEM_RESERVE},               /* free block, then a */
        {r, G + 1, MEM_RESERVE | MEM_COMMIT},  /* last page touched is a's first */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(cases[i].addr, cases[i].size, cases[i].type, PAGE_READWRITE));
        ck_assert_last_error(ERROR_INVALID_ADDRESS);
    }
    hm_snap(&after, r, 4 * G);
    ck_assert_snap_eq(&before, &after);
    assert_no_new_reservation(&st);
    release(a);
}
END_TEST

/* A9 */
START_TEST(released_range_can_be_reserved_again_at_same_address)
{
    char *a = VirtualAlloc(NULL, 0x2000, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_uint_eq((uintptr_t)a % G, 0);
    release(a);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc(a, 0x1000, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE), a);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_EXECUTE_READWRITE, P, MEM_COMMIT, PAGE_EXECUTE_READWRITE,
                     MEM_PRIVATE);
    release(a);
}
END_TEST

/* Issue: zero or overflowing sizes → 87; A17 (wrap, end beyond the address space) */
START_TEST(overflowing_size_fails_with_invalid_parameter)
{
    char *r = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(r);
    hm_snap_t before, after;
    hm_snap(&before, r, G);
    hm_stats_t st = hm_stats_now();
    static const SIZE_T sizes[] = {SIZE_MAX, SIZE_MAX - 0xFFF, SIZE_MAX - P + 2,
                                   (SIZE_T)1 << 63, (SIZE_T)0x800000000000};
    static const DWORD types[] = {MEM_RESERVE, MEM_COMMIT, MEM_RESERVE | MEM_COMMIT};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++)
        for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
            SetLastError(HM_SENTINEL);
            ck_assert_ptr_null(VirtualAlloc(NULL, sizes[i], types[t], PAGE_READWRITE));
            ck_assert_last_error(ERROR_INVALID_PARAMETER);
            SetLastError(HM_SENTINEL);
            ck_assert_ptr_null(VirtualAlloc(r, sizes[i], types[t], PAGE_READWRITE));
            ck_assert_last_error(ERROR_INVALID_PARAMETER);
        }
    /* base + size wraps past zero */
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(r, (SIZE_T)0 - (uintptr_t)r + P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    /* end beyond the top of user space (0x7FFFFFFEFFFF) */
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc((void *)0x7FFFFFFE0000, 0x20000, MEM_RESERVE, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    /* base above the top of user space */
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc((void *)0x800000000000, P, MEM_RESERVE, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    assert_no_new_reservation(&st);
    hm_snap(&after, r, G);
    ck_assert_snap_eq(&before, &after);
    release(r);
}
END_TEST

/* memoryapi §5.3: type must contain COMMIT/RESERVE/RESET/RESET_UNDO; other bits → 87; A10 */
START_TEST(bad_allocation_type_fails_with_invalid_parameter)
{
    char *r = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_eq(VirtualAlloc(r, P, MEM_COMMIT, PAGE_READWRITE), r);
    hm_snap_t before, after;
    hm_snap(&before, r, G);
    hm_stats_t st = hm_stats_now();
    static const DWORD types[] = {
        0,
        MEM_DECOMMIT,
        MEM_RELEASE,
        MEM_FREE,
        MEM_TOP_DOWN,
        MEM_TOP_DOWN | MEM_WRITE_WATCH,
        MEM_RESERVE | MEM_DECOMMIT,
        MEM_RESERVE | MEM_RELEASE,
        MEM_COMMIT | MEM_DECOMMIT,
        MEM_RESERVE | MEM_FREE,
        MEM_RESERVE | MEM_COALESCE_PLACEHOLDERS,
        MEM_RESERVE | MEM_PRESERVE_PLACEHOLDER,
        MEM_RESERVE | MEM_MAPPED,
        MEM_RESERVE | MEM_ROTATE,
        MEM_RESERVE | MEM_4MB_PAGES,
        MEM_RESERVE | MEM_COMMIT | 0x40000000u, /* AT_ROUND_TO_PAGE (A10) */
        0xFFFFFFFFu,
    };
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualAlloc(NULL, P, types[i], PAGE_READWRITE) == NULL, "type %#x", types[i]);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualAlloc(r, P, types[i], PAGE_READWRITE) == NULL, "type %#x at r", types[i]);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    assert_no_new_reservation(&st);
    hm_snap(&after, r, G);
    ck_assert_snap_eq(&before, &after);
    release(r);
}
END_TEST

/* §1.2 protection table; A7 (reserve validates too); A8; memoryapi §6 modifier rules */
START_TEST(bad_protection_fails_with_invalid_parameter)
{
    char *r = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(r);
    ck_assert_ptr_eq(VirtualAlloc(r + P, P, MEM_COMMIT, PAGE_READWRITE), r + P);
    hm_snap_t before, after;
    hm_snap(&before, r, G);
    hm_stats_t st = hm_stats_now();
    for (size_t i = 0; i < N_BAD_PROTS; i++) {
        DWORD prot = bad_prots[i];
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualAlloc(NULL, P, MEM_RESERVE, prot) == NULL, "reserve %#x", prot);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualAlloc(NULL, P, MEM_COMMIT, prot) == NULL, "commit %#x", prot);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, prot) == NULL, "r|c %#x", prot);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualAlloc(r, P, MEM_COMMIT, prot) == NULL, "commit reserved %#x", prot);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualAlloc(r + P, P, MEM_COMMIT, prot) == NULL, "recommit %#x", prot);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    assert_no_new_reservation(&st);
    hm_snap(&after, r, G);
    ck_assert_snap_eq(&before, &after);
    release(r);
}
END_TEST

/* memoryapi §6: PAGE_TARGETS_INVALID only at allocation, only with an execute protection */
START_TEST(targets_invalid_needs_an_execute_protection)
{
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_READWRITE | PAGE_TARGETS_INVALID));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_NOACCESS | PAGE_TARGETS_INVALID));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    char *a = VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_EXECUTE_READWRITE | PAGE_TARGETS_INVALID);
    ck_assert_ptr_nonnull(a);
    ck_assert_last_error_untouched();
    release(a);
}
END_TEST

/* semantics-decisions: parameter checks come before the address/state checks */
START_TEST(parameter_errors_take_precedence_over_state_errors)
{
    char *r = hm_free_range(2 * G);
    char *a = VirtualAlloc(r, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r);
    /* commit on free memory with a bad protection: 87, not 487 */
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(r + G, P, MEM_COMMIT, PAGE_WRITECOPY));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    /* reserve over a reservation with a bad protection or type: 87, not 487 */
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a, P, MEM_RESERVE, 0));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(a, P, MEM_RESERVE | MEM_DECOMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    /* commit on free memory with size 0: 87 */
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(r + G, 0, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_region(a, a, a, PAGE_READWRITE, G, MEM_RESERVE, 0, MEM_PRIVATE);
    release(a);
}
END_TEST

/* Issue: MEM_TOP_DOWN takes the highest free range. Every free range above the result
 * must be too small to hold a 64 KiB-aligned block of the requested size. */
static void assert_nothing_free_above(char *a, SIZE_T size)
{
    uintptr_t top = (uintptr_t)0x7FFFFFFF0000; /* lpMaximumApplicationAddress + 1 */
    uintptr_t at = (uintptr_t)a + size;
    int guard = 0;
    while (at < top && guard++ < 100000) {
        MEMORY_BASIC_INFORMATION m;
        ck_assert_uint_eq(VirtualQuery((void *)at, &m, sizeof m), sizeof m);
        ck_assert_uint_gt(m.RegionSize, 0);
        uintptr_t lo = (uintptr_t)m.BaseAddress, hi = lo + m.RegionSize;
        if (hi > top)
            hi = top;
        if (m.State == MEM_FREE) {
            uintptr_t first = (lo + G - 1) & ~(uintptr_t)(G - 1);
            ck_assert_msg(first + size > hi,
                          "free range [%#lx, %#lx) above the top-down result %p could hold it",
                          (unsigned long)lo, (unsigned long)hi, (void *)a);
        }
        at = hi;
    }
}

START_TEST(top_down_takes_the_highest_free_range)
{
    SetLastError(HM_SENTINEL);
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq((uintptr_t)a % G, 0);
    ck_assert_uint_le((uintptr_t)a + G, (uintptr_t)0x7FFFFFFF0000);
    ck_assert_region(a, a, a, PAGE_READWRITE, G, MEM_RESERVE, 0, MEM_PRIVATE);
    assert_nothing_free_above(a, G);

    char *b = VirtualAlloc(NULL, 4 * P, MEM_COMMIT | MEM_TOP_DOWN, PAGE_READWRITE);
    ck_assert_ptr_nonnull(b);
    ck_assert_uint_lt((uintptr_t)b, (uintptr_t)a);
    ck_assert_region(b, b, b, PAGE_READWRITE, 4 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    assert_nothing_free_above(b, G);
    release(b);
    release(a);
}
END_TEST

/* Issue + W19: MEM_WRITE_WATCH without MEM_RESERVE → 87 (valid combinations come later) */
START_TEST(write_watch_without_reserve_fails_with_invalid_parameter)
{
    char *r = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(r);
    hm_snap_t before, after;
    hm_snap(&before, r, G);
    hm_stats_t st = hm_stats_now();
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, G, MEM_WRITE_WATCH, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, G, MEM_WRITE_WATCH | MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(r, P, MEM_WRITE_WATCH | MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    assert_no_new_reservation(&st);
    hm_snap(&after, r, G);
    ck_assert_snap_eq(&before, &after);
    release(r);
}
END_TEST

/* Issue: LARGE_PAGES without RESERVE|COMMIT, or size not a multiple of 2 MiB → 87 */
START_TEST(large_pages_invalid_combinations_fail_with_invalid_parameter)
{
    hm_stats_t st = hm_stats_now();
    struct { SIZE_T size; DWORD type; } cases[] = {
        {0x200000, MEM_LARGE_PAGES},
        {0x200000, MEM_LARGE_PAGES | MEM_RESERVE},
        {0x200000, MEM_LARGE_PAGES | MEM_COMMIT},
        {0x200000, MEM_LARGE_PAGES | MEM_RESERVE | MEM_TOP_DOWN},
        {P, MEM_LARGE_PAGES | MEM_RESERVE | MEM_COMMIT},
        {0x100000, MEM_LARGE_PAGES | MEM_RESERVE | MEM_COMMIT},
        {0x300000, MEM_LARGE_PAGES | MEM_RESERVE | MEM_COMMIT},
        {0x200000 + P, MEM_LARGE_PAGES | MEM_RESERVE | MEM_COMMIT},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualAlloc(NULL, cases[i].size, cases[i].type, PAGE_READWRITE) == NULL,
                      "case %zu", i);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    assert_no_new_reservation(&st);
}
END_TEST

/* Issue: PHYSICAL with COMMIT or with a protection other than PAGE_READWRITE → 87 */
START_TEST(physical_invalid_combinations_fail_with_invalid_parameter)
{
    hm_stats_t st = hm_stats_now();
    struct { DWORD type, prot; } cases[] = {
        {MEM_PHYSICAL, PAGE_READWRITE},
        {MEM_PHYSICAL | MEM_COMMIT, PAGE_READWRITE},
        {MEM_PHYSICAL | MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE},
        {MEM_PHYSICAL | MEM_RESERVE, PAGE_READONLY},
        {MEM_PHYSICAL | MEM_RESERVE, PAGE_NOACCESS},
        {MEM_PHYSICAL | MEM_RESERVE, PAGE_EXECUTE_READWRITE},
        {MEM_PHYSICAL | MEM_RESERVE, PAGE_EXECUTE_READ},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualAlloc(NULL, G, cases[i].type, cases[i].prot) == NULL, "case %zu", i);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    assert_no_new_reservation(&st);
}
END_TEST

/* memoryapi §5.2: committed memory reads as zero on first touch */
START_TEST(fresh_committed_pages_read_zero)
{
    char *a = VirtualAlloc(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    for (SIZE_T i = 0; i < 16 * P; i++)
        ck_assert_msg(a[i] == 0, "byte %zu", (size_t)i);
    char *b = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(b);
    ck_assert_ptr_eq(VirtualAlloc(b + 5 * P, 3 * P, MEM_COMMIT, PAGE_READONLY), b + 5 * P);
    for (SIZE_T i = 5 * P; i < 8 * P; i++)
        ck_assert_msg(b[i] == 0, "byte %zu", (size_t)i);
    release(a);
    release(b);
}
END_TEST

/* memoryapi §5.2: touching reserved pages faults; protections are enforced */
START_TEST(reserved_pages_fault_and_protections_are_enforced)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_int_eq(hm_probe_read(a), SIGSEGV);
    ck_assert_int_eq(hm_probe_write(a + 100), SIGSEGV);
    ck_assert_ptr_eq(VirtualAlloc(a, P, MEM_COMMIT, PAGE_NOACCESS), a);
    ck_assert_ptr_eq(VirtualAlloc(a + P, P, MEM_COMMIT, PAGE_READONLY), a + P);
    ck_assert_ptr_eq(VirtualAlloc(a + 2 * P, P, MEM_COMMIT, PAGE_READWRITE), a + 2 * P);
    ck_assert_ptr_eq(VirtualAlloc(a + 3 * P, P, MEM_COMMIT, PAGE_EXECUTE_READ), a + 3 * P);
    ck_assert_int_eq(hm_probe_read(a), SIGSEGV);
    ck_assert_int_eq(hm_probe_write(a), SIGSEGV);
    ck_assert_int_eq(hm_probe_read(a + P), 0);
    ck_assert_int_eq(hm_probe_write(a + P), SIGSEGV);
    ck_assert_int_eq(hm_probe_read(a + 2 * P), 0);
    ck_assert_int_eq(hm_probe_write(a + 2 * P), 0);
    ck_assert_int_eq(hm_probe_read(a + 3 * P), 0);
    ck_assert_int_eq(hm_probe_write(a + 3 * P), SIGSEGV);
    ck_assert_int_eq(hm_probe_read(a + 4 * P), SIGSEGV);
    release(a);
}
END_TEST

/* X1 */
START_TEST(alloc_from_app_reserve_succeeds)
{
    SetLastError(HM_SENTINEL);
    char *a = VirtualAllocFromApp(NULL, 0x1000, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_RESERVE, 0, MEM_PRIVATE);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAllocFromApp(a, P, MEM_COMMIT, PAGE_READONLY), a);
    ck_assert_last_error_untouched();
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    release(a);
}
END_TEST

/* X2 (checked before anything else, semantics-decisions) */
START_TEST(alloc_from_app_rejects_executable_protections)
{
    char *r = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(r);
    hm_stats_t st = hm_stats_now();
    static const DWORD exec[] = {PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
                                 PAGE_EXECUTE_WRITECOPY};
    for (size_t i = 0; i < sizeof exec / sizeof exec[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAllocFromApp(NULL, 0x1000, MEM_COMMIT, exec[i]));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAllocFromApp(NULL, 0x1000, MEM_RESERVE | MEM_COMMIT, exec[i]));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAllocFromApp(NULL, 0x1000, MEM_RESERVE, exec[i]));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAllocFromApp(r, 0x1000, MEM_COMMIT, exec[i]));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAllocFromApp(NULL, 0, MEM_COMMIT, exec[i]));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    assert_no_new_reservation(&st);
    ck_assert_region(r, r, r, PAGE_READWRITE, G, MEM_RESERVE, 0, MEM_PRIVATE);
    release(r);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("virtual_alloc");
    hm_add(s, tcase_create("zero_size_fails_with_invalid_parameter"), zero_size_fails_with_invalid_parameter);
    hm_add(s, tcase_create("reserve_returns_granularity_aligned_region_of_rounded_size"), reserve_returns_granularity_aligned_region_of_rounded_size);
    hm_add(s, tcase_create("reserve_rounds_base_down_to_granularity_and_covers_touched_pages"), reserve_rounds_base_down_to_granularity_and_covers_touched_pages);
    hm_add(s, tcase_create("reserve_and_commit_together_commits_every_page"), reserve_and_commit_together_commits_every_page);
    hm_add(s, tcase_create("commit_with_null_address_reserves_and_commits_each_valid_protection"), commit_with_null_address_reserves_and_commits_each_valid_protection);
    hm_add(s, tcase_create("commit_rounds_to_pages_touched"), commit_rounds_to_pages_touched);
    hm_add(s, tcase_create("commit_of_reserved_pages_keeps_allocation_protect"), commit_of_reserved_pages_keeps_allocation_protect);
    hm_add(s, tcase_create("recommit_of_committed_pages_succeeds_and_applies_protection"), recommit_of_committed_pages_succeeds_and_applies_protection);
    hm_add(s, tcase_create("commit_outside_reservation_fails_with_invalid_address"), commit_outside_reservation_fails_with_invalid_address);
    hm_add(s, tcase_create("reserve_over_existing_allocation_fails_with_invalid_address"), reserve_over_existing_allocation_fails_with_invalid_address);
    hm_add(s, tcase_create("released_range_can_be_reserved_again_at_same_address"), released_range_can_be_reserved_again_at_same_address);
    hm_add(s, tcase_create("overflowing_size_fails_with_invalid_parameter"), overflowing_size_fails_with_invalid_parameter);
    hm_add(s, tcase_create("bad_allocation_type_fails_with_invalid_parameter"), bad_allocation_type_fails_with_invalid_parameter);
    hm_add(s, tcase_create("bad_protection_fails_with_invalid_parameter"), bad_protection_fails_with_invalid_parameter);
    hm_add(s, tcase_create("targets_invalid_needs_an_execute_protection"), targets_invalid_needs_an_execute_protection);
    hm_add(s, tcase_create("parameter_errors_take_precedence_over_state_errors"), parameter_errors_take_precedence_over_state_errors);
    hm_add(s, tcase_create("top_down_takes_the_highest_free_range"), top_down_takes_the_highest_free_range);
    hm_add(s, tcase_create("write_watch_without_reserve_fails_with_invalid_parameter"), write_watch_without_reserve_fails_with_invalid_parameter);
    hm_add(s, tcase_create("large_pages_invalid_combinations_fail_with_invalid_parameter"), large_pages_invalid_combinations_fail_with_invalid_parameter);
    hm_add(s, tcase_create("physical_invalid_combinations_fail_with_invalid_parameter"), physical_invalid_combinations_fail_with_invalid_parameter);
    hm_add(s, tcase_create("fresh_committed_pages_read_zero"), fresh_committed_pages_read_zero);
    hm_add(s, tcase_create("reserved_pages_fault_and_protections_are_enforced"), reserved_pages_fault_and_protections_are_enforced);
    hm_add(s, tcase_create("alloc_from_app_reserve_succeeds"), alloc_from_app_reserve_succeeds);
    hm_add(s, tcase_create("alloc_from_app_rejects_executable_protections"), alloc_from_app_rejects_executable_protections);
    return s;
}

HM_TEST_MAIN(make_suite)
