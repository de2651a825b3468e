/*
 * `utcp sim --random N --seed S`: N generated scenario scripts (sizes, close
 * orders, buffers, loss, duplication, reordering, corruption), each checked
 * for byte-exact delivery, legal RFC 9293 transitions, clean close, no leak;
 * a failing one is saved as a replayable .utcp. Never lets a run read a clock.
 */
#define _POSIX_C_SOURCE 200809L /* clock_gettime */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "link/scenario.h"
#include "sim.h"

#define SCRIPT_MAX 4096
#define MAX_SAVED 5

struct text {
    char buf[SCRIPT_MAX];
    size_t len;
};

static void put(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct text *t, const char *fmt, ...)
{
    if (t->len >= sizeof t->buf)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, sizeof t->buf - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len += (size_t)n;
    if (t->len > sizeof t->buf)
        t->len = sizeof t->buf;
}

static uint64_t pick(struct utcp_prng *r, uint64_t lo, uint64_t hi)
{
    return lo + utcp_prng_below(r, hi - lo + 1);
}

/* A transfer size: often small, sometimes none, now and then large. */
static uint64_t pick_size(struct utcp_prng *r)
{
    switch (utcp_prng_below(r, 6)) {
    case 0:
        return 0;
    case 1:
        return pick(r, 1, 100);
    case 2:
    case 3:
        return pick(r, 100, 5000);
    case 4:
        return pick(r, 5000, 60000);
    default:
        return pick(r, 60000, 250000);
    }
}

/* "0.37%" from ppm. */
static void pct(char *buf, size_t cap, uint64_t ppm)
{
    snprintf(buf, cap, "%" PRIu64 ".%04" PRIu64 "%%", ppm / 10000u,
             ppm % 10000u);
}

static void gen_link(struct text *t, struct utcp_prng *r, const char *dir)
{
    char a[24], b[24];
    uint64_t delay = pick(r, 1, 40);
    put(t, "link %s delay %" PRIu64 "ms", dir, delay);
    if (utcp_prng_chance(r, 500000))
        put(t, " jitter %" PRIu64 "us", pick(r, 0, delay * 500));
    uint64_t profile = utcp_prng_below(r, 7);
    if (profile == 1 || profile == 5) {
        pct(a, sizeof a, pick(r, 1000, 50000));
        put(t, " loss %s", a);
    }
    if (profile == 2 || profile == 5) {
        pct(a, sizeof a, pick(r, 5000, 30000));
        put(t, " dup %s dup-gap %" PRIu64 "us", a, pick(r, 1, 20000));
    }
    if (profile == 3 || profile == 5) {
        pct(a, sizeof a, pick(r, 5000, 50000));
        put(t, " reorder %s reorder-delay %" PRIu64 "ms", a, pick(r, 1, 30));
    }
    if (profile == 4 || profile == 5) {
        pct(a, sizeof a, pick(r, 2000, 30000));
        put(t, " corrupt %s", a);
    }
    if (profile == 6) /* a bottleneck with a tail-drop queue */
        put(t, " rate %" PRIu64 "Mbit queue %" PRIu64 "KiB", pick(r, 1, 50),
            pick(r, 8, 64));
    if (profile == 0 && utcp_prng_chance(r, 300000)) {
        pct(a, sizeof a, pick(r, 2000, 20000));
        /* Bursts of a few packets: a long one could outlast every
         * retransmission (data-retries), a legitimate time-out. */
        pct(b, sizeof b, pick(r, 500000, 900000));
        put(t, " burst %s %s", a, b);
    }
    put(t, "\n");
}

static const uint64_t bufs[] = {4096, 16384, 65536, 131072};

static void gen_setup(struct text *t, struct utcp_prng *r, uint64_t seed)
{
    put(t, "seed %" PRIu64 "\n", seed);
    gen_link(t, r, "A->B");
    gen_link(t, r, "B->A");
    /* 2*MSL must outlast the peer's FIN retransmissions (RFC 9293 3.4.1
     * assumes MSL far above the RTO): with less, a TIME_WAIT that ends
     * before a lost ACK is repaired ends in a legitimate RST. MSL from 30 s
     * (BSD) to 2 min (RFC 793); with 2 to 10 s, bursty loss produced such
     * RST endings in about 1 run in 5000. */
    for (int node = 0; node < 2; node++)
        put(t, "stack %c msl %" PRIu64 "ms sndbuf %" PRIu64 " rcvbuf %" PRIu64
               "\n",
            node ? 'B' : 'A', pick(r, 30000, 120000),
            bufs[utcp_prng_below(r, 4)], bufs[utcp_prng_below(r, 4)]);
}

/* How the two ends close (after their data). */
enum close_order { A_FIRST, B_FIRST, TOGETHER, A_CLOSES, CLOSE_COUNT };

static const char *const order_names[CLOSE_COUNT] = {
    "A shuts down first", "B shuts down first", "both close at once",
    "A closes once it has B's data"};

/* One side's script after connect/accept: send, then its part of the
 * close. first: this side ends its sending first. */
static void gen_side(struct text *t, const char *s, uint64_t send,
                     uint64_t peer_send, int order, bool is_a)
{
    if (send)
        put(t, "%s send %" PRIu64 "\n", s, send);
    bool first = (order == A_FIRST && is_a) || (order == B_FIRST && !is_a);
    switch (order) {
    case A_FIRST:
    case B_FIRST:
        put(t, first ? "%s shutdown\n%s recv eof\n%s close\n"
                     : "%s recv eof\n%s close\n",
            s, s, s);
        break;
    case TOGETHER:
        break; /* after `wait idle` */
    default:
        if (is_a)
            put(t, "%s recv %" PRIu64 "\n%s close\n", s, peer_send, s);
        else
            put(t, "%s recv eof\n%s close\n", s, s);
        break;
    }
}

/* A whole script for one run. */
static int gen_script(struct text *t, uint64_t seed)
{
    struct utcp_prng r;
    utcp_prng_seed(&r, seed);
    t->len = 0;
    int order = (int)utcp_prng_below(&r, CLOSE_COUNT);
    uint64_t na = pick_size(&r), nb = pick_size(&r);
    put(t, "# utcp sim --random: A sends %" PRIu64 ", B sends %" PRIu64
           "; %s\n",
        na, nb, order_names[order]);
    put(t, "title \"random run: %" PRIu64 " and %" PRIu64 " bytes, %s\"\n", na,
        nb, order_names[order]);
    gen_setup(t, &r, seed);
    bool nodelay_a = utcp_prng_chance(&r, 250000);
    bool nodelay_b = utcp_prng_chance(&r, 250000);
    put(t, "\nat 0 B.l listen 80\nB.s accept l\nB.s recv auto\n");
    if (nodelay_b)
        put(t, "B.s set nodelay on\n");
    /* When A closes after reading B's data, it reads in its own time. */
    put(t, "at %" PRIu64 "ms A.c connect B 80\n%s", pick(&r, 0, 20),
        order == A_CLOSES ? "" : "A.c recv auto\n");
    if (nodelay_a)
        put(t, "A.c set nodelay on\n");
    gen_side(t, "A.c", na, nb, order, true);
    gen_side(t, "B.s", nb, na, order, false);
    if (order == TOGETHER) /* the FINs cross */
        put(t, "wait idle\nA.c shutdown\nB.s shutdown\nA.c recv eof\n"
               "B.s recv eof\nA.c close\nB.s close\n");
    put(t, "wait idle\nB.l close\nwait idle\n");
    put(t, "expect A.c received %" PRIu64 "%s\n", nb,
        order == A_CLOSES ? "" : " eof");
    put(t, "expect B.s received %" PRIu64 " eof\n", na);
    if (order != B_FIRST)
        put(t, "expect A.c state TIME_WAIT by 100h\n");
    if (order == B_FIRST || order == TOGETHER)
        put(t, "expect B.s state TIME_WAIT by 100h\n");
    put(t, "expect clean\n");
    return order;
}

struct totals {
    uint64_t passed, failed, bytes, segs, lost, rtx, saved;
};

static void save(const char *dir, uint64_t k, uint64_t seed,
                 const struct text *t, const struct scn_result *r,
                 struct totals *tot)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/utcp-random-%" PRIu64 ".utcp", dir, seed);
    FILE *f = tot->saved < MAX_SAVED ? fopen(path, "w") : NULL;
    fprintf(stderr, "utcp sim --random: run %" PRIu64 " (seed %" PRIu64
                    ") FAILED:\n", k, seed);
    for (size_t i = 0; i < r->nfail; i++)
        fprintf(stderr, "  line %u: %s\n", r->fail[i].line, r->fail[i].msg);
    if (!f) {
        if (tot->saved < MAX_SAVED)
            fprintf(stderr, "  (cannot write %s: %s)\n", path,
                    strerror(errno));
        fprintf(stderr, "  the script:\n%.*s", (int)t->len, t->buf);
        return;
    }
    fwrite(t->buf, 1, t->len, f);
    fprintf(f, "# Saved by utcp sim --random (run %" PRIu64 "); it failed:\n",
            k);
    for (size_t i = 0; i < r->nfail; i++)
        fprintf(f, "#   line %u: %s\n", r->fail[i].line, r->fail[i].msg);
    fprintf(f, "# Replay: utcp sim %s\n", path);
    fclose(f);
    tot->saved++;
    fprintf(stderr, "  reproduce with: utcp sim %s\n", path);
}

static void count_wire(struct utcp_sim *net, struct totals *tot)
{
    const struct utcp_sim_event *ev;
    size_t n = utcp_sim_events(net, &ev);
    for (size_t i = 0; i < n; i++)
        if (ev[i].kind == UTCP_SIM_SEG) {
            tot->segs++;
            tot->lost += ev[i].verdict.drop;
            tot->rtx += ev[i].retransmit;
        }
}

/* One run; returns true when it passed. */
static bool one_run(uint64_t k, uint64_t seed, const char *dir, bool verbose,
                    struct totals *tot)
{
    static struct text t;
    int order = gen_script(&t, seed);
    struct scn s;
    struct scn_error err;
    if (utcp__scn_parse(t.buf, t.len, &s, &err) < 0) {
        fprintf(stderr, "utcp sim --random: internal error: generated script "
                        "line %u:%u: %s\n%.*s", err.line, err.col, err.msg,
                (int)t.len, t.buf);
        tot->failed++;
        return false;
    }
    struct scn_result r;
    int rc = utcp__scn_run(&s, NULL, &r);
    bool ok = rc == 0;
    if (r.net)
        count_wire(r.net, tot);
    tot->bytes += r.bytes_delivered;
    if (verbose)
        printf("run %" PRIu64 " seed %" PRIu64 ": %s, %" PRIu64 " bytes: %s\n",
               k, seed, order_names[order], r.bytes_delivered,
               ok ? "ok" : "FAILED");
    if (ok)
        tot->passed++;
    else {
        tot->failed++;
        save(dir, k, seed, &t, &r, tot);
    }
    utcp_sim_destroy(r.net);
    utcp__scn_free(&s);
    return ok;
}

static double wall_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int sim_random(uint64_t runs, uint64_t seed, const char *out_dir,
               bool verbose)
{
    struct totals tot;
    memset(&tot, 0, sizeof tot);
    struct utcp_prng seeds;
    utcp_prng_seed(&seeds, seed);
    double t0 = wall_seconds();
    for (uint64_t k = 1; k <= runs; k++)
        one_run(k, utcp_prng_next(&seeds), out_dir, verbose, &tot);
    double dt = wall_seconds() - t0;
    printf("utcp sim --random %" PRIu64 " --seed %" PRIu64 ": %" PRIu64
           " passed, %" PRIu64 " failed; %" PRIu64 " bytes delivered, %" PRIu64
           " segments (%" PRIu64 " lost on the wire, %" PRIu64
           " retransmitted); %.1f s, %.0f runs/s\n",
           runs, seed, tot.passed, tot.failed, tot.bytes, tot.segs, tot.lost,
           tot.rtx, dt, dt > 0 ? (double)runs / dt : 0.0);
    if (tot.failed)
        printf("FAILED: %" PRIu64 " of %" PRIu64 " runs; the first %" PRIu64
               " saved in %s as utcp-random-SEED.utcp\n",
               tot.failed, runs, tot.saved, out_dir);
    fflush(stdout);
    return tot.failed ? 1 : 0;
}
