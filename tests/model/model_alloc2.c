/*
 * model_alloc2.c — VirtualAlloc2 and VirtualAlloc2FromApp (memoryapi.md §5.5;
 * windows-behaviour.md P1–P12, M1–M13, X3): the process handle, extended parameters
 * (address requirements), placeholders.
 *
 * Order (SD "Validation order, VirtualAlloc2", where the spec is silent): FromApp execute
 * check, extended parameters in array order, type bits, requirements with an address (M7),
 * size 0, process handle, placeholder combinations, VirtualAlloc's type rules, protection,
 * address range, state.
 *
 * Base and size: §5.5 says a base must be a multiple of 64 KiB and a size of the page (no
 * silent rounding): rule M_RULE_VA2_EXACT. hostmem rounds as VirtualAlloc does (SD
 * "Address and size rounding"); with the rule off the model does too.
 */
#include "model_internal.h"

#define VA2_TYPES                                                                             \
    (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_LARGE_PAGES | MEM_PHYSICAL | \
     MEM_TOP_DOWN | MEM_WRITE_WATCH | MEM_RESERVE_PLACEHOLDER | MEM_REPLACE_PLACEHOLDER)
#define VA_ACTIONS (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO)
#define CURRENT_PROCESS UINT64_MAX

typedef struct reqs {
    bool present;  /* nonzero requirements */
    uint64_t lowest, highest, alignment; /* highest: last byte allowed */
} reqs_t;

static bool pow2(uint64_t v)
{
    return v != 0 && (v & (v - 1)) == 0;
}

static bool bad_bounds(const m_param_t *p)
{
    return p->lowest % M_GRAN != 0 || p->lowest > M_MAX ||                            /* M10, M13 */
           (p->highest != 0 && ((p->highest + 1) % M_PAGE != 0 || p->highest > M_MAX ||
                                p->lowest >= p->highest)) ||                            /* M4, M5, M11 */
           (p->alignment != 0 && (!pow2(p->alignment) || p->alignment < M_GRAN));     /* M9 */
}

/* One parameter (M1–M13, P30; SD rows for Reserved, NumaNode, AttributeFlags, handles).
 * Returns false when it decides the outcome. */
static bool check_param(const m_param_t *p, reqs_t *r, m_expect_t *x)
{
    if (p->type == MemExtendedParameterInvalidType || p->type >= MemExtendedParameterMax) {
        m_fail(x, ERROR_INVALID_PARAMETER, "M1: parameter type 0 or >= Max");
        return false;
    }
    if (p->reserved) {
        m_fail(x, ERROR_INVALID_PARAMETER, "§4.4/SD: Reserved bits must be 0");
        return false;
    }
    switch (p->type) {
    case MemExtendedParameterAddressRequirements:
        if (p->pointer_null) {
            m_fail(x, ERROR_NOACCESS, "SD: NULL requirements structure (NT probes it)");
            return false;
        }
        if (bad_bounds(p)) {
            m_fail(x, ERROR_INVALID_PARAMETER, "M4/M5/M9–M13: bad address requirements");
            return false;
        }
        r->present = p->lowest || p->highest || p->alignment;
        r->lowest = p->lowest;
        r->highest = p->highest ? p->highest : M_MAX;
        r->alignment = p->alignment ? p->alignment : M_GRAN;
        return true;
    case MemExtendedParameterNumaNode:
        if (p->value != 0) {
            m_unmodelled(x, "NUMA node other than 0: depends on the machine");
            return false;
        }
        return true;
    case MemExtendedParameterAttributeFlags:
        if (p->value != 0 && p->value != MEM_EXTENDED_PARAMETER_ZERO_PAGES_OPTIONAL) {
            m_fail(x, ERROR_INVALID_PARAMETER, "P30/SD: attribute flags");
            return false;
        }
        return true;
    default:
        m_fail(x, ERROR_INVALID_HANDLE, "SD: no partitions or physical sections");
        return false;
    }
}

static bool check_params(const m_call_t *c, reqs_t *r, m_expect_t *x)
{
    if (c->nparams > 0 && c->params_null) {
        m_fail(x, ERROR_INVALID_PARAMETER, "P2: parameters counted but NULL");
        return false;
    }
    if (c->nparams > 5) {
        m_fail(x, ERROR_INVALID_PARAMETER, "SD: more than five parameters");
        return false;
    }
    bool seen[MemExtendedParameterMax] = {false};
    for (uint32_t i = 0; i < c->nparams; i++) {
        const m_param_t *p = &c->param[i];
        if (p->type > 0 && p->type < MemExtendedParameterMax) {
            if (seen[p->type]) {
                m_fail(x, ERROR_INVALID_PARAMETER, "M3: a parameter type given twice");
                return false;
            }
            seen[p->type] = true;
        }
        if (!check_param(p, r, x))
            return false;
    }
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

/* A free aligned block of size in [lo, hi) that the model knows is free (inside the known
 * window), or 0. */
static uint64_t known_slot(const m_model_t *m, uint64_t lo, uint64_t hi, uint64_t align,
                           uint64_t size)
{
    lo = lo > m->known_lo ? lo : m->known_lo;
    hi = hi < m->known_hi ? hi : m->known_hi;
    for (uint64_t s = first_fit(lo, hi, align, size); s != 0; s = first_fit(s + align, hi, align, size)) {
        if (m_range_known_free(m, s, s + size))
            return s;
        const m_alloc_t *a = m_next_alloc(m, s);
        if (a && a->base < s + size && a->end > s + align) /* skip past the blocker */
            s = ((a->end + align - 1) & ~(align - 1)) - align;
    }
    return 0;
}

/* Reserve anywhere inside the requirements (M6, M8, M12). The block is placed before the
 * commit is charged (as for a reserve at an address, SD). */
static void reserve_within(const m_model_t *m, const reqs_t *r, uint64_t size, uint32_t t,
                           uint32_t prot, m_expect_t *x)
{
    uint64_t lo = r->lowest < M_MIN ? M_MIN : r->lowest, hi = r->highest + 1;
    uint64_t psize = (size + M_PAGE - 1) & ~(M_PAGE - 1);
    m_predict_reserve_anywhere(m, size, t, prot, x);
    if (!x->ok && x->r.error == ERROR_INVALID_PARAMETER)
        return; /* the size is checked before the bounds are searched */
    if (first_fit(lo, hi, r->alignment, psize) == 0)
        return m_fail(x, ERROR_NOT_ENOUGH_MEMORY, "M8: no aligned block fits the bounds");
    bool known = lo >= m->known_lo && hi <= m->known_hi;
    bool slot = known_slot(m, lo, hi, r->alignment, psize) != 0;
    if (known && !slot)
        return m_fail(x, ERROR_NOT_ENOUGH_MEMORY, "M8: every block in the bounds is taken");
    if (x->unmodelled)
        return;
    if (x->ok) {
        x->learn_align = r->alignment;
        x->learn_lo = lo;
        x->learn_hi = hi;
        x->rule = "M6/M8/M12: reserve inside the address requirements";
    }
    /* Other mappings may fill a window the model does not know: then 8 is right too. */
    if (!slot || !known)
        x->may_fail = ERROR_NOT_ENOUGH_MEMORY;
}

/* P7/P9/P11/W28 and SD "MEM_REPLACE_PLACEHOLDER": the pages touched must be exactly a free
 * placeholder (487); free memory or an allocation: 87. */
static void replace(const m_model_t *m, const m_call_t *c, uint32_t t, m_expect_t *x)
{
    uint64_t lo, hi;
    if (!m_page_range(c->addr, c->size, &lo, &hi) || hi > M_TOP)
        return m_fail(x, ERROR_INVALID_PARAMETER, "A17: range wraps or leaves user space");
    const m_alloc_t *a = m_find(m, lo);
    if (!a) {
        if (m_known_free(m, lo))
            return m_fail(x, ERROR_INVALID_PARAMETER, "SD: replace in free memory");
        return m_unmodelled(x, "replace in memory the model does not know");
    }
    if (a->base != lo || a->end != hi) /* SD: size before kind (Wine map_view) */
        return m_fail(x, ERROR_INVALID_ADDRESS, "P11: not exactly a free placeholder");
    if (a->placeholder != M_PH_FREE)
        return m_fail(x, ERROR_INVALID_PARAMETER, "SD: replace on an allocation");
    if ((t & MEM_COMMIT) && !m_charge_ok(m, hi - lo, x))
        return;
    m_succeed(x, lo, "P7/P9: replace a placeholder");
    x->e.kind = M_E_REPLACE;
    x->e.lo = lo;
    x->e.hi = hi;
    x->e.prot = m_prot_stored(c->prot);
    x->e.commit = (t & MEM_COMMIT) != 0;
    x->e.watch = (t & MEM_WRITE_WATCH) != 0;
}

/* P4, P5, P12 and SD "MEM_RESERVE_PLACEHOLDER" / "MEM_REPLACE_PLACEHOLDER". */
static bool check_placeholder_bits(uint32_t t, uint32_t prot, uint64_t addr, m_expect_t *x)
{
    if (t & MEM_RESERVE_PLACEHOLDER) {
        if ((t & ~(MEM_RESERVE | MEM_RESERVE_PLACEHOLDER | MEM_TOP_DOWN)) || !(t & MEM_RESERVE) ||
            prot != PAGE_NOACCESS) {
            m_fail(x, ERROR_INVALID_PARAMETER,
                   "P5/SD: a placeholder is MEM_RESERVE with PAGE_NOACCESS only");
            return false;
        }
    }
    if (t & MEM_REPLACE_PLACEHOLDER) {
        if (!(t & MEM_RESERVE) || addr == 0 || (t & (MEM_LARGE_PAGES | MEM_PHYSICAL))) {
            m_fail(x, ERROR_INVALID_PARAMETER, "P12/SD: replacing needs MEM_RESERVE and a base");
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
    if (c->from_app && m_prot_executable(prot))
        return m_fail(x, ERROR_INVALID_PARAMETER, "X3: FromApp refuses execute protections");
    reqs_t r = {0};
    if (!check_params(c, &r, x))
        return;
    if (t & ~VA2_TYPES)
        return m_fail(x, ERROR_INVALID_PARAMETER, "§5.3/§5.5: unknown allocation type bits");
    if (r.present && c->addr != 0)
        return m_fail(x, ERROR_INVALID_PARAMETER, "M7: address requirements with a base");
    if (c->size == 0)
        return m_fail(x, ERROR_INVALID_PARAMETER, "A1: size 0");
    if (c->process != 0 && c->process != CURRENT_PROCESS)
        return m_fail(x, ERROR_INVALID_HANDLE, "§5.5/SD: only the current process");
    if (!(m->rules_off & M_RULE_VA2_EXACT) && (c->size % M_PAGE != 0 || c->addr % M_GRAN != 0))
        return m_fail(x, ERROR_INVALID_PARAMETER, "§5.5: base or size not a multiple");
    if (!check_placeholder_bits(t, prot, c->addr, x))
        return;
    if (!(t & VA_ACTIONS))
        return m_fail(x, ERROR_INVALID_PARAMETER, "§5.3: no commit, reserve or reset");
    if (!m_check_combination(m, t, prot, x))
        return;
    if (!m_prot_valid(prot, M_PROT_ALLOC))
        return m_fail(x, ERROR_INVALID_PARAMETER, "§6: invalid protection");
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
