/*
 * demo.c — `hostmem demo`: a narrated tour of the Windows virtual-memory API for a new
 * user: reserve, commit and touch, protect, a guard page firing once, decommit, one error
 * the Windows way, release (after each, the map of the demo's reservation); then write
 * watch (demo_watch.c) and a host running two runtimes under budgets (demo_host.c).
 *
 * Invariant: the output is the same on every run except the reservation's address, which
 * is printed once (demo_print.c writes every other address as an offset from it). Each
 * step checks its result against Windows' behaviour; a mismatch prints "unexpected: ..."
 * and the demo stops with exit 1 (a library bug).
 * The guard-page callback runs inside a SIGSEGV handler: it only counts, records the
 * address and write()s one fixed line, all async-signal-safe.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "demo.h"
#include "hostmem/hostmem.h"
#include "names.h"

#define PAGE (4 * HM_DEMO_KIB)
#define COMMIT_SIZE (64 * HM_DEMO_KIB)
#define GUARD_OFFSET COMMIT_SIZE

static volatile sig_atomic_t guard_calls;
static void *volatile guard_address;

static const char help[] =
    "usage: hostmem demo\n\n"
    "Walk through reserve, commit, protect, a guard page, decommit and release, showing\n"
    "each Win32 call, its result and the map of the demo's memory after it; then write\n"
    "watch (which pages were written) and a host running two runtimes under budgets,\n"
    "one of which runs out and is told so.\n\n"
    "options:\n"
    "  -h, --help  show this help\n\n"
    "example:\n"
    "  hostmem demo | less\n";

/* ---- Helpers the steps use ------------------------------------------------------------ */

static bool all_zero(const volatile char *p, SIZE_T size)
{
    for (SIZE_T i = 0; i < size; i++)
        if (p[i] != 0)
            return false;
    return true;
}

/* The signal that kills a child process writing to addr; 0 if none, -1 if no child. The
 * child takes SIGSEGV's default action, whatever handler (hostmem's, a sanitizer's) is set,
 * and dumps no core. */
static int write_fault_signal(volatile char *addr)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        const struct rlimit no_core = {0, 0};
        setrlimit(RLIMIT_CORE, &no_core);
        signal(SIGSEGV, SIG_DFL);
        *addr = 1;
        _exit(0);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) != pid)
        return -1;
    return WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

static void on_guard(void *fault_address, void *context)
{
    static const char line[] = "     on_guard() called: a guard page was touched\n";
    (void)context;
    guard_calls++;
    guard_address = fault_address;
    ssize_t n = write(STDOUT_FILENO, line, sizeof line - 1);
    (void)n;
}

/* Touches the guard page and reports what the callback saw. */
static bool touch_guard(const hm_demo_t *d, char value)
{
    char off[HM_TOOL_NAME_LEN];
    sig_atomic_t before = guard_calls;
    fflush(stdout); /* the callback write()s straight to fd 1 */
    d->p[GUARD_OFFSET] = value;
    if (guard_calls == before) {
        hm_demo_result("silent: no callback this time");
        return true;
    }
    hm_demo_result("the callback ran once, for address %s",
                   hm_demo_offset_name(d, (uintptr_t)guard_address, off));
    return guard_calls == before + 1 || hm_demo_unexpected("the callback ran more than once");
}

/* ---- The steps -------------------------------------------------------------------------- */

static bool step_reserve(hm_demo_t *d)
{
    hm_demo_step(1, "Reserve 256K of address space");
    hm_demo_say("A reservation claims a range of addresses but no memory: nothing in it can be");
    hm_demo_say("touched yet. Reservations start on a 64K boundary (the allocation granularity).");
    hm_demo_call("p = VirtualAlloc(NULL, 256 * 1024, MEM_RESERVE, PAGE_NOACCESS);");
    d->p = VirtualAlloc(NULL, HM_DEMO_RESERVE_SIZE, MEM_RESERVE, PAGE_NOACCESS);
    if (!d->p)
        return hm_demo_unexpected("VirtualAlloc returned NULL");
    hm_demo_result("p = %p, a multiple of 64K (0x10000)", (void *)d->p);
    if ((uintptr_t)d->p % (64 * HM_DEMO_KIB) != 0)
        return hm_demo_unexpected("p is not 64K-aligned");
    return hm_demo_show_map(d);
}

static bool step_commit(hm_demo_t *d)
{
    hm_demo_step(2, "Commit the first 64K, read-write, and write to it");
    hm_demo_say("Committing backs pages with memory, counted against the commit limit. Fresh");
    hm_demo_say("pages read as zero; the system finds a physical page for each on first touch.");
    hm_demo_call("VirtualAlloc(p, 64 * 1024, MEM_COMMIT, PAGE_READWRITE);");
    if (VirtualAlloc((LPVOID)d->p, COMMIT_SIZE, MEM_COMMIT, PAGE_READWRITE) != d->p)
        return hm_demo_unexpected("VirtualAlloc did not return p");
    if (!all_zero(d->p, COMMIT_SIZE))
        return hm_demo_unexpected("fresh pages are not zero");
    hm_demo_result("returns p; all 65536 bytes read 0");
    hm_demo_call("memset(p, 0xAB, 64 * 1024);");
    memset((void *)d->p, 0xAB, COMMIT_SIZE);
    if ((unsigned char)d->p[0] != 0xAB || (unsigned char)d->p[COMMIT_SIZE - 1] != 0xAB)
        return hm_demo_unexpected("the bytes written do not read back");
    hm_demo_result("p[0] and p[65535] read back 0xAB");
    return hm_demo_show_map(d);
}

static bool step_protect(hm_demo_t *d)
{
    char name[HM_TOOL_NAME_LEN];
    DWORD old = 0;
    hm_demo_step(3, "Make the first page read-only");
    hm_demo_say("VirtualProtect changes the protection of whole pages (4K each) and returns the");
    hm_demo_say("old one. Writing to a read-only page is an access violation.");
    hm_demo_call("VirtualProtect(p, 4096, PAGE_READONLY, &old);");
    if (!VirtualProtect((LPVOID)d->p, PAGE, PAGE_READONLY, &old))
        return hm_demo_unexpected("VirtualProtect returned FALSE");
    hm_demo_result("TRUE, old = %s; p[0] still reads 0xAB", hm_tool_protect_const(old, name));
    if (old != PAGE_READWRITE || (unsigned char)d->p[0] != 0xAB)
        return hm_demo_unexpected("old protection or contents changed");
    if (write_fault_signal(d->p) != SIGSEGV)
        return hm_demo_unexpected("writing to a read-only page did not fault");
    hm_demo_result("a write to p[0] now crashes: a child process that tried died of SIGSEGV");
    return hm_demo_show_map(d);
}

static bool guard_is_gone(const hm_demo_t *d)
{
    char name[HM_TOOL_NAME_LEN];
    MEMORY_BASIC_INFORMATION mbi;
    hm_demo_call("VirtualQuery(p + 64 * 1024, &mbi, sizeof mbi);");
    if (VirtualQuery((LPCVOID)(d->p + GUARD_OFFSET), &mbi, sizeof mbi) != sizeof mbi)
        return hm_demo_unexpected("VirtualQuery failed");
    hm_demo_result("mbi.Protect = %s: the guard is gone", hm_tool_protect_const(mbi.Protect, name));
    return mbi.Protect == PAGE_READWRITE || hm_demo_unexpected("the guard is still set");
}

static bool step_guard(hm_demo_t *d)
{
    hm_stats_t stats = {.cb_size = sizeof stats};
    hm_demo_step(4, "A guard page fires once");
    hm_demo_say("The first touch of a PAGE_GUARD page is reported, then it is ordinary memory;");
    hm_demo_say("stacks grow this way. Windows raises STATUS_GUARD_PAGE_VIOLATION; hostmem lets");
    hm_demo_say("the access through and calls the function given to hm_set_guard_page_callback.");
    hm_demo_call("hm_set_guard_page_callback(on_guard, NULL);");
    hm_set_guard_page_callback(on_guard, NULL);
    hm_demo_call("VirtualAlloc(p + 64 * 1024, 4096, MEM_COMMIT, PAGE_READWRITE | PAGE_GUARD);");
    if (VirtualAlloc((LPVOID)(d->p + GUARD_OFFSET), PAGE, MEM_COMMIT,
                     PAGE_READWRITE | PAGE_GUARD) != d->p + GUARD_OFFSET)
        return hm_demo_unexpected("VirtualAlloc did not return p+64K");
    hm_demo_result("returns p+64K");
    if (!hm_demo_show_map(d))
        return false;
    hm_demo_call("p[64 * 1024] = 1;   /* first touch */");
    if (!touch_guard(d, 1) || !guard_is_gone(d))
        return false;
    hm_demo_call("p[64 * 1024] = 2;   /* second touch */");
    if (!touch_guard(d, 2) || guard_calls != 1)
        return hm_demo_unexpected("the guard fired twice");
    if (hm_get_stats(&stats) != 0 || stats.guard_pages_hit != 1)
        return hm_demo_unexpected("hm_get_stats does not count one guard page hit");
    hm_demo_result("hm_get_stats() counts guard_pages_hit = 1");
    return hm_demo_show_map(d);
}

static bool step_decommit(hm_demo_t *d)
{
    MEMORY_BASIC_INFORMATION mbi;
    hm_demo_step(5, "Decommit the first 64K");
    hm_demo_say("Decommitting gives the memory back but keeps the addresses reserved. The guard");
    hm_demo_say("page of step 4, at p+64K, is outside the range and stays committed.");
    hm_demo_call("VirtualFree(p, 64 * 1024, MEM_DECOMMIT);");
    if (!VirtualFree((LPVOID)d->p, COMMIT_SIZE, MEM_DECOMMIT))
        return hm_demo_unexpected("VirtualFree returned FALSE");
    hm_demo_result("TRUE");
    if (VirtualQuery((LPCVOID)d->p, &mbi, sizeof mbi) != sizeof mbi || mbi.State != MEM_RESERVE)
        return hm_demo_unexpected("the pages are not reserved");
    return hm_demo_show_map(d);
}

static bool step_release(hm_demo_t *d)
{
    hm_demo_step(6, "Release the reservation");
    hm_demo_say("A failing call returns FALSE or NULL and GetLastError() says why. Releasing");
    hm_demo_say("takes the reservation's base and a size of 0, so this first try fails:");
    hm_demo_call("VirtualFree(p + 4096, 0, MEM_RELEASE);");
    if (VirtualFree((LPVOID)(d->p + PAGE), 0, MEM_RELEASE))
        return hm_demo_unexpected("VirtualFree of an inner address succeeded");
    DWORD err = GetLastError();
    hm_demo_result("FALSE, GetLastError() = %u (ERROR_INVALID_ADDRESS); nothing changed", err);
    if (err != ERROR_INVALID_ADDRESS)
        return hm_demo_unexpected("wrong error code");
    hm_demo_call("VirtualFree(p, 0, MEM_RELEASE);");
    if (!VirtualFree((LPVOID)d->p, 0, MEM_RELEASE))
        return hm_demo_unexpected("VirtualFree returned FALSE");
    hm_demo_result("TRUE: the whole reservation is gone, committed pages included");
    return hm_demo_show_map(d);
}

/* ---- The command ------------------------------------------------------------------------ */

static void print_intro(void)
{
    printf("hostmem demo: the Windows virtual-memory API on Linux, step by step.\n"
           "Each step shows a Win32 call as a Windows programmer writes it (>), what it\n"
           "returned, and then the demo's memory as VirtualQuery reports it (|): one line\n"
           "per region, a run of pages that share a state and a protection. Offsets are\n"
           "from p; K = 1024 bytes. Protections: RW read/write, R read-only, NA no access,\n"
           "+G guard, - none (reserved pages have no protection of their own).\n");
}

int hm_tool_demo(int argc, char **argv)
{
    static bool (*const steps[])(hm_demo_t *) = {step_reserve, step_commit,   step_protect,
                                                 step_guard,   step_decommit, step_release};
    int rc = hm_tool_parse_flags(argc, argv, NULL, 0, help);
    if (rc >= 0)
        return rc;
    hm_demo_t d = {0};
    print_intro();
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
        if (!steps[i](&d)) {
            fflush(stdout);
            fprintf(stderr, "hostmem demo: step %zu did not behave as Windows does\n", i + 1);
            return HM_TOOL_FAILURE;
        }
    }
    if (!hm_demo_step_watch(7) || !hm_demo_step_host(8)) {
        fflush(stdout);
        fprintf(stderr, "hostmem demo: a step did not behave as Windows does\n");
        return HM_TOOL_FAILURE;
    }
    printf("\nDone. 'hostmem map' shows a whole process this way, 'hostmem info' what hostmem\n"
           "found on this machine.\n");
    return HM_TOOL_OK;
}
