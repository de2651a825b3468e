/*
 * seg: one stack and a scripted peer (see seg.h). Test support only.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seg.h"
#include "fsmlog.h"

static void output_ex(void *ctx, const uint8_t *pkt, size_t len,
                      const struct utcp_output_meta *meta)
{
    struct seg_h *h = ctx;
    if (h->ncap == SEG_MAX_CAP)
        return;
    struct utcp_ipv4 ip;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    if (utcp_ipv4_parse(pkt, len, &ip) != UTCP_WIRE_OK ||
        ip.proto != UTCP_IPPROTO_TCP ||
        utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, false,
                       &th) != UTCP_WIRE_OK)
        return; /* ICMP and the like are not captured */
    struct utcp_tcp chk;
    struct seg_cap *c = &h->cap[h->ncap++];
    memset(c, 0, sizeof *c);
    c->csum_ok = utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst,
                                true, &chk) == UTCP_WIRE_OK;
    c->at = h->now;
    c->flags = th.flags;
    c->seq = th.seq;
    c->ack = th.ack;
    c->len = (uint32_t)th.payload_len;
    c->win = th.win;
    c->sport = th.sport;
    c->dport = th.dport;
    c->opts = th.opts;
    c->raw = malloc(len);
    if (!c->raw)
        abort();
    memcpy(c->raw, pkt, len);
    c->raw_len = len;
    c->data = c->raw + (th.payload - pkt);
    c->meta = *meta;
}

static void trace(void *ctx, const struct utcp_trace_event *ev)
{
    struct seg_h *h = ctx;
    switch (ev->kind) {
    case UTCP_TRACE_STATE:
        if (!utcp_transition_legal(ev->old_state, ev->new_state))
            h->bad_transitions++;
        fsmlog_transition(ev);
        if (h->nstates < SEG_MAX_STATES) {
            struct seg_state_ev *e = &h->states[h->nstates++];
            e->at = ev->now;
            e->conn_id = ev->conn_id;
            e->old_state = ev->old_state;
            e->new_state = ev->new_state;
            e->cause = ev->cause;
        }
        break;
    case UTCP_TRACE_TIMER:
        if (ev->timer >= 0 && ev->timer < 16)
            h->timer_fires[ev->timer]++;
        break;
    case UTCP_TRACE_TIMER_SET:
        if (ev->timer >= 0 && ev->timer < 16)
            h->timer_sets[ev->timer]++;
        break;
    case UTCP_TRACE_DROP:
        if (ev->drop_reason >= 0 && ev->drop_reason < 64)
            h->drops[ev->drop_reason]++;
        break;
    default:
        break;
    }
}

struct utcp_config seg_default_cfg(void)
{
    struct utcp_config c;
    utcp_config_init(&c);
    c.seed = 7;
    c.rcvbuf = 8192;
    return c;
}

void seg_init(struct seg_h *h, const struct utcp_config *cfg)
{
    memset(h, 0, sizeof *h);
    h->cfg = cfg ? *cfg : seg_default_cfg();
    h->cfg.addr = SEG_US;
    h->cfg.output = NULL;
    h->cfg.output_ex = output_ex; /* the metadata is captured too */
    h->cfg.output_ctx = h;
    h->cfg.trace = trace;
    h->cfg.trace_ctx = h;
    h->cap = calloc(SEG_MAX_CAP, sizeof *h->cap);
    if (!h->cap || utcp_stack_create(&h->cfg, &h->st) != 0)
        abort();
    h->lport = 80;
    h->pport = 40000;
    h->pwin = 16384;
}

void seg_destroy(struct seg_h *h)
{
    utcp_stack_destroy(h->st);
    h->st = NULL;
    for (size_t i = 0; i < h->ncap; i++)
        free(h->cap[i].raw);
    free(h->cap);
    h->cap = NULL;
}

void seg_send_raw(struct seg_h *h, const uint8_t *pkt, size_t len)
{
    utcp_input(h->st, h->now, pkt, len);
}

void seg_send_th(struct seg_h *h, const struct utcp_tcp *th, const void *data,
                 size_t len)
{
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = SEG_PEER;
    ip.dst = SEG_US;
    ip.ttl = 64;
    ip.df = true;
    static uint8_t pkt[70000];
    size_t n = utcp_ipv4_tcp_build(pkt, sizeof pkt, &ip, th, data, len);
    if (!n)
        abort();
    seg_send_raw(h, pkt, n);
}

void seg_send_opts(struct seg_h *h, uint8_t flags, uint32_t seq, uint32_t ack,
                   uint16_t win, const struct utcp_tcp_opts *o,
                   const void *data, size_t len)
{
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = h->pport;
    th.dport = h->lport;
    th.seq = seq;
    th.ack = ack;
    th.flags = flags;
    th.win = win;
    if (o)
        th.opts = *o;
    seg_send_th(h, &th, data, len);
}

void seg_send(struct seg_h *h, uint8_t flags, uint32_t seq, uint32_t ack,
              uint16_t win, const void *data, size_t len)
{
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = h->pport;
    th.dport = h->lport;
    th.seq = seq;
    th.ack = ack;
    th.flags = flags;
    th.win = win;
    seg_send_th(h, &th, data, len);
}

uint32_t seg_our_seq(const struct seg_h *h, uint32_t k, uint32_t smss)
{
    return h->iss + 1 + k * smss;
}

void seg_send_sack(struct seg_h *h, uint32_t pseq, uint32_t ack, unsigned n,
                   const uint32_t *lr, uint32_t smss)
{
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    if (n) {
        o.present = UTCP_OPT_SACK;
        o.sack_count = (uint8_t)n;
        for (unsigned i = 0; i < n; i++) {
            o.sack[i].left = seg_our_seq(h, lr[2 * i], smss);
            o.sack[i].right = seg_our_seq(h, lr[2 * i + 1], smss);
        }
    }
    seg_send_opts(h, UTCP_TH_ACK, pseq, ack, h->pwin, &o, NULL, 0);
}

void seg_run(struct seg_h *h, uint64_t dt)
{
    uint64_t target = h->now + dt;
    for (;;) {
        uint64_t d = utcp_next_deadline(h->st);
        if (d == UINT64_MAX || d > target)
            break;
        if (d > h->now)
            h->now = d;
        utcp_tick(h->st, h->now);
    }
    h->now = target;
    utcp_tick(h->st, target);
}

uint64_t seg_run_to_next_timer(struct seg_h *h)
{
    uint64_t d = utcp_next_deadline(h->st);
    if (d == UINT64_MAX)
        fail_msg("no timer is running");
    if (d > h->now)
        h->now = d;
    utcp_tick(h->st, h->now);
    return d;
}

const struct seg_cap *seg_take(struct seg_h *h)
{
    if (h->next >= h->ncap)
        return NULL;
    return &h->cap[h->next++];
}

static const char *flagstr(uint8_t f, char *b)
{
    char *p = b;
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
    if (p == b)
        *p++ = '-';
    *p = 0;
    return b;
}

const struct seg_cap *seg_expect_(struct seg_h *h, long flags, long seq,
                                  long ack, long len, long win,
                                  const char *file, int line)
{
    const struct seg_cap *c = seg_take(h);
    char b1[8], b2[8];
    if (!c) {
        print_error("%s:%d: expected a segment %s seq=%ld ack=%ld len=%ld, "
                    "got nothing\n",
                    file, line, flagstr((uint8_t)flags, b1), seq, ack, len);
        _fail(file, line);
        return NULL;
    }
    bool ok = (long)c->flags == flags && (seq == SEG_ANY || (long)c->seq == seq) &&
              (ack == SEG_ANY || (long)c->ack == ack) &&
              (len == SEG_ANY || (long)c->len == len) &&
              (win == SEG_ANY || (long)c->win == win);
    if (!ok) {
        print_error("%s:%d: segment mismatch\n"
                    "  got    %-4s seq=%u ack=%u len=%u win=%u (t=%llu us)\n"
                    "  wanted %-4s seq=%ld ack=%ld len=%ld win=%ld (-1: any)\n",
                    file, line, flagstr(c->flags, b1), c->seq, c->ack, c->len,
                    c->win, (unsigned long long)c->at,
                    flagstr((uint8_t)flags, b2), seq, ack, len, win);
        _fail(file, line);
    }
    if (!c->csum_ok && !(h->cfg.offload & UTCP_OFFLOAD_TX_CSUM)) {
        print_error("%s:%d: segment %s seq=%u has a bad TCP checksum\n", file,
                    line, flagstr(c->flags, b1), c->seq);
        _fail(file, line);
    }
    return c;
}

void seg_expect_nothing_(struct seg_h *h, const char *file, int line)
{
    if (h->next < h->ncap) {
        const struct seg_cap *c = &h->cap[h->next];
        char b[8];
        print_error("%s:%d: expected nothing, got %s seq=%u ack=%u len=%u "
                    "win=%u (t=%llu us)\n",
                    file, line, flagstr(c->flags, b), c->seq, c->ack, c->len,
                    c->win, (unsigned long long)c->at);
        _fail(file, line);
    }
}

const char *seg_states(const struct seg_h *h, uint32_t conn_id, char *buf,
                       size_t cap)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t i = 0; i < h->nstates; i++) {
        const struct seg_state_ev *e = &h->states[i];
        if (e->conn_id != conn_id)
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

void seg_expect_states_(const struct seg_h *h, uint32_t conn_id,
                        const char *want, const char *file, int line)
{
    char buf[512];
    seg_states(h, conn_id, buf, sizeof buf);
    if (strcmp(buf, want) != 0) {
        print_error("%s:%d: conn %u: states %s, expected %s\n", file, line,
                    conn_id, buf, want);
        _fail(file, line);
    }
}

struct utcp_info seg_info(struct seg_h *h, utcp_sock sk)
{
    struct utcp_info i;
    memset(&i, 0, sizeof i);
    i.state = -1;
    utcp_getinfo(h->st, sk, &i);
    return i;
}

uint32_t seg_conn_id(struct seg_h *h, utcp_sock sk)
{
    struct utcp_info i;
    if (utcp_getinfo(h->st, sk, &i))
        return 0;
    return i.conn_id;
}

int seg_state(struct seg_h *h, utcp_sock sk)
{
    struct utcp_info i;
    if (utcp_getinfo(h->st, sk, &i))
        return -1;
    return i.state;
}

uint64_t seg_counter_(const struct seg_h *h, size_t off)
{
    struct utcp_counters k;
    utcp_get_counters(h->st, &k);
    uint64_t v;
    memcpy(&v, (const char *)&k + off, sizeof v);
    return v;
}

static void send_syn(struct seg_h *h, uint8_t flags, uint32_t seq, uint32_t ack,
                     const struct utcp_tcp_opts *o)
{
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    if (o)
        th.opts = *o;
    th.sport = h->pport;
    th.dport = h->lport;
    th.seq = seq;
    th.ack = ack;
    th.flags = flags;
    th.win = h->pwin;
    th.opts.present |= UTCP_OPT_MSS;
    th.opts.mss = 1460;
    if ((th.opts.present & UTCP_OPT_TS) && th.opts.ts_ecr == 0 &&
        (flags & UTCP_TH_ACK))
        th.opts.ts_ecr = h->syn_opts.ts_val;
    seg_send_th(h, &th, NULL, 0);
}

utcp_sock seg_open_active(struct seg_h *h, uint32_t piss, uint64_t rtt)
{
    return seg_open_active_opts(h, piss, rtt, NULL);
}

utcp_sock seg_open_active_opts(struct seg_h *h, uint32_t piss, uint64_t rtt,
                               const struct utcp_tcp_opts *o)
{
    utcp_sock sk;
    if (utcp_socket(h->st, &sk) || utcp_bind(h->st, sk, 0, h->lport))
        fail_msg("socket/bind");
    assert_int_equal(utcp_connect(h->st, sk, SEG_PEER, h->pport),
                     UTCP_EINPROGRESS);
    const struct seg_cap *c = expect_seg(h, UTCP_TH_SYN, SEG_ANY, 0, 0, SEG_ANY);
    h->iss = c->seq;
    h->piss = piss;
    h->syn_opts = c->opts;
    seg_run(h, rtt);
    send_syn(h, UTCP_TH_SYN | UTCP_TH_ACK, piss, h->iss + 1, o);
    expect_seg(h, UTCP_TH_ACK, h->iss + 1, piss + 1, 0, SEG_ANY);
    assert_int_equal(seg_state(h, sk), UTCP_ESTABLISHED);
    return sk;
}

utcp_sock seg_listen(struct seg_h *h, int backlog)
{
    utcp_sock l;
    if (utcp_socket(h->st, &l) || utcp_bind(h->st, l, 0, h->lport) ||
        utcp_listen(h->st, l, backlog))
        fail_msg("listen");
    return l;
}

utcp_sock seg_open_passive(struct seg_h *h, utcp_sock *lsk, uint32_t piss,
                           uint64_t rtt)
{
    return seg_open_passive_opts(h, lsk, piss, rtt, NULL);
}

utcp_sock seg_open_passive_opts(struct seg_h *h, utcp_sock *lsk, uint32_t piss,
                                uint64_t rtt, const struct utcp_tcp_opts *o)
{
    *lsk = seg_listen(h, 8);
    h->piss = piss;
    send_syn(h, UTCP_TH_SYN, piss, 0, o);
    const struct seg_cap *c =
        expect_seg(h, UTCP_TH_SYN | UTCP_TH_ACK, SEG_ANY, piss + 1, 0, SEG_ANY);
    h->iss = c->seq;
    h->syn_opts = c->opts;
    seg_run(h, rtt);
    struct utcp_tcp_opts ao;
    memset(&ao, 0, sizeof ao);
    if (o && (o->present & UTCP_OPT_TS) && (c->opts.present & UTCP_OPT_TS)) {
        ao.present = UTCP_OPT_TS;
        ao.ts_val = o->ts_val;
        ao.ts_ecr = c->opts.ts_val;
    }
    seg_send_opts(h, UTCP_TH_ACK, piss + 1, h->iss + 1, h->pwin, &ao, NULL, 0);
    expect_nothing(h);
    utcp_sock sk;
    assert_int_equal(utcp_accept(h->st, *lsk, &sk), 0);
    assert_int_equal(seg_state(h, sk), UTCP_ESTABLISHED);
    return sk;
}
