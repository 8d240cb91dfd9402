/*
 * watched.c — write watch inside the address-space model: the glue between reservations
 * (runs, locks, statistics) and the engines of src/watch/, and the vm entry points behind
 * GetWriteWatch, ResetWriteWatch and hm_watch_mark_written.
 *
 * Invariant: a reservation has HM_KIND_WATCH exactly when hm_record_ext(r)->watch holds
 * its state; watched_bytes is the size of all live watched reservations.
 * Locking: the reservation's lock around every engine call. GetWriteWatch writes the
 * caller's array under it only if no hostmem reservation holds the array; else it collects
 * into a buffer of its own and copies out after unlocking (the array may lie in a watched
 * or guarded page, whose fault handler takes a reservation's lock).
 */
#include <string.h>

#include "vm/watched.h"

/* Results gathered on the stack up to this many pages; beyond, a buffer is allocated. */
#define STACK_RESULTS 256

static hm_watch_view_t view_of(hm_reservation_t *r)
{
    hm_watch_view_t v = {hm_record_ext(r)->watch, r->base, hm_record_npages(r), &r->runs};
    return v;
}

int hm_vm_watch_prepare(void)
{
    hm_watch_engine_t e = hm_watch_engine(NULL);
    if (e == HM_WATCH_NONE)
        return HM_E_NOT_SUPPORTED;
    if (e == HM_WATCH_MPROTECT && hm_guard_arm_at(HM_SITE_WATCH_HANDLER) != 0)
        return HM_E_NO_MEMORY;
    return HM_OK;
}

int hm_vm_watch_attach(hm_reservation_t *r, uintptr_t base, size_t size, bool committed)
{
    return hm_watch_create(base, size, committed, &hm_record_ext(r)->watch);
}

void hm_vm_watch_detach(hm_reservation_t *r)
{
    hm_reservation_ext_t *ext = hm_record_ext(r);
    if (!ext->watch)
        return;
    hm_watch_destroy(ext->watch);
    ext->watch = NULL;
}

void hm_vm_watch_published(const hm_reservation_t *r)
{
    if (hm_watched(r))
        hm_stat_add(&hm_stat_watched_bytes, (int64_t)r->size);
}

void hm_vm_watch_release(hm_reservation_t *r)
{
    if (!hm_watched(r))
        return;
    hm_vm_watch_detach(r);
    hm_stat_add(&hm_stat_watched_bytes, -(int64_t)r->size);
}

int hm_vm_watch_commit(hm_reservation_t *r, uint64_t first, uint64_t end)
{
    if (!hm_watched(r))
        return HM_OK;
    hm_watch_view_t v = view_of(r);
    return hm_watch_commit(&v, first, end);
}

void hm_vm_watch_decommit(hm_reservation_t *r, uint64_t first, uint64_t end)
{
    if (!hm_watched(r))
        return;
    hm_watch_view_t v = view_of(r);
    hm_watch_decommit(&v, first, end);
}

void hm_vm_watch_protected(hm_reservation_t *r, uint64_t first, uint64_t end)
{
    if (!hm_watched(r))
        return;
    hm_watch_view_t v = view_of(r);
    hm_watch_latch(&v, first, end);
}

void hm_vm_watch_touched(hm_reservation_t *r, uint64_t first, uint64_t end, bool writable_only)
{
    if (!hm_watched(r))
        return;
    hm_watch_view_t v = view_of(r);
    const hm_runs_t *runs = &r->runs;
    for (uint32_t i = hm_runs_find(runs, first); i < runs->n && runs->v[i].start < end; i++) {
        uint32_t val = runs->v[i].val;
        if (!(val & HM_RUN_COMMITTED) || (writable_only && !(hm_os_prot_of(val) & HM_OS_W)))
            continue;
        uint64_t s = runs->v[i].start > first ? runs->v[i].start : first;
        uint64_t e = hm_runs_end(runs, i, v.npages);
        hm_watch_touched(&v, s, e < end ? e : end);
    }
}

bool hm_vm_watch_fault(hm_reservation_t *r, uint64_t page, uint32_t val)
{
    hm_watch_view_t v = view_of(r);
    return hm_watch_fault(&v, page, val & HM_VM_PROT_MASK);
}

/* ---- entry points for src/win32/ ---------------------------------------------------------- */

/* Locks the watched reservation holding all of [addr, addr+size): anything else is
 * ERROR_INVALID_PARAMETER, as NtGetWriteWatch answers. */
static int lock_watched(uintptr_t addr, size_t size, hm_reservation_t **out)
{
    hm_reservation_t *r;
    int st = hm_lock_range(addr, size, HM_E_INVALID_PARAMETER, &r);
    if (st == HM_E_NOT_ALLOCATED)
        return HM_E_INVALID_PARAMETER;
    if (st != HM_OK)
        return st;
    if (!hm_watched(r)) {
        hm_record_unlock(r);
        return HM_E_INVALID_PARAMETER;
    }
    *out = r;
    return HM_OK;
}

static int collect_locked(uintptr_t addr, size_t size, bool reset, uintptr_t *buf, size_t cap,
                          size_t *n)
{
    hm_reservation_t *r;
    int st = lock_watched(addr, size, &r);
    if (st != HM_OK)
        return st;
    uint64_t first, end;
    hm_page_range(r, addr, size, &first, &end);
    hm_watch_view_t v = view_of(r);
    st = hm_watch_collect(&v, first, end, reset, buf, cap, n);
    hm_record_unlock(r);
    return st;
}

/* Where GetWriteWatch may write its answer while holding the reservation's lock: into the
 * caller's array itself when no hostmem reservation holds any of it (no write there can
 * enter hostmem's fault hook); else into a buffer copied out after unlocking. */
static bool direct(void **addresses, size_t cap)
{
    return !hm_touches_reservation(HM_ALIGN_DOWN((uintptr_t)addresses, HM_PAGE_SIZE),
                                   HM_ALIGN_UP((uintptr_t)(addresses + cap), HM_PAGE_SIZE) -
                                       HM_ALIGN_DOWN((uintptr_t)addresses, HM_PAGE_SIZE));
}

int hm_vm_get_write_watch(uintptr_t addr, size_t size, bool reset, void **addresses,
                          size_t *count)
{
    size_t npages = size >> HM_PAGE_SHIFT, cap = *count < npages ? *count : npages, n = 0;
    if (direct(addresses, cap)) {
        int st = collect_locked(addr, size, reset, (uintptr_t *)addresses, cap, &n);
        if (st == HM_OK)
            *count = n;
        return st;
    }
    /* The result buffer is sized by the range: check the range is a watched allocation's
     * before allocating (collect_locked checks again under the lock). */
    hm_reservation_t *r;
    int st = lock_watched(addr, size, &r);
    if (st != HM_OK)
        return st;
    hm_record_unlock(r);
    uintptr_t stack[STACK_RESULTS], *buf = stack;
    if (cap > STACK_RESULTS) {
        void *p;
        if (hm_os.alloc(HM_SITE_WATCH_RESULTS, cap * sizeof *buf, &p) != 0)
            return HM_E_NO_MEMORY;
        buf = p;
    }
    st = collect_locked(addr, size, reset, buf, cap, &n);
    if (st == HM_OK) {
        memcpy(addresses, buf, n * sizeof *buf);
        *count = n;
    }
    if (buf != stack)
        hm_os_free(buf);
    return st;
}

int hm_vm_reset_write_watch(uintptr_t addr, size_t size)
{
    size_t n;
    return collect_locked(addr, size, true, NULL, 0, &n);
}

int hm_vm_mark_written(uintptr_t addr, size_t size)
{
    hm_reservation_t *r;
    int st = lock_watched(addr, size, &r);
    if (st != HM_OK)
        return st;
    uint64_t first, end, npages = hm_record_npages(r);
    hm_page_range(r, addr, size, &first, &end);
    /* What a ReadFile into the buffer needs: every page committed and writable. */
    if (hm_runs_count(&r->runs, npages, first, end, HM_RUN_COMMITTED | HM_VM_W | HM_VM_GUARD,
                      HM_RUN_COMMITTED | HM_VM_W) != end - first) {
        st = HM_E_NOACCESS;
    } else {
        hm_watch_view_t v = view_of(r);
        st = hm_watch_mark(&v, first, end);
    }
    hm_record_unlock(r);
    return st;
}

const char *hm_vm_write_watch_engine(const char **why)
{
    return hm_watch_engine_name(hm_watch_engine(why));
}
