/*
 * test_host_waits_stress.c — eAppDomainCritical waits of a hosted runtime under load, for
 * a bounded time (the host memory manager, hostmem/host.h).
 *
 *  - host_waits_woken_by_frees: rounds of: fill a runtime's budget exactly; 3 threads ask
 *    for 64–128 KiB at eAppDomainCritical (10 s deadline) and block; two threads free
 *    exactly what they asked for, piece by piece, while a third allocates and frees at
 *    eTaskCritical and eProcessCritical. Every waiter must be woken and served well before
 *    its deadline (no lost wait); the budget is then exactly full again. Some rounds cancel
 *    the waits instead (HOST_E_ABANDONED, promptly) or let a short-deadline runtime time out
 *    (HOST_E_TIMEOUT, never before its deadline).
 *  - host_notifier_starts_while_charging: the reproducer of a data race on the notifier's
 *    eventfd (below).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "stress_host.h"

/* ======================================================================================
 * host_waits_woken_by_frees
 * ==================================================================================== */

#define WHARD (1 * MIB)
#define CHUNK (64 * KIB)
#define NFILL (WHARD / CHUNK)
#define WAITERS 3

static struct {
    hm_runtime_t *rt, *short_rt;
    IHostMemoryManager *mgr, *short_mgr;
    pthread_barrier_t start, done;       /* round start / end, main + waiters + helpers */
    int mode;                            /* 0 woken by frees, 1 cancelled, 2 short deadline */
    SIZE_T ask[WAITERS];
    void *got[WAITERS];
    HRESULT hr[WAITERS];
    _Atomic uint64_t waited_ns[WAITERS]; /* 0 until the waiter's call returned */
    void *fill[NFILL];
    _Atomic int fill_next;               /* helpers take fill chunks to free from here */
    int fill_to_free;
    atomic_bool round_open, finished;
    _Atomic uint64_t ops;
    stress_failure_t f;
} ws;

static void *waiter(void *arg)
{
    int i = (int)(intptr_t)arg;
    for (;;) {
        pthread_barrier_wait(&ws.start);
        if (atomic_load(&ws.finished))
            return NULL;
        IHostMemoryManager *m = ws.mode == 2 ? ws.short_mgr : ws.mgr;
        uint64_t t0 = stress_now_ns();
        ws.hr[i] = m->lpVtbl->VirtualAlloc(m, NULL, ws.ask[i], MEM_COMMIT, PAGE_READWRITE,
                                           eAppDomainCritical, &ws.got[i]);
        atomic_store(&ws.waited_ns[i], stress_now_ns() - t0);
        atomic_fetch_add(&ws.ops, 1);
        pthread_barrier_wait(&ws.done);
    }
}

/* Frees fill chunks handed out by fill_next until fill_to_free are gone. */
static void *freer(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_barrier_wait(&ws.start);
        if (atomic_load(&ws.finished))
            return NULL;
        if (ws.mode == 0) {
            int k;
            while ((k = atomic_fetch_add(&ws.fill_next, 1)) < ws.fill_to_free) {
                usleep(200);
                HRESULT hr = ws.mgr->lpVtbl->VirtualFree(ws.mgr, ws.fill[k], 0, MEM_RELEASE);
                if (hr != S_OK)
                    stress_fail_at(&ws.f, __LINE__, "free a fill chunk: %#x", (unsigned)hr);
                ws.fill[k] = NULL;
                atomic_fetch_add(&ws.ops, 1);
            }
        }
        pthread_barrier_wait(&ws.done);
    }
}

/* Allocates and frees at once at eTaskCritical / eProcessCritical while a round is open. */
static void *noise(void *arg)
{
    uint64_t rng = stress_seed((unsigned)(intptr_t)arg);
    for (;;) {
        pthread_barrier_wait(&ws.start);
        if (atomic_load(&ws.finished))
            return NULL;
        while (ws.mode == 0 && atomic_load(&ws.round_open)) {
            EMemoryCriticalLevel lvl = stress_below(&rng, 2) ? eTaskCritical : eProcessCritical;
            void *p = NULL;
            HRESULT hr = ws.mgr->lpVtbl->VirtualAlloc(ws.mgr, NULL, CHUNK, MEM_COMMIT,
                                                      PAGE_READWRITE, lvl, &p);
            if (hr == S_OK)
                hr = ws.mgr->lpVtbl->VirtualFree(ws.mgr, p, 0, MEM_RELEASE);
            else if (hr != E_OUTOFMEMORY)
                stress_fail_at(&ws.f, __LINE__, "noise allocation at level %d: %#x", (int)lvl,
                               (unsigned)hr);
            atomic_fetch_add(&ws.ops, 2);
            usleep(100);
        }
        pthread_barrier_wait(&ws.done);
    }
}

static uint64_t waits_of(hm_runtime_t *rt)
{
    hm_runtime_stats_t st = {.cb_size = sizeof st};
    ck_assert_int_eq(hm_runtime_get_stats(rt, &st), 0);
    return st.waits;
}

/* Fills a runtime's budget exactly with 64 KiB chunks. */
static int fill_budget(IHostMemoryManager *m, hm_runtime_t *rt, void **fill)
{
    int n = 0;
    for (;;) {
        void *p = NULL;
        HRESULT hr = m->lpVtbl->VirtualAlloc(m, NULL, CHUNK, MEM_COMMIT, PAGE_READWRITE,
                                             eTaskCritical, &p);
        if (hr == E_OUTOFMEMORY)
            break;
        ck_assert_int_eq(hr, S_OK);
        ck_assert_int_lt(n, NFILL);
        fill[n++] = p;
        atomic_fetch_add(&ws.ops, 1);
    }
    ck_assert_uint_eq(rt_committed(rt), WHARD);
    return n;
}

static void one_round(uint64_t *rng, uint64_t *rounds)
{
    int mode = stress_below(rng, 8) == 0 ? 1 : stress_below(rng, 8) == 0 ? 2 : 0;
    void *short_fill[NFILL];
    hm_runtime_t *rt = mode == 2 ? ws.short_rt : ws.rt;
    IHostMemoryManager *m = mode == 2 ? ws.short_mgr : ws.mgr;
    int nfill = fill_budget(m, rt, mode == 2 ? short_fill : ws.fill);
    SIZE_T asked = 0;
    for (int i = 0; i < WAITERS; i++) {
        ws.ask[i] = CHUNK << stress_below(rng, 2);
        ws.got[i] = NULL;
        asked += ws.ask[i];
    }
    ws.mode = mode;
    ws.fill_to_free = (int)(asked / CHUNK);
    atomic_store(&ws.fill_next, 0);
    uint64_t w0 = waits_of(rt);
    atomic_store(&ws.round_open, mode == 0);
    pthread_barrier_wait(&ws.start); /* waiters ask; in mode 0 helpers free, noise runs */
    if (mode == 1) {
        for (int i = 0; i < 300 && waits_of(rt) < w0 + WAITERS; i++)
            usleep(10000);
        ck_assert_uint_ge(waits_of(rt), w0 + WAITERS); /* everyone is blocked on a full budget */
        ck_assert_int_eq(hm_runtime_cancel_waits(rt), 0);
    }
    if (mode == 0) {
        /* Everyone served well before the 10 s deadline: then close the round. */
        uint64_t t0 = stress_now_ns();
        while (stress_now_ns() - t0 < 5000000000ull && atomic_load(&ws.fill_next) < ws.fill_to_free)
            usleep(1000);
    }
    /* Waiters finish (served, cancelled or timed out) before the round closes. */
    uint64_t t0 = stress_now_ns();
    for (;;) {
        bool all = true;
        for (int i = 0; i < WAITERS; i++)
            all = all && atomic_load(&ws.waited_ns[i]) != 0;
        if (all || stress_now_ns() - t0 > 8000000000ull)
            break;
        usleep(1000);
    }
    atomic_store(&ws.round_open, false);
    pthread_barrier_wait(&ws.done);
    ck_assert_msg(!ws.f.failed, "%s", ws.f.msg);
    SIZE_T served = 0;
    for (int i = 0; i < WAITERS; i++) {
        double ms = (double)atomic_load(&ws.waited_ns[i]) / 1e6;
        if (mode == 0) {
            ck_assert_msg(ws.hr[i] == S_OK && ms < 5000, "waiter %d (%zu bytes): %#x after %.0f ms"
                          " — a free that made room did not wake it (lost wait)", i, ws.ask[i],
                          (unsigned)ws.hr[i], ms);
            served += ws.ask[i];
        } else if (mode == 1) {
            ck_assert_msg(ws.hr[i] == HOST_E_ABANDONED && ms < 5000, "cancelled waiter %d: %#x "
                          "after %.0f ms", i, (unsigned)ws.hr[i], ms);
        } else {
            ck_assert_msg(ws.hr[i] == HOST_E_TIMEOUT && ms >= 30 && ms < 5000, "waiter %d with a "
                          "30 ms deadline: %#x after %.1f ms", i, (unsigned)ws.hr[i], ms);
        }
        atomic_store(&ws.waited_ns[i], 0);
    }
    /* Budget exact: what is still filled plus what the waiters got. */
    int left = mode == 0 ? nfill - ws.fill_to_free : nfill;
    ck_assert_uint_eq(rt_committed(rt), (uint64_t)left * CHUNK + served);
    if (mode == 0)
        ck_assert_uint_eq(rt_committed(rt), WHARD); /* exactly full again */
    for (int i = 0; i < WAITERS; i++)
        if (ws.got[i])
            ck_assert_int_eq(m->lpVtbl->VirtualFree(m, ws.got[i], 0, MEM_RELEASE), S_OK);
    void **fill = mode == 2 ? short_fill : ws.fill;
    for (int k = 0; k < nfill; k++)
        if (fill[k]) {
            ck_assert_int_eq(m->lpVtbl->VirtualFree(m, fill[k], 0, MEM_RELEASE), S_OK);
            fill[k] = NULL;
        }
    ck_assert_uint_eq(rt_committed(rt), 0);
    atomic_fetch_add(&ws.ops, (uint64_t)nfill);
    rounds[mode]++;
}

START_TEST(host_waits_woken_by_frees)
{
    stress_warm_up(8);
    hm_host_t *host = make_host();
    stress_base_t b;
    stress_base_take(&b);
    stress_ledger_install();
    memset(&ws, 0, sizeof ws);
    ws.rt = make_runtime(host, "waits", WHARD, 0, 256 * KIB, 10000);
    ws.short_rt = make_runtime(host, "short", WHARD, 0, 0, 30);
    ws.mgr = hm_runtime_memory_manager(ws.rt);
    ws.short_mgr = hm_runtime_memory_manager(ws.short_rt);
    enum { HELPERS = 2, NOISE = 1, PARTIES = 1 + WAITERS + HELPERS + NOISE };
    ck_assert_int_eq(pthread_barrier_init(&ws.start, NULL, PARTIES), 0);
    ck_assert_int_eq(pthread_barrier_init(&ws.done, NULL, PARTIES), 0);
    pthread_t t[PARTIES - 1];
    int n = 0;
    for (int i = 0; i < WAITERS; i++)
        ck_assert_int_eq(pthread_create(&t[n++], NULL, waiter, (void *)(intptr_t)i), 0);
    for (int i = 0; i < HELPERS; i++)
        ck_assert_int_eq(pthread_create(&t[n++], NULL, freer, NULL), 0);
    ck_assert_int_eq(pthread_create(&t[n++], NULL, noise, (void *)(intptr_t)60), 0);
    uint64_t rng = stress_seed(61), rounds[3] = {0};
    uint64_t t0 = stress_now_ns(), deadline = t0 + stress_run_ns();
    while (stress_now_ns() < deadline)
        one_round(&rng, rounds);
    atomic_store(&ws.finished, true);
    pthread_barrier_wait(&ws.start);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    uint64_t ns = stress_now_ns() - t0;
    pthread_barrier_destroy(&ws.start);
    pthread_barrier_destroy(&ws.done);
    hm_runtime_stats_t st = {.cb_size = sizeof st};
    ck_assert_int_eq(hm_runtime_get_stats(ws.rt, &st), 0);
    ck_assert_uint_le(st.peak_committed, WHARD + 256 * KIB);
    printf("host_waits_woken_by_frees: %llu rounds woken by frees, %llu cancelled, %llu timed "
           "out; %llu waits, %llu operations\n", (unsigned long long)rounds[0],
           (unsigned long long)rounds[1], (unsigned long long)rounds[2],
           (unsigned long long)st.waits, (unsigned long long)atomic_load(&ws.ops));
    stress_log_ops("host_waits_woken_by_frees", atomic_load(&ws.ops), ns);
    ck_assert_uint_gt(rounds[0], 0);
    ws.mgr->lpVtbl->Release(ws.mgr);
    ws.short_mgr->lpVtbl->Release(ws.short_mgr);
    hm_host_destroy(host);
    remove_load_dir();
    stress_assert_back(&b, 0);
}
END_TEST

/* ======================================================================================
 * host_notifier_starts_while_charging — reproducer: the first
 * RegisterMemoryNotificationCallback starts the notifier and publishes its eventfd while
 * other threads' charges cross the soft limit and signal that eventfd
 * (hm_notifier_wake). The descriptor must be published with release order after it is
 * made, or a charging thread may signal a descriptor it cannot yet see created
 * (ThreadSanitizer: data race on host->wake_fd and on the eventfd). A few hundred
 * milliseconds; meaningful under TSan, harmless elsewhere.
 * ==================================================================================== */

static IHostMemoryManager *race_mgr;
static atomic_bool race_go, race_stop;
static _Atomic uint64_t race_ops;

static void *race_charger(void *arg)
{
    (void)arg;
    while (!atomic_load(&race_go))
        ;
    while (!atomic_load(&race_stop)) {
        void *p = NULL;
        HRESULT hr = race_mgr->lpVtbl->VirtualAlloc(race_mgr, NULL, 2 * MIB, MEM_COMMIT,
                                                    PAGE_READWRITE, eTaskCritical, &p);
        if (hr == S_OK)
            ck_assert_int_eq(race_mgr->lpVtbl->VirtualFree(race_mgr, p, 0, MEM_RELEASE), S_OK);
        atomic_fetch_add(&race_ops, 2);
    }
    return NULL;
}

START_TEST(host_notifier_starts_while_charging)
{
    uint64_t t0 = stress_now_ns(), ops = 0;
    for (int round = 0; round < 20; round++) {
        hm_host_t *host = make_host();
        hm_runtime_t *rt = make_runtime(host, "race", 16 * MIB, MIB, 0, 10);
        race_mgr = hm_runtime_memory_manager(rt);
        callback_t cb;
        cb_init(&cb);
        atomic_store(&race_go, false);
        atomic_store(&race_stop, false);
        atomic_store(&race_ops, 0);
        pthread_t t[2];
        for (int i = 0; i < 2; i++)
            ck_assert_int_eq(pthread_create(&t[i], NULL, race_charger, NULL), 0);
        atomic_store(&race_go, true);
        usleep(1000u * (unsigned)(round % 3));
        ck_assert_int_eq(race_mgr->lpVtbl->RegisterMemoryNotificationCallback(race_mgr, &cb.iface),
                         S_OK);
        usleep(5000);
        atomic_store(&race_stop, true);
        for (int i = 0; i < 2; i++)
            pthread_join(t[i], NULL);
        ops += atomic_load(&race_ops) + 1;
        race_mgr->lpVtbl->Release(race_mgr);
        hm_host_destroy(host);
        remove_load_dir();
        ck_assert_msg(!atomic_load(&cb.bad), "%s", cb.why);
        ck_assert_uint_eq(atomic_load(&cb.refs), 1);
    }
    stress_log_ops("host_notifier_starts_while_charging", ops, stress_now_ns() - t0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("host_waits_stress");
    TCase *tc = tcase_create("host_waits_woken_by_frees");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, host_waits_woken_by_frees);
    suite_add_tcase(s, tc);
    tc = tcase_create("host_notifier_starts_while_charging");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, host_notifier_starts_while_charging);
    suite_add_tcase(s, tc);
    return s;
}

HM_TEST_MAIN(make_suite)
