/*
 * phys_pool.h — the pool of AWE physical pages (physical_pages.c), for physical.c only.
 * Every function here is called with the pool lock held (phys.h).
 */
#ifndef HM_VM_PHYS_POOL_H
#define HM_VM_PHYS_POOL_H

#include <stdbool.h>
#include <stdint.h>

/* One page of the pool (a "slot": page slot of the memfd). */
typedef struct hm_pool_page {
    uintptr_t mapped_at; /* address it is mapped at, 0 = not mapped */
    uint32_t gen;        /* bumped when the page is freed: old numbers stop validating */
    uint32_t next_free;  /* free list link: slot + 1, 0 = end */
    bool allocated;
    bool claimed;        /* named earlier in the page array being validated */
} hm_pool_page_t;

/* True once the pool exists (the process allocated physical pages at least once). */
bool hm_pool_ready(void);
/* The memfd (valid when hm_pool_ready()). */
int hm_pool_fd(void);
/* Allocates up to *count pages (see hm_vm_phys_allocate). */
int hm_pool_allocate(uint64_t *count, uint64_t *pfns);
/* The allocated page numbered pfn: HM_OK and *slot, else HM_E_CONFLICTING_ADDRESSES. */
int hm_pool_slot_of(uint64_t pfn, uint32_t *slot);
hm_pool_page_t *hm_pool_page(uint32_t slot);
/* Drops the page's memory (punch hole); errno. */
int hm_pool_punch(uint32_t slot);
/* Returns an allocated, unmapped, punched page to the free list and uncharges it. */
void hm_pool_release(uint32_t slot);

#endif
