/*
 * two_runtimes.c — a host that runs two toy runtimes under budgets.
 *
 * "steady" allocates a little and stays well inside its budget. "greedy" keeps growing
 * its heap: it crosses its soft limit (the host tells it memory is low through its
 * ICLRMemoryNotificationCallback), then hits its hard limit: task-critical requests fail
 * at once with E_OUTOFMEMORY, an AppDomain-critical one waits and times out. It reacts
 * like a garbage collector would: it frees most of its heap, and the host tells it memory
 * is available again. The other runtime never notices.
 *
 * Build: cc two_runtimes.c $(pkg-config --cflags --libs hostmem) -o two_runtimes
 */
#define _DEFAULT_SOURCE /* usleep */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <hostmem/host.h>

#define MIB ((SIZE_T)1 << 20)

/* The runtime's side of the notification interface: remembers what the host said. */
typedef struct listener {
    ICLRMemoryNotificationCallback iface;
    const char *runtime;
    volatile int last;
} listener_t;

static HRESULT l_query(ICLRMemoryNotificationCallback *This, REFIID riid, void **ppv)
{
    if (memcmp(riid, &IID_ICLRMemoryNotificationCallback, sizeof *riid) &&
        memcmp(riid, &IID_IUnknown, sizeof *riid)) {
        *ppv = NULL;
        return E_NOINTERFACE;
    }
    *ppv = This;
    return S_OK;
}
static ULONG l_addref(ICLRMemoryNotificationCallback *This) { (void)This; return 2; }
static ULONG l_release(ICLRMemoryNotificationCallback *This) { (void)This; return 1; }

static HRESULT l_notify(ICLRMemoryNotificationCallback *This, EMemoryAvailable e)
{
    listener_t *l = (listener_t *)This;
    static const char *const names[] = {"?", "LOW", "neutral", "high"};
    printf("    [%s is told: memory %s]\n", l->runtime, names[e]);
    l->last = (int)e;
    return S_OK;
}

static const ICLRMemoryNotificationCallbackVtbl listener_vtbl = {l_query, l_addref, l_release,
                                                                 l_notify};

static void wait_for(listener_t *l, int want)
{
    for (int i = 0; i < 300 && l->last != want; i++)
        usleep(10000);
}

static hm_runtime_t *start_runtime(hm_host_t *host, const char *name, uint64_t hard, uint64_t soft)
{
    hm_runtime_config_t cfg = {.cb_size = sizeof cfg, .name = name, .hard_limit = hard,
                               .soft_limit = soft, .wait_timeout_ms = 200};
    hm_runtime_t *rt;
    if (hm_runtime_create(host, &cfg, &rt) != 0 || hm_runtime_start(rt) != 0)
        return NULL;
    return rt;
}

static void grow(IHostMemoryManager *m, void **blocks, int *n, const char *who)
{
    while (*n < 64) {
        HRESULT hr = m->lpVtbl->VirtualAlloc(m, NULL, MIB, MEM_COMMIT, PAGE_READWRITE,
                                             eTaskCritical, &blocks[*n]);
        if (hr != S_OK) {
            printf("  %s: VirtualAlloc(1 MiB, eTaskCritical) -> E_OUTOFMEMORY after %d MiB\n",
                   who, *n);
            return;
        }
        memset(blocks[(*n)++], 1, MIB);
    }
}

int main(void)
{
    hm_host_config_t hc = {.cb_size = sizeof hc, .psi_path = "", .poll_interval_ms = 50};
    hm_host_t *host;
    if (hm_host_create(&hc, &host) != 0)
        return 1;
    hm_runtime_t *steady = start_runtime(host, "steady", 16 * MIB, 12 * MIB);
    hm_runtime_t *greedy = start_runtime(host, "greedy", 8 * MIB, 6 * MIB);
    IHostMemoryManager *ms = hm_runtime_memory_manager(steady);
    IHostMemoryManager *mg = hm_runtime_memory_manager(greedy);
    listener_t ls = {{&listener_vtbl}, "steady", 0}, lg = {{&listener_vtbl}, "greedy", 0};
    ms->lpVtbl->RegisterMemoryNotificationCallback(ms, &ls.iface);
    mg->lpVtbl->RegisterMemoryNotificationCallback(mg, &lg.iface);
    wait_for(&ls, eMemoryAvailableHigh);
    wait_for(&lg, eMemoryAvailableHigh);

    printf("steady allocates 2 MiB of its 16 MiB budget:\n");
    void *s1;
    ms->lpVtbl->VirtualAlloc(ms, NULL, 2 * MIB, MEM_COMMIT, PAGE_READWRITE, eTaskCritical, &s1);

    printf("greedy grows 1 MiB at a time against its 8 MiB budget (soft limit 6 MiB):\n");
    void *blocks[64];
    int n = 0;
    grow(mg, blocks, &n, "greedy");
    wait_for(&lg, eMemoryAvailableLow);

    void *p;
    HRESULT hr = mg->lpVtbl->VirtualAlloc(mg, NULL, MIB, MEM_COMMIT, PAGE_READWRITE,
                                          eAppDomainCritical, &p);
    printf("  greedy: VirtualAlloc(1 MiB, eAppDomainCritical) waited 200 ms -> %s\n",
           hr == HOST_E_TIMEOUT ? "HOST_E_TIMEOUT" : "unexpected");

    printf("greedy collects garbage: frees all but 2 MiB\n");
    while (n > 2)
        mg->lpVtbl->VirtualFree(mg, blocks[--n], 0, MEM_RELEASE);
    wait_for(&lg, eMemoryAvailableHigh);

    hm_runtime_stats_t st = {.cb_size = sizeof st};
    hm_runtime_get_stats(greedy, &st);
    printf("greedy: %llu MiB committed now, peak %llu MiB, %llu failed allocations\n",
           (unsigned long long)(st.committed / MIB), (unsigned long long)(st.peak_committed / MIB),
           (unsigned long long)st.failures);
    hm_runtime_get_stats(steady, &st);
    printf("steady: %llu MiB committed, %llu failed allocations: it never noticed\n",
           (unsigned long long)(st.committed / MIB), (unsigned long long)st.failures);

    ms->lpVtbl->Release(ms);
    mg->lpVtbl->Release(mg);
    hm_host_destroy(host); /* destroys both runtimes, releasing what they still hold */
    return 0;
}
