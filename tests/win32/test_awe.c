/*
 * test_awe.c — Address Windowing Extensions: AllocateUserPhysicalPages,
 * MapUserPhysicalPages(Scatter), FreeUserPhysicalPages and MEM_PHYSICAL windows, with exact
 * returns, last errors, VirtualQuery maps and the data the pages keep.
 * Rows: memoryapi.md §5.3 (MEM_PHYSICAL), §5.6 (AWE region release), §5.11;
 * semantics-decisions (AWE rows). The right to lock memory: test_privilege.c.
 * Each case runs in its own forked process (Check), so "before any allocation" holds there.
 *
 * HM_LINUX_ONLY_FILE: Wine has no AWE (its functions are stubs) and these cases read hostmem's statistics.
 */
#include <pthread.h>
#include <signal.h>
#include <string.h>

#include "testlib.h"

#define PROC GetCurrentProcess()

static DWORD rw_state(const void *p)
{
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQuery(p, &m, sizeof m), sizeof m);
    return m.State;
}

static void alloc_pages(ULONG_PTR n, ULONG_PTR *pfns)
{
    ULONG_PTR got = n;
    ck_assert_msg(AllocateUserPhysicalPages(PROC, &got, pfns), "allocate: %u", GetLastError());
    ck_assert_uint_eq(got, n);
}

static void free_pages(ULONG_PTR n, ULONG_PTR *pfns)
{
    ULONG_PTR c = n;
    ck_assert_msg(FreeUserPhysicalPages(PROC, &c, pfns), "free: %u", GetLastError());
    ck_assert_uint_eq(c, n);
}

static char *window(SIZE_T pages)
{
    char *w = VirtualAlloc(NULL, pages * P, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE);
    ck_assert_msg(w != NULL, "MEM_PHYSICAL reserve: %u", GetLastError());
    return w;
}

static void release(void *p)
{
    ck_assert_int_ne(VirtualFree(p, 0, MEM_RELEASE), 0);
}

/* An unmapped window page as Windows shows it (WRK queryvm.c: a zero PTE in an AWE VAD). */
#define ck_assert_unmapped(addr, base, wbase, size) \
    ck_assert_region((addr), (base), (wbase), PAGE_READWRITE, (size), MEM_RESERVE, 0, MEM_PRIVATE)
#define ck_assert_mapped(addr, base, wbase, size, prot) \
    ck_assert_region((addr), (base), (wbase), PAGE_READWRITE, (size), MEM_COMMIT, (prot), MEM_PRIVATE)

/* ---- AllocateUserPhysicalPages ------------------------------------------------------- */

START_TEST(allocate_returns_distinct_nonzero_numbers_and_charges_commit)
{
    ULONG_PTR pfns[16];
    memset(pfns, 0, sizeof pfns);
    uint64_t committed = hm_stats_now().committed_bytes;
    ULONG_PTR n = 16;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(AllocateUserPhysicalPages(PROC, &n, pfns), TRUE);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(n, 16);
    for (int i = 0; i < 16; i++) {
        ck_assert_uint_ne(pfns[i], 0);
        for (int k = 0; k < i; k++)
            ck_assert_uint_ne(pfns[i], pfns[k]);
    }
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed + 16 * P);
    free_pages(16, pfns);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed);
}
END_TEST

/* WRK NtAllocateUserPhysicalPages: 0 pages is success before the handle and the array are
 * looked at. */
START_TEST(allocate_zero_pages_succeeds_without_looking_further)
{
    ULONG_PTR n = 0;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(AllocateUserPhysicalPages((HANDLE)(intptr_t)1, &n, NULL), TRUE);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(allocate_argument_errors_change_nothing)
{
    ULONG_PTR pfns[4] = {0}, n;
    uint64_t committed = hm_stats_now().committed_bytes;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(AllocateUserPhysicalPages(PROC, NULL, pfns), FALSE);
    ck_assert_last_error(ERROR_NOACCESS);
    n = (ULONG_PTR)-1 / sizeof(ULONG_PTR) + 1;
    ck_assert_int_eq(AllocateUserPhysicalPages(PROC, &n, pfns), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(n, (ULONG_PTR)-1 / sizeof(ULONG_PTR) + 1);
    n = 4;
    ck_assert_int_eq(AllocateUserPhysicalPages(PROC, &n, NULL), FALSE);
    ck_assert_last_error(ERROR_NOACCESS);
    ck_assert_int_eq(AllocateUserPhysicalPages(NULL, &n, pfns), FALSE);
    ck_assert_last_error(ERROR_INVALID_HANDLE);
    ck_assert_int_eq(AllocateUserPhysicalPages((HANDLE)(intptr_t)-2, &n, pfns), FALSE);
    ck_assert_last_error(ERROR_INVALID_HANDLE);
    ck_assert_uint_eq(n, 4);
    ck_assert_uint_eq(pfns[0], 0);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed);
}
END_TEST

/* memoryapi §5.3: commit over the limit fails with ERROR_COMMITMENT_LIMIT, nothing allocated. */
START_TEST(allocate_over_the_commit_limit_fails_with_commitment_limit)
{
    ULONG_PTR pfns[8];
    uint64_t committed = hm_stats_now().committed_bytes;
    hm_set_commit_limit(committed + 4 * P);
    ULONG_PTR n = 8;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(AllocateUserPhysicalPages(PROC, &n, pfns), FALSE);
    ck_assert_last_error(ERROR_COMMITMENT_LIMIT);
    ck_assert_uint_eq(n, 8);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed);
    n = 4;
    ck_assert_int_eq(AllocateUserPhysicalPages(PROC, &n, pfns), TRUE);
    ck_assert_uint_eq(n, 4);
    free_pages(4, pfns);
}
END_TEST

/* Pages are zero when handed out, also when a freed page is handed out again. */
START_TEST(allocated_pages_read_zero_even_when_reused)
{
    ULONG_PTR pfns[4];
    alloc_pages(4, pfns);
    char *w = window(4);
    ck_assert_int_ne(MapUserPhysicalPages(w, 4, pfns), 0);
    for (size_t i = 0; i < 4 * P; i++)
        ck_assert_int_eq(w[i], 0);
    memset(w, 0x5A, 4 * P);
    free_pages(4, pfns);
    alloc_pages(4, pfns);
    ck_assert_int_ne(MapUserPhysicalPages(w, 4, pfns), 0);
    for (size_t i = 0; i < 4 * P; i++)
        ck_assert_int_eq(w[i], 0);
    release(w);
    free_pages(4, pfns);
}
END_TEST

/* ---- MEM_PHYSICAL windows ------------------------------------------------------------- */

/* memoryapi §5.3: MEM_RESERVE|MEM_PHYSICAL with PAGE_READWRITE only; WRK allocvm.c: no
 * other type bit but MEM_TOP_DOWN. The window is private memory (WRK: PrivateMemory VAD),
 * reserved until pages are mapped; no privilege is needed for it. */
START_TEST(window_reserve_rules)
{
    char *w = VirtualAlloc(NULL, 10 * P, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE);
    ck_assert_ptr_nonnull(w);
    ck_assert_uint_eq((uintptr_t)w % G, 0);
    ck_assert_unmapped(w, w, w, 10 * P);
    ck_assert_unmapped(w + 9 * P, w + 9 * P, w, P);
    ck_assert_int_eq(hm_probe_read(w), SIGSEGV);
    release(w);
    char *t = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_PHYSICAL | MEM_TOP_DOWN, PAGE_READWRITE);
    ck_assert_ptr_nonnull(t);
    release(t);

    char *at = hm_free_range(4 * G);
    hm_snap_t before, after;
    hm_snap(&before, at, 4 * G);
    static const struct {
        DWORD type, prot;
    } bad[] = {
        {MEM_RESERVE | MEM_PHYSICAL, PAGE_READONLY},
        {MEM_RESERVE | MEM_PHYSICAL, PAGE_EXECUTE_READWRITE},
        {MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE | PAGE_GUARD},
        {MEM_RESERVE | MEM_PHYSICAL, PAGE_NOACCESS},
        {MEM_RESERVE | MEM_COMMIT | MEM_PHYSICAL, PAGE_READWRITE},
        {MEM_COMMIT | MEM_PHYSICAL, PAGE_READWRITE},
        {MEM_PHYSICAL, PAGE_READWRITE},
        {MEM_RESERVE | MEM_PHYSICAL | MEM_WRITE_WATCH, PAGE_READWRITE},
        {MEM_RESERVE | MEM_PHYSICAL | MEM_LARGE_PAGES, PAGE_READWRITE},
        {MEM_RESET | MEM_PHYSICAL, PAGE_READWRITE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(at, 4 * P, bad[i].type, bad[i].prot));
        ck_assert_msg(GetLastError() == ERROR_INVALID_PARAMETER, "case %zu: %u", i, GetLastError());
    }
    hm_snap(&after, at, 4 * G);
    ck_assert_snap_eq(&before, &after);
}
END_TEST

/* Windows refuses the page-by-page calls on a window (WRK): MEM_COMMIT and MEM_RESET →
 * STATUS_CONFLICTING_ADDRESSES, MEM_DECOMMIT → STATUS_MEMORY_NOT_ALLOCATED (both 487),
 * VirtualLock/Unlock → STATUS_INCOMPATIBLE_FILE_MAP (87); VirtualProtect takes only
 * NOACCESS/READONLY/READWRITE on mapped pages. */
START_TEST(window_refuses_commit_decommit_reset_and_lock)
{
    ULONG_PTR pfns[2];
    alloc_pages(2, pfns);
    char *w = window(8);
    ck_assert_int_ne(MapUserPhysicalPages(w, 2, pfns), 0);
    w[0] = 7;
    hm_snap_t before, after;
    hm_snap(&before, w, 8 * P);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(w + 4 * P, P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_ptr_null(VirtualAlloc(w, P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_ptr_null(VirtualAlloc(w, P, MEM_RESET, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(VirtualFree(w, P, MEM_DECOMMIT), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(VirtualFree(w, 0, MEM_DECOMMIT), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(VirtualLock(w, P), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(VirtualUnlock(w, P), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(VirtualFree(w + P, 0, MEM_RELEASE), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    hm_snap(&after, w, 8 * P);
    ck_assert_snap_eq(&before, &after);
    ck_assert_int_eq(w[0], 7);
    release(w);
    free_pages(2, pfns);
}
END_TEST

START_TEST(window_protect_takes_noaccess_readonly_readwrite_on_mapped_pages)
{
    ULONG_PTR pfns[2];
    alloc_pages(2, pfns);
    char *w = window(4);
    ck_assert_int_ne(MapUserPhysicalPages(w, 2, pfns), 0);
    w[0] = 3;
    DWORD old = 0;
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualProtect(w, P, PAGE_READONLY, &old), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_mapped(w, w, w, P, PAGE_READONLY);
    ck_assert_mapped(w + P, w + P, w, P, PAGE_READWRITE);
    ck_assert_int_eq(w[0], 3);
    ck_assert_int_eq(hm_probe_write(w), SIGSEGV);
    ck_assert_int_ne(VirtualProtect(w + P, P, PAGE_NOACCESS, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_int_eq(hm_probe_read(w + P), SIGSEGV);
    static const DWORD refused[] = {PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE,
                                    PAGE_READWRITE | PAGE_GUARD, PAGE_READWRITE | PAGE_NOCACHE};
    hm_snap_t before, after;
    hm_snap(&before, w, 4 * P);
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        old = 0x77;
        ck_assert_int_eq(VirtualProtect(w, P, refused[i], &old), FALSE);
        ck_assert_last_error(ERROR_INVALID_ADDRESS);
        ck_assert_uint_eq(old, PAGE_NOACCESS);
    }
    /* unmapped pages are reserved: VirtualProtect needs committed pages */
    ck_assert_int_eq(VirtualProtect(w + 2 * P, P, PAGE_READWRITE, &old), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    hm_snap(&after, w, 4 * P);
    ck_assert_snap_eq(&before, &after);
    ck_assert_int_ne(VirtualProtect(w, 2 * P, PAGE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_READONLY);
    ck_assert_mapped(w, w, w, 2 * P, PAGE_READWRITE);
    /* a page mapped again is read-write whatever it was before */
    ck_assert_int_ne(VirtualProtect(w, P, PAGE_READONLY, &old), 0);
    ck_assert_int_ne(MapUserPhysicalPages(w, 1, NULL), 0);
    ck_assert_int_ne(MapUserPhysicalPages(w, 1, &pfns[0]), 0);
    ck_assert_mapped(w, w, w, 2 * P, PAGE_READWRITE);
    ck_assert_int_eq(w[0], 3);
    release(w);
    free_pages(2, pfns);
}
END_TEST

/* memoryapi §5.6: releasing a window unmaps its pages but does not free them. */
START_TEST(release_of_a_window_unmaps_but_keeps_the_pages)
{
    ULONG_PTR pfns[3];
    alloc_pages(3, pfns);
    uint64_t committed = hm_stats_now().committed_bytes;
    char *w = window(4);
    ck_assert_int_ne(MapUserPhysicalPages(w + P, 3, pfns), 0);
    strcpy(w + P, "one");
    strcpy(w + 3 * P, "three");
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed);
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualFree(w, 0, MEM_RELEASE), 0);
    ck_assert_last_error_untouched();
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQuery(w, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_FREE);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed);
    char *v = window(3);
    ck_assert_int_ne(MapUserPhysicalPages(v, 3, pfns), 0);
    ck_assert_str_eq(v, "one");
    ck_assert_str_eq(v + 2 * P, "three");
    release(v);
    free_pages(3, pfns);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed - 3 * P);
}
END_TEST

/* ---- MapUserPhysicalPages ------------------------------------------------------------- */

START_TEST(map_shows_committed_readwrite_pages_in_the_query)
{
    ULONG_PTR pfns[4];
    alloc_pages(4, pfns);
    char *w = window(10);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(MapUserPhysicalPages(w + 2 * P + 123, 4, pfns), TRUE); /* rounded down */
    ck_assert_last_error_untouched();
    ck_assert_unmapped(w, w, w, 2 * P);
    ck_assert_mapped(w + 2 * P, w + 2 * P, w, 4 * P, PAGE_READWRITE);
    ck_assert_mapped(w + 5 * P + 9, w + 5 * P, w, P, PAGE_READWRITE);
    ck_assert_unmapped(w + 6 * P, w + 6 * P, w, 4 * P);
    memset(w + 2 * P, 0xA5, 4 * P);
    ck_assert_int_eq(hm_probe_read(w + P), SIGSEGV);
    ck_assert_int_eq(hm_probe_write(w + 6 * P), SIGSEGV);
    ck_assert_int_eq(hm_probe_write(w + 2 * P), 0);
    release(w);
    free_pages(4, pfns);
}
END_TEST

/* The same page can be mapped, unmapped and mapped elsewhere, and keeps its data. */
START_TEST(unmapped_page_keeps_its_data_and_maps_elsewhere)
{
    ULONG_PTR pfn;
    alloc_pages(1, &pfn);
    char *a = window(4), *b = window(4);
    ck_assert_int_ne(MapUserPhysicalPages(a + P, 1, &pfn), 0);
    strcpy(a + P, "kept");
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(MapUserPhysicalPages(a + P, 1, NULL), TRUE);
    ck_assert_last_error_untouched();
    ck_assert_unmapped(a, a, a, 4 * P);
    ck_assert_int_eq(hm_probe_read(a + P), SIGSEGV);
    ck_assert_int_ne(MapUserPhysicalPages(b + 3 * P, 1, &pfn), 0);
    ck_assert_str_eq(b + 3 * P, "kept");
    ck_assert_int_ne(MapUserPhysicalPages(b + 3 * P, 1, NULL), 0);
    ck_assert_int_ne(MapUserPhysicalPages(a, 1, &pfn), 0);
    ck_assert_str_eq(a, "kept");
    /* unmapping pages that are not mapped is fine */
    ck_assert_int_ne(MapUserPhysicalPages(b, 4, NULL), 0);
    release(a);
    release(b);
    free_pages(1, &pfn);
}
END_TEST

/* MapUserPhysicalPages remarks: existing translations are replaced, the old pages unmapped
 * (not freed): they can be mapped elsewhere afterwards. */
START_TEST(map_replaces_what_is_mapped_there)
{
    ULONG_PTR p[3];
    alloc_pages(3, p);
    char *w = window(2);
    ck_assert_int_ne(MapUserPhysicalPages(w, 2, p), 0);
    strcpy(w, "p0");
    strcpy(w + P, "p1");
    ck_assert_int_ne(MapUserPhysicalPages(w + P, 1, &p[2]), 0);
    ck_assert_str_eq(w + P, "");
    strcpy(w + P, "p2");
    /* WRK: a page mapped anywhere is refused, even where this call maps over it */
    ULONG_PTR swap[2] = {p[1], p[0]};
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(MapUserPhysicalPages(w, 2, swap), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_str_eq(w, "p0");
    ck_assert_int_ne(MapUserPhysicalPages(w, 1, NULL), 0);
    ck_assert_int_ne(MapUserPhysicalPages(w, 2, swap), 0);
    ck_assert_str_eq(w, "p1");
    ck_assert_str_eq(w + P, "p0");
    ck_assert_mapped(w, w, w, 2 * P, PAGE_READWRITE);
    char *v = window(1);
    ck_assert_int_ne(MapUserPhysicalPages(v, 1, &p[2]), 0);
    ck_assert_str_eq(v, "p2");
    release(v);
    release(w);
    free_pages(3, p);
}
END_TEST

/* AllocateUserPhysicalPages remarks: a page cannot be mapped at two addresses. WRK: a page
 * already mapped (anywhere, even at this address) or named twice → STATUS_INVALID_PARAMETER_3
 * (87); nothing is mapped. */
START_TEST(map_of_a_page_mapped_anywhere_fails_with_invalid_parameter)
{
    ULONG_PTR p[3];
    alloc_pages(3, p);
    char *a = window(4), *b = window(4);
    ck_assert_int_ne(MapUserPhysicalPages(a, 1, &p[0]), 0);
    strcpy(a, "A");
    hm_snap_t sa, sb, sa2, sb2;
    hm_snap(&sa, a, 4 * P);
    hm_snap(&sb, b, 4 * P);
    ULONG_PTR twice[2] = {p[1], p[1]}, mixed[2] = {p[2], p[0]};
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(MapUserPhysicalPages(b, 1, &p[0]), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(MapUserPhysicalPages(a, 1, &p[0]), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(MapUserPhysicalPages(b, 2, twice), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(MapUserPhysicalPages(b, 2, mixed), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    hm_snap(&sa2, a, 4 * P);
    hm_snap(&sb2, b, 4 * P);
    ck_assert_snap_eq(&sa, &sa2);
    ck_assert_snap_eq(&sb, &sb2);
    ck_assert_str_eq(a, "A");
    /* and the pages named are still free to map */
    ck_assert_int_ne(MapUserPhysicalPages(b, 2, &p[1]), 0);
    release(a);
    release(b);
    free_pages(3, p);
}
END_TEST

/* WRK: a number that is not an allocated page of this process (made up, freed, or not a
 * number at all) → STATUS_CONFLICTING_ADDRESSES (487); the first bad entry decides. */
START_TEST(map_of_a_foreign_or_freed_number_fails_with_invalid_address)
{
    ULONG_PTR p[3];
    alloc_pages(3, p);
    ULONG_PTR gone = p[2];
    free_pages(1, &p[2]);
    char *w = window(4);
    ck_assert_int_ne(MapUserPhysicalPages(w + 3 * P, 1, &p[1]), 0);
    hm_snap_t before, after;
    hm_snap(&before, w, 4 * P);
    const ULONG_PTR bogus[] = {0, 1, 12345, gone, p[0] ^ ((ULONG_PTR)1 << 40), p[0] + (1u << 20),
                               (ULONG_PTR)-1, p[0] | ((ULONG_PTR)1 << 63)};
    for (size_t i = 0; i < sizeof bogus / sizeof bogus[0]; i++) {
        ULONG_PTR two[2] = {p[0], bogus[i]};
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(MapUserPhysicalPages(w, 2, two), FALSE);
        ck_assert_msg(GetLastError() == ERROR_INVALID_ADDRESS, "number %#lx: %u",
                      (unsigned long)bogus[i], GetLastError());
    }
    /* order decides: a mapped page before a bad number is 87, after it 487 */
    ULONG_PTR mapped_first[2] = {p[1], gone}, bad_first[2] = {gone, p[1]};
    ck_assert_int_eq(MapUserPhysicalPages(w, 2, mapped_first), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(MapUserPhysicalPages(w, 2, bad_first), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    hm_snap(&after, w, 4 * P);
    ck_assert_snap_eq(&before, &after);
    ck_assert_int_ne(MapUserPhysicalPages(w, 1, &p[0]), 0);
    release(w);
    free_pages(2, p);
}
END_TEST

/* WRK: the range must lie in one AWE window (else STATUS_INVALID_PARAMETER_1, 87); 0 pages
 * or a range that wraps → 87. */
START_TEST(map_outside_a_window_fails_with_invalid_parameter)
{
    ULONG_PTR p[2];
    alloc_pages(2, p);
    char *w = window(4);
    char *plain = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(plain);
    hm_snap_t before, after;
    hm_snap(&before, w, 4 * P);
    struct {
        void *addr;
        ULONG_PTR n;
    } bad[] = {{w + 3 * P, 2}, {w, 5}, {w, 0}, {plain, 1}, {w - P, 1}, {hm_free_range(G), 1},
               {NULL, 1}, {w, (ULONG_PTR)-1 / P + 1}, {w + P, (ULONG_PTR)-1 / P}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(MapUserPhysicalPages(bad[i].addr, bad[i].n, p), FALSE);
        ck_assert_msg(GetLastError() == ERROR_INVALID_PARAMETER, "case %zu: %u", i, GetLastError());
        ck_assert_int_eq(MapUserPhysicalPages(bad[i].addr, bad[i].n, NULL), FALSE);
        ck_assert_msg(GetLastError() == ERROR_INVALID_PARAMETER, "case %zu: %u", i, GetLastError());
    }
    hm_snap(&after, w, 4 * P);
    ck_assert_snap_eq(&before, &after);
    ck_assert_region(plain, plain, plain, PAGE_READWRITE, 4 * P, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    ck_assert_int_eq(MapUserPhysicalPages(w, 2, (PULONG_PTR)(uintptr_t)16), FALSE);
    ck_assert_last_error(ERROR_NOACCESS);
    release(plain);
    release(w);
    free_pages(2, p);
}
END_TEST

/* WRK: before the process allocated any physical page, every map fails with 87 (no AWE
 * state yet). */
START_TEST(map_before_any_allocation_fails_with_invalid_parameter)
{
    char *w = window(4);
    ULONG_PTR made_up = 0x4000000100000001u;
    void *addr = w;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(MapUserPhysicalPages(w, 1, NULL), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(MapUserPhysicalPages(w, 1, &made_up), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(MapUserPhysicalPagesScatter(&addr, 1, NULL), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ULONG_PTR n = 1;
    ck_assert_int_eq(FreeUserPhysicalPages(PROC, &n, &made_up), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(n, 0);
    ck_assert_unmapped(w, w, w, 4 * P);
    release(w);
}
END_TEST

/* A long page array (more than fits on the stack) maps in one call too. */
START_TEST(map_many_pages_at_once)
{
    enum { N = 600 };
    static ULONG_PTR p[N];
    alloc_pages(N, p);
    char *w = window(N + 8);
    ck_assert_int_ne(MapUserPhysicalPages(w + 4 * P, N, p), 0);
    ck_assert_unmapped(w, w, w, 4 * P);
    ck_assert_mapped(w + 4 * P, w + 4 * P, w, N * P, PAGE_READWRITE);
    for (int i = 0; i < N; i++)
        w[(4 + i) * P] = (char)i;
    ck_assert_int_ne(MapUserPhysicalPages(w + 4 * P, N, NULL), 0);
    ck_assert_unmapped(w, w, w, (N + 8) * P);
    /* back in reverse order: each page keeps its byte */
    static ULONG_PTR rev[N];
    for (int i = 0; i < N; i++)
        rev[i] = p[N - 1 - i];
    ck_assert_int_ne(MapUserPhysicalPages(w, N, rev), 0);
    for (int i = 0; i < N; i++)
        ck_assert_int_eq(w[i * P], (char)(N - 1 - i));
    release(w);
    free_pages(N, p);
}
END_TEST

/* ---- MapUserPhysicalPagesScatter ------------------------------------------------------ */

START_TEST(scatter_maps_and_unmaps_single_pages_across_windows)
{
    ULONG_PTR p[3];
    alloc_pages(3, p);
    char *a = window(4), *b = window(2);
    PVOID va[3] = {a + 3 * P + 17, b, a + P};
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(MapUserPhysicalPagesScatter(va, 3, p), TRUE);
    ck_assert_last_error_untouched();
    ck_assert_unmapped(a, a, a, P);
    ck_assert_mapped(a + P, a + P, a, P, PAGE_READWRITE);
    ck_assert_unmapped(a + 2 * P, a + 2 * P, a, P);
    ck_assert_mapped(a + 3 * P, a + 3 * P, a, P, PAGE_READWRITE);
    ck_assert_mapped(b, b, b, P, PAGE_READWRITE);
    strcpy(a + 3 * P, "p0");
    strcpy(b, "p1");
    strcpy(a + P, "p2");
    /* a 0 entry unmaps its address; the others are mapped. A page mapped when the call
     * starts is refused even if an earlier entry unmaps it (WRK: 87, nothing changes) */
    ULONG_PTR some[3] = {0, 0, p[1]};
    PVOID vb[3] = {a + 3 * P, b, b + P};
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(MapUserPhysicalPagesScatter(vb, 3, some), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_str_eq(b, "p1");
    ck_assert_int_ne(MapUserPhysicalPagesScatter(vb, 2, some), 0);
    ck_assert_int_ne(MapUserPhysicalPagesScatter(vb, 3, some), 0);
    ck_assert_unmapped(a + 2 * P, a + 2 * P, a, 2 * P);
    ck_assert_unmapped(b, b, b, P);
    ck_assert_str_eq(b + P, "p1");
    /* NULL unmaps every address listed */
    PVOID vc[2] = {a + P, b + P};
    ck_assert_int_ne(MapUserPhysicalPagesScatter(vc, 2, NULL), 0);
    ck_assert_unmapped(a, a, a, 4 * P);
    ck_assert_unmapped(b, b, b, 2 * P);
    /* the same address twice: the later entry wins, the earlier page is unmapped again */
    PVOID same[2] = {b, b};
    ULONG_PTR two[2] = {p[0], p[2]};
    ck_assert_int_ne(MapUserPhysicalPagesScatter(same, 2, two), 0);
    ck_assert_str_eq(b, "p2");
    ck_assert_int_ne(MapUserPhysicalPages(a, 1, &p[0]), 0);
    ck_assert_str_eq(a, "p0");
    /* 0 entries: success before anything is looked at */
    ck_assert_int_eq(MapUserPhysicalPagesScatter(NULL, 0, NULL), TRUE);
    release(a);
    release(b);
    free_pages(3, p);
}
END_TEST

START_TEST(scatter_is_all_or_nothing)
{
    ULONG_PTR p[3];
    alloc_pages(3, p);
    char *a = window(4), *b = window(4);
    char *plain = VirtualAlloc(NULL, P, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_int_ne(MapUserPhysicalPages(a, 1, &p[0]), 0);
    hm_snap_t sa, sb, sa2, sb2;
    hm_snap(&sa, a, 4 * P);
    hm_snap(&sb, b, 4 * P);
    PVOID outside[3] = {b, b + P, plain}, ok3[3] = {b, b + P, b + 2 * P};
    ULONG_PTR bad_number[3] = {p[1], p[2], 77}, mapped[3] = {p[1], p[2], p[0]};
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(MapUserPhysicalPagesScatter(outside, 3, &p[0]), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(MapUserPhysicalPagesScatter(outside, 3, NULL), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(MapUserPhysicalPagesScatter(ok3, 3, bad_number), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(MapUserPhysicalPagesScatter(ok3, 3, mapped), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(MapUserPhysicalPagesScatter((PVOID *)(uintptr_t)8, 3, NULL), FALSE);
    ck_assert_last_error(ERROR_NOACCESS);
    hm_snap(&sa2, a, 4 * P);
    hm_snap(&sb2, b, 4 * P);
    ck_assert_snap_eq(&sa, &sa2);
    ck_assert_snap_eq(&sb, &sb2);
    release(plain);
    release(a);
    release(b);
    free_pages(3, p);
}
END_TEST

/* ---- FreeUserPhysicalPages ------------------------------------------------------------ */

/* FreeUserPhysicalPages: pages mapped in a window are unmapped, then freed; their numbers
 * stop working. */
START_TEST(free_unmaps_mapped_pages_and_uncharges)
{
    ULONG_PTR p[4];
    uint64_t committed = hm_stats_now().committed_bytes;
    alloc_pages(4, p);
    char *w = window(4);
    ck_assert_int_ne(MapUserPhysicalPages(w, 2, p), 0);
    w[0] = 1;
    ULONG_PTR n = 4;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(FreeUserPhysicalPages(PROC, &n, p), TRUE);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(n, 4);
    ck_assert_unmapped(w, w, w, 4 * P);
    ck_assert_int_eq(hm_probe_read(w), SIGSEGV);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed);
    ck_assert_int_eq(MapUserPhysicalPages(w, 1, p), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    release(w);
}
END_TEST

/* FreeUserPhysicalPages: on failure *NumberOfPages says how many were freed; WRK frees in
 * order and stops at the first number that is not an allocated page (487). */
START_TEST(free_stops_at_the_first_bad_number)
{
    ULONG_PTR p[3];
    alloc_pages(3, p);
    char *w = window(4);
    ck_assert_int_ne(MapUserPhysicalPages(w, 3, p), 0);
    strcpy(w + 2 * P, "third");
    ULONG_PTR list[4] = {p[0], p[1], 999, p[2]};
    ULONG_PTR n = 4;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(FreeUserPhysicalPages(PROC, &n, list), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(n, 2);
    ck_assert_unmapped(w, w, w, 2 * P);
    ck_assert_mapped(w + 2 * P, w + 2 * P, w, P, PAGE_READWRITE);
    ck_assert_str_eq(w + 2 * P, "third");
    /* a page named twice: freed the first time, bad the second */
    ULONG_PTR dup[2] = {p[2], p[2]};
    n = 2;
    ck_assert_int_eq(FreeUserPhysicalPages(PROC, &n, dup), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(n, 1);
    ck_assert_unmapped(w, w, w, 4 * P);
    release(w);
}
END_TEST

START_TEST(free_argument_errors)
{
    ULONG_PTR p[1];
    alloc_pages(1, p);
    ULONG_PTR n = 0;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(FreeUserPhysicalPages(PROC, NULL, p), FALSE);
    ck_assert_last_error(ERROR_NOACCESS);
    ck_assert_int_eq(FreeUserPhysicalPages(PROC, &n, p), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_uint_eq(n, 0);
    n = 1;
    ck_assert_int_eq(FreeUserPhysicalPages(PROC, &n, NULL), FALSE);
    ck_assert_last_error(ERROR_NOACCESS);
    ck_assert_uint_eq(n, 0); /* Windows zeroes the count before it looks at the rest */
    n = 1;
    ck_assert_int_eq(FreeUserPhysicalPages((HANDLE)(intptr_t)4, &n, p), FALSE);
    ck_assert_last_error(ERROR_INVALID_HANDLE);
    ck_assert_uint_eq(n, 0);
    free_pages(1, p); /* still allocated */
}
END_TEST

/* Threads mapping, unmapping and querying their own windows at the same time; pages
 * move between the threads' windows only through the one pool. */
typedef struct worker {
    ULONG_PTR p[8];
    char *w;
    int id;
} worker_t;

static void *work(void *arg)
{
    worker_t *k = arg;
    for (int round = 0; round < 200; round++) {
        if (!MapUserPhysicalPages(k->w, 8, k->p))
            return (void *)1;
        for (int i = 0; i < 8; i++)
            if (k->w[i * P] != (char)(k->id * 16 + i))
                return (void *)2;
        if (rw_state(k->w + 7 * P) != MEM_COMMIT || !MapUserPhysicalPages(k->w, 8, NULL) ||
            rw_state(k->w) != MEM_RESERVE)
            return (void *)3;
    }
    return NULL;
}

START_TEST(threads_map_their_own_windows_concurrently)
{
    enum { T = 4 };
    static worker_t k[T];
    pthread_t th[T];
    for (int t = 0; t < T; t++) {
        k[t].id = t;
        alloc_pages(8, k[t].p);
        k[t].w = window(8);
        ck_assert_int_ne(MapUserPhysicalPages(k[t].w, 8, k[t].p), 0);
        for (int i = 0; i < 8; i++)
            k[t].w[i * P] = (char)(t * 16 + i);
        ck_assert_int_ne(MapUserPhysicalPages(k[t].w, 8, NULL), 0);
    }
    for (int t = 0; t < T; t++)
        ck_assert_int_eq(pthread_create(&th[t], NULL, work, &k[t]), 0);
    for (int t = 0; t < T; t++) {
        void *r;
        ck_assert_int_eq(pthread_join(th[t], &r), 0);
        ck_assert_ptr_null(r);
    }
    for (int t = 0; t < T; t++) {
        release(k[t].w);
        free_pages(8, k[t].p);
    }
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("awe");
    hm_add(s, tcase_create("allocate_returns_distinct_nonzero_numbers_and_charges_commit"), allocate_returns_distinct_nonzero_numbers_and_charges_commit);
    hm_add(s, tcase_create("allocate_zero_pages_succeeds_without_looking_further"), allocate_zero_pages_succeeds_without_looking_further);
    hm_add(s, tcase_create("allocate_argument_errors_change_nothing"), allocate_argument_errors_change_nothing);
    hm_add(s, tcase_create("allocate_over_the_commit_limit_fails_with_commitment_limit"), allocate_over_the_commit_limit_fails_with_commitment_limit);
    hm_add(s, tcase_create("allocated_pages_read_zero_even_when_reused"), allocated_pages_read_zero_even_when_reused);
    hm_add(s, tcase_create("window_reserve_rules"), window_reserve_rules);
    hm_add(s, tcase_create("window_refuses_commit_decommit_reset_and_lock"), window_refuses_commit_decommit_reset_and_lock);
    hm_add(s, tcase_create("window_protect_takes_noaccess_readonly_readwrite_on_mapped_pages"), window_protect_takes_noaccess_readonly_readwrite_on_mapped_pages);
    hm_add(s, tcase_create("release_of_a_window_unmaps_but_keeps_the_pages"), release_of_a_window_unmaps_but_keeps_the_pages);
    hm_add(s, tcase_create("map_shows_committed_readwrite_pages_in_the_query"), map_shows_committed_readwrite_pages_in_the_query);
    hm_add(s, tcase_create("unmapped_page_keeps_its_data_and_maps_elsewhere"), unmapped_page_keeps_its_data_and_maps_elsewhere);
    hm_add(s, tcase_create("map_replaces_what_is_mapped_there"), map_replaces_what_is_mapped_there);
    hm_add(s, tcase_create("map_of_a_page_mapped_anywhere_fails_with_invalid_parameter"), map_of_a_page_mapped_anywhere_fails_with_invalid_parameter);
    hm_add(s, tcase_create("map_of_a_foreign_or_freed_number_fails_with_invalid_address"), map_of_a_foreign_or_freed_number_fails_with_invalid_address);
    hm_add(s, tcase_create("map_outside_a_window_fails_with_invalid_parameter"), map_outside_a_window_fails_with_invalid_parameter);
    hm_add(s, tcase_create("map_before_any_allocation_fails_with_invalid_parameter"), map_before_any_allocation_fails_with_invalid_parameter);
    hm_add(s, tcase_create("map_many_pages_at_once"), map_many_pages_at_once);
    hm_add(s, tcase_create("scatter_maps_and_unmaps_single_pages_across_windows"), scatter_maps_and_unmaps_single_pages_across_windows);
    hm_add(s, tcase_create("scatter_is_all_or_nothing"), scatter_is_all_or_nothing);
    hm_add(s, tcase_create("free_unmaps_mapped_pages_and_uncharges"), free_unmaps_mapped_pages_and_uncharges);
    hm_add(s, tcase_create("free_stops_at_the_first_bad_number"), free_stops_at_the_first_bad_number);
    hm_add(s, tcase_create("free_argument_errors"), free_argument_errors);
    hm_add(s, tcase_create("threads_map_their_own_windows_concurrently"), threads_map_their_own_windows_concurrently);
    return s;
}

HM_TEST_MAIN(make_suite)
