/*
 * runner.c (tests/wine) — the Check subset of include/check.h as a small sequential runner.
 * `test_x.exe` runs every case in order, each in a child process (`test_x.exe --case NAME`,
 * like Check's fork mode), and prints one line per case plus a summary:
 *   PASS <case> | FAIL <case>: <file>:<line>: <assertion> | SKIP <case> (Linux-only)
 *   SUMMARY <suite>: <n> built, <n> passed, <n> failed, <n> Linux-only
 * `--list` prints the case names; CK_RUN_CASE=NAME runs one case, as with Check;
 * HM_WINE_KEEP_GOING=1 lets a case run on after a failed assertion (to see them all).
 * A crash, an uncaught exception or a time-out (CK_DEFAULT_TIMEOUT, else 60 s) fails only that
 * case. Exit status: 0 if no built case failed. Single-threaded; the registry lives for the
 * whole process.
 */
#include <fcntl.h>
#include <io.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "testlib.h" /* first: its memoryapi.h stand-in includes <windows.h> */

struct TCase {
    const char *name;
    const TTest *test;
    SFun setup, teardown;
    double timeout;
    bool linux_only;
    TCase *next;
};

struct Suite {
    const char *name;
    TCase *first, **last;
};

static Suite *g_suite;          /* the one suite of this program (for HM_LINUX_ONLY) */
static const char *g_case = ""; /* the case this process runs */
static int g_failures;          /* assertions failed so far (HM_WINE_KEEP_GOING=1) */

static void *xcalloc(size_t n)
{
    void *p = calloc(1, n);
    if (p == NULL) {
        fputs("runner: out of memory\n", stderr);
        exit(3);
    }
    return p;
}

Suite *suite_create(const char *name)
{
    Suite *s = xcalloc(sizeof *s);
    s->name = name;
    s->last = &s->first;
    g_suite = s;
    return s;
}

TCase *tcase_create(const char *name)
{
    TCase *tc = xcalloc(sizeof *tc);
    tc->name = name;
    const char *env = getenv("CK_DEFAULT_TIMEOUT");
    tc->timeout = env != NULL && atof(env) > 0 ? atof(env) : 60.0;
    return tc;
}

void suite_add_tcase(Suite *s, TCase *tc)
{
    *s->last = tc;
    s->last = &tc->next;
}

void tcase_add_test(TCase *tc, const TTest *t)
{
    tc->test = t;
}

void tcase_add_checked_fixture(TCase *tc, SFun setup, SFun teardown)
{
    tc->setup = setup;
    tc->teardown = teardown;
}

void tcase_set_timeout(TCase *tc, double seconds)
{
    tc->timeout = seconds;
}

/* HM_LINUX_ONLY(hm_add(s, tcase_create("name"), fn)) arrives here as text: keep the name. */
void hm_wine_linux_only(const char *registration)
{
    static const char key[] = "tcase_create(\"";
    const char *at = strstr(registration, key);
    const char *end = at != NULL ? strchr(at + sizeof key - 1, '"') : NULL;
    if (g_suite == NULL || end == NULL) {
        fprintf(stderr, "runner: HM_LINUX_ONLY needs a literal tcase_create(\"name\"): %s\n",
                registration);
        exit(3);
    }
    at += sizeof key - 1;
    size_t n = (size_t)(end - at);
    char *name = xcalloc(n + 1);
    memcpy(name, at, n);
    TCase *tc = tcase_create(name);
    tc->linux_only = true;
    suite_add_tcase(g_suite, tc);
}

static const char *base_name(const char *path)
{
    const char *s = strrchr(path, '/'), *b = strrchr(path, '\\');
    if (b != NULL && (s == NULL || b > s))
        s = b;
    return s != NULL ? s + 1 : path;
}

void hm_wine_fail(const char *file, int line, const char *what, const char *fmt, ...)
{
    char msg[1024] = "";
    if (fmt != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
    }
    printf("FAIL %s: %s:%d: %s%s%s\n", g_case, base_name(file), line, what, msg[0] ? ": " : "",
           msg);
    fflush(stdout);
    const char *keep_going = getenv("HM_WINE_KEEP_GOING");
    if (keep_going == NULL || strcmp(keep_going, "1") != 0)
        exit(1);
    g_failures++;
}

static LONG WINAPI on_crash(EXCEPTION_POINTERS *ep)
{
    const EXCEPTION_RECORD *r = ep->ExceptionRecord;
    printf("FAIL %s: uncaught exception %#lx at %p (data address %p)\n", g_case,
           (unsigned long)r->ExceptionCode, r->ExceptionAddress,
           r->NumberParameters >= 2 ? (void *)r->ExceptionInformation[1] : NULL);
    fflush(stdout);
    TerminateProcess(GetCurrentProcess(), 3);
    return EXCEPTION_EXECUTE_HANDLER;
}

static int run_one(Suite *s, const char *name)
{
    for (TCase *tc = s->first; tc != NULL; tc = tc->next) {
        if (tc->linux_only || strcmp(tc->name, name) != 0)
            continue;
        g_case = tc->name;
        SetErrorMode(SEM_FAILCRITICALERRORS | SEM_NOGPFAULTERRORBOX);
        SetUnhandledExceptionFilter(on_crash);
        if (tc->setup != NULL)
            tc->setup();
        tc->test->fn(0);
        if (tc->teardown != NULL)
            tc->teardown();
        if (g_failures != 0)
            return 1;
        printf("PASS %s\n", tc->name);
        fflush(stdout);
        return 0;
    }
    fprintf(stderr, "runner: no built case named %s\n", name);
    return 2;
}

/* Runs one case in a child process; returns true if it passed. */
static bool run_child(const TCase *tc)
{
    char exe[MAX_PATH], cmd[MAX_PATH + 300];
    if (GetModuleFileNameA(NULL, exe, sizeof exe) == 0 ||
        snprintf(cmd, sizeof cmd, "\"%s\" --case %s", exe, tc->name) >= (int)sizeof cmd) {
        printf("FAIL %s: cannot build the child's command line\n", tc->name);
        return false;
    }
    HANDLE out = GetStdHandle(STD_OUTPUT_HANDLE), err = GetStdHandle(STD_ERROR_HANDLE);
    SetHandleInformation(out, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    SetHandleInformation(err, HANDLE_FLAG_INHERIT, HANDLE_FLAG_INHERIT);
    STARTUPINFOA si = {.cb = sizeof si, .dwFlags = STARTF_USESTDHANDLES};
    si.hStdInput = GetStdHandle(STD_INPUT_HANDLE);
    si.hStdOutput = out;
    si.hStdError = err;
    PROCESS_INFORMATION pi;
    fflush(stdout);
    /* Wine's CreateProcess has been seen to fail once with ERROR_INTERNAL_ERROR while the
     * prefix's services start: try again before failing the case. */
    bool started = false;
    for (int attempt = 0; attempt < 3 && !started; attempt++) {
        if (attempt > 0)
            Sleep(1000);
        started = CreateProcessA(exe, cmd, NULL, NULL, TRUE, 0, NULL, NULL, &si, &pi);
    }
    if (!started) {
        printf("FAIL %s: CreateProcess failed, error %lu\n", tc->name,
               (unsigned long)GetLastError());
        return false;
    }
    DWORD code = 0;
    bool done = WaitForSingleObject(pi.hProcess, (DWORD)(tc->timeout * 1000)) == WAIT_OBJECT_0;
    if (!done) {
        TerminateProcess(pi.hProcess, 4);
        WaitForSingleObject(pi.hProcess, INFINITE);
        printf("FAIL %s: timed out after %g s\n", tc->name, tc->timeout);
    }
    GetExitCodeProcess(pi.hProcess, &code);
    CloseHandle(pi.hThread);
    CloseHandle(pi.hProcess);
    if (done && code != 0 && code != 1 && code != 3)
        printf("FAIL %s: exited with status %#lx\n", tc->name, (unsigned long)code);
    return done && code == 0;
}

static int run_all(Suite *s, const char *only)
{
    int built = 0, passed = 0, skipped = 0;
    for (TCase *tc = s->first; tc != NULL; tc = tc->next) {
        if (only != NULL && strcmp(tc->name, only) != 0)
            continue;
        if (tc->linux_only) {
            printf("SKIP %s (Linux-only)\n", tc->name);
            skipped++;
            continue;
        }
        built++;
        passed += run_child(tc);
    }
    printf("SUMMARY %s: %d built, %d passed, %d failed, %d Linux-only\n", s->name, built, passed,
           built - passed, skipped);
    fflush(stdout);
    return passed == built ? EXIT_SUCCESS : EXIT_FAILURE;
}

int hm_test_run(Suite *s)
{
    _setmode(_fileno(stdout), _O_BINARY); /* "\n", not "\r\n": run.sh reads the lines */
    if (__argc == 3 && strcmp(__argv[1], "--case") == 0)
        return run_one(s, __argv[2]);
    if (__argc == 2 && strcmp(__argv[1], "--list") == 0) {
        for (TCase *tc = s->first; tc != NULL; tc = tc->next)
            printf("%s%s\n", tc->name, tc->linux_only ? " (Linux-only)" : "");
        return EXIT_SUCCESS;
    }
    if (__argc != 1) {
        fprintf(stderr, "usage: %s [--list | --case NAME]\n", __argv[0]);
        return 2;
    }
    return run_all(s, getenv("CK_RUN_CASE"));
}
