/*
 * test_place_stress.c — VirtualAlloc2 with address requirements, and placeholders, under
 * load, for a bounded time.
 *
 * alloc2_bounded_window_race: 4 threads allocate inside one 4 MiB window of free address
 * space (LowestStartingAddress..HighestEndingAddress), with random alignments (64 KiB to
 * 512 KiB), sizes, MEM_TOP_DOWN, committed or not, or as placeholders which their owner then
 * splits, replaces (committing and writing the piece), frees back and coalesces; they also
 * make ordinary allocations anywhere and invalid requirement calls. Every allocation must
 * lie inside the window at its alignment, and never overlap another live one: each claims
 * its 64 KiB granules in a shared table with compare-and-swap (a granule already claimed is
 * a double allocation). A failure may only be ERROR_NOT_ENOUGH_MEMORY (the window is full,
 * or placement lost its races; counted). The owner's data is checked before every free.
 * Quiet points compare the ledger, hostmem's records and the kernel's view; at the end
 * nothing is left.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "stress.h"

#define THREADS 4
#define WIN ((SIZE_T)4 << 20)
#define GRANULES (WIN / G)
#define SLOTS 6
#define PH_RESERVE (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)
#define PRESERVE (MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)
#define COALESCE (MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS)

static char *win;
static _Atomic uint8_t owner[GRANULES]; /* 0 free, else thread id + 1 */
static pthread_rwlock_t quiet_lock;

enum { POP_ALLOC, POP_PLACEHOLDER, POP_ANYWHERE, POP_FREE, POP_USE_PIECE, POP_QUERY, POP_INVALID, POP_COUNT };
static const char *const pop_names[POP_COUNT] = {"alloc2_bounded", "placeholder_bounded",
                                                 "alloc_anywhere", "free", "placeholder_piece",
                                                 "query", "invalid"};

typedef struct pslot {
    char *base;
    SIZE_T size;     /* bytes asked (the allocation covers the pages touched) */
    bool in_window, placeholder, committed;
    uint64_t sig;
} pslot_t;

typedef struct pworker {
    unsigned id;
    uint64_t rng, seed, ops[POP_COUNT], total, full, deadline;
    pslot_t slot[SLOTS];
    stress_failure_t f;
} pworker_t;

static size_t g_first(const char *p)
{
    return (size_t)(p - win) / G;
}

static size_t g_end(const char *p, SIZE_T size)
{
    return (size_t)(p - win + size + G - 1) / G;
}

/* Claims the granules of [p, p+size): false (and nothing claimed) if one is taken. */
static bool claim(unsigned id, const char *p, SIZE_T size)
{
    for (size_t g = g_first(p); g < g_end(p, size); g++) {
        uint8_t free_ = 0;
        if (!atomic_compare_exchange_strong(&owner[g], &free_, (uint8_t)(id + 1))) {
            while (g-- > g_first(p))
                atomic_store(&owner[g], 0);
            return false;
        }
    }
    return true;
}

static void unclaim(const char *p, SIZE_T size)
{
    for (size_t g = g_first(p); g < g_end(p, size); g++)
        atomic_store(&owner[g], 0);
}

/* The first and the last word of the pages [p, p+size) touches. */
static uint64_t *last_word(char *p, SIZE_T size)
{
    return (uint64_t *)(p + ((size + P - 1) & ~(P - 1))) - 1;
}

static void mark(char *p, SIZE_T size, uint64_t sig)
{
    *(volatile uint64_t *)p = sig;
    *(volatile uint64_t *)last_word(p, size) = ~sig;
}

static bool marked(char *p, SIZE_T size, uint64_t sig)
{
    return *(volatile uint64_t *)p == sig && *(volatile uint64_t *)last_word(p, size) == ~sig;
}

static void p_alloc(pworker_t *w, pslot_t *s, bool placeholder)
{
    SIZE_T size = (1 + (SIZE_T)stress_below(&w->rng, 24)) * P * 4 - (SIZE_T)stress_below(&w->rng, P);
    MEM_ADDRESS_REQUIREMENTS req = {win, win + WIN - 1, (SIZE_T)G << stress_below(&w->rng, 4)};
    MEM_EXTENDED_PARAMETER ext = {{MemExtendedParameterAddressRequirements, 0}, {0}};
    ext.Pointer = &req;
    bool commit = !placeholder && stress_below(&w->rng, 2);
    DWORD type = placeholder ? PH_RESERVE : MEM_RESERVE | (commit ? MEM_COMMIT : 0);
    if (stress_below(&w->rng, 3) == 0)
        type |= MEM_TOP_DOWN;
    if (placeholder)
        size = (size + P - 1) & ~(P - 1); /* split and coalesced by whole pages */
    char *p = VirtualAlloc2(NULL, NULL, size, type, placeholder ? PAGE_NOACCESS : PAGE_READWRITE,
                            &ext, 1);
    if (!p) {
        STRESS_REQUIRE(&w->f, GetLastError() == ERROR_NOT_ENOUGH_MEMORY,
                       "VirtualAlloc2 in the window (%#zx bytes, align %#zx, type %#x): error %u",
                       size, req.Alignment, type, GetLastError());
        w->full++;
        return;
    }
    STRESS_REQUIRE(&w->f, (uintptr_t)p % req.Alignment == 0 && p >= win && p + size <= win + WIN,
                   "VirtualAlloc2 placed %p (+%#zx) outside [%p, %p) or off its alignment %#zx",
                   (void *)p, size, (void *)win, (void *)(win + WIN), req.Alignment);
    STRESS_REQUIRE(&w->f, claim(w->id, p, size), "VirtualAlloc2 returned %p (+%#zx), which "
                   "overlaps a live allocation of thread %u", (void *)p, size,
                   (unsigned)atomic_load(&owner[g_first(p)]) - 1);
    *s = (pslot_t){p, size, true, placeholder, commit, stress_rnd(&w->rng)};
    if (commit)
        mark(p, size, s->sig);
}

static void p_anywhere(pworker_t *w, pslot_t *s)
{
    SIZE_T size = (1 + (SIZE_T)stress_below(&w->rng, 16)) * P;
    char *p = VirtualAlloc(NULL, size, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    STRESS_REQUIRE(&w->f, p, "VirtualAlloc anywhere: %u", GetLastError());
    if (p + size > win && p < win + WIN)
        STRESS_REQUIRE(&w->f, claim(w->id, p, size), "VirtualAlloc returned %p (+%#zx) over a "
                       "live allocation in the window", (void *)p, size);
    *s = (pslot_t){p, size, p + size > win && p < win + WIN, false, true, stress_rnd(&w->rng)};
    mark(p, size, s->sig);
}

static void p_free(pworker_t *w, pslot_t *s)
{
    if (s->committed)
        STRESS_REQUIRE(&w->f, marked(s->base, s->size, s->sig), "allocation %p (+%#zx, in the "
                       "window %d) lost its data: %#llx %#llx, wrote %#llx", (void *)s->base,
                       s->size, s->in_window, *(unsigned long long *)s->base,
                       *(unsigned long long *)last_word(s->base, s->size),
                       (unsigned long long)s->sig);
    if (s->in_window)
        unclaim(s->base, s->size); /* before: the range stays mapped until VirtualFree */
    STRESS_REQUIRE(&w->f, VirtualFree(s->base, 0, MEM_RELEASE), "release %p: %u",
                   (void *)s->base, GetLastError());
    memset(s, 0, sizeof *s);
}

/* A placeholder: split off a piece, replace it (committed), write, free it back, coalesce. */
static void p_use_piece(pworker_t *w, pslot_t *s)
{
    size_t np = (s->size + P - 1) / P;
    if (np < 2)
        return;
    size_t a = (size_t)stress_below(&w->rng, np), b = a + 1 + (size_t)stress_below(&w->rng, np - a);
    if (a == 0 && b == np)
        b--;
    char *at = s->base + a * P;
    SIZE_T len = (b - a) * P;
    STRESS_REQUIRE(&w->f, VirtualFree(at, len, PRESERVE), "split [%zu, %zu) of %zu: %u", a, b,
                   np, GetLastError());
    char *got = VirtualAlloc2(NULL, at, len, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                              PAGE_READWRITE, NULL, 0);
    STRESS_REQUIRE(&w->f, got == at, "replace %p: %p, error %u", (void *)at, (void *)got,
                   GetLastError());
    mark(at, len, s->sig);
    MEMORY_BASIC_INFORMATION m;
    STRESS_REQUIRE(&w->f, VirtualQuery(at, &m, sizeof m) == sizeof m && m.AllocationBase == at &&
                              m.RegionSize == len && m.State == MEM_COMMIT,
                   "replaced piece %p: alloc %p size %#zx state %#x", (void *)at,
                   m.AllocationBase, m.RegionSize, m.State);
    STRESS_REQUIRE(&w->f, marked(at, len, s->sig), "replaced piece %p lost its data", (void *)at);
    STRESS_REQUIRE(&w->f, VirtualFree(at, len, PRESERVE), "free back: %u", GetLastError());
    STRESS_REQUIRE(&w->f, VirtualFree(s->base, np * P, COALESCE), "coalesce %p (%zu pages): %u",
                   (void *)s->base, np, GetLastError());
}

static void p_query(pworker_t *w, pslot_t *s)
{
    MEMORY_BASIC_INFORMATION m;
    size_t np = (s->size + P - 1) / P;
    STRESS_REQUIRE(&w->f, VirtualQuery(s->base, &m, sizeof m) == sizeof m, "query: %u",
                   GetLastError());
    STRESS_REQUIRE(&w->f, m.BaseAddress == s->base && m.AllocationBase == s->base &&
                              m.RegionSize == np * P && m.Type == MEM_PRIVATE &&
                              m.State == (s->committed ? MEM_COMMIT : MEM_RESERVE) &&
                              m.AllocationProtect == (s->placeholder ? PAGE_NOACCESS : PAGE_READWRITE),
                   "allocation %p (%zu pages, placeholder %d, committed %d): alloc %p size %#zx "
                   "state %#x aprot %#x", (void *)s->base, np, s->placeholder, s->committed,
                   m.AllocationBase, m.RegionSize, m.State, m.AllocationProtect);
}

static void p_invalid(pworker_t *w)
{
    MEM_ADDRESS_REQUIREMENTS req = {win, win + WIN - 1, G};
    MEM_EXTENDED_PARAMETER ext = {{MemExtendedParameterAddressRequirements, 0}, {0}};
    ext.Pointer = &req;
    switch (stress_below(&w->rng, 4)) {
    case 0: req.Alignment = 3 * G; break;                 /* not a power of two */
    case 1: req.HighestEndingAddress = win + WIN - 2; break; /* Highest+1 not page-aligned */
    case 2: req.LowestStartingAddress = win + P; break;   /* Lowest not 64 KiB-aligned */
    default: break;                                       /* with an address (M7) */
    }
    bool at = req.Alignment == G && req.HighestEndingAddress == win + WIN - 1 &&
              req.LowestStartingAddress == win;
    STRESS_REQUIRE_ERR(&w->f, VirtualAlloc2(NULL, at ? win : NULL, G, MEM_RESERVE,
                                            PAGE_READWRITE, &ext, 1),
                       ERROR_INVALID_PARAMETER, "VirtualAlloc2 with bad requirements");
}

static void *place_worker(void *arg)
{
    pworker_t *w = arg;
    static const int mix[] = {POP_ALLOC, POP_ALLOC, POP_PLACEHOLDER, POP_ANYWHERE, POP_FREE,
                              POP_FREE, POP_FREE, POP_USE_PIECE, POP_USE_PIECE, POP_QUERY,
                              POP_QUERY, POP_INVALID};
    while (!stress_stopping(&w->f) && ((w->total & 15) || stress_now_ns() < w->deadline)) {
        pslot_t *s = &w->slot[stress_below(&w->rng, SLOTS)];
        int op = mix[stress_below(&w->rng, sizeof mix / sizeof mix[0])];
        pthread_rwlock_rdlock(&quiet_lock);
        if (op == POP_INVALID) {
            p_invalid(w);
        } else if (!s->base) {
            if (op == POP_PLACEHOLDER)
                p_alloc(w, s, true);
            else if (op == POP_ANYWHERE)
                p_anywhere(w, s);
            else
                p_alloc(w, s, false), op = POP_ALLOC;
        } else if (s->placeholder && op != POP_QUERY && stress_below(&w->rng, 4)) {
            op = POP_USE_PIECE;
            p_use_piece(w, s);
        } else if (op == POP_QUERY) {
            p_query(w, s);
        } else {
            p_free(w, s), op = POP_FREE;
        }
        pthread_rwlock_unlock(&quiet_lock);
        w->ops[op]++;
        w->total++;
    }
    for (int k = 0; k < SLOTS; k++)
        if (w->slot[k].base && !w->f.failed)
            p_free(w, &w->slot[k]);
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

START_TEST(alloc2_bounded_window_race)
{
    stress_warm_up(THREADS);
    win = hm_free_range(WIN);
    stress_base_t b;
    stress_base_take(&b);
    stress_ledger_install();
    pthread_rwlockattr_t ra;
    pthread_rwlockattr_init(&ra);
    pthread_rwlockattr_setkind_np(&ra, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&quiet_lock, &ra);
    for (size_t g = 0; g < GRANULES; g++)
        atomic_store(&owner[g], 0);
    static pworker_t w[THREADS];
    pthread_t t[THREADS];
    uint64_t t0 = stress_now_ns(), deadline = t0 + stress_run_ns();
    for (unsigned i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i;
        w[i].rng = w[i].seed = stress_seed(40 + i);
        w[i].deadline = deadline;
        ck_assert_int_eq(pthread_create(&t[i], NULL, place_worker, &w[i]), 0);
    }
    unsigned quiet = 0;
    while (stress_now_ns() + 250000000ull < deadline && !atomic_load(&stress_stop)) {
        usleep(200000);
        quiet_check(&b);
        quiet++;
    }
    uint64_t counts[POP_COUNT] = {0}, total = 0, full = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < POP_COUNT; k++)
            counts[k] += w[i].ops[k];
        total += w[i].total;
        full += w[i].full;
    }
    uint64_t ns = stress_now_ns() - t0;
    for (unsigned i = 0; i < THREADS; i++)
        ck_assert_msg(!w[i].f.failed, "thread %u (seed %#llx): %s", i,
                      (unsigned long long)w[i].seed, w[i].f.msg);
    for (size_t g = 0; g < GRANULES; g++)
        ck_assert_msg(atomic_load(&owner[g]) == 0, "granule %zu still claimed", g);
    pthread_rwlock_destroy(&quiet_lock);
    printf("alloc2_bounded_window_race, 4 threads: %llu operations (", (unsigned long long)total);
    for (int k = 0; k < POP_COUNT; k++)
        printf("%s%s %llu", k ? ", " : "", pop_names[k], (unsigned long long)counts[k]);
    printf(")\nallocations refused with ERROR_NOT_ENOUGH_MEMORY: %llu, quiet points %u\n",
           (unsigned long long)full, quiet);
    stress_log_ops("alloc2_bounded_window_race", total, ns);
    stress_assert_back(&b, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("place_stress");
    TCase *tc = tcase_create("alloc2_bounded_window_race");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, alloc2_bounded_window_race);
    suite_add_tcase(s, tc);
    return s;
}

HM_TEST_MAIN(make_suite)
