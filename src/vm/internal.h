/*
 * internal.h — helpers shared by the files of src/vm/ (not used outside it).
 */
#ifndef HM_VM_INTERNAL_H
#define HM_VM_INTERNAL_H

#include <errno.h>

#include "common.h"
#include "os/os.h"
#include "vm/charge.h"
#include "vm/record.h"
#include "vm/vm.h"

/* The kernel protection for hm_vm prot bits: a guard page is PROT_NONE until touched. */
static inline unsigned hm_os_prot_of(uint32_t prot)
{
    return (prot & HM_VM_GUARD) ? 0u : (prot & (HM_VM_R | HM_VM_W | HM_VM_X));
}

/* errno from a syscall that changes existing pages → hm status. The kernel's reasons
 * (ENOMEM: out of memory or map count; EAGAIN; EPERM from a seccomp or LSM policy) all
 * mean "the system could not do it now": Windows' ERROR_NOT_ENOUGH_MEMORY. */
static inline int hm_status_of_errno(int err)
{
    (void)err;
    return HM_E_NO_MEMORY;
}

/* May the calling thread change r? HM_OK; HM_E_NOT_OWNER if r belongs to another account
 * than the acting one; HM_E_NOT_HOST if a call acting for an account meets the process's
 * own memory (not given out by a host). */
static inline int hm_may_touch(const hm_reservation_t *r)
{
    hm_vm_account_t *a = hm_vm_acting();
    return !a || r->account == a ? HM_OK : r->account ? HM_E_NOT_OWNER : HM_E_NOT_HOST;
}

/* Page range [first, end) of r for [addr, addr+size), which the caller checked is inside. */
static inline void hm_page_range(const hm_reservation_t *r, uintptr_t addr, size_t size,
                                 uint64_t *first, uint64_t *end)
{
    *first = (addr - r->base) >> HM_PAGE_SHIFT;
    *end = *first + (size >> HM_PAGE_SHIFT);
}

/* Locks the reservation holding all of [addr, addr+size) (size > 0). Returns HM_OK with
 * *out locked, HM_E_NOT_ALLOCATED if addr is not in a reservation, HM_E_NOT_OWNER if it
 * belongs to another account than the acting one, or `crossing` if the range runs past
 * its end (then nothing is locked). */
int hm_lock_range(uintptr_t addr, size_t size, int crossing, hm_reservation_t **out);

/* hm_lock_range for calls that only work inside a reservation: a range not in one, or
 * running past its end, is HM_E_NOT_MAPPED. */
static inline int hm_lock_inside(uintptr_t addr, size_t size, hm_reservation_t **out)
{
    int st = hm_lock_range(addr, size, HM_E_NOT_MAPPED, out);
    return st == HM_E_NOT_ALLOCATED ? HM_E_NOT_MAPPED : st;
}

/* True if any page of [addr, addr+size) belongs to a hostmem reservation. */
bool hm_touches_reservation(uintptr_t addr, size_t size);

/* Installs the guard-page fault handler (idempotent). */
int hm_guard_arm(void);
/* The same, naming the call site (write watch installs it too). */
int hm_guard_arm_at(hm_os_site_t site);

#endif
