/*
 * malloc.c — IHostMalloc: a runtime's heap (src/host/heap.c) whose chunks come from the
 * runtime's own VirtualAlloc (hm_rt_virtual_alloc: budget-charged, with the caller's
 * critical level, so an eAppDomainCritical Alloc may wait like a VirtualAlloc does) and
 * go back with VirtualFree. MALLOC_EXECUTABLE heaps commit PAGE_EXECUTE_READWRITE chunks;
 * MALLOC_THREADSAFE heaps lock internally, others rely on the caller's serialization.
 * DebugAlloc remembers file and line per live block (reported by HOSTMEM_VERBOSE at the
 * last Release if blocks are still live).
 *
 * Lifetime: the object holds a reference on its runtime. hm_runtime_destroy detaches
 * every heap of the runtime (returning its chunks) before the runtime's regions are
 * released; later calls answer HOST_E_CLRNOTAVAILABLE. Callers must not race a runtime's
 * destruction with calls on its objects.
 * Locking: rt->host->lock guards the runtime's list of heaps; debug_lock the debug table.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "host/heap.h"
#include "host/runtime.h"
#include "os/os.h"

typedef struct debug_rec {
    void *p;
    const char *file;
    int line;
} debug_rec_t;

typedef struct hm_malloc {
    IHostMalloc iface;          /* first */
    _Atomic uint32_t refs;
    hm_runtime_t *rt;
    DWORD type;
    hm_heap_t *heap;            /* NULL once detached */
    struct hm_malloc *next;     /* runtime's list, under host->lock */
    pthread_mutex_t debug_lock;
    debug_rec_t *debug;
    size_t n_debug, cap_debug;
} hm_malloc_t;

static int chunk_get(void *ctx, size_t size, int level, void **out)
{
    hm_malloc_t *m = ctx;
    DWORD prot = (m->type & MALLOC_EXECUTABLE) ? PAGE_EXECUTE_READWRITE : PAGE_READWRITE;
    HRESULT hr = hm_rt_virtual_alloc(m->rt, NULL, size, MEM_RESERVE | MEM_COMMIT, prot, level, out);
    return hr == S_OK ? HM_OK : (int)hr; /* HRESULTs are negative: passed back unchanged */
}

static void chunk_put(void *ctx, void *base, size_t size)
{
    (void)ctx;
    (void)size;
    if (!VirtualFree(base, 0, MEM_RELEASE))
        hm_panic("IHostMalloc: cannot release a heap chunk", (uintptr_t)base, size, 0);
}

static HRESULT hr_of_heap(int st)
{
    return st == HM_OK ? S_OK : st < 0 ? (HRESULT)st : hm_hresult_of(st);
}

static hm_malloc_t *malloc_of(IHostMalloc *This)
{
    return (hm_malloc_t *)This;
}

static HRESULT QueryInterface_(IHostMalloc *This, REFIID riid, void **ppv)
{
    if (!ppv)
        return E_POINTER;
    *ppv = NULL;
    if (!riid)
        return E_INVALIDARG;
    if (memcmp(riid, &IID_IUnknown, sizeof(IID)) && memcmp(riid, &IID_IHostMalloc, sizeof(IID)))
        return E_NOINTERFACE;
    This->lpVtbl->AddRef(This);
    *ppv = This;
    return S_OK;
}

static ULONG AddRef_(IHostMalloc *This)
{
    return atomic_fetch_add(&malloc_of(This)->refs, 1) + 1;
}

static void detach_locked(hm_malloc_t *m)
{
    if (m->heap) {
        hm_heap_destroy(m->heap);
        m->heap = NULL;
    }
}

static void report_leaks(const hm_malloc_t *m)
{
    const char *v = hm_os_getenv("HOSTMEM_VERBOSE");
    for (size_t i = 0; v && *v && *v != '0' && i < m->n_debug; i++)
        fprintf(stderr, "hostmem: IHostMalloc of runtime '%s': block %p from %s:%d never freed\n",
                m->rt->name, m->debug[i].p, m->debug[i].file, m->debug[i].line);
}

static ULONG Release_(IHostMalloc *This)
{
    hm_malloc_t *m = malloc_of(This);
    uint32_t left = atomic_fetch_sub(&m->refs, 1) - 1;
    if (left)
        return left;
    hm_host_t *host = m->rt->host;
    pthread_mutex_lock(&host->lock);
    for (hm_malloc_t **p = (hm_malloc_t **)&m->rt->mallocs; *p; p = &(*p)->next)
        if (*p == m) {
            *p = m->next;
            break;
        }
    pthread_mutex_unlock(&host->lock);
    report_leaks(m);
    detach_locked(m);
    pthread_mutex_destroy(&m->debug_lock);
    free(m->debug);
    hm_rt_unref(m->rt);
    free(m);
    return 0;
}

static HRESULT alloc_checked(hm_malloc_t *m, SIZE_T size, EMemoryCriticalLevel level, void **ppMem)
{
    if (!ppMem)
        return E_POINTER;
    *ppMem = NULL;
    HRESULT hr = hm_rt_check(m->rt);
    if (hr != S_OK)
        return hr;
    if ((unsigned)level > eProcessCritical)
        return E_INVALIDARG;
    if (!m->heap)
        return HOST_E_CLRNOTAVAILABLE;
    return hm_rt_after(m->rt, hr_of_heap(hm_heap_alloc(m->heap, size, (int)level, ppMem)));
}

static HRESULT Alloc_(IHostMalloc *This, SIZE_T cbSize, EMemoryCriticalLevel level, void **ppMem)
{
    return alloc_checked(malloc_of(This), cbSize, level, ppMem);
}

static void remember(hm_malloc_t *m, void *p, const char *file, int line)
{
    pthread_mutex_lock(&m->debug_lock);
    if (m->n_debug == m->cap_debug) {
        size_t cap = m->cap_debug ? m->cap_debug * 2 : 16;
        debug_rec_t *nd = realloc(m->debug, cap * sizeof *nd);
        if (nd) {
            m->debug = nd;
            m->cap_debug = cap;
        }
    }
    if (m->n_debug < m->cap_debug)
        m->debug[m->n_debug++] = (debug_rec_t){p, file, line};
    pthread_mutex_unlock(&m->debug_lock);
}

static void forget(hm_malloc_t *m, void *p)
{
    pthread_mutex_lock(&m->debug_lock);
    for (size_t i = 0; i < m->n_debug; i++)
        if (m->debug[i].p == p) {
            m->debug[i] = m->debug[--m->n_debug];
            break;
        }
    pthread_mutex_unlock(&m->debug_lock);
}

static HRESULT DebugAlloc_(IHostMalloc *This, SIZE_T cbSize, EMemoryCriticalLevel level,
                           char *pszFileName, int iLineNo, void **ppMem)
{
    hm_malloc_t *m = malloc_of(This);
    HRESULT hr = alloc_checked(m, cbSize, level, ppMem);
    if (hr == S_OK)
        remember(m, *ppMem, pszFileName ? pszFileName : "?", iLineNo);
    return hr;
}

static HRESULT Free_(IHostMalloc *This, void *pMem)
{
    hm_malloc_t *m = malloc_of(This);
    HRESULT hr = hm_rt_check(m->rt);
    if (hr != S_OK)
        return hr;
    if (!m->heap)
        return HOST_E_CLRNOTAVAILABLE;
    if (hm_heap_free(m->heap, pMem) != HM_OK)
        return HOST_E_INVALIDOPERATION;
    if (m->n_debug)
        forget(m, pMem);
    return hm_rt_after(m->rt, S_OK);
}

static const IHostMallocVtbl malloc_vtbl = {QueryInterface_, AddRef_, Release_, Alloc_,
                                            DebugAlloc_, Free_};

HRESULT hm_malloc_create(hm_runtime_t *rt, DWORD type, IHostMalloc **out)
{
    hm_malloc_t *m = calloc(1, sizeof *m);
    if (!m)
        return E_OUTOFMEMORY;
    m->iface.lpVtbl = &malloc_vtbl;
    atomic_init(&m->refs, 1);
    m->rt = rt;
    m->type = type;
    pthread_mutex_init(&m->debug_lock, NULL);
    hm_heap_source_t src = {chunk_get, chunk_put, m};
    if (hm_heap_create(&src, (type & MALLOC_THREADSAFE) != 0, &m->heap) != 0) {
        pthread_mutex_destroy(&m->debug_lock);
        free(m);
        return E_OUTOFMEMORY;
    }
    hm_rt_ref(rt);
    pthread_mutex_lock(&rt->host->lock);
    m->next = rt->mallocs;
    rt->mallocs = m;
    pthread_mutex_unlock(&rt->host->lock);
    *out = &m->iface;
    return S_OK;
}

void hm_malloc_detach_all(hm_runtime_t *rt)
{
    pthread_mutex_lock(&rt->host->lock);
    for (hm_malloc_t *m = rt->mallocs; m; m = m->next)
        detach_locked(m);
    pthread_mutex_unlock(&rt->host->lock);
}
