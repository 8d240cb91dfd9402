/*
 * stress_host.h — what the host-manager stress programs share (test_host_levels_stress.c,
 * test_host_waits_stress.c): a notification callback object that checks and counts what
 * it is told, a host that reads its memory load from files of its own (a low, constant
 * load: notices then depend on budgets alone), runtimes and their committed bytes.
 */
#ifndef HM_TESTS_STRESS_HOST_H
#define HM_TESTS_STRESS_HOST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hostmem/host.h"
#include "stress.h"

#define KIB ((SIZE_T)1024)
#define MIB ((uint64_t)1 << 20)

/* ---- notification callbacks ------------------------------------------------------------- */

typedef struct callback {
    ICLRMemoryNotificationCallback iface; /* first */
    _Atomic uint32_t refs;
    _Atomic uint64_t calls;
    _Atomic int last;                     /* last notice, 0 = none */
    atomic_bool bad;
    char why[128];
} callback_t;

static STRESS_UNUSED HRESULT cb_query(ICLRMemoryNotificationCallback *This, REFIID riid,
                                      void **ppv)
{
    (void)This;
    (void)riid;
    *ppv = NULL;
    return E_NOINTERFACE;
}

static STRESS_UNUSED ULONG cb_addref(ICLRMemoryNotificationCallback *This)
{
    return atomic_fetch_add(&((callback_t *)This)->refs, 1) + 1;
}

static STRESS_UNUSED ULONG cb_release(ICLRMemoryNotificationCallback *This)
{
    return atomic_fetch_sub(&((callback_t *)This)->refs, 1) - 1; /* the test owns the memory */
}

static STRESS_UNUSED HRESULT cb_notify(ICLRMemoryNotificationCallback *This,
                                       EMemoryAvailable e)
{
    callback_t *c = (callback_t *)This;
    int prev = atomic_exchange(&c->last, (int)e);
    bool no = false;
    if ((e < eMemoryAvailableLow || e > eMemoryAvailableHigh || prev == (int)e) &&
        atomic_compare_exchange_strong(&c->bad, &no, true))
        snprintf(c->why, sizeof c->why, "notice %d after %d", (int)e, prev);
    atomic_fetch_add(&c->calls, 1);
    return S_OK;
}

static const ICLRMemoryNotificationCallbackVtbl cb_vtbl = {cb_query, cb_addref, cb_release,
                                                           cb_notify};

static STRESS_UNUSED void cb_init(callback_t *c)
{
    memset(c, 0, sizeof *c);
    c->iface.lpVtbl = &cb_vtbl;
    atomic_store(&c->refs, 1);
}

/* ---- a host reading load from files of its own (low load: notices depend on budgets) ---- */

static char load_dir[64] STRESS_UNUSED;

static STRESS_UNUSED void write_file(const char *name, const char *text)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", load_dir, name);
    FILE *f = fopen(path, "we");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static STRESS_UNUSED hm_host_t *make_host(void)
{
    snprintf(load_dir, sizeof load_dir, "/tmp/hm_host_stress.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(load_dir));
    write_file("memory.max", "1099511627776\n");
    write_file("memory.high", "max\n");
    write_file("memory.current", "0\n");
    write_file("meminfo", "MemTotal:       16777216 kB\nMemAvailable:   16000000 kB\n");
    char meminfo[128];
    snprintf(meminfo, sizeof meminfo, "%s/meminfo", load_dir);
    hm_host_config_t hc = {.cb_size = sizeof hc, .cgroup_dir = load_dir, .meminfo_path = meminfo,
                           .psi_path = "", .poll_interval_ms = 20};
    hm_host_t *h;
    ck_assert_int_eq(hm_host_create(&hc, &h), 0);
    return h;
}

static STRESS_UNUSED void remove_load_dir(void)
{
    const char *files[] = {"memory.max", "memory.high", "memory.current", "meminfo"};
    char path[128];
    for (int i = 0; i < 4; i++) {
        snprintf(path, sizeof path, "%s/%s", load_dir, files[i]);
        unlink(path);
    }
    rmdir(load_dir);
}

static STRESS_UNUSED hm_runtime_t *make_runtime(hm_host_t *h, const char *name, uint64_t hard,
                                                uint64_t soft, uint64_t reserve, uint32_t wait_ms)
{
    hm_runtime_config_t c = {.cb_size = sizeof c, .name = name, .hard_limit = hard,
                             .soft_limit = soft, .critical_reserve = reserve,
                             .wait_timeout_ms = wait_ms};
    hm_runtime_t *rt;
    ck_assert_int_eq(hm_runtime_create(h, &c, &rt), 0);
    ck_assert_int_eq(hm_runtime_start(rt), 0);
    return rt;
}

static STRESS_UNUSED uint64_t rt_committed(hm_runtime_t *rt)
{
    hm_runtime_stats_t st = {.cb_size = sizeof st};
    ck_assert_int_eq(hm_runtime_get_stats(rt, &st), 0);
    return st.committed;
}

#endif /* HM_TESTS_STRESS_HOST_H */
