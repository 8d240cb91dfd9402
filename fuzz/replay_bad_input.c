/*
 * replay_bad_input.c — replay.c's adapter for the bad-input driver.
 */
#include "bad_input.h"
#include "replay.h"

void hm_replay_init(void)
{
    hm_bad_init();
}

void hm_replay_one(const uint8_t *data, size_t size)
{
    hm_bad_one(data, size);
}

uint64_t hm_replay_calls(void)
{
    return hm_bad_totals()->calls;
}

void hm_replay_report(void)
{
    hm_bad_report();
}

uint64_t hm_replay_coverage(void)
{
    return hm_bad_coverage();
}
