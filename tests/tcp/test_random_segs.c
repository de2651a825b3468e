/*
 * Randomised robustness test at the segment level: a stack, driven into
 * ESTABLISHED, then fed random segments (flags, sequence and ACK numbers
 * near and far from the window, payloads, windows, timestamps and SACK
 * blocks when the handshake negotiated them) mixed with random user
 * calls and the passing of time. Properties: no crash or sanitizer report,
 * no illegal transition, sequence variables stay ordered, a RST is never
 * answered with a RST, and once every handle is closed every connection
 * record is eventually freed. UTCP_RANDOM_SEED replays one seed.
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

#define MS SEG_MS
#define SEC SEG_SEC

static uint64_t rs;
static uint32_t rnd(uint32_t n)
{
    uint64_t z = (rs += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    z ^= z >> 31;
    return n ? (uint32_t)(z % n) : 0;
}

/* A number near base: mostly within a few windows, sometimes anywhere. */
static uint32_t near(uint32_t base)
{
    switch (rnd(4)) {
    case 0: return base;
    case 1: return base + rnd(20000);
    case 2: return base - rnd(20000);
    default: return rnd(0xFFFFFFFFu);
    }
}

/* Random options for a segment: TSopt around the peer's clock, SACK blocks
 * around our send sequence (both may be nonsense). */
static struct utcp_tcp_opts rnd_opts(uint32_t *pts, uint32_t snd)
{
    struct utcp_tcp_opts o;
    memset(&o, 0, sizeof o);
    if (rnd(2)) {
        o.present |= UTCP_OPT_TS;
        *pts += rnd(50);
        o.ts_val = rnd(8) ? *pts : *pts - rnd(0x90000000u);
        o.ts_ecr = rnd(0xFFFFFFFFu);
    }
    if (rnd(3) == 0) {
        unsigned max = (o.present & UTCP_OPT_TS) ? 3 : 4;
        o.present |= UTCP_OPT_SACK;
        o.sack_count = (uint8_t)(1 + rnd(max));
        for (unsigned i = 0; i < o.sack_count; i++) {
            o.sack[i].left = near(snd);
            o.sack[i].right = rnd(4) ? o.sack[i].left + rnd(5000) : near(snd);
        }
    }
    return o;
}

static void show(void *ctx, utcp_sock sk, const struct utcp_info *i)
{
    (void)ctx, (void)sk;
    print_message("  %s una=%u nxt=%u swnd=%u rnxt=%u sq=%u rq=%u timer=%s "
                  "at=%llu backoff=%u\n",
                  utcp_state_name(i->state), i->snd_una, i->snd_nxt, i->snd_wnd,
                  i->rcv_nxt, i->send_queue, i->recv_queue,
                  utcp_timer_name(i->timer),
                  (unsigned long long)i->timer_expires, i->backoff);
}

static void run_seed(unsigned seed)
{
    rs = seed * 0x2545F4914F6CDD1DULL;
    struct seg_h h;
    struct utcp_config cfg = seg_default_cfg();
    cfg.seed = seed;
    cfg.rcvbuf = rnd(2) ? 8192 : 100000;
    seg_init(&h, &cfg);
    uint32_t piss = rnd(0xFFFFFFFFu);
    utcp_sock l = 0, sk;
    /* the peer offers timestamps and SACK, or not */
    uint32_t pts = rnd(0xFFFFFFFFu);
    struct utcp_tcp_opts so;
    memset(&so, 0, sizeof so);
    if (rnd(2))
        so.present |= UTCP_OPT_TS;
    if (rnd(2))
        so.present |= UTCP_OPT_SACK_PERM;
    so.ts_val = pts;
    switch (rnd(4)) {
    case 0:
        sk = seg_open_passive_opts(&h, &l, piss, rnd(50) * MS, &so);
        break;
    case 1:
        sk = seg_open_active_opts(&h, piss, rnd(50) * MS, &so);
        break;
    case 2: /* left in SYN_SENT */
        assert_int_equal(utcp_socket(h.st, &sk), 0);
        assert_int_equal(utcp_bind(h.st, sk, 0, h.lport), 0);
        assert_int_equal(utcp_connect(h.st, sk, SEG_PEER, h.pport),
                         UTCP_EINPROGRESS);
        break;
    default: /* a listener with a child in SYN_RECEIVED */
        sk = seg_listen(&h, 2);
        seg_send(&h, F_SYN, piss, 0, 8192, NULL, 0);
        break;
    }
    uint32_t pnxt = piss + 1;       /* the peer's idea of its next seq */
    bool open = true;
    static uint8_t data[3000];
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)i;
    for (int step = 0; step < 500; step++) {
        struct utcp_info in = seg_info(&h, sk);
        if (open && in.state >= 0) {
            /* RFC 9293 3.3.1: SND.UNA =< SND.NXT */
            if ((int32_t)(in.snd_nxt - in.snd_una) < 0)
                fail_msg("seed %u step %d: snd_nxt %u < snd_una %u", seed,
                         step, in.snd_nxt, in.snd_una);
        }
        uint32_t r = rnd(100);
        if (r < 60) {
            uint8_t flags = (uint8_t)rnd(32);
            if (rnd(3))
                flags |= F_ACK;
            uint32_t seq = near(in.state >= 0 ? in.rcv_nxt : pnxt);
            uint32_t ack = near(in.state >= 0 ? in.snd_nxt : 0);
            size_t len = rnd(3) ? 0 : rnd(sizeof data);
            size_t before = h.ncap;
            struct utcp_tcp_opts o = rnd_opts(&pts, in.snd_nxt);
            seg_send_opts(&h, flags, seq, ack, (uint16_t)rnd(65536), &o, data,
                          len);
            if (flags & F_RST)
                for (size_t k = before; k < h.ncap; k++)
                    if (h.cap[k].flags & F_RST)
                        fail_msg("seed %u step %d: RST answered with RST",
                                 seed, step);
            if (rnd(2) && in.state >= 0 && seq == in.rcv_nxt)
                pnxt = seq + (uint32_t)len;
        } else if (r < 70 && open) {
            utcp_send(h.st, sk, data, rnd(sizeof data));
        } else if (r < 78 && open) {
            uint8_t b[4000];
            utcp_recv(h.st, sk, b, sizeof b);
        } else if (r < 80 && open) {
            utcp_shutdown(h.st, sk, (int)(1 + rnd(3)));
        } else if (r < 82 && open) {
            utcp_setopt(h.st, sk, UTCP_OPT_KEEPALIVE, 1);
            utcp_setopt(h.st, sk, UTCP_OPT_KEEPIDLE, 1 + (long)rnd(5000));
        } else if (r < 84 && open) {
            if (rnd(2))
                utcp_close(h.st, sk);
            else
                utcp_abort(h.st, sk);
            open = false;
        } else {
            seg_run(&h, rnd(3) ? rnd(300) * MS : rnd(100) * SEC);
        }
        while (seg_take(&h))
            ;
        if (h.bad_transitions || SEG_CTR(&h, IllegalTransitions)) {
            for (size_t k = 0; k < h.nstates; k++)
                print_message("  conn %u %s > %s (%s)\n", h.states[k].conn_id,
                              utcp_state_name(h.states[k].old_state),
                              utcp_state_name(h.states[k].new_state),
                              utcp_cause_name(h.states[k].cause));
            fail_msg("seed %u step %d: illegal transition", seed, step);
        }
    }
    if (open)
        utcp_close(h.st, sk);
    if (l)
        utcp_close(h.st, l);
    /* nobody answers any more: every record must go (retries, 2*MSL,
     * FIN_WAIT_2 timeout) */
    seg_run(&h, 4 * 3600 * SEC);
    if (SEG_CTR(&h, ConnsAlloc) != SEG_CTR(&h, ConnsFree)) {
        char b[512];
        for (uint32_t id = 1; id < 8; id++)
            print_message("conn %u: %s\n", id, seg_states(&h, id, b, sizeof b));
        utcp_foreach_conn(h.st, show, NULL);
        fail_msg("seed %u: ConnsAlloc %llu ConnsFree %llu", seed,
                 (unsigned long long)SEG_CTR(&h, ConnsAlloc),
                 (unsigned long long)SEG_CTR(&h, ConnsFree));
    }
    assert_int_equal(utcp_next_deadline(h.st), UINT64_MAX);
    seg_destroy(&h);
}

static void random_segments_keep_invariants(void **state)
{
    (void)state;
    const char *one = getenv("UTCP_RANDOM_SEED");
    if (one) {
        run_seed((unsigned)strtoul(one, NULL, 0));
        return;
    }
    const char *cnt = getenv("UTCP_RANDOM_SEEDS");
    unsigned count = cnt ? (unsigned)strtoul(cnt, NULL, 0) : 2000;
    for (unsigned seed = 1; seed <= count; seed++)
        run_seed(seed);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_segments_keep_invariants),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
