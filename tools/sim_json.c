/*
 * `utcp sim --json FILE`: the whole record of a run as one JSON document
 * (docs/sim-json.md): segments with every header field and their fate,
 * state changes with causes, timers, drops with reasons, notes. Reads the
 * record only; must never emit invalid JSON (every string is escaped).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"
#include "utcp/wire.h"

#define JSON_SCHEMA_VERSION 1

static void jstr(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            fprintf(f, "\\%c", c);
        else if (c < 0x20)
            fprintf(f, "\\u%04x", c);
        else
            fputc(c, f);
    }
    fputc('"', f);
}

static const char *node_name(unsigned node)
{
    static const char *const names[] = {"A", "B", "C", "D",
                                        "E", "F", "G", "H"};
    return node < 8 ? names[node] : "?";
}

static void json_flags(FILE *f, uint8_t flags)
{
    static const char *const bits[8] = {"FIN", "SYN", "RST", "PSH",
                                        "ACK", "URG", "ECE", "CWR"};
    fputc('[', f);
    bool first = true;
    for (unsigned b = 0; b < 8; b++)
        if (flags & (1u << b)) {
            fprintf(f, "%s\"%s\"", first ? "" : ",", bits[b]);
            first = false;
        }
    fputc(']', f);
}

static void json_tcp(FILE *f, const struct sim_seg *g)
{
    char a[20], b[20];
    sim_addr_text(g->src, a, sizeof a);
    sim_addr_text(g->dst, b, sizeof b);
    fprintf(f, ",\"ip\":{\"src\":\"%s\",\"dst\":\"%s\",\"id\":%u,\"ttl\":%u,"
               "\"df\":%s}",
            a, b, (unsigned)g->ip_id, (unsigned)g->ttl,
            g->df ? "true" : "false");
    fprintf(f, ",\"tcp\":{\"sport\":%u,\"dport\":%u,\"seq\":%" PRIu32
               ",\"ack\":%" PRIu32 ",\"rel_seq\":%" PRId64,
            (unsigned)g->sport, (unsigned)g->dport, g->seq, g->ack, g->rseq);
    if (g->has_rack)
        fprintf(f, ",\"rel_ack\":%" PRId64, g->rack);
    fputs(",\"flags\":", f);
    json_flags(f, g->flags);
    fprintf(f, ",\"hdr_len\":%u,\"win\":%u,\"urg\":%u,\"checksum\":%u,"
               "\"len\":%zu,\"options\":{",
            (unsigned)g->hdr_len, (unsigned)g->win, (unsigned)g->urg,
            (unsigned)g->tcp_csum, g->payload);
    const char *sep = "";
    if (g->mss) {
        fprintf(f, "\"mss\":%u", (unsigned)g->mss);
        sep = ",";
    }
    if (g->wscale >= 0) {
        fprintf(f, "%s\"wscale\":%d", sep, g->wscale);
        sep = ",";
    }
    if (g->sack_perm) {
        fprintf(f, "%s\"sack_permitted\":true", sep);
        sep = ",";
    }
    if (g->ts) {
        fprintf(f, "%s\"ts_val\":%" PRIu32 ",\"ts_ecr\":%" PRIu32, sep,
                g->tsval, g->tsecr);
        sep = ",";
    }
    if (g->nsack) {
        fprintf(f, "%s\"sack\":[", sep);
        for (unsigned i = 0; i < g->nsack; i++)
            fprintf(f, "%s[%" PRIu32 ",%" PRIu32 "]", i ? "," : "",
                    g->sack[i][0], g->sack[i][1]);
        fputc(']', f);
    }
    fputs("}}", f);
}

static void json_fate(FILE *f, const struct utcp_sim_event *e)
{
    const struct utcp_filter_verdict *v = &e->verdict;
    const char *fate = e->to == UTCP_SIM_NO_NODE ? "unroutable"
                       : v->drop                 ? "lost"
                                                 : "sent";
    fprintf(f, ",\"fate\":{\"verdict\":\"%s\"", fate);
    if (v->drop) {
        fprintf(f, ",\"reason\":\"%s\",\"reason_text\":",
                utcp_filter_reason_name(v->reason));
        jstr(f, utcp_filter_reason_text(v->reason));
        if (v->rule >= 0)
            fprintf(f, ",\"rule\":%d", v->rule);
    } else if (e->to != UTCP_SIM_NO_NODE) {
        fprintf(f, ",\"copies\":%u,\"arrive_us\":[", v->copies);
        for (unsigned i = 0; i < v->copies && i < 2; i++)
            fprintf(f, "%s%" PRIu64, i ? "," : "", v->at[i]);
        fprintf(f, "],\"held_us\":%" PRIu64 ",\"reordered\":%s,"
                   "\"corrupted\":%s",
                v->held_us, v->reordered ? "true" : "false",
                v->corrupted ? "true" : "false");
        if (v->corrupted)
            fprintf(f, ",\"corrupt_bit\":%zu", v->corrupt_bit);
        if (v->rule >= 0)
            fprintf(f, ",\"rule\":%d", v->rule);
    }
    fputc('}', f);
}

static void json_event(FILE *f, struct sim_flows *fl, size_t i,
                       const struct utcp_sim_event *e)
{
    static const char *const kinds[] = {"segment", "deliver", "state",
                                        "timer", "timer_set", "retransmit",
                                        "drop", "note"};
    fprintf(f, "{\"i\":%zu,\"t_us\":%" PRIu64 ",\"kind\":\"%s\",\"node\":\"%s\"",
            i, e->t, kinds[e->kind], node_name(e->node));
    if (e->conn_id)
        fprintf(f, ",\"conn\":%" PRIu32, e->conn_id);
    switch (e->kind) {
    case UTCP_SIM_SEG: {
        struct sim_seg g;
        sim_seg_decode(fl, e->pkt, e->len, &g);
        fprintf(f, ",\"to\":%s%s%s,\"len\":%zu,\"retransmit\":%s,"
                   "\"injected\":%s,\"tcp_ok\":%s",
                e->to == UTCP_SIM_NO_NODE ? "null" : "\"",
                e->to == UTCP_SIM_NO_NODE ? "" : node_name(e->to),
                e->to == UTCP_SIM_NO_NODE ? "" : "\"", e->len,
                e->retransmit ? "true" : "false",
                e->injected ? "true" : "false", g.tcp ? "true" : "false");
        if (g.tcp)
            json_tcp(f, &g);
        json_fate(f, e);
        break;
    }
    case UTCP_SIM_DELIVER:
        fprintf(f, ",\"segment\":%zu,\"corrupted\":%s", e->seg,
                e->corrupted ? "true" : "false");
        break;
    case UTCP_SIM_STATE:
        fprintf(f, ",\"from\":\"%s\",\"to\":\"%s\",\"cause\":\"%s\","
                   "\"cause_text\":",
                utcp_state_name(e->old_state), utcp_state_name(e->new_state),
                utcp_cause_name(e->cause));
        jstr(f, utcp_cause_text(e->cause));
        break;
    case UTCP_SIM_TIMER:
    case UTCP_SIM_TIMER_SET:
        fprintf(f, ",\"timer\":\"%s\",\"timer_text\":",
                utcp_timer_name(e->timer));
        jstr(f, sim_timer_text(e->timer));
        if (e->kind == UTCP_SIM_TIMER_SET)
            fprintf(f, ",\"expires_us\":%" PRIu64, e->expires);
        break;
    case UTCP_SIM_DROP:
        fprintf(f, ",\"reason\":\"%s\",\"reason_text\":",
                utcp_drop_name(e->drop_reason));
        jstr(f, utcp_drop_text(e->drop_reason));
        if (e->drop_reason == UTCP_DROP_WIRE) {
            fputs(",\"wire_reason\":", f);
            jstr(f, utcp_wire_reason_str((enum utcp_wire_reason)e->wire_reason));
        }
        break;
    case UTCP_SIM_NOTE:
        fputs(",\"text\":", f);
        jstr(f, e->text);
        break;
    case UTCP_SIM_RETRANSMIT:
        break;
    }
    fputc('}', f);
}

/* The link's impairments at the end of the run, per direction. */
static void json_link(FILE *f, const struct utcp_filter *flt)
{
    fputs("\"link\":{", f);
    for (int i = 0; i < 2; i++) {
        const struct utcp_filter_dir *d = &flt->dir[i];
        fprintf(f, "%s\"%s\":{\"delay_us\":%" PRIu64 ",\"jitter_us\":%" PRIu64
                   ",\"loss_ppm\":%" PRIu32 ",\"burst_p_ppm\":%" PRIu32
                   ",\"burst_r_ppm\":%" PRIu32 ",\"burst_loss_good_ppm\":%"
                   PRIu32 ",\"burst_loss_bad_ppm\":%" PRIu32
                   ",\"dup_ppm\":%" PRIu32 ",\"dup_gap_us\":%" PRIu64
                   ",\"reorder_ppm\":%" PRIu32 ",\"reorder_us\":%" PRIu64
                   ",\"corrupt_ppm\":%" PRIu32 ",\"mtu\":%" PRIu32
                   ",\"rate_bps\":%" PRIu64 ",\"queue_bytes\":%" PRIu32 "}",
                i ? "," : "", i ? "B->A" : "A->B", d->delay_us, d->jitter_us,
                d->loss_ppm, d->ge_p_ppm, d->ge_r_ppm, d->ge_loss_good_ppm,
                d->ge_loss_bad_ppm, d->dup_ppm, d->dup_gap_us, d->reorder_ppm,
                d->reorder_us, d->corrupt_ppm, d->mtu, d->rate_bps,
                d->queue_bytes);
    }
    fprintf(f, ",\"rules\":%zu},\n", flt->nrules);
}

/* The summary: counts by kind and each connection's path. */
static void json_summary(FILE *f, const struct sim_view *v,
                         const struct utcp_sim_event *ev, size_t n)
{
    size_t counts[UTCP_SIM_NOTE + 1] = {0}, lost = 0;
    for (size_t i = 0; i < n; i++) {
        counts[ev[i].kind]++;
        lost += ev[i].kind == UTCP_SIM_SEG && ev[i].verdict.drop;
    }
    fprintf(f, "\"counts\":{\"events\":%zu,\"segments\":%zu,\"lost\":%zu,"
               "\"deliveries\":%zu,\"states\":%zu,\"timers\":%zu,"
               "\"timers_set\":%zu,\"retransmits\":%zu,\"drops\":%zu,"
               "\"notes\":%zu},\n",
            n, counts[UTCP_SIM_SEG], lost, counts[UTCP_SIM_DELIVER],
            counts[UTCP_SIM_STATE], counts[UTCP_SIM_TIMER],
            counts[UTCP_SIM_TIMER_SET], counts[UTCP_SIM_RETRANSMIT],
            counts[UTCP_SIM_DROP], counts[UTCP_SIM_NOTE]);
    fputs("\"connections\":[", f);
    bool first = true;
    for (unsigned node = 0; node < utcp_sim_nodes(v->net); node++) {
        uint32_t ids[64];
        size_t k = utcp_sim_conn_ids(v->net, node, ids, 64);
        for (size_t i = 0; i < k && i < 64; i++) {
            char path[1024];
            utcp_sim_state_path(v->net, node, ids[i], path, sizeof path);
            fprintf(f, "%s\n {\"node\":\"%s\",\"conn\":%" PRIu32 ",\"path\":",
                    first ? "" : ",", node_name(node), ids[i]);
            jstr(f, path);
            fputc('}', f);
            first = false;
        }
    }
    fputs("],\n", f);
}

int sim_write_json(const char *path, const struct sim_view *v, bool ok,
                   const char *const *failures, size_t nfail)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return -errno;
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(v->net, &ev);
    fprintf(f, "{\"schema\":\"utcp-sim-trace\",\"version\":%d,\n",
            JSON_SCHEMA_VERSION);
    fputs("\"scenario\":", f);
    jstr(f, v->name);
    fputs(",\"description\":", f);
    jstr(f, v->desc);
    fprintf(f, ",\"seed\":%" PRIu64 ",\"ok\":%s,\"failures\":[", v->seed,
            ok ? "true" : "false");
    for (size_t i = 0; i < nfail; i++) {
        fputs(i ? "," : "", f);
        jstr(f, failures[i]);
    }
    fputs("],\n\"nodes\":[", f);
    for (unsigned i = 0; i < utcp_sim_nodes(v->net); i++) {
        char a[20];
        sim_addr_text(utcp_sim_addr(v->net, i), a, sizeof a);
        fprintf(f, "%s{\"name\":\"%s\",\"addr\":\"%s\"}", i ? "," : "",
                node_name(i), a);
    }
    fputs("],\n", f);
    json_link(f, utcp_sim_filter(v->net));
    json_summary(f, v, ev, n);
    fputs("\"events\":[\n", f);
    struct sim_flows fl;
    memset(&fl, 0, sizeof fl);
    for (size_t i = 0; i < n; i++) {
        json_event(f, &fl, i, &ev[i]);
        fputs(i + 1 < n ? ",\n" : "\n", f);
    }
    fputs("]}\n", f);
    int rc = ferror(f) ? -EIO : 0;
    if (fclose(f) != 0 && rc == 0)
        rc = -errno;
    return rc;
}
