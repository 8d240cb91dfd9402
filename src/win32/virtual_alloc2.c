/*
 * virtual_alloc2.c — VirtualAlloc2 and VirtualAlloc2FromApp: extended parameters (address
 * requirements, NUMA node, attribute flags), placeholders (MEM_RESERVE_PLACEHOLDER,
 * MEM_REPLACE_PLACEHOLDER), then VirtualAlloc's rules, rounding and calls
 * (virtual_alloc.c).
 *
 * Validation order, kernelbase's then ntdll's (docs/semantics-decisions.md): FromApp
 * executable protection → extended parameters, in array order → allocation-type bits →
 * requirements with an address (M7) → size 0 → process handle → type combinations
 * (the placeholder ones, then VirtualAlloc's) → protection → address range → state.
 * The process is NULL or GetCurrentProcess(). Stateless.
 */
#include "win32/win32.h"

#define CURRENT_PROCESS ((HANDLE)(intptr_t)-1)
#define PLACEHOLDER_BITS (MEM_RESERVE_PLACEHOLDER | MEM_REPLACE_PLACEHOLDER)
#define TYPE_MASK2 (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_LARGE_PAGES | \
                    MEM_PHYSICAL | MEM_TOP_DOWN | MEM_WRITE_WATCH | PLACEHOLDER_BITS)
/* Attribute flags hostmem honours: zeroing pages is always allowed. */
#define ATTRIBUTES_OK ((DWORD64)MEM_EXTENDED_PARAMETER_ZERO_PAGES_OPTIONAL)

static LPVOID fail_null(int status)
{
    hm_fail(status);
    return NULL;
}

/* A structure the caller passes in: NT probes it (access violation, datatype misalignment:
 * both ERROR_NOACCESS). hostmem can tell the low pages and the alignment. */
static bool bad_struct_pointer(const void *p)
{
    return (uintptr_t)p < HM_MIN_ADDR || (uintptr_t)p % 8;
}

/* MEM_ADDRESS_REQUIREMENTS (M2–M13): alignment a power of two of at least 64 KiB; lowest
 * 64 KiB-aligned and inside user space; highest inside user space, above lowest, and
 * highest + 1 page-aligned. */
static int check_requirements(const MEM_ADDRESS_REQUIREMENTS *a, hm_vm_limits_t *out)
{
    if (bad_struct_pointer(a))
        return HM_E_NOACCESS;
    uintptr_t lo = (uintptr_t)a->LowestStartingAddress, hi = (uintptr_t)a->HighestEndingAddress;
    SIZE_T align = a->Alignment;
    if (align && ((align & (align - 1)) || align < HM_GRANULE))
        return HM_E_INVALID_PARAMETER;
    if (lo && (lo > HM_MAX_ADDR || lo % HM_GRANULE))
        return HM_E_INVALID_PARAMETER;
    if (hi && (hi > HM_MAX_ADDR || hi <= lo || (hi + 1) % HM_PAGE_SIZE))
        return HM_E_INVALID_PARAMETER;
    *out = (hm_vm_limits_t){lo, hi, align};
    return HM_OK;
}

static int check_param(const MEM_EXTENDED_PARAMETER *p, hm_vm_limits_t *limits)
{
    switch (p->Type) {
    case MemExtendedParameterAddressRequirements:
        return check_requirements(p->Pointer, limits);
    case MemExtendedParameterNumaNode:
        return hm_vm_numa_node_check(p->ULong);
    case MemExtendedParameterAttributeFlags:
        return (p->ULong64 & ~ATTRIBUTES_OK) ? HM_E_INVALID_PARAMETER : HM_OK;
    default: /* a partition or a physical-memory section: no such object here */
        return HM_E_INVALID_HANDLE;
    }
}

/* Each parameter once, of a known type, Reserved bits zero (M1, M3, P2, P30). More
 * parameters than there are types cannot all be valid: refused before any is read. */
static int check_params(const MEM_EXTENDED_PARAMETER *p, ULONG count, hm_vm_limits_t *limits)
{
    unsigned seen = 0;
    if (!count)
        return HM_OK;
    if (!p)
        return HM_E_INVALID_PARAMETER;
    if (bad_struct_pointer(p))
        return HM_E_NOACCESS;
    if (count >= MemExtendedParameterMax)
        return HM_E_INVALID_PARAMETER;
    for (ULONG i = 0; i < count; i++) {
        unsigned type = (unsigned)p[i].Type;
        if (p[i].Reserved || type == MemExtendedParameterInvalidType ||
            type >= MemExtendedParameterMax || (seen & (1u << type)))
            return HM_E_INVALID_PARAMETER;
        seen |= 1u << type;
        int st = check_param(&p[i], limits);
        if (st != HM_OK)
            return st;
    }
    return HM_OK;
}

/* The placeholder combinations (P4, P5, P12): a placeholder is MEM_RESERVE |
 * MEM_RESERVE_PLACEHOLDER with PAGE_NOACCESS and nothing else; a replacement needs
 * MEM_RESERVE and an address, and is ordinary private memory (no large or AWE pages). */
static int check_placeholder_type(uintptr_t addr, DWORD type, DWORD protect)
{
    if ((type & MEM_REPLACE_PLACEHOLDER) &&
        (!(type & MEM_RESERVE) || !addr || (type & (MEM_LARGE_PAGES | MEM_PHYSICAL))))
        return HM_E_INVALID_PARAMETER;
    if ((type & MEM_RESERVE_PLACEHOLDER) &&
        (!(type & MEM_RESERVE) || protect != PAGE_NOACCESS ||
         (type & (MEM_COMMIT | MEM_REPLACE_PLACEHOLDER | MEM_WRITE_WATCH | MEM_LARGE_PAGES |
                  MEM_PHYSICAL))))
        return HM_E_INVALID_PARAMETER;
    return HM_OK;
}

/* MEM_REPLACE_PLACEHOLDER: the pages touching [addr, addr+size) must be exactly one
 * placeholder. */
static LPVOID replace(uintptr_t addr, SIZE_T size, DWORD type, uint32_t prot)
{
    uintptr_t first;
    size_t len;
    if (hm_page_span(addr, size, &first, &len) != HM_OK || first < HM_MIN_ADDR)
        return fail_null(HM_E_INVALID_PARAMETER);
    unsigned flags = ((type & MEM_COMMIT) ? HM_VM_ALLOC_COMMIT : 0) |
                     ((type & MEM_WRITE_WATCH) ? HM_VM_ALLOC_WATCH : 0);
    int st = hm_vm_replace_placeholder(first, len, prot, prot, flags);
    return st == HM_OK ? (LPVOID)first : fail_null(st);
}

static PVOID virtual_alloc2(HANDLE process, PVOID base, SIZE_T size, ULONG type, ULONG protect,
                            const MEM_EXTENDED_PARAMETER *params, ULONG count, bool from_app)
{
    uintptr_t addr = (uintptr_t)base;
    hm_vm_limits_t limits = {0, 0, 0};
    if (from_app && hm_prot_is_executable(protect))
        return fail_null(HM_E_INVALID_PARAMETER);
    int st = check_params(params, count, &limits);
    if (st != HM_OK)
        return fail_null(st);
    bool bounded = limits.lowest || limits.highest || limits.align;
    if ((type & ~TYPE_MASK2) || (addr && bounded) || size == 0)
        return fail_null(HM_E_INVALID_PARAMETER);
    if (process && process != CURRENT_PROCESS)
        return fail_null(HM_E_INVALID_HANDLE);
    if ((st = check_placeholder_type(addr, type, protect)) != HM_OK)
        return fail_null(st);
    st = hm_alloc_check_type(addr, size, type & ~PLACEHOLDER_BITS, protect);
    uint32_t prot;
    if (st == HM_E_INVALID_PARAMETER || hm_prot_from_win32(protect, from_app, &prot) != HM_OK)
        return fail_null(HM_E_INVALID_PARAMETER);
    if (st != HM_OK)
        return fail_null(st);
    if (type & MEM_REPLACE_PLACEHOLDER)
        return replace(addr, size, type, prot);
    return hm_alloc_checked(addr, size, type, prot, bounded ? &limits : NULL);
}

PVOID WINAPI VirtualAlloc2(HANDLE Process, PVOID BaseAddress, SIZE_T Size, ULONG AllocationType,
                           ULONG PageProtection, MEM_EXTENDED_PARAMETER *ExtendedParameters,
                           ULONG ParameterCount)
{
    HM_ENTER("VirtualAlloc2", BaseAddress, Size);
    return virtual_alloc2(Process, BaseAddress, Size, AllocationType, PageProtection,
                          ExtendedParameters, ParameterCount, false);
}

PVOID WINAPI VirtualAlloc2FromApp(HANDLE Process, PVOID BaseAddress, SIZE_T Size,
                                  ULONG AllocationType, ULONG PageProtection,
                                  MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                  ULONG ParameterCount)
{
    HM_ENTER("VirtualAlloc2FromApp", BaseAddress, Size);
    return virtual_alloc2(Process, BaseAddress, Size, AllocationType, PageProtection,
                          ExtendedParameters, ParameterCount, true);
}
