/*
 * The socket API: handles with generation numbers, bind/listen/accept,
 * connect, send/recv, shutdown/close/abort, options, readiness events and
 * per-connection info. RFC 9293 3.10 (user calls: OPEN, SEND, RECEIVE,
 * CLOSE, ABORT, STATUS), RFC 1122 4.2.2.13 (close with unread data),
 * RFC 6056 (ephemeral ports). Never hands out a pointer into the stack;
 * a stale handle is an error, not a use-after-free.
 */
#include <string.h>

#include "stack/stack.h"
#include "tcp/conn.h"

#define SLOT_OF(h) ((uint32_t)((h)&0xffffffffu))
#define GEN_OF(h) ((uint32_t)((h) >> 32))


static struct utcp_conn *lookup(struct utcp_stack *s, utcp_sock h)
{
    uint32_t idx = SLOT_OF(h);
    if (!s || idx == 0 || idx > s->socks_cap)
        return NULL;
    struct utcp_sock_slot *slot = &s->socks[idx - 1];
    if (!slot->conn || slot->gen != GEN_OF(h))
        return NULL;
    return slot->conn;
}

static utcp_sock handle_of(struct utcp_stack *s, const struct utcp_conn *c)
{
    return ((uint64_t)s->socks[c->sock_idx - 1].gen << 32) | c->sock_idx;
}

static int slot_alloc(struct utcp_stack *s, struct utcp_conn *c)
{
    if (!s->socks_free) {
        uint32_t ncap = s->socks_cap ? s->socks_cap * 2 : 64;
        if (ncap > (1u << 30))
            return UTCP_EMFILE;
        struct utcp_sock_slot *n = utcp__alloc(&s->alloc, sizeof *n * ncap);
        if (!n)
            return UTCP_ENOMEM;
        if (s->socks)
            memcpy(n, s->socks, sizeof *n * s->socks_cap);
        for (uint32_t i = s->socks_cap; i < ncap; i++) {
            n[i].gen = 1;
            n[i].conn = NULL;
            n[i].next_free = (i + 1 < ncap) ? i + 2 : 0;
        }
        utcp__free(&s->alloc, s->socks, sizeof *s->socks * s->socks_cap);
        s->socks_free = s->socks_cap + 1;
        s->socks = n;
        s->socks_cap = ncap;
    }
    uint32_t idx = s->socks_free;
    struct utcp_sock_slot *slot = &s->socks[idx - 1];
    s->socks_free = slot->next_free;
    slot->conn = c;
    c->sock_idx = idx;
    return 0;
}

/* Detaches c from its handle (the connection may live on, orphaned). */
static void slot_release(struct utcp_stack *s, struct utcp_conn *c)
{
    if (!c->sock_idx)
        return;
    struct utcp_sock_slot *slot = &s->socks[c->sock_idx - 1];
    slot->conn = NULL;
    slot->gen++;
    if (slot->gen == 0)
        slot->gen = 1;
    slot->next_free = s->socks_free;
    s->socks_free = c->sock_idx;
    c->sock_idx = 0;
    utcp__ev_unlink(s, c);
}

int utcp_socket(struct utcp_stack *s, utcp_sock *out)
{
    if (!s || !out)
        return UTCP_EINVAL;
    struct utcp_conn *c = utcp__conn_new(s);
    if (!c)
        return UTCP_ENOMEM;
    int r = slot_alloc(s, c);
    if (r) {
        utcp__conn_free(s, c);
        return r;
    }
    *out = handle_of(s, c);
    return 0;
}

static bool port_in_use(void *ctx, uint16_t port)
{
    struct utcp_stack *s = ctx;
    return s->ports &&
           (s->ports[port].active != 0 || s->ports[port].timewait != 0);
}

/* Binds c to port (0: ephemeral, chosen for the remote raddr:rport). */
static int do_bind(struct utcp_stack *s, struct utcp_conn *c, uint16_t port,
                   uint32_t raddr, uint16_t rport)
{
    if (!utcp__ports_ensure(s))
        return UTCP_ENOMEM;
    if (port == 0) {
        int p = utcp__port_pick(s->port_key, s->cfg.addr, raddr, rport,
                               s->cfg.ephemeral_lo, s->cfg.ephemeral_hi,
                               &s->next_ephemeral, port_in_use, s);
        if (p < 0)
            return p;
        port = (uint16_t)p;
    } else {
        struct utcp_port_use *u = &s->ports[port];
        /* A port held by a live socket or connection is in use; one held
         * only by TIME_WAIT connections is free with REUSEADDR. */
        if (u->active || (u->timewait && !c->opt.reuseaddr))
            return UTCP_EADDRINUSE;
    }
    c->tuple.laddr = s->cfg.addr;
    c->tuple.lport = port;
    utcp__port_hold(s, port);
    c->bound = true;
    return 0;
}

int utcp_bind(struct utcp_stack *s, utcp_sock sk, uint32_t addr, uint16_t port)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (c->bound || c->state != UTCP_CLOSED)
        return UTCP_EINVAL;
    if (addr != 0 && addr != s->cfg.addr)
        return UTCP_EADDRNOTAVAIL;
    return do_bind(s, c, port, 0, 0);
}

int utcp_listen(struct utcp_stack *s, utcp_sock sk, int backlog)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (c->state == UTCP_LISTEN) {
        c->backlog = (uint32_t)(backlog < 1 ? 1 : backlog > 65535 ? 65535 : backlog);
        return 0;
    }
    if (c->state != UTCP_CLOSED || !c->bound)
        return UTCP_EINVAL;
    c->backlog = (uint32_t)(backlog < 1 ? 1 : backlog > 65535 ? 65535 : backlog);
    utcp__set_state(s, c, UTCP_LISTEN, UTCP_CAUSE_OPEN_PASSIVE);
    utcp__table_insert(s, c);
    return 0;
}

int utcp_accept(struct utcp_stack *s, utcp_sock sk, utcp_sock *out)
{
    struct utcp_conn *l = lookup(s, sk);
    if (!l)
        return UTCP_EBADF;
    if (l->state != UTCP_LISTEN || !out)
        return UTCP_EINVAL;
    struct utcp_conn *c = l->accq_head;
    if (!c)
        return UTCP_EAGAIN;
    int r = slot_alloc(s, c);
    if (r)
        return r;
    utcp__unlink_from_listener(c);
    *out = handle_of(s, c);
    utcp__notify(s, c, UTCP_EV_CONNECTED);
    return 0;
}

int utcp_connect(struct utcp_stack *s, utcp_sock sk, uint32_t addr,
                 uint16_t port)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    switch (c->state) {
    case UTCP_CLOSED:
        break;
    case UTCP_SYN_SENT:
    case UTCP_SYN_RECEIVED:
        return UTCP_EALREADY;
    case UTCP_LISTEN:
        return UTCP_EINVAL;
    default:
        return UTCP_EISCONN;
    }
    if (c->error || c->reset)
        return UTCP_EINVAL; /* a socket is connected once */
    if (addr == 0 || port == 0)
        return UTCP_EINVAL;
    if (!c->bound) {
        int r = do_bind(s, c, 0, addr, port);
        if (r)
            return r;
    }
    struct utcp_4tuple t = c->tuple;
    t.raddr = addr;
    t.rport = port;
    struct utcp_conn *old = utcp__table_find(s, &t);
    struct utcp_twrec *oldtw = old ? NULL : utcp__tw_find(s, &t);
    utcp_seq floor = 0;
    bool have_floor = false;
    if (old || oldtw) {
        if ((old && old->state != UTCP_TIME_WAIT) || !c->opt.reuseaddr)
            return UTCP_EADDRINUSE;
        /* RFC 6191 / RFC 9293 3.4.1: reusing a 4-tuple held by TIME_WAIT;
         * the new ISN must lie above the old connection's sequence
         * space. */
        floor = (old ? old->snd_nxt : oldtw->snd_nxt) + 65536u;
        have_floor = true;
        s->ctr.TimeWaitRecycled++;
        if (old)
            utcp__conn_close(s, old, UTCP_CAUSE_ABORT, 0);
        else
            utcp__tw_remove(s, oldtw, UTCP_CAUSE_ABORT);
    }
    c->tuple = t;
    utcp__conn_init_seq(s, c);
    if (have_floor && seq_lt(c->iss, floor)) {
        c->iss = floor;
        c->snd_una = c->snd_nxt = c->snd_max = c->iss;
        c->sndq_seq = c->iss + 1;
    }
    c->recover = c->iss;
    c->rcv_wscale = utcp__rcv_wscale_for(c->opt.rcvbuf);
    utcp__ring_set_cap(&c->rcvq, c->opt.rcvbuf);
    utcp__ring_set_cap(&c->sndq, c->opt.sndbuf);
    utcp__set_state(s, c, UTCP_SYN_SENT, UTCP_CAUSE_OPEN_ACTIVE);
    utcp__table_insert(s, c);
    c->rtt_active = true;
    c->rtt_seq = c->iss;
    c->rtt_start = s->now;
    c->rtx_count = 0;
    utcp__send_syn(s, c);
    return UTCP_EINPROGRESS;
}

/* Whether c's application may queue data now: 0, or the error utcp_send
 * returns (RFC 9293 3.10.2 SEND in each state). */
static int send_allowed(const struct utcp_conn *c)
{
    if (c->reset)
        return UTCP_ECONNRESET;
    if (c->fin_queued)
        return UTCP_EPIPE;
    if (c->error)
        return c->error;
    switch (c->state) {
    case UTCP_SYN_SENT:
    case UTCP_SYN_RECEIVED: /* RFC 9293 3.10.2: queued until ESTABLISHED */
    case UTCP_ESTABLISHED:
    case UTCP_CLOSE_WAIT:
        break;
    case UTCP_CLOSED:
    case UTCP_LISTEN:
        return UTCP_ENOTCONN;
    default:
        return UTCP_EPIPE;
    }
    return 0;
}

long utcp_send(struct utcp_stack *s, utcp_sock sk, const void *buf, size_t len)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (!buf && len)
        return UTCP_EINVAL;
    int err = send_allowed(c);
    if (err)
        return err;
    c->reserved = 0;
    if (len == 0)
        return 0;
    uint32_t room = utcp__ring_free(&c->sndq);
    if (room == 0)
        return UTCP_EAGAIN;
    uint32_t want = len > room ? room : (uint32_t)len;
    uint32_t n = utcp__ring_write(&c->sndq, &s->buf_alloc, buf, want);
    if (n == 0)
        return UTCP_ENOMEM;
    utcp__output(s, c);
    return (long)n;
}

/* RFC 9293 3.8.6.2.2: after the application reads, advertise the larger
 * window once it has grown enough (SWS rule inside utcp__rcv_window). */
static void maybe_window_update(struct utcp_stack *s, struct utcp_conn *c)
{
    if (!utcp_state_synchronized(c->state) || !utcp_state_can_recv(c->state))
        return;
    uint32_t cur = seq_gt(c->rcv_adv, c->rcv_nxt)
                       ? (uint32_t)seq_diff(c->rcv_adv, c->rcv_nxt)
                       : 0;
    uint32_t now = utcp__rcv_window(c);
    if (now > cur &&
        now - cur >= utcp_min_u32(c->rcvq.cap / 2, 2u * c->rcv_mss))
        utcp__send_ack(s, c);
}

long utcp_send_reserve(struct utcp_stack *s, utcp_sock sk, void **buf,
                       size_t want)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (!buf)
        return UTCP_EINVAL;
    *buf = NULL;
    c->reserved = 0;
    int err = send_allowed(c);
    if (err)
        return err;
    if (utcp__ring_free(&c->sndq) == 0)
        return UTCP_EAGAIN;
    uint8_t *p;
    uint32_t n = utcp__ring_reserve(&c->sndq, &s->buf_alloc,
                                    want > UINT32_MAX ? UINT32_MAX
                                                      : (uint32_t)want,
                                    &p);
    if (n == 0)
        return UTCP_ENOMEM;
    if (want && n > want)
        n = (uint32_t)want;
    c->reserved = n;
    c->reserved_run = s->runs;
    *buf = p;
    return (long)n;
}

int utcp_send_commit(struct utcp_stack *s, utcp_sock sk, size_t n)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    /* The stack ran since (ACKs may have emptied and released the queue),
     * or the queue changed: the reservation is gone. */
    if (n > c->reserved || c->reserved_run != s->runs)
        return UTCP_EINVAL;
    c->reserved = 0;
    int err = send_allowed(c);
    if (err)
        return err;
    if (n == 0)
        return 0;
    utcp__ring_commit(&c->sndq, (uint32_t)n);
    utcp__output(s, c);
    return 0;
}

/* What utcp_recv returns when no byte is queued. */
static long recv_empty(const struct utcp_conn *c, size_t len)
{
    if (c->reset)
        return UTCP_ECONNRESET;
    if (c->error)
        return c->error;
    if (c->fin_rcvd || c->rd_shut)
        return 0;
    if (c->state == UTCP_CLOSED)
        return UTCP_ENOTCONN;
    if (len == 0)
        return 0;
    return UTCP_EAGAIN;
}

/* n bytes were taken from the front of c's receive queue. */
static void recv_consumed(struct utcp_stack *s, struct utcp_conn *c,
                          uint32_t n)
{
    utcp__ring_consume(&c->rcvq, n);
    if (c->rcvq.len == 0 && c->ooo->n == 0)
        utcp__ring_release(&c->rcvq, &s->buf_alloc);
    maybe_window_update(s, c);
}

long utcp_recv_peek(struct utcp_stack *s, utcp_sock sk, const void **data)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (!data || c->state == UTCP_LISTEN)
        return UTCP_EINVAL;
    *data = NULL;
    if (c->rcvq.len == 0)
        return recv_empty(c, 1);
    const uint8_t *p1, *p2;
    uint32_t n1, n2;
    utcp__ring_spans(&c->rcvq, 0, c->rcvq.len, &p1, &n1, &p2, &n2);
    *data = p1;
    return (long)n1;
}

int utcp_recv_consume(struct utcp_stack *s, utcp_sock sk, size_t n)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (c->state == UTCP_LISTEN || n > c->rcvq.len)
        return UTCP_EINVAL;
    if (n)
        recv_consumed(s, c, (uint32_t)n);
    return 0;
}

long utcp_recv(struct utcp_stack *s, utcp_sock sk, void *buf, size_t len)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (!buf && len)
        return UTCP_EINVAL;
    if (c->state == UTCP_LISTEN)
        return UTCP_EINVAL;
    if (c->rcvq.len > 0 && len > 0) {
        uint32_t n = utcp_min_u32(c->rcvq.len,
                                  len > UINT32_MAX ? UINT32_MAX : (uint32_t)len);
        utcp__ring_peek(&c->rcvq, 0, buf, n);
        recv_consumed(s, c, n);
        return (long)n;
    }
    return recv_empty(c, len);
}

/* Queues our FIN: RFC 9293 3.10.4 CLOSE in the states that send one. */
static int queue_fin(struct utcp_stack *s, struct utcp_conn *c)
{
    switch (c->state) {
    case UTCP_SYN_RECEIVED:
    case UTCP_ESTABLISHED:
        c->fin_queued = true;
        utcp__set_state(s, c, UTCP_FIN_WAIT_1, UTCP_CAUSE_CLOSE);
        break;
    case UTCP_CLOSE_WAIT:
        c->fin_queued = true;
        utcp__set_state(s, c, UTCP_LAST_ACK, UTCP_CAUSE_CLOSE);
        break;
    default:
        return 0; /* already closing, or nothing to close */
    }
    utcp__output(s, c);
    return 0;
}

int utcp_shutdown(struct utcp_stack *s, utcp_sock sk, int how)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (how < UTCP_SHUT_RD || how > UTCP_SHUT_RDWR)
        return UTCP_EINVAL;
    if (!utcp_state_synchronized(c->state) && c->state != UTCP_SYN_RECEIVED)
        return UTCP_ENOTCONN;
    if (how & UTCP_SHUT_RD) {
        c->rd_shut = true;
        utcp__ring_release(&c->rcvq, &s->buf_alloc);
        utcp__sb_clear(s, &c->ooo);
        utcp__notify(s, c, 0);
    }
    if (how & UTCP_SHUT_WR)
        queue_fin(s, c);
    return 0;
}

static void reset_and_close(struct utcp_stack *s, struct utcp_conn *c,
                            int err)
{
    if (utcp_state_synchronized(c->state) || c->state == UTCP_SYN_RECEIVED) {
        if (c->state != UTCP_TIME_WAIT)
            utcp__send_rst_conn(s, c);
    }
    /* RFC 9293 3.10.5 ABORT: in SYN-SENT too (fsm.c: SYN_SENT -> CLOSED by
     * ABORT); utcp_close of a SYN-SENT socket uses CLOSE_LISTEN itself. */
    utcp__conn_close(s, c, UTCP_CAUSE_ABORT, err);
}

static void close_listener(struct utcp_stack *s, struct utcp_conn *l)
{
    /* Pending connections never reached the application: reset them. */
    while (l->synq_head) {
        struct utcp_conn *c = l->synq_head;
        reset_and_close(s, c, 0);
    }
    while (l->accq_head) {
        struct utcp_conn *c = l->accq_head;
        reset_and_close(s, c, 0);
    }
    utcp__conn_close(s, l, UTCP_CAUSE_CLOSE_LISTEN, 0);
}

int utcp_close(struct utcp_stack *s, utcp_sock sk)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    switch (c->state) {
    case UTCP_LISTEN:
        slot_release(s, c);
        close_listener(s, c);
        return 0;
    case UTCP_CLOSED:
        slot_release(s, c);
        utcp__conn_close(s, c, UTCP_CAUSE_CLOSE_LISTEN, 0);
        return 0;
    case UTCP_SYN_SENT:
        slot_release(s, c);
        utcp__conn_close(s, c, UTCP_CAUSE_CLOSE_LISTEN, 0);
        return 0;
    default:
        break;
    }
    if (c->opt.linger == 0 || c->rcvq.len > 0) {
        /* linger 0, or RFC 1122 4.2.2.13: unread data is lost, so tell the
         * peer with a RST rather than a FIN. */
        slot_release(s, c);
        reset_and_close(s, c, 0);
        return 0;
    }
    slot_release(s, c);
    if (c->state == UTCP_TIME_WAIT) {
        /* the rest of 2*MSL is kept by a compact record */
        utcp__tw_from_conn(s, c);
        return 0;
    }
    c->rd_shut = true;
    queue_fin(s, c);
    /* The FIN_WAIT_2 timeout of an orphan (as Linux's tcp_fin_timeout)
     * replaces keep-alive, which shares the t_keep slot: answered probes
     * must not keep an orphan alive for ever. */
    if (c->state == UTCP_FIN_WAIT_2 && c->opt.fin_wait2_ms &&
        (c->t_keep == UTCP_TIME_NEVER ||
         c->keep_kind == UTCP_TIMER_KEEPALIVE)) {
        c->keep_kind = UTCP_TIMER_FIN_WAIT2;
        c->t_keep = s->now + UTCP_MS(c->opt.fin_wait2_ms);
        utcp__timer_update(s, c);
    }
    return 0;
}

int utcp_abort(struct utcp_stack *s, utcp_sock sk)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (c->state == UTCP_LISTEN || c->state == UTCP_CLOSED)
        return utcp_close(s, sk);
    slot_release(s, c);
    reset_and_close(s, c, 0);
    return 0;
}

int utcp_sock_error(struct utcp_stack *s, utcp_sock sk)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    int e = c->error;
    c->error = 0;
    return e;
}

static uint32_t readiness(const struct utcp_conn *c)
{
    uint32_t ev = 0;
    if (c->state == UTCP_LISTEN)
        return c->accq_head ? UTCP_EV_ACCEPT : 0;
    if (c->rcvq.len > 0 || c->fin_rcvd || c->reset || c->error || c->rd_shut)
        ev |= UTCP_EV_READABLE;
    if (c->fin_rcvd)
        ev |= UTCP_EV_HUP;
    if (c->error || c->reset)
        ev |= UTCP_EV_ERROR;
    if ((c->state == UTCP_ESTABLISHED || c->state == UTCP_CLOSE_WAIT) &&
        !c->fin_queued && utcp__ring_free(&c->sndq) > 0)
        ev |= UTCP_EV_WRITABLE;
    if (c->state == UTCP_CLOSED || c->state == UTCP_TIME_WAIT)
        ev |= UTCP_EV_CLOSED;
    return ev;
}

int utcp_poll(struct utcp_stack *s, utcp_sock sk)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    return (int)readiness(c);
}

int utcp_next_event(struct utcp_stack *s, utcp_sock *sk, uint32_t *events)
{
    struct utcp_conn *c = s->ev_head;
    if (!c)
        return UTCP_EAGAIN;
    utcp__ev_unlink(s, c);
    *sk = handle_of(s, c);
    *events = readiness(c) | c->ev_edge;
    c->ev_edge = 0;
    return 0;
}

/* What the SYN offers (RFC 7323 3.2, RFC 2018 2): fixed once the
 * connection has started. */
static int set_offer(struct utcp_conn *c, enum utcp_option opt, long v)
{
    if (v != 0 && v != 1)
        return UTCP_EINVAL;
    if (c->state != UTCP_CLOSED && c->state != UTCP_LISTEN)
        return UTCP_EISCONN;
    if (opt == UTCP_OPT_TIMESTAMPS)
        c->opt.no_ts = v == 0;
    else
        c->opt.no_sack = v == 0;
    return 0;
}

int utcp_setopt(struct utcp_stack *s, utcp_sock sk, enum utcp_option opt,
                long v)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    struct utcp_sockopts *o = &c->opt;
    switch (opt) {
    case UTCP_OPT_NODELAY:
        o->nodelay = v != 0;
        if (o->nodelay)
            utcp__output(s, c);
        return 0;
    case UTCP_OPT_KEEPALIVE:
        o->keepalive = v != 0;
        if (o->keepalive) {
            utcp__keepalive_reset(s, c);
            utcp__timer_update(s, c);
        } else if (c->keep_kind == UTCP_TIMER_KEEPALIVE) {
            c->t_keep = UTCP_TIME_NEVER;
            utcp__timer_update(s, c);
        }
        return 0;
    case UTCP_OPT_KEEPIDLE:
        if (v < 1 || v > 0x7fffffffL)
            return UTCP_EINVAL;
        o->keepidle_ms = (uint32_t)v;
        return 0;
    case UTCP_OPT_KEEPINTVL:
        if (v < 1 || v > 0x7fffffffL)
            return UTCP_EINVAL;
        o->keepintvl_ms = (uint32_t)v;
        return 0;
    case UTCP_OPT_KEEPCNT:
        if (v < 1 || v > 255)
            return UTCP_EINVAL;
        o->keepcnt = (uint8_t)v;
        return 0;
    case UTCP_OPT_LINGER:
        if (v != -1 && v != 0)
            return UTCP_EINVAL;
        o->linger = (int8_t)v;
        return 0;
    case UTCP_OPT_SNDBUF:
    case UTCP_OPT_RCVBUF: {
        if (v < 1 || v > (1L << 30))
            return UTCP_EINVAL;
        /* Buffer sizes are fixed once the connection has started. */
        if (c->state != UTCP_CLOSED && c->state != UTCP_LISTEN)
            return UTCP_EISCONN;
        struct utcp_ring *r = opt == UTCP_OPT_SNDBUF ? &c->sndq : &c->rcvq;
        utcp__ring_release(r, &s->buf_alloc);
        utcp__ring_set_cap(r, (uint32_t)v);
        if (opt == UTCP_OPT_SNDBUF)
            o->sndbuf = (uint32_t)v;
        else
            o->rcvbuf = (uint32_t)v;
        return 0;
    }
    case UTCP_OPT_REUSEADDR:
        o->reuseaddr = v != 0;
        return 0;
    case UTCP_OPT_MAXSEG:
        if (v < 64 || v > 65495)
            return UTCP_EINVAL;
        o->maxseg = (uint16_t)v;
        return 0;
    case UTCP_OPT_MSL:
        if (v < 0 || v > 0x7fffffffL)
            return UTCP_EINVAL;
        o->msl_ms = (uint32_t)v;
        return 0;
    case UTCP_OPT_FIN_WAIT2_TIMEOUT:
        if (v < 0 || v > 0x7fffffffL)
            return UTCP_EINVAL;
        o->fin_wait2_ms = (uint32_t)v;
        return 0;
    case UTCP_OPT_SYN_RETRIES:
        if (v < 0 || v > 255)
            return UTCP_EINVAL;
        o->syn_retries = (uint8_t)v;
        return 0;
    case UTCP_OPT_USER_TIMEOUT:
        if (v < 0 || v > 0x7fffffffL)
            return UTCP_EINVAL;
        o->user_timeout_ms = (uint32_t)v;
        return 0;
    case UTCP_OPT_TIMESTAMPS:
    case UTCP_OPT_SELECTIVE_ACKS:
        return set_offer(c, opt, v);
    default:
        return UTCP_ENOPROTOOPT;
    }
}

int utcp_getopt(struct utcp_stack *s, utcp_sock sk, enum utcp_option opt,
                long *v)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (!v)
        return UTCP_EINVAL;
    const struct utcp_sockopts *o = &c->opt;
    switch (opt) {
    case UTCP_OPT_NODELAY: *v = o->nodelay; return 0;
    case UTCP_OPT_KEEPALIVE: *v = o->keepalive; return 0;
    case UTCP_OPT_KEEPIDLE: *v = (long)o->keepidle_ms; return 0;
    case UTCP_OPT_KEEPINTVL: *v = (long)o->keepintvl_ms; return 0;
    case UTCP_OPT_KEEPCNT: *v = o->keepcnt; return 0;
    case UTCP_OPT_LINGER: *v = o->linger; return 0;
    case UTCP_OPT_SNDBUF: *v = (long)o->sndbuf; return 0;
    case UTCP_OPT_RCVBUF: *v = (long)o->rcvbuf; return 0;
    case UTCP_OPT_REUSEADDR: *v = o->reuseaddr; return 0;
    case UTCP_OPT_MAXSEG: *v = c->state == UTCP_CLOSED ? o->maxseg : c->mss; return 0;
    case UTCP_OPT_MSL: *v = (long)o->msl_ms; return 0;
    case UTCP_OPT_FIN_WAIT2_TIMEOUT: *v = (long)o->fin_wait2_ms; return 0;
    case UTCP_OPT_SYN_RETRIES: *v = o->syn_retries; return 0;
    case UTCP_OPT_USER_TIMEOUT: *v = (long)o->user_timeout_ms; return 0;
    case UTCP_OPT_TIMESTAMPS: *v = !o->no_ts; return 0;
    case UTCP_OPT_SELECTIVE_ACKS: *v = !o->no_sack; return 0;
    default: return UTCP_ENOPROTOOPT;
    }
}

int utcp_sockname(struct utcp_stack *s, utcp_sock sk, uint32_t *addr,
                  uint16_t *port)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (addr)
        *addr = c->bound ? c->tuple.laddr : 0;
    if (port)
        *port = c->bound ? c->tuple.lport : 0;
    return 0;
}

int utcp_peername(struct utcp_stack *s, utcp_sock sk, uint32_t *addr,
                  uint16_t *port)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (c->state == UTCP_CLOSED || c->state == UTCP_LISTEN)
        return UTCP_ENOTCONN;
    if (addr)
        *addr = c->tuple.raddr;
    if (port)
        *port = c->tuple.rport;
    return 0;
}

static void fill_info(const struct utcp_conn *c, struct utcp_info *i)
{
    memset(i, 0, sizeof *i);
    i->state = c->state;
    i->conn_id = c->id;
    i->local_addr = c->tuple.laddr;
    i->remote_addr = c->tuple.raddr;
    i->local_port = c->tuple.lport;
    i->remote_port = c->tuple.rport;
    i->snd_una = c->snd_una;
    i->snd_nxt = c->snd_nxt;
    i->snd_wnd = c->snd_wnd;
    i->rcv_nxt = c->rcv_nxt;
    i->rcv_wnd = seq_gt(c->rcv_adv, c->rcv_nxt)
                     ? (uint32_t)seq_diff(c->rcv_adv, c->rcv_nxt)
                     : 0;
    i->iss = c->iss;
    i->irs = c->irs;
    i->mss = c->mss;
    i->cwnd = c->cwnd;
    i->ssthresh = c->ssthresh;
    i->srtt_us = c->srtt;
    i->rttvar_us = c->rttvar;
    i->rto_us = c->rto;
    i->send_queue = c->sndq.len;
    i->recv_queue = c->rcvq.len;
    i->retransmits = c->retransmits;
    i->backoff = c->rtx_count;
    i->state_since = c->state_since;
    utcp_time when;
    i->timer = utcp__conn_timer(c, &when);
    i->timer_expires = when;
    i->snd_wscale = c->snd_wscale;
    i->rcv_wscale = c->rcv_wscale;
    i->sack_ok = c->sack_ok;
    i->ts_ok = c->ts_ok;
    i->cc = (uint8_t)utcp__cc_kind(c->cc);
    i->min_rtt_us = c->rack.min_rtt;
    i->pacing_rate = utcp__pacing_rate(c);
    utcp__bbr_info(c, &i->bbr_mode, &i->btl_bw, &i->bbr_rtprop_us);
}

int utcp_getinfo(struct utcp_stack *s, utcp_sock sk, struct utcp_info *info)
{
    struct utcp_conn *c = lookup(s, sk);
    if (!c)
        return UTCP_EBADF;
    if (!info)
        return UTCP_EINVAL;
    fill_info(c, info);
    return 0;
}

void utcp_foreach_conn(struct utcp_stack *s,
                       void (*fn)(void *ctx, utcp_sock sk,
                                  const struct utcp_info *info),
                       void *ctx)
{
    struct utcp_info info;
    /* listeners */
    size_t b = 0;
    struct utcp_hnode *n = NULL;
    while ((n = utcp__ht_iter(&s->listeners, &b, n)) != NULL) {
        struct utcp_conn *c = UTCP_CONTAINER_OF(n, struct utcp_conn, hnode);
        fill_info(c, &info);
        fn(ctx, c->sock_idx ? handle_of(s, c) : 0, &info);
    }
    b = 0;
    n = NULL;
    while ((n = utcp__ht_iter(&s->conns, &b, n)) != NULL) {
        struct utcp_conn *c = UTCP_CONTAINER_OF(n, struct utcp_conn, hnode);
        fill_info(c, &info);
        fn(ctx, c->sock_idx ? handle_of(s, c) : 0, &info);
    }
    /* TIME_WAIT records: what they keep */
    for (const struct utcp_twrec *r = utcp__twt_first(&s->tw); r;
         r = utcp__twt_next(&s->tw, r)) {
        memset(&info, 0, sizeof info);
        info.state = UTCP_TIME_WAIT;
        info.conn_id = r->id;
        info.local_addr = r->key.laddr;
        info.remote_addr = r->key.raddr;
        info.local_port = r->key.lport;
        info.remote_port = r->key.rport;
        info.snd_nxt = r->snd_nxt;
        info.rcv_nxt = r->rcv_nxt;
        info.timer = UTCP_TIMER_TIME_WAIT;
        info.timer_expires = r->expires;
        info.state_since = r->expires - UTCP_MS(r->dur_ms);
        fn(ctx, 0, &info);
    }
}
