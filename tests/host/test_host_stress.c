/*
 * test_host_stress.c — several threads allocating and freeing at all three critical
 * levels against one budget, bounded in time: the hard limit is never passed by one byte
 * (the reserve only by eProcessCritical), every wait ends, and no wait is lost (waiters
 * blocked on a full budget all succeed once memory is freed, long before their deadline).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "hostmem/host.h"
#include "testlib.h"

#define KIB ((SIZE_T)1024)
#define HARD ((uint64_t)4 << 20)
#define RESERVE ((uint64_t)1 << 20)
#define THREADS 4
#define SLOTS 16

static hm_host_t *host;
static hm_runtime_t *rt;
static IHostMemoryManager *mgr;
static _Atomic uint64_t ops, over_hard;
static atomic_bool stop;

static void *worker(void *arg)
{
    unsigned seed = (unsigned)(uintptr_t)arg;
    void *slot[SLOTS] = {0};
    while (!atomic_load(&stop)) {
        int i = rand_r(&seed) % SLOTS;
        if (slot[i]) {
            ck_assert_int_eq(mgr->lpVtbl->VirtualFree(mgr, slot[i], 0, MEM_RELEASE), S_OK);
            slot[i] = NULL;
        } else {
            EMemoryCriticalLevel lvl = (EMemoryCriticalLevel)(rand_r(&seed) % 3);
            SIZE_T size = (SIZE_T)(1 + rand_r(&seed) % 8) * 64 * KIB;
            HRESULT hr = mgr->lpVtbl->VirtualAlloc(mgr, NULL, size, MEM_COMMIT, PAGE_READWRITE, lvl, &slot[i]);
            ck_assert(hr == S_OK || hr == E_OUTOFMEMORY || hr == HOST_E_TIMEOUT);
            if (hr == S_OK)
                ((volatile char *)slot[i])[size - 1] = 1;
            hm_runtime_stats_t st = {.cb_size = sizeof st};
            hm_runtime_get_stats(rt, &st);
            ck_assert_uint_le(st.committed, HARD + RESERVE);
            if (st.committed > HARD)
                atomic_fetch_add(&over_hard, 1);
        }
        atomic_fetch_add(&ops, 1);
    }
    for (int i = 0; i < SLOTS; i++)
        if (slot[i])
            ck_assert_int_eq(mgr->lpVtbl->VirtualFree(mgr, slot[i], 0, MEM_RELEASE), S_OK);
    return NULL;
}

static void setup(void)
{
    hm_host_config_t hc = {.cb_size = sizeof hc, .psi_path = ""};
    ck_assert_int_eq(hm_host_create(&hc, &host), 0);
    hm_runtime_config_t c = {.cb_size = sizeof c, .name = "stress", .hard_limit = HARD,
                             .critical_reserve = RESERVE, .wait_timeout_ms = 20};
    ck_assert_int_eq(hm_runtime_create(host, &c, &rt), 0);
    ck_assert_int_eq(hm_runtime_start(rt), 0);
    mgr = hm_runtime_memory_manager(rt);
}

static void teardown(void)
{
    mgr->lpVtbl->Release(mgr);
    hm_host_destroy(host);
}

START_TEST(threads_at_all_levels_never_pass_the_budget)
{
    pthread_t t[THREADS];
    atomic_store(&stop, false);
    for (uintptr_t i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, worker, (void *)(i + 1));
    sleep(2);
    atomic_store(&stop, true);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    hm_runtime_stats_t st = {.cb_size = sizeof st};
    hm_runtime_get_stats(rt, &st);
    ck_assert_uint_eq(st.committed, 0);
    ck_assert_uint_le(st.peak_committed, HARD + RESERVE);
    printf("host stress: %llu operations, %llu allocations, %llu waits, %llu samples in the reserve\n",
           (unsigned long long)atomic_load(&ops), (unsigned long long)st.allocations,
           (unsigned long long)st.waits, (unsigned long long)atomic_load(&over_hard));
}
END_TEST

#define WAITERS 8

static void *waiter(void *arg)
{
    void **out = arg;
    HRESULT hr = mgr->lpVtbl->VirtualAlloc(mgr, NULL, 256 * KIB, MEM_COMMIT, PAGE_READWRITE,
                                           eAppDomainCritical, out);
    return (void *)(intptr_t)hr;
}

START_TEST(no_wait_is_lost_when_memory_is_freed)
{
    hm_runtime_config_t c = {.cb_size = sizeof c, .name = "waits", .hard_limit = HARD,
                             .wait_timeout_ms = 30000};
    hm_runtime_t *w;
    ck_assert_int_eq(hm_runtime_create(host, &c, &w), 0);
    ck_assert_int_eq(hm_runtime_start(w), 0);
    IHostMemoryManager *saved = mgr;
    mgr = hm_runtime_memory_manager(w);
    void *fill[16];
    for (int i = 0; i < 16; i++)
        ck_assert_int_eq(mgr->lpVtbl->VirtualAlloc(mgr, NULL, 256 * KIB, MEM_COMMIT, PAGE_READWRITE,
                                                   eTaskCritical, &fill[i]), S_OK);
    pthread_t t[WAITERS];
    void *got[WAITERS];
    for (int i = 0; i < WAITERS; i++)
        pthread_create(&t[i], NULL, waiter, &got[i]);
    usleep(100000);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < WAITERS; i++)
        ck_assert_int_eq(mgr->lpVtbl->VirtualFree(mgr, fill[i], 0, MEM_RELEASE), S_OK);
    for (int i = 0; i < WAITERS; i++) {
        void *hr;
        pthread_join(t[i], &hr);
        ck_assert_int_eq((HRESULT)(intptr_t)hr, S_OK);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    ck_assert_int_lt(t1.tv_sec - t0.tv_sec, 5); /* far from the 30 s deadline */
    mgr->lpVtbl->Release(mgr);
    mgr = saved;
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("host_stress");
    TCase *c = tcase_create("host_stress_threads_at_all_levels_never_pass_the_budget");
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_add_test(c, threads_at_all_levels_never_pass_the_budget);
    tcase_set_timeout(c, 60);
    suite_add_tcase(s, c);
    c = tcase_create("host_stress_no_wait_is_lost_when_memory_is_freed");
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_add_test(c, no_wait_is_lost_when_memory_is_freed);
    tcase_set_timeout(c, 60);
    suite_add_tcase(s, c);
    return s;
}

HM_TEST_MAIN(make_suite)
