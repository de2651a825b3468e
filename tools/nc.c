/*
 * `utcp nc`: netcat over utcp on a TUN device, driven by the real-time
 * runtime (utcp/run.h). stdin goes to the connection, the connection to
 * stdout; end of stdin half-closes (SHUT_WR); the exit status tells refused,
 * reset and timed out apart. Must never block the loop on stdin, drop a
 * byte, or exit 0 when the stream did not end cleanly both ways.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools.h"
#include "utcp/run.h"
#include "utcp/tun.h"

enum {
    NC_OK = 0,
    NC_ERR = 1,
    NC_USAGE = 2,
    NC_REFUSED = 3,
    NC_RESET = 4,
    NC_TIMEDOUT = 5,
};

static void usage(FILE *f)
{
    fprintf(
        f,
        "usage: utcp nc [OPTIONS] HOST PORT     connect to HOST:PORT\n"
        "       utcp nc -l [OPTIONS] PORT       accept one connection on "
        "PORT\n"
        "\n"
        "netcat over utcp, a user-space TCP, on a Linux TUN device: stdin "
        "goes to the\n"
        "connection and the connection to stdout. End of stdin shuts down "
        "the sending\n"
        "side (half-close); utcp nc exits once the peer has closed too. "
        "Needs root (or\n"
        "CAP_NET_ADMIN); run it inside a network namespace (scripts/netns.sh "
        "makes one).\n"
        "\n"
        "options:\n"
        "  -l, --listen           listen on PORT, serve one connection, "
        "then exit\n"
        "  -p, --local-port N     local port of the connection (default: "
        "ephemeral)\n"
        "  --dev NAME             TUN device (default utcp0); attached when "
        "it exists,\n"
        "                         else created (and gone when utcp nc "
        "exits)\n"
        "  --addr A.B.C.D         utcp's own address (default 198.18.0.2; a "
        "/NN is ignored)\n"
        "  --kernel-addr A.B.C.D/NN\n"
        "                         give the kernel this address on the "
        "device, which\n"
        "                         routes A.B.C.D/NN through it (default: "
        "leave the\n"
        "                         device's addresses as they are)\n"
        "  --mtu N                device and stack MTU (default 1500)\n"
        "  --no-offload           plain TUN: no virtio-net header, no "
        "checksum or\n"
        "                         segmentation offload (default: offload "
        "when the\n"
        "                         kernel accepts it; -v prints the mode)\n"
        "  --kernel-gro[=US]      plain mode: the kernel merges the data "
        "packets written\n"
        "                         (the default: a second queue with "
        "IFF_NAPI, threaded\n"
        "                         NAPI; merged packets held up to US "
        "microseconds,\n"
        "                         default 20; sysfs settings of the device "
        "are\n"
        "                         restored at exit; -v says when refused)\n"
        "  --no-kernel-gro        plain mode: every packet straight into the "
        "kernel\n"
        "  --tx-thread auto|on|off\n"
        "                         write packets from a second thread (auto, "
        "the\n"
        "                         default: in plain mode without kernel "
        "GRO, with more\n"
        "                         than one CPU)\n"
        "  --sndbuf N, --rcvbuf N socket buffer sizes in bytes (default "
        "4194304,\n"
        "                         262144)\n"
        "  --syn-retries N        SYN retransmissions before giving up "
        "(default 6)\n"
        "  --cc newreno|cubic|bbr congestion control (default bbr, as "
        "Linux here; bbr\n"
        "                         needs SACK: with --no-sack it is "
        "newreno)\n"
        "  --no-timestamps, --no-sack\n"
        "                         do not offer RFC 7323 timestamps / RFC "
        "2018 SACK\n"
        "  --rst-on-eof           end of stdin aborts the connection (RST) "
        "instead of\n"
        "                         half-closing it\n"
        "  --gen N[k|m|g]         send N bytes (k, m, g: KiB, MiB, GiB) of a "
        "generated\n"
        "                         pattern instead of stdin, as iperf3 -n "
        "does (a\n"
        "                         64 KiB block of xorshift bytes, seed 1, "
        "repeated);\n"
        "                         stdin is not read\n"
        "  --trace                print every state change to stderr as it "
        "happens\n"
        "  -v, --verbose          print a summary (bytes, time, MB/s, "
        "retransmits) at exit\n"
        "impairments (utcp's filter):\n"
        "  --loss PCT  --delay MS  --jitter MS  --reorder PCT  --dup PCT  "
        "--corrupt PCT\n"
        "  --impair-dir DIR       out (utcp to kernel), in, or both "
        "(default)\n"
        "  --seed N               seed of the impairments (default 1)\n"
        "\n"
        "exit status:\n"
        "  0  the stream ended cleanly both ways\n"
        "  1  other error (device, address, I/O)\n"
        "  2  bad usage\n"
        "  3  connection refused (RST to our SYN, or ICMP unreachable)\n"
        "  4  connection reset by the peer\n"
        "  5  connection timed out (SYN or data retransmissions "
        "exhausted)\n"
        "  130, 143  interrupted by SIGINT / SIGTERM (connections closed "
        "gracefully,\n"
        "            a second signal exits at once)\n"
        "\n"
        "example (see docs/tun.md):\n"
        "  scripts/netns.sh run -- sh -c 'socat -u TCP-LISTEN:5000 "
        "OPEN:/tmp/out,creat &\n"
        "      sleep 0.3; utcp nc 198.18.0.1 5000 < /etc/services'\n");
}

struct nc {
    struct utcp_run *run;
    struct utcp_stack *st;
    utcp_sock sk, lsk;
    bool listen, connected, rst_on_eof, verbose;
    bool stdin_pollable, stdin_watched, stdin_eof, shut_wr;
    bool peer_eof;
    bool gen;              /* --gen: the pattern instead of stdin */
    uint64_t gen_left;     /* bytes of it still to queue */
    uint8_t *pattern;      /* GEN_BLOCK bytes */
    uint8_t out[65536];
    size_t outoff, outlen; /* received, not yet written to stdout */
    bool stdout_nb;        /* stdout is a pipe or socket we made
                              non-blocking (restored at exit) */
    bool stdout_watched;
    int stdout_flags;
    uint64_t sent, rcvd;
    uint64_t t0, t_conn;
    int code;
    bool trace;
};

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("utcp nc: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void fmt_ep(char *b, size_t n, uint32_t a, uint16_t p)
{
    snprintf(b, n, "%u.%u.%u.%u:%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
             a & 255, p);
}

static void on_trace(void *ctx, const struct utcp_trace_event *ev)
{
    struct nc *nc = ctx;
    if (ev->kind != UTCP_TRACE_STATE)
        return;
    char l[32], r[32];
    fmt_ep(l, sizeof l, ev->local_addr, ev->local_port);
    fmt_ep(r, sizeof r, ev->remote_addr, ev->remote_port);
    uint64_t t = ev->now > nc->t0 ? ev->now - nc->t0 : 0;
    fprintf(stderr, "utcp nc: %llu.%06llu %s %s %s -> %s (%s)\n",
            (unsigned long long)(t / 1000000u),
            (unsigned long long)(t % 1000000u), l, r,
            utcp_state_name(ev->old_state), utcp_state_name(ev->new_state),
            utcp_cause_text(ev->cause));
    fflush(stderr);
}

static int error_code(int err)
{
    switch (err) {
    case UTCP_ECONNREFUSED:
        return NC_REFUSED;
    case UTCP_ECONNRESET:
    case UTCP_ECONNABORTED:
        return NC_RESET;
    case UTCP_ETIMEDOUT:
        return NC_TIMEDOUT;
    default:
        return NC_ERR;
    }
}

static void finish(struct nc *nc, int code)
{
    nc->code = code;
    utcp_run_stop(nc->run, code);
}

static void fail_conn(struct nc *nc, int err)
{
    say("%s", utcp_strerror(err));
    if (nc->sk) {
        utcp_run_unwatch(nc->run, nc->sk);
        utcp_abort(nc->st, nc->sk);
        nc->sk = 0;
    }
    finish(nc, error_code(err));
}

static void stdin_interest(struct nc *nc, bool want)
{
    if (!nc->stdin_pollable || nc->stdin_watched == want || nc->stdin_eof)
        return;
    utcp_run_mod_fd(nc->run, 0, want ? EPOLLIN : 0);
    nc->stdin_watched = want;
}

#define GEN_BLOCK 65536u

/* --gen's pattern: xorshift64 bytes from seed 1, the same every run. */
static uint8_t *gen_pattern(void)
{
    uint8_t *p = malloc(GEN_BLOCK);
    if (!p)
        return NULL;
    uint64_t x = 1;
    for (size_t i = 0; i < GEN_BLOCK; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)(x >> 56);
    }
    return p;
}

/* --gen: the next bytes of the repeated pattern into dst, at most k; 0
 * once all were queued. */
static ssize_t gen_fill(struct nc *nc, uint8_t *dst, size_t k)
{
    size_t n = k < nc->gen_left ? k : (size_t)nc->gen_left;
    for (size_t done = 0; done < n;) {
        size_t off = (size_t)((nc->sent + done) % GEN_BLOCK);
        size_t m = n - done < GEN_BLOCK - off ? n - done : GEN_BLOCK - off;
        memcpy(dst + done, nc->pattern + off, m);
        done += m;
    }
    nc->gen_left -= n;
    return (ssize_t)n;
}

/* Moves stdin into the connection until stdin would block, the send
 * buffer is full, or stdin ended (then SHUT_WR, or RST with --rst-on-eof).
 * stdin is read straight into the send queue (utcp_send_reserve): no copy
 * through a buffer of our own. */
static void pump_stdin(struct nc *nc, bool readable)
{
    while (nc->sk && !nc->shut_wr) {
        if (nc->stdin_eof) {
            nc->shut_wr = true;
            if (nc->rst_on_eof) {
                if (nc->verbose || nc->trace)
                    say("end of stdin: aborting (RST)");
                utcp_run_unwatch(nc->run, nc->sk);
                utcp_abort(nc->st, nc->sk);
                nc->sk = 0;
                finish(nc, NC_OK);
                return;
            }
            int rc = utcp_shutdown(nc->st, nc->sk, UTCP_SHUT_WR);
            if (rc < 0 && rc != UTCP_ENOTCONN)
                say("shutdown: %s", utcp_strerror(rc));
            return;
        }
        if (nc->stdin_pollable && !readable) {
            stdin_interest(nc, true);
            return;
        }
        void *room;
        long k = utcp_send_reserve(nc->st, nc->sk, &room, 65536);
        if (k == UTCP_EAGAIN) {
            stdin_interest(nc, false); /* WRITABLE resumes */
            return;
        }
        if (k < 0) {
            if (k == UTCP_EPIPE) { /* the connection closed under us */
                nc->shut_wr = true;
                return;
            }
            fail_conn(nc, (int)k);
            return;
        }
        ssize_t n = nc->gen ? gen_fill(nc, room, (size_t)k)
                            : read(0, room, (size_t)k);
        int err = errno;
        readable = false;
        int rc = utcp_send_commit(nc->st, nc->sk, n > 0 ? (size_t)n : 0);
        if (rc < 0) {
            fail_conn(nc, rc);
            return;
        }
        if (n > 0) {
            nc->sent += (uint64_t)n;
            continue;
        }
        if (n < 0 && err == EINTR)
            continue;
        if (n < 0 && err == EAGAIN) { /* shares a non-blocking file */
            stdin_interest(nc, true);
            return;
        }
        if (n < 0)
            say("reading stdin: %s", strerror(err));
        nc->stdin_eof = true; /* end of file, or an error taken as one */
        if (nc->stdin_pollable) {
            utcp_run_del_fd(nc->run, 0);
            nc->stdin_watched = false;
        }
    }
}

static void on_stdin(struct utcp_run *r, int fd, uint32_t events, void *ctx)
{
    (void)r;
    (void)fd;
    (void)events;
    pump_stdin(ctx, true);
}

static void on_stdout(struct utcp_run *r, int fd, uint32_t events, void *ctx);
static void on_sock(struct utcp_run *r, utcp_sock sk, uint32_t ev, void *ctx);

/* Writes pending received bytes to stdout. Returns true when all are out;
 * false when stdout would block (then it is watched for EPOLLOUT and the
 * connection is not read: its window closes, the sender waits) or failed
 * (then the connection is aborted). */
static bool flush_stdout(struct nc *nc)
{
    while (nc->outoff < nc->outlen) {
        ssize_t k = write(1, nc->out + nc->outoff, nc->outlen - nc->outoff);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && errno == EAGAIN && nc->stdout_nb) {
            if (!nc->stdout_watched &&
                utcp_run_add_fd(nc->run, 1, EPOLLOUT, on_stdout, nc) == 0)
                nc->stdout_watched = true;
            return false;
        }
        if (k < 0 && errno == EAGAIN) { /* non-blocking, not by us */
            struct pollfd pf = {.fd = 1, .events = POLLOUT};
            poll(&pf, 1, 1000);
            continue;
        }
        if (k < 0) {
            say("writing stdout: %s", strerror(errno));
            fail_conn(nc, UTCP_EPIPE);
            nc->code = NC_ERR;
            utcp_run_stop(nc->run, NC_ERR);
            return false;
        }
        nc->outoff += (size_t)k;
    }
    if (nc->stdout_watched) {
        utcp_run_del_fd(nc->run, 1);
        nc->stdout_watched = false;
    }
    return true;
}

/* Moves received bytes to stdout until the connection has none, stdout
 * would block, or the peer's FIN was read (then stdout is closed). */
static void drain_conn(struct nc *nc)
{
    while (nc->sk && !nc->peer_eof) {
        if (!flush_stdout(nc))
            return;
        long n = utcp_recv(nc->st, nc->sk, nc->out, sizeof nc->out);
        if (n == UTCP_EAGAIN)
            return;
        if (n < 0) {
            fail_conn(nc, (int)n);
            return;
        }
        if (n == 0) {
            nc->peer_eof = true;
            close(1); /* our reader sees the end too */
            if (nc->trace)
                say("peer closed its sending side");
            return;
        }
        nc->outoff = 0;
        nc->outlen = (size_t)n;
        nc->rcvd += (uint64_t)n;
    }
}

static void on_stdout(struct utcp_run *r, int fd, uint32_t events, void *ctx)
{
    (void)r;
    (void)fd;
    (void)events;
    struct nc *nc = ctx;
    drain_conn(nc);
    if (nc->sk && nc->outoff == nc->outlen) {
        /* all out: go on where the socket's events were put off (more
         * data, the FIN, the end of the connection) */
        int ev = utcp_poll(nc->st, nc->sk);
        if (ev > 0)
            on_sock(r, nc->sk, (uint32_t)ev, nc);
    }
}

static void start(struct nc *nc)
{
    if (nc->connected)
        return;
    nc->connected = true;
    nc->t_conn = utcp_run_now();
    if (nc->gen) { /* always ready, never watched */
        nc->stdin_pollable = false;
        pump_stdin(nc, false);
        return;
    }
    int rc = utcp_run_add_fd(nc->run, 0, EPOLLIN, on_stdin, nc);
    if (rc == 0) {
        nc->stdin_pollable = true;
        nc->stdin_watched = true;
    } else if (rc == UTCP_EPERM) {
        nc->stdin_pollable = false; /* a regular file: always ready */
    } else {
        say("cannot watch stdin: %s", utcp_strerror(rc));
        nc->stdin_pollable = false;
    }
    pump_stdin(nc, false);
}

static void on_sock(struct utcp_run *r, utcp_sock sk, uint32_t ev, void *ctx)
{
    (void)r;
    struct nc *nc = ctx;
    if (sk != nc->sk)
        return;
    if (ev & UTCP_EV_CONNECTED)
        start(nc);
    if (ev & UTCP_EV_READABLE)
        drain_conn(nc);
    if (!nc->sk)
        return;
    if (ev & UTCP_EV_ERROR) {
        int err = utcp_sock_error(nc->st, sk);
        if (err) {
            fail_conn(nc, err);
            return;
        }
    }
    if (nc->connected && (ev & UTCP_EV_WRITABLE))
        pump_stdin(nc, false);
    if ((ev & UTCP_EV_CLOSED) && nc->sk) {
        if (!nc->peer_eof)
            drain_conn(nc);
        if (!nc->sk)
            return;
        if (!nc->peer_eof && nc->outoff < nc->outlen)
            return; /* stdout is slow: on_stdout comes back here */
        int err = utcp_sock_error(nc->st, sk);
        if (err) {
            fail_conn(nc, err);
            return;
        }
        utcp_run_unwatch(nc->run, sk);
        utcp_close(nc->st, sk);
        nc->sk = 0;
        bool clean = nc->stdin_eof && nc->peer_eof;
        if (!clean)
            say("the connection closed before both sides had finished");
        finish(nc, clean ? NC_OK : NC_RESET);
    }
}

static void on_listen(struct utcp_run *r, utcp_sock sk, uint32_t ev, void *ctx)
{
    struct nc *nc = ctx;
    if (!(ev & UTCP_EV_ACCEPT) || nc->sk)
        return;
    utcp_sock c;
    if (utcp_accept(nc->st, sk, &c) < 0)
        return;
    nc->sk = c;
    utcp_run_unwatch(r, sk);
    utcp_close(nc->st, sk); /* one connection: later SYNs get RST */
    nc->lsk = 0;
    if (nc->trace || nc->verbose) {
        uint32_t a;
        uint16_t p;
        char b[32];
        utcp_peername(nc->st, c, &a, &p);
        fmt_ep(b, sizeof b, a, p);
        say("connection from %s", b);
    }
    utcp_run_watch(r, c, on_sock, nc);
    start(nc);
    /* data and FIN may have arrived with the handshake */
    on_sock(r, c, (uint32_t)utcp_poll(nc->st, c), nc);
}

/* ---- arguments ---- */

static bool parse_ul(const char *s, unsigned long max, unsigned long *out)
{
    if (!s || !*s || *s == '-')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v > max)
        return false;
    *out = v;
    return true;
}

/* A byte count: digits, then optionally k, m or g (KiB, MiB, GiB); at
 * most 2^62. */
static bool parse_size(const char *s, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    unsigned shift = 0;
    if (*end == 'k' || *end == 'K')
        shift = 10;
    else if (*end == 'm' || *end == 'M')
        shift = 20;
    else if (*end == 'g' || *end == 'G')
        shift = 30;
    if (errno || (shift ? end[1] != '\0' : *end != '\0') ||
        v > (1ull << 62) >> shift)
        return false;
    *out = (uint64_t)v << shift;
    return true;
}

static bool parse_pct(const char *s, uint32_t *ppm)
{
    if (!s || !*s)
        return false;
    char *end;
    double v = strtod(s, &end);
    if (*end || !(v >= 0.0 && v <= 100.0))
        return false;
    *ppm = (uint32_t)(v * 10000.0 + 0.5);
    return true;
}

struct nc_args {
    bool listen;
    const char *host, *port_s;
    uint32_t host_addr;
    uint16_t port, local_port;
    const char *dev;
    uint32_t addr, kaddr;
    uint8_t kprefix;
    unsigned long mtu, sndbuf, rcvbuf, syn_retries;
    bool have_syn_retries;
    bool trace, verbose, rst_on_eof, no_ts, no_sack, no_offload;
    bool have_gen;
    uint64_t gen; /* --gen N */
    bool no_kernel_gro;
    unsigned long kernel_gro_us;
    int tx_thread; /* utcp_run_config.tx_thread */
    int cc; /* enum utcp_cc */
    struct utcp_filter filter;
    bool impaired;
    int impair_dirs; /* bit 0: utcp -> kernel, bit 1: kernel -> utcp */
    unsigned long seed;
};

static int bad(const char *fmt, const char *arg)
{
    fputs("utcp nc: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see utcp nc --help)\n", stderr);
    return NC_USAGE;
}

static int parse_args(int argc, char **argv, struct nc_args *a)
{
    const char *pos[2];
    int npos = 0;
    memset(a, 0, sizeof *a);
    a->dev = "utcp0";
    a->addr = 198u << 24 | 18u << 16 | 2u; /* 198.18.0.2 */
    a->mtu = 1500;
    /* a send buffer as large as Linux's (tcp_wmem's 4 MiB): with loss,
     * everything from the oldest hole on stays queued, and a full queue
     * stops the new data that RACK needs to find lost retransmissions */
    a->sndbuf = 4u << 20;
    a->rcvbuf = 262144;
    a->seed = 1;
    a->impair_dirs = 3;
    a->cc = UTCP_TOOL_CC_DEFAULT;
    utcp_filter_init(&a->filter);
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i];
        const char *v = NULL;
        char name[32];
        if (o[0] == '-' && o[1] == '-' && o[2]) {
            const char *eq = strchr(o, '=');
            size_t n = eq ? (size_t)(eq - o) : strlen(o);
            if (n >= sizeof name)
                return bad("unknown option '%s'", o);
            memcpy(name, o, n);
            name[n] = '\0';
            if (eq)
                v = eq + 1;
        } else if (o[0] == '-' && o[1] && !o[2]) {
            snprintf(name, sizeof name, "%s", o);
        } else {
            if (npos == 2)
                return bad("too many arguments at '%s'", o);
            pos[npos++] = o;
            continue;
        }
#define FLAG(s) (!strcmp(name, s))
#define NEEDV()                                                                \
    do {                                                                       \
        if (!v) {                                                              \
            if (i + 1 >= argc)                                                 \
                return bad("option '%s' needs a value", name);                 \
            v = argv[++i];                                                     \
        }                                                                      \
    } while (0)
        unsigned long ul;
        uint32_t ppm;
        if (FLAG("--help") || FLAG("-h")) {
            usage(stdout);
            return -1;
        } else if (FLAG("-l") || FLAG("--listen")) {
            a->listen = true;
        } else if (FLAG("--trace")) {
            a->trace = true;
        } else if (FLAG("-v") || FLAG("--verbose")) {
            a->verbose = true;
        } else if (FLAG("--no-timestamps")) {
            a->no_ts = true;
        } else if (FLAG("--no-sack")) {
            a->no_sack = true;
        } else if (FLAG("--no-offload")) {
            a->no_offload = true;
        } else if (FLAG("--tx-thread")) {
            NEEDV();
            a->tx_thread = utcp_tool_tx_thread(v);
            if (a->tx_thread < -1)
                return bad("bad --tx-thread '%s' (auto, on or off)", v);
        } else if (FLAG("--rst-on-eof")) {
            a->rst_on_eof = true;
        } else if (FLAG("--kernel-gro")) {
            a->no_kernel_gro = false;
            a->kernel_gro_us = UTCP_RUN_GRO_HOLD_US;
            if (v && (!parse_ul(v, 1000000, &a->kernel_gro_us) ||
                      !a->kernel_gro_us))
                return bad("bad --kernel-gro '%s' (microseconds, 1 to "
                           "1000000)", v);
        } else if (FLAG("--no-kernel-gro")) {
            a->no_kernel_gro = true;
        } else if (FLAG("--gen")) {
            NEEDV();
            if (!parse_size(v, &a->gen))
                return bad("bad --gen '%s' (bytes, with k, m or g for KiB, "
                           "MiB, GiB)", v);
            a->have_gen = true;
        } else if (FLAG("-p") || FLAG("--local-port")) {
            NEEDV();
            if (!parse_ul(v, 65535, &ul) || ul == 0)
                return bad("bad local port '%s' (1..65535)", v);
            a->local_port = (uint16_t)ul;
        } else if (FLAG("--dev")) {
            NEEDV();
            a->dev = v;
        } else if (FLAG("--addr")) {
            NEEDV();
            uint8_t plen;
            if (utcp_parse_ipv4(v, &a->addr, &plen) < 0 || !a->addr)
                return bad("bad address '%s' (want A.B.C.D)", v);
        } else if (FLAG("--kernel-addr")) {
            NEEDV();
            if (utcp_parse_ipv4(v, &a->kaddr, &a->kprefix) < 0 || !a->kaddr)
                return bad("bad address '%s' (want A.B.C.D/NN)", v);
        } else if (FLAG("--mtu")) {
            NEEDV();
            if (!parse_ul(v, 65535, &ul) || ul < 576)
                return bad("bad MTU '%s' (576..65535)", v);
            a->mtu = ul;
        } else if (FLAG("--sndbuf") || FLAG("--rcvbuf")) {
            const char *which = name;
            NEEDV();
            if (!parse_ul(v, 1u << 30, &ul) || ul < 1024)
                return bad("bad buffer size '%s' (1024..2^30 bytes)", v);
            if (!strcmp(which, "--sndbuf"))
                a->sndbuf = ul;
            else
                a->rcvbuf = ul;
        } else if (FLAG("--syn-retries")) {
            NEEDV();
            if (!parse_ul(v, 255, &ul))
                return bad("bad SYN retry count '%s' (0..255)", v);
            a->syn_retries = ul;
            a->have_syn_retries = true;
        } else if (FLAG("--cc")) {
            NEEDV();
            a->cc = utcp_tool_cc(v);
            if (a->cc < 0)
                return bad("unknown congestion control '%s' (newreno, cubic "
                           "or bbr)",
                           v);
        } else if (FLAG("--impair-dir")) {
            NEEDV();
            if (!strcmp(v, "both"))
                a->impair_dirs = 3;
            else if (!strcmp(v, "out"))
                a->impair_dirs = 1;
            else if (!strcmp(v, "in"))
                a->impair_dirs = 2;
            else
                return bad("bad direction '%s' (out, in or both)", v);
        } else if (FLAG("--seed")) {
            NEEDV();
            if (!parse_ul(v, ULONG_MAX, &a->seed))
                return bad("bad seed '%s'", v);
        } else if (FLAG("--loss") || FLAG("--reorder") || FLAG("--dup") ||
                   FLAG("--corrupt")) {
            char which[32];
            snprintf(which, sizeof which, "%s", name);
            NEEDV();
            if (!parse_pct(v, &ppm))
                return bad("bad percentage '%s' (0..100)", v);
            for (int d = 0; d < 2; d++) {
                struct utcp_filter_dir *fd = &a->filter.dir[d];
                if (!strcmp(which, "--loss"))
                    fd->loss_ppm = ppm;
                else if (!strcmp(which, "--reorder"))
                    fd->reorder_ppm = ppm;
                else if (!strcmp(which, "--dup"))
                    fd->dup_ppm = ppm;
                else
                    fd->corrupt_ppm = ppm;
            }
            a->impaired = true;
        } else if (FLAG("--delay") || FLAG("--jitter")) {
            bool delay = !strcmp(name, "--delay");
            NEEDV();
            if (!parse_ul(v, 60000, &ul))
                return bad("bad time '%s' (0..60000 ms)", v);
            for (int d = 0; d < 2; d++) {
                if (delay)
                    a->filter.dir[d].delay_us = (uint64_t)ul * 1000u;
                else
                    a->filter.dir[d].jitter_us = (uint64_t)ul * 1000u;
            }
            a->impaired = true;
        } else {
            return bad("unknown option '%s'", o);
        }
#undef FLAG
#undef NEEDV
    }
    for (int d = 0; d < 2; d++)
        if (!(a->impair_dirs & (1 << d)))
            memset(&a->filter.dir[d], 0, sizeof a->filter.dir[d]);
    /* reordering holds a packet a little longer than the others */
    for (int d = 0; d < 2; d++) {
        struct utcp_filter_dir *fd = &a->filter.dir[d];
        if (fd->reorder_ppm && !fd->reorder_us)
            fd->reorder_us = fd->delay_us / 2 + 5000;
    }
    unsigned long ul;
    if (a->listen) {
        if (npos != 1)
            return bad("%s", "-l needs exactly one argument, the PORT");
        a->port_s = pos[0];
    } else {
        if (npos != 2)
            return bad("%s", "need HOST and PORT (or -l PORT)");
        a->host = pos[0];
        a->port_s = pos[1];
        uint8_t plen;
        if (utcp_parse_ipv4(a->host, &a->host_addr, &plen) < 0 || plen != 32 ||
            !a->host_addr)
            return bad("bad host '%s' (an IPv4 address A.B.C.D; no names)",
                       a->host);
    }
    if (!parse_ul(a->port_s, 65535, &ul) || ul == 0)
        return bad("bad port '%s' (1..65535)", a->port_s);
    a->port = (uint16_t)ul;
    return 0;
}

static void summary(struct nc *nc)
{
    uint64_t end = utcp_run_now();
    double secs = (double)(end - (nc->t_conn ? nc->t_conn : nc->t0)) / 1e6;
    struct utcp_counters c;
    utcp_get_counters(nc->st, &c);
    say("sent %llu bytes, received %llu bytes in %.3f s (%.1f MB/s out, "
        "%.1f MB/s in); segments out %llu, retransmitted %llu (%llu fast, "
        "%llu timeouts), in %llu (%llu with errors)",
        (unsigned long long)nc->sent, (unsigned long long)nc->rcvd, secs,
        secs > 0 ? (double)nc->sent / secs / 1e6 : 0.0,
        secs > 0 ? (double)nc->rcvd / secs / 1e6 : 0.0,
        (unsigned long long)c.OutSegs, (unsigned long long)c.RetransSegs,
        (unsigned long long)c.FastRetrans, (unsigned long long)c.Timeouts,
        (unsigned long long)c.InSegs, (unsigned long long)c.InErrs);
    if (c.IllegalTransitions)
        say("%llu ILLEGAL state transitions (an engine bug: see --trace)",
            (unsigned long long)c.IllegalTransitions);
    struct utcp_run_stats rs;
    utcp_run_get_stats(nc->run, &rs);
    say("device: %llu packets read, %llu written, %llu refused; filter "
        "dropped %llu out, %llu in; %llu wakeups",
        (unsigned long long)rs.rx_packets, (unsigned long long)rs.tx_packets,
        (unsigned long long)(rs.tx_dropped + rs.tx_errors),
        (unsigned long long)rs.filter_dropped[0],
        (unsigned long long)rs.filter_dropped[1],
        (unsigned long long)rs.wakeups);
    if (utcp_run_kernel_gro(nc->run, NULL)) {
        struct utcp_tun_stats ts;
        utcp_run_tun_stats(nc->run, &ts);
        say("kernel GRO: %llu packets written to the NAPI queue",
            (unsigned long long)ts.tx_gro);
    }
    if (utcp_run_offload(nc->run, NULL)) {
        struct utcp_tun_stats ts;
        utcp_run_tun_stats(nc->run, &ts);
        uint64_t bad = 0;
        for (int i = 1; i < UTCP_VNET_REASON_COUNT; i++)
            bad += ts.rx_dropped[i];
        say("offload: %llu GSO frames read, %llu checksum-verified; %llu "
            "TSO segments written, %llu with a partial checksum; %llu bad "
            "headers dropped",
            (unsigned long long)ts.rx_gso, (unsigned long long)ts.rx_csum_ok,
            (unsigned long long)ts.tx_gso,
            (unsigned long long)ts.tx_csum_partial,
            (unsigned long long)bad);
        for (int i = 1; i < UTCP_VNET_REASON_COUNT; i++)
            if (ts.rx_dropped[i])
                say("  %llu dropped: %s",
                    (unsigned long long)ts.rx_dropped[i],
                    utcp_vnet_reason_text(i));
    }
}

int utcp_tool_nc(int argc, char **argv)
{
    struct nc_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? 0 : rc;

    struct nc *nc = calloc(1, sizeof *nc);
    if (!nc) {
        say("out of memory");
        return NC_ERR;
    }
    nc->listen = a.listen;
    nc->rst_on_eof = a.rst_on_eof;
    if (a.have_gen) {
        nc->pattern = gen_pattern();
        if (!nc->pattern) {
            say("out of memory");
            free(nc);
            return NC_ERR;
        }
        nc->gen = true;
        nc->gen_left = a.gen;
    }
    nc->verbose = a.verbose;
    nc->trace = a.trace;
    nc->t0 = utcp_run_now();
    signal(SIGPIPE, SIG_IGN);

    struct utcp_run_config rc_cfg;
    utcp_run_config_init(&rc_cfg);
    rc_cfg.dev = a.dev;
    rc_cfg.mtu = (uint16_t)a.mtu;
    rc_cfg.addr = a.addr;
    rc_cfg.kernel_addr = a.kaddr;
    rc_cfg.kernel_prefix = a.kprefix;
    rc_cfg.no_offload = a.no_offload;
    rc_cfg.tx_thread = a.tx_thread;
    rc_cfg.no_kernel_gro = a.no_kernel_gro;
    rc_cfg.kernel_gro_hold_us = (uint32_t)a.kernel_gro_us;
    utcp_config_init(&rc_cfg.stack);
    rc_cfg.stack.sndbuf = (uint32_t)a.sndbuf;
    rc_cfg.stack.rcvbuf = (uint32_t)a.rcvbuf;
    rc_cfg.stack.no_timestamps = a.no_ts;
    rc_cfg.stack.no_sack = a.no_sack;
    rc_cfg.stack.congestion_control = (uint8_t)a.cc;
    if (a.have_syn_retries)
        rc_cfg.stack.syn_retries = (uint8_t)a.syn_retries;
    if (a.trace) {
        rc_cfg.stack.trace = on_trace;
        rc_cfg.stack.trace_ctx = nc;
    }
    if (a.impaired) {
        rc_cfg.filter = &a.filter;
        rc_cfg.filter_seed = a.seed;
    }
    char msg[256];
    rc = utcp_run_create(&rc_cfg, &nc->run, msg, sizeof msg);
    if (rc) {
        say("%s", msg);
        free(nc->pattern);
        free(nc);
        return NC_ERR;
    }
    nc->st = utcp_run_stack(nc->run);
    if (a.verbose) {
        const char *why = NULL;
        if (utcp_run_offload(nc->run, &why))
            say("device %s: offload mode (virtio-net header, checksum and "
                "TSO4 offloads%s)%s",
                utcp_run_dev(nc->run),
                a.impaired ? "; impairments: no TSO, full checksums" : "",
                utcp_run_tx_thread(nc->run) ? ", transmit thread" : "");
        else
            say("device %s: plain mode (%s)%s", utcp_run_dev(nc->run),
                why ? why : "offloads off",
                utcp_run_tx_thread(nc->run) ? ", transmit thread" : "");
        const char *gwhy = NULL;
        if (utcp_run_kernel_gro(nc->run, &gwhy))
            say("kernel GRO: data to a second queue with IFF_NAPI, threaded "
                "NAPI, held up to %lu us",
                a.kernel_gro_us ? a.kernel_gro_us
                                : (unsigned long)UTCP_RUN_GRO_HOLD_US);
        else if (!utcp_run_offload(nc->run, NULL) && gwhy)
            say("kernel GRO refused: %s", gwhy);
    }
    struct stat sb;
    if (fstat(1, &sb) == 0 && (S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode))) {
        /* A pipe or socket: never block the loop on a slow reader; the
         * connection's receive window closes instead. */
        int fl = fcntl(1, F_GETFL);
        if (fl >= 0 && !(fl & O_NONBLOCK) &&
            fcntl(1, F_SETFL, fl | O_NONBLOCK) == 0) {
            nc->stdout_nb = true;
            nc->stdout_flags = fl;
        }
    }
    utcp_sock sk;
    rc = utcp_socket(nc->st, &sk);
    if (rc == 0 && (a.listen || a.local_port))
        rc = utcp_bind(nc->st, sk, 0, a.listen ? a.port : a.local_port);
    if (rc == 0 && a.listen) {
        rc = utcp_listen(nc->st, sk, 1);
        nc->lsk = sk;
        if (rc == 0)
            rc = utcp_run_watch(nc->run, sk, on_listen, nc);
        if (rc == 0 && (a.trace || a.verbose))
            say("listening on %u.%u.%u.%u:%u (device %s)", a.addr >> 24,
                a.addr >> 16 & 255, a.addr >> 8 & 255, a.addr & 255, a.port,
                utcp_run_dev(nc->run));
    } else if (rc == 0) {
        nc->sk = sk;
        rc = utcp_run_watch(nc->run, sk, on_sock, nc);
        if (rc == 0) {
            rc = utcp_connect(nc->st, sk, a.host_addr, a.port);
            if (rc == UTCP_EINPROGRESS)
                rc = 0;
        }
    }
    int code;
    if (rc) {
        say("%s", utcp_strerror(rc));
        code = NC_ERR;
    } else {
        code = utcp_run_loop(nc->run);
        if (code < 0) {
            say("device failed: %s", utcp_strerror(code));
            code = NC_ERR;
        }
    }
    if (a.verbose)
        summary(nc);
    if (nc->stdout_nb && !nc->peer_eof)
        fcntl(1, F_SETFL, nc->stdout_flags);
    utcp_run_destroy(nc->run);
    free(nc->pattern);
    free(nc);
    return code;
}
