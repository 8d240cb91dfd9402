/*
 * awe.c — Address Windowing Extensions: AllocateUserPhysicalPages, FreeUserPhysicalPages,
 * MapUserPhysicalPages, MapUserPhysicalPagesScatter. Argument checks in the order of
 * Windows' NtAllocateUserPhysicalPages & co. (docs/semantics-decisions.md), then one call
 * into src/vm/ (physical.c). A pointer argument below the lowest user address is an
 * access violation (ERROR_NOACCESS); only GetCurrentProcess() is a valid process handle.
 * Stateless.
 */
#include "vm/phys.h"
#include "win32/win32.h"

#define CURRENT_PROCESS ((HANDLE)(intptr_t)-1)
#define MAX_ARRAY ((ULONG_PTR)-1 / sizeof(ULONG_PTR))
#define MAX_PAGES ((ULONG_PTR)-1 / HM_PAGE_SIZE)

_Static_assert(_Generic((ULONG_PTR *)0, uint64_t *: 1, default: 0),
               "page numbers pass to src/vm/ as uint64_t");

static bool bad_pointer(const void *p)
{
    return (uintptr_t)p < HM_MIN_ADDR;
}

/* Windows writes the count only on success; 0 pages asked is success before any check. */
BOOL WINAPI AllocateUserPhysicalPages(HANDLE hProcess, PULONG_PTR NumberOfPages,
                                      PULONG_PTR PageArray)
{
    HM_ENTER("AllocateUserPhysicalPages", PageArray, 0);
    if (bad_pointer(NumberOfPages))
        return hm_fail(HM_E_NOACCESS);
    uint64_t count = *NumberOfPages;
    if (count == 0)
        return TRUE;
    if (count > MAX_ARRAY)
        return hm_fail(HM_E_INVALID_PARAMETER);
    if (bad_pointer(PageArray))
        return hm_fail(HM_E_NOACCESS);
    if (hProcess != CURRENT_PROCESS)
        return hm_fail(HM_E_INVALID_HANDLE);
    int st = hm_vm_phys_allocate(&count, PageArray);
    if (st != HM_OK)
        return hm_fail(st);
    *NumberOfPages = count;
    return TRUE;
}

/* *NumberOfPages always ends as the number of pages freed (0 before the checks). */
BOOL WINAPI FreeUserPhysicalPages(HANDLE hProcess, PULONG_PTR NumberOfPages,
                                  PULONG_PTR PageArray)
{
    HM_ENTER("FreeUserPhysicalPages", PageArray, 0);
    if (bad_pointer(NumberOfPages))
        return hm_fail(HM_E_NOACCESS);
    uint64_t count = *NumberOfPages;
    *NumberOfPages = 0;
    if (count == 0)
        return hm_fail(HM_E_INVALID_PARAMETER);
    if (bad_pointer(PageArray))
        return hm_fail(HM_E_NOACCESS);
    if (hProcess != CURRENT_PROCESS)
        return hm_fail(HM_E_INVALID_HANDLE);
    int st = hm_vm_phys_free(&count, PageArray);
    *NumberOfPages = count;
    return st == HM_OK ? TRUE : hm_fail(st);
}

BOOL WINAPI MapUserPhysicalPages(PVOID VirtualAddress, ULONG_PTR NumberOfPages,
                                 PULONG_PTR PageArray)
{
    HM_ENTER("MapUserPhysicalPages", VirtualAddress, NumberOfPages * HM_PAGE_SIZE);
    uintptr_t a = HM_ALIGN_DOWN((uintptr_t)VirtualAddress, HM_PAGE_SIZE);
    if (NumberOfPages == 0 || NumberOfPages > MAX_PAGES ||
        a + (NumberOfPages * HM_PAGE_SIZE - 1) < a)
        return hm_fail(HM_E_INVALID_PARAMETER);
    if (PageArray && bad_pointer(PageArray))
        return hm_fail(HM_E_NOACCESS);
    int st = hm_vm_phys_map(a, NumberOfPages, PageArray);
    return st == HM_OK ? TRUE : hm_fail(st);
}

BOOL WINAPI MapUserPhysicalPagesScatter(PVOID *VirtualAddresses, ULONG_PTR NumberOfPages,
                                        PULONG_PTR PageArray)
{
    HM_ENTER("MapUserPhysicalPagesScatter", VirtualAddresses, NumberOfPages);
    if (NumberOfPages > MAX_PAGES)
        return hm_fail(HM_E_INVALID_PARAMETER);
    if (NumberOfPages == 0)
        return TRUE;
    if (bad_pointer(VirtualAddresses) || (PageArray && bad_pointer(PageArray)))
        return hm_fail(HM_E_NOACCESS);
    int st = hm_vm_phys_map_scatter(VirtualAddresses, NumberOfPages, PageArray);
    return st == HM_OK ? TRUE : hm_fail(st);
}
