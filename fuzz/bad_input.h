/*
 * bad_input.h — the bad-input fuzzer: every exported function and every IHostMemoryManager
 * / IHostMalloc method, called with hostile pointers, sizes and flags. Asserts no crash and,
 * when the call fails, that nothing changed (bad_args.h snapshots). Calls that succeed are
 * undone (released, destroyed) so the next input starts from the same state.
 *
 * HM_FUZZ_HOSTILE=1 also passes read-only, NOACCESS, reserved, free, kernel and too-short
 * pointers where hostmem reads or writes through them (out-parameters, input structures);
 * HM_FUZZ_FORK=1 makes every call in a forked child and tabulates the crashes instead of
 * stopping (the survey behind fuzz/README.md's table).
 */
#ifndef HM_FUZZ_BAD_INPUT_H
#define HM_FUZZ_BAD_INPUT_H

#include "bad_args.h"

typedef struct hm_bad_call {
    const char *name;
    /* Makes the call; returns true if it failed (by the function's convention). Undoes a
     * success itself. Describes its arguments in desc. */
    bool (*run)(hm_brd_t *r, char *desc, size_t n);
} hm_bad_call_t;

/* The runtimes whose statistics the snapshots include, and their objects. */
extern hm_host_t *hm_bad_host;
extern hm_runtime_t *hm_bad_rt[2];
extern IHostMemoryManager *hm_bad_mgr[2];
extern IHostMalloc *hm_bad_malloc[2];

extern const hm_bad_call_t hm_bad_win32_calls[];
extern const size_t hm_bad_win32_ncalls;
extern const hm_bad_call_t hm_bad_host_calls[];
extern const size_t hm_bad_host_ncalls;

void hm_bad_host_init(void);
/* A compound call's setup succeeded: the state to compare with is the state now. */
void hm_bad_checkpoint(void);
/* ... and the part that must fail has failed: nothing may differ from the checkpoint. */
void hm_bad_verify_unchanged(const char *desc);
/* Puts the victim allocation back as hm_bad_env_init made it (after a call succeeded). */
void hm_bad_restore_victim(void);

typedef struct hm_bad_totals {
    uint64_t inputs, calls, failed, crashes;
} hm_bad_totals_t;

void hm_bad_init(void);
void hm_bad_one(const uint8_t *data, size_t size);
const hm_bad_totals_t *hm_bad_totals(void);
void hm_bad_report(void);
/* Distinct (call, outcome, pointer kinds) seen so far. */
uint64_t hm_bad_coverage(void);

#endif
