/*
 * bench/watch_bench.c — write watch against the raw kernel mechanism it stands for, side
 * by side in one run:
 *   1. the first write to each of 65,536 watched pages, ns/page: the raw floor is a region
 *      write-protected with the same userfaultfd async-WP registration made here with raw
 *      syscalls (target: MEM_WRITE_WATCH <= 1.1x); the same writes to unwatched committed
 *      pages are shown for scale;
 *   2. GetWriteWatch(WRITE_WATCH_FLAG_RESET) over those 65,536 written pages, ns/page,
 *      against a raw PAGEMAP_SCAN with PM_SCAN_WP_MATCHING whose regions are turned into
 *      the same array of page addresses (target <= 1.1x).
 * The mprotect engine is measured too, for scale, in a forked child that asks for it
 * (HOSTMEM_WRITE_WATCH=mprotect) before its first use; the engine of this process is the
 * one hostmem picks. Each round re-arms both sides untimed (reset / re-protect, or write
 * every page), then times raw and hostmem in alternating order.
 * Invariant: every mapping and descriptor made here is gone when bench_watch returns.
 * Calls: the public hostmem API and, for the raw side, mmap, madvise, userfaultfd ioctls
 * and /proc/self/pagemap directly. Single-threaded (the child runs alone).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/userfaultfd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostmem/hostmem.h"
#include "hostmem/memoryapi.h"

#include "bench.h"
#include "timing.h"

#define PAGE ((size_t)4096)
#define UFFD_USER_MODE_ONLY_FLAG 1
#define FEATURE_WP_UNPOPULATED (1ull << 13)
#define FEATURE_WP_ASYNC (1ull << 15)

struct scan_arg {
    uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
    uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct page_region {
    uint64_t start, end, categories;
};
#define PAGEMAP_SCAN_IOCTL _IOWR('f', 16, struct scan_arg)
#define IS_WRITTEN (1ull << 1)
#define WP_MATCHING (1ull << 0)

/* ---- the raw floor: a region under userfaultfd async write-protect -------------------- */

typedef struct raw_region {
    char *base;
    size_t npages;
    int uffd, pagemap;
} raw_region_t;

static int raw_open(raw_region_t *r, size_t npages)
{
    r->npages = npages;
    r->uffd = (int)syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | UFFD_USER_MODE_ONLY_FLAG);
    if (r->uffd < 0)
        return -1;
    struct uffdio_api api = {.api = UFFD_API, .features = FEATURE_WP_ASYNC | FEATURE_WP_UNPOPULATED};
    r->pagemap = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
    r->base = mmap(NULL, npages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (ioctl(r->uffd, UFFDIO_API, &api) != 0 || r->pagemap < 0 || r->base == MAP_FAILED)
        return -1;
    struct uffdio_register reg = {.range = {(uintptr_t)r->base, npages * PAGE},
                                  .mode = UFFDIO_REGISTER_MODE_WP};
    if (madvise(r->base, npages * PAGE, MADV_NOHUGEPAGE) != 0 ||
        ioctl(r->uffd, UFFDIO_REGISTER, &reg) != 0)
        return -1;
    return 0;
}

static void raw_close(raw_region_t *r)
{
    munmap(r->base, r->npages * PAGE);
    close(r->uffd);
    close(r->pagemap);
}

static void raw_arm(raw_region_t *r)
{
    struct uffdio_writeprotect wp = {{(uintptr_t)r->base, r->npages * PAGE},
                                     UFFDIO_WRITEPROTECT_MODE_WP};
    if (ioctl(r->uffd, UFFDIO_WRITEPROTECT, &wp) != 0)
        die("UFFDIO_WRITEPROTECT");
}

/* PAGEMAP_SCAN with reset; the regions become page addresses, as GetWriteWatch returns. */
static size_t raw_scan_reset(raw_region_t *r, void **out, size_t cap)
{
    struct page_region vec[256];
    uint64_t at = (uintptr_t)r->base, end = at + r->npages * PAGE;
    size_t n = 0;
    while (at < end && n < cap) {
        struct scan_arg a = {.size = sizeof a, .flags = WP_MATCHING, .start = at, .end = end,
                             .vec = (uintptr_t)vec, .vec_len = 256, .max_pages = cap - n,
                             .category_mask = IS_WRITTEN, .return_mask = IS_WRITTEN};
        long got = ioctl(r->pagemap, PAGEMAP_SCAN_IOCTL, &a);
        if (got < 0)
            die("PAGEMAP_SCAN");
        for (long i = 0; i < got; i++)
            for (uint64_t p = vec[i].start; p < vec[i].end; p += PAGE)
                out[n++] = (void *)(uintptr_t)p;
        at = a.walk_end;
    }
    return n;
}

static void write_pages(char *base, size_t npages)
{
    for (size_t i = 0; i < npages; i++)
        ((volatile char *)base)[i * PAGE] = (char)i;
}

/* ---- the paired rounds ------------------------------------------------------------------ */

typedef struct side {
    void (*prep)(void *ctx); /* untimed */
    void (*timed)(void *ctx);
    void *ctx;
} side_t;

/* Alternating rounds of raw and hostmem; ns per page over `npages`. */
static void paired(bench_result_t *res, side_t raw, side_t hm, size_t npages, size_t rounds)
{
    size_t warm = 1;
    double *vr = calloc(rounds, sizeof *vr), *vh = calloc(rounds, sizeof *vh);
    double *vp = calloc(rounds, sizeof *vp);
    if (!vr || !vh || !vp)
        die("calloc");
    for (size_t i = 0; i < warm + rounds; i++) {
        double t[2] = {0, 0};
        for (int k = 0; k < 2; k++) {
            int which = (k == 0) == (i % 2 == 0) ? 0 : 1;
            side_t *s = which ? &hm : &raw;
            s->prep(s->ctx);
            uint64_t t0 = bench_now_ns();
            s->timed(s->ctx);
            t[which] = (double)(bench_now_ns() - t0) / (double)npages;
        }
        if (i >= warm) {
            vr[i - warm] = t[0];
            vh[i - warm] = t[1];
            vp[i - warm] = t[0] > 0 ? t[1] / t[0] : 0;
        }
    }
    res->has_raw = 1;
    res->raw = bench_stats(vr, rounds);
    res->hm = bench_stats(vh, rounds);
    res->paired_ratio = bench_stats(vp, rounds).p50;
    free(vr);
    free(vh);
    free(vp);
}

typedef struct wregion {
    char *base;
    size_t npages;
    void **out;
} wregion_t;

static void raw_prep_arm(void *ctx) { raw_arm(ctx); }
static void raw_writes(void *ctx) { raw_region_t *r = ctx; write_pages(r->base, r->npages); }
static void raw_prep_write(void *ctx) { raw_writes(ctx); }
static void raw_timed_scan(void *ctx)
{
    raw_region_t *r = ctx;
    static void *out[1 << 16];
    if (raw_scan_reset(r, out, r->npages) != r->npages)
        die("raw PAGEMAP_SCAN count");
}

static void hm_prep_reset(void *ctx)
{
    wregion_t *h = ctx;
    if (ResetWriteWatch(h->base, h->npages * PAGE) != 0)
        die("ResetWriteWatch");
}
static void hm_writes(void *ctx) { wregion_t *h = ctx; write_pages(h->base, h->npages); }
static void hm_prep_nothing(void *ctx) { (void)ctx; }
static void hm_timed_get(void *ctx)
{
    wregion_t *h = ctx;
    ULONG_PTR count = h->npages;
    DWORD gran;
    if (GetWriteWatch(WRITE_WATCH_FLAG_RESET, h->base, h->npages * PAGE, h->out, &count, &gran) != 0 ||
        count != h->npages)
        die("GetWriteWatch(WRITE_WATCH_FLAG_RESET)");
}

static void fill_row(bench_result_t *r, const char *id, const char *name, const char *raw_label,
                     double target)
{
    r->id = id;
    r->name = name;
    r->unit = "ns/page";
    r->raw_label = raw_label;
    r->kind = target > 0 ? BENCH_TARGET_MAX_RATIO : BENCH_TARGET_NONE;
    r->target = target;
    r->target_text = target > 0 ? "<= 1.10x raw" : "-";
}

/* Both write-watch rows of the engine this process uses, against the raw floor. */
static void measure_engine(bench_result_t *w, bench_result_t *g, size_t npages, size_t rounds,
                           raw_region_t *raw)
{
    wregion_t h = {VirtualAlloc(NULL, npages * PAGE, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
                                  PAGE_READWRITE),
                     npages, calloc(npages, sizeof(void *))};
    if (!h.base || !h.out)
        die("VirtualAlloc(MEM_WRITE_WATCH)");
    write_pages(h.base, npages); /* populate: the rounds measure write faults, not allocation */
    write_pages(raw->base, npages);
    paired(w, (side_t){raw_prep_arm, raw_writes, raw}, (side_t){hm_prep_reset, hm_writes, &h},
           npages, rounds);
    paired(g, (side_t){raw_prep_write, raw_timed_scan, raw}, (side_t){hm_writes, hm_timed_get, &h},
           npages, rounds);
    VirtualFree(h.base, 0, MEM_RELEASE);
    free(h.out);
}

/* The mprotect engine in a child (the engine is chosen once per process). */
static void measure_mprotect(bench_result_t *w, bench_result_t *g, size_t npages, size_t rounds)
{
    bench_result_t *shared = mmap(NULL, 2 * sizeof *shared, PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (shared == MAP_FAILED)
        die("mmap(shared)");
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        setenv("HOSTMEM_WRITE_WATCH", "mprotect", 1);
        raw_region_t raw;
        if (raw_open(&raw, npages) != 0)
            _exit(2);
        measure_engine(&shared[0], &shared[1], npages, rounds, &raw);
        raw_close(&raw);
        _exit(strcmp(hm_write_watch_engine(NULL), "mprotect") == 0 ? 0 : 3);
    }
    int st;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        die("the mprotect-engine child");
    w->raw = shared[0].raw;
    w->hm = shared[0].hm;
    w->paired_ratio = shared[0].paired_ratio;
    w->has_raw = 1;
    g->raw = shared[1].raw;
    g->hm = shared[1].hm;
    g->paired_ratio = shared[1].paired_ratio;
    g->has_raw = 1;
    munmap(shared, 2 * sizeof *shared);
}

/* The same writes to committed pages nobody watches (hostmem's plain VirtualAlloc). */
static void measure_unwatched(bench_result_t *u, size_t npages, size_t rounds, raw_region_t *raw,
                              const bench_result_t *kernel_writes)
{
    wregion_t h = {VirtualAlloc(NULL, npages * PAGE, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE),
                     npages, NULL};
    if (!h.base)
        die("VirtualAlloc");
    write_pages(h.base, npages);
    paired(u, (side_t){raw_prep_arm, raw_writes, raw}, (side_t){hm_prep_nothing, hm_writes, &h},
           npages, rounds);
    snprintf(u->note, sizeof u->note,
             "hostmem column: plain writes to unwatched committed pages; watched (kernel): %.0f "
             "ns/page",
             kernel_writes->hm.p50);
    VirtualFree(h.base, 0, MEM_RELEASE);
}

size_t bench_watch(bench_result_t *res)
{
    size_t npages = scaled(65536, 8192), rounds = scaled(21, 3), slow_rounds = scaled(7, 2);
    bench_result_t *kw = &res[0], *kg = &res[1], *uw = &res[2], *mw = &res[3], *mg = &res[4];
    fill_row(kw, "watch_first_write", "first write/page, MEM_WRITE_WATCH (kernel)",
             "same uffd async-WP registration, raw", 1.10);
    fill_row(kg, "watch_get_reset", "GetWriteWatch(RESET)/page (kernel)",
             "PAGEMAP_SCAN WP_MATCHING -> addresses", 1.10);
    fill_row(uw, "watch_write_unwatched", "write/page, unwatched (for scale)",
             "same uffd async-WP registration, raw", 0);
    fill_row(mw, "watch_first_write_mprotect", "first write/page, mprotect engine",
             "same uffd async-WP registration, raw", 0);
    fill_row(mg, "watch_get_reset_mprotect", "GetWriteWatch(RESET)/page, mprotect engine",
             "PAGEMAP_SCAN WP_MATCHING -> addresses", 0);
    raw_region_t probe;
    if (raw_open(&probe, 1) != 0) {
        fprintf(stderr, "[hm_bench] write watch: no userfaultfd async write-protect here "
                        "(errno %d): no raw floor, rows skipped\n", errno);
        return 0;
    }
    raw_close(&probe);
    fprintf(stderr, "[hm_bench] write watch, mprotect engine (child)...\n");
    measure_mprotect(mw, mg, npages, slow_rounds);
    const char *why;
    const char *engine = hm_write_watch_engine(&why);
    fprintf(stderr, "[hm_bench] write watch, %s engine...\n", engine);
    raw_region_t raw;
    if (raw_open(&raw, npages) != 0)
        die("userfaultfd region");
    measure_engine(kw, kg, npages, rounds, &raw);
    measure_unwatched(uw, npages, rounds, &raw, kw);
    raw_close(&raw);
    snprintf(kw->note, sizeof kw->note, "engine: %s (%s); %zu pages per round", engine, why, npages);
    snprintf(kg->note, sizeof kg->note, "%zu written pages reported and re-armed per call", npages);
    snprintf(mw->note, sizeof mw->note, "SIGSEGV + mprotect per page; %zu pages per round", npages);
    return 5;
}
