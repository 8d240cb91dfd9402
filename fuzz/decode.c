/*
 * decode.c — the fuzzer's input format (see decode.h). One byte picks the step, then each
 * argument is a class byte and its payload. Tables hold the values that matter (valid
 * flags and protections, boundaries); a class flips one bit of a table value or takes 32
 * raw bits, so every bit pattern is reachable.
 */
#include "decode.h"

#include <string.h>

#define P M_PAGE
#define G M_GRAN
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

bool hm_rd_done(const hm_rd_t *r)
{
    return r->i >= r->n;
}

static uint8_t u8(hm_rd_t *r)
{
    return r->i < r->n ? r->p[r->i++] : 0;
}

static uint32_t u16(hm_rd_t *r)
{
    return (uint32_t)u8(r) | (uint32_t)u8(r) << 8;
}

static uint32_t u32(hm_rd_t *r)
{
    return u16(r) | u16(r) << 16;
}

static uint64_t u64(hm_rd_t *r)
{
    return (uint64_t)u32(r) | (uint64_t)u32(r) << 32;
}

/* ---- addresses --------------------------------------------------------------------------- */

static const uint64_t special_addrs[] = {
    0, 1, 0xFFF, 0x1000, 0xFFFF, 0x10000, 0x10001, 0x1F000,
    M_MAX, M_MAX + 1, M_MAX - P + 1, M_MAX - G + 1, 0x7FFFFFFF0000, 0x7FFFFFFFF000,
    0x800000000000, 0xFFFF800000000000, UINT64_MAX, UINT64_MAX - P + 1, (uint64_t)1 << 63,
};

/* A position relative to one live allocation: inside, at and beside its edges. */
static uint64_t near_alloc(hm_rd_t *r, const m_alloc_t *a)
{
    uint64_t pages = (a->end - a->base) / P;
    switch (u8(r) % 16) {
    case 0: case 1: case 2: return a->base;
    case 3: case 4: case 5: case 6: return a->base + (u16(r) % pages) * P;
    case 7: return a->base + (u16(r) % pages) * P + (u8(r) % 2 ? P - 1 : 1);
    case 8: return a->base + 1;
    case 9: return a->end - P;
    case 10: return a->end - 1;
    case 11: return a->end;
    case 12: return a->end + P;
    case 13: return a->base - P;
    case 14: return (a->end + G - 1) & ~(G - 1); /* the next granule */
    default: return a->base - G;
    }
}

/* A page inside a live allocation (for the driver's reads and writes). */
static uint64_t inside(hm_rd_t *r, const hm_decode_ctx_t *c)
{
    const m_model_t *m = c->m;
    if (m->n == 0)
        return c->arena_lo;
    const m_alloc_t *a = &m->a[u8(r) % m->n];
    return a->base + (u16(r) % ((a->end - a->base) / P)) * P + u8(r);
}

static uint64_t address(hm_rd_t *r, const hm_decode_ctx_t *c)
{
    const m_model_t *m = c->m;
    uint64_t arena_pages = (c->arena_hi - c->arena_lo) / P;
    uint8_t k = u8(r) % 16;
    if (k < 7 && m->n > 2)
        return near_alloc(r, &m->a[u8(r) % m->n]);
    switch (k) {
    case 0: case 1: case 2: case 7: return c->arena_lo + (u8(r) % 64) * G; /* dense granules */
    case 3: case 8: return c->arena_lo + (u8(r) % 64) * G + (u8(r) % 16) * P;
    case 4: case 9: return c->last_addr;
    case 5: return c->arena_lo + (u16(r) % arena_pages) * P;
    case 6: case 10: return c->last_ret + (uint64_t)(int8_t)u8(r) * P;
    case 11: return special_addrs[u8(r) % COUNT(special_addrs)];
    case 12: return c->arena_lo + u32(r) % (c->arena_hi - c->arena_lo); /* unaligned */
    case 13: return m->n ? near_alloc(r, &m->a[u8(r) % m->n]) : 0; /* the fences too */
    case 14: return 0;
    default: return u64(r);
    }
}

/* ---- sizes ------------------------------------------------------------------------------- */

static uint64_t size_near_alloc(hm_rd_t *r, const hm_decode_ctx_t *c, uint64_t addr)
{
    const m_alloc_t *a = m_find(c->m, addr);
    if (!a)
        a = c->m->n ? &c->m->a[u8(r) % c->m->n] : NULL;
    if (!a)
        return P;
    uint64_t to_end = a->end - addr;
    switch (u8(r) % 6) {
    case 0: case 1: return to_end;
    case 2: return to_end + 1;
    case 3: return to_end + P;
    case 4: return to_end - 1;
    default: return a->end - a->base;
    }
}

static uint64_t size(hm_rd_t *r, const hm_decode_ctx_t *c, uint64_t addr)
{
    const uint64_t huge[] = {
        UINT64_MAX, UINT64_MAX - P + 1, UINT64_MAX - P + 2, (uint64_t)1 << 63,
        0x800000000000, 0x7FFFFFFE0000, 0x7FFFFFFE1000, 0x7FFFFFFF0000,
        M_TOP - addr, M_TOP - addr + 1, M_TOP - addr - P, 0 - addr, 0 - addr + P,
    };
    switch (u8(r) % 16) {
    case 0: return 0;
    case 1: return 1 + u8(r);
    case 2: case 3: case 4: case 5: return (u8(r) % 16 + 1) * P;
    case 6: return (u8(r) % 16 + 1) * P + (u8(r) % 2 ? 1 : (uint64_t)-1);
    case 7: case 8: return size_near_alloc(r, c, addr);
    case 9: return c->last_size;
    case 10: return (u8(r) % 16 + 1) * G;
    case 11: return huge[u8(r) % COUNT(huge)];
    case 12: return (uint64_t)(u8(r) % 64 + 1) << 20;
    case 13: return (uint64_t)(u8(r) % 16 + 1) << 30;
    case 14: return u32(r);
    default: return P;
    }
}

/* ---- flags ------------------------------------------------------------------------------- */

static const uint32_t alloc_types[] = {
    MEM_RESERVE, MEM_COMMIT, MEM_RESERVE | MEM_COMMIT, MEM_COMMIT, MEM_RESERVE | MEM_COMMIT,
    MEM_COMMIT, MEM_RESET, MEM_RESET_UNDO, MEM_RESERVE | MEM_TOP_DOWN,
    MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN, MEM_RESERVE | MEM_WRITE_WATCH,
    MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH,
    MEM_RESERVE | MEM_RESERVE_PLACEHOLDER, MEM_RESERVE | MEM_RESERVE_PLACEHOLDER,
    MEM_RESERVE | MEM_REPLACE_PLACEHOLDER, MEM_RESERVE | MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
};
static const uint32_t odd_alloc_types[] = {
    MEM_WRITE_WATCH, MEM_COMMIT | MEM_TOP_DOWN, MEM_RESERVE | MEM_COMMIT | MEM_LARGE_PAGES,
    MEM_RESERVE | MEM_PHYSICAL, MEM_RESERVE | MEM_RESET, MEM_COMMIT | MEM_DECOMMIT, 0,
    MEM_TOP_DOWN, MEM_RESET | MEM_RESET_UNDO, MEM_COMMIT | MEM_REPLACE_PLACEHOLDER,
    MEM_REPLACE_PLACEHOLDER, MEM_RESERVE_PLACEHOLDER | MEM_REPLACE_PLACEHOLDER | MEM_RESERVE,
    MEM_RESERVE | MEM_COMMIT | MEM_RESERVE_PLACEHOLDER, MEM_PHYSICAL | MEM_LARGE_PAGES,
};

/* Mostly a table value; sometimes an odd one, one bit flipped, or 32 raw bits. */
static uint32_t bits(hm_rd_t *r, const uint32_t *table, size_t n, const uint32_t *odd, size_t nodd)
{
    switch (u8(r) % 16) {
    case 12: case 13: return odd[u8(r) % nodd];
    case 14: return table[u8(r) % n] ^ (1u << (u8(r) % 32));
    case 15: return u32(r);
    default: return table[u8(r) % n];
    }
}

/* The features switched off would only be skipped: keep them rare. */
static uint32_t feature_filter(hm_rd_t *r, const hm_decode_ctx_t *c, uint32_t t)
{
    uint32_t off = 0;
    if (!(c->features & M_FEAT_WATCH))
        off |= MEM_WRITE_WATCH;
    if (!(c->features & M_FEAT_PLACEHOLDER))
        off |= MEM_RESERVE_PLACEHOLDER | MEM_REPLACE_PLACEHOLDER | MEM_COALESCE_PLACEHOLDERS |
               MEM_PRESERVE_PLACEHOLDER;
    return u8(r) % 16 == 0 ? t : t & ~off;
}

static uint32_t protection(hm_rd_t *r)
{
    static const uint32_t bases[] = {PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE,
                                     PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE,
                                     PAGE_READWRITE, PAGE_READONLY};
    static const uint32_t mods[] = {PAGE_GUARD, PAGE_GUARD, PAGE_NOCACHE, PAGE_WRITECOMBINE,
                                    PAGE_TARGETS_INVALID, PAGE_GUARD | PAGE_NOCACHE,
                                    PAGE_WRITECOPY, PAGE_NOCACHE | PAGE_WRITECOMBINE};
    uint8_t k = u8(r);
    uint32_t p = bases[k % 8];
    switch ((k >> 3) % 32) {
    case 24: case 25: case 26: case 27: return p | mods[u8(r) % 8];
    case 28: case 29: return p ^ (1u << (u8(r) % 32));
    case 30: return u32(r);
    case 31: return 0;
    default: return p;
    }
}

static const uint32_t free_types[] = {
    MEM_DECOMMIT, MEM_RELEASE, MEM_DECOMMIT, MEM_RELEASE,
    MEM_RELEASE | MEM_PRESERVE_PLACEHOLDER, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS,
};
static const uint32_t odd_free_types[] = {
    0, MEM_DECOMMIT | MEM_RELEASE, MEM_FREE, MEM_DECOMMIT | MEM_PRESERVE_PLACEHOLDER,
    MEM_COALESCE_PLACEHOLDERS, MEM_RELEASE | MEM_COALESCE_PLACEHOLDERS | MEM_PRESERVE_PLACEHOLDER,
    MEM_PRESERVE_PLACEHOLDER, MEM_RESERVE, MEM_DECOMMIT | MEM_COALESCE_PLACEHOLDERS,
};

/* A live allocation of the given placeholder kind, or NULL. */
static const m_alloc_t *pick_kind(hm_rd_t *r, const m_model_t *m, uint8_t kind)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < m->n; i++)
        n += m->a[i].placeholder == kind;
    if (n == 0)
        return NULL;
    uint32_t k = u8(r) % n;
    for (uint32_t i = 0; i < m->n; i++)
        if (m->a[i].placeholder == kind && k-- == 0)
            return &m->a[i];
    return NULL;
}

/* Placeholder-shaped arguments: exactly a placeholder, a piece of one, a run of them. */
static void placeholder_range(hm_rd_t *r, const m_model_t *m, m_call_t *k)
{
    const m_alloc_t *a = pick_kind(r, m, u8(r) % 3 ? M_PH_FREE : M_PH_REPLACED);
    if (!a)
        return;
    uint64_t pages = (a->end - a->base) / P;
    switch (u8(r) % 5) {
    case 0: /* the whole of it */
        k->addr = a->base;
        k->size = a->end - a->base;
        break;
    case 1: case 2: { /* a piece */
        uint64_t first = u16(r) % pages;
        k->addr = a->base + first * P;
        k->size = (1 + u16(r) % (pages - first)) * P;
        break;
    }
    default: { /* from it to the end of a later neighbour */
        const m_alloc_t *b = a;
        for (int hops = u8(r) % 4; hops > 0 && b + 1 < m->a + m->n && b[1].base == b->end; hops--)
            b++;
        k->addr = a->base;
        k->size = b->end - a->base + (u8(r) % 8 == 0 ? P : 0);
        break;
    }
    }
}

/* ---- steps ------------------------------------------------------------------------------- */

static void alloc_call(hm_rd_t *r, const hm_decode_ctx_t *c, m_call_t *k)
{
    k->op = M_VIRTUAL_ALLOC;
    k->from_app = u8(r) % 6 == 0;
    k->type = feature_filter(r, c, bits(r, alloc_types, COUNT(alloc_types), odd_alloc_types,
                                          COUNT(odd_alloc_types)));
    k->addr = u8(r) % 3 == 0 ? 0 : address(r, c);
    k->size = size(r, c, k->addr);
    k->prot = protection(r);
}

static void requirements(hm_rd_t *r, const hm_decode_ctx_t *c, m_param_t *p)
{
    static const uint64_t aligns[] = {0, G, 2 * G, 0x40000, 0x100000, 0x8000, 0x30000,
                                      (uint64_t)1 << 30};
    p->type = MemExtendedParameterAddressRequirements;
    switch (u8(r) % 4) {
    case 0: /* inside the arena */
        p->lowest = c->arena_lo + (u8(r) % 64) * G;
        p->highest = p->lowest + (u8(r) % 64 + 1) * G - 1;
        break;
    case 1: /* open above or below */
        p->lowest = u8(r) % 2 ? c->arena_lo : 0;
        p->highest = 0;
        break;
    case 2: /* the rows' values */
        p->lowest = u8(r) % 2 ? 0x20000000 : 0;
        p->highest = (uint64_t[]){0x20000FFF, 0x20001001, 0x20000FFE, M_MAX, M_MAX + P,
                                  0x2FFFFFFF, 0, 0x1FFFFFFF}[u8(r) % 8];
        break;
    default:
        p->lowest = u64(r) & ~(P - 1);
        p->highest = u64(r);
        break;
    }
    p->alignment = aligns[u8(r) % COUNT(aligns)];
}

static void alloc2_call(hm_rd_t *r, const hm_decode_ctx_t *c, m_call_t *k)
{
    static const uint64_t handles[] = {UINT64_MAX, 0, UINT64_MAX, 0, 0x1234, UINT64_MAX - 1};
    k->op = M_VIRTUAL_ALLOC2;
    k->from_app = u8(r) % 6 == 0;
    k->process = handles[u8(r) % COUNT(handles)];
    k->type = feature_filter(r, c, bits(r, alloc_types, COUNT(alloc_types), odd_alloc_types,
                                          COUNT(odd_alloc_types)));
    k->addr = u8(r) % 3 == 0 ? 0 : address(r, c);
    if (u8(r) % 2)
        k->addr &= ~(G - 1);
    k->size = size(r, c, k->addr);
    if (u8(r) % 2)
        k->size &= ~(P - 1);
    k->prot = protection(r);
    if ((k->type & MEM_RESERVE_PLACEHOLDER) && u8(r) % 4)
        k->prot = PAGE_NOACCESS;
    if ((k->type & MEM_REPLACE_PLACEHOLDER) && u8(r) % 4)
        placeholder_range(r, c->m, k);
    uint8_t np = u8(r);
    k->nparams = np % 8 < 5 ? 0 : np % 8 - 4; /* 0..3, and rarely more than the array */
    k->params_null = np >= 0xF0;
    if (np == 0xEF)
        k->nparams = 6; /* more than five: refused before any is read */
    for (uint32_t i = 0; i < k->nparams && i < M_MAX_PARAMS; i++) {
        uint8_t t = u8(r);
        m_param_t *p = &k->param[i];
        if (t % 8 < 5) {
            requirements(r, c, p);
            p->pointer_null = t == 0x80;
        } else {
            p->type = (uint64_t[]){0, MemExtendedParameterMax, MemExtendedParameterNumaNode,
                                   0xFF, MemExtendedParameterAttributeFlags,
                                   MemExtendedParameterPartitionHandle,
                                   MemExtendedParameterUserPhysicalHandle,
                                   MemExtendedParameterNumaNode}[u8(r) % 8];
            p->value = u8(r) % 2 ? u8(r) % 8 : (uint64_t)1 << (u8(r) % 64);
        }
        p->reserved = u8(r) == 0x5A ? 1 : 0;
    }
}

static void free_call(hm_rd_t *r, const hm_decode_ctx_t *c, m_call_t *k)
{
    k->op = M_VIRTUAL_FREE;
    k->type = feature_filter(r, c, bits(r, free_types, COUNT(free_types), odd_free_types,
                                          COUNT(odd_free_types)));
    k->addr = address(r, c);
    k->size = u8(r) % 2 ? 0 : size(r, c, k->addr);
    if ((k->type & (MEM_PRESERVE_PLACEHOLDER | MEM_COALESCE_PLACEHOLDERS)) && u8(r) % 4)
        placeholder_range(r, c->m, k);
}

static void range_call(hm_rd_t *r, const hm_decode_ctx_t *c, m_call_t *k, m_op_t op)
{
    k->op = op;
    k->addr = address(r, c);
    k->size = size(r, c, k->addr);
}

static void protect_call(hm_rd_t *r, const hm_decode_ctx_t *c, m_call_t *k)
{
    range_call(r, c, k, M_VIRTUAL_PROTECT);
    k->from_app = u8(r) % 6 == 0;
    k->prot = protection(r);
    k->null_out = u8(r) % 32 == 0;
}

static void query_call(hm_rd_t *r, const hm_decode_ctx_t *c, m_call_t *k)
{
    static const uint64_t lengths[] = {48, 48, 48, 48, 47, 0, 1, 49, 96, UINT64_MAX, 0x1000};
    k->op = M_VIRTUAL_QUERY;
    k->addr = address(r, c);
    k->length = lengths[u8(r) % COUNT(lengths)];
    k->null_out = u8(r) % 32 == 0;
}

/* A range inside a MEM_WRITE_WATCH allocation, most of the time. */
static void watched_range(hm_rd_t *r, const hm_decode_ctx_t *c, m_call_t *k)
{
    const m_alloc_t *w = NULL;
    uint32_t n = 0;
    for (uint32_t i = 0; i < c->m->n; i++)
        n += c->m->a[i].watch;
    for (uint32_t i = 0, pick = n ? u8(r) % n : 0; n && i < c->m->n; i++)
        if (c->m->a[i].watch && pick-- == 0)
            w = &c->m->a[i];
    if (!w || u8(r) % 4 == 0)
        return;
    uint64_t pages = (w->end - w->base) / P, first = u8(r) % 2 ? 0 : u16(r) % pages;
    k->addr = w->base + first * P;
    k->size = u8(r) % 2 ? w->end - k->addr : (1 + u16(r) % (pages - first)) * P;
}

static void watch_call(hm_rd_t *r, const hm_decode_ctx_t *c, m_call_t *k)
{
    static const uint64_t counts[] = {M_WW_MAX, M_WW_MAX, 1, 2, 3, 0, UINT64_MAX, 1000};
    range_call(r, c, k, M_GET_WRITE_WATCH);
    watched_range(r, c, k);
    uint8_t f = u8(r);
    k->type = f % 4 == 0 ? WRITE_WATCH_FLAG_RESET : f % 4 == 1 ? 0 : f % 4 == 2 ? u32(r) : 0;
    k->length = counts[u8(r) % COUNT(counts)];
    uint8_t n = u8(r);
    k->null_out = n == 1;
    k->null_count = n == 2;
    k->null_gran = n == 3;
}

void hm_decode_step(hm_rd_t *r, const hm_decode_ctx_t *c, hm_step_t *s)
{
    memset(s, 0, sizeof *s);
    s->kind = HM_STEP_CALL;
    m_call_t *k = &s->call;
    uint8_t op = u8(r);
    switch (op % 32) {
    case 0: case 1: case 2: case 3: case 4: case 5: alloc_call(r, c, k); break;
    case 6: case 7: case 8:
        if (c->features & M_FEAT_PLACEHOLDER)
            alloc2_call(r, c, k);
        else
            alloc_call(r, c, k);
        break;
    case 9: case 10: case 11: case 12: free_call(r, c, k); break;
    case 13: case 14: case 15: protect_call(r, c, k); break;
    case 16: case 17: query_call(r, c, k); break;
    case 18: range_call(r, c, k, M_VIRTUAL_LOCK); break;
    case 19: range_call(r, c, k, M_VIRTUAL_UNLOCK); break;
    case 20: case 21:
        if (c->features & M_FEAT_WATCH)
            watch_call(r, c, k);
        else
            protect_call(r, c, k);
        break;
    case 22:
        if (c->features & M_FEAT_WATCH) {
            range_call(r, c, k, M_RESET_WRITE_WATCH);
            watched_range(r, c, k);
        } else
            free_call(r, c, k);
        break;
    case 23: case 24: case 25:
        s->kind = HM_STEP_WRITE;
        s->addr = inside(r, c);
        s->tag = (uint8_t)(u8(r) | 1);
        break;
    case 26: case 27:
        s->kind = HM_STEP_READ;
        s->addr = inside(r, c);
        break;
    case 28:
        s->kind = HM_STEP_PROBE;
        s->addr = address(r, c);
        s->probe_write = u8(r) % 2;
        break;
    case 29:
        s->kind = HM_STEP_MAP;
        break;
    case 30:
        s->kind = HM_STEP_LIMIT;
        s->limit = u8(r) % 8 == 0 ? 0 : c->m->committed + (uint64_t)(u8(r) % 64) * P;
        break;
    default: alloc_call(r, c, k); break;
    }
}
