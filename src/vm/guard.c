/*
 * guard.c — PAGE_GUARD. A guard page is mapped PROT_NONE; the first touch faults into
 * hostmem's SIGSEGV handler (src/os/linux_fault.c), which calls guard_fault():
 *   - a committed guard page of a live reservation: restore the base protection, clear the
 *     guard bit (one page), count it, tell the user's callback, retry the access;
 *   - a committed page of a MEM_WRITE_WATCH reservation whose protection allows writing:
 *     the mprotect write-watch engine armed it; watched.c records the write and makes the
 *     page writable, retry (the guard of a watched page clears first, then the retried
 *     write faults again and is recorded: Windows G6);
 *   - a page whose recorded protection already allows the access (a VirtualProtect raced
 *     with the fault): retry;
 *   - anything else is not ours: chained to the previous handler / default action.
 * Runs this in a signal handler: the lookup is lock-free, the reservation lock is a plain
 * mutex (the faulting thread never holds it: hostmem touches no user page under it except
 * writable ones in MEM_RESET_UNDO), run growth uses mmap, and nothing calls malloc.
 */
#include <stdatomic.h>

#include "vm/watched.h"

static _Atomic(hm_vm_guard_cb_t) guard_cb;
static _Atomic(void *) guard_ctx;

void hm_vm_set_guard_callback(hm_vm_guard_cb_t cb, void *ctx)
{
    atomic_store(&guard_ctx, ctx);
    atomic_store(&guard_cb, cb);
}

static bool allows(uint32_t val, bool is_write)
{
    if (!(val & HM_RUN_COMMITTED) || (val & HM_VM_GUARD))
        return false;
    return is_write ? (val & HM_VM_W) != 0 : (val & (HM_VM_R | HM_VM_W | HM_VM_X)) != 0;
}

/* Clears the guard of one page; r locked. Returns true if the access can be retried. */
static bool clear_guard(hm_reservation_t *r, uint64_t page, uint32_t val)
{
    uint32_t prot = val & HM_VM_PROT_MASK & ~(uint32_t)HM_VM_GUARD;
    if (hm_runs_reserve_signal_safe(&r->runs, 2) != 0)
        return false;
    if (hm_os.protect(HM_SITE_GUARD_CLEAR, (void *)(r->base + (page << HM_PAGE_SHIFT)),
                      HM_PAGE_SIZE, hm_os_prot_in(r, prot)) != 0)
        return false;
    hm_runs_update(&r->runs, hm_record_npages(r), page, page + 1, ~(uint32_t)HM_VM_GUARD, 0);
    hm_stat_add(&hm_stat_guard_hits, 1);
    return true;
}

static bool guard_fault(void *addr, bool is_write)
{
    hm_reservation_t *r = hm_record_lookup_lock((uintptr_t)addr);
    if (!r)
        return false;
    uint64_t page = ((uintptr_t)addr - r->base) >> HM_PAGE_SHIFT;
    uint32_t val = r->runs.v[hm_runs_find(&r->runs, page)].val;
    bool guard = (val & HM_RUN_COMMITTED) && (val & HM_VM_GUARD);
    bool retry;
    if (guard)
        retry = clear_guard(r, page, val);
    else if (hm_watched(r) && allows(val, true))
        retry = hm_vm_watch_fault(r, page, val); /* an armed page (write watch) */
    else
        retry = allows(val, is_write);
    hm_record_unlock(r);
    if (guard && retry) {
        hm_vm_guard_cb_t cb = atomic_load(&guard_cb);
        if (cb)
            cb(addr, atomic_load(&guard_ctx));
    }
    return retry;
}

int hm_guard_arm_at(hm_os_site_t site)
{
    return hm_os.fault_handler(site, guard_fault);
}

int hm_guard_arm(void)
{
    return hm_guard_arm_at(HM_SITE_GUARD_HANDLER);
}
