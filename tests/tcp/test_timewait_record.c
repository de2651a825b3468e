/*
 * TIME_WAIT as a compact record: once the application has let go, a
 * connection in TIME_WAIT costs one 64-byte record (src/stack/timewait.c),
 * which still re-ACKs the peer's FIN, ignores RST (RFC 1337), expires after
 * 2*MSL, shows up in utcp_foreach_conn and is freed with the stack.
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
#include "tnet.h"

#define A 0
#define B 1
#define MS 1000ull
#define SEC 1000000ull


struct seen {
    int timewait;
    uint64_t expires;
};

static void count_tw(void *ctx, utcp_sock sk, const struct utcp_info *i)
{
    struct seen *s = ctx;
    if (i->state == UTCP_TIME_WAIT && sk == 0) {
        s->timewait++;
        s->expires = i->timer_expires;
    }
}

static void timewait_record_replaces_connection(void **state)
{
    (void)state;
    struct counting k;
    struct utcp_allocator al = counting_allocator(&k);
    struct utcp_config c;
    utcp_config_init(&c);
    c.seed = 7;
    c.allocator = &al;
    /* no reuse caches: the allocator sees what is really held */
    c.obj_cache = UINT32_MAX;
    c.buf_cache_bytes = SIZE_MAX;
    struct tnet n;
    tnet_init(&n, &c);
    utcp_sock lb = tnet_listen(&n, B, 80, 4), ca = tnet_connect(&n, A, 80), cb;
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[B], lb, &cb), 0);
    uint32_t ida = tnet_conn_id(&n, A, ca);
    /* A closes first and lets go of the socket */
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 100 * MS);
    /* record the bytes held while A's connection is in FIN_WAIT_2 */
    long long before = k.bytes;
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    tnet_run_for(&n, 100 * MS);
    struct seen s = {0, 0};
    utcp_foreach_conn(n.st[A], count_tw, &s);
    assert_int_equal(s.timewait, 1);
    /* B's connection was freed too, so compare A's side alone: it must now
     * hold at most a record more than nothing, far less than before */
    assert_true(before - k.bytes > 256);
    char buf[256];
    tnet_states(&n, A, ida, buf, sizeof buf);
    assert_string_equal(buf, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>"
                             "FIN_WAIT_2>TIME_WAIT");
    /* 2*MSL later the record expires with a traced state change */
    tnet_run_for(&n, 61 * SEC);
    tnet_states(&n, A, ida, buf, sizeof buf);
    assert_string_equal(buf, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>"
                             "FIN_WAIT_2>TIME_WAIT>CLOSED");
    s.timewait = 0;
    utcp_foreach_conn(n.st[A], count_tw, &s);
    assert_int_equal(s.timewait, 0);
    struct utcp_counters ka;
    utcp_get_counters(n.st[A], &ka);
    assert_int_equal(ka.ConnsAlloc, ka.ConnsFree);
    assert_int_equal(ka.IllegalTransitions, 0);
    utcp_close(n.st[B], lb);
    tnet_destroy(&n);
    assert_int_equal(k.bytes, 0);
    assert_int_equal(k.blocks, 0);
}

static void timewait_record_size_is_64_bytes(void **state)
{
    (void)state;
    assert_true(sizeof(struct utcp_twrec) <= 64);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(timewait_record_replaces_connection),
        cmocka_unit_test(timewait_record_size_is_64_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
