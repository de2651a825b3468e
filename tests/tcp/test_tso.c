/*
 * TCP segmentation offload (utcp_config.tso_max, output_ex): new data
 * leaves in segments of several MSS, whole multiples of it unless the short
 * tail would have left at once anyway (NODELAY, FIN); the SWS rule of RFC
 * 1122 4.2.3.4 and Nagle (RFC 896) keep their meaning; retransmissions
 * stay within one MSS; the metadata names the segment size. On input a
 * segment longer than our MSS (a GSO frame handed up whole) is taken and
 * ACKed at once when it stands for two or more full-sized segments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "seg.h"

#define PISS 7000u
#define MS SEG_MS
#define MSS 1460u /* the harness's SYN+ACK offers 1460, no timestamps */
#define HDRS 40u  /* IPv4 + TCP, no options */

static struct utcp_config tso_cfg(void)
{
    struct utcp_config c = seg_default_cfg();
    c.offload = UTCP_OFFLOAD_TX_CSUM;
    c.tso_max = 65535u - 80u;
    c.sndbuf = 1u << 18;
    return c;
}

static utcp_sock open_tso(struct seg_h *h, const struct utcp_config *cfg,
                          uint16_t pwin)
{
    seg_init(h, cfg);
    h->pwin = pwin;
    return seg_open_active(h, PISS, 30 * MS);
}

static void fill(uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(i * 7 + 3);
}

static void expect_meta(const struct seg_cap *c, uint16_t gso, bool partial)
{
    assert_int_equal(c->meta.gso_size, gso);
    assert_int_equal(c->meta.csum_partial, partial);
    assert_int_equal(c->meta.hdr_len, HDRS);
}

static void established_tso_new_data_leaves_in_whole_mss_multiples(void **state)
{
    (void)state;
    struct utcp_config cfg = tso_cfg();
    struct seg_h h;
    utcp_sock sk = open_tso(&h, &cfg, 65535);
    static uint8_t msg[20000];
    fill(msg, sizeof msg);
    assert_int_equal(utcp_send(h.st, sk, msg, sizeof msg), sizeof msg);
    /* the initial window (RFC 6928: 10 MSS) in one TSO segment */
    const struct seg_cap *d =
        expect_seg(&h, F_ACK, h.iss + 1, PISS + 1, 10 * MSS, SEG_ANY);
    expect_meta(d, MSS, true);
    assert_memory_equal(d->data, msg, 10 * MSS);
    assert_int_equal(d->raw_len, HDRS + 10 * MSS);
    expect_nothing(&h); /* cwnd-limited */
    /* One ACK of all of it: slow start adds one MSS (RFC 5681 3.1). The
     * remaining 5400 bytes are 3 MSS and a 1020-byte tail: the full ones
     * leave as one TSO segment, Nagle holds the tail behind them. */
    seg_send(&h, F_ACK, PISS + 1, h.iss + 1 + 10 * MSS, 65535, NULL, 0);
    d = expect_seg(&h, F_ACK, h.iss + 1 + 10 * MSS, PISS + 1, 3 * MSS,
                   SEG_ANY);
    expect_meta(d, MSS, true);
    assert_memory_equal(d->data, msg + 10 * MSS, 3 * MSS);
    expect_nothing(&h);
    /* acknowledged: the tail goes, an ordinary segment */
    seg_send(&h, F_ACK, PISS + 1, h.iss + 1 + 13 * MSS, 65535, NULL, 0);
    d = expect_seg(&h, F_ACK | F_PSH, h.iss + 1 + 13 * MSS, PISS + 1, 1020,
                   SEG_ANY);
    expect_meta(d, 0, true);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_tso_window_limited_tail_obeys_sws(void **state)
{
    (void)state;
    struct utcp_config cfg = tso_cfg();
    struct seg_h h;
    utcp_sock sk = open_tso(&h, &cfg, 5000);
    static uint8_t msg[8000];
    fill(msg, sizeof msg);
    assert_int_equal(utcp_send(h.st, sk, msg, sizeof msg), sizeof msg);
    /* 5000 bytes of window: 3 MSS in one segment; the 620 left are less
     * than one MSS and less than half the largest window (RFC 1122
     * 4.2.3.4): held */
    const struct seg_cap *d =
        expect_seg(&h, F_ACK, h.iss + 1, PISS + 1, 3 * MSS, SEG_ANY);
    expect_meta(d, MSS, true);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_tso_nodelay_keeps_the_tail(void **state)
{
    (void)state;
    struct utcp_config cfg = tso_cfg();
    struct seg_h h;
    utcp_sock sk = open_tso(&h, &cfg, 65535);
    assert_int_equal(utcp_setopt(h.st, sk, UTCP_OPT_NODELAY, 1), 0);
    static uint8_t msg[5000];
    fill(msg, sizeof msg);
    /* NODELAY: without TSO all four pieces would leave at once */
    assert_int_equal(utcp_send(h.st, sk, msg, sizeof msg), sizeof msg);
    const struct seg_cap *d =
        expect_seg(&h, F_ACK | F_PSH, h.iss + 1, PISS + 1, 5000, SEG_ANY);
    expect_meta(d, MSS, true);
    assert_memory_equal(d->data, msg, 5000);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_tso_data_then_fin_in_one_segment(void **state)
{
    (void)state;
    struct utcp_config cfg = tso_cfg();
    struct seg_h h;
    utcp_sock sk = open_tso(&h, &cfg, 65535);
    /* queue while the window is closed, then open it: data and FIN are
     * both pending at the first output */
    static uint8_t msg[5000];
    fill(msg, sizeof msg);
    seg_send(&h, F_ACK, PISS + 1, h.iss + 1, 0, NULL, 0);
    assert_int_equal(utcp_send(h.st, sk, msg, sizeof msg), sizeof msg);
    assert_int_equal(utcp_shutdown(h.st, sk, UTCP_SHUT_WR), 0);
    expect_nothing(&h);
    seg_send(&h, F_ACK, PISS + 1, h.iss + 1, 65535, NULL, 0);
    const struct seg_cap *d = expect_seg(&h, F_ACK | F_PSH | F_FIN, h.iss + 1,
                                         PISS + 1, 5000, SEG_ANY);
    expect_meta(d, MSS, true);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_tso_retransmission_is_one_mss(void **state)
{
    (void)state;
    struct utcp_config cfg = tso_cfg();
    struct seg_h h;
    utcp_sock sk = open_tso(&h, &cfg, 65535);
    static uint8_t msg[6 * MSS];
    fill(msg, sizeof msg);
    assert_int_equal(utcp_send(h.st, sk, msg, sizeof msg), sizeof msg);
    const struct seg_cap *d =
        expect_seg(&h, F_ACK | F_PSH, h.iss + 1, PISS + 1, 6 * MSS, SEG_ANY);
    expect_meta(d, MSS, true);
    /* no ACK: the RTO resends one MSS from snd_una, no TSO */
    seg_run_to_next_timer(&h);
    d = expect_seg(&h, F_ACK, h.iss + 1, PISS + 1, MSS, SEG_ANY);
    expect_meta(d, 0, true);
    assert_memory_equal(d->data, msg, MSS);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, RetransSegs), 1);
    seg_destroy(&h);
}

static void established_without_tso_segments_stay_within_mss(void **state)
{
    (void)state;
    struct utcp_config cfg = tso_cfg();
    cfg.tso_max = 0;
    struct seg_h h;
    utcp_sock sk = open_tso(&h, &cfg, 65535);
    static uint8_t msg[3 * MSS];
    fill(msg, sizeof msg);
    assert_int_equal(utcp_send(h.st, sk, msg, sizeof msg), sizeof msg);
    for (uint32_t i = 0; i < 3; i++) {
        const struct seg_cap *d =
            expect_seg(&h, i == 2 ? F_ACK | F_PSH : F_ACK,
                       h.iss + 1 + i * MSS, PISS + 1, MSS, SEG_ANY);
        expect_meta(d, 0, true);
    }
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_tso_max_below_two_mss_sends_one_mss(void **state)
{
    (void)state;
    struct utcp_config cfg = tso_cfg();
    cfg.tso_max = 2 * MSS - 1; /* rounds down to one MSS: no TSO */
    struct seg_h h;
    utcp_sock sk = open_tso(&h, &cfg, 65535);
    static uint8_t msg[2 * MSS];
    fill(msg, sizeof msg);
    assert_int_equal(utcp_send(h.st, sk, msg, sizeof msg), sizeof msg);
    expect_meta(expect_seg(&h, F_ACK, h.iss + 1, PISS + 1, MSS, SEG_ANY), 0,
                true);
    expect_meta(expect_seg(&h, F_ACK | F_PSH, h.iss + 1 + MSS, PISS + 1, MSS,
                           SEG_ANY),
                0, true);
    seg_destroy(&h);
}

static void established_segment_longer_than_mss_taken_and_acked_at_once(
    void **state)
{
    (void)state;
    struct utcp_config cfg = tso_cfg();
    cfg.rcvbuf = 65535;
    struct seg_h h;
    utcp_sock sk = open_tso(&h, &cfg, 65535);
    static uint8_t big[6000]; /* a GSO frame of 4+ segments, handed up whole */
    fill(big, sizeof big);
    seg_send(&h, F_ACK | F_PSH, PISS + 1, h.iss + 1, 65535, big, sizeof big);
    /* two or more full-sized segments' worth: ACKed now (RFC 1122
     * 4.2.3.2), no delayed-ACK timer */
    expect_seg(&h, F_ACK, h.iss + 1, PISS + 1 + 6000, 0, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, InErrs), 0);
    static uint8_t got[6000];
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), 6000);
    assert_memory_equal(got, big, sizeof big);
    /* reading it opened the window by 6000: a window update */
    expect_seg(&h, F_ACK, h.iss + 1, PISS + 1 + 6000, 0, SEG_ANY);
    /* a frame of one and a half full segments counts as one: the delayed
     * ACK waits for more, or for its timer */
    seg_send(&h, F_ACK | F_PSH, PISS + 1 + 6000, h.iss + 1, 65535, big, 2000);
    expect_nothing(&h);
    seg_run(&h, 40 * MS);
    expect_seg(&h, F_ACK, h.iss + 1, PISS + 1 + 8000, 0, SEG_ANY);
    seg_destroy(&h);
}

static void closed_config_tso_needs_output_ex_and_tx_csum(void **state)
{
    (void)state;
    struct seg_h h;
    struct utcp_config c = tso_cfg();
    /* through the harness (output_ex set): accepted */
    seg_init(&h, &c);
    seg_destroy(&h);
    struct utcp_stack *st = NULL;
    c.addr = SEG_US;
    c.output_ex = NULL;
    c.output = NULL;
    assert_int_equal(utcp_stack_create(&c, &st), UTCP_EINVAL); /* no output */
    /* an old-style output only: it cannot learn gso_size */
    c = tso_cfg();
    c.addr = SEG_US;
    c.output = (utcp_output_fn)(uintptr_t)1;
    assert_int_equal(utcp_stack_create(&c, &st), UTCP_EINVAL);
    assert_null(st);
    /* without TX checksum offload */
    c = tso_cfg();
    c.offload = 0;
    c.addr = SEG_US;
    c.output_ex = (utcp_output_ex_fn)(uintptr_t)1;
    assert_int_equal(utcp_stack_create(&c, &st), UTCP_EINVAL);
    /* larger than an IPv4 packet allows */
    c = tso_cfg();
    c.addr = SEG_US;
    c.output_ex = (utcp_output_ex_fn)(uintptr_t)1;
    c.tso_max = 65535u - 79u;
    assert_int_equal(utcp_stack_create(&c, &st), UTCP_EINVAL);
    assert_null(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_tso_new_data_leaves_in_whole_mss_multiples),
        cmocka_unit_test(established_tso_window_limited_tail_obeys_sws),
        cmocka_unit_test(established_tso_nodelay_keeps_the_tail),
        cmocka_unit_test(established_tso_data_then_fin_in_one_segment),
        cmocka_unit_test(established_tso_retransmission_is_one_mss),
        cmocka_unit_test(established_without_tso_segments_stay_within_mss),
        cmocka_unit_test(established_tso_max_below_two_mss_sends_one_mss),
        cmocka_unit_test(
            established_segment_longer_than_mss_taken_and_acked_at_once),
        cmocka_unit_test(closed_config_tso_needs_output_ex_and_tx_csum),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
