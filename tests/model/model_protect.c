/*
 * model_protect.c — VirtualProtect(FromApp), VirtualLock and VirtualUnlock (memoryapi.md
 * §5.8, §5.9, §6; windows-behaviour.md A3, A5, A6, §1.2, G2, G3, X4–X7; SD rows for lock,
 * unlock, size 0, VirtualProtect order and old-protect on failure).
 */
#include "model_internal.h"

typedef struct scan_state {
    bool all_committed, all_locked;
    uint64_t first_noaccess, first_guard, new_locked; /* 0 = none */
} scan_state_t;

static bool scan_page(const m_page_t *p, uint64_t lo, uint64_t hi, void *arg)
{
    scan_state_t *s = arg;
    if (!p->committed)
        s->all_committed = false;
    if (!p->locked) {
        s->all_locked = false;
        s->new_locked += hi - lo;
    }
    if (p->committed && (p->prot & 0xFFu) == PAGE_NOACCESS && s->first_noaccess == 0)
        s->first_noaccess = lo;
    if (p->committed && (p->prot & PAGE_GUARD) && s->first_guard == 0)
        s->first_guard = lo;
    return true;
}

/* Address checks shared by the three calls: the size, the top of user space, wrapping. */
static bool range_args(const m_call_t *c, uint64_t *lo, uint64_t *hi, m_expect_t *x)
{
    if (c->size == 0) {
        m_fail(x, ERROR_INVALID_PARAMETER, "SD: size 0");
        return false;
    }
    if (c->addr > M_MAX || !m_page_range(c->addr, c->size, lo, hi) || *hi > M_TOP) {
        m_fail(x, ERROR_INVALID_PARAMETER, "SD/A17: range above user space or wrapping");
        return false;
    }
    return true;
}

/* The allocation holding all of [lo, hi); NULL with the outcome decided otherwise. */
static const m_alloc_t *holder(const m_model_t *m, uint64_t lo, m_expect_t *x, uint32_t err,
                               const char *rule)
{
    const m_alloc_t *a = m_find(m, lo);
    if (a)
        return a;
    if (m_known_free(m, lo))
        m_fail(x, err, rule);
    else
        m_unmodelled(x, "memory the model does not know (hostmem acts on foreign memory)");
    return NULL;
}

void m_predict_protect(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    uint64_t lo, hi;
    x->known |= M_K_OLD;
    if (c->from_app && m_prot_executable(c->prot))
        return m_fail(x, ERROR_INVALID_PARAMETER, "X6/SD: FromApp refuses execute protections");
    if (!m_prot_valid(c->prot, M_PROT_PROTECT))
        return m_fail(x, ERROR_INVALID_PARAMETER, "§1.2/X7: invalid protection");
    if (c->null_out)
        return m_fail(x, ERROR_NOACCESS, "§1.2/SD: NULL lpflOldProtect (probed first)");
    if (!range_args(c, &lo, &hi, x))
        return;
    const m_alloc_t *a = holder(m, lo, x, ERROR_INVALID_ADDRESS, "§5.8: free memory");
    if (!a) {
        if (!x->unmodelled)
            x->r.old_prot = PAGE_NOACCESS;
        return;
    }
    scan_state_t s = {.all_committed = true};
    m_scan(a, lo, hi < a->end ? hi : a->end, scan_page, &s);
    if (hi > a->end || !s.all_committed) {
        x->r.old_prot = PAGE_NOACCESS; /* §1.2, X5, SD */
        return m_fail(x, ERROR_INVALID_ADDRESS, "A3/A5/X5: a page is not committed");
    }
    m_succeed(x, 1, "A6/G2: protect; old = the first page's protection");
    x->r.old_prot = m_page_at(a, lo).prot;
    x->e.kind = M_E_PROTECT;
    x->e.lo = lo;
    x->e.hi = hi;
    x->e.prot = m_prot_stored(c->prot);
}

void m_predict_lock(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    uint64_t lo, hi;
    if (!range_args(c, &lo, &hi, x))
        return;
    const m_alloc_t *a = holder(m, lo, x, ERROR_INVALID_ADDRESS, "SD: lock of free memory");
    if (!a)
        return;
    scan_state_t s = {.all_committed = true};
    m_scan(a, lo, hi < a->end ? hi : a->end, scan_page, &s);
    if (hi > a->end || !s.all_committed)
        return m_fail(x, ERROR_INVALID_ADDRESS, "SD: lock of pages not committed");
    /* A guard page anywhere in the range decides before a NOACCESS page (the spec and SD
     * are silent on ranges with both; hostmem's order, found by the fuzzer). */
    if (s.first_guard) {
        m_fail(x, (uint32_t)STATUS_GUARD_PAGE_VIOLATION, "G3/SD: lock of a guard page");
        x->e.kind = M_E_CLEAR_GUARD;
        x->e.lo = s.first_guard;
        x->e.hi = s.first_guard + M_PAGE;
        return;
    }
    if (s.first_noaccess)
        return m_fail(x, ERROR_NOACCESS, "§5.9/SD: lock of a PAGE_NOACCESS page");
    if (m->lock_limit && m->locked + s.new_locked > m->lock_limit)
        return m_unmodelled(x, "lock beyond the driver's locked-memory budget");
    m_succeed(x, 1, "§5.9: lock");
    x->e.kind = M_E_LOCK;
    x->e.lo = lo;
    x->e.hi = hi;
}

void m_predict_unlock(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    uint64_t lo, hi;
    if (!range_args(c, &lo, &hi, x))
        return;
    const m_alloc_t *a =
        holder(m, lo, x, ERROR_INVALID_ADDRESS, "MODEL: unlock of free memory (as lock)");
    if (!a)
        return;
    if (hi > a->end)
        return m_fail(x, ERROR_INVALID_ADDRESS, "MODEL: unlock range leaves the allocation (as lock)");
    scan_state_t s = {.all_committed = true, .all_locked = true};
    m_scan(a, lo, hi, scan_page, &s);
    if (!s.all_locked)
        return m_fail(x, ERROR_NOT_LOCKED, "§5.9/SD: a page is not locked");
    m_succeed(x, 1, "§5.9: unlock");
    x->e.kind = M_E_UNLOCK;
    x->e.lo = lo;
    x->e.hi = hi;
}
