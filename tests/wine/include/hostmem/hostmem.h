/*
 * hostmem/hostmem.h (tests/wine) — stand-in for hostmem's extensions header in the Windows
 * build. It declares none of the hm_ functions: a case that calls one is Linux-only (guarded
 * with HM_WINE / HM_LINUX_ONLY, see tests/support/testlib.h) and does not compile here.
 * hm_stats_t keeps only the counters Windows can measure; testlib_win.c fills them from a
 * VirtualQuery walk of the whole process (MEM_PRIVATE memory) and QueryWorkingSetEx. A case
 * that reads another counter (commit_limit, guard_pages_hit) does not compile here either.
 */
#ifndef HM_WINE_HOSTMEM_H
#define HM_WINE_HOSTMEM_H

#include <stdint.h>

typedef struct hm_stats {
    uint64_t reservations;    /* MEM_PRIVATE allocations (distinct AllocationBase) */
    uint64_t reserved_bytes;  /* MEM_PRIVATE address space, reserved or committed */
    uint64_t committed_bytes; /* MEM_PRIVATE committed bytes */
    uint64_t locked_bytes;    /* committed pages QueryWorkingSetEx reports Locked */
} hm_stats_t;

#endif
