/*
 * test_placeholder_stress.c — placeholders changing owner under concurrent lookups.
 *
 * One placeholder area is cut into lanes; each writer thread owns some lanes and, for a
 * bounded time, splits a lane into pieces at random pages, replaces pieces (committing and
 * writing them), frees them back whole or in part, and coalesces the lane again. Every
 * call must succeed and every replaced piece must read back what was written. Meanwhile
 * reader threads ask VirtualQuery about random pages of the whole area and try to commit
 * them: a page must never look free, its region must stay inside the area and inside its
 * allocation, and a commit must either succeed (a replaced piece) or fail with
 * ERROR_INVALID_ADDRESS (a placeholder). This is the index push-down and the
 * shrink-then-publish order of placeholder.c under load; run it under ThreadSanitizer
 * (label "stress": ctest -L stress).
 * Afterwards the lanes coalesce into the one placeholder they came from and the statistics
 * are back where they started.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stress.h"
#include "testlib.h"

#define RUN_NS stress_run_ns() /* HM_STRESS_SECONDS, else 2 s */
#define LANES 8
#define LANE_PAGES 64
#define LANE ((SIZE_T)LANE_PAGES * P)
#define WRITERS 2
#define READERS 2
#define PH_RESERVE (MEM_RESERVE | MEM_RESERVE_PLACEHOLDER)
#define PRESERVE (MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER)
#define COALESCE (MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS)

typedef struct shared {
    char *area;
    uint64_t deadline;
    _Atomic bool writers_done;
    _Atomic long failures;
    _Atomic uint64_t ops, queries;
    char first_failure[256];
    _Atomic bool have_failure;
} shared_t;

static shared_t sh;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static uint64_t below(uint64_t *s, uint64_t n)
{
    return rnd(s) % n;
}

/* Records a failure (the main thread asserts). */
static void report(const char *what, const void *addr, DWORD err)
{
    atomic_fetch_add(&sh.failures, 1);
    bool no = false;
    if (atomic_compare_exchange_strong(&sh.have_failure, &no, true))
        snprintf(sh.first_failure, sizeof sh.first_failure, "%s at %p (error %u)", what, addr, err);
}

#define EXPECT(cond, what, addr)                                                           \
    do {                                                                                   \
        if (!(cond))                                                                       \
            report((what), (addr), GetLastError());                                          \
    } while (0)

/* ---- writers ------------------------------------------------------------------------ */

/* A lane's pieces: cuts[0] = 0 < cuts[1] < ... < cuts[n] = LANE_PAGES (page offsets). */
typedef struct lane {
    char *base;
    unsigned cuts[LANE_PAGES + 1];
    unsigned n;
} lane_t;

static void lane_cut(lane_t *l, unsigned at)
{
    unsigned i = 0;
    while (l->cuts[i] < at)
        i++;
    if (l->cuts[i] == at)
        return;
    memmove(&l->cuts[i + 1], &l->cuts[i], (l->n + 1 - i) * sizeof l->cuts[0]);
    l->cuts[i] = at;
    l->n++;
}

/* Splits [a, b) (pages) off the free placeholder piece i that holds it. */
static void split(lane_t *l, unsigned a, unsigned b)
{
    char *at = l->base + (size_t)a * P;
    EXPECT(VirtualFree(at, (size_t)(b - a) * P, PRESERVE), "split", at);
    lane_cut(l, a);
    lane_cut(l, b);
}

/* Replaces piece i, writes and checks it, maybe frees part of it back first, then frees
 * the rest back: the lane is all placeholders again. */
static void use_piece(lane_t *l, unsigned i, uint64_t *seed)
{
    unsigned a = l->cuts[i], b = l->cuts[i + 1];
    char *at = l->base + (size_t)a * P;
    size_t len = (size_t)(b - a) * P;
    char *got = VirtualAlloc2(NULL, at, len, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
                              PAGE_READWRITE, NULL, 0);
    EXPECT(got == at, "replace", at);
    if (got != at)
        return;
    unsigned char mark = (unsigned char)(rnd(seed) | 1);
    for (size_t off = 0; off < len; off += P)
        at[off] = (char)mark;
    if (b - a >= 3 && below(seed, 2)) { /* the middle page first */
        unsigned m = a + 1 + (unsigned)below(seed, b - a - 2);
        EXPECT(VirtualFree(l->base + (size_t)m * P, P, PRESERVE), "preserve middle", at);
        for (size_t off = 0; off < len; off += P)
            if (a + off / P != m && (unsigned char)at[off] != mark)
                report("contents of a kept piece", at + off, 0);
        EXPECT(VirtualFree(at, (size_t)(m - a) * P, PRESERVE), "preserve lower", at);
        EXPECT(VirtualFree(l->base + (size_t)(m + 1) * P, (size_t)(b - m - 1) * P, PRESERVE),
               "preserve upper", at);
        lane_cut(l, m);
        lane_cut(l, m + 1);
        return;
    }
    for (size_t off = 0; off < len; off += P)
        if ((unsigned char)at[off] != mark)
            report("contents", at + off, 0);
    EXPECT(VirtualFree(at, len, PRESERVE), "preserve whole", at);
}

static void lane_round(lane_t *l, uint64_t *seed)
{
    l->n = 1;
    l->cuts[0] = 0;
    l->cuts[1] = LANE_PAGES;
    for (int k = (int)below(seed, 6); k >= 0; k--) {
        unsigned i = (unsigned)below(seed, l->n), a = l->cuts[i], b = l->cuts[i + 1];
        if (b - a < 2)
            continue;
        unsigned x = a + (unsigned)below(seed, b - a - 1), y = x + 1 + (unsigned)below(seed, b - x - 1);
        if (x == a && y == b)
            y--;
        split(l, x, y);
    }
    for (int k = (int)below(seed, 4); k >= 0; k--)
        use_piece(l, (unsigned)below(seed, l->n), seed);
    EXPECT(l->n == 1 || VirtualFree(l->base, LANE, COALESCE), "coalesce lane", l->base);
    atomic_fetch_add_explicit(&sh.ops, 1, memory_order_relaxed);
}

static void *writer(void *arg)
{
    unsigned w = (unsigned)(uintptr_t)arg;
    uint64_t seed = 0x9E3779B97F4A7C15ull * (w + 1);
    lane_t lanes[LANES / WRITERS];
    for (unsigned i = 0; i < LANES / WRITERS; i++)
        lanes[i].base = sh.area + (size_t)(i * WRITERS + w) * LANE;
    while (now_ns() < sh.deadline && !atomic_load(&sh.have_failure))
        lane_round(&lanes[below(&seed, LANES / WRITERS)], &seed);
    return NULL;
}

/* ---- readers ------------------------------------------------------------------------ */

static void check_region(char *addr)
{
    MEMORY_BASIC_INFORMATION m;
    char *end = sh.area + LANES * LANE;
    if (VirtualQuery(addr, &m, sizeof m) != sizeof m) {
        report("VirtualQuery failed", addr, GetLastError());
        return;
    }
    char *base = m.BaseAddress, *alloc = m.AllocationBase;
    bool committed = m.State == MEM_COMMIT;
    if (m.State == MEM_FREE)
        report("a page of the area looks free", addr, 0);
    else if (base != (char *)((uintptr_t)addr & ~(uintptr_t)(P - 1)) || alloc > base ||
             alloc < sh.area || base + m.RegionSize > end || m.Type != MEM_PRIVATE)
        report("region outside its allocation or the area", addr, (DWORD)m.RegionSize);
    else if (committed ? (m.Protect != PAGE_READWRITE || m.AllocationProtect != PAGE_READWRITE)
                       : (m.State != MEM_RESERVE || m.Protect != 0 ||
                          (m.AllocationProtect != PAGE_NOACCESS &&
                           m.AllocationProtect != PAGE_READWRITE)))
        report("fields of a region", addr, m.State);
}

static void *reader(void *arg)
{
    uint64_t seed = 0xD1B54A32D192ED03ull * ((uintptr_t)arg + 1), n = 0;
    while (!atomic_load(&sh.writers_done)) {
        char *addr = sh.area + below(&seed, LANES * LANE);
        check_region(addr);
        if (below(&seed, 8) == 0) {
            SetLastError(0);
            char *got = VirtualAlloc(addr, 1, MEM_COMMIT, PAGE_READWRITE);
            if (got != (char *)((uintptr_t)addr & ~(uintptr_t)(P - 1)) &&
                !(got == NULL && GetLastError() == ERROR_INVALID_ADDRESS))
                report("commit in the area", addr, GetLastError());
        }
        n++;
    }
    atomic_fetch_add(&sh.queries, n);
    return NULL;
}

START_TEST(lookups_race_splits_replacements_and_coalesces)
{
    hm_stats_t st0 = hm_stats_now();
    sh.area = VirtualAlloc2(NULL, NULL, LANES * LANE, PH_RESERVE, PAGE_NOACCESS, NULL, 0);
    ck_assert_ptr_nonnull(sh.area);
    for (unsigned i = 0; i + 1 < LANES; i++) /* the last split leaves the last lane alone */
        ck_assert(VirtualFree(sh.area + (size_t)i * LANE, LANE, PRESERVE));
    sh.deadline = now_ns() + RUN_NS;
    pthread_t w[WRITERS], r[READERS];
    for (uintptr_t i = 0; i < READERS; i++)
        pthread_create(&r[i], NULL, reader, (void *)i);
    for (uintptr_t i = 0; i < WRITERS; i++)
        pthread_create(&w[i], NULL, writer, (void *)i);
    for (unsigned i = 0; i < WRITERS; i++)
        pthread_join(w[i], NULL);
    atomic_store(&sh.writers_done, true);
    for (unsigned i = 0; i < READERS; i++)
        pthread_join(r[i], NULL);
    printf("placeholder stress: %llu lane rounds, %llu lookups, %ld failures\n",
           (unsigned long long)sh.ops, (unsigned long long)sh.queries, (long)sh.failures);
    /* Operations: every split, replace, free-back and coalesce of a lane round (counted as
     * one) and every lookup. */
    stress_log_ops("placeholders_lookups_race_splits_replacements_and_coalesces",
                   sh.ops + sh.queries, now_ns() + RUN_NS - sh.deadline);
    ck_assert_msg(sh.failures == 0, "%ld failures; first: %s", (long)sh.failures, sh.first_failure);
    ck_assert_uint_gt(sh.ops, 0);
    ck_assert_uint_gt(sh.queries, 0);
    ck_assert(VirtualFree(sh.area, LANES * LANE, COALESCE));
    ck_assert_region(sh.area, sh.area, sh.area, PAGE_NOACCESS, LANES * LANE, MEM_RESERVE, 0,
                     MEM_PRIVATE);
    ck_assert(VirtualFree(sh.area, 0, MEM_RELEASE));
    hm_stats_t st1 = hm_stats_now();
    ck_assert_uint_eq(st1.reservations, st0.reservations);
    ck_assert_uint_eq(st1.reserved_bytes, st0.reserved_bytes);
    ck_assert_uint_eq(st1.committed_bytes, st0.committed_bytes);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("placeholder_stress");
    TCase *tc = tcase_create("placeholders_lookups_race_splits_replacements_and_coalesces");
    tcase_set_timeout(tc, stress_timeout());
    hm_add(s, tc, lookups_race_splits_replacements_and_coalesces);
    return s;
}

HM_TEST_MAIN(make_suite)
