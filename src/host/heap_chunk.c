/*
 * heap_chunk.c — a heap's chunks: getting them from the source, the list every chunk is
 * on, the map that says in O(1) whether a granule is the base of one of this heap's
 * chunks (without touching that address), and large blocks, one per chunk at offset
 * HEAP_LARGE_HDR after a heap_chunk_t header.
 *
 * Invariant: map entry of granule g is c->kind iff a chunk c based at g is on h->chunks,
 * else 0 (granules inside a multi-granule chunk are 0); chunk_bytes == the sum of
 * c->size over h->chunks; every chunk lies below 2^HEAP_ADDR_BITS.
 * Calls: the source's get (no lock held) and put (after unlocking).
 * Locking: the list, chunk_bytes and map entries change under h->lock; map reads take no
 * lock (second-level tables are installed with release and freed only by destroy). A
 * large free re-checks its map entry under h->lock, so of two frees of one large block
 * exactly one succeeds.
 */
#include <stdlib.h>

#include "host/heap_internal.h"

#define ADDR_LIMIT ((uintptr_t)1 << HEAP_ADDR_BITS)

int hm_heap_chunk_get(hm_heap_t *h, size_t size, int level, void **out)
{
    void *base = NULL;
    int st = h->src.get(h->src.ctx, size, level, &base);
    if (st != HM_OK)
        return st;
    uintptr_t a = (uintptr_t)base;
    if (HM_NEVER(!base))
        return HM_E_NO_MEMORY;
    if (HM_NEVER(a & (HEAP_SLAB - 1)) || a >= ADDR_LIMIT || size > ADDR_LIMIT - a) {
        h->src.put(h->src.ctx, base, size); /* the map cannot describe it */
        return HM_E_NO_MEMORY;
    }
    *out = base;
    return HM_OK;
}

static _Atomic uint8_t *map_entry(hm_heap_t *h, uintptr_t base, bool create)
{
    _Atomic(_Atomic uint8_t *) *slot = &h->map[base >> HEAP_MAP_L1_SHIFT];
    _Atomic uint8_t *l2 = atomic_load_explicit(slot, memory_order_relaxed);
    if (!l2 && create) {
        l2 = calloc(HEAP_MAP_L2, sizeof *l2);
        if (l2)
            atomic_store_explicit(slot, l2, memory_order_release);
    }
    return l2 ? &l2[(base >> HEAP_SLAB_SHIFT) & (HEAP_MAP_L2 - 1)] : NULL;
}

/* h->lock held; c->size and c->kind set. 0 or HM_E_NO_MEMORY (then nothing changed). */
int hm_heap_chunk_register(hm_heap_t *h, heap_chunk_t *c)
{
    _Atomic uint8_t *e = map_entry(h, (uintptr_t)c, true);
    if (!e)
        return HM_E_NO_MEMORY;
    atomic_store_explicit(e, (uint8_t)c->kind, memory_order_release);
    c->prev = NULL;
    c->next = h->chunks;
    if (h->chunks)
        h->chunks->prev = c;
    h->chunks = c;
    h->chunk_bytes += c->size;
    return HM_OK;
}

/* h->lock held. */
void hm_heap_chunk_unregister(hm_heap_t *h, heap_chunk_t *c)
{
    atomic_store_explicit(map_entry(h, (uintptr_t)c, false), CHUNK_NONE, memory_order_relaxed);
    if (c->prev)
        c->prev->next = c->next;
    else
        h->chunks = c->next;
    if (c->next)
        c->next->prev = c->prev;
    h->chunk_bytes -= c->size;
}

void hm_heap_map_free(hm_heap_t *h)
{
    for (size_t i = 0; i < HEAP_MAP_L1; i++)
        free(atomic_load_explicit(&h->map[i], memory_order_relaxed));
}

int hm_heap_large_alloc(hm_heap_t *h, size_t size, int level, void **out)
{
    *out = NULL;
    if (size > ADDR_LIMIT)
        return HM_E_NO_MEMORY;
    size_t total = HM_ALIGN_UP(size + HEAP_LARGE_HDR, HEAP_SLAB);
    void *base;
    int st = hm_heap_chunk_get(h, total, level, &base);
    if (st != HM_OK)
        return st;
    heap_chunk_t *c = base;
    c->size = total;
    c->kind = CHUNK_LARGE;
    heap_lock(h);
    st = hm_heap_chunk_register(h, c);
    heap_unlock(h);
    if (st != HM_OK) {
        h->src.put(h->src.ctx, base, total);
        return st;
    }
    *out = (char *)base + HEAP_LARGE_HDR;
    return HM_OK;
}

/* base: the granule of p, which the map said is a large chunk. */
int hm_heap_large_free(hm_heap_t *h, uintptr_t base, void *p)
{
    if ((uintptr_t)p != base + HEAP_LARGE_HDR)
        return HM_E_INVALID_PARAMETER;
    heap_chunk_t *c = (heap_chunk_t *)base;
    size_t size = 0;
    heap_lock(h);
    if (heap_map_get(h, base) == CHUNK_LARGE) {
        size = c->size;
        hm_heap_chunk_unregister(h, c);
    }
    heap_unlock(h);
    if (!size)
        return HM_E_INVALID_PARAMETER;
    h->src.put(h->src.ctx, c, size);
    return HM_OK;
}
