/*
 * virtual_lock.c — VirtualLock / VirtualUnlock: size 0 or a range leaving user space is
 * ERROR_INVALID_PARAMETER; the rest is src/vm/lock.c. Stateless.
 */
#include "win32/win32.h"

static BOOL lock_call(LPVOID lpAddress, SIZE_T dwSize, int (*op)(uintptr_t, size_t))
{
    uintptr_t first;
    size_t len;
    if (dwSize == 0 || hm_page_span((uintptr_t)lpAddress, dwSize, &first, &len) != HM_OK)
        return hm_fail(HM_E_INVALID_PARAMETER);
    int st = op(first, len);
    return st == HM_OK ? TRUE : hm_fail(st);
}

BOOL WINAPI VirtualLock(LPVOID lpAddress, SIZE_T dwSize)
{
    HM_ENTER("VirtualLock", lpAddress, dwSize);
    return lock_call(lpAddress, dwSize, hm_vm_lock);
}

BOOL WINAPI VirtualUnlock(LPVOID lpAddress, SIZE_T dwSize)
{
    HM_ENTER("VirtualUnlock", lpAddress, dwSize);
    return lock_call(lpAddress, dwSize, hm_vm_unlock);
}
