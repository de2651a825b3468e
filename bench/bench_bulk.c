/*
 * Bulk transfer between two utcp stacks in one thread over the in-memory
 * wire (memwire.h), MSS 1460, large buffers, no loss and 1% random loss:
 * payload Gbit/s, segments/s, and a check that the stream arrived intact
 * (every byte compared with the sent pattern, and a stream checksum).
 */
#include "memwire.h"

#include "utcp/wire.h"

#define ADDR_BASE 0xC6120001u /* 198.18.0.1 (A, sender), .2 (B, receiver) */
#define PORT 5001
#define CHUNK 65536u          /* bytes per utcp_send / utcp_recv call */
#define PERIOD 1000003u       /* the sent pattern repeats every PERIOD bytes
                                 (a prime: no alignment with segments) */

struct opts {
    double mib;
    double loss_pct;          /* < 0: run both 0% and 1% */
    double seconds;           /* > 0: stop sending after this long */
    double buf_kib;
    uint64_t seed;
    int alloc;                /* -1: both; 0: malloc; 1: pool */
    unsigned offload;         /* utcp_config.offload for both stacks */
    bool zerocopy;            /* utcp_send_reserve/commit and
                                 utcp_recv_peek/consume */
    uint32_t writes;          /* > 0: writes per turn of the loop */
};

static const char *const alloc_name[2] = {"malloc", "pool"};

struct result {
    double loss_pct;
    int alloc;
    double verify_s;          /* of secs: the receiver's checks */
    uint64_t nalloc;          /* allocator calls during the transfer */
    uint64_t bytes;           /* delivered to the receiving application */
    double secs;              /* wall time, connected to EOF */
    double skipped_s;         /* idle time skipped on the clock (timers) */
    uint64_t data_segs, pkts, dropped;
    uint64_t bad_chunks;
    unsigned sum_sent, sum_rcvd;
    struct utcp_counters ca, cb;
};

/* Ones'-complement sum of the stream modulo 65535, chunked anyhow: a chunk
 * starting at an odd stream offset has its bytes swapped (RFC 1071 2(B)),
 * i.e. its sum multiplied by 256. */
static void stream_sum(uint64_t *acc, uint64_t off, const void *p, size_t n)
{
    uint32_t f = (uint16_t)~utcp_csum_fold(utcp_csum_partial(p, n, 0));
    if (off & 1u)
        f = (f * 256u) % 65535u;
    *acc += f;
}

static void die(const char *what, long r)
{
    fprintf(stderr, "bench_bulk: %s failed: %ld\n", what, r);
    exit(1);
}

static int run(const struct opts *o, double loss_pct, int alloc,
               const uint8_t *pattern, uint8_t *rbuf, struct result *res)
{
    memset(res, 0, sizeof *res);
    res->loss_pct = loss_pct;
    res->alloc = alloc;
    struct bw_pool pools[2];
    struct bw_count counts[2];
    struct utcp_allocator allocs[2];
    memset(pools, 0, sizeof pools);
    memset(counts, 0, sizeof counts);
    for (int i = 0; i < 2; i++) {
        if (alloc) {
            allocs[i].alloc = bw_pool_alloc;
            allocs[i].free = bw_pool_free;
            allocs[i].ctx = &pools[i];
        } else {
            allocs[i].alloc = bw_count_alloc;
            allocs[i].free = bw_count_free;
            allocs[i].ctx = &counts[i];
        }
    }
    struct utcp_config cfg;
    utcp_config_init(&cfg);
    cfg.mtu = 1500;
    cfg.sndbuf = cfg.rcvbuf = (uint32_t)(o->buf_kib * 1024.0);
    cfg.seed = o->seed;
    /* An in-memory wire cannot corrupt: with --offload the stacks leave
     * the TCP checksum to it (as Linux loopback does), else they compute
     * and verify every one. */
    cfg.offload = o->offload;
    struct bw_wire w;
    bw_wire_init(&w, 2, ADDR_BASE, &cfg, allocs);
    w.rng = o->seed * 0x9E3779B97F4A7C15ULL + 1u;
    w.loss_thresh = (uint64_t)(loss_pct / 100.0 * 18446744073709551615.0);
    struct utcp_stack *a = w.st[0], *b = w.st[1];

    uint64_t skew = 0, base = bw_mono_us() - 1000000u;
    w.now = bw_mono_us() - base;
    utcp_sock l, cs, ss;
    long r;
    if ((r = utcp_socket(b, &l)) || (r = utcp_bind(b, l, 0, PORT)) ||
        (r = utcp_listen(b, l, 16)))
        die("listen", r);
    if ((r = utcp_socket(a, &cs)))
        die("socket", r);
    if ((r = utcp_connect(a, cs, ADDR_BASE + 1, PORT)) != UTCP_EINPROGRESS)
        die("connect", r);
    /* Handshake (the SYN may be lost: wait for the timers). */
    for (;;) {
        bw_pump(&w);
        if ((r = utcp_accept(b, l, &ss)) != UTCP_EAGAIN)
            break;
        uint64_t next = bw_tick_due(&w);
        if (bw_wire_idle(&w)) {
            if (next == UINT64_MAX)
                die("handshake (stalled)", 0);
            if (next > w.now)
                skew += next - w.now;
        }
        w.now = bw_mono_us() - base + skew;
    }
    if (r)
        die("accept", r);
    bw_pump(&w);
    utcp_close(b, l);

    uint64_t total = (uint64_t)(o->mib * 1048576.0);
    uint64_t sent = 0, rcvd = 0, sum_s = 0, sum_r = 0;
    uint64_t nalloc0 = counts[0].nalloc + counts[1].nalloc +
                       pools[0].count.nalloc + pools[1].count.nalloc;
    double verify = 0;
    uint64_t skew0 = skew;
    bool shut = false, eof = false, capped = false;
    uint64_t stalls = 0;
    double t0 = bw_now_s();
    double cap_at = o->seconds > 0 ? t0 + o->seconds : 0;
    uint64_t iter = 0;
    uint64_t seg0 = w.data_pkts[0], pk0 = w.delivered, drop0 = w.dropped;
    while (!eof) {
        w.now = bw_mono_us() - base + skew;
        bool progress = false;
        /* the sending application: fill the send buffer (or, with
         * --writes N, make at most N writes of CHUNK bytes per turn) */
        uint32_t writes = 0;
        while (!shut && (!o->writes || writes++ < o->writes)) {
            if (cap_at > 0 && (iter & 63u) == 0 && bw_now_s() > cap_at)
                capped = true;
            if (sent < total && !capped) {
                uint64_t off = sent % PERIOD;
                uint64_t n = total - sent < CHUNK ? total - sent : CHUNK;
                if (o->zerocopy) {
                    /* the application writes its bytes in place */
                    void *dst;
                    r = utcp_send_reserve(a, cs, &dst, (size_t)n);
                    if (r > 0) {
                        memcpy(dst, pattern + off, (size_t)r);
                        long c = utcp_send_commit(a, cs, (size_t)r);
                        if (c)
                            die("utcp_send_commit", c);
                    }
                } else {
                    r = utcp_send(a, cs, pattern + off, (size_t)n);
                }
                if (r == UTCP_EAGAIN)
                    break;
                if (r <= 0)
                    die("utcp_send", r);
                sent += (uint64_t)r;
                progress = true;
            } else {
                if ((r = utcp_shutdown(a, cs, UTCP_SHUT_WR)))
                    die("utcp_shutdown", r);
                shut = true;
                progress = true;
            }
        }
        if (bw_pump(&w))
            progress = true;
        /* the receiving application: read and check everything there */
        for (;;) {
            const uint8_t *got = rbuf;
            if (o->zerocopy) {
                /* checked where the stack holds them: no copy out */
                const void *d;
                r = utcp_recv_peek(b, ss, &d);
                got = d;
                if (r > (long)CHUNK)
                    r = CHUNK; /* the pattern is checked CHUNK at a time */
            } else {
                r = utcp_recv(b, ss, rbuf, CHUNK);
            }
            if (r == UTCP_EAGAIN)
                break;
            if (r == 0) {
                eof = true;
                break;
            }
            if (r < 0)
                die("utcp_recv", r);
            double tv = bw_now_s();
            if (memcmp(got, pattern + rcvd % PERIOD, (size_t)r) != 0)
                res->bad_chunks++;
            stream_sum(&sum_r, rcvd, got, (size_t)r);
            verify += bw_now_s() - tv;
            if (o->zerocopy) {
                long c = utcp_recv_consume(b, ss, (size_t)r);
                if (c)
                    die("utcp_recv_consume", c);
            }
            rcvd += (uint64_t)r;
            progress = true;
        }
        if (bw_pump(&w))
            progress = true;
        uint64_t next = bw_tick_due(&w);
        if (!progress && bw_wire_idle(&w)) {
            /* Nothing moves until a timer fires: skip the wait. */
            if (next == UINT64_MAX) {
                struct utcp_info ia;
                utcp_getinfo(a, cs, &ia);
                fprintf(stderr,
                        "bench_bulk: stalled with no timer: sent %llu rcvd "
                        "%llu, A state %s snd_una %u snd_nxt %u snd_wnd %u "
                        "cwnd %u\n",
                        (unsigned long long)sent, (unsigned long long)rcvd,
                        utcp_state_name(ia.state), ia.snd_una, ia.snd_nxt,
                        ia.snd_wnd, ia.cwnd);
                bw_wire_destroy(&w);
                bw_pool_destroy(&pools[0]);
                bw_pool_destroy(&pools[1]);
                return 1;
            }
            if (next > w.now)
                skew += next - w.now;
            stalls++;
        }
        iter++;
    }
    double t1 = bw_now_s();
    res->bytes = rcvd;
    res->verify_s = verify;
    res->nalloc = counts[0].nalloc + counts[1].nalloc +
                  pools[0].count.nalloc + pools[1].count.nalloc - nalloc0;
    /* the expected checksum: the pattern stream, computed untimed */
    for (uint64_t off = 0; off < rcvd;) {
        uint64_t n = rcvd - off < CHUNK ? rcvd - off : CHUNK;
        stream_sum(&sum_s, off, pattern + off % PERIOD, (size_t)n);
        off += n;
    }
    res->secs = t1 - t0;
    res->skipped_s = (double)(skew - skew0) / 1e6;
    res->data_segs = w.data_pkts[0] - seg0;
    res->pkts = w.delivered - pk0;
    res->dropped = w.dropped - drop0;
    res->sum_sent = (unsigned)(sum_s % 65535u);
    res->sum_rcvd = (unsigned)(sum_r % 65535u);
    if (rcvd != sent)
        res->bad_chunks++;
    utcp_get_counters(a, &res->ca);
    utcp_get_counters(b, &res->cb);
    utcp_close(a, cs);
    utcp_close(b, ss);
    for (int i = 0; i < 100000 && !bw_wire_idle(&w); i++)
        bw_pump(&w);
    bw_wire_destroy(&w);
    bw_pool_destroy(&pools[0]);
    bw_pool_destroy(&pools[1]);
    (void)stalls;
    return 0;
}

static void usage(FILE *f, const char *prog)
{
    fprintf(f,
            "usage: %s [--mib N] [--loss P] [--alloc malloc|pool] [--buf KIB]\n"
            "       [--seed S] [--seconds X] [--offload] [--zerocopy] [--writes N]\n"
            "  --mib N      bytes to transfer per run, MiB (default 256)\n"
            "  --loss P     random loss on the wire, percent, both ways "
            "(default: 0 and 1)\n"
            "  --alloc A    the stacks' allocator: malloc (counting "
            "wrapper) or pool\n"
            "               (freed blocks cached per size; default: both)\n"
            "  --buf KIB    send and receive buffers, KiB (default 4096)\n"
            "  --seed S     seeds the stacks and the loss (default 1)\n"
            "  --seconds X  stop sending after X s per run (smoke runs)\n"
            "  --offload    checksum offload both ways (the wire is trusted, "
            "like loopback)\n"
            "  --zerocopy   the applications use utcp_send_reserve/commit and "
            "utcp_recv_peek/consume\n"
            "  --writes N   the sender makes at most N writes of 64 KiB before "
            "the wire and\n"
            "               the receiver run (default: it fills its send "
            "buffer)\n",
            prog);
}

int main(int argc, char **argv)
{
    struct opts o = {256, -1, 0, 4096, 1, -1, 0, false, 0};
    for (int i = 1; i < argc; i++) {
        double v;
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout, argv[0]);
            return 0;
        }
        if (strcmp(a, "--offload") == 0) {
            o.offload = UTCP_OFFLOAD_TX_CSUM | UTCP_OFFLOAD_RX_CSUM;
            continue;
        }
        if (strcmp(a, "--zerocopy") == 0) {
            o.zerocopy = true;
            continue;
        }
        if (i + 1 >= argc) {
            usage(stderr, argv[0]);
            return 2;
        }
        const char *val = argv[++i];
        if (strcmp(a, "--mib") == 0) {
            if (!bw_arg_double(argv[0], a, val, 1, 1 << 20, &o.mib))
                return 2;
        } else if (strcmp(a, "--loss") == 0) {
            if (!bw_arg_double(argv[0], a, val, 0, 50, &o.loss_pct))
                return 2;
        } else if (strcmp(a, "--alloc") == 0) {
            if (strcmp(val, "malloc") == 0)
                o.alloc = 0;
            else if (strcmp(val, "pool") == 0)
                o.alloc = 1;
            else {
                usage(stderr, argv[0]);
                return 2;
            }
        } else if (strcmp(a, "--buf") == 0) {
            if (!bw_arg_double(argv[0], a, val, 4, 1 << 20, &o.buf_kib))
                return 2;
        } else if (strcmp(a, "--seed") == 0) {
            if (!bw_arg_double(argv[0], a, val, 0, 1e15, &v))
                return 2;
            o.seed = (uint64_t)v;
        } else if (strcmp(a, "--seconds") == 0) {
            if (!bw_arg_double(argv[0], a, val, 0.001, 3600, &o.seconds))
                return 2;
        } else if (strcmp(a, "--writes") == 0) {
            if (!bw_arg_double(argv[0], a, val, 1, 1 << 20, &v))
                return 2;
            o.writes = (uint32_t)v;
        } else {
            usage(stderr, argv[0]);
            return 2;
        }
    }

    uint8_t *pattern = malloc(PERIOD + CHUNK);
    uint8_t *rbuf = malloc(CHUNK);
    if (!pattern || !rbuf)
        die("malloc", 0);
    uint64_t x = 12345;
    for (size_t i = 0; i < PERIOD; i++)
        pattern[i] = (uint8_t)(bw_rand(&x) >> 56);
    memcpy(pattern + PERIOD, pattern, CHUNK);

    struct result res[4];
    int nruns = 0;
    for (int li = 0; li < 2; li++) {
        double loss = o.loss_pct >= 0 ? o.loss_pct : (double)li;
        if (o.loss_pct >= 0 && li > 0)
            break;
        for (int al = 0; al < 2; al++) {
            if (o.alloc >= 0 && al != o.alloc)
                continue;
            if (run(&o, loss, al, pattern, rbuf, &res[nruns]))
                return 1;
            nruns++;
        }
    }

    printf("utcp bulk transfer, two stacks in one thread over an in-memory "
           "wire\n(MTU 1500, MSS 1460; buffers %.0f KiB; one core; clock: "
           "monotonic, idle timer waits skipped)\n",
           o.buf_kib);
    printf("command: %s\n\n", bw_cmdline(argc, argv));
    printf("%-5s %-6s %7s %7s %7s %7s %10s %10s %7s %7s %6s %5s %7s %6s\n",
           "loss%", "alloc", "MiB", "seconds", "Gbit/s", "-verify",
           "dataseg/s", "pkts/s", "skip_s", "retrans", "fastrx", "RTOs",
           "dropped", "intact");
    int fail = 0;
    for (int k = 0; k < nruns; k++) {
        const struct result *r = &res[k];
        bool ok = r->bad_chunks == 0 && r->sum_sent == r->sum_rcvd;
        if (!ok)
            fail = 1;
        printf("%-5.2f %-6s %7.1f %7.3f %7.2f %7.2f %10.0f %10.0f %7.3f "
               "%7llu %6llu %5llu %7llu %s\n",
               r->loss_pct, alloc_name[r->alloc],
               (double)r->bytes / 1048576.0, r->secs,
               (double)r->bytes * 8.0 / r->secs / 1e9,
               (double)r->bytes * 8.0 / (r->secs - r->verify_s) / 1e9,
               (double)r->data_segs / r->secs, (double)r->pkts / r->secs,
               r->skipped_s, (unsigned long long)r->ca.RetransSegs,
               (unsigned long long)r->ca.FastRetrans,
               (unsigned long long)r->ca.Timeouts,
               (unsigned long long)r->dropped, ok ? "yes" : "NO");
    }
    printf("\nper run: allocator calls during the transfer, stream "
           "checksum expected/received,\nGbit/s counting the skipped idle "
           "time:\n");
    for (int k = 0; k < nruns; k++) {
        const struct result *r = &res[k];
        printf("  loss %.2f%% %-6s: %llu allocations (%.1f per MiB), csum "
               "%04x/%04x, %.2f Gbit/s\n",
               r->loss_pct, alloc_name[r->alloc],
               (unsigned long long)r->nalloc,
               (double)r->nalloc / ((double)r->bytes / 1048576.0 + 1e-9),
               r->sum_sent, r->sum_rcvd,
               (double)r->bytes * 8.0 / (r->secs + r->skipped_s) / 1e9);
    }
    printf("\nGbit/s: payload delivered to the receiving application per "
           "wall second,\nconnected to EOF, the receiver's checks included; "
           "-verify: the same without\nthe time spent checking. dataseg/s: "
           "segments with payload sent (retransmitted\nand dropped ones "
           "included). pkts/s: packets delivered, both ways. skip_s: idle\n"
           "time the clock jumped over waiting for timers (RTO, delayed "
           "ACK).\nintact: every byte compared with the sent pattern at its "
           "offset, and the\nstream's ones'-complement sum equals the "
           "pattern's.\n");
    free(pattern);
    free(rbuf);
    return fail;
}
