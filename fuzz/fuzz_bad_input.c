/*
 * fuzz_bad_input.c — libFuzzer target: bad input for every public function (bad_input.h).
 */
#include <stdlib.h>

#include "bad_input.h"

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
