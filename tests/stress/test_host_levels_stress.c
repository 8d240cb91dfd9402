/*
 * test_host_levels_stress.c — hosted runtimes under load at all three critical levels,
 * for a bounded time (the host memory manager, hostmem/host.h).
 *
 * host_levels_budgets_exact: 4 threads work for two runtimes of one host — A (4 MiB hard
 * limit, 1 MiB critical reserve, 3 MiB soft limit) at every level, B (2 MiB, a reserve it
 * must never touch) at eTaskCritical and eAppDomainCritical only. Through each runtime's
 * IHostMemoryManager they commit, reserve and commit parts, decommit parts, release,
 * protect, query, write, read the memory load, try to free another runtime's memory
 * (HOST_E_NOT_OWNER, nothing changed) and register notification callbacks, while the
 * notifier thread delivers transitions. Every result is one the level allows
 * (eTaskCritical: S_OK or E_OUTOFMEMORY; eAppDomainCritical: S_OK or HOST_E_TIMEOUT;
 * eProcessCritical: S_OK or E_OUTOFMEMORY). After every allocation A stays within hard
 * limit + reserve and B within its hard limit. At quiet points and at the end the budgets
 * are exact: each runtime's committed bytes == the pages its live allocations hold, the
 * process's commit charge == both together, and the ledger, hostmem's records and the
 * kernel's view agree. Notifications: only Low/Neutral/High, never the same twice in a row
 * to one callback, counted exactly, none after hm_host_destroy, and once all memory is
 * free each runtime is told High (no lost notification).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stress_host.h"

#define THREADS 4

/* ======================================================================================
 * host_levels_budgets_exact
 * ==================================================================================== */

#define NRT 2
#define SLOTS 8
#define MAXPG 48

typedef struct rtinfo {
    hm_runtime_t *rt;
    IHostMemoryManager *mgr;
    uint64_t hard, reserve;
    int levels; /* levels used: 3 = all, 2 = task and appdomain */
    callback_t cb[2];
    _Atomic int cb_next;
} rtinfo_t;

static rtinfo_t rts[NRT];
static pthread_rwlock_t quiet_lock;

typedef struct hslot {
    char *base;
    int npages;
    uint64_t committed; /* bitmap of committed pages */
} hslot_t;

enum {
    HOP_ALLOC, HOP_RESERVE, HOP_COMMIT, HOP_DECOMMIT, HOP_FREE, HOP_PROTECT, HOP_QUERY,
    HOP_TOUCH, HOP_LOAD, HOP_NOT_OWNER, HOP_REGISTER, HOP_COUNT
};
static const char *const hop_names[HOP_COUNT] = {
    "alloc", "reserve", "commit", "decommit", "free", "protect", "query", "touch",
    "memory_load", "not_owner", "register_callback"};

typedef struct hworker {
    uint64_t rng, seed, ops[HOP_COUNT], total, deadline;
    uint64_t refused[3]; /* by level: E_OUTOFMEMORY or HOST_E_TIMEOUT */
    hslot_t slot[NRT][SLOTS];
    _Atomic uint64_t live[NRT]; /* committed bytes of this thread's allocations, per runtime */
    stress_failure_t f;
} hworker_t;

static hworker_t hw[THREADS];

static int popcount64(uint64_t x)
{
    return __builtin_popcountll(x);
}

static uint64_t pages_mask(int first, int n)
{
    return (n >= 64 ? ~0ull : ((1ull << n) - 1)) << first;
}

static void account(hworker_t *w, int r, int64_t pages)
{
    atomic_fetch_add(&w->live[r], (uint64_t)(pages * (int64_t)P));
}

/* The result of an allocation at `level` must be one that level allows. */
static void check_level_result(hworker_t *w, int r, int level, HRESULT hr, const char *what)
{
    bool ok = hr == S_OK || (level == eAppDomainCritical ? hr == HOST_E_TIMEOUT : hr == E_OUTOFMEMORY);
    STRESS_REQUIRE(&w->f, ok, "%s for runtime %d at level %d: %#x", what, r, level, (unsigned)hr);
    if (hr != S_OK)
        w->refused[level]++;
    uint64_t c = rt_committed(rts[r].rt), cap = rts[r].hard + (rts[r].levels == 3 ? rts[r].reserve : 0);
    STRESS_REQUIRE(&w->f, c <= cap, "runtime %d holds %llu bytes, more than %llu", r,
                   (unsigned long long)c, (unsigned long long)cap);
}

static int pick_level(hworker_t *w, int r)
{
    return (int)stress_below(&w->rng, (uint64_t)rts[r].levels);
}

static void h_alloc(hworker_t *w, int r, hslot_t *s, bool reserve_only)
{
    int n = 1 + (int)stress_below(&w->rng, MAXPG);
    SIZE_T size = (SIZE_T)n * P - (SIZE_T)stress_below(&w->rng, P);
    int level = pick_level(w, r);
    void *p = NULL;
    HRESULT hr = rts[r].mgr->lpVtbl->VirtualAlloc(rts[r].mgr, NULL, size,
                                                  reserve_only ? MEM_RESERVE : MEM_COMMIT,
                                                  PAGE_READWRITE, (EMemoryCriticalLevel)level, &p);
    if (reserve_only) {
        STRESS_REQUIRE(&w->f, hr == S_OK && p, "reserve for runtime %d: %#x", r, (unsigned)hr);
    } else {
        if (hr == S_OK)
            account(w, r, n); /* before the check reads the runtime's total */
        check_level_result(w, r, level, hr, "commit");
    }
    if (hr != S_OK)
        return;
    *s = (hslot_t){p, n, reserve_only ? 0 : pages_mask(0, n)};
}

static void h_commit(hworker_t *w, int r, hslot_t *s)
{
    int a = (int)stress_below(&w->rng, (uint64_t)s->npages);
    int n = 1 + (int)stress_below(&w->rng, (uint64_t)(s->npages - a));
    int level = pick_level(w, r);
    uint64_t m = pages_mask(a, n), fresh = m & ~s->committed;
    void *p = NULL;
    HRESULT hr = rts[r].mgr->lpVtbl->VirtualAlloc(rts[r].mgr, s->base + (size_t)a * P,
                                                  (SIZE_T)n * P, MEM_COMMIT, PAGE_READWRITE,
                                                  (EMemoryCriticalLevel)level, &p);
    if (hr == S_OK) {
        account(w, r, popcount64(fresh));
        s->committed |= m;
    }
    check_level_result(w, r, level, hr, "commit inside");
    STRESS_REQUIRE(&w->f, hr != S_OK || p == s->base + (size_t)a * P, "commit returned %p", p);
}

static void h_decommit(hworker_t *w, int r, hslot_t *s)
{
    int a = (int)stress_below(&w->rng, (uint64_t)s->npages);
    int n = 1 + (int)stress_below(&w->rng, (uint64_t)(s->npages - a));
    uint64_t m = pages_mask(a, n);
    HRESULT hr = rts[r].mgr->lpVtbl->VirtualFree(rts[r].mgr, s->base + (size_t)a * P,
                                                 (SIZE_T)n * P, MEM_DECOMMIT);
    STRESS_REQUIRE(&w->f, hr == S_OK, "decommit for runtime %d: %#x", r, (unsigned)hr);
    account(w, r, -popcount64(m & s->committed));
    s->committed &= ~m;
}

static void h_free(hworker_t *w, int r, hslot_t *s)
{
    HRESULT hr = rts[r].mgr->lpVtbl->VirtualFree(rts[r].mgr, s->base, 0, MEM_RELEASE);
    STRESS_REQUIRE(&w->f, hr == S_OK, "release for runtime %d: %#x", r, (unsigned)hr);
    account(w, r, -popcount64(s->committed));
    memset(s, 0, sizeof *s);
}

static int committed_page(hworker_t *w, const hslot_t *s)
{
    if (!s->committed)
        return -1;
    int i = (int)stress_below(&w->rng, (uint64_t)s->npages);
    while (!(s->committed >> i & 1))
        i = (i + 1) % s->npages;
    return i;
}

static void h_protect(hworker_t *w, int r, hslot_t *s)
{
    int i = committed_page(w, s);
    if (i < 0)
        return;
    DWORD old = 0;
    DWORD prot = stress_below(&w->rng, 2) ? PAGE_READWRITE : PAGE_EXECUTE_READWRITE;
    HRESULT hr = rts[r].mgr->lpVtbl->VirtualProtect(rts[r].mgr, s->base + (size_t)i * P, P, prot,
                                                    &old);
    STRESS_REQUIRE(&w->f, hr == S_OK && (old == PAGE_READWRITE || old == PAGE_EXECUTE_READWRITE),
                   "protect for runtime %d: %#x, old %#x", r, (unsigned)hr, old);
}

static void h_query(hworker_t *w, int r, hslot_t *s)
{
    int i = (int)stress_below(&w->rng, (uint64_t)s->npages);
    MEMORY_BASIC_INFORMATION m;
    SIZE_T n = 0;
    HRESULT hr = rts[r].mgr->lpVtbl->VirtualQuery(rts[r].mgr, s->base + (size_t)i * P, &m,
                                                  sizeof m, &n);
    bool committed = s->committed >> i & 1;
    STRESS_REQUIRE(&w->f, hr == S_OK && n == sizeof m && m.AllocationBase == s->base &&
                              m.State == (committed ? MEM_COMMIT : MEM_RESERVE),
                   "query for runtime %d: %#x, alloc %p state %#x (committed %d)", r,
                   (unsigned)hr, m.AllocationBase, m.State, committed);
    /* The other runtime may not look at it. */
    int o = 1 - r;
    hr = rts[o].mgr->lpVtbl->VirtualQuery(rts[o].mgr, s->base, &m, sizeof m, &n);
    STRESS_REQUIRE(&w->f, hr == HOST_E_NOT_OWNER, "runtime %d queried runtime %d's memory: %#x",
                   o, r, (unsigned)hr);
}

static void h_touch(hworker_t *w, hslot_t *s)
{
    int i = committed_page(w, s);
    if (i >= 0)
        s->base[(size_t)i * P + stress_below(&w->rng, P)] = 1;
}

static void h_load(hworker_t *w, int r)
{
    DWORD load = 101;
    SIZE_T avail = 0;
    HRESULT hr = rts[r].mgr->lpVtbl->GetMemoryLoad(rts[r].mgr, &load, &avail);
    STRESS_REQUIRE(&w->f, hr == S_OK && load <= 100 && avail <= rts[r].hard,
                   "memory load of runtime %d: %#x, load %u, available %zu", r, (unsigned)hr,
                   load, avail);
}

static void h_not_owner(hworker_t *w, int r, hslot_t *s)
{
    int o = 1 - r;
    HRESULT hr = rts[o].mgr->lpVtbl->VirtualFree(rts[o].mgr, s->base, 0, MEM_RELEASE);
    STRESS_REQUIRE(&w->f, hr == HOST_E_NOT_OWNER, "runtime %d freed runtime %d's memory: %#x", o,
                   r, (unsigned)hr);
    MEMORY_BASIC_INFORMATION m;
    STRESS_REQUIRE(&w->f, VirtualQuery(s->base, &m, sizeof m) == sizeof m &&
                              m.AllocationBase == s->base,
                   "a refused free changed %p: state %#x", (void *)s->base, m.State);
}

/* A new callback object for the runtime (the old one is released by hostmem). */
static void h_register(hworker_t *w, int r)
{
    rtinfo_t *ri = &rts[r];
    int next = atomic_load(&ri->cb_next);
    if (next >= 2 || !atomic_compare_exchange_strong(&ri->cb_next, &next, next + 1))
        return;
    HRESULT hr = ri->mgr->lpVtbl->RegisterMemoryNotificationCallback(ri->mgr, &ri->cb[next].iface);
    STRESS_REQUIRE(&w->f, hr == S_OK, "register a callback for runtime %d: %#x", r, (unsigned)hr);
}

static void *host_worker(void *arg)
{
    hworker_t *w = arg;
    static const int mix[] = {HOP_ALLOC, HOP_ALLOC, HOP_RESERVE, HOP_COMMIT, HOP_COMMIT,
                              HOP_DECOMMIT, HOP_FREE, HOP_FREE, HOP_PROTECT, HOP_QUERY,
                              HOP_TOUCH, HOP_LOAD, HOP_NOT_OWNER};
    while (!stress_stopping(&w->f) && ((w->total & 15) || stress_now_ns() < w->deadline)) {
        int r = stress_below(&w->rng, 3) ? 0 : 1;
        hslot_t *s = &w->slot[r][stress_below(&w->rng, SLOTS)];
        int op = stress_below(&w->rng, 4096) == 0 ? HOP_REGISTER
                                                  : mix[stress_below(&w->rng, sizeof mix / sizeof mix[0])];
        pthread_rwlock_rdlock(&quiet_lock);
        if (op == HOP_REGISTER) {
            h_register(w, r);
        } else if (op == HOP_LOAD) {
            h_load(w, r);
        } else if (!s->base) {
            op = op == HOP_RESERVE ? HOP_RESERVE : HOP_ALLOC;
            h_alloc(w, r, s, op == HOP_RESERVE);
        } else {
            switch (op) {
            case HOP_COMMIT: h_commit(w, r, s); break;
            case HOP_DECOMMIT: h_decommit(w, r, s); break;
            case HOP_PROTECT: h_protect(w, r, s); break;
            case HOP_QUERY: h_query(w, r, s); break;
            case HOP_TOUCH: h_touch(w, s); break;
            case HOP_NOT_OWNER: h_not_owner(w, r, s); break;
            default: h_free(w, r, s), op = HOP_FREE; break;
            }
        }
        pthread_rwlock_unlock(&quiet_lock);
        w->ops[op]++;
        w->total++;
    }
    for (int r = 0; r < NRT; r++)
        for (int k = 0; k < SLOTS; k++)
            if (w->slot[r][k].base && !w->f.failed)
                h_free(w, r, &w->slot[r][k]);
    return NULL;
}

/* Budgets exact: each runtime's committed bytes are its live allocations' pages. */
static void budgets_exact(const stress_base_t *b, const char *when)
{
    uint64_t sum = 0;
    for (int r = 0; r < NRT; r++) {
        uint64_t live = 0;
        for (int i = 0; i < THREADS; i++)
            live += atomic_load(&hw[i].live[r]);
        ck_assert_msg(rt_committed(rts[r].rt) == live, "%s: runtime %d is charged %llu bytes, "
                      "its live allocations hold %llu", when, r,
                      (unsigned long long)rt_committed(rts[r].rt), (unsigned long long)live);
        sum += live;
    }
    char err[512];
    ck_assert_msg(stress_views_agree(b, 0, 0, err, sizeof err), "%s: %s", when, err);
    hm_vm_stats_t st;
    hm_vm_get_stats(&st);
    ck_assert_uint_eq(st.committed_bytes - b->st.committed_bytes, sum);
}

static void quiet_check(const stress_base_t *b)
{
    pthread_rwlock_wrlock(&quiet_lock);
    budgets_exact(b, "quiet point");
    pthread_rwlock_unlock(&quiet_lock);
}

/* Waits up to 3 s for the runtime's current callback to have been told `notice`. */
static bool told(int r, int notice)
{
    int k = atomic_load(&rts[r].cb_next) - 1;
    if (k < 0)
        return true;
    for (int i = 0; i < 300 && atomic_load(&rts[r].cb[k].last) != notice; i++)
        usleep(10000);
    return atomic_load(&rts[r].cb[k].last) == notice;
}

START_TEST(host_levels_budgets_exact)
{
    stress_warm_up(THREADS + 1); /* the workers and the host's notifier */
    hm_host_t *host = make_host();
    stress_base_t b;
    stress_base_take(&b);
    stress_ledger_install();
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&quiet_lock, &ra);
    rts[0] = (rtinfo_t){.rt = make_runtime(host, "A", 4 * MIB, 3 * MIB, MIB, 40),
                        .hard = 4 * MIB, .reserve = MIB, .levels = 3};
    rts[1] = (rtinfo_t){.rt = make_runtime(host, "B", 2 * MIB, 0, MIB, 10),
                        .hard = 2 * MIB, .reserve = MIB, .levels = 2};
    for (int r = 0; r < NRT; r++) {
        rts[r].mgr = hm_runtime_memory_manager(rts[r].rt);
        cb_init(&rts[r].cb[0]);
        cb_init(&rts[r].cb[1]);
        atomic_store(&rts[r].cb_next, 0);
    }
    pthread_t t[THREADS];
    uint64_t t0 = stress_now_ns(), deadline = t0 + stress_run_ns();
    for (unsigned i = 0; i < THREADS; i++) {
        memset(&hw[i], 0, sizeof hw[i]);
        hw[i].rng = hw[i].seed = stress_seed(50 + i);
        hw[i].deadline = deadline;
        ck_assert_int_eq(pthread_create(&t[i], NULL, host_worker, &hw[i]), 0);
    }
    unsigned quiet = 0;
    while (stress_now_ns() + 250000000ull < deadline && !atomic_load(&stress_stop)) {
        usleep(200000);
        quiet_check(&b);
        quiet++;
    }
    uint64_t counts[HOP_COUNT] = {0}, total = 0, refused[3] = {0};
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < HOP_COUNT; k++)
            counts[k] += hw[i].ops[k];
        for (int k = 0; k < 3; k++)
            refused[k] += hw[i].refused[k];
        total += hw[i].total;
    }
    uint64_t ns = stress_now_ns() - t0;
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_msg(!hw[i].f.failed, "thread %u (seed %#llx): %s", i,
                      (unsigned long long)hw[i].seed, hw[i].f.msg);
    budgets_exact(&b, "at the end");
    /* Every runtime has a callback now; with nothing committed each must be told High. */
    hworker_t reg = {0};
    for (int r = 0; r < NRT; r++) {
        if (atomic_load(&rts[r].cb_next) == 0)
            h_register(&reg, r);
        ck_assert_msg(!reg.f.failed, "%s", reg.f.msg);
        ck_assert_uint_eq(rt_committed(rts[r].rt), 0);
        ck_assert_msg(told(r, eMemoryAvailableHigh), "runtime %d was never told High once its "
                      "memory was free (last notice %d)", r,
                      atomic_load(&rts[r].cb[atomic_load(&rts[r].cb_next) - 1].last));
    }
    uint64_t calls[NRT] = {0};
    for (int r = 0; r < NRT; r++) {
        hm_runtime_stats_t st = {.cb_size = sizeof st};
        ck_assert_int_eq(hm_runtime_get_stats(rts[r].rt, &st), 0);
        ck_assert_uint_le(st.peak_committed, rts[r].hard + (rts[r].levels == 3 ? rts[r].reserve : 0));
        for (int k = 0; k < 2; k++)
            ck_assert_msg(!atomic_load(&rts[r].cb[k].bad), "runtime %d callback %d: %s", r, k,
                          rts[r].cb[k].why);
        /* The notifier counts a delivery after the callback returns: let it finish. */
        for (int i = 0; i < 100; i++) {
            calls[r] = atomic_load(&rts[r].cb[0].calls) + atomic_load(&rts[r].cb[1].calls);
            ck_assert_int_eq(hm_runtime_get_stats(rts[r].rt, &st), 0);
            if (st.notifications == calls[r])
                break;
            usleep(10000);
        }
        ck_assert_uint_eq(st.notifications, calls[r]);
        rts[r].mgr->lpVtbl->Release(rts[r].mgr);
    }
    hm_host_destroy(host);
    remove_load_dir();
    usleep(50000);
    for (int r = 0; r < NRT; r++) {
        uint64_t now = 0;
        for (int k = 0; k < 2; k++) {
            now += atomic_load(&rts[r].cb[k].calls);
            ck_assert_uint_eq(atomic_load(&rts[r].cb[k].refs), 1); /* no reference kept */
        }
        ck_assert_uint_eq(now, calls[r]); /* nothing after hm_host_destroy */
    }
    pthread_rwlock_destroy(&quiet_lock);
    printf("host_levels_budgets_exact, 4 threads: %llu operations (", (unsigned long long)total);
    for (int k = 0; k < HOP_COUNT; k++)
        printf("%s%s %llu", k ? ", " : "", hop_names[k], (unsigned long long)counts[k]);
    printf(")\nrefused by level: task %llu, appdomain %llu, process %llu; notifications A %llu, "
           "B %llu; quiet points %u\n", (unsigned long long)refused[0],
           (unsigned long long)refused[1], (unsigned long long)refused[2],
           (unsigned long long)calls[0], (unsigned long long)calls[1], quiet);
    stress_log_ops("host_levels_budgets_exact", total, ns);
    ck_assert_uint_gt(refused[0] + refused[1] + refused[2], 0);
    stress_assert_back(&b, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("host_levels_stress");
    TCase *tc = tcase_create("host_levels_budgets_exact");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, host_levels_budgets_exact);
    suite_add_tcase(s, tc);
    return s;
}

HM_TEST_MAIN(make_suite)
