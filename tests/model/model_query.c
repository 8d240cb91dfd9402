/*
 * model_query.c — VirtualQuery (memoryapi.md §5.7; windows-behaviour.md Q1–Q5, Q8, Q9,
 * Q11; SD "VirtualQuery order", "Free region") and GetWriteWatch / ResetWriteWatch (§5.10;
 * W1–W17, W20–W27).
 */
#include <string.h>

#include "model_internal.h"

typedef struct run_probe {
    uint8_t committed;
    uint32_t prot;
    uint64_t end;
} run_probe_t;

static bool extend_region(const m_page_t *p, uint64_t lo, uint64_t hi, void *arg)
{
    run_probe_t *r = arg;
    (void)lo;
    if (p->committed != r->committed || p->prot != r->prot)
        return false;
    r->end = hi;
    return true;
}

uint32_t m_region(const m_model_t *m, uint64_t addr, MEMORY_BASIC_INFORMATION *mbi)
{
    uint64_t pa = addr & ~(M_PAGE - 1);
    memset(mbi, 0, sizeof *mbi);
    mbi->BaseAddress = (void *)(uintptr_t)pa;
    const m_alloc_t *a = m_find(m, pa);
    if (a) {
        /* Q1/Q2: the run of pages with the same state and protection; lock and write-watch
         * state do not split regions (Q5). */
        m_page_t p = m_page_at(a, pa);
        run_probe_t r = {p.committed, p.prot, pa};
        m_scan(a, pa, a->end, extend_region, &r);
        mbi->AllocationBase = (void *)(uintptr_t)a->base;
        mbi->AllocationProtect = a->alloc_prot;
        mbi->RegionSize = r.end - pa;
        mbi->State = p.committed ? MEM_COMMIT : MEM_RESERVE;
        mbi->Protect = p.committed ? p.prot : 0;
        mbi->Type = MEM_PRIVATE;
        return M_K_MBI;
    }
    if (!m_known_free(m, pa))
        return M_K_MBI_BASE;
    /* Q4: free: Protect NOACCESS, no allocation, RegionSize up to the next allocation. */
    mbi->State = MEM_FREE;
    mbi->Protect = PAGE_NOACCESS;
    const m_alloc_t *next = m_next_alloc(m, pa);
    if (pa >= M_MIN && next && next->base <= m->known_hi) {
        mbi->RegionSize = next->base - pa;
        return M_K_MBI;
    }
    mbi->RegionSize = (pa < M_MIN ? M_MIN : m->known_hi) - pa; /* at least this much */
    return M_K_MBI_PART;
}

void m_predict_query(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    if (c->length < sizeof(MEMORY_BASIC_INFORMATION))
        return m_fail(x, ERROR_BAD_LENGTH, "Q8/SD: buffer shorter than 48 bytes");
    if (c->addr > M_MAX)
        return m_fail(x, ERROR_INVALID_PARAMETER, "Q9/§5.7: address above user space");
    if (c->null_out)
        return m_fail(x, ERROR_NOACCESS, "SD: NULL buffer");
    m_succeed(x, sizeof(MEMORY_BASIC_INFORMATION), "Q11: returns 48");
    x->known |= m_region(m, c->addr, &x->r.mbi);
}

/* ---- write watch ------------------------------------------------------------------------ */

/* The watched allocation holding all of [lo, hi), or NULL (W10, W11, W16). */
static const m_alloc_t *watched(const m_model_t *m, const m_call_t *c, uint64_t *lo,
                                uint64_t *hi, m_expect_t *x)
{
    if (!m_page_range(c->addr, c->size, lo, hi)) {
        m_fail(x, ERROR_INVALID_PARAMETER, "W16: range wraps");
        return NULL;
    }
    const m_alloc_t *a = m_find(m, *lo);
    if (!a || !a->watch || *hi > a->end) {
        m_fail(x, ERROR_INVALID_PARAMETER, "W10/W11/W16: not inside one watched allocation");
        return NULL;
    }
    return a;
}

typedef struct collect {
    m_expect_t *x;
    uint64_t cap;
    bool maybe;
} collect_t;

static bool collect_dirty(const m_page_t *p, uint64_t lo, uint64_t hi, void *arg)
{
    collect_t *k = arg;
    if (p->dirty == M_MAYBE || p->latched == M_MAYBE)
        k->maybe = true;
    for (uint64_t pg = lo; p->dirty && pg < hi; pg += M_PAGE) {
        if (k->x->r.count == k->cap)
            return false;
        k->x->r.addrs[k->x->r.count++] = pg;
    }
    return true;
}

/* Order: SD "GetWriteWatch order" (Wine's NtGetWriteWatch, whose tests pass on Windows). */
void m_predict_get_watch(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    uint64_t lo, hi;
    x->known |= M_K_WW;
    if (!(m->features & M_FEAT_WATCH))
        return m_unmodelled(x, "write watch switched off");
    if (c->null_count || c->null_gran)
        return m_fail(x, ERROR_NOACCESS, "W13: NULL count or granularity pointer");
    if (c->length == 0 || c->size == 0)
        return m_fail(x, ERROR_INVALID_PARAMETER, "W12/W14/W16: count or size 0");
    if (c->type & ~WRITE_WATCH_FLAG_RESET)
        return m_fail(x, ERROR_INVALID_PARAMETER, "W15: flags");
    if (c->null_out)
        return m_fail(x, ERROR_NOACCESS, "W13: NULL address array");
    const m_alloc_t *a = watched(m, c, &lo, &hi, x);
    if (!a)
        return;
    uint64_t cap = c->length < M_WW_MAX ? c->length : M_WW_MAX;
    m_succeed(x, 0, "W1–W4/W27: written pages in ascending order");
    x->r.count = 0;
    collect_t k = {x, cap, false};
    bool all = m_scan(a, lo, hi, collect_dirty, &k);
    if (!all && c->length > M_WW_MAX)
        return m_unmodelled(x, "more written pages than the driver's 64-entry array");
    x->r.gran = (uint32_t)M_PAGE;
    x->e.kind = M_E_WATCH_RESET;
    x->e.lo = lo;
    x->e.reset = (c->type & WRITE_WATCH_FLAG_RESET) != 0;
    if (k.maybe) {
        /* pages of unknown state: checked by rule (m_check), decided by the result */
        x->ww_fuzzy = x->e.fuzzy = true;
        x->ww_lo = lo;
        x->ww_hi = x->e.hi = hi;
        x->ww_cap = x->e.cap = c->length;
        return;
    }
    if (!x->e.reset) {
        x->e.kind = M_E_NONE;
        return;
    }
    /* W3, W7: reset what was reported; a full array resets only up to its last entry. */
    x->e.hi = all ? hi : x->r.addrs[x->r.count - 1] + M_PAGE;
}

void m_predict_reset_watch(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    uint64_t lo, hi;
    if (!(m->features & M_FEAT_WATCH))
        return m_unmodelled(x, "write watch switched off");
    if (c->size == 0)
        return m_fail(x, ERROR_INVALID_PARAMETER, "W17: size 0");
    if (!watched(m, c, &lo, &hi, x))
        return;
    m_succeed(x, 0, "W5: reset the range");
    x->e.kind = M_E_WATCH_RESET;
    x->e.lo = lo;
    x->e.hi = hi;
}
