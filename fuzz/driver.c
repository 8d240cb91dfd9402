/*
 * driver.c — the model fuzzer's driver (see driver.h): one arena, the model, and the loop
 * that makes each decoded call on hostmem and compares it with the model.
 *
 * Layout: a window of ARENA bytes that /proc/self/maps shows free, far from where the
 * kernel and hostmem place anywhere-mappings, between two pinned fence reservations, so
 * every free region inside it ends at a reservation the model knows. Fuzzed fixed-address
 * calls aim inside, beside and outside it; anywhere-reservations land where hostmem puts
 * them and the model learns them.
 *
 * Features: placeholders (VirtualAlloc2) and write watch are switched on by
 * HM_FUZZ_FEATURES (compile time, or the environment variable of that name: "watch",
 * "placeholder", "all", "none").
 * Rules of the model hostmem is known to break (reported) can be switched off with
 * HM_FUZZ_RULES_OFF (M_RULE_* bits), so the rest keeps being fuzzed.
 */
#include "driver.h"

#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "decode.h"
#include "hostmem/hostmem.h"
#include "model.h"


#define P M_PAGE
#define G M_GRAN
#define ARENA ((uint64_t)256 << 20)
#define COMMIT_LIMIT ((uint64_t)256 << 20) /* also bounds the RSS (undo re-dirties pages) */
#define LOCK_BUDGET ((uint64_t)4 << 20)
#define MAX_LIVE (M_MAX_ALLOCS - 4)
/* A fork costs as much as the process's page tables (libFuzzer's grow with its corpus):
 * one probe every few inputs. */
#define PROBE_EVERY_INPUTS 8
#define TRACE_LINES 4096

#ifndef HM_FUZZ_FEATURES
#define HM_FUZZ_FEATURES 0u
#endif
/* Model rules hostmem breaks, reported to the lead (fuzz/README.md): off by default so
 * the rest keeps being fuzzed; HM_FUZZ_RULES_OFF=0 checks them. */
#ifndef HM_FUZZ_RULES_OFF
#define HM_FUZZ_RULES_OFF                                                                  \
    (M_RULE_CACHE_VALID | M_RULE_VA2_EXACT | M_RULE_UNDO_MARKS_LOCKED | M_RULE_NO_SPURIOUS_WATCH)
#endif

static m_model_t M;
static uint64_t arena_lo, arena_hi;
static uint32_t features, rules_off;
static hm_stats_t baseline;
static hm_fuzz_totals_t totals;
static bool verbose;
static unsigned probes_left;
static uint64_t last_ret;

/* How often each rule decided a call (HM_FUZZ_STATS=2). */
static struct { const char *rule; uint64_t n; } rule_hits[256];

static char trace[TRACE_LINES][480];
static unsigned ntrace;
static const uint8_t *cur_data; /* the input being run, saved on a divergence */
static size_t cur_size;

const hm_fuzz_totals_t *hm_fuzz_totals(void)
{
    return &totals;
}

void hm_fuzz_print_totals(const char *who)
{
    fprintf(stderr,
            "hm-fuzz %s: inputs %" PRIu64 ", calls %" PRIu64 ", divergences %" PRIu64
            ", skipped (unmodelled) %" PRIu64 ", memory ops %" PRIu64 ", probes %" PRIu64
            ", regions compared %" PRIu64 " (features %#x, rules off %#x)\n",
            who, totals.inputs, totals.calls, totals.divergences, totals.skipped,
            totals.memory_ops, totals.probes, totals.map_checks, features, rules_off);
    if (getenv("HM_FUZZ_STATS") && atoi(getenv("HM_FUZZ_STATS")) > 1)
        for (size_t i = 0; i < 256 && rule_hits[i].rule; i++)
            fprintf(stderr, "  %10" PRIu64 "  %s\n", rule_hits[i].n, rule_hits[i].rule);
    if (getenv("HM_FUZZ_STATS"))
        for (int i = 0; i < M_OP_COUNT; i++)
            fprintf(stderr, "  %-16s %10" PRIu64 " calls, %10" PRIu64 " succeeded\n",
                    m_op_name((m_op_t)i), totals.by_op[i], totals.ok_by_op[i]);
}

/* ---- trace and divergences ----------------------------------------------------------- */

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *line = trace[ntrace < TRACE_LINES ? ntrace : TRACE_LINES - 1];
    vsnprintf(line, sizeof trace[0], fmt, ap);
    va_end(ap);
    if (verbose)
        fprintf(stderr, "  %s\n", line);
    if (ntrace < TRACE_LINES)
        ntrace++;
}

static _Noreturn void diverge(const char *what)
{
    totals.divergences++;
    fprintf(stderr, "\n==== hostmem diverges from the model ====\n"
                    "arena [%#" PRIx64 ", %#" PRIx64 "), fences at %#" PRIx64 " and %#" PRIx64
                    "\ncalls of this input (C; results after //):\n",
            arena_lo, arena_hi, arena_lo - G, arena_hi);
    for (unsigned i = 0; i < ntrace; i++)
        fprintf(stderr, "  %s\n", trace[i]);
    fprintf(stderr, "divergence: %s\n", what);
    const char *path = getenv("HM_FUZZ_ARTIFACT") ? getenv("HM_FUZZ_ARTIFACT") : "hm-fuzz-divergence.bin";
    FILE *f = cur_data ? fopen(path, "wb") : NULL;
    if (f) {
        fwrite(cur_data, 1, cur_size, f);
        fclose(f);
        fprintf(stderr, "input saved to %s (replay: hm_replay_model %s)\n", path, path);
    }
    hm_fuzz_print_totals("at divergence");
    abort();
}

/* ---- hostmem calls ------------------------------------------------------------------- */

static void *va2(const m_call_t *c)
{
    MEM_ADDRESS_REQUIREMENTS req[M_MAX_PARAMS];
    MEM_EXTENDED_PARAMETER ep[M_MAX_PARAMS];
    memset(ep, 0, sizeof ep);
    for (uint32_t i = 0; i < c->nparams; i++) {
        const m_param_t *p = &c->param[i];
        ep[i].Type = p->type & 0xFF;
        ep[i].Reserved = p->reserved & ((UINT64_C(1) << 56) - 1);
        if (p->type == MemExtendedParameterAddressRequirements) {
            req[i].LowestStartingAddress = (void *)(uintptr_t)p->lowest;
            req[i].HighestEndingAddress = (void *)(uintptr_t)p->highest;
            req[i].Alignment = p->alignment;
            ep[i].Pointer = p->pointer_null ? NULL : &req[i];
        } else {
            ep[i].ULong64 = p->value;
        }
    }
    HANDLE h = (HANDLE)(uintptr_t)c->process;
    MEM_EXTENDED_PARAMETER *arr = c->params_null ? NULL : ep;
    void *addr = (void *)(uintptr_t)c->addr;
    return c->from_app ? VirtualAlloc2FromApp(h, addr, c->size, c->type, c->prot, arr, c->nparams)
                       : VirtualAlloc2(h, addr, c->size, c->type, c->prot, arr, c->nparams);
}

static void query(const m_call_t *c, m_result_t *r)
{
    /* room for a caller who says the buffer is longer: hostmem must write 48 bytes only */
    union {
        MEMORY_BASIC_INFORMATION mbi;
        unsigned char bytes[128];
    } buf;
    memset(&buf, 0xA5, sizeof buf);
    r->ret = VirtualQuery((void *)(uintptr_t)c->addr, c->null_out ? NULL : &buf.mbi, c->length);
    r->mbi = buf.mbi;
    for (size_t i = sizeof buf.mbi; i < sizeof buf.bytes; i++)
        if (buf.bytes[i] != 0xA5)
            diverge("VirtualQuery wrote past the 48-byte structure");
}

static void get_watch(const m_call_t *c, m_result_t *r)
{
    PVOID addrs[M_WW_MAX + 1];
    addrs[M_WW_MAX] = (PVOID)(uintptr_t)0x5eed;
    ULONG_PTR count = c->length;
    DWORD gran = M_SENTINEL_GRAN;
    r->ret = GetWriteWatch(c->type, (void *)(uintptr_t)c->addr, c->size,
                           c->null_out ? NULL : addrs, c->null_count ? NULL : &count,
                           c->null_gran ? NULL : &gran);
    if (addrs[M_WW_MAX] != (PVOID)(uintptr_t)0x5eed)
        diverge("GetWriteWatch wrote past the entries it was given");
    r->count = count;
    r->gran = gran;
    for (uint64_t i = 0; r->ret == 0 && i < count && i < M_WW_MAX; i++)
        r->addrs[i] = (uint64_t)(uintptr_t)addrs[i];
}

static void execute(const m_call_t *c, m_result_t *r)
{
    memset(r, 0, sizeof *r);
    void *addr = (void *)(uintptr_t)c->addr;
    DWORD old = M_SENTINEL_OLD;
    SetLastError(M_SENTINEL_ERROR);
    switch (c->op) {
    case M_VIRTUAL_ALLOC:
        r->ret = (uintptr_t)(c->from_app ? VirtualAllocFromApp(addr, c->size, c->type, c->prot)
                                         : VirtualAlloc(addr, c->size, c->type, c->prot));
        break;
    case M_VIRTUAL_ALLOC2: r->ret = (uintptr_t)va2(c); break;
    case M_VIRTUAL_FREE: r->ret = (uint64_t)VirtualFree(addr, c->size, c->type); break;
    case M_VIRTUAL_PROTECT:
        r->ret = (uint64_t)(c->from_app
                                ? VirtualProtectFromApp(addr, c->size, c->prot, c->null_out ? NULL : &old)
                                : VirtualProtect(addr, c->size, c->prot, c->null_out ? NULL : &old));
        break;
    case M_VIRTUAL_QUERY: query(c, r); break;
    case M_VIRTUAL_LOCK: r->ret = (uint64_t)VirtualLock(addr, c->size); break;
    case M_VIRTUAL_UNLOCK: r->ret = (uint64_t)VirtualUnlock(addr, c->size); break;
    case M_GET_WRITE_WATCH: get_watch(c, r); break;
    case M_RESET_WRITE_WATCH: r->ret = ResetWriteWatch(addr, c->size); break;
    default: break;
    }
    r->error = GetLastError();
    r->old_prot = old;
    if (c->op == M_GET_WRITE_WATCH || c->op == M_RESET_WRITE_WATCH)
        r->ret &= 0xFFFFFFFFu;
    if (c->op != M_GET_WRITE_WATCH) {
        r->count = M_SENTINEL_COUNT;
        r->gran = M_SENTINEL_GRAN;
    }
}

/* ---- checks after a call --------------------------------------------------------------- */

static void check_stats(void)
{
    hm_stats_t s = {.cb_size = sizeof s};
    if (hm_get_stats(&s) != 0)
        diverge("hm_get_stats failed");
    char why[300];
    uint64_t res = s.reservations - baseline.reservations, reserved = s.reserved_bytes - baseline.reserved_bytes;
    uint64_t committed = s.committed_bytes - baseline.committed_bytes;
    uint64_t locked = s.locked_bytes - baseline.locked_bytes;
    uint64_t mres = M.n - 2, mreserved = m_reserved_bytes(&M) - 2 * G;
    if (res == mres && reserved == mreserved && committed == M.committed && locked == M.locked)
        return;
    snprintf(why, sizeof why,
             "hm_get_stats: reservations %+" PRId64 " reserved %#" PRIx64 " committed %#" PRIx64
             " locked %#" PRIx64 "; model: %" PRIu64 " %#" PRIx64 " %#" PRIx64 " %#" PRIx64,
             (int64_t)res, reserved, committed, locked, mres, mreserved, M.committed, M.locked);
    diverge(why);
}

/* One VirtualQuery, predicted and compared like any call; returns the model region's end,
 * or 0 if the model does not know the memory there. */
static uint64_t check_region(uint64_t addr)
{
    m_call_t q = {.op = M_VIRTUAL_QUERY, .addr = addr, .length = sizeof(MEMORY_BASIC_INFORMATION)};
    m_expect_t x;
    m_predict(&M, &q, &x);
    if (x.known & M_K_MBI_BASE)
        return 0;
    m_result_t r;
    execute(&q, &r);
    char why[400];
    totals.map_checks++;
    if (m_check(&M, &q, &x, &r, why, sizeof why)) {
        char call[160], full[600];
        m_format_call(&q, call, sizeof call);
        snprintf(full, sizeof full, "map check %s: %s", call, why);
        diverge(full);
    }
    if (!(x.known & M_K_MBI))
        return 0;
    return (uint64_t)(uintptr_t)x.r.mbi.BaseAddress + x.r.mbi.RegionSize;
}

/* Compares the regions from lo on until hi (at most `max` regions; free regions cost a
 * read of /proc/self/maps in hostmem, so a walk stops at the first free one past lo). */
static void check_window(uint64_t lo, uint64_t hi, unsigned max)
{
    uint64_t at = lo;
    for (unsigned i = 0; i < max && at < hi && at <= M_MAX; i++) {
        bool was_free = m_known_free(&M, at);
        uint64_t next = check_region(at);
        if (next == 0) {
            const m_alloc_t *a = NULL;
            for (uint32_t k = 0; k < M.n && !a; k++)
                if (M.a[k].base > at)
                    a = &M.a[k];
            if (!a)
                return;
            next = a->base;
        }
        if (was_free && i > 0)
            return;
        at = next;
    }
}

static void check_whole_map(void)
{
    for (uint32_t i = 0; i < M.n; i++)
        check_window(M.a[i].base, M.a[i].end + P, 4096);
    check_stats();
}

/* The range a call touched: its pages, the pages beside them, a learned reservation. */
static void check_touched(const m_call_t *c, const m_expect_t *x, const m_result_t *r)
{
    uint64_t lo = c->addr & ~(P - 1), hi;
    if (!m_page_range(c->addr, c->size ? c->size : 1, &lo, &hi) || hi - lo > ((uint64_t)1 << 40))
        hi = lo + P;
    if (x->learn_base && r->ret) {
        lo = r->ret;
        hi = r->ret + x->learn_size;
    }
    if (x->e.kind == M_E_RESERVE && !x->learn_base) {
        lo = x->e.lo;
        hi = x->e.hi;
    }
    const m_alloc_t *a = m_find(&M, lo);
    uint64_t from = a ? a->base : (lo >= P ? lo - P : lo);
    check_window(from, hi + P, 64);
    if (c->op != M_VIRTUAL_QUERY && c->op != M_GET_WRITE_WATCH)
        check_stats();
}

/* ---- steps --------------------------------------------------------------------------- */

static bool would_overflow_model(const m_expect_t *x)
{
    if (x->e.kind == M_E_RESERVE)
        return M.n + 1 > MAX_LIVE;
    if (x->e.kind == M_E_SPLIT)
        return M.n + 2 > MAX_LIVE;
    return false;
}


static void count_rule(const char *rule)
{
    for (size_t i = 0; i < 256; i++) {
        if (rule_hits[i].rule == rule || !rule_hits[i].rule) {
            rule_hits[i].rule = rule;
            rule_hits[i].n++;
            return;
        }
    }
}

uint64_t hm_fuzz_coverage(void)
{
    uint64_t n = 0;
    for (size_t i = 0; i < 256 && rule_hits[i].rule; i++)
        n++;
    for (int i = 0; i < M_OP_COUNT; i++)
        n += (totals.ok_by_op[i] > 0) + (totals.by_op[i] > totals.ok_by_op[i]);
    return n;
}

static void call_step(const m_call_t *c)
{
    m_expect_t x;
    m_predict(&M, c, &x);
    count_rule(x.rule);
    if (x.unmodelled || would_overflow_model(&x)) {
        totals.skipped++;
        return;
    }
    m_result_t r;
    execute(c, &r);
    totals.calls++;
    char text[440], why[500];
    m_format_call(c, text, sizeof text);
    note("%s; // ret %#" PRIx64 ", err %u, old %#x", text, r.ret, r.error, r.old_prot);
    if (m_check(&M, c, &x, &r, why, sizeof why))
        diverge(why);
    m_commit(&M, c, &x, &r);
    totals.by_op[c->op]++;
    totals.ok_by_op[c->op] += (c->op == M_GET_WRITE_WATCH || c->op == M_RESET_WRITE_WATCH) ? r.ret == 0 : r.ret != 0;
    if (x.learn_base && r.ret)
        last_ret = r.ret;
    if (x.ok && !x.learn_base && (c->op == M_VIRTUAL_ALLOC || c->op == M_VIRTUAL_ALLOC2))
        last_ret = r.ret;
    check_touched(c, &x, &r);
}

static void write_step(uint64_t addr, uint8_t tag)
{
    if (!m_writable(&M, addr)) {
        totals.skipped++;
        return;
    }
    uint64_t pg = addr & ~(P - 1);
    note("memset((void *)%#" PRIx64 ", %#x, 4096);", pg, tag);
    memset((void *)(uintptr_t)pg, tag, P);
    m_write(&M, pg, tag);
    totals.memory_ops++;
}

static void read_step(uint64_t addr)
{
    if (!m_readable(&M, addr)) {
        totals.skipped++;
        return;
    }
    uint64_t pg = addr & ~(P - 1);
    uint8_t tag;
    bool or_zero;
    m_expected_content(&M, pg, &tag, &or_zero);
    const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)pg;
    uint8_t first = p[0];
    bool okv = first == tag || (or_zero && first == 0);
    for (uint64_t i = 1; okv && i < P; i++)
        okv = p[i] == first;
    totals.memory_ops++;
    note("/* page %#" PRIx64 " reads %#x, expected %#x%s */", pg, first, tag,
         or_zero ? " or 0" : "");
    if (!okv)
        diverge("page contents differ from what was written (zero after commit, kept across "
                "protection changes)");
}

/* A touch in a forked child: a fault where the model says the page is not accessible, a
 * guard page cleared (and reported by VirtualQuery) on first touch. */
static void probe_step(uint64_t addr, bool write)
{
    uint64_t pg = addr & ~(P - 1);
    const m_alloc_t *a = m_find(&M, pg);
    if (probes_left == 0 || (!a && !m_known_free(&M, pg)) || pg < M_MIN) {
        totals.skipped++;
        return;
    }
    m_page_t pge = a ? m_page_at(a, pg) : (m_page_t){0};
    uint32_t base = pge.prot & 0xFFu;
    bool allowed = pge.committed && (write ? (base == PAGE_READWRITE || base == PAGE_EXECUTE_READWRITE)
                                           : (base == PAGE_READONLY || base == PAGE_READWRITE ||
                                              base == PAGE_EXECUTE_READ ||
                                              base == PAGE_EXECUTE_READWRITE));
    bool guard = pge.committed && (pge.prot & PAGE_GUARD);
    if ((guard && !allowed) || (pge.committed && base == PAGE_EXECUTE && !write)) {
        totals.skipped++; /* Linux reads PROT_EXEC pages; a failed guard retry is not ours */
        return;
    }
    probes_left--;
    totals.probes++;
    note("/* probe: %s %#" PRIx64 " in a child, expect %s */", write ? "write" : "read", pg,
         allowed ? (guard ? "guard cleared" : "success") : "SIGSEGV");
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        if (!allowed) {
            signal(SIGSEGV, SIG_DFL);
            signal(SIGBUS, SIG_DFL);
        }
        volatile uint8_t *p = (volatile uint8_t *)(uintptr_t)pg;
        hm_stats_t before = {.cb_size = sizeof before}, after = {.cb_size = sizeof after};
        hm_get_stats(&before);
        if (write)
            p[1] = p[1];
        else
            (void)p[1];
        if (guard) {
            MEMORY_BASIC_INFORMATION mbi;
            if (VirtualQuery((const void *)(uintptr_t)pg, &mbi, sizeof mbi) != sizeof mbi ||
                mbi.Protect != (pge.prot & ~PAGE_GUARD))
                _exit(3);
            hm_get_stats(&after);
            if (after.guard_pages_hit != before.guard_pages_hit + 1)
                _exit(4); /* SD "Guard page first touch": counted */
        }
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        diverge("probe: fork/wait failed");
    if (!allowed && !(WIFSIGNALED(st) && (WTERMSIG(st) == SIGSEGV || WTERMSIG(st) == SIGBUS)))
        diverge("probe: the access did not fault");
    if (allowed && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
        diverge(WIFEXITED(st) && WEXITSTATUS(st) == 3   ? "probe: after the first touch VirtualQuery still shows the guard"
                : WIFEXITED(st) && WEXITSTATUS(st) == 4 ? "probe: hm_stats_t.guard_pages_hit did not count the touch"
                                                        : "probe: the access faulted");
}

static void limit_step(uint64_t limit)
{
    note("hm_set_commit_limit(%#" PRIx64 ");", limit);
    hm_set_commit_limit(limit);
    m_set_commit_limit(&M, limit);
}

/* ---- lifecycle ------------------------------------------------------------------------ */

static uint64_t find_arena(void)
{
    /* From 32 TiB up: the kernel places mmaps from below the stack down, executables and
     * ASan's shadow sit lower, ASan's allocator at 96 TiB. */
    uint64_t cand = (uint64_t)32 << 40, need = ARENA + 4 * G;
    FILE *f = fopen("/proc/self/maps", "r");
    if (!f)
        abort();
    char line[512];
    while (fgets(line, sizeof line, f)) {
        unsigned long long lo, hi;
        if (sscanf(line, "%llx-%llx", &lo, &hi) != 2 || hi <= cand)
            continue;
        if (lo >= cand + need)
            break;
        cand = (hi + 2 * G - 1) & ~(G - 1);
    }
    fclose(f);
    return cand + G;
}

static uint32_t env_flags(const char *name, uint32_t dflt)
{
    const char *v = getenv(name);
    if (!v)
        return dflt;
    if (strcmp(v, "all") == 0)
        return M_FEAT_WATCH | M_FEAT_PLACEHOLDER;
    if (strcmp(v, "none") == 0)
        return 0;
    uint32_t f = (uint32_t)strtoul(v, NULL, 0);
    if (strstr(v, "watch"))
        f |= M_FEAT_WATCH;
    if (strstr(v, "placeholder"))
        f |= M_FEAT_PLACEHOLDER;
    return f;
}

void hm_fuzz_init(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    verbose = getenv("HM_FUZZ_TRACE") != NULL;
    features = env_flags("HM_FUZZ_FEATURES", HM_FUZZ_FEATURES);
    rules_off = env_flags("HM_FUZZ_RULES_OFF", HM_FUZZ_RULES_OFF);
    arena_lo = find_arena();
    arena_hi = arena_lo + ARENA;
    if (VirtualAlloc((void *)(uintptr_t)(arena_lo - G), G, MEM_RESERVE, PAGE_NOACCESS) !=
            (void *)(uintptr_t)(arena_lo - G) ||
        VirtualAlloc((void *)(uintptr_t)arena_hi, G, MEM_RESERVE, PAGE_NOACCESS) !=
            (void *)(uintptr_t)arena_hi) {
        fprintf(stderr, "hm-fuzz: cannot reserve the fences around %#" PRIx64 "\n", arena_lo);
        abort();
    }
    m_init(&M, arena_lo, arena_hi, features);
    M.rules_off = rules_off;
    M.lock_limit = LOCK_BUDGET;
    m_add_reserved(&M, arena_lo - G, G, PAGE_NOACCESS, true);
    m_add_reserved(&M, arena_hi, G, PAGE_NOACCESS, true);
    hm_set_commit_limit(COMMIT_LIMIT);
    m_set_commit_limit(&M, COMMIT_LIMIT);
    baseline.cb_size = sizeof baseline;
    hm_get_stats(&baseline);
}

/* Releases what the input left, through checked calls, and verifies the clean state. */
static void cleanup(void)
{
    limit_step(COMMIT_LIMIT);
    for (;;) {
        const m_alloc_t *victim = NULL;
        for (uint32_t i = 0; i < M.n; i++)
            if (!M.a[i].pinned)
                victim = &M.a[i];
        if (!victim)
            break;
        uint32_t before = M.n;
        call_step(&(m_call_t){.op = M_VIRTUAL_FREE, .addr = victim->base, .type = MEM_RELEASE});
        if (M.n >= before)
            diverge("cleanup: a release did not remove the allocation from the model");
    }
    call_step(&(m_call_t){.op = M_VIRTUAL_FREE, .addr = arena_lo - G, .type = MEM_DECOMMIT});
    call_step(&(m_call_t){.op = M_VIRTUAL_FREE, .addr = arena_hi, .type = MEM_DECOMMIT});
    check_whole_map();
    if (M.n != 2 || M.committed || M.locked)
        diverge("cleanup: the model did not return to its clean state");
}

void hm_fuzz_one(const uint8_t *data, size_t size)
{
    hm_fuzz_init();
    hm_rd_t rd = {data, size, 0};
    hm_decode_ctx_t ctx = {.m = &M, .arena_lo = arena_lo, .arena_hi = arena_hi,
                           .last_addr = arena_lo, .last_size = P, .features = features};
    ntrace = 0;
    cur_data = data;
    cur_size = size;
    probes_left = totals.inputs % PROBE_EVERY_INPUTS == 0;
    last_ret = arena_lo;
    totals.inputs++;
    while (!hm_rd_done(&rd)) {
        hm_step_t s;
        ctx.last_ret = last_ret;
        hm_decode_step(&rd, &ctx, &s);
        if (s.kind == HM_STEP_CALL) {
            ctx.last_addr = s.call.addr;
            ctx.last_size = s.call.size;
        }
        switch (s.kind) {
        case HM_STEP_CALL: call_step(&s.call); break;
        case HM_STEP_WRITE: write_step(s.addr, s.tag); break;
        case HM_STEP_READ: read_step(s.addr); break;
        case HM_STEP_PROBE: probe_step(s.addr, s.probe_write); break;
        case HM_STEP_MAP: check_whole_map(); break;
        case HM_STEP_LIMIT: limit_step(s.limit); break;
        }
    }
    cleanup();
}
