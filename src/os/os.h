/*
 * os.h — the contract between hostmem and Linux. src/os/ is the only code that makes memory
 * system calls (mmap, munmap, mprotect, madvise, mlock, /proc reads, sigaction).
 *
 * Every fallible call goes through the live table `hm_os`, and names the call site it is
 * made from (HM_OS_SITE_LIST). Tests replace one slot of the table with a fake that fails
 * for a chosen site, then restore `hm_os = hm_os_default`. The site list is the inventory
 * of every place above src/os/ that calls the OS: the fault-injection suite walks it.
 *
 * Conventions (as mimalloc's prim.h): addresses and lengths are page-aligned and non-zero,
 * out-pointers are non-NULL, and each call returns 0 or a positive errno. Nothing here
 * touches the Win32 last error. Nothing above src/os/ includes <sys/mman.h>.
 *
 * Locking: none inside; the table itself is written only by tests while single-threaded.
 */
#ifndef HM_OS_H
#define HM_OS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The sites, in groups (one per feature). Each group is a list of
 *          site                 os call     what the call does there */
#define HM_OS_SITE_LIST(X) \
    HM_OS_SITES_CORE(X) HM_OS_SITES_WATCH(X) HM_OS_SITES_PLACE(X) HM_OS_SITES_PHYS(X)

#define HM_OS_SITES_CORE(X)                                                                 \
    X(RESERVE_MAP,        map,       "reserve: map the range (PROT_NONE, or committed)")    \
    X(RESERVE_TRIM,       unmap,     "reserve: trim an over-reservation to 64 KiB")         \
    X(RESERVE_RECORD,     alloc,     "reserve: grow the pool of reservation records")       \
    X(RESERVE_INDEX,      alloc,     "reserve: allocate an address-index node")             \
    X(RESERVE_UNDO,       unmap,     "reserve: unmap again after a later step failed")      \
    X(TOPDOWN_MAPS,       read_file, "top-down reserve: read /proc/self/maps")              \
    X(RUNS_GROW,          alloc,     "grow a reservation's run list")                       \
    X(COMMIT_PROTECT,     protect,   "commit: mprotect to the new protection")              \
    X(DECOMMIT_MAP,       map,       "decommit: replace pages with fresh PROT_NONE pages")  \
    X(RELEASE_UNMAP,      unmap,     "release: unmap the reservation")                      \
    X(PROTECT_PROTECT,    protect,   "VirtualProtect: mprotect to the new protection")      \
    X(RESET_ADVISE,       advise,    "MEM_RESET: madvise(MADV_FREE)")                       \
    X(UNDO_PAGEMAP,       pagemap,   "MEM_RESET_UNDO: read /proc/self/pagemap")             \
    X(UNDO_UNPROTECT,     protect,   "MEM_RESET_UNDO: make a read-only run writable")       \
    X(UNDO_REPROTECT,     protect,   "MEM_RESET_UNDO: restore the run's protection")        \
    X(LOCK_MLOCK,         lock,      "VirtualLock: mlock")                                  \
    X(UNLOCK_MUNLOCK,     unlock,    "VirtualUnlock: munlock")                              \
    X(GUARD_HANDLER,      fault_handler, "install the SIGSEGV handler for guard pages")     \
    X(GUARD_CLEAR,        protect,   "guard fault: restore the page's base protection")     \
    X(GUARD_RUNS,         map,       "guard fault: grow a run list signal-safely")          \
    X(FOREIGN_MAPS,       read_file, "kernel view: read /proc/self/maps")                   \
    X(FOREIGN_PROTECT,    protect,   "VirtualProtect on memory hostmem did not allocate")   \
    X(FOREIGN_LOCK,       lock,      "VirtualLock on memory hostmem did not allocate")      \
    X(FOREIGN_UNLOCK,     unlock,    "VirtualUnlock on memory hostmem did not allocate")    \
    X(FOREIGN_SMAPS,      read_file, "VirtualUnlock: read /proc/self/smaps for lock state") \
    X(MEMINFO_READ,       read_file, "read /proc/meminfo")                                  \
    X(HOST_LOAD_READ,     read_file, "GetMemoryLoad: read cgroup v2 / meminfo files")    \
    X(KERNEL_VIEW_SMAPS,  read_file, "hm_walk_regions of a process: read /proc/PID/smaps")

/* Write watch (src/watch/, src/os/linux_watch.c). */
#define HM_OS_SITES_WATCH(X)

/* Placeholders and address requirements (src/vm/placeholder.c, placement.c). */
#define HM_OS_SITES_PLACE(X)

/* Large pages and AWE physical pages (src/vm/large.c, src/vm/physical.c,
 * src/os/linux_phys.c). */
#define HM_OS_SITES_PHYS(X)

typedef enum hm_os_site {
#define HM_X_SITE(site, call, what) HM_SITE_##site,
    HM_OS_SITE_LIST(HM_X_SITE)
#undef HM_X_SITE
    HM_SITE_COUNT
} hm_os_site_t;

/* Protection bits for map/protect (same bits as the vm layer's R/W/X). */
enum { HM_OS_R = 1, HM_OS_W = 2, HM_OS_X = 4 };

/* How map places the range. */
typedef enum hm_os_map_mode {
    HM_OS_MAP_ANYWHERE = 0, /* addr is a hint (or NULL) */
    HM_OS_MAP_NOREPLACE,    /* exactly at addr; EEXIST if anything is mapped there */
    HM_OS_MAP_REPLACE,      /* exactly at addr, replacing what is there (decommit) */
} hm_os_map_mode_t;

typedef enum hm_os_advice { HM_OS_ADV_FREE = 0, HM_OS_ADV_DONTNEED } hm_os_advice_t;

/* Fault hook: called from the SIGSEGV handler with the faulting address. Returns true if
 * hostmem handled the fault (the access is retried), false to pass it on to the handler
 * installed before ours (or the default action). Must be async-signal-safe. */
typedef bool (*hm_os_fault_hook_t)(void *addr, bool is_write);

typedef struct hm_os_ops {
    int (*map)(hm_os_site_t site, void *addr, size_t len, unsigned prot, hm_os_map_mode_t mode,
               void **out);
    int (*unmap)(hm_os_site_t site, void *addr, size_t len);
    int (*protect)(hm_os_site_t site, void *addr, size_t len, unsigned prot);
    int (*advise)(hm_os_site_t site, void *addr, size_t len, hm_os_advice_t advice);
    int (*lock)(hm_os_site_t site, void *addr, size_t len);
    int (*unlock)(hm_os_site_t site, void *addr, size_t len);
    /* Reads npages 64-bit /proc/self/pagemap entries starting at page-aligned addr. */
    int (*pagemap)(hm_os_site_t site, uintptr_t addr, size_t npages, uint64_t *entries);
    /* Reads a whole (proc) file into a NUL-terminated malloc'd buffer; caller free()s. */
    int (*read_file)(hm_os_site_t site, const char *path, char **buf, size_t *len);
    /* Zeroed metadata memory (calloc); released with hm_os_free. */
    int (*alloc)(hm_os_site_t site, size_t size, void **out);
    /* Installs hostmem's SIGSEGV handler once (idempotent), chained to the previous one. */
    int (*fault_handler)(hm_os_site_t site, hm_os_fault_hook_t hook);
    /* ---- write watch (src/os/linux_watch.c) ---- */
    /* ---- large pages and physical pages (src/os/linux_phys.c) ---- */
} hm_os_ops_t;

extern hm_os_ops_t hm_os;                 /* the live table */
extern const hm_os_ops_t hm_os_default;   /* the real Linux calls */

const char *hm_os_site_name(hm_os_site_t site);
const char *hm_os_site_call(hm_os_site_t site);

/* Infallible helpers (no injection needed). */
void hm_os_free(void *p);
unsigned hm_os_ncpus(void);
uint64_t hm_os_cpu_mask(void);
uint64_t hm_os_rlimit_stack(void);       /* RLIMIT_STACK soft limit, UINT64_MAX = unlimited */
int hm_os_parse_size(const char *s, uint64_t *out); /* "64M", "1G", "4096" */
const char *hm_os_getenv(const char *name);
void hm_os_flush_icache(void *addr, size_t len);
/* Removes hostmem's SIGSEGV handler if it is still the installed one (library unload). */
void hm_os_fault_handler_uninstall(void);

/* Events for the host's notifier thread (linux_events.c): an eventfd to wake it, a PSI
 * memory-pressure trigger, and a wait on both. Each returns -1/errno-style failures. */
int hm_os_event_open(void);                       /* eventfd, or -errno */
void hm_os_event_signal(int fd);
void hm_os_event_drain(int fd);
int hm_os_psi_open(const char *path, unsigned stall_us, unsigned window_us); /* fd or -errno */
/* Waits up to timeout_ms; returns bit 0 if wake_fd fired, bit 1 if psi_fd (may be -1) did. */
unsigned hm_os_wait_events(int wake_fd, int psi_fd, unsigned timeout_ms);
void hm_os_close(int fd);
void hm_os_yield(void);

/* pagemap entry bits */
#define HM_PM_PRESENT (1ull << 63)
#define HM_PM_SWAPPED (1ull << 62)
#define HM_PM_EXCLUSIVE (1ull << 56)

#endif /* HM_OS_H */
