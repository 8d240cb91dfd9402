/*
 * test_fault_injection.c — every OS call site of HM_OS_SITE_LIST (src/os/os.h) made to
 * fail through the live hm_os table, one ctest case per site (named after the site).
 *
 * Each case sets up reservations, commits, protections and a byte pattern, snapshots the
 * region map (VirtualQuery, region by region, every field) and the statistics, swaps the
 * table for fakes that fail the chosen site (and forward every other call to
 * hm_os_default), makes the public call that reaches the site, restores the table and
 * asserts: the call failed with Windows' error, the fake was called from that site, and
 * the map, the statistics and the contents are what they were. Rollbacks that cannot
 * themselves fail panic: those cases run in a forked child and expect SIGABRT. A failure
 * in the guard-page signal path means "not our fault": the child expects SIGSEGV. Sites
 * that only a fresh process reaches run in a re-executed copy of this program.
 *
 * Coverage: the scenario table is generated from HM_OS_SITE_LIST, so a new site without a
 * `site_<NAME>` function does not compile, and the "coverage" case fails for a site that
 * has no ctest case of its own.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "hostmem/host.h"
#include "os/os.h"
#include "testlib.h"
#include "vm/index.h"
#include "vm/record.h"

/* ======================================================================================
 * The fakes. Their state lives in a MAP_SHARED page so that counts made in a forked child
 * (death tests, the signal path) are visible to the parent.
 * ==================================================================================== */

typedef struct fi_rule {
    int err;   /* errno to fail with; 0 = forward */
    int skip;  /* forward this many matching calls first */
    int times; /* then fail this many (-1 = every one) */
    int mode;  /* map only: fail only this hm_os_map_mode_t (-1 = any) */
} fi_rule_t;

#define FI_MAX_MAPPED 64

typedef struct fi_state {
    fi_rule_t rule[HM_SITE_COUNT];
    int calls[HM_SITE_COUNT];  /* calls seen per site while the fakes were installed */
    int failed[HM_SITE_COUNT]; /* of which failed */
    int wrong_slot;            /* a site called through a slot os.h does not name for it */
    int bad_site;              /* a site id outside the list */
    size_t misalign;           /* RESERVE_MAP anywhere: return granule + misalign */
    size_t n_mapped;           /* ranges mapped by successful map calls (any site) */
    struct {
        uintptr_t addr;
        size_t len;
        int site;
    } mapped[FI_MAX_MAPPED];
} fi_state_t;

static fi_state_t *fi;

static void fi_reset(void)
{
    if (!fi) {
        void *p = mmap(NULL, sizeof *fi, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        ck_assert_ptr_ne(p, MAP_FAILED);
        fi = p;
    }
    hm_os = hm_os_default;
    memset(fi, 0, sizeof *fi);
    for (int i = 0; i < HM_SITE_COUNT; i++)
        fi->rule[i].mode = -1;
}

/* Fail every call from site with err. */
static void fi_fail(hm_os_site_t site, int err)
{
    fi->rule[site] = (fi_rule_t){err, 0, -1, -1};
}

/* Forward `skip` calls from site, then fail `times` of them with err. */
static void fi_fail_nth(hm_os_site_t site, int err, int skip, int times)
{
    fi->rule[site] = (fi_rule_t){err, skip, times, -1};
}

/* Decides a call: 0 = forward it, else the errno to fail with. Async-signal-safe. */
static int fi_decide(hm_os_site_t site, const char *slot, bool mode_matches)
{
    if ((unsigned)site >= HM_SITE_COUNT) {
        fi->bad_site++;
        return 0;
    }
    if (strcmp(hm_os_site_call(site), slot) != 0)
        fi->wrong_slot++;
    fi->calls[site]++;
    fi_rule_t *r = &fi->rule[site];
    if (!r->err || !mode_matches)
        return 0;
    if (r->skip > 0) {
        r->skip--;
        return 0;
    }
    if (r->times == 0)
        return 0;
    if (r->times > 0)
        r->times--;
    fi->failed[site]++;
    return r->err;
}

static void fi_note_mapped(hm_os_site_t site, void *p, size_t len)
{
    if (fi->n_mapped < FI_MAX_MAPPED) {
        fi->mapped[fi->n_mapped].addr = (uintptr_t)p;
        fi->mapped[fi->n_mapped].len = len;
        fi->mapped[fi->n_mapped].site = (int)site;
        fi->n_mapped++;
    }
}

/* RESERVE_MAP anywhere with fi->misalign set: map at a granule + misalign, so that the
 * over-reservation needs both a front and a back trim. */
static int map_misaligned(hm_os_site_t site, size_t len, unsigned prot, void **out)
{
    void *p;
    int err = hm_os_default.map(site, NULL, len + 2 * G, prot, HM_OS_MAP_ANYWHERE, &p);
    if (err)
        return err;
    uintptr_t s = ((uintptr_t)p + G - 1) / G * G + fi->misalign;
    uintptr_t e = (uintptr_t)p + len + 2 * G;
    if (s > (uintptr_t)p)
        hm_os_default.unmap(site, p, s - (uintptr_t)p);
    if (e > s + len)
        hm_os_default.unmap(site, (void *)(s + len), e - (s + len));
    *out = (void *)s;
    return 0;
}

static int fake_map(hm_os_site_t site, void *addr, size_t len, unsigned prot,
                    hm_os_map_mode_t mode, void **out)
{
    bool match = (unsigned)site < HM_SITE_COUNT &&
                 (fi->rule[site].mode < 0 || fi->rule[site].mode == (int)mode);
    int err = fi_decide(site, "map", match);
    if (err)
        return err;
    if (site == HM_SITE_RESERVE_MAP && mode == HM_OS_MAP_ANYWHERE && fi->misalign)
        err = map_misaligned(site, len, prot, out);
    else
        err = hm_os_default.map(site, addr, len, prot, mode, out);
    if (!err)
        fi_note_mapped(site, *out, len);
    return err;
}

static int fake_unmap(hm_os_site_t site, void *addr, size_t len)
{
    int err = fi_decide(site, "unmap", true);
    return err ? err : hm_os_default.unmap(site, addr, len);
}

static int fake_protect(hm_os_site_t site, void *addr, size_t len, unsigned prot)
{
    int err = fi_decide(site, "protect", true);
    return err ? err : hm_os_default.protect(site, addr, len, prot);
}

static int fake_advise(hm_os_site_t site, void *addr, size_t len, hm_os_advice_t advice)
{
    int err = fi_decide(site, "advise", true);
    return err ? err : hm_os_default.advise(site, addr, len, advice);
}

static int fake_lock(hm_os_site_t site, void *addr, size_t len)
{
    int err = fi_decide(site, "lock", true);
    return err ? err : hm_os_default.lock(site, addr, len);
}

static int fake_unlock(hm_os_site_t site, void *addr, size_t len)
{
    int err = fi_decide(site, "unlock", true);
    return err ? err : hm_os_default.unlock(site, addr, len);
}

static int fake_pagemap(hm_os_site_t site, uintptr_t addr, size_t npages, uint64_t *entries)
{
    int err = fi_decide(site, "pagemap", true);
    return err ? err : hm_os_default.pagemap(site, addr, npages, entries);
}

static int fake_read_file(hm_os_site_t site, const char *path, char **buf, size_t *len)
{
    int err = fi_decide(site, "read_file", true);
    return err ? err : hm_os_default.read_file(site, path, buf, len);
}

static int fake_alloc(hm_os_site_t site, size_t size, void **out)
{
    int err = fi_decide(site, "alloc", true);
    return err ? err : hm_os_default.alloc(site, size, out);
}

static int fake_fault_handler(hm_os_site_t site, hm_os_fault_hook_t hook)
{
    int err = fi_decide(site, "fault_handler", true);
    return err ? err : hm_os_default.fault_handler(site, hook);
}

static const hm_os_ops_t fake_ops = {
    .map = fake_map,
    .unmap = fake_unmap,
    .protect = fake_protect,
    .advise = fake_advise,
    .lock = fake_lock,
    .unlock = fake_unlock,
    .pagemap = fake_pagemap,
    .read_file = fake_read_file,
    .alloc = fake_alloc,
    .fault_handler = fake_fault_handler,
};

/* Installs the fakes, evaluates `expr` into `lhs`, saves GetLastError() into `err_out`,
 * restores the real table. */
#define FI_CALL(lhs, err_out, expr)                                                        \
    do {                                                                                   \
        SetLastError(0xFEEDu);                                                             \
        hm_os = fake_ops;                                                                  \
        lhs = (expr);                                                                      \
        err_out = GetLastError();                                                          \
        hm_os = hm_os_default;                                                             \
    } while (0)

static void fi_assert_slots_clean(void)
{
    ck_assert_msg(fi->wrong_slot == 0, "%d calls went through a slot os.h does not name",
                  fi->wrong_slot);
    ck_assert_msg(fi->bad_site == 0, "%d calls named a site outside HM_OS_SITE_LIST",
                  fi->bad_site);
}

/* The fake was reached from site and failed exactly `n` calls there. */
static void fi_assert_failed(hm_os_site_t site, int n)
{
    ck_assert_msg(fi->calls[site] >= 1, "site %s was never called", hm_os_site_name(site));
    ck_assert_msg(fi->failed[site] == n, "site %s: %d calls failed, expected %d",
                  hm_os_site_name(site), fi->failed[site], n);
    fi_assert_slots_clean();
}

static void setup(void)
{
    fi_reset();
}

static void teardown(void)
{
    if (fi)
        hm_os = hm_os_default;
}

/* ======================================================================================
 * State snapshots: the VirtualQuery regions over a range, the statistics, the contents.
 * ==================================================================================== */

#define SNAP_MAX 160

typedef struct snap {
    size_t n;
    MEMORY_BASIC_INFORMATION r[SNAP_MAX];
    hm_stats_t st;
} snap_t;

static hm_stats_t stats_now(void)
{
    hm_stats_t s;
    memset(&s, 0, sizeof s);
    s.cb_size = sizeof s;
    ck_assert_int_eq(hm_get_stats(&s), 0);
    return s;
}

static void stats_assert_same(const hm_stats_t *a, const hm_stats_t *b)
{
    ck_assert_uint_eq(b->reservations, a->reservations);
    ck_assert_uint_eq(b->reserved_bytes, a->reserved_bytes);
    ck_assert_uint_eq(b->committed_bytes, a->committed_bytes);
    ck_assert_uint_eq(b->commit_limit, a->commit_limit);
    ck_assert_uint_eq(b->locked_bytes, a->locked_bytes);
    ck_assert_uint_eq(b->guard_pages_hit, a->guard_pages_hit);
}

/* Every region from start up to start+len (the last one may run past it). */
static void snap_take(snap_t *s, const void *start, size_t len)
{
    memset(s, 0, sizeof *s);
    s->st = stats_now();
    uintptr_t a = (uintptr_t)start, end = a + len;
    while (a < end) {
        ck_assert_uint_lt(s->n, SNAP_MAX);
        MEMORY_BASIC_INFORMATION *m = &s->r[s->n++];
        ck_assert_uint_eq(VirtualQuery((LPCVOID)a, m, sizeof *m), sizeof *m);
        ck_assert_uint_gt(m->RegionSize, 0);
        a = (uintptr_t)m->BaseAddress + m->RegionSize;
    }
}

#define SNAP_FIELD(f, fmt)                                                                 \
    ck_assert_msg(x->f == y->f, "region %zu (%p): " #f " was " fmt ", now " fmt, i,        \
                  x->BaseAddress, x->f, y->f)

static void snap_assert_same(const snap_t *before, const snap_t *after)
{
    ck_assert_msg(after->n == before->n, "region count was %zu, now %zu", before->n, after->n);
    for (size_t i = 0; i < before->n; i++) {
        const MEMORY_BASIC_INFORMATION *x = &before->r[i], *y = &after->r[i];
        SNAP_FIELD(BaseAddress, "%p");
        SNAP_FIELD(AllocationBase, "%p");
        SNAP_FIELD(AllocationProtect, "%#x");
        SNAP_FIELD(PartitionId, "%u");
        SNAP_FIELD(RegionSize, "%#zx");
        SNAP_FIELD(State, "%#x");
        SNAP_FIELD(Protect, "%#x");
        SNAP_FIELD(Type, "%#x");
    }
    stats_assert_same(&before->st, &after->st);
}

static uint32_t pattern_word(unsigned seed, size_t i)
{
    return (uint32_t)(seed * 0x9E3779B9u) ^ (uint32_t)(i * 2654435761u) ^ 0x5A5A0000u;
}

static void pattern_fill(void *p, size_t len, unsigned seed)
{
    uint32_t *w = p;
    for (size_t i = 0; i < len / 4; i++)
        w[i] = pattern_word(seed, i);
}

static void pattern_check(const void *p, size_t len, unsigned seed)
{
    const uint32_t *w = p;
    for (size_t i = 0; i < len / 4; i++)
        if (w[i] != pattern_word(seed, i))
            ck_abort_msg("contents changed at %p: %#x, expected %#x", (const void *)&w[i], w[i],
                         pattern_word(seed, i));
}

/* ---- The kernel's view -------------------------------------------------------------- */

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "re");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 16, n = 0;
    char *b = malloc(cap);
    ck_assert_ptr_nonnull(b);
    size_t k;
    while ((k = fread(b + n, 1, cap - 1 - n, f)) > 0) {
        n += k;
        if (n + 1 >= cap) {
            cap *= 2;
            b = realloc(b, cap);
            ck_assert_ptr_nonnull(b);
        }
    }
    fclose(f);
    b[n] = '\0';
    return b;
}

/* True if any kernel mapping overlaps [a, a+len). */
static bool kernel_overlap(uintptr_t a, size_t len)
{
    char *maps = slurp("/proc/self/maps");
    bool hit = false;
    for (char *line = maps; line && *line;) {
        unsigned long long s, e;
        if (sscanf(line, "%llx-%llx", &s, &e) == 2 && s < a + len && e > a)
            hit = true;
        line = strchr(line, '\n');
        line = line ? line + 1 : NULL;
    }
    free(maps);
    return hit;
}

/* True if the kernel mapping holding addr carries the "lo" (mlocked) VmFlag. */
static bool kernel_locked(const void *addr)
{
    char *smaps = slurp("/proc/self/smaps");
    bool in = false, locked = false;
    for (char *line = smaps; line && *line;) {
        unsigned long long s, e;
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        if (sscanf(line, "%llx-%llx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' '))
            in = s <= (uintptr_t)addr && (uintptr_t)addr < e;
        else if (in && !strncmp(line, "VmFlags:", 8))
            locked = strstr(line, " lo") != NULL;
        line = nl ? nl + 1 : NULL;
    }
    free(smaps);
    return locked;
}

/* VmLck of /proc/self/status, in kB. */
static unsigned long vm_lck_kb(void)
{
    char *st = slurp("/proc/self/status");
    const char *p = strstr(st, "VmLck:");
    unsigned long kb = p ? strtoul(p + 6, NULL, 10) : 0;
    free(st);
    return kb;
}

/* Every range the fakes saw mapped during the last armed call is unmapped again. */
static void assert_nothing_left_mapped(void)
{
    for (size_t i = 0; i < fi->n_mapped; i++)
        ck_assert_msg(!kernel_overlap(fi->mapped[i].addr, fi->mapped[i].len),
                      "[%#lx, +%#zx) mapped from %s is still mapped",
                      (unsigned long)fi->mapped[i].addr, fi->mapped[i].len,
                      hm_os_site_name((hm_os_site_t)fi->mapped[i].site));
}

/* A 512 GiB-aligned area (one root slot of the address index) that this process has not
 * used before, with no hostmem reservation and no kernel mapping in it: reserving there
 * needs fresh index nodes. Index nodes are never freed, so each area is handed out once
 * (only this file reserves at fixed addresses up there). */
static uintptr_t untouched_area(void)
{
    static uintptr_t cursor = (uintptr_t)1 << 44;
    const uintptr_t span = (uintptr_t)1 << 39;
    for (; cursor < (uintptr_t)0x700000000000; cursor += span) {
        uintptr_t a = cursor;
        uint64_t first = a >> 12, end = (a + span) >> 12;
        if (hm_index_next_used(first, end) == end && !kernel_overlap(a, span)) {
            cursor += span;
            return a;
        }
    }
    ck_abort_msg("no untouched 512 GiB area");
    return 0;
}

/* The run list of the reservation holding addr: count and capacity. */
static void runs_of(const void *addr, uint32_t *n, uint32_t *cap)
{
    hm_reservation_t *r = hm_record_lookup_lock((uintptr_t)addr);
    ck_assert_ptr_nonnull(r);
    *n = r->runs.n;
    *cap = r->runs.cap;
    hm_record_unlock(r);
}

/* The next run-list update (which makes room for 2 more runs) must allocate. */
static void assert_runs_must_grow(const void *addr)
{
    uint32_t n, cap;
    runs_of(addr, &n, &cap);
    ck_assert_msg(n + 2 > cap, "precondition: runs n=%u cap=%u would not grow", n, cap);
}

/* ---- Small API helpers ---------------------------------------------------------------- */

/* Writes to the byte and back (a fault here kills the test: the page was not writable).
 * Volatile, so that the compiler keeps both accesses. */
static void still_writable(char *p)
{
    volatile char *v = p;
    *v = (char)(*v ^ 1);
    *v = (char)(*v ^ 1);
}

static char *alloc_ok(void *addr, size_t size, DWORD type, DWORD prot)
{
    char *p = VirtualAlloc(addr, size, type, prot);
    ck_assert_msg(p != NULL, "VirtualAlloc(%p, %#zx, %#x, %#x) failed: %u", addr, size, type,
                  prot, GetLastError());
    return p;
}

static void release_ok(void *p)
{
    ck_assert_msg(VirtualFree(p, 0, MEM_RELEASE), "release %p: %u", p, GetLastError());
}

static void protect_ok(void *p, size_t size, DWORD prot)
{
    DWORD old;
    ck_assert_msg(VirtualProtect(p, size, prot, &old), "protect %p: %u", p, GetLastError());
}

/* A page mmap'd by the test (hostmem did not allocate it), between two PROT_NONE pages
 * so that the kernel cannot merge it with a neighbour. */
static char *foreign_page(void)
{
    char *p = mmap(NULL, 3 * P, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    ck_assert_ptr_ne(p, MAP_FAILED);
    ck_assert_int_eq(mprotect(p + P, P, PROT_READ | PROT_WRITE), 0);
    return p + P;
}

static void foreign_free(char *page)
{
    munlock(page, P);
    munmap(page - P, 3 * P);
}

static const int no_memory_errnos[] = {ENOMEM, EAGAIN, EPERM};
#define N_NO_MEMORY_ERRNOS (sizeof no_memory_errnos / sizeof no_memory_errnos[0])

/* ======================================================================================
 * Children: death tests and fresh processes.
 * ==================================================================================== */

/* In a child, ck_assert is not available: report and exit 3. */
#define CHILD_REQUIRE(c)                                                                   \
    do {                                                                                   \
        if (!(c)) {                                                                        \
            fprintf(stderr, "child: %s:%d: requirement failed: %s\n", __FILE__, __LINE__,  \
                    #c);                                                                   \
            _exit(3);                                                                      \
        }                                                                                  \
    } while (0)

typedef struct child_result {
    int status;
    char err[8192];
} child_result_t;

static void run_in_child(void (*fn)(void *), void *arg, child_result_t *out)
{
    int pfd[2];
    ck_assert_int_eq(pipe(pfd), 0);
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        close(pfd[0]);
        dup2(pfd[1], 2);
        close(pfd[1]);
        fn(arg);
        _exit(0);
    }
    close(pfd[1]);
    size_t n = 0;
    for (;;) {
        char sink[512];
        size_t room = sizeof out->err - 1 - n;
        ssize_t k = room ? read(pfd[0], out->err + n, room) : read(pfd[0], sink, sizeof sink);
        if (k <= 0)
            break;
        if (room)
            n += (size_t)k;
    }
    out->err[n] = '\0';
    close(pfd[0]);
    ck_assert_int_eq(waitpid(pid, &out->status, 0), pid);
}

static void expect_signal(const child_result_t *r, int sig, const char *stderr_has)
{
    ck_assert_msg(WIFSIGNALED(r->status) && WTERMSIG(r->status) == sig,
                  "child should die by signal %d; status %#x (%s %d); stderr: %s", sig,
                  r->status, WIFSIGNALED(r->status) ? "signal" : "exit",
                  WIFSIGNALED(r->status) ? WTERMSIG(r->status) : WEXITSTATUS(r->status),
                  r->err);
    if (stderr_has)
        ck_assert_msg(strstr(r->err, stderr_has) != NULL, "child stderr lacks \"%s\": %s",
                      stderr_has, r->err);
}

static void expect_exit0(const child_result_t *r)
{
    ck_assert_msg(WIFEXITED(r->status) && WEXITSTATUS(r->status) == 0,
                  "child should exit 0; status %#x; stderr: %s", r->status, r->err);
}

/* Fresh processes: the program re-executes itself with HM_FI_FRESH=<name>; main() then
 * runs only that test, in that process, before anything else touched hostmem. */
static const TTest *const *fresh_cases(size_t *n);

static void run_fresh(const char *name)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        setenv("HM_FI_FRESH", name, 1);
        unsetenv("HOSTMEM_COMMIT_LIMIT");
        execl("/proc/self/exe", "test_fault_injection", (char *)NULL);
        _exit(127);
    }
    int st;
    ck_assert_int_eq(waitpid(pid, &st, 0), pid);
    ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 0,
                  "fresh-process case %s failed (status %#x)", name, st);
}

static int fresh_main(const char *name)
{
    size_t n;
    const TTest *const *cases = fresh_cases(&n);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(cases[i]->name, name) != 0)
            continue;
        unsetenv("CK_RUN_CASE");
        unsetenv("CK_RUN_SUITE");
        Suite *s = suite_create("fresh");
        TCase *tc = tcase_create(name);
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, cases[i]);
        suite_add_tcase(s, tc);
        SRunner *sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        int failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
    }
    fprintf(stderr, "no fresh-process case %s\n", name);
    return 2;
}

/* ======================================================================================
 * RESERVE_MAP — reserve: map the range.
 * ==================================================================================== */

START_TEST(reserve_map_failure_fails_with_not_enough_memory_and_maps_nothing)
{
    static const DWORD types[] = {MEM_RESERVE, MEM_RESERVE | MEM_COMMIT, MEM_COMMIT};
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        for (size_t t = 0; t < 3; t++) {
            hm_stats_t before = stats_now();
            fi_reset();
            fi_fail(HM_SITE_RESERVE_MAP, no_memory_errnos[e]);
            void *p;
            DWORD err;
            FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, types[t], PAGE_READWRITE));
            ck_assert_ptr_null(p);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_RESERVE_MAP, 1);
            hm_stats_t after = stats_now();
            stats_assert_same(&before, &after);
            assert_nothing_left_mapped();
        }
    }
}
END_TEST

START_TEST(reserve_map_failure_at_an_address_leaves_the_range_free)
{
    char *at = (char *)untouched_area() + 16 * G;
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, at, 8 * G);
        fi_reset();
        fi_fail(HM_SITE_RESERVE_MAP, no_memory_errnos[e]);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(at, 8 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RESERVE_MAP, 1);
        snap_take(&after, at, 8 * G);
        snap_assert_same(&before, &after);
        ck_assert(!kernel_overlap((uintptr_t)at, 8 * G));
    }
    /* The same call without the fault succeeds there. */
    char *p = alloc_ok(at, 8 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_ptr_eq(p, at);
    release_ok(p);
}
END_TEST

START_TEST(reserve_map_eexist_at_an_address_fails_with_invalid_address)
{
    char *at = (char *)untouched_area() + 16 * G;
    hm_stats_t before = stats_now();
    fi_reset();
    fi_fail(HM_SITE_RESERVE_MAP, EEXIST);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(at, 2 * G, MEM_RESERVE, PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_INVALID_ADDRESS);
    fi_assert_failed(HM_SITE_RESERVE_MAP, 1);
    hm_stats_t after = stats_now();
    stats_assert_same(&before, &after);
}
END_TEST

static void site_RESERVE_MAP(TCase *tc)
{
    tcase_add_test(tc, reserve_map_failure_fails_with_not_enough_memory_and_maps_nothing);
    tcase_add_test(tc, reserve_map_failure_at_an_address_leaves_the_range_free);
    tcase_add_test(tc, reserve_map_eexist_at_an_address_fails_with_invalid_address);
}

/* ======================================================================================
 * RESERVE_TRIM — reserve: trim an over-reservation. The hint (MAP_FIXED_NOREPLACE) is made
 * to fail with EEXIST, and the over-reservation lands 8 KiB past a granule, so the trim
 * takes two unmaps (front 56 KiB, back 8 KiB): fail the first, then the second.
 * ==================================================================================== */

START_TEST(reserve_trim_failure_undoes_the_over_reservation)
{
    for (int nth = 0; nth < 2; nth++) {
        hm_stats_t before = stats_now();
        fi_reset();
        fi->rule[HM_SITE_RESERVE_MAP] = (fi_rule_t){EEXIST, 0, -1, HM_OS_MAP_NOREPLACE};
        fi->misalign = 2 * P;
        fi_fail_nth(HM_SITE_RESERVE_TRIM, ENOMEM, nth, 1);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RESERVE_TRIM, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_TRIM], nth + 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_UNDO], 1);
        hm_stats_t after = stats_now();
        stats_assert_same(&before, &after);
        assert_nothing_left_mapped();
    }
}
END_TEST

START_TEST(reserve_trim_path_without_faults_returns_an_aligned_reservation)
{
    fi_reset();
    fi->rule[HM_SITE_RESERVE_MAP] = (fi_rule_t){EEXIST, 0, -1, HM_OS_MAP_NOREPLACE};
    fi->misalign = 2 * P;
    char *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    (void)err;
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_TRIM], 2);
    ck_assert_uint_eq((uintptr_t)p % G, 0);
    ck_assert_region(p, p, p, PAGE_READWRITE, 4 * G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    /* Exactly the reservation is mapped: the trimmed pieces are gone. */
    ck_assert(!kernel_overlap((uintptr_t)p - (G - 2 * P), G - 2 * P));
    ck_assert(!kernel_overlap((uintptr_t)p + 4 * G, 2 * P));
    release_ok(p);
}
END_TEST

static void site_RESERVE_TRIM(TCase *tc)
{
    tcase_add_test(tc, reserve_trim_failure_undoes_the_over_reservation);
    tcase_add_test(tc, reserve_trim_path_without_faults_returns_an_aligned_reservation);
}

/* ======================================================================================
 * RESERVE_RECORD — reserve: grow the pool of records. Reached whenever the free list is
 * empty: keep reserving until the pool must grow. In a fresh process: the first reserve.
 * ==================================================================================== */

#define MAX_HELD 70000

START_TEST(reserve_record_failure_fails_with_not_enough_memory_and_changes_nothing)
{
    static void *held[MAX_HELD];
    size_t n = 0;
    bool failed = false;
    while (n < MAX_HELD && !failed) {
        hm_stats_t before = stats_now();
        fi_reset();
        fi_fail(HM_SITE_RESERVE_RECORD, ENOMEM);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(NULL, G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
        if (p) {
            ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_RECORD], 0);
            held[n++] = p;
            continue;
        }
        failed = true;
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RESERVE_RECORD, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_MAP], 0); /* the record comes first */
        hm_stats_t after = stats_now();
        stats_assert_same(&before, &after);
    }
    ck_assert_msg(failed, "the record pool never grew in %zu reservations", n);
    printf("RESERVE_RECORD reached after %zu reservations\n", n);
    /* The pool grows on the next try. */
    void *p = alloc_ok(NULL, G, MEM_RESERVE, PAGE_READWRITE);
    release_ok(p);
    for (size_t i = 0; i < n; i++)
        release_ok(held[i]);
}
END_TEST

START_TEST(fresh_first_reserve_with_record_failure_fails_then_succeeds)
{
    hm_stats_t before = stats_now();
    fi_reset();
    fi_fail(HM_SITE_RESERVE_RECORD, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RESERVE_RECORD, 1);
    hm_stats_t after = stats_now();
    stats_assert_same(&before, &after);
    ck_assert_uint_eq(after.reservations, 0);
    ck_assert_uint_eq(after.committed_bytes, 0);
    char *q = alloc_ok(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    ck_assert_region(q, q, q, PAGE_READWRITE, 4 * G, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    release_ok(q);
}
END_TEST

START_TEST(reserve_record_first_reserve_in_a_fresh_process)
{
    run_fresh("fresh_first_reserve_with_record_failure_fails_then_succeeds");
}
END_TEST

static void site_RESERVE_RECORD(TCase *tc)
{
    tcase_add_test(tc, reserve_record_failure_fails_with_not_enough_memory_and_changes_nothing);
    tcase_add_test(tc, reserve_record_first_reserve_in_a_fresh_process);
}

/* ======================================================================================
 * RESERVE_INDEX — reserve: allocate an address-index node. A 4 MiB reservation at 1 MiB
 * into an untouched 512 GiB area needs four nodes (two whole-subtree levels, then one
 * granule node for each partial 2 MiB end); the k-th allocation fails on the k-th try
 * (each in a new area), the last one after part of the range was indexed.
 * ==================================================================================== */

START_TEST(reserve_index_failure_unmaps_unindexes_and_uncharges)
{
    int failures = 0;
    for (int k = 0; k < 16; k++) {
        uintptr_t area = untouched_area();
        char *at = (char *)area + 16 * G;
        snap_t before, after;
        snap_take(&before, at, 64 * G);
        fi_reset();
        fi_fail_nth(HM_SITE_RESERVE_INDEX, ENOMEM, k, 1);
        char *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(at, 64 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE));
        if (p) {
            ck_assert_int_eq(fi->failed[HM_SITE_RESERVE_INDEX], 0);
            ck_assert_ptr_eq(p, at);
            ck_assert_region(p + 32 * G, p + 32 * G, p, PAGE_READWRITE, 32 * G, MEM_COMMIT,
                             PAGE_READWRITE, MEM_PRIVATE);
            release_ok(p);
            break;
        }
        failures++;
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RESERVE_INDEX, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_INDEX], k + 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_UNDO], 1);
        snap_take(&after, at, 64 * G);
        snap_assert_same(&before, &after);
        uint64_t first = (uintptr_t)at >> 12, end = first + (64 * G >> 12);
        ck_assert_uint_eq(hm_index_next_used(first, end), end);
        ck_assert(!kernel_overlap((uintptr_t)at, 64 * G));
    }
    ck_assert_int_ge(failures, 3);
    printf("RESERVE_INDEX: %d node allocations failed one by one, then the reserve succeeded\n",
           failures);
}
END_TEST

static void site_RESERVE_INDEX(TCase *tc)
{
    tcase_add_test(tc, reserve_index_failure_unmaps_unindexes_and_uncharges);
}

/* ======================================================================================
 * RESERVE_UNDO — reserve: unmap again after a later step failed. If that unmap fails too
 * the library cannot keep its promise and must abort (hm_panic).
 * ==================================================================================== */

static void child_index_and_undo_fail(void *arg)
{
    char *at = arg;
    fi_fail(HM_SITE_RESERVE_INDEX, ENOMEM);
    fi_fail(HM_SITE_RESERVE_UNDO, ENOMEM);
    hm_os = fake_ops;
    void *p = VirtualAlloc(at, 4 * G, MEM_RESERVE, PAGE_READWRITE);
    hm_os = hm_os_default;
    fprintf(stderr, "child: VirtualAlloc returned %p, error %u\n", p, GetLastError());
}

START_TEST(reserve_undo_failure_after_index_failure_aborts)
{
    char *at = (char *)untouched_area() + 16 * G;
    fi_reset();
    child_result_t r;
    run_in_child(child_index_and_undo_fail, at, &r);
    expect_signal(&r, SIGABRT, "hostmem: fatal: reserve: cannot undo the mapping");
    ck_assert_int_eq(fi->failed[HM_SITE_RESERVE_INDEX], 1);
    fi_assert_failed(HM_SITE_RESERVE_UNDO, 1);
}
END_TEST

static void child_trim_and_undo_fail(void *arg)
{
    (void)arg;
    fi->rule[HM_SITE_RESERVE_MAP] = (fi_rule_t){EEXIST, 0, -1, HM_OS_MAP_NOREPLACE};
    fi->misalign = 2 * P;
    fi_fail(HM_SITE_RESERVE_TRIM, ENOMEM);
    fi_fail(HM_SITE_RESERVE_UNDO, ENOMEM);
    hm_os = fake_ops;
    void *p = VirtualAlloc(NULL, 4 * G, MEM_RESERVE, PAGE_READWRITE);
    hm_os = hm_os_default;
    fprintf(stderr, "child: VirtualAlloc returned %p, error %u\n", p, GetLastError());
}

START_TEST(reserve_undo_failure_after_trim_failure_aborts)
{
    fi_reset();
    child_result_t r;
    run_in_child(child_trim_and_undo_fail, NULL, &r);
    expect_signal(&r, SIGABRT, "hostmem: fatal: reserve: cannot undo an over-reservation");
    ck_assert_int_eq(fi->failed[HM_SITE_RESERVE_TRIM], 1);
    fi_assert_failed(HM_SITE_RESERVE_UNDO, 1);
}
END_TEST

static void site_RESERVE_UNDO(TCase *tc)
{
    tcase_add_test(tc, reserve_undo_failure_after_index_failure_aborts);
    tcase_add_test(tc, reserve_undo_failure_after_trim_failure_aborts);
}

/* ======================================================================================
 * TOPDOWN_MAPS — MEM_TOP_DOWN reads /proc/self/maps to find the highest gap.
 * ==================================================================================== */

START_TEST(topdown_maps_failure_fails_with_not_enough_memory_and_maps_nothing)
{
    static const DWORD types[] = {MEM_RESERVE | MEM_TOP_DOWN,
                                  MEM_RESERVE | MEM_COMMIT | MEM_TOP_DOWN};
    for (size_t t = 0; t < 2; t++) {
        hm_stats_t before = stats_now();
        fi_reset();
        fi_fail(HM_SITE_TOPDOWN_MAPS, ENOMEM);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(NULL, 4 * G, types[t], PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_TOPDOWN_MAPS, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_MAP], 0);
        hm_stats_t after = stats_now();
        stats_assert_same(&before, &after);
    }
    /* Without the fault, top-down works. */
    char *p = alloc_ok(NULL, 4 * G, MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE);
    release_ok(p);
}
END_TEST

static void site_TOPDOWN_MAPS(TCase *tc)
{
    tcase_add_test(tc, topdown_maps_failure_fails_with_not_enough_memory_and_maps_nothing);
}

/* ======================================================================================
 * RUNS_GROW — growing a reservation's run list: every operation that may split runs makes
 * room first; a failure there must leave everything as it was.
 * ==================================================================================== */

START_TEST(runs_grow_failure_while_protecting_every_other_page)
{
    const size_t np = 64;
    char *b = alloc_ok(NULL, np * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, np * P, 7);
    int grow_failures = 0;
    for (size_t pg = 1; pg < np; pg += 2) {
        uint32_t n, cap;
        runs_of(b, &n, &cap);
        bool must_grow = n + 2 > cap;
        snap_t before, after;
        snap_take(&before, b, np * P);
        fi_reset();
        fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
        BOOL ok;
        DWORD err, old = 0x12345;
        FI_CALL(ok, err, VirtualProtect(b + pg * P, P, PAGE_READONLY, &old));
        if (!must_grow) {
            ck_assert_msg(ok, "page %zu: protect failed (%u) with room for the runs", pg, err);
            ck_assert_int_eq(fi->calls[HM_SITE_RUNS_GROW], 0);
            ck_assert_uint_eq(old, PAGE_READWRITE);
            continue;
        }
        grow_failures++;
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RUNS_GROW, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_PROTECT_PROTECT], 0);
        snap_take(&after, b, np * P);
        snap_assert_same(&before, &after);
        pattern_check(b, np * P, 7);
        still_writable(&b[pg * P]); /* still writable */
        protect_ok(b + pg * P, P, PAGE_READONLY); /* and it grows without the fault */
    }
    ck_assert_int_ge(grow_failures, 4);
    ck_assert_region(b, b, b, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    ck_assert_region(b + 63 * P, b + 63 * P, b, PAGE_READWRITE, P, MEM_COMMIT, PAGE_READONLY,
                     MEM_PRIVATE);
    pattern_check(b, np * P, 7);
    release_ok(b);
}
END_TEST

START_TEST(runs_grow_failure_in_commit_changes_nothing)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE, PAGE_READWRITE);
    assert_runs_must_grow(b);
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(b + 4 * P, 4 * P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RUNS_GROW, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_COMMIT_PROTECT], 0);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    ck_assert_int_eq(hm_probe_read(b + 4 * P), SIGSEGV);
    release_ok(b);
}
END_TEST

START_TEST(runs_grow_failure_in_decommit_changes_nothing)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 16 * P, 11);
    assert_runs_must_grow(b);
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, VirtualFree(b + 4 * P, 4 * P, MEM_DECOMMIT));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RUNS_GROW, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_DECOMMIT_MAP], 0);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    pattern_check(b, 16 * P, 11);
    release_ok(b);
}
END_TEST

START_TEST(runs_grow_failure_in_lock_changes_nothing)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 16 * P, 12);
    assert_runs_must_grow(b);
    unsigned long lck = vm_lck_kb();
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, VirtualLock(b + 2 * P, 2 * P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RUNS_GROW, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_LOCK_MLOCK], 0);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    ck_assert_uint_eq(vm_lck_kb(), lck);
    ck_assert(!kernel_locked(b + 2 * P));
    ck_assert_int_eq(VirtualUnlock(b + 2 * P, 2 * P), FALSE);
    ck_assert_last_error(ERROR_NOT_LOCKED);
    pattern_check(b, 16 * P, 12);
    release_ok(b);
}
END_TEST

START_TEST(runs_grow_failure_in_unlock_keeps_the_pages_locked)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 16 * P, 13);
    unsigned long lck0 = vm_lck_kb();
    ck_assert(VirtualLock(b, 16 * P));
    uint32_t n, cap;
    /* Split the runs until the next update must grow them. */
    for (size_t pg = 1; pg < 16; pg += 2) {
        runs_of(b, &n, &cap);
        if (n + 2 > cap)
            break;
        protect_ok(b + pg * P, P, PAGE_READONLY);
    }
    assert_runs_must_grow(b);
    unsigned long lck = vm_lck_kb();
    ck_assert_uint_eq(lck, lck0 + 64);
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, VirtualUnlock(b, 16 * P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RUNS_GROW, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_UNLOCK_MUNLOCK], 0);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    ck_assert_uint_eq(vm_lck_kb(), lck);
    ck_assert(kernel_locked(b));
    ck_assert(VirtualUnlock(b, 16 * P));
    ck_assert_uint_eq(vm_lck_kb(), lck0);
    pattern_check(b, 16 * P, 13);
    release_ok(b);
}
END_TEST

START_TEST(runs_grow_failure_in_lock_of_a_guard_page_keeps_the_guard)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    assert_runs_must_grow(b);
    snap_t before, after;
    snap_take(&before, b, 8 * P);
    fi_reset();
    fi_fail(HM_SITE_RUNS_GROW, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, VirtualLock(b + 2 * P, P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_RUNS_GROW, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_GUARD_CLEAR], 0);
    snap_take(&after, b, 8 * P);
    snap_assert_same(&before, &after);
    /* Without the fault: Windows' two-step (guard violation, then success). */
    ck_assert_int_eq(VirtualLock(b + 2 * P, P), FALSE);
    ck_assert_last_error((DWORD)STATUS_GUARD_PAGE_VIOLATION);
    ck_assert(VirtualLock(b + 2 * P, P));
    ck_assert(VirtualUnlock(b + 2 * P, P));
    release_ok(b);
}
END_TEST

static void site_RUNS_GROW(TCase *tc)
{
    tcase_add_test(tc, runs_grow_failure_while_protecting_every_other_page);
    tcase_add_test(tc, runs_grow_failure_in_commit_changes_nothing);
    tcase_add_test(tc, runs_grow_failure_in_decommit_changes_nothing);
    tcase_add_test(tc, runs_grow_failure_in_lock_changes_nothing);
    tcase_add_test(tc, runs_grow_failure_in_unlock_keeps_the_pages_locked);
    tcase_add_test(tc, runs_grow_failure_in_lock_of_a_guard_page_keeps_the_guard);
}

/* ======================================================================================
 * COMMIT_PROTECT — commit: mprotect to the new protection.
 * ==================================================================================== */

START_TEST(commit_protect_failure_keeps_state_charge_and_contents)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE, PAGE_READWRITE);
    alloc_ok(b, 4 * P, MEM_COMMIT, PAGE_READWRITE);
    alloc_ok(b + 10 * P, 2 * P, MEM_COMMIT, PAGE_EXECUTE_READ);
    pattern_fill(b, 4 * P, 21);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 16 * P);
        fi_reset();
        fi_fail(HM_SITE_COMMIT_PROTECT, no_memory_errnos[e]);
        /* Over committed pages 2-3 and fresh pages 4-5, with a new protection. */
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(b + 2 * P, 4 * P, MEM_COMMIT, PAGE_READONLY));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_COMMIT_PROTECT, 1);
        snap_take(&after, b, 16 * P);
        snap_assert_same(&before, &after);
        pattern_check(b, 4 * P, 21);
        still_writable(&b[3 * P]); /* page 3 is still writable */
        ck_assert_int_eq(hm_probe_read(b + 4 * P), SIGSEGV);
    }
    release_ok(b);
}
END_TEST

START_TEST(commit_protect_failure_with_commit_limit_keeps_the_charge)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE, PAGE_READWRITE);
    hm_stats_t before = stats_now();
    fi_reset();
    fi_fail(HM_SITE_COMMIT_PROTECT, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(b, 16 * P, MEM_COMMIT, PAGE_READWRITE));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_COMMIT_PROTECT, 1);
    hm_stats_t after = stats_now();
    stats_assert_same(&before, &after);
    /* A commit right up to the limit still fits: the failed charge was given back. */
    uint64_t limit = hm_commit_limit();
    hm_set_commit_limit(after.committed_bytes + 16 * P);
    ck_assert_ptr_eq(VirtualAlloc(b, 16 * P, MEM_COMMIT, PAGE_READWRITE), b);
    hm_set_commit_limit(limit);
    release_ok(b);
}
END_TEST

static void site_COMMIT_PROTECT(TCase *tc)
{
    tcase_add_test(tc, commit_protect_failure_keeps_state_charge_and_contents);
    tcase_add_test(tc, commit_protect_failure_with_commit_limit_keeps_the_charge);
}

/* ======================================================================================
 * DECOMMIT_MAP — decommit: replace pages with fresh PROT_NONE pages.
 * ==================================================================================== */

START_TEST(decommit_map_failure_keeps_pages_committed_locked_and_intact)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    protect_ok(b + 8 * P, 2 * P, PAGE_READONLY);
    pattern_fill(b, 8 * P, 31);
    ck_assert(VirtualLock(b + 4 * P, 2 * P));
    unsigned long lck = vm_lck_kb();
    struct {
        void *addr;
        SIZE_T size;
    } calls[] = {{b + 2 * P, 4 * P}, {b, 0}, {b + 7 * P, 3 * P}};
    for (size_t c = 0; c < 3; c++) {
        for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
            snap_t before, after;
            snap_take(&before, b, 16 * P);
            fi_reset();
            fi_fail(HM_SITE_DECOMMIT_MAP, no_memory_errnos[e]);
            BOOL ok;
            DWORD err;
            FI_CALL(ok, err, VirtualFree(calls[c].addr, calls[c].size, MEM_DECOMMIT));
            ck_assert_int_eq(ok, FALSE);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_DECOMMIT_MAP, 1);
            snap_take(&after, b, 16 * P);
            snap_assert_same(&before, &after);
            pattern_check(b, 8 * P, 31);
            ck_assert_uint_eq(vm_lck_kb(), lck);
        }
    }
    ck_assert(VirtualUnlock(b + 4 * P, 2 * P));
    release_ok(b);
}
END_TEST

static void site_DECOMMIT_MAP(TCase *tc)
{
    tcase_add_test(tc, decommit_map_failure_keeps_pages_committed_locked_and_intact);
}

/* ======================================================================================
 * RELEASE_UNMAP — release: unmap the reservation.
 * ==================================================================================== */

START_TEST(release_unmap_failure_keeps_the_reservation_whole)
{
    char *b = alloc_ok(NULL, 32 * P, MEM_RESERVE, PAGE_EXECUTE_READWRITE);
    hm_stats_t empty = stats_now();
    alloc_ok(b, 8 * P, MEM_COMMIT, PAGE_READWRITE);
    protect_ok(b + 2 * P, 2 * P, PAGE_READONLY);
    pattern_fill(b, 2 * P, 41);
    ck_assert(VirtualLock(b + 5 * P, P));
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 32 * P);
        fi_reset();
        fi_fail(HM_SITE_RELEASE_UNMAP, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualFree(b, 0, MEM_RELEASE));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_RELEASE_UNMAP, 1);
        snap_take(&after, b, 32 * P);
        snap_assert_same(&before, &after);
        pattern_check(b, 2 * P, 41);
        ck_assert(kernel_locked(b + 5 * P));
    }
    /* Still a working reservation: commit, decommit, then release. */
    ck_assert_ptr_eq(VirtualAlloc(b + 20 * P, P, MEM_COMMIT, PAGE_READWRITE), b + 20 * P);
    ck_assert(VirtualFree(b + 20 * P, P, MEM_DECOMMIT));
    release_ok(b);
    hm_stats_t gone = stats_now();
    ck_assert_uint_eq(gone.reservations, empty.reservations - 1);
    ck_assert_uint_eq(gone.committed_bytes, empty.committed_bytes);
    ck_assert_uint_eq(gone.locked_bytes, empty.locked_bytes);
    ck_assert(!kernel_overlap((uintptr_t)b, 32 * P));
}
END_TEST

static void site_RELEASE_UNMAP(TCase *tc)
{
    tcase_add_test(tc, release_unmap_failure_keeps_the_reservation_whole);
}

/* ======================================================================================
 * PROTECT_PROTECT — VirtualProtect: mprotect to the new protection.
 * ==================================================================================== */

START_TEST(protect_failure_keeps_protection_and_contents)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    protect_ok(b + 6 * P, P, PAGE_EXECUTE_READ);
    pattern_fill(b, 6 * P, 51);
    static const DWORD prots[] = {PAGE_READONLY, PAGE_NOACCESS, PAGE_READWRITE | PAGE_GUARD,
                                  PAGE_EXECUTE_READWRITE};
    for (size_t k = 0; k < 4; k++) {
        for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
            snap_t before, after;
            snap_take(&before, b, 8 * P);
            fi_reset();
            fi_fail(HM_SITE_PROTECT_PROTECT, no_memory_errnos[e]);
            BOOL ok;
            DWORD err, old = 0x12345;
            FI_CALL(ok, err, VirtualProtect(b + P, 6 * P, prots[k], &old));
            ck_assert_int_eq(ok, FALSE);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_PROTECT_PROTECT, 1);
            snap_take(&after, b, 8 * P);
            snap_assert_same(&before, &after);
            pattern_check(b, 6 * P, 51);
            still_writable(&b[P]); /* still writable */
        }
    }
    release_ok(b);
}
END_TEST

static void site_PROTECT_PROTECT(TCase *tc)
{
    tcase_add_test(tc, protect_failure_keeps_protection_and_contents);
}

/* ======================================================================================
 * RESET_ADVISE — MEM_RESET: madvise(MADV_FREE).
 * ==================================================================================== */

START_TEST(reset_advise_failure_keeps_contents)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, 61);
    for (int locked = 0; locked < 2; locked++) {
        if (locked)
            ck_assert(VirtualLock(b + 3 * P, P)); /* one madvise per unlocked piece */
        for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
            snap_t before, after;
            snap_take(&before, b, 8 * P);
            fi_reset();
            fi_fail(HM_SITE_RESET_ADVISE, no_memory_errnos[e]);
            void *p;
            DWORD err;
            FI_CALL(p, err, VirtualAlloc(b, 8 * P, MEM_RESET, PAGE_READWRITE));
            ck_assert_ptr_null(p);
            ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
            fi_assert_failed(HM_SITE_RESET_ADVISE, 1);
            snap_take(&after, b, 8 * P);
            snap_assert_same(&before, &after);
            pattern_check(b, 8 * P, 61);
        }
    }
    ck_assert(VirtualUnlock(b + 3 * P, P));
    release_ok(b);
}
END_TEST

static void site_RESET_ADVISE(TCase *tc)
{
    tcase_add_test(tc, reset_advise_failure_keeps_contents);
}

/* ======================================================================================
 * UNDO_PAGEMAP — MEM_RESET_UNDO: read /proc/self/pagemap.
 * ==================================================================================== */

START_TEST(undo_pagemap_failure_fails_and_a_later_undo_succeeds)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, 71);
    ck_assert_ptr_eq(VirtualAlloc(b, 8 * P, MEM_RESET, PAGE_READWRITE), b);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 8 * P);
        fi_reset();
        fi_fail(HM_SITE_UNDO_PAGEMAP, no_memory_errnos[e]);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(b, 8 * P, MEM_RESET_UNDO, PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_UNDO_PAGEMAP, 1);
        snap_take(&after, b, 8 * P);
        snap_assert_same(&before, &after);
    }
    ck_assert_ptr_eq(VirtualAlloc(b, 8 * P, MEM_RESET_UNDO, PAGE_READWRITE), b);
    pattern_check(b, 8 * P, 71);
    release_ok(b);
}
END_TEST

static void site_UNDO_PAGEMAP(TCase *tc)
{
    tcase_add_test(tc, undo_pagemap_failure_fails_and_a_later_undo_succeeds);
}

/* ======================================================================================
 * UNDO_UNPROTECT / UNDO_REPROTECT — MEM_RESET_UNDO re-dirties read-only pages by making
 * them writable for a moment, then restores their protection.
 * ==================================================================================== */

static char *readonly_reset_run(unsigned seed)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, seed);
    protect_ok(b, 8 * P, PAGE_READONLY);
    ck_assert_ptr_eq(VirtualAlloc(b, 8 * P, MEM_RESET, PAGE_READWRITE), b);
    return b;
}

START_TEST(undo_unprotect_failure_keeps_the_run_read_only)
{
    char *b = readonly_reset_run(81);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 8 * P);
        fi_reset();
        fi_fail(HM_SITE_UNDO_UNPROTECT, no_memory_errnos[e]);
        void *p;
        DWORD err;
        FI_CALL(p, err, VirtualAlloc(b, 8 * P, MEM_RESET_UNDO, PAGE_READWRITE));
        ck_assert_ptr_null(p);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_UNDO_UNPROTECT, 1);
        ck_assert_int_eq(fi->calls[HM_SITE_UNDO_REPROTECT], 0);
        snap_take(&after, b, 8 * P);
        snap_assert_same(&before, &after);
        ck_assert_int_eq(hm_probe_write(b), SIGSEGV);
    }
    ck_assert_ptr_eq(VirtualAlloc(b, 8 * P, MEM_RESET_UNDO, PAGE_READWRITE), b);
    pattern_check(b, 8 * P, 81);
    ck_assert_region(b, b, b, PAGE_READWRITE, 8 * P, MEM_COMMIT, PAGE_READONLY, MEM_PRIVATE);
    ck_assert_int_eq(hm_probe_write(b + 5 * P), SIGSEGV);
    release_ok(b);
}
END_TEST

static void site_UNDO_UNPROTECT(TCase *tc)
{
    tcase_add_test(tc, undo_unprotect_failure_keeps_the_run_read_only);
}

static void child_reprotect_fails(void *arg)
{
    char *b = arg;
    fi_fail(HM_SITE_UNDO_REPROTECT, ENOMEM);
    hm_os = fake_ops;
    void *p = VirtualAlloc(b, 8 * P, MEM_RESET_UNDO, PAGE_READWRITE);
    hm_os = hm_os_default;
    fprintf(stderr, "child: VirtualAlloc returned %p, error %u\n", p, GetLastError());
}

START_TEST(undo_reprotect_failure_aborts)
{
    char *b = readonly_reset_run(82);
    fi_reset();
    child_result_t r;
    run_in_child(child_reprotect_fails, b, &r);
    expect_signal(&r, SIGABRT, "hostmem: fatal: reset undo: cannot restore the protection");
    ck_assert_int_eq(fi->calls[HM_SITE_UNDO_UNPROTECT], 1);
    fi_assert_failed(HM_SITE_UNDO_REPROTECT, 1);
    release_ok(b);
}
END_TEST

static void site_UNDO_REPROTECT(TCase *tc)
{
    tcase_add_test(tc, undo_reprotect_failure_aborts);
}

/* ======================================================================================
 * LOCK_MLOCK / UNLOCK_MUNLOCK — VirtualLock / VirtualUnlock.
 * ==================================================================================== */

START_TEST(lock_mlock_failure_is_working_set_quota_and_locks_nothing)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, 91);
    protect_ok(b + 6 * P, P, PAGE_READONLY);
    unsigned long lck = vm_lck_kb();
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 8 * P);
        fi_reset();
        fi_fail(HM_SITE_LOCK_MLOCK, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualLock(b + P, 6 * P));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_WORKING_SET_QUOTA);
        fi_assert_failed(HM_SITE_LOCK_MLOCK, 1);
        snap_take(&after, b, 8 * P);
        snap_assert_same(&before, &after);
        ck_assert_uint_eq(vm_lck_kb(), lck);
        ck_assert_int_eq(VirtualUnlock(b + P, P), FALSE);
        ck_assert_last_error(ERROR_NOT_LOCKED);
        pattern_check(b, 6 * P, 91);
    }
    release_ok(b);
}
END_TEST

static void site_LOCK_MLOCK(TCase *tc)
{
    tcase_add_test(tc, lock_mlock_failure_is_working_set_quota_and_locks_nothing);
}

START_TEST(unlock_munlock_failure_keeps_the_pages_locked)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, 92);
    unsigned long lck0 = vm_lck_kb();
    ck_assert(VirtualLock(b, 4 * P));
    unsigned long lck = vm_lck_kb();
    ck_assert_uint_eq(lck, lck0 + 16);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        snap_t before, after;
        snap_take(&before, b, 8 * P);
        fi_reset();
        fi_fail(HM_SITE_UNLOCK_MUNLOCK, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualUnlock(b + P, 2 * P));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_UNLOCK_MUNLOCK, 1);
        snap_take(&after, b, 8 * P);
        snap_assert_same(&before, &after);
        ck_assert_uint_eq(vm_lck_kb(), lck);
    }
    ck_assert(VirtualUnlock(b, 4 * P));
    ck_assert_uint_eq(vm_lck_kb(), lck0);
    pattern_check(b, 8 * P, 92);
    release_ok(b);
}
END_TEST

static void site_UNLOCK_MUNLOCK(TCase *tc)
{
    tcase_add_test(tc, unlock_munlock_failure_keeps_the_pages_locked);
}

/* ======================================================================================
 * GUARD_HANDLER — installing the SIGSEGV handler for guard pages (every PAGE_GUARD
 * request asks; the first one in a process installs it).
 * ==================================================================================== */

START_TEST(guard_handler_failure_fails_every_guard_request)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE, PAGE_READWRITE);
    alloc_ok(b, 4 * P, MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 4 * P, 101);
    snap_t before, after;
    snap_take(&before, b, 8 * P);
    void *p;
    BOOL ok;
    DWORD err, old;

    fi_reset();
    fi_fail(HM_SITE_GUARD_HANDLER, ENOMEM);
    FI_CALL(p, err, VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_GUARD_HANDLER, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_RESERVE_MAP], 0);

    fi_reset();
    fi_fail(HM_SITE_GUARD_HANDLER, ENOMEM);
    FI_CALL(p, err, VirtualAlloc(b + 5 * P, P, MEM_COMMIT, PAGE_READONLY | PAGE_GUARD));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_GUARD_HANDLER, 1);

    fi_reset();
    fi_fail(HM_SITE_GUARD_HANDLER, ENOMEM);
    FI_CALL(ok, err, VirtualProtect(b + P, P, PAGE_READWRITE | PAGE_GUARD, &old));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_GUARD_HANDLER, 1);

    snap_take(&after, b, 8 * P);
    snap_assert_same(&before, &after);
    pattern_check(b, 4 * P, 101);
    release_ok(b);
}
END_TEST

static volatile sig_atomic_t guard_callbacks;
static void count_guard(void *addr, void *ctx)
{
    (void)addr;
    (void)ctx;
    guard_callbacks++;
}

START_TEST(fresh_guard_handler_failure_then_first_touch_works)
{
    hm_stats_t before = stats_now();
    fi_reset();
    fi_fail(HM_SITE_GUARD_HANDLER, ENOMEM);
    void *p;
    DWORD err;
    FI_CALL(p, err, VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD));
    ck_assert_ptr_null(p);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_GUARD_HANDLER, 1);
    hm_stats_t after = stats_now();
    stats_assert_same(&before, &after);
    /* The handler was not installed by the failed call; the next request installs it. */
    struct sigaction sa;
    ck_assert_int_eq(sigaction(SIGSEGV, NULL, &sa), 0);
    ck_assert(!(sa.sa_flags & SA_SIGINFO) && sa.sa_handler == SIG_DFL);
    hm_set_guard_page_callback(count_guard, NULL);
    char *b = alloc_ok(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    *(volatile char *)(b + P) = 1;
    ck_assert_int_eq(guard_callbacks, 1);
    ck_assert_uint_eq(stats_now().guard_pages_hit, 1);
    ck_assert_region(b + P, b + P, b, PAGE_READWRITE | PAGE_GUARD, P, MEM_COMMIT, PAGE_READWRITE,
                     MEM_PRIVATE);
    hm_set_guard_page_callback(NULL, NULL);
    release_ok(b);
}
END_TEST

START_TEST(guard_handler_failure_in_a_fresh_process)
{
    run_fresh("fresh_guard_handler_failure_then_first_touch_works");
}
END_TEST

static void site_GUARD_HANDLER(TCase *tc)
{
    tcase_add_test(tc, guard_handler_failure_fails_every_guard_request);
    tcase_add_test(tc, guard_handler_failure_in_a_fresh_process);
}

/* ======================================================================================
 * GUARD_CLEAR / GUARD_RUNS — the guard-page fault path. If clearing the guard fails the
 * fault is not handled: it goes on to the previous handler, here the default (SIGSEGV).
 * ==================================================================================== */

static void child_touch_with_fault(void *arg)
{
    volatile char *a = arg;
    hm_os = fake_ops;
    /* The fault reads hm_os behind the compiler's back: keep the stores around the access. */
    atomic_signal_fence(memory_order_seq_cst);
    *a = 1; /* must not return */
    atomic_signal_fence(memory_order_seq_cst);
    hm_os = hm_os_default;
    fprintf(stderr, "child: the guard page access completed\n");
}

static void child_touch(void *arg)
{
    volatile char *a = arg;
    *a = 1;
    CHILD_REQUIRE(*a == 1);
}

START_TEST(guard_clear_failure_in_the_fault_path_is_a_segfault)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    uint32_t n, cap;
    /* Make room in the runs so that the fault path needs no mapping (GUARD_RUNS). */
    protect_ok(b + 6 * P, P, PAGE_READONLY | PAGE_GUARD);
    protect_ok(b + 6 * P, P, PAGE_READWRITE | PAGE_GUARD);
    runs_of(b, &n, &cap);
    ck_assert_uint_le(n + 2, cap);
    snap_t before, after;
    snap_take(&before, b, 8 * P);
    fi_reset();
    fi_fail(HM_SITE_GUARD_CLEAR, ENOMEM);
    child_result_t r;
    run_in_child(child_touch_with_fault, b + 2 * P, &r);
    expect_signal(&r, SIGSEGV, NULL);
    fi_assert_failed(HM_SITE_GUARD_CLEAR, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_GUARD_RUNS], 0);
    snap_take(&after, b, 8 * P);
    snap_assert_same(&before, &after);
    /* Without the fault the same touch clears the guard. */
    run_in_child(child_touch, b + 2 * P, &r);
    expect_exit0(&r);
    release_ok(b);
}
END_TEST

START_TEST(guard_clear_failure_in_virtual_lock_keeps_the_guard)
{
    char *b = alloc_ok(NULL, 8 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    pattern_fill(b, 8 * P, 111);
    protect_ok(b + 3 * P, P, PAGE_READWRITE | PAGE_GUARD);
    snap_t before, after;
    snap_take(&before, b, 8 * P);
    fi_reset();
    fi_fail(HM_SITE_GUARD_CLEAR, ENOMEM);
    BOOL ok;
    DWORD err;
    FI_CALL(ok, err, VirtualLock(b, 8 * P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_GUARD_CLEAR, 1);
    snap_take(&after, b, 8 * P);
    snap_assert_same(&before, &after);
    ck_assert_int_eq(hm_probe_read(b + 3 * P), 0); /* the guard is still armed (and handled) */
    ck_assert_int_eq(VirtualLock(b, 8 * P), FALSE);
    ck_assert_last_error((DWORD)STATUS_GUARD_PAGE_VIOLATION);
    ck_assert_region(b, b, b, PAGE_READWRITE, 8 * P, MEM_COMMIT, PAGE_READWRITE, MEM_PRIVATE);
    pattern_check(b, 8 * P, 111);
    release_ok(b);
}
END_TEST

static void site_GUARD_CLEAR(TCase *tc)
{
    tcase_add_test(tc, guard_clear_failure_in_the_fault_path_is_a_segfault);
    tcase_add_test(tc, guard_clear_failure_in_virtual_lock_keeps_the_guard);
}

START_TEST(guard_runs_failure_in_the_fault_path_is_a_segfault)
{
    char *b = alloc_ok(NULL, 16 * P, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);
    assert_runs_must_grow(b);
    snap_t before, after;
    snap_take(&before, b, 16 * P);
    fi_reset();
    fi_fail(HM_SITE_GUARD_RUNS, ENOMEM);
    child_result_t r;
    run_in_child(child_touch_with_fault, b + 5 * P, &r);
    expect_signal(&r, SIGSEGV, NULL);
    fi_assert_failed(HM_SITE_GUARD_RUNS, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_GUARD_CLEAR], 0);
    snap_take(&after, b, 16 * P);
    snap_assert_same(&before, &after);
    /* Without the fault the runs grow in the handler and the touch succeeds. */
    fi_reset();
    hm_os = fake_ops;
    atomic_signal_fence(memory_order_seq_cst);
    run_in_child(child_touch, b + 5 * P, &r);
    atomic_signal_fence(memory_order_seq_cst);
    hm_os = hm_os_default;
    expect_exit0(&r);
    ck_assert_int_eq(fi->calls[HM_SITE_GUARD_RUNS], 1);
    ck_assert_int_eq(fi->calls[HM_SITE_GUARD_CLEAR], 1);
    release_ok(b);
}
END_TEST

static void site_GUARD_RUNS(TCase *tc)
{
    tcase_add_test(tc, guard_runs_failure_in_the_fault_path_is_a_segfault);
}

/* ======================================================================================
 * FOREIGN_* — memory hostmem did not allocate, answered from the kernel's view.
 * ==================================================================================== */

START_TEST(foreign_maps_failure_fails_virtual_query)
{
    int on_stack = 0;
    char *page = foreign_page();
    const void *addrs[] = {&on_stack, page, (void *)(uintptr_t)0x10000};
    for (size_t k = 0; k < 3; k++) {
        MEMORY_BASIC_INFORMATION mbi;
        memset(&mbi, 0xAB, sizeof mbi);
        fi_reset();
        fi_fail(HM_SITE_FOREIGN_MAPS, ENOMEM);
        SIZE_T got;
        DWORD err;
        FI_CALL(got, err, VirtualQuery(addrs[k], &mbi, sizeof mbi));
        ck_assert_uint_eq(got, 0);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_FOREIGN_MAPS, 1);
        const unsigned char *bytes = (const unsigned char *)&mbi;
        for (size_t i = 0; i < sizeof mbi; i++)
            ck_assert_uint_eq(bytes[i], 0xAB); /* buffer untouched */
    }
    foreign_free(page);
}
END_TEST

START_TEST(foreign_maps_failure_fails_protect_lock_and_unlock)
{
    char *page = foreign_page();
    pattern_fill(page, P, 121);
    snap_t before, after;
    snap_take(&before, page, P);
    BOOL ok;
    DWORD err, old = 0x12345;

    fi_reset();
    fi_fail(HM_SITE_FOREIGN_MAPS, ENOMEM);
    FI_CALL(ok, err, VirtualProtect(page, P, PAGE_READONLY, &old));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_FOREIGN_MAPS, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_FOREIGN_PROTECT], 0);
    still_writable(&page[0]); /* still writable */

    fi_reset();
    fi_fail(HM_SITE_FOREIGN_MAPS, ENOMEM);
    FI_CALL(ok, err, VirtualLock(page, P));
    ck_assert_int_eq(ok, FALSE);
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_FOREIGN_MAPS, 1);
    ck_assert_int_eq(fi->calls[HM_SITE_FOREIGN_LOCK], 0);
    ck_assert(!kernel_locked(page));

    ck_assert(VirtualLock(page, P));
    fi_reset();
    fi_fail(HM_SITE_FOREIGN_MAPS, ENOMEM);
    FI_CALL(ok, err, VirtualUnlock(page, P));
    ck_assert_msg(!ok, "VirtualUnlock succeeded although reading /proc/self/maps failed");
    ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
    fi_assert_failed(HM_SITE_FOREIGN_MAPS, 1);
    ck_assert(kernel_locked(page));
    ck_assert(VirtualUnlock(page, P));

    snap_take(&after, page, P);
    snap_assert_same(&before, &after);
    pattern_check(page, P, 121);
    foreign_free(page);
}
END_TEST

static void site_FOREIGN_MAPS(TCase *tc)
{
    tcase_add_test(tc, foreign_maps_failure_fails_virtual_query);
    tcase_add_test(tc, foreign_maps_failure_fails_protect_lock_and_unlock);
}

START_TEST(foreign_protect_failure_keeps_the_protection)
{
    char *page = foreign_page();
    pattern_fill(page, P, 131);
    static const struct {
        int err;
        DWORD win;
    } cases[] = {{ENOMEM, ERROR_NOT_ENOUGH_MEMORY},
                 {EAGAIN, ERROR_NOT_ENOUGH_MEMORY},
                 {EPERM, ERROR_NOT_ENOUGH_MEMORY},
                 {EACCES, ERROR_ACCESS_DENIED}};
    for (size_t k = 0; k < 4; k++) {
        snap_t before, after;
        snap_take(&before, page, P);
        fi_reset();
        fi_fail(HM_SITE_FOREIGN_PROTECT, cases[k].err);
        BOOL ok;
        DWORD err, old = 0x12345;
        FI_CALL(ok, err, VirtualProtect(page, P, PAGE_READONLY, &old));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, cases[k].win);
        fi_assert_failed(HM_SITE_FOREIGN_PROTECT, 1);
        snap_take(&after, page, P);
        snap_assert_same(&before, &after);
        ck_assert_uint_eq(before.r[0].Protect, PAGE_READWRITE);
        still_writable(&page[0]);
        pattern_check(page, P, 131);
    }
    foreign_free(page);
}
END_TEST

static void site_FOREIGN_PROTECT(TCase *tc)
{
    tcase_add_test(tc, foreign_protect_failure_keeps_the_protection);
}

START_TEST(foreign_lock_failure_is_working_set_quota_and_locks_nothing)
{
    char *page = foreign_page();
    unsigned long lck = vm_lck_kb();
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        fi_reset();
        fi_fail(HM_SITE_FOREIGN_LOCK, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualLock(page, P));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_WORKING_SET_QUOTA);
        fi_assert_failed(HM_SITE_FOREIGN_LOCK, 1);
        ck_assert(!kernel_locked(page));
        ck_assert_uint_eq(vm_lck_kb(), lck);
    }
    foreign_free(page);
}
END_TEST

static void site_FOREIGN_LOCK(TCase *tc)
{
    tcase_add_test(tc, foreign_lock_failure_is_working_set_quota_and_locks_nothing);
}

static void foreign_unlock_failure(hm_os_site_t site)
{
    char *page = foreign_page();
    pattern_fill(page, P, 141);
    unsigned long lck0 = vm_lck_kb();
    ck_assert(VirtualLock(page, P));
    unsigned long lck = vm_lck_kb();
    ck_assert_uint_eq(lck, lck0 + 4);
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        fi_reset();
        fi_fail(site, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, VirtualUnlock(page, P));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(site, 1);
        ck_assert(kernel_locked(page));
        ck_assert_uint_eq(vm_lck_kb(), lck);
    }
    ck_assert(VirtualUnlock(page, P));
    ck_assert(!kernel_locked(page));
    pattern_check(page, P, 141);
    foreign_free(page);
}

START_TEST(foreign_unlock_failure_keeps_the_page_locked)
{
    foreign_unlock_failure(HM_SITE_FOREIGN_UNLOCK);
}
END_TEST

static void site_FOREIGN_UNLOCK(TCase *tc)
{
    tcase_add_test(tc, foreign_unlock_failure_keeps_the_page_locked);
}

START_TEST(foreign_smaps_failure_keeps_the_page_locked)
{
    foreign_unlock_failure(HM_SITE_FOREIGN_SMAPS);
}
END_TEST

static void site_FOREIGN_SMAPS(TCase *tc)
{
    tcase_add_test(tc, foreign_smaps_failure_keeps_the_page_locked);
}

/* ======================================================================================
 * MEMINFO_READ — /proc/meminfo: GlobalMemoryStatusEx, and the default commit limit.
 * ==================================================================================== */

START_TEST(meminfo_read_failure_fails_global_memory_status)
{
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        MEMORYSTATUSEX ms;
        memset(&ms, 0xCD, sizeof ms);
        ms.dwLength = sizeof ms;
        fi_reset();
        fi_fail(HM_SITE_MEMINFO_READ, no_memory_errnos[e]);
        BOOL ok;
        DWORD err;
        FI_CALL(ok, err, GlobalMemoryStatusEx(&ms));
        ck_assert_int_eq(ok, FALSE);
        ck_assert_uint_eq(err, ERROR_NOT_ENOUGH_MEMORY);
        fi_assert_failed(HM_SITE_MEMINFO_READ, 1);
        ck_assert_uint_eq(ms.dwLength, sizeof ms);
        const unsigned char *bytes = (const unsigned char *)&ms;
        for (size_t i = sizeof ms.dwLength; i < sizeof ms; i++)
            ck_assert_uint_eq(bytes[i], 0xCD); /* nothing filled in */
    }
}
END_TEST

START_TEST(fresh_commit_limit_without_meminfo_is_unlimited)
{
    fi_reset();
    fi_fail(HM_SITE_MEMINFO_READ, ENOMEM);
    uint64_t limit;
    DWORD err;
    FI_CALL(limit, err, hm_commit_limit());
    (void)err;
    fi_assert_failed(HM_SITE_MEMINFO_READ, 1);
    ck_assert_uint_eq(limit, 0); /* documented: else unlimited */
    char *b = alloc_ok(NULL, 4 * G, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    release_ok(b);
}
END_TEST

START_TEST(fresh_commit_limit_defaults_to_commit_limit_of_meminfo)
{
    char *mi = slurp("/proc/meminfo");
    const char *p = strstr(mi, "CommitLimit:");
    ck_assert_ptr_nonnull(p);
    uint64_t kb = strtoull(p + 12, NULL, 10);
    free(mi);
    ck_assert_uint_eq(hm_commit_limit(), kb * 1024);
}
END_TEST

START_TEST(meminfo_read_failure_for_the_default_commit_limit)
{
    run_fresh("fresh_commit_limit_without_meminfo_is_unlimited");
    run_fresh("fresh_commit_limit_defaults_to_commit_limit_of_meminfo");
}
END_TEST

static void site_MEMINFO_READ(TCase *tc)
{
    tcase_add_test(tc, meminfo_read_failure_fails_global_memory_status);
    tcase_add_test(tc, meminfo_read_failure_for_the_default_commit_limit);
}

/* ======================================================================================
 * HOST_LOAD_READ — GetMemoryLoad reads cgroup v2 and meminfo files. A view it cannot read
 * is left out; the budget view still answers.
 * ==================================================================================== */

static void write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "we");
    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(fputs(text, f) >= 0, 1);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(host_load_read_failure_leaves_only_the_budget_view)
{
    char dir[] = "/tmp/hm_fi_XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    write_file(dir, "memory.max", "1048576000\n");
    write_file(dir, "memory.high", "max\n");
    write_file(dir, "memory.current", "943718400\n"); /* 90 % */
    write_file(dir, "meminfo", "MemTotal:  1000000 kB\nMemFree: 1 kB\nMemAvailable:  500000 kB\n");
    char meminfo[600];
    snprintf(meminfo, sizeof meminfo, "%s/meminfo", dir);

    hm_host_config_t hc = {sizeof hc, dir, meminfo, "", 0};
    hm_host_t *host;
    ck_assert_int_eq(hm_host_create(&hc, &host), 0);
    hm_runtime_config_t rc = {.cb_size = sizeof rc, .name = "fi", .hard_limit = 8 << 20};
    hm_runtime_t *rt;
    ck_assert_int_eq(hm_runtime_create(host, &rc, &rt), 0);
    ck_assert_int_eq(hm_runtime_start(rt), 0);
    IHostMemoryManager *mgr = hm_runtime_memory_manager(rt);
    ck_assert_ptr_nonnull(mgr);
    void *mem = NULL;
    ck_assert_int_eq(mgr->lpVtbl->VirtualAlloc(mgr, NULL, 1 << 20, MEM_RESERVE | MEM_COMMIT,
                                               PAGE_READWRITE, eTaskCritical, &mem),
                     S_OK);

    DWORD load = 0;
    SIZE_T avail = 0;
    ck_assert_int_eq(mgr->lpVtbl->GetMemoryLoad(mgr, &load, &avail), S_OK);
    ck_assert_uint_eq(load, 90);         /* the cgroup is the tightest */
    ck_assert_uint_eq(avail, 7u << 20);  /* the budget has the least left */

    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        fi_reset();
        fi_fail(HM_SITE_HOST_LOAD_READ, no_memory_errnos[e]);
        HRESULT hr;
        DWORD err;
        load = 77;
        avail = 77;
        FI_CALL(hr, err, mgr->lpVtbl->GetMemoryLoad(mgr, &load, &avail));
        (void)err;
        ck_assert_int_eq(hr, S_OK);
        ck_assert_int_ge(fi->failed[HM_SITE_HOST_LOAD_READ], 1);
        ck_assert_int_eq(fi->failed[HM_SITE_HOST_LOAD_READ], fi->calls[HM_SITE_HOST_LOAD_READ]);
        fi_assert_slots_clean();
        ck_assert_uint_eq(load, 12);        /* 1 MiB of 8 MiB */
        ck_assert_uint_eq(avail, 7u << 20);
    }

    ck_assert_int_eq(mgr->lpVtbl->VirtualFree(mgr, mem, 0, MEM_RELEASE), S_OK);
    mgr->lpVtbl->Release(mgr);
    ck_assert_int_eq(hm_runtime_stop(rt), 0);
    hm_host_destroy(host);
    const char *names[] = {"memory.max", "memory.high", "memory.current", "meminfo"};
    for (size_t i = 0; i < 4; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        unlink(path);
    }
    rmdir(dir);
}
END_TEST

static void site_HOST_LOAD_READ(TCase *tc)
{
    tcase_add_test(tc, host_load_read_failure_leaves_only_the_budget_view);
}

/* ======================================================================================
 * KERNEL_VIEW_SMAPS — hm_walk_regions of another process reads /proc/PID/smaps.
 * ==================================================================================== */

static int count_region(const hm_region_t *r, void *ctx)
{
    (void)r;
    ++*(int *)ctx;
    return 0;
}

START_TEST(kernel_view_smaps_failure_fails_the_walk_before_any_visit)
{
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    int n = 0;
    for (size_t e = 0; e < N_NO_MEMORY_ERRNOS; e++) {
        fi_reset();
        fi_fail(HM_SITE_KERNEL_VIEW_SMAPS, no_memory_errnos[e]);
        uint32_t rc;
        DWORD err;
        FI_CALL(rc, err, hm_walk_regions(child, count_region, &n));
        /* EPERM reading another process's maps means "not allowed to look". */
        DWORD want = no_memory_errnos[e] == EPERM ? ERROR_ACCESS_DENIED : ERROR_NOT_ENOUGH_MEMORY;
        ck_assert_uint_eq(rc, want);
        ck_assert_uint_eq(err, want);
        fi_assert_failed(HM_SITE_KERNEL_VIEW_SMAPS, 1);
        ck_assert_int_eq(n, 0);
    }
    ck_assert_uint_eq(hm_walk_regions(child, count_region, &n), 0);
    ck_assert_int_gt(n, 0);
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
}
END_TEST

static void site_KERNEL_VIEW_SMAPS(TCase *tc)
{
    tcase_add_test(tc, kernel_view_smaps_failure_fails_the_walk_before_any_visit);
}

/* ======================================================================================
 * The scenario table and coverage.
 * ==================================================================================== */

typedef void (*site_scenario_t)(TCase *tc);

/* A site in HM_OS_SITE_LIST without a site_<NAME> function does not compile. */
static const site_scenario_t scenarios[HM_SITE_COUNT] = {
#define HM_X_SCENARIO(site, call, what) [HM_SITE_##site] = site_##site,
    HM_OS_SITE_LIST(HM_X_SCENARIO)
#undef HM_X_SCENARIO
};

static bool registered[HM_SITE_COUNT]; /* set while the suite is built, before any fork */

/* Adds the site's tests to a tcase named after it (the literal name makes it a ctest). */
static void add_site(Suite *s, TCase *tc, const char *name, hm_os_site_t site)
{
    if ((unsigned)site >= HM_SITE_COUNT || strcmp(name, hm_os_site_name(site)) != 0) {
        fprintf(stderr, "case %s is not the name of site %d\n", name, (int)site);
        abort();
    }
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    scenarios[site](tc);
    registered[site] = true;
    suite_add_tcase(s, tc);
}

START_TEST(every_site_has_a_scenario_and_a_case)
{
    int covered = 0;
    for (int i = 0; i < HM_SITE_COUNT; i++) {
        ck_assert_msg(scenarios[i] != NULL, "site %s has no scenario", hm_os_site_name(i));
        ck_assert_msg(registered[i], "site %s has no test case", hm_os_site_name(i));
        covered++;
    }
    printf("fault-injection sites covered: %d of %d\n", covered, (int)HM_SITE_COUNT);
    fflush(stdout);
}
END_TEST

static const TTest *const *fresh_cases(size_t *n)
{
    static const TTest *table[4];
    table[0] = fresh_first_reserve_with_record_failure_fails_then_succeeds;
    table[1] = fresh_guard_handler_failure_then_first_touch_works;
    table[2] = fresh_commit_limit_without_meminfo_is_unlimited;
    table[3] = fresh_commit_limit_defaults_to_commit_limit_of_meminfo;
    *n = sizeof table / sizeof table[0];
    return table;
}

static Suite *make_suite(void)
{
    Suite *s = suite_create("fault_injection");
    /* ctest registers each literal tcase_create of a site name below: keep one per site. */
    add_site(s, tcase_create("RESERVE_MAP"), "RESERVE_MAP", HM_SITE_RESERVE_MAP);
    add_site(s, tcase_create("RESERVE_TRIM"), "RESERVE_TRIM", HM_SITE_RESERVE_TRIM);
    add_site(s, tcase_create("RESERVE_RECORD"), "RESERVE_RECORD", HM_SITE_RESERVE_RECORD);
    add_site(s, tcase_create("RESERVE_INDEX"), "RESERVE_INDEX", HM_SITE_RESERVE_INDEX);
    add_site(s, tcase_create("RESERVE_UNDO"), "RESERVE_UNDO", HM_SITE_RESERVE_UNDO);
    add_site(s, tcase_create("TOPDOWN_MAPS"), "TOPDOWN_MAPS", HM_SITE_TOPDOWN_MAPS);
    add_site(s, tcase_create("RUNS_GROW"), "RUNS_GROW", HM_SITE_RUNS_GROW);
    add_site(s, tcase_create("COMMIT_PROTECT"), "COMMIT_PROTECT", HM_SITE_COMMIT_PROTECT);
    add_site(s, tcase_create("DECOMMIT_MAP"), "DECOMMIT_MAP", HM_SITE_DECOMMIT_MAP);
    add_site(s, tcase_create("RELEASE_UNMAP"), "RELEASE_UNMAP", HM_SITE_RELEASE_UNMAP);
    add_site(s, tcase_create("PROTECT_PROTECT"), "PROTECT_PROTECT", HM_SITE_PROTECT_PROTECT);
    add_site(s, tcase_create("RESET_ADVISE"), "RESET_ADVISE", HM_SITE_RESET_ADVISE);
    add_site(s, tcase_create("UNDO_PAGEMAP"), "UNDO_PAGEMAP", HM_SITE_UNDO_PAGEMAP);
    add_site(s, tcase_create("UNDO_UNPROTECT"), "UNDO_UNPROTECT", HM_SITE_UNDO_UNPROTECT);
    add_site(s, tcase_create("UNDO_REPROTECT"), "UNDO_REPROTECT", HM_SITE_UNDO_REPROTECT);
    add_site(s, tcase_create("LOCK_MLOCK"), "LOCK_MLOCK", HM_SITE_LOCK_MLOCK);
    add_site(s, tcase_create("UNLOCK_MUNLOCK"), "UNLOCK_MUNLOCK", HM_SITE_UNLOCK_MUNLOCK);
    add_site(s, tcase_create("GUARD_HANDLER"), "GUARD_HANDLER", HM_SITE_GUARD_HANDLER);
    add_site(s, tcase_create("GUARD_CLEAR"), "GUARD_CLEAR", HM_SITE_GUARD_CLEAR);
    add_site(s, tcase_create("GUARD_RUNS"), "GUARD_RUNS", HM_SITE_GUARD_RUNS);
    add_site(s, tcase_create("FOREIGN_MAPS"), "FOREIGN_MAPS", HM_SITE_FOREIGN_MAPS);
    add_site(s, tcase_create("FOREIGN_PROTECT"), "FOREIGN_PROTECT", HM_SITE_FOREIGN_PROTECT);
    add_site(s, tcase_create("FOREIGN_LOCK"), "FOREIGN_LOCK", HM_SITE_FOREIGN_LOCK);
    add_site(s, tcase_create("FOREIGN_UNLOCK"), "FOREIGN_UNLOCK", HM_SITE_FOREIGN_UNLOCK);
    add_site(s, tcase_create("FOREIGN_SMAPS"), "FOREIGN_SMAPS", HM_SITE_FOREIGN_SMAPS);
    add_site(s, tcase_create("MEMINFO_READ"), "MEMINFO_READ", HM_SITE_MEMINFO_READ);
    add_site(s, tcase_create("HOST_LOAD_READ"), "HOST_LOAD_READ", HM_SITE_HOST_LOAD_READ);
    add_site(s, tcase_create("KERNEL_VIEW_SMAPS"), "KERNEL_VIEW_SMAPS", HM_SITE_KERNEL_VIEW_SMAPS);

    TCase *tc = tcase_create("coverage");
    tcase_add_test(tc, every_site_has_a_scenario_and_a_case);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    const char *fresh = getenv("HM_FI_FRESH");
    if (fresh)
        return fresh_main(fresh);
    return hm_test_run(make_suite());
}
