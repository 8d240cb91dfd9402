/*
 * hostmem/hostmem.h — hostmem's own extras beside the Win32 surface: version, the commit
 * limit, the guard-page notification and process-wide statistics. Everything here is
 * prefixed hm_/HM_. Same major version = same ABI.
 */
#ifndef HOSTMEM_HOSTMEM_H
#define HOSTMEM_HOSTMEM_H

#include <stddef.h>
#include <stdint.h>

#include "hostmem/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HM_VERSION_MAJOR 0
#define HM_VERSION_MINOR 1
#define HM_VERSION_PATCH 0
#define HM_VERSION_HEX ((HM_VERSION_MAJOR << 16) | (HM_VERSION_MINOR << 8) | HM_VERSION_PATCH)

/* The library's version at run time, as HM_VERSION_HEX and as "MAJOR.MINOR.PATCH". */
HM_API unsigned hm_version(void);
HM_API const char *hm_version_string(void);

/*
 * Commit limit: the most bytes that may be committed at once by this process through
 * hostmem. A commit that would pass it fails with ERROR_COMMITMENT_LIMIT (1455) and changes
 * nothing. Default: the environment variable HOSTMEM_COMMIT_LIMIT (bytes, with an optional
 * K/M/G/T suffix) if set, else the kernel's CommitLimit from /proc/meminfo, else unlimited.
 * Setting a limit below the bytes already committed is allowed: later commits fail until
 * enough is decommitted. 0 means unlimited.
 */
HM_API void hm_set_commit_limit(uint64_t bytes);
HM_API uint64_t hm_commit_limit(void);

/*
 * Guard pages. Windows raises STATUS_GUARD_PAGE_VIOLATION on the first touch of a
 * PAGE_GUARD page and clears the guard. Linux has no such exception: hostmem clears the
 * guard, retries the access (which then succeeds if the base protection allows it) and
 * calls this callback, if one is set, with the faulting address. The callback runs inside
 * a SIGSEGV handler: it may only do async-signal-safe work. NULL removes it.
 */
typedef void (*hm_guard_page_callback_t)(void *fault_address, void *context);
HM_API void hm_set_guard_page_callback(hm_guard_page_callback_t callback, void *context);

/* Process-wide statistics. cb_size must be set to sizeof(hm_stats_t) by the caller. */
typedef struct hm_stats {
    uint32_t cb_size;
    uint32_t reserved0;
    uint64_t reservations;     /* live reservations */
    uint64_t reserved_bytes;   /* address space of all live reservations */
    uint64_t committed_bytes;  /* commit charge */
    uint64_t commit_limit;     /* 0 = unlimited */
    uint64_t locked_bytes;     /* VirtualLock'ed bytes */
    uint64_t guard_pages_hit;  /* guard pages cleared by a first touch */
} hm_stats_t;

/* Fills *stats; returns 0, or -1 if stats is NULL or cb_size is too small. */
HM_API int hm_get_stats(hm_stats_t *stats);

#ifdef __cplusplus
}
#endif

#endif /* HOSTMEM_HOSTMEM_H */
