/*
 * heap.h — the small-block heap behind IHostMalloc: memory comes only from a chunk source
 * (the runtime's budgeted VirtualAlloc), never from malloc.
 *
 * Blocks are 16-byte aligned; size 0 gives a unique minimal block. A threadsafe heap may
 * be called from any thread at once (a block may be freed on another thread than the one
 * that allocated it); otherwise the caller serializes every call. hm_heap_destroy must
 * not race any other call on the heap. Design and invariants: heap_internal.h.
 */
#ifndef HM_HOST_HEAP_H
#define HM_HOST_HEAP_H

#include <stdbool.h>
#include <stddef.h>

typedef struct hm_heap hm_heap_t;
typedef struct hm_heap_source {
    /* Returns 0 and *out = `size` bytes (a multiple of 64 KiB, 64 KiB-aligned) of committed
     * read-write memory (read-write-execute for executable heaps), zero-filled; or a nonzero
     * hm status (e.g. over budget) that the heap passes back unchanged. `level` is an opaque
     * int passed through from hm_heap_alloc (the caller's critical level). May block. */
    int (*get)(void *ctx, size_t size, int level, void **out);
    /* Gives back memory obtained from get (same base and size). Never fails. */
    void (*put)(void *ctx, void *base, size_t size);
    void *ctx;
} hm_heap_source_t;

/* 0 or ENOMEM */
int hm_heap_create(const hm_heap_source_t *src, bool threadsafe, hm_heap_t **out);
void hm_heap_destroy(hm_heap_t *h);            /* puts every chunk back; h is freed */
/* 0, or the source's status, or HM_E_NO_MEMORY for size overflow (or no memory for the
 * heap's own metadata); *out = NULL on failure. */
int hm_heap_alloc(hm_heap_t *h, size_t size, int level, void **out);
/* 0; HM_E_INVALID_PARAMETER if p is not a live block of this heap (foreign pointer,
 * interior pointer, double free) — detected without touching memory outside this heap's
 * chunks, and then nothing changes. */
int hm_heap_free(hm_heap_t *h, void *p);
size_t hm_heap_usable_size(hm_heap_t *h, void *p); /* 0 if not a live block */
/* live_bytes counts usable sizes; exact while no call is in progress. */
typedef struct hm_heap_stats {
    size_t chunk_bytes, live_bytes, live_blocks;
} hm_heap_stats_t;
void hm_heap_stats(hm_heap_t *h, hm_heap_stats_t *out);

#endif
