/*
 * virtual_query.c — VirtualQuery: length, then address, then buffer checks; fills the
 * 48-byte MEMORY_BASIC_INFORMATION from an hm_vm region. Free regions read Protect
 * PAGE_NOACCESS, reserved ones Protect 0, as on Windows. Stateless.
 */
#include <string.h>

#include "win32/win32.h"

static DWORD state_of(hm_vm_state_t s)
{
    return s == HM_STATE_COMMITTED ? MEM_COMMIT : s == HM_STATE_RESERVED ? MEM_RESERVE : MEM_FREE;
}

static DWORD type_of(hm_vm_type_t t)
{
    return t == HM_TYPE_PRIVATE ? MEM_PRIVATE
           : t == HM_TYPE_MAPPED ? MEM_MAPPED
           : t == HM_TYPE_IMAGE  ? MEM_IMAGE
                                 : 0;
}

void hm_win32_mbi(const hm_vm_region_t *r, MEMORY_BASIC_INFORMATION *mbi)
{
    memset(mbi, 0, sizeof *mbi);
    mbi->BaseAddress = (PVOID)r->base;
    mbi->RegionSize = r->size;
    mbi->State = state_of(r->state);
    if (r->state == HM_STATE_FREE) {
        mbi->Protect = PAGE_NOACCESS;
    } else {
        mbi->AllocationBase = (PVOID)r->alloc_base;
        mbi->AllocationProtect = hm_prot_to_win32(r->alloc_prot);
        mbi->Protect = r->state == HM_STATE_COMMITTED ? hm_prot_to_win32(r->prot) : 0;
        mbi->Type = type_of(r->type);
    }
}

SIZE_T hm_win32_query(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength,
                      hm_vm_account_t **owner)
{
    if (dwLength < sizeof(MEMORY_BASIC_INFORMATION))
        return (SIZE_T)hm_fail(HM_E_BAD_LENGTH);
    if ((uintptr_t)lpAddress > HM_MAX_ADDR)
        return (SIZE_T)hm_fail(HM_E_INVALID_PARAMETER);
    if ((uintptr_t)lpBuffer < HM_MIN_ADDR)
        return (SIZE_T)hm_fail(HM_E_NOACCESS);
    hm_vm_region_t r;
    int st = hm_vm_query((uintptr_t)lpAddress, &r);
    if (st != HM_OK)
        return (SIZE_T)hm_fail(st);
    MEMORY_BASIC_INFORMATION mbi;
    hm_win32_mbi(&r, &mbi);
    if (owner)
        *owner = r.state == HM_STATE_FREE || r.foreign ? NULL : r.account;
    memcpy(lpBuffer, &mbi, sizeof mbi);
    return sizeof mbi;
}

SIZE_T WINAPI VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength)
{
    HM_ENTER("VirtualQuery", lpAddress, dwLength);
    return hm_win32_query(lpAddress, lpBuffer, dwLength, NULL);
}
