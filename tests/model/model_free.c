/*
 * model_free.c — VirtualFree (memoryapi.md §5.6, §5.5 placeholder free types;
 * windows-behaviour.md F1–F20, P8, P13–P23).
 *
 * Order: free-type bits, address above user space (SD), size rules, then state.
 */
#include "model_internal.h"

#define PH_BITS (MEM_COALESCE_PLACEHOLDERS | MEM_PRESERVE_PLACEHOLDER)

static void release(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    if (c->size != 0)
        return m_fail(x, ERROR_INVALID_PARAMETER, "F4: MEM_RELEASE with a size");
    uint64_t pa = c->addr & ~(M_PAGE - 1);
    const m_alloc_t *a = m_find(m, pa);
    if (!a)
        return m_fail(x, ERROR_INVALID_ADDRESS, "F17/SD: release of memory not allocated");
    if (pa != a->base)
        return m_fail(x, ERROR_INVALID_ADDRESS, "§5.6/F8: release not at the allocation base");
    if (a->pinned)
        return m_unmodelled(x, "the driver's own fence");
    m_succeed(x, 1, "F5/F10/F14: release the whole allocation");
    x->e.kind = M_E_RELEASE;
    x->e.lo = a->base;
    x->e.hi = a->end;
}

static void decommit(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    uint64_t lo, hi;
    const m_alloc_t *a;
    if (c->size == 0) {
        lo = c->addr & ~(M_PAGE - 1);
        a = m_find(m, lo);
        if (!a)
            return m_fail(x, ERROR_INVALID_ADDRESS, "F17: decommit of memory not allocated");
        if (lo != a->base)
            return m_fail(x, ERROR_INVALID_ADDRESS, "F8: size 0 needs the allocation base");
        hi = a->end;
    } else {
        if (!m_page_range(c->addr, c->size, &lo, &hi) || hi > M_TOP)
            return m_fail(x, ERROR_INVALID_PARAMETER, "A17/SD: range wraps or leaves user space");
        a = m_find(m, lo);
        if (!a)
            return m_fail(x, ERROR_INVALID_ADDRESS, "F17: decommit of memory not allocated");
        if (hi > a->end)
            return m_fail(x, ERROR_INVALID_PARAMETER, "F11/F12/F16: range leaves the allocation");
    }
    m_succeed(x, 1, "F3/F7/F9/SD: decommit (reserved pages and placeholders too)");
    x->e.kind = M_E_DECOMMIT;
    x->e.lo = lo;
    x->e.hi = hi;
}

/* P8, P13–P17: split a free placeholder, or turn a replaced allocation back into one. */
static void preserve(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    uint64_t lo, hi;
    if (c->size == 0)
        return m_fail(x, ERROR_INVALID_PARAMETER, "P15: MEM_PRESERVE_PLACEHOLDER with size 0");
    if (!m_page_range(c->addr, c->size, &lo, &hi) || hi > M_TOP)
        return m_fail(x, ERROR_INVALID_PARAMETER, "A17/SD: range wraps or leaves user space");
    const m_alloc_t *a = m_find(m, lo);
    if (!a)
        return m_fail(x, ERROR_INVALID_ADDRESS, "F17: not allocated");
    if (hi > a->end)
        return m_fail(x, ERROR_INVALID_PARAMETER, "SD: range leaves the allocation (as F16)");
    if (a->placeholder == M_PH_NONE)
        return m_fail(x, ERROR_INVALID_ADDRESS, "P13: not a placeholder");
    if (a->placeholder == M_PH_REPLACED) {
        if (a->watch && (lo != a->base || hi != a->end))
            return m_fail(x, ERROR_INVALID_ADDRESS, "SD: part of a watched replacement");
        m_succeed(x, 1, "P8/SD: (part of) a replacement becomes a placeholder again");
        x->e.kind = M_E_TO_PLACEHOLDER;
    } else {
        if (lo == a->base && hi == a->end)
            return m_fail(x, ERROR_INVALID_ADDRESS, "P14: the whole placeholder");
        m_succeed(x, 1, "P16/P17: split a placeholder");
        x->e.kind = M_E_SPLIT;
    }
    x->e.lo = lo;
    x->e.hi = hi;
}

/* P19–P23: [addr, addr+size) must be exactly two or more adjacent free placeholders. */
static void coalesce(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    uint64_t lo, hi;
    if (c->size == 0)
        return m_fail(x, ERROR_INVALID_PARAMETER, "P19: MEM_COALESCE_PLACEHOLDERS with size 0");
    if (!m_page_range(c->addr, c->size, &lo, &hi) || hi > M_TOP)
        return m_fail(x, ERROR_INVALID_PARAMETER, "A17/SD: range wraps or leaves user space");
    const m_alloc_t *a = m_find(m, lo);
    if (!a)
        return m_fail(x, ERROR_INVALID_ADDRESS, "F17: not allocated");
    unsigned pieces = 0;
    uint64_t at = lo;
    while (a && a->base == at && a->placeholder == M_PH_FREE && a->end <= hi) {
        pieces++;
        at = a->end;
        a = at < hi ? m_find(m, at) : NULL;
    }
    if (at != hi || pieces < 2)
        return m_fail(x, ERROR_INVALID_ADDRESS, "P20/P23: not exactly adjacent free placeholders");
    m_succeed(x, 1, "P22: coalesce placeholders");
    x->e.kind = M_E_COALESCE;
    x->e.lo = lo;
    x->e.hi = hi;
}

void m_predict_free(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    uint32_t t = c->type, ph = t & PH_BITS, action = t & ~PH_BITS;
    if (t & ~(MEM_DECOMMIT | MEM_RELEASE | PH_BITS))
        return m_fail(x, ERROR_INVALID_PARAMETER, "F2/§5.6: free-type bits");
    if (action != MEM_DECOMMIT && action != MEM_RELEASE)
        return m_fail(x, ERROR_INVALID_PARAMETER, "F1/F6: exactly one of DECOMMIT, RELEASE");
    if (ph && action != MEM_RELEASE)
        return m_fail(x, ERROR_INVALID_PARAMETER, "P18: placeholder bits need MEM_RELEASE");
    if (ph == PH_BITS)
        return m_fail(x, ERROR_INVALID_PARAMETER, "MODEL: preserve and coalesce at once");
    if (ph && !(m->features & M_FEAT_PLACEHOLDER))
        return m_unmodelled(x, "placeholders switched off");
    if (c->addr > M_MAX)
        return m_fail(x, ERROR_INVALID_PARAMETER, "SD: VirtualFree above user space");
    if (ph == MEM_PRESERVE_PLACEHOLDER)
        return preserve(m, c, x);
    if (ph == MEM_COALESCE_PLACEHOLDERS)
        return coalesce(m, c, x);
    if (action == MEM_RELEASE)
        return release(m, c, x);
    decommit(m, c, x);
}
