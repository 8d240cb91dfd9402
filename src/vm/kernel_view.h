/*
 * kernel_view.h — any process's address space in Windows terms, from the kernel's view
 * (/proc/<pid>/smaps): for `hostmem map PID` and hm_walk_regions(). The translation rules
 * are foreign.c's (procmaps.h); a region is a run of adjacent VMAs of the same file and
 * protection (anonymous VMAs one by one: the kernel merges neighbours, so an allocation
 * boundary inside one is invisible), free gaps between them are MEM_FREE.
 */
#ifndef HM_VM_KERNEL_VIEW_H
#define HM_VM_KERNEL_VIEW_H

#include <stdint.h>

#include "vm/vm.h"

typedef struct hm_kv_region {
    hm_vm_region_t r;
    const char *path;          /* the file or [stack] etc., "" if none; valid during visit */
    uint64_t rss, locked;      /* bytes resident and locked (smaps) */
} hm_kv_region_t;

/* Calls visit for every region of process pid from address 0 to the end of user space,
 * in address order, until visit returns nonzero (stored in *stopped). Returns HM_OK,
 * HM_E_INVALID_PARAMETER (no such process), HM_E_ACCESS_DENIED, or HM_E_NO_MEMORY. */
int hm_kernel_view_walk(int pid, int (*visit)(const hm_kv_region_t *kr, void *ctx), void *ctx,
                        int *stopped);

#endif
