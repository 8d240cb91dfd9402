/*
 * test_verbose.c — HOSTMEM_VERBOSE: with it set to a value other than "0", every failed
 * Win32 call logs one line to stderr naming the call, its address and size, the Win32
 * error and the reason; unset or "0", nothing is printed; successful calls never print.
 *
 * The variable is read once per process, so each case re-executes this program with the
 * environment under test (HM_VERBOSE_CHILD selects the child's work) and reads its stderr.
 * HM_LINUX_ONLY_FILE: HOSTMEM_VERBOSE is hostmem's own logging (fork, /proc/self/exe).
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testlib.h"

/* The child: two failures and one success. */
static int child_main(void)
{
    VirtualFree((void *)0x12340000, 0x1000, MEM_RELEASE); /* 87: size must be 0 */
    void *p = VirtualAlloc(NULL, 0x10000, MEM_RESERVE, PAGE_READWRITE);
    if (!p)
        return 3;
    DWORD old;
    VirtualProtect(p, 0x2000, PAGE_READONLY, &old); /* 487: not committed */
    VirtualFree(p, 0, MEM_RELEASE);
    return 0;
}

/* Runs the child with HOSTMEM_VERBOSE = value (NULL: unset); returns its stderr. */
static char *run_child(const char *value)
{
    char tmpl[] = "/tmp/hm_verbose_XXXXXX";
    int fd = mkstemp(tmpl);
    ck_assert_int_ge(fd, 0);
    unlink(tmpl);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        dup2(fd, STDERR_FILENO);
        setenv("HM_VERBOSE_CHILD", "1", 1);
        if (value)
            setenv("HOSTMEM_VERBOSE", value, 1);
        else
            unsetenv("HOSTMEM_VERBOSE");
        execl(hm_test_self_exe(), "test_verbose", (char *)NULL);
        _exit(127);
    }
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status %#x", status);
    off_t len = lseek(fd, 0, SEEK_END);
    char *buf = calloc(1, (size_t)len + 1);
    ck_assert_int_eq(pread(fd, buf, (size_t)len, 0), len);
    close(fd);
    return buf;
}

START_TEST(verbose_logs_each_failure_with_address_size_and_reason)
{
    char *err = run_child("1");
    ck_assert_msg(strstr(err, "hostmem: VirtualFree(0x12340000, 0x1000) failed: error 87 "
                              "(invalid parameter)\n") != NULL,
                  "stderr: %s", err);
    const char *prot = strstr(err, "hostmem: VirtualProtect(0x");
    ck_assert_msg(prot != NULL, "stderr: %s", err);
    ck_assert_msg(strstr(prot, ", 0x2000) failed: error 487 (") != NULL, "stderr: %s", err);
    int lines = 0;
    for (const char *c = err; *c; c++)
        lines += *c == '\n';
    ck_assert_int_eq(lines, 2); /* the two failures; VirtualAlloc and the release succeeded */
    free(err);
}
END_TEST

START_TEST(verbose_unset_or_zero_prints_nothing)
{
    char *err = run_child(NULL);
    ck_assert_str_eq(err, "");
    free(err);
    err = run_child("0");
    ck_assert_str_eq(err, "");
    free(err);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("verbose");
    hm_add(s, tcase_create("verbose_logs_each_failure_with_address_size_and_reason"),
           verbose_logs_each_failure_with_address_size_and_reason);
    hm_add(s, tcase_create("verbose_unset_or_zero_prints_nothing"),
           verbose_unset_or_zero_prints_nothing);
    return s;
}

int main(void)
{
    if (getenv("HM_VERBOSE_CHILD"))
        return child_main();
    return hm_test_run(make_suite());
}
