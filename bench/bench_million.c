/*
 * N (default one million) concurrent established idle connections between
 * a server stack and client stacks over the in-memory wire (memwire.h):
 * memory per connection (VmRSS and a counting allocator), the cost of
 * utcp_tick with all idle, then the memory of N TIME_WAIT records, their
 * expiry, and a leak check (ConnsAlloc == ConnsFree, allocator back to base).
 */
#include "memwire.h"

#define ADDR_BASE 0xC6120101u  /* 198.18.1.1: server; .2, .3...: clients */
#define PORT 80
#define PER_CLIENT 64000u      /* one stack's local ports hold one
                                  connection each (ports 1024..65535) */
#define BATCH 2048u

struct bench {
    struct bw_wire w;
    int nst;                   /* 1 server + clients */
    struct bw_count *cnt;      /* per stack */
    utcp_sock listener;
    utcp_sock *srv;            /* accepted sockets */
    uint64_t nsrv;
    uint64_t srv_closed;
    uint64_t errors;
};

static void die(const char *what, long r)
{
    fprintf(stderr, "bench_million: %s failed: %ld\n", what, r);
    exit(1);
}

/* Delivers everything and handles every event: the server accepts, and
 * closes a connection when its peer's FIN (EOF) arrives. */
static void settle(struct bench *B)
{
    for (;;) {
        uint64_t moved = bw_pump(&B->w);
        utcp_sock sk;
        uint32_t ev;
        struct utcp_stack *srv = B->w.st[0];
        while (utcp_next_event(srv, &sk, &ev) == 0) {
            moved++;
            if (sk == B->listener) {
                utcp_sock c;
                while (utcp_accept(srv, B->listener, &c) == 0)
                    B->srv[B->nsrv++] = c;
                continue;
            }
            if (ev & (UTCP_EV_READABLE | UTCP_EV_ERROR)) {
                char buf[16];
                long r = utcp_recv(srv, sk, buf, sizeof buf);
                if (r == 0 || (r < 0 && r != UTCP_EAGAIN)) {
                    if (r < 0)
                        B->errors++;
                    utcp_close(srv, sk);
                    B->srv_closed++;
                }
            }
        }
        for (int i = 1; i < B->nst; i++)
            while (utcp_next_event(B->w.st[i], &sk, &ev) == 0) {
                moved++;
                if (ev & UTCP_EV_ERROR)
                    B->errors++;
            }
        if (!moved && bw_wire_idle(&B->w))
            break;
    }
}

static size_t live_sum(const struct bench *B, int from, int to)
{
    size_t s = 0;
    for (int i = from; i < to; i++)
        s += B->cnt[i].live;
    return s;
}

struct census {
    uint64_t tw, estab, other;
};

static void census_fn(void *ctx, utcp_sock sk, const struct utcp_info *info)
{
    struct census *c = ctx;
    (void)sk;
    if (info->state == UTCP_TIME_WAIT)
        c->tw++;
    else if (info->state == UTCP_ESTABLISHED)
        c->estab++;
    else
        c->other++;
}

static struct census census_of(struct bench *B, int from, int to)
{
    struct census c = {0, 0, 0};
    for (int i = from; i < to; i++)
        utcp_foreach_conn(B->w.st[i], census_fn, &c);
    return c;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Median and maximum cost of `reps` ticks of stack st, each `step`
 * microseconds after the last, in nanoseconds. */
static void time_ticks(struct bench *B, struct utcp_stack *st, int reps,
                       uint64_t step, uint64_t *median, uint64_t *max)
{
    uint64_t *ns = malloc((size_t)reps * sizeof *ns);
    if (!ns)
        die("malloc", 0);
    for (int i = 0; i < reps; i++) {
        B->w.now += step;
        uint64_t t0 = bw_mono_ns();
        utcp_tick(st, B->w.now);
        ns[i] = bw_mono_ns() - t0;
    }
    qsort(ns, (size_t)reps, sizeof *ns, cmp_u64);
    *median = ns[reps / 2];
    *max = ns[reps - 1];
    free(ns);
}

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--conns N] [--seconds X]\n"
            "  --conns N    connections (default 1000000; 10000 with "
            "--seconds)\n"
            "  --seconds X  smoke run: fewer connections (no time limit "
            "otherwise)\n",
            prog);
}

int main(int argc, char **argv)
{
    double conns_d = 0, seconds = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, argv[0]);
            return 0;
        } else if (i + 1 < argc && strcmp(a, "--conns") == 0) {
            if (!bw_arg_double(argv[0], a, argv[++i], 1, 1e8, &conns_d))
                return 2;
        } else if (i + 1 < argc && strcmp(a, "--seconds") == 0) {
            if (!bw_arg_double(argv[0], a, argv[++i], 0.001, 3600, &seconds))
                return 2;
        } else {
            usage(stderr, argv[0]);
            return 2;
        }
    }
    uint64_t n = conns_d > 0 ? (uint64_t)conns_d
                             : (seconds > 0 ? 10000u : 1000000u);
    int nclients = (int)((n + PER_CLIENT - 1) / PER_CLIENT);

    static struct bench B;
    B.nst = 1 + nclients;
    B.cnt = calloc((size_t)B.nst, sizeof *B.cnt);
    struct utcp_allocator *allocs = calloc((size_t)B.nst, sizeof *allocs);
    utcp_sock *cli = malloc(n * sizeof *cli);
    B.srv = malloc(n * sizeof *B.srv);
    if (!B.cnt || !allocs || !cli || !B.srv)
        die("malloc", 0);
    memset(cli, 0, n * sizeof *cli); /* touch: resident before baseline */
    memset(B.srv, 0, n * sizeof *B.srv);
    for (int i = 0; i < B.nst; i++)
        allocs[i] = (struct utcp_allocator){bw_count_alloc, bw_count_free,
                                            &B.cnt[i]};
    struct utcp_config cfg;
    utcp_config_init(&cfg);
    cfg.seed = 11;
    cfg.ephemeral_lo = 1024;
    cfg.ephemeral_hi = 65535;
    uint32_t msl_ms = 30000;
    cfg.msl_ms = msl_ms;

    long rss0 = bw_rss_kib();
    bw_wire_init(&B.w, B.nst, ADDR_BASE, &cfg, allocs);
    struct utcp_stack *srv = B.w.st[0];
    B.w.now = 1000000;
    long r;
    if ((r = utcp_socket(srv, &B.listener)) ||
        (r = utcp_bind(srv, B.listener, 0, PORT)) ||
        (r = utcp_listen(srv, B.listener, 65535)))
        die("listen", r);
    for (int i = 0; i < B.nst; i++)
        utcp_tick(B.w.st[i], B.w.now);
    size_t base_srv = live_sum(&B, 0, 1), base_cli = live_sum(&B, 1, B.nst);
    long rss1 = bw_rss_kib();

    /* ---- set up n connections ---- */
    double t0 = bw_now_s();
    uint64_t made = 0;
    uint64_t nbatch = 0, bmax = 0;
    uint64_t *bns = malloc((n / BATCH + 2) * sizeof *bns);
    if (!bns)
        die("malloc", 0);
    for (int c = 1; c < B.nst; c++) {
        uint64_t quota = n - made < PER_CLIENT ? n - made : PER_CLIENT;
        uint64_t end = made + quota;
        while (made < end) {
            uint64_t b = end - made < BATCH ? end - made : BATCH;
            uint64_t tb = bw_mono_ns();
            for (uint64_t k = 0; k < b; k++) {
                utcp_sock sk;
                if ((r = utcp_socket(B.w.st[c], &sk)))
                    die("utcp_socket", r);
                r = utcp_connect(B.w.st[c], sk, ADDR_BASE, PORT);
                if (r != UTCP_EINPROGRESS)
                    die("utcp_connect", r);
                cli[made++] = sk;
            }
            B.w.now += 100;
            settle(&B);
            if (b == BATCH) {
                bns[nbatch] = bw_mono_ns() - tb;
                if (bns[nbatch] > bmax)
                    bmax = bns[nbatch];
                nbatch++;
            }
        }
    }
    double t1 = bw_now_s();
    uint64_t bmed = 0;
    if (nbatch) {
        qsort(bns, nbatch, sizeof *bns, cmp_u64);
        bmed = bns[nbatch / 2];
    }
    free(bns);
    struct utcp_counters cs;
    utcp_get_counters(srv, &cs);
    struct census ce_c = census_of(&B, 1, B.nst);
    long rss2 = bw_rss_kib();
    size_t live_srv = live_sum(&B, 0, 1), live_cli = live_sum(&B, 1, B.nst);
    uint64_t next_dl = UINT64_MAX;
    for (int i = 0; i < B.nst; i++) {
        uint64_t d = utcp_next_deadline(B.w.st[i]);
        if (d < next_dl)
            next_dl = d;
    }

    /* ---- utcp_tick with everything idle ---- */
    uint64_t tk_med, tk_max, tk1_med, tk1_max, tc_med, tc_max;
    time_ticks(&B, srv, 1001, 1000, &tk_med, &tk_max);      /* +1 ms */
    time_ticks(&B, srv, 101, 10000000, &tk1_med, &tk1_max); /* +10 s */
    time_ticks(&B, B.w.st[1], 1001, 1000, &tc_med, &tc_max);
    for (int i = 0; i < B.nst; i++)
        utcp_tick(B.w.st[i], B.w.now);

    /* ---- close: clients first (they keep TIME_WAIT) ---- */
    double t2 = bw_now_s();
    for (uint64_t i = 0; i < n; i++) {
        int c = 1 + (int)(i / PER_CLIENT);
        if ((r = utcp_close(B.w.st[c], cli[i])))
            die("utcp_close", r);
        if ((i + 1) % BATCH == 0 || i + 1 == n) {
            B.w.now += 100;
            settle(&B);
        }
    }
    double t3 = bw_now_s();
    struct census tw_c = census_of(&B, 1, B.nst);
    struct census tw_s = census_of(&B, 0, 1);
    long rss3 = bw_rss_kib();
    size_t tw_live_cli = live_sum(&B, 1, B.nst);
    size_t tw_live_srv = live_sum(&B, 0, 1);

    /* ---- TIME_WAIT expiry: 2*MSL later ---- */
    B.w.now += 2ull * msl_ms * 1000u + 1000000u;
    double t4 = bw_now_s();
    for (int i = 0; i < B.nst; i++)
        utcp_tick(B.w.st[i], B.w.now);
    double t5 = bw_now_s();
    settle(&B);
    struct census left = census_of(&B, 1, B.nst);
    utcp_close(srv, B.listener);
    settle(&B);
    bool balanced = true;
    uint64_t alloc_sum = 0, free_sum = 0;
    for (int i = 0; i < B.nst; i++) {
        struct utcp_counters c;
        utcp_get_counters(B.w.st[i], &c);
        alloc_sum += c.ConnsAlloc;
        free_sum += c.ConnsFree;
        if (c.ConnsAlloc != c.ConnsFree)
            balanced = false;
    }
    size_t end_cli = live_sum(&B, 1, B.nst), end_srv = live_sum(&B, 0, 1);
    bw_wire_destroy(&B.w);
    size_t after_destroy = live_sum(&B, 0, B.nst);

    double dn = (double)n;
    printf("utcp: %llu concurrent established idle connections, one server "
           "stack and %d client\nstacks in one thread over an in-memory "
           "wire (empty buffers, no keep-alive)\n",
           (unsigned long long)n, nclients);
    printf("command: %s\n\n", bw_cmdline(argc, argv));
    printf("set up                  %.2f s (%.0f connections/s), server "
           "CurrEstab %llu, clients ESTABLISHED %llu, errors %llu\n",
           t1 - t0, dn / (t1 - t0), (unsigned long long)cs.CurrEstab,
           (unsigned long long)ce_c.estab, (unsigned long long)B.errors);
    printf("set-up batches          %u connects each: median %.2f ms, "
           "slowest %.2f ms (table growth pauses)\n",
           BATCH, (double)bmed / 1e6, (double)bmax / 1e6);
    printf("resident (VmRSS)        %ld KiB before stacks, %ld with empty "
           "stacks, %ld established:\n"
           "                        %.0f bytes per connection (both stacks "
           "hold one: divided by 2N)\n",
           rss0, rss1, rss2, (double)(rss2 - rss1) * 1024.0 / (2.0 * dn));
    printf("allocator, server       %.0f bytes per connection (%.1f MiB "
           "held, %.1f MiB before)\n",
           (double)(live_srv - base_srv) / dn,
           (double)live_srv / 1048576.0, (double)base_srv / 1048576.0);
    printf("allocator, clients      %.0f bytes per connection (%.1f MiB "
           "held, %.1f MiB before)\n",
           (double)(live_cli - base_cli) / dn,
           (double)live_cli / 1048576.0, (double)base_cli / 1048576.0);
    printf("next timer deadline     %s\n",
           next_dl == UINT64_MAX ? "none (no timer armed)" : "armed");
    printf("utcp_tick, all idle     server: median %llu ns, max %llu ns "
           "(+1 ms each); median %llu ns, max %llu (+10 s each)\n"
           "                        one client stack: median %llu ns, max "
           "%llu ns (+1 ms each)\n",
           (unsigned long long)tk_med, (unsigned long long)tk_max,
           (unsigned long long)tk1_med, (unsigned long long)tk1_max,
           (unsigned long long)tc_med, (unsigned long long)tc_max);
    printf("close all               %.2f s (%.0f/s), client TIME_WAIT %llu, "
           "other client conns %llu, server conns %llu\n",
           t3 - t2, dn / (t3 - t2), (unsigned long long)tw_c.tw,
           (unsigned long long)(tw_c.estab + tw_c.other),
           (unsigned long long)(tw_s.tw + tw_s.estab + tw_s.other));
    printf("TIME_WAIT memory        %.1f bytes per record (allocator, "
           "clients: %.1f MiB held with the records,\n"
           "                        %.1f MiB after they expired: %.1f bytes "
           "per record freed at expiry);\n"
           "                        server back to %.1f MiB; VmRSS %ld KiB "
           "(freed memory stays resident)\n",
           tw_c.tw ? (double)(tw_live_cli - base_cli) / (double)tw_c.tw : 0,
           (double)tw_live_cli / 1048576.0, (double)end_cli / 1048576.0,
           tw_c.tw ? (double)(tw_live_cli - end_cli) / (double)tw_c.tw : 0,
           (double)tw_live_srv / 1048576.0, rss3);
    printf("TIME_WAIT expiry        one utcp_tick per stack 2*MSL later: "
           "%.3f s for all; left %llu\n",
           t5 - t4, (unsigned long long)(left.tw + left.estab + left.other));
    printf("leak check              ConnsAlloc %llu ConnsFree %llu (%s);\n"
           "                        with no connection left the stacks "
           "still hold %.1f MiB (clients) and %.1f MiB\n"
           "                        (server) in tables that do not shrink; "
           "after utcp_stack_destroy: %zu bytes\n",
           (unsigned long long)alloc_sum, (unsigned long long)free_sum,
           balanced ? "equal on every stack" : "DIFFERENT",
           (double)end_cli / 1048576.0, (double)end_srv / 1048576.0,
           after_destroy);
    bool ok = balanced && B.errors == 0 && ce_c.estab == n &&
              tw_c.tw == n && after_destroy == 0 &&
              left.tw + left.estab + left.other == 0;
    printf("result                  %s\n", ok ? "ok" : "FAILED");
    free(cli);
    free(B.srv);
    free(B.cnt);
    free(allocs);
    return ok ? 0 : 1;
}
