/*
 * `utcp sim`: runs a built-in scenario or a script on the simulated network,
 * draws it (ladder, SVG), checks both ends' RFC 9293 3.3.2 state paths and
 * the script's expectations, writes pcap and JSON on request. Must never
 * touch the real network or read a clock: a seed reproduces a run.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "link/scenario.h"
#include "sim.h"
#include "tools.h"
#include "utcp/pcap.h"
#include "utcp/wire.h"

#define EPOCH_US UINT64_C(1704067200000000) /* 2024-01-01T00:00:00Z */

/* ---- checks ---- */

/* Compares the state paths of both nodes with the scenario's; prints the
 * paths; returns false (with a message on stderr) on a difference. */
static bool check_paths(FILE *f, struct utcp_sim *net,
                        const struct sim_scenario *sc)
{
    bool ok = true;
    fputc('\n', f);
    for (unsigned node = 0; node < 2; node++) {
        uint32_t ids[32];
        size_t n = utcp_sim_conn_ids(net, node, ids, 32);
        size_t want = 0;
        while (want < SIM_MAX_EXPECT && sc->expect[node][want])
            want++;
        for (size_t i = 0; i < n || i < want; i++) {
            char path[512] = "(none)";
            if (i < n && i < 32)
                utcp_sim_state_path(net, node, ids[i], path, sizeof path);
            if (i < n)
                fprintf(f, "%s connection %zu: %s\n", node ? "B" : "A", i + 1,
                        path);
            const char *exp = i < want ? sc->expect[node][i] : "(none)";
            if (strcmp(path, exp) != 0) {
                fprintf(stderr,
                        "utcp sim %s: FAILED: %s connection %zu went %s, "
                        "expected %s\n",
                        sc->name, node ? "B" : "A", i + 1, path, exp);
                ok = false;
            }
        }
        if (n == 0)
            fprintf(f, "%s: no connection\n", node ? "B" : "A");
    }
    uint64_t bad = utcp_sim_illegal_transitions(net);
    if (bad) {
        fprintf(stderr,
                "utcp sim %s: FAILED: %" PRIu64 " state changes not in the "
                "transition table\n",
                sc->name, bad);
        ok = false;
    }
    return ok;
}

static int write_pcap(struct utcp_sim *net, const char *path)
{
    struct utcp_pcap *w;
    int rc = utcp_pcap_open(&w, path);
    if (rc < 0)
        return rc;
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(net, &ev);
    for (size_t i = 0; i < n && rc == 0; i++)
        if (ev[i].kind == UTCP_SIM_SEG)
            rc = utcp_pcap_write(w, EPOCH_US + ev[i].t, ev[i].pkt, ev[i].len);
    int crc = utcp_pcap_close(w);
    return rc ? rc : crc;
}

/* ---- the command ---- */

struct opts {
    const char *name, *pcap, *svg, *json, *out_dir;
    uint64_t seed, random;
    bool seed_set, random_set, colour, list, verbose, show;
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: utcp sim --list\n"
            "       utcp sim NAME|FILE.utcp [--seed N] [--pcap FILE] [--svg FILE]\n"
            "                [--json FILE] [--no-color | --color]\n"
            "       utcp sim --show NAME\n"
            "       utcp sim --random N [--seed S] [--out DIR] [--verbose]\n"
            "\n"
            "Runs the built-in scenario NAME (see --list), or the scenario script\n"
            "FILE.utcp (docs/scenarios.md), between two stacks, A and B, on a\n"
            "simulated link with a virtual clock, prints it as a ladder diagram and\n"
            "checks the state sequences of both ends (and the script's expectations).\n"
            "\n"
            "  --list       the scenarios, one per line, with a description\n"
            "  --show NAME  print the script of a built-in scenario (a .utcp file)\n"
            "  --seed N     seed for ports, initial sequence numbers and the link\n"
            "               (default 1, or the script's `seed`)\n"
            "  --pcap FILE  write every segment on the wire to FILE (virtual "
            "timestamps)\n"
            "  --svg FILE   draw the ladder as an SVG picture\n"
            "  --json FILE  write the whole trace as JSON (docs/sim-json.md)\n"
            "  --no-color   no ANSI colours (the default when stdout is not a "
            "terminal,\n"
            "               or when NO_COLOR is set)\n"
            "  --color      ANSI colours even when stdout is not a terminal\n"
            "  --random N   N randomised runs (sizes, directions, close orders,\n"
            "               loss, duplication, reordering, corruption), each "
            "checked for\n"
            "               byte-exact delivery, legal transitions, clean close, no "
            "leak;\n"
            "               a failing run is written to DIR (--out, default .) as a\n"
            "               .utcp script that reproduces it\n"
            "\n"
            "Exit status: 0 the scenario behaved as expected, 1 it did not "
            "(or a file could\n"
            "not be written), 2 bad usage or a syntax error in FILE.\n");
}

static void list(FILE *f)
{
    for (size_t i = 0; i < sim_scenario_count; i++)
        fprintf(f, "%-20s %s\n", sim_scenarios[i].name, sim_scenarios[i].desc);
}

static int bad_usage(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));
static int bad_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("utcp sim: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(`utcp sim --help` for usage)\n", stderr);
    va_end(ap);
    return 2;
}

static bool parse_u64(const char *s, uint64_t *out)
{
    if (!*s || *s == '-' || *s == '+')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || *end)
        return false;
    *out = v;
    return true;
}

/* Writes the files asked for; returns 1 if one could not be written. */
static int write_outputs(const struct sim_view *v, const struct opts *o,
                         bool ok, const char *const *fails, size_t nfail)
{
    int status = 0;
    struct {
        const char *path;
        int rc;
    } out[3] = {{o->pcap, 0}, {o->svg, 0}, {o->json, 0}};
    if (o->pcap)
        out[0].rc = write_pcap(v->net, o->pcap);
    if (o->svg)
        out[1].rc = sim_write_svg(o->svg, v);
    if (o->json)
        out[2].rc = sim_write_json(o->json, v, ok, fails, nfail);
    for (int i = 0; i < 3; i++)
        if (out[i].rc < 0) {
            fprintf(stderr, "utcp sim: cannot write '%s': %s\n", out[i].path,
                    strerror(-out[i].rc));
            status = 1;
        }
    return status;
}

static int finish_stdout(int status)
{
    if (fflush(stdout) != 0) {
        fprintf(stderr, "utcp sim: cannot write to stdout: %s\n",
                strerror(errno));
        return 1;
    }
    return status;
}

/* Reads a whole file (at most 16 MiB) into a terminated malloc'ed buffer. */
static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = cap < (16u << 20) ? realloc(buf, cap * 2) : NULL;
            if (!nb) {
                free(buf);
                buf = NULL;
                errno = ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) {
            if (ferror(f)) {
                free(buf);
                buf = NULL;
            }
            break;
        }
    }
    int e = errno;
    fclose(f);
    errno = e;
    if (buf) {
        buf[n] = '\0';
        *len = n;
    }
    return buf;
}

static void print_conn_paths(FILE *f, struct utcp_sim *net)
{
    fputc('\n', f);
    for (unsigned node = 0; node < 2; node++) {
        uint32_t ids[32];
        size_t n = utcp_sim_conn_ids(net, node, ids, 32);
        for (size_t i = 0; i < n && i < 32; i++) {
            char path[512];
            utcp_sim_state_path(net, node, ids[i], path, sizeof path);
            fprintf(f, "%s connection %zu: %s\n", node ? "B" : "A", i + 1,
                    path);
        }
        if (n == 0)
            fprintf(f, "%s: no connection\n", node ? "B" : "A");
    }
}

/* Runs a parsed script: the ladder, the state paths (checked against the
 * built-in's table when sc is not NULL), the failures as "WHERE:LINE:
 * FAILED: ...", the files asked for. Returns the exit status. */
static int run_parsed(const struct scn *s, const char *name, const char *where,
                      const struct sim_scenario *sc, const struct opts *o)
{
    struct scn_run_opts ro = {o->seed_set || sc, o->seed, 0};
    struct scn_result r;
    if (utcp__scn_run(s, &ro, &r) < 0) {
        fprintf(stderr, "utcp sim: cannot create the network\n");
        return 1;
    }
    const char *desc = sc ? sc->desc : s->title ? s->title : "a scenario script";
    struct sim_view v = {r.net, name, desc, r.seed};
    sim_print_ladder(stdout, o->colour, &v);
    bool ok = true;
    if (sc)
        ok = check_paths(stdout, r.net, sc);
    else
        print_conn_paths(stdout, r.net);
    const char *fails[SCN_MAX_FAILURES];
    for (size_t i = 0; i < r.nfail; i++) {
        fails[i] = r.fail[i].msg;
        if (r.fail[i].line)
            fprintf(stderr, "%s:%u: FAILED: %s\n", where, r.fail[i].line,
                    r.fail[i].msg);
        else
            fprintf(stderr, "%s: FAILED: %s\n", where, r.fail[i].msg);
    }
    if (r.nfail_total > r.nfail)
        fprintf(stderr, "%s: ... and %zu more failures\n", where,
                r.nfail_total - r.nfail);
    ok = ok && r.nfail_total == 0;
    int status = ok ? 0 : 1;
    if (write_outputs(&v, o, ok, fails, r.nfail))
        status = 1;
    if (ok)
        printf("utcp sim %s: ok\n", name);
    utcp_sim_destroy(r.net);
    return finish_stdout(status);
}

static int run_file(const char *path, const struct opts *o)
{
    size_t len = 0;
    char *text = read_file(path, &len);
    if (!text) {
        fprintf(stderr, "utcp sim: cannot read '%s': %s\n", path,
                strerror(errno));
        return 2;
    }
    struct scn s;
    struct scn_error err;
    int rc = utcp__scn_parse(text, len, &s, &err);
    free(text);
    if (rc < 0) {
        fprintf(stderr, "%s:%u:%u: error: %s\n", path, err.line, err.col,
                err.msg);
        return 2;
    }
    rc = run_parsed(&s, path, path, NULL, o);
    utcp__scn_free(&s);
    return rc;
}

/* A built-in scenario: its embedded script, plus its path table. */
static int run_builtin(const struct sim_scenario *sc, const struct opts *o)
{
    const struct sim_embedded *e = sim_script(sc->name);
    char where[64];
    snprintf(where, sizeof where, "%s.utcp", sc->name);
    struct scn s;
    struct scn_error err;
    if (!e || utcp__scn_parse((const char *)e->text, e->len, &s, &err) < 0) {
        fprintf(stderr, "utcp sim: built-in scenario %s: %s:%u:%u: %s\n",
                sc->name, where, e ? err.line : 0, e ? err.col : 0,
                e ? err.msg : "no script embedded");
        return 1;
    }
    int rc = run_parsed(&s, sc->name, where, sc, o);
    utcp__scn_free(&s);
    return rc;
}

/* --show NAME: the built-in's script, to read, copy and change. */
static int show(const struct sim_scenario *sc)
{
    const struct sim_embedded *e = sim_script(sc->name);
    if (!e) {
        fprintf(stderr, "utcp sim: %s has no script\n", sc->name);
        return 1;
    }
    fwrite(e->text, 1, e->len, stdout);
    return finish_stdout(0);
}

static bool is_script(const char *name)
{
    size_t n = strlen(name);
    return strchr(name, '/') || (n > 5 && !strcmp(name + n - 5, ".utcp"));
}

/* Options with a value: returns 0, or 2 after a usage message. */
static int option_value(struct opts *o, const char *a, const char *v)
{
    if (!strcmp(a, "--seed")) {
        if (!parse_u64(v, &o->seed))
            return bad_usage("--seed wants a non-negative integer, not '%s'",
                             v);
        o->seed_set = true;
        return 0;
    }
    if (!strcmp(a, "--random")) {
        if (!parse_u64(v, &o->random) || o->random == 0)
            return bad_usage("--random wants a positive number of runs, not "
                             "'%s'", v);
        o->random_set = true;
        return 0;
    }
    if (!*v)
        return bad_usage("%s wants a file name", a);
    if (!strcmp(a, "--pcap"))
        o->pcap = v;
    else if (!strcmp(a, "--svg"))
        o->svg = v;
    else if (!strcmp(a, "--json"))
        o->json = v;
    else
        o->out_dir = v;
    return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
    static const char *const with_value[] = {"--seed", "--pcap", "--svg",
                                             "--json", "--random", "--out"};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool valued = false;
        for (size_t k = 0; k < sizeof with_value / sizeof *with_value; k++)
            valued |= !strcmp(a, with_value[k]);
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--list")) {
            o->list = true;
        } else if (!strcmp(a, "--no-color") || !strcmp(a, "--no-colour")) {
            o->colour = false;
        } else if (!strcmp(a, "--color") || !strcmp(a, "--colour")) {
            o->colour = true;
        } else if (!strcmp(a, "--show")) {
            o->show = true;
        } else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
            o->verbose = true;
        } else if (valued) {
            if (i + 1 >= argc)
                return bad_usage("%s needs a value", a);
            int rc = option_value(o, a, argv[++i]);
            if (rc)
                return rc;
        } else if (a[0] == '-') {
            return bad_usage("unknown option '%s'", a);
        } else if (o->name) {
            return bad_usage("one scenario at a time (extra '%s')", a);
        } else {
            o->name = a;
        }
    }
    return -1;
}

int utcp_tool_sim(int argc, char **argv)
{
    struct opts o;
    memset(&o, 0, sizeof o);
    o.seed = 1;
    o.colour = isatty(STDOUT_FILENO) != 0 && !getenv("NO_COLOR");
    int rc = parse_args(argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.list) {
        if (o.name || o.pcap || o.random_set)
            return bad_usage("--list takes no scenario or other option");
        list(stdout);
        return 0;
    }
    if (o.random_set) {
        if (o.name || o.pcap || o.svg || o.json)
            return bad_usage("--random takes no scenario, --pcap, --svg or "
                             "--json");
        return sim_random(o.random, o.seed, o.out_dir ? o.out_dir : ".",
                          o.verbose);
    }
    if (!o.name)
        return bad_usage("missing scenario NAME (`utcp sim --list` shows "
                         "them)");
    for (size_t i = 0; i < sim_scenario_count; i++)
        if (!strcmp(o.name, sim_scenarios[i].name))
            return o.show ? show(&sim_scenarios[i])
                          : run_builtin(&sim_scenarios[i], &o);
    if (o.show)
        return bad_usage("--show takes a built-in scenario NAME");
    if (is_script(o.name))
        return run_file(o.name, &o);
    fprintf(stderr, "utcp sim: unknown scenario '%s'; the scenarios are:\n",
            o.name);
    list(stderr);
    fprintf(stderr, "(a script file must end in .utcp or contain a '/')\n");
    return 2;
}
