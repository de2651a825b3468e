/*
 * RACK-TLP loss detection (RFC 8985) for connections with SACK: a record
 * per transmitted segment (time sent, retransmitted, SACKed, lost), the
 * RACK state updated by every ACK (6.2), the reordering timer, the tail
 * loss probe (7) and the recovery it drives (RFC 6675 5 with RACK's losses
 * in place of IsLost(), RFC 8985 9.2 and 9.3).
 * The records live in place for a flight of one or two segments, else
 * in one array per connection, grown by doubling and freed when
 * everything is acknowledged: no allocation per segment. Never retransmits a SACKed
 * octet; never reduces cwnd twice for one episode.
 */
#include <assert.h>
#include <string.h>

#include "stack/stack.h"
#include "tcp/conn.h"

#define DUP_THRESH 3u                  /* RFC 6675 2, used by 6.2 step 4 */
#define TLP_MAX_ACK_DELAY UTCP_MS(200) /* RFC 8985 7.2 TLP.max_ack_delay */
#define MIN_RTT_WINDOW UTCP_SEC(300) /* 6.2 step 1: as Linux's default */
#define REO_PERSIST 16u                /* 6.2 step 4 */

/* ---------------------------------------------------------------------
 * The transmit records (RFC 8985 5.2, 6.1)
 * --------------------------------------------------------------------- */

static struct utcp_txrec *rec_at(const struct utcp_rack *r, uint32_t i)
{
    return &r->rec[r->head + i];
}

static utcp_seq rec_end(const struct utcp_txrec *t)
{
    return t->seq + t->len;
}

/* Whether t counts in the pipe (r->pipe): neither SACKed nor lost. */
static bool in_pipe(const struct utcp_txrec *t)
{
    return !(t->flags & (UTCP_TX_SACKED | UTCP_TX_LOST));
}

/* Sets and clears marks of t (UTCP_TX_*), keeping r->pipe: the one place
 * a record's SACKED or LOST mark changes while it stays in the flight. */
static void set_marks(struct utcp_rack *r, struct utcp_txrec *t, uint8_t set,
                      uint8_t clear)
{
    bool was = in_pipe(t);
    t->flags = (uint8_t)((t->flags | set) & ~clear);
    if (was && !in_pipe(t))
        r->pipe -= t->len;
    else if (!was && in_pipe(t))
        r->pipe += t->len;
}

void utcp__rack_release(struct utcp_stack *s, struct utcp_conn *c)
{
    struct utcp_rack *r = &c->rack;
    if (r->rec && r->rec != r->in_place) {
        utcp__free(&s->buf_alloc, r->rec, r->cap * sizeof *r->rec);
        r->hint = r->cap;
    }
    r->rec = NULL;
    r->cap = r->head = r->n = 0;
    r->pipe = r->segs_sacked = 0;
}

/* Room for one more record at the end: the records in place for the
 * first two, else compacts or grows the array. False when out of
 * memory. */
static bool rec_room(struct utcp_stack *s, struct utcp_rack *r)
{
    if (r->head + r->n < r->cap)
        return true;
    if (r->head > 0 && r->n < r->cap / 2 + 1) {
        memmove(r->rec, r->rec + r->head, r->n * sizeof *r->rec);
        r->head = 0;
        return true;
    }
    if (!r->rec) { /* nothing in flight: no allocation for two segments */
        r->rec = r->in_place;
        r->cap = 2;
        r->head = 0;
        return true;
    }
    /* Through the stack's block cache, restarting at the last size: a
     * connection whose flight drains often reuses the same block. */
    bool inplace = r->rec == r->in_place;
    uint32_t cap = !inplace ? 2 * r->cap : (r->hint ? r->hint : 16);
    struct utcp_txrec *p = utcp__alloc(&s->buf_alloc, cap * sizeof *p);
    if (!p)
        return false;
    if (r->n)
        memcpy(p, r->rec + r->head, r->n * sizeof *p);
    if (!inplace)
        utcp__free(&s->buf_alloc, r->rec, r->cap * sizeof *r->rec);
    r->rec = p;
    r->cap = cap;
    r->head = 0;
    return true;
}

/* Index of the record holding x (records are contiguous and sorted), or
 * r->n when x lies beyond the last one. */
static uint32_t rec_find(const struct utcp_rack *r, utcp_seq x)
{
    uint32_t lo = 0, hi = r->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (seq_leq(rec_end(rec_at(r, mid)), x))
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Splits the record holding x so that one starts at x. False (nothing
 * changed) when out of memory: the caller then works on whole records. */
static bool rec_split(struct utcp_stack *s, struct utcp_rack *r, utcp_seq x)
{
    uint32_t i = rec_find(r, x);
    if (i >= r->n || rec_at(r, i)->seq == x || !rec_room(s, r))
        return false;
    struct utcp_txrec *t = rec_at(r, i);
    memmove(t + 1, t, (r->n - i) * sizeof *t);
    r->n++;
    uint32_t left = (uint32_t)seq_diff(x, t->seq);
    t[1].seq = x;
    t[1].len = t->len - left;
    t->len = left;
    if (t->flags & UTCP_TX_SACKED)
        r->segs_sacked++; /* two SACKed records now */
    return true;
}

/* draft-cheng-iccrg-delivery-rate-estimation 3.2 (upon transmitting a
 * data packet): the connection's delivery state goes with the record. */
static void rate_stamp(const struct utcp_rack *r, struct utcp_txrec *t)
{
    t->delivered = r->delivered;
    t->delivered_ts = r->delivered_ts;
    t->first_tx_ts = r->first_tx_ts;
    if (r->app_limited)
        t->flags |= UTCP_TX_APP_LIMITED;
    else
        t->flags &= (uint8_t)~UTCP_TX_APP_LIMITED;
}

/* A new segment [seq, seq + len) is appended (RACK_transmit_new_data). */
static void rec_append(struct utcp_stack *s, struct utcp_conn *c,
                       utcp_seq seq, uint32_t len)
{
    struct utcp_rack *r = &c->rack;
    if (!rec_room(s, r)) {
        if (!r->n)
            return; /* untracked: RACK then sees nothing of it */
        /* out of memory: the last record grows to cover it */
        struct utcp_txrec *t = rec_at(r, r->n - 1);
        uint32_t grown = (uint32_t)seq_diff(seq + len, t->seq);
        if (in_pipe(t))
            r->pipe += grown - t->len;
        t->len = grown;
        t->xmit_ts = s->now;
        t->order = r->order_next++;
        rate_stamp(r, t);
        return;
    }
    struct utcp_txrec *t = rec_at(r, r->n++);
    t->seq = seq;
    t->len = len;
    t->xmit_ts = s->now;
    t->order = r->order_next++;
    t->flags = 0;
    r->pipe += len;
    rate_stamp(r, t);
}

void utcp__rack_sent(struct utcp_stack *s, struct utcp_conn *c, utcp_seq seq,
                     uint32_t len)
{
    struct utcp_rack *r = &c->rack;
    if (!utcp__rack_on(c) || !len)
        return;
    /* draft-cheng-iccrg-delivery-rate-estimation 3.2: with nothing in
     * flight, the send and ACK intervals start now */
    if (c->snd_una == c->snd_max) {
        r->first_tx_ts = s->now;
        r->delivered_ts = s->now;
    }
    utcp_seq end = seq + len;
    utcp_seq last = r->n ? rec_end(rec_at(r, r->n - 1)) : seq;
    if (!r->n || seq_geq(seq, last)) {
        rec_append(s, c, seq, len);
        return;
    }
    if (seq_gt(end, last)) {
        rec_append(s, c, last, (uint32_t)seq_diff(end, last));
        end = last;
    }
    if (seq_lt(seq, rec_at(r, 0)->seq))
        seq = rec_at(r, 0)->seq;
    /* RFC 8985 6.1 RACK_retransmit_data: the records of the range */
    rec_split(s, r, seq);
    rec_split(s, r, end);
    uint32_t order = r->order_next++;
    if (!r->rexmit_any || seq_gt(end, r->rexmit_hi))
        r->rexmit_hi = end;
    r->rexmit_any = true;
    for (uint32_t i = rec_find(r, seq); i < r->n; i++) {
        struct utcp_txrec *t = rec_at(r, i);
        if (!seq_lt(t->seq, end))
            break;
        set_marks(r, t, UTCP_TX_RETRANS, UTCP_TX_LOST); /* in flight again */
        t->xmit_ts = s->now;
        t->order = order;
        rate_stamp(r, t);
    }
}

/* ---------------------------------------------------------------------
 * Upon receiving an ACK (RFC 8985 6.2)
 * --------------------------------------------------------------------- */

void utcp__rack_rtt_sample(struct utcp_stack *s, struct utcp_conn *c,
                           uint32_t rtt_us)
{
    struct utcp_rack *r = &c->rack;
    /* Step 1: a windowed minimum of the ACKs' samples (the records',
     * else an echo's, RFC 7323 4.1, never under 1 ms): a sample replaces
     * it when lower, or when the minimum is older than the window (a path
     * that got longer). */
    if (!r->min_rtt || rtt_us <= r->min_rtt ||
        s->now - r->min_rtt_ts > MIN_RTT_WINDOW) {
        r->min_rtt = rtt_us ? rtt_us : 1;
        r->min_rtt_ts = s->now;
    }
    r->tlp_rtt_ok = true; /* RFC 8985 7.3 condition 2 */
}

static bool sent_after(utcp_time t1, uint32_t o1, utcp_time t2, uint32_t o2)
{
    /* RFC 8985 6.2 RACK_sent_after. Ties of the clock are broken by the
     * order of transmission itself (a counter), where the RFC uses the
     * sequence number as its proxy: segments sent by one call share a
     * timestamp, and a retransmission sent after new data in the same
     * call must not count as sent before it. */
    return t1 > t2 || (t1 == t2 && (int32_t)(o1 - o2) > 0);
}

/* What one ACK delivered, for steps 2 and 3. */
struct delivery {
    bool any;             /* a valid segment was delivered */
    utcp_time xmit_ts;    /* the most recently sent of them */
    utcp_seq end_seq;
    uint32_t order;
};

/* draft-cheng-iccrg-delivery-rate-estimation 3.3 (upon receiving an
 * ACK): record t is delivered; the sample follows the most recently sent
 * packet (the largest P.delivered; ties go to the later one). */
static void rate_delivered(struct utcp_stack *s, struct utcp_rack *r,
                           const struct utcp_txrec *t)
{
    struct utcp_rate_sample *rs = &s->rs;
    r->delivered += t->len;
    r->delivered_ts = s->now;
    rs->acked_sacked += t->len;
    /* The ACK's RTT sample (utcp__ack_rtt_records, BBR's min_rtt): the
     * youngest record delivered, the one that most likely drew the ACK,
     * among those never retransmitted (Karn, RFC 6298 3; RFC 8985 6.2
     * step 2 also sets retransmissions apart). */
    if (!(t->flags & UTCP_TX_RETRANS)) {
        uint32_t rtt = (uint32_t)(s->now - t->xmit_ts);
        if (!rs->rtt || rtt < rs->rtt)
            rs->rtt = rtt ? rtt : 1;
    }
    if (rs->prior_ts && t->delivered < rs->prior_delivered)
        return;
    rs->prior_delivered = t->delivered;
    rs->prior_ts = t->delivered_ts ? t->delivered_ts : 1;
    rs->is_app_limited = (t->flags & UTCP_TX_APP_LIMITED) != 0;
    rs->send_elapsed = t->xmit_ts - t->first_tx_ts;
    rs->ack_elapsed = r->delivered_ts - t->delivered_ts;
    r->first_tx_ts = t->xmit_ts; /* C.first_sent_time = P.sent_time */
}

/* Steps 2 and 3 for one record newly ACKed or SACKed. */
static void delivered(struct utcp_stack *s, struct utcp_conn *c,
                      struct delivery *d, const struct utcp_txrec *t)
{
    struct utcp_rack *r = &c->rack;
    utcp_seq end = rec_end(t);
    rate_delivered(s, r, t);
    /* Step 3: an original delivered below RACK.fack was reordered */
    if (seq_gt(end, r->fack))
        r->fack = end;
    else if (seq_lt(end, r->fack) && !(t->flags & UTCP_TX_RETRANS))
        r->reordering_seen = true;
    /* Step 2: a retransmitted segment is ignored if it was resent less
     * than min_RTT ago (condition 2). Condition 1 (the TSecr names an
     * earlier transmission) is not used, as in Linux: for a segment above
     * a hole the receiver echoes the last in-order segment's TSval (RFC
     * 7323 4.3 (2)), so it would reject the SACK of every retransmission
     * above a hole, a loss probe's included. */
    uint32_t rtt = (uint32_t)(s->now - t->xmit_ts);
    if ((t->flags & UTCP_TX_RETRANS) && rtt < r->min_rtt)
        return;
    if (!d->any || sent_after(t->xmit_ts, t->order, d->xmit_ts, d->order)) {
        d->any = true;
        d->xmit_ts = t->xmit_ts;
        d->end_seq = end;
        d->order = t->order;
    }
}

/* The ACK's SACK blocks that RFC 6675 Update() takes: within (SND.UNA,
 * SND.MAX] (a D-SACK below SND.UNA says nothing of the holes). Returns
 * how many were copied to b. */
static unsigned ack_blocks(const struct utcp_conn *c, const struct utcp_tcp *th,
                           struct utcp_sack_block *b)
{
    const struct utcp_tcp_opts *o = &th->opts;
    unsigned n = 0;
    if (!(o->present & UTCP_OPT_SACK))
        return 0;
    for (unsigned i = 0; i < o->sack_count && i < UTCP_MAX_SACK_BLOCKS; i++) {
        utcp_seq l = o->sack[i].left, rt = o->sack[i].right;
        if (seq_lt(l, rt) && seq_gt(rt, c->snd_una) && seq_leq(rt, c->snd_max))
            b[n++] = o->sack[i];
    }
    return n;
}

/* Whether record t lies inside one of the n blocks b. */
static bool in_blocks(const struct utcp_sack_block *b, unsigned n,
                      const struct utcp_txrec *t)
{
    for (unsigned i = 0; i < n; i++)
        if (seq_leq(b[i].left, t->seq) && seq_leq(rec_end(t), b[i].right))
            return true;
    return false;
}

/* The one place that marks records SACKed (RFC 6675 4 Update(), RFC 8985
 * 6.2 steps 2-3 for each): a record inside a scoreboard range or inside
 * one of this ACK's blocks. The scoreboard holds at most UTCP_REASS_MAX
 * (16) ranges and drops a block beyond them (RFC 2018 8: SACK is
 * advisory); the records keep the mark themselves, so a flight with more
 * holes than that (a large window at a few per cent of loss: BBR's) does
 * not see SACKed segments as lost and resend them. One walk, in sequence
 * order; returns the count of SACKed records (RACK.segs_sacked), those
 * beyond the scoreboard's last range included. Without a scoreboard range
 * or a block there is nothing to mark, and nothing marked to count: a
 * record is only marked from a block, which the scoreboard keeps unless
 * it is full, and a receiver holding data above the ACK reports it in
 * every ACK (RFC 2018 4). */
static uint32_t mark_sacked(struct utcp_stack *s, struct utcp_conn *c,
                            const struct utcp_tcp *th, struct delivery *d)
{
    struct utcp_rack *r = &c->rack;
    const struct utcp_ranges *sb = c->sacked;
    struct utcp_sack_block blk[UTCP_MAX_SACK_BLOCKS];
    unsigned nb = ack_blocks(c, th, blk), k = 0;
    uint32_t sacked = 0;
    if (!sb->n && !nb)
        return 0;
    for (uint32_t i = 0; i < r->n; i++) {
        struct utcp_txrec *t = rec_at(r, i);
        while (k < sb->n && seq_leq(sb->r[k].right, t->seq))
            k++;
        if (t->flags & UTCP_TX_SACKED) {
            sacked++;
            continue;
        }
        bool in_sb = k < sb->n && seq_leq(sb->r[k].left, t->seq) &&
                     seq_leq(rec_end(t), sb->r[k].right);
        if (!in_sb && !in_blocks(blk, nb, t))
            continue;
        set_marks(r, t, UTCP_TX_SACKED, UTCP_TX_LOST);
        sacked++;
        delivered(s, c, d, t);
    }
    return sacked;
}

/* Takes the cumulatively acknowledged records off and marks newly SACKed
 * ones; returns the count of SACKed records (RACK.segs_sacked). */
static uint32_t rack_deliver(struct utcp_stack *s, struct utcp_conn *c,
                             const struct utcp_tcp *th, struct delivery *d)
{
    struct utcp_rack *r = &c->rack;
    if (!r->valid && r->n)
        r->fack = rec_at(r, 0)->seq; /* nothing delivered yet */
    while (r->n) {
        struct utcp_txrec *t = rec_at(r, 0);
        if (seq_gt(rec_end(t), c->snd_una)) {
            if (seq_lt(t->seq, c->snd_una)) { /* partly acknowledged */
                uint32_t part = (uint32_t)seq_diff(c->snd_una, t->seq);
                if (in_pipe(t))
                    r->pipe -= part;
                r->delivered += part; /* C.delivered counts it */
                s->rs.acked_sacked += part;
                t->len = (uint32_t)seq_diff(rec_end(t), c->snd_una);
                t->seq = c->snd_una;
            }
            break;
        }
        if (in_pipe(t))
            r->pipe -= t->len;
        if (!(t->flags & UTCP_TX_SACKED))
            delivered(s, c, d, t);
        r->head++;
        r->n--;
    }
    if (!r->n) {
        r->head = 0;
        utcp__rack_release(s, c); /* all acknowledged: freed when empty */
        return 0;
    }
    return mark_sacked(s, c, th, d);
}

/* RFC 2883 4: a D-SACK block is the first one, below the cumulative ACK or
 * inside the second block. */
static bool has_dsack(const struct utcp_tcp *th)
{
    const struct utcp_tcp_opts *o = &th->opts;
    if (!(o->present & UTCP_OPT_SACK) || !o->sack_count)
        return false;
    if (seq_leq(o->sack[0].right, th->ack))
        return true;
    return o->sack_count > 1 && seq_geq(o->sack[0].left, o->sack[1].left) &&
           seq_leq(o->sack[0].right, o->sack[1].right);
}

static bool recovering(const struct utcp_conn *c)
{
    /* fast recovery, or RTO recovery (RFC 6675 5.1 RecoveryPoint) */
    return c->in_recovery || seq_lt(c->snd_una, c->recover);
}

/* RFC 8985 6.2 step 4: RACK_update_reo_wnd(), in microseconds. */
static uint32_t reo_wnd(struct utcp_conn *c, bool dsack, uint32_t segs_sacked)
{
    struct utcp_rack *r = &c->rack;
    if (r->dsack_on && seq_geq(c->snd_una, r->dsack_round))
        r->dsack_on = false;
    bool rec = recovering(c);
    if (!r->dsack_on && dsack) {
        r->dsack_round = c->snd_max;
        r->dsack_on = true;
        if (r->reo_wnd_mult < 255)
            r->reo_wnd_mult++;
        r->reo_wnd_persist = REO_PERSIST;
    } else if (r->was_recovering && !rec) {
        if (r->reo_wnd_persist)
            r->reo_wnd_persist--;
        if (!r->reo_wnd_persist)
            r->reo_wnd_mult = 1;
    }
    r->was_recovering = rec;
    if (!r->reordering_seen && (rec || segs_sacked >= DUP_THRESH))
        return 0;
    uint32_t mult = r->reo_wnd_mult ? r->reo_wnd_mult : 1;
    uint64_t w = (uint64_t)mult * r->min_rtt / 4;
    if (c->srtt && w > c->srtt)
        w = c->srtt;
    return (uint32_t)w;
}

/* RFC 8985 6.2 step 5: RACK_detect_loss(). Marks records lost; returns
 * the time until the next one would be (0: none pending), and whether a
 * retransmission was found lost in *lost_rexmit. */
static uint64_t detect_loss(struct utcp_stack *s, struct utcp_conn *c,
                            uint32_t reo, uint32_t *lost, bool *lost_rexmit)
{
    struct utcp_rack *r = &c->rack;
    uint64_t timeout = 0;
    if (!r->valid || !r->n)
        return 0;
    /* The common case costs nothing: nothing SACKed and no retransmission
     * outstanding, so the records are originals sent in sequence order;
     * if the first was sent after RACK.segment, all were. */
    const struct utcp_txrec *t0 = rec_at(r, 0);
    if (r->rexmit_any && seq_leq(r->rexmit_hi, c->snd_una))
        r->rexmit_any = false; /* every resent range acknowledged (and
                                  kept so: the comparison would flip 2 GB
                                  later) */
    if (!c->sacked->n && !r->rexmit_any &&
        sent_after(t0->xmit_ts, t0->order, r->xmit_ts, r->order))
        return 0;
    for (uint32_t i = 0; i < r->n; i++) {
        struct utcp_txrec *t = rec_at(r, i);
        if (t->flags & (UTCP_TX_SACKED | UTCP_TX_LOST))
            continue;
        if (!sent_after(r->xmit_ts, r->order, t->xmit_ts, t->order))
            continue;
        utcp_time due = t->xmit_ts + r->rtt + reo;
        if (due <= s->now) {
            set_marks(r, t, UTCP_TX_LOST, 0);
            (*lost)++;
            r->lost_new += t->len; /* rs.losses for BBR */
            /* a retransmission sent since the last reduction: RFC 5681
             * 4.3 / RFC 8985 9.3, a further congestion signal (one per
             * round of retransmissions) */
            if ((t->flags & UTCP_TX_RETRANS) && t->xmit_ts >= r->reduce_ts)
                *lost_rexmit = true;
        } else if (due - s->now > timeout) {
            timeout = due - s->now;
        }
    }
    return timeout;
}

/* RFC 8985 7.4.2 TLP_process_ack(). */
static void tlp_process_ack(struct utcp_stack *s, struct utcp_conn *c,
                            const struct utcp_tcp *th, bool dsack, bool dup)
{
    struct utcp_rack *r = &c->rack;
    if (!r->tlp_on || seq_lt(th->ack, r->tlp_end_seq))
        return;
    if (!r->tlp_is_retrans) {
        r->tlp_on = false; /* TLP of new data delivered */
    } else if (dsack) {
        r->tlp_on = false; /* case 1: both copies arrived */
    } else if (seq_gt(th->ack, r->tlp_end_seq)) {
        /* the probe repaired a single loss: react to it as to a loss
         * (RFC 5681 3.2), once, unless a recovery already did */
        r->tlp_on = false;
        s->ctr.TlpRecoveries++;
        /* a model-based control (BBR) does not reduce on a loss */
        if (!recovering(c) && !c->cc->on_rate) {
            c->ssthresh = utcp_max_u32(c->cc->ssthresh(c), r->tlp_ssthresh);
            c->cwnd = utcp_min_u32(c->cwnd, c->ssthresh);
            c->bytes_acked = 0;
        }
    } else if (dup && !(th->opts.present & UTCP_OPT_SACK)) {
        r->tlp_on = false; /* case 2 */
    }
}

/* ---------------------------------------------------------------------
 * Recovery driven by RACK (RFC 6675 5 with RACK's losses, RFC 8985 9.3)
 * --------------------------------------------------------------------- */

/* The first record marked lost, not SACKed: RFC 6675 NextSeg rule (1) with
 * RACK in place of IsLost(); at most one SMSS. */
static bool next_lost(const struct utcp_conn *c, utcp_seq *seq, uint32_t *len)
{
    const struct utcp_rack *r = &c->rack;
    for (uint32_t i = 0; i < r->n; i++) {
        const struct utcp_txrec *t = rec_at(r, i);
        if ((t->flags & (UTCP_TX_LOST | UTCP_TX_SACKED)) != UTCP_TX_LOST)
            continue;
        /* a SACK block may end inside a record (a dropped block, a
         * receiver's own boundaries): never resend a SACKed octet */
        utcp_seq q = t->seq;
        uint32_t room = utcp__sack_skip(c, &q);
        if (!seq_lt(q, rec_end(t)))
            continue;
        *seq = q;
        *len = utcp_min_u32(utcp_min_u32((uint32_t)seq_diff(rec_end(t), q),
                                         room),
                            c->mss);
        return true;
    }
    return false;
}

#ifndef NDEBUG
/* RFC 6675 SetPipe() with RACK's marks, counted over the records: the
 * octets of the latest transmission of each record, unless SACKed or
 * marked lost (a lost retransmission leaves the pipe like a lost
 * original). What r->pipe keeps without the walk (checked in debug
 * builds). */
static uint32_t pipe_walk(const struct utcp_rack *r)
{
    uint32_t pipe = 0;
    for (uint32_t i = 0; i < r->n; i++)
        if (in_pipe(rec_at(r, i)))
            pipe += rec_at(r, i)->len;
    return pipe;
}
#endif

uint32_t utcp__rack_pipe(const struct utcp_conn *c)
{
    assert(c->rack.pipe == pipe_walk(&c->rack));
    return c->rack.pipe;
}

/* Sends one retransmission of a lost record. */
static void resend(struct utcp_stack *s, struct utcp_conn *c, utcp_seq seq,
                   uint32_t len)
{
    s->ctr.SackRetrans++;
    utcp__send_rexmit(s, c, seq, len);
}

/* RFC 5681 3.2 (2)-(3) / RFC 6675 5 (4): the one window reduction of a
 * recovery episode, from the FlightSize now (at most half of cwnd for a
 * lost retransmission, whose flight holds much that is lost). */
static void reduce(struct utcp_stack *s, struct utcp_conn *c, bool again)
{
    uint32_t ss = c->cc->ssthresh(c);
    if (again)
        ss = utcp_max_u32(utcp_min_u32(ss, c->cwnd / 2), 2u * c->mss);
    c->ssthresh = ss;
    c->cwnd = utcp_min_u32(c->cwnd, c->ssthresh);
    c->bytes_acked = 0;
    c->recover = c->snd_max; /* RFC 6675 (4.1) RecoveryPoint */
    c->rack.reduce_ts = s->now;
}

static void enter_recovery(struct utcp_stack *s, struct utcp_conn *c)
{
    s->ctr.FastRetrans++;
    s->ctr.SackRecoveries++;
    uint32_t prior_cwnd = c->cwnd, prior_ssthresh = c->ssthresh;
    reduce(s, c, false);
    c->cwnd = c->ssthresh; /* RFC 6675 (4.2) */
    c->in_recovery = true;
    c->rtt_active = false;   /* Karn: the timed segment may be resent */
    c->snd_nxt = c->snd_max; /* retransmissions go by the marks */
    c->rack.tlp_on = false;  /* RFC 8985 7.1 TLP_init() */
    /* RFC 6675 (4.3) / RFC 5681 3.2 (2): the first lost segment at once;
     * the rest by pipe (utcp__rack_output). */
    utcp_seq seq;
    uint32_t len;
    c->high_rxt = c->rescue_rxt = c->snd_una;
    if (next_lost(c, &seq, &len)) {
        resend(s, c, seq, len);
        c->rescue_rxt = seq + len; /* RFC 6675 (4.3) */
        utcp__undo_arm(c, prior_cwnd, prior_ssthresh);
    }
}

/* Acts on the losses just marked: a new recovery, or, for a lost
 * retransmission, a new reduction (RFC 8985 9.3, RFC 5681 4.3: the loss of
 * a retransmission is a second congestion signal). */
static void on_losses(struct utcp_stack *s, struct utcp_conn *c,
                      uint32_t lost, bool lost_rexmit)
{
    if (!lost)
        return;
    s->ctr.RackLost += lost;
    if (lost_rexmit)
        s->ctr.RackLostRetrans++;
    if (c->snd_una == c->snd_max || c->snd_una == c->iss)
        return;
    if (!c->in_recovery) {
        /* RFC 6675 5.1: no new recovery inside the RecoveryPoint of a
         * timeout (go-back-N resends everything) */
        if (seq_lt(c->snd_una, c->recover))
            return;
        c->undo_armed = false;
        enter_recovery(s, c);
    } else if (lost_rexmit && !c->rack.rto_recovery) {
        c->undo_armed = false; /* a retransmission was lost: no undo */
        reduce(s, c, true);
    }
}

/* RFC 8985 6.2 RACK_detect_loss_and_arm_timer() and what follows. */
static void detect_and_arm(struct utcp_stack *s, struct utcp_conn *c,
                           bool dsack, uint32_t segs_sacked)
{
    uint32_t lost = 0;
    bool lost_rexmit = false;
    uint32_t reo = reo_wnd(c, dsack, segs_sacked);
    uint64_t timeout = detect_loss(s, c, reo, &lost, &lost_rexmit);
    if (timeout) {
        c->t_rack = s->now + timeout;
        c->rack_timer = UTCP_TIMER_RACK;
    } else if (c->rack_timer == UTCP_TIMER_RACK) {
        c->t_rack = UTCP_TIME_NEVER;
        c->rack_timer = UTCP_TIMER_NONE;
    }
    on_losses(s, c, lost, lost_rexmit);
}

#ifndef NDEBUG
/* The SACKed records counted over the records: what r->segs_sacked keeps
 * without the walk (checked in debug builds). */
static uint32_t sacked_walk(const struct utcp_rack *r)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < r->n; i++)
        n += (rec_at(r, i)->flags & UTCP_TX_SACKED) != 0;
    return n;
}
#endif

/* draft-cheng-iccrg-delivery-rate-estimation 3.4 GenerateRateSample():
 * after the records this ACK delivered were taken (rate_delivered). */
static void rate_generate(struct utcp_rate_sample *rs, struct utcp_rack *r)
{
    /* 3.3: the application-limited phase ends once its data is
     * delivered */
    if (r->app_limited && r->delivered > r->app_limited)
        r->app_limited = 0;
    rs->valid = false;
    if (!rs->prior_ts)
        return; /* nothing delivered by this ACK */
    /* 3.4: the longer of the send and ACK intervals, so that an ACK
     * compression or a send burst does not overestimate the rate */
    rs->interval = utcp_max_u64(rs->send_elapsed, rs->ack_elapsed);
    rs->delivered = r->delivered - rs->prior_delivered;
    /* 3.4: an interval below min_rtt is a measurement artefact (ACK
     * compression, a stretched ACK): not a valid sample (as Linux) */
    if (!rs->interval || (r->min_rtt && rs->interval < r->min_rtt))
        return;
    rs->valid = true;
}

/* An ACK that can change nothing here: no record outstanding (nothing
 * sent is unacknowledged: the receiving end of a one-way transfer), no
 * SACK option, no new or duplicate acknowledgment, no probe out (RFC 8985
 * 7.4.2), no recovery, no D-SACK round or reordering-window decay pending
 * (6.2 step 4) and no reordering timer to cancel (6.2 step 5). The steps
 * of utcp__rack_ack would each find nothing to do. */
static bool ack_changes_nothing(const struct utcp_conn *c,
                                const struct utcp_tcp *th, bool advanced,
                                bool newly, bool dup)
{
    const struct utcp_rack *r = &c->rack;
    return r->n == 0 && r->rec == NULL && !advanced && !newly && !dup &&
           !(th->opts.present & UTCP_OPT_SACK) && !r->tlp_on &&
           !recovering(c) && !r->was_recovering && !r->dsack_on &&
           c->rack_timer != UTCP_TIMER_RACK;
}

void utcp__rack_ack(struct utcp_stack *s, struct utcp_conn *c,
                    const struct utcp_tcp *th, uint32_t flight, bool advanced,
                    bool newly, bool dup)
{
    struct utcp_rack *r = &c->rack;
    struct delivery d = {false, 0, 0, 0};
    memset(&s->rs, 0, sizeof s->rs);
    if (c->cc->on_rate)
        s->rs.prior_in_flight = utcp__rack_pipe(c);
    if (ack_changes_nothing(c, th, advanced, newly, dup)) {
        rate_generate(&s->rs, r); /* no delivery: the app-limited check */
        return;
    }
    uint32_t sacked = rack_deliver(s, c, th, &d);
    r->segs_sacked = sacked;
    /* Step 1 before the rest: the ACK's one RTT sample, from the records
     * just delivered (rate_delivered kept the youngest original's age in
     * rs.rtt), so that min_RTT has it when reo_wnd and the rate sample
     * are computed (RFC 8985 6.2, draft-cheng 3.4). */
    utcp__ack_rtt_records(s, c, th, s->rs.rtt, advanced, flight);
    rate_generate(&s->rs, r);
    if (d.any) {
        /* Step 2: RACK.segment, RACK.rtt */
        r->rtt = (uint32_t)(s->now - d.xmit_ts);
        if (!r->valid ||
            sent_after(d.xmit_ts, d.order, r->xmit_ts, r->order)) {
            r->xmit_ts = d.xmit_ts;
            r->end_seq = d.end_seq;
            r->order = d.order;
        }
        r->valid = true;
    }
    bool dsack = has_dsack(th);
    if (dsack)
        s->ctr.DsackRcvd++;
    tlp_process_ack(s, c, th, dsack, dup);
    if (advanced)
        r->tlp_rearm = true; /* RFC 8985 7.2 */
    detect_and_arm(s, c, dsack, sacked);
    if (c->in_recovery)
        return;
    bool blocks = (th->opts.present & UTCP_OPT_SACK) != 0;
    if (dup && !blocks && !newly && c->snd_una != c->iss) {
        /* A peer that permitted SACK but sends no blocks: RACK learns
         * nothing; RFC 5681 3.2's third duplicate still marks the first
         * segment lost. */
        if (c->dupacks < 255)
            c->dupacks++;
        if (c->dupacks >= DUP_THRESH && r->n &&
            !(rec_at(r, 0)->flags & UTCP_TX_LOST)) {
            set_marks(r, rec_at(r, 0), UTCP_TX_LOST, 0);
            on_losses(s, c, 1, false);
        }
    }
    /* RFC 3042 / RFC 6675 5 (3): limited transmit on a duplicate */
    if (!c->in_recovery && (newly || dup))
        utcp__sack_limited_transmit(s, c);
}

void utcp__rack_undo(struct utcp_conn *c)
{
    /* The recovery was spurious (Eifel, RFC 3522): what RACK marked lost
     * was reordered. Unmark it, and widen the reordering window as a
     * D-SACK would (RFC 8985 6.2 step 4; the peer may not send D-SACK). */
    struct utcp_rack *r = &c->rack;
    for (uint32_t i = 0; i < r->n; i++)
        set_marks(r, rec_at(r, i), 0, UTCP_TX_LOST);
    /* the episode never was: a loss found now starts a recovery at once
     * (as Linux returns to Open), not after the old RecoveryPoint */
    c->recover = c->snd_una;
    r->reordering_seen = true;
    if (!r->dsack_on) {
        r->dsack_on = true;
        r->dsack_round = c->snd_max;
        if (r->reo_wnd_mult < 255)
            r->reo_wnd_mult++;
        r->reo_wnd_persist = REO_PERSIST;
    }
}

/* ---------------------------------------------------------------------
 * Sending in recovery, the timers, the RTO
 * --------------------------------------------------------------------- */

bool utcp__rack_output(struct utcp_stack *s, struct utcp_conn *c)
{
    bool sent = false;
    uint32_t pipe = utcp__rack_pipe(c);
    /* RFC 6675 5 (C): while cwnd - pipe >= 1 SMSS (and the pacing time
     * has come, with BBR) */
    while (c->cwnd >= pipe && c->cwnd - pipe >= c->mss &&
           !utcp__pace_wait(s, c)) {
        utcp_seq seq, before = c->snd_max;
        uint32_t len;
        if (next_lost(c, &seq, &len)) { /* NextSeg (1), RACK's marks */
            resend(s, c, seq, len);
            pipe += len;
        } else if (utcp__send_new(s, c)) { /* NextSeg (2) */
            pipe += (uint32_t)seq_diff(c->snd_max, before);
        } else if (utcp__sack_next_rescue(c, &seq, &len)) {
            /* NextSeg (4): one rescue retransmission per recovery, as
             * RFC 6675 has it; no TLP inside recovery (RFC 8985 7.2) */
            resend(s, c, seq, len);
            c->rescue_rxt = c->recover;
            pipe += len;
        } else {
            break; /* rule (3) is RACK's to decide: no */
        }
        sent = true;
    }
    return sent;
}

/* RFC 8985 7.2 TLP_calc_PTO(), from now. */
static utcp_time tlp_pto(const struct utcp_stack *s, const struct utcp_conn *c)
{
    utcp_time pto = UTCP_SEC(1);
    if (c->srtt) {
        pto = 2ull * c->srtt;
        if (seq_diff(c->snd_max, c->snd_una) <= (int32_t)c->mss)
            pto += TLP_MAX_ACK_DELAY; /* FlightSize is one segment */
    }
    utcp_time at = s->now + pto;
    return c->t_rtx != UTCP_TIME_NEVER && c->t_rtx < at ? c->t_rtx : at;
}

void utcp__tlp_schedule(struct utcp_stack *s, struct utcp_conn *c,
                        bool sent_new)
{
    struct utcp_rack *r = &c->rack;
    if (c->rack_timer == UTCP_TIMER_RACK)
        return; /* RFC 8985 8: the reordering timer has it */
    /* RFC 8985 7.2: not in recovery, not with SACKed segments */
    bool ok = utcp__rack_on(c) && c->snd_una != c->snd_max && !c->persist &&
              !recovering(c) && !c->sacked->n && c->t_rtx != UTCP_TIME_NEVER;
    /* 7.3: a probe is skipped while one is out or before a new RTT
     * sample: the PTO is not even armed then, so the RTO (re-armed by
     * the skipped probe) could not be pushed back for ever */
    ok = ok && !r->tlp_on && r->tlp_rtt_ok;
    if (!ok) {
        if (c->rack_timer == UTCP_TIMER_TLP) {
            c->t_rack = UTCP_TIME_NEVER;
            c->rack_timer = UTCP_TIMER_NONE;
        }
        r->tlp_rearm = false;
        return;
    }
    if (sent_new || r->tlp_rearm || c->rack_timer != UTCP_TIMER_TLP) {
        c->t_rack = tlp_pto(s, c);
        c->rack_timer = UTCP_TIMER_TLP;
    }
    r->tlp_rearm = false;
}

/* RFC 8985 7.3 TLP_send_probe(). */
static void tlp_send_probe(struct utcp_stack *s, struct utcp_conn *c)
{
    struct utcp_rack *r = &c->rack;
    if (!r->tlp_on && r->tlp_rtt_ok && r->n) {
        /* for 7.4.2's response: the FlightSize at a tail is a segment or
         * two; not below half of the cwnd the lost segment left in */
        uint32_t ssthresh = c->cwnd / 2;
        r->tlp_is_retrans = false;
        if (!utcp__send_new(s, c)) {
            /* the highest-sequence segment sent, again */
            const struct utcp_txrec *t = rec_at(r, r->n - 1);
            uint32_t len = utcp_min_u32(t->len, c->mss);
            utcp__send_rexmit(s, c, c->snd_max - len, len);
            r->tlp_is_retrans = true;
        }
        r->tlp_end_seq = c->snd_max;
        r->tlp_on = true;
        r->tlp_rtt_ok = false;
        r->tlp_ssthresh = ssthresh;
        s->ctr.TlpProbes++;
    }
    /* whether or not a probe went: the RTO is the last resort */
    if (c->snd_una != c->snd_max)
        utcp__rtx_arm(s, c);
}

void utcp__rack_timer(struct utcp_stack *s, struct utcp_conn *c)
{
    int kind = c->rack_timer;
    c->t_rack = UTCP_TIME_NEVER;
    c->rack_timer = UTCP_TIMER_NONE;
    if (!utcp__rack_on(c) || c->snd_una == c->snd_max || c->persist)
        return; /* the persist timer probes a closed window */
    /* RACK.segs_sacked as the latest ACK left it: marks change only with
     * ACKs and timeouts */
    assert(c->rack.segs_sacked == sacked_walk(&c->rack));
    if (kind == UTCP_TIMER_TLP)
        tlp_send_probe(s, c);
    else
        detect_and_arm(s, c, false, c->rack.segs_sacked);
    utcp__output(s, c);
}

void utcp__rack_on_rto(struct utcp_conn *c)
{
    /* RFC 2018 8 / RFC 6675 5.1: the scoreboard is forgotten, so are the
     * SACK marks; everything is resent from SND.UNA (go-back-N), which
     * RFC 8985 6.3's marks would select too (all was sent an RTO ago).
     * RFC 8985 7.1: TLP_init(). */
    struct utcp_rack *r = &c->rack;
    for (uint32_t i = 0; i < r->n; i++)
        set_marks(r, rec_at(r, i), 0, UTCP_TX_SACKED | UTCP_TX_LOST);
    r->segs_sacked = 0;
    r->tlp_on = false;
    r->rto_recovery = false;
    c->t_rack = UTCP_TIME_NEVER;
    c->rack_timer = UTCP_TIMER_NONE;
}

void utcp__rack_rto_recovery(struct utcp_conn *c)
{
    struct utcp_rack *r = &c->rack;
    if (!utcp__rack_on(c) || !r->n || rec_at(r, 0)->seq != c->snd_una ||
        c->snd_una == c->iss)
        return;
    /* RFC 8985 6.3: the first segment was sent an RTO ago, and so was all
     * the rest (RACK.rtt + reo_wnd is below the RTO): every record is
     * lost. The SACK marks went with the scoreboard (RFC 6675 5.1); what
     * the receiver reports again is skipped as it arrives. Retransmitted
     * by the marks, lowest first, within cwnd (one segment, then slow
     * start, on_new_ack); a retransmission lost again is found by RACK
     * and resent without waiting for a second timeout. */
    for (uint32_t i = 0; i < r->n; i++)
        set_marks(r, rec_at(r, i), UTCP_TX_LOST, 0);
    c->in_recovery = true;
    r->rto_recovery = true;
    c->snd_nxt = c->snd_max;
    c->high_rxt = c->rescue_rxt = c->recover; /* no rescue (rule 4) */
}
