/*
 * Segment output: what to send and when. RFC 9293 3.8.6 (windows), RFC 896
 * and RFC 1122 4.2.3.4 (Nagle, sender SWS avoidance), RFC 5681 (congestion
 * window), RFC 9293 3.10.7.1 (RST replies), RFC 9293 3.8.6.1 (zero-window
 * probes), RFC 1122 4.2.3.6 (keep-alive), the options of every segment
 * (RFC 7323 3.2 timestamps, RFC 2018 SACK) and RFC 6675 retransmissions.
 * Never sends beyond the peer's window except a one-byte window probe,
 * never answers a RST with a RST, never resends a SACKed octet.
 */
#include <string.h>

#include "stack/stack.h"
#include "tcp/conn.h"

/* Window field for an outgoing segment; records the advertised edge. */
static uint16_t window_field(struct utcp_conn *c, bool syn)
{
    uint32_t w = utcp__rcv_window(c);
    if (syn) {
        /* RFC 7323 2.2: the window in a SYN is never scaled. */
        if (w > 65535)
            w = 65535;
        c->rcv_adv = c->rcv_nxt + w;
        return (uint16_t)w;
    }
    uint32_t f = w >> c->rcv_wscale;
    if (f > 65535)
        f = 65535;
    utcp_seq edge = c->rcv_nxt + (f << c->rcv_wscale);
    if (seq_gt(edge, c->rcv_adv))
        c->rcv_adv = edge;
    return (uint16_t)f;
}

/* The options of a segment of c with these flags and len payload bytes. */
static void set_options(const struct utcp_stack *s, struct utcp_conn *c,
                        struct utcp_tcp_opts *o, uint8_t flags, uint32_t len)
{
    bool syn = (flags & UTCP_TH_SYN) != 0;
    bool offer = syn && c->state == UTCP_SYN_SENT; /* our own SYN */
    if (syn) {
        /* RFC 9293 3.7.1: MSS in the SYN; RFC 7323 2.2: window scale. */
        o->present = UTCP_OPT_MSS;
        o->mss = c->rcv_mss;
        if (c->ws_ok || offer) {
            o->present |= UTCP_OPT_WSCALE;
            o->wscale = c->rcv_wscale;
        }
        /* RFC 2018 2: SACK-permitted in a SYN; in a SYN+ACK only when the
         * peer's SYN had it. */
        if (c->sack_ok || (offer && !c->opt.no_sack))
            o->present |= UTCP_OPT_SACK_PERM;
    }
    /* RFC 7323 3.2: TSopt in our SYN, in a SYN+ACK only when the SYN had
     * it, then in every segment once negotiated (in a RST too: 5.2 says
     * SHOULD for an abort). TSecr = TS.Recent (4.3 (3)), 0 without ACK. */
    if (c->ts_ok || (offer && !c->opt.no_ts)) {
        o->present |= UTCP_OPT_TS;
        o->ts_val = utcp__ts_now(s->now, c->ts_offset);
        o->ts_ecr = (flags & UTCP_TH_ACK) ? c->ts_recent : 0;
    }
    /* RFC 2018 4: SACK blocks in ACKs while out-of-order data is held; 3
     * with timestamps, else 4 (40 option bytes). A data segment carries
     * only what fits beside its payload within the MSS (which already
     * accounts for TSopt, RFC 7323 / RFC 9293 3.7.1). */
    if (c->sack_ok && c->ooo->n && (flags & UTCP_TH_ACK) && !syn &&
        !(flags & UTCP_TH_RST)) {
        unsigned max = c->ts_ok ? 3u : 4u;
        if (len) {
            uint32_t room = c->mss > len ? c->mss - len : 0;
            unsigned fit = room >= 12 ? (unsigned)((room - 4) / 8) : 0;
            max = fit < max ? fit : max;
        }
        utcp__sack_fill(c, o, max);
    }
}

/* Pacing (draft-cardwell-iccrg-bbr-congestion-control 4.2.1, Linux's
 * internal pacing, tcp_update_skb_after_send): each data segment moves the
 * next departure len / pacing_rate later. Output may run up to PACE_SLACK
 * ahead of it, so a burst of about 1 ms leaves per wake-up (Linux sizes
 * its TSO bursts to 1 ms of pacing for the same reason: the cost of a
 * timer per 1448-byte packet at high rates). */
#define PACE_SLACK UTCP_MS(1)

static void pace_sent(struct utcp_stack *s, struct utcp_conn *c, uint32_t len)
{
    uint64_t rate = utcp__pacing_rate(c);
    if (!rate || !len)
        return;
    utcp_time from = c->pace_next > s->now ? c->pace_next : s->now;
    c->pace_next = from + (uint64_t)len * 1000000u / rate;
}

bool utcp__pace_wait(struct utcp_stack *s, struct utcp_conn *c)
{
    /* Not after a timeout until an ACK arrives (rtx_count): at a low rate
     * the retransmission could wait past the next timeout, and every
     * backed-off timeout would count as unanswered (found by test_random
     * at 27% loss with a 2 KiB window: the connection gave up). */
    if (!utcp__pacing_rate(c) || c->rtx_count ||
        c->pace_next <= s->now + PACE_SLACK) {
        c->t_pace = UTCP_TIME_NEVER;
        return false;
    }
    c->t_pace = c->pace_next - PACE_SLACK;
    return true;
}

/* A retransmission is about to go out: counters, the TSval it carries
 * (RFC 7323 RTTM and the Eifel check) and a trace event. */
static void count_rexmit(struct utcp_stack *s, struct utcp_conn *c)
{
    s->ctr.RetransSegs++;
    c->retransmits++;
    c->ts_rexmit = utcp__ts_now(s->now, c->ts_offset);
    struct utcp_trace_event ev = {0};
    ev.kind = UTCP_TRACE_RETRANSMIT;
    ev.conn_id = c->id;
    utcp__trace(s, &ev);
}

/* Whether the segment needs utcp_ipv4_tcp_build_ex: a SYN (MSS, window
 * scale, SACK-permitted), a RST (no window), SACK blocks, or a payload
 * whose checksum the link completes; else utcp_ipv4_tcp_build_plain writes
 * the same bytes for less work. */
static bool needs_general_build(const struct utcp_stack *s,
                                const struct utcp_conn *c, uint8_t flags,
                                uint32_t len)
{
    return (flags & (UTCP_TH_SYN | UTCP_TH_RST)) ||
           (c->sack_ok && c->ooo->n && (flags & UTCP_TH_ACK)) ||
           (len && (s->cfg.offload & UTCP_OFFLOAD_TX_CSUM));
}

/* Writes the headers of a segment without SYN, RST or SACK blocks in
 * front of its payload (already at buf + hdr_len, summed to psum). The
 * fields are set_options' and the general path's for such a segment. */
static size_t build_plain(struct utcp_stack *s, struct utcp_conn *c,
                          uint8_t *buf, size_t cap, utcp_seq seq,
                          uint8_t flags, uint32_t len, uint32_t psum)
{
    struct utcp_tcp_plain h;
    h.src = c->tuple.laddr;
    h.dst = c->tuple.raddr;
    h.ip_id = s->ip_id++;
    h.ttl = (uint8_t)s->cfg.ttl;
    h.df = true;
    h.sport = c->tuple.lport;
    h.dport = c->tuple.rport;
    h.seq = seq;
    h.ack = (flags & UTCP_TH_ACK) ? c->rcv_nxt : 0;
    h.flags = flags;
    h.win = window_field(c, false);
    /* RFC 7323 3.2: TSopt in every segment once negotiated; TSecr =
     * TS.Recent (4.3 (3)), 0 without ACK. */
    h.ts = c->ts_ok;
    h.ts_val = h.ts ? utcp__ts_now(s->now, c->ts_offset) : 0;
    h.ts_ecr = (h.ts && (flags & UTCP_TH_ACK)) ? c->ts_recent : 0;
    return utcp_ipv4_tcp_build_plain(buf, cap, &h, len, psum);
}

/* The headers of any segment for the general builder: every flag and
 * option (set_options). */
static void prepare_general(struct utcp_stack *s, struct utcp_conn *c,
                            struct utcp_ipv4 *ip, struct utcp_tcp *th,
                            utcp_seq seq, uint8_t flags, uint32_t len)
{
    utcp__ip_out(s, ip, c->tuple.laddr, c->tuple.raddr);
    ip->proto = UTCP_IPPROTO_TCP;
    *th = (struct utcp_tcp){0};
    th->sport = c->tuple.lport;
    th->dport = c->tuple.rport;
    th->seq = seq;
    th->flags = flags;
    bool syn = (flags & UTCP_TH_SYN) != 0;
    if (flags & UTCP_TH_ACK)
        th->ack = c->rcv_nxt;
    if (!(flags & UTCP_TH_RST))
        th->win = window_field(c, syn);
    set_options(s, c, &th->opts, flags, len);
}

/* Builds and emits one segment of connection c. off/len: payload from the
 * send queue (off relative to sndq's first byte). */
static void send_seg(struct utcp_stack *s, struct utcp_conn *c, utcp_seq seq,
                     uint8_t flags, uint32_t off, uint32_t len)
{
    bool general = needs_general_build(s, c, flags, len);
    struct utcp_ipv4 ip;
    struct utcp_tcp th;
    size_t at = UTCP_IPV4_HDR_LEN + UTCP_TCP_HDR_LEN;
    if (general) {
        prepare_general(s, c, &ip, &th, seq, flags, len);
        at += utcp_tcp_opts_len(&th.opts);
    } else if (c->ts_ok) {
        at += 12; /* NOP, NOP, TSopt */
    }
    unsigned bf = 0;
    uint32_t psum = 0;
    if (at + len > s->pkt_cap)
        return; /* cannot happen: pkt_cap covers any segment */
    /* Build in the link's memory when it lends some (one copy less),
     * else in our own buffer. */
    uint8_t *buf = s->pkt;
    size_t cap = s->pkt_cap;
    if (s->cfg.output_buf) {
        uint8_t *lb = s->cfg.output_buf(s->cfg.output_ctx, c->tuple.raddr,
                                        at + len);
        if (lb) {
            buf = lb;
            cap = at + len;
        }
    }
    if (len) {
        /* Copy the payload straight to its place in the packet; the
         * builder then only checksums it (wire.h allows a payload already
         * at buf + header length). */
        if (s->cfg.offload & UTCP_OFFLOAD_TX_CSUM) {
            utcp__ring_peek(&c->sndq, off, buf + at, len);
            /* Data segments leave the checksum to the link when it
             * offers to complete it. */
            bf |= UTCP_BUILD_CSUM_PARTIAL;
        } else {
            /* copy and checksum in one pass over the payload */
            psum = utcp__ring_peek_csum(&c->sndq, off, buf + at, len);
            bf |= UTCP_BUILD_PAYLOAD_SUMMED;
        }
    }
    size_t n = general ? utcp_ipv4_tcp_build_ex(buf, cap, &ip, &th,
                                                len ? buf + at : NULL, len,
                                                bf, psum)
                       : build_plain(s, c, buf, cap, seq, flags, len, psum);
    if (!n)
        return; /* cannot happen: pkt_cap covers MTU-sized segments */
    if (flags & UTCP_TH_ACK)
        c->last_ack_sent = c->rcv_nxt; /* RFC 7323 4.3 (1): Last.ACK.sent */
    if (flags & (UTCP_TH_ACK | UTCP_TH_RST)) {
        /* Any segment carrying an ACK acknowledges all we have. */
        c->delack_segs = 0;
        c->t_delack = UTCP_TIME_NEVER;
        c->ack_sent = true;
        c->ack_held = false; /* its batch slot stays, skipped at the end */
    }
    if (flags & UTCP_TH_RST)
        s->ctr.OutRsts++;
    struct utcp_output_meta meta = {0, 0, false};
    meta.csum_partial = (bf & UTCP_BUILD_CSUM_PARTIAL) != 0;
    meta.hdr_len = (uint16_t)at;
    /* A TSO segment (output_one): the link cuts it at our MSS, each piece
     * with a copy of these headers and options. */
    if (len > c->mss)
        meta.gso_size = c->mss;
    utcp__emit_meta(s, c, buf, n, &meta);
    pace_sent(s, c, len);
}

void utcp__send_syn(struct utcp_stack *s, struct utcp_conn *c)
{
    uint8_t flags = UTCP_TH_SYN;
    if (c->state != UTCP_SYN_SENT)
        flags |= UTCP_TH_ACK;
    if (seq_gt(c->snd_max, c->iss)) {
        s->ctr.RetransSegs++;
        c->ts_rexmit = utcp__ts_now(s->now, c->ts_offset);
    } else {
        s->ctr.OutSegs++;
    }
    send_seg(s, c, c->iss, flags, 0, 0);
    c->snd_nxt = c->iss + 1;
    if (seq_lt(c->snd_max, c->snd_nxt))
        c->snd_max = c->snd_nxt;
    if (c->t_rtx == UTCP_TIME_NEVER)
        utcp__rtx_arm(s, c);
}

void utcp__send_ack(struct utcp_stack *s, struct utcp_conn *c)
{
    /* RFC 9293 3.10.7.4: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, where SND.NXT
     * is the next new sequence number: snd_max. After a timeout snd_nxt
     * goes back to snd_una for the retransmission; an ACK carrying that
     * older number would fall below the peer's RCV.NXT and be found
     * unacceptable, and if the peer is in the same position the two
     * answer each other's ACKs forever without either ACK field being
     * processed (FreeBSD tcp_output uses snd_max here for that reason).
     * But never beyond the right edge of the peer's window (as Linux's
     * tcp_acceptable_seq): after a zero-window probe, snd_max lies past a
     * closed window and a zero-window receiver would drop the ACK unread
     * (RFC 9293 3.10.7.4: with RCV.WND zero only SEG.SEQ = RCV.NXT is
     * acceptable). */
    utcp_seq edge = c->snd_una + c->snd_wnd;
    s->ctr.OutSegs++;
    send_seg(s, c, seq_gt(c->snd_max, edge) ? edge : c->snd_max, UTCP_TH_ACK,
             0, 0);
    utcp__timer_update(s, c);
}

void utcp__send_rst_conn(struct utcp_stack *s, struct utcp_conn *c)
{
    /* RFC 9293 3.10.4 ABORT: <SEQ=SND.NXT><CTL=RST>; with ACK as Linux
     * does so the peer can validate it in any state. */
    s->ctr.OutSegs++;
    /* snd_max, not a retransmission's snd_nxt: see utcp__send_ack. */
    send_seg(s, c, c->snd_max, UTCP_TH_RST | UTCP_TH_ACK, 0, 0);
}

void utcp__send_rst_reply(struct utcp_stack *s, const struct utcp_ipv4 *ip,
                          const struct utcp_tcp *th)
{
    /* RFC 9293 3.10.7.1: never answer a RST. */
    if (th->flags & UTCP_TH_RST)
        return;
    struct utcp_ipv4 oip;
    utcp__ip_out(s, &oip, ip->dst, ip->src);
    struct utcp_tcp r = {0};
    r.sport = th->dport;
    r.dport = th->sport;
    if (th->flags & UTCP_TH_ACK) {
        /* <SEQ=SEG.ACK><CTL=RST> */
        r.seq = th->ack;
        r.flags = UTCP_TH_RST;
    } else {
        /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK> */
        uint32_t seglen = (uint32_t)th->payload_len +
                          ((th->flags & UTCP_TH_SYN) ? 1u : 0u) +
                          ((th->flags & UTCP_TH_FIN) ? 1u : 0u);
        r.seq = 0;
        r.ack = th->seq + seglen;
        r.flags = UTCP_TH_RST | UTCP_TH_ACK;
    }
    /* No TSopt. RFC 7323 5.2 recommends one with TSval zero here, but Linux
     * runs PAWS on a RST while TS.Recent is younger than 60 s, so a TSval
     * of zero gets it dropped about half the time (the sign of the
     * difference), and a kernel TIME_WAIT then outlives every SYN we
     * retry; Linux's own RSTs never carry timestamps (interop with the
     * kernel found this). */
    size_t n = utcp_ipv4_tcp_build(s->pkt, s->pkt_cap, &oip, &r, NULL, 0);
    if (!n)
        return;
    s->ctr.OutRsts++;
    s->ctr.OutSegs++;
    utcp__emit(s, NULL, s->pkt, n);
}

/* Bytes of the send queue not yet sent (sequence-wise past snd_nxt). */
static uint32_t unsent_off(const struct utcp_conn *c)
{
    int32_t d = seq_diff(c->snd_nxt, c->sndq_seq);
    return d < 0 ? 0 : (uint32_t)d;
}

/* The largest payload of one segment carrying new data: the MSS, or with
 * TSO (utcp_config.tso_max) the largest multiple of it the link takes. */
static uint32_t seg_max(const struct utcp_stack *s, const struct utcp_conn *c,
                        bool tso)
{
    if (!tso || !s->cfg.tso_max || !c->mss || seq_lt(c->snd_nxt, c->snd_max))
        return c->mss; /* retransmissions stay within one MSS */
    uint32_t m = s->cfg.tso_max / c->mss * c->mss;
    /* BBR: a burst of about 1 ms at the pacing rate (Linux
     * bbr_tso_segs_goal), not the whole 64 KiB at a low rate */
    uint32_t goal = utcp__bbr_tso_bytes(c);
    if (goal && goal < m)
        m = goal;
    return m > c->mss ? m : c->mss;
}

/* Sends one data/FIN segment starting at snd_nxt, within min(snd_wnd,
 * cwnd); returns false when nothing may be sent. tso: new data may leave
 * as one TSO segment of several MSS (see seg_max). */
static bool output_one(struct utcp_stack *s, struct utcp_conn *c,
                       uint32_t cwnd, bool tso)
{
    uint32_t hole = UINT32_MAX;
    if (c->sacked->n && seq_lt(c->snd_nxt, c->snd_max)) {
        /* Going back after a timeout: skip what the receiver has SACKed
         * since (RFC 6675 5.1). */
        utcp_seq q = c->snd_nxt;
        hole = utcp__sack_skip(c, &q);
        c->snd_nxt = seq_min(q, c->snd_max);
    }
    uint32_t off = unsent_off(c);
    uint32_t avail = off < c->sndq.len ? c->sndq.len - off : 0;
    bool fin_pending = c->fin_queued &&
                       seq_leq(c->snd_nxt, c->sndq_seq + c->sndq.len);
    if (!avail && !fin_pending)
        return false;

    uint32_t inflight = (uint32_t)seq_diff(c->snd_nxt, c->snd_una);
    uint32_t wnd = utcp_min_u32(c->snd_wnd, cwnd);
    uint32_t usable = wnd > inflight ? wnd - inflight : 0;
    uint32_t len = utcp_min_u32(utcp_min_u32(avail, usable), seg_max(s, c, tso));
    bool hole_cut = hole < len; /* a retransmission up to a SACKed range */
    if (hole_cut)
        len = hole;
    bool fin = fin_pending && len == avail;
    if (len > c->mss && len % c->mss &&
        !(len == avail && (c->opt.nodelay || fin))) {
        /* A TSO segment ends on a whole MSS unless the short tail would
         * leave at once one MSS at a time too (all the data, with NODELAY
         * or the FIN): a window-limited tail, or one Nagle holds behind
         * the full segments, goes through the SWS and Nagle checks below
         * on the next call, exactly as without TSO. */
        len -= len % c->mss;
        fin = false;
    }

    if (len < avail || (len == 0 && !fin)) {
        /* Window-limited. RFC 1122 4.2.3.4 sender SWS avoidance: send a
         * full segment, or at least half the largest window the peer has
         * offered; else wait for the window to open (or the persist
         * timer). */
        if (!hole_cut && len < c->mss && len < c->max_snd_wnd / 2)
            len = 0;
        if (!len)
            return false;
        fin = false;
    } else if (len < c->mss && !fin && !c->opt.nodelay && inflight > 0) {
        /* RFC 896 / RFC 1122 4.2.3.4: Nagle, hold a small segment while
         * data is unacknowledged. */
        return false;
    }

    if (s->cfg.output_busy && s->cfg.output_busy(s->cfg.output_ctx)) {
        /* The link's queue is full enough (utcp_output_busy_fn): the data
         * stays in the send queue; an ACK or this timer sends it. */
        s->ctr.LinkBusyWaits++;
        c->t_pace = s->now + UTCP_LINK_RETRY_US;
        return false;
    }
    utcp_seq seq = c->snd_nxt;
    uint8_t flags = UTCP_TH_ACK;
    if (fin)
        flags |= UTCP_TH_FIN;
    if (len && off + len == c->sndq.len)
        flags |= UTCP_TH_PSH;
    bool rexmit = seq_lt(seq, c->snd_max);
    if (rexmit) {
        count_rexmit(s, c);
    } else {
        s->ctr.OutSegs++;
    }
    /* The user timeout (UTCP_OPT_USER_TIMEOUT) counts from the first
     * transmission of the oldest unacknowledged data: a retransmission
     * must not restart it, or it would never expire. */
    if (seq == c->snd_una && !rexmit)
        c->una_since = s->now;
    send_seg(s, c, seq, flags, off, len);
    utcp__rack_sent(s, c, seq, len + (fin ? 1u : 0u)); /* RFC 8985 6.1 */
    c->snd_nxt = seq + len + (fin ? 1u : 0u);
    if (seq_gt(c->snd_nxt, c->snd_max)) {
        c->snd_max = c->snd_nxt;
    }
    /* RFC 6298 (5.1): start the timer if it is not running. Time one
     * segment per RTT, never a retransmitted one (Karn). With RACK the
     * records time every segment (utcp__ack_rtt_records) and know which
     * were resent; a segment timed apart from them would only be
     * consulted when all the records an ACK delivered were resent: it was
     * then either resent too (a loss probe does not stop the timing) or
     * SACKed earlier, and the sample would count the repair in. */
    if (!rexmit && !c->rtt_active && !utcp__rack_on(c)) {
        c->rtt_active = true;
        c->rtt_seq = seq;
        c->rtt_start = s->now;
    }
    if (c->t_rtx == UTCP_TIME_NEVER || c->persist) {
        c->persist = false;
        utcp__rtx_arm(s, c);
    }
    return true;
}

void utcp__output(struct utcp_stack *s, struct utcp_conn *c)
{
    if (!utcp_state_synchronized(c->state) || c->state == UTCP_TIME_WAIT)
        return;
    bool sent = false;
    utcp_seq max0 = c->snd_max;
    if (c->in_recovery && utcp__rack_on(c))
        sent = utcp__rack_output(s, c); /* RFC 6675 5 (C), RFC 8985 */
    else if (c->in_recovery && c->sack_ok)
        sent = utcp__sack_output(s, c); /* RFC 6675 5 (C) */
    else
        while (!utcp__pace_wait(s, c) && output_one(s, c, c->cwnd, true))
            sent = true;
    /* draft-cheng-iccrg-delivery-rate-estimation 3.3: application-limited
     * when nothing is left to send, nothing is to be resent and the pipe
     * is below cwnd: the rate samples of this flight do not measure the
     * path */
    if (utcp__rack_on(c) && unsent_off(c) >= c->sndq.len && !c->in_recovery) {
        uint32_t flight = (uint32_t)seq_diff(c->snd_max, c->snd_una);
        if (flight < c->cwnd)
            c->rack.app_limited = utcp_max_u64(c->rack.delivered + flight, 1);
    }
    /* RFC 9293 3.8.6.1: with data waiting, a zero window and nothing in
     * flight, the persist timer probes the window. RFC 1122 4.2.3.4: the
     * same timer is the sender SWS "override timeout" when the window is
     * open but too small to send (else the loss of the window update
     * that follows would stall the connection for ever). */
    uint32_t off = unsent_off(c);
    if (!sent && off < c->sndq.len && c->snd_nxt == c->snd_una &&
        c->t_rtx == UTCP_TIME_NEVER &&
        c->t_pace == UTCP_TIME_NEVER) { /* not when pacing or the link
                                           holds it */
        c->persist = true;
        c->rtx_count = 0;
        utcp__rtx_arm(s, c);
    }
    /* RFC 8985 7.2: the PTO after new data (or an ACK of new data) */
    if (utcp__rack_on(c))
        utcp__tlp_schedule(s, c, seq_gt(c->snd_max, max0));
    utcp__timer_update(s, c);
}

void utcp__retransmit_una(struct utcp_stack *s, struct utcp_conn *c)
{
    /* Resend one segment from snd_una, then restore snd_nxt. */
    utcp_seq save = c->snd_nxt;
    uint32_t save_cwnd = c->cwnd;
    c->snd_nxt = c->snd_una;
    c->cwnd = c->mss + (uint32_t)seq_diff(c->snd_nxt, c->snd_una);
    uint32_t wnd = c->snd_wnd;
    if (c->snd_wnd < c->mss)
        c->snd_wnd = c->mss; /* the segment was within the window before */
    output_one(s, c, c->cwnd, false);
    c->snd_wnd = wnd;
    c->cwnd = save_cwnd;
    if (seq_gt(save, c->snd_nxt))
        c->snd_nxt = save;
}

bool utcp__send_new(struct utcp_stack *s, struct utcp_conn *c)
{
    /* RFC 6675 4 NextSeg (2): the pipe, not cwnd, limits this send. */
    if (c->snd_nxt != c->snd_max)
        return false;
    /* one MSS per call: the caller recounts the pipe after each */
    return output_one(s, c, UINT32_MAX, false);
}

void utcp__send_rexmit(struct utcp_stack *s, struct utcp_conn *c, utcp_seq seq,
                       uint32_t len)
{
    utcp_seq data_end = c->sndq_seq + c->sndq.len;
    if (seq_lt(seq, c->sndq_seq) || !len)
        return; /* the SYN: never in a SACK hole */
    uint32_t off = (uint32_t)seq_diff(seq, c->sndq_seq);
    uint32_t n = seq_lt(seq, data_end)
                     ? utcp_min_u32(len, (uint32_t)seq_diff(data_end, seq))
                     : 0;
    /* the FIN, when it was sent and the range reaches it */
    bool fin = c->fin_queued && seq_gt(c->snd_max, data_end) &&
               seq_gt(seq + len, data_end);
    if (!n && !fin)
        return;
    uint8_t flags = UTCP_TH_ACK;
    if (fin)
        flags |= UTCP_TH_FIN;
    if (n && off + n == c->sndq.len)
        flags |= UTCP_TH_PSH;
    count_rexmit(s, c);
    send_seg(s, c, seq, flags, off, n);
    utcp__rack_sent(s, c, seq, n + (fin ? 1u : 0u)); /* RFC 8985 6.1 */
    /* RFC 6298 (5.1) */
    if (c->t_rtx == UTCP_TIME_NEVER || c->persist) {
        c->persist = false;
        utcp__rtx_arm(s, c);
    }
}

void utcp__send_probe(struct utcp_stack *s, struct utcp_conn *c)
{
    /* RFC 9293 3.8.6.1 / RFC 1122 4.2.2.17: one byte beyond a zero window
     * (from snd_una: the previous probe's byte again, if any). RFC 1122
     * 4.2.3.4: with a small open window, the override timeout sends what
     * the window allows. */
    utcp_seq seq = c->snd_una;
    uint32_t off = (uint32_t)seq_diff(seq, c->sndq_seq);
    if (seq_lt(seq, c->sndq_seq))
        off = 0; /* cannot happen: persist needs the SYN acknowledged */
    s->ctr.ZeroWindowProbes++;
    c->ts_rexmit = utcp__ts_now(s->now, c->ts_offset); /* may repeat */
    if (off < c->sndq.len) {
        uint32_t len = 1;
        if (c->snd_wnd > 0)
            len = utcp_min_u32(utcp_min_u32(c->snd_wnd, c->mss),
                               c->sndq.len - off);
        send_seg(s, c, seq, UTCP_TH_ACK, off, len);
        utcp__rack_sent(s, c, seq, len);
        if (seq_gt(seq + len, c->snd_nxt))
            c->snd_nxt = seq + len;
        if (seq_gt(c->snd_nxt, c->snd_max))
            c->snd_max = c->snd_nxt;
    } else {
        send_seg(s, c, c->snd_una - 1, UTCP_TH_ACK, 0, 0);
    }
}

void utcp__send_keepalive(struct utcp_stack *s, struct utcp_conn *c)
{
    /* RFC 1122 4.2.3.6: SEG.SEQ = SND.NXT - 1, no data: the peer answers
     * with an ACK. */
    s->ctr.KeepaliveProbes++;
    s->ctr.OutSegs++;
    send_seg(s, c, c->snd_una - 1, UTCP_TH_ACK, 0, 0);
}
