/*
 * `utcp http`: a static HTTP/1.1 file server over utcp on a TUN device, on
 * the runtime (utcp/run.h), requests parsed by Debian's http-parser. GET,
 * HEAD, keep-alive, files streamed as the send buffer drains. Must never
 * serve a file outside the root, hold a whole file in memory, or block.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <http_parser.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "http_util.h"
#include "tools.h"
#include "utcp/run.h"
#include "utcp/tun.h"

enum { H_OK = 0, H_ERR = 1, H_USAGE = 2 };

enum {
    URL_MAX = 2048,    /* longer request targets: 414 */
    HEADER_MAX = 8192, /* request line and headers: 431 beyond */
    IN_MAX = 16384,    /* received bytes not yet parsed */
    SCRATCH = 65536,   /* one utcp_send of header and file bytes */
    LINGER_MS = 2000,  /* after our FIN, wait this long for the peer's */
};

enum cstate { C_READ, C_SEND, C_LINGER };

struct srv;

struct conn {
    struct conn *prev, *next;
    struct srv *srv;
    utcp_sock sk;
    enum cstate st;
    http_parser p;
    bool ready; /* a whole request was parsed (parser paused) */
    bool peer_eof;
    int perr; /* status chosen by a parser callback (414) */
    bool host_seen, in_value;
    char hname[8];
    size_t hnamelen;
    char url[URL_MAX + 1];
    size_t urllen;
    size_t inoff, inlen;
    /* the response: hdr (and a small body for errors), then the file */
    char hdr[1024];
    size_t hdroff, hdrlen;
    int fd;
    uint64_t foff, fend;
    bool keep;
    int status;
    uint64_t body_sent, body_len;
    uint32_t peer;
    uint64_t last;   /* last progress, runtime clock (us) */
    uint64_t req_t0; /* first byte of the request being read (0: none) */
    long sndbuf;
    uint8_t in[IN_MAX]; /* last: new_conn clears the fields before it */
};

struct srv {
    struct utcp_run *run;
    struct utcp_stack *st;
    utcp_sock lsk;
    char root[PATH_MAX];
    bool index, trace;
    FILE *log;
    struct conn *conns;
    unsigned nconns, max_conns;
    uint64_t idle_us;
    int tfd;
    uint64_t t0;
    uint8_t scratch[SCRATCH];
    char date[40];
    time_t date_t;
    uint64_t requests;
};

static http_parser_settings settings;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("utcp http: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

static void usage(FILE *f)
{
    fputs(
        "usage: utcp http [OPTIONS] [--root DIR] [--port N]\n"
        "\n"
        "A static HTTP/1.1 file server over utcp, a user-space TCP, on a "
        "Linux TUN\n"
        "device: GET and HEAD, keep-alive (HTTP/1.1 default; Connection: "
        "close and\n"
        "HTTP/1.0 close after the response), files streamed from disk. "
        "Needs root (or\n"
        "CAP_NET_ADMIN); run it in a network namespace (scripts/netns.sh "
        "makes one).\n"
        "\n"
        "options:\n"
        "  --root DIR             directory to serve (default: the current "
        "one)\n"
        "  --port N               port to listen on (default 80)\n"
        "  --index                serve DIR/index.html for a directory "
        "(default: 403)\n"
        "  --log FILE             access log (common log format) to FILE, "
        "appended\n"
        "                         (default: stderr); --no-log: none\n"
        "  --max-conns N          connections served at once (default "
        "1024; more wait\n"
        "                         in the accept queue)\n"
        "  --timeout S            close a connection idle this long, or whose "
        "request has\n"
        "                         not arrived whole in this time (default "
        "30 seconds)\n"
        "  --dev NAME             TUN device (default utcp0); attached when "
        "it exists,\n"
        "                         else created (and gone at exit)\n"
        "  --addr A.B.C.D         utcp's own address (default 198.18.0.2)\n"
        "  --kernel-addr A.B.C.D/NN\n"
        "                         give the kernel this address on the "
        "device (default:\n"
        "                         leave the device's addresses as they "
        "are)\n"
        "  --mtu N                device and stack MTU (default 1500)\n"
        "  --no-offload           plain TUN: no virtio-net header, no "
        "checksum or\n"
        "                         segmentation offload (default: offload "
        "when the\n"
        "                         kernel accepts it)\n"
        "  --no-kernel-gro        plain mode: every packet straight into the "
        "kernel\n"
        "                         (default: data through a second queue "
        "whose packets\n"
        "                         the kernel merges, docs/tun.md)\n"
        "  --tx-thread auto|on|off\n"
        "                         write packets from a second thread (auto, "
        "the\n"
        "                         default: in plain mode without kernel "
        "GRO, with more\n"
        "                         than one CPU)\n"
        "  --sndbuf N, --rcvbuf N socket buffers in bytes (default 262144, "
        "65536)\n"
        "  --cc newreno|cubic|bbr congestion control (default bbr, as "
        "Linux here)\n"
        "  --trace                print every state change to stderr\n"
        "\n"
        "exit status: 0 stopped by SIGINT/SIGTERM (connections closed "
        "gracefully,\n"
        "a second signal exits at once), 1 error (device, root, I/O), 2 "
        "bad usage.\n"
        "\n"
        "example (see docs/tun.md):\n"
        "  scripts/netns.sh run -- sh -c 'utcp http --root "
        "/usr/share/common-licenses &\n"
        "      sleep 0.5; curl -sI http://198.18.0.2/GPL-3; kill $!; wait'\n",
        f);
}

/* ---- access log ---- */

static const char *method_name(const struct conn *c)
{
    return http_method_str((enum http_method)c->p.method);
}

/* The target as it came, with '"', '\\', controls and non-ASCII as \xNN,
 * so a request cannot forge log lines or fields. */
static void log_escape(const char *in, size_t n, char *out, size_t outlen)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < outlen; i++) {
        unsigned char ch = (unsigned char)in[i];
        if (ch < 0x21 || ch > 0x7e || ch == '"' || ch == '\\')
            o += (size_t)snprintf(out + o, outlen - o, "\\x%02x", ch);
        else
            out[o++] = (char)ch;
    }
    out[o] = '\0';
}

static void log_request(struct conn *c)
{
    struct srv *s = c->srv;
    s->requests++;
    if (!s->log)
        return;
    char t[40], u[URL_MAX * 4 + 8];
    utcp_http_logtime(time(NULL), t, sizeof t);
    uint32_t a = c->peer;
    if (c->urllen && c->p.http_major) {
        log_escape(c->url, c->urllen, u, sizeof u);
        fprintf(s->log, "%u.%u.%u.%u - - [%s] \"%s %s HTTP/%u.%u\" %d %llu\n",
                a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, t,
                method_name(c), u, c->p.http_major, c->p.http_minor, c->status,
                (unsigned long long)c->body_sent);
    } else {
        fprintf(s->log, "%u.%u.%u.%u - - [%s] \"-\" %d %llu\n", a >> 24,
                a >> 16 & 255, a >> 8 & 255, a & 255, t, c->status,
                (unsigned long long)c->body_sent);
    }
}

/* ---- parser callbacks ---- */

static int on_url(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    if (c->urllen + len > URL_MAX) {
        c->perr = 414;
        return -1;
    }
    memcpy(c->url + c->urllen, at, len);
    c->urllen += len;
    return 0;
}

static int on_header_field(http_parser *p, const char *at, size_t len)
{
    struct conn *c = p->data;
    if (c->in_value) {
        c->in_value = false;
        c->hnamelen = 0;
    }
    for (size_t i = 0; i < len; i++, c->hnamelen++)
        if (c->hnamelen < sizeof c->hname)
            c->hname[c->hnamelen] = at[i];
    return 0;
}

static int on_header_value(http_parser *p, const char *at, size_t len)
{
    (void)at;
    (void)len;
    struct conn *c = p->data;
    if (!c->in_value && c->hnamelen == 4 && !strncasecmp(c->hname, "host", 4))
        c->host_seen = true;
    c->in_value = true;
    return 0;
}

static int on_message_complete(http_parser *p)
{
    struct conn *c = p->data;
    c->ready = true;
    http_parser_pause(p, 1); /* one request at a time; the rest waits */
    return 0;
}

static void reset_request(struct conn *c)
{
    c->ready = false;
    c->perr = 0;
    c->host_seen = c->in_value = false;
    c->hnamelen = 0;
    c->urllen = 0;
    c->hdroff = c->hdrlen = 0;
    c->foff = c->fend = 0;
    c->status = 0;
    c->body_sent = c->body_len = 0;
    c->req_t0 = c->inlen > c->inoff ? utcp_run_now() : 0; /* pipelined */
}

/* ---- connections ---- */

static void accept_all(struct srv *s);

static void conn_release(struct conn *c, bool abort)
{
    struct srv *s = c->srv;
    utcp_run_unwatch(s->run, c->sk);
    if (abort)
        utcp_abort(s->st, c->sk);
    else
        utcp_close(s->st, c->sk);
    if (c->fd >= 0)
        close(c->fd);
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    free(c);
    s->nconns--;
    accept_all(s);
}

/* Our side is done: FIN after the queued response, then read and drop
 * until the peer's FIN (so unread data never turns our close into a RST
 * that destroys the response on its way). */
static void conn_linger(struct conn *c)
{
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    c->st = C_LINGER;
    c->last = utcp_run_now();
    utcp_shutdown(c->srv->st, c->sk, UTCP_SHUT_WR);
}

static const char *refresh_date(struct srv *s)
{
    time_t now = time(NULL);
    if (now != s->date_t) {
        s->date_t = now;
        utcp_http_date(now, s->date, sizeof s->date);
    }
    return s->date;
}

/* Builds the status line and headers (and, for errors, a one-line body)
 * into c->hdr; the file (if any) follows from c->fd. */
static void build_head(struct conn *c, int status, const char *ctype,
                       uint64_t clen, const char *extra, const char *body)
{
    bool head = c->p.method == HTTP_HEAD;
    bool v10 = c->p.http_major == 1 && c->p.http_minor == 0;
    int n = snprintf(c->hdr, sizeof c->hdr,
                     "HTTP/1.1 %d %s\r\nServer: utcp/%s\r\nDate: %s\r\n"
                     "Content-Type: %s\r\nContent-Length: %llu\r\n%s%s\r\n",
                     status, utcp_http_reason(status), UTCP_VERSION_STRING,
                     refresh_date(c->srv), ctype, (unsigned long long)clen,
                     extra ? extra : "",
                     !c->keep ? "Connection: close\r\n"
                     : v10    ? "Connection: keep-alive\r\n"
                              : "");
    size_t len = n > 0 ? (size_t)n : 0;
    if (len >= sizeof c->hdr)
        len = sizeof c->hdr - 1;
    if (body && !head) {
        size_t b = strlen(body);
        if (len + b < sizeof c->hdr) {
            memcpy(c->hdr + len, body, b);
            len += b;
            c->body_sent = b; /* queued with the header */
        }
    }
    c->hdrlen = len;
    c->hdroff = 0;
    c->status = status;
    c->body_len = clen;
    c->st = C_SEND;
}

static void respond_error(struct conn *c, int status, const char *extra)
{
    char body[96];
    snprintf(body, sizeof body, "%d %s\n", status, utcp_http_reason(status));
    build_head(c, status, "text/plain; charset=utf-8", strlen(body), extra,
               body);
}

/* A whole request was parsed: choose the response. */
static void serve(struct conn *c)
{
    struct srv *s = c->srv;
    c->keep = http_should_keep_alive(&c->p) && !c->p.upgrade;
    if (c->p.http_major != 1) { /* HTTP/0.9, or 2.0 in 1.1 framing */
        c->keep = false;
        respond_error(c, 505, NULL);
        return;
    }
    if (c->p.http_minor >= 1 && !c->host_seen) {
        c->keep = false; /* RFC 9112 3.2: a 1.1 request without Host */
        respond_error(c, 400, NULL);
        return;
    }
    if (c->p.method != HTTP_GET && c->p.method != HTTP_HEAD) {
        respond_error(c, 405, "Allow: GET, HEAD\r\n");
        return;
    }
    char path[PATH_MAX], resolved[PATH_MAX];
    int st = utcp_http_decode_target(c->url, c->urllen, path, sizeof path);
    if (st) {
        respond_error(c, st, NULL);
        return;
    }
    uint64_t size = 0;
    st = utcp_http_open(s->root, path, s->index, &c->fd, &size, resolved);
    if (st != 200) {
        respond_error(c, st, NULL);
        return;
    }
    build_head(c, 200, utcp_http_mime(resolved), size, NULL, NULL);
    if (c->p.method == HTTP_HEAD) {
        close(c->fd);
        c->fd = -1;
    } else {
        c->foff = 0;
        c->fend = size;
    }
}

/* The request cannot be parsed: answer and close (no resynchronizing). */
static void parse_failed(struct conn *c)
{
    enum http_errno e = HTTP_PARSER_ERRNO(&c->p);
    int status = c->perr ? c->perr : e == HPE_HEADER_OVERFLOW ? 431 : 400;
    c->keep = false;
    respond_error(c, status, NULL);
}

/* Parses buffered bytes. Returns true when a response was chosen. */
static bool parse_buffered(struct conn *c)
{
    while (c->inoff < c->inlen) {
        size_t n = http_parser_execute(&c->p, &settings,
                                       (const char *)c->in + c->inoff,
                                       c->inlen - c->inoff);
        c->inoff += n;
        enum http_errno e = HTTP_PARSER_ERRNO(&c->p);
        if (e == HPE_PAUSED || c->ready)
            break;
        if (e != HPE_OK) {
            parse_failed(c);
            return true;
        }
    }
    if (c->inoff == c->inlen)
        c->inoff = c->inlen = 0;
    if (!c->ready)
        return false;
    serve(c);
    return true;
}

enum step { STEP_MORE, STEP_WAIT, STEP_GONE };

/* C_READ: parse what is buffered, receive more. */
static enum step step_read(struct conn *c)
{
    struct srv *s = c->srv;
    for (;;) {
        if (parse_buffered(c))
            return STEP_MORE;
        if (c->inoff > 0) {
            memmove(c->in, c->in + c->inoff, c->inlen - c->inoff);
            c->inlen -= c->inoff;
            c->inoff = 0;
        }
        if (c->inlen == sizeof c->in) { /* cannot happen: the parser takes
                                           all it is given unless paused */
            parse_failed(c);
            return STEP_MORE;
        }
        long n =
            utcp_recv(s->st, c->sk, c->in + c->inlen, sizeof c->in - c->inlen);
        if (n == UTCP_EAGAIN)
            return STEP_WAIT;
        if (n <= 0) { /* the peer closed (between requests), or an error */
            c->peer_eof = true;
            if (c->p.nread || c->urllen) /* a request cut short */
                log_request(c);
            conn_release(c, n < 0);
            return STEP_GONE;
        }
        c->inlen += (size_t)n;
        c->last = utcp_run_now();
        if (!c->req_t0)
            c->req_t0 = c->last;
    }
}

/* Room in the send buffer (an estimate: utcp_send may still take less). */
static size_t send_room(struct conn *c)
{
    struct utcp_info info;
    if (utcp_getinfo(c->srv->st, c->sk, &info) < 0 ||
        (long)info.send_queue >= c->sndbuf)
        return 4096; /* try anyway: EAGAIN brings WRITABLE later */
    size_t room = (size_t)(c->sndbuf - (long)info.send_queue);
    return room < SCRATCH ? room : SCRATCH;
}

/* C_SEND: header, then the file in chunks as the send buffer drains. */
static enum step step_send(struct conn *c)
{
    struct srv *s = c->srv;
    while (c->hdroff < c->hdrlen || c->foff < c->fend) {
        size_t want = send_room(c), h = c->hdrlen - c->hdroff;
        if (h > want)
            h = want;
        memcpy(s->scratch, c->hdr + c->hdroff, h);
        size_t len = h;
        if (len < want && c->foff < c->fend) {
            uint64_t left = c->fend - c->foff;
            size_t f = want - len < left ? want - len : (size_t)left;
            ssize_t r = pread(c->fd, s->scratch + len, f, (off_t)c->foff);
            if (r <= 0) { /* the file shrank or failed: cut the response */
                say("reading %s: %s", c->url, r ? strerror(errno) : "EOF");
                log_request(c);
                conn_release(c, true);
                return STEP_GONE;
            }
            len += (size_t)r;
        }
        long k = utcp_send(s->st, c->sk, s->scratch, len);
        if (k == UTCP_EAGAIN)
            return STEP_WAIT;
        if (k < 0) {
            log_request(c);
            conn_release(c, true);
            return STEP_GONE;
        }
        size_t sent = (size_t)k, hs = sent < h ? sent : h;
        c->hdroff += hs;
        c->foff += sent - hs;
        c->body_sent += sent - hs;
        c->last = utcp_run_now();
        if (sent < len)
            return STEP_WAIT;
    }
    log_request(c);
    if (c->fd >= 0) {
        close(c->fd);
        c->fd = -1;
    }
    if (!c->keep) {
        conn_linger(c);
        return STEP_MORE;
    }
    reset_request(c);
    http_parser_pause(&c->p, 0);
    c->st = C_READ;
    return STEP_MORE;
}

/* C_LINGER: drop what arrives until the peer's FIN. */
static enum step step_linger(struct conn *c)
{
    for (;;) {
        long n = utcp_recv(c->srv->st, c->sk, c->srv->scratch, SCRATCH);
        if (n == UTCP_EAGAIN)
            return STEP_WAIT;
        if (n <= 0) {
            conn_release(c, false);
            return STEP_GONE;
        }
    }
}

static void drive(struct conn *c)
{
    for (;;) {
        enum step r = c->st == C_READ   ? step_read(c)
                      : c->st == C_SEND ? step_send(c)
                                        : step_linger(c);
        if (r != STEP_MORE)
            return;
    }
}

static void on_conn(struct utcp_run *r, utcp_sock sk, uint32_t ev, void *ctx)
{
    (void)r;
    (void)sk;
    struct conn *c = ctx;
    if (ev & UTCP_EV_ERROR) {
        int err = utcp_sock_error(c->srv->st, c->sk);
        if (err) {
            if (c->st == C_SEND)
                log_request(c);
            conn_release(c, true);
            return;
        }
    }
    if (ev & (UTCP_EV_READABLE | UTCP_EV_WRITABLE | UTCP_EV_HUP))
        drive(c);
    else if (ev & UTCP_EV_CLOSED)
        conn_release(c, false);
}

static void new_conn(struct srv *s, utcp_sock sk)
{
    struct conn *c = malloc(sizeof *c);
    if (!c) {
        utcp_abort(s->st, sk);
        return;
    }
    memset(c, 0, offsetof(struct conn, in));
    c->srv = s;
    c->sk = sk;
    c->fd = -1;
    c->st = C_READ;
    c->last = utcp_run_now();
    http_parser_init(&c->p, HTTP_REQUEST);
    c->p.data = c;
    uint16_t port;
    utcp_peername(s->st, sk, &c->peer, &port);
    utcp_setopt(s->st, sk, UTCP_OPT_NODELAY, 1);
    if (utcp_getopt(s->st, sk, UTCP_OPT_SNDBUF, &c->sndbuf) < 0 ||
        c->sndbuf <= 0)
        c->sndbuf = 65536;
    if (utcp_run_watch(s->run, sk, on_conn, c) < 0) {
        utcp_abort(s->st, sk);
        free(c);
        return;
    }
    c->next = s->conns;
    if (s->conns)
        s->conns->prev = c;
    s->conns = c;
    s->nconns++;
    drive(c); /* the request may have come with the handshake */
}

static void accept_all(struct srv *s)
{
    while (s->lsk && s->nconns < s->max_conns) {
        utcp_sock c;
        if (utcp_accept(s->st, s->lsk, &c) < 0)
            return;
        new_conn(s, c);
    }
}

static void on_listen(struct utcp_run *r, utcp_sock sk, uint32_t ev, void *ctx)
{
    (void)r;
    (void)sk;
    if (ev & UTCP_EV_ACCEPT)
        accept_all(ctx);
}

/* Once a second: close idle and lingering connections, flush the log. */
static void on_sweep(struct utcp_run *r, int fd, uint32_t events, void *ctx)
{
    (void)r;
    (void)events;
    struct srv *s = ctx;
    uint64_t ticks;
    if (read(fd, &ticks, sizeof ticks) < 0 && errno != EAGAIN)
        say("timer: %s", strerror(errno));
    uint64_t now = utcp_run_now();
    struct conn *next;
    for (struct conn *c = s->conns; c; c = next) {
        next = c->next;
        uint64_t limit =
            c->st == C_LINGER ? (uint64_t)LINGER_MS * 1000u : s->idle_us;
        /* a request must arrive whole within the limit (slow senders),
         * a response must move, an idle connection goes */
        uint64_t since = c->st == C_READ && c->req_t0 ? c->req_t0 : c->last;
        if (now - since > limit) /* a stuck response is reset */
            conn_release(c, c->st == C_SEND);
    }
    if (s->log)
        fflush(s->log);
}

static void on_trace(void *ctx, const struct utcp_trace_event *ev)
{
    struct srv *s = ctx;
    if (ev->kind != UTCP_TRACE_STATE)
        return;
    uint64_t t = ev->now > s->t0 ? ev->now - s->t0 : 0;
    uint32_t l = ev->local_addr, r = ev->remote_addr;
    fprintf(stderr,
            "utcp http: %llu.%06llu %u.%u.%u.%u:%u %u.%u.%u.%u:%u %s -> %s "
            "(%s)\n",
            (unsigned long long)(t / 1000000u),
            (unsigned long long)(t % 1000000u), l >> 24, l >> 16 & 255,
            l >> 8 & 255, l & 255, ev->local_port, r >> 24, r >> 16 & 255,
            r >> 8 & 255, r & 255, ev->remote_port,
            utcp_state_name(ev->old_state), utcp_state_name(ev->new_state),
            utcp_cause_text(ev->cause));
}

/* ---- arguments ---- */

struct http_args {
    const char *root, *log, *dev;
    bool no_log, index, trace, no_offload, no_kernel_gro;
    int tx_thread; /* utcp_run_config.tx_thread */
    uint16_t port;
    uint32_t addr, kaddr;
    uint8_t kprefix;
    unsigned long mtu, sndbuf, rcvbuf, max_conns, timeout;
    int cc; /* enum utcp_cc */
};

static int bad(const char *fmt, const char *arg)
{
    fputs("utcp http: ", stderr);
    fprintf(stderr, fmt, arg);
    fputs(" (see utcp http --help)\n", stderr);
    return H_USAGE;
}

static bool parse_ul(const char *s, unsigned long lo, unsigned long hi,
                     unsigned long *out)
{
    if (!s || *s < '0' || *s > '9')
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return false;
    *out = v;
    return true;
}

/* One option with a value. Returns 0, or the exit status for bad usage. */
static int parse_valued(struct http_args *a, const char *name, const char *v)
{
    unsigned long ul;
    uint8_t plen;
    if (!strcmp(name, "--root")) {
        a->root = v;
    } else if (!strcmp(name, "--log")) {
        a->log = v;
    } else if (!strcmp(name, "--dev")) {
        a->dev = v;
    } else if (!strcmp(name, "--port")) {
        if (!parse_ul(v, 1, 65535, &ul))
            return bad("bad port '%s' (1..65535)", v);
        a->port = (uint16_t)ul;
    } else if (!strcmp(name, "--addr")) {
        if (utcp_parse_ipv4(v, &a->addr, &plen) < 0 || !a->addr)
            return bad("bad address '%s' (want A.B.C.D)", v);
    } else if (!strcmp(name, "--kernel-addr")) {
        if (utcp_parse_ipv4(v, &a->kaddr, &a->kprefix) < 0 || !a->kaddr)
            return bad("bad address '%s' (want A.B.C.D/NN)", v);
    } else if (!strcmp(name, "--mtu")) {
        if (!parse_ul(v, 576, 65535, &a->mtu))
            return bad("bad MTU '%s' (576..65535)", v);
    } else if (!strcmp(name, "--sndbuf") || !strcmp(name, "--rcvbuf")) {
        if (!parse_ul(v, 1024, 1ul << 30, &ul))
            return bad("bad buffer size '%s' (1024..2^30 bytes)", v);
        *(name[2] == 's' ? &a->sndbuf : &a->rcvbuf) = ul;
    } else if (!strcmp(name, "--max-conns")) {
        if (!parse_ul(v, 1, 1000000, &a->max_conns))
            return bad("bad connection count '%s' (1..1000000)", v);
    } else if (!strcmp(name, "--timeout")) {
        if (!parse_ul(v, 1, 86400, &a->timeout))
            return bad("bad timeout '%s' (1..86400 s)", v);
    } else if (!strcmp(name, "--tx-thread")) {
        a->tx_thread = utcp_tool_tx_thread(v);
        if (a->tx_thread < -1)
            return bad("bad --tx-thread '%s' (auto, on or off)", v);
    } else if (!strcmp(name, "--cc")) {
        a->cc = utcp_tool_cc(v);
        if (a->cc < 0)
            return bad("unknown congestion control '%s' (newreno, cubic or "
                       "bbr)",
                       v);
    } else {
        return bad("unknown option '%s'", name);
    }
    return 0;
}

/* Returns 0, -1 after --help, or the exit status for bad usage. */
static int parse_args(int argc, char **argv, struct http_args *a)
{
    memset(a, 0, sizeof *a);
    a->root = ".";
    a->dev = "utcp0";
    a->port = 80;
    a->addr = 198u << 24 | 18u << 16 | 2u; /* 198.18.0.2 */
    a->mtu = 1500;
    a->sndbuf = 262144;
    a->rcvbuf = 65536;
    a->max_conns = 1024;
    a->timeout = 30;
    a->cc = UTCP_TOOL_CC_DEFAULT;
    for (int i = 1; i < argc; i++) {
        const char *o = argv[i], *eq = strchr(o, '=');
        char name[32];
        size_t n = eq ? (size_t)(eq - o) : strlen(o);
        if (o[0] != '-' || n >= sizeof name)
            return bad("unexpected argument '%s'", o);
        memcpy(name, o, n);
        name[n] = '\0';
        if (!strcmp(name, "--help") || !strcmp(name, "-h")) {
            usage(stdout);
            return -1;
        } else if (!strcmp(name, "--index")) {
            a->index = true;
        } else if (!strcmp(name, "--no-log")) {
            a->no_log = true;
        } else if (!strcmp(name, "--no-offload")) {
            a->no_offload = true;
        } else if (!strcmp(name, "--no-kernel-gro")) {
            a->no_kernel_gro = true;
        } else if (!strcmp(name, "--trace")) {
            a->trace = true;
        } else {
            const char *v = eq ? eq + 1 : NULL;
            if (!v && i + 1 < argc)
                v = argv[++i];
            if (!v)
                return bad("option '%s' needs a value", name);
            int rc = parse_valued(a, name, v);
            if (rc)
                return rc;
        }
    }
    return 0;
}

/* The root, the log and the sweep timer. Returns 0 or H_ERR. */
static int setup_files(struct srv *s, const struct http_args *a)
{
    struct stat sb;
    if (!realpath(a->root, s->root) || stat(s->root, &sb) < 0) {
        say("root '%s': %s", a->root, strerror(errno));
        return H_ERR;
    }
    if (!S_ISDIR(sb.st_mode)) {
        say("root '%s' is not a directory", a->root);
        return H_ERR;
    }
    struct rlimit rl; /* one descriptor per file being sent */
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
    }
    if (a->no_log) {
        s->log = NULL;
    } else if (a->log) {
        s->log = fopen(a->log, "ae");
        if (!s->log) {
            say("log '%s': %s", a->log, strerror(errno));
            return H_ERR;
        }
    } else {
        s->log = stderr;
    }
    s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    struct itimerspec its = {{1, 0}, {1, 0}};
    if (s->tfd < 0 || timerfd_settime(s->tfd, 0, &its, NULL) < 0) {
        say("timerfd: %s", strerror(errno));
        return H_ERR;
    }
    return 0;
}

static int start_runtime(struct srv *s, const struct http_args *a)
{
    struct utcp_run_config cfg;
    utcp_run_config_init(&cfg);
    cfg.dev = a->dev;
    cfg.mtu = (uint16_t)a->mtu;
    cfg.addr = a->addr;
    cfg.kernel_addr = a->kaddr;
    cfg.kernel_prefix = a->kprefix;
    cfg.no_offload = a->no_offload;
    cfg.no_kernel_gro = a->no_kernel_gro;
    cfg.tx_thread = a->tx_thread;
    utcp_config_init(&cfg.stack);
    cfg.stack.sndbuf = (uint32_t)a->sndbuf;
    cfg.stack.rcvbuf = (uint32_t)a->rcvbuf;
    cfg.stack.congestion_control = (uint8_t)a->cc;
    if (a->trace) {
        cfg.stack.trace = on_trace;
        cfg.stack.trace_ctx = s;
    }
    char msg[256];
    int rc = utcp_run_create(&cfg, &s->run, msg, sizeof msg);
    if (rc) {
        say("%s", msg);
        return H_ERR;
    }
    s->st = utcp_run_stack(s->run);
    utcp_sock sk;
    rc = utcp_socket(s->st, &sk);
    if (rc == 0)
        rc = utcp_bind(s->st, sk, 0, a->port);
    if (rc == 0)
        rc = utcp_listen(s->st, sk, 511);
    if (rc == 0)
        rc = utcp_run_watch(s->run, sk, on_listen, s);
    if (rc == 0)
        rc = utcp_run_add_fd(s->run, s->tfd, EPOLLIN, on_sweep, s);
    if (rc) {
        say("listening on port %u: %s", a->port, utcp_strerror(rc));
        return H_ERR;
    }
    s->lsk = sk;
    const char *why = NULL;
    bool off = utcp_run_offload(s->run, &why);
    say("serving %s on http://%u.%u.%u.%u:%u/ (device %s, %s mode%s%s)",
        s->root, a->addr >> 24, a->addr >> 16 & 255, a->addr >> 8 & 255,
        a->addr & 255, a->port, utcp_run_dev(s->run),
        off ? "offload" : "plain", off || !why ? "" : ": ",
        off || !why ? "" : why);
    return 0;
}

int utcp_tool_http(int argc, char **argv)
{
    struct http_args a;
    int rc = parse_args(argc, argv, &a);
    if (rc)
        return rc < 0 ? H_OK : rc;
    struct srv *s = calloc(1, sizeof *s);
    if (!s) {
        say("out of memory");
        return H_ERR;
    }
    s->tfd = -1;
    s->index = a.index;
    s->max_conns = (unsigned)a.max_conns;
    s->idle_us = (uint64_t)a.timeout * 1000000u;
    s->t0 = utcp_run_now();
    signal(SIGPIPE, SIG_IGN);
    http_parser_settings_init(&settings);
    settings.on_url = on_url;
    settings.on_header_field = on_header_field;
    settings.on_header_value = on_header_value;
    settings.on_message_complete = on_message_complete;
    http_parser_set_max_header_size(HEADER_MAX);
    rc = setup_files(s, &a);
    if (rc == 0)
        rc = start_runtime(s, &a);
    bool ran = rc == 0;
    if (rc == 0) {
        rc = utcp_run_loop(s->run);
        if (rc < 0) {
            say("device failed: %s", utcp_strerror(rc));
            rc = H_ERR;
        } else if (rc == 128 + SIGINT || rc == 128 + SIGTERM) {
            rc = H_OK; /* a server's normal end */
        }
    }
    while (s->conns) { /* closed by the shutdown already: free them */
        struct conn *c = s->conns;
        s->conns = c->next;
        if (c->fd >= 0)
            close(c->fd);
        free(c);
    }
    if (ran)
        say("%llu requests served", (unsigned long long)s->requests);
    utcp_run_destroy(s->run);
    if (s->tfd >= 0)
        close(s->tfd);
    if (s->log && s->log != stderr)
        fclose(s->log);
    else if (s->log)
        fflush(s->log);
    free(s);
    return rc;
}
