/*
 * decode.h — turns fuzzer bytes into steps: Win32 calls with adversarial arguments
 * (addresses inside, beside and outside the live allocations and the arena, sizes near 0,
 * page and granule boundaries and SIZE_MAX, every flag and protection bit pattern), and
 * the driver's own actions (page writes and reads, forked probes, map checks, commit
 * limits). Reads past the end of the input as zeros; pure (no calls into hostmem).
 */
#ifndef HM_FUZZ_DECODE_H
#define HM_FUZZ_DECODE_H

#include <stdbool.h>

#include "model.h"

typedef struct hm_rd {
    const uint8_t *p;
    size_t n, i;
} hm_rd_t;

typedef enum hm_step_kind {
    HM_STEP_CALL,
    HM_STEP_WRITE,  /* fill the page at addr with tag */
    HM_STEP_READ,   /* check the page at addr */
    HM_STEP_PROBE,  /* touch the page at addr in a forked child (write if probe_write) */
    HM_STEP_MAP,    /* compare the whole model map */
    HM_STEP_LIMIT,  /* set the commit limit */
} hm_step_kind_t;

typedef struct hm_step {
    hm_step_kind_t kind;
    m_call_t call;
    uint64_t addr;
    uint8_t tag;
    bool probe_write;
    uint64_t limit;
} hm_step_t;

typedef struct hm_decode_ctx {
    const m_model_t *m;
    uint64_t arena_lo, arena_hi; /* the known-free window (fences outside it) */
    uint64_t last_ret;           /* what the last successful allocation returned */
    uint64_t last_addr, last_size; /* the previous call's arguments */
    uint32_t features;           /* M_FEAT_* the decoder may use */
} hm_decode_ctx_t;

bool hm_rd_done(const hm_rd_t *r);
void hm_decode_step(hm_rd_t *r, const hm_decode_ctx_t *ctx, hm_step_t *out);

#endif
