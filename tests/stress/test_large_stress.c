/*
 * test_large_stress.c — MEM_LARGE_PAGES under load, for a bounded time.
 *
 * large_pages_threads: 4 threads make and release 2 MiB-aligned large-page allocations
 * (VirtualAlloc, and VirtualAlloc2 with address requirements), with the THP policy
 * (HOSTMEM_LARGE_PAGES=thp: pool pages when the kernel's pool has them, ordinary pages
 * asking for transparent huge pages otherwise), write and check their contents, and make
 * every other call on them: VirtualProtect to the same protection (TRUE) or another
 * (487), MEM_COMMIT / MEM_RESET inside (487), MEM_DECOMMIT (487), VirtualLock (87),
 * VirtualQuery (one committed region). Other threads query and write-check-free the
 * allocations of their neighbours through shared slots at the same time. Quiet points
 * compare the ledger, commit charge and the kernel's view; at the end nothing is left.
 *
 * HM_USES_HUGE_PAGES (ctest never runs these cases beside others that take huge pages).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stress.h"

#define THREADS 4
#define L ((SIZE_T)0x200000)
#define SLOTS 8 /* shared: at most 8 allocations of 2 or 4 MiB live */

typedef struct lslot {
    pthread_rwlock_t rw;    /* read: use it; write: make or release it */
    char *base;             /* under rw */
    SIZE_T size;
    uint64_t sig;           /* the value written at the start of every 64 KiB (under rw) */
    pthread_mutex_t writing; /* rewriting sig (readers of the slot check under rw read) */
} lslot_t;

static lslot_t slots[SLOTS];
static pthread_rwlock_t quiet_lock;

enum { LOP_MAKE, LOP_RELEASE, LOP_CHECK, LOP_REWRITE, LOP_PROTECT, LOP_INSIDE, LOP_QUERY, LOP_COUNT };
static const char *const lop_names[LOP_COUNT] = {"make", "release", "check", "rewrite",
                                                 "protect", "calls_inside", "query"};

typedef struct lworker {
    uint64_t rng, seed, ops[LOP_COUNT], total, deadline;
    stress_failure_t f;
} lworker_t;

static void fill(char *p, SIZE_T size, uint64_t sig)
{
    for (SIZE_T off = 0; off < size; off += G)
        *(volatile uint64_t *)(p + off) = sig ^ off;
}

static bool holds(const char *p, SIZE_T size, uint64_t sig)
{
    for (SIZE_T off = 0; off < size; off += G)
        if (*(volatile const uint64_t *)(p + off) != (sig ^ off))
            return false;
    return true;
}

/* Caller holds the slot's write lock. */
static void l_make(lworker_t *w, lslot_t *s)
{
    SIZE_T size = L << stress_below(&w->rng, 2);
    DWORD type = MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES;
    char *p;
    size_t align = L;
    if (stress_below(&w->rng, 2)) {
        p = VirtualAlloc(NULL, size, type | (stress_below(&w->rng, 4) ? 0 : MEM_TOP_DOWN),
                         PAGE_READWRITE);
    } else {
        MEM_ADDRESS_REQUIREMENTS req = {NULL, NULL, (SIZE_T)G << stress_below(&w->rng, 8)};
        MEM_EXTENDED_PARAMETER ext = {{MemExtendedParameterAddressRequirements, 0}, {0}};
        ext.Pointer = &req;
        if (req.Alignment > align)
            align = req.Alignment;
        p = VirtualAlloc2(NULL, NULL, size, type, PAGE_READWRITE, &ext, 1);
    }
    if (!p) {
        DWORD e = GetLastError();
        STRESS_REQUIRE(&w->f, e == ERROR_NOT_ENOUGH_MEMORY || e == ERROR_COMMITMENT_LIMIT ||
                                  e == ERROR_NO_SYSTEM_RESOURCES,
                       "large pages (%#zx bytes): error %u", size, e);
        return;
    }
    STRESS_REQUIRE(&w->f, (uintptr_t)p % align == 0, "large pages at %p (alignment %#zx)",
                   (void *)p, align);
    s->sig = stress_rnd(&w->rng);
    fill(p, size, s->sig);
    s->base = p;
    s->size = size;
}

/* Caller holds the slot's write lock. */
static void l_release(lworker_t *w, lslot_t *s)
{
    STRESS_REQUIRE(&w->f, holds(s->base, s->size, s->sig), "large pages %p lost their contents",
                   (void *)s->base);
    STRESS_REQUIRE(&w->f, VirtualFree(s->base, 0, MEM_RELEASE), "release %p: %u",
                   (void *)s->base, GetLastError());
    s->base = NULL;
}

static void l_check(lworker_t *w, lslot_t *s)
{
    pthread_mutex_lock(&s->writing);
    bool ok = holds(s->base, s->size, s->sig);
    pthread_mutex_unlock(&s->writing);
    STRESS_REQUIRE(&w->f, ok, "large pages %p do not hold what was written", (void *)s->base);
}

static void l_rewrite(lworker_t *w, lslot_t *s)
{
    pthread_mutex_lock(&s->writing);
    s->sig = stress_rnd(&w->rng);
    fill(s->base, s->size, s->sig);
    pthread_mutex_unlock(&s->writing);
}

static void l_protect(lworker_t *w, lslot_t *s)
{
    DWORD old = 0xDEAD;
    if (stress_below(&w->rng, 2)) {
        STRESS_REQUIRE(&w->f, VirtualProtect(s->base, s->size, PAGE_READWRITE, &old) &&
                                  old == PAGE_READWRITE,
                       "protect large pages to their protection: %u, old %#x", GetLastError(), old);
    } else {
        BOOL ok = VirtualProtect(s->base + L / 2, P, PAGE_READONLY, &old);
        STRESS_REQUIRE_ERR(&w->f, ok, ERROR_INVALID_ADDRESS, "protect large pages to another");
    }
}

static void l_inside(lworker_t *w, lslot_t *s)
{
    char *a = s->base + P * stress_below(&w->rng, s->size / P);
    switch (stress_below(&w->rng, 4)) {
    case 0:
        STRESS_REQUIRE_ERR(&w->f, VirtualAlloc(a, P, MEM_COMMIT, PAGE_READWRITE),
                           ERROR_INVALID_ADDRESS, "commit inside large pages");
        break;
    case 1:
        STRESS_REQUIRE_ERR(&w->f, VirtualAlloc(a, P, MEM_RESET, PAGE_READWRITE),
                           ERROR_INVALID_ADDRESS, "reset inside large pages");
        break;
    case 2:
        STRESS_REQUIRE_ERR(&w->f, VirtualFree(a, P, MEM_DECOMMIT), ERROR_INVALID_ADDRESS,
                           "decommit large pages");
        break;
    default:
        STRESS_REQUIRE_ERR(&w->f, VirtualLock(a, P), ERROR_INVALID_PARAMETER,
                           "lock large pages");
        break;
    }
}

static void l_query(lworker_t *w, lslot_t *s)
{
    char *a = s->base + stress_below(&w->rng, s->size);
    MEMORY_BASIC_INFORMATION m;
    STRESS_REQUIRE(&w->f, VirtualQuery(a, &m, sizeof m) == sizeof m, "query: %u", GetLastError());
    uintptr_t page = (uintptr_t)a & ~(uintptr_t)(P - 1);
    STRESS_REQUIRE(&w->f, m.BaseAddress == (void *)page && m.AllocationBase == s->base &&
                              m.AllocationProtect == PAGE_READWRITE && m.State == MEM_COMMIT &&
                              m.Protect == PAGE_READWRITE && m.Type == MEM_PRIVATE &&
                              m.RegionSize == (uintptr_t)s->base + s->size - page,
                   "large pages %p (+%#zx) at %p: base %p alloc %p aprot %#x size %#zx state "
                   "%#x prot %#x type %#x", (void *)s->base, s->size, (void *)a, m.BaseAddress,
                   m.AllocationBase, m.AllocationProtect, m.RegionSize, m.State, m.Protect,
                   m.Type);
}

static void *large_worker(void *arg)
{
    lworker_t *w = arg;
    static const int mix[] = {LOP_RELEASE, LOP_CHECK, LOP_REWRITE, LOP_PROTECT, LOP_PROTECT,
                              LOP_INSIDE, LOP_INSIDE, LOP_QUERY, LOP_QUERY, LOP_QUERY};
    while (!stress_stopping(&w->f) && ((w->total & 15) || stress_now_ns() < w->deadline)) {
        lslot_t *s = &slots[stress_below(&w->rng, SLOTS)];
        int op = mix[stress_below(&w->rng, sizeof mix / sizeof mix[0])];
        pthread_rwlock_rdlock(&quiet_lock);
        if (op == LOP_RELEASE) {
            pthread_rwlock_wrlock(&s->rw);
            if (s->base)
                l_release(w, s);
            else
                l_make(w, s), op = LOP_MAKE;
            pthread_rwlock_unlock(&s->rw);
        } else {
            pthread_rwlock_rdlock(&s->rw);
            if (s->base) {
                switch (op) {
                case LOP_CHECK: l_check(w, s); break;
                case LOP_REWRITE: l_rewrite(w, s); break;
                case LOP_PROTECT: l_protect(w, s); break;
                case LOP_INSIDE: l_inside(w, s); break;
                default: l_query(w, s); break;
                }
            }
            pthread_rwlock_unlock(&s->rw);
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
    bool ok = stress_views_agree(b, 0, 0, err, sizeof err);
    pthread_rwlock_unlock(&quiet_lock);
    ck_assert_msg(ok, "quiet point: %s", err);
}

START_TEST(large_pages_threads)
{
    setenv("HOSTMEM_LARGE_PAGES", "thp", 1); /* before any thread: read at every call */
    stress_warm_up(THREADS);
    stress_base_t b;
    stress_base_take(&b);
    stress_ledger_install();
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&quiet_lock, &ra);
    for (int i = 0; i < SLOTS; i++) {
        pthread_rwlock_init(&slots[i].rw, NULL);
        pthread_mutex_init(&slots[i].writing, NULL);
        slots[i].base = NULL;
    }
    static lworker_t w[THREADS];
    pthread_t t[THREADS];
    uint64_t t0 = stress_now_ns(), deadline = t0 + stress_run_ns();
    for (unsigned i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].rng = w[i].seed = stress_seed(30 + i);
        w[i].deadline = deadline;
        ck_assert_int_eq(pthread_create(&t[i], NULL, large_worker, &w[i]), 0);
    }
    unsigned quiet = 0;
    while (stress_now_ns() + 250000000ull < deadline && !atomic_load(&stress_stop)) {
        usleep(200000);
        quiet_check(&b);
        quiet++;
    }
    uint64_t counts[LOP_COUNT] = {0}, total = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < LOP_COUNT; k++)
            counts[k] += w[i].ops[k];
        total += w[i].total;
    }
    uint64_t ns = stress_now_ns() - t0;
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_msg(!w[i].f.failed, "thread %u (seed %#llx): %s", i,
                      (unsigned long long)w[i].seed, w[i].f.msg);
    quiet_check(&b);
    lworker_t fin = {0};
    for (int i = 0; i < SLOTS; i++) {
        if (slots[i].base)
            l_release(&fin, &slots[i]);
        pthread_rwlock_destroy(&slots[i].rw);
        pthread_mutex_destroy(&slots[i].writing);
    }
    ck_assert_msg(!fin.f.failed, "%s", fin.f.msg);
    pthread_rwlock_destroy(&quiet_lock);
    printf("large_pages_threads, 4 threads: %llu operations (", (unsigned long long)total);
    for (int k = 0; k < LOP_COUNT; k++)
        printf("%s%s %llu", k ? ", " : "", lop_names[k], (unsigned long long)counts[k]);
    printf("), quiet points %u\n", quiet);
    stress_log_ops("large_pages_threads", total, ns);
    ck_assert_uint_gt(counts[LOP_MAKE], 0);
    stress_assert_back(&b, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("large_stress");
    TCase *tc = tcase_create("large_pages_threads");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, large_pages_threads);
    suite_add_tcase(s, tc);
    return s;
}

HM_TEST_MAIN(make_suite)
