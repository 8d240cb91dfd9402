/*
 * write_watch.c — GetWriteWatch, ResetWriteWatch and hostmem's hm_watch_mark_written and
 * hm_write_watch_engine: validation in NtGetWriteWatch's order, page rounding, then one
 * call into src/vm/watched.c. GetWriteWatch returns 0 or (UINT)-1 with the last error.
 *
 * Order (Wine's NtGetWriteWatch, whose tests pass on Windows: W10–W17): count or
 * granularity pointer NULL → ERROR_NOACCESS; *count 0 or size 0 → ERROR_INVALID_PARAMETER;
 * flags other than WRITE_WATCH_FLAG_RESET → 87; addresses NULL → 998; the range not inside
 * one MEM_WRITE_WATCH allocation → 87. The out-parameters are written on success only.
 * Stateless.
 */
#include "hostmem/hostmem.h"
#include "win32/win32.h"

#define FAILED_UINT ((UINT)~0u)

static bool bad_ptr(const void *p)
{
    return (uintptr_t)p < HM_MIN_ADDR;
}

static UINT fail_uint(int status)
{
    hm_fail(status);
    return FAILED_UINT;
}

UINT WINAPI GetWriteWatch(DWORD dwFlags, PVOID lpBaseAddress, SIZE_T dwRegionSize,
                          PVOID *lpAddresses, ULONG_PTR *lpdwCount, LPDWORD lpdwGranularity)
{
    HM_ENTER("GetWriteWatch", lpBaseAddress, dwRegionSize);
    if (bad_ptr(lpdwCount) || bad_ptr(lpdwGranularity))
        return fail_uint(HM_E_NOACCESS);
    if (*lpdwCount == 0 || dwRegionSize == 0)
        return fail_uint(HM_E_INVALID_PARAMETER);
    if (dwFlags & ~(DWORD)WRITE_WATCH_FLAG_RESET)
        return fail_uint(HM_E_INVALID_PARAMETER);
    if (bad_ptr(lpAddresses))
        return fail_uint(HM_E_NOACCESS);
    uintptr_t first;
    size_t len, count = *lpdwCount;
    if (hm_page_span((uintptr_t)lpBaseAddress, dwRegionSize, &first, &len) != HM_OK)
        return fail_uint(HM_E_INVALID_PARAMETER);
    int st = hm_vm_get_write_watch(first, len, dwFlags & WRITE_WATCH_FLAG_RESET, lpAddresses,
                                   &count);
    if (st != HM_OK)
        return fail_uint(st);
    *lpdwCount = count;
    *lpdwGranularity = (DWORD)HM_PAGE_SIZE;
    return 0;
}

UINT WINAPI ResetWriteWatch(LPVOID lpBaseAddress, SIZE_T dwRegionSize)
{
    HM_ENTER("ResetWriteWatch", lpBaseAddress, dwRegionSize);
    uintptr_t first;
    size_t len;
    if (dwRegionSize == 0 ||
        hm_page_span((uintptr_t)lpBaseAddress, dwRegionSize, &first, &len) != HM_OK)
        return fail_uint(HM_E_INVALID_PARAMETER);
    int st = hm_vm_reset_write_watch(first, len);
    return st == HM_OK ? 0 : fail_uint(st);
}

BOOL hm_watch_mark_written(void *addr, size_t size)
{
    HM_ENTER("hm_watch_mark_written", addr, size);
    uintptr_t first;
    size_t len;
    if (size == 0 || hm_page_span((uintptr_t)addr, size, &first, &len) != HM_OK)
        return hm_fail(HM_E_INVALID_PARAMETER);
    int st = hm_vm_mark_written(first, len);
    return st == HM_OK ? TRUE : hm_fail(st);
}

const char *hm_write_watch_engine(const char **why)
{
    return hm_vm_write_watch_engine(why);
}
