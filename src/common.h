/*
 * common.h — what every layer shares: assertions, the hm status codes and their Win32
 * errors, and the page/granule constants.
 *
 * Status codes are the currency of src/vm/ (0 = HM_OK). One X-macro list names each code,
 * gives the Win32 error it becomes at the API boundary, and a message; hm_status_win32()
 * is generated from it, so the mapping lives in one place.
 */
#ifndef HM_COMMON_H
#define HM_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define HM_PAGE_SIZE ((size_t)4096)
#define HM_PAGE_SHIFT 12
#define HM_GRANULE ((size_t)65536)
/* Windows x64 user space: [0x10000, 0x7FFFFFFEFFFF]. */
#define HM_MIN_ADDR ((uintptr_t)0x10000)
#define HM_MAX_ADDR ((uintptr_t)0x7FFFFFFEFFFF)

#define HM_ALIGN_DOWN(x, a) ((x) & ~((uintptr_t)(a)-1))
#define HM_ALIGN_UP(x, a) (((x) + ((uintptr_t)(a)-1)) & ~((uintptr_t)(a)-1))

/*            name                   Win32 error  message */
#define HM_STATUS_LIST(X)                                                                 \
    X(HM_OK,                         0,    "success")                                     \
    X(HM_E_INVALID_PARAMETER,        87,   "invalid parameter")                           \
    X(HM_E_CONFLICTING_ADDRESSES,    487,  "range is not free")                           \
    X(HM_E_NOT_MAPPED,               487,  "range is not inside one reservation")         \
    X(HM_E_NOT_COMMITTED,            487,  "a page of the range is not committed")        \
    X(HM_E_NOT_AT_BASE,              487,  "address is not the allocation base")          \
    X(HM_E_NOT_ALLOCATED,            487,  "address is free")                             \
    X(HM_E_UNABLE_TO_FREE,           87,   "range crosses the end of the allocation")     \
    X(HM_E_NO_MEMORY,                8,    "out of memory or address space")              \
    X(HM_E_COMMITMENT_LIMIT,         1455, "commit limit reached")                        \
    X(HM_E_NOT_LOCKED,               158,  "a page of the range is not locked")           \
    X(HM_E_WORKING_SET_QUOTA,        1453, "locked-memory limit reached")                 \
    X(HM_E_NOACCESS,                 998,  "invalid pointer argument")                    \
    X(HM_E_GUARD_PAGE,               0x80000001u, "guard page hit (guard now cleared)")   \
    X(HM_E_ACCESS_DENIED,            5,    "access denied")                               \
    X(HM_E_BAD_LENGTH,               24,   "buffer too small")                            \
    X(HM_E_RESET_LOST,               487,  "reset pages were discarded")                  \
    X(HM_E_NOT_SUPPORTED,            50,   "not supported")                               \
    X(HM_E_INVALID_HANDLE,           6,    "not the current process")                     \
    X(HM_E_BUDGET,                   1455, "the owning runtime's budget is exhausted")    \
    X(HM_E_NOT_OWNER,                5,    "the reservation belongs to another runtime")    \
    X(HM_E_NOT_HOST,                 487,  "not memory the acting runtime's host gave out") \
    X(HM_E_RETRY,                    0,    "a reservation appeared meanwhile: ask again") \
    X(HM_E_PRIVILEGE,                1314, "no right to lock memory (SeLockMemoryPrivilege)") \
    X(HM_E_NO_SYSTEM_RESOURCES,      1450, "the huge-page pool or physical pages ran out")

typedef enum hm_status {
#define HM_X_ENUM(name, win32, msg) name,
    HM_STATUS_LIST(HM_X_ENUM)
#undef HM_X_ENUM
    HM_STATUS_COUNT
} hm_status_t;

uint32_t hm_status_win32(int status);
/* The message of a status ("invalid parameter"). */
const char *hm_status_text(int status);

/* Fatal: a rollback failed or an invariant broke. Prints context and aborts. */
_Noreturn void hm_panic(const char *what, uintptr_t addr, size_t size, int err);

#ifdef HOSTMEM_DEBUG_CHECKS
#define hm_assert(c) ((c) ? (void)0 : hm_panic("assertion failed: " #c, 0, 0, 0))
#else
#define hm_assert(c) ((void)0)
#endif

/* "Cannot happen, but must not corrupt state": asserts in debug, a plain test otherwise. */
#ifdef HOSTMEM_DEBUG_CHECKS
#define HM_NEVER(c) ((c) ? (hm_panic("HM_NEVER: " #c, 0, 0, 0), 1) : 0)
#else
#define HM_NEVER(c) (__builtin_expect(!!(c), 0))
#endif

#define HM_INTERNAL __attribute__((visibility("hidden")))

#endif /* HM_COMMON_H */
