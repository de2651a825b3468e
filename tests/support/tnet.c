/*
 * tnet: two utcp stacks on an in-memory wire with a virtual clock (see
 * tnet.h). Test support only: allocation failures abort the test.
 */
#include "tnet.h"
#include "fsmlog.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static void enqueue(struct tnet *n, int to, const uint8_t *pkt, size_t len,
                    uint64_t at)
{
    if (n->qlen == n->qcap) {
        n->qcap = n->qcap ? n->qcap * 2 : 64;
        n->q = realloc(n->q, n->qcap * sizeof *n->q);
        if (!n->q)
            abort();
    }
    struct tnet_inflight *f = &n->q[n->qlen++];
    f->at = at;
    f->order = n->order++;
    f->to = to;
    f->len = len;
    f->data = malloc(len);
    if (!f->data)
        abort();
    memcpy(f->data, pkt, len);
}

static void output(void *ctx, const uint8_t *pkt, size_t len)
{
    struct tnet_out *o = ctx;
    struct tnet *n = o->n;
    struct utcp_ipv4 ip;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    bool is_tcp = utcp_ipv4_parse(pkt, len, &ip) == UTCP_WIRE_OK &&
                  ip.proto == UTCP_IPPROTO_TCP &&
                  utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst,
                                 true, &th) == UTCP_WIRE_OK;
    uint64_t extra = 0;
    int fate = TNET_PASS;
    if (n->filter && is_tcp)
        fate = n->filter(n, o->side, &th, pkt, len, &extra, n->filter_ctx);
    if (is_tcp && n->nsegs < TNET_MAX_LOG) {
        struct tnet_seg_ev *e = &n->segs[n->nsegs++];
        e->at = n->now;
        e->from = o->side;
        e->dropped = fate == TNET_DROP;
        e->flags = th.flags;
        e->seq = th.seq;
        e->ack = th.ack;
        e->len = (uint32_t)th.payload_len;
        e->win = th.win;
        e->sport = th.sport;
        e->dport = th.dport;
    }
    if (fate == TNET_DROP)
        return;
    enqueue(n, 1 - o->side, pkt, len, n->now + n->delay + extra);
    if (fate == TNET_DUP)
        enqueue(n, 1 - o->side, pkt, len, n->now + n->delay + extra + 1);
}

static void trace(void *ctx, const struct utcp_trace_event *ev)
{
    struct tnet_out *o = ctx;
    struct tnet *n = o->n;
    if (ev->kind == UTCP_TRACE_STATE) {
        if (!utcp_transition_legal(ev->old_state, ev->new_state))
            n->bad_transitions++;
        fsmlog_transition(ev);
        if (n->nstates < TNET_MAX_LOG) {
            struct tnet_state_ev *e = &n->states[n->nstates++];
            e->at = ev->now;
            e->conn_id = ev->conn_id;
            e->side = o->side;
            e->old_state = ev->old_state;
            e->new_state = ev->new_state;
            e->cause = ev->cause;
        }
    } else if (ev->kind == UTCP_TRACE_TIMER && ev->timer < 16) {
        n->timer_fires[o->side][ev->timer]++;
    } else if (ev->kind == UTCP_TRACE_TIMER_SET && ev->timer < 16) {
        n->timer_sets[o->side][ev->timer]++;
    }
}

static void create_side(struct tnet *n, int i, const struct utcp_config *cfg)
{
    struct tnet_out *o = n->out;
    o[i].n = n;
    o[i].side = i;
    struct utcp_config c = *cfg;
    c.addr = i == 0 ? TNET_ADDR_A : TNET_ADDR_B;
    c.output = output;
    c.output_ctx = &o[i];
    c.trace = trace;
    c.trace_ctx = &o[i];
    c.seed = cfg->seed * 2 + (uint64_t)i + 1;
    if (utcp_stack_create(&c, &n->st[i]) != 0)
        abort();
    if (n->now)
        utcp_tick(n->st[i], n->now);
}

void tnet_init(struct tnet *n, const struct utcp_config *cfg)
{
    memset(n, 0, sizeof *n);
    n->delay = 10000; /* 10 ms one way */
    for (int i = 0; i < 2; i++)
        create_side(n, i, cfg);
}

void tnet_restart(struct tnet *n, int side, const struct utcp_config *cfg)
{
    utcp_stack_destroy(n->st[side]);
    n->st[side] = NULL;
    create_side(n, side, cfg);
}

void tnet_inject(struct tnet *n, int to, uint16_t sport, uint16_t dport,
                 uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
                 const uint8_t *payload, size_t len)
{
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = to == 0 ? TNET_ADDR_B : TNET_ADDR_A;
    ip.dst = to == 0 ? TNET_ADDR_A : TNET_ADDR_B;
    ip.ttl = 64;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = sport;
    th.dport = dport;
    th.seq = seq;
    th.ack = ack;
    th.flags = flags;
    th.win = win;
    static uint8_t pkt[TNET_MAX_PKT];
    size_t plen = utcp_ipv4_tcp_build(pkt, sizeof pkt, &ip, &th, payload, len);
    if (!plen)
        abort();
    utcp_input(n->st[to], n->now, pkt, plen);
}

long tnet_find_seg(const struct tnet *n, size_t from_idx, int from, uint8_t f)
{
    for (size_t i = from_idx; i < n->nsegs; i++)
        if (n->segs[i].from == from && n->segs[i].flags == f)
            return (long)i;
    return -1;
}

void tnet_destroy(struct tnet *n)
{
    utcp_stack_destroy(n->st[0]);
    utcp_stack_destroy(n->st[1]);
    for (size_t i = 0; i < n->qlen; i++)
        free(n->q[i].data);
    free(n->q);
    n->q = NULL;
    n->qlen = n->qcap = 0;
}

/* Index of the earliest in-flight packet, or -1. */
static long earliest(const struct tnet *n)
{
    long best = -1;
    for (size_t i = 0; i < n->qlen; i++) {
        if (best < 0 || n->q[i].at < n->q[best].at ||
            (n->q[i].at == n->q[best].at && n->q[i].order < n->q[best].order))
            best = (long)i;
    }
    return best;
}

/* Performs the next event at or before t; false when none. */
static bool step(struct tnet *n, uint64_t t)
{
    long p = earliest(n);
    uint64_t tp = p >= 0 ? n->q[p].at : UINT64_MAX;
    uint64_t ta = utcp_next_deadline(n->st[0]);
    uint64_t tb = utcp_next_deadline(n->st[1]);
    uint64_t next = tp;
    if (ta < next)
        next = ta;
    if (tb < next)
        next = tb;
    if (next > t || next == UINT64_MAX)
        return false;
    if (next > n->now)
        n->now = next;
    if (ta <= n->now)
        utcp_tick(n->st[0], n->now);
    else if (tb <= n->now)
        utcp_tick(n->st[1], n->now);
    else {
        struct tnet_inflight f = n->q[p];
        n->q[p] = n->q[--n->qlen];
        utcp_input(n->st[f.to], n->now, f.data, f.len);
        free(f.data);
    }
    return true;
}

void tnet_run_until(struct tnet *n, uint64_t t)
{
    while (step(n, t))
        ;
    if (t > n->now && t != UINT64_MAX) {
        n->now = t;
        utcp_tick(n->st[0], t);
        utcp_tick(n->st[1], t);
    }
}

void tnet_run_for(struct tnet *n, uint64_t d)
{
    tnet_run_until(n, n->now + d);
}

uint64_t tnet_transfer(struct tnet *n, utcp_sock a, utcp_sock b,
                       const uint8_t *src, uint8_t *got, size_t len,
                       uint64_t limit, size_t mark, uint64_t *mark_at)
{
    size_t sent = 0, rcvd = 0;
    uint64_t t0 = n->now;
    bool marked = false;
    while (rcvd < len) {
        if (sent < len) {
            long m = utcp_send(n->st[0], a, src + sent, len - sent);
            if (m > 0)
                sent += (size_t)m;
        }
        long m = utcp_recv(n->st[1], b, got + rcvd, len - rcvd);
        if (m > 0)
            rcvd += (size_t)m;
        if (mark_at && !marked && rcvd >= mark) {
            *mark_at = n->now - t0;
            marked = true;
        }
        tnet_run_for(n, 1000);
        if (n->now - t0 >= limit && rcvd < len)
            return UINT64_MAX;
    }
    return n->now - t0;
}

void tnet_pattern(uint8_t *buf, size_t len, unsigned seed)
{
    for (size_t i = 0; i < len; i++)
        buf[i] = (uint8_t)(i * (2 * seed + 1) + (i >> 8) + seed);
}

void tnet_run_idle(struct tnet *n, uint64_t limit)
{
    while (step(n, limit))
        ;
}

const char *tnet_states(const struct tnet *n, int side, uint32_t conn_id,
                        char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < n->nstates; i++) {
        const struct tnet_state_ev *e = &n->states[i];
        if (e->side != side || e->conn_id != conn_id)
            continue;
        if (used == 0)
            used += (size_t)snprintf(buf + used, cap - used, "%s",
                                     utcp_state_name(e->old_state));
        if (used < cap)
            used += (size_t)snprintf(buf + used, cap - used, ">%s",
                                     utcp_state_name(e->new_state));
    }
    return buf;
}

size_t tnet_conn_ids(const struct tnet *n, int side, uint32_t *ids, size_t max)
{
    size_t k = 0;
    for (size_t i = 0; i < n->nstates; i++) {
        const struct tnet_state_ev *e = &n->states[i];
        if (e->side != side)
            continue;
        bool seen = false;
        for (size_t j = 0; j < k; j++)
            seen |= ids[j] == e->conn_id;
        if (!seen && k < max)
            ids[k++] = e->conn_id;
    }
    return k;
}

const char *tnet_flags(uint8_t f, char *buf)
{
    char *p = buf;
    if (f & UTCP_TH_SYN)
        *p++ = 'S';
    if (f & UTCP_TH_FIN)
        *p++ = 'F';
    if (f & UTCP_TH_RST)
        *p++ = 'R';
    if (f & UTCP_TH_PSH)
        *p++ = 'P';
    if (f & UTCP_TH_ACK)
        *p++ = 'A';
    *p = 0;
    return buf;
}

size_t tnet_count_segs(const struct tnet *n, int from, uint8_t f)
{
    size_t k = 0;
    for (size_t i = 0; i < n->nsegs; i++)
        if (n->segs[i].from == from && n->segs[i].flags == f)
            k++;
    return k;
}

utcp_sock tnet_listen(struct tnet *n, int side, uint16_t port, int backlog)
{
    utcp_sock l;
    if (utcp_socket(n->st[side], &l) || utcp_bind(n->st[side], l, 0, port) ||
        utcp_listen(n->st[side], l, backlog))
        abort();
    return l;
}

utcp_sock tnet_connect(struct tnet *n, int side, uint16_t port)
{
    utcp_sock c;
    if (utcp_socket(n->st[side], &c))
        abort();
    int r = utcp_connect(n->st[side], c,
                         side == 0 ? TNET_ADDR_B : TNET_ADDR_A, port);
    if (r != UTCP_EINPROGRESS)
        abort();
    return c;
}

int tnet_sock_state(struct tnet *n, int side, utcp_sock sk)
{
    struct utcp_info i;
    if (utcp_getinfo(n->st[side], sk, &i))
        return -1;
    return i.state;
}

uint32_t tnet_conn_id(struct tnet *n, int side, utcp_sock sk)
{
    struct utcp_info i;
    if (utcp_getinfo(n->st[side], sk, &i))
        return 0;
    return i.conn_id;
}

uint64_t tnet_finish(struct tnet *n, utcp_sock a, utcp_sock b, utcp_sock l)
{
    utcp_close(n->st[0], a);
    utcp_close(n->st[1], b);
    utcp_close(n->st[1], l);
    tnet_run_for(n, 300u * 1000000u);
    uint64_t bad = n->bad_transitions;
    tnet_destroy(n);
    free(n);
    return bad;
}
