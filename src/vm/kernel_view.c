/*
 * kernel_view.c — the walk of kernel_view.h: one snapshot of /proc/<pid>/smaps, read
 * through hm_os (site KERNEL_VIEW_SMAPS), translated region by region. No state, no locks.
 */
#include "vm/kernel_view.h"

#include <stdio.h>
#include <string.h>

#include "vm/internal.h"
#include "vm/procmaps.h"

static int status_of_read(int err)
{
    if (err == ENOENT || err == ESRCH)
        return HM_E_INVALID_PARAMETER;
    if (err == EACCES || err == EPERM)
        return HM_E_ACCESS_DENIED;
    return hm_status_of_errno(err);
}

/* The region of VMAs [i, last]. */
static void fill(const hm_maps_t *m, size_t i, size_t last, hm_kv_region_t *out)
{
    const hm_vma_t *v = &m->v[i];
    size_t first = hm_maps_first_of_file(m, i);
    memset(out, 0, sizeof *out);
    out->r.base = v->s;
    out->r.size = m->v[last].e - v->s;
    out->r.alloc_base = m->v[first].s;
    out->r.type = hm_maps_type_of(m, i);
    out->r.state = (v->prot & (HM_VM_R | HM_VM_W | HM_VM_X)) ? HM_STATE_COMMITTED
                                                            : HM_STATE_RESERVED;
    out->r.prot = out->r.state == HM_STATE_COMMITTED ? v->prot : 0;
    out->r.alloc_prot = out->r.type == HM_TYPE_IMAGE
                            ? (HM_VM_R | HM_VM_W | HM_VM_X | HM_VM_COW)
                            : m->v[first].prot;
    out->r.foreign = true;
    out->path = v->name;
    for (size_t k = i; k <= last; k++) {
        out->rss += m->v[k].rss_kb << 10;
        out->locked += m->v[k].locked_kb << 10;
    }
}

static void fill_free(uintptr_t s, uintptr_t e, hm_kv_region_t *out)
{
    memset(out, 0, sizeof *out);
    out->r.base = s;
    out->r.size = e - s;
    out->r.state = HM_STATE_FREE;
    out->r.foreign = true;
    out->path = "";
}

static int walk(const hm_maps_t *m, int (*visit)(const hm_kv_region_t *, void *), void *ctx)
{
    const uintptr_t top = HM_MAX_ADDR + 1;
    uintptr_t at = 0;
    hm_kv_region_t kr;
    for (size_t i = 0; i < m->n && m->v[i].s < top; ) {
        int rc;
        if (m->v[i].s > at) {
            fill_free(at, m->v[i].s, &kr);
            if ((rc = visit(&kr, ctx)) != 0)
                return rc;
        }
        size_t last = hm_maps_last_alike(m, i);
        fill(m, i, last, &kr);
        if ((rc = visit(&kr, ctx)) != 0)
            return rc;
        at = m->v[last].e;
        i = last + 1;
    }
    if (at < top) {
        fill_free(at, top, &kr);
        return visit(&kr, ctx);
    }
    return 0;
}

int hm_kernel_view_walk(int pid, int (*visit)(const hm_kv_region_t *kr, void *ctx), void *ctx,
                        int *stopped)
{
    char path[48];
    if (pid <= 0)
        return HM_E_INVALID_PARAMETER;
    snprintf(path, sizeof path, "/proc/%d/smaps", pid);
    hm_maps_t m;
    int err = hm_maps_read(HM_SITE_KERNEL_VIEW_SMAPS, path, &m);
    if (err)
        return status_of_read(err);
    *stopped = walk(&m, visit, ctx);
    hm_maps_free(&m);
    return HM_OK;
}
