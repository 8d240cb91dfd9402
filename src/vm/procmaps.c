/*
 * procmaps.c — parsing /proc/<pid>/maps (see procmaps.h). The text buffer stays alive
 * while the array does: each VMA's name points into it.
 */
#include "vm/procmaps.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/internal.h"

void hm_maps_free(hm_maps_t *m)
{
    free(m->text);
    free(m->v);
}

static bool parse_line(char *line, hm_vma_t *out)
{
    char perms[5] = {0};
    unsigned long long s, e, off, inode;
    int name_at = 0;
    if (sscanf(line, "%llx-%llx %4s %llx %15s %llu %n", &s, &e, perms, &off, out->dev, &inode,
               &name_at) < 6)
        return false;
    out->s = (uintptr_t)s;
    out->e = (uintptr_t)e;
    out->inode = inode;
    out->shared = perms[3] == 's';
    out->file = inode != 0;
    out->name = name_at ? line + name_at : "";
    out->prot = (perms[0] == 'r' ? HM_VM_R : 0) | (perms[1] == 'w' ? HM_VM_W : 0) |
                (perms[2] == 'x' ? HM_VM_X : 0);
    if (out->file && !out->shared && (out->prot & HM_VM_W))
        out->prot |= HM_VM_COW;
    return true;
}

int hm_maps_read(hm_os_site_t site, const char *path, hm_maps_t *m)
{
    size_t len;
    memset(m, 0, sizeof *m);
    int err = hm_os.read_file(site, path, &m->text, &len);
    if (err)
        return err;
    size_t lines = 1;
    for (size_t i = 0; i < len; i++)
        lines += m->text[i] == '\n';
    m->v = malloc(lines * sizeof *m->v);
    if (!m->v) {
        free(m->text);
        m->text = NULL;
        return ENOMEM;
    }
    for (char *line = m->text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        unsigned long long kb;
        if (parse_line(line, &m->v[m->n])) {
            m->v[m->n].rss_kb = m->v[m->n].locked_kb = 0;
            m->n++;
        } else if (m->n && sscanf(line, "Rss: %llu kB", &kb) == 1) {
            m->v[m->n - 1].rss_kb = kb;
        } else if (m->n && sscanf(line, "Locked: %llu kB", &kb) == 1) {
            m->v[m->n - 1].locked_kb = kb;
        }
        line = nl ? nl + 1 : NULL;
    }
    return 0;
}

size_t hm_maps_find(const hm_maps_t *m, uintptr_t addr)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (m->v[mid].e <= addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

bool hm_maps_same_file(const hm_vma_t *a, const hm_vma_t *b)
{
    return a->file && b->file && a->inode == b->inode && !strcmp(a->dev, b->dev);
}

hm_vm_type_t hm_maps_type_of(const hm_maps_t *m, size_t i)
{
    const hm_vma_t *v = &m->v[i];
    if (!v->file)
        return !strcmp(v->name, "[vdso]") ? HM_TYPE_IMAGE
               : (!strncmp(v->name, "[vvar", 5) || !strcmp(v->name, "[vsyscall]")) ? HM_TYPE_MAPPED
                                                                                    : HM_TYPE_PRIVATE;
    for (size_t k = 0; k < m->n; k++)
        if (hm_maps_same_file(&m->v[k], v) && (m->v[k].prot & HM_VM_X))
            return HM_TYPE_IMAGE;
    return HM_TYPE_MAPPED;
}

size_t hm_maps_first_of_file(const hm_maps_t *m, size_t i)
{
    size_t first = i;
    while (m->v[i].file && first > 0 && m->v[first - 1].e == m->v[first].s &&
           hm_maps_same_file(&m->v[first - 1], &m->v[i]))
        first--;
    return first;
}

size_t hm_maps_last_alike(const hm_maps_t *m, size_t i)
{
    size_t last = i;
    while (m->v[i].file && last + 1 < m->n && m->v[last + 1].s == m->v[last].e &&
           hm_maps_same_file(&m->v[last + 1], &m->v[i]) && m->v[last + 1].prot == m->v[i].prot)
        last++;
    return last;
}
