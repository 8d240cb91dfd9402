/*
 * virtual_free.c — VirtualFree: exactly one of MEM_DECOMMIT / MEM_RELEASE (the placeholder
 * bits only with MEM_RELEASE and a size); release needs size 0 and, after rounding the
 * address down to its page, the allocation base; decommit covers every touched page, or
 * the whole allocation for size 0. MEM_RELEASE|MEM_PRESERVE_PLACEHOLDER splits a
 * placeholder or frees (part of) a replaced one back to a placeholder; MEM_RELEASE|
 * MEM_COALESCE_PLACEHOLDERS merges adjacent placeholders; both cover every touched page
 * and need a size. Stateless.
 */
#include "win32/win32.h"

#define PLACEHOLDER_BITS (MEM_COALESCE_PLACEHOLDERS | MEM_PRESERVE_PLACEHOLDER)

/* Placeholder operations: one of the two bits, and a size (P15, P19). */
static BOOL placeholder_op(uintptr_t addr, SIZE_T size, DWORD extra)
{
    uintptr_t first;
    size_t len;
    if (extra == PLACEHOLDER_BITS || size == 0 || hm_page_span(addr, size, &first, &len) != HM_OK)
        return hm_fail(HM_E_INVALID_PARAMETER);
    int st = extra == MEM_PRESERVE_PLACEHOLDER ? hm_vm_preserve_placeholder(first, len)
                                               : hm_vm_coalesce_placeholders(first, len);
    return st == HM_OK ? TRUE : hm_fail(st);
}

static BOOL decommit(uintptr_t addr, SIZE_T size)
{
    uintptr_t first = HM_ALIGN_DOWN(addr, HM_PAGE_SIZE);
    size_t len = 0;
    if (addr > HM_MAX_ADDR)
        return hm_fail(HM_E_INVALID_PARAMETER);
    if (size && hm_page_span(addr, size, &first, &len) != HM_OK)
        return hm_fail(HM_E_UNABLE_TO_FREE);
    int st = hm_vm_decommit(first, len);
    return st == HM_OK ? TRUE : hm_fail(st);
}

BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType)
{
    HM_ENTER("VirtualFree", lpAddress, dwSize);
    uintptr_t addr = (uintptr_t)lpAddress;
    if (dwFreeType == MEM_DECOMMIT)
        return decommit(addr, dwSize);
    if (!(dwFreeType & MEM_RELEASE) || (dwFreeType & ~(MEM_RELEASE | PLACEHOLDER_BITS)))
        return hm_fail(HM_E_INVALID_PARAMETER);
    if (dwFreeType & PLACEHOLDER_BITS)
        return placeholder_op(addr, dwSize, dwFreeType & PLACEHOLDER_BITS);
    if (dwSize != 0 || addr > HM_MAX_ADDR)
        return hm_fail(HM_E_INVALID_PARAMETER);
    int st = hm_vm_release(HM_ALIGN_DOWN(addr, HM_PAGE_SIZE));
    return st == HM_OK ? TRUE : hm_fail(st);
}
