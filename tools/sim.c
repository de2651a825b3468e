/*
 * `utcp sim`: runs a built-in scenario on the simulated network, draws it as
 * a ladder (virtual time, A, segments, B), checks both ends' RFC 9293 3.3.2
 * state paths, optionally writes a pcap with virtual timestamps. Must never
 * touch the real network or read a clock: a seed reproduces a run exactly.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sim.h"
#include "tools.h"
#include "utcp/pcap.h"
#include "utcp/wire.h"

#define EPOCH_US UINT64_C(1704067200000000) /* 2024-01-01T00:00:00Z */
#define TIME_W 11  /* "3600000.000": an hour */
#define SIDE_W 28  /* A's column */
#define ARROW_W 62 /* the segment arrows */

/* ---- colour ---- */
struct style {
    bool on;
};
enum { C_RESET, C_TIME, C_AB, C_BA, C_LOST, C_STATE, C_TIMER, C_DROP,
       C_NOTE, C_COUNT };
static const char *const colour_codes[C_COUNT] = {
    "\033[0m", "\033[2m", "\033[34m", "\033[35m", "\033[1;31m",
    "\033[1;32m", "\033[33m", "\033[31m", "\033[36m",
};

static void col(FILE *f, const struct style *s, int c)
{
    if (s->on)
        fputs(colour_codes[c], f);
}

/* ---- relative sequence numbers, per direction of each connection ---- */
struct flow {
    uint32_t saddr, daddr;
    uint16_t sport, dport;
    uint32_t base;
};
struct flows {
    struct flow f[64];
    size_t n;
};

static struct flow *flow_find(struct flows *fl, uint32_t sa, uint16_t sp,
                              uint32_t da, uint16_t dp)
{
    for (size_t i = 0; i < fl->n; i++) {
        struct flow *f = &fl->f[i];
        if (f->saddr == sa && f->sport == sp && f->daddr == da &&
            f->dport == dp)
            return f;
    }
    return NULL;
}

/* The base of this direction: set by a SYN (a new incarnation) or by the
 * first segment seen. */
static uint32_t flow_base(struct flows *fl, const struct utcp_ipv4 *ip,
                          const struct utcp_tcp *th)
{
    struct flow *f = flow_find(fl, ip->src, th->sport, ip->dst, th->dport);
    if (!f) {
        if (fl->n == sizeof fl->f / sizeof fl->f[0])
            fl->n = 0; /* forget old flows (many connections) */
        f = &fl->f[fl->n++];
        f->saddr = ip->src;
        f->daddr = ip->dst;
        f->sport = th->sport;
        f->dport = th->dport;
        f->base = th->seq;
    }
    if (th->flags & UTCP_TH_SYN)
        f->base = th->seq;
    return f->base;
}

static bool flow_peer_base(struct flows *fl, const struct utcp_ipv4 *ip,
                           const struct utcp_tcp *th, uint32_t *base)
{
    struct flow *f = flow_find(fl, ip->dst, th->dport, ip->src, th->sport);
    if (f)
        *base = f->base;
    return f != NULL;
}

/* ---- text helpers ---- */

static void put_time(FILE *f, const struct style *s, uint64_t t)
{
    char buf[32];
    snprintf(buf, sizeof buf, "%" PRIu64 ".%03" PRIu64, t / 1000u,
             t % 1000u);
    col(f, s, C_TIME);
    fprintf(f, "%*s", TIME_W, buf);
    col(f, s, C_RESET);
    fputs("  ", f);
}

static void pad(FILE *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fputc(' ', f);
}

/* One line of text on a node's side. */
static void side_line(FILE *f, const struct style *s, uint64_t t,
                      unsigned node, int c, const char *text)
{
    put_time(f, s, t);
    if (node != SIM_A)
        pad(f, SIDE_W + ARROW_W + 2);
    col(f, s, c);
    fputs(text, f);
    col(f, s, C_RESET);
    fputc('\n', f);
}

/* "[SYN, ACK]" in tshark's order (bit order). */
static void flag_names(uint8_t flags, char *buf, size_t cap)
{
    static const char *const names[8] = {"FIN", "SYN", "RST", "PSH",
                                         "ACK", "URG", "ECE", "CWR"};
    size_t used = (size_t)snprintf(buf, cap, "[");
    bool first = true;
    for (unsigned b = 0; b < 8; b++) {
        if (!(flags & (1u << b)) || used >= cap)
            continue;
        used += (size_t)snprintf(buf + used, cap - used, "%s%s",
                                 first ? "" : ", ", names[b]);
        first = false;
    }
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

/* The label of an arrow: flags, seq, ack, len, win, options. */
static bool seg_label(struct flows *fl, const uint8_t *pkt, size_t len,
                      char *buf, size_t cap, uint8_t *flags_out)
{
    struct utcp_ipv4 ip;
    struct utcp_tcp th;
    if (utcp_ipv4_parse(pkt, len, &ip) != UTCP_WIRE_OK ||
        ip.proto != UTCP_IPPROTO_TCP ||
        utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false,
                       &th) != UTCP_WIRE_OK) {
        snprintf(buf, cap, "(not TCP: %zu bytes)", len);
        return false;
    }
    *flags_out = th.flags;
    char fl_s[48];
    flag_names(th.flags, fl_s, sizeof fl_s);
    uint32_t base = flow_base(fl, &ip, &th), pbase = 0;
    /* Relative to the base; a segment from before it (an old duplicate)
     * shows a negative number. */
    size_t used = (size_t)snprintf(buf, cap, "%s seq=%" PRId32, fl_s,
                                   (int32_t)(th.seq - base));
    if ((th.flags & UTCP_TH_ACK) && used < cap) {
        if (flow_peer_base(fl, &ip, &th, &pbase))
            used += (size_t)snprintf(buf + used, cap - used, " ack=%" PRId32,
                                     (int32_t)(th.ack - pbase));
        else
            used += (size_t)snprintf(buf + used, cap - used, " ack=%" PRIu32,
                                     th.ack);
    }
    if (used < cap)
        used += (size_t)snprintf(buf + used, cap - used, " len=%zu win=%u",
                                 th.payload_len, (unsigned)th.win);
    const struct utcp_tcp_opts *o = &th.opts;
    if ((o->present & (UTCP_OPT_MSS | UTCP_OPT_WSCALE | UTCP_OPT_SACK_PERM |
                       UTCP_OPT_TS)) &&
        used < cap) {
        const char *sep = "";
        used += (size_t)snprintf(buf + used, cap - used, " <");
        if ((o->present & UTCP_OPT_MSS) && used < cap) {
            used += (size_t)snprintf(buf + used, cap - used, "mss %u",
                                     (unsigned)o->mss);
            sep = ",";
        }
        if ((o->present & UTCP_OPT_WSCALE) && used < cap) {
            used += (size_t)snprintf(buf + used, cap - used, "%sws %u", sep,
                                     (unsigned)o->wscale);
            sep = ",";
        }
        if ((o->present & UTCP_OPT_SACK_PERM) && used < cap) {
            used += (size_t)snprintf(buf + used, cap - used, "%ssack", sep);
            sep = ",";
        }
        if ((o->present & UTCP_OPT_TS) && used < cap)
            used += (size_t)snprintf(buf + used, cap - used, "%sts", sep);
        if (used < cap)
            snprintf(buf + used, cap - used, ">");
    }
    return true;
}

static void seg_line(FILE *f, const struct style *s, struct flows *fl,
                     const struct utcp_sim_event *e)
{
    char label[160];
    uint8_t flags = 0;
    seg_label(fl, e->pkt, e->len, label, sizeof label, &flags);
    bool ab = e->node == SIM_A;
    bool lost = e->verdict.drop || e->to == UTCP_SIM_NO_NODE;
    size_t ll = strlen(label) + 2; /* a space either side */
    size_t dashes = ARROW_W > ll + 2 ? ARROW_W - ll - 1 : 3;
    size_t left = dashes / 2, right = dashes - left;

    put_time(f, s, e->t);
    pad(f, SIDE_W + 1);
    col(f, s, lost ? C_LOST : ab ? C_AB : C_BA);
    if (!ab)
        fputc(lost ? 'x' : '<', f);
    for (size_t i = 0; i < left - (ab ? 0 : 1) + 1; i++)
        fputc('-', f);
    fprintf(f, " %s ", label);
    for (size_t i = 0; i < right - (ab ? 1 : 0); i++)
        fputc('-', f);
    if (ab)
        fputc(lost ? 'x' : '>', f);
    col(f, s, C_RESET);
    /* What happened to it. */
    const struct utcp_filter_verdict *v = &e->verdict;
    if (e->retransmit)
        fputs(" retransmission", f);
    if (e->injected)
        fputs(" (injected)", f);
    if (e->to == UTCP_SIM_NO_NODE) {
        col(f, s, C_LOST);
        fputs(" lost: no such address", f);
        col(f, s, C_RESET);
    } else if (v->drop) {
        col(f, s, C_LOST);
        fprintf(f, " lost: %s", utcp_filter_reason_text(v->reason));
        col(f, s, C_RESET);
    } else {
        if (v->held_us)
            fprintf(f, " held +%" PRIu64 ".%03" PRIu64 " ms",
                    v->held_us / 1000u, v->held_us % 1000u);
        if (v->copies == 2)
            fputs(" duplicated", f);
        if (v->corrupted)
            fputs(" corrupted", f);
    }
    fputc('\n', f);
}

/* "2*MSL", "delayed ACK": the text column of the timer list. */
static const char *timer_text(int kind)
{
    static const char *const texts[] = {
#define UTCP_X_(name, text) text,
        UTCP_TIMER_KINDS(UTCP_X_)
#undef UTCP_X_
    };
    return kind >= 0 && kind < UTCP_TIMER_COUNT ? texts[kind] : "?";
}

static void print_event(FILE *f, const struct style *s, struct flows *fl,
                        const struct utcp_sim_event *e)
{
    char text[200];
    switch (e->kind) {
    case UTCP_SIM_SEG:
        seg_line(f, s, fl, e);
        break;
    case UTCP_SIM_STATE:
        snprintf(text, sizeof text, "%s -> %s", utcp_state_name(e->old_state),
                 utcp_state_name(e->new_state));
        side_line(f, s, e->t, e->node, C_STATE, text);
        break;
    case UTCP_SIM_TIMER:
        snprintf(text, sizeof text, "%s timer fires", timer_text(e->timer));
        side_line(f, s, e->t, e->node, C_TIMER, text);
        break;
    case UTCP_SIM_TIMER_SET: {
        uint64_t d = e->expires > e->t ? e->expires - e->t : 0;
        snprintf(text, sizeof text, "%s timer set: %" PRIu64 ".%03" PRIu64
                 " s", timer_text(e->timer), d / 1000000u,
                 d / 1000u % 1000u);
        side_line(f, s, e->t, e->node, C_TIMER, text);
        break;
    }
    case UTCP_SIM_DROP:
        if (e->drop_reason == UTCP_DROP_WIRE)
            snprintf(text, sizeof text, "dropped: %s",
                     utcp_wire_reason_str((enum utcp_wire_reason)e->wire_reason));
        else
            snprintf(text, sizeof text, "%s", utcp_drop_text(e->drop_reason));
        side_line(f, s, e->t, e->node, C_DROP, text);
        break;
    case UTCP_SIM_NOTE:
        side_line(f, s, e->t, e->node, C_NOTE, e->text);
        break;
    case UTCP_SIM_DELIVER:
    case UTCP_SIM_RETRANSMIT:
        break; /* shown on the arrows */
    }
}

static void print_ladder(FILE *f, const struct style *s, struct utcp_sim *net,
                         const struct sim_scenario *sc, uint64_t seed)
{
    fprintf(f, "utcp sim %s (seed %" PRIu64 "): %s\n", sc->name, seed,
            sc->desc);
    uint32_t a = utcp_sim_addr(net, SIM_A), b = utcp_sim_addr(net, SIM_B);
    fprintf(f,
            "A = %u.%u.%u.%u, B = %u.%u.%u.%u, one-way delay %u ms; "
            "times in ms;\nrelative sequence numbers; windows as sent (unscaled)\n\n",
            a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, b >> 24,
            b >> 16 & 255, b >> 8 & 255, b & 255, SIM_DELAY_US / 1000u);
    fprintf(f, "%*s  %-*s", TIME_W, "time", SIDE_W + ARROW_W + 2, "A");
    fputs("B\n", f);
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(net, &ev);
    static struct flows fl;
    memset(&fl, 0, sizeof fl);
    for (size_t i = 0; i < n; i++)
        print_event(f, s, &fl, &ev[i]);
}

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

static void usage(FILE *f)
{
    fprintf(f,
            "usage: utcp sim --list\n"
            "       utcp sim NAME [--seed N] [--pcap FILE] [--no-color | --color]\n"
            "\n"
            "Runs the built-in scenario NAME (see --list) between two stacks, "
            "A and B,\n"
            "on a simulated link with a virtual clock, prints it as a ladder "
            "diagram and\n"
            "checks the state sequences of both ends.\n"
            "\n"
            "  --list       the scenarios, one per line, with a description\n"
            "  --seed N     seed for ports, initial sequence numbers and the "
            "link (default 1)\n"
            "  --pcap FILE  write every segment on the wire to FILE (virtual "
            "timestamps)\n"
            "  --no-color   no ANSI colours (the default when stdout is not a "
            "terminal,\n"
            "               or when NO_COLOR is set)\n"
            "  --color      ANSI colours even when stdout is not a terminal\n"
            "\n"
            "Exit status: 0 the scenario behaved as expected, 1 it did not "
            "(or FILE could\n"
            "not be written), 2 bad usage.\n");
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

static int run_scenario(const struct sim_scenario *sc, uint64_t seed,
                        const char *pcap, bool colour)
{
    struct utcp_sim_config cfg;
    utcp_sim_config_init(&cfg);
    cfg.seed = seed;
    cfg.filter.dir[0].delay_us = SIM_DELAY_US;
    cfg.filter.dir[1].delay_us = SIM_DELAY_US;
    if (sc->setup)
        sc->setup(&cfg);
    struct sim_ctx x;
    memset(&x, 0, sizeof x);
    int rc = utcp_sim_create(&cfg, &x.net);
    if (rc < 0) {
        fprintf(stderr, "utcp sim: cannot create the network: %s\n",
                utcp_strerror(rc));
        return 1;
    }
    sc->run(&x);

    struct style st = {colour};
    print_ladder(stdout, &st, x.net, sc, seed);
    bool ok = check_paths(stdout, x.net, sc);
    if (x.failed) {
        fprintf(stderr, "utcp sim %s: FAILED: %s\n", sc->name, x.err);
        ok = false;
    }
    if (utcp_sim_error(x.net)) {
        fprintf(stderr, "utcp sim %s: FAILED: the simulation stopped short: %s\n",
                sc->name, utcp_strerror(utcp_sim_error(x.net)));
        ok = false;
    }
    int status = ok ? 0 : 1;
    if (pcap) {
        rc = write_pcap(x.net, pcap);
        if (rc < 0) {
            fprintf(stderr, "utcp sim: cannot write '%s': %s\n", pcap,
                    strerror(-rc));
            status = 1;
        }
    }
    if (ok)
        printf("utcp sim %s: ok\n", sc->name);
    utcp_sim_destroy(x.net);
    if (fflush(stdout) != 0) {
        fprintf(stderr, "utcp sim: cannot write to stdout: %s\n",
                strerror(errno));
        return 1;
    }
    return status;
}

int utcp_tool_sim(int argc, char **argv)
{
    const char *name = NULL, *pcap = NULL;
    uint64_t seed = 1;
    bool colour = isatty(STDOUT_FILENO) != 0 && !getenv("NO_COLOR");
    bool want_list = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--list")) {
            want_list = true;
        } else if (!strcmp(a, "--no-color") || !strcmp(a, "--no-colour")) {
            colour = false;
        } else if (!strcmp(a, "--color") || !strcmp(a, "--colour")) {
            colour = true;
        } else if (!strcmp(a, "--seed") || !strcmp(a, "--pcap")) {
            if (i + 1 >= argc)
                return bad_usage("%s needs a value", a);
            const char *v = argv[++i];
            if (a[2] == 's') {
                if (!parse_u64(v, &seed))
                    return bad_usage("--seed wants a non-negative integer, "
                                     "not '%s'",
                                     v);
            } else {
                if (!*v)
                    return bad_usage("--pcap wants a file name");
                pcap = v;
            }
        } else if (a[0] == '-') {
            return bad_usage("unknown option '%s'", a);
        } else if (name) {
            return bad_usage("one scenario at a time (extra '%s')", a);
        } else {
            name = a;
        }
    }
    if (want_list) {
        if (name || pcap)
            return bad_usage("--list takes no scenario or --pcap");
        list(stdout);
        return 0;
    }
    if (!name)
        return bad_usage("missing scenario NAME (`utcp sim --list` shows "
                         "them)");
    for (size_t i = 0; i < sim_scenario_count; i++)
        if (!strcmp(name, sim_scenarios[i].name))
            return run_scenario(&sim_scenarios[i], seed, pcap, colour);
    fprintf(stderr, "utcp sim: unknown scenario '%s'; the scenarios are:\n",
            name);
    list(stderr);
    return 2;
}
