/*
 * The simulated network (utcp/sim.h): virtual time, the record of a run,
 * determinism for a seed, filter directions, injection and node restart,
 * driving real RFC 9293 handshakes between two stacks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "utcp/sim.h"
#include "utcp/wire.h"

#define MS 1000u

static struct utcp_sim *make(uint64_t seed, uint32_t loss_ppm)
{
    struct utcp_sim_config c;
    utcp_sim_config_init(&c);
    c.seed = seed;
    for (int d = 0; d < 2; d++) {
        c.filter.dir[d].delay_us = 10 * MS;
        c.filter.dir[d].jitter_us = 3 * MS;
        c.filter.dir[d].loss_ppm = loss_ppm;
    }
    struct utcp_sim *n = NULL;
    assert_int_equal(utcp_sim_create(&c, &n), 0);
    return n;
}

/* B listens on 80, A connects; returns A's socket. */
static utcp_sock connect_pair(struct utcp_sim *n, utcp_sock *lb)
{
    struct utcp_stack *a = utcp_sim_stack(n, 0), *b = utcp_sim_stack(n, 1);
    utcp_sock l, s;
    assert_int_equal(utcp_socket(b, &l), 0);
    assert_int_equal(utcp_bind(b, l, 0, 80), 0);
    assert_int_equal(utcp_listen(b, l, 4), 0);
    assert_int_equal(utcp_socket(a, &s), 0);
    assert_int_equal(utcp_connect(a, s, utcp_sim_addr(n, 1), 80),
                     UTCP_EINPROGRESS);
    if (lb)
        *lb = l;
    return s;
}

static void create_rejects_bad_node_counts(void **state)
{
    (void)state;
    struct utcp_sim_config c;
    utcp_sim_config_init(&c);
    struct utcp_sim *n = NULL;
    c.nodes = 1;
    assert_int_equal(utcp_sim_create(&c, &n), UTCP_EINVAL);
    c.nodes = UTCP_SIM_MAX_NODES + 1;
    assert_int_equal(utcp_sim_create(&c, &n), UTCP_EINVAL);
    c.nodes = 3;
    assert_int_equal(utcp_sim_create(&c, &n), 0);
    assert_int_equal(utcp_sim_nodes(n), 3);
    assert_int_equal(utcp_sim_addr(n, 2), UTCP_SIM_BASE_ADDR + 2);
    assert_null(utcp_sim_stack(n, 3));
    utcp_sim_destroy(n);
    utcp_sim_destroy(NULL);
}

static void handshake_on_virtual_time(void **state)
{
    (void)state;
    struct utcp_sim *n = make(1, 0);
    utcp_sock s = connect_pair(n, NULL);
    utcp_sim_run_for(n, 200 * MS);
    assert_int_equal(utcp_sim_now(n), 200 * MS);
    struct utcp_info i;
    assert_int_equal(utcp_getinfo(utcp_sim_stack(n, 0), s, &i), 0);
    assert_int_equal(i.state, UTCP_ESTABLISHED);
    char buf[256];
    uint32_t ids[4];
    assert_int_equal(utcp_sim_conn_ids(n, 0, ids, 4), 1);
    assert_string_equal(utcp_sim_state_path(n, 0, ids[0], buf, sizeof buf),
                        "CLOSED>SYN_SENT>ESTABLISHED");
    assert_int_equal(utcp_sim_conn_ids(n, 1, ids, 4), 2);
    assert_string_equal(utcp_sim_state_path(n, 1, ids[1], buf, sizeof buf),
                        "LISTEN>SYN_RECEIVED>ESTABLISHED");
    /* Three segments, each delivered once, 10..13 ms after it left. */
    const struct utcp_sim_event *ev;
    size_t ne = utcp_sim_events(n, &ev), segs = 0, delivered = 0;
    uint64_t last = 0;
    for (size_t k = 0; k < ne; k++) {
        assert_true(ev[k].t >= last);
        last = ev[k].t;
        if (ev[k].kind == UTCP_SIM_SEG) {
            segs++;
            assert_int_equal(ev[k].to, 1 - ev[k].node);
            assert_false(ev[k].verdict.drop);
        }
        if (ev[k].kind == UTCP_SIM_DELIVER) {
            delivered++;
            const struct utcp_sim_event *sg = &ev[ev[k].seg];
            assert_int_equal(sg->kind, UTCP_SIM_SEG);
            assert_true(ev[k].t >= sg->t + 10 * MS);
            assert_true(ev[k].t <= sg->t + 13 * MS);
        }
    }
    assert_int_equal(segs, 3);
    assert_int_equal(delivered, 3);
    assert_int_equal(utcp_sim_illegal_transitions(n), 0);
    assert_int_equal(utcp_sim_error(n), 0);
    /* A tiny buffer still gets a terminated prefix. */
    utcp_sim_state_path(n, 0, ids[0], buf, 4);
    assert_string_equal(buf, "CLO");
    utcp_sim_destroy(n);
}

/* A digest of a run's record: kinds, times, nodes, packet bytes. */
static uint64_t digest(uint64_t seed)
{
    struct utcp_sim *n = make(seed, 100000);
    utcp_sock lb, s = connect_pair(n, &lb);
    utcp_sim_run_for(n, 20000 * MS);
    static const char msg[3000];
    utcp_send(utcp_sim_stack(n, 0), s, msg, sizeof msg);
    utcp_sim_run_for(n, 20000 * MS);
    const struct utcp_sim_event *ev;
    size_t ne = utcp_sim_events(n, &ev);
    uint64_t h = 1469598103934665603u;
    for (size_t k = 0; k < ne; k++) {
        h = (h ^ (uint64_t)ev[k].kind) * 1099511628211u;
        h = (h ^ ev[k].t) * 1099511628211u;
        h = (h ^ ev[k].node) * 1099511628211u;
        for (size_t b = 0; b < ev[k].len; b++)
            h = (h ^ ev[k].pkt[b]) * 1099511628211u;
    }
    utcp_sim_destroy(n);
    return h;
}

static void same_seed_same_run(void **state)
{
    (void)state;
    assert_int_equal(digest(3), digest(3));
    assert_int_not_equal(digest(3), digest(4));
}

static void filter_direction_zero_is_from_a(void **state)
{
    (void)state;
    struct utcp_sim *n = make(1, 0);
    struct utcp_filter_rule r;
    memset(&r, 0, sizeof r);
    r.match = utcp_filter_match_syn(0); /* every SYN from A */
    r.action = UTCP_FILTER_ACT_DROP;
    assert_int_equal(utcp_filter_add_rule(utcp_sim_filter(n), &r), 0);
    struct utcp_stack *a = utcp_sim_stack(n, 0);
    utcp_sock s;
    assert_int_equal(utcp_socket(a, &s), 0);
    assert_int_equal(utcp_setopt(a, s, UTCP_OPT_SYN_RETRIES, 2), 0);
    assert_int_equal(utcp_connect(a, s, utcp_sim_addr(n, 1), 80),
                     UTCP_EINPROGRESS);
    assert_true(utcp_sim_run_idle(n, 3600000 * MS));
    assert_int_equal(utcp_sock_error(a, s), UTCP_ETIMEDOUT);
    const struct utcp_sim_event *ev;
    size_t ne = utcp_sim_events(n, &ev), lost = 0;
    for (size_t k = 0; k < ne; k++) {
        assert_true(ev[k].kind != UTCP_SIM_DELIVER);
        if (ev[k].kind == UTCP_SIM_SEG) {
            assert_true(ev[k].verdict.drop);
            assert_int_equal(ev[k].verdict.reason, UTCP_FILTER_RULE);
            lost++;
        }
    }
    assert_int_equal(lost, 3);
    utcp_sim_destroy(n);
}

static void inject_note_and_restart(void **state)
{
    (void)state;
    struct utcp_sim *n = make(1, 0);
    utcp_sock lb;
    connect_pair(n, &lb);
    utcp_sim_run_for(n, 200 * MS);
    assert_int_equal(utcp_sim_note(n, 1, "hello"), 0);
    assert_int_equal(utcp_sim_restart(n, 1), 0);
    assert_int_equal(utcp_sim_restart(n, 9), UTCP_EINVAL);
    /* A bare ACK to the restarted B: answered with RST. */
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = utcp_sim_addr(n, 0);
    ip.dst = utcp_sim_addr(n, 1);
    ip.ttl = 64;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = 1234;
    th.dport = 80;
    th.seq = 1;
    th.ack = 1;
    th.flags = UTCP_TH_ACK;
    th.win = 100;
    uint8_t pkt[64];
    size_t len = utcp_ipv4_tcp_build(pkt, sizeof pkt, &ip, &th, NULL, 0);
    assert_int_equal(utcp_sim_inject(n, 0, pkt, len), 0);
    assert_int_equal(utcp_sim_inject(n, 7, pkt, len), UTCP_EINVAL);
    utcp_sim_run_for(n, 100 * MS);
    const struct utcp_sim_event *ev;
    size_t ne = utcp_sim_events(n, &ev);
    bool noted = false, injected = false, rst = false, destroyed = false;
    for (size_t k = 0; k < ne; k++) {
        const struct utcp_sim_event *e = &ev[k];
        if (e->kind == UTCP_SIM_NOTE)
            noted = !strcmp(e->text, "hello") && e->node == 1;
        if (e->kind == UTCP_SIM_STATE && e->node == 1 &&
            e->cause == UTCP_CAUSE_STACK_DESTROY)
            destroyed = true;
        if (e->kind == UTCP_SIM_SEG && e->injected)
            injected = true;
        if (e->kind == UTCP_SIM_SEG && e->node == 1 && e->len >= 40 &&
            (e->pkt[33] & UTCP_TH_RST))
            rst = true;
    }
    assert_true(noted);
    assert_true(destroyed);
    assert_true(injected);
    assert_true(rst);
    utcp_sim_destroy(n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(create_rejects_bad_node_counts),
        cmocka_unit_test(handshake_on_virtual_time),
        cmocka_unit_test(same_seed_same_run),
        cmocka_unit_test(filter_direction_zero_is_from_a),
        cmocka_unit_test(inject_note_and_restart),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
