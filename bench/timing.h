/*
 * bench/timing.h — the clock and the order statistics every benchmark shares.
 *
 * Owns: bench_now_ns() (CLOCK_MONOTONIC in nanoseconds) and bench_stats() (p10 / median /
 * p90 of a sample array, nearest rank on the sorted copy). Invariant: p10 <= p50 <= p90 and
 * each is an element of the samples. Calls only libc; no locking (one caller at a time, or
 * per-thread arrays).
 */
#ifndef HM_BENCH_TIMING_H
#define HM_BENCH_TIMING_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static inline uint64_t bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

typedef struct bench_stats {
    double p10, p50, p90;
    size_t n;
} bench_stats_t;

static int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Order statistics of v[0..n); v is left sorted. n == 0 gives all zeros. */
static inline bench_stats_t bench_stats(double *v, size_t n)
{
    bench_stats_t s = {0, 0, 0, n};
    if (n == 0)
        return s;
    qsort(v, n, sizeof v[0], bench_cmp_double);
    s.p10 = v[(size_t)(0.10 * (double)(n - 1) + 0.5)];
    s.p50 = v[(size_t)(0.50 * (double)(n - 1) + 0.5)];
    s.p90 = v[(size_t)(0.90 * (double)(n - 1) + 0.5)];
    return s;
}

/* A single measurement as a degenerate sample (p10 = p50 = p90 = x). */
static inline bench_stats_t bench_stats_one(double x)
{
    bench_stats_t s = {x, x, x, 1};
    return s;
}

#endif /* HM_BENCH_TIMING_H */
