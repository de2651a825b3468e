/*
 * The TCP connection state machine as data: RFC 9293 section 3.3.2
 * (figure 5) and the event processing of section 3.10, one row per legal
 * transition and its cause. The diagram (`utcp fsm --dot`), the docs and
 * the tests all read this table; tcp_set_state() (conn.c) checks every
 * change against it. Never add a transition here that the RFC lacks.
 */
#include "utcp/trace.h"

#define T(from, to, cause) {UTCP_##from, UTCP_##to, UTCP_CAUSE_##cause}

static const struct utcp_transition table[] = {
    /* RFC 9293 3.10.1 OPEN */
    T(CLOSED, SYN_SENT, OPEN_ACTIVE),
    T(CLOSED, LISTEN, OPEN_PASSIVE),
    /* RFC 9293 3.10.7.2 LISTEN: a SYN creates SYN-RECEIVED (the new
     * connection starts as a copy of the listener). */
    T(LISTEN, SYN_RECEIVED, RCV_SYN),
    /* RFC 9293 3.10.4 CLOSE of a listener */
    T(LISTEN, CLOSED, CLOSE_LISTEN),
    /* RFC 9293 3.10.7.3 SYN-SENT */
    T(SYN_SENT, ESTABLISHED, RCV_SYNACK),
    T(SYN_SENT, SYN_RECEIVED, RCV_SYN), /* simultaneous open */
    T(SYN_SENT, CLOSED, RCV_RST),
    T(SYN_SENT, CLOSED, CLOSE_LISTEN),
    T(SYN_SENT, CLOSED, TIMEOUT_RETRANS),
    T(SYN_SENT, CLOSED, ABORT),
    T(SYN_SENT, CLOSED, ICMP_ERROR),
    /* RFC 9293 3.10.7.4 SYN-RECEIVED */
    T(SYN_RECEIVED, ESTABLISHED, RCV_ACK_OF_SYN),
    T(SYN_RECEIVED, LISTEN, RCV_RST),     /* passive open: back to LISTEN */
    T(SYN_RECEIVED, CLOSED, RCV_RST),     /* active open: refused */
    /* RFC 9293's eighth step also names SYN-RECEIVED -> CLOSE-WAIT on FIN,
     * but a FIN is processed only after its ACK (fifth step) has made the
     * connection ESTABLISHED, and a segment without ACK is dropped there: so
     * the path is SYN_RECEIVED -> ESTABLISHED -> CLOSE_WAIT and the row is
     * left out (it would be dead). */
    T(SYN_RECEIVED, FIN_WAIT_1, CLOSE),   /* RFC 9293 3.10.4 */
    T(SYN_RECEIVED, CLOSED, TIMEOUT_RETRANS),
    T(SYN_RECEIVED, CLOSED, ABORT),
    /* ESTABLISHED */
    T(ESTABLISHED, FIN_WAIT_1, CLOSE),
    T(ESTABLISHED, CLOSE_WAIT, RCV_FIN),
    T(ESTABLISHED, CLOSED, RCV_RST),
    T(ESTABLISHED, CLOSED, ABORT),
    T(ESTABLISHED, CLOSED, TIMEOUT_RETRANS),
    T(ESTABLISHED, CLOSED, TIMEOUT_KEEPALIVE),
    /* FIN-WAIT-1 */
    T(FIN_WAIT_1, FIN_WAIT_2, RCV_ACK_OF_FIN),
    T(FIN_WAIT_1, CLOSING, RCV_FIN),            /* simultaneous close */
    T(FIN_WAIT_1, TIME_WAIT, RCV_FIN_ACK_OF_FIN),
    T(FIN_WAIT_1, CLOSED, RCV_RST),
    T(FIN_WAIT_1, CLOSED, ABORT),
    T(FIN_WAIT_1, CLOSED, TIMEOUT_RETRANS),
    /* FIN-WAIT-2 */
    T(FIN_WAIT_2, TIME_WAIT, RCV_FIN),
    T(FIN_WAIT_2, CLOSED, RCV_RST),
    T(FIN_WAIT_2, CLOSED, ABORT),
    T(FIN_WAIT_2, CLOSED, TIMEOUT_FIN_WAIT2),
    T(FIN_WAIT_2, CLOSED, TIMEOUT_KEEPALIVE),
    /* CLOSE-WAIT */
    T(CLOSE_WAIT, LAST_ACK, CLOSE),
    T(CLOSE_WAIT, CLOSED, RCV_RST),
    T(CLOSE_WAIT, CLOSED, ABORT),
    T(CLOSE_WAIT, CLOSED, TIMEOUT_RETRANS),
    T(CLOSE_WAIT, CLOSED, TIMEOUT_KEEPALIVE),
    /* CLOSING */
    T(CLOSING, TIME_WAIT, RCV_ACK_OF_FIN),
    T(CLOSING, CLOSED, RCV_RST),
    T(CLOSING, CLOSED, ABORT),
    T(CLOSING, CLOSED, TIMEOUT_RETRANS),
    /* LAST-ACK */
    T(LAST_ACK, CLOSED, RCV_ACK_OF_FIN),
    T(LAST_ACK, CLOSED, RCV_RST),
    T(LAST_ACK, CLOSED, ABORT),
    T(LAST_ACK, CLOSED, TIMEOUT_RETRANS),
    /* TIME-WAIT */
    T(TIME_WAIT, CLOSED, TIMEOUT_2MSL),
    T(TIME_WAIT, CLOSED, ABORT),
    T(TIME_WAIT, CLOSED, RCV_SYN), /* RFC 9293 3.10.7.4 / RFC 6191 reuse */
    /* Any state: the stack itself goes away. */
    T(LISTEN, CLOSED, STACK_DESTROY),
    T(SYN_SENT, CLOSED, STACK_DESTROY),
    T(SYN_RECEIVED, CLOSED, STACK_DESTROY),
    T(ESTABLISHED, CLOSED, STACK_DESTROY),
    T(FIN_WAIT_1, CLOSED, STACK_DESTROY),
    T(FIN_WAIT_2, CLOSED, STACK_DESTROY),
    T(CLOSE_WAIT, CLOSED, STACK_DESTROY),
    T(CLOSING, CLOSED, STACK_DESTROY),
    T(LAST_ACK, CLOSED, STACK_DESTROY),
    T(TIME_WAIT, CLOSED, STACK_DESTROY),
};
#undef T

const struct utcp_transition *utcp_transitions(size_t *count)
{
    *count = sizeof table / sizeof table[0];
    return table;
}

bool utcp_transition_legal(int from, int to)
{
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i].from == from && table[i].to == to)
            return true;
    return false;
}

/* The table as bit masks, for an O(1) check on every state change:
 * m[from][to] has bit `cause` set for each row. */
void utcp__fsm_masks(uint32_t m[UTCP_STATE_COUNT][UTCP_STATE_COUNT]);
void utcp__fsm_masks(uint32_t m[UTCP_STATE_COUNT][UTCP_STATE_COUNT])
{
    _Static_assert(UTCP_CAUSE_COUNT <= 32, "causes must fit a 32-bit mask");
    for (int f = 0; f < UTCP_STATE_COUNT; f++)
        for (int t = 0; t < UTCP_STATE_COUNT; t++)
            m[f][t] = 0;
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        m[table[i].from][table[i].to] |= 1u << table[i].cause;
}
