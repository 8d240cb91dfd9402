/*
 * watched.h — how the files of src/vm/ keep write watch (src/watch/) informed about a
 * MEM_WRITE_WATCH reservation (watched.c). Every function takes the reservation locked
 * unless it says otherwise; each is a no-op for a reservation that is not watched, so
 * callers need no test of their own.
 */
#ifndef HM_VM_WATCHED_H
#define HM_VM_WATCHED_H

#include "vm/internal.h"
#include "watch/watch.h"

static inline bool hm_watched(const hm_reservation_t *r)
{
    return (r->kind & HM_KIND_WATCH) != 0;
}

/* The kernel protection of pages of r with hm_vm protection prot (a watched page is
 * mapped without write access while the mprotect engine has it armed). */
static inline unsigned hm_os_prot_in(const hm_reservation_t *r, uint32_t prot)
{
    return hm_watched(r) ? hm_watch_os_prot(prot) : hm_os_prot_of(prot);
}

/* Before mapping a MEM_WRITE_WATCH reservation: the engine exists (HM_E_NOT_SUPPORTED if
 * not) and, for the mprotect engine, the SIGSEGV handler is installed. No lock. */
int hm_vm_watch_prepare(void);
/* Arms the new reservation [base, base+size) of r (not yet published: no lock needed) and
 * hangs the state on r's extension; hm_vm_watch_detach undoes it. */
int hm_vm_watch_attach(hm_reservation_t *r, uintptr_t base, size_t size, bool committed);
void hm_vm_watch_detach(hm_reservation_t *r);
/* r was published / is being released: watched_bytes, and the state freed at release. */
void hm_vm_watch_published(const hm_reservation_t *r);
void hm_vm_watch_release(hm_reservation_t *r);

/* Page ranges [first, end) of r. */
int hm_vm_watch_commit(hm_reservation_t *r, uint64_t first, uint64_t end);
void hm_vm_watch_decommit(hm_reservation_t *r, uint64_t first, uint64_t end);
void hm_vm_watch_protected(hm_reservation_t *r, uint64_t first, uint64_t end);
/* The writable committed pages of [first, end) were written through the kernel (mlock),
 * or all committed pages of it were (MEM_RESET_UNDO's re-dirtying). */
void hm_vm_watch_touched(hm_reservation_t *r, uint64_t first, uint64_t end, bool writable_only);
/* SIGSEGV handler: a fault on committed `page` whose protection val allows writing. */
bool hm_vm_watch_fault(hm_reservation_t *r, uint64_t page, uint32_t val);

#endif
