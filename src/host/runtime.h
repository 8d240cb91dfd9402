/*
 * runtime.h — a hosted runtime and its host, as src/host/ sees them.
 *
 * A runtime is one COM object (IHostMemoryManager, first member) plus a budget account
 * that src/vm/ charges under reservation locks (account.charge/uncharge: atomics only,
 * plus wait_lock to wake waiters). Lock order: reservation (vm) → wait_lock; host->lock →
 * vas_lock is never nested; no lock is held across a call into vm that may wait, and no
 * lock is held while a notification callback runs.
 * Lifetime: refs counts the host's reference (dropped by hm_runtime_destroy) and COM
 * references; the struct is freed when it reaches 0.
 */
#ifndef HM_HOST_RUNTIME_H
#define HM_HOST_RUNTIME_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "hostmem/host.h"
#include "vm/vm.h"

enum { RT_CREATED = 0, RT_STARTED, RT_STOPPED, RT_POISONED, RT_DESTROYED };

typedef struct hm_vas_entry {
    uintptr_t start;
    size_t size;
} hm_vas_entry_t;

struct hm_runtime {
    IHostMemoryManager mgr;     /* first: the COM object; (hm_runtime_t *)mgr works */
    hm_vm_account_t account;    /* charged by src/vm/ */
    /* ---- const after create ---- */
    hm_host_t *host;
    char name[64];
    uint64_t hard_limit, soft_limit, reserve, as_limit;
    uint32_t wait_timeout_ms;
    /* ---- atomics ---- */
    _Atomic uint32_t refs;
    _Atomic int state;
    _Atomic uint64_t used, peak;
    atomic_bool inconsistent;   /* bookkeeping broke (uncharge underflow): next call E_FAIL */
    _Atomic uint64_t n_alloc, n_fail, n_wait, n_timeout, n_abandoned, n_notify;
    _Atomic uint32_t waiters;
    /* ---- under wait_lock ---- */
    pthread_mutex_t wait_lock;
    pthread_cond_t wait_cond;   /* CLOCK_MONOTONIC */
    uint64_t free_gen;          /* bumped by each uncharge while someone waits */
    uint64_t cancel_gen;        /* bumped by stop and cancel_waits */
    /* ---- under vas_lock ---- */
    pthread_mutex_t vas_lock;
    hm_vas_entry_t *vas;
    size_t n_vas, cap_vas;
    uint64_t vas_used;
    /* ---- under host->lock ---- */
    ICLRMemoryNotificationCallback *callback;
    int last_notice;            /* EMemoryAvailable last delivered, 0 = none yet */
    struct hm_malloc *mallocs;  /* IHostMalloc objects of this runtime */
    hm_runtime_t *next;
};

struct hm_host {
    pthread_mutex_t lock;       /* runtimes list, callbacks, notifier start/stop */
    hm_runtime_t *runtimes;
    char *cgroup_dir, *meminfo_path, *psi_path; /* NULL = defaults; psi "" = off */
    uint32_t poll_ms;
    /* notifier (notify.c) */
    bool notifier_running;
    pthread_t notifier;
    int wake_fd;                /* eventfd, -1 until the notifier starts */
    atomic_uint wakers;         /* hm_notifier_wake calls between loading and signalling it */
    atomic_bool stopping;
};

static inline hm_runtime_t *hm_rt_of(IHostMemoryManager *mgr)
{
    return (hm_runtime_t *)mgr;
}

/* The critical level of the manager call in progress on this thread (budget charge). */
void hm_rt_set_level(int level);

/* Runtime lifecycle helpers (runtime.c). */
void hm_rt_ref(hm_runtime_t *rt);
/* Drops a reference; frees the runtime at 0. Returns the references left. */
uint32_t hm_rt_unref(hm_runtime_t *rt);
/* Allocates for the runtime with its budget rules (waits for eAppDomainCritical). */
HRESULT hm_rt_virtual_alloc(hm_runtime_t *rt, void *addr, SIZE_T size, DWORD type, DWORD prot,
                            int level, void **out);
/* HOST_E_CLRNOTAVAILABLE unless started; E_FAIL once (then poisoned) if bookkeeping broke. */
HRESULT hm_rt_check(hm_runtime_t *rt);
/* After a vm call: E_FAIL (and poison) if that call broke the bookkeeping, else hr. */
HRESULT hm_rt_after(hm_runtime_t *rt, HRESULT hr);

/* Waits (runtime.c): snapshot before an attempt, wait after a budget failure. */
typedef struct hm_wait {
    uint64_t free_gen, cancel_gen;
    struct timespec deadline;
} hm_wait_t;
void hm_wait_begin(hm_runtime_t *rt, hm_wait_t *w);
/* S_OK: memory was freed, try again; HOST_E_TIMEOUT; HOST_E_ABANDONED. */
HRESULT hm_wait_for_memory(hm_runtime_t *rt, hm_wait_t *w);
void hm_wait_end(hm_runtime_t *rt);

/* hm status → HRESULT (manager.c). */
HRESULT hm_hresult_of(int status);

/* Memory load (load.c): the tightest of budget, cgroup v2 and /proc/meminfo. */
void hm_load_compute(hm_runtime_t *rt, DWORD *load, uint64_t *available);
/* This process's cgroup v2 directory (into dir) and its memory.max, memory.high and
 * memory.current (UINT64_MAX where "max" or unreadable); false if there is none. */
bool hm_load_own_cgroup(char *dir, size_t cap, uint64_t *max, uint64_t *high, uint64_t *current);
/* Notifier (notify.c). */
int hm_notifier_ensure(hm_host_t *host);
void hm_notifier_wake(hm_host_t *host);
void hm_notifier_stop(hm_host_t *host);
/* Manager vtable (manager.c). */
extern const IHostMemoryManagerVtbl hm_manager_vtbl;
/* IHostMalloc (malloc.c). detach_all gives every heap's chunks back (runtime teardown). */
HRESULT hm_malloc_create(hm_runtime_t *rt, DWORD type, IHostMalloc **out);
void hm_malloc_detach_all(hm_runtime_t *rt);
/* Address-space account (vas.c). */
HRESULT hm_vas_needs(hm_runtime_t *rt, uintptr_t start, size_t size);
HRESULT hm_vas_acquired(hm_runtime_t *rt, uintptr_t start, size_t size);
HRESULT hm_vas_released(hm_runtime_t *rt, uintptr_t start);
void hm_vas_clear(hm_runtime_t *rt);

#endif
