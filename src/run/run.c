/*
 * The real-time runtime (DESIGN.md "Real links"): one stack, one TUN device,
 * an epoll loop, a timerfd armed from utcp_tick's deadline, the impairment
 * filter's delay queue, socket events to callbacks, SIGINT/SIGTERM shutdown.
 * Must never call the application inside utcp_input/utcp_tick, block or spin
 * (but for a full transmit ring, txq.c, as a blocking write would).
 */
#define _GNU_SOURCE
#include "run/run_internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "link/tun.h"
#include "link/vnet.h"
#include "utcp/wire.h"

enum { TAG_TUN = 1, TAG_TIMER, TAG_SIG, TAG_CTL, TAG_USER };
/* The transmit ring, and how much of it the stack fills before its new
 * data waits in the send queues (run_output_busy): 1 MiB, about a
 * millisecond of a plain TUN device's writes. */
#define TXQ_RING (4u << 20)
#define TXQ_TARGET (1u << 20)
#define READ_BUDGET 64 /* packets read from the device per wakeup */
#define DISPATCH_BUDGET 100000
#define QUEUE_MAX_PKTS 8192 /* delayed packets held at most */
#define PKT_BUF 65536
#define FLUSH_MAX_US 2000000u /* delayed packets delivered after a stop */

static uint64_t tag(int kind, int fd)
{
    return (uint64_t)kind << 32 | (uint32_t)fd;
}

uint64_t utcp_run_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

void utcp_run_config_init(struct utcp_run_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

/* ---- watched sockets (watch.c) ---- */

int utcp_run_watch(struct utcp_run *r, utcp_sock sk, utcp_run_sock_fn fn,
                   void *ctx)
{
    return utcp__watch_put(&r->watch, sk, fn, ctx);
}

int utcp_run_unwatch(struct utcp_run *r, utcp_sock sk)
{
    return utcp__watch_del(&r->watch, sk);
}

/* ---- extra descriptors ---- */

static struct run_fd *fd_find(struct utcp_run *r, int fd)
{
    for (size_t i = 0; i < r->nfds; i++)
        if (r->fds[i].fd == fd)
            return &r->fds[i];
    return NULL;
}

int utcp_run_add_fd(struct utcp_run *r, int fd, uint32_t events,
                    utcp_run_fd_fn fn, void *ctx)
{
    if (fd < 0 || !fn || fd_find(r, fd))
        return UTCP_EINVAL;
    if (r->nfds == r->fdcap) {
        size_t ncap = r->fdcap ? r->fdcap * 2 : 8;
        struct run_fd *n = realloc(r->fds, ncap * sizeof *n);
        if (!n)
            return UTCP_ENOMEM;
        r->fds = n;
        r->fdcap = ncap;
    }
    struct epoll_event ev = {.events = events, .data.u64 = tag(TAG_USER, fd)};
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
        return utcp__errno_code(errno);
    r->fds[r->nfds].fd = fd;
    r->fds[r->nfds].events = events;
    r->fds[r->nfds].fn = fn;
    r->fds[r->nfds].ctx = ctx;
    r->nfds++;
    return 0;
}

int utcp_run_mod_fd(struct utcp_run *r, int fd, uint32_t events)
{
    struct run_fd *f = fd_find(r, fd);
    if (!f)
        return UTCP_ENOENT;
    f->events = events;
    struct epoll_event ev = {.events = events, .data.u64 = tag(TAG_USER, fd)};
    if (epoll_ctl(r->ep, EPOLL_CTL_MOD, fd, &ev) < 0)
        return utcp__errno_code(errno);
    return 0;
}

int utcp_run_del_fd(struct utcp_run *r, int fd)
{
    struct run_fd *f = fd_find(r, fd);
    if (!f)
        return UTCP_ENOENT;
    epoll_ctl(r->ep, EPOLL_CTL_DEL, fd, NULL);
    *f = r->fds[--r->nfds];
    return 0;
}

/* ---- the delay queue of the impairment filter: a binary min-heap ---- */

static bool q_before(const struct run_qpkt *a, const struct run_qpkt *b)
{
    return a->at < b->at || (a->at == b->at && a->order < b->order);
}

static void q_push(struct utcp_run *r, int dir, uint64_t at, const uint8_t *pkt,
                   size_t len, const struct utcp_filter_verdict *corrupt)
{
    if (r->qlen >= QUEUE_MAX_PKTS) {
        r->stats.filter_dropped[dir]++;
        return;
    }
    if (r->qlen == r->qcap) {
        size_t ncap = r->qcap ? r->qcap * 2 : 256;
        struct run_qpkt *n = realloc(r->q, ncap * sizeof *n);
        if (!n) {
            r->stats.filter_dropped[dir]++;
            return;
        }
        r->q = n;
        r->qcap = ncap;
    }
    uint8_t *data = malloc(len ? len : 1);
    if (!data) {
        r->stats.filter_dropped[dir]++;
        return;
    }
    memcpy(data, pkt, len);
    if (corrupt)
        utcp_filter_corrupt(corrupt, data, len);
    struct run_qpkt e = {at, r->qorder++, dir, data, len};
    if (dir == 0)
        r->qout++;
    size_t i = r->qlen++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!q_before(&e, &r->q[p]))
            break;
        r->q[i] = r->q[p];
        i = p;
    }
    r->q[i] = e;
}

static struct run_qpkt q_pop(struct utcp_run *r)
{
    struct run_qpkt top = r->q[0];
    struct run_qpkt last = r->q[--r->qlen];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= r->qlen)
            break;
        if (c + 1 < r->qlen && q_before(&r->q[c + 1], &r->q[c]))
            c++;
        if (!q_before(&r->q[c], &last))
            break;
        r->q[i] = r->q[c];
        i = c;
    }
    if (r->qlen)
        r->q[i] = last;
    return top;
}

/* ---- packet path ---- */

/* The transmit thread's writes (txq.c). */
static long txq_write(void *ctx, const uint8_t *pkt, size_t len,
                      const struct utcp_output_meta *meta)
{
    return utcp_tun_send(ctx, pkt, len, meta);
}

/* Whether the loop writes a packet of len bytes itself instead of the
 * transmit thread, the ring being idle: one no longer than the largest
 * header, so an ACK, a SYN, a FIN or a RST (what a receiving connection
 * mostly sends); waking the thread for it costs more than the write. The
 * one test for tun_send and run_output_buf. */
static bool loop_writes(const struct utcp_run *r, size_t len)
{
    return len <= UTCP_IPV4_HDR_LEN + UTCP_TCP_MAX_HDR_LEN &&
           utcp_txq_idle(r->txq);
}

static void tun_send(struct utcp_run *r, const uint8_t *pkt, size_t len,
                     const struct utcp_output_meta *meta)
{
    if (r->txq) {
        /* counted by the thread once written; a packet the stack built in
         * the ring (run_output_buf) is only committed */
        bool built = pkt == r->tx_res;
        r->tx_res = NULL;
        if (built) {
            if (utcp_txq_commit(r->txq, len, meta) < 0)
                r->stats.tx_errors++;
            return;
        }
        if (!loop_writes(r, len)) {
            if (utcp_txq_push(r->txq, pkt, len, meta) < 0)
                r->stats.tx_errors++;
            return;
        }
    }
    long n = utcp_tun_send(r->tun, pkt, len, meta);
    if (n >= 0) {
        r->stats.tx_packets++;
        r->stats.tx_bytes += len;
    } else if (n == UTCP_EAGAIN) {
        r->stats.tx_dropped++;
    } else {
        r->stats.tx_errors++;
    }
}

static void stack_in(struct utcp_run *r, const uint8_t *pkt, size_t len,
                     unsigned flags)
{
    utcp_input_ex(r->stack, r->now, pkt, len, flags);
}

/* Sends pkt in direction dir (0: to the kernel, with the stack's output
 * metadata; 1: into the stack, with UTCP_INPUT_* flags), through the
 * filter when there is one (then there are neither: see run.h). */
static void deliver(struct utcp_run *r, int dir, const uint8_t *pkt, size_t len,
                    const struct utcp_output_meta *meta, unsigned flags)
{
    if (!r->has_filter) {
        if (dir == 0)
            tun_send(r, pkt, len, meta);
        else
            stack_in(r, pkt, len, flags);
        return;
    }
    struct utcp_filter_verdict v;
    utcp_filter_decide(&r->filter, &r->rng, dir, r->now, pkt, len, &v);
    if (v.drop || v.copies == 0) {
        r->stats.filter_dropped[dir]++;
        return;
    }
    if (v.copies > 1)
        r->stats.filter_dup[dir]++;
    if (v.corrupted)
        r->stats.filter_corrupted[dir]++;
    for (unsigned i = 0; i < v.copies && i < 2; i++) {
        const struct utcp_filter_verdict *cv =
            i == 0 && v.corrupted ? &v : NULL;
        if (v.at[i] <= r->now && !cv) {
            if (dir == 0)
                tun_send(r, pkt, len, NULL);
            else
                stack_in(r, pkt, len, 0);
        } else {
            if (i == 0)
                r->stats.filter_delayed[dir]++;
            q_push(r, dir, v.at[i], pkt, len, cv);
        }
    }
}

static void run_output(void *ctx, const uint8_t *pkt, size_t len,
                       const struct utcp_output_meta *meta)
{
    struct utcp_run *r = ctx;
    deliver(r, 0, pkt, len, meta, 0);
}

/* utcp_config.output_buf, set with a transmit thread and no filter: the
 * stack builds its packet in the transmit ring, tun_send commits it. */
static uint8_t *run_output_buf(void *ctx, uint32_t dst, size_t len)
{
    struct utcp_run *r = ctx;
    (void)dst;
    r->tx_res = loop_writes(r, len) ? NULL : utcp_txq_reserve(r->txq, len);
    return r->tx_res;
}

/* utcp_config.output_busy, with a transmit thread: new data waits in the
 * send queues while the ring holds TXQ_TARGET bytes. A full ring would
 * stop this loop, ACKs and all, until the writer makes room; ACKs read in
 * a burst after such a stop look like ACK aggregation to BBR, whose cwnd
 * then grows to the whole send buffer, which fills the ring again. */
static bool run_output_busy(void *ctx)
{
    struct utcp_run *r = ctx;
    return utcp_txq_over(r->txq, TXQ_TARGET);
}

static void deliver_due(struct utcp_run *r)
{
    while (r->qlen && r->q[0].at <= r->now) {
        struct run_qpkt e = q_pop(r);
        if (e.dir == 0) {
            r->qout--;
            tun_send(r, e.data, e.len, NULL);
        } else
            stack_in(r, e.data, e.len, 0);
        free(e.data);
    }
}

/* Reads a burst from the device: the stack ACKs it as one (see
 * utcp_input_batch_begin), as a NIC's interrupt coalescing and GRO let
 * Linux do. Each ACK written to the TUN device costs this thread the
 * kernel's whole processing of it (its sender's ACK handling and the
 * transmission of new data, checksum included on a plain device). */
static int read_tun(struct utcp_run *r)
{
    int rc = 0;
    utcp_input_batch_begin(r->stack);
    for (int i = 0; i < READ_BUDGET; i++) {
        unsigned flags;
        uint32_t partial;
        long n = utcp_tun_recv(r->tun, r->pkt, PKT_BUF, &flags, &partial);
        if (n == UTCP_EAGAIN)
            break;
        if (n < 0) {
            r->stats.rx_errors++;
            rc = (int)n;
            break;
        }
        if (n == 0)
            continue; /* a bad virtio-net header: counted by the device */
        r->stats.rx_packets++;
        r->stats.rx_bytes += (uint64_t)n;
        /* Each packet at the time it was read: the transmit thread writes
         * what the stack sends while this loop reads, so an ACK read late
         * in a burst may cover a segment sent earlier in the same burst;
         * one clock for the whole burst timed it at 0 (RTT samples of
         * 1 us, BBR's RTprop with them). */
        r->now = utcp_run_now();
        if (partial && (r->has_filter || !(flags & UTCP_INPUT_CSUM_OK))) {
            /* A partial checksum the stack is not told to trust (not at
             * the TCP checksum: utcp_vnet_parse), or before the filter,
             * which may corrupt the packet: completed here, as on a wire,
             * and verified by the stack. */
            utcp_vnet_csum_complete(r->pkt, (size_t)n,
                                    (uint16_t)(partial >> 16),
                                    (uint16_t)partial);
            flags = 0;
        }
        deliver(r, 1, r->pkt, (size_t)n, NULL, flags);
    }
    utcp_input_batch_end(r->stack);
    return rc;
}

/* ---- events to the application ---- */

static void dispatch(struct utcp_run *r)
{
    for (int i = 0; i < DISPATCH_BUDGET; i++) {
        utcp_sock sk;
        uint32_t ev;
        if (utcp_next_event(r->stack, &sk, &ev) < 0)
            return;
        if (r->flushing)
            continue; /* the application has stopped listening */
        struct run_watch *w = utcp__watch_find(&r->watch, sk);
        if (w && w->fn)
            w->fn(r, sk, ev, w->ctx);
        else if (r->cfg.on_other && !r->draining)
            r->cfg.on_other(r, sk, ev, r->cfg.other_ctx);
    }
}

/* ---- shutdown ---- */

static void count_live(void *ctx, utcp_sock sk, const struct utcp_info *info)
{
    (void)sk;
    size_t *n = ctx;
    if (info->state != UTCP_TIME_WAIT && info->state != UTCP_CLOSED)
        (*n)++;
}

void utcp_run_shutdown(struct utcp_run *r, uint32_t grace_ms)
{
    if (r->draining)
        return;
    r->draining = true;
    r->drain_deadline = utcp_run_now() + (uint64_t)grace_ms * 1000u;
    for (size_t i = 0; i < r->watch.cap; i++) {
        struct run_watch *w = &r->watch.slot[i];
        if (w->sk == 0 || w->sk == UTCP__WATCH_TOMB)
            continue;
        utcp_sock sk = w->sk;
        utcp__watch_del(&r->watch, sk); /* marks this slot only */
        utcp_close(r->stack, sk);
    }
}

void utcp_run_stop(struct utcp_run *r, int status)
{
    r->stop = true;
    r->status = status;
}

static void on_signal(struct utcp_run *r)
{
    struct signalfd_siginfo si;
    while (read(r->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
        int signo = (int)si.ssi_signo;
        r->signals++;
        if (r->signals > 1 || r->draining || r->flushing) {
            utcp_run_stop(r, 128 + signo);
            continue;
        }
        r->status = 128 + signo;
        if (r->cfg.on_signal)
            r->cfg.on_signal(r, signo, r->cfg.signal_ctx);
        else
            utcp_run_shutdown(
                r, r->cfg.shutdown_grace_ms ? r->cfg.shutdown_grace_ms : 3000);
    }
}

/* ---- the loop ---- */

static void arm_timer(struct utcp_run *r)
{
    uint64_t d = utcp_next_deadline(r->stack);
    if (r->qlen && r->q[0].at < d)
        d = r->q[0].at;
    if (r->draining && r->drain_deadline < d)
        d = r->drain_deadline;
    if (r->flushing && r->flush_deadline < d)
        d = r->flush_deadline;
    if (d == r->armed)
        return;
    struct itimerspec its;
    memset(&its, 0, sizeof its);
    if (d != UINT64_MAX) {
        if (d == 0)
            d = 1; /* 0 would disarm */
        its.it_value.tv_sec = (time_t)(d / 1000000u);
        its.it_value.tv_nsec = (long)(d % 1000000u) * 1000;
    }
    timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL);
    r->armed = d;
}

/* One wakeup: wait, read the device and the descriptors, deliver what the
 * filter held, tick, dispatch. Returns 0 or a negative code (device). */
static int run_pass(struct utcp_run *r)
{
    struct epoll_event evs[32];
    arm_timer(r);
    if (r->txq)
        utcp_txq_flush(r->txq); /* what this pass queued, before we sleep */
    int n = epoll_wait(r->ep, evs, 32, -1);
    if (n < 0)
        return errno == EINTR ? 0 : utcp__errno_code(errno);
    r->stats.wakeups++;
    r->now = utcp_run_now();
    /* The stack's clock first: calls from callbacks below (connect,
     * send) start their timers from it, not from a stale instant. */
    utcp_tick(r->stack, r->now);
    for (int i = 0; i < n && !r->stop; i++) {
        int kind = (int)(evs[i].data.u64 >> 32);
        int fd = (int)(uint32_t)evs[i].data.u64;
        if (kind == TAG_TUN) {
            int rc = read_tun(r);
            if (rc < 0 && rc != UTCP_EINVAL)
                return rc;
        } else if (kind == TAG_TIMER) {
            uint64_t exp;
            if (read(r->tfd, &exp, sizeof exp) < 0)
                (void)0; /* EAGAIN: a re-arm raced the expiry */
            r->armed = 0;
        } else if (kind == TAG_SIG) {
            on_signal(r);
        } else if (kind == TAG_CTL) {
            utcp__run_ctl_accept(r);
        } else if (kind == TAG_USER) {
            struct run_fd *f = fd_find(r, fd);
            if (f && !r->flushing) {
                dispatch(r); /* socket news first: state is current */
                f->fn(r, fd, evs[i].events, f->ctx);
            }
        }
    }
    r->now = utcp_run_now();
    deliver_due(r);
    utcp_tick(r->stack, r->now);
    dispatch(r);
    if (r->draining && !r->stop && !r->flushing) {
        size_t live = 0;
        utcp_foreach_conn(r->stack, count_live, &live);
        if (live == 0 || utcp_run_now() >= r->drain_deadline)
            utcp_run_stop(r, r->status);
    }
    return 0;
}

/* Silences the application's descriptors (level-triggered, unserviced
 * they would wake the loop at once), or gives them their interest back. */
static void mute_fds(struct utcp_run *r, bool mute)
{
    for (size_t i = 0; i < r->nfds; i++) {
        struct epoll_event ev = {.events = mute ? 0 : r->fds[i].events,
                                 .data.u64 = tag(TAG_USER, r->fds[i].fd)};
        epoll_ctl(r->ep, EPOLL_CTL_MOD, r->fds[i].fd, &ev);
    }
}

int utcp_run_loop(struct utcp_run *r)
{
    r->stop = false;
    while (!r->stop) {
        int rc = run_pass(r);
        if (rc < 0)
            return rc;
    }
    /* The filter may still hold packets for the kernel (the last ACK of a
     * close, delayed): deliver them before returning, for at most
     * FLUSH_MAX_US; the stack keeps answering meanwhile, the application
     * hears nothing more. */
    if (r->qout) {
        int status = r->status;
        mute_fds(r, true);
        r->flushing = true;
        r->flush_deadline = utcp_run_now() + FLUSH_MAX_US;
        r->stop = false;
        while (r->qout && !r->stop && utcp_run_now() < r->flush_deadline) {
            int rc = run_pass(r);
            if (rc < 0)
                break;
        }
        r->flushing = false;
        mute_fds(r, false);
        if (!r->stop)
            r->status = status;
    }
    return r->status;
}

/* ---- life cycle ---- */

static int fail(struct utcp_run *r, int rc, char *msg, size_t msglen,
                const char *what)
{
    int e = errno;
    utcp__msg(msg, msglen, "%s: %s", what, strerror(e));
    utcp_run_destroy(r);
    return rc ? rc : utcp__errno_code(e);
}

int utcp_run_create(const struct utcp_run_config *cfg, struct utcp_run **out,
                    char *msg, size_t msglen)
{
    *out = NULL;
    if (!cfg->addr) {
        utcp__msg(msg, msglen, "no address for utcp");
        return UTCP_EINVAL;
    }
    struct utcp_run *r = calloc(1, sizeof *r);
    if (!r) {
        utcp__msg(msg, msglen, "out of memory");
        return UTCP_ENOMEM;
    }
    r->cfg = *cfg;
    r->ep = r->tfd = r->sigfd = r->ctlfd = -1;
    r->armed = UINT64_MAX;
    r->pkt = malloc(PKT_BUF); /* any IPv4 packet: a GSO frame too */
    if (!r->pkt) {
        free(r);
        utcp__msg(msg, msglen, "out of memory");
        return UTCP_ENOMEM;
    }
    if (cfg->filter) {
        r->filter = *cfg->filter;
        r->has_filter = true;
        utcp_prng_seed(&r->rng, cfg->filter_seed);
    }
    struct utcp_tun_config tc = {0};
    tc.name = cfg->dev && cfg->dev[0] ? cfg->dev : "utcp0";
    tc.mtu = cfg->mtu ? cfg->mtu : 1500;
    tc.up = true;
    tc.kernel_addr = cfg->kernel_addr;
    tc.kernel_prefix = cfg->kernel_prefix;
    tc.no_offload = cfg->no_offload;
    tc.kernel_gro = !cfg->no_kernel_gro;
    tc.kernel_gro_hold_us = cfg->kernel_gro_hold_us ? cfg->kernel_gro_hold_us
                                                    : UTCP_RUN_GRO_HOLD_US;
    int rc = utcp_tun_open(&tc, &r->tun, msg, msglen);
    if (rc) {
        utcp_run_destroy(r);
        return rc;
    }
    struct utcp_config sc = cfg->stack;
    sc.addr = cfg->addr;
    sc.mtu = utcp_tun_mtu(r->tun) ? utcp_tun_mtu(r->tun) : tc.mtu;
    sc.output = NULL;
    sc.output_ex = run_output;
    sc.output_ctx = r;
    if (utcp_tun_offload(r->tun, NULL) && !r->has_filter) {
        /* The kernel completes our data checksums and cuts our TSO
         * segments (TCPv4 GSO, a 20-byte IPv4 and at most 60-byte TCP
         * header in 64 KiB). */
        sc.offload |= UTCP_OFFLOAD_TX_CSUM;
        sc.tso_max = 65535u - 20u - 60u;
    } else {
        /* plain device or a filter: complete, MSS-sized packets only */
        sc.offload &= ~(unsigned)UTCP_OFFLOAD_TX_CSUM;
        sc.tso_max = 0;
    }
    /* auto: a plain device without kernel GRO (with it a write only
     * queues the packet for the NAPI thread, and a thread of our own
     * competes with that one for the CPUs: uploads 1.23 of the device's
     * ceiling without it, 0.94 with it, bench/RESULTS.md session 6) */
    if (cfg->tx_thread > 0 ||
        (cfg->tx_thread == 0 && !utcp_tun_offload(r->tun, NULL) &&
         !utcp_tun_kernel_gro(r->tun, NULL) &&
         sysconf(_SC_NPROCESSORS_ONLN) > 1)) {
        /* 4 MiB: a few thousand packets, more than the stack queues
         * (TXQ_TARGET) before its data waits */
        rc = utcp_txq_start(&r->txq, txq_write, r->tun, TXQ_RING);
        if (rc) {
            utcp__msg(msg, msglen, "starting the transmit thread: %s",
                      utcp_strerror(rc));
            utcp_run_destroy(r);
            return rc;
        }
    }
    if (r->txq && !r->has_filter)
        sc.output_buf = run_output_buf; /* no copy into the ring */
    if (r->txq)
        sc.output_busy = run_output_busy;
    if (!sc.seed)
        sc.seed = utcp_run_now() ^ ((uint64_t)getpid() << 32);
    static const uint8_t zero[16];
    if (!memcmp(sc.secret, zero, sizeof zero) && utcp__run_secret(sc.secret))
        memset(sc.secret, 0, sizeof sc.secret); /* from the seed, then */
    rc = utcp_stack_create(&sc, &r->stack);
    if (rc) {
        utcp__msg(msg, msglen, "creating the stack: %s", utcp_strerror(rc));
        utcp_run_destroy(r);
        return rc;
    }
    r->ep = epoll_create1(EPOLL_CLOEXEC);
    if (r->ep < 0)
        return fail(r, 0, msg, msglen, "epoll_create1");
    r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (r->tfd < 0)
        return fail(r, 0, msg, msglen, "timerfd_create");
    struct epoll_event ev = {.events = EPOLLIN};
    ev.data.u64 = tag(TAG_TUN, utcp_tun_fd(r->tun));
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, utcp_tun_fd(r->tun), &ev) < 0)
        return fail(r, 0, msg, msglen, "epoll_ctl(tun)");
    ev.data.u64 = tag(TAG_TIMER, r->tfd);
    if (epoll_ctl(r->ep, EPOLL_CTL_ADD, r->tfd, &ev) < 0)
        return fail(r, 0, msg, msglen, "epoll_ctl(timerfd)");
    if (!cfg->no_signals) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGINT);
        sigaddset(&set, SIGTERM);
        if (sigprocmask(SIG_BLOCK, &set, &r->old_mask) < 0)
            return fail(r, 0, msg, msglen, "sigprocmask");
        r->mask_set = true;
        r->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        if (r->sigfd < 0)
            return fail(r, 0, msg, msglen, "signalfd");
        ev.data.u64 = tag(TAG_SIG, r->sigfd);
        if (epoll_ctl(r->ep, EPOLL_CTL_ADD, r->sigfd, &ev) < 0)
            return fail(r, 0, msg, msglen, "epoll_ctl(signalfd)");
    }
    if (!cfg->ctl_path || cfg->ctl_path[0]) {
        rc = utcp__run_ctl_open(r, cfg->ctl_path, msg, msglen);
        if (rc) {
            utcp_run_destroy(r);
            return rc;
        }
        ev.data.u64 = tag(TAG_CTL, r->ctlfd);
        if (epoll_ctl(r->ep, EPOLL_CTL_ADD, r->ctlfd, &ev) < 0)
            return fail(r, 0, msg, msglen, "epoll_ctl(control socket)");
    }
    r->now = utcp_run_now();
    utcp_tick(r->stack, r->now); /* sockets created next start from now */
    *out = r;
    return 0;
}

void utcp_run_destroy(struct utcp_run *r)
{
    if (!r)
        return;
    utcp__run_ctl_close(r);
    utcp_stack_destroy(r->stack);
    utcp_txq_stop(r->txq); /* writes what is queued */
    utcp_tun_close(r->tun);
    if (r->ep >= 0)
        close(r->ep);
    if (r->tfd >= 0)
        close(r->tfd);
    if (r->sigfd >= 0)
        close(r->sigfd);
    if (r->mask_set)
        sigprocmask(SIG_SETMASK, &r->old_mask, NULL);
    while (r->qlen) {
        struct run_qpkt e = q_pop(r);
        free(e.data);
    }
    r->qout = 0;
    free(r->q);
    utcp__watch_free(&r->watch);
    free(r->fds);
    free(r->pkt);
    free(r);
}

struct utcp_stack *utcp_run_stack(struct utcp_run *r)
{
    return r->stack;
}

const char *utcp_run_dev(const struct utcp_run *r)
{
    return utcp_tun_name(r->tun);
}

bool utcp_run_kernel_gro(const struct utcp_run *r, const char **why)
{
    return utcp_tun_kernel_gro(r->tun, why);
}

bool utcp_run_offload(const struct utcp_run *r, const char **why)
{
    return utcp_tun_offload(r->tun, why);
}

void utcp_run_tun_stats(const struct utcp_run *r, struct utcp_tun_stats *out)
{
    utcp_tun_get_stats(r->tun, out);
}

const char *utcp_run_ctl_path(const struct utcp_run *r)
{
    return r->ctlfd >= 0 ? r->ctl_path : NULL;
}

void utcp_run_get_stats(const struct utcp_run *r, struct utcp_run_stats *out)
{
    *out = r->stats;
    if (r->txq) {
        struct utcp_txq_stats t;
        utcp_txq_get_stats(r->txq, &t);
        out->tx_packets += t.packets;
        out->tx_bytes += t.bytes;
        out->tx_dropped += t.dropped;
        out->tx_errors += t.errors;
    }
}

bool utcp_run_tx_thread(const struct utcp_run *r)
{
    return r->txq != NULL;
}
