/*
 * virtual_protect.c — VirtualProtect / VirtualProtectFromApp, in the NT kernel's order
 * (the Windows Research Kernel's NtProtectVirtualMemory, and Wine): protection, the
 * old-protect pointer (probed before anything else is read), address, size, then the
 * range's state. On a state
 * failure *lpflOldProtect reads PAGE_NOACCESS, as on Windows. Stateless.
 */
#include "win32/win32.h"

static BOOL virtual_protect(LPVOID lpAddress, SIZE_T dwSize, DWORD newp, PDWORD oldp,
                            bool from_app)
{
    uint32_t prot, old;
    uintptr_t first;
    size_t len;
    if (hm_prot_from_win32(newp, from_app, &prot) != HM_OK)
        return hm_fail(HM_E_INVALID_PARAMETER);
    if ((uintptr_t)oldp < HM_MIN_ADDR)
        return hm_fail(HM_E_NOACCESS);
    if ((uintptr_t)lpAddress > HM_MAX_ADDR || dwSize == 0 ||
        hm_page_span((uintptr_t)lpAddress, dwSize, &first, &len) != HM_OK)
        return hm_fail(HM_E_INVALID_PARAMETER);
    int st = hm_vm_protect(first, len, prot, &old);
    if (st != HM_OK) {
        if (hm_status_win32(st) == ERROR_INVALID_ADDRESS)
            *oldp = PAGE_NOACCESS;
        return hm_fail(st);
    }
    *oldp = hm_prot_to_win32(old);
    return TRUE;
}

BOOL WINAPI VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
                           PDWORD lpflOldProtect)
{
    HM_ENTER("VirtualProtect", lpAddress, dwSize);
    return virtual_protect(lpAddress, dwSize, flNewProtect, lpflOldProtect, false);
}

BOOL WINAPI VirtualProtectFromApp(PVOID lpAddress, SIZE_T dwSize, ULONG flNewProtect,
                                  PULONG lpflOldProtect)
{
    HM_ENTER("VirtualProtectFromApp", lpAddress, dwSize);
    return virtual_protect(lpAddress, dwSize, flNewProtect, lpflOldProtect, true);
}
