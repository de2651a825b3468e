/*
 * The runtime's transmit ring (src/run/txq.c): every packet reaches the
 * writer once, whole and in order, across wraps of the ring, with a writer
 * slower than the producer (the producer waits, nothing is lost), with
 * metadata, and stop writes what is queued before it returns; packets
 * built in the ring (reserve, commit) the same.
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

/* The runtime writes an ACK itself when the ring is idle: idle must mean
 * every queued packet has been written, so the one written beside the
 * thread comes after them. */
static void txq_idle_only_once_everything_is_written(void **state)
{
    (void)state;
    struct sink s = {0};
    s.slow_ns = 200000; /* 200 us per packet: 20 take 4 ms */
    struct utcp_txq *q;
    assert_int_equal(utcp_txq_start(&q, sink_write, &s, 64 * 1024), 0);
    assert_true(utcp_txq_idle(q));
    push_n(q, 20);
    assert_false(utcp_txq_idle(q));
    utcp_txq_flush(q);
    for (int k = 0; k < 20000 && !utcp_txq_idle(q); k++) {
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    assert_true(utcp_txq_idle(q));
    assert_int_equal(s.n, 20);
    /* packet 20 written by the producer itself (no metadata: 20 % 3 != 0),
     * then 21 queued again (with metadata): the sink sees 0..21 in order */
    uint8_t buf[1600];
    pkt_fill(buf, 20);
    assert_int_equal(sink_write(&s, buf, pkt_len(20), NULL),
                     (long)pkt_len(20));
    pkt_fill(buf, 21);
    struct utcp_output_meta m = {21, 54, true}; /* 21 % 3 == 0 */
    assert_int_equal(utcp_txq_push(q, buf, pkt_len(21), &m), 0);
    utcp_txq_stop(q);
    assert_int_equal(s.n, 22);
    assert_int_equal(s.bad, 0);
}

static uint64_t written_after(struct utcp_txq *q, uint64_t want)
{
    struct utcp_txq_stats st = {0};
    for (int k = 0; k < 20000; k++) {
        utcp_txq_get_stats(q, &st);
        if (st.packets >= want)
            break;
        struct timespec ts = {0, 100000};
        nanosleep(&ts, NULL);
    }
    return st.packets;
}

/* The producer hands its packets over in groups (each hand-over moves a
 * cache line between the cores): a steady producer's packets reach the
 * writer without a flush, and a flush hands over a last short group. */
static void txq_flush_hands_over_the_last_packets(void **state)
{
    (void)state;
    struct sink s = {0};
    struct utcp_txq *q;
    assert_int_equal(utcp_txq_start(&q, sink_write, &s, 1 << 20), 0);
    push_n(q, 64); /* no flush: a steady producer (groups of at most 16) */
    assert_true(written_after(q, 48) >= 48);
    uint8_t buf[1600];
    pkt_fill(buf, 64);
    assert_int_equal(utcp_txq_push(q, buf, pkt_len(64), NULL), 0);
    utcp_txq_flush(q);
    assert_int_equal(written_after(q, 65), 65);
    utcp_txq_flush(q); /* nothing left to hand over: harmless */
    utcp_txq_stop(q);
    assert_int_equal(s.n, 65);
    assert_int_equal(s.bad, 0);
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
    utcp_txq_flush(q);
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
    utcp_txq_flush(q);
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

/* Packets built in place (reserve, write, commit) mixed with pushes, some
 * reservations longer than the packet, some abandoned: the writer sees the
 * same sequence as with pushes only. */
static void reserve_commit_n(struct utcp_txq *q, uint64_t n)
{
    uint8_t buf[1600];
    for (uint64_t i = 0; i < n; i++) {
        struct utcp_output_meta m = {(uint16_t)(i % 1000), 54, true};
        const struct utcp_output_meta *mp = i % 3 == 0 ? &m : NULL;
        if (i % 7 == 3) {
            /* abandoned: the next reserve or push reuses the room */
            uint8_t *junk = utcp_txq_reserve(q, 1500);
            assert_non_null(junk);
            memset(junk, 0xEE, 1500);
        }
        if (i % 4 == 1) {
            pkt_fill(buf, i);
            assert_int_equal(utcp_txq_push(q, buf, pkt_len(i), mp), 0);
            continue;
        }
        size_t extra = (size_t)(i % 5) * 37u; /* reserved beyond the need */
        uint8_t *p = utcp_txq_reserve(q, pkt_len(i) + extra);
        assert_non_null(p);
        pkt_fill(p, i);
        assert_int_equal(utcp_txq_commit(q, pkt_len(i), mp), 0);
        /* committed: a second commit has no reservation */
        assert_int_equal(utcp_txq_commit(q, 1, NULL), UTCP_EINVAL);
    }
}

static void txq_reserve_commit_in_order_across_wraps(void **state)
{
    (void)state;
    struct sink s = {0};
    struct utcp_txq *q;
    assert_int_equal(utcp_txq_start(&q, sink_write, &s, 1000), 0);
    reserve_commit_n(q, 200000);
    utcp_txq_stop(q);
    assert_int_equal(s.n, 200000);
    assert_int_equal(s.bad, 0);
    assert_int_equal(s.meta_seen, (200000 + 2) / 3);
}

static void txq_reserve_slow_writer_producer_waits(void **state)
{
    (void)state;
    struct sink s = {0};
    s.slow_ns = 20000;
    struct utcp_txq *q;
    assert_int_equal(utcp_txq_start(&q, sink_write, &s, 64 * 1024), 0);
    reserve_commit_n(q, 3000);
    utcp_txq_stop(q);
    assert_int_equal(s.n, 3000);
    assert_int_equal(s.bad, 0);
}

static void txq_reserve_refusals(void **state)
{
    (void)state;
    struct sink s = {0};
    struct utcp_txq *q;
    assert_int_equal(utcp_txq_start(&q, sink_write, &s, 64 * 1024), 0);
    assert_int_equal(utcp_txq_commit(q, 10, NULL), UTCP_EINVAL);
    assert_null(utcp_txq_reserve(q, 40000)); /* more than half the ring */
    assert_int_equal(utcp_txq_commit(q, 10, NULL), UTCP_EINVAL);
    uint8_t *p = utcp_txq_reserve(q, 100);
    assert_non_null(p);
    assert_int_equal(utcp_txq_commit(q, 101, NULL), UTCP_EINVAL);
    pkt_fill(p, 0);
    struct utcp_output_meta m = {0, 54, true}; /* packet 0's */
    assert_int_equal(utcp_txq_commit(q, pkt_len(0), &m), 0);
    utcp_txq_stop(q);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.bad, 0);
}

/* utcp_txq_over: the bytes queued and not yet written, records rounded
 * up to cache lines, against a limit; it falls again as the writer frees
 * room. */
static void txq_over_counts_unwritten_records(void **state)
{
    (void)state;
    struct sink s = {0};
    s.slow_ns = 2000000; /* 2 ms per packet: the ring stays full a while */
    struct utcp_txq *q;
    assert_int_equal(utcp_txq_start(&q, sink_write, &s, 256 * 1024), 0);
    assert_false(utcp_txq_over(q, 1));
    uint8_t buf[1600];
    /* packets 0..9: lengths 1, 7920 % 1600 = 1520, ...; each record takes
     * its 12-byte header and packet rounded up to 64 bytes */
    uint32_t queued = 0;
    for (uint64_t i = 0; i < 10; i++) {
        pkt_fill(buf, i);
        struct utcp_output_meta m = {(uint16_t)(i % 1000), 54, true};
        assert_int_equal(
            utcp_txq_push(q, buf, pkt_len(i), i % 3 == 0 ? &m : NULL), 0);
        queued += (uint32_t)((12 + pkt_len(i) + 63) / 64 * 64);
    }
    /* at 2 ms a packet the writer is done with packet 0 (64 bytes) and
     * perhaps packet 1 (1536), not more; tail only moves forward, so
     * "over" holds below what is left, and never above all of it */
    assert_true(utcp_txq_over(q, queued - 1600 - 64));
    assert_false(utcp_txq_over(q, queued + 1));
    utcp_txq_flush(q);
    assert_int_equal(written_after(q, 10), 10);
    assert_false(utcp_txq_over(q, 64)); /* all written: nothing queued */
    utcp_txq_stop(q);
    assert_int_equal(s.n, 10);
    assert_int_equal(s.bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(txq_every_packet_in_order_across_wraps),
        cmocka_unit_test(txq_idle_only_once_everything_is_written),
        cmocka_unit_test(txq_flush_hands_over_the_last_packets),
        cmocka_unit_test(txq_slow_writer_producer_waits_nothing_lost),
        cmocka_unit_test(txq_counts_written_dropped_and_errors),
        cmocka_unit_test(txq_packet_larger_than_half_the_ring_refused),
        cmocka_unit_test(txq_reserve_commit_in_order_across_wraps),
        cmocka_unit_test(txq_reserve_slow_writer_producer_waits),
        cmocka_unit_test(txq_reserve_refusals),
        cmocka_unit_test(txq_over_counts_unwritten_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
