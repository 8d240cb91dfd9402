/*
 * test_valgrind.c — what Valgrind's memcheck learns from hostmem (src/valgrind_hooks.h):
 * committed pages are defined whatever their protection, reserved, decommitted and
 * released pages no access, reset pages undefined until written or until MEM_RESET_UNDO
 * gives them back, placeholders and AWE windows no access where nothing is mapped. Under
 * Valgrind (HOSTMEM_VALGRIND=ON) each case asks memcheck about every page it changed
 * (VALGRIND_CHECK_MEM_IS_ADDRESSABLE / _IS_DEFINED with error reporting off, so the
 * questions are not errors themselves), and any report about hostmem — a guard page's
 * first touch, MEM_RESET_UNDO reading a reset page — fails the case (exit 99). Natively
 * the cases say so and check only that the same calls behave as without the hooks.
 *
 * HM_LINUX_ONLY_FILE: memcheck client requests (Valgrind on Linux).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define PROC GetCurrentProcess()

typedef enum { NOACCESS, UNDEFINED, DEFINED } vg_state_t;

/* True under Valgrind; natively says once per case what is left to check. */
static bool vg(void)
{
    static bool said;
    if (hm_vg_running())
        return true;
    if (!said)
        printf("not under Valgrind: memcheck's view not checked, only that hostmem behaves "
               "the same with its client requests\n");
    said = true;
    return false;
}

#ifdef HM_HAVE_VALGRIND
/* Memcheck's answer for [p, p+n): the first byte that is not addressable / not defined,
 * or NULL. Error reporting is off meanwhile: the answer is the test's, not an error. */
static const char *first_unaddressable(const char *p, size_t n)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    uintptr_t bad = VALGRIND_CHECK_MEM_IS_ADDRESSABLE(p, n);
    VALGRIND_ENABLE_ERROR_REPORTING;
    return (const char *)bad;
}

static const char *first_undefined(const char *p, size_t n)
{
    VALGRIND_DISABLE_ERROR_REPORTING;
    uintptr_t bad = VALGRIND_CHECK_MEM_IS_DEFINED(p, n);
    VALGRIND_ENABLE_ERROR_REPORTING;
    return (const char *)bad;
}

/* Every byte of pages [first, first+n) of a is in `want` (first and last byte of each page
 * checked one by one, and a defined range as a whole). */
static void expect_pages(const char *a, size_t first, size_t n, vg_state_t want, int line)
{
    static const char *const names[] = {"no access", "undefined", "defined"};
    for (size_t i = first; i < first + n; i++) {
        for (const char *b = a + i * P; b < a + (i + 1) * P; b += P - 1) {
            vg_state_t got = first_unaddressable(b, 1) ? NOACCESS
                             : first_undefined(b, 1)   ? UNDEFINED
                                                       : DEFINED;
            ck_assert_msg(got == want, "line %d: page %zu byte %#zx is %s to memcheck, not %s",
                          line, i, (size_t)(b - (a + i * P)), names[got], names[want]);
        }
    }
    if (want == DEFINED)
        ck_assert_msg(first_undefined(a + first * P, n * P) == NULL,
                      "line %d: pages %zu+%zu not all defined", line, first, n);
}
#define expect(a, first, n, want)                                                          \
    do {                                                                                   \
        if (vg())                                                                          \
            expect_pages((a), (first), (n), (want), __LINE__);                             \
    } while (0)
#else
#define expect(a, first, n, want) ((void)vg())
#endif

static bool all_bytes(const char *p, SIZE_T n, char c)
{
    for (SIZE_T i = 0; i < n; i++)
        if (p[i] != c)
            return false;
    return true;
}

static char *commit(char *at, SIZE_T size, DWORD prot)
{
    char *p = VirtualAlloc(at, size, MEM_COMMIT, prot);
    ck_assert_msg(p == at, "commit %p+%#zx: %u", at, (size_t)size, GetLastError());
    return p;
}

static void reset(char *at, SIZE_T size)
{
    ck_assert_msg(VirtualAlloc(at, size, MEM_RESET, PAGE_NOACCESS) == at, "reset: %u",
                  GetLastError());
}

static void release(void *p)
{
    ck_assert_msg(VirtualFree(p, 0, MEM_RELEASE), "release %p: %u", p, GetLastError());
}

/* A commit makes fresh pages defined whatever their protection (they read zero); a guard
 * page's first touch is then no memcheck error, only hostmem's fault. */
START_TEST(commit_marks_fresh_pages_defined_whatever_the_protection)
{
    char *a = VirtualAlloc(NULL, 4 * P, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    expect(a, 0, 4, NOACCESS);
    commit(a, P, PAGE_READWRITE);
    commit(a + P, P, PAGE_NOACCESS);
    commit(a + 2 * P, P, PAGE_READWRITE | PAGE_GUARD);
    expect(a, 0, 3, DEFINED);
    expect(a, 3, 1, NOACCESS);
    ck_assert(all_bytes(a, P, 0));
    ck_assert(all_bytes(a + 2 * P, P, 0)); /* the guard fires, the read is retried */
    ck_assert_region(a + 2 * P, a + 2 * P, a, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    char *b = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    ck_assert_ptr_nonnull(b);
    expect(b, 0, 2, DEFINED);
    b[P] = 1;
    ck_assert_int_eq(b[P], 1);
    release(b);
    release(a);
}
END_TEST

/* Committing committed pages again changes nothing: a reset page stays undefined. */
START_TEST(commit_leaves_committed_pages_as_they_are)
{
    char *a = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    memset(a, 0x5A, 2 * P);
    reset(a, P);
    commit(a, 2 * P, PAGE_READWRITE);
    expect(a, 0, 1, UNDEFINED);
    expect(a, 1, 1, DEFINED);
    ck_assert(all_bytes(a + P, P, 0x5A));
    release(a);
}
END_TEST

/* MEM_RESET: committed, unlocked pages become undefined; locked pages (not reset) stay
 * defined, reserved ones no access; a write defines what it writes. */
START_TEST(reset_marks_committed_unlocked_pages_undefined)
{
    char *a = VirtualAlloc(NULL, 4 * P, MEM_RESERVE, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    commit(a, 2 * P, PAGE_READWRITE);
    commit(a + 3 * P, P, PAGE_READWRITE);
    memset(a, 0x11, 2 * P);
    memset(a + 3 * P, 0x33, P);
    ck_assert_msg(VirtualLock(a + P, P), "lock: %u", GetLastError());
    reset(a, 4 * P);
    expect(a, 0, 1, UNDEFINED);
    expect(a, 1, 1, DEFINED);
    expect(a, 2, 1, NOACCESS);
    expect(a, 3, 1, UNDEFINED);
    ck_assert(all_bytes(a + P, P, 0x11)); /* locked: not reset */
    a[0] = 7;
#ifdef HM_HAVE_VALGRIND
    if (vg()) {
        ck_assert_ptr_null(first_undefined(a, 1));
        ck_assert_ptr_eq(first_undefined(a, 2), a + 1);
    }
#endif
    ck_assert_msg(VirtualUnlock(a + P, P), "unlock: %u", GetLastError());
    release(a);
    expect(a, 0, 4, NOACCESS);
}
END_TEST

/* MEM_RESET_UNDO: on success the pages hold their data again (defined); on failure they
 * stay undefined. */
START_TEST(reset_undo_marks_the_pages_defined_again)
{
    char *a = VirtualAlloc(NULL, 3 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    memset(a, 0x42, 3 * P);
    reset(a, 3 * P);
    expect(a, 0, 3, UNDEFINED);
    if (VirtualAlloc(a, 3 * P, MEM_RESET_UNDO, PAGE_NOACCESS) == a) {
        expect(a, 0, 3, DEFINED);
        ck_assert(all_bytes(a, 3 * P, 0x42));
    } else { /* the kernel took a page meanwhile */
        ck_assert_last_error(ERROR_INVALID_ADDRESS);
        expect(a, 0, 3, UNDEFINED);
    }
    release(a);
}
END_TEST

/* A page shared with a forked child is neither dropped by MEM_RESET nor exclusive, so
 * MEM_RESET_UNDO reads it to tell kept data from the zero page: hostmem's own look at a
 * reset (undefined) page, which memcheck must not report. */
START_TEST(reset_undo_reads_shared_pages_without_a_report)
{
    char *a = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    memset(a, 0x6B, 2 * P);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) { /* holds the pages until the parent closes the pipe */
        char c;
        close(fds[1]);
        _exit(read(fds[0], &c, 1) == 0 ? 0 : 1);
    }
    close(fds[0]);
    reset(a, 2 * P);
    expect(a, 0, 2, UNDEFINED);
    ck_assert_msg(VirtualAlloc(a, 2 * P, MEM_RESET_UNDO, PAGE_NOACCESS) == a, "undo: %u",
                  GetLastError());
    expect(a, 0, 2, DEFINED);
    ck_assert(all_bytes(a, 2 * P, 0x6B));
    close(fds[1]);
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    release(a);
}
END_TEST

/* Decommit and release: no access; a page committed again is defined and reads zero. */
START_TEST(decommit_and_release_mark_pages_noaccess)
{
    char *a = VirtualAlloc(NULL, 3 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_nonnull(a);
    memset(a, 0x77, 3 * P);
    ck_assert_msg(VirtualFree(a + P, P, MEM_DECOMMIT), "decommit: %u", GetLastError());
    expect(a, 0, 1, DEFINED);
    expect(a, 1, 1, NOACCESS);
    expect(a, 2, 1, DEFINED);
    commit(a + P, P, PAGE_READWRITE);
    expect(a, 1, 1, DEFINED);
    ck_assert(all_bytes(a + P, P, 0));
    ck_assert_msg(VirtualFree(a, 0, MEM_DECOMMIT), "decommit all: %u", GetLastError());
    expect(a, 0, 3, NOACCESS);
    commit(a + 2 * P, P, PAGE_READONLY);
    expect(a, 2, 1, DEFINED);
    release(a);
    expect(a, 0, 3, NOACCESS);
}
END_TEST

/* Placeholders: no access; replaced with a committed allocation, defined; back to a
 * placeholder (MEM_PRESERVE_PLACEHOLDER), no access again. */
START_TEST(placeholder_pages_follow_replace_and_preserve)
{
    char *p = VirtualAlloc2(NULL, NULL, 2 * G, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
                            PAGE_NOACCESS, NULL, 0);
    ck_assert_msg(p != NULL, "placeholder: %u", GetLastError());
    expect(p, 0, 2 * G / P, NOACCESS);
    ck_assert_msg(VirtualFree(p, G, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER), "split: %u",
                  GetLastError());
    char *q = VirtualAlloc2(NULL, p, G, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                            PAGE_READWRITE, NULL, 0);
    ck_assert_msg(q == p, "replace: %u", GetLastError());
    expect(p, 0, G / P, DEFINED);
    expect(p, G / P, G / P, NOACCESS);
    ck_assert(all_bytes(p, G, 0));
    memset(p, 0x21, G);
    ck_assert_msg(VirtualFree(p, G, MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER), "preserve: %u",
                  GetLastError());
    expect(p, 0, 2 * G / P, NOACCESS);
    release(p);
    release(p + G);
}
END_TEST

/* AWE: a window page is defined while a physical page is mapped there, no access after
 * (memcheck follows hostmem's mmap()s over the window by itself). */
START_TEST(awe_window_pages_are_defined_only_where_mapped)
{
    ULONG_PTR pfn, n = 1;
    if (!AllocateUserPhysicalPages(PROC, &n, &pfn)) {
        ck_assert_last_error(ERROR_PRIVILEGE_NOT_HELD);
        printf("skipped: no right to lock memory here (AllocateUserPhysicalPages: 1314)\n");
        return;
    }
    ck_assert_uint_eq(n, 1);
    char *w = VirtualAlloc(NULL, 2 * P, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE);
    ck_assert_msg(w != NULL, "window: %u", GetLastError());
    expect(w, 0, 2, NOACCESS);
    ck_assert_msg(MapUserPhysicalPages(w + P, 1, &pfn), "map: %u", GetLastError());
    expect(w, 0, 1, NOACCESS);
    expect(w, 1, 1, DEFINED);
    memset(w + P, 0x19, P);
    ck_assert_msg(MapUserPhysicalPages(w + P, 1, NULL), "unmap: %u", GetLastError());
    expect(w, 1, 1, NOACCESS);
    ck_assert_msg(MapUserPhysicalPages(w, 1, &pfn), "map again: %u", GetLastError());
    expect(w, 0, 1, DEFINED);
    ck_assert(all_bytes(w, P, 0x19));
    release(w);
    ck_assert_msg(FreeUserPhysicalPages(PROC, &n, &pfn), "free: %u", GetLastError());
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("valgrind");
    hm_add(s, tcase_create("commit_marks_fresh_pages_defined_whatever_the_protection"), commit_marks_fresh_pages_defined_whatever_the_protection);
    hm_add(s, tcase_create("commit_leaves_committed_pages_as_they_are"), commit_leaves_committed_pages_as_they_are);
    hm_add(s, tcase_create("reset_marks_committed_unlocked_pages_undefined"), reset_marks_committed_unlocked_pages_undefined);
    hm_add(s, tcase_create("reset_undo_marks_the_pages_defined_again"), reset_undo_marks_the_pages_defined_again);
    hm_add(s, tcase_create("reset_undo_reads_shared_pages_without_a_report"), reset_undo_reads_shared_pages_without_a_report);
    hm_add(s, tcase_create("decommit_and_release_mark_pages_noaccess"), decommit_and_release_mark_pages_noaccess);
    hm_add(s, tcase_create("placeholder_pages_follow_replace_and_preserve"), placeholder_pages_follow_replace_and_preserve);
    hm_add(s, tcase_create("awe_window_pages_are_defined_only_where_mapped"), awe_window_pages_are_defined_only_where_mapped);
    return s;
}

HM_TEST_MAIN(make_suite)
