/*
 * bad_input.c — the bad-input fuzzer's driver (see bad_input.h): picks calls from the
 * Win32 and host tables, snapshots the state before each, checks it after a failure.
 */
#include "bad_input.h"

#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define P ((uint64_t)4096)

static hm_bad_totals_t totals;
static bool fork_mode, verbose;

/* Crashes seen in fork mode, by call description (kinds included). */
static struct {
    char what[160];
    int sig;
    uint64_t n;
} crashes[256];

const hm_bad_totals_t *hm_bad_totals(void)
{
    return &totals;
}

void hm_bad_restore_victim(void)
{
    char *v = hm_bad_env.victim;
    MEMORY_BASIC_INFORMATION m;
    DWORD old;
    if (VirtualQuery(v, &m, sizeof m) != sizeof m)
        abort();
    if (m.State == MEM_FREE || m.AllocationBase != v) {
        if (m.State != MEM_FREE)
            abort(); /* something else took the victim's place */
        if (VirtualAlloc(v, 16 * P, MEM_RESERVE, PAGE_READWRITE) != v)
            abort();
    }
    VirtualFree(v + 4 * P, 12 * P, MEM_DECOMMIT);
    VirtualUnlock(v, 4 * P);
    for (int i = 0; i < 4; i++)
        VirtualUnlock(v + i * P, P);
    if (!VirtualAlloc(v, 4 * P, MEM_COMMIT, PAGE_READWRITE))
        abort();
    memset(v + P, 0x5A, P);
    if (!VirtualProtect(v + P, P, PAGE_READONLY, &old) ||
        !VirtualProtect(v + 2 * P, P, PAGE_NOACCESS, &old))
        abort();
    if (hm_bad_env.watch) {
        MEMORY_BASIC_INFORMATION w;
        if (VirtualQuery(hm_bad_env.watch, &w, sizeof w) != sizeof w || w.State == MEM_FREE)
            abort(); /* the fuzzer never releases it */
        VirtualAlloc(hm_bad_env.watch, 65536, MEM_COMMIT, PAGE_READWRITE);
        VirtualUnlock(hm_bad_env.watch, 65536);
    }
}

void hm_bad_init(void)
{
    static bool done;
    if (done)
        return;
    done = true;
    fork_mode = getenv("HM_FUZZ_FORK") != NULL;
    verbose = getenv("HM_FUZZ_TRACE") != NULL;
    hm_bad_env_init();
    hm_bad_host_init();
}

static void note_crash(const char *what, int sig)
{
    for (size_t i = 0; i < sizeof crashes / sizeof crashes[0]; i++) {
        if (crashes[i].n && strcmp(crashes[i].what, what) == 0) {
            crashes[i].n++;
            return;
        }
        if (!crashes[i].n) {
            snprintf(crashes[i].what, sizeof crashes[i].what, "%s", what);
            crashes[i].sig = sig;
            crashes[i].n = 1;
            return;
        }
    }
}

static hm_bad_snap_t before;

/* Distinct behaviours: a hash set of (description without numbers, failed). */
static uint64_t seen[4096];
static uint64_t nseen;

static void note_behaviour(const char *desc, bool failed)
{
    uint64_t h = failed ? 1469598103934665603ull : 1099511628211ull;
    for (const char *p = desc; *p; p++)
        if (!(*p >= '0' && *p <= '9') && *p != 'x')
            h = (h ^ (uint8_t)*p) * 1099511628211ull;
    for (size_t i = h % 4096, k = 0; k < 4096; i = (i + 1) % 4096, k++) {
        if (seen[i] == h)
            return;
        if (!seen[i]) {
            seen[i] = h;
            nseen++;
            return;
        }
    }
}

uint64_t hm_bad_coverage(void)
{
    return nseen;
}

void hm_bad_checkpoint(void)
{
    hm_bad_snap(&before, hm_bad_rt);
}

static void expect_unchanged(const char *desc)
{
    hm_bad_snap_t now;
    hm_bad_snap(&now, hm_bad_rt);
    const char *diff = hm_bad_snap_diff(&before, &now);
    if (diff) {
        fprintf(stderr, "hm-fuzz bad input: %s failed and %s\n", desc, diff);
        abort();
    }
}

void hm_bad_verify_unchanged(const char *desc)
{
    if (fork_mode)
        return;
    totals.failed++;
    expect_unchanged(desc);
}

/* The call in the current process; a state change after a failure aborts. */
static void run_here(const hm_bad_call_t *c, hm_brd_t *r, char *desc, size_t n)
{
    hm_bad_snap(&before, hm_bad_rt);
    bool failed = c->run(r, desc, n);
    if (fork_mode)
        return; /* the child's state is thrown away; only crashes matter */
    if (verbose)
        fprintf(stderr, "  %s -> %s\n", desc, failed ? "failed" : "ok");
    totals.calls++;
    note_behaviour(desc, failed);
    if (failed) {
        totals.failed++;
        expect_unchanged(desc);
    }
}

/* The key of a crash: the function and the pointer kinds it was given (param=kind). */
static void crash_key(const char *desc, char *key, size_t n)
{
    size_t w = (size_t)snprintf(key, n, "%.*s:", (int)strcspn(desc, "("), desc);
    for (const char *p = strchr(desc, '='); p && w + 2 < n; p = strchr(p + 1, '=')) {
        const char *s = p;
        while (s > desc && s[-1] != ' ' && s[-1] != '(' && s[-1] != ',')
            s--;
        size_t len = strcspn(s, ",)");
        w += (size_t)snprintf(key + w, n - w, " %.*s", (int)len, s);
    }
}

/* The call in a forked child that shares the reader and the description with us: a
 * crash is tabulated, not fatal, and the state of this process never changes. */
static void run_forked(const hm_bad_call_t *c, hm_brd_t *r)
{
    static struct shared {
        hm_brd_t r;
        char desc[160];
    } *sh;
    if (!sh) {
        sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (sh == MAP_FAILED)
            abort();
    }
    sh->r = *r;
    sh->desc[0] = 0;
    fflush(stderr);
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGSEGV, SIG_DFL);
        signal(SIGBUS, SIG_DFL);
        run_here(c, &sh->r, sh->desc, sizeof sh->desc);
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        abort();
    r->i = sh->r.i;
    totals.calls++;
    if (WIFSIGNALED(st)) {
        char key[160];
        crash_key(sh->desc, key, sizeof key);
        totals.crashes++;
        note_crash(key, WTERMSIG(st));
        if (verbose)
            fprintf(stderr, "  CRASH %d: %s\n", WTERMSIG(st), sh->desc);
    }
}

void hm_bad_one(const uint8_t *data, size_t size)
{
    hm_bad_init();
    hm_brd_t r = {data, size, 0};
    totals.inputs++;
    while (r.i < r.n) {
        uint8_t op = hm_b_u8(&r);
        size_t all = hm_bad_win32_ncalls + hm_bad_host_ncalls;
        size_t k = op % all;
        const hm_bad_call_t *c = k < hm_bad_win32_ncalls ? &hm_bad_win32_calls[k]
                                                         : &hm_bad_host_calls[k - hm_bad_win32_ncalls];
        char desc[160] = "";
        if (fork_mode)
            run_forked(c, &r);
        else
            run_here(c, &r, desc, sizeof desc);
    }
}

void hm_bad_report(void)
{
    fprintf(stderr, "hm-fuzz bad_input: inputs %" PRIu64 ", calls %" PRIu64 ", failed %" PRIu64
                    " (state checked), crashes %" PRIu64 ", hostile pointers %s\n",
            totals.inputs, totals.calls, totals.failed, totals.crashes,
            hm_bad_env.hostile_out ? "on" : "off");
    for (size_t i = 0; i < sizeof crashes / sizeof crashes[0] && crashes[i].n; i++)
        fprintf(stderr, "  crash (signal %d) x%" PRIu64 ": %s\n", crashes[i].sig, crashes[i].n,
                crashes[i].what);
}
