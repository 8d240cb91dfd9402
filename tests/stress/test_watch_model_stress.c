/*
 * test_watch_model_stress.c — write watch (MEM_WRITE_WATCH) against an exact model, with
 * threads interleaving in the engines and the fault handler, for a bounded time.
 * tests/CMakeLists.txt runs it twice: with the engine hostmem picks and with
 * HOSTMEM_WRITE_WATCH=mprotect.
 *
 * watch_separate_exact_model: 4 threads, each with watched reservations of its own (made
 * by VirtualAlloc, by VirtualAlloc2 with address requirements, or by replacing a
 * placeholder; committed or not, any protection incl. PAGE_GUARD) and a page model (state,
 * protection, written, latched, contents). Writes, reads, commits, decommits,
 * VirtualProtect (which latches, W25), GetWriteWatch (reset or not, any cap),
 * ResetWriteWatch, hm_watch_mark_written, VirtualLock/Unlock and release must return
 * exactly what the model says, GetWriteWatch the exact page list, VirtualQuery every
 * region. This is hostmem's documented semantics (docs/semantics-decisions.md, "Write
 * watch"). Quiet points compare the mapping ledger, hostmem's statistics and the kernel's
 * view (stress.h); at the end nothing is left mapped.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stress_watch.h"

#define THREADS 4

/* ======================================================================================
 * watch_separate_exact_model
 * ==================================================================================== */

#define SLOTS 3
#define MAX_NP 96

typedef struct mpage {
    DWORD prot; /* Windows protection; 0 while reserved */
    bool committed, written, latched;
    uint64_t val; /* the page's first word */
} mpage_t;

typedef struct mres {
    char *base, *extra; /* extra: a placeholder beside a replaced one */
    size_t np;
    int kind;
    DWORD alloc_prot;
    mpage_t pg[MAX_NP];
} mres_t;

enum {
    MOP_CREATE, MOP_RELEASE, MOP_WRITE, MOP_READ, MOP_COMMIT, MOP_DECOMMIT, MOP_PROTECT,
    MOP_GWW, MOP_RESET, MOP_MARK, MOP_LOCK, MOP_INVALID, MOP_COUNT
};
static const char *const mop_names[MOP_COUNT] = {
    "create", "release", "write", "read", "commit", "decommit", "protect", "getwritewatch",
    "resetwritewatch", "mark_written", "lock_unlock", "invalid"};

typedef struct mworker {
    uint64_t rng, seed;
    mres_t slot[SLOTS];
    uint64_t ops[MOP_COUNT], total, guard_hits, reported;
    uint64_t deadline;
    stress_failure_t f;
} mworker_t;

static const DWORD commit_prots[] = {PAGE_READWRITE, PAGE_READWRITE, PAGE_EXECUTE_READWRITE,
                                     PAGE_READONLY, PAGE_NOACCESS, PAGE_READWRITE | PAGE_GUARD,
                                     PAGE_EXECUTE_READ};

static DWORD any_prot(uint64_t *rng)
{
    return commit_prots[stress_below(rng, sizeof commit_prots / sizeof commit_prots[0])];
}

static bool m_writable(DWORD p)
{
    DWORD b = p & 0xFFu;
    return b == PAGE_READWRITE || b == PAGE_EXECUTE_READWRITE;
}

static bool m_readable(DWORD p)
{
    DWORD b = p & 0xFFu;
    return m_writable(p) || b == PAGE_READONLY || b == PAGE_EXECUTE_READ;
}

/* Every VirtualQuery region of r against the model. */
static void m_check_regions(mworker_t *w, const mres_t *r)
{
    size_t i = 0;
    while (i < r->np) {
        size_t j = i;
        while (j + 1 < r->np && r->pg[j + 1].committed == r->pg[i].committed &&
               r->pg[j + 1].prot == r->pg[i].prot)
            j++;
        MEMORY_BASIC_INFORMATION m;
        STRESS_REQUIRE(&w->f, VirtualQuery(r->base + i * P, &m, sizeof m) == sizeof m,
                       "VirtualQuery: %u", GetLastError());
        STRESS_REQUIRE(&w->f, m.BaseAddress == r->base + i * P && m.AllocationBase == r->base &&
                                  m.AllocationProtect == r->alloc_prot &&
                                  m.RegionSize == (j - i + 1) * P &&
                                  m.State == (r->pg[i].committed ? MEM_COMMIT : MEM_RESERVE) &&
                                  m.Protect == r->pg[i].prot && m.Type == MEM_PRIVATE,
                       "region at page %zu of %p (kind %d, %zu pages): base %p alloc %p aprot "
                       "%#x size %#zx state %#x prot %#x; model: aprot %#x size %#zx "
                       "committed %d prot %#x", i, (void *)r->base, r->kind, r->np,
                       m.BaseAddress, m.AllocationBase, m.AllocationProtect, m.RegionSize,
                       m.State, m.Protect, r->alloc_prot, (j - i + 1) * P, r->pg[i].committed,
                       r->pg[i].prot);
        i = j + 1;
    }
}

static void m_create(mworker_t *w, mres_t *r)
{
    size_t np = 1 + (size_t)stress_below(&w->rng, MAX_NP);
    bool commit = stress_below(&w->rng, 3) != 0;
    DWORD prot = commit ? any_prot(&w->rng) : (stress_below(&w->rng, 2) ? PAGE_READWRITE
                                                                         : PAGE_NOACCESS);
    DWORD type = MEM_RESERVE | MEM_WRITE_WATCH | (commit ? MEM_COMMIT : 0);
    int kind = (int)stress_below(&w->rng, KIND_COUNT);
    SIZE_T size = np * P;
    char *p = NULL;
    size_t align = G;
    r->extra = NULL;
    if (kind == KIND_ALLOC) {
        p = VirtualAlloc(NULL, size - stress_below(&w->rng, P), type, prot);
    } else if (kind == KIND_ALLOC2) {
        if (stress_below(&w->rng, 4) == 0)
            type |= MEM_TOP_DOWN;
        p = alloc2_watched(&w->rng, size, type, prot, &align);
        STRESS_REQUIRE(&w->f, !p || in_bounds(p, size, align),
                       "VirtualAlloc2 placed %p (%#zx bytes) outside its requirements (align "
                       "%#zx)", (void *)p, size, align);
    } else {
        size_t extra = 1 + (size_t)stress_below(&w->rng, 16);
        char *ph = VirtualAlloc2(NULL, NULL, size + extra * P, PH_RESERVE, PAGE_NOACCESS, NULL, 0);
        STRESS_REQUIRE(&w->f, ph, "placeholder: %u", GetLastError());
        STRESS_REQUIRE(&w->f, VirtualFree(ph, size, PRESERVE), "split: %u", GetLastError());
        p = VirtualAlloc2(NULL, ph, size, type | MEM_REPLACE_PLACEHOLDER, prot, NULL, 0);
        if (!p) {
            DWORD e = GetLastError();
            VirtualFree(ph, 0, MEM_RELEASE);
            VirtualFree(ph + size, 0, MEM_RELEASE);
            SetLastError(e);
        }
        STRESS_REQUIRE(&w->f, !p || p == ph, "replace returned %p for %p", (void *)p, (void *)ph);
        r->extra = ph + size;
    }
    if (!p) {
        DWORD e = GetLastError();
        STRESS_REQUIRE(&w->f, e == ERROR_NOT_ENOUGH_MEMORY || e == ERROR_COMMITMENT_LIMIT,
                       "watched reservation (kind %d, %#x, %#x): error %u", kind, type, prot, e);
        r->extra = NULL;
        return;
    }
    r->base = p;
    r->np = np;
    r->kind = kind;
    r->alloc_prot = prot;
    for (size_t i = 0; i < np; i++)
        r->pg[i] = (mpage_t){commit ? prot : 0, commit, false, false, 0};
}

static void m_release(mworker_t *w, mres_t *r)
{
    if (r->kind == KIND_PLACEHOLDER && stress_below(&w->rng, 2)) {
        STRESS_REQUIRE(&w->f, VirtualFree(r->base, r->np * P, PRESERVE), "preserve: %u",
                       GetLastError());
        size_t total = (size_t)(r->extra - r->base);
        MEMORY_BASIC_INFORMATION m;
        STRESS_REQUIRE(&w->f, VirtualQuery(r->extra, &m, sizeof m) == sizeof m, "query extra");
        total += m.RegionSize;
        STRESS_REQUIRE(&w->f, VirtualFree(r->base, total, COALESCE), "coalesce: %u",
                       GetLastError());
        STRESS_REQUIRE(&w->f, VirtualFree(r->base, 0, MEM_RELEASE), "release placeholder: %u",
                       GetLastError());
    } else {
        /* Any address in the first page releases the allocation (rounded down). */
        size_t off = stress_below(&w->rng, 4) == 0 ? (size_t)stress_below(&w->rng, P) : 0;
        STRESS_REQUIRE(&w->f, VirtualFree(r->base + off, 0, MEM_RELEASE), "release %p: %u",
                       (void *)r->base, GetLastError());
        if (r->extra)
            STRESS_REQUIRE(&w->f, VirtualFree(r->extra, 0, MEM_RELEASE), "release extra: %u",
                           GetLastError());
    }
    memset(r, 0, sizeof *r);
}

/* A page range [*a, *b) of r, at most max pages. */
static void m_range(mworker_t *w, const mres_t *r, size_t max, size_t *a, size_t *b)
{
    *a = (size_t)stress_below(&w->rng, r->np);
    *b = *a + 1 + (size_t)stress_below(&w->rng, max);
    if (*b > r->np)
        *b = r->np;
    if (stress_below(&w->rng, 8) == 0)
        *a = 0, *b = r->np;
}

static void m_write(mworker_t *w, mres_t *r)
{
    size_t i = (size_t)stress_below(&w->rng, r->np);
    mpage_t *g = &r->pg[i];
    if (!g->committed || !m_writable(g->prot))
        return;
    uint64_t v = stress_rnd(&w->rng) | 1;
    *(volatile uint64_t *)(r->base + i * P) = v;
    if (g->prot & PAGE_GUARD) {
        g->prot &= ~(DWORD)PAGE_GUARD;
        w->guard_hits++;
    }
    g->val = v;
    g->written = true;
}

static void m_read(mworker_t *w, mres_t *r)
{
    size_t i = (size_t)stress_below(&w->rng, r->np);
    mpage_t *g = &r->pg[i];
    if (!g->committed || !m_readable(g->prot))
        return;
    uint64_t v = *(volatile uint64_t *)(r->base + i * P);
    if (g->prot & PAGE_GUARD) {
        g->prot &= ~(DWORD)PAGE_GUARD;
        w->guard_hits++;
    }
    STRESS_REQUIRE(&w->f, v == g->val, "page %zu of %p reads %#llx, model %#llx", i,
                   (void *)r->base, (unsigned long long)v, (unsigned long long)g->val);
}

static void m_commit(mworker_t *w, mres_t *r)
{
    size_t a, b;
    m_range(w, r, 16, &a, &b);
    DWORD prot = any_prot(&w->rng);
    char *p = VirtualAlloc(r->base + a * P, (b - a) * P, MEM_COMMIT, prot);
    if (!p) {
        DWORD e = GetLastError();
        STRESS_REQUIRE(&w->f, e == ERROR_COMMITMENT_LIMIT || e == ERROR_NOT_ENOUGH_MEMORY,
                       "commit [%zu, %zu) of %p: error %u", a, b, (void *)r->base, e);
        return;
    }
    STRESS_REQUIRE(&w->f, p == r->base + a * P, "commit returned %p", (void *)p);
    for (size_t i = a; i < b; i++) {
        mpage_t *g = &r->pg[i];
        if (!g->committed)
            g->written = false, g->val = 0;
        g->committed = true;
        g->prot = prot;
    }
}

static void m_decommit(mworker_t *w, mres_t *r)
{
    size_t a, b;
    m_range(w, r, 16, &a, &b);
    STRESS_REQUIRE(&w->f, VirtualFree(r->base + a * P, (b - a) * P, MEM_DECOMMIT),
                   "decommit [%zu, %zu) of %p: %u", a, b, (void *)r->base, GetLastError());
    for (size_t i = a; i < b; i++) {
        mpage_t *g = &r->pg[i];
        g->committed = false;
        g->written = false; /* W23; latched stays (W25) */
        g->prot = 0;
        g->val = 0;
    }
}

static void m_protect(mworker_t *w, mres_t *r)
{
    size_t a, b;
    m_range(w, r, 16, &a, &b);
    DWORD prot = any_prot(&w->rng), old = 0xDEAD;
    BOOL ok = VirtualProtect(r->base + a * P, (b - a) * P, prot, &old);
    bool all = true;
    for (size_t i = a; i < b; i++)
        all = all && r->pg[i].committed;
    if (!all) {
        STRESS_REQUIRE_ERR(&w->f, ok, ERROR_INVALID_ADDRESS, "protect over reserved pages");
        STRESS_REQUIRE(&w->f, old == PAGE_NOACCESS, "failed protect left old %#x", old);
        return;
    }
    STRESS_REQUIRE(&w->f, ok && old == r->pg[a].prot, "protect [%zu, %zu) of %p to %#x: ok %d "
                   "error %u old %#x (model %#x)", a, b, (void *)r->base, prot, ok,
                   GetLastError(), old, r->pg[a].prot);
    for (size_t i = a; i < b; i++) {
        r->pg[i].prot = prot;
        r->pg[i].latched = r->pg[i].latched || r->pg[i].written; /* W25 */
    }
}

static void m_gww(mworker_t *w, mres_t *r)
{
    size_t a, b;
    m_range(w, r, r->np, &a, &b);
    bool reset = stress_below(&w->rng, 2);
    ULONG_PTR m = b - a;
    ULONG_PTR cap = stress_below(&w->rng, 3) == 0 ? 1 + stress_below(&w->rng, m)
                                                  : m + stress_below(&w->rng, 3);
    void *addrs[MAX_NP + 4];
    ULONG_PTR n = cap;
    DWORD gran = 0;
    size_t off = stress_below(&w->rng, 3) == 0 ? (size_t)stress_below(&w->rng, P) : 0;
    UINT rc = GetWriteWatch(reset ? WRITE_WATCH_FLAG_RESET : 0, r->base + a * P + off,
                            m * P - off, addrs, &n, &gran);
    STRESS_REQUIRE(&w->f, rc == 0 && gran == P, "GetWriteWatch: rc %u error %u", rc,
                   GetLastError());
    size_t k = 0, last = b;
    for (size_t i = a; i < b && k < cap; i++) {
        const mpage_t *g = &r->pg[i];
        if (!(g->written || g->latched))
            continue;
        STRESS_REQUIRE(&w->f, k < n && addrs[k] == r->base + i * P,
                       "GetWriteWatch(reset %d, cap %lu) of pages [%zu, %zu) of %p (kind %d): "
                       "answer %zu is %p of %lu, model page %zu (written %d latched %d)", reset,
                       (unsigned long)cap, a, b, (void *)r->base, r->kind, k,
                       k < n ? addrs[k] : NULL, (unsigned long)n, i, g->written, g->latched);
        if (++k == cap)
            last = i + 1;
    }
    STRESS_REQUIRE(&w->f, n == k, "GetWriteWatch(reset %d, cap %lu) of pages [%zu, %zu) of %p "
                   "(kind %d): %lu answers, model %zu (extra: %p)", reset, (unsigned long)cap,
                   a, b, (void *)r->base, r->kind, (unsigned long)n, k, n > k ? addrs[k] : NULL);
    w->reported += n;
    if (reset)
        for (size_t i = a; i < last; i++)
            r->pg[i].written = r->pg[i].latched = false;
}

static void m_reset(mworker_t *w, mres_t *r)
{
    size_t a, b;
    m_range(w, r, r->np, &a, &b);
    STRESS_REQUIRE(&w->f, ResetWriteWatch(r->base + a * P, (b - a) * P) == 0,
                   "ResetWriteWatch: %u", GetLastError());
    for (size_t i = a; i < b; i++)
        r->pg[i].written = r->pg[i].latched = false;
}

static void m_mark(mworker_t *w, mres_t *r)
{
    size_t a, b;
    m_range(w, r, 8, &a, &b);
    BOOL ok = hm_watch_mark_written(r->base + a * P, (b - a) * P);
    bool can = true;
    for (size_t i = a; i < b; i++)
        can = can && r->pg[i].committed && m_writable(r->pg[i].prot) &&
              !(r->pg[i].prot & PAGE_GUARD);
    if (!can) {
        STRESS_REQUIRE_ERR(&w->f, ok, ERROR_NOACCESS, "mark_written over pages it cannot mark");
        return;
    }
    STRESS_REQUIRE(&w->f, ok, "mark_written [%zu, %zu): %u", a, b, GetLastError());
    for (size_t i = a; i < b; i++)
        r->pg[i].written = true;
}

static void m_lock(mworker_t *w, mres_t *r)
{
    size_t a, b;
    m_range(w, r, 4, &a, &b);
    if (b - a > 4)
        b = a + 4;
    BOOL ok = VirtualLock(r->base + a * P, (b - a) * P);
    size_t guard = SIZE_MAX;
    bool all = true, noaccess = false;
    for (size_t i = a; i < b; i++) {
        all = all && r->pg[i].committed;
        if (guard == SIZE_MAX && (r->pg[i].prot & PAGE_GUARD))
            guard = i;
        noaccess = noaccess || r->pg[i].prot == PAGE_NOACCESS;
    }
    if (!all) {
        STRESS_REQUIRE_ERR(&w->f, ok, ERROR_INVALID_ADDRESS, "lock over reserved pages");
    } else if (guard != SIZE_MAX) {
        STRESS_REQUIRE_ERR(&w->f, ok, (DWORD)STATUS_GUARD_PAGE_VIOLATION, "lock over a guard page");
        r->pg[guard].prot &= ~(DWORD)PAGE_GUARD;
    } else if (noaccess) {
        STRESS_REQUIRE_ERR(&w->f, ok, ERROR_NOACCESS, "lock over PAGE_NOACCESS");
    } else {
        STRESS_REQUIRE(&w->f, ok, "lock [%zu, %zu): %u", a, b, GetLastError());
        STRESS_REQUIRE(&w->f, VirtualUnlock(r->base + a * P, (b - a) * P), "unlock: %u",
                       GetLastError());
        for (size_t i = a; i < b; i++)
            if (m_writable(r->pg[i].prot))
                r->pg[i].written = true; /* G6 */
    }
}

static void m_invalid(mworker_t *w, mres_t *r)
{
    void *addrs[2];
    ULONG_PTR n = 2;
    DWORD gran;
    STRESS_REQUIRE(&w->f, GetWriteWatch(0, r->base + (r->np - 1) * P, 2 * P, addrs, &n,
                                        &gran) == (UINT)-1 &&
                              GetLastError() == ERROR_INVALID_PARAMETER,
                   "GetWriteWatch crossing the end of %p: error %u", (void *)r->base,
                   GetLastError());
}

static pthread_rwlock_t model_quiet; /* read: one operation; write: a quiet point */

static void *model_worker(void *arg)
{
    mworker_t *w = arg;
    static const int mix[] = {MOP_RELEASE, MOP_WRITE, MOP_WRITE, MOP_WRITE, MOP_WRITE,
                              MOP_READ, MOP_READ, MOP_COMMIT, MOP_COMMIT, MOP_DECOMMIT,
                              MOP_PROTECT, MOP_PROTECT, MOP_GWW, MOP_GWW, MOP_GWW, MOP_RESET,
                              MOP_MARK, MOP_LOCK, MOP_INVALID};
    while (!stress_stopping(&w->f) && ((w->total & 31) || stress_now_ns() < w->deadline)) {
        mres_t *r = &w->slot[stress_below(&w->rng, SLOTS)];
        int op = r->base ? mix[stress_below(&w->rng, sizeof mix / sizeof mix[0])] : MOP_CREATE;
        if (op == MOP_RELEASE && stress_below(&w->rng, 4))
            op = MOP_WRITE;
        pthread_rwlock_rdlock(&model_quiet);
        switch (op) {
        case MOP_CREATE: m_create(w, r); break;
        case MOP_RELEASE: m_release(w, r); break;
        case MOP_WRITE: m_write(w, r); break;
        case MOP_READ: m_read(w, r); break;
        case MOP_COMMIT: m_commit(w, r); break;
        case MOP_DECOMMIT: m_decommit(w, r); break;
        case MOP_PROTECT: m_protect(w, r); break;
        case MOP_GWW: m_gww(w, r); break;
        case MOP_RESET: m_reset(w, r); break;
        case MOP_MARK: m_mark(w, r); break;
        case MOP_LOCK: m_lock(w, r); break;
        default: m_invalid(w, r); break;
        }
        if (r->base && !w->f.failed && op != MOP_WRITE && op != MOP_GWW)
            m_check_regions(w, r);
        pthread_rwlock_unlock(&model_quiet);
        w->ops[op]++;
        w->total++;
    }
    for (int k = 0; k < SLOTS; k++)
        if (w->slot[k].base && !w->f.failed)
            m_release(w, &w->slot[k]);
    return NULL;
}

START_TEST(watch_separate_exact_model)
{
    print_engine();
    stress_warm_up(THREADS);
    stress_base_t b;
    stress_base_take(&b);
    stress_ledger_install();
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&model_quiet, &ra);
    static mworker_t w[THREADS];
    pthread_t t[THREADS];
    uint64_t t0 = stress_now_ns(), deadline = t0 + stress_run_ns();
    for (unsigned i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].rng = w[i].seed = stress_seed(10 + i);
        w[i].deadline = deadline;
        ck_assert_int_eq(pthread_create(&t[i], NULL, model_worker, &w[i]), 0);
    }
    unsigned quiet = 0;
    while (stress_now_ns() + 250000000ull < deadline && !atomic_load(&stress_stop)) {
        usleep(200000);
        pthread_rwlock_wrlock(&model_quiet);
        char err[512];
        bool ok = stress_views_agree(&b, 0, 0, err, sizeof err);
        pthread_rwlock_unlock(&model_quiet);
        ck_assert_msg(ok, "quiet point: %s", err);
        quiet++;
    }
    uint64_t counts[MOP_COUNT] = {0}, total = 0, hits = 0, reported = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < MOP_COUNT; k++)
            counts[k] += w[i].ops[k];
        total += w[i].total;
        hits += w[i].guard_hits;
        reported += w[i].reported;
    }
    uint64_t ns = stress_now_ns() - t0;
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_msg(!w[i].f.failed, "thread %u (seed %#llx): %s", i,
                      (unsigned long long)w[i].seed, w[i].f.msg);
    printf("watch_separate_exact_model, 4 threads: %llu operations (", (unsigned long long)total);
    for (int k = 0; k < MOP_COUNT; k++)
        printf("%s%s %llu", k ? ", " : "", mop_names[k], (unsigned long long)counts[k]);
    printf(")\npages reported %llu, guard pages fired %llu, quiet points %u\n",
           (unsigned long long)reported, (unsigned long long)hits, quiet);
    pthread_rwlock_destroy(&model_quiet);
    log_ops("watch_separate_exact_model", total, ns);
    ck_assert_uint_gt(reported, 0);
    stress_assert_back(&b, hits);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("watch_model_stress");
    TCase *tc = tcase_create("watch_separate_exact_model");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, watch_separate_exact_model);
    suite_add_tcase(s, tc);
    return s;
}

HM_TEST_MAIN(make_suite)
