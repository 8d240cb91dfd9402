/*
 * check.h (tests/wine) — the part of the Check unit-test API that tests/win32/test_*.c use,
 * for their Windows build under Wine (there is no Check on Windows). START_TEST defines a
 * TTest the way Check does, so tests/support/testlib.h compiles unchanged; the runner
 * (runner.c) runs every case in its own child process, as Check's fork mode does on Linux,
 * and prints one line per case: PASS, FAIL (with the assertion text) or SKIP (Linux-only).
 * A failed assertion ends the child process (HM_WINE_KEEP_GOING=1: the case goes on, to show
 * every assertion Wine fails); fixtures run around the case in the child.
 */
#ifndef HM_WINE_CHECK_H
#define HM_WINE_CHECK_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct TTest {
    const char *name;
    void (*fn)(int);
    const char *file;
    int line;
} TTest;
typedef struct TCase TCase;
typedef struct Suite Suite;
typedef void (*SFun)(void);

#define START_TEST(name_)                                                                  \
    static void name_##_fn(int _i __attribute__((unused)));                                \
    static const TTest name_##_ttest = {#name_, name_##_fn, __FILE__, __LINE__};            \
    static const TTest *name_ = &name_##_ttest;                                            \
    static void name_##_fn(int _i __attribute__((unused)))
#define END_TEST

Suite *suite_create(const char *name);
void suite_add_tcase(Suite *s, TCase *tc);
TCase *tcase_create(const char *name);
void tcase_add_test(TCase *tc, const TTest *t);
void tcase_add_checked_fixture(TCase *tc, SFun setup, SFun teardown);
void tcase_set_timeout(TCase *tc, double seconds);

/* Registers a case the Windows build leaves out (HM_LINUX_ONLY in testlib.h). */
void hm_wine_linux_only(const char *registration);

/* Prints "FAIL <case>: file:line: what[: message]" and ends the case's process (or, with
 * HM_WINE_KEEP_GOING=1, returns so that every failing assertion of the case is printed). */
void hm_wine_fail(const char *file, int line, const char *what, const char *fmt, ...);

#define ck_assert_msg(expr, ...) \
    ((expr) ? (void)0 : hm_wine_fail(__FILE__, __LINE__, "Assertion '" #expr "' failed", __VA_ARGS__))
#define ck_assert(expr) ck_assert_msg(expr, NULL)
#define ck_abort_msg(...) hm_wine_fail(__FILE__, __LINE__, "Failed", __VA_ARGS__)
#define ck_abort() ck_abort_msg(NULL)
#define mark_point() ((void)0)

#define hm_ck_cmp(X, OP, Y, T, FMT)                                                         \
    do {                                                                                   \
        T ck_x_ = (X);                                                                     \
        T ck_y_ = (Y);                                                                     \
        if (!(ck_x_ OP ck_y_))                                                             \
            hm_wine_fail(__FILE__, __LINE__, "Assertion '" #X " " #OP " " #Y "' failed",   \
                         "%s == " FMT ", %s == " FMT, #X, ck_x_, #Y, ck_y_);               \
    } while (0)

#define ck_assert_int_eq(X, Y) hm_ck_cmp(X, ==, Y, intmax_t, "%jd")
#define ck_assert_int_ne(X, Y) hm_ck_cmp(X, !=, Y, intmax_t, "%jd")
#define ck_assert_int_lt(X, Y) hm_ck_cmp(X, <, Y, intmax_t, "%jd")
#define ck_assert_int_le(X, Y) hm_ck_cmp(X, <=, Y, intmax_t, "%jd")
#define ck_assert_int_gt(X, Y) hm_ck_cmp(X, >, Y, intmax_t, "%jd")
#define ck_assert_int_ge(X, Y) hm_ck_cmp(X, >=, Y, intmax_t, "%jd")
#define ck_assert_uint_eq(X, Y) hm_ck_cmp(X, ==, Y, uintmax_t, "%ju")
#define ck_assert_uint_ne(X, Y) hm_ck_cmp(X, !=, Y, uintmax_t, "%ju")
#define ck_assert_uint_lt(X, Y) hm_ck_cmp(X, <, Y, uintmax_t, "%ju")
#define ck_assert_uint_le(X, Y) hm_ck_cmp(X, <=, Y, uintmax_t, "%ju")
#define ck_assert_uint_gt(X, Y) hm_ck_cmp(X, >, Y, uintmax_t, "%ju")
#define ck_assert_uint_ge(X, Y) hm_ck_cmp(X, >=, Y, uintmax_t, "%ju")
#define ck_assert_ptr_eq(X, Y) hm_ck_cmp(X, ==, Y, const void *, "%p")
#define ck_assert_ptr_ne(X, Y) hm_ck_cmp(X, !=, Y, const void *, "%p")
#define ck_assert_ptr_null(X) hm_ck_cmp(X, ==, NULL, const void *, "%p")
#define ck_assert_ptr_nonnull(X) hm_ck_cmp(X, !=, NULL, const void *, "%p")

#define hm_ck_str(X, OP, Y)                                                                 \
    do {                                                                                   \
        const char *ck_x_ = (X), *ck_y_ = (Y);                                             \
        if (!(strcmp(ck_x_, ck_y_) OP 0))                                                  \
            hm_wine_fail(__FILE__, __LINE__, "Assertion '" #X " " #OP " " #Y "' failed",   \
                         "%s == \"%s\", %s == \"%s\"", #X, ck_x_, #Y, ck_y_);              \
    } while (0)
#define ck_assert_str_eq(X, Y) hm_ck_str(X, ==, Y)
#define ck_assert_str_ne(X, Y) hm_ck_str(X, !=, Y)

#define hm_ck_mem(X, OP, Y, L)                                                              \
    do {                                                                                   \
        if (!(memcmp((X), (Y), (L)) OP 0))                                                 \
            hm_wine_fail(__FILE__, __LINE__,                                               \
                         "Assertion '" #X " " #OP " " #Y "' failed", "over %zu bytes",      \
                         (size_t)(L));                                                     \
    } while (0)
#define ck_assert_mem_eq(X, Y, L) hm_ck_mem(X, ==, Y, L)
#define ck_assert_mem_ne(X, Y, L) hm_ck_mem(X, !=, Y, L)

#endif
