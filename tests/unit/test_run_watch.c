/*
 * The runtime's watched-socket table (src/run/watch.c): find, replace and
 * delete; thousands of entries; and connection churn (add one, delete one,
 * a million times) never growing the table past what the live entries need.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "run/watch.h"
#include "utcp/errors.h"

static void cb_a(struct utcp_run *r, utcp_sock sk, uint32_t ev, void *ctx)
{
    (void)r;
    (void)sk;
    (void)ev;
    (void)ctx;
}

static void cb_b(struct utcp_run *r, utcp_sock sk, uint32_t ev, void *ctx)
{
    (void)r;
    (void)sk;
    (void)ev;
    (void)ctx;
}

/* Handles look like the stack's: slot index and generation. */
static utcp_sock handle(uint32_t slot, uint32_t gen)
{
    return (utcp_sock)gen << 32 | slot;
}

static void watch_put_find_replace_delete(void **state)
{
    (void)state;
    struct utcp__watch_map m = {0};
    int ctx1, ctx2;
    assert_null(utcp__watch_find(&m, handle(1, 1)));
    assert_int_equal(utcp__watch_put(&m, handle(1, 1), cb_a, &ctx1), 0);
    struct run_watch *w = utcp__watch_find(&m, handle(1, 1));
    assert_non_null(w);
    assert_ptr_equal(w->fn, cb_a);
    assert_ptr_equal(w->ctx, &ctx1);
    /* the same slot with another generation is another socket */
    assert_null(utcp__watch_find(&m, handle(1, 2)));
    assert_int_equal(utcp__watch_put(&m, handle(1, 1), cb_b, &ctx2), 0);
    assert_int_equal(m.count, 1);
    w = utcp__watch_find(&m, handle(1, 1));
    assert_ptr_equal(w->fn, cb_b);
    assert_ptr_equal(w->ctx, &ctx2);
    assert_int_equal(utcp__watch_del(&m, handle(1, 1)), 0);
    assert_null(utcp__watch_find(&m, handle(1, 1)));
    assert_int_equal(utcp__watch_del(&m, handle(1, 1)), UTCP_ENOENT);
    assert_int_equal(m.count, 0);
    utcp__watch_free(&m);
}

static void watch_rejects_reserved_handles(void **state)
{
    (void)state;
    struct utcp__watch_map m = {0};
    assert_int_equal(utcp__watch_put(&m, 0, cb_a, NULL), UTCP_EINVAL);
    assert_int_equal(utcp__watch_put(&m, UTCP__WATCH_TOMB, cb_a, NULL),
                     UTCP_EINVAL);
    assert_int_equal(utcp__watch_put(&m, handle(3, 1), NULL, NULL),
                     UTCP_EINVAL);
    assert_null(utcp__watch_find(&m, 0));
    assert_null(utcp__watch_find(&m, UTCP__WATCH_TOMB));
    utcp__watch_free(&m);
}

static void watch_many_entries_all_found(void **state)
{
    (void)state;
    struct utcp__watch_map m = {0};
    const uint32_t n = 20000;
    for (uint32_t i = 1; i <= n; i++)
        assert_int_equal(
            utcp__watch_put(&m, handle(i, 7), cb_a, (void *)(uintptr_t)i), 0);
    assert_int_equal(m.count, n);
    for (uint32_t i = 1; i <= n; i += 2)
        assert_int_equal(utcp__watch_del(&m, handle(i, 7)), 0);
    for (uint32_t i = 1; i <= n; i++) {
        struct run_watch *w = utcp__watch_find(&m, handle(i, 7));
        if (i % 2) {
            assert_null(w);
        } else {
            assert_non_null(w);
            assert_int_equal((uintptr_t)w->ctx, i);
        }
    }
    assert_int_equal(m.count, n / 2);
    utcp__watch_free(&m);
}

static void watch_churn_does_not_grow_the_table(void **state)
{
    (void)state;
    struct utcp__watch_map m = {0};
    /* 100 long-lived sockets, then a million short ones, each watched and
     * unwatched: the table stays sized for about 100 entries. */
    for (uint32_t i = 1; i <= 100; i++)
        assert_int_equal(utcp__watch_put(&m, handle(i, 1), cb_a, NULL), 0);
    size_t max_cap = 0;
    for (uint32_t k = 0; k < 1000000; k++) {
        utcp_sock sk = handle(1000 + k % 50000, 2 + k / 50000);
        assert_int_equal(utcp__watch_put(&m, sk, cb_b, NULL), 0);
        assert_int_equal(utcp__watch_del(&m, sk), 0);
        if (m.cap > max_cap)
            max_cap = m.cap;
    }
    assert_true(max_cap <= 1024);
    for (uint32_t i = 1; i <= 100; i++)
        assert_non_null(utcp__watch_find(&m, handle(i, 1)));
    assert_int_equal(m.count, 100);
    utcp__watch_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(watch_put_find_replace_delete),
        cmocka_unit_test(watch_rejects_reserved_handles),
        cmocka_unit_test(watch_many_entries_all_found),
        cmocka_unit_test(watch_churn_does_not_grow_the_table),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
