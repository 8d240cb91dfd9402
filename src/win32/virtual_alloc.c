/*
 * virtual_alloc.c — VirtualAlloc and VirtualAllocFromApp: validation in Windows' order
 * (docs/semantics-decisions.md), Windows' rounding, then one call into src/vm/.
 * Reserve: base rounded down to 64 KiB, every touched page covered. Commit inside a
 * reservation: rounded to pages. MEM_COMMIT without an address reserves too. MEM_RESET and
 * MEM_RESET_UNDO must stand alone; the protection is still validated. Stateless.
 */
#include "win32/win32.h"

#define TYPE_MASK (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_LARGE_PAGES | \
                   MEM_PHYSICAL | MEM_TOP_DOWN | MEM_WRITE_WATCH)
#define LARGE_PAGE ((SIZE_T)0x200000)

static LPVOID fail_null(int status)
{
    hm_fail(status);
    return NULL;
}

/* The allocation-type rules; HM_OK or the status to fail with. */
int hm_alloc_check_type(uintptr_t addr, SIZE_T size, DWORD type, DWORD protect)
{
    if (type & ~TYPE_MASK || !(type & (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO)))
        return HM_E_INVALID_PARAMETER;
    if ((type & (MEM_RESET | MEM_RESET_UNDO)) && type != MEM_RESET && type != MEM_RESET_UNDO)
        return HM_E_INVALID_PARAMETER;
    if ((type & MEM_LARGE_PAGES) &&
        ((type & (MEM_RESERVE | MEM_COMMIT)) != (MEM_RESERVE | MEM_COMMIT) ||
         (type & (MEM_PHYSICAL | MEM_WRITE_WATCH)) || (protect & PAGE_GUARD) ||
         size % LARGE_PAGE || addr % LARGE_PAGE))
        return HM_E_INVALID_PARAMETER;
    if ((type & MEM_PHYSICAL) && (!(type & MEM_RESERVE) || (type & (MEM_COMMIT | MEM_WRITE_WATCH)) ||
                                  protect != PAGE_READWRITE))
        return HM_E_INVALID_PARAMETER;
    if ((type & MEM_WRITE_WATCH) && !(type & MEM_RESERVE))
        return HM_E_INVALID_PARAMETER;
    return HM_OK;
}

static LPVOID reset(uintptr_t addr, SIZE_T size, DWORD type)
{
    uintptr_t first;
    size_t len;
    if (!addr || hm_page_span(addr, size, &first, &len) != HM_OK)
        return fail_null(HM_E_INVALID_PARAMETER);
    int st = type == MEM_RESET ? hm_vm_reset(first, len) : hm_vm_reset_undo(first, len);
    return st == HM_OK ? (LPVOID)first : fail_null(st);
}

static LPVOID reserve(uintptr_t addr, SIZE_T size, DWORD type, uint32_t prot,
                      const hm_vm_limits_t *limits)
{
    uintptr_t base = HM_ALIGN_DOWN(addr, HM_GRANULE), first;
    size_t len;
    if (hm_page_span(addr ? addr : HM_MIN_ADDR, size, &first, &len) != HM_OK)
        return fail_null(HM_E_INVALID_PARAMETER);
    if (addr) {
        if (base < HM_MIN_ADDR)
            return fail_null(HM_E_INVALID_PARAMETER);
        len += first - base;
    }
    unsigned flags = ((type & MEM_COMMIT) ? HM_VM_ALLOC_COMMIT : 0) |
                     ((type & MEM_TOP_DOWN) ? HM_VM_ALLOC_TOP_DOWN : 0) |
                     ((type & MEM_LARGE_PAGES) ? HM_VM_ALLOC_LARGE : 0) |
                     ((type & MEM_PHYSICAL) ? HM_VM_ALLOC_PHYSICAL : 0) |
                     ((type & MEM_WRITE_WATCH) ? HM_VM_ALLOC_WATCH : 0) |
                     ((type & MEM_RESERVE_PLACEHOLDER) ? HM_VM_ALLOC_PLACEHOLDER : 0);
    uintptr_t out;
    int st = hm_vm_allocate_in(addr ? base : 0, len, prot, prot, flags, limits, &out);
    return st == HM_OK ? (LPVOID)out : fail_null(st);
}

static LPVOID commit(uintptr_t addr, SIZE_T size, uint32_t prot)
{
    uintptr_t first;
    size_t len;
    if (hm_page_span(addr, size, &first, &len) != HM_OK)
        return fail_null(HM_E_INVALID_PARAMETER);
    int st = hm_vm_commit(first, len, prot);
    return st == HM_OK ? (LPVOID)first : fail_null(st);
}

LPVOID hm_alloc_checked(uintptr_t addr, SIZE_T size, DWORD type, uint32_t prot,
                        const hm_vm_limits_t *limits)
{
    if (type & (MEM_RESET | MEM_RESET_UNDO))
        return reset(addr, size, type);
    if ((type & MEM_RESERVE) || !addr)
        return reserve(addr, size, type, prot, limits);
    return commit(addr, size, prot);
}

static LPVOID virtual_alloc(LPVOID lpAddress, SIZE_T dwSize, DWORD type, DWORD protect,
                            bool from_app)
{
    uintptr_t addr = (uintptr_t)lpAddress;
    uint32_t prot;
    if (from_app && hm_prot_is_executable(protect))
        return fail_null(HM_E_INVALID_PARAMETER);
    if (dwSize == 0)
        return fail_null(HM_E_INVALID_PARAMETER);
    int st = hm_alloc_check_type(addr, dwSize, type, protect);
    if (st == HM_E_INVALID_PARAMETER)
        return fail_null(st);
    if (hm_prot_from_win32(protect, from_app, &prot) != HM_OK)
        return fail_null(HM_E_INVALID_PARAMETER);
    if (st != HM_OK)
        return fail_null(st);
    return hm_alloc_checked(addr, dwSize, type, prot, NULL);
}

LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
                           DWORD flProtect)
{
    HM_ENTER("VirtualAlloc", lpAddress, dwSize);
    return virtual_alloc(lpAddress, dwSize, flAllocationType, flProtect, false);
}

PVOID WINAPI VirtualAllocFromApp(PVOID BaseAddress, SIZE_T Size, ULONG AllocationType,
                                 ULONG Protection)
{
    HM_ENTER("VirtualAllocFromApp", BaseAddress, Size);
    return virtual_alloc(BaseAddress, Size, AllocationType, Protection, true);
}
