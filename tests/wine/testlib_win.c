/*
 * testlib_win.c (tests/wine) — tests/support/testlib.h's helpers for the Windows build, built
 * on the system's own API so that they measure Wine (or Windows), never hostmem:
 * - hm_probe_read/write: the access runs in this process; a vectored exception handler turns
 *   an access violation at the probe instruction into SIGSEGV and resumes after it, and lets a
 *   guard-page exception retry the access (the guard is then gone, as hostmem does in the
 *   forked child on Linux). The write probe is a locked OR of 0: a write access that keeps
 *   the byte's value (the Linux probe writes in a child and leaves the parent untouched).
 * - hm_free_range: a free G-aligned range from 16 TiB up, found with VirtualQuery.
 * - hm_stats_now: totals of the process's MEM_PRIVATE memory from a VirtualQuery walk, and
 *   the pages QueryWorkingSetEx reports Locked. Static buffers only: measuring allocates no
 *   memory of its own.
 * - hm_snap / hm_assert_snap_eq: as in tests/support/testlib.c.
 */
#include "testlib.h" /* first: its memoryapi.h stand-in includes <windows.h> */

#include <psapi.h>
#include <signal.h>
#include <string.h>

#define TOP ((uintptr_t)0x7FFFFFFF0000) /* lpMaximumApplicationAddress + 1 */

/* probe_read(addr) / probe_write(addr): return 0, or SIGSEGV via the handler below. */
int hm_wine_probe_read_asm(const volatile void *addr);
int hm_wine_probe_write_asm(volatile void *addr);
extern const char hm_wine_read_at[], hm_wine_write_at[], hm_wine_probe_ret[];
__asm__(".text\n"
        ".globl hm_wine_probe_read_asm\n"
        "hm_wine_probe_read_asm:\n"
        "    xorl %eax, %eax\n"
        ".globl hm_wine_read_at\n"
        "hm_wine_read_at:\n"
        "    movb (%rcx), %dl\n"
        ".globl hm_wine_probe_ret\n"
        "hm_wine_probe_ret:\n"
        "    ret\n"
        ".globl hm_wine_probe_write_asm\n"
        "hm_wine_probe_write_asm:\n"
        "    xorl %eax, %eax\n"
        ".globl hm_wine_write_at\n"
        "hm_wine_write_at:\n"
        "    lock orb $0, (%rcx)\n"
        "    ret\n");

static LONG WINAPI probe_handler(EXCEPTION_POINTERS *ep)
{
    DWORD64 pc = ep->ContextRecord->Rip;
    if (pc != (DWORD64)(uintptr_t)hm_wine_read_at && pc != (DWORD64)(uintptr_t)hm_wine_write_at)
        return EXCEPTION_CONTINUE_SEARCH;
    switch (ep->ExceptionRecord->ExceptionCode) {
    case STATUS_GUARD_PAGE_VIOLATION:
        return EXCEPTION_CONTINUE_EXECUTION; /* retry: the guard is cleared */
    case EXCEPTION_ACCESS_VIOLATION:
        ep->ContextRecord->Rax = SIGSEGV;
        ep->ContextRecord->Rip = (DWORD64)(uintptr_t)hm_wine_probe_ret;
        return EXCEPTION_CONTINUE_EXECUTION;
    default:
        return EXCEPTION_CONTINUE_SEARCH;
    }
}

static void install_probe_handler(void)
{
    static PVOID handler;
    if (handler == NULL)
        handler = AddVectoredExceptionHandler(1, probe_handler);
    ck_assert_ptr_nonnull(handler);
}

int hm_probe_read(const volatile void *addr)
{
    install_probe_handler();
    return hm_wine_probe_read_asm(addr);
}

int hm_probe_write(volatile void *addr)
{
    install_probe_handler();
    return hm_wine_probe_write_asm(addr);
}

static MEMORY_BASIC_INFORMATION query(uintptr_t at)
{
    MEMORY_BASIC_INFORMATION m;
    ck_assert_uint_eq(VirtualQuery((void *)at, &m, sizeof m), sizeof m);
    ck_assert_uint_gt(m.RegionSize, 0);
    return m;
}

char *hm_free_range(SIZE_T size)
{
    const uintptr_t from = (uintptr_t)1 << 44, to = (uintptr_t)0x7f0000000000;
    for (uintptr_t at = from; at < to;) {
        MEMORY_BASIC_INFORMATION m = query(at);
        uintptr_t lo = (uintptr_t)m.BaseAddress, hi = lo + m.RegionSize;
        uintptr_t cand = (lo + G - 1) & ~(uintptr_t)(G - 1);
        if (m.State == MEM_FREE && cand + size + 2 * G <= hi && cand + size + 2 * G <= to)
            return (char *)(cand + G);
        at = hi;
    }
    ck_abort_msg("no free range of %zu bytes", (size_t)size);
    return NULL;
}

/* Pages of [base, base+size) that QueryWorkingSetEx reports Locked. */
static uint64_t locked_pages(uintptr_t base, SIZE_T size)
{
    static PSAPI_WORKING_SET_EX_INFORMATION w[512];
    uint64_t n = 0;
    for (SIZE_T done = 0; done < size;) {
        size_t k = 0;
        for (; k < sizeof w / sizeof w[0] && done < size; k++, done += P)
            w[k].VirtualAddress = (void *)(base + done);
        ck_assert(QueryWorkingSetEx(GetCurrentProcess(), w, (DWORD)(k * sizeof w[0])));
        for (size_t i = 0; i < k; i++)
            n += w[i].VirtualAttributes.Valid && w[i].VirtualAttributes.Locked;
    }
    return n;
}

hm_stats_t hm_stats_now(void)
{
    hm_stats_t st;
    memset(&st, 0, sizeof st);
    const void *prev_base = NULL;
    for (uintptr_t at = 0; at < TOP;) {
        MEMORY_BASIC_INFORMATION m = query(at);
        if (m.State != MEM_FREE && m.Type == MEM_PRIVATE) {
            st.reservations += m.AllocationBase != prev_base;
            st.reserved_bytes += m.RegionSize;
            if (m.State == MEM_COMMIT) {
                st.committed_bytes += m.RegionSize;
                st.locked_bytes += P * locked_pages(at, m.RegionSize);
            }
        }
        prev_base = m.State == MEM_FREE ? NULL : m.AllocationBase;
        at = (uintptr_t)m.BaseAddress + m.RegionSize;
    }
    return st;
}

void hm_snap(hm_snap_t *s, const void *base, SIZE_T size)
{
    memset(s, 0, sizeof *s);
    uintptr_t a = (uintptr_t)base, end = (uintptr_t)base + size;
    while (a < end && s->n < sizeof s->r / sizeof s->r[0]) {
        MEMORY_BASIC_INFORMATION *m = &s->r[s->n++];
        *m = query(a);
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
                      "%s:%d: region %zu changed: base %p/%p alloc %p/%p aprot %#x/%#x size "
                      "%#zx/%#zx state %#x/%#x prot %#x/%#x type %#x/%#x",
                      file, line, i, x->BaseAddress, y->BaseAddress, x->AllocationBase,
                      y->AllocationBase, (unsigned)x->AllocationProtect,
                      (unsigned)y->AllocationProtect, (size_t)x->RegionSize,
                      (size_t)y->RegionSize, (unsigned)x->State, (unsigned)y->State,
                      (unsigned)x->Protect, (unsigned)y->Protect, (unsigned)x->Type,
                      (unsigned)y->Type);
    }
}
