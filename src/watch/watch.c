/*
 * watch.c — the write-watch engine of the process and what both engines share: the state
 * of a watched reservation, the latch, and GetWriteWatch's merge of the engine's pages
 * with the soft and latched bitmaps.
 *
 * Engine choice, once (pthread_once) at the first MEM_WRITE_WATCH use: HOSTMEM_WRITE_WATCH
 * = "mprotect" picks the mprotect engine; under Valgrind (which cannot run userfaultfd's
 * write-protect) "auto" does too; otherwise the kernel engine if userfaultfd async
 * write-protect and PAGEMAP_SCAN work, else the mprotect engine ("auto", the default) or
 * none at all ("kernel": MEM_WRITE_WATCH then fails with ERROR_NOT_SUPPORTED).
 *
 * Invariant of GetWriteWatch: the pages reported are the union, in ascending order, of the
 * engine's written pages and the soft and latched bits; with reset, exactly the pages up
 * to the last one reported (all of the range if fewer than cap) are armed again, and any
 * page the kernel armed beyond it is set in soft, so no write is ever lost.
 * Locking: the caller holds the reservation's lock (watch.h).
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "valgrind_hooks.h"
#include "watch/engine.h"

static pthread_once_t choose_once = PTHREAD_ONCE_INIT;
static hm_watch_engine_t engine;
static const char *engine_why;
static char why_buf[128];

static void choose(void)
{
    const char *env = hm_os_getenv("HOSTMEM_WRITE_WATCH");
    bool force_kernel = env && !strcmp(env, "kernel");
    if (env && !strcmp(env, "mprotect")) {
        engine = HM_WATCH_MPROTECT;
        engine_why = "HOSTMEM_WRITE_WATCH=mprotect";
        return;
    }
    if (!force_kernel && hm_vg_running()) {
        engine = HM_WATCH_MPROTECT;
        engine_why = "running under Valgrind";
        return;
    }
    const char *err = "?";
    if (hm_watch_kernel_init(&err) == 0) {
        engine = HM_WATCH_KERNEL;
        engine_why = force_kernel ? "HOSTMEM_WRITE_WATCH=kernel: PAGEMAP_SCAN + userfaultfd "
                                    "async WP available"
                                  : "PAGEMAP_SCAN + userfaultfd async WP available";
        return;
    }
    engine = force_kernel ? HM_WATCH_NONE : HM_WATCH_MPROTECT;
    snprintf(why_buf, sizeof why_buf, "%s%s", force_kernel ? "HOSTMEM_WRITE_WATCH=kernel, but " : "",
             err);
    engine_why = why_buf;
}

hm_watch_engine_t hm_watch_engine(const char **why)
{
    pthread_once(&choose_once, choose);
    if (why)
        *why = engine_why;
    return engine;
}

const char *hm_watch_engine_name(hm_watch_engine_t e)
{
    return e == HM_WATCH_KERNEL ? "kernel" : e == HM_WATCH_MPROTECT ? "mprotect" : "none";
}

static bool kernel(void)
{
    return engine == HM_WATCH_KERNEL;
}

unsigned hm_watch_os_prot(uint32_t prot)
{
    unsigned p = hm_watch_plain_prot(prot);
    return hm_watch_engine(NULL) == HM_WATCH_MPROTECT ? p & ~(unsigned)HM_OS_W : p;
}

/* ---- state ------------------------------------------------------------------------------ */

#define HEADER_BYTES ((size_t)64)
_Static_assert(sizeof(hm_watch_t) <= HEADER_BYTES, "the state header fits its slot");

int hm_watch_create(uintptr_t base, size_t size, bool committed, hm_watch_t **out)
{
    uint64_t npages = size >> HM_PAGE_SHIFT, words = (npages + 63) / 64;
    size_t len = HM_ALIGN_UP(HEADER_BYTES + 2 * words * sizeof(uint64_t), HM_PAGE_SIZE);
    void *p;
    int err = hm_os.map(HM_SITE_WATCH_STATE, NULL, len, HM_OS_R | HM_OS_W, HM_OS_MAP_ANYWHERE, &p);
    if (err)
        return HM_E_NO_MEMORY;
    hm_watch_t *w = p;
    w->soft = (uint64_t *)((char *)p + HEADER_BYTES);
    w->latched = w->soft + words;
    w->map_len = len;
    hm_runs_t runs;
    hm_runs_init(&runs, committed ? HM_RUN_COMMITTED : 0);
    hm_watch_view_t v = {w, base, npages, &runs};
    int st = kernel() ? hm_watch_kernel_arm(&v, committed) : HM_OK;
    hm_runs_destroy(&runs);
    if (st != HM_OK) {
        hm_watch_destroy(w);
        return st;
    }
    *out = w;
    return HM_OK;
}

void hm_watch_destroy(hm_watch_t *w)
{
    /* Our own anonymous mapping: munmap cannot fail for it; not an injection site. */
    (void)hm_os_default.unmap(HM_SITE_WATCH_STATE, w, w->map_len);
}

/* ---- run iteration ---------------------------------------------------------------------- */

int hm_watch_for_each_committed(const hm_watch_view_t *v, uint64_t first, uint64_t end,
                                hm_watch_run_fn fn, void *ctx)
{
    const hm_runs_t *r = v->runs;
    for (uint32_t i = hm_runs_find(r, first); i < r->n && r->v[i].start < end; i++) {
        uint32_t val = r->v[i].val;
        if (!(val & HM_RUN_COMMITTED))
            continue;
        uint64_t s = r->v[i].start > first ? r->v[i].start : first;
        uint64_t e = hm_runs_end(r, i, v->npages);
        int st = fn(v, s, e < end ? e : end, val, ctx);
        if (st)
            return st;
    }
    return 0;
}

/* ---- the vm-facing operations ----------------------------------------------------------- */

int hm_watch_commit(const hm_watch_view_t *v, uint64_t first, uint64_t end)
{
    return kernel() ? hm_watch_kernel_commit(v, first, end) : HM_OK;
}

void hm_watch_decommit(const hm_watch_view_t *v, uint64_t first, uint64_t end)
{
    v->w->n_soft -= hm_bits_clear(v->w->soft, first, end);
    if (kernel())
        hm_watch_kernel_decommit(v);
}

static void latch_sink(void *ctx, uint64_t s, uint64_t e)
{
    hm_watch_t *w = ctx;
    w->n_latched += hm_bits_set(w->latched, s, e);
}

void hm_watch_latch(const hm_watch_view_t *v, uint64_t first, uint64_t end)
{
    hm_watch_t *w = v->w;
    w->n_latched += hm_bits_or(w->latched, w->soft, first, end);
    if (!kernel())
        return;
    /* If the kernel cannot tell, latch the whole range: never lose a write. */
    if (hm_watch_kernel_collect(v, first, end, false, 0, latch_sink, w, HM_SITE_WATCH_LATCH))
        latch_sink(w, first, end);
}

bool hm_watch_fault(const hm_watch_view_t *v, uint64_t page, uint32_t prot)
{
    return kernel() ? true : hm_watch_fallback_fault(v, page, prot);
}

void hm_watch_touched(const hm_watch_view_t *v, uint64_t first, uint64_t end)
{
    if (!kernel())
        hm_watch_soft_set(v->w, first, end);
}

int hm_watch_mark(const hm_watch_view_t *v, uint64_t first, uint64_t end)
{
    return kernel() ? hm_watch_kernel_unprotect(v, first, end)
                    : hm_watch_fallback_unprotect(v, first, end);
}

/* ---- GetWriteWatch ---------------------------------------------------------------------- */

/* The kernel's pages are copied aside for the merge: on the stack up to this many. */
#define SCRATCH_STACK 256

typedef struct collect_out {
    uintptr_t base;
    uintptr_t *out;
    size_t n;
} collect_out_t;

static void out_sink(void *ctx, uint64_t s, uint64_t e)
{
    collect_out_t *c = ctx;
    for (uint64_t p = s; p < e; p++)
        c->out[c->n++] = c->base + (p << HM_PAGE_SHIFT);
}

/* The engine's written pages of [first, end) into c (at most cap), reset if asked. */
static int collect_kernel(const hm_watch_view_t *v, uint64_t first, uint64_t end, bool reset,
                          collect_out_t *c, size_t cap)
{
    if (!kernel())
        return HM_OK;
    if (!c->out)
        return hm_watch_kernel_collect(v, first, end, true, 0, NULL, NULL, HM_SITE_WATCH_SCAN);
    return hm_watch_kernel_collect(v, first, end, reset, cap, out_sink, c, HM_SITE_WATCH_SCAN);
}

static uint64_t page_of(const hm_watch_view_t *v, uintptr_t a)
{
    return (a - v->base) >> HM_PAGE_SHIFT;
}

/* The cap-th page of the union of k (sorted) and the bitmaps, or end if the union is
 * smaller: the last page a full answer reports. */
static uint64_t last_reported(const hm_watch_view_t *v, const uintptr_t *k, size_t nk,
                              uint64_t first, uint64_t end, size_t cap)
{
    const hm_watch_t *w = v->w;
    size_t i = 0, taken = 0;
    uint64_t b = hm_bits_next(w->soft, w->latched, first, end);
    while (i < nk || b < end) {
        uint64_t kp = i < nk ? page_of(v, k[i]) : end;
        uint64_t p = kp < b ? kp : b;
        if (++taken == cap)
            return p;
        if (kp == p)
            i++;
        if (b == p)
            b = hm_bits_next(w->soft, w->latched, p + 1, end);
    }
    return end;
}

/* Merges k (a copy of the kernel's pages, all <= last) and the bitmaps' pages <= last
 * into out. */
static size_t merge(const hm_watch_view_t *v, uintptr_t *out, const uintptr_t *k, size_t nk,
                    uint64_t first, uint64_t last)
{
    const hm_watch_t *w = v->w;
    size_t i = 0, n = 0;
    uint64_t stop = last + 1;
    uint64_t b = hm_bits_next(w->soft, w->latched, first, stop);
    while (i < nk || b < stop) {
        uint64_t kp = i < nk ? page_of(v, k[i]) : stop;
        uint64_t p = kp < b ? kp : b;
        out[n++] = v->base + (p << HM_PAGE_SHIFT);
        if (kp == p)
            i++;
        if (b == p)
            b = hm_bits_next(w->soft, w->latched, p + 1, stop);
    }
    return n;
}

/* Clears the bitmaps over [first, stop), the mprotect engine re-arming its pages first. */
static int reset_bits(const hm_watch_view_t *v, uint64_t first, uint64_t stop)
{
    hm_watch_t *w = v->w;
    if (!kernel()) {
        int st = hm_watch_fallback_rearm(v, first, stop);
        if (st != HM_OK)
            return st;
    }
    w->n_soft -= hm_bits_clear(w->soft, first, stop);
    w->n_latched -= hm_bits_clear(w->latched, first, stop);
    return HM_OK;
}

int hm_watch_collect(const hm_watch_view_t *v, uint64_t first, uint64_t end, bool reset,
                     uintptr_t *out, size_t cap, size_t *n)
{
    hm_watch_t *w = v->w;
    collect_out_t c = {v->base, out, 0};
    int st = collect_kernel(v, first, end, reset, &c, cap);
    if (st != HM_OK)
        return st;
    *n = c.n;
    if (kernel() && !w->n_soft && !w->n_latched)
        return HM_OK; /* fast path: the kernel's answer is the answer */
    if (!out)
        return reset_bits(v, first, end);
    uint64_t last = last_reported(v, out, c.n, first, end, cap);
    size_t nk = c.n;
    while (nk && page_of(v, out[nk - 1]) > last) {
        if (reset) /* armed by the kernel but not reported: report it next time */
            hm_watch_soft_set(w, page_of(v, out[nk - 1]), page_of(v, out[nk - 1]) + 1);
        nk--;
    }
    uintptr_t stack[SCRATCH_STACK], *k = stack;
    void *heap = NULL;
    if (nk > SCRATCH_STACK && hm_os.alloc(HM_SITE_WATCH_RESULTS, nk * sizeof *k, &heap) != 0) {
        if (reset) /* the kernel armed them: report them next time */
            for (size_t i = 0; i < nk; i++)
                hm_watch_soft_set(w, page_of(v, out[i]), page_of(v, out[i]) + 1);
        return HM_E_NO_MEMORY;
    }
    if (heap)
        k = heap;
    memcpy(k, out, nk * sizeof *k);
    uint64_t stop = last < end ? last + 1 : end;
    size_t m = merge(v, out, k, nk, first, stop - 1);
    hm_os_free(heap);
    /* Only the mprotect engine can fail here, and it has no kernel part to lose. */
    if (reset && (st = reset_bits(v, first, stop)) != HM_OK)
        return st;
    *n = m;
    return HM_OK;
}
