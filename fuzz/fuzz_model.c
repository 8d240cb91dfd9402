/*
 * fuzz_model.c — libFuzzer target: hostmem against the reference model (driver.c).
 * Prints the totals (calls made, divergences) when libFuzzer exits.
 */
#include <stdlib.h>

#include "driver.h"

/* Under ASan, a huge allocation returns NULL (hostmem then answers 8) instead of aborting. */
const char *__asan_default_options(void);
__attribute__((used)) const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void report(void)
{
    hm_fuzz_print_totals("fuzz_model");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hm_fuzz_init();
    atexit(report);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hm_fuzz_one(data, size);
    return 0;
}
