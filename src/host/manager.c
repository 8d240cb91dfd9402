/*
 * manager.c — IHostMemoryManager: each method checks the runtime's state, acts for the
 * runtime's account (so src/vm/ charges its budget and refuses other runtimes'
 * reservations), calls the Win32 layer, and turns the outcome into an HRESULT. Over
 * budget: eTaskCritical fails at once (E_OUTOFMEMORY), eAppDomainCritical waits for a
 * free until its deadline, eProcessCritical may use the reserve (runtime.c's charge).
 * No lock is held here; waits happen outside every lock of vm.
 */
#include <string.h>

#include "common.h"
#include "host/runtime.h"
#include "win32/win32.h"

#define HRESULT_FROM_WIN32(e) ((HRESULT)(e) <= 0 ? (HRESULT)(e) : (HRESULT)(((e) & 0xFFFFu) | 0x80070000u))

HRESULT hm_hresult_of(int status)
{
    switch (status) {
    case HM_OK: return S_OK;
    case HM_E_NOT_OWNER: return HOST_E_NOT_OWNER;
    case HM_E_NO_MEMORY:
    case HM_E_COMMITMENT_LIMIT:
    case HM_E_BUDGET: return E_OUTOFMEMORY;
    case HM_E_NOACCESS: return E_POINTER;
    case HM_E_NOT_HOST: return HOST_E_INVALIDOPERATION;
    default: return HRESULT_FROM_WIN32(hm_status_win32(status));
    }
}

/* Acting-for scope around one Win32 call. */
static void act(hm_runtime_t *rt, int level)
{
    hm_vm_set_acting(&rt->account);
    hm_rt_set_level(level);
}

static void unact(void)
{
    hm_vm_set_acting(NULL);
    hm_rt_set_level(eTaskCritical);
}

static HRESULT QueryInterface_(IHostMemoryManager *This, REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (!riid)
        return E_INVALIDARG;
    if (memcmp(riid, &IID_IUnknown, sizeof(IID)) && memcmp(riid, &IID_IHostMemoryManager, sizeof(IID)))
        return E_NOINTERFACE;
    hm_rt_ref(hm_rt_of(This));
    *ppv = This;
    return S_OK;
}

static ULONG AddRef_(IHostMemoryManager *This)
{
    hm_runtime_t *rt = hm_rt_of(This);
    return atomic_fetch_add(&rt->refs, 1) + 1;
}

static ULONG Release_(IHostMemoryManager *This)
{
    return hm_rt_unref(hm_rt_of(This));
}

/* One allocation attempt for the runtime; *st = hm status on failure. */
static void *try_alloc(hm_runtime_t *rt, void *addr, SIZE_T size, DWORD type, DWORD prot,
                       int level, int *st)
{
    act(rt, level);
    void *p = VirtualAlloc(addr, size, type, prot);
    *st = p ? HM_OK : hm_win32_last_status();
    unact();
    return p;
}

HRESULT hm_rt_virtual_alloc(hm_runtime_t *rt, void *addr, SIZE_T size, DWORD type, DWORD prot,
                            int level, void **out)
{
    bool may_wait = level == eAppDomainCritical;
    hm_wait_t w;
    int st;
    if (may_wait)
        hm_wait_begin(rt, &w);
    HRESULT hr;
    for (;;) {
        void *p = try_alloc(rt, addr, size, type, prot, level, &st);
        if (p) {
            *out = p;
            hr = S_OK;
            break;
        }
        hr = hm_hresult_of(st);
        if (st != HM_E_BUDGET || !may_wait || (hr = hm_wait_for_memory(rt, &w)) != S_OK)
            break;
    }
    if (may_wait)
        hm_wait_end(rt);
    atomic_fetch_add(hr == S_OK ? &rt->n_alloc : &rt->n_fail, 1);
    return hm_rt_after(rt, hr);
}

static HRESULT VirtualAlloc_(IHostMemoryManager *This, void *pAddress, SIZE_T dwSize,
                             DWORD flAllocationType, DWORD flProtect,
                             EMemoryCriticalLevel level, void **ppMem)
{
    hm_runtime_t *rt = hm_rt_of(This);
    if (!ppMem)
        return E_POINTER;
    *ppMem = NULL;
    HRESULT hr = hm_rt_check(rt);
    if (hr != S_OK)
        return hr;
    if ((unsigned)level > eProcessCritical)
        return E_INVALIDARG;
    return hm_rt_virtual_alloc(rt, pAddress, dwSize, flAllocationType, flProtect, level, ppMem);
}

static HRESULT VirtualFree_(IHostMemoryManager *This, LPVOID lpAddress, SIZE_T dwSize,
                            DWORD dwFreeType)
{
    hm_runtime_t *rt = hm_rt_of(This);
    HRESULT hr = hm_rt_check(rt);
    if (hr != S_OK)
        return hr;
    act(rt, eTaskCritical);
    BOOL ok = VirtualFree(lpAddress, dwSize, dwFreeType);
    int st = ok ? HM_OK : hm_win32_last_status();
    unact();
    if (st == HM_E_NOT_HOST || st == HM_E_NOT_ALLOCATED)
        return HOST_E_INVALIDOPERATION; /* not memory the host gave out */
    return hm_rt_after(rt, hm_hresult_of(st));
}

static HRESULT VirtualQuery_(IHostMemoryManager *This, void *lpAddress, void *lpBuffer,
                             SIZE_T dwLength, SIZE_T *pResult)
{
    hm_runtime_t *rt = hm_rt_of(This);
    HRESULT hr = hm_rt_check(rt);
    if (hr != S_OK)
        return hr;
    if (!pResult || !lpBuffer)
        return E_POINTER;
    MEMORY_BASIC_INFORMATION mbi;
    hm_vm_account_t *owner = NULL;
    SIZE_T n = hm_win32_query(lpAddress, &mbi, dwLength, &owner);
    if (n == 0)
        return hm_hresult_of(hm_win32_last_status());
    if (owner && owner != &rt->account)
        return HOST_E_NOT_OWNER;
    memcpy(lpBuffer, &mbi, sizeof mbi);
    *pResult = n;
    return S_OK;
}

static HRESULT VirtualProtect_(IHostMemoryManager *This, void *lpAddress, SIZE_T dwSize,
                               DWORD flNewProtect, DWORD *pflOldProtect)
{
    hm_runtime_t *rt = hm_rt_of(This);
    HRESULT hr = hm_rt_check(rt);
    if (hr != S_OK)
        return hr;
    if (!pflOldProtect)
        return E_POINTER;
    act(rt, eTaskCritical);
    BOOL ok = VirtualProtect(lpAddress, dwSize, flNewProtect, pflOldProtect);
    int st = ok ? HM_OK : hm_win32_last_status();
    unact();
    return hm_rt_after(rt, hm_hresult_of(st));
}

static HRESULT GetMemoryLoad_(IHostMemoryManager *This, DWORD *pMemoryLoad, SIZE_T *pAvailableBytes)
{
    hm_runtime_t *rt = hm_rt_of(This);
    HRESULT hr = hm_rt_check(rt);
    if (hr != S_OK)
        return hr;
    if (!pMemoryLoad || !pAvailableBytes)
        return E_POINTER;
    uint64_t avail;
    hm_load_compute(rt, pMemoryLoad, &avail);
    *pAvailableBytes = (SIZE_T)avail;
    return S_OK;
}

static HRESULT RegisterMemoryNotificationCallback_(IHostMemoryManager *This,
                                                   ICLRMemoryNotificationCallback *cb)
{
    hm_runtime_t *rt = hm_rt_of(This);
    HRESULT hr = hm_rt_check(rt);
    if (hr != S_OK)
        return hr;
    if (!cb)
        return E_POINTER;
    hm_host_t *host = rt->host;
    if (hm_notifier_ensure(host) != 0)
        return E_OUTOFMEMORY;
    cb->lpVtbl->AddRef(cb);
    pthread_mutex_lock(&host->lock);
    ICLRMemoryNotificationCallback *old = rt->callback;
    rt->callback = cb;
    rt->last_notice = 0;
    pthread_mutex_unlock(&host->lock);
    if (old)
        old->lpVtbl->Release(old);
    hm_notifier_wake(host);
    return S_OK;
}

static HRESULT NeedsVirtualAddressSpace_(IHostMemoryManager *This, LPVOID start, SIZE_T size)
{
    hm_runtime_t *rt = hm_rt_of(This);
    HRESULT hr = hm_rt_check(rt);
    return hr != S_OK ? hr : hm_vas_needs(rt, (uintptr_t)start, size);
}

static HRESULT AcquiredVirtualAddressSpace_(IHostMemoryManager *This, LPVOID start, SIZE_T size)
{
    hm_runtime_t *rt = hm_rt_of(This);
    HRESULT hr = hm_rt_check(rt);
    return hr != S_OK ? hr : hm_vas_acquired(rt, (uintptr_t)start, size);
}

static HRESULT ReleasedVirtualAddressSpace_(IHostMemoryManager *This, LPVOID start)
{
    hm_runtime_t *rt = hm_rt_of(This);
    HRESULT hr = hm_rt_check(rt);
    return hr != S_OK ? hr : hm_vas_released(rt, (uintptr_t)start);
}

static HRESULT CreateMalloc_(IHostMemoryManager *This, DWORD type, IHostMalloc **ppMalloc)
{
    hm_runtime_t *rt = hm_rt_of(This);
    if (!ppMalloc)
        return E_POINTER;
    *ppMalloc = NULL;
    HRESULT hr = hm_rt_check(rt);
    if (hr != S_OK)
        return hr;
    if (type & ~(DWORD)(MALLOC_THREADSAFE | MALLOC_EXECUTABLE))
        return E_INVALIDARG;
    return hm_malloc_create(rt, type, ppMalloc);
}

const IHostMemoryManagerVtbl hm_manager_vtbl = {
    QueryInterface_, AddRef_, Release_, CreateMalloc_, VirtualAlloc_, VirtualFree_,
    VirtualQuery_, VirtualProtect_, GetMemoryLoad_, RegisterMemoryNotificationCallback_,
    NeedsVirtualAddressSpace_, AcquiredVirtualAddressSpace_, ReleasedVirtualAddressSpace_,
};
