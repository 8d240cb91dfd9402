/*
 * fuzz_bad_input.c — libFuzzer target: bad input for every public function (bad_input.h).
 */
#include <stdlib.h>

#include "bad_input.h"

/* Under ASan, a huge allocation returns NULL (hostmem then answers 8) instead of aborting. */
const char *__asan_default_options(void);
__attribute__((used)) const char *__asan_default_options(void)
{
    return "allocator_may_return_null=1";
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    hm_bad_init();
    atexit(hm_bad_report);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    hm_bad_one(data, size);
    return 0;
}
