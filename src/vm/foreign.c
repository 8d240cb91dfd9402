/*
 * foreign.c — the kernel's view of memory hostmem did not allocate, in Windows terms.
 *
 * Each call reads /proc/self/maps afresh (no cache: other code maps and unmaps at any
 * time, and a stale answer would be wrong, not slow). Translation: a file mapped
 * executable somewhere is an image (MEM_IMAGE, AllocationBase = its first mapping,
 * AllocationProtect PAGE_EXECUTE_WRITECOPY); other files are MEM_MAPPED; anonymous memory
 * is MEM_PRIVATE; "---" mappings are reserved (Protect 0); private writable file pages are
 * copy-on-write. Regions are clipped where a hostmem reservation begins or ends, since the
 * kernel may merge our PROT_NONE mappings with a neighbour's. No state, no locks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vm/foreign.h"
#include "vm/procmaps.h"
#include "vm/index.h"
#include "vm/internal.h"

static void fill_mapped(const hm_maps_t *m, size_t i, uintptr_t page, hm_vm_region_t *out)
{
    const hm_vma_t *v = &m->v[i];
    size_t first = hm_maps_first_of_file(m, i), last = hm_maps_last_alike(m, i);
    uintptr_t alloc_base = v->file ? m->v[first].s : v->s;
    if (!v->file)
        alloc_base = hm_index_last_used_end(alloc_base >> HM_PAGE_SHIFT, page >> HM_PAGE_SHIFT)
                     << HM_PAGE_SHIFT;
    uintptr_t end = hm_index_next_used(page >> HM_PAGE_SHIFT, m->v[last].e >> HM_PAGE_SHIFT)
                    << HM_PAGE_SHIFT;
    out->base = page;
    out->size = end - page;
    out->alloc_base = alloc_base;
    out->type = hm_maps_type_of(m, i);
    out->state = (v->prot & (HM_VM_R | HM_VM_W | HM_VM_X)) ? HM_STATE_COMMITTED : HM_STATE_RESERVED;
    out->prot = out->state == HM_STATE_COMMITTED ? v->prot : 0;
    out->alloc_prot = out->type == HM_TYPE_IMAGE ? (HM_VM_R | HM_VM_W | HM_VM_X | HM_VM_COW)
                                                 : m->v[v->file ? first : i].prot;
}

/* Waits (briefly) until no reservation is between its mmap and its index entry, so that
 * a mapping of ours is never reported as someone else's. */
static void wait_for_creations(void)
{
    for (int i = 0; i < 100000 && atomic_load_explicit(&hm_creating, memory_order_acquire); i++)
        hm_os_yield();
}

int hm_foreign_query(uintptr_t addr, hm_vm_region_t *out)
{
    uintptr_t page = HM_ALIGN_DOWN(addr, HM_PAGE_SIZE);
    wait_for_creations();
    hm_maps_t m;
    int err = hm_maps_read(HM_SITE_FOREIGN_MAPS, "/proc/self/maps", &m);
    if (err)
        return hm_status_of_errno(err);
    size_t i = hm_maps_find(&m, page);
    memset(out, 0, sizeof *out);
    out->foreign = true;
    if (i < m.n && m.v[i].s <= page) {
        fill_mapped(&m, i, page, out);
    } else {
        uintptr_t end = i < m.n && m.v[i].s <= HM_MAX_ADDR ? m.v[i].s : HM_MAX_ADDR + 1;
        out->base = page;
        out->size = end - page;
        out->state = HM_STATE_FREE;
    }
    hm_maps_free(&m);
    /* A reservation created meanwhile owns this page (or the clipped region is empty). */
    if (hm_index_lookup(page >> HM_PAGE_SHIFT) || (out->state != HM_STATE_FREE && !out->size))
        return HM_E_RETRY;
    return HM_OK;
}

/* Checks that [addr, addr+size) is mapped and committed; *first_prot = its first prot. */
static int check_committed(const hm_maps_t *m, uintptr_t addr, size_t size, uint32_t *first_prot)
{
    size_t i = hm_maps_find(m, addr);
    if (i == m->n || m->v[i].s > addr)
        return HM_E_NOT_MAPPED;
    *first_prot = m->v[i].prot;
    for (uintptr_t at = addr; at < addr + size; i++) {
        if (i == m->n || m->v[i].s > at)
            return HM_E_NOT_MAPPED;
        if (!(m->v[i].prot & (HM_VM_R | HM_VM_W | HM_VM_X)))
            return HM_E_NOT_COMMITTED;
        at = m->v[i].e;
    }
    return HM_OK;
}

/* Reads the map and checks [addr, addr+size) is mapped and committed; *first = the
 * protection of its first page. */
static int mapped_committed(uintptr_t addr, size_t size, uint32_t *first)
{
    hm_maps_t m;
    int err = hm_maps_read(HM_SITE_FOREIGN_MAPS, "/proc/self/maps", &m);
    if (err)
        return hm_status_of_errno(err);
    int st = check_committed(&m, addr, size, first);
    hm_maps_free(&m);
    return st;
}

/* VirtualProtect on memory hostmem did not allocate: a pass-through to mprotect over a
 * fully mapped range. "---" pages are accepted too: the kernel cannot tell a reserved
 * range from committed pages someone made PAGE_NOACCESS, and a ported JIT must be able
 * to make its own NOACCESS pages accessible again. */
int hm_foreign_protect(uintptr_t addr, size_t size, uint32_t prot, uint32_t *old_prot)
{
    uint32_t first;
    int st = mapped_committed(addr, size, &first);
    if (st != HM_OK && st != HM_E_NOT_COMMITTED)
        return st; /* free address space: not committed (487) */
    if (prot & HM_VM_GUARD)
        return HM_E_INVALID_PARAMETER; /* mapped memory hostmem cannot guard */
    int err = hm_os.protect(HM_SITE_FOREIGN_PROTECT, (void *)addr, size, hm_os_prot_of(prot));
    if (err)
        return err == EACCES ? HM_E_ACCESS_DENIED : hm_status_of_errno(err);
    *old_prot = first;
    return HM_OK;
}

int hm_foreign_lock(uintptr_t addr, size_t size)
{
    uint32_t first;
    int st = mapped_committed(addr, size, &first);
    if (st != HM_OK)
        return st;
    int err = hm_os.lock(HM_SITE_FOREIGN_LOCK, (void *)addr, size);
    if (err)
        return err == ENOMEM || err == EAGAIN || err == EPERM ? HM_E_WORKING_SET_QUOTA
                                                              : hm_status_of_errno(err);
    return HM_OK;
}

/* True if every smaps entry overlapping [addr, end) carries the "lo" (locked) VmFlag. */
static int all_locked(const char *smaps, uintptr_t addr, uintptr_t end)
{
    uintptr_t covered = addr;
    for (const char *line = smaps; line && *line;) {
        unsigned long long s, e;
        if (sscanf(line, "%llx-%llx ", &s, &e) == 2 && e > addr && s < end) {
            const char *flags = strstr(line, "VmFlags:");
            const char *stop = strchr(flags ? flags : line, '\n');
            if (!flags || s > covered)
                return HM_E_NOT_LOCKED;
            char buf[256] = {0};
            size_t n = stop ? (size_t)(stop - flags) : strlen(flags);
            memcpy(buf, flags, n < sizeof buf - 1 ? n : sizeof buf - 1);
            if (!strstr(buf, " lo"))
                return HM_E_NOT_LOCKED;
            covered = (uintptr_t)e;
        }
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    return covered >= end ? HM_OK : HM_E_NOT_LOCKED;
}

int hm_foreign_unlock(uintptr_t addr, size_t size)
{
    uint32_t first;
    int st = mapped_committed(addr, size, &first);
    if (st != HM_OK && st != HM_E_NOT_COMMITTED)
        return st;
    char *smaps;
    size_t len;
    int err = hm_os.read_file(HM_SITE_FOREIGN_SMAPS, "/proc/self/smaps", &smaps, &len);
    if (err)
        return hm_status_of_errno(err);
    st = all_locked(smaps, addr, addr + size);
    free(smaps);
    if (st != HM_OK)
        return st;
    err = hm_os.unlock(HM_SITE_FOREIGN_UNLOCK, (void *)addr, size);
    return err ? hm_status_of_errno(err) : HM_OK;
}
