/*
 * heap.c — the small-block heap behind IHostMalloc: creation, destruction, statistics and
 * the fast paths of Alloc and Free. All memory comes from the heap's chunk source; the
 * heap's own metadata (struct, map tables, tlhs) from calloc.
 *
 * A block of at most HEAP_SMALL_MAX bytes comes from a slab of its size class owned by the
 * calling thread's tlh (heap_slab.c); a larger one gets its own chunk (heap_chunk.c). Free
 * checks, in order and touching nothing outside this heap's chunks and metadata: the map
 * entry of p's granule, that p starts a block of that slab (or is the large block), and
 * the slab's live and pending bits. A block freed by a thread other than its slab's
 * owner is claimed with one fetch_or on its pending bit and pushed to the owner
 * (heap_thread.c), so the owner's fast paths need no atomic read-modify-write.
 * Invariant: stats are exact while no call is in progress: live_blocks == blocks returned
 * by alloc and not yet freed, chunk_bytes == bytes got from the source and not put back.
 * Two frees of one small block racing on different threads (or racing with the release
 * of its slab) are the caller's data race, as with free(); frees ordered by the caller,
 * and racing frees of one large block, are always told apart.
 * Locking: heap_internal.h (per field). The fast paths take no lock and make no atomic
 * read-modify-write; h->lock is taken when a chunk comes or goes, by stats, when a thread
 * attaches or parks, and to drain a parked tlh. Lock order: registry_lock (heap_thread.c)
 * -> h->lock; the source's get is called with no lock held.
 */
#include <errno.h>
#include <stdlib.h>

#include "host/heap_internal.h"

static _Atomic uint64_t next_heap_id;
static pthread_once_t classes_once = PTHREAD_ONCE_INIT;

int hm_heap_create(const hm_heap_source_t *src, bool threadsafe, hm_heap_t **out)
{
    hm_assert(src && src->get && src->put && out);
    *out = NULL;
    pthread_once(&classes_once, hm_heap_classes_init);
    if (threadsafe && hm_heap_thread_init() != 0)
        return ENOMEM;
    hm_heap_t *h = calloc(1, sizeof *h);
    if (!h)
        return ENOMEM;
    if (pthread_mutex_init(&h->lock, NULL) != 0) {
        free(h);
        return ENOMEM;
    }
    h->src = *src;
    h->threadsafe = threadsafe;
    h->id = atomic_fetch_add(&next_heap_id, 1) + 1;
    h->single.h = h;
    *out = h;
    return 0;
}

void hm_heap_destroy(hm_heap_t *h)
{
    if (!h)
        return;
    if (h->threadsafe)
        hm_heap_tlhs_destroy(h);
    for (heap_chunk_t *c = h->chunks, *next; c; c = next) {
        next = c->next;
        h->src.put(h->src.ctx, c, c->size);
    }
    hm_heap_map_free(h);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

int hm_heap_alloc(hm_heap_t *h, size_t size, int level, void **out)
{
    if (size > HEAP_SMALL_MAX)
        return hm_heap_large_alloc(h, size, level, out);
    hm_tlh_t *t = heap_tlh(h);
    unsigned cls = hm_heap_class_of[(size + HEAP_ALIGN - 1) / HEAP_ALIGN];
    heap_slab_t *s = t ? t->cur[cls] : NULL;
    heap_block_t *b = s ? s->free : NULL;
    if (!b)
        return hm_heap_small_alloc(h, t, cls, level, out);
    s->free = b->next;
    heap_live_set(s, heap_block_index(s, b));
    *out = b;
    return HM_OK;
}

/* p is block i of s, which another thread's tlh owns (or this thread has no tlh). */
static int free_remote(hm_heap_t *h, heap_slab_t *s, uint32_t i, void *p)
{
    uint64_t bit = heap_bit(i);
    _Atomic uint64_t *pending = heap_pending_word(s, i);
    if (atomic_fetch_or(pending, bit) & bit)
        return HM_E_INVALID_PARAMETER; /* already freed, not yet drained */
    /* claim first, then check: a drain clears live before pending (heap_slab.c) */
    if (!(atomic_load_explicit(heap_live_word(s, i), memory_order_relaxed) & bit)) {
        atomic_fetch_and(pending, ~bit);
        return HM_E_INVALID_PARAMETER;
    }
    hm_heap_remote_push(h, s->owner, p);
    return HM_OK;
}

/* Owner, after a block went back to s: list or release s, drain other threads' frees. */
static __attribute__((noinline)) void free_tidy(hm_heap_t *h, hm_tlh_t *t, heap_slab_t *s)
{
    heap_slab_t *rel = NULL;
    if (!s->is_cur)
        hm_heap_slab_settle(t, s, &rel);
    if (atomic_load_explicit(&t->remote, memory_order_relaxed))
        hm_heap_drain(t, &rel);
    hm_heap_slabs_release(h, rel);
}

static inline int free_owned(hm_heap_t *h, hm_tlh_t *t, heap_slab_t *s, uint32_t i, void *p)
{
    uint64_t bit = heap_bit(i);
    _Atomic uint64_t *lw = heap_live_word(s, i);
    uint64_t live = atomic_load_explicit(lw, memory_order_relaxed);
    uint64_t pending = atomic_load_explicit(heap_pending_word(s, i), memory_order_relaxed);
    if (!(live & bit) || (pending & bit))
        return HM_E_INVALID_PARAMETER;
    atomic_store_explicit(lw, live & ~bit, memory_order_relaxed);
    heap_slab_push(s, p);
    if (!s->is_cur || atomic_load_explicit(&t->remote, memory_order_relaxed))
        free_tidy(h, t, s);
    return HM_OK;
}

/* s is not owned by the tlh this thread used last: maybe by another of its tlhs. */
static __attribute__((noinline)) int free_other(hm_heap_t *h, heap_slab_t *s, uint32_t i,
                                                void *p)
{
    hm_tlh_t *t = hm_heap_tlh_find(h);
    if (t && s->owner == t)
        return free_owned(h, t, s, i, p);
    return free_remote(h, s, i, p);
}

static int free_small(hm_heap_t *h, heap_slab_t *s, void *p)
{
    uint32_t i = heap_slab_index(s, p);
    if (i == UINT32_MAX)
        return HM_E_INVALID_PARAMETER;
    hm_tlh_t *t = heap_tlh(h);
    if (s->owner != t)
        return free_other(h, s, i, p);
    return free_owned(h, t, s, i, p);
}

int hm_heap_free(hm_heap_t *h, void *p)
{
    uintptr_t base = (uintptr_t)p & ~(uintptr_t)(HEAP_SLAB - 1);
    switch (heap_map_get(h, base)) {
    case CHUNK_SLAB:
        return free_small(h, (heap_slab_t *)base, p);
    case CHUNK_LARGE:
        return hm_heap_large_free(h, base, p);
    default:
        return HM_E_INVALID_PARAMETER;
    }
}

size_t hm_heap_usable_size(hm_heap_t *h, void *p)
{
    uintptr_t base = (uintptr_t)p & ~(uintptr_t)(HEAP_SLAB - 1);
    int kind = heap_map_get(h, base);
    if (kind == CHUNK_LARGE && (uintptr_t)p == base + HEAP_LARGE_HDR)
        return ((heap_chunk_t *)base)->size - HEAP_LARGE_HDR;
    if (kind != CHUNK_SLAB)
        return 0;
    heap_slab_t *s = (heap_slab_t *)base;
    uint32_t i = heap_slab_index(s, p);
    return i != UINT32_MAX && heap_is_live(s, i) ? s->bsize : 0;
}

void hm_heap_stats(hm_heap_t *h, hm_heap_stats_t *out)
{
    *out = (hm_heap_stats_t){0, 0, 0};
    heap_lock(h);
    out->chunk_bytes = h->chunk_bytes;
    for (heap_chunk_t *c = h->chunks; c; c = c->next) {
        if (c->kind == CHUNK_LARGE) {
            out->live_blocks++;
            out->live_bytes += c->size - HEAP_LARGE_HDR;
        } else {
            size_t n = heap_slab_count((heap_slab_t *)c, true);
            out->live_blocks += n;
            out->live_bytes += n * ((heap_slab_t *)c)->bsize;
        }
    }
    heap_unlock(h);
}
