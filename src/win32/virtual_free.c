/*
 * virtual_free.c — VirtualFree: exactly one of MEM_DECOMMIT / MEM_RELEASE (the placeholder
 * bits only with MEM_RELEASE and a size); release needs size 0 and, after rounding the
 * address down to its page, the allocation base; decommit covers every touched page, or
 * the whole allocation for size 0. Stateless.
 */
#include "win32/win32.h"

#define PLACEHOLDER_BITS (MEM_COALESCE_PLACEHOLDERS | MEM_PRESERVE_PLACEHOLDER)

/* Placeholder operations: hostmem has no placeholders yet, so any range that passes the
 * argument checks is not a placeholder: Windows answers ERROR_INVALID_ADDRESS (P13, P20). */
static BOOL placeholder_op(SIZE_T size, DWORD extra)
{
    if (extra == PLACEHOLDER_BITS || size == 0)
        return hm_fail(HM_E_INVALID_PARAMETER);
    return hm_fail(HM_E_CONFLICTING_ADDRESSES);
}

static BOOL decommit(uintptr_t addr, SIZE_T size)
{
    uintptr_t first = HM_ALIGN_DOWN(addr, HM_PAGE_SIZE);
    size_t len = 0;
    if (size && hm_page_span(addr, size, &first, &len) != HM_OK)
        return hm_fail(HM_E_UNABLE_TO_FREE);
    int st = hm_vm_decommit(first, len);
    return st == HM_OK ? TRUE : hm_fail(st);
}

BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType)
{
    uintptr_t addr = (uintptr_t)lpAddress;
    if (dwFreeType == MEM_DECOMMIT)
        return decommit(addr, dwSize);
    if (!(dwFreeType & MEM_RELEASE) || (dwFreeType & ~(MEM_RELEASE | PLACEHOLDER_BITS)))
        return hm_fail(HM_E_INVALID_PARAMETER);
    if (dwFreeType & PLACEHOLDER_BITS)
        return placeholder_op(dwSize, dwFreeType & PLACEHOLDER_BITS);
    if (dwSize != 0 || addr > HM_MAX_ADDR)
        return hm_fail(HM_E_INVALID_PARAMETER);
    int st = hm_vm_release(HM_ALIGN_DOWN(addr, HM_PAGE_SIZE));
    return st == HM_OK ? TRUE : hm_fail(st);
}
