/*
 * commit.c — committing and decommitting pages inside a reservation.
 *
 * Commit: charge the pages not yet committed, make room in the run list, mprotect the
 * range to the new protection (fresh pages read zero), then record it. Decommit: replace
 * the range with a fresh PROT_NONE mapping (one MAP_FIXED mmap: drops the pages, their
 * kernel commit charge and any mlock), then record it and uncharge. Both make exactly one
 * syscall after every fallible step, so a failure changes nothing. In a MEM_WRITE_WATCH
 * reservation the engine arms the fresh pages before the mprotect (arming reserved pages
 * is invisible), and a decommit forgets their written state (watched.c, src/watch/).
 * Locking: the reservation's lock is held across the syscall (record.h).
 */
#include "vm/internal.h"
#include "vm/memcheck.h"
#include "vm/watched.h"
#include "vm/phys.h"

int hm_vm_commit(uintptr_t addr, size_t size, uint32_t prot)
{
    if ((prot & HM_VM_GUARD) && hm_guard_arm() != 0)
        return HM_E_NO_MEMORY;
    hm_reservation_t *r;
    int st = hm_lock_inside(addr, size, &r);
    if (st != HM_OK)
        return st;
    if (hm_is_phys(r)) {
        st = HM_E_CONFLICTING_ADDRESSES; /* large pages, AWE windows: not by MEM_COMMIT */
        goto out;
    }
    if (r->kind & HM_KIND_PLACEHOLDER) { /* only MEM_REPLACE_PLACEHOLDER commits there (P10) */
        st = HM_E_CONFLICTING_ADDRESSES;
        goto out;
    }
    uint64_t first, end, npages = hm_record_npages(r);
    hm_page_range(r, addr, size, &first, &end);
    uint64_t fresh = hm_runs_count(&r->runs, npages, first, end, HM_RUN_COMMITTED, 0)
                     << HM_PAGE_SHIFT;
    st = hm_charge(r->account, fresh);
    if (st != HM_OK)
        goto out;
    int err = hm_runs_reserve(&r->runs, 2);
    if (!err && (st = hm_vm_watch_commit(r, first, end)) != HM_OK) {
        hm_uncharge(r->account, fresh);
        goto out;
    }
    if (!err)
        err = hm_os.protect(HM_SITE_COMMIT_PROTECT, (void *)addr, size, hm_os_prot_in(r, prot));
    if (err) {
        hm_uncharge(r->account, fresh);
        st = hm_status_of_errno(err);
        goto out;
    }
    hm_vm_vg_mark(r, first, end, HM_RUN_COMMITTED, 0, hm_vg_defined); /* fresh pages read 0 */
    hm_runs_update(&r->runs, npages, first, end, HM_RUN_LOCKED, HM_RUN_COMMITTED | prot);
out:
    hm_record_unlock(r);
    return st;
}

int hm_vm_decommit(uintptr_t addr, size_t size)
{
    hm_reservation_t *r = hm_record_lookup_lock(addr);
    if (!r)
        return HM_E_NOT_ALLOCATED;
    int st = hm_may_touch(r);
    if (st == HM_OK && hm_is_phys(r))
        st = HM_E_NOT_ALLOCATED; /* only released as a whole (STATUS_MEMORY_NOT_ALLOCATED) */
    if (st != HM_OK)
        goto out;
    if (size == 0) {
        if (addr != r->base) {
            st = HM_E_NOT_AT_BASE;
            goto out;
        }
        size = r->size;
    } else if (size > r->base + r->size - addr) {
        st = HM_E_UNABLE_TO_FREE;
        goto out;
    }
    uint64_t first, end, npages = hm_record_npages(r);
    hm_page_range(r, addr, size, &first, &end);
    uint64_t gone = hm_runs_count(&r->runs, npages, first, end, HM_RUN_COMMITTED, HM_RUN_COMMITTED);
    uint64_t unlocked = hm_runs_count(&r->runs, npages, first, end, HM_RUN_LOCKED, HM_RUN_LOCKED);
    int err = hm_runs_reserve(&r->runs, 2);
    void *p;
    if (!err && gone)
        err = hm_os.map(HM_SITE_DECOMMIT_MAP, (void *)addr, size, 0, HM_OS_MAP_REPLACE, &p);
    if (err) {
        st = hm_status_of_errno(err);
        goto out;
    }
    hm_runs_update(&r->runs, npages, first, end, 0, 0);
    hm_vg_noaccess((void *)addr, size);
    if (gone)
        hm_vm_watch_decommit(r, first, end);
    hm_uncharge(r->account, gone << HM_PAGE_SHIFT);
    hm_stat_add(&hm_stat_locked_bytes, -(int64_t)(unlocked << HM_PAGE_SHIFT));
out:
    hm_record_unlock(r);
    return st;
}
