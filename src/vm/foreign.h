/*
 * foreign.h — answers for memory hostmem did not allocate (stack, heap, libraries, other
 * mmaps), from the kernel's view of the process (/proc/self/maps, smaps).
 */
#ifndef HM_VM_FOREIGN_H
#define HM_VM_FOREIGN_H

#include <stddef.h>
#include <stdint.h>

#include "vm/vm.h"

int hm_foreign_query(uintptr_t addr, hm_vm_region_t *out);
int hm_foreign_protect(uintptr_t addr, size_t size, uint32_t prot, uint32_t *old_prot);
int hm_foreign_lock(uintptr_t addr, size_t size);
int hm_foreign_unlock(uintptr_t addr, size_t size);

#endif
