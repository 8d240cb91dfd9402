/*
 * placement.h — choosing and mapping the address range of a new reservation.
 */
#ifndef HM_VM_PLACEMENT_H
#define HM_VM_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vm/vm.h"

/* Maps [*base, *base+size) with prot: with limits (addr is then 0), at a multiple of
 * limits->align inside [limits->lowest, limits->highest], lowest first (highest first if
 * top_down); else exactly at addr if addr != 0, else 64 KiB-aligned anywhere (top-down if
 * asked). Returns an hm status (HM_E_NO_MEMORY: nothing fits). */
int hm_place_map(uintptr_t addr, size_t size, unsigned os_prot, bool top_down,
                 const hm_vm_limits_t *limits, uintptr_t *base);
/* Tells placement a reservation at [base, base+size) was released. */
void hm_place_released(uintptr_t base, size_t size);

#endif
