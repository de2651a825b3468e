/*
 * SEGMENT ARRIVES, in the order of RFC 9293 3.10.7: LISTEN (3.10.7.2),
 * SYN-SENT (3.10.7.3), then the synchronized states (3.10.7.4): sequence
 * check, RST (with RFC 5961 3), SYN (RFC 5961 4), ACK (RFC 5961 5), text,
 * FIN. TIME-WAIT follows RFC 9293 and RFC 1337. Timestamps: PAWS, TS.Recent
 * and RTTM (RFC 7323 3-5); SACK: the scoreboard update and the duplicate
 * ACKs of RFC 6675. Never trusts a field of the segment beyond what the
 * wire layer validated; never answers a RST.
 */
#include <string.h>

#include "stack/stack.h"
#include "tcp/conn.h"

void utcp__child_established(struct utcp_stack *s, struct utcp_conn *c);

/* A segment as the engine sees it: may be trimmed as it goes. */
struct seg {
    const struct utcp_ipv4 *ip;
    const struct utcp_tcp *th;
    utcp_seq seq;       /* after trimming */
    utcp_seq seq0;      /* as received */
    const uint8_t *data;
    uint32_t len;       /* payload bytes (after trimming) */
    uint8_t flags;      /* SYN/FIN may be cleared by trimming */
    uint32_t wnd;       /* raw window field */
    bool ack_now;       /* part of it lay beyond the window: ACK at once */
    bool ts_stale;      /* TS.Recent was invalid (RFC 7323 5.5) */
};

enum step { STEP_CONTINUE, STEP_DONE, STEP_GONE };

static void drop(struct utcp_stack *s, struct utcp_conn *c,
                 const struct seg *g, int reason)
{
    s->ctr.DroppedSegs++;
    utcp__trace_drop(s, c, g->ip, reason);
}

/* ---------------------------------------------------------------------
 * RFC 7323 timestamps: PAWS (5.3), TS.Recent (4.3), RTTM (4.1)
 * --------------------------------------------------------------------- */
static bool seg_has_ts(const struct utcp_conn *c, const struct utcp_tcp *th)
{
    /* 3.2: a TSopt on a connection that did not negotiate it is ignored;
     * information in a RST's TSopt never updates the connection (5.2). */
    return c->ts_ok && (th->opts.present & UTCP_OPT_TS) &&
           !(th->flags & UTCP_TH_RST);
}

/* A duplicate ACK overtaken by a later segment, as Linux's
 * tcp_disordered_ack: a pure ACK at RCV.NXT that acknowledges nothing new
 * and would not update the window, with a TSval less than an RTO behind
 * TS.Recent. PAWS would drop it, and with it the SACK blocks it may carry
 * and a duplicate ACK that RFC 6675 counts; it can do no harm: accepted
 * (TS.Recent stays, its TSval being older). */
static bool disordered_ack(const struct utcp_conn *c, const struct seg *g)
{
    const struct utcp_tcp *th = g->th;
    uint32_t wnd = (uint32_t)g->wnd << c->snd_wscale;
    uint32_t behind = c->ts_recent - th->opts.ts_val;
    return (th->flags & UTCP_TH_ACK) && g->len == 0 &&
           !(th->flags & (UTCP_TH_SYN | UTCP_TH_FIN)) &&
           g->seq == c->rcv_nxt && th->ack == c->snd_una &&
           !seq_gt(g->seq, c->snd_wl1) &&
           !(g->seq == c->snd_wl1 && wnd > c->snd_wnd) &&
           behind <= c->rto / 1000u;
}

/* RFC 7323 5.3 R1: a segment whose TSval is older than TS.Recent is not
 * acceptable: ACK it and drop it. Returns true when dropped. A segment
 * without TSopt is accepted (RFC 7323 3.2 says SHOULD drop; Linux and BSD
 * accept it, as 3.2 notes some implementations do). */
static bool paws_reject(struct utcp_stack *s, struct utcp_conn *c,
                        struct seg *g)
{
    if (!seg_has_ts(c, g->th) ||
        !utcp__ts_lt(g->th->opts.ts_val, c->ts_recent))
        return false;
    /* RFC 7323 5.5: TS.Recent idle for more than 24 days is invalid: the
     * segment is accepted and R3 takes its TSval. */
    if (s->now - c->ts_recent_age > UTCP_SEC(24ull * 24 * 3600)) {
        g->ts_stale = true;
        return false;
    }
    if (disordered_ack(c, g))
        return false;
    s->ctr.PawsDrops++;
    drop(s, c, g, UTCP_DROP_PAWS);
    utcp__send_ack(s, c);
    return true;
}

/* RFC 7323 5.3 R3 (4.3 (2)): TS.Recent = SEG.TSval when SEG.TSval >=
 * TS.Recent and SEG.SEQ <= Last.ACK.sent: the echo then names the
 * earliest segment not yet acknowledged (delayed ACKs) or the last one
 * that advanced RCV.NXT (holes). */
static void ts_update_recent(struct utcp_stack *s, struct utcp_conn *c,
                             const struct seg *g)
{
    if (!seg_has_ts(c, g->th))
        return;
    if ((g->ts_stale || !utcp__ts_lt(g->th->opts.ts_val, c->ts_recent)) &&
        seq_leq(g->seq0, c->last_ack_sent)) {
        c->ts_recent = g->th->opts.ts_val;
        c->ts_recent_age = s->now;
    }
}

/* RFC 7323 appendix G: ExpectedSamples = ceiling(FlightSize / (SMSS * 2)),
 * the samples an RTT brings when every ACK gives one (an ACK for every
 * second segment); at least 1. `flight`: bytes outstanding before the
 * ACK. */
static uint32_t expected_samples(const struct utcp_conn *c, uint32_t flight)
{
    uint32_t two = 2u * c->mss;
    uint32_t expected = flight / two + (flight % two ? 1u : 0u);
    return expected ? expected : 1u;
}

/* RFC 7323 4.1 RTTM: the TSecr of an ACK that advances SND.UNA gives an
 * RTT sample, retransmissions or not: the echo names the transmission, so
 * Karn's rule does not apply. One exception: an echo older than our last
 * retransmission may come in an ACK that the retransmission triggered (the
 * ACK of the original was lost: the receiver echoes TS.Recent, the
 * original's TSval, 4.3); such a sample would count the RTO in, and RTOs
 * would feed on themselves. It is skipped (the reasoning of Eifel, RFC
 * 3522). `flight`: bytes outstanding before the ACK, for the weights of
 * appendix G. Returns true when a sample was taken. */
static bool ts_rtt_sample(struct utcp_stack *s, struct utcp_conn *c,
                          const struct utcp_tcp *th, uint32_t flight)
{
    if (!seg_has_ts(c, th) || !(th->flags & UTCP_TH_ACK) ||
        th->opts.ts_ecr == 0)
        return false; /* 0: the peer echoed nothing (as Linux skips it) */
    uint32_t now = utcp__ts_now(s->now, c->ts_offset);
    if (now - c->ts_rexmit > 0x40000000u)
        c->ts_rexmit = now - 0x40000000u; /* stays comparable (5.2) */
    if (utcp__ts_lt(th->opts.ts_ecr, c->ts_rexmit))
        return false;
    uint32_t ms = now - th->opts.ts_ecr;
    if (ms > 4000000u)
        return false; /* an echo from the future, or garbage */
    /* The clock ticks in milliseconds (5.4): a difference of 0 ticks says
     * the RTT is under one tick, and the tick is its bound (as Linux
     * counts it), never 0 or 1 us: SRTT, the RTO and RACK's min_RTT would
     * collapse on a sub-millisecond path. */
    uint32_t us = ms ? ms * 1000u : 1000u;
    s->ctr.TsRttSamples++;
    utcp__rtt_sample_n(s, c, us, expected_samples(c, flight));
    return true;
}

void utcp__ack_rtt_records(struct utcp_stack *s, struct utcp_conn *c,
                           const struct utcp_tcp *th, uint32_t rec_us,
                           bool advanced, uint32_t flight)
{
    uint32_t rto = c->rto;
    if (rec_us) {
        /* RFC 6298 (2.3) with RFC 7323 appendix G's weights: a sample for
         * (nearly) every ACK, as the timestamps give one */
        s->ctr.RecRttSamples++;
        utcp__rtt_sample_n(s, c, rec_us, expected_samples(c, flight));
    } else if (!advanced || !ts_rtt_sample(s, c, th, flight)) {
        return;
    }
    /* on_new_ack armed the RTO with the old estimate: from the new one,
     * as when the sample came first (RFC 6298 (5.3)) */
    if (advanced && c->rto != rto && c->t_rtx != UTCP_TIME_NEVER && !c->persist)
        utcp__rtx_arm(s, c);
}

/* RFC 5961 3.2, 4.2, 5.2: a challenge ACK, rate-limited per stack
 * (RFC 5961 7). */
static void challenge_ack(struct utcp_stack *s, struct utcp_conn *c,
                          const struct seg *g, int reason)
{
    drop(s, c, g, reason);
    if (s->now - s->challenge_window_start >= UTCP_SEC(1)) {
        s->challenge_window_start = s->now;
        s->challenge_count = 0;
    }
    if (s->challenge_count >= UTCP_CHALLENGE_ACK_LIMIT) {
        utcp__trace_drop(s, c, g->ip, UTCP_DROP_CHALLENGE_LIMIT);
        return;
    }
    s->challenge_count++;
    s->ctr.ChallengeAcks++;
    utcp__send_ack(s, c);
}

/* Options of a SYN: RFC 9293 3.7.1 (MSS), RFC 7323 2.2 (window scale),
 * RFC 7323 3.2 (timestamps), RFC 2018 2 (SACK-permitted). */
static void apply_syn_options(struct utcp_stack *s, struct utcp_conn *c,
                              const struct utcp_tcp *th)
{
    /* RFC 7323 3.2: timestamps when both SYNs carry TSopt (ours is sent
     * unless disabled, and a SYN+ACK only answers one that had it). */
    c->ts_ok = !c->opt.no_ts && (th->opts.present & UTCP_OPT_TS);
    if (c->ts_ok) {
        c->ts_recent = th->opts.ts_val; /* PAWS starts here (5.2) */
        c->ts_recent_age = s->now;
    }
    /* RFC 2018 2: SACK when both SYNs carry SACK-permitted. */
    c->sack_ok = !c->opt.no_sack && (th->opts.present & UTCP_OPT_SACK_PERM);
    uint32_t mss = (th->opts.present & UTCP_OPT_MSS) ? th->opts.mss : 536u;
    uint32_t ours = c->rcv_mss; /* the same link both ways */
    if (c->opt.maxseg && c->opt.maxseg < ours)
        ours = c->opt.maxseg;
    mss = utcp_min_u32(mss, ours);
    /* RFC 9293 3.7.1 / RFC 7323: the MSS counts no options; the 12 bytes
     * of TSopt in every segment come out of the payload. */
    if (c->ts_ok)
        mss = mss > 12 ? mss - 12 : 0;
    if (mss < 64)
        mss = 64; /* a hostile tiny MSS must not make us send 1-byte
                     segments forever */
    c->mss = (uint16_t)mss;
    if (th->opts.present & UTCP_OPT_WSCALE) {
        c->ws_ok = true;
        /* RFC 7323 2.3: a shift above 14 is treated as 14. */
        c->snd_wscale = th->opts.wscale > 14 ? 14 : th->opts.wscale;
    } else {
        c->ws_ok = false;
        c->snd_wscale = 0;
        c->rcv_wscale = 0;
    }
}

/* ---------------------------------------------------------------------
 * RFC 9293 3.10.7.2: LISTEN
 * --------------------------------------------------------------------- */
static void listen_input(struct utcp_stack *s, struct utcp_conn *l,
                         const struct utcp_ipv4 *ip, const struct utcp_tcp *th,
                         const utcp_seq *iss_floor);

void utcp__listen_input(struct utcp_stack *s, struct utcp_conn *l,
                        const struct utcp_ipv4 *ip, const struct utcp_tcp *th,
                        const utcp_seq *iss_floor)
{
    listen_input(s, l, ip, th, iss_floor);
}

/* iss_floor: when the SYN reopens a 4-tuple held by TIME-WAIT, the new ISS
 * must lie above the old connection's sequence space (RFC 6191 2, RFC
 * 9293 3.10.7.4): at least this value. */
static void listen_input(struct utcp_stack *s, struct utcp_conn *l,
                         const struct utcp_ipv4 *ip, const struct utcp_tcp *th,
                         const utcp_seq *iss_floor)
{
    struct seg g = {ip, th, th->seq, th->seq, th->payload,
                    (uint32_t)th->payload_len, th->flags, th->win, false,
                    false};
    /* first: an incoming RST is ignored */
    if (th->flags & UTCP_TH_RST) {
        drop(s, l, &g, UTCP_DROP_LISTEN_RST);
        return;
    }
    /* second: an ACK is answered with <SEQ=SEG.ACK><CTL=RST> */
    if (th->flags & UTCP_TH_ACK) {
        drop(s, l, &g, UTCP_DROP_LISTEN_ACK);
        utcp__send_rst_reply(s, ip, th);
        return;
    }
    if (!(th->flags & UTCP_TH_SYN)) {
        drop(s, l, &g, UTCP_DROP_LISTEN_NO_SYN);
        return;
    }
    /* third: SYN. Backlog: the accept queue holds `backlog` completed
     * connections, the SYN queue 2*backlog+16 half-open ones; when either
     * is full the SYN is dropped (the client retries), as Linux does
     * without SYN cookies. */
    if (l->accq_len >= l->backlog) {
        s->ctr.ListenOverflows++;
        drop(s, l, &g, UTCP_DROP_ACCEPT_QUEUE_FULL);
        return;
    }
    if (l->synq_len >= 2u * l->backlog + 16u) {
        s->ctr.ListenDrops++;
        drop(s, l, &g, UTCP_DROP_SYN_QUEUE_FULL);
        return;
    }
    struct utcp_conn *c = utcp__conn_new(s);
    if (!c) {
        s->ctr.ListenDrops++;
        drop(s, l, &g, UTCP_DROP_SYN_QUEUE_FULL);
        return;
    }
    c->opt = l->opt;
    utcp__ring_init(&c->sndq, c->opt.sndbuf);
    utcp__ring_init(&c->rcvq, c->opt.rcvbuf);
    c->tuple.laddr = ip->dst;
    c->tuple.lport = th->dport;
    c->tuple.raddr = ip->src;
    c->tuple.rport = th->sport;
    c->passive = true;
    c->state = UTCP_LISTEN; /* a copy of the listener (RFC 9293 3.10.7.2) */
    utcp__conn_init_seq(s, c);
    if (iss_floor && seq_lt(c->iss, *iss_floor)) {
        c->iss = *iss_floor;
        c->snd_una = c->snd_nxt = c->snd_max = c->iss;
        c->sndq_seq = c->iss + 1;
        c->recover = c->iss;
    }
    c->rcv_wscale = utcp__rcv_wscale_for(c->opt.rcvbuf);
    apply_syn_options(s, c, th);
    c->cc->init(s, c);
    /* RCV.NXT = SEG.SEQ+1, IRS = SEG.SEQ; SND.WND from the SYN, never
     * scaled (RFC 7323 2.2). */
    c->irs = th->seq;
    c->rcv_nxt = th->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    c->snd_wnd = th->win;
    c->max_snd_wnd = th->win;
    c->snd_wl1 = th->seq;
    c->snd_wl2 = c->iss;
    c->last_rcv = s->now;
    utcp__port_hold(s, c->tuple.lport);
    c->bound = true;
    /* queue at the listener */
    c->listener = l;
    c->q_prev = NULL;
    c->q_next = l->synq_head;
    if (l->synq_head)
        l->synq_head->q_prev = c;
    l->synq_head = c;
    l->synq_len++;
    utcp__set_state(s, c, UTCP_SYN_RECEIVED, UTCP_CAUSE_RCV_SYN);
    utcp__table_insert(s, c);
    /* Data in the SYN is not kept (no TCP Fast Open): it is not
     * acknowledged, so the peer sends it again. */
    c->rtt_active = true;
    c->rtt_seq = c->iss;
    c->rtt_start = s->now;
    utcp__send_syn(s, c);
}

/* ---------------------------------------------------------------------
 * RFC 9293 3.10.7.4 (the common tail): text and FIN
 * --------------------------------------------------------------------- */
static void ack_now_or_later(struct utcp_stack *s, struct utcp_conn *c,
                             uint32_t len)
{
    /* RFC 1122 4.2.3.2: ACK at least every second full-sized segment,
     * otherwise within the delayed-ACK time (at most 500 ms). */
    /* full-sized: the MSS we advertised less TSopt (RFC 7323). A segment
     * longer than that (a GSO frame the link hands up whole, up to 64 KiB)
     * stands for as many wire segments: two or more of them are ACKed at
     * once, as Linux does when more than one rcv_mss is unacknowledged.
     * (Counting such a frame as one segment made the kernel fall back to
     * single-MSS packets in about half the transfers over TUN, and halved
     * their throughput: docs/tun.md.) */
    uint32_t full = (uint32_t)c->rcv_mss - (c->ts_ok ? 12u : 0u);
    if (len >= full)
        c->delack_segs = (uint8_t)utcp_min_u32(
            (uint32_t)c->delack_segs + len / (full ? full : 1u),
            UTCP_ACK_BATCH_SEGS);
    if (c->delack_segs >= 2 || s->cfg.delack_ms == 0) {
        /* In an input batch the ACK waits for the burst's end (a stretch
         * ACK, as Linux sends for a GRO packet; RFC 5681 4.2's "SHOULD"),
         * for at most UTCP_ACK_BATCH_SEGS segments. */
        bool held = s->batching && s->cfg.delack_ms != 0 &&
                    c->delack_segs < UTCP_ACK_BATCH_SEGS &&
                    utcp__batch_hold_ack(s, c);
        if (!held)
            utcp__send_ack(s, c);
        return;
    }
    if (c->t_delack == UTCP_TIME_NEVER) {
        c->t_delack = s->now + UTCP_MS(s->cfg.delack_ms);
        utcp__timer_update(s, c);
    }
}

/* Accepts in-window data. Returns STEP_GONE when the data had nowhere to
 * go and the connection was reset. */
static enum step step_text(struct utcp_stack *s, struct utcp_conn *c,
                           struct seg *g)
{
    if (!g->len)
        return STEP_CONTINUE;
    if (c->state != UTCP_ESTABLISHED && c->state != UTCP_FIN_WAIT_1 &&
        c->state != UTCP_FIN_WAIT_2) {
        /* CLOSE-WAIT, CLOSING, LAST-ACK, TIME-WAIT: the peer already sent
         * FIN, so this cannot be new data: ignore it. */
        drop(s, c, g, UTCP_DROP_DATA_AFTER_FIN);
        g->len = 0;
        return STEP_CONTINUE;
    }
    if ((!c->sock_idx && !c->listener) || c->rd_shut) {
        /* RFC 1122 4.2.2.13 / RFC 9293 3.10.4: nobody will read this
         * data: reset the connection (as Linux and BSD do). A child still
         * on its listener's accept queue has no handle yet but will be
         * read once accepted: it is not orphaned. */
        drop(s, c, g, UTCP_DROP_DATA_AFTER_CLOSE);
        utcp__send_rst_conn(s, c);
        utcp__conn_close(s, c, UTCP_CAUSE_ABORT, UTCP_ECONNABORTED);
        return STEP_GONE;
    }
    if (g->seq == c->rcv_nxt) {
        uint32_t n;
        if (s->placed.c == c && s->placed.seq == g->seq &&
            s->placed.data == g->data && g->len <= s->placed.len) {
            /* already copied while its checksum was verified (stack.c
             * place_payload): store it (the tail trimmed to the window
             * stays out) */
            utcp__ring_commit(&c->rcvq, g->len);
            n = g->len;
        } else {
            n = utcp__ring_write(&c->rcvq, &s->buf_alloc, g->data, g->len);
        }
        if (n < g->len) {
            /* no memory for the buffer: as if the segment were lost */
            drop(s, c, g, UTCP_DROP_REASS_FULL);
            g->flags &= (uint8_t)~UTCP_TH_FIN;
            g->len = 0;
            return STEP_CONTINUE;
        }
        c->rcv_nxt += n;
        bool filled = c->ooo->n > 0;
        utcp_seq adv = utcp__sb_advance(s, &c->ooo, c->rcv_nxt);
        if (adv != c->rcv_nxt) {
            utcp__ring_commit(&c->rcvq, (uint32_t)seq_diff(adv, c->rcv_nxt));
            c->rcv_nxt = adv;
        }
        utcp__notify(s, c, 0);
        /* RFC 5681 4.2: ACK at once when a segment fills a hole: at the
         * end of the segment's processing (utcp__tcp_input), so the ACK
         * also covers a queued FIN that is now in order. */
        if (filled)
            g->ack_now = true;
        else if (!g->ack_now)
            ack_now_or_later(s, c, n);
        return STEP_CONTINUE;
    }
    /* Out of order (seq > rcv_nxt): keep it in the ring at its offset. */
    uint32_t off = (uint32_t)seq_diff(g->seq, c->rcv_nxt);
    /* The data first: a range (and a SACK block, RFC 2018) must never
     * name bytes that are not held. */
    if (!utcp__ring_write_at(&c->rcvq, &s->buf_alloc, off, g->data, g->len) ||
        !utcp__sb_add(s, &c->ooo, c->rcv_nxt, g->seq, g->seq + g->len)) {
        drop(s, c, g, UTCP_DROP_REASS_FULL);
        g->flags &= (uint8_t)~UTCP_TH_FIN;
    } else {
        s->ctr.OooSegs++;
        utcp__sack_note_recent(c, g->seq); /* RFC 2018 4: first block */
    }
    /* g->len stays: a FIN after this data (step_fin) lies at seq + len. */
    /* RFC 5681 4.2 / RFC 1122 4.2.2.21: immediate (duplicate) ACK. */
    utcp__send_ack(s, c);
    g->ack_now = false;
    return STEP_CONTINUE;
}

/* Processes the FIN at rcv_nxt: RFC 9293 3.10.7.4 eighth. */
static void process_fin(struct utcp_stack *s, struct utcp_conn *c)
{
    c->rcv_nxt++;
    c->fin_rcvd = true;
    c->ooo_fin = false;
    bool our_fin_acked =
        c->fin_queued && seq_gt(c->snd_una, c->sndq_seq + c->sndq.len);
    bool delay = false;
    switch (c->state) {
    case UTCP_ESTABLISHED:
        utcp__set_state(s, c, UTCP_CLOSE_WAIT, UTCP_CAUSE_RCV_FIN);
        /* RFC 1122 4.2.3.2: the ACK of the FIN may be delayed (as Linux
         * does); an application that closes at once on EOF then sends one
         * segment with FIN and the ACK (the three-way close, RFC 9293
         * 3.6). */
        delay = s->cfg.delack_ms != 0;
        break;
    case UTCP_FIN_WAIT_1:
        if (our_fin_acked) {
            utcp__enter_time_wait(s, c, UTCP_CAUSE_RCV_FIN_ACK_OF_FIN);
        } else {
            utcp__set_state(s, c, UTCP_CLOSING, UTCP_CAUSE_RCV_FIN);
        }
        break;
    case UTCP_FIN_WAIT_2:
        utcp__enter_time_wait(s, c, UTCP_CAUSE_RCV_FIN);
        break;
    default:
        break;
    }
    if (!delay) {
        utcp__send_ack(s, c);
    } else if (c->t_delack == UTCP_TIME_NEVER) {
        c->t_delack = s->now + UTCP_MS(s->cfg.delack_ms);
        utcp__timer_update(s, c);
    }
    utcp__notify(s, c, 0);
}

static void step_fin(struct utcp_stack *s, struct utcp_conn *c,
                     const struct seg *g)
{
    if (c->fin_rcvd)
        return;
    if (g->flags & UTCP_TH_FIN) {
        utcp_seq fin_seq = g->seq + g->len;
        if (fin_seq == c->rcv_nxt) {
            process_fin(s, c);
            return;
        }
        if (seq_gt(fin_seq, c->rcv_nxt)) {
            c->ooo_fin = true; /* processed when the data before it is in */
            c->ooo_fin_seq = fin_seq;
        }
    }
    if (c->ooo_fin && c->ooo_fin_seq == c->rcv_nxt)
        process_fin(s, c);
}

/* ---------------------------------------------------------------------
 * RFC 9293 3.10.7.3: SYN-SENT
 * --------------------------------------------------------------------- */
static void syn_sent_input(struct utcp_stack *s, struct utcp_conn *c,
                           struct seg *g)
{
    const struct utcp_tcp *th = g->th;
    bool ack = (g->flags & UTCP_TH_ACK) != 0;
    /* first: the ACK bit */
    if (ack && (seq_leq(th->ack, c->iss) || seq_gt(th->ack, c->snd_max))) {
        drop(s, c, g, UTCP_DROP_SYN_SENT_BAD_ACK);
        utcp__send_rst_reply(s, g->ip, th); /* not if RST (checked there) */
        return;
    }
    bool ack_ok = ack && seq_lt(c->snd_una, th->ack) &&
                  seq_leq(th->ack, c->snd_max);
    /* second: RST (RFC 5961 3.2: acceptable only with an acceptable ACK) */
    if (g->flags & UTCP_TH_RST) {
        if (!ack_ok) {
            drop(s, c, g, UTCP_DROP_SYN_SENT_RST_NO_ACK);
            return;
        }
        utcp__conn_close(s, c, UTCP_CAUSE_RCV_RST, UTCP_ECONNREFUSED);
        return;
    }
    /* fourth: SYN */
    if (!(g->flags & UTCP_TH_SYN)) {
        drop(s, c, g, UTCP_DROP_SYN_SENT_NO_SYN);
        return;
    }
    c->irs = g->seq;
    c->rcv_nxt = g->seq + 1;
    c->rcv_adv = c->rcv_nxt;
    apply_syn_options(s, c, th);
    c->cc->init(s, c);
    c->snd_wnd = g->wnd; /* never scaled in a SYN (RFC 7323 2.2) */
    c->max_snd_wnd = c->snd_wnd;
    c->snd_wl1 = g->seq;
    c->snd_wl2 = th->ack;
    c->last_rcv = s->now;
    g->seq++; /* past the SYN: data, if any, follows */
    g->flags &= (uint8_t)~UTCP_TH_SYN;
    if (ack_ok) {
        c->snd_una = th->ack;
        if (c->rtt_active && c->rtx_count == 0)
            utcp__rtt_sample(s, c, (uint32_t)(s->now - c->rtt_start));
        else
            ts_rtt_sample(s, c, th, 1); /* RFC 7323 4.1, no Karn */
        c->rtt_active = false;
        c->rtx_count = 0;
        c->t_rtx = UTCP_TIME_NEVER;
        utcp__set_state(s, c, UTCP_ESTABLISHED, UTCP_CAUSE_RCV_SYNACK);
        utcp__keepalive_reset(s, c);
        utcp__notify(s, c, UTCP_EV_CONNECTED);
        /* RFC 9293: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>, then the sixth
         * step (text) and the eighth (FIN) for what the segment carries.
         * Data in a SYN+ACK that exceeds the window is trimmed. */
        uint32_t wnd = utcp__rcv_window(c);
        if (g->len > wnd) {
            g->len = wnd;
            g->flags &= (uint8_t)~UTCP_TH_FIN;
        }
        if (step_text(s, c, g) == STEP_GONE)
            return;
        step_fin(s, c, g);
        utcp__send_ack(s, c);
        utcp__output(s, c);
        return;
    }
    /* Simultaneous open: SYN-RECEIVED, <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>.
     * Data in the SYN is not kept (the peer sends it again). */
    utcp__set_state(s, c, UTCP_SYN_RECEIVED, UTCP_CAUSE_RCV_SYN);
    c->rtx_count = 0;
    c->rtt_active = false;
    utcp__send_syn(s, c);
    utcp__rtx_arm(s, c);
}

/* ---------------------------------------------------------------------
 * TIME-WAIT (RFC 9293 3.10.7.4, RFC 1337, RFC 6191)
 * --------------------------------------------------------------------- */
/* Returns true when the segment should be handed on to a listener (a new
 * SYN that reopened the 4-tuple). */
static bool time_wait_input(struct utcp_stack *s, struct utcp_conn *c,
                            struct seg *g)
{
    switch (utcp__tw_decide(g->th, c->rcv_nxt)) {
    case UTCP_TW_IGNORE_RST:
        drop(s, c, g, UTCP_DROP_TIME_WAIT_RST);
        return false;
    case UTCP_TW_REOPEN:
        s->ctr.TimeWaitRecycled++;
        utcp__conn_close(s, c, UTCP_CAUSE_RCV_SYN, 0);
        return true;
    case UTCP_TW_FIN_AGAIN: {
        /* its TSval is echoed (RFC 7323 5.3 R3) */
        ts_update_recent(s, c, g);
        c->t_keep = s->now + 2u * UTCP_MS(c->opt.msl_ms);
        struct utcp_trace_event ev = {0};
        ev.kind = UTCP_TRACE_TIMER_SET;
        utcp__ev_conn(&ev, c->id, &c->tuple);
        ev.timer = UTCP_TIMER_TIME_WAIT;
        ev.expires = c->t_keep;
        utcp__trace(s, &ev);
        utcp__send_ack(s, c);
        return false;
    }
    case UTCP_TW_ACK:
        drop(s, c, g, UTCP_DROP_OUT_OF_WINDOW);
        utcp__send_ack(s, c);
        return false;
    default:
        drop(s, c, g, UTCP_DROP_NONE); /* a duplicate ACK */
        return false;
    }
}

/* ---------------------------------------------------------------------
 * RFC 9293 3.10.7.4: synchronized states and SYN-RECEIVED
 * --------------------------------------------------------------------- */
static bool seq_acceptable(const struct utcp_conn *c, const struct seg *g,
                           uint32_t wnd)
{
    uint32_t seglen = g->len + ((g->flags & UTCP_TH_SYN) ? 1u : 0u) +
                      ((g->flags & UTCP_TH_FIN) ? 1u : 0u);
    utcp_seq end = c->rcv_nxt + wnd;
    if (seglen == 0) {
        if (wnd == 0)
            return g->seq == c->rcv_nxt;
        return seq_in(g->seq, c->rcv_nxt, end);
    }
    if (wnd == 0) {
        /* RFC 9293 3.10.7.4: with a zero window, still accept valid ACKs,
         * URGs and RSTs: a segment at RCV.NXT is processed with its data
         * trimmed away. */
        return g->seq == c->rcv_nxt;
    }
    return seq_in(g->seq, c->rcv_nxt, end) ||
           seq_in(g->seq + seglen - 1, c->rcv_nxt, end);
}

/* first: sequence number check and trimming to the window. */
static enum step step_seq(struct utcp_stack *s, struct utcp_conn *c,
                          struct seg *g)
{
    uint32_t wnd = (uint32_t)seq_diff(c->rcv_adv, c->rcv_nxt);
    if (seq_lt(c->rcv_adv, c->rcv_nxt))
        wnd = 0;
    if (!seq_acceptable(c, g, wnd)) {
        if (g->flags & UTCP_TH_RST) {
            drop(s, c, g, UTCP_DROP_RST_OUT_OF_WINDOW);
            return STEP_DONE;
        }
        drop(s, c, g, UTCP_DROP_OUT_OF_WINDOW);
        utcp__send_ack(s, c);
        return STEP_DONE;
    }
    /* Trim the front: bytes already received. */
    int32_t front = seq_diff(c->rcv_nxt, g->seq);
    if (front > 0) {
        if (g->flags & UTCP_TH_SYN) {
            g->flags &= (uint8_t)~UTCP_TH_SYN;
            g->seq++;
            front--;
        }
        uint32_t cut = utcp_min_u32((uint32_t)front, g->len);
        g->data += cut;
        g->len -= cut;
        g->seq += cut;
        if ((uint32_t)front > cut) /* an old FIN */
            g->flags &= (uint8_t)~UTCP_TH_FIN;
    }
    /* Trim the back: beyond the right edge of the window. RFC 9293
     * 3.10.7.4: what lies beyond is not acceptable, and an unacceptable
     * segment is answered with an ACK (with a zero window this is how a
     * window probe gets its answer, RFC 9293 3.8.6.1), while its ACK field
     * is still processed. */
    utcp_seq edge = c->rcv_nxt + wnd;
    if (seq_gt(g->seq + g->len, edge)) {
        uint32_t keep = seq_gt(g->seq, edge)
                            ? 0
                            : (uint32_t)seq_diff(edge, g->seq);
        g->len = keep;
        g->flags &= (uint8_t)~UTCP_TH_FIN;
        g->ack_now = true;
    }
    return STEP_CONTINUE;
}

/* second: RST, with RFC 5961 3.2. */
static enum step step_rst(struct utcp_stack *s, struct utcp_conn *c,
                          struct seg *g)
{
    if (!(g->flags & UTCP_TH_RST))
        return STEP_CONTINUE;
    if (g->seq0 != c->rcv_nxt) {
        /* RFC 5961 3.2: in the window but not exact: challenge ACK. */
        challenge_ack(s, c, g, UTCP_DROP_RST_CHALLENGE);
        return STEP_DONE;
    }
    switch (c->state) {
    case UTCP_SYN_RECEIVED:
        if (c->passive) {
            /* Return to LISTEN: this copy of the listener just goes away
             * (RFC 9293 3.10.7.4 second, figure 8). */
            utcp__set_state(s, c, UTCP_LISTEN, UTCP_CAUSE_RCV_RST);
            c->state = UTCP_CLOSED; /* freed without a further trace */
            c->sock_idx = 0;
            utcp__conn_close(s, c, UTCP_CAUSE_RCV_RST, 0);
        } else {
            utcp__conn_close(s, c, UTCP_CAUSE_RCV_RST, UTCP_ECONNREFUSED);
        }
        return STEP_GONE;
    case UTCP_ESTABLISHED:
    case UTCP_FIN_WAIT_1:
    case UTCP_FIN_WAIT_2:
    case UTCP_CLOSE_WAIT:
        /* RFC 9293: users get "connection reset"; queues are flushed. */
        utcp__ring_release(&c->rcvq, &s->buf_alloc);
        utcp__sb_clear(s, &c->ooo);
        utcp__conn_close(s, c, UTCP_CAUSE_RCV_RST, UTCP_ECONNRESET);
        return STEP_GONE;
    default: /* CLOSING, LAST-ACK */
        utcp__conn_close(s, c, UTCP_CAUSE_RCV_RST, 0);
        return STEP_GONE;
    }
}

/* Our FIN has been sent and acknowledged. */
static bool fin_acked(const struct utcp_conn *c)
{
    return c->fin_queued && seq_gt(c->snd_una, c->sndq_seq + c->sndq.len);
}

/* The peer's window in bytes. RFC 7323 2.2: the window field of a segment
 * with SYN set is never scaled (the SYN+ACK of a simultaneous open reaches
 * the ACK step with its SYN trimmed from g->flags, so look at the header). */
static uint32_t seg_window(const struct utcp_conn *c, const struct seg *g)
{
    if (g->th->flags & UTCP_TH_SYN)
        return g->wnd;
    return (uint32_t)g->wnd << c->snd_wscale;
}

/* RFC 5681 2 (definition of a duplicate ACK) */
static bool is_dupack(const struct utcp_conn *c, const struct seg *g)
{
    /* Not while probing a zero window: the answers to probes repeat the
     * same ACK and window but say nothing about loss (FreeBSD resets its
     * count when the retransmission timer is not running). */
    return !c->persist && g->th->ack == c->snd_una && g->len == 0 &&
           !(g->flags & (UTCP_TH_SYN | UTCP_TH_FIN)) &&
           seg_window(c, g) == c->snd_wnd &&
           c->snd_max != c->snd_una;
}

void utcp__undo_arm(struct utcp_conn *c, uint32_t prior_cwnd,
                    uint32_t prior_ssthresh)
{
    if (!c->ts_ok)
        return;
    c->prior_cwnd = prior_cwnd;
    c->prior_ssthresh = prior_ssthresh;
    c->undo_ts = c->ts_rexmit;
    c->undo_armed = true;
}

/* RFC 3522 (Eifel detection) with the RFC 4015 response, as Linux undoes:
 * the first ACK of new data after a fast retransmission decides. If it
 * echoes a TSval older than the retransmission's, the original arrived (it
 * was reordered, not lost): the window reduction is undone and recovery
 * ends. */
static void eifel_check(struct utcp_stack *s, struct utcp_conn *c,
                        const struct utcp_tcp *th)
{
    if (!c->undo_armed)
        return;
    c->undo_armed = false;
    if (!c->in_recovery || !seg_has_ts(c, th) || th->opts.ts_ecr == 0 ||
        !utcp__ts_lt(th->opts.ts_ecr, c->undo_ts))
        return;
    s->ctr.SpuriousRecoveries++;
    if (utcp__rack_on(c))
        utcp__rack_undo(c);
    if (c->cc->undo)
        c->cc->undo(c); /* RFC 9438 4.9 */
    c->cwnd = utcp_max_u32(c->cwnd, c->prior_cwnd);
    c->ssthresh = utcp_max_u32(c->ssthresh, c->prior_ssthresh);
    c->in_recovery = false;
    c->dupacks = 0;
}

/* flight: SND.MAX - SND.UNA before this ACK (step_ack). */
static void on_new_ack(struct utcp_stack *s, struct utcp_conn *c,
                       const struct seg *g, utcp_seq ack, uint32_t flight)
{
    eifel_check(s, c, g->th);
    uint32_t acked = (uint32_t)seq_diff(ack, c->snd_una);
    /* Remove acknowledged data (the FIN occupies one number past it). */
    utcp_seq data_end = c->sndq_seq + c->sndq.len;
    utcp_seq upto = seq_min(ack, data_end);
    if (seq_gt(upto, c->sndq_seq)) {
        uint32_t n = (uint32_t)seq_diff(upto, c->sndq_seq);
        utcp__ring_consume(&c->sndq, n);
        c->sndq_seq = upto;
        if (c->sndq.len == 0)
            utcp__ring_release(&c->sndq, &s->buf_alloc);
        utcp__notify(s, c, 0);
    }
    /* One RTT sample per ACK. With RACK, from the transmit records the ACK
     * delivers, taken by utcp__rack_ack (utcp__ack_rtt_records). Without:
     * RFC 6298 (2.2)-(2.3) with Karn when the timed segment is covered (its
     * clock has microseconds, the timestamps milliseconds: preferred); else
     * RFC 7323 4.1 RTTM from the echoed timestamp. */
    if (!utcp__rack_on(c)) {
        if (c->rtt_active && seq_gt(ack, c->rtt_seq)) {
            c->rtt_active = false;
            utcp__rtt_sample(s, c, (uint32_t)(s->now - c->rtt_start));
        } else {
            ts_rtt_sample(s, c, g->th, flight);
        }
    }
    c->rtx_count = 0;
    if (c->in_recovery && c->rack.rto_recovery) {
        /* RFC 8985 6.3 RTO recovery: slow start from the timeout's one
         * segment (RFC 5681 3.1) until the RecoveryPoint is acknowledged */
        c->cc->on_ack(c, acked, s->now);
        if (seq_geq(ack, c->recover)) {
            c->in_recovery = false;
            c->rack.rto_recovery = false;
            c->dupacks = 0;
        }
    } else if (c->in_recovery) {
        if (seq_geq(ack, c->recover)) {
            /* Full ACK: leave recovery. With SACK, cwnd stays at the
             * ssthresh set on entry (RFC 6675 5 (4.2)); NewReno deflates by
             * RFC 6582 3.2 (3) option 1, which avoids a burst when little
             * is in flight. */
            uint32_t left = (uint32_t)seq_diff(c->snd_max, ack);
            c->cwnd = c->sack_ok ? c->ssthresh
                                 : utcp_min_u32(c->ssthresh,
                                                utcp_max_u32(left, c->mss) +
                                                    c->mss);
            c->in_recovery = false;
            c->dupacks = 0;
        } else if (!c->sack_ok) {
            /* RFC 6582 3.2 (4): partial ACK: retransmit the first
             * unacknowledged segment, deflate by the amount acknowledged,
             * add back one SMSS. */
            c->snd_una = ack;
            utcp__retransmit_una(s, c);
            c->cwnd = (c->cwnd > acked ? c->cwnd - acked : 0) + c->mss;
        }
        /* RFC 6675 5 (B): with SACK a partial ACK updates the scoreboard;
         * step (C) (utcp__output) sends by pipe. */
    } else {
        c->dupacks = 0;
        c->cc->on_ack(c, acked, s->now);
    }
    c->snd_una = ack;
    c->lt_bytes = 0;
    utcp__sack_trim(s, c, ack); /* cumulatively ACKed: off the scoreboard */
    if (seq_lt(c->snd_nxt, c->snd_una))
        c->snd_nxt = c->snd_una;
    c->una_since = s->now;
    /* RFC 6298 (5.2)/(5.3) */
    c->persist = false;
    if (c->snd_una == c->snd_max) {
        c->t_rtx = UTCP_TIME_NEVER;
        utcp__timer_update(s, c);
    } else {
        utcp__rtx_arm(s, c);
    }
}

static void on_dupack(struct utcp_stack *s, struct utcp_conn *c)
{
    if (c->dupacks < 255)
        c->dupacks++;
    /* RFC 6582 3.2 (2): only when the ACK covers more than recover, the
     * highest sequence number sent at the last recovery; recover holds the
     * number after it (snd_max then), hence >=. */
    if (c->dupacks == 3 && !c->in_recovery &&
        seq_geq(c->snd_una, c->recover)) {
        /* RFC 5681 3.2 (2)-(4), RFC 6582 3.2 (2) */
        s->ctr.FastRetrans++;
        uint32_t prior_cwnd = c->cwnd, prior_ssthresh = c->ssthresh;
        c->ssthresh = c->cc->ssthresh(c);
        c->recover = c->snd_max;
        c->in_recovery = true;
        c->rtt_active = false;
        utcp__retransmit_una(s, c);
        utcp__undo_arm(c, prior_cwnd, prior_ssthresh);
        c->cwnd = c->ssthresh + 3u * c->mss;
    } else if (c->dupacks > 3 && c->in_recovery) {
        /* RFC 5681 3.2 (5): inflate for each further duplicate. */
        c->cwnd += c->mss;
    }
}

/* fifth, in SYN-RECEIVED: the ACK of our SYN (RFC 9293 3.10.7.4). */
static enum step syn_received_ack(struct utcp_stack *s, struct utcp_conn *c,
                                  struct seg *g)
{
    const struct utcp_tcp *th = g->th;
    utcp_seq ack = th->ack;
    if (!(seq_lt(c->snd_una, ack) && seq_leq(ack, c->snd_max))) {
        drop(s, c, g, UTCP_DROP_SYN_RECEIVED_BAD_ACK);
        utcp__send_rst_reply(s, g->ip, th); /* <SEQ=SEG.ACK><CTL=RST> */
        return STEP_DONE;
    }
    if (c->listener && c->listener->accq_len >= c->listener->backlog) {
        /* Accept queue full: ignore the ACK, keep SYN-RECEIVED; the
         * SYN+ACK retransmission retries (as Linux does). */
        s->ctr.ListenOverflows++;
        drop(s, c, g, UTCP_DROP_ACCEPT_QUEUE_FULL);
        return STEP_DONE;
    }
    c->snd_wnd = seg_window(c, g);
    c->max_snd_wnd = utcp_max_u32(c->max_snd_wnd, c->snd_wnd);
    c->snd_wl1 = g->seq0;
    c->snd_wl2 = ack;
    utcp__set_state(s, c, UTCP_ESTABLISHED, UTCP_CAUSE_RCV_ACK_OF_SYN);
    if (c->rtt_active && c->rtx_count == 0)
        utcp__rtt_sample(s, c, (uint32_t)(s->now - c->rtt_start));
    else
        ts_rtt_sample(s, c, th, 1); /* RFC 7323 4.1, no Karn */
    c->rtt_active = false;
    c->snd_una = ack;
    c->sndq_seq = c->iss + 1;
    c->rtx_count = 0;
    c->t_rtx = UTCP_TIME_NEVER;
    utcp__timer_update(s, c);
    utcp__keepalive_reset(s, c);
    if (c->listener)
        utcp__child_established(s, c);
    else
        utcp__notify(s, c, UTCP_EV_CONNECTED);
    return STEP_CONTINUE;
}

/* fifth: the ACK field. */
static enum step step_ack(struct utcp_stack *s, struct utcp_conn *c,
                          struct seg *g)
{
    const struct utcp_tcp *th = g->th;
    if (!(g->flags & UTCP_TH_ACK)) {
        drop(s, c, g, UTCP_DROP_NO_ACK);
        return STEP_DONE;
    }
    utcp_seq ack = th->ack;
    if (c->state == UTCP_SYN_RECEIVED &&
        syn_received_ack(s, c, g) != STEP_CONTINUE)
        return STEP_DONE;
    /* RFC 5961 5.2: acceptable if SND.UNA - MAX.SND.WND <= SEG.ACK <=
     * SND.NXT (our highest sent); otherwise ACK and drop. */
    if (seq_gt(ack, c->snd_max)) {
        drop(s, c, g, UTCP_DROP_ACK_UNSENT);
        utcp__send_ack(s, c);
        return STEP_DONE;
    }
    if (seq_lt(ack, c->snd_una - c->max_snd_wnd)) {
        drop(s, c, g, UTCP_DROP_ACK_TOO_OLD);
        utcp__send_ack(s, c);
        return STEP_DONE;
    }
    c->probes_out = 0; /* the peer is alive (persist, timer.c) */
    bool dup = is_dupack(c, g);
    bool advanced = seq_gt(ack, c->snd_una);
    uint32_t flight = (uint32_t)seq_diff(c->snd_max, c->snd_una);
    if (advanced)
        on_new_ack(s, c, g, ack, flight);
    /* Send window update: the WL1/WL2 rule. Before the loss detection
     * below, which may send (limited transmit, a retransmission): with
     * SND.UNA already advanced, the old window would put the right edge
     * beyond the peer's. */
    if (seq_lt(c->snd_wl1, g->seq0) ||
        (c->snd_wl1 == g->seq0 && seq_leq(c->snd_wl2, ack))) {
        uint32_t old = c->snd_wnd;
        c->snd_wnd = seg_window(c, g);
        c->max_snd_wnd = utcp_max_u32(c->max_snd_wnd, c->snd_wnd);
        c->snd_wl1 = g->seq0;
        c->snd_wl2 = ack;
        if (old == 0 && c->snd_wnd > 0 && c->persist) {
            c->persist = false;
            c->rtx_count = 0;
            c->t_rtx = UTCP_TIME_NEVER;
            /* the probe byte may be outstanding: go back for it */
            c->snd_nxt = c->snd_una;
            utcp__timer_update(s, c);
        }
    }
    if (c->sack_ok) {
        /* RFC 6675 4 Update(), then its definition of a duplicate ACK (2):
         * one that SACKs new octets, even if it also moves SND.UNA. An ACK
         * without blocks falls back to RFC 5681's definition. With RACK
         * (RFC 8985 6.2) time decides instead of counts. */
        uint32_t newly = utcp__sack_update(s, c, &th->opts);
        if (utcp__rack_on(c)) {
            utcp__rack_ack(s, c, th, flight, advanced, newly != 0, dup);
            /* model-based control (BBR) takes its rate sample here, after
             * loss detection, before anything more is sent */
            if (c->cc->on_rate)
                c->cc->on_rate(c, &s->rs, s->now);
        } else if (newly || (dup && !(th->opts.present & UTCP_OPT_SACK)))
            utcp__sack_dupack(s, c);
    } else if (dup) {
        on_dupack(s, c);
    }
    switch (c->state) {
    case UTCP_FIN_WAIT_1:
        if (fin_acked(c)) {
            /* A FIN arriving in order in this same segment takes us to
             * TIME-WAIT directly (eighth step, "perhaps in this
             * segment"). */
            bool fin_in_order =
                (g->flags & UTCP_TH_FIN) && g->seq == c->rcv_nxt;
            if (!fin_in_order) {
                utcp__set_state(s, c, UTCP_FIN_WAIT_2,
                                UTCP_CAUSE_RCV_ACK_OF_FIN);
                if (!c->sock_idx && c->opt.fin_wait2_ms) {
                    c->keep_kind = UTCP_TIMER_FIN_WAIT2;
                    c->t_keep = s->now + UTCP_MS(c->opt.fin_wait2_ms);
                    utcp__timer_update(s, c);
                }
            }
        }
        break;
    case UTCP_CLOSING:
        if (fin_acked(c))
            utcp__enter_time_wait(s, c, UTCP_CAUSE_RCV_ACK_OF_FIN);
        return STEP_CONTINUE;
    case UTCP_LAST_ACK:
        if (fin_acked(c)) {
            utcp__conn_close(s, c, UTCP_CAUSE_RCV_ACK_OF_FIN, 0);
            return STEP_GONE;
        }
        break;
    default:
        break;
    }
    return STEP_CONTINUE;
}

void utcp__tcp_input(struct utcp_stack *s, struct utcp_conn *c,
                     const struct utcp_ipv4 *ip, const struct utcp_tcp *th)
{
    struct seg g = {ip, th, th->seq, th->seq, th->payload,
                    (uint32_t)th->payload_len, th->flags, th->win, false,
                    false};
    c->ack_sent = false;
    switch (c->state) {
    case UTCP_CLOSED:
    case UTCP_LISTEN:
        return; /* not in the 4-tuple table in these states */
    case UTCP_SYN_SENT:
        syn_sent_input(s, c, &g);
        return;
    case UTCP_TIME_WAIT: {
        /* as Linux: the old SND.NXT plus a maximum window, plus 2 */
        utcp_seq floor = c->snd_max + 65537u;
        if (time_wait_input(s, c, &g)) { /* c is gone */
            /* reopened: hand the SYN to the listener, if there is one */
            struct utcp_conn *l = utcp__listener_find(s, ip->dst, th->dport);
            if (l)
                listen_input(s, l, ip, th, &floor);
            else
                utcp__send_rst_reply(s, ip, th);
        }
        return;
    }
    default:
        break;
    }
    if (c->state == UTCP_SYN_RECEIVED && (g.flags & UTCP_TH_SYN) &&
        g.seq == c->irs) {
        if (!(g.flags & UTCP_TH_ACK)) {
            /* The peer's SYN again (our SYN+ACK was lost): answer with the
             * SYN+ACK at once rather than wait for our timer (Linux). */
            drop(s, c, &g, UTCP_DROP_NONE);
            utcp__send_syn(s, c);
            return;
        }
        /* Simultaneous open, figure 8 line 6: the peer's SYN+ACK repeats
         * its SYN; the SYN is old, the ACK is new (as BSD trims it). */
        g.flags &= (uint8_t)~UTCP_TH_SYN;
        g.seq++;
        g.seq0++;
    }
    /* RFC 7323 5.3: PAWS (R1) before the acceptability test (R2), then
     * TS.Recent (R3). */
    if (paws_reject(s, c, &g))
        return;
    if (step_seq(s, c, &g) != STEP_CONTINUE)
        return;
    ts_update_recent(s, c, &g);
    utcp__keepalive_reset(s, c);
    enum step r = step_rst(s, c, &g);
    if (r != STEP_CONTINUE)
        return;
    /* fourth: SYN in a synchronized state (RFC 5961 4.2). */
    if (g.flags & UTCP_TH_SYN) {
        challenge_ack(s, c, &g, UTCP_DROP_SYN_CHALLENGE);
        return;
    }
    r = step_ack(s, c, &g);
    if (r != STEP_CONTINUE)
        return;
    /* sixth: URG is not supported: urgent data is delivered inline. */
    if (step_text(s, c, &g) == STEP_GONE)
        return;
    step_fin(s, c, &g);
    if (c->state == UTCP_CLOSED)
        return;
    if (g.ack_now && !c->ack_sent)
        utcp__send_ack(s, c);
    utcp__output(s, c);
    /* Nobody holds the socket: TIME-WAIT goes on as a 64-byte record. */
    if (c->state == UTCP_TIME_WAIT && !c->sock_idx)
        utcp__tw_from_conn(s, c);
}
