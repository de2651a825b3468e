/*
 * Connection timers: retransmission and RTO (RFC 6298), SYN retries, the
 * persist timer (RFC 9293 3.8.6.1), delayed ACK (RFC 1122 4.2.3.2),
 * keep-alive (RFC 1122 4.2.3.6), FIN_WAIT_2 and 2*MSL (RFC 9293 3.10.8);
 * the RACK reordering timer and the TLP PTO (RFC 8985 8) are rack.c's.
 * A connection owns one wheel node, armed at its earliest deadline when the
 * wheel is next read (utcp__timers_flush).
 * Never touches a connection after closing it (utcp__conn_close may free).
 */
#include "stack/stack.h"
#include "tcp/conn.h"

int utcp__conn_timer(const struct utcp_conn *c, utcp_time *when)
{
    utcp_time t = UTCP_TIME_NEVER;
    int k = UTCP_TIMER_NONE;
    if (c->t_rtx < t) {
        t = c->t_rtx;
        k = c->persist ? UTCP_TIMER_PERSIST
            : (c->state == UTCP_SYN_SENT || c->state == UTCP_SYN_RECEIVED)
                ? UTCP_TIMER_SYN_RETRANSMIT
                : UTCP_TIMER_RETRANSMIT;
    }
    if (c->t_rack < t) {
        t = c->t_rack;
        k = c->rack_timer; /* RFC 8985 8: RACK reordering or TLP PTO */
    }
    if (c->t_pace < t) {
        t = c->t_pace;
        k = UTCP_TIMER_PACE;
    }
    if (c->t_delack < t) {
        t = c->t_delack;
        k = UTCP_TIMER_DELACK;
    }
    if (c->t_keep < t) {
        t = c->t_keep;
        k = c->keep_kind;
    }
    *when = t;
    return k;
}

/* Arms c's wheel node at the instant utcp__conn_timer reports. */
static void timer_arm(struct utcp_stack *s, struct utcp_conn *c)
{
    utcp_time t; /* UTCP_TIME_NEVER (UINT64_MAX): disarmed */
    utcp__conn_timer(c, &t);
    utcp__wheel_set(&s->wheel, &c->tnode, t);
}

void utcp__timers_flush(struct utcp_stack *s)
{
    for (unsigned i = 0; i < s->tdirty_n; i++) {
        struct utcp_conn *c = s->tdirty[i];
        if (!c)
            continue; /* freed meanwhile */
        c->timer_dirty = false;
        timer_arm(s, c);
    }
    s->tdirty_n = 0;
}

void utcp__timer_update(struct utcp_stack *s, struct utcp_conn *c)
{
    /* Called after nearly every change (a lifecycle changes a deadline
     * some 24 times): only the deadline in force when the wheel is next
     * read matters, so the wheel is armed then (utcp__timers_flush), once
     * per connection. The instants are the same: nothing reads the wheel
     * in between, and its now only moves in utcp__wheel_pop. */
    if (c->timer_dirty)
        return;
    if (s->tdirty_n == UTCP_ARRAY_LEN(s->tdirty))
        utcp__timers_flush(s);
    c->timer_dirty = true;
    c->tdirty_idx = s->tdirty_n;
    s->tdirty[s->tdirty_n++] = c;
}

void utcp__timer_forget(struct utcp_stack *s, struct utcp_conn *c)
{
    if (!c->timer_dirty)
        return;
    c->timer_dirty = false;
    /* an empty slot, not a shift: the others keep their order (ties in
     * the wheel fire in the order armed) */
    s->tdirty[c->tdirty_idx] = NULL;
}

void utcp__rtx_arm(struct utcp_stack *s, struct utcp_conn *c)
{
    /* RFC 6298 (5.5): back off by doubling, up to the maximum. */
    uint64_t rto = c->rto;
    unsigned shift = c->rtx_count < 30 ? c->rtx_count : 30;
    rto <<= shift;
    uint64_t max = UTCP_MS(s->cfg.rto_max_ms);
    if (rto > max)
        rto = max;
    c->t_rtx = s->now + rto;
    utcp__timer_update(s, c);
}

void utcp__rtt_sample(struct utcp_stack *s, struct utcp_conn *c,
                      uint32_t r)
{
    utcp__rtt_sample_n(s, c, r, 1);
}

void utcp__rtt_sample_n(struct utcp_stack *s, struct utcp_conn *c,
                        uint32_t r, uint32_t n)
{
    if (r == 0)
        r = 1;
    if (n == 0)
        n = 1;
    if (c->srtt == 0) {
        /* RFC 6298 (2.2) */
        c->srtt = r;
        c->rttvar = r / 2;
    } else {
        /* RFC 6298 (2.3), beta = 1/4, alpha = 1/8; RFC 7323 appendix G:
         * beta' = beta / n, alpha' = alpha / n for n samples per RTT. */
        uint64_t delta = c->srtt > r ? c->srtt - r : r - c->srtt;
        if (n == 1) {
            /* the usual case: shifts, not two 64-bit divisions */
            c->rttvar = (uint32_t)((3ull * c->rttvar + delta) >> 2);
            c->srtt = (uint32_t)((7ull * c->srtt + r) >> 3);
        } else {
            uint64_t b = 4ull * n, a = 8ull * n;
            c->rttvar = (uint32_t)(((b - 1) * c->rttvar + delta) / b);
            c->srtt = (uint32_t)(((a - 1) * c->srtt + r) / a);
        }
    }
    utcp__rack_rtt_sample(s, c, r); /* RFC 8985 6.2 step 1 */
    /* RTO = SRTT + max(G, K*RTTVAR), G = 1 ms, then (2.4)/(2.5) bounds. */
    uint64_t rto = (uint64_t)c->srtt + utcp_max_u64(1000, 4ull * c->rttvar);
    rto = utcp_max_u64(rto, UTCP_MS(s->cfg.rto_min_ms));
    rto = utcp_min_u64(rto, UTCP_MS(s->cfg.rto_max_ms));
    c->rto = (uint32_t)rto;
}

void utcp__keepalive_reset(struct utcp_stack *s, struct utcp_conn *c)
{
    c->last_rcv = s->now;
    c->keep_probes = 0;
    if (c->opt.keepalive && c->keep_kind != UTCP_TIMER_TIME_WAIT &&
        c->keep_kind != UTCP_TIMER_FIN_WAIT2 && c->t_keep == UTCP_TIME_NEVER &&
        utcp_state_synchronized(c->state)) {
        c->keep_kind = UTCP_TIMER_KEEPALIVE;
        c->t_keep = s->now + UTCP_MS(c->opt.keepidle_ms);
    }
}

static void trace_timer(struct utcp_stack *s, struct utcp_conn *c, int kind)
{
    struct utcp_trace_event ev = {0};
    ev.kind = UTCP_TRACE_TIMER;
    utcp__ev_conn(&ev, c->id, &c->tuple);
    ev.timer = kind;
    utcp__trace(s, &ev);
}

/* Gives up on the connection after retries or a user timeout. */
static void give_up(struct utcp_stack *s, struct utcp_conn *c, int cause)
{
    /* Synchronized: tell the peer, as FreeBSD's tcp_drop does. */
    if (utcp_state_synchronized(c->state) || c->state == UTCP_SYN_RECEIVED)
        utcp__send_rst_conn(s, c);
    utcp__conn_close(s, c, cause, UTCP_ETIMEDOUT);
}

/* Returns false when the connection is gone. */
static bool fire_rtx(struct utcp_stack *s, struct utcp_conn *c)
{
    if (c->persist) {
        trace_timer(s, c, UTCP_TIMER_PERSIST);
        /* RFC 1122 4.2.2.17: keep probing as long as the receiver answers
         * (any acceptable ACK clears probes_out, input.c); a peer that
         * answers none of data_retries probes is gone (as Linux's
         * tcp_probe_timer with tcp_retries2), else an orphan probing a
         * vanished peer would live for ever. */
        if (c->probes_out >= s->cfg.data_retries) {
            give_up(s, c, UTCP_CAUSE_TIMEOUT_RETRANS);
            return false;
        }
        c->probes_out++;
        utcp__send_probe(s, c);
        if (c->rtx_count < 15)
            c->rtx_count++;
        utcp__rtx_arm(s, c);
        return true;
    }
    if (c->state == UTCP_SYN_SENT || c->state == UTCP_SYN_RECEIVED) {
        trace_timer(s, c, UTCP_TIMER_SYN_RETRANSMIT);
        unsigned limit = c->state == UTCP_SYN_SENT
                             ? c->opt.syn_retries
                             : s->cfg.synack_retries;
        if (c->rtx_count >= limit) {
            give_up(s, c, UTCP_CAUSE_TIMEOUT_RETRANS);
            return false;
        }
        c->rtx_count++;
        c->rtt_active = false; /* Karn: no sample from a retransmission */
        utcp__send_syn(s, c);
        utcp__rtx_arm(s, c);
        return true;
    }
    trace_timer(s, c, UTCP_TIMER_RETRANSMIT);
    s->ctr.Timeouts++;
    bool user_expired = c->opt.user_timeout_ms &&
                        s->now - c->una_since >=
                            UTCP_MS(c->opt.user_timeout_ms);
    if (c->rtx_count >= s->cfg.data_retries || user_expired) {
        give_up(s, c, UTCP_CAUSE_TIMEOUT_RETRANS);
        return false;
    }
    c->rtx_count++;
    /* RFC 5681 3.1 (4) and (5): ssthresh from the flight, cwnd = 1 SMSS.
     * RFC 6582 3.2 (4): recover = highest sequence sent. */
    c->lt_bytes = 0; /* all of the flight counts here */
    c->undo_armed = false; /* no undo of a timeout (no F-RTO yet) */
    c->ssthresh = c->cc->ssthresh(c);
    c->cwnd = c->mss;
    c->bytes_acked = 0;
    c->in_recovery = false;
    c->recover = c->snd_max;
    c->dupacks = 0;
    /* RFC 2018 8 / RFC 6675 5.1: SACK information is advisory and a
     * timeout may mean the receiver reneged: forget the scoreboard (SACKs
     * arriving from now on still steer the retransmissions). */
    if (c->sacked->n)
        s->ctr.SackRtoFlushes++;
    utcp__sack_clear(s, c);
    utcp__rack_on_rto(c); /* RFC 8985 6.3, 7.1 */
    c->high_rxt = c->rescue_rxt = c->snd_una;
    c->rtt_active = false; /* RFC 6298 (5.5)-(5.7) with Karn */
    /* RFC 6298 (5.4): retransmit the earliest unacknowledged segment; go
     * back to snd_una and let the ACK clock send the rest. */
    c->snd_nxt = c->snd_una;
    c->t_rtx = UTCP_TIME_NEVER;
    /* RFC 8985 6.3: with RACK, what is not SACKed is marked lost and
     * resent by the marks, in slow start (rack.c) */
    utcp__rack_rto_recovery(c);
    if (c->snd_una == c->iss) {
        /* Closed in SYN-RECEIVED before our SYN was acknowledged
         * (FIN-WAIT-1 with the SYN outstanding): the SYN goes first. */
        utcp__send_syn(s, c);
    }
    utcp__output(s, c);
    if (c->t_rtx == UTCP_TIME_NEVER)
        utcp__rtx_arm(s, c);
    return true;
}

static bool fire_keep(struct utcp_stack *s, struct utcp_conn *c)
{
    switch (c->keep_kind) {
    case UTCP_TIMER_TIME_WAIT:
        trace_timer(s, c, UTCP_TIMER_TIME_WAIT);
        utcp__conn_close(s, c, UTCP_CAUSE_TIMEOUT_2MSL, 0);
        return false;
    case UTCP_TIMER_FIN_WAIT2:
        trace_timer(s, c, UTCP_TIMER_FIN_WAIT2);
        utcp__conn_close(s, c, UTCP_CAUSE_TIMEOUT_FIN_WAIT2, 0);
        return false;
    case UTCP_TIMER_KEEPALIVE: {
        if (!c->opt.keepalive)
            return true;
        utcp_time idle_until = c->last_rcv + UTCP_MS(c->opt.keepidle_ms);
        if (c->keep_probes == 0 && s->now < idle_until) {
            c->t_keep = idle_until; /* traffic since: wait again */
            return true;
        }
        if (c->snd_max != c->snd_una || c->sndq.len > 0) {
            /* RFC 1122 4.2.3.6 probes an idle connection: with data or a
             * FIN outstanding the retransmission (or persist) timer is the
             * one that decides whether the peer is alive (as Linux's
             * tcp_keepalive_timer). So FIN_WAIT_1, CLOSING and LAST_ACK
             * never end by keep-alive. */
            c->keep_probes = 0;
            c->t_keep = s->now + UTCP_MS(c->opt.keepidle_ms);
            return true;
        }
        trace_timer(s, c, UTCP_TIMER_KEEPALIVE);
        if (c->keep_probes >= c->opt.keepcnt) {
            give_up(s, c, UTCP_CAUSE_TIMEOUT_KEEPALIVE);
            return false;
        }
        utcp__send_keepalive(s, c);
        c->keep_probes++;
        c->t_keep = s->now + UTCP_MS(c->opt.keepintvl_ms);
        return true;
    }
    default:
        return true;
    }
}

void utcp__timer_fire(struct utcp_stack *s, struct utcp_conn *c)
{
    utcp_time now = s->now;
    if (c->t_delack <= now) {
        c->t_delack = UTCP_TIME_NEVER;
        trace_timer(s, c, UTCP_TIMER_DELACK);
        s->ctr.DelayedAcks++;
        utcp__send_ack(s, c);
    }
    if (c->t_rack <= now) {
        /* before the RTO: a PTO due with it re-arms it (RFC 8985 7.3) */
        trace_timer(s, c, c->rack_timer);
        utcp__rack_timer(s, c);
    }
    if (c->t_rtx <= now) {
        c->t_rtx = UTCP_TIME_NEVER;
        if (!fire_rtx(s, c))
            return;
    }
    if (c->t_pace <= now) {
        /* the pacing time has come: send what is waiting (not traced: it
         * fires once per burst) */
        c->t_pace = UTCP_TIME_NEVER;
        utcp__output(s, c);
    }
    if (c->t_keep <= now) {
        c->t_keep = UTCP_TIME_NEVER;
        if (!fire_keep(s, c))
            return;
    }
    utcp__timer_update(s, c);
}
