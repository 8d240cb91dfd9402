/*
 * stress.h — what the stress programs of tests/stress/ share (header only: CMake builds
 * each test_*.c on its own).
 *
 *  - Run length: HM_STRESS_SECONDS (default 2, fractions allowed) per case, for long
 *    local runs; stress_run_ns().
 *  - The operation log: each case prints "stress <case>: N operations in S s" and appends
 *    the same line to $HM_STRESS_LOG (set by tests/CMakeLists.txt); the summary case
 *    (test_stress_summary.c) adds the lines up after every other stress case ran.
 *  - Failures seen by worker threads: recorded (first one wins) and asserted by the main
 *    thread; STRESS_REQUIRE returns from the calling function.
 *  - The mapping ledger: hm_os' map/unmap slots are wrapped so that every range hostmem
 *    maps for a reservation (reserve, trim, decommit, placeholder, large pages, AWE, release)
 *    is tracked as a set of intervals. It must never map over a range it already maps, nor
 *    unmap or replace a range it does not; at a quiet point it must equal hostmem's own
 *    records (stress_views_agree: ledger bytes == reserved_bytes, every ledger range is a
 *    hostmem reservation, committed and locked bytes add up) and the kernel's view
 *    (/proc/self/maps covers every range, with the protections hostmem reported). At the
 *    end of a case it must be empty: no mapping leaked. (Metadata mappings — run lists grown
 *    in the fault handler, write-watch bitmaps — are not reservations and pass through.)
 *
 * Locking: the ledger's mutex is held only around its own bookkeeping (never across a
 * system call) and is never taken in the fault handler (its sites pass through).
 */
#ifndef HM_TESTS_STRESS_H
#define HM_TESTS_STRESS_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "os/os.h"
#include "testlib.h"
#include "valgrind_hooks.h"
#include "vm/record.h"
#include "vm/vm.h"

/* Sanitizer runtimes (and Valgrind) map memory of their own as the program runs: the
 * comparison of the process's total anonymous mappings is only meaningful without them. */
#if defined(__SANITIZE_THREAD__) || defined(__SANITIZE_ADDRESS__)
#define STRESS_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer) || __has_feature(address_sanitizer)
#define STRESS_SANITIZED 1
#endif
#endif
#ifndef STRESS_SANITIZED
#define STRESS_SANITIZED 0
#endif

#define STRESS_UNUSED __attribute__((unused))

/* ---- time and random numbers ------------------------------------------------------------ */

static STRESS_UNUSED uint64_t stress_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* The length of one case: HM_STRESS_SECONDS, else 2 s. */
static STRESS_UNUSED uint64_t stress_run_ns(void)
{
    const char *s = getenv("HM_STRESS_SECONDS");
    double secs = s && *s ? strtod(s, NULL) : 2.0;
    if (!(secs >= 0.05))
        secs = 0.05;
    if (secs > 86400.0)
        secs = 86400.0;
    return (uint64_t)(secs * 1e9);
}

/* Check's timeout for one case: room for the run length and the checks after it. */
static STRESS_UNUSED int stress_timeout(void)
{
    return 120 + 2 * (int)(stress_run_ns() / 1000000000ull);
}

static STRESS_UNUSED uint64_t stress_rnd(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static STRESS_UNUSED uint64_t stress_below(uint64_t *s, uint64_t n)
{
    return stress_rnd(s) % n;
}

/* A seed per thread, different on every run (printed with any failure). */
static STRESS_UNUSED uint64_t stress_seed(unsigned salt)
{
    uint64_t s = (0x9E3779B97F4A7C15ull * (salt + 1)) ^ stress_now_ns();
    return s ? s : 1;
}

/* ---- failures recorded by worker threads -------------------------------------------------- */

typedef struct stress_failure {
    atomic_bool failed;
    char msg[768];
} stress_failure_t;

static atomic_bool stress_stop; /* set by the first failure: every worker winds down */

static STRESS_UNUSED void stress_fail_at(stress_failure_t *f, int line, const char *fmt, ...)
{
    bool no = false;
    if (!atomic_compare_exchange_strong(&f->failed, &no, true))
        return;
    int n = snprintf(f->msg, sizeof f->msg, "line %d: ", line);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg + n, sizeof f->msg - (size_t)n, fmt, ap);
    va_end(ap);
    atomic_store(&stress_stop, true);
}

/* Records the first failure and returns from the calling function. */
#define STRESS_REQUIRE(f, cond, ...)                                                         \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            stress_fail_at((f), __LINE__, __VA_ARGS__);                                      \
            return;                                                                          \
        }                                                                                    \
    } while (0)

/* A call that must fail with exactly err. */
#define STRESS_REQUIRE_ERR(f, ok, err, what)                                                 \
    STRESS_REQUIRE(f, !(ok) && GetLastError() == (DWORD)(err),                               \
                   "%s: result %d, error %u, expected %u", what, (int)!!(ok), GetLastError(), \
                   (unsigned)(err))

static STRESS_UNUSED bool stress_stopping(const stress_failure_t *f)
{
    return atomic_load_explicit(&stress_stop, memory_order_relaxed) || atomic_load(&f->failed);
}

/* ---- the operation log ------------------------------------------------------------------ */

static STRESS_UNUSED void stress_log_ops(const char *case_name, uint64_t ops, uint64_t ns)
{
    char line[256];
    int n = snprintf(line, sizeof line, "stress %s: %llu operations in %.2f s\n", case_name,
                     (unsigned long long)ops, (double)ns / 1e9);
    fputs(line, stdout);
    fflush(stdout);
    const char *path = getenv("HM_STRESS_LOG");
    if (!path || !*path)
        return;
    FILE *f = fopen(path, "ae"); /* O_APPEND: one short line per write, whole */
    if (f) {
        fwrite(line, 1, (size_t)n, f);
        fclose(f);
    }
}

/* ---- the kernel's view -------------------------------------------------------------------- */

static STRESS_UNUSED char *stress_slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    size_t cap = 1 << 16, n = 0, k;
    char *b = malloc(cap);
    while (b && (k = fread(b + n, 1, cap - 1 - n, f)) > 0) {
        n += k;
        if (n + 1 >= cap) {
            char *nb = realloc(b, cap *= 2);
            if (!nb)
                free(b);
            b = nb;
        }
    }
    fclose(f);
    if (b)
        b[n] = '\0';
    return b;
}

/* Bytes of anonymous private mappings (no file, no [stack]/[heap]/[v...] name). */
static STRESS_UNUSED uint64_t stress_anon_bytes(void)
{
    char *maps = stress_slurp("/proc/self/maps");
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

static STRESS_UNUSED uint64_t stress_vm_lck_bytes(void)
{
    char *st = stress_slurp("/proc/self/status");
    ck_assert_ptr_nonnull(st);
    const char *p = strstr(st, "VmLck:");
    uint64_t kb = p ? strtoull(p + 6, NULL, 10) : 0;
    free(st);
    return kb << 10;
}

typedef struct stress_kmap {
    uintptr_t s, e;
    char perms[5];
} stress_kmap_t;

/* /proc/self/maps as an array sorted by address; *n entries. free() the result. */
static STRESS_UNUSED stress_kmap_t *stress_kernel_maps(size_t *n)
{
    char *maps = stress_slurp("/proc/self/maps");
    ck_assert_ptr_nonnull(maps);
    size_t cap = 256, k = 0;
    stress_kmap_t *v = malloc(cap * sizeof *v);
    ck_assert_ptr_nonnull(v);
    for (char *line = maps; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        unsigned long long s, e;
        char perms[8];
        if (sscanf(line, "%llx-%llx %7s", &s, &e, perms) == 3) {
            if (k == cap) {
                v = realloc(v, (cap *= 2) * sizeof *v);
                ck_assert_ptr_nonnull(v);
            }
            v[k].s = (uintptr_t)s;
            v[k].e = (uintptr_t)e;
            memcpy(v[k].perms, perms, 4);
            v[k].perms[4] = '\0';
            k++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(maps);
    *n = k;
    return v;
}

/* ---- the mapping ledger -------------------------------------------------------------------- */

typedef struct stress_iv {
    uintptr_t s, e;
} stress_iv_t;

static struct {
    pthread_mutex_t mu;
    stress_iv_t *v;
    size_t n, cap;
    atomic_bool bad;
    char err[256];
    _Atomic uint64_t calls;
} stress_ledger = {.mu = PTHREAD_MUTEX_INITIALIZER};

/* Metadata mappings, not reservations: run lists grown in the fault handler (which must
 * not take the ledger's mutex) and the write-watch state (unmapped through hm_os_default). */
static STRESS_UNUSED bool stress_reservation_site(hm_os_site_t site)
{
    return site != HM_SITE_GUARD_RUNS && site != HM_SITE_WATCH_STATE;
}

static STRESS_UNUSED void stress_ledger_error(const char *what, hm_os_site_t site, uintptr_t s,
                                              uintptr_t e)
{
    bool no = false;
    if (atomic_compare_exchange_strong(&stress_ledger.bad, &no, true))
        snprintf(stress_ledger.err, sizeof stress_ledger.err, "%s: site %s, [%#lx, %#lx)", what,
                 hm_os_site_name(site), (unsigned long)s, (unsigned long)e);
}

/* Index of the first interval ending above a (mutex held). */
static STRESS_UNUSED size_t stress_iv_find(uintptr_t a)
{
    size_t lo = 0, hi = stress_ledger.n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (stress_ledger.v[mid].e <= a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static STRESS_UNUSED bool stress_iv_covered(uintptr_t s, uintptr_t e)
{
    size_t i = stress_iv_find(s);
    return i < stress_ledger.n && stress_ledger.v[i].s <= s && stress_ledger.v[i].e >= e;
}

static STRESS_UNUSED void stress_iv_insert_at(size_t i, uintptr_t s, uintptr_t e)
{
    if (stress_ledger.n == stress_ledger.cap) {
        size_t cap = stress_ledger.cap ? stress_ledger.cap * 2 : 64;
        stress_iv_t *v = realloc(stress_ledger.v, cap * sizeof *v);
        if (!v) {
            stress_ledger_error("ledger: out of memory", HM_SITE_RESERVE_MAP, s, e);
            return;
        }
        stress_ledger.v = v;
        stress_ledger.cap = cap;
    }
    memmove(&stress_ledger.v[i + 1], &stress_ledger.v[i],
            (stress_ledger.n - i) * sizeof stress_ledger.v[0]);
    stress_ledger.v[i] = (stress_iv_t){s, e};
    stress_ledger.n++;
}

/* Adds [s, e), which must not overlap the ledger; joins touching neighbours. */
static STRESS_UNUSED void stress_iv_add(hm_os_site_t site, uintptr_t s, uintptr_t e)
{
    size_t i = stress_iv_find(s);
    if (i < stress_ledger.n && stress_ledger.v[i].s < e) {
        stress_ledger_error("hostmem mapped over its own mapping", site, s, e);
        return;
    }
    bool left = i > 0 && stress_ledger.v[i - 1].e == s;
    bool right = i < stress_ledger.n && stress_ledger.v[i].s == e;
    if (left && right) {
        stress_ledger.v[i - 1].e = stress_ledger.v[i].e;
        memmove(&stress_ledger.v[i], &stress_ledger.v[i + 1],
                (stress_ledger.n - i - 1) * sizeof stress_ledger.v[0]);
        stress_ledger.n--;
    } else if (left) {
        stress_ledger.v[i - 1].e = e;
    } else if (right) {
        stress_ledger.v[i].s = s;
    } else {
        stress_iv_insert_at(i, s, e);
    }
}

/* Removes [s, e), which the ledger must cover. */
static STRESS_UNUSED void stress_iv_remove(hm_os_site_t site, uintptr_t s, uintptr_t e)
{
    size_t i = stress_iv_find(s);
    if (!stress_iv_covered(s, e)) {
        stress_ledger_error("hostmem unmapped a range it does not map", site, s, e);
        return;
    }
    stress_iv_t iv = stress_ledger.v[i];
    if (iv.s == s && iv.e == e) {
        memmove(&stress_ledger.v[i], &stress_ledger.v[i + 1],
                (stress_ledger.n - i - 1) * sizeof stress_ledger.v[0]);
        stress_ledger.n--;
    } else if (iv.s == s) {
        stress_ledger.v[i].s = e;
    } else if (iv.e == e) {
        stress_ledger.v[i].e = s;
    } else {
        stress_ledger.v[i].e = s;
        stress_iv_insert_at(i + 1, e, iv.e);
    }
}

static STRESS_UNUSED void stress_iv_require(hm_os_site_t site, uintptr_t s, uintptr_t e)
{
    if (!stress_iv_covered(s, e))
        stress_ledger_error("hostmem replaced a range it does not map", site, s, e);
}

static STRESS_UNUSED void stress_ledger_lock(void)
{
    pthread_mutex_lock(&stress_ledger.mu);
    atomic_fetch_add_explicit(&stress_ledger.calls, 1, memory_order_relaxed);
}

static STRESS_UNUSED void stress_ledger_unlock(void)
{
    pthread_mutex_unlock(&stress_ledger.mu);
}

/* New ranges are added after the call succeeds; ranges going away are removed before it
 * (and put back if it fails): another thread's mmap can be handed an address only after
 * the munmap that freed it, so the ledger never sees two owners of one page. */
static STRESS_UNUSED int stress_lg_map(hm_os_site_t site, void *addr, size_t len, unsigned prot,
                                       hm_os_map_mode_t mode, void **out)
{
    int err = hm_os_default.map(site, addr, len, prot, mode, out);
    if (err || !stress_reservation_site(site))
        return err;
    uintptr_t s = (uintptr_t)*out;
    stress_ledger_lock();
    if (mode == HM_OS_MAP_REPLACE)
        stress_iv_require(site, s, s + len);
    else
        stress_iv_add(site, s, s + len);
    stress_ledger_unlock();
    return 0;
}

static STRESS_UNUSED int stress_lg_unmap(hm_os_site_t site, void *addr, size_t len)
{
    if (!stress_reservation_site(site))
        return hm_os_default.unmap(site, addr, len);
    uintptr_t s = (uintptr_t)addr;
    stress_ledger_lock();
    bool had = stress_iv_covered(s, s + len);
    stress_iv_remove(site, s, s + len);
    stress_ledger_unlock();
    int err = hm_os_default.unmap(site, addr, len);
    if (err && had) {
        stress_ledger_lock();
        stress_iv_add(site, s, s + len);
        stress_ledger_unlock();
    }
    return err;
}

static STRESS_UNUSED int stress_lg_map_huge(hm_os_site_t site, size_t len, unsigned prot,
                                            void **out)
{
    int err = hm_os_default.map_huge(site, len, prot, out);
    if (!err) {
        stress_ledger_lock();
        stress_iv_add(site, (uintptr_t)*out, (uintptr_t)*out + len);
        stress_ledger_unlock();
    }
    return err;
}

static STRESS_UNUSED int stress_lg_move(hm_os_site_t site, void *from, size_t len, void *to)
{
    uintptr_t f = (uintptr_t)from, t = (uintptr_t)to;
    stress_ledger_lock();
    bool had = stress_iv_covered(f, f + len);
    stress_iv_remove(site, f, f + len);
    stress_iv_require(site, t, t + len);
    stress_ledger_unlock();
    int err = hm_os_default.move(site, from, len, to);
    if (err && had) {
        stress_ledger_lock();
        stress_iv_add(site, f, f + len);
        stress_ledger_unlock();
    }
    return err;
}

static STRESS_UNUSED int stress_lg_map_fd(hm_os_site_t site, void *addr, size_t len,
                                          unsigned prot, int fd, uint64_t off)
{
    int err = hm_os_default.map_fd(site, addr, len, prot, fd, off);
    if (!err) {
        stress_ledger_lock();
        stress_iv_require(site, (uintptr_t)addr, (uintptr_t)addr + len);
        stress_ledger_unlock();
    }
    return err;
}

/* Starts an empty ledger (nothing of hostmem's may be mapped yet by this case). */
static STRESS_UNUSED void stress_ledger_install(void)
{
    stress_ledger.n = 0;
    atomic_store(&stress_ledger.bad, false);
    atomic_store(&stress_ledger.calls, 0);
    atomic_store(&stress_stop, false);
    hm_os.map = stress_lg_map;
    hm_os.unmap = stress_lg_unmap;
    hm_os.map_huge = stress_lg_map_huge;
    hm_os.move = stress_lg_move;
    hm_os.map_fd = stress_lg_map_fd;
}

static STRESS_UNUSED void stress_ledger_remove_hooks(void)
{
    hm_os = hm_os_default;
}

static STRESS_UNUSED stress_iv_t *stress_ledger_copy(size_t *n, uint64_t *bytes)
{
    stress_ledger_lock();
    *n = stress_ledger.n;
    stress_iv_t *v = malloc((*n ? *n : 1) * sizeof *v);
    ck_assert_ptr_nonnull(v);
    memcpy(v, stress_ledger.v, *n * sizeof *v);
    stress_ledger_unlock();
    *bytes = 0;
    for (size_t i = 0; i < *n; i++)
        *bytes += v[i].e - v[i].s;
    return v;
}

/* ---- baselines and quiet-point checks ----------------------------------------------------- */

typedef struct stress_base {
    hm_vm_stats_t st;
    uint64_t lck, anon;
} stress_base_t;

/* Threads that do nothing: thread stacks, malloc arenas and sanitizer state exist before
 * the baseline is taken, so the kernel-map comparison sees only what hostmem leaves. */
static pthread_barrier_t stress_warm_barrier;

static STRESS_UNUSED void *stress_idle_thread(void *arg)
{
    void *volatile p = malloc(64);
    pthread_barrier_wait(&stress_warm_barrier);
    free(p);
    return arg;
}

static STRESS_UNUSED void stress_warm_up(unsigned n)
{
    pthread_t t[16];
    ck_assert_uint_le(n, 16);
    ck_assert_int_eq(pthread_barrier_init(&stress_warm_barrier, NULL, n), 0);
    for (unsigned i = 0; i < n; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, stress_idle_thread, NULL), 0);
    for (unsigned i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    pthread_barrier_destroy(&stress_warm_barrier);
}

static STRESS_UNUSED void stress_base_take(stress_base_t *b)
{
    hm_vm_get_stats(&b->st);
    b->lck = stress_vm_lck_bytes();
    b->anon = stress_anon_bytes();
}

/* The kernel's permissions of a mapping that holds hostmem region r. */
static STRESS_UNUSED bool stress_perms_fit(const hm_vm_region_t *r, unsigned kind,
                                           const char *perms)
{
    bool kr = perms[0] == 'r', kw = perms[1] == 'w', kx = perms[2] == 'x';
    if (r->state != HM_STATE_COMMITTED || (r->prot & HM_VM_GUARD) ||
        !(r->prot & (HM_VM_R | HM_VM_W | HM_VM_X)))
        return !kr && !kw && !kx;
    if (kx != !!(r->prot & HM_VM_X) || (kw && !(r->prot & HM_VM_W)))
        return false;
    if ((r->prot & HM_VM_R) && !kr)
        return false;
    /* The mprotect write-watch engine maps armed pages without write access. */
    return kw == !!(r->prot & HM_VM_W) || (kind & HM_KIND_WATCH);
}

/*
 * At a quiet point (no hostmem call in progress): the ledger, hostmem's records and the
 * kernel's view agree. extra_commit: bytes charged to commit outside any reservation's
 * committed pages (AWE pages held); extra_locked: bytes the kernel counts in VmLck that
 * locked_bytes does not. Returns false with a message in err.
 */
static STRESS_UNUSED bool stress_views_agree(const stress_base_t *b, uint64_t extra_commit,
                                             uint64_t extra_locked, char *err, size_t cap)
{
    if (atomic_load(&stress_ledger.bad)) {
        snprintf(err, cap, "ledger: %s", stress_ledger.err);
        return false;
    }
    size_t n, nk;
    uint64_t bytes, committed = 0, reservations = 0;
    stress_iv_t *iv = stress_ledger_copy(&n, &bytes);
    stress_kmap_t *km = stress_kernel_maps(&nk);
    hm_vm_stats_t st;
    hm_vm_get_stats(&st);
    bool ok = true;
    uintptr_t last_alloc = 0;
    size_t k = 0;
    for (size_t i = 0; ok && i < n; i++) {
        for (uintptr_t a = iv[i].s; ok && a < iv[i].e;) {
            hm_vm_region_t r;
            unsigned kind = 0;
            char owner[8];
            if (hm_vm_query(a, &r) != HM_OK || r.foreign || r.state == HM_STATE_FREE ||
                r.base + r.size > iv[i].e ||
                hm_vm_describe(a, &kind, owner, sizeof owner) != HM_OK) {
                snprintf(err, cap, "ledger range [%#lx, %#lx): %#lx is not a hostmem reservation "
                         "(foreign %d, state %d, region [%#lx, +%#zx))", (unsigned long)iv[i].s,
                         (unsigned long)iv[i].e, (unsigned long)a, r.foreign, (int)r.state,
                         (unsigned long)r.base, r.size);
                ok = false;
                break;
            }
            if (r.alloc_base != last_alloc)
                reservations++, last_alloc = r.alloc_base;
            if (r.state == HM_STATE_COMMITTED && !(kind & HM_KIND_PHYSICAL))
                committed += r.size;
            /* The kernel maps every page of the region, with fitting permissions. */
            while (k < nk && km[k].e <= r.base)
                k++;
            for (uintptr_t at = r.base; ok && at < r.base + r.size; k++) {
                if (k >= nk || km[k].s > at || !stress_perms_fit(&r, kind, km[k].perms)) {
                    snprintf(err, cap, "kernel view of hostmem region [%#lx, +%#zx) (state %d "
                             "prot %#x kind %#x) at %#lx: %s", (unsigned long)r.base, r.size,
                             (int)r.state, r.prot, kind, (unsigned long)at,
                             k >= nk || km[k].s > at ? "not mapped" : km[k].perms);
                    ok = false;
                    break;
                }
                at = km[k].e;
                if (at > r.base + r.size)
                    break; /* the next region shares this kernel mapping */
            }
            a = r.base + r.size;
        }
    }
    if (ok && bytes != st.reserved_bytes - b->st.reserved_bytes) {
        snprintf(err, cap, "ledger holds %llu bytes, hostmem's reservations %llu",
                 (unsigned long long)bytes,
                 (unsigned long long)(st.reserved_bytes - b->st.reserved_bytes));
        ok = false;
    }
    if (ok && reservations != st.reservations - b->st.reservations) {
        snprintf(err, cap, "ledger ranges hold %llu reservations, hostmem counts %llu",
                 (unsigned long long)reservations,
                 (unsigned long long)(st.reservations - b->st.reservations));
        ok = false;
    }
    if (ok && committed + extra_commit != st.committed_bytes - b->st.committed_bytes) {
        snprintf(err, cap, "committed regions %llu + %llu bytes, commit charge %llu",
                 (unsigned long long)committed, (unsigned long long)extra_commit,
                 (unsigned long long)(st.committed_bytes - b->st.committed_bytes));
        ok = false;
    }
    uint64_t lck = stress_vm_lck_bytes();
    if (ok && lck - b->lck != st.locked_bytes - b->st.locked_bytes + extra_locked) {
        snprintf(err, cap, "VmLck grew by %llu bytes, hostmem's locked bytes by %llu (+%llu)",
                 (unsigned long long)(lck - b->lck),
                 (unsigned long long)(st.locked_bytes - b->st.locked_bytes),
                 (unsigned long long)extra_locked);
        ok = false;
    }
    free(km);
    free(iv);
    return ok;
}

/* After everything a case made is released: nothing left anywhere. */
static STRESS_UNUSED void stress_assert_back(const stress_base_t *b, uint64_t guard_hits)
{
    stress_ledger_remove_hooks();
    ck_assert_msg(!atomic_load(&stress_ledger.bad), "ledger: %s", stress_ledger.err);
    ck_assert_msg(stress_ledger.n == 0, "%zu ranges hostmem mapped are still mapped (first "
                  "[%#lx, %#lx))", stress_ledger.n,
                  stress_ledger.n ? (unsigned long)stress_ledger.v[0].s : 0ul,
                  stress_ledger.n ? (unsigned long)stress_ledger.v[0].e : 0ul);
    hm_vm_stats_t st;
    hm_vm_get_stats(&st);
    ck_assert_uint_eq(st.reservations, b->st.reservations);
    ck_assert_uint_eq(st.reserved_bytes, b->st.reserved_bytes);
    ck_assert_uint_eq(st.committed_bytes, b->st.committed_bytes);
    ck_assert_uint_eq(st.locked_bytes, b->st.locked_bytes);
    ck_assert_uint_eq(st.watched_bytes, b->st.watched_bytes);
    ck_assert_uint_eq(st.guard_hits, b->st.guard_hits + guard_hits);
    ck_assert_uint_eq(stress_vm_lck_bytes(), b->lck);
    if (STRESS_SANITIZED || hm_vg_running()) {
        printf("total anonymous mappings not compared: the sanitizer or Valgrind maps memory "
               "of its own\n");
        return;
    }
    if (hm_test_under_valgrind("total anonymous mappings not compared: Valgrind maps memory "
                               "of its own"))
        return;
    uint64_t anon = stress_anon_bytes();
    ck_assert_msg(anon == b->anon, "anonymous mappings went from %llu to %llu bytes",
                  (unsigned long long)b->anon, (unsigned long long)anon);
}

#endif /* HM_TESTS_STRESS_H */
