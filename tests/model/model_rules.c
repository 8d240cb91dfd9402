/*
 * model_rules.c — rules shared by several calls (protection validity, page rounding), the
 * prediction entry point, the comparison of a prediction with what hostmem did, and the
 * commit of a checked prediction into the model.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "model_internal.h"

/* §6 and §1.2: exactly one base protection of the six valid for private memory;
 * WRITECOPY kinds only on views; GUARD not with NOACCESS; NOCACHE and WRITECOMBINE not
 * with each other, GUARD or NOACCESS; 0x40000000 (TARGETS_INVALID at allocation,
 * TARGETS_NO_UPDATE in VirtualProtect) only with an execute protection; graphics and
 * enclave bits never (not private memory). */
bool m_prot_valid(uint32_t prot, enum m_prot_use use)
{
    (void)use; /* the same bit is accepted in both places, with a different name */
    uint32_t base = prot & 0xFFu, mods = prot & 0x700u, rest = prot & ~0x7FFu;
    switch (base) {
    case PAGE_NOACCESS: case PAGE_READONLY: case PAGE_READWRITE:
    case PAGE_EXECUTE: case PAGE_EXECUTE_READ: case PAGE_EXECUTE_READWRITE:
        break;
    default:
        return false;
    }
    if (rest != 0 && !(rest == PAGE_TARGETS_INVALID && m_prot_executable(prot)))
        return false;
    if ((mods & PAGE_GUARD) && base == PAGE_NOACCESS)
        return false;
    if ((mods & PAGE_NOCACHE) && ((mods & (PAGE_GUARD | PAGE_WRITECOMBINE)) || base == PAGE_NOACCESS))
        return false;
    if ((mods & PAGE_WRITECOMBINE) && ((mods & PAGE_GUARD) || base == PAGE_NOACCESS))
        return false;
    return true;
}

/* §5.4 / X2: the execute protections FromApp refuses. */
bool m_prot_executable(uint32_t prot)
{
    return (prot & (PAGE_EXECUTE | PAGE_EXECUTE_READ | PAGE_EXECUTE_READWRITE |
                    PAGE_EXECUTE_WRITECOPY)) != 0;
}

/* MODEL: the CFG bit is a request, not part of the page protection VirtualQuery shows. */
uint32_t m_prot_stored(uint32_t prot)
{
    return prot & 0x7FFu;
}

bool m_page_range(uint64_t addr, uint64_t size, uint64_t *lo, uint64_t *hi)
{
    uint64_t end = addr + size;
    if (end < addr || end > UINT64_MAX - (M_PAGE - 1))
        return false;
    *lo = addr & ~(M_PAGE - 1);
    *hi = (end + M_PAGE - 1) & ~(M_PAGE - 1);
    return true;
}

void m_fail(m_expect_t *x, uint32_t error, const char *rule)
{
    x->ok = false;
    x->r.error = error;
    x->rule = rule;
    x->known |= M_K_RET | M_K_ERROR;
}

void m_succeed(m_expect_t *x, uint64_t ret, const char *rule)
{
    x->ok = true;
    x->r.ret = ret;
    x->r.error = M_SENTINEL_ERROR;
    x->rule = rule;
    x->known |= M_K_RET | M_K_ERROR;
}

void m_unmodelled(m_expect_t *x, const char *why)
{
    x->unmodelled = true;
    x->rule = why;
}

const char *m_op_name(m_op_t op)
{
    static const char *const names[M_OP_COUNT] = {
        "VirtualAlloc", "VirtualAlloc2", "VirtualFree", "VirtualProtect", "VirtualQuery",
        "VirtualLock", "VirtualUnlock", "GetWriteWatch", "ResetWriteWatch"};
    return op < M_OP_COUNT ? names[op] : "?";
}

static bool returns_uint_status(m_op_t op)
{
    return op == M_GET_WRITE_WATCH || op == M_RESET_WRITE_WATCH;
}

static bool returns_bool(m_op_t op)
{
    return op == M_VIRTUAL_FREE || op == M_VIRTUAL_PROTECT || op == M_VIRTUAL_LOCK ||
           op == M_VIRTUAL_UNLOCK;
}

void m_predict(const m_model_t *m, const m_call_t *c, m_expect_t *x)
{
    memset(x, 0, sizeof *x);
    x->r.old_prot = M_SENTINEL_OLD;
    x->r.count = c->op == M_GET_WRITE_WATCH ? c->length : M_SENTINEL_COUNT;
    x->r.gran = M_SENTINEL_GRAN;
    switch (c->op) {
    case M_VIRTUAL_ALLOC: m_predict_alloc(m, c, x); break;
    case M_VIRTUAL_ALLOC2: m_predict_alloc2(m, c, x); break;
    case M_VIRTUAL_FREE: m_predict_free(m, c, x); break;
    case M_VIRTUAL_PROTECT: m_predict_protect(m, c, x); break;
    case M_VIRTUAL_QUERY: m_predict_query(m, c, x); break;
    case M_VIRTUAL_LOCK: m_predict_lock(m, c, x); break;
    case M_VIRTUAL_UNLOCK: m_predict_unlock(m, c, x); break;
    case M_GET_WRITE_WATCH: m_predict_get_watch(m, c, x); break;
    case M_RESET_WRITE_WATCH: m_predict_reset_watch(m, c, x); break;
    default: m_unmodelled(x, "unknown op"); break;
    }
    if (!x->ok)
        x->r.ret = returns_uint_status(c->op) ? 0xFFFFFFFFu : 0;
}

/* ---- comparison ------------------------------------------------------------------------ */

#define WHY(...) (snprintf(why, whylen, __VA_ARGS__), -1)

static int check_placement(const m_model_t *m, const m_expect_t *x, uint64_t base, char *why,
                           size_t whylen)
{
    uint64_t size = x->learn_size;
    if (base == 0 || base % x->learn_align != 0)
        return WHY("placement: base %#" PRIx64 " not %#" PRIx64 "-aligned", base, x->learn_align);
    if (base < x->learn_lo || base > x->learn_hi || size > x->learn_hi - base)
        return WHY("placement: [%#" PRIx64 ", +%#" PRIx64 ") outside [%#" PRIx64 ", %#" PRIx64 ")",
                   base, size, x->learn_lo, x->learn_hi);
    if (m_overlaps_alloc(m, base, base + size))
        return WHY("placement: [%#" PRIx64 ", +%#" PRIx64 ") overlaps a live allocation", base,
                   size);
    return 0;
}

static int check_mbi(const m_expect_t *x, const MEMORY_BASIC_INFORMATION *a, char *why,
                     size_t whylen)
{
    const MEMORY_BASIC_INFORMATION *e = &x->r.mbi;
    if (a->BaseAddress != e->BaseAddress)
        return WHY("mbi.BaseAddress %p, expected %p", a->BaseAddress, e->BaseAddress);
    if (x->known & M_K_MBI_BASE)
        return 0;
    if (a->AllocationBase != e->AllocationBase || a->AllocationProtect != e->AllocationProtect ||
        a->State != e->State || a->Protect != e->Protect || a->Type != e->Type ||
        a->PartitionId != 0)
        return WHY("mbi {alloc %p aprot %#x state %#x prot %#x type %#x part %u}, expected "
                   "{alloc %p aprot %#x state %#x prot %#x type %#x part 0}",
                   a->AllocationBase, a->AllocationProtect, a->State, a->Protect, a->Type,
                   a->PartitionId, e->AllocationBase, e->AllocationProtect, e->State, e->Protect,
                   e->Type);
    if ((x->known & M_K_MBI) && a->RegionSize != e->RegionSize)
        return WHY("mbi.RegionSize %#zx, expected %#zx", (size_t)a->RegionSize,
                   (size_t)e->RegionSize);
    if ((x->known & M_K_MBI_PART) && a->RegionSize < e->RegionSize)
        return WHY("mbi.RegionSize %#zx, expected at least %#zx", (size_t)a->RegionSize,
                   (size_t)e->RegionSize);
    return 0;
}

/* GetWriteWatch over pages of unknown state: ascending pages of the range, each written or
 * perhaps written, and no definitely written page left out before the array filled. */
static int check_watch_fuzzy(const m_model_t *m, const m_expect_t *x, const m_result_t *a,
                             char *why, size_t whylen)
{
    const m_alloc_t *al = m_find(m, x->ww_lo);
    uint64_t cap = x->ww_cap < M_WW_MAX ? x->ww_cap : M_WW_MAX;
    if (a->gran != M_PAGE || a->count > cap)
        return WHY("write watch: count %#" PRIx64 " (array of %#" PRIx64 "), granularity %#x",
                   a->count, x->ww_cap, a->gran);
    uint64_t end = a->count < x->ww_cap ? x->ww_hi : a->addrs[a->count - 1] + M_PAGE;
    uint64_t next = 0;
    for (uint64_t pg = x->ww_lo; pg < end; pg += M_PAGE) {
        m_page_t v = m_page_at(al, pg);
        bool reported = next < a->count && a->addrs[next] == pg;
        if (reported)
            next++;
        if (reported && !v.dirty)
            return WHY("write watch reports %#" PRIx64 ", never written", pg);
        if (!reported && v.dirty == 1)
            return WHY("write watch misses %#" PRIx64 ", written", pg);
    }
    if (next != a->count)
        return WHY("write watch: entry %" PRIu64 " (%#" PRIx64 ") out of order or range", next,
                   next < M_WW_MAX ? a->addrs[next] : 0);
    return 0;
}

static int check_watch(const m_expect_t *x, const m_result_t *a, char *why, size_t whylen)
{
    if (a->count != x->r.count)
        return WHY("write watch count %#" PRIx64 ", expected %#" PRIx64, a->count, x->r.count);
    if (a->gran != x->r.gran)
        return WHY("write watch granularity %#x, expected %#x", a->gran, x->r.gran);
    for (uint64_t i = 0; x->ok && i < x->r.count && i < M_WW_MAX; i++)
        if (a->addrs[i] != x->r.addrs[i])
            return WHY("write watch address %" PRIu64 ": %#" PRIx64 ", expected %#" PRIx64, i,
                       a->addrs[i], x->r.addrs[i]);
    return 0;
}

int m_check(const m_model_t *m, const m_call_t *c, const m_expect_t *x, const m_result_t *a,
            char *why, size_t whylen)
{
    bool actual_ok = returns_uint_status(c->op) ? a->ret == 0 : a->ret != 0;
    if (x->may_fail && !actual_ok && a->error == x->may_fail)
        return 0;
    if (actual_ok != x->ok)
        return WHY("%s: returned %#" PRIx64 " (last error %u), expected %s (%s)", m_op_name(c->op),
                   a->ret, a->error, x->ok ? "success" : "failure", x->rule);
    if (x->ok) {
        if (a->error != M_SENTINEL_ERROR)
            return WHY("success changed the last error to %u (%s)", a->error, x->rule);
        if (x->learn_base) {
            if (check_placement(m, x, a->ret, why, whylen))
                return -1;
        } else if (returns_bool(c->op) ? a->ret == 0 : a->ret != x->r.ret) {
            return WHY("returned %#" PRIx64 ", expected %#" PRIx64 " (%s)", a->ret, x->r.ret,
                       x->rule);
        }
    } else {
        if (a->ret != x->r.ret)
            return WHY("failure returned %#" PRIx64 ", expected %#" PRIx64, a->ret, x->r.ret);
        if (a->error != x->r.error)
            return WHY("last error %u (%#x), expected %u (%s)", a->error, a->error, x->r.error,
                       x->rule);
    }
    if (c->op == M_VIRTUAL_PROTECT && a->old_prot != x->r.old_prot)
        return WHY("*lpflOldProtect %#x, expected %#x (%s)", a->old_prot, x->r.old_prot, x->rule);
    if (c->op == M_VIRTUAL_QUERY && x->ok && check_mbi(x, &a->mbi, why, whylen))
        return -1;
    if (c->op == M_GET_WRITE_WATCH && x->ok && x->ww_fuzzy)
        return check_watch_fuzzy(m, x, a, why, whylen);
    if (c->op == M_GET_WRITE_WATCH && check_watch(x, a, why, whylen))
        return -1;
    return 0;
}

void m_commit(m_model_t *m, const m_call_t *c, const m_expect_t *x, const m_result_t *actual)
{
    (void)c;
    if (x->unmodelled)
        return;
    bool ok = x->ok;
    if (x->may_fail && actual->ret == 0 && actual->error == x->may_fail)
        ok = false;
    m_apply_effect(m, &x->e, actual->ret, actual, ok);
}

/* ---- reproducers ----------------------------------------------------------------------- */

static const char *ptr(bool null)
{
    return null ? "NULL" : "&out";
}

int m_format_call(const m_call_t *c, char *buf, size_t n)
{
    const char *app = c->from_app ? "FromApp" : "";
    switch (c->op) {
    case M_VIRTUAL_ALLOC:
        return snprintf(buf, n, "VirtualAlloc%s((void *)%#" PRIx64 ", %#" PRIx64 ", %#x, %#x)",
                        app, c->addr, c->size, c->type, c->prot);
    case M_VIRTUAL_ALLOC2: {
        int w = snprintf(buf, n,
                         "VirtualAlloc2%s((HANDLE)%#" PRIx64 ", (void *)%#" PRIx64 ", %#" PRIx64
                         ", %#x, %#x, %s, %u)",
                         app, c->process, c->addr, c->size, c->type, c->prot,
                         c->params_null ? "NULL" : "params", c->nparams);
        for (uint32_t i = 0; !c->params_null && i < c->nparams && i < M_MAX_PARAMS && w > 0 &&
                             (size_t)w < n; i++) {
            const m_param_t *p = &c->param[i];
            w += snprintf(buf + w, n - (size_t)w,
                          " /* [%u] type %" PRIu64 "%s%s lo %#" PRIx64 " hi %#" PRIx64
                          " align %#" PRIx64 " value %#" PRIx64 " */",
                          i, p->type, p->reserved ? " reserved" : "", p->pointer_null ? " NULL" : "",
                          p->lowest, p->highest, p->alignment, p->value);
        }
        return w;
    }
    case M_VIRTUAL_FREE:
        return snprintf(buf, n, "VirtualFree((void *)%#" PRIx64 ", %#" PRIx64 ", %#x)", c->addr,
                        c->size, c->type);
    case M_VIRTUAL_PROTECT:
        return snprintf(buf, n, "VirtualProtect%s((void *)%#" PRIx64 ", %#" PRIx64 ", %#x, %s)",
                        app, c->addr, c->size, c->prot, ptr(c->null_out));
    case M_VIRTUAL_QUERY:
        return snprintf(buf, n, "VirtualQuery((void *)%#" PRIx64 ", %s, %#" PRIx64 ")", c->addr,
                        c->null_out ? "NULL" : "&mbi", c->length);
    case M_VIRTUAL_LOCK:
    case M_VIRTUAL_UNLOCK:
        return snprintf(buf, n, "%s((void *)%#" PRIx64 ", %#" PRIx64 ")", m_op_name(c->op),
                        c->addr, c->size);
    case M_GET_WRITE_WATCH:
        return snprintf(buf, n,
                        "GetWriteWatch(%#x, (void *)%#" PRIx64 ", %#" PRIx64
                        ", %s, %s /* = %" PRIu64 " */, %s)",
                        c->type, c->addr, c->size, c->null_out ? "NULL" : "addrs",
                        c->null_count ? "NULL" : "&count", c->length,
                        c->null_gran ? "NULL" : "&gran");
    case M_RESET_WRITE_WATCH:
        return snprintf(buf, n, "ResetWriteWatch((void *)%#" PRIx64 ", %#" PRIx64 ")", c->addr,
                        c->size);
    default:
        return snprintf(buf, n, "?");
    }
}
