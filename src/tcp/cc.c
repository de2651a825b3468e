/*
 * Congestion control algorithms behind struct utcp_cc_ops. NewReno window
 * growth: RFC 5681 3.1 (slow start, congestion avoidance with byte
 * counting) and the loss response of RFC 5681 3.1 equation (4). CUBIC:
 * RFC 9438 4 (integer arithmetic). Initial window per RFC 6928. Never
 * grows cwnd during fast recovery (the engine does not call on_ack then).
 */
#include <string.h>

#include "tcp/conn.h"

static void newreno_init(struct utcp_stack *s, struct utcp_conn *c)
{
    (void)s;
    /* RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)). */
    uint32_t mss = c->mss;
    uint32_t iw = utcp_min_u32(10 * mss, utcp_max_u32(2 * mss, 14600));
    c->cwnd = iw;
    c->ssthresh = UINT32_MAX / 2; /* RFC 5681 3.1: arbitrarily high */
    c->bytes_acked = 0;
}

static void newreno_on_ack(struct utcp_conn *c, uint32_t acked,
                           utcp_time now)
{
    (void)now;
    uint32_t mss = c->mss;
    if (c->cwnd < c->ssthresh) {
        /* RFC 5681 3.1 (2): slow start, at most SMSS per ACK. */
        c->cwnd += utcp_min_u32(acked, mss);
        return;
    }
    /* RFC 5681 3.1 (3) with byte counting: one SMSS per cwnd of ACKed
     * data. */
    c->bytes_acked += acked;
    if (c->bytes_acked >= c->cwnd) {
        c->bytes_acked -= c->cwnd;
        c->cwnd += mss;
    }
}

/* RFC 5681 3.2 (2): FlightSize, without what limited transmit sent. */
static uint32_t flight_size(const struct utcp_conn *c)
{
    uint32_t flight = (uint32_t)seq_diff(c->snd_max, c->snd_una);
    return flight - utcp_min_u32(flight, c->lt_bytes);
}

static uint32_t newreno_ssthresh(struct utcp_conn *c)
{
    /* RFC 5681 3.1 (4): ssthresh = max(FlightSize / 2, 2*SMSS) */
    return utcp_max_u32(flight_size(c) / 2, 2u * c->mss);
}

const struct utcp_cc_ops utcp__cc_newreno = {
    "newreno", newreno_init, newreno_on_ack, newreno_ssthresh, NULL, NULL, NULL};

/* ---------------------------------------------------------------------
 * CUBIC (RFC 9438)
 * --------------------------------------------------------------------- */

/* RFC 9438 4.5-4.6: beta_cubic = 0.7; 4.3: alpha_cubic =
 * 3 * (1 - beta) / (1 + beta) = 9/17; 5: C = 0.4. */
#define BETA_NUM 7u
#define BETA_DEN 10u
#define ALPHA_NUM 9u
#define ALPHA_DEN 17u

/* The integer cube root of x (rounded down). */
static uint64_t icbrt(uint64_t x)
{
    uint64_t lo = 0, hi = 1u << 21; /* (2^21)^3 = 2^63 */
    while (lo < hi) {
        uint64_t mid = (lo + hi + 1) / 2;
        if (mid * mid * mid <= x)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static void cubic_init(struct utcp_stack *s, struct utcp_conn *c)
{
    newreno_init(s, c); /* RFC 9438 4.10: slow start as RFC 5681 */
    memset(&c->cubic, 0, sizeof c->cubic);
}

/* RFC 9438 4.2 eq. (1): W_cubic(t) = C * (t - K)^3 + W_max, in bytes, for
 * t in milliseconds since the epoch. */
static uint64_t w_cubic(const struct utcp_conn *c, uint64_t t_ms)
{
    int64_t d = (int64_t)t_ms - (int64_t)c->cubic.k_ms;
    if (d > 100000)
        d = 100000; /* 100 s: far beyond any target clamp */
    if (d < -100000)
        d = -100000;
    /* 0.4 segments per s^3: d^3 ms^3 * 0.4 / 1e9 segments, in two steps
     * so that no product passes 2^63 (|d|^3 * 4 <= 4e15, then at most
     * 4e10 * a 65535-byte MSS) */
    int64_t bytes = d * d * d * 4 / 100000 * (int64_t)c->mss / 100000;
    int64_t w = (int64_t)c->cubic.w_max + bytes;
    return w < 0 ? 0 : (uint64_t)w;
}

static void cubic_epoch(struct utcp_conn *c, utcp_time now)
{
    struct utcp_cubic *k = &c->cubic;
    k->epoch_on = true;
    k->t_epoch = now;
    k->w_est = c->cwnd; /* 4.3 */
    if (k->w_max < c->cwnd)
        k->w_max = c->cwnd; /* no reduction yet: plateau at the start */
    /* 4.2 eq. (2): K = cbrt((W_max - cwnd_epoch) / C), in ms: the cube
     * root of (segments / 0.4) * 1e9 */
    uint64_t seg_x = (uint64_t)(k->w_max - c->cwnd) * 2500000000ull / c->mss;
    k->k_ms = (uint32_t)icbrt(seg_x);
}

static void cubic_on_ack(struct utcp_conn *c, uint32_t acked, utcp_time now)
{
    struct utcp_cubic *k = &c->cubic;
    if (c->cwnd < c->ssthresh) {
        newreno_on_ack(c, acked, now); /* 4.10 */
        k->epoch_on = false;
        return;
    }
    if (!k->epoch_on)
        cubic_epoch(c, now);
    /* 4.3: the Reno-friendly window, alpha_cubic per cwnd of ACKed data
     * (1 once W_est has reached W_max) */
    uint64_t a = (uint64_t)acked * c->mss;
    k->w_est += k->w_est >= k->w_max
                    ? (uint32_t)(a / c->cwnd)
                    : (uint32_t)(a * ALPHA_NUM / ((uint64_t)ALPHA_DEN * c->cwnd));
    /* 4.2: the target one RTT ahead, within [cwnd, 1.5 cwnd] */
    uint64_t t_ms = (now - k->t_epoch + c->srtt) / 1000u;
    uint64_t target = w_cubic(c, t_ms);
    uint64_t hi = (uint64_t)c->cwnd * 3 / 2;
    if (target < c->cwnd)
        target = c->cwnd;
    if (target > hi)
        target = hi;
    if (w_cubic(c, (now - k->t_epoch) / 1000u) < k->w_est) {
        /* 4.3: the Reno-friendly region */
        if (k->w_est > c->cwnd)
            c->cwnd = k->w_est;
        return;
    }
    /* 4.4-4.5: concave or convex: (target - cwnd) / cwnd per SMSS ACKed */
    uint64_t inc = (target - c->cwnd) * acked / c->cwnd;
    c->cwnd += (uint32_t)inc;
}

static uint32_t cubic_ssthresh(struct utcp_conn *c)
{
    struct utcp_cubic *k = &c->cubic;
    k->w_max_prior = k->w_max;
    /* 4.7 fast convergence: a window below the last W_max releases
     * bandwidth: W_max = cwnd * (1 + beta) / 2 */
    if (c->cwnd < k->w_max)
        k->w_max = (uint32_t)((uint64_t)c->cwnd * (BETA_DEN + BETA_NUM) /
                              (2u * BETA_DEN));
    else
        k->w_max = c->cwnd;
    k->epoch_on = false;
    /* 4.6: ssthresh = FlightSize * beta_cubic, at least 2 SMSS */
    uint32_t ss = (uint32_t)((uint64_t)flight_size(c) * BETA_NUM / BETA_DEN);
    return utcp_max_u32(ss, 2u * c->mss);
}

static void cubic_undo(struct utcp_conn *c)
{
    /* RFC 9438 4.9: the event was spurious: W_max as before it */
    c->cubic.w_max = c->cubic.w_max_prior;
    c->cubic.epoch_on = false;
}

const struct utcp_cc_ops utcp__cc_cubic = {
    "cubic", cubic_init, cubic_on_ack, cubic_ssthresh, cubic_undo, NULL, NULL};

/* The UTCP_CC_* of an algorithm (utcp_info.cc). */
int utcp__cc_kind(const struct utcp_cc_ops *ops)
{
    if (ops == &utcp__cc_cubic)
        return UTCP_CC_CUBIC;
    return ops == &utcp__cc_bbr ? UTCP_CC_BBR : UTCP_CC_NEWRENO;
}

const char *utcp_cc_name(int cc)
{
    switch (cc) {
    case UTCP_CC_NEWRENO:
        return utcp__cc_newreno.name;
    case UTCP_CC_CUBIC:
        return utcp__cc_cubic.name;
    case UTCP_CC_BBR:
        return utcp__cc_bbr.name;
    default:
        return "?";
    }
}

const struct utcp_cc_ops *utcp__cc_ops_for(unsigned cc)
{
    switch (cc) {
    case UTCP_CC_CUBIC:
        return &utcp__cc_cubic;
    case UTCP_CC_BBR:
        return &utcp__cc_bbr;
    default:
        return &utcp__cc_newreno;
    }
}
