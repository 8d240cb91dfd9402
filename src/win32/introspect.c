/*
 * introspect.c — hm_walk_regions (hostmem.h): this process through hm_vm_query plus
 * hm_vm_describe, another through the kernel's view (src/vm/kernel_view.c). The visitor
 * runs with no hostmem lock held, so it may call any hostmem function. Stateless.
 */
#include <string.h>
#include <unistd.h>

#include "hostmem/hostmem.h"
#include "vm/kernel_view.h"
#include "vm/record.h"
#include "win32/win32.h"

static uint32_t fail(int status)
{
    hm_fail(status);
    return (uint32_t)GetLastError();
}

typedef struct walk {
    hm_region_visitor_t visit;
    void *ctx;
} walk_t;

static void fill_common(const hm_vm_region_t *r, hm_region_t *out)
{
    MEMORY_BASIC_INFORMATION mbi;
    hm_win32_mbi(r, &mbi);
    memset(out, 0, sizeof *out);
    out->base = mbi.BaseAddress;
    out->alloc_base = mbi.AllocationBase;
    out->size = mbi.RegionSize;
    out->state = mbi.State;
    out->protect = mbi.Protect;
    out->alloc_protect = mbi.AllocationProtect;
    out->type = mbi.Type;
    out->path = "";
}

static uint32_t flags_of_kind(unsigned kind)
{
    static const struct {
        unsigned kind;
        uint32_t flag;
    } map[] = {{HM_KIND_WATCH, HM_REGION_WRITE_WATCH},
               {HM_KIND_LARGE, HM_REGION_LARGE_PAGES},
               {HM_KIND_PHYSICAL, HM_REGION_PHYSICAL},
               {HM_KIND_PLACEHOLDER, HM_REGION_PLACEHOLDER}};
    uint32_t flags = HM_REGION_HOSTMEM;
    for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
        if (kind & map[i].kind)
            flags |= map[i].flag;
    return flags;
}

static uint32_t walk_self(const walk_t *w)
{
    for (uintptr_t at = 0; at <= HM_MAX_ADDR;) {
        hm_vm_region_t r;
        int st = hm_vm_query(at, &r);
        if (st != HM_OK)
            return fail(st);
        hm_region_t out;
        char owner[64] = "";
        unsigned kind = 0;
        fill_common(&r, &out);
        if (r.foreign)
            out.flags = HM_REGION_KERNEL_VIEW;
        else if (r.state != HM_STATE_FREE && hm_vm_describe(r.base, &kind, owner, sizeof owner) == HM_OK)
            out.flags = flags_of_kind(kind);
        out.owner = owner[0] ? owner : NULL;
        if (w->visit(&out, w->ctx) != 0)
            return 0;
        at = r.base + r.size;
    }
    return 0;
}

static int visit_kernel(const hm_kv_region_t *kr, void *ctx)
{
    const walk_t *w = ctx;
    hm_region_t out;
    fill_common(&kr->r, &out);
    out.flags = HM_REGION_KERNEL_VIEW;
    out.path = kr->path;
    out.rss_bytes = kr->rss;
    out.locked_bytes = kr->locked;
    return w->visit(&out, w->ctx);
}

uint32_t hm_walk_regions(int pid, hm_region_visitor_t visit, void *context)
{
    walk_t w = {visit, context};
    if (!visit || pid < 0)
        return fail(HM_E_INVALID_PARAMETER);
    if (pid == 0 || pid == (int)getpid())
        return walk_self(&w);
    int stopped = 0;
    int st = hm_kernel_view_walk(pid, visit_kernel, &w, &stopped);
    if (st != HM_OK)
        return fail(st);
    return 0;
}
