/*
 * labels.c — names a region by what it holds: the region containing a local variable of
 * the caller is "stack", the one containing a malloc block is "heap", and an image region
 * is named after its file (dladdr on its allocation base, basename only).
 *
 * Invariant: a label depends only on the region and the two reference addresses, so a map
 * labels the same region the same way every time. Calls malloc, dladdr; not thread-safe
 * (one static buffer), which the single-threaded tool does not need.
 */
#include "labels.h"

#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hm_tool_labels_init(hm_tool_labels_t *l)
{
    volatile char here = 0;
    l->stack = (uintptr_t)&here;
    l->heap = malloc(16);
    return l->heap ? 0 : -1;
}

static int contains(const MEMORY_BASIC_INFORMATION *mbi, uintptr_t addr)
{
    uintptr_t base = (uintptr_t)mbi->BaseAddress;
    return addr >= base && addr - base < mbi->RegionSize;
}

static const char *image_name(const MEMORY_BASIC_INFORMATION *mbi)
{
    static char name[256];
    Dl_info info;
    if (!dladdr(mbi->AllocationBase, &info) || !info.dli_fname || !*info.dli_fname)
        return "";
    const char *slash = strrchr(info.dli_fname, '/');
    snprintf(name, sizeof name, "%s", slash ? slash + 1 : info.dli_fname);
    return name;
}

const char *hm_tool_label(const hm_tool_labels_t *l, const MEMORY_BASIC_INFORMATION *mbi)
{
    if (mbi->State == MEM_FREE)
        return "";
    if (contains(mbi, l->stack))
        return "stack";
    if (contains(mbi, (uintptr_t)l->heap))
        return "heap";
    if (mbi->Type == MEM_IMAGE)
        return image_name(mbi);
    return "";
}

void hm_tool_labels_fini(hm_tool_labels_t *l)
{
    free(l->heap);
    l->heap = NULL;
}
