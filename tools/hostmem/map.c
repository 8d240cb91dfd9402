/*
 * map.c — `hostmem map [--json] [--all]`: walks this process's address space from 0 to
 * lpMaximumApplicationAddress with VirtualQuery and prints every region (non-free ones
 * unless --all) as a table or as JSON, with totals by state and type.
 *
 * Invariant: both formats print the same regions and the same totals (one filter,
 * hm_tool_map_shows, and one sum, hm_tool_map_totals). Exit 1 if a VirtualQuery fails.
 */
#include <stdio.h>

#include "cli.h"
#include "map.h"

static const char help[] =
    "usage: hostmem map [--json] [--all]\n\n"
    "Print the memory map of the hostmem process itself, as Windows' VirtualQuery\n"
    "reports it: one line per region (pages sharing state, protection and type).\n\n"
    "options:\n"
    "  --json      print one JSON object instead of a table (fields below)\n"
    "  --all       include free regions\n"
    "  -h, --help  show this help\n\n"
    "table columns: base, end (exclusive), size (K = KiB, M = MiB, ...), state (commit,\n"
    "reserve, free), protect, alloc base and alloc prot (AllocationBase and\n"
    "AllocationProtect: the reservation the region belongs to), type (private, mapped,\n"
    "image), details (stack, heap, or the image's file name). The last line sums bytes\n"
    "by state and by type.\n"
    "protections: NA no access, R read, RW read/write, WC write-copy, X execute, RX, RWX,\n"
    "XWC execute/write-copy; +G guard, +NC no-cache, +WCB write-combine; - none (0).\n\n"
    "JSON: {\"pid\": int, \"regions\": [region...], \"totals\": totals}\n"
    "  region: \"base\" and \"alloc_base\" (hex strings), \"size\" (bytes), \"state\",\n"
    "    \"protect\" and \"alloc_protect\" (names as in the table), \"protect_raw\" and\n"
    "    \"alloc_protect_raw\" (the PAGE_* values), \"type\" (null for free memory),\n"
    "    \"label\" (details, \"\" if none)\n"
    "  totals: \"regions\" (count), and bytes: \"commit\", \"reserve\", \"free\",\n"
    "    \"private\", \"mapped\", \"image\"\n\n"
    "example:\n"
    "  hostmem map --json\n";

bool hm_tool_map_shows(const MEMORY_BASIC_INFORMATION *mbi, bool all)
{
    return all || mbi->State != MEM_FREE;
}

static void add_state(hm_tool_totals_t *t, const MEMORY_BASIC_INFORMATION *mbi)
{
    if (mbi->State == MEM_COMMIT)
        t->commit += mbi->RegionSize;
    else if (mbi->State == MEM_RESERVE)
        t->reserve += mbi->RegionSize;
    else if (mbi->State == MEM_FREE)
        t->free += mbi->RegionSize;
}

static void add_type(hm_tool_totals_t *t, const MEMORY_BASIC_INFORMATION *mbi)
{
    if (mbi->Type == MEM_PRIVATE)
        t->private_ += mbi->RegionSize;
    else if (mbi->Type == MEM_MAPPED)
        t->mapped += mbi->RegionSize;
    else if (mbi->Type == MEM_IMAGE)
        t->image += mbi->RegionSize;
}

void hm_tool_map_totals(const hm_tool_regions_t *r, bool all, hm_tool_totals_t *t)
{
    *t = (hm_tool_totals_t){0};
    for (size_t i = 0; i < r->n; i++) {
        if (!hm_tool_map_shows(&r->v[i], all))
            continue;
        t->n_regions++;
        add_state(t, &r->v[i]);
        add_type(t, &r->v[i]);
    }
}

/* Where a walk stopped: the end of the last region it recorded. */
static uintptr_t next_address(const hm_tool_regions_t *r)
{
    if (r->n == 0)
        return 0;
    return (uintptr_t)r->v[r->n - 1].BaseAddress + r->v[r->n - 1].RegionSize;
}

int hm_tool_map(int argc, char **argv)
{
    bool json = false, all = false;
    const hm_tool_flag_t flags[] = {{"--json", &json}, {"--all", &all}};
    int rc = hm_tool_parse_flags(argc, argv, flags, 2, help);
    if (rc >= 0)
        return rc;
    hm_tool_labels_t labels;
    hm_tool_regions_t regions = {0};
    if (hm_tool_labels_init(&labels) != 0) {
        fprintf(stderr, "hostmem map: out of memory\n");
        return HM_TOOL_FAILURE;
    }
    DWORD err = hm_tool_regions_walk(0, hm_tool_user_space_end(), &regions);
    if (err) {
        fprintf(stderr, "hostmem map: VirtualQuery(%p) failed, GetLastError() = %u\n",
                (void *)next_address(&regions), err);
        rc = HM_TOOL_FAILURE;
    } else if (json) {
        hm_tool_map_print_json(stdout, &regions, &labels, all);
    } else {
        hm_tool_map_print_text(stdout, &regions, &labels, all);
    }
    hm_tool_regions_free(&regions);
    hm_tool_labels_fini(&labels);
    return err ? rc : HM_TOOL_OK;
}
