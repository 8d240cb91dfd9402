/*
 * watch_kernel.c — the kernel write-watch engine: userfaultfd write-protect in async mode
 * (UFFD_FEATURE_WP_ASYNC | WP_UNPOPULATED) and PAGEMAP_SCAN (Linux 6.7+). A write to an
 * armed page costs the kernel a minor fault and clears the page's uffd-wp bit; no signal
 * reaches user space. GetWriteWatch is PAGEMAP_SCAN for PAGE_IS_WRITTEN; with reset it adds
 * PM_SCAN_WP_MATCHING, so reporting and re-arming are one atomic kernel operation, and
 * max_pages gives "reset only up to the last page returned".
 *
 * What the kernel reports (measured on 6.18, docs/semantics-decisions.md): a page with no
 * page-table entry reads as written, so pages are armed (UFFDIO_WRITEPROTECT installs a
 * uffd-wp marker) when they are committed, and only committed pages are ever scanned. A
 * decommit (one MAP_FIXED mmap in vm) makes a new, unregistered mapping: the next commit
 * registers the reservation again before it arms the fresh pages. THP is off on watched
 * ranges (a huge page would be written as a whole).
 *
 * Fork: the child's copy of the userfaultfd and of the pagemap file still point at the
 * parent's memory, and the child's mappings are no longer registered. An atfork handler
 * closes both in the child and starts a new generation; each reservation first used in a
 * new generation is registered again, its committed pages reported written once (soft).
 *
 * Locking: the reservation's lock for everything about a reservation; fds_lock serializes
 * opening the descriptors; the descriptors and the generation are atomics.
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "watch/engine.h"

static _Atomic int uffd = -1, pagemap = -1;
static _Atomic uint32_t generation = 1;
static pthread_mutex_t fds_lock = PTHREAD_MUTEX_INITIALIZER;
static char init_why[96];

static void close_fd(_Atomic int *fd)
{
    int old = atomic_exchange(fd, -1);
    if (old >= 0)
        hm_os_close(old);
}

/* In the child after fork(): the descriptors are the parent's. */
static void after_fork_in_child(void)
{
    close_fd(&uffd);
    close_fd(&pagemap);
    atomic_fetch_add(&generation, 1);
    pthread_mutex_init(&fds_lock, NULL);
}

static const char *errname(int err)
{
    const char *n = strerrorname_np(err);
    return n ? n : "error";
}

/* Opens both descriptors if this process has none; fds_lock held. */
static int open_fds(const char **what)
{
    int u, p, err;
    if (atomic_load(&uffd) >= 0)
        return 0;
    *what = "userfaultfd";
    if ((err = hm_os.uffd_open(HM_SITE_WATCH_UFFD_OPEN, &u)) != 0)
        return err;
    *what = "UFFDIO_API (async write-protect, Linux 6.7+)";
    if ((err = hm_os.uffd_api(HM_SITE_WATCH_UFFD_API, u)) != 0) {
        hm_os_close(u);
        return err;
    }
    *what = "/proc/self/pagemap";
    if ((err = hm_os.pagemap_open(HM_SITE_WATCH_PAGEMAP_OPEN, &p)) != 0) {
        hm_os_close(u);
        return err;
    }
    atomic_store(&pagemap, p);
    atomic_store(&uffd, u);
    return 0;
}

static int ensure_fds(void)
{
    if (atomic_load_explicit(&uffd, memory_order_acquire) >= 0)
        return 0;
    const char *what;
    pthread_mutex_lock(&fds_lock);
    int err = open_fds(&what);
    pthread_mutex_unlock(&fds_lock);
    return err;
}

int hm_watch_kernel_init(const char **why)
{
    const char *what = "?";
    pthread_mutex_lock(&fds_lock);
    int err = open_fds(&what);
    pthread_mutex_unlock(&fds_lock);
    if (err) {
        snprintf(init_why, sizeof init_why, "%s: %s", what, errname(err));
        *why = init_why;
        return err;
    }
    pthread_atfork(NULL, NULL, after_fork_in_child);
    return 0;
}

void hm_watch_kernel_support(bool *userfaultfd, bool *pagemap_scan)
{
    if (atomic_load(&uffd) >= 0) { /* the kernel engine is running */
        *userfaultfd = *pagemap_scan = true;
        return;
    }
    int u, p;
    *userfaultfd = hm_os.uffd_open(HM_SITE_WATCH_UFFD_OPEN, &u) == 0;
    if (*userfaultfd) {
        *userfaultfd = hm_os.uffd_api(HM_SITE_WATCH_UFFD_API, u) == 0;
        hm_os_close(u);
    }
    *pagemap_scan = false;
    if (hm_os.pagemap_open(HM_SITE_WATCH_PAGEMAP_OPEN, &p) == 0) {
        size_t n;
        uintptr_t walk_end, at = (uintptr_t)&n & ~(uintptr_t)(HM_PAGE_SIZE - 1);
        /* An empty range: 0 where the ioctl exists, ENOTTY before Linux 6.7. */
        *pagemap_scan = hm_os.pagemap_scan(HM_SITE_WATCH_SCAN, p, at, at, false, 0, NULL, 0, &n,
                                           &walk_end) == 0;
        hm_os_close(p);
    }
}

static void *addr_of(const hm_watch_view_t *v, uint64_t page)
{
    return (void *)(v->base + (page << HM_PAGE_SHIFT));
}

static size_t len_of(uint64_t s, uint64_t e)
{
    return (size_t)(e - s) << HM_PAGE_SHIFT;
}

/* MADV_NOHUGEPAGE + UFFDIO_REGISTER over the whole reservation (VMA-level, cheap). */
static int register_all(const hm_watch_view_t *v)
{
    size_t len = len_of(0, v->npages);
    int err = hm_os.nohugepage(HM_SITE_WATCH_NOHUGEPAGE, addr_of(v, 0), len);
    if (!err)
        err = hm_os.uffd_register(HM_SITE_WATCH_REGISTER, atomic_load(&uffd), addr_of(v, 0), len);
    return err;
}

static int arm_pages(const hm_watch_view_t *v, uint64_t s, uint64_t e)
{
    return hm_os.uffd_protect(HM_SITE_WATCH_PROTECT, atomic_load(&uffd), addr_of(v, s),
                              len_of(s, e), true);
}

static int arm_run(const hm_watch_view_t *v, uint64_t s, uint64_t e, uint32_t val, void *ctx)
{
    (void)val;
    (void)ctx;
    return arm_pages(v, s, e);
}

int hm_watch_kernel_arm(const hm_watch_view_t *v, bool committed)
{
    int err = ensure_fds();
    if (!err)
        err = register_all(v);
    if (!err && committed)
        err = arm_pages(v, 0, v->npages);
    if (err)
        return HM_E_NO_MEMORY;
    v->w->gen = atomic_load(&generation);
    return HM_OK;
}

static int soft_run(const hm_watch_view_t *v, uint64_t s, uint64_t e, uint32_t val, void *ctx)
{
    (void)val;
    (void)ctx;
    hm_watch_soft_set(v->w, s, e);
    return 0;
}

int hm_watch_kernel_current(const hm_watch_view_t *v)
{
    hm_watch_t *w = v->w;
    uint32_t g = atomic_load(&generation);
    if (w->gen == g)
        return HM_OK;
    /* What the parent's pages held is unknown here: every committed page reads written. */
    hm_watch_for_each_committed(v, 0, v->npages, soft_run, NULL);
    int err = ensure_fds();
    if (!err)
        err = register_all(v);
    if (!err)
        err = hm_watch_for_each_committed(v, 0, v->npages, arm_run, NULL);
    if (err)
        return HM_E_NO_MEMORY;
    w->gen = g;
    w->unregistered = false;
    return HM_OK;
}

/* Arms the pages of [first, end) that are not committed yet. */
static int arm_fresh(const hm_watch_view_t *v, uint64_t first, uint64_t end)
{
    const hm_runs_t *r = v->runs;
    for (uint32_t i = hm_runs_find(r, first); i < r->n && r->v[i].start < end; i++) {
        if (r->v[i].val & HM_RUN_COMMITTED)
            continue;
        uint64_t s = r->v[i].start > first ? r->v[i].start : first;
        uint64_t e = hm_runs_end(r, i, v->npages);
        int err = arm_pages(v, s, e < end ? e : end);
        if (err)
            return err;
    }
    return 0;
}

int hm_watch_kernel_commit(const hm_watch_view_t *v, uint64_t first, uint64_t end)
{
    int st = hm_watch_kernel_current(v);
    if (st != HM_OK)
        return st;
    int err = v->w->unregistered ? register_all(v) : 0;
    if (!err)
        v->w->unregistered = false;
    if (!err)
        err = arm_fresh(v, first, end);
    return err ? HM_E_NO_MEMORY : HM_OK;
}

void hm_watch_kernel_decommit(const hm_watch_view_t *v)
{
    v->w->unregistered = true;
}

/* ---- PAGEMAP_SCAN ------------------------------------------------------------------------ */

#define SCAN_VEC 128

typedef struct scan_ctx {
    bool reset;
    uint64_t max_pages; /* 0 = no limit */
    uint64_t taken;
    hm_watch_sink_fn sink;
    void *sink_ctx;
    hm_os_site_t site;
} scan_ctx_t;

/* Scans one committed span [s, e) until done or max_pages is reached. *done: every page
 * below it may have been armed by a call that succeeded (a failing call arms nothing: it
 * fails before its walk, or the process is dying). */
static int scan_span(const hm_watch_view_t *v, uint64_t s, uint64_t e, scan_ctx_t *c,
                     uint64_t *done)
{
    hm_os_page_region_t vec[SCAN_VEC];
    uintptr_t at = v->base + (s << HM_PAGE_SHIFT), end = v->base + (e << HM_PAGE_SHIFT);
    int fd = atomic_load(&pagemap);
    while (at < end && (!c->max_pages || c->taken < c->max_pages)) {
        size_t n = 0;
        uintptr_t walk_end = end;
        uint64_t left = c->max_pages ? c->max_pages - c->taken : 0;
        int err = hm_os.pagemap_scan(c->site, fd, at, end, c->reset, left, c->sink ? vec : NULL,
                                     c->sink ? SCAN_VEC : 0, &n, &walk_end);
        if (err)
            return err;
        for (size_t i = 0; i < n; i++) {
            uint64_t rs = (vec[i].start - v->base) >> HM_PAGE_SHIFT;
            uint64_t re = (vec[i].end - v->base) >> HM_PAGE_SHIFT;
            c->taken += re - rs;
            c->sink(c->sink_ctx, rs, re);
        }
        if (walk_end <= at || walk_end > end)
            return EIO; /* no progress: never loop forever */
        at = walk_end;
        *done = (at - v->base) >> HM_PAGE_SHIFT;
    }
    return 0;
}

/* Committed spans (adjacent committed runs joined) of [first, end), in order. */
static int scan_committed(const hm_watch_view_t *v, uint64_t first, uint64_t end, scan_ctx_t *c,
                          uint64_t *done)
{
    const hm_runs_t *r = v->runs;
    uint32_t i = hm_runs_find(r, first);
    while (i < r->n && r->v[i].start < end) {
        if (!(r->v[i].val & HM_RUN_COMMITTED)) {
            i++;
            continue;
        }
        uint64_t s = r->v[i].start > first ? r->v[i].start : first;
        while (i + 1 < r->n && r->v[i + 1].start < end && (r->v[i + 1].val & HM_RUN_COMMITTED))
            i++;
        uint64_t e = hm_runs_end(r, i, v->npages);
        e = e < end ? e : end;
        int err = scan_span(v, s, e, c, done);
        if (err)
            return err;
        i++;
        if (c->max_pages && c->taken >= c->max_pages)
            break;
    }
    return 0;
}

int hm_watch_kernel_collect(const hm_watch_view_t *v, uint64_t first, uint64_t end, bool reset,
                            uint64_t max_pages, hm_watch_sink_fn sink, void *ctx,
                            hm_os_site_t site)
{
    int st = hm_watch_kernel_current(v);
    if (st != HM_OK)
        return st;
    scan_ctx_t c = {reset, max_pages, 0, sink, ctx, site};
    uint64_t done = first;
    int err = scan_committed(v, first, end, &c, &done);
    if (!err)
        return HM_OK;
    /* A scan with reset may have armed pages of [first, done) whose report is now lost:
     * every committed page there reads written again (never lose a write). */
    if (reset)
        hm_watch_for_each_committed(v, first, done, soft_run, NULL);
    return HM_E_NO_MEMORY;
}

int hm_watch_kernel_unprotect(const hm_watch_view_t *v, uint64_t first, uint64_t end)
{
    int st = hm_watch_kernel_current(v);
    if (st != HM_OK)
        return st;
    int err = hm_os.uffd_protect(HM_SITE_WATCH_UNPROTECT, atomic_load(&uffd), addr_of(v, first),
                                 len_of(first, end), false);
    return err ? HM_E_NO_MEMORY : HM_OK;
}
