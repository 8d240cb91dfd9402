/*
 * placeholder.c — placeholders (VirtualAlloc2 MEM_RESERVE_PLACEHOLDER): replacing one by an
 * allocation, freeing an allocation back to one, splitting and coalescing them.
 *
 * A placeholder is a reservation record of kind HM_KIND_PLACEHOLDER (made by
 * hm_vm_allocate with HM_VM_ALLOC_PLACEHOLDER): mapped PROT_NONE, every page reserved
 * (its runs are one run of value 0), AllocationProtect PAGE_NOACCESS (prot 0),
 * MEM_PRIVATE. Replacing converts the record in place (kind HM_KIND_FROM_PLACEHOLDER);
 * freeing it back converts it again (fresh PROT_NONE pages: contents, commit charge and
 * locks are gone). Splitting gives every piece a record of its own (each piece is an
 * allocation, starting on any page): the record keeps its first piece, fresh records take
 * the others. Coalescing gives the first placeholder its neighbours' pages; their records
 * die. Pieces keep the owner account; only placeholders of one account coalesce. A
 * replacement may be watched (MEM_WRITE_WATCH, watched.c): its watch state goes when it is
 * freed back whole; it is not split (the engines keep one state per reservation).
 *
 * Invariant: every page stays indexed throughout (index.h): ownership moves, under the
 * locks of every record involved, in this order: the record that gives pages up shrinks
 * (split) or the one that takes them grows (coalesce), then the index is stored (prepared
 * before, so the store cannot fail), then the locks are released. A reader that found the
 * old owner waits on its lock, then sees it no longer covers the page, looks again
 * (hm_record_lookup_lock) and finds the new owner; it never sees the pages free.
 *
 * Locking: code that holds more than one record lock. Split holds the record being split,
 * then fresh records (not yet indexed or live); coalesce holds the placeholders it merges,
 * in increasing address order. Only the first lock is waited for: every further one is
 * taken with trylock, spinning (yielding) while someone else has it, so this code never
 * waits for a lock while holding one and cannot be part of a deadlock (and records, which
 * change roles as they are reused, give ThreadSanitizer no lock-order edge). The wait is
 * short: a fresh record can only be held by hm_record_for_each for an instant; a neighbour
 * by a call that holds no other lock, or by a coalesce starting at it, which never needs
 * the lower records held here. Syscalls under the locks: mprotect (replace with
 * commit), one MAP_FIXED mmap (back to a placeholder). Calls: record, index, runs,
 * charge, watched, os.
 */
#include "vm/index.h"
#include "vm/internal.h"
#include "vm/memcheck.h"
#include "vm/watched.h"

#define PLACEHOLDER_PROT 0u /* PAGE_NOACCESS */

/* Locks q while this thread holds another record lock: never waits (see Locking). */
static void lock_another(hm_reservation_t *q)
{
    while (pthread_mutex_trylock(&q->lock) != 0)
        hm_os_yield();
}

/* hm_record_lookup_lock for a second lock: the live record covering addr, or NULL. */
static hm_reservation_t *lookup_lock_another(uintptr_t addr)
{
    for (;;) {
        hm_reservation_t *q = hm_index_lookup(addr >> HM_PAGE_SHIFT);
        if (!q)
            return NULL;
        lock_another(q);
        if (q->live && addr - q->base < q->size)
            return q;
        hm_record_unlock(q);
    }
}

static uint64_t count_pages(const hm_reservation_t *r, uint64_t first, uint64_t end,
                            uint32_t bit)
{
    return hm_runs_count(&r->runs, hm_record_npages(r), first, end, bit, bit);
}

/* Makes r (locked) a placeholder: runs, kind and protection; pages untouched. */
static void become_placeholder(hm_reservation_t *r)
{
    r->kind = HM_KIND_PLACEHOLDER;
    r->alloc_prot = PLACEHOLDER_PROT;
    hm_runs_destroy(&r->runs);
    hm_runs_init(&r->runs, 0);
}

/* ---- replace -------------------------------------------------------------------------- */

/* Write watch for the placeholder r (locked) about to be replaced: the state of a reserved
 * range, then its pages armed for the commit (before the commit's mprotect, as commit.c). */
static int watch_replacement(hm_reservation_t *r, bool commit)
{
    int st = hm_vm_watch_attach(r, r->base, r->size, false);
    if (st != HM_OK || !commit)
        return st;
    hm_watch_view_t v = {hm_record_ext(r)->watch, r->base, hm_record_npages(r), &r->runs};
    if ((st = hm_watch_commit(&v, 0, v.npages)) != HM_OK)
        hm_vm_watch_detach(r);
    return st;
}

static int replace_locked(hm_reservation_t *r, uintptr_t addr, size_t size, uint32_t alloc_prot,
                          uint32_t commit_prot, unsigned flags)
{
    bool commit = flags & HM_VM_ALLOC_COMMIT, watch = flags & HM_VM_ALLOC_WATCH;
    if (addr != r->base || size != r->size)
        return HM_E_CONFLICTING_ADDRESSES;
    if (!(r->kind & HM_KIND_PLACEHOLDER))
        return HM_E_INVALID_PARAMETER;
    uint64_t charge = commit ? size : 0;
    int st = hm_charge(r->account, charge);
    if (st != HM_OK)
        return st;
    if (watch && (st = watch_replacement(r, commit)) != HM_OK)
        goto fail_watch;
    unsigned os_prot = watch ? hm_watch_os_prot(commit_prot) : hm_os_prot_of(commit_prot);
    int err = commit ? hm_os.protect(HM_SITE_REPLACE_PROTECT, (void *)addr, size, os_prot) : 0;
    if (err) {
        st = hm_status_of_errno(err);
        goto fail_protect;
    }
    r->kind = HM_KIND_FROM_PLACEHOLDER | (watch ? HM_KIND_WATCH : 0);
    r->alloc_prot = alloc_prot;
    hm_runs_destroy(&r->runs);
    hm_runs_init(&r->runs, commit ? HM_RUN_COMMITTED | commit_prot : 0);
    hm_vm_watch_published(r);
    if (commit)
        hm_vg_defined((void *)addr, size); /* the placeholder's pages were no access */
    return HM_OK;
fail_protect:
    hm_vm_watch_detach(r);
fail_watch:
    hm_uncharge(r->account, charge);
    return st;
}

int hm_vm_replace_placeholder(uintptr_t addr, size_t size, uint32_t alloc_prot,
                              uint32_t commit_prot, unsigned flags)
{
    bool commit = flags & HM_VM_ALLOC_COMMIT;
    if (commit && (commit_prot & HM_VM_GUARD) && hm_guard_arm() != 0)
        return HM_E_NO_MEMORY;
    int st = (flags & HM_VM_ALLOC_WATCH) ? hm_vm_watch_prepare() : HM_OK;
    if (st != HM_OK)
        return st;
    hm_reservation_t *r = hm_record_lookup_lock(addr);
    if (!r)
        return HM_E_INVALID_PARAMETER;
    st = hm_may_touch(r);
    if (st == HM_OK)
        st = replace_locked(r, addr, size, alloc_prot, commit_prot, flags);
    hm_record_unlock(r);
    return st;
}

/* ---- back to a placeholder, whole ------------------------------------------------------ */

/* Pages [first, end) of r (an allocation) become fresh PROT_NONE pages (if any is
 * committed or watched: others already are): their charge and locks go. The runs are the
 * caller's; so is the watch state (the fresh pages carry no registration). */
static int drop_pages(hm_reservation_t *r, uint64_t first, uint64_t end)
{
    uint64_t gone = count_pages(r, first, end, HM_RUN_COMMITTED);
    uint64_t locked = count_pages(r, first, end, HM_RUN_LOCKED);
    void *p;
    int err = gone || hm_watched(r) ? hm_os.map(HM_SITE_PRESERVE_MAP, (void *)(r->base + (first << HM_PAGE_SHIFT)),
                               (end - first) << HM_PAGE_SHIFT, 0, HM_OS_MAP_REPLACE, &p)
                   : 0;
    if (err)
        return hm_status_of_errno(err);
    hm_vg_noaccess((void *)(r->base + (first << HM_PAGE_SHIFT)), (end - first) << HM_PAGE_SHIFT);
    hm_uncharge(r->account, gone << HM_PAGE_SHIFT);
    hm_stat_add(&hm_stat_locked_bytes, -(int64_t)(locked << HM_PAGE_SHIFT));
    return HM_OK;
}

/* ---- split ------------------------------------------------------------------------------ */

/* One piece of a split: pages [first, end) of the record being split. */
typedef struct piece {
    uint64_t first, end;
    bool placeholder;
    hm_reservation_t *rec; /* [0]: the record being split; others fresh, locked */
} piece_t;

/* Takes fresh records for pieces 1..n-1 and gives them their runs. */
static int take_records(hm_reservation_t *r, piece_t *pc, unsigned n)
{
    for (unsigned i = 1; i < n; i++) {
        int err = 0;
        if (!(pc[i].rec = hm_record_get_at(HM_SITE_SPLIT_RECORD, &err)))
            return err;
        lock_another(pc[i].rec);
        if (pc[i].placeholder)
            hm_runs_init(&pc[i].rec->runs, 0);
        else if ((err = hm_runs_slice(&pc[i].rec->runs, &r->runs, pc[i].first, pc[i].end,
                                      HM_SITE_SPLIT_RUNS)) != 0)
            return err;
    }
    return 0;
}

static void put_records(piece_t *pc, unsigned n)
{
    for (unsigned i = 1; i < n && pc[i].rec; i++) {
        hm_runs_destroy(&pc[i].rec->runs);
        hm_record_unlock(pc[i].rec);
        hm_record_put(pc[i].rec);
    }
}

/* Fills fresh record q (locked) as piece p of r. */
static void fill_piece(hm_reservation_t *q, const hm_reservation_t *r, const piece_t *p)
{
    q->account = r->account;
    q->base = r->base + (p->first << HM_PAGE_SHIFT);
    q->size = (p->end - p->first) << HM_PAGE_SHIFT;
    q->kind = p->placeholder ? HM_KIND_PLACEHOLDER : r->kind;
    q->alloc_prot = p->placeholder ? PLACEHOLDER_PROT : r->alloc_prot;
    q->live = true;
}

/* Commits a prepared split: r shrinks to piece 0, the fresh records go live and take
 * their pages in the index, then their locks go. */
static void publish_pieces(hm_reservation_t *r, piece_t *pc, unsigned n)
{
    uint64_t base_page = r->base >> HM_PAGE_SHIFT;
    for (unsigned i = 1; i < n; i++)
        fill_piece(pc[i].rec, r, &pc[i]);
    if (pc[0].placeholder && !(r->kind & HM_KIND_PLACEHOLDER))
        become_placeholder(r);
    else
        hm_runs_truncate(&r->runs, pc[0].end);
    r->size = pc[0].end << HM_PAGE_SHIFT;
    for (unsigned i = 1; i < n; i++)
        hm_index_store(base_page + pc[i].first, base_page + pc[i].end, pc[i].rec);
    for (unsigned i = 1; i < n; i++)
        hm_record_unlock(pc[i].rec);
    hm_stat_add(&hm_stat_reservations, (int64_t)n - 1);
}

/* Pages [a, b) of r (locked; a placeholder, or an allocation that replaced one; not all of
 * it) become a placeholder of their own; the pages before and after stay what they were,
 * each an allocation of its own. Everything that can fail comes before the one syscall. */
static int split(hm_reservation_t *r, uint64_t a, uint64_t b)
{
    uint64_t npages = hm_record_npages(r), base_page = r->base >> HM_PAGE_SHIFT;
    bool free_ph = r->kind & HM_KIND_PLACEHOLDER;
    piece_t pc[3];
    unsigned n = 0;
    if (a > 0)
        pc[n++] = (piece_t){0, a, free_ph, NULL};
    pc[n++] = (piece_t){a, b, true, NULL};
    if (b < npages)
        pc[n++] = (piece_t){b, npages, free_ph, NULL};
    pc[0].rec = r;
    int err = take_records(r, pc, n);
    for (unsigned i = 1; !err && i < n; i++)
        err = hm_index_prepare(base_page + pc[i].first, base_page + pc[i].end,
                               HM_SITE_SPLIT_INDEX);
    int st = err ? HM_E_NO_MEMORY : free_ph ? HM_OK : drop_pages(r, a, b);
    if (st != HM_OK) {
        put_records(pc, n);
        return st;
    }
    publish_pieces(r, pc, n);
    return HM_OK;
}

/* ---- preserve (split, or back to a placeholder) --------------------------------------- */

static int preserve_locked(hm_reservation_t *r, uintptr_t addr, size_t size)
{
    if (!(r->kind & (HM_KIND_PLACEHOLDER | HM_KIND_FROM_PLACEHOLDER)))
        return HM_E_CONFLICTING_ADDRESSES;
    if (size == r->size) {
        if (r->kind & HM_KIND_PLACEHOLDER)
            return HM_E_CONFLICTING_ADDRESSES; /* already one */
        int st = drop_pages(r, 0, hm_record_npages(r));
        if (st == HM_OK) {
            hm_vm_watch_release(r);
            become_placeholder(r);
        }
        return st;
    }
    if (hm_watched(r))
        return HM_E_CONFLICTING_ADDRESSES; /* one watch state per reservation: whole only */
    uint64_t a, b;
    hm_page_range(r, addr, size, &a, &b);
    return split(r, a, b);
}

int hm_vm_preserve_placeholder(uintptr_t addr, size_t size)
{
    hm_reservation_t *r = hm_record_lookup_lock(addr);
    if (!r)
        return HM_E_NOT_ALLOCATED;
    int st = hm_may_touch(r);
    if (st == HM_OK)
        st = size > r->base + r->size - addr ? HM_E_UNABLE_TO_FREE
                                             : preserve_locked(r, addr, size);
    hm_record_unlock(r);
    return st;
}

/* ---- coalesce --------------------------------------------------------------------------- */

/* The record after q (both held by this thread): its pages are indexed to it. */
static hm_reservation_t *next_held(const hm_reservation_t *q)
{
    return hm_index_lookup((q->base + q->size) >> HM_PAGE_SHIFT);
}

/* Unlocks the n - 1 records held after r, each found before the one before it is let go. */
static void unlock_chain(hm_reservation_t *r, unsigned n)
{
    hm_reservation_t *q = n > 1 ? next_held(r) : NULL;
    for (unsigned i = 1; i < n; i++) {
        hm_reservation_t *next = i + 1 < n ? next_held(q) : NULL;
        hm_record_unlock(q);
        q = next;
    }
}

/* Locks the placeholder that starts at addr and may join r's: HM_OK with *out, the reason it
 * may not (HM_E_NOT_OWNER), or HM_E_CONFLICTING_ADDRESSES (none there). */
static int lock_neighbour(const hm_reservation_t *r, uintptr_t addr, hm_reservation_t **out)
{
    hm_reservation_t *q = lookup_lock_another(addr);
    if (!q)
        return HM_E_CONFLICTING_ADDRESSES;
    int st = hm_may_touch(q);
    if (st == HM_OK && (q->base != addr || !(q->kind & HM_KIND_PLACEHOLDER) ||
                        q->account != r->account))
        st = HM_E_CONFLICTING_ADDRESSES;
    if (st != HM_OK) {
        hm_record_unlock(q);
        return st;
    }
    *out = q;
    return HM_OK;
}

/* r (locked) takes the pages of the n - 1 placeholders after it (locked), which die. */
static void merge(hm_reservation_t *r, unsigned n, size_t total)
{
    uintptr_t at = r->base + r->size;
    r->size = total;
    hm_runs_destroy(&r->runs);
    hm_runs_init(&r->runs, 0);
    for (unsigned i = 1; i < n; i++) {
        hm_reservation_t *q = hm_index_lookup(at >> HM_PAGE_SHIFT);
        size_t size = q->size;
        hm_index_store(at >> HM_PAGE_SHIFT, (at + size) >> HM_PAGE_SHIFT, r);
        q->live = false;
        hm_runs_destroy(&q->runs);
        hm_record_unlock(q);
        hm_record_put(q);
        at += size;
    }
    hm_stat_add(&hm_stat_reservations, -((int64_t)n - 1));
}

static int coalesce_locked(hm_reservation_t *r, uintptr_t addr, size_t size)
{
    if (addr != r->base || !(r->kind & HM_KIND_PLACEHOLDER))
        return HM_E_CONFLICTING_ADDRESSES;
    size_t total = r->size;
    unsigned n = 1;
    int st = HM_OK;
    while (total < size) {
        hm_reservation_t *q;
        st = lock_neighbour(r, r->base + total, &q);
        if (st != HM_OK)
            break;
        total += q->size;
        n++;
    }
    if (st == HM_E_CONFLICTING_ADDRESSES) /* a gap or another kind ends the run */
        st = HM_OK;
    if (st == HM_OK && (n < 2 || total != size))
        st = HM_E_CONFLICTING_ADDRESSES;
    if (st != HM_OK) {
        unlock_chain(r, n);
        return st;
    }
    merge(r, n, total);
    return HM_OK;
}

int hm_vm_coalesce_placeholders(uintptr_t addr, size_t size)
{
    hm_reservation_t *r = hm_record_lookup_lock(addr);
    if (!r)
        return HM_E_NOT_ALLOCATED;
    int st = hm_may_touch(r);
    if (st == HM_OK)
        st = coalesce_locked(r, addr, size);
    hm_record_unlock(r);
    return st;
}
