/*
 * model_alloc2.c — VirtualAlloc2 and VirtualAlloc2FromApp (memoryapi.md §5.5;
 * windows-behaviour.md P1–P12, M1–M13, X3): the process handle, exact alignment of base
 * and size, extended parameters (address requirements), placeholders.
 *
 * Order: handle, FromApp execute check, size, base alignment, parameter array, type bits,
 * protection, combinations, requirements with a base (M7), then as VirtualAlloc.
 */
#include "model_internal.h"

#define VA2_TYPES                                                                             \
    (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_LARGE_PAGES | MEM_PHYSICAL | \
     MEM_TOP_DOWN | MEM_WRITE_WATCH | MEM_RESERVE_PLACEHOLDER | MEM_REPLACE_PLACEHOLDER)
#define VA_ACTIONS (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO)
#define CURRENT_PROCESS UINT64_MAX

typedef struct reqs {
    bool present;
    uint64_t lowest, highest, alignment; /* highest: last byte allowed */
} reqs_t;

static bool pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

/* M1–M5, M9–M13. Returns false when the outcome is decided. */
static bool check_params(const m_call_t *c, reqs_t *r, m_expect_t *x)
{
    if (c->nparams > 0 && c->params_null) {
        m_fail(x, ERROR_INVALID_PARAMETER, "P2: parameters counted but NULL");
        return false;
    }
    bool seen[MemExtendedParameterMax] = {false};
    for (uint32_t i = 0; i < c->nparams; i++) {
        const m_param_t *p = &c->param[i];
        if (p->type == MemExtendedParameterInvalidType || p->type >= MemExtendedParameterMax) {
            m_fail(x, ERROR_INVALID_PARAMETER, "M1: parameter type 0 or >= Max");
            return false;
        }
        if (seen[p->type]) {
            m_fail(x, ERROR_INVALID_PARAMETER, "M3: a parameter type given twice");
            return false;
        }
        seen[p->type] = true;
        if (p->type != MemExtendedParameterAddressRequirements) {
            m_unmodelled(x, "extended parameter other than address requirements");
            return false;
        }
        if (p->reserved || p->pointer_null) {
            m_unmodelled(x, "address requirements with reserved bits or a NULL pointer");
            return false;
        }
        r->present = true;
        r->lowest = p->lowest;
        r->highest = p->highest;
        r->alignment = p->alignment;
    }
    if (!r->present)
        return true;
    bool bad = r->lowest % M_GRAN != 0 || r->lowest > M_MAX ||                        /* M10, M13 */
               (r->highest != 0 && ((r->highest + 1) % M_PAGE != 0 || r->highest > M_MAX ||
                                    r->lowest >= r->highest)) ||                        /* M4, M5, M11 */
               (r->alignment != 0 && (!pow2(r->alignment) || r->alignment < M_GRAN)); /* M9 */
    if (bad) {
        m_fail(x, ERROR_INVALID_PARAMETER, "M4/M5/M9–M13: bad address requirements");
        return false;
    }
    if (r->highest == 0)
        r->highest = M_MAX;
    if (r->alignment == 0)
        r->alignment = M_GRAN;
    return true;
}

/* The first aligned start in [lo, hi) where size fits, or 0 if none. */
static uint64_t first_fit(uint64_t lo, uint64_t hi, uint64_t align, uint64_t size)
{
    uint64_t s = (lo + align - 1) & ~(align - 1);
    if (s < lo || s >= hi || size > hi - s)
        return 0;
    return s;
}

/* Reserve anywhere inside the requirements (M6, M8, M12). */
static void reserve_within(const m_model_t *m, const reqs_t *r, uint64_t size, uint32_t t,
                           uint32_t prot, m_expect_t *x)
{
    uint64_t lo = r->lowest < M_MIN ? M_MIN : r->lowest, hi = r->highest + 1;
    if (first_fit(lo, hi, r->alignment, size) == 0)
        return m_fail(x, ERROR_NOT_ENOUGH_MEMORY, "M8: no aligned block fits the bounds");
    m_predict_reserve_anywhere(m, size, t, prot, x);
    if (!x->ok || x->unmodelled)
        return;
    x->learn_align = r->alignment;
    x->learn_lo = lo;
    x->learn_hi = hi;
    /* Other mappings may fill the window: then 8 is right too (the kernel decides). */
    x->may_fail = ERROR_NOT_ENOUGH_MEMORY;
    x->rule = "M6/M8/M12: reserve inside the address requirements";
}

/* P7/P11/P9/W28: base and size must be exactly a free placeholder. */
static void replace(const m_model_t *m, const m_call_t *c, uint32_t t, m_expect_t *x)
{
    const m_alloc_t *a = m_find(m, c->addr);
    if (!a || a->placeholder != M_PH_FREE || a->base != c->addr || a->end - a->base != c->size)
        return m_fail(x, ERROR_INVALID_ADDRESS, "P11: not exactly a free placeholder");
    if ((t & MEM_COMMIT) && !m_charge_ok(m, c->size, x))
        return;
    m_succeed(x, c->addr, "P7/P9: replace a placeholder");
    x->e.kind = M_E_REPLACE;
    x->e.lo = a->base;
    x->e.hi = a->end;
    x->e.prot = m_prot_stored(c->prot);
    x->e.commit = (t & MEM_COMMIT) != 0;
    x->e.watch = (t & MEM_WRITE_WATCH) != 0;
}

static bool check_placeholder_bits(uint32_t t, uint32_t prot, uint64_t addr, m_expect_t *x)
{
    if ((t & MEM_RESERVE_PLACEHOLDER) && (t & MEM_REPLACE_PLACEHOLDER)) {
        m_fail(x, ERROR_INVALID_PARAMETER, "MODEL: reserve and replace a placeholder at once");
        return false;
    }
    if (t & MEM_RESERVE_PLACEHOLDER) {
        if ((t & ~(MEM_RESERVE | MEM_RESERVE_PLACEHOLDER | MEM_TOP_DOWN)) || !(t & MEM_RESERVE) ||
            prot != PAGE_NOACCESS) {
            m_fail(x, ERROR_INVALID_PARAMETER,
                   "P5: a placeholder is MEM_RESERVE with PAGE_NOACCESS only");
            return false;
        }
    }
    if (t & MEM_REPLACE_PLACEHOLDER) {
        if (!(t & MEM_RESERVE) || addr == 0) {
            m_fail(x, ERROR_INVALID_PARAMETER, "P12: replacing needs MEM_RESERVE and a base");
            return false;
        }
    }
    return true;
}

void m_predict_alloc2(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    uint32_t t = c->type, prot = c->prot;
    if (!(m->features & M_FEAT_PLACEHOLDER))
        return m_unmodelled(x, "VirtualAlloc2 switched off");
    if (c->process != 0 && c->process != CURRENT_PROCESS)
        return m_fail(x, ERROR_INVALID_HANDLE, "§5.5/§5.3: only the current process");
    if (c->from_app && m_prot_executable(prot))
        return m_fail(x, ERROR_INVALID_PARAMETER, "X3: FromApp refuses execute protections");
    if (c->size == 0 || c->size % M_PAGE != 0)
        return m_fail(x, ERROR_INVALID_PARAMETER, "§5.5: size 0 or not a multiple of the page");
    if (c->addr % M_GRAN != 0)
        return m_fail(x, ERROR_INVALID_PARAMETER, "§5.5: base not a multiple of 64 KiB");
    reqs_t r = {0};
    if (!check_params(c, &r, x))
        return;
    if ((t & ~VA2_TYPES) || !(t & VA_ACTIONS))
        return m_fail(x, ERROR_INVALID_PARAMETER, "§5.3/§5.5: allocation type bits");
    if (!m_prot_valid(prot, M_PROT_ALLOC))
        return m_fail(x, ERROR_INVALID_PARAMETER, "§6: invalid protection");
    if (!check_placeholder_bits(t, prot, c->addr, x) || !m_check_combination(m, t, prot, x))
        return;
    if (r.present && c->addr != 0)
        return m_fail(x, ERROR_INVALID_PARAMETER, "M7: address requirements with a base");
    if (t & (MEM_RESET | MEM_RESET_UNDO)) {
        if (c->addr == 0)
            return m_fail(x, ERROR_INVALID_PARAMETER, "SD: MEM_RESET with a NULL address");
        return m_predict_reset(m, c->addr, c->size, (t & MEM_RESET_UNDO) != 0, x);
    }
    if (t & MEM_REPLACE_PLACEHOLDER)
        return replace(m, c, t, x);
    if (c->addr == 0) {
        if (r.present)
            return reserve_within(m, &r, c->size, t, prot, x);
        return m_predict_reserve_anywhere(m, c->size, t, prot, x);
    }
    if (t & MEM_RESERVE)
        return m_predict_reserve_at(m, c->addr, c->size, t, prot, x);
    m_predict_commit(m, c->addr, c->size, prot, x);
}
