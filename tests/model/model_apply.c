/*
 * model_apply.c — applies a checked prediction's effect to the model: the page-level
 * meaning of commit, decommit, release, protect, lock, reset and the placeholder
 * operations. Keeps m->committed and m->locked equal to the sums over pages.
 */
#include <stdlib.h>
#include <string.h>

#include "model_internal.h"

/* ---- page transforms --------------------------------------------------------------------- */

static void commit_run(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes, const void *arg)
{
    uint32_t prot = *(const uint32_t *)arg;
    if (!p->committed) {
        m->committed += bytes;
        p->committed = 1;
        p->content = M_ZERO; /* §5.2: committed memory reads as zero */
        p->tag = 0;
    }
    p->prot = prot; /* A13: re-commit sets the protection (MODEL: with its cache bits) */
    if ((m->rules_off & M_RULE_NO_SPURIOUS_WATCH) && a->watch && p->locked && p->dirty != 1)
        p->dirty = M_MAYBE; /* tolerated: hostmem K5 */
}

static void decommit_run(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes,
                         const void *arg)
{
    (void)a;
    (void)arg;
    if (p->committed)
        m->committed -= bytes;
    if (p->locked)
        m->locked -= bytes;
    uint8_t keep = (m->rules_off & M_RULE_PROTECT_LATCHES_WATCH) ? 0 : p->latched;
    *p = (m_page_t){0};
    p->dirty = keep;   /* W23: decommit clears watch state, W25: unless latched (or perhaps) */
    p->latched = keep;
}

/* §1.2: the cache attribute (NOCACHE/WRITECOMBINE) is the allocation's: VirtualProtect
 * drops a requested one and applies the allocation's (MODEL, as hostmem: the rows only
 * show allocations whose pages were committed with the same attribute). §6: never with
 * NOACCESS or GUARD (M_RULE_CACHE_VALID). GUARD is set or cleared as asked. */
static void protect_run(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes, const void *arg)
{
    (void)bytes;
    uint32_t prot = *(const uint32_t *)arg & ~(PAGE_NOCACHE | PAGE_WRITECOMBINE);
    uint32_t cache = a->alloc_prot & (PAGE_NOCACHE | PAGE_WRITECOMBINE);
    if (!(m->rules_off & M_RULE_CACHE_VALID) &&
        ((prot & 0xFFu) == PAGE_NOACCESS || (prot & PAGE_GUARD)))
        cache = 0;
    p->prot = prot | cache;
    if (!(m->rules_off & M_RULE_PROTECT_LATCHES_WATCH) && p->dirty)
        p->latched = p->dirty; /* W25 */
    if ((m->rules_off & M_RULE_NO_SPURIOUS_WATCH) && a->watch && p->locked && p->dirty != 1) {
        p->dirty = M_MAYBE; /* tolerated: hostmem K5 (and this protect latches it) */
        p->latched = p->latched == 1 ? 1 : M_MAYBE;
    }
}

static void lock_run(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes, const void *arg)
{
    (void)arg;
    if (!p->locked)
        m->locked += bytes;
    p->locked = 1;
    uint32_t b = p->prot & 0xFFu;
    if (a->watch && !(m->rules_off & M_RULE_LOCK_MARKS_WATCH) &&
        (b == PAGE_READWRITE || b == PAGE_EXECUTE_READWRITE))
        p->dirty = 1; /* G6: a successful lock reports the (writable) page written */
}

static void unlock_run(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes, const void *arg)
{
    (void)a;
    (void)arg;
    if (p->locked)
        m->locked -= bytes;
    p->locked = 0;
}

static void unguard_run(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes, const void *arg)
{
    (void)m;
    (void)a;
    (void)bytes;
    (void)arg;
    p->prot &= ~PAGE_GUARD;
}

static void reset_run(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes, const void *arg)
{
    (void)m;
    (void)bytes;
    (void)arg;
    if (p->committed && p->content == M_TAG)
        p->content = M_TAG_OR_ZERO; /* R1: contents may or may not survive */
    if (p->committed && a->watch && !p->dirty)
        p->dirty = M_MAYBE; /* SD "MEM_RESET on watched pages": kept, or a false positive */
}

static void undo_run(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes, const void *arg)
{
    (void)m;
    (void)bytes;
    (void)arg;
    if (p->committed && p->content == M_TAG_OR_ZERO)
        p->content = M_TAG; /* §5.3: a successful undo means the data is intact */
    if (p->committed && a->watch) /* SD "MEM_RESET_UNDO on watched pages": a write */
        p->dirty = p->locked && (m->rules_off & M_RULE_UNDO_MARKS_LOCKED) && p->dirty != 1 ? M_MAYBE : 1;
}

static void watch_reset_run(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes,
                            const void *arg)
{
    (void)m;
    (void)a;
    (void)bytes;
    (void)arg;
    p->dirty = 0;
    p->latched = 0;
}

/* GetWriteWatch over pages of unknown state: what it reported decides them. */
typedef struct bits {
    uint8_t dirty, latched;
} bits_t;

static void set_bits_run(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes, const void *arg)
{
    (void)m;
    (void)a;
    (void)bytes;
    p->dirty = ((const bits_t *)arg)->dirty;
    p->latched = ((const bits_t *)arg)->latched;
}

static void m_set_watch_bits(m_model_t *m, m_alloc_t *a, uint64_t pg, uint8_t dirty, uint8_t latched)
{
    bits_t b = {dirty, latched};
    m_each_run(m, a, pg, pg + M_PAGE, set_bits_run, &b);
}

static void resolve_watch(m_model_t *m, m_alloc_t *a, uint64_t lo, uint64_t hi,
                          const m_result_t *r)
{
    for (uint64_t pg = lo; pg < hi; pg += M_PAGE) {
        m_page_t v = m_page_at(a, pg);
        if (v.dirty != M_MAYBE && v.latched != M_MAYBE)
            continue;
        bool reported = false;
        for (uint64_t i = 0; i < r->count && i < M_WW_MAX && !reported; i++)
            reported = r->addrs[i] == pg;
        m_set_watch_bits(m, a, pg, reported ? 1 : 0, reported ? v.latched : 0);
    }
}

/* ---- allocation-level effects ------------------------------------------------------------ */

static void drop_pages(m_model_t *m, m_alloc_t *a)
{
    m_each_run(m, a, a->base, a->end, unlock_run, NULL);
    m_each_run(m, a, a->base, a->end, decommit_run, NULL);
    m_each_run(m, a, a->base, a->end, watch_reset_run, NULL);
}

static void reserve(m_model_t *m, const m_effect_t *e, uint64_t base)
{
    m_alloc_t *a = m_insert_alloc(m, base, base + (e->hi - e->lo), e->prot);
    a->watch = e->watch;
    a->placeholder = e->placeholder;
    if (e->commit)
        m_each_run(m, a, a->base, a->end, commit_run, &e->prot);
}

/* P16/P17: the placeholder [base, end) becomes up to three placeholders around [lo, hi). */
static void split(m_model_t *m, const m_effect_t *e)
{
    m_alloc_t *a = m_find(m, e->lo);
    uint64_t base = a->base, end = a->end;
    uint32_t prot = a->alloc_prot;
    m_remove_alloc(m, a);
    uint64_t cuts[4] = {base, e->lo, e->hi, end};
    for (int i = 0; i < 3; i++)
        if (cuts[i] < cuts[i + 1])
            m_insert_alloc(m, cuts[i], cuts[i + 1], prot)->placeholder = M_PH_FREE;
}

static void coalesce(m_model_t *m, const m_effect_t *e)
{
    uint32_t prot = m_find(m, e->lo)->alloc_prot;
    m_alloc_t *a;
    while ((a = m_find(m, e->lo)) != NULL || (a = (m_alloc_t *)m_next_alloc(m, e->lo)) != NULL) {
        if (a->base >= e->hi)
            break;
        m_remove_alloc(m, a);
    }
    m_insert_alloc(m, e->lo, e->hi, prot)->placeholder = M_PH_FREE;
}

/* Moves the runs of [lo, hi) of a into b (an allocation covering exactly that range). */
static void move_runs(m_alloc_t *a, m_alloc_t *b)
{
    b->nruns = 0;
    for (uint32_t i = 0; i < a->nruns; i++) {
        uint64_t first = a->runs[i].first, end = i + 1 < a->nruns ? a->runs[i + 1].first
                                                                  : a->end / M_PAGE;
        if (end <= b->base / M_PAGE || first >= b->end / M_PAGE)
            continue;
        if (b->nruns == b->cap) {
            b->cap = b->cap * 2 + 8;
            b->runs = realloc(b->runs, b->cap * sizeof *b->runs);
            if (!b->runs)
                abort();
        }
        b->runs[b->nruns].first = first < b->base / M_PAGE ? b->base / M_PAGE : first;
        b->runs[b->nruns++].v = a->runs[i].v;
    }
}

/* P8 and SD "... on part of an allocation that replaced a placeholder": [lo, hi) becomes a
 * free placeholder (fresh pages); the pages before and after stay allocated, each its own
 * allocation with its contents, protections and locks. */
static void to_placeholder(m_model_t *m, m_alloc_t *a, uint64_t lo, uint64_t hi)
{
    m_each_run(m, a, lo, hi, unlock_run, NULL);
    m_each_run(m, a, lo, hi, decommit_run, NULL);
    m_each_run(m, a, lo, hi, watch_reset_run, NULL);
    m_alloc_t old = *a;
    uint64_t cuts[4] = {old.base, lo, hi, old.end};
    old.runs = malloc(a->cap * sizeof *a->runs);
    if (!old.runs)
        abort();
    memcpy(old.runs, a->runs, a->nruns * sizeof *a->runs);
    m_remove_alloc(m, a);
    for (int i = 0; i < 3; i++) {
        if (cuts[i] >= cuts[i + 1])
            continue;
        m_alloc_t *b = m_insert_alloc(m, cuts[i], cuts[i + 1], old.alloc_prot);
        move_runs(&old, b);
        b->watch = old.watch;
        b->placeholder = M_PH_REPLACED;
        if (i == 1) {
            b->placeholder = M_PH_FREE;
            b->alloc_prot = PAGE_NOACCESS; /* P8: VQ shows NOACCESS again */
            b->watch = 0;
        }
    }
    free(old.runs);
}

void m_apply_effect(m_model_t *m, const m_effect_t *e, uint64_t learned_base,
                    const m_result_t *actual, bool ok)
{
    (void)actual;
    m_alloc_t *a = e->kind == M_E_RESERVE || e->kind == M_E_NONE ? NULL : m_find(m, e->lo);
    uint32_t prot = e->prot;
    if (!ok && e->kind != M_E_CLEAR_GUARD)
        return;
    switch (e->kind) {
    case M_E_NONE: break;
    case M_E_RESERVE: reserve(m, e, e->lo ? e->lo : learned_base); break;
    case M_E_COMMIT: m_each_run(m, a, e->lo, e->hi, commit_run, &prot); break;
    case M_E_DECOMMIT: m_each_run(m, a, e->lo, e->hi, decommit_run, NULL); break;
    case M_E_RELEASE: drop_pages(m, a); m_remove_alloc(m, a); break;
    case M_E_PROTECT: m_each_run(m, a, e->lo, e->hi, protect_run, &prot); break;
    case M_E_LOCK: m_each_run(m, a, e->lo, e->hi, lock_run, NULL); break;
    case M_E_UNLOCK: m_each_run(m, a, e->lo, e->hi, unlock_run, NULL); break;
    case M_E_CLEAR_GUARD: m_each_run(m, a, e->lo, e->hi, unguard_run, NULL); break;
    case M_E_RESET: m_each_run(m, a, e->lo, e->hi, reset_run, NULL); break;
    case M_E_RESET_UNDO: m_each_run(m, a, e->lo, e->hi, undo_run, NULL); break;
    case M_E_WATCH_RESET:
        if (e->fuzzy) {
            uint64_t end = actual->count < e->cap ? e->hi : actual->addrs[actual->count - 1] + M_PAGE;
            resolve_watch(m, a, e->lo, end, actual);
            if (e->reset)
                m_each_run(m, a, e->lo, end, watch_reset_run, NULL);
        } else {
            m_each_run(m, a, e->lo, e->hi, watch_reset_run, NULL);
        }
        break;
    case M_E_SPLIT: split(m, e); break;
    case M_E_COALESCE: coalesce(m, e); break;
    case M_E_TO_PLACEHOLDER: to_placeholder(m, a, e->lo, e->hi); break;
    case M_E_REPLACE:
        a->placeholder = M_PH_REPLACED;
        a->alloc_prot = prot;
        a->watch = e->watch;
        if (e->commit)
            m_each_run(m, a, a->base, a->end, commit_run, &prot);
        break;
    }
}
