/*
 * The runtime's control socket for `utcp stat` (one request line, "conns" or
 * "counters", answered in text) and the per-boot ISN/timestamp secret beside
 * it. Must never block the loop for long (1 s client timeouts), trust the
 * request, or leave the socket path behind.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "link/tun.h"
#include "run/run_internal.h"

const char *utcp_run_ctl_dir(char *buf, size_t len)
{
    const char *env = getenv("UTCP_RUN_DIR");
    if (env && env[0]) {
        snprintf(buf, len, "%s", env);
        return buf;
    }
    if (access("/run", W_OK) == 0) {
        snprintf(buf, len, "/run/utcp");
        return buf;
    }
    env = getenv("XDG_RUNTIME_DIR");
    if (env && env[0])
        snprintf(buf, len, "%s/utcp", env);
    else
        snprintf(buf, len, "/tmp/utcp-%u", (unsigned)getuid());
    return buf;
}

/* Reads the 16-byte secret at path, creating it (mode 0600, from
 * getrandom) when missing. Returns 0 or -1. */
static int secret_file(const char *path, uint8_t out[16])
{
    for (int attempt = 0; attempt < 3; attempt++) {
        int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd >= 0) {
            struct stat st;
            ssize_t n = -1;
            if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
                st.st_uid == getuid() && !(st.st_mode & 077))
                n = read(fd, out, 16);
            close(fd);
            return n == 16 ? 0 : -1;
        }
        if (errno != ENOENT)
            return -1;
        /* Write a temporary file, then link it into place: a concurrent
         * reader never sees a short file, and the first writer wins. */
        char tmp[320];
        int tn = snprintf(tmp, sizeof tmp, "%s.%d", path, (int)getpid());
        if (tn < 0 || (size_t)tn >= sizeof tmp)
            return -1;
        uint8_t key[16];
        if (getrandom(key, sizeof key, 0) != (ssize_t)sizeof key)
            return -1;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        if (fd < 0)
            return -1;
        bool ok = write(fd, key, sizeof key) == (ssize_t)sizeof key;
        close(fd);
        if (ok)
            (void)link(tmp, path);
        unlink(tmp);
        if (!ok)
            return -1;
    }
    return -1;
}

int utcp__run_secret(uint8_t out[16])
{
    char dir[256], path[300];
    utcp_run_ctl_dir(dir, sizeof dir);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST)
        return -1;
    snprintf(path, sizeof path, "%s/secret", dir);
    return secret_file(path, out);
}

int utcp__run_ctl_open(struct utcp_run *r, const char *path, char *msg,
                       size_t msglen)
{
    char dir[256];
    if (!path) {
        utcp_run_ctl_dir(dir, sizeof dir);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
            int e = errno;
            utcp__msg(msg, msglen, "control socket directory %s: %s", dir,
                      strerror(e));
            return utcp__errno_code(e);
        }
        int n = snprintf(r->ctl_path, sizeof r->ctl_path, "%s/%d.sock", dir,
                         (int)getpid());
        if (n < 0 || (size_t)n >= sizeof r->ctl_path) {
            utcp__msg(msg, msglen, "control socket path too long");
            return UTCP_EINVAL;
        }
    } else {
        if (strlen(path) >= sizeof r->ctl_path) {
            utcp__msg(msg, msglen, "control socket path too long: %s", path);
            return UTCP_EINVAL;
        }
        snprintf(r->ctl_path, sizeof r->ctl_path, "%s", path);
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        int e = errno;
        utcp__msg(msg, msglen, "control socket: %s", strerror(e));
        return utcp__errno_code(e);
    }
    struct sockaddr_un sa;
    memset(&sa, 0, sizeof sa);
    sa.sun_family = AF_UNIX;
    memcpy(sa.sun_path, r->ctl_path, strlen(r->ctl_path));
    unlink(r->ctl_path); /* a stale socket of a dead process with our pid */
    if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, 8) < 0) {
        int e = errno;
        utcp__msg(msg, msglen, "control socket %s: %s", r->ctl_path,
                  strerror(e));
        close(fd);
        return utcp__errno_code(e);
    }
    r->ctlfd = fd;
    return 0;
}

void utcp__run_ctl_close(struct utcp_run *r)
{
    if (r->ctlfd < 0)
        return;
    close(r->ctlfd);
    unlink(r->ctl_path);
    r->ctlfd = -1;
}

struct out {
    char *buf;
    size_t len, cap;
};

static void put(struct out *o, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(o->buf ? o->buf + o->len : NULL,
                          o->buf ? o->cap - o->len : 0, fmt, ap);
        va_end(ap);
        if (n < 0)
            return;
        if (o->buf && o->len + (size_t)n < o->cap) {
            o->len += (size_t)n;
            return;
        }
        size_t ncap = o->cap ? o->cap * 2 : 4096;
        while (ncap < o->len + (size_t)n + 1)
            ncap *= 2;
        char *nb = realloc(o->buf, ncap);
        if (!nb)
            return;
        o->buf = nb;
        o->cap = ncap;
    }
}

static void addr_str(char *b, size_t n, uint32_t a, uint16_t p)
{
    snprintf(b, n, "%u.%u.%u.%u:%u", a >> 24, a >> 16 & 255, a >> 8 & 255,
             a & 255, p);
}

static void conn_line(void *ctx, utcp_sock sk, const struct utcp_info *i)
{
    (void)sk;
    struct out *o = ctx;
    char l[32], rm[32], timer[48], cc[24], pace[24], rtprop[16];
    uint64_t now = utcp_run_now();
    addr_str(l, sizeof l, i->local_addr, i->local_port);
    addr_str(rm, sizeof rm, i->remote_addr, i->remote_port);
    if (i->timer_expires != UINT64_MAX && i->timer != UTCP_TIMER_NONE)
        snprintf(timer, sizeof timer, "%s:%.3fs", utcp_timer_name(i->timer),
                 i->timer_expires > now ? (double)(i->timer_expires - now) / 1e6
                                        : 0.0);
    else
        snprintf(timer, sizeof timer, "-");
    if (i->cc == UTCP_CC_BBR)
        snprintf(cc, sizeof cc, "bbr:%s", utcp_bbr_mode_name(i->bbr_mode));
    else
        snprintf(cc, sizeof cc, "%s", utcp_cc_name(i->cc));
    if (i->bbr_rtprop_us)
        snprintf(rtprop, sizeof rtprop, "%u", i->bbr_rtprop_us);
    else
        snprintf(rtprop, sizeof rtprop, "-");
    if (i->pacing_rate)
        snprintf(pace, sizeof pace, "%.1f", (double)i->pacing_rate * 8 / 1e6);
    else
        snprintf(pace, sizeof pace, "-");
    put(o,
        "%-12s %-21s %-21s %8u %8u %8.3f %8.3f %8u %8u %5u %6u %-13s "
        "%9s %9s %-24s %.1fs\n",
        utcp_state_name(i->state), l, rm, i->send_queue, i->recv_queue,
        (double)i->srtt_us / 1000.0, (double)i->rto_us / 1000.0, i->cwnd,
        i->ssthresh, i->mss, i->retransmits, cc, pace, rtprop, timer,
        now > i->state_since ? (double)(now - i->state_since) / 1e6 : 0.0);
}

static void answer(struct utcp_run *r, const char *req, struct out *o)
{
    if (!strcmp(req, "conns")) {
        put(o,
            "%-12s %-21s %-21s %8s %8s %8s %8s %8s %8s %5s %6s %-13s %9s "
            "%9s %-24s %s\n",
            "State", "Local", "Remote", "Send-Q", "Recv-Q", "rtt-ms", "rto-ms",
            "cwnd", "ssthresh", "mss", "retrans", "cc", "pace-Mb/s",
            "rtprop-us", "timer",
            "age");
        utcp_foreach_conn(r->stack, conn_line, o);
    } else if (!strcmp(req, "counters")) {
        struct utcp_counters c;
        utcp_get_counters(r->stack, &c);
#define UTCP_X_(name, help)                                                    \
    put(o, "%-18s %12llu  %s\n", #name, (unsigned long long)c.name, help);
        UTCP_COUNTERS(UTCP_X_)
#undef UTCP_X_
        struct utcp_run_stats st;
        utcp_run_get_stats(r, &st);
        const struct utcp_run_stats *s = &st;
        put(o, "%-18s %12llu  %s\n", "TunRxPackets",
            (unsigned long long)s->rx_packets, "packets read from the device");
        put(o, "%-18s %12llu  %s\n", "TunTxPackets",
            (unsigned long long)s->tx_packets, "packets written to the device");
        put(o, "%-18s %12llu  %s\n", "TunTxDropped",
            (unsigned long long)(s->tx_dropped + s->tx_errors),
            "packets the device refused");
        put(o, "%-18s %12llu  %s\n", "FilterDropOut",
            (unsigned long long)s->filter_dropped[0],
            "packets to the kernel lost by the impairment filter");
        put(o, "%-18s %12llu  %s\n", "FilterDropIn",
            (unsigned long long)s->filter_dropped[1],
            "packets from the kernel lost by the impairment filter");
    } else {
        put(o, "error: unknown request (known: conns, counters)\n");
    }
}

void utcp__run_ctl_accept(struct utcp_run *r)
{
    int c = accept4(r->ctlfd, NULL, NULL, SOCK_CLOEXEC);
    if (c < 0)
        return;
    struct timeval tv = {1, 0};
    setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(c, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    char req[64];
    size_t n = 0;
    while (n < sizeof req - 1) {
        ssize_t k = read(c, req + n, 1);
        if (k <= 0 || req[n] == '\n')
            break;
        n++;
    }
    req[n] = '\0';
    struct out o = {0};
    answer(r, req, &o);
    size_t off = 0;
    while (o.buf && off < o.len) {
        ssize_t k = send(c, o.buf + off, o.len - off, MSG_NOSIGNAL);
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    free(o.buf);
    close(c);
}
