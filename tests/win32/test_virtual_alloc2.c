/*
 * test_virtual_alloc2.c — VirtualAlloc2 / VirtualAlloc2FromApp without placeholders: the
 * process handle, the extended parameters (address requirements, NUMA node, attribute
 * flags, handles), the order of the checks, and VirtualAlloc's behaviour through them.
 * Rows: windows-behaviour.md §1.10 (P1–P3, P30), §1.11 (M1–M13), §1.12 (X3); memoryapi.md
 * §2.4, §4.4, §4.5, §5.5. Placeholders: test_placeholders.c.
 */
#include <string.h>

#include "testlib.h"

#define HIGH_512M ((void *)(uintptr_t)0x20000FFF) /* "below 0x20001000" (M4, M6) */

static MEM_EXTENDED_PARAMETER param(MEM_EXTENDED_PARAMETER_TYPE type)
{
    MEM_EXTENDED_PARAMETER p;
    memset(&p, 0, sizeof p);
    p.Type = (DWORD64)type;
    return p;
}

static MEM_EXTENDED_PARAMETER requirements(MEM_ADDRESS_REQUIREMENTS *a)
{
    MEM_EXTENDED_PARAMETER p = param(MemExtendedParameterAddressRequirements);
    p.Pointer = a;
    return p;
}

/* VirtualAlloc2 of a reservation within [lo, hi] aligned to align (0s: none). */
static void *reserve_in(void *lo, void *hi, SIZE_T align, SIZE_T size, ULONG type)
{
    MEM_ADDRESS_REQUIREMENTS a = {lo, hi, align};
    MEM_EXTENDED_PARAMETER p = requirements(&a);
    return VirtualAlloc2(NULL, NULL, size, type, PAGE_READWRITE, &p, 1);
}

static void release(void *p)
{
    ck_assert_msg(VirtualFree(p, 0, MEM_RELEASE), "release %p: %u", p, GetLastError());
}

/* The call failed with `error`. */
#define ck_assert_fails_with(call, error)                                                  \
    do {                                                                                   \
        SetLastError(HM_SENTINEL);                                                         \
        ck_assert_ptr_null(call);                                                          \
        ck_assert_last_error(error);                                                       \
    } while (0)

/* P1 */
START_TEST(commit_without_reserve_reserves_and_commits)
{
    SetLastError(HM_SENTINEL);
    char *p = VirtualAlloc2(NULL, NULL, 0x80000, MEM_COMMIT, PAGE_EXECUTE_READWRITE, NULL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq((uintptr_t)p % G, 0);
    ck_assert_region(p, p, p, PAGE_EXECUTE_READWRITE, 0x80000, MEM_COMMIT,
                     PAGE_EXECUTE_READWRITE, MEM_PRIVATE);
    p[0x7FFFF] = 1;
    release(p);
}
END_TEST

/* memoryapi §5.5: NULL is the current process; hostmem acts on its own process only */
START_TEST(process_is_null_or_the_current_process)
{
    SetLastError(HM_SENTINEL);
    char *p = VirtualAlloc2(GetCurrentProcess(), NULL, G, MEM_RESERVE, PAGE_READWRITE, NULL, 0);
    ck_assert_ptr_nonnull(p);
    char *q = VirtualAlloc2FromApp(NULL, NULL, G, MEM_RESERVE, PAGE_READWRITE, NULL, 0);
    ck_assert_ptr_nonnull(q);
    ck_assert_last_error_untouched();
    release(p);
    release(q);
}
END_TEST

#ifndef HM_WINE /* Linux-only: Wine's kernelbase sends other handles to its server */
START_TEST(other_process_handles_fail_with_invalid_handle)
{
    static const uintptr_t handles[] = {0x4, 0x1234, (uintptr_t)-2};
    hm_stats_t before = hm_stats_now();
    for (size_t i = 0; i < sizeof handles / sizeof handles[0]; i++) {
        ck_assert_fails_with(VirtualAlloc2((HANDLE)handles[i], NULL, G, MEM_RESERVE,
                                           PAGE_READWRITE, NULL, 0),
                             ERROR_INVALID_HANDLE);
        ck_assert_fails_with(VirtualAlloc2FromApp((HANDLE)handles[i], NULL, G, MEM_RESERVE,
                                                  PAGE_READWRITE, NULL, 0),
                             ERROR_INVALID_HANDLE);
    }
    hm_stats_t after = hm_stats_now();
    ck_assert_uint_eq(after.reservations, before.reservations);
}
END_TEST
#endif

/* P2 */
START_TEST(count_without_parameters_is_invalid)
{
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, P, MEM_RESERVE | MEM_COMMIT,
                                       PAGE_EXECUTE_READWRITE, NULL, 1),
                         ERROR_INVALID_PARAMETER);
}
END_TEST

/* M1 */
START_TEST(parameter_type_must_be_known)
{
    static const unsigned types[] = {MemExtendedParameterInvalidType, MemExtendedParameterMax,
                                     200, 255};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        MEM_EXTENDED_PARAMETER p = param(MemExtendedParameterInvalidType);
        p.Type = types[i];
        ck_assert_fails_with(VirtualAlloc2(NULL, NULL, P, MEM_RESERVE | MEM_COMMIT,
                                           PAGE_EXECUTE_READWRITE, &p, 1),
                             ERROR_INVALID_PARAMETER);
    }
}
END_TEST

#ifndef HM_WINE /* Linux-only: hostmem's decision (docs/semantics-decisions.md); Wine ignores them */
START_TEST(reserved_bits_must_be_zero)
{
    MEM_ADDRESS_REQUIREMENTS a = {0};
    MEM_EXTENDED_PARAMETER p = requirements(&a);
    p.Reserved = 1;
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, P, MEM_RESERVE, PAGE_READWRITE, &p, 1),
                         ERROR_INVALID_PARAMETER);
}
END_TEST
#endif

/* M3, P30 */
START_TEST(each_parameter_type_at_most_once)
{
    MEM_ADDRESS_REQUIREMENTS a = {0};
    MEM_EXTENDED_PARAMETER two[2] = {requirements(&a), requirements(&a)};
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, P, MEM_RESERVE | MEM_COMMIT,
                                       PAGE_EXECUTE_READWRITE, two, 2),
                         ERROR_INVALID_PARAMETER);
    two[0] = two[1] = param(MemExtendedParameterAttributeFlags);
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, PAGE_EXECUTE_READWRITE, two, 2),
                         ERROR_INVALID_PARAMETER);
    /* One of each is fine. */
    two[0] = requirements(&a);
    SetLastError(HM_SENTINEL);
    void *p = VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, PAGE_EXECUTE_READWRITE, two, 2);
    ck_assert_ptr_nonnull(p);
    ck_assert_last_error_untouched();
    release(p);
}
END_TEST

/* M2: all-zero requirements constrain nothing, with or without an address */
START_TEST(all_zero_requirements_are_no_constraint)
{
    MEM_ADDRESS_REQUIREMENTS a = {0};
    MEM_EXTENDED_PARAMETER p = requirements(&a);
    SetLastError(HM_SENTINEL);
    char *b = VirtualAlloc2(NULL, NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_EXECUTE_READWRITE, &p, 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_region(b, b, b, PAGE_EXECUTE_READWRITE, P, MEM_COMMIT, PAGE_EXECUTE_READWRITE,
                     MEM_PRIVATE);
    ck_assert_ptr_eq(VirtualAlloc2(NULL, b + P, P, MEM_COMMIT, PAGE_READWRITE, &p, 1), NULL);
    ck_assert_last_error(ERROR_INVALID_ADDRESS); /* past the reservation: no constraint error */
    release(b);
    char *at = hm_free_range(4 * G);
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_eq(VirtualAlloc2(NULL, at, G, MEM_RESERVE, PAGE_READWRITE, &p, 1), at);
    ck_assert_last_error_untouched();
    release(at);
}
END_TEST

/* M4 */
START_TEST(highest_plus_one_must_be_page_aligned)
{
    static const uintptr_t highs[] = {0x20001001, 0x20000FFE, 0x200007FF, 0x20001000};
    for (size_t i = 0; i < sizeof highs / sizeof highs[0]; i++)
        ck_assert_fails_with(reserve_in(NULL, (void *)highs[i], 0, G, MEM_RESERVE),
                             ERROR_INVALID_PARAMETER);
}
END_TEST

/* M5 */
START_TEST(highest_may_not_pass_the_top_of_user_space)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    char *max = si.lpMaximumApplicationAddress;
    ck_assert_fails_with(reserve_in(NULL, max + 0x1000, 0, G, MEM_RESERVE),
                         ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    void *p = reserve_in(NULL, max, 0, G, MEM_RESERVE);
    ck_assert_ptr_nonnull(p);
    ck_assert_last_error_untouched();
    release(p);
}
END_TEST

/* M6 */
START_TEST(highest_bounds_the_whole_allocation)
{
    SetLastError(HM_SENTINEL);
    char *p = reserve_in(NULL, HIGH_512M, 0, 0x40000, MEM_RESERVE);
    ck_assert_ptr_nonnull(p);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq((uintptr_t)p % G, 0);
    ck_assert_uint_le((uintptr_t)p + 0x40000, 0x20001000);
    ck_assert_region(p, p, p, PAGE_READWRITE, 0x40000, MEM_RESERVE, 0, MEM_PRIVATE);
    release(p);
}
END_TEST

/* M7: requirements are for new allocations placed by the system */
START_TEST(requirements_with_an_address_are_invalid)
{
    char *p = reserve_in(NULL, HIGH_512M, 0, 0x40000, MEM_RESERVE);
    ck_assert_ptr_nonnull(p);
    MEM_ADDRESS_REQUIREMENTS a = {NULL, HIGH_512M, 0};
    MEM_EXTENDED_PARAMETER e = requirements(&a);
    ck_assert_fails_with(VirtualAlloc2(NULL, p, 0x40000, MEM_COMMIT, PAGE_READWRITE, &e, 1),
                         ERROR_INVALID_PARAMETER);
    ck_assert_region(p, p, p, PAGE_READWRITE, 0x40000, MEM_RESERVE, 0, MEM_PRIVATE);
    release(p);
    ck_assert_fails_with(VirtualAlloc2(NULL, p, 0x40000, MEM_RESERVE, PAGE_READWRITE, &e, 1),
                         ERROR_INVALID_PARAMETER);
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQuery(p, &m, sizeof m), sizeof m);
    ck_assert_uint_eq(m.State, MEM_FREE);
}
END_TEST

/* M8 */
START_TEST(alignment_that_cannot_fit_is_out_of_memory)
{
    SetLastError(HM_SENTINEL);
    char *p = reserve_in(NULL, HIGH_512M, 0x10000, P, MEM_RESERVE);
    ck_assert_ptr_nonnull(p);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq((uintptr_t)p % 0x10000, 0);
    ck_assert_uint_lt((uintptr_t)p + P, 0x20001000);
    release(p);
    ck_assert_fails_with(reserve_in(NULL, HIGH_512M, 0x20000000, 2 * P, MEM_RESERVE),
                         ERROR_NOT_ENOUGH_MEMORY);
}
END_TEST

/* M9 */
START_TEST(alignment_is_a_power_of_two_of_at_least_64k)
{
    static const SIZE_T bad[] = {0x8000, 0x30000, 0x1000, 1, 0x10001};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_fails_with(reserve_in(NULL, NULL, bad[i], P, MEM_RESERVE), ERROR_INVALID_PARAMETER);
    static const SIZE_T good[] = {0x40000, 0x200000, 0x40000000};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        SetLastError(HM_SENTINEL);
        char *p = reserve_in(NULL, NULL, good[i], P, MEM_RESERVE);
        ck_assert_ptr_nonnull(p);
        ck_assert_last_error_untouched();
        ck_assert_uint_eq((uintptr_t)p % good[i], 0);
        ck_assert_region(p, p, p, PAGE_READWRITE, P, MEM_RESERVE, 0, MEM_PRIVATE);
        release(p);
    }
}
END_TEST

/* M10 */
START_TEST(lowest_must_be_64k_aligned)
{
    static const uintptr_t lows[] = {0x20001000, 0x20000FFF, 0x20001001, 0x1000};
    for (size_t i = 0; i < sizeof lows / sizeof lows[0]; i++)
        ck_assert_fails_with(reserve_in((void *)lows[i], NULL, 0, G, MEM_RESERVE),
                             ERROR_INVALID_PARAMETER);
}
END_TEST

/* M11 */
START_TEST(lowest_must_be_below_highest)
{
    ck_assert_fails_with(reserve_in((void *)0x30000000, (void *)0x1FFFFFFF, 0, G, MEM_RESERVE),
                         ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(reserve_in((void *)0x30000000, (void *)0x30000000, 0, G, MEM_RESERVE),
                         ERROR_INVALID_PARAMETER);
}
END_TEST

/* M12 */
START_TEST(lowest_bounds_the_allocation_from_below)
{
    SetLastError(HM_SENTINEL);
    char *p = reserve_in((void *)0x20000000, NULL, 0, G, MEM_RESERVE);
    ck_assert_ptr_nonnull(p);
    ck_assert_uint_ge((uintptr_t)p, 0x20000000);
    release(p);
    p = reserve_in((void *)0x20000000, (void *)0x2FFFFFFF, 0, G, MEM_RESERVE | MEM_COMMIT);
    ck_assert_ptr_nonnull(p);
    ck_assert_last_error_untouched();
    ck_assert_uint_ge((uintptr_t)p, 0x20000000);
    ck_assert_uint_le((uintptr_t)p + G, 0x30000000);
    ck_assert_region(p, p, p, PAGE_READWRITE, G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release(p);
}
END_TEST

/* M13 */
START_TEST(lowest_must_be_inside_user_space)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    uintptr_t top = ((uintptr_t)si.lpMaximumApplicationAddress + 1);
    ck_assert_fails_with(reserve_in((void *)top, NULL, 0, G, MEM_RESERVE), ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(reserve_in((void *)(top + G), NULL, 0, G, MEM_RESERVE),
                         ERROR_INVALID_PARAMETER);
}
END_TEST

/* Placement inside the bounds: lowest first, highest first with MEM_TOP_DOWN, skipping
 * what is taken (VA2 "range of virtual address space", MEM_TOP_DOWN). */
START_TEST(bounded_placement_takes_the_lowest_or_highest_fit)
{
    char *r = hm_free_range(64 * G);
    SetLastError(HM_SENTINEL);
    char *p = reserve_in(r, r + 64 * G - 1, 0, 2 * G, MEM_RESERVE);
    ck_assert_ptr_eq(p, r);
    char *q = reserve_in(r, r + 64 * G - 1, 0, 2 * G, MEM_RESERVE);
    ck_assert_ptr_eq(q, r + 2 * G);
    char *t = reserve_in(r, r + 64 * G - 1, 0, 3 * P, MEM_RESERVE | MEM_TOP_DOWN);
    ck_assert_ptr_eq(t, r + 63 * G);
    /* Top-down at 512 KiB alignment: the highest such base whose granule ends before t. */
    char *u = reserve_in(r, r + 64 * G - 1, 8 * G, G, MEM_RESERVE | MEM_TOP_DOWN);
    ck_assert_uint_eq((uintptr_t)u, ((uintptr_t)r + 62 * G) & ~(uintptr_t)(8 * G - 1));
    ck_assert_last_error_untouched();
    ck_assert_region(t, t, t, PAGE_READWRITE, 3 * P, MEM_RESERVE, 0, MEM_PRIVATE);
    /* Full: nothing of 62 granules fits any more. */
    ck_assert_fails_with(reserve_in(r, r + 64 * G - 1, 0, 62 * G, MEM_RESERVE),
                         ERROR_NOT_ENOUGH_MEMORY);
    release(p);
    release(q);
    release(t);
    release(u);
}
END_TEST

/* memoryapi §4.4: the array and an AddressRequirements entry's structure are read from
 * the caller: NULL or low pointers and misaligned ones fail as NT's probes do */
START_TEST(parameter_pointers_must_be_valid)
{
    static MEM_ADDRESS_REQUIREMENTS a[2];
    char *misaligned_req = (char *)&a[0] + 4;
    void *bad_reqs[] = {NULL, (void *)(uintptr_t)0x10, misaligned_req};
    for (size_t i = 0; i < 3; i++) {
        MEM_EXTENDED_PARAMETER p = requirements(bad_reqs[i]);
        ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, PAGE_READWRITE, &p, 1),
                             ERROR_NOACCESS);
    }
    static MEM_EXTENDED_PARAMETER arr[7];
    memset(arr, 0, sizeof arr);
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, PAGE_READWRITE,
                                       (MEM_EXTENDED_PARAMETER *)((char *)arr + 4), 1),
                         ERROR_NOACCESS);
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, PAGE_READWRITE,
                                       (MEM_EXTENDED_PARAMETER *)(uintptr_t)0x20, 1),
                         ERROR_NOACCESS);
}
END_TEST

/* Five types, each at most once: six or more parameters are invalid whatever they hold */
START_TEST(more_parameters_than_types_are_invalid)
{
    static MEM_EXTENDED_PARAMETER arr[6];
    memset(arr, 0, sizeof arr);
    static const MEM_EXTENDED_PARAMETER_TYPE t[5] = {
        MemExtendedParameterAddressRequirements, MemExtendedParameterNumaNode,
        MemExtendedParameterPartitionHandle, MemExtendedParameterUserPhysicalHandle,
        MemExtendedParameterAttributeFlags};
    for (int i = 0; i < 6; i++)
        arr[i].Type = t[i % 5];
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, PAGE_READWRITE, arr, 6),
                         ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, PAGE_READWRITE, arr, 0xFFFFFFFFu),
                         ERROR_INVALID_PARAMETER);
}
END_TEST

#ifndef HM_WINE /* Linux-only: hostmem's decisions for NUMA nodes and attribute flags */
/* A node that exists is accepted (node 0 always does), another is invalid */
START_TEST(numa_node_must_exist)
{
    MEM_EXTENDED_PARAMETER p = param(MemExtendedParameterNumaNode);
    p.ULong = 0;
    SetLastError(HM_SENTINEL);
    char *b = VirtualAlloc2(NULL, NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, &p, 1);
    ck_assert_ptr_nonnull(b);
    ck_assert_last_error_untouched();
    b[0] = 1;
    release(b);
    static const DWORD absent[] = {4095, 0xFFFFFFFFu};
    for (size_t i = 0; i < 2; i++) {
        p.ULong = absent[i];
        ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, PAGE_READWRITE, &p, 1),
                             ERROR_INVALID_PARAMETER);
    }
}
END_TEST

START_TEST(attribute_flags_hostmem_cannot_honour_are_invalid)
{
    MEM_EXTENDED_PARAMETER p = param(MemExtendedParameterAttributeFlags);
    static const DWORD64 ok[] = {0, MEM_EXTENDED_PARAMETER_ZERO_PAGES_OPTIONAL};
    for (size_t i = 0; i < 2; i++) {
        p.ULong64 = ok[i];
        SetLastError(HM_SENTINEL);
        char *b = VirtualAlloc2(NULL, NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE, &p, 1);
        ck_assert_ptr_nonnull(b);
        ck_assert_last_error_untouched();
        ck_assert_int_eq(b[G - 1], 0);
        release(b);
    }
    static const DWORD64 bad[] = {MEM_EXTENDED_PARAMETER_GRAPHICS, MEM_EXTENDED_PARAMETER_NONPAGED,
                                  MEM_EXTENDED_PARAMETER_NONPAGED_LARGE,
                                  MEM_EXTENDED_PARAMETER_NONPAGED_HUGE, 0x40 /* EC code */,
                                  (DWORD64)1 << 40};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        p.ULong64 = bad[i];
        ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, PAGE_READWRITE, &p, 1),
                             ERROR_INVALID_PARAMETER);
    }
}
END_TEST

START_TEST(partition_and_section_handles_are_invalid_handles)
{
    static const MEM_EXTENDED_PARAMETER_TYPE types[] = {MemExtendedParameterPartitionHandle,
                                                        MemExtendedParameterUserPhysicalHandle};
    for (size_t i = 0; i < 2; i++) {
        MEM_EXTENDED_PARAMETER p = param(types[i]);
        p.Handle = (HANDLE)(uintptr_t)0x40;
        ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, PAGE_READWRITE, &p, 1),
                             ERROR_INVALID_HANDLE);
    }
}
END_TEST

#endif

/* The order of the checks (docs/semantics-decisions.md): FromApp's executable check, the
 * parameters, the type bits, requirements with an address, size, process handle, then the
 * type combinations and protection. Each pair below has two faults; the first wins. */
START_TEST(checks_come_in_windows_order)
{
    HANDLE bad = (HANDLE)(uintptr_t)0x1234;
    MEM_EXTENDED_PARAMETER inval = param(MemExtendedParameterMax);
    MEM_ADDRESS_REQUIREMENTS a = {NULL, HIGH_512M, 0};
    MEM_EXTENDED_PARAMETER req = requirements(&a);
    ck_assert_fails_with(VirtualAlloc2FromApp(bad, NULL, 0, MEM_RESERVE, PAGE_EXECUTE, &inval, 1),
                         ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualAlloc2(bad, NULL, G, MEM_RESERVE, PAGE_READWRITE, NULL, 1),
                         ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualAlloc2(bad, NULL, G, MEM_RESERVE | 0x10, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualAlloc2(bad, (void *)0x20000000, G, MEM_RESERVE, PAGE_READWRITE,
                                       &req, 1),
                         ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualAlloc2(bad, NULL, 0, MEM_RESERVE, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    /* The handle before the combinations and the protection. */
    ck_assert_fails_with(VirtualAlloc2(bad, NULL, G, MEM_REPLACE_PLACEHOLDER, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_HANDLE);
    ck_assert_fails_with(VirtualAlloc2(bad, NULL, G, MEM_RESERVE, 0, NULL, 0), ERROR_INVALID_HANDLE);
    ck_assert_fails_with(VirtualAlloc2(bad, NULL, G, MEM_RESERVE | MEM_RESET, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_HANDLE);
}
END_TEST

/* X3 */
START_TEST(fromapp_refuses_executable_protections)
{
    static const DWORD exec[] = {PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
                                 PAGE_EXECUTE_WRITECOPY};
    for (size_t i = 0; i < 4; i++)
        ck_assert_fails_with(VirtualAlloc2FromApp(NULL, NULL, P, MEM_RESERVE | MEM_COMMIT, exec[i],
                                                  NULL, 0),
                             ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    char *p = VirtualAlloc2FromApp(NULL, NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READONLY, NULL, 0);
    ck_assert_ptr_nonnull(p);
    ck_assert_last_error_untouched();
    ck_assert_region(p, p, p, PAGE_READONLY, P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    release(p);
}
END_TEST

/* VirtualAlloc's rules hold: size 0, unknown bits, bad protections, rounding (VA2: "all
 * pages that contain one or more bytes"), commit inside a reservation. */
START_TEST(virtualalloc_rules_and_rounding_hold)
{
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, 0, MEM_RESERVE, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE | MEM_RELEASE | MEM_COMMIT,
                                       PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, PAGE_WRITECOPY, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    ck_assert_fails_with(VirtualAlloc2(NULL, NULL, G, MEM_RESERVE, 0, NULL, 0),
                         ERROR_INVALID_PARAMETER);
    char *r = hm_free_range(4 * G);
    SetLastError(HM_SENTINEL);
    char *b = VirtualAlloc2(NULL, r + 0x1234, 0x10000, MEM_RESERVE, PAGE_READWRITE, NULL, 0);
    ck_assert_ptr_eq(b, r);
    ck_assert_region(b, b, b, PAGE_READWRITE, 0x12000, MEM_RESERVE, 0, MEM_PRIVATE);
    char *c = VirtualAlloc2(NULL, b + 0x2345, 2, MEM_COMMIT, PAGE_READONLY, NULL, 0);
    ck_assert_ptr_eq(c, b + 0x2000);
    ck_assert_last_error_untouched();
    ck_assert_region(c, c, b, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert_fails_with(VirtualAlloc2(NULL, b + 0x11000, 2 * P, MEM_COMMIT, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    ck_assert_fails_with(VirtualAlloc2(NULL, b, G, MEM_RESERVE, PAGE_READWRITE, NULL, 0),
                         ERROR_INVALID_ADDRESS);
    release(b);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("virtualalloc2");
    hm_add(s, tcase_create("va2_commit_without_reserve_reserves_and_commits"), commit_without_reserve_reserves_and_commits);
    hm_add(s, tcase_create("va2_process_is_null_or_the_current_process"), process_is_null_or_the_current_process);
    HM_LINUX_ONLY(hm_add(s, tcase_create("va2_other_process_handles_fail_with_invalid_handle"), other_process_handles_fail_with_invalid_handle));
    hm_add(s, tcase_create("va2_count_without_parameters_is_invalid"), count_without_parameters_is_invalid);
    hm_add(s, tcase_create("va2_parameter_type_must_be_known"), parameter_type_must_be_known);
    HM_LINUX_ONLY(hm_add(s, tcase_create("va2_reserved_bits_must_be_zero"), reserved_bits_must_be_zero));
    hm_add(s, tcase_create("va2_each_parameter_type_at_most_once"), each_parameter_type_at_most_once);
    hm_add(s, tcase_create("va2_all_zero_requirements_are_no_constraint"), all_zero_requirements_are_no_constraint);
    hm_add(s, tcase_create("va2_highest_plus_one_must_be_page_aligned"), highest_plus_one_must_be_page_aligned);
    hm_add(s, tcase_create("va2_highest_may_not_pass_the_top_of_user_space"), highest_may_not_pass_the_top_of_user_space);
    hm_add(s, tcase_create("va2_highest_bounds_the_whole_allocation"), highest_bounds_the_whole_allocation);
    hm_add(s, tcase_create("va2_requirements_with_an_address_are_invalid"), requirements_with_an_address_are_invalid);
    hm_add(s, tcase_create("va2_alignment_that_cannot_fit_is_out_of_memory"), alignment_that_cannot_fit_is_out_of_memory);
    hm_add(s, tcase_create("va2_alignment_is_a_power_of_two_of_at_least_64k"), alignment_is_a_power_of_two_of_at_least_64k);
    hm_add(s, tcase_create("va2_lowest_must_be_64k_aligned"), lowest_must_be_64k_aligned);
    hm_add(s, tcase_create("va2_lowest_must_be_below_highest"), lowest_must_be_below_highest);
    hm_add(s, tcase_create("va2_lowest_bounds_the_allocation_from_below"), lowest_bounds_the_allocation_from_below);
    hm_add(s, tcase_create("va2_lowest_must_be_inside_user_space"), lowest_must_be_inside_user_space);
    hm_add(s, tcase_create("va2_bounded_placement_takes_the_lowest_or_highest_fit"), bounded_placement_takes_the_lowest_or_highest_fit);
    hm_add(s, tcase_create("va2_parameter_pointers_must_be_valid"), parameter_pointers_must_be_valid);
    hm_add(s, tcase_create("va2_more_parameters_than_types_are_invalid"), more_parameters_than_types_are_invalid);
    HM_LINUX_ONLY(hm_add(s, tcase_create("va2_numa_node_must_exist"), numa_node_must_exist));
    HM_LINUX_ONLY(hm_add(s, tcase_create("va2_attribute_flags_hostmem_cannot_honour_are_invalid"), attribute_flags_hostmem_cannot_honour_are_invalid));
    HM_LINUX_ONLY(hm_add(s, tcase_create("va2_partition_and_section_handles_are_invalid_handles"), partition_and_section_handles_are_invalid_handles));
    hm_add(s, tcase_create("va2_checks_come_in_windows_order"), checks_come_in_windows_order);
    hm_add(s, tcase_create("va2_fromapp_refuses_executable_protections"), fromapp_refuses_executable_protections);
    hm_add(s, tcase_create("va2_virtualalloc_rules_and_rounding_hold"), virtualalloc_rules_and_rounding_hold);
    return s;
}

HM_TEST_MAIN(make_suite)
