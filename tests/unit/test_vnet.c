/*
 * virtio-net headers (src/link/vnet.c): what the kernel hands up is parsed
 * and checked against the packet (every rejection reason is triggered
 * here), partial checksums are completed as a device would, and the
 * header built for a TSO segment is what Linux's virtio_net_hdr_to_skb
 * expects (GSO_TCPV4, gso_size, NEEDS_CSUM at the TCP checksum).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "link/vnet.h"
#include "utcp/wire.h"

/* An IPv4 TCP packet 10.0.0.1:1000 -> 10.0.0.2:2000 with n payload bytes;
 * partial: the checksum field holds the pseudo-header sum only. */
static size_t tcp_pkt(uint8_t *buf, size_t cap, size_t n, bool partial)
{
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = 0x0A000001u;
    ip.dst = 0x0A000002u;
    ip.ttl = 64;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = 1000;
    th.dport = 2000;
    th.seq = 1;
    th.ack = 1;
    th.flags = UTCP_TH_ACK;
    th.win = 1000;
    static uint8_t payload[70000];
    for (size_t i = 0; i < n; i++)
        payload[i] = (uint8_t)(i * 31 + 1);
    size_t len = utcp_ipv4_tcp_build_ex(buf, cap, &ip, &th, payload, n,
                                        partial ? UTCP_BUILD_CSUM_PARTIAL : 0,
                                        0);
    assert_true(len > 0);
    return len;
}

static bool csum_verifies(const uint8_t *pkt, size_t len)
{
    struct utcp_ipv4 ip;
    struct utcp_tcp th;
    return utcp_ipv4_parse(pkt, len, &ip) == UTCP_WIRE_OK &&
           utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true,
                          &th) == UTCP_WIRE_OK;
}

static void hdr(uint8_t b[UTCP_VNET_HDR_LEN], uint8_t flags, uint8_t gso_type,
                uint16_t hdr_len, uint16_t gso_size, uint16_t cs, uint16_t co)
{
    struct utcp_vnet_hdr h = {flags, gso_type, hdr_len, gso_size, cs, co};
    utcp_vnet_hdr_encode(b, &h);
}

static void vnet_header_round_trips(void **state)
{
    (void)state;
    uint8_t b[UTCP_VNET_HDR_LEN];
    hdr(b, 1, 1, 54, 1448, 20, 16);
    struct utcp_vnet_hdr h;
    utcp_vnet_hdr_decode(b, &h);
    assert_int_equal(h.flags, 1);
    assert_int_equal(h.gso_type, 1);
    assert_int_equal(h.hdr_len, 54);
    assert_int_equal(h.gso_size, 1448);
    assert_int_equal(h.csum_start, 20);
    assert_int_equal(h.csum_offset, 16);
}

static void vnet_parse_gso_frame_with_partial_checksum_is_trusted(void **state)
{
    (void)state;
    static uint8_t pkt[70000];
    size_t len = tcp_pkt(pkt, sizeof pkt, 60000, true);
    assert_false(csum_verifies(pkt, len));
    uint8_t b[UTCP_VNET_HDR_LEN];
    /* Linux tun puts skb_headlen in hdr_len: more than the headers */
    hdr(b, UTCP_VNET_F_NEEDS_CSUM, UTCP_VNET_GSO_TCPV4, 128, 1448, 20, 16);
    struct utcp_vnet_rx rx;
    assert_int_equal(utcp_vnet_parse(b, UTCP_VNET_HDR_LEN, pkt, len, &rx), UTCP_VNET_OK);
    assert_int_equal(rx.input_flags, UTCP_INPUT_CSUM_OK);
    assert_true(rx.csum_partial);
    assert_int_equal(rx.h.gso_size, 1448);
    /* completed as a device would, it verifies */
    utcp_vnet_csum_complete(pkt, len, rx.h.csum_start, rx.h.csum_offset);
    assert_true(csum_verifies(pkt, len));
}

static void vnet_parse_plain_packets(void **state)
{
    (void)state;
    uint8_t pkt[200];
    size_t len = tcp_pkt(pkt, sizeof pkt, 100, false);
    uint8_t b[UTCP_VNET_HDR_LEN];
    struct utcp_vnet_rx rx;
    /* no flags: the stack verifies the checksum itself */
    hdr(b, 0, UTCP_VNET_GSO_NONE, 0, 0, 0, 0);
    assert_int_equal(utcp_vnet_parse(b, UTCP_VNET_HDR_LEN, pkt, len, &rx), UTCP_VNET_OK);
    assert_int_equal(rx.input_flags, 0);
    assert_false(rx.csum_partial);
    /* DATA_VALID: verified by the kernel */
    hdr(b, UTCP_VNET_F_DATA_VALID, UTCP_VNET_GSO_NONE, 0, 0, 0, 0);
    assert_int_equal(utcp_vnet_parse(b, UTCP_VNET_HDR_LEN, pkt, len, &rx), UTCP_VNET_OK);
    assert_int_equal(rx.input_flags, UTCP_INPUT_CSUM_OK);
    /* NEEDS_CSUM somewhere else than the TCP checksum (the UDP one, say):
     * accepted but not trusted; the caller completes it */
    hdr(b, UTCP_VNET_F_NEEDS_CSUM, UTCP_VNET_GSO_NONE, 0, 0, 20, 6);
    assert_int_equal(utcp_vnet_parse(b, UTCP_VNET_HDR_LEN, pkt, len, &rx), UTCP_VNET_OK);
    assert_int_equal(rx.input_flags, 0);
    assert_true(rx.csum_partial);
    /* an ICMP packet with NEEDS_CSUM at its own checksum: not trusted */
    uint8_t icmp[28];
    memcpy(icmp, pkt, 20);
    icmp[9] = UTCP_IPPROTO_ICMP;
    hdr(b, UTCP_VNET_F_NEEDS_CSUM, UTCP_VNET_GSO_NONE, 0, 0, 20, 2);
    assert_int_equal(utcp_vnet_parse(b, UTCP_VNET_HDR_LEN, icmp, sizeof icmp, &rx), UTCP_VNET_OK);
    assert_int_equal(rx.input_flags, 0);
}

static void vnet_parse_rejects_each_bad_header(void **state)
{
    (void)state;
    uint8_t pkt[200];
    size_t len = tcp_pkt(pkt, sizeof pkt, 100, true);
    uint8_t b[UTCP_VNET_HDR_LEN];
    struct utcp_vnet_rx rx;
    const uint8_t N = UTCP_VNET_F_NEEDS_CSUM;
    struct {
        uint8_t flags, gso_type;
        uint16_t hdr_len, gso_size, cs, co;
        enum utcp_vnet_reason want;
    } cases[] = {
        {N, UTCP_VNET_GSO_UDP, 40, 1448, 20, 6, UTCP_VNET_GSO_UDP_DROP},
        {N, UTCP_VNET_GSO_UDP_L4, 40, 1448, 20, 6, UTCP_VNET_GSO_UDP_DROP},
        {N, UTCP_VNET_GSO_TCPV6, 60, 1428, 40, 16, UTCP_VNET_GSO_TCPV6_DROP},
        {N, 2, 40, 1448, 20, 16, UTCP_VNET_GSO_UNKNOWN},
        {N, 0x7f, 40, 1448, 20, 16, UTCP_VNET_GSO_UNKNOWN},
        {N, UTCP_VNET_GSO_TCPV4 | UTCP_VNET_GSO_ECN, 40, 1448, 20, 16,
         UTCP_VNET_ECN},
        {N | 4, UTCP_VNET_GSO_TCPV4, 40, 1448, 20, 16, UTCP_VNET_BAD_FLAGS},
        {0x80, UTCP_VNET_GSO_NONE, 0, 0, 0, 0, UTCP_VNET_BAD_FLAGS},
        {N, UTCP_VNET_GSO_TCPV4, (uint16_t)(len + 1), 1448, 20, 16,
         UTCP_VNET_BAD_HDR_LEN},
        {N, UTCP_VNET_GSO_TCPV4, 40, 0, 20, 16, UTCP_VNET_BAD_GSO},
        {N, UTCP_VNET_GSO_NONE, 40, 0, (uint16_t)(len - 17), 16,
         UTCP_VNET_BAD_CSUM},
        {N, UTCP_VNET_GSO_NONE, 40, 0, 20, 0xffff, UTCP_VNET_BAD_CSUM},
        {N, UTCP_VNET_GSO_NONE, 40, 0, 0xffff, 0xffff, UTCP_VNET_BAD_CSUM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hdr(b, cases[i].flags, cases[i].gso_type, cases[i].hdr_len,
            cases[i].gso_size, cases[i].cs, cases[i].co);
        enum utcp_vnet_reason r = utcp_vnet_parse(b, UTCP_VNET_HDR_LEN, pkt, len, &rx);
        if (r != cases[i].want)
            fail_msg("case %zu: got %d (%s), want %d (%s)", i, (int)r,
                     utcp_vnet_reason_text((int)r), (int)cases[i].want,
                     utcp_vnet_reason_text((int)cases[i].want));
    }
    /* a TCPv4 GSO frame that is not IPv4 TCP */
    uint8_t udp[200];
    memcpy(udp, pkt, len);
    udp[9] = 17;
    hdr(b, N, UTCP_VNET_GSO_TCPV4, 40, 1448, 20, 16);
    assert_int_equal(utcp_vnet_parse(b, UTCP_VNET_HDR_LEN, udp, len, &rx), UTCP_VNET_BAD_GSO);
    udp[9] = UTCP_IPPROTO_TCP;
    udp[0] = 0x65; /* version 6 */
    assert_int_equal(utcp_vnet_parse(b, UTCP_VNET_HDR_LEN, udp, len, &rx), UTCP_VNET_BAD_GSO);
    /* shorter than its headers */
    hdr(b, N, UTCP_VNET_GSO_TCPV4, 0, 1448, 20, 16);
    assert_int_equal(utcp_vnet_parse(b, UTCP_VNET_HDR_LEN, pkt, 30, &rx),
                     UTCP_VNET_BAD_GSO);
    /* a read shorter than the header itself */
    assert_int_equal(utcp_vnet_parse(b, 9, pkt, 0, &rx), UTCP_VNET_SHORT);
    assert_int_equal(utcp_vnet_parse(b, 0, pkt, 0, &rx), UTCP_VNET_SHORT);
    /* every reason has a text */
    for (int i = 0; i < UTCP_VNET_REASON_COUNT; i++)
        assert_string_not_equal(utcp_vnet_reason_text(i), "?");
    assert_string_equal(utcp_vnet_reason_text(UTCP_VNET_REASON_COUNT), "?");
    assert_string_equal(utcp_vnet_reason_text(-1), "?");
}

static void vnet_build_tso_segment(void **state)
{
    (void)state;
    static uint8_t pkt[70000];
    size_t len = tcp_pkt(pkt, sizeof pkt, 10 * 1460, true);
    struct utcp_output_meta m = {1460, 40, true};
    uint8_t b[UTCP_VNET_HDR_LEN];
    assert_true(utcp_vnet_build(b, pkt, len, &m));
    struct utcp_vnet_hdr h;
    utcp_vnet_hdr_decode(b, &h);
    assert_int_equal(h.flags, UTCP_VNET_F_NEEDS_CSUM);
    assert_int_equal(h.gso_type, UTCP_VNET_GSO_TCPV4);
    assert_int_equal(h.gso_size, 1460);
    assert_int_equal(h.hdr_len, 40);
    assert_int_equal(h.csum_start, 20);
    assert_int_equal(h.csum_offset, 16);
    /* and what we build, we parse */
    struct utcp_vnet_rx rx;
    assert_int_equal(utcp_vnet_parse(b, UTCP_VNET_HDR_LEN, pkt, len, &rx), UTCP_VNET_OK);
    assert_int_equal(rx.input_flags, UTCP_INPUT_CSUM_OK);
    /* the field holds the pseudo-header sum over the whole TCP length:
     * completing it gives a valid checksum */
    utcp_vnet_csum_complete(pkt, len, h.csum_start, h.csum_offset);
    assert_true(csum_verifies(pkt, len));
}

static void vnet_build_small_packets(void **state)
{
    (void)state;
    uint8_t pkt[200];
    size_t len = tcp_pkt(pkt, sizeof pkt, 100, true);
    uint8_t b[UTCP_VNET_HDR_LEN];
    struct utcp_vnet_hdr h;
    /* a partial checksum alone: NEEDS_CSUM, no GSO */
    struct utcp_output_meta m = {0, 40, true};
    assert_true(utcp_vnet_build(b, pkt, len, &m));
    utcp_vnet_hdr_decode(b, &h);
    assert_int_equal(h.flags, UTCP_VNET_F_NEEDS_CSUM);
    assert_int_equal(h.gso_type, UTCP_VNET_GSO_NONE);
    assert_int_equal(h.gso_size, 0);
    assert_int_equal(h.csum_start, 20);
    assert_int_equal(h.csum_offset, 16);
    /* complete checksum, or no metadata: all zero */
    static const uint8_t zero[UTCP_VNET_HDR_LEN];
    struct utcp_output_meta plain = {0, 0, false};
    len = tcp_pkt(pkt, sizeof pkt, 100, false);
    assert_true(utcp_vnet_build(b, pkt, len, &plain));
    assert_memory_equal(b, zero, sizeof zero);
    assert_true(utcp_vnet_build(b, pkt, len, NULL));
    assert_memory_equal(b, zero, sizeof zero);
}

static void vnet_build_refuses_metadata_that_does_not_fit(void **state)
{
    (void)state;
    uint8_t pkt[200];
    size_t len = tcp_pkt(pkt, sizeof pkt, 100, true);
    uint8_t b[UTCP_VNET_HDR_LEN];
    static const uint8_t zero[UTCP_VNET_HDR_LEN];
    struct utcp_output_meta m = {1460, 40, false}; /* GSO, full checksum */
    assert_false(utcp_vnet_build(b, pkt, len, &m));
    assert_memory_equal(b, zero, sizeof zero);
    m = (struct utcp_output_meta){1460, 10, true}; /* headers too short */
    assert_false(utcp_vnet_build(b, pkt, len, &m));
    m = (struct utcp_output_meta){1460, 400, true}; /* beyond the packet */
    assert_false(utcp_vnet_build(b, pkt, len, &m));
    uint8_t icmp[200];
    memcpy(icmp, pkt, len);
    icmp[9] = UTCP_IPPROTO_ICMP;
    m = (struct utcp_output_meta){0, 40, true};
    assert_false(utcp_vnet_build(b, icmp, len, &m));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(vnet_header_round_trips),
        cmocka_unit_test(vnet_parse_gso_frame_with_partial_checksum_is_trusted),
        cmocka_unit_test(vnet_parse_plain_packets),
        cmocka_unit_test(vnet_parse_rejects_each_bad_header),
        cmocka_unit_test(vnet_build_tso_segment),
        cmocka_unit_test(vnet_build_small_packets),
        cmocka_unit_test(vnet_build_refuses_metadata_that_does_not_fit),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
