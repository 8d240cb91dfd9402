/*
 * replay.h — what replay.c needs from a fuzz target (one small adapter per target).
 */
#ifndef HM_FUZZ_REPLAY_H
#define HM_FUZZ_REPLAY_H

#include <stddef.h>
#include <stdint.h>

void hm_replay_init(void);
void hm_replay_one(const uint8_t *data, size_t size);
uint64_t hm_replay_calls(void);
void hm_replay_report(void);
/* How many distinct behaviours (model rules, call outcomes) the runs so far reached. */
uint64_t hm_replay_coverage(void);

#endif
