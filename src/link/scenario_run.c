/*
 * Runs a parsed scenario (scenario.h) on the simulated network: each socket
 * is a small blocking application; every byte received is checked against
 * the sender's pattern; expectations are checked against the record. Must
 * never do I/O or read a clock: the same script and seed give the same run.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link/filter.h"
#include "link/scenario.h"
#include "utcp/wire.h"

#define LANE_MAX 64
#define HOUR_US (UINT64_C(3600) * 1000000u)

struct rsock {
    utcp_sock h;
    bool exists, released, gone;   /* gone: its node restarted */
    bool has_conn;
    uint32_t conn_id;              /* as recorded (restart base added) */
    bool keys, bad_stream;
    uint32_t tx_key, rx_key;
    uint64_t tx_total, rx_total;
    bool eof, auto_rx;
    int last_err;
    size_t lane[LANE_MAX];         /* statements queued on this socket */
    size_t lane_head, lane_len;
    bool started;                  /* the head op was begun */
    uint64_t left, mark;           /* its progress */
};

struct runner {
    const struct scn *s;
    struct scn_result *r;
    struct utcp_sim *net;
    struct rsock sk[SCN_MAX_SOCKS];
    uint32_t id_base[SCN_NODES];
    uint8_t buf[16384];
};

/* ---- the stream pattern ---- */

uint32_t utcp__scn_stream_key(uint32_t saddr, uint16_t sport, uint32_t daddr,
                        uint16_t dport)
{
    uint32_t h = 2166136261u;
    uint32_t v[4] = {saddr, sport, daddr, dport};
    for (int i = 0; i < 4; i++) {
        h ^= v[i];
        h *= 16777619u;
        h ^= h >> 13;
    }
    return h;
}

uint8_t utcp__scn_pattern_byte(uint32_t key, uint64_t i)
{
    uint32_t x = key ^ ((uint32_t)(i >> 2) * 0x9E3779B1u);
    x ^= x >> 15;
    x *= 0x2c1b3c6du;
    x ^= x >> 12;
    return (uint8_t)(x >> ((i & 3u) * 8u));
}

/* ---- failures ---- */

static void failf(struct runner *x, unsigned line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void failf(struct runner *x, unsigned line, const char *fmt, ...)
{
    struct scn_result *r = x->r;
    r->nfail_total++;
    if (r->nfail == SCN_MAX_FAILURES)
        return;
    struct scn_failure *f = &r->fail[r->nfail++];
    f->line = line;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(f->msg, sizeof f->msg, fmt, ap);
    va_end(ap);
}

static const char *sname(const struct runner *x, int sock, char *buf,
                         size_t cap)
{
    const struct scn_sock_name *n = &x->s->socks[sock];
    snprintf(buf, cap, "%c.%s", n->node ? 'B' : 'A', n->name);
    return buf;
}

static void note(struct runner *x, unsigned node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct runner *x, unsigned node, const char *fmt, ...)
{
    char buf[160];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    utcp_sim_note(x->net, node, buf);
}

static struct utcp_stack *stack_of(struct runner *x, unsigned node)
{
    return utcp_sim_stack(x->net, node);
}

/* ---- reading and checking the stream ---- */

static void learn_keys(struct runner *x, unsigned node, struct rsock *k)
{
    uint32_t la = 0, ra = 0;
    uint16_t lp = 0, rp = 0;
    struct utcp_stack *st = stack_of(x, node);
    if (k->keys || utcp_sockname(st, k->h, &la, &lp) < 0 ||
        utcp_peername(st, k->h, &ra, &rp) < 0 || rp == 0)
        return;
    k->tx_key = utcp__scn_stream_key(la, lp, ra, rp);
    k->rx_key = utcp__scn_stream_key(ra, rp, la, lp);
    k->keys = true;
}

static void learn_conn(struct runner *x, unsigned node, struct rsock *k)
{
    struct utcp_info info;
    if (utcp_getinfo(stack_of(x, node), k->h, &info) == 0 && info.conn_id) {
        k->conn_id = info.conn_id + x->id_base[node];
        k->has_conn = true;
    }
}

static void check_bytes(struct runner *x, int sock, struct rsock *k,
                        const uint8_t *b, size_t n, unsigned line)
{
    if (k->bad_stream)
        return;
    for (size_t i = 0; i < n; i++) {
        uint8_t want = utcp__scn_pattern_byte(k->rx_key, k->rx_total + i);
        if (b[i] != want) {
            char nm[48];
            failf(x, line, "%s: byte %" PRIu64 " of the stream received is "
                           "0x%02x, the sender sent 0x%02x",
                  sname(x, sock, nm, sizeof nm), k->rx_total + i, b[i], want);
            k->bad_stream = true;
            return;
        }
    }
}

/* Reads what is there, at most limit bytes. Returns 0 or an error. */
static int read_avail(struct runner *x, int sock, uint64_t limit,
                      unsigned line)
{
    struct rsock *k = &x->sk[sock];
    unsigned node = x->s->socks[sock].node;
    struct utcp_stack *st = stack_of(x, node);
    while (limit > 0 && !k->eof) {
        size_t want = limit < sizeof x->buf ? (size_t)limit : sizeof x->buf;
        long r = utcp_recv(st, k->h, x->buf, want);
        if (r == UTCP_EAGAIN)
            return 0;
        if (r < 0) {
            k->last_err = (int)r;
            return (int)r;
        }
        if (r == 0) {
            k->eof = true;
            return 0;
        }
        learn_keys(x, node, k);
        check_bytes(x, sock, k, x->buf, (size_t)r, line);
        k->rx_total += (uint64_t)r;
        x->r->bytes_delivered += (uint64_t)r;
        limit -= (uint64_t)r;
    }
    return 0;
}

/* Queues pattern bytes until k->left is 0 or the buffer is full. */
static int write_some(struct runner *x, unsigned node, struct rsock *k)
{
    struct utcp_stack *st = stack_of(x, node);
    learn_keys(x, node, k);
    while (k->left > 0) {
        size_t n = k->left < sizeof x->buf ? (size_t)k->left : sizeof x->buf;
        for (size_t i = 0; i < n; i++)
            x->buf[i] = utcp__scn_pattern_byte(k->tx_key, k->tx_total + i);
        long r = utcp_send(st, k->h, x->buf, n);
        if (r == UTCP_EAGAIN || r == 0)
            return 0; /* no room now: wait for the next event */
        if (r < 0)
            return (int)r;
        k->tx_total += (uint64_t)r;
        k->left -= (uint64_t)r;
    }
    return 0;
}

/* ---- socket operations ---- */

enum { OP_DONE, OP_BLOCKED };

/* The end of an operation with result rc (0 or an error): checks it
 * against `=> RESULT`. */
static int finish(struct runner *x, const struct scn_stmt *st, int rc,
                  const char *call)
{
    char nm[48];
    struct rsock *k = &x->sk[st->sock];
    if (rc < 0) {
        k->last_err = rc;
        note(x, st->node, "%s = %s", call, utcp_errname(rc));
    }
    int want = st->has_want ? st->want : 0;
    if (rc == want)
        return OP_DONE;
    sname(x, st->sock, nm, sizeof nm);
    if (rc == 0)
        failf(x, st->line, "%s %s succeeded, expected %s", nm, call,
              utcp_errname(want));
    else if (st->has_want)
        failf(x, st->line, "%s %s failed with %s, expected %s", nm, call,
              utcp_errname(rc), utcp_errname(want));
    else
        failf(x, st->line, "%s %s failed: %s (%s)", nm, call,
              utcp_errname(rc), utcp_strerror(rc));
    return OP_DONE;
}

/* Forgets a socket's previous incarnation, keeping its queue. */
static void reset_sock(struct rsock *k)
{
    struct rsock keep = *k;
    memset(k, 0, sizeof *k);
    memcpy(k->lane, keep.lane, sizeof k->lane);
    k->lane_head = keep.lane_head;
    k->lane_len = keep.lane_len;
    k->started = keep.started;
}

/* A fresh socket for a name that has none (or whose last one is gone). */
static int ensure_socket(struct runner *x, const struct scn_stmt *st)
{
    struct rsock *k = &x->sk[st->sock];
    if (k->exists && !k->released && !k->gone)
        return 0;
    reset_sock(k);
    int rc = utcp_socket(stack_of(x, st->node), &k->h);
    k->exists = rc == 0;
    return rc;
}

static bool synchronized(int state)
{
    return state != UTCP_CLOSED && state != UTCP_LISTEN &&
           state != UTCP_SYN_SENT && state != UTCP_SYN_RECEIVED;
}

static int op_connect(struct runner *x, const struct scn_stmt *st,
                      struct rsock *k)
{
    struct utcp_stack *s = stack_of(x, st->node);
    char call[48];
    snprintf(call, sizeof call, "connect(%c:%u)", st->mode ? 'B' : 'A',
             (unsigned)st->n);
    if (!k->started) {
        note(x, st->node, "%s", call);
        int rc = ensure_socket(x, st);
        if (rc == 0 && st->n2)
            rc = utcp_bind(s, k->h, 0, (uint16_t)st->n2);
        if (rc == 0)
            rc = utcp_connect(s, k->h, utcp_sim_addr(x->net, (unsigned)st->mode),
                              (uint16_t)st->n);
        if (rc != UTCP_EINPROGRESS)
            return finish(x, st, rc, call);
        learn_conn(x, st->node, k);
        k->started = true;
        if (st->nowait)
            return finish(x, st, 0, call);
    }
    struct utcp_info info;
    if (utcp_getinfo(s, k->h, &info) == 0 && !synchronized(info.state) &&
        info.state != UTCP_CLOSED)
        return OP_BLOCKED;
    if (utcp_getinfo(s, k->h, &info) == 0 && synchronized(info.state)) {
        learn_keys(x, st->node, k);
        return finish(x, st, 0, call);
    }
    int e = utcp_sock_error(s, k->h);
    return finish(x, st, e ? e : UTCP_ECONNABORTED, call);
}

static int op_accept(struct runner *x, const struct scn_stmt *st,
                     struct rsock *k)
{
    struct rsock *l = &x->sk[st->sock2];
    struct utcp_stack *s = stack_of(x, st->node);
    if (!l->exists || l->released || l->gone)
        return finish(x, st, UTCP_EBADF, "accept()");
    utcp_sock h;
    int rc = utcp_accept(s, l->h, &h);
    if (rc == UTCP_EAGAIN && !st->nowait)
        return OP_BLOCKED;
    if (rc < 0)
        return finish(x, st, rc, "accept()");
    reset_sock(k);
    k->h = h;
    k->exists = true;
    learn_conn(x, st->node, k);
    learn_keys(x, st->node, k);
    note(x, st->node, "accept()");
    return finish(x, st, 0, "accept()");
}

static int op_recv(struct runner *x, const struct scn_stmt *st,
                   struct rsock *k)
{
    if (!k->started) {
        k->started = true;
        k->mark = k->rx_total;
        if (st->mode == SCN_RECV_AUTO) {
            k->auto_rx = true;
            note(x, st->node, "recv() as data arrives");
        }
    }
    uint64_t limit = UINT64_MAX;
    if (st->mode == SCN_RECV_N)
        limit = st->n - (k->rx_total - k->mark);
    int rc = read_avail(x, st->sock, limit, st->line);
    if (rc < 0)
        return finish(x, st, rc, "recv()");
    uint64_t got = k->rx_total - k->mark;
    bool done = st->mode == SCN_RECV_NOW || st->mode == SCN_RECV_AUTO ||
                k->eof || (st->mode == SCN_RECV_N && got >= st->n);
    if (!done)
        return OP_BLOCKED;
    if (st->mode != SCN_RECV_AUTO)
        note(x, st->node, "recv() = %" PRIu64 "%s", got,
             k->eof ? ", EOF" : "");
    if (st->mode == SCN_RECV_N && got < st->n) {
        char nm[48];
        failf(x, st->line, "%s recv %" PRIu64 ": end of stream after %" PRIu64
                           " bytes",
              sname(x, st->sock, nm, sizeof nm), st->n, got);
    }
    return finish(x, st, 0, "recv()");
}

static int op_send(struct runner *x, const struct scn_stmt *st,
                   struct rsock *k)
{
    char call[48];
    snprintf(call, sizeof call, "send(%" PRIu64 ")", st->n);
    if (!k->started) {
        k->started = true;
        k->left = st->n;
        note(x, st->node, "%s", call);
    }
    int rc = write_some(x, st->node, k);
    if (rc < 0)
        return finish(x, st, rc, call);
    return k->left ? OP_BLOCKED : finish(x, st, 0, call);
}

static const char *const opt_names[] = {
#define UTCP_X_(name, help) #name,
    UTCP_OPTIONS(UTCP_X_)
#undef UTCP_X_
};

/* The operations that complete at once. */
static int op_now(struct runner *x, const struct scn_stmt *st,
                  struct rsock *k)
{
    struct utcp_stack *s = stack_of(x, st->node);
    char call[64];
    int rc = 0;
    switch (st->kind) {
    case SCN_LISTEN:
        snprintf(call, sizeof call, "listen(%u)", (unsigned)st->n);
        note(x, st->node, "%s", call);
        rc = ensure_socket(x, st);
        if (rc == 0)
            rc = utcp_bind(s, k->h, 0, (uint16_t)st->n);
        if (rc == 0)
            rc = utcp_listen(s, k->h, (int)st->n2);
        if (rc == 0)
            learn_conn(x, st->node, k);
        break;
    case SCN_BIND:
        snprintf(call, sizeof call, "bind(%u)", (unsigned)st->n);
        note(x, st->node, "%s", call);
        rc = ensure_socket(x, st);
        if (rc == 0)
            rc = utcp_bind(s, k->h, 0, (uint16_t)st->n);
        break;
    case SCN_SHUTDOWN:
        snprintf(call, sizeof call, "shutdown(%s)",
                 st->mode == UTCP_SHUT_RD ? "RD"
                 : st->mode == UTCP_SHUT_WR ? "WR" : "RDWR");
        note(x, st->node, "%s", call);
        rc = utcp_shutdown(s, k->h, st->mode);
        break;
    case SCN_CLOSE:
    case SCN_ABORT:
        snprintf(call, sizeof call, st->kind == SCN_CLOSE ? "close()"
                                                          : "abort()");
        note(x, st->node, "%s", call);
        if (!k->has_conn)
            learn_conn(x, st->node, k);
        rc = st->kind == SCN_CLOSE ? utcp_close(s, k->h) : utcp_abort(s, k->h);
        k->released = true;
        k->auto_rx = false;
        break;
    default: /* SCN_SET */
        snprintf(call, sizeof call, "setopt(%s, %ld)", opt_names[st->mode],
                 st->value);
        note(x, st->node, "%s", call);
        rc = ensure_socket(x, st);
        if (rc == 0)
            rc = utcp_setopt(s, k->h, (enum utcp_option)st->mode, st->value);
        break;
    }
    return finish(x, st, rc, call);
}

static int op_step(struct runner *x, const struct scn_stmt *st)
{
    struct rsock *k = &x->sk[st->sock];
    bool needs_socket = st->kind != SCN_LISTEN && st->kind != SCN_BIND &&
                        st->kind != SCN_CONNECT && st->kind != SCN_ACCEPT &&
                        st->kind != SCN_SET;
    if (needs_socket && (!k->exists || k->gone || k->released))
        return finish(x, st, UTCP_EBADF, utcp__scn_kind_name(st->kind));
    switch (st->kind) {
    case SCN_CONNECT:
        return op_connect(x, st, k);
    case SCN_ACCEPT:
        return op_accept(x, st, k);
    case SCN_RECV:
        return op_recv(x, st, k);
    case SCN_SEND:
        return op_send(x, st, k);
    default:
        return op_now(x, st, k);
    }
}

/* Moves every socket's queue as far as it goes; runs the auto readers. */
static void service(struct runner *x)
{
    for (size_t i = 0; i < x->s->nsocks; i++) {
        struct rsock *k = &x->sk[i];
        while (k->lane_len) {
            const struct scn_stmt *st = &x->s->st[k->lane[k->lane_head]];
            if (op_step(x, st) == OP_BLOCKED)
                break;
            k->lane_head = (k->lane_head + 1) % LANE_MAX;
            k->lane_len--;
            k->started = false;
        }
        if (k->auto_rx && k->exists && !k->released && !k->gone && !k->eof &&
            read_avail(x, (int)i, UINT64_MAX, x->s->socks[i].line) < 0)
            k->auto_rx = false;
    }
}

/* ---- the clock ---- */

/* Runs events up to t, the applications acting between them. */
static void advance(struct runner *x, uint64_t t)
{
    while (utcp_sim_step(x->net, t))
        service(x);
    if (t > utcp_sim_now(x->net))
        utcp_sim_run_until(x->net, t);
    service(x);
}

/* Runs until nothing is in flight and no timer is due by limit. */
static bool run_idle(struct runner *x, uint64_t limit)
{
    while (utcp_sim_step(x->net, limit))
        service(x);
    return utcp_sim_run_idle(x->net, limit);
}

/* ---- set-up and wire statements ---- */

static void apply_stack(struct utcp_config *c, const struct scn_kv *kv)
{
    uint32_t ms = (uint32_t)(kv->v / 1000u);
    switch ((enum scn_stack_key)kv->key) {
    case SCN_SK_MSL: c->msl_ms = ms; break;
    case SCN_SK_RTO_MIN: c->rto_min_ms = ms; break;
    case SCN_SK_RTO_MAX: c->rto_max_ms = ms; break;
    case SCN_SK_RTO_INITIAL: c->rto_initial_ms = ms; break;
    case SCN_SK_DELACK: c->delack_ms = ms; break;
    case SCN_SK_FIN_WAIT2: c->fin_wait2_ms = ms; break;
    case SCN_SK_SNDBUF: c->sndbuf = (uint32_t)kv->v; break;
    case SCN_SK_RCVBUF: c->rcvbuf = (uint32_t)kv->v; break;
    case SCN_SK_MTU: c->mtu = (uint16_t)(kv->v > 65535 ? 65535 : kv->v); break;
    case SCN_SK_SYN_RETRIES: c->syn_retries = (uint8_t)kv->v; break;
    case SCN_SK_SYNACK_RETRIES: c->synack_retries = (uint8_t)kv->v; break;
    case SCN_SK_DATA_RETRIES: c->data_retries = (uint8_t)kv->v; break;
    case SCN_SK_CC: c->congestion_control = (uint8_t)kv->v; break;
    case SCN_SK_COUNT: break;
    }
}

static void apply_link(struct utcp_filter_dir *d, const struct scn_kv *kv)
{
    uint32_t ppm = (uint32_t)kv->v;
    switch ((enum scn_link_key)kv->key) {
    case SCN_LK_DELAY: d->delay_us = kv->v; break;
    case SCN_LK_JITTER: d->jitter_us = kv->v; break;
    case SCN_LK_LOSS: d->loss_ppm = ppm; break;
    case SCN_LK_BURST:
        d->ge_p_ppm = ppm;
        d->ge_r_ppm = (uint32_t)kv->v2;
        if (!d->ge_loss_bad_ppm && !d->ge_loss_good_ppm)
            d->ge_loss_bad_ppm = UTCP_PPM;
        break;
    case SCN_LK_BURST_LOSS:
        d->ge_loss_good_ppm = ppm;
        d->ge_loss_bad_ppm = (uint32_t)kv->v2;
        break;
    case SCN_LK_DUP: d->dup_ppm = ppm; break;
    case SCN_LK_DUP_GAP: d->dup_gap_us = kv->v; break;
    case SCN_LK_REORDER: d->reorder_ppm = ppm; break;
    case SCN_LK_REORDER_DELAY: d->reorder_us = kv->v; break;
    case SCN_LK_CORRUPT: d->corrupt_ppm = ppm; break;
    case SCN_LK_LINK_MTU: d->mtu = (uint32_t)kv->v; break;
    case SCN_LK_RATE: d->rate_bps = kv->v; break;
    case SCN_LK_QUEUE:
        d->queue_bytes = kv->v > UINT32_MAX ? UINT32_MAX : (uint32_t)kv->v;
        break;
    case SCN_LK_CLEAR: memset(d, 0, sizeof *d); break;
    case SCN_LK_COUNT: break;
    }
}

static void do_link(struct utcp_filter *f, const struct scn_stmt *st)
{
    for (int d = 0; d < 2; d++)
        if (st->dirs & (1 << d))
            for (size_t i = 0; i < st->nkv; i++)
                apply_link(&f->dir[d], &st->kv[i]);
}

static void config(const struct scn *s, const struct scn_run_opts *o,
                   struct utcp_sim_config *cfg)
{
    utcp_sim_config_init(cfg);
    cfg->seed = o && o->seed_set ? o->seed : s->has_seed ? s->seed : 1;
    for (unsigned n = 0; n < SCN_NODES; n++) {
        cfg->node_stack_set[n] = true;
        cfg->node_stack[n] = cfg->stack;
    }
    /* Links and stack lines before the first action shape the network
     * as it is created. */
    for (size_t i = 0; i < s->n; i++) {
        const struct scn_stmt *st = &s->st[i];
        if (st->kind == SCN_STACK) {
            for (unsigned n = 0; n < SCN_NODES; n++)
                if (st->n & (1u << n))
                    for (size_t k = 0; k < st->nkv; k++)
                        apply_stack(&cfg->node_stack[n], &st->kv[k]);
        } else if (st->kind == SCN_LINK && st->at_mode == SCN_AT_NONE) {
            do_link(&cfg->filter, st);
        } else if (st->kind != SCN_SEED && st->kind != SCN_TITLE) {
            break;
        }
    }
}

static void do_rule(struct runner *x, const struct scn_stmt *st)
{
    if (utcp_filter_add_rule(utcp_sim_filter(x->net), &st->rule) < 0)
        failf(x, st->line, "too many wire rules (at most %d)",
              UTCP_FILTER_MAX_RULES);
}

static void do_restart(struct runner *x, const struct scn_stmt *st)
{
    note(x, st->node, "(%c restarts)", st->node ? 'B' : 'A');
    if (utcp_sim_restart(x->net, st->node) < 0) {
        failf(x, st->line, "cannot restart %c", st->node ? 'B' : 'A');
        return;
    }
    x->id_base[st->node] += UTCP_SIM_RESTART_IDS;
    for (size_t i = 0; i < x->s->nsocks; i++)
        if (x->s->socks[i].node == st->node) {
            x->sk[i].gone = true;
            x->sk[i].auto_rx = false;
            x->sk[i].lane_len = 0; /* the application died with it */
        }
}

/* ---- crafted segments ---- */

/* A segment the node's stack never sent: ports from a socket or the
 * script, sequence number absolute or after the socket's SND.NXT. */
static void do_inject(struct runner *x, const struct scn_stmt *st)
{
    unsigned peer = st->node ? 0u : 1u;
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = utcp_sim_addr(x->net, st->node);
    ip.dst = utcp_sim_addr(x->net, peer);
    ip.ttl = 64;
    ip.id = 0x7777;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = (uint16_t)st->n;
    th.dport = (uint16_t)st->n2;
    th.seq = st->seq;
    th.ack = st->ack;
    th.flags = st->flags;
    th.win = (st->flags & UTCP_TH_RST) ? 0 : 8192;
    if (st->flags & UTCP_TH_SYN) {
        th.opts.present = UTCP_OPT_MSS;
        th.opts.mss = 1460;
    }
    if (st->sock >= 0) {
        struct rsock *k = &x->sk[st->sock];
        struct utcp_stack *s = stack_of(x, st->node);
        uint32_t a;
        uint16_t lp = 0, rp = 0;
        struct utcp_info info;
        if (!k->exists || utcp_sockname(s, k->h, &a, &lp) < 0 ||
            utcp_peername(s, k->h, &a, &rp) < 0 ||
            utcp_getinfo(s, k->h, &info) < 0) {
            failf(x, st->line, "inject: the socket has no connection");
            return;
        }
        th.sport = st->n ? th.sport : lp;
        th.dport = st->n2 ? th.dport : rp;
        if (st->seq_rel)
            th.seq = info.snd_nxt + st->seq;
    }
    uint8_t pkt[128];
    size_t len = utcp_ipv4_tcp_build(pkt, sizeof pkt, &ip, &th, NULL, 0);
    char fl[8] = "";
    size_t used = 0;
    static const char names[] = "FSRPAU";
    for (unsigned b = 0; b < 6; b++)
        if (th.flags & (1u << b))
            fl[used++] = names[b];
    note(x, st->node, "(injected: %s seq %" PRIu32 ", port %u -> %u)", fl,
         th.seq, (unsigned)th.sport, (unsigned)th.dport);
    if (len == 0 || utcp_sim_inject(x->net, st->node, pkt, len) < 0)
        failf(x, st->line, "cannot inject the segment");
}

/* A copy of the last data segment the node sent: an old duplicate. */
static void do_replay(struct runner *x, const struct scn_stmt *st)
{
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(x->net, &ev);
    for (size_t i = n; i-- > 0;) {
        const struct utcp_sim_event *e = &ev[i];
        struct utcp_ipv4 ip;
        struct utcp_tcp th;
        if (e->kind != UTCP_SIM_SEG || e->node != st->node ||
            e->len > 2048 || utcp_ipv4_parse(e->pkt, e->len, &ip) != UTCP_WIRE_OK ||
            utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true,
                           &th) != UTCP_WIRE_OK ||
            th.payload_len == 0)
            continue;
        uint8_t copy[2048];
        size_t len = e->len;
        memcpy(copy, e->pkt, len);
        note(x, st->node, "(old duplicate of its data, seq %" PRIu32 ")",
             th.seq);
        if (utcp_sim_inject(x->net, st->node, copy, len) < 0)
            failf(x, st->line, "cannot replay the segment");
        return;
    }
    failf(x, st->line, "%c sent no data segment to replay",
          st->node ? 'B' : 'A');
}

struct stat_ctx {
    struct runner *x;
    unsigned node;
};

static void stat_one(void *ctx, utcp_sock sk, const struct utcp_info *i)
{
    struct stat_ctx *c = ctx;
    (void)sk;
    uint64_t age = utcp_sim_now(c->x->net) - i->state_since;
    note(c->x, c->node, "stat: %s for %" PRIu64 ".%03" PRIu64 " s",
         utcp_state_name(i->state), age / 1000000u, age / 1000u % 1000u);
}

/* Notes each connection of the node with its state and age (utcp stat). */
static void do_stat(struct runner *x, const struct scn_stmt *st)
{
    struct stat_ctx c = {x, st->node};
    utcp_foreach_conn(stack_of(x, st->node), stat_one, &c);
}

/* ---- expectations ---- */

static bool count_ok(int cmp, uint64_t got, uint64_t want)
{
    return cmp == SCN_CMP_GE ? got >= want
           : cmp == SCN_CMP_LE ? got <= want : got == want;
}

static const char *cmp_text(int cmp)
{
    return cmp == SCN_CMP_GE ? "at least " : cmp == SCN_CMP_LE ? "at most "
                                                               : "";
}

/* The state of a socket's connection now, from the record. */
static int conn_state(struct runner *x, unsigned node, const struct rsock *k)
{
    if (!k->has_conn)
        return UTCP_CLOSED;
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(x->net, &ev);
    for (size_t i = n; i-- > 0;)
        if (ev[i].kind == UTCP_SIM_STATE && ev[i].node == node &&
            ev[i].conn_id == k->conn_id)
            return ev[i].new_state;
    return UTCP_CLOSED;
}

static bool state_reached_by(struct runner *x, unsigned node,
                             const struct rsock *k, int state, uint64_t by)
{
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(x->net, &ev);
    for (size_t i = 0; i < n && ev[i].t <= by; i++)
        if (ev[i].kind == UTCP_SIM_STATE && ev[i].node == node &&
            ev[i].conn_id == k->conn_id && ev[i].new_state == state)
            return true;
    return false;
}

static bool segment_matches(const struct utcp_sim_event *e,
                            const struct utcp_filter_match *m)
{
    struct utcp__filter_pkt info;
    utcp__filter_classify(e->pkt, e->len, &info);
    return utcp__filter_matches(m, e->node == 0 ? 0 : 1, &info);
}

static uint64_t count_events(struct runner *x, const struct scn_stmt *st)
{
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(x->net, &ev);
    uint64_t c = 0;
    for (size_t i = 0; i < n; i++) {
        const struct utcp_sim_event *e = &ev[i];
        if (e->node != st->node)
            continue;
        switch (st->kind) {
        case SCN_EXP_SENT:
        case SCN_EXP_LOST:
            if (e->kind == UTCP_SIM_SEG &&
                (st->kind == SCN_EXP_SENT || e->verdict.drop) &&
                segment_matches(e, &st->rule.match))
                c++;
            break;
        case SCN_EXP_RETRANSMITTED:
            c += e->kind == UTCP_SIM_SEG && e->retransmit;
            break;
        case SCN_EXP_TIMER_SET:
            c += e->kind == UTCP_SIM_TIMER_SET && e->timer == st->sock2;
            break;
        default: /* SCN_EXP_TIMER_FIRED */
            c += e->kind == UTCP_SIM_TIMER && e->timer == st->sock2;
            break;
        }
    }
    return c;
}

/* Compares a recorded path with an expected one, ignoring case and
 * '-' for '_'. */
static bool path_eq(const char *got, const char *want)
{
    for (;; got++, want++) {
        char a = *got, b = *want;
        if (b >= 'a' && b <= 'z')
            b = (char)(b - 'a' + 'A');
        if (b == '-')
            b = '_';
        if (a != b)
            return false;
        if (!a)
            return true;
    }
}

static void exp_clean(struct runner *x, const struct scn_stmt *st)
{
    if (utcp_sim_illegal_transitions(x->net))
        failf(x, st->line, "%" PRIu64 " state changes not in the transition "
                           "table",
              utcp_sim_illegal_transitions(x->net));
    for (unsigned node = 0; node < SCN_NODES; node++) {
        uint32_t ids[256];
        size_t n = utcp_sim_conn_ids(x->net, node, ids, 256);
        for (size_t i = 0; i < n && i < 256; i++) {
            struct rsock k = {.has_conn = true, .conn_id = ids[i]};
            int s = conn_state(x, node, &k);
            if (s != UTCP_CLOSED)
                failf(x, st->line, "not clean: %c's connection %zu is in %s",
                      node ? 'B' : 'A', i + 1, utcp_state_name(s));
        }
        struct utcp_counters c;
        utcp_get_counters(stack_of(x, node), &c);
        if (c.ConnsAlloc != c.ConnsFree)
            failf(x, st->line, "not clean: %c allocated %" PRIu64
                               " connection records and freed %" PRIu64,
                  node ? 'B' : 'A', c.ConnsAlloc, c.ConnsFree);
    }
}

static void exp_sock(struct runner *x, const struct scn_stmt *st)
{
    struct rsock *k = &x->sk[st->sock];
    char nm[48];
    sname(x, st->sock, nm, sizeof nm);
    if (st->kind == SCN_EXP_STATE) {
        int s = conn_state(x, st->node, k);
        if (s != st->mode)
            failf(x, st->line, "%s is in %s, expected %s", nm,
                  utcp_state_name(s), utcp_state_name(st->mode));
    } else if (st->kind == SCN_EXP_RECEIVED) {
        if (k->rx_total != st->n || (st->eof && !k->eof))
            failf(x, st->line, "%s received %" PRIu64 " bytes%s, expected %"
                               PRIu64 "%s",
                  nm, k->rx_total, k->eof ? " and EOF" : "", st->n,
                  st->eof ? " and EOF" : "");
    } else { /* SCN_EXP_ERROR */
        int e = 0;
        if (k->exists && !k->released && !k->gone)
            e = utcp_sock_error(stack_of(x, st->node), k->h);
        if (e == 0 || e == UTCP_EBADF)
            e = k->last_err;
        else
            k->last_err = e;
        if (e != st->want)
            failf(x, st->line, "%s error is %s, expected %s", nm,
                  e ? utcp_errname(e) : "none",
                  st->want ? utcp_errname(st->want) : "none");
    }
}

/* Expectations checked where they stand in the script. */
static void exp_now(struct runner *x, const struct scn_stmt *st)
{
    if (st->kind == SCN_EXP_CLEAN) {
        exp_clean(x, st);
    } else if (st->kind == SCN_EXP_STATE && st->n != UINT64_MAX) {
        return; /* `by`: at the end */
    } else if (st->kind == SCN_EXP_PATH) {
        return; /* at the end */
    } else if (st->sock >= 0) {
        exp_sock(x, st);
    } else if (st->kind == SCN_EXP_CONNECTIONS) {
        uint32_t ids[1024]; /* dedup needs them stored */
        uint64_t c = utcp_sim_conn_ids(x->net, st->node, ids, 1024);
        if (!count_ok(st->mode, c, st->n))
            failf(x, st->line, "%c has had %" PRIu64 " connections, expected "
                               "%s%" PRIu64,
                  st->node ? 'B' : 'A', c, cmp_text(st->mode), st->n);
    } else {
        uint64_t c = count_events(x, st);
        if (!count_ok(st->mode, c, st->n))
            failf(x, st->line, "%c %s %" PRIu64 ", expected %s%" PRIu64,
                  st->node ? 'B' : 'A', utcp__scn_kind_name(st->kind) + 7, c,
                  cmp_text(st->mode), st->n);
    }
}

/* Expectations about the whole run: paths, states reached by a time. */
static void exp_end(struct runner *x, const struct scn_stmt *st)
{
    struct rsock *k = &x->sk[st->sock];
    char nm[48], path[512];
    sname(x, st->sock, nm, sizeof nm);
    if (st->kind == SCN_EXP_STATE && st->n != UINT64_MAX) {
        if (!state_reached_by(x, st->node, k, st->mode, st->n))
            failf(x, st->line, "%s did not reach %s by %" PRIu64 ".%03u ms",
                  nm, utcp_state_name(st->mode), st->n / 1000u,
                  (unsigned)(st->n % 1000u));
    } else if (st->kind == SCN_EXP_PATH) {
        if (!k->has_conn)
            snprintf(path, sizeof path, "(no connection)");
        else
            utcp_sim_state_path(x->net, st->node, k->conn_id, path,
                                sizeof path);
        if (!path_eq(path, st->text))
            failf(x, st->line, "%s went %s, expected %s", nm, path, st->text);
    }
}

/* ---- the script ---- */

static void exec_stmt(struct runner *x, size_t i)
{
    const struct scn_stmt *st = &x->s->st[i];
    switch (st->kind) {
    case SCN_SEED:
    case SCN_TITLE:
    case SCN_STACK:
    case SCN_WAIT:
        break;
    case SCN_LINK:
        do_link(utcp_sim_filter(x->net), st);
        break;
    case SCN_RULE:
        do_rule(x, st);
        break;
    case SCN_WAIT_IDLE:
        if (!run_idle(x, utcp_sim_now(x->net) + st->n))
            failf(x, st->line, "the network did not go quiet within "
                               "%" PRIu64 " ms", st->n / 1000u);
        break;
    case SCN_RESTART:
        do_restart(x, st);
        break;
    case SCN_NOTE:
        utcp_sim_note(x->net, st->node, st->text);
        break;
    case SCN_INJECT:
        do_inject(x, st);
        break;
    case SCN_REPLAY:
        do_replay(x, st);
        break;
    case SCN_STAT:
        do_stat(x, st);
        break;
    case SCN_LISTEN: case SCN_BIND: case SCN_CONNECT: case SCN_ACCEPT:
    case SCN_SEND: case SCN_RECV: case SCN_SHUTDOWN: case SCN_CLOSE:
    case SCN_ABORT: case SCN_SET: {
        struct rsock *k = &x->sk[st->sock];
        if (k->lane_len == LANE_MAX) {
            failf(x, st->line, "more than %d operations waiting on a socket",
                  LANE_MAX);
            break;
        }
        k->lane[(k->lane_head + k->lane_len++) % LANE_MAX] = i;
        break;
    }
    default:
        exp_now(x, st);
        break;
    }
    service(x);
}

/* What is still blocked at the end is a failure: the application waits
 * for ever. */
static void check_blocked(struct runner *x)
{
    for (size_t i = 0; i < x->s->nsocks; i++) {
        struct rsock *k = &x->sk[i];
        if (!k->lane_len)
            continue;
        const struct scn_stmt *st = &x->s->st[k->lane[k->lane_head]];
        char nm[48];
        failf(x, st->line, "%s %s still waiting at the end of the run",
              sname(x, (int)i, nm, sizeof nm), utcp__scn_kind_name(st->kind));
    }
}

int utcp__scn_run(const struct scn *s, const struct scn_run_opts *o,
            struct scn_result *r)
{
    memset(r, 0, sizeof *r);
    struct utcp_sim_config cfg;
    config(s, o, &cfg);
    r->seed = cfg.seed;
    struct runner *x = calloc(1, sizeof *x);
    if (!x)
        return -1;
    x->s = s;
    x->r = r;
    if (utcp_sim_create(&cfg, &x->net) < 0) {
        free(x);
        return -1;
    }
    r->net = x->net;
    uint64_t cursor = 0;
    for (size_t i = 0; i < s->n; i++) {
        const struct scn_stmt *st = &s->st[i];
        if (st->at_mode == SCN_AT_ABS)
            cursor = st->at;
        else if (st->at_mode == SCN_AT_REL)
            cursor += st->at;
        if (cursor < utcp_sim_now(x->net))
            cursor = utcp_sim_now(x->net); /* after a `wait idle` */
        advance(x, cursor);
        exec_stmt(x, i);
        if (st->kind == SCN_WAIT)
            cursor += st->n;
        else if (st->kind == SCN_WAIT_IDLE)
            cursor = utcp_sim_now(x->net);
    }
    advance(x, cursor);
    uint64_t limit = o && o->idle_limit_us ? o->idle_limit_us : HOUR_US;
    run_idle(x, utcp_sim_now(x->net) + limit);
    check_blocked(x);
    for (size_t i = 0; i < s->n; i++)
        if (s->st[i].kind == SCN_EXP_STATE || s->st[i].kind == SCN_EXP_PATH)
            exp_end(x, &s->st[i]);
    if (utcp_sim_illegal_transitions(x->net))
        failf(x, 0, "%" PRIu64 " state changes not in the transition table",
              utcp_sim_illegal_transitions(x->net));
    if (utcp_sim_error(x->net))
        failf(x, 0, "the simulation stopped short: %s",
              utcp_strerror(utcp_sim_error(x->net)));
    free(x);
    return r->nfail_total ? 1 : 0;
}
