/*
 * runs.c — run-list operations (see runs.h for the invariant).
 *
 * Growth: hm_runs_reserve() before any syscall, so hm_runs_update() never allocates and a
 * failed allocation changes nothing. The guard-fault path grows with hm_os.map instead of
 * calloc because it runs in a signal handler. Caller holds the reservation lock.
 */
#include "vm/runs.h"

#include <string.h>

#include <stdatomic.h>

#include "common.h"

/* Heap arrays replaced in the signal path cannot be free()d there: they are pushed on this
 * lock-free list (the array itself holds the link) and freed by the next growth outside
 * the signal path. */
static _Atomic(void *) retired;

static void retire(void *array)
{
    void *head = atomic_load_explicit(&retired, memory_order_relaxed);
    do
        *(void **)array = head;
    while (!atomic_compare_exchange_weak_explicit(&retired, &head, array, memory_order_release,
                                                  memory_order_relaxed));
}

static void free_retired(void)
{
    if (!atomic_load_explicit(&retired, memory_order_relaxed))
        return;
    void *p = atomic_exchange_explicit(&retired, NULL, memory_order_acquire);
    while (p) {
        void *next = *(void **)p;
        hm_os_free(p);
        p = next;
    }
}

void hm_runs_init(hm_runs_t *r, uint32_t val)
{
    memset(r, 0, sizeof *r);
    r->v = r->inline_v;
    r->cap = HM_RUNS_INLINE;
    r->n = 1;
    r->v[0].start = 0;
    r->v[0].val = val;
}

static void release_storage(hm_runs_t *r)
{
    if (r->storage == 1)
        hm_os_free(r->v);
    else if (r->storage == 2)
        (void)hm_os_default.unmap(HM_SITE_GUARD_RUNS, r->v, r->cap * sizeof(hm_run_t));
}

void hm_runs_destroy(hm_runs_t *r)
{
    release_storage(r);
    r->v = r->inline_v;
    r->storage = 0;
    r->n = 0;
    r->cap = HM_RUNS_INLINE;
}

uint32_t hm_runs_find(const hm_runs_t *r, uint64_t page)
{
    uint32_t lo = 0, hi = r->n; /* answer in [lo, hi) */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (r->v[mid].start <= page)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

uint64_t hm_runs_end(const hm_runs_t *r, uint32_t i, uint64_t npages)
{
    return i + 1 < r->n ? r->v[i + 1].start : npages;
}

static void adopt(hm_runs_t *r, hm_run_t *nv, uint32_t cap, unsigned storage)
{
    memcpy(nv, r->v, r->n * sizeof *nv);
    if (storage == 2 && r->storage == 1)
        retire(r->v); /* signal path: no free() here */
    else
        release_storage(r);
    r->v = nv;
    r->cap = cap & ((1u << 30) - 1);
    r->storage = storage & 3u;
}

int hm_runs_reserve(hm_runs_t *r, uint32_t extra)
{
    free_retired();
    if (r->n + extra <= r->cap)
        return 0;
    uint32_t cap = r->cap * 2;
    while (cap < r->n + extra)
        cap *= 2;
    void *nv;
    int err = hm_os.alloc(HM_SITE_RUNS_GROW, cap * sizeof(hm_run_t), &nv);
    if (err)
        return err;
    adopt(r, nv, cap, 1);
    return 0;
}

int hm_runs_reserve_signal_safe(hm_runs_t *r, uint32_t extra)
{
    if (r->n + extra <= r->cap)
        return 0;
    uint32_t cap = r->cap * 2;
    while (cap < r->n + extra)
        cap *= 2;
    size_t len = HM_ALIGN_UP(cap * sizeof(hm_run_t), HM_PAGE_SIZE);
    void *nv;
    int err = hm_os.map(HM_SITE_GUARD_RUNS, NULL, len, HM_OS_R | HM_OS_W, HM_OS_MAP_ANYWHERE, &nv);
    if (err)
        return err;
    adopt(r, nv, (uint32_t)(len / sizeof(hm_run_t)), 2);
    return 0;
}

/* Splits so that a run starts at `page` (page < npages); returns that run's index. */
static uint32_t split_at(hm_runs_t *r, uint64_t page)
{
    uint32_t i = hm_runs_find(r, page);
    if (r->v[i].start == page)
        return i;
    hm_assert(r->n < r->cap);
    memmove(&r->v[i + 2], &r->v[i + 1], (r->n - i - 1) * sizeof(hm_run_t));
    r->v[i + 1].start = page;
    r->v[i + 1].val = r->v[i].val;
    r->n++;
    return i + 1;
}

/* Removes runs in [lo, hi] equal to their predecessor. */
static void merge_window(hm_runs_t *r, uint32_t lo, uint32_t hi)
{
    if (lo == 0)
        lo = 1;
    if (hi >= r->n)
        hi = r->n - 1;
    uint32_t w = lo;
    for (uint32_t i = lo; i < r->n; i++) {
        if (i <= hi && r->v[i].val == r->v[w - 1].val)
            continue;
        r->v[w++] = r->v[i];
    }
    r->n = w;
}

void hm_runs_update(hm_runs_t *r, uint64_t npages, uint64_t first, uint64_t end, uint32_t keep,
                    uint32_t set)
{
    hm_assert(first < end && end <= npages);
    uint32_t a = split_at(r, first);
    uint32_t b = end < npages ? split_at(r, end) : r->n;
    for (uint32_t i = a; i < b; i++)
        r->v[i].val = (r->v[i].val & keep) | set;
    merge_window(r, a, b);
}

uint64_t hm_runs_count(const hm_runs_t *r, uint64_t npages, uint64_t first, uint64_t end,
                       uint32_t mask, uint32_t want)
{
    uint64_t total = 0;
    for (uint32_t i = hm_runs_find(r, first); i < r->n && r->v[i].start < end; i++) {
        if ((r->v[i].val & mask) != want)
            continue;
        uint64_t s = r->v[i].start > first ? r->v[i].start : first;
        uint64_t e = hm_runs_end(r, i, npages);
        total += (e < end ? e : end) - s;
    }
    return total;
}

int hm_runs_slice(hm_runs_t *dst, const hm_runs_t *src, uint64_t first, uint64_t end,
                  hm_os_site_t site)
{
    hm_assert(first < end);
    uint32_t a = hm_runs_find(src, first), n = hm_runs_find(src, end - 1) - a + 1;
    hm_runs_init(dst, src->v[a].val);
    if (n > dst->cap) {
        void *nv;
        int err = hm_os.alloc(site, n * sizeof(hm_run_t), &nv);
        if (err)
            return err;
        dst->v = nv;
        dst->cap = n & ((1u << 30) - 1);
        dst->storage = 1;
    }
    for (uint32_t i = 0; i < n; i++) {
        dst->v[i].start = i ? src->v[a + i].start - first : 0;
        dst->v[i].val = src->v[a + i].val;
    }
    dst->n = n;
    return 0;
}

void hm_runs_truncate(hm_runs_t *r, uint64_t npages)
{
    hm_assert(npages > 0);
    r->n = hm_runs_find(r, npages - 1) + 1;
}

int hm_runs_valid(const hm_runs_t *r, uint64_t npages)
{
    if (r->n == 0 || r->n > r->cap || r->v[0].start != 0)
        return 0;
    for (uint32_t i = 1; i < r->n; i++)
        if (r->v[i].start <= r->v[i - 1].start || r->v[i].start >= npages ||
            r->v[i].val == r->v[i - 1].val)
            return 0;
    return 1;
}
