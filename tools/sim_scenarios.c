/*
 * The built-in scenarios of `utcp sim` (shared/SCENARIOS.md names), scripted
 * in C: each side's application calls, when, and what the link does to chosen
 * segments (RFC 9293 3.5, 3.6, 3.10; RFC 5961 3); expected state paths are
 * data. Must never touch the network or a clock: virtual time only.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sim.h"
#include "utcp/wire.h"

#define MS 1000u
#define SEC 1000000u
#define PORT 80

void sim_fail(struct sim_ctx *x, const char *fmt, ...)
{
    if (x->failed)
        return;
    x->failed = true;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(x->err, sizeof x->err, fmt, ap);
    va_end(ap);
}

/* ---- the application calls, each noted on its side of the ladder ---- */

static struct utcp_stack *st(struct sim_ctx *x, unsigned node)
{
    return utcp_sim_stack(x->net, node);
}

static const char *side(unsigned node)
{
    return node == SIM_A ? "A" : "B";
}

static void note(struct sim_ctx *x, unsigned node, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void note(struct sim_ctx *x, unsigned node, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    utcp_sim_note(x->net, node, buf);
}

static void check(struct sim_ctx *x, unsigned node, const char *call, int rc)
{
    if (rc < 0)
        sim_fail(x, "%s: %s failed: %s (%s)", side(node), call,
                 utcp_errname(rc), utcp_strerror(rc));
}

static void run_ms(struct sim_ctx *x, uint64_t ms)
{
    utcp_sim_run_for(x->net, ms * MS);
}

/* Runs until nothing is left to do (at most a virtual hour). */
static void run_idle(struct sim_ctx *x)
{
    if (!utcp_sim_run_idle(x->net, utcp_sim_now(x->net) + 3600u * SEC))
        sim_fail(x, "the network did not go quiet within an hour");
}

static utcp_sock op_socket(struct sim_ctx *x, unsigned node)
{
    utcp_sock s = 0;
    check(x, node, "socket()", utcp_socket(st(x, node), &s));
    return s;
}

static utcp_sock op_listen(struct sim_ctx *x, unsigned node, uint16_t port)
{
    note(x, node, "listen(%u)", (unsigned)port);
    utcp_sock s = op_socket(x, node);
    check(x, node, "bind()", utcp_bind(st(x, node), s, 0, port));
    check(x, node, "listen()", utcp_listen(st(x, node), s, 8));
    return s;
}

/* connect() from node to the other node's port; lport 0: ephemeral. */
static utcp_sock op_connect(struct sim_ctx *x, unsigned node, uint16_t lport,
                            uint16_t port)
{
    unsigned peer = node == SIM_A ? SIM_B : SIM_A;
    note(x, node, "connect(%s:%u)", side(peer), (unsigned)port);
    utcp_sock s = op_socket(x, node);
    if (lport)
        check(x, node, "bind()", utcp_bind(st(x, node), s, 0, lport));
    int rc = utcp_connect(st(x, node), s, utcp_sim_addr(x->net, peer), port);
    if (rc != UTCP_EINPROGRESS)
        check(x, node, "connect()", rc < 0 ? rc : UTCP_EINVAL);
    return s;
}

static utcp_sock op_accept(struct sim_ctx *x, unsigned node, utcp_sock l)
{
    note(x, node, "accept()");
    utcp_sock s = 0;
    check(x, node, "accept()", utcp_accept(st(x, node), l, &s));
    return s;
}

/* Queues len bytes of a pattern; they must all fit. */
static void op_send(struct sim_ctx *x, unsigned node, utcp_sock s, size_t len)
{
    static uint8_t buf[65536];
    for (size_t i = 0; i < sizeof buf; i++)
        buf[i] = (uint8_t)('a' + i % 26);
    note(x, node, "send(%zu)", len);
    long r = utcp_send(st(x, node), s, buf, len < sizeof buf ? len : sizeof buf);
    if (r < 0)
        check(x, node, "send()", (int)r);
    else if ((size_t)r != len)
        sim_fail(x, "%s: send(%zu) queued only %ld bytes", side(node), len, r);
}

/* Reads everything available; returns the count, sets *eof at the end of
 * the stream. Notes the call when quiet is false. */
static size_t op_recv(struct sim_ctx *x, unsigned node, utcp_sock s,
                      bool *eof, bool quiet)
{
    uint8_t buf[16384];
    size_t got = 0;
    bool end = false;
    for (;;) {
        long r = utcp_recv(st(x, node), s, buf, sizeof buf);
        if (r == 0)
            end = true;
        if (r <= 0) {
            if (r < 0 && r != UTCP_EAGAIN)
                check(x, node, "recv()", (int)r);
            break;
        }
        got += (size_t)r;
    }
    if (!quiet)
        note(x, node, "recv() = %zu%s", got, end ? ", EOF" : "");
    if (eof)
        *eof = end;
    return got;
}

static void expect_recv(struct sim_ctx *x, unsigned node, utcp_sock s,
                        size_t want, bool want_eof)
{
    bool eof = false;
    size_t got = op_recv(x, node, s, &eof, false);
    if (got != want || eof != want_eof)
        sim_fail(x, "%s: recv() gave %zu bytes%s, expected %zu%s", side(node),
                 got, eof ? " and EOF" : "", want, want_eof ? " and EOF" : "");
}

static void op_close(struct sim_ctx *x, unsigned node, utcp_sock s)
{
    note(x, node, "close()");
    check(x, node, "close()", utcp_close(st(x, node), s));
}

static void op_shutdown(struct sim_ctx *x, unsigned node, utcp_sock s)
{
    note(x, node, "shutdown(WR)");
    check(x, node, "shutdown()", utcp_shutdown(st(x, node), s, UTCP_SHUT_WR));
}

static void op_abort(struct sim_ctx *x, unsigned node, utcp_sock s)
{
    note(x, node, "close() with linger 0");
    check(x, node, "setopt(LINGER)",
          utcp_setopt(st(x, node), s, UTCP_OPT_LINGER, 0));
    check(x, node, "close()", utcp_close(st(x, node), s));
}

static void expect_error(struct sim_ctx *x, unsigned node, utcp_sock s,
                         int want)
{
    int e = utcp_sock_error(st(x, node), s);
    note(x, node, "error: %s", e ? utcp_errname(e) : "none");
    if (e != want)
        sim_fail(x, "%s: socket error %s, expected %s", side(node),
                 e ? utcp_errname(e) : "none",
                 want ? utcp_errname(want) : "none");
}

static void expect_state(struct sim_ctx *x, unsigned node, utcp_sock s,
                         int want)
{
    struct utcp_info i;
    int rc = utcp_getinfo(st(x, node), s, &i);
    if (rc < 0)
        check(x, node, "getinfo()", rc);
    else if (i.state != want)
        sim_fail(x, "%s: socket in %s, expected %s", side(node),
                 utcp_state_name(i.state), utcp_state_name(want));
}

/* Adds a rule acting on the next packet (from now on) matching m. */
static void drop_next(struct sim_ctx *x, struct utcp_filter_match m,
                      const char *what)
{
    struct utcp_filter_rule r;
    memset(&r, 0, sizeof r);
    r.match = m;
    r.nth = 1;
    r.action = UTCP_FILTER_ACT_DROP;
    if (utcp_filter_add_rule(utcp_sim_filter(x->net), &r) < 0)
        sim_fail(x, "cannot add the filter rule '%s'", what);
}

/* Counts recorded events of a kind on a node (timer kind, or -1: any). */
static size_t count_events(struct sim_ctx *x, enum utcp_sim_event_kind kind,
                           unsigned node, int timer)
{
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(x->net, &ev), k = 0;
    for (size_t i = 0; i < n; i++)
        if (ev[i].kind == kind && ev[i].node == node &&
            (timer < 0 || ev[i].timer == timer))
            k++;
    return k;
}

static size_t event_count(struct sim_ctx *x)
{
    const struct utcp_sim_event *ev;
    return utcp_sim_events(x->net, &ev);
}

/* Segments from a node the link lost. */
static size_t count_lost(struct sim_ctx *x, unsigned node)
{
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(x->net, &ev), k = 0;
    for (size_t i = 0; i < n; i++)
        if (ev[i].kind == UTCP_SIM_SEG && ev[i].node == node &&
            ev[i].verdict.drop)
            k++;
    return k;
}

/* ---- common openings ---- */

struct pair {
    utcp_sock la, lb; /* B's listener */
    utcp_sock a, b;   /* the connection's two ends */
};

/* B listens on PORT, A connects, B accepts. */
static struct pair open_pair(struct sim_ctx *x)
{
    struct pair p;
    memset(&p, 0, sizeof p);
    p.lb = op_listen(x, SIM_B, PORT);
    p.a = op_connect(x, SIM_A, 0, PORT);
    run_ms(x, 50);
    p.b = op_accept(x, SIM_B, p.lb);
    return p;
}

/* A sends a request, B answers, both read. */
static void exchange(struct sim_ctx *x, struct pair *p, size_t req,
                     size_t resp)
{
    op_send(x, SIM_A, p->a, req);
    run_ms(x, 50);
    expect_recv(x, SIM_B, p->b, req, false);
    op_send(x, SIM_B, p->b, resp);
    run_ms(x, resp > 1460 ? 150 : 50); /* Nagle waits for the delayed ACK */
    expect_recv(x, SIM_A, p->a, resp, false);
}

/* ---- the scenarios ---- */

#define PATH_A_ACTIVE_CLOSE                                                    \
    "CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>CLOSED"
#define PATH_B_PASSIVE_CLOSE                                                   \
    "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED"

static void run_classic(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 100, 300);
    run_ms(x, 100);
    op_close(x, SIM_A, p.a);
    run_ms(x, 20);
    expect_recv(x, SIM_B, p.b, 0, true);
    run_ms(x, 100); /* B's ACK of the FIN goes out alone (delayed ACK) */
    op_close(x, SIM_B, p.b);
    run_idle(x); /* TIME_WAIT: 2*MSL */
}

static void run_handshake(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    expect_state(x, SIM_A, p.a, UTCP_ESTABLISHED);
    expect_state(x, SIM_B, p.b, UTCP_ESTABLISHED);
    expect_state(x, SIM_B, p.lb, UTCP_LISTEN);
}

static void run_active_close(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 1000, 2000);
    op_close(x, SIM_A, p.a);
    run_ms(x, 20);
    expect_recv(x, SIM_B, p.b, 0, true);
    /* (B could keep sending in CLOSE_WAIT: see half-close.) */
    run_ms(x, 100);
    op_close(x, SIM_B, p.b);
    run_idle(x);
}

static void run_half_close(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    op_shutdown(x, SIM_A, p.a);
    run_ms(x, 20);
    expect_recv(x, SIM_B, p.b, 0, true);
    /* B sends 1 MiB in CLOSE_WAIT; A reads it all in FIN_WAIT_2. */
    const size_t total = 1u << 20;
    size_t sent = 0, got = 0;
    static uint8_t chunk[16384];
    note(x, SIM_B, "send(1 MiB) in CLOSE_WAIT");
    for (int guard = 0; got < total && guard < 100000 && !x->failed;
         guard++) {
        while (sent < total) {
            size_t want = total - sent < sizeof chunk ? total - sent
                                                      : sizeof chunk;
            long r = utcp_send(st(x, SIM_B), p.b, chunk, want);
            if (r == UTCP_EAGAIN)
                break;
            if (r < 0) {
                check(x, SIM_B, "send()", (int)r);
                break;
            }
            sent += (size_t)r;
        }
        run_ms(x, 5);
        got += op_recv(x, SIM_A, p.a, NULL, true);
    }
    note(x, SIM_A, "recv() = %zu in total", got);
    if (got != total)
        sim_fail(x, "A: received %zu bytes in FIN_WAIT_2, expected %zu", got,
                 total);
    op_close(x, SIM_B, p.b);
    run_ms(x, 50);
    expect_recv(x, SIM_A, p.a, 0, true);
    op_close(x, SIM_A, p.a);
    run_idle(x);
}

static void run_simultaneous_open(struct sim_ctx *x)
{
    /* Both connect to each other's fixed port at the same instant: the
     * SYNs cross on the wire. */
    utcp_sock a = op_connect(x, SIM_A, 5000, 6000);
    utcp_sock b = op_connect(x, SIM_B, 6000, 5000);
    run_ms(x, 100);
    expect_state(x, SIM_A, a, UTCP_ESTABLISHED);
    expect_state(x, SIM_B, b, UTCP_ESTABLISHED);
}

static void run_simultaneous_close(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 100, 100);
    run_ms(x, 100);
    /* Both close at the same instant: the FINs cross. */
    op_close(x, SIM_A, p.a);
    op_close(x, SIM_B, p.b);
    run_idle(x);
}

static void run_lost_final_ack(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 100, 300);
    run_ms(x, 100);
    op_close(x, SIM_A, p.a);
    run_ms(x, 20);
    expect_recv(x, SIM_B, p.b, 0, true);
    /* A's ACK of B's FIN is lost; B retransmits its FIN from LAST_ACK. */
    run_ms(x, 100);
    drop_next(x, utcp_filter_match_ack_only(SIM_A), "A's final ACK");
    op_close(x, SIM_B, p.b);
    run_idle(x);
    if (count_events(x, UTCP_SIM_TIMER_SET, SIM_A, UTCP_TIMER_TIME_WAIT) < 2)
        sim_fail(x, "A did not restart its 2*MSL timer on the retransmitted "
                    "FIN");
    if (count_events(x, UTCP_SIM_RETRANSMIT, SIM_B, -1) < 1)
        sim_fail(x, "B did not retransmit its FIN");
}

static void run_lost_ack_of_fin(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 100, 300);
    run_ms(x, 100);
    /* B's ACK of A's FIN (sent alone, after the delayed-ACK time) is
     * lost; B's FIN, which acknowledges A's FIN too, follows before A's
     * retransmission timer: A goes FIN_WAIT_1 -> TIME_WAIT directly. */
    drop_next(x, utcp_filter_match_ack_only(SIM_B), "B's ACK of A's FIN");
    op_close(x, SIM_A, p.a);
    run_ms(x, 20);
    expect_recv(x, SIM_B, p.b, 0, true);
    run_ms(x, 50);
    op_close(x, SIM_B, p.b);
    run_idle(x);
    if (count_lost(x, SIM_B) != 1)
        sim_fail(x, "B lost %zu segments, expected 1 (its ACK of A's FIN)",
                 count_lost(x, SIM_B));
}

static void run_three_way_close(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 100, 300);
    run_ms(x, 100);
    op_close(x, SIM_A, p.a);
    run_ms(x, 10); /* A's FIN has just arrived */
    expect_recv(x, SIM_B, p.b, 0, true);
    size_t mark = event_count(x);
    op_close(x, SIM_B, p.b); /* before B's delayed ACK: one FIN+ACK */
    run_idle(x);
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(x->net, &ev), from_b = 0;
    for (size_t i = mark; i < n; i++)
        if (ev[i].kind == UTCP_SIM_SEG && ev[i].node == SIM_B)
            from_b++;
    if (from_b != 1)
        sim_fail(x, "B sent %zu segments after A's FIN, expected one FIN+ACK",
                 from_b);
}

static void setup_syn_retransmit(struct utcp_sim_config *c)
{
    c->stack.syn_retries = 4;
    /* B never answers: every SYN from A is lost. */
    struct utcp_filter_rule r;
    memset(&r, 0, sizeof r);
    r.match = utcp_filter_match_syn(SIM_A);
    r.nth = 0;
    r.action = UTCP_FILTER_ACT_DROP;
    utcp_filter_add_rule(&c->filter, &r);
}

static void run_syn_retransmit(struct sim_ctx *x)
{
    utcp_sock a = op_connect(x, SIM_A, 0, PORT);
    run_idle(x);
    expect_error(x, SIM_A, a, UTCP_ETIMEDOUT);
    if (count_events(x, UTCP_SIM_SEG, SIM_A, -1) != 5)
        sim_fail(x, "A sent %zu SYNs, expected 5 (4 retransmissions)",
                 count_events(x, UTCP_SIM_SEG, SIM_A, -1));
}

static void run_refused(struct sim_ctx *x)
{
    utcp_sock a = op_connect(x, SIM_A, 0, 81);
    run_ms(x, 100);
    expect_error(x, SIM_A, a, UTCP_ECONNREFUSED);
}

static void run_reset(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 100, 100);
    run_ms(x, 100);
    /* A forged RST in the window but not at RCV.NXT: B must answer with a
     * challenge ACK and keep the connection (RFC 5961 3.2). */
    struct utcp_info ib;
    uint16_t aport = 0;
    uint32_t aaddr = 0;
    if (utcp_getinfo(st(x, SIM_B), p.b, &ib) < 0 ||
        utcp_peername(st(x, SIM_B), p.b, &aaddr, &aport) < 0) {
        sim_fail(x, "B: getinfo() failed");
        return;
    }
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = aaddr;
    ip.dst = utcp_sim_addr(x->net, SIM_B);
    ip.ttl = 64;
    ip.id = 0x7777;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = aport;
    th.dport = PORT;
    th.seq = ib.rcv_nxt + 1000;
    th.flags = UTCP_TH_RST;
    uint8_t pkt[64];
    size_t len = utcp_ipv4_tcp_build(pkt, sizeof pkt, &ip, &th, NULL, 0);
    note(x, SIM_A, "(forged RST, seq RCV.NXT+1000)");
    if (len == 0 || utcp_sim_inject(x->net, SIM_A, pkt, len) < 0)
        sim_fail(x, "cannot inject the forged RST");
    run_ms(x, 50);
    expect_state(x, SIM_B, p.b, UTCP_ESTABLISHED);
    /* The real abort: RST at SND.NXT. */
    op_abort(x, SIM_A, p.a);
    run_ms(x, 50);
    expect_error(x, SIM_B, p.b, UTCP_ECONNRESET);
    uint8_t buf[16];
    long r = utcp_recv(st(x, SIM_B), p.b, buf, sizeof buf);
    note(x, SIM_B, "recv() = %s", r < 0 ? utcp_errname((int)r) : "data");
    if (r != UTCP_ECONNRESET && r != UTCP_ENOTCONN)
        sim_fail(x, "B: recv() after the reset gave %ld, expected ECONNRESET",
                 r);
}

/* Builds a TCP segment from node `from` as if its stack had sent it. */
static size_t craft(struct sim_ctx *x, unsigned from, uint16_t sport,
                    uint16_t dport, uint32_t seq, uint32_t ack, uint8_t flags,
                    uint8_t *buf, size_t cap)
{
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = utcp_sim_addr(x->net, from);
    ip.dst = utcp_sim_addr(x->net, from == SIM_A ? SIM_B : SIM_A);
    ip.ttl = 64;
    ip.id = 0x7777;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = sport;
    th.dport = dport;
    th.seq = seq;
    th.ack = ack;
    th.flags = flags;
    th.win = (flags & UTCP_TH_RST) ? 0 : 8192;
    if (flags & UTCP_TH_SYN) {
        th.opts.present = UTCP_OPT_MSS;
        th.opts.mss = 1460;
    }
    return utcp_ipv4_tcp_build(buf, cap, &ip, &th, NULL, 0);
}

static void inject(struct sim_ctx *x, unsigned from, const uint8_t *pkt,
                   size_t len)
{
    if (len == 0 || utcp_sim_inject(x->net, from, pkt, len) < 0)
        sim_fail(x, "cannot inject a segment from %s", side(from));
}

static void run_old_duplicate_syn(struct sim_ctx *x)
{
    utcp_sock lb = op_listen(x, SIM_B, PORT);
    run_ms(x, 10);
    /* A SYN of a connection A no longer has, delayed in the network. */
    uint8_t pkt[128];
    size_t len = craft(x, SIM_A, 40000, PORT, 123456789u, 0, UTCP_TH_SYN, pkt,
                       sizeof pkt);
    note(x, SIM_A, "(old duplicate SYN from port 40000)");
    inject(x, SIM_A, pkt, len);
    run_idle(x);
    expect_state(x, SIM_B, lb, UTCP_LISTEN);
    utcp_sock none = 0;
    int rc = utcp_accept(utcp_sim_stack(x->net, SIM_B), lb, &none);
    note(x, SIM_B, "accept() = %s", rc ? utcp_errname(rc) : "a connection");
    if (rc != UTCP_EAGAIN)
        sim_fail(x, "B: accept() gave %s, expected EAGAIN (no connection)",
                 rc ? utcp_errname(rc) : "a connection");
}

static void run_fin_wait_2_timeout(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 100, 100);
    run_ms(x, 100);
    op_close(x, SIM_A, p.a); /* A lets go of the connection entirely */
    run_ms(x, 20);
    expect_recv(x, SIM_B, p.b, 0, true);
    /* B never closes: A gives up after its FIN_WAIT_2 timeout (60 s). */
    run_idle(x);
    expect_state(x, SIM_B, p.b, UTCP_CLOSE_WAIT);
}

/* Prints each connection of a node with its age, as `utcp stat` will. */
struct stat_ctx {
    struct sim_ctx *x;
    unsigned node;
};

static void stat_one(void *ctx, utcp_sock sk, const struct utcp_info *i)
{
    struct stat_ctx *c = ctx;
    (void)sk;
    uint64_t age = utcp_sim_now(c->x->net) - i->state_since;
    note(c->x, c->node, "stat: %s for %llu.%03llu s",
         utcp_state_name(i->state), (unsigned long long)(age / SEC),
         (unsigned long long)(age / MS % 1000u));
}

static void run_close_wait_leak(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 100, 100);
    run_ms(x, 100);
    op_shutdown(x, SIM_A, p.a); /* A keeps its handle: no FIN_WAIT_2 timeout */
    run_ms(x, 20);
    expect_recv(x, SIM_B, p.b, 0, true);
    /* B's application never closes: CLOSE_WAIT lasts for ever. */
    run_ms(x, 600000);
    expect_state(x, SIM_A, p.a, UTCP_FIN_WAIT_2);
    expect_state(x, SIM_B, p.b, UTCP_CLOSE_WAIT);
    struct stat_ctx sa = {x, SIM_A}, sb = {x, SIM_B};
    utcp_foreach_conn(utcp_sim_stack(x->net, SIM_A), stat_one, &sa);
    utcp_foreach_conn(utcp_sim_stack(x->net, SIM_B), stat_one, &sb);
}

static void run_syn_received_close(struct sim_ctx *x)
{
    /* Simultaneous open puts B's own socket in SYN_RECEIVED, where its
     * application closes it: B sends FIN (RFC 9293 3.10.4). */
    utcp_sock a = op_connect(x, SIM_A, 5000, 6000);
    utcp_sock b = op_connect(x, SIM_B, 6000, 5000);
    run_ms(x, 10); /* the SYNs have crossed */
    expect_state(x, SIM_B, b, UTCP_SYN_RECEIVED);
    op_close(x, SIM_B, b);
    run_ms(x, 100);
    expect_recv(x, SIM_A, a, 0, true);
    op_close(x, SIM_A, a);
    run_idle(x);
}

static void run_half_open(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 100, 100);
    run_ms(x, 100);
    /* B crashes and restarts: it forgets the connection. */
    note(x, SIM_B, "(B restarts)");
    if (utcp_sim_restart(x->net, SIM_B) < 0) {
        sim_fail(x, "cannot restart B");
        return;
    }
    run_ms(x, 100);
    /* A's next data gets a RST from B: A learns of it. */
    op_send(x, SIM_A, p.a, 100);
    run_ms(x, 100);
    expect_error(x, SIM_A, p.a, UTCP_ECONNRESET);
}

static void run_port_reuse(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 100, 100);
    uint32_t addr = 0;
    uint16_t port = 0;
    utcp_sockname(utcp_sim_stack(x->net, SIM_A), p.a, &addr, &port);
    run_ms(x, 100);
    op_close(x, SIM_A, p.a);
    run_ms(x, 100);
    op_close(x, SIM_B, p.b);
    run_ms(x, 100); /* A in TIME_WAIT */
    struct utcp_stack *sa = utcp_sim_stack(x->net, SIM_A);
    utcp_sock s = op_socket(x, SIM_A);
    int rc = utcp_bind(sa, s, 0, port);
    note(x, SIM_A, "bind(%u) = %s", (unsigned)port,
         rc ? utcp_errname(rc) : "ok");
    if (rc != UTCP_EADDRINUSE)
        sim_fail(x, "A: bind to a port in TIME_WAIT gave %s, expected "
                    "EADDRINUSE",
                 rc ? utcp_errname(rc) : "ok");
    check(x, SIM_A, "setopt(REUSEADDR)",
          utcp_setopt(sa, s, UTCP_OPT_REUSEADDR, 1));
    rc = utcp_bind(sa, s, 0, port);
    note(x, SIM_A, "with REUSEADDR: bind(%u) = %s", (unsigned)port,
         rc ? utcp_errname(rc) : "ok");
    check(x, SIM_A, "bind() with REUSEADDR", rc);
    note(x, SIM_A, "connect(B:%u)", PORT);
    rc = utcp_connect(sa, s, utcp_sim_addr(x->net, SIM_B), PORT);
    if (rc != UTCP_EINPROGRESS)
        check(x, SIM_A, "connect()", rc < 0 ? rc : UTCP_EINVAL);
    run_ms(x, 100);
    expect_state(x, SIM_A, s, UTCP_ESTABLISHED);
    utcp_sock b2 = op_accept(x, SIM_B, p.lb);
    op_send(x, SIM_A, s, 200);
    run_ms(x, 100);
    expect_recv(x, SIM_B, b2, 200, false);
}

/* A copy of the last segment from `node` carrying data. */
static size_t last_data_seg(struct sim_ctx *x, unsigned node, uint8_t *buf,
                            size_t cap)
{
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(x->net, &ev);
    for (size_t i = n; i-- > 0;) {
        const struct utcp_sim_event *e = &ev[i];
        if (e->kind != UTCP_SIM_SEG || e->node != node || e->len > cap)
            continue;
        struct utcp_ipv4 ip;
        struct utcp_tcp th;
        if (utcp_ipv4_parse(e->pkt, e->len, &ip) == UTCP_WIRE_OK &&
            utcp_tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, true,
                           &th) == UTCP_WIRE_OK &&
            th.payload_len > 0) {
            memcpy(buf, e->pkt, e->len);
            return e->len;
        }
    }
    return 0;
}

static void run_time_wait_duplicates(struct sim_ctx *x)
{
    struct pair p = open_pair(x);
    exchange(x, &p, 100, 100);
    static uint8_t old[2048];
    size_t old_len = last_data_seg(x, SIM_B, old, sizeof old);
    if (old_len == 0) {
        sim_fail(x, "B sent no data segment to duplicate");
        return;
    }
    uint32_t addr = 0;
    uint16_t port = 0;
    utcp_sockname(utcp_sim_stack(x->net, SIM_A), p.a, &addr, &port);
    run_ms(x, 100);
    op_close(x, SIM_A, p.a);
    run_ms(x, 100);
    op_close(x, SIM_B, p.b);
    run_ms(x, 100); /* A in TIME_WAIT */
    note(x, SIM_B, "(old duplicate of B's data)");
    inject(x, SIM_B, old, old_len);
    run_ms(x, 100);
    /* A new incarnation of the same 4-tuple (A reuses its port). */
    struct utcp_stack *sa = utcp_sim_stack(x->net, SIM_A);
    utcp_sock s = op_socket(x, SIM_A);
    note(x, SIM_A, "REUSEADDR, bind(%u), connect(B:%u)", (unsigned)port,
         PORT);
    check(x, SIM_A, "setopt(REUSEADDR)",
          utcp_setopt(sa, s, UTCP_OPT_REUSEADDR, 1));
    check(x, SIM_A, "bind()", utcp_bind(sa, s, 0, port));
    int rc = utcp_connect(sa, s, utcp_sim_addr(x->net, SIM_B), PORT);
    if (rc != UTCP_EINPROGRESS)
        check(x, SIM_A, "connect()", rc < 0 ? rc : UTCP_EINVAL);
    run_ms(x, 50);
    utcp_sock b2 = op_accept(x, SIM_B, p.lb);
    note(x, SIM_B, "(the old duplicate again)");
    inject(x, SIM_B, old, old_len);
    run_ms(x, 50);
    op_send(x, SIM_B, b2, 200);
    run_ms(x, 100);
    /* Only the new connection's 200 bytes reach A's application. */
    expect_recv(x, SIM_A, s, 200, false);
}

static void run_backlog(struct sim_ctx *x)
{
    /* B listens with backlog 1; three clients connect before B accepts.
     * All three SYNs get a SYN+ACK (the SYN queue holds 2*1+16); the first
     * ACK fills the accept queue; later ACKs are ignored while it is full
     * (B stays in SYN_RECEIVED) and B's SYN+ACK retransmissions retry. B
     * accepts one connection every 500 ms: every client gets through. */
    note(x, SIM_B, "listen(80, backlog 1)");
    struct utcp_stack *sb = utcp_sim_stack(x->net, SIM_B);
    utcp_sock l = op_socket(x, SIM_B);
    check(x, SIM_B, "bind()", utcp_bind(sb, l, 0, PORT));
    check(x, SIM_B, "listen()", utcp_listen(sb, l, 1));
    utcp_sock c[3];
    for (int i = 0; i < 3; i++)
        c[i] = op_connect(x, SIM_A, 0, PORT);
    int accepted = 0;
    for (int round = 0; round < 40 && accepted < 3; round++) {
        run_ms(x, 500);
        utcp_sock s;
        int rc = utcp_accept(sb, l, &s);
        if (rc == 0) {
            accepted++;
            note(x, SIM_B, "accept() = connection %d", accepted);
        }
    }
    if (accepted != 3)
        sim_fail(x, "B accepted %d connections, expected 3", accepted);
    for (int i = 0; i < 3; i++)
        expect_state(x, SIM_A, c[i], UTCP_ESTABLISHED);
    struct utcp_counters k;
    utcp_get_counters(sb, &k);
    note(x, SIM_B, "ListenOverflows %llu, ListenDrops %llu",
         (unsigned long long)k.ListenOverflows,
         (unsigned long long)k.ListenDrops);
}

static void setup_lossy(struct utcp_sim_config *c)
{
    for (int d = 0; d < 2; d++) {
        struct utcp_filter_dir *f = &c->filter.dir[d];
        f->jitter_us = 2000;
        f->loss_ppm = 20000;    /* 2 % */
        f->dup_ppm = 10000;     /* 1 % */
        f->reorder_ppm = 10000; /* 1 %, held 15 ms */
        f->reorder_us = 15000;
        f->corrupt_ppm = 10000; /* 1 %: the checksums must catch it */
    }
}

static void run_lossy(struct sim_ctx *x)
{
    /* Lost SYNs and SYN+ACKs are retried: accept when B has it. */
    struct pair p;
    memset(&p, 0, sizeof p);
    p.lb = op_listen(x, SIM_B, PORT);
    p.a = op_connect(x, SIM_A, 0, PORT);
    for (int i = 0; i < 600 && !p.b; i++) {
        run_ms(x, 100);
        if (utcp_accept(st(x, SIM_B), p.lb, &p.b) == 0)
            note(x, SIM_B, "accept()");
    }
    for (int i = 0; i < 600 && utcp_poll(st(x, SIM_A), p.a) >= 0 &&
                    !(utcp_poll(st(x, SIM_A), p.a) & UTCP_EV_WRITABLE);
         i++)
        run_ms(x, 100); /* A's side completes too */
    const size_t total = 200000;
    size_t sent = 0, got = 0;
    static uint8_t chunk[8192];
    note(x, SIM_A, "send(200000) over a lossy link");
    for (int guard = 0; got < total && guard < 20000 && !x->failed; guard++) {
        while (sent < total) {
            size_t want = total - sent < sizeof chunk ? total - sent
                                                      : sizeof chunk;
            long r = utcp_send(st(x, SIM_A), p.a, chunk, want);
            if (r == UTCP_EAGAIN)
                break;
            if (r < 0) {
                check(x, SIM_A, "send()", (int)r);
                break;
            }
            sent += (size_t)r;
        }
        run_ms(x, 10);
        got += op_recv(x, SIM_B, p.b, NULL, true);
    }
    note(x, SIM_B, "recv() = %zu in total", got);
    if (got != total)
        sim_fail(x, "B received %zu bytes, expected %zu", got, total);
    /* The link heals so the close follows the classic path (a lost ACK of
     * a FIN would make it lost-ack-of-fin instead). */
    run_ms(x, 2000);
    struct utcp_filter *f = utcp_sim_filter(x->net);
    for (int d = 0; d < 2; d++) {
        uint64_t delay = f->dir[d].delay_us;
        memset(&f->dir[d], 0, sizeof f->dir[d]);
        f->dir[d].delay_us = delay;
    }
    note(x, SIM_A, "(the link heals)");
    op_close(x, SIM_A, p.a);
    bool eof = false;
    for (int i = 0; i < 600 && !eof; i++) {
        run_ms(x, 100);
        got = op_recv(x, SIM_B, p.b, &eof, true);
    }
    note(x, SIM_B, "recv() = EOF");
    if (!eof || got)
        sim_fail(x, "B: no clean end of stream after A's close");
    op_close(x, SIM_B, p.b);
    run_idle(x);
}

const struct sim_scenario sim_scenarios[] = {
    {"classic",
     "handshake, data both ways, active close, TIME_WAIT expiry (the demo)",
     NULL, run_classic,
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"handshake", "A connects to B listening: SYN, SYN+ACK, ACK", NULL,
     run_handshake,
     {{"CLOSED>SYN_SENT>ESTABLISHED"},
      {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>ESTABLISHED"}}},
    {"active-close",
     "after data both ways A closes first: FIN, ACK, FIN, ACK, 2*MSL", NULL,
     run_active_close,
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"half-close",
     "A shuts down its sending side; B sends 1 MiB in CLOSE_WAIT, then "
     "closes",
     NULL, run_half_close,
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"three-way-close",
     "B answers A's FIN with one FIN+ACK: FIN_WAIT_2 is skipped", NULL,
     run_three_way_close,
     {{"CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>TIME_WAIT>CLOSED"},
      {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"simultaneous-open",
     "both send SYN before receiving the other's: one connection", NULL,
     run_simultaneous_open,
     {{"CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED"},
      {"CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED"}}},
    {"simultaneous-close",
     "both send FIN before receiving the other's: CLOSING on both ends", NULL,
     run_simultaneous_close,
     {{"CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT>CLOSED"},
      {"CLOSED>LISTEN",
       "LISTEN>SYN_RECEIVED>ESTABLISHED>FIN_WAIT_1>CLOSING>TIME_WAIT>"
       "CLOSED"}}},
    {"lost-final-ack",
     "A's last ACK is lost: B retransmits its FIN, A re-ACKs and restarts "
     "2*MSL",
     NULL, run_lost_final_ack,
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"lost-ack-of-fin",
     "B's ACK of A's FIN is lost; B's FIN acks it: FIN_WAIT_1 -> TIME_WAIT, "
     "not CLOSING",
     NULL, run_lost_ack_of_fin,
     {{"CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>TIME_WAIT>CLOSED"},
      {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"time-wait-duplicates",
     "an old duplicate reaches A in TIME_WAIT, then a new incarnation: no "
     "harm",
     NULL, run_time_wait_duplicates,
     {{PATH_A_ACTIVE_CLOSE, "CLOSED>SYN_SENT>ESTABLISHED"},
      {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE,
       "LISTEN>SYN_RECEIVED>ESTABLISHED"}}},
    {"old-duplicate-syn",
     "an old SYN reaches B; A answers B's SYN+ACK with RST; B returns to "
     "LISTEN",
     NULL, run_old_duplicate_syn,
     {{NULL}, {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>LISTEN"}}},
    {"syn-retransmit",
     "B never answers: A retransmits its SYN with back-off, then times out",
     setup_syn_retransmit, run_syn_retransmit,
     {{"CLOSED>SYN_SENT>CLOSED"}, {NULL}}},
    {"refused", "A connects to a port where nothing listens: RST, refused",
     NULL, run_refused, {{"CLOSED>SYN_SENT>CLOSED"}, {NULL}}},
    {"reset",
     "a forged in-window RST gets a challenge ACK; an abortive close resets "
     "B",
     NULL, run_reset,
     {{"CLOSED>SYN_SENT>ESTABLISHED>CLOSED"},
      {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSED"}}},
    {"half-open",
     "B restarts and forgets the connection; A's next data gets a RST", NULL,
     run_half_open,
     {{"CLOSED>SYN_SENT>ESTABLISHED>CLOSED"},
      {"CLOSED>LISTEN>CLOSED", "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSED"}}},
    {"close-wait-leak",
     "B's application never closes: CLOSE_WAIT for ever (A half-closed, "
     "FIN_WAIT_2)",
     NULL, run_close_wait_leak,
     {{"CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2"},
      {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT"}}},
    {"fin-wait-2-timeout",
     "A closed, B never sends FIN: A leaves FIN_WAIT_2 after 60 s", NULL,
     run_fin_wait_2_timeout,
     {{"CLOSED>SYN_SENT>ESTABLISHED>FIN_WAIT_1>FIN_WAIT_2>CLOSED"},
      {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT"}}},
    {"backlog",
     "backlog 1, three clients before accept(): the extra ones wait and get "
     "in",
     NULL, run_backlog,
     {{"CLOSED>SYN_SENT>ESTABLISHED", "CLOSED>SYN_SENT>ESTABLISHED",
       "CLOSED>SYN_SENT>ESTABLISHED"},
      {"CLOSED>LISTEN", "LISTEN>SYN_RECEIVED>ESTABLISHED",
       "LISTEN>SYN_RECEIVED>ESTABLISHED", "LISTEN>SYN_RECEIVED>ESTABLISHED"}}},
    {"syn-received-close",
     "B closes its connection while in SYN_RECEIVED: B sends FIN", NULL,
     run_syn_received_close,
     {{"CLOSED>SYN_SENT>SYN_RECEIVED>ESTABLISHED>CLOSE_WAIT>LAST_ACK>CLOSED"},
      {"CLOSED>SYN_SENT>SYN_RECEIVED>FIN_WAIT_1>FIN_WAIT_2>TIME_WAIT>"
       "CLOSED"}}},
    {"lossy",
     "200 kB over a link with jitter, 2 % loss, duplicates, reordering and "
     "corruption",
     setup_lossy, run_lossy,
     {{PATH_A_ACTIVE_CLOSE}, {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE}}},
    {"port-reuse",
     "A binds the port of its TIME_WAIT connection: refused, then allowed "
     "with REUSEADDR",
     NULL, run_port_reuse,
     {{PATH_A_ACTIVE_CLOSE, "CLOSED>SYN_SENT>ESTABLISHED"},
      {"CLOSED>LISTEN", PATH_B_PASSIVE_CLOSE,
       "LISTEN>SYN_RECEIVED>ESTABLISHED"}}},
};

const size_t sim_scenario_count = sizeof sim_scenarios / sizeof sim_scenarios[0];
