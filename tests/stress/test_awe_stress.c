/*
 * test_awe_stress.c — Address Windowing Extensions under load, for a bounded time.
 *
 * awe_threads_map_unmap_shared_window: 4 threads, each holding a few physical pages of its
 * own (AllocateUserPhysicalPages; counts kept small) and a private MEM_PHYSICAL window,
 * share one more window. They map their pages into the shared window (one page, a run, or
 * MapUserPhysicalPagesScatter), unmap ranges of it (taking other threads' pages out from
 * under them), change its protections and query it, all at once; now and then a thread
 * frees a page and allocates a new one, or releases its private window and makes another.
 * Rules checked on every call (semantics-decisions.md, AWE rows): a map of a page that is
 * not mapped anywhere succeeds; one of a page that may still be mapped succeeds or fails
 * with 87 and nothing mapped; a freed page's number fails with 487; unmapping and queries
 * always succeed; VirtualProtect succeeds or fails with 487 (a page unmapped meanwhile).
 * Contents: a thread takes its page back (unmapping where it last put it), maps it into its
 * private window and finds the last value it wrote there — the data of a physical page
 * survives every map, unmap, displacement and the release of the shared window. Quiet
 * points compare the mapping ledger, the commit charge (AWE pages are charged to commit)
 * and the kernel's view; at the end every page is freed and nothing is left mapped.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stress.h"

#define PROC GetCurrentProcess()
#define THREADS 4
#define K 6   /* physical pages per thread */
#define SW 24 /* pages of the shared window */

enum {
    AOP_MAP, AOP_MAP_RUN, AOP_UNMAP, AOP_SCATTER, AOP_VERIFY, AOP_PROTECT, AOP_QUERY,
    AOP_REALLOC, AOP_WINDOW, AOP_INVALID, AOP_COUNT
};
static const char *const aop_names[AOP_COUNT] = {
    "map", "map_run", "unmap", "scatter", "verify", "protect", "query", "free_allocate",
    "window_recycle", "invalid"};

typedef struct aworker {
    unsigned id;
    uint64_t rng, seed;
    ULONG_PTR pfn[K];
    uint64_t sig[K]; /* what the page's first word holds */
    int where[K];    /* shared-window page it was last mapped at, or -1 */
    char *pw;        /* private window, K pages */
    uint64_t ops[AOP_COUNT], total, displaced;
    uint64_t deadline;
    stress_failure_t f;
} aworker_t;

static char *sw;                      /* the shared window */
static pthread_rwlock_t quiet_lock;   /* read: one operation; write: a quiet point */

static char *at(int page)
{
    return sw + (size_t)page * P;
}

static void a_map(aworker_t *w)
{
    int i = (int)stress_below(&w->rng, K), a = (int)stress_below(&w->rng, SW);
    BOOL ok = MapUserPhysicalPages(at(a), 1, &w->pfn[i]);
    DWORD e = GetLastError();
    STRESS_REQUIRE(&w->f, ok || (w->where[i] >= 0 && e == ERROR_INVALID_PARAMETER),
                   "map page %d (last at %d) to %d: error %u", i, w->where[i], a, e);
    if (!ok)
        w->displaced++;
    else
        w->where[i] = a;
}

/* Pages i..i+n-1 to window pages a..a+n-1: all or nothing. */
static void a_map_run(aworker_t *w)
{
    int n = 1 + (int)stress_below(&w->rng, 3);
    int i = (int)stress_below(&w->rng, K - n + 1), a = (int)stress_below(&w->rng, SW - n + 1);
    bool free_all = true;
    for (int k = 0; k < n; k++)
        free_all = free_all && w->where[i + k] < 0;
    BOOL ok = MapUserPhysicalPages(at(a), (ULONG_PTR)n, &w->pfn[i]);
    DWORD e = GetLastError();
    STRESS_REQUIRE(&w->f, ok || (!free_all && e == ERROR_INVALID_PARAMETER),
                   "map %d pages from %d to %d: error %u (all unmapped: %d)", n, i, a, e,
                   free_all);
    for (int k = 0; k < n && ok; k++)
        w->where[i + k] = a + k;
}

static void a_unmap(aworker_t *w)
{
    int n = 1 + (int)stress_below(&w->rng, 4), a = (int)stress_below(&w->rng, SW - n + 1);
    STRESS_REQUIRE(&w->f, MapUserPhysicalPages(at(a), (ULONG_PTR)n, NULL),
                   "unmap %d pages at %d: error %u", n, a, GetLastError());
    for (int i = 0; i < K; i++)
        if (w->where[i] >= a && w->where[i] < a + n)
            w->where[i] = -1;
}

static void a_scatter(aworker_t *w)
{
    PVOID addrs[4];
    ULONG_PTR pfns[4];
    int idx[4], n = 1 + (int)stress_below(&w->rng, 4);
    bool free_all = true;
    int first = (int)stress_below(&w->rng, SW);
    for (int k = 0; k < n; k++) {
        idx[k] = (int)((stress_below(&w->rng, K / 4 + 1) + (unsigned)k * (K / 4 + 1)) % K);
        addrs[k] = at((first + k * 5) % SW); /* distinct addresses */
        bool zero = stress_below(&w->rng, 6) == 0; /* a 0 number unmaps its address */
        pfns[k] = zero ? 0 : w->pfn[idx[k]];
        if (zero)
            idx[k] = -1;
        else
            free_all = free_all && w->where[idx[k]] < 0;
    }
    bool twice = false; /* the same page twice in one call: 87 */
    for (int k = 0; k < n; k++)
        for (int j = 0; j < k; j++)
            twice = twice || (idx[k] >= 0 && idx[k] == idx[j]);
    BOOL ok = MapUserPhysicalPagesScatter(addrs, (ULONG_PTR)n, pfns);
    DWORD e = GetLastError();
    STRESS_REQUIRE(&w->f, twice ? !ok && e == ERROR_INVALID_PARAMETER
                                : ok || (!free_all && e == ERROR_INVALID_PARAMETER),
                   "scatter of %d pages: ok %d error %u (all unmapped: %d, a page twice: %d)", n,
                   ok, e, free_all, twice);
    if (!ok)
        return;
    for (int i = 0; i < K; i++)
        for (int k = 0; k < n; k++)
            if (w->where[i] >= 0 && at(w->where[i]) == addrs[k])
                w->where[i] = -1; /* that address now holds another page, or none */
    for (int k = 0; k < n; k++)
        if (idx[k] >= 0)
            w->where[idx[k]] = (int)(((char *)addrs[k] - sw) / (ptrdiff_t)P);
}

/* Takes page i back, checks and rewrites its contents through the private window. */
static void a_verify_page(aworker_t *w, int i)
{
    if (w->where[i] >= 0) {
        STRESS_REQUIRE(&w->f, MapUserPhysicalPages(at(w->where[i]), 1, NULL),
                       "unmap %d: error %u", w->where[i], GetLastError());
        w->where[i] = -1;
    }
    char *p = w->pw + (size_t)i * P;
    STRESS_REQUIRE(&w->f, MapUserPhysicalPages(p, 1, &w->pfn[i]),
                   "map page %d (unmapped) into the private window: error %u", i, GetLastError());
    MEMORY_BASIC_INFORMATION m;
    STRESS_REQUIRE(&w->f, VirtualQuery(p, &m, sizeof m) == sizeof m && m.State == MEM_COMMIT &&
                              m.Protect == PAGE_READWRITE && m.AllocationBase == w->pw &&
                              m.Type == MEM_PRIVATE,
                   "mapped private page: state %#x prot %#x", m.State, m.Protect);
    uint64_t v = *(volatile uint64_t *)p;
    STRESS_REQUIRE(&w->f, v == w->sig[i], "physical page %d of thread %u holds %#llx, wrote "
                   "%#llx", i, w->id, (unsigned long long)v, (unsigned long long)w->sig[i]);
    w->sig[i] = stress_rnd(&w->rng);
    *(volatile uint64_t *)p = w->sig[i];
    STRESS_REQUIRE(&w->f, MapUserPhysicalPages(p, 1, NULL), "unmap private: %u", GetLastError());
    STRESS_REQUIRE(&w->f, VirtualQuery(p, &m, sizeof m) == sizeof m && m.State == MEM_RESERVE &&
                              m.Protect == 0,
                   "unmapped private page: state %#x prot %#x", m.State, m.Protect);
}

static void a_protect(aworker_t *w)
{
    static const DWORD prots[] = {PAGE_READONLY, PAGE_READWRITE, PAGE_NOACCESS};
    int n = 1 + (int)stress_below(&w->rng, 3), a = (int)stress_below(&w->rng, SW - n + 1);
    DWORD prot = prots[stress_below(&w->rng, 3)], old = 0xDEAD;
    BOOL ok = VirtualProtect(at(a), (SIZE_T)n * P, prot, &old);
    DWORD e = GetLastError();
    STRESS_REQUIRE(&w->f, ok ? (old == PAGE_READONLY || old == PAGE_READWRITE ||
                                old == PAGE_NOACCESS)
                             : (e == ERROR_INVALID_ADDRESS && old == PAGE_NOACCESS),
                   "protect %d pages at %d: ok %d error %u old %#x", n, a, ok, e, old);
}

static void a_query(aworker_t *w)
{
    uintptr_t a = (uintptr_t)sw + stress_below(&w->rng, SW * P);
    MEMORY_BASIC_INFORMATION m;
    STRESS_REQUIRE(&w->f, VirtualQuery((void *)a, &m, sizeof m) == sizeof m, "query: %u",
                   GetLastError());
    bool mapped = m.State == MEM_COMMIT;
    STRESS_REQUIRE(&w->f, m.BaseAddress == (void *)(a & ~(uintptr_t)(P - 1)) &&
                              m.AllocationBase == sw && m.AllocationProtect == PAGE_READWRITE &&
                              m.Type == MEM_PRIVATE &&
                              (uintptr_t)m.BaseAddress + m.RegionSize <= (uintptr_t)at(SW) &&
                              (mapped ? (m.Protect == PAGE_READWRITE ||
                                         m.Protect == PAGE_READONLY || m.Protect == PAGE_NOACCESS)
                                      : (m.State == MEM_RESERVE && m.Protect == 0)),
                   "window query %#lx: base %p alloc %p aprot %#x size %#zx state %#x prot %#x "
                   "type %#x", (unsigned long)a, m.BaseAddress, m.AllocationBase,
                   m.AllocationProtect, m.RegionSize, m.State, m.Protect, m.Type);
}

/* Frees page i (mapped or not: Free unmaps it first) and allocates another. */
static void a_realloc(aworker_t *w)
{
    int i = (int)stress_below(&w->rng, K);
    ULONG_PTR old = w->pfn[i], one = 1;
    STRESS_REQUIRE(&w->f, FreeUserPhysicalPages(PROC, &one, &w->pfn[i]) && one == 1,
                   "free page %d: error %u, freed %lu", i, GetLastError(), (unsigned long)one);
    w->where[i] = -1;
    STRESS_REQUIRE_ERR(&w->f, MapUserPhysicalPages(w->pw, 1, &old), ERROR_INVALID_ADDRESS,
                       "map a freed page");
    one = 1;
    STRESS_REQUIRE(&w->f, AllocateUserPhysicalPages(PROC, &one, &w->pfn[i]) && one == 1,
                   "allocate a page: error %u, got %lu", GetLastError(), (unsigned long)one);
    w->sig[i] = 0; /* a new page reads zero */
    a_verify_page(w, i);
}

static void a_window(aworker_t *w)
{
    for (int i = 0; i < K; i++)
        STRESS_REQUIRE(&w->f, MapUserPhysicalPages(w->pw + (size_t)i * P, 1, &w->pfn[i]) ||
                                  w->where[i] >= 0,
                       "map page %d for the window release: %u", i, GetLastError());
    /* Released with pages mapped: they stay allocated and keep their data (§5.6). */
    STRESS_REQUIRE(&w->f, VirtualFree(w->pw, 0, MEM_RELEASE), "release window: %u",
                   GetLastError());
    w->pw = VirtualAlloc(NULL, K * P, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE);
    STRESS_REQUIRE(&w->f, w->pw, "private window: %u", GetLastError());
    a_verify_page(w, (int)stress_below(&w->rng, K));
}

static void a_invalid(aworker_t *w)
{
    ULONG_PTR made_up = 0x1234, two[2] = {w->pfn[0], w->pfn[1]};
    PVOID outside[1] = {&made_up};
    switch (stress_below(&w->rng, 3)) {
    case 0:
        STRESS_REQUIRE_ERR(&w->f, MapUserPhysicalPages(at(SW - 1), 2, two), ERROR_INVALID_PARAMETER,
                           "map past the window's end");
        break;
    case 1:
        STRESS_REQUIRE_ERR(&w->f, MapUserPhysicalPages(w->pw, 1, &made_up), ERROR_INVALID_ADDRESS,
                           "map a made-up page number");
        break;
    default:
        STRESS_REQUIRE_ERR(&w->f, MapUserPhysicalPagesScatter(outside, 1, two),
                           ERROR_INVALID_PARAMETER, "scatter outside any window");
        break;
    }
}

static void *awe_worker(void *arg)
{
    aworker_t *w = arg;
    static const int mix[] = {AOP_MAP, AOP_MAP, AOP_MAP, AOP_MAP_RUN, AOP_UNMAP, AOP_UNMAP,
                              AOP_SCATTER, AOP_VERIFY, AOP_VERIFY, AOP_PROTECT, AOP_QUERY,
                              AOP_QUERY, AOP_REALLOC, AOP_INVALID};
    while (!stress_stopping(&w->f) && ((w->total & 31) || stress_now_ns() < w->deadline)) {
        int op = stress_below(&w->rng, 512) == 0 ? AOP_WINDOW
                                                 : mix[stress_below(&w->rng, sizeof mix / sizeof mix[0])];
        pthread_rwlock_rdlock(&quiet_lock);
        switch (op) {
        case AOP_MAP: a_map(w); break;
        case AOP_MAP_RUN: a_map_run(w); break;
        case AOP_UNMAP: a_unmap(w); break;
        case AOP_SCATTER: a_scatter(w); break;
        case AOP_VERIFY: a_verify_page(w, (int)stress_below(&w->rng, K)); break;
        case AOP_PROTECT: a_protect(w); break;
        case AOP_QUERY: a_query(w); break;
        case AOP_REALLOC: a_realloc(w); break;
        case AOP_WINDOW: a_window(w); break;
        default: a_invalid(w); break;
        }
        pthread_rwlock_unlock(&quiet_lock);
        w->ops[op]++;
        w->total++;
    }
    return NULL;
}

static void quiet_check(const stress_base_t *b)
{
    pthread_rwlock_wrlock(&quiet_lock);
    char err[512];
    bool ok = stress_views_agree(b, (uint64_t)THREADS * K * P, 0, err, sizeof err);
    pthread_rwlock_unlock(&quiet_lock);
    ck_assert_msg(ok, "quiet point: %s", err);
}

START_TEST(awe_threads_map_unmap_shared_window)
{
    stress_warm_up(THREADS);
    stress_base_t b;
    stress_base_take(&b);
    stress_ledger_install();
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&quiet_lock, &ra);
    sw = VirtualAlloc(NULL, SW * P, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE);
    ck_assert_msg(sw != NULL, "shared window: %u", GetLastError());
    static aworker_t w[THREADS];
    pthread_t t[THREADS];
    uint64_t t0 = stress_now_ns(), deadline = t0 + stress_run_ns();
    for (unsigned i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i;
        w[i].rng = w[i].seed = stress_seed(20 + i);
        w[i].deadline = deadline;
        ULONG_PTR n = K;
        ck_assert_msg(AllocateUserPhysicalPages(PROC, &n, w[i].pfn) && n == K,
                      "allocate %d pages: %u (got %lu)", K, GetLastError(), (unsigned long)n);
        for (int k = 0; k < K; k++)
            w[i].where[k] = -1;
        w[i].pw = VirtualAlloc(NULL, K * P, MEM_RESERVE | MEM_PHYSICAL, PAGE_READWRITE);
        ck_assert_ptr_nonnull(w[i].pw);
    }
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, awe_worker, &w[i]), 0);
    unsigned quiet = 0;
    while (stress_now_ns() + 250000000ull < deadline && !atomic_load(&stress_stop)) {
        usleep(200000);
        quiet_check(&b);
        quiet++;
    }
    uint64_t counts[AOP_COUNT] = {0}, total = 0, displaced = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < AOP_COUNT; k++)
            counts[k] += w[i].ops[k];
        total += w[i].total;
        displaced += w[i].displaced;
    }
    uint64_t ns = stress_now_ns() - t0;
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_msg(!w[i].f.failed, "thread %u (seed %#llx): %s", i,
                      (unsigned long long)w[i].seed, w[i].f.msg);
    quiet_check(&b);
    /* The shared window goes with pages in it: each keeps its data. */
    ck_assert(VirtualFree(sw, 0, MEM_RELEASE));
    for (unsigned i = 0; i < THREADS; i++) {
        for (int k = 0; k < K; k++) {
            w[i].where[k] = -1;
            a_verify_page(&w[i], k);
        }
        ck_assert_msg(!w[i].f.failed, "thread %u at the end: %s", i, w[i].f.msg);
        ULONG_PTR n = K;
        ck_assert_msg(FreeUserPhysicalPages(PROC, &n, w[i].pfn) && n == K, "free: %u",
                      GetLastError());
        ck_assert(VirtualFree(w[i].pw, 0, MEM_RELEASE));
    }
    pthread_rwlock_destroy(&quiet_lock);
    printf("awe_threads_map_unmap_shared_window, 4 threads: %llu operations (",
           (unsigned long long)total);
    for (int k = 0; k < AOP_COUNT; k++)
        printf("%s%s %llu", k ? ", " : "", aop_names[k], (unsigned long long)counts[k]);
    printf(")\nmaps refused because the page was still mapped: %llu, quiet points %u\n",
           (unsigned long long)displaced, quiet);
    stress_log_ops("awe_threads_map_unmap_shared_window", total, ns);
    stress_assert_back(&b, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("awe_stress");
    TCase *tc = tcase_create("awe_threads_map_unmap_shared_window");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, awe_threads_map_unmap_shared_window);
    suite_add_tcase(s, tc);
    return s;
}

HM_TEST_MAIN(make_suite)
