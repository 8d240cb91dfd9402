/*
 * protection.c — PAGE_* values ↔ hm_vm prot bits, with Windows' validity rules for private
 * memory (spec memoryapi.md §6): exactly one base value, not WRITECOPY/EXECUTE_WRITECOPY;
 * GUARD not with NOACCESS; NOCACHE not with GUARD/NOACCESS/WRITECOMBINE; WRITECOMBINE not
 * with NOACCESS/GUARD/NOCACHE; PAGE_TARGETS_INVALID only when allocating and
 * PAGE_TARGETS_NO_UPDATE only when protecting, both only with an execute base; nothing
 * else (graphics, enclave bits). Pure functions.
 */
#include "win32/win32.h"

#define BASE_MASK 0xFFu
#define EXEC_BASES (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE | PAGE_EXECUTE_WRITECOPY)

bool hm_prot_is_executable(DWORD page)
{
    return (page & EXEC_BASES) != 0;
}

static bool modifiers_valid(DWORD base, DWORD mods)
{
    bool guard = mods & PAGE_GUARD, nocache = mods & PAGE_NOCACHE, wc = mods & PAGE_WRITECOMBINE;
    if (guard && base == PAGE_NOACCESS)
        return false;
    if (nocache && (guard || wc || base == PAGE_NOACCESS))
        return false;
    if (wc && (guard || base == PAGE_NOACCESS))
        return false;
    return true;
}

int hm_prot_from_win32(DWORD page, bool from_app, uint32_t *out)
{
    DWORD base = page & BASE_MASK, mods = page & (PAGE_GUARD | PAGE_NOCACHE | PAGE_WRITECOMBINE);
    DWORD rest = page & ~(BASE_MASK | PAGE_GUARD | PAGE_NOCACHE | PAGE_WRITECOMBINE);
    if (!base || (base & (base - 1)) || base == PAGE_WRITECOPY || base == PAGE_EXECUTE_WRITECOPY)
        return HM_E_INVALID_PARAMETER;
    if (from_app && hm_prot_is_executable(base))
        return HM_E_INVALID_PARAMETER;
    if (rest && !(rest == PAGE_TARGETS_INVALID && hm_prot_is_executable(base)))
        return HM_E_INVALID_PARAMETER; /* TARGETS_INVALID (alloc) = TARGETS_NO_UPDATE (protect) */
    if (!modifiers_valid(base, mods))
        return HM_E_INVALID_PARAMETER;
    uint32_t p = 0;
    switch (base) {
    case PAGE_READONLY: p = HM_VM_R; break;
    case PAGE_READWRITE: p = HM_VM_R | HM_VM_W; break;
    case PAGE_EXECUTE: p = HM_VM_X; break;
    case PAGE_EXECUTE_READ: p = HM_VM_R | HM_VM_X; break;
    case PAGE_EXECUTE_READWRITE: p = HM_VM_R | HM_VM_W | HM_VM_X; break;
    default: break; /* PAGE_NOACCESS */
    }
    if (mods & PAGE_GUARD)
        p |= HM_VM_GUARD;
    if (mods & PAGE_NOCACHE)
        p |= HM_VM_NOCACHE;
    if (mods & PAGE_WRITECOMBINE)
        p |= HM_VM_WRITECOMBINE;
    *out = p;
    return HM_OK;
}

DWORD hm_prot_to_win32(uint32_t prot)
{
    static const DWORD plain[8] = {
        PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE, PAGE_READWRITE,
        PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE, PAGE_EXECUTE_READWRITE,
    };
    DWORD base = plain[prot & 7u];
    if (prot & HM_VM_COW)
        base = (prot & HM_VM_X) ? PAGE_EXECUTE_WRITECOPY : PAGE_WRITECOPY;
    if (prot & HM_VM_GUARD)
        base |= PAGE_GUARD;
    if (prot & HM_VM_NOCACHE)
        base |= PAGE_NOCACHE;
    if (prot & HM_VM_WRITECOMBINE)
        base |= PAGE_WRITECOMBINE;
    return base;
}

int hm_page_span(uintptr_t addr, SIZE_T size, uintptr_t *first, size_t *len)
{
    uintptr_t f = HM_ALIGN_DOWN(addr, HM_PAGE_SIZE);
    if (size > HM_MAX_ADDR + 1 || addr > HM_MAX_ADDR + 1 - size)
        return HM_E_INVALID_PARAMETER;
    uintptr_t end = HM_ALIGN_UP(addr + size, HM_PAGE_SIZE);
    *first = f;
    *len = end - f;
    return HM_OK;
}
