/*
 * The utcp side of the connection-rate benchmark over TUN
 * (bench/tun_connrate.sh): a server for the peers' connrate client. Per
 * connection it reads the 16-byte request, writes a 16-byte reply, then
 * closes first (default, like connrate's server) or waits for the client's
 * FIN and closes second. Counts every connection from accept to CLOSED or
 * TIME_WAIT; prints the counters on SIGTERM/SIGINT. Uses only the public
 * API (utcp/run.h, utcp/utcp.h); O(1) work per connection, no scans.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "tools.h"
#include "utcp/run.h"
#include "utcp/tun.h"
#include "utcp/utcp.h"

#define REQ_LEN 16u
static const char reply[REQ_LEN + 1] = "HTTP/1.0 200 OK\n"; /* as connrate */

enum { E_OK = 0, E_ERR = 1, E_USAGE = 2 };

enum phase {
    P_REQUEST, /* reading the 16-byte request */
    P_REPLIED, /* reply queued (and, server first, FIN): waiting for EOF */
    P_EOF,     /* the client's FIN was read: waiting for CLOSED */
};

struct conn {
    struct srv *srv;
    utcp_sock sk;
    struct conn *prev, *next; /* live connections (freed at exit) */
    enum phase phase;
    uint8_t got;
};

struct srv {
    struct utcp_run *run;
    struct utcp_stack *st;
    utcp_sock lsk;
    bool client_first;
    struct conn *conns;
    struct conn *spare; /* freed conn structs kept for reuse */
    uint64_t live;
    /* counters */
    uint64_t accepted, completed, replies, resets, errors, short_requests,
        extra_bytes, send_short, no_memory;
    /* per-interval report */
    int tfd;
    uint64_t t0, last_completed, last_accepted;
    unsigned interval_no;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("tun_connserver: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: tun_connserver [OPTIONS]\n"
        "\n"
        "The utcp server of the connection-rate benchmark over TUN "
        "(bench/tun_connrate.sh),\n"
        "for the peers' connrate client (connect, 16-byte request, 16-byte "
        "reply, close).\n"
        "Per connection: read the 16-byte request, write a 16-byte reply, "
        "then close\n"
        "first (default) or, with --client-first, wait for the client's FIN "
        "and close\n"
        "second. Runs until SIGTERM or SIGINT, then prints its counters to "
        "stdout and\n"
        "exits 0. Needs root (or CAP_NET_ADMIN) and a TUN device; run it in "
        "a network\n"
        "namespace.\n"
        "\n"
        "options:\n"
        "  --dev NAME             TUN device (default utcp0): attached when "
        "it exists,\n"
        "                         else created\n"
        "  --addr A.B.C.D         utcp's address (default 198.18.0.2)\n"
        "  --kernel-addr A.B.C.D/NN\n"
        "                         give the kernel this address on the "
        "device (default:\n"
        "                         leave the device's addresses alone)\n"
        "  --port N               listening port (default 8081)\n"
        "  --backlog N            accept queue length (default 4096)\n"
        "  --client-first         the client closes first (utcp closes on "
        "its FIN)\n"
        "  --server-first         utcp closes first, right after the reply "
        "(default)\n"
        "  --msl MS               maximum segment lifetime (default: the "
        "stack's, 30000;\n"
        "                         TIME_WAIT lasts 2*MSL)\n"
        "  --interval MS          print a line per interval to stdout: "
        "connections\n"
        "                         completed and accepted in it, and the "
        "TIME_WAIT\n"
        "                         recycles (default 0: none)\n"
        "  --no-offload           plain TUN (default: offload mode when "
        "the kernel\n"
        "                         accepts it)\n"
        "  --no-kernel-gro        plain mode without the kernel merging "
        "data packets\n"
        "  --tx-thread auto|on|off\n"
        "                         write packets from a second thread (auto, "
        "the\n"
        "                         default: in plain mode without kernel "
        "GRO, with more\n"
        "                         than one CPU)\n"
        "  -h, --help             this text\n"
        "\n"
        "A connection is completed when it reached CLOSED or TIME_WAIT after "
        "the request,\n"
        "the reply and both FINs. Output at exit: one `name value` line "
        "per counter\n"
        "(accepted, completed, resets, errors, timewait_at_exit, the "
        "stack's TCP-MIB\n"
        "counters, the device's packet counters).\n"
        "\n"
        "exit status: 0 after SIGTERM/SIGINT, 1 error (device, port), 2 bad "
        "usage\n");
}

/* ---- connections ---- */

static void conn_free(struct conn *c)
{
    struct srv *s = c->srv;
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->live--;
    c->next = s->spare;
    s->spare = c;
}

/* Releases the handle: a connection in TIME_WAIT becomes a compact
 * record, one in CLOSED is gone. */
static void conn_done(struct conn *c)
{
    struct srv *s = c->srv;
    utcp_run_unwatch(s->run, c->sk);
    utcp_close(s->st, c->sk);
    conn_free(c);
}

static void conn_fail(struct conn *c, int err)
{
    struct srv *s = c->srv;
    if (err == UTCP_ECONNRESET)
        s->resets++;
    else
        s->errors++;
    utcp_run_unwatch(s->run, c->sk);
    utcp_abort(s->st, c->sk);
    conn_free(c);
}

/* Reads what is there; returns false when the connection was released. */
static bool conn_read(struct conn *c)
{
    struct srv *s = c->srv;
    uint8_t buf[256];
    for (;;) {
        long n = utcp_recv(s->st, c->sk, buf, sizeof buf);
        if (n == UTCP_EAGAIN)
            return true;
        if (n < 0) {
            conn_fail(c, (int)n);
            return false;
        }
        if (n == 0) { /* the client's FIN */
            if (c->phase == P_REQUEST) {
                s->short_requests++;
                conn_done(c);
                return false;
            }
            if (c->phase == P_REPLIED) {
                c->phase = P_EOF;
                /* client first: our FIN now (CLOSE_WAIT -> LAST_ACK) */
                if (s->client_first)
                    utcp_shutdown(s->st, c->sk, UTCP_SHUT_WR);
            }
            return true;
        }
        size_t take = 0;
        if (c->phase == P_REQUEST) {
            size_t room = REQ_LEN - c->got;
            take = room < (size_t)n ? room : (size_t)n;
            c->got = (uint8_t)(c->got + take);
        }
        s->extra_bytes += (size_t)n - take;
        if (c->phase == P_REQUEST && c->got == REQ_LEN) {
            long w = utcp_send(s->st, c->sk, reply, REQ_LEN);
            if (w != REQ_LEN) {
                s->send_short++;
                conn_fail(c, w < 0 ? (int)w : UTCP_EAGAIN);
                return false;
            }
            s->replies++;
            c->phase = P_REPLIED;
            /* server first: FIN right behind the reply */
            if (!s->client_first)
                utcp_shutdown(s->st, c->sk, UTCP_SHUT_WR);
        }
    }
}

static void on_conn(struct utcp_run *r, utcp_sock sk, uint32_t ev, void *ctx)
{
    (void)r;
    (void)sk;
    struct conn *c = ctx;
    struct srv *s = c->srv;
    if (ev & UTCP_EV_ERROR) {
        int err = utcp_sock_error(s->st, c->sk);
        if (err) {
            conn_fail(c, err);
            return;
        }
    }
    if ((ev & (UTCP_EV_READABLE | UTCP_EV_HUP)) && !conn_read(c))
        return;
    int now_ev = utcp_poll(s->st, c->sk); /* after the reads above */
    if (ev & UTCP_EV_CLOSED || (now_ev > 0 && now_ev & UTCP_EV_CLOSED)) {
        if (c->phase == P_EOF)
            s->completed++;
        else
            s->errors++;
        conn_done(c);
    }
}

static void new_conn(struct srv *s, utcp_sock sk)
{
    struct conn *c = s->spare;
    if (c)
        s->spare = c->next;
    else if (!(c = malloc(sizeof *c))) {
        s->no_memory++;
        utcp_abort(s->st, sk);
        return;
    }
    memset(c, 0, sizeof *c);
    c->srv = s;
    c->sk = sk;
    c->phase = P_REQUEST;
    if (utcp_run_watch(s->run, sk, on_conn, c) < 0) {
        s->no_memory++;
        utcp_abort(s->st, sk);
        c->next = s->spare;
        s->spare = c;
        return;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->live++;
    s->accepted++;
    utcp_setopt(s->st, sk, UTCP_OPT_NODELAY, 1);
    /* events that came before the watch (the request with the
     * handshake's last ACK, even the FIN) are not replayed: look now */
    int ev = utcp_poll(s->st, sk);
    if (ev > 0)
        on_conn(s->run, sk, (uint32_t)ev, c);
}

static void on_listen(struct utcp_run *r, utcp_sock sk, uint32_t ev, void *ctx)
{
    (void)r;
    (void)sk;
    struct srv *s = ctx;
    if (!(ev & UTCP_EV_ACCEPT))
        return;
    utcp_sock c;
    while (utcp_accept(s->st, s->lsk, &c) == 0)
        new_conn(s, c);
}

/* ---- reports ---- */

static void on_interval(struct utcp_run *r, int fd, uint32_t events, void *ctx)
{
    (void)r;
    (void)events;
    struct srv *s = ctx;
    uint64_t ticks;
    if (read(fd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
        return;
    struct utcp_counters k;
    utcp_get_counters(s->st, &k);
    s->interval_no++;
    double t = (double)(utcp_run_now() - s->t0) / 1e6;
    printf("interval %u t %.3f completed %" PRIu64 " accepted %" PRIu64
           " live %" PRIu64 " resets %" PRIu64 " tw_recycled %" PRIu64
           " retrans %" PRIu64 "\n",
           s->interval_no, t, s->completed - s->last_completed,
           s->accepted - s->last_accepted, s->live, s->resets,
           k.TimeWaitRecycled, k.RetransSegs);
    fflush(stdout);
    s->last_completed = s->completed;
    s->last_accepted = s->accepted;
}

static void count_tw(void *ctx, utcp_sock sk, const struct utcp_info *info)
{
    (void)sk;
    if (info->state == UTCP_TIME_WAIT)
        ++*(uint64_t *)ctx;
}

static void print_summary(struct srv *s, double secs)
{
    uint64_t tw = 0;
    utcp_foreach_conn(s->st, count_tw, &tw); /* once, at exit */
    struct utcp_counters k;
    utcp_get_counters(s->st, &k);
    struct utcp_run_stats rs;
    utcp_run_get_stats(s->run, &rs);
    printf("mode %s\n", s->client_first ? "client-first" : "server-first");
    printf("seconds %.3f\n", secs);
    printf("accepted %" PRIu64 "\n", s->accepted);
    printf("completed %" PRIu64 "\n", s->completed);
    printf("completed_per_second %.0f\n",
           secs > 0 ? (double)s->completed / secs : 0.0);
    printf("replies %" PRIu64 "\n", s->replies);
    printf("resets %" PRIu64 "\n", s->resets);
    printf("errors %" PRIu64 "\n", s->errors);
    printf("short_requests %" PRIu64 "\n", s->short_requests);
    printf("extra_bytes %" PRIu64 "\n", s->extra_bytes);
    printf("send_short %" PRIu64 "\n", s->send_short);
    printf("no_memory %" PRIu64 "\n", s->no_memory);
    printf("live_at_exit %" PRIu64 "\n", s->live);
    printf("timewait_at_exit %" PRIu64 "\n", tw);
#define UTCP_X_(name, help) printf("%s %" PRIu64 "\n", #name, k.name);
    UTCP_COUNTERS(UTCP_X_)
#undef UTCP_X_
    printf("dev_rx_packets %" PRIu64 "\n", rs.rx_packets);
    printf("dev_tx_packets %" PRIu64 "\n", rs.tx_packets);
    printf("dev_rx_errors %" PRIu64 "\n", rs.rx_errors);
    printf("dev_tx_errors %" PRIu64 "\n", rs.tx_errors);
    printf("dev_tx_dropped %" PRIu64 "\n", rs.tx_dropped);
    printf("wakeups %" PRIu64 "\n", rs.wakeups);
    struct utcp_tun_stats ts;
    utcp_run_tun_stats(s->run, &ts);
    printf("kernel_gro %d\n", utcp_run_kernel_gro(s->run, NULL) ? 1 : 0);
    printf("dev_tx_gro %" PRIu64 "\n", ts.tx_gro);
    fflush(stdout);
}

/* ---- arguments ---- */

struct args {
    const char *dev;
    uint32_t addr, kaddr;
    uint8_t kprefix;
    uint16_t port;
    int backlog;
    bool client_first, no_offload, no_kernel_gro;
    int tx_thread; /* utcp_run_config.tx_thread */
    long msl_ms, interval_ms;
};

static int bad(const char *what, const char *arg)
{
    say("bad %s: '%s' (see --help)", what, arg);
    return E_USAGE;
}

static bool parse_num(const char *s, long lo, long hi, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* Returns 0, E_USAGE, or -1 for --help (done). */
static int parse_args(int argc, char **argv, struct args *a)
{
    enum {
        O_DEV = 256,
        O_ADDR,
        O_KADDR,
        O_PORT,
        O_BACKLOG,
        O_CFIRST,
        O_SFIRST,
        O_MSL,
        O_INTERVAL,
        O_NO_OFFLOAD,
        O_NO_GRO,
        O_TX_THREAD
    };
    static const struct option opts[] = {
        {"dev", required_argument, NULL, O_DEV},
        {"addr", required_argument, NULL, O_ADDR},
        {"kernel-addr", required_argument, NULL, O_KADDR},
        {"port", required_argument, NULL, O_PORT},
        {"backlog", required_argument, NULL, O_BACKLOG},
        {"client-first", no_argument, NULL, O_CFIRST},
        {"server-first", no_argument, NULL, O_SFIRST},
        {"msl", required_argument, NULL, O_MSL},
        {"interval", required_argument, NULL, O_INTERVAL},
        {"no-offload", no_argument, NULL, O_NO_OFFLOAD},
        {"no-kernel-gro", no_argument, NULL, O_NO_GRO},
        {"tx-thread", required_argument, NULL, O_TX_THREAD},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(a, 0, sizeof *a);
    a->dev = "utcp0";
    a->addr = 0xC6120002u; /* 198.18.0.2 */
    a->port = 8081;
    a->backlog = 4096;
    opterr = 0;
    int o;
    long v;
    while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (o) {
        case 'h':
            usage(stdout);
            return -1;
        case O_DEV:
            if (!*optarg || strlen(optarg) >= 16)
                return bad("device name", optarg);
            a->dev = optarg;
            break;
        case O_ADDR:
            if (utcp_parse_ipv4(optarg, &a->addr, NULL) < 0 || !a->addr)
                return bad("address", optarg);
            break;
        case O_KADDR:
            if (utcp_parse_ipv4(optarg, &a->kaddr, &a->kprefix) < 0 ||
                !a->kaddr)
                return bad("kernel address (A.B.C.D/NN)", optarg);
            break;
        case O_PORT:
            if (!parse_num(optarg, 1, 65535, &v))
                return bad("port", optarg);
            a->port = (uint16_t)v;
            break;
        case O_BACKLOG:
            if (!parse_num(optarg, 1, 65535, &v))
                return bad("backlog (1..65535)", optarg);
            a->backlog = (int)v;
            break;
        case O_CFIRST:
            a->client_first = true;
            break;
        case O_SFIRST:
            a->client_first = false;
            break;
        case O_MSL:
            if (!parse_num(optarg, 1, 3600000, &v))
                return bad("MSL (1..3600000 ms)", optarg);
            a->msl_ms = v;
            break;
        case O_INTERVAL:
            if (!parse_num(optarg, 0, 3600000, &v))
                return bad("interval (0..3600000 ms)", optarg);
            a->interval_ms = v;
            break;
        case O_NO_OFFLOAD:
            a->no_offload = true;
            break;
        case O_NO_GRO:
            a->no_kernel_gro = true;
            break;
        case O_TX_THREAD:
            a->tx_thread = utcp_tool_tx_thread(optarg);
            if (a->tx_thread < -1)
                return bad("--tx-thread (auto, on or off)", optarg);
            break;
        default:
            say("unknown option or missing value: '%s' (see --help)",
                argv[optind - 1]);
            return E_USAGE;
        }
    }
    if (optind < argc) {
        say("unexpected argument '%s' (see --help)", argv[optind]);
        return E_USAGE;
    }
    return 0;
}

static int start(struct srv *s, const struct args *a)
{
    struct utcp_run_config cfg;
    utcp_run_config_init(&cfg);
    cfg.dev = a->dev;
    cfg.addr = a->addr;
    cfg.kernel_addr = a->kaddr;
    cfg.kernel_prefix = a->kprefix;
    cfg.shutdown_grace_ms = 1000;
    cfg.no_offload = a->no_offload;
    cfg.no_kernel_gro = a->no_kernel_gro;
    cfg.tx_thread = a->tx_thread;
    utcp_config_init(&cfg.stack);
    cfg.stack.msl_ms = (uint32_t)a->msl_ms;
    char msg[256];
    int rc = utcp_run_create(&cfg, &s->run, msg, sizeof msg);
    if (rc) {
        say("%s", msg);
        return E_ERR;
    }
    s->st = utcp_run_stack(s->run);
    utcp_sock sk;
    rc = utcp_socket(s->st, &sk);
    if (rc == 0)
        rc = utcp_bind(s->st, sk, 0, a->port);
    if (rc == 0)
        rc = utcp_listen(s->st, sk, a->backlog);
    if (rc == 0)
        rc = utcp_run_watch(s->run, sk, on_listen, s);
    if (rc) {
        say("listening on port %u: %s", a->port, utcp_strerror(rc));
        return E_ERR;
    }
    s->lsk = sk;
    if (a->interval_ms) {
        s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
        struct itimerspec its = {0};
        its.it_interval.tv_sec = a->interval_ms / 1000;
        its.it_interval.tv_nsec = a->interval_ms % 1000 * 1000000L;
        its.it_value = its.it_interval;
        if (s->tfd < 0 || timerfd_settime(s->tfd, 0, &its, NULL) < 0 ||
            utcp_run_add_fd(s->run, s->tfd, EPOLLIN, on_interval, s) < 0) {
            say("interval timer: %s", strerror(errno));
            return E_ERR;
        }
    }
    say("listening on %u.%u.%u.%u:%u (device %s), %s closes first",
        a->addr >> 24, a->addr >> 16 & 255, a->addr >> 8 & 255, a->addr & 255,
        a->port, utcp_run_dev(s->run), a->client_first ? "the client" : "utcp");
    return 0;
}

int main(int argc, char **argv)
{
    struct args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? E_OK : rc;
    struct srv *s = calloc(1, sizeof *s);
    if (!s) {
        say("out of memory");
        return E_ERR;
    }
    s->tfd = -1;
    s->client_first = a.client_first;
    signal(SIGPIPE, SIG_IGN);
    rc = start(s, &a);
    if (rc == 0) {
        s->t0 = utcp_run_now();
        rc = utcp_run_loop(s->run);
        double secs = (double)(utcp_run_now() - s->t0) / 1e6;
        if (rc < 0) {
            say("device failed: %s", utcp_strerror(rc));
            rc = E_ERR;
        } else {
            rc = E_OK; /* SIGTERM/SIGINT: the normal end */
        }
        print_summary(s, secs);
    }
    /* the shutdown closed the watched sockets: free what is left */
    while (s->conns) {
        struct conn *c = s->conns;
        s->conns = c->next;
        free(c);
    }
    while (s->spare) {
        struct conn *c = s->spare;
        s->spare = c->next;
        free(c);
    }
    utcp_run_destroy(s->run);
    if (s->tfd >= 0)
        close(s->tfd);
    free(s);
    return rc;
}
