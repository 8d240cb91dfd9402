/*
 * reset.c — MEM_RESET and MEM_RESET_UNDO.
 *
 * Reset: madvise with MADV_FREE over the committed, unlocked pages of the range: the kernel
 * may drop them under pressure (they then read zero); pages stay committed; reserved
 * pages in the range are fine (Windows allows it). Undo: every committed, unlocked page
 * of the range must still hold its own page (see still_held()), else the call fails
 * (ERROR_INVALID_ADDRESS) and changes nothing; then each page is re-dirtied with an atomic
 * no-op write (OR 0) so the kernel can no longer drop it. Read-only runs are made writable
 * for that write and restored. Conservative: a committed page never touched since commit
 * is not resident either, so an undo over it fails although it reads zero.
 * Write watch: a reset page keeps its written state (the kernel engine reports a page the
 * kernel dropped as written); the undo's re-dirtying is a write, reported by both engines
 * (a page the mprotect engine armed is re-dirtied through the read-only path).
 * Locking: reservation lock held across the syscalls.
 */
#include "vm/internal.h"
#include "vm/memcheck.h"
#include "vm/phys.h"
#include "vm/watched.h"

#define PM_CHUNK 512

/* Calls fn(r, s, e, val) for each committed, unlocked piece of [first, end). */
typedef int (*piece_fn)(hm_reservation_t *r, uint64_t s, uint64_t e, uint32_t val);
static int for_each_piece(hm_reservation_t *r, uint64_t first, uint64_t end, piece_fn fn)
{
    uint64_t npages = hm_record_npages(r);
    for (uint32_t i = hm_runs_find(&r->runs, first); i < r->runs.n && r->runs.v[i].start < end; i++) {
        uint32_t val = r->runs.v[i].val;
        if (!(val & HM_RUN_COMMITTED) || (val & HM_RUN_LOCKED))
            continue;
        uint64_t s = r->runs.v[i].start > first ? r->runs.v[i].start : first;
        uint64_t e = hm_runs_end(&r->runs, i, npages);
        int st = fn(r, s, e < end ? e : end, val);
        if (st != HM_OK)
            return st;
    }
    return HM_OK;
}

static int advise_piece(hm_reservation_t *r, uint64_t s, uint64_t e, uint32_t val)
{
    (void)val;
    int err = hm_os.advise(HM_SITE_RESET_ADVISE, (void *)(r->base + (s << HM_PAGE_SHIFT)),
                           (e - s) << HM_PAGE_SHIFT, HM_OS_ADV_FREE);
    return err ? hm_status_of_errno(err) : HM_OK;
}

/* One madvise over the whole range when nothing in it is locked (MADV_FREE refuses locked
 * pages; reserved pages are harmless to it), else one per committed unlocked piece. */
static int reset_runs(hm_reservation_t *r, uint64_t first, uint64_t end)
{
    if (!hm_runs_count(&r->runs, hm_record_npages(r), first, end, HM_RUN_LOCKED, HM_RUN_LOCKED))
        return advise_piece(r, first, end, 0);
    return for_each_piece(r, first, end, advise_piece);
}

int hm_vm_reset(uintptr_t addr, size_t size)
{
    hm_reservation_t *r;
    int st = hm_lock_inside(addr, size, &r);
    if (st != HM_OK)
        return st;
    uint64_t first, end;
    hm_page_range(r, addr, size, &first, &end);
    st = hm_is_phys(r) ? HM_E_CONFLICTING_ADDRESSES : reset_runs(r, first, end);
    if (st == HM_OK) /* what a reset page holds is garbage until written */
        hm_vm_vg_mark(r, first, end, HM_RUN_COMMITTED | HM_RUN_LOCKED, HM_RUN_COMMITTED,
                      hm_vg_undefined);
    hm_record_unlock(r);
    return st;
}

/* (Memcheck holds a reset page undefined: this look is hostmem's own, not a use.) */
static bool page_is_zero(const unsigned char *p)
{
    unsigned char seen[HM_PAGE_SIZE];
    bool unveiled = hm_vg_unveil(p, seen, HM_PAGE_SIZE);
    size_t i = 0;
    while (i < HM_PAGE_SIZE && !p[i])
        i++;
    hm_vg_veil(p, seen, HM_PAGE_SIZE, unveiled);
    return i == HM_PAGE_SIZE;
}

/* Does the page still hold what was reset? Present and exclusively mapped, or swapped out;
 * a present page shared with another mapping is either a fork's copy-on-write page (data
 * kept) or the shared zero page a read mapped after a discard (data lost): if the page can
 * be read and reads all zeros, it is taken as lost. */
static bool still_held(uint64_t pm, const unsigned char *page, bool readable)
{
    if (pm & HM_PM_SWAPPED)
        return true;
    if (!(pm & HM_PM_PRESENT))
        return false;
    return (pm & HM_PM_EXCLUSIVE) || !readable || !page_is_zero(page);
}

static int check_resident(hm_reservation_t *r, uint64_t s, uint64_t e, uint32_t val)
{
    bool readable = (hm_os_prot_of(val & HM_VM_PROT_MASK) & (HM_OS_R | HM_OS_W)) != 0;
    uint64_t pm[PM_CHUNK];
    for (uint64_t p = s; p < e; p += PM_CHUNK) {
        size_t n = (size_t)(e - p < PM_CHUNK ? e - p : PM_CHUNK);
        int err = hm_os.pagemap(HM_SITE_UNDO_PAGEMAP, r->base + (p << HM_PAGE_SHIFT), n, pm);
        if (err)
            return hm_status_of_errno(err);
        for (size_t k = 0; k < n; k++)
            if (!still_held(pm[k], (const unsigned char *)(r->base + ((p + k) << HM_PAGE_SHIFT)),
                            readable))
                return HM_E_RESET_LOST;
    }
    return HM_OK;
}

static void touch_pages(uintptr_t a, uint64_t npages)
{
    for (uint64_t k = 0; k < npages; k++)
        __atomic_fetch_or((unsigned char *)(a + (k << HM_PAGE_SHIFT)), 0, __ATOMIC_RELAXED);
}

static int redirty(hm_reservation_t *r, uint64_t s, uint64_t e, uint32_t val)
{
    uintptr_t a = r->base + (s << HM_PAGE_SHIFT);
    size_t len = (e - s) << HM_PAGE_SHIFT;
    unsigned prot = hm_os_prot_in(r, val & HM_VM_PROT_MASK);
    if (prot & HM_OS_W) {
        touch_pages(a, e - s);
        hm_vm_watch_touched(r, s, e, false);
        return HM_OK;
    }
    int err = hm_os.protect(HM_SITE_UNDO_UNPROTECT, (void *)a, len, HM_OS_R | HM_OS_W);
    if (err)
        return hm_status_of_errno(err);
    touch_pages(a, e - s);
    if ((err = hm_os.protect(HM_SITE_UNDO_REPROTECT, (void *)a, len, prot)) != 0)
        hm_panic("reset undo: cannot restore the protection", a, len, err);
    hm_vm_watch_touched(r, s, e, false); /* write watch reports re-dirtied pages written */
    return HM_OK;
}

int hm_vm_reset_undo(uintptr_t addr, size_t size)
{
    hm_reservation_t *r;
    int st = hm_lock_inside(addr, size, &r);
    if (st != HM_OK)
        return st;
    uint64_t first, end;
    hm_page_range(r, addr, size, &first, &end);
    st = hm_is_phys(r) ? HM_E_CONFLICTING_ADDRESSES : for_each_piece(r, first, end, check_resident);
    if (st == HM_OK)
        st = for_each_piece(r, first, end, redirty);
    if (st == HM_OK) /* the pages hold their data again */
        hm_vm_vg_mark(r, first, end, HM_RUN_COMMITTED | HM_RUN_LOCKED, HM_RUN_COMMITTED,
                      hm_vg_defined);
    hm_record_unlock(r);
    return st;
}
