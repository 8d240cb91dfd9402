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
#include "hostmem/memoryapi.h"

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
    /* ---- since 0.2: fields below are filled when cb_size covers them ---- */
    uint64_t watched_bytes;    /* size of the live MEM_WRITE_WATCH reservations */
} hm_stats_t;

/* The size of hm_stats_t in 0.1, the smallest cb_size accepted. */
#define HM_STATS_SIZE_V1 offsetof(hm_stats_t, watched_bytes)

/* Fills *stats (the fields cb_size covers); returns 0, or -1 if stats is NULL or cb_size
 * is smaller than HM_STATS_SIZE_V1. */
HM_API int hm_get_stats(hm_stats_t *stats);

/*
 * Write watch (MEM_WRITE_WATCH, GetWriteWatch, ResetWriteWatch). Two engines; the first
 * use chooses one for the life of the process:
 *   "kernel"   userfaultfd write-protect in async mode + PAGEMAP_SCAN (Linux 6.7+): a
 *              write costs no signal, and writes by the kernel (read(2) into a watched
 *              buffer) are recorded like any other;
 *   "mprotect" watched pages are mapped read-only until written; the first write faults
 *              into hostmem's SIGSEGV handler (chained to any earlier one). Used where the
 *              kernel engine is missing, under Valgrind, or when asked for.
 * The environment variable HOSTMEM_WRITE_WATCH chooses: "mprotect"; "kernel" (if the
 * kernel cannot, MEM_WRITE_WATCH fails with ERROR_NOT_SUPPORTED and the engine is
 * "none"); "auto" or unset: the kernel engine if it works, else mprotect.
 * hm_write_watch_engine returns "kernel", "mprotect" or "none", and in *why (if why is not
 * NULL) a one-line reason such as "PAGEMAP_SCAN + userfaultfd async WP available",
 * "HOSTMEM_WRITE_WATCH=mprotect", "running under Valgrind" or "userfaultfd: EPERM". Both
 * strings live as long as the process.
 */
HM_API const char *hm_write_watch_engine(const char **why);

/*
 * hm_watch_mark_written: what Windows does for a ReadFile into a watched buffer. Every page
 * of [addr, addr+size) is reported written by the next GetWriteWatch and may be written by
 * the kernel. With the mprotect engine the kernel cannot take the fault of its own write:
 * read(2), recv(2)... into a watched page not written since the last reset fail with
 * EFAULT unless this is called first. With the kernel engine such writes are recorded
 * anyway (only the pages actually written); call it to get Windows' "the whole buffer"
 * report. Returns TRUE, or FALSE with the last error: ERROR_INVALID_PARAMETER (size 0, or
 * the range is not inside one MEM_WRITE_WATCH allocation), ERROR_NOACCESS (a page is not
 * committed, not writable or a guard page; nothing marked), ERROR_NOT_ENOUGH_MEMORY.
 */
HM_API BOOL hm_watch_mark_written(void *addr, size_t size);

/*
 * The machine and configuration hostmem runs with (what `hostmem info` prints). cb_size
 * must be set to sizeof(hm_system_info_t) by the caller. Strings live as long as the
 * process. Returns 0, or -1 if info is NULL or cb_size is too small.
 */
typedef struct hm_system_info {
    uint32_t cb_size;
    uint32_t page_size;              /* dwPageSize */
    uint32_t allocation_granularity; /* dwAllocationGranularity */
    uint32_t psi;                    /* 1: /proc/pressure/memory is readable */
    uint64_t large_page_minimum;     /* GetLargePageMinimum() */
    uint64_t huge_pages_total;       /* the kernel's pool of large pages (vm.nr_hugepages) */
    uint64_t huge_pages_free;
    const char *large_page_policy;   /* "hugetlb" (empty pool: error 1450) or "thp" */
    const char *write_watch_engine;  /* "kernel", "mprotect" or "none" */
    const char *write_watch_reason;  /* why that engine */
    uint32_t userfaultfd;            /* 1: userfaultfd with async write-protect works */
    uint32_t pagemap_scan;           /* 1: the PAGEMAP_SCAN ioctl works */
    uint32_t lock_memory_right;      /* 1: CAP_IPC_LOCK is effective */
    uint32_t reserved0;
    uint64_t memlock_limit;          /* RLIMIT_MEMLOCK soft limit; UINT64_MAX = unlimited */
    uint64_t commit_limit;           /* hm_commit_limit(); 0 = unlimited */
    uint64_t committed;              /* bytes committed through hostmem now */
    char cgroup[256];                /* this process's cgroup v2 directory, "" if none */
    uint64_t cgroup_max, cgroup_high, cgroup_current; /* bytes; UINT64_MAX = none/unknown */
} hm_system_info_t;

HM_API int hm_get_system_info(hm_system_info_t *info);

/*
 * Regions. hm_walk_regions() lists an address space the way VMMap does: one hm_region_t
 * per VirtualQuery region, in address order from 0 to the end of user space (free gaps
 * included), with what VirtualQuery cannot say: which hosted runtime owns a hostmem
 * region, what kind of allocation it is, and for the kernel's view the mapped file and
 * the resident and locked bytes.
 *   pid 0 (or getpid()): this process, as VirtualQuery sees it (hostmem's own records for
 *     its reservations, the kernel's view for the rest);
 *   another pid: the kernel's view of that process (/proc/PID/smaps) in Windows terms.
 * The visitor returns 0 to go on, nonzero to stop. Returns 0 when the walk completed or
 * the visitor stopped it, else a Win32 error code (also the thread's last error):
 * ERROR_INVALID_PARAMETER (no visitor, no such process), ERROR_ACCESS_DENIED (not
 * allowed to read that process's maps), ERROR_NOT_ENOUGH_MEMORY.
 */
#define HM_REGION_HOSTMEM 0x01u      /* a reservation made through hostmem */
#define HM_REGION_WRITE_WATCH 0x02u  /* MEM_WRITE_WATCH */
#define HM_REGION_LARGE_PAGES 0x04u  /* MEM_LARGE_PAGES */
#define HM_REGION_PHYSICAL 0x08u     /* MEM_PHYSICAL (AWE window) */
#define HM_REGION_PLACEHOLDER 0x10u  /* a placeholder (VirtualAlloc2) */
#define HM_REGION_KERNEL_VIEW 0x20u  /* translated from the kernel's view */

typedef struct hm_region {
    void *base;                 /* as MEMORY_BASIC_INFORMATION */
    void *alloc_base;
    uint64_t size;
    uint32_t state, protect, alloc_protect, type; /* MEM_* and PAGE_* values */
    uint32_t flags;             /* HM_REGION_* */
    const char *owner;          /* the owning runtime's name, or NULL */
    const char *path;           /* kernel view: mapped file, "[stack]", "[heap]"...; or "" */
    uint64_t rss_bytes;         /* kernel view: resident bytes (0 otherwise) */
    uint64_t locked_bytes;      /* kernel view: locked bytes (0 otherwise) */
} hm_region_t;

typedef int (*hm_region_visitor_t)(const hm_region_t *region, void *context);
HM_API uint32_t hm_walk_regions(int pid, hm_region_visitor_t visit, void *context);

#ifdef __cplusplus
}
#endif

#endif /* HOSTMEM_HOSTMEM_H */
