/*
 * index.c — the lock-free radix index (see index.h for the invariant and ordering).
 *
 * Five levels over the 35-bit page number: 8 bits (root, static), 9, 9, then 5 bits of
 * 64 KiB granules and 4 bits of pages. Reservations start on granules, so one whose size
 * is a multiple of 64 KiB is a single slot per granule (8 bytes, not 16 page slots; a
 * placeholder piece may start on any page and costs a few more): the
 * index for 100,000 such reservations stays under a megabyte and in cache. Nodes come
 * from hm_os.alloc and live forever. Writers: walk_prepare (allocates, pushes tags down),
 * walk_store (release stores) and walk_remove (CAS); no locks (index.h states the invariant).
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

/* The child node (of level `level`) under *slot, created if the slot is empty or holds a
 * whole-subtree tag. A tag is pushed down: the fresh child holds that tag in every slot
 * before it replaces the tag (one CAS), so a lookup never sees the owner's pages vanish,
 * whether the owner is live (a placeholder being split) or dying (its remover follows the
 * tag into the child, see walk_remove). */
static int child_of(slot_t *slot, int level, hm_os_site_t site, uintptr_t *child)
{
    for (;;) {
        uintptr_t e = atomic_load_explicit(slot, memory_order_acquire);
        if (e && !(e & TAG)) {
            *child = e;
            return 0;
        }
        void *mem;
        int err = hm_os.alloc(site, level_fanout[level] * sizeof(slot_t), &mem);
        if (err)
            return err;
        slot_t *fresh = mem;
        for (unsigned i = 0; e && i < level_fanout[level]; i++)
            atomic_store_explicit(&fresh[i], e, memory_order_relaxed);
        uintptr_t expected = e;
        if (atomic_compare_exchange_strong_explicit(slot, &expected, (uintptr_t)fresh,
                                                    memory_order_acq_rel, memory_order_acquire)) {
            *child = (uintptr_t)fresh;
            return 0;
        }
        hm_os_free(fresh);
        if (expected && !(expected & TAG)) { /* another inserter made one */
            *child = expected;
            return 0;
        }
        /* The tag went away or changed (a remover, a new owner): look again. */
    }
}

/* The pages of the slot [s, s + span) that [first, end) covers. */
#define CLIP_FIRST(s) (first > (s) ? first : (s))
#define CLIP_END(e) (end < (e) ? end : (e))

/* Gives every slot that [first, end) covers only partly a child node (level by level), so
 * that a later walk_store over the same range never allocates. Changes no lookup result. */
static int walk_prepare(slot_t *slots, int level, uint64_t base, uint64_t first, uint64_t end,
                        hm_os_site_t site)
{
    uint64_t span = (uint64_t)1 << shift_of(level);
    unsigned lo = (unsigned)((first - base) >> shift_of(level));
    for (unsigned i = lo; i < level_fanout[level]; i++) {
        uint64_t s = base + i * span, e = s + span;
        if (s >= end)
            break;
        if (first <= s && e <= end)
            continue; /* whole: the store writes this slot or the subtree under it */
        uintptr_t child;
        int err = child_of(&slots[i], level + 1, site, &child);
        if (!err)
            err = walk_prepare(slots_of(child), level + 1, s, CLIP_FIRST(s), CLIP_END(e), site);
        if (err)
            return err;
    }
    return 0;
}

static inline bool is_child(uintptr_t e)
{
    return e && !(e & TAG);
}

/* Puts `tagged` in a slot the range covers whole, unless a child node is there: returns 0
 * once stored, else the child. A plain store: every page under the slot is the caller's,
 * so no one else stores or pushes down here; a dying owner's remove CASes and loses. */
static uintptr_t store_whole(slot_t *slot, uintptr_t tagged)
{
    uintptr_t cur = atomic_load_explicit(slot, memory_order_acquire);
    if (is_child(cur))
        return cur;
    atomic_store_explicit(slot, tagged, memory_order_release);
    return 0;
}

/* Maps every page of [first, end) to `tagged`: whole slots get the tag (or, if a child is
 * there, the whole subtree does); a partial slot gets a child (child_of, from `site`) and
 * the walk goes down. Over a prepared range no child is missing, so nothing is allocated
 * and nothing can fail. Returns 0 or the errno of an allocation (the slots stored so far
 * keep the tag: the caller removes it). */
static int walk_store(slot_t *slots, int level, uint64_t base, uint64_t first, uint64_t end,
                      uintptr_t tagged, hm_os_site_t site)
{
    uint64_t span = (uint64_t)1 << shift_of(level);
    unsigned lo = (unsigned)((first - base) >> shift_of(level));
    for (unsigned i = lo; i < level_fanout[level]; i++) {
        uint64_t s = base + i * span, e = s + span;
        if (s >= end)
            break;
        uintptr_t child;
        if (first <= s && e <= end) {
            if (!(child = store_whole(&slots[i], tagged)))
                continue;
        } else {
            int err = child_of(&slots[i], level + 1, site, &child);
            if (err)
                return err;
        }
        int err = walk_store(slots_of(child), level + 1, s, CLIP_FIRST(s), CLIP_END(e), tagged,
                             site);
        if (err)
            return err;
    }
    return 0;
}

/* Clears the slots of [first, end) that hold `tagged`, following children. A CAS that loses
 * to a push-down (child_of) follows the tag into the fresh child; one that loses to a new
 * owner's store leaves the slot to it. */
static void walk_remove(slot_t *slots, int level, uint64_t base, uint64_t first, uint64_t end,
                        uintptr_t tagged)
{
    uint64_t span = (uint64_t)1 << shift_of(level);
    unsigned lo = (unsigned)((first - base) >> shift_of(level));
    for (unsigned i = lo; i < level_fanout[level]; i++) {
        uint64_t s = base + i * span, e = s + span;
        if (s >= end)
            break;
        uintptr_t cur = atomic_load_explicit(&slots[i], memory_order_acquire);
        bool whole = first <= s && e <= end;
        hm_assert(whole || cur != tagged); /* an owner's tag only covers its own pages */
        while (whole && cur == tagged &&
               !atomic_compare_exchange_weak_explicit(&slots[i], &cur, 0, memory_order_release,
                                                      memory_order_acquire)) {
        }
        if (is_child(cur))
            walk_remove(slots_of(cur), level + 1, s, CLIP_FIRST(s), CLIP_END(e), tagged);
    }
}

static bool range_ok(uint64_t first, uint64_t end)
{
    return end <= ((uint64_t)1 << 35) && first < end;
}

int hm_index_prepare(uint64_t first, uint64_t end, hm_os_site_t site)
{
    if (!range_ok(first, end))
        return EINVAL;
    return walk_prepare(root, 0, 0, first, end, site);
}

void hm_index_store(uint64_t first, uint64_t end, struct hm_reservation *r)
{
    hm_assert(range_ok(first, end));
    if (walk_store(root, 0, 0, first, end, (uintptr_t)r | TAG, HM_SITE_RESERVE_INDEX) != 0)
        hm_panic("index: store over a range that was not prepared", (uintptr_t)first << 12,
                 (size_t)(end - first) << 12, 0);
}

/* One pass (a new reservation's pages are its own: no one else's tag to keep), undone if
 * a node cannot be had. */
int hm_index_insert(uint64_t first, uint64_t end, struct hm_reservation *r)
{
    if (!range_ok(first, end))
        return EINVAL;
    uintptr_t tagged = (uintptr_t)r | TAG;
    int err = walk_store(root, 0, 0, first, end, tagged, HM_SITE_RESERVE_INDEX);
    if (err)
        walk_remove(root, 0, 0, first, end, tagged);
    return err;
}

void hm_index_remove(uint64_t first, uint64_t end, struct hm_reservation *r)
{
    if (range_ok(first, end))
        walk_remove(root, 0, 0, first, end, (uintptr_t)r | TAG);
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
