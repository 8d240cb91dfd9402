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

/* The details column: label, owner, flags, resident size (another process). */
static const char *details(const hm_tool_region_t *r, char *buf, size_t len)
{
    char flags[80], rss[HM_TOOL_NAME_LEN];
    hm_tool_region_flags(r->flags, flags, sizeof flags);
    size_t used = (size_t)snprintf(buf, len, "%s", r->label);
    if (r->owner[0] && used < len)
        used += (size_t)snprintf(buf + used, len - used, "%sruntime=%s", used ? " " : "", r->owner);
    if (flags[0] && used < len)
        used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", flags);
    if (r->rss && used < len)
        snprintf(buf + used, len - used, "%srss=%s", used ? " " : "", hm_tool_size_name(r->rss, rss));
    return buf;
}

static void print_region(FILE *out, const hm_tool_region_t *r)
{
    const MEMORY_BASIC_INFORMATION *mbi = &r->mbi;
    char size[HM_TOOL_NAME_LEN], prot[HM_TOOL_NAME_LEN], aprot[HM_TOOL_NAME_LEN], label[400];
    details(r, label, sizeof label);
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

void hm_tool_map_print_text(FILE *out, const hm_tool_map_t *m, bool all)
{
    hm_tool_totals_t t;
    hm_tool_map_totals(m, all, &t);
    print_header(out);
    for (size_t i = 0; i < m->n; i++)
        if (hm_tool_map_shows(&m->v[i], all))
            print_region(out, &m->v[i]);
    print_totals(out, &t);
}
