/*
 * test_stress.c — 2 to 4 threads hammering the memory API for a bounded time per case.
 *
 *  - separate_reservations: each thread owns its reservations and keeps a page-by-page
 *    model of them (state, protection, lock bit, guard bit, contents). Every call —
 *    reserve, commit, decommit, protect, query, lock, unlock, MEM_RESET(_UNDO), release,
 *    touches that fire guard pages, and deliberately invalid calls — must return exactly
 *    what the model predicts (return value and GetLastError()), and every VirtualQuery
 *    region of the reservation must match the model field by field.
 *  - shared_reservations: all threads work on the same reservations. Mutating calls hold
 *    the slot's read lock (so a reservation is not released under them: the addresses must
 *    not be handed to someone else); they return a result from the set allowed for that
 *    call. Queries run with the read lock (strict: fields consistent, the regions tile the
 *    reservation) and without any lock, racing release and re-reservation (loose: fields
 *    consistent). Release and re-reserve take the slot's write lock.
 *
 * After each case: every reservation released, hm_get_stats() back to where it started
 * (reservations, reserved, committed and locked bytes; guard hits up by the number of
 * guard pages touched), VmLck back, hostmem's own map/unmap ledger balanced, and the
 * kernel's map holds no more than before. Failures are recorded by the worker threads
 * and asserted by the main thread. Run it under ThreadSanitizer too (HOSTMEM_SANITIZE).
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "os/os.h"
#include "stress.h"
#include "testlib.h"

#define RUN_NS stress_run_ns() /* per case: HM_STRESS_SECONDS, else 2 s */

/* Sanitizer runtimes map shadow and allocator memory of their own as the program runs:
 * the kernel-map comparison is only meaningful without them. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define HM_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define HM_SANITIZED 1
#endif
#endif
#ifndef HM_SANITIZED
#define HM_SANITIZED 0
#endif
#define MAX_OPS_PER_THREAD 2000000ull

/* ======================================================================================
 * Shared helpers
 * ==================================================================================== */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static uint64_t below(uint64_t *s, uint64_t n)
{
    return rnd(s) % n;
}

/* Four threads whatever the CPU count: on fewer CPUs, preemption in the middle of calls
 * gives more interleavings, not fewer. */
static unsigned n_threads(void)
{
    return 4;
}

/* Base protections and their Windows values; GUARD may be added to all but NOACCESS. */
static const DWORD base_prots[] = {PAGE_NOACCESS, PAGE_READONLY, PAGE_READWRITE,
                                   PAGE_EXECUTE, PAGE_EXECUTE_READ, PAGE_EXECUTE_READWRITE};

static DWORD random_prot(uint64_t *s)
{
    DWORD p = base_prots[below(s, 6)];
    if (p != PAGE_NOACCESS && below(s, 6) == 0)
        p |= PAGE_GUARD;
    return p;
}

static bool valid_prot_value(DWORD p)
{
    DWORD b = p & ~(DWORD)PAGE_GUARD;
    for (size_t i = 0; i < 6; i++)
        if (b == base_prots[i])
            return !(p & PAGE_GUARD) || b != PAGE_NOACCESS;
    return false;
}

static bool readable(DWORD p)
{
    DWORD b = p & 0xFFu;
    return b == PAGE_READONLY || b == PAGE_READWRITE || b == PAGE_EXECUTE_READ ||
           b == PAGE_EXECUTE_READWRITE;
}

static bool writable(DWORD p)
{
    DWORD b = p & 0xFFu;
    return b == PAGE_READWRITE || b == PAGE_EXECUTE_READWRITE;
}

/* ---- hostmem's own ledger: bytes it mapped minus bytes it unmapped (through hm_os) ---- */

static _Atomic int64_t ledger_net;
static _Atomic uint64_t ledger_calls;

static int ledger_map(hm_os_site_t site, void *addr, size_t len, unsigned prot,
                      hm_os_map_mode_t mode, void **out)
{
    int err = hm_os_default.map(site, addr, len, prot, mode, out);
    atomic_fetch_add_explicit(&ledger_calls, 1, memory_order_relaxed);
    if (!err && site == HM_SITE_RESERVE_MAP)
        atomic_fetch_add_explicit(&ledger_net, (int64_t)len, memory_order_relaxed);
    return err;
}

static int ledger_unmap(hm_os_site_t site, void *addr, size_t len)
{
    int err = hm_os_default.unmap(site, addr, len);
    atomic_fetch_add_explicit(&ledger_calls, 1, memory_order_relaxed);
    if (!err && site != HM_SITE_GUARD_RUNS)
        atomic_fetch_sub_explicit(&ledger_net, (int64_t)len, memory_order_relaxed);
    return err;
}

/* ---- the kernel's view ---------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, k;
    char *b = malloc(cap);
    while (b && (k = fread(b + n, 1, cap - 1 - n, f)) > 0) {
        n += k;
        if (n + 1 >= cap)
            b = realloc(b, cap *= 2);
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    return b;
}

/* Bytes of anonymous private mappings (no file, no [stack]/[heap]/[v...] name). */
static uint64_t anon_mapped_bytes(void)
{
    char *maps = slurp("/proc/self/maps");
    ck_assert_ptr_nonnull(maps);
    uint64_t total = 0;
    for (char *line = maps; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        unsigned long long s, e, off, inode;
        char perms[8], dev[16];
        int name_at = 0;
        if (sscanf(line, "%llx-%llx %7s %llx %15s %llu %n", &s, &e, perms, &off, dev, &inode,
                   &name_at) >= 6 &&
            inode == 0 && perms[3] == 'p' && (!name_at || line[name_at] == '\0'))
            total += e - s;
        line = nl ? nl + 1 : NULL;
    }
    free(maps);
    return total;
}

static unsigned long vm_lck_kb(void)
{
    char *st = slurp("/proc/self/status");
    ck_assert_ptr_nonnull(st);
    const char *p = strstr(st, "VmLck:");
    unsigned long kb = p ? strtoul(p + 6, NULL, 10) : 0;
    free(st);
    return kb;
}

/* ---- failures recorded by workers --------------------------------------------------- */

static atomic_bool stop_all;

typedef struct failure {
    bool failed;
    char msg[512];
} failure_t;

static void fail_at(failure_t *f, int line, const char *fmt, ...)
{
    if (f->failed)
        return;
    f->failed = true;
    int n = snprintf(f->msg, sizeof f->msg, "line %d: ", line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg + n, sizeof f->msg - (size_t)n, fmt, ap);
    va_end(ap);
    atomic_store(&stop_all, true);
}

/* Records the first failure and returns from the calling op. */
#define REQUIRE(f, cond, ...)                                                              \
    do {                                                                                   \
        if (!(cond)) {                                                                     \
            fail_at((f), __LINE__, __VA_ARGS__);                                           \
            return;                                                                        \
        }                                                                                  \
    } while (0)

/* Checks a call that fails with exactly `err`. */
#define REQUIRE_ERR(f, ok, err, what)                                                      \
    REQUIRE(f, !(ok) && GetLastError() == (DWORD)(err), "%s: result %d, error %u, expected %u", \
            what, (int)!!(ok), GetLastError(), (unsigned)(err))

/* ---- operation names and counters ------------------------------------------------------ */

enum {
    OP_RESERVE, OP_RESERVE_AT, OP_RELEASE, OP_COMMIT, OP_DECOMMIT, OP_PROTECT, OP_QUERY,
    OP_QUERY_LOOSE, OP_LOCK, OP_UNLOCK, OP_RESET, OP_RESET_UNDO, OP_TOUCH, OP_INVALID,
    OP_COUNT
};
static const char *const op_names[OP_COUNT] = {
    "reserve", "reserve_at", "release", "commit", "decommit", "protect", "query",
    "query_loose", "lock", "unlock", "reset", "reset_undo", "touch", "invalid",
};

static void print_counts(const char *what, const uint64_t *counts, uint64_t total)
{
    printf("%s: %llu operations (", what, (unsigned long long)total);
    const char *sep = "";
    for (int i = 0; i < OP_COUNT; i++)
        if (counts[i]) {
            printf("%s%s %llu", sep, op_names[i], (unsigned long long)counts[i]);
            sep = ", ";
        }
    printf(")\n");
    fflush(stdout);
}

/* The calls every case makes with invalid arguments, and their exact errors. `base` is a
 * live reservation of `np` pages the caller may use (not changed by these calls). */
static void invalid_call(failure_t *f, uint64_t *s, char *base, size_t np)
{
    MEMORY_BASIC_INFORMATION mbi;
    DWORD old;
    switch (below(s, 14)) {
    case 0:
        REQUIRE_ERR(f, VirtualAlloc(NULL, 0, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_PARAMETER,
                    "VirtualAlloc size 0");
        break;
    case 1:
        REQUIRE_ERR(f, VirtualAlloc(NULL, P, MEM_RESERVE, PAGE_WRITECOPY), ERROR_INVALID_PARAMETER,
                    "VirtualAlloc PAGE_WRITECOPY");
        break;
    case 2:
        REQUIRE_ERR(f, VirtualAlloc(base, P, MEM_DECOMMIT, PAGE_READWRITE), ERROR_INVALID_PARAMETER,
                    "VirtualAlloc MEM_DECOMMIT");
        break;
    case 3:
        REQUIRE_ERR(f, VirtualAlloc(base, P, MEM_RESERVE, PAGE_READWRITE), ERROR_INVALID_ADDRESS,
                    "VirtualAlloc reserve over a reservation");
        break;
    case 4:
        REQUIRE_ERR(f, VirtualAlloc((void *)(uintptr_t)0x2000, P, MEM_COMMIT, PAGE_READWRITE),
                    ERROR_INVALID_ADDRESS, "VirtualAlloc commit outside any reservation");
        break;
    case 5:
        if (np > 1)
            REQUIRE_ERR(f, VirtualFree(base + P, 0, MEM_RELEASE), ERROR_INVALID_ADDRESS,
                        "VirtualFree release not at base");
        break;
    case 6:
        REQUIRE_ERR(f, VirtualFree(base, P, MEM_RELEASE), ERROR_INVALID_PARAMETER,
                    "VirtualFree release with a size");
        break;
    case 7:
        REQUIRE_ERR(f, VirtualFree(base, 0, MEM_RELEASE | MEM_DECOMMIT), ERROR_INVALID_PARAMETER,
                    "VirtualFree release|decommit");
        break;
    case 8:
        REQUIRE_ERR(f, VirtualProtect(base, P, PAGE_READWRITE, NULL), ERROR_NOACCESS,
                    "VirtualProtect NULL old");
        break;
    case 9:
        REQUIRE_ERR(f, VirtualProtect(base, 0, PAGE_READWRITE, &old), ERROR_INVALID_PARAMETER,
                    "VirtualProtect size 0");
        break;
    case 10:
        REQUIRE_ERR(f, VirtualQuery(base, &mbi, sizeof mbi - 1), ERROR_BAD_LENGTH,
                    "VirtualQuery short buffer");
        break;
    case 11:
        REQUIRE_ERR(f, VirtualQuery((void *)(uintptr_t)0x800000000000, &mbi, sizeof mbi),
                    ERROR_INVALID_PARAMETER, "VirtualQuery above user space");
        break;
    case 12:
        REQUIRE_ERR(f, VirtualLock(base, 0), ERROR_INVALID_PARAMETER, "VirtualLock size 0");
        break;
    default:
        REQUIRE_ERR(f, VirtualUnlock(base, 0), ERROR_INVALID_PARAMETER, "VirtualUnlock size 0");
        break;
    }
}

/* ======================================================================================
 * separate_reservations: per-thread reservations and an exact page model.
 * ==================================================================================== */

#define SLOTS 4
#define NOT_KNOWN UINT32_MAX

typedef struct page {
    DWORD prot;    /* Windows protection; 0 while reserved */
    bool committed, locked;
    bool reset;    /* MEM_RESET since the last write/undo: contents not known */
    uint32_t seed; /* contents: 0 = zeros, else the pattern of that seed */
} page_t;

typedef struct res {
    char *base; /* NULL = empty slot */
    size_t np;
    DWORD alloc_prot;
    page_t *pg;
} res_t;

typedef struct worker {
    unsigned id;
    uint64_t rng, seed;
    res_t slot[SLOTS];
    char *last_released;
    uint64_t ops[OP_COUNT], total, guard_touches;
    uint64_t deadline;
    failure_t f;
} worker_t;

static uint32_t word_of(uint32_t seed, size_t i)
{
    return seed ? seed ^ (uint32_t)(i * 0x9E3779B1u) : 0;
}

static void page_write(char *p, uint32_t seed)
{
    uint32_t *w = (uint32_t *)p;
    for (size_t i = 0; i < P / 4; i++)
        w[i] = word_of(seed, i);
}

static bool page_matches(const char *p, uint32_t seed)
{
    const uint32_t *w = (const uint32_t *)p;
    for (size_t i = 0; i < P / 4; i++)
        if (w[i] != word_of(seed, i))
            return false;
    return true;
}

/* Every VirtualQuery region of r against the model. */
static void check_regions(worker_t *w, const res_t *r)
{
    size_t i = 0;
    while (i < r->np) {
        size_t j = i;
        while (j + 1 < r->np && r->pg[j + 1].committed == r->pg[i].committed &&
               r->pg[j + 1].prot == r->pg[i].prot)
            j++;
        /* Query the first page of the region, or sometimes one inside it. */
        size_t q = i + (size_t)below(&w->rng, j - i + 1);
        MEMORY_BASIC_INFORMATION m;
        REQUIRE(&w->f, VirtualQuery(r->base + q * P + below(&w->rng, P), &m, sizeof m) == sizeof m,
                "VirtualQuery failed: %u", GetLastError());
        REQUIRE(&w->f,
                m.BaseAddress == r->base + q * P && m.AllocationBase == r->base &&
                    m.AllocationProtect == r->alloc_prot && m.RegionSize == (j - q + 1) * P &&
                    m.State == (r->pg[i].committed ? MEM_COMMIT : MEM_RESERVE) &&
                    m.Protect == (r->pg[i].committed ? r->pg[i].prot : 0) &&
                    m.Type == MEM_PRIVATE,
                "region at page %zu of %p (%zu pages): got base %p alloc %p aprot %#x size %#zx "
                "state %#x prot %#x type %#x; expected base %p aprot %#x size %#zx state %#x "
                "prot %#x",
                q, (void *)r->base, r->np, m.BaseAddress, m.AllocationBase, m.AllocationProtect,
                m.RegionSize, m.State, m.Protect, m.Type, (void *)(r->base + q * P), r->alloc_prot,
                (j - q + 1) * P, r->pg[i].committed ? MEM_COMMIT : MEM_RESERVE,
                r->pg[i].committed ? r->pg[i].prot : 0);
        i = j + 1;
    }
}

static size_t random_np(uint64_t *s)
{
    return below(s, 16) == 0 ? 65 + (size_t)below(s, 960) : 1 + (size_t)below(s, 64);
}

/* The error for a range crossing a reservation's end: past the top of user space the
 * range itself is invalid (87), else `inside`. */
static DWORD cross_err(const char *a, SIZE_T size, DWORD inside)
{
    return (uintptr_t)a + size > (uintptr_t)0x7FFFFFFF0000 ? ERROR_INVALID_PARAMETER : inside;
}

static void op_reserve(worker_t *w, res_t *r, bool at_last)
{
    size_t np = random_np(&w->rng);
    DWORD prot = random_prot(&w->rng);
    static const DWORD types[] = {MEM_RESERVE, MEM_RESERVE | MEM_COMMIT, MEM_COMMIT};
    DWORD type = types[below(&w->rng, 3)];
    char *at = NULL;
    if (at_last) {
        at = w->last_released;
        if (!at)
            return;
        if (type == MEM_COMMIT)
            type = MEM_RESERVE | MEM_COMMIT;
    } else if (below(&w->rng, 8) == 0) {
        type |= MEM_TOP_DOWN;
    }
    SIZE_T size = np * P - (SIZE_T)below(&w->rng, P);
    char *p = VirtualAlloc(at, size, type, prot);
    if (!p) {
        DWORD e = GetLastError();
        REQUIRE(&w->f, e == ERROR_NOT_ENOUGH_MEMORY || e == ERROR_COMMITMENT_LIMIT ||
                           (at && e == ERROR_INVALID_ADDRESS) ||
                           (at && e == ERROR_INVALID_PARAMETER &&
                            (uintptr_t)at + size > (uintptr_t)0x7FFFFFFF0000),
                "VirtualAlloc(%p, %#zx, %#x, %#x): error %u", (void *)at, size, type, prot, e);
        return;
    }
    REQUIRE(&w->f, ((uintptr_t)p % G) == 0 && (!at || p == at), "reserve returned %p (asked %p)",
            (void *)p, (void *)at);
    if (at)
        w->last_released = NULL;
    r->base = p;
    r->np = np;
    r->alloc_prot = prot;
    r->pg = calloc(np, sizeof *r->pg);
    REQUIRE(&w->f, r->pg != NULL, "calloc");
    bool commit = type & MEM_COMMIT;
    for (size_t i = 0; i < np; i++)
        r->pg[i] = (page_t){commit ? prot : 0, commit, false, false, 0};
}

static void op_release(worker_t *w, res_t *r)
{
    uintptr_t off = below(&w->rng, 4) == 0 ? (uintptr_t)below(&w->rng, P) : 0;
    REQUIRE(&w->f, VirtualFree(r->base + off, 0, MEM_RELEASE), "release %p: %u", (void *)r->base,
            GetLastError());
    w->last_released = r->base;
    free(r->pg);
    memset(r, 0, sizeof *r);
}

/* A page range of r: usually inside, sometimes crossing the end. */
static void pick_range(worker_t *w, const res_t *r, size_t max, size_t *first, size_t *count,
                       bool *crossing)
{
    *first = (size_t)below(&w->rng, r->np);
    *count = 1 + (size_t)below(&w->rng, max);
    *crossing = false;
    if (*first + *count > r->np) {
        if (below(&w->rng, 4) == 0)
            *crossing = true;
        else
            *count = r->np - *first;
    }
}

/* Address and size touching exactly pages [first, first+count), sometimes unaligned. */
static void span_of(worker_t *w, const res_t *r, size_t first, size_t count, char **addr,
                    SIZE_T *size)
{
    size_t o1 = 0, o2 = 0;
    if (below(&w->rng, 3) == 0) {
        o1 = (size_t)below(&w->rng, P / 2);
        o2 = (size_t)below(&w->rng, P / 2);
    }
    *addr = r->base + first * P + o1;
    *size = count * P - o1 - o2;
}

static void op_commit(worker_t *w, res_t *r)
{
    size_t first, count;
    bool crossing;
    pick_range(w, r, 16, &first, &count, &crossing);
    DWORD prot = random_prot(&w->rng);
    char *a;
    SIZE_T size;
    span_of(w, r, first, count, &a, &size);
    char *p = VirtualAlloc(a, size, MEM_COMMIT, prot);
    if (crossing) {
        REQUIRE_ERR(&w->f, p, cross_err(a, size, ERROR_INVALID_ADDRESS), "commit crossing the end");
        return;
    }
    if (!p) {
        DWORD e = GetLastError();
        REQUIRE(&w->f, e == ERROR_COMMITMENT_LIMIT || e == ERROR_NOT_ENOUGH_MEMORY,
                "commit: error %u", e);
        return;
    }
    REQUIRE(&w->f, p == r->base + first * P, "commit returned %p, expected %p", (void *)p,
            (void *)(r->base + first * P));
    for (size_t i = first; i < first + count; i++) {
        page_t *g = &r->pg[i];
        if (!g->committed) {
            g->seed = 0;
            g->reset = false;
        }
        g->committed = true;
        g->prot = prot;
    }
}

static void op_decommit(worker_t *w, res_t *r)
{
    size_t first, count;
    bool crossing, whole = below(&w->rng, 8) == 0;
    pick_range(w, r, 16, &first, &count, &crossing);
    BOOL ok;
    if (whole) {
        bool at_base = below(&w->rng, 2) == 0 || r->np == 1;
        ok = VirtualFree(at_base ? r->base : r->base + P, 0, MEM_DECOMMIT);
        if (!at_base) {
            REQUIRE_ERR(&w->f, ok, ERROR_INVALID_ADDRESS, "decommit size 0 not at base");
            return;
        }
        first = 0;
        count = r->np;
    } else {
        char *a;
        SIZE_T size;
        span_of(w, r, first, count, &a, &size);
        ok = VirtualFree(a, size, MEM_DECOMMIT);
        if (crossing) {
            REQUIRE_ERR(&w->f, ok, ERROR_INVALID_PARAMETER, "decommit crossing the end");
            return;
        }
    }
    if (!ok) {
        REQUIRE(&w->f, GetLastError() == ERROR_NOT_ENOUGH_MEMORY, "decommit: error %u",
                GetLastError());
        return;
    }
    for (size_t i = first; i < first + count; i++)
        r->pg[i] = (page_t){0, false, false, false, 0};
}

static void op_protect(worker_t *w, res_t *r)
{
    size_t first, count;
    bool crossing;
    pick_range(w, r, 16, &first, &count, &crossing);
    DWORD prot = random_prot(&w->rng), old = 0xDEAD;
    char *a;
    SIZE_T size;
    span_of(w, r, first, count, &a, &size);
    BOOL ok = VirtualProtect(a, size, prot, &old);
    bool all = !crossing;
    for (size_t i = first; all && i < first + count; i++)
        all = r->pg[i].committed;
    if (!all) {
        DWORD want = crossing ? cross_err(a, size, ERROR_INVALID_ADDRESS) : ERROR_INVALID_ADDRESS;
        REQUIRE_ERR(&w->f, ok, want, "protect over uncommitted pages");
        REQUIRE(&w->f, old == (want == ERROR_INVALID_ADDRESS ? PAGE_NOACCESS : 0xDEAD),
                "protect failure left old = %#x", old);
        return;
    }
    if (!ok) {
        REQUIRE(&w->f, GetLastError() == ERROR_NOT_ENOUGH_MEMORY, "protect: error %u",
                GetLastError());
        return;
    }
    REQUIRE(&w->f, old == r->pg[first].prot, "protect: old %#x, expected %#x", old,
            r->pg[first].prot);
    for (size_t i = first; i < first + count; i++)
        r->pg[i].prot = prot;
}

static void op_lock(worker_t *w, res_t *r)
{
    size_t first, count;
    bool crossing;
    pick_range(w, r, 4, &first, &count, &crossing);
    char *a;
    SIZE_T size;
    span_of(w, r, first, count, &a, &size);
    BOOL ok = VirtualLock(a, size);
    if (crossing) {
        REQUIRE_ERR(&w->f, ok, cross_err(a, size, ERROR_INVALID_ADDRESS), "lock crossing the end");
        return;
    }
    size_t guard = SIZE_MAX;
    bool all = true, noaccess = false;
    for (size_t i = first; i < first + count; i++) {
        all = all && r->pg[i].committed;
        if (guard == SIZE_MAX && (r->pg[i].prot & PAGE_GUARD))
            guard = i;
        noaccess = noaccess || r->pg[i].prot == PAGE_NOACCESS;
    }
    if (!all) {
        REQUIRE_ERR(&w->f, ok, ERROR_INVALID_ADDRESS, "lock over uncommitted pages");
    } else if (guard != SIZE_MAX) {
        REQUIRE_ERR(&w->f, ok, (DWORD)STATUS_GUARD_PAGE_VIOLATION, "lock over a guard page");
        r->pg[guard].prot &= ~(DWORD)PAGE_GUARD;
    } else if (noaccess) {
        REQUIRE_ERR(&w->f, ok, ERROR_NOACCESS, "lock over PAGE_NOACCESS");
    } else if (!ok) {
        REQUIRE(&w->f, GetLastError() == ERROR_WORKING_SET_QUOTA, "lock: error %u",
                GetLastError());
    } else {
        for (size_t i = first; i < first + count; i++)
            r->pg[i].locked = true;
    }
}

static void op_unlock(worker_t *w, res_t *r)
{
    size_t first, count;
    bool crossing;
    pick_range(w, r, 4, &first, &count, &crossing);
    char *a;
    SIZE_T size;
    span_of(w, r, first, count, &a, &size);
    BOOL ok = VirtualUnlock(a, size);
    if (crossing) {
        REQUIRE_ERR(&w->f, ok, cross_err(a, size, ERROR_INVALID_ADDRESS), "unlock crossing the end");
        return;
    }
    bool all = true;
    for (size_t i = first; i < first + count; i++)
        all = all && r->pg[i].locked;
    if (!all) {
        REQUIRE_ERR(&w->f, ok, ERROR_NOT_LOCKED, "unlock of pages not locked");
        return;
    }
    REQUIRE(&w->f, ok, "unlock: error %u", GetLastError());
    for (size_t i = first; i < first + count; i++)
        r->pg[i].locked = false;
}

static void op_reset(worker_t *w, res_t *r, bool undo)
{
    size_t first, count;
    bool crossing;
    pick_range(w, r, 16, &first, &count, &crossing);
    char *a;
    SIZE_T size;
    span_of(w, r, first, count, &a, &size);
    char *p = VirtualAlloc(a, size, undo ? MEM_RESET_UNDO : MEM_RESET, random_prot(&w->rng) & 0xFF);
    if (crossing) {
        /* Past the top of user space the range itself is invalid (87), else 487. */
        DWORD want = (uintptr_t)a + size > (uintptr_t)0x7FFFFFFF0000 ? ERROR_INVALID_PARAMETER
                                                                     : ERROR_INVALID_ADDRESS;
        REQUIRE_ERR(&w->f, p, want, "reset crossing the end");
        return;
    }
    if (undo && !p) {
        /* Conservative: a page not resident (never written, or dropped) fails the undo. */
        REQUIRE(&w->f, GetLastError() == ERROR_INVALID_ADDRESS, "reset undo: error %u",
                GetLastError());
        return;
    }
    REQUIRE(&w->f, p == r->base + first * P, "reset returned %p (error %u), expected %p",
            (void *)p, GetLastError(), (void *)(r->base + first * P));
    for (size_t i = first; i < first + count; i++)
        if (r->pg[i].committed && !r->pg[i].locked)
            r->pg[i].reset = !undo;
}

static void op_touch(worker_t *w, res_t *r)
{
    size_t i = (size_t)below(&w->rng, r->np);
    page_t *g = &r->pg[i];
    char *a = r->base + i * P;
    if (!g->committed || !readable(g->prot))
        return;
    if (g->prot & PAGE_GUARD) {
        /* First touch: hostmem clears the guard and the read completes. */
        volatile uint32_t *v = (volatile uint32_t *)a;
        uint32_t x = v[0];
        REQUIRE(&w->f, g->reset || x == word_of(g->seed, 0), "guard page %p read %#x", (void *)a,
                x);
        g->prot &= ~(DWORD)PAGE_GUARD;
        w->guard_touches++;
        return;
    }
    if (!g->reset)
        REQUIRE(&w->f, page_matches(a, g->seed), "page %p lost its contents (seed %#x)",
                (void *)a, g->seed);
    if (writable(g->prot)) {
        uint32_t seed = (uint32_t)rnd(&w->rng) | 1u;
        page_write(a, seed);
        g->seed = seed;
        g->reset = false;
    }
}

static void *separate_worker(void *arg)
{
    worker_t *w = arg;
    while (!atomic_load_explicit(&stop_all, memory_order_relaxed) && !w->f.failed &&
           w->total < MAX_OPS_PER_THREAD && ((w->total & 63) || now_ns() < w->deadline)) {
        res_t *r = &w->slot[below(&w->rng, SLOTS)];
        int op;
        if (!r->base) {
            op = below(&w->rng, 4) == 0 ? OP_RESERVE_AT : OP_RESERVE;
            if (op == OP_RESERVE_AT && !w->last_released)
                op = OP_RESERVE;
            op == OP_RESERVE ? op_reserve(w, r, false) : op_reserve(w, r, true);
        } else {
            static const int mix[] = {OP_RELEASE, OP_COMMIT, OP_COMMIT, OP_COMMIT, OP_DECOMMIT,
                                      OP_DECOMMIT, OP_PROTECT, OP_PROTECT, OP_PROTECT, OP_QUERY,
                                      OP_QUERY, OP_LOCK, OP_UNLOCK, OP_RESET, OP_RESET_UNDO,
                                      OP_TOUCH, OP_TOUCH, OP_TOUCH, OP_TOUCH, OP_INVALID};
            op = mix[below(&w->rng, sizeof mix / sizeof mix[0])];
            switch (op) {
            case OP_RELEASE: op_release(w, r); break;
            case OP_COMMIT: op_commit(w, r); break;
            case OP_DECOMMIT: op_decommit(w, r); break;
            case OP_PROTECT: op_protect(w, r); break;
            case OP_QUERY: break; /* the check below */
            case OP_LOCK: op_lock(w, r); break;
            case OP_UNLOCK: op_unlock(w, r); break;
            case OP_RESET: op_reset(w, r, false); break;
            case OP_RESET_UNDO: op_reset(w, r, true); break;
            case OP_TOUCH: op_touch(w, r); break;
            default: invalid_call(&w->f, &w->rng, r->base, r->np); break;
            }
        }
        w->ops[op]++;
        w->total++;
        if (r->base && !w->f.failed)
            check_regions(w, r);
    }
    for (int k = 0; k < SLOTS; k++) {
        if (w->slot[k].base && !VirtualFree(w->slot[k].base, 0, MEM_RELEASE))
            fail_at(&w->f, __LINE__, "final release of %p: %u", (void *)w->slot[k].base,
                    GetLastError());
        free(w->slot[k].pg);
        memset(&w->slot[k], 0, sizeof w->slot[k]);
    }
    return NULL;
}

/* ======================================================================================
 * shared_reservations
 * ==================================================================================== */

#define SHARED_SLOTS 6
#define SHARED_MAX_PAGES 64

typedef struct shared_slot {
    pthread_rwlock_t rw;
    _Atomic(uintptr_t) base; /* written under the write lock; read anywhere */
    _Atomic(size_t) np;
    DWORD alloc_prot;        /* under the lock */
} shared_slot_t;

static shared_slot_t shared[SHARED_SLOTS];

typedef struct sworker {
    unsigned id;
    uint64_t rng, seed;
    uint64_t ops[OP_COUNT], total;
    uint64_t deadline;
    failure_t f;
} sworker_t;

/* Fields any VirtualQuery answer must have, whatever races with it. */
static void check_consistent(failure_t *f, const MEMORY_BASIC_INFORMATION *m, uintptr_t page)
{
    REQUIRE(f, (uintptr_t)m->BaseAddress == page, "query of %#lx: base %p", (unsigned long)page,
            m->BaseAddress);
    REQUIRE(f, m->RegionSize > 0 && m->RegionSize % P == 0 &&
                   (uintptr_t)m->BaseAddress + m->RegionSize > (uintptr_t)m->BaseAddress,
            "query of %#lx: size %#zx (base %p alloc %p aprot %#x state %#x prot %#x type %#x)",
            (unsigned long)page, m->RegionSize, m->BaseAddress, m->AllocationBase,
            m->AllocationProtect, m->State, m->Protect, m->Type);
    switch (m->State) {
    case MEM_COMMIT:
        REQUIRE(f, m->Protect != 0 && m->AllocationBase != NULL &&
                       (uintptr_t)m->AllocationBase <= page,
                "committed region %p: protect %#x alloc %p", m->BaseAddress, m->Protect,
                m->AllocationBase);
        break;
    case MEM_RESERVE:
        REQUIRE(f, m->Protect == 0 && m->AllocationBase != NULL &&
                       (uintptr_t)m->AllocationBase <= page,
                "reserved region %p: protect %#x alloc %p", m->BaseAddress, m->Protect,
                m->AllocationBase);
        break;
    case MEM_FREE:
        REQUIRE(f, m->Protect == PAGE_NOACCESS && m->AllocationBase == NULL && m->Type == 0,
                "free region %p: protect %#x alloc %p type %#x", m->BaseAddress, m->Protect,
                m->AllocationBase, m->Type);
        break;
    default:
        REQUIRE(f, false, "region %p: state %#x", m->BaseAddress, m->State);
    }
}

/* With the slot's read lock: the regions tile the reservation and belong to it. */
static void shared_query_strict(sworker_t *w, shared_slot_t *sl, uintptr_t base, size_t np)
{
    uintptr_t a = base + below(&w->rng, np) * P, end = base + np * P;
    if (below(&w->rng, 2))
        a = base;
    while (a < end) {
        MEMORY_BASIC_INFORMATION m;
        REQUIRE(&w->f, VirtualQuery((void *)a, &m, sizeof m) == sizeof m, "query: %u",
                GetLastError());
        check_consistent(&w->f, &m, a);
        if (w->f.failed)
            return;
        REQUIRE(&w->f,
                (uintptr_t)m.AllocationBase == base && m.AllocationProtect == sl->alloc_prot &&
                    m.Type == MEM_PRIVATE && m.State != MEM_FREE &&
                    (uintptr_t)m.BaseAddress + m.RegionSize <= end &&
                    (m.State == MEM_RESERVE || valid_prot_value(m.Protect)),
                "region %p of [%#lx, %#lx): alloc %p aprot %#x (expected %#x) size %#zx state "
                "%#x prot %#x type %#x",
                m.BaseAddress, (unsigned long)base, (unsigned long)end, m.AllocationBase,
                m.AllocationProtect, sl->alloc_prot, m.RegionSize, m.State, m.Protect, m.Type);
        a = (uintptr_t)m.BaseAddress + m.RegionSize;
    }
}

/* Without any lock: the slot may be released or re-reserved meanwhile. */
static void shared_query_loose(sworker_t *w, shared_slot_t *sl)
{
    uintptr_t base = atomic_load(&sl->base);
    size_t np = atomic_load(&sl->np);
    if (!base)
        return;
    uintptr_t a = base + below(&w->rng, np + 2) * P;
    MEMORY_BASIC_INFORMATION m;
    REQUIRE(&w->f, VirtualQuery((void *)a, &m, sizeof m) == sizeof m, "loose query: %u",
            GetLastError());
    check_consistent(&w->f, &m, a);
    if (!w->f.failed && m.State != MEM_FREE && m.AllocationBase == (void *)base)
        REQUIRE(&w->f, (uintptr_t)m.BaseAddress + m.RegionSize <= base + SHARED_MAX_PAGES * P &&
                           m.Type == MEM_PRIVATE,
                "loose query of %#lx: region %p size %#zx (alloc %p aprot %#x state %#x prot %#x "
                "type %#x) runs past any reservation there",
                (unsigned long)a, m.BaseAddress, m.RegionSize, m.AllocationBase,
                m.AllocationProtect, m.State, m.Protect, m.Type);
}

static bool err_in(DWORD e, const DWORD *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (e == set[i])
            return true;
    return false;
}

#define ALLOWED(w, ok, what, ...)                                                          \
    do {                                                                                   \
        static const DWORD set_[] = {__VA_ARGS__};                                         \
        DWORD e_ = GetLastError();                                                         \
        REQUIRE(&(w)->f, (ok) || err_in(e_, set_, sizeof set_ / sizeof set_[0]),            \
                "%s: error %u not allowed", what, e_);                                     \
    } while (0)

/* One mutating call on [first, first+count) of a reservation the caller holds read-locked. */
static void shared_mutate(sworker_t *w, uintptr_t base, size_t np, int op)
{
    size_t first = (size_t)below(&w->rng, np), count = 1 + (size_t)below(&w->rng, 8);
    if (op == OP_LOCK && count > 4)
        count = 4; /* keep the locked total under RLIMIT_MEMLOCK */
    bool crossing = first + count > np;
    if (crossing && below(&w->rng, 3))
        count = np - first, crossing = false;
    char *a = (char *)base + first * P;
    SIZE_T size = count * P;
    DWORD prot = random_prot(&w->rng), old = 0xDEAD;
    switch (op) {
    case OP_COMMIT: {
        void *p = VirtualAlloc(a, size, MEM_COMMIT, prot);
        if (crossing)
            REQUIRE_ERR(&w->f, p, cross_err(a, size, ERROR_INVALID_ADDRESS), "shared commit crossing");
        else
            ALLOWED(w, p == a, "shared commit", ERROR_COMMITMENT_LIMIT, ERROR_NOT_ENOUGH_MEMORY);
        break;
    }
    case OP_DECOMMIT: {
        BOOL ok = VirtualFree(a, size, MEM_DECOMMIT);
        if (crossing)
            REQUIRE_ERR(&w->f, ok, ERROR_INVALID_PARAMETER, "shared decommit crossing");
        else
            REQUIRE(&w->f, ok, "shared decommit: %u", GetLastError());
        break;
    }
    case OP_PROTECT: {
        BOOL ok = VirtualProtect(a, size, prot, &old);
        if (crossing) {
            REQUIRE_ERR(&w->f, ok, cross_err(a, size, ERROR_INVALID_ADDRESS), "shared protect crossing");
        } else {
            ALLOWED(w, ok, "shared protect", ERROR_INVALID_ADDRESS);
            REQUIRE(&w->f, ok ? valid_prot_value(old) : old == PAGE_NOACCESS,
                    "shared protect: ok %d old %#x", ok, old);
        }
        break;
    }
    case OP_LOCK: {
        BOOL ok = VirtualLock(a, size);
        if (crossing)
            REQUIRE_ERR(&w->f, ok, cross_err(a, size, ERROR_INVALID_ADDRESS), "shared lock crossing");
        else
            ALLOWED(w, ok, "shared lock", ERROR_INVALID_ADDRESS, ERROR_NOACCESS,
                    (DWORD)STATUS_GUARD_PAGE_VIOLATION, ERROR_WORKING_SET_QUOTA);
        break;
    }
    case OP_UNLOCK: {
        BOOL ok = VirtualUnlock(a, size);
        if (crossing)
            REQUIRE_ERR(&w->f, ok, cross_err(a, size, ERROR_INVALID_ADDRESS), "shared unlock crossing");
        else
            ALLOWED(w, ok, "shared unlock", ERROR_NOT_LOCKED);
        break;
    }
    case OP_RESET:
    case OP_RESET_UNDO: {
        void *p = VirtualAlloc(a, size, op == OP_RESET ? MEM_RESET : MEM_RESET_UNDO, PAGE_NOACCESS);
        if (crossing)
            REQUIRE_ERR(&w->f, p, cross_err(a, size, ERROR_INVALID_ADDRESS), "shared reset crossing");
        else if (op == OP_RESET)
            REQUIRE(&w->f, p == a, "shared reset: %u", GetLastError());
        else
            ALLOWED(w, p == a, "shared reset undo", ERROR_INVALID_ADDRESS);
        break;
    }
    default:
        break;
    }
}

/* Caller holds the slot's write lock. */
static void shared_recycle(failure_t *f, uint64_t *rng, shared_slot_t *sl)
{
    uintptr_t base = atomic_load(&sl->base);
    if (base) {
        REQUIRE(f, VirtualFree((void *)base, 0, MEM_RELEASE), "shared release %#lx: %u",
                (unsigned long)base, GetLastError());
        atomic_store(&sl->base, 0);
    }
    size_t np = 1 + (size_t)below(rng, SHARED_MAX_PAGES);
    DWORD prot = random_prot(rng);
    DWORD type = below(rng, 2) ? MEM_RESERVE : MEM_RESERVE | MEM_COMMIT;
    void *p = VirtualAlloc(NULL, np * P, type, prot);
    if (!p) {
        DWORD e = GetLastError();
        REQUIRE(f, e == ERROR_NOT_ENOUGH_MEMORY || e == ERROR_COMMITMENT_LIMIT,
                "shared reserve: %u", e);
        return;
    }
    sl->alloc_prot = prot;
    atomic_store(&sl->np, np);
    atomic_store(&sl->base, (uintptr_t)p);
}

static void *shared_worker(void *arg)
{
    sworker_t *w = arg;
    while (!atomic_load_explicit(&stop_all, memory_order_relaxed) && !w->f.failed &&
           w->total < MAX_OPS_PER_THREAD && ((w->total & 63) || now_ns() < w->deadline)) {
        shared_slot_t *sl = &shared[below(&w->rng, SHARED_SLOTS)];
        static const int mix[] = {OP_RELEASE, OP_COMMIT, OP_COMMIT, OP_DECOMMIT, OP_PROTECT,
                                  OP_PROTECT, OP_QUERY, OP_QUERY, OP_QUERY_LOOSE,
                                  OP_QUERY_LOOSE, OP_QUERY_LOOSE, OP_LOCK, OP_UNLOCK, OP_RESET,
                                  OP_RESET_UNDO, OP_INVALID};
        int op = mix[below(&w->rng, sizeof mix / sizeof mix[0])];
        if (op == OP_QUERY_LOOSE) {
            shared_query_loose(w, sl);
        } else if (op == OP_RELEASE) {
            pthread_rwlock_wrlock(&sl->rw);
            shared_recycle(&w->f, &w->rng, sl);
            pthread_rwlock_unlock(&sl->rw);
        } else {
            pthread_rwlock_rdlock(&sl->rw);
            uintptr_t base = atomic_load(&sl->base);
            size_t np = atomic_load(&sl->np);
            if (base) {
                if (op == OP_QUERY)
                    shared_query_strict(w, sl, base, np);
                else if (op == OP_INVALID)
                    invalid_call(&w->f, &w->rng, (char *)base, np);
                else
                    shared_mutate(w, base, np, op);
            }
            pthread_rwlock_unlock(&sl->rw);
        }
        w->ops[op]++;
        w->total++;
    }
    return NULL;
}

/* ======================================================================================
 * Cases
 * ==================================================================================== */

typedef struct baseline {
    hm_stats_t st;
    unsigned long lck_kb;
    uint64_t anon;
} baseline_t;

static void baseline_take(baseline_t *b)
{
    b->st = hm_stats_now();
    b->lck_kb = vm_lck_kb();
    b->anon = anon_mapped_bytes();
}

/* Threads that do nothing: thread stacks, malloc arenas and sanitizer state exist before
 * the baseline is taken, so the kernel-map comparison sees only what hostmem leaves. */
static pthread_barrier_t warm_barrier;

static void *idle_thread(void *arg)
{
    void *volatile p = malloc(64); /* volatile: the pair must not be optimized away */
    pthread_barrier_wait(&warm_barrier); /* all alive at once: one malloc arena each */
    free(p);
    return arg;
}

static void warm_up(unsigned n)
{
    pthread_t t[8];
    ck_assert_int_eq(pthread_barrier_init(&warm_barrier, NULL, n), 0);
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, idle_thread, NULL), 0);
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&warm_barrier);
}

static void baseline_assert_back(const baseline_t *b, uint64_t guard_touches)
{
    hm_stats_t now = hm_stats_now();
    ck_assert_uint_eq(now.reservations, b->st.reservations);
    ck_assert_uint_eq(now.reserved_bytes, b->st.reserved_bytes);
    ck_assert_uint_eq(now.committed_bytes, b->st.committed_bytes);
    ck_assert_uint_eq(now.locked_bytes, b->st.locked_bytes);
    ck_assert_uint_eq(now.guard_pages_hit, b->st.guard_pages_hit + guard_touches);
    ck_assert_uint_eq(vm_lck_kb(), b->lck_kb);
    ck_assert_int_eq(atomic_load(&ledger_net), 0);
    if (HM_SANITIZED) {
        printf("kernel-map comparison skipped: sanitizer runtime maps memory of its own\n");
        return;
    }
    if (hm_test_under_valgrind("kernel-map comparison skipped: Valgrind maps memory of its own"))
        return;
    uint64_t anon = anon_mapped_bytes();
    ck_assert_msg(anon == b->anon, "anonymous mappings went from %llu to %llu bytes",
                  (unsigned long long)b->anon, (unsigned long long)anon);
}

static void install_ledger(void)
{
    atomic_store(&ledger_net, 0);
    atomic_store(&ledger_calls, 0);
    atomic_store(&stop_all, false);
    hm_os.map = ledger_map;
    hm_os.unmap = ledger_unmap;
}

START_TEST(separate_reservations)
{
    unsigned n = n_threads();
    warm_up(n);
    baseline_t b;
    baseline_take(&b);
    install_ledger();
    static worker_t w[4];
    pthread_t t[4];
    uint64_t deadline = now_ns() + RUN_NS;
    for (unsigned i = 0; i < n; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i;
        w[i].rng = w[i].seed = 0x9E3779B97F4A7C15ull * (i + 1) ^ (uint64_t)time(NULL);
        w[i].deadline = deadline;
        ck_assert_int_eq(pthread_create(&t[i], NULL, separate_worker, &w[i]), 0);
    }
    uint64_t counts[OP_COUNT] = {0}, total = 0, touches = 0;
    for (unsigned i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < OP_COUNT; k++)
            counts[k] += w[i].ops[k];
        total += w[i].total;
        touches += w[i].guard_touches;
    }
    hm_os = hm_os_default;
    for (unsigned i = 0; i < n; i++)
        ck_assert_msg(!w[i].f.failed, "thread %u (seed %#llx): %s", i,
                      (unsigned long long)w[i].seed, w[i].f.msg);
    char what[64];
    snprintf(what, sizeof what, "separate_reservations, %u threads", n);
    print_counts(what, counts, total);
    stress_log_ops("separate_reservations", total, now_ns() + RUN_NS - deadline);
    printf("guard pages fired: %llu, hm_os map/unmap calls: %llu\n", (unsigned long long)touches,
           (unsigned long long)atomic_load(&ledger_calls));
    baseline_assert_back(&b, touches);
}
END_TEST

START_TEST(shared_reservations)
{
    unsigned n = n_threads();
    warm_up(n);
    baseline_t b;
    baseline_take(&b);
    install_ledger();
    uint64_t rng = 0xC0FFEEull ^ (uint64_t)time(NULL);
    failure_t f = {0};
    for (int k = 0; k < SHARED_SLOTS; k++) {
        pthread_rwlock_init(&shared[k].rw, NULL);
        atomic_store(&shared[k].base, 0);
        shared_recycle(&f, &rng, &shared[k]);
    }
    ck_assert_msg(!f.failed, "%s", f.msg);
    static sworker_t w[4];
    pthread_t t[4];
    uint64_t deadline = now_ns() + RUN_NS;
    for (unsigned i = 0; i < n; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].id = i;
        w[i].rng = w[i].seed = 0x9E3779B97F4A7C15ull * (i + 7) ^ (uint64_t)time(NULL);
        w[i].deadline = deadline;
        ck_assert_int_eq(pthread_create(&t[i], NULL, shared_worker, &w[i]), 0);
    }
    uint64_t counts[OP_COUNT] = {0}, total = 0;
    for (unsigned i = 0; i < n; i++) {
        pthread_join(t[i], NULL);
        for (int k = 0; k < OP_COUNT; k++)
            counts[k] += w[i].ops[k];
        total += w[i].total;
    }
    for (int k = 0; k < SHARED_SLOTS; k++) {
        uintptr_t base = atomic_load(&shared[k].base);
        if (base)
            ck_assert_msg(VirtualFree((void *)base, 0, MEM_RELEASE), "final release: %u",
                          GetLastError());
        pthread_rwlock_destroy(&shared[k].rw);
    }
    hm_os = hm_os_default;
    for (unsigned i = 0; i < n; i++)
        ck_assert_msg(!w[i].f.failed, "thread %u (seed %#llx): %s", i,
                      (unsigned long long)w[i].seed, w[i].f.msg);
    char what[64];
    snprintf(what, sizeof what, "shared_reservations, %u threads", n);
    print_counts(what, counts, total);
    stress_log_ops("shared_reservations", total, now_ns() + RUN_NS - deadline);
    baseline_assert_back(&b, 0);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("stress");
    TCase *tc = tcase_create("separate_reservations");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, separate_reservations);
    suite_add_tcase(s, tc);
    tc = tcase_create("shared_reservations");
    tcase_set_timeout(tc, stress_timeout());
    tcase_add_test(tc, shared_reservations);
    suite_add_tcase(s, tc);
    return s;
}

HM_TEST_MAIN(make_suite)
