/*
 * ESTABLISHED (RFC 9293 3.10.7.4, RFC 5961, RFC 6298, RFC 1122 4.2.3) at
 * the segment level: acceptability, RST/SYN/ACK checks, window updates,
 * sequence wrap, retransmission, delayed ACK, Nagle, persist, keep-alive.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "seg.h"

#define MS SEG_MS
#define SEC SEG_SEC
#define PISS 50000u
#define P0 (PISS + 1) /* the peer's first data byte */

static uint8_t buf[70000];

/* ESTABLISHED by an active open, RTT 30 ms (RTO then 200 ms, the floor). */
static utcp_sock est(struct seg_h *h)
{
    return seg_open_active(h, PISS, 30 * MS);
}

static void fillbuf(void)
{
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 9));
}

/* ---- receiving data, delayed ACK (RFC 1122 4.2.3.2) ---- */

static void established_data_in_order_acked_after_delack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    seg_send(&h, F_ACK | F_PSH, P0, U, 16384, "0123456789", 10);
    expect_nothing(&h);
    seg_run(&h, 39 * MS);
    expect_nothing(&h);
    seg_run(&h, 1 * MS);
    expect_seg(&h, F_ACK, U, P0 + 10, 0, 8192 - 10);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, DelayedAcks), 1);
    char b[16];
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), 10);
    assert_memory_equal(b, "0123456789", 10);
    seg_destroy(&h);
}

static void established_second_full_segment_acked_at_once(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    est(&h);
    uint32_t U = h.iss + 1;
    seg_send(&h, F_ACK, P0, U, 16384, buf, 1460);
    expect_nothing(&h);
    seg_run(&h, 5 * MS);
    seg_send(&h, F_ACK, P0 + 1460, U, 16384, buf, 1460);
    expect_seg(&h, F_ACK, U, P0 + 2920, 0, SEG_ANY);
    expect_nothing(&h);
    seg_run(&h, 100 * MS);
    expect_nothing(&h); /* the delayed-ACK timer was cancelled */
    seg_destroy(&h);
}

/* ---- input batches (utcp_input_batch_begin/end): one ACK per burst ---- */

static utcp_sock est_big(struct seg_h *h)
{
    struct utcp_config cfg = seg_default_cfg();
    cfg.rcvbuf = 65536;
    seg_init(h, &cfg);
    return seg_open_active(h, PISS, 30 * MS);
}

static void established_batch_acks_burst_once_at_end(void **state)
{
    (void)state;
    struct seg_h h;
    est_big(&h);
    uint32_t U = h.iss + 1;
    utcp_input_batch_begin(h.st);
    for (uint32_t i = 0; i < 6; i++)
        seg_send(&h, F_ACK, P0 + i * 1460, U, 16384, buf, 1460);
    expect_nothing(&h); /* without the batch: an ACK every second one */
    utcp_input_batch_end(h.st);
    expect_seg(&h, F_ACK, U, P0 + 6 * 1460, 0, SEG_ANY);
    expect_nothing(&h);
    seg_run(&h, 100 * MS);
    expect_nothing(&h); /* the backstop delayed-ACK timer was cancelled */
    seg_destroy(&h);
}

static void established_batch_acks_at_least_every_16_segments(void **state)
{
    (void)state;
    struct seg_h h;
    est_big(&h);
    uint32_t U = h.iss + 1;
    utcp_input_batch_begin(h.st);
    for (uint32_t i = 0; i < UTCP_ACK_BATCH_SEGS + 2; i++) {
        seg_send(&h, F_ACK, P0 + i * 1460, U, 16384, buf, 1460);
        if (i + 1 == UTCP_ACK_BATCH_SEGS)
            expect_seg(&h, F_ACK, U, P0 + UTCP_ACK_BATCH_SEGS * 1460, 0,
                       SEG_ANY);
        expect_nothing(&h);
    }
    utcp_input_batch_end(h.st);
    expect_seg(&h, F_ACK, U, P0 + (UTCP_ACK_BATCH_SEGS + 2) * 1460, 0,
               SEG_ANY);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_batch_out_of_order_acked_at_once(void **state)
{
    (void)state;
    struct seg_h h;
    est_big(&h);
    uint32_t U = h.iss + 1;
    utcp_input_batch_begin(h.st);
    seg_send(&h, F_ACK, P0, U, 16384, buf, 1460);
    seg_send(&h, F_ACK, P0 + 1460, U, 16384, buf, 1460);
    expect_nothing(&h);
    /* RFC 5681 4.2: a segment out of order is ACKed at once, batch or
     * not; the ACK covers the held ones too. */
    seg_send(&h, F_ACK, P0 + 3 * 1460, U, 16384, buf, 1460);
    expect_seg(&h, F_ACK, U, P0 + 2 * 1460, 0, SEG_ANY);
    /* the hole filled: at once again */
    seg_send(&h, F_ACK, P0 + 2 * 1460, U, 16384, buf, 1460);
    expect_seg(&h, F_ACK, U, P0 + 4 * 1460, 0, SEG_ANY);
    utcp_input_batch_end(h.st);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_batch_reset_and_freed_while_ack_held(void **state)
{
    (void)state;
    struct seg_h h;
    utcp_sock sk = est_big(&h);
    uint32_t U = h.iss + 1;
    utcp_input_batch_begin(h.st);
    seg_send(&h, F_ACK, P0, U, 16384, buf, 1460);
    seg_send(&h, F_ACK, P0 + 1460, U, 16384, buf, 1460);
    seg_send(&h, F_RST, P0 + 2 * 1460, 0, 0, NULL, 0);
    expect_nothing(&h);
    utcp_input_batch_end(h.st); /* no ACK for a connection reset */
    expect_nothing(&h);
    /* again, the connection freed inside the batch this time */
    seg_destroy(&h);
    sk = est_big(&h);
    U = h.iss + 1;
    utcp_input_batch_begin(h.st);
    seg_send(&h, F_ACK, P0, U, 16384, buf, 1460);
    seg_send(&h, F_ACK, P0 + 1460, U, 16384, buf, 1460);
    seg_send(&h, F_RST, P0 + 2 * 1460, 0, 0, NULL, 0);
    assert_int_equal(utcp_close(h.st, sk), 0);
    assert_int_equal(SEG_CTR(&h, ConnsAlloc), SEG_CTR(&h, ConnsFree));
    utcp_input_batch_end(h.st);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_out_of_order_sends_dup_ack_then_ack_on_fill(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    fillbuf();
    seg_send(&h, F_ACK, P0 + 100, U, 16384, buf + 100, 100);
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY); /* RFC 5681 4.2: at once */
    seg_send(&h, F_ACK, P0 + 300, U, 16384, buf + 300, 100);
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY);
    seg_send(&h, F_ACK, P0, U, 16384, buf, 100);
    expect_seg(&h, F_ACK, U, P0 + 200, 0, SEG_ANY); /* fills a hole */
    seg_send(&h, F_ACK, P0 + 200, U, 16384, buf + 200, 100);
    expect_seg(&h, F_ACK, U, P0 + 400, 0, SEG_ANY);
    expect_nothing(&h);
    uint8_t got[500];
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), 400);
    assert_memory_equal(got, buf, 400);
    assert_int_equal(SEG_CTR(&h, OooSegs), 2);
    seg_destroy(&h);
}

/* ---- acceptability: RFC 9293 3.10.7.4, the four cases ---- */

/* Fills the 8192-byte receive window; returns RCV.NXT. */
static uint32_t fill_rcv_window(struct seg_h *h, uint32_t U)
{
    uint32_t seq = P0;
    uint32_t left = 8192;
    while (left) {
        uint32_t n = left > 1460 ? 1460 : left;
        seg_send(h, F_ACK, seq, U, 16384, buf, n);
        seq += n;
        left -= n;
    }
    seg_run(h, 50 * MS);
    const struct seg_cap *c;
    while ((c = seg_take(h)) != NULL)
        ;
    return seq;
}

static void established_zero_window_empty_segment_at_rcv_nxt_accepted(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    uint32_t R = fill_rcv_window(&h, U);
    assert_int_equal(seg_info(&h, sk).rcv_wnd, 0);
    /* SEG.LEN 0, RCV.WND 0: acceptable iff SEG.SEQ = RCV.NXT; its window
     * is taken */
    seg_send(&h, F_ACK, R, U, 1000, NULL, 0);
    expect_nothing(&h);
    assert_int_equal(seg_info(&h, sk).snd_wnd, 1000);
    /* anything else is not: <SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK> */
    seg_send(&h, F_ACK, R + 1, U, 2000, NULL, 0);
    expect_seg(&h, F_ACK, U, R, 0, 0);
    assert_int_equal(seg_info(&h, sk).snd_wnd, 1000);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_zero_window_data_sends_ack_not_queued(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    uint32_t R = fill_rcv_window(&h, U);
    /* SEG.LEN > 0, RCV.WND 0: not acceptable; send an ACK (a zero-window
     * probe must be answered, RFC 9293 3.8.6.1), but still take its ACK
     * field and window ("special allowance") */
    seg_send(&h, F_ACK, R, U, 3000, "z", 1);
    expect_seg(&h, F_ACK, U, R, 0, 0);
    expect_nothing(&h);
    assert_int_equal(seg_info(&h, sk).snd_wnd, 3000);
    assert_int_equal(seg_info(&h, sk).recv_queue, 8192);
    /* reading opens the window: a window update goes out */
    uint8_t got[8192];
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), 8192);
    expect_seg(&h, F_ACK, U, R, 0, 8192);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_empty_segment_window_edges(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    est(&h);
    uint32_t U = h.iss + 1;
    /* SEG.LEN 0, RCV.WND 8192: RCV.NXT =< SEG.SEQ < RCV.NXT+RCV.WND */
    seg_send(&h, F_ACK, P0, U, 16384, NULL, 0);
    seg_send(&h, F_ACK, P0 + 8191, U, 16384, NULL, 0);
    expect_nothing(&h);
    seg_send(&h, F_ACK, P0 + 8192, U, 16384, NULL, 0);
    expect_seg(&h, F_ACK, U, P0, 0, 8192);
    seg_send(&h, F_ACK, P0 - 1, U, 16384, NULL, 0);
    expect_seg(&h, F_ACK, U, P0, 0, 8192);
    expect_nothing(&h);
    assert_int_equal(h.drops[UTCP_DROP_OUT_OF_WINDOW], 2);
    seg_destroy(&h);
}

static void established_data_overlapping_left_edge_trimmed(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    fillbuf();
    seg_send(&h, F_ACK, P0, U, 16384, buf, 10);
    /* 5 old bytes, 5 new: the last byte is in the window, accept the new */
    seg_send(&h, F_ACK, P0 + 5, U, 16384, buf + 5, 10);
    seg_run(&h, 40 * MS);
    expect_seg(&h, F_ACK, U, P0 + 15, 0, SEG_ANY);
    uint8_t got[32];
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), 15);
    assert_memory_equal(got, buf, 15);
    seg_destroy(&h);
}

static void established_data_entirely_old_sends_ack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    seg_send(&h, F_ACK, P0, U, 16384, "abcdef", 6);
    seg_run(&h, 40 * MS);
    expect_seg(&h, F_ACK, U, P0 + 6, 0, SEG_ANY);
    seg_send(&h, F_ACK, P0, U, 16384, "abcdef", 6); /* duplicate */
    expect_seg(&h, F_ACK, U, P0 + 6, 0, SEG_ANY);
    expect_nothing(&h);
    char b[16];
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), 6);
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), UTCP_EAGAIN);
    seg_destroy(&h);
}

static void established_data_beyond_window_trimmed_and_acked(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    fillbuf();
    /* one 9000-byte segment (the peer ignored our MSS) with FIN: only the
     * 8192 bytes in the window are kept, the FIN beyond it is not */
    seg_send(&h, F_ACK | F_FIN, P0, U, 16384, buf, 9000);
    expect_seg(&h, F_ACK, U, P0 + 8192, 0, 0);
    expect_nothing(&h);
    assert_int_equal(seg_state(&h, sk), UTCP_ESTABLISHED);
    /* a segment starting at the right edge is not acceptable */
    seg_send(&h, F_ACK, P0 + 8192, U, 16384, buf, 10);
    expect_seg(&h, F_ACK, U, P0 + 8192, 0, 0);
    uint8_t got[9000];
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), 8192);
    assert_memory_equal(got, buf, 8192);
    seg_destroy(&h);
}

/* ---- RST: RFC 5961 3.2 ---- */

static void established_rst_exact_closes_econnreset(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t id = seg_conn_id(&h, sk);
    seg_send(&h, F_RST, P0, 0, 0, NULL, 0);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSED");
    assert_int_equal(utcp_recv(h.st, sk, buf, 10), UTCP_ECONNRESET);
    assert_int_equal(utcp_send(h.st, sk, buf, 10), UTCP_ECONNRESET);
    assert_int_equal(SEG_CTR(&h, EstabResets), 1);
    assert_int_equal(SEG_CTR(&h, CurrEstab), 0);
    seg_destroy(&h);
}

static void established_rst_in_window_sends_challenge_ack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    seg_send(&h, F_RST, P0 + 1, 0, 0, NULL, 0);
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY);
    seg_send(&h, F_RST | F_ACK, P0 + 8191, U, 0, NULL, 0);
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(seg_state(&h, sk), UTCP_ESTABLISHED);
    assert_int_equal(SEG_CTR(&h, ChallengeAcks), 2);
    assert_int_equal(h.drops[UTCP_DROP_RST_CHALLENGE], 2);
    seg_destroy(&h);
}

static void established_rst_out_of_window_ignored(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    seg_send(&h, F_RST, P0 + 8192, 0, 0, NULL, 0);
    seg_send(&h, F_RST, P0 - 1, 0, 0, NULL, 0);
    seg_send(&h, F_RST, P0 + 0x40000000u, 0, 0, NULL, 0);
    expect_nothing(&h);
    assert_int_equal(seg_state(&h, sk), UTCP_ESTABLISHED);
    assert_int_equal(h.drops[UTCP_DROP_RST_OUT_OF_WINDOW], 3);
    seg_destroy(&h);
}

static void established_challenge_acks_rate_limited(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    /* RFC 5961 7: at most 1000 challenge ACKs per second per stack */
    for (int i = 0; i < 1005; i++)
        seg_send(&h, F_RST, P0 + 1, 0, 0, NULL, 0);
    int acks = 0;
    while (seg_take(&h))
        acks++;
    assert_int_equal(acks, 1000);
    assert_int_equal(h.drops[UTCP_DROP_CHALLENGE_LIMIT], 5);
    seg_run(&h, 1 * SEC);
    seg_send(&h, F_RST, P0 + 1, 0, 0, NULL, 0);
    expect_seg(&h, F_ACK, h.iss + 1, P0, 0, SEG_ANY);
    assert_int_equal(seg_state(&h, sk), UTCP_ESTABLISHED);
    seg_destroy(&h);
}

/* ---- SYN: RFC 5961 4.2 ---- */

static void established_syn_sends_challenge_ack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    seg_send(&h, F_SYN, P0 + 100, 0, 16384, NULL, 0); /* in window */
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY);
    seg_send(&h, F_SYN, PISS, 0, 16384, NULL, 0); /* the old SYN */
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(seg_state(&h, sk), UTCP_ESTABLISHED);
    assert_true(SEG_CTR(&h, ChallengeAcks) >= 1);
    seg_destroy(&h);
}

/* ---- ACK: RFC 5961 5.2 ---- */

static void established_ack_too_old_dropped_with_ack(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    /* MAX.SND.WND is 16384: SND.UNA - 16385 is too old */
    seg_send(&h, F_ACK, P0, U - 16385, 16384, "evil", 4);
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(h.drops[UTCP_DROP_ACK_TOO_OLD], 1);
    assert_int_equal(utcp_recv(h.st, sk, buf, 10), UTCP_EAGAIN);
    /* an old ACK inside the range is fine: the data is taken */
    seg_send(&h, F_ACK, P0, U - 16384, 16384, "good", 4);
    seg_run(&h, 40 * MS);
    expect_seg(&h, F_ACK, U, P0 + 4, 0, SEG_ANY);
    assert_int_equal(utcp_recv(h.st, sk, buf, 10), 4);
    seg_destroy(&h);
}

static void established_ack_of_unsent_data_sends_ack_drops(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    seg_send(&h, F_ACK, P0, U + 1, 16384, "evil", 4);
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(h.drops[UTCP_DROP_ACK_UNSENT], 1);
    assert_int_equal(utcp_recv(h.st, sk, buf, 10), UTCP_EAGAIN);
    assert_int_equal(seg_info(&h, sk).snd_una, U);
    seg_destroy(&h);
}

static void established_ack_without_ack_bit_dropped(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    seg_send(&h, F_PSH, P0, 0, 16384, "nope", 4);
    expect_nothing(&h);
    assert_int_equal(h.drops[UTCP_DROP_NO_ACK], 1);
    assert_int_equal(utcp_recv(h.st, sk, buf, 10), UTCP_EAGAIN);
    seg_destroy(&h);
}

/* ---- send window update: WL1/WL2 (RFC 9293 3.10.7.4 fifth) ---- */

static void established_window_update_follows_wl1_wl2(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    fillbuf();
    /* reordered: the later segment (SEG.SEQ > WL1) updates ... */
    seg_send(&h, F_ACK, P0 + 100, U, 3000, buf + 100, 100);
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY);
    assert_int_equal(seg_info(&h, sk).snd_wnd, 3000);
    /* ... the earlier one (SEG.SEQ < WL1) does not */
    seg_send(&h, F_ACK, P0, U, 9000, buf, 100);
    expect_seg(&h, F_ACK, U, P0 + 200, 0, SEG_ANY);
    assert_int_equal(seg_info(&h, sk).snd_wnd, 3000);
    /* WL2: same SEG.SEQ, higher SEG.ACK updates, lower does not */
    assert_int_equal(utcp_send(h.st, sk, buf, 200), 200);
    expect_seg(&h, F_PSH | F_ACK, U, P0 + 200, 200, SEG_ANY);
    seg_send(&h, F_ACK, P0 + 200, U + 200, 4000, NULL, 0);
    assert_int_equal(seg_info(&h, sk).snd_wnd, 4000);
    seg_send(&h, F_ACK, P0 + 200, U + 100, 7000, NULL, 0);
    assert_int_equal(seg_info(&h, sk).snd_wnd, 4000);
    seg_send(&h, F_ACK, P0 + 200, U + 200, 5000, NULL, 0); /* SEG.ACK = WL2 */
    assert_int_equal(seg_info(&h, sk).snd_wnd, 5000);
    expect_nothing(&h);
    seg_destroy(&h);
}

/* ---- sequence numbers across 2^32 ---- */

static void established_peer_sequence_wraps_data_intact(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = seg_open_active(&h, 0xFFFFF000u, 30 * MS);
    uint32_t U = h.iss + 1;
    fillbuf();
    uint32_t seq = 0xFFFFF001u;
    uint8_t got[20000];
    size_t rcvd = 0;
    for (uint32_t off = 0; off < 20000; off += 1000) {
        seg_send(&h, F_ACK, seq, U, 16384, buf + off, 1000);
        seq += 1000;
        long r = utcp_recv(h.st, sk, got + rcvd, sizeof got - rcvd);
        if (r > 0)
            rcvd += (size_t)r;
    }
    seg_run(&h, 40 * MS);
    long r = utcp_recv(h.st, sk, got + rcvd, sizeof got - rcvd);
    if (r > 0)
        rcvd += (size_t)r;
    assert_int_equal(rcvd, 20000);
    assert_memory_equal(got, buf, 20000);
    assert_int_equal(seg_info(&h, sk).rcv_nxt, 0xFFFFF001u + 20000u);
    const struct seg_cap *c, *last = NULL;
    while ((c = seg_take(&h)) != NULL)
        last = c;
    assert_non_null(last);
    assert_int_equal(last->ack, (uint32_t)(0xFFFFF001u + 20000u));
    /* the wrapped peer's FIN */
    seg_send(&h, F_ACK | F_FIN, seq, U, 16384, NULL, 0);
    assert_int_equal(seg_state(&h, sk), UTCP_CLOSE_WAIT);
    seg_destroy(&h);
}

static void established_own_sequence_wraps_data_intact(void **state)
{
    (void)state;
    /* RFC 6528: ISS = M + F(4-tuple, key). Learn F with a first stack at
     * t = 0, then start an identical stack at the instant that puts the
     * ISS just below 2^32. */
    struct seg_h h;
    seg_init(&h, NULL);
    est(&h);
    uint32_t f = h.iss;
    seg_destroy(&h);
    seg_init(&h, NULL);
    uint64_t t = 4ull * (uint32_t)(0xFFFFF000u - f);
    seg_run(&h, t);
    utcp_sock sk = est(&h);
    assert_int_equal(h.iss, 0xFFFFF000u);
    fillbuf();
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, buf, 12000), 12000);
    uint8_t got[12000];
    size_t rcvd = 0;
    int guard = 0;
    while (rcvd < 12000) {
        const struct seg_cap *c;
        uint32_t ack = U + (uint32_t)rcvd;
        while ((c = seg_take(&h)) != NULL) {
            if (c->len && c->seq == U + (uint32_t)rcvd) {
                memcpy(got + rcvd, c->data, c->len);
                rcvd += c->len;
                ack = U + (uint32_t)rcvd;
            }
        }
        seg_send(&h, F_ACK, P0, ack, 16384, NULL, 0);
        seg_run(&h, 10 * MS);
        assert_true(++guard < 1000);
    }
    assert_memory_equal(got, buf, 12000);
    struct utcp_info i = seg_info(&h, sk);
    assert_int_equal(i.snd_una, (uint32_t)(U + 12000u));
    assert_int_equal(i.snd_una, i.snd_nxt);
    assert_true(i.snd_una < 0x10000u); /* wrapped */
    seg_destroy(&h);
}

/* ---- retransmission: RFC 6298 ---- */

static void established_unacked_data_retransmitted_with_backoff_then_reset(void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_config cfg = seg_default_cfg();
    cfg.data_retries = 3;
    seg_init(&h, &cfg);
    utcp_sock sk = est(&h);
    uint32_t id = seg_conn_id(&h, sk);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, "payload", 7), 7);
    uint64_t t0 = h.now;
    expect_seg(&h, F_PSH | F_ACK, U, P0, 7, SEG_ANY);
    /* RTO 200 ms (RFC 6298 (2.4) floor here), doubled each time (5.5) */
    static const uint64_t at[] = {200, 600, 1400};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(seg_run_to_next_timer(&h) - t0, at[i] * MS);
        expect_seg(&h, F_PSH | F_ACK, U, P0, 7, SEG_ANY);
        expect_nothing(&h);
    }
    assert_int_equal(seg_run_to_next_timer(&h) - t0, 3000 * MS);
    expect_seg(&h, F_RST | F_ACK, U + 7, P0, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_TIMEOUT_RETRANS);
    assert_int_equal(utcp_sock_error(h.st, sk), UTCP_ETIMEDOUT);
    assert_int_equal(SEG_CTR(&h, Timeouts), 4);
    seg_destroy(&h);
}

static void established_user_timeout_gives_up_at_first_expiry_after_it(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t id = seg_conn_id(&h, sk);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_USER_TIMEOUT, 1000), 0);
    assert_int_equal(utcp_send(h.st, sk, "u", 1), 1);
    uint64_t t0 = h.now;
    expect_seg(&h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    /* RTO expiries at 0.2, 0.6 s retransmit; at 1.4 s the data has been
     * unacknowledged for more than the user timeout: give up */
    assert_int_equal(seg_run_to_next_timer(&h) - t0, 200 * MS);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    assert_int_equal(seg_run_to_next_timer(&h) - t0, 600 * MS);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    assert_int_equal(seg_run_to_next_timer(&h) - t0, 1400 * MS);
    expect_seg(&h, F_RST | F_ACK, U + 1, P0, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSED");
    assert_int_equal(utcp_sock_error(h.st, sk), UTCP_ETIMEDOUT);
    seg_destroy(&h);
}

static void established_ack_after_backoff_restarts_timer_from_rto(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, "a", 1), 1);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 1, SEG_ANY);
    seg_run(&h, 30 * MS);
    seg_send(&h, F_ACK, P0, U + 1, 16384, NULL, 0);
    /* Karn: no RTT sample from the retransmitted segment */
    assert_int_equal(seg_info(&h, sk).srtt_us, 30000);
    assert_int_equal(seg_info(&h, sk).backoff, 0);
    assert_int_equal(utcp_send(h.st, sk, "b", 1), 1);
    uint64_t t1 = h.now;
    expect_seg(&h, F_PSH | F_ACK, U + 1, P0, 1, SEG_ANY);
    assert_int_equal(seg_run_to_next_timer(&h) - t1, 200 * MS);
    expect_seg(&h, F_PSH | F_ACK, U + 1, P0, 1, SEG_ANY);
    seg_destroy(&h);
}

static void established_three_dup_acks_fast_retransmit(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    fillbuf();
    assert_int_equal(utcp_send(h.st, sk, buf, 4 * 1460), 4 * 1460);
    /* initial window: RFC 5681 3.1 IW (at least 2, here up to 4 SMSS) */
    const struct seg_cap *c;
    int sent = 0;
    while ((c = seg_take(&h)) != NULL)
        sent++;
    assert_true(sent >= 2);
    for (int i = 0; i < 3; i++)
        seg_send(&h, F_ACK, P0, U, 16384, NULL, 0);
    expect_seg(&h, F_ACK, U, P0, 1460, SEG_ANY);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 1);
    seg_destroy(&h);
}

/* RFC 6582 3.2 (2): after a recovery ended by a full ACK, a loss of the
 * very next data is again repaired by fast retransmit (the ACK covers
 * "recover"), not left to the retransmission timer. */
static void established_loss_right_after_recovery_fast_retransmit(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    fillbuf();
    assert_int_equal(utcp_send(h.st, sk, buf, 4 * 1460), 4 * 1460);
    while (seg_take(&h) != NULL)
        ;
    for (int i = 0; i < 3; i++)
        seg_send(&h, F_ACK, P0, U, 16384, NULL, 0);
    expect_seg(&h, F_ACK, U, P0, 1460, SEG_ANY);
    /* the full ACK ends the recovery */
    uint32_t end = U + 4 * 1460;
    seg_send(&h, F_ACK, P0, end, 16384, NULL, 0);
    while (seg_take(&h) != NULL)
        ;
    assert_int_equal(utcp_send(h.st, sk, buf, 2 * 1460), 2 * 1460);
    expect_seg(&h, F_ACK, end, P0, 1460, SEG_ANY);
    while (seg_take(&h) != NULL)
        ;
    /* the first of the new segments is lost: three duplicates of `end` */
    for (int i = 0; i < 3; i++)
        seg_send(&h, F_ACK, P0, end, 16384, NULL, 0);
    expect_seg(&h, F_ACK, end, P0, 1460, SEG_ANY);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 2);
    assert_int_equal(SEG_CTR(&h, Timeouts), 0);
    seg_destroy(&h);
}

/* ---- Nagle (RFC 896, RFC 1122 4.2.3.4) ---- */

static void established_small_write_held_while_unacked_nagle(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, "aa", 2), 2);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 2, SEG_ANY); /* nothing in flight */
    assert_int_equal(utcp_send(h.st, sk, "bb", 2), 2);
    assert_int_equal(utcp_send(h.st, sk, "cc", 2), 2);
    expect_nothing(&h);                                /* held */
    seg_send(&h, F_ACK, P0, U + 2, 16384, NULL, 0);
    expect_seg(&h, F_PSH | F_ACK, U + 2, P0, 4, SEG_ANY); /* coalesced */
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_small_write_sent_at_once_with_nodelay(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_NODELAY, 1), 0);
    assert_int_equal(utcp_send(h.st, sk, "aa", 2), 2);
    assert_int_equal(utcp_send(h.st, sk, "bb", 2), 2);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 2, SEG_ANY);
    expect_seg(&h, F_PSH | F_ACK, U + 2, P0, 2, SEG_ANY);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_full_segment_not_held_by_nagle(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, "aa", 2), 2);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 2, SEG_ANY);
    assert_int_equal(utcp_send(h.st, sk, buf, 1460 + 10), 1470);
    expect_seg(&h, F_ACK, U + 2, P0, 1460, SEG_ANY);
    expect_nothing(&h); /* the 10-byte tail waits */
    seg_destroy(&h);
}

/* ---- zero window: persist (RFC 9293 3.8.6.1, RFC 1122 4.2.2.17) ---- */

static void established_zero_window_probes_with_backoff(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    fillbuf();
    assert_int_equal(utcp_send(h.st, sk, buf, 1000), 1000);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 1000, SEG_ANY);
    /* the peer takes it and closes its window */
    seg_send(&h, F_ACK, P0, U + 1000, 0, NULL, 0);
    assert_int_equal(utcp_send(h.st, sk, buf + 1000, 500), 500);
    expect_nothing(&h);
    uint64_t t0 = h.now;
    uint64_t gap = 200 * MS, when = 0;
    for (int i = 0; i < 5; i++) {
        when += gap;
        assert_int_equal(seg_run_to_next_timer(&h) - t0, when);
        const struct seg_cap *p = expect_seg(&h, F_ACK, U + 1000, P0, 1, SEG_ANY);
        assert_int_equal(p->data[0], buf[1000]);
        expect_nothing(&h);
        /* the probe is answered: the window is still zero */
        seg_send(&h, F_ACK, P0, U + 1000, 0, NULL, 0);
        expect_nothing(&h);
        gap *= 2;
    }
    assert_int_equal(seg_state(&h, sk), UTCP_ESTABLISHED);
    assert_int_equal(SEG_CTR(&h, ZeroWindowProbes), 5);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 0);
    /* the window opens: the rest flows */
    seg_send(&h, F_ACK, P0, U + 1000, 8000, NULL, 0);
    expect_seg(&h, F_PSH | F_ACK, U + 1000, P0, 500, SEG_ANY);
    expect_nothing(&h);
    seg_destroy(&h);
}

/* After a zero-window probe went beyond the closed window, our pure ACKs
 * carry SND.UNA + SND.WND (= SND.UNA), not the probe's end: a zero-window
 * receiver accepts only SEG.SEQ = RCV.NXT and would drop them unread
 * (RFC 9293 3.10.7.4; as Linux's tcp_acceptable_seq). */
static void established_ack_after_probe_stays_inside_closed_window(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    fillbuf();
    assert_int_equal(utcp_send(h.st, sk, buf, 1000), 1000);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 1000, SEG_ANY);
    seg_send(&h, F_ACK, P0, U + 1000, 0, NULL, 0);
    assert_int_equal(utcp_send(h.st, sk, buf + 1000, 500), 500);
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_ACK, U + 1000, P0, 1, SEG_ANY); /* the probe */
    /* the peer drops the probe byte and sends data of its own */
    seg_send(&h, F_ACK | F_PSH, P0, U + 1000, 0, "x", 1);
    seg_run(&h, 100 * MS);
    expect_seg(&h, F_ACK, U + 1000, P0 + 1, 0, SEG_ANY);
    seg_destroy(&h);
}

static void established_zero_window_probes_unanswered_gives_up(void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_config cfg = seg_default_cfg();
    cfg.data_retries = 3;
    seg_init(&h, &cfg);
    utcp_sock sk = est(&h);
    uint32_t id = seg_conn_id(&h, sk);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, "abc", 3), 3);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 3, SEG_ANY);
    seg_send(&h, F_ACK, P0, U + 3, 0, NULL, 0);
    assert_int_equal(utcp_send(h.st, sk, "defg", 4), 4);
    expect_nothing(&h);
    /* three probes nobody answers, then the connection is dropped */
    for (int i = 0; i < 3; i++) {
        seg_run_to_next_timer(&h);
        expect_seg(&h, F_ACK, U + 3, P0, 1, SEG_ANY);
    }
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_RST | F_ACK, SEG_ANY, P0, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_TIMEOUT_RETRANS);
    assert_int_equal(utcp_sock_error(h.st, sk), UTCP_ETIMEDOUT);
    seg_destroy(&h);
}

static void established_window_shrunk_to_zero_probes_not_times_out(void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_config cfg = seg_default_cfg();
    cfg.data_retries = 3;
    seg_init(&h, &cfg);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    fillbuf();
    assert_int_equal(utcp_send(h.st, sk, buf, 2920), 2920);
    expect_seg(&h, F_ACK, U, P0, 1460, SEG_ANY);
    expect_seg(&h, F_PSH | F_ACK, U + 1460, P0, 1460, SEG_ANY);
    /* the peer shrinks its window to zero with the second segment in
     * flight (RFC 9293 3.8.6.2.1: discouraged, but the sender must cope) */
    seg_send(&h, F_ACK, P0, U + 1460, 0, NULL, 0);
    /* the timeout finds a zero window: nothing can go, the sender turns to
     * the persist timer (as BSD does) ... */
    seg_run_to_next_timer(&h);
    expect_nothing(&h);
    assert_int_equal(seg_info(&h, sk).timer, UTCP_TIMER_PERSIST);
    /* ... probes, and goes on probing as long as the peer answers (no
     * give-up after data_retries) */
    for (int i = 0; i < 8; i++) {
        seg_run_to_next_timer(&h);
        const struct seg_cap *c = seg_take(&h);
        assert_non_null(c);
        assert_int_equal(c->seq, U + 1460);
        assert_true(c->len <= 1);
        expect_nothing(&h);
        seg_send(&h, F_ACK, P0, U + 1460, 0, NULL, 0);
    }
    assert_int_equal(seg_state(&h, sk), UTCP_ESTABLISHED);
    seg_send(&h, F_ACK, P0, U + 1460, 8192, NULL, 0);
    const struct seg_cap *c = seg_take(&h);
    assert_non_null(c);
    assert_int_equal(c->seq, U + 1460);
    seg_destroy(&h);
}

static void established_small_window_override_timeout_sends(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    fillbuf();
    assert_int_equal(utcp_send(h.st, sk, buf, 2920), 2920);
    expect_seg(&h, F_ACK, U, P0, 1460, SEG_ANY);
    expect_seg(&h, F_PSH | F_ACK, U + 1460, P0, 1460, SEG_ANY);
    /* everything acknowledged, but the window is now 300 bytes (less
     * than an MSS and than half the largest window seen) */
    seg_send(&h, F_ACK, P0, U + 2920, 300, NULL, 0);
    assert_int_equal(utcp_send(h.st, sk, buf, 1000), 1000);
    expect_nothing(&h); /* sender SWS avoidance */
    /* the window update that would follow is lost: the override timeout
     * (RFC 1122 4.2.3.4) sends what the window allows */
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_ACK, U + 2920, P0, 300, SEG_ANY);
    expect_nothing(&h);
    seg_destroy(&h);
}

/* ---- keep-alive (RFC 1122 4.2.3.6) ---- */

static void established_idle_keepalive_probe_answered(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_KEEPIDLE, 1000), 0);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_KEEPINTVL, 500), 0);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_KEEPCNT, 2), 0);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_KEEPALIVE, 1), 0);
    uint64_t t0 = h.now;
    assert_int_equal(seg_run_to_next_timer(&h) - t0, 1000 * MS);
    /* <SEQ=SND.NXT-1>, no data */
    expect_seg(&h, F_ACK, U - 1, P0, 0, SEG_ANY);
    expect_nothing(&h);
    seg_send(&h, F_ACK, P0, U, 16384, NULL, 0);
    /* the next probe waits for a full idle time again */
    uint64_t t1 = h.now;
    seg_run(&h, 999 * MS);
    expect_nothing(&h);
    seg_run(&h, 1 * MS);
    expect_seg(&h, F_ACK, U - 1, P0, 0, SEG_ANY);
    assert_true(h.now - t1 == 1000 * MS);
    assert_int_equal(SEG_CTR(&h, KeepaliveProbes), 2);
    assert_int_equal(seg_state(&h, sk), UTCP_ESTABLISHED);
    seg_destroy(&h);
}

static void established_keepalive_unanswered_closes_etimedout(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t id = seg_conn_id(&h, sk);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_KEEPIDLE, 1000), 0);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_KEEPINTVL, 500), 0);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_KEEPCNT, 2), 0);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_KEEPALIVE, 1), 0);
    uint64_t t0 = h.now;
    assert_int_equal(seg_run_to_next_timer(&h) - t0, 1000 * MS);
    expect_seg(&h, F_ACK, U - 1, P0, 0, SEG_ANY);
    assert_int_equal(seg_run_to_next_timer(&h) - t0, 1500 * MS);
    expect_seg(&h, F_ACK, U - 1, P0, 0, SEG_ANY);
    assert_int_equal(seg_run_to_next_timer(&h) - t0, 2000 * MS);
    expect_seg(&h, F_RST | F_ACK, U, P0, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_TIMEOUT_KEEPALIVE);
    assert_int_equal(utcp_sock_error(h.st, sk), UTCP_ETIMEDOUT);
    seg_destroy(&h);
}

/* ---- user calls ---- */

static void established_fin_enters_close_wait_ack_delayed(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t id = seg_conn_id(&h, sk);
    uint32_t U = h.iss + 1;
    seg_send(&h, F_ACK | F_FIN | F_PSH, P0, U, 16384, "bye", 3);
    expect_states(&h, id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT");
    expect_nothing(&h);
    seg_run(&h, 40 * MS);
    expect_seg(&h, F_ACK, U, P0 + 4, 0, SEG_ANY);
    char b[8];
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), 3);
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), 0);
    assert_true(utcp_poll(h.st, sk) & UTCP_EV_HUP);
    seg_destroy(&h);
}

static void established_out_of_order_fin_waits_for_data(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t id = seg_conn_id(&h, sk);
    uint32_t U = h.iss + 1;
    seg_send(&h, F_ACK | F_FIN, P0 + 5, U, 16384, "world", 5);
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY);
    expect_states(&h, id, "CLOSED>SYN_SENT>ESTABLISHED");
    seg_send(&h, F_ACK, P0, U, 16384, "hello", 5);
    expect_seg(&h, F_ACK, U, P0 + 11, 0, SEG_ANY);
    expect_states(&h, id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSE_WAIT");
    char b[16];
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), 10);
    assert_memory_equal(b, "helloworld", 10);
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), 0);
    seg_destroy(&h);
}

static void established_close_sends_fin_enters_fin_wait_1(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t id = seg_conn_id(&h, sk);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, "last", 4), 4);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 4, SEG_ANY);
    assert_int_equal(utcp_close(h.st, sk), 0);
    expect_seg(&h, F_FIN | F_ACK, U + 4, P0, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1");
    seg_destroy(&h);
}

static void established_close_with_unread_data_sends_rst(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t id = seg_conn_id(&h, sk);
    uint32_t U = h.iss + 1;
    seg_send(&h, F_ACK, P0, U, 16384, "unread", 6);
    assert_int_equal(utcp_close(h.st, sk), 0);
    /* RFC 1122 4.2.2.13 */
    expect_seg(&h, F_RST | F_ACK, U, P0 + 6, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_ABORT);
    assert_int_equal(SEG_CTR(&h, ConnsAlloc), SEG_CTR(&h, ConnsFree));
    seg_destroy(&h);
}

static void established_abort_sends_rst(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est(&h);
    uint32_t id = seg_conn_id(&h, sk);
    uint32_t U = h.iss + 1;
    assert_int_equal(utcp_send(h.st, sk, "xyz", 3), 3);
    expect_seg(&h, F_PSH | F_ACK, U, P0, 3, SEG_ANY);
    assert_int_equal(utcp_abort(h.st, sk), 0);
    expect_seg(&h, F_RST | F_ACK, U + 3, P0, 0, SEG_ANY);
    expect_nothing(&h);
    expect_states(&h, id, "CLOSED>SYN_SENT>ESTABLISHED>CLOSED");
    assert_int_equal(h.states[h.nstates - 1].cause, UTCP_CAUSE_ABORT);
    seg_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_data_in_order_acked_after_delack),
        cmocka_unit_test(established_second_full_segment_acked_at_once),
        cmocka_unit_test(established_batch_acks_burst_once_at_end),
        cmocka_unit_test(established_batch_acks_at_least_every_16_segments),
        cmocka_unit_test(established_batch_out_of_order_acked_at_once),
        cmocka_unit_test(established_batch_reset_and_freed_while_ack_held),
        cmocka_unit_test(established_out_of_order_sends_dup_ack_then_ack_on_fill),
        cmocka_unit_test(established_zero_window_empty_segment_at_rcv_nxt_accepted),
        cmocka_unit_test(established_zero_window_data_sends_ack_not_queued),
        cmocka_unit_test(established_empty_segment_window_edges),
        cmocka_unit_test(established_data_overlapping_left_edge_trimmed),
        cmocka_unit_test(established_data_entirely_old_sends_ack),
        cmocka_unit_test(established_data_beyond_window_trimmed_and_acked),
        cmocka_unit_test(established_rst_exact_closes_econnreset),
        cmocka_unit_test(established_rst_in_window_sends_challenge_ack),
        cmocka_unit_test(established_rst_out_of_window_ignored),
        cmocka_unit_test(established_challenge_acks_rate_limited),
        cmocka_unit_test(established_syn_sends_challenge_ack),
        cmocka_unit_test(established_ack_too_old_dropped_with_ack),
        cmocka_unit_test(established_ack_of_unsent_data_sends_ack_drops),
        cmocka_unit_test(established_ack_without_ack_bit_dropped),
        cmocka_unit_test(established_window_update_follows_wl1_wl2),
        cmocka_unit_test(established_peer_sequence_wraps_data_intact),
        cmocka_unit_test(established_own_sequence_wraps_data_intact),
        cmocka_unit_test(established_unacked_data_retransmitted_with_backoff_then_reset),
        cmocka_unit_test(established_user_timeout_gives_up_at_first_expiry_after_it),
        cmocka_unit_test(established_ack_after_backoff_restarts_timer_from_rto),
        cmocka_unit_test(established_three_dup_acks_fast_retransmit),
        cmocka_unit_test(established_loss_right_after_recovery_fast_retransmit),
        cmocka_unit_test(established_small_write_held_while_unacked_nagle),
        cmocka_unit_test(established_small_write_sent_at_once_with_nodelay),
        cmocka_unit_test(established_full_segment_not_held_by_nagle),
        cmocka_unit_test(established_zero_window_probes_with_backoff),
        cmocka_unit_test(established_ack_after_probe_stays_inside_closed_window),
        cmocka_unit_test(established_zero_window_probes_unanswered_gives_up),
        cmocka_unit_test(established_window_shrunk_to_zero_probes_not_times_out),
        cmocka_unit_test(established_small_window_override_timeout_sends),
        cmocka_unit_test(established_idle_keepalive_probe_answered),
        cmocka_unit_test(established_keepalive_unanswered_closes_etimedout),
        cmocka_unit_test(established_fin_enters_close_wait_ack_delayed),
        cmocka_unit_test(established_out_of_order_fin_waits_for_data),
        cmocka_unit_test(established_close_sends_fin_enters_fin_wait_1),
        cmocka_unit_test(established_close_with_unread_data_sends_rst),
        cmocka_unit_test(established_abort_sends_rst),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
