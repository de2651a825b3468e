/*
 * SACK at the segment level (one stack, a scripted peer): the blocks the
 * receiver sends (RFC 2018 4) and the sender's scoreboard and loss recovery
 * (RFC 6675: IsLost, SetPipe, NextSeg, entering and leaving recovery, the
 * timeout of 5.1), the fall back to NewReno (RFC 6582) without SACK; then
 * two stacks over a wire that loses chosen segments.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "seg.h"
#include "tnet.h"

#define MS SEG_MS
#define SEC SEG_SEC
#define PISS 50000u
#define P0 (PISS + 1) /* the peer's first data byte */
#define PTS 7000u
#define SMSS 1460u

static uint8_t buf[65536];

static void fillbuf(void)
{
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)(i * 7 + (i >> 9));
}

/* ESTABLISHED by an active open, RTT 30 ms, the peer permitting SACK (and
 * sending TSopt when ts). */
static utcp_sock est_sack(struct seg_h *h, bool sack, bool ts)
{
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    if (sack)
        o.present |= UTCP_OPT_SACK_PERM;
    if (ts) {
        o.present |= UTCP_OPT_TS;
        o.ts_val = PTS;
    }
    return seg_open_active_opts(h, PISS, 30 * MS, &o);
}

/* ---- receiver: RFC 2018 4 ---- */

/* Sends len bytes at P0 + off from the peer (no options). */
static void peer_data(struct seg_h *h, uint32_t off, uint32_t len)
{
    seg_send(h, F_ACK, P0 + off, h->iss + 1, 16384, buf + off, len);
}

/* Checks the SACK blocks of c, relative to P0: pairs of offsets. */
static void expect_blocks(const struct seg_cap *c, unsigned n,
                          const uint32_t *lr)
{
    assert_non_null(c);
    if (n == 0) {
        assert_false(c->opts.present & UTCP_OPT_SACK);
        return;
    }
    assert_true(c->opts.present & UTCP_OPT_SACK);
    assert_int_equal(c->opts.sack_count, n);
    for (unsigned i = 0; i < n; i++) {
        assert_int_equal(c->opts.sack[i].left - P0, lr[2 * i]);
        assert_int_equal(c->opts.sack[i].right - P0, lr[2 * i + 1]);
    }
}

static void established_out_of_order_ack_carries_sack_block(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    est_sack(&h, true, false);
    uint32_t U = h.iss + 1;
    fillbuf();
    peer_data(&h, 100, 100);
    const uint32_t b1[] = {100, 200};
    expect_blocks(expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY), 1, b1);
    /* an adjacent segment merges into the same block */
    peer_data(&h, 200, 100);
    const uint32_t b2[] = {100, 300};
    expect_blocks(expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY), 1, b2);
    /* filling the hole: nothing out of order remains, no block */
    peer_data(&h, 0, 100);
    expect_blocks(expect_seg(&h, F_ACK, U, P0 + 300, 0, SEG_ANY), 0, NULL);
    seg_destroy(&h);
}

static void established_newest_block_first_at_most_four(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    est_sack(&h, true, false);
    uint32_t U = h.iss + 1;
    fillbuf();
    peer_data(&h, 100, 100);
    seg_take(&h);
    peer_data(&h, 500, 100);
    seg_take(&h);
    peer_data(&h, 300, 100);
    const uint32_t b3[] = {300, 400, 500, 600, 100, 200};
    expect_blocks(expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY), 3, b3);
    peer_data(&h, 700, 100);
    const uint32_t b4[] = {700, 800, 300, 400, 500, 600, 100, 200};
    expect_blocks(expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY), 4, b4);
    /* five ranges: the oldest reported one drops out (40 option bytes) */
    peer_data(&h, 900, 100);
    const uint32_t b5[] = {900, 1000, 700, 800, 300, 400, 500, 600};
    expect_blocks(expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY), 4, b5);
    /* a segment landing in an old range brings it first again */
    peer_data(&h, 150, 100);
    const uint32_t b6[] = {100, 250, 900, 1000, 700, 800, 300, 400};
    expect_blocks(expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY), 4, b6);
    seg_destroy(&h);
}

static void established_with_ts_at_most_three_blocks(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    est_sack(&h, true, true);
    uint32_t U = h.iss + 1;
    fillbuf();
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_TS;
    o.ts_val = PTS + 1;
    for (uint32_t off = 100; off <= 700; off += 200) {
        seg_send_opts(&h, F_ACK, P0 + off, U, 16384, &o, buf + off, 100);
        seg_take(&h);
    }
    seg_send_opts(&h, F_ACK, P0 + 900, U, 16384, &o, buf + 900, 100);
    const struct seg_cap *c = expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY);
    const uint32_t b[] = {900, 1000, 700, 800, 500, 600};
    expect_blocks(c, 3, b);
    assert_true(c->opts.present & UTCP_OPT_TS);
    assert_int_equal(c->raw_len, 20 + 20 + 40);
    seg_destroy(&h);
}

static void established_data_segment_carries_blocks_that_fit(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_sack(&h, true, false);
    uint32_t U = h.iss + 1;
    fillbuf();
    peer_data(&h, 100, 100);
    seg_take(&h);
    /* a small data segment has room for the block */
    assert_int_equal(utcp_send(h.st, sk, buf, 100), 100);
    const uint32_t b[] = {100, 200};
    expect_blocks(expect_seg(&h, F_PSH | F_ACK, U, P0, 100, SEG_ANY), 1, b);
    seg_send(&h, F_ACK, P0, U + 100, 16384, NULL, 0);
    /* a full-sized one has none: payload and options stay within MSS */
    assert_int_equal(utcp_send(h.st, sk, buf, SMSS), (long)SMSS);
    const struct seg_cap *c =
        expect_seg(&h, F_PSH | F_ACK, U + 100, P0, SMSS, SEG_ANY);
    expect_blocks(c, 0, NULL);
    assert_int_equal(c->raw_len, 1500);
    seg_destroy(&h);
}

static void established_not_permitted_sends_no_blocks(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    est_sack(&h, false, false);
    fillbuf();
    peer_data(&h, 100, 100);
    const struct seg_cap *c = expect_seg(&h, F_ACK, h.iss + 1, P0, 0, SEG_ANY);
    assert_int_equal(c->opts.present, 0);
    seg_destroy(&h);
}

/* ---- sender: RFC 6675 ---- */

/* Segment k of our data. */
static uint32_t S(const struct seg_h *h, uint32_t k)
{
    return seg_our_seq(h, k, SMSS);
}

/* An ACK from the peer with SACK blocks given as segment indexes [l, r). */
static void sack_ack(struct seg_h *h, uint32_t ack_k, unsigned n,
                     const uint32_t *lr)
{
    seg_send_sack(h, P0, S(h, ack_k), n, lr, SMSS);
}

/* ESTABLISHED with SACK, the peer's window 65535, `segs` full segments
 * queued; the initial window (10 segments) goes out at once. */
static utcp_sock sender(struct seg_h *h, uint32_t segs)
{
    h->pwin = 65535;
    utcp_sock sk = est_sack(h, true, false);
    fillbuf();
    assert_int_equal(utcp_send(h->st, sk, buf, segs * SMSS),
                     (long)(segs * SMSS));
    for (uint32_t k = 0; k < 10; k++)
        expect_seg(h, k == 9 && segs == 10 ? F_PSH | F_ACK : F_ACK, S(h, k), P0,
                   SMSS, SEG_ANY);
    expect_nothing(h);
    return sk;
}

static void established_third_sack_dupack_enters_recovery(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = sender(&h, 14);
    /* the ACKs come a round trip later: they time the records they SACK,
     * and an RTT of 0 would leave RACK no reordering window */
    seg_run(&h, 30 * MS);
    /* segment 0 lost: SACKs of 1, 1-2 (not yet lost: 2 SMSS above); (3)
     * limited transmit sends new data while cwnd - pipe >= SMSS */
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 2});
    expect_seg(&h, F_ACK, S(&h, 10), P0, SMSS, SEG_ANY);
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 3});
    expect_seg(&h, F_ACK, S(&h, 11), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, SackRecoveries), 0);
    /* (1)/(2): the third, and more than 2 SMSS SACKed above 0 */
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 4});
    expect_seg(&h, F_ACK, S(&h, 0), P0, SMSS, SEG_ANY);
    expect_nothing(&h); /* pipe (9 SMSS) > cwnd (5 SMSS) */
    assert_int_equal(SEG_CTR(&h, SackRecoveries), 1);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 1);
    struct utcp_info i = seg_info(&h, sk);
    /* (4.2) FlightSize / 2, without the 2 segments of limited transmit
     * (RFC 5681 3.2 (2)) */
    assert_int_equal(i.ssthresh, 10 * SMSS / 2);
    assert_int_equal(i.cwnd, 10 * SMSS / 2);
    /* each further SACK takes a segment out of the pipe */
    for (uint32_t r = 5; r <= 8; r++)
        sack_ack(&h, 0, 1, (const uint32_t[]){1, r});
    expect_nothing(&h);
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 9});
    /* NextSeg (1): nothing lost above HighRxt; (2) new data */
    expect_seg(&h, F_ACK, S(&h, 12), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    /* the retransmission arrives: an ACK of RecoveryPoint ends recovery
     * (A); cwnd stays at the ssthresh set on entry (RFC 6675 5 (4.2)) */
    sack_ack(&h, 12, 0, NULL);
    i = seg_info(&h, sk);
    assert_int_equal(i.snd_una, S(&h, 12));
    assert_int_equal(i.cwnd, 10 * SMSS / 2);
    expect_seg(&h, F_PSH | F_ACK, S(&h, 13), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_sack_of_three_segments_enters_at_once(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    sender(&h, 10);
    /* one ACK (the others were lost) SACKs 3 segments: IsLost(HighACK) */
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 4});
    expect_seg(&h, F_ACK, S(&h, 0), P0, SMSS, SEG_ANY);
    assert_int_equal(SEG_CTR(&h, SackRecoveries), 1);
    seg_destroy(&h);
}

static void established_recovery_resends_holes_never_sacked_data(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    sender(&h, 14);
    seg_run(&h, 30 * MS); /* the ACKs a round trip later, as above */
    /* 0 and 2 lost; limited transmit sends 10 and 11 */
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 2});
    expect_seg(&h, F_ACK, S(&h, 10), P0, SMSS, SEG_ANY);
    sack_ack(&h, 0, 2, (const uint32_t[]){3, 4, 1, 2});
    expect_seg(&h, F_ACK, S(&h, 11), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    sack_ack(&h, 0, 2, (const uint32_t[]){3, 5, 1, 2});
    expect_seg(&h, F_ACK, S(&h, 0), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    /* segment 2 becomes lost (3 SMSS SACKed above it) */
    for (uint32_t r = 6; r <= 8; r++)
        sack_ack(&h, 0, 2, (const uint32_t[]){3, r, 1, 2});
    expect_nothing(&h); /* pipe >= cwnd */
    sack_ack(&h, 0, 2, (const uint32_t[]){3, 9, 1, 2});
    /* NextSeg (1): the hole at 2, not the SACKed 1 or 3-8 */
    expect_seg(&h, F_ACK, S(&h, 2), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    /* partial ACK: 0 arrived; (B) and (C): new data */
    sack_ack(&h, 2, 1, (const uint32_t[]){3, 9});
    expect_seg(&h, F_ACK, S(&h, 12), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, RetransSegs), 2);
    assert_int_equal(SEG_CTR(&h, SackRetrans), 2);
    assert_int_equal(SEG_CTR(&h, Timeouts), 0);
    seg_destroy(&h);
}

static void established_partial_ack_with_lost_tail_rescues_once(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    sender(&h, 10);
    /* 0 lost and the tail 8-9 too; nothing new to send */
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 4});
    expect_seg(&h, F_ACK, S(&h, 0), P0, SMSS, SEG_ANY);
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 8});
    /* NextSeg (3): unSACKed above HighRxt below the highest SACK: none;
     * nothing new; (3) none... (4): HighACK is not above RescueRxt yet */
    expect_nothing(&h);
    /* 0 arrives: HighACK passes RescueRxt: (4) resends the highest
     * outstanding unSACKed segment, once */
    sack_ack(&h, 8, 0, NULL);
    expect_seg(&h, F_PSH | F_ACK, S(&h, 9), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    sack_ack(&h, 8, 0, NULL);
    expect_nothing(&h);
    seg_destroy(&h);
}

static void established_blocks_outside_window_not_dupacks(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    sender(&h, 10);
    sack_ack(&h, 2, 0, NULL);
    /* below SND.UNA (a D-SACK) and beyond SND.MAX: not duplicate ACKs */
    for (int k = 0; k < 4; k++) {
        sack_ack(&h, 2, 1, (const uint32_t[]){0, 1});
        sack_ack(&h, 2, 1, (const uint32_t[]){5, 12});
    }
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 0);
    seg_destroy(&h);
}

static void established_dupacks_without_blocks_still_recover(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    sender(&h, 10);
    /* SACK permitted but the peer sends none: RFC 5681 duplicates */
    for (int k = 0; k < 2; k++)
        sack_ack(&h, 0, 0, NULL);
    expect_nothing(&h);
    sack_ack(&h, 0, 0, NULL);
    expect_seg(&h, F_ACK, S(&h, 0), P0, SMSS, SEG_ANY);
    assert_int_equal(SEG_CTR(&h, SackRecoveries), 1);
    seg_destroy(&h);
}

static void established_no_sack_falls_back_to_newreno(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_sack(&h, false, false);
    uint32_t U = h.iss + 1;
    fillbuf();
    assert_int_equal(utcp_send(h.st, sk, buf, 10 * SMSS), (long)(10 * SMSS));
    while (seg_take(&h))
        ;
    for (int k = 0; k < 3; k++)
        seg_send(&h, F_ACK, P0, U, 16384, NULL, 0);
    expect_seg(&h, F_ACK, U, P0, SMSS, SEG_ANY);
    assert_int_equal(SEG_CTR(&h, FastRetrans), 1);
    assert_int_equal(SEG_CTR(&h, SackRecoveries), 0);
    /* RFC 6582 3.2 (4): a partial ACK resends the next segment */
    seg_send(&h, F_ACK, P0, U + 2 * SMSS, 16384, NULL, 0);
    expect_seg(&h, F_ACK, U + 2 * SMSS, P0, SMSS, SEG_ANY);
    seg_destroy(&h);
}

static void
established_timeout_clears_scoreboard_then_skips_sacked(void **state)
{
    (void)state;
    struct seg_h h;
    /* RFC 6675 loss detection: with RACK (the default) the reordering
     * timer resends segment 0 before the RTO (test_rack.c) */
    struct utcp_config cfg = seg_default_cfg();
    cfg.no_rack = true;
    seg_init(&h, &cfg);
    utcp_sock sk = sender(&h, 10);
    /* 0 and 2 lost; one SACK for 1, then silence */
    sack_ack(&h, 0, 1, (const uint32_t[]){1, 2});
    expect_nothing(&h);
    seg_run_to_next_timer(&h);
    expect_seg(&h, F_ACK, S(&h, 0), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, SackRtoFlushes), 1);
    assert_int_equal(SEG_CTR(&h, Timeouts), 1);
    /* 0 arrives; the receiver holds 3-9: RFC 6675 5.1, fill in the holes
     * it reports: 2 goes, 3-9 (SACKed) do not */
    sack_ack(&h, 2, 1, (const uint32_t[]){3, 10});
    expect_seg(&h, F_ACK, S(&h, 2), P0, SMSS, SEG_ANY);
    expect_nothing(&h);
    sack_ack(&h, 10, 0, NULL);
    assert_int_equal(seg_info(&h, sk).snd_una, S(&h, 10));
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, RetransSegs), 2);
    seg_destroy(&h);
}

/* A duplicate ACK with TSval val SACKing [U + l * 1448, U + r * 1448). */
static void ts_sack_ack(struct seg_h *h, uint32_t val, uint32_t l, uint32_t r)
{
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    o.present = UTCP_OPT_TS | UTCP_OPT_SACK;
    o.ts_val = val;
    o.ts_ecr = h->syn_opts.ts_val;
    o.sack_count = 1;
    o.sack[0].left = h->iss + 1 + l * 1448;
    o.sack[0].right = h->iss + 1 + r * 1448;
    seg_send_opts(h, F_ACK, P0, h->iss + 1, 16384, &o, NULL, 0);
}

static void established_reordered_dup_ack_not_dropped_by_paws(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = est_sack(&h, true, true);
    fillbuf();
    assert_int_equal(utcp_send(h.st, sk, buf, 10 * 1448), 10 * 1448);
    while (seg_take(&h))
        ;
    seg_run(&h, 30 * MS); /* the ACKs a round trip later, as above */
    ts_sack_ack(&h, PTS + 10, 1, 2);
    /* overtaken by the one above: older TSval, but a pure duplicate ACK
     * that changes nothing (Linux's tcp_disordered_ack): its SACK block
     * counts */
    ts_sack_ack(&h, PTS + 5, 1, 3);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, PawsDrops), 0);
    ts_sack_ack(&h, PTS + 11, 1, 4);
    expect_seg(&h, F_ACK, h.iss + 1, P0, 1448, SEG_ANY);
    assert_int_equal(SEG_CTR(&h, SackRecoveries), 1);
    /* more than an RTO behind: PAWS drops it, with an ACK */
    ts_sack_ack(&h, PTS + 11 - 1000, 1, 5);
    expect_seg(&h, F_ACK, h.iss + 1 + 10 * 1448, P0, 0, SEG_ANY);
    assert_int_equal(SEG_CTR(&h, PawsDrops), 1);
    seg_destroy(&h);
}

/* ---- two stacks ---- */

struct drops {
    uint32_t base;     /* the client's ISS + 1 */
    uint32_t which[4]; /* segment offsets (in MSS) to drop once */
    unsigned n;
    bool done[4];
};

static int drop_chosen(struct tnet *n, int from, const struct utcp_tcp *th,
                       const uint8_t *pkt, size_t len, uint64_t *extra,
                       void *ctx)
{
    (void)n, (void)pkt, (void)len, (void)extra;
    struct drops *d = ctx;
    if (from != 0 || th->payload_len == 0)
        return TNET_PASS;
    for (unsigned i = 0; i < d->n; i++)
        if (!d->done[i] && th->seq - d->base == d->which[i] * 1448u) {
            d->done[i] = true;
            return TNET_DROP;
        }
    return TNET_PASS;
}

/* A sends 100 segments to B, losing segments 20, 22 and 25 once; returns
 * the time until B has read everything up to segment 26 (past the holes)
 * and fills *k with A's counters. */
static uint64_t lossy_transfer(bool sack, struct utcp_counters *k)
{
    struct utcp_config cfg;
    utcp_config_init(&cfg);
    cfg.seed = 3;
    cfg.no_sack = !sack;
    cfg.sndbuf = cfg.rcvbuf = 262144;
    struct tnet *n = calloc(1, sizeof *n);
    assert_non_null(n);
    tnet_init(n, &cfg);
    utcp_sock l = tnet_listen(n, 1, 80, 4);
    utcp_sock a = tnet_connect(n, 0, 80), b;
    tnet_run_for(n, 100 * MS);
    assert_int_equal(utcp_accept(n->st[1], l, &b), 0);
    struct utcp_info ia;
    utcp_getinfo(n->st[0], a, &ia);
    assert_int_equal(ia.sack_ok, sack);
    struct drops d = {ia.snd_una, {20, 22, 25}, 3, {false}};
    n->filter = drop_chosen;
    n->filter_ctx = &d;
    enum { LEN = 100 * 1448 };
    static uint8_t src[LEN], got[LEN];
    tnet_pattern(src, LEN, 15);
    uint64_t took = 0;
    assert_true(tnet_transfer(n, a, b, src, got, LEN, 60 * SEC, 26 * 1448,
                              &took) < 60 * SEC);
    assert_memory_equal(got, src, LEN);
    utcp_get_counters(n->st[0], k);
    assert_int_equal(tnet_finish(n, a, b, l), 0);
    return took;
}

static void two_stacks_three_losses_one_window_one_sack_recovery(void **state)
{
    (void)state;
    struct utcp_counters ks, kn;
    uint64_t ts = lossy_transfer(true, &ks);
    uint64_t tn = lossy_transfer(false, &kn);
    /* SACK: one recovery, the three holes resent, no timeout */
    assert_int_equal(ks.SackRecoveries, 1);
    assert_int_equal(ks.Timeouts, 0);
    assert_int_equal(ks.RetransSegs, 3);
    /* NewReno: one recovery too, a hole per round trip */
    assert_int_equal(kn.SackRecoveries, 0);
    assert_int_equal(kn.FastRetrans, 1);
    /* the holes are filled a round trip (20 ms) sooner: 22 and 25 are
     * resent together, where NewReno waits for a partial ACK per hole */
    print_message("holes filled after %llu us with SACK, %llu us without\n",
                  (unsigned long long)ts, (unsigned long long)tn);
    assert_true(ts + 20 * MS <= tn);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_out_of_order_ack_carries_sack_block),
        cmocka_unit_test(established_newest_block_first_at_most_four),
        cmocka_unit_test(established_with_ts_at_most_three_blocks),
        cmocka_unit_test(established_data_segment_carries_blocks_that_fit),
        cmocka_unit_test(established_not_permitted_sends_no_blocks),
        cmocka_unit_test(established_third_sack_dupack_enters_recovery),
        cmocka_unit_test(established_sack_of_three_segments_enters_at_once),
        cmocka_unit_test(established_recovery_resends_holes_never_sacked_data),
        cmocka_unit_test(established_partial_ack_with_lost_tail_rescues_once),
        cmocka_unit_test(established_blocks_outside_window_not_dupacks),
        cmocka_unit_test(established_dupacks_without_blocks_still_recover),
        cmocka_unit_test(established_no_sack_falls_back_to_newreno),
        cmocka_unit_test(
            established_timeout_clears_scoreboard_then_skips_sacked),
        cmocka_unit_test(established_reordered_dup_ack_not_dropped_by_paws),
        cmocka_unit_test(two_stacks_three_losses_one_window_one_sack_recovery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
