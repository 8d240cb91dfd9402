/*
 * alloc.c — creating and releasing reservations.
 *
 * Create: take a record → map (placement.c) → charge commit (if committing) → arm write
 * watch (MEM_WRITE_WATCH, watched.c) → fill the record under its lock → publish it in the
 * index. Each failure undoes the steps before it,
 * in reverse order, so a failed VirtualAlloc leaves no mapping, no record, no charge.
 * Release: under the record's lock and still indexed, munmap, then mark it dead and
 * unindex it: a concurrent VirtualQuery waits on the lock and then sees the range free,
 * never the kernel's half-view. A failed munmap changes nothing.
 */
#include "vm/internal.h"
#include "vm/index.h"
#include "vm/memcheck.h"
#include "vm/phys.h"
#include "vm/placement.h"
#include "vm/watched.h"

static int publish(hm_reservation_t *r, uintptr_t base, size_t size, uint32_t alloc_prot,
                   uint32_t run_val, hm_vm_account_t *account, unsigned flags)
{
    pthread_mutex_lock(&r->lock);
    r->account = account;
    r->base = base;
    r->size = size;
    r->alloc_prot = alloc_prot;
    r->kind = (flags & HM_VM_ALLOC_PLACEHOLDER) ? HM_KIND_PLACEHOLDER : 0;
    r->kind |= (flags & HM_VM_ALLOC_WATCH) ? HM_KIND_WATCH : 0; /* state: watched.c */
    r->kind |= (flags & HM_VM_ALLOC_LARGE)      ? HM_KIND_LARGE
               : (flags & HM_VM_ALLOC_PHYSICAL) ? HM_KIND_PHYSICAL
                                                : 0;
    hm_runs_init(&r->runs, run_val);
    r->live = true;
    pthread_mutex_unlock(&r->lock);
    int err = hm_index_insert(base >> HM_PAGE_SHIFT, (base + size) >> HM_PAGE_SHIFT, r);
    if (err) {
        pthread_mutex_lock(&r->lock);
        r->live = false;
        hm_runs_destroy(&r->runs);
        pthread_mutex_unlock(&r->lock);
    }
    return err;
}

/* Maps a new reservation: large pages from the huge-page pool (large.c); an AWE window
 * gets its page map in hm_record_ext(r)->phys first (r is not published yet); the rest
 * goes to placement.c. */
static int place(uintptr_t addr, size_t size, unsigned os_prot, unsigned flags,
                 const hm_vm_limits_t *limits, hm_reservation_t *r, uintptr_t *base)
{
    bool top_down = flags & HM_VM_ALLOC_TOP_DOWN;
    if (flags & HM_VM_ALLOC_LARGE)
        return hm_large_map(addr, size, os_prot, top_down, limits, base);
    hm_reservation_ext_t *ext = hm_record_ext(r);
    int st = (flags & HM_VM_ALLOC_PHYSICAL) ? hm_phys_window_create(size, &ext->phys) : HM_OK;
    if (st == HM_OK)
        st = hm_place_map(addr, size, os_prot, top_down, limits, base);
    if (st != HM_OK && ext->phys) {
        hm_phys_window_destroy(ext->phys);
        ext->phys = NULL;
    }
    return st;
}

/* Undoes what place() did besides the mapping. */
static void unplace(hm_reservation_t *r, size_t size, unsigned flags)
{
    if (flags & HM_VM_ALLOC_LARGE)
        hm_large_released(size);
    if (flags & HM_VM_ALLOC_PHYSICAL) {
        hm_phys_window_destroy(hm_record_ext(r)->phys);
        hm_record_ext(r)->phys = NULL;
    }
}

/* A committed reservation anywhere found no room. The kernel refuses to overcommit a
 * writable mapping far beyond RAM + swap even where the address space is free; Windows
 * would answer such a request with its commit limit. So: if the commit is over the limit
 * and the address space is there (a PROT_NONE probe fits), ERROR_COMMITMENT_LIMIT; else
 * out of memory. The probe is made only on this failure path. */
static int why_no_room(size_t size, hm_vm_account_t *account, unsigned flags)
{
    int st = hm_charge(account, size);
    if (st == HM_OK) {
        hm_uncharge(account, size);
        return HM_E_NO_MEMORY;
    }
    uintptr_t probe;
    if (hm_place_map(0, size, 0, flags & HM_VM_ALLOC_TOP_DOWN, NULL, &probe) != HM_OK)
        return HM_E_NO_MEMORY;
    int err = hm_os.unmap(HM_SITE_RESERVE_UNDO, (void *)probe, size);
    if (err)
        hm_panic("reserve: cannot unmap the address-space probe", probe, size, err);
    hm_place_released(probe, size);
    return st;
}

int hm_vm_allocate(uintptr_t addr, size_t size, uint32_t alloc_prot, uint32_t commit_prot,
                   unsigned flags, uintptr_t *out)
{
    return hm_vm_allocate_in(addr, size, alloc_prot, commit_prot, flags, NULL, out);
}

int hm_vm_allocate_in(uintptr_t addr, size_t size, uint32_t alloc_prot, uint32_t commit_prot,
                      unsigned flags, const hm_vm_limits_t *limits, uintptr_t *out)
{
    bool commit = flags & HM_VM_ALLOC_COMMIT;
    if (commit && (commit_prot & HM_VM_GUARD) && hm_guard_arm() != 0)
        return HM_E_NO_MEMORY;
    bool watch = flags & HM_VM_ALLOC_WATCH;
    int st = watch ? hm_vm_watch_prepare() : HM_OK;
    if (st != HM_OK)
        return st;
    unsigned os_prot = !commit ? 0 : watch ? hm_watch_os_prot(commit_prot) : hm_os_prot_of(commit_prot);
    uint64_t charge = commit ? size : 0;
    hm_vm_account_t *account = hm_vm_acting();
    int err = 0;
    hm_reservation_t *r = hm_record_get(&err);
    if (!r)
        return HM_E_NO_MEMORY;
    uintptr_t base;
    hm_stat_add(&hm_creating, 1);
    /* Place first: a conflicting address (or no address space) is reported before the
     * commit limit, as Windows does. */
    st = place(addr, size, os_prot, flags, limits, r, &base);
    if (st == HM_E_NO_MEMORY && commit && !addr && !limits)
        st = why_no_room(size, account, flags);
    if (st != HM_OK)
        goto fail_map;
    if ((st = hm_charge(account, charge)) != HM_OK)
        goto fail_charge;
    if (watch && (st = hm_vm_watch_attach(r, base, size, commit)) != HM_OK)
        goto fail_watch;
    uint32_t val = commit ? HM_RUN_COMMITTED | commit_prot : 0;
    if (publish(r, base, size, alloc_prot, val, account, flags) != 0) {
        st = HM_E_NO_MEMORY;
        goto fail_publish;
    }
    hm_stat_add(&hm_creating, -1);
    hm_stat_add(&hm_stat_reservations, 1);
    hm_stat_add(&hm_stat_reserved_bytes, (int64_t)size);
    hm_vm_watch_published(r);
    (commit ? hm_vg_defined : hm_vg_noaccess)((void *)base, size); /* committed pages read 0 */
    *out = base;
    return HM_OK;
fail_publish:
    hm_vm_watch_detach(r);
fail_watch:
    hm_uncharge(account, charge);
fail_charge:
    if ((err = hm_os.unmap(HM_SITE_RESERVE_UNDO, (void *)base, size)) != 0)
        hm_panic("reserve: cannot undo the mapping", base, size, err);
    unplace(r, size, flags);
fail_map:
    hm_stat_add(&hm_creating, -1);
    hm_record_put(r);
    return st;
}

/* Releases r (locked, live; an AWE window also needs the pool lock); r stays locked. */
static int release_locked(hm_reservation_t *r)
{
    uint64_t first = r->base >> HM_PAGE_SHIFT, end = (r->base + r->size) >> HM_PAGE_SHIFT;
    int err = hm_os.unmap(HM_SITE_RELEASE_UNMAP, (void *)r->base, r->size);
    if (err)
        return hm_status_of_errno(err);
    /* No memcheck request here: Valgrind marks an unmapped range no access itself, and one
     * made now could land on a new reservation another thread just mapped there. */
    r->live = false;
    hm_index_remove(first, end, r);
    uint64_t npages = end - first;
    /* An AWE window's mapped pages are charged to the pool (physical_pages.c), not to it. */
    if (!(r->kind & HM_KIND_PHYSICAL))
        hm_uncharge(r->account,
                    hm_runs_count(&r->runs, npages, 0, npages, HM_RUN_COMMITTED, HM_RUN_COMMITTED)
                        << HM_PAGE_SHIFT);
    hm_stat_add(&hm_stat_locked_bytes,
                -(int64_t)(hm_runs_count(&r->runs, npages, 0, npages, HM_RUN_LOCKED, HM_RUN_LOCKED)
                           << HM_PAGE_SHIFT));
    hm_stat_add(&hm_stat_reservations, -1);
    hm_stat_add(&hm_stat_reserved_bytes, -(int64_t)r->size);
    hm_place_released(r->base, r->size);
    hm_runs_destroy(&r->runs);
    hm_vm_watch_release(r);
    if (r->kind & HM_KIND_LARGE)
        hm_large_released(r->size);
    if (r->kind & HM_KIND_PHYSICAL)
        hm_phys_window_released(r);
    return HM_OK;
}

int hm_vm_release(uintptr_t addr)
{
    bool pool = false;
    hm_reservation_t *r;
    while ((r = hm_record_lookup_lock(addr)) && (r->kind & HM_KIND_PHYSICAL) && !pool) {
        hm_record_unlock(r); /* an AWE window: the pool lock comes first (phys.h) */
        hm_phys_lock();
        pool = true;
    }
    int st = r ? hm_may_touch(r) : HM_E_NOT_ALLOCATED;
    if (st == HM_OK)
        st = addr != r->base ? HM_E_NOT_AT_BASE : release_locked(r);
    if (r)
        hm_record_unlock(r);
    if (pool)
        hm_phys_unlock();
    if (st == HM_OK)
        hm_record_put(r);
    return st;
}

/* hm_record_for_each visitor: releases reservations of one account, collecting records. */
typedef struct release_acc {
    hm_vm_account_t *account;
    size_t n;
} release_acc_t;

static void release_if_owned(hm_reservation_t *r, void *ctx)
{
    release_acc_t *acc = ctx;
    if (r->account != acc->account || release_locked(r) != HM_OK)
        return;
    acc->n++;
}

size_t hm_vm_release_account(hm_vm_account_t *a)
{
    release_acc_t acc = {a, 0};
    hm_phys_lock(); /* before any reservation lock: AWE windows may be among them */
    hm_record_for_each(release_if_owned, &acc);
    hm_phys_unlock();
    return acc.n;
}

bool hm_touches_reservation(uintptr_t addr, size_t size)
{
    uint64_t first = addr >> HM_PAGE_SHIFT, end = (addr + size) >> HM_PAGE_SHIFT;
    return hm_index_next_used(first, end) != end;
}

int hm_lock_range(uintptr_t addr, size_t size, int crossing, hm_reservation_t **out)
{
    hm_reservation_t *r = hm_record_lookup_lock(addr);
    if (!r)
        return HM_E_NOT_ALLOCATED;
    int st = hm_may_touch(r);
    if (st == HM_OK && size > r->base + r->size - addr)
        st = crossing;
    if (st != HM_OK) {
        hm_record_unlock(r);
        return st;
    }
    *out = r;
    return HM_OK;
}
