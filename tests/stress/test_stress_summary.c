/*
 * test_stress_summary.c — the operation count of a whole stress run.
 *
 * Every stress case appends "stress <case>: N operations in S s" to $HM_STRESS_LOG
 * (stress.h). tests/CMakeLists.txt makes the two cases here a ctest fixture around all of
 * them: stress_ops_begin empties the log before any stress case starts, stress_ops_total
 * runs after the last one, prints each line and the total, and asserts the target — one
 * million operations per run — when the run can be judged: every stress case logged
 * (HM_STRESS_CASES of them; a failed case has failed already), the build is optimized
 * (NDEBUG), without a sanitizer or Valgrind (which slow every call many times), and the
 * cases ran their default length (HM_STRESS_SECONDS unset or at least 2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stress.h"

#define TARGET 1000000ull

static const char *log_path(void)
{
    const char *p = getenv("HM_STRESS_LOG");
    return p && *p ? p : NULL;
}

START_TEST(stress_ops_begin)
{
    const char *path = log_path();
    if (!path) {
        printf("HM_STRESS_LOG is not set: nothing to start\n");
        return;
    }
    FILE *f = fopen(path, "we");
    ck_assert_msg(f != NULL, "cannot empty %s", path);
    fclose(f);
}
END_TEST

/* Why this run cannot be judged against the target, or NULL. */
static const char *not_judged(unsigned logged, unsigned expected)
{
#ifndef NDEBUG
    (void)logged;
    (void)expected;
    return "an unoptimized build";
#else
    const char *secs = getenv("HM_STRESS_SECONDS");
    if (STRESS_SANITIZED)
        return "a sanitizer build";
    if (hm_vg_running())
        return "running under Valgrind";
    if (secs && *secs && strtod(secs, NULL) < 2.0)
        return "HM_STRESS_SECONDS below 2";
    if (logged < expected)
        return "not every stress case ran to its end";
    return NULL;
#endif
}

START_TEST(stress_ops_total)
{
    const char *path = log_path();
    if (!path) {
        printf("HM_STRESS_LOG is not set: nothing to add up\n");
        return;
    }
    char *text = stress_slurp(path);
    ck_assert_msg(text != NULL, "cannot read %s", path);
    const char *want = getenv("HM_STRESS_CASES");
    unsigned expected = want ? (unsigned)strtoul(want, NULL, 10) : 0, logged = 0;
    uint64_t total = 0;
    double secs = 0;
    for (char *line = text; line && *line;) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = '\0';
        const char *colon = strstr(line, ": ");
        unsigned long long n;
        double s;
        if (colon && sscanf(colon + 2, "%llu operations in %lf s", &n, &s) == 2) {
            printf("%s\n", line);
            total += n;
            secs += s;
            logged++;
        }
        line = nl ? nl + 1 : NULL;
    }
    free(text);
    const char *why = not_judged(logged, expected);
    printf("stress total: %llu operations in %u of %u cases (%.1f case-seconds)%s%s\n",
           (unsigned long long)total, logged, expected, secs, why ? "; not judged: " : "",
           why ? why : "");
    if (!why)
        ck_assert_msg(total >= TARGET, "the stress cases ran %llu operations, the target is %llu",
                      (unsigned long long)total, TARGET);
}
END_TEST

static Suite *make_suite(void)
{
    Suite *s = suite_create("stress_summary");
    hm_add(s, tcase_create("stress_ops_begin"), stress_ops_begin);
    hm_add(s, tcase_create("stress_ops_total"), stress_ops_total);
    return s;
}

HM_TEST_MAIN(make_suite)
