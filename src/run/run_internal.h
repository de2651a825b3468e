/*
 * Internal state of the real-time runtime (public API: utcp/run.h), shared
 * by the loop (run.c) and the control socket (ctl.c). Its users define
 * _GNU_SOURCE before any system header (sigset_t, epoll, signalfd).
 */
#ifndef UTCP_RUN_INTERNAL_H
#define UTCP_RUN_INTERNAL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "run/txq.h"
#include "run/watch.h"
#include "utcp/run.h"
#include "utcp/tun.h"

struct run_fd {
    int fd;
    uint32_t events; /* the interest the application asked for */
    utcp_run_fd_fn fn;
    void *ctx;
};

struct run_qpkt {
    uint64_t at, order;
    int dir;
    uint8_t *data;
    size_t len;
};

struct utcp_run {
    struct utcp_run_config cfg;
    struct utcp_tun *tun;
    struct utcp_stack *stack;
    struct utcp_txq *txq; /* the transmit thread, or NULL (txq.c) */
    uint8_t *tx_res;      /* where the stack builds its packet in txq's
                             ring (run_output_buf), or NULL */
    int ep, tfd, sigfd, ctlfd;
    uint64_t now;   /* the instant of the current pass */
    uint64_t armed; /* the timerfd's deadline (UINT64_MAX: none) */
    uint8_t *pkt;   /* read buffer */
    /* impairment */
    bool has_filter;
    struct utcp_filter filter;
    struct utcp_prng rng;
    struct run_qpkt *q;
    size_t qlen, qcap;
    size_t qout; /* of which bound for the kernel (direction 0) */
    uint64_t qorder;
    /* application */
    struct utcp__watch_map watch;
    struct run_fd *fds;
    size_t nfds, fdcap;
    /* stopping */
    bool stop, draining, flushing;
    uint64_t flush_deadline;
    int status;
    uint64_t drain_deadline;
    unsigned signals;
    sigset_t old_mask;
    bool mask_set;
    /* control socket */
    char ctl_path[108];
    struct utcp_run_stats stats;
};

/* Opens the control socket at path (NULL: the default) into r->ctlfd. */
int utcp__run_ctl_open(struct utcp_run *r, const char *path, char *msg,
                       size_t msglen);
/* Serves one client of the control socket (bounded: one request). */
void utcp__run_ctl_accept(struct utcp_run *r);
/* The per-boot secret shared by every utcp process of this user
 * (utcp_run_ctl_dir()/secret, mode 0600, made on first use): with it, ISNs
 * (RFC 6528) and timestamps (RFC 7323) of a 4-tuple keep growing from one
 * process to the next, as the kernel's do across sockets, so a peer's
 * TIME_WAIT accepts a new SYN on the same ports. Returns 0 or -1. */
int utcp__run_secret(uint8_t out[16]);
/* Closes and unlinks the control socket (if open). */
void utcp__run_ctl_close(struct utcp_run *r);

#endif
