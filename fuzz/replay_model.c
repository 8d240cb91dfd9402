/*
 * replay_model.c — replay.c's adapter for the model driver.
 */
#include "driver.h"
#include "replay.h"

void hm_replay_init(void)
{
    hm_fuzz_init();
}

void hm_replay_one(const uint8_t *data, size_t size)
{
    hm_fuzz_one(data, size);
}

uint64_t hm_replay_calls(void)
{
    return hm_fuzz_totals()->calls;
}

void hm_replay_report(void)
{
    hm_fuzz_print_totals("replay_model");
}

uint64_t hm_replay_coverage(void)
{
    return hm_fuzz_coverage();
}
