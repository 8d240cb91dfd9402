/*
 * test_watch_stress.c — write watch (MEM_WRITE_WATCH) shared between threads, for a
 * bounded time. tests/CMakeLists.txt runs it twice: with the engine hostmem picks (the
 * kernel's userfaultfd + PAGEMAP_SCAN here) and with HOSTMEM_WRITE_WATCH=mprotect.
 *
 * watch_shared_writes_race_resets: 4 threads on 3 shared watched reservations (made by
 * VirtualAlloc, by VirtualAlloc2 with address requirements, and by replacing half of a
 * placeholder), each cut into chunks of 8 pages. Threads write pages (holding the chunk's
 * read lock), call GetWriteWatch with and without WRITE_WATCH_FLAG_RESET and
 * ResetWriteWatch over random ranges and caps, hm_watch_mark_written, VirtualLock and
 * VirtualUnlock, flip pages between PAGE_READWRITE and PAGE_EXECUTE_READWRITE without any
 * lock (racing everything, including decommits), decommit and recommit part of a chunk
 * (holding its write lock), query, make invalid calls, and now and then release a
 * reservation and make it again another way. Invariants, per page, from counters of
 * writes started and done around every store (mark and lock count as writes):
 *   no lost write:   a write done after the last GetWriteWatch that reset the page ended
 *                    is reported by the next one (unless a decommit since forgave it);
 *   no false report: a page reported written was written after the scan of the last
 *                    reset that cleared it;
 *   contents:        every increment a writer made is in the page when it is decommitted.
 * Quiet points (all threads paused) compare the mapping ledger, hostmem's statistics and
 * the kernel's view (stress.h); at the end nothing is left mapped.
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
 * watch_shared_writes_race_resets
 * ==================================================================================== */

#define NRES 3
#define NP 64
#define CHUNK 8
#define NCHUNK (NP / CHUNK)


typedef struct wres {
    pthread_rwlock_t life;            /* read: every operation; write: recycle, quiet point */
    char *base, *extra;               /* extra: the placeholder beside a replaced one */
    int kind;
    pthread_rwlock_t chunk[NCHUNK];   /* read: write, mark, lock; write: decommit */
    pthread_mutex_t locking[NCHUNK];  /* lock + unlock (locks do not nest: one at a time) */
    _Atomic uint64_t started[NP];     /* writes begun (before the store) */
    _Atomic uint64_t done[NP];        /* writes done (after the store) */
    _Atomic uint64_t forgiven[NP];    /* done[] when a decommit last dropped the page */
    _Atomic uint64_t increments[NP];  /* increments of the page's first word */
    uint64_t inc_base[NP];            /* increments[] at the last decommit (chunk write lock) */
    pthread_mutex_t gww;              /* GetWriteWatch and ResetWriteWatch of this reservation */
    uint64_t thr[NP];                 /* writes done up to thr[] are accounted for */
    uint64_t reset_done[NP];          /* done[] when the last reset of the page began */
} wres_t;

static wres_t wres[NRES];

enum {
    SOP_WRITE, SOP_GWW_RESET, SOP_GWW, SOP_RESET, SOP_MARK, SOP_PROTECT, SOP_DECOMMIT,
    SOP_LOCK, SOP_QUERY, SOP_INVALID, SOP_RECYCLE, SOP_COUNT
};
static const char *const sop_names[SOP_COUNT] = {
    "write", "getwritewatch_reset", "getwritewatch", "resetwritewatch", "mark_written",
    "protect", "decommit_recommit", "lock_unlock", "query", "invalid", "recycle"};

typedef struct sworker {
    uint64_t rng, seed;
    uint64_t ops[SOP_COUNT], total, pages_written, pages_reported;
    uint64_t deadline;
    stress_failure_t f;
} sworker_t;

static SIZE_T res_size(void)
{
    return (SIZE_T)NP * P;
}

/* Makes reservation r anew, the way `kind` says; committed PAGE_READWRITE. */
static void wres_create(stress_failure_t *f, uint64_t *rng, wres_t *r, int kind)
{
    char *p = NULL;
    size_t align = G;
    r->extra = NULL;
    if (kind == KIND_ALLOC) {
        p = VirtualAlloc(NULL, res_size(), MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                         PAGE_READWRITE);
    } else if (kind == KIND_ALLOC2) {
        p = alloc2_watched(rng, res_size(), MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                           PAGE_READWRITE, &align);
        STRESS_REQUIRE(f, !p || in_bounds(p, res_size(), align),
                       "VirtualAlloc2 placed %p outside its requirements (align %#zx)", (void *)p,
                       align);
    } else {
        char *ph = VirtualAlloc2(NULL, NULL, 2 * res_size(), PH_RESERVE, PAGE_NOACCESS, NULL, 0);
        STRESS_REQUIRE(f, ph, "placeholder: %u", GetLastError());
        STRESS_REQUIRE(f, VirtualFree(ph, res_size(), PRESERVE), "split: %u", GetLastError());
        p = VirtualAlloc2(NULL, ph, res_size(),
                          MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER | MEM_WRITE_WATCH,
                          PAGE_READWRITE, NULL, 0);
        STRESS_REQUIRE(f, p == ph, "replace with MEM_WRITE_WATCH: %p, error %u", (void *)p,
                       GetLastError());
        r->extra = ph + res_size();
    }
    STRESS_REQUIRE(f, p, "watched reservation (kind %d): %u", kind, GetLastError());
    r->base = p;
    r->kind = kind;
    for (int i = 0; i < NP; i++) {
        atomic_store(&r->started[i], 0);
        atomic_store(&r->done[i], 0);
        atomic_store(&r->forgiven[i], 0);
        atomic_store(&r->increments[i], 0);
        r->inc_base[i] = r->thr[i] = r->reset_done[i] = 0;
    }
}

static void wres_release(stress_failure_t *f, uint64_t *rng, wres_t *r)
{
    if (r->kind == KIND_PLACEHOLDER && stress_below(rng, 2)) {
        /* Back to a placeholder (its watch state goes), coalesced, released. */
        STRESS_REQUIRE(f, VirtualFree(r->base, res_size(), PRESERVE), "preserve: %u",
                       GetLastError());
        STRESS_REQUIRE(f, VirtualFree(r->base, 2 * res_size(), COALESCE), "coalesce: %u",
                       GetLastError());
        STRESS_REQUIRE(f, VirtualFree(r->base, 0, MEM_RELEASE), "release placeholder: %u",
                       GetLastError());
    } else {
        STRESS_REQUIRE(f, VirtualFree(r->base, 0, MEM_RELEASE), "release %p: %u",
                       (void *)r->base, GetLastError());
        if (r->extra)
            STRESS_REQUIRE(f, VirtualFree(r->extra, 0, MEM_RELEASE), "release extra: %u",
                           GetLastError());
    }
    r->base = r->extra = NULL;
}

static void write_page(wres_t *r, int p)
{
    atomic_fetch_add(&r->started[p], 1);
    __atomic_fetch_add((uint64_t *)(r->base + (size_t)p * P), 1, __ATOMIC_RELAXED);
    atomic_fetch_add(&r->increments[p], 1);
    atomic_fetch_add_explicit(&r->done[p], 1, memory_order_release);
}

static void op_write(sworker_t *w, wres_t *r)
{
    int c = (int)stress_below(&w->rng, NCHUNK);
    pthread_rwlock_rdlock(&r->chunk[c]);
    for (int k = (int)stress_below(&w->rng, 4); k >= 0; k--) {
        write_page(r, c * CHUNK + (int)stress_below(&w->rng, CHUNK));
        w->pages_written++;
    }
    pthread_rwlock_unlock(&r->chunk[c]);
}

/* Reported pages of one GetWriteWatch answer into `rep` (flags by page), checked. */
static void take_answer(sworker_t *w, wres_t *r, void **addrs, ULONG_PTR n, int a, int b,
                        bool *rep)
{
    for (ULONG_PTR i = 0; i < n; i++) {
        uintptr_t x = (uintptr_t)addrs[i];
        STRESS_REQUIRE(&w->f, x % P == 0 && x >= (uintptr_t)r->base + (size_t)a * P &&
                                  x < (uintptr_t)r->base + (size_t)b * P &&
                                  (i == 0 || x > (uintptr_t)addrs[i - 1]),
                       "GetWriteWatch answer %lu of %lu: %p (range pages [%d, %d) of %p)",
                       (unsigned long)i, (unsigned long)n, addrs[i], a, b, (void *)r->base);
        rep[(x - (uintptr_t)r->base) / P] = true;
    }
}

/* One GetWriteWatch (reset or not) over a random range, with the invariants above. */
static void op_gww(sworker_t *w, wres_t *r, bool reset)
{
    int a = (int)stress_below(&w->rng, NP), b = a + 1 + (int)stress_below(&w->rng, (uint64_t)(NP - a));
    if (stress_below(&w->rng, 4) == 0)
        a = 0, b = NP;
    ULONG_PTR m = (ULONG_PTR)(b - a);
    ULONG_PTR cap = stress_below(&w->rng, 3) == 0 ? 1 + stress_below(&w->rng, m)
                                                  : m + stress_below(&w->rng, 3);
    size_t off = stress_below(&w->rng, 3) == 0 ? (size_t)stress_below(&w->rng, P) : 0;
    uint64_t before[NP], started_after[NP], forgiven[NP];
    void *addrs[NP + 4];
    bool rep[NP] = {0};
    ULONG_PTR n = cap;
    DWORD gran = 0;
    pthread_mutex_lock(&r->gww);
    for (int p = a; p < b; p++)
        before[p] = atomic_load_explicit(&r->done[p], memory_order_acquire);
    UINT rc = GetWriteWatch(reset ? WRITE_WATCH_FLAG_RESET : 0, r->base + (size_t)a * P + off,
                            (SIZE_T)m * P - off, addrs, &n, &gran);
    for (int p = a; p < b; p++) {
        started_after[p] = atomic_load(&r->started[p]);
        forgiven[p] = atomic_load(&r->forgiven[p]);
    }
    if (rc != 0 || gran != P || n > cap || n > m) {
        pthread_mutex_unlock(&r->gww);
        STRESS_REQUIRE(&w->f, false, "GetWriteWatch: rc %u error %u granularity %u count %lu "
                       "(cap %lu, %lu pages)", rc, GetLastError(), gran, (unsigned long)n,
                       (unsigned long)cap, (unsigned long)m);
    }
    take_answer(w, r, addrs, n, a, b, rep);
    w->pages_reported += n;
    /* Pages the call looked at (and with reset, re-armed): all, or up to the last answer. */
    int end = n == cap ? (int)(((uintptr_t)addrs[n - 1] - (uintptr_t)r->base) / P) + 1 : b;
    for (int p = a; p < end && !w->f.failed; p++) {
        if (rep[p]) {
            if (started_after[p] <= r->reset_done[p])
                stress_fail_at(&w->f, __LINE__, "page %d of %p reported written, but no write "
                               "began after its last reset (%llu began, %llu done then)", p,
                               (void *)r->base, (unsigned long long)started_after[p],
                               (unsigned long long)r->reset_done[p]);
            if (reset)
                r->thr[p] = started_after[p];
        } else {
            uint64_t ok = r->thr[p] > forgiven[p] ? r->thr[p] : forgiven[p];
            if (before[p] > ok)
                stress_fail_at(&w->f, __LINE__, "lost write: page %d of %p (kind %d) not "
                               "reported, %llu writes done before the call, only %llu accounted "
                               "for (reset %d, cap %lu, %lu answers, range [%d, %d))", p,
                               (void *)r->base, r->kind, (unsigned long long)before[p],
                               (unsigned long long)ok, reset, (unsigned long)cap,
                               (unsigned long)n, a, b);
        }
        if (reset)
            r->reset_done[p] = before[p];
    }
    pthread_mutex_unlock(&r->gww);
}

static void op_reset(sworker_t *w, wres_t *r)
{
    int a = (int)stress_below(&w->rng, NP), b = a + 1 + (int)stress_below(&w->rng, (uint64_t)(NP - a));
    uint64_t before[NP];
    pthread_mutex_lock(&r->gww);
    for (int p = a; p < b; p++)
        before[p] = atomic_load_explicit(&r->done[p], memory_order_acquire);
    UINT rc = ResetWriteWatch(r->base + (size_t)a * P, (SIZE_T)(b - a) * P);
    DWORD e = GetLastError();
    for (int p = a; p < b; p++) {
        r->thr[p] = atomic_load(&r->started[p]);
        r->reset_done[p] = before[p];
    }
    pthread_mutex_unlock(&r->gww);
    STRESS_REQUIRE(&w->f, rc == 0, "ResetWriteWatch: %u (error %u)", rc, e);
}

static void op_mark(sworker_t *w, wres_t *r)
{
    int c = (int)stress_below(&w->rng, NCHUNK);
    int a = c * CHUNK + (int)stress_below(&w->rng, CHUNK);
    int b = a + 1 + (int)stress_below(&w->rng, (uint64_t)((c + 1) * CHUNK - a));
    pthread_rwlock_rdlock(&r->chunk[c]);
    for (int p = a; p < b; p++)
        atomic_fetch_add(&r->started[p], 1);
    BOOL ok = hm_watch_mark_written(r->base + (size_t)a * P, (SIZE_T)(b - a) * P);
    DWORD e = GetLastError();
    for (int p = a; p < b && ok; p++)
        atomic_fetch_add_explicit(&r->done[p], 1, memory_order_release);
    pthread_rwlock_unlock(&r->chunk[c]);
    STRESS_REQUIRE(&w->f, ok, "hm_watch_mark_written pages [%d, %d): error %u", a, b, e);
}

/* VirtualLock reports the (writable) pages written (G6): a write as far as the check goes. */
static void op_lock(sworker_t *w, wres_t *r)
{
    int c = (int)stress_below(&w->rng, NCHUNK);
    int a = c * CHUNK + (int)stress_below(&w->rng, CHUNK);
    int b = a + 1 + (int)stress_below(&w->rng, (uint64_t)((c + 1) * CHUNK - a));
    if (b - a > 3)
        b = a + 3;
    pthread_rwlock_rdlock(&r->chunk[c]);
    pthread_mutex_lock(&r->locking[c]);
    for (int p = a; p < b; p++)
        atomic_fetch_add(&r->started[p], 1);
    BOOL ok = VirtualLock(r->base + (size_t)a * P, (SIZE_T)(b - a) * P);
    DWORD e = GetLastError();
    for (int p = a; p < b && ok; p++)
        atomic_fetch_add_explicit(&r->done[p], 1, memory_order_release);
    BOOL unlocked = ok && VirtualUnlock(r->base + (size_t)a * P, (SIZE_T)(b - a) * P);
    DWORD e2 = GetLastError();
    pthread_mutex_unlock(&r->locking[c]);
    pthread_rwlock_unlock(&r->chunk[c]);
    STRESS_REQUIRE(&w->f, ok && unlocked, "VirtualLock/VirtualUnlock pages [%d, %d): %d/%d, "
                   "errors %u/%u", a, b, ok, unlocked, e, e2);
}

/* No lock: races decommits (ERROR_INVALID_ADDRESS) and everything else; writable both ways. */
static void op_protect(sworker_t *w, wres_t *r)
{
    int a = (int)stress_below(&w->rng, NP), b = a + 1 + (int)stress_below(&w->rng, 16);
    if (b > NP)
        b = NP;
    DWORD prot = stress_below(&w->rng, 2) ? PAGE_READWRITE : PAGE_EXECUTE_READWRITE, old = 0xDEAD;
    BOOL ok = VirtualProtect(r->base + (size_t)a * P, (SIZE_T)(b - a) * P, prot, &old);
    DWORD e = GetLastError();
    STRESS_REQUIRE(&w->f, ok ? (old == PAGE_READWRITE || old == PAGE_EXECUTE_READWRITE)
                             : (e == ERROR_INVALID_ADDRESS && old == PAGE_NOACCESS),
                   "VirtualProtect pages [%d, %d): ok %d error %u old %#x", a, b, ok, e, old);
}

static void op_decommit(sworker_t *w, wres_t *r)
{
    int c = (int)stress_below(&w->rng, NCHUNK);
    int a = c * CHUNK + (int)stress_below(&w->rng, CHUNK);
    int b = a + 1 + (int)stress_below(&w->rng, (uint64_t)((c + 1) * CHUNK - a));
    char *at = r->base + (size_t)a * P;
    SIZE_T len = (SIZE_T)(b - a) * P;
    pthread_rwlock_wrlock(&r->chunk[c]);
    for (int p = c * CHUNK; p < (c + 1) * CHUNK && !w->f.failed; p++) {
        uint64_t word = __atomic_load_n((uint64_t *)(r->base + (size_t)p * P), __ATOMIC_RELAXED);
        uint64_t want = atomic_load(&r->increments[p]) - r->inc_base[p];
        if (word != want)
            stress_fail_at(&w->f, __LINE__, "page %d of %p holds %llu, %llu increments were made",
                           p, (void *)r->base, (unsigned long long)word,
                           (unsigned long long)want);
    }
    for (int p = a; p < b; p++)
        atomic_store(&r->forgiven[p], atomic_load(&r->done[p]));
    BOOL ok = VirtualFree(at, len, MEM_DECOMMIT);
    DWORD e = GetLastError();
    MEMORY_BASIC_INFORMATION m = {0};
    SIZE_T q = VirtualQuery(at, &m, sizeof m);
    DWORD prot = stress_below(&w->rng, 2) ? PAGE_READWRITE : PAGE_EXECUTE_READWRITE;
    void *got = ok ? VirtualAlloc(at, len, MEM_COMMIT, prot) : NULL;
    DWORD e2 = GetLastError();
    bool zero = true;
    for (int p = a; p < b; p++) {
        r->inc_base[p] = atomic_load(&r->increments[p]);
        zero = zero && (!got || *(volatile uint64_t *)(r->base + (size_t)p * P) == 0);
    }
    pthread_rwlock_unlock(&r->chunk[c]);
    STRESS_REQUIRE(&w->f, ok && got == at && zero, "decommit/recommit pages [%d, %d): %d/%p, "
                   "errors %u/%u, zero %d", a, b, ok, got, e, e2, zero);
    STRESS_REQUIRE(&w->f, q == sizeof m && m.State == MEM_RESERVE && m.RegionSize >= len &&
                              m.AllocationBase == r->base,
                   "decommitted pages [%d, %d): state %#x size %#zx base %p", a, b, m.State,
                   m.RegionSize, m.AllocationBase);
}

static void op_query(sworker_t *w, wres_t *r)
{
    uintptr_t a = (uintptr_t)r->base + stress_below(&w->rng, res_size());
    MEMORY_BASIC_INFORMATION m;
    STRESS_REQUIRE(&w->f, VirtualQuery((void *)a, &m, sizeof m) == sizeof m, "query: %u",
                   GetLastError());
    bool committed = m.State == MEM_COMMIT;
    STRESS_REQUIRE(&w->f, m.BaseAddress == (void *)(a & ~(uintptr_t)(P - 1)) &&
                              m.AllocationBase == r->base &&
                              m.AllocationProtect == PAGE_READWRITE && m.Type == MEM_PRIVATE &&
                              (uintptr_t)m.BaseAddress + m.RegionSize <=
                                  (uintptr_t)r->base + res_size() &&
                              (committed ? (m.Protect == PAGE_READWRITE ||
                                            m.Protect == PAGE_EXECUTE_READWRITE)
                                         : (m.State == MEM_RESERVE && m.Protect == 0)),
                   "query %#lx of %p: base %p alloc %p aprot %#x size %#zx state %#x prot %#x "
                   "type %#x", (unsigned long)a, (void *)r->base, m.BaseAddress,
                   m.AllocationBase, m.AllocationProtect, m.RegionSize, m.State, m.Protect,
                   m.Type);
}

static void op_invalid(sworker_t *w, wres_t *r)
{
    void *addrs[4];
    ULONG_PTR n = 4;
    DWORD gran;
    int stack_var = 0;
    switch (stress_below(&w->rng, 5)) {
    case 0: /* crossing the reservation's end */
        STRESS_REQUIRE(&w->f, GetWriteWatch(0, r->base + res_size() - P, 2 * P, addrs, &n,
                                            &gran) == (UINT)-1 &&
                                  GetLastError() == ERROR_INVALID_PARAMETER,
                       "GetWriteWatch crossing the end: error %u", GetLastError());
        break;
    case 1:
        STRESS_REQUIRE(&w->f, ResetWriteWatch(r->base, 0) == (UINT)-1 &&
                                  GetLastError() == ERROR_INVALID_PARAMETER,
                       "ResetWriteWatch size 0: error %u", GetLastError());
        break;
    case 2:
        STRESS_REQUIRE(&w->f, GetWriteWatch(2, r->base, P, addrs, &n, &gran) == (UINT)-1 &&
                                  GetLastError() == ERROR_INVALID_PARAMETER,
                       "GetWriteWatch flags 2: error %u", GetLastError());
        break;
    case 3:
        STRESS_REQUIRE_ERR(&w->f, hm_watch_mark_written(r->base + res_size() - P, 2 * P),
                           ERROR_INVALID_PARAMETER, "hm_watch_mark_written crossing the end");
        break;
    default: /* memory that is not a watched reservation */
        STRESS_REQUIRE(&w->f, GetWriteWatch(0, &stack_var, sizeof stack_var, addrs, &n,
                                            &gran) == (UINT)-1 &&
                                  GetLastError() == ERROR_INVALID_PARAMETER,
                       "GetWriteWatch on the stack: error %u", GetLastError());
        break;
    }
}

/* With r quiet (its life write lock held): a full GetWriteWatch without reset meets the
 * invariants for every page. */
static void final_check(sworker_t *w, wres_t *r)
{
    void *addrs[NP];
    bool rep[NP] = {0};
    ULONG_PTR n = NP;
    DWORD gran;
    STRESS_REQUIRE(&w->f, GetWriteWatch(0, r->base, res_size(), addrs, &n, &gran) == 0,
                   "final GetWriteWatch: %u", GetLastError());
    take_answer(w, r, addrs, n, 0, NP, rep);
    for (int p = 0; p < NP; p++) {
        uint64_t done = atomic_load(&r->done[p]), forgiven = atomic_load(&r->forgiven[p]);
        uint64_t ok = r->thr[p] > forgiven ? r->thr[p] : forgiven;
        STRESS_REQUIRE(&w->f, rep[p] ? done > r->reset_done[p] : done <= ok,
                       "at rest, page %d of %p (kind %d): reported %d, %llu writes done, "
                       "%llu accounted for, %llu done at its last reset", p, (void *)r->base,
                       r->kind, rep[p], (unsigned long long)done, (unsigned long long)ok,
                       (unsigned long long)r->reset_done[p]);
    }
}

static void op_recycle(sworker_t *w, wres_t *r)
{
    pthread_rwlock_wrlock(&r->life);
    final_check(w, r);
    if (!w->f.failed)
        wres_release(&w->f, &w->rng, r);
    if (!w->f.failed)
        wres_create(&w->f, &w->rng, r, (int)stress_below(&w->rng, KIND_COUNT));
    pthread_rwlock_unlock(&r->life);
}

static void *shared_worker(void *arg)
{
    sworker_t *w = arg;
    static const int mix[] = {
        SOP_WRITE, SOP_WRITE, SOP_WRITE, SOP_WRITE, SOP_WRITE, SOP_WRITE, SOP_WRITE,
        SOP_WRITE, SOP_GWW_RESET, SOP_GWW_RESET, SOP_GWW_RESET, SOP_GWW, SOP_RESET,
        SOP_MARK, SOP_PROTECT, SOP_PROTECT, SOP_DECOMMIT, SOP_LOCK, SOP_QUERY, SOP_QUERY,
        SOP_INVALID};
    while (!stress_stopping(&w->f) && ((w->total & 31) || stress_now_ns() < w->deadline)) {
        wres_t *r = &wres[stress_below(&w->rng, NRES)];
        int op = stress_below(&w->rng, 2048) == 0 ? SOP_RECYCLE
                                                  : mix[stress_below(&w->rng, sizeof mix / sizeof mix[0])];
        if (op == SOP_RECYCLE) {
            op_recycle(w, r);
        } else {
            pthread_rwlock_rdlock(&r->life);
            switch (op) {
            case SOP_WRITE: op_write(w, r); break;
            case SOP_GWW_RESET: op_gww(w, r, true); break;
            case SOP_GWW: op_gww(w, r, false); break;
            case SOP_RESET: op_reset(w, r); break;
            case SOP_MARK: op_mark(w, r); break;
            case SOP_PROTECT: op_protect(w, r); break;
            case SOP_DECOMMIT: op_decommit(w, r); break;
            case SOP_LOCK: op_lock(w, r); break;
            case SOP_QUERY: op_query(w, r); break;
            default: op_invalid(w, r); break;
            }
            pthread_rwlock_unlock(&r->life);
        }
        w->ops[op]++;
        w->total++;
    }
    return NULL;
}

/* All reservations quiet: every thread waits for a life lock, none is inside hostmem. */
static void quiet_check(const stress_base_t *b)
{
    for (int i = 0; i < NRES; i++)
        pthread_rwlock_wrlock(&wres[i].life);
    char err[512];
    bool ok = stress_views_agree(b, 0, 0, err, sizeof err);
    for (int i = 0; i < NRES; i++)
        pthread_rwlock_unlock(&wres[i].life);
    ck_assert_msg(ok, "quiet point: %s", err);
}

static void print_sops(const char *what, const uint64_t *counts, uint64_t total)
{
    printf("%s: %llu operations (", what, (unsigned long long)total);
    const char *sep = "";
    for (int i = 0; i < SOP_COUNT; i++)
        if (counts[i]) {
            printf("%s%s %llu", sep, sop_names[i], (unsigned long long)counts[i]);
            sep = ", ";
        }
    printf(")\n");
}

START_TEST(watch_shared_writes_race_resets)
{
    print_engine();
    stress_warm_up(THREADS);
    stress_base_t b;
    stress_base_take(&b);
    stress_ledger_install();
    uint64_t rng = stress_seed(99);
    stress_failure_t f = {0};
    /* Writers first: a quiet point or a decommit is not starved by a stream of readers. */
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    for (int i = 0; i < NRES; i++) {
        pthread_rwlock_init(&wres[i].life, &ra);
        for (int c = 0; c < NCHUNK; c++) {
            pthread_rwlock_init(&wres[i].chunk[c], &ra);
            pthread_mutex_init(&wres[i].locking[c], NULL);
        }
        pthread_mutex_init(&wres[i].gww, NULL);
        wres_create(&f, &rng, &wres[i], i % KIND_COUNT);
        ck_assert_msg(!f.failed, "%s", f.msg);
    }
    static sworker_t w[THREADS];
    pthread_t t[THREADS];
    uint64_t t0 = stress_now_ns(), deadline = t0 + stress_run_ns();
    for (unsigned i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].rng = w[i].seed = stress_seed(i);
        w[i].deadline = deadline;
        ck_assert_int_eq(pthread_create(&t[i], NULL, shared_worker, &w[i]), 0);
    }
    unsigned quiet = 0;
    while (stress_now_ns() + 250000000ull < deadline && !atomic_load(&stress_stop)) {
        usleep(200000);
        quiet_check(&b);
        quiet++;
    }
    uint64_t counts[SOP_COUNT] = {0}, total = 0, written = 0, reported = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < SOP_COUNT; k++)
            counts[k] += w[i].ops[k];
        total += w[i].total;
        written += w[i].pages_written;
        reported += w[i].pages_reported;
    }
    uint64_t ns = stress_now_ns() - t0;
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_msg(!w[i].f.failed, "thread %u (seed %#llx): %s", i,
                      (unsigned long long)w[i].seed, w[i].f.msg);
    sworker_t fin = {.rng = rng};
    for (int i = 0; i < NRES; i++)
        final_check(&fin, &wres[i]);
    ck_assert_msg(!fin.f.failed, "%s", fin.f.msg);
    quiet_check(&b);
    for (int i = 0; i < NRES; i++) {
        wres_release(&fin.f, &rng, &wres[i]);
        pthread_rwlock_destroy(&wres[i].life);
        for (int c = 0; c < NCHUNK; c++) {
            pthread_rwlock_destroy(&wres[i].chunk[c]);
            pthread_mutex_destroy(&wres[i].locking[c]);
        }
        pthread_mutex_destroy(&wres[i].gww);
    }
    ck_assert_msg(!fin.f.failed, "%s", fin.f.msg);
    print_sops("watch_shared_writes_race_resets, 4 threads", counts, total);
    printf("pages written %llu, pages reported %llu, quiet points %u, hm_os map/unmap calls "
           "%llu\n", (unsigned long long)written, (unsigned long long)reported, quiet,
           (unsigned long long)atomic_load(&stress_ledger.calls));
    log_ops("watch_shared_writes_race_resets", total, ns);
    ck_assert_uint_gt(counts[SOP_GWW_RESET], 0);
    ck_assert_uint_gt(reported, 0);
    stress_assert_back(&b, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("watch_stress");
    TCase *tc = tcase_create("watch_shared_writes_race_resets");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, watch_shared_writes_race_resets);
    suite_add_tcase(s, tc);
    return s;
}

HM_TEST_MAIN(make_suite)
