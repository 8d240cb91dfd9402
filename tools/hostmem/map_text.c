/*
 * map_text.c — `hostmem map` as a table: one line per region (base, end, size, state,
 * protect, alloc base, alloc prot, type, details) and a last line of totals.
 *
 * Invariant: one region, one line, columns in the order of the header; sizes in human
 * units (names.c). Calls only stdio.
 */
#include <inttypes.h>

#include "map.h"
#include "names.h"

static void print_header(FILE *out)
{
    fprintf(out, "%-14s %-14s %7s  %-7s  %-7s  %-14s %-10s  %-7s  %s\n", "base", "end", "size",
            "state", "protect", "alloc base", "alloc prot", "type", "details");
}

static void print_region(FILE *out, const MEMORY_BASIC_INFORMATION *mbi, const char *label)
{
    char size[HM_TOOL_NAME_LEN], prot[HM_TOOL_NAME_LEN], aprot[HM_TOOL_NAME_LEN];
    uintptr_t base = (uintptr_t)mbi->BaseAddress;
    fprintf(out, "0x%012" PRIxPTR " 0x%012" PRIxPTR " %7s  %-7s  %-7s  0x%012" PRIxPTR " %-10s  ",
            base, base + mbi->RegionSize, hm_tool_size_name(mbi->RegionSize, size),
            hm_tool_state_name(mbi->State), hm_tool_protect_name(mbi->Protect, prot),
            (uintptr_t)mbi->AllocationBase, hm_tool_protect_name(mbi->AllocationProtect, aprot));
    /* The last two columns without trailing blanks when there are no details. */
    if (*label)
        fprintf(out, "%-7s  %s\n", hm_tool_type_name(mbi->Type), label);
    else
        fprintf(out, "%s\n", hm_tool_type_name(mbi->Type));
}

/* "12.3M commit, 1.0M reserve" style: one "<size> <what>" per non-zero total. */
static void print_sum(FILE *out, const char *const *names, const uint64_t *bytes, int n)
{
    char size[HM_TOOL_NAME_LEN];
    const char *sep = "";
    for (int i = 0; i < n; i++) {
        if (!bytes[i])
            continue;
        fprintf(out, "%s%s %s", sep, hm_tool_size_name(bytes[i], size), names[i]);
        sep = ", ";
    }
}

static void print_totals(FILE *out, const hm_tool_totals_t *t)
{
    static const char *const states[] = {"commit", "reserve", "free"};
    static const char *const types[] = {"private", "mapped", "image"};
    const uint64_t by_state[] = {t->commit, t->reserve, t->free};
    const uint64_t by_type[] = {t->private_, t->mapped, t->image};
    fprintf(out, "total: %llu regions; ", (unsigned long long)t->n_regions);
    print_sum(out, states, by_state, 3);
    fputs("; ", out);
    print_sum(out, types, by_type, 3);
    fputc('\n', out);
}

void hm_tool_map_print_text(FILE *out, const hm_tool_regions_t *r, const hm_tool_labels_t *l,
                            bool all)
{
    hm_tool_totals_t t;
    hm_tool_map_totals(r, all, &t);
    print_header(out);
    for (size_t i = 0; i < r->n; i++)
        if (hm_tool_map_shows(&r->v[i], all))
            print_region(out, &r->v[i], hm_tool_label(l, &r->v[i]));
    print_totals(out, &t);
}
