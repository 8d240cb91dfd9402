/*
 * index.c — the lock-free radix index (see index.h for the invariant and ordering).
 *
 * Five levels over the 35-bit page number: 8 bits (root, static), 9, 9, then 5 bits of
 * 64 KiB granules and 4 bits of pages. Reservations start on granules, so one whose size
 * is a multiple of 64 KiB is a single slot per granule (8 bytes, not 16 page slots): the
 * index for 100,000 such reservations stays under a megabyte and in cache. Nodes come
 * from hm_os.alloc and live forever.
 */
#include "vm/index.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "common.h"
#include "os/os.h"

#define LEVELS 5
#define TAG 1u

typedef _Atomic(uintptr_t) slot_t;

static const unsigned level_shift[LEVELS] = {27, 18, 9, 4, 0};
static const unsigned level_fanout[LEVELS] = {256, 512, 512, 32, 16};

static slot_t root[256];

static inline unsigned shift_of(int level)
{
    return level_shift[level];
}

static inline unsigned slot_index(uint64_t page, int level)
{
    return (unsigned)((page >> level_shift[level]) & (level_fanout[level] - 1));
}

static inline slot_t *slots_of(uintptr_t child)
{
    return (slot_t *)child;
}

struct hm_reservation *hm_index_lookup(uint64_t page)
{
    if (page >> 35)
        return NULL;
    slot_t *slots = root;
    for (int level = 0; level < LEVELS; level++) {
        uintptr_t e = atomic_load_explicit(&slots[slot_index(page, level)], memory_order_acquire);
        if (e & TAG)
            return (struct hm_reservation *)(e & ~(uintptr_t)TAG);
        if (!e)
            return NULL;
        slots = slots_of(e);
    }
    return NULL;
}

/* Returns the child node (of level `level`) under *slot, creating it if the slot is empty
 * or holds a dying reservation's whole-subtree tag (see walk_set). */
static int child_of(slot_t *slot, int level, uintptr_t *child)
{
    uintptr_t e = atomic_load_explicit(slot, memory_order_acquire);
    if (e && !(e & TAG)) {
        *child = e;
        return 0;
    }
    void *fresh;
    int err = hm_os.alloc(HM_SITE_RESERVE_INDEX, level_fanout[level] * sizeof(slot_t), &fresh);
    if (err)
        return err;
    uintptr_t expected = e;
    if (atomic_compare_exchange_strong_explicit(slot, &expected, (uintptr_t)fresh,
                                                memory_order_acq_rel, memory_order_acquire)) {
        *child = (uintptr_t)fresh;
    } else {
        hm_os_free(fresh);
        if (expected & TAG) /* another stale tag: try again */
            return child_of(slot, level, child);
        *child = expected;
    }
    return 0;
}

/* Applies insert (r != 0) or remove over pages [first, end) within the node at `level`
 * whose first page is `base`. */
static int walk_set(slot_t *slots, int level, uint64_t base, uint64_t first, uint64_t end,
                    uintptr_t tagged, bool insert)
{
    uint64_t span = (uint64_t)1 << shift_of(level);
    unsigned fan = level_fanout[level];
    unsigned lo = (unsigned)((first - base) >> shift_of(level));
    for (unsigned i = lo; i < fan; i++) {
        uint64_t s = base + i * span, e = s + span;
        if (s >= end)
            break;
        slot_t *slot = &slots[i];
        uintptr_t cur = atomic_load_explicit(slot, memory_order_acquire);
        bool whole = first <= s && e <= end;
        if (whole && (cur & TAG || !cur)) {
            /* Insert overwrites a dying owner's tag; remove clears only its own. */
            if (insert)
                atomic_store_explicit(slot, tagged, memory_order_release);
            else if (cur == tagged)
                atomic_compare_exchange_strong_explicit(slot, &cur, 0, memory_order_release,
                                                        memory_order_relaxed);
            continue;
        }
        if ((cur & TAG) && !insert) /* someone else's whole slot */
            continue;
        if (!cur && !insert)
            continue;
        uintptr_t child;
        if (insert) {
            int err = child_of(slot, level + 1, &child);
            if (err)
                return err;
        } else {
            child = cur;
        }
        int err = walk_set(slots_of(child), level + 1, s, first > s ? first : s, end < e ? end : e,
                           tagged, insert);
        if (err)
            return err;
    }
    return 0;
}

int hm_index_insert(uint64_t first, uint64_t end, struct hm_reservation *r)
{
    if (end > ((uint64_t)1 << 35) || first >= end)
        return EINVAL;
    uintptr_t tagged = (uintptr_t)r | TAG;
    int err = walk_set(root, 0, 0, first, end, tagged, true);
    if (err)
        walk_set(root, 0, 0, first, end, tagged, false);
    return err;
}

void hm_index_remove(uint64_t first, uint64_t end, struct hm_reservation *r)
{
    if (end > ((uint64_t)1 << 35) || first >= end)
        return;
    walk_set(root, 0, 0, first, end, (uintptr_t)r | TAG, false);
}

/* Scans [first, end) under a node for a used page, forward (dir > 0) or backward. Returns
 * true and sets *hit to the first used page (forward) or one past the last (backward). */
static bool scan(slot_t *slots, int level, uint64_t base, uint64_t first, uint64_t end, int dir,
                 uint64_t *hit)
{
    uint64_t span = (uint64_t)1 << shift_of(level);
    unsigned fan = level_fanout[level];
    unsigned lo = (unsigned)((first - base) >> shift_of(level));
    unsigned hi = (unsigned)((end - 1 - base) >> shift_of(level));
    if (hi >= fan)
        hi = fan - 1;
    for (unsigned k = 0; k <= hi - lo; k++) {
        unsigned i = dir > 0 ? lo + k : hi - k;
        uint64_t s = base + i * span, e = s + span;
        uint64_t cs = first > s ? first : s, ce = end < e ? end : e;
        uintptr_t cur = atomic_load_explicit(&slots[i], memory_order_acquire);
        if (!cur)
            continue;
        if (cur & TAG) {
            *hit = dir > 0 ? cs : ce;
            return true;
        }
        if (level + 1 < LEVELS && scan(slots_of(cur), level + 1, s, cs, ce, dir, hit))
            return true;
    }
    return false;
}

uint64_t hm_index_next_used(uint64_t first, uint64_t end)
{
    uint64_t lim = (uint64_t)1 << 35, hit;
    if (end > lim)
        end = lim;
    if (first >= end)
        return end;
    return scan(root, 0, 0, first, end, 1, &hit) ? hit : end;
}

uint64_t hm_index_last_used_end(uint64_t first, uint64_t end)
{
    uint64_t lim = (uint64_t)1 << 35, hit;
    if (end > lim)
        end = lim;
    if (first >= end)
        return first;
    return scan(root, 0, 0, first, end, -1, &hit) ? hit : first;
}
