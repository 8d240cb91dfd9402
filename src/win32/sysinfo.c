/*
 * sysinfo.c — GetSystemInfo, GetNativeSystemInfo, GetLargePageMinimum,
 * GlobalMemoryStatusEx, FlushInstructionCache, GetCurrentProcess: Windows x64 values,
 * filled from the CPU and /proc/meminfo. Stateless.
 */
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

#include "os/os.h"
#include "win32/win32.h"

#define CURRENT_PROCESS ((HANDLE)(intptr_t)-1)
#define TOTAL_VIRTUAL ((DWORDLONG)(HM_MAX_ADDR + 1 - HM_MIN_ADDR))

static void cpu_level(WORD *level, WORD *revision)
{
    *level = 6;
    *revision = 0;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        unsigned family = (a >> 8) & 0xF, model = (a >> 4) & 0xF, stepping = a & 0xF;
        if (family == 0xF)
            family += (a >> 20) & 0xFF;
        if (family == 6 || family >= 0xF)
            model |= ((a >> 16) & 0xF) << 4;
        *level = (WORD)family;
        *revision = (WORD)((model << 8) | stepping);
    }
#endif
}

void WINAPI GetSystemInfo(LPSYSTEM_INFO si)
{
    /* Windows would fault on a NULL or low pointer; hostmem never crashes its host over a
     * bad argument, and a void function has no error to give: nothing is written. */
    if ((uintptr_t)si < HM_MIN_ADDR)
        return;
    memset(si, 0, sizeof *si);
    si->wProcessorArchitecture = PROCESSOR_ARCHITECTURE_AMD64;
    si->dwPageSize = (DWORD)HM_PAGE_SIZE;
    si->lpMinimumApplicationAddress = (LPVOID)HM_MIN_ADDR;
    si->lpMaximumApplicationAddress = (LPVOID)HM_MAX_ADDR;
    si->dwActiveProcessorMask = (DWORD_PTR)hm_os_cpu_mask();
    si->dwNumberOfProcessors = hm_os_ncpus();
    si->dwProcessorType = PROCESSOR_AMD_X8664;
    si->dwAllocationGranularity = (DWORD)HM_GRANULE;
    cpu_level(&si->wProcessorLevel, &si->wProcessorRevision);
}

void WINAPI GetNativeSystemInfo(LPSYSTEM_INFO si)
{
    GetSystemInfo(si);
}

SIZE_T WINAPI GetLargePageMinimum(void)
{
    return 0x200000;
}

BOOL WINAPI GlobalMemoryStatusEx(LPMEMORYSTATUSEX ms)
{
    HM_ENTER("GlobalMemoryStatusEx", ms, 0);
    if ((uintptr_t)ms < HM_MIN_ADDR)
        return hm_fail(HM_E_NOACCESS);
    if (ms->dwLength != sizeof *ms)
        return hm_fail(HM_E_INVALID_PARAMETER);
    hm_vm_meminfo_t mi;
    if (hm_vm_read_meminfo(&mi) != 0)
        return hm_fail(HM_E_NO_MEMORY);
    hm_vm_stats_t st;
    hm_vm_get_stats(&st);
    uint64_t limit = hm_vm_commit_limit();
    ms->dwMemoryLoad = mi.total ? (DWORD)(100 - (mi.available * 100) / mi.total) : 0;
    ms->ullTotalPhys = mi.total;
    ms->ullAvailPhys = mi.available;
    ms->ullTotalPageFile = limit ? limit : mi.commit_limit;
    ms->ullAvailPageFile =
        ms->ullTotalPageFile > st.committed_bytes ? ms->ullTotalPageFile - st.committed_bytes : 0;
    ms->ullTotalVirtual = TOTAL_VIRTUAL;
    ms->ullAvailVirtual = TOTAL_VIRTUAL > st.reserved_bytes ? TOTAL_VIRTUAL - st.reserved_bytes : 0;
    ms->ullAvailExtendedVirtual = 0;
    return TRUE;
}

BOOL WINAPI FlushInstructionCache(HANDLE hProcess, LPCVOID lpBaseAddress, SIZE_T dwSize)
{
    HM_ENTER("FlushInstructionCache", lpBaseAddress, dwSize);
    if (hProcess != CURRENT_PROCESS)
        return hm_fail(HM_E_INVALID_HANDLE);
    if (lpBaseAddress && dwSize)
        hm_os_flush_icache((void *)lpBaseAddress, dwSize);
    return TRUE;
}

HANDLE WINAPI GetCurrentProcess(void)
{
    return CURRENT_PROCESS;
}
