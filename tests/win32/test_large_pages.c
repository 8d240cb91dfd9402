/*
 * test_large_pages.c — MEM_LARGE_PAGES: the argument rules, what the other calls do on a
 * large-page allocation, the empty-pool policy (Windows' error by default,
 * HOSTMEM_LARGE_PAGES=thp for transparent huge pages), and real huge pages from a pool
 * this test reserves when it runs as root (/proc/sys/vm/nr_hugepages, restored after the
 * case even if it fails; the case prints why it skips that part when not root).
 * Rows: memoryapi.md §5.3 (MEM_LARGE_PAGES), §5.12 (GetLargePageMinimum);
 * semantics-decisions (large-page rows). The right to lock memory: test_privilege.c.
 *
 * HM_USES_HUGE_PAGES (ctest never runs these cases beside others that take huge pages).
 * HM_LINUX_ONLY_FILE: Wine has no large pages (87) and these cases manage the kernel's huge-page pool.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

#define L ((SIZE_T)0x200000)
#define NR_HUGEPAGES "/proc/sys/vm/nr_hugepages"

static void release(void *p)
{
    ck_assert_int_ne(VirtualFree(p, 0, MEM_RELEASE), 0);
}

/* A field of /proc/meminfo ("HugePages_Free:"), as a number. */
static long meminfo(const char *field)
{
    FILE *f = fopen("/proc/meminfo", "re");
    ck_assert_ptr_nonnull(f);
    char line[256];
    long v = -1;
    size_t n = strlen(field);
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, field, n))
            v = strtol(line + n, NULL, 10);
    fclose(f);
    ck_assert_int_ge(v, 0);
    return v;
}

/* Huge pages the pool can still hand out (free and not reserved by a mapping). */
static long avail(void)
{
    return meminfo("HugePages_Free:") - meminfo("HugePages_Rsvd:");
}

/* The smaps block of the mapping holding addr contains `text`. */
static bool smaps_has(const void *addr, const char *text)
{
    FILE *f = fopen("/proc/self/smaps", "re");
    ck_assert_ptr_nonnull(f);
    char line[512];
    bool in = false, found = false;
    while (fgets(line, sizeof line, f)) {
        unsigned long s, e;
        char dash;
        if (sscanf(line, "%lx%c%lx ", &s, &dash, &e) == 3 && dash == '-' && strchr(line, ' ') &&
            strchr(line, '-') < strchr(line, ' '))
            in = s <= (uintptr_t)addr && (uintptr_t)addr < e;
        else if (in && strstr(line, text))
            found = true;
    }
    fclose(f);
    return found;
}

START_TEST(large_page_minimum_is_2_mib)
{
    ck_assert_uint_eq(GetLargePageMinimum(), L);
}
END_TEST

/* memoryapi §5.3: MEM_RESERVE|MEM_COMMIT required, size and address multiples of 2 MiB;
 * WRK allocvm.c: not with MEM_PHYSICAL or MEM_WRITE_WATCH. All 87, before the privilege. */
START_TEST(argument_rules_fail_with_invalid_parameter)
{
    char *at = hm_free_range(8 * L);
    at = (char *)(((uintptr_t)at + L - 1) & ~(uintptr_t)(L - 1));
    hm_snap_t before, after;
    hm_snap(&before, at, 4 * L);
    uint64_t committed = hm_stats_now().committed_bytes;
    static const struct {
        SIZE_T off, size;
        DWORD type, prot;
    } bad[] = {
        {0, L + P, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE},
        {0, L / 2, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE},
        {G, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE},
        {0, L, MEM_RESERVE | MEM_LARGE_PAGES, PAGE_READWRITE},
        {0, L, MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE},
        {0, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES | MEM_PHYSICAL, PAGE_READWRITE},
        {0, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES | MEM_WRITE_WATCH, PAGE_READWRITE},
        {0, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE | PAGE_GUARD},
        {0, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_WRITECOPY},
        {0, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, 0},
        {0, L, MEM_RESET | MEM_LARGE_PAGES, PAGE_READWRITE},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(at + bad[i].off, bad[i].size, bad[i].type, bad[i].prot));
        ck_assert_msg(GetLastError() == ERROR_INVALID_PARAMETER, "case %zu: %u", i, GetLastError());
    }
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(NULL, L + P, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                    PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    hm_snap(&after, at, 4 * L);
    ck_assert_snap_eq(&before, &after);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed);
}
END_TEST

/* VirtualAlloc2 address requirements apply to large pages too; the base is at least 2 MiB
 * aligned. HOSTMEM_LARGE_PAGES=thp: the result does not depend on the huge-page pool. */
START_TEST(virtual_alloc2_large_pages_keep_address_requirements)
{
    setenv("HOSTMEM_LARGE_PAGES", "thp", 1);
    char *lo = hm_free_range(64 * L);
    lo = (char *)(((uintptr_t)lo + 8 * L - 1) & ~(uintptr_t)(8 * L - 1));
    char *hi = lo + 32 * L - 1;
    for (int top = 0; top < 2; top++) {
        MEM_ADDRESS_REQUIREMENTS a = {lo, hi, top ? 0 : 4 * L};
        MEM_EXTENDED_PARAMETER p;
        memset(&p, 0, sizeof p);
        p.Type = MemExtendedParameterAddressRequirements;
        p.Pointer = &a;
        ULONG type = MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES | (top ? MEM_TOP_DOWN : 0);
        SetLastError(HM_SENTINEL);
        char *q = VirtualAlloc2(NULL, NULL, 2 * L, type, PAGE_READWRITE, &p, 1);
        ck_assert_msg(q != NULL, "VirtualAlloc2: %u", GetLastError());
        ck_assert_last_error_untouched();
        ck_assert_uint_eq((uintptr_t)q % (top ? L : 4 * L), 0);
        ck_assert(q >= lo && q + 2 * L - 1 <= hi);
        if (top)
            ck_assert_ptr_eq(q, hi + 1 - 2 * L);
        ck_assert_region(q, q, q, PAGE_READWRITE, 2 * L, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
        release(q);
    }
    unsetenv("HOSTMEM_LARGE_PAGES");
}
END_TEST

/* ---- The huge-page pool: one case, so that nothing else sees it changed ---------------- */

static long saved_nr = -1;

static long read_nr(void)
{
    FILE *f = fopen(NR_HUGEPAGES, "re");
    long v = -1;
    if (f) {
        if (fscanf(f, "%ld", &v) != 1)
            v = -1;
        fclose(f);
    }
    return v;
}

static bool write_nr(long v)
{
    FILE *f = fopen(NR_HUGEPAGES, "we");
    if (!f)
        return false;
    bool ok = fprintf(f, "%ld\n", v) > 0;
    return fclose(f) == 0 && ok;
}

/* Unchecked fixture: runs in the runner process, before and after the case, even if the
 * case fails or crashes. */
static void pool_save(void)
{
    saved_nr = read_nr();
}

static void pool_restore(void)
{
    if (saved_nr >= 0 && read_nr() != saved_nr && !write_nr(saved_nr))
        fprintf(stderr, "test_large_pages: could not restore %s to %ld\n", NR_HUGEPAGES, saved_nr);
}

/* An empty pool: if we cannot empty it (not root), the case says so and skips. */
static bool pool_empty(void)
{
    if (avail() == 0)
        return true;
    if (geteuid() == 0 && write_nr(0) && avail() == 0)
        return true;
    printf("large_pages_pool: skipping the empty-pool part: %ld huge pages are free and this "
           "process cannot empty the pool (not root)\n", avail());
    return false;
}

/* semantics-decisions: an empty pool fails like Windows without contiguous memory
 * (STATUS_INSUFFICIENT_RESOURCES → ERROR_NO_SYSTEM_RESOURCES, 1450), nothing changed. */
static void empty_pool_fails_with_no_system_resources(void)
{
    unsetenv("HOSTMEM_LARGE_PAGES");
    char *at = hm_free_range(8 * L);
    at = (char *)(((uintptr_t)at + L - 1) & ~(uintptr_t)(L - 1));
    hm_snap_t before, after;
    hm_snap(&before, at, 4 * L);
    hm_stats_t st0 = hm_stats_now();
    SetLastError(HM_SENTINEL);
    ck_assert_ptr_null(VirtualAlloc(at, 2 * L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                    PAGE_READWRITE));
    ck_assert_last_error(ERROR_NO_SYSTEM_RESOURCES);
    ck_assert_ptr_null(VirtualAlloc(NULL, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                    PAGE_READWRITE));
    ck_assert_last_error(ERROR_NO_SYSTEM_RESOURCES);
    setenv("HOSTMEM_LARGE_PAGES", "hugetlb-only", 1); /* unknown values: the default */
    ck_assert_ptr_null(VirtualAlloc(NULL, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                    PAGE_READWRITE));
    ck_assert_last_error(ERROR_NO_SYSTEM_RESOURCES);
    unsetenv("HOSTMEM_LARGE_PAGES");
    hm_snap(&after, at, 4 * L);
    ck_assert_snap_eq(&before, &after);
    hm_stats_t st1 = hm_stats_now();
    ck_assert_uint_eq(st1.reservations, st0.reservations);
    ck_assert_uint_eq(st1.committed_bytes, st0.committed_bytes);
}

/* HOSTMEM_LARGE_PAGES=thp: ordinary pages, 2 MiB aligned, committed, advised huge. */
static void empty_pool_with_thp_policy_commits_transparent_huge_pages(void)
{
    setenv("HOSTMEM_LARGE_PAGES", "thp", 1);
    uint64_t committed = hm_stats_now().committed_bytes;
    SetLastError(HM_SENTINEL);
    char *p = VirtualAlloc(NULL, 2 * L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                           PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq((uintptr_t)p % L, 0);
    ck_assert_region(p, p, p, PAGE_READWRITE, 2 * L, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed + 2 * L);
    for (size_t i = 0; i < 2 * L; i += P)
        ck_assert_int_eq(p[i], 0);
    memset(p, 0x3C, 2 * L);
    ck_assert(smaps_has(p, " hg")); /* VmFlags: MADV_HUGEPAGE */
    char *at = hm_free_range(8 * L);
    at = (char *)(((uintptr_t)at + L - 1) & ~(uintptr_t)(L - 1));
    char *q = VirtualAlloc(at, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READONLY);
    ck_assert_ptr_eq(q, at);
    ck_assert_region(q, q, q, PAGE_READONLY, L, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    release(q);
    release(p);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed);
    unsetenv("HOSTMEM_LARGE_PAGES");
}

/* Reserves n huge pages in the pool; false (with the reason printed) if it cannot. */
static bool pool_fill(long n)
{
    if (geteuid() != 0) {
        printf("large_pages_pool: skipping the huge-page part: not root, cannot write %s\n",
               NR_HUGEPAGES);
        return false;
    }
    if (!write_nr(n) || avail() < n) {
        printf("large_pages_pool: skipping the huge-page part: the kernel gave %ld of %ld "
               "huge pages\n", avail(), n);
        return false;
    }
    return true;
}

/* Huge pages from the pool: committed, zeroed, 2 MiB pages in the kernel's view; the pool
 * gives them back at release. */
static void pool_pages_back_large_allocations(void)
{
    unsetenv("HOSTMEM_LARGE_PAGES");
    long free0 = avail();
    uint64_t committed = hm_stats_now().committed_bytes;
    SetLastError(HM_SENTINEL);
    char *p = VirtualAlloc(NULL, 2 * L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                           PAGE_READWRITE);
    ck_assert_ptr_nonnull(p);
    ck_assert_last_error_untouched();
    ck_assert_uint_eq((uintptr_t)p % L, 0);
    ck_assert_region(p, p, p, PAGE_READWRITE, 2 * L, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(p + L + 5, p + L, p, PAGE_READWRITE, L, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed + 2 * L);
    ck_assert_int_eq(avail(), free0 - 2); /* reserved at once: they cannot run out later */
    ck_assert(smaps_has(p, "KernelPageSize:     2048 kB"));
    for (size_t i = 0; i < 2 * L; i += P)
        ck_assert_int_eq(p[i], 0);
    memset(p, 0x77, 2 * L);
    ck_assert_int_eq(avail(), free0 - 2);

    /* the other calls (WRK): same protection succeeds, another is refused (487); MEM_COMMIT,
     * MEM_RESET and decommit 487; VirtualLock/Unlock 87; nothing changes */
    hm_snap_t before, after;
    hm_snap(&before, p, 2 * L);
    DWORD old = 0;
    ck_assert_int_ne(VirtualProtect(p + P, P, PAGE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_int_eq(VirtualProtect(p, P, PAGE_READONLY, &old), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    ck_assert_int_eq(VirtualProtect(p, 2 * L, PAGE_EXECUTE_READWRITE, &old), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_ptr_null(VirtualAlloc(p, P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_ptr_null(VirtualAlloc(p, L, MEM_RESET, PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(VirtualFree(p, L, MEM_DECOMMIT), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(VirtualLock(p, P), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(VirtualUnlock(p, P), FALSE);
    ck_assert_last_error(ERROR_INVALID_PARAMETER);
    ck_assert_int_eq(VirtualFree(p + L, 0, MEM_RELEASE), FALSE);
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    hm_snap(&after, p, 2 * L);
    ck_assert_snap_eq(&before, &after);
    ck_assert_int_eq(p[2 * L - 1], 0x77);

    /* at a given 2 MiB-aligned address; a taken one is 487 and costs the pool nothing */
    char *at = hm_free_range(8 * L);
    at = (char *)(((uintptr_t)at + L - 1) & ~(uintptr_t)(L - 1));
    char *q = VirtualAlloc(at, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READONLY);
    ck_assert_ptr_eq(q, at);
    ck_assert_region(q, q, q, PAGE_READONLY, L, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert_int_eq(avail(), free0 - 3);
    ck_assert_ptr_null(VirtualAlloc(p, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                    PAGE_READWRITE));
    ck_assert_last_error(ERROR_INVALID_ADDRESS);
    ck_assert_int_eq(avail(), free0 - 3);

    /* more than the pool holds: 1450, nothing changed */
    hm_stats_t st0 = hm_stats_now();
    ck_assert_ptr_null(VirtualAlloc(NULL, (SIZE_T)(free0 + 1) * L,
                                    MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE));
    ck_assert_last_error(ERROR_NO_SYSTEM_RESOURCES);
    ck_assert_uint_eq(hm_stats_now().reservations, st0.reservations);
    ck_assert_int_eq(avail(), free0 - 3);

    /* over the commit limit: 1455, the pool gets its pages back */
    hm_set_commit_limit(hm_stats_now().committed_bytes + L / 2);
    ck_assert_ptr_null(VirtualAlloc(NULL, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                                    PAGE_READWRITE));
    ck_assert_last_error(ERROR_COMMITMENT_LIMIT);
    ck_assert_int_eq(avail(), free0 - 3);
    hm_set_commit_limit(0);

    SetLastError(HM_SENTINEL);
    release(q);
    release(p);
    ck_assert_last_error_untouched();
    ck_assert_int_eq(avail(), free0);
    ck_assert_uint_eq(hm_stats_now().committed_bytes, committed);
}

START_TEST(large_pages_pool)
{
    if (pool_empty()) {
        empty_pool_fails_with_no_system_resources();
        empty_pool_with_thp_policy_commits_transparent_huge_pages();
    }
    if (pool_fill(6))
        pool_pages_back_large_allocations();
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("large_pages");
    hm_add(s, tcase_create("large_page_minimum_is_2_mib"), large_page_minimum_is_2_mib);
    hm_add(s, tcase_create("argument_rules_fail_with_invalid_parameter"), argument_rules_fail_with_invalid_parameter);
    hm_add(s, tcase_create("virtual_alloc2_large_pages_keep_address_requirements"), virtual_alloc2_large_pages_keep_address_requirements);
    TCase *pool = tcase_create("large_pages_pool");
    tcase_add_unchecked_fixture(pool, pool_save, pool_restore);
    tcase_set_timeout(pool, 60);
    hm_add(s, pool, large_pages_pool);
    return s;
}

HM_TEST_MAIN(make_suite)
