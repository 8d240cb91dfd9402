/*
 * protect.c — VirtualProtect inside a reservation: every page of the range must be
 * committed; the old protection is the first page's; one mprotect, then the runs. The
 * cache attribute (PAGE_NOCACHE / PAGE_WRITECOMBINE) belongs to the allocation: a new
 * protection keeps the allocation's and drops any other (Windows 10 behaviour).
 * Memory hostmem did not allocate goes to foreign.c. In a MEM_WRITE_WATCH reservation the
 * watch state survives (W8) and the pages' written state is latched (W25, watched.c).
 * Locking: reservation lock held across the mprotect.
 */
#include "vm/foreign.h"
#include "vm/internal.h"
#include "vm/watched.h"

#define CACHE_BITS ((uint32_t)(HM_VM_NOCACHE | HM_VM_WRITECOMBINE))

/* Large pages keep the protection they were made with: asking for it again succeeds
 * without a syscall (HM_OK: done), anything else is refused. AWE windows take only
 * PAGE_NOACCESS, PAGE_READONLY and PAGE_READWRITE (HM_E_RETRY: go on). Windows answers
 * STATUS_CONFLICTING_ADDRESSES to the rest. */
static int phys_protect(const hm_reservation_t *r, uint32_t prot, uint32_t *old_prot)
{
    if (r->kind & HM_KIND_LARGE) {
        uint32_t cur = r->runs.v[0].val & HM_VM_PROT_MASK;
        *old_prot = cur;
        return prot == cur ? HM_OK : HM_E_CONFLICTING_ADDRESSES;
    }
    if (!(r->kind & HM_KIND_PHYSICAL) || prot == 0 || prot == HM_VM_R ||
        prot == (HM_VM_R | HM_VM_W))
        return HM_E_RETRY;
    return HM_E_CONFLICTING_ADDRESSES;
}

int hm_vm_protect(uintptr_t addr, size_t size, uint32_t prot, uint32_t *old_prot)
{
    if ((prot & HM_VM_GUARD) && hm_guard_arm() != 0)
        return HM_E_NO_MEMORY;
    hm_reservation_t *r;
    int st = hm_lock_range(addr, size, HM_E_NOT_MAPPED, &r);
    if (st == HM_E_NOT_ALLOCATED) {
        if (hm_touches_reservation(addr, size))
            return HM_E_NOT_MAPPED; /* runs into a hostmem reservation */
        return hm_foreign_protect(addr, size, prot, old_prot);
    }
    if (st != HM_OK)
        return st;
    if ((st = phys_protect(r, prot, old_prot)) != HM_E_RETRY)
        goto out;
    st = HM_OK;
    uint64_t first, end, npages = hm_record_npages(r);
    hm_page_range(r, addr, size, &first, &end);
    if (hm_runs_count(&r->runs, npages, first, end, HM_RUN_COMMITTED, 0)) {
        st = HM_E_NOT_COMMITTED;
        goto out;
    }
    *old_prot = r->runs.v[hm_runs_find(&r->runs, first)].val & HM_VM_PROT_MASK;
    prot = (prot & ~CACHE_BITS) | (r->alloc_prot & CACHE_BITS);
    int err = hm_runs_reserve(&r->runs, 2);
    if (!err)
        err = hm_os.protect(HM_SITE_PROTECT_PROTECT, (void *)addr, size, hm_os_prot_in(r, prot));
    if (err) {
        st = hm_status_of_errno(err);
        goto out;
    }
    hm_runs_update(&r->runs, npages, first, end, HM_RUN_COMMITTED | HM_RUN_LOCKED, prot);
    hm_vm_watch_protected(r, first, end); /* Windows latches written pages here (W25) */
out:
    hm_record_unlock(r);
    return st;
}
