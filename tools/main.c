/*
 * The `utcp` command: dispatches to subcommands. Each subcommand lives in its
 * own file and registers here; unknown subcommands and bad arguments print a
 * clear message and exit non-zero.
 */
#include <stdio.h>
#include <string.h>

#include "tools.h"

static const struct utcp_tool tools[] = {
#define UTCP_TOOL_ENTRY_(name, fn, help) {name, fn, help},
    UTCP_TOOLS(UTCP_TOOL_ENTRY_)
#undef UTCP_TOOL_ENTRY_
};

static void usage(FILE *f)
{
    fprintf(f, "usage: utcp COMMAND [ARGS...]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        fprintf(f, "  %-10s %s\n", tools[i].name, tools[i].help);
    fprintf(f, "\n`utcp COMMAND --help` describes each command.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version")) {
        printf("utcp %s\n", UTCP_VERSION_STRING);
        return 0;
    }
    for (size_t i = 0; i < sizeof tools / sizeof tools[0]; i++)
        if (!strcmp(argv[1], tools[i].name))
            return tools[i].run(argc - 1, argv + 1);
    fprintf(stderr, "utcp: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return 2;
}
