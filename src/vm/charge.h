/*
 * charge.h — commit accounting and statistics shared inside src/vm/ (see charge.c).
 */
#ifndef HM_VM_CHARGE_H
#define HM_VM_CHARGE_H

#include <stdatomic.h>
#include <stdint.h>

#include "vm/vm.h"

/* Adds bytes to the process's commit charge and to account a (if any), or returns
 * HM_E_COMMITMENT_LIMIT / HM_E_BUDGET changing nothing. */
int hm_charge(hm_vm_account_t *a, uint64_t bytes);
void hm_uncharge(hm_vm_account_t *a, uint64_t bytes);

extern _Atomic uint64_t hm_stat_reservations, hm_stat_reserved_bytes, hm_stat_locked_bytes,
    hm_stat_guard_hits, hm_stat_watched_bytes;
/* Reservations between their mmap and their index entry (foreign.c waits them out). */
extern _Atomic uint64_t hm_creating;

static inline void hm_stat_add(_Atomic uint64_t *c, int64_t delta)
{
    atomic_fetch_add_explicit(c, (uint64_t)delta, memory_order_relaxed);
}

#endif
