/*
 * bad_win32.c — the bad-input fuzzer's Win32 and hm_* calls (see bad_input.h). Each case
 * decodes its arguments, makes the call, says whether it failed, and undoes a success.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bad_input.h"


#define P ((uint64_t)4096)
#define PTR(deref, k) hm_b_ptr(r, (deref), &(k))
#define KN(k) hm_ptr_kind_name(k)

static bool undo_alloc(void *p)
{
    if (!p)
        return true;
    MEMORY_BASIC_INFORMATION m;
    if (VirtualQuery(p, &m, sizeof m) == sizeof m && m.AllocationBase == p &&
        p != hm_bad_env.victim && p != hm_bad_env.watch)
        VirtualFree(p, 0, MEM_RELEASE);
    hm_bad_restore_victim();
    return false;
}

static bool c_virtual_alloc(hm_brd_t *r, char *d, size_t n)
{
    void *a = hm_b_addr(r, true);
    uint64_t s = hm_b_size(r);
    uint32_t t = hm_b_flags(r), p = hm_b_prot(r);
    bool app = hm_b_u8(r) & 1;
    snprintf(d, n, "VirtualAlloc%s(%p, %#llx, %#x, %#x)", app ? "FromApp" : "", a,
             (unsigned long long)s, t, p);
    return undo_alloc(app ? VirtualAllocFromApp(a, s, t, p) : VirtualAlloc(a, s, t, p));
}

static bool c_virtual_alloc2(hm_brd_t *r, char *d, size_t n)
{
    static const uintptr_t handles[] = {(uintptr_t)-1, 0, 0x1234, (uintptr_t)-2};
    HANDLE h = (HANDLE)handles[hm_b_u8(r) % 4];
    void *a = hm_b_addr(r, true);
    uint64_t s = hm_b_size(r);
    uint32_t t = hm_b_flags(r), p = hm_b_prot(r);
    int kp, kr;
    MEM_EXTENDED_PARAMETER *params = PTR(true, kp);
    ULONG count = (ULONG[]){0, 1, 2, 0xFFFFFFFFu}[hm_b_u8(r) % 4];
    MEM_ADDRESS_REQUIREMENTS *req = PTR(true, kr);
    if (kp < HM_PTR_SAFE && kp != HM_PTR_NULL && count == 0xFFFFFFFFu)
        count = 2; /* a valid array holds what it says */
    for (ULONG i = 0; kp < HM_PTR_SAFE && params && i < count && i < 2; i++) {
        MEM_EXTENDED_PARAMETER one; /* built aligned, copied: the array may be misaligned */
        memset(&one, 0, sizeof one);
        one.Type = hm_b_u8(r) % 8;
        one.Pointer = req;
        memcpy((char *)params + i * sizeof one, &one, sizeof one);
    }
    if (kr < HM_PTR_SAFE && req) {
        MEM_ADDRESS_REQUIREMENTS q = {(void *)(uintptr_t)hm_b_u64(r),
                                      (void *)(uintptr_t)hm_b_u64(r), hm_b_size(r)};
        memcpy(req, &q, sizeof q);
    }
    bool app = hm_b_u8(r) & 1;
    snprintf(d, n, "VirtualAlloc2%s(%p, %p, %#llx, %#x, %#x, params=%s, %u, requirements=%s)",
             app ? "FromApp" : "", h, a, (unsigned long long)s, t, p, KN(kp), count, KN(kr));
    return undo_alloc(app ? VirtualAlloc2FromApp(h, a, s, t, p, params, count)
                          : VirtualAlloc2(h, a, s, t, p, params, count));
}

static bool c_virtual_free(hm_brd_t *r, char *d, size_t n)
{
    void *a = hm_b_addr(r, false);
    uint64_t s = hm_b_size(r);
    uint32_t t = hm_b_flags(r);
    snprintf(d, n, "VirtualFree(%p, %#llx, %#x)", a, (unsigned long long)s, t);
    if (a == hm_bad_env.watch && !(t & MEM_DECOMMIT))
        return true; /* keep the write-watch allocation */
    if (!VirtualFree(a, s, t))
        return true;
    hm_bad_restore_victim();
    return false;
}

static bool c_virtual_protect(hm_brd_t *r, char *d, size_t n)
{
    void *a = hm_b_addr(r, true);
    uint64_t s = hm_b_size(r);
    uint32_t p = hm_b_prot(r);
    int k;
    DWORD *old = PTR(true, k);
    bool app = hm_b_u8(r) & 1;
    snprintf(d, n, "VirtualProtect%s(%p, %#llx, %#x, old=%s)", app ? "FromApp" : "", a,
             (unsigned long long)s, p, KN(k));
    if (!(app ? VirtualProtectFromApp(a, s, p, old) : VirtualProtect(a, s, p, old)))
        return true;
    hm_bad_restore_victim();
    return false;
}

static bool c_virtual_query(hm_brd_t *r, char *d, size_t n)
{
    void *a = hm_b_addr(r, false);
    int k;
    MEMORY_BASIC_INFORMATION *b = PTR(true, k);
    uint64_t len = hm_b_size(r);
    if (k == HM_PTR_SHORT && len > 4)
        len = 4; /* a short buffer says so */
    snprintf(d, n, "VirtualQuery(%p, buffer=%s, %#llx)", a, KN(k), (unsigned long long)len);
    return VirtualQuery(a, b, len) == 0;
}

static bool c_lock(hm_brd_t *r, char *d, size_t n)
{
    void *a = hm_b_addr(r, true);
    uint64_t s = hm_b_size(r);
    bool un = hm_b_u8(r) & 1;
    snprintf(d, n, "Virtual%s(%p, %#llx)", un ? "Unlock" : "Lock", a, (unsigned long long)s);
    if (!(un ? VirtualUnlock(a, s) : VirtualLock(a, s)))
        return true;
    hm_bad_restore_victim();
    return false;
}

static bool c_write_watch(hm_brd_t *r, char *d, size_t n)
{
    void *a = hm_b_u8(r) % 2 && hm_bad_env.watch ? hm_bad_env.watch : hm_b_addr(r, false);
    uint64_t s = hm_b_size(r);
    uint32_t f = hm_b_flags(r);
    int ka, kc, kg;
    PVOID *addrs = PTR(true, ka);
    ULONG_PTR local_count, *count = PTR(true, kc);
    DWORD *gran = PTR(true, kg);
    if (kc < HM_PTR_SAFE && count) {
        count = &local_count; /* the count must fit the array it describes */
        local_count = ka == HM_PTR_HOSTMEM_RW ? 16 : ka < HM_PTR_SAFE ? 64 : hm_b_u64(r);
    }
    snprintf(d, n, "GetWriteWatch(%#x, %p, %#llx, addrs=%s, count=%s, gran=%s)", f, a,
             (unsigned long long)s, KN(ka), KN(kc), KN(kg));
    bool failed = GetWriteWatch(f, a, s, addrs, count, gran) != 0;
    if (hm_b_u8(r) % 4 == 0)
        failed = ResetWriteWatch(a, s) != 0;
    return failed;
}

static bool c_system_info(hm_brd_t *r, char *d, size_t n)
{
    int k;
    void *p = PTR(true, k);
    int which = hm_b_u8(r) % 5;
    snprintf(d, n, "%s(info=%s)",
             (const char *[]){"GetSystemInfo", "GetNativeSystemInfo", "GlobalMemoryStatusEx",
                              "hm_get_stats", "hm_get_system_info"}[which], KN(k));
    switch (which) {
    case 0: GetSystemInfo(p); return false;
    case 1: GetNativeSystemInfo(p); return false;
    case 2: {
        DWORD len = (DWORD[]){64, 0, 63, 65, 0xFFFFFFFFu}[hm_b_u8(r) % 5];
        if (k < HM_PTR_SAFE && p && k != HM_PTR_SHORT)
            memcpy(p, &len, sizeof len); /* dwLength, first member */
        return !GlobalMemoryStatusEx(p);
    }
    case 3: {
        uint32_t cb = (uint32_t[]){sizeof(hm_stats_t), 0, 8, 0xFFFFFFFFu}[hm_b_u8(r) % 4];
        if (k < HM_PTR_SAFE && p)
            memcpy(p, &cb, sizeof cb); /* cb_size, first member */
        return hm_get_stats(p) != 0;
    }
    default: {
        uint32_t cb = (uint32_t[]){sizeof(hm_system_info_t), 0, 8, 0xFFFFFFFFu}[hm_b_u8(r) % 4];
        if (k < HM_PTR_SAFE && p)
            memcpy(p, &cb, sizeof cb); /* cb_size, first member */
        return hm_get_system_info(p) != 0;
    }
    }
}

static bool c_flush(hm_brd_t *r, char *d, size_t n)
{
    static const uintptr_t handles[] = {(uintptr_t)-1, 0, 0x1234};
    HANDLE h = (HANDLE)handles[hm_b_u8(r) % 3];
    void *a = hm_b_addr(r, false);
    uint64_t s = hm_b_size(r);
    if ((uintptr_t)a + s < (uintptr_t)a && !getenv("HM_FUZZ_STRICT"))
        s = 0; /* B3: a wrapping range overflows a pointer in hm_os_flush_icache (reported) */
    snprintf(d, n, "FlushInstructionCache(%p, %p, %#llx)", h, a, (unsigned long long)s);
    return !FlushInstructionCache(h, a, s);
}

/* AWE with arrays of every kind; a valid array is as long as its count says. */
static bool c_awe(hm_brd_t *r, char *d, size_t n)
{
    static const uintptr_t handles[] = {(uintptr_t)-1, 0, 0x1234};
    HANDLE h = (HANDLE)handles[hm_b_u8(r) % 3];
    int kc, ka;
    ULONG_PTR local, *count = PTR(true, kc);
    ULONG_PTR *array = PTR(true, ka);
    uint64_t cap = ka == HM_PTR_HOSTMEM_RW ? 512 : ka == HM_PTR_NULL || ka >= HM_PTR_SAFE ? 0 : 2047;
    uint64_t want = (uint64_t[]){0, 1, 4, 16, UINT64_MAX, UINT64_MAX / 8 + 1}[hm_b_u8(r) % 6];
    if (kc < HM_PTR_SAFE && count) {
        count = &local;
        local = want <= cap || want > UINT64_MAX / 8 ? want : cap;
    }
    for (uint64_t i = 0; i < cap && i < 64; i++) {
        ULONG_PTR v = hm_b_u64(r) % 64;
        memcpy((char *)array + i * sizeof v, &v, sizeof v); /* the array may be misaligned */
    }
    int which = hm_b_u8(r) % 4;
    void *a = hm_b_addr(r, true);
    uint64_t pages = hm_b_size(r);
    if (array && ka < HM_PTR_SAFE && pages > cap)
        pages = cap ? cap : pages;
    snprintf(d, n, "%s(handle %p, count=%s, array=%s, want %llu, addr %p, pages %#llx)",
             (const char *[]){"AllocateUserPhysicalPages", "FreeUserPhysicalPages",
                              "MapUserPhysicalPages", "MapUserPhysicalPagesScatter"}[which],
             h, KN(kc), KN(ka), (unsigned long long)want, a, (unsigned long long)pages);
    switch (which) {
    case 0: {
        if (!AllocateUserPhysicalPages(h, count, array))
            return true;
        ULONG_PTR got = *count;
        FreeUserPhysicalPages(h, &got, array);
        return false;
    }
    case 1: return !FreeUserPhysicalPages(h, count, array);
    case 2:
        if (!MapUserPhysicalPages(a, pages, array))
            return true;
        hm_bad_restore_victim();
        return false;
    default:
        if (!MapUserPhysicalPagesScatter((PVOID *)array, pages, (PULONG_PTR)a))
            return true;
        hm_bad_restore_victim();
        return false;
    }
}

static void guard_cb(void *addr, void *ctx)
{
    (void)addr;
    (void)ctx;
}

static int count_regions(const hm_region_t *reg, void *ctx)
{
    (void)reg;
    return ++*(int *)ctx > 100000;
}

static bool c_extras(hm_brd_t *r, char *d, size_t n)
{
    int which = hm_b_u8(r) % 7, k;
    uint64_t v = hm_b_size(r);
    switch (which) {
    case 0: {
        uint64_t before = hm_commit_limit();
        snprintf(d, n, "hm_set_commit_limit(%#llx)", (unsigned long long)v);
        hm_set_commit_limit(v);
        hm_set_commit_limit(before);
        return hm_commit_limit() != before;
    }
    case 1:
        snprintf(d, n, "hm_set_guard_page_callback(...)");
        hm_set_guard_page_callback(v & 1 ? guard_cb : NULL, (void *)(uintptr_t)v);
        hm_set_guard_page_callback(NULL, NULL);
        return false;
    case 2: {
        int pid = (int[]){0, (int)getpid(), -1, 1, 999999, -2147483647 - 1}[v % 6];
        int seen = 0;
        bool visitor = hm_b_u8(r) & 1;
        snprintf(d, n, "hm_walk_regions(%d, %s)", pid, visitor ? "visitor" : "NULL");
        return hm_walk_regions(pid, visitor ? count_regions : NULL, &seen) != 0;
    }
    case 3: {
        void *a = hm_b_u8(r) % 2 && hm_bad_env.watch ? hm_bad_env.watch : hm_b_addr(r, false);
        snprintf(d, n, "hm_watch_mark_written(%p, %#llx)", a, (unsigned long long)v);
        return !hm_watch_mark_written(a, v);
    }
    case 4: {
        const char **why = PTR(true, k);
        snprintf(d, n, "hm_write_watch_engine(why=%s)", KN(k));
        return hm_write_watch_engine(why) == NULL;
    }
    case 5:
        snprintf(d, n, "SetLastError/GetLastError/versions");
        SetLastError((DWORD)v);
        return GetLastError() != (DWORD)v || hm_version() != HM_VERSION_HEX ||
               !hm_version_string() || GetCurrentProcess() != (HANDLE)(intptr_t)-1 ||
               GetLargePageMinimum() == 1;
    default:
        snprintf(d, n, "hm_commit_limit()");
        return hm_commit_limit() == 1;
    }
}

const hm_bad_call_t hm_bad_win32_calls[] = {
    {"VirtualAlloc", c_virtual_alloc},
    {"VirtualAlloc2", c_virtual_alloc2},
    {"VirtualFree", c_virtual_free},
    {"VirtualProtect", c_virtual_protect},
    {"VirtualQuery", c_virtual_query},
    {"VirtualLock/Unlock", c_lock},
    {"Get/ResetWriteWatch", c_write_watch},
    {"system info", c_system_info},
    {"FlushInstructionCache", c_flush},
    {"AWE", c_awe},
    {"hm extras", c_extras},
};
const size_t hm_bad_win32_ncalls = sizeof hm_bad_win32_calls / sizeof hm_bad_win32_calls[0];
