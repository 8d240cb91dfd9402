/*
 * demo_host.c — the demo's host step: a host runs two runtimes, "steady" and "greedy",
 * each with a budget. greedy commits 1M at a time through its IHostMemoryManager until
 * its budget is spent (E_OUTOFMEMORY) and its ICLRMemoryNotificationCallback hears that
 * memory is low; steady's allocation still succeeds; greedy frees, and hears memory is
 * available again.
 *
 * Invariant: the output does not depend on timing: the callback (run by the host's
 * notifier thread) only stores the last value; this thread waits for the value it expects
 * (up to 5 s) and prints. Everything the step creates is gone when it returns.
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "demo.h"
#include "hostmem/host.h"

#define MIB ((SIZE_T)1 << 20)

typedef struct listener {
    ICLRMemoryNotificationCallback iface;
    _Atomic int last; /* EMemoryAvailable, 0 = none yet */
} listener_t;

static HRESULT l_query(ICLRMemoryNotificationCallback *This, REFIID riid,
                                         void **ppv)
{
    if (memcmp(riid, &IID_ICLRMemoryNotificationCallback, sizeof *riid) &&
        memcmp(riid, &IID_IUnknown, sizeof *riid)) {
        *ppv = NULL;
        return E_NOINTERFACE;
    }
    *ppv = This;
    return S_OK;
}

static ULONG l_addref(ICLRMemoryNotificationCallback *This)
{
    (void)This;
    return 2;
}

static ULONG l_release(ICLRMemoryNotificationCallback *This)
{
    (void)This;
    return 1;
}

static HRESULT l_notify(ICLRMemoryNotificationCallback *This,
                                          EMemoryAvailable e)
{
    atomic_store(&((listener_t *)This)->last, (int)e);
    return S_OK;
}

static const ICLRMemoryNotificationCallbackVtbl listener_vtbl = {l_query, l_addref, l_release,
                                                                 l_notify};

static bool wait_for(listener_t *l, int want)
{
    const struct timespec tick = {0, 10 * 1000 * 1000};
    for (int i = 0; i < 500 && atomic_load(&l->last) != want; i++)
        nanosleep(&tick, NULL);
    return atomic_load(&l->last) == want;
}

typedef struct rt_pair {
    hm_host_t *host;
    hm_runtime_t *steady, *greedy;
    IHostMemoryManager *ms, *mg;
    listener_t ls, lg;
} rt_pair_t;

static hm_runtime_t *start(hm_host_t *host, const char *name, uint64_t hard, uint64_t soft)
{
    hm_runtime_config_t cfg = {.cb_size = sizeof cfg, .name = name, .hard_limit = hard,
                               .soft_limit = soft, .wait_timeout_ms = 100};
    hm_runtime_t *rt;
    if (hm_runtime_create(host, &cfg, &rt) != 0)
        return NULL;
    if (hm_runtime_start(rt) != 0) {
        hm_runtime_destroy(rt);
        return NULL;
    }
    return rt;
}

static bool setup(rt_pair_t *h)
{
    hm_host_config_t hc = {.cb_size = sizeof hc, .psi_path = "", .poll_interval_ms = 20};
    if (hm_host_create(&hc, &h->host) != 0)
        return false;
    h->steady = start(h->host, "steady", 8 * MIB, 6 * MIB);
    h->greedy = start(h->host, "greedy", 4 * MIB, 3 * MIB);
    if (!h->steady || !h->greedy)
        return false;
    h->ms = hm_runtime_memory_manager(h->steady);
    h->mg = hm_runtime_memory_manager(h->greedy);
    h->ls = (listener_t){{&listener_vtbl}, 0};
    h->lg = (listener_t){{&listener_vtbl}, 0};
    return h->ms->lpVtbl->RegisterMemoryNotificationCallback(h->ms, &h->ls.iface) == S_OK &&
           h->mg->lpVtbl->RegisterMemoryNotificationCallback(h->mg, &h->lg.iface) == S_OK;
}

static void teardown(rt_pair_t *h)
{
    if (h->ms)
        h->ms->lpVtbl->Release(h->ms);
    if (h->mg)
        h->mg->lpVtbl->Release(h->mg);
    if (h->host)
        hm_host_destroy(h->host); /* destroys both runtimes, releasing what they hold */
}

static void print_stats(const rt_pair_t *h)
{
    const struct {
        const char *name;
        hm_runtime_t *rt;
        uint64_t budget;
    } rows[] = {{"steady", h->steady, 8}, {"greedy", h->greedy, 4}};
    printf("     | runtime  committed  budget  failed\n");
    for (int i = 0; i < 2; i++) {
        hm_runtime_stats_t st = {.cb_size = sizeof st};
        hm_runtime_get_stats(rows[i].rt, &st);
        printf("     | %-7s  %8lluM  %5lluM  %6llu\n", rows[i].name,
               (unsigned long long)(st.committed / MIB), (unsigned long long)rows[i].budget,
               (unsigned long long)st.failures);
    }
}

/* greedy commits 1M blocks until refused; returns how many it got (blocks kept in b). */
static int grow(IHostMemoryManager *m, void **b, int max, HRESULT *last)
{
    int n = 0;
    while (n < max && (*last = m->lpVtbl->VirtualAlloc(m, NULL, MIB, MEM_COMMIT, PAGE_READWRITE,
                                                       eTaskCritical, &b[n])) == S_OK)
        n++;
    return n;
}

static bool run(rt_pair_t *h)
{
    void *b[8], *s;
    HRESULT hr = E_FAIL;
    hm_demo_call("greedy: mgr->VirtualAlloc(NULL, 1M, MEM_COMMIT, ..., eTaskCritical, &p)");
    int n = grow(h->mg, b, 8, &hr);
    if (n != 4 || hr != E_OUTOFMEMORY)
        return hm_demo_unexpected("greedy's budget did not stop it at 4M");
    hm_demo_result("S_OK 4 times, then E_OUTOFMEMORY: greedy's 4M budget is spent");
    if (!wait_for(&h->lg, eMemoryAvailableLow))
        return hm_demo_unexpected("greedy was not told that memory is low");
    hm_demo_result("greedy's ICLRMemoryNotificationCallback hears eMemoryAvailableLow");
    hm_demo_call("steady: mgr->VirtualAlloc(NULL, 1M, MEM_COMMIT, ..., eTaskCritical, &p)");
    if (h->ms->lpVtbl->VirtualAlloc(h->ms, NULL, MIB, MEM_COMMIT, PAGE_READWRITE, eTaskCritical,
                                    &s) != S_OK)
        return hm_demo_unexpected("steady was refused");
    hm_demo_result("S_OK: steady's budget is its own");
    print_stats(h);
    hm_demo_call("greedy: mgr->VirtualFree(p, 0, MEM_RELEASE) for 3 of its blocks");
    while (n > 1)
        h->mg->lpVtbl->VirtualFree(h->mg, b[--n], 0, MEM_RELEASE);
    if (!wait_for(&h->lg, eMemoryAvailableHigh))
        return hm_demo_unexpected("greedy was not told that memory is available again");
    hm_demo_result("greedy hears eMemoryAvailableHigh");
    return true;
}

bool hm_demo_step_host(int n)
{
    hm_demo_step(n, "A host runs two runtimes under budgets");
    hm_demo_say("hostmem hosts runtimes as the CLR hosting API does: each gets an");
    hm_demo_say("IHostMemoryManager that charges its budget. steady: 8M; greedy: 4M, and it");
    hm_demo_say("is told memory is low past 3M.");
    rt_pair_t h = {0};
    bool ok = setup(&h) ? run(&h) : hm_demo_unexpected("cannot create the host");
    teardown(&h);
    return ok;
}
