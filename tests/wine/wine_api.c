/*
 * wine_api.c (tests/wine) — the memory functions mingw-w64's import libraries lack, looked up
 * in kernelbase.dll, then kernel32.dll, when first called. A system that does not export one
 * fails the calling case with the function's name (that is then a difference to list). The
 * caller's last error survives the look-up.
 */
#include "testlib.h" /* first: its memoryapi.h stand-in includes <windows.h> */

/* Keeps the caller's last error: the tests check that successful calls leave it alone. */
static FARPROC lookup(const char *name)
{
    static const char *const dlls[] = {"kernelbase.dll", "kernel32.dll"};
    DWORD saved = GetLastError();
    for (size_t i = 0; i < sizeof dlls / sizeof dlls[0]; i++) {
        HMODULE m = GetModuleHandleA(dlls[i]);
        FARPROC f = m != NULL ? GetProcAddress(m, name) : NULL;
        if (f != NULL) {
            SetLastError(saved);
            return f;
        }
    }
    ck_abort_msg("%s is not exported by kernelbase.dll or kernel32.dll", name);
    ExitProcess(1); /* even with HM_WINE_KEEP_GOING: there is nothing to call */
}

#define HM_LOOKUP(type, name) ((type)(void (*)(void))lookup(#name))

PVOID WINAPI hm_wine_VirtualAllocFromApp(PVOID base, SIZE_T size, ULONG type, ULONG prot)
{
    typedef PVOID(WINAPI * fn_t)(PVOID, SIZE_T, ULONG, ULONG);
    return HM_LOOKUP(fn_t, VirtualAllocFromApp)(base, size, type, prot);
}

BOOL WINAPI hm_wine_VirtualProtectFromApp(PVOID addr, SIZE_T size, ULONG prot, PULONG old)
{
    typedef BOOL(WINAPI * fn_t)(PVOID, SIZE_T, ULONG, PULONG);
    return HM_LOOKUP(fn_t, VirtualProtectFromApp)(addr, size, prot, old);
}

PVOID WINAPI hm_wine_VirtualAlloc2(HANDLE process, PVOID base, SIZE_T size, ULONG type, ULONG prot,
                                   MEM_EXTENDED_PARAMETER *params, ULONG count)
{
    typedef PVOID(WINAPI * fn_t)(HANDLE, PVOID, SIZE_T, ULONG, ULONG, MEM_EXTENDED_PARAMETER *,
                                 ULONG);
    return HM_LOOKUP(fn_t, VirtualAlloc2)(process, base, size, type, prot, params, count);
}

PVOID WINAPI hm_wine_VirtualAlloc2FromApp(HANDLE process, PVOID base, SIZE_T size, ULONG type,
                                          ULONG prot, MEM_EXTENDED_PARAMETER *params, ULONG count)
{
    typedef PVOID(WINAPI * fn_t)(HANDLE, PVOID, SIZE_T, ULONG, ULONG, MEM_EXTENDED_PARAMETER *,
                                 ULONG);
    return HM_LOOKUP(fn_t, VirtualAlloc2FromApp)(process, base, size, type, prot, params, count);
}
