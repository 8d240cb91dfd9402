/*
 * map_json.c — `hostmem map --json`: one JSON object, {"pid", "regions", "totals"}, with
 * the fields documented in `hostmem map --help`. Those names are a stable interface:
 * add fields, never rename or remove one.
 *
 * Invariant: the output is valid JSON (strings escaped per RFC 8259), one region per
 * line. Calls stdio.
 */
#include <inttypes.h>
#include <string.h>

#include "map.h"
#include "names.h"

static void print_string(FILE *out, const char *s)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(out, "\\%c", c);
        else if (c < 0x20)
            fprintf(out, "\\u%04x", c);
        else
            fputc(c, out);
    }
    fputc('"', out);
}

/* "flags": ["write-watch", ...] */
static void print_flags(FILE *out, uint32_t flags)
{
    char words[80];
    hm_tool_region_flags(flags, words, sizeof words);
    fputs(", \"flags\": [", out);
    const char *sep = "";
    for (char *w = strtok(words, " "); w; w = strtok(NULL, " ")) {
        fprintf(out, "%s\"%s\"", sep, w);
        sep = ", ";
    }
    fputc(']', out);
}

static void print_region(FILE *out, const hm_tool_region_t *r)
{
    const MEMORY_BASIC_INFORMATION *mbi = &r->mbi;
    char prot[HM_TOOL_NAME_LEN], aprot[HM_TOOL_NAME_LEN];
    fprintf(out, "    {\"base\": \"0x%" PRIxPTR "\", \"size\": %zu, \"state\": \"%s\", ",
            (uintptr_t)mbi->BaseAddress, (size_t)mbi->RegionSize, hm_tool_state_name(mbi->State));
    fprintf(out, "\"protect\": \"%s\", \"protect_raw\": %u, ",
            hm_tool_protect_name(mbi->Protect, prot), mbi->Protect);
    fprintf(out,
            "\"alloc_base\": \"0x%" PRIxPTR "\", \"alloc_protect\": \"%s\", "
            "\"alloc_protect_raw\": %u, \"type\": ",
            (uintptr_t)mbi->AllocationBase, hm_tool_protect_name(mbi->AllocationProtect, aprot),
            mbi->AllocationProtect);
    if (mbi->Type)
        fprintf(out, "\"%s\"", hm_tool_type_name(mbi->Type));
    else
        fputs("null", out);
    fputs(", \"label\": ", out);
    print_string(out, r->label);
    fputs(", \"owner\": ", out);
    if (r->owner[0])
        print_string(out, r->owner);
    else
        fputs("null", out);
    print_flags(out, r->flags);
    fprintf(out, ", \"rss\": %llu, \"locked\": %llu}", (unsigned long long)r->rss,
            (unsigned long long)r->locked);
}

static void print_totals(FILE *out, const hm_tool_totals_t *t)
{
    fprintf(out,
            "  \"totals\": {\"regions\": %llu, \"commit\": %llu, \"reserve\": %llu, "
            "\"free\": %llu, \"private\": %llu, \"mapped\": %llu, \"image\": %llu}\n",
            (unsigned long long)t->n_regions, (unsigned long long)t->commit,
            (unsigned long long)t->reserve, (unsigned long long)t->free,
            (unsigned long long)t->private_, (unsigned long long)t->mapped,
            (unsigned long long)t->image);
}

void hm_tool_map_print_json(FILE *out, const hm_tool_map_t *m, bool all)
{
    hm_tool_totals_t t;
    hm_tool_map_totals(m, all, &t);
    fprintf(out, "{\n  \"pid\": %ld,\n  \"regions\": [", m->pid);
    const char *sep = "\n";
    for (size_t i = 0; i < m->n; i++) {
        if (!hm_tool_map_shows(&m->v[i], all))
            continue;
        fputs(sep, out);
        print_region(out, &m->v[i]);
        sep = ",\n";
    }
    fputs("\n  ],\n", out);
    print_totals(out, &t);
    fputs("}\n", out);
}
