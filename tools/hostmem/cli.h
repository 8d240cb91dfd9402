/*
 * cli.h — what the hostmem tool's subcommands share: exit codes, entry points, and the
 * option loop every subcommand runs (--help prints its help, anything unknown is a usage
 * error).
 */
#ifndef HM_TOOL_CLI_H
#define HM_TOOL_CLI_H

#include <stdbool.h>

/* Exit codes of every subcommand. */
enum { HM_TOOL_OK = 0, HM_TOOL_FAILURE = 1, HM_TOOL_USAGE = 2 };

/* One subcommand: argv[0] is its name. Returns an exit code. */
int hm_tool_demo(int argc, char **argv);
int hm_tool_map(int argc, char **argv);
int hm_tool_info(int argc, char **argv);
int hm_tool_bench(int argc, char **argv);

/* A subcommand's flags: name (e.g. "--json") and where to record that it was given. */
typedef struct hm_tool_flag {
    const char *name;
    bool *set;
} hm_tool_flag_t;

/*
 * Parses argv[1..] against flags (n_flags of them). Returns -1 to go on, or an exit code:
 * HM_TOOL_OK after printing help (for -h/--help), HM_TOOL_USAGE after a message on stderr.
 */
int hm_tool_parse_flags(int argc, char **argv, const hm_tool_flag_t *flags, int n_flags,
                        const char *help);

#endif
