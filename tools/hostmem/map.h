/*
 * map.h — `hostmem map`: the regions of a process (collected through hm_walk_regions, with
 * a details label each), the totals line both formats share, and the two printers
 * (map_text.c: a table; map_json.c: the documented JSON object).
 */
#ifndef HM_TOOL_MAP_H
#define HM_TOOL_MAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "hostmem/hostmem.h"
#include "labels.h"

/* One region as the tool prints it. */
typedef struct hm_tool_region {
    MEMORY_BASIC_INFORMATION mbi;
    uint32_t flags;     /* HM_REGION_* */
    char owner[64];     /* owning runtime, "" if none */
    char label[256];    /* details: stack, heap, an image or file name, "" if none */
    uint64_t rss, locked;
} hm_tool_region_t;

typedef struct hm_tool_map {
    long pid;
    hm_tool_region_t *v;
    size_t n, cap;
} hm_tool_map_t;

/* Collects the regions of process pid (0 = this one). Returns 0 or a Win32 error code. */
uint32_t hm_tool_map_collect(int pid, const hm_tool_labels_t *l, hm_tool_map_t *out);
void hm_tool_map_free(hm_tool_map_t *m);

/* Bytes per state and per type over the regions printed. */
typedef struct hm_tool_totals {
    uint64_t n_regions;
    uint64_t commit, reserve, free;
    uint64_t private_, mapped, image;
} hm_tool_totals_t;

/* Whether a region is printed: free ones only with --all. */
bool hm_tool_map_shows(const hm_tool_region_t *r, bool all);

void hm_tool_map_totals(const hm_tool_map_t *m, bool all, hm_tool_totals_t *t);

void hm_tool_map_print_text(FILE *out, const hm_tool_map_t *m, bool all);
void hm_tool_map_print_json(FILE *out, const hm_tool_map_t *m, bool all);

/* The region's flags as words ("write-watch large-pages ..."), "" if none; into buf. */
const char *hm_tool_region_flags(uint32_t flags, char *buf, size_t len);

#endif
