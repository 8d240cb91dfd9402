/*
 * main.c — the hostmem command: dispatches to a subcommand, answers --help and
 * --version, and turns anything it does not understand into a usage error (exit 2).
 *
 * Each subcommand lives in its own file (demo.c, map.c, info.c, bench.c) and parses its own options with
 * hm_tool_parse_flags(), defined here so every subcommand reports usage errors alike.
 * Output goes to stdout; errors to stderr, prefixed "hostmem:".
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hostmem/hostmem.h"

#ifndef HOSTMEM_TOOL_VERSION
#define HOSTMEM_TOOL_VERSION "unknown"
#endif

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *purpose;
} command_t;

static const command_t commands[] = {
    {"demo", hm_tool_demo, "a narrated tour: reserve, commit, protect, guard page, write watch, host"},
    {"map", hm_tool_map, "a process's memory regions in Windows terms (--json too)"},
    {"info", hm_tool_info, "page sizes, engines, limits and privileges hostmem finds here"},
    {"bench", hm_tool_bench, "hostmem against raw Linux syscalls, side by side (--json too)"},
};

#define N_COMMANDS ((int)(sizeof commands / sizeof commands[0]))

static const char help_head[] =
    "usage: hostmem <command> [options]\n"
    "       hostmem --help | --version\n\n"
    "Show the Windows virtual-memory API (VirtualAlloc, VirtualQuery, ...) at work on\n"
    "Linux, through the hostmem library.\n\n"
    "commands:\n";

static const char help_tail[] =
    "\noptions:\n"
    "  -h, --help     show this help ('hostmem <command> --help' for one command)\n"
    "  --version      print the tool's and the library's versions\n\n"
    "example:\n"
    "  hostmem demo\n\n"
    "exit status: 0 ok, 1 failure, 2 usage error\n";

static void print_help(FILE *out)
{
    fputs(help_head, out);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(out, "  %-6s %s\n", commands[i].name, commands[i].purpose);
    fputs(help_tail, out);
}

static void print_version(void)
{
    printf("hostmem %s (libhostmem %s)\n", HOSTMEM_TOOL_VERSION, hm_version_string());
}

static int usage_error(const char *what, const char *arg)
{
    fprintf(stderr, "hostmem: %s '%s'\nTry 'hostmem --help'.\n", what, arg);
    return HM_TOOL_USAGE;
}

int hm_tool_parse_flags(int argc, char **argv, const hm_tool_flag_t *flags, int n_flags,
                        const char *help)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            fputs(help, stdout);
            return HM_TOOL_OK;
        }
        int f = 0;
        while (f < n_flags && strcmp(argv[i], flags[f].name) != 0)
            f++;
        if (f == n_flags) {
            fprintf(stderr, "hostmem %s: %s '%s'\nTry 'hostmem %s --help'.\n", argv[0],
                    argv[i][0] == '-' ? "unknown option" : "unexpected argument", argv[i], argv[0]);
            return HM_TOOL_USAGE;
        }
        *flags[f].set = true;
    }
    return -1;
}

/* A command's exit code, or failure if its output could not be written (disk full...). */
static int finish(int rc)
{
    if (fflush(stdout) != 0 || ferror(stdout)) {
        perror("hostmem: cannot write the output");
        return HM_TOOL_FAILURE;
    }
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        print_help(stderr);
        return HM_TOOL_USAGE;
    }
    const char *arg = argv[1];
    if (!strcmp(arg, "-h") || !strcmp(arg, "--help")) {
        print_help(stdout);
        return HM_TOOL_OK;
    }
    if (!strcmp(arg, "--version")) {
        print_version();
        return HM_TOOL_OK;
    }
    for (int i = 0; i < N_COMMANDS; i++)
        if (!strcmp(arg, commands[i].name))
            return finish(commands[i].run(argc - 1, argv + 1));
    return usage_error(arg[0] == '-' ? "unknown option" : "unknown command", arg);
}
