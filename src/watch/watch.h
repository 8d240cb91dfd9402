/*
 * watch.h — write watch (MEM_WRITE_WATCH) as src/vm/ sees it: one interface over two
 * engines, chosen once per process (watch.c), and the state of one watched reservation.
 *
 *   kernel   (watch_kernel.c)   userfaultfd write-protect in async mode + PAGEMAP_SCAN
 *            (Linux 6.7+): a write costs the kernel a minor fault, no signal; the kernel
 *            keeps the written bit in the page table.
 *   mprotect (watch_fallback.c) armed pages are mapped without PROT_WRITE; the first
 *            write faults into hostmem's SIGSEGV handler, which sets the page's bit and
 *            makes the page writable. Writes by the kernel (read(2)) into an armed page
 *            fail with EFAULT: hm_watch_mark_written() first.
 *
 * A page is reported written if the engine says so (kernel: the page table, committed
 * pages only; mprotect: the `soft` bitmap), or its bit is set in `soft` (pages the kernel
 * engine must re-report) or in `latched` (bits a VirtualProtect latched: decommit leaves
 * them, Windows W25). Reset clears all three; decommit clears the first two.
 *
 * Pages are page indexes inside the reservation. Every function below runs with the
 * reservation's lock held (the view's runs are read under it); hm_watch_fault runs in the
 * SIGSEGV handler and is async-signal-safe. src/watch/ calls only src/os/ and reads the
 * run list (vm/runs.h); it never takes a lock of vm.
 */
#ifndef HM_WATCH_WATCH_H
#define HM_WATCH_WATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/runs.h"

typedef enum hm_watch_engine {
    HM_WATCH_NONE = 0, /* HOSTMEM_WRITE_WATCH=kernel and the kernel cannot: no write watch */
    HM_WATCH_KERNEL,
    HM_WATCH_MPROTECT,
} hm_watch_engine_t;

/* The engine of this process (chosen at the first call), and a one-line reason. */
hm_watch_engine_t hm_watch_engine(const char **why);
const char *hm_watch_engine_name(hm_watch_engine_t e);
/* What the kernel offers this process, whatever engine it uses (`hostmem info`): a
 * userfaultfd with async write-protect, and the PAGEMAP_SCAN ioctl. No lock needed. */
void hm_watch_kernel_support(bool *userfaultfd, bool *pagemap_scan);

typedef struct hm_watch hm_watch_t;

/* What the engines see of a watched reservation (locked). */
typedef struct hm_watch_view {
    hm_watch_t *w;
    uintptr_t base;
    uint64_t npages;
    const hm_runs_t *runs;
} hm_watch_view_t;

/* The kernel protection (hm_os R/W/X bits) of a committed page with hm_vm protection
 * `prot` in a watched reservation: the mprotect engine maps armed pages without W. */
unsigned hm_watch_os_prot(uint32_t prot);

/* The state of a new reservation [base, base+size) whose mapping exists (committed with
 * hm_watch_os_prot if `committed`), armed. Fails with an hm status, nothing left behind. */
int hm_watch_create(uintptr_t base, size_t size, bool committed, hm_watch_t **out);
/* Frees the state (the reservation's mapping is gone or about to be). */
void hm_watch_destroy(hm_watch_t *w);

/* Commit of [first, end): arms the pages not yet committed. Call before the commit's
 * mprotect; on failure nothing visible changed. */
int hm_watch_commit(const hm_watch_view_t *v, uint64_t first, uint64_t end);
/* Decommit of [first, end) done (its pages were replaced): their written state is gone. */
void hm_watch_decommit(const hm_watch_view_t *v, uint64_t first, uint64_t end);
/* VirtualProtect of the committed range [first, end) done: latches its written pages. */
void hm_watch_latch(const hm_watch_view_t *v, uint64_t first, uint64_t end);
/* SIGSEGV handler: a fault on committed `page` whose protection `prot` allows writing.
 * Records the write and makes the page writable; false if that failed. */
bool hm_watch_fault(const hm_watch_view_t *v, uint64_t page, uint32_t prot);
/* hostmem itself wrote [first, end) through the kernel (mlock of writable pages, the
 * re-dirtying of MEM_RESET_UNDO): records what the kernel engine records by itself. */
void hm_watch_touched(const hm_watch_view_t *v, uint64_t first, uint64_t end);

/* GetWriteWatch over [first, end): the addresses of up to `cap` written pages, ascending,
 * into out (*n of them); with reset, those pages (and only up to the last one returned
 * when cap was reached) are armed again. out NULL: reset the whole range, report nothing.
 * On failure nothing is lost: pages already reset are reported written again. */
int hm_watch_collect(const hm_watch_view_t *v, uint64_t first, uint64_t end, bool reset,
                     uintptr_t *out, size_t cap, size_t *n);
/* hm_watch_mark_written: every page of [first, end) (committed, writable) reads written
 * and is writable by the kernel. */
int hm_watch_mark(const hm_watch_view_t *v, uint64_t first, uint64_t end);

#endif /* HM_WATCH_WATCH_H */
