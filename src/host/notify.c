/*
 * notify.c — the host's notifier thread: delivers ICLRMemoryNotificationCallback
 * transitions (low / neutral / high) to each runtime that registered a callback.
 *
 * It starts on the first registration and stops at hm_host_destroy. It wakes when a
 * budget crosses a runtime's soft limit (eventfd), when the kernel's PSI trigger reports
 * memory stalls (some 150 ms in a 2 s window, the shortest an unprivileged trigger may
 * use; pressure is then assumed for 2 s), or every
 * poll_interval_ms to re-read cgroup and meminfo load. A runtime is told only when its
 * state changes; callbacks run with no lock of ours held (references are taken under
 * host->lock, the call is made after it is released).
 * State: low if PSI pressure, load ≥ 90 % or used ≥ soft_limit; high if load < 60 % and
 * used < soft_limit / 2 (or no soft limit); neutral otherwise.
 */
#include <stdlib.h>
#include <time.h>

#include "host/runtime.h"
#include "os/os.h"

#define MAX_BATCH 64

typedef struct pending {
    hm_runtime_t *rt;
    ICLRMemoryNotificationCallback *cb;
} pending_t;

static int notice_of(hm_runtime_t *rt, bool pressure)
{
    DWORD load;
    uint64_t avail, used = atomic_load(&rt->used);
    hm_load_compute(rt, &load, &avail);
    if (pressure || load >= 90 || (rt->soft_limit && used >= rt->soft_limit))
        return eMemoryAvailableLow;
    if (load < 60 && (!rt->soft_limit || used < rt->soft_limit / 2))
        return eMemoryAvailableHigh;
    return eMemoryAvailableNeutral;
}

/* Takes references on up to MAX_BATCH runtimes that have a callback. */
static size_t collect(hm_host_t *host, pending_t *out)
{
    size_t n = 0;
    pthread_mutex_lock(&host->lock);
    for (hm_runtime_t *rt = host->runtimes; rt && n < MAX_BATCH; rt = rt->next) {
        if (!rt->callback || atomic_load(&rt->state) != RT_STARTED)
            continue;
        hm_rt_ref(rt);
        rt->callback->lpVtbl->AddRef(rt->callback);
        out[n++] = (pending_t){rt, rt->callback};
    }
    pthread_mutex_unlock(&host->lock);
    return n;
}

static void deliver(hm_host_t *host, bool pressure)
{
    pending_t batch[MAX_BATCH];
    size_t n = collect(host, batch);
    for (size_t i = 0; i < n; i++) {
        hm_runtime_t *rt = batch[i].rt;
        int notice = notice_of(rt, pressure);
        pthread_mutex_lock(&host->lock);
        bool changed = rt->callback == batch[i].cb && rt->last_notice != notice;
        if (changed)
            rt->last_notice = notice;
        pthread_mutex_unlock(&host->lock);
        if (changed) {
            batch[i].cb->lpVtbl->OnMemoryNotification(batch[i].cb, (EMemoryAvailable)notice);
            atomic_fetch_add(&rt->n_notify, 1);
        }
        batch[i].cb->lpVtbl->Release(batch[i].cb);
        hm_rt_unref(rt);
    }
}

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *notifier_main(void *arg)
{
    hm_host_t *host = arg;
    const char *psi_path = host->psi_path ? host->psi_path : "/proc/pressure/memory";
    int psi = *psi_path ? hm_os_psi_open(psi_path, 150000, 2000000) : -1;
    double pressure_until = 0;
    while (!atomic_load(&host->stopping)) {
        unsigned ev = hm_os_wait_events(host->wake_fd, psi, host->poll_ms);
        if (ev & 1u)
            hm_os_event_drain(host->wake_fd);
        if (ev & 2u)
            pressure_until = now_s() + 2.0;
        if (!atomic_load(&host->stopping))
            deliver(host, now_s() < pressure_until);
    }
    hm_os_close(psi);
    return NULL;
}

int hm_notifier_ensure(hm_host_t *host)
{
    int err = 0;
    pthread_mutex_lock(&host->lock);
    if (!host->notifier_running) {
        /* Published with release order: hm_notifier_wake runs in charging threads without
         * host->lock and must see the eventfd made before it signals it. */
        int fd = hm_os_event_open();
        if (fd >= 0)
            __atomic_store_n(&host->wake_fd, fd, __ATOMIC_RELEASE);
        if (fd < 0) {
            err = -fd;
        } else if ((err = pthread_create(&host->notifier, NULL, notifier_main, host)) != 0) {
            __atomic_store_n(&host->wake_fd, -1, __ATOMIC_RELEASE);
            hm_os_close(fd);
        } else {
            host->notifier_running = true;
        }
    }
    pthread_mutex_unlock(&host->lock);
    return err;
}

/* Lock-free (it runs inside a charge, under a reservation lock). A waker announces itself
 * before it loads the fd, and hm_notifier_stop retires the fd before it waits for the
 * wakers to leave (both sequentially consistent), so the fd is never closed between a
 * waker's load and its signal. */
void hm_notifier_wake(hm_host_t *host)
{
    atomic_fetch_add_explicit(&host->wakers, 1, memory_order_seq_cst);
    int fd = __atomic_load_n(&host->wake_fd, __ATOMIC_SEQ_CST);
    if (fd >= 0)
        hm_os_event_signal(fd);
    atomic_fetch_sub_explicit(&host->wakers, 1, memory_order_release);
}

void hm_notifier_stop(hm_host_t *host)
{
    pthread_mutex_lock(&host->lock);
    bool running = host->notifier_running;
    host->notifier_running = false;
    pthread_mutex_unlock(&host->lock);
    if (!running)
        return;
    atomic_store(&host->stopping, true);
    hm_os_event_signal(host->wake_fd);
    pthread_join(host->notifier, NULL);
    int fd = host->wake_fd;
    __atomic_store_n(&host->wake_fd, -1, __ATOMIC_SEQ_CST);
    while (atomic_load_explicit(&host->wakers, memory_order_acquire))
        hm_os_yield();
    hm_os_close(fd);
}
