/*
 * regions.h — the calling process's address space as Windows reports it: a walk over a
 * range of addresses with VirtualQuery, one MEMORY_BASIC_INFORMATION per region.
 */
#ifndef HM_TOOL_REGIONS_H
#define HM_TOOL_REGIONS_H

#include <stddef.h>
#include <stdint.h>

#include "hostmem/memoryapi.h"

typedef struct hm_tool_regions {
    MEMORY_BASIC_INFORMATION *v;
    size_t n, cap;
} hm_tool_regions_t;

/*
 * Appends the regions of [lo, hi) to *out, in address order, the first and last clipped to
 * the range. Returns 0, or the GetLastError() code of the VirtualQuery that failed
 * (ERROR_NOT_ENOUGH_MEMORY if the list cannot grow).
 */
DWORD hm_tool_regions_walk(uintptr_t lo, uintptr_t hi, hm_tool_regions_t *out);

/* The end of user space: lpMaximumApplicationAddress + 1. */
uintptr_t hm_tool_user_space_end(void);

void hm_tool_regions_free(hm_tool_regions_t *r);

#endif
