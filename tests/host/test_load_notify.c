/*
 * test_load_notify.c — GetMemoryLoad from budget, cgroup v2 and meminfo (readers pointed
 * at files the test writes), and ICLRMemoryNotificationCallback transitions delivered by
 * the notifier thread for budget thresholds and a simulated cgroup limit.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostmem/host.h"
#include "testlib.h"

#define MIB ((uint64_t)1 << 20)

static char dir[64];
static hm_host_t *host;

static void put(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void setup(void)
{
    strcpy(dir, "/tmp/hm_load_XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    put("meminfo", "MemTotal:       1000000 kB\nMemFree: 1 kB\nMemAvailable:    800000 kB\n");
    put("memory.max", "max\n");
    put("memory.high", "max\n");
    put("memory.current", "0\n");
    char meminfo[128];
    snprintf(meminfo, sizeof meminfo, "%s/meminfo", dir);
    hm_host_config_t c = {.cb_size = sizeof c, .cgroup_dir = dir, .meminfo_path = meminfo,
                          .psi_path = "", .poll_interval_ms = 20};
    ck_assert_int_eq(hm_host_create(&c, &host), 0);
}

static void teardown(void)
{
    hm_host_destroy(host);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    ck_assert_int_eq(system(cmd), 0);
}

static IHostMemoryManager *runtime(uint64_t hard, uint64_t soft)
{
    hm_runtime_config_t c = {.cb_size = sizeof c, .name = "load", .hard_limit = hard, .soft_limit = soft};
    hm_runtime_t *rt;
    ck_assert_int_eq(hm_runtime_create(host, &c, &rt), 0);
    ck_assert_int_eq(hm_runtime_start(rt), 0);
    return hm_runtime_memory_manager(rt);
}

START_TEST(load_is_the_machine_view_without_other_limits)
{
    IHostMemoryManager *m = runtime(0, 0);
    DWORD load = 0;
    SIZE_T avail = 0;
    ck_assert_int_eq(m->lpVtbl->GetMemoryLoad(m, &load, &avail), S_OK);
    ck_assert_uint_eq(load, 20);
    ck_assert_uint_eq(avail, 800000 * 1024ull);
    ck_assert_int_eq(m->lpVtbl->GetMemoryLoad(m, NULL, &avail), E_POINTER);
    m->lpVtbl->Release(m);
}
END_TEST

START_TEST(load_takes_the_tightest_of_budget_cgroup_and_machine)
{
    IHostMemoryManager *m = runtime(8 * MIB, 0);
    void *p;
    ck_assert_int_eq(m->lpVtbl->VirtualAlloc(m, NULL, 6 * MIB, MEM_COMMIT, PAGE_READWRITE, eTaskCritical, &p), S_OK);
    DWORD load;
    SIZE_T avail;
    ck_assert_int_eq(m->lpVtbl->GetMemoryLoad(m, &load, &avail), S_OK);
    ck_assert_uint_eq(load, 75); /* budget: 6 of 8 MiB */
    ck_assert_uint_eq(avail, 2 * MIB);
    put("memory.high", "4194304\n");
    put("memory.current", "3984589\n"); /* 95 % of memory.high */
    ck_assert_int_eq(m->lpVtbl->GetMemoryLoad(m, &load, &avail), S_OK);
    ck_assert_uint_eq(load, 95);
    ck_assert_uint_eq(avail, 4194304 - 3984589);
    m->lpVtbl->Release(m);
}
END_TEST

typedef struct counter {
    ICLRMemoryNotificationCallback iface;
    _Atomic int refs, calls, last;
} counter_t;

static HRESULT cb_qi(ICLRMemoryNotificationCallback *This, REFIID riid, void **ppv)
{
    (void)riid;
    *ppv = This;
    return S_OK;
}
static ULONG cb_addref(ICLRMemoryNotificationCallback *This)
{
    return (ULONG)atomic_fetch_add(&((counter_t *)This)->refs, 1) + 1;
}
static ULONG cb_release(ICLRMemoryNotificationCallback *This)
{
    return (ULONG)atomic_fetch_sub(&((counter_t *)This)->refs, 1) - 1;
}
static HRESULT cb_notify(ICLRMemoryNotificationCallback *This, EMemoryAvailable e)
{
    counter_t *c = (counter_t *)This;
    atomic_store(&c->last, (int)e);
    atomic_fetch_add(&c->calls, 1);
    return S_OK;
}
static const ICLRMemoryNotificationCallbackVtbl cb_vtbl = {cb_qi, cb_addref, cb_release, cb_notify};

/* Waits up to 2 s for the callback's last value to become `want`. */
static int wait_for(counter_t *c, int want)
{
    for (int i = 0; i < 200 && atomic_load(&c->last) != want; i++)
        usleep(10000);
    return atomic_load(&c->last);
}

START_TEST(budget_thresholds_drive_transitions_only)
{
    IHostMemoryManager *m = runtime(16 * MIB, 8 * MIB);
    static counter_t c; /* COM: it must outlive the host's reference */
    c = (counter_t){.iface.lpVtbl = &cb_vtbl, .refs = 1};
    ck_assert_int_eq(m->lpVtbl->RegisterMemoryNotificationCallback(m, &c.iface), S_OK);
    ck_assert_int_eq(wait_for(&c, eMemoryAvailableHigh), eMemoryAvailableHigh);
    usleep(100000); /* several polls: still one call, no repeats without a transition */
    ck_assert_int_eq(atomic_load(&c.calls), 1);
    void *p;
    ck_assert_int_eq(m->lpVtbl->VirtualAlloc(m, NULL, 9 * MIB, MEM_COMMIT, PAGE_READWRITE, eTaskCritical, &p), S_OK);
    ck_assert_int_eq(wait_for(&c, eMemoryAvailableLow), eMemoryAvailableLow);
    ck_assert_int_eq(m->lpVtbl->VirtualFree(m, p, 5 * MIB, MEM_DECOMMIT), S_OK); /* 4 MiB: neutral */
    ck_assert_int_eq(wait_for(&c, eMemoryAvailableNeutral), eMemoryAvailableNeutral);
    ck_assert_int_eq(m->lpVtbl->VirtualFree(m, p, 0, MEM_RELEASE), S_OK);
    ck_assert_int_eq(wait_for(&c, eMemoryAvailableHigh), eMemoryAvailableHigh);
    ck_assert_int_eq(atomic_load(&c.calls), 4);
    ck_assert_int_eq(atomic_load(&c.refs), 2); /* the host holds one reference */
    m->lpVtbl->Release(m);
}
END_TEST

START_TEST(a_simulated_cgroup_limit_is_notified)
{
    IHostMemoryManager *m = runtime(0, 0);
    static counter_t c; /* COM: it must outlive the host's reference */
    c = (counter_t){.iface.lpVtbl = &cb_vtbl, .refs = 1};
    ck_assert_int_eq(m->lpVtbl->RegisterMemoryNotificationCallback(m, &c.iface), S_OK);
    ck_assert_int_eq(wait_for(&c, eMemoryAvailableHigh), eMemoryAvailableHigh);
    put("memory.max", "100000000\n");
    put("memory.current", "95000000\n");
    ck_assert_int_eq(wait_for(&c, eMemoryAvailableLow), eMemoryAvailableLow);
    put("memory.current", "10000000\n");
    ck_assert_int_eq(wait_for(&c, eMemoryAvailableHigh), eMemoryAvailableHigh);
    m->lpVtbl->Release(m);
}
END_TEST

START_TEST(host_destroy_stops_the_notifier_and_releases_callbacks)
{
    IHostMemoryManager *m = runtime(0, 0);
    static counter_t c; /* COM: it must outlive the host's reference */
    c = (counter_t){.iface.lpVtbl = &cb_vtbl, .refs = 1};
    ck_assert_int_eq(m->lpVtbl->RegisterMemoryNotificationCallback(m, &c.iface), S_OK);
    ck_assert_int_eq(wait_for(&c, eMemoryAvailableHigh), eMemoryAvailableHigh);
    m->lpVtbl->Release(m);
    hm_host_destroy(host);
    ck_assert_int_eq(atomic_load(&c.refs), 1);
    int calls = atomic_load(&c.calls);
    usleep(60000);
    ck_assert_int_eq(atomic_load(&c.calls), calls);
    hm_host_config_t cfg = {.cb_size = sizeof cfg, .psi_path = ""};
    ck_assert_int_eq(hm_host_create(&cfg, &host), 0); /* for teardown */
}
END_TEST

START_TEST(the_kernels_psi_trigger_does_not_stop_delivery)
{
    hm_host_destroy(host);
    hm_host_config_t cfg = {.cb_size = sizeof cfg, .poll_interval_ms = 20}; /* real PSI file */
    ck_assert_int_eq(hm_host_create(&cfg, &host), 0);
    IHostMemoryManager *m = runtime(16 * MIB, 8 * MIB);
    static counter_t c; /* COM: it must outlive the host's reference */
    c = (counter_t){.iface.lpVtbl = &cb_vtbl, .refs = 1};
    ck_assert_int_eq(m->lpVtbl->RegisterMemoryNotificationCallback(m, &c.iface), S_OK);
    for (int i = 0; i < 300 && !atomic_load(&c.calls); i++)
        usleep(10000);
    ck_assert_int_ge(atomic_load(&c.calls), 1);
    m->lpVtbl->Release(m);
}
END_TEST

static TCase *tc(TCase *c, const TTest *t)
{
    tcase_add_checked_fixture(c, setup, teardown);
    tcase_add_test(c, t);
    return c;
}

static Suite *make_suite(void)
{
    Suite *s = suite_create("load_notify");
    suite_add_tcase(s, tc(tcase_create("load_is_the_machine_view_without_other_limits"), load_is_the_machine_view_without_other_limits));
    suite_add_tcase(s, tc(tcase_create("load_takes_the_tightest_of_budget_cgroup_and_machine"), load_takes_the_tightest_of_budget_cgroup_and_machine));
    suite_add_tcase(s, tc(tcase_create("notify_budget_thresholds_drive_transitions_only"), budget_thresholds_drive_transitions_only));
    suite_add_tcase(s, tc(tcase_create("notify_a_simulated_cgroup_limit_is_notified"), a_simulated_cgroup_limit_is_notified));
    suite_add_tcase(s, tc(tcase_create("notify_host_destroy_stops_the_notifier_and_releases_callbacks"), host_destroy_stops_the_notifier_and_releases_callbacks));
    suite_add_tcase(s, tc(tcase_create("notify_the_kernels_psi_trigger_does_not_stop_delivery"), the_kernels_psi_trigger_does_not_stop_delivery));
    return s;
}

HM_TEST_MAIN(make_suite)
