/*
 * bench.c — `hostmem bench [--json] ...`: the scenarios of bench/ (hm_bench), run by the
 * tool: hostmem's calls and the raw Linux syscalls side by side in one process, ratios
 * printed, a progress line on stderr while it runs. Options and output are hm_bench's.
 */
#include "bench.h"
#include "cli.h"

int hm_tool_bench(int argc, char **argv)
{
    return hm_bench_main("hostmem bench", argc, argv);
}
