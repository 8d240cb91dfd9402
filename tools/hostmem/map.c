/*
 * map.c — `hostmem map [PID] [--json] [--all]`: walks a process's address space from 0
 * to lpMaximumApplicationAddress (this process: hostmem's VirtualQuery; another: the
 * kernel's view in Windows terms) and prints every region (non-free ones unless --all)
 * as a table or as JSON, with totals by state and type.
 *
 * Invariant: both formats print the same regions and the same totals (one filter,
 * hm_tool_map_shows, and one sum, hm_tool_map_totals). Exit 1 if the walk fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"
#include "map.h"

static const char help[] =
    "usage: hostmem map [PID] [--json] [--all]\n\n"
    "Print a memory map in Windows terms, as VMMap shows it: one line per region (pages\n"
    "sharing state, protection and type). Without PID: the hostmem process itself, as\n"
    "Windows' VirtualQuery reports it through hostmem (regions hostmem allocated show the\n"
    "runtime that owns them). With PID: that process, translated from the kernel's view\n"
    "(/proc/PID/smaps): '---' mappings are reserved, anonymous memory is private, files\n"
    "mapped executable are images, other files are mapped.\n\n"
    "options:\n"
    "  --json      print one JSON object instead of a table (fields below)\n"
    "  --all       include free regions\n"
    "  -h, --help  show this help\n\n"
    "table columns: base, end (exclusive), size (K = KiB, M = MiB, ...), state (commit,\n"
    "reserve, free), protect, alloc base and alloc prot (AllocationBase and\n"
    "AllocationProtect: the reservation the region belongs to), type (private, mapped,\n"
    "image), details (stack, heap, the image's or file's name; runtime=NAME for a region\n"
    "a hosted runtime owns; write-watch, large-pages, physical, placeholder; for another\n"
    "process the resident size, rss=). The last line sums bytes by state and by type.\n"
    "protections: NA no access, R read, RW read/write, WC write-copy, X execute, RX, RWX,\n"
    "XWC execute/write-copy; +G guard, +NC no-cache, +WCB write-combine; - none (0).\n\n"
    "JSON: {\"pid\": int, \"regions\": [region...], \"totals\": totals}\n"
    "  region: \"base\" and \"alloc_base\" (hex strings), \"size\" (bytes), \"state\",\n"
    "    \"protect\" and \"alloc_protect\" (names as in the table), \"protect_raw\" and\n"
    "    \"alloc_protect_raw\" (the PAGE_* values), \"type\" (null for free memory),\n"
    "    \"label\" (details, \"\" if none), \"owner\" (runtime name or null),\n"
    "    \"flags\" (array of the words above), \"rss\" and \"locked\" (bytes; kernel view\n"
    "    of another process only, else 0)\n"
    "  totals: \"regions\" (count), and bytes: \"commit\", \"reserve\", \"free\",\n"
    "    \"private\", \"mapped\", \"image\"\n\n"
    "example:\n"
    "  hostmem map --json\n"
    "  hostmem map $$      (the calling shell)\n";

bool hm_tool_map_shows(const hm_tool_region_t *r, bool all)
{
    return all || r->mbi.State != MEM_FREE;
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

void hm_tool_map_totals(const hm_tool_map_t *m, bool all, hm_tool_totals_t *t)
{
    *t = (hm_tool_totals_t){0};
    for (size_t i = 0; i < m->n; i++) {
        if (!hm_tool_map_shows(&m->v[i], all))
            continue;
        t->n_regions++;
        add_state(t, &m->v[i].mbi);
        add_type(t, &m->v[i].mbi);
    }
}

/* argv's PID argument, if any (*pid = 0 if none or our own): moves it out of argv so the
 * flags parser sees only flags. Returns NULL, or the argument that is not a valid PID. */
static const char *take_pid(int *argc, char **argv, int *pid)
{
    *pid = 0;
    for (int i = 1; i < *argc; i++) {
        if (argv[i][0] == '-')
            continue;
        char *end;
        errno = 0;
        long v = strtol(argv[i], &end, 10);
        if (errno || *end || v <= 0 || v > 0x3FFFFFFF || *pid)
            return argv[i];
        *pid = v == (long)getpid() ? 0 : (int)v;
        for (int k = i; k + 1 < *argc; k++)
            argv[k] = argv[k + 1];
        --*argc;
        i--;
    }
    return NULL;
}

int hm_tool_map(int argc, char **argv)
{
    bool json = false, all = false;
    const hm_tool_flag_t flags[] = {{"--json", &json}, {"--all", &all}};
    int pid;
    const char *bad = take_pid(&argc, argv, &pid);
    if (bad) {
        fprintf(stderr, "hostmem map: not a process ID: '%s'\nTry 'hostmem map --help'.\n", bad);
        return HM_TOOL_USAGE;
    }
    int rc = hm_tool_parse_flags(argc, argv, flags, 2, help);
    if (rc >= 0)
        return rc;
    hm_tool_labels_t labels;
    hm_tool_map_t map = {.pid = pid ? pid : (long)getpid()};
    if (hm_tool_labels_init(&labels) != 0) {
        fprintf(stderr, "hostmem map: out of memory\n");
        return HM_TOOL_FAILURE;
    }
    uint32_t err = hm_tool_map_collect(pid, &labels, &map);
    if (err) {
        fprintf(stderr, "hostmem map: cannot read the memory map of process %ld: %s (error %u)\n",
                map.pid, err == ERROR_INVALID_PARAMETER ? "no such process"
                         : err == ERROR_ACCESS_DENIED  ? "permission denied"
                                                       : "out of memory",
                (unsigned)err);
    } else if (json) {
        hm_tool_map_print_json(stdout, &map, all);
    } else {
        hm_tool_map_print_text(stdout, &map, all);
    }
    hm_tool_map_free(&map);
    hm_tool_labels_fini(&labels);
    return err ? HM_TOOL_FAILURE : HM_TOOL_OK;
}
