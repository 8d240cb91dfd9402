/*
 * test_privilege.c — SeLockMemoryPrivilege on Linux: AllocateUserPhysicalPages and
 * MEM_LARGE_PAGES need the right to lock memory (CAP_IPC_LOCK, or an RLIMIT_MEMLOCK that
 * covers what is locked, what hostmem holds as large and AWE pages, and the request);
 * without it they fail with ERROR_PRIVILEGE_NOT_HELD (1314) and change nothing.
 * Every case drops or lowers the right in a child it forks (setuid to nobody, capset,
 * setrlimit), so the test process keeps its own.
 * Rows: memoryapi.md §5.3 (MEM_LARGE_PAGES), §5.11; semantics-decisions (privilege rows).
 *
 * HM_USES_HUGE_PAGES: large pages with HOSTMEM_LARGE_PAGES=thp come from the pool if it has any.
 * HM_LINUX_ONLY_FILE: the cases set Linux capabilities, user ids and RLIMIT_MEMLOCK.
 */
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define L ((SIZE_T)0x200000)
#define PROC GetCurrentProcess()

/* In the child: report and exit 1 (Check's asserts belong to the test process). */
#define REQUIRE(c)                                                                         \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "child: %s:%d: %s (last error %u)\n", __FILE__, __LINE__, #c,  \
                    GetLastError());                                                       \
            _exit(1);                                                                      \
        }                                                                                  \
    } while (0)

static void in_child(void (*fn)(void))
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        fn();
        _exit(0);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child failed (status %#x)", st);
}

static bool has_cap_ipc_lock(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    REQUIRE(syscall(SYS_capget, &h, d) == 0);
    return (d[CAP_IPC_LOCK / 32].effective >> (CAP_IPC_LOCK % 32)) & 1u;
}

static void drop_cap_ipc_lock(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    REQUIRE(syscall(SYS_capget, &h, d) == 0);
    d[CAP_IPC_LOCK / 32].effective &= ~(1u << (CAP_IPC_LOCK % 32));
    REQUIRE(syscall(SYS_capset, &h, d) == 0);
    REQUIRE(!has_cap_ipc_lock());
}

/* The soft limit (the one the kernel and hostmem go by); the hard one stays. */
static void set_memlock(uint64_t bytes)
{
    struct rlimit rl;
    REQUIRE(getrlimit(RLIMIT_MEMLOCK, &rl) == 0);
    REQUIRE(rl.rlim_max == RLIM_INFINITY || bytes <= rl.rlim_max);
    rl.rlim_cur = bytes;
    REQUIRE(setrlimit(RLIMIT_MEMLOCK, &rl) == 0);
}

/* VmLck of this process, bytes. */
static uint64_t vm_lck(void)
{
    FILE *f = fopen("/proc/self/status", "re");
    REQUIRE(f != NULL);
    char line[256];
    uint64_t kb = 0;
    while (fgets(line, sizeof line, f))
        if (!strncmp(line, "VmLck:", 6))
            kb = strtoull(line + 6, NULL, 10);
    fclose(f);
    return kb * 1024;
}

static uint64_t committed(void)
{
    hm_stats_t s = {.cb_size = sizeof s};
    REQUIRE(hm_get_stats(&s) == 0);
    return s.committed_bytes;
}

static uint64_t reservations(void)
{
    hm_stats_t s = {.cb_size = sizeof s};
    REQUIRE(hm_get_stats(&s) == 0);
    return s.reservations;
}

/* A 2 MiB-aligned free address with 4 MiB free after it. */
static char *free_large_range(void)
{
    char *p = VirtualAlloc(NULL, 8 * L, MEM_RESERVE, PAGE_NOACCESS);
    REQUIRE(p != NULL);
    REQUIRE(VirtualFree(p, 0, MEM_RELEASE));
    return (char *)(((uintptr_t)p + L - 1) & ~(uintptr_t)(L - 1));
}

static DWORD state_of(const void *p)
{
    MEMORY_BASIC_INFORMATION m;
    REQUIRE(VirtualQuery(p, &m, sizeof m) == sizeof m);
    return m.State;
}

/* ---- No right at all: setuid to nobody, RLIMIT_MEMLOCK 0 ------------------------------ */

static void nobody_child(void)
{
    set_memlock(0);
    if (geteuid() == 0)
        REQUIRE(setuid(65534) == 0); /* leaves no capability */
    else if (has_cap_ipc_lock())
        drop_cap_ipc_lock();
    REQUIRE(!has_cap_ipc_lock());
    uint64_t c0 = committed(), r0 = reservations();

    ULONG_PTR pfns[4] = {0}, n = 4;
    SetLastError(HM_SENTINEL);
    REQUIRE(AllocateUserPhysicalPages(PROC, &n, pfns) == FALSE);
    REQUIRE(GetLastError() == ERROR_PRIVILEGE_NOT_HELD);
    REQUIRE(n == 4 && pfns[0] == 0);
    REQUIRE(committed() == c0);
    /* no page was allocated: the process has no AWE state (87 before anything else) */
    char *w = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE);
    REQUIRE(w != NULL); /* a window needs no privilege (WRK allocvm.c) */
    REQUIRE(MapUserPhysicalPages(w, 1, NULL) == FALSE);
    REQUIRE(GetLastError() == ERROR_INVALID_PARAMETER);
    REQUIRE(VirtualFree(w, 0, MEM_RELEASE));

    char *at = free_large_range();
    for (int thp = 0; thp < 2; thp++) {
        if (thp)
            setenv("HOSTMEM_LARGE_PAGES", "thp", 1); /* the right comes before the policy */
        SetLastError(HM_SENTINEL);
        REQUIRE(VirtualAlloc(at, 2 * L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                             PAGE_READWRITE) == NULL);
        REQUIRE(GetLastError() == ERROR_PRIVILEGE_NOT_HELD);
        REQUIRE(VirtualAlloc(NULL, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                             PAGE_READWRITE) == NULL);
        REQUIRE(GetLastError() == ERROR_PRIVILEGE_NOT_HELD);
        REQUIRE(state_of(at) == MEM_FREE && state_of(at + L) == MEM_FREE);
    }
    /* argument errors still come first */
    REQUIRE(VirtualAlloc(NULL, L + P, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
                         PAGE_READWRITE) == NULL);
    REQUIRE(GetLastError() == ERROR_INVALID_PARAMETER);
    n = 0;
    REQUIRE(AllocateUserPhysicalPages(PROC, &n, pfns) == TRUE);
    n = 1;
    REQUIRE(AllocateUserPhysicalPages(NULL, &n, pfns) == FALSE);
    REQUIRE(GetLastError() == ERROR_INVALID_HANDLE);
    REQUIRE(committed() == c0 && reservations() == r0);
}

START_TEST(without_the_right_large_pages_and_awe_fail_with_privilege_not_held)
{
    in_child(nobody_child);
}
END_TEST

/* ---- No CAP_IPC_LOCK, but RLIMIT_MEMLOCK covers the request ---------------------------- */

static void rlimit_child(void)
{
    drop_cap_ipc_lock();
    uint64_t base = vm_lck();
    set_memlock(base + 16 * P);
    ULONG_PTR a[8], b[16], n = 8;
    REQUIRE(AllocateUserPhysicalPages(PROC, &n, a) && n == 8); /* 8 of 16 pages */
    n = 16;
    SetLastError(HM_SENTINEL);
    REQUIRE(AllocateUserPhysicalPages(PROC, &n, b) == FALSE); /* 8 + 16 > 16 */
    REQUIRE(GetLastError() == ERROR_PRIVILEGE_NOT_HELD);
    REQUIRE(n == 16);
    n = 8;
    REQUIRE(AllocateUserPhysicalPages(PROC, &n, b) && n == 8); /* exactly 16 */
    n = 1;
    REQUIRE(AllocateUserPhysicalPages(PROC, &n, b + 8) == FALSE);
    REQUIRE(GetLastError() == ERROR_PRIVILEGE_NOT_HELD);
    /* freed pages give the room back */
    n = 8;
    REQUIRE(FreeUserPhysicalPages(PROC, &n, a) && n == 8);
    n = 8;
    REQUIRE(AllocateUserPhysicalPages(PROC, &n, a) && n == 8);
    n = 8;
    REQUIRE(FreeUserPhysicalPages(PROC, &n, a) && n == 8);
    n = 8;
    REQUIRE(FreeUserPhysicalPages(PROC, &n, b) && n == 8);

    /* memory locked with VirtualLock counts too (VmLck) */
    char *m = VirtualAlloc(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    REQUIRE(m != NULL && VirtualLock(m, 8 * P));
    REQUIRE(vm_lck() >= base + 8 * P);
    n = 16;
    REQUIRE(AllocateUserPhysicalPages(PROC, &n, b) == FALSE);
    REQUIRE(GetLastError() == ERROR_PRIVILEGE_NOT_HELD);
    REQUIRE(VirtualUnlock(m, 8 * P) && VirtualFree(m, 0, MEM_RELEASE));
    REQUIRE(AllocateUserPhysicalPages(PROC, &n, b) && n == 16);
    REQUIRE(FreeUserPhysicalPages(PROC, &n, b) && n == 16);

    /* large pages: the limit covers two 2 MiB allocations, not three (the THP policy makes
     * the outcome independent of the huge-page pool) */
    setenv("HOSTMEM_LARGE_PAGES", "thp", 1);
    set_memlock(vm_lck() + 2 * L);
    char *x = VirtualAlloc(NULL, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE);
    REQUIRE(x != NULL);
    char *y = VirtualAlloc(NULL, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE);
    REQUIRE(y != NULL);
    uint64_t r0 = reservations();
    SetLastError(HM_SENTINEL);
    REQUIRE(VirtualAlloc(NULL, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE) ==
            NULL);
    REQUIRE(GetLastError() == ERROR_PRIVILEGE_NOT_HELD);
    REQUIRE(reservations() == r0);
    n = 1;
    REQUIRE(AllocateUserPhysicalPages(PROC, &n, a) == FALSE); /* AWE shares the same limit */
    REQUIRE(GetLastError() == ERROR_PRIVILEGE_NOT_HELD);
    REQUIRE(VirtualFree(x, 0, MEM_RELEASE));
    char *z = VirtualAlloc(NULL, L, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES, PAGE_READWRITE);
    REQUIRE(z != NULL);
    REQUIRE(VirtualFree(y, 0, MEM_RELEASE) && VirtualFree(z, 0, MEM_RELEASE));
}

START_TEST(without_cap_ipc_lock_an_rlimit_that_covers_the_request_is_the_right)
{
    in_child(rlimit_child);
}
END_TEST

/* ---- CAP_IPC_LOCK alone is the right, whatever RLIMIT_MEMLOCK says -------------------- */

static void cap_child(void)
{
    set_memlock(0);
    ULONG_PTR a[32], n = 32;
    REQUIRE(AllocateUserPhysicalPages(PROC, &n, a) && n == 32);
    REQUIRE(FreeUserPhysicalPages(PROC, &n, a) && n == 32);
}

START_TEST(cap_ipc_lock_is_the_right_even_with_rlimit_zero)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[2];
    ck_assert_int_eq(syscall(SYS_capget, &h, d), 0);
    if (!((d[CAP_IPC_LOCK / 32].effective >> (CAP_IPC_LOCK % 32)) & 1u)) {
        printf("cap_ipc_lock_is_the_right_even_with_rlimit_zero: skipped, this process has no "
               "CAP_IPC_LOCK (not root)\n");
        return;
    }
    in_child(cap_child);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("privilege");
    hm_add(s, tcase_create("without_the_right_large_pages_and_awe_fail_with_privilege_not_held"), without_the_right_large_pages_and_awe_fail_with_privilege_not_held);
    hm_add(s, tcase_create("without_cap_ipc_lock_an_rlimit_that_covers_the_request_is_the_right"), without_cap_ipc_lock_an_rlimit_that_covers_the_request_is_the_right);
    hm_add(s, tcase_create("cap_ipc_lock_is_the_right_even_with_rlimit_zero"), cap_ipc_lock_is_the_right_even_with_rlimit_zero);
    return s;
}

HM_TEST_MAIN(make_suite)
