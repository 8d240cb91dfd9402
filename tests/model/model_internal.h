/*
 * model_internal.h — helpers shared by the model's files (not for the driver).
 */
#ifndef HM_MODEL_INTERNAL_H
#define HM_MODEL_INTERNAL_H

#include "model.h"

typedef void (*m_run_fn)(m_model_t *m, m_alloc_t *a, m_page_t *p, uint64_t bytes,
                         const void *arg);
typedef bool (*m_scan_fn)(const m_page_t *p, uint64_t lo, uint64_t hi, void *arg);

void m_each_run(m_model_t *m, m_alloc_t *a, uint64_t lo, uint64_t hi, m_run_fn fn,
                const void *arg);
bool m_scan(const m_alloc_t *a, uint64_t lo, uint64_t hi, m_scan_fn fn, void *arg);
m_alloc_t *m_insert_alloc(m_model_t *m, uint64_t base, uint64_t end, uint32_t alloc_prot);
void m_remove_alloc(m_model_t *m, m_alloc_t *a);
const m_alloc_t *m_next_alloc(const m_model_t *m, uint64_t addr);
bool m_overlaps_alloc(const m_model_t *m, uint64_t lo, uint64_t hi);
bool m_range_known_free(const m_model_t *m, uint64_t lo, uint64_t hi);

/* ---- rules shared by several calls (model_rules.c) ---------------------------------- */
enum m_prot_use { M_PROT_ALLOC, M_PROT_PROTECT };
bool m_prot_valid(uint32_t prot, enum m_prot_use use);
bool m_prot_executable(uint32_t prot);
/* The protection a page shows after commit/VirtualProtect (CFG bit dropped). */
uint32_t m_prot_stored(uint32_t prot);


/* Outcome helpers for predictions. */
void m_fail(m_expect_t *x, uint32_t error, const char *rule);
void m_succeed(m_expect_t *x, uint64_t ret, const char *rule);
void m_unmodelled(m_expect_t *x, const char *why);

/* Per-call predictors (one file each). */
void m_predict_alloc(const m_model_t *m, const m_call_t *c, m_expect_t *x);
void m_predict_alloc2(const m_model_t *m, const m_call_t *c, m_expect_t *x);
void m_predict_free(const m_model_t *m, const m_call_t *c, m_expect_t *x);
void m_predict_protect(const m_model_t *m, const m_call_t *c, m_expect_t *x);
void m_predict_lock(const m_model_t *m, const m_call_t *c, m_expect_t *x);
void m_predict_unlock(const m_model_t *m, const m_call_t *c, m_expect_t *x);
void m_predict_query(const m_model_t *m, const m_call_t *c, m_expect_t *x);
void m_predict_get_watch(const m_model_t *m, const m_call_t *c, m_expect_t *x);
void m_predict_reset_watch(const m_model_t *m, const m_call_t *c, m_expect_t *x);

/* Shared pieces of the alloc predictors. */
bool m_charge_ok(const m_model_t *m, uint64_t more, m_expect_t *x);
bool m_check_combination(const m_model_t *m, uint32_t t, uint32_t prot, m_expect_t *x);
void m_predict_reserve_at(const m_model_t *m, uint64_t addr, uint64_t size, uint32_t type,
                          uint32_t prot, m_expect_t *x);
void m_predict_reserve_anywhere(const m_model_t *m, uint64_t size, uint32_t type, uint32_t prot,
                                m_expect_t *x);
void m_predict_commit(const m_model_t *m, uint64_t addr, uint64_t size, uint32_t prot,
                      m_expect_t *x);
void m_predict_reset(const m_model_t *m, uint64_t addr, uint64_t size, bool undo,
                     m_expect_t *x);
/* Bytes of pages in [lo, hi) of a that are not committed yet. */
uint64_t m_uncommitted_bytes(const m_alloc_t *a, uint64_t lo, uint64_t hi);

/* Applying effects (model_apply.c). */
void m_apply_effect(m_model_t *m, const m_effect_t *e, uint64_t learned_base,
                    const m_result_t *actual, bool ok);

#endif
