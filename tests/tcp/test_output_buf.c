/*
 * Packets built in link memory (utcp_config.output_buf): the same run
 * replayed with and without it emits byte-identical packets with the same
 * output metadata (TSO and checksum offload included), a NULL answer falls
 * back to the stack's own buffer, and the output call that commits a lent
 * buffer names the reservation just made, within its length. The link
 * scribbles over lent memory once it has taken a packet: nothing the stack
 * sends later may depend on it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "utcp/utcp.h"

#define ADDR_A 0xC6120001u /* 198.18.0.1 */
#define ADDR_B 0xC6120002u
#define PORT 7000
#define TOTAL (600u * 1024u)
#define LEND_CAP 70000u
#define MAXPKTS 20000u

enum lend { LEND_NEVER, LEND_ALWAYS, LEND_ODD }; /* ODD: NULL every other */

struct rec {
    uint8_t *bytes;
    size_t len;
    struct utcp_output_meta meta;
    bool lent; /* built in the lent buffer */
    int to;    /* in flight: the receiving stack */
};

struct end {
    struct run *r;
    int idx;
    enum lend lend;
    uint8_t *lent_buf;   /* what output_buf hands out */
    uint8_t *res;        /* the outstanding reservation, or NULL */
    size_t res_len;
    unsigned nasks;
    struct rec *recs;
    size_t nrecs;
};

struct run {
    struct utcp_stack *st[2];
    struct end ends[2];
    /* packets in flight: delivered in order, every 9th data one lost */
    struct rec *q;
    size_t qn, qcap;
    unsigned ndata;
    uint64_t now;
};

static void wire_push(struct run *r, int to, const uint8_t *pkt, size_t len);

static uint8_t *out_buf(void *ctx, uint32_t dst, size_t len)
{
    struct end *e = ctx;
    assert_int_equal(dst, e->idx == 0 ? ADDR_B : ADDR_A);
    assert_true(len <= LEND_CAP);
    e->res = NULL;
    if (e->lend == LEND_NEVER || (e->lend == LEND_ODD && (e->nasks++ & 1)))
        return NULL;
    /* garbage first: every byte of the packet must be written by the
     * stack */
    memset(e->lent_buf, 0xA5, LEND_CAP);
    e->res = e->lent_buf;
    e->res_len = len;
    return e->lent_buf;
}

static void out_ex(void *ctx, const uint8_t *pkt, size_t len,
                   const struct utcp_output_meta *meta)
{
    struct end *e = ctx;
    struct run *r = e->r;
    bool lent = pkt == e->lent_buf;
    if (lent) {
        /* only the outstanding reservation, within its length */
        assert_ptr_equal(pkt, e->res);
        assert_true(len <= e->res_len);
    }
    e->res = NULL;
    assert_true(e->nrecs < MAXPKTS);
    struct rec *rc = &e->recs[e->nrecs++];
    rc->bytes = malloc(len);
    assert_non_null(rc->bytes);
    memcpy(rc->bytes, pkt, len);
    rc->len = len;
    rc->meta = meta ? *meta : (struct utcp_output_meta){0, 0, false};
    rc->lent = lent;
    /* the wire: a copy of the packet; then the lent buffer is scribbled
     * over (the stack must not count on it after the commit) */
    size_t ihl = (size_t)(pkt[0] & 15u) * 4u;
    bool data = len > ihl + 20u &&
                len > ihl + (size_t)(pkt[ihl + 12] >> 4) * 4u;
    if (!(data && ++r->ndata % 9 == 0)) /* else lost: SACK, RACK... */
        wire_push(r, 1 - e->idx, pkt, len);
    if (lent)
        memset(e->lent_buf, 0x5A, LEND_CAP);
}

static void wire_push(struct run *r, int to, const uint8_t *pkt, size_t len)
{
    if (r->qn == r->qcap) {
        r->qcap = r->qcap ? r->qcap * 2 : 256;
        r->q = realloc(r->q, r->qcap * sizeof *r->q);
        assert_non_null(r->q);
    }
    struct rec *w = &r->q[r->qn++];
    memset(w, 0, sizeof *w);
    w->bytes = malloc(len);
    assert_non_null(w->bytes);
    memcpy(w->bytes, pkt, len);
    w->len = len;
    w->to = to;
}

static void out_plain(void *ctx, const uint8_t *pkt, size_t len)
{
    out_ex(ctx, pkt, len, NULL);
}

static void run_init(struct run *r, const struct utcp_config *base, bool ex,
                     enum lend lend)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < 2; i++) {
        struct end *e = &r->ends[i];
        e->r = r;
        e->idx = i;
        e->lend = lend;
        e->lent_buf = malloc(LEND_CAP);
        e->recs = calloc(MAXPKTS, sizeof *e->recs);
        assert_non_null(e->lent_buf);
        assert_non_null(e->recs);
        struct utcp_config c = *base;
        c.addr = i == 0 ? ADDR_A : ADDR_B;
        c.seed = 42u + (uint64_t)i;
        c.output = ex ? NULL : out_plain;
        c.output_ex = ex ? out_ex : NULL;
        c.output_buf = lend == LEND_NEVER ? NULL : out_buf;
        c.output_ctx = e;
        assert_int_equal(utcp_stack_create(&c, &r->st[i]), 0);
    }
}

/* Delivers what is in flight, then moves time on 1 ms and ticks. */
static void step(struct run *r)
{
    struct rec *q = r->q;
    size_t n = r->qn;
    r->q = NULL;
    r->qn = r->qcap = 0;
    for (size_t i = 0; i < n; i++) {
        utcp_input(r->st[q[i].to], r->now, q[i].bytes, q[i].len);
        free(q[i].bytes);
    }
    free(q);
    r->now += 1000;
    for (int i = 0; i < 2; i++)
        utcp_tick(r->st[i], r->now);
}

/* A connection from A to B: TOTAL bytes, then close both ways. */
static void transfer(struct run *r)
{
    utcp_sock l, a, b = 0;
    assert_int_equal(utcp_socket(r->st[1], &l), 0);
    assert_int_equal(utcp_bind(r->st[1], l, 0, PORT), 0);
    assert_int_equal(utcp_listen(r->st[1], l, 4), 0);
    assert_int_equal(utcp_socket(r->st[0], &a), 0);
    assert_int_equal(utcp_connect(r->st[0], a, ADDR_B, PORT),
                     UTCP_EINPROGRESS);
    static uint8_t buf[32768];
    size_t sent = 0, got = 0;
    bool closed = false;
    for (int it = 0; it < 200000 && got < TOTAL + 1; it++) {
        if (!b)
            (void)utcp_accept(r->st[1], l, &b);
        while (sent < TOTAL) {
            size_t k = TOTAL - sent < sizeof buf ? TOTAL - sent : sizeof buf;
            for (size_t i = 0; i < k; i++)
                buf[i] = (uint8_t)((sent + i) * 31u + 7u);
            long w = utcp_send(r->st[0], a, buf, k);
            if (w <= 0)
                break;
            sent += (size_t)w;
        }
        if (sent == TOTAL && !closed) {
            assert_int_equal(utcp_close(r->st[0], a), 0);
            closed = true;
        }
        long g;
        while (b && (g = utcp_recv(r->st[1], b, buf, sizeof buf)) > 0) {
            for (long i = 0; i < g; i++)
                assert_int_equal(buf[i],
                                 (uint8_t)((got + (size_t)i) * 31u + 7u));
            got += (size_t)g;
        }
        if (b && g == 0) {
            got = TOTAL + 1; /* EOF */
            assert_int_equal(utcp_close(r->st[1], b), 0);
        }
        step(r);
    }
    assert_int_equal(got, TOTAL + 1);
    for (int i = 0; i < 400; i++)
        step(r); /* the FIN handshake, the last ACKs */
    struct utcp_counters ctr;
    utcp_get_counters(r->st[0], &ctr);
    assert_true(ctr.RetransSegs > 10); /* the losses were repaired */
}

static void run_free(struct run *r)
{
    for (int i = 0; i < 2; i++) {
        utcp_stack_destroy(r->st[i]);
        for (size_t k = 0; k < r->ends[i].nrecs; k++)
            free(r->ends[i].recs[k].bytes);
        free(r->ends[i].recs);
        free(r->ends[i].lent_buf);
    }
    for (size_t k = 0; k < r->qn; k++)
        free(r->q[k].bytes);
    free(r->q);
}

/* Replays base with lend and compares every packet of both stacks with
 * the classic run. Returns how many were built in lent memory. */
static size_t compare(const struct utcp_config *base, bool ex, enum lend lend)
{
    struct run *c = malloc(sizeof *c), *o = malloc(sizeof *o);
    assert_non_null(c);
    assert_non_null(o);
    run_init(c, base, ex, LEND_NEVER);
    transfer(c);
    run_init(o, base, ex, lend);
    transfer(o);
    size_t lent = 0;
    for (int i = 0; i < 2; i++) {
        struct end *ce = &c->ends[i], *oe = &o->ends[i];
        assert_int_equal(ce->nrecs, oe->nrecs);
        for (size_t k = 0; k < ce->nrecs; k++) {
            struct rec *x = &ce->recs[k], *y = &oe->recs[k];
            assert_false(x->lent);
            assert_int_equal(x->len, y->len);
            assert_memory_equal(x->bytes, y->bytes, x->len);
            assert_int_equal(x->meta.gso_size, y->meta.gso_size);
            assert_int_equal(x->meta.hdr_len, y->meta.hdr_len);
            assert_int_equal(x->meta.csum_partial, y->meta.csum_partial);
            lent += y->lent;
        }
    }
    run_free(c);
    run_free(o);
    free(c);
    free(o);
    return lent;
}

static struct utcp_config base_cfg(void)
{
    struct utcp_config c;
    utcp_config_init(&c);
    c.sndbuf = 1u << 17;
    c.rcvbuf = 1u << 17;
    return c;
}

static void output_buf_segments_identical_full_checksums(void **state)
{
    (void)state;
    struct utcp_config c = base_cfg();
    assert_true(compare(&c, false, LEND_ALWAYS) > 400);
}

static void output_buf_segments_identical_tso_offload_meta(void **state)
{
    (void)state;
    struct utcp_config c = base_cfg();
    c.offload = UTCP_OFFLOAD_TX_CSUM | UTCP_OFFLOAD_RX_CSUM;
    c.tso_max = 65535u - 80u;
    assert_true(compare(&c, true, LEND_ALWAYS) > 100);
}

static void output_buf_segments_identical_no_options(void **state)
{
    (void)state;
    struct utcp_config c = base_cfg();
    c.no_timestamps = true;
    c.no_sack = true;
    assert_true(compare(&c, true, LEND_ALWAYS) > 400);
}

static void output_buf_null_falls_back_to_own_buffer(void **state)
{
    (void)state;
    struct utcp_config c = base_cfg();
    /* every other request refused: those packets come from the stack's
     * buffer, the others from the lent one, all identical */
    size_t lent = compare(&c, false, LEND_ODD);
    assert_true(lent > 200);
    c.offload = UTCP_OFFLOAD_TX_CSUM | UTCP_OFFLOAD_RX_CSUM;
    c.tso_max = 65535u - 80u;
    assert_true(compare(&c, true, LEND_ODD) > 50);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(output_buf_segments_identical_full_checksums),
        cmocka_unit_test(output_buf_segments_identical_tso_offload_meta),
        cmocka_unit_test(output_buf_segments_identical_no_options),
        cmocka_unit_test(output_buf_null_falls_back_to_own_buffer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
