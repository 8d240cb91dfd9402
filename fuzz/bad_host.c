/*
 * bad_host.c — the bad-input fuzzer's host API and COM calls: hm_host_* and hm_runtime_*
 * with odd configurations and lifecycles, every IHostMemoryManager and IHostMalloc method
 * with hostile pointers, sizes, flags and critical levels, notification callbacks.
 * Two started runtimes (hm_bad_rt) are part of every snapshot; a third one goes through
 * random lifecycles.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bad_input.h"

#define PTR(deref, k) hm_b_ptr(r, (deref), &(k))
#define KN(k) hm_ptr_kind_name(k)

hm_host_t *hm_bad_host;
hm_runtime_t *hm_bad_rt[2];
IHostMemoryManager *hm_bad_mgr[2];
IHostMalloc *hm_bad_malloc[2];
static hm_runtime_t *life; /* the runtime whose lifecycle the input drives */

/* A notification callback that counts and ignores. */
static HRESULT cb_qi(ICLRMemoryNotificationCallback *This, REFIID riid, void **ppv)
{
    (void)riid;
    *ppv = This;
    return S_OK;
}
static ULONG cb_ref(ICLRMemoryNotificationCallback *This)
{
    (void)This;
    return 1;
}
static HRESULT cb_notify(ICLRMemoryNotificationCallback *This, EMemoryAvailable e)
{
    (void)This;
    (void)e;
    return S_OK;
}
static const ICLRMemoryNotificationCallbackVtbl cb_vtbl = {cb_qi, cb_ref, cb_ref, cb_notify};
static ICLRMemoryNotificationCallback callback = {&cb_vtbl};

static hm_runtime_t *make_runtime(const char *name)
{
    hm_runtime_config_t cfg = {.cb_size = sizeof cfg, .name = name, .hard_limit = 64 << 20,
                               .soft_limit = 32 << 20, .critical_reserve = 1 << 20,
                               .wait_timeout_ms = 1, .address_space_limit = 1 << 30};
    hm_runtime_t *rt = NULL;
    if (hm_runtime_create(hm_bad_host, &cfg, &rt) != 0 || hm_runtime_start(rt) != 0)
        abort();
    return rt;
}

void hm_bad_host_init(void)
{
    hm_host_config_t cfg = {.cb_size = sizeof cfg, .psi_path = ""};
    if (hm_host_create(&cfg, &hm_bad_host) != 0)
        abort();
    for (int i = 0; i < 2; i++) {
        hm_bad_rt[i] = make_runtime(i ? "bad-1" : "bad-0");
        hm_bad_mgr[i] = hm_runtime_memory_manager(hm_bad_rt[i]);
        if (!hm_bad_mgr[i] || hm_bad_mgr[i]->lpVtbl->CreateMalloc(hm_bad_mgr[i], MALLOC_THREADSAFE,
                                                                  &hm_bad_malloc[i]) != S_OK)
            abort();
    }
    life = make_runtime("life");
}

static const char *long_name(void)
{
    static char name[300];
    memset(name, 'n', sizeof name - 1);
    return name;
}

static const IID *iid(hm_brd_t *r, int *k)
{
    static IID random_iid;
    *k = HM_PTR_SCRATCH;
    switch (hm_b_u8(r) % 6) {
    case 0: return &IID_IUnknown;
    case 1: return &IID_IHostMemoryManager;
    case 2: return &IID_IHostMalloc;
    case 3: return &IID_ICLRMemoryNotificationCallback;
    case 4:
        random_iid.Data1 = hm_b_u32(r);
        return &random_iid;
    default: return hm_b_ptr(r, true, k);
    }
}

/* ---- host and runtime functions ---------------------------------------------------------- */

static bool c_host_create(hm_brd_t *r, char *d, size_t n)
{
    int k;
    hm_host_config_t cfg = {.cb_size = (uint32_t[]){sizeof cfg, 0, 4, 0xFFFFFFFFu}[hm_b_u8(r) % 4],
                            .cgroup_dir = (const char *[]){NULL, "/nonexistent", "", "/"}[hm_b_u8(r) % 4],
                            .meminfo_path = (const char *[]){NULL, "/nonexistent", "/dev/zero", ""}[hm_b_u8(r) % 4],
                            .psi_path = "",
                            .poll_interval_ms = hm_b_u32(r)};
    bool null_cfg = hm_b_u8(r) % 4 == 0;
    hm_host_t *local = NULL, **out = PTR(true, k);
    if (k < HM_PTR_SAFE && out)
        out = &local;
    snprintf(d, n, "hm_host_create(%s cb %u, out=%s)", null_cfg ? "NULL" : "cfg", cfg.cb_size, KN(k));
    if (hm_host_create(null_cfg ? NULL : &cfg, out) != 0)
        return true;
    hm_host_destroy(local);
    return false;
}

static bool c_runtime_create(hm_brd_t *r, char *d, size_t n)
{
    int k;
    hm_runtime_config_t cfg = {
        .cb_size = (uint32_t[]){sizeof cfg, 0, 4, 0xFFFFFFFFu}[hm_b_u8(r) % 4],
        .name = (const char *[]){NULL, "", "x", long_name()}[hm_b_u8(r) % 4],
        .hard_limit = hm_b_size(r), .soft_limit = hm_b_size(r), .critical_reserve = hm_b_size(r),
        .wait_timeout_ms = hm_b_u8(r) % 3, .address_space_limit = hm_b_size(r)};
    bool null_cfg = hm_b_u8(r) % 4 == 0, null_host = hm_b_u8(r) % 8 == 0;
    hm_runtime_t *local = NULL, **out = PTR(true, k);
    if (k < HM_PTR_SAFE && out)
        out = &local;
    snprintf(d, n, "hm_runtime_create(%s, %s cb %u, out=%s)", null_host ? "NULL" : "host",
             null_cfg ? "NULL" : "cfg", cfg.cb_size, KN(k));
    if (hm_runtime_create(null_host ? NULL : hm_bad_host, null_cfg ? NULL : &cfg, out) != 0)
        return true;
    hm_runtime_destroy(local);
    return false;
}

/* The third runtime: start, stop, cancel, stats, name, manager, destroy in any order. */
static bool c_lifecycle(hm_brd_t *r, char *d, size_t n)
{
    int which = hm_b_u8(r) % 8, k;
    snprintf(d, n, "lifecycle #%d", which);
    switch (which) {
    case 0: return hm_runtime_start(life) != 0;
    case 1: return hm_runtime_stop(life) != 0;
    case 2: return hm_runtime_cancel_waits(life) != 0;
    case 3: {
        hm_runtime_stats_t *s = PTR(true, k);
        uint32_t cb = (uint32_t[]){sizeof *s, 0, 8}[hm_b_u8(r) % 3];
        if (k < HM_PTR_SAFE && s)
            memcpy(s, &cb, sizeof cb); /* cb_size, first member */
        snprintf(d, n, "hm_runtime_get_stats(life, stats=%s)", KN(k));
        return hm_runtime_get_stats(life, s) != 0;
    }
    case 4: return hm_runtime_name(life) == NULL;
    case 5: {
        IHostMemoryManager *m = hm_runtime_memory_manager(life);
        if (!m)
            return true;
        void *p = NULL;
        HRESULT hr = m->lpVtbl->VirtualAlloc(m, NULL, hm_b_size(r), MEM_COMMIT, PAGE_READWRITE,
                                             eTaskCritical, &p);
        if (hr == S_OK)
            m->lpVtbl->VirtualFree(m, p, 0, MEM_RELEASE);
        m->lpVtbl->Release(m);
        return hr != S_OK;
    }
    case 6:
        hm_runtime_destroy(life);
        life = make_runtime("life");
        return false;
    default: /* NULL handles: EINVAL, not a crash */
        snprintf(d, n, "hm_runtime_*(NULL), hm_host_destroy(NULL), hm_*_create(NULL, NULL)");
        hm_runtime_destroy(NULL);
        hm_host_destroy(NULL);
        return hm_runtime_start(NULL) == 0 || hm_runtime_stop(NULL) == 0 ||
               hm_runtime_cancel_waits(NULL) == 0 || hm_runtime_get_stats(NULL, NULL) == 0 ||
               hm_runtime_memory_manager(NULL) != NULL || hm_runtime_name(NULL) == (void *)1 ||
               hm_runtime_create(NULL, NULL, NULL) == 0 || hm_host_create(NULL, NULL) == 0;
    }
}

/* ---- IHostMemoryManager -------------------------------------------------------------------- */

static bool c_manager(hm_brd_t *r, char *d, size_t n)
{
    int i = hm_b_u8(r) % 2, which = hm_b_u8(r) % 12, k, k2;
    IHostMemoryManager *m = hm_bad_mgr[i];
    const IHostMemoryManagerVtbl *v = m->lpVtbl;
    /* the manager protects memory no host gave out too (design: ported code patches its
     * own pages): never the fuzzer's own */
    void *a = hm_b_addr(r, which == 3 || which == 6);
    uint64_t s = hm_b_size(r);
    uint32_t t = hm_b_flags(r), p = hm_b_prot(r);
    EMemoryCriticalLevel level = (EMemoryCriticalLevel)(hm_b_u8(r) % 5);
    HRESULT hr;
    switch (which) {
    case 0: {
        const IID *id = iid(r, &k);
        void **out = PTR(true, k2);
        snprintf(d, n, "mgr%d->QueryInterface(riid=%s, ppv=%s)", i, KN(k), KN(k2));
        hr = v->QueryInterface(m, id, out);
        if (hr == S_OK)
            ((IUnknown *)*out)->lpVtbl->Release(*out);
        return hr != S_OK;
    }
    case 1:
        snprintf(d, n, "mgr%d->AddRef/Release", i);
        v->AddRef(m);
        return v->Release(m) == 0;
    case 2: {
        IHostMalloc **out = PTR(true, k);
        snprintf(d, n, "mgr%d->CreateMalloc(%#x, ppMalloc=%s)", i, t, KN(k));
        hr = v->CreateMalloc(m, t, out);
        if (hr == S_OK)
            (*out)->lpVtbl->Release(*out);
        return hr != S_OK;
    }
    case 3: {
        void **out = PTR(true, k);
        snprintf(d, n, "mgr%d->VirtualAlloc(%p, %#llx, %#x, %#x, %d, ppMem=%s)", i, a,
                 (unsigned long long)s, t, p, (int)level, KN(k));
        hr = v->VirtualAlloc(m, a, s, t, p, level, out);
        if (hr == S_OK && *out != a)
            v->VirtualFree(m, *out, 0, MEM_RELEASE);
        if (hr == S_OK)
            hm_bad_restore_victim();
        return hr != S_OK;
    }
    case 4:
        snprintf(d, n, "mgr%d->VirtualFree(%p, %#llx, %#x)", i, a, (unsigned long long)s, t);
        return v->VirtualFree(m, a, s, t) != S_OK;
    case 5: {
        void *buf = PTR(true, k);
        SIZE_T *res = PTR(true, k2);
        snprintf(d, n, "mgr%d->VirtualQuery(%p, buffer=%s, %#llx, pResult=%s)", i, a, KN(k), (unsigned long long)s,
                 KN(k2));
        if (k == HM_PTR_SHORT && s > 4)
            s = 4;
        return v->VirtualQuery(m, a, buf, s, res) != S_OK;
    }
    case 6: {
        DWORD *old = PTR(true, k);
        snprintf(d, n, "mgr%d->VirtualProtect(%p, %#llx, %#x, pOld=%s)", i, a, (unsigned long long)s, p,
                 KN(k));
        hr = v->VirtualProtect(m, a, s, p, old);
        if (hr == S_OK)
            hm_bad_restore_victim();
        return hr != S_OK;
    }
    case 7: {
        DWORD *load = PTR(true, k);
        SIZE_T *avail = PTR(true, k2);
        snprintf(d, n, "mgr%d->GetMemoryLoad(pLoad=%s, pAvail=%s)", i, KN(k), KN(k2));
        return v->GetMemoryLoad(m, load, avail) != S_OK;
    }
    case 8: {
        bool null_cb = hm_b_u8(r) % 2;
        snprintf(d, n, "mgr%d->RegisterMemoryNotificationCallback(%s)", i, null_cb ? "NULL" : "cb");
        return v->RegisterMemoryNotificationCallback(m, null_cb ? NULL : &callback) != S_OK;
    }
    case 9:
        snprintf(d, n, "mgr%d->NeedsVirtualAddressSpace(%p, %#llx)", i, a, (unsigned long long)s);
        return v->NeedsVirtualAddressSpace(m, a, s) != S_OK;
    case 10:
        snprintf(d, n, "mgr%d->AcquiredVirtualAddressSpace(%p, %#llx)", i, a, (unsigned long long)s);
        if (v->AcquiredVirtualAddressSpace(m, a, s) != S_OK)
            return true;
        v->ReleasedVirtualAddressSpace(m, a);
        return false;
    default:
        snprintf(d, n, "mgr%d->ReleasedVirtualAddressSpace(%p)", i, a);
        return v->ReleasedVirtualAddressSpace(m, a) != S_OK;
    }
}

/* ---- IHostMalloc --------------------------------------------------------------------------- */

static bool c_malloc(hm_brd_t *r, char *d, size_t n)
{
    int i = hm_b_u8(r) % 2, which = hm_b_u8(r) % 9, k, k2;
    IHostMalloc *m = hm_bad_malloc[i];
    const IHostMallocVtbl *v = m->lpVtbl;
    uint64_t s = hm_b_size(r);
    EMemoryCriticalLevel level = (EMemoryCriticalLevel)(hm_b_u8(r) % 5);
    void *blk = NULL;
    HRESULT hr;
    switch (which) {
    case 0: {
        const IID *id = iid(r, &k);
        void **out = PTR(true, k2);
        snprintf(d, n, "malloc%d->QueryInterface(riid=%s, ppv=%s)", i, KN(k), KN(k2));
        hr = v->QueryInterface(m, id, out);
        if (hr == S_OK)
            ((IUnknown *)*out)->lpVtbl->Release(*out);
        return hr != S_OK;
    }
    case 1:
        snprintf(d, n, "malloc%d->AddRef/Release", i);
        v->AddRef(m);
        return v->Release(m) == 0;
    case 2: {
        void **out = PTR(true, k);
        snprintf(d, n, "malloc%d->Alloc(%#llx, %d, ppMem=%s)", i, (unsigned long long)s, (int)level, KN(k));
        hr = v->Alloc(m, s, level, out);
        if (hr == S_OK)
            v->Free(m, *out);
        return hr != S_OK;
    }
    case 3: {
        void **out = PTR(true, k);
        char *file = (char *[]){NULL, "bad.c", (char *)long_name()}[hm_b_u8(r) % 3];
        int line = (int)hm_b_u32(r);
        snprintf(d, n, "malloc%d->DebugAlloc(%#llx, %d, %s, %d, ppMem=%s)", i, (unsigned long long)s,
                 (int)level, file ? "file" : "NULL", line, KN(k));
        hr = v->DebugAlloc(m, s, level, file, line, out);
        if (hr == S_OK)
            v->Free(m, *out);
        return hr != S_OK;
    }
    case 4: {
        void *p = hm_b_addr(r, false);
        snprintf(d, n, "malloc%d->Free(%p)", i, p);
        return v->Free(m, p) != S_OK;
    }
    default: {
        /* a real block freed wrongly: inside, twice, through the other heap */
        if (v->Alloc(m, 1 + s % 100000, eTaskCritical, &blk) != S_OK)
            return true;
        hm_bad_checkpoint();
        int how = which - 5;
        snprintf(d, n, "malloc%d->Free(block %s)", i,
                 (const char *[]){"+8", "twice", "via the other heap", "+1"}[how]);
        IHostMalloc *other = hm_bad_malloc[1 - i];
        if (how == 1) {
            v->Free(m, blk);
            hm_bad_checkpoint();
        }
        HRESULT bad = how == 0   ? v->Free(m, (char *)blk + 8)
                      : how == 1 ? v->Free(m, blk)
                      : how == 2 ? other->lpVtbl->Free(other, blk)
                                 : v->Free(m, (char *)blk + 1);
        if (bad != S_OK)
            hm_bad_verify_unchanged(d);
        if (how != 1)
            v->Free(m, blk);
        return false; /* checked above; the rest was a legal free */
    }
    }
}

const hm_bad_call_t hm_bad_host_calls[] = {
    {"hm_host_create", c_host_create},
    {"hm_runtime_create", c_runtime_create},
    {"runtime lifecycle", c_lifecycle},
    {"IHostMemoryManager", c_manager},
    {"IHostMalloc", c_malloc},
};
const size_t hm_bad_host_ncalls = sizeof hm_bad_host_calls / sizeof hm_bad_host_calls[0];
