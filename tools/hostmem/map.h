/*
 * map.h — `hostmem map` output: the totals line both formats share, and the two printers
 * (map_text.c: a table; map_json.c: the documented JSON object).
 */
#ifndef HM_TOOL_MAP_H
#define HM_TOOL_MAP_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "labels.h"
#include "regions.h"

/* Bytes per state and per type over the regions printed. */
typedef struct hm_tool_totals {
    uint64_t n_regions;
    uint64_t commit, reserve, free;
    uint64_t private_, mapped, image;
} hm_tool_totals_t;

/* Whether a region is printed: free ones only with --all. */
bool hm_tool_map_shows(const MEMORY_BASIC_INFORMATION *mbi, bool all);

void hm_tool_map_totals(const hm_tool_regions_t *r, bool all, hm_tool_totals_t *t);

void hm_tool_map_print_text(FILE *out, const hm_tool_regions_t *r, const hm_tool_labels_t *l,
                            bool all);
void hm_tool_map_print_json(FILE *out, const hm_tool_regions_t *r, const hm_tool_labels_t *l,
                            bool all);

#endif
