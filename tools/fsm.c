/*
 * `utcp fsm`: the engine's own transition table (src/tcp/fsm.c, RFC 9293
 * figure 5 and section 3.10) printed as text or as a Graphviz DOT diagram.
 * Nothing here is hand-drawn: both come from utcp_transitions().
 */
#define _POSIX_C_SOURCE 200809L /* fork, pipe, fdopen */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tools.h"
#include "utcp/trace.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: utcp fsm [--dot | --svg FILE] [--all]\n\n"
               "Prints every legal state transition of the TCP engine with "
               "its cause.\n"
               "  --dot       emit the state diagram in Graphviz DOT\n"
               "  --svg FILE  render the diagram to FILE with Graphviz's "
               "`dot` (must be installed)\n"
               "  --all   include the STACK_DESTROY edges (omitted from the "
               "diagram by default)\n");
}

static void print_dot(FILE *out, bool all)
{
    size_t n;
    const struct utcp_transition *t = utcp_transitions(&n);
    fprintf(out, "digraph tcp {\n"
           "  label=\"TCP connection states (RFC 9293), from utcp's "
           "transition table\";\n"
           "  rankdir=TB; node [shape=box, style=rounded, fontname=Helvetica];"
           "\n  edge [fontname=Helvetica, fontsize=9];\n");
    for (int st = 0; st < UTCP_STATE_COUNT; st++)
        fprintf(out, "  %s;\n", utcp_state_name(st));
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
        fprintf(out, "  %s -> %s [label=\"", utcp_state_name(t[i].from),
               utcp_state_name(t[i].to));
        const char *sep = "";
        for (size_t j = i; j < n; j++) {
            if (t[j].from != t[i].from || t[j].to != t[i].to ||
                (!all && t[j].cause == UTCP_CAUSE_STACK_DESTROY))
                continue;
            fprintf(out, "%s%s", sep, utcp_cause_text(t[j].cause));
            sep = "\\n";
        }
        fprintf(out, "\"];\n");
    }
    fprintf(out, "}\n");
}

/* Renders the diagram with Graphviz: `dot -Tsvg -o path`, DOT on its
 * standard input. Returns the exit status for the command. */
static int render_svg(const char *path, bool all)
{
    int fds[2];
    if (pipe(fds) != 0) {
        fprintf(stderr, "utcp fsm: pipe: %s\n", strerror(errno));
        return 1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        fprintf(stderr, "utcp fsm: fork: %s\n", strerror(errno));
        close(fds[0]);
        close(fds[1]);
        return 1;
    }
    if (pid == 0) {
        dup2(fds[0], 0);
        close(fds[0]);
        close(fds[1]);
        execlp("dot", "dot", "-Tsvg", "-o", path, (char *)NULL);
        fprintf(stderr,
                "utcp fsm: cannot run Graphviz's dot (%s); install the "
                "graphviz package, or use --dot\n",
                strerror(errno));
        _exit(127);
    }
    close(fds[0]);
    FILE *w = fdopen(fds[1], "w");
    if (!w) {
        close(fds[1]);
        waitpid(pid, NULL, 0);
        return 1;
    }
    print_dot(w, all);
    fclose(w);
    int st = 0;
    if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        if (!(WIFEXITED(st) && WEXITSTATUS(st) == 127))
            fprintf(stderr, "utcp fsm: dot failed to write %s\n", path);
        return 1;
    }
    return 0;
}

int utcp_tool_fsm(int argc, char **argv)
{
    bool dot = false, all = false;
    const char *svg = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--dot")) {
            dot = true;
        } else if (!strcmp(argv[i], "--svg")) {
            if (i + 1 >= argc || argv[i + 1][0] == '\0') {
                fprintf(stderr, "utcp fsm: --svg wants a file name\n");
                return 2;
            }
            svg = argv[++i];
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
    if (dot && svg) {
        fprintf(stderr, "utcp fsm: --dot and --svg exclude each other\n");
        return 2;
    }
    if (svg)
        return render_svg(svg, all);
    if (dot) {
        print_dot(stdout, all);
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
