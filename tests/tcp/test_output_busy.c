/*
 * A link that says its queue is full (utcp_config.output_busy, Linux's TCP
 * Small Queues): new data waits in the send queue, the connection tries
 * again UTCP_LINK_RETRY_US later or at the next ACK, pure ACKs still
 * leave, and a transfer through a link that holds at most a few packets
 * arrives whole. The link here is the test wire: "queued" is what one side
 * has put on it that has not arrived yet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tnet.h"
#include "utcp/utcp.h"

#define MS 1000u
#define SEC 1000000u

/* What the link of each side answers: forced busy, or busy once `limit`
 * of its data packets are on the wire (0: never). */
static bool g_force[2];
static size_t g_limit[2];
static unsigned g_asks[2];

/* Data packets from side `side` on the wire, not yet delivered (longer
 * than bare IPv4 + TCP headers with timestamps). */
static size_t on_wire(const struct tnet *n, int side)
{
    size_t k = 0;
    for (size_t i = 0; i < n->qlen; i++)
        if (n->q[i].to == 1 - side && n->q[i].len > 20 + 32)
            k++;
    return k;
}

static bool link_busy(void *ctx)
{
    const struct tnet_out *o = ctx;
    g_asks[o->side]++;
    if (g_force[o->side])
        return true;
    return g_limit[o->side] && on_wire(o->n, o->side) >= g_limit[o->side];
}

static struct tnet *setup(utcp_sock *a, utcp_sock *b, utcp_sock *l)
{
    memset(g_force, 0, sizeof g_force);
    memset(g_limit, 0, sizeof g_limit);
    memset(g_asks, 0, sizeof g_asks);
    struct utcp_config cfg;
    utcp_config_init(&cfg);
    cfg.seed = 11;
    cfg.sndbuf = cfg.rcvbuf = 1u << 20;
    cfg.output_busy = link_busy;
    struct tnet *n = calloc(1, sizeof *n);
    assert_non_null(n);
    tnet_init(n, &cfg);
    n->delay = 1 * MS;
    *l = tnet_listen(n, 1, 80, 4);
    *a = tnet_connect(n, 0, 80);
    tnet_run_for(n, 20 * MS);
    assert_int_equal(utcp_accept(n->st[1], *l, b), 0);
    return n;
}

static size_t data_segs_from(const struct tnet *n, int side, size_t from)
{
    size_t k = 0;
    for (size_t i = from; i < n->nsegs; i++)
        if (n->segs[i].from == side && n->segs[i].len > 0)
            k++;
    return k;
}


/* Busy when the data is written: nothing leaves, the retry is the next
 * deadline; the link frees up before it, and the data leaves at the retry,
 * not before (no ACK is coming to wake the connection). */
static void established_link_busy_data_waits_for_retry(void **state)
{
    (void)state;
    utcp_sock a, b, l;
    struct tnet *n = setup(&a, &b, &l);
    size_t seg0 = n->nsegs;
    g_force[0] = true;
    uint64_t t0 = n->now;
    static uint8_t buf[8000];
    memset(buf, 'x', sizeof buf);
    assert_int_equal(utcp_send(n->st[0], a, buf, sizeof buf), (long)sizeof buf);
    assert_true(g_asks[0] >= 1);
    assert_int_equal(data_segs_from(n, 0, seg0), 0);
    assert_int_equal(utcp_next_deadline(n->st[0]), t0 + UTCP_LINK_RETRY_US);
    struct utcp_counters k;
    utcp_get_counters(n->st[0], &k);
    assert_true(k.LinkBusyWaits >= 1);

    tnet_run_for(n, UTCP_LINK_RETRY_US / 2);
    assert_int_equal(data_segs_from(n, 0, seg0), 0);
    g_force[0] = false;
    tnet_run_for(n, UTCP_LINK_RETRY_US / 2 - 1);
    assert_int_equal(data_segs_from(n, 0, seg0), 0); /* not before */
    tnet_run_for(n, 1);
    assert_true(data_segs_from(n, 0, seg0) >= 1); /* at the retry */
    for (size_t i = seg0; i < n->nsegs; i++)
        if (n->segs[i].from == 0 && n->segs[i].len > 0)
            assert_true(n->segs[i].at >= t0 + UTCP_LINK_RETRY_US);

    uint8_t got[sizeof buf];
    tnet_run_for(n, 50 * MS);
    assert_int_equal(utcp_recv(n->st[1], b, got, sizeof got), (long)sizeof got);
    assert_memory_equal(got, buf, sizeof buf);
    assert_int_equal(tnet_finish(n, a, b, l), 0);
}

/* The receiver's pure ACKs are never held: with its link busy for good,
 * a transfer towards it still completes. */
static void established_link_busy_pure_acks_leave(void **state)
{
    (void)state;
    utcp_sock a, b, l;
    struct tnet *n = setup(&a, &b, &l);
    g_force[1] = true;
    enum { LEN = 200000 };
    static uint8_t src[LEN], got[LEN];
    tnet_pattern(src, LEN, 3);
    assert_true(tnet_transfer(n, a, b, src, got, LEN, 10 * SEC, 0, NULL) <
                10 * SEC);
    assert_memory_equal(got, src, LEN);
    g_force[1] = false;
    assert_int_equal(tnet_finish(n, a, b, l), 0);
}

/* A link that takes at most 4 data packets at a time: the sender never
 * has more on it, waits 100s of times, and 1 MB arrives whole. Without the
 * check the window (hundreds of KB) would all be on the wire at once. */
static void established_link_limit_keeps_queue_short_transfer_intact(
    void **state)
{
    (void)state;
    utcp_sock a, b, l;
    struct tnet *n = setup(&a, &b, &l);
    g_limit[0] = 4;
    size_t seg0 = n->nsegs;
    enum { LEN = 1000000 };
    static uint8_t src[LEN], got[LEN];
    tnet_pattern(src, LEN, 6);
    assert_true(tnet_transfer(n, a, b, src, got, LEN, 60 * SEC, 0, NULL) <
                60 * SEC);
    assert_memory_equal(got, src, LEN);
    /* from the segment log: a data segment from A is on the wire from its
     * send until `delay` later; never more than 4 at once */
    size_t worst = 0;
    for (size_t i = seg0; i < n->nsegs; i++) {
        if (n->segs[i].from != 0 || !n->segs[i].len)
            continue;
        size_t k = 0;
        for (size_t j = seg0; j <= i; j++)
            if (n->segs[j].from == 0 && n->segs[j].len &&
                n->segs[j].at + n->delay > n->segs[i].at)
                k++;
        if (k > worst)
            worst = k;
    }
    assert_true(n->nsegs < TNET_MAX_LOG); /* the log saw every segment */
    assert_int_equal(worst, 4);
    struct utcp_counters k;
    utcp_get_counters(n->st[0], &k);
    assert_true(k.LinkBusyWaits >= 100);
    g_limit[0] = 0;
    assert_int_equal(tnet_finish(n, a, b, l), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_link_busy_data_waits_for_retry),
        cmocka_unit_test(established_link_busy_pure_acks_leave),
        cmocka_unit_test(established_link_limit_keeps_queue_short_transfer_intact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
