/*
 * test_placeholders.c — placeholders: MEM_RESERVE_PLACEHOLDER, MEM_REPLACE_PLACEHOLDER
 * (VirtualAlloc2), VirtualFree's MEM_PRESERVE_PLACEHOLDER (split, or back to a placeholder)
 * and MEM_COALESCE_PLACEHOLDERS, what VirtualQuery shows after each, and what the other
 * calls do on a placeholder. Rows: windows-behaviour.md §1.10 (P4–P23), memoryapi.md §2.1,
 * §5.5, §5.6; hostmem's decisions: docs/semantics-decisions.md.
 */
#include <signal.h>
#include <string.h>

#include "testlib.h"

#ifndef HM_WINE
#include "vm/vm.h"
#endif

#define PH_TYPE (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)
#define PRESERVE (MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)
#define COALESCE (MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS)

/* VirtualQuery(addr) shows a placeholder (P6: reserved, no access, private) allocated at
 * alloc_base, reserved for size bytes from addr. */
#define ck_assert_placeholder(addr, alloc_base, size)                                      \
    ck_assert_region((addr), (addr), (alloc_base), PAGE_NOACCESS, (size), MEM_RESERVE, 0,    \
                     MEM_PRIVATE)

/* addr is in free memory (however far it reaches). */
#define ck_assert_is_free(addr)                                                            \
    do {                                                                                   \
        MEMORY_BASIC_INFORMATION m_;                                                       \
        ck_assert_uint_eq(VirtualQuery((addr), &m_, sizeof m_), sizeof m_);                \
        ck_assert_uint_eq(m_.State, MEM_FREE);                                             \
        ck_assert_ptr_eq(m_.BaseAddress, (void *)(addr));                                  \
    } while (0)

#define ck_assert_fails_with(call, error)                                                  \
    do {                                                                                   \
        SetLastError(HM_SENTINEL);                                                         \
        ck_assert(!(call));                                                                \
        ck_assert_last_error(error);                                                       \
    } while (0)

#define ck_assert_succeeds(call)                                                           \
    do {                                                                                   \
        SetLastError(HM_SENTINEL);                                                         \
        ck_assert_msg((call), #call " failed: %u", GetLastError());                       \
        ck_assert_last_error_untouched();                                                  \
    } while (0)

static char *placeholder(void *at, SIZE_T size)
{
    char *p = VirtualAlloc2(NULL, at, size, PH_TYPE, PAGE_NOACCESS, NULL, 0);
    ck_assert_msg(p != NULL, "placeholder %p+%#zx: %u", at, (size_t)size, GetLastError());
    return p;
}

static char *replace(void *at, SIZE_T size, DWORD type, DWORD prot)
{
    return VirtualAlloc2(NULL, at, size, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER | type, prot, NULL, 0);
}

static void release(void *p)
{
    ck_assert_msg(VirtualFree(p, 0, MEM_RELEASE), "release %p: %u", p, GetLastError());
}

static bool all_zero(const char *p, SIZE_T n)
{
    for (SIZE_T i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* P5, and the other combinations: only MEM_RESERVE|MEM_RESERVE_PLACEHOLDER, PAGE_NOACCESS */
START_TEST(reserve_placeholder_needs_noaccess_and_reserve_alone)
{
    static const DWORD prots[] = {PAGE_READWRITE, PAGE_READONLY, PAGE_NOACCESS | PAGE_GUARD,
                                  PAGE_EXECUTE_READ};
    for (size_t i = 0; i < 4; i++)
        ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, PH_TYPE, prots[i], NULL, 0),
                             ERROR_INVALID_PARAMETER);
    static const DWORD types[] = {MEM_RESERVE_PLACEHOLDER, PH_TYPE | MEM_COMMIT,
                                  MEM_COMMIT | MEM_RESERVE_PLACEHOLDER};
    for (size_t i = 0; i < 3; i++)
        ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, types[i], PAGE_NOACCESS, NULL, 0),
                             ERROR_INVALID_PARAMETER);
}
END_TEST

#ifndef HM_WINE /* Linux-only: hostmem's decision for combinations Windows does not document */
START_TEST(reserve_placeholder_refuses_other_kinds)
{
    static const DWORD extra[] = {MEM_REPLACE_PLACEHOLDER, MEM_WRITE_WATCH, MEM_LARGE_PAGES,
                                  MEM_PHYSICAL};
    char *r = hm_free_range(4 * G);
    for (size_t i = 0; i < 4; i++) {
        ck_assert_fails_with(VirtualAlloc2(NULL, r, G, PH_TYPE | extra[i], PAGE_NOACCESS, NULL, 0),
                             ERROR_INVALID_PARAMETER);
        ck_assert_is_free(r);
    }
}
END_TEST
#endif

/* P4: the placeholder bits are VirtualAlloc2's */
START_TEST(virtualalloc_refuses_the_placeholder_bits)
{
    ck_assert_fails_with(VirtualAlloc(NULL, G, PH_TYPE, PAGE_NOACCESS), ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualAllocFromApp(NULL, G, PH_TYPE, PAGE_NOACCESS),
                         ERROR_INVALID_PARAMETER);
    char *p = placeholder(NULL, G);
    ck_assert_fails_with(VirtualAlloc(p, G, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE),
                         ERROR_INVALID_PARAMETER);
    ck_assert_placeholder(p, p, G);
    release(p);
}
END_TEST

/* P6 */
START_TEST(placeholder_is_one_reserved_noaccess_region)
{
    char *r = hm_free_range(8 * G);
    SetLastError(HM_SENTINEL);
    char *p = VirtualAlloc2(NULL, r, 3 * G + P, PH_TYPE, PAGE_NOACCESS, NULL, 0);
    ck_assert_ptr_eq(p, r);
    ck_assert_last_error_untouched();
    ck_assert_placeholder(p, p, 3 * G + P);
    ck_assert_placeholder(p + 2 * G, p, G + P);
    ck_assert_int_eq(hm_probe_read(p), SIGSEGV);
    ck_assert_int_eq(hm_probe_write(p + 3 * G), SIGSEGV);
    release(p);
    ck_assert_is_free(p);
    char *q = VirtualAlloc2(NULL, NULL, G, PH_TYPE | MEM_TOP_DOWN, PAGE_NOACCESS, NULL, 0);
    ck_assert_ptr_nonnull(q);
    ck_assert_placeholder(q, q, G);
    release(q);
    /* With address requirements: placed inside them like any reservation. */
    MEM_ADDRESS_REQUIREMENTS a = {r, r + 8 * G - 1, 4 * G};
    MEM_EXTENDED_PARAMETER e;
    memset(&e, 0, sizeof e);
    e.Type = MemExtendedParameterAddressRequirements;
    e.Pointer = &a;
    q = VirtualAlloc2(NULL, NULL, G, PH_TYPE | MEM_TOP_DOWN, PAGE_NOACCESS, &e, 1);
    ck_assert_ptr_eq(q, (char *)(((uintptr_t)r + 7 * G) & ~(uintptr_t)(4 * G - 1)));
    ck_assert_placeholder(q, q, G);
    release(q);
}
END_TEST

/* P7, P8, P9 */
START_TEST(replace_then_free_back_then_replace_again)
{
    char *p = placeholder(NULL, G);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(replace(p, G, MEM_COMMIT, PAGE_READWRITE), p);
    ck_assert_last_error_untouched();
    ck_assert_region(p, p, p, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert(all_zero(p, G));
    memset(p, 0xcc, G);
    ck_assert_succeeds(VirtualFree(p, G, PRESERVE));
    ck_assert_placeholder(p, p, G);
    ck_assert_int_eq(hm_probe_read(p + P), SIGSEGV);
    ck_assert_ptr_eq(replace(p, G, MEM_COMMIT, PAGE_READONLY), p);
    ck_assert_region(p, p, p, PAGE_READONLY, G, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert(all_zero(p, G)); /* P9: the old contents are gone */
    ck_assert_int_eq(hm_probe_write(p), SIGSEGV);
    ck_assert_succeeds(VirtualFree(p, G, PRESERVE));
    ck_assert_placeholder(p, p, G);
    release(p);
}
END_TEST

/* A replacement may only reserve: it is then an ordinary reservation */
START_TEST(replace_reserving_only_gives_an_ordinary_reservation)
{
    char *p = placeholder(NULL, 2 * G);
    ck_assert_ptr_eq(replace(p, 2 * G, 0, PAGE_READWRITE), p);
    ck_assert_region(p, p, p, PAGE_READWRITE, 2 * G, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_ptr_eq(VirtualAlloc(p + G, P, MEM_COMMIT, PAGE_READWRITE), p + G);
    p[G] = 1;
    ck_assert_region(p + G, p + G, p, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_succeeds(VirtualFree(p, 2 * G, PRESERVE));
    ck_assert_placeholder(p + G, p, G);
    release(p);
}
END_TEST

/* P10 */
START_TEST(placeholder_refuses_reserve_and_commit)
{
    char *p = placeholder(NULL, G);
    ck_assert_fails_with(VirtualAlloc2(NULL, p, G, PH_TYPE, PAGE_NOACCESS, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualAlloc2(NULL, p, G, MEM_RESERVE, PAGE_NOACCESS, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualAlloc2(NULL, p, G, MEM_COMMIT, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualAlloc(p + P, P, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualAlloc(p, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                         ERROR_INVALID_ADDRESS);
    ck_assert_placeholder(p, p, G);
    release(p);
}
END_TEST

/* P11 */
START_TEST(replace_needs_exactly_the_placeholder)
{
    char *r = hm_free_range(4 * G);
    char *p = placeholder(r, G);
    ck_assert_fails_with(replace(p, P, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(replace(p, G - P, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(replace(p, 2 * G, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(replace(p + P, G - P, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    ck_assert_placeholder(p, p, G);
    /* Rounding as in VirtualAlloc: every page touched. */
    ck_assert_ptr_eq(replace(p + 0x10, G - 0x10, MEM_COMMIT, PAGE_READWRITE), p);
    ck_assert_region(p, p, p, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(p);
}
END_TEST

/* P12 */
START_TEST(replace_needs_mem_reserve)
{
    char *p = placeholder(NULL, G);
    ck_assert_fails_with(VirtualAlloc2(NULL, p, G, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualAlloc2(NULL, p, G, MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                       PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    ck_assert_placeholder(p, p, G);
    release(p);
}
END_TEST

#ifndef HM_WINE /* Linux-only: Wine 8 replaces anything; hostmem follows current Wine's checks */
/* Replacing what is not a free placeholder: free memory or NULL → 87, an allocation → 87 */
START_TEST(replace_needs_a_free_placeholder)
{
    char *r = hm_free_range(4 * G);
    ck_assert_fails_with(replace(r, G, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(replace(NULL, G, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    char *a = VirtualAlloc(r, G, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_eq(a, r);
    ck_assert_fails_with(replace(a, G, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER);
    ck_assert_region(a, a, a, PAGE_READWRITE, G, MEM_RESERVE, 0, MEM_PRIVATE);
    release(a);
    char *p = placeholder(r, G);
    ck_assert_ptr_eq(replace(p, G, MEM_COMMIT, PAGE_READWRITE), p);
    ck_assert_fails_with(replace(p, G, MEM_COMMIT, PAGE_READONLY), ERROR_INVALID_PARAMETER);
    ck_assert_region(p, p, p, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(p);
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                       PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_PARAMETER);
}
END_TEST
#endif

/* P13 */
START_TEST(preserve_refuses_ordinary_allocations)
{
    char *a = VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    a[5] = 5;
    ck_assert_fails_with(VirtualFree(a, G, PRESERVE), ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualFree(a, P, PRESERVE), ERROR_INVALID_ADDRESS);
    ck_assert_region(a, a, a, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_int_eq(a[5], 5);
    release(a);
}
END_TEST

/* P14 */
START_TEST(preserve_refuses_a_whole_placeholder)
{
    char *p = placeholder(NULL, G);
    ck_assert_fails_with(VirtualFree(p, G, PRESERVE), ERROR_INVALID_ADDRESS);
    ck_assert_placeholder(p, p, G);
    release(p);
}
END_TEST

/* P15, P18, P19, and the flag rules of memoryapi §5.6 */
START_TEST(placeholder_frees_need_release_and_a_size)
{
    char *p = placeholder(NULL, G);
    ck_assert_fails_with(VirtualFree(p, 0, PRESERVE), ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualFree(p, 0, COALESCE), ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualFree(p, G, MEM_COALESCE_PLACEHOLDERS), ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualFree(p, P, MEM_PRESERVE_PLACEHOLDER), ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualFree(p, P, PRESERVE | MEM_COALESCE_PLACEHOLDERS),
                         ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualFree(p, P, MEM_DECOMMIT | MEM_PRESERVE_PLACEHOLDER),
                         ERROR_INVALID_PARAMETER);
    ck_assert_placeholder(p, p, G);
    release(p);
}
END_TEST

/* P16: split in three; each piece is an allocation of its own */
START_TEST(split_in_three_gives_three_allocations)
{
    char *r = hm_free_range(4 * G);
    char *p = placeholder(r, G);
    char *p1 = p + G / 2, *p2 = p1 + G / 4;
    ck_assert_succeeds(VirtualFree(p1, G / 4, PRESERVE));
    ck_assert_placeholder(p, p, G / 2);
    ck_assert_placeholder(p + P, p, G / 2 - P);
    ck_assert_placeholder(p1, p1, G / 4);
    ck_assert_placeholder(p2, p2, G / 4);
    ck_assert_placeholder(p2 + G / 4 - P, p2, P);
    /* Each is released alone, by its own base. */
    ck_assert_fails_with(VirtualFree(p2 + P, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS);
    release(p1);
    ck_assert_free_region(p1, p1, G / 4);
    ck_assert_placeholder(p, p, G / 2);
    ck_assert_placeholder(p2, p2, G / 4);
    /* The hole is free memory: nothing to commit there. */
    ck_assert_fails_with(VirtualAlloc(p1, P, MEM_COMMIT, PAGE_READWRITE), ERROR_INVALID_ADDRESS);
    release(p);
    release(p2);
    ck_assert_is_free(p);
}
END_TEST

/* P17 */
START_TEST(split_the_lower_or_the_upper_part)
{
    char *p = placeholder(NULL, G);
    ck_assert_succeeds(VirtualFree(p, G / 4, PRESERVE));
    ck_assert_placeholder(p, p, G / 4);
    ck_assert_placeholder(p + G / 4, p + G / 4, 3 * G / 4);
    ck_assert_succeeds(VirtualFree(p + G / 2, G / 2, PRESERVE));
    ck_assert_placeholder(p + G / 4, p + G / 4, G / 4);
    ck_assert_placeholder(p + G / 2, p + G / 2, G / 2);
    release(p);
    release(p + G / 4);
    release(p + G / 2);
}
END_TEST

/* Pieces may start on any page; the range is every page touched */
START_TEST(split_on_any_page_and_round_to_pages)
{
    char *p = placeholder(NULL, G);
    ck_assert_succeeds(VirtualFree(p + 3 * P + 0x123, P + 0x10, PRESERVE));
    ck_assert_placeholder(p, p, 3 * P);
    ck_assert_placeholder(p + 3 * P, p + 3 * P, 2 * P);
    ck_assert_placeholder(p + 5 * P, p + 5 * P, G - 5 * P);
    ck_assert_ptr_eq(replace(p + 3 * P, 2 * P, MEM_COMMIT, PAGE_READWRITE), p + 3 * P);
    p[3 * P] = 1;
    p[5 * P - 1] = 2;
    ck_assert_region(p + 3 * P, p + 3 * P, p + 3 * P, PAGE_READWRITE, 2 * P, MEM_COMMIT,
                     PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_int_eq(hm_probe_read(p + 5 * P), SIGSEGV);
    release(p);
    release(p + 3 * P);
    release(p + 5 * P);
}
END_TEST

/* The range must stay inside one placeholder (STATUS_UNABLE_TO_FREE_VM) */
START_TEST(split_past_the_end_is_invalid)
{
    char *p = placeholder(NULL, G);
    ck_assert_fails_with(VirtualFree(p + G - P, 2 * P, PRESERVE), ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualFree(p + G / 2, G, PRESERVE), ERROR_INVALID_PARAMETER);
    ck_assert_placeholder(p, p, G);
    release(p);
}
END_TEST

/* Free memory: STATUS_MEMORY_NOT_ALLOCATED */
START_TEST(placeholder_frees_of_free_memory_fail)
{
    char *r = hm_free_range(4 * G);
    ck_assert_fails_with(VirtualFree(r, G, PRESERVE), ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualFree(r, G, COALESCE), ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualFree(NULL, G, PRESERVE), ERROR_INVALID_ADDRESS);
}
END_TEST

/* P20 */
START_TEST(coalesce_needs_exactly_adjacent_placeholders)
{
    char *r = hm_free_range(4 * G);
    char *p = placeholder(r, G);
    ck_assert_succeeds(VirtualFree(p, G / 4, PRESERVE));
    ck_assert_succeeds(VirtualFree(p + G / 4, G / 4, PRESERVE));
    ck_assert_fails_with(VirtualFree(p, G / 4, COALESCE), ERROR_INVALID_ADDRESS); /* one alone */
    ck_assert_fails_with(VirtualFree(p, G + P, COALESCE), ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualFree(p, G - P, COALESCE), ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualFree(p + P, G - P, COALESCE), ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualFree(p, 2 * G, COALESCE), ERROR_INVALID_ADDRESS);
    ck_assert_placeholder(p, p, G / 4);
    ck_assert_placeholder(p + G / 4, p + G / 4, G / 4);
    ck_assert_placeholder(p + G / 2, p + G / 2, G / 2);
    /* P22 */
    ck_assert_succeeds(VirtualFree(p, G, COALESCE));
    ck_assert_placeholder(p, p, G);
    ck_assert_placeholder(p + 3 * G / 4, p, G / 4);
    release(p);
    ck_assert_is_free(p);
}
END_TEST

/* P22 on part of a run, and with page-sized pieces */
START_TEST(coalesce_some_of_a_run)
{
    char *p = placeholder(NULL, G);
    for (int i = 1; i < 15; i++) /* the last split leaves page 15 alone */
        ck_assert_succeeds(VirtualFree(p + (size_t)i * P, P, PRESERVE));
    ck_assert_placeholder(p + 15 * P, p + 15 * P, P);
    ck_assert_placeholder(p + 7 * P, p + 7 * P, P);
    ck_assert_succeeds(VirtualFree(p + 4 * P, 8 * P, COALESCE));
    ck_assert_placeholder(p + 3 * P, p + 3 * P, P);
    ck_assert_placeholder(p + 4 * P, p + 4 * P, 8 * P);
    ck_assert_placeholder(p + 11 * P, p + 4 * P, P);
    ck_assert_placeholder(p + 12 * P, p + 12 * P, P);
    ck_assert_succeeds(VirtualFree(p, G, COALESCE));
    ck_assert_placeholder(p, p, G);
    release(p);
}
END_TEST

/* P23: a replaced neighbour, then a hole, stop a coalesce */
START_TEST(coalesce_refuses_replaced_neighbours_and_holes)
{
    char *p = placeholder(NULL, G);
    ck_assert_succeeds(VirtualFree(p, G / 4, PRESERVE));
    char *p2 = p + G / 4;
    ck_assert_ptr_eq(replace(p2, 3 * G / 4, 0, PAGE_READWRITE), p2);
    ck_assert_region(p2, p2, p2, PAGE_READWRITE, 3 * G / 4, MEM_RESERVE, 0, MEM_PRIVATE);
    ck_assert_fails_with(VirtualFree(p, G, COALESCE), ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualFree(p2, 3 * G / 4, COALESCE), ERROR_INVALID_ADDRESS);
    release(p2);
    ck_assert_fails_with(VirtualFree(p, G, COALESCE), ERROR_INVALID_ADDRESS);
    ck_assert_placeholder(p, p, G / 4);
    release(p);
}
END_TEST

#ifndef HM_WINE /* Linux-only: Wine's behaviour, Windows unverified (docs/semantics-decisions.md) */
/* Part of a replaced allocation goes back to a placeholder; the rest stays allocated, each
 * piece an allocation of its own, contents kept */
START_TEST(preserve_part_of_a_replaced_allocation)
{
    char *p = placeholder(NULL, 16 * P);
    ck_assert_ptr_eq(replace(p, 16 * P, MEM_COMMIT, PAGE_READWRITE), p);
    for (int i = 0; i < 16; i++)
        p[(size_t)i * P] = (char)(i + 1);
    DWORD old;
    ck_assert(VirtualProtect(p + 12 * P, P, PAGE_READONLY, &old));
    hm_stats_t st0 = hm_stats_now();
    ck_assert_succeeds(VirtualFree(p + 4 * P, 4 * P, PRESERVE));
    hm_stats_t st1 = hm_stats_now();
    ck_assert_uint_eq(st1.reservations, st0.reservations + 2);
    ck_assert_uint_eq(st1.committed_bytes, st0.committed_bytes - 4 * P);
    ck_assert_uint_eq(st1.reserved_bytes, st0.reserved_bytes);
    ck_assert_region(p, p, p, PAGE_READWRITE, 4 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_placeholder(p + 4 * P, p + 4 * P, 4 * P);
    char *q = p + 8 * P;
    ck_assert_region(q, q, q, PAGE_READWRITE, 4 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(q + 4 * P, q + 4 * P, q, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY,
                     MEM_PRIVATE);
    ck_assert_region(q + 5 * P, q + 5 * P, q, PAGE_READWRITE, 3 * P, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    for (int i = 0; i < 16; i++)
        if (i < 4 || i >= 8)
            ck_assert_int_eq(p[(size_t)i * P], i + 1);
    ck_assert_int_eq(hm_probe_read(p + 5 * P), SIGSEGV);
    /* The middle is a placeholder again, the other two free back to placeholders too. */
    ck_assert_ptr_eq(replace(p + 4 * P, 4 * P, MEM_COMMIT, PAGE_READWRITE), p + 4 * P);
    ck_assert(all_zero(p + 4 * P, 4 * P));
    ck_assert_succeeds(VirtualFree(p + 4 * P, 4 * P, PRESERVE));
    ck_assert_succeeds(VirtualFree(p, 4 * P, PRESERVE));
    ck_assert_succeeds(VirtualFree(q, 8 * P, PRESERVE));
    ck_assert_succeeds(VirtualFree(p, 16 * P, COALESCE));
    ck_assert_placeholder(p, p, 16 * P);
    hm_stats_t st2 = hm_stats_now();
    ck_assert_uint_eq(st2.reservations, st0.reservations);
    ck_assert_uint_eq(st2.committed_bytes, st0.committed_bytes - 16 * P);
    release(p);
}
END_TEST

/* Statistics stay exact: each piece is a reservation; bytes do not change */
START_TEST(statistics_follow_splits_and_coalesces)
{
    hm_stats_t st0 = hm_stats_now();
    char *p = placeholder(NULL, 4 * G);
    hm_stats_t st1 = hm_stats_now();
    ck_assert_uint_eq(st1.reservations, st0.reservations + 1);
    ck_assert_uint_eq(st1.reserved_bytes, st0.reserved_bytes + 4 * G);
    ck_assert_uint_eq(st1.committed_bytes, st0.committed_bytes);
    ck_assert_succeeds(VirtualFree(p + G, G, PRESERVE));
    ck_assert_succeeds(VirtualFree(p + 3 * G, P, PRESERVE));
    hm_stats_t st2 = hm_stats_now();
    ck_assert_uint_eq(st2.reservations, st0.reservations + 5);
    ck_assert_uint_eq(st2.reserved_bytes, st1.reserved_bytes);
    ck_assert_ptr_eq(replace(p + G, G, MEM_COMMIT, PAGE_READWRITE), p + G);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, st0.committed_bytes + G);
    ck_assert_succeeds(VirtualFree(p + G, G, PRESERVE));
    ck_assert_uint_eq(hm_stats_now().committed_bytes, st0.committed_bytes);
    ck_assert_succeeds(VirtualFree(p, 4 * G, COALESCE));
    hm_stats_t st3 = hm_stats_now();
    ck_assert_uint_eq(st3.reservations, st1.reservations);
    ck_assert_uint_eq(st3.reserved_bytes, st1.reserved_bytes);
    release(p);
    hm_stats_t st4 = hm_stats_now();
    ck_assert_uint_eq(st4.reservations, st0.reservations);
    ck_assert_uint_eq(st4.reserved_bytes, st0.reserved_bytes);
}
END_TEST

/* A replacement that commits is charged like any commit */
START_TEST(replace_over_the_commit_limit_fails_and_keeps_the_placeholder)
{
    char *p = placeholder(NULL, 16 * G);
    uint64_t limit = hm_commit_limit();
    hm_set_commit_limit(hm_stats_now().committed_bytes + 8 * G);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(replace(p, 16 * G, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_COMMITMENT_LIMIT);
    ck_assert_placeholder(p, p, 16 * G);
    hm_set_commit_limit(limit);
    release(p);
}
END_TEST

/* Locked pages of a replaced allocation are unlocked when it goes back */
START_TEST(preserve_drops_locks)
{
    char *p = placeholder(NULL, 8 * P);
    ck_assert_ptr_eq(replace(p, 8 * P, MEM_COMMIT, PAGE_READWRITE), p);
    uint64_t locked0 = hm_stats_now().locked_bytes;
    ck_assert(VirtualLock(p, 8 * P));
    ck_assert_uint_eq(hm_stats_now().locked_bytes, locked0 + 8 * P);
    ck_assert_succeeds(VirtualFree(p + 6 * P, 2 * P, PRESERVE));
    ck_assert_uint_eq(hm_stats_now().locked_bytes, locked0 + 6 * P);
    ck_assert_succeeds(VirtualFree(p, 6 * P, PRESERVE));
    ck_assert_uint_eq(hm_stats_now().locked_bytes, locked0);
    ck_assert_fails_with(VirtualUnlock(p, P), ERROR_NOT_LOCKED);
    release(p);
    release(p + 6 * P);
}
END_TEST

/* Owners (hosted runtimes): pieces keep the owner; an owner's placeholders never merge
 * with another's; acting for one owner, another's placeholder is out of reach. */
typedef struct acct {
    hm_vm_account_t a;
    uint64_t charged;
} acct_t;

static int acct_charge(hm_vm_account_t *a, uint64_t bytes)
{
    ((acct_t *)a)->charged += bytes;
    return 0;
}

static void acct_uncharge(hm_vm_account_t *a, uint64_t bytes)
{
    ((acct_t *)a)->charged -= bytes;
}

START_TEST(pieces_keep_their_owner)
{
    acct_t x = {{acct_charge, acct_uncharge, "x"}, 0}, y = {{acct_charge, acct_uncharge, "y"}, 0};
    char *r = hm_free_range(4 * G);
    hm_vm_set_acting(&x.a);
    char *p = placeholder(r, G);
    hm_vm_set_acting(&y.a);
    char *q = placeholder(r + G, G);
    ck_assert_fails_with(VirtualFree(p, P, PRESERVE), ERROR_ACCESS_DENIED); /* x's */
    ck_assert_fails_with(replace(p, G, MEM_COMMIT, PAGE_READWRITE), ERROR_ACCESS_DENIED);
    hm_vm_set_acting(&x.a);
    ck_assert_succeeds(VirtualFree(p + G / 2, G / 2, PRESERVE));
    ck_assert_ptr_eq(replace(p + G / 2, G / 2, MEM_COMMIT, PAGE_READWRITE), p + G / 2);
    ck_assert_uint_eq(x.charged, G / 2);
    ck_assert_uint_eq(y.charged, 0);
    ck_assert_fails_with(VirtualFree(p + G / 2, G + G / 2, COALESCE), ERROR_INVALID_ADDRESS);
    ck_assert_succeeds(VirtualFree(p + G / 2, G / 2, PRESERVE));
    ck_assert_uint_eq(x.charged, 0);
    /* x's two pieces and y's neighbour: x may not reach y's */
    ck_assert_fails_with(VirtualFree(p, 2 * G, COALESCE), ERROR_ACCESS_DENIED);
    /* the process (no acting owner) may, but owners differ: no merge */
    hm_vm_set_acting(NULL);
    ck_assert_fails_with(VirtualFree(p, 2 * G, COALESCE), ERROR_INVALID_ADDRESS);
    ck_assert_succeeds(VirtualFree(p, G, COALESCE));
    ck_assert_uint_eq(hm_vm_release_account(&x.a), 1);
    ck_assert_uint_eq(hm_vm_release_account(&y.a), 1);
    ck_assert_is_free(r);
    ck_assert_is_free(r + G);
}
END_TEST
#endif

/* W28: a placeholder replaced with MEM_WRITE_WATCH is watched; freed back whole, the
 * watch goes with it (a fresh replacement starts clean) */
START_TEST(replace_with_write_watch)
{
    char *p = placeholder(NULL, G);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc2(NULL, p, G, MEM_WRITE_WATCH | MEM_RESERVE | MEM_REPLACE_PLACEHOLDER,
                                   PAGE_READONLY, NULL, 0),
                     p);
    ck_assert_ptr_eq(VirtualAlloc2(NULL, p, G, MEM_COMMIT, PAGE_READWRITE, NULL, 0), p);
    ck_assert_last_error_untouched();
    ck_assert_region(p, p, p, PAGE_READONLY, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    void *addrs[16];
    ULONG_PTR count = 16;
    DWORD gran;
    ck_assert_uint_eq(GetWriteWatch(WRITE_WATCH_FLAG_RESET, p, G, addrs, &count, &gran), 0);
    ck_assert_uint_eq(count, 0);
    p[0x1000] = 1;
    count = 16;
    ck_assert_uint_eq(GetWriteWatch(WRITE_WATCH_FLAG_RESET, p, G, addrs, &count, &gran), 0);
    ck_assert_uint_eq(count, 1);
    ck_assert_ptr_eq(addrs[0], p + 0x1000);
    p[0x3000] = 1;
    ck_assert_succeeds(VirtualFree(p, G, PRESERVE));
    ck_assert_placeholder(p, p, G);
    count = 16;
    SetLastError(HM_SENTINEL);
    ck_assert_uint_ne(GetWriteWatch(0, p, G, addrs, &count, &gran), 0);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_ptr_eq(VirtualAlloc2(NULL, p, G,
                                   MEM_WRITE_WATCH | MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                   PAGE_READWRITE, NULL, 0),
                     p);
    count = 16;
    ck_assert_uint_eq(GetWriteWatch(0, p, G, addrs, &count, &gran), 0);
    ck_assert_uint_eq(count, 0);
    ck_assert(all_zero(p, G));
    p[0x2000] = 1;
    count = 16;
    ck_assert_uint_eq(GetWriteWatch(0, p, G, addrs, &count, &gran), 0);
    ck_assert_uint_eq(count, 1);
    ck_assert_ptr_eq(addrs[0], p + 0x2000);
    release(p);
}
END_TEST

#ifndef HM_WINE /* Linux-only: hostmem's limit (docs/semantics-decisions.md) */
START_TEST(watched_replacement_is_freed_back_whole_only)
{
    char *p = placeholder(NULL, G);
    ck_assert_ptr_eq(VirtualAlloc2(NULL, p, G,
                                   MEM_WRITE_WATCH | MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                                   PAGE_READWRITE, NULL, 0),
                     p);
    p[5] = 5;
    ck_assert_fails_with(VirtualFree(p + P, P, PRESERVE), ERROR_INVALID_ADDRESS);
    ck_assert_region(p, p, p, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_int_eq(p[5], 5);
    ck_assert_succeeds(VirtualFree(p, G, PRESERVE));
    ck_assert_placeholder(p, p, G);
    release(p);
}
END_TEST
#endif

#ifndef HM_WINE /* Linux-only: hostmem's introspection (hm_walk_regions) */
typedef struct seen {
    char *at;
    uint32_t flags;
    bool found;
} seen_t;

static int find_region(const hm_region_t *r, void *ctx)
{
    seen_t *s = ctx;
    if ((char *)r->base != s->at)
        return 0;
    s->flags = r->flags;
    s->found = true;
    return 1;
}

static uint32_t region_flags(char *at)
{
    seen_t s = {at, 0, false};
    ck_assert_uint_eq(hm_walk_regions(0, find_region, &s), 0);
    ck_assert(s.found);
    return s.flags;
}

/* hm_walk_regions tells placeholders from the allocations that replaced them */
START_TEST(introspection_marks_placeholders)
{
    char *p = placeholder(NULL, G);
    ck_assert_succeeds(VirtualFree(p + G / 2, G / 2, PRESERVE));
    ck_assert_ptr_eq(replace(p + G / 2, G / 2, MEM_COMMIT, PAGE_READWRITE), p + G / 2);
    ck_assert_uint_eq(region_flags(p), HM_REGION_HOSTMEM | HM_REGION_PLACEHOLDER);
    ck_assert_uint_eq(region_flags(p + G / 2), HM_REGION_HOSTMEM);
    release(p);
    release(p + G / 2);
}
END_TEST
#endif

/* What the other calls do on a placeholder: it is reserved memory that nothing may
 * commit (decisions: decommit and MEM_RESET succeed, as in Wine) */
START_TEST(other_calls_on_a_placeholder)
{
    char *p = placeholder(NULL, G);
    DWORD old = 0x1234;
    ck_assert_fails_with(VirtualProtect(p, P, PAGE_READWRITE, &old), ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert_fails_with(VirtualLock(p, P), ERROR_INVALID_ADDRESS);
    ck_assert_succeeds(VirtualFree(p, P, MEM_DECOMMIT));
    ck_assert_succeeds(VirtualFree(p, 0, MEM_DECOMMIT));
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc(p + P, P, MEM_RESET, PAGE_NOACCESS), p + P);
    ck_assert_last_error_untouched();
    ck_assert_placeholder(p, p, G);
    ck_assert_succeeds(VirtualFree(p, G / 2, PRESERVE));
    ck_assert_placeholder(p, p, G / 2);
    release(p);
    release(p + G / 2);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("placeholders");
    hm_add(s, tcase_create("ph_reserve_placeholder_needs_noaccess_and_reserve_alone"), reserve_placeholder_needs_noaccess_and_reserve_alone);
    HM_LINUX_ONLY(hm_add(s, tcase_create("ph_reserve_placeholder_refuses_other_kinds"), reserve_placeholder_refuses_other_kinds));
    hm_add(s, tcase_create("ph_virtualalloc_refuses_the_placeholder_bits"), virtualalloc_refuses_the_placeholder_bits);
    hm_add(s, tcase_create("ph_placeholder_is_one_reserved_noaccess_region"), placeholder_is_one_reserved_noaccess_region);
    hm_add(s, tcase_create("ph_replace_then_free_back_then_replace_again"), replace_then_free_back_then_replace_again);
    hm_add(s, tcase_create("ph_replace_reserving_only_gives_an_ordinary_reservation"), replace_reserving_only_gives_an_ordinary_reservation);
    hm_add(s, tcase_create("ph_placeholder_refuses_reserve_and_commit"), placeholder_refuses_reserve_and_commit);
    hm_add(s, tcase_create("ph_replace_needs_exactly_the_placeholder"), replace_needs_exactly_the_placeholder);
    hm_add(s, tcase_create("ph_replace_needs_mem_reserve"), replace_needs_mem_reserve);
    HM_LINUX_ONLY(hm_add(s, tcase_create("ph_replace_needs_a_free_placeholder"), replace_needs_a_free_placeholder));
    hm_add(s, tcase_create("ph_preserve_refuses_ordinary_allocations"), preserve_refuses_ordinary_allocations);
    hm_add(s, tcase_create("ph_preserve_refuses_a_whole_placeholder"), preserve_refuses_a_whole_placeholder);
    hm_add(s, tcase_create("ph_placeholder_frees_need_release_and_a_size"), placeholder_frees_need_release_and_a_size);
    hm_add(s, tcase_create("ph_split_in_three_gives_three_allocations"), split_in_three_gives_three_allocations);
    hm_add(s, tcase_create("ph_split_the_lower_or_the_upper_part"), split_the_lower_or_the_upper_part);
    hm_add(s, tcase_create("ph_split_on_any_page_and_round_to_pages"), split_on_any_page_and_round_to_pages);
    hm_add(s, tcase_create("ph_split_past_the_end_is_invalid"), split_past_the_end_is_invalid);
    hm_add(s, tcase_create("ph_placeholder_frees_of_free_memory_fail"), placeholder_frees_of_free_memory_fail);
    hm_add(s, tcase_create("ph_coalesce_needs_exactly_adjacent_placeholders"), coalesce_needs_exactly_adjacent_placeholders);
    hm_add(s, tcase_create("ph_coalesce_some_of_a_run"), coalesce_some_of_a_run);
    hm_add(s, tcase_create("ph_coalesce_refuses_replaced_neighbours_and_holes"), coalesce_refuses_replaced_neighbours_and_holes);
    HM_LINUX_ONLY(hm_add(s, tcase_create("ph_preserve_part_of_a_replaced_allocation"), preserve_part_of_a_replaced_allocation));
    HM_LINUX_ONLY(hm_add(s, tcase_create("ph_statistics_follow_splits_and_coalesces"), statistics_follow_splits_and_coalesces));
    HM_LINUX_ONLY(hm_add(s, tcase_create("ph_replace_over_the_commit_limit_fails_and_keeps_the_placeholder"), replace_over_the_commit_limit_fails_and_keeps_the_placeholder));
    HM_LINUX_ONLY(hm_add(s, tcase_create("ph_preserve_drops_locks"), preserve_drops_locks));
    HM_LINUX_ONLY(hm_add(s, tcase_create("ph_pieces_keep_their_owner"), pieces_keep_their_owner));
    hm_add(s, tcase_create("ph_replace_with_write_watch"), replace_with_write_watch);
    HM_LINUX_ONLY(hm_add(s, tcase_create("ph_watched_replacement_is_freed_back_whole_only"), watched_replacement_is_freed_back_whole_only));
    HM_LINUX_ONLY(hm_add(s, tcase_create("ph_introspection_marks_placeholders"), introspection_marks_placeholders));
    hm_add(s, tcase_create("ph_other_calls_on_a_placeholder"), other_calls_on_a_placeholder);
    return s;
}

HM_TEST_MAIN(make_suite)
