/*
 * Tests for the timer wheel (src/stack/timerwheel.c): arm, cancel, re-arm,
 * FIFO ties, instants in the past, next() exactness, deadlines up to
 * UINT64_MAX - 1, a long randomised run against a naive reference, and many
 * idle far-future timers that expiry must not visit.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "stack/timerwheel.h"

/* Internal invariant checker exported by timerwheel.c for tests. */
int utcp__wheel_check(const struct utcp_twheel *w);

#define SEC UINT64_C(1000000)
#define MIN (60u * SEC)
#define HOUR (60u * MIN)
#define DAY (24u * HOUR)

static struct utcp_twheel *new_wheel(uint64_t now)
{
    struct utcp_twheel *w = malloc(sizeof(*w));
    assert_non_null(w);
    utcp__wheel_init(w, now);
    return w;
}

static void init_nodes(struct utcp_tnode *n, size_t count)
{
    for (size_t i = 0; i < count; i++)
        utcp__wheel_node_init(&n[i]);
}

static void check(const struct utcp_twheel *w)
{
    assert_int_equal(utcp__wheel_check(w), 0);
}

static void empty_wheel_has_no_deadline(void **state)
{
    (void)state;
    struct utcp_twheel *w = new_wheel(1000);
    assert_int_equal(utcp__wheel_next(w), UINT64_MAX);
    assert_null(utcp__wheel_pop(w, 0));
    assert_null(utcp__wheel_pop(w, UINT64_MAX));
    assert_int_equal(utcp__wheel_next(w), UINT64_MAX);
    check(w);
    free(w);
}

static void arm_then_pop_in_order(void **state)
{
    (void)state;
    struct utcp_twheel *w = new_wheel(0);
    struct utcp_tnode n[4];
    init_nodes(n, 4);
    assert_false(utcp__wheel_armed(&n[0]));
    utcp__wheel_arm(w, &n[2], 5000);
    utcp__wheel_arm(w, &n[0], 17);
    utcp__wheel_arm(w, &n[1], 1025);
    utcp__wheel_arm(w, &n[3], 3 * SEC);
    assert_true(utcp__wheel_armed(&n[0]));
    assert_int_equal(w->count, 4);
    check(w);
    assert_int_equal(utcp__wheel_next(w), 17);
    assert_null(utcp__wheel_pop(w, 16));
    assert_ptr_equal(utcp__wheel_pop(w, 17), &n[0]);
    assert_false(utcp__wheel_armed(&n[0]));
    assert_null(utcp__wheel_pop(w, 17));
    assert_int_equal(utcp__wheel_next(w), 1025);
    assert_ptr_equal(utcp__wheel_pop(w, 10000), &n[1]);
    assert_ptr_equal(utcp__wheel_pop(w, 10000), &n[2]);
    assert_null(utcp__wheel_pop(w, 10000));
    assert_int_equal(utcp__wheel_next(w), 3 * SEC);
    assert_null(utcp__wheel_pop(w, 3 * SEC - 1));
    assert_ptr_equal(utcp__wheel_pop(w, 3 * SEC), &n[3]);
    assert_int_equal(w->count, 0);
    assert_int_equal(utcp__wheel_next(w), UINT64_MAX);
    check(w);
    free(w);
}

static void cancel_disarms(void **state)
{
    (void)state;
    struct utcp_twheel *w = new_wheel(100);
    struct utcp_tnode n[3];
    init_nodes(n, 3);
    utcp__wheel_cancel(w, &n[0]); /* not armed: harmless */
    utcp__wheel_arm(w, &n[0], 200);
    utcp__wheel_arm(w, &n[1], 300);
    utcp__wheel_arm(w, &n[2], 2 * HOUR);
    utcp__wheel_cancel(w, &n[0]);
    utcp__wheel_cancel(w, &n[0]);
    assert_false(utcp__wheel_armed(&n[0]));
    assert_int_equal(w->count, 2);
    assert_int_equal(utcp__wheel_next(w), 300);
    utcp__wheel_cancel(w, &n[1]);
    assert_int_equal(utcp__wheel_next(w), 2 * HOUR);
    utcp__wheel_cancel(w, &n[2]);
    assert_int_equal(utcp__wheel_next(w), UINT64_MAX);
    assert_null(utcp__wheel_pop(w, UINT64_MAX));
    assert_int_equal(w->count, 0);
    check(w);
    free(w);
}

static void rearm_moves_the_deadline(void **state)
{
    (void)state;
    struct utcp_twheel *w = new_wheel(0);
    struct utcp_tnode n;
    utcp__wheel_node_init(&n);
    utcp__wheel_arm(w, &n, 1000);
    utcp__wheel_arm(w, &n, 200 * 1000); /* later */
    assert_int_equal(w->count, 1);
    assert_int_equal(utcp__wheel_next(w), 200 * 1000);
    assert_null(utcp__wheel_pop(w, 1000));
    utcp__wheel_arm(w, &n, 5000); /* earlier than the previous deadline */
    assert_int_equal(utcp__wheel_next(w), 5000);
    assert_null(utcp__wheel_pop(w, 4999));
    assert_ptr_equal(utcp__wheel_pop(w, 5000), &n);
    /* The hot pattern: one node re-armed many times, always later. */
    uint64_t t = 5000;
    for (int i = 0; i < 10000; i++) {
        utcp__wheel_arm(w, &n, t + 200 * 1000);
        t += 1000;
        assert_null(utcp__wheel_pop(w, t));
        assert_int_equal(utcp__wheel_next(w), t - 1000 + 200 * 1000);
    }
    check(w);
    assert_ptr_equal(utcp__wheel_pop(w, UINT64_MAX), &n);
    free(w);
}

static void ties_fire_in_arm_order(void **state)
{
    (void)state;
    struct utcp_twheel *w = new_wheel(0);
    struct utcp_tnode n[6];
    init_nodes(n, 6);
    uint64_t e = 10 * SEC + 123;
    /* Armed from different distances, so they sit at different levels
     * and meet only after cascading. */
    utcp__wheel_arm(w, &n[0], e);
    assert_null(utcp__wheel_pop(w, 9 * SEC));
    utcp__wheel_arm(w, &n[1], e);
    assert_null(utcp__wheel_pop(w, e - 70));
    utcp__wheel_arm(w, &n[2], e);
    assert_null(utcp__wheel_pop(w, e - 1));
    utcp__wheel_arm(w, &n[3], e);
    utcp__wheel_arm(w, &n[4], e);
    utcp__wheel_arm(w, &n[5], e + 1);
    utcp__wheel_arm(w, &n[3], e); /* re-arming makes it the latest armed */
    check(w);
    assert_int_equal(utcp__wheel_next(w), e);
    assert_ptr_equal(utcp__wheel_pop(w, e + 1), &n[0]);
    assert_ptr_equal(utcp__wheel_pop(w, e + 1), &n[1]);
    assert_ptr_equal(utcp__wheel_pop(w, e + 1), &n[2]);
    assert_ptr_equal(utcp__wheel_pop(w, e + 1), &n[4]);
    assert_ptr_equal(utcp__wheel_pop(w, e + 1), &n[3]);
    assert_ptr_equal(utcp__wheel_pop(w, e + 1), &n[5]);
    assert_null(utcp__wheel_pop(w, e + 1));
    free(w);
}

static void past_instants_fire_at_next_pop(void **state)
{
    (void)state;
    struct utcp_twheel *w = new_wheel(0);
    struct utcp_tnode n[5];
    init_nodes(n, 5);
    assert_null(utcp__wheel_pop(w, 50 * DAY));
    utcp__wheel_arm(w, &n[0], 50 * DAY + 10);
    utcp__wheel_arm(w, &n[1], 50 * DAY); /* exactly now */
    utcp__wheel_arm(w, &n[2], 5);        /* days ago */
    utcp__wheel_arm(w, &n[3], 50 * DAY - 1000);
    utcp__wheel_arm(w, &n[4], 0);
    check(w);
    assert_int_equal(utcp__wheel_next(w), 0);
    /* An earlier now is treated as the current now. */
    assert_ptr_equal(utcp__wheel_pop(w, 3), &n[4]);
    assert_ptr_equal(utcp__wheel_pop(w, 3), &n[2]);
    /* Arming in the past between pops still comes out in expiry order. */
    utcp__wheel_arm(w, &n[2], 7);
    assert_ptr_equal(utcp__wheel_pop(w, 0), &n[2]);
    assert_ptr_equal(utcp__wheel_pop(w, 0), &n[3]);
    assert_ptr_equal(utcp__wheel_pop(w, 0), &n[1]);
    assert_null(utcp__wheel_pop(w, 0));
    assert_int_equal(utcp__wheel_next(w), 50 * DAY + 10);
    assert_ptr_equal(utcp__wheel_pop(w, 50 * DAY + 10), &n[0]);
    check(w);
    free(w);
}

static void next_is_exact(void **state)
{
    (void)state;
    struct utcp_twheel *w = new_wheel(1);
    struct utcp_tnode n[4];
    init_nodes(n, 4);
    /* Same coarse slot, different exact instants. */
    utcp__wheel_arm(w, &n[0], 2 * HOUR + 999);
    utcp__wheel_arm(w, &n[1], 2 * HOUR + 7);
    utcp__wheel_arm(w, &n[2], 2 * HOUR + 500);
    assert_int_equal(utcp__wheel_next(w), 2 * HOUR + 7);
    utcp__wheel_cancel(w, &n[1]);
    assert_int_equal(utcp__wheel_next(w), 2 * HOUR + 500);
    utcp__wheel_arm(w, &n[2], 3 * HOUR);
    assert_int_equal(utcp__wheel_next(w), 2 * HOUR + 999);
    utcp__wheel_arm(w, &n[3], 2 * HOUR + 999); /* a tie */
    utcp__wheel_cancel(w, &n[0]);
    assert_int_equal(utcp__wheel_next(w), 2 * HOUR + 999);
    assert_null(utcp__wheel_pop(w, 2 * HOUR + 998));
    assert_int_equal(utcp__wheel_next(w), 2 * HOUR + 999);
    assert_ptr_equal(utcp__wheel_pop(w, 2 * HOUR + 999), &n[3]);
    assert_int_equal(utcp__wheel_next(w), 3 * HOUR);
    check(w);
    free(w);
}

static void huge_deadlines(void **state)
{
    (void)state;
    struct utcp_twheel *w = new_wheel(12345);
    struct utcp_tnode n[6];
    init_nodes(n, 6);
    utcp__wheel_arm(w, &n[0], UINT64_MAX - 1);
    utcp__wheel_arm(w, &n[1], UINT64_C(1) << 63);
    utcp__wheel_arm(w, &n[2], (UINT64_C(1) << 63) - 1);
    utcp__wheel_arm(w, &n[3], 400 * DAY);
    utcp__wheel_arm(w, &n[4], UINT64_MAX - 2);
    utcp__wheel_arm(w, &n[5], 2 * MIN); /* 2 * MSL */
    check(w);
    assert_int_equal(utcp__wheel_next(w), 2 * MIN);
    assert_ptr_equal(utcp__wheel_pop(w, 2 * MIN), &n[5]);
    assert_int_equal(utcp__wheel_next(w), 400 * DAY);
    assert_null(utcp__wheel_pop(w, 399 * DAY));
    assert_ptr_equal(utcp__wheel_pop(w, UINT64_MAX - 3), &n[3]);
    assert_ptr_equal(utcp__wheel_pop(w, UINT64_MAX - 3), &n[2]);
    assert_ptr_equal(utcp__wheel_pop(w, UINT64_MAX - 3), &n[1]);
    assert_null(utcp__wheel_pop(w, UINT64_MAX - 3));
    assert_int_equal(utcp__wheel_next(w), UINT64_MAX - 2);
    assert_ptr_equal(utcp__wheel_pop(w, UINT64_MAX - 1), &n[4]);
    assert_ptr_equal(utcp__wheel_pop(w, UINT64_MAX - 1), &n[0]);
    assert_null(utcp__wheel_pop(w, UINT64_MAX));
    check(w);
    free(w);

    /* A wheel that starts near the end of time. */
    w = new_wheel(UINT64_MAX - 100);
    utcp__wheel_arm(w, &n[0], UINT64_MAX - 1);
    utcp__wheel_arm(w, &n[1], UINT64_MAX - 50);
    utcp__wheel_arm(w, &n[2], 3);
    assert_ptr_equal(utcp__wheel_pop(w, 0), &n[2]);
    assert_null(utcp__wheel_pop(w, 0));
    assert_ptr_equal(utcp__wheel_pop(w, UINT64_MAX), &n[1]);
    assert_ptr_equal(utcp__wheel_pop(w, UINT64_MAX), &n[0]);
    check(w);
    free(w);
}

/* ---- Randomised comparison with a naive reference. */

struct prng {
    uint64_t s;
};

static uint64_t prng_next(struct prng *p) /* splitmix64 */
{
    uint64_t z = (p->s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* n > 0; the small modulo bias does not matter here. */
static uint64_t prng_below(struct prng *p, uint64_t n)
{
    return prng_next(p) % n;
}

/* A random duration on a random scale, from microseconds to years, with
 * a bias towards the boundaries of the wheel's slots. */
static uint64_t random_span(struct prng *p)
{
    /* clang-format off */
    static const uint64_t scales[] = {
        1, 63, 64, 65, 1000, 4096, 200 * 1000, 262144, SEC, 16777216,
        2 * MIN, 2 * HOUR, DAY, UINT64_C(1) << 36, 60 * DAY,
        UINT64_C(1) << 42, 400 * DAY, UINT64_C(1) << 52,
    };
    /* clang-format on */
    uint64_t s = scales[prng_below(p, sizeof(scales) / sizeof(scales[0]))];
    switch (prng_below(p, 4)) {
    case 0:
        return s;
    case 1:
        return s - 1;
    default:
        return prng_below(p, s + 1);
    }
}

#define REF_NODES 256

struct ref {
    bool armed[REF_NODES];
    uint64_t expires[REF_NODES];
    uint64_t order[REF_NODES];
    uint64_t seq, now;
};

static uint64_t ref_next(const struct ref *r)
{
    uint64_t m = UINT64_MAX;
    for (int i = 0; i < REF_NODES; i++)
        if (r->armed[i] && r->expires[i] < m)
            m = r->expires[i];
    return m;
}

static int ref_pop(struct ref *r, uint64_t now)
{
    if (now > r->now)
        r->now = now;
    int best = -1;
    for (int i = 0; i < REF_NODES; i++) {
        if (!r->armed[i] || r->expires[i] > r->now)
            continue;
        if (best < 0 || r->expires[i] < r->expires[best] ||
            (r->expires[i] == r->expires[best] && r->order[i] < r->order[best]))
            best = i;
    }
    if (best >= 0)
        r->armed[best] = false;
    return best;
}

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - 1 - b ? UINT64_MAX - 1 : a + b;
}

static void pop_and_compare(struct utcp_twheel *w, struct ref *r,
                            struct utcp_tnode *n, uint64_t now, bool all)
{
    do {
        int want = ref_pop(r, now);
        struct utcp_tnode *got = utcp__wheel_pop(w, now);
        if (want < 0) {
            assert_null(got);
            return;
        }
        assert_ptr_equal(got, &n[want]);
        assert_false(utcp__wheel_armed(got));
    } while (all);
}

static void run_random(uint64_t seed, uint64_t start, int ops)
{
    struct prng p = {seed};
    struct utcp_twheel *w = new_wheel(start);
    struct utcp_tnode *n = calloc(REF_NODES, sizeof(*n));
    struct ref *r = calloc(1, sizeof(*r));
    assert_non_null(n);
    assert_non_null(r);
    init_nodes(n, REF_NODES);
    r->now = start;
    /* Few or many live timers at a time. */
    int live = 4 + (int)prng_below(&p, REF_NODES - 4);
    for (int op = 0; op < ops; op++) {
        uint64_t dice = prng_below(&p, 100);
        int i = (int)prng_below(&p, (uint64_t)live);
        if (dice < 45) {
            uint64_t e;
            if (dice < 3) /* in the past */
                e = r->now - prng_below(&p, r->now - start + 1);
            else if (dice < 4)
                e = UINT64_MAX - 1 - prng_below(&p, 3);
            else
                e = sat_add(r->now, random_span(&p));
            utcp__wheel_arm(w, &n[i], e);
            r->armed[i] = true;
            r->expires[i] = e;
            r->order[i] = ++r->seq;
        } else if (dice < 60) {
            utcp__wheel_cancel(w, &n[i]);
            r->armed[i] = false;
        } else if (dice < 70) {
            /* Expire up to exactly the next deadline, or just before. */
            uint64_t t = ref_next(r);
            if (t != UINT64_MAX && t > r->now && (dice & 1u))
                t--;
            if (t != UINT64_MAX)
                pop_and_compare(w, r, n, t, true);
        } else if (dice < 80) {
            pop_and_compare(w, r, n, sat_add(r->now, random_span(&p)), false);
        } else {
            uint64_t back = prng_below(&p, r->now < 1000 ? r->now + 1 : 1000);
            uint64_t t =
                dice < 82 ? r->now - back : sat_add(r->now, random_span(&p));
            pop_and_compare(w, r, n, t, true);
        }
        assert_int_equal(utcp__wheel_next(w), ref_next(r));
        if (op % 4096 == 0) {
            check(w);
            live = 4 + (int)prng_below(&p, REF_NODES - 4);
        }
    }
    check(w);
    pop_and_compare(w, r, n, UINT64_MAX, true);
    assert_int_equal(w->count, 0);
    free(r);
    free(n);
    free(w);
}

static void random_against_reference(void **state)
{
    (void)state;
    run_random(1, 0, 80000);
    run_random(2, 1000 * DAY, 60000);
    run_random(3, UINT64_C(1) << 62, 40000);
    run_random(4, UINT64_MAX - (UINT64_C(1) << 50), 20000);
}

/* ---- Idle timers far in the future cost nothing per expiry. */

static void idle_timers_are_not_visited(void **state)
{
    (void)state;
    enum { IDLE = 1000000, POPS = 100000 };
    struct prng p = {42};
    struct utcp_twheel *w = new_wheel(0);
    struct utcp_tnode *idle = malloc(IDLE * sizeof(*idle));
    assert_non_null(idle);
    init_nodes(idle, IDLE);
    /* Keep-alive timers two hours out, spread over one minute, and some
     * set to "practically never". */
    for (int i = 0; i < IDLE; i++) {
        uint64_t e =
            i % 16 == 0 ? UINT64_MAX - 1 : 2 * HOUR + prng_below(&p, MIN);
        utcp__wheel_arm(w, &idle[i], e);
    }
    struct utcp_tnode active;
    utcp__wheel_node_init(&active);
    uint64_t now = 0;
    int fired = 0;
    for (int i = 0; i < POPS; i++) {
        /* One busy connection: re-armed often, sometimes firing. */
        if (i % 3 == 0)
            utcp__wheel_arm(w, &active, now + 200 + prng_below(&p, 400));
        now += 1 + prng_below(&p, 300);
        struct utcp_tnode *t;
        while ((t = utcp__wheel_pop(w, now)) != NULL) {
            assert_ptr_equal(t, &active);
            fired++;
        }
        uint64_t next = utcp__wheel_next(w);
        assert_true(next > now);
        assert_true(utcp__wheel_armed(&active) || next >= 2 * HOUR);
    }
    assert_true(fired > 0);
    assert_true(now < 2 * HOUR);
    assert_int_equal(w->count, IDLE + (utcp__wheel_armed(&active) ? 1 : 0));
    /* Now let the keep-alives come due: in expiry order. */
    utcp__wheel_cancel(w, &active);
    uint64_t last = 0;
    int n = 0;
    struct utcp_tnode *t;
    while ((t = utcp__wheel_pop(w, 3 * HOUR)) != NULL) {
        assert_true(t->expires >= last);
        assert_true(t->expires <= 3 * HOUR);
        last = t->expires;
        n++;
    }
    assert_int_equal(n, IDLE - IDLE / 16);
    assert_int_equal(utcp__wheel_next(w), UINT64_MAX - 1);
    free(idle);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(empty_wheel_has_no_deadline),
        cmocka_unit_test(arm_then_pop_in_order),
        cmocka_unit_test(cancel_disarms),
        cmocka_unit_test(rearm_moves_the_deadline),
        cmocka_unit_test(ties_fire_in_arm_order),
        cmocka_unit_test(past_instants_fire_at_next_pop),
        cmocka_unit_test(next_is_exact),
        cmocka_unit_test(huge_deadlines),
        cmocka_unit_test(random_against_reference),
        cmocka_unit_test(idle_timers_are_not_visited),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
