/*
 * heap_slab.c — size classes and slabs: the layout of each class, carving blocks out of a
 * slab, a tlh's current and partial slabs, draining the blocks other threads freed, and
 * giving empty slabs back to the source.
 *
 * Classes: 16..128 by 16, then four per doubling up to 1 KiB, then "n blocks fill a slab"
 * sizes (n = 56 .. 2), so a slab of a class above 1 KiB leaves under 16 bytes per block
 * unused. A slab hands out blocks in address order from `bump` (a page at a time)
 * before it reuses freed ones.
 * Invariant, per tlh t and class c, while t's owner is between calls: a slab of t that is
 * not t->cur[c] has n_used == popcount(live bits) > 0, and it is on t->partial[c] iff it
 * has space (free != NULL or bump < n_blocks); for every slab, popcount(live bits) == bump
 * - length of the free list, and every pending bit is also a live bit (except for the
 * instant a remote free claims a bit it then finds not live and gives back).
 * Calls: the source's get (never with a lock held) and put (never with h->lock held).
 * Locking: everything here runs as the owner of the tlh (see heap_internal.h); h->lock
 * only around registering and unregistering chunks.
 */
#include <string.h>

#include "host/heap_internal.h"

static const uint16_t small_sizes[] = {16,  32,  48,  64,  80,  96,  112, 128, 160, 192,
                                      224, 256, 320, 384, 448, 512, 640, 768, 896, 1024};
static const uint8_t fit_counts[] = {56, 48, 40, 32, 27, 23, 20, 16, 13,
                                     11, 9,  8,  7,  6,  5,  4,  3,  2};
_Static_assert(sizeof small_sizes / sizeof small_sizes[0] + sizeof fit_counts == HEAP_N_CLASSES,
               "class count");

heap_class_t hm_heap_classes[HEAP_N_CLASSES];
uint8_t hm_heap_class_of[HEAP_SMALL_MAX / HEAP_ALIGN + 1];

/* The most blocks of `bsize` that fit after a header with their two bitmaps. */
static heap_class_t class_layout(uint32_t bsize)
{
    uint32_t n = (uint32_t)((HEAP_SLAB - sizeof(heap_slab_t)) / bsize), nw, first;
    for (;; n--) {
        nw = (n + 63) / 64;
        first = (uint32_t)HM_ALIGN_UP(sizeof(heap_slab_t) + 2 * nw * sizeof(uint64_t),
                                      HEAP_ALIGN);
        if (first + (size_t)n * bsize <= HEAP_SLAB)
            break;
    }
    /* ceil(2^32 / bsize): (off * recip) >> 32 == off / bsize for every off < 2^16. */
    uint32_t recip = (uint32_t)((((uint64_t)1 << 32) + bsize - 1) / bsize);
    return (heap_class_t){bsize, n, first, recip, nw};
}

void hm_heap_classes_init(void)
{
    size_t n_pow2 = sizeof small_sizes / sizeof small_sizes[0];
    for (size_t c = 0; c < HEAP_N_CLASSES; c++) {
        uint32_t bsize = c < n_pow2 ? small_sizes[c] : HEAP_FIT(fit_counts[c - n_pow2]);
        hm_heap_classes[c] = class_layout(bsize);
    }
    unsigned c = 0;
    for (size_t k = 0; k < sizeof hm_heap_class_of; k++) {
        while (hm_heap_classes[c].bsize < k * HEAP_ALIGN)
            c++;
        hm_heap_class_of[k] = (uint8_t)c;
    }
    hm_assert(hm_heap_classes[HEAP_N_CLASSES - 1].bsize == HEAP_SMALL_MAX);
}

static void slab_init(heap_slab_t *s, hm_tlh_t *t, unsigned cls)
{
    const heap_class_t *k = &hm_heap_classes[cls];
    memset(s, 0, k->first); /* header and both bitmaps */
    s->c.size = HEAP_SLAB;
    s->c.kind = CHUNK_SLAB;
    s->owner = t;
    s->bsize = k->bsize;
    s->n_blocks = k->n_blocks;
    s->first = k->first;
    s->limit = k->n_blocks * k->bsize;
    s->recip = k->recip;
    s->nw = k->nw;
    s->cls = cls;
}

static int slab_new(hm_heap_t *h, hm_tlh_t *t, unsigned cls, int level, heap_slab_t **out)
{
    void *base;
    int st = hm_heap_chunk_get(h, HEAP_SLAB, level, &base);
    if (st != HM_OK)
        return st;
    heap_slab_t *s = base;
    slab_init(s, t, cls);
    heap_lock(h);
    st = hm_heap_chunk_register(h, &s->c);
    heap_unlock(h);
    if (st != HM_OK) {
        h->src.put(h->src.ctx, base, HEAP_SLAB);
        return st;
    }
    *out = s;
    return HM_OK;
}

/* Makes s->free non-empty if s has space at all; false if s is full. */
static bool slab_refill(heap_slab_t *s)
{
    if (s->free)
        return true;
    if (s->bump == s->n_blocks)
        return false;
    uint32_t end = s->bump + (uint32_t)(HM_PAGE_SIZE / s->bsize) + 1;
    if (end > s->n_blocks)
        end = s->n_blocks;
    char *blocks = (char *)s + s->first;
    for (uint32_t i = end; i-- > s->bump;)
        heap_slab_push(s, blocks + (size_t)i * s->bsize);
    s->bump = end;
    return true;
}

static bool slab_has_space(const heap_slab_t *s)
{
    return s->free || s->bump < s->n_blocks;
}

static void partial_push(hm_tlh_t *t, heap_slab_t *s)
{
    heap_slab_t **head = &t->partial[s->cls];
    s->lprev = NULL;
    s->lnext = *head;
    if (*head)
        (*head)->lprev = s;
    *head = s;
}

static void partial_unlink(hm_tlh_t *t, heap_slab_t *s)
{
    if (s->lprev)
        s->lprev->lnext = s->lnext;
    else
        t->partial[s->cls] = s->lnext;
    if (s->lnext)
        s->lnext->lprev = s->lprev;
}

static void release_push(heap_slab_t **rel, heap_slab_t *s)
{
    s->lnext = *rel;
    *rel = s;
}

/* Makes the next slab of class cls current: a partial one, else a new one. The old
 * current slab is full and so leaves every list until a block of it is freed. */
static int slab_next(hm_heap_t *h, hm_tlh_t *t, unsigned cls, int level, heap_slab_t **out)
{
    heap_slab_t *s = t->partial[cls];
    if (s) {
        partial_unlink(t, s);
    } else {
        int st = slab_new(h, t, cls, level, &s);
        if (st != HM_OK)
            return st;
    }
    if (t->cur[cls]) {
        t->cur[cls]->n_used = t->cur[cls]->n_blocks;
        t->cur[cls]->is_cur = false;
    }
    t->cur[cls] = s;
    s->is_cur = true;
    slab_refill(s);
    *out = s;
    return HM_OK;
}

int hm_heap_small_alloc(hm_heap_t *h, hm_tlh_t *t, unsigned cls, int level, void **out)
{
    *out = NULL;
    if (!t && !(t = hm_heap_tlh_find(h)) && !(t = hm_heap_tlh_attach(h)))
        return HM_E_NO_MEMORY;
    if (atomic_load_explicit(&t->remote, memory_order_relaxed)) {
        heap_slab_t *rel = NULL;
        hm_heap_drain(t, &rel);
        hm_heap_slabs_release(h, rel);
    }
    heap_slab_t *s = t->cur[cls];
    if (!s || !slab_refill(s)) {
        int st = slab_next(h, t, cls, level, &s);
        if (st != HM_OK)
            return st;
    }
    heap_block_t *b = s->free;
    s->free = b->next;
    heap_live_set(s, heap_block_index(s, b));
    *out = b;
    return HM_OK;
}

/* After a block went back to s, which is not current: list it, or release it if empty. */
void hm_heap_slab_settle(hm_tlh_t *t, heap_slab_t *s, heap_slab_t **rel)
{
    bool had_space = s->free->next || s->bump < s->n_blocks;
    if (--s->n_used == 0) {
        if (had_space)
            partial_unlink(t, s);
        release_push(rel, s);
    } else if (!had_space) {
        partial_push(t, s);
    }
}

/* Takes back every block other threads pushed onto t->remote (their pending bits). */
void hm_heap_drain(hm_tlh_t *t, heap_slab_t **rel)
{
    heap_block_t *b = atomic_exchange(&t->remote, NULL); /* seq_cst: see tlh_park */
    while (b) {
        heap_block_t *next = b->next;
        heap_slab_t *s = heap_slab_of(b);
        uint32_t i = heap_slab_index(s, b);
        /* live first: a remote free that claims the pending bit next must see it clear */
        heap_live_clear(s, i);
        atomic_fetch_and_explicit(heap_pending_word(s, i), ~heap_bit(i), memory_order_release);
        heap_slab_push(s, b);
        if (!s->is_cur)
            hm_heap_slab_settle(t, s, rel);
        b = next;
    }
}

/* Parking: no slab stays current; empty ones go on *rel, others to the partial lists. */
void hm_heap_uncur(hm_tlh_t *t, heap_slab_t **rel)
{
    for (unsigned c = 0; c < HEAP_N_CLASSES; c++) {
        heap_slab_t *s = t->cur[c];
        if (!s)
            continue;
        t->cur[c] = NULL;
        s->is_cur = false;
        s->n_used = heap_slab_count(s, false);
        if (s->n_used == 0)
            release_push(rel, s);
        else if (slab_has_space(s))
            partial_push(t, s);
    }
}

/* h->lock held. */
void hm_heap_slabs_unregister(hm_heap_t *h, heap_slab_t *rel)
{
    for (heap_slab_t *s = rel; s; s = s->lnext)
        hm_heap_chunk_unregister(h, &s->c);
}

/* h->lock not held; the slabs are unregistered. */
void hm_heap_slabs_put(hm_heap_t *h, heap_slab_t *rel)
{
    while (rel) {
        heap_slab_t *next = rel->lnext;
        h->src.put(h->src.ctx, rel, HEAP_SLAB);
        rel = next;
    }
}

void hm_heap_slabs_release(hm_heap_t *h, heap_slab_t *rel)
{
    if (!rel)
        return;
    heap_lock(h);
    hm_heap_slabs_unregister(h, rel);
    heap_unlock(h);
    hm_heap_slabs_put(h, rel);
}
