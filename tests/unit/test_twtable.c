/*
 * The TIME_WAIT table alone (src/stack/timewait.c): records in a dense
 * slab found through an open-addressing index. Insert, find, remove,
 * expiry order, colliding hashes, growth and shrinking of the index and
 * the slab, many records checked against a plain array, no leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "countalloc.h"
#include "stack/timewait.h"


static const uint8_t hkey[16] = {1, 2, 3, 4, 5, 6, 7, 8,
                                 9, 10, 11, 12, 13, 14, 15, 16};

/* Every key in one of four hashes: long probe runs, equal 32-bit hashes. */
static uint32_t colliding(const uint8_t key[16], const struct utcp_4tuple *k)
{
    (void)key;
    return (uint32_t)(k->lport & 3u) * 0x10001u;
}

static struct utcp_4tuple key_of(uint32_t i)
{
    struct utcp_4tuple k = {0xC6120001u, 0xC6120002u + (i >> 16),
                            (uint16_t)i, 80};
    return k;
}

struct fixture {
    struct counting k;
    struct utcp_allocator a;
    struct utcp_twtable t;
};

static void setup(struct fixture *f,
                  uint32_t (*hash)(const uint8_t[16],
                                   const struct utcp_4tuple *))
{
    f->a = counting_allocator(&f->k);
    assert_int_equal(utcp__twt_init(&f->t, &f->a, hash, hkey), 0);
}

static struct utcp_twrec *add(struct fixture *f, uint32_t i, uint64_t exp)
{
    struct utcp_4tuple k = key_of(i);
    struct utcp_twrec *r =
        utcp__twt_add(&f->t, &k, f->t.hash(hkey, &k), exp);
    assert_non_null(r);
    r->snd_nxt = i;
    return r;
}

static struct utcp_twrec *find(struct fixture *f, uint32_t i)
{
    struct utcp_4tuple k = key_of(i);
    return utcp__twt_find(&f->t, &k, f->t.hash(hkey, &k));
}

/* Walks the expiry order: count, non-decreasing expiry, links agree. */
static size_t check_order(const struct utcp_twtable *t)
{
    size_t n = 0;
    uint64_t last = 0;
    for (const struct utcp_twrec *r = utcp__twt_first(t); r;
         r = utcp__twt_next(t, r)) {
        assert_true(r->expires >= last);
        last = r->expires;
        n++;
        assert_true(n <= t->count);
    }
    assert_int_equal(n, t->count);
    return n;
}

static void twtable_add_find_remove(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, utcp__ht_hash);
    assert_null(find(&f, 1));
    add(&f, 1, 100);
    add(&f, 2, 200);
    assert_int_equal(find(&f, 1)->snd_nxt, 1);
    assert_int_equal(find(&f, 2)->snd_nxt, 2);
    assert_null(find(&f, 3));
    /* removing the first moves the last into its place */
    utcp__twt_remove(&f.t, find(&f, 1));
    assert_null(find(&f, 1));
    assert_int_equal(find(&f, 2)->snd_nxt, 2);
    assert_int_equal(find(&f, 2)->expires, 200);
    assert_int_equal(check_order(&f.t), 1);
    utcp__twt_remove(&f.t, find(&f, 2));
    assert_int_equal(f.t.count, 0);
    /* an empty table holds nothing */
    assert_int_equal(f.k.bytes, 0);
    assert_int_equal(utcp__twt_bytes(&f.t), 0);
    utcp__twt_destroy(&f.t);
    assert_int_equal(f.k.blocks, 0);
}

static void twtable_expiry_order_and_requeue(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, utcp__ht_hash);
    /* out of order on purpose: the queue sorts (from its tail) */
    uint64_t exp[] = {50, 10, 30, 30, 70, 20};
    for (uint32_t i = 0; i < 6; i++)
        add(&f, i, exp[i]);
    check_order(&f.t);
    assert_int_equal(utcp__twt_first(&f.t)->snd_nxt, 1);
    /* the peer's FIN again: restarted, it moves to the end */
    utcp__twt_requeue(&f.t, find(&f, 1), 100);
    check_order(&f.t);
    assert_int_equal(utcp__twt_first(&f.t)->snd_nxt, 5);
    /* expire in order: always the first */
    uint64_t last = 0;
    while (f.t.count) {
        struct utcp_twrec *r = utcp__twt_first(&f.t);
        assert_true(r->expires >= last);
        last = r->expires;
        utcp__twt_remove(&f.t, r);
        check_order(&f.t);
    }
    assert_int_equal(last, 100);
    utcp__twt_destroy(&f.t);
    assert_int_equal(f.k.bytes, 0);
}

static void twtable_colliding_hashes(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, colliding);
    enum { N = 300 };
    for (uint32_t i = 0; i < N; i++)
        add(&f, i, 1000 + i);
    for (uint32_t i = 0; i < N; i++)
        assert_int_equal(find(&f, i)->snd_nxt, i);
    assert_null(find(&f, N));
    /* remove every third, from the middle of long runs */
    for (uint32_t i = 0; i < N; i += 3)
        utcp__twt_remove(&f.t, find(&f, i));
    for (uint32_t i = 0; i < N; i++) {
        struct utcp_twrec *r = find(&f, i);
        if (i % 3 == 0) {
            assert_null(r);
        } else {
            assert_non_null(r);
            assert_int_equal(r->snd_nxt, i);
            assert_int_equal(r->expires, 1000 + i);
        }
    }
    assert_int_equal(check_order(&f.t), N - N / 3);
    utcp__twt_destroy(&f.t);
    assert_int_equal(f.k.bytes, 0);
    assert_int_equal(f.k.blocks, 0);
}

/* Many records, added and removed in a shuffled order, against a plain
 * array of which keys are in: the index grows, the slab grows by chunks
 * and gives them back. */
static void twtable_many_records_grow_and_shrink(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, utcp__ht_hash);
    enum { N = 3 * UTCP_TW_CHUNK + 123 };
    static bool in[N];
    memset(in, 0, sizeof in);
    for (uint32_t i = 0; i < N; i++) {
        add(&f, i, 5000);
        in[i] = true;
    }
    assert_int_equal(f.t.count, N);
    assert_true(f.t.count * 4 <= (f.t.mask + 1) * 3); /* load <= 3/4 */
    size_t full = utcp__twt_bytes(&f.t);
    assert_int_equal((long long)full, f.k.bytes);
    /* 48 bytes a record, one chunk of slack, and the index: 8-byte slots
     * and their tag bytes at least 3/8 full (just grown), so at most 24
     * bytes a record */
    assert_true(full <= (size_t)N * (48u + 24u) + UTCP_TW_CHUNK * 48u + 64u);
    uint32_t x = 12345;
    for (uint32_t n = 0; n < 4 * N; n++) {
        x = x * 1103515245u + 12345u;
        uint32_t i = (x >> 8) % N;
        struct utcp_twrec *r = find(&f, i);
        assert_int_equal(r != NULL, in[i]);
        if (r) {
            assert_int_equal(r->snd_nxt, i);
            utcp__twt_remove(&f.t, r);
            in[i] = false;
        }
    }
    size_t left = 0;
    for (uint32_t i = 0; i < N; i++) {
        struct utcp_twrec *r = find(&f, i);
        assert_int_equal(r != NULL, in[i]);
        left += in[i];
    }
    assert_int_equal(check_order(&f.t), left);
    assert_true(left < N / 2);
    /* chunks no longer needed went back */
    assert_true(utcp__twt_bytes(&f.t) < full);
    assert_int_equal((long long)utcp__twt_bytes(&f.t), f.k.bytes);
    while (f.t.count)
        utcp__twt_remove(&f.t, utcp__twt_first(&f.t));
    assert_int_equal(f.k.bytes, 0);
    utcp__twt_destroy(&f.t);
    assert_int_equal(f.k.blocks, 0);
}

static void twtable_no_memory_leaves_table_as_it_was(void **state)
{
    (void)state;
    struct fixture f;
    setup(&f, utcp__ht_hash);
    f.k.fail_after = 0;
    struct utcp_4tuple k = key_of(1);
    assert_null(utcp__twt_add(&f.t, &k, utcp__ht_hash(hkey, &k), 1));
    assert_int_equal(f.k.bytes, 0);
    /* the chunk directory but no chunk; directory and chunk, no index */
    for (long long allowed = 1; allowed <= 2; allowed++) {
        f.k.fail_after = allowed;
        assert_null(utcp__twt_add(&f.t, &k, utcp__ht_hash(hkey, &k), 1));
        assert_int_equal(f.k.bytes, 0);
        assert_int_equal(f.t.count, 0);
    }
    f.k.fail_after = -1;
    for (uint32_t i = 0; i < 6; i++)
        add(&f, i, 10);
    /* the index must grow for the seventh: refused, nothing changes */
    f.k.fail_after = 0;
    k = key_of(6);
    struct utcp_twrec *r = utcp__twt_add(&f.t, &k, utcp__ht_hash(hkey, &k), 1);
    if (r) /* grown earlier: the seventh fit */
        utcp__twt_remove(&f.t, r);
    assert_int_equal(f.t.count, 6);
    for (uint32_t i = 0; i < 6; i++)
        assert_int_equal(find(&f, i)->snd_nxt, i);
    f.k.fail_after = -1;
    utcp__twt_destroy(&f.t);
    assert_int_equal(f.k.bytes, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(twtable_add_find_remove),
        cmocka_unit_test(twtable_expiry_order_and_requeue),
        cmocka_unit_test(twtable_colliding_hashes),
        cmocka_unit_test(twtable_many_records_grow_and_shrink),
        cmocka_unit_test(twtable_no_memory_leaves_table_as_it_was),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
