/*
 * Tests for the connection buffers (src/tcp/buf.c): the ring's lazy storage
 * (counted through a test allocator, including allocation failure), wrap
 * handling in write, write_at, peek, spans and consume, and set_cap; the
 * reassembly ranges (merge rules, the all-or-nothing overflow rule, advance,
 * covers), also across the 2^32 wrap; and randomised runs of both against
 * naive references (a linear buffer, a bitmap).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tcp/buf.h"
#include "utcp/wire.h"

/* ------------------------------------------------------------------------
 * A counting allocator that can be told to fail.
 * ------------------------------------------------------------------------ */

struct count_alloc {
    unsigned allocs, frees, fails;
    size_t last_alloc_size, last_free_size;
    size_t live_bytes;
    bool fail;
};

static void *ca_alloc(void *ctx, size_t size)
{
    struct count_alloc *c = ctx;
    if (c->fail) {
        c->fails++;
        return NULL;
    }
    c->allocs++;
    c->last_alloc_size = size;
    c->live_bytes += size;
    return malloc(size ? size : 1);
}

static void ca_free(void *ctx, void *p, size_t size)
{
    struct count_alloc *c = ctx;
    assert_non_null(p);
    c->frees++;
    c->last_free_size = size;
    assert_true(c->live_bytes >= size);
    c->live_bytes -= size;
    free(p);
}

static struct utcp_allocator make_alloc(struct count_alloc *c)
{
    memset(c, 0, sizeof *c);
    struct utcp_allocator a = {ca_alloc, ca_free, c};
    return a;
}

/* Deterministic pseudo-random numbers (xorshift64*). */
static uint64_t rng_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1DULL;
}

static uint32_t rng_below(uint64_t *s, uint32_t n)
{
    return (uint32_t)((rng_next(s) >> 32) % n);
}

static void fill_pattern(uint8_t *p, size_t n, uint8_t start)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (uint8_t)(start + i);
}

/* Peeks [off, off + n) and compares it with want. */
static void expect_bytes(const struct utcp_ring *r, uint32_t off,
                         const uint8_t *want, uint32_t n)
{
    static uint8_t got[65536];
    assert_true(n <= sizeof got);
    utcp__ring_peek(r, off, got, n);
    assert_memory_equal(got, want, n);
}

/* ------------------------------------------------------------------------
 * Ring
 * ------------------------------------------------------------------------ */

static void ring_init_holds_no_storage(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    utcp__ring_init(&r, 100);
    assert_null(r.data);
    assert_int_equal(r.cap, 100);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.head, 0);
    assert_int_equal(utcp__ring_free(&r), 100);
    /* Releasing a ring that never held storage frees nothing. */
    utcp__ring_release(&r, &a);
    assert_int_equal(c.allocs, 0);
    assert_int_equal(c.frees, 0);
    assert_null(r.data);
}

static void ring_allocates_cap_bytes_on_first_write_only(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    uint8_t src[64];
    fill_pattern(src, sizeof src, 1);
    utcp__ring_init(&r, 1000);

    /* A zero-length write takes no storage. */
    assert_int_equal(utcp__ring_write(&r, &a, src, 0), 0);
    assert_int_equal(c.allocs, 0);
    assert_null(r.data);

    assert_int_equal(utcp__ring_write(&r, &a, src, 10), 10);
    assert_int_equal(c.allocs, 1);
    assert_int_equal(c.last_alloc_size, 1000);
    assert_non_null(r.data);
    assert_int_equal(utcp__ring_write(&r, &a, src + 10, 20), 20);
    utcp__ring_consume(&r, 30);
    assert_int_equal(utcp__ring_write(&r, &a, src, 5), 5);
    assert_int_equal(c.allocs, 1);
    /* Consuming everything keeps the storage until release. */
    utcp__ring_consume(&r, 5);
    assert_non_null(r.data);
    assert_int_equal(c.frees, 0);

    utcp__ring_release(&r, &a);
    assert_int_equal(c.frees, 1);
    assert_int_equal(c.last_free_size, 1000);
    assert_int_equal(c.live_bytes, 0);
    assert_null(r.data);

    /* Usable again: a new write allocates again. */
    assert_int_equal(utcp__ring_write(&r, &a, src, 3), 3);
    assert_int_equal(c.allocs, 2);
    expect_bytes(&r, 0, src, 3);
    utcp__ring_release(&r, &a);
    assert_int_equal(c.frees, 2);
    assert_int_equal(c.live_bytes, 0);
}

static void ring_storage_doubles_up_to_cap_keeping_bytes(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    static uint8_t src[40000];
    fill_pattern(src, sizeof src, 7);
    utcp__ring_init(&r, 20000);

    /* A small write takes UTCP_RING_MIN bytes, not the whole capacity. */
    assert_int_equal(utcp__ring_write(&r, &a, src, 100), 100);
    assert_int_equal(c.allocs, 1);
    assert_int_equal(c.last_alloc_size, UTCP_RING_MIN);
    assert_int_equal(r.size, UTCP_RING_MIN);
    assert_int_equal(utcp__ring_free(&r), 20000 - 100);

    /* Make the stored bytes wrap in the small storage, then outgrow it:
     * the bytes move, in order, to the start of the doubled storage. */
    utcp__ring_consume(&r, 100);
    assert_int_equal(utcp__ring_write(&r, &a, src, 4000), 4000);
    utcp__ring_consume(&r, 3000);
    assert_int_equal(utcp__ring_write(&r, &a, src + 4000, 3000), 3000);
    assert_int_equal(r.size, UTCP_RING_MIN); /* 4000 held, wrapped */
    assert_int_equal(utcp__ring_write(&r, &a, src + 7000, 200), 200);
    assert_int_equal(c.allocs, 2);
    assert_int_equal(c.last_alloc_size, 2 * UTCP_RING_MIN);
    assert_int_equal(c.frees, 1);
    assert_int_equal(c.last_free_size, UTCP_RING_MIN);
    assert_int_equal(r.head, 0);
    expect_bytes(&r, 0, src + 3000, 4200);

    /* Out-of-order bytes far ahead grow it to the capacity at most, and
     * the bytes held ahead move with the rest. */
    assert_true(utcp__ring_write_at(&r, &a, 100, src + 9000, 50));
    assert_true(utcp__ring_write_at(&r, &a, 15000, src + 100, 800));
    assert_int_equal(r.size, 20000);
    assert_int_equal(c.last_alloc_size, 20000);
    uint8_t out[800];
    /* Read the bytes held ahead back by committing up to them. */
    utcp__ring_commit(&r, 15800);
    utcp__ring_peek(&r, 4200 + 100, out, 50);
    assert_memory_equal(out, src + 9000, 50);
    utcp__ring_peek(&r, 4200 + 15000, out, 800);
    assert_memory_equal(out, src + 100, 800);
    expect_bytes(&r, 0, src + 3000, 4200);
    /* Full: nothing more fits and nothing more is allocated. */
    assert_int_equal(utcp__ring_free(&r), 0);
    assert_int_equal(utcp__ring_write(&r, &a, src, 10), 0);
    assert_int_equal(c.allocs, 3);

    utcp__ring_release(&r, &a);
    assert_int_equal(c.last_free_size, 20000);
    assert_int_equal(c.live_bytes, 0);
    assert_int_equal(r.size, 0);

    /* Storage taken again starts at the size last released: a busy
     * connection whose ring empties often does not regrow it. */
    assert_int_equal(utcp__ring_write(&r, &a, src, 10), 10);
    assert_int_equal(c.last_alloc_size, 20000);
    utcp__ring_release(&r, &a);
    assert_int_equal(c.live_bytes, 0);
}

static void ring_growth_failure_keeps_ring(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    static uint8_t src[9000];
    fill_pattern(src, sizeof src, 3);
    utcp__ring_init(&r, 65536);
    assert_int_equal(utcp__ring_write(&r, &a, src, 4000), 4000);
    c.fail = true;
    /* Growth fails: the write stores nothing, the old bytes stay. */
    assert_int_equal(utcp__ring_write(&r, &a, src + 4000, 5000), 0);
    assert_false(utcp__ring_write_at(&r, &a, 5000, src, 10));
    assert_int_equal(r.size, UTCP_RING_MIN);
    expect_bytes(&r, 0, src, 4000);
    c.fail = false;
    assert_int_equal(utcp__ring_write(&r, &a, src + 4000, 5000), 5000);
    expect_bytes(&r, 0, src, 9000);
    assert_int_equal(r.size, 4 * UTCP_RING_MIN);
    utcp__ring_release(&r, &a);
    assert_int_equal(c.live_bytes, 0);
}

static void ring_release_drops_stored_bytes(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    uint8_t src[8] = {1, 2, 3, 4, 5, 6, 7, 8};
    utcp__ring_init(&r, 16);
    assert_int_equal(utcp__ring_write(&r, &a, src, 8), 8);
    utcp__ring_consume(&r, 3);
    assert_true(utcp__ring_write_at(&r, &a, 2, src, 4));
    utcp__ring_release(&r, &a);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.head, 0);
    assert_int_equal(r.ahead, 0);
    assert_int_equal(utcp__ring_free(&r), 16);
    assert_int_equal(c.live_bytes, 0);
}

static void ring_write_at_allocates_lazily(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    uint8_t src[4] = {9, 8, 7, 6};
    utcp__ring_init(&r, 32);
    assert_true(utcp__ring_write_at(&r, &a, 5, src, 0));
    assert_int_equal(c.allocs, 0);
    assert_null(r.data);
    assert_true(utcp__ring_write_at(&r, &a, 5, src, 4));
    assert_int_equal(c.allocs, 1);
    assert_int_equal(c.last_alloc_size, 32);
    assert_int_equal(r.len, 0);
    utcp__ring_release(&r, &a);
    assert_int_equal(c.live_bytes, 0);
}

static void ring_write_stops_when_full(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    uint8_t src[16];
    fill_pattern(src, sizeof src, 0x40);
    utcp__ring_init(&r, 10);
    assert_int_equal(utcp__ring_write(&r, &a, src, 16), 10);
    assert_int_equal(r.len, 10);
    assert_int_equal(utcp__ring_free(&r), 0);
    assert_int_equal(utcp__ring_write(&r, &a, src, 1), 0);
    expect_bytes(&r, 0, src, 10);
    utcp__ring_release(&r, &a);

    /* A zero-capacity ring never allocates. */
    utcp__ring_init(&r, 0);
    assert_int_equal(utcp__ring_write(&r, &a, src, 5), 0);
    assert_null(r.data);
    assert_int_equal(c.allocs, 1);
    utcp__ring_release(&r, &a);
    assert_int_equal(c.live_bytes, 0);
}

static void ring_write_peek_consume_across_wrap(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    uint8_t src[16], want[16];
    utcp__ring_init(&r, 16);
    fill_pattern(src, 12, 0);
    assert_int_equal(utcp__ring_write(&r, &a, src, 12), 12);
    utcp__ring_consume(&r, 10);
    assert_int_equal(r.head, 10);
    assert_int_equal(r.len, 2);

    /* 14 more bytes: 4 at the end of data, 10 at its start. */
    fill_pattern(src, 14, 100);
    assert_int_equal(utcp__ring_write(&r, &a, src, 14), 14);
    assert_int_equal(r.len, 16);
    assert_int_equal(utcp__ring_free(&r), 0);
    want[0] = 10;
    want[1] = 11;
    fill_pattern(want + 2, 14, 100);
    expect_bytes(&r, 0, want, 16);
    /* Peeks that start after the wrap and that straddle it. */
    expect_bytes(&r, 7, want + 7, 9);
    expect_bytes(&r, 3, want + 3, 5);
    expect_bytes(&r, 5, want + 5, 1);
    assert_int_equal(r.data[0], want[6]);

    /* Consume across the wrap point. */
    utcp__ring_consume(&r, 9);
    assert_int_equal(r.head, 3);
    assert_int_equal(r.len, 7);
    expect_bytes(&r, 0, want + 9, 7);
    utcp__ring_release(&r, &a);
}

static void ring_consume_everything_resets_head(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    uint8_t src[10];
    fill_pattern(src, sizeof src, 1);
    utcp__ring_init(&r, 10);
    assert_int_equal(utcp__ring_write(&r, &a, src, 7), 7);
    utcp__ring_consume(&r, 4);
    assert_int_equal(r.head, 4);
    utcp__ring_consume(&r, 3);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.head, 0);
    /* The next write is contiguous again. */
    assert_int_equal(utcp__ring_write(&r, &a, src, 10), 10);
    const uint8_t *p1, *p2;
    uint32_t n1, n2;
    assert_int_equal(utcp__ring_spans(&r, 0, 10, &p1, &n1, &p2, &n2), 1);
    assert_ptr_equal(p1, r.data);
    assert_int_equal(n1, 10);
    /* A full ring consumed whole (head lands on cap - head): reset too. */
    utcp__ring_consume(&r, 3);
    assert_int_equal(utcp__ring_write(&r, &a, src, 3), 3);
    utcp__ring_consume(&r, 10);
    assert_int_equal(r.head, 0);
    utcp__ring_consume(&r, 0);
    assert_int_equal(r.head, 0);
    utcp__ring_release(&r, &a);
}

static void ring_consume_everything_keeps_data_held_ahead(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    uint8_t in[8] = {1, 2, 3, 4, 5, 6, 7, 8}, ooo[3] = {0xa, 0xb, 0xc};
    uint8_t want[6] = {0xd, 0xe, 0xf, 0xa, 0xb, 0xc};
    utcp__ring_init(&r, 12);
    assert_int_equal(utcp__ring_write(&r, &a, in, 8), 8);
    utcp__ring_consume(&r, 6); /* head = 6, len = 2 */
    /* Out-of-order bytes 3 ahead of the stored ones: data[11], [0], [1]. */
    assert_true(utcp__ring_write_at(&r, &a, 3, ooo, 3));
    assert_int_equal(r.ahead, 6);
    utcp__ring_consume(&r, 2);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.head, 8); /* kept for the bytes held ahead */
    /* The hole is filled in order, then the held bytes are committed. */
    assert_int_equal(utcp__ring_write(&r, &a, want, 3), 3);
    assert_int_equal(r.ahead, 3);
    utcp__ring_commit(&r, 3);
    assert_int_equal(r.ahead, 0);
    assert_int_equal(r.len, 6);
    expect_bytes(&r, 0, want, 6);
    utcp__ring_consume(&r, 6);
    assert_int_equal(r.head, 0); /* nothing ahead any more */
    utcp__ring_release(&r, &a);
}

/* peek_csum copies like peek and returns the partial sum of the copy,
 * across the wrap and with a first span of odd length. */
static void ring_peek_csum_equals_copy_then_sum(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    uint64_t seed = 99;
    for (int round = 0; round < 400; round++) {
        uint32_t cap = 64 + (uint32_t)(rng_next(&seed) % 4000);
        struct utcp_ring r;
        utcp__ring_init(&r, cap);
        uint8_t src[4096];
        for (size_t i = 0; i < sizeof src; i++)
            src[i] = (uint8_t)rng_next(&seed);
        /* move head somewhere, odd or even, then fill */
        uint32_t skip = (uint32_t)(rng_next(&seed) % cap);
        assert_int_equal(utcp__ring_write(&r, &a, src, skip), skip);
        utcp__ring_consume(&r, skip);
        uint32_t fill = cap - (uint32_t)(rng_next(&seed) % (cap / 2));
        assert_int_equal(utcp__ring_write(&r, &a, src, fill), fill);
        uint32_t off = (uint32_t)(rng_next(&seed) % fill);
        uint32_t n = (uint32_t)(rng_next(&seed) % (fill - off + 1));
        uint8_t d1[4096], d2[4096];
        uint32_t s = utcp__ring_peek_csum(&r, off, d1, n);
        utcp__ring_peek(&r, off, d2, n);
        assert_memory_equal(d1, d2, n);
        assert_int_equal(utcp_csum_fold(s),
                         utcp_csum_fold(utcp_csum_partial(d2, n, 0)));
        utcp__ring_release(&r, &a);
    }
    assert_int_equal(c.live_bytes, 0);
}

static void ring_spans_one_or_two(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    uint8_t src[30];
    const uint8_t *p1, *p2;
    uint32_t n1, n2;
    fill_pattern(src, sizeof src, 0);
    utcp__ring_init(&r, 20);

    /* Empty ring, empty request: no spans. */
    assert_int_equal(utcp__ring_spans(&r, 0, 0, &p1, &n1, &p2, &n2), 0);
    assert_null(p1);
    assert_int_equal(n1, 0);
    assert_null(p2);
    assert_int_equal(n2, 0);

    assert_int_equal(utcp__ring_write(&r, &a, src, 15), 15);
    utcp__ring_consume(&r, 12); /* head = 12, len = 3 */
    assert_int_equal(utcp__ring_write(&r, &a, src + 15, 12), 12);
    /* Stored: src[12..27), offsets 0..7 at data[12..20), 8..14 at
     * data[0..7). */
    assert_int_equal(utcp__ring_spans(&r, 0, 8, &p1, &n1, &p2, &n2), 1);
    assert_ptr_equal(p1, r.data + 12);
    assert_int_equal(n1, 8);
    assert_null(p2);
    assert_int_equal(n2, 0);

    assert_int_equal(utcp__ring_spans(&r, 2, 10, &p1, &n1, &p2, &n2), 2);
    assert_ptr_equal(p1, r.data + 14);
    assert_int_equal(n1, 6);
    assert_ptr_equal(p2, r.data);
    assert_int_equal(n2, 4);
    assert_memory_equal(p1, src + 14, 6);
    assert_memory_equal(p2, src + 20, 4);

    assert_int_equal(utcp__ring_spans(&r, 9, 6, &p1, &n1, &p2, &n2), 1);
    assert_ptr_equal(p1, r.data + 1);
    assert_int_equal(n1, 6);
    assert_memory_equal(p1, src + 21, 6);

    assert_int_equal(utcp__ring_spans(&r, 0, 15, &p1, &n1, &p2, &n2), 2);
    assert_int_equal(n1 + n2, 15);

    assert_int_equal(utcp__ring_spans(&r, 8, 0, &p1, &n1, &p2, &n2), 0);
    utcp__ring_release(&r, &a);
}

static void ring_write_at_then_commit(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    uint8_t src[16], want[16];
    fill_pattern(want, sizeof want, 0x30);
    utcp__ring_init(&r, 16);
    /* Move head near the end so what follows wraps. */
    fill_pattern(src, 13, 0);
    assert_int_equal(utcp__ring_write(&r, &a, src, 13), 13);
    utcp__ring_consume(&r, 11);
    assert_int_equal(r.head, 11);
    /* Stored: 2 bytes at data[11..13). Out of order: 5..9 after them,
     * i.e. offsets 7..12 from head, data[2..7) after the wrap; then 0..5
     * straddling the wrap. */
    assert_true(utcp__ring_write_at(&r, &a, 5, want + 5, 5));
    assert_int_equal(r.len, 2);
    assert_true(utcp__ring_write_at(&r, &a, 0, want, 5));
    assert_int_equal(r.len, 2);
    utcp__ring_commit(&r, 10);
    assert_int_equal(r.len, 12);
    expect_bytes(&r, 2, want, 10);
    /* Fill up to cap exactly, then consume to check order. */
    assert_true(utcp__ring_write_at(&r, &a, 0, want + 10, 4));
    utcp__ring_commit(&r, 4);
    assert_int_equal(utcp__ring_free(&r), 0);
    utcp__ring_consume(&r, 2);
    expect_bytes(&r, 0, want, 14);
    utcp__ring_release(&r, &a);
    assert_int_equal(c.live_bytes, 0);
}

static void ring_set_cap_rules(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    uint8_t b = 1;
    utcp__ring_init(&r, 8);
    /* Empty, no storage: allowed. */
    assert_true(utcp__ring_set_cap(&r, 32));
    assert_int_equal(r.cap, 32);
    assert_int_equal(utcp__ring_free(&r), 32);
    /* Not empty: refused, even for the same capacity. */
    assert_int_equal(utcp__ring_write(&r, &a, &b, 1), 1);
    assert_false(utcp__ring_set_cap(&r, 64));
    assert_false(utcp__ring_set_cap(&r, 32));
    assert_int_equal(r.cap, 32);
    /* Empty but storage held: a new capacity is refused (the storage must
     * be freed with its own size), the same one is fine. */
    utcp__ring_consume(&r, 1);
    assert_false(utcp__ring_set_cap(&r, 64));
    assert_true(utcp__ring_set_cap(&r, 32));
    assert_int_equal(r.cap, 32);
    utcp__ring_release(&r, &a);
    assert_int_equal(c.last_free_size, 32);
    assert_true(utcp__ring_set_cap(&r, 64));
    assert_int_equal(utcp__ring_write(&r, &a, &b, 1), 1);
    assert_int_equal(c.last_alloc_size, 64);
    utcp__ring_release(&r, &a);
    assert_int_equal(c.last_free_size, 64);
    assert_int_equal(c.live_bytes, 0);
}

static void ring_allocation_failure_is_reported(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    uint8_t src[4] = {1, 2, 3, 4};
    utcp__ring_init(&r, 64);
    c.fail = true;
    assert_int_equal(utcp__ring_write(&r, &a, src, 4), 0);
    /* Told apart from "full" by the free space. */
    assert_int_equal(utcp__ring_free(&r), 64);
    assert_false(utcp__ring_write_at(&r, &a, 3, src, 4));
    assert_int_equal(c.fails, 2);
    assert_null(r.data);
    assert_int_equal(r.len, 0);
    assert_int_equal(r.head, 0);
    assert_int_equal(r.ahead, 0);
    /* The ring works once memory is back. */
    c.fail = false;
    assert_int_equal(utcp__ring_write(&r, &a, src, 4), 4);
    expect_bytes(&r, 0, src, 4);
    /* With storage in hand, a failing allocator is never asked again. */
    c.fail = true;
    assert_int_equal(utcp__ring_write(&r, &a, src, 4), 4);
    assert_true(utcp__ring_write_at(&r, &a, 1, src, 2));
    assert_int_equal(c.fails, 2);
    utcp__ring_release(&r, &a);
    assert_int_equal(c.live_bytes, 0);
}

/* Random operations against a linear model: `stored` holds the stored bytes
 * in order, `ahead`/`valid` what write_at put past them. */
struct ring_model {
    uint8_t stored[256];
    uint32_t len;
    uint8_t ahead[256];
    bool valid[256];
};

static void model_shift_ahead(struct ring_model *m, uint32_t n, uint32_t cap)
{
    memmove(m->ahead, m->ahead + n, cap - n);
    memmove(m->valid, m->valid + n, (cap - n) * sizeof m->valid[0]);
    memset(m->valid + cap - n, 0, n * sizeof m->valid[0]);
}

static void ring_random_against_linear_model(void **state)
{
    (void)state;
    struct count_alloc c;
    struct utcp_allocator a = make_alloc(&c);
    struct utcp_ring r;
    struct ring_model m;
    uint64_t seed = 0x9E3779B97F4A7C15ULL;
    uint8_t buf[256], next = 0;
    unsigned wraps = 0, twospans = 0, releases = 0;

    for (int round = 0; round < 200; round++) {
        uint32_t cap = 1 + rng_below(&seed, 200);
        utcp__ring_init(&r, cap);
        memset(&m, 0, sizeof m);
        for (int op = 0; op < 500; op++) {
            uint32_t k = rng_below(&seed, 100), n, off;
            uint32_t room = cap - m.len;
            if (k < 30) { /* write */
                n = rng_below(&seed, cap + 5);
                for (uint32_t i = 0; i < n; i++)
                    buf[i] = next++;
                uint32_t w = utcp__ring_write(&r, &a, buf, n);
                uint32_t want = n < room ? n : room;
                assert_int_equal(w, want);
                memcpy(m.stored + m.len, buf, w);
                m.len += w;
                model_shift_ahead(&m, w, cap);
            } else if (k < 45 && room > 0) { /* write_at */
                off = rng_below(&seed, room);
                n = rng_below(&seed, room - off + 1);
                for (uint32_t i = 0; i < n; i++)
                    buf[i] = next++;
                assert_true(utcp__ring_write_at(&r, &a, off, buf, n));
                memcpy(m.ahead + off, buf, n);
                for (uint32_t i = 0; i < n; i++)
                    m.valid[off + i] = true;
            } else if (k < 55) { /* commit what is there in order */
                uint32_t have = 0;
                while (have < room && m.valid[have])
                    have++;
                n = have ? rng_below(&seed, have + 1) : 0;
                utcp__ring_commit(&r, n);
                memcpy(m.stored + m.len, m.ahead, n);
                m.len += n;
                model_shift_ahead(&m, n, cap);
            } else if (k < 80) { /* consume */
                n = m.len ? rng_below(&seed, m.len + 1) : 0;
                uint32_t before = r.head;
                utcp__ring_consume(&r, n);
                if (n && r.len && r.head < before)
                    wraps++;
                memmove(m.stored, m.stored + n, m.len - n);
                m.len -= n;
            } else if (k < 95) { /* spans of a random slice */
                const uint8_t *p1, *p2;
                uint32_t n1, n2;
                off = m.len ? rng_below(&seed, m.len + 1) : 0;
                n = rng_below(&seed, m.len - off + 1);
                int s = utcp__ring_spans(&r, off, n, &p1, &n1, &p2, &n2);
                assert_int_equal(s, n == 0 ? 0 : (n2 ? 2 : 1));
                assert_int_equal(n1 + n2, n);
                if (s >= 1) {
                    assert_true(n1 > 0);
                    assert_true(p1 >= r.data && p1 + n1 <= r.data + cap);
                    assert_memory_equal(p1, m.stored + off, n1);
                }
                if (s == 2) {
                    assert_ptr_equal(p2, r.data);
                    assert_true(p1 + n1 == r.data + cap);
                    assert_memory_equal(p2, m.stored + off + n1, n2);
                    twospans++;
                }
            } else { /* release when nothing is held */
                bool held = false;
                for (uint32_t i = 0; i < room; i++)
                    held = held || m.valid[i];
                if (m.len == 0 && !held) {
                    utcp__ring_release(&r, &a);
                    assert_null(r.data);
                    releases++;
                }
            }
            /* Invariants after every step. */
            assert_int_equal(r.len, m.len);
            assert_int_equal(r.cap, cap);
            assert_true(r.head < cap || (cap == 0 && r.head == 0));
            assert_true(r.ahead <= cap - r.len);
            if (m.len) {
                assert_non_null(r.data);
                utcp__ring_peek(&r, 0, buf, m.len);
                assert_memory_equal(buf, m.stored, m.len);
            }
            uint32_t held_end = 0;
            for (uint32_t i = 0; i < cap - m.len; i++)
                if (m.valid[i])
                    held_end = i + 1;
            assert_int_equal(r.ahead, held_end);
            if (r.len == 0 && r.ahead == 0)
                assert_int_equal(r.head, 0);
            if (r.data)
                assert_int_equal(c.live_bytes, cap);
            else
                assert_int_equal(c.live_bytes, 0);
        }
        utcp__ring_release(&r, &a);
        assert_int_equal(c.live_bytes, 0);
    }
    assert_int_equal(c.allocs, c.frees);
    /* The run exercised what it is meant to. */
    assert_true(wraps > 100);
    assert_true(twospans > 100);
    assert_true(releases > 100);
}

/* ------------------------------------------------------------------------
 * Ranges
 * ------------------------------------------------------------------------ */

/* Checks the set holds exactly the n ranges given as (left, right) pairs. */
static void expect_ranges(const struct utcp_ranges *s, size_t n,
                          const utcp_seq *lr)
{
    assert_int_equal(s->n, n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(s->r[i].left, lr[2 * i]);
        assert_int_equal(s->r[i].right, lr[2 * i + 1]);
    }
}

#define EXPECT_RANGES(s, ...)                                                  \
    do {                                                                       \
        const utcp_seq lr_[] = {__VA_ARGS__};                                  \
        expect_ranges((s), UTCP_ARRAY_LEN(lr_) / 2, lr_);                      \
    } while (0)

/* Every test runs at several bases: plain, across the sign bit of a raw
 * comparison, and across the 2^32 wrap (B + 0x100 is 0x00000000). */
static const utcp_seq test_bases[] = {0, 1000, 0x7FFFFF80u, 0xFFFFFF00u,
                                      0xFFFFFFF0u};

static void ranges_add_disjoint_sorted(void **state)
{
    (void)state;
    for (size_t t = 0; t < UTCP_ARRAY_LEN(test_bases); t++) {
        utcp_seq B = test_bases[t];
        struct utcp_ranges s;
        utcp__ranges_init(&s);
        assert_true(utcp__ranges_add(&s, B, B + 10, B + 20));
        assert_true(utcp__ranges_add(&s, B, B + 30, B + 40));
        assert_true(utcp__ranges_add(&s, B, B + 50, B + 300));
        EXPECT_RANGES(&s, B + 10, B + 20, B + 30, B + 40, B + 50, B + 300);
        /* Empty ranges add nothing. */
        assert_true(utcp__ranges_add(&s, B, B + 25, B + 25));
        assert_true(utcp__ranges_add(&s, B, B + 26, B + 24));
        EXPECT_RANGES(&s, B + 10, B + 20, B + 30, B + 40, B + 50, B + 300);
    }
}

static void ranges_add_out_of_order_insertion(void **state)
{
    (void)state;
    for (size_t t = 0; t < UTCP_ARRAY_LEN(test_bases); t++) {
        utcp_seq B = test_bases[t];
        struct utcp_ranges s;
        utcp__ranges_init(&s);
        assert_true(utcp__ranges_add(&s, B, B + 500, B + 600));
        assert_true(utcp__ranges_add(&s, B, B + 100, B + 200));
        assert_true(utcp__ranges_add(&s, B, B + 300, B + 400));
        assert_true(utcp__ranges_add(&s, B, B + 1, B + 2));
        assert_true(utcp__ranges_add(&s, B, B + 700, B + 800));
        EXPECT_RANGES(&s, B + 1, B + 2, B + 100, B + 200, B + 300, B + 400,
                      B + 500, B + 600, B + 700, B + 800);
    }
}

static void ranges_add_overlapping_merges(void **state)
{
    (void)state;
    for (size_t t = 0; t < UTCP_ARRAY_LEN(test_bases); t++) {
        utcp_seq B = test_bases[t];
        struct utcp_ranges s;
        utcp__ranges_init(&s);
        assert_true(utcp__ranges_add(&s, B, B + 100, B + 200));
        assert_true(utcp__ranges_add(&s, B, B + 150, B + 250)); /* right */
        EXPECT_RANGES(&s, B + 100, B + 250);
        assert_true(utcp__ranges_add(&s, B, B + 50, B + 101)); /* left */
        EXPECT_RANGES(&s, B + 50, B + 250);
        assert_true(utcp__ranges_add(&s, B, B + 10, B + 300)); /* around */
        EXPECT_RANGES(&s, B + 10, B + 300);
    }
}

static void ranges_add_adjacent_merges(void **state)
{
    (void)state;
    for (size_t t = 0; t < UTCP_ARRAY_LEN(test_bases); t++) {
        utcp_seq B = test_bases[t];
        struct utcp_ranges s;
        utcp__ranges_init(&s);
        assert_true(utcp__ranges_add(&s, B, B + 100, B + 200));
        assert_true(utcp__ranges_add(&s, B, B + 200, B + 210)); /* after */
        EXPECT_RANGES(&s, B + 100, B + 210);
        assert_true(utcp__ranges_add(&s, B, B + 90, B + 100)); /* before */
        EXPECT_RANGES(&s, B + 90, B + 210);
        /* One byte between two ranges joins them. */
        assert_true(utcp__ranges_add(&s, B, B + 212, B + 220));
        EXPECT_RANGES(&s, B + 90, B + 210, B + 212, B + 220);
        assert_true(utcp__ranges_add(&s, B, B + 210, B + 212));
        EXPECT_RANGES(&s, B + 90, B + 220);
        /* One byte apart is not adjacent. */
        assert_true(utcp__ranges_add(&s, B, B + 221, B + 230));
        EXPECT_RANGES(&s, B + 90, B + 220, B + 221, B + 230);
    }
}

static void ranges_add_contained_changes_nothing(void **state)
{
    (void)state;
    for (size_t t = 0; t < UTCP_ARRAY_LEN(test_bases); t++) {
        utcp_seq B = test_bases[t];
        struct utcp_ranges s;
        utcp__ranges_init(&s);
        assert_true(utcp__ranges_add(&s, B, B + 100, B + 200));
        assert_true(utcp__ranges_add(&s, B, B + 300, B + 400));
        assert_true(utcp__ranges_add(&s, B, B + 120, B + 180));
        assert_true(utcp__ranges_add(&s, B, B + 100, B + 200));
        assert_true(utcp__ranges_add(&s, B, B + 300, B + 301));
        assert_true(utcp__ranges_add(&s, B, B + 399, B + 400));
        EXPECT_RANGES(&s, B + 100, B + 200, B + 300, B + 400);
    }
}

static void ranges_add_spanning_several_merges_all(void **state)
{
    (void)state;
    for (size_t t = 0; t < UTCP_ARRAY_LEN(test_bases); t++) {
        utcp_seq B = test_bases[t];
        struct utcp_ranges s;
        utcp__ranges_init(&s);
        for (utcp_seq i = 0; i < 6; i++)
            assert_true(
                utcp__ranges_add(&s, B, B + 100 * i + 10, B + 100 * i + 20));
        assert_int_equal(s.n, 6);
        /* From inside the second range to inside the fifth. */
        assert_true(utcp__ranges_add(&s, B, B + 115, B + 415));
        EXPECT_RANGES(&s, B + 10, B + 20, B + 110, B + 420, B + 510, B + 520);
        /* From a gap to adjacent to the last. */
        assert_true(utcp__ranges_add(&s, B, B + 5, B + 510));
        EXPECT_RANGES(&s, B + 5, B + 520);
    }
}

static void ranges_overflow_is_refused_unchanged(void **state)
{
    (void)state;
    for (size_t t = 0; t < UTCP_ARRAY_LEN(test_bases); t++) {
        utcp_seq B = test_bases[t];
        struct utcp_ranges s, before;
        utcp__ranges_init(&s);
        for (utcp_seq i = 0; i < UTCP_REASS_MAX; i++)
            assert_true(
                utcp__ranges_add(&s, B, B + 100 * i + 50, B + 100 * i + 60));
        assert_int_equal(s.n, UTCP_REASS_MAX);
        memcpy(&before, &s, sizeof s);

        /* Disjoint ranges before, between and after: refused. */
        assert_false(utcp__ranges_add(&s, B, B + 0, B + 10));
        assert_false(utcp__ranges_add(&s, B, B + 70, B + 80));
        assert_false(utcp__ranges_add(&s, B, B + 100000, B + 100001));
        assert_memory_equal(&s, &before, sizeof s);

        /* Overlapping, adjacent, contained: no new slot, accepted. */
        assert_true(utcp__ranges_add(&s, B, B + 55, B + 58));
        assert_true(utcp__ranges_add(&s, B, B + 40, B + 50));
        assert_true(utcp__ranges_add(&s, B, B + 1560, B + 1570));
        assert_int_equal(s.n, UTCP_REASS_MAX);
        assert_int_equal(s.r[0].left, B + 40);
        assert_int_equal(s.r[UTCP_REASS_MAX - 1].right, B + 1570);
        /* Bridging two frees a slot; then one disjoint fits again. */
        assert_true(utcp__ranges_add(&s, B, B + 160, B + 250));
        assert_int_equal(s.n, UTCP_REASS_MAX - 1);
        assert_true(utcp__ranges_add(&s, B, B + 100000, B + 100001));
        assert_int_equal(s.n, UTCP_REASS_MAX);
        assert_false(utcp__ranges_add(&s, B, B + 0, B + 10));
        assert_int_equal(s.n, UTCP_REASS_MAX);
    }
}

static void ranges_advance_semantics(void **state)
{
    (void)state;
    for (size_t t = 0; t < UTCP_ARRAY_LEN(test_bases); t++) {
        utcp_seq B = test_bases[t];
        struct utcp_ranges s;
        utcp__ranges_init(&s);
        /* Nothing there: at comes back. */
        assert_int_equal(utcp__ranges_advance(&s, B + 7), B + 7);

        assert_true(utcp__ranges_add(&s, B, B + 10, B + 20));
        assert_true(utcp__ranges_add(&s, B, B + 30, B + 40));
        assert_true(utcp__ranges_add(&s, B, B + 50, B + 60));
        assert_true(utcp__ranges_add(&s, B, B + 70, B + 80));
        /* Before every range: nothing changes. */
        assert_int_equal(utcp__ranges_advance(&s, B + 5), B + 5);
        assert_int_equal(s.n, 4);
        /* A range starting exactly at `at` is popped. */
        assert_int_equal(utcp__ranges_advance(&s, B + 10), B + 20);
        EXPECT_RANGES(&s, B + 30, B + 40, B + 50, B + 60, B + 70, B + 80);
        /* In a gap: nothing popped, nothing discarded. */
        assert_int_equal(utcp__ranges_advance(&s, B + 25), B + 25);
        assert_int_equal(s.n, 3);
        /* Inside a range: popped, its right edge returned. */
        assert_int_equal(utcp__ranges_advance(&s, B + 35), B + 40);
        EXPECT_RANGES(&s, B + 50, B + 60, B + 70, B + 80);
        /* A range ending exactly at `at` is discarded, not popped. */
        assert_int_equal(utcp__ranges_advance(&s, B + 60), B + 60);
        EXPECT_RANGES(&s, B + 70, B + 80);
        /* Past everything: all discarded. */
        assert_true(utcp__ranges_add(&s, B, B + 90, B + 95));
        assert_int_equal(utcp__ranges_advance(&s, B + 200), B + 200);
        assert_int_equal(s.n, 0);

        /* Discard several and pop the one covering `at`. */
        assert_true(utcp__ranges_add(&s, B, B + 10, B + 20));
        assert_true(utcp__ranges_add(&s, B, B + 30, B + 40));
        assert_true(utcp__ranges_add(&s, B, B + 50, B + 60));
        assert_true(utcp__ranges_add(&s, B, B + 70, B + 80));
        assert_int_equal(utcp__ranges_advance(&s, B + 55), B + 60);
        EXPECT_RANGES(&s, B + 70, B + 80);
        /* The last one. */
        assert_int_equal(utcp__ranges_advance(&s, B + 79), B + 80);
        assert_int_equal(s.n, 0);
    }
}

static void ranges_covers(void **state)
{
    (void)state;
    for (size_t t = 0; t < UTCP_ARRAY_LEN(test_bases); t++) {
        utcp_seq B = test_bases[t];
        struct utcp_ranges s;
        utcp__ranges_init(&s);
        assert_false(utcp__ranges_covers(&s, B + 1, B + 2));
        assert_true(utcp__ranges_covers(&s, B + 1, B + 1));
        assert_true(utcp__ranges_add(&s, B, B + 100, B + 200));
        assert_true(utcp__ranges_add(&s, B, B + 300, B + 400));
        assert_true(utcp__ranges_covers(&s, B + 100, B + 200));
        assert_true(utcp__ranges_covers(&s, B + 150, B + 160));
        assert_true(utcp__ranges_covers(&s, B + 300, B + 301));
        assert_true(utcp__ranges_covers(&s, B + 399, B + 400));
        assert_true(utcp__ranges_covers(&s, B + 250, B + 250));
        assert_false(utcp__ranges_covers(&s, B + 99, B + 101));
        assert_false(utcp__ranges_covers(&s, B + 199, B + 201));
        assert_false(utcp__ranges_covers(&s, B + 150, B + 350)); /* a gap */
        assert_false(utcp__ranges_covers(&s, B + 200, B + 300));
        assert_false(utcp__ranges_covers(&s, B + 400, B + 401));
        assert_false(utcp__ranges_covers(&s, B + 0, B + 1));
    }
}

static void ranges_sorted_relative_to_base_across_wrap(void **state)
{
    (void)state;
    struct utcp_ranges s;
    const utcp_seq B = 0xFFFFFF00u;
    utcp__ranges_init(&s);
    /* Raw 0x10 is after raw 0xFFFFFF10 in sequence space. */
    assert_true(utcp__ranges_add(&s, B, 0x10, 0x20));
    assert_true(utcp__ranges_add(&s, B, 0xFFFFFF10u, 0xFFFFFF20u));
    EXPECT_RANGES(&s, 0xFFFFFF10u, 0xFFFFFF20u, 0x10, 0x20);
    /* A range straddling 0 merges with both. */
    assert_true(utcp__ranges_add(&s, B, 0xFFFFFFF0u, 0x10));
    EXPECT_RANGES(&s, 0xFFFFFF10u, 0xFFFFFF20u, 0xFFFFFFF0u, 0x20);
    assert_true(utcp__ranges_covers(&s, 0xFFFFFFFFu, 0x1));
    assert_false(utcp__ranges_covers(&s, 0xFFFFFF1Fu, 0x1));
    assert_true(utcp__ranges_add(&s, B, 0xFFFFFF20u, 0xFFFFFFF0u));
    EXPECT_RANGES(&s, 0xFFFFFF10u, 0x20);
    assert_int_equal(utcp__ranges_advance(&s, 0xFFFFFF15u), 0x20);
    assert_int_equal(s.n, 0);

    /* Ranges up to base + 2^31 sort correctly. */
    assert_true(utcp__ranges_add(&s, B, B + 0x7FFFFF00u, B + 0x80000000u));
    assert_true(utcp__ranges_add(&s, B, B, B + 1));
    assert_true(utcp__ranges_add(&s, B, B + 0x40000000u, B + 0x40000001u));
    EXPECT_RANGES(&s, B, B + 1, B + 0x40000000u, B + 0x40000001u,
                  B + 0x7FFFFF00u, B + 0x80000000u);
    assert_true(utcp__ranges_add(&s, B, B + 1, B + 0x7FFFFF00u));
    EXPECT_RANGES(&s, B, B + 0x80000000u);
}

/* Random operations against a bitmap of a 4096-number window that crosses
 * 2^32 at its middle. `base` plays rcv_nxt: adds lie in [base, end), and
 * advance(base) moves it the way the engine would. */
#define WIN 4096u
#define WIN_START 0xFFFFF800u

struct bitmap_model {
    uint8_t bit[WIN];
    uint32_t base_off; /* base - WIN_START */
};

/* Number of runs of set bits in b[from, WIN). */
static unsigned count_runs(const uint8_t *b, uint32_t from)
{
    unsigned runs = 0;
    for (uint32_t i = from; i < WIN; i++)
        if (b[i] && (i == from || !b[i - 1]))
            runs++;
    return runs;
}

/* Checks that the set holds exactly the runs of the bitmap. */
static void expect_model(const struct utcp_ranges *s,
                         const struct bitmap_model *m)
{
    size_t k = 0;
    uint32_t i = m->base_off;
    while (i < WIN) {
        if (!m->bit[i]) {
            i++;
            continue;
        }
        uint32_t j = i;
        while (j < WIN && m->bit[j])
            j++;
        assert_true(k < s->n);
        assert_int_equal(s->r[k].left, WIN_START + i);
        assert_int_equal(s->r[k].right, WIN_START + j);
        k++;
        i = j;
    }
    assert_int_equal(s->n, k);
}

static void ranges_random_against_bitmap(void **state)
{
    (void)state;
    static struct bitmap_model m, trial;
    struct utcp_ranges s;
    uint64_t seed = 0x243F6A8885A308D3ULL;
    unsigned accepted = 0, refused = 0, popped = 0, covered = 0;
    unsigned uncovered = 0, crossed = 0, resets = 0;

    memset(&m, 0, sizeof m);
    utcp__ranges_init(&s);
    for (int op = 0; op < 100000; op++) {
        uint32_t k = rng_below(&seed, 100);
        uint32_t span = WIN - m.base_off;
        utcp_seq base = WIN_START + m.base_off;

        if (span < 64 || k == 0) { /* start over */
            memset(&m, 0, sizeof m);
            utcp__ranges_init(&s);
            m.base_off = rng_below(&seed, WIN / 2);
            resets++;
            continue;
        }
        if (k < 75) {
            uint32_t len = rng_below(&seed, 4) == 0 ? rng_below(&seed, 512)
                                                    : rng_below(&seed, 24);
            /* A quarter land near base, where the engine's holes are. */
            uint32_t reach = rng_below(&seed, 4) ? span : 64;
            uint32_t l = m.base_off + rng_below(&seed, reach);
            uint32_t r = l + len < WIN ? l + len : WIN;
            memcpy(&trial, &m, sizeof m);
            for (uint32_t i = l; i < r; i++)
                trial.bit[i] = 1;
            bool fits = count_runs(trial.bit, m.base_off) <= UTCP_REASS_MAX;
            bool got = utcp__ranges_add(&s, base, WIN_START + l, WIN_START + r);
            assert_int_equal(got, fits);
            if (fits) {
                memcpy(&m, &trial, sizeof m);
                accepted++;
            } else {
                refused++;
            }
            if (l < WIN / 2 && r > WIN / 2)
                crossed++;
        } else if (k < 93) {
            uint32_t l = m.base_off + rng_below(&seed, span);
            uint32_t r = l + rng_below(&seed, WIN - l + 1);
            bool all = true;
            for (uint32_t i = l; i < r && all; i++)
                all = m.bit[i] != 0;
            bool got = utcp__ranges_covers(&s, WIN_START + l, WIN_START + r);
            assert_int_equal(got, all);
            if (r > l && all)
                covered++;
            else if (r > l)
                uncovered++;
        } else {
            /* advance(at) for at in [base, end]: usually at base, as the
             * engine does after taking bytes in order; sometimes further,
             * as when an in-order segment covers queued ranges. */
            uint32_t at = m.base_off;
            if (rng_below(&seed, 4) == 0)
                at += rng_below(&seed, span / 4 + 1);
            uint32_t want = at;
            for (uint32_t i = m.base_off; i < at; i++)
                m.bit[i] = 0;
            while (want < WIN && m.bit[want])
                m.bit[want++] = 0;
            utcp_seq got = utcp__ranges_advance(&s, WIN_START + at);
            assert_int_equal(got, WIN_START + want);
            if (want != at)
                popped++;
            m.base_off = want;
        }
        expect_model(&s, &m);
    }
    assert_true(accepted > 10000);
    assert_true(refused > 1000);
    assert_true(popped > 1000);
    assert_true(covered > 1000);
    assert_true(uncovered > 1000);
    assert_true(crossed > 1000);
    assert_true(resets > 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ring_init_holds_no_storage),
        cmocka_unit_test(ring_allocates_cap_bytes_on_first_write_only),
        cmocka_unit_test(ring_storage_doubles_up_to_cap_keeping_bytes),
        cmocka_unit_test(ring_growth_failure_keeps_ring),
        cmocka_unit_test(ring_release_drops_stored_bytes),
        cmocka_unit_test(ring_write_at_allocates_lazily),
        cmocka_unit_test(ring_write_stops_when_full),
        cmocka_unit_test(ring_write_peek_consume_across_wrap),
        cmocka_unit_test(ring_consume_everything_resets_head),
        cmocka_unit_test(ring_consume_everything_keeps_data_held_ahead),
        cmocka_unit_test(ring_spans_one_or_two),
        cmocka_unit_test(ring_peek_csum_equals_copy_then_sum),
        cmocka_unit_test(ring_write_at_then_commit),
        cmocka_unit_test(ring_set_cap_rules),
        cmocka_unit_test(ring_allocation_failure_is_reported),
        cmocka_unit_test(ring_random_against_linear_model),
        cmocka_unit_test(ranges_add_disjoint_sorted),
        cmocka_unit_test(ranges_add_out_of_order_insertion),
        cmocka_unit_test(ranges_add_overlapping_merges),
        cmocka_unit_test(ranges_add_adjacent_merges),
        cmocka_unit_test(ranges_add_contained_changes_nothing),
        cmocka_unit_test(ranges_add_spanning_several_merges_all),
        cmocka_unit_test(ranges_overflow_is_refused_unchanged),
        cmocka_unit_test(ranges_advance_semantics),
        cmocka_unit_test(ranges_covers),
        cmocka_unit_test(ranges_sorted_relative_to_base_across_wrap),
        cmocka_unit_test(ranges_random_against_bitmap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
