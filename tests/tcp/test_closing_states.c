/*
 * FIN-WAIT-1, FIN-WAIT-2, CLOSE-WAIT, CLOSING and LAST-ACK (RFC 9293
 * 3.10.4 CLOSE, 3.10.7.4 fifth and eighth steps) at the segment level.
 * Each state is reached through real transitions from ESTABLISHED.
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
#define PISS 70000u
#define P0 (PISS + 1)

struct fx {
    struct seg_h h;
    utcp_sock sk;
    uint32_t id, U; /* conn id, our first data byte = our FIN's seq */
};

static void est(struct fx *f, const struct utcp_config *cfg)
{
    seg_init(&f->h, cfg);
    f->sk = seg_open_active(&f->h, PISS, 30 * MS);
    f->id = seg_conn_id(&f->h, f->sk);
    f->U = f->h.iss + 1;
}

/* keep: shutdown(SHUT_WR), the application keeps the socket; else close. */
static void end_send(struct fx *f, bool keep)
{
    if (keep)
        assert_int_equal(utcp_shutdown(f->h.st, f->sk, UTCP_SHUT_WR), 0);
    else
        assert_int_equal(utcp_close(f->h.st, f->sk), 0);
}

static void to_fin_wait_1(struct fx *f, bool keep)
{
    est(f, NULL);
    end_send(f, keep);
    expect_seg(&f->h, F_FIN | F_ACK, f->U, P0, 0, SEG_ANY);
    expect_nothing(&f->h);
}

static void to_fin_wait_2(struct fx *f, bool keep)
{
    to_fin_wait_1(f, keep);
    seg_send(&f->h, F_ACK, P0, f->U + 1, 16384, NULL, 0);
    expect_nothing(&f->h);
    expect_states(&f->h, f->id, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2");
}

static void to_close_wait_cfg(struct fx *f, const struct utcp_config *cfg)
{
    est(f, cfg);
    seg_send(&f->h, F_ACK | F_FIN, P0, f->U, 16384, NULL, 0);
    seg_run(&f->h, 40 * MS);
    expect_seg(&f->h, F_ACK, f->U, P0 + 1, 0, SEG_ANY);
    expect_nothing(&f->h);
    expect_states(&f->h, f->id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT");
}

static void to_close_wait(struct fx *f)
{
    to_close_wait_cfg(f, NULL);
}

static void to_last_ack(struct fx *f, bool keep)
{
    to_close_wait(f);
    end_send(f, keep);
    expect_seg(&f->h, F_FIN | F_ACK, f->U, P0 + 1, 0, SEG_ANY);
    expect_nothing(&f->h);
    expect_states(&f->h, f->id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK");
}

static void to_closing(struct fx *f, bool keep)
{
    to_fin_wait_1(f, keep);
    /* the peer's FIN crosses ours: it does not acknowledge our FIN */
    seg_send(&f->h, F_ACK | F_FIN, P0, f->U, 16384, NULL, 0);
    expect_seg(&f->h, F_ACK, f->U + 1, P0 + 1, 0, SEG_ANY);
    expect_nothing(&f->h);
    expect_states(&f->h, f->id, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING");
}

static int last_cause(const struct fx *f)
{
    return f->h.states[f->h.nstates - 1].cause;
}

static void no_leak(struct fx *f)
{
    assert_int_equal(f->h.bad_transitions, 0);
    assert_int_equal(SEG_CTR(&f->h, IllegalTransitions), 0);
    assert_int_equal(SEG_CTR(&f->h, ConnsAlloc), SEG_CTR(&f->h, ConnsFree));
}

/* ================= FIN-WAIT-1 ================= */

static void fin_wait_1_ack_of_fin_enters_fin_wait_2(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_2(&f, true);
    assert_int_equal(seg_state(&f.h, f.sk), UTCP_FIN_WAIT_2);
    seg_destroy(&f.h);
}

static void fin_wait_1_ack_of_data_only_stays(void **state)
{
    (void)state;
    struct fx f;
    est(&f, NULL);
    assert_int_equal(utcp_send(f.h.st, f.sk, "abc", 3), 3);
    expect_seg(&f.h, F_PSH | F_ACK, f.U, P0, 3, SEG_ANY);
    end_send(&f, true);
    expect_seg(&f.h, F_FIN | F_ACK, f.U + 3, P0, 0, SEG_ANY);
    seg_send(&f.h, F_ACK, P0, f.U + 3, 16384, NULL, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1");
    seg_send(&f.h, F_ACK, P0, f.U + 4, 16384, NULL, 0);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2");
    seg_destroy(&f.h);
}

static void fin_wait_1_fin_enters_closing(void **state)
{
    (void)state;
    struct fx f;
    to_closing(&f, false);
    assert_int_equal(last_cause(&f), UTCP_CAUSE_RCV_FIN);
    seg_destroy(&f.h);
}

static void fin_wait_1_fin_acking_our_fin_enters_time_wait(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_1(&f, false);
    seg_send(&f.h, F_ACK | F_FIN, P0, f.U + 1, 16384, NULL, 0);
    expect_seg(&f.h, F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>TIME_WAIT");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_RCV_FIN_ACK_OF_FIN);
    assert_int_equal(f.h.timer_sets[UTCP_TIMER_TIME_WAIT], 1);
    seg_destroy(&f.h);
}

static void fin_wait_1_data_still_received(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_1(&f, true);
    seg_send(&f.h, F_ACK | F_PSH, P0, f.U, 16384, "more", 4);
    seg_run(&f.h, 40 * MS);
    expect_seg(&f.h, F_ACK, f.U + 1, P0 + 4, 0, SEG_ANY);
    char b[8];
    assert_int_equal(utcp_recv(f.h.st, f.sk, b, sizeof b), 4);
    assert_memory_equal(b, "more", 4);
    assert_int_equal(seg_state(&f.h, f.sk), UTCP_FIN_WAIT_1);
    seg_destroy(&f.h);
}

static void fin_wait_1_data_after_close_sends_rst(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_1(&f, false);
    seg_send(&f.h, F_ACK | F_PSH, P0, f.U, 16384, "late", 4);
    /* RFC 9293 3.10.4 / RFC 1122 4.2.2.13: nobody can read it */
    expect_seg(&f.h, F_RST | F_ACK, f.U + 1, P0, 0, SEG_ANY);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_ABORT);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void fin_wait_1_rst_closes(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_1(&f, true);
    seg_send(&f.h, F_RST, P0, 0, 0, NULL, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_RCV_RST);
    char b[4];
    assert_int_equal(utcp_recv(f.h.st, f.sk, b, sizeof b), UTCP_ECONNRESET);
    seg_destroy(&f.h);
}

static void fin_wait_1_rst_in_window_sends_challenge_ack(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_1(&f, true);
    seg_send(&f.h, F_RST, P0 + 3, 0, 0, NULL, 0);
    expect_seg(&f.h, F_ACK, f.U + 1, P0, 0, SEG_ANY);
    expect_nothing(&f.h);
    assert_int_equal(seg_state(&f.h, f.sk), UTCP_FIN_WAIT_1);
    seg_destroy(&f.h);
}

static void fin_wait_1_abort_sends_rst(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_1(&f, true);
    assert_int_equal(utcp_abort(f.h.st, f.sk), 0);
    expect_seg(&f.h, F_RST | F_ACK, f.U + 1, P0, 0, SEG_ANY);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_ABORT);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void fin_wait_1_fin_unacked_retransmitted_then_closes(void **state)
{
    (void)state;
    struct fx f;
    struct utcp_config cfg = seg_default_cfg();
    cfg.data_retries = 2;
    est(&f, &cfg);
    end_send(&f, false);
    uint64_t t0 = f.h.now;
    expect_seg(&f.h, F_FIN | F_ACK, f.U, P0, 0, SEG_ANY);
    assert_int_equal(seg_run_to_next_timer(&f.h) - t0, 200 * MS);
    expect_seg(&f.h, F_FIN | F_ACK, f.U, P0, 0, SEG_ANY);
    assert_int_equal(seg_run_to_next_timer(&f.h) - t0, 600 * MS);
    expect_seg(&f.h, F_FIN | F_ACK, f.U, P0, 0, SEG_ANY);
    assert_int_equal(seg_run_to_next_timer(&f.h) - t0, 1400 * MS);
    expect_seg(&f.h, F_RST | F_ACK, f.U + 1, P0, 0, SEG_ANY);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_TIMEOUT_RETRANS);
    no_leak(&f);
    seg_destroy(&f.h);
}

/* ================= FIN-WAIT-2 ================= */

static void fin_wait_2_fin_enters_time_wait(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_2(&f, false);
    seg_send(&f.h, F_ACK | F_FIN, P0, f.U + 1, 16384, NULL, 0);
    expect_seg(&f.h, F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY); /* at once */
    expect_nothing(&f.h);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_RCV_FIN);
    seg_destroy(&f.h);
}

static void fin_wait_2_data_received(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_2(&f, true);
    seg_send(&f.h, F_ACK | F_PSH, P0, f.U + 1, 16384, "data", 4);
    seg_run(&f.h, 40 * MS);
    expect_seg(&f.h, F_ACK, f.U + 1, P0 + 4, 0, SEG_ANY);
    char b[8];
    assert_int_equal(utcp_recv(f.h.st, f.sk, b, sizeof b), 4);
    assert_int_equal(seg_state(&f.h, f.sk), UTCP_FIN_WAIT_2);
    seg_destroy(&f.h);
}

static void fin_wait_2_rst_closes(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_2(&f, false);
    seg_send(&f.h, F_RST, P0, 0, 0, NULL, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_RCV_RST);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void fin_wait_2_abort_sends_rst(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_2(&f, true);
    assert_int_equal(utcp_abort(f.h.st, f.sk), 0);
    expect_seg(&f.h, F_RST | F_ACK, f.U + 1, P0, 0, SEG_ANY);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_ABORT);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void fin_wait_2_orphan_times_out_silently(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_2(&f, false);
    uint64_t t0 = f.h.now;
    assert_int_equal(seg_run_to_next_timer(&f.h) - t0, 60 * SEC);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_TIMEOUT_FIN_WAIT2);
    no_leak(&f);
    /* the peer's late FIN finds nothing: RST */
    seg_send(&f.h, F_ACK | F_FIN, P0, f.U + 1, 16384, NULL, 0);
    expect_seg(&f.h, F_RST, f.U + 1, 0, 0, 0);
    seg_destroy(&f.h);
}

static void fin_wait_2_held_socket_waits_forever(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_2(&f, true);
    assert_int_equal(utcp_next_deadline(f.h.st), UINT64_MAX);
    seg_run(&f.h, 3600 * SEC);
    expect_nothing(&f.h);
    assert_int_equal(seg_state(&f.h, f.sk), UTCP_FIN_WAIT_2);
    /* closing the handle starts the (optional) timeout */
    assert_int_equal(utcp_close(f.h.st, f.sk), 0);
    uint64_t t0 = f.h.now;
    assert_int_equal(seg_run_to_next_timer(&f.h) - t0, 60 * SEC);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>CLOSED");
    seg_destroy(&f.h);
}

static void fin_wait_2_orphan_with_keepalive_still_times_out(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_2(&f, true);
    utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPIDLE, 10000);
    assert_int_equal(utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPALIVE, 1), 0);
    assert_int_equal(utcp_close(f.h.st, f.sk), 0);
    /* keep-alive probes are answered, yet the orphan goes after 60 s */
    uint64_t t0 = f.h.now;
    for (int i = 0; i < 30; i++) {
        seg_run(&f.h, 10 * SEC);
        const struct seg_cap *c;
        while ((c = seg_take(&f.h)) != NULL)
            seg_send(&f.h, F_ACK, P0, f.U + 1, 16384, NULL, 0);
    }
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_TIMEOUT_FIN_WAIT2);
    for (size_t i = 0; i < f.h.nstates; i++)
        if (f.h.states[i].new_state == UTCP_CLOSED && f.h.states[i].conn_id == f.id)
            assert_int_equal(f.h.states[i].at - t0, 60 * SEC);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void fin_wait_2_keepalive_unanswered_closes(void **state)
{
    (void)state;
    struct fx f;
    to_fin_wait_2(&f, true);
    utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPIDLE, 1000);
    utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPINTVL, 1000);
    utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPCNT, 1);
    assert_int_equal(utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPALIVE, 1), 0);
    seg_run_to_next_timer(&f.h);
    expect_seg(&f.h, F_ACK, f.U, P0, 0, SEG_ANY); /* SND.UNA - 1 */
    seg_run_to_next_timer(&f.h);
    expect_seg(&f.h, F_RST | F_ACK, f.U + 1, P0, 0, SEG_ANY);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_TIMEOUT_KEEPALIVE);
    seg_destroy(&f.h);
}

/* ================= CLOSE-WAIT ================= */

static void close_wait_close_sends_fin_enters_last_ack(void **state)
{
    (void)state;
    struct fx f;
    to_last_ack(&f, false);
    assert_int_equal(last_cause(&f), UTCP_CAUSE_CLOSE);
    seg_destroy(&f.h);
}

static void close_wait_send_still_works(void **state)
{
    (void)state;
    struct fx f;
    to_close_wait(&f);
    assert_int_equal(utcp_send(f.h.st, f.sk, "reply", 5), 5);
    expect_seg(&f.h, F_PSH | F_ACK, f.U, P0 + 1, 5, SEG_ANY);
    seg_send(&f.h, F_ACK, P0 + 1, f.U + 5, 16384, NULL, 0);
    expect_nothing(&f.h);
    assert_int_equal(seg_state(&f.h, f.sk), UTCP_CLOSE_WAIT);
    seg_destroy(&f.h);
}

static void close_wait_data_after_fin_ignored(void **state)
{
    (void)state;
    struct fx f;
    to_close_wait(&f);
    seg_send(&f.h, F_ACK, P0 + 1, f.U, 16384, "junk", 4);
    expect_nothing(&f.h);
    assert_int_equal(f.h.drops[UTCP_DROP_DATA_AFTER_FIN], 1);
    char b[8];
    assert_int_equal(utcp_recv(f.h.st, f.sk, b, sizeof b), 0);
    seg_destroy(&f.h);
}

static void close_wait_fin_retransmission_acked(void **state)
{
    (void)state;
    struct fx f;
    to_close_wait(&f);
    seg_send(&f.h, F_ACK | F_FIN, P0, f.U, 16384, NULL, 0);
    expect_seg(&f.h, F_ACK, f.U, P0 + 1, 0, SEG_ANY);
    expect_nothing(&f.h);
    seg_destroy(&f.h);
}

static void close_wait_rst_closes_econnreset(void **state)
{
    (void)state;
    struct fx f;
    to_close_wait(&f);
    seg_send(&f.h, F_RST, P0 + 1, 0, 0, NULL, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_RCV_RST);
    assert_int_equal(utcp_send(f.h.st, f.sk, "x", 1), UTCP_ECONNRESET);
    assert_int_equal(SEG_CTR(&f.h, EstabResets), 1);
    seg_destroy(&f.h);
}

static void close_wait_abort_sends_rst(void **state)
{
    (void)state;
    struct fx f;
    to_close_wait(&f);
    assert_int_equal(utcp_abort(f.h.st, f.sk), 0);
    expect_seg(&f.h, F_RST | F_ACK, f.U, P0 + 1, 0, SEG_ANY);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_ABORT);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void close_wait_unacked_data_times_out(void **state)
{
    (void)state;
    struct fx f;
    struct utcp_config cfg = seg_default_cfg();
    cfg.data_retries = 1;
    to_close_wait_cfg(&f, &cfg);
    assert_int_equal(utcp_send(f.h.st, f.sk, "r", 1), 1);
    expect_seg(&f.h, F_PSH | F_ACK, f.U, P0 + 1, 1, SEG_ANY);
    seg_run_to_next_timer(&f.h);
    expect_seg(&f.h, F_PSH | F_ACK, f.U, P0 + 1, 1, SEG_ANY);
    seg_run_to_next_timer(&f.h);
    expect_seg(&f.h, F_RST | F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_TIMEOUT_RETRANS);
    assert_int_equal(utcp_sock_error(f.h.st, f.sk), UTCP_ETIMEDOUT);
    seg_destroy(&f.h);
}

static void close_wait_keepalive_unanswered_closes(void **state)
{
    (void)state;
    struct fx f;
    to_close_wait(&f);
    utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPIDLE, 1000);
    utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPCNT, 1);
    assert_int_equal(utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPALIVE, 1), 0);
    seg_run_to_next_timer(&f.h);
    expect_seg(&f.h, F_ACK, f.U - 1, P0 + 1, 0, SEG_ANY);
    seg_run_to_next_timer(&f.h);
    expect_seg(&f.h, F_RST | F_ACK, f.U, P0 + 1, 0, SEG_ANY);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_TIMEOUT_KEEPALIVE);
    seg_destroy(&f.h);
}

/* ================= CLOSING ================= */

static void closing_ack_of_fin_enters_time_wait(void **state)
{
    (void)state;
    struct fx f;
    to_closing(&f, false);
    seg_send(&f.h, F_ACK, P0 + 1, f.U + 1, 16384, NULL, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_RCV_ACK_OF_FIN);
    seg_run(&f.h, 60 * SEC);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT>CLOSED");
    no_leak(&f);
    seg_destroy(&f.h);
}

static void closing_ack_not_of_fin_stays(void **state)
{
    (void)state;
    struct fx f;
    to_closing(&f, false);
    seg_send(&f.h, F_ACK, P0 + 1, f.U, 16384, NULL, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING");
    seg_destroy(&f.h);
}

static void closing_rst_closes(void **state)
{
    (void)state;
    struct fx f;
    to_closing(&f, false);
    seg_send(&f.h, F_RST, P0 + 1, 0, 0, NULL, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_RCV_RST);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void closing_abort_sends_rst(void **state)
{
    (void)state;
    struct fx f;
    to_closing(&f, true);
    assert_int_equal(utcp_abort(f.h.st, f.sk), 0);
    expect_seg(&f.h, F_RST | F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_ABORT);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void closing_fin_unacked_retransmitted_then_closes(void **state)
{
    (void)state;
    struct fx f;
    struct utcp_config cfg = seg_default_cfg();
    cfg.data_retries = 1;
    est(&f, &cfg);
    end_send(&f, false);
    expect_seg(&f.h, F_FIN | F_ACK, f.U, P0, 0, SEG_ANY);
    seg_send(&f.h, F_ACK | F_FIN, P0, f.U, 16384, NULL, 0);
    expect_seg(&f.h, F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    seg_run_to_next_timer(&f.h);
    expect_seg(&f.h, F_FIN | F_ACK, f.U, P0 + 1, 0, SEG_ANY);
    seg_run_to_next_timer(&f.h);
    expect_seg(&f.h, F_RST | F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_TIMEOUT_RETRANS);
    no_leak(&f);
    seg_destroy(&f.h);
}

/* ================= LAST-ACK ================= */

static void last_ack_ack_of_fin_closes(void **state)
{
    (void)state;
    struct fx f;
    to_last_ack(&f, false);
    seg_send(&f.h, F_ACK, P0 + 1, f.U + 1, 16384, NULL, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_RCV_ACK_OF_FIN);
    assert_int_equal(utcp_next_deadline(f.h.st), UINT64_MAX);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void last_ack_rst_closes(void **state)
{
    (void)state;
    struct fx f;
    to_last_ack(&f, false);
    seg_send(&f.h, F_RST, P0 + 1, 0, 0, NULL, 0);
    expect_nothing(&f.h);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_RCV_RST);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void last_ack_abort_sends_rst(void **state)
{
    (void)state;
    struct fx f;
    to_last_ack(&f, true);
    assert_int_equal(utcp_abort(f.h.st, f.sk), 0);
    expect_seg(&f.h, F_RST | F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_ABORT);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void last_ack_fin_retransmitted_with_backoff_then_closes(void **state)
{
    (void)state;
    struct fx f;
    struct utcp_config cfg = seg_default_cfg();
    cfg.data_retries = 3;
    to_close_wait_cfg(&f, &cfg);
    end_send(&f, false);
    uint64_t t0 = f.h.now;
    expect_seg(&f.h, F_FIN | F_ACK, f.U, P0 + 1, 0, SEG_ANY);
    static const uint64_t at[] = {200, 600, 1400};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(seg_run_to_next_timer(&f.h) - t0, at[i] * MS);
        expect_seg(&f.h, F_FIN | F_ACK, f.U, P0 + 1, 0, SEG_ANY);
        expect_nothing(&f.h);
    }
    assert_int_equal(seg_run_to_next_timer(&f.h) - t0, 3000 * MS);
    expect_seg(&f.h, F_RST | F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_TIMEOUT_RETRANS);
    no_leak(&f);
    seg_destroy(&f.h);
}

static void last_ack_keepalive_silent_while_fin_outstanding(void **state)
{
    (void)state;
    struct fx f;
    struct utcp_config cfg = seg_default_cfg();
    cfg.data_retries = 4;
    to_close_wait_cfg(&f, &cfg);
    utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPIDLE, 100);
    utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPINTVL, 100);
    utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPCNT, 1);
    assert_int_equal(utcp_setopt(f.h.st, f.sk, UTCP_OPT_KEEPALIVE, 1), 0);
    end_send(&f, true);
    /* only FIN retransmissions (never a keep-alive probe), and the end
     * comes from the retransmission limit */
    seg_run(&f.h, 60 * SEC);
    const struct seg_cap *c;
    int fins = 0;
    while ((c = seg_take(&f.h)) != NULL) {
        if (c->flags & F_RST)
            break;
        assert_int_equal(c->flags, F_FIN | F_ACK);
        assert_int_equal(c->seq, f.U);
        fins++;
    }
    assert_int_equal(fins, 5);
    expect_states(&f.h, f.id,
                  "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    assert_int_equal(last_cause(&f), UTCP_CAUSE_TIMEOUT_RETRANS);
    assert_int_equal(SEG_CTR(&f.h, KeepaliveProbes), 0);
    seg_destroy(&f.h);
}

static void last_ack_peer_fin_again_acked(void **state)
{
    (void)state;
    struct fx f;
    to_last_ack(&f, false);
    seg_send(&f.h, F_ACK | F_FIN, P0, f.U, 16384, NULL, 0);
    expect_seg(&f.h, F_ACK, f.U + 1, P0 + 1, 0, SEG_ANY);
    expect_nothing(&f.h);
    assert_int_equal(seg_state(&f.h, f.sk), -1); /* handle released */
    expect_states(&f.h, f.id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT>LAST_ACK");
    seg_destroy(&f.h);
}

/* ================= any state: the stack goes away ================= */

static void any_state_stack_destroy_closes_silently(void **state)
{
    (void)state;
    /* one connection per state, each driven there for real */
    static const int want[] = {UTCP_SYN_SENT, UTCP_ESTABLISHED,
                               UTCP_FIN_WAIT_1, UTCP_FIN_WAIT_2,
                               UTCP_CLOSE_WAIT, UTCP_CLOSING, UTCP_LAST_ACK};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct fx f;
        switch (want[i]) {
        case UTCP_SYN_SENT:
            seg_init(&f.h, NULL);
            assert_int_equal(utcp_socket(f.h.st, &f.sk), 0);
            utcp_connect(f.h.st, f.sk, SEG_PEER, 40000);
            f.id = seg_conn_id(&f.h, f.sk);
            break;
        case UTCP_ESTABLISHED: est(&f, NULL); break;
        case UTCP_FIN_WAIT_1: to_fin_wait_1(&f, true); break;
        case UTCP_FIN_WAIT_2: to_fin_wait_2(&f, true); break;
        case UTCP_CLOSE_WAIT: to_close_wait(&f); break;
        case UTCP_CLOSING: to_closing(&f, true); break;
        default: to_last_ack(&f, true); break;
        }
        assert_int_equal(seg_state(&f.h, f.sk), want[i]);
        size_t ncap = f.h.ncap;
        struct seg_h *h = &f.h;
        utcp_stack_destroy(h->st);
        h->st = NULL;
        assert_int_equal(h->ncap, ncap); /* nothing sent */
        const struct seg_state_ev *e = &h->states[h->nstates - 1];
        assert_int_equal(e->conn_id, f.id);
        assert_int_equal(e->old_state, want[i]);
        assert_int_equal(e->new_state, UTCP_CLOSED);
        assert_int_equal(e->cause, UTCP_CAUSE_STACK_DESTROY);
        assert_int_equal(h->bad_transitions, 0);
        seg_destroy(h);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fin_wait_1_ack_of_fin_enters_fin_wait_2),
        cmocka_unit_test(fin_wait_1_ack_of_data_only_stays),
        cmocka_unit_test(fin_wait_1_fin_enters_closing),
        cmocka_unit_test(fin_wait_1_fin_acking_our_fin_enters_time_wait),
        cmocka_unit_test(fin_wait_1_data_still_received),
        cmocka_unit_test(fin_wait_1_data_after_close_sends_rst),
        cmocka_unit_test(fin_wait_1_rst_closes),
        cmocka_unit_test(fin_wait_1_rst_in_window_sends_challenge_ack),
        cmocka_unit_test(fin_wait_1_abort_sends_rst),
        cmocka_unit_test(fin_wait_1_fin_unacked_retransmitted_then_closes),
        cmocka_unit_test(fin_wait_2_fin_enters_time_wait),
        cmocka_unit_test(fin_wait_2_data_received),
        cmocka_unit_test(fin_wait_2_rst_closes),
        cmocka_unit_test(fin_wait_2_abort_sends_rst),
        cmocka_unit_test(fin_wait_2_orphan_times_out_silently),
        cmocka_unit_test(fin_wait_2_held_socket_waits_forever),
        cmocka_unit_test(fin_wait_2_orphan_with_keepalive_still_times_out),
        cmocka_unit_test(fin_wait_2_keepalive_unanswered_closes),
        cmocka_unit_test(close_wait_close_sends_fin_enters_last_ack),
        cmocka_unit_test(close_wait_send_still_works),
        cmocka_unit_test(close_wait_data_after_fin_ignored),
        cmocka_unit_test(close_wait_fin_retransmission_acked),
        cmocka_unit_test(close_wait_rst_closes_econnreset),
        cmocka_unit_test(close_wait_abort_sends_rst),
        cmocka_unit_test(close_wait_unacked_data_times_out),
        cmocka_unit_test(close_wait_keepalive_unanswered_closes),
        cmocka_unit_test(closing_ack_of_fin_enters_time_wait),
        cmocka_unit_test(closing_ack_not_of_fin_stays),
        cmocka_unit_test(closing_rst_closes),
        cmocka_unit_test(closing_abort_sends_rst),
        cmocka_unit_test(closing_fin_unacked_retransmitted_then_closes),
        cmocka_unit_test(last_ack_ack_of_fin_closes),
        cmocka_unit_test(last_ack_rst_closes),
        cmocka_unit_test(last_ack_abort_sends_rst),
        cmocka_unit_test(last_ack_fin_retransmitted_with_backoff_then_closes),
        cmocka_unit_test(last_ack_keepalive_silent_while_fin_outstanding),
        cmocka_unit_test(last_ack_peer_fin_again_acked),
        cmocka_unit_test(any_state_stack_destroy_closes_silently),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
