/*
 * charge.c — commit accounting and process-wide statistics.
 *
 * Invariant: `committed` == the sum of committed bytes over all live reservations, and a
 * charge that would take it past `limit` (0 = unlimited) fails without changing it: the
 * check and the add are one CAS, so concurrent commits can never pass the limit together.
 * A reservation's owner account (vm.h) is charged after the process and, if it refuses,
 * the process charge is undone. The acting account is thread-local.
 * The limit is read once at first use from HOSTMEM_COMMIT_LIMIT, else /proc/meminfo's
 * CommitLimit; hm_vm_set_commit_limit overrides it. All counters are atomics; no locks.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "vm/charge.h"
#include "vm/vm.h"
#include "os/os.h"

static _Atomic uint64_t committed;
static _Atomic uint64_t limit;
static atomic_bool limit_set;
static pthread_once_t limit_once = PTHREAD_ONCE_INIT;

_Atomic uint64_t hm_stat_reservations, hm_stat_reserved_bytes, hm_stat_locked_bytes,
    hm_stat_guard_hits, hm_stat_watched_bytes, hm_creating;

static uint64_t meminfo_field(const char *text, const char *name)
{
    const char *p = strstr(text, name);
    if (!p)
        return 0;
    return strtoull(p + strlen(name), NULL, 10) * 1024;
}

int hm_vm_read_meminfo(hm_vm_meminfo_t *out)
{
    char *buf;
    size_t len;
    int err = hm_os.read_file(HM_SITE_MEMINFO_READ, "/proc/meminfo", &buf, &len);
    if (err)
        return err;
    out->total = meminfo_field(buf, "MemTotal:");
    out->available = meminfo_field(buf, "MemAvailable:");
    out->commit_limit = meminfo_field(buf, "CommitLimit:");
    out->committed_as = meminfo_field(buf, "Committed_AS:");
    out->huge_total = meminfo_field(buf, "HugePages_Total:") / 1024; /* no "kB" unit */
    out->huge_free = meminfo_field(buf, "HugePages_Free:") / 1024;
    free(buf);
    return 0;
}

static void init_limit(void)
{
    if (atomic_load(&limit_set))
        return;
    uint64_t v = 0;
    const char *env = hm_os_getenv("HOSTMEM_COMMIT_LIMIT");
    if (!env || hm_os_parse_size(env, &v) != 0) {
        hm_vm_meminfo_t mi;
        v = hm_vm_read_meminfo(&mi) == 0 ? mi.commit_limit : 0;
    }
    uint64_t expected = 0;
    bool no = false;
    if (atomic_compare_exchange_strong(&limit_set, &no, true))
        atomic_compare_exchange_strong(&limit, &expected, v);
}

uint64_t hm_vm_commit_limit(void)
{
    pthread_once(&limit_once, init_limit);
    return atomic_load_explicit(&limit, memory_order_relaxed);
}

void hm_vm_set_commit_limit(uint64_t bytes)
{
    atomic_store(&limit_set, true);
    atomic_store(&limit, bytes);
}

uint64_t hm_vm_committed(void)
{
    return atomic_load_explicit(&committed, memory_order_relaxed);
}

static _Thread_local hm_vm_account_t *acting;

void hm_vm_set_acting(hm_vm_account_t *a)
{
    acting = a;
}

hm_vm_account_t *hm_vm_acting(void)
{
    return acting;
}

static int charge_process(uint64_t bytes)
{
    uint64_t lim = hm_vm_commit_limit();
    uint64_t cur = atomic_load_explicit(&committed, memory_order_relaxed);
    for (;;) {
        if (lim && (cur + bytes < cur || cur + bytes > lim))
            return HM_E_COMMITMENT_LIMIT;
        if (atomic_compare_exchange_weak_explicit(&committed, &cur, cur + bytes,
                                                  memory_order_relaxed, memory_order_relaxed))
            return HM_OK;
    }
}

int hm_charge(hm_vm_account_t *a, uint64_t bytes)
{
    if (!bytes)
        return HM_OK;
    int st = charge_process(bytes);
    if (st == HM_OK && a && (st = a->charge(a, bytes)) != HM_OK)
        atomic_fetch_sub_explicit(&committed, bytes, memory_order_relaxed);
    return st;
}

void hm_uncharge(hm_vm_account_t *a, uint64_t bytes)
{
    if (!bytes)
        return;
    atomic_fetch_sub_explicit(&committed, bytes, memory_order_relaxed);
    if (a)
        a->uncharge(a, bytes);
}

void hm_vm_get_stats(hm_vm_stats_t *out)
{
    out->reservations = atomic_load_explicit(&hm_stat_reservations, memory_order_relaxed);
    out->reserved_bytes = atomic_load_explicit(&hm_stat_reserved_bytes, memory_order_relaxed);
    out->committed_bytes = hm_vm_committed();
    out->locked_bytes = atomic_load_explicit(&hm_stat_locked_bytes, memory_order_relaxed);
    out->guard_hits = atomic_load_explicit(&hm_stat_guard_hits, memory_order_relaxed);
    out->watched_bytes = atomic_load_explicit(&hm_stat_watched_bytes, memory_order_relaxed);
}
