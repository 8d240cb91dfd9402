/*
 * memcheck.h — the page-state changes of src/vm/ told to Valgrind's memcheck per run
 * (valgrind_hooks.h says which change marks what).
 *
 * Outside Valgrind hm_vm_vg_mark returns at once (and compiles to nothing without
 * <valgrind/memcheck.h>). Locking: the caller holds r's lock and has not yet updated the
 * runs for the change it reports (or they already say what is to be marked).
 */
#ifndef HM_VM_MEMCHECK_H
#define HM_VM_MEMCHECK_H

#include "common.h"
#include "valgrind_hooks.h"
#include "vm/record.h"

/* Applies mark to the pages of [first, end) of r whose run value has `want` under `mask`. */
static inline void hm_vm_vg_mark(const hm_reservation_t *r, uint64_t first, uint64_t end,
                                 uint32_t mask, uint32_t want,
                                 void (*mark)(const void *p, size_t n))
{
    if (!hm_vg_running())
        return;
    const hm_runs_t *runs = &r->runs;
    uint64_t npages = hm_record_npages(r);
    for (uint32_t i = hm_runs_find(runs, first); i < runs->n && runs->v[i].start < end; i++) {
        if ((runs->v[i].val & mask) != want)
            continue;
        uint64_t s = runs->v[i].start > first ? runs->v[i].start : first;
        uint64_t e = hm_runs_end(runs, i, npages);
        mark((const void *)(r->base + (s << HM_PAGE_SHIFT)), (size_t)((e < end ? e : end) - s)
                                                                  << HM_PAGE_SHIFT);
    }
}

#endif /* HM_VM_MEMCHECK_H */
