/*
 * common.c — the status → Win32 error and message tables (generated from HM_STATUS_LIST)
 * and hm_panic.
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

static const char *const status_text[] = {
#define HM_X_TEXT(name, win32, msg) msg,
    HM_STATUS_LIST(HM_X_TEXT)
#undef HM_X_TEXT
};

const char *hm_status_text(int status)
{
    return status < 0 || status >= HM_STATUS_COUNT ? "unknown status" : status_text[status];
}

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
