/*
 * The life of a connection: creation, the single writer of its state
 * (checked against the transition table of fsm.c and traced), entering
 * TIME_WAIT, closing, and release. RFC 9293 3.3.2, 3.6, 3.10.4.
 * Must never free a connection that a socket handle still points to.
 */
#include <assert.h>
#include <string.h>

#include "stack/stack.h"
#include "tcp/conn.h"


struct utcp_conn *utcp__conn_new(struct utcp_stack *s)
{
    struct utcp_conn *c = utcp__obj_alloc(s, UTCP_OBJ_CONN, sizeof *c);
    if (!c)
        return NULL;
    memset(c, 0, sizeof *c);
    utcp__wheel_node_init(&c->tnode);
    c->id = ++s->next_conn_id;
    c->state = UTCP_CLOSED;
    c->state_since = s->now;
    c->t_rtx = c->t_delack = c->t_keep = UTCP_TIME_NEVER;
    c->error = 0;
    const struct utcp_config *g = &s->cfg;
    c->opt.sndbuf = g->sndbuf;
    c->opt.rcvbuf = g->rcvbuf;
    c->opt.msl_ms = g->msl_ms;
    c->opt.fin_wait2_ms = g->fin_wait2_ms;
    c->opt.keepidle_ms = 7200000; /* RFC 1122 4.2.3.6: >= two hours */
    c->opt.keepintvl_ms = 75000;
    c->opt.keepcnt = 9;
    c->opt.syn_retries = g->syn_retries;
    c->opt.linger = -1;
    c->opt.no_ts = g->no_timestamps;
    c->opt.no_sack = g->no_sack;
    c->opt.no_rack = g->no_rack;
    c->t_rack = UTCP_TIME_NEVER;
    c->t_pace = UTCP_TIME_NEVER;
    c->rto = g->rto_initial_ms * 1000u;
    c->cc = utcp__cc_ops_for(g->congestion_control);
    utcp__ring_init(&c->sndq, c->opt.sndbuf);
    utcp__ring_init(&c->rcvq, c->opt.rcvbuf);
    c->ooo = utcp__sb_none();
    c->sacked = utcp__sb_none();
    s->ctr.ConnsAlloc++;
    return c;
}

static const struct utcp_ranges no_ranges; /* n == 0: never written */

struct utcp_ranges *utcp__sb_none(void)
{
    /* Only ever read through the pointer: every writer below replaces it
     * with storage of its own first. */
    return (struct utcp_ranges *)(uintptr_t)&no_ranges;
}

void utcp__sb_clear(struct utcp_stack *s, struct utcp_ranges **p)
{
    if (*p != utcp__sb_none())
        utcp__free(&s->buf_alloc, *p, sizeof **p);
    *p = utcp__sb_none();
}

/* Returns the storage of a set that became empty. */
static void sb_settle(struct utcp_stack *s, struct utcp_ranges **p)
{
    if ((*p)->n == 0)
        utcp__sb_clear(s, p);
}

bool utcp__sb_add(struct utcp_stack *s, struct utcp_ranges **p, utcp_seq base,
                  utcp_seq left, utcp_seq right)
{
    if (seq_leq(right, left))
        return true; /* adds nothing, as utcp__ranges_add */
    if (*p == utcp__sb_none()) {
        struct utcp_ranges *r = utcp__alloc(&s->buf_alloc, sizeof *r);
        if (!r)
            return false;
        utcp__ranges_init(r);
        *p = r;
    }
    bool ok = utcp__ranges_add(*p, base, left, right);
    sb_settle(s, p);
    return ok;
}

utcp_seq utcp__sb_advance(struct utcp_stack *s, struct utcp_ranges **p,
                          utcp_seq at)
{
    if ((*p)->n == 0)
        return at;
    utcp_seq next = utcp__ranges_advance(*p, at);
    sb_settle(s, p);
    return next;
}

void utcp__sb_trim(struct utcp_stack *s, struct utcp_ranges **p, utcp_seq at)
{
    if ((*p)->n == 0)
        return;
    utcp__ranges_trim(*p, at);
    sb_settle(s, p);
}

/* Takes c out of the timer wheel, its table and its port, and drops its
 * send queue: what a closed connection no longer needs (its socket may
 * still read the receive queue). */
static void detach(struct utcp_stack *s, struct utcp_conn *c)
{
    c->t_rtx = c->t_delack = c->t_keep = c->t_rack = c->t_pace =
        UTCP_TIME_NEVER;
    utcp__timer_forget(s, c);
    utcp__wheel_cancel(&s->wheel, &c->tnode);
    utcp__rack_release(s, c);
    utcp__sb_clear(s, &c->sacked);
    if (c->in_table)
        utcp__table_remove(s, c);
    if (c->bound)
        utcp__port_release(s, c);
    utcp__ring_release(&c->sndq, &s->buf_alloc);
}

void utcp__conn_free(struct utcp_stack *s, struct utcp_conn *c)
{
    if (c->ack_held) {
        for (unsigned i = 0; i < s->batch_n; i++)
            if (s->batch_acks[i] == c)
                s->batch_acks[i] = NULL;
    }
    detach(s, c);
    utcp__ev_unlink(s, c);
    utcp__ring_release(&c->rcvq, &s->buf_alloc);
    utcp__sb_clear(s, &c->ooo);
    if (c->cc->release)
        c->cc->release(s, c);
    utcp__obj_free(s, UTCP_OBJ_CONN, c, sizeof *c);
    s->ctr.ConnsFree++;
}

static bool counts_as_estab(int st)
{
    /* RFC 4022 tcpCurrEstab: ESTABLISHED or CLOSE-WAIT. */
    return st == UTCP_ESTABLISHED || st == UTCP_CLOSE_WAIT;
}

void utcp__set_state(struct utcp_stack *s, struct utcp_conn *c, int st,
                     int cause)
{
    int old = c->state;
    if (!utcp__legal(s, old, st, cause)) {
        /* A bug: counted in release builds (tests assert the count is
         * zero), fatal in debug builds. */
        s->ctr.IllegalTransitions++;
        assert(!"state transition not in the table (src/tcp/fsm.c)");
    }
    /* RFC 4022 counters */
    if (old == UTCP_CLOSED && st == UTCP_SYN_SENT)
        s->ctr.ActiveOpens++;
    if (old == UTCP_LISTEN && st == UTCP_SYN_RECEIVED)
        s->ctr.PassiveOpens++;
    if ((old == UTCP_SYN_SENT || old == UTCP_SYN_RECEIVED) &&
        (st == UTCP_CLOSED || st == UTCP_LISTEN))
        s->ctr.AttemptFails++;
    if (counts_as_estab(old) && st == UTCP_CLOSED &&
        cause == UTCP_CAUSE_RCV_RST)
        s->ctr.EstabResets++;
    if (counts_as_estab(old) && !counts_as_estab(st))
        s->ctr.CurrEstab--;
    if (!counts_as_estab(old) && counts_as_estab(st))
        s->ctr.CurrEstab++;

    c->state = (uint8_t)st;
    c->state_since = s->now;
    utcp__trace_state(s, c->id, &c->tuple, old, st, cause);
}

void utcp__notify(struct utcp_stack *s, struct utcp_conn *c, uint8_t edge)
{
    c->ev_edge |= edge;
    if (!c->sock_idx || c->ev_queued)
        return;
    c->ev_queued = true;
    c->ev_next = NULL;
    c->ev_prev = s->ev_tail;
    if (s->ev_tail)
        s->ev_tail->ev_next = c;
    else
        s->ev_head = c;
    s->ev_tail = c;
}

void utcp__ev_unlink(struct utcp_stack *s, struct utcp_conn *c)
{
    if (!c->ev_queued)
        return;
    if (c->ev_prev)
        c->ev_prev->ev_next = c->ev_next;
    else
        s->ev_head = c->ev_next;
    if (c->ev_next)
        c->ev_next->ev_prev = c->ev_prev;
    else
        s->ev_tail = c->ev_prev;
    c->ev_next = c->ev_prev = NULL;
    c->ev_queued = false;
}

/* Removes a child from its listener's SYN or accept queue. */
void utcp__unlink_from_listener(struct utcp_conn *c)
{
    struct utcp_conn *l = c->listener;
    if (!l)
        return;
    if (c->q_prev)
        c->q_prev->q_next = c->q_next;
    else if (l->synq_head == c)
        l->synq_head = c->q_next;
    else if (l->accq_head == c)
        l->accq_head = c->q_next;
    if (c->q_next)
        c->q_next->q_prev = c->q_prev;
    else if (l->accq_tail == c)
        l->accq_tail = c->q_prev;
    /* By queue membership, not by state: a child reset in SYN_RECEIVED has
     * already been moved to LISTEN/CLOSED when it gets here. */
    if (c->in_accq)
        l->accq_len--;
    else
        l->synq_len--;
    c->in_accq = false;
    c->listener = c->q_next = c->q_prev = NULL;
}

void utcp__conn_close(struct utcp_stack *s, struct utcp_conn *c, int cause,
                      int err)
{
    /* A child still queued at its listener never reached the application:
     * it leaves the queue and goes away with the connection. */
    utcp__unlink_from_listener(c);
    if (c->state != UTCP_CLOSED)
        utcp__set_state(s, c, UTCP_CLOSED, cause);
    if (err) {
        c->error = (int16_t)err;
        if (err == UTCP_ECONNRESET)
            c->reset = true;
    }
    detach(s, c);
    if (!c->sock_idx) {
        utcp__conn_free(s, c);
        return;
    }
    utcp__notify(s, c, 0);
}

/* Moves a child from the SYN queue to the accept queue (it became
 * ESTABLISHED): the listener becomes accept-ready. */
void utcp__child_established(struct utcp_stack *s, struct utcp_conn *c);
void utcp__child_established(struct utcp_stack *s, struct utcp_conn *c)
{
    struct utcp_conn *l = c->listener;
    if (!l)
        return;
    /* unlink from the SYN queue (state already changed, so do it by hand) */
    if (c->q_prev)
        c->q_prev->q_next = c->q_next;
    else
        l->synq_head = c->q_next;
    if (c->q_next)
        c->q_next->q_prev = c->q_prev;
    l->synq_len--;
    c->q_next = NULL;
    c->q_prev = l->accq_tail;
    if (l->accq_tail)
        l->accq_tail->q_next = c;
    else
        l->accq_head = c;
    l->accq_tail = c;
    l->accq_len++;
    c->in_accq = true;
    utcp__notify(s, l, 0);
}

void utcp__enter_time_wait(struct utcp_stack *s, struct utcp_conn *c,
                           int cause)
{
    utcp__set_state(s, c, UTCP_TIME_WAIT, cause);
    /* RFC 9293 3.10.7.4: turn off the other timers, start 2*MSL. */
    c->t_rtx = c->t_delack = UTCP_TIME_NEVER;
    c->persist = false;
    c->keep_kind = UTCP_TIMER_TIME_WAIT;
    c->t_keep = s->now + 2u * UTCP_MS(c->opt.msl_ms);
    if (c->bound && !c->port_tw && s->ports) {
        /* the port now counts as held by TIME_WAIT (scenario 19) */
        if (s->ports[c->tuple.lport].active)
            s->ports[c->tuple.lport].active--;
        s->ports[c->tuple.lport].timewait++;
        c->port_tw = true;
    }
    struct utcp_trace_event ev = {0};
    ev.kind = UTCP_TRACE_TIMER_SET;
    utcp__ev_conn(&ev, c->id, &c->tuple);
    ev.timer = UTCP_TIMER_TIME_WAIT;
    ev.expires = c->t_keep;
    utcp__trace(s, &ev);
    utcp__ring_release(&c->sndq, &s->buf_alloc);
    utcp__timer_update(s, c);
    utcp__notify(s, c, 0);
}

void utcp__conn_init_seq(struct utcp_stack *s, struct utcp_conn *c)
{
    /* RFC 6528 3 / RFC 9293 3.4.1 */
    c->iss = utcp__isn_ts(s->isn_key, &c->tuple, s->now, &c->ts_offset);
    c->snd_una = c->snd_nxt = c->snd_max = c->iss;
    c->sndq_seq = c->iss + 1;
    c->recover = c->iss; /* RFC 6582 3.2 (1): recover starts at the ISN */
    c->ts_rexmit = utcp__ts_now(s->now, c->ts_offset);
    c->rcv_mss = (uint16_t)(s->cfg.mtu - 40);
    if (c->opt.maxseg && c->opt.maxseg < c->rcv_mss)
        c->rcv_mss = c->opt.maxseg;
    c->mss = 536; /* RFC 9293 3.7.1: default when no MSS option arrives */
}

uint8_t utcp__rcv_wscale_for(uint32_t rcvbuf)
{
    /* RFC 7323 2.3: the smallest shift that lets the window cover the
     * buffer, at most 14. */
    uint8_t sh = 0;
    while (sh < 14 && ((uint32_t)65535 << sh) < rcvbuf)
        sh++;
    return sh;
}

uint32_t utcp__rcv_window(const struct utcp_conn *c)
{
    uint32_t space = utcp__ring_free(&c->rcvq);
    uint32_t adv = (uint32_t)seq_diff(c->rcv_adv, c->rcv_nxt);
    if (seq_lt(c->rcv_adv, c->rcv_nxt))
        adv = 0;
    /* RFC 9293 3.8.6.2.2 (receiver SWS avoidance, RFC 1122 4.2.3.3): move
     * the right edge only by at least min(buffer / 2, MSS); never shrink
     * it (RFC 9293 3.8.6.2.1 discourages it). */
    if (space > adv) {
        uint32_t step = utcp_min_u32(c->rcvq.cap / 2, c->rcv_mss);
        if (space - adv >= step || adv == 0 || space == c->rcvq.cap)
            adv = space;
    }
    uint32_t max = 65535u << c->rcv_wscale;
    return adv > max ? max : adv;
}
