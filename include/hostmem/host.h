/*
 * hostmem/host.h — hostmem's host API: a host owns runtimes; each runtime has a name, a
 * budget and its own IHostMemoryManager (hosting.h) to hand to the runtime it hosts.
 *
 * Budget (bytes of committed memory, including IHostMalloc heaps):
 *   hard_limit        no allocation passes it (0 = no limit) …
 *   critical_reserve  … except eProcessCritical ones, which may use this much more;
 *   soft_limit        at or above it the runtime is told eMemoryAvailableLow (0 = none);
 *   wait_timeout_ms   how long an eAppDomainCritical allocation waits for memory to be
 *                     freed before HOST_E_TIMEOUT;
 *   address_space_limit  bytes of address space the runtime may map outside the manager
 *                     (Needs/Acquired/ReleasedVirtualAddressSpace); 0 = no limit.
 * Lifecycle: created → started → stopped. Manager calls outside "started" return
 * HOST_E_CLRNOTAVAILABLE; stopping ends waits with HOST_E_ABANDONED. Destroying a runtime
 * releases every region it still owns; its COM objects stay valid (answering
 * HOST_E_CLRNOTAVAILABLE) until their last Release.
 *
 * All functions return 0 or an errno value (EINVAL for bad arguments, ENOMEM).
 * Thread-safe.
 */
#ifndef HOSTMEM_HOST_H
#define HOSTMEM_HOST_H

#include "hostmem/hosting.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct hm_host hm_host_t;
typedef struct hm_runtime hm_runtime_t;

/* Where a host reads memory load from. NULL fields mean the real files: the process's own
 * cgroup v2 directory (from /proc/self/cgroup), /proc/meminfo, /proc/pressure/memory.
 * Tests and simulations point them at files of their own. */
typedef struct hm_host_config {
    uint32_t cb_size;          /* sizeof(hm_host_config_t) */
    const char *cgroup_dir;    /* holds memory.max, memory.high, memory.current */
    const char *meminfo_path;
    const char *psi_path;      /* "" disables PSI triggers */
    uint32_t poll_interval_ms; /* notifier re-reads load at least this often (default 250) */
} hm_host_config_t;

typedef struct hm_runtime_config {
    uint32_t cb_size;          /* sizeof(hm_runtime_config_t) */
    const char *name;          /* copied; at most 63 bytes are kept */
    uint64_t hard_limit;
    uint64_t soft_limit;
    uint64_t critical_reserve;
    uint32_t wait_timeout_ms;
    uint64_t address_space_limit;
} hm_runtime_config_t;

typedef struct hm_runtime_stats {
    uint32_t cb_size;            /* sizeof(hm_runtime_stats_t) */
    uint32_t state;              /* 0 created, 1 started, 2 stopped, 3 poisoned, 4 destroyed */
    uint64_t committed;          /* bytes charged to the budget now */
    uint64_t peak_committed;
    uint64_t address_space;      /* bytes acquired outside the manager */
    uint64_t allocations, failures, waits, wait_timeouts, waits_abandoned;
    uint64_t reserve_used;       /* bytes above hard_limit now (eProcessCritical) */
    uint64_t notifications;      /* OnMemoryNotification calls made */
    /* ---- since 0.2: filled when cb_size covers them (HM_RUNTIME_STATS_SIZE_V1 before) ---- */
    uint64_t reservations;       /* live reservations the runtime owns */
    uint64_t reserved_bytes;     /* their address space */
    uint64_t locked_bytes;       /* VirtualLock'ed bytes in them */
    uint64_t watched_bytes;      /* size of those made with MEM_WRITE_WATCH */
} hm_runtime_stats_t;

#define HM_RUNTIME_STATS_SIZE_V1 offsetof(hm_runtime_stats_t, reservations)

HM_API int hm_host_create(const hm_host_config_t *config, hm_host_t **out);
/* Destroys every runtime still in the host, stops the notifier thread. */
HM_API void hm_host_destroy(hm_host_t *host);

HM_API int hm_runtime_create(hm_host_t *host, const hm_runtime_config_t *config,
                             hm_runtime_t **out);
HM_API int hm_runtime_start(hm_runtime_t *rt);
HM_API int hm_runtime_stop(hm_runtime_t *rt);
HM_API void hm_runtime_destroy(hm_runtime_t *rt);
/* Ends every wait in progress with HOST_E_ABANDONED (later allocations wait again). */
HM_API int hm_runtime_cancel_waits(hm_runtime_t *rt);
HM_API int hm_runtime_get_stats(hm_runtime_t *rt, hm_runtime_stats_t *out);
HM_API const char *hm_runtime_name(const hm_runtime_t *rt);
/* The runtime's manager, with a reference the caller must Release. */
HM_API IHostMemoryManager *hm_runtime_memory_manager(hm_runtime_t *rt);

#ifdef __cplusplus
}
#endif

#endif /* HOSTMEM_HOST_H */
