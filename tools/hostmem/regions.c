/*
 * regions.c — walks a range of the address space with VirtualQuery, region by region:
 * each call returns BaseAddress and RegionSize, and the next query starts at
 * BaseAddress + RegionSize.
 *
 * Invariant: the regions appended tile the walked range [lo, hi) in order, with no gap
 * and no overlap (an answer that does not contain the queried address, or does not move
 * forward, ends the walk with ERROR_INVALID_DATA rather than looping).
 * Calls VirtualQuery, GetSystemInfo, realloc. The list grows before a query, never between
 * a query and its use; growing may itself map memory, so a walk is a snapshot only as far
 * as the process holds still.
 */
#include "regions.h"

#include <stdlib.h>

#define MIN_CAP 256

uintptr_t hm_tool_user_space_end(void)
{
    SYSTEM_INFO si;
    GetSystemInfo(&si);
    return (uintptr_t)si.lpMaximumApplicationAddress + 1;
}

static int grow(hm_tool_regions_t *r)
{
    if (r->n < r->cap)
        return 0;
    size_t cap = r->cap ? r->cap * 2 : MIN_CAP;
    MEMORY_BASIC_INFORMATION *v = realloc(r->v, cap * sizeof *v);
    if (!v)
        return -1;
    r->v = v;
    r->cap = cap;
    return 0;
}

/* Clips mbi to [lo, hi). */
static void clip(MEMORY_BASIC_INFORMATION *mbi, uintptr_t lo, uintptr_t hi)
{
    uintptr_t base = (uintptr_t)mbi->BaseAddress, end = base + mbi->RegionSize;
    if (base < lo)
        base = lo;
    if (end > hi)
        end = hi;
    mbi->BaseAddress = (PVOID)base;
    mbi->RegionSize = end - base;
}

DWORD hm_tool_regions_walk(uintptr_t lo, uintptr_t hi, hm_tool_regions_t *out)
{
    for (uintptr_t addr = lo; addr < hi;) {
        if (grow(out) != 0)
            return (DWORD)ERROR_NOT_ENOUGH_MEMORY;
        MEMORY_BASIC_INFORMATION *mbi = &out->v[out->n];
        if (VirtualQuery((LPCVOID)addr, mbi, sizeof *mbi) != sizeof *mbi)
            return GetLastError();
        uintptr_t base = (uintptr_t)mbi->BaseAddress, next = base + mbi->RegionSize;
        if (base > addr || next <= addr)
            return (DWORD)ERROR_INVALID_DATA;
        clip(mbi, lo, hi);
        out->n++;
        addr = next;
    }
    return 0;
}

void hm_tool_regions_free(hm_tool_regions_t *r)
{
    free(r->v);
    r->v = NULL;
    r->n = r->cap = 0;
}
