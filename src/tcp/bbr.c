/*
 * BBR v1 congestion control (draft-cardwell-iccrg-bbr-congestion-control-00,
 * as Linux's net/ipv4/tcp_bbr.c behaves): a model of the path (the
 * bottleneck bandwidth, a windowed max of delivery-rate samples over 10
 * round trips, and the round-trip propagation time, a 10 s windowed min),
 * the STARTUP / DRAIN / PROBE_BW / PROBE_RTT state machine, a pacing rate
 * and cwnd = cwnd_gain * BDP. Random loss is not a congestion signal:
 * losses only trigger packet conservation during recovery. The rate
 * samples come from rack.c (draft-cheng-iccrg-delivery-rate-estimation),
 * so BBR needs RACK's records (SACK on, no_rack off); without them a
 * connection falls back to NewReno. Bytes, bytes per second and
 * microseconds throughout; gains in units of 1/256 (BBR_UNIT).
 */
#include <string.h>

#include "stack/stack.h"
#include "tcp/conn.h"

#define BBR_UNIT 256u
/* draft 4.3.1.1 / Linux bbr_high_gain: 2/ln(2) = 2.885, the smallest gain
 * that doubles the sending rate each round in STARTUP */
#define HIGH_GAIN (BBR_UNIT * 2885u / 1000u + 1u)
/* draft 4.3.2 / Linux bbr_drain_gain: 1/high_gain, drains STARTUP's
 * queue in one round */
#define DRAIN_GAIN (BBR_UNIT * 1000u / 2885u)
/* draft 4.2.3.2 / Linux bbr_cwnd_gain: 2 BDP in PROBE_BW */
#define CWND_GAIN (2u * BBR_UNIT)
/* draft 4.3.4.3 / Linux bbr_pacing_gain[]: 5/4, 3/4, then 1 for six
 * phases */
#define CYCLE_LEN 8u
static const uint16_t cycle_gain[CYCLE_LEN] = {
    BBR_UNIT * 5 / 4, BBR_UNIT * 3 / 4, BBR_UNIT, BBR_UNIT,
    BBR_UNIT,         BBR_UNIT,         BBR_UNIT, BBR_UNIT};
/* draft 4.3.2.2 / Linux bbr_full_bw_thresh, bbr_full_bw_cnt: STARTUP ends
 * after 3 rounds without 25% growth */
#define FULL_BW_THRESH (BBR_UNIT * 5u / 4u)
#define FULL_BW_CNT 3u
/* draft 4.1.2.3 / Linux bbr_min_rtt_win_sec: RTprop filter window */
#define MIN_RTT_WIN UTCP_SEC(10)
/* draft 4.3.5 / Linux bbr_probe_rtt_mode_ms: 200 ms at 4 segments */
#define PROBE_RTT_TIME UTCP_MS(200)
/* draft 4.2.3.1 BBRMinPipeCwnd, Linux bbr_cwnd_min_target */
#define MIN_CWND_SEGS 4u
#define INIT_CWND_SEGS 10u /* Linux TCP_INIT_CWND, the BDP before any RTT */
#define PACING_MARGIN 1u   /* Linux bbr_pacing_margin_percent */
/* Linux bbr_extra_acked_win_rtts, bbr_extra_acked_max_us and
 * bbr_ack_epoch_acked_reset_thresh (1 << 20 packets; here bytes): the
 * ACK aggregation estimate is a max over 5-10 rounds, adds at most
 * 100 ms at BtlBw to cwnd, and its epoch restarts past 1 GiB. */
#define EXTRA_ACKED_ROUNDS 5u
#define EXTRA_ACKED_MAX UTCP_MS(100)
#define ACK_EPOCH_RESET (1u << 30)

/* Connection states as BBR sees them (Linux's TCP_CA_Open / Recovery /
 * Loss). */
enum { CA_OPEN, CA_RECOVERY, CA_LOSS };

static int ca_state(const struct utcp_conn *c)
{
    if (c->in_recovery)
        return c->rack.rto_recovery ? CA_LOSS : CA_RECOVERY;
    /* go-back-N after a timeout, until its RecoveryPoint */
    return seq_lt(c->snd_una, c->recover) ? CA_LOSS : CA_OPEN;
}

/* draft 4.2.3.2 BBRInflight() / Linux bbr_bdp(): gain * BtlBw * RTprop. */
static uint64_t bdp(const struct utcp_conn *c, uint64_t bw, uint32_t gain)
{
    if (!c->bbr->min_rtt)
        return (uint64_t)INIT_CWND_SEGS * c->mss; /* no RTT yet */
    uint64_t w = bw * c->bbr->min_rtt / 1000000u;
    return (w * gain + BBR_UNIT - 1) / BBR_UNIT;
}

/* Linux bbr_tso_segs_goal(): segments per TSO burst, about 1 ms at the
 * pacing rate (sk_pacing_shift 10), at least 2 above 1.2 Mbit/s. */
static uint32_t tso_segs_goal(const struct utcp_conn *c)
{
    uint64_t bytes = c->bbr->pacing_rate >> 10;
    uint32_t min_segs = c->bbr->pacing_rate < 1200000u / 8u ? 1u : 2u;
    uint64_t segs = c->mss ? bytes / c->mss : 1u;
    if (segs < min_segs)
        segs = min_segs;
    uint32_t cap = 65535u / (c->mss ? c->mss : 1u);
    return (uint32_t)(segs < cap ? segs : (cap ? cap : 1u));
}

void utcp__bbr_info(const struct utcp_conn *c, uint8_t *mode, uint64_t *bw,
                    uint32_t *rtprop)
{
    bool on = c->cc == &utcp__cc_bbr && c->bbr;
    *mode = on ? c->bbr->mode : 0;
    *bw = on ? c->bbr->max_bw : 0;
    *rtprop = on ? c->bbr->min_rtt : 0;
}

_Static_assert(UTCP_BBR_STARTUP == 0 && UTCP_BBR_DRAIN == 1 &&
                   UTCP_BBR_PROBE_BW == 2 && UTCP_BBR_PROBE_RTT == 3,
               "utcp_info.bbr_mode's documented values");

const char *utcp_bbr_mode_name(int mode)
{
    static const char *const names[] = {"startup", "drain", "probe_bw",
                                        "probe_rtt"};
    return mode >= 0 && mode < 4 ? names[mode] : "?";
}

uint32_t utcp__bbr_tso_bytes(const struct utcp_conn *c)
{
    if (c->cc != &utcp__cc_bbr || !c->bbr || !c->bbr->pacing_rate)
        return 0;
    return tso_segs_goal(c) * c->mss;
}

/* draft 4.2.3.2 (quantization budget) / Linux bbr_quantization_budget():
 * room for three TSO bursts in the sender, the receiver's delayed ACK and
 * a coalesced ACK; 2 more segments while probing for bandwidth. */
static uint64_t quantization_budget(const struct utcp_conn *c, uint64_t cwnd)
{
    cwnd += 3ull * tso_segs_goal(c) * c->mss;
    if (c->bbr->mode == UTCP_BBR_PROBE_BW && c->bbr->cycle_idx == 0)
        cwnd += 2u * c->mss;
    return cwnd;
}

/* Linux bbr_save_cwnd(): the cwnd to return to after recovery or
 * PROBE_RTT. */
static void save_cwnd(struct utcp_conn *c)
{
    struct utcp_bbr *b = c->bbr;
    if (b->prev_state < CA_RECOVERY && b->mode != UTCP_BBR_PROBE_RTT)
        b->prior_cwnd = c->cwnd;
    else
        b->prior_cwnd = utcp_max_u32(b->prior_cwnd, c->cwnd);
}

static void bbr_init(struct utcp_stack *s, struct utcp_conn *c)
{
    utcp__cc_newreno.init(s, c); /* RFC 6928 initial window */
    if (!utcp__rack_on(c)) {
        /* no per-transmission records, no delivery rate: NewReno */
        c->cc = &utcp__cc_newreno;
        return;
    }
    struct utcp_bbr *b = c->bbr;
    if (!b) /* its own block, returned by bbr_release */
        b = utcp__obj_alloc(s, UTCP_OBJ_BBR, sizeof *b);
    if (!b) {
        /* no memory for the model: NewReno, as without records */
        c->cc = &utcp__cc_newreno;
        return;
    }
    memset(b, 0, sizeof *b);
    c->bbr = b;
    /* draft 4.3.1.1 BBREnterStartup() */
    b->mode = UTCP_BBR_STARTUP;
    b->pacing_gain = HIGH_GAIN;
    b->cwnd_gain = HIGH_GAIN;
}

static void bbr_release(struct utcp_stack *s, struct utcp_conn *c)
{
    if (c->bbr)
        utcp__obj_free(s, UTCP_OBJ_BBR, c->bbr, sizeof *c->bbr);
    c->bbr = NULL;
}

static void bbr_on_ack(struct utcp_conn *c, uint32_t acked, utcp_time now)
{
    (void)c, (void)acked, (void)now; /* cwnd is set by bbr_on_rate */
}

/* Linux bbr_ssthresh(): BBR does not reduce on loss; it saves cwnd and
 * the engine's recovery starts with packet conservation (the pipe plus the
 * segment resent; draft 4.2.3.4). */
static uint32_t bbr_ssthresh(struct utcp_conn *c)
{
    save_cwnd(c);
    uint32_t pipe = utcp__rack_pipe(c);
    return utcp_max_u32(pipe + c->mss, MIN_CWND_SEGS * c->mss);
}

static void bbr_undo(struct utcp_conn *c)
{
    /* Linux bbr_undo_cwnd(): the loss was spurious; STARTUP's plateau
     * count restarts */
    c->bbr->full_bw = 0;
    c->bbr->full_bw_cnt = 0;
}

/* draft 4.1.1.3 (round counting) and 4.1.1.5 / Linux bbr_update_bw(). */
static void update_bw(struct utcp_conn *c, const struct utcp_rate_sample *rs)
{
    struct utcp_bbr *b = c->bbr;
    b->round_start = false;
    if (!rs->prior_ts)
        return;
    if (rs->prior_delivered >= b->next_rtt_delivered) {
        b->next_rtt_delivered = c->rack.delivered;
        b->round_count++;
        b->round_start = true;
        b->packet_conservation = false;
    }
    if (!rs->valid)
        return;
    uint64_t bw = rs->delivered * 1000000u / rs->interval;
    /* an application-limited sample only counts if it raises the max */
    if (rs->is_app_limited && bw < b->max_bw)
        return;
    /* the windowed max over BBR.BtlBwFilterLen rounds: slots of rounds
     * that passed without a sample are emptied as a sample arrives (so a
     * quiet connection keeps its estimate, as Linux's minmax filter) */
    uint32_t gap = b->round_count - b->bw_round; /* wraps safely */
    for (uint64_t k = 1; k <= gap && k <= UTCP_BBR_BW_ROUNDS; k++)
        b->bw[(b->bw_round + k) % UTCP_BBR_BW_ROUNDS] = 0;
    b->bw_round = b->round_count;
    uint64_t *slot = &b->bw[b->round_count % UTCP_BBR_BW_ROUNDS];
    if (bw > *slot)
        *slot = bw;
    b->max_bw = 0;
    for (unsigned k = 0; k < UTCP_BBR_BW_ROUNDS; k++)
        b->max_bw = utcp_max_u64(b->max_bw, b->bw[k]);
}

/* Linux bbr_update_ack_aggregation() (BBRUpdateACKAggregation in the
 * later BBR drafts):
 * when ACKs come in bursts (a receiver or a link that batches them, a
 * sender that reads them in batches), more is acknowledged at once than
 * BtlBw over the time since the epoch began would deliver; the most of
 * that excess over the last 5-10 rounds is what cwnd needs beyond 2 BDP
 * to keep sending while the next burst of ACKs is awaited. */
static void update_ack_aggregation(struct utcp_conn *c,
                                   const struct utcp_rate_sample *rs,
                                   utcp_time now)
{
    struct utcp_bbr *b = c->bbr;
    if (!rs->acked_sacked || !rs->valid)
        return;
    if (b->round_start &&
        ++b->extra_acked_rounds >= EXTRA_ACKED_ROUNDS) {
        b->extra_acked_rounds = 0;
        b->extra_acked_idx ^= 1u;
        b->extra_acked[b->extra_acked_idx] = 0;
    }
    uint64_t expected = b->max_bw * (now - b->ack_epoch_ts) / 1000000u;
    /* ACKs no faster than the model, or an epoch grown old: a new one */
    if (b->ack_epoch_acked <= expected ||
        (uint64_t)b->ack_epoch_acked + rs->acked_sacked >= ACK_EPOCH_RESET) {
        b->ack_epoch_acked = 0;
        b->ack_epoch_ts = now;
        expected = 0;
    }
    b->ack_epoch_acked += rs->acked_sacked;
    uint64_t extra = utcp_min_u64(b->ack_epoch_acked - expected, c->cwnd);
    if (extra > b->extra_acked[b->extra_acked_idx])
        b->extra_acked[b->extra_acked_idx] = (uint32_t)extra;
}

/* Linux bbr_ack_aggregation_cwnd(): what cwnd adds for ACK aggregation
 * once the pipe is full, at most 100 ms at BtlBw. */
static uint64_t ack_aggregation_cwnd(const struct utcp_conn *c)
{
    const struct utcp_bbr *b = c->bbr;
    if (!b->full_bw_reached)
        return 0;
    uint64_t extra = utcp_max_u32(b->extra_acked[0], b->extra_acked[1]);
    return utcp_min_u64(extra, b->max_bw * EXTRA_ACKED_MAX / 1000000u);
}

/* draft 4.3.2.2 BBRCheckFullPipe() / Linux bbr_check_full_bw_reached(). */
static void check_full_bw_reached(struct utcp_conn *c,
                                  const struct utcp_rate_sample *rs)
{
    struct utcp_bbr *b = c->bbr;
    if (b->full_bw_reached || !b->round_start || rs->is_app_limited)
        return;
    if (b->max_bw >= b->full_bw * FULL_BW_THRESH / BBR_UNIT) {
        b->full_bw = b->max_bw; /* still growing by 25% */
        b->full_bw_cnt = 0;
        return;
    }
    b->full_bw_cnt++;
    b->full_bw_reached = b->full_bw_cnt >= FULL_BW_CNT;
}

/* draft 4.3.4 BBREnterProbeBW() / Linux bbr_reset_probe_bw_mode(): a
 * random phase other than the 3/4 one (the seed's randomness: the ISS). */
static void enter_probe_bw(struct utcp_conn *c, utcp_time now)
{
    struct utcp_bbr *b = c->bbr;
    b->mode = UTCP_BBR_PROBE_BW;
    uint32_t r = (c->iss >> 7) % (CYCLE_LEN - 1); /* 0..6 */
    b->cycle_idx = (uint8_t)(r == 0 ? 0 : r + 1); /* never 1 (3/4) */
    b->cycle_ts = now;
}

/* draft 4.3.4.4 BBRIsNextCyclePhase() / Linux bbr_is_next_cycle_phase(). */
static bool is_next_cycle_phase(const struct utcp_conn *c,
                                const struct utcp_rate_sample *rs,
                                utcp_time now)
{
    const struct utcp_bbr *b = c->bbr;
    bool full_length = now - b->cycle_ts > b->min_rtt;
    uint32_t gain = cycle_gain[b->cycle_idx];
    if (gain == BBR_UNIT)
        return full_length;
    if (gain > BBR_UNIT) /* probing: until a loss or the inflight target */
        return full_length &&
               (rs->losses || rs->prior_in_flight >= bdp(c, b->max_bw, gain));
    /* draining: until the queue it made is gone, or one round */
    return full_length || rs->prior_in_flight <= bdp(c, b->max_bw, BBR_UNIT);
}

/* draft 4.3.2, 4.3.3, 4.3.4.3 / Linux bbr_check_drain() and
 * bbr_update_cycle_phase(). */
static void update_mode(struct utcp_conn *c, const struct utcp_rate_sample *rs,
                        utcp_time now, uint32_t pipe)
{
    struct utcp_bbr *b = c->bbr;
    if (b->mode == UTCP_BBR_PROBE_BW && is_next_cycle_phase(c, rs, now)) {
        b->cycle_idx = (uint8_t)((b->cycle_idx + 1) % CYCLE_LEN);
        b->cycle_ts = now;
    }
    check_full_bw_reached(c, rs);
    if (b->mode == UTCP_BBR_STARTUP && b->full_bw_reached)
        b->mode = UTCP_BBR_DRAIN; /* 4.3.3 BBREnterDrain() */
    if (b->mode == UTCP_BBR_DRAIN && pipe <= bdp(c, b->max_bw, BBR_UNIT))
        enter_probe_bw(c, now); /* the queue is drained */
}

/* Leaves PROBE_RTT (Linux bbr_reset_mode()). */
static void exit_probe_rtt(struct utcp_conn *c, utcp_time now)
{
    struct utcp_bbr *b = c->bbr;
    b->min_rtt_ts = now; /* draft 4.3.5: the probe refreshed RTprop */
    c->cwnd = utcp_max_u32(c->cwnd, b->prior_cwnd);
    if (b->full_bw_reached)
        enter_probe_bw(c, now);
    else
        b->mode = UTCP_BBR_STARTUP;
}

/* draft 4.1.2.3 and 4.3.5 / Linux bbr_update_min_rtt(): the RTprop filter,
 * and PROBE_RTT when it has not seen a new minimum for 10 s. */
static void update_min_rtt(struct utcp_conn *c, uint32_t rtt, utcp_time now,
                           uint32_t pipe)
{
    struct utcp_bbr *b = c->bbr;
    bool expired = b->min_rtt && now > b->min_rtt_ts + MIN_RTT_WIN;
    if (rtt && (!b->min_rtt || rtt < b->min_rtt || expired)) {
        b->min_rtt = rtt;
        b->min_rtt_ts = now;
    }
    if (expired && b->mode != UTCP_BBR_PROBE_RTT) {
        b->mode = UTCP_BBR_PROBE_RTT; /* draft 4.3.5 BBREnterProbeRTT() */
        save_cwnd(c);
        b->probe_rtt_done_ts = 0;
    }
    if (b->mode != UTCP_BBR_PROBE_RTT)
        return;
    /* the pipe stays low on purpose: not a sign of the path's rate */
    c->rack.app_limited = utcp_max_u64(c->rack.delivered + pipe, 1);
    if (!b->probe_rtt_done_ts && pipe <= MIN_CWND_SEGS * c->mss) {
        b->probe_rtt_done_ts = now + PROBE_RTT_TIME;
        b->probe_rtt_round_done = false;
        b->next_rtt_delivered = c->rack.delivered;
    } else if (b->probe_rtt_done_ts) {
        if (b->round_start)
            b->probe_rtt_round_done = true;
        if (b->probe_rtt_round_done && now > b->probe_rtt_done_ts)
            exit_probe_rtt(c, now);
    }
}

/* draft 4.3 (the gains of each state) / Linux bbr_update_gains(). */
static void update_gains(struct utcp_bbr *b)
{
    switch (b->mode) {
    case UTCP_BBR_STARTUP:
        b->pacing_gain = HIGH_GAIN;
        b->cwnd_gain = HIGH_GAIN;
        break;
    case UTCP_BBR_DRAIN:
        b->pacing_gain = DRAIN_GAIN;
        b->cwnd_gain = HIGH_GAIN; /* keep cwnd */
        break;
    case UTCP_BBR_PROBE_BW:
        b->pacing_gain = cycle_gain[b->cycle_idx];
        b->cwnd_gain = CWND_GAIN;
        break;
    default: /* PROBE_RTT */
        b->pacing_gain = BBR_UNIT;
        b->cwnd_gain = BBR_UNIT;
        break;
    }
}

/* draft 4.2.1 BBRSetPacingRate() / Linux bbr_set_pacing_rate(): gain *
 * BtlBw less a 1% margin; in STARTUP only upwards. Before any bandwidth
 * sample: high_gain * initial window / RTT (Linux bbr_init_pacing_rate). */
static void set_pacing_rate(struct utcp_conn *c, uint32_t srtt)
{
    struct utcp_bbr *b = c->bbr;
    uint64_t rate;
    if (!b->max_bw) {
        uint64_t rtt = srtt ? srtt : 1000u; /* Linux: 1 ms without SRTT */
        rate = (uint64_t)c->cwnd * 1000000u / rtt * HIGH_GAIN / BBR_UNIT;
    } else {
        rate = b->max_bw * b->pacing_gain / BBR_UNIT;
        rate = rate * (100u - PACING_MARGIN) / 100u;
    }
    if (b->full_bw_reached || rate > b->pacing_rate || !b->max_bw)
        b->pacing_rate = rate;
}

/* Linux bbr_set_cwnd_to_recover_or_restore() (draft 4.2.3.4): losses
 * take cwnd down by what was lost; the first round of recovery sends one
 * segment per segment delivered (packet conservation); leaving recovery
 * restores the cwnd saved at its start. True: cwnd is decided. */
static bool recover_or_restore(struct utcp_conn *c, uint32_t pipe,
                               uint32_t acked, uint32_t losses, uint64_t *cwnd)
{
    struct utcp_bbr *b = c->bbr;
    int state = ca_state(c), prev = b->prev_state;
    uint64_t w = *cwnd;
    w = w > losses + c->mss ? w - losses : c->mss;
    if (state == CA_RECOVERY && prev != CA_RECOVERY) {
        b->packet_conservation = true;
        b->next_rtt_delivered = c->rack.delivered;
        w = (uint64_t)pipe + acked;
    } else if (prev >= CA_RECOVERY && state < CA_RECOVERY) {
        w = utcp_max_u64(w, b->prior_cwnd);
        b->packet_conservation = false;
    }
    b->prev_state = (uint8_t)state;
    if (b->packet_conservation) {
        *cwnd = utcp_max_u64(w, (uint64_t)pipe + acked);
        return true;
    }
    *cwnd = w;
    return false;
}

/* draft 4.2.3 / Linux bbr_set_cwnd(). */
static void set_cwnd(struct utcp_conn *c, const struct utcp_rate_sample *rs,
                     uint32_t pipe)
{
    struct utcp_bbr *b = c->bbr;
    uint32_t acked = rs->acked_sacked;
    uint32_t min_cwnd = MIN_CWND_SEGS * c->mss;
    uint64_t cwnd = c->cwnd;
    if (acked && !recover_or_restore(c, pipe, acked, rs->losses, &cwnd)) {
        uint64_t target = bdp(c, b->max_bw, b->cwnd_gain);
        target += ack_aggregation_cwnd(c);
        target = quantization_budget(c, target);
        if (b->full_bw_reached) /* grow towards the target, never past */
            cwnd = utcp_min_u64(cwnd + acked, target);
        else if (cwnd < target ||
                 c->rack.delivered < (uint64_t)INIT_CWND_SEGS * c->mss)
            cwnd += acked; /* STARTUP: as fast as slow start */
        cwnd = utcp_max_u64(cwnd, min_cwnd);
    }
    if (b->mode == UTCP_BBR_PROBE_RTT) /* draft 4.3.5: 4 segments */
        cwnd = utcp_min_u64(cwnd, min_cwnd);
    c->cwnd = (uint32_t)utcp_min_u64(cwnd, UINT32_MAX / 2);
}

/* draft 4 (BBRUpdateOnACK) / Linux bbr_main(): the model, then the
 * control parameters, on every ACK. */
static void bbr_on_rate(struct utcp_conn *c, struct utcp_rate_sample *rs,
                        utcp_time now)
{
    struct utcp_bbr *b = c->bbr;
    uint32_t pipe = utcp__rack_pipe(c);
    rs->losses = c->rack.lost_new;
    c->rack.lost_new = 0;
    if (ca_state(c) == CA_LOSS && b->prev_state != CA_LOSS) {
        /* Linux bbr_set_state(TCP_CA_Loss): a timeout; the plateau
         * measurement restarts */
        b->full_bw = 0;
    }
    update_bw(c, rs);
    update_ack_aggregation(c, rs, now);
    update_mode(c, rs, now, pipe);
    update_min_rtt(c, rs->rtt, now, pipe);
    update_gains(b);
    set_pacing_rate(c, c->srtt);
    set_cwnd(c, rs, pipe);
}

const struct utcp_cc_ops utcp__cc_bbr = {
    "bbr",    bbr_init,    bbr_on_ack, bbr_ssthresh,
    bbr_undo, bbr_on_rate, bbr_release};
