/*
 * model_space.c — the model's address space: a sorted array of allocations, each holding
 * its pages as runs (sorted {first page, value}, tiling the allocation, neighbours
 * different), and the driver's own actions on memory (writes, guard touches).
 *
 * Invariants: allocations never overlap; every allocation's runs tile [base, end);
 * m->committed / m->locked are the sums over pages. Plain data, no locking.
 */
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

static void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n);
    if (!q)
        abort();
    return q;
}

void m_init(m_model_t *m, uint64_t known_lo, uint64_t known_hi, uint32_t features)
{
    memset(m, 0, sizeof *m);
    m->known_lo = known_lo;
    m->known_hi = known_hi;
    m->features = features;
}

void m_fini(m_model_t *m)
{
    for (uint32_t i = 0; i < m->n; i++)
        free(m->a[i].runs);
    m->n = 0;
}

m_alloc_t *m_find(const m_model_t *m, uint64_t addr)
{
    uint32_t lo = 0, hi = m->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        const m_alloc_t *a = &m->a[mid];
        if (addr < a->base)
            hi = mid;
        else if (addr >= a->end)
            lo = mid + 1;
        else
            return (m_alloc_t *)a;
    }
    return NULL;
}

/* The first allocation whose end is above addr (or NULL). */
const m_alloc_t *m_next_alloc(const m_model_t *m, uint64_t addr)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (m->a[i].end > addr)
            return &m->a[i];
    return NULL;
}

bool m_known_free(const m_model_t *m, uint64_t addr)
{
    if (m_find(m, addr))
        return false;
    return addr < M_MIN || (addr >= m->known_lo && addr < m->known_hi);
}

bool m_overlaps_alloc(const m_model_t *m, uint64_t lo, uint64_t hi)
{
    for (uint32_t i = 0; i < m->n; i++)
        if (m->a[i].base < hi && lo < m->a[i].end)
            return true;
    return false;
}

bool m_range_known_free(const m_model_t *m, uint64_t lo, uint64_t hi)
{
    if (m_overlaps_alloc(m, lo, hi))
        return false;
    if (hi <= M_MIN)
        return true;
    return lo >= m->known_lo && hi <= m->known_hi;
}

uint64_t m_reserved_bytes(const m_model_t *m)
{
    uint64_t s = 0;
    for (uint32_t i = 0; i < m->n; i++)
        s += m->a[i].end - m->a[i].base;
    return s;
}

/* ---- runs ------------------------------------------------------------------------------ */

static uint32_t run_index(const m_alloc_t *a, uint64_t pg)
{
    uint32_t lo = 0, hi = a->nruns;
    while (hi - lo > 1) {
        uint32_t mid = (lo + hi) / 2;
        if (a->runs[mid].first <= pg)
            lo = mid;
        else
            hi = mid;
    }
    return lo;
}

static uint64_t run_end(const m_alloc_t *a, uint32_t i)
{
    return i + 1 < a->nruns ? a->runs[i + 1].first : a->end / M_PAGE;
}

m_page_t m_page_at(const m_alloc_t *a, uint64_t addr)
{
    return a->runs[run_index(a, addr / M_PAGE)].v;
}

static bool page_eq(const m_page_t *x, const m_page_t *y)
{
    return x->prot == y->prot && x->committed == y->committed && x->locked == y->locked &&
           x->content == y->content && x->tag == y->tag && x->dirty == y->dirty &&
           x->latched == y->latched;
}

static void insert_run(m_alloc_t *a, uint32_t at, uint64_t first, m_page_t v)
{
    if (a->nruns == a->cap) {
        a->cap = a->cap ? a->cap * 2 : 8;
        a->runs = xrealloc(a->runs, a->cap * sizeof *a->runs);
    }
    memmove(&a->runs[at + 1], &a->runs[at], (a->nruns - at) * sizeof *a->runs);
    a->runs[at].first = first;
    a->runs[at].v = v;
    a->nruns++;
}

/* Makes a run start at page pg (inside the allocation, or at its end: no-op). */
static void split_at(m_alloc_t *a, uint64_t pg)
{
    if (pg >= a->end / M_PAGE)
        return;
    uint32_t i = run_index(a, pg);
    if (a->runs[i].first != pg)
        insert_run(a, i + 1, pg, a->runs[i].v);
}

static void merge(m_alloc_t *a)
{
    uint32_t w = 0;
    for (uint32_t r = 0; r < a->nruns; r++) {
        if (w > 0 && page_eq(&a->runs[w - 1].v, &a->runs[r].v))
            continue;
        a->runs[w++] = a->runs[r];
    }
    a->nruns = w;
}

/* Calls fn on every run of pages in [lo, hi) (bytes, page aligned, inside a). */
void m_each_run(m_model_t *m, m_alloc_t *a, uint64_t lo, uint64_t hi, m_run_fn fn,
                const void *arg)
{
    uint64_t plo = lo / M_PAGE, phi = hi / M_PAGE;
    split_at(a, plo);
    split_at(a, phi);
    for (uint32_t i = run_index(a, plo); i < a->nruns && a->runs[i].first < phi; i++)
        fn(m, a, &a->runs[i].v, (run_end(a, i) - a->runs[i].first) * M_PAGE, arg);
    merge(a);
}

/* Reads every run in [lo, hi) without changing anything; stops when fn returns false. */
bool m_scan(const m_alloc_t *a, uint64_t lo, uint64_t hi, m_scan_fn fn, void *arg)
{
    uint64_t plo = lo / M_PAGE, phi = hi / M_PAGE;
    for (uint32_t i = run_index(a, plo); i < a->nruns && a->runs[i].first < phi; i++) {
        uint64_t s = a->runs[i].first > plo ? a->runs[i].first : plo;
        uint64_t e = run_end(a, i) < phi ? run_end(a, i) : phi;
        if (!fn(&a->runs[i].v, s * M_PAGE, e * M_PAGE, arg))
            return false;
    }
    return true;
}

/* ---- allocations ----------------------------------------------------------------------- */

m_alloc_t *m_insert_alloc(m_model_t *m, uint64_t base, uint64_t end, uint32_t alloc_prot)
{
    if (m->n == M_MAX_ALLOCS)
        abort(); /* the driver keeps below the cap */
    uint32_t at = 0;
    while (at < m->n && m->a[at].base < base)
        at++;
    memmove(&m->a[at + 1], &m->a[at], (m->n - at) * sizeof m->a[0]);
    m->n++;
    m_alloc_t *a = &m->a[at];
    memset(a, 0, sizeof *a);
    a->base = base;
    a->end = end;
    a->alloc_prot = alloc_prot;
    insert_run(a, 0, base / M_PAGE, (m_page_t){0});
    return a;
}

void m_remove_alloc(m_model_t *m, m_alloc_t *a)
{
    uint32_t at = (uint32_t)(a - m->a);
    free(a->runs);
    memmove(&m->a[at], &m->a[at + 1], (m->n - at - 1) * sizeof m->a[0]);
    m->n--;
}

void m_add_reserved(m_model_t *m, uint64_t base, uint64_t size, uint32_t alloc_prot, bool pinned)
{
    m_alloc_t *a = m_insert_alloc(m, base, base + size, alloc_prot);
    a->pinned = pinned;
}

/* ---- the driver's actions ---------------------------------------------------------------- */

static bool base_readable(uint32_t prot)
{
    uint32_t b = prot & 0xFFu;
    return b == PAGE_READONLY || b == PAGE_READWRITE || b == PAGE_EXECUTE_READ ||
           b == PAGE_EXECUTE_READWRITE;
}

static bool base_writable(uint32_t prot)
{
    uint32_t b = prot & 0xFFu;
    return b == PAGE_READWRITE || b == PAGE_EXECUTE_READWRITE;
}

bool m_readable(const m_model_t *m, uint64_t addr)
{
    const m_alloc_t *a = m_find(m, addr);
    if (!a)
        return false;
    m_page_t p = m_page_at(a, addr);
    return p.committed && !(p.prot & PAGE_GUARD) && base_readable(p.prot);
}

bool m_writable(const m_model_t *m, uint64_t addr)
{
    const m_alloc_t *a = m_find(m, addr);
    if (!a)
        return false;
    m_page_t p = m_page_at(a, addr);
    return p.committed && !(p.prot & PAGE_GUARD) && base_writable(p.prot);
}

static void write_run(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes, const void *arg)
{
    (void)m;
    (void)bytes;
    p->content = M_TAG;
    p->tag = *(const uint8_t *)arg;
    if (a->watch)
        p->dirty = 1;
}

void m_write(m_model_t *m, uint64_t addr, uint8_t tag)
{
    m_alloc_t *a = m_find(m, addr);
    uint64_t pg = addr & ~(M_PAGE - 1);
    m_each_run(m, a, pg, pg + M_PAGE, write_run, &tag);
}

void m_expected_content(const m_model_t *m, uint64_t addr, uint8_t *tag, bool *or_zero)
{
    m_page_t p = m_page_at(m_find(m, addr), addr);
    *tag = p.content == M_ZERO ? 0 : p.tag;
    *or_zero = p.content == M_TAG_OR_ZERO;
}

void m_set_commit_limit(m_model_t *m, uint64_t limit)
{
    m->commit_limit = limit;
}
