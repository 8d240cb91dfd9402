/*
 * known.c — divergences already reported to the lead and not fixed yet. Each entry matches
 * one precise pattern (call, what the model expected, what hostmem did) where both sides
 * leave the state unchanged, so fuzzing can go on past it; the driver counts the matches
 * per entry. HM_FUZZ_STRICT=1 makes them fatal like any other divergence. Delete an entry
 * when its bug is fixed: the replay test then proves the fix.
 */
#include "known.h"

#include <stdlib.h>

static bool fails_with(const m_expect_t *x, uint32_t err)
{
    return !x->ok && !x->may_fail && x->r.error == err;
}

/* K1: VirtualFree above user space with MEM_DECOMMIT and size 0 gives 487, not 87 (SD:
 * "VirtualFree above lpMaximumApplicationAddress → FALSE, 87"). */
static bool free_above_user_space(const m_call_t *c, const m_expect_t *x, const m_result_t *r)
{
    return c->op == M_VIRTUAL_FREE && c->addr > M_MAX && fails_with(x, ERROR_INVALID_PARAMETER) &&
           r->ret == 0 && r->error == ERROR_INVALID_ADDRESS;
}

/* K2: VirtualProtect(FromApp) with PAGE_GUARD on free memory gives 87 and leaves the old
 * protection unwritten; free memory is not committed: 487 and *old = PAGE_NOACCESS (§5.8,
 * SD). The SD row "PAGE_GUARD on memory hostmem did not allocate → 87" is about mapped
 * foreign memory, not free address space. */
static bool protect_guard_on_free(const m_call_t *c, const m_expect_t *x, const m_result_t *r)
{
    return c->op == M_VIRTUAL_PROTECT && (c->prot & PAGE_GUARD) &&
           fails_with(x, ERROR_INVALID_ADDRESS) && x->r.old_prot == PAGE_NOACCESS && r->ret == 0 &&
           r->error == ERROR_INVALID_PARAMETER && r->old_prot == M_SENTINEL_OLD;
}

/* K3: VirtualAlloc(NULL, size, MEM_COMMIT...) over the commit limit answers 8 instead of
 * 1455 when size is beyond what the kernel would overcommit (about RAM + swap): the
 * address space is there (a plain reserve of that size succeeds), so the commit charge must
 * decide (§5.3: "commit over limit → ERROR_COMMITMENT_LIMIT"). */
static bool anywhere_commit_over_limit(const m_call_t *c, const m_expect_t *x, const m_result_t *r)
{
    return (c->op == M_VIRTUAL_ALLOC || c->op == M_VIRTUAL_ALLOC2) && c->addr == 0 &&
           fails_with(x, ERROR_COMMITMENT_LIMIT) && r->ret == 0 &&
           r->error == ERROR_NOT_ENOUGH_MEMORY;
}

/* K4: GetWriteWatch with a huge *lpdwCount and a huge size allocates its result buffer
 * (min(count, pages) entries) before it checks the range: 8, where a range outside any
 * watched allocation must give 87 (SD "GetWriteWatch order", W10). */
static bool watch_huge_count(const m_call_t *c, const m_expect_t *x, const m_result_t *r)
{
    return c->op == M_GET_WRITE_WATCH && c->length > ((uint64_t)1 << 28) &&
           c->size > ((uint64_t)1 << 40) && fails_with(x, ERROR_INVALID_PARAMETER) &&
           r->ret == 0xFFFFFFFFu && r->error == ERROR_NOT_ENOUGH_MEMORY;
}

static const struct known {
    const char *name;
    bool (*match)(const m_call_t *, const m_expect_t *, const m_result_t *);
} table[] = {
    {"K1 VirtualFree above user space, DECOMMIT size 0: 487 not 87", free_above_user_space},
    {"K2 VirtualProtect PAGE_GUARD on free memory: 87 not 487", protect_guard_on_free},
    {"K3 VirtualAlloc(NULL, huge, MEM_COMMIT) over the commit limit: 8 not 1455",
     anywhere_commit_over_limit},
    {"K4 GetWriteWatch, huge count and size outside a watched allocation: 8 not 87",
     watch_huge_count},
};

static uint64_t hits[sizeof table / sizeof table[0]];

int hm_known_divergence(const m_call_t *c, const m_expect_t *x, const m_result_t *r)
{
    static int strict = -1;
    if (strict < 0)
        strict = getenv("HM_FUZZ_STRICT") != NULL;
    if (strict)
        return -1;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].match(c, x, r)) {
            hits[i]++;
            return (int)i;
        }
    return -1;
}

bool hm_known_avoid(const m_call_t *c)
{
    static int strict = -1;
    if (strict < 0)
        strict = getenv("HM_FUZZ_STRICT") != NULL;
    /* K4 allocates 8 bytes per page of the range first: gigabytes for a huge range */
    return !strict && c->op == M_GET_WRITE_WATCH && c->length > ((uint64_t)1 << 20) &&
           c->size > ((uint64_t)1 << 32);
}

void hm_known_report(FILE *f)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (hits[i])
            fprintf(f, "hm-fuzz: known divergence %s: %llu times\n", table[i].name,
                    (unsigned long long)hits[i]);
}
