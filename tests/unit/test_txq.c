/*
 * The runtime's transmit ring (src/run/txq.c): every packet reaches the
 * writer once, whole and in order, across wraps of the ring, with a writer
 * slower than the producer (the producer waits, nothing is lost), with
 * metadata, and stop writes what is queued before it returns.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "run/txq.h"
#include "utcp/errors.h"

struct sink {
    uint64_t n;         /* packets seen */
    uint64_t bad;       /* packets not as expected */
    uint64_t meta_seen; /* with metadata, and it matched */
    long slow_ns;       /* sleep per packet (a slow device) */
    long ret;           /* what to return (0: the length) */
};

/* Packet i: length 1 + (i * 7919) % 1600 (some above a 1500 MTU), byte j
 * = (i + j * 31) & 0xff; every third carries meta {i % 1000, 54, true}. */
static size_t pkt_len(uint64_t i)
{
    return 1 + (size_t)((i * 7919u) % 1600u);
}

static void pkt_fill(uint8_t *p, uint64_t i)
{
    for (size_t j = 0; j < pkt_len(i); j++)
        p[j] = (uint8_t)(i + j * 31u);
}

static long sink_write(void *ctx, const uint8_t *pkt, size_t len,
                       const struct utcp_output_meta *meta)
{
    struct sink *s = ctx;
    uint64_t i = s->n++;
    bool ok = len == pkt_len(i);
    for (size_t j = 0; ok && j < len; j++)
        ok = pkt[j] == (uint8_t)(i + j * 31u);
    if (i % 3 == 0) {
        ok = ok && meta && meta->gso_size == i % 1000 &&
             meta->hdr_len == 54 && meta->csum_partial;
        if (ok)
            s->meta_seen++;
    } else {
        ok = ok && !meta;
    }
    if (!ok)
        s->bad++;
    if (s->slow_ns) {
        struct timespec ts = {0, s->slow_ns};
        nanosleep(&ts, NULL);
    }
    return s->ret ? s->ret : (long)len;
}

static void push_n(struct utcp_txq *q, uint64_t n)
{
    uint8_t buf[1600];
    for (uint64_t i = 0; i < n; i++) {
        pkt_fill(buf, i);
        struct utcp_output_meta m = {(uint16_t)(i % 1000), 54, true};
        assert_int_equal(
            utcp_txq_push(q, buf, pkt_len(i), i % 3 == 0 ? &m : NULL), 0);
    }
}

static void txq_every_packet_in_order_across_wraps(void **state)
{
    (void)state;
    struct sink s = {0};
    struct utcp_txq *q;
    /* 64 KiB ring, 200000 packets of ~800 bytes: the ring wraps ~2500
     * times */
    assert_int_equal(utcp_txq_start(&q, sink_write, &s, 1000), 0);
    push_n(q, 200000);
    utcp_txq_stop(q); /* returns once everything is written */
    assert_int_equal(s.n, 200000);
    assert_int_equal(s.bad, 0);
    assert_int_equal(s.meta_seen, (200000 + 2) / 3);
}

static void txq_slow_writer_producer_waits_nothing_lost(void **state)
{
    (void)state;
    struct sink s = {0};
    s.slow_ns = 20000; /* 20 us per packet: the ring fills at once */
    struct utcp_txq *q;
    assert_int_equal(utcp_txq_start(&q, sink_write, &s, 64 * 1024), 0);
    push_n(q, 3000);
    struct utcp_txq_stats st;
    utcp_txq_get_stats(q, &st);
    assert_true(st.packets <= 3000);
    utcp_txq_stop(q);
    assert_int_equal(s.n, 3000);
    assert_int_equal(s.bad, 0);
}

static void txq_counts_written_dropped_and_errors(void **state)
{
    (void)state;
    struct sink s = {0};
    struct utcp_txq *q;
    assert_int_equal(utcp_txq_start(&q, sink_write, &s, 1 << 20), 0);
    push_n(q, 10);
    /* wait for the ten to be written, then make the device refuse */
    struct utcp_txq_stats st;
    for (int k = 0; k < 10000; k++) {
        utcp_txq_get_stats(q, &st);
        if (st.packets == 10)
            break;
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(st.packets, 10);
    uint64_t bytes = 0;
    for (uint64_t i = 0; i < 10; i++)
        bytes += pkt_len(i);
    assert_int_equal(st.bytes, bytes);
    s.ret = UTCP_EAGAIN;
    uint8_t buf[1600];
    pkt_fill(buf, 10);
    assert_int_equal(utcp_txq_push(q, buf, pkt_len(10), NULL), 0);
    for (int k = 0; k < 10000; k++) {
        utcp_txq_get_stats(q, &st);
        if (st.dropped == 1)
            break;
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    assert_int_equal(st.dropped, 1);
    s.ret = UTCP_EINVAL;
    pkt_fill(buf, 11);
    assert_int_equal(utcp_txq_push(q, buf, pkt_len(11), NULL), 0);
    utcp_txq_stop(q);
    assert_int_equal(s.n, 12);
    assert_int_equal(s.bad, 0);
}

static void txq_packet_larger_than_half_the_ring_refused(void **state)
{
    (void)state;
    struct sink s = {0};
    struct utcp_txq *q;
    assert_int_equal(utcp_txq_start(&q, sink_write, &s, 64 * 1024), 0);
    static uint8_t big[40000];
    assert_int_equal(utcp_txq_push(q, big, sizeof big, NULL), UTCP_EINVAL);
    utcp_txq_stop(q);
    assert_int_equal(s.n, 0);
    utcp_txq_stop(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(txq_every_packet_in_order_across_wraps),
        cmocka_unit_test(txq_slow_writer_producer_waits_nothing_lost),
        cmocka_unit_test(txq_counts_written_dropped_and_errors),
        cmocka_unit_test(txq_packet_larger_than_half_the_ring_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
