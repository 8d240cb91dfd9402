/*
 * test_virtual_protect.c — VirtualProtect and VirtualProtectFromApp on hostmem memory: old
 * protection out, NULL old-protect, uncommitted and free pages, ranges crossing
 * allocations, invalid protections, rounding, enforcement, PAGE_NOCACHE stickiness.
 * Rows: windows-behaviour.md §1.1 (A3, A5, A6), §1.2, §1.12 (X4–X8); memoryapi.md §5.8, §6;
 * semantics-decisions (validation order, NOACCESS written on failure, size 0).
 * VirtualProtect on memory hostmem did not allocate: test_foreign_memory.c.
 */
#include <signal.h>
#include <string.h>

#include "testlib.h"

static const DWORD valid_prots[] = {PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE,
                                    PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE};

static const DWORD bad_prots[] = {
    0,
    PAGE_NOACCESS | PAGE_READONLY,
    PAGE_NOACCESS | PAGE_READWRITE,
    PAGE_READONLY | PAGE_READWRITE,
    PAGE_NOACCESS | PAGE_READONLY | PAGE_READWRITE,
    PAGE_WRITECOPY,
    PAGE_WRITECOPY | PAGE_NOACCESS,
    PAGE_WRITECOPY | PAGE_READONLY,
    PAGE_WRITECOPY | PAGE_READWRITE,
    PAGE_EXECUTE | PAGE_EXECUTE_READ,
    PAGE_EXECUTE | PAGE_EXECUTE_READWRITE,
    PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE,
    PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE,
    PAGE_EXECUTE_WRITECOPY,
    PAGE_EXECUTE_WRITECOPY | PAGE_EXECUTE,
    PAGE_EXECUTE_WRITECOPY | PAGE_EXECUTE_READWRITE,
    PAGE_READWRITE | PAGE_EXECUTE_WRITECOPY,
    PAGE_READONLY | PAGE_EXECUTE,
    PAGE_NOACCESS | PAGE_EXECUTE_READ,
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

static void release(void *p)
{
    ck_assert_int_ne(VirtualFree(p, 0, MEM_RELEASE), 0);
}

/* A6 */
START_TEST(protect_returns_old_protection)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(VirtualAlloc(a, P, MEM_COMMIT, PAGE_NOACCESS), a);
    DWORD old = 0;
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualProtect(a, 0x1000, PAGE_READONLY, &old), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    old = 0;
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualProtect(a, 0x1000, PAGE_READWRITE, &old), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(old, PAGE_READONLY);
    ck_assert_region(a, a, a, PAGE_NOACCESS, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    memset(a, 0x55, 20);
    ck_assert_int_eq(a[19], 0x55);
    release(a);
}
END_TEST

/* Wine test_VirtualProtect table (§1.2): every valid protection applies and reads back;
 * writing to a writable page does not change Protect */
START_TEST(protect_applies_each_valid_protection)
{
    char *a = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(a);
    for (size_t i = 0; i < sizeof valid_prots / sizeof valid_prots[0]; i++) {
        DWORD prot = valid_prots[i], old = 0xdead;
        SetLastError(HM_SENTINEL);
        ck_assert_int_ne(VirtualProtect(a, P, prot, &old), 0);
        ck_assert_last_error_untouched();
        ck_assert_uint_eq(old, PAGE_NOACCESS);
        ck_assert_region(a, a, a, PAGE_NOACCESS, P, MEM_COMMIT, prot, MEM_PRIVATE);
        if (prot == PAGE_READWRITE || prot == PAGE_EXECUTE_READWRITE) {
            a[0] = (char)0xFE;
            ck_assert_region(a, a, a, PAGE_NOACCESS, P, MEM_COMMIT, prot, MEM_PRIVATE);
        }
        old = 0xdead;
        ck_assert_int_ne(VirtualProtect(a, P, PAGE_NOACCESS, &old), 0);
        ck_assert_uint_eq(old, prot);
    }
    release(a);
}
END_TEST

/* §1.2: invalid protections → 87 and the page keeps its protection */
START_TEST(protect_invalid_protection_fails_with_invalid_parameter)
{
    char *a = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    a[0] = 9;
    for (size_t i = 0; i < sizeof bad_prots / sizeof bad_prots[0]; i++) {
        DWORD old = 0xdead;
        SetLastError(HM_SENTINEL);
        ck_assert_msg(VirtualProtect(a, P, bad_prots[i], &old) == 0, "prot %#x", bad_prots[i]);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        ck_assert_region(a, a, a, PAGE_READWRITE, 2 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
        old = 0xdead;
        ck_assert_int_ne(VirtualProtect(a, P, PAGE_READWRITE, &old), 0);
        ck_assert_uint_eq(old, PAGE_READWRITE);
    }
    ck_assert_int_eq(a[0], 9);
    release(a);
}
END_TEST

/* memoryapi §6: PAGE_TARGETS_NO_UPDATE (same bit as TARGETS_INVALID) only with an execute protection */
START_TEST(protect_targets_flag_needs_an_execute_protection)
{
    char *a = VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    DWORD old = 0;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a, P, PAGE_READONLY | PAGE_TARGETS_NO_UPDATE, &old), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_EXECUTE_READ | PAGE_TARGETS_NO_UPDATE, &old), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(old, PAGE_READWRITE);
    release(a);
}
END_TEST

/* memoryapi §5.8: old protection is the first page's; the new one covers the whole range */
START_TEST(protect_mixed_range_reports_first_page_protection)
{
    char *a = VirtualAlloc(NULL, 3 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    DWORD old = 0;
    ck_assert_int_ne(VirtualProtect(a + P, P, PAGE_READONLY, &old), 0);
    ck_assert_int_ne(VirtualProtect(a + 2 * P, P, PAGE_NOACCESS, &old), 0);
    old = 0;
    ck_assert_int_ne(VirtualProtect(a, 3 * P, PAGE_EXECUTE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_region(a, a, a, PAGE_READWRITE, 3 * P, MEM_COMMIT, PAGE_EXECUTE_READWRITE, MEM_PRIVATE);
    ck_assert_int_ne(VirtualProtect(a + P, P, PAGE_READONLY, &old), 0);
    old = 0;
    ck_assert_int_ne(VirtualProtect(a + P, 2 * P, PAGE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_READONLY);
    release(a);
}
END_TEST

/* §1.2 (addr+1, size 1 → that page): the range is every page touched */
START_TEST(protect_range_covers_every_touched_page)
{
    char *a = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    DWORD old = 0;
    ck_assert_int_ne(VirtualProtect(a + P + 1, 1, PAGE_READONLY, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(a + P, a + P, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert_region(a + 2 * P, a + 2 * P, a, PAGE_READWRITE, 2 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    old = 0;
    ck_assert_int_ne(VirtualProtect(a + 3 * P - 1, 2, PAGE_NOACCESS, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_region(a + 2 * P, a + 2 * P, a, PAGE_READWRITE, 2 * P, MEM_COMMIT, PAGE_NOACCESS, MEM_PRIVATE);
    release(a);
}
END_TEST

/* Issue: protections change what the CPU allows */
START_TEST(protect_changes_are_enforced)
{
    char *a = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    a[10] = 42;
    DWORD old;
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_READONLY, &old), 0);
    ck_assert_int_eq(hm_probe_read(a), 0);
    ck_assert_int_eq(hm_probe_write(a), SIGSEGV);
    ck_assert_int_eq(a[10], 42);
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_NOACCESS, &old), 0);
    ck_assert_int_eq(hm_probe_read(a), SIGSEGV);
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_EXECUTE_READ, &old), 0);
    ck_assert_int_eq(hm_probe_read(a), 0);
    ck_assert_int_eq(hm_probe_write(a), SIGSEGV);
    ck_assert_int_ne(VirtualProtect(a, P, PAGE_READWRITE, &old), 0);
    ck_assert_int_eq(hm_probe_write(a), 0);
    ck_assert_int_eq(a[10], 42);
    release(a);
}
END_TEST

/* §1.2: NULL lpflOldProtect → FALSE, ERROR_NOACCESS, protection not changed */
START_TEST(protect_null_old_protect_fails_with_noaccess_and_changes_nothing)
{
    char *a = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a, P, PAGE_READONLY, NULL), 0);
    ck_assert_last_error(ERROR_NOACCESS);
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_int_eq(hm_probe_write(a), 0);
    release(a);
}
END_TEST

/* A3, A5, §1.2 / semantics-decisions (old set to PAGE_NOACCESS on failure) */
START_TEST(protect_uncommitted_pages_fails_with_invalid_address)
{
    char *a = VirtualAlloc(NULL, 0xFFFC, MEM_RESERVE, PAGE_NOACCESS);
    ck_assert_ptr_nonnull(a);
    DWORD old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a, 0xFFFC, PAGE_READONLY, &old), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert_region(a, a, a, PAGE_NOACCESS, G, MEM_RESERVE, 0, MEM_PRIVATE);

    /* only the first page committed: the whole call fails, the first page is unchanged */
    ck_assert_ptr_eq(VirtualAlloc(a, 0x1000, MEM_COMMIT, PAGE_READWRITE), a);
    old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a, 0xFFFC, PAGE_READONLY, &old), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert_region(a, a, a, PAGE_NOACCESS, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(a + P, a + P, a, PAGE_NOACCESS, G - P, MEM_RESERVE, 0, MEM_PRIVATE);

    /* a decommitted page in the middle */
    ck_assert_ptr_eq(VirtualAlloc(a, 3 * P, MEM_COMMIT, PAGE_READWRITE), a);
    ck_assert_int_ne(VirtualFree(a + P, P, MEM_DECOMMIT), 0);
    old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a, 3 * P, PAGE_READONLY, &old), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert_region(a, a, a, PAGE_NOACCESS, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(a + 2 * P, a + 2 * P, a, PAGE_NOACCESS, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(a);
}
END_TEST

/* Issue: free pages → 487 */
START_TEST(protect_free_memory_fails_with_invalid_address)
{
    char *r = hm_free_range(2 * G);
    hm_snap_t before, after;
    hm_snap(&before, r, 2 * G);
    DWORD old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(r, P, PAGE_READWRITE, &old), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    /* a released allocation is free memory too */
    char *a = VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    release(a);
    old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a, P, PAGE_READWRITE, &old), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    hm_snap(&after, r, 2 * G);
    ck_assert_snap_eq(&before, &after);
}
END_TEST

/* Issue: ranges crossing allocations → 487; X5 (beyond the allocation, old = NOACCESS) */
START_TEST(protect_range_crossing_allocations_fails_with_invalid_address)
{
    char *r = hm_free_range(3 * G);
    char *a = VirtualAlloc(r, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    char *b = VirtualAlloc(r + G, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r);
    ck_assert_ptr_eq(b, r + G);
    hm_snap_t before, after;
    hm_snap(&before, r, 3 * G);
    DWORD old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a + G - P, 2 * P, PAGE_READONLY, &old), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(b, 0x100000, PAGE_READONLY, &old), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    hm_snap(&after, r, 3 * G);
    ck_assert_snap_eq(&before, &after);
    ck_assert_int_eq(hm_probe_write(a + G - 1), 0);
    ck_assert_int_eq(hm_probe_write(b), 0);
    release(a);
    release(b);
}
END_TEST

/* semantics-decisions: size 0 → 87 (an empty range) */
START_TEST(protect_size_zero_fails_with_invalid_parameter)
{
    char *a = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    DWORD old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a, 0, PAGE_READONLY, &old), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a + 0x10, 0, PAGE_READONLY, &old), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(a);
}
END_TEST

/* semantics-decisions: protection → NULL old-protect → address above user space → state */
START_TEST(protect_checks_protection_then_old_pointer_then_address_then_state)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ck_assert_ptr_eq(VirtualAlloc(a, P, MEM_COMMIT, PAGE_READWRITE), a);
    DWORD old = 0x1234;
    /* bad protection wins over everything */
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a, P, 0, NULL), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a + P, P, PAGE_WRITECOPY, &old), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect((void *)0x800000000000, P, 0x06, &old), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    /* the NULL old-protect pointer before the address above user space */
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect((void *)0x800000000000, P, PAGE_READONLY, NULL), 0);
    ck_assert_last_error(ERROR_NOACCESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect((void *)0x800000000000, P, PAGE_READONLY, &old), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    /* NULL old-protect before the state */
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a + P, P, PAGE_READONLY, NULL), 0);
    ck_assert_last_error(ERROR_NOACCESS);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtect(a + G, P, PAGE_READONLY, NULL), 0);
    ck_assert_last_error(ERROR_NOACCESS);
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(a);
}
END_TEST

/* §1.2: PAGE_NOCACHE is a property of the allocation (Wine's test, current Windows) */
START_TEST(protect_nocache_sticks_to_the_allocation)
{
    char *a = VirtualAlloc(NULL, 0x2000, MEM_COMMIT, PAGE_READWRITE | PAGE_NOCACHE);
    ck_assert_ptr_nonnull(a);
    ck_assert_region(a, a, a, PAGE_READWRITE | PAGE_NOCACHE, 0x2000, MEM_COMMIT,
                     PAGE_READWRITE | PAGE_NOCACHE, MEM_PRIVATE);
    DWORD old = 0;
    ck_assert_int_ne(VirtualProtect(a, 0x1000, PAGE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE | PAGE_NOCACHE);
    ck_assert_region(a, a, a, PAGE_READWRITE | PAGE_NOCACHE, 0x2000, MEM_COMMIT,
                     PAGE_READWRITE | PAGE_NOCACHE, MEM_PRIVATE);
    old = 0;
    ck_assert_int_ne(VirtualProtect(a, 0x1000, PAGE_READONLY, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE | PAGE_NOCACHE);
    ck_assert_region(a, a, a, PAGE_READWRITE | PAGE_NOCACHE, 0x1000, MEM_COMMIT,
                     PAGE_READONLY | PAGE_NOCACHE, MEM_PRIVATE);
    release(a);

    /* on a normal allocation the NOCACHE request is dropped */
    a = VirtualAlloc(NULL, 0x2000, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    old = 0;
    ck_assert_int_ne(VirtualProtect(a, 0x1000, PAGE_READONLY | PAGE_NOCACHE, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_region(a, a, a, PAGE_READWRITE, 0x1000, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    release(a);
}
END_TEST

/* X4 */
START_TEST(protect_from_app_returns_old_protection)
{
    char *a = VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    ULONG old = 0;
    SetLastError(HM_SENTINEL);
    ck_assert_int_ne(VirtualProtectFromApp(a, 0x1000, PAGE_READONLY, &old), 0);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    release(a);
}
END_TEST

/* X5 */
START_TEST(protect_from_app_beyond_allocation_fails)
{
    char *r = hm_free_range(G);
    char *a = VirtualAlloc(r, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r);
    ULONG old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtectFromApp(a, 0x100000, PAGE_READWRITE, &old), 0);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(a);
}
END_TEST

/* Issue (FromApp rejects executable protections with 87), X6, X7; X8 desktop differs, see report */
START_TEST(protect_from_app_rejects_executable_and_modifier_only_protections)
{
    char *a = VirtualAlloc(NULL, P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    static const ULONG exec[] = {PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
                                 PAGE_EXECUTE_WRITECOPY};
    for (size_t i = 0; i < sizeof exec / sizeof exec[0]; i++) {
        ULONG old = 0x1234;
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualProtectFromApp(a, 0x1000, exec[i], &old), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(VirtualProtectFromApp(a, 0x1000, exec[i], NULL), 0);
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    ULONG old = 0x1234;
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualProtectFromApp(a, 0x1000, PAGE_GUARD, &old), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_region(a, a, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(a);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("virtual_protect");
    hm_add(s, tcase_create("protect_returns_old_protection"), protect_returns_old_protection);
    hm_add(s, tcase_create("protect_applies_each_valid_protection"), protect_applies_each_valid_protection);
    hm_add(s, tcase_create("protect_invalid_protection_fails_with_invalid_parameter"), protect_invalid_protection_fails_with_invalid_parameter);
    hm_add(s, tcase_create("protect_targets_flag_needs_an_execute_protection"), protect_targets_flag_needs_an_execute_protection);
    hm_add(s, tcase_create("protect_mixed_range_reports_first_page_protection"), protect_mixed_range_reports_first_page_protection);
    hm_add(s, tcase_create("protect_range_covers_every_touched_page"), protect_range_covers_every_touched_page);
    hm_add(s, tcase_create("protect_changes_are_enforced"), protect_changes_are_enforced);
    hm_add(s, tcase_create("protect_null_old_protect_fails_with_noaccess_and_changes_nothing"), protect_null_old_protect_fails_with_noaccess_and_changes_nothing);
    hm_add(s, tcase_create("protect_uncommitted_pages_fails_with_invalid_address"), protect_uncommitted_pages_fails_with_invalid_address);
    hm_add(s, tcase_create("protect_free_memory_fails_with_invalid_address"), protect_free_memory_fails_with_invalid_address);
    hm_add(s, tcase_create("protect_range_crossing_allocations_fails_with_invalid_address"), protect_range_crossing_allocations_fails_with_invalid_address);
    hm_add(s, tcase_create("protect_size_zero_fails_with_invalid_parameter"), protect_size_zero_fails_with_invalid_parameter);
    hm_add(s, tcase_create("protect_checks_protection_then_old_pointer_then_address_then_state"), protect_checks_protection_then_old_pointer_then_address_then_state);
    hm_add(s, tcase_create("protect_nocache_sticks_to_the_allocation"), protect_nocache_sticks_to_the_allocation);
    hm_add(s, tcase_create("protect_from_app_returns_old_protection"), protect_from_app_returns_old_protection);
    hm_add(s, tcase_create("protect_from_app_beyond_allocation_fails"), protect_from_app_beyond_allocation_fails);
    hm_add(s, tcase_create("protect_from_app_rejects_executable_and_modifier_only_protections"), protect_from_app_rejects_executable_and_modifier_only_protections);
    return s;
}

HM_TEST_MAIN(make_suite)
