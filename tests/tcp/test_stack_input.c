/*
 * The stack's input path before TCP: bad or foreign packets are counted by
 * kind and dropped without a reply (RFC 791 fragments until reassembly
 * exists, RFC 1122 3.2.1.3 foreign destinations, malformed headers).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "seg.h"

/* A SYN from the peer to port 80 of `dst`. */
static size_t syn_packet(uint8_t *pkt, size_t cap, uint32_t dst)
{
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = SEG_PEER;
    ip.dst = dst;
    ip.ttl = 64;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = 40000;
    th.dport = 80;
    th.seq = 1000;
    th.flags = F_SYN;
    th.win = 8192;
    size_t n = utcp_ipv4_tcp_build(pkt, cap, &ip, &th, NULL, 0);
    assert_true(n > 0);
    return n;
}

static void closed_fragment_counted_and_dropped(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    uint8_t pkt[128];
    size_t n = syn_packet(pkt, sizeof pkt, SEG_US);
    pkt[6] |= 0x20; /* MF: a first fragment */
    utcp_put16(pkt + 10, 0);
    utcp_put16(pkt + 10, utcp_csum(pkt, 20));
    seg_send_raw(&h, pkt, n);
    expect_nothing(&h); /* not even a RST: it never reached TCP */
    assert_int_equal(SEG_CTR(&h, InIpFragments), 1);
    assert_int_equal(SEG_CTR(&h, InSegs), 0);
    seg_destroy(&h);
}

static void closed_ipv6_packet_counted_apart(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    /* An IPv6 router solicitation as the kernel sends it to a TUN device:
     * not for this IPv4 stack, and not a malformed IPv4 packet either. */
    uint8_t pkt[48] = {0x60, 0, 0, 0, 0, 8, 58, 255};
    pkt[8] = 0xfe;
    pkt[9] = 0x80;
    pkt[24] = 0xff;
    pkt[25] = 0x02;
    pkt[39] = 0x02;
    pkt[40] = 133; /* ICMPv6 router solicitation */
    seg_send_raw(&h, pkt, sizeof pkt);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, InOtherIpVersion), 1);
    assert_int_equal(SEG_CTR(&h, InIpErrs), 0);
    /* A version 5 header is a malformed IPv4 one. */
    pkt[0] = 0x50;
    seg_send_raw(&h, pkt, sizeof pkt);
    assert_int_equal(SEG_CTR(&h, InIpErrs), 1);
    assert_int_equal(SEG_CTR(&h, InOtherIpVersion), 1);
    seg_destroy(&h);
}

static void closed_packet_for_another_address_ignored(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    uint8_t pkt[128];
    size_t n = syn_packet(pkt, sizeof pkt, SEG_US + 7);
    seg_send_raw(&h, pkt, n);
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, InNotForUs), 1);
    seg_destroy(&h);
}

static void closed_malformed_ip_header_counted(void **state)
{
    (void)state;
    struct seg_h h;
    seg_init(&h, NULL);
    uint8_t pkt[128];
    size_t n = syn_packet(pkt, sizeof pkt, SEG_US);
    pkt[10] ^= 0xff; /* header checksum */
    seg_send_raw(&h, pkt, n);
    seg_send_raw(&h, pkt, 10); /* truncated */
    expect_nothing(&h);
    assert_int_equal(SEG_CTR(&h, InIpErrs), 2);
    assert_int_equal(SEG_CTR(&h, InPackets), 2);
    seg_destroy(&h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(closed_fragment_counted_and_dropped),
        cmocka_unit_test(closed_ipv6_packet_counted_apart),
        cmocka_unit_test(closed_packet_for_another_address_ignored),
        cmocka_unit_test(closed_malformed_ip_header_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
