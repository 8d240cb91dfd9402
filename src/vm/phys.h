/*
 * phys.h — large pages, AWE physical pages and the right to lock memory, as src/win32/ and
 * the rest of src/vm/ see them.
 *
 * Physical pages (physical_pages.c) are pages of one process-wide memfd, the *pool*. A page
 * number handed to the caller encodes the page's slot in the pool and its generation, so a
 * freed page's old number, a made-up number or another process's number fails validation.
 * An AWE window is a MEM_PHYSICAL reservation (kind HM_KIND_PHYSICAL) whose
 * hm_record_ext(r)->phys says which pool page is mapped at each of its pages
 * (physical.c). A mapped page is MAP_SHARED|MAP_FIXED from the memfd; an unmapped one is
 * a fresh PROT_NONE anonymous page, as in any reservation.
 *
 * Locking: one mutex, the pool lock (hm_phys_lock), serialises every AWE operation
 * (allocate, free, map, scatter, and the release of a window). Lock order: pool lock →
 * reservation lock(s). A thread holding the pool lock may hold several reservation locks
 * at once (MapUserPhysicalPagesScatter over several windows); that cannot deadlock because
 * every other thread holds at most one reservation lock and never waits for another lock
 * while holding it (record.h). Nothing that holds a reservation lock takes the pool lock:
 * releasing a window drops the reservation lock, takes the pool lock, and looks up again.
 */
#ifndef HM_VM_PHYS_H
#define HM_VM_PHYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/record.h"
#include "vm/vm.h"

/* A large-page reservation or an AWE window: its pages are not committed, decommitted,
 * reset or locked page by page (Windows refuses those calls on them). */
static inline bool hm_is_phys(const hm_reservation_t *r)
{
    return (r->kind & (HM_KIND_LARGE | HM_KIND_PHYSICAL)) != 0;
}

/* ---- The right to lock memory (privilege.c) ------------------------------------------ */

/* HM_OK if the process may lock `bytes` more: CAP_IPC_LOCK is effective, or RLIMIT_MEMLOCK
 * covers what is locked now (VmLck), what hostmem holds under the right, and `bytes`;
 * else HM_E_PRIVILEGE (also when the right cannot be read). */
int hm_lock_right_check(uint64_t bytes);
/* Bytes of large pages and AWE pages hostmem holds under the right (+ on create, − on
 * release). */
void hm_lock_right_hold(int64_t delta);

/* ---- Large pages (large.c) ------------------------------------------------------------ */

/* Checks the right, then maps [*base, *base+size) committed with os_prot from the huge-page
 * pool: at addr (2 MiB aligned) if addr != 0, else 2 MiB-aligned anywhere (within limits if
 * given). An empty pool fails with HM_E_NO_SYSTEM_RESOURCES, or with
 * HOSTMEM_LARGE_PAGES=thp is committed from ordinary pages advised MADV_HUGEPAGE. On
 * failure nothing is mapped. */
int hm_large_map(uintptr_t addr, size_t size, unsigned os_prot, bool top_down,
                 const hm_vm_limits_t *limits, uintptr_t *base);
/* True if HOSTMEM_LARGE_PAGES=thp: an empty pool falls back to transparent huge pages. */
bool hm_large_thp_policy(void);
/* A large-page reservation of size bytes was released. */
void hm_large_released(size_t size);

/* ---- AWE windows (physical.c) --------------------------------------------------------- */

/* Which pool page is mapped at each page of a window: slot + 1, 0 = none. */
typedef struct hm_phys_window {
    uint64_t npages;
    uint32_t slot[];
} hm_phys_window_t;

void hm_phys_lock(void);
void hm_phys_unlock(void);
/* A window for a reservation of size bytes, nothing mapped; HM_E_NO_MEMORY if it cannot
 * be allocated. */
int hm_phys_window_create(size_t size, hm_phys_window_t **out);
/* Frees a window that was never published. */
void hm_phys_window_destroy(hm_phys_window_t *w);
/* r (a window, locked, the pool lock held) was just unmapped: its pages stay allocated but
 * are no longer mapped anywhere. Frees the window. */
void hm_phys_window_released(hm_reservation_t *r);

/* ---- The Win32 AWE calls (physical.c, physical_pages.c) ------------------------------- */

/* AllocateUserPhysicalPages: *count in = wanted (> 0), out = allocated (may be fewer);
 * pfns receives the page numbers. */
int hm_vm_phys_allocate(uint64_t *count, uint64_t *pfns);
/* FreeUserPhysicalPages: frees pfns[0..*count) in order, unmapping the mapped ones; stops
 * at the first number that is not an allocated page. *count = pages freed. */
int hm_vm_phys_free(uint64_t *count, const uint64_t *pfns);
/* MapUserPhysicalPages: maps pfns at [addr, addr + n pages) inside one window, replacing
 * what is mapped there; pfns NULL unmaps. All or nothing. */
int hm_vm_phys_map(uintptr_t addr, uint64_t n, const uint64_t *pfns);
/* MapUserPhysicalPagesScatter: maps pfns[i] at the page holding addrs[i] (0 or pfns NULL
 * = unmap). All or nothing. */
int hm_vm_phys_map_scatter(void *const *addrs, uint64_t n, const uint64_t *pfns);

#endif
