/*
 * lasterror.c — the thread's last error (GetLastError/SetLastError). Thread-local; no
 * locks. Successful hostmem calls never write it, as on Windows.
 */
#include "hostmem/memoryapi.h"

static _Thread_local DWORD last_error;

DWORD WINAPI GetLastError(void)
{
    return last_error;
}

void WINAPI SetLastError(DWORD dwErrCode)
{
    last_error = dwErrCode;
}
