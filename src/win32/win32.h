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

/* Sets the last error for an hm status; returns FALSE/NULL/0 for the caller to return. */
static inline BOOL hm_fail(int status)
{
    hm_win32_set_last_status(status);
    SetLastError(hm_status_win32(status));
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

/* Page range touching [addr, addr+size): HM_OK, or HM_E_INVALID_PARAMETER if it wraps or
 * leaves user space. */
int hm_page_span(uintptr_t addr, SIZE_T size, uintptr_t *first, size_t *len);

#endif
