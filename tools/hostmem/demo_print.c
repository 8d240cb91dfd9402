/*
 * demo_print.c — how `hostmem demo` talks: step titles, plain-words explanations (3
 * spaces), Win32 calls ("> "), their results (5 spaces) and the map of the reservation
 * ("| " lines), all on stdout.
 *
 * Invariant: nothing printed depends on where the reservation landed: addresses are
 * offsets from p ("p+64K") and the map is clipped to [p, p+256K), so runs differ only in
 * the one line that prints p itself. Calls stdio, VirtualQuery (through regions.c).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>

#include "demo.h"
#include "names.h"
#include "regions.h"

void hm_demo_step(int n, const char *title)
{
    printf("\n%d. %s\n", n, title);
}

void hm_demo_say(const char *line)
{
    printf("   %s\n", line);
}

void hm_demo_call(const char *code)
{
    printf("   > %s\n", code);
}

void hm_demo_result(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("     ", stdout);
    vprintf(fmt, ap);
    putchar('\n');
    va_end(ap);
}

bool hm_demo_unexpected(const char *what)
{
    printf("     unexpected: %s (GetLastError() = %u)\n", what, GetLastError());
    return false;
}

const char *hm_demo_offset_name(const hm_demo_t *d, uintptr_t addr, char buf[HM_TOOL_NAME_LEN])
{
    uintptr_t off = addr - (uintptr_t)d->p;
    if (off == 0)
        return "p";
    snprintf(buf, HM_TOOL_NAME_LEN, "p+%" PRIuPTR "K", off / HM_DEMO_KIB);
    return buf;
}

static void print_region(const hm_demo_t *d, const MEMORY_BASIC_INFORMATION *mbi)
{
    char off[HM_TOOL_NAME_LEN], size[HM_TOOL_NAME_LEN], prot[HM_TOOL_NAME_LEN];
    printf("     | %-7s %5s  %-8s %-8s %s\n",
           hm_demo_offset_name(d, (uintptr_t)mbi->BaseAddress, off),
           hm_tool_size_name(mbi->RegionSize, size), hm_tool_state_name(mbi->State),
           hm_tool_protect_name(mbi->Protect, prot), hm_tool_type_name(mbi->Type));
}

bool hm_demo_show_map(const hm_demo_t *d)
{
    hm_tool_regions_t r = {0};
    uintptr_t base = (uintptr_t)d->p;
    DWORD err = hm_tool_regions_walk(base, base + HM_DEMO_RESERVE_SIZE, &r);
    if (err == 0) {
        printf("     | %-7s %5s  %-8s %-8s %s\n", "offset", "size", "state", "protect", "type");
        for (size_t i = 0; i < r.n; i++)
            print_region(d, &r.v[i]);
    }
    hm_tool_regions_free(&r);
    if (err)
        SetLastError(err);
    return err == 0 || hm_demo_unexpected("VirtualQuery failed while walking the reservation");
}
