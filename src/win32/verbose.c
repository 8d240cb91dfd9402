/*
 * verbose.c — HOSTMEM_VERBOSE=1: every failed Win32 call logs one line to stderr, naming
 * the call, its address and size, the Win32 error and hostmem's reason:
 *   hostmem: VirtualFree(0x7f12a4560000, 0x1000) failed: error 87 (invalid parameter)
 * The variable is read once, at the first failure; the call context is thread-local and
 * set by HM_ENTER at each entry point. No locks (stdio's own).
 */
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "os/os.h"
#include "win32/win32.h"

_Thread_local hm_call_t hm_call;

static _Atomic int verbose = -1; /* -1: not read yet */

bool hm_verbose(void)
{
    int v = atomic_load_explicit(&verbose, memory_order_relaxed);
    if (v < 0) {
        const char *e = hm_os_getenv("HOSTMEM_VERBOSE");
        v = e && *e && strcmp(e, "0") != 0;
        atomic_store_explicit(&verbose, v, memory_order_relaxed);
    }
    return v;
}

void hm_log_failure(int status)
{
    const hm_call_t *c = &hm_call;
    fprintf(stderr, "hostmem: %s(%#lx, %#zx) failed: error %u (%s)\n", c->fn ? c->fn : "?",
            (unsigned long)c->addr, c->size, (unsigned)hm_status_win32(status),
            hm_status_text(status));
}
