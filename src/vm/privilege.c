/*
 * privilege.c — Windows' SeLockMemoryPrivilege on Linux: the right to lock memory.
 *
 * AWE pages and large pages are memory the process keeps resident, so the calls that
 * create them need what Linux asks of mlock: CAP_IPC_LOCK in the effective set, or an
 * RLIMIT_MEMLOCK that covers the memory already locked (VmLck), the large and AWE pages
 * hostmem already holds, and the request. The right is read again at every call (a
 * process may drop it at any time). Invariant: `held` == bytes of live large-page
 * reservations + allocated AWE pages. Atomics only; no locks.
 */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "vm/internal.h"
#include "vm/phys.h"

static _Atomic uint64_t held;

void hm_lock_right_hold(int64_t delta)
{
    atomic_fetch_add_explicit(&held, (uint64_t)delta, memory_order_relaxed);
}

/* VmLck of /proc/self/status in bytes; false if it cannot be read. */
static bool locked_now(uint64_t *out)
{
    char *buf;
    size_t len;
    if (hm_os.read_file(HM_SITE_PRIV_VMLCK, "/proc/self/status", &buf, &len) != 0)
        return false;
    const char *p = strstr(buf, "VmLck:");
    if (p)
        *out = strtoull(p + 6, NULL, 10) * 1024;
    free(buf);
    return p != NULL;
}

int hm_lock_right_check(uint64_t bytes)
{
    hm_os_lock_right_t right;
    if (hm_os.lock_right(HM_SITE_PRIV_CAPS, &right) != 0)
        return HM_E_PRIVILEGE;
    if (right.cap_ipc_lock || right.memlock_max == UINT64_MAX)
        return HM_OK;
    uint64_t now, have = atomic_load_explicit(&held, memory_order_relaxed);
    if (!locked_now(&now))
        return HM_E_PRIVILEGE;
    if (bytes > right.memlock_max || have > right.memlock_max - bytes ||
        now > right.memlock_max - bytes - have)
        return HM_E_PRIVILEGE;
    return HM_OK;
}
