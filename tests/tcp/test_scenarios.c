/*
 * The classic scenarios of shared/SCENARIOS.md at the engine level: two
 * stacks back to back on tnet, asserting the exact state sequences on both
 * ends, the segments exchanged, and byte-exact delivery.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tnet.h"

#define A 0
#define B 1
#define MS 1000ull
#define SEC 1000000ull

static struct utcp_config base_cfg(void)
{
    struct utcp_config c;
    utcp_config_init(&c);
    c.seed = 42;
    return c;
}

/* Sets up A connected to B's listener; returns the accepted socket. */
static void open_pair(struct tnet *n, utcp_sock *ca, utcp_sock *cb,
                      utcp_sock *lb)
{
    *lb = tnet_listen(n, B, 80, 8);
    *ca = tnet_connect(n, A, 80);
    tnet_run_for(n, 100 * MS);
    assert_int_equal(utcp_accept(n->st[B], *lb, cb), 0);
}

static void expect_states(const struct tnet *n, int side, uint32_t id,
                          const char *want)
{
    char buf[512];
    tnet_states(n, side, id, buf, sizeof buf);
    if (strcmp(buf, want) != 0)
        fail_msg("side %c conn %u: states %s, expected %s", side ? 'B' : 'A',
                 id, buf, want);
}

static void send_all(struct tnet *n, int side, utcp_sock s, const uint8_t *p,
                     size_t len)
{
    size_t off = 0;
    int guard = 0;
    while (off < len) {
        long r = utcp_send(n->st[side], s, p + off, len - off);
        if (r == UTCP_EAGAIN) {
            tnet_run_for(n, 10 * MS);
            assert_true(++guard < 100000);
            continue;
        }
        assert_true(r > 0);
        off += (size_t)r;
    }
}

static size_t recv_some(struct tnet *n, int side, utcp_sock s, uint8_t *p,
                        size_t cap)
{
    size_t got = 0;
    for (;;) {
        long r = utcp_recv(n->st[side], s, p + got, cap - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    return got;
}


#define F_S UTCP_TH_SYN
#define F_A UTCP_TH_ACK
#define F_F UTCP_TH_FIN
#define F_R UTCP_TH_RST
#define F_P UTCP_TH_PSH

static void fill(uint8_t *p, size_t len, unsigned salt)
{
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)((i * 131u + salt) ^ (i >> 8));
}

/* Every connection record both stacks allocated has been freed. */
static void expect_no_leak(const struct tnet *n)
{
    for (int side = 0; side < 2; side++) {
        struct utcp_counters k;
        utcp_get_counters(n->st[side], &k);
        if (k.ConnsAlloc != k.ConnsFree)
            fail_msg("side %c: ConnsAlloc %llu != ConnsFree %llu",
                     side ? 'B' : 'A', (unsigned long long)k.ConnsAlloc,
                     (unsigned long long)k.ConnsFree);
        assert_int_equal(k.IllegalTransitions, 0);
    }
}

static uint64_t counter(const struct tnet *n, int side, size_t off)
{
    struct utcp_counters k;
    utcp_get_counters(n->st[side], &k);
    uint64_t v;
    memcpy(&v, (const char *)&k + off, sizeof v);
    return v;
}
#define CTR(n, side, name) counter((n), (side), offsetof(struct utcp_counters, name))

/* Time of the first state change of conn `id` on `side` into `st`. */
static uint64_t state_time(const struct tnet *n, int side, uint32_t id, int st)
{
    for (size_t i = 0; i < n->nstates; i++)
        if (n->states[i].side == side && n->states[i].conn_id == id &&
            n->states[i].new_state == st)
            return n->states[i].at;
    fail_msg("side %d conn %u never entered %s", side, id, utcp_state_name(st));
    return 0;
}

static void dump_segs(const struct tnet *n)
{
    char f[8];
    for (size_t i = 0; i < n->nsegs; i++) {
        const struct tnet_seg_ev *e = &n->segs[i];
        print_message("%8.3f %c %-4s seq=%u ack=%u len=%u win=%u%s\n",
                      (double)e->at / 1e6, e->from ? 'B' : 'A',
                      tnet_flags(e->flags, f), e->seq, e->ack, e->len, e->win,
                      e->dropped ? " DROPPED" : "");
    }
}

/* Fully closes a pair gracefully from A then B and lets TIME_WAIT expire. */
static void close_pair(struct tnet *n, utcp_sock ca, utcp_sock cb)
{
    assert_int_equal(utcp_close(n->st[A], ca), 0);
    tnet_run_for(n, 100 * MS);
    assert_int_equal(utcp_close(n->st[B], cb), 0);
    tnet_run_for(n, 70 * SEC);
}

static void scenario_handshake(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    assert_int_equal(tnet_sock_state(&n, A, ca), UTCP_ESTABLISHED);
    assert_int_equal(tnet_sock_state(&n, B, cb), UTCP_ESTABLISHED);
    assert_int_equal(tnet_sock_state(&n, B, lb), UTCP_LISTEN);
    expect_states(&n, A, tnet_conn_id(&n, A, ca), "CLOSED>SYN_SENT>ESTABLISHED");
    expect_states(&n, B, tnet_conn_id(&n, B, lb), "CLOSED>LISTEN");
    expect_states(&n, B, tnet_conn_id(&n, B, cb),
                  "LISTEN>SYN_RECEIVED>ESTABLISHED");
    /* exactly SYN, SYN+ACK, ACK */
    assert_int_equal(n.nsegs, 3);
    assert_int_equal(n.segs[0].flags, UTCP_TH_SYN);
    assert_int_equal(n.segs[1].flags, UTCP_TH_SYN | UTCP_TH_ACK);
    assert_int_equal(n.segs[2].flags, UTCP_TH_ACK);
    assert_int_equal(n.segs[1].ack, n.segs[0].seq + 1);
    assert_int_equal(n.segs[2].ack, n.segs[1].seq + 1);
    assert_int_equal(n.bad_transitions, 0);
    tnet_destroy(&n);
}

static void scenario_active_close(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    uint8_t msg[3000], got[4000];
    for (size_t i = 0; i < sizeof msg; i++)
        msg[i] = (uint8_t)(i * 7);
    send_all(&n, A, ca, msg, sizeof msg);
    send_all(&n, B, cb, msg, 1000);
    tnet_run_for(&n, 200 * MS);
    assert_int_equal(recv_some(&n, B, cb, got, sizeof got), sizeof msg);
    assert_memory_equal(got, msg, sizeof msg);
    assert_int_equal(recv_some(&n, A, ca, got, sizeof got), 1000);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_recv(n.st[B], cb, got, sizeof got), 0); /* EOF */
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    tnet_run_for(&n, 100 * MS);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT");
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    tnet_run_for(&n, 61 * SEC);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED");
    assert_int_equal(n.timer_fires[A][UTCP_TIMER_TIME_WAIT], 1);
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    struct utcp_counters k;
    utcp_get_counters(n.st[A], &k);
    assert_int_equal(k.ConnsAlloc, k.ConnsFree);
    tnet_destroy(&n);
}

/* 3: A shuts down its sending side; B sends 1 MiB in CLOSE_WAIT; A reads
 * all of it in FIN_WAIT_2; then B closes. */
static void scenario_half_close(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    assert_int_equal(utcp_shutdown(n.st[A], ca, UTCP_SHUT_WR), 0);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(tnet_sock_state(&n, A, ca), UTCP_FIN_WAIT_2);
    assert_int_equal(tnet_sock_state(&n, B, cb), UTCP_CLOSE_WAIT);
    uint8_t tmp[16];
    assert_int_equal(utcp_recv(n.st[B], cb, tmp, sizeof tmp), 0); /* EOF */
    assert_int_equal(utcp_send(n.st[A], ca, "x", 1), UTCP_EPIPE);

    enum { TOTAL = 1 << 20 };
    uint8_t *msg = malloc(TOTAL), *got = malloc(TOTAL);
    assert_non_null(msg);
    assert_non_null(got);
    fill(msg, TOTAL, 3);
    size_t sent = 0, rcvd = 0;
    int guard = 0;
    while (rcvd < TOTAL) {
        if (sent < TOTAL) {
            long r = utcp_send(n.st[B], cb, msg + sent, TOTAL - sent);
            if (r > 0)
                sent += (size_t)r;
            else
                assert_int_equal(r, UTCP_EAGAIN);
        }
        tnet_run_for(&n, 5 * MS);
        rcvd += recv_some(&n, A, ca, got + rcvd, TOTAL - rcvd);
        assert_true(++guard < 100000);
        assert_int_equal(tnet_sock_state(&n, A, ca), UTCP_FIN_WAIT_2);
        assert_int_equal(tnet_sock_state(&n, B, cb), UTCP_CLOSE_WAIT);
    }
    assert_memory_equal(got, msg, TOTAL);
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_recv(n.st[A], ca, tmp, sizeof tmp), 0);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT");
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 61 * SEC);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED");
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    expect_no_leak(&n);
    free(msg);
    free(got);
    tnet_destroy(&n);
}

/* 4: B closes as soon as it reads EOF, within the delayed-ACK time, so one
 * segment carries its FIN and the ACK of A's FIN. */
static void scenario_three_way_close(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    size_t mark = n.nsegs;
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 10 * MS); /* A's FIN has just arrived */
    assert_int_equal(tnet_sock_state(&n, B, cb), UTCP_CLOSE_WAIT);
    uint8_t tmp[4];
    assert_int_equal(utcp_recv(n.st[B], cb, tmp, sizeof tmp), 0);
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    tnet_run_for(&n, 100 * MS);
    /* exactly FIN(A), FIN+ACK(B), ACK(A) */
    if (n.nsegs - mark != 3)
        dump_segs(&n);
    assert_int_equal(n.nsegs - mark, 3);
    assert_int_equal(n.segs[mark].from, A);
    assert_int_equal(n.segs[mark].flags, F_F | F_A);
    assert_int_equal(n.segs[mark + 1].from, B);
    assert_int_equal(n.segs[mark + 1].flags, F_F | F_A);
    assert_int_equal(n.segs[mark + 1].ack, n.segs[mark].seq + 1);
    assert_int_equal(n.segs[mark + 2].from, A);
    assert_int_equal(n.segs[mark + 2].flags, F_A);
    assert_int_equal(n.segs[mark + 2].ack, n.segs[mark + 1].seq + 1);
    expect_states(&n, A, ida, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>TIME_WAIT");
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    tnet_run_for(&n, 61 * SEC);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>TIME_WAIT>CLOSED");
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* Both ends bound (A:5000, B:6000) connect to each other at once. */
static void simultaneous_open(struct tnet *n, utcp_sock *ca, utcp_sock *cb)
{
    assert_int_equal(utcp_socket(n->st[A], ca), 0);
    assert_int_equal(utcp_socket(n->st[B], cb), 0);
    assert_int_equal(utcp_bind(n->st[A], *ca, 0, 5000), 0);
    assert_int_equal(utcp_bind(n->st[B], *cb, 0, 6000), 0);
    assert_int_equal(utcp_connect(n->st[A], *ca, TNET_ADDR_B, 6000),
                     UTCP_EINPROGRESS);
    assert_int_equal(utcp_connect(n->st[B], *cb, TNET_ADDR_A, 5000),
                     UTCP_EINPROGRESS);
}

/* 5 */
static void scenario_simultaneous_open(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb;
    simultaneous_open(&n, &ca, &cb);
    tnet_run_for(&n, 100 * MS);
    if (n.nsegs != 4)
        dump_segs(&n);
    assert_int_equal(n.nsegs, 4);
    /* SYN, SYN, then SYN+ACK both ways */
    assert_int_equal(n.segs[0].flags, F_S);
    assert_int_equal(n.segs[1].flags, F_S);
    assert_int_equal(n.segs[2].flags, F_S | F_A);
    assert_int_equal(n.segs[3].flags, F_S | F_A);
    for (int i = 2; i < 4; i++) {
        const struct tnet_seg_ev *sa = &n.segs[i];
        const struct tnet_seg_ev *syn = sa->from == A ? &n.segs[1] : &n.segs[0];
        const struct tnet_seg_ev *own = sa->from == A ? &n.segs[0] : &n.segs[1];
        assert_int_equal(sa->seq, own->seq);
        assert_int_equal(sa->ack, syn->seq + 1);
    }
    assert_int_equal(tnet_sock_state(&n, A, ca), UTCP_ESTABLISHED);
    assert_int_equal(tnet_sock_state(&n, B, cb), UTCP_ESTABLISHED);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    expect_states(&n, A, ida, "CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED");
    expect_states(&n, B, idb, "CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED");
    /* one connection: data flows both ways */
    uint8_t got[8];
    send_all(&n, A, ca, (const uint8_t *)"ping", 4);
    send_all(&n, B, cb, (const uint8_t *)"pong", 4);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(recv_some(&n, B, cb, got, sizeof got), 4);
    assert_memory_equal(got, "ping", 4);
    assert_int_equal(recv_some(&n, A, ca, got, sizeof got), 4);
    assert_memory_equal(got, "pong", 4);
    close_pair(&n, ca, cb);
    assert_int_equal(n.bad_transitions, 0);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 6 */
static void scenario_simultaneous_close(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    size_t mark = n.nsegs;
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    tnet_run_for(&n, 100 * MS);
    if (n.nsegs - mark != 4)
        dump_segs(&n);
    assert_int_equal(n.nsegs - mark, 4);
    assert_int_equal(n.segs[mark].flags, F_F | F_A);
    assert_int_equal(n.segs[mark + 1].flags, F_F | F_A);
    assert_int_equal(n.segs[mark + 2].flags, F_A);
    assert_int_equal(n.segs[mark + 3].flags, F_A);
    tnet_run_for(&n, 61 * SEC);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT>CLOSED");
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT>CLOSED");
    assert_int_equal(n.timer_fires[A][UTCP_TIMER_TIME_WAIT], 1);
    assert_int_equal(n.timer_fires[B][UTCP_TIMER_TIME_WAIT], 1);
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* Filter state shared by the scenario filters. */
struct fctx {
    uint32_t b_fin_seq, a_fin_seq;
    bool have_b_fin, have_a_fin;
    int dropped;
    int drop_side;        /* drop_all: this side's segments all vanish */
    uint8_t saved[TNET_MAX_PKT];
    size_t saved_len;
    uint8_t saved2[TNET_MAX_PKT];
    size_t saved2_len;
};

/* 7: drops A's first ACK of B's FIN. */
static int drop_final_ack(struct tnet *n, int from, const struct utcp_tcp *th,
                          const uint8_t *pkt, size_t len, uint64_t *extra,
                          void *ctx)
{
    (void)n, (void)pkt, (void)len, (void)extra;
    struct fctx *f = ctx;
    if (from == B && (th->flags & UTCP_TH_FIN)) {
        f->b_fin_seq = th->seq + (uint32_t)th->payload_len;
        f->have_b_fin = true;
    }
    if (from == A && f->have_b_fin && th->flags == UTCP_TH_ACK &&
        th->ack == f->b_fin_seq + 1 && f->dropped == 0) {
        f->dropped++;
        return TNET_DROP;
    }
    return TNET_PASS;
}

static void scenario_lost_final_ack(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    struct fctx f;
    memset(&f, 0, sizeof f);
    n.filter = drop_final_ack;
    n.filter_ctx = &f;
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    tnet_run_for(&n, 50 * MS);
    assert_int_equal(f.dropped, 1);
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK");
    tnet_run_for(&n, 5 * SEC);
    /* B sent its FIN twice; A acknowledged it twice. */
    size_t bfins = 0, aacks = 0;
    uint64_t second_fin_at = 0;
    for (size_t i = 0; i < n.nsegs; i++) {
        const struct tnet_seg_ev *e = &n.segs[i];
        if (e->from == B && (e->flags & F_F)) {
            assert_int_equal(e->seq, f.b_fin_seq);
            if (++bfins == 2)
                second_fin_at = e->at;
        }
        if (e->from == A && e->flags == F_A && e->ack == f.b_fin_seq + 1)
            aacks++;
    }
    assert_int_equal(bfins, 2);
    assert_int_equal(aacks, 2);
    assert_int_equal(n.timer_sets[A][UTCP_TIMER_TIME_WAIT], 2);
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    tnet_run_for(&n, 70 * SEC);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED");
    /* 2*MSL counted from the retransmitted FIN's arrival (restarted). */
    assert_int_equal(state_time(&n, A, ida, UTCP_CLOSED),
                     second_fin_at + n.delay + 60 * SEC);
    assert_int_equal(n.timer_fires[A][UTCP_TIMER_TIME_WAIT], 1);
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 8: drops B's pure ACK of A's FIN. */
static int drop_ack_of_fin(struct tnet *n, int from, const struct utcp_tcp *th,
                           const uint8_t *pkt, size_t len, uint64_t *extra,
                           void *ctx)
{
    (void)n, (void)pkt, (void)len, (void)extra;
    struct fctx *f = ctx;
    if (from == A && (th->flags & UTCP_TH_FIN)) {
        f->a_fin_seq = th->seq + (uint32_t)th->payload_len;
        f->have_a_fin = true;
    }
    if (from == B && f->have_a_fin && th->flags == UTCP_TH_ACK &&
        th->ack == f->a_fin_seq + 1) {
        f->dropped++;
        return TNET_DROP;
    }
    return TNET_PASS;
}

static void scenario_lost_ack_of_fin(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    struct fctx f;
    memset(&f, 0, sizeof f);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    n.filter = drop_ack_of_fin;
    n.filter_ctx = &f;
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    size_t mark = n.nsegs;
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 60 * MS); /* B's (delayed) ACK has gone and was lost */
    assert_int_equal(f.dropped, 1);
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    tnet_run_for(&n, 100 * MS);
    /* B's FIN acknowledges A's FIN */
    long bf = tnet_find_seg(&n, mark, B, F_F | F_A);
    assert_true(bf >= 0);
    assert_int_equal(n.segs[bf].ack, f.a_fin_seq + 1);
    expect_states(&n, A, ida, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>TIME_WAIT");
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    tnet_run_for(&n, 61 * SEC);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>TIME_WAIT>CLOSED");
    /* and the transition was caused by a FIN that acknowledged ours */
    bool found = false;
    for (size_t i = 0; i < n.nstates; i++)
        if (n.states[i].side == A && n.states[i].conn_id == ida &&
            n.states[i].new_state == UTCP_TIME_WAIT) {
            assert_int_equal(n.states[i].cause, UTCP_CAUSE_RCV_FIN_ACK_OF_FIN);
            found = true;
        }
    assert_true(found);
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 9: keeps a copy of B's first data segment and of A's first data
 * segment. */
static int save_data(struct tnet *n, int from, const struct utcp_tcp *th,
                     const uint8_t *pkt, size_t len, uint64_t *extra, void *ctx)
{
    (void)n, (void)th, (void)extra;
    struct fctx *f = ctx;
    if (th->payload_len && from == B && !f->saved_len) {
        memcpy(f->saved, pkt, len);
        f->saved_len = len;
    }
    if (th->payload_len && from == A && !f->saved2_len) {
        memcpy(f->saved2, pkt, len);
        f->saved2_len = len;
    }
    return TNET_PASS;
}

static void scenario_time_wait_duplicates(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    struct fctx f;
    memset(&f, 0, sizeof f);
    n.filter = save_data;
    n.filter_ctx = &f;
    utcp_sock lb = tnet_listen(&n, B, 80, 8), ca, cb;
    assert_int_equal(utcp_socket(n.st[A], &ca), 0);
    assert_int_equal(utcp_bind(n.st[A], ca, 0, 40000), 0);
    assert_int_equal(utcp_connect(n.st[A], ca, TNET_ADDR_B, 80),
                     UTCP_EINPROGRESS);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[B], lb, &cb), 0);
    uint8_t old[1000], got[2000];
    fill(old, sizeof old, 1);
    send_all(&n, B, cb, old, sizeof old);
    send_all(&n, A, ca, old, sizeof old);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(recv_some(&n, A, ca, got, sizeof got), sizeof old);
    assert_int_equal(recv_some(&n, B, cb, got, sizeof got), sizeof old);
    assert_true(f.saved_len > 0 && f.saved2_len > 0);
    /* the first incarnation ends fully (past 2*MSL) */
    close_pair(&n, ca, cb);

    /* Second incarnation, kept in TIME_WAIT this time. */
    utcp_sock ca2, cb2;
    assert_int_equal(utcp_socket(n.st[A], &ca2), 0);
    assert_int_equal(utcp_bind(n.st[A], ca2, 0, 40000), 0);
    assert_int_equal(utcp_connect(n.st[A], ca2, TNET_ADDR_B, 80),
                     UTCP_EINPROGRESS);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[B], lb, &cb2), 0);
    uint32_t ida2 = tnet_conn_id(&n, A, ca2);
    send_all(&n, B, cb2, old, 100);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(recv_some(&n, A, ca2, got, sizeof got), 100);
    assert_int_equal(utcp_close(n.st[A], ca2), 0);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_close(n.st[B], cb2), 0);
    tnet_run_for(&n, 100 * MS);
    expect_states(&n, A, ida2,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT");
    /* the old duplicate reaches A in TIME_WAIT: answered with an ACK,
     * nothing else happens */
    size_t mark = n.nsegs;
    utcp_input(n.st[A], n.now, f.saved, f.saved_len);
    assert_int_equal(n.nsegs - mark, 1);
    assert_int_equal(n.segs[mark].flags, F_A);
    tnet_run_for(&n, 100 * MS);
    expect_states(&n, A, ida2,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT");

    /* A third incarnation on the same 4-tuple while the second is in
     * TIME_WAIT (REUSEADDR). */
    utcp_sock ca3, cb3;
    assert_int_equal(utcp_socket(n.st[A], &ca3), 0);
    assert_int_equal(utcp_setopt(n.st[A], ca3, UTCP_OPT_REUSEADDR, 1), 0);
    assert_int_equal(utcp_bind(n.st[A], ca3, 0, 40000), 0);
    assert_int_equal(utcp_connect(n.st[A], ca3, TNET_ADDR_B, 80),
                     UTCP_EINPROGRESS);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[B], lb, &cb3), 0);
    uint8_t fresh[1500];
    fill(fresh, sizeof fresh, 77);
    send_all(&n, B, cb3, fresh, 700);
    send_all(&n, A, ca3, fresh, 700);
    tnet_run_for(&n, 5 * MS);
    /* old duplicates of both directions arrive now, mid-transfer */
    utcp_input(n.st[A], n.now, f.saved, f.saved_len);
    utcp_input(n.st[B], n.now, f.saved2, f.saved2_len);
    tnet_run_for(&n, 100 * MS);
    send_all(&n, B, cb3, fresh + 700, 800);
    send_all(&n, A, ca3, fresh + 700, 800);
    tnet_run_for(&n, 5 * MS);
    utcp_input(n.st[A], n.now, f.saved, f.saved_len);
    utcp_input(n.st[B], n.now, f.saved2, f.saved2_len);
    tnet_run_for(&n, 200 * MS);
    assert_int_equal(recv_some(&n, A, ca3, got, sizeof got), sizeof fresh);
    assert_memory_equal(got, fresh, sizeof fresh);
    assert_int_equal(recv_some(&n, B, cb3, got, sizeof got), sizeof fresh);
    assert_memory_equal(got, fresh, sizeof fresh);
    assert_int_equal(tnet_sock_state(&n, A, ca3), UTCP_ESTABLISHED);
    assert_int_equal(tnet_sock_state(&n, B, cb3), UTCP_ESTABLISHED);
    expect_states(&n, A, tnet_conn_id(&n, A, ca3),
                  "CLOSED>SYN_SENT>ESTABLISHED");
    close_pair(&n, ca3, cb3);
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 9, RFC 6191 variant: B closed first and holds TIME_WAIT; A opens the
 * same 4-tuple again: its SYN (above B's RCV.NXT) reopens it at B; an old
 * duplicate of the first connection then reaches both ends and is
 * answered with an ACK, not taken as data. */
static void scenario_time_wait_duplicates_syn_reopens(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    struct fctx f;
    memset(&f, 0, sizeof f);
    n.filter = save_data;
    n.filter_ctx = &f;
    utcp_sock lb = tnet_listen(&n, B, 80, 8), ca, cb;
    assert_int_equal(utcp_socket(n.st[A], &ca), 0);
    assert_int_equal(utcp_bind(n.st[A], ca, 0, 40000), 0);
    assert_int_equal(utcp_connect(n.st[A], ca, TNET_ADDR_B, 80),
                     UTCP_EINPROGRESS);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[B], lb, &cb), 0);
    uint8_t old[1000], got[3000], fresh[2000];
    fill(old, sizeof old, 5);
    fill(fresh, sizeof fresh, 6);
    send_all(&n, B, cb, old, sizeof old);
    send_all(&n, A, ca, old, sizeof old);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(recv_some(&n, A, ca, got, sizeof got), sizeof old);
    assert_int_equal(recv_some(&n, B, cb, got, sizeof got), sizeof old);
    uint32_t idb = tnet_conn_id(&n, B, cb);
    /* B closes first: B ends in TIME_WAIT */
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 100 * MS);
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT");
    tnet_run_for(&n, 1 * SEC);
    /* A reopens the same 4-tuple (its port is free: A passed LAST_ACK) */
    utcp_sock ca2, cb2;
    assert_int_equal(utcp_socket(n.st[A], &ca2), 0);
    assert_int_equal(utcp_bind(n.st[A], ca2, 0, 40000), 0);
    assert_int_equal(utcp_connect(n.st[A], ca2, TNET_ADDR_B, 80),
                     UTCP_EINPROGRESS);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(CTR(&n, B, TimeWaitRecycled), 1);
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED");
    assert_int_equal(utcp_accept(n.st[B], lb, &cb2), 0);
    expect_states(&n, A, tnet_conn_id(&n, A, ca2), "CLOSED>SYN_SENT>ESTABLISHED");
    send_all(&n, A, ca2, fresh, 1000);
    send_all(&n, B, cb2, fresh, 1000);
    tnet_run_for(&n, 5 * MS);
    utcp_input(n.st[A], n.now, f.saved, f.saved_len);
    utcp_input(n.st[B], n.now, f.saved2, f.saved2_len);
    tnet_run_for(&n, 100 * MS);
    send_all(&n, A, ca2, fresh + 1000, 1000);
    send_all(&n, B, cb2, fresh + 1000, 1000);
    tnet_run_for(&n, 200 * MS);
    assert_int_equal(recv_some(&n, B, cb2, got, sizeof got), sizeof fresh);
    assert_memory_equal(got, fresh, sizeof fresh);
    assert_int_equal(recv_some(&n, A, ca2, got, sizeof got), sizeof fresh);
    assert_memory_equal(got, fresh, sizeof fresh);
    close_pair(&n, ca2, cb2);
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 10 */
static void scenario_old_duplicate_syn(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock lb = tnet_listen(&n, B, 80, 8);
    tnet_run_for(&n, 1 * MS);
    tnet_inject(&n, B, 1234, 80, 1000000, 0, F_S, 8192, NULL, 0);
    tnet_run_for(&n, 100 * MS);
    /* B: SYN+ACK acknowledging the stale SYN; A: RST with SEQ=SEG.ACK */
    if (n.nsegs != 2)
        dump_segs(&n);
    assert_int_equal(n.nsegs, 2);
    assert_int_equal(n.segs[0].from, B);
    assert_int_equal(n.segs[0].flags, F_S | F_A);
    assert_int_equal(n.segs[0].ack, 1000001);
    assert_int_equal(n.segs[1].from, A);
    assert_int_equal(n.segs[1].flags, F_R);
    assert_int_equal(n.segs[1].seq, n.segs[0].ack);
    uint32_t ids[8];
    size_t k = tnet_conn_ids(&n, B, ids, 8);
    assert_int_equal(k, 2);
    expect_states(&n, B, ids[0], "CLOSED>LISTEN");
    expect_states(&n, B, ids[1], "LISTEN>SYN_RECEIVED>LISTEN");
    utcp_sock x;
    assert_int_equal(utcp_accept(n.st[B], lb, &x), UTCP_EAGAIN);
    assert_int_equal(tnet_conn_ids(&n, A, ids, 8), 0); /* A: CLOSED, nothing */
    /* nothing more happens later (no SYN+ACK retransmission) */
    size_t mark = n.nsegs;
    tnet_run_for(&n, 10 * SEC);
    assert_int_equal(n.nsegs, mark);
    /* the listener still works */
    utcp_sock ca = tnet_connect(&n, A, 80), cb;
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[B], lb, &cb), 0);
    assert_int_equal(tnet_sock_state(&n, A, ca), UTCP_ESTABLISHED);
    close_pair(&n, ca, cb);
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

static int drop_from_a(struct tnet *n, int from, const struct utcp_tcp *th,
                       const uint8_t *pkt, size_t len, uint64_t *extra,
                       void *ctx)
{
    (void)n, (void)th, (void)pkt, (void)len, (void)extra, (void)ctx;
    return from == A ? TNET_DROP : TNET_PASS;
}

/* 11 */
static void scenario_syn_retransmit(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    n.filter = drop_from_a;
    utcp_sock lb = tnet_listen(&n, B, 80, 8);
    uint64_t t0 = n.now;
    utcp_sock ca = tnet_connect(&n, A, 80);
    uint32_t ida = tnet_conn_id(&n, A, ca);
    tnet_run_for(&n, 126 * SEC);
    assert_int_equal(tnet_sock_state(&n, A, ca), UTCP_SYN_SENT);
    tnet_run_for(&n, 2 * SEC);
    /* default syn_retries 6: SYNs at 0, 1, 3, 7, 15, 31, 63 s; gives up at
     * 127 s */
    static const uint64_t want[] = {0, 1, 3, 7, 15, 31, 63};
    assert_int_equal(n.nsegs, 7);
    for (size_t i = 0; i < 7; i++) {
        assert_int_equal(n.segs[i].flags, F_S);
        assert_int_equal(n.segs[i].from, A);
        assert_int_equal(n.segs[i].seq, n.segs[0].seq);
        assert_int_equal(n.segs[i].at - t0, want[i] * SEC);
    }
    assert_int_equal(state_time(&n, A, ida, UTCP_CLOSED) - t0, 127 * SEC);
    expect_states(&n, A, ida, "CLOSED>SYN_SENT>CLOSED");
    assert_true(utcp_poll(n.st[A], ca) & UTCP_EV_ERROR);
    assert_int_equal(utcp_sock_error(n.st[A], ca), UTCP_ETIMEDOUT);
    assert_int_equal(utcp_sock_error(n.st[A], ca), 0);
    assert_int_equal(n.timer_fires[A][UTCP_TIMER_SYN_RETRANSMIT], 7);
    /* a lower retry count gives up sooner */
    utcp_sock cx;
    assert_int_equal(utcp_socket(n.st[A], &cx), 0);
    assert_int_equal(utcp_setopt(n.st[A], cx, UTCP_OPT_SYN_RETRIES, 2), 0);
    uint64_t t1 = n.now;
    assert_int_equal(utcp_connect(n.st[A], cx, TNET_ADDR_B, 80),
                     UTCP_EINPROGRESS);
    tnet_run_for(&n, 10 * SEC);
    assert_int_equal(state_time(&n, A, tnet_conn_id(&n, A, cx), UTCP_CLOSED) -
                         t1,
                     7 * SEC);
    assert_int_equal(utcp_sock_error(n.st[A], cx), UTCP_ETIMEDOUT);
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[A], ca);
    utcp_close(n.st[A], cx);
    utcp_close(n.st[B], lb);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 12 */
static void scenario_refused(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca = tnet_connect(&n, A, 81);
    uint32_t ida = tnet_conn_id(&n, A, ca);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(n.nsegs, 2);
    assert_int_equal(n.segs[0].flags, F_S);
    assert_int_equal(n.segs[1].flags, F_R | F_A);
    assert_int_equal(n.segs[1].seq, 0);
    assert_int_equal(n.segs[1].ack, n.segs[0].seq + 1);
    expect_states(&n, A, ida, "CLOSED>SYN_SENT>CLOSED");
    assert_int_equal(utcp_sock_error(n.st[A], ca), UTCP_ECONNREFUSED);
    uint8_t b[4];
    assert_true(utcp_recv(n.st[A], ca, b, sizeof b) < 0);
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    assert_int_equal(n.bad_transitions, 0);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 13 */
static void scenario_reset(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    uint8_t buf[100];
    send_all(&n, A, ca, (const uint8_t *)"hello", 5);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_setopt(n.st[A], ca, UTCP_OPT_LINGER, 0), 0);
    size_t mark = n.nsegs;
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(n.nsegs - mark, 1);
    assert_true(n.segs[mark].flags & F_R);
    assert_int_equal(n.segs[mark].seq, n.segs[mark - 1].ack); /* exact */
    expect_states(&n, A, ida, "CLOSED>SYN_SENT>ESTABLISHED>CLOSED");
    expect_states(&n, B, idb, "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSED");
    /* B's unread data is flushed; every call reports the reset */
    assert_int_equal(utcp_recv(n.st[B], cb, buf, sizeof buf), UTCP_ECONNRESET);
    assert_int_equal(utcp_send(n.st[B], cb, "x", 1), UTCP_ECONNRESET);
    assert_int_equal(utcp_recv(n.st[B], cb, buf, sizeof buf), UTCP_ECONNRESET);
    assert_true(utcp_poll(n.st[B], cb) & UTCP_EV_ERROR);
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    assert_int_equal(n.bad_transitions, 0);

    /* RFC 5961 3.2 on a fresh pair */
    utcp_sock ca2 = tnet_connect(&n, A, 80), cb2;
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[B], lb, &cb2), 0);
    struct utcp_info ib;
    assert_int_equal(utcp_getinfo(n.st[B], cb2, &ib), 0);
    uint64_t ch0 = CTR(&n, B, ChallengeAcks);
    mark = n.nsegs;
    /* in the window, not exact: challenge ACK, connection untouched */
    tnet_inject(&n, B, ib.remote_port, 80, ib.rcv_nxt + 100, 0, F_R, 0, NULL, 0);
    assert_int_equal(n.nsegs - mark, 1);
    assert_int_equal(n.segs[mark].flags, F_A);
    assert_int_equal(n.segs[mark].seq, ib.snd_nxt);
    assert_int_equal(n.segs[mark].ack, ib.rcv_nxt);
    assert_int_equal(CTR(&n, B, ChallengeAcks), ch0 + 1);
    assert_int_equal(tnet_sock_state(&n, B, cb2), UTCP_ESTABLISHED);
    /* out of the window: silently ignored */
    mark = n.nsegs;
    tnet_inject(&n, B, ib.remote_port, 80, ib.rcv_nxt + 10000000, 0, F_R, 0,
                NULL, 0);
    tnet_inject(&n, B, ib.remote_port, 80, ib.rcv_nxt - 1, 0, F_R, 0, NULL, 0);
    assert_int_equal(n.nsegs, mark);
    assert_int_equal(tnet_sock_state(&n, B, cb2), UTCP_ESTABLISHED);
    /* the challenge ACK reached A, which stays ESTABLISHED and silent */
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(tnet_sock_state(&n, A, ca2), UTCP_ESTABLISHED);
    send_all(&n, A, ca2, (const uint8_t *)"still", 5);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(recv_some(&n, B, cb2, buf, sizeof buf), 5);
    assert_memory_equal(buf, "still", 5);
    /* exact: reset */
    assert_int_equal(utcp_getinfo(n.st[B], cb2, &ib), 0);
    tnet_inject(&n, B, ib.remote_port, 80, ib.rcv_nxt, 0, F_R, 0, NULL, 0);
    expect_states(&n, B, tnet_conn_id(&n, B, cb2),
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSED");
    assert_int_equal(utcp_recv(n.st[B], cb2, buf, sizeof buf), UTCP_ECONNRESET);
    assert_int_equal(utcp_close(n.st[B], cb2), 0);
    utcp_abort(n.st[A], ca2);
    utcp_close(n.st[B], lb);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(n.bad_transitions, 0);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 14 */
static void scenario_half_open(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    (void)cb;
    tnet_restart(&n, B, &c);
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSED"); /* B forgot */
    size_t mark = n.nsegs;
    send_all(&n, A, ca, (const uint8_t *)"anyone?", 7);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(n.nsegs - mark, 2);
    assert_int_equal(n.segs[mark].from, A);
    assert_int_equal(n.segs[mark].len, 7);
    assert_int_equal(n.segs[mark + 1].from, B);
    assert_int_equal(n.segs[mark + 1].flags, F_R); /* <SEQ=SEG.ACK><CTL=RST> */
    assert_int_equal(n.segs[mark + 1].seq, n.segs[mark].ack);
    expect_states(&n, A, ida, "CLOSED>SYN_SENT>ESTABLISHED>CLOSED");
    assert_true(utcp_poll(n.st[A], ca) & UTCP_EV_ERROR);
    uint8_t buf[8];
    assert_int_equal(utcp_recv(n.st[A], ca, buf, sizeof buf), UTCP_ECONNRESET);
    assert_int_equal(utcp_sock_error(n.st[A], ca), UTCP_ECONNRESET);
    assert_int_equal(utcp_send(n.st[A], ca, "x", 1), UTCP_ECONNRESET);
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    assert_int_equal(n.bad_transitions, 0);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 14, the other way round (RFC 9293 3.5.1, RFC 5961 4): A restarts and
 * reconnects from the same port while B still holds the old connection.
 * B answers A's SYN with a challenge ACK, A answers that with a RST whose
 * sequence number is exact, B drops the old connection, and A's SYN
 * retransmission opens the new one. */
static void scenario_half_open_peer_reconnects(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock lb = tnet_listen(&n, B, 80, 8), ca, cb;
    assert_int_equal(utcp_socket(n.st[A], &ca), 0);
    assert_int_equal(utcp_bind(n.st[A], ca, 0, 40000), 0);
    assert_int_equal(utcp_connect(n.st[A], ca, TNET_ADDR_B, 80),
                     UTCP_EINPROGRESS);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[B], lb, &cb), 0);
    uint32_t idb = tnet_conn_id(&n, B, cb);
    tnet_restart(&n, A, &c);
    uint64_t restart_at = n.now;
    tnet_run_for(&n, 10 * SEC); /* the restart takes a while */
    size_t mark = n.nsegs;
    utcp_sock ca2;
    assert_int_equal(utcp_socket(n.st[A], &ca2), 0);
    assert_int_equal(utcp_bind(n.st[A], ca2, 0, 40000), 0);
    assert_int_equal(utcp_connect(n.st[A], ca2, TNET_ADDR_B, 80),
                     UTCP_EINPROGRESS);
    tnet_run_for(&n, 100 * MS);
    /* SYN (A), challenge ACK (B), RST (A) */
    if (n.nsegs - mark != 3)
        dump_segs(&n);
    assert_int_equal(n.nsegs - mark, 3);
    assert_int_equal(n.segs[mark].flags, F_S);
    assert_int_equal(n.segs[mark + 1].flags, F_A);
    assert_int_equal(n.segs[mark + 2].flags, F_R);
    assert_int_equal(n.segs[mark + 2].seq, n.segs[mark + 1].ack);
    expect_states(&n, B, idb, "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSED");
    assert_int_equal(utcp_recv(n.st[B], cb, NULL, 0), UTCP_ECONNRESET);
    /* (A's new ISS lies outside B's window, so B's ACK comes from the
     * sequence check, RFC 9293 3.10.7.4 first; the same ACK RFC 5961 4.2
     * asks for. It carries B's RCV.NXT, which A's RST then echoes.) */
    /* A's SYN retransmission (1 s) finds the listener */
    tnet_run_for(&n, 1100 * MS);
    utcp_sock cb2;
    assert_int_equal(utcp_accept(n.st[B], lb, &cb2), 0);
    /* (A's new stack numbers connections from 1 again: look at events
     * after the restart only) */
    {
        char buf[128] = "";
        uint32_t id2 = tnet_conn_id(&n, A, ca2);
        for (size_t i = 0; i < n.nstates; i++) {
            const struct tnet_state_ev *e = &n.states[i];
            if (e->side != A || e->conn_id != id2 || e->at <= restart_at)
                continue;
            if (!buf[0])
                strcat(buf, utcp_state_name(e->old_state));
            strcat(buf, ">");
            strcat(buf, utcp_state_name(e->new_state));
        }
        assert_string_equal(buf, "CLOSED>SYN_SENT>ESTABLISHED");
    }
    send_all(&n, A, ca2, (const uint8_t *)"again", 5);
    tnet_run_for(&n, 100 * MS);
    uint8_t got[8];
    assert_int_equal(recv_some(&n, B, cb2, got, sizeof got), 5);
    assert_memory_equal(got, "again", 5);
    utcp_close(n.st[B], cb);
    close_pair(&n, ca2, cb2);
    utcp_close(n.st[B], lb);
    assert_int_equal(n.bad_transitions, 0);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

struct statctx {
    int n;
    int state;
    uint64_t since;
};

static void stat_fn(void *ctx, utcp_sock sk, const struct utcp_info *info)
{
    (void)sk;
    struct statctx *x = ctx;
    if (info->state == UTCP_LISTEN)
        return;
    x->n++;
    x->state = info->state;
    x->since = info->state_since;
}

/* 15 */
static void scenario_close_wait_leak(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    /* A ends its side but keeps the socket: no FIN_WAIT_2 timeout applies */
    assert_int_equal(utcp_shutdown(n.st[A], ca, UTCP_SHUT_WR), 0);
    tnet_run_for(&n, 100 * MS);
    uint64_t cw_since = state_time(&n, B, idb, UTCP_CLOSE_WAIT);
    size_t mark = n.nsegs;
    tnet_run_for(&n, 600 * SEC);
    assert_int_equal(n.nsegs, mark); /* nothing on the wire */
    assert_int_equal(tnet_sock_state(&n, B, cb), UTCP_CLOSE_WAIT);
    assert_int_equal(tnet_sock_state(&n, A, ca), UTCP_FIN_WAIT_2);
    struct statctx x = {0, 0, 0};
    utcp_foreach_conn(n.st[B], stat_fn, &x);
    assert_int_equal(x.n, 1);
    assert_int_equal(x.state, UTCP_CLOSE_WAIT);
    assert_int_equal(x.since, cw_since);
    assert_true(n.now - x.since >= 600 * SEC);
    /* once A's application lets go, FIN_WAIT_2 times out after 60 s */
    uint64_t t0 = n.now;
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 59 * SEC);
    expect_states(&n, A, ida, "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2");
    tnet_run_for(&n, 2 * SEC);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>CLOSED");
    assert_int_equal(state_time(&n, A, ida, UTCP_CLOSED) - t0, 60 * SEC);
    expect_states(&n, B, idb, "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT");
    /* B's leaked connection is still there, and still CLOSE_WAIT */
    assert_int_equal(tnet_sock_state(&n, B, cb), UTCP_CLOSE_WAIT);
    assert_int_equal(n.bad_transitions, 0);
    tnet_destroy(&n);
}

/* 16 */
static void scenario_fin_wait_2_timeout(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb, lb;
    open_pair(&n, &ca, &cb, &lb);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 100 * MS);
    uint64_t fw2 = state_time(&n, A, ida, UTCP_FIN_WAIT_2);
    tnet_run_for(&n, 70 * SEC);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>CLOSED");
    assert_int_equal(state_time(&n, A, ida, UTCP_CLOSED) - fw2, 60 * SEC);
    assert_int_equal(n.timer_fires[A][UTCP_TIMER_FIN_WAIT2], 1);
    expect_states(&n, B, idb, "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT");
    struct utcp_counters k;
    utcp_get_counters(n.st[A], &k);
    assert_int_equal(k.ConnsAlloc, k.ConnsFree);
    /* B closing late: its FIN gets a RST from A, which forgot */
    size_t mark = n.nsegs;
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    tnet_run_for(&n, 100 * MS);
    long r = tnet_find_seg(&n, mark, A, F_R);
    assert_true(r >= 0);
    expect_states(&n, B, idb,
                  "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 17: backlog 2, 5 clients. Behaviour (documented in utcp.h/listen): a SYN
 * arriving while the accept queue is full is dropped (ListenOverflows);
 * the client retransmits its SYN (1 s, 2 s, ...). A handshake whose final
 * ACK arrives while the accept queue is full leaves the child in
 * SYN_RECEIVED (the ACK is ignored) and the SYN+ACK retransmission
 * retries. Once B accepts, every client gets in. */
static void scenario_backlog(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock lb = tnet_listen(&n, B, 80, 2);
    utcp_sock cl[5], sv[5];
    for (int i = 0; i < 2; i++)
        cl[i] = tnet_connect(&n, A, 80);
    tnet_run_for(&n, 100 * MS);
    for (int i = 2; i < 5; i++)
        cl[i] = tnet_connect(&n, A, 80);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(CTR(&n, B, ListenOverflows), 3);
    for (int i = 0; i < 2; i++)
        assert_int_equal(tnet_sock_state(&n, A, cl[i]), UTCP_ESTABLISHED);
    for (int i = 2; i < 5; i++)
        assert_int_equal(tnet_sock_state(&n, A, cl[i]), UTCP_SYN_SENT);
    tnet_run_for(&n, 1900 * MS); /* t = 2.1 s: the first retries failed */
    assert_int_equal(CTR(&n, B, ListenOverflows), 6);
    int accepted = 0;
    int guard = 0;
    while (accepted < 5) {
        utcp_sock s;
        while (utcp_accept(n.st[B], lb, &s) == 0)
            sv[accepted++] = s;
        tnet_run_for(&n, 1 * MS);
        assert_true(++guard < 60000);
    }
    for (int i = 0; i < 5; i++)
        assert_int_equal(tnet_sock_state(&n, A, cl[i]), UTCP_ESTABLISHED);
    /* each server socket talks to a distinct client: one message each */
    for (int i = 0; i < 5; i++) {
        uint8_t m = (uint8_t)('a' + i);
        send_all(&n, A, cl[i], &m, 1);
    }
    tnet_run_for(&n, 500 * MS);
    unsigned seen = 0;
    for (int i = 0; i < 5; i++) {
        uint8_t b[4];
        assert_int_equal(recv_some(&n, B, sv[i], b, sizeof b), 1);
        seen |= 1u << (b[0] - 'a');
    }
    assert_int_equal(seen, 0x1f);
    for (int i = 0; i < 5; i++)
        expect_states(&n, A, tnet_conn_id(&n, A, cl[i]),
                      "CLOSED>SYN_SENT>ESTABLISHED");
    for (int i = 0; i < 5; i++) {
        assert_int_equal(utcp_close(n.st[A], cl[i]), 0);
        assert_int_equal(utcp_close(n.st[B], sv[i]), 0);
    }
    tnet_run_for(&n, 70 * SEC);
    utcp_close(n.st[B], lb);
    assert_int_equal(n.bad_transitions, 0);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 18: via a simultaneous open, B closes while in SYN_RECEIVED. */
static void scenario_syn_received_close(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock ca, cb;
    simultaneous_open(&n, &ca, &cb);
    uint32_t ida = tnet_conn_id(&n, A, ca), idb = tnet_conn_id(&n, B, cb);
    tnet_run_for(&n, 10 * MS); /* both SYNs arrived */
    assert_int_equal(tnet_sock_state(&n, B, cb), UTCP_SYN_RECEIVED);
    size_t mark = n.nsegs;
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    assert_int_equal(n.nsegs - mark, 1);
    assert_int_equal(n.segs[mark].from, B);
    assert_int_equal(n.segs[mark].flags, F_F | F_A);
    assert_int_equal(n.segs[mark].seq, n.segs[1].seq + 1);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(tnet_sock_state(&n, A, ca), UTCP_CLOSE_WAIT);
    uint8_t b[4];
    assert_int_equal(utcp_recv(n.st[A], ca, b, sizeof b), 0);
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 70 * SEC);
    expect_states(&n, B, idb,
                  "CLOSED>SYN_SENT>SYN_RECEIVED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED");
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED");
    assert_int_equal(n.bad_transitions, 0);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 19 */
static void scenario_port_reuse(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    tnet_init(&n, &c);
    utcp_sock lb = tnet_listen(&n, B, 80, 8), ca, cb;
    assert_int_equal(utcp_socket(n.st[A], &ca), 0);
    assert_int_equal(utcp_bind(n.st[A], ca, 0, 40000), 0);
    assert_int_equal(utcp_connect(n.st[A], ca, TNET_ADDR_B, 80),
                     UTCP_EINPROGRESS);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[B], lb, &cb), 0);
    uint32_t ida = tnet_conn_id(&n, A, ca);
    uint8_t data[3000], got[4000];
    fill(data, sizeof data, 9);
    send_all(&n, B, cb, data, 1000);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(recv_some(&n, A, ca, got, sizeof got), 1000);
    assert_int_equal(utcp_close(n.st[A], ca), 0);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_close(n.st[B], cb), 0);
    tnet_run_for(&n, 100 * MS);
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT");
    /* without REUSEADDR: refused */
    utcp_sock s1;
    assert_int_equal(utcp_socket(n.st[A], &s1), 0);
    assert_int_equal(utcp_bind(n.st[A], s1, 0, 40000), UTCP_EADDRINUSE);
    assert_int_equal(utcp_close(n.st[A], s1), 0);
    /* with it: allowed, and the new connection works */
    utcp_sock s2, cb2;
    assert_int_equal(utcp_socket(n.st[A], &s2), 0);
    assert_int_equal(utcp_setopt(n.st[A], s2, UTCP_OPT_REUSEADDR, 1), 0);
    assert_int_equal(utcp_bind(n.st[A], s2, 0, 40000), 0);
    /* another REUSEADDR socket cannot take the port a live socket holds */
    utcp_sock s3;
    assert_int_equal(utcp_socket(n.st[A], &s3), 0);
    assert_int_equal(utcp_setopt(n.st[A], s3, UTCP_OPT_REUSEADDR, 1), 0);
    assert_int_equal(utcp_bind(n.st[A], s3, 0, 40000), UTCP_EADDRINUSE);
    assert_int_equal(utcp_close(n.st[A], s3), 0);
    assert_int_equal(utcp_connect(n.st[A], s2, TNET_ADDR_B, 80),
                     UTCP_EINPROGRESS);
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[B], lb, &cb2), 0);
    uint32_t id2 = tnet_conn_id(&n, A, s2);
    assert_true(id2 != ida);
    send_all(&n, A, s2, data, sizeof data);
    send_all(&n, B, cb2, data, sizeof data);
    tnet_run_for(&n, 200 * MS);
    assert_int_equal(recv_some(&n, B, cb2, got, sizeof got), sizeof data);
    assert_memory_equal(got, data, sizeof data);
    assert_int_equal(recv_some(&n, A, s2, got, sizeof got), sizeof data);
    assert_memory_equal(got, data, sizeof data);
    expect_states(&n, A, id2, "CLOSED>SYN_SENT>ESTABLISHED");
    /* the old record gave way to the new incarnation */
    expect_states(&n, A, ida,
                  "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED");
    close_pair(&n, s2, cb2);
    assert_int_equal(n.bad_transitions, 0);
    utcp_close(n.st[B], lb);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

/* 19, ephemeral ports: TIME_WAIT holds them (RFC 6056 choice skips
 * them); with every one held, connect fails until 2*MSL frees one. */
static void scenario_port_reuse_ephemeral_exhausted(void **state)
{
    (void)state;
    struct tnet n;
    struct utcp_config c = base_cfg();
    c.ephemeral_lo = 50000;
    c.ephemeral_hi = 50002;
    tnet_init(&n, &c);
    utcp_sock lb = tnet_listen(&n, B, 80, 8);
    uint16_t used[3];
    for (int i = 0; i < 3; i++) {
        utcp_sock a = tnet_connect(&n, A, 80), b;
        tnet_run_for(&n, 100 * MS);
        assert_int_equal(utcp_accept(n.st[B], lb, &b), 0);
        assert_int_equal(utcp_sockname(n.st[A], a, NULL, &used[i]), 0);
        for (int j = 0; j < i; j++)
            assert_true(used[j] != used[i]);
        assert_int_equal(utcp_close(n.st[A], a), 0);
        tnet_run_for(&n, 100 * MS);
        assert_int_equal(utcp_close(n.st[B], b), 0);
        tnet_run_for(&n, 100 * MS);
    }
    utcp_sock x;
    assert_int_equal(utcp_socket(n.st[A], &x), 0);
    assert_int_equal(utcp_connect(n.st[A], x, TNET_ADDR_B, 80),
                     UTCP_EADDRNOTAVAIL);
    assert_int_equal(utcp_close(n.st[A], x), 0);
    tnet_run_for(&n, 61 * SEC);
    utcp_sock a = tnet_connect(&n, A, 80), b;
    tnet_run_for(&n, 100 * MS);
    assert_int_equal(utcp_accept(n.st[B], lb, &b), 0);
    assert_int_equal(tnet_sock_state(&n, A, a), UTCP_ESTABLISHED);
    close_pair(&n, a, b);
    utcp_close(n.st[B], lb);
    assert_int_equal(n.bad_transitions, 0);
    expect_no_leak(&n);
    tnet_destroy(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(scenario_handshake),
        cmocka_unit_test(scenario_active_close),
        cmocka_unit_test(scenario_half_close),
        cmocka_unit_test(scenario_three_way_close),
        cmocka_unit_test(scenario_simultaneous_open),
        cmocka_unit_test(scenario_simultaneous_close),
        cmocka_unit_test(scenario_lost_final_ack),
        cmocka_unit_test(scenario_lost_ack_of_fin),
        cmocka_unit_test(scenario_time_wait_duplicates),
        cmocka_unit_test(scenario_time_wait_duplicates_syn_reopens),
        cmocka_unit_test(scenario_old_duplicate_syn),
        cmocka_unit_test(scenario_syn_retransmit),
        cmocka_unit_test(scenario_refused),
        cmocka_unit_test(scenario_reset),
        cmocka_unit_test(scenario_half_open),
        cmocka_unit_test(scenario_half_open_peer_reconnects),
        cmocka_unit_test(scenario_close_wait_leak),
        cmocka_unit_test(scenario_fin_wait_2_timeout),
        cmocka_unit_test(scenario_backlog),
        cmocka_unit_test(scenario_syn_received_close),
        cmocka_unit_test(scenario_port_reuse),
        cmocka_unit_test(scenario_port_reuse_ephemeral_exhausted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
