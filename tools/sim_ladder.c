/*
 * The terminal ladder of `utcp sim` (virtual time, A, arrows, B) and the
 * segment decoding every output shares (RFC 9293 3.1 header fields,
 * relative sequence numbers). Reads the simulator's record only: must never
 * change it, and prints colour only when asked.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"
#include "utcp/wire.h"

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

/* ---- decoding ---- */

static struct sim_flow *flow_find(struct sim_flows *fl, uint32_t sa,
                                  uint16_t sp, uint32_t da, uint16_t dp)
{
    for (size_t i = 0; i < fl->n; i++) {
        struct sim_flow *f = &fl->f[i];
        if (f->saddr == sa && f->sport == sp && f->daddr == da &&
            f->dport == dp)
            return f;
    }
    return NULL;
}

/* The base of this direction: set by a SYN (a new incarnation) or by the
 * first segment seen. */
static uint32_t flow_base(struct sim_flows *fl, const struct utcp_ipv4 *ip,
                          const struct utcp_tcp *th)
{
    struct sim_flow *f = flow_find(fl, ip->src, th->sport, ip->dst, th->dport);
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

void sim_seg_decode(struct sim_flows *fl, const uint8_t *pkt, size_t len,
                    struct sim_seg *out)
{
    memset(out, 0, sizeof *out);
    out->wscale = -1;
    struct utcp_ipv4 ip;
    struct utcp_tcp th;
    if (utcp_ipv4_parse(pkt, len, &ip) != UTCP_WIRE_OK ||
        ip.proto != UTCP_IPPROTO_TCP ||
        utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false,
                       &th) != UTCP_WIRE_OK)
        return;
    out->tcp = true;
    out->src = ip.src;
    out->dst = ip.dst;
    out->sport = th.sport;
    out->dport = th.dport;
    out->flags = th.flags;
    out->seq = th.seq;
    out->ack = th.ack;
    out->payload = th.payload_len;
    out->win = th.win;
    out->ip_id = ip.id;
    out->ttl = ip.ttl;
    out->df = ip.df;
    out->hdr_len = th.hdr_len;
    out->tcp_csum = th.csum;
    out->urg = th.urg;
    /* Relative to the base; a segment from before it (an old duplicate)
     * shows a negative number. */
    out->rseq = (int32_t)(th.seq - flow_base(fl, &ip, &th));
    struct sim_flow *peer = flow_find(fl, ip.dst, th.dport, ip.src, th.sport);
    if (peer && (th.flags & UTCP_TH_ACK)) {
        out->rack = (int32_t)(th.ack - peer->base);
        out->has_rack = true;
    }
    const struct utcp_tcp_opts *o = &th.opts;
    if (o->present & UTCP_OPT_MSS)
        out->mss = o->mss;
    if (o->present & UTCP_OPT_WSCALE)
        out->wscale = o->wscale;
    out->sack_perm = (o->present & UTCP_OPT_SACK_PERM) != 0;
    if (o->present & UTCP_OPT_TS) {
        out->ts = true;
        out->tsval = o->ts_val;
        out->tsecr = o->ts_ecr;
    }
    for (unsigned i = 0; i < o->sack_count && i < 4; i++) {
        out->sack[i][0] = o->sack[i].left;
        out->sack[i][1] = o->sack[i].right;
        out->nsack = i + 1;
    }
}

static const char *const flag_bits[8] = {"FIN", "SYN", "RST", "PSH",
                                         "ACK", "URG", "ECE", "CWR"};

void sim_flag_names(uint8_t flags, char *buf, size_t cap)
{
    size_t used = (size_t)snprintf(buf, cap, "[");
    bool first = true;
    for (unsigned b = 0; b < 8; b++) {
        if (!(flags & (1u << b)) || used >= cap)
            continue;
        used += (size_t)snprintf(buf + used, cap - used, "%s%s",
                                 first ? "" : ", ", flag_bits[b]);
        first = false;
    }
    if (used < cap)
        snprintf(buf + used, cap - used, "]");
}

void sim_flag_short(uint8_t flags, char *buf, size_t cap)
{
    /* Textbook order: SYN, FIN, RST, then PSH and ACK. */
    static const unsigned order[8] = {1, 0, 2, 3, 4, 5, 6, 7};
    size_t used = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < 8 && used < cap; i++) {
        unsigned b = order[i];
        if (!(flags & (1u << b)) || b == 3) /* PSH: noise in a picture */
            continue;
        used += (size_t)snprintf(buf + used, cap - used, "%s%s",
                                 used ? "+" : "", flag_bits[b]);
    }
    if (!used)
        snprintf(buf, cap, "(no flags)");
}

const char *sim_timer_text(int kind)
{
    static const char *const texts[] = {
#define UTCP_X_(name, text) text,
        UTCP_TIMER_KINDS(UTCP_X_)
#undef UTCP_X_
    };
    return kind >= 0 && kind < UTCP_TIMER_COUNT ? texts[kind] : "?";
}

void sim_addr_text(uint32_t a, char *buf, size_t cap)
{
    snprintf(buf, cap, "%u.%u.%u.%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
             a & 255);
}

uint64_t sim_view_delay(const struct sim_view *v)
{
    return utcp_sim_filter(v->net)->dir[0].delay_us;
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

/* The label of an arrow: flags, seq, ack, len, win, options. */
static void seg_label(const struct sim_seg *g, size_t len, char *buf,
                      size_t cap)
{
    if (!g->tcp) {
        snprintf(buf, cap, "(not TCP: %zu bytes)", len);
        return;
    }
    char fl_s[48];
    sim_flag_names(g->flags, fl_s, sizeof fl_s);
    size_t used = (size_t)snprintf(buf, cap, "%s seq=%" PRId64, fl_s, g->rseq);
    if ((g->flags & UTCP_TH_ACK) && used < cap) {
        if (g->has_rack)
            used += (size_t)snprintf(buf + used, cap - used, " ack=%" PRId64,
                                     g->rack);
        else
            used += (size_t)snprintf(buf + used, cap - used, " ack=%" PRIu32,
                                     g->ack);
    }
    if (used < cap)
        used += (size_t)snprintf(buf + used, cap - used, " len=%zu win=%u",
                                 g->payload, (unsigned)g->win);
    if ((g->mss || g->wscale >= 0 || g->sack_perm || g->ts) && used < cap) {
        const char *sep = "";
        used += (size_t)snprintf(buf + used, cap - used, " <");
        if (g->mss && used < cap) {
            used += (size_t)snprintf(buf + used, cap - used, "mss %u",
                                     (unsigned)g->mss);
            sep = ",";
        }
        if (g->wscale >= 0 && used < cap) {
            used += (size_t)snprintf(buf + used, cap - used, "%sws %d", sep,
                                     g->wscale);
            sep = ",";
        }
        if (g->sack_perm && used < cap) {
            used += (size_t)snprintf(buf + used, cap - used, "%ssack", sep);
            sep = ",";
        }
        if (g->ts && used < cap)
            used += (size_t)snprintf(buf + used, cap - used, "%sts", sep);
        if (used < cap)
            snprintf(buf + used, cap - used, ">");
    }
}

static void seg_fate(FILE *f, const struct style *s,
                     const struct utcp_sim_event *e)
{
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
}

static void seg_line(FILE *f, const struct style *s, struct sim_flows *fl,
                     const struct utcp_sim_event *e)
{
    char label[160];
    struct sim_seg g;
    sim_seg_decode(fl, e->pkt, e->len, &g);
    seg_label(&g, e->len, label, sizeof label);
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
    seg_fate(f, s, e);
    fputc('\n', f);
}

static void print_event(FILE *f, const struct style *s,
                        struct sim_flows *fl, const struct utcp_sim_event *e)
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
        snprintf(text, sizeof text, "%s timer fires",
                 sim_timer_text(e->timer));
        side_line(f, s, e->t, e->node, C_TIMER, text);
        break;
    case UTCP_SIM_TIMER_SET: {
        uint64_t d = e->expires > e->t ? e->expires - e->t : 0;
        snprintf(text, sizeof text, "%s timer set: %" PRIu64 ".%03" PRIu64
                 " s", sim_timer_text(e->timer), d / 1000000u,
                 d / 1000u % 1000u);
        side_line(f, s, e->t, e->node, C_TIMER, text);
        break;
    }
    case UTCP_SIM_DROP:
        if (e->drop_reason == UTCP_DROP_WIRE)
            snprintf(text, sizeof text, "dropped: %s",
                     utcp_wire_reason_str((enum utcp_wire_reason)e->wire_reason));
        else if (e->drop_reason == UTCP_DROP_NONE)
            snprintf(text, sizeof text, "segment dropped (no reason traced)");
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

void sim_print_ladder(FILE *f, bool colour, const struct sim_view *v)
{
    struct style s = {colour};
    struct utcp_sim *net = v->net;
    fprintf(f, "utcp sim %s (seed %" PRIu64 "): %s\n", v->name, v->seed,
            v->desc);
    char a[20], b[20];
    sim_addr_text(utcp_sim_addr(net, SIM_A), a, sizeof a);
    sim_addr_text(utcp_sim_addr(net, SIM_B), b, sizeof b);
    uint64_t d = sim_view_delay(v);
    fprintf(f,
            "A = %s, B = %s, one-way delay %" PRIu64 " ms; times in ms;\n"
            "relative sequence numbers; windows as sent (unscaled)\n\n",
            a, b, d / 1000u);
    fprintf(f, "%*s  %-*s", TIME_W, "time", SIDE_W + ARROW_W + 2, "A");
    fputs("B\n", f);
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(net, &ev);
    struct sim_flows fl;
    memset(&fl, 0, sizeof fl);
    for (size_t i = 0; i < n; i++)
        print_event(f, &s, &fl, &ev[i]);
}
