/*
 * Checksum offloads (utcp_config.offload, utcp_input_ex): with TX offload
 * data segments leave with only the pseudo-header sum (UTCP_BUILD_CSUM_PARTIAL)
 * and become valid once the link completes them (RFC 1071: the sum is
 * linear); control segments keep full checksums. With RX offload, or a
 * packet flagged UTCP_INPUT_CSUM_OK, the checksum is not verified again;
 * without, a bad one is counted and dropped.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "seg.h"
#include "tnet.h"

#define PISS 5000u
#define MS SEG_MS

/* What a NIC or virtio device does with a CHECKSUM_PARTIAL segment: sum the
 * TCP segment (the field holds the pseudo-header sum), fold, complement. */
static void complete_checksum(uint8_t *pkt, size_t len)
{
    size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
    uint16_t c = utcp_csum(pkt + ihl, len - ihl);
    utcp_put16(pkt + ihl + 16, c);
}

static bool tcp_csum_ok(const uint8_t *pkt, size_t len)
{
    struct utcp_ipv4 ip;
    struct utcp_tcp th;
    return utcp_ipv4_parse(pkt, len, &ip) == UTCP_WIRE_OK &&
           utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true,
                          &th) == UTCP_WIRE_OK;
}

static void established_tx_offload_data_partial_control_full(void **state)
{
    (void)state;
    struct utcp_config cfg = seg_default_cfg();
    cfg.offload = UTCP_OFFLOAD_TX_CSUM;
    struct seg_h h;
    seg_init(&h, &cfg);
    utcp_sock sk = seg_open_active(&h, PISS, 30 * MS);
    /* the handshake's segments (no payload) carried full checksums */
    assert_true(h.cap[0].csum_ok);
    assert_true(h.cap[1].csum_ok);
    uint8_t msg[1000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 13);
    assert_int_equal(utcp_send(h.st, sk, msg, sizeof msg), sizeof msg);
    const struct seg_cap *d = expect_seg(&h, F_PSH | F_ACK, h.iss + 1,
                                         PISS + 1, 1000, SEG_ANY);
    assert_false(d->csum_ok);
    assert_memory_equal(d->data, msg, sizeof msg);
    uint8_t copy[1500];
    memcpy(copy, d->raw, d->raw_len);
    complete_checksum(copy, d->raw_len);
    assert_true(tcp_csum_ok(copy, d->raw_len));
    seg_destroy(&h);
}

/* A data segment from the peer whose TCP checksum is wrong. */
static size_t bad_segment(struct seg_h *h, uint8_t *pkt, size_t cap)
{
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = SEG_PEER;
    ip.dst = SEG_US;
    ip.ttl = 64;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = h->pport;
    th.dport = h->lport;
    th.seq = PISS + 1;
    th.ack = h->iss + 1;
    th.flags = F_ACK | F_PSH;
    th.win = 8192;
    size_t n = utcp_ipv4_tcp_build(pkt, cap, &ip, &th,
                                   (const uint8_t *)"abcdef", 6);
    assert_true(n > 0);
    pkt[n - 1] ^= 0x01; /* one bit of payload flipped */
    assert_false(tcp_csum_ok(pkt, n));
    return n;
}

static void established_bad_checksum_dropped_without_rx_offload(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    utcp_sock sk = seg_open_active(&h, PISS, 30 * MS);
    uint8_t pkt[128];
    size_t n = bad_segment(&h, pkt, sizeof pkt);
    seg_send_raw(&h, pkt, n);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, InErrs), 1);
    char got[8];
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), UTCP_EAGAIN);
    /* the same packet, flagged as verified by the link, is taken */
    utcp_input_ex(h.st, h.now, pkt, n, UTCP_INPUT_CSUM_OK);
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), 6);
    assert_memory_equal(got, "abcdeg", 6); /* 'f' ^ 1: the link's word */
    seg_destroy(&h);
}

static void established_rx_offload_trusts_the_link(void **state)
{
    (void)state;
    struct utcp_config cfg = seg_default_cfg();
    cfg.offload = UTCP_OFFLOAD_RX_CSUM;
    struct seg_h h;
    seg_init(&h, &cfg);
    utcp_sock sk = seg_open_active(&h, PISS, 30 * MS);
    uint8_t pkt[128];
    size_t n = bad_segment(&h, pkt, sizeof pkt);
    seg_send_raw(&h, pkt, n);
    assert_int_equal(SEG_CTR(&h, InErrs), 0);
    char got[8];
    assert_int_equal(utcp_recv(h.st, sk, got, sizeof got), 6);
    seg_destroy(&h);
}

static void two_stacks_both_offloads_transfer_intact(void **state)
{
    (void)state;
    struct utcp_config c;
    utcp_config_init(&c);
    c.seed = 3;
    c.offload = UTCP_OFFLOAD_TX_CSUM | UTCP_OFFLOAD_RX_CSUM;
    c.sndbuf = c.rcvbuf = 256 * 1024;
    struct tnet n;
    tnet_init(&n, &c);
    utcp_sock lb = tnet_listen(&n, 1, 80, 4), ca = tnet_connect(&n, 0, 80), cb;
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[1], lb, &cb), 0);
    static uint8_t out[1 << 20], in[1 << 20];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(i ^ (i >> 8));
    size_t sent = 0, got = 0;
    for (int guard = 0; got < sizeof in && guard < 100000; guard++) {
        if (sent < sizeof out) {
            long r = utcp_send(n.st[0], ca, out + sent, sizeof out - sent);
            if (r > 0)
                sent += (size_t)r;
        }
        tnet_run_for(&n, 1 * MS);
        long r = utcp_recv(n.st[1], cb, in + got, sizeof in - got);
        if (r > 0)
            got += (size_t)r;
    }
    assert_int_equal(got, sizeof in);
    assert_memory_equal(in, out, sizeof in);
    struct utcp_counters k;
    utcp_get_counters(n.st[1], &k);
    assert_int_equal(k.InErrs, 0);
    utcp_close(n.st[0], ca);
    utcp_close(n.st[1], cb);
    utcp_close(n.st[1], lb);
    tnet_destroy(&n);
}

static void closed_config_unknown_offload_bits_rejected(void **state)
{
    (void)state;
    struct utcp_config c = seg_default_cfg();
    c.offload = 1u << 7;
    struct utcp_stack *st = NULL;
    assert_int_equal(utcp_stack_create(&c, &st), UTCP_EINVAL);
    assert_null(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_tx_offload_data_partial_control_full),
        cmocka_unit_test(established_bad_checksum_dropped_without_rx_offload),
        cmocka_unit_test(established_rx_offload_trusts_the_link),
        cmocka_unit_test(two_stacks_both_offloads_transfer_intact),
        cmocka_unit_test(closed_config_unknown_offload_bits_rejected),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
