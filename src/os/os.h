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
#define HM_OS_SITES_WATCH(X)                                                                \
    X(WATCH_UFFD_OPEN,    uffd_open, "write watch, kernel engine: open a userfaultfd")       \
    X(WATCH_UFFD_API,     uffd_api,  "write watch, kernel engine: UFFDIO_API (async WP)")   \
    X(WATCH_PAGEMAP_OPEN, pagemap_open, "write watch, kernel engine: open /proc/self/pagemap") \
    X(WATCH_STATE,        map,       "write watch: map a reservation's state and bitmaps")  \
    X(WATCH_HANDLER,      fault_handler, "write watch, mprotect engine: install the handler") \
    X(WATCH_NOHUGEPAGE,   nohugepage, "write watch, kernel engine: madvise(MADV_NOHUGEPAGE)") \
    X(WATCH_REGISTER,     uffd_register, "write watch, kernel engine: UFFDIO_REGISTER (WP)") \
    X(WATCH_PROTECT,      uffd_protect, "write watch, kernel engine: write-protect fresh pages") \
    X(WATCH_SCAN,         pagemap_scan, "GetWriteWatch/ResetWriteWatch: PAGEMAP_SCAN")      \
    X(WATCH_LATCH,        pagemap_scan, "VirtualProtect on watched pages: latch written bits") \
    X(WATCH_UNPROTECT,    uffd_protect, "hm_watch_mark_written, kernel engine: unprotect")  \
    X(WATCH_RESULTS,      alloc,     "GetWriteWatch: the result buffer")                    \
    X(WATCH_FAULT,        protect,   "write fault, mprotect engine: make the page writable") \
    X(WATCH_REARM,        protect,   "reset, mprotect engine: write-protect written pages") \
    X(WATCH_MARK,         protect,   "hm_watch_mark_written, mprotect engine: unprotect")

/* Placeholders and address requirements (src/vm/placeholder.c, placement.c, numa.c). */
#define HM_OS_SITES_PLACE(X)                                                                \
    X(PLACE_MAPS,         read_file, "address requirements: read /proc/self/maps for a hole") \
    X(PLACE_MAP,          map,       "address requirements: map the hole (NOREPLACE)")      \
    X(PLACE_NUMA,         read_file, "VirtualAlloc2 NUMA node: read the online node list")  \
    X(REPLACE_PROTECT,    protect,   "replace a placeholder, committing: mprotect")         \
    X(PRESERVE_MAP,       map,       "free back to a placeholder: fresh PROT_NONE pages")   \
    X(SPLIT_RECORD,       alloc,     "split a placeholder: grow the pool of records")       \
    X(SPLIT_INDEX,        alloc,     "split a placeholder: allocate address-index nodes")   \
    X(SPLIT_RUNS,         alloc,     "split a replaced allocation: copy a piece's run list")

/* Large pages and AWE physical pages (src/vm/large.c, src/vm/physical*.c,
 * src/vm/privilege.c, src/os/linux_phys.c). */
#define HM_OS_SITES_PHYS(X)                                                                 \
    X(PRIV_CAPS,          lock_right, "lock right: capget(CAP_IPC_LOCK) + RLIMIT_MEMLOCK")   \
    X(PRIV_VMLCK,         read_file, "lock right: read VmLck of /proc/self/status")         \
    X(LARGE_TRIM,         unmap,     "large pages: trim the over-reservation to 2 MiB")     \
    X(LARGE_MAP,          map_huge,  "large pages: map huge pages from the pool (anywhere)") \
    X(LARGE_MOVE,         move,      "large pages: mremap the huge pages onto the range")   \
    X(LARGE_DROP,         unmap,     "large pages: unmap the huge pages after the move failed") \
    X(LARGE_UNDO,         unmap,     "large pages: unmap the range after a later step failed") \
    X(LARGE_THP_COMMIT,   protect,   "large pages, THP policy: mprotect to the protection") \
    X(LARGE_THP_ADVISE,   advise_huge, "large pages, THP policy: madvise(MADV_HUGEPAGE)")   \
    X(PHYS_MEMFD,         memfd,     "AWE: create the page pool (memfd_create)")            \
    X(PHYS_TABLE_GROW,    alloc,     "AWE: grow the page table of the pool")                \
    X(PHYS_FALLOCATE,     fd_alloc,  "AllocateUserPhysicalPages: fallocate pool pages")     \
    X(PHYS_WINDOW,        alloc,     "MEM_PHYSICAL reserve: allocate the window's page map") \
    X(PHYS_MAP_BUFFER,    alloc,     "MapUserPhysicalPages(Scatter): copy a long page array") \
    X(PHYS_MAP,           map_fd,    "MapUserPhysicalPages: map pool pages shared, fixed")  \
    X(PHYS_UNMAP,         map,       "MapUserPhysicalPages: unmap (fresh PROT_NONE pages)") \
    X(PHYS_UNDO_REMAP,    map_fd,    "MapUserPhysicalPages: map a replaced page back")      \
    X(PHYS_UNDO_UNMAP,    map,       "MapUserPhysicalPages: unmap a page mapped before")    \
    X(PHYS_FREE_UNMAP,    map,       "FreeUserPhysicalPages: unmap a page being freed")     \
    X(PHYS_FREE_PUNCH,    fd_punch,  "FreeUserPhysicalPages: punch the page out of the pool") \
    X(PHYS_FREE_REMAP,    map_fd,    "FreeUserPhysicalPages: map the page back (punch failed)")

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

/* What lock_right reports (large pages and AWE need the right to lock memory). */
typedef struct hm_os_lock_right {
    bool cap_ipc_lock;     /* CAP_IPC_LOCK is effective */
    uint64_t memlock_max;  /* RLIMIT_MEMLOCK soft limit in bytes; UINT64_MAX = unlimited */
} hm_os_lock_right_t;

/* One region PAGEMAP_SCAN reports: [start, end) (page-aligned addresses). */
typedef struct hm_os_page_region {
    uint64_t start, end, categories;
} hm_os_page_region_t;

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
    /* userfaultfd(O_CLOEXEC|O_NONBLOCK|UFFD_USER_MODE_ONLY), else /dev/userfaultfd: *fd. */
    int (*uffd_open)(hm_os_site_t site, int *fd);
    /* UFFDIO_API asking for UFFD_FEATURE_WP_ASYNC|WP_UNPOPULATED; EOPNOTSUPP if the kernel
     * lacks them (before 6.7). */
    int (*uffd_api)(hm_os_site_t site, int fd);
    /* UFFDIO_REGISTER of [addr, addr+len) in write-protect mode (idempotent). */
    int (*uffd_register)(hm_os_site_t site, int fd, void *addr, size_t len);
    /* UFFDIO_WRITEPROTECT: arm (protect) or disarm [addr, addr+len). */
    int (*uffd_protect)(hm_os_site_t site, int fd, void *addr, size_t len, bool protect);
    /* open("/proc/self/pagemap") for PAGEMAP_SCAN: *fd. */
    int (*pagemap_open)(hm_os_site_t site, int *fd);
    /* PAGEMAP_SCAN of [start, end) for written pages: at most max_pages pages (0 = all) in at
     * most vec_len regions of vec (NULL with 0: report nothing), write-protecting them again
     * if reset; fails (EPERM) if a page is not under async write-protect. *n regions were
     * filled; the walk stopped at *walk_end. */
    int (*pagemap_scan)(hm_os_site_t site, int fd, uintptr_t start, uintptr_t end, bool reset,
                        uint64_t max_pages, hm_os_page_region_t *vec, size_t vec_len, size_t *n,
                        uintptr_t *walk_end);
    /* madvise(MADV_NOHUGEPAGE): write watch works per 4 KiB page. */
    int (*nohugepage)(hm_os_site_t site, void *addr, size_t len);
    /* ---- large pages and physical pages (src/os/linux_phys.c) ---- */
    /* mmap(MAP_PRIVATE|MAP_ANONYMOUS|MAP_HUGETLB) anywhere (the kernel aligns it to the huge
     * page size); ENOMEM when the huge-page pool cannot supply len bytes. */
    int (*map_huge)(hm_os_site_t site, size_t len, unsigned prot, void **out);
    /* mremap(MREMAP_MAYMOVE|MREMAP_FIXED): moves [from, from+len) to `to`, replacing what is
     * mapped there in one step. */
    int (*move)(hm_os_site_t site, void *from, size_t len, void *to);
    /* madvise(MADV_HUGEPAGE). */
    int (*advise_huge)(hm_os_site_t site, void *addr, size_t len);
    /* memfd_create(MFD_CLOEXEC): *fd, closed with hm_os_close. */
    int (*memfd)(hm_os_site_t site, int *fd);
    /* fallocate(fd, 0, off, len): allocates (and zero-fills) the pages, growing the file. */
    int (*fd_alloc)(hm_os_site_t site, int fd, uint64_t off, uint64_t len);
    /* fallocate(PUNCH_HOLE|KEEP_SIZE): drops the pages; they read zero afterwards. */
    int (*fd_punch)(hm_os_site_t site, int fd, uint64_t off, uint64_t len);
    /* mmap(MAP_SHARED|MAP_FIXED) of [off, off+len) of fd at addr, replacing what is there. */
    int (*map_fd)(hm_os_site_t site, void *addr, size_t len, unsigned prot, int fd, uint64_t off);
    /* The right to lock memory: CAP_IPC_LOCK in the effective set, RLIMIT_MEMLOCK (soft). */
    int (*lock_right)(hm_os_site_t site, hm_os_lock_right_t *out);
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
bool hm_os_readable(const char *path);   /* access(path, R_OK) */
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
