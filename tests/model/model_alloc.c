/*
 * model_alloc.c — VirtualAlloc and VirtualAllocFromApp (memoryapi.md §5.3, §5.4, §6;
 * windows-behaviour.md A1–A17, R1–R5, W18/W19, X1/X2), and the reserve / commit / reset
 * pieces VirtualAlloc2 shares.
 *
 * Order of checks (SD "Validation order, VirtualAlloc"): FromApp execute check, size 0,
 * type bits, protection, flag combinations, address range, state, commit charge. Every
 * check before the state check fails with 87, so their relative order is not observable.
 */
#include "model_internal.h"

#define VA_TYPES                                                                              \
    (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO | MEM_LARGE_PAGES | MEM_PHYSICAL | \
     MEM_TOP_DOWN | MEM_WRITE_WATCH)
#define VA_ACTIONS (MEM_COMMIT | MEM_RESERVE | MEM_RESET | MEM_RESET_UNDO)

/* Anywhere-reservations: bigger than user space is a bad parameter (A17, SD); a block
 * that cannot fit beside the process's own mappings (the executable, libraries, stack
 * share the 128 TiB) is out of address space (§5.3); between "surely fits" and "surely
 * does not" the kernel decides, so the model does not predict it. */
#define USER_SPAN (M_TOP - M_MIN)
#define NEVER_FITS ((uint64_t)96 << 40)
#define SURELY_FITS ((uint64_t)1 << 40)

static bool add_uncommitted(const m_page_t *p, uint64_t lo, uint64_t hi, void *arg)
{
    if (!p->committed)
        *(uint64_t *)arg += hi - lo;
    return true;
}

uint64_t m_uncommitted_bytes(const m_alloc_t *a, uint64_t lo, uint64_t hi)
{
    uint64_t bytes = 0;
    m_scan(a, lo, hi, add_uncommitted, &bytes);
    return bytes;
}

/* §5.3: a commit that would take the charge past the limit fails with 1455; only pages
 * not committed yet are charged (MODEL: re-committing charges nothing, so it never fails
 * here). Without a limit, big commits are the kernel's overcommit decision: not modelled. */
#define UNLIMITED_SURE ((uint64_t)1 << 30)

bool m_charge_ok(const m_model_t *m, uint64_t more, m_expect_t *x)
{
    if (more == 0)
        return true;
    if (m->commit_limit == 0) {
        if (more <= UNLIMITED_SURE)
            return true;
        m_unmodelled(x, "a big commit without a commit limit: the kernel decides");
        return false;
    }
    if (m->committed > m->commit_limit || more > m->commit_limit - m->committed) {
        m_fail(x, ERROR_COMMITMENT_LIMIT, "§5.3: commit over the limit");
        return false;
    }
    return true;
}

/* Type bits and combinations (§5.3 rows "type must contain", "optional type bits",
 * MEM_RESET/RESET_UNDO alone, MEM_PHYSICAL, MEM_LARGE_PAGES, MEM_WRITE_WATCH; W19). Returns
 * false when the outcome is decided (failure or unmodelled). */
bool m_check_combination(const m_model_t *m, uint32_t t, uint32_t prot, m_expect_t *x)
{
    if (((t & MEM_RESET) && t != MEM_RESET) || ((t & MEM_RESET_UNDO) && t != MEM_RESET_UNDO)) {
        m_fail(x, ERROR_INVALID_PARAMETER, "§5.3: MEM_RESET / MEM_RESET_UNDO must be alone");
        return false;
    }
    if (t & MEM_PHYSICAL) {
        if ((t & MEM_COMMIT) || !(t & MEM_RESERVE) || (t & MEM_LARGE_PAGES) ||
            (prot & 0xFFu) != PAGE_READWRITE)
            m_fail(x, ERROR_INVALID_PARAMETER,
                   "§5.3: MEM_PHYSICAL only with MEM_RESERVE and PAGE_READWRITE");
        else
            m_unmodelled(x, "MEM_PHYSICAL (AWE) is not in the model");
        return false;
    }
    if (t & MEM_LARGE_PAGES) {
        if ((t & (MEM_RESERVE | MEM_COMMIT)) != (MEM_RESERVE | MEM_COMMIT))
            m_fail(x, ERROR_INVALID_PARAMETER, "§5.3: MEM_LARGE_PAGES needs MEM_RESERVE|MEM_COMMIT");
        else
            m_unmodelled(x, "MEM_LARGE_PAGES is not in the model");
        return false;
    }
    if (t & MEM_WRITE_WATCH) {
        if (!(t & MEM_RESERVE)) {
            m_fail(x, ERROR_INVALID_PARAMETER, "W19: MEM_WRITE_WATCH needs MEM_RESERVE");
            return false;
        }
        if (!(m->features & M_FEAT_WATCH)) {
            m_unmodelled(x, "write watch switched off");
            return false;
        }
    }
    return true;
}

static void reserve_effect(m_expect_t *x, uint64_t base, uint64_t end, uint32_t t,
                           uint32_t prot, uint8_t placeholder)
{
    x->e.kind = M_E_RESERVE;
    x->e.lo = base;
    x->e.hi = end;
    x->e.prot = m_prot_stored(prot);
    x->e.commit = (t & MEM_COMMIT) != 0;
    x->e.watch = (t & MEM_WRITE_WATCH) != 0;
    x->e.placeholder = placeholder;
}

void m_predict_reserve_anywhere(const m_model_t *m, uint64_t size, uint32_t t, uint32_t prot,
                                m_expect_t *x)
{
    if (size > UINT64_MAX - (M_PAGE - 1) || ((size + M_PAGE - 1) & ~(M_PAGE - 1)) > USER_SPAN)
        return m_fail(x, ERROR_INVALID_PARAMETER, "A17/SD: size larger than user space");
    uint64_t psize = (size + M_PAGE - 1) & ~(M_PAGE - 1);
    if (psize > NEVER_FITS)
        return m_fail(x, ERROR_NOT_ENOUGH_MEMORY, "§5.3: out of address space");
    if (psize > SURELY_FITS)
        return m_unmodelled(x, "reserve-anywhere of more than 1 TiB: the kernel decides");
    if ((t & MEM_COMMIT) && !m_charge_ok(m, psize, x))
        return;
    m_succeed(x, 0, "§5.3/A2/A12: reserve anywhere");
    x->learn_base = true;
    x->learn_size = psize;
    x->learn_align = M_GRAN;
    x->learn_lo = M_MIN;
    x->learn_hi = M_TOP;
    reserve_effect(x, 0, psize, t, prot, (t & MEM_RESERVE_PLACEHOLDER) ? M_PH_FREE : M_PH_NONE);
}

void m_predict_reserve_at(const m_model_t *m, uint64_t addr, uint64_t size, uint32_t t,
                          uint32_t prot, m_expect_t *x)
{
    uint64_t base = addr & ~(M_GRAN - 1), lo, hi;
    if (!m_page_range(addr, size, &lo, &hi))
        return m_fail(x, ERROR_INVALID_PARAMETER, "A17: address + size wraps");
    if (base < M_MIN)
        return m_fail(x, ERROR_INVALID_PARAMETER, "A17: reserve below 0x10000");
    if (hi > M_TOP)
        return m_fail(x, ERROR_INVALID_PARAMETER, "A17: end beyond user space");
    if (m_overlaps_alloc(m, base, hi))
        return m_fail(x, ERROR_INVALID_ADDRESS, "§5.3/A14/P10: range not free");
    if (!m_range_known_free(m, base, hi))
        return m_unmodelled(x, "reserve over memory the model does not know");
    if ((t & MEM_COMMIT) && !m_charge_ok(m, hi - base, x))
        return;
    m_succeed(x, base, "§5.3/A17: reserve at the 64 KiB-rounded address");
    reserve_effect(x, base, hi, t, prot, (t & MEM_RESERVE_PLACEHOLDER) ? M_PH_FREE : M_PH_NONE);
}

/* Range checks shared by commit and reset: the pages touching [addr, addr+size). Pages
 * below 0x10000 are free memory (§5.3: commit outside a reservation → 487); A17's 87 for
 * them is Wine's implementation, not a Windows row. */
static bool page_range_checked(uint64_t addr, uint64_t size, uint64_t *lo, uint64_t *hi,
                               m_expect_t *x)
{
    if (!m_page_range(addr, size, lo, hi)) {
        m_fail(x, ERROR_INVALID_PARAMETER, "A17: address + size wraps");
        return false;
    }
    if (*hi > M_TOP) {
        m_fail(x, ERROR_INVALID_PARAMETER, "A17: end beyond user space");
        return false;
    }
    return true;
}

void m_predict_commit(const m_model_t *m, uint64_t addr, uint64_t size, uint32_t prot,
                      m_expect_t *x)
{
    uint64_t lo, hi;
    if (!page_range_checked(addr, size, &lo, &hi, x))
        return;
    const m_alloc_t *a = m_find(m, lo);
    if (!a)
        return m_fail(x, ERROR_INVALID_ADDRESS, "A15/§5.3: commit outside a reservation");
    if (hi > a->end)
        return m_fail(x, ERROR_INVALID_ADDRESS, "§5.3: commit range leaves the allocation");
    if (a->placeholder == M_PH_FREE)
        return m_fail(x, ERROR_INVALID_ADDRESS, "P10: commit in a placeholder");
    if (!m_charge_ok(m, m_uncommitted_bytes(a, lo, hi), x))
        return;
    m_succeed(x, lo, "§5.3/A4/A13: commit (re-commit sets the protection)");
    x->e.kind = M_E_COMMIT;
    x->e.lo = lo;
    x->e.hi = hi;
    x->e.prot = m_prot_stored(prot);
}

void m_predict_reset(const m_model_t *m, uint64_t addr, uint64_t size, bool undo, m_expect_t *x)
{
    uint64_t lo, hi;
    if (!page_range_checked(addr, size, &lo, &hi, x))
        return;
    const m_alloc_t *a = m_find(m, lo);
    if (!a) {
        if (m_known_free(m, lo))
            return m_fail(x, ERROR_INVALID_ADDRESS, "R3: reset outside a reservation");
        return m_unmodelled(x, "reset of memory the model does not know");
    }
    if (hi > a->end)
        return m_fail(x, ERROR_INVALID_ADDRESS, "R3: reset range leaves the allocation");
    x->e.lo = lo;
    x->e.hi = hi;
    if (!undo) {
        m_succeed(x, lo, "R1/R2: reset (reserved pages too)");
        x->e.kind = M_E_RESET;
        return;
    }
    m_succeed(x, lo, "§5.3/SD: reset undo succeeds (data intact) or fails with 487");
    x->may_fail = ERROR_INVALID_ADDRESS;
    x->e.kind = M_E_RESET_UNDO;
}

void m_predict_alloc(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    uint32_t t = c->type, prot = c->prot;
    if (c->from_app && m_prot_executable(prot))
        return m_fail(x, ERROR_INVALID_PARAMETER, "X2: FromApp refuses execute protections");
    if (c->size == 0)
        return m_fail(x, ERROR_INVALID_PARAMETER, "A1: size 0");
    if ((t & ~VA_TYPES) || !(t & VA_ACTIONS))
        return m_fail(x, ERROR_INVALID_PARAMETER, "§5.3: allocation type bits");
    if (!m_prot_valid(prot, M_PROT_ALLOC))
        return m_fail(x, ERROR_INVALID_PARAMETER, "§6/§1.2: invalid protection");
    if (!m_check_combination(m, t, prot, x))
        return;
    if (t & (MEM_RESET | MEM_RESET_UNDO)) {
        if (c->addr == 0)
            return m_fail(x, ERROR_INVALID_PARAMETER, "SD: MEM_RESET with a NULL address");
        return m_predict_reset(m, c->addr, c->size, (t & MEM_RESET_UNDO) != 0, x);
    }
    if (c->addr == 0)
        return m_predict_reserve_anywhere(m, c->size, t, prot, x);
    if (t & MEM_RESERVE)
        return m_predict_reserve_at(m, c->addr, c->size, t, prot, x);
    m_predict_commit(m, c->addr, c->size, prot, x);
}
