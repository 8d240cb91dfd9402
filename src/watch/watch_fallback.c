/*
 * watch_fallback.c — the mprotect write-watch engine, for kernels without async
 * userfaultfd write-protect, for Valgrind, or when HOSTMEM_WRITE_WATCH=mprotect asks.
 *
 * Invariant: a committed page whose protection allows writing is mapped writable only if
 * its `soft` bit is set; every other committed page of a watched reservation is mapped
 * with its protection minus PROT_WRITE (vm applies hm_watch_os_prot on commit, protect and
 * guard clearing). So the first write to a page after a reset faults into hostmem's
 * SIGSEGV handler (src/os/linux_fault.c → src/vm/guard.c → hm_watch_fault), which sets
 * the bit and maps the page writable; the write is retried.
 *
 * The kernel cannot take that fault for its own writes: read(2) into an armed page fails
 * with EFAULT. hm_watch_mark_written() marks the pages written and makes them writable
 * first, as Windows does for a pending ReadFile.
 *
 * Locking: the reservation's lock (the handler takes it too); the handler calls only
 * mprotect and bit operations, no malloc.
 */
#include "watch/engine.h"

static void *addr_of(const hm_watch_view_t *v, uint64_t page)
{
    return (void *)(v->base + (page << HM_PAGE_SHIFT));
}

bool hm_watch_fallback_fault(const hm_watch_view_t *v, uint64_t page, uint32_t prot)
{
    if (hm_os.protect(HM_SITE_WATCH_FAULT, addr_of(v, page), HM_PAGE_SIZE,
                      hm_watch_plain_prot(prot)) != 0)
        return false;
    hm_watch_soft_set(v->w, page, page + 1);
    return true;
}

static int rearm_run(const hm_watch_view_t *v, uint64_t s, uint64_t e, uint32_t val, void *ctx)
{
    (void)ctx;
    unsigned full = hm_watch_plain_prot(val & HM_VM_PROT_MASK);
    if (!(full & HM_OS_W))
        return 0;
    return hm_os.protect(HM_SITE_WATCH_REARM, addr_of(v, s), (size_t)(e - s) << HM_PAGE_SHIFT,
                         full & ~(unsigned)HM_OS_W);
}

int hm_watch_fallback_rearm(const hm_watch_view_t *v, uint64_t first, uint64_t end)
{
    return hm_watch_for_each_committed(v, first, end, rearm_run, NULL) ? HM_E_NO_MEMORY : HM_OK;
}

/* Bits first, then the protection: a page is never writable without its bit. */
static int unprotect_run(const hm_watch_view_t *v, uint64_t s, uint64_t e, uint32_t val,
                         void *ctx)
{
    (void)ctx;
    hm_watch_soft_set(v->w, s, e);
    return hm_os.protect(HM_SITE_WATCH_MARK, addr_of(v, s), (size_t)(e - s) << HM_PAGE_SHIFT,
                         hm_watch_plain_prot(val & HM_VM_PROT_MASK));
}

int hm_watch_fallback_unprotect(const hm_watch_view_t *v, uint64_t first, uint64_t end)
{
    return hm_watch_for_each_committed(v, first, end, unprotect_run, NULL) ? HM_E_NO_MEMORY
                                                                           : HM_OK;
}
