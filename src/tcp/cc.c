/*
 * Congestion control algorithms behind struct utcp_cc_ops. NewReno window
 * growth: RFC 5681 3.1 (slow start, congestion avoidance with byte
 * counting) and the loss response of RFC 5681 3.1 equation (4). Initial
 * window per RFC 6928. Never grows cwnd during loss recovery (the engine
 * does not call on_ack then).
 */
#include "tcp/conn.h"

static void newreno_init(struct utcp_conn *c)
{
    /* RFC 6928 2: IW = min(10*MSS, max(2*MSS, 14600)). */
    uint32_t mss = c->mss;
    uint32_t iw = utcp_min_u32(10 * mss, utcp_max_u32(2 * mss, 14600));
    c->cwnd = iw;
    c->ssthresh = UINT32_MAX / 2; /* RFC 5681 3.1: arbitrarily high */
    c->bytes_acked = 0;
}

static void newreno_on_ack(struct utcp_conn *c, uint32_t acked)
{
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

static uint32_t newreno_ssthresh(struct utcp_conn *c)
{
    /* RFC 5681 3.1 (4): ssthresh = max(FlightSize / 2, 2*SMSS); 3.2 (2):
     * without what limited transmit sent. */
    uint32_t flight = (uint32_t)seq_diff(c->snd_max, c->snd_una);
    flight -= utcp_min_u32(flight, c->lt_bytes);
    return utcp_max_u32(flight / 2, 2u * c->mss);
}

const struct utcp_cc_ops utcp__cc_newreno = {"newreno", newreno_init,
                                            newreno_on_ack, newreno_ssthresh};
