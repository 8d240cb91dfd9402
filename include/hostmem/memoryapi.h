/*
 * hostmem/memoryapi.h — the Win32 virtual-memory API on Linux.
 *
 * Include this instead of <windows.h> in code that uses only the memory API. Types have
 * Windows' widths (LLP64: DWORD/ULONG/LONG are 32-bit even though Linux long is 64-bit),
 * constants have Windows' values, structures have Windows' x64 layout (pinned below by
 * static assertions), and every function has Windows' name, signature, rounding rules and
 * error codes (GetLastError()).
 *
 * Calling convention: the functions use the native (System V) ABI; WINAPI expands to
 * nothing, so Windows source that spells it compiles unchanged.
 */
#ifndef HOSTMEM_MEMORYAPI_H
#define HOSTMEM_MEMORYAPI_H

#include <stddef.h>
#include <stdint.h>

#include "hostmem/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Calling-convention and annotation macros (no-ops on Linux) ---------------------- */
#ifndef WINAPI
#define WINAPI
#endif
#ifndef APIENTRY
#define APIENTRY
#endif
#ifndef CALLBACK
#define CALLBACK
#endif
#ifndef VOID
#define VOID void
#endif
#ifndef CONST
#define CONST const
#endif

/* ---- Types (LLP64 widths) -------------------------------------------------------------- */
typedef int32_t BOOL;
typedef uint8_t BOOLEAN;
typedef uint8_t BYTE, UCHAR;
typedef uint16_t WORD, USHORT, WCHAR;
typedef uint32_t DWORD, ULONG, UINT;
typedef int32_t LONG, INT;
typedef int32_t NTSTATUS;
typedef uint64_t DWORD64, ULONG64, ULONGLONG, DWORDLONG;
typedef int64_t LONGLONG;
typedef size_t SIZE_T;
typedef uintptr_t ULONG_PTR, DWORD_PTR, KAFFINITY;
typedef intptr_t SSIZE_T, LONG_PTR;
typedef void *PVOID, *LPVOID, *HANDLE;
typedef const void *LPCVOID;
typedef DWORD *PDWORD, *LPDWORD;
typedef ULONG *PULONG;
typedef SIZE_T *PSIZE_T;
typedef ULONG_PTR *PULONG_PTR;
typedef BOOL *PBOOL, *LPBOOL;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

/* ---- Allocation and free types, region states and types -------------------------------- */
#define MEM_COALESCE_PLACEHOLDERS 0x00000001u
#define MEM_PRESERVE_PLACEHOLDER 0x00000002u
#define MEM_COMMIT 0x00001000u
#define MEM_RESERVE 0x00002000u
#define MEM_DECOMMIT 0x00004000u
#define MEM_REPLACE_PLACEHOLDER 0x00004000u
#define MEM_RELEASE 0x00008000u
#define MEM_FREE 0x00010000u
#define MEM_PRIVATE 0x00020000u
#define MEM_MAPPED 0x00040000u
#define MEM_RESERVE_PLACEHOLDER 0x00040000u
#define MEM_RESET 0x00080000u
#define MEM_TOP_DOWN 0x00100000u
#define MEM_WRITE_WATCH 0x00200000u
#define MEM_PHYSICAL 0x00400000u
#define MEM_ROTATE 0x00800000u
#define MEM_DIFFERENT_IMAGE_BASE_OK 0x00800000u
#define MEM_RESET_UNDO 0x01000000u
#define MEM_IMAGE 0x01000000u
#define MEM_LARGE_PAGES 0x20000000u
#define MEM_4MB_PAGES 0x80000000u
#define MEM_64K_PAGES (MEM_LARGE_PAGES | MEM_PHYSICAL)
#define WRITE_WATCH_FLAG_RESET 0x01u

/* ---- Page protections ------------------------------------------------------------------ */
#define PAGE_NOACCESS 0x01u
#define PAGE_READONLY 0x02u
#define PAGE_READWRITE 0x04u
#define PAGE_WRITECOPY 0x08u
#define PAGE_EXECUTE 0x10u
#define PAGE_EXECUTE_READ 0x20u
#define PAGE_EXECUTE_READWRITE 0x40u
#define PAGE_EXECUTE_WRITECOPY 0x80u
#define PAGE_GUARD 0x100u
#define PAGE_NOCACHE 0x200u
#define PAGE_WRITECOMBINE 0x400u
#define PAGE_GRAPHICS_NOACCESS 0x0800u
#define PAGE_GRAPHICS_READONLY 0x1000u
#define PAGE_GRAPHICS_READWRITE 0x2000u
#define PAGE_GRAPHICS_EXECUTE 0x4000u
#define PAGE_GRAPHICS_EXECUTE_READ 0x8000u
#define PAGE_GRAPHICS_EXECUTE_READWRITE 0x10000u
#define PAGE_GRAPHICS_COHERENT 0x20000u
#define PAGE_ENCLAVE_DECOMMIT 0x10000000u
#define PAGE_ENCLAVE_UNVALIDATED 0x20000000u
#define PAGE_TARGETS_INVALID 0x40000000u
#define PAGE_TARGETS_NO_UPDATE 0x40000000u
#define PAGE_ENCLAVE_THREAD_CONTROL 0x80000000u
#define PAGE_REVERT_TO_FILE_MAP 0x80000000u

/* ---- Processor values for SYSTEM_INFO -------------------------------------------------- */
#define PROCESSOR_ARCHITECTURE_INTEL 0
#define PROCESSOR_ARCHITECTURE_ARM 5
#define PROCESSOR_ARCHITECTURE_IA64 6
#define PROCESSOR_ARCHITECTURE_AMD64 9
#define PROCESSOR_ARCHITECTURE_ARM64 12
#define PROCESSOR_ARCHITECTURE_UNKNOWN 0xFFFF
#define PROCESSOR_INTEL_PENTIUM 586
#define PROCESSOR_AMD_X8664 8664

/* ---- Win32 error codes (GetLastError) -------------------------------------------------- */
#define ERROR_SUCCESS 0L
#define NO_ERROR 0L
#define ERROR_INVALID_FUNCTION 1L
#define ERROR_ACCESS_DENIED 5L
#define ERROR_INVALID_HANDLE 6L
#define ERROR_NOT_ENOUGH_MEMORY 8L
#define ERROR_INVALID_BLOCK 9L
#define ERROR_INVALID_ACCESS 12L
#define ERROR_INVALID_DATA 13L
#define ERROR_OUTOFMEMORY 14L
#define ERROR_BAD_LENGTH 24L
#define ERROR_LOCK_VIOLATION 33L
#define ERROR_NOT_SUPPORTED 50L
#define ERROR_INVALID_PARAMETER 87L
#define ERROR_CALL_NOT_IMPLEMENTED 120L
#define ERROR_INSUFFICIENT_BUFFER 122L
#define ERROR_PROC_NOT_FOUND 127L
#define ERROR_NOT_LOCKED 158L
#define ERROR_BUSY 170L
#define ERROR_ALREADY_EXISTS 183L
#define ERROR_MORE_DATA 234L
#define ERROR_PARTIAL_COPY 299L
#define ERROR_INVALID_ADDRESS 487L
#define ERROR_ARITHMETIC_OVERFLOW 534L
#define ERROR_COMMITMENT_MINIMUM 635L
#define ERROR_NOACCESS 998L
#define ERROR_STACK_OVERFLOW 1001L
#define ERROR_INVALID_FLAGS 1004L
#define ERROR_PRIVILEGE_NOT_HELD 1314L
#define ERROR_NO_SYSTEM_RESOURCES 1450L
#define ERROR_NONPAGED_SYSTEM_RESOURCES 1451L
#define ERROR_PAGED_SYSTEM_RESOURCES 1452L
#define ERROR_WORKING_SET_QUOTA 1453L
#define ERROR_PAGEFILE_QUOTA 1454L
#define ERROR_COMMITMENT_LIMIT 1455L
#define ERROR_INVALID_FIELD 1616L
#define ERROR_INVALID_USER_BUFFER 1784L
#define ERROR_INVALID_OPERATION 4317L

/* ---- NTSTATUS / exception codes the memory API surfaces ---------------------------------- */
#define STATUS_SUCCESS ((NTSTATUS)0x00000000L)
#define STATUS_GUARD_PAGE_VIOLATION ((NTSTATUS)0x80000001L)
#define EXCEPTION_GUARD_PAGE STATUS_GUARD_PAGE_VIOLATION
#define STATUS_ACCESS_VIOLATION ((NTSTATUS)0xC0000005L)
#define EXCEPTION_ACCESS_VIOLATION STATUS_ACCESS_VIOLATION

/* ---- Structures (x64 layout) ------------------------------------------------------------- */
typedef struct _MEMORY_BASIC_INFORMATION {
    PVOID BaseAddress;
    PVOID AllocationBase;
    DWORD AllocationProtect;
    WORD PartitionId;
    SIZE_T RegionSize;
    DWORD State;
    DWORD Protect;
    DWORD Type;
} MEMORY_BASIC_INFORMATION, *PMEMORY_BASIC_INFORMATION;

typedef struct _SYSTEM_INFO {
    union {
        DWORD dwOemId;
        struct {
            WORD wProcessorArchitecture;
            WORD wReserved;
        };
    };
    DWORD dwPageSize;
    LPVOID lpMinimumApplicationAddress;
    LPVOID lpMaximumApplicationAddress;
    DWORD_PTR dwActiveProcessorMask;
    DWORD dwNumberOfProcessors;
    DWORD dwProcessorType;
    DWORD dwAllocationGranularity;
    WORD wProcessorLevel;
    WORD wProcessorRevision;
} SYSTEM_INFO, *LPSYSTEM_INFO;

typedef struct _MEMORYSTATUSEX {
    DWORD dwLength;
    DWORD dwMemoryLoad;
    DWORDLONG ullTotalPhys;
    DWORDLONG ullAvailPhys;
    DWORDLONG ullTotalPageFile;
    DWORDLONG ullAvailPageFile;
    DWORDLONG ullTotalVirtual;
    DWORDLONG ullAvailVirtual;
    DWORDLONG ullAvailExtendedVirtual;
} MEMORYSTATUSEX, *LPMEMORYSTATUSEX;


/* ---- VirtualAlloc2 extended parameters ---------------------------------------------------- */
typedef enum MEM_EXTENDED_PARAMETER_TYPE {
    MemExtendedParameterInvalidType = 0,
    MemExtendedParameterAddressRequirements = 1,
    MemExtendedParameterNumaNode = 2,
    MemExtendedParameterPartitionHandle = 3,
    MemExtendedParameterUserPhysicalHandle = 4,
    MemExtendedParameterAttributeFlags = 5,
    MemExtendedParameterMax = 6
} MEM_EXTENDED_PARAMETER_TYPE, *PMEM_EXTENDED_PARAMETER_TYPE;

#define MEM_EXTENDED_PARAMETER_TYPE_BITS 8
#define MEM_EXTENDED_PARAMETER_GRAPHICS 0x01u
#define MEM_EXTENDED_PARAMETER_NONPAGED 0x02u
#define MEM_EXTENDED_PARAMETER_ZERO_PAGES_OPTIONAL 0x04u
#define MEM_EXTENDED_PARAMETER_NONPAGED_LARGE 0x08u
#define MEM_EXTENDED_PARAMETER_NONPAGED_HUGE 0x10u

typedef struct _MEM_ADDRESS_REQUIREMENTS {
    PVOID LowestStartingAddress;
    PVOID HighestEndingAddress; /* inclusive last byte; NULL = no bound */
    SIZE_T Alignment;           /* power of two >= 64 KiB; 0 = 64 KiB */
} MEM_ADDRESS_REQUIREMENTS, *PMEM_ADDRESS_REQUIREMENTS;

typedef struct __attribute__((aligned(8))) MEM_EXTENDED_PARAMETER {
    struct {
        DWORD64 Type : MEM_EXTENDED_PARAMETER_TYPE_BITS;
        DWORD64 Reserved : 64 - MEM_EXTENDED_PARAMETER_TYPE_BITS;
    };
    union {
        DWORD64 ULong64;
        PVOID Pointer;
        SIZE_T Size;
        HANDLE Handle;
        DWORD ULong;
    };
} MEM_EXTENDED_PARAMETER, *PMEM_EXTENDED_PARAMETER;

#if !defined(__cplusplus)
_Static_assert(sizeof(DWORD) == 4 && sizeof(BOOL) == 4 && sizeof(WORD) == 2, "LLP64 widths");
_Static_assert(sizeof(MEMORY_BASIC_INFORMATION) == 48, "MEMORY_BASIC_INFORMATION is 48 bytes");
_Static_assert(offsetof(MEMORY_BASIC_INFORMATION, AllocationBase) == 8, "MBI layout");
_Static_assert(offsetof(MEMORY_BASIC_INFORMATION, AllocationProtect) == 16, "MBI layout");
_Static_assert(offsetof(MEMORY_BASIC_INFORMATION, PartitionId) == 20, "MBI layout");
_Static_assert(offsetof(MEMORY_BASIC_INFORMATION, RegionSize) == 24, "MBI layout");
_Static_assert(offsetof(MEMORY_BASIC_INFORMATION, State) == 32, "MBI layout");
_Static_assert(offsetof(MEMORY_BASIC_INFORMATION, Protect) == 36, "MBI layout");
_Static_assert(offsetof(MEMORY_BASIC_INFORMATION, Type) == 40, "MBI layout");
_Static_assert(sizeof(SYSTEM_INFO) == 48, "SYSTEM_INFO is 48 bytes");
_Static_assert(offsetof(SYSTEM_INFO, dwPageSize) == 4, "SYSTEM_INFO layout");
_Static_assert(offsetof(SYSTEM_INFO, lpMinimumApplicationAddress) == 8, "SYSTEM_INFO layout");
_Static_assert(offsetof(SYSTEM_INFO, dwActiveProcessorMask) == 24, "SYSTEM_INFO layout");
_Static_assert(offsetof(SYSTEM_INFO, dwNumberOfProcessors) == 32, "SYSTEM_INFO layout");
_Static_assert(offsetof(SYSTEM_INFO, dwAllocationGranularity) == 40, "SYSTEM_INFO layout");
_Static_assert(offsetof(SYSTEM_INFO, wProcessorRevision) == 46, "SYSTEM_INFO layout");
_Static_assert(sizeof(MEMORYSTATUSEX) == 64, "MEMORYSTATUSEX is 64 bytes");
_Static_assert(offsetof(MEMORYSTATUSEX, ullTotalPhys) == 8, "MEMORYSTATUSEX layout");
_Static_assert(offsetof(MEMORYSTATUSEX, ullAvailExtendedVirtual) == 56, "MEMORYSTATUSEX layout");
_Static_assert(sizeof(MEM_EXTENDED_PARAMETER) == 16, "MEM_EXTENDED_PARAMETER is 16 bytes");
_Static_assert(offsetof(MEM_EXTENDED_PARAMETER, ULong64) == 8, "MEM_EXTENDED_PARAMETER layout");
_Static_assert(sizeof(MEM_ADDRESS_REQUIREMENTS) == 24, "MEM_ADDRESS_REQUIREMENTS is 24 bytes");
_Static_assert(offsetof(MEM_ADDRESS_REQUIREMENTS, Alignment) == 16, "MEM_ADDRESS_REQUIREMENTS layout");
#endif

/* ---- Functions ---------------------------------------------------------------------------- */
HM_API LPVOID WINAPI VirtualAlloc(LPVOID lpAddress, SIZE_T dwSize, DWORD flAllocationType,
                                  DWORD flProtect);
HM_API PVOID WINAPI VirtualAllocFromApp(PVOID BaseAddress, SIZE_T Size, ULONG AllocationType,
                                        ULONG Protection);
HM_API BOOL WINAPI VirtualFree(LPVOID lpAddress, SIZE_T dwSize, DWORD dwFreeType);
HM_API SIZE_T WINAPI VirtualQuery(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer,
                                  SIZE_T dwLength);
HM_API BOOL WINAPI VirtualProtect(LPVOID lpAddress, SIZE_T dwSize, DWORD flNewProtect,
                                  PDWORD lpflOldProtect);
HM_API BOOL WINAPI VirtualProtectFromApp(PVOID lpAddress, SIZE_T dwSize, ULONG flNewProtect,
                                         PULONG lpflOldProtect);
HM_API BOOL WINAPI VirtualLock(LPVOID lpAddress, SIZE_T dwSize);
HM_API BOOL WINAPI VirtualUnlock(LPVOID lpAddress, SIZE_T dwSize);
HM_API PVOID WINAPI VirtualAlloc2(HANDLE Process, PVOID BaseAddress, SIZE_T Size,
                                  ULONG AllocationType, ULONG PageProtection,
                                  MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                  ULONG ParameterCount);
HM_API PVOID WINAPI VirtualAlloc2FromApp(HANDLE Process, PVOID BaseAddress, SIZE_T Size,
                                         ULONG AllocationType, ULONG PageProtection,
                                         MEM_EXTENDED_PARAMETER *ExtendedParameters,
                                         ULONG ParameterCount);
HM_API UINT WINAPI GetWriteWatch(DWORD dwFlags, PVOID lpBaseAddress, SIZE_T dwRegionSize,
                                 PVOID *lpAddresses, ULONG_PTR *lpdwCount,
                                 LPDWORD lpdwGranularity);
HM_API UINT WINAPI ResetWriteWatch(LPVOID lpBaseAddress, SIZE_T dwRegionSize);
HM_API BOOL WINAPI AllocateUserPhysicalPages(HANDLE hProcess, PULONG_PTR NumberOfPages,
                                             PULONG_PTR PageArray);
HM_API BOOL WINAPI FreeUserPhysicalPages(HANDLE hProcess, PULONG_PTR NumberOfPages,
                                         PULONG_PTR PageArray);
HM_API BOOL WINAPI MapUserPhysicalPages(PVOID VirtualAddress, ULONG_PTR NumberOfPages,
                                        PULONG_PTR PageArray);
HM_API BOOL WINAPI MapUserPhysicalPagesScatter(PVOID *VirtualAddresses, ULONG_PTR NumberOfPages,
                                               PULONG_PTR PageArray);
HM_API void WINAPI GetSystemInfo(LPSYSTEM_INFO lpSystemInfo);
HM_API void WINAPI GetNativeSystemInfo(LPSYSTEM_INFO lpSystemInfo);
HM_API SIZE_T WINAPI GetLargePageMinimum(void);
HM_API BOOL WINAPI GlobalMemoryStatusEx(LPMEMORYSTATUSEX lpBuffer);
HM_API BOOL WINAPI FlushInstructionCache(HANDLE hProcess, LPCVOID lpBaseAddress, SIZE_T dwSize);
HM_API HANDLE WINAPI GetCurrentProcess(void);
HM_API DWORD WINAPI GetLastError(void);
HM_API void WINAPI SetLastError(DWORD dwErrCode);

#ifdef __cplusplus
}
#endif

#endif /* HOSTMEM_MEMORYAPI_H */
