/*
 * The transmission control block (RFC 9293 3.3.1) and the internal interface
 * between the parts of the engine: input (input.c), output (output.c),
 * timers (timer.c), connection life (conn.c), SACK (sack.c) and the stack
 * (stack/).
 */
#ifndef UTCP_CONN_H
#define UTCP_CONN_H

#include "base/base.h"
#include "stack/hash.h"
#include "stack/timerwheel.h"
#include "tcp/buf.h"
#include "utcp/trace.h"
#include "utcp/utcp.h"
#include "utcp/wire.h"

/* Per-socket options, copied from the stack defaults at creation. */
struct utcp_sockopts {
    uint32_t sndbuf, rcvbuf;
    uint32_t msl_ms, fin_wait2_ms, user_timeout_ms;
    uint32_t keepidle_ms, keepintvl_ms;
    uint16_t maxseg;
    uint8_t keepcnt, syn_retries;
    int8_t linger; /* -1 graceful, 0 abortive */
    bool nodelay, keepalive, reuseaddr;
    bool no_ts, no_sack;    /* do not offer RFC 7323 TS / RFC 2018 SACK */
    bool no_rack;           /* RFC 6675 loss detection instead of RACK-TLP */
};

/* RFC 8985 5.2: the state of the latest transmission of a range of the
 * send sequence space (one segment as sent; split when a retransmission
 * covers part of it). */
enum {
    UTCP_TX_RETRANS = 1u << 0,     /* Segment.retransmitted */
    UTCP_TX_SACKED = 1u << 1,      /* selectively acknowledged */
    UTCP_TX_LOST = 1u << 2,        /* Segment.lost: marked, not yet resent */
    UTCP_TX_APP_LIMITED = 1u << 3, /* P.is_app_limited (delivery rate
                                      estimation draft 3.2) */
};
struct utcp_txrec {
    utcp_time xmit_ts;         /* Segment.xmit_ts */
    utcp_seq seq;              /* first sequence number */
    uint32_t len;              /* end_seq = seq + len (a FIN counts 1) */
    uint32_t order;            /* transmission order: breaks ties of
                                  xmit_ts (RACK_sent_after) */
    uint8_t flags;             /* UTCP_TX_* */
    /* draft-cheng-iccrg-delivery-rate-estimation 3.2: the connection's
     * delivery state when this transmission left */
    uint64_t delivered;     /* P.delivered (bytes) */
    utcp_time delivered_ts; /* P.delivered_time */
    utcp_time first_tx_ts;  /* P.first_sent_time */
};

/* draft-cheng-iccrg-delivery-rate-estimation 3.1 and 3.3: one rate
 * sample, made by each ACK that delivers data. */
struct utcp_rate_sample {
    uint64_t prior_delivered; /* rs.prior_delivered */
    utcp_time prior_ts;       /* rs.prior_time (0: no sample) */
    utcp_time send_elapsed, ack_elapsed;
    uint64_t interval;        /* rs.interval (microseconds) */
    uint64_t delivered;       /* rs.delivered (bytes) */
    uint32_t acked_sacked;    /* bytes newly delivered by this ACK */
    uint32_t rtt;             /* newest RTT of an original (0: none) */
    uint32_t losses;          /* bytes newly marked lost since the last
                                 ACK */
    uint32_t prior_in_flight; /* the pipe before this ACK */
    bool is_app_limited;      /* rs.is_app_limited */
    bool valid;               /* a rate can be computed */
};

/* RFC 8985 5.3 per-connection state, and the transmit records of
 * [SND.UNA, SND.MAX): rec[head .. head + n), sorted by sequence; the first
 * two records are kept in place (in_place), an array is allocated when a
 * third one joins them and freed when all is acknowledged (no allocation
 * per segment). */
struct utcp_rack {
    struct utcp_txrec *rec;
    uint32_t cap, head, n;
    uint32_t hint; /* cap when last released: taken again at that size */
    utcp_time xmit_ts;         /* RACK.xmit_ts */
    utcp_seq end_seq;          /* RACK.end_seq */
    uint32_t order;            /* RACK.segment's transmission order */
    uint32_t order_next;       /* the next transmission's order */
    utcp_seq rexmit_hi;        /* end of the highest range resent (valid
                                  if rexmit_any) */
    utcp_seq fack;             /* RACK.fack */
    utcp_seq dsack_round;      /* RACK.dsack_round (valid if dsack_on) */
    utcp_seq tlp_end_seq;      /* TLP.end_seq (valid if tlp_on) */
    uint32_t rtt;              /* RACK.rtt, microseconds */
    uint32_t min_rtt;          /* RACK.min_RTT (0: none yet) */
    utcp_time min_rtt_ts;      /* when min_rtt was taken (window) */
    uint32_t tlp_ssthresh;     /* ssthresh for a loss the probe repairs */
    uint32_t segs_sacked;      /* RACK.segs_sacked (6.2 step 4) at the
                                  latest ACK: the records SACKed */
    uint32_t pipe;             /* RFC 6675 SetPipe() with RACK's marks: the
                                  octets of the records neither SACKed nor
                                  lost, kept as the records change */
    utcp_time reduce_ts;       /* the last window reduction (9.3) */
    uint8_t reo_wnd_mult;      /* RACK.reo_wnd_mult */
    uint8_t reo_wnd_persist;   /* RACK.reo_wnd_persist */
    bool valid : 1;            /* RACK.segment exists */
    bool reordering_seen : 1;  /* RACK.reordering_seen */
    bool dsack_on : 1;         /* RACK.dsack_round is not None */
    bool tlp_on : 1;           /* TLP.end_seq is not None */
    bool tlp_is_retrans : 1;   /* TLP.is_retrans */
    bool tlp_rtt_ok : 1;       /* an RTT sample since the last probe */
    bool tlp_rearm : 1;        /* an ACK of new data: restart the PTO */
    bool was_recovering : 1;   /* in recovery at the previous ACK */
    bool rexmit_any : 1;       /* something was ever resent */
    bool rto_recovery : 1;     /* in_recovery after a timeout: slow start,
                                  no further reduction */
    /* draft-cheng-iccrg-delivery-rate-estimation 3.1: C.delivered,
     * C.delivered_time, C.first_sent_time, C.app_limited */
    uint64_t delivered;
    utcp_time delivered_ts, first_tx_ts;
    uint64_t app_limited;       /* 0: not application-limited */
    uint32_t lost_new;          /* bytes marked lost, not yet reported */
    /* The records of a flight of one or two segments, in place (rec
     * points here, cap 2): a short exchange (a reply and its FIN in
     * flight together) never allocates an array. */
    struct utcp_txrec in_place[2];
};

/* Congestion control: an algorithm sets the window growth and the loss
 * response; the loss-recovery machinery (RFC 5681 3.2, RFC 6582) is the
 * engine's. */
struct utcp_conn;
struct utcp_stack;
struct utcp_cc_ops {
    const char *name;
    /* at the handshake, once the options are known (may be called again
     * for the same connection: state allocated then is reused); may fall
     * back to another algorithm by setting c->cc */
    void (*init)(struct utcp_stack *s, struct utcp_conn *c);
    /* bytes newly acknowledged outside recovery, at now */
    void (*on_ack)(struct utcp_conn *c, uint32_t acked, utcp_time now);
    /* new ssthresh on a congestion event (fast retransmit, timeout, a
     * lost retransmission, a loss repaired by a probe) */
    uint32_t (*ssthresh)(struct utcp_conn *c);
    /* the last congestion event was spurious (Eifel): cwnd and ssthresh
     * are restored by the engine; NULL: nothing else to restore */
    void (*undo)(struct utcp_conn *c);
    /* every acceptable ACK of a RACK connection, after loss detection,
     * with its delivery-rate sample rs (the stack's, valid during the
     * call; model-based control sets cwnd here, in recovery too); NULL:
     * not used */
    void (*on_rate)(struct utcp_conn *c, struct utcp_rate_sample *rs,
                    utcp_time now);
    /* the connection is freed: returns what init allocated; NULL: none */
    void (*release)(struct utcp_stack *s, struct utcp_conn *c);
};
extern const struct utcp_cc_ops utcp__cc_newreno;
extern const struct utcp_cc_ops utcp__cc_cubic;
extern const struct utcp_cc_ops utcp__cc_bbr;
/* The algorithm for an enum utcp_cc value (NewReno for unknown ones). */
const struct utcp_cc_ops *utcp__cc_ops_for(unsigned cc);
int utcp__cc_kind(const struct utcp_cc_ops *ops);

/* BBR v1 (draft-cardwell-iccrg-bbr-congestion-control, Linux tcp_bbr.c):
 * bytes, bytes per second, microseconds. */
#define UTCP_BBR_BW_ROUNDS 10u /* BBR.BtlBwFilterLen: 10 round trips */
enum {
    UTCP_BBR_STARTUP,
    UTCP_BBR_DRAIN,
    UTCP_BBR_PROBE_BW,
    UTCP_BBR_PROBE_RTT
};
struct utcp_bbr {
    uint64_t bw[UTCP_BBR_BW_ROUNDS]; /* the max of each of the last 10
                                        rounds (slot round % 10) */
    uint64_t max_bw;                 /* BBR.BtlBw: max of bw[] */
    uint64_t full_bw;                /* BBR.full_bw */
    uint64_t pacing_rate;            /* bytes per second (0: none yet) */
    uint64_t next_rtt_delivered;     /* BBR.next_round_delivered */

    utcp_time min_rtt_ts;            /* BBR.rtprop_stamp */
    utcp_time probe_rtt_done_ts;     /* 0: not yet at 4 segments */
    utcp_time cycle_ts;              /* BBR.cycle_stamp */
    utcp_time ack_epoch_ts;          /* start of the ACK aggregation
                                        epoch (Linux ack_epoch_mstamp) */
    uint32_t ack_epoch_acked;        /* bytes delivered in that epoch */
    uint32_t extra_acked[2];         /* the most delivered beyond the
                                        model's rate, in each of two
                                        windows of 5 rounds */
    uint32_t round_count;            /* BBR.round_count (Linux rtt_cnt) */
    uint32_t bw_round;               /* the round of the newest bw[] sample */
    uint32_t min_rtt;                /* BBR.RTprop (0: none yet) */
    uint32_t prior_cwnd;             /* saved at a loss or PROBE_RTT */
    uint16_t pacing_gain, cwnd_gain; /* BBR_UNIT = 256 is 1.0 */
    uint8_t mode;                    /* UTCP_BBR_* */
    uint8_t cycle_idx;               /* PROBE_BW phase, 0..7 */
    uint8_t full_bw_cnt;
    uint8_t prev_state; /* 0 open, 1 recovery, 2 loss (RTO) */
    uint8_t extra_acked_rounds; /* rounds into the current window */
    uint8_t extra_acked_idx;    /* the current window: 0 or 1 */
    bool full_bw_reached : 1;
    bool round_start : 1;
    bool packet_conservation : 1;
    bool probe_rtt_round_done : 1;
};
/* BBR's mode, bottleneck bandwidth estimate (bytes/s) and RTprop (us) for
 * utcp_info; zeros unless c runs BBR. */
void utcp__bbr_info(const struct utcp_conn *c, uint8_t *mode, uint64_t *bw,
                    uint32_t *rtprop);
/* The bytes one TSO segment of c should carry under BBR (about 1 ms at the
 * pacing rate, at least 2 MSS: Linux's bbr_tso_segs_goal); 0: no limit. */
uint32_t utcp__bbr_tso_bytes(const struct utcp_conn *c);

/* RFC 9438 CUBIC state (bytes, microseconds). */
struct utcp_cubic {
    utcp_time t_epoch;          /* start of the congestion avoidance epoch */
    uint32_t w_max, w_max_prior; /* W_max, and before the last event */
    uint32_t w_est;             /* W_est, the Reno-friendly window */
    uint32_t k_ms;              /* K */
    bool epoch_on;
};

struct utcp_conn {
    struct utcp_hnode hnode;    /* in the connection or listener table */
    struct utcp_tnode tnode;    /* the one wheel node: earliest deadline */
    uint32_t id;
    uint32_t sock_idx;          /* socket table slot + 1; 0: orphaned */
    uint8_t state;              /* enum utcp_state */
    bool in_table : 1;          /* hnode is in a table */
    bool passive : 1;           /* created by a listener (RFC 9293 3.10.7.4
                                   SYN-RECEIVED RST rule) */
    bool in_accq : 1;           /* on its listener's accept queue (else,
                                   with a listener, on its SYN queue) */
    bool bound : 1;             /* holds a local port */
    bool port_tw : 1;           /* ... counted as TIME_WAIT */
    bool fin_queued : 1;        /* the user ended the send side */
    bool fin_rcvd : 1;          /* the peer's FIN was processed */
    bool ooo_fin : 1;           /* a FIN arrived ahead of missing data */
    bool rd_shut : 1;           /* SHUT_RD: discard incoming data */
    bool undo_armed : 1;        /* undo_ts is set, no ACK has decided */
    bool in_recovery : 1;       /* fast recovery (RFC 6582, or RFC 6675
                                   when sack_ok) */
    bool rtt_active : 1;        /* a segment is being timed (Karn) */
    bool ev_queued : 1;         /* on the stack's event list */
    bool ts_ok : 1, sack_ok : 1, ws_ok : 1;
    bool persist : 1;           /* rtx timer is the persist timer */
    bool reset : 1;             /* ended by a reset (sticky ECONNRESET) */
    bool ack_sent : 1;          /* a segment with ACK went out (cleared at
                                   the start of each input segment) */
    bool ack_held : 1;          /* owes an ACK at the end of the input
                                   batch (on s->batch_acks) */
    bool timer_dirty : 1;       /* tnode may be stale: on s->tdirty */
    uint8_t keep_kind;          /* enum utcp_timer_kind for t_keep */
    uint8_t rtx_count;          /* consecutive expiries of t_rtx */
    uint8_t dupacks;
    uint8_t delack_segs;        /* full segments received, not yet ACKed
                                   (at most UTCP_ACK_BATCH_SEGS) */
    uint8_t keep_probes;
    uint8_t probes_out;         /* persist probes sent since the last
                                   acceptable ACK */
    uint8_t snd_wscale, rcv_wscale; /* RFC 7323 2 */
    int16_t error;              /* pending error for utcp_sock_error */
    uint8_t ev_edge;            /* UTCP_EV_CONNECTED until reported */
    uint8_t tdirty_idx;         /* its slot in s->tdirty when timer_dirty */

    struct utcp_4tuple tuple;   /* also hnode.key when in a table */

    /* RFC 9293 3.3.1 send sequence variables */
    utcp_seq iss, snd_una, snd_nxt, snd_max, snd_wl1, snd_wl2;
    uint32_t snd_wnd, max_snd_wnd;
    utcp_seq sndq_seq;          /* sequence number of sndq's first byte */
    /* receive sequence variables */
    utcp_seq irs, rcv_nxt, rcv_adv; /* rcv_adv: right edge advertised */
    utcp_seq ooo_fin_seq;
    /* RFC 7323 3-5 (when ts_ok) */
    uint32_t ts_recent;         /* TS.Recent (4.3) */
    uint32_t ts_offset;         /* added to our ms clock (5.4) */
    utcp_seq last_ack_sent;     /* Last.ACK.sent (4.3) */
    utcp_time ts_recent_age;    /* when TS.Recent was set (5.5) */
    uint32_t ts_rexmit;         /* our TSval at the last retransmission */
    /* RFC 3522 / RFC 4015 undo of a spurious fast retransmission */
    uint32_t undo_ts;           /* TSval of the recovery's first rexmit */
    uint32_t prior_cwnd, prior_ssthresh;

    uint16_t mss;               /* effective send MSS (peer's, clamped) */
    uint16_t rcv_mss;           /* the MSS we advertised */

    /* RFC 6298 */
    uint32_t srtt, rttvar, rto; /* microseconds; srtt 0: no sample yet */
    utcp_seq rtt_seq;
    utcp_time rtt_start;

    /* RFC 5681 / 6582 */
    uint32_t cwnd, ssthresh, bytes_acked;
    utcp_seq recover;
    const struct utcp_cc_ops *cc;
    union {
        struct utcp_cubic cubic; /* when cc is utcp__cc_cubic */
        /* when cc is utcp__cc_bbr: its own block (UTCP_OBJ_BBR), taken
         * by bbr_init and returned with the connection; NULL before
         * init. Out of line: most connections never use BBR, and an idle
         * one need not carry its model. */
        struct utcp_bbr *bbr;
    };

    /* Timers: one wheel node armed at the earliest of these. */
    utcp_time t_rtx;            /* retransmission / SYN / persist */
    utcp_time t_delack;
    utcp_time t_keep;           /* keep-alive / FIN_WAIT_2 / TIME_WAIT */
    utcp_time t_rack;           /* RACK reordering timer or TLP PTO */
    uint8_t rack_timer;         /* UTCP_TIMER_RACK or UTCP_TIMER_TLP */
    utcp_time t_pace;           /* pacing, or a busy link (output_busy):
                                   output waits for this instant */
    utcp_time pace_next;        /* pacing: the next departure allowed */
    utcp_time last_rcv;         /* for keep-alive idleness */
    utcp_time una_since;        /* oldest unacknowledged data first sent */
    utcp_time state_since;
    uint32_t retransmits;

    struct utcp_ring sndq, rcvq;
    uint32_t reserved; /* bytes utcp_send_reserve last offered ... */
    uint32_t reserved_run; /* ... during this stack run (stack.h runs) */
    /* The two range sets hold storage only while they hold ranges; an
     * empty one points at a shared read-only empty set (conn.c
     * utcp__sb_*), so readers never test for NULL. */
    struct utcp_ranges *ooo;    /* received ahead of rcv_nxt, in rcvq */
    /* RFC 2018 4: left edges of the latest out-of-order segments, newest
     * first, to order the SACK blocks we send */
    /* RFC 6675 sender: the scoreboard (SACKed ranges above snd_una),
     * HighRxt and RescueRxt (exclusive ends) */
    struct utcp_ranges *sacked;
    utcp_seq high_rxt, rescue_rxt;
    uint32_t lt_bytes;          /* sent by limited transmit since the last
                                   cumulative ACK: not in FlightSize for
                                   ssthresh (RFC 5681 3.2 (2)) */
    struct utcp_rack rack;      /* RFC 8985, when sack_ok and not no_rack */

    struct utcp_sockopts opt;

    /* Listener (state LISTEN with a socket): its queues. Child: listener
     * links. */
    struct utcp_conn *listener; /* for a child not yet accepted */
    struct utcp_conn *q_next, *q_prev; /* in listener's syn or accept queue */
    struct utcp_conn *synq_head, *accq_head, *accq_tail;
    uint32_t synq_len, accq_len, backlog;
    struct utcp_conn *ev_next, *ev_prev; /* stack event list */
};

/* The pacing rate of c in bytes per second; 0: not paced. */
static inline uint64_t utcp__pacing_rate(const struct utcp_conn *c)
{
    return c->cc == &utcp__cc_bbr && c->bbr ? c->bbr->pacing_rate : 0;
}

/* Whether a FIN arriving in state st may take the connection to
 * TIME-WAIT (RFC 9293 3.10.7.4, eighth step: FIN-WAIT-1 when the FIN also
 * acknowledges ours, FIN-WAIT-2). */
static inline bool utcp__state_may_time_wait(int st)
{
    return st == UTCP_FIN_WAIT_1 || st == UTCP_FIN_WAIT_2;
}

static inline bool utcp_state_synchronized(int st)
{
    switch (st) {
#define UTCP_X_(name, sync, snd, rcv)                                          \
    case UTCP_##name:                                                          \
        return sync;
        UTCP_STATES(UTCP_X_)
#undef UTCP_X_
    default:
        return false;
    }
}

static inline bool utcp_state_can_recv(int st)
{
    switch (st) {
#define UTCP_X_(name, sync, snd, rcv)                                          \
    case UTCP_##name:                                                          \
        return rcv;
        UTCP_STATES(UTCP_X_)
#undef UTCP_X_
    default:
        return false;
    }
}

static inline bool utcp_state_can_send(int st)
{
    switch (st) {
#define UTCP_X_(name, sync, snd, rcv)                                          \
    case UTCP_##name:                                                          \
        return snd;
        UTCP_STATES(UTCP_X_)
#undef UTCP_X_
    default:
        return false;
    }
}

struct utcp_stack;

/* conn.c: life of a connection */
struct utcp_conn *utcp__conn_new(struct utcp_stack *s);

/* The range sets of a connection (c->ooo, c->sacked), kept in storage
 * taken only while they hold ranges: an idle connection holds none.
 * utcp__sb_none() is the shared empty set (never written). add, advance
 * and trim act as utcp__ranges_add/advance/trim (buf.h), taking storage
 * for the first range and returning it when the last one goes; add also
 * returns false when storage cannot be had. clear empties a set. */
struct utcp_ranges *utcp__sb_none(void);
bool utcp__sb_add(struct utcp_stack *s, struct utcp_ranges **p, utcp_seq base,
                  utcp_seq left, utcp_seq right);
utcp_seq utcp__sb_advance(struct utcp_stack *s, struct utcp_ranges **p,
                          utcp_seq at);
void utcp__sb_trim(struct utcp_stack *s, struct utcp_ranges **p, utcp_seq at);
void utcp__sb_clear(struct utcp_stack *s, struct utcp_ranges **p);
void utcp__conn_free(struct utcp_stack *s, struct utcp_conn *c);
void utcp__set_state(struct utcp_stack *s, struct utcp_conn *c, int st,
                     int cause);
/* Ends the connection: CLOSED with the given cause, error recorded for the
 * user (0 for none), removed from tables, freed if orphaned. */
void utcp__conn_close(struct utcp_stack *s, struct utcp_conn *c, int cause,
                      int err);
/* Records readiness news for the socket (edge: UTCP_EV_CONNECTED or 0). */
void utcp__notify(struct utcp_stack *s, struct utcp_conn *c, uint8_t edge);
/* Takes c off the stack's event list in O(1) (harmless if not on it). */
void utcp__ev_unlink(struct utcp_stack *s, struct utcp_conn *c);
/* Takes a child off its listener's SYN or accept queue (no-op without
 * one). */
void utcp__unlink_from_listener(struct utcp_conn *c);
/* Enters TIME_WAIT (timer 2*MSL). */
void utcp__enter_time_wait(struct utcp_stack *s, struct utcp_conn *c,
                           int cause);
/* Initialises sequence and window state for a new connection. */
void utcp__conn_init_seq(struct utcp_stack *s, struct utcp_conn *c);
/* Our window scale shift for a receive buffer of rcvbuf bytes. */
uint8_t utcp__rcv_wscale_for(uint32_t rcvbuf);
/* The receive window to advertise now (bytes, unscaled). */
uint32_t utcp__rcv_window(const struct utcp_conn *c);

/* output.c */
/* Sends what the windows, Nagle and the state allow (data, FIN). */
void utcp__output(struct utcp_stack *s, struct utcp_conn *c);
/* Sends a bare ACK now (cancels the delayed ACK). */
void utcp__send_ack(struct utcp_stack *s, struct utcp_conn *c);
/* During an input batch: notes that c owes an ACK at the batch's end (the
 * delayed-ACK timer armed as a backstop). False when the batch has no room
 * left: then the caller ACKs at once. */
bool utcp__batch_hold_ack(struct utcp_stack *s, struct utcp_conn *c);
/* SYN or SYN+ACK (from iss), with our options. */
void utcp__send_syn(struct utcp_stack *s, struct utcp_conn *c);
/* RST for connection c: <SEQ=snd_nxt><CTL=RST> (RFC 9293 3.10.4 ABORT). */
void utcp__send_rst_conn(struct utcp_stack *s, struct utcp_conn *c);
/* A reply RST to a segment for no connection (RFC 9293 3.10.7.1). */
void utcp__send_rst_reply(struct utcp_stack *s, const struct utcp_ipv4 *ip,
                          const struct utcp_tcp *th);
/* Retransmits the segment at snd_una (fast retransmit, partial ACK). */
void utcp__retransmit_una(struct utcp_stack *s, struct utcp_conn *c);
/* Retransmits [seq, seq + len) (len <= MSS, within the send queue; the
 * FIN too when the range reaches it and it was sent): RFC 6675 NextSeg. */
void utcp__send_rexmit(struct utcp_stack *s, struct utcp_conn *c, utcp_seq seq,
                       uint32_t len);
/* Sends one segment of new data within the peer's window, ignoring cwnd
 * (the caller limits by pipe); false when none may go. */
bool utcp__send_new(struct utcp_stack *s, struct utcp_conn *c);
/* Sends one zero-window probe. */
void utcp__send_probe(struct utcp_stack *s, struct utcp_conn *c);
/* Sends a keep-alive probe (SEQ = snd_una - 1, no data). */
void utcp__send_keepalive(struct utcp_stack *s, struct utcp_conn *c);
/* Pacing (BBR): true when c must wait before sending more; the pacing
 * timer is then set (the caller re-arms the wheel node). */
bool utcp__pace_wait(struct utcp_stack *s, struct utcp_conn *c);

/* Arms the Eifel check (RFC 3522) for the recovery just entered: prior
 * cwnd and ssthresh, and the TSval of the retransmission just sent. */
void utcp__undo_arm(struct utcp_conn *c, uint32_t prior_cwnd,
                    uint32_t prior_ssthresh);

/* input.c */
void utcp__tcp_input(struct utcp_stack *s, struct utcp_conn *c,
                     const struct utcp_ipv4 *ip, const struct utcp_tcp *th);
/* iss_floor (may be NULL): the SYN reopens a 4-tuple held by TIME-WAIT and
 * the new ISS must be at least this (RFC 6191 2). */
void utcp__listen_input(struct utcp_stack *s, struct utcp_conn *l,
                        const struct utcp_ipv4 *ip, const struct utcp_tcp *th,
                        const utcp_seq *iss_floor);

/* timer.c */
/* Notes that c's deadlines changed: its wheel node is re-armed at the
 * earliest of them by the next utcp__timers_flush. */
void utcp__timer_update(struct utcp_stack *s, struct utcp_conn *c);
/* Brings the wheel up to date with every changed connection: call before
 * reading the wheel (utcp__wheel_pop, utcp__wheel_next). */
void utcp__timers_flush(struct utcp_stack *s);
/* Takes c off the list of changed connections (it is being freed). */
void utcp__timer_forget(struct utcp_stack *s, struct utcp_conn *c);
void utcp__timer_fire(struct utcp_stack *s, struct utcp_conn *c);
/* The kind (enum utcp_timer_kind) and instant of c's earliest deadline. */
int utcp__conn_timer(const struct utcp_conn *c, utcp_time *when);
/* (Re)starts the retransmission timer at now + rto << backoff. */
void utcp__rtx_arm(struct utcp_stack *s, struct utcp_conn *c);
/* RFC 6298 (2.2)/(2.3): one RTT sample in microseconds. */
void utcp__rtt_sample(struct utcp_stack *s, struct utcp_conn *c,
                      uint32_t rtt_us);
/* RFC 7323 appendix G: a sample when `expected` samples arrive per RTT
 * (alpha and beta divided by it; 1 is utcp__rtt_sample). */
void utcp__rtt_sample_n(struct utcp_stack *s, struct utcp_conn *c,
                        uint32_t rtt_us, uint32_t expected);
/* input.c: the one RTT sample of an ACK on a connection with RACK's
 * transmit records, after they were delivered: rec_us, the age of the
 * most recently sent record delivered that was never retransmitted (0:
 * none), else RFC 7323 4.1 RTTM when the ACK advanced SND.UNA. Feeds RFC
 * 6298 and RACK.min_RTT (RFC 8985 6.2 step 1); flight: SND.MAX - SND.UNA
 * before the ACK (RFC 7323 appendix G). */
void utcp__ack_rtt_records(struct utcp_stack *s, struct utcp_conn *c,
                           const struct utcp_tcp *th, uint32_t rec_us,
                           bool advanced, uint32_t flight);
/* Arms keep-alive after activity, when enabled. */
void utcp__keepalive_reset(struct utcp_stack *s, struct utcp_conn *c);

/* RFC 7323 5.4: our timestamp clock for c: milliseconds plus the
 * connection's random offset. */
static inline uint32_t utcp__ts_now(utcp_time now, uint32_t offset)
{
    return (uint32_t)(now / 1000u) + offset;
}
/* RFC 7323 5.2: timestamps compare in modular 32-bit space. */
static inline bool utcp__ts_lt(uint32_t a, uint32_t b)
{
    return (int32_t)(a - b) < 0;
}

/* sack.c: RFC 2018 and RFC 6675 */
/* Receiver: records an out-of-order segment at seq as the newest. */
void utcp__sack_note_recent(struct utcp_conn *c, utcp_seq seq);
/* Receiver: fills up to max blocks of o (RFC 2018 4), newest first. */
void utcp__sack_fill(struct utcp_conn *c, struct utcp_tcp_opts *o,
                     unsigned max);
/* Sender: empties the scoreboard. */
void utcp__sack_clear(struct utcp_stack *s, struct utcp_conn *c);
/* Sender: drops scoreboard ranges below una. */
void utcp__sack_trim(struct utcp_stack *s, struct utcp_conn *c, utcp_seq una);
/* Sender: records the SACK blocks of an ACK (RFC 6675 Update()); returns
 * the count of octets newly SACKed. */
uint32_t utcp__sack_update(struct utcp_stack *s, struct utcp_conn *c,
                           const struct utcp_tcp_opts *o);
/* Sender: RFC 6675 IsLost(seq). */
bool utcp__sack_is_lost(const struct utcp_conn *c, utcp_seq seq);
/* Sender: RFC 6675 SetPipe(). */
uint32_t utcp__sack_pipe(const struct utcp_conn *c);
/* Sender: a duplicate ACK in the sense of RFC 6675 2 arrived; may enter
 * loss recovery (RFC 6675 5 (1)-(4)). */
void utcp__sack_dupack(struct utcp_stack *s, struct utcp_conn *c);
/* Sender: RFC 6675 5 (C): sends what cwnd - pipe allows, by NextSeg();
 * whether anything went out. */
bool utcp__sack_output(struct utcp_stack *s, struct utcp_conn *c);
/* Sender: for a go-back-N retransmission at *seq (after an RTO), moves
 * *seq past a SACKed range and returns the most that may be sent from
 * there without resending SACKed data (UINT32_MAX: no limit). */
uint32_t utcp__sack_skip(const struct utcp_conn *c, utcp_seq *seq);

/* rack.c: RFC 8985 RACK-TLP (with SACK, unless no_rack) */
static inline bool utcp__rack_on(const struct utcp_conn *c)
{
    return c->sack_ok && !c->opt.no_rack;
}
/* Frees the transmit records. */
void utcp__rack_release(struct utcp_stack *s, struct utcp_conn *c);
/* RFC 8985 6.1: [seq, seq + len) (a FIN counts 1) was sent now; below
 * SND.MAX it is a retransmission. */
void utcp__rack_sent(struct utcp_stack *s, struct utcp_conn *c, utcp_seq seq,
                     uint32_t len);
/* RFC 8985 6.2 step 1 (and 7.3 condition 2): an RFC 6298 / 7323 sample. */
void utcp__rack_rtt_sample(struct utcp_stack *s, struct utcp_conn *c,
                           uint32_t rtt_us);
/* RFC 8985 6.2 and 7.4: an acceptable ACK, after SND.UNA and the
 * scoreboard were updated; flight: SND.MAX - SND.UNA before it; advanced:
 * it acknowledged new data; newly: it SACKed new octets; dup: a duplicate
 * ACK by RFC 5681's definition. Takes the ACK's RTT sample
 * (utcp__ack_rtt_records). May enter recovery and retransmit. */
void utcp__rack_ack(struct utcp_stack *s, struct utcp_conn *c,
                    const struct utcp_tcp *th, uint32_t flight, bool advanced,
                    bool newly, bool dup);
/* The recovery was found spurious (Eifel): unmark, widen reo_wnd. */
void utcp__rack_undo(struct utcp_conn *c);
/* RFC 6675 SetPipe() with RACK's marks. */
uint32_t utcp__rack_pipe(const struct utcp_conn *c);
/* RFC 6675 5 (C) in recovery, by RACK's marks; whether anything went. */
bool utcp__rack_output(struct utcp_stack *s, struct utcp_conn *c);
/* RFC 8985 7.2: (re)starts or stops the PTO after output. */
void utcp__tlp_schedule(struct utcp_stack *s, struct utcp_conn *c,
                        bool sent_new);
/* The RACK reordering timer or the PTO fired. */
void utcp__rack_timer(struct utcp_stack *s, struct utcp_conn *c);
/* RFC 8985 6.3 and 7.1 at a retransmission timeout. */
void utcp__rack_on_rto(struct utcp_conn *c);
/* After the timeout's window reduction: RTO recovery by RACK's marks (all
 * outstanding data lost, resent by utcp__rack_output in slow start), when
 * the records cover the flight; else go-back-N stays. */
void utcp__rack_rto_recovery(struct utcp_conn *c);
/* sack.c: RFC 6675 4 NextSeg() rule (4), the rescue retransmission. */
bool utcp__sack_next_rescue(const struct utcp_conn *c, utcp_seq *seq,
                            uint32_t *len);
/* sack.c: RFC 6675 5 (3) limited transmit (RFC 3042). */
void utcp__sack_limited_transmit(struct utcp_stack *s, struct utcp_conn *c);

#endif
