/*
 * record.h — one reservation (Windows' "allocation") and how to find and lock it.
 *
 * Records are type-stable: they come from chunks that are never freed, so a reader that
 * found a record through the lock-free index may always lock it, then must check that it
 * is live and still covers the address (hm_record_lookup_lock does both).
 *
 * Locking: `lock` guards every field below it. Syscalls made under it: the ones that
 * change this reservation's pages (protect, decommit map, munmap at release, mlock,
 * madvise) — so that the kernel's view and the runs never disagree for an observer that
 * holds the lock. No other lock is ever taken while holding it (lock order: index (none,
 * lock-free) → record; see src/lock_order.h), with two exceptions that hold several
 * record locks: the AWE pool lock's holder (phys.h), which locks only AWE windows, and
 * placeholder.c, which takes every lock after its first with trylock (never waiting while
 * it holds one) — so neither can close a cycle with the other or with anyone.
 */
#ifndef HM_VM_RECORD_H
#define HM_VM_RECORD_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "vm/runs.h"

/* Field order keeps what VirtualQuery reads (lock, live, base, size, alloc_prot, the run
 * array header and the inline runs) in 128 bytes, one adjacent-line pair for the
 * prefetcher; records are 128-byte aligned and 128 bytes long. */
typedef struct hm_reservation {
    pthread_mutex_t lock;
    /* ---- under lock ---- */
    bool live;
    uint8_t kind;                 /* HM_KIND_* bits; const while live, but placeholder.c
                                   * converts placeholders (and their size) in place */
    uint32_t alloc_prot;          /* hm_vm prot */
    uintptr_t base;               /* 64 KiB aligned (a split placeholder's piece: a page) */
    size_t size;                  /* page multiple */
    hm_runs_t runs;               /* committed and locked bytes are counted from the runs */
    /* ---- pool ---- */
    uint32_t id;                  /* const after creation: index in the pool */
    _Atomic uint32_t next_free;   /* free list (id + 1, 0 = end) */
    /* ---- under lock ---- */
    struct hm_vm_account *account; /* owner; const while live */
} __attribute__((aligned(128))) hm_reservation_t;

_Static_assert(sizeof(hm_reservation_t) == 128, "a record is two cache lines");

/* What kind of reservation (hm_reservation_t.kind). */
enum {
    HM_KIND_WATCH = 1u,            /* MEM_WRITE_WATCH: ext->watch holds the engine state */
    HM_KIND_PLACEHOLDER = 2u,      /* a free placeholder (MEM_RESERVE_PLACEHOLDER) */
    HM_KIND_FROM_PLACEHOLDER = 4u, /* replaced a placeholder: may turn back into one */
    HM_KIND_LARGE = 8u,            /* MEM_LARGE_PAGES */
    HM_KIND_PHYSICAL = 16u,        /* MEM_PHYSICAL (AWE window): ext->phys holds the map */
};

/* State that does not fit in the 128 bytes, for the kinds that need it. One per record,
 * kept beside it in its chunk (hm_record_ext); guarded by the record's lock. */
typedef struct hm_reservation_ext {
    struct hm_watch *watch;       /* HM_KIND_WATCH */
    struct hm_phys_window *phys;  /* HM_KIND_PHYSICAL */
} hm_reservation_ext_t;

/* The extension of r (never NULL; zeroed when the record is fresh). */
hm_reservation_ext_t *hm_record_ext(const hm_reservation_t *r);

static inline uint64_t hm_record_npages(const hm_reservation_t *r)
{
    return r->size >> 12;
}

/* A fresh record (not live, unlocked), or NULL with *err set. */
hm_reservation_t *hm_record_get(int *err);
/* Same, growing the pool (if it must) from `site`. */
hm_reservation_t *hm_record_get_at(hm_os_site_t site, int *err);
/* Returns a record that is no longer live and no longer indexed. */
void hm_record_put(hm_reservation_t *r);
/* Calls fn on each live reservation (locked during the call). */
void hm_record_for_each(void (*fn)(hm_reservation_t *r, void *ctx), void *ctx);
/* The live reservation covering addr, locked; or NULL. */
hm_reservation_t *hm_record_lookup_lock(uintptr_t addr);
static inline void hm_record_unlock(hm_reservation_t *r)
{
    pthread_mutex_unlock(&r->lock);
}

#endif
