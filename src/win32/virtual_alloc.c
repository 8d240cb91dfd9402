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
static int check_type(uintptr_t addr, SIZE_T size, DWORD type, DWORD protect)
{
    if (type & ~TYPE_MASK || !(type & (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO)))
        return HM_E_INVALID_PARAMETER;
    if ((type & (MEM_RESET | MEM_RESET_UNDO)) && type != MEM_RESET && type != MEM_RESET_UNDO)
        return HM_E_INVALID_PARAMETER;
    if ((type & MEM_LARGE_PAGES) &&
        ((type & (MEM_RESERVE | MEM_COMMIT)) != (MEM_RESERVE | MEM_COMMIT) ||
         size % LARGE_PAGE || addr % LARGE_PAGE))
        return HM_E_INVALID_PARAMETER;
    if ((type & MEM_PHYSICAL) &&
        (!(type & MEM_RESERVE) || (type & MEM_COMMIT) || protect != PAGE_READWRITE))
        return HM_E_INVALID_PARAMETER;
    if ((type & MEM_WRITE_WATCH) && !(type & MEM_RESERVE))
        return HM_E_INVALID_PARAMETER;
    if (type & MEM_WRITE_WATCH)
        return HM_E_NOT_SUPPORTED; /* write watch: in progress */
    if (type & (MEM_LARGE_PAGES | MEM_PHYSICAL))
        return HM_E_NOT_SUPPORTED; /* large pages and AWE: in progress */
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

static LPVOID reserve(uintptr_t addr, SIZE_T size, DWORD type, uint32_t prot)
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
                     ((type & MEM_TOP_DOWN) ? HM_VM_ALLOC_TOP_DOWN : 0);
    uintptr_t out;
    int st = hm_vm_allocate(addr ? base : 0, len, prot, prot, flags, &out);
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

static LPVOID virtual_alloc(LPVOID lpAddress, SIZE_T dwSize, DWORD type, DWORD protect,
                            bool from_app)
{
    uintptr_t addr = (uintptr_t)lpAddress;
    uint32_t prot;
    if (from_app && hm_prot_is_executable(protect))
        return fail_null(HM_E_INVALID_PARAMETER);
    if (dwSize == 0)
        return fail_null(HM_E_INVALID_PARAMETER);
    int st = check_type(addr, dwSize, type, protect);
    if (st == HM_E_INVALID_PARAMETER)
        return fail_null(st);
    if (hm_prot_from_win32(protect, from_app, &prot) != HM_OK)
        return fail_null(HM_E_INVALID_PARAMETER);
    if (st != HM_OK)
        return fail_null(st);
    if (type & (MEM_RESET | MEM_RESET_UNDO))
        return reset(addr, dwSize, type);
    if ((type & MEM_RESERVE) || !addr)
        return reserve(addr, dwSize, type, prot);
    return commit(addr, dwSize, prot);
}

LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
                           DWORD flProtect)
{
    return virtual_alloc(lpAddress, dwSize, flAllocationType, flProtect, false);
}

PVOID WINAPI VirtualAllocFromApp(PVOID BaseAddress, SIZE_T Size, ULONG AllocationType,
                                 ULONG Protection)
{
    return virtual_alloc(BaseAddress, Size, AllocationType, Protection, true);
}
