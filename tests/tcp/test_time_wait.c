/*
 * TIME-WAIT (RFC 9293 3.10.7.4 and 3.10.8, RFC 1337, RFC 6191) at the
 * segment level. TIME_WAIT is reached through FIN_WAIT_1 > FIN_WAIT_2.
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
#define PISS 90000u
#define P0 (PISS + 1)
#define TW_STATES "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT"
#define TW_STATES_P "LISTEN>SYN_RECEIVED>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT"

struct fx {
    struct seg_h h;
    utcp_sock sk, lsk;
    uint32_t id, U;
};

/* Active close to TIME_WAIT; passive: the connection came from a listener
 * (which stays open); keep: the application still holds the socket. */
static void to_time_wait(struct fx *f, bool passive, bool keep)
{
    seg_init(&f->h, NULL);
    if (passive)
        f->sk = seg_open_passive(&f->h, &f->lsk, PISS, 30 * MS);
    else
        f->sk = seg_open_active(&f->h, PISS, 30 * MS);
    f->id = seg_conn_id(&f->h, f->sk);
    f->U = f->h.iss + 1;
    if (keep)
        assert_int_equal(utcp_shutdown(f->h.st, f->sk, UTCP_SHUT_WR), 0);
    else
        assert_int_equal(utcp_close(f->h.st, f->sk), 0);
    expect_seg(&f->h, F_FIN | F_ACK, f->U, P0, 0, SEG_ANY);
    seg_send(&f->h, F_ACK, P0, f->U + 1, 16384, NULL, 0);
    seg_send(&f->h, F_ACK | F_FIN, P0, f->U + 1, 16384, NULL, 0);
    expect_seg(&f->h, F_ACK, f->U + 1, P0 + 1, 0, SEG_ANY);
    expect_nothing(&f->h);
    expect_states(&f->h, f->id, passive ? TW_STATES_P : TW_STATES);
}

static void time_wait_expires_after_2msl(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, false, false);
    uint64_t t0 = f.h.now;
    assert_int_equal(seg_run_to_next_timer(&f.h) - t0, 60 * SEC);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, TW_STATES ">CLOSED");
    assert_int_equal(f.h.states[f.h.nstates - 1].cause, UTCP_CAUSE_TIMEOUT_2MSL);
    assert_int_equal(f.h.timer_sets[UTCP_TIMER_TIME_WAIT], 1);
    assert_int_equal(f.h.timer_fires[UTCP_TIMER_TIME_WAIT], 1);
    assert_int_equal(SEG_CTR(&f.h, ConnsAlloc), SEG_CTR(&f.h, ConnsFree));
    assert_int_equal(utcp_next_deadline(f.h.st), UINT64_MAX);
    seg_destroy(&f.h);
}

static void time_wait_msl_option_sets_duration(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = seg_open_active(&h, PISS, 30 * MS);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_MSL, 1000), 0);
    assert_int_equal(utcp_close(h.st, sk), 0);
    expect_seg(&h, F_FIN | F_ACK, U, P0, 0, SEG_ANY);
    seg_send(&h, F_ACK | F_FIN, P0, U + 1, 16384, NULL, 0);
    expect_seg(&h, F_ACK, U + 1, P0 + 1, 0, SEG_ANY);
    uint64_t t0 = h.now;
    assert_int_equal(seg_run_to_next_timer(&h) - t0, 2 * SEC);
    seg_destroy(&h);
}

static void time_wait_fin_again_acked_restarts_2msl(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, false, false);
    seg_run(&f.h, 20 * SEC);
    seg_send(&f.h, F_ACK | F_FIN, P0, f.U + 1, 16384, NULL, 0);
    expect_seg(&f.h, F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    expect_nothing(&f.h);
    assert_int_equal(f.h.timer_sets[UTCP_TIMER_TIME_WAIT], 2);
    uint64_t t1 = f.h.now;
    assert_int_equal(seg_run_to_next_timer(&f.h) - t1, 60 * SEC);
    expect_states(&f.h, f.id, TW_STATES ">CLOSED");
    seg_destroy(&f.h);
}

static void time_wait_rst_ignored_rfc1337(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, false, false);
    seg_send(&f.h, F_RST, P0 + 1, 0, 0, NULL, 0);       /* exact */
    seg_send(&f.h, F_RST | F_ACK, P0 + 1, f.U + 1, 0, NULL, 0);
    seg_send(&f.h, F_RST, P0 + 100, 0, 0, NULL, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, TW_STATES);
    assert_int_equal(f.h.drops[UTCP_DROP_TIME_WAIT_RST], 3);
    uint64_t t0 = f.h.now;
    (void)t0;
    seg_run(&f.h, 61 * SEC);
    expect_states(&f.h, f.id, TW_STATES ">CLOSED");
    assert_int_equal(f.h.states[f.h.nstates - 1].cause, UTCP_CAUSE_TIMEOUT_2MSL);
    seg_destroy(&f.h);
}

static void time_wait_old_data_sends_ack(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, false, false);
    seg_send(&f.h, F_ACK | F_PSH, P0 - 10, f.U, 16384, "0123456789", 10);
    expect_seg(&f.h, F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    seg_send(&f.h, F_ACK | F_PSH, P0 + 1, f.U + 1, 16384, "new?", 4);
    expect_seg(&f.h, F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, TW_STATES);
    assert_int_equal(f.h.timer_sets[UTCP_TIMER_TIME_WAIT], 1); /* no restart */
    seg_destroy(&f.h);
}

static void time_wait_duplicate_ack_ignored(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, false, false);
    seg_send(&f.h, F_ACK, P0 + 1, f.U + 1, 16384, NULL, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, TW_STATES);
    seg_destroy(&f.h);
}

static void time_wait_old_syn_sends_ack(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, true, false);
    /* a SYN not above RCV.NXT cannot open a new incarnation */
    seg_send(&f.h, F_SYN, PISS, 0, 16384, NULL, 0);
    expect_seg(&f.h, F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, TW_STATES_P);
    assert_int_equal(SEG_CTR(&f.h, TimeWaitRecycled), 0);
    seg_destroy(&f.h);
}

static void time_wait_new_syn_above_rcv_nxt_reopens(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, true, false);
    seg_run(&f.h, 1 * SEC);
    /* RFC 9293 3.10.7.4 / RFC 6191: a SYN above RCV.NXT, with a listener:
     * the TIME-WAIT record gives way to a new connection */
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = f.h.pport;
    th.dport = f.h.lport;
    th.seq = P0 + 100000;
    th.flags = F_SYN;
    th.win = 16384;
    th.opts.present = UTCP_OPT_MSS;
    th.opts.mss = 1460;
    seg_send_th(&f.h, &th, NULL, 0);
    const struct seg_cap *c =
        expect_seg(&f.h, F_SYN | F_ACK, SEG_ANY, P0 + 100001, 0, SEG_ANY);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, TW_STATES_P ">CLOSED");
    assert_int_equal(f.h.states[f.h.nstates - 2].cause, UTCP_CAUSE_RCV_SYN);
    assert_int_equal(SEG_CTR(&f.h, TimeWaitRecycled), 1);
    /* the new ISS lies above the old connection's sequence space */
    assert_true((int32_t)(c->seq - (f.U + 1)) > 0);
    seg_send(&f.h, F_ACK, P0 + 100001, c->seq + 1, 16384, NULL, 0);
    utcp_sock x;
    assert_int_equal(utcp_accept(f.h.st, f.lsk, &x), 0);
    assert_int_equal(seg_state(&f.h, x), UTCP_ESTABLISHED);
    assert_int_equal(f.h.bad_transitions, 0);
    seg_destroy(&f.h);
}

static void time_wait_new_syn_reopens_with_iss_above_old_snd_nxt(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock l;
    utcp_sock sk = seg_open_passive(&h, &l, PISS, 1 * MS);
    uint32_t U = h.iss + 1;
    /* 15000 bytes in a few ms: more than the 4 us clock of RFC 6528 moves */
    static uint8_t data[15000];
    assert_int_equal(utcp_send(h.st, sk, data, sizeof data), 15000);
    const struct seg_cap *c;
    uint32_t acked = U;
    for (int guard = 0; acked != U + 15000; guard++) {
        assert_true(guard < 100);
        while ((c = seg_take(&h)) != NULL)
            if (c->len && (int32_t)(c->seq + c->len - acked) > 0)
                acked = c->seq + c->len;
        seg_send(&h, F_ACK, P0, acked, 16384, NULL, 0);
    }
    assert_int_equal(utcp_close(h.st, sk), 0);
    expect_seg(&h, F_FIN | F_ACK, U + 15000, P0, 0, SEG_ANY);
    seg_send(&h, F_ACK | F_FIN, P0, U + 15001, 16384, NULL, 0);
    expect_seg(&h, F_ACK, U + 15001, P0 + 1, 0, SEG_ANY);
    seg_send(&h, F_SYN, P0 + 10, 0, 16384, NULL, 0);
    c = expect_seg(&h, F_SYN | F_ACK, SEG_ANY, P0 + 11, 0, SEG_ANY);
    /* RFC 6191: the new incarnation's ISS is above the old SND.NXT */
    assert_true((int32_t)(c->seq - (U + 15001)) > 0);
    assert_true((int32_t)(c->seq - (U + 15001)) >= 65536);
    seg_destroy(&h);
}

static void time_wait_new_syn_without_listener_sends_rst(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, false, false);
    seg_send(&f.h, F_SYN, P0 + 100000, 0, 16384, NULL, 0);
    expect_seg(&f.h, F_RST | F_ACK, 0, P0 + 100001, 0, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, TW_STATES ">CLOSED");
    seg_destroy(&f.h);
}

static void time_wait_abort_closes_silently(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, false, true);
    assert_int_equal(seg_state(&f.h, f.sk), UTCP_TIME_WAIT);
    assert_int_equal(utcp_abort(f.h.st, f.sk), 0);
    expect_nothing(&f.h); /* no RST from TIME-WAIT */
    expect_states(&f.h, f.id, TW_STATES ">CLOSED");
    assert_int_equal(f.h.states[f.h.nstates - 1].cause, UTCP_CAUSE_ABORT);
    assert_int_equal(SEG_CTR(&f.h, ConnsAlloc), SEG_CTR(&f.h, ConnsFree));
    assert_int_equal(utcp_next_deadline(f.h.st), UINT64_MAX);
    seg_destroy(&f.h);
}

static void time_wait_close_of_held_socket_keeps_time_wait(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, false, true);
    assert_true(utcp_poll(f.h.st, f.sk) & UTCP_EV_CLOSED);
    assert_int_equal(utcp_close(f.h.st, f.sk), 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, TW_STATES);
    seg_run(&f.h, 60 * SEC);
    expect_states(&f.h, f.id, TW_STATES ">CLOSED");
    assert_int_equal(SEG_CTR(&f.h, ConnsAlloc), SEG_CTR(&f.h, ConnsFree));
    seg_destroy(&f.h);
}

static void time_wait_port_held_until_reuseaddr(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, false, false);
    utcp_sock s1, s2;
    assert_int_equal(utcp_socket(f.h.st, &s1), 0);
    assert_int_equal(utcp_bind(f.h.st, s1, 0, 80), UTCP_EADDRINUSE);
    assert_int_equal(utcp_socket(f.h.st, &s2), 0);
    assert_int_equal(utcp_setopt(f.h.st, s2, UTCP_OPT_REUSEADDR, 1), 0);
    assert_int_equal(utcp_bind(f.h.st, s2, 0, 80), 0);
    /* connecting over the same 4-tuple retires the TIME-WAIT record and
     * starts above its sequence space (RFC 6191) */
    assert_int_equal(utcp_connect(f.h.st, s2, SEG_PEER, 40000), UTCP_EINPROGRESS);
    const struct seg_cap *c = expect_seg(&f.h, F_SYN, SEG_ANY, 0, 0, SEG_ANY);
    assert_true((int32_t)(c->seq - (f.U + 1)) >= 65536);
    expect_states(&f.h, f.id, TW_STATES ">CLOSED");
    assert_int_equal(f.h.states[f.h.nstates - 2].cause, UTCP_CAUSE_ABORT);
    /* after 2*MSL the port is free for anyone */
    seg_destroy(&f.h);
}

static void time_wait_stack_destroy_closes_silently(void **state)
{
    (void)state;
    struct fx f;
    to_time_wait(&f, false, false);
    size_t ncap = f.h.ncap;
    utcp_stack_destroy(f.h.st);
    f.h.st = NULL;
    assert_int_equal(f.h.ncap, ncap);
    expect_states(&f.h, f.id, TW_STATES ">CLOSED");
    assert_int_equal(f.h.states[f.h.nstates - 1].cause,
                     UTCP_CAUSE_STACK_DESTROY);
    assert_int_equal(f.h.bad_transitions, 0);
    seg_destroy(&f.h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_wait_expires_after_2msl),
        cmocka_unit_test(time_wait_msl_option_sets_duration),
        cmocka_unit_test(time_wait_fin_again_acked_restarts_2msl),
        cmocka_unit_test(time_wait_rst_ignored_rfc1337),
        cmocka_unit_test(time_wait_old_data_sends_ack),
        cmocka_unit_test(time_wait_duplicate_ack_ignored),
        cmocka_unit_test(time_wait_old_syn_sends_ack),
        cmocka_unit_test(time_wait_new_syn_above_rcv_nxt_reopens),
        cmocka_unit_test(time_wait_new_syn_reopens_with_iss_above_old_snd_nxt),
        cmocka_unit_test(time_wait_new_syn_without_listener_sends_rst),
        cmocka_unit_test(time_wait_abort_closes_silently),
        cmocka_unit_test(time_wait_close_of_held_socket_keeps_time_wait),
        cmocka_unit_test(time_wait_port_held_until_reuseaddr),
        cmocka_unit_test(time_wait_stack_destroy_closes_silently),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
