/*
 * query.c — VirtualQuery's region: from the page holding addr, the run of pages of the same
 * reservation with the same state and protection (the lock bit does not split regions).
 * Memory outside reservations is answered by foreign.c. Locking: the reservation's lock,
 * held for a binary search and a short walk; no syscall on this path.
 */
#include "vm/foreign.h"
#include "vm/internal.h"

#define REGION_KEY (HM_RUN_COMMITTED | HM_VM_PROT_MASK)

int hm_vm_query(uintptr_t addr, hm_vm_region_t *out)
{
    hm_reservation_t *r;
    while (!(r = hm_record_lookup_lock(addr))) {
        int st = hm_foreign_query(addr, out);
        if (st != HM_E_RETRY)
            return st;
    }
    uint64_t npages = hm_record_npages(r), page = (addr - r->base) >> HM_PAGE_SHIFT;
    uint32_t i = hm_runs_find(&r->runs, page);
    uint32_t key = r->runs.v[i].val & REGION_KEY;
    while (i + 1 < r->runs.n && (r->runs.v[i + 1].val & REGION_KEY) == key)
        i++;
    uint64_t end = hm_runs_end(&r->runs, i, npages);
    out->base = r->base + (page << HM_PAGE_SHIFT);
    out->alloc_base = r->base;
    out->size = (end - page) << HM_PAGE_SHIFT;
    out->alloc_prot = r->alloc_prot;
    out->state = (key & HM_RUN_COMMITTED) ? HM_STATE_COMMITTED : HM_STATE_RESERVED;
    out->prot = (key & HM_RUN_COMMITTED) ? (key & HM_VM_PROT_MASK) : 0;
    out->type = HM_TYPE_PRIVATE;
    out->foreign = false;
    out->account = r->account;
    hm_record_unlock(r);
    return HM_OK;
}
