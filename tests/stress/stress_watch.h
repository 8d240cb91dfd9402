/*
 * stress_watch.h — what the write-watch stress programs share (test_watch_stress.c,
 * test_watch_model_stress.c): the engine in use (printed, and named in the operation log),
 * the three ways to make a watched reservation (VirtualAlloc; VirtualAlloc2 with address
 * requirements; replacing a placeholder) and the placeholder flags.
 */
#ifndef HM_TESTS_STRESS_WATCH_H
#define HM_TESTS_STRESS_WATCH_H

#include <stdio.h>

#include "stress.h"

#define PH_RESERVE (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)
#define PRESERVE (MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)
#define COALESCE (MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS)

enum { KIND_ALLOC, KIND_ALLOC2, KIND_PLACEHOLDER, KIND_COUNT };

#define HIGHEST_BOUND ((uintptr_t)0x3FFFFFFFFFFF) /* 64 TiB: a bound that still leaves room */

static const char *engine_name STRESS_UNUSED;

static STRESS_UNUSED void print_engine(void)
{
    const char *why = "";
    engine_name = hm_write_watch_engine(&why);
    printf("write-watch engine: %s (%s)\n", engine_name, why);
}

/* The case's line in the operation log names the engine it ran with. */
static STRESS_UNUSED void log_ops(const char *case_name, uint64_t ops, uint64_t ns)
{
    char name[96];
    snprintf(name, sizeof name, "%s[%s]", case_name, engine_name);
    stress_log_ops(name, ops, ns);
}

/* Address requirements: alignment 64 KiB..1 MiB, the range inside [4 GiB, 64 TiB). */
static STRESS_UNUSED void *alloc2_watched(uint64_t *rng, SIZE_T size, DWORD type, DWORD prot,
                                           size_t *align)
{
    MEM_ADDRESS_REQUIREMENTS req = {(void *)(uintptr_t)0x100000000ull, (void *)HIGHEST_BOUND,
                                    (SIZE_T)G << stress_below(rng, 5)};
    MEM_EXTENDED_PARAMETER ext = {{MemExtendedParameterAddressRequirements, 0}, {0}};
    ext.Pointer = &req;
    *align = req.Alignment;
    return VirtualAlloc2(NULL, NULL, size, type, prot, &ext, 1);
}

static STRESS_UNUSED bool in_bounds(const void *p, SIZE_T size, size_t align)
{
    uintptr_t a = (uintptr_t)p;
    return a % align == 0 && a >= 0x100000000ull && a + size - 1 <= HIGHEST_BOUND;
}

#endif /* HM_TESTS_STRESS_WATCH_H */
