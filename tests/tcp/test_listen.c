/*
 * LISTEN (RFC 9293 3.10.7.2) and CLOSED (3.10.7.1) at the segment level:
 * one stack, a scripted peer. Tests are named <state>_<stimulus>_<expected>.
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

static void common_teardown_checks(struct seg_h *h)
{
    assert_int_equal(h->bad_transitions, 0);
    assert_int_equal(SEG_CTR(h, IllegalTransitions), 0);
}

/* ---- CLOSED: RFC 9293 3.10.7.1 ---- */

static void closed_syn_sends_rst_ack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    seg_send(&h, F_SYN, 1000, 0, 8192, NULL, 0);
    /* <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>, SYN counts one */
    expect_seg(&h, F_RST | F_ACK, 0, 1001, 0, 0);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, OutRsts), 1);
    seg_destroy(&h);
}

static void closed_data_without_ack_sends_rst_ack_covering_data(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    seg_send(&h, F_FIN, 5000, 0, 8192, "abcdefghij", 10);
    /* data and FIN: SEG.LEN = 11 */
    expect_seg(&h, F_RST | F_ACK, 0, 5011, 0, 0);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void closed_ack_sends_rst_seq_seg_ack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    seg_send(&h, F_ACK, 1000, 0xDEADBEEF, 8192, "xy", 2);
    /* <SEQ=SEG.ACK><CTL=RST> */
    expect_seg(&h, F_RST, 0xDEADBEEF, 0, 0, 0);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void closed_rst_ignored(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    seg_send(&h, F_RST, 1000, 0, 0, NULL, 0);
    seg_send(&h, F_RST | F_ACK, 1000, 2000, 0, NULL, 0);
    expect_nothing(&h);
    assert_int_equal(h.drops[UTCP_DROP_RST_NO_SOCKET], 2);
    seg_destroy(&h);
}

/* ---- LISTEN: RFC 9293 3.10.7.2 ---- */

static void closed_listen_enters_listen(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l = seg_listen(&h, 4);
    assert_int_equal(seg_state(&h, l), UTCP_LISTEN);
    expect_states(&h, seg_conn_id(&h, l), "CLOSED>LISTEN");
    expect_nothing(&h);
    seg_destroy(&h);
}

static void closed_listen_unbound_fails_einval(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    assert_int_equal(utcp_socket(h.st, &l), 0);
    assert_int_equal(utcp_listen(h.st, l, 4), UTCP_EINVAL);
    assert_int_equal(seg_state(&h, l), UTCP_CLOSED);
    seg_destroy(&h);
}

static void listen_rst_ignored(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l = seg_listen(&h, 4);
    seg_send(&h, F_RST, 1000, 0, 0, NULL, 0);
    seg_send(&h, F_RST | F_ACK, 1000, 5, 0, NULL, 0);
    expect_nothing(&h);
    assert_int_equal(h.drops[UTCP_DROP_LISTEN_RST], 2);
    assert_int_equal(seg_state(&h, l), UTCP_LISTEN);
    common_teardown_checks(&h);
    seg_destroy(&h);
}

static void listen_ack_sends_rst_seq_seg_ack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l = seg_listen(&h, 4);
    seg_send(&h, F_ACK, 1000, 777777, 8192, NULL, 0);
    expect_seg(&h, F_RST, 777777, 0, 0, 0);
    /* also with SYN+ACK: the ACK bit wins (second check) */
    seg_send(&h, F_SYN | F_ACK, 1000, 12345, 8192, NULL, 0);
    expect_seg(&h, F_RST, 12345, 0, 0, 0);
    expect_nothing(&h);
    assert_int_equal(seg_state(&h, l), UTCP_LISTEN);
    assert_int_equal(h.nstates, 1); /* only CLOSED>LISTEN */
    seg_destroy(&h);
}

static void listen_no_syn_dropped(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l = seg_listen(&h, 4);
    seg_send(&h, F_FIN, 1000, 0, 8192, "data", 4);
    seg_send(&h, 0, 1000, 0, 8192, "data", 4);
    expect_nothing(&h);
    assert_int_equal(h.drops[UTCP_DROP_LISTEN_NO_SYN], 2);
    assert_int_equal(seg_state(&h, l), UTCP_LISTEN);
    seg_destroy(&h);
}

static void listen_syn_sends_synack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l = seg_listen(&h, 4);
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = h.pport;
    th.dport = h.lport;
    th.seq = 0x10000;
    th.flags = F_SYN;
    th.win = 5000;
    th.opts.present = UTCP_OPT_MSS;
    th.opts.mss = 1000;
    seg_send_th(&h, &th, NULL, 0);
    /* <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>, our MSS, no window scale since
     * the peer offered none (RFC 7323 1.3), window 8192 unscaled */
    const struct seg_cap *c =
        expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 0x10001, 0, 8192);
    assert_true(c->opts.present & UTCP_OPT_MSS);
    assert_int_equal(c->opts.mss, 1460);
    assert_false(c->opts.present & UTCP_OPT_WSCALE);
    expect_nothing(&h);
    uint32_t ids[1] = {0};
    for (size_t i = 0; i < h.nstates; i++)
        if (h.states[i].new_state == UTCP_SYN_RECEIVED)
            ids[0] = h.states[i].conn_id;
    expect_states(&h, ids[0], "LISTEN>SYN_RECEIVED");
    assert_int_equal(seg_state(&h, l), UTCP_LISTEN);
    assert_int_equal(SEG_CTR(&h, PassiveOpens), 1);
    /* the handshake completes; the peer's MSS (1000) limits our segments */
    seg_send(&h, F_ACK, 0x10001, c->seq + 1, 5000, NULL, 0);
    utcp_sock sk;
    assert_int_equal(utcp_accept(h.st, l, &sk), 0);
    expect_states(&h, ids[0], "LISTEN>SYN_RECEIVED>ESTABLISHED");
    assert_int_equal(seg_info(&h, sk).mss, 1000);
    assert_int_equal(seg_info(&h, sk).snd_wnd, 5000);
    static uint8_t big[3000];
    assert_int_equal(utcp_send(h.st, sk, big, sizeof big), 3000);
    expect_seg(&h, F_ACK, c->seq + 1, 0x10001, 1000, SEG_ANY);
    seg_destroy(&h);
}

static void listen_syn_with_wscale_sends_synack_with_wscale(void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_config cfg = seg_default_cfg();
    cfg.rcvbuf = 200000;
    seg_init(&h, &cfg);
    seg_listen(&h, 4);
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = h.pport;
    th.dport = h.lport;
    th.seq = 1;
    th.flags = F_SYN;
    th.win = 65535;
    th.opts.present = UTCP_OPT_MSS | UTCP_OPT_WSCALE;
    th.opts.mss = 1460;
    th.opts.wscale = 3;
    seg_send_th(&h, &th, NULL, 0);
    /* RFC 7323 2.2: the SYN's window is never scaled */
    const struct seg_cap *c = expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 2, 0, 65535);
    assert_true(c->opts.present & UTCP_OPT_WSCALE);
    assert_int_equal(c->opts.wscale, 2); /* 65535 << 2 >= 200000 */
    seg_destroy(&h);
}

static void listen_syn_with_data_synack_does_not_ack_data(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    seg_listen(&h, 4);
    seg_send(&h, F_SYN, 100, 0, 8192, "early", 5);
    /* no TCP Fast Open: the data is not acknowledged (sent again later) */
    expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 101, 0, SEG_ANY);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void listen_close_closes(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l = seg_listen(&h, 4);
    uint32_t id = seg_conn_id(&h, l);
    assert_int_equal(utcp_close(h.st, l), 0);
    expect_states(&h, id, "CLOSED>LISTEN>CLOSED");
    expect_nothing(&h);
    /* the port is free again: a SYN gets a RST */
    seg_send(&h, F_SYN, 1, 0, 8192, NULL, 0);
    expect_seg(&h, F_RST | F_ACK, 0, 2, 0, 0);
    assert_int_equal(SEG_CTR(&h, ConnsAlloc), SEG_CTR(&h, ConnsFree));
    seg_destroy(&h);
}

static void listen_close_with_pending_children_resets_them(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l = seg_listen(&h, 4);
    /* child 1 completes (accept queue), child 2 stays half open */
    seg_send(&h, F_SYN, 100, 0, 8192, NULL, 0);
    const struct seg_cap *c1 = expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 101, 0, SEG_ANY);
    seg_send(&h, F_ACK, 101, c1->seq + 1, 8192, NULL, 0);
    h.pport = 40001;
    seg_send(&h, F_SYN, 500, 0, 8192, NULL, 0);
    const struct seg_cap *c2 = expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 501, 0, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(utcp_close(h.st, l), 0);
    /* RFC 9293 3.10.4 ABORT for both: <SEQ=SND.NXT><CTL=RST> */
    const struct seg_cap *r1 = seg_take(&h);
    const struct seg_cap *r2 = seg_take(&h);
    assert_non_null(r1);
    assert_non_null(r2);
    assert_true(r1->flags & F_RST);
    assert_true(r2->flags & F_RST);
    uint32_t want1 = c2->seq + 1, want2 = c1->seq + 1; /* SYN queue first */
    assert_true((r1->seq == want1 && r2->seq == want2) ||
                (r1->seq == want2 && r2->seq == want1));
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, ConnsAlloc), SEG_CTR(&h, ConnsFree));
    assert_int_equal(h.bad_transitions, 0);
    seg_destroy(&h);
}

static void listen_backlog_full_syn_dropped(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l = seg_listen(&h, 1);
    seg_send(&h, F_SYN, 100, 0, 8192, NULL, 0);
    const struct seg_cap *c = expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 101, 0, SEG_ANY);
    seg_send(&h, F_ACK, 101, c->seq + 1, 8192, NULL, 0);
    /* the accept queue (1) is full: the next SYN is dropped silently */
    h.pport = 40001;
    seg_send(&h, F_SYN, 900, 0, 8192, NULL, 0);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, ListenOverflows), 1);
    assert_int_equal(h.drops[UTCP_DROP_ACCEPT_QUEUE_FULL], 1);
    /* once accepted, the retransmitted SYN gets in */
    utcp_sock sk;
    assert_int_equal(utcp_accept(h.st, l, &sk), 0);
    seg_send(&h, F_SYN, 900, 0, 8192, NULL, 0);
    expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 901, 0, SEG_ANY);
    seg_destroy(&h);
}

static void listen_syn_queue_full_syn_dropped(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    seg_listen(&h, 1); /* SYN queue: 2*1+16 = 18 */
    for (int i = 0; i < 18; i++) {
        h.pport = (uint16_t)(41000 + i);
        seg_send(&h, F_SYN, 100, 0, 8192, NULL, 0);
        expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 101, 0, SEG_ANY);
    }
    h.pport = 42000;
    seg_send(&h, F_SYN, 100, 0, 8192, NULL, 0);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, ListenDrops), 1);
    seg_destroy(&h);
}

static void listen_stack_destroy_closes_listener_and_children(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l = seg_listen(&h, 4);
    uint32_t lid = seg_conn_id(&h, l);
    seg_send(&h, F_SYN, 100, 0, 8192, NULL, 0);
    expect_seg(&h, F_SYN | F_ACK, SEG_ANY, 101, 0, SEG_ANY);
    uint32_t cid = h.states[h.nstates - 1].conn_id;
    size_t ncap = h.ncap;
    utcp_stack_destroy(h.st);
    h.st = NULL;
    assert_int_equal(h.ncap, ncap); /* silently */
    expect_states(&h, lid, "CLOSED>LISTEN>CLOSED");
    expect_states(&h, cid, "LISTEN>SYN_RECEIVED>CLOSED");
    for (size_t i = 0; i < h.nstates; i++)
        if (h.states[i].new_state == UTCP_CLOSED)
            assert_int_equal(h.states[i].cause, UTCP_CAUSE_STACK_DESTROY);
    assert_int_equal(h.bad_transitions, 0);
    seg_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(closed_syn_sends_rst_ack),
        cmocka_unit_test(closed_data_without_ack_sends_rst_ack_covering_data),
        cmocka_unit_test(closed_ack_sends_rst_seq_seg_ack),
        cmocka_unit_test(closed_rst_ignored),
        cmocka_unit_test(closed_listen_enters_listen),
        cmocka_unit_test(closed_listen_unbound_fails_einval),
        cmocka_unit_test(listen_rst_ignored),
        cmocka_unit_test(listen_ack_sends_rst_seq_seg_ack),
        cmocka_unit_test(listen_no_syn_dropped),
        cmocka_unit_test(listen_syn_sends_synack),
        cmocka_unit_test(listen_syn_with_wscale_sends_synack_with_wscale),
        cmocka_unit_test(listen_syn_with_data_synack_does_not_ack_data),
        cmocka_unit_test(listen_close_closes),
        cmocka_unit_test(listen_close_with_pending_children_resets_them),
        cmocka_unit_test(listen_backlog_full_syn_dropped),
        cmocka_unit_test(listen_syn_queue_full_syn_dropped),
        cmocka_unit_test(listen_stack_destroy_closes_listener_and_children),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
