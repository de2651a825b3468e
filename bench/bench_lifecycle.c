/*
 * Connection lifecycles per second on one core over the in-memory wire
 * (memwire.h): connect, a 100-byte request, a 100-byte reply, the client
 * closes first (its side enters TIME_WAIT; --server-first: the server does),
 * the other side on EOF; many in flight. Reports the rate and the TIME_WAIT
 * records left (count, bytes).
 */
#include "memwire.h"

#define ADDR_BASE 0xC6120001u /* 198.18.0.1 client A, 198.18.0.2 server B */
#define NLISTEN 16            /* server ports 8000..8015 */
#define PORT0 8000
#define MSGLEN 100
#define LPORT_LO 1024u
#define LPORT_N (65536u - LPORT_LO)
#define VROUND_US 256u        /* --count: virtual time per round */

struct app {                  /* per socket slot, per side */
    uint8_t got;              /* request/reply bytes received */
    bool sent;                /* request (client) / reply (server) sent */
    bool live;
};

struct side_apps {
    struct app *a;
    size_t cap;
};

static struct app *app_of(struct side_apps *s, utcp_sock sk)
{
    size_t i = (size_t)(uint32_t)sk;
    if (i >= s->cap) {
        size_t ncap = s->cap ? s->cap : 1024;
        while (ncap <= i)
            ncap *= 2;
        struct app *n = realloc(s->a, ncap * sizeof *n);
        if (!n) {
            fprintf(stderr, "bench_lifecycle: out of memory\n");
            exit(1);
        }
        memset(n + s->cap, 0, (ncap - s->cap) * sizeof *n);
        s->a = n;
        s->cap = ncap;
    }
    return &s->a[i];
}

struct bench {
    struct bw_wire w;
    struct utcp_stack *a, *b;
    utcp_sock listeners[NLISTEN];
    struct side_apps ca, sa;
    uint8_t req[MSGLEN], rep[MSGLEN];
    bool ephemeral;
    bool server_first;        /* the server closes after its reply */
    uint64_t next_tuple;      /* lifecycle index: picks the 4-tuple */
    uint64_t opened, client_done, server_done, inflight;
    uint64_t done;            /* lifecycles ended: the second close */
    uint64_t bind_busy, connect_fail, errors, bad_data;
    uint64_t count;           /* --count: lifecycles to measure, or 0 */
    uint64_t base;            /* wall clock: bw_mono_us() at time 1 s */
    uint64_t vnow;            /* --count: the virtual clock, us */
};

/* The time handed to the stacks: the wall clock, or with --count a
 * virtual one advanced by VROUND_US per round (deterministic runs). */
static void set_now(struct bench *B)
{
    if (B->count)
        B->w.now = B->vnow += VROUND_US;
    else
        B->w.now = bw_mono_us() - B->base;
}

static double bench_now_s(const struct bench *B)
{
    return B->count ? (double)B->vnow * 1e-6 : bw_now_s();
}

static void die(const char *what, long r)
{
    fprintf(stderr, "bench_lifecycle: %s failed: %ld\n", what, r);
    exit(1);
}

/* Starts one lifecycle: bind the next local port (REUSEADDR: a port whose
 * connections are all in TIME_WAIT may be bound again) and connect to the
 * next server port, so a 4-tuple comes back only after
 * LPORT_N * NLISTEN lifecycles. */
static bool open_one(struct bench *B)
{
    utcp_sock sk;
    long r = utcp_socket(B->a, &sk);
    if (r)
        die("utcp_socket", r);
    uint16_t rport = PORT0;
    if (!B->ephemeral) {
        utcp_setopt(B->a, sk, UTCP_OPT_REUSEADDR, 1);
        for (int tries = 0;; tries++) {
            uint64_t i = B->next_tuple++;
            uint16_t lport = (uint16_t)(LPORT_LO + i % LPORT_N);
            rport = (uint16_t)(PORT0 + (i / LPORT_N) % NLISTEN);
            r = utcp_bind(B->a, sk, 0, lport);
            if (r == 0)
                break;
            if (r != UTCP_EADDRINUSE || tries > 1000)
                die("utcp_bind", r);
            B->bind_busy++;
        }
    } else {
        rport = (uint16_t)(PORT0 + B->next_tuple++ % NLISTEN);
    }
    r = utcp_connect(B->a, sk, ADDR_BASE + 1, rport);
    if (r != UTCP_EINPROGRESS) {
        B->connect_fail++;
        utcp_close(B->a, sk);
        return false;
    }
    struct app *ap = app_of(&B->ca, sk);
    memset(ap, 0, sizeof *ap);
    ap->live = true;
    B->opened++;
    B->inflight++;
    return true;
}

static void client_event(struct bench *B, utcp_sock sk, uint32_t ev)
{
    struct app *ap = app_of(&B->ca, sk);
    if (!ap->live)
        return;
    if (ev & UTCP_EV_ERROR) {
        B->errors++;
        ap->live = false;
        utcp_close(B->a, sk);
        B->inflight--;
        return;
    }
    if (!ap->sent && (ev & UTCP_EV_WRITABLE)) {
        long r = utcp_send(B->a, sk, B->req, MSGLEN);
        if (r != MSGLEN)
            die("client utcp_send", r);
        ap->sent = true;
    }
    if ((ev & UTCP_EV_READABLE) && B->server_first) {
        uint8_t buf[MSGLEN];
        for (;;) {
            long r = utcp_recv(B->a, sk, buf, sizeof buf);
            if (r == UTCP_EAGAIN)
                return;
            if (r > 0) {
                if (ap->got + r > MSGLEN ||
                    memcmp(buf, B->rep + ap->got, (size_t)r) != 0)
                    B->bad_data++;
                ap->got = (uint8_t)(ap->got + r);
                continue;
            }
            if (r < 0)
                B->errors++;
            else if (ap->got != MSGLEN)
                B->bad_data++;
            /* EOF after the reply: the client closes second */
            ap->live = false;
            utcp_close(B->a, sk);
            B->client_done++;
            B->done++;
            B->inflight--;
            return;
        }
    }
    if (ev & UTCP_EV_READABLE) {
        uint8_t buf[MSGLEN];
        for (;;) {
            long r = utcp_recv(B->a, sk, buf, MSGLEN - ap->got);
            if (r <= 0)
                break;
            if (memcmp(buf, B->rep + ap->got, (size_t)r) != 0)
                B->bad_data++;
            ap->got = (uint8_t)(ap->got + r);
            if (ap->got == MSGLEN)
                break;
        }
        if (ap->got == MSGLEN) {
            /* the client closes first: FIN, then TIME_WAIT here */
            ap->live = false;
            utcp_close(B->a, sk);
            B->client_done++;
            B->inflight--;
        }
    }
}

static void serve(struct bench *B, utcp_sock sk)
{
    struct app *ap = app_of(&B->sa, sk);
    if (!ap->live)
        return;
    uint8_t buf[MSGLEN];
    for (;;) {
        long r = utcp_recv(B->b, sk, buf, sizeof buf);
        if (r == UTCP_EAGAIN)
            return;
        if (r < 0) {
            B->errors++;
            break;
        }
        if (r == 0) {
            if (ap->got != MSGLEN || !ap->sent)
                B->bad_data++;
            break; /* EOF: the server closes */
        }
        if (ap->got + r > MSGLEN ||
            memcmp(buf, B->req + ap->got, (size_t)r) != 0)
            B->bad_data++;
        ap->got = (uint8_t)(ap->got + r);
        if (ap->got == MSGLEN && !ap->sent) {
            long w = utcp_send(B->b, sk, B->rep, MSGLEN);
            if (w != MSGLEN)
                die("server utcp_send", w);
            ap->sent = true;
            if (B->server_first)
                break; /* close now: FIN after the reply */
        }
    }
    ap->live = false;
    utcp_close(B->b, sk);
    B->server_done++;
    if (!B->server_first)
        B->done++;
}

static void server_event(struct bench *B, utcp_sock sk, uint32_t ev)
{
    if (ev & UTCP_EV_ACCEPT) {
        utcp_sock c;
        while (utcp_accept(B->b, sk, &c) == 0) {
            struct app *ap = app_of(&B->sa, c);
            memset(ap, 0, sizeof *ap);
            ap->live = true;
            serve(B, c);
        }
        return;
    }
    if (ev & (UTCP_EV_READABLE | UTCP_EV_ERROR))
        serve(B, sk);
}

/* Delivers packets and hands out events until nothing moves. */
static void settle(struct bench *B)
{
    for (;;) {
        uint64_t moved = bw_pump(&B->w);
        utcp_sock sk;
        uint32_t ev;
        while (utcp_next_event(B->b, &sk, &ev) == 0) {
            server_event(B, sk, ev);
            moved++;
        }
        while (utcp_next_event(B->a, &sk, &ev) == 0) {
            client_event(B, sk, ev);
            moved++;
        }
        if (!moved && bw_wire_idle(&B->w))
            break;
    }
}

/* One round: the clock moves, new lifecycles fill the window, everything
 * settles, due timers run. */
static void run_round(struct bench *B, uint64_t inflight_max)
{
    set_now(B);
    while (B->inflight < inflight_max)
        if (!open_one(B))
            break;
    settle(B);
    bw_tick_due(&B->w);
}

struct twcount {
    uint64_t tw, other;
};

static void count_conn(void *ctx, utcp_sock sk, const struct utcp_info *info)
{
    struct twcount *t = ctx;
    (void)sk;
    if (info->state == UTCP_TIME_WAIT)
        t->tw++;
    else
        t->other++;
}

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--seconds X] [--inflight K] [--alloc malloc|pool] "
            "[--ephemeral]\n"
            "          [--server-first] [--count N]\n"
            "  --seconds X   measure for X seconds (default 5)\n"
            "  --count N     measure exactly N lifecycles on a virtual clock\n"
            "                (%u us per round) after a warm-up of N/10: the\n"
            "                run is deterministic, for instruction counts\n"
            "                (valgrind --tool=callgrind); rates are then of\n"
            "                virtual time and mean nothing\n"
            "  --inflight K  lifecycles kept in flight (default 128)\n"
            "  --alloc A     the stacks' allocator: malloc (counting wrapper, "
            "default)\n"
            "                or pool (freed blocks cached per size)\n"
            "  --ephemeral   let the stack pick client ports (RFC 6056) "
            "instead of\n"
            "                binding them in turn with REUSEADDR\n"
            "  --server-first the server closes after its reply (its side "
            "keeps\n"
            "                TIME_WAIT), the client closes on EOF\n",
            prog, VROUND_US);
}

int main(int argc, char **argv)
{
    double seconds = 5, inflight_d = 128, count_d = 0;
    int alloc = 0;
    bool ephemeral = false, server_first = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, argv[0]);
            return 0;
        } else if (strcmp(a, "--ephemeral") == 0) {
            ephemeral = true;
        } else if (strcmp(a, "--server-first") == 0) {
            server_first = true;
        } else if (i + 1 < argc && strcmp(a, "--seconds") == 0) {
            if (!bw_arg_double(argv[0], a, argv[++i], 0.001, 3600, &seconds))
                return 2;
        } else if (i + 1 < argc && strcmp(a, "--count") == 0) {
            if (!bw_arg_double(argv[0], a, argv[++i], 1, 1e12, &count_d))
                return 2;
        } else if (i + 1 < argc && strcmp(a, "--inflight") == 0) {
            if (!bw_arg_double(argv[0], a, argv[++i], 1, 60000, &inflight_d))
                return 2;
        } else if (i + 1 < argc && strcmp(a, "--alloc") == 0) {
            const char *v = argv[++i];
            if (strcmp(v, "malloc") == 0)
                alloc = 0;
            else if (strcmp(v, "pool") == 0)
                alloc = 1;
            else {
                usage(stderr, argv[0]);
                return 2;
            }
        } else {
            usage(stderr, argv[0]);
            return 2;
        }
    }
    uint64_t inflight_max = (uint64_t)inflight_d;

    static struct bench B;
    B.ephemeral = ephemeral;
    B.server_first = server_first;
    for (int i = 0; i < MSGLEN; i++) {
        B.req[i] = (uint8_t)('a' + i % 26);
        B.rep[i] = (uint8_t)('A' + i % 26);
    }
    struct bw_pool pools[2];
    struct bw_count counts[2];
    struct utcp_allocator allocs[2];
    memset(pools, 0, sizeof pools);
    memset(counts, 0, sizeof counts);
    struct bw_count *cnt[2];
    for (int i = 0; i < 2; i++) {
        if (alloc) {
            allocs[i] = (struct utcp_allocator){bw_pool_alloc, bw_pool_free,
                                                &pools[i]};
            cnt[i] = &pools[i].count;
        } else {
            allocs[i] = (struct utcp_allocator){bw_count_alloc,
                                                bw_count_free, &counts[i]};
            cnt[i] = &counts[i];
        }
    }
    struct utcp_config cfg;
    utcp_config_init(&cfg);
    cfg.seed = 7;
    if (ephemeral) {
        cfg.ephemeral_lo = (uint16_t)LPORT_LO;
        cfg.ephemeral_hi = 65535;
    }
    long rss0 = bw_rss_kib();
    bw_wire_init(&B.w, 2, ADDR_BASE, &cfg, allocs);
    B.a = B.w.st[0];
    B.b = B.w.st[1];
    B.count = (uint64_t)count_d;
    B.base = bw_mono_us() - 1000000u;
    B.vnow = 1000000u - VROUND_US;
    set_now(&B);
    for (int i = 0; i < NLISTEN; i++) {
        long r;
        if ((r = utcp_socket(B.b, &B.listeners[i])) ||
            (r = utcp_bind(B.b, B.listeners[i], 0, (uint16_t)(PORT0 + i))) ||
            (r = utcp_listen(B.b, B.listeners[i], 4096)))
            die("listen", r);
    }
    /* warm up (allocations, tables), then measure from a steady state */
    double warm = seconds / 10 < 0.2 ? seconds / 10 : 0.2;
    if (B.count)
        while (B.done < B.count / 10)
            run_round(&B, inflight_max);
    else
        for (double tw_end = bw_now_s() + warm; bw_now_s() < tw_end;)
            run_round(&B, inflight_max);
    struct utcp_counters c0a, c0b;
    utcp_get_counters(B.a, &c0a);
    utcp_get_counters(B.b, &c0b);
    uint64_t done0 = B.done, pk0 = B.w.delivered;
    int twside = server_first ? 1 : 0; /* the stack keeping TIME_WAIT */
    size_t live0 = cnt[twside]->live;
    struct twcount tw0 = {0, 0};
    utcp_foreach_conn(B.w.st[twside], count_conn, &tw0);
    long rss1 = bw_rss_kib();
    double t0 = bench_now_s(&B), t = t0;
    uint64_t iter = 0;
    if (B.count)
        while (B.done - done0 < B.count)
            run_round(&B, inflight_max);
    else
        while (t - t0 < seconds) {
            run_round(&B, inflight_max);
            if ((++iter & 15u) == 0)
                t = bw_now_s();
        }
    double t1 = bench_now_s(&B);
    uint64_t done = B.done - done0;
    uint64_t pkts = B.w.delivered - pk0;
    /* let the lifecycles in flight finish (untimed) */
    for (int i = 0; i < 1000 && (B.inflight || B.done < B.opened);
         i++) {
        set_now(&B);
        settle(&B);
        bw_tick_due(&B.w);
    }
    struct utcp_counters ca, cb;
    utcp_get_counters(B.a, &ca);
    utcp_get_counters(B.b, &cb);
    struct twcount tw = {0, 0};
    utcp_foreach_conn(B.w.st[twside], count_conn, &tw);
    struct twcount tws = {0, 0};
    utcp_foreach_conn(B.w.st[1 - twside], count_conn, &tws);
    long rss2 = bw_rss_kib();
    size_t live = cnt[twside]->live;

    double el = t1 - t0;
    printf("utcp connection lifecycles, two stacks in one thread over an "
           "in-memory wire\n(one core; connect, %d-byte request, %d-byte "
           "reply, %s closes first,\n%s closes on EOF; %llu in "
           "flight; %d server ports; client ports %s;\nMSL default: "
           "TIME_WAIT lasts 60 s, so every record made here is still held)\n",
           MSGLEN, MSGLEN, server_first ? "server" : "client",
           server_first ? "client" : "server",
           (unsigned long long)inflight_max, NLISTEN,
           ephemeral ? "picked by the stack (RFC 6056)"
                     : "bound in turn with REUSEADDR");
    printf("command: %s\n\n", bw_cmdline(argc, argv));
    printf("lifecycles/s          %.0f  (%llu in %.3f s)\n",
           (double)done / el, (unsigned long long)done, el);
    printf("packets/s             %.0f  (%.2f packets per lifecycle)\n",
           (double)pkts / el, done ? (double)pkts / (double)done : 0.0);
    printf("errors                %llu errors, %llu bad data, %llu connect "
           "failures, %llu busy ports skipped\n",
           (unsigned long long)B.errors, (unsigned long long)B.bad_data,
           (unsigned long long)B.connect_fail,
           (unsigned long long)B.bind_busy);
    printf("%s TIME_WAIT      %llu records now (%llu before the timed "
           "run), %llu other connections\n",
           server_first ? "server" : "client", (unsigned long long)tw.tw,
           (unsigned long long)tw0.tw, (unsigned long long)tw.other);
    printf("%s connections    %llu (listeners included)\n",
           server_first ? "client" : "server",
           (unsigned long long)(tws.tw + tws.other));
    printf("TIME_WAIT recycled    %llu (4-tuple reused by a new %s)\n",
           (unsigned long long)(server_first
                                    ? cb.TimeWaitRecycled - c0b.TimeWaitRecycled
                                    : ca.TimeWaitRecycled -
                                          c0a.TimeWaitRecycled),
           server_first ? "SYN" : "connect");
    double twb = tw.tw > tw0.tw ? (double)(live > live0 ? live - live0 : 0) /
                                      (double)(tw.tw - tw0.tw)
                                : 0;
    printf("%s memory held    %.1f MiB by the allocator (%.0f bytes per "
           "TIME_WAIT record added)\n",
           server_first ? "server" : "client", (double)live / 1048576.0,
           twb);
    printf("resident memory       %ld KiB before stacks, %ld after warm-up, "
           "%ld at the end\n",
           rss0, rss1, rss2);
    printf("client counters       ActiveOpens %llu ConnsAlloc %llu ConnsFree "
           "%llu OutRsts %llu Retrans %llu\n",
           (unsigned long long)ca.ActiveOpens,
           (unsigned long long)ca.ConnsAlloc,
           (unsigned long long)ca.ConnsFree,
           (unsigned long long)ca.OutRsts,
           (unsigned long long)ca.RetransSegs);
    printf("server counters       PassiveOpens %llu ConnsAlloc %llu "
           "ConnsFree %llu ListenOverflows %llu Retrans %llu\n",
           (unsigned long long)cb.PassiveOpens,
           (unsigned long long)cb.ConnsAlloc,
           (unsigned long long)cb.ConnsFree,
           (unsigned long long)cb.ListenOverflows,
           (unsigned long long)cb.RetransSegs);
    bool ok = B.errors == 0 && B.bad_data == 0 && done > 0;
    bw_wire_destroy(&B.w);
    bw_pool_destroy(&pools[0]);
    bw_pool_destroy(&pools[1]);
    free(B.ca.a);
    free(B.sa.a);
    return ok ? 0 : 1;
}
