/*
 * vm.h — the address-space model as src/win32/ sees it. No Win32 types: protections are
 * hm_vm prot bits, results are hm_status codes (common.h), addresses are uintptr_t.
 *
 * Every function takes page-aligned ranges already rounded by the caller (win32 owns
 * Windows' rounding rules) and either succeeds completely or changes nothing.
 */
#ifndef HM_VM_H
#define HM_VM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common.h"

/* Protection bits (R/W/X match the os layer's). */
enum {
    HM_VM_R = 1u,
    HM_VM_W = 2u,
    HM_VM_X = 4u,
    HM_VM_GUARD = 8u,
    HM_VM_NOCACHE = 16u,
    HM_VM_WRITECOMBINE = 32u,
    HM_VM_COW = 64u, /* copy-on-write (only reported for memory hostmem did not allocate) */
    HM_VM_PROT_MASK = 127u,
};

typedef enum hm_vm_state { HM_STATE_FREE = 0, HM_STATE_RESERVED, HM_STATE_COMMITTED } hm_vm_state_t;
typedef enum hm_vm_type { HM_TYPE_NONE = 0, HM_TYPE_PRIVATE, HM_TYPE_MAPPED, HM_TYPE_IMAGE } hm_vm_type_t;

typedef struct hm_vm_account hm_vm_account_t; /* see "Accounts" below */

/* One VirtualQuery region. */
typedef struct hm_vm_region {
    uintptr_t base;       /* query page */
    uintptr_t alloc_base; /* 0 for free */
    size_t size;          /* bytes from base with identical attributes */
    uint32_t alloc_prot;  /* hm_vm prot bits */
    uint32_t prot;        /* hm_vm prot bits; meaningful when committed */
    hm_vm_state_t state;
    hm_vm_type_t type;
    bool foreign;         /* answered from the kernel's view, not hostmem's records */
    hm_vm_account_t *account; /* owner of a hostmem reservation (NULL = the process) */
} hm_vm_region_t;

/*
 * Accounts. Every reservation is charged to the process and to the account that created
 * it: the account the calling thread was acting for (NULL = the process only). src/host/
 * sets the acting account around one call; a call acting for an account may only touch
 * reservations of that account (else HM_E_NOT_OWNER, nothing changed). charge/uncharge
 * run under a reservation lock: they must not block or take a lock of vm.
 */
struct hm_vm_account {
    int (*charge)(hm_vm_account_t *a, uint64_t bytes);   /* HM_OK or HM_E_BUDGET */
    void (*uncharge)(hm_vm_account_t *a, uint64_t bytes);
    const char *name; /* for introspection; read under a reservation lock (describe.c) */
};
void hm_vm_set_acting(hm_vm_account_t *a);
hm_vm_account_t *hm_vm_acting(void);
/* Releases every reservation of account a (runtime teardown). Returns how many. */
size_t hm_vm_release_account(hm_vm_account_t *a);

/* Flags for hm_vm_allocate. */
enum {
    HM_VM_ALLOC_COMMIT = 1u,
    HM_VM_ALLOC_TOP_DOWN = 2u,
    HM_VM_ALLOC_WATCH = 4u,       /* MEM_WRITE_WATCH (src/watch/) */
    HM_VM_ALLOC_LARGE = 8u,       /* MEM_LARGE_PAGES */
    HM_VM_ALLOC_PHYSICAL = 16u,   /* MEM_PHYSICAL (AWE window) */
    HM_VM_ALLOC_PLACEHOLDER = 32u /* MEM_RESERVE_PLACEHOLDER */
};

/* Reserves [addr, addr+size) (addr 64 KiB-aligned) or anywhere if addr == 0; commits the
 * whole range with commit_prot too if HM_VM_ALLOC_COMMIT. *out = base. */
int hm_vm_allocate(uintptr_t addr, size_t size, uint32_t alloc_prot, uint32_t commit_prot,
                   unsigned flags, uintptr_t *out);

/* Placeholders and address requirements (VirtualAlloc2; placeholder.c, placement.c). */
/* Where a reservation made without an address may go: its base is a multiple of align
 * (a power of two, 0 = 64 KiB) and [base, base+size) lies in [lowest, highest] (0 = no
 * bound; highest+1 is page-aligned). */
typedef struct hm_vm_limits {
    uintptr_t lowest, highest;
    size_t align;
} hm_vm_limits_t;
/* hm_vm_allocate with addr 0 placed by limits (NULL: as hm_vm_allocate). HM_E_NO_MEMORY if
 * no hole fits. HM_VM_ALLOC_PLACEHOLDER makes a placeholder (reserved, no access). */
int hm_vm_allocate_in(uintptr_t addr, size_t size, uint32_t alloc_prot, uint32_t commit_prot,
                      unsigned flags, const hm_vm_limits_t *limits, uintptr_t *out);
/* Replaces the placeholder [addr, addr+size) by a normal allocation (committed with
 * commit_prot if HM_VM_ALLOC_COMMIT): HM_E_INVALID_PARAMETER if addr is not in a
 * placeholder, HM_E_CONFLICTING_ADDRESSES if the range is not exactly one. */
int hm_vm_replace_placeholder(uintptr_t addr, size_t size, uint32_t alloc_prot,
                              uint32_t commit_prot, unsigned flags);
/* MEM_RELEASE|MEM_PRESERVE_PLACEHOLDER: [addr, addr+size) (size > 0) of one placeholder, or
 * of one allocation that replaced a placeholder, becomes a placeholder of its own; the
 * rest of it stays what it was, as allocations of their own. */
int hm_vm_preserve_placeholder(uintptr_t addr, size_t size);
/* MEM_RELEASE|MEM_COALESCE_PLACEHOLDERS: the two or more adjacent placeholders exactly
 * covering [addr, addr+size) become one. */
int hm_vm_coalesce_placeholders(uintptr_t addr, size_t size);
/* HM_OK if NUMA node `node` exists (is online), HM_E_INVALID_PARAMETER if not. */
int hm_vm_numa_node_check(uint32_t node);
/* Commits [addr, addr+size) inside one reservation (recommit allowed). */
int hm_vm_commit(uintptr_t addr, size_t size, uint32_t prot);
/* Decommits [addr, addr+size); size 0 = the whole reservation, addr must be its base. */
int hm_vm_decommit(uintptr_t addr, size_t size);
/* Releases the reservation whose base is addr. */
int hm_vm_release(uintptr_t addr);
int hm_vm_protect(uintptr_t addr, size_t size, uint32_t prot, uint32_t *old_prot);
int hm_vm_lock(uintptr_t addr, size_t size);
int hm_vm_unlock(uintptr_t addr, size_t size);
int hm_vm_reset(uintptr_t addr, size_t size);
int hm_vm_reset_undo(uintptr_t addr, size_t size);
int hm_vm_query(uintptr_t addr, hm_vm_region_t *out);
/* For the hostmem reservation holding addr: its HM_KIND_* bits (record.h) and the name of
 * the account that owns it (copied, truncated to len; "" if none). HM_E_NOT_ALLOCATED if
 * addr is not in a hostmem reservation. */
int hm_vm_describe(uintptr_t addr, unsigned *kind, char *owner, size_t len);

/* Commit accounting (charge.c). */
void hm_vm_set_commit_limit(uint64_t bytes);
uint64_t hm_vm_commit_limit(void);
uint64_t hm_vm_committed(void);

/* Write watch (watched.c; the engines are in src/watch/). GetWriteWatch over [addr,
 * addr+size): up to *count page addresses, ascending, into `addresses` (written after the
 * reservation is unlocked), *count set to how many; reset re-arms what was reported.
 * HM_E_INVALID_PARAMETER if the range is not inside one MEM_WRITE_WATCH reservation. */
int hm_vm_get_write_watch(uintptr_t addr, size_t size, bool reset, void **addresses,
                          size_t *count);
int hm_vm_reset_write_watch(uintptr_t addr, size_t size);
/* hm_watch_mark_written: HM_E_NOACCESS unless every page is committed and writable. */
int hm_vm_mark_written(uintptr_t addr, size_t size);
/* The write-watch engine of the process ("kernel", "mprotect" or "none") and why. */
const char *hm_vm_write_watch_engine(const char **why);

/* Guard pages (guard.c). */
typedef void (*hm_vm_guard_cb_t)(void *addr, void *ctx);
void hm_vm_set_guard_callback(hm_vm_guard_cb_t cb, void *ctx);

/* Statistics (atomic counters, relaxed). */
typedef struct hm_vm_stats {
    uint64_t reservations, reserved_bytes, committed_bytes, locked_bytes, guard_hits;
    uint64_t watched_bytes; /* size of the live MEM_WRITE_WATCH reservations */
} hm_vm_stats_t;
void hm_vm_get_stats(hm_vm_stats_t *out);
/* The same figures for the reservations of account a (walks them: O(reservations)). */
void hm_vm_account_stats(hm_vm_account_t *a, hm_vm_stats_t *out);

/* Reads /proc/meminfo fields (kB → bytes); missing fields read 0. */
typedef struct hm_vm_meminfo {
    uint64_t total, available, commit_limit, committed_as;
    uint64_t huge_total, huge_free; /* HugePages_Total / _Free: pages, not bytes */
} hm_vm_meminfo_t;
int hm_vm_read_meminfo(hm_vm_meminfo_t *out);

#endif /* HM_VM_H */
