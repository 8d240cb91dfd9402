/*
 * bench/report.h — one row of results and the two ways of printing them (table, JSON).
 */
#ifndef HM_BENCH_REPORT_H
#define HM_BENCH_REPORT_H

#include <stdio.h>

#include "timing.h"

typedef enum bench_target_kind {
    BENCH_TARGET_NONE,      /* informational row: no verdict */
    BENCH_TARGET_MAX_RATIO, /* hostmem / raw must be <= target */
    BENCH_TARGET_MAX_HM,    /* hostmem's median must be <= target (absolute, in unit) */
    BENCH_TARGET_MIN_RATIO  /* hostmem / raw must be >= target (higher is better) */
} bench_target_kind_t;

typedef struct bench_result {
    const char *id;        /* stable key for --json, e.g. "reserve_release_64k" */
    const char *name;      /* human label for the table */
    const char *unit;      /* "ns/op", "KiB", "x" */
    const char *raw_label; /* what the raw column measures */
    int has_raw;
    bench_stats_t raw, hm;
    double ratio;        /* hm.p50 / raw.p50, or 0 without raw */
    double paired_ratio; /* median of per-round hm/raw (drift-cancelled); 0 if n/a */
    bench_target_kind_t kind;
    double target;
    const char *target_text; /* e.g. "<= 1.15x raw" */
    int verdict;             /* 1 pass, 0 miss, -1 no target */
    char note[200];
} bench_result_t;

typedef struct bench_header {
    const char *hostmem_version;
    char kernel[400];
    long cpus;
    const char *build_type;
    const char *compiler;
    const char *mode; /* "default" or "quick" */
    char loadavg[64];
    long page_size;
    double seconds; /* wall time of the whole run */
} bench_header_t;

/* Fills verdict (and ratio when has_raw) from the stats and the target. */
void bench_result_judge(bench_result_t *r);

void bench_print_table(FILE *f, const bench_header_t *h, const bench_result_t *r, size_t n);
void bench_print_json(FILE *f, const bench_header_t *h, const bench_result_t *r, size_t n);

#endif /* HM_BENCH_REPORT_H */
