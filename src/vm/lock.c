/*
 * lock.c — VirtualLock / VirtualUnlock. The lock state is a bit in the runs (it never
 * splits VirtualQuery regions). Lock: every page committed, none NOACCESS; a guard page in
 * the range loses its guard and fails the call with STATUS_GUARD_PAGE_VIOLATION, as on
 * Windows; then one mlock. Unlock: every page locked (else ERROR_NOT_LOCKED, nothing
 * changed), then one munlock. No lock count: one unlock undoes any number of locks.
 * Locking: reservation lock held across the syscall.
 */
#include "vm/foreign.h"
#include "vm/internal.h"
#include "vm/phys.h"
#include "vm/watched.h"

/* Clears the guard of the first guard page in [first, end). */
static int clear_first_guard(hm_reservation_t *r, uint64_t first, uint64_t end)
{
    uint64_t npages = hm_record_npages(r);
    uint32_t i = hm_runs_find(&r->runs, first);
    while (!(r->runs.v[i].val & HM_VM_GUARD))
        i++;
    uint64_t page = r->runs.v[i].start > first ? r->runs.v[i].start : first;
    uint32_t prot = r->runs.v[i].val & HM_VM_PROT_MASK & ~(uint32_t)HM_VM_GUARD;
    (void)end;
    int err = hm_runs_reserve(&r->runs, 2);
    if (!err)
        err = hm_os.protect(HM_SITE_GUARD_CLEAR, (void *)(r->base + (page << HM_PAGE_SHIFT)),
                            HM_PAGE_SIZE, hm_os_prot_in(r, prot));
    if (err)
        return hm_status_of_errno(err);
    hm_runs_update(&r->runs, npages, page, page + 1, ~(uint32_t)HM_VM_GUARD, 0);
    return HM_E_GUARD_PAGE;
}

static int lock_checked(hm_reservation_t *r, uintptr_t addr, size_t size)
{
    uint64_t first, end, npages = hm_record_npages(r);
    hm_page_range(r, addr, size, &first, &end);
    if (hm_runs_count(&r->runs, npages, first, end, HM_RUN_COMMITTED, 0))
        return HM_E_NOT_COMMITTED;
    if (hm_runs_count(&r->runs, npages, first, end, HM_VM_GUARD, HM_VM_GUARD))
        return clear_first_guard(r, first, end);
    if (hm_runs_count(&r->runs, npages, first, end, HM_VM_R | HM_VM_W | HM_VM_X, 0))
        return HM_E_NOACCESS;
    uint64_t fresh = hm_runs_count(&r->runs, npages, first, end, HM_RUN_LOCKED, 0);
    int err = hm_runs_reserve(&r->runs, 2);
    if (err)
        return HM_E_NO_MEMORY;
    if ((err = hm_os.lock(HM_SITE_LOCK_MLOCK, (void *)addr, size)) != 0)
        return err == ENOMEM || err == EAGAIN || err == EPERM ? HM_E_WORKING_SET_QUOTA
                                                              : HM_E_NO_MEMORY;
    hm_runs_update(&r->runs, npages, first, end, ~0u, HM_RUN_LOCKED);
    hm_stat_add(&hm_stat_locked_bytes, (int64_t)(fresh << HM_PAGE_SHIFT));
    hm_vm_watch_touched(r, first, end, true); /* mlock writes writable pages in (G6) */
    return HM_OK;
}

static int unlock_checked(hm_reservation_t *r, uintptr_t addr, size_t size)
{
    uint64_t first, end, npages = hm_record_npages(r);
    hm_page_range(r, addr, size, &first, &end);
    if (hm_runs_count(&r->runs, npages, first, end, HM_RUN_LOCKED, 0))
        return HM_E_NOT_LOCKED;
    int err = hm_runs_reserve(&r->runs, 2);
    if (!err)
        err = hm_os.unlock(HM_SITE_UNLOCK_MUNLOCK, (void *)addr, size);
    if (err)
        return hm_status_of_errno(err);
    hm_runs_update(&r->runs, npages, first, end, ~(uint32_t)HM_RUN_LOCKED, 0);
    hm_stat_add(&hm_stat_locked_bytes, -(int64_t)size);
    return HM_OK;
}

static int lock_or_unlock(uintptr_t addr, size_t size, bool lock)
{
    hm_reservation_t *r;
    int st = hm_lock_range(addr, size, HM_E_NOT_MAPPED, &r);
    if (st == HM_E_NOT_ALLOCATED) {
        if (hm_touches_reservation(addr, size))
            return HM_E_NOT_MAPPED;
        return lock ? hm_foreign_lock(addr, size) : hm_foreign_unlock(addr, size);
    }
    if (st != HM_OK)
        return st;
    if (hm_is_phys(r))
        st = HM_E_INVALID_PARAMETER; /* resident already: STATUS_INCOMPATIBLE_FILE_MAP */
    else
        st = lock ? lock_checked(r, addr, size) : unlock_checked(r, addr, size);
    hm_record_unlock(r);
    return st;
}

int hm_vm_lock(uintptr_t addr, size_t size)
{
    return lock_or_unlock(addr, size, true);
}

int hm_vm_unlock(uintptr_t addr, size_t size)
{
    return lock_or_unlock(addr, size, false);
}
