/*
 * Undo of a spurious fast retransmission (RFC 3522 Eifel detection, RFC
 * 4015 response): when the first ACK of new data after a fast
 * retransmission echoes a TSval older than the retransmission's, the
 * segment was reordered, not lost, and the window reduction is undone. A
 * real loss is not undone, and without timestamps nothing is.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "tnet.h"

#define MS 1000ull

struct pick {
    int count;      /* data segments from A seen */
    int target;     /* the one to act on (1-based) */
    int fate;       /* TNET_DROP, or TNET_PASS with a long delay */
};

static int filter(struct tnet *n, int from, const struct utcp_tcp *th,
                  const uint8_t *pkt, size_t len, uint64_t *extra, void *ctx)
{
    (void)n;
    (void)pkt;
    (void)len;
    struct pick *p = ctx;
    if (from != 0 || th->payload_len == 0)
        return TNET_PASS;
    if (++p->count != p->target)
        return TNET_PASS;
    if (p->fate == TNET_DROP)
        return TNET_DROP;
    *extra = 15 * MS; /* arrives after the next several segments */
    return TNET_PASS;
}

/* A sends 200 kB to B with segment `target` dropped or held back; returns
 * A's counters. */
static struct utcp_counters run(int fate, bool timestamps)
{
    struct utcp_config c;
    utcp_config_init(&c);
    c.seed = 5;
    c.no_timestamps = !timestamps;
    c.sndbuf = c.rcvbuf = 256 * 1024;
    struct tnet n;
    tnet_init(&n, &c);
    n.delay = 10 * MS;
    struct pick p = {0, 30, fate};
    n.filter = filter;
    n.filter_ctx = &p;
    utcp_sock lb = tnet_listen(&n, 1, 80, 4), ca = tnet_connect(&n, 0, 80), cb;
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[1], lb, &cb), 0);
    static uint8_t out[200000], in[200000];
    for (size_t i = 0; i < sizeof out; i++)
        out[i] = (uint8_t)(i * 7);
    size_t sent = 0, got = 0;
    for (int guard = 0; got < sizeof in && guard < 20000; guard++) {
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
    assert_true(p.count >= p.target);
    struct utcp_counters k;
    utcp_get_counters(n.st[0], &k);
    assert_int_equal(k.IllegalTransitions, 0);
    utcp_close(n.st[0], ca);
    utcp_close(n.st[1], cb);
    utcp_close(n.st[1], lb);
    tnet_destroy(&n);
    return k;
}

static void established_reordered_segment_fast_retransmit_undone(void **state)
{
    (void)state;
    struct utcp_counters k = run(TNET_PASS, true);
    assert_true(k.FastRetrans >= 1);
    assert_int_equal(k.SpuriousRecoveries, k.FastRetrans);
    assert_int_equal(k.Timeouts, 0);
}

static void established_lost_segment_recovery_not_undone(void **state)
{
    (void)state;
    struct utcp_counters k = run(TNET_DROP, true);
    assert_int_equal(k.FastRetrans, 1);
    assert_int_equal(k.SpuriousRecoveries, 0);
}

static void established_reordered_without_timestamps_not_undone(void **state)
{
    (void)state;
    struct utcp_counters k = run(TNET_PASS, false);
    assert_true(k.FastRetrans >= 1);
    assert_int_equal(k.SpuriousRecoveries, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_reordered_segment_fast_retransmit_undone),
        cmocka_unit_test(established_lost_segment_recovery_not_undone),
        cmocka_unit_test(established_reordered_without_timestamps_not_undone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
