/*
 * heap_thread.c — which tlh a thread uses for a threadsafe heap: attached on the thread's
 * first allocation from the heap, parked when the thread exits (the next new thread takes
 * it over, slabs and all), freed when the heap is destroyed; and the lock-free path by
 * which one thread frees a block into another thread's tlh.
 *
 * Invariant: every tlh of h is on h->tlhs until hm_heap_destroy, and is either attached
 * (tld != NULL, on that thread's owned list exactly once, idle == 0) or parked (tld ==
 * NULL, on h->idle, idle == 1, no current slab, no empty slab once the drain that parked
 * it or followed a remote push has run). A thread's slots and `last` name a tlh attached
 * to that thread, or an id no live heap has (ids are never reused).
 * Calls: the source's put (through heap_slab.c), never under h->lock; when parking, under
 * registry_lock, which keeps the heap from being destroyed meanwhile.
 * Locking: registry_lock (process-wide) guards every thread's owned list and each tlh's
 * tld/thread links; order registry_lock -> h->lock. A parked tlh belongs to whoever holds
 * h->lock. `remote` is a push-only Treiber stack drained whole by exchange, so it has no
 * ABA; parking (store idle, then drain) and a remote free (push, then load idle) are both
 * seq_cst, so either the parker's drain or the freer sees the other.
 */
#include <stdlib.h>
#include <string.h>

#include "host/heap_internal.h"

static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;
static pthread_key_t exit_key;
static int key_err;

_Thread_local heap_tld_t hm_heap_tl __attribute__((tls_model("initial-exec")));

static void tld_link(heap_tld_t *d, hm_tlh_t *t)
{
    t->tld = d;
    t->thread_next = d->owned;
    if (d->owned)
        d->owned->thread_pprev = &t->thread_next;
    t->thread_pprev = &d->owned;
    d->owned = t;
}

static void tld_unlink(hm_tlh_t *t)
{
    *t->thread_pprev = t->thread_next;
    if (t->thread_next)
        t->thread_next->thread_pprev = t->thread_pprev;
    t->tld = NULL;
    t->thread_next = NULL;
    t->thread_pprev = NULL;
}

/* registry_lock held, so h outlives the puts. */
static void tlh_park(hm_tlh_t *t)
{
    hm_heap_t *h = t->h;
    heap_slab_t *rel = NULL;
    heap_lock(h);
    atomic_store(&t->idle, 1);
    hm_heap_uncur(t, &rel);
    hm_heap_drain(t, &rel);
    t->idle_next = h->idle;
    h->idle = t;
    hm_heap_slabs_unregister(h, rel);
    heap_unlock(h);
    hm_heap_slabs_put(h, rel);
}

static void thread_exit(void *arg)
{
    heap_tld_t *d = arg;
    pthread_mutex_lock(&registry_lock);
    for (hm_tlh_t *t; (t = d->owned) != NULL;) {
        tld_unlink(t);
        tlh_park(t);
    }
    pthread_mutex_unlock(&registry_lock);
    memset(d, 0, sizeof *d);
}

static void key_create(void)
{
    key_err = pthread_key_create(&exit_key, thread_exit);
}

int hm_heap_thread_init(void)
{
    pthread_once(&key_once, key_create);
    return key_err;
}

/* registry_lock held: a parked tlh, else a new one. */
static hm_tlh_t *tlh_take(hm_heap_t *h)
{
    heap_lock(h);
    hm_tlh_t *t = h->idle;
    if (t) {
        h->idle = t->idle_next;
        t->idle_next = NULL;
        atomic_store(&t->idle, 0);
    } else if ((t = calloc(1, sizeof *t)) != NULL) {
        t->h = h;
        t->heap_next = h->tlhs;
        h->tlhs = t;
    }
    heap_unlock(h);
    return t;
}

/* The slot lookup behind heap_tlh: the calling thread's tlh for h, or NULL. */
hm_tlh_t *hm_heap_tlh_find(hm_heap_t *h)
{
    heap_tld_t *d = &hm_heap_tl;
    unsigned k = (unsigned)h->id & (HEAP_TL_SLOTS - 1);
    if (d->slot[k].id != h->id)
        return NULL;
    d->last_id = h->id;
    d->last = d->slot[k].t;
    return d->last;
}

/* The calling thread's tlh for h (found again after its slot was reused, else taken). */
hm_tlh_t *hm_heap_tlh_attach(hm_heap_t *h)
{
    heap_tld_t *d = &hm_heap_tl;
    if (!d->registered) {
        if (pthread_setspecific(exit_key, d) != 0)
            return NULL;
        d->registered = true;
    }
    pthread_mutex_lock(&registry_lock);
    hm_tlh_t *t = d->owned;
    while (t && t->h != h)
        t = t->thread_next;
    if (!t && (t = tlh_take(h)) != NULL)
        tld_link(d, t);
    pthread_mutex_unlock(&registry_lock);
    if (t) {
        unsigned k = (unsigned)h->id & (HEAP_TL_SLOTS - 1);
        d->slot[k].id = d->last_id = h->id;
        d->slot[k].t = d->last = t;
    }
    return t;
}

/* Drains a parked tlh on behalf of its absent owner. */
static void drain_parked(hm_heap_t *h, hm_tlh_t *t)
{
    heap_slab_t *rel = NULL;
    heap_lock(h);
    if (atomic_load(&t->idle)) {
        hm_heap_drain(t, &rel);
        hm_heap_slabs_unregister(h, rel);
    }
    heap_unlock(h);
    hm_heap_slabs_put(h, rel);
}

/* b's pending bit is ours: hand b to its owner. */
void hm_heap_remote_push(hm_heap_t *h, hm_tlh_t *owner, heap_block_t *b)
{
    heap_block_t *head = atomic_load_explicit(&owner->remote, memory_order_relaxed);
    do
        b->next = head;
    while (!atomic_compare_exchange_weak(&owner->remote, &head, b));
    if (atomic_load(&owner->idle))
        drain_parked(h, owner);
}

/* hm_heap_destroy: detach h's tlhs from their threads, then free them. */
void hm_heap_tlhs_destroy(hm_heap_t *h)
{
    pthread_mutex_lock(&registry_lock);
    for (hm_tlh_t *t = h->tlhs; t; t = t->heap_next)
        if (t->tld)
            tld_unlink(t);
    pthread_mutex_unlock(&registry_lock);
    while (h->tlhs) {
        hm_tlh_t *t = h->tlhs;
        h->tlhs = t->heap_next;
        free(t);
    }
}
