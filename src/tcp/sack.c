/*
 * Selective acknowledgments. Receiver: the SACK blocks of our ACKs, the
 * block of the newest segment first (RFC 2018 4). Sender: the scoreboard of
 * SACKed ranges above SND.UNA and loss recovery by RFC 6675 (Update,
 * IsLost, SetPipe, NextSeg rules 1-4, steps (1)-(4), limited transmit
 * (3) and (A)-(C) of 5) when RACK-TLP is off (no_rack); with it, rack.c
 * decides what is lost and drives recovery (RFC 8985 9.2).
 * The scoreboard is a fixed set of ranges in the TCB: no allocation per
 * segment. Never retransmits a SACKed octet and never frees data on SACK
 * alone (RFC 2018 8: SACK information is advisory).
 */
#include <assert.h>
#include <string.h>

#include "stack/stack.h"
#include "tcp/conn.h"

#define DUP_THRESH 3u /* RFC 6675 2: DupThresh, per RFC 5681 */

/* ---------------------------------------------------------------------
 * Receiver (RFC 2018 4)
 * --------------------------------------------------------------------- */

/* Index of the range holding x, or -1. */
static int range_of(const struct utcp_ranges *r, utcp_seq x)
{
    for (int i = 0; i < (int)r->n; i++)
        if (seq_leq(r->r[i].left, x) && seq_lt(x, r->r[i].right))
            return i;
    return -1;
}

void utcp__sack_note_recent(struct utcp_conn *c, utcp_seq seq)
{
    /* RFC 2018 4: the first block reports the segment that triggered the
     * ACK; the others repeat the most recently reported blocks. Keep the
     * left edges of the latest segments, newest first, one per range. */
    struct utcp_ranges *o = c->ooo;
    if (o->n == 0)
        return; /* the shared empty set: nothing is held to report */
    utcp_seq keep[UTCP_MAX_SACK_BLOCKS];
    unsigned k = 0;
    int mine = range_of(o, seq);
    keep[k++] = seq;
    for (unsigned i = 0; i < o->nrecent && k < UTCP_MAX_SACK_BLOCKS; i++) {
        int j = range_of(o, o->recent[i]);
        if (j >= 0 && j != mine)
            keep[k++] = o->recent[i];
    }
    memcpy(o->recent, keep, k * sizeof keep[0]);
    o->nrecent = (uint8_t)k;
}

void utcp__sack_fill(struct utcp_conn *c, struct utcp_tcp_opts *o, unsigned max)
{
    bool used[UTCP_REASS_MAX] = {false};
    unsigned k = 0;
    if (max > UTCP_MAX_SACK_BLOCKS)
        max = UTCP_MAX_SACK_BLOCKS;
    /* RFC 2018 4: the newest segment's block first, then the blocks most
     * recently reported (ranges since filled in drop out). */
    for (unsigned i = 0; i < c->ooo->nrecent && k < max; i++) {
        int j = range_of(c->ooo, c->ooo->recent[i]);
        if (j < 0 || used[j])
            continue;
        used[j] = true;
        o->sack[k].left = c->ooo->r[j].left;
        o->sack[k].right = c->ooo->r[j].right;
        k++;
    }
    /* Then any other range, highest first. */
    for (int j = (int)c->ooo->n - 1; j >= 0 && k < max; j--) {
        if (used[j])
            continue;
        o->sack[k].left = c->ooo->r[j].left;
        o->sack[k].right = c->ooo->r[j].right;
        k++;
    }
    o->sack_count = (uint8_t)k;
    if (k)
        o->present |= UTCP_OPT_SACK;
}

/* ---------------------------------------------------------------------
 * Sender: the scoreboard (RFC 6675 3, 4)
 * --------------------------------------------------------------------- */

void utcp__sack_clear(struct utcp_stack *s, struct utcp_conn *c)
{
    utcp__sb_clear(s, &c->sacked);
}

void utcp__sack_trim(struct utcp_stack *s, struct utcp_conn *c, utcp_seq una)
{
    utcp__sb_trim(s, &c->sacked, una);
}

static uint32_t sacked_bytes(const struct utcp_conn *c)
{
    uint32_t n = 0;
    for (unsigned i = 0; i < c->sacked->n; i++)
        n += (uint32_t)seq_diff(c->sacked->r[i].right, c->sacked->r[i].left);
    return n;
}

uint32_t utcp__sack_update(struct utcp_stack *s, struct utcp_conn *c,
                           const struct utcp_tcp_opts *o)
{
    if (!(o->present & UTCP_OPT_SACK))
        return 0;
    uint32_t before = sacked_bytes(c);
    for (unsigned i = 0; i < o->sack_count && i < UTCP_MAX_SACK_BLOCKS; i++) {
        utcp_seq l = o->sack[i].left, r = o->sack[i].right;
        /* RFC 6675 4 Update(): octets between HighACK and HighData only. A
         * block at or below SND.UNA (a D-SACK, RFC 2883) or beyond what
         * was sent says nothing about the holes: ignored. */
        if (!seq_lt(l, r) || seq_leq(r, c->snd_una) || seq_gt(r, c->snd_max))
            continue;
        if (seq_lt(l, c->snd_una))
            l = c->snd_una;
        /* More disjoint ranges than the scoreboard holds: the block is
         * dropped (SACK is advisory, RFC 2018 8). */
        (void)utcp__sb_add(s, &c->sacked, c->snd_una, l, r);
    }
    uint32_t after = sacked_bytes(c);
    return after > before ? after - before : 0;
}

bool utcp__sack_is_lost(const struct utcp_conn *c, utcp_seq seq)
{
    /* RFC 6675 4 IsLost(SeqNum): DupThresh discontiguous SACKed sequences
     * above SeqNum, or more than (DupThresh - 1) * SMSS SACKed octets
     * above it. */
    uint32_t bytes = 0, ranges = 0;
    for (unsigned i = c->sacked->n; i-- > 0;) {
        utcp_seq l = c->sacked->r[i].left, r = c->sacked->r[i].right;
        if (seq_leq(r, seq + 1))
            break;
        if (seq_leq(l, seq))
            l = seq + 1;
        bytes += (uint32_t)seq_diff(r, l);
        ranges++;
    }
    return ranges >= DUP_THRESH || bytes > (DUP_THRESH - 1) * c->mss;
}

/* Hole i (0..sacked.n): the unSACKed octets below range i (the last one,
 * i == sacked.n, runs up to snd_max). May be empty. */
static void hole(const struct utcp_conn *c, unsigned i, utcp_seq *a,
                 utcp_seq *b)
{
    *a = i == 0 ? c->snd_una : c->sacked->r[i - 1].right;
    *b = i < c->sacked->n ? c->sacked->r[i].left : c->snd_max;
}

uint32_t utcp__sack_pipe(const struct utcp_conn *c)
{
    if (utcp__rack_on(c))
        return utcp__rack_pipe(c); /* RFC 8985 9.2: RACK's marks */
    /* RFC 6675 4 SetPipe(): over each unSACKed octet S1 from HighACK to
     * HighData, (a) +1 if not IsLost(S1), (b) +1 if S1 <= HighRxt. IsLost
     * is the same for every octet of a hole (the SACKed octets above it
     * are the same), so count by holes. */
    uint32_t pipe = 0;
    for (unsigned i = 0; i <= c->sacked->n; i++) {
        utcp_seq a, b;
        hole(c, i, &a, &b);
        if (!seq_lt(a, b))
            continue;
        if (!utcp__sack_is_lost(c, a))
            pipe += (uint32_t)seq_diff(b, a);
        if (seq_gt(c->high_rxt, a))
            pipe += (uint32_t)seq_diff(seq_min(c->high_rxt, b), a);
    }
    return pipe;
}

/* RFC 6675 4 NextSeg() rules (1) (lost_only) and (3): the first unSACKed
 * octet above HighRxt and below the highest SACKed octet (that IsLost, for
 * rule 1); at most one SMSS, never into a SACKed range. */
static bool next_rexmit(const struct utcp_conn *c, bool lost_only,
                        utcp_seq *seq, uint32_t *len)
{
    /* holes 0..n-1 lie below a SACKed range: (1.b) */
    for (unsigned i = 0; i < c->sacked->n; i++) {
        utcp_seq a, b;
        hole(c, i, &a, &b);
        if (seq_lt(a, c->high_rxt)) /* (1.a): above HighRxt */
            a = c->high_rxt;
        if (!seq_lt(a, b))
            continue;
        /* (1.c); IsLost only falls going up: no later hole is lost */
        if (lost_only && !utcp__sack_is_lost(c, a))
            return false;
        *seq = a;
        *len = utcp_min_u32((uint32_t)seq_diff(b, a), c->mss);
        return true;
    }
    return false;
}

/* RFC 6675 4 NextSeg() rule (4): one rescue retransmission per recovery,
 * of the highest outstanding unSACKed octets. */
bool utcp__sack_next_rescue(const struct utcp_conn *c, utcp_seq *seq,
                            uint32_t *len)
{
    if (!seq_gt(c->snd_una, c->rescue_rxt))
        return false;
    for (unsigned i = c->sacked->n + 1; i-- > 0;) {
        utcp_seq a, b;
        hole(c, i, &a, &b);
        if (!seq_lt(a, b))
            continue;
        *len = utcp_min_u32((uint32_t)seq_diff(b, a), c->mss);
        *seq = b - *len;
        return true;
    }
    return false;
}

/* ---------------------------------------------------------------------
 * Sender: loss recovery (RFC 6675 5)
 * --------------------------------------------------------------------- */

static void enter_recovery(struct utcp_stack *s, struct utcp_conn *c)
{
    s->ctr.FastRetrans++;
    s->ctr.SackRecoveries++;
    /* (4.1) RecoveryPoint = HighData */
    c->recover = c->snd_max;
    /* (4.2) ssthresh = cwnd = FlightSize / 2 (RFC 5681 3.2 (2)) */
    uint32_t prior_cwnd = c->cwnd, prior_ssthresh = c->ssthresh;
    c->ssthresh = c->cc->ssthresh(c);
    c->cwnd = c->ssthresh;
    c->in_recovery = true;
    c->rtt_active = false;   /* Karn: the timed segment may be resent */
    c->snd_nxt = c->snd_max; /* retransmissions go by NextSeg() */
    /* (4.3) retransmit the first segment presumed dropped, from HighACK;
     * HighRxt = RescueRxt = its end */
    utcp_seq a, b;
    hole(c, 0, &a, &b);
    uint32_t len = utcp_min_u32((uint32_t)seq_diff(b, a), c->mss);
    c->high_rxt = c->rescue_rxt = a;
    if (len) {
        s->ctr.SackRetrans++;
        utcp__send_rexmit(s, c, a, len);
        c->high_rxt = c->rescue_rxt = a + len;
        utcp__undo_arm(c, prior_cwnd, prior_ssthresh);
    }
    /* (4.4) SetPipe and (4.5) step (C): utcp__output, at the end of this
     * segment's processing, runs utcp__sack_output. */
}

/* RFC 6675 5 (3) (RFC 3042): new data, one SMSS while cwnd - pipe allows
 * it, so that a small window still draws enough duplicate ACKs. */
void utcp__sack_limited_transmit(struct utcp_stack *s, struct utcp_conn *c)
{
    if (c->snd_una == c->iss)
        return;
    c->high_rxt = c->snd_una; /* (3.1) HighRxt = HighACK */
    /* (3.2) SetPipe() before each send: O(1) with RACK's running count */
    for (uint32_t pipe = utcp__sack_pipe(c);; pipe = utcp__sack_pipe(c)) {
        utcp_seq before = c->snd_max;
        /* (3.3) cwnd - pipe >= 1 SMSS, unsent data, the window allows */
        if (c->cwnd < pipe || c->cwnd - pipe < c->mss ||
            !utcp__send_new(s, c))
            return;
        c->lt_bytes += (uint32_t)seq_diff(c->snd_max, before);
    }
}

void utcp__sack_dupack(struct utcp_stack *s, struct utcp_conn *c)
{
    if (c->in_recovery)
        return; /* (B): the scoreboard is updated; (C) follows */
    if (c->dupacks < 255)
        c->dupacks++;
    /* (1) DupAcks >= DupThresh, or (2) IsLost(HighACK + 1): loss; else
     * (3) limited transmit. */
    if (c->dupacks < DUP_THRESH && !utcp__sack_is_lost(c, c->snd_una)) {
        utcp__sack_limited_transmit(s, c);
        return;
    }
    /* RFC 6675 5.1: no new recovery before HighACK reaches the
     * RecoveryPoint of a timeout (RFC 6582 3.2 (2) likewise); nothing to
     * recover while the SYN is outstanding. */
    if (seq_lt(c->snd_una, c->recover) || c->snd_una == c->snd_max ||
        c->snd_una == c->iss)
        return;
    enter_recovery(s, c);
}

/* Only without RACK (utcp__output sends by utcp__rack_output with it):
 * SetPipe() after each segment, which also counts what HighRxt moved
 * past. */
bool utcp__sack_output(struct utcp_stack *s, struct utcp_conn *c)
{
    assert(!utcp__rack_on(c));
    bool sent = false;
    for (uint32_t pipe = utcp__sack_pipe(c);; pipe = utcp__sack_pipe(c)) {
        /* (C) while cwnd - pipe >= 1 SMSS */
        if (c->cwnd < pipe || c->cwnd - pipe < c->mss)
            break;
        utcp_seq seq;
        uint32_t len;
        if (next_rexmit(c, true, &seq, &len)) {
            /* (C.1) NextSeg rule (1), (C.2) HighRxt */
        } else if (utcp__send_new(s, c)) {
            /* rule (2): new data, within the peer's window (C.3) */
            sent = true;
            continue;
        } else if (next_rexmit(c, false, &seq, &len)) {
            /* rule (3) */
        } else if (utcp__sack_next_rescue(c, &seq, &len)) {
            /* rule (4): RescueRxt = RecoveryPoint, HighRxt unchanged */
            s->ctr.SackRetrans++;
            utcp__send_rexmit(s, c, seq, len);
            c->rescue_rxt = c->recover;
            sent = true;
            continue;
        } else {
            break; /* rule (5) */
        }
        s->ctr.SackRetrans++;
        utcp__send_rexmit(s, c, seq, len);
        c->high_rxt = seq + len;
        sent = true;
    }
    return sent;
}

uint32_t utcp__sack_skip(const struct utcp_conn *c, utcp_seq *seq)
{
    /* RFC 6675 5.1: after a timeout, fill in what the receiver reports
     * missing; never resend SACKed octets. Ranges never touch, so a jump
     * lands in a hole. */
    for (unsigned i = 0; i < c->sacked->n; i++) {
        if (seq_leq(c->sacked->r[i].right, *seq))
            continue;
        if (seq_leq(c->sacked->r[i].left, *seq)) {
            *seq = c->sacked->r[i].right;
            continue;
        }
        return (uint32_t)seq_diff(c->sacked->r[i].left, *seq);
    }
    return UINT32_MAX;
}
