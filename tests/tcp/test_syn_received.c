/*
 * SYN-RECEIVED (RFC 9293 3.10.7.4 with RFC 5961) at the segment level,
 * reached passively (listener + SYN) and actively (simultaneous open).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "seg.h"

#define MS SEG_MS
#define SEC SEG_SEC
#define PISS 3000u

static void peer_syn(struct seg_h *h, uint32_t seq)
{
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = h->pport;
    th.dport = h->lport;
    th.seq = seq;
    th.flags = F_SYN;
    th.win = 16384;
    th.opts.present = UTCP_OPT_MSS;
    th.opts.mss = 1460;
    seg_send_th(h, &th, NULL, 0);
}

/* Listener + SYN: returns the child's conn id; h->iss from its SYN+ACK. */
static uint32_t to_syn_received_passive(struct seg_h *h, utcp_sock *l)
{
    *l = seg_listen(h, 4);
    peer_syn(h, PISS);
    const struct seg_cap *c = expect_seg(h, F_SYN | F_ACK, SEG_ANY, PISS + 1, 0, SEG_ANY);
    h->iss = c->seq;
    h->piss = PISS;
    expect_nothing(h);
    return h->states[h->nstates - 1].conn_id;
}

/* Simultaneous open: connect, then the peer's SYN crosses ours. */
static utcp_sock to_syn_received_active(struct seg_h *h)
{
    utcp_sock sk;
    assert_int_equal(utcp_socket(h->st, &sk), 0);
    assert_int_equal(utcp_bind(h->st, sk, 0, h->lport), 0);
    assert_int_equal(utcp_connect(h->st, sk, SEG_PEER, h->pport),
                     UTCP_EINPROGRESS);
    h->iss = expect_seg(h, F_SYN, SEG_ANY, 0, 0, SEG_ANY)->seq;
    h->piss = PISS;
    peer_syn(h, PISS);
    expect_seg(h, F_SYN | F_ACK, h->iss, PISS + 1, 0, SEG_ANY);
    expect_nothing(h);
    assert_int_equal(seg_state(h, sk), UTCP_SYN_RECEIVED);
    return sk;
}

static void syn_received_ack_establishes(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    uint32_t id = to_syn_received_passive(&h, &l);
    utcp_sock x;
    assert_int_equal(utcp_accept(h.st, l, &x), UTCP_EAGAIN);
    seg_run(&h, 20 * MS);
    seg_send(&h, F_ACK, PISS + 1, h.iss + 1, 12000, NULL, 0);
    expect_nothing(&h);
    expect_states(&h, id, "LISTEN>SYN_RECEIVED>ESTABLISHED");
    assert_true(utcp_poll(h.st, l) & UTCP_EV_ACCEPT);
    assert_int_equal(utcp_accept(h.st, l, &x), 0);
    struct utcp_info i = seg_info(&h, x);
    assert_int_equal(i.snd_wnd, 12000);
    assert_int_equal(i.srtt_us, 20000);
    assert_int_equal(SEG_CTR(&h, CurrEstab), 1);
    seg_destroy(&h);
}

static void syn_received_ack_too_low_sends_rst(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    uint32_t id = to_syn_received_passive(&h, &l);
    seg_send(&h, F_ACK, PISS + 1, h.iss, 8192, NULL, 0);
    expect_seg(&h, F_RST, h.iss, 0, 0, 0); /* <SEQ=SEG.ACK><CTL=RST> */
    expect_nothing(&h);
    expect_states(&h, id, "LISTEN>SYN_RECEIVED");
    assert_int_equal(h.drops[UTCP_DROP_SYN_RECEIVED_BAD_ACK], 1);
    seg_destroy(&h);
}

static void syn_received_ack_too_high_sends_rst(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    uint32_t id = to_syn_received_passive(&h, &l);
    seg_send(&h, F_ACK, PISS + 1, h.iss + 2, 8192, NULL, 0);
    expect_seg(&h, F_RST, h.iss + 2, 0, 0, 0);
    expect_nothing(&h);
    expect_states(&h, id, "LISTEN>SYN_RECEIVED");
    /* the right ACK still completes it */
    seg_send(&h, F_ACK, PISS + 1, h.iss + 1, 8192, NULL, 0);
    expect_states(&h, id, "LISTEN>SYN_RECEIVED>ESTABLISHED");
    seg_destroy(&h);
}

static void syn_received_rst_passive_returns_to_listen(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    uint32_t id = to_syn_received_passive(&h, &l);
    seg_send(&h, F_RST, PISS + 1, 0, 0, NULL, 0);
    expect_nothing(&h);
    expect_states(&h, id, "LISTEN>SYN_RECEIVED>LISTEN");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_RCV_RST);
    assert_int_equal(SEG_CTR(&h, ConnsAlloc), SEG_CTR(&h, ConnsFree) + 1);
    assert_int_equal(utcp_next_deadline(h.st), UINT64_MAX); /* no timer */
    /* the listener is intact: its queues count nothing stale */
    for (int i = 0; i < 4; i++) {
        h.pport = (uint16_t)(41000 + i);
        peer_syn(&h, 100);
        const struct seg_cap *c = expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 101, 0, SEG_ANY);
        seg_send(&h, F_ACK, 101, c->seq + 1, 8192, NULL, 0);
    }
    utcp_sock x;
    for (int i = 0; i < 4; i++)
        assert_int_equal(utcp_accept(h.st, l, &x), 0);
    assert_int_equal(utcp_accept(h.st, l, &x), UTCP_EAGAIN);
    assert_int_equal(h.bad_transitions, 0);
    seg_destroy(&h);
}

static void syn_received_rst_in_window_sends_challenge_ack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    uint32_t id = to_syn_received_passive(&h, &l);
    seg_send(&h, F_RST, PISS + 10, 0, 0, NULL, 0);
    expect_seg(&h, F_ACK, h.iss + 1, PISS + 1, 0, SEG_ANY); /* RFC 5961 3.2 */
    expect_nothing(&h);
    expect_states(&h, id, "LISTEN>SYN_RECEIVED");
    seg_destroy(&h);
}

static void syn_received_rst_active_closes_refused(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_received_active(&h);
    uint32_t id = seg_conn_id(&h, sk);
    seg_send(&h, F_RST, PISS + 1, 0, 0, NULL, 0);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>SYN_RECEIVED>CLOSED");
    assert_int_equal(utcp_sock_error(h.st, sk), UTCP_ECONNREFUSED);
    seg_destroy(&h);
}

static void syn_received_dup_syn_resends_synack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    uint32_t id = to_syn_received_passive(&h, &l);
    seg_run(&h, 300 * MS);
    peer_syn(&h, PISS);
    expect_seg(&h, F_SYN | F_ACK, h.iss, PISS + 1, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "LISTEN>SYN_RECEIVED");
    seg_destroy(&h);
}

static void syn_received_new_syn_in_window_sends_challenge_ack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    uint32_t id = to_syn_received_passive(&h, &l);
    peer_syn(&h, PISS + 5); /* RFC 5961 4.2: any SYN but the known one */
    expect_seg(&h, F_ACK, h.iss + 1, PISS + 1, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "LISTEN>SYN_RECEIVED");
    seg_destroy(&h);
}

static void syn_received_no_ack_synack_backs_off_then_closes(void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_config cfg = seg_default_cfg();
    cfg.synack_retries = 2;
    seg_init(&h, &cfg);
    utcp_sock l;
    uint32_t id = to_syn_received_passive(&h, &l);
    assert_int_equal(seg_run_to_next_timer(&h), 1 * SEC);
    expect_seg(&h, F_SYN | F_ACK, h.iss, PISS + 1, 0, SEG_ANY);
    assert_int_equal(seg_run_to_next_timer(&h), 3 * SEC);
    expect_seg(&h, F_SYN | F_ACK, h.iss, PISS + 1, 0, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(seg_run_to_next_timer(&h), 7 * SEC);
    expect_seg(&h, F_RST | F_ACK, h.iss + 1, PISS + 1, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "LISTEN>SYN_RECEIVED>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_TIMEOUT_RETRANS);
    assert_int_equal(SEG_CTR(&h, ConnsAlloc), SEG_CTR(&h, ConnsFree) + 1);
    utcp_sock x;
    assert_int_equal(utcp_accept(h.st, l, &x), UTCP_EAGAIN);
    seg_destroy(&h);
}

static void syn_received_data_with_ack_establishes_and_delivers(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    uint32_t id = to_syn_received_passive(&h, &l);
    seg_send(&h, F_ACK | F_PSH, PISS + 1, h.iss + 1, 8192, "GET /", 5);
    expect_nothing(&h); /* delayed ACK */
    expect_states(&h, id, "LISTEN>SYN_RECEIVED>ESTABLISHED");
    seg_run(&h, 40 * MS);
    expect_seg(&h, F_ACK, h.iss + 1, PISS + 6, 0, SEG_ANY);
    utcp_sock x;
    assert_int_equal(utcp_accept(h.st, l, &x), 0);
    char b[8];
    assert_int_equal(utcp_recv(h.st, x, b, sizeof b), 5);
    assert_memory_equal(b, "GET /", 5);
    seg_destroy(&h);
}

/* fsm.c lists SYN_RECEIVED -> CLOSE_WAIT, but a FIN can only be processed
 * after its ACK moved the connection to ESTABLISHED (RFC 9293 3.10.7.4
 * fifth step, then eighth): the trace shows both steps. */
static void syn_received_fin_with_ack_goes_close_wait_via_established(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    uint32_t id = to_syn_received_passive(&h, &l);
    seg_send(&h, F_ACK | F_FIN, PISS + 1, h.iss + 1, 8192, NULL, 0);
    expect_states(&h, id, "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT");
    seg_run(&h, 40 * MS);
    expect_seg(&h, F_ACK, h.iss + 1, PISS + 2, 0, SEG_ANY);
    utcp_sock x;
    assert_int_equal(utcp_accept(h.st, l, &x), 0);
    char b[4];
    assert_int_equal(utcp_recv(h.st, x, b, sizeof b), 0);
    seg_destroy(&h);
}

static void syn_received_without_ack_dropped(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    uint32_t id = to_syn_received_passive(&h, &l);
    seg_send(&h, F_PSH, PISS + 1, 0, 8192, "abc", 3);
    expect_nothing(&h);
    expect_states(&h, id, "LISTEN>SYN_RECEIVED");
    assert_int_equal(h.drops[UTCP_DROP_NO_ACK], 1);
    seg_destroy(&h);
}

static void syn_received_close_sends_fin(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_received_active(&h);
    uint32_t id = seg_conn_id(&h, sk);
    assert_int_equal(utcp_close(h.st, sk), 0);
    /* RFC 9293 3.10.4: FIN, FIN-WAIT-1 */
    expect_seg(&h, F_FIN | F_ACK, h.iss + 1, PISS + 1, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>SYN_RECEIVED>FIN_WAIT_1");
    /* the peer acknowledges SYN and FIN at once */
    seg_send(&h, F_ACK, PISS + 1, h.iss + 2, 8192, NULL, 0);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>SYN_RECEIVED>FIN_WAIT_1>FIN_WAIT_2");
    seg_send(&h, F_ACK | F_FIN, PISS + 1, h.iss + 2, 8192, NULL, 0);
    expect_seg(&h, F_ACK, h.iss + 2, PISS + 2, 0, SEG_ANY);
    expect_states(&h, id,
                  "CLOSED>SYN_SENT>SYN_RECEIVED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT");
    assert_int_equal(h.bad_transitions, 0);
    seg_destroy(&h);
}

static void syn_received_close_unacked_syn_retransmits_syn_then_fin(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_received_active(&h);
    assert_int_equal(utcp_close(h.st, sk), 0);
    expect_seg(&h, F_FIN | F_ACK, h.iss + 1, PISS + 1, 0, SEG_ANY);
    /* nothing comes back: the SYN (never acknowledged) goes again first */
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_SYN | F_ACK, h.iss, PISS + 1, 0, SEG_ANY);
    expect_seg(&h, F_FIN | F_ACK, h.iss + 1, PISS + 1, 0, SEG_ANY);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void syn_received_abort_sends_rst(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_received_active(&h);
    uint32_t id = seg_conn_id(&h, sk);
    assert_int_equal(utcp_abort(h.st, sk), 0);
    expect_seg(&h, F_RST | F_ACK, h.iss + 1, PISS + 1, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>SYN_RECEIVED>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_ABORT);
    assert_int_equal(SEG_CTR(&h, ConnsAlloc), SEG_CTR(&h, ConnsFree));
    seg_destroy(&h);
}

static void syn_received_accept_queue_full_ack_ignored(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l = seg_listen(&h, 1);
    /* two SYNs while the accept queue is empty */
    peer_syn(&h, 100);
    uint32_t iss1 = expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 101, 0, SEG_ANY)->seq;
    uint32_t id1 = h.states[h.nstates - 1].conn_id;
    h.pport = 40001;
    peer_syn(&h, 200);
    uint32_t iss2 = expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 201, 0, SEG_ANY)->seq;
    uint32_t id2 = h.states[h.nstates - 1].conn_id;
    h.pport = 40000;
    seg_send(&h, F_ACK, 101, iss1 + 1, 8192, NULL, 0);
    h.pport = 40001;
    seg_send(&h, F_ACK, 201, iss2 + 1, 8192, NULL, 0);
    expect_nothing(&h);
    expect_states(&h, id1, "LISTEN>SYN_RECEIVED>ESTABLISHED");
    expect_states(&h, id2, "LISTEN>SYN_RECEIVED"); /* ACK ignored */
    assert_int_equal(SEG_CTR(&h, ListenOverflows), 1);
    utcp_sock x;
    assert_int_equal(utcp_accept(h.st, l, &x), 0);
    /* SYN+ACK retransmission at 1 s; the peer's ACK now completes it */
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_SYN | F_ACK, iss2, 201, 0, SEG_ANY);
    seg_send(&h, F_ACK, 201, iss2 + 1, 8192, NULL, 0);
    expect_states(&h, id2, "LISTEN>SYN_RECEIVED>ESTABLISHED");
    assert_int_equal(utcp_accept(h.st, l, &x), 0);
    seg_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(syn_received_ack_establishes),
        cmocka_unit_test(syn_received_ack_too_low_sends_rst),
        cmocka_unit_test(syn_received_ack_too_high_sends_rst),
        cmocka_unit_test(syn_received_rst_passive_returns_to_listen),
        cmocka_unit_test(syn_received_rst_in_window_sends_challenge_ack),
        cmocka_unit_test(syn_received_rst_active_closes_refused),
        cmocka_unit_test(syn_received_dup_syn_resends_synack),
        cmocka_unit_test(syn_received_new_syn_in_window_sends_challenge_ack),
        cmocka_unit_test(syn_received_no_ack_synack_backs_off_then_closes),
        cmocka_unit_test(syn_received_data_with_ack_establishes_and_delivers),
        cmocka_unit_test(syn_received_fin_with_ack_goes_close_wait_via_established),
        cmocka_unit_test(syn_received_without_ack_dropped),
        cmocka_unit_test(syn_received_close_sends_fin),
        cmocka_unit_test(syn_received_close_unacked_syn_retransmits_syn_then_fin),
        cmocka_unit_test(syn_received_abort_sends_rst),
        cmocka_unit_test(syn_received_accept_queue_full_ack_ignored),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
