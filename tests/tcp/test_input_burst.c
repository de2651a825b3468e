/*
 * utcp_input_burst: the same as utcp_input_ex on each packet in order. Two
 * pairs of stacks with the same seeds run the same workload (connection
 * lifecycles, both close orders, a bulk transfer) over a FIFO wire, with
 * junk mixed in (truncated, IPv6, foreign, ICMP, a bad checksum, a closed
 * port, random bytes, a header claiming more than the packet holds); one
 * pair is fed packet by packet, the other in bursts of changing sizes. Every
 * byte either stack sends, every event the applications see and every
 * counter must be the same.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "utcp/utcp.h"
#include "utcp/wire.h"

#define ADDR_A 0xC0000201u /* 192.0.2.1 */
#define ADDR_B 0xC0000202u
#define PORT 80
#define MAXQ 4096
#define MSG 100

struct qpkt {
    uint8_t *data;
    size_t len;
};

struct run;
struct end {
    struct run *r;
    int side;
};

struct run {
    struct utcp_stack *st[2];
    struct end ends[2];
    struct qpkt q[2][MAXQ]; /* q[i]: on the way to stack i */
    size_t qn[2];
    uint64_t now;
    uint64_t digest[2];     /* FNV-1a of what each side sent, and saw */
    uint64_t rng;
    bool burst;
    size_t burst_i;
};

static void mix(uint64_t *d, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        *d = (*d ^ b[i]) * 0x100000001b3ull;
}

static void output(void *ctx, const uint8_t *pkt, size_t len)
{
    struct end *e = ctx;
    struct run *r = e->r;
    mix(&r->digest[e->side], &len, sizeof len);
    mix(&r->digest[e->side], pkt, len);
    int to = 1 - e->side;
    assert_true(r->qn[to] < MAXQ);
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, pkt, len);
    r->q[to][r->qn[to]++] = (struct qpkt){copy, len};
}

static uint32_t rnd(struct run *r)
{
    r->rng = r->rng * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(r->rng >> 33);
}

static void queue_copy(struct run *r, int to, const uint8_t *p, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    assert_non_null(copy);
    memcpy(copy, p, len);
    assert_true(r->qn[to] < MAXQ);
    r->q[to][r->qn[to]++] = (struct qpkt){copy, len};
}

/* A TCP segment from the other stack's address to `to`, built right. */
static size_t tcp_pkt(uint8_t *buf, size_t cap, uint32_t src, uint32_t dst,
                      uint16_t sport, uint16_t dport, uint8_t flags)
{
    struct utcp_ipv4 ip;
    memset(&ip, 0, sizeof ip);
    ip.src = src;
    ip.dst = dst;
    ip.ttl = 64;
    struct utcp_tcp th;
    memset(&th, 0, sizeof th);
    th.sport = sport;
    th.dport = dport;
    th.seq = 12345;
    th.ack = 777;
    th.flags = flags;
    th.win = 1000;
    size_t n = utcp_ipv4_tcp_build(buf, cap, &ip, &th, (const uint8_t *)"x", 1);
    assert_true(n > 0);
    return n;
}

/* Junk for stack `to`, one kind per call. */
static void inject_junk(struct run *r, int to)
{
    uint32_t self = to ? ADDR_B : ADDR_A, peer = to ? ADDR_A : ADDR_B;
    uint8_t b[128];
    size_t n;
    switch (rnd(r) % 8) {
    case 0: /* truncated inside the TCP header */
        n = tcp_pkt(b, sizeof b, peer, self, 5555, PORT, UTCP_TH_ACK);
        queue_copy(r, to, b, 22);
        break;
    case 1: /* IPv6 */
        memset(b, 0, 60);
        b[0] = 0x60;
        b[6] = 6;
        queue_copy(r, to, b, 60);
        break;
    case 2: /* for another address */
        n = tcp_pkt(b, sizeof b, peer, self + 7, 5555, PORT, UTCP_TH_SYN);
        queue_copy(r, to, b, n);
        break;
    case 3: /* a bad checksum on a SYN to the listener's port */
        n = tcp_pkt(b, sizeof b, peer, self, 5556, PORT, UTCP_TH_SYN);
        b[n - 1] ^= 0x5a;
        queue_copy(r, to, b, n);
        break;
    case 4: /* a closed port: answered with a RST */
        n = tcp_pkt(b, sizeof b, peer, self, 5557, 9, UTCP_TH_ACK);
        queue_copy(r, to, b, n);
        break;
    case 5: /* random bytes */
        n = 1 + rnd(r) % sizeof b;
        for (size_t i = 0; i < n; i++)
            b[i] = (uint8_t)rnd(r);
        queue_copy(r, to, b, n);
        break;
    case 6: /* a header length pointing past the packet (IHL 15) */
        n = tcp_pkt(b, sizeof b, peer, self, 5558, PORT, UTCP_TH_ACK);
        b[0] = 0x4f;
        queue_copy(r, to, b, 24);
        break;
    default: /* nothing */
        break;
    }
}

static void run_init(struct run *r, bool burst)
{
    memset(r, 0, sizeof *r);
    r->burst = burst;
    r->rng = 99;
    r->digest[0] = r->digest[1] = 0xcbf29ce484222325ull;
    for (int i = 0; i < 2; i++) {
        struct utcp_config cfg;
        utcp_config_init(&cfg);
        cfg.addr = i ? ADDR_B : ADDR_A;
        cfg.seed = 7 + (uint64_t)i;
        cfg.output = output;
        r->ends[i] = (struct end){r, i};
        cfg.output_ctx = &r->ends[i];
        assert_int_equal(utcp_stack_create(&cfg, &r->st[i]), 0);
    }
}

/* Delivers what is queued (and what that provokes) at the current time:
 * packet by packet, or in bursts of 1, 2, 5, 32, 33 or 100. */
static void deliver(struct run *r)
{
    static const size_t sizes[] = {1, 2, 5, 32, 33, 100};
    for (bool moved = true; moved;) {
        moved = false;
        for (int i = 0; i < 2; i++) {
            size_t n = r->qn[i];
            if (!n)
                continue;
            struct qpkt q[MAXQ];
            memcpy(q, r->q[i], n * sizeof q[0]);
            r->qn[i] = 0;
            moved = true;
            size_t at = 0;
            while (at < n) {
                if (!r->burst) {
                    utcp_input_ex(r->st[i], r->now, q[at].data, q[at].len, 0);
                    at++;
                    continue;
                }
                size_t k = sizes[r->burst_i++ % 6];
                k = k < n - at ? k : n - at;
                struct utcp_packet p[100];
                for (size_t j = 0; j < k; j++)
                    p[j] = (struct utcp_packet){q[at + j].data,
                                                q[at + j].len, 0};
                utcp_input_burst(r->st[i], r->now, p, k);
                at += k;
            }
            for (size_t j = 0; j < n; j++)
                free(q[j].data);
        }
    }
}

/* The applications: the server answers each 100-byte request with 100
 * bytes, then closes first for odd connections; the client closes after
 * the reply (first, for even ones). Every event seen goes into side 1's
 * digest (server) or side 0's (client). */
static void apps(struct run *r, utcp_sock listener)
{
    static const uint8_t msg[MSG] = {1, 2, 3};
    utcp_sock sk;
    uint32_t ev;
    while (utcp_next_event(r->st[1], &sk, &ev) == 0) {
        mix(&r->digest[1], &ev, sizeof ev);
        if (sk == listener && (ev & UTCP_EV_ACCEPT)) {
            utcp_sock c;
            while (utcp_accept(r->st[1], listener, &c) == 0)
                mix(&r->digest[1], &c, sizeof c);
            continue;
        }
        uint8_t buf[256];
        long n = utcp_recv(r->st[1], sk, buf, sizeof buf);
        mix(&r->digest[1], &n, sizeof n);
        if (n == MSG) {
            assert_int_equal(utcp_send(r->st[1], sk, msg, MSG), MSG);
            if (sk & 1)
                utcp_close(r->st[1], sk);
        } else if (n == 0) {
            utcp_close(r->st[1], sk);
        }
    }
    while (utcp_next_event(r->st[0], &sk, &ev) == 0) {
        mix(&r->digest[0], &ev, sizeof ev);
        if (ev & UTCP_EV_CONNECTED)
            assert_int_equal(utcp_send(r->st[0], sk, msg, MSG), MSG);
        uint8_t buf[256];
        long n = utcp_recv(r->st[0], sk, buf, sizeof buf);
        mix(&r->digest[0], &n, sizeof n);
        if (n == MSG || n == 0)
            utcp_close(r->st[0], sk);
    }
}

static void workload(struct run *r)
{
    utcp_sock l;
    assert_int_equal(utcp_socket(r->st[1], &l), 0);
    assert_int_equal(utcp_bind(r->st[1], l, 0, PORT), 0);
    assert_int_equal(utcp_listen(r->st[1], l, 64), 0);
    for (int round = 0; round < 400; round++) {
        r->now += 1000;
        for (int k = 0; k < 3 && round < 300; k++) {
            utcp_sock c;
            assert_int_equal(utcp_socket(r->st[0], &c), 0);
            assert_int_equal(utcp_connect(r->st[0], c, ADDR_B, PORT),
                             UTCP_EINPROGRESS);
        }
        inject_junk(r, 0);
        inject_junk(r, 1);
        deliver(r);
        apps(r, l);
        deliver(r);
        for (int i = 0; i < 2; i++)
            utcp_tick(r->st[i], r->now);
    }
}

static void run_destroy(struct run *r)
{
    for (int i = 0; i < 2; i++) {
        for (size_t j = 0; j < r->qn[i]; j++)
            free(r->q[i][j].data);
        utcp_stack_destroy(r->st[i]);
    }
}

static void input_burst_same_as_packet_by_packet(void **state)
{
    (void)state;
    static struct run one, burst;
    run_init(&one, false);
    run_init(&burst, true);
    workload(&one);
    workload(&burst);
    for (int i = 0; i < 2; i++) {
        struct utcp_counters a, b;
        utcp_get_counters(one.st[i], &a);
        utcp_get_counters(burst.st[i], &b);
        print_message("side %d: %llu segments in, %llu out, %llu opens, "
                      "%llu errors, %llu foreign, %llu RSTs sent\n",
                      i, (unsigned long long)a.InSegs,
                      (unsigned long long)a.OutSegs,
                      (unsigned long long)(a.ActiveOpens + a.PassiveOpens),
                      (unsigned long long)(a.InErrs + a.InIpErrs),
                      (unsigned long long)a.InNotForUs,
                      (unsigned long long)a.OutRsts);
        assert_memory_equal(&a, &b, sizeof a);
        assert_true(one.digest[i] == burst.digest[i]);
    }
    /* the workload did what it says: 900 lifecycles, junk of every kind */
    struct utcp_counters c, s;
    utcp_get_counters(one.st[0], &c);
    utcp_get_counters(one.st[1], &s);
    assert_int_equal(c.ActiveOpens, 900);
    assert_int_equal(s.PassiveOpens, 900);
    assert_true(s.InErrs > 0 && s.InNotForUs > 0 && s.OutRsts > 0);
    assert_true(s.InOtherIpVersion > 0 && s.InIpErrs > 0);
    run_destroy(&one);
    run_destroy(&burst);
}

/* A burst of none does nothing; a burst of one packet is utcp_input_ex. */
static void input_burst_empty_does_nothing(void **state)
{
    (void)state;
    static struct run r;
    run_init(&r, true);
    struct utcp_counters a, b;
    utcp_get_counters(r.st[1], &a);
    utcp_input_burst(r.st[1], 5, NULL, 0);
    utcp_get_counters(r.st[1], &b);
    assert_memory_equal(&a, &b, sizeof a);
    run_destroy(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(input_burst_same_as_packet_by_packet),
        cmocka_unit_test(input_burst_empty_does_nothing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
