/*
 * `utcp sim --svg FILE`: the ladder as a textbook picture: two timelines,
 * arrows slanted by the one-way delay, RFC 9293 state names where they
 * change, lost segments ending in a cross, timers, 2*MSL gaps cut by a break
 * mark. Reads the record only; must always emit well-formed XML.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim.h"
#include "utcp/wire.h"

/* Geometry, in pixels. */
#define TIME_X 66.0      /* right edge of the time labels */
#define GAP_X 440.0      /* between the timelines */
#define MIN_SIDE 170.0   /* room for side text, at least */
#define MAX_TEXT 64      /* longer side texts are cut */
#define TOP 96.0         /* first instant */
#define SIDE_GAP 12.0    /* timeline to side text */
#define ROW_TXT 15.0     /* one line of side text */
#define ROW_SEG 20.0     /* two arrows leaving at one instant */
#define DELAY_PX 72.0    /* the drop of an arrow over one delay */
#define MAX_QUIET 52.0   /* most space a quiet stretch gets */
#define BREAK_PX 64.0    /* a cut in a long gap */
#define LOST_FRAC 0.62   /* a lost arrow stops this far across */

#define C_AB "#1f5fbf"
#define C_BA "#7b3fa0"
#define C_LOST "#d62728"
#define C_STATE "#11703a"
#define C_NOTE "#555555"
#define C_TIMER "#b35c00"

struct layout {
    double ax, bx, w;     /* the timelines' x, the picture's width */
    double *y;            /* per event (NAN: not drawn) */
    size_t n;
    double *inst_t, *inst_y; /* instants, for interpolation */
    size_t ninst;
    double height;
    struct brk {
        double y;         /* top of the cut */
        uint64_t gap;     /* time skipped */
    } breaks[64];
    size_t nbreaks;
    double scale;         /* px per microsecond over short gaps */
    uint64_t long_gap;    /* gaps at least this long are cut */
};

static bool side_event(const struct utcp_sim_event *e)
{
    return e->kind == UTCP_SIM_STATE || e->kind == UTCP_SIM_TIMER ||
           e->kind == UTCP_SIM_TIMER_SET || e->kind == UTCP_SIM_NOTE ||
           e->kind == UTCP_SIM_DROP;
}

static void side_texts(const struct utcp_sim_event *e, char *text,
                       size_t cap);

/* Space between two instants dt apart, not counting the rows. */
static double advance(const struct layout *L, uint64_t dt, bool *cut)
{
    *cut = false;
    if (dt >= L->long_gap) {
        *cut = true;
        return BREAK_PX;
    }
    double lin = (double)dt * L->scale;
    if (lin <= DELAY_PX)
        return lin;
    /* Longer than a delay: the rest grows slowly (nothing crosses it). */
    double extra = 14.0 * log2(lin / DELAY_PX);
    return DELAY_PX + (extra < MAX_QUIET - DELAY_PX + 40 ? extra : 40);
}

/* Pass 1: a y for every drawn event, rows stacked per side at an instant. */
static bool lay_out(struct layout *L, const struct utcp_sim_event *ev,
                    size_t n, uint64_t delay)
{
    memset(L, 0, sizeof *L);
    L->n = n;
    L->y = malloc((n ? n : 1) * sizeof *L->y);
    L->inst_t = malloc((n ? n : 1) * sizeof *L->inst_t);
    L->inst_y = malloc((n ? n : 1) * sizeof *L->inst_y);
    if (!L->y || !L->inst_t || !L->inst_y)
        return false;
    /* Room for the longest text on each side (about 0.62 em a char). */
    double wide[2] = {MIN_SIDE, MIN_SIDE};
    for (size_t i = 0; i < n; i++) {
        char text[200];
        if (!side_event(&ev[i]))
            continue;
        side_texts(&ev[i], text, sizeof text);
        size_t len = strlen(text) < MAX_TEXT ? strlen(text) : MAX_TEXT;
        double px = (double)len * 12.5 * 0.62 + 10.0;
        int side = ev[i].node == SIM_A ? 0 : 1;
        if (px > wide[side])
            wide[side] = px;
    }
    L->ax = TIME_X + 14.0 + wide[0];
    L->bx = L->ax + GAP_X;
    L->w = L->bx + SIDE_GAP + wide[1] + 8.0;
    uint64_t ref = delay ? delay : 1000;
    L->scale = DELAY_PX / (double)ref;
    L->long_gap = ref * 40 > 1000000 ? ref * 40 : 1000000;
    double ya = TOP, yb = TOP, inst_y = TOP;
    double keep = TOP; /* lost arrows end above this */
    uint64_t t = n ? ev[0].t : 0;
    L->inst_t[0] = (double)t;
    L->inst_y[0] = TOP;
    L->ninst = 1;
    for (size_t i = 0; i < n; i++) {
        const struct utcp_sim_event *e = &ev[i];
        L->y[i] = NAN;
        if (e->kind == UTCP_SIM_RETRANSMIT)
            continue;
        if (e->t != t) {
            bool cut;
            double next = inst_y + advance(L, e->t - t, &cut);
            double used = (ya > yb ? ya : yb) + 6.0;
            if (used < keep)
                used = keep;
            if (cut) {
                if (L->nbreaks < 64) {
                    L->breaks[L->nbreaks].y = used;
                    L->breaks[L->nbreaks++].gap = e->t - t;
                }
                next = used + BREAK_PX;
            } else if (next < used) {
                next = used;
            }
            inst_y = ya = yb = next;
            t = e->t;
            L->inst_t[L->ninst] = (double)t;
            L->inst_y[L->ninst++] = inst_y;
        }
        bool on_a = e->node == SIM_A;
        double *yy = on_a ? &ya : &yb;
        L->y[i] = *yy;
        if (e->kind == UTCP_SIM_SEG) {
            if (e->verdict.drop || e->to == UTCP_SIM_NO_NODE) {
                double end = *yy + LOST_FRAC * DELAY_PX + 12.0;
                keep = end > keep ? end : keep;
            }
            *yy += ROW_SEG;
        }
        else if (side_event(e))
            *yy += ROW_TXT;
        else
            *yy += 2.0; /* DELIVER */
    }
    L->height = (ya > yb ? ya : yb) + 70.0;
    return true;
}

static void free_layout(struct layout *L)
{
    free(L->y);
    free(L->inst_t);
    free(L->inst_y);
}

/* ---- drawing ---- */

static void xml_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20)
                fputc(*s, f);
        }
    }
}

static double node_x(const struct layout *L, unsigned node)
{
    return node == SIM_A ? L->ax : L->bx;
}

/* Text beside a node's timeline: right of B, left of A. */
static void side_text(FILE *f, const struct layout *L, unsigned node,
                      double y, const char *cls, const char *text)
{
    bool a = node == SIM_A;
    fprintf(f, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\">",
            cls, a ? L->ax - SIDE_GAP : L->bx + SIDE_GAP, y + 4.0,
            a ? "end" : "start");
    char cut[MAX_TEXT + 4];
    if (strlen(text) > MAX_TEXT) {
        snprintf(cut, sizeof cut, "%.*s...", MAX_TEXT - 3, text);
        text = cut;
    }
    xml_text(f, text);
    fputs("</text>\n", f);
}

/* The text beside a timeline for a side event. */
static void side_texts(const struct utcp_sim_event *e, char *text, size_t cap)
{
    text[0] = '\0';
    switch (e->kind) {
    case UTCP_SIM_STATE:
        snprintf(text, cap, "%s", utcp_state_name(e->new_state));
        break;
    case UTCP_SIM_TIMER:
        snprintf(text, cap, "%s timer fires", sim_timer_text(e->timer));
        break;
    case UTCP_SIM_TIMER_SET: {
        uint64_t d = e->expires > e->t ? e->expires - e->t : 0;
        snprintf(text, cap, "%s timer: %" PRIu64 ".%" PRIu64 " s",
                 sim_timer_text(e->timer), d / 1000000u, d / 100000u % 10u);
        break;
    }
    case UTCP_SIM_NOTE:
        snprintf(text, cap, "%s", e->text);
        break;
    case UTCP_SIM_DROP:
        if (e->drop_reason == UTCP_DROP_WIRE)
            snprintf(text, cap, "dropped: %s",
                     utcp_wire_reason_str((enum utcp_wire_reason)e->wire_reason));
        else if (e->drop_reason == UTCP_DROP_NONE)
            snprintf(text, cap, "segment dropped (no reason traced)");
        else
            snprintf(text, cap, "%s", utcp_drop_text(e->drop_reason));
        break;
    default:
        break;
    }
}

static void draw_side(FILE *f, const struct layout *L,
                      const struct utcp_sim_event *e, double y)
{
    static const char *const cls[] = {
        [UTCP_SIM_STATE] = "state", [UTCP_SIM_TIMER] = "timer",
        [UTCP_SIM_TIMER_SET] = "timer", [UTCP_SIM_NOTE] = "note",
        [UTCP_SIM_DROP] = "drop"};
    char text[200];
    double x = node_x(L, e->node);
    side_texts(e, text, sizeof text);
    if (e->kind == UTCP_SIM_STATE)
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"" C_STATE
                   "\"/>\n", x, y);
    else if (e->kind == UTCP_SIM_TIMER)
        fprintf(f, "<path d=\"M%.1f %.1fl5 5l-5 5l-5 -5z\" fill=\"" C_TIMER
                   "\"/>\n", x, y - 5.0);
    side_text(f, L, e->node, y, cls[e->kind], text);
}

/* The short label on an arrow: flags, seq, ack, len. */
static void arrow_label(const struct sim_seg *g, const struct utcp_sim_event *e,
                        char *buf, size_t cap)
{
    if (!g->tcp) {
        snprintf(buf, cap, "not TCP (%zu bytes)", e->len);
        return;
    }
    char fl[40];
    sim_flag_short(g->flags, fl, sizeof fl);
    int used = snprintf(buf, cap, "%s%s seq=%" PRId64, e->retransmit ? "(rtx) " : "",
                        fl, g->rseq);
    if ((g->flags & UTCP_TH_ACK) && used > 0 && (size_t)used < cap)
        used += g->has_rack
                    ? snprintf(buf + used, cap - (size_t)used, " ack=%" PRId64,
                               g->rack)
                    : snprintf(buf + used, cap - (size_t)used, " ack=%" PRIu32,
                               g->ack);
    if (g->payload && used > 0 && (size_t)used < cap)
        used += snprintf(buf + used, cap - (size_t)used, " len=%zu",
                         g->payload);
    if (e->injected && used > 0 && (size_t)used < cap)
        snprintf(buf + used, cap - (size_t)used, " (injected)");
}

/* The full description, shown when hovering over an arrow. */
static void arrow_title(const struct sim_seg *g, const struct utcp_sim_event *e,
                        char *buf, size_t cap)
{
    char fl[48];
    sim_flag_names(g->flags, fl, sizeof fl);
    int used = snprintf(buf, cap, "%s seq=%" PRIu32 " ack=%" PRIu32
                        " len=%zu win=%u", fl, g->seq, g->ack, g->payload,
                        (unsigned)g->win);
    if (g->mss && used > 0 && (size_t)used < cap)
        used += snprintf(buf + used, cap - (size_t)used, " mss=%u",
                         (unsigned)g->mss);
    if (g->wscale >= 0 && used > 0 && (size_t)used < cap)
        used += snprintf(buf + used, cap - (size_t)used, " wscale=%d",
                         g->wscale);
    if (e->verdict.drop && used > 0 && (size_t)used < cap)
        snprintf(buf + used, cap - (size_t)used, " (lost: %s)",
                 utcp_filter_reason_text(e->verdict.reason));
}

static void cross(FILE *f, double x, double y)
{
    fprintf(f, "<path d=\"M%.1f %.1fl10 10m0 -10l-10 10\" stroke=\"" C_LOST
               "\" stroke-width=\"2.5\" fill=\"none\"/>\n", x - 5.0, y - 5.0);
}

/* The label along an arrow from (x0,y0) to (x1,y1), near the sender; the
 * k-th arrow of a burst (same sender, same instant) has its label further
 * along, so labels of arrows with different slopes do not pile up. */
static void label_along(FILE *f, double x0, double y0, double x1, double y1,
                        unsigned k, const char *cls, const char *label)
{
    double at = 0.06 + 0.14 * (double)(k % 3);
    double px = x0 + at * (x1 - x0), py = y0 + at * (y1 - y0);
    bool rightwards = x1 > x0;
    double ang = rightwards ? atan2(y1 - y0, x1 - x0)
                            : atan2(y0 - y1, x0 - x1);
    ang *= 180.0 / 3.14159265358979323846;
    fprintf(f, "<text class=\"%s\" x=\"%.1f\" y=\"%.1f\" dy=\"-4\" "
               "text-anchor=\"%s\" transform=\"rotate(%.2f %.1f %.1f)\">",
            cls, px, py, rightwards ? "start" : "end", ang, px, py);
    xml_text(f, label);
    fputs("</text>\n", f);
}

static void draw_segment(FILE *f, const struct layout *L,
                         const struct utcp_sim_event *ev, size_t n, size_t i,
                         unsigned k, struct sim_flows *fl, uint64_t delay)
{
    const struct utcp_sim_event *e = &ev[i];
    struct sim_seg g;
    sim_seg_decode(fl, e->pkt, e->len, &g);
    char label[160], title[300];
    arrow_label(&g, e, label, sizeof label);
    arrow_title(&g, e, title, sizeof title);
    bool ab = e->node == SIM_A;
    const char *cls = ab ? "ab" : "ba";
    double x0 = node_x(L, e->node), y0 = L->y[i];
    double x1 = ab ? L->bx : L->ax;
    fputs("<g><title>", f);
    xml_text(f, title);
    fputs("</title>\n", f);
    size_t copies = 0, want = e->to == UTCP_SIM_NO_NODE ? 0 : e->verdict.copies;
    for (size_t j = i + 1; j < n && copies < want; j++) {
        if (ev[j].kind != UTCP_SIM_DELIVER || ev[j].seg != i)
            continue;
        double y1 = L->y[j];
        bool bad = ev[j].corrupted;
        fprintf(f, "<line class=\"%s%s\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                   "y2=\"%.1f\" marker-end=\"url(#%s)\"/>\n",
                cls, copies ? " dup" : "", x0, y0, x1, y1,
                bad ? "bad" : ab ? "head-ab" : "head-ba");
        if (copies == 0) {
            char l2[200];
            snprintf(l2, sizeof l2, "%s%s", label, bad ? " (corrupted)" : "");
            label_along(f, x0, y0, x1, y1, k, bad ? "lost-l" : cls, l2);
        }
        copies++;
    }
    if (copies == 0) { /* lost on the wire */
        /* Where it would have arrived, had the delay been drawn to scale;
         * lay_out kept room for it. */
        double drop = (double)delay * L->scale;
        double y1 = y0 + (drop > DELAY_PX || drop < 20.0 ? DELAY_PX : drop);
        double xe = x0 + LOST_FRAC * (x1 - x0), ye = y0 + LOST_FRAC * (y1 - y0);
        fprintf(f, "<line class=\"lost\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
                   "y2=\"%.1f\"/>\n", x0, y0, xe, ye);
        cross(f, xe, ye);
        char l2[200];
        snprintf(l2, sizeof l2, "%s (lost)", label);
        label_along(f, x0, y0, x1, y1, k, "lost-l", l2);
    }
    fputs("</g>\n", f);
}

/* A band on the timeline while a long timer (2*MSL, FIN_WAIT_2) runs. */
static void draw_timer_band(FILE *f, const struct layout *L,
                            const struct utcp_sim_event *ev, size_t n, size_t i)
{
    const struct utcp_sim_event *e = &ev[i];
    double y1 = L->height - 50.0;
    for (size_t j = i + 1; j < n; j++) {
        const struct utcp_sim_event *o = &ev[j];
        bool same = o->node == e->node && o->conn_id == e->conn_id;
        /* Until it fires, is set again, or the connection leaves the
         * state (a TIME_WAIT record recycled by a new SYN). */
        if (same && ((o->timer == e->timer && (o->kind == UTCP_SIM_TIMER ||
                                               o->kind == UTCP_SIM_TIMER_SET)) ||
                     o->kind == UTCP_SIM_STATE)) {
            y1 = L->y[j];
            break;
        }
    }
    fprintf(f, "<line class=\"band\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
               "y2=\"%.1f\"/>\n", node_x(L, e->node), L->y[i],
            node_x(L, e->node), y1);
}

static void time_text(uint64_t t, char *buf, size_t cap)
{
    if (t % 1000u == 0 && t < 1000000u)
        snprintf(buf, cap, "%" PRIu64 " ms", t / 1000u);
    else if (t < 1000000u)
        snprintf(buf, cap, "%" PRIu64 ".%03" PRIu64 " ms", t / 1000u,
                 t % 1000u);
    else
        snprintf(buf, cap, "%" PRIu64 ".%03" PRIu64 " s", t / 1000000u,
                 t / 1000u % 1000u);
}

static void gap_text(uint64_t g, char *buf, size_t cap)
{
    if (g >= 60000000u && g % 1000000u == 0)
        snprintf(buf, cap, "%" PRIu64 " s later", g / 1000000u);
    else
        snprintf(buf, cap, "%" PRIu64 ".%" PRIu64 " s later", g / 1000000u,
                 g / 100000u % 10u);
}

/* Both timelines, cut at the breaks, and the time labels. */
static void draw_frame(FILE *f, const struct layout *L)
{
    double top = TOP - 14.0, bottom = L->height - 44.0;
    for (int side = 0; side < 2; side++) {
        double x = side ? L->bx : L->ax, y = top;
        for (size_t b = 0; b <= L->nbreaks; b++) {
            double end = b < L->nbreaks ? L->breaks[b].y : bottom;
            fprintf(f, "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" "
                       "x2=\"%.1f\" y2=\"%.1f\"/>\n", x, y, x, end);
            if (b < L->nbreaks) {
                fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"20\" "
                           "height=\"%.1f\" fill=\"white\"/>\n", x - 10.0,
                        end, BREAK_PX - 14.0);
                for (int k = 0; k < 2; k++)
                    fprintf(f, "<line class=\"cut\" x1=\"%.1f\" y1=\"%.1f\" "
                               "x2=\"%.1f\" y2=\"%.1f\"/>\n", x - 9.0,
                            end + 6.0 + 14.0 * k, x + 9.0, end + 14.0 * k);
                y = end + BREAK_PX - 14.0;
            }
        }
    }
    for (size_t b = 0; b < L->nbreaks; b++) {
        char g[48];
        gap_text(L->breaks[b].gap, g, sizeof g);
        fprintf(f, "<text class=\"gap\" x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"middle\">&#8942; %s &#8942;</text>\n",
                (L->ax + L->bx) / 2.0, L->breaks[b].y + BREAK_PX / 2.0 - 4.0, g);
    }
    double last = -100.0;
    for (size_t k = 0; k < L->ninst; k++) {
        if (L->inst_y[k] - last < 13.0)
            continue;
        char t[32];
        time_text((uint64_t)L->inst_t[k], t, sizeof t);
        fprintf(f, "<text class=\"time\" x=\"%.1f\" y=\"%.1f\" "
                   "text-anchor=\"end\">%s</text>\n", TIME_X, L->inst_y[k] + 4.0,
                t);
        last = L->inst_y[k];
    }
}

static void draw_header(FILE *f, const struct layout *L,
                        const struct sim_view *v, uint64_t delay)
{
    double h = L->height;
    fprintf(f, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"white\"/>\n",
            L->w, h);
    fputs("<text class=\"title\" x=\"20\" y=\"28\">utcp sim ", f);
    xml_text(f, v->name);
    fputs("</text>\n<text class=\"desc\" x=\"20\" y=\"47\">", f);
    xml_text(f, v->desc);
    fputs("</text>\n", f);
    for (unsigned node = 0; node < 2; node++) {
        char a[20];
        sim_addr_text(utcp_sim_addr(v->net, node), a, sizeof a);
        double x = node_x(L, node);
        fprintf(f, "<rect class=\"node\" x=\"%.1f\" y=\"56\" width=\"150\" "
                   "height=\"26\" rx=\"5\"/>\n<text class=\"nodename\" "
                   "x=\"%.1f\" y=\"74\" text-anchor=\"middle\">%s  %s</text>\n",
                x - 75.0, x, node ? "B" : "A", a);
    }
    char d[32];
    time_text(delay, d, sizeof d);
    fprintf(f, "<text class=\"legend\" x=\"20\" y=\"%.1f\">one-way delay %s; "
               "relative sequence numbers; seed %" PRIu64 "; "
               "(rtx) retransmission; red cross: lost on the wire</text>\n",
            h - 16.0, d, v->seed);
}

static void write_defs(FILE *f)
{
    fputs("<defs>\n"
          "<marker id=\"head-ab\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
          "markerWidth=\"11\" markerHeight=\"11\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">"
          "<path d=\"M0 0L10 5L0 10z\" fill=\"" C_AB "\"/></marker>\n"
          "<marker id=\"head-ba\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
          "markerWidth=\"11\" markerHeight=\"11\" markerUnits=\"userSpaceOnUse\" orient=\"auto\">"
          "<path d=\"M0 0L10 5L0 10z\" fill=\"" C_BA "\"/></marker>\n"
          "<marker id=\"bad\" viewBox=\"0 0 10 10\" refX=\"5\" refY=\"5\" "
          "markerWidth=\"10\" markerHeight=\"10\" orient=\"0\">"
          "<path d=\"M1 1L9 9M9 1L1 9\" stroke=\"" C_LOST "\" "
          "stroke-width=\"2\"/></marker>\n"
          "<style>\n"
          "text{font-family:'DejaVu Sans',Verdana,Arial,sans-serif}\n"
          ".title{font-size:17px;font-weight:bold;fill:#222}\n"
          ".desc{font-size:12.5px;fill:#444}\n"
          ".legend{font-size:11px;fill:#666}\n"
          ".node{fill:#f2f4f7;stroke:#444;stroke-width:1.2}\n"
          ".nodename{font-size:13px;font-weight:bold;fill:#222}\n"
          ".axis{stroke:#333;stroke-width:2}\n"
          ".cut{stroke:#333;stroke-width:2}\n"
          ".gap{font-size:12px;font-style:italic;fill:#666}\n"
          ".time{font-size:10.5px;fill:#888}\n"
          ".state{font-size:12.5px;font-weight:bold;fill:" C_STATE "}\n"
          ".note{font-size:11.5px;font-style:italic;fill:" C_NOTE "}\n"
          ".timer{font-size:11.5px;fill:" C_TIMER "}\n"
          ".drop{font-size:11.5px;fill:" C_LOST "}\n"
          "line.ab{stroke:" C_AB ";stroke-width:1.6}\n"
          "line.ba{stroke:" C_BA ";stroke-width:1.6}\n"
          "line.dup{stroke-dasharray:5 3}\n"
          "line.lost{stroke:" C_LOST ";stroke-width:1.6;"
          "stroke-dasharray:6 3}\n"
          ".band{stroke:" C_TIMER ";stroke-width:7;stroke-opacity:0.3}\n"
          "text.ab,text.ba,text.lost-l{font-size:11.5px;"
          "stroke:white;stroke-width:3px;paint-order:stroke;"
          "stroke-linejoin:round}\n"
          "text.ab{fill:" C_AB "}\ntext.ba{fill:" C_BA "}\n"
          "text.lost-l{fill:" C_LOST "}\n"
          "</style>\n</defs>\n",
          f);
}

int sim_write_svg(const char *path, const struct sim_view *v)
{
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(v->net, &ev);
    uint64_t delay = sim_view_delay(v);
    struct layout L;
    if (!lay_out(&L, ev, n, delay)) {
        free_layout(&L);
        return -ENOMEM;
    }
    FILE *f = fopen(path, "w");
    if (!f) {
        int e = errno;
        free_layout(&L);
        return -e;
    }
    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" "
               "height=\"%.0f\" viewBox=\"0 0 %.0f %.0f\">\n",
            L.w, L.height, L.w, L.height);
    write_defs(f);
    draw_header(f, &L, v, delay);
    for (size_t i = 0; i < n; i++)
        if (ev[i].kind == UTCP_SIM_TIMER_SET)
            draw_timer_band(f, &L, ev, n, i);
    draw_frame(f, &L);
    struct sim_flows fl;
    memset(&fl, 0, sizeof fl);
    unsigned burst = 0;
    size_t prev = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        if (ev[i].kind == UTCP_SIM_SEG) {
            bool same = prev != SIZE_MAX && ev[prev].t == ev[i].t &&
                        ev[prev].node == ev[i].node;
            burst = same ? burst + 1 : 0;
            prev = i;
            draw_segment(f, &L, ev, n, i, burst, &fl,
                         utcp_sim_filter(v->net)->dir[ev[i].node ? 1 : 0]
                             .delay_us);
        }
        else if (side_event(&ev[i]) && !isnan(L.y[i])) {
            draw_side(f, &L, &ev[i], L.y[i]);
        }
    }
    fputs("</svg>\n", f);
    free_layout(&L);
    int rc = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}
