/*
 * hostmem/hosting.h — the CLR hosting memory interfaces as C vtables, binary-compatible with
 * mscoree.h's layout (first member = vtable pointer, IUnknown in slots 0..2, methods in
 * Windows' slot order), and hostmem's host API (hm_host_*, hm_runtime_*) that creates the
 * objects: one host, several runtimes, each with its own IHostMemoryManager and budget.
 *
 * A runtime calls  mgr->lpVtbl->VirtualAlloc(mgr, NULL, size, MEM_COMMIT, PAGE_READWRITE,
 * eTaskCritical, &p)  exactly as it would on Windows.
 */
#ifndef HOSTMEM_HOSTING_H
#define HOSTMEM_HOSTING_H

#include "hostmem/memoryapi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- COM basics -------------------------------------------------------------------------- */
typedef int32_t HRESULT;

typedef struct _GUID {
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID, IID;
typedef const IID *REFIID;

#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#define FAILED(hr) (((HRESULT)(hr)) < 0)

#define S_OK ((HRESULT)0x00000000)
#define S_FALSE ((HRESULT)0x00000001)
#define E_NOTIMPL ((HRESULT)0x80004001)
#define E_NOINTERFACE ((HRESULT)0x80004002)
#define E_POINTER ((HRESULT)0x80004003)
#define E_ABORT ((HRESULT)0x80004004)
#define E_FAIL ((HRESULT)0x80004005)
#define E_UNEXPECTED ((HRESULT)0x8000FFFF)
#define E_ACCESSDENIED ((HRESULT)0x80070005)
#define E_HANDLE ((HRESULT)0x80070006)
#define E_OUTOFMEMORY ((HRESULT)0x8007000E)
#define E_INVALIDARG ((HRESULT)0x80070057)
#define HOST_E_DEADLOCK ((HRESULT)0x80131020)
#define HOST_E_INTERRUPTED ((HRESULT)0x80131021)
#define HOST_E_INVALIDOPERATION ((HRESULT)0x80131022)
#define HOST_E_CLRNOTAVAILABLE ((HRESULT)0x80131023)
#define HOST_E_TIMEOUT ((HRESULT)0x80131024)
#define HOST_E_NOT_OWNER ((HRESULT)0x80131025)
#define HOST_E_ABANDONED ((HRESULT)0x80131026)
#define HOST_E_EXITPROCESS_THREADABORT ((HRESULT)0x80131027)
#define HOST_E_EXITPROCESS_ADUNLOAD ((HRESULT)0x80131028)
#define HOST_E_EXITPROCESS_TIMEOUT ((HRESULT)0x80131029)
#define HOST_E_EXITPROCESS_OUTOFMEMORY ((HRESULT)0x8013102A)
#define HOST_E_EXITPROCESS_STACKOVERFLOW ((HRESULT)0x8013102B)

/* ---- Enumerations -------------------------------------------------------------------------- */
typedef enum {
    eTaskCritical = 0,
    eAppDomainCritical = 1,
    eProcessCritical = 2,
} EMemoryCriticalLevel;

typedef enum {
    eMemoryAvailableLow = 1,
    eMemoryAvailableNeutral = 2,
    eMemoryAvailableHigh = 3,
} EMemoryAvailable;

typedef enum {
    MALLOC_THREADSAFE = 0x1,
    MALLOC_EXECUTABLE = 0x2,
} MALLOC_TYPE;

/* ---- Interface identifiers ------------------------------------------------------------------ */
HM_API extern const IID IID_IUnknown;
HM_API extern const IID IID_IHostMemoryManager;
HM_API extern const IID IID_IHostMalloc;
HM_API extern const IID IID_ICLRMemoryNotificationCallback;

/* ---- Interfaces ------------------------------------------------------------------------------ */
typedef struct IUnknown IUnknown;
typedef struct IHostMalloc IHostMalloc;
typedef struct IHostMemoryManager IHostMemoryManager;
typedef struct ICLRMemoryNotificationCallback ICLRMemoryNotificationCallback;

typedef struct IUnknownVtbl {
    HRESULT (*QueryInterface)(IUnknown *This, REFIID riid, void **ppvObject);
    ULONG (*AddRef)(IUnknown *This);
    ULONG (*Release)(IUnknown *This);
} IUnknownVtbl;
struct IUnknown {
    const IUnknownVtbl *lpVtbl;
};

typedef struct IHostMallocVtbl {
    HRESULT (*QueryInterface)(IHostMalloc *This, REFIID riid, void **ppvObject);
    ULONG (*AddRef)(IHostMalloc *This);
    ULONG (*Release)(IHostMalloc *This);
    HRESULT (*Alloc)(IHostMalloc *This, SIZE_T cbSize, EMemoryCriticalLevel eCriticalLevel,
                     void **ppMem);
    HRESULT (*DebugAlloc)(IHostMalloc *This, SIZE_T cbSize, EMemoryCriticalLevel eCriticalLevel,
                          char *pszFileName, int iLineNo, void **ppMem);
    HRESULT (*Free)(IHostMalloc *This, void *pMem);
} IHostMallocVtbl;
struct IHostMalloc {
    const IHostMallocVtbl *lpVtbl;
};

typedef struct ICLRMemoryNotificationCallbackVtbl {
    HRESULT (*QueryInterface)(ICLRMemoryNotificationCallback *This, REFIID riid, void **ppvObject);
    ULONG (*AddRef)(ICLRMemoryNotificationCallback *This);
    ULONG (*Release)(ICLRMemoryNotificationCallback *This);
    HRESULT (*OnMemoryNotification)(ICLRMemoryNotificationCallback *This,
                                    EMemoryAvailable eMemoryAvailable);
} ICLRMemoryNotificationCallbackVtbl;
struct ICLRMemoryNotificationCallback {
    const ICLRMemoryNotificationCallbackVtbl *lpVtbl;
};

typedef struct IHostMemoryManagerVtbl {
    HRESULT (*QueryInterface)(IHostMemoryManager *This, REFIID riid, void **ppvObject);
    ULONG (*AddRef)(IHostMemoryManager *This);
    ULONG (*Release)(IHostMemoryManager *This);
    HRESULT (*CreateMalloc)(IHostMemoryManager *This, DWORD dwMallocType, IHostMalloc **ppMalloc);
    HRESULT (*VirtualAlloc)(IHostMemoryManager *This, void *pAddress, SIZE_T dwSize,
                            DWORD flAllocationType, DWORD flProtect,
                            EMemoryCriticalLevel eCriticalLevel, void **ppMem);
    HRESULT (*VirtualFree)(IHostMemoryManager *This, LPVOID lpAddress, SIZE_T dwSize,
                           DWORD dwFreeType);
    HRESULT (*VirtualQuery)(IHostMemoryManager *This, void *lpAddress, void *lpBuffer,
                            SIZE_T dwLength, SIZE_T *pResult);
    HRESULT (*VirtualProtect)(IHostMemoryManager *This, void *lpAddress, SIZE_T dwSize,
                              DWORD flNewProtect, DWORD *pflOldProtect);
    HRESULT (*GetMemoryLoad)(IHostMemoryManager *This, DWORD *pMemoryLoad,
                             SIZE_T *pAvailableBytes);
    HRESULT (*RegisterMemoryNotificationCallback)(IHostMemoryManager *This,
                                                  ICLRMemoryNotificationCallback *pCallback);
    HRESULT (*NeedsVirtualAddressSpace)(IHostMemoryManager *This, LPVOID startAddress,
                                        SIZE_T size);
    HRESULT (*AcquiredVirtualAddressSpace)(IHostMemoryManager *This, LPVOID startAddress,
                                           SIZE_T size);
    HRESULT (*ReleasedVirtualAddressSpace)(IHostMemoryManager *This, LPVOID startAddress);
} IHostMemoryManagerVtbl;
struct IHostMemoryManager {
    const IHostMemoryManagerVtbl *lpVtbl;
};

#ifdef __cplusplus
}
#endif

#endif /* HOSTMEM_HOSTING_H */
