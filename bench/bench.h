/*
 * bench/bench.h — what scenario files share with hm_bench.c: the paired measurement,
 * the quick/normal scaling of iteration counts, and the fatal-error exit.
 */
#ifndef HM_BENCH_BENCH_H
#define HM_BENCH_BENCH_H

#include <stddef.h>

#include "report.h"

typedef void (*batch_fn)(void *ctx, size_t n);

/* Times raw and hostmem batches in alternating rounds; fills r->raw, r->hm, ratios. */
void measure_pair(bench_result_t *r, batch_fn raw, void *raw_ctx, batch_fn hm, void *hm_ctx,
                  size_t batch, size_t rounds);
size_t scaled(size_t normal, size_t quick);
_Noreturn void die(const char *what);

/* The whole benchmark with its command line (argv[0] ignored); prog names it in --help
 * ("hm_bench", or "hostmem bench" when the tool runs it). Returns the exit code. */
int hm_bench_main(const char *prog, int argc, char **argv);

/* host_bench.c */
void bench_host_valloc(bench_result_t *r);
void bench_host_malloc(bench_result_t *r);

/* watch_bench.c: the write-watch rows (5 of them) into r[0..]; returns how many it filled
 * (0 where the kernel has no userfaultfd async write-protect to compare with). */
size_t bench_watch(bench_result_t *r);

#endif
