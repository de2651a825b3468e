/*
 * The classic scenarios of shared/SCENARIOS.md at the engine level: two
 * stacks back to back on tnet, asserting the exact state sequences on both
 * ends, the segments exchanged, and byte-exact delivery.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tnet.h"

#define A 0
#define B 1
#define MS 1000ull
#define SEC 1000000ull

static struct utcp_config base_cfg(void)
{
    struct utcp_config c;
    utcp_config_init(&c);
    c.seed = 42;
    return c;
}

/* Sets up A connected to B's listener; returns the accepted socket. */
static void open_pair(struct tnet *n, utcp_sock *ca, utcp_sock *cb,
                      utcp_sock *lb)
{
    *lb = tnet_listen(n, B, 80, 8);
    *ca = tnet_connect(n, A, 80);
    tnet_run_for(n, 100 * MS);
    assert_int_equal(utcp_accept(n->st[B], *lb, cb), 0);
}

static void expect_states(const struct tnet *n, int side, uint32_t id,
                          const char *want)
{
    char buf[512];
    tnet_states(n, side, id, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        fail_msg("side %c conn %u: states %s, expected %s", side ? 'B' : 'A',
                 id, buf, want);
}

static void send_all(struct tnet *n, int side, utcp_sock s, const uint8_t *p,
                     size_t len)
{
    size_t off = 0;
    int guard = 0;
    while (off < len) {
        long r = utcp_send(n->st[side], s, p + off, len - off);
        if (r == UTCP_EAGAIN) {
            tnet_run_for(n, 10 * MS);
            assert_true(++guard < 100000);
            continue;
        }
        assert_true(r > 0);
        off += (size_t)r;
    }
}

static size_t recv_some(struct tnet *n, int side, utcp_sock s, uint8_t *p,
                        size_t cap)
{
    size_t got = 0;
    for (;;) {
        long r = utcp_recv(n->st[side], s, p + got, cap - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}

static void scenario_handshake(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    assert_int_equal(tnet_sock_state(&n, A, ca), UTCP_ESTABLISHED);
    assert_int_equal(tnet_sock_state(&n, B, cb), UTCP_ESTABLISHED);
    assert_int_equal(tnet_sock_state(&n, B, lb), UTCP_LISTEN);
    expect_states(&n, A, tnet_conn_id(&n, A, ca), "CLOSED>SYN_SENT>ESTABLISHED");
    expect_states(&n, B, tnet_conn_id(&n, B, lb), "CLOSED>LISTEN");
    expect_states(&n, B, tnet_conn_id(&n, B, cb),
                  "LISTEN>SYN_RECEIVED>ESTABLISHED");
    /* exactly SYN, SYN+ACK, ACK */
    assert_int_equal(n.nsegs, 3);
    assert_int_equal(n.segs[0].flags, UTCP_TH_SYN);
    assert_int_equal(n.segs[1].flags, UTCP_TH_SYN | UTCP_TH_ACK);
    assert_int_equal(n.segs[2].flags, UTCP_TH_ACK);
    assert_int_equal(n.segs[1].ack, n.segs[0].seq + 1);
    assert_int_equal(n.segs[2].ack, n.segs[1].seq + 1);
    assert_int_equal(n.bad_transitions, 0);
    tnet_destroy(&n);
}

static void scenario_active_close(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    uint8_t msg[3000], got[4000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7);
    send_all(&n, A, ca, msg, sizeof msg);
    send_all(&n, B, cb, msg, 1000);
    tnet_run_for(&n, 200 * MS);
    assert_int_equal(recv_some(&n, B, cb, got, sizeof got), sizeof msg);
    assert_memory_equal(got, msg, sizeof msg);
    assert_int_equal(recv_some(&n, A, ca, got, sizeof got), 1000);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_recv(n.st[B], cb, got, sizeof got), 0); /* EOF */
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    tnet_run_for(&n, 100 * MS);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT");
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    tnet_run_for(&n, 61 * SEC);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED");
    assert_int_equal(n.timer_fires[A][UTCP_TIMER_TIME_WAIT], 1);
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    struct utcp_counters k;
    utcp_get_counters(n.st[A], &k);
    assert_int_equal(k.ConnsAlloc, k.ConnsFree);
    tnet_destroy(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scenario_handshake),
        cmocka_unit_test(scenario_active_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
