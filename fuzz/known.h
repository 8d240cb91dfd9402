/*
 * known.h — divergences already reported and tolerated (see known.c).
 */
#ifndef HM_FUZZ_KNOWN_H
#define HM_FUZZ_KNOWN_H

#include <stdbool.h>
#include <stdio.h>

#include "model.h"

/* The index of the known divergence this is, or -1. */
int hm_known_divergence(const m_call_t *c, const m_expect_t *x, const m_result_t *r);
void hm_known_report(FILE *f);
/* Calls a known bug makes too costly to run (K4: gigabytes of memory); not strict only. */
bool hm_known_avoid(const m_call_t *c);

#endif
