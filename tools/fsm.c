/*
 * `utcp fsm`: the engine's own transition table (src/tcp/fsm.c, RFC 9293
 * figure 5 and section 3.10) printed as text or as a Graphviz DOT diagram.
 * Nothing here is hand-drawn: both come from utcp_transitions().
 */
#include <stdio.h>
#include <string.h>

#include "tools.h"
#include "utcp/trace.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: utcp fsm [--dot]\n\n"
               "Prints every legal state transition of the TCP engine with "
               "its cause.\n"
               "  --dot   emit the state diagram in Graphviz DOT (pipe to "
               "`dot -Tsvg`)\n"
               "  --all   include the STACK_DESTROY edges (omitted from the "
               "diagram by default)\n");
}

static void print_dot(bool all)
{
    size_t n;
    const struct utcp_transition *t = utcp_transitions(&n);
    printf("digraph tcp {\n"
           "  label=\"TCP connection states (RFC 9293), from utcp's "
           "transition table\";\n"
           "  rankdir=TB; node [shape=box, style=rounded, fontname=Helvetica];"
           "\n  edge [fontname=Helvetica, fontsize=9];\n");
    for (int st = 0; st < UTCP_STATE_COUNT; st++)
        printf("  %s;\n", utcp_state_name(st));
    /* one edge per (from, to) pair, its causes stacked in the label */
    for (size_t i = 0; i < n; i++) {
        if (!all && t[i].cause == UTCP_CAUSE_STACK_DESTROY)
            continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = t[j].from == t[i].from && t[j].to == t[i].to &&
                   (all || t[j].cause != UTCP_CAUSE_STACK_DESTROY);
        if (seen)
            continue;
        printf("  %s -> %s [label=\"", utcp_state_name(t[i].from),
               utcp_state_name(t[i].to));
        const char *sep = "";
        for (size_t j = i; j < n; j++) {
            if (t[j].from != t[i].from || t[j].to != t[i].to ||
                (!all && t[j].cause == UTCP_CAUSE_STACK_DESTROY))
                continue;
            printf("%s%s", sep, utcp_cause_text(t[j].cause));
            sep = "\\n";
        }
        printf("\"];\n");
    }
    printf("}\n");
}

int utcp_tool_fsm(int argc, char **argv)
{
    bool dot = false, all = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dot")) {
            dot = true;
        } else if (!strcmp(argv[i], "--all")) {
            all = true;
        } else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "utcp fsm: unknown argument '%s'\n", argv[i]);
            usage(stderr);
            return 2;
        }
    }
    if (dot) {
        print_dot(all);
        return 0;
    }
    size_t n;
    const struct utcp_transition *t = utcp_transitions(&n);
    printf("%-13s %-13s %-20s %s\n", "FROM", "TO", "CAUSE", "WHAT");
    for (size_t i = 0; i < n; i++) {
        if (!all && t[i].cause == UTCP_CAUSE_STACK_DESTROY)
            continue;
        printf("%-13s %-13s %-20s %s\n", utcp_state_name(t[i].from),
               utcp_state_name(t[i].to), utcp_cause_name(t[i].cause),
               utcp_cause_text(t[i].cause));
    }
    return 0;
}
