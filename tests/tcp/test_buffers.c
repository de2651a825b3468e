/*
 * Connection buffers at the stack level: ring storage is taken when data
 * arrives, sized to what is held (UTCP_RING_MIN first, doubled up to the
 * socket's buffer size), returned when the application has read everything,
 * and no allocation happens per segment; the stack's buffer cache keeps the
 * block freed last, so a busy connection whose receive ring empties between
 * reads does not go back to the allocator. The zero-copy calls
 * (utcp_send_reserve/commit, utcp_recv_peek/consume) move the same bytes
 * as utcp_send/utcp_recv and refuse what would corrupt the queues.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tcp/buf.h"
#include "tnet.h"

#define A 0
#define B 1
#define MS 1000ull

/* Tracks what the stacks hold and how often they ask. */
struct tracker {
    long long live;
    unsigned long calls;
    size_t largest;
};

static void *t_alloc(void *ctx, size_t n)
{
    struct tracker *t = ctx;
    void *p = malloc(n);
    if (p) {
        t->live += (long long)n;
        t->calls++;
        if (n > t->largest)
            t->largest = n;
    }
    return p;
}

static void t_free(void *ctx, void *p, size_t n)
{
    struct tracker *t = ctx;
    if (p)
        t->live -= (long long)n;
    free(p);
}

struct pair {
    struct tnet n;
    utcp_sock ca, cb;
};

static void pair_open(struct pair *p, struct utcp_config *c)
{
    tnet_init(&p->n, c);
    utcp_sock lb = tnet_listen(&p->n, B, 80, 4);
    p->ca = tnet_connect(&p->n, A, 80);
    tnet_run_for(&p->n, 100 * MS);
    assert_int_equal(utcp_accept(p->n.st[B], lb, &p->cb), 0);
    assert_int_equal(utcp_close(p->n.st[B], lb), 0);
}

/* A sends len bytes of a pattern; B reads all of them, checking each. */
static void move_bytes(struct pair *p, size_t len, uint8_t seed)
{
    static uint8_t buf[65536];
    size_t sent = 0, got = 0;
    int guard = 0;
    while (got < len) {
        if (sent < len) {
            size_t n = len - sent < sizeof buf ? len - sent : sizeof buf;
            for (size_t i = 0; i < n; i++)
                buf[i] = (uint8_t)(seed + sent + i);
            long r = utcp_send(p->n.st[A], p->ca, buf, n);
            if (r > 0)
                sent += (size_t)r;
            else
                assert_int_equal(r, UTCP_EAGAIN);
        }
        tnet_run_for(&p->n, 1 * MS);
        long r;
        while ((r = utcp_recv(p->n.st[B], p->cb, buf, sizeof buf)) > 0) {
            for (long i = 0; i < r; i++)
                if (buf[i] != (uint8_t)(seed + got + (size_t)i))
                    fail_msg("byte %zu differs", got + (size_t)i);
            got += (size_t)r;
        }
        assert_true(++guard < 100000);
    }
    tnet_run_for(&p->n, 100 * MS);
}

static void established_small_exchange_takes_small_rings(void **state)
{
    (void)state;
    struct tracker t = {0, 0, 0};
    struct utcp_allocator al = {t_alloc, t_free, &t};
    struct utcp_config c;
    utcp_config_init(&c);
    c.seed = 3;
    c.allocator = &al;
    c.buf_cache_bytes = SIZE_MAX; /* the allocator sees every block */
    c.sndbuf = c.rcvbuf = 1u << 20;
    struct pair p;
    pair_open(&p, &c);
    long long idle = t.live;
    t.largest = 0;

    move_bytes(&p, 100, 1);
    /* 100 bytes with 1 MiB buffers: one minimal ring on the sending side
     * at most, none on the receiving side once read. */
    assert_true(t.largest <= UTCP_RING_MIN);
    assert_true(t.live - idle <= (long long)UTCP_RING_MIN);
    unsigned long calls = t.calls;

    /* 300 KB: the rings double as needed, to no more than the buffer
     * size, and nothing is allocated per segment: with no cache the calls
     * are the doublings and the storage taken again after each drain (of
     * the receive ring, of the record of segments in flight), far fewer
     * than the ~205 segments. */
    move_bytes(&p, 300000, 2);
    assert_true(t.largest <= (size_t)c.sndbuf);
    assert_true(t.calls - calls <= 300000 / 1460 / 4);
    /* Read out: the receive ring went back. */
    assert_true(t.live - idle <= (long long)c.sndbuf);

    tnet_destroy(&p.n);
    assert_int_equal(t.live, 0);
}

static void established_receive_ring_reused_through_the_cache(void **state)
{
    (void)state;
    struct tracker t = {0, 0, 0};
    struct utcp_allocator al = {t_alloc, t_free, &t};
    struct utcp_config c;
    utcp_config_init(&c);
    c.seed = 4;
    c.allocator = &al;
    /* A cache little larger than one ring: the blocks a growing ring left
     * behind (508 KiB) must make room for the full-size one when it is
     * freed. */
    c.sndbuf = c.rcvbuf = 512u * 1024;
    c.buf_cache_bytes = 640u * 1024;
    struct pair p;
    pair_open(&p, &c);
    /* Warm up: the rings reach their full size, and the record of the
     * segments in flight the size the congestion window needs. */
    move_bytes(&p, 2u << 20, 5);
    move_bytes(&p, 2u << 20, 7);
    unsigned long calls = t.calls;
    move_bytes(&p, 2u << 20, 6);
    /* The receive ring is released each time B reads it empty and taken
     * again for the next segment: from the cache, not the allocator. */
    assert_int_equal(t.calls - calls, 0);
    tnet_destroy(&p.n);
    assert_int_equal(t.live, 0);
}

/* Zero-copy both ways: A writes straight into its send queue, B reads
 * straight from its receive queue; every byte arrives once, in order. */
static void established_zero_copy_moves_every_byte(void **state)
{
    (void)state;
    struct utcp_config c;
    utcp_config_init(&c);
    c.seed = 9;
    c.sndbuf = c.rcvbuf = 10000; /* small: the queues wrap often */
    struct pair p;
    pair_open(&p, &c);
    const size_t total = 300000;
    size_t sent = 0, got = 0;
    int guard = 0;
    while (got < total) {
        void *w;
        long r = utcp_send_reserve(p.n.st[A], p.ca, &w, total - sent);
        if (sent < total && r > 0) {
            size_t n = (size_t)r < total - sent ? (size_t)r : total - sent;
            for (size_t i = 0; i < n; i++)
                ((uint8_t *)w)[i] = (uint8_t)((sent + i) * 7 + 1);
            assert_int_equal(utcp_send_commit(p.n.st[A], p.ca, n), 0);
            sent += n;
        } else if (sent < total) {
            assert_int_equal(r, UTCP_EAGAIN);
        }
        tnet_run_for(&p.n, 1 * MS);
        const void *d;
        while ((r = utcp_recv_peek(p.n.st[B], p.cb, &d)) > 0) {
            const uint8_t *b = d;
            for (long i = 0; i < r; i++)
                if (b[i] != (uint8_t)((got + (size_t)i) * 7 + 1))
                    fail_msg("byte %zu differs", got + (size_t)i);
            /* consume in two steps: partial consumption is allowed */
            size_t half = (size_t)r / 2;
            assert_int_equal(utcp_recv_consume(p.n.st[B], p.cb, half), 0);
            assert_int_equal(
                utcp_recv_consume(p.n.st[B], p.cb, (size_t)r - half), 0);
            got += (size_t)r;
        }
        assert_int_equal(r, UTCP_EAGAIN);
        assert_true(++guard < 100000);
    }
    /* End of stream reads as 0 through peek as through recv. */
    assert_int_equal(utcp_shutdown(p.n.st[A], p.ca, UTCP_SHUT_WR), 0);
    tnet_run_for(&p.n, 100 * MS);
    const void *d;
    assert_int_equal(utcp_recv_peek(p.n.st[B], p.cb, &d), 0);
    assert_null(d);
    tnet_destroy(&p.n);
}

static void established_zero_copy_refuses_stale_or_oversized_commits(
    void **state)
{
    (void)state;
    struct utcp_config c;
    utcp_config_init(&c);
    c.seed = 10;
    c.sndbuf = c.rcvbuf = 8192;
    struct pair p;
    pair_open(&p, &c);
    struct utcp_stack *a = p.n.st[A];
    void *w;
    /* No reservation yet. */
    assert_int_equal(utcp_send_commit(a, p.ca, 1), UTCP_EINVAL);
    long r = utcp_send_reserve(a, p.ca, &w, 100);
    assert_int_equal(r, 100);
    memset(w, 'x', 100);
    /* More than was offered. */
    assert_int_equal(utcp_send_commit(a, p.ca, 101), UTCP_EINVAL);
    /* The stack ran in between: the reservation is gone, nothing queued. */
    tnet_run_for(&p.n, 1 * MS);
    assert_int_equal(utcp_send_commit(a, p.ca, 100), UTCP_EINVAL);
    /* A copying send in between ends it too. */
    assert_int_equal(utcp_send_reserve(a, p.ca, &w, 10), 10);
    assert_int_equal(utcp_send(a, p.ca, "abc", 3), 3);
    assert_int_equal(utcp_send_commit(a, p.ca, 10), UTCP_EINVAL);
    /* want 0: whatever is contiguous; fill the queue, then EAGAIN. */
    size_t queued = 3;
    while ((r = utcp_send_reserve(a, p.ca, &w, 0)) > 0) {
        memset(w, 'y', (size_t)r);
        assert_int_equal(utcp_send_commit(a, p.ca, (size_t)r), 0);
        queued += (size_t)r;
    }
    assert_int_equal(r, UTCP_EAGAIN);
    assert_null(w);
    assert_int_equal(queued, 8192);
    /* After shutdown of the sending side: EPIPE, like utcp_send. */
    tnet_run_for(&p.n, 500 * MS);
    assert_int_equal(utcp_shutdown(a, p.ca, UTCP_SHUT_WR), 0);
    assert_int_equal(utcp_send_reserve(a, p.ca, &w, 1), UTCP_EPIPE);
    /* The receiver got exactly what was committed. */
    tnet_run_for(&p.n, 500 * MS);
    static uint8_t buf[9000];
    size_t got = 0;
    while ((r = utcp_recv(p.n.st[B], p.cb, buf + got, sizeof buf - got)) > 0)
        got += (size_t)r;
    assert_int_equal(r, 0);
    assert_int_equal(got, 8192);
    assert_memory_equal(buf, "abc", 3);
    for (size_t i = 3; i < got; i++)
        assert_int_equal(buf[i], 'y');
    /* Consuming more than is queued, or on a listener, is refused. */
    assert_int_equal(utcp_recv_consume(p.n.st[B], p.cb, 1), UTCP_EINVAL);
    tnet_destroy(&p.n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(established_small_exchange_takes_small_rings),
        cmocka_unit_test(established_receive_ring_reused_through_the_cache),
        cmocka_unit_test(established_zero_copy_moves_every_byte),
        cmocka_unit_test(
            established_zero_copy_refuses_stale_or_oversized_commits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
