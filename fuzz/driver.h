/*
 * driver.h — the model fuzzer's driver: decodes an input into Win32 memory calls with
 * adversarial arguments, makes each call on hostmem and asks the reference model
 * (tests/model/) what it must have done: return value, last error, out-parameters, the
 * VirtualQuery map of the touched range, hostmem's statistics and page contents.
 *
 * Every input starts from the same state (two pinned fence reservations around a private
 * arena) and is undone at its end, so inputs are independent. A divergence prints the
 * input's calls as C source and aborts (libFuzzer keeps the input; replay fails).
 * Single-threaded.
 */
#ifndef HM_FUZZ_DRIVER_H
#define HM_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>

typedef struct hm_fuzz_totals {
    uint64_t inputs;
    uint64_t calls;       /* API calls made and compared */
    uint64_t skipped;     /* decoded calls the model does not predict (not made) */
    uint64_t memory_ops;  /* page writes and content checks */
    uint64_t probes;      /* forked fault / guard probes */
    uint64_t map_checks;  /* VirtualQuery regions compared */
    uint64_t divergences; /* always 0 when the run completes: the first one aborts */
    uint64_t by_op[16], ok_by_op[16]; /* calls and successes per m_op_t */
} hm_fuzz_totals_t;

/* Sets up the arena and the fences (once). */
void hm_fuzz_init(void);
/* Runs one input from the clean state and returns to it. */
void hm_fuzz_one(const uint8_t *data, size_t size);
const hm_fuzz_totals_t *hm_fuzz_totals(void);
void hm_fuzz_print_totals(const char *who);
/* Distinct model rules that decided a call so far, and (op, outcome) pairs. */
uint64_t hm_fuzz_coverage(void);

#endif
