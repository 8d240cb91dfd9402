/*
 * testlib.c — suite runner, fault probes and small helpers for the Check suites (see testlib.h).
 */
#define _DEFAULT_SOURCE /* readlink */
#include "testlib.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int hm_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int probe(volatile void *addr, bool write)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (write)
            *(volatile char *)addr = 1;
        else
            (void)*(volatile const char *)addr;
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

int hm_probe_read(const volatile void *addr)
{
    return probe((volatile void *)addr, false);
}

int hm_probe_write(volatile void *addr)
{
    return probe(addr, true);
}

char *hm_free_range(SIZE_T size)
{
    /* Look from 16 TiB up: the kernel fills the address space from just below the stack
     * down, and the executable and heap sit far lower, so this band is normally empty. */
    const uintptr_t from = (uintptr_t)1 << 44, to = (uintptr_t)0x7f0000000000;
    FILE *f = fopen("/proc/self/maps", "r");
    ck_assert_ptr_nonnull(f);
    uintptr_t cand = from;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        uintptr_t lo, hi;
        if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &lo, &hi) != 2)
            continue;
        if (hi <= cand)
            continue;
        if (lo >= cand + size + 2 * G)
            break;
        cand = (hi + 2 * G - 1) & ~(uintptr_t)(G - 1);
    }
    fclose(f);
    ck_assert_msg(cand + size <= to, "no free range of %zu bytes", (size_t)size);
    return (char *)(cand + G);
}

const char *hm_test_self_exe(void)
{
    static char path[4096];
    if (!path[0]) {
        ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
        if (n <= 0 || (size_t)n >= sizeof path - 1) {
            fprintf(stderr, "hm_test_self_exe: cannot read /proc/self/exe\n");
            abort();
        }
        path[n] = '\0';
    }
    return path;
}

hm_stats_t hm_stats_now(void)
{
    hm_stats_t st;
    memset(&st, 0, sizeof st);
    st.cb_size = sizeof st;
    ck_assert_int_eq(hm_get_stats(&st), 0);
    return st;
}

void hm_snap(hm_snap_t *s, const void *base, SIZE_T size)
{
    memset(s, 0, sizeof *s);
    uintptr_t a = (uintptr_t)base, end = (uintptr_t)base + size;
    while (a < end && s->n < sizeof s->r / sizeof s->r[0]) {
        MEMORY_BASIC_INFORMATION *m = &s->r[s->n++];
        ck_assert_uint_eq(VirtualQuery((void *)a, m, sizeof *m), sizeof *m);
        ck_assert_uint_gt(m->RegionSize, 0);
        a = (uintptr_t)m->BaseAddress + m->RegionSize;
    }
}

void hm_assert_snap_eq(const hm_snap_t *a, const hm_snap_t *b, const char *file, int line)
{
    ck_assert_msg(a->n == b->n, "%s:%d: %zu regions before, %zu after", file, line, a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const MEMORY_BASIC_INFORMATION *x = &a->r[i], *y = &b->r[i];
        ck_assert_msg(x->BaseAddress == y->BaseAddress && x->AllocationBase == y->AllocationBase &&
                          x->AllocationProtect == y->AllocationProtect &&
                          x->RegionSize == y->RegionSize && x->State == y->State &&
                          x->Protect == y->Protect && x->Type == y->Type,
                      "%s:%d: region %zu changed: base %p/%p alloc %p/%p aprot %#x/%#x size %#zx/%#zx "
                      "state %#x/%#x prot %#x/%#x type %#x/%#x",
                      file, line, i, x->BaseAddress, y->BaseAddress, x->AllocationBase,
                      y->AllocationBase, x->AllocationProtect, y->AllocationProtect,
                      (size_t)x->RegionSize, (size_t)y->RegionSize, x->State, y->State, x->Protect,
                      y->Protect, x->Type, y->Type);
    }
}
