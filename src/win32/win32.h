/*
 * win32.h — helpers shared by the Win32 entry points (src/win32/ only).
 */
#ifndef HM_WIN32_H
#define HM_WIN32_H

#include "common.h"
#include "hostmem/memoryapi.h"
#include "vm/vm.h"

/* The hm status behind the thread's last failed Win32 call (src/host/ maps it to an
 * HRESULT more precisely than the Win32 error allows). */
int hm_win32_last_status(void);
void hm_win32_set_last_status(int status);

/* The public call in progress on this thread: what HOSTMEM_VERBOSE=1 names when it logs a
 * failure. Every Win32 entry point starts with HM_ENTER(name, address, size). */
typedef struct hm_call {
    const char *fn;
    uintptr_t addr;
    size_t size;
} hm_call_t;
extern _Thread_local hm_call_t hm_call;
#define HM_ENTER(name, a, s) (hm_call = (hm_call_t){(name), (uintptr_t)(a), (size_t)(s)})

/* True if HOSTMEM_VERBOSE asks for failure logs (read once). */
bool hm_verbose(void);
/* Logs "hostmem: fn(addr, size) failed: error N (message)" to stderr. */
void hm_log_failure(int status);

/* Sets the last error for an hm status; returns FALSE/NULL/0 for the caller to return. */
static inline BOOL hm_fail(int status)
{
    hm_win32_set_last_status(status);
    SetLastError(hm_status_win32(status));
    if (__builtin_expect(hm_verbose(), 0))
        hm_log_failure(status);
    return FALSE;
}

/* VirtualQuery that also tells which account owns the region (NULL: the process, free
 * memory, or memory hostmem did not allocate). */
SIZE_T hm_win32_query(LPCVOID lpAddress, PMEMORY_BASIC_INFORMATION lpBuffer, SIZE_T dwLength,
                      hm_vm_account_t **owner);

/* The MEMORY_BASIC_INFORMATION Windows reports for region r. */
void hm_win32_mbi(const hm_vm_region_t *r, MEMORY_BASIC_INFORMATION *mbi);

/* Validates a PAGE_* value for private memory; HM_OK and *out, or HM_E_INVALID_PARAMETER. */
int hm_prot_from_win32(DWORD page, bool from_app, uint32_t *out);
/* PAGE_* value for hm_vm prot bits. */
DWORD hm_prot_to_win32(uint32_t prot);
/* True if the base protection is an execute one (the FromApp functions refuse them). */
bool hm_prot_is_executable(DWORD page);

/* VirtualAlloc's allocation-type rules (virtual_alloc.c), shared with VirtualAlloc2: HM_OK
 * or the status to fail with (HM_E_INVALID_PARAMETER goes before the protection check,
 * any other status after it). */
int hm_alloc_check_type(uintptr_t addr, SIZE_T size, DWORD type, DWORD protect);
/* VirtualAlloc once the arguments are valid: MEM_RESET(_UNDO), reserve (placed by limits
 * unless NULL; MEM_RESERVE_PLACEHOLDER makes a placeholder), or commit. NULL on failure,
 * with the last error set. */
LPVOID hm_alloc_checked(uintptr_t addr, SIZE_T size, DWORD type, uint32_t prot,
                        const hm_vm_limits_t *limits);

/* Page range touching [addr, addr+size): HM_OK, or HM_E_INVALID_PARAMETER if it wraps or
 * leaves user space. */
int hm_page_span(uintptr_t addr, SIZE_T size, uintptr_t *first, size_t *len);

#endif
