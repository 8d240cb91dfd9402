/*
 * map_collect.c — the regions `hostmem map` prints, from hm_walk_regions(): for this
 * process the label comes from labels.c (stack, heap, image name), for another one from
 * the kernel's path ("[stack]" → stack, "[heap]" → heap, a file → its base name).
 *
 * Invariant: the list tiles user space in address order, as the walk does; strings are
 * copied (the walk's own are valid only during a visit). Calls hm_walk_regions, realloc.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "map.h"

typedef struct collect {
    hm_tool_map_t *m;
    const hm_tool_labels_t *labels;
    int failed;
} collect_t;

static void label_of_path(const char *path, char *out, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!strcmp(path, "[stack]") || !strcmp(path, "[heap]"))
        snprintf(out, len, "%.*s", (int)strlen(path) - 2, path + 1);
    else
        snprintf(out, len, "%s", slash ? slash + 1 : path);
}

static int visit(const hm_region_t *r, void *ctx)
{
    collect_t *c = ctx;
    hm_tool_map_t *m = c->m;
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 256;
        hm_tool_region_t *v = realloc(m->v, cap * sizeof *v);
        if (!v) {
            c->failed = 1;
            return 1;
        }
        m->v = v;
        m->cap = cap;
    }
    hm_tool_region_t *t = &m->v[m->n++];
    memset(t, 0, sizeof *t);
    t->mbi.BaseAddress = r->base;
    t->mbi.AllocationBase = r->alloc_base;
    t->mbi.RegionSize = r->size;
    t->mbi.State = r->state;
    t->mbi.Protect = r->protect;
    t->mbi.AllocationProtect = r->alloc_protect;
    t->mbi.Type = r->type;
    t->flags = r->flags;
    t->rss = r->rss_bytes;
    t->locked = r->locked_bytes;
    snprintf(t->owner, sizeof t->owner, "%s", r->owner ? r->owner : "");
    if (c->labels)
        snprintf(t->label, sizeof t->label, "%s", hm_tool_label(c->labels, &t->mbi));
    else if (r->state != MEM_FREE)
        label_of_path(r->path, t->label, sizeof t->label);
    return 0;
}

uint32_t hm_tool_map_collect(int pid, const hm_tool_labels_t *l, hm_tool_map_t *out)
{
    collect_t c = {out, pid == 0 ? l : NULL, 0};
    out->n = 0;
    uint32_t err = hm_walk_regions(pid, visit, &c);
    return err ? err : c.failed ? (uint32_t)ERROR_NOT_ENOUGH_MEMORY : 0;
}

void hm_tool_map_free(hm_tool_map_t *m)
{
    free(m->v);
    m->v = NULL;
    m->n = m->cap = 0;
}

const char *hm_tool_region_flags(uint32_t flags, char *buf, size_t len)
{
    static const struct {
        uint32_t flag;
        const char *word;
    } words[] = {{HM_REGION_WRITE_WATCH, "write-watch"},
                 {HM_REGION_LARGE_PAGES, "large-pages"},
                 {HM_REGION_PHYSICAL, "physical"},
                 {HM_REGION_PLACEHOLDER, "placeholder"}};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if ((flags & words[i].flag) && used < len)
            used += (size_t)snprintf(buf + used, len - used, "%s%s", used ? " " : "", words[i].word);
    return buf;
}
