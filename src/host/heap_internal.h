/*
 * heap_internal.h — what heap.c, heap_slab.c, heap_chunk.c and heap_thread.c share.
 *
 * Vocabulary: a "chunk" is memory from the source (64 KiB-aligned, a multiple of 64 KiB).
 * A "slab" is a one-granule chunk cut into blocks of one size class; a "large" chunk holds
 * one block at offset HEAP_LARGE_HDR. A "tlh" (thread-local heap) is the set of slabs one
 * thread allocates from; a threadsafe heap has one per thread that uses it (parked and
 * reused when the thread exits), a heap without locking has exactly one (h->single).
 *
 * Slab layout (header, then blocks from `first` on, `limit` bytes of them):
 *   [heap_slab_t | live bits (nw words) | pending bits (nw words) | pad | block 0 | ...]
 * A block is live iff its live bit is set and its pending bit is clear. Only the owner
 * (the thread its tlh is attached to, or the holder of h->lock while the tlh is parked)
 * writes live bits and the free list; another thread frees a block by claiming its pending
 * bit (fetch_or) and pushing it onto the owner's `remote` stack, which the owner drains.
 * n_used (live and pending blocks) is kept only while a slab is not its tlh's current slab,
 * so the fast paths never touch it; a slab with pending blocks is never released.
 */
#ifndef HM_HOST_HEAP_INTERNAL_H
#define HM_HOST_HEAP_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "common.h"
#include "host/heap.h"

#define HEAP_SLAB ((size_t)65536)
#define HEAP_SLAB_SHIFT 16
#define HEAP_ALIGN ((size_t)16)
#define HEAP_N_CLASSES 38
#define HEAP_LARGE_HDR ((size_t)64)
#define HEAP_TL_SLOTS 8u
/* Chunks must lie below 2^48; the map is two levels of 2^14 x 2^18 granules. */
#define HEAP_ADDR_BITS 48
#define HEAP_MAP_L1_SHIFT 34
#define HEAP_MAP_L1 ((size_t)1 << (HEAP_ADDR_BITS - HEAP_MAP_L1_SHIFT))
#define HEAP_MAP_L2 ((size_t)1 << (HEAP_MAP_L1_SHIFT - HEAP_SLAB_SHIFT))

enum { CHUNK_NONE = 0, CHUNK_SLAB = 1, CHUNK_LARGE = 2 };

typedef struct heap_block {
    struct heap_block *next;
} heap_block_t;

typedef struct heap_chunk {
    struct heap_chunk *prev, *next; /* h->chunks: under h->lock */
    size_t size;                    /* const: bytes obtained from the source */
    int kind;                       /* const: CHUNK_SLAB or CHUNK_LARGE */
} heap_chunk_t;

struct hm_tlh;

typedef struct heap_slab {
    heap_chunk_t c;                 /* first */
    /* ---- const after init ---- */
    struct hm_tlh *owner;
    uint32_t bsize, n_blocks, first, limit, recip, nw, cls;
    /* ---- owner only ---- */
    heap_block_t *free;             /* free blocks below bump */
    uint32_t bump;                  /* blocks [bump, n_blocks) never handed out yet */
    uint32_t n_used;                /* live + pending blocks; stale while current */
    bool is_cur;                    /* s == owner->cur[cls] */
    struct heap_slab *lprev, *lnext; /* owner's partial list, or a release list */
    /* ---- live[nw]: owner writes (relaxed), anyone reads; pending[nw]: fetch_or/and ---- */
    _Atomic uint64_t bits[];
} heap_slab_t;

/* A size class as every slab of it is laid out. */
typedef struct heap_class {
    uint32_t bsize, n_blocks, first, recip, nw;
} heap_class_t;

typedef struct hm_tlh {
    /* ---- owner only (attached thread; h->lock while parked) ---- */
    heap_slab_t *cur[HEAP_N_CLASSES];     /* the slab allocated from; may be empty */
    heap_slab_t *partial[HEAP_N_CLASSES]; /* other slabs with free space, none empty */
    /* ---- atomic ---- */
    _Atomic(heap_block_t *) remote; /* blocks freed by other threads: push CAS, drain xchg */
    atomic_int idle;                /* 1 while parked: h->lock holder owns it */
    /* ---- const after create ---- */
    hm_heap_t *h;
    /* ---- under h->lock ---- */
    struct hm_tlh *heap_next, *idle_next;
    /* ---- under the thread registry lock (heap_thread.c) ---- */
    struct heap_tld *tld;           /* thread attached to, NULL while parked */
    struct hm_tlh *thread_next, **thread_pprev;
} hm_tlh_t;

struct hm_heap {
    /* ---- const after create ---- */
    hm_heap_source_t src;
    bool threadsafe;
    uint64_t id;                    /* unique for the process lifetime; tl slots key on it */
    pthread_mutex_t lock;           /* taken only when threadsafe */
    /* ---- under lock ---- */
    heap_chunk_t *chunks;
    size_t chunk_bytes;
    hm_tlh_t *tlhs, *idle;
    /* ---- the one tlh of a heap without locking ---- */
    hm_tlh_t single;
    /* ---- written under lock (release), read without it ---- */
    _Atomic(_Atomic uint8_t *) map[HEAP_MAP_L1]; /* CHUNK_* per granule: chunk bases only */
};

/* Per thread: which tlh this thread uses for a heap, keyed by heap id: the last heap
 * used, then a small direct-mapped table. */
typedef struct heap_tld {
    uint64_t last_id;
    struct hm_tlh *last;
    struct {
        uint64_t id;
        hm_tlh_t *t;
    } slot[HEAP_TL_SLOTS];
    hm_tlh_t *owned;                /* under the registry lock */
    bool registered;                /* the exit destructor is armed */
} heap_tld_t;

/* Initial-exec: one fs-relative load, no __tls_get_addr (the library is linked, not
 * dlopen'ed late; the block is ~150 bytes of the static TLS surplus if it is). */
extern _Thread_local heap_tld_t hm_heap_tl __attribute__((tls_model("initial-exec")));

/* Header size of a slab of at most 64 blocks; the classes above 1 KiB are "n blocks fill
 * the slab" sizes, so the largest small block is HEAP_FIT(2). */
#define HEAP_HDR1 HM_ALIGN_UP(sizeof(heap_slab_t) + 2 * sizeof(uint64_t), HEAP_ALIGN)
#define HEAP_FIT(n) ((uint32_t)(((HEAP_SLAB - HEAP_HDR1) / (n)) & ~(HEAP_ALIGN - 1)))
#define HEAP_SMALL_MAX ((size_t)HEAP_FIT(2))

extern heap_class_t hm_heap_classes[HEAP_N_CLASSES];
/* Class of a size <= HEAP_SMALL_MAX, indexed by (size + 15) / 16. */
extern uint8_t hm_heap_class_of[HEAP_SMALL_MAX / HEAP_ALIGN + 1];

static inline void heap_lock(hm_heap_t *h)
{
    if (h->threadsafe)
        pthread_mutex_lock(&h->lock);
}

static inline void heap_unlock(hm_heap_t *h)
{
    if (h->threadsafe)
        pthread_mutex_unlock(&h->lock);
}

/* The tlh this thread last used, if it is h's (else NULL: see hm_heap_tlh_find). */
static inline hm_tlh_t *heap_tlh(hm_heap_t *h)
{
    if (!h->threadsafe)
        return &h->single;
    return hm_heap_tl.last_id == h->id ? hm_heap_tl.last : NULL;
}

/* CHUNK_* of the chunk based at granule `base`; never touches memory outside the map. */
static inline int heap_map_get(hm_heap_t *h, uintptr_t base)
{
    if (base >> HEAP_ADDR_BITS)
        return CHUNK_NONE;
    _Atomic uint8_t *l2 = atomic_load_explicit(&h->map[base >> HEAP_MAP_L1_SHIFT],
                                               memory_order_acquire);
    if (!l2)
        return CHUNK_NONE;
    size_t i = (base >> HEAP_SLAB_SHIFT) & (HEAP_MAP_L2 - 1);
    return atomic_load_explicit(&l2[i], memory_order_acquire);
}

static inline heap_slab_t *heap_slab_of(const void *p)
{
    return (heap_slab_t *)((uintptr_t)p & ~(uintptr_t)(HEAP_SLAB - 1));
}

/* Index of the block starting at p, or UINT32_MAX if no block of s starts there. */
static inline uint32_t heap_slab_index(const heap_slab_t *s, const void *p)
{
    uintptr_t off = (uintptr_t)p - (uintptr_t)s - s->first;
    if (off >= s->limit)
        return UINT32_MAX;
    uint32_t i = (uint32_t)(((uint64_t)off * s->recip) >> 32);
    return (uintptr_t)i * s->bsize == off ? i : UINT32_MAX;
}

/* Index of b, which starts a block of s. */
static inline uint32_t heap_block_index(const heap_slab_t *s, const void *b)
{
    uintptr_t off = (uintptr_t)b - (uintptr_t)s - s->first;
    return (uint32_t)(((uint64_t)off * s->recip) >> 32);
}

static inline uint64_t heap_bit(uint32_t i)
{
    return (uint64_t)1 << (i & 63);
}

static inline _Atomic uint64_t *heap_live_word(heap_slab_t *s, uint32_t i)
{
    return &s->bits[i >> 6];
}

static inline _Atomic uint64_t *heap_pending_word(heap_slab_t *s, uint32_t i)
{
    return &s->bits[s->nw + (i >> 6)];
}

static inline bool heap_is_live(heap_slab_t *s, uint32_t i)
{
    uint64_t b = heap_bit(i);
    return (atomic_load_explicit(heap_live_word(s, i), memory_order_relaxed) & b) &&
           !(atomic_load_explicit(heap_pending_word(s, i), memory_order_relaxed) & b);
}

/* Owner only: no other thread writes live words, so a relaxed load/store pair is exact. */
static inline void heap_live_set(heap_slab_t *s, uint32_t i)
{
    _Atomic uint64_t *w = heap_live_word(s, i);
    atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) | heap_bit(i),
                          memory_order_relaxed);
}

static inline void heap_live_clear(heap_slab_t *s, uint32_t i)
{
    _Atomic uint64_t *w = heap_live_word(s, i);
    atomic_store_explicit(w, atomic_load_explicit(w, memory_order_relaxed) & ~heap_bit(i),
                          memory_order_relaxed);
}

/* Owner: puts b (live bit already cleared) back on s->free. */
static inline void heap_slab_push(heap_slab_t *s, void *b)
{
    ((heap_block_t *)b)->next = s->free;
    s->free = b;
}

/* Blocks of s with a live bit (and, if not_pending, no pending bit). */
static inline uint32_t heap_slab_count(heap_slab_t *s, bool not_pending)
{
    uint32_t n = 0;
    for (uint32_t w = 0; w < s->nw; w++) {
        uint64_t live = atomic_load_explicit(&s->bits[w], memory_order_relaxed);
        if (not_pending)
            live &= ~atomic_load_explicit(&s->bits[s->nw + w], memory_order_relaxed);
        n += (uint32_t)__builtin_popcountll(live);
    }
    return n;
}

/* heap_chunk.c */
int hm_heap_chunk_get(hm_heap_t *h, size_t size, int level, void **out);
int hm_heap_chunk_register(hm_heap_t *h, heap_chunk_t *c);
void hm_heap_chunk_unregister(hm_heap_t *h, heap_chunk_t *c);
void hm_heap_map_free(hm_heap_t *h);
int hm_heap_large_alloc(hm_heap_t *h, size_t size, int level, void **out);
int hm_heap_large_free(hm_heap_t *h, uintptr_t base, void *p);

/* heap_slab.c */
void hm_heap_classes_init(void);
int hm_heap_small_alloc(hm_heap_t *h, hm_tlh_t *t, unsigned cls, int level, void **out);
void hm_heap_slab_settle(hm_tlh_t *t, heap_slab_t *s, heap_slab_t **rel);
void hm_heap_drain(hm_tlh_t *t, heap_slab_t **rel);
void hm_heap_uncur(hm_tlh_t *t, heap_slab_t **rel);
void hm_heap_slabs_unregister(hm_heap_t *h, heap_slab_t *rel);
void hm_heap_slabs_put(hm_heap_t *h, heap_slab_t *rel);
void hm_heap_slabs_release(hm_heap_t *h, heap_slab_t *rel);

/* heap_thread.c */
int hm_heap_thread_init(void);
hm_tlh_t *hm_heap_tlh_find(hm_heap_t *h);
hm_tlh_t *hm_heap_tlh_attach(hm_heap_t *h);
void hm_heap_remote_push(hm_heap_t *h, hm_tlh_t *owner, heap_block_t *b);
void hm_heap_tlhs_destroy(hm_heap_t *h);

#endif
