/*
 * testlib.h — helpers shared by the Check suites: a main() that runs one suite, a
 * VirtualQuery assertion that names every field, and a "does touching this fault?" probe
 * that runs the access in a forked child.
 */
#ifndef HM_TESTLIB_H
#define HM_TESTLIB_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hostmem/hostmem.h"
#include "hostmem/memoryapi.h"
#ifndef HM_WINE
#include <stdio.h>

#include "valgrind_hooks.h"
#endif

#define P ((SIZE_T)4096)
#define G ((SIZE_T)65536)

/* Runs the suite (all cases, or the one named by CK_RUN_CASE) and returns the exit code. */
int hm_test_run(Suite *s);
#define HM_TEST_MAIN(make_suite) \
    int main(void) { return hm_test_run(make_suite()); }

/* tests/win32 also build for Windows and run under Wine (tests/wine, with -DHM_WINE). A case
 * that needs Linux or hostmem's own extensions (hm_ functions, fork, /proc, mmap) stays out
 * of that build: wrap its START_TEST..END_TEST in #ifndef HM_WINE and its registration in
 * HM_LINUX_ONLY(...), which on Linux is the registration itself. */
#ifdef HM_WINE
#define HM_LINUX_ONLY(...) hm_wine_linux_only(#__VA_ARGS__)
#else
#define HM_LINUX_ONLY(...) __VA_ARGS__
#endif

/* Adds one test as its own case. Spell tcase_create("name") literally at the call site:
 * tests/CMakeLists.txt finds the case names by scanning for it. */
static inline void hm_add(Suite *s, TCase *tc, const TTest *t)
{
    tcase_add_test(tc, t);
    suite_add_tcase(s, tc);
}

/* Asserts every field of VirtualQuery(addr). Pass alloc_base/alloc_prot as they must read. */
#define ck_assert_region(addr, base_, alloc_base_, alloc_prot_, size_, state_, prot_, type_)  \
    do {                                                                                   \
        MEMORY_BASIC_INFORMATION mbi_;                                                     \
        ck_assert_uint_eq(VirtualQuery((addr), &mbi_, sizeof mbi_), sizeof mbi_);          \
        ck_assert_ptr_eq(mbi_.BaseAddress, (void *)(base_));                               \
        ck_assert_ptr_eq(mbi_.AllocationBase, (void *)(alloc_base_));                      \
        ck_assert_uint_eq(mbi_.AllocationProtect, (alloc_prot_));                          \
        ck_assert_uint_eq(mbi_.RegionSize, (size_));                                       \
        ck_assert_uint_eq(mbi_.State, (state_));                                           \
        ck_assert_uint_eq(mbi_.Protect, (prot_));                                          \
        ck_assert_uint_eq(mbi_.Type, (type_));                                             \
    } while (0)

/* A free region as Windows reports it: Protect NOACCESS, no allocation, Type 0. */
#define ck_assert_free_region(addr, base_, size_) \
    ck_assert_region((addr), (base_), NULL, 0, (size_), MEM_FREE, PAGE_NOACCESS, 0)

/* Asserts a failed Win32 call's last error. */
#define ck_assert_last_error(e) ck_assert_uint_eq(GetLastError(), (DWORD)(e))

/* Successful calls leave the last error alone: SetLastError(HM_SENTINEL) before, check after. */
#define HM_SENTINEL ((DWORD)0xdeadbeefu)
#define ck_assert_last_error_untouched() ck_assert_uint_eq(GetLastError(), HM_SENTINEL)

/* Runs an access in a forked child: returns the signal that killed it (0 = no fault). */
int hm_probe_read(const volatile void *addr);
int hm_probe_write(volatile void *addr);

/* The start of a G-aligned range of `size` bytes that nothing in the process maps (from
 * /proc/self/maps), far from where the kernel puts mmap()s, so fixed-address tests can
 * lay out neighbouring allocations exactly. Fails the test if there is none. */
char *hm_free_range(SIZE_T size);

/* hostmem's statistics now. */
hm_stats_t hm_stats_now(void);

/* Every VirtualQuery region from base up to base+size, to show a failed call changed nothing. */
typedef struct hm_snap {
    MEMORY_BASIC_INFORMATION r[32];
    size_t n;
} hm_snap_t;
void hm_snap(hm_snap_t *s, const void *base, SIZE_T size);
void hm_assert_snap_eq(const hm_snap_t *a, const hm_snap_t *b, const char *file, int line);
#define ck_assert_snap_eq(a, b) hm_assert_snap_eq((a), (b), __FILE__, __LINE__)

/* Valgrind (HOSTMEM_VALGRIND=ON runs every case under memcheck). hm_test_under_valgrind(why)
 * is true under Valgrind, and then prints "under Valgrind: why" (say what is skipped or
 * expected instead). Only for a test or a check whose *measurement* Valgrind changes (RSS,
 * VmLck, the process's own mappings, its malloc, the write-watch engine it picks,
 * userfaultfd it does not know), never to hide a memcheck report about hostmem: those are
 * fixed, or suppressed in tests/valgrind.supp with the reason. */
static inline bool hm_test_under_valgrind(const char *why)
{
#ifdef HM_WINE
    (void)why;
    return false;
#else
    if (!hm_vg_running())
        return false;
    printf("under Valgrind: %s\n", why);
    return true;
#endif
}
#define hm_test_skip_under_valgrind(why)   \
    do {                                   \
        if (hm_test_under_valgrind(why))   \
            return;                        \
    } while (0)

/* A test looks at bytes Windows calls undefined (a page after MEM_RESET) to see what is
 * really there: under Valgrind, marks them defined so that memcheck does not report the
 * test's own look (hostmem marked them undefined, src/valgrind_hooks.h). */
static inline void hm_test_inspect(const volatile void *p, size_t n)
{
#ifdef HM_WINE
    (void)p;
    (void)n;
#else
    hm_vg_defined((const void *)p, n);
#endif
}

/* This program's own path, to run itself again: readlink of /proc/self/exe (exec of
 * /proc/self/exe under Valgrind would start Valgrind's tool, which refuses to run). */
const char *hm_test_self_exe(void);

#endif
