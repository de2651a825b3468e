/*
 * Tests for keyed hashing (src/stack/hash.c): SipHash-2-4 against the
 * reference vectors, the 4-tuple table (growth to 100k nodes, removal during
 * iteration, allocation failure), RFC 6528 ISNs, the xoshiro256** PRNG and
 * its unbiased bounded draw, and RFC 6056 Algorithm 3 port selection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stack/hash.h"
#include "utcp/errors.h"

/* ---- SipHash-2-4 */

/* The reference implementation's vectors (vectors.h, "vectors_sip64"):
 * key 00 01 .. 0f, message 00 01 .. (len - 1), output read little-endian. */
static const uint64_t sip_vectors[64] = {
    UINT64_C(0x726fdb47dd0e0e31), /* 0 */
    UINT64_C(0x74f839c593dc67fd), /* 1 */
    UINT64_C(0x0d6c8009d9a94f5a), /* 2 */
    UINT64_C(0x85676696d7fb7e2d), /* 3 */
    UINT64_C(0xcf2794e0277187b7), /* 4 */
    UINT64_C(0x18765564cd99a68d), /* 5 */
    UINT64_C(0xcbc9466e58fee3ce), /* 6 */
    UINT64_C(0xab0200f58b01d137), /* 7 */
    UINT64_C(0x93f5f5799a932462), /* 8 */
    UINT64_C(0x9e0082df0ba9e4b0), /* 9 */
    UINT64_C(0x7a5dbbc594ddb9f3), /* 10 */
    UINT64_C(0xf4b32f46226bada7), /* 11 */
    UINT64_C(0x751e8fbc860ee5fb), /* 12 */
    UINT64_C(0x14ea5627c0843d90), /* 13 */
    UINT64_C(0xf723ca908e7af2ee), /* 14 */
    UINT64_C(0xa129ca6149be45e5), /* 15 */
    UINT64_C(0x3f2acc7f57c29bdb), /* 16 */
    UINT64_C(0x699ae9f52cbe4794), /* 17 */
    UINT64_C(0x4bc1b3f0968dd39c), /* 18 */
    UINT64_C(0xbb6dc91da77961bd), /* 19 */
    UINT64_C(0xbed65cf21aa2ee98), /* 20 */
    UINT64_C(0xd0f2cbb02e3b67c7), /* 21 */
    UINT64_C(0x93536795e3a33e88), /* 22 */
    UINT64_C(0xa80c038ccd5ccec8), /* 23 */
    UINT64_C(0xb8ad50c6f649af94), /* 24 */
    UINT64_C(0xbce192de8a85b8ea), /* 25 */
    UINT64_C(0x17d835b85bbb15f3), /* 26 */
    UINT64_C(0x2f2e6163076bcfad), /* 27 */
    UINT64_C(0xde4daaaca71dc9a5), /* 28 */
    UINT64_C(0xa6a2506687956571), /* 29 */
    UINT64_C(0xad87a3535c49ef28), /* 30 */
    UINT64_C(0x32d892fad841c342), /* 31 */
    UINT64_C(0x7127512f72f27cce), /* 32 */
    UINT64_C(0xa7f32346f95978e3), /* 33 */
    UINT64_C(0x12e0b01abb051238), /* 34 */
    UINT64_C(0x15e034d40fa197ae), /* 35 */
    UINT64_C(0x314dffbe0815a3b4), /* 36 */
    UINT64_C(0x027990f029623981), /* 37 */
    UINT64_C(0xcadcd4e59ef40c4d), /* 38 */
    UINT64_C(0x9abfd8766a33735c), /* 39 */
    UINT64_C(0x0e3ea96b5304a7d0), /* 40 */
    UINT64_C(0xad0c42d6fc585992), /* 41 */
    UINT64_C(0x187306c89bc215a9), /* 42 */
    UINT64_C(0xd4a60abcf3792b95), /* 43 */
    UINT64_C(0xf935451de4f21df2), /* 44 */
    UINT64_C(0xa9538f0419755787), /* 45 */
    UINT64_C(0xdb9acddff56ca510), /* 46 */
    UINT64_C(0xd06c98cd5c0975eb), /* 47 */
    UINT64_C(0xe612a3cb9ecba951), /* 48 */
    UINT64_C(0xc766e62cfcadaf96), /* 49 */
    UINT64_C(0xee64435a9752fe72), /* 50 */
    UINT64_C(0xa192d576b245165a), /* 51 */
    UINT64_C(0x0a8787bf8ecb74b2), /* 52 */
    UINT64_C(0x81b3e73d20b49b6f), /* 53 */
    UINT64_C(0x7fa8220ba3b2ecea), /* 54 */
    UINT64_C(0x245731c13ca42499), /* 55 */
    UINT64_C(0xb78dbfaf3a8d83bd), /* 56 */
    UINT64_C(0xea1ad565322a1a0b), /* 57 */
    UINT64_C(0x60e61c23a3795013), /* 58 */
    UINT64_C(0x6606d7e446282b93), /* 59 */
    UINT64_C(0x6ca4ecb15c5f91e1), /* 60 */
    UINT64_C(0x9f626da15c9625f3), /* 61 */
    UINT64_C(0xe51b38608ef25f57), /* 62 */
    UINT64_C(0x958a324ceb064572), /* 63 */
};

static const uint8_t sip_key[16] = {0, 1, 2,  3,  4,  5,  6,  7,
                                    8, 9, 10, 11, 12, 13, 14, 15};

static void siphash_reference_vectors(void **state)
{
    (void)state;
    uint8_t msg[64];
    for (unsigned i = 0; i < 64; i++)
        msg[i] = (uint8_t)i;
    /* Called out: empty, one byte, one short of a block, one block, the
     * paper's Appendix A example (15 bytes), the longest. */
    assert_int_equal(utcp__siphash24(sip_key, msg, 0),
                     UINT64_C(0x726fdb47dd0e0e31));
    assert_int_equal(utcp__siphash24(sip_key, msg, 1),
                     UINT64_C(0x74f839c593dc67fd));
    assert_int_equal(utcp__siphash24(sip_key, msg, 7),
                     UINT64_C(0xab0200f58b01d137));
    assert_int_equal(utcp__siphash24(sip_key, msg, 8),
                     UINT64_C(0x93f5f5799a932462));
    assert_int_equal(utcp__siphash24(sip_key, msg, 15),
                     UINT64_C(0xa129ca6149be45e5));
    assert_int_equal(utcp__siphash24(sip_key, msg, 63),
                     UINT64_C(0x958a324ceb064572));
    for (size_t len = 0; len < 64; len++)
        assert_int_equal(utcp__siphash24(sip_key, msg, len), sip_vectors[len]);
    /* Unaligned input gives the same result. */
    uint8_t buf[80];
    for (unsigned off = 1; off < 8; off++) {
        memcpy(buf + off, msg, 64);
        for (size_t len = 0; len < 64; len++)
            assert_int_equal(utcp__siphash24(sip_key, buf + off, len),
                             sip_vectors[len]);
    }
}

static void siphash_depends_on_every_key_bit(void **state)
{
    (void)state;
    const char *msg = "utcp";
    uint64_t h = utcp__siphash24(sip_key, msg, 4);
    for (unsigned bit = 0; bit < 128; bit++) {
        uint8_t k[16];
        memcpy(k, sip_key, 16);
        k[bit / 8] ^= (uint8_t)(1u << (bit % 8));
        assert_int_not_equal(utcp__siphash24(k, msg, 4), h);
    }
}

/* ---- The 4-tuple table */

struct counting_alloc {
    size_t live_bytes, allocs, frees, fail_after; /* fail_after 0: never */
};

static void *ca_alloc(void *ctx, size_t size)
{
    struct counting_alloc *c = ctx;
    if (c->fail_after && c->allocs >= c->fail_after)
        return NULL;
    c->allocs++;
    c->live_bytes += size;
    return malloc(size);
}

static void ca_free(void *ctx, void *p, size_t size)
{
    struct counting_alloc *c = ctx;
    assert_true(c->live_bytes >= size);
    c->live_bytes -= size;
    c->frees++;
    free(p);
}

struct conn {
    int id;
    bool seen;
    struct utcp_hnode h;
};

static struct conn *conn_of(struct utcp_hnode *n)
{
    return (struct conn *)(void *)((char *)n - offsetof(struct conn, h));
}

static struct utcp_4tuple tuple_for(int i)
{
    struct utcp_4tuple t = {
        .laddr = 0xc6120001u,                         /* 198.18.0.1 */
        .raddr = 0xc6120000u + (uint32_t)(i / 50000), /* few remotes */
        .lport = (uint16_t)(10000 + i % 50000),
        .rport = 80,
    };
    return t;
}

static const uint8_t table_key[16] = {0x5a, 1, 2,  3,  4,  5,  6,  7,
                                      8,    9, 10, 11, 12, 13, 14, 0xa5};

static bool is_pow2(size_t n)
{
    return n && !(n & (n - 1));
}

static void table_grows_to_100k_and_finds_all(void **state)
{
    (void)state;
    enum { N = 100000 };
    struct counting_alloc ca = {0};
    struct utcp_allocator a = {ca_alloc, ca_free, &ca};
    struct utcp_htable t;
    assert_int_equal(utcp__ht_init(&t, &a, table_key, 0), 0);
    assert_int_equal(t.mask + 1, 16); /* minimum */
    struct conn *c = calloc(N, sizeof(*c));
    assert_non_null(c);
    for (int i = 0; i < N; i++) {
        c[i].id = i;
        c[i].h.key = tuple_for(i);
        assert_null(utcp__ht_find(&t, &c[i].h.key));
        utcp__ht_insert(&t, &c[i].h);
        assert_true(t.count <= t.mask + 1); /* load factor at most 1 */
    }
    assert_int_equal(t.count, N);
    assert_true(is_pow2(t.mask + 1));
    assert_int_equal(t.mask + 1, 131072);
    for (int i = 0; i < N; i++) {
        struct utcp_4tuple k = tuple_for(i);
        assert_ptr_equal(utcp__ht_find(&t, &k), &c[i].h);
    }
    /* Absent keys. */
    struct utcp_4tuple k = tuple_for(7);
    k.rport = 81;
    assert_null(utcp__ht_find(&t, &k));
    /* Remove every third node, in O(1) each. */
    for (int i = 0; i < N; i += 3)
        utcp__ht_remove(&t, &c[i].h);
    for (int i = 0; i < N; i++) {
        k = tuple_for(i);
        if (i % 3 == 0)
            assert_null(utcp__ht_find(&t, &k));
        else
            assert_ptr_equal(utcp__ht_find(&t, &k), &c[i].h);
    }
    /* Iteration visits each remaining node once. */
    size_t b = 0, visited = 0;
    for (struct utcp_hnode *n = utcp__ht_iter(&t, &b, NULL); n;
         n = utcp__ht_iter(&t, &b, n)) {
        struct conn *o = conn_of(n);
        assert_false(o->seen);
        assert_int_not_equal(o->id % 3, 0);
        o->seen = true;
        visited++;
    }
    assert_int_equal(visited, t.count);
    /* Chains stay short: the keyed hash spreads even this regular set. */
    size_t longest = 0;
    for (size_t i = 0; i <= t.mask; i++) {
        size_t len = 0;
        for (struct utcp_hnode *n = t.buckets[i]; n; n = n->next)
            len++;
        if (len > longest)
            longest = len;
    }
    assert_true(longest <= 12);
    utcp__ht_destroy(&t);
    assert_int_equal(ca.live_bytes, 0);
    assert_int_equal(ca.allocs, ca.frees);
    free(c);
}

static void table_remove_during_iteration(void **state)
{
    (void)state;
    enum { N = 5000 };
    struct counting_alloc ca = {0};
    struct utcp_allocator a = {ca_alloc, ca_free, &ca};
    struct utcp_htable t;
    assert_int_equal(utcp__ht_init(&t, &a, table_key, 4), 0);
    struct conn *c = calloc(N, sizeof(*c));
    assert_non_null(c);
    for (int i = 0; i < N; i++) {
        c[i].id = i;
        c[i].h.key = tuple_for(i * 7);
        utcp__ht_insert(&t, &c[i].h);
    }
    /* Remove the odd ids as they come: every node is still visited once. */
    size_t b = 0, visited = 0;
    for (struct utcp_hnode *n = utcp__ht_iter(&t, &b, NULL); n;
         n = utcp__ht_iter(&t, &b, n)) {
        struct conn *o = conn_of(n);
        assert_false(o->seen);
        o->seen = true;
        visited++;
        if (o->id % 2)
            utcp__ht_remove(&t, n);
    }
    assert_int_equal(visited, N);
    assert_int_equal(t.count, N / 2);
    /* Then remove all of the rest the same way. */
    b = 0;
    visited = 0;
    for (struct utcp_hnode *n = utcp__ht_iter(&t, &b, NULL); n;
         n = utcp__ht_iter(&t, &b, n)) {
        assert_int_equal(conn_of(n)->id % 2, 0);
        utcp__ht_remove(&t, n);
        visited++;
    }
    assert_int_equal(visited, N / 2);
    assert_int_equal(t.count, 0);
    b = 0;
    assert_null(utcp__ht_iter(&t, &b, NULL));
    utcp__ht_destroy(&t);
    assert_int_equal(ca.live_bytes, 0);
    free(c);
}

static void table_keys_differing_in_one_field(void **state)
{
    (void)state;
    struct counting_alloc ca = {0};
    struct utcp_allocator a = {ca_alloc, ca_free, &ca};
    struct utcp_htable t;
    assert_int_equal(utcp__ht_init(&t, &a, table_key, 4), 0);
    struct conn c[5] = {{0}};
    struct utcp_4tuple base = {0x0a000001u, 0x0a000002u, 40000, 443};
    for (int i = 0; i < 5; i++) {
        c[i].id = i;
        c[i].h.key = base;
    }
    c[1].h.key.laddr ^= 1;
    c[2].h.key.raddr ^= 1;
    c[3].h.key.lport ^= 1;
    c[4].h.key.rport ^= 1;
    /* Swapping local and remote is a different connection too. */
    struct conn sw = {.id = 5};
    sw.h.key =
        (struct utcp_4tuple){base.raddr, base.laddr, base.rport, base.lport};
    for (int i = 0; i < 5; i++)
        utcp__ht_insert(&t, &c[i].h);
    assert_null(utcp__ht_find(&t, &sw.h.key));
    utcp__ht_insert(&t, &sw.h);
    for (int i = 0; i < 5; i++)
        assert_ptr_equal(utcp__ht_find(&t, &c[i].h.key), &c[i].h);
    assert_ptr_equal(utcp__ht_find(&t, &sw.h.key), &sw.h);
    utcp__ht_remove(&t, &c[0].h);
    assert_null(utcp__ht_find(&t, &base));
    for (int i = 1; i < 5; i++)
        assert_ptr_equal(utcp__ht_find(&t, &c[i].h.key), &c[i].h);
    utcp__ht_destroy(&t);
    assert_int_equal(ca.live_bytes, 0);
}

static void table_survives_allocation_failure(void **state)
{
    (void)state;
    struct counting_alloc ca = {.fail_after = 1};
    struct utcp_allocator a = {ca_alloc, ca_free, &ca};
    struct utcp_htable t;
    /* The bucket array itself cannot be had. */
    struct counting_alloc none = {.fail_after = 0};
    none.allocs = 1;
    none.fail_after = 1;
    struct utcp_allocator a0 = {ca_alloc, ca_free, &none};
    assert_int_equal(utcp__ht_init(&t, &a0, table_key, 4), UTCP_ENOMEM);
    /* The first array works; growth fails: chains get longer, no loss. */
    assert_int_equal(utcp__ht_init(&t, &a, table_key, 4), 0);
    enum { N = 200 };
    struct conn c[N];
    memset(c, 0, sizeof(c));
    for (int i = 0; i < N; i++) {
        c[i].h.key = tuple_for(i);
        utcp__ht_insert(&t, &c[i].h);
    }
    assert_int_equal(t.mask + 1, 16);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(utcp__ht_find(&t, &c[i].h.key), &c[i].h);
    /* Memory back: the next insert grows. */
    ca.fail_after = 0;
    struct conn extra = {.h.key = tuple_for(N)};
    utcp__ht_insert(&t, &extra.h);
    assert_true(t.mask + 1 > 16);
    for (int i = 0; i < N; i++)
        assert_ptr_equal(utcp__ht_find(&t, &c[i].h.key), &c[i].h);
    utcp__ht_destroy(&t);
    assert_int_equal(ca.live_bytes, 0);
}

/* ---- RFC 6528 ISNs */

static const uint8_t isn_key[16] = {0xde, 0xad, 0xbe, 0xef, 1, 2,  3,  4,
                                    5,    6,    7,    8,    9, 10, 11, 12};

static void isn_advances_every_4_us(void **state)
{
    (void)state;
    struct utcp_4tuple t = {0xc0000201u, 0xc0000202u, 49152, 80};
    uint32_t i0 = utcp__isn(isn_key, &t, 4000);
    assert_int_equal(utcp__isn(isn_key, &t, 4001), i0);
    assert_int_equal(utcp__isn(isn_key, &t, 4003), i0);
    assert_int_equal(utcp__isn(isn_key, &t, 4004), (uint32_t)(i0 + 1));
    assert_int_equal(utcp__isn(isn_key, &t, 4000 + 4 * 1000000),
                     (uint32_t)(i0 + 1000000));
    /* M wraps modulo 2^32 after 4 * 2^32 us (about 4.8 hours). */
    assert_int_equal(utcp__isn(isn_key, &t, 4000 + (UINT64_C(4) << 32)), i0);
    /* F is the same for one tuple at any time: ISN - M is constant. */
    uint64_t big = UINT64_C(123456789012);
    assert_int_equal(
        (uint32_t)(utcp__isn(isn_key, &t, big) - (uint32_t)(big / 4)),
        (uint32_t)(i0 - 1000));
}

static void isn_depends_on_tuple_and_key(void **state)
{
    (void)state;
    struct utcp_4tuple t = {0xc0000201u, 0xc0000202u, 49152, 80};
    uint64_t now = 777777;
    uint32_t i0 = utcp__isn(isn_key, &t, now);
    struct utcp_4tuple v = t;
    v.laddr++;
    assert_int_not_equal(utcp__isn(isn_key, &v, now), i0);
    v = t;
    v.raddr++;
    assert_int_not_equal(utcp__isn(isn_key, &v, now), i0);
    v = t;
    v.lport++;
    assert_int_not_equal(utcp__isn(isn_key, &v, now), i0);
    v = t;
    v.rport++;
    assert_int_not_equal(utcp__isn(isn_key, &v, now), i0);
    /* Local and remote swapped: the other side's connection-id. */
    v = (struct utcp_4tuple){t.raddr, t.laddr, t.rport, t.lport};
    assert_int_not_equal(utcp__isn(isn_key, &v, now), i0);
    uint8_t k2[16];
    memcpy(k2, isn_key, 16);
    k2[15] ^= 0x80;
    assert_int_not_equal(utcp__isn(k2, &t, now), i0);
    /* Deterministic. */
    assert_int_equal(utcp__isn(isn_key, &t, now), i0);
}

/* ---- The PRNG */

static void rng_is_deterministic_from_seed(void **state)
{
    (void)state;
    /* xoshiro256** seeded with four splitmix64 outputs (values from an
     * independent implementation). */
    static const uint64_t seed0[4] = {
        UINT64_C(0x99ec5f36cb75f2b4), UINT64_C(0xbf6e1f784956452a),
        UINT64_C(0x1a5f849d4933e6e0), UINT64_C(0x6aa594f1262d2d2c)};
    static const uint64_t seed42[4] = {
        UINT64_C(0x15780b2e0c2ec716), UINT64_C(0x6104d9866d113a7e),
        UINT64_C(0xae17533239e499a1), UINT64_C(0xecb8ad4703b360a1)};
    struct utcp_rng r, q;
    utcp__rng_seed(&r, 0);
    for (int i = 0; i < 4; i++)
        assert_int_equal(utcp__rng_next(&r), seed0[i]);
    utcp__rng_seed(&r, 42);
    for (int i = 0; i < 4; i++)
        assert_int_equal(utcp__rng_next(&r), seed42[i]);
    utcp__rng_seed(&r, 99);
    utcp__rng_seed(&q, 99);
    for (int i = 0; i < 1000; i++)
        assert_int_equal(utcp__rng_next(&r), utcp__rng_next(&q));
    utcp__rng_seed(&q, 100);
    int same = 0;
    for (int i = 0; i < 1000; i++)
        same += utcp__rng_next(&r) == utcp__rng_next(&q);
    assert_int_equal(same, 0);
}

static void rng_below_stays_in_bounds(void **state)
{
    (void)state;
    struct utcp_rng r;
    utcp__rng_seed(&r, 7);
    static const uint32_t ns[] = {
        1, 2, 3, 7, 1000, 65536, 0x80000001u, 0xfffffffeu, 0xffffffffu};
    for (size_t j = 0; j < sizeof(ns) / sizeof(ns[0]); j++)
        for (int i = 0; i < 20000; i++)
            assert_true(utcp__rng_below(&r, ns[j]) < ns[j]);
    for (int i = 0; i < 100; i++)
        assert_int_equal(utcp__rng_below(&r, 1), 0);
}

static void rng_below_is_uniform(void **state)
{
    (void)state;
    struct utcp_rng r;
    utcp__rng_seed(&r, 12345);
    /* Chi-square over 10 cells, 9 degrees of freedom: 40 is far beyond
     * the 0.001% tail (about 33.7), so this fails only when biased. */
    enum { CELLS = 10, DRAWS = 200000 };
    unsigned hist[CELLS] = {0};
    for (int i = 0; i < DRAWS; i++)
        hist[utcp__rng_below(&r, CELLS)]++;
    double expect = (double)DRAWS / CELLS, chi2 = 0;
    for (int i = 0; i < CELLS; i++)
        chi2 +=
            ((double)hist[i] - expect) * ((double)hist[i] - expect) / expect;
    assert_true(chi2 < 40.0);
    /* n = 3 * 2^30: a plain 32-bit modulo would give [0, 2^30) half of the
     * draws instead of a third. */
    unsigned low = 0;
    for (int i = 0; i < 30000; i++)
        low += utcp__rng_below(&r, 3u << 30) < (1u << 30);
    assert_true(low > 9000 && low < 11000);
}

/* ---- RFC 6056 Algorithm 3 ports */

struct ports {
    uint8_t used[65536];
    unsigned calls;
};

static bool port_in_use(void *ctx, uint16_t port)
{
    struct ports *p = ctx;
    p->calls++;
    return p->used[port] != 0;
}

static const uint8_t port_key[16] = {9, 8, 7, 6, 5, 4, 3, 2,
                                     1, 0, 1, 2, 3, 4, 5, 6};

static void port_pick_stays_in_range_and_skips_used(void **state)
{
    (void)state;
    struct ports *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    uint32_t next = 0;
    /* Ports for one destination come out consecutively from its offset
     * (RFC 6056 3.3.3), wrapping inside the range. */
    int first = utcp__port_pick(port_key, 0x0a000001u, 0x0a000002u, 80, 49152,
                               49161, &next, port_in_use, p);
    assert_true(first >= 49152 && first <= 49161);
    assert_int_equal(next, 1);
    for (int i = 1; i < 25; i++) {
        int port = utcp__port_pick(port_key, 0x0a000001u, 0x0a000002u, 80, 49152,
                                  49161, &next, port_in_use, p);
        assert_int_equal(port, 49152 + (first - 49152 + i) % 10);
    }
    assert_int_equal(next, 25);
    /* Used ports are skipped, and next_ephemeral passes them. */
    next = 0;
    p->used[first] = 1;
    int second = 49152 + (first - 49152 + 1) % 10;
    p->used[second] = 1;
    int got = utcp__port_pick(port_key, 0x0a000001u, 0x0a000002u, 80, 49152,
                             49161, &next, port_in_use, p);
    assert_int_equal(got, 49152 + (first - 49152 + 2) % 10);
    assert_int_equal(next, 3);
    /* All in use: every port is tried once. */
    for (int i = 49152; i <= 49161; i++)
        p->used[i] = 1;
    p->calls = 0;
    next = 5;
    assert_int_equal(utcp__port_pick(port_key, 0x0a000001u, 0x0a000002u, 80,
                                    49152, 49161, &next, port_in_use, p),
                     UTCP_EADDRNOTAVAIL);
    assert_int_equal(p->calls, 10);
    assert_int_equal(next, 15);
    /* One free port left is found wherever it is. */
    p->used[49157] = 0;
    assert_int_equal(utcp__port_pick(port_key, 0x0a000001u, 0x0a000002u, 80,
                                    49152, 49161, &next, port_in_use, p),
                     49157);
    /* A one-port range, the full range, and a bad range. */
    memset(p->used, 0, sizeof(p->used));
    assert_int_equal(
        utcp__port_pick(port_key, 1, 2, 3, 5000, 5000, &next, port_in_use, p),
        5000);
    for (int i = 0; i < 10000; i++) {
        int port = utcp__port_pick(port_key, 1, (uint32_t)i, 3, 1024, 65535,
                                  &next, NULL, NULL);
        assert_true(port >= 1024 && port <= 65535);
    }
    assert_int_equal(
        utcp__port_pick(port_key, 1, 2, 3, 6000, 5000, &next, port_in_use, p),
        UTCP_EINVAL);
    free(p);
}

static void port_pick_separates_destinations(void **state)
{
    (void)state;
    enum { K = 8 };
    struct ports *p = calloc(1, sizeof(*p));
    assert_non_null(p);
    int a[K], b[K], c[K], d[K], e[K], f[K];
    uint32_t na = 1000, nb = 1000, nc = 1000, nd = 1000, ne = 1000, nf = 1000;
    uint8_t other_key[16];
    memcpy(other_key, port_key, 16);
    other_key[0] ^= 1;
    for (int i = 0; i < K; i++) {
        a[i] = utcp__port_pick(port_key, 0x0a000001u, 0x0a000002u, 80, 32768,
                              60999, &na, port_in_use, p);
        b[i] = utcp__port_pick(port_key, 0x0a000001u, 0x0a000003u, 80, 32768,
                              60999, &nb, port_in_use, p);
        c[i] = utcp__port_pick(port_key, 0x0a000001u, 0x0a000002u, 443, 32768,
                              60999, &nc, port_in_use, p);
        d[i] = utcp__port_pick(port_key, 0x0a000009u, 0x0a000002u, 80, 32768,
                              60999, &nd, port_in_use, p);
        e[i] = utcp__port_pick(port_key, 0x0a000001u, 0x0a000002u, 80, 32768,
                              60999, &ne, port_in_use, p);
        f[i] = utcp__port_pick(other_key, 0x0a000001u, 0x0a000002u, 80, 32768,
                              60999, &nf, port_in_use, p);
    }
    /* Same key and inputs: the same sequence. */
    assert_memory_equal(a, e, sizeof(a));
    /* Another remote address, remote port, local address or key: another
     * sequence. */
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, c, sizeof(a));
    assert_memory_not_equal(a, d, sizeof(a));
    assert_memory_not_equal(a, f, sizeof(a));
    assert_int_not_equal(a[0], b[0]);
    assert_int_not_equal(a[0], f[0]);
    free(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(siphash_reference_vectors),
        cmocka_unit_test(siphash_depends_on_every_key_bit),
        cmocka_unit_test(table_grows_to_100k_and_finds_all),
        cmocka_unit_test(table_remove_during_iteration),
        cmocka_unit_test(table_keys_differing_in_one_field),
        cmocka_unit_test(table_survives_allocation_failure),
        cmocka_unit_test(isn_advances_every_4_us),
        cmocka_unit_test(isn_depends_on_tuple_and_key),
        cmocka_unit_test(rng_is_deterministic_from_seed),
        cmocka_unit_test(rng_below_stays_in_bounds),
        cmocka_unit_test(rng_below_is_uniform),
        cmocka_unit_test(port_pick_stays_in_range_and_skips_used),
        cmocka_unit_test(port_pick_separates_destinations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
