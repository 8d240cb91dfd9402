/*
 * test_write_watch.c — MEM_WRITE_WATCH, GetWriteWatch, ResetWriteWatch with Windows'
 * semantics, hostmem's hm_watch_mark_written and hm_write_watch_engine.
 * Rows: windows-behaviour.md §1.6 (W1–W27; W9 adapted to read(2)), §1.5 Q5, §1.8 G6;
 * memoryapi.md §5.3 (MEM_WRITE_WATCH), §5.10.
 *
 * ctest runs every case twice: win32.test_write_watch.<case> with the engine hostmem picks
 * (the kernel engine on Linux 6.7+), and win32.test_write_watch_mprotect.<case> with
 * HOSTMEM_WRITE_WATCH=mprotect (tests/CMakeLists.txt). Only the Linux-only cases about
 * kernel writes (read(2)) expect different things from the two engines; every Windows row
 * must hold for both.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef HM_WINE
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "valgrind_hooks.h"
#include "vm/vm.h"
#endif

#include "testlib.h"

#define NPAGES 16 /* the 64 KiB block of Wine's test */
#define MAX_RESULTS 4096

static void *g_res[MAX_RESULTS];

static void release(void *p)
{
    ck_assert_int_ne(VirtualFree(p, 0, MEM_RELEASE), 0);
}

static char *watched(SIZE_T size, DWORD type, DWORD prot)
{
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_WRITE_WATCH | type, prot);
    ck_assert_msg(p != NULL, "VirtualAlloc(MEM_WRITE_WATCH) failed: %u", (unsigned)GetLastError());
    return p;
}

/* GetWriteWatch that must succeed: count, granularity, last error untouched. */
static ULONG_PTR watch_get(DWORD flags, void *addr, SIZE_T size, ULONG_PTR cap)
{
    ULONG_PTR count = cap;
    DWORD gran = 0;
    SetLastError(HM_SENTINEL);
    UINT r = GetWriteWatch(flags, addr, size, g_res, &count, &gran);
    ck_assert_msg(r == 0, "GetWriteWatch(%#x, %p, %#zx) = %u, error %u", (unsigned)flags, addr,
                  (size_t)size, r, (unsigned)GetLastError());
    ck_assert_last_error_untouched();
    ck_assert_uint_eq(gran, P);
    ck_assert_uint_le(count, cap);
    return count;
}

/* Asserts GetWriteWatch reports exactly the n pages given (indexes from base). */
static void expect(char *base, DWORD flags, void *from, SIZE_T size, ULONG_PTR cap, int n, ...)
{
    ULONG_PTR count = watch_get(flags, from, size, cap);
    char got[512] = "";
    for (ULONG_PTR i = 0; i < count && strlen(got) < sizeof got - 16; i++)
        snprintf(got + strlen(got), sizeof got - strlen(got), " %ld",
                 (long)(((char *)g_res[i] - base) / (long)P));
    ck_assert_msg(count == (ULONG_PTR)n, "%lu pages reported (%s ), expected %d",
                  (unsigned long)count, got, n);
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) {
        int page = va_arg(ap, int);
        ck_assert_msg(g_res[i] == base + page * P, "result %d is page%s, expected page %d", i,
                      got, page);
    }
    va_end(ap);
}

static void expect_failure(UINT r, DWORD err)
{
    ck_assert_uint_eq(r, (UINT)~0u);
    ck_assert_last_error(err);
}

/* W1, W2, W3 */
START_TEST(writes_are_reported_per_page_and_reset_clears_them)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_region(base, base, base, PAGE_READWRITE, NPAGES * P, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    expect(base, 0, base, NPAGES * P, 64, 0);
    base[P + 1] = 0x44;
    expect(base, 0, base, NPAGES * P, 64, 1, 1);
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 64, 1, 1);
    expect(base, 0, base, NPAGES * P, 64, 0);
    ck_assert_int_eq(base[P + 1], 0x44);
    release(base);
}
END_TEST

/* W4, W5 */
START_TEST(sub_ranges_report_and_reset_only_their_pages)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    base[2 * P + 3] = 0x11;
    base[4 * P + 8] = 0x11;
    expect(base, 0, base, NPAGES * P, 64, 2, 2, 4);
    expect(base, 0, base + 3 * P, 2 * P, 64, 1, 4);
    /* An unaligned range covers every page it touches. */
    expect(base, 0, base + 3 * P + 100, P, 64, 1, 4);
    SetLastError(HM_SENTINEL);
    ck_assert_uint_eq(ResetWriteWatch(base, 3 * P), 0);
    ck_assert_last_error_untouched();
    expect(base, 0, base, NPAGES * P, 64, 1, 4);
    release(base);
}
END_TEST

/* W6 */
START_TEST(a_write_across_two_pages_marks_both)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    volatile DWORD *straddle = (volatile DWORD *)(base + 2 * P - 2);
    *straddle = 0xdeadbeef;
    base[4 * P] = 1;
    expect(base, 0, base, NPAGES * P, 64, 3, 1, 2, 4);
    release(base);
}
END_TEST

/* W7 */
START_TEST(a_small_count_resets_only_up_to_the_last_page_returned)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    base[P] = base[2 * P] = base[4 * P] = 1;
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 1, 1, 1);
    expect(base, 0, base, NPAGES * P, 64, 2, 2, 4);
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 2, 2, 2, 4);
    expect(base, 0, base, NPAGES * P, 64, 0);
    release(base);
}
END_TEST

/* W8 (and Q5: VirtualQuery regions are not split by watch state) */
START_TEST(protection_changes_keep_the_watch_state)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    base[2 * P] = base[4 * P] = 1;
    DWORD old = 0;
    ck_assert_int_ne(VirtualProtect(base, 3 * P, PAGE_READONLY, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    ck_assert_region(base, base, base, PAGE_READWRITE, 3 * P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert_int_ne(VirtualProtect(base, 3 * P, PAGE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_READONLY);
    expect(base, 0, base, NPAGES * P, 64, 2, 2, 4);
    ck_assert_region(base, base, base, PAGE_READWRITE, NPAGES * P, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    release(base);
}
END_TEST

/* Q5 over a larger region with scattered writes, before and after a reset. */
START_TEST(virtualquery_is_not_split_by_written_pages)
{
    char *base = watched(4 * G, MEM_COMMIT, PAGE_READWRITE);
    for (int i = 1; i < 64; i += 3)
        base[i * P] = 1;
    ck_assert_region(base + 5 * P, base + 5 * P, base, PAGE_READWRITE, 4 * G - 5 * P, MEM_COMMIT,
                     PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_uint_eq(ResetWriteWatch(base, 4 * G), 0);
    ck_assert_region(base, base, base, PAGE_READWRITE, 4 * G, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    release(base);
}
END_TEST

/* W10, W11 */
START_TEST(ranges_outside_a_watched_allocation_are_invalid_parameter)
{
    static char not_ours[2 * 4096];
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    char *plain = VirtualAlloc(NULL, NPAGES * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(plain);
    void *targets[] = {NULL, plain, not_ours, (char *)base + NPAGES * P};
    for (size_t i = 0; i < sizeof targets / sizeof targets[0]; i++) {
        ULONG_PTR count = 64;
        DWORD gran = 7;
        SetLastError(HM_SENTINEL);
        expect_failure(GetWriteWatch(0, targets[i], P, g_res, &count, &gran),
                       ERROR_INVALID_PARAMETER);
        ck_assert_uint_eq(count, 64);
        ck_assert_uint_eq(gran, 7);
        SetLastError(HM_SENTINEL);
        expect_failure(ResetWriteWatch(targets[i], P), ERROR_INVALID_PARAMETER);
    }
    release(plain);
    release(base);
}
END_TEST

/* W12, W13, W14, W15 */
START_TEST(bad_counts_pointers_and_flags_fail_in_windows_order)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    ULONG_PTR count = 0;
    DWORD gran;
    SetLastError(HM_SENTINEL);
    expect_failure(GetWriteWatch(0, base, NPAGES * P, g_res, &count, &gran), ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    expect_failure(GetWriteWatch(0, base, NPAGES * P, g_res, NULL, &gran), ERROR_NOACCESS);
    count = 64;
    SetLastError(HM_SENTINEL);
    expect_failure(GetWriteWatch(0, base, NPAGES * P, g_res, &count, NULL), ERROR_NOACCESS);
    SetLastError(HM_SENTINEL);
    expect_failure(GetWriteWatch(0, base, NPAGES * P, NULL, &count, &gran), ERROR_NOACCESS);
    count = 0; /* the count is checked before the array */
    SetLastError(HM_SENTINEL);
    expect_failure(GetWriteWatch(0, base, NPAGES * P, NULL, &count, &gran), ERROR_INVALID_PARAMETER);
    count = 64;
    SetLastError(HM_SENTINEL);
    expect_failure(GetWriteWatch(0xdeadbeef, base, NPAGES * P, g_res, &count, &gran),
                   ERROR_INVALID_PARAMETER);
    SetLastError(HM_SENTINEL);
    expect_failure(GetWriteWatch(WRITE_WATCH_FLAG_RESET | 2, base, NPAGES * P, g_res, &count, &gran),
                   ERROR_INVALID_PARAMETER);
    /* A NULL count pointer beats every other mistake; flags come before the array. */
    SetLastError(HM_SENTINEL);
    expect_failure(GetWriteWatch(0xdeadbeef, NULL, 0, NULL, NULL, &gran), ERROR_NOACCESS);
    SetLastError(HM_SENTINEL);
    expect_failure(GetWriteWatch(0xdeadbeef, base, NPAGES * P, NULL, &count, &gran),
                   ERROR_INVALID_PARAMETER);
    release(base);
}
END_TEST

/* W16, W17 */
START_TEST(bad_sizes_are_invalid_parameter)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    base[0] = 1;
    SIZE_T sizes[] = {0, 2 * NPAGES * P, P + 1, (SIZE_T)-1};
    char *from[] = {base, base, base + (NPAGES - 1) * P, base};
    for (size_t i = 0; i < 4; i++) {
        ULONG_PTR count = 64;
        DWORD gran;
        SetLastError(HM_SENTINEL);
        expect_failure(GetWriteWatch(WRITE_WATCH_FLAG_RESET, from[i], sizes[i], g_res, &count, &gran),
                       ERROR_INVALID_PARAMETER);
        SetLastError(HM_SENTINEL);
        expect_failure(ResetWriteWatch(from[i], sizes[i]), ERROR_INVALID_PARAMETER);
    }
    /* Nothing was reset by the failed calls. */
    expect(base, 0, base, NPAGES * P, 64, 1, 0);
    release(base);
}
END_TEST

/* W18, W19, and the other MEM_WRITE_WATCH combinations of VirtualAlloc. */
START_TEST(write_watch_needs_mem_reserve)
{
    char *base = watched(NPAGES * P, 0, PAGE_READWRITE);
    ck_assert_region(base, base, base, PAGE_READWRITE, NPAGES * P, MEM_RESERVE, 0, MEM_PRIVATE);
    release(base);
    DWORD bad[] = {MEM_WRITE_WATCH, MEM_COMMIT | MEM_WRITE_WATCH, MEM_RESET | MEM_WRITE_WATCH,
                   MEM_WRITE_WATCH | MEM_TOP_DOWN};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_ptr_null(VirtualAlloc(NULL, NPAGES * P, bad[i], PAGE_READWRITE));
        ck_assert_last_error(ERROR_INVALID_PARAMETER);
    }
    /* Committing inside a watched reservation needs no flag; the pages are watched. */
    base = watched(NPAGES * P, MEM_TOP_DOWN, PAGE_READWRITE);
    ck_assert_ptr_eq(VirtualAlloc(base + 3 * P, P, MEM_COMMIT, PAGE_READWRITE), base + 3 * P);
    base[3 * P] = 1;
    expect(base, 0, base, NPAGES * P, 64, 1, 3);
    release(base);
}
END_TEST

/* W20 */
START_TEST(reserved_pages_report_nothing_and_reset_succeeds)
{
    char *base = watched(NPAGES * P, 0, PAGE_NOACCESS);
    expect(base, 0, base, NPAGES * P, 64, 0);
    ck_assert_uint_eq(ResetWriteWatch(base, NPAGES * P), 0);
    ck_assert_ptr_eq(VirtualAlloc(base, NPAGES * P, MEM_COMMIT, PAGE_NOACCESS), base);
    expect(base, 0, base, NPAGES * P, 64, 0);
    release(base);
}
END_TEST

/* W21 */
START_TEST(writes_through_a_changed_protection_are_reported)
{
    char *base = watched(NPAGES * P, 0, PAGE_NOACCESS);
    ck_assert_ptr_eq(VirtualAlloc(base, NPAGES * P, MEM_COMMIT, PAGE_NOACCESS), base);
    DWORD old = 0;
    ck_assert_int_ne(VirtualProtect(base, 6 * P, PAGE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    base[5 * P + 200] = 3;
    ck_assert_int_ne(VirtualProtect(base, 6 * P, PAGE_NOACCESS, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    expect(base, 0, base, NPAGES * P, 64, 1, 5);
    release(base);
}
END_TEST

/* W22 */
START_TEST(decommit_and_protect_make_no_spurious_hits)
{
    char *base = watched(NPAGES * P, 0, PAGE_NOACCESS);
    ck_assert_ptr_eq(VirtualAlloc(base, NPAGES * P, MEM_COMMIT, PAGE_NOACCESS), base);
    ck_assert_int_ne(VirtualFree(base + P, P, MEM_DECOMMIT), 0);
    DWORD old = 0;
    ck_assert_int_ne(VirtualProtect(base + 2 * P, P, PAGE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_NOACCESS);
    g_res[0] = (void *)0xdeadbeef;
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 64, 0);
    ck_assert_ptr_eq(g_res[0], (void *)0xdeadbeef); /* nothing written past the count */
    base[2 * P + 200] = 3;
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 64, 1, 2);
    release(base);
}
END_TEST

/* W23, W24 (todo_wine: Wine keeps the state) */
START_TEST(decommit_clears_the_watch_state)
{
    char *base = watched(NPAGES * P, 0, PAGE_NOACCESS);
    ck_assert_ptr_eq(VirtualAlloc(base, NPAGES * P, MEM_COMMIT, PAGE_NOACCESS), base);
    DWORD old;
    ck_assert_int_ne(VirtualProtect(base, 6 * P, PAGE_READWRITE, &old), 0);
    base[3 * P + 200] = 3;
    base[5 * P + 200] = 3;
    ck_assert_int_ne(VirtualFree(base, NPAGES * P, MEM_DECOMMIT), 0);
    expect(base, 0, base, NPAGES * P, 64, 0);
    ck_assert_ptr_eq(VirtualAlloc(base, NPAGES * P, MEM_COMMIT, PAGE_READWRITE), base);
    expect(base, 0, base, NPAGES * P, 64, 0);
    /* The recommitted pages read zero and are watched again. */
    ck_assert_int_eq(base[3 * P + 200], 0);
    base[7 * P] = 1;
    expect(base, 0, base, NPAGES * P, 64, 1, 7);
    release(base);
}
END_TEST

/* W25, W26 (todo_wine): a VirtualProtect latches the pages written before it. */
START_TEST(virtualprotect_latches_written_pages_across_decommit)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    base[3 * P + 200] = 3;
    DWORD old = 0;
    ck_assert_int_ne(VirtualProtect(base, 6 * P, PAGE_READWRITE, &old), 0);
    ck_assert_uint_eq(old, PAGE_READWRITE);
    base[5 * P + 200] = 3;
    expect(base, 0, base, NPAGES * P, 64, 2, 3, 5);
    ck_assert_int_ne(VirtualFree(base, NPAGES * P, MEM_DECOMMIT), 0);
    expect(base, 0, base, NPAGES * P, 64, 1, 3);
    ck_assert_ptr_eq(VirtualAlloc(base, NPAGES * P, MEM_COMMIT, PAGE_READWRITE), base);
    expect(base, 0, base, NPAGES * P, 64, 1, 3);
    base[4 * P + 200] = 4;
    base[2 * P + 200] = 4;
    base[6 * P + 200] = 4;
    expect(base, 0, base, NPAGES * P, 64, 4, 2, 3, 4, 6);
    /* A reset clears the latched page too. */
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 64, 4, 2, 3, 4, 6);
    expect(base, 0, base, NPAGES * P, 64, 0);
    release(base);
}
END_TEST

/* A latched page reported with a small count: reset stops at the last page returned, the
 * rest (latched or written) stays reported. */
START_TEST(latched_and_written_pages_merge_in_order_under_a_small_count)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    base[6 * P] = base[9 * P] = 1;
    DWORD old;
    ck_assert_int_ne(VirtualProtect(base + 6 * P, 4 * P, PAGE_READWRITE, &old), 0);
    base[2 * P] = base[7 * P] = base[12 * P] = 1;
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 3, 3, 2, 6, 7);
    expect(base, 0, base, NPAGES * P, 64, 2, 9, 12);
    base[6 * P] = 2;
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 2, 2, 6, 9);
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 64, 1, 12);
    expect(base, 0, base, NPAGES * P, 64, 0);
    release(base);
}
END_TEST

/* W27 */
START_TEST(two_thousand_pages_come_back_in_ascending_order)
{
    SIZE_T size = 2048 * P;
    char *base = watched(size, MEM_COMMIT, PAGE_READWRITE);
    expect(base, 0, base, size, 2048, 0);
    for (int i = 0; i < 2048; i += 2)
        ++base[i * P];
    DWORD old;
    ck_assert_int_ne(VirtualProtect(base, size / 2, PAGE_READONLY, &old), 0);
    for (int pass = 0; pass < 2; pass++) {
        ULONG_PTR count = watch_get(pass ? WRITE_WATCH_FLAG_RESET : 0, base, size, 2048);
        ck_assert_uint_eq(count, 1024);
        for (ULONG_PTR i = 0; i < count; i++)
            ck_assert_ptr_eq(g_res[i], base + i * 2 * P);
    }
    expect(base, 0, base, size, 2048, 0);
    release(base);
}
END_TEST

/* A count larger than the range, and the array inside the watched region itself (its pages
 * are written while the call is running). */
START_TEST(results_may_be_written_into_the_watched_region)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    ck_assert_uint_eq(ResetWriteWatch(base, NPAGES * P), 0);
    base[P] = base[3 * P] = 1;
    void **inside = (void **)(base + 8 * P);
    ULONG_PTR count = 100000;
    DWORD gran = 0;
    ck_assert_uint_eq(GetWriteWatch(WRITE_WATCH_FLAG_RESET, base, 8 * P, inside, &count, &gran), 0);
    ck_assert_uint_eq(count, 2);
    ck_assert_ptr_eq(inside[0], base + P);
    ck_assert_ptr_eq(inside[1], base + 3 * P);
    /* Writing the answer wrote page 8. */
    expect(base, 0, base, NPAGES * P, 64, 1, 8);
    release(base);
}
END_TEST

/* Every kind of writable protection is watched; read-only pages cannot be written. */
START_TEST(execute_and_modifier_protections_are_watched)
{
    DWORD prots[] = {PAGE_READWRITE, PAGE_EXECUTE_READWRITE, PAGE_READWRITE | PAGE_NOCACHE,
                     PAGE_READWRITE | PAGE_WRITECOMBINE};
    for (size_t i = 0; i < sizeof prots / sizeof prots[0]; i++) {
        char *base = watched(NPAGES * P, MEM_COMMIT, prots[i]);
        base[9 * P] = 1;
        expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 64, 1, 9);
        ck_assert_int_eq(base[9 * P], 1);
        base[9 * P] = 2;
        expect(base, 0, base, NPAGES * P, 64, 1, 9);
        release(base);
    }
}
END_TEST

/* MEM_RESET keeps what was written; MEM_RESET_UNDO re-dirties (a write, reported). */
START_TEST(reset_and_reset_undo_keep_watch_semantics)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    base[P] = 1;
    ck_assert_ptr_eq(VirtualAlloc(base, 4 * P, MEM_RESET, PAGE_READWRITE), base);
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 64, 1, 1);
    ck_assert_ptr_eq(VirtualAlloc(base + P, P, MEM_RESET, PAGE_READWRITE), base + P);
    expect(base, 0, base, NPAGES * P, 64, 0);
    ck_assert_ptr_eq(VirtualAlloc(base + P, P, MEM_RESET_UNDO, PAGE_READWRITE), base + P);
    expect(base, 0, base, NPAGES * P, 64, 1, 1);
    release(base);
}
END_TEST

#ifndef HM_WINE /* Linux-only: the engines, kernel writes, hm_ functions, fork */

static bool mprotect_engine(void)
{
    return strcmp(hm_write_watch_engine(NULL), "mprotect") == 0;
}

/* Can this process get a userfaultfd with async write-protect (what the kernel engine
 * needs), asked of the kernel directly? */
static bool kernel_can_watch(void)
{
    long fd = syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | 1 /* UFFD_USER_MODE_ONLY */);
    if (fd < 0)
        return false;
    struct uffdio_api api = {.api = UFFD_API, .features = (1ull << 15) | (1ull << 13)};
    bool ok = ioctl((int)fd, UFFDIO_API, &api) == 0;
    close((int)fd);
    return ok;
}

START_TEST(the_engine_is_the_one_asked_for)
{
    const char *env = getenv("HOSTMEM_WRITE_WATCH");
    const char *why = NULL;
    const char *name = hm_write_watch_engine(&why);
    ck_assert_ptr_nonnull(why);
    printf("write-watch engine: %s (%s)\n", name, why);
    if (env && !strcmp(env, "mprotect")) {
        ck_assert_str_eq(name, "mprotect");
        ck_assert_str_eq(why, "HOSTMEM_WRITE_WATCH=mprotect");
    } else if (hm_vg_running()) {
        ck_assert_str_eq(name, "mprotect");
        ck_assert_str_eq(why, "running under Valgrind");
    } else if (kernel_can_watch()) {
        ck_assert_str_eq(name, "kernel");
        ck_assert_str_eq(why, "PAGEMAP_SCAN + userfaultfd async WP available");
    } else {
        ck_assert_str_eq(name, "mprotect");
    }
    /* The choice is made once. */
    ck_assert_ptr_eq(hm_write_watch_engine(NULL), name);
}
END_TEST

/* Run as nobody: the kernel engine needs no privilege (UFFD_USER_MODE_ONLY; here
 * vm.unprivileged_userfaultfd is 0 and /dev/userfaultfd is root's). On a kernel without
 * async write-protect, or under Valgrind, the child must get the mprotect engine instead. */
START_TEST(an_unprivileged_process_gets_the_kernel_engine)
{
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        unsetenv("HOSTMEM_WRITE_WATCH");
        if (getuid() == 0 && setuid(65534) != 0)
            _exit(10);
        /* A process that changed its uid is not dumpable: /proc/self/pagemap would be
         * root's. An ordinary unprivileged process is. */
        prctl(PR_SET_DUMPABLE, 1);
        if (getuid() == 0)
            _exit(11);
        const char *why, *want = kernel_can_watch() && !hm_vg_running() ? "kernel" : "mprotect";
        if (strcmp(hm_write_watch_engine(&why), want) != 0) {
            fprintf(stderr, "engine %s: %s\n", hm_write_watch_engine(NULL), why);
            _exit(12);
        }
        char *base = VirtualAlloc(NULL, NPAGES * P, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                                  PAGE_READWRITE);
        if (!base)
            _exit(13);
        base[5 * P] = 1;
        ULONG_PTR count = 64;
        DWORD gran;
        if (GetWriteWatch(0, base, NPAGES * P, g_res, &count, &gran) != 0 || count != 1 ||
            g_res[0] != base + 5 * P)
            _exit(14);
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
}
END_TEST

static int pipe_with(const char *data, size_t len, int fds[2])
{
    ck_assert_int_eq(pipe(fds), 0);
    ck_assert_int_eq(write(fds[1], data, len), (ssize_t)len);
    return fds[0];
}

/* W9 with read(2): the kernel engine records the kernel's write by itself (only the page
 * written); the mprotect engine cannot take the fault of a kernel write: read(2) into an
 * armed page fails with EFAULT until hm_watch_mark_written. */
START_TEST(read_into_a_watched_buffer)
{
    static const char data[] = "Hello World";
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    memset(base, 0, NPAGES * P);
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 64, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
           10, 11, 12, 13, 14, 15);
    int fds[2];
    int rd = pipe_with(data, sizeof data, fds);
    if (mprotect_engine()) {
        errno = 0;
        ck_assert_int_eq(read(rd, base, NPAGES * P), -1);
        ck_assert_int_eq(errno, EFAULT);
        expect(base, 0, base, NPAGES * P, 64, 0);
    } else {
        ck_assert_int_eq(read(rd, base, NPAGES * P), (ssize_t)sizeof data);
        ck_assert_str_eq(base, data);
        expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 64, 1, 0);
        ck_assert_int_eq(write(fds[1], data, sizeof data), (ssize_t)sizeof data);
    }
    /* Both engines: what Windows does for ReadFile, the whole buffer reads written. */
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(hm_watch_mark_written(base, NPAGES * P), TRUE);
    ck_assert_last_error_untouched();
    ck_assert_int_eq(read(rd, base, NPAGES * P), (ssize_t)sizeof data);
    ck_assert_str_eq(base, data);
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 64, 16, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
           10, 11, 12, 13, 14, 15);
    /* A read of 0 bytes (end of file) after the call: still the whole buffer (W9). */
    close(fds[1]);
    ck_assert_int_eq(hm_watch_mark_written(base + 2 * P, 3 * P), TRUE);
    ck_assert_int_eq(read(rd, base + 2 * P, 3 * P), 0);
    expect(base, 0, base, NPAGES * P, 64, 3, 2, 3, 4);
    close(rd);
    release(base);
}
END_TEST

/* A page written since the last reset is writable under both engines: the kernel may
 * write there without any call. */
START_TEST(read_into_pages_already_written_needs_no_call)
{
    static const char data[] = "0123456789";
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    base[3 * P] = 1;
    int fds[2];
    int rd = pipe_with(data, sizeof data, fds);
    ck_assert_int_eq(read(rd, base + 3 * P + 100, sizeof data), (ssize_t)sizeof data);
    ck_assert_str_eq(base + 3 * P + 100, data);
    expect(base, 0, base, NPAGES * P, 64, 1, 3);
    close(rd);
    close(fds[1]);
    release(base);
}
END_TEST

START_TEST(mark_written_checks_its_range)
{
    char *base = watched(NPAGES * P, 0, PAGE_READWRITE);
    ck_assert_ptr_eq(VirtualAlloc(base, 4 * P, MEM_COMMIT, PAGE_READWRITE), base);
    ck_assert_ptr_eq(VirtualAlloc(base + 4 * P, P, MEM_COMMIT, PAGE_READONLY), base + 4 * P);
    ck_assert_ptr_eq(VirtualAlloc(base + 5 * P, P, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD),
                     base + 5 * P);
    char *plain = VirtualAlloc(NULL, P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    struct { void *a; size_t n; DWORD err; } bad[] = {
        {base, 0, ERROR_INVALID_PARAMETER},
        {plain, P, ERROR_INVALID_PARAMETER},
        {base + NPAGES * P - P, 2 * P, ERROR_INVALID_PARAMETER},
        {base + 3 * P, 2 * P, ERROR_NOACCESS},  /* read-only page */
        {base + 5 * P, P, ERROR_NOACCESS},      /* guard page */
        {base + 2 * P, 6 * P, ERROR_NOACCESS},  /* runs into reserved pages */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        SetLastError(HM_SENTINEL);
        ck_assert_int_eq(hm_watch_mark_written(bad[i].a, bad[i].n), FALSE);
        ck_assert_last_error(bad[i].err);
    }
    expect(base, 0, base, NPAGES * P, 64, 0);
    ck_assert_int_eq(hm_watch_mark_written(base + 1, 2), TRUE); /* every page it touches */
    expect(base, 0, base, NPAGES * P, 64, 1, 0);
    ck_assert_region(base + 5 * P, base + 5 * P, base, PAGE_READWRITE, P, MEM_COMMIT,
                     PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
    release(plain);
    release(base);
}
END_TEST

static volatile sig_atomic_t g_guard_hits;
static void on_guard(void *addr, void *ctx)
{
    (void)addr;
    (void)ctx;
    g_guard_hits++;
}

/* G6: the guard fires once, then the retried write is recorded; a read that trips the
 * guard records nothing; a failed VirtualLock records nothing, a successful one records
 * the page (Windows 10: count 1; todo_wine). */
START_TEST(guard_pages_fire_before_the_watch_records)
{
    char *base = watched(P, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    volatile LONG *value = (volatile LONG *)base;
    ck_assert_region(base, base, base, PAGE_READWRITE | PAGE_GUARD, P, MEM_COMMIT,
                     PAGE_READWRITE | PAGE_GUARD, MEM_PRIVATE);
    hm_set_guard_page_callback(on_guard, NULL);
    expect(base, 0, base, P, 64, 0);
    value[0] = 1;
    value[1] = 2;
    ck_assert_int_eq(g_guard_hits, 1);
    expect(base, WRITE_WATCH_FLAG_RESET, base, P, 64, 1, 0);

    DWORD old;
    ck_assert_int_ne(VirtualProtect(base, P, PAGE_READWRITE | PAGE_GUARD, &old), 0);
    ck_assert_int_eq(value[1], 2);
    ck_assert_int_eq(g_guard_hits, 2);
    expect(base, 0, base, P, 64, 0);
    value[1] = 3;
    expect(base, WRITE_WATCH_FLAG_RESET, base, P, 64, 1, 0);

    ck_assert_int_ne(VirtualProtect(base, P, PAGE_READWRITE | PAGE_GUARD, &old), 0);
    SetLastError(HM_SENTINEL);
    ck_assert_int_eq(VirtualLock(base, P), FALSE);
    ck_assert_last_error(0x80000001u);
    expect(base, 0, base, P, 64, 0);
    ck_assert_int_ne(VirtualLock(base, P), FALSE);
    ck_assert_int_eq(value[0], 1);
    ck_assert_int_ne(VirtualUnlock(base, P), FALSE);
    expect(base, WRITE_WATCH_FLAG_RESET, base, P, 64, 1, 0);
    hm_set_guard_page_callback(NULL, NULL);
    release(base);
}
END_TEST

/* A forked child neither reads nor resets its parent's state, and tracks its own writes
 * (the kernel engine reports the child's inherited pages written once: it cannot know). */
START_TEST(a_forked_child_keeps_to_its_own_memory)
{
    char *base = watched(NPAGES * P, MEM_COMMIT, PAGE_READWRITE);
    base[P] = 1;
    fflush(stdout);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        ULONG_PTR count = 64;
        DWORD gran;
        if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, base, NPAGES * P, g_res, &count, &gran) != 0)
            _exit(10);
        bool has1 = false;
        for (ULONG_PTR i = 0; i < count; i++)
            has1 |= g_res[i] == base + P;
        if (!has1 || (mprotect_engine() && count != 1))
            _exit(11);
        base[3 * P] = 1;
        count = 64;
        if (GetWriteWatch(0, base, NPAGES * P, g_res, &count, &gran) != 0 || count != 1 ||
            g_res[0] != base + 3 * P)
            _exit(12);
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %#x", st);
    expect(base, 0, base, NPAGES * P, 64, 1, 1);
    base[5 * P] = 1;
    expect(base, WRITE_WATCH_FLAG_RESET, base, NPAGES * P, 64, 2, 1, 5);
    release(base);
}
END_TEST

START_TEST(statistics_count_watched_bytes)
{
    hm_vm_stats_t s0, s1, s2;
    hm_vm_get_stats(&s0);
    char *a = watched(4 * G, 0, PAGE_READWRITE);
    char *b = watched(G, MEM_COMMIT, PAGE_READWRITE);
    char *plain = VirtualAlloc(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    hm_vm_get_stats(&s1);
    ck_assert_uint_eq(s1.watched_bytes - s0.watched_bytes, 5 * G);
    release(a);
    release(b);
    release(plain);
    hm_vm_get_stats(&s2);
    ck_assert_uint_eq(s2.watched_bytes, s0.watched_bytes);
}
END_TEST

/* Report-and-reset is atomic: with writers running all the time and small counts, every
 * page whose write was not yet reported is reported by a later call. */
#define RACE_PAGES 256
#define RACE_WRITERS 4
typedef struct race {
    char *base;
    volatile int pending[RACE_PAGES]; /* set before each write; cleared once reported */
    int stop; /* set when the collector is done */
    unsigned seed;
} race_t;

/* Each writer stores to its own byte of a page: a plain store (the faulting access must
 * not sit inside a sanitizer's atomic), and no two writers race on one byte. */
static void *race_writer(void *arg)
{
    race_t *r = arg;
    unsigned me = __atomic_fetch_add(&r->seed, 1, __ATOMIC_RELAXED);
    unsigned seed = 7919u * (me + 1);
    for (int i = 0; !__atomic_load_n(&r->stop, __ATOMIC_RELAXED); i++) {
        seed = seed * 1103515245u + 12345u;
        unsigned p = (seed >> 8) % RACE_PAGES;
        __atomic_store_n(&r->pending[p], 1, __ATOMIC_SEQ_CST);
        ((volatile char *)r->base)[p * P + me] = (char)i;
    }
    return NULL;
}

START_TEST(concurrent_writes_are_never_lost)
{
    static race_t r;
    r.base = watched(RACE_PAGES * P, MEM_COMMIT, PAGE_READWRITE);
    pthread_t t[RACE_WRITERS];
    for (int i = 0; i < RACE_WRITERS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, race_writer, &r), 0);
    for (int round = 0; round < 4000; round++) {
        ULONG_PTR count = 1 + (ULONG_PTR)round % 40;
        DWORD gran;
        ck_assert_uint_eq(GetWriteWatch(WRITE_WATCH_FLAG_RESET, r.base, RACE_PAGES * P, g_res,
                                        &count, &gran), 0);
        for (ULONG_PTR i = 1; i < count; i++)
            ck_assert((uintptr_t)g_res[i - 1] < (uintptr_t)g_res[i]);
        for (ULONG_PTR i = 0; i < count; i++)
            __atomic_store_n(&r.pending[((char *)g_res[i] - r.base) / (long)P], 0, __ATOMIC_SEQ_CST);
    }
    __atomic_store_n(&r.stop, 1, __ATOMIC_RELAXED);
    for (int i = 0; i < RACE_WRITERS; i++)
        ck_assert_int_eq(pthread_join(t[i], NULL), 0);
    ULONG_PTR count = watch_get(0, r.base, RACE_PAGES * P, RACE_PAGES);
    for (int p = 0; p < RACE_PAGES; p++) {
        if (!r.pending[p])
            continue;
        bool seen = false;
        for (ULONG_PTR i = 0; i < count; i++)
            seen |= g_res[i] == r.base + p * P;
        ck_assert_msg(seen, "page %d was written and never reported", p);
    }
    release(r.base);
}
END_TEST
#endif /* HM_WINE */

static Suite *make_suite(void)
{
    Suite *s = suite_create("write_watch");
    hm_add(s, tcase_create("writes_are_reported_per_page_and_reset_clears_them"), writes_are_reported_per_page_and_reset_clears_them);
    hm_add(s, tcase_create("sub_ranges_report_and_reset_only_their_pages"), sub_ranges_report_and_reset_only_their_pages);
    hm_add(s, tcase_create("a_write_across_two_pages_marks_both"), a_write_across_two_pages_marks_both);
    hm_add(s, tcase_create("a_small_count_resets_only_up_to_the_last_page_returned"), a_small_count_resets_only_up_to_the_last_page_returned);
    hm_add(s, tcase_create("protection_changes_keep_the_watch_state"), protection_changes_keep_the_watch_state);
    hm_add(s, tcase_create("virtualquery_is_not_split_by_written_pages"), virtualquery_is_not_split_by_written_pages);
    hm_add(s, tcase_create("ranges_outside_a_watched_allocation_are_invalid_parameter"), ranges_outside_a_watched_allocation_are_invalid_parameter);
    hm_add(s, tcase_create("bad_counts_pointers_and_flags_fail_in_windows_order"), bad_counts_pointers_and_flags_fail_in_windows_order);
    hm_add(s, tcase_create("bad_sizes_are_invalid_parameter"), bad_sizes_are_invalid_parameter);
    hm_add(s, tcase_create("write_watch_needs_mem_reserve"), write_watch_needs_mem_reserve);
    hm_add(s, tcase_create("reserved_pages_report_nothing_and_reset_succeeds"), reserved_pages_report_nothing_and_reset_succeeds);
    hm_add(s, tcase_create("writes_through_a_changed_protection_are_reported"), writes_through_a_changed_protection_are_reported);
    hm_add(s, tcase_create("decommit_and_protect_make_no_spurious_hits"), decommit_and_protect_make_no_spurious_hits);
    hm_add(s, tcase_create("decommit_clears_the_watch_state"), decommit_clears_the_watch_state);
    hm_add(s, tcase_create("virtualprotect_latches_written_pages_across_decommit"), virtualprotect_latches_written_pages_across_decommit);
    hm_add(s, tcase_create("latched_and_written_pages_merge_in_order_under_a_small_count"), latched_and_written_pages_merge_in_order_under_a_small_count);
    hm_add(s, tcase_create("two_thousand_pages_come_back_in_ascending_order"), two_thousand_pages_come_back_in_ascending_order);
    hm_add(s, tcase_create("results_may_be_written_into_the_watched_region"), results_may_be_written_into_the_watched_region);
    hm_add(s, tcase_create("execute_and_modifier_protections_are_watched"), execute_and_modifier_protections_are_watched);
    hm_add(s, tcase_create("reset_and_reset_undo_keep_watch_semantics"), reset_and_reset_undo_keep_watch_semantics);
    HM_LINUX_ONLY(hm_add(s, tcase_create("the_engine_is_the_one_asked_for"), the_engine_is_the_one_asked_for));
    HM_LINUX_ONLY(hm_add(s, tcase_create("an_unprivileged_process_gets_the_kernel_engine"), an_unprivileged_process_gets_the_kernel_engine));
    HM_LINUX_ONLY(hm_add(s, tcase_create("read_into_a_watched_buffer"), read_into_a_watched_buffer));
    HM_LINUX_ONLY(hm_add(s, tcase_create("read_into_pages_already_written_needs_no_call"), read_into_pages_already_written_needs_no_call));
    HM_LINUX_ONLY(hm_add(s, tcase_create("mark_written_checks_its_range"), mark_written_checks_its_range));
    HM_LINUX_ONLY(hm_add(s, tcase_create("guard_pages_fire_before_the_watch_records"), guard_pages_fire_before_the_watch_records));
    HM_LINUX_ONLY(hm_add(s, tcase_create("a_forked_child_keeps_to_its_own_memory"), a_forked_child_keeps_to_its_own_memory));
    HM_LINUX_ONLY(hm_add(s, tcase_create("statistics_count_watched_bytes"), statistics_count_watched_bytes));
    HM_LINUX_ONLY(hm_add(s, tcase_create("concurrent_writes_are_never_lost"), concurrent_writes_are_never_lost));
    return s;
}

HM_TEST_MAIN(make_suite)
