/*
 * bench/main.c — the hm_bench program: the benchmark (hm_bench.c) as its own command.
 * `hostmem bench` runs the same code from the hostmem tool.
 */
#include "bench.h"

int main(int argc, char **argv)
{
    return hm_bench_main("hm_bench", argc, argv);
}
