/*
 * linux_fault.c — hostmem's SIGSEGV handler, installed on first need and chained to the
 * handler that was installed before it.
 *
 * Invariant: a fault the hook does not claim is passed on exactly as if hostmem were not
 * there: to the previous SA_SIGINFO or plain handler, or, if that was SIG_DFL/SIG_IGN, the
 * default action is restored and the fault re-raised by returning (synchronous faults) or
 * by raise() (sent signals). The handler saves and restores errno.
 *
 * Locking: install/uninstall are serialized by install_lock; the handler reads only the
 * atomic hook pointer and prev_action, which is written once before the handler is set.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <ucontext.h>

#include "os/linux.h"

static pthread_mutex_t install_lock = PTHREAD_MUTEX_INITIALIZER;
static struct sigaction prev_action; /* written once, before our handler goes live */
static _Atomic(hm_os_fault_hook_t) fault_hook;
static atomic_bool installed;

static void chain(int sig, siginfo_t *si, void *uctx)
{
    if (prev_action.sa_flags & SA_SIGINFO) {
        if (prev_action.sa_sigaction) {
            prev_action.sa_sigaction(sig, si, uctx);
            return;
        }
    } else if (prev_action.sa_handler != SIG_DFL && prev_action.sa_handler != SIG_IGN) {
        prev_action.sa_handler(sig);
        return;
    }
    /* Default action: restore it and let the fault happen again. */
    struct sigaction dfl;
    memset(&dfl, 0, sizeof dfl);
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sigaction(sig, &dfl, NULL);
    if (si->si_code <= 0)
        raise(sig);
}

static void segv_handler(int sig, siginfo_t *si, void *uctx)
{
    int saved_errno = errno;
    hm_os_fault_hook_t hook = atomic_load_explicit(&fault_hook, memory_order_acquire);
    bool is_write = false;
#if defined(__x86_64__)
    const ucontext_t *uc = uctx;
    is_write = (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0;
#endif
    if (hook && si->si_code > 0 && hook(si->si_addr, is_write)) {
        errno = saved_errno;
        return;
    }
    errno = saved_errno;
    chain(sig, si, uctx);
}

int hm_os_linux_fault_handler(hm_os_site_t site, hm_os_fault_hook_t hook)
{
    (void)site;
    if (atomic_load_explicit(&installed, memory_order_acquire))
        return 0;
    int err = 0;
    pthread_mutex_lock(&install_lock);
    if (!atomic_load_explicit(&installed, memory_order_relaxed)) {
        atomic_store_explicit(&fault_hook, hook, memory_order_release);
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = segv_handler;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGSEGV, &sa, &prev_action) != 0)
            err = errno;
        else
            atomic_store_explicit(&installed, true, memory_order_release);
    }
    pthread_mutex_unlock(&install_lock);
    return err;
}

void hm_os_fault_handler_uninstall(void)
{
    pthread_mutex_lock(&install_lock);
    if (atomic_load_explicit(&installed, memory_order_relaxed)) {
        struct sigaction cur;
        if (sigaction(SIGSEGV, NULL, &cur) == 0 && (cur.sa_flags & SA_SIGINFO) &&
            cur.sa_sigaction == segv_handler)
            sigaction(SIGSEGV, &prev_action, NULL);
        atomic_store_explicit(&installed, false, memory_order_release);
    }
    pthread_mutex_unlock(&install_lock);
}

__attribute__((destructor)) static void fault_handler_at_unload(void)
{
    hm_os_fault_handler_uninstall();
}
