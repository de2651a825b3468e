/*
 * The receive path's checksum verified while the payload is copied (stack.c
 * place_payload): an in-order data segment's bytes go to their place in the
 * receive ring in the same pass that sums them, and are stored only if the
 * sum is good and the segment is accepted. A corrupted segment on that path
 * is counted and dropped with nothing stored or acknowledged, and the good
 * copy that follows is delivered; the same holds where the free space of
 * the ring wraps with an odd first part, and for segments that do not take
 * that path (out of order).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <string.h>

#include "seg.h"

#define MS SEG_MS
#define P0 (5000u + 1u) /* the peer's first data byte (ISS 5000) */

static uint8_t data[2000];

static void fill(void)
{
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 31 + 7);
}

/* Sends a data segment from the peer; with flip, one payload byte is
 * changed after the checksum was computed (a corrupted packet). */
static void send_data(struct seg_h *h, uint32_t seq, const uint8_t *p,
                      size_t len, bool flip)
{
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = h->pport;
    th.dport = h->lport;
    th.seq = seq;
    th.ack = h->iss + 1;
    th.flags = UTCP_TH_ACK;
    th.win = 16384;
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = SEG_PEER;
    ip.dst = SEG_US;
    ip.ttl = 64;
    static uint8_t pkt[4096];
    size_t n = utcp_ipv4_tcp_build(pkt, sizeof pkt, &ip, &th, p, len);
    assert_true(n == 40 + len);
    if (flip)
        pkt[40 + len / 2] ^= 0x10;
    seg_send_raw(h, pkt, n);
}

static utcp_sock open_est(struct seg_h *h, uint32_t rcvbuf)
{
    struct utcp_config c = seg_default_cfg();
    c.rcvbuf = rcvbuf;
    seg_init(h, &c);
    fill();
    return seg_open_active(h, 5000, 10 * MS);
}

static void established_corrupt_in_order_data_dropped_unstored(void **state)
{
    (void)state;
    struct seg_h h;
    utcp_sock sk = open_est(&h, 65536);
    uint32_t U = h.iss + 1;
    uint64_t errs = SEG_CTR(&h, InErrs);
    send_data(&h, P0, data, 1000, true);
    /* Dropped before any processing: no ACK (not even a delayed one),
     * nothing to read, counted. */
    seg_run(&h, 200 * MS);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, InErrs), errs + 1);
    char b[8];
    assert_int_equal(utcp_recv(h.st, sk, b, sizeof b), UTCP_EAGAIN);
    /* The good copy of the same bytes is delivered whole, in order. */
    send_data(&h, P0, data, 1000, false);
    seg_run(&h, 40 * MS);
    expect_seg(&h, F_ACK, U, P0 + 1000, 0, SEG_ANY);
    static uint8_t got[2000];
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), 1000);
    assert_memory_equal(got, data, 1000);
    seg_destroy(&h);
}

static void established_corrupt_after_stored_data_keeps_stored(void **state)
{
    (void)state;
    struct seg_h h;
    utcp_sock sk = open_est(&h, 65536);
    uint32_t U = h.iss + 1;
    send_data(&h, P0, data, 700, false);
    /* Lands right after the 700 stored bytes, in the ring, then fails. */
    send_data(&h, P0 + 700, data + 700, 600, true);
    send_data(&h, P0 + 700, data + 700, 600, false);
    seg_run(&h, 40 * MS);
    expect_seg(&h, F_ACK, U, P0 + 1300, 0, SEG_ANY);
    static uint8_t got[2000];
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), 1300);
    assert_memory_equal(got, data, 1300);
    seg_destroy(&h);
}

static void established_ring_wrapping_at_odd_offset_verified(void **state)
{
    (void)state;
    struct seg_h h;
    /* A 1001-byte ring: after 600 bytes in and 599 read, the next bytes
     * start at 600 and 401 (odd) fit before the end of the storage. */
    utcp_sock sk = open_est(&h, 1001);
    uint32_t U = h.iss + 1;
    static uint8_t got[2000];
    send_data(&h, P0, data, 600, false);
    assert_int_equal(utcp_recv(h.st, sk, got, 599), 599);
    assert_memory_equal(got, data, 599);
    expect_seg(&h, F_ACK, U, P0 + 600, 0, SEG_ANY); /* window update */
    /* corrupted first: nothing stored; then the good one across the wrap */
    send_data(&h, P0 + 600, data + 600, 500, true);
    send_data(&h, P0 + 600, data + 600, 500, false);
    seg_run(&h, 40 * MS);
    expect_seg(&h, F_ACK, U, P0 + 1100, 0, SEG_ANY);
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), 501);
    assert_memory_equal(got, data + 599, 501);
    assert_int_equal(SEG_CTR(&h, InErrs), 1);
    seg_destroy(&h);
}

static void established_corrupt_out_of_order_data_dropped(void **state)
{
    (void)state;
    struct seg_h h;
    utcp_sock sk = open_est(&h, 65536);
    uint32_t U = h.iss + 1;
    /* Out of order: the ordinary check, before the segment is queued. */
    send_data(&h, P0 + 500, data + 500, 500, true);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, InErrs), 1);
    send_data(&h, P0 + 500, data + 500, 500, false);
    expect_seg(&h, F_ACK, U, P0, 0, SEG_ANY); /* duplicate ACK */
    send_data(&h, P0, data, 500, false);
    seg_run(&h, 1 * MS);
    expect_seg(&h, F_ACK, U, P0 + 1000, 0, SEG_ANY);
    static uint8_t got[2000];
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), 1000);
    assert_memory_equal(got, data, 1000);
    seg_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_corrupt_in_order_data_dropped_unstored),
        cmocka_unit_test(established_corrupt_after_stored_data_keeps_stored),
        cmocka_unit_test(established_ring_wrapping_at_odd_offset_verified),
        cmocka_unit_test(established_corrupt_out_of_order_data_dropped),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
