/*
 * test_env.c — every HOSTMEM_* environment variable, as a user sets it: each case starts a
 * fresh process (the variables are read once per process) with one variable set and
 * checks both what `hostmem info --json` reports and what the library then does.
 * (HOSTMEM_VERBOSE has its own suite, tests/win32/test_verbose.c; the write-watch suite
 * also runs whole under HOSTMEM_WRITE_WATCH=mprotect.)
 *
 * Children: the tool (found next to this test in the build tree, or $HOSTMEM_TOOL), or
 * this program re-executed with HM_ENV_CHILD naming the work to do.
 */
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

#define MIB ((SIZE_T)1 << 20)

static const char *tool_path(void)
{
    static char path[PATH_MAX];
    const char *env = getenv("HOSTMEM_TOOL");
    if (env && *env)
        return env;
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    ck_assert_int_gt(n, 0);
    self[n] = '\0';
    snprintf(path, sizeof path, "%s/../tools/hostmem", dirname(self));
    return path;
}

/* Runs path argv with name=value (value NULL: unset); returns stdout, *status the exit. */
static char *run_with(const char *name, const char *value, const char *path, char *const argv[],
                      int *status)
{
    char tmpl[] = "/tmp/hm_env_XXXXXX";
    int fd = mkstemp(tmpl);
    ck_assert_int_ge(fd, 0);
    unlink(tmpl);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fd, STDOUT_FILENO);
        if (value)
            setenv(name, value, 1);
        else
            unsetenv(name);
        execv(path, argv);
        _exit(127);
    }
    ck_assert_int_eq(waitpid(pid, status, 0), pid);
    off_t len = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)len + 1);
    ck_assert_int_eq(pread(fd, buf, (size_t)len, 0), len);
    close(fd);
    return buf;
}

/* `hostmem info --json` with name=value; asserts it contains want. */
static void info_has(const char *name, const char *value, const char *want)
{
    char *const argv[] = {"hostmem", "info", "--json", NULL};
    int status;
    char *out = run_with(name, value, tool_path(), argv, &status);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "hostmem info: %#x", status);
    ck_assert_msg(strstr(out, want) != NULL, "%s=%s: no '%s' in:\n%s", name, value ? value : "(unset)",
                  want, out);
    free(out);
}

/* This program again, doing `work` with name=value; returns its exit status. */
static int child_status(const char *work, const char *name, const char *value)
{
    setenv("HM_ENV_CHILD", work, 1);
    char *const argv[] = {"test_env", NULL};
    int status;
    free(run_with(name, value, hm_test_self_exe(), argv, &status));
    unsetenv("HM_ENV_CHILD");
    ck_assert_msg(WIFEXITED(status), "child died: %#x", status);
    return WEXITSTATUS(status);
}

/* ---- HOSTMEM_COMMIT_LIMIT --------------------------------------------------------------- */

START_TEST(commit_limit_env_sets_the_limit_and_commits_past_it_fail_with_1455)
{
    info_has("HOSTMEM_COMMIT_LIMIT", "64M", "\"commit_limit\": 67108864,");
    info_has("HOSTMEM_COMMIT_LIMIT", "1G", "\"commit_limit\": 1073741824,");
    ck_assert_int_eq(child_status("commit_limit", "HOSTMEM_COMMIT_LIMIT", "64M"), 0);
}
END_TEST

static int child_commit_limit(void)
{
    if (hm_commit_limit() != 64 * MIB)
        return 1;
    void *a = VirtualAlloc(NULL, 48 * MIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (!a)
        return 2;
    void *b = VirtualAlloc(NULL, 32 * MIB, MEM_RESERVE | MEM_COMMIT, PAGE_READWRITE);
    if (b || GetLastError() != ERROR_COMMITMENT_LIMIT)
        return 3;
    return VirtualFree(a, 0, MEM_RELEASE) ? 0 : 4;
}

START_TEST(commit_limit_env_that_does_not_parse_is_ignored)
{
    /* The kernel's CommitLimit applies instead: not the bogus value, and not "none". */
    char *const argv[] = {"hostmem", "info", "--json", NULL};
    int status;
    char *out = run_with("HOSTMEM_COMMIT_LIMIT", "lots", tool_path(), argv, &status);
    ck_assert_int_eq(WEXITSTATUS(status), 0);
    const char *p = strstr(out, "\"commit_limit\": ");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_gt(strtoll(p + 16, NULL, 10), 0);
    free(out);
}
END_TEST

/* ---- HOSTMEM_WRITE_WATCH ---------------------------------------------------------------- */

START_TEST(write_watch_env_chooses_the_engine)
{
    info_has("HOSTMEM_WRITE_WATCH", "mprotect", "\"write_watch_engine\": \"mprotect\",");
    info_has("HOSTMEM_WRITE_WATCH", "mprotect", "\"write_watch_reason\": \"HOSTMEM_WRITE_WATCH=mprotect\",");
    info_has("HOSTMEM_WRITE_WATCH", NULL, "\"write_watch_engine\": \"kernel\",");
    info_has("HOSTMEM_WRITE_WATCH", "auto", "\"write_watch_engine\": \"kernel\",");
    info_has("HOSTMEM_WRITE_WATCH", "kernel", "\"write_watch_engine\": \"kernel\",");
    ck_assert_int_eq(child_status("watch_mprotect", "HOSTMEM_WRITE_WATCH", "mprotect"), 0);
}
END_TEST

/* Under the mprotect engine a watched page not yet written is read-only to the kernel. */
static int child_watch_mprotect(void)
{
    const char *why;
    if (strcmp(hm_write_watch_engine(&why), "mprotect") != 0)
        return 1;
    char *p = VirtualAlloc(NULL, 4 * P, MEM_RESERVE | MEM_COMMIT | MEM_WRITE_WATCH, PAGE_READWRITE);
    if (!p)
        return 2;
    p[P] = 1;
    PVOID addrs[4];
    ULONG_PTR n = 4;
    DWORD gran;
    if (GetWriteWatch(0, p, 4 * P, addrs, &n, &gran) != 0 || n != 1 || addrs[0] != p + P)
        return 3;
    return VirtualFree(p, 0, MEM_RELEASE) ? 0 : 4;
}

/* ---- HOSTMEM_LARGE_PAGES ---------------------------------------------------------------- */

START_TEST(large_pages_env_chooses_the_empty_pool_policy)
{
    info_has("HOSTMEM_LARGE_PAGES", NULL, "\"large_page_policy\": \"hugetlb\",");
    info_has("HOSTMEM_LARGE_PAGES", "thp", "\"large_page_policy\": \"thp\",");
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("env");
    hm_add(s, tcase_create("env_commit_limit_sets_the_limit"),
           commit_limit_env_sets_the_limit_and_commits_past_it_fail_with_1455);
    hm_add(s, tcase_create("env_commit_limit_unparsable_is_ignored"),
           commit_limit_env_that_does_not_parse_is_ignored);
    hm_add(s, tcase_create("env_write_watch_chooses_the_engine"), write_watch_env_chooses_the_engine);
    hm_add(s, tcase_create("env_large_pages_chooses_the_policy"),
           large_pages_env_chooses_the_empty_pool_policy);
    return s;
}

int main(void)
{
    const char *work = getenv("HM_ENV_CHILD");
    if (work && !strcmp(work, "commit_limit"))
        return child_commit_limit();
    if (work && !strcmp(work, "watch_mprotect"))
        return child_watch_mprotect();
    return hm_test_run(make_suite());
}
