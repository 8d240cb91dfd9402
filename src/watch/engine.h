/*
 * engine.h — what the files of src/watch/ share: the per-reservation state, the bitmap
 * helpers (bits.c) and the two engines' entry points. Not used outside src/watch/.
 *
 * One anonymous mapping holds a reservation's state: this header, then the `soft` bitmap,
 * then the `latched` bitmap, one bit per page each. The kernel fills the bitmaps' pages
 * on first touch, so a 1 TiB reservation costs two 32 MiB ranges of address space and no
 * memory until bits are set. Every field is under the reservation's lock; the SIGSEGV
 * handler (mprotect engine) takes that lock too before it sets a bit.
 */
#ifndef HM_WATCH_ENGINE_H
#define HM_WATCH_ENGINE_H

#include "common.h"
#include "os/os.h"
#include "vm/vm.h"
#include "watch/watch.h"

struct hm_watch {
    uint64_t *soft;       /* written pages the engine does not hold itself */
    uint64_t *latched;    /* written pages latched by VirtualProtect (decommit keeps them) */
    size_t map_len;       /* bytes of the mapping holding this header and both bitmaps */
    uint64_t n_soft;      /* bits set in soft */
    uint64_t n_latched;   /* bits set in latched */
    uint32_t gen;         /* kernel engine: the process generation of the registration */
    bool unregistered;    /* kernel engine: a decommit dropped part of the registration */
};

/* ---- bits.c: bitmaps of pages ---------------------------------------------------------- */
/* Set / clear [s, e); return how many bits changed. */
uint64_t hm_bits_set(uint64_t *b, uint64_t s, uint64_t e);
uint64_t hm_bits_clear(uint64_t *b, uint64_t s, uint64_t e);
/* dst |= src over [s, e); returns how many bits of dst changed. */
uint64_t hm_bits_or(uint64_t *dst, const uint64_t *src, uint64_t s, uint64_t e);
/* The first page >= from and < end set in a or b, or end. */
uint64_t hm_bits_next(const uint64_t *a, const uint64_t *b, uint64_t from, uint64_t end);

static inline void hm_watch_soft_set(hm_watch_t *w, uint64_t s, uint64_t e)
{
    w->n_soft += hm_bits_set(w->soft, s, e);
}

/* The kernel protection of hm_vm prot bits without the watch (guard = no access). */
static inline unsigned hm_watch_plain_prot(uint32_t prot)
{
    return (prot & HM_VM_GUARD) ? 0u : (prot & (HM_VM_R | HM_VM_W | HM_VM_X));
}

/* Calls fn(v, s, e, val, ctx) for each committed run of [first, end) (clipped); stops at
 * the first non-zero return and returns it. Adjacent committed runs are separate calls. */
typedef int (*hm_watch_run_fn)(const hm_watch_view_t *v, uint64_t s, uint64_t e, uint32_t val,
                               void *ctx);
int hm_watch_for_each_committed(const hm_watch_view_t *v, uint64_t first, uint64_t end,
                                hm_watch_run_fn fn, void *ctx);

/* ---- watch_kernel.c ------------------------------------------------------------------- */
/* Opens the process's userfaultfd and pagemap; on failure *why says what failed. */
int hm_watch_kernel_init(const char **why);
int hm_watch_kernel_arm(const hm_watch_view_t *v, bool committed);
int hm_watch_kernel_commit(const hm_watch_view_t *v, uint64_t first, uint64_t end);
void hm_watch_kernel_decommit(const hm_watch_view_t *v);
/* Written pages of [first, end) (all committed), each region passed to sink; with reset
 * armed again; at most max_pages pages (0 = all). sink NULL: reset only. */
typedef void (*hm_watch_sink_fn)(void *ctx, uint64_t s, uint64_t e);
int hm_watch_kernel_collect(const hm_watch_view_t *v, uint64_t first, uint64_t end, bool reset,
                            uint64_t max_pages, hm_watch_sink_fn sink, void *ctx,
                            hm_os_site_t site);
int hm_watch_kernel_unprotect(const hm_watch_view_t *v, uint64_t first, uint64_t end);
/* Makes the reservation's registration this process's (after fork). */
int hm_watch_kernel_current(const hm_watch_view_t *v);

/* ---- watch_fallback.c ----------------------------------------------------------------- */
bool hm_watch_fallback_fault(const hm_watch_view_t *v, uint64_t page, uint32_t prot);
/* Write-protects the writable committed pages of [first, end) again. */
int hm_watch_fallback_rearm(const hm_watch_view_t *v, uint64_t first, uint64_t end);
/* Marks [first, end) (committed) written and maps it with its full protection. */
int hm_watch_fallback_unprotect(const hm_watch_view_t *v, uint64_t first, uint64_t end);

#endif /* HM_WATCH_ENGINE_H */
