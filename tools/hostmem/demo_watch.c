/*
 * demo_watch.c — the demo's write-watch step: a MEM_WRITE_WATCH region, three writes
 * into two pages, GetWriteWatch listing exactly those pages (and resetting), then an
 * empty list. Addresses print as offsets from the region (w+4K), so the output does not
 * depend on where it landed or on which write-watch engine is in use.
 */
#include <stdio.h>

#include "demo.h"

#define WATCH_SIZE (64 * HM_DEMO_KIB)

/* "w+4K, w+16K" for the n pages in a. */
static void print_pages(uintptr_t w, PVOID *a, ULONG_PTR n)
{
    char line[256];
    size_t used = 0;
    for (ULONG_PTR i = 0; i < n && used < sizeof line; i++)
        used += (size_t)snprintf(line + used, sizeof line - used, "%sw+%zuK", i ? ", " : "",
                                 (size_t)(((uintptr_t)a[i] - w) / HM_DEMO_KIB));
    hm_demo_result("returns 0; count = %lu: %s; granularity 4096", (unsigned long)n,
                   n ? line : "none");
}

static bool watch_steps(volatile char *w)
{
    PVOID addrs[16];
    ULONG_PTR count = 16;
    DWORD gran = 0;
    hm_demo_call("w[5000] = 1; w[20000] = 2; w[20001] = 3;");
    w[5000] = 1;
    w[20000] = 2;
    w[20001] = 3;
    hm_demo_call("GetWriteWatch(WRITE_WATCH_FLAG_RESET, w, 64 * 1024, addrs, &count, &gran);");
    if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, (PVOID)w, WATCH_SIZE, addrs, &count, &gran) != 0)
        return hm_demo_unexpected("GetWriteWatch failed");
    if (count != 2 || addrs[0] != (PVOID)(w + 4096) || addrs[1] != (PVOID)(w + 16384) ||
        gran != 4096)
        return hm_demo_unexpected("GetWriteWatch did not list pages 1 and 4");
    print_pages((uintptr_t)w, addrs, count);
    hm_demo_call("GetWriteWatch(0, w, 64 * 1024, addrs, &count, &gran);   /* again */");
    count = 16;
    if (GetWriteWatch(0, (PVOID)w, WATCH_SIZE, addrs, &count, &gran) != 0 || count != 0)
        return hm_demo_unexpected("the reset did not clear the list");
    print_pages((uintptr_t)w, addrs, count);
    return true;
}

bool hm_demo_step_watch(int n)
{
    hm_demo_step(n, "Write watch: which pages were written?");
    hm_demo_say("A MEM_WRITE_WATCH region remembers the pages written since the last reset, as");
    hm_demo_say("a garbage collector's card table: it rescans only those.");
    hm_demo_call("w = VirtualAlloc(NULL, 64 * 1024, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,");
    hm_demo_call("                 PAGE_READWRITE);");
    volatile char *w =
        VirtualAlloc(NULL, WATCH_SIZE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    if (!w)
        return hm_demo_unexpected("VirtualAlloc(MEM_WRITE_WATCH) returned NULL");
    bool ok = watch_steps(w);
    if (!VirtualFree((LPVOID)w, 0, MEM_RELEASE))
        return hm_demo_unexpected("VirtualFree returned FALSE");
    return ok;
}
