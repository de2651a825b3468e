/*
 * utcp states and tracing: the eleven states of RFC 9293 3.3.2 (figure 5),
 * the timer kinds, and the trace events the stack emits (segments in and
 * out, state changes, timers, retransmissions, drops with their reason).
 */
#ifndef UTCP_TRACE_H
#define UTCP_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, synchronized, can_send, can_recv)
 * synchronized: the handshake is complete (RFC 9293 3.10.7.4 applies);
 * can_send: the user may still queue data (a FIN has not been queued);
 * can_recv: data from the peer is still accepted (no FIN received). */
#define UTCP_STATES(X)                                                         \
    X(CLOSED, 0, 0, 0)                                                         \
    X(LISTEN, 0, 0, 0)                                                         \
    X(SYN_SENT, 0, 1, 1)                                                       \
    X(SYN_RECEIVED, 0, 1, 1)                                                   \
    X(ESTABLISHED, 1, 1, 1)                                                    \
    X(FIN_WAIT_1, 1, 0, 1)                                                     \
    X(FIN_WAIT_2, 1, 0, 1)                                                     \
    X(CLOSE_WAIT, 1, 1, 0)                                                     \
    X(CLOSING, 1, 0, 0)                                                        \
    X(LAST_ACK, 1, 0, 0)                                                       \
    X(TIME_WAIT, 1, 0, 0)

enum utcp_state {
#define UTCP_X_(name, sync, snd, rcv) UTCP_##name,
    UTCP_STATES(UTCP_X_)
#undef UTCP_X_
    UTCP_STATE_COUNT
};

/* "ESTABLISHED" etc.; "?" for an out-of-range value. */
const char *utcp_state_name(int state);

/* The causes of state changes, for traces and the diagram's labels. */
#define UTCP_CAUSES(X)                                                         \
    X(OPEN_ACTIVE, "connect: send SYN")                                        \
    X(OPEN_PASSIVE, "listen")                                                  \
    X(RCV_SYN, "SYN received")                                                 \
    X(RCV_SYNACK, "SYN+ACK received, send ACK")                                \
    X(RCV_ACK_OF_SYN, "ACK of SYN received")                                   \
    X(RCV_FIN, "FIN received")                                                 \
    X(RCV_ACK_OF_FIN, "ACK of FIN received")                                   \
    X(RCV_FIN_ACK_OF_FIN, "FIN that acknowledges our FIN received")            \
    X(RCV_RST, "RST received")                                                 \
    X(CLOSE, "close: send FIN")                                                \
    X(CLOSE_LISTEN, "close of a listener or unsynchronized socket")            \
    X(ABORT, "abort: send RST")                                                \
    X(TIMEOUT_2MSL, "2*MSL timer expired")                                     \
    X(TIMEOUT_FIN_WAIT2, "FIN_WAIT_2 timer expired")                           \
    X(TIMEOUT_RETRANS, "retransmissions exhausted")                            \
    X(TIMEOUT_KEEPALIVE, "keep-alive probes unanswered")                       \
    X(ICMP_ERROR, "ICMP hard error")                                           \
    X(STACK_DESTROY, "stack destroyed")

enum utcp_cause {
#define UTCP_X_(name, text) UTCP_CAUSE_##name,
    UTCP_CAUSES(UTCP_X_)
#undef UTCP_X_
    UTCP_CAUSE_COUNT
};
const char *utcp_cause_name(int cause);
const char *utcp_cause_text(int cause);

#define UTCP_TIMER_KINDS(X)                                                    \
    X(NONE, "none")                                                            \
    X(RETRANSMIT, "retransmission")                                            \
    X(PERSIST, "zero-window probe")                                            \
    X(DELACK, "delayed ACK")                                                   \
    X(KEEPALIVE, "keep-alive")                                                 \
    X(FIN_WAIT2, "FIN_WAIT_2")                                                 \
    X(TIME_WAIT, "2*MSL")                                                      \
    X(SYN_RETRANSMIT, "SYN retransmission")                                   \
    X(RACK, "RACK reordering")                                                 \
    X(TLP, "tail loss probe")                                                  \
    X(PACE, "pacing")

enum utcp_timer_kind {
#define UTCP_X_(name, text) UTCP_TIMER_##name,
    UTCP_TIMER_KINDS(UTCP_X_)
#undef UTCP_X_
    UTCP_TIMER_COUNT
};
const char *utcp_timer_name(int kind);

/* Why a valid segment was dropped or answered specially. */
#define UTCP_DROP_REASONS(X)                                                   \
    X(NONE, "none")                                                            \
    X(WIRE, "malformed packet (see wire reason)")                              \
    X(NOT_FOR_US, "not addressed to this stack")                               \
    X(NO_SOCKET, "no connection or listener: answered with RST")               \
    X(RST_NO_SOCKET, "RST for no connection: ignored")                         \
    X(LISTEN_RST, "RST to a listener: ignored")                                \
    X(LISTEN_ACK, "ACK to a listener: answered with RST")                      \
    X(LISTEN_NO_SYN, "segment without SYN to a listener: ignored")            \
    X(SYN_QUEUE_FULL, "SYN queue full")                                        \
    X(ACCEPT_QUEUE_FULL, "accept queue full")                                  \
    X(SYN_SENT_BAD_ACK, "SYN_SENT: unacceptable ACK, answered with RST")       \
    X(SYN_SENT_NO_SYN, "SYN_SENT: neither SYN nor RST: ignored")               \
    X(SYN_SENT_RST_NO_ACK, "SYN_SENT: RST without an acceptable ACK")          \
    X(OUT_OF_WINDOW, "sequence number not acceptable: ACK sent")               \
    X(RST_OUT_OF_WINDOW, "RST outside the window: ignored")                    \
    X(RST_CHALLENGE, "RST in window but not exact: challenge ACK")             \
    X(SYN_CHALLENGE, "SYN in a synchronized state: challenge ACK")             \
    X(NO_ACK, "segment without ACK in a synchronized state")                   \
    X(ACK_TOO_OLD, "ACK below the acceptable range: dropped (RFC 5961 5.2)")   \
    X(ACK_UNSENT, "ACK of data never sent: ACK sent, dropped")                 \
    X(SYN_RECEIVED_BAD_ACK, "SYN_RECEIVED: unacceptable ACK: RST")             \
    X(TIME_WAIT_RST, "RST in TIME_WAIT: ignored (RFC 1337)")                   \
    X(DATA_AFTER_FIN, "data after the peer's FIN: ignored")                    \
    X(DATA_AFTER_CLOSE, "data to a closed receiver: RST")                      \
    X(REASS_FULL, "reassembly queue full")                                     \
    X(PAWS, "timestamp older than the last one seen (PAWS)")                  \
    X(CHALLENGE_LIMIT, "challenge ACK rate limit reached")

enum utcp_drop_reason {
#define UTCP_X_(name, text) UTCP_DROP_##name,
    UTCP_DROP_REASONS(UTCP_X_)
#undef UTCP_X_
    UTCP_DROP_COUNT
};
const char *utcp_drop_name(int reason);
const char *utcp_drop_text(int reason);

enum utcp_trace_kind {
    UTCP_TRACE_SEG_IN,    /* a TCP segment arrived (valid checksum) */
    UTCP_TRACE_SEG_OUT,   /* a packet was handed to the output callback */
    UTCP_TRACE_STATE,     /* a connection changed state */
    UTCP_TRACE_TIMER,     /* a timer fired */
    UTCP_TRACE_RETRANSMIT,/* a segment is being retransmitted (SEG_OUT
                             follows) */
    UTCP_TRACE_DROP,      /* a packet or segment was dropped */
    UTCP_TRACE_TIMER_SET, /* a long timer (2*MSL, FIN_WAIT_2) was started
                             or restarted: timer, expires */
};

struct utcp_trace_event {
    enum utcp_trace_kind kind;
    uint64_t now;
    uint32_t conn_id;         /* stable per-connection id in this stack; 0
                                 when none (e.g. a RST for no connection) */
    uint32_t local_addr, remote_addr;
    uint16_t local_port, remote_port;
    /* SEG_IN / SEG_OUT / DROP of a packet: the whole IPv4 packet */
    const uint8_t *pkt;
    size_t pkt_len;
    /* STATE */
    int old_state, new_state, cause;
    /* TIMER, TIMER_SET */
    int timer;
    uint64_t expires;
    /* DROP */
    int drop_reason;          /* enum utcp_drop_reason */
    int wire_reason;          /* enum utcp_wire_reason when drop is WIRE */
};

/* Called synchronously; must not call into the stack. */
typedef void (*utcp_trace_fn)(void *ctx, const struct utcp_trace_event *ev);

/* The transition table (RFC 9293 figure 5 and section 3.10), as data. */
struct utcp_transition {
    int from, to;   /* enum utcp_state */
    int cause;      /* enum utcp_cause */
};
/* Returns the table and sets *count. */
const struct utcp_transition *utcp_transitions(size_t *count);
/* Whether from -> to is in the table (for any cause). */
bool utcp_transition_legal(int from, int to);

#ifdef __cplusplus
}
#endif
#endif
