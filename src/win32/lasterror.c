/*
 * lasterror.c — the thread's last error (GetLastError/SetLastError) and the hm status
 * behind it. Thread-local; no locks. Successful hostmem calls never write either, as on
 * Windows.
 */
#include "hostmem/memoryapi.h"

#include "win32/win32.h"

static _Thread_local DWORD last_error;
static _Thread_local int last_status;

int hm_win32_last_status(void)
{
    return last_status;
}

void hm_win32_set_last_status(int status)
{
    last_status = status;
}

DWORD WINAPI GetLastError(void)
{
    return last_error;
}

void WINAPI SetLastError(DWORD dwErrCode)
{
    last_error = dwErrCode;
}
