/*
 * runs.h — the page state of one reservation as runs (extents), never a byte per page.
 *
 * A run list tiles [0, npages) of its reservation: v[0].start == 0, starts strictly
 * increase, every start < npages, and no two adjacent runs hold the same value. Run i
 * covers [v[i].start, v[i+1].start) (the last one ends at npages). A value packs the
 * state bit, the lock bit and the hm_vm prot bits. Pure data structure: no syscalls except
 * through hm_os for growth; the caller holds the reservation lock.
 */
#ifndef HM_VM_RUNS_H
#define HM_VM_RUNS_H

#include <stddef.h>
#include <stdint.h>

#include "os/os.h"

enum {
    HM_RUN_COMMITTED = 1u << 8,
    HM_RUN_LOCKED = 1u << 9,
    HM_RUN_PROT_MASK = 0xFFu,
};

typedef struct hm_run {
    uint64_t start; /* page offset in the reservation */
    uint32_t val;
    uint32_t pad;
} hm_run_t;

#define HM_RUNS_INLINE 2

typedef struct hm_runs {
    hm_run_t *v;   /* inline_v, or heap (calloc), or an anonymous mapping (signal path) */
    uint32_t n;
    uint32_t cap : 30;
    uint32_t storage : 2; /* 0 inline, 1 heap, 2 mapped (cap * sizeof(hm_run_t) bytes) */
    hm_run_t inline_v[HM_RUNS_INLINE];
} hm_runs_t;

void hm_runs_init(hm_runs_t *r, uint32_t val);
void hm_runs_destroy(hm_runs_t *r);
/* Index of the run holding page. */
uint32_t hm_runs_find(const hm_runs_t *r, uint64_t page);
uint64_t hm_runs_end(const hm_runs_t *r, uint32_t i, uint64_t npages);
/* Makes room for `extra` more runs (call before syscalls so the update cannot fail). */
int hm_runs_reserve(hm_runs_t *r, uint32_t extra);
/* Same, with anonymous mmap: async-signal-safe (guard fault path). */
int hm_runs_reserve_signal_safe(hm_runs_t *r, uint32_t extra);
/* For every page in [first, end): val = (val & keep) | set. Needs 2 spare slots. */
void hm_runs_update(hm_runs_t *r, uint64_t npages, uint64_t first, uint64_t end, uint32_t keep,
                    uint32_t set);
/* Counts pages in [first, end) whose value has all bits of `want` under `mask`. */
uint64_t hm_runs_count(const hm_runs_t *r, uint64_t npages, uint64_t first, uint64_t end,
                       uint32_t mask, uint32_t want);
/* Makes dst (empty: fresh or destroyed) the runs of src's pages [first, end), renumbered
 * from 0 (a placeholder split); storage beyond the inline runs comes from `site`. 0 or
 * an errno (dst then holds one run and nothing to free). */
int hm_runs_slice(hm_runs_t *dst, const hm_runs_t *src, uint64_t first, uint64_t end,
                  hm_os_site_t site);
/* Keeps only pages [0, npages) (0 < npages): drops the runs that start at or past it. */
void hm_runs_truncate(hm_runs_t *r, uint64_t npages);
/* True if the invariant holds (debug checks, tests). */
int hm_runs_valid(const hm_runs_t *r, uint64_t npages);

#endif
