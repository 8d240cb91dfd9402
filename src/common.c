/*
 * common.c — the status → Win32 error table (generated from HM_STATUS_LIST) and hm_panic.
 * No state, no locks.
 */
#include "common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint32_t status_win32[] = {
#define HM_X_ROW(name, win32, msg) (uint32_t)(win32),
    HM_STATUS_LIST(HM_X_ROW)
#undef HM_X_ROW
};

uint32_t hm_status_win32(int status)
{
    if (status < 0 || status >= HM_STATUS_COUNT)
        return 87;
    return status_win32[status];
}

_Noreturn void hm_panic(const char *what, uintptr_t addr, size_t size, int err)
{
    fprintf(stderr, "hostmem: fatal: %s (address %#lx, size %#zx, errno %d: %s)\n", what,
            (unsigned long)addr, size, err, err ? strerror(err) : "-");
    abort();
}
