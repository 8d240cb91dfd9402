/*
 * vas.c — Needs/Acquired/ReleasedVirtualAddressSpace: an account of the address space a
 * runtime maps outside the manager (e.g. file views), charged against its
 * address_space_limit. Released takes only the start, so sizes are remembered.
 * Invariant: vas_used == the sum of sizes in vas[], entries have distinct starts.
 * Locking: vas_lock guards vas[], n_vas, cap_vas, vas_used.
 */
#include <stdlib.h>

#include "host/runtime.h"

static bool fits(const hm_runtime_t *rt, size_t size)
{
    return !rt->as_limit || (size <= rt->as_limit && rt->vas_used <= rt->as_limit - size);
}

HRESULT hm_vas_needs(hm_runtime_t *rt, uintptr_t start, size_t size)
{
    if (!size || start + size < start)
        return E_INVALIDARG;
    pthread_mutex_lock(&rt->vas_lock);
    bool ok = fits(rt, size);
    pthread_mutex_unlock(&rt->vas_lock);
    return ok ? S_OK : E_OUTOFMEMORY;
}

static ssize_t find(const hm_runtime_t *rt, uintptr_t start)
{
    for (size_t i = 0; i < rt->n_vas; i++)
        if (rt->vas[i].start == start)
            return (ssize_t)i;
    return -1;
}

HRESULT hm_vas_acquired(hm_runtime_t *rt, uintptr_t start, size_t size)
{
    if (!size || start + size < start)
        return E_INVALIDARG;
    HRESULT hr = S_OK;
    pthread_mutex_lock(&rt->vas_lock);
    if (find(rt, start) >= 0) {
        hr = HOST_E_INVALIDOPERATION;
    } else if (!fits(rt, size)) {
        hr = E_OUTOFMEMORY;
    } else if (rt->n_vas == rt->cap_vas) {
        size_t cap = rt->cap_vas ? rt->cap_vas * 2 : 8;
        hm_vas_entry_t *nv = realloc(rt->vas, cap * sizeof *nv);
        if (!nv)
            hr = E_OUTOFMEMORY;
        else {
            rt->vas = nv;
            rt->cap_vas = cap;
        }
    }
    if (hr == S_OK) {
        rt->vas[rt->n_vas++] = (hm_vas_entry_t){start, size};
        rt->vas_used += size;
    }
    pthread_mutex_unlock(&rt->vas_lock);
    return hr;
}

HRESULT hm_vas_released(hm_runtime_t *rt, uintptr_t start)
{
    pthread_mutex_lock(&rt->vas_lock);
    ssize_t i = find(rt, start);
    if (i >= 0) {
        rt->vas_used -= rt->vas[i].size;
        rt->vas[i] = rt->vas[--rt->n_vas];
    }
    pthread_mutex_unlock(&rt->vas_lock);
    return i >= 0 ? S_OK : HOST_E_INVALIDOPERATION;
}

void hm_vas_clear(hm_runtime_t *rt)
{
    pthread_mutex_lock(&rt->vas_lock);
    rt->n_vas = 0;
    rt->vas_used = 0;
    pthread_mutex_unlock(&rt->vas_lock);
}
