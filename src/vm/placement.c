/*
 * placement.c — where new reservations go.
 *
 * Windows reservations start on 64 KiB boundaries; mmap only promises 4 KiB. To avoid an
 * over-reserve-and-trim (three syscalls) on every reservation, placement keeps a hint
 * cursor: the base of the last reservation it placed. The next one is tried just below it
 * with MAP_FIXED_NOREPLACE (one syscall; the kernel refuses if anything is there), and
 * only if that fails does it over-reserve by 60 KiB and trim. Top-down searches the
 * kernel's map for the highest gap, leaving the main stack's growth band free. Address
 * requirements (VirtualAlloc2: bounds and a power-of-two alignment of at least 64 KiB)
 * search the kernel's map for the lowest (or, top-down, highest) aligned hole inside the
 * bounds, then claim it with MAP_FIXED_NOREPLACE, searching again if something took it
 * meanwhile; the no-requirement paths above are untouched by them.
 *
 * Invariant: every range returned is mapped, 64 KiB aligned (or to the requested
 * alignment, inside the requested bounds), inside [HM_MIN_ADDR, HM_MAX_ADDR]. The cursor
 * is only a hint (atomic, relaxed): a stale value costs a syscall, never correctness. No
 * locks.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "os/os.h"
#include "vm/placement.h"
#include "vm/procmaps.h"
#include "vm/vm.h"

static _Atomic uintptr_t hint_cursor;

static int status_of(int err)
{
    return err == EEXIST ? HM_E_CONFLICTING_ADDRESSES : HM_E_NO_MEMORY;
}

static bool in_user_space(uintptr_t base, size_t size)
{
    return base >= HM_MIN_ADDR && size <= HM_MAX_ADDR + 1 - base;
}

static int map_at(uintptr_t addr, size_t size, unsigned prot)
{
    void *p;
    return hm_os.map(HM_SITE_RESERVE_MAP, (void *)addr, size, prot, HM_OS_MAP_NOREPLACE, &p);
}

/* Over-reserve by a granule less a page, then trim to a 64 KiB-aligned base. */
static int map_trimmed(size_t size, unsigned prot, uintptr_t *base)
{
    size_t len = size + HM_GRANULE - HM_PAGE_SIZE;
    if (len < size)
        return HM_E_NO_MEMORY;
    void *p;
    int err = hm_os.map(HM_SITE_RESERVE_MAP, NULL, len, prot, HM_OS_MAP_ANYWHERE, &p);
    if (err)
        return status_of(err);
    uintptr_t start = (uintptr_t)p, aligned = HM_ALIGN_UP(start, HM_GRANULE);
    uintptr_t end = start + len, aend = aligned + size;
    if (aligned > start && (err = hm_os.unmap(HM_SITE_RESERVE_TRIM, p, aligned - start)) != 0)
        goto fail;
    if (end > aend && (err = hm_os.unmap(HM_SITE_RESERVE_TRIM, (void *)aend, end - aend)) != 0) {
        start = aligned;
        goto fail;
    }
    if (!in_user_space(aligned, size)) {
        if (hm_os.unmap(HM_SITE_RESERVE_UNDO, (void *)aligned, size) != 0)
            hm_panic("reserve: cannot undo a mapping outside user space", aligned, size, 0);
        return HM_E_NO_MEMORY;
    }
    *base = aligned;
    return HM_OK;
fail:
    if (hm_os.unmap(HM_SITE_RESERVE_UNDO, (void *)start, end - start) != 0)
        hm_panic("reserve: cannot undo an over-reservation", start, end - start, err);
    return HM_E_NO_MEMORY;
}

static int map_anywhere(size_t size, unsigned prot, uintptr_t *base)
{
    size_t span = HM_ALIGN_UP(size, HM_GRANULE);
    uintptr_t cur = atomic_load_explicit(&hint_cursor, memory_order_relaxed);
    /* Claim [cur - span, cur) by moving the cursor first, so concurrent reservations take
     * different hints instead of colliding in the kernel. */
    while (span >= size && cur > span && in_user_space(cur - span, size)) {
        if (!atomic_compare_exchange_weak_explicit(&hint_cursor, &cur, cur - span,
                                                   memory_order_relaxed, memory_order_relaxed))
            continue;
        int err = map_at(cur - span, size, prot);
        if (!err) {
            *base = cur - span;
            return HM_OK;
        }
        if (err != EEXIST)
            return status_of(err);
        break;
    }
    int st = map_trimmed(size, prot, base);
    if (st == HM_OK)
        atomic_store_explicit(&hint_cursor, *base, memory_order_relaxed);
    return st;
}

/* The stack's growth band below a [stack] mapping starting at s: it may grow down by
 * RLIMIT_STACK (at least 128 MiB is kept, as the kernel's mmap_base does), plus the 1 MiB
 * stack guard gap. */
static uintptr_t stack_band(void)
{
    uint64_t rl = hm_os_rlimit_stack();
    uint64_t keep = (rl == UINT64_MAX || rl < ((uint64_t)128 << 20) ? (uint64_t)128 << 20 : rl);
    return (uintptr_t)(keep + ((uint64_t)1 << 20));
}

/* Best (highest) 64 KiB-aligned base for `size` in the gap [lo, hi). */
static void consider_gap(uintptr_t lo, uintptr_t hi, size_t size, uintptr_t *best)
{
    if (lo < HM_MIN_ADDR)
        lo = HM_MIN_ADDR;
    if (hi > HM_MAX_ADDR + 1)
        hi = HM_MAX_ADDR + 1;
    if (hi <= lo || hi - lo < size)
        return;
    uintptr_t cand = HM_ALIGN_DOWN(hi - size, HM_GRANULE);
    if (cand >= lo && cand > *best)
        *best = cand;
}

/* Highest 64 KiB-aligned base for `size` in a gap of /proc/self/maps (the main stack's
 * growth band excluded). */
static int topdown_candidate(size_t size, uintptr_t *out)
{
    char *buf;
    size_t len;
    int err = hm_os.read_file(HM_SITE_TOPDOWN_MAPS, "/proc/self/maps", &buf, &len);
    if (err)
        return HM_E_NO_MEMORY;
    uintptr_t prev_end = HM_MIN_ADDR, best = 0, band = stack_band();
    for (char *line = buf; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        char *dash = strchr(line, '-');
        uintptr_t s = (uintptr_t)strtoull(line, NULL, 16);
        uintptr_t e = dash ? (uintptr_t)strtoull(dash + 1, NULL, 16) : s;
        uintptr_t gap_end = s;
        if (strstr(line, "[stack]"))
            gap_end = s > band ? s - band : 0;
        consider_gap(prev_end, gap_end, size, &best);
        if (e > prev_end)
            prev_end = e;
        line = nl ? nl + 1 : NULL;
    }
    consider_gap(prev_end, HM_MAX_ADDR + 1, size, &best);
    free(buf);
    if (!best)
        return HM_E_NO_MEMORY;
    *out = best;
    return HM_OK;
}

static int map_top_down(size_t size, unsigned prot, uintptr_t *base)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        uintptr_t cand = 0;
        int st = topdown_candidate(size, &cand);
        if (st != HM_OK)
            return st;
        int err = map_at(cand, size, prot);
        if (!err) {
            *base = cand;
            return HM_OK;
        }
        if (err != EEXIST)
            return status_of(err);
    }
    return HM_E_NO_MEMORY;
}

/* Where a reservation with requirements may go: bases in [lo, end - size], multiples of
 * align. */
typedef struct bounds {
    uintptr_t lo, end;
    size_t align;
} bounds_t;

/* The lowest (top_down: highest) base for size in the hole [lo, hi) within the bounds. */
static bool fit_hole(uintptr_t lo, uintptr_t hi, size_t size, const bounds_t *b, bool top_down,
                     uintptr_t *cand)
{
    if (lo < b->lo)
        lo = b->lo;
    if (hi > b->end)
        hi = b->end;
    if (hi <= lo || hi - lo < size)
        return false;
    uintptr_t c = top_down ? HM_ALIGN_DOWN(hi - size, b->align) : HM_ALIGN_UP(lo, b->align);
    if (c < lo || c > hi - size)
        return false;
    *cand = c;
    return true;
}

/* A base for size within the bounds, from the holes of /proc/self/maps (the main stack's
 * growth band counts as taken): HM_OK, or HM_E_NO_MEMORY if none fits or the map cannot
 * be read. */
static int bounded_candidate(size_t size, const bounds_t *b, bool top_down, uintptr_t *out)
{
    hm_maps_t m;
    if (hm_maps_read(HM_SITE_PLACE_MAPS, "/proc/self/maps", &m) != 0)
        return HM_E_NO_MEMORY;
    uintptr_t prev_end = 0, band = stack_band(), cand;
    bool found = false;
    for (size_t i = 0; i <= m.n && !(found && !top_down); i++) {
        uintptr_t hole_end = i < m.n ? m.v[i].s : HM_MAX_ADDR + 1;
        if (i < m.n && !strcmp(m.v[i].name, "[stack]"))
            hole_end = hole_end > band ? hole_end - band : 0;
        if (hole_end > prev_end && fit_hole(prev_end, hole_end, size, b, top_down, &cand)) {
            *out = cand;
            found = true;
        }
        if (i < m.n && m.v[i].e > prev_end)
            prev_end = m.v[i].e;
    }
    hm_maps_free(&m);
    return found ? HM_OK : HM_E_NO_MEMORY;
}

static int map_bounded(size_t size, unsigned prot, bool top_down, const hm_vm_limits_t *l,
                       uintptr_t *base)
{
    bounds_t b = {l->lowest > HM_MIN_ADDR ? l->lowest : HM_MIN_ADDR,
                  l->highest ? l->highest + 1 : HM_MAX_ADDR + 1,
                  l->align > HM_GRANULE ? l->align : HM_GRANULE};
    for (int attempt = 0; attempt < 8; attempt++) {
        uintptr_t cand = 0;
        int st = bounded_candidate(size, &b, top_down, &cand);
        if (st != HM_OK)
            return st;
        void *p;
        int err = hm_os.map(HM_SITE_PLACE_MAP, (void *)cand, size, prot, HM_OS_MAP_NOREPLACE, &p);
        if (!err) {
            *base = cand;
            return HM_OK;
        }
        if (err != EEXIST)
            return status_of(err);
    }
    return HM_E_NO_MEMORY;
}

int hm_place_map(uintptr_t addr, size_t size, unsigned os_prot, bool top_down,
                 const hm_vm_limits_t *limits, uintptr_t *base)
{
    if (limits)
        return map_bounded(size, os_prot, top_down, limits, base);
    if (addr) {
        int err = map_at(addr, size, os_prot);
        if (err)
            return status_of(err);
        *base = addr;
        return HM_OK;
    }
    return top_down ? map_top_down(size, os_prot, base) : map_anywhere(size, os_prot, base);
}

void hm_place_released(uintptr_t base, size_t size)
{
    uintptr_t cur = base;
    atomic_compare_exchange_strong_explicit(&hint_cursor, &cur, base + HM_ALIGN_UP(size, HM_GRANULE),
                                            memory_order_relaxed, memory_order_relaxed);
}
