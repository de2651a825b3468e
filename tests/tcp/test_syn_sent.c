/*
 * SYN-SENT (RFC 9293 3.10.7.3, RFC 5961 3.2 for RST) at the segment level.
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

/* Socket in SYN_SENT; h->iss set from its SYN. */
static utcp_sock to_syn_sent(struct seg_h *h)
{
    utcp_sock sk;
    assert_int_equal(utcp_socket(h->st, &sk), 0);
    assert_int_equal(utcp_bind(h->st, sk, 0, h->lport), 0);
    assert_int_equal(utcp_connect(h->st, sk, SEG_PEER, h->pport),
                     UTCP_EINPROGRESS);
    const struct seg_cap *c = expect_seg(h, F_SYN, SEG_ANY, 0, 0, SEG_ANY);
    h->iss = c->seq;
    return sk;
}

static void send_synack(struct seg_h *h, uint32_t seq, uint32_t ack,
                        bool with_mss, const void *data, size_t len)
{
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = h->pport;
    th.dport = h->lport;
    th.seq = seq;
    th.ack = ack;
    th.flags = F_SYN | F_ACK;
    th.win = 16384;
    if (with_mss) {
        th.opts.present = UTCP_OPT_MSS;
        th.opts.mss = 1460;
    }
    seg_send_th(h, &th, data, len);
}

static void closed_connect_sends_syn(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk;
    assert_int_equal(utcp_socket(h.st, &sk), 0);
    assert_int_equal(utcp_connect(h.st, sk, SEG_PEER, 40000), UTCP_EINPROGRESS);
    const struct seg_cap *c = expect_seg(&h, F_SYN, SEG_ANY, 0, 0, 8192);
    assert_true(c->opts.present & UTCP_OPT_MSS);
    assert_int_equal(c->opts.mss, 1460);
    assert_true(c->opts.present & UTCP_OPT_WSCALE);
    assert_int_equal(c->opts.wscale, 0);
    assert_true(c->sport >= 49152); /* ephemeral */
    expect_nothing(&h);
    expect_states(&h, seg_conn_id(&h, sk), "CLOSED>SYN_SENT");
    assert_int_equal(utcp_connect(h.st, sk, SEG_PEER, 40000), UTCP_EALREADY);
    assert_int_equal(SEG_CTR(&h, ActiveOpens), 1);
    seg_destroy(&h);
}

static void syn_sent_synack_establishes(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = seg_open_active(&h, 5000, 30 * MS);
    expect_states(&h, seg_conn_id(&h, sk), "CLOSED>SYN_SENT>ESTABLISHED");
    struct utcp_info i = seg_info(&h, sk);
    assert_int_equal(i.snd_una, h.iss + 1);
    assert_int_equal(i.rcv_nxt, 5001);
    assert_int_equal(i.irs, 5000);
    assert_int_equal(i.snd_wnd, 16384);
    assert_int_equal(i.srtt_us, 30000); /* RFC 6298 (2.2): first sample */
    utcp_sock e;
    uint32_t ev;
    assert_int_equal(utcp_next_event(h.st, &e, &ev), 0);
    assert_true(ev & UTCP_EV_CONNECTED);
    assert_true(ev & UTCP_EV_WRITABLE);
    seg_destroy(&h);
}

static void syn_sent_synack_with_data_acks_and_delivers(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_sent(&h);
    send_synack(&h, 7000, h.iss + 1, true, "hello", 5);
    expect_seg(&h, F_ACK, h.iss + 1, 7006, 0, SEG_ANY);
    expect_nothing(&h);
    char b[8];
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), 5);
    assert_memory_equal(b, "hello", 5);
    seg_destroy(&h);
}

static void syn_sent_synack_without_mss_uses_536(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_sent(&h);
    send_synack(&h, 7000, h.iss + 1, false, NULL, 0);
    expect_seg(&h, F_ACK, h.iss + 1, 7001, 0, SEG_ANY);
    assert_int_equal(seg_info(&h, sk).mss, 536); /* RFC 9293 3.7.1 */
    static uint8_t big[1000];
    assert_int_equal(utcp_send(h.st, sk, big, sizeof big), 1000);
    expect_seg(&h, F_ACK, h.iss + 1, 7001, 536, SEG_ANY);
    seg_destroy(&h);
}

static void syn_sent_bad_ack_sends_rst(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_sent(&h);
    /* SEG.ACK =< ISS */
    send_synack(&h, 7000, h.iss, true, NULL, 0);
    expect_seg(&h, F_RST, h.iss, 0, 0, 0);
    /* SEG.ACK > SND.NXT */
    send_synack(&h, 7000, h.iss + 2, true, NULL, 0);
    expect_seg(&h, F_RST, h.iss + 2, 0, 0, 0);
    /* a bare ACK too */
    seg_send(&h, F_ACK, 7000, h.iss - 100, 8192, NULL, 0);
    expect_seg(&h, F_RST, h.iss - 100, 0, 0, 0);
    expect_nothing(&h);
    assert_int_equal(seg_state(&h, sk), UTCP_SYN_SENT);
    assert_int_equal(h.drops[UTCP_DROP_SYN_SENT_BAD_ACK], 3);
    seg_destroy(&h);
}

static void syn_sent_rst_with_bad_ack_ignored(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_sent(&h);
    seg_send(&h, F_RST | F_ACK, 0, h.iss + 5, 0, NULL, 0);
    expect_nothing(&h);
    assert_int_equal(seg_state(&h, sk), UTCP_SYN_SENT);
    seg_destroy(&h);
}

static void syn_sent_rst_without_ack_ignored(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_sent(&h);
    seg_send(&h, F_RST, 0, 0, 0, NULL, 0);
    expect_nothing(&h);
    assert_int_equal(seg_state(&h, sk), UTCP_SYN_SENT);
    assert_int_equal(h.drops[UTCP_DROP_SYN_SENT_RST_NO_ACK], 1);
    seg_destroy(&h);
}

static void syn_sent_rst_with_acceptable_ack_refused(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_sent(&h);
    uint32_t id = seg_conn_id(&h, sk);
    seg_send(&h, F_RST | F_ACK, 0, h.iss + 1, 0, NULL, 0);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_RCV_RST);
    assert_int_equal(utcp_sock_error(h.st, sk), UTCP_ECONNREFUSED);
    assert_int_equal(SEG_CTR(&h, AttemptFails), 1);
    assert_int_equal(utcp_close(h.st, sk), 0);
    assert_int_equal(SEG_CTR(&h, ConnsAlloc), SEG_CTR(&h, ConnsFree));
    seg_destroy(&h);
}

static void syn_sent_ack_without_syn_dropped(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_sent(&h);
    seg_send(&h, F_ACK, 7000, h.iss + 1, 8192, "x", 1);
    expect_nothing(&h);
    assert_int_equal(seg_state(&h, sk), UTCP_SYN_SENT);
    assert_int_equal(h.drops[UTCP_DROP_SYN_SENT_NO_SYN], 1);
    seg_destroy(&h);
}

static void syn_sent_syn_sends_synack_enters_syn_received(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_sent(&h);
    uint32_t id = seg_conn_id(&h, sk);
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = h.pport;
    th.dport = h.lport;
    th.seq = 9000;
    th.flags = F_SYN;
    th.win = 16384;
    th.opts.present = UTCP_OPT_MSS | UTCP_OPT_WSCALE;
    th.opts.mss = 1400;
    th.opts.wscale = 1;
    seg_send_th(&h, &th, NULL, 0);
    /* <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK> */
    const struct seg_cap *c = expect_seg(&h, F_SYN | F_ACK, h.iss, 9001, 0, SEG_ANY);
    assert_true(c->opts.present & UTCP_OPT_WSCALE);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>SYN_RECEIVED");
    /* the peer's SYN+ACK (simultaneous open, RFC 9293 figure 7) */
    seg_send(&h, F_SYN | F_ACK, 9000, h.iss + 1, 8192, NULL, 0);
    expect_states(&h, id, "CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED");
    expect_nothing(&h);
    /* RFC 7323 2.2: the window of a SYN+ACK is never scaled */
    assert_int_equal(seg_info(&h, sk).snd_wnd, 8192);
    /* later segments' windows are: 8192 << 1 */
    seg_send(&h, F_ACK, 9001, h.iss + 1, 8192, NULL, 0);
    assert_int_equal(seg_info(&h, sk).snd_wnd, 16384);
    assert_int_equal(seg_info(&h, sk).mss, 1400);
    seg_destroy(&h);
}

static void syn_sent_no_answer_backs_off_then_closes_etimedout(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk;
    assert_int_equal(utcp_socket(h.st, &sk), 0);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_SYN_RETRIES, 3), 0);
    assert_int_equal(utcp_connect(h.st, sk, SEG_PEER, 40000), UTCP_EINPROGRESS);
    const struct seg_cap *c = expect_seg(&h, F_SYN, SEG_ANY, 0, 0, SEG_ANY);
    uint32_t iss = c->seq;
    static const uint64_t at[] = {1, 3, 7};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(seg_run_to_next_timer(&h), at[i] * SEC);
        expect_seg(&h, F_SYN, iss, 0, 0, SEG_ANY); /* same ISS */
        expect_nothing(&h);
    }
    assert_int_equal(seg_run_to_next_timer(&h), 15 * SEC);
    expect_nothing(&h); /* not synchronized: no RST */
    expect_states(&h, seg_conn_id(&h, sk), "CLOSED>SYN_SENT>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_TIMEOUT_RETRANS);
    assert_int_equal(utcp_sock_error(h.st, sk), UTCP_ETIMEDOUT);
    assert_int_equal(SEG_CTR(&h, RetransSegs), 3);
    assert_int_equal(utcp_next_deadline(h.st), UINT64_MAX);
    seg_destroy(&h);
}

static void syn_sent_close_closes_silently(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_sent(&h);
    uint32_t id = seg_conn_id(&h, sk);
    assert_int_equal(utcp_close(h.st, sk), 0);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_CLOSE_LISTEN);
    /* a late SYN+ACK finds no connection: RST */
    send_synack(&h, 7000, h.iss + 1, true, NULL, 0);
    expect_seg(&h, F_RST, h.iss + 1, 0, 0, 0);
    assert_int_equal(SEG_CTR(&h, ConnsAlloc), SEG_CTR(&h, ConnsFree));
    seg_destroy(&h);
}

static void syn_sent_abort_closes_silently(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_sent(&h);
    uint32_t id = seg_conn_id(&h, sk);
    assert_int_equal(utcp_abort(h.st, sk), 0);
    expect_nothing(&h); /* RFC 9293 3.10.5: no RST from SYN-SENT */
    expect_states(&h, id, "CLOSED>SYN_SENT>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_ABORT);
    assert_int_equal(h.bad_transitions, 0);
    assert_int_equal(SEG_CTR(&h, IllegalTransitions), 0);
    seg_destroy(&h);
}

static void syn_sent_icmp_port_unreachable_refused(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk;
    assert_int_equal(utcp_socket(h.st, &sk), 0);
    assert_int_equal(utcp_connect(h.st, sk, SEG_PEER, 40000), UTCP_EINPROGRESS);
    const struct seg_cap *syn = expect_seg(&h, F_SYN, SEG_ANY, 0, 0, SEG_ANY);
    uint8_t pkt[200];
    size_t n = utcp_icmp_unreach_build(pkt + 20, sizeof pkt - 20,
                                       UTCP_ICMP_UNREACH_PORT, 0, syn->raw,
                                       syn->raw_len);
    assert_true(n > 0);
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = SEG_PEER;
    ip.dst = SEG_US;
    ip.ttl = 64;
    ip.proto = UTCP_IPPROTO_ICMP;
    assert_int_equal(utcp_ipv4_build(pkt, sizeof pkt, &ip, n), 20);
    seg_send_raw(&h, pkt, n + 20);
    expect_nothing(&h);
    expect_states(&h, seg_conn_id(&h, sk), "CLOSED>SYN_SENT>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_ICMP_ERROR);
    assert_int_equal(utcp_sock_error(h.st, sk), UTCP_ECONNREFUSED);
    seg_destroy(&h);
}

static void syn_sent_send_queues_data_until_established(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = to_syn_sent(&h);
    assert_int_equal(utcp_send(h.st, sk, "early", 5), 5);
    expect_nothing(&h);
    send_synack(&h, 7000, h.iss + 1, true, NULL, 0);
    expect_seg(&h, F_ACK, h.iss + 1, 7001, 0, SEG_ANY);
    const struct seg_cap *d = expect_seg(&h, F_PSH | F_ACK, h.iss + 1, 7001, 5, SEG_ANY);
    assert_memory_equal(d->data, "early", 5);
    expect_nothing(&h);
    seg_destroy(&h);
}

/* More connections change their deadlines between two reads of the wheel
 * than the stack's list of changed connections holds (timer.c), and half
 * of them are freed meanwhile: every survivor still retransmits its SYN at
 * exactly RTO (RFC 6298 (2.1): 1 s), the freed ones never. */
static void syn_sent_many_connects_retransmit_at_the_exact_instant(void **state)
{
    (void)state;
    enum { N = 600 };
    struct seg_h h;
    seg_init(&h, NULL);
    static utcp_sock sk[N];
    for (int i = 0; i < N; i++) {
        assert_int_equal(utcp_socket(h.st, &sk[i]), 0);
        assert_int_equal(utcp_connect(h.st, sk[i], SEG_PEER, (uint16_t)(40000 + i)),
                         UTCP_EINPROGRESS);
        if (i % 2)
            assert_int_equal(utcp_abort(h.st, sk[i]), 0);
    }
    for (int i = 0; i < N; i++)
        expect_seg(&h, F_SYN, SEG_ANY, 0, 0, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(utcp_next_deadline(h.st), 1 * SEC);
    assert_int_equal(seg_run_to_next_timer(&h), 1 * SEC);
    for (int i = 0; i < N / 2; i++)
        expect_seg(&h, F_SYN, SEG_ANY, 0, 0, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, RetransSegs), N / 2);
    assert_int_equal(utcp_next_deadline(h.st), 3 * SEC);
    seg_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(closed_connect_sends_syn),
        cmocka_unit_test(syn_sent_synack_establishes),
        cmocka_unit_test(syn_sent_synack_with_data_acks_and_delivers),
        cmocka_unit_test(syn_sent_synack_without_mss_uses_536),
        cmocka_unit_test(syn_sent_bad_ack_sends_rst),
        cmocka_unit_test(syn_sent_rst_with_bad_ack_ignored),
        cmocka_unit_test(syn_sent_rst_without_ack_ignored),
        cmocka_unit_test(syn_sent_rst_with_acceptable_ack_refused),
        cmocka_unit_test(syn_sent_ack_without_syn_dropped),
        cmocka_unit_test(syn_sent_syn_sends_synack_enters_syn_received),
        cmocka_unit_test(syn_sent_no_answer_backs_off_then_closes_etimedout),
        cmocka_unit_test(syn_sent_many_connects_retransmit_at_the_exact_instant),
        cmocka_unit_test(syn_sent_close_closes_silently),
        cmocka_unit_test(syn_sent_abort_closes_silently),
        cmocka_unit_test(syn_sent_icmp_port_unreachable_refused),
        cmocka_unit_test(syn_sent_send_queues_data_until_established),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
