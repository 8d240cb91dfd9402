/*
 * runtime.c — runtimes: creation, lifecycle (created → started → stopped, poisoned,
 * destroyed), reference counting, the budget account src/vm/ charges, and waits.
 *
 * Invariant: used == bytes committed in reservations this runtime owns (every charge and
 * uncharge comes from src/vm/ under the reservation's lock); used never exceeds
 * hard_limit, or hard_limit + reserve for a charge made at eProcessCritical: the check
 * and the add are one CAS. A wait never misses a free: the generation it compares is
 * read before the failed attempt, and every uncharge bumps it under wait_lock while
 * anyone waits. Locking: see runtime.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common.h"
#include "host/runtime.h"

static _Thread_local int current_level;

void hm_rt_set_level(int level)
{
    current_level = level;
}

static int rt_charge(hm_vm_account_t *a, uint64_t bytes)
{
    hm_runtime_t *rt = (hm_runtime_t *)((char *)a - offsetof(hm_runtime_t, account));
    uint64_t limit = UINT64_MAX;
    if (rt->hard_limit)
        limit = rt->hard_limit + (current_level == eProcessCritical ? rt->reserve : 0);
    uint64_t cur = atomic_load(&rt->used);
    do {
        if (bytes > limit || cur > limit - bytes)
            return HM_E_BUDGET;
    } while (!atomic_compare_exchange_weak(&rt->used, &cur, cur + bytes));
    uint64_t peak = atomic_load(&rt->peak);
    while (cur + bytes > peak && !atomic_compare_exchange_weak(&rt->peak, &peak, cur + bytes))
        ;
    if (rt->soft_limit && cur < rt->soft_limit && cur + bytes >= rt->soft_limit)
        hm_notifier_wake(rt->host);
    return HM_OK;
}

static void rt_uncharge(hm_vm_account_t *a, uint64_t bytes)
{
    hm_runtime_t *rt = (hm_runtime_t *)((char *)a - offsetof(hm_runtime_t, account));
    uint64_t cur = atomic_load(&rt->used), next;
    do {
        next = cur >= bytes ? cur - bytes : 0;
    } while (!atomic_compare_exchange_weak(&rt->used, &cur, next));
    if (cur < bytes)
        atomic_store(&rt->inconsistent, true);
    if (atomic_load(&rt->waiters)) {
        pthread_mutex_lock(&rt->wait_lock);
        rt->free_gen++;
        pthread_cond_broadcast(&rt->wait_cond);
        pthread_mutex_unlock(&rt->wait_lock);
    }
    if (rt->soft_limit && cur >= rt->soft_limit && next < rt->soft_limit)
        hm_notifier_wake(rt->host);
}

static int init_sync(hm_runtime_t *rt)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return ENOMEM;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int err = pthread_cond_init(&rt->wait_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (err)
        return err;
    pthread_mutex_init(&rt->wait_lock, NULL);
    pthread_mutex_init(&rt->vas_lock, NULL);
    return 0;
}

int hm_runtime_create(hm_host_t *host, const hm_runtime_config_t *cfg, hm_runtime_t **out)
{
    if (!host || !cfg || !out || cfg->cb_size < sizeof *cfg)
        return EINVAL;
    hm_runtime_t *rt = calloc(1, sizeof *rt);
    if (!rt)
        return ENOMEM;
    int err = init_sync(rt);
    if (err) {
        free(rt);
        return err;
    }
    rt->mgr.lpVtbl = &hm_manager_vtbl;
    rt->account.charge = rt_charge;
    rt->account.uncharge = rt_uncharge;
    rt->account.name = rt->name;
    rt->host = host;
    snprintf(rt->name, sizeof rt->name, "%s", cfg->name ? cfg->name : "");
    rt->hard_limit = cfg->hard_limit;
    rt->soft_limit = cfg->soft_limit;
    rt->reserve = cfg->critical_reserve;
    rt->as_limit = cfg->address_space_limit;
    rt->wait_timeout_ms = cfg->wait_timeout_ms;
    atomic_init(&rt->refs, 1);
    atomic_init(&rt->state, RT_CREATED);
    pthread_mutex_lock(&host->lock);
    rt->next = host->runtimes;
    host->runtimes = rt;
    pthread_mutex_unlock(&host->lock);
    *out = rt;
    return 0;
}

/* Moves from `from` to `to`; EINVAL if the runtime is elsewhere. */
static int transition(hm_runtime_t *rt, int from, int to)
{
    int expected = from;
    return atomic_compare_exchange_strong(&rt->state, &expected, to) ? 0 : EINVAL;
}

static void end_waits(hm_runtime_t *rt)
{
    pthread_mutex_lock(&rt->wait_lock);
    rt->cancel_gen++;
    pthread_cond_broadcast(&rt->wait_cond);
    pthread_mutex_unlock(&rt->wait_lock);
}

int hm_runtime_start(hm_runtime_t *rt)
{
    return rt ? transition(rt, RT_CREATED, RT_STARTED) : EINVAL;
}

int hm_runtime_stop(hm_runtime_t *rt)
{
    if (!rt || transition(rt, RT_STARTED, RT_STOPPED) != 0)
        return EINVAL;
    end_waits(rt);
    return 0;
}

int hm_runtime_cancel_waits(hm_runtime_t *rt)
{
    if (!rt)
        return EINVAL;
    end_waits(rt);
    return 0;
}

static void unlink_runtime(hm_runtime_t *rt)
{
    hm_host_t *host = rt->host;
    pthread_mutex_lock(&host->lock);
    for (hm_runtime_t **p = &host->runtimes; *p; p = &(*p)->next)
        if (*p == rt) {
            *p = rt->next;
            break;
        }
    ICLRMemoryNotificationCallback *cb = rt->callback;
    rt->callback = NULL;
    pthread_mutex_unlock(&host->lock);
    if (cb)
        cb->lpVtbl->Release(cb);
}

void hm_runtime_destroy(hm_runtime_t *rt)
{
    if (!rt)
        return;
    int prev = atomic_exchange(&rt->state, RT_DESTROYED);
    if (prev == RT_DESTROYED)
        return;
    end_waits(rt);
    unlink_runtime(rt);
    hm_malloc_detach_all(rt);
    hm_vm_release_account(&rt->account);
    hm_vas_clear(rt);
    hm_rt_unref(rt);
}

void hm_rt_ref(hm_runtime_t *rt)
{
    atomic_fetch_add(&rt->refs, 1);
}

uint32_t hm_rt_unref(hm_runtime_t *rt)
{
    uint32_t left = atomic_fetch_sub(&rt->refs, 1) - 1;
    if (left)
        return left;
    pthread_cond_destroy(&rt->wait_cond);
    pthread_mutex_destroy(&rt->wait_lock);
    pthread_mutex_destroy(&rt->vas_lock);
    free(rt->vas);
    free(rt);
    return 0;
}

HRESULT hm_rt_check(hm_runtime_t *rt)
{
    if (atomic_load(&rt->state) != RT_STARTED)
        return HOST_E_CLRNOTAVAILABLE;
    return hm_rt_after(rt, S_OK);
}

HRESULT hm_rt_after(hm_runtime_t *rt, HRESULT hr)
{
    if (!atomic_load(&rt->inconsistent))
        return hr;
    int expected = RT_STARTED;
    if (atomic_compare_exchange_strong(&rt->state, &expected, RT_POISONED))
        return E_FAIL;
    return HOST_E_CLRNOTAVAILABLE;
}

int hm_runtime_get_stats(hm_runtime_t *rt, hm_runtime_stats_t *out)
{
    if (!rt || !out || out->cb_size < HM_RUNTIME_STATS_SIZE_V1)
        return EINVAL;
    out->state = (uint32_t)atomic_load(&rt->state);
    out->committed = atomic_load(&rt->used);
    out->peak_committed = atomic_load(&rt->peak);
    pthread_mutex_lock(&rt->vas_lock);
    out->address_space = rt->vas_used;
    pthread_mutex_unlock(&rt->vas_lock);
    out->allocations = atomic_load(&rt->n_alloc);
    out->failures = atomic_load(&rt->n_fail);
    out->waits = atomic_load(&rt->n_wait);
    out->wait_timeouts = atomic_load(&rt->n_timeout);
    out->waits_abandoned = atomic_load(&rt->n_abandoned);
    out->reserve_used = rt->hard_limit && out->committed > rt->hard_limit
                            ? out->committed - rt->hard_limit : 0;
    out->notifications = atomic_load(&rt->n_notify);
    if (out->cb_size >= sizeof *out) {
        hm_vm_stats_t vs;
        hm_vm_account_stats(&rt->account, &vs);
        out->reservations = vs.reservations;
        out->reserved_bytes = vs.reserved_bytes;
        out->locked_bytes = vs.locked_bytes;
        out->watched_bytes = vs.watched_bytes;
    }
    return 0;
}

const char *hm_runtime_name(const hm_runtime_t *rt)
{
    return rt ? rt->name : "";
}

IHostMemoryManager *hm_runtime_memory_manager(hm_runtime_t *rt)
{
    if (!rt)
        return NULL;
    hm_rt_ref(rt);
    return &rt->mgr;
}

/* ---- waits -------------------------------------------------------------------------- */

void hm_wait_begin(hm_runtime_t *rt, hm_wait_t *w)
{
    atomic_fetch_add(&rt->waiters, 1);
    pthread_mutex_lock(&rt->wait_lock);
    w->free_gen = rt->free_gen;
    w->cancel_gen = rt->cancel_gen;
    pthread_mutex_unlock(&rt->wait_lock);
    clock_gettime(CLOCK_MONOTONIC, &w->deadline);
    w->deadline.tv_sec += rt->wait_timeout_ms / 1000;
    w->deadline.tv_nsec += (long)(rt->wait_timeout_ms % 1000) * 1000000L;
    if (w->deadline.tv_nsec >= 1000000000L) {
        w->deadline.tv_sec++;
        w->deadline.tv_nsec -= 1000000000L;
    }
}

HRESULT hm_wait_for_memory(hm_runtime_t *rt, hm_wait_t *w)
{
    HRESULT hr = S_OK;
    atomic_fetch_add(&rt->n_wait, 1);
    pthread_mutex_lock(&rt->wait_lock);
    while (rt->free_gen == w->free_gen && rt->cancel_gen == w->cancel_gen &&
           atomic_load(&rt->state) == RT_STARTED) {
        if (pthread_cond_timedwait(&rt->wait_cond, &rt->wait_lock, &w->deadline) == ETIMEDOUT) {
            hr = HOST_E_TIMEOUT;
            break;
        }
    }
    if (hr == S_OK && (rt->cancel_gen != w->cancel_gen || atomic_load(&rt->state) != RT_STARTED))
        hr = HOST_E_ABANDONED;
    w->free_gen = rt->free_gen;
    pthread_mutex_unlock(&rt->wait_lock);
    if (hr == HOST_E_TIMEOUT)
        atomic_fetch_add(&rt->n_timeout, 1);
    else if (hr == HOST_E_ABANDONED)
        atomic_fetch_add(&rt->n_abandoned, 1);
    return hr;
}

void hm_wait_end(hm_runtime_t *rt)
{
    atomic_fetch_sub(&rt->waiters, 1);
}
