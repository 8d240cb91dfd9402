/*
 * record.c — the pool of reservation records and lookup-and-lock.
 *
 * Pool: chunks of 256 records, found through a static directory of 2^16 chunk pointers,
 * never freed. The free list is a Treiber stack whose head
 * packs (ABA tag << 32 | record id + 1) in one 64-bit atomic, so push/pop are lock-free and
 * two threads creating different reservations never wait for each other. A chunk holds
 * its CHUNK_SIZE records followed by their CHUNK_SIZE extensions (hm_record_ext).
 */
#include "vm/record.h"

#include <errno.h>

#include "common.h"
#include "vm/index.h"

#define CHUNK_SHIFT 8
#define CHUNK_SIZE (1u << CHUNK_SHIFT)
#define MAX_CHUNKS (1u << 16) /* 16.7 M reservations; a 512 KiB directory */

static _Atomic(hm_reservation_t *) chunks[MAX_CHUNKS];
static _Atomic uint32_t n_chunks;
static _Atomic uint64_t free_head;

static hm_reservation_t *by_id(uint32_t id)
{
    hm_reservation_t *c = atomic_load_explicit(&chunks[id >> CHUNK_SHIFT], memory_order_acquire);
    return &c[id & (CHUNK_SIZE - 1)];
}

static void push_chain(uint32_t first_id, uint32_t last_id)
{
    uint64_t head = atomic_load_explicit(&free_head, memory_order_relaxed);
    for (;;) {
        atomic_store_explicit(&by_id(last_id)->next_free, (uint32_t)head, memory_order_relaxed);
        uint64_t next = ((head >> 32) + 1) << 32 | (first_id + 1);
        if (atomic_compare_exchange_weak_explicit(&free_head, &head, next, memory_order_release,
                                                  memory_order_relaxed))
            return;
    }
}

static hm_reservation_t *pop(void)
{
    uint64_t head = atomic_load_explicit(&free_head, memory_order_acquire);
    for (;;) {
        uint32_t slot = (uint32_t)head;
        if (!slot)
            return NULL;
        hm_reservation_t *r = by_id(slot - 1);
        uint32_t nxt = atomic_load_explicit(&r->next_free, memory_order_relaxed);
        uint64_t next = ((head >> 32) + 1) << 32 | nxt;
        if (atomic_compare_exchange_weak_explicit(&free_head, &head, next, memory_order_acquire,
                                                  memory_order_acquire))
            return r;
    }
}

/* Adds a chunk; returns its first record (kept by the caller), the rest go to the list. */
static hm_reservation_t *grow(hm_os_site_t site, int *err)
{
    uint32_t c = atomic_fetch_add_explicit(&n_chunks, 1, memory_order_relaxed);
    if (c >= MAX_CHUNKS) {
        *err = ENOMEM;
        return NULL;
    }
    void *mem;
    *err = hm_os.alloc(site,
                       CHUNK_SIZE * (sizeof(hm_reservation_t) + sizeof(hm_reservation_ext_t)),
                       &mem);
    if (*err) {
        /* The chunk number stays unused; a later grow takes the next one. */
        return NULL;
    }
    hm_reservation_t *recs = mem;
    for (uint32_t i = 0; i < CHUNK_SIZE; i++) {
        pthread_mutex_init(&recs[i].lock, NULL);
        recs[i].id = (c << CHUNK_SHIFT) | i;
        hm_runs_init(&recs[i].runs, 0);
        recs[i].runs.n = 0;
    }
    atomic_store_explicit(&chunks[c], recs, memory_order_release);
    uint32_t first = c << CHUNK_SHIFT;
    for (uint32_t i = 1; i + 1 < CHUNK_SIZE; i++)
        atomic_store_explicit(&recs[i].next_free, first + i + 2, memory_order_relaxed);
    push_chain(first + 1, first + CHUNK_SIZE - 1);
    return &recs[0];
}

hm_reservation_t *hm_record_get_at(hm_os_site_t site, int *err)
{
    hm_reservation_t *r = pop();
    if (r)
        return r;
    return grow(site, err);
}

hm_reservation_t *hm_record_get(int *err)
{
    return hm_record_get_at(HM_SITE_RESERVE_RECORD, err);
}

hm_reservation_ext_t *hm_record_ext(const hm_reservation_t *r)
{
    const hm_reservation_t *chunk = r - (r->id & (CHUNK_SIZE - 1));
    return (hm_reservation_ext_t *)(void *)(chunk + CHUNK_SIZE) + (r->id & (CHUNK_SIZE - 1));
}

void hm_record_put(hm_reservation_t *r)
{
    push_chain(r->id, r->id);
}

void hm_record_for_each(void (*fn)(hm_reservation_t *r, void *ctx), void *ctx)
{
    uint32_t n = atomic_load_explicit(&n_chunks, memory_order_acquire);
    for (uint32_t c = 0; c < n && c < MAX_CHUNKS; c++) {
        hm_reservation_t *recs = atomic_load_explicit(&chunks[c], memory_order_acquire);
        for (uint32_t i = 0; recs && i < CHUNK_SIZE; i++) {
            pthread_mutex_lock(&recs[i].lock);
            if (recs[i].live)
                fn(&recs[i], ctx);
            pthread_mutex_unlock(&recs[i].lock);
        }
    }
}

hm_reservation_t *hm_record_lookup_lock(uintptr_t addr)
{
    for (;;) {
        hm_reservation_t *r = hm_index_lookup(addr >> HM_PAGE_SHIFT);
        if (!r)
            return NULL;
        pthread_mutex_lock(&r->lock);
        if (r->live && addr - r->base < r->size)
            return r;
        pthread_mutex_unlock(&r->lock);
    }
}
