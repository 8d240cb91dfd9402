/*
 * testlib.c — suite runner and fault probes for the Check suites (see testlib.h).
 */
#include "testlib.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int hm_test_run(Suite *s)
{
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

static int probe(volatile void *addr, bool write)
{
    pid_t pid = fork();
    if (pid == 0) {
        if (write)
            *(volatile char *)addr = 1;
        else
            (void)*(volatile const char *)addr;
        _exit(0);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid)
        return -1;
    return WIFSIGNALED(st) ? WTERMSIG(st) : 0;
}

int hm_probe_read(const volatile void *addr)
{
    return probe((volatile void *)addr, false);
}

int hm_probe_write(volatile void *addr)
{
    return probe(addr, true);
}
